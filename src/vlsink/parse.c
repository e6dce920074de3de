/* Which parser a line goes to, decided by its first bytes. */
#include <string.h>

#include "parse.h"
#include "core/scan.h"

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
