/* Text forms of a record: the JSON and CSV lines of the stdout and FIFO
 * sinks, and the field values the journal sink sends. */
#ifndef VLSINK_FORMAT_H
#define VLSINK_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* The longest JSON or CSV record: every field at its widest, the 64-byte
 * vehicle id and an IPv6 peer included, with room to spare. */
#define RECORD_MAX 512
#define TIME_LEN 24

enum out_format { OUT_JSON, OUT_CSV, OUT_RAW };

struct origin {
	const char *vehicle; /* NULL when unknown. */
	const char *peer;    /* "ip:port", NULL when unknown. */
};

size_t fmt_fixed(char *dst, double v, int decimals);
size_t fmt_time(char *dst, int64_t ms);
size_t format_record(char *dst, enum out_format f, const struct record *r, const struct origin *o);

#endif
