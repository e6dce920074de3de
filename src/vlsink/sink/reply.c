/* The reply sink.  One buffer: what was written is dropped from its front,
 * released replies follow, staged ones last.  Writes are non-blocking: a
 * peer that does not read its replies fills the buffer, and the caller
 * closes it once reply_stalled() says so, never waiting in a write. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/stop.h"
#include "vlsink/sink/reply.h"

void reply_init(struct reply_sink *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

void reply_init_shared(struct reply_sink *r, struct reply_ring *ring, uint64_t head, uint64_t last_seq)
{
	reply_init(r, -1);
	r->kind = REPLY_SHARED;
	r->ring = ring;
	r->head = head;
	r->last_seq = last_seq;
}

static size_t room(struct reply_sink *r)
{
	if (r->sent > 0) {
		memmove(r->buf, r->buf + r->sent, r->len - r->sent);
		r->len -= r->sent;
		r->released -= r->sent;
		r->sent = 0;
	}
	return sizeof(r->buf) - r->len;
}

int reply_fits(struct reply_sink *r)
{
	if (r->kind == REPLY_SHARED)
		return REPLY_RING - (size_t)(r->head - atomic_load(&r->ring->tail)) >= 2 * REPLY_ENTRY_MAX;
	return room(r) >= REPLY_MAX;
}

static void put_shared(struct reply_sink *r, uint64_t seq, const char *p, size_t n, int close_after)
{
	size_t at = r->head % REPLY_RING, need = REPLY_HDR + ((n + 7) & ~(size_t)7);
	uint32_t len = (uint32_t)n, flag = (uint32_t)close_after;

	if (REPLY_RING - at < need) {
		uint32_t pad = REPLY_PAD;
		memcpy(r->ring->buf + at + 8, &pad, 4);
		r->head += REPLY_RING - at;
		at = 0;
	}
	memcpy(r->ring->buf + at, &seq, 8);
	memcpy(r->ring->buf + at + 8, &len, 4);
	memcpy(r->ring->buf + at + 12, &flag, 4);
	memcpy(r->ring->buf + at + REPLY_HDR, p, n);
	r->head += need;
}

int reply_take(struct reply_ring *ring, struct reply_sink *out)
{
	uint64_t tail = atomic_load(&ring->tail), end = atomic_load(&ring->released);
	int took = 0;

	while (tail != end) {
		const char *e = ring->buf + tail % REPLY_RING;
		uint64_t seq;
		uint32_t len, flag;
		memcpy(&len, e + 8, 4);
		if (len == REPLY_PAD) {
			tail += REPLY_RING - tail % REPLY_RING;
			continue;
		}
		if (len > REPLY_MAX || room(out) < len)
			break;
		memcpy(&seq, e, 8);
		memcpy(&flag, e + 12, 4);
		reply_put(out, seq, e + REPLY_HDR, len, (int)flag);
		tail += REPLY_HDR + ((len + 7) & ~(uint64_t)7);
		took = 1;
	}
	atomic_store(&ring->tail, tail);
	reply_release(out);
	return took;
}

void reply_put(struct reply_sink *r, uint64_t seq, const char *p, size_t n, int close_after)
{
	if (seq <= r->last_seq || n > REPLY_MAX)
		return;
	r->last_seq = seq;
	if (r->kind == REPLY_SHARED) {
		put_shared(r, seq, p, n, close_after);
		return;
	}
	if (n > sizeof(r->buf) - r->len)
		return;
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->close_staged |= close_after;
}

void reply_release(struct reply_sink *r)
{
	r->released = r->len;
	r->close_released |= r->close_staged;
	r->close_staged = 0;
}

size_t reply_unsent(const struct reply_sink *r)
{
	return r->released - r->sent;
}

int reply_write(struct reply_sink *r)
{
	int64_t now = monotonic_ms();

	if (r->fd < 0 || r->failed) {
		r->sent = r->released;
		return r->failed ? -1 : 0;
	}
	while (r->sent < r->released) {
		ssize_t k = write(r->fd, r->buf + r->sent, r->released - r->sent);
		if (k > 0) {
			r->sent += (size_t)k;
			r->stall_since = now;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!r->stall_since)
				r->stall_since = now;
			return 0;
		}
		r->failed = 1;
		r->sent = r->released;
		return -1;
	}
	r->stall_since = 0;
	return 0;
}

int reply_stalled(const struct reply_sink *r, int64_t now)
{
	return reply_unsent(r) > 0 && r->stall_since && now - r->stall_since >= REPLY_STALL_MS;
}

int reply_hangup(const struct reply_sink *r)
{
	return r->close_released && reply_unsent(r) == 0;
}

int reply_drain(struct reply_sink *r)
{
	(void)reply_write(r);
	while (reply_unsent(r) > 0) {
		int64_t now = monotonic_ms();
		/* Stopping, the peer gets what it has taken: an ack it missed
		 * makes the device send again, never lose. */
		if (stop_requested())
			return 0;
		if (reply_stalled(r, now))
			return -1;
		struct pollfd pfd = { r->fd, POLLOUT, 0 };
		int64_t left = r->stall_since + REPLY_STALL_MS - now;
		(void)stop_poll(&pfd, 1, left > 0 ? (int)left : 0);
		(void)reply_write(r);
	}
	return 0;
}
