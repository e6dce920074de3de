/* Record to text, by hand rather than through printf: this is the per-line
 * hot path, and fixed-point output needs no locale and no rounding mode. */
#include <math.h>
#include <string.h>

#include "format.h"
#include "scan.h"

static const int64_t scale[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };

static size_t put_uint(char *dst, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < width);
	for (int i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return (size_t)n;
}

/* Values reach here range-checked by the parsers, so the scaled value always
 * fits in 64 bits. */
size_t fmt_fixed(char *dst, double v, int decimals)
{
	int64_t s = llround(v * (double)scale[decimals]);
	size_t n = 0;

	if (s < 0) {
		dst[n++] = '-';
		s = -s;
	}
	n += put_uint(dst + n, (uint64_t)(s / scale[decimals]), 1);
	if (decimals) {
		dst[n++] = '.';
		n += put_uint(dst + n, (uint64_t)(s % scale[decimals]), decimals);
	}
	return n;
}

size_t fmt_time(char *dst, int64_t ms)
{
	int64_t days = ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
	int64_t rem = ms - days * MS_PER_DAY;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	put_uint(dst, (uint64_t)y, 4);
	dst[4] = '-';
	put_uint(dst + 5, m, 2);
	dst[7] = '-';
	put_uint(dst + 8, d, 2);
	dst[10] = 'T';
	put_uint(dst + 11, (uint64_t)(rem / 3600000), 2);
	dst[13] = ':';
	put_uint(dst + 14, (uint64_t)(rem / 60000 % 60), 2);
	dst[16] = ':';
	put_uint(dst + 17, (uint64_t)(rem / 1000 % 60), 2);
	dst[19] = '.';
	put_uint(dst + 20, (uint64_t)(rem % 1000), 3);
	dst[23] = 'Z';
	return TIME_LEN;
}

struct writer {
	char *p;
	size_t n;
	int json, fields;
};

/* Starts a field: JSON writes the key only when the value is known, CSV
 * always writes the column separator.  Says whether to write the value. */
static int field(struct writer *w, const char *key, int known)
{
	if (w->json && !known)
		return 0;
	if (w->fields++)
		w->p[w->n++] = ',';
	if (w->json) {
		size_t k = strlen(key);
		w->p[w->n++] = '"';
		memcpy(w->p + w->n, key, k);
		w->n += k;
		w->p[w->n++] = '"';
		w->p[w->n++] = ':';
	}
	return known;
}

/* Strings here are vehicle ids, peers and format names: none needs escaping. */
static void text(struct writer *w, const char *s, size_t len)
{
	if (w->json)
		w->p[w->n++] = '"';
	memcpy(w->p + w->n, s, len);
	w->n += len;
	if (w->json)
		w->p[w->n++] = '"';
}

static void fixed(struct writer *w, double v, int decimals)
{
	w->n += fmt_fixed(w->p + w->n, v, decimals);
}

size_t format_record(char *dst, enum out_format f, const struct record *r, const struct origin *o)
{
	struct writer w = { dst, 0, f == OUT_JSON, 0 };
	char t[TIME_LEN];

	if (w.json)
		dst[w.n++] = '{';
	if (field(&w, "vehicle", o->vehicle != NULL))
		text(&w, o->vehicle, strlen(o->vehicle));
	if (field(&w, "time", r->have & HAVE_TIME))
		text(&w, t, fmt_time(t, r->time_ms));
	if (field(&w, "lat", 1))
		fixed(&w, r->lat, 7);
	if (field(&w, "lon", 1))
		fixed(&w, r->lon, 7);
	if (field(&w, "speed", r->have & HAVE_SPEED))
		fixed(&w, r->speed, 3);
	if (field(&w, "course", r->have & HAVE_COURSE))
		fixed(&w, r->course, 2);
	if (field(&w, "alt", r->have & HAVE_ALT))
		fixed(&w, r->alt, 2);
	if (field(&w, "format", 1))
		text(&w, format_name(r->format), strlen(format_name(r->format)));
	if (field(&w, "peer", o->peer != NULL))
		text(&w, o->peer, strlen(o->peer));
	if (w.json)
		dst[w.n++] = '}';
	dst[w.n++] = '\n';
	return w.n;
}
