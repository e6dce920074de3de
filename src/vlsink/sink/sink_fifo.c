/* The FIFO sink.  Each write is one buffer of whole records no longer than
 * PIPE_BUF, which POSIX makes atomic: records from many writers never tear or
 * interleave.  No reader, or a reader that goes away, means waiting, not
 * dropping. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/stop.h"
#include "vlsink/sink/opener.h"
#include "vlsink/sink/sink_fifo.h"

#define RETRY_MS 200

/* A stop signal cuts the pause short. */
static void pause_ms(int ms)
{
	stop_poll(NULL, 0, ms);
}

/* The FIFO opened write-only, without blocking: by the opener once the
 * process is confined.  A descriptor or a negative errno. */
static int open_fifo(struct sink *s)
{
	if (s->opener >= 0)
		return opener_open(s->opener);
	int fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* Waits for a reader and opens the FIFO; "said" tells whether the wait has
 * already been announced. */
static int open_for_reader(struct sink *s, int said)
{
	for (;;) {
		int fd = open_fifo(s);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
				close(fd);
				note("%s: not a FIFO", s->path);
				return -EINVAL;
			}
			if (said)
				note("%s: reader present, delivering", s->path);
			s->fd = fd;
			return 0;
		}
		/* ENXIO: nobody reads yet.  ENOENT: the collector's socket unit
		 * has not created it yet.  Both are worth waiting for. */
		int e = -fd;
		if (e == EINVAL) {
			note("%s: not a FIFO", s->path);
			return -EINVAL;
		}
		if (e != ENXIO && e != ENOENT && e != EINTR) {
			note("%s: %s", s->path, e == EPIPE ? "the FIFO opener is gone" : strerror(e));
			return -e;
		}
		if (!said++)
			note("%s: %s, waiting", s->path, e == ENXIO ? "no reader" : "does not exist");
		if (!stop_may_wait(&s->stop_deadline))
			return -ETIMEDOUT;
		pause_ms(RETRY_MS);
	}
}

int fifo_open(struct sink *s)
{
	return open_for_reader(s, 0);
}

/* The reader went away.  The old descriptor stays open until another reader
 * has come: a pipe keeps its unread bytes only while someone holds it open,
 * and what the last reader left unread is the next reader's. */
static int reader_gone(struct sink *s)
{
	int old = s->fd;

	note("%s: reader went away, waiting for another", s->path);
	s->fd = -1;
	int r = open_for_reader(s, 1);
	if (r < 0) {
		s->fd = old;
		return r;
	}
	close(old);
	return 0;
}

int fifo_write(struct sink *s, const char *p, size_t n)
{
	for (;;) {
		if (s->fd < 0) {
			int r = fifo_open(s);
			if (r < 0)
				return r;
		}
		ssize_t w = write(s->fd, p, n);
		if (w == (ssize_t)n)
			return 0;
		if (w >= 0) {
			/* Cannot happen for n <= PIPE_BUF; refuse to go on torn. */
			note("%s: short write of %zd of %zu bytes", s->path, w, n);
			return -EIO;
		}
		if (errno == EPIPE) {
			int r = reader_gone(s);
			if (r < 0)
				return r;
			continue;
		} else if (errno == EAGAIN) {
			struct pollfd pfd = { s->fd, POLLOUT, 0 };
			if (stop_poll(&pfd, 1, 1000) > 0 && !(pfd.revents & POLLOUT))
				pause_ms(10);
		} else if (errno != EINTR) {
			int e = errno;
			note("%s: %s", s->path, strerror(e));
			return -e;
		}
		if (!stop_may_wait(&s->stop_deadline))
			return -ETIMEDOUT;
	}
}
