/* The worker: framed lines from the shared ring through the parser, the
 * merger and the filters to the sink.  It publishes which line it is on
 * (two plain stores a line) and, whenever what it has delivered is out of
 * its hands, a checkpoint of everything the lines built up, so that a new
 * worker goes on from there after a crash. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/exits.h"
#include "core/stop.h"
#include "vlsink/supervise.h"

/* Room for an NMEA or CSV line's records in the smallest sink buffer (the FIFO's). */
_Static_assert(3 * RECORD_MAX <= PIPE_BUF && MAX_LINE_LIMIT + 1 <= PIPE_BUF, "a line's records must fit a batch");

/* See conn.c: a held epoch closes this long after its last sentence. */
#define MERGE_HOLD_MS 1000

#ifdef VLSINK_TEST_HOOKS
#if defined(__SANITIZE_ADDRESS__)
#define HOOK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOOK_ASAN 1
#endif
#endif

/* Test builds only (make hooks): a line holding $VLSINK_CRASH_ON, or a
 * merged fix whose lines hold $VLSINK_CRASH_ON_FIX as it goes out, crashes
 * the worker, through a heap overflow that AddressSanitizer reports
 * in a sanitizer build, else abort().  UBSan would see the overflow first. */
__attribute__((no_sanitize("undefined"))) static void test_hook(const char *var, const char *p, size_t n)
{
	const char *marker = getenv(var);

	if (!marker || !*marker || !memmem(p, n, marker, strlen(marker)))
		return;
#ifdef HOOK_ASAN
	volatile char *b = malloc(8);
	volatile size_t past = 8;
	b[past] = 1;
#endif
	abort();
}
#endif

/* Writes the checkpoint into the slot that does not stand, then delivers
 * what the sink holds, then makes the slot stand: a crash before the last
 * step leaves the old checkpoint, whose lines are processed again. */
static int commit(const struct worker_ctx *w, uint64_t off)
{
	struct conn *c = w->c;
	struct shared *sh = w->sh;
	int next = 1 - atomic_load_explicit(&sh->current, memory_order_relaxed);
	struct checkpoint *k = &sh->ck[next];

	k->tail_off = off;
	k->tail_seq = c->rp.t.lines;
	k->reply_head = c->replies->head;
	conn_save(c, &k->st, w->raw[next]);
	if (!c->failed && sink_flush(c->sink) < 0)
		c->failed = 1;
	if (c->failed)
		return -1;
	atomic_store(&sh->current, next);
	atomic_store(&sh->tail, off);
	/* The replies of the lines up to here may go: their records are out
	 * of this process's hands.  The reader is told when there are new. */
	int replies = atomic_exchange(&sh->replies.released, k->reply_head) != k->reply_head;
	if (atomic_exchange(&sh->want_space, 0) || replies) {
		uint64_t one = 1;
		(void)!write(w->space_efd, &one, sizeof(one));
	}
	return 0;
}

/* The last checkpoint, with the tally as it ends for the reader's summary;
 * when the sink failed, what it still held counts as not delivered. */
static _Noreturn void finish(const struct worker_ctx *w, uint64_t off, int status)
{
	struct conn *c = w->c;

	if (commit(w, off) < 0) {
		c->undelivered += c->sink->pending;
		c->sink->pending = 0;
		int next = 1 - atomic_load(&w->sh->current);
		w->sh->ck[next].tail_off = off;
		w->sh->ck[next].tail_seq = c->rp.t.lines;
		w->sh->ck[next].reply_head = c->replies->head;
		conn_save(c, &w->sh->ck[next].st, w->raw[next]);
		atomic_store(&w->sh->current, next);
		status = EXIT_OUTPUT;
	}
	/* Freed so that a leak checker (valgrind, LeakSanitizer) finds the
	 * worker's exit as clean as the reader's. */
	sink_drain(c->sink);
	sink_close(c->sink);
	conn_free(c);
	if (c->devices)
		devices_free(c->devices);
	_exit(status);
}

