/* H02, the text protocol of Sinotrack and most cheap trackers:
 * "*HQ,<id>,V1,hhmmss,A,ddmm.mmmm,N,dddmm.mmmm,E,knots,course,ddmmyy,status...#".
 * One frame, without its '#', in; a position, a heartbeat's echo or a
 * reason out. */
#include <string.h>

#include "core/calendar.h"
#include "core/scan.h"
#include "vlsink/parse/proto.h"

/* The maker field: "HQ" for most devices, "TH", "hq" and others for clones. */
#define MAKER_MAX 8
#define KEYWORD_MAX 8

_Static_assert(1 + MAKER_MAX + 1 + VEHICLE_MAX + 1 + KEYWORD_MAX + 1 <= REPLY_MAX, "the heartbeat's echo fits");

static enum verdict reject(struct frame_out *out, enum reason why)
{
	out->nrec = 0;
	out->reply_n = 0;
	out->why = why;
	return V_REJECT;
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int word(const char *p, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(p[i]))
			return 0;
	return 1;
}

static int all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return n > 0;
}

/* ddmm.mmmm (the degrees may be missing: "54.9490" is 0 degrees 54.949
 * minutes), or "-dd-mm.mmmm" as some clones write it, the sign coming from
 * the hemisphere only. */
static enum reason coordinate(const char *p, size_t n, const char *h, size_t hn, char pos, char neg,
			      double lim, size_t max_digits, double *out)
{
	double v;

	if (hn != 1 || (h[0] != pos && h[0] != neg))
		return R_SYNTAX;
	if (n > 0 && p[0] == '-') {
		const char *dash = memchr(p + 1, '-', n - 1);
		unsigned deg;
		double min;
		if (!dash || scan_uint(p + 1, (size_t)(dash - p - 1), 999, &deg))
			return R_SYNTAX;
		size_t mn = n - (size_t)(dash + 1 - p);
		if (mn == 0 || dash[1] == '-' || dash[1] == '+' || scan_decimal(dash + 1, mn, &min))
			return R_SYNTAX;
		v = deg + min / 60;
		if (min >= 60 || v > lim)
			return R_OUT_OF_RANGE;
	} else {
		int rc = scan_ddmm(p, n, 2, max_digits, lim, &v);
		if (rc)
			return rc == -2 ? R_OUT_OF_RANGE : R_SYNTAX;
	}
	*out = h[0] == neg ? -v : v;
	return R_NONE;
}

static enum reason number(const char *p, size_t n, double hi, double *out)
{
	double v;

	if (n == 0 || p[0] == '-' || p[0] == '+' || scan_decimal(p, n, &v))
		return R_SYNTAX;
	if (v > hi)
		return R_OUT_OF_RANGE;
	*out = v;
	return R_NONE;
}

/* The altitude of the long V1 report, in the only layout that carries one:
 * status,odometer,temperature,fuel,altitude,lac,cid at the end. */
static enum reason altitude(const struct scan_fields *f, unsigned status, struct record *r)
{
	unsigned i = status + 1;
	double v;

	if (f->count != i + 6 || !all_digits(f->p[i], f->n[i]) || !memchr(f->p[i + 2], '.', f->n[i + 2]) ||
	    scan_decimal(f->p[i + 2], f->n[i + 2], &v) || f->n[i + 3] == 0 || f->n[i + 3] > 6 ||
	    scan_decimal(f->p[i + 3], f->n[i + 3], &v) || memchr(f->p[i + 3], '.', f->n[i + 3]))
		return R_NONE;
	if (v < -20000 || v > 100000)
		return R_OUT_OF_RANGE;
	r->alt = v;
	r->have |= HAVE_ALT;
	return R_NONE;
}

static enum reason date(const char *p, size_t n, int64_t *day_ms)
{
	unsigned v;

	if (n != 6 || scan_uint(p, n, 999999, &v))
		return R_BAD_TIME;
	unsigned d = v / 10000, m = v / 100 % 100;
	int y = 2000 + (int)(v % 100);
	if (!valid_date(y, m, d))
		return R_BAD_TIME;
	*day_ms = days_from_civil(y, m, d) * MS_PER_DAY;
	return R_NONE;
}

/* From the time field on: hhmmss,A,lat,N,lon,E,knots,course,[battery,]ddmmyy.
 * VP1 has no time field: t is then -1.  An empty time, or none, leaves the
 * record without one rather than at midnight. */
static enum reason report(const struct scan_fields *f, int t, unsigned a, struct record *r)
{
	enum reason why;
	int64_t tod = -1, day = 0;

