/* The reply sink.  One buffer: what was written is dropped from its front,
 * released replies follow, staged ones last.  Writes are non-blocking: a
 * peer that does not read its replies fills the buffer, and the caller
 * closes it once reply_stalled() says so, never waiting in a write. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
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

size_t reply_room(struct reply_sink *r)
{
	if (r->sent > 0) {
		memmove(r->buf, r->buf + r->sent, r->len - r->sent);
		r->len -= r->sent;
		r->released -= r->sent;
		r->sent = 0;
	}
	return sizeof(r->buf) - r->len;
}

void reply_put(struct reply_sink *r, uint64_t seq, const char *p, size_t n, int close_after)
{
	if (seq <= r->last_seq || n > sizeof(r->buf) - r->len)
		return;
	r->last_seq = seq;
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
