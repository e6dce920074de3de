/* vlsink's options, parsed once at start; a bad one is a usage error
 * (exit 64) and never reaches the rest. */
#ifndef VLSINK_OPTIONS_H
#define VLSINK_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/format.h"
#include "core/record.h"
#include "vlsink/fix/filter.h"
#include "vlsink/parse/proto.h"
#include "vlsink/parse/proxy.h"
#include "vlsink/sink/sink.h"

#define MAX_LINE_DEFAULT 1024
#define MAX_LINE_MIN 64
#define MAX_LINE_LIMIT 4000
#define IDLE_DEFAULT 300
#define IDLE_LIMIT 86400
/* Restart intensity: more than RESTART_MAX worker crashes within
 * RESTART_PERIOD seconds end the connection.  A poison line costs one crash
 * and a tracker repeats a rejected line rarely; five in a minute is a
 * stream (or a build) that crashes the worker over and over, and a
 * reconnecting tracker gets a fresh process and a fresh count anyway. */
#define RESTART_MAX 5
#define RESTART_MAX_LIMIT 100
#define RESTART_PERIOD 60
#define RESTART_PERIOD_LIMIT 3600

enum log_target { LOG_AUTO, LOG_STDERR, LOG_JOURNAL };

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
	int supervise;       /* 1: reader and worker; 0: one process; -1: on sockets only. */
	int restart_max, restart_period; /* --restart-limit=N/SECS. */
	int sandbox;         /* 0: --no-sandbox. */
	int proxy;           /* --proxy-protocol: enum proxy_accept bits, 0 when off. */
	enum protocol protocol; /* --protocol; PROTO_AUTO by default. */
	int ack;             /* --ack: Queclink reports acknowledged. */
	int reply_fd;        /* --reply-fd=N, or -1. */
	enum log_target log; /* --log. */
	const char *user;    /* --user=NAME, or $VLSINK_USER, or NULL. */
};

void config_parse(int argc, char **argv, struct config *o);

#endif