	if (f->count < a + 8)
		return R_SYNTAX;
	if (f->n[a] == 0 || scan_is(f, a, "V") || scan_is(f, a, "B"))
		return R_NO_FIX;
	/* V2 and VI1 put a digit, their "coding scheme", where V1 has its A. */
	if (!scan_is(f, a, "A") && !(f->n[a] == 1 && f->p[a][0] >= '0' && f->p[a][0] <= '9'))
		return R_SYNTAX;
	why = coordinate(f->p[a + 1], f->n[a + 1], f->p[a + 2], f->n[a + 2], 'N', 'S', 90, 4, &r->lat);
	if (why == R_NONE)
		why = coordinate(f->p[a + 3], f->n[a + 3], f->p[a + 4], f->n[a + 4], 'E', 'W', 180, 5, &r->lon);
	if (why != R_NONE)
		return why;
	if ((why = number(f->p[a + 5], f->n[a + 5], 3800, &r->speed)) != R_NONE)
		return why;
	r->speed *= KNOT_MPS;
	r->have |= HAVE_SPEED;
	if (f->n[a + 6] > 0) {
		if ((why = number(f->p[a + 6], f->n[a + 6], 360, &r->course)) != R_NONE)
			return why;
		r->have |= HAVE_COURSE;
	}
	/* Some send their battery level between the course and the date. */
	unsigned d = a + 7;
	if (d + 1 < f->count && f->n[d] >= 1 && f->n[d] <= 3 && all_digits(f->p[d], f->n[d]) &&
	    f->n[d + 1] == 6 && all_digits(f->p[d + 1], 6))
		d++;
	if (t >= 0 && f->n[t] > 0 && scan_hhmmss(f->p[t], f->n[t], &tod))
		return R_BAD_TIME;
	if (f->n[d] > 0 && (why = date(f->p[d], f->n[d], &day)) != R_NONE)
		return why;
	if (tod >= 0 && f->n[d] > 0) {
		r->time_ms = day + tod;
		r->have |= HAVE_TIME;
	}
	if (d + 1 < f->count)
		return altitude(f, d + 1, r);
	return R_NONE;
}

/* A reply to a server command: "V4,<command>,<its arguments...>,hhmmss,A,...".
 * The arguments vary, so the report starts at the first time field followed
 * by a validity and a latitude hemisphere. */
static int v4_start(const struct scan_fields *f)
{
	for (unsigned i = 4; i + 4 < f->count; i++)
		if (f->n[i] == 6 && all_digits(f->p[i], 6) && f->n[i + 1] <= 1 && f->n[i + 3] == 1 &&
		    (f->p[i + 3][0] == 'N' || f->p[i + 3][0] == 'S'))
			return (int)i;
	return -1;
}

enum verdict h02_parse(const struct session *s, const char *p, size_t n, struct frame_out *out)
{
	struct scan_fields f;
	struct record *r = &out->rec[0];

	(void)s;
	out->nrec = 0;
	out->reply_n = 0;
	out->close_after_reply = 0;
	out->id[0] = '\0';
	while (n > 0 && (p[0] == '\r' || p[0] == '\n')) {
		p++;
		n--;
	}
	if (n > 0 && p[n - 1] == '#')
		n--;
	if (n > 0 && p[0] == '$')
		return reject(out, R_BINARY);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return reject(out, R_CONTROL_CHAR);
	if (n < 1 || p[0] != '*' || scan_split(p + 1, n - 1, ',', &f) || f.count < 3)
		return reject(out, R_SYNTAX);
	if (!word(f.p[0], f.n[0], MAKER_MAX) || !word(f.p[2], f.n[2], KEYWORD_MAX) ||
	    scan_vehicle(f.p[1], f.n[1], out->id))
		return reject(out, R_SYNTAX);

	enum reason why = R_SYNTAX;
	memset(r, 0, sizeof(*r));
	r->format = SRC_H02;
	if (scan_is(&f, 2, "HTBT") || scan_is(&f, 2, "V0")) {
		/* Echoed up to its keyword and closed with '#', as the devices
		 * expect: "*HQ,<id>,HTBT#". */
		size_t echo = 1 + (size_t)(f.p[2] + f.n[2] - f.p[0]);
		memcpy(out->reply, p, echo);
		out->reply[echo] = '#';
		out->reply_n = echo + 1;
		return V_IGNORED;
	} else if (scan_is(&f, 2, "VP1")) {
		if (scan_is(&f, 3, "V"))
			return V_IGNORED; /* Cells only. */
		why = report(&f, -1, 3, r);
	} else if (scan_is(&f, 2, "V4")) {
		int t = v4_start(&f);
		if (t < 0)
			return V_IGNORED; /* A command's reply without a position. */
		why = report(&f, t, (unsigned)t + 1, r);
	} else if (scan_is(&f, 2, "V3") || f.p[2][0] != 'V') {
		/* NBR and V3 (cells), LINK (status), and command replies. */
		return V_IGNORED;
	} else {
		why = report(&f, 3, 4, r);
	}
	if (why != R_NONE) {
		r->have = 0;
		return reject(out, why);
	}
	r->vehicle[0] = '\0';
	rollover_fix(s, &out->rec[0]);
	out->nrec = 1;
	return V_RECORD;
}
