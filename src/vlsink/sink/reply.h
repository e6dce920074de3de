/* The replies a device waits for (a log-on's LOAD, a heartbeat's echo, an
 * HTTP status), as a sink of their own: staged when the frame they answer
 * is accepted, released once that frame's records are delivered, written
 * to the connection without ever blocking the read side. */
#ifndef VLSINK_REPLY_H
#define VLSINK_REPLY_H

#include <stdatomic.h>
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

/* A supervised connection's worker cannot be trusted with the socket: it
 * stages its replies here, in memory it shares with the reader, each
 * tagged with its frame's number.  Entries: seq (8 bytes), length and the
 * close flag (4 each), the bytes padded to 8; a length of REPLY_PAD says
 * the rest of the ring is unused. */
#define REPLY_RING ((size_t)32768)
#define REPLY_HDR 16
#define REPLY_ENTRY_MAX (REPLY_HDR + ((REPLY_MAX + 7) & ~(size_t)7))
#define REPLY_PAD UINT32_MAX
_Static_assert(REPLY_RING >= 64 * REPLY_ENTRY_MAX, "the shared ring must hold many replies");

struct reply_ring {
	/* Offsets count every byte ever written, as the frame ring's do. */
	_Atomic uint64_t released; /* Worker: replies whose records are delivered end here. */
	_Atomic uint64_t tail;     /* Reader: what it has taken. */
	_Atomic int want_space;    /* Worker: waiting for tail to move. */
	char buf[REPLY_RING];
};

enum reply_kind { REPLY_DIRECT, REPLY_SHARED };

struct reply_sink {
	enum reply_kind kind;
	struct reply_ring *ring; /* REPLY_SHARED: where the worker stages... */
	uint64_t head;           /* ... and how far (released with a checkpoint). */
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
/* The worker's side: replies into the shared ring from head on, frames
 * after last_seq (both from the checkpoint it starts at). */
void reply_init_shared(struct reply_sink *r, struct reply_ring *ring, uint64_t head, uint64_t last_seq);
/* There is room for one more reply (after what was written is dropped). */
int reply_fits(struct reply_sink *r);
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
/* Waits until everything released is written (or a stop signal came): 0,
 * or -1 when the peer took nothing for REPLY_STALL_MS. */
int reply_drain(struct reply_sink *r);
/* The reader's side: the released replies of the shared ring into its own
 * direct sink, as far as that has room; 1 when it took any. */
int reply_take(struct reply_ring *ring, struct reply_sink *out);

#endif
