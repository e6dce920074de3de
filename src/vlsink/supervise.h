/* A supervised connection: the reader (this process) owns the connection,
 * frames lines into a ring both processes map, and restarts the worker
 * (a child forked after set-up) that parses and delivers them when it dies
 * on a line.  The ring and the worker's progress live in shared memory, so
 * a crash loses nothing but the line it happened on. */
#ifndef VLSINK_SUPERVISE_H
#define VLSINK_SUPERVISE_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/escape.h"
#include "vlsink/conn.h"

/* Framed lines waiting for the worker: what a fast sender fills between two
 * of its wake-ups, many times over (one read is 64 KiB at most). */
#define RING_SIZE ((size_t)256 * 1024)
/* An entry: length, lb_event, then the bytes, padded to 8.  A length of
 * RING_PAD says the rest of the ring is unused and the next entry is at 0. */
#define RING_HDR 8
#define RING_PAD UINT32_MAX
/* The entry's second word: the lb_event, and the protocol above it. */
#define RING_PROTO_SHIFT 8
/* Lines that crashed a worker and lie after the last checkpoint: more
 * than the restart limit can ever let pile up. */
#define QUARANTINE_MAX (RESTART_MAX_LIMIT + 1)

/* The worker's state after line tail_seq, which ends at ring offset
 * tail_off; its merger's held lines follow the struct in the mapping. */
struct checkpoint {
	uint64_t tail_off, tail_seq;
	uint64_t reply_head; /* The replies staged up to line tail_seq end here. */
	struct conn_state st;
};

/* Offsets count every byte ever written, never wrapped; their remainder
 * modulo RING_SIZE is the place in the ring. */
struct shared {
	_Atomic uint64_t head;    /* Reader: end of the framed lines. */
	_Atomic uint64_t tail;    /* Worker: what it needs no more (= ck[current].tail_off). */
	_Atomic uint64_t started; /* Worker: the line it began last (its number)... */
	_Atomic uint64_t done;    /* ... and the last it finished. */
	_Atomic int current;      /* Worker: the checkpoint that stands, 0 or 1. */
	_Atomic int want_data;    /* Worker: asleep, to be woken by the reader. */
	_Atomic int want_space;   /* Reader: waiting for tail to move. */
	_Atomic int closing;      /* Reader: no more lines will come. */
	_Atomic int closing_fix;  /* Worker: delivering the fix of the standing checkpoint. */
	_Atomic unsigned fix_at;  /* Worker: delivering its line's fix number fix_at (conn.h)... */
	size_t fix_len;           /* ... whose lines begin with fix_sample[0, fix_len). */
	char fix_sample[SAMPLE_MAX + 1];
	_Atomic int hangup;       /* Worker: a reply asked to close; it stopped there. */
	/* Written by the reader while no worker runs. */
	uint64_t quarantine[QUARANTINE_MAX];
	int nquarantine;
	struct {
		uint64_t line; /* A fix this line closed, the k-th, killed a worker. */
		unsigned k;
	} fix_quarantine[QUARANTINE_MAX];
	int nfix_quarantine;
	struct checkpoint ck[2];
	/* The worker's replies, released with its checkpoints; the reader
	 * alone writes them to the connection. */
	struct reply_ring replies;
};

/* Serves the connection on fd with a reader and a restarted worker; on
 * return c holds the final tally, as after conn_serve.  0, or -1 when the
 * sink failed; c->refused and c->gave_up say how else it ended. */
int supervise(struct conn *c, int fd);

/* The worker's side (worker.c): never returns. */
struct worker_ctx {
	struct conn *c;
	struct shared *sh;
	const char *ring;
	char *raw[2]; /* Beside each checkpoint: the merger's held lines. */
	int data_efd, space_efd;
};
_Noreturn void worker_run(const struct worker_ctx *w);

#endif
