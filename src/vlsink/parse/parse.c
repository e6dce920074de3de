/* Which parser a line goes to, decided by its first bytes. */
#include <string.h>

#include "vlsink/parse/parse.h"
#include "core/scan.h"

/* Traccar's T55 family may put the device id before the sentence:
 * "4711/022789000688081/$GPRMC,...", "990000561287964,$GPRMC,..." or
 * "123456789$GPGGA,...".  The id is the prefix's last part between '/',
 * without the one ',' or '/' that ends it; earlier parts are letters and
 * digits.  0 when the prefix is one. */
static int t55_prefix(const char *p, size_t k, char *id)
{
	size_t start;

	if (k > 0 && (p[k - 1] == '/' || p[k - 1] == ','))
		k--;
	for (start = k; start > 0 && p[start - 1] != '/'; start--)
		;
	for (size_t i = 0; i < start; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= 'a' && p[i] <= 'z') || p[i] == '/'))
			return -1;
	return scan_vehicle(p + start, k - start, id);
}

enum verdict parse_line(struct session *s, const char *p, size_t n, struct parse_out *out)
{
	out->rec.have = 0;
	out->rec.vehicle[0] = '\0';
	out->id[0] = '\0';
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
	/* No CSV field holds a '$'. */
	const char *dollar = memchr(p, '$', n);
	if (dollar && dollar > p) {
		if (!t55_prefix(p, (size_t)(dollar - p), out->id))
			return nmea_parse(s, dollar, n - (size_t)(dollar - p), out);
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

/* gpsd's SKY, with a satellite list, and other reports run well past
 * --max-line; they carry no position, so only a TPV is worth a reject.
 * gpsd writes the class first: {"class":"SKY",... */
enum verdict parse_overlong(const char *p, size_t n)
{
	static const char head[] = "{\"class\":\"";
	const size_t hn = sizeof(head) - 1;
	size_t i = hn;

	if (n <= hn || memcmp(p, head, hn) != 0)
		return V_REJECT;
	while (i < n && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i == hn || i >= n || p[i] != '"' || (i - hn == 3 && memcmp(p + hn, "TPV", 3) == 0))
		return V_REJECT;
	return V_IGNORED;
}
