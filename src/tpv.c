/* gpsd JSON: one object a line.  Only class TPV carries a position; any other
 * class is well-formed noise.  The scanner is strict JSON with a depth cap,
 * because this text comes straight off the network. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "scan.h"

/* gpsd nests at most three levels (SKY satellites); 16 leaves room. */
#define MAX_DEPTH 16

struct cursor {
	const char *p, *end;
};

struct tpv {
	int is_tpv, has_class;
	int mode;
	const char *time;
	size_t time_n;
	double lat, lon, alt_msl, alt, speed, track;
	unsigned seen;
};

enum { S_LAT = 1, S_LON = 2, S_ALTMSL = 4, S_ALT = 8, S_SPEED = 16, S_TRACK = 32, S_MODE = 64 };

static void ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static int hex4(const char *p)
{
	for (int i = 0; i < 4; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
		      (p[i] >= 'A' && p[i] <= 'F')))
			return -1;
	return 0;
}

/* Leaves *s, *n on the raw contents between the quotes (escapes kept). */
static int string(struct cursor *c, const char **s, size_t *n)
{
	if (c->p >= c->end || *c->p != '"')
		return -1;
	const char *start = ++c->p;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\') {
			if (c->end - c->p < 2)
				return -1;
			char e = c->p[1];
			if (e == 'u') {
				if (c->end - c->p < 6 || hex4(c->p + 2))
					return -1;
				c->p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e))
				return -1;
			c->p += 2;
			continue;
		}
		c->p++;
	}
	if (c->p >= c->end)
		return -1;
	*s = start;
	*n = (size_t)(c->p - start);
	c->p++;
	return 0;
}

/* JSON's number grammar, then strtod on a bounded copy. */
static int number(struct cursor *c, double *v)
{
	const char *s = c->p;
	char tmp[64];

	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end)
		return -1;
	if (*c->p == '0') {
		c->p++;
	} else if (*c->p >= '1' && *c->p <= '9') {
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	} else {
		return -1;
	}
	if (c->p < c->end && *c->p == '.') {
		const char *d = ++c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == d)
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		const char *d = c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == d)
			return -1;
	}
	size_t n = (size_t)(c->p - s);
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*v = strtod(tmp, NULL);
	return 0;
}

static int literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static int value(struct cursor *c, int depth);

static int container(struct cursor *c, int depth, char close)
{
	const char *s;
	size_t n;

	if (depth >= MAX_DEPTH)
		return -1;
	c->p++;
	ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (string(c, &s, &n))
				return -1;
			ws(c);
			if (c->p >= c->end || *c->p != ':')
				return -1;
			c->p++;
			ws(c);
		}
		if (value(c, depth + 1))
			return -1;
		ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == close) {
			c->p++;
			return 0;
		}
		if (*c->p != ',')
			return -1;
		c->p++;
		ws(c);
	}
}

static int value(struct cursor *c, int depth)
{
	const char *s;
	size_t n;
	double v;

	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '{':
		return container(c, depth, '}');
	case '[':
		return container(c, depth, ']');
	case '"':
		return string(c, &s, &n);
	case 't':
		return literal(c, "true");
	case 'f':
		return literal(c, "false");
	case 'n':
		return literal(c, "null");
	default:
		return number(c, &v);
	}
}

static int key_is(const char *s, size_t n, const char *k)
{
	return strlen(k) == n && !memcmp(s, k, n);
}

static const struct {
	const char *key;
	unsigned bit;
	size_t off;
} numeric[] = {
	{ "lat", S_LAT, offsetof(struct tpv, lat) },
	{ "lon", S_LON, offsetof(struct tpv, lon) },
	{ "altMSL", S_ALTMSL, offsetof(struct tpv, alt_msl) },
	{ "alt", S_ALT, offsetof(struct tpv, alt) },
	{ "speed", S_SPEED, offsetof(struct tpv, speed) },
	{ "track", S_TRACK, offsetof(struct tpv, track) },
};

/* The top-level object: members of interest are kept, the rest validated. */
static int members(struct cursor *c, struct tpv *t)
{
	const char *k, *s;
	size_t kn, n;
	double v;

	if (c->p >= c->end || *c->p != '{')
		return -1;
	c->p++;
	ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (string(c, &k, &kn))
			return -1;
		ws(c);
		if (c->p >= c->end || *c->p != ':')
			return -1;
		c->p++;
		ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == '"' && (key_is(k, kn, "class") || key_is(k, kn, "time"))) {
			if (string(c, &s, &n))
				return -1;
			if (k[0] == 'c') {
				t->has_class = 1;
				t->is_tpv = key_is(s, n, "TPV");
			} else {
				t->time = s;
				t->time_n = n;
			}
		} else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
			if (number(c, &v))
				return -1;
			if (key_is(k, kn, "mode")) {
				t->mode = v >= 0 && v <= 3 ? (int)v : -1;
				t->seen |= S_MODE;
			}
			for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
				if (key_is(k, kn, numeric[i].key)) {
					*(double *)(void *)((char *)t + numeric[i].off) = v;
					t->seen |= numeric[i].bit;
				}
			}
		} else if (value(c, 1)) {
			return -1;
		}
		ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == '}') {
			c->p++;
			return 0;
		}
		if (*c->p != ',')
			return -1;
		c->p++;
		ws(c);
	}
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
	struct cursor c = { p, p + n };
	struct tpv t;
	struct record *r = &out->rec;

	memset(&t, 0, sizeof(t));
	ws(&c);
	if (members(&c, &t))
		return reject(out, R_SYNTAX);
	ws(&c);
	if (c.p != c.end || !t.has_class)
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
