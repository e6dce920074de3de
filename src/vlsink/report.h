/* What became of a connection's lines, and the wording of every diagnostic
 * about them: rejects (rate limited) and the summary at the end. */
#ifndef VLSINK_REPORT_H
#define VLSINK_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/limit.h"
#include "core/record.h"
#include "vlsink/fix/filter.h"
#include "vlsink/peer.h"
#include "vlsink/sink/sink.h"

struct tally {
	uint64_t lines, accepted, ignored, rejected, bytes;
	uint64_t records;     /* Handed to the sink, after merging and filters. */
	uint64_t filtered[FL_COUNT];
	uint64_t conflicts;   /* Epochs whose sentences disagreed on the position. */
	uint64_t undelivered; /* Accepted, but lost to a failed sink. */
	uint64_t by_reason[R_COUNT];
	uint64_t crashes, restarts; /* Of the worker (supervised connections). */
	uint64_t replies;     /* Replies staged for the device. */
	const char *end; /* eof, reset, idle-timeout, signal, input-error, sink-error,
			  * unknown-device, restart-limit, proxy-header, reply-close,
			  * reply-blocked */
};

struct report {
	struct tally t;
	struct limiter limit;
	struct sink *sink;
	const struct peer *peer;
	const char *sandbox; /* How the process is confined (SANDBOX=), or NULL. */
	const char *protocol; /* The connection's protocol (PROTOCOL=), or NULL before any byte. */
	int local; /* A LOCAL/UNKNOWN PROXY header came: empty, it was a health check. */
};

void report_init(struct report *rp, struct sink *sink, const struct peer *peer);
/* Line lineno was turned away: counted, and said unless rate limited. */
void report_reject(struct report *rp, const char *vehicle, enum reason why, const char *line, size_t len);
void report_summary(struct report *rp, const char *vehicle);
/* The connection's own device is not in --devices: one entry, not limited. */
void report_refused(struct report *rp, const char *who);
/* No valid PROXY protocol header (--proxy-protocol): the one entry of a
 * connection closed before its first line, with a sample of what came. */
void report_proxy(struct report *rp, const char *why, const char *got, size_t n);

#endif