/* What a line's records may take in the sink's buffer: an NMEA or CSV line
 * makes one record, or three when merging (two fixes it closed and its
 * own); a tracker frame one per point.  Flushing, with a checkpoint, before
 * a line that might not fit means the sink never writes in the middle of a
 * line, so a crash writes at most one batch twice; only a frame of many
 * points can outgrow the FIFO's buffer, and then it starts with it empty. */
static size_t line_room(const struct conn *c, enum protocol proto)
{
	size_t records = proto != PROTO_NMEA && proto != PROTO_AUTO ? FRAME_POINTS_MAX : c->merging ? 3 : 1;
	size_t need = records * sink_record_room(c->sink, c->opt->max_line);

	return need < c->sink->cap ? need : c->sink->cap;
}

/* Before and after a merged fix goes out: which one, for the reader to
 * quarantine if the worker dies on it. */
static void watch_fix(struct conn *c, unsigned k, const char *raw, size_t n)
{
	struct shared *sh = ((const struct worker_ctx *)c->watch_arg)->sh;

	if (k) {
		sh->fix_len = n < sizeof(sh->fix_sample) ? n : sizeof(sh->fix_sample);
		memcpy(sh->fix_sample, raw, sh->fix_len);
	}
	atomic_store_explicit(&sh->fix_at, k, memory_order_release);
#ifdef VLSINK_TEST_HOOKS
	if (k)
		test_hook("VLSINK_CRASH_ON_FIX", raw, n);
#endif
}

/* The fix held after the last line goes out (end of input, hold time up, a
 * refused device), as a batch of its own.  It is checkpointed first, and
 * the reader told, so that a fix whose delivery kills the worker is
 * quarantined, not restored and closed again by every new worker. */
static void close_held(const struct worker_ctx *w, uint64_t pos)
{
	struct conn *c = w->c;

	if (!c->merging || !merge_pending(&c->merge))
		return;
	if (commit(w, pos) < 0)
		finish(w, pos, EXIT_OUTPUT);
	atomic_store(&w->sh->closing_fix, 1);
	conn_close_epoch(c);
	atomic_store(&w->sh->closing_fix, 0);
	if (commit(w, pos) < 0)
		finish(w, pos, EXIT_OUTPUT);
}

/* Sleeps until the reader has framed more, or until a held epoch is due. */
static void wait_data(const struct worker_ctx *w, uint64_t pos, int64_t wake)
{
	struct shared *sh = w->sh;
	struct pollfd pfd = { w->data_efd, POLLIN, 0 };
	uint64_t n;

	atomic_store(&sh->want_data, 1);
	if (atomic_load(&sh->head) != pos || atomic_load(&sh->closing)) {
		atomic_store(&sh->want_data, 0);
		return;
	}
	int ms = -1;
	if (wake) {
		int64_t left = wake - monotonic_ms();
		ms = left <= 0 ? 0 : left > 86400000 ? 86400000 : (int)left;
	}
	if (stop_poll(&pfd, 1, ms) > 0)
		(void)!read(w->data_efd, &n, sizeof(n));
	atomic_store(&sh->want_data, 0);
}

/* The replies staged since the checkpoint fill the shared ring: they are
 * released, and the worker waits until the reader has taken enough. */
static void wait_reply_space(const struct worker_ctx *w, uint64_t pos)
{
	struct reply_sink *r = w->c->replies;
	struct pollfd pfd = { w->data_efd, POLLIN, 0 };
	uint64_t n;

	if (reply_fits(r))
		return;
	if (commit(w, pos) < 0)
		finish(w, pos, EXIT_OUTPUT);
	while (!reply_fits(r)) {
		atomic_store(&r->ring->want_space, 1);
		if (reply_fits(r))
			break;
		if (stop_poll(&pfd, 1, -1) > 0)
			(void)!read(w->data_efd, &n, sizeof(n));
	}
	atomic_store(&r->ring->want_space, 0);
}

