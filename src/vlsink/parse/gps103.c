/* GPS103 / TK103, the Xexun-style text protocol:
 * "imei:<id>,<keyword>,<local yymmddhhmm[ss]>,<phone>,F,<utc hhmmss.sss>,A,
 * ddmm.mmmm,N,dddmm.mmmm,E,knots,course,alt...", the log-on "##,imei:<id>,A"
 * and the heartbeat "<id>".  One frame, without its ';' or line end, in; a
 * position, an identification, a reply or a reason out. */
#include <string.h>

#include "core/calendar.h"
#include "core/scan.h"
#include "vlsink/parse/proto.h"


static const char sos_head[] = "**,imei:";
static const char sos_tail[] = ",E;";
_Static_assert(2 + sizeof(sos_head) + VEHICLE_MAX + sizeof(sos_tail) <= REPLY_MAX, "the SOS reply fits");

static enum verdict reject(struct frame_out *out, enum reason why)
{
	out->nrec = 0;
	out->reply_n = 0;
	out->why = why;
	return V_REJECT;
}

static void reply(struct frame_out *out, const char *s, size_t n)
{
	memcpy(out->reply + out->reply_n, s, n);
	out->reply_n += n;
}

static int is_hemisphere(const struct scan_fields *f, unsigned i, char a, char b)
{
	return i < f->count && f->n[i] == 1 && (f->p[i][0] == a || f->p[i][0] == b);
}

static enum reason coordinate(const struct scan_fields *f, unsigned v, unsigned h, char pos, char neg,
			      double lim, size_t max_digits, double *out)
{
	double deg;

	if (!is_hemisphere(f, h, pos, neg))
		return R_SYNTAX;
	int rc = scan_ddmm(f->p[v], f->n[v], 2, max_digits, lim, &deg);
	if (rc)
		return rc == -2 ? R_OUT_OF_RANGE : R_SYNTAX;
	*out = f->p[h][0] == neg ? -deg : deg;
	return R_NONE;
}

/* An optional number: empty leaves the record without it. */
static enum reason optional(const struct scan_fields *f, unsigned i, double lo, double hi, double *out,
			    unsigned bit, unsigned *have)
{
	double v;

	if (i >= f->count || f->n[i] == 0)
		return R_NONE;
	if (scan_decimal(f->p[i], f->n[i], &v))
		return R_SYNTAX;
	if (v < lo || v > hi)
		return R_OUT_OF_RANGE;
	*out = v;
	*have |= bit;
	return R_NONE;
}

/* The device's local clock, yymmddhhmm[ss] (or "yy/mm/dd hh:mm"), as
 * milliseconds since the epoch of that wall time. */
static enum reason local_time(const char *p, size_t n, int64_t *ms)
{
	char d[12];
	size_t k = n;
	unsigned yy, mo, dd, hh, mi, ss = 0;

	if (n == 14 && p[2] == '/' && p[5] == '/' && p[8] == ' ' && p[11] == ':') {
		const size_t at[] = { 0, 1, 3, 4, 6, 7, 9, 10, 12, 13 };
		for (k = 0; k < sizeof(at) / sizeof(at[0]); k++)
			d[k] = p[at[k]];
	} else if (n == 10 || n == 12) {
		memcpy(d, p, n);
	} else {
		return R_BAD_TIME;
	}
	if (scan_uint(d, 2, 99, &yy) || scan_uint(d + 2, 2, 12, &mo) || scan_uint(d + 4, 2, 31, &dd) ||
	    scan_uint(d + 6, 2, 23, &hh) || scan_uint(d + 8, 2, 59, &mi) || (k == 12 && scan_uint(d + 10, 2, 60, &ss)))
		return R_BAD_TIME;
	if (!valid_date(2000 + (int)yy, mo, dd))
		return R_BAD_TIME;
	*ms = days_from_civil(2000 + (int)yy, mo, dd) * MS_PER_DAY + ((int64_t)hh * 3600 + (int64_t)mi * 60 + ss) * 1000;
	return R_NONE;
}

static int64_t distance(int64_t a, int64_t b)
{
	return a > b ? a - b : b - a;
}

/* The UTC time of day on the day, of the local date and the two around it,
 * that puts it nearest the local clock: a zone is at most 14 hours off, so
 * the nearest is right for every zone within 12 hours of UTC. */
static int64_t nearest(int64_t local_ms, int64_t utc_tod)
{
	int64_t day = local_ms - local_ms % MS_PER_DAY;
	int64_t best = day + utc_tod;

	if (distance(day - MS_PER_DAY + utc_tod, local_ms) < distance(best, local_ms))
		best = day - MS_PER_DAY + utc_tod;
	if (distance(day + MS_PER_DAY + utc_tod, local_ms) < distance(best, local_ms))
		best = day + MS_PER_DAY + utc_tod;
	return best;
}

/* From "F" on: F,utc,A,lat,N,lon,E,knots,course,alt,...  Some devices put
 * the hemisphere before each number ("A,N,5306.6,E,00700.7"). */
static enum reason report(const struct scan_fields *f, int64_t local_ms, struct record *r)
{
	enum reason why;
	int64_t tod;

