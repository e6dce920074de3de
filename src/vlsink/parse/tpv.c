/* gpsd JSON: one object a line.  Only class TPV carries a position; any other
 * class is well-formed noise.  The text comes straight off the network, so it
 * is read through the strict scanner, all of it, before anything is taken. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/json.h"
#include "core/scan.h"
#include "vlsink/parse/session.h"

struct tpv {
	int is_tpv;
	int mode;
	const char *time;
	size_t time_n;
	double lat, lon, alt_msl, alt, speed, track;
	unsigned seen;
};

enum {
	S_LAT = 1 << 0,
	S_LON = 1 << 1,
	S_ALTMSL = 1 << 2,
	S_ALT = 1 << 3,
	S_SPEED = 1 << 4,
	S_TRACK = 1 << 5,
	S_MODE = 1 << 6,
	S_CLASS = 1 << 7,
	S_TIME = 1 << 8,
};

static const struct member {
	const char *key;
	unsigned bit;
	enum json_type type;
	size_t off; /* Of the double it fills, for numbers. */
} members[] = {
	{ "class", S_CLASS, JSON_STRING, 0 },
	{ "time", S_TIME, JSON_STRING, 0 },
	{ "mode", S_MODE, JSON_NUMBER, 0 },
	{ "lat", S_LAT, JSON_NUMBER, offsetof(struct tpv, lat) },
	{ "lon", S_LON, JSON_NUMBER, offsetof(struct tpv, lon) },
	{ "altMSL", S_ALTMSL, JSON_NUMBER, offsetof(struct tpv, alt_msl) },
	{ "alt", S_ALT, JSON_NUMBER, offsetof(struct tpv, alt) },
	{ "speed", S_SPEED, JSON_NUMBER, offsetof(struct tpv, speed) },
	{ "track", S_TRACK, JSON_NUMBER, offsetof(struct tpv, track) },
};

static const struct member *lookup(const struct json_token *k)
{
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (strlen(members[i].key) == k->n && !memcmp(members[i].key, k->p, k->n))
			return &members[i];
	return NULL;
}

/* One value of interest.  A member given twice is refused: which of two
 * latitudes to believe is not a guess to make. */
static int take(struct tpv *t, const struct member *m, const struct json_token *v)
{
	double d;

	if (v->type != m->type)
		return 0;
	if (t->seen & m->bit)
		return -1;
	t->seen |= m->bit;
	switch (m->bit) {
	case S_CLASS:
		t->is_tpv = v->n == 3 && !memcmp(v->p, "TPV", 3);
		return 0;
	case S_TIME:
		t->time = v->p;
		t->time_n = v->n;
		return 0;
	}
	if (json_number_value(v, &d))
		return -1;
	if (m->bit == S_MODE)
		t->mode = d >= 0 && d <= 3 ? (int)d : -1;
	else
		*(double *)(void *)((char *)t + m->off) = d;
	return 0;
}

/* The members of the top-level object; nested values are validated by the
 * scanner and skipped. */
static int scan_tpv(const char *p, size_t n, struct tpv *t)
{
	struct json j;
	struct json_token tok;
	const struct member *want = NULL;
	enum json_type type;

	json_init(&j, p, n);
	if (json_next(&j, &tok) != JSON_OBJECT_START)
		return -1;
	while ((type = json_next(&j, &tok)) != JSON_DONE) {
		if (type == JSON_FAIL)
			return -1;
		if (tok.depth != 1 || type == JSON_OBJECT_END || type == JSON_ARRAY_END)
			continue;
		if (type == JSON_KEY) {
			want = tok.escaped ? NULL : lookup(&tok);
			continue;
		}
		if (want && take(t, want, &tok))
			return -1;
		want = NULL;
	}
	return 0;
}

static enum verdict reject(struct parse_out *out, enum reason why)
{
	out->why = why;
	return V_REJECT;
}

static int in_range(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

enum verdict tpv_parse(const char *p, size_t n, struct parse_out *out)
{
	struct tpv t;
	struct record *r = &out->rec;

	memset(&t, 0, sizeof(t));
	if (scan_tpv(p, n, &t) || !(t.seen & S_CLASS))
		return reject(out, R_SYNTAX);
	if (!t.is_tpv)
		return V_IGNORED;
	if ((t.seen & S_MODE) && t.mode < 0)
		return reject(out, R_SYNTAX);
	if (((t.seen & S_MODE) && t.mode < 2) || (t.seen & (S_LAT | S_LON)) != (S_LAT | S_LON))
		return reject(out, R_NO_FIX);
	if (!in_range(t.lat, -90, 90) || !in_range(t.lon, -180, 180))
		return reject(out, R_OUT_OF_RANGE);
	r->lat = t.lat;
	r->lon = t.lon;
	if (t.seen & S_MODE) {
		r->mode = (unsigned)t.mode;
		r->have |= HAVE_MODE;
	}
	if (t.seen & (S_ALTMSL | S_ALT)) {
		r->alt = (t.seen & S_ALTMSL) ? t.alt_msl : t.alt;
		if (!in_range(r->alt, -20000, 1e6))
			return reject(out, R_OUT_OF_RANGE);
		r->have |= HAVE_ALT;
	}
	if (t.seen & S_SPEED) {
		if (!in_range(t.speed, 0, 2000))
			return reject(out, R_OUT_OF_RANGE);
		r->speed = t.speed;
		r->have |= HAVE_SPEED;
	}
	if (t.seen & S_TRACK) {
		if (!in_range(t.track, 0, 360))
			return reject(out, R_OUT_OF_RANGE);
		r->course = t.track;
		r->have |= HAVE_COURSE;
	}
	if (t.time) {
		if (scan_iso8601(t.time, t.time_n, &r->time_ms))
			return reject(out, R_BAD_TIME);
		r->have |= HAVE_TIME;
	}
	r->format = SRC_GPSD_TPV;
	return V_RECORD;
}
