/* The sink dispatcher and the buffered sinks.  stdout and the FIFO both
 * collect whole records in a buffer and write it out before the next read
 * blocks, so a fast sender costs one write per batch; the FIFO's buffer is
 * PIPE_BUF long, which makes every write atomic.  The journal takes records
 * one by one. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/journald.h"
#include "core/log.h"
#include "core/stop.h"
#include "vlsink/sink/sink.h"
#include "vlsink/sink/opener.h"
#include "vlsink/sink/sink_fifo.h"
#include "vlsink/sink/sink_journal.h"

#define STDOUT_BUF 65536

/* Every FIFO write is one buffer of whole records: atomic only up to
 * PIPE_BUF, so a record must fit it whole. */
_Static_assert(RECORD_MAX <= PIPE_BUF, "a formatted record must fit one atomic pipe write");
_Static_assert(RECORD_MAX <= STDOUT_BUF, "a formatted record must fit the stdout buffer");

int sink_open(struct sink *s)
{
	struct stat st;

	s->len = 0;
	s->fd = -1;
	s->opener = -1;
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
		s->chunked = fstat(s->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
		break;
	}
	s->buf = malloc(s->cap);
	if (!s->buf)
		return -ENOMEM;
	return s->kind == SINK_FIFO ? fifo_open(s) : 0;
}

/* Waits until stdout takes more.  A stop signal ends the wait at once; from
 * then on the consumer has the grace period, no longer. */
static int wait_writable(struct sink *s)
{
	struct pollfd pfd = { s->fd, POLLOUT, 0 };

	for (;;) {
		if (!stop_may_wait(&s->stop_deadline))
			return -ETIMEDOUT;
		int r = stop_poll(&pfd, 1, stop_requested() ? 200 : -1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Writes p[0, n); *done says how far it got, also on failure.  On a pipe or
 * socket no write is larger than what poll() said fits, so none blocks past
 * a stop signal. */
static int write_all(struct sink *s, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		size_t chunk = n - *done;
		int r = wait_writable(s);
		if (r < 0)
			return r;
		if (s->chunked && chunk > PIPE_BUF)
			chunk = PIPE_BUF;
		ssize_t w = write(s->fd, p + *done, chunk);
		if (w >= 0) {
			*done += (size_t)w;
			continue;
		}
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
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

size_t sink_record_room(const struct sink *s, size_t len)
{
	return s->format == OUT_RAW ? len + 1 : RECORD_MAX;
}

int sink_put(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
	     const char *line, size_t len)
{
	int e;

	if (s->kind == SINK_JOURNAL)
		return journal_record(s, r, o, peer, line, len);
	size_t need = sink_record_room(s, len);
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

/* An event the journal sink could not take is still said as a
 * diagnostic. */
void sink_event(struct sink *s, const struct peer *peer, const struct event *ev)
{
	if (s->kind != SINK_JOURNAL)
		log_line(ev->priority, ev->text, strlen(ev->text));
	else if (journal_event(s, peer, ev) < 0)
		log_line(ev->priority, ev->message, strlen(ev->message));
}

void sink_drain(struct sink *s)
{
	int fd[] = { s->kind == SINK_JOURNAL ? s->fd : -1, log_journal_fd() };

	journald_drain(fd, 2, &s->stop_deadline);
}

void sink_close(struct sink *s)
{
	if ((s->kind == SINK_FIFO || s->kind == SINK_JOURNAL) && s->fd >= 0)
		close(s->fd);
	if (s->opener >= 0)
		close(s->opener);
	s->opener = -1;
	free(s->buf);
	s->buf = NULL;
	s->fd = -1;
}

int sink_fork_opener(struct sink *s)
{
	return s->kind == SINK_FIFO ? opener_start(&s->opener, s->path) : 0;
}
