/* Records read back, checked as strictly as vlsink writes them: a JSON line
 * (vlsink --format=json, the collector's file) or one journal field value.
 * Pure functions over byte ranges; the caller reports what they turn away. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/scan.h"
#include "export.h"

static const char *const journal_name[F_COUNT] = {
	[F_VEHICLE] = "VEHICLE_ID",   [F_TIME] = "FIX_TIME",	  [F_LAT] = "LATITUDE",
	[F_LON] = "LONGITUDE",	      [F_SPEED] = "SPEED_MPS",	  [F_COURSE] = "COURSE_DEG",
	[F_ALT] = "ALTITUDE_M",	      [F_FORMAT] = "SOURCE_FORMAT", [F_PEER] = NULL,
	[F_HDOP] = "HDOP",	      [F_MODE] = "FIX_MODE",	  [F_QUALITY] = "FIX_QUALITY",
	[F_SATS] = "SATELLITES_USED", [F_ACCURACY] = "ACCURACY_M",
	[F_ROLLOVER] = "GPS_WEEK_ROLLOVER", [F_ARCHIVE] = "ARCHIVE",
};

const char *journal_field(enum slot f)
{
	return journal_name[f];
}

static const char *const json_key[F_COUNT] = {
	[F_VEHICLE] = "vehicle", [F_TIME] = "time",	[F_LAT] = "lat",       [F_LON] = "lon",   [F_SPEED] = "speed",
	[F_COURSE] = "course",	 [F_ALT] = "alt",	[F_FORMAT] = "format", [F_PEER] = "peer",
	[F_HDOP] = "hdop",	 [F_MODE] = "mode",	[F_QUALITY] = "quality", [F_SATS] = "sats",
	[F_ACCURACY] = "accuracy", [F_ROLLOVER] = "rollover", [F_ARCHIVE] = "archive",
};

static const char *const bad_value[F_COUNT] = {
	[F_VEHICLE] = "bad vehicle id", [F_TIME] = "bad time",	  [F_LAT] = "bad lat",
	[F_LON] = "bad lon",		[F_SPEED] = "bad speed",  [F_COURSE] = "bad course",
	[F_ALT] = "bad alt",		[F_FORMAT] = "bad format", [F_PEER] = "bad peer",
	[F_HDOP] = "bad hdop",		[F_MODE] = "bad mode",	  [F_QUALITY] = "bad quality",
	[F_SATS] = "bad sats",		[F_ACCURACY] = "bad accuracy",
	[F_ROLLOVER] = "bad rollover",	[F_ARCHIVE] = "bad archive",
};

/* The ranges vlsink's own parsers accept, so that anything it wrote comes
 * back and anything else is noticed. */
static const struct {
	double lo, hi;
	unsigned have;
	const char *why;
} range[F_COUNT] = {
	[F_LAT] = { -90, 90, 0, "lat out of range" },
	[F_LON] = { -180, 180, 0, "lon out of range" },
	[F_SPEED] = { 0, 2000, HAVE_SPEED, "speed out of range" },
	[F_COURSE] = { 0, 360, HAVE_COURSE, "course out of range" },
	[F_ALT] = { -20000, 1e6, HAVE_ALT, "alt out of range" },
	[F_HDOP] = { 0, 100, HAVE_HDOP, "hdop out of range" },
	[F_MODE] = { 2, 3, HAVE_MODE, "mode out of range" },
	[F_QUALITY] = { 1, 9, HAVE_QUALITY, "quality out of range" },
	[F_SATS] = { 0, 999, HAVE_SATS, "sats out of range" },
	[F_ACCURACY] = { 0, ACCURACY_MAX, HAVE_ACCURACY, "accuracy out of range" },
};

#define ESCAPED "string with escapes"

