/* NMEA 0183: RMC, GGA and GLL from any talker, the identification sentences
 * of Traccar's T55 family ($PGID, $PCPTI), checksums, and the date that GGA
 * and GLL do not carry. */
#include <stdint.h>
#include <string.h>

#include "vlsink/parse/session.h"
#include "core/calendar.h"
#include "core/scan.h"

/* GPS counts weeks in ten bits, so a receiver that does not know which
 * 1024-week era it is in reports dates 1024 weeks back after a rollover; the
 * last one was at 2019-04-07T00:00Z (day 17993 of the Unix epoch). */


/* RMC has at most 14 fields in NMEA 4.1; a few spare cover vendor variants. */
#define MAX_FIELDS 20

struct fields {
	const char *p[MAX_FIELDS];
	size_t n[MAX_FIELDS];
	int count; /* May exceed MAX_FIELDS: the rest were not kept. */
};

static void push(struct fields *f, const char *from, const char *to)
{
	if (f->count < MAX_FIELDS) {
		f->p[f->count] = from;
		f->n[f->count] = (size_t)(to - from);
	}
	f->count++;
}

/* The fields of the sentence up to the '*', and the XOR of their bytes, eight
 * bytes at a time: a word XOR folds down to the byte XOR, and a comma shows as
 * a zero byte of w ^ ",,,,,,,,", found with the exact (carry-free) test. */
static void scan_body(const char *body, size_t len, struct fields *f, unsigned *xor)
{
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f), commas = UINT64_C(0x2c2c2c2c2c2c2c2c);
	const char *start = body;
	uint64_t acc = 0;
	size_t i = 0;

	f->count = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w, t;
		memcpy(&w, body + i, 8);
		acc ^= w;
		t = w ^ commas;
		uint64_t zero = ~(((t & low7) + low7) | t | low7);
		while (zero) {
			const char *c = body + i + (__builtin_ctzll(zero) >> 3);
			push(f, start, c);
			start = c + 1;
			zero &= zero - 1;
		}
	}
	acc ^= acc >> 32;
	acc ^= acc >> 16;
	acc ^= acc >> 8;
	unsigned x = (unsigned)(acc & 0xff);
	for (; i < len; i++) {
		x ^= (unsigned char)body[i];
		if (body[i] == ',') {
			push(f, start, body + i);
			start = body + i + 1;
		}
	}
	push(f, start, body + len);
	*xor = x;
}

static int is_upper_alnum(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
			return 0;
	return n > 0;
}

/* ddmm.mmmm or dddmm.mmmm; leading zeros of the degrees may be missing, but
 * not the two digits of the minutes and one of the degrees: with fewer than
 * three digits before the point the field holds decimal degrees (sent by
 * some trackers), which read as minutes would land near 0N 0E. */
static enum reason coordinate(const char *p, size_t n, const char *h, size_t hn, char pos, char neg,
			      double lim, size_t max_digits, double *out)
{
	double v;

	if (p[0] == '-' || p[0] == '+' || scan_decimal(p, n, &v))
		return R_SYNTAX;
	if (hn != 1 || (h[0] != pos && h[0] != neg))
		return R_SYNTAX;
	int rc = scan_ddmm(p, n, 3, max_digits, lim, &v);
	if (rc)
		return rc == -2 ? R_OUT_OF_RANGE : R_SYNTAX;
	*out = h[0] == neg ? -v : v;
	return R_NONE;
}

static enum reason position(const struct fields *f, int i, struct record *r)
{
	enum reason why;

	if (f->count < i + 4)
		return R_SYNTAX;
	if (f->n[i] == 0 || f->n[i + 2] == 0)
		return R_NO_FIX;
	why = coordinate(f->p[i], f->n[i], f->p[i + 1], f->n[i + 1], 'N', 'S', 90, 4, &r->lat);
	if (why == R_NONE)
		why = coordinate(f->p[i + 2], f->n[i + 2], f->p[i + 3], f->n[i + 3], 'E', 'W', 180, 5, &r->lon);
	return why;
}

static enum reason optional(const struct fields *f, int i, double lo, double hi, double scale,
			    double *out, unsigned bit, unsigned *have)
{
	double v;

	if (i >= f->count || f->n[i] == 0)
		return R_NONE;
	if (scan_decimal(f->p[i], f->n[i], &v))
		return R_SYNTAX;
	v *= scale;
	if (v < lo || v > hi)
		return R_OUT_OF_RANGE;
	*out = v;
	*have |= bit;
	return R_NONE;
}

/* Satellites used and HDOP carry no position, so a value that does not scan
 * is left out rather than costing the fix. */
static void quality(const struct fields *f, int sats, int hdop, struct record *r)
{
	unsigned n;
	double v;

	if (sats >= 0 && sats < f->count && f->n[sats] && !scan_uint(f->p[sats], f->n[sats], 999, &n)) {
		r->sats = n;
		r->have |= HAVE_SATS;
	}
	if (hdop < f->count && f->n[hdop] && !scan_decimal(f->p[hdop], f->n[hdop], &v) && v >= 0 && v <= 100) {
		r->hdop = v;
		r->have |= HAVE_HDOP;
	}
}