_Noreturn void worker_run(const struct worker_ctx *w)
{
	static struct reply_sink staged;
	struct conn *c = w->c;
	struct shared *sh = w->sh;
	const struct checkpoint *k = &sh->ck[atomic_load(&sh->current)];
	uint64_t pos = k->tail_off;
	int journal = c->sink->kind == SINK_JOURNAL, dirty = 0;

	conn_restore(c, &k->st, w->raw[atomic_load(&sh->current)]);
	/* Replies are staged after what the checkpoint released; a line
	 * done again stages its reply again, where the lost one was. */
	reply_init_shared(&staged, &sh->replies, k->reply_head, k->tail_seq);
	c->replies = &staged;
	c->fix_watch = watch_fix;
	c->watch_arg = w;
	if (c->refused) {
		close_held(w, pos);
		finish(w, pos, EXIT_NOPERM);
	}
	/* A fix held at the checkpoint gets its hold time again. */
	c->merge_wake = c->merging && merge_pending(&c->merge) ? monotonic_ms() + MERGE_HOLD_MS : 0;
	for (;;) {
		int closing = atomic_load(&sh->closing);
		uint64_t head = atomic_load(&sh->head);
		if (pos == head) {
			if (closing) {
				close_held(w, pos);
				finish(w, pos, EXIT_OK);
			}
			if (dirty && commit(w, pos) < 0)
				finish(w, pos, EXIT_OUTPUT);
			dirty = 0;
			int64_t wake = c->merging && merge_pending(&c->merge) ? c->merge_wake : 0;
			wait_data(w, pos, wake);
			if (wake && monotonic_ms() >= wake && atomic_load(&sh->head) == pos)
				close_held(w, pos);
			continue;
		}
		c->session.now_ms = realtime_ms();
		while (pos != head) {
			const char *e = w->ring + pos % RING_SIZE;
			uint32_t len, ev;
			memcpy(&len, e, 4);
			memcpy(&ev, e + 4, 4);
			if (len == RING_PAD) {
				pos += RING_SIZE - pos % RING_SIZE;
				continue;
			}
			enum protocol proto = (enum protocol)(ev >> RING_PROTO_SHIFT);
			if (!journal && !c->failed && c->sink->cap - c->sink->len < line_room(c, proto) &&
			    commit(w, pos) < 0)
				continue;
			wait_reply_space(w, pos);
			uint64_t seq = c->rp.t.lines + 1, records = c->rp.t.records;
			int skip = 0;
			for (int i = 0; i < sh->nquarantine; i++)
				skip |= sh->quarantine[i] == seq;
			c->fix_drop = 0;
			for (int i = 0; i < sh->nfix_quarantine; i++)
				if (sh->fix_quarantine[i].line == seq)
					c->fix_drop |= 1u << sh->fix_quarantine[i].k;
			atomic_store_explicit(&sh->started, seq, memory_order_relaxed);
			if (skip) {
				conn_quarantined(c);
			} else {
				struct lb_line l = { e + RING_HDR, len };
#ifdef VLSINK_TEST_HOOKS
				test_hook("VLSINK_CRASH_ON", l.p, l.n);
#endif
				c->proto = proto;
				conn_line(c, (enum lb_event)(ev & ((1u << RING_PROTO_SHIFT) - 1)), &l);
			}
			c->fix_drop = 0;
			atomic_store_explicit(&sh->done, seq, memory_order_release);
			pos += RING_HDR + ((len + 7) & ~(uint64_t)7);
			dirty = 1;
			if (c->refused) {
				close_held(w, pos);
				finish(w, pos, EXIT_NOPERM);
			}
			if (c->hangup) {
				atomic_store(&sh->hangup, 1);
				finish(w, pos, EXIT_OK);
			}
			/* The journal took this line's records already. */
			if (journal && !c->failed && c->rp.t.records != records)
				(void)commit(w, pos);
		}
		/* As in conn_serve, the rest of the batch is still counted. */
		if (c->failed)
			finish(w, pos, EXIT_OUTPUT);
		if (c->merge_fed) {
			c->merge_wake = monotonic_ms() + MERGE_HOLD_MS;
			c->merge_fed = 0;
		}
	}
}
