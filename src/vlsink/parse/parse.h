/* The parsers: pure functions from one framed line to a verdict.  The only
 * state they keep is the per-connection date reference that NMEA needs. */
#ifndef VLSINK_PARSE_H
#define VLSINK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

struct session {
	enum checksum_mode checksum;
	int64_t now_ms;  /* Wall clock, refreshed by the caller. */
	/* GGA and GLL carry a time of day only: they are dated at or after
	 * this, which an RMC sets, --date starts at the date's midnight, and
	 * every dated time of day moves forward. */
	int64_t not_before_ms;
	int dated; /* not_before_ms is set. */
	int keep_rollover; /* --rollover=keep: RMC dates as sent. */
	int ack; /* --ack: Queclink reports are acknowledged (+SACK). */
};

struct parse_out {
	struct record rec;
	/* Set by V_IDENT, and by a T55 id prefix whatever the verdict, so that
	 * one line may carry both an id and a record; else empty. */
	char id[VEHICLE_MAX + 1];
	enum reason why;          /* Set by V_REJECT. */
};

/* A GPS date before the last week rollover (2019-04-07) is moved forward
 * 1024 weeks at a time while that does not put it in the future, unless
 * --rollover=keep; the record is marked.  Every protocol dated by a GPS
 * receiver calls it. */
void rollover_fix(const struct session *s, struct record *r);
enum verdict parse_line(struct session *s, const char *p, size_t n, struct parse_out *out);
/* A line over --max-line, from its first bytes: V_IGNORED or V_REJECT. */
enum verdict parse_overlong(const char *p, size_t n);
enum verdict nmea_parse(struct session *s, const char *p, size_t n, struct parse_out *out);
enum verdict tpv_parse(const char *p, size_t n, struct parse_out *out);
enum verdict csv_parse(const char *p, size_t n, struct parse_out *out);

#endif