static int is_number(enum slot f)
{
	return f >= F_LAT && f <= F_ACCURACY;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *number(enum slot f, double v, struct record *r)
{
	double *dst[F_COUNT] = {
		[F_LAT] = &r->lat,     [F_LON] = &r->lon, [F_SPEED] = &r->speed,
		[F_COURSE] = &r->course, [F_ALT] = &r->alt, [F_HDOP] = &r->hdop, [F_ACCURACY] = &r->accuracy,
	};
	unsigned *count[F_COUNT] = { [F_MODE] = &r->mode, [F_QUALITY] = &r->quality, [F_SATS] = &r->sats };

	if (!isfinite(v) || v < range[f].lo || v > range[f].hi)
		return range[f].why;
	if (count[f]) {
		if (v != floor(v))
			return bad_value[f];
		*count[f] = (unsigned)v;
	} else {
		*dst[f] = v;
	}
	r->have |= range[f].have;
	return NULL;
}

/* Peers are "ip:port" or "[ipv6]:port", possibly with a zone. */
static int peer_ok(const char *p, size_t n)
{
	if (n == 0 || n > 80)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == ':' ||
		      c == '[' || c == ']' || c == '%' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static const char *text(enum slot f, const char *p, size_t n, struct record *r)
{
	switch (f) {
	case F_VEHICLE:
		return scan_vehicle(p, n, r->vehicle) ? bad_value[f] : NULL;
	case F_TIME:
		if (scan_iso8601(p, n, &r->time_ms))
			return bad_value[f];
		r->have |= HAVE_TIME;
		return NULL;
	case F_FORMAT:
		for (int k = SRC_NMEA_RMC; k <= SRC_OSMAND; k++) {
			const char *name = format_name((enum source_format)k);
			if (strlen(name) == n && !memcmp(name, p, n)) {
				r->format = (enum source_format)k;
				return NULL;
			}
		}
		return bad_value[f];
	case F_PEER:
		return peer_ok(p, n) ? NULL : bad_value[f];
	case F_ROLLOVER:
	case F_ARCHIVE:
		if (n != 1 || p[0] != '1')
			return bad_value[f];
		r->have |= f == F_ROLLOVER ? ROLLOVER_FIXED : ARCHIVED;
		return NULL;
	default:
		return bad_value[f];
	}
}

const char *journal_value(enum slot f, const char *p, size_t n, struct record *r)
{
	double v;

	if (!is_number(f))
		return text(f, p, n, r);
	if (scan_decimal(p, n, &v))
		return bad_value[f];
	return number(f, v, r);
}

static enum slot key(const struct json_token *k)
{
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(json_key[f]) == k->n && !memcmp(json_key[f], k->p, k->n))
			return (enum slot)f;
	return F_COUNT;
}

/* One member's value.  vlsink's strings never need escapes, so a string
 * holding one was not written by vlsink. */
static const char *member(enum slot f, const struct json_token *v, struct record *r)
{
	double d;

	if (is_number(f)) {
		if (v->type != JSON_NUMBER || json_number_value(v, &d))
			return bad_value[f];
		return number(f, d, r);
	}
	/* vlsink writes the flags only when they are set. */
	if (f == F_ROLLOVER || f == F_ARCHIVE)
		return v->type == JSON_TRUE ? text(f, "1", 1, r) : bad_value[f];
	if (v->type != JSON_STRING)
		return bad_value[f];
	if (v->escaped)
		return ESCAPED;
	return text(f, v->p, v->n, r);
}

/* One object a line with vlsink's keys only, each at most once, lat and lon
 * required: a record that does not look like vlsink's is not guessed at. */
static const char *object(struct json *j, struct record *r)
{
	struct json_token t;
	enum json_type type;
	unsigned seen = 0;
	enum slot f = F_COUNT;
	const char *why;

	if (json_next(j, &t) != JSON_OBJECT_START) {
		j->i = 0;
		return "not a JSON object";
	}
	while ((type = json_next(j, &t)) != JSON_DONE) {
		if (type == JSON_FAIL)
			return "syntax";
		if (type == JSON_OBJECT_END)
			continue;
		if (type == JSON_KEY) {
			if (t.escaped)
				return ESCAPED;
			if ((f = key(&t)) == F_COUNT)
				return "unknown key";
			if (seen & (1u << f))
				return "duplicate key";
			seen |= 1u << f;
			continue;
		}
		if (f == F_COUNT)
			return "syntax";
		if ((why = member(f, &t, r)) != NULL)
			return why;
		f = F_COUNT;
	}
	if (!(seen & (1u << F_LAT)) || !(seen & (1u << F_LON)))
		return "no lat/lon";
	return NULL;
}

/* *at is where reading stopped, so that a diagnostic can show the spot. */
const char *json_record(const char *p, size_t n, struct record *r, size_t *at)
{
	struct json j;

	memset(r, 0, sizeof(*r));
	json_init(&j, p, n);
	const char *why = object(&j, r);
	*at = j.i;
	return why;
}

/* --since and --until: "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS[.fff]" (T for the
 * space is fine), either with Z or +00:00, or "@" and Unix seconds.  Times
 * without a zone are UTC, like the fix times they are compared with. */
int parse_when(const char *s, int64_t *ms)
{
	size_t n = strlen(s);
	char buf[64];

	if (n > 0 && s[0] == '@')
		return scan_epoch(s + 1, n - 1, ms);
	if (n == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		return scan_iso8601(buf, 20, ms);
	}
	if (scan_iso8601(s, n, ms) == 0)
		return 0;
	if (n < 19 || n >= sizeof(buf) - 1)
		return -1;
	snprintf(buf, sizeof(buf), "%sZ", s);
	return scan_iso8601(buf, n + 1, ms);
}
