/* CSV: id,time,lat,lon[,speed_mps,course_deg,alt_m], time in ISO 8601 UTC or
 * Unix seconds.  A header line naming the columns is taken as noise. */
#include <string.h>

#include "vlsink/parse/session.h"
#include "core/scan.h"

#define CSV_FIELDS 7

static enum verdict reject(struct parse_out *out, enum reason why)
{
	out->why = why;
	return V_REJECT;
}

static int is_epoch(const char *p, size_t n)
{
	return n > 0 && p[0] >= '0' && p[0] <= '9' && !memchr(p, '-', n) && !memchr(p, ':', n);
}

static enum reason number(const char *p, size_t n, double lo, double hi, double *out)
{
	if (scan_decimal(p, n, out))
		return R_SYNTAX;
	return *out < lo || *out > hi ? R_OUT_OF_RANGE : R_NONE;
}

enum verdict csv_parse(const char *p, size_t n, struct parse_out *out)
{
	const char *f[CSV_FIELDS];
	size_t fn[CSV_FIELDS];
	const char *end = p + n;
	int count = 0;
	struct record *r = &out->rec;
	enum reason why;

	for (;;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		if (count == CSV_FIELDS)
			return reject(out, R_SYNTAX);
		f[count] = p;
		fn[count] = (size_t)((c ? c : end) - p);
		count++;
		if (!c)
			break;
		p = c + 1;
	}
	if (count < 4)
		return reject(out, R_SYNTAX);
	if (fn[0] == 2 && !memcmp(f[0], "id", 2) && fn[1] == 4 && !memcmp(f[1], "time", 4))
		return V_IGNORED;
	if (scan_vehicle(f[0], fn[0], r->vehicle))
		return reject(out, R_SYNTAX);
	/* Both time forms start with a digit; anything else is not a time at
	 * all (often a torn NMEA sentence), so it is not called a bad one. */
	if (fn[1] == 0 || f[1][0] < '0' || f[1][0] > '9')
		return reject(out, R_SYNTAX);
	if (is_epoch(f[1], fn[1]) ? scan_epoch(f[1], fn[1], &r->time_ms)
				  : scan_iso8601(f[1], fn[1], &r->time_ms))
		return reject(out, R_BAD_TIME);
	r->have |= HAVE_TIME;
	/* A tracker without a fix sends its id and time with no position. */
	if (fn[2] == 0 && fn[3] == 0)
		return reject(out, R_NO_FIX);
	if ((why = number(f[2], fn[2], -90, 90, &r->lat)) != R_NONE ||
	    (why = number(f[3], fn[3], -180, 180, &r->lon)) != R_NONE)
		return reject(out, why);

	static const struct {
		double lo, hi;
		unsigned bit;
	} opt[] = { { 0, 2000, HAVE_SPEED }, { 0, 360, HAVE_COURSE }, { -20000, 1e6, HAVE_ALT } };
	double *dst[] = { &r->speed, &r->course, &r->alt };
	for (int i = 4; i < count; i++) {
		if (fn[i] == 0)
			continue;
		if ((why = number(f[i], fn[i], opt[i - 4].lo, opt[i - 4].hi, dst[i - 4])) != R_NONE)
			return reject(out, why);
		r->have |= opt[i - 4].bit;
	}
	r->format = SRC_CSV;
	return V_RECORD;
}
