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
	int64_t ref_ms;  /* Last full fix time, for sentences without a date. */
	int have_ref;    /* ref_ms came from an RMC (or --date). */
};

struct parse_out {
	struct record rec;
	char id[VEHICLE_MAX + 1]; /* Set by V_IDENT. */
	enum reason why;          /* Set by V_REJECT. */
};

enum verdict parse_line(struct session *s, const char *p, size_t n, struct parse_out *out);
enum verdict nmea_parse(struct session *s, const char *p, size_t n, struct parse_out *out);
enum verdict tpv_parse(const char *p, size_t n, struct parse_out *out);
enum verdict csv_parse(const char *p, size_t n, struct parse_out *out);

#endif
