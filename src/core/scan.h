/* Small, strict scanners shared by the parsers: every one takes a byte range
 * (never a C string) and says no rather than guess. */
#ifndef VLSINK_SCAN_H
#define VLSINK_SCAN_H

#include <stddef.h>
#include <stdint.h>

int scan_decimal(const char *p, size_t n, double *out);
int scan_uint(const char *p, size_t n, unsigned max, unsigned *out);
/* The value of one hex digit (either case), or -1. */
int scan_hexdigit(int c);
int scan_hhmmss(const char *p, size_t n, int64_t *ms_of_day);
int scan_iso8601(const char *p, size_t n, int64_t *ms);
/* YYYYMMDDHHMMSS, UTC, as Queclink devices write it. */
int scan_compact_time(const char *p, size_t n, int64_t *ms);
int scan_epoch(const char *p, size_t n, int64_t *ms);
int scan_vehicle(const char *p, size_t n, char *out);

#endif
