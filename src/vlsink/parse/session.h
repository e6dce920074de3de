/* What every parser shares: the per-connection state the NMEA parser keeps
 * (its date reference) and the options they all read, the result of a line
 * parser, and the line parsers themselves.  The dispatcher (parse.h) and the
 * tracker protocols (proto.h) build on it. */
#ifndef VLSINK_SESSION_H
#define VLSINK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/calendar.h"
#include "core/record.h"

/* Knots to metres per second: a knot is one nautical mile (1852 m) an
 * hour, exactly.  Every protocol that sends knots converts with it. */
#define KNOT_MPS (1852.0 / 3600.0)

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

/* A GPS date moved past week rollovers unless --rollover=keep, the record
 * marked (core/calendar.c); every protocol dated by a GPS receiver does it. */
static inline void rollover_fix(const struct session *s, struct record *r)
{
	if ((r->have & HAVE_TIME) && !s->keep_rollover && gps_rollover(&r->time_ms, s->now_ms + MS_PER_DAY))
		r->have |= ROLLOVER_FIXED;
}

enum verdict nmea_parse(struct session *s, const char *p, size_t n, struct parse_out *out);
enum verdict tpv_parse(const char *p, size_t n, struct parse_out *out);
enum verdict csv_parse(const char *p, size_t n, struct parse_out *out);

#endif