/* GSA: the fix mode, the satellites used (one field each, 12 of them) and
 * the DOPs.  No time and no position: it only adds to the epoch it is sent
 * in.  Anything odd in it and it is ignored, as it was before it meant
 * anything. */
static enum verdict gsa(const struct fields *f, struct record *r)
{
	unsigned used = 0;

	if (f->count < 17 || f->n[2] != 1 || (f->p[2][0] != '2' && f->p[2][0] != '3'))
		return V_IGNORED;
	for (int i = 3; i < 15; i++)
		used += f->n[i] != 0;
	r->mode = (unsigned)(f->p[2][0] - '0');
	r->sats = used;
	r->have |= HAVE_MODE | HAVE_SATS;
	quality(f, -1, 16, r);
	return V_QUALITY;
}

/* How far a time of day may step back before it is taken for the next day:
 * the sentences of one epoch come in any order and a tracker may resend a fix
 * a little late, but a stream never steps back hours. */
#define DATE_SLACK_MS (INT64_C(10) * 60 * 1000)

static int64_t day_of(int64_t ms)
{
	return ms / MS_PER_DAY - (ms % MS_PER_DAY < 0);
}

/* A time of day becomes the earliest full time at or after the session's
 * not_before, which only ever moves forward: 23:59:59 just after an RMC at
 * 00:00:01 belongs to the day before, 07:00 after 18:00 to the day after.
 * With nothing to go by, the first is placed nearest to the clock. */
static enum reason date_time_of_day(struct session *s, int64_t tod, struct record *r)
{
	int64_t t;

	if (s->dated) {
		t = day_of(s->not_before_ms) * MS_PER_DAY + tod;
		if (t < s->not_before_ms)
			t += MS_PER_DAY;
	} else {
		t = day_of(s->now_ms) * MS_PER_DAY + tod;
		if (t - s->now_ms > MS_PER_DAY / 2)
			t -= MS_PER_DAY;
		else if (s->now_ms - t > MS_PER_DAY / 2)
			t += MS_PER_DAY;
	}
	/* Each sentence may move the date forward by up to a day, so a long
	 * enough stream of crafted times would walk it anywhere: keep it within
	 * the years every other time in vlsink is held to. */
	if (t < 0 || t >= days_from_civil(2200, 1, 1) * MS_PER_DAY)
		return R_BAD_TIME;
	r->time_ms = t;
	r->have |= HAVE_TIME;
	if (!s->dated || t - DATE_SLACK_MS > s->not_before_ms)
		s->not_before_ms = t - DATE_SLACK_MS;
	s->dated = 1;
	return R_NONE;
}

static enum reason rmc(struct session *s, const struct fields *f, struct record *r)
{
	enum reason why;
	int64_t tod;
	unsigned d, m, y;

	if (f->count < 10)
		return R_SYNTAX;
	if (f->n[2] != 1 || (f->p[2][0] != 'A' && f->p[2][0] != 'V'))
		return R_SYNTAX;
	if (f->p[2][0] == 'V' || (f->count > 12 && f->n[12] == 1 && f->p[12][0] == 'N'))
		return R_NO_FIX;
	if ((why = position(f, 3, r)) != R_NONE)
		return why;
	if ((why = optional(f, 7, 0, 2000, KNOT_MPS, &r->speed, HAVE_SPEED, &r->have)) != R_NONE ||
	    (why = optional(f, 8, 0, 360, 1, &r->course, HAVE_COURSE, &r->have)) != R_NONE)
		return why;
	if (f->n[9] != 6 || scan_uint(f->p[9], 2, 31, &d) || scan_uint(f->p[9] + 2, 2, 12, &m) ||
	    scan_uint(f->p[9] + 4, 2, 99, &y) || scan_hhmmss(f->p[1], f->n[1], &tod))
		return R_BAD_TIME;
	/* Two-digit years: receivers from before 2000 are long gone, but the
	 * GPS week rollover still makes some report the 1980s and 1990s. */
	int year = (int)y + (y >= 80 ? 1900 : 2000);
	if (!valid_date(year, m, d))
		return R_BAD_TIME;
	r->time_ms = days_from_civil(year, m, d) * MS_PER_DAY + tod;
	r->have |= HAVE_TIME;
	rollover_fix(s, r);
	s->not_before_ms = r->time_ms - DATE_SLACK_MS;
	s->dated = 1;
	r->format = SRC_NMEA_RMC;
	return R_NONE;
}

static enum reason gga(struct session *s, const struct fields *f, struct record *r)
{
	enum reason why;
	int64_t tod;

