/* Invariants shared by the parser harnesses: what any verdict may carry, and
 * that every record formats to a line of valid JSON (and CSV) that fits in
 * RECORD_MAX.  Header-only so that each harness stays one file plus this. */
#ifndef VLSINK_FUZZ_CHECK_H
#define VLSINK_FUZZ_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "format.h"
#include "vlsink/parse/parse.h"
#include "record.h"
#include "calendar.h"
#include "scan.h"

#ifdef HAVE_JSON_VALID
#include "json.h"
#endif

/* 2026-11-25T12:00:00Z: the harnesses' wall clock, fixed so that every run
 * of an input is the same run. */
#define FUZZ_NOW_MS (INT64_C(20417) * MS_PER_DAY + MS_PER_DAY / 2)

/* The widest origin main.c can hand format_record(): a 64-byte id and a
 * peer text that fills struct peer's 80-byte buffer. */
static const char fuzz_vehicle64[] = "veh.0123456789-abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRST:@";
static const char fuzz_peer79[] =
	"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535ffff:ffff:ffff:ffff:ffff:f";
_Static_assert(sizeof(fuzz_vehicle64) == VEHICLE_MAX + 1, "a longest vehicle id");
_Static_assert(sizeof(fuzz_peer79) == 80, "a longest peer text");

static inline int fuzz_safe_id(const char *s, size_t cap, int may_be_empty)
{
	const char *nul = memchr(s, '\0', cap);
	if (!nul)
		return 0;
	size_t n = (size_t)(nul - s);
	if (n == 0)
		return may_be_empty;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':' || c == '@'))
			return 0;
	}
	return 1;
}

/* A small strict JSON validator, used when src/json.c is not there: the
 * harness must not trust the code it is checking. */
struct fuzz_json {
	const char *p, *end;
};

static int fj_value(struct fuzz_json *j, int depth);

static void fj_ws(struct fuzz_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int fj_string(struct fuzz_json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++j->p >= j->end)
				return -1;
			if (*j->p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) ||
					    !*j->p)
						return -1;
			} else if (!*j->p || !strchr("\"\\/bfnrt", *j->p)) {
				return -1;
			}
		}
	}
	return -1;
}

static int fj_digits(struct fuzz_json *j)
{
	const char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : -1;
}

static int fj_number(struct fuzz_json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p >= j->end || *j->p < '1' || *j->p > '9' || fj_digits(j))
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (fj_digits(j))
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (fj_digits(j))
			return -1;
	}
	return 0;
}

static int fj_container(struct fuzz_json *j, int depth, char close)
{
	if (depth > 64)
		return -1;
	j->p++;
	fj_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (fj_string(j))
				return -1;
			fj_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return -1;
		}
		if (fj_value(j, depth + 1))
			return -1;
		fj_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
		fj_ws(j);
	}
}

static int fj_value(struct fuzz_json *j, int depth)
{
	fj_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
		return fj_container(j, depth, '}');
	case '[':
		return fj_container(j, depth, ']');
	case '"':
		return fj_string(j);
	case 't':
	case 'f':
	case 'n': {
		const char *w = *j->p == 't' ? "true" : *j->p == 'f' ? "false" : "null";
		size_t n = strlen(w);
		if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
			return -1;
		j->p += n;
		return 0;
	}
	default:
		return fj_number(j);
	}
}

/* One JSON object and nothing else on the line. */
static inline int fuzz_json_object(const char *p, size_t n)
{
	struct fuzz_json j = { p, p + n };

	fj_ws(&j);
	if (j.p >= j.end || *j.p != '{' || fj_value(&j, 0))
		return 0;
	fj_ws(&j);
	return j.p == j.end;
}

/* Every record, formatted as vlsink would: JSON and CSV, into a buffer of
 * exactly RECORD_MAX bytes (ASan catches a write past it). */
static inline void fuzz_check_format(const struct record *r, const char *vehicle)
{
	static char *buf;
	struct origin origins[3] = {
		{ vehicle, fuzz_peer79 },
		{ NULL, NULL },
		{ fuzz_vehicle64, "192.0.2.1:4242" },
	};

	if (!buf && !(buf = malloc(RECORD_MAX)))
		abort();
	for (int i = 0; i < 3; i++) {
		size_t n = format_record(buf, OUT_JSON, r, &origins[i]);
		CHECK(n >= 2 && n <= RECORD_MAX);
		CHECK(buf[n - 1] == '\n');
		CHECK(memchr(buf, '\n', n - 1) == NULL);
		CHECK(fuzz_json_object(buf, n - 1));
#ifdef HAVE_JSON_VALID
		CHECK(json_valid_object(buf, n - 1));
#endif
		n = format_record(buf, OUT_CSV, r, &origins[i]);
		CHECK(n >= 2 && n <= RECORD_MAX);
		CHECK(buf[n - 1] == '\n');
		CHECK(memchr(buf, '\n', n - 1) == NULL);
		CHECK(memchr(buf, '"', n) == NULL);
	}
}

