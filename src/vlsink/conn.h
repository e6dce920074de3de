/* One connection, start to end: bytes are framed into lines, lines parsed
 * into records, records handed to the sink. */
#ifndef VLSINK_CONN_H
#define VLSINK_CONN_H

#include "core/linebuf.h"
#include "vlsink/devices.h"
#include "vlsink/fix/filter.h"
#include "vlsink/fix/merge.h"
#include "vlsink/options.h"
#include "vlsink/parse/parse.h"
#include "vlsink/parse/proto.h"
#include "vlsink/peer.h"
#include "vlsink/report.h"
#include "vlsink/sink/reply.h"
#include "vlsink/sink/sink.h"

struct conn {
	const struct config *opt;
	struct sink *sink;
	struct session session;
	struct peer peer;
	struct report rp;
	struct linebuf lb;
	struct merger merge;
	struct filter filter;
	int merging, merge_fed;
	int64_t merge_wake; /* Monotonic ms: close a held epoch then. */
	char ident[VEHICLE_MAX + 1];
	const char *vehicle; /* For records without an id of their own. */
	uint64_t undelivered; /* Records parsed after the sink failed. */
	int failed;
	struct devices *devices;       /* --devices, or NULL. */
	int identity_ok;               /* The connection's own vehicle was found in it. */
	int refused;                   /* ... or was not: the connection ends. */
	int gave_up;                   /* Supervised: the worker crashed past the restart limit. */
	enum protocol proto;           /* PROTO_AUTO until the first bytes decide. */
	struct reply_sink *replies;    /* Where replies are staged, or NULL: none are sent. */
	int hangup;                    /* A reply asked to close the connection after it. */
	/* Supervised: told before a merged fix goes out (k, from 1 in each
	 * line) and after (0), so that a crash on a fix is told from one on
	 * its line; the line's fixes whose bit k is in fix_drop are dropped. */
	void (*fix_watch)(struct conn *c, unsigned k, const char *raw, size_t n);
	const void *watch_arg;
	unsigned fixes, fix_drop;
};

/* Sets up framing, merging and filters; -1 when out of memory. */
int conn_init(struct conn *c);
void conn_free(struct conn *c);
/* Reads fd to its end; 0, or -1 when the sink failed (c->rp.t.end says how
 * the stream ended). */
int conn_serve(struct conn *c, int fd);
const char *conn_vehicle(const struct conn *c);
/* Decides the protocol from what has been read when --protocol=auto (eof:
 * no more will come) and sets the framing: 1 once it is known. */
int conn_detect(struct conn *c, int eof);
/* One framed line, parsed, merged, filtered and delivered. */
void conn_line(struct conn *c, enum lb_event ev, const struct lb_line *l);
/* The epoch being merged goes out (a pause, the end of input). */
void conn_close_epoch(struct conn *c);
/* A line that made a worker crash: counted as rejected, never parsed again. */
void conn_quarantined(struct conn *c);

/* What the lines so far have built up, between two lines (nothing queued
 * in the merger, nothing half-delivered): enough for a new worker to go on
 * from there.  The held epochs' lines go in raw, conn_raw_size() bytes. */
struct conn_state {
	struct session session;
	struct tally t;
	struct limiter limit;
	struct filter filter;
	struct merger merge;
	char ident[VEHICLE_MAX + 1];
	int identity_ok, refused, failed, hangup;
	uint64_t undelivered;
};

size_t conn_raw_size(const struct conn *c);
void conn_save(const struct conn *c, struct conn_state *s, char *raw);
void conn_restore(struct conn *c, const struct conn_state *s, const char *raw);
/* The fix held in a saved state: its lines (LF between them) in *p, *n;
 * 0, or -1 when none is held.  conn_drop_held forgets it. */
int conn_held(const struct conn *c, const struct conn_state *s, const char *raw, const char **p, size_t *n);
void conn_drop_held(const struct conn *c, struct conn_state *s);

#endif
