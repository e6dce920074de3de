/* One connection, start to end: bytes are framed into lines, lines parsed
 * into records, records handed to the sink. */
#ifndef VLSINK_CONN_H
#define VLSINK_CONN_H

#include "core/linebuf.h"
#include "devices.h"
#include "filter.h"
#include "merge.h"
#include "options.h"
#include "parse.h"
#include "peer.h"
#include "report.h"
#include "sink.h"

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
	const struct devices *devices; /* --devices, or NULL. */
	int identity_ok;               /* The connection's own vehicle was found in it. */
	int refused;                   /* ... or was not: the connection ends. */
};

/* Sets up framing, merging and filters; -1 when out of memory. */
int conn_init(struct conn *c);
void conn_free(struct conn *c);
/* Reads fd to its end; 0, or -1 when the sink failed (c->rp.t.end says how
 * the stream ended). */
int conn_serve(struct conn *c, int fd);
const char *conn_vehicle(const struct conn *c);

#endif
