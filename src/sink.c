/* The buffered sinks.  stdout and the FIFO both collect whole records in a
 * buffer and write it out before the next read blocks, so a fast sender costs
 * one write per batch; the FIFO's buffer is PIPE_BUF long, which makes every
 * write atomic.  The journal takes records one by one. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sink.h"

#define STDOUT_BUF 65536

int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called by every loop that waits on the outside world: true while vlsink
 * runs, and for a grace period once it has been asked to stop. */
int sink_may_wait(struct sink *s)
{
	if (!stop_requested)
		return 1;
	if (!s->stop_deadline)
		s->stop_deadline = monotonic_ms() + STOP_GRACE_MS;
	return monotonic_ms() < s->stop_deadline;
}

int sink_open(struct sink *s)
{
	s->len = 0;
	s->fd = -1;
	switch (s->kind) {
	case SINK_JOURNAL:
		s->cap = 0;
		return journal_wait(s);
	case SINK_FIFO:
		s->cap = PIPE_BUF;
		break;
	case SINK_STDOUT:
		s->cap = STDOUT_BUF;
		s->fd = STDOUT_FILENO;
		break;
	}
	s->buf = malloc(s->cap);
	if (!s->buf)
		return -ENOMEM;
	return s->kind == SINK_FIFO ? fifo_open(s) : 0;
}

/* Writes p[0, n); *done says how far it got, also on failure. */
static int write_all(struct sink *s, const char *p, size_t n, size_t *done)
{
	const char *start = p;

	*done = 0;
	while (n > 0) {
		size_t chunk = n;
		if (stop_requested) {
			/* Once stopping, a reader that no longer reads must not
			 * hold vlsink past the grace period: wait for room with a
			 * timeout, then write no more than a pipe takes at once. */
			struct pollfd pfd = { s->fd, POLLOUT, 0 };
			if (!sink_may_wait(s))
				return -ETIMEDOUT;
			if (poll(&pfd, 1, 200) <= 0)
				continue;
			if (chunk > PIPE_BUF)
				chunk = PIPE_BUF;
		}
		ssize_t w = write(s->fd, p, chunk);
		if (w >= 0) {
			p += w;
			n -= (size_t)w;
			*done = (size_t)(p - start);
			continue;
		}
		if (errno == EAGAIN) {
			struct pollfd pfd = { s->fd, POLLOUT, 0 };
			poll(&pfd, 1, 1000);
		} else if (errno != EINTR) {
			return -errno;
		}
		if (!sink_may_wait(s))
			return -ETIMEDOUT;
	}
	return 0;
}

int sink_flush(struct sink *s)
{
	int r = 0;

	if (s->len == 0)
		return 0;
	if (s->kind == SINK_STDOUT) {
		size_t done;
		r = write_all(s, s->buf, s->len, &done);
		/* Whole records that did get out before a failure are not
		 * counted as lost; a torn one is. */
		for (size_t i = 0; r < 0 && i < done; i++)
			s->pending -= s->buf[i] == '\n';
	} else if (s->kind == SINK_FIFO)
		r = fifo_write(s, s->buf, s->len);
	if (r == 0) {
		s->len = 0;
		s->pending = 0;
	}
	return r;
}

int sink_put(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
	     const char *line, size_t len)
{
	int e;

	if (s->kind == SINK_JOURNAL)
		return journal_record(s, r, o, peer, line, len);
	size_t need = s->format == OUT_RAW ? len + 1 : RECORD_MAX;
	if (s->cap - s->len < need && (e = sink_flush(s)) < 0)
		return e;
	if (s->format == OUT_RAW) {
		memcpy(s->buf + s->len, line, len);
		s->buf[s->len + len] = '\n';
		s->len += len + 1;
	} else {
		s->len += format_record(s->buf + s->len, s->format, r, o);
	}
	s->pending++;
	return 0;
}

void sink_close(struct sink *s)
{
	if (s->kind == SINK_FIFO && s->fd >= 0)
		close(s->fd);
	free(s->buf);
	s->buf = NULL;
	s->fd = -1;
}

/* A short, printable sample of a bad line: at most SAMPLE_MAX input bytes,
 * anything outside printable ASCII as \xHH, a trailing "..." when cut. */
#define SAMPLE_MAX 64

size_t escape_sample(char *dst, size_t cap, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < n && i < SAMPLE_MAX && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return o;
}

static const char *who(const struct peer *peer)
{
	return peer->text[0] ? peer->text : "stdin";
}

void sink_reject(struct sink *s, const struct peer *peer, const char *vehicle, uint64_t lineno,
		 enum reason why, const char *line, size_t len, uint64_t suppressed)
{
	char sample[SAMPLE_MAX * 4 + 8], more[64] = "";

	escape_sample(sample, sizeof(sample), line, len);
	if (suppressed)
		snprintf(more, sizeof(more), " (%" PRIu64 " earlier rejects not logged)", suppressed);
	if (s->kind != SINK_JOURNAL) {
		note("%s: line %" PRIu64 " rejected (%s): \"%s\"%s", who(peer), lineno, reason_name(why), sample, more);
		return;
	}
	journal_reject(s, peer, vehicle, lineno, why, sample, more);
}

/* ", N not delivered" when a failed sink lost accepted records, else "". */
const char *undelivered_text(const struct tally *t)
{
	static char buf[48];

	if (!t->undelivered)
		return "";
	snprintf(buf, sizeof(buf), ", %" PRIu64 " not delivered", t->undelivered);
	return buf;
}

void sink_summary(struct sink *s, const struct peer *peer, const char *vehicle, const struct tally *t)
{
	char reasons[256] = "", *p = reasons;
	size_t left = sizeof(reasons);

	for (int r = 1; r < R_COUNT; r++) {
		if (!t->by_reason[r])
			continue;
		int k = snprintf(p, left, "%s%s %" PRIu64, p == reasons ? " (" : ", ", reason_name((enum reason)r),
				 t->by_reason[r]);
		if (k < 0 || (size_t)k >= left)
			break;
		p += k;
		left -= (size_t)k;
	}
	if (p != reasons && left > 1)
		memcpy(p, ")", 2);
	if (s->kind == SINK_JOURNAL) {
		journal_summary(s, peer, vehicle, t, reasons);
		return;
	}
	note("%s%s%s: %s: %" PRIu64 " accepted, %" PRIu64 " ignored, %" PRIu64 " rejected%s, %" PRIu64
	     " bytes%s%s",
	     who(peer), vehicle ? " " : "", vehicle ? vehicle : "", t->end, t->accepted, t->ignored, t->rejected,
	     reasons, t->bytes, t->suppressed ? ", some rejects not logged" : "", undelivered_text(t));
}
