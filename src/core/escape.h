/* The one escaper for samples of bad input in diagnostics and journal
 * fields: short, printable, safe inside double quotes. */
#ifndef VLSINK_ESCAPE_H
#define VLSINK_ESCAPE_H

#include <stddef.h>

/* Input bytes shown at most. */
#define SAMPLE_MAX 64
/* A buffer that holds any sample: every byte as \xHH, "..." on both sides. */
#define SAMPLE_SIZE (SAMPLE_MAX * 4 + 8)

/* At most SAMPLE_MAX bytes of p[0, n), from about 40 before byte at (0: the
 * start): printable ASCII as is, '"' and '\' as \" and \\, anything else as
 * \xHH, "..." where cut.  NUL-terminated; returns the length. */
size_t escape_sample(char *dst, size_t cap, const char *p, size_t n, size_t at);

#endif