/* The fix quality fields a GGA, GSA or TPV may set. */
static inline void fuzz_check_quality(const struct record *r)
{
	if (r->have & HAVE_MODE)
		CHECK(r->mode == 2 || r->mode == 3);
	if (r->have & HAVE_QUALITY)
		CHECK(r->quality >= 1 && r->quality <= 9);
	if (r->have & HAVE_SATS)
		CHECK(r->sats <= 999);
	if (r->have & HAVE_HDOP)
		CHECK(isfinite(r->hdop) && r->hdop >= 0 && r->hdop <= 100);
}

/* Times a parser may produce: what the scanners allow (1970 to 2199, a leap
 * second over) plus the day's slack that GGA and GLL get from the reference
 * date, and then some. */
static inline void fuzz_check_record(const struct record *r)
{
	static int64_t tmin, tmax;

	if (!tmax) {
		tmin = days_from_civil(1969, 1, 1) * MS_PER_DAY;
		tmax = days_from_civil(2201, 1, 1) * MS_PER_DAY;
	}
	CHECK((r->have & ~(unsigned)(HAVE_TIME | HAVE_SPEED | HAVE_COURSE | HAVE_ALT | HAVE_MODE | HAVE_QUALITY |
				      HAVE_SATS | HAVE_HDOP | ROLLOVER_FIXED | HAVE_ACCURACY | ARCHIVED)) == 0);
	CHECK(!(r->have & ROLLOVER_FIXED) ||
	      ((r->format == SRC_NMEA_RMC || r->format == SRC_H02 || r->format == SRC_GPS103) && (r->have & HAVE_TIME)));
	CHECK((unsigned)r->format <= SRC_OSMAND);
	if (r->have & HAVE_ACCURACY)
		CHECK(isfinite(r->accuracy) && r->accuracy >= 0 && r->accuracy <= 1e6);
	CHECK(isfinite(r->lat) && r->lat >= -90 && r->lat <= 90);
	CHECK(isfinite(r->lon) && r->lon >= -180 && r->lon <= 180);
	if (r->have & HAVE_TIME)
		CHECK(r->time_ms >= tmin && r->time_ms < tmax);
	if (r->have & HAVE_SPEED)
		CHECK(isfinite(r->speed) && r->speed >= 0 && r->speed <= 2000);
	if (r->have & HAVE_COURSE)
		CHECK(isfinite(r->course) && r->course >= 0 && r->course <= 360);
	if (r->have & HAVE_ALT)
		CHECK(isfinite(r->alt) && r->alt >= -20000 && r->alt <= 1e6);
	fuzz_check_quality(r);
	CHECK(fuzz_safe_id(r->vehicle, sizeof(r->vehicle), 1));
	if (r->format == SRC_CSV)
		CHECK(r->vehicle[0] != '\0');
}

/* What any verdict may carry.  ident is the id last announced on the
 * connection (may be empty), used as the record's origin as main.c does. */
static inline void fuzz_check_verdict(enum verdict v, const struct parse_out *out, const char *ident)
{
	switch (v) {
	case V_RECORD:
		fuzz_check_record(&out->rec);
		fuzz_check_format(&out->rec, out->rec.vehicle[0] ? out->rec.vehicle
							 : ident && ident[0] ? ident : NULL);
		break;
	case V_IDENT:
		CHECK(fuzz_safe_id(out->id, sizeof(out->id), 0));
		break;
	case V_REJECT:
		CHECK(out->why > R_NONE && out->why < R_COUNT);
		CHECK(reason_name(out->why) != NULL);
		break;
	case V_QUALITY:
		/* A GSA: no position, only what it adds to its fix. */
		CHECK(out->rec.have & HAVE_MODE);
		CHECK(!(out->rec.have & (HAVE_TIME | HAVE_SPEED | HAVE_COURSE | HAVE_ALT)));
		fuzz_check_quality(&out->rec);
		break;
	case V_IGNORED:
		break;
	default:
		CHECK(!"verdict out of range");
	}
}

/* Records compare equal field by field (bitwise for the doubles: the same
 * text must give the same bits whatever the checksum mode). */
static inline int fuzz_same_record(const struct record *a, const struct record *b)
{
	if (a->have != b->have || a->format != b->format || strcmp(a->vehicle, b->vehicle))
		return 0;
	if (memcmp(&a->lat, &b->lat, sizeof(double)) || memcmp(&a->lon, &b->lon, sizeof(double)))
		return 0;
	if ((a->have & HAVE_TIME) && a->time_ms != b->time_ms)
		return 0;
	if ((a->have & HAVE_SPEED) && memcmp(&a->speed, &b->speed, sizeof(double)))
		return 0;
	if ((a->have & HAVE_COURSE) && memcmp(&a->course, &b->course, sizeof(double)))
		return 0;
	if ((a->have & HAVE_ALT) && memcmp(&a->alt, &b->alt, sizeof(double)))
		return 0;
	return 1;
}

/* A parse_out as a caller leaves it between lines: stale, not zeroed, so
 * that a parser relying on a field it did not set shows up. */
static inline void fuzz_dirty(struct parse_out *out)
{
	memset(out, 0xFF, sizeof(*out)); /* NaN doubles, an enum out of range. */
	out->rec.vehicle[0] = '\0';
	out->rec.have = 0;
	out->why = R_NONE;
}

#endif
