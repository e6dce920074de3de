/* Small, strict scanners shared by the parsers: every one takes a byte range
 * (never a C string) and says no rather than guess. */
#ifndef VLSINK_SCAN_H
#define VLSINK_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* The comma-separated fields of the tracker protocols: a frame of more than
 * SCAN_FIELDS_MAX is refused, as none of those read here comes near it. */
#define SCAN_FIELDS_MAX 96
struct scan_fields {
	const char *p[SCAN_FIELDS_MAX];
	size_t n[SCAN_FIELDS_MAX];
	unsigned count;
};

/* Splits p[0..n) at every sep: n == 0 is one empty field.  -1 if too many. */
int scan_split(const char *p, size_t n, char sep, struct scan_fields *f);
/* Field i exists and is exactly word. */
int scan_is(const struct scan_fields *f, unsigned i, const char *word);
int scan_decimal(const char *p, size_t n, double *out);
int scan_uint(const char *p, size_t n, unsigned max, unsigned *out);
/* The value of one hex digit (either case), or -1. */
int scan_hexdigit(int c);
int scan_hhmmss(const char *p, size_t n, int64_t *ms_of_day);
int scan_iso8601(const char *p, size_t n, int64_t *ms);
/* YYYYMMDDHHMMSS, UTC, as Queclink devices write it. */
int scan_compact_time(const char *p, size_t n, int64_t *ms);
int scan_epoch(const char *p, size_t n, int64_t *ms);
/* ddmm.mmmm to degrees: 0, -1 (syntax) or -2 (out of range). */
int scan_ddmm(const char *p, size_t n, size_t min_digits, size_t max_digits, double lim, double *deg);
int scan_vehicle(const char *p, size_t n, char *out);

#endif
