/* vlsink's options, parsed once at start; a bad one is a usage error
 * (exit 64) and never reaches the rest. */
#ifndef VLSINK_OPTIONS_H
#define VLSINK_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/format.h"
#include "core/record.h"
#include "filter.h"
#include "sink.h"

#define MAX_LINE_DEFAULT 1024
#define MAX_LINE_MIN 64
#define MAX_LINE_LIMIT 4000
#define IDLE_DEFAULT 300
#define IDLE_LIMIT 86400

struct config {
	enum sink_kind sink;
	enum out_format format;
	const char *fifo_path;
	enum checksum_mode checksum;
	size_t max_line;
	const char *vehicle;
	int keep_rollover;
	int have_date;
	int64_t date_days;
	int idle_timeout; /* Seconds; 0 when not applied. */
	int idle_given;
	int merge;        /* 1: one record per epoch (--merge=epoch). */
	struct filter_opts filter;
	const char *devices; /* --devices=PATH, or NULL: every device may report. */
};

void config_parse(int argc, char **argv, struct config *o);

#endif