	if (f->count < 11)
		return R_SYNTAX;
	if (scan_is(f, 6, "V"))
		return R_NO_FIX;
	if (!scan_is(f, 6, "A"))
		return R_SYNTAX;
	unsigned lat = 7, ns = 8, lon = 9, ew = 10;
	if (is_hemisphere(f, 7, 'N', 'S')) {
		lat = 8, ns = 7, lon = 10, ew = 9;
		if (f->count < 12)
			return R_SYNTAX;
	}
	why = coordinate(f, lat, ns, 'N', 'S', 90, 4, &r->lat);
	if (why == R_NONE)
		why = coordinate(f, lon, ew, 'E', 'W', 180, 5, &r->lon);
	if (why == R_NONE)
		why = optional(f, 11, 0, 3800, &r->speed, HAVE_SPEED, &r->have);
	if (why == R_NONE)
		why = optional(f, 12, 0, 360, &r->course, HAVE_COURSE, &r->have);
	if (why == R_NONE)
		why = optional(f, 13, -20000, 100000, &r->alt, HAVE_ALT, &r->have);
	if (why != R_NONE)
		return why;
	r->speed *= KNOT_MPS;
	/* A UTC field that is no time of day ("0.0", "31.0", sent by some)
	 * leaves the record without a time: the local clock's zone is unknown. */
	size_t k = 0;
	while (k < f->n[5] && f->p[5][k] >= '0' && f->p[5][k] <= '9')
		k++;
	if (k == 6) {
		if (scan_hhmmss(f->p[5], f->n[5], &tod))
			return R_BAD_TIME;
		r->time_ms = nearest(local_ms, tod);
		r->have |= HAVE_TIME;
	} else if (f->n[5] > 0 && (k == 0 || k > 6 || scan_decimal(f->p[5], f->n[5], &(double){ 0 }))) {
		return R_BAD_TIME;
	}
	return R_NONE;
}

static enum verdict logon(const char *p, size_t n, struct frame_out *out)
{
	struct scan_fields f;

	if (scan_split(p, n, ',', &f) || f.count != 3 || !scan_is(&f, 0, "##") || !scan_is(&f, 2, "A") ||
	    f.n[1] < 5 || memcmp(f.p[1], "imei:", 5) != 0 || scan_vehicle(f.p[1] + 5, f.n[1] - 5, out->id))
		return reject(out, R_SYNTAX);
	reply(out, "LOAD", 4);
	return V_IDENT;
}

enum verdict gps103_parse(const struct session *s, const char *p, size_t n, struct frame_out *out)
{
	struct scan_fields f;
	struct record *r = &out->rec[0];
	int64_t local_ms;

	(void)s;
	out->nrec = 0;
	out->reply_n = 0;
	out->close_after_reply = 0;
	out->id[0] = '\0';
	while (n > 0 && (p[0] == '\r' || p[0] == '\n' || p[0] == ' '))
		p++, n--;
	while (n > 0 && (p[n - 1] == ';' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n == 0)
		return V_IGNORED; /* What is left between a ';' and a line end. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return reject(out, R_CONTROL_CHAR);
	if (n >= 2 && p[0] == '#' && p[1] == '#')
		return logon(p, n, out);

	/* A heartbeat, alone or (some devices) glued to the report it precedes. */
	size_t hb = 0;
	while (hb < n && p[hb] >= '0' && p[hb] <= '9')
		hb++;
	if (hb == n) {
		if (scan_vehicle(p, n, out->id))
			return reject(out, R_SYNTAX);
		reply(out, "ON", 2);
		return V_IGNORED;
	}
	if (scan_split(p + hb, n - hb, ',', &f) || f.count < 2 || f.n[0] < 5 || memcmp(f.p[0], "imei:", 5) != 0 ||
	    scan_vehicle(f.p[0] + 5, f.n[0] - 5, out->id))
		return reject(out, R_SYNTAX);
	if (hb > 0 && (hb != f.n[0] - 5 || memcmp(p, out->id, hb) != 0))
		return reject(out, R_SYNTAX);
	if (f.n[1] == 0)
		return reject(out, R_SYNTAX);
	if (hb > 0)
		reply(out, "ON", 2);
	/* OBD data and photographs carry no position. */
	if (scan_is(&f, 1, "OBD") || (f.n[1] >= 2 && memcmp(f.p[1], "vr", 2) == 0))
		return V_IGNORED;
	if (f.count < 5)
		return reject(out, R_SYNTAX);
	int sos = scan_is(&f, 1, "help me");
	if (sos) {
		reply(out, sos_head, sizeof(sos_head) - 1);
		reply(out, out->id, strlen(out->id));
		reply(out, sos_tail, sizeof(sos_tail) - 1);
	}
	/* "L": no GPS, the serving cell only, which vlsink does not locate. */
	if (scan_is(&f, 4, "L"))
		return V_IGNORED;
	if (!scan_is(&f, 4, "F"))
		return reject(out, R_SYNTAX);

	memset(r, 0, sizeof(*r));
	r->format = SRC_GPS103;
	enum reason why = local_time(f.p[2], f.n[2], &local_ms);
	if (why == R_NONE)
		why = report(&f, local_ms, r);
	if (why != R_NONE) {
		r->have = 0;
		return reject(out, why);
	}
	rollover_fix(s, &out->rec[0]);
	out->nrec = 1;
	return V_RECORD;
}
