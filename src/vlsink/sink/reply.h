/* The replies a device waits for (a log-on's LOAD, a heartbeat's echo, an
 * HTTP status), as a sink of their own: staged when the frame they answer
 * is accepted, released once that frame's records are delivered, written
 * to the connection without ever blocking the read side. */
#ifndef VLSINK_REPLY_H
#define VLSINK_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "vlsink/parse/proto.h"

/* Replies staged or not yet taken by the peer: many batches of the
 * longest reply. */
#define REPLY_BUF 16384
_Static_assert(REPLY_BUF >= 64 * REPLY_MAX, "the reply buffer must hold many replies");
/* A peer that takes no reply byte for this long while its replies fill the
 * buffer is closed (reply-blocked). */
#define REPLY_STALL_MS 5000

struct reply_sink {
	int fd;               /* -1: replies go nowhere (a pipe without --reply-fd). */
	char buf[REPLY_BUF];
	/* buf[sent, released) may be written, buf[released, len) waits for
	 * its records to be delivered. */
	size_t sent, released, len;
	uint64_t last_seq;    /* The frame of the last reply taken: none is taken twice. */
	int close_staged, close_released; /* A reply asked to close the connection after it. */
	int64_t stall_since;  /* Monotonic ms: unwritten bytes, no progress since; else 0. */
	int failed;           /* The peer is gone: replies are dropped. */
};

/* fd -1 for none; a descriptor is made non-blocking. */
void reply_init(struct reply_sink *r, int fd);
/* Room for staging replies (after what was written is dropped). */
size_t reply_room(struct reply_sink *r);
/* The reply to frame seq; one for a frame seq at or before last_seq is
 * dropped (a restarted worker redoing frames).  The caller made room. */
void reply_put(struct reply_sink *r, uint64_t seq, const char *p, size_t n, int close_after);
/* The staged replies' records are delivered: they may go out. */
void reply_release(struct reply_sink *r);
/* Writes what may go out, without blocking; -1 once the peer is gone. */
int reply_write(struct reply_sink *r);
/* Bytes released and not yet written. */
size_t reply_unsent(const struct reply_sink *r);
/* Unsent bytes with no progress for REPLY_STALL_MS by now (monotonic ms). */
int reply_stalled(const struct reply_sink *r, int64_t now);
/* Everything released is written and a reply asked to close after it. */
int reply_hangup(const struct reply_sink *r);

#endif
