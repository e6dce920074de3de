/* Which parser a line goes to, decided by its first bytes, and the names of
 * the reasons a line is turned away, as diagnostics show them. */
#include <string.h>

#include "parse.h"
#include "scan.h"

static const char *const reasons[R_COUNT] = {
	[R_NONE] = "none",
	[R_TOO_LONG] = "too-long",
	[R_BAD_CHECKSUM] = "bad-checksum",
	[R_NO_CHECKSUM] = "no-checksum",
	[R_SYNTAX] = "syntax",
	[R_NO_FIX] = "no-fix",
	[R_OUT_OF_RANGE] = "out-of-range",
	[R_BAD_TIME] = "bad-time",
	[R_CONTROL_CHAR] = "control-char",
};

const char *reason_name(enum reason r)
{
	return reasons[r];
}

enum verdict parse_line(struct session *s, const char *p, size_t n, struct parse_out *out)
{
	out->rec.have = 0;
	out->rec.vehicle[0] = '\0';
	out->why = R_NONE;
	if (n == 0)
		return V_IGNORED;
	switch (p[0]) {
	case '$':
	case '!':
		return nmea_parse(s, p, n, out);
	case '{':
		return tpv_parse(p, n, out);
	}
	/* Traccar's T55 devices announce themselves with "IMEI <id>". */
	if (n > 5 && !memcmp(p, "IMEI ", 5)) {
		if (scan_vehicle(p + 5, n - 5, out->id)) {
			out->why = R_SYNTAX;
			return V_REJECT;
		}
		return V_IDENT;
	}
	return csv_parse(p, n, out);
}
