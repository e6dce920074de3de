/* Record to text, by hand rather than through printf: this is the per-line
 * hot path, and fixed-point output needs no locale and no rounding mode. */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "calendar.h"

static const int64_t scale[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };

static size_t put_uint(char *dst, uint64_t v, int width)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	int len = 1;

	for (uint64_t t = v; t >= 10; t /= 10)
		len++;
	if (len < width)
		len = width;
	char *p = dst + len;
	while (v >= 100) {
		p -= 2;
		memcpy(p, pairs + (v % 100) * 2, 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + v * 2, 2);
	} else {
		*--p = (char)('0' + v);
	}
	while (p > dst)
		*--p = '0';
	return (size_t)len;
}

/* Values reach here range-checked by the parsers, so the scaled value always
 * fits in 64 bits. */
size_t fmt_fixed(char *dst, double v, int decimals)
{
	double x = v * (double)scale[decimals];
	int64_t s = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
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

/* Records of one connection mostly share a day, so the date part is kept
 * from the last call rather than worked out again. */
size_t fmt_time(char *dst, int64_t ms)
{
	static int64_t last_day = INT64_MIN;
	static char date[11];
	int64_t days = ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
	int64_t rem = ms - days * MS_PER_DAY;

	if (days != last_day) {
		int y;
		unsigned m, d;
		civil_from_days(days, &y, &m, &d);
		put_uint(date, (uint64_t)y, 4);
		date[4] = '-';
		put_uint(date + 5, m, 2);
		date[7] = '-';
		put_uint(date + 8, d, 2);
		date[10] = 'T';
		last_day = days;
	}
	memcpy(dst, date, 11);
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
static int field_(struct writer *w, const char *key, size_t len, int known)
{
	if (w->json && !known)
		return 0;
	if (w->fields++)
		w->p[w->n++] = ',';
	if (w->json) {
		memcpy(w->p + w->n, key, len);
		w->n += len;
	}
	return known;
}

/* The key is a literal, so its JSON form and length are known at compile time. */
#define field(w, key, known) field_(w, "\"" key "\":", sizeof("\"" key "\":") - 1, known)

static void text(struct writer *w, const char *s, size_t len)
{
	if (w->json)
		w->p[w->n++] = '"';
	memcpy(w->p + w->n, s, len);
	w->n += len;
	if (w->json)
		w->p[w->n++] = '"';
}

/* Vehicle ids (scan_vehicle's alphabet) and peers (numeric addresses,
 * brackets, a port) are written unescaped in JSON and CSV, and RECORD_MAX
 * counts on their lengths.  That is checked, not assumed: anything else is
 * a bug upstream, and writing it would forge or tear a record. */
#define TEXT_MAX 80

static const unsigned char safe[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, ['.'] = 1, ['_'] = 1, ['-'] = 1, [':'] = 1, ['@'] = 1, ['['] = 1, [']'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
};

static void checked_text(struct writer *w, const char *s)
{
	size_t len = strlen(s);
	unsigned bad = len > TEXT_MAX;

	for (size_t i = 0; i < len; i++)
		bad |= !safe[(unsigned char)s[i]];
	if (bad)
		abort();
	text(w, s, len);
}

static void fixed(struct writer *w, double v, int decimals)
{
	w->n += fmt_fixed(w->p + w->n, v, decimals);
}

static void count(struct writer *w, unsigned v)
{
	w->n += put_uint(w->p + w->n, v, 1);
}

static void quality(struct writer *w, const struct record *r)
{
	if (field(w, "mode", r->have & HAVE_MODE))
		count(w, r->mode);
	if (field(w, "quality", r->have & HAVE_QUALITY))
		count(w, r->quality);
	if (field(w, "sats", r->have & HAVE_SATS))
		count(w, r->sats);
	if (field(w, "hdop", r->have & HAVE_HDOP))
		fixed(w, r->hdop, 2);
}

static void flag(struct writer *w)
{
	static const char json_true[4] = { 't', 'r', 'u', 'e' };

	memcpy(w->p + w->n, json_true, sizeof(json_true));
	w->n += sizeof(json_true);
}

/* The widest JSON record: every key, the widest value of each in the ranges
 * the parsers accept (those the exporter checks, src/export/records.c), the
 * longest format name, both flags, the commas between 17 members, the braces
 * and the newline.  CSV is the same values without the keys. */
#define KEY(k) (sizeof("\"" k "\":") - 1)
#define WIDEST_JSON                                                                                           \
	(KEY("vehicle") + TEXT_MAX + 2 + KEY("time") + TIME_LEN + 2 + KEY("lat") + sizeof("-90.0000000") - 1 +     \
	 KEY("lon") + sizeof("-180.0000000") - 1 + KEY("speed") + sizeof("2000.000") - 1 + KEY("course") +        \
	 sizeof("360.00") - 1 + KEY("alt") + sizeof("1000000.00") - 1 + KEY("mode") + 1 + KEY("quality") + 1 +    \
	 KEY("sats") + 3 + KEY("hdop") + sizeof("100.00") - 1 + KEY("accuracy") + sizeof("1000000.0") - 1 +        \
	 KEY("format") + sizeof("nmea-rmc") + 1 + KEY("rollover") + 4 + KEY("archive") + 4 + KEY("peer") +        \
	 TEXT_MAX + 2 + 16 + 3)
_Static_assert(ACCURACY_MAX == 1000000, "WIDEST_JSON counts 7 integer digits of accuracy");
_Static_assert(WIDEST_JSON <= RECORD_MAX, "the widest record fits RECORD_MAX");

size_t format_record(char *dst, enum out_format f, const struct record *r, const struct origin *o)
{
	struct writer w = { dst, 0, f == OUT_JSON, 0 };
	char t[TIME_LEN];

	if (w.json)
		dst[w.n++] = '{';
	if (field(&w, "vehicle", o->vehicle != NULL))
		checked_text(&w, o->vehicle);
	if (field(&w, "time", r->have & HAVE_TIME)) {
		size_t tn = fmt_time(t, r->time_ms);
		text(&w, t, tn);
	}
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
	if (w.json) {
		quality(&w, r);
		if (field(&w, "accuracy", r->have & HAVE_ACCURACY))
			fixed(&w, r->accuracy, 1);
	}
	if (field(&w, "format", 1))
		text(&w, format_name(r->format), strlen(format_name(r->format)));
	/* The flags are JSON only: CSV columns stay as documented. */
	if (w.json && field(&w, "rollover", r->have & ROLLOVER_FIXED))
		flag(&w);
	if (w.json && field(&w, "archive", r->have & ARCHIVED))
		flag(&w);
	if (field(&w, "peer", o->peer != NULL))
		checked_text(&w, o->peer);
	/* CSV's columns only ever grow at the end. */
	if (!w.json) {
		quality(&w, r);
		if (field(&w, "accuracy", r->have & HAVE_ACCURACY))
			fixed(&w, r->accuracy, 1);
	}
	if (w.json)
		dst[w.n++] = '}';
	dst[w.n++] = '\n';
	return w.n;
}