	if (f->count < 7)
		return R_SYNTAX;
	if (f->n[6] == 0 || (f->n[6] == 1 && f->p[6][0] == '0'))
		return R_NO_FIX;
	if (f->n[6] != 1 || f->p[6][0] < '0' || f->p[6][0] > '9')
		return R_SYNTAX;
	if ((why = position(f, 2, r)) != R_NONE)
		return why;
	if ((why = optional(f, 9, -20000, 1e6, 1, &r->alt, HAVE_ALT, &r->have)) != R_NONE)
		return why;
	r->quality = (unsigned)(f->p[6][0] - '0');
	r->have |= HAVE_QUALITY;
	quality(f, 7, 8, r);
	if (f->n[1]) {
		if (scan_hhmmss(f->p[1], f->n[1], &tod))
			return R_BAD_TIME;
		if ((why = date_time_of_day(s, tod, r)) != R_NONE)
			return why;
	}
	r->format = SRC_NMEA_GGA;
	return R_NONE;
}

static enum reason gll(struct session *s, const struct fields *f, struct record *r)
{
	enum reason why;
	int64_t tod;

	if (f->count < 5)
		return R_SYNTAX;
	/* NMEA 1.5 sent no status; from 2.0 on it is A or V, as in RMC. */
	if (f->count > 6 && (f->n[6] != 1 || (f->p[6][0] != 'A' && f->p[6][0] != 'V')))
		return R_SYNTAX;
	if ((f->count > 6 && f->p[6][0] == 'V') || (f->count > 7 && f->n[7] == 1 && f->p[7][0] == 'N'))
		return R_NO_FIX;
	if ((why = position(f, 1, r)) != R_NONE)
		return why;
	if (f->count > 5 && f->n[5]) {
		if (scan_hhmmss(f->p[5], f->n[5], &tod))
			return R_BAD_TIME;
		if ((why = date_time_of_day(s, tod, r)) != R_NONE)
			return why;
	}
	r->format = SRC_NMEA_GLL;
	return R_NONE;
}

static enum verdict reject(struct parse_out *out, enum reason why)
{
	out->why = why;
	return V_REJECT;
}

static enum verdict ident(const char *p, size_t n, struct parse_out *out)
{
	if (scan_vehicle(p, n, out->id))
		return reject(out, R_SYNTAX);
	return V_IDENT;
}

enum verdict nmea_parse(struct session *s, const char *p, size_t n, struct parse_out *out)
{
	struct fields f;
	const char *body = p + 1;
	unsigned x;
	int sum = -1;

	/* The checksum, if any, is the last three bytes: '*' and two hex digits.
	 * Traccar's T55 family also sends a blank on either side of the '*'
	 * ("A * 72") and fields after the checksum ("*71,11,8657..."), which
	 * only strict mode turns away.  A blank before the '*' is never part of
	 * the sentence, in any mode, so that every mode sees the same fields. */
	size_t len = n - 1;
	const char *star = memchr(body, '*', len);
	if (star) {
		const char *h = star + 1, *end = p + n;
		int t55 = 0;
		len = (size_t)(star - body);
		if (len > 0 && body[len - 1] == ' ') {
			len--;
			t55 = 1;
		}
		if (h < end && *h == ' ') {
			h++;
			t55 = 1;
		}
		if (end - h > 2)
			t55 = 1;
		if (end - h < 2 || scan_hexdigit(h[0]) < 0 || scan_hexdigit(h[1]) < 0 || (end - h > 2 && h[2] != ',') ||
		    (t55 && s->checksum == CK_STRICT))
			return reject(out, R_BAD_CHECKSUM);
		sum = scan_hexdigit(h[0]) << 4 | scan_hexdigit(h[1]);
	}
	scan_body(body, len, &f, &x);
	size_t alen = f.n[0];
	if (!is_upper_alnum(body, alen))
		return reject(out, R_SYNTAX);

	/* Devices send a fixed checksum on $PGID, so it is not checked there. */
	if (alen == 4 && !memcmp(body, "PGID", 4)) {
		if (f.count != 2)
			return reject(out, R_SYNTAX);
		return ident(f.p[1], f.n[1], out);
	}
	if (s->checksum != CK_OFF) {
		if (sum < 0) {
			if (s->checksum == CK_STRICT)
				return reject(out, R_NO_CHECKSUM);
		} else if ((int)x != sum) {
			return reject(out, R_BAD_CHECKSUM);
		}
	}
	if (alen == 5 && !memcmp(body, "PCPTI", 5)) {
		if (f.count < 2)
			return reject(out, R_SYNTAX);
		return ident(f.p[1], f.n[1], out);
	}
	if (alen != 5 || p[0] != '$' || body[0] == 'P')
		return V_IGNORED;

	enum reason (*decode)(struct session *, const struct fields *, struct record *);
	const char *type = body + 2;
	if (!memcmp(type, "RMC", 3))
		decode = rmc;
	else if (!memcmp(type, "GGA", 3))
		decode = gga;
	else if (!memcmp(type, "GLL", 3))
		decode = gll;
	else if (!memcmp(type, "GSA", 3))
		return f.count > MAX_FIELDS ? V_IGNORED : gsa(&f, &out->rec);
	else
		return V_IGNORED;
	if (f.count > MAX_FIELDS)
		return reject(out, R_SYNTAX);
	enum reason why = decode(s, &f, &out->rec);
	return why == R_NONE ? V_RECORD : reject(out, why);
}
