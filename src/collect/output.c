/* The durable writer.  Records are appended in whole batches; a batch is
 * counted only once it is written and synced.  A full disk stalls the writer
 * (and so the input) until there is room; a torn record is never left in the
 * file it owns. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/escape.h"
#include "core/log.h"
#include "core/stop.h"
#include "output.h"

#define STALL_RETRY_MS 1000
#define STALL_LOG_MS 60000

/* A kill can cut a write to a file short, and so leave part of a record at
 * the end of the output.  Cut that off before appending, or the next record
 * would be glued to it: it belongs to a batch never counted as written.
 * Such a part is at most OUTPUT_LINE_MAX bytes; anything else is left alone. */
static void repair_tail(struct output *o, const char *path, const struct stat *st)
{
	char fdpath[64], tail[OUTPUT_LINE_MAX + 1], s[SAMPLE_SIZE];
	struct stat rst;

	if (st->st_size == 0)
		return;
	/* Our descriptor is write-only: read through another one, to the same
	 * file (checked below). */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", o->fd);
	int fd = open(o->fd == STDOUT_FILENO ? fdpath : path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	size_t len = st->st_size < (off_t)sizeof(tail) ? (size_t)st->st_size : sizeof(tail);
	off_t from = st->st_size - (off_t)len;
	ssize_t n = -1;
	if (fstat(fd, &rst) == 0 && rst.st_dev == st->st_dev && rst.st_ino == st->st_ino)
		n = pread(fd, tail, len, from);
	close(fd);
	if (n <= 0 || (size_t)n != len || tail[n - 1] == '\n')
		return;
	const char *lf = memrchr(tail, '\n', len);
	if (!lf && from > 0) {
		/* Not ours: keep it, but end it, so that our records stay whole. */
		note("%s: ends in a line longer than %d bytes without LF: not a partial record; adding the LF",
		    o->name, OUTPUT_LINE_MAX);
		if (write(o->fd, "\n", 1) != 1)
			note("%s: write: %s", o->name, strerror(errno));
		return;
	}
	size_t cut = lf ? len - (size_t)(lf + 1 - tail) : len;
	escape_sample(s, sizeof(s), tail + len - cut, cut, 0);
	if (ftruncate(o->fd, st->st_size - (off_t)cut) < 0) {
		note("%s: cannot cut off the partial record at its end: %s", o->name, strerror(errno));
		return;
	}
	note("%s: cut off a partial record of %zu bytes at its end, left by a collector killed while "
	    "writing: \"%s\"",
	    o->name, cut, s);
}

int output_open(struct output *o, const char *path, int sync)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->sync = sync;
	if (!strcmp(path, "-")) {
		o->fd = STDOUT_FILENO;
		o->name = "stdout";
	} else {
		o->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		o->name = path;
		if (o->fd < 0)
			return -errno;
	}
	if (fstat(o->fd, &st) < 0)
		return -errno;
	o->regular = S_ISREG(st.st_mode);
	int flags = fcntl(o->fd, F_GETFL);
	o->cuttable = o->regular && flags >= 0 && (flags & O_APPEND);
	if (o->cuttable)
		repair_tail(o, path, &st);
	return 0;
}

static int stall_error(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG;
}

/* One retry interval of an output stall.  Says so the first time and then
 * once a minute; -1 when asked to stop meanwhile. */
static int stall(struct output *o, const char *what, int e)
{
	int64_t now = monotonic_ms();

	if (!o->stalled) {
		o->stalled = 1;
		o->stall_since = o->stall_logged = now;
		note("%s: %s: %s; input paused, retrying every second", o->name, what, strerror(e));
	} else if (now - o->stall_logged >= STALL_LOG_MS) {
		o->stall_logged = now;
		note("%s: %s: %s; input paused for %" PRId64 " s, still retrying", o->name, what,
		    strerror(e), (now - o->stall_since) / 1000);
	}
	stop_poll(NULL, 0, STALL_RETRY_MS);
	return stop_requested() ? -1 : 0;
}

static void unstall(struct output *o)
{
	if (!o->stalled)
		return;
	o->stalled = 0;
	note("%s: writable again after %" PRId64 " s, input resumed", o->name,
	    (monotonic_ms() - o->stall_since) / 1000);
}

/* After a write cut short by a full disk, the file ends in part of a record.
 * Cut it back to the last whole record, so that nothing torn is ever in the
 * file, not even if we are killed while waiting; the bytes cut off are
 * written again with the rest, so each still lands exactly once.  Not done
 * if someone else has changed the file's size meanwhile.  Returns how much
 * of the batch is now in the file. */
static size_t cut_back(struct output *o, const char *p, size_t done, off_t base)
{
	struct stat st;
	size_t keep = done;

	if (!o->cuttable || base < 0)
		return done;
	while (keep > 0 && p[keep - 1] != '\n')
		keep--;
	if (keep == done || fstat(o->fd, &st) < 0 || st.st_size != base + (off_t)done)
		return done;
	if (ftruncate(o->fd, base + (off_t)keep) < 0)
		return done;
	return keep;
}

/* Writes p[0, n) whole: short writes are continued where they stopped, and
 * on a full disk the rest waits (and so does the input) until it fits. */
static int write_all(struct output *o, const char *p, size_t n, size_t *done)
{
	off_t base = o->cuttable ? lseek(o->fd, 0, SEEK_END) : -1;

	*done = 0;
	while (*done < n) {
		ssize_t w = write(o->fd, p + *done, n - *done);
		if (w > 0) {
			*done += (size_t)w;
			continue;
		}
		int e = w == 0 ? EIO : errno;
		if (e == EINTR)
			continue;
		if (e == EAGAIN) {
			/* A non-blocking pipe: wait, and keep waiting when asked
			 * to stop, since what was read is to be written. */
			struct pollfd pfd = { o->fd, POLLOUT, 0 };
			stop_poll(&pfd, 1, 1000);
			continue;
		}
		if (!stall_error(e)) {
			note("%s: write: %s", o->name, strerror(e));
			return -1;
		}
		*done = cut_back(o, p, *done, base);
		if (stall(o, "write", e) < 0)
			return -1;
	}
	return 0;
}

static int sync_output(struct output *o)
{
	while (fdatasync(o->fd) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (!stall_error(e)) {
			note("%s: fdatasync: %s", o->name, strerror(e));
			return -1;
		}
		if (stall(o, "fdatasync", e) < 0)
			return -1;
	}
	return 0;
}

int output_append(struct output *o, const char *p, size_t n, size_t *done)
{
	int r = OUTPUT_OK;

	*done = 0;
	if (n == 0)
		return OUTPUT_OK;
	if (write_all(o, p, n, done) < 0)
		r |= OUTPUT_WRITE_FAILED;
	/* After a failed write, one last try to make durable what did get
	 * written: only what is on disk counts. */
	if (*done > 0 && o->regular && o->sync &&
	    (r == OUTPUT_OK ? sync_output(o) : fdatasync(o->fd)) < 0)
		r |= OUTPUT_SYNC_FAILED;
	if (r == OUTPUT_OK)
		unstall(o);
	return r;
}

int output_close(struct output *o)
{
	if (o->fd == STDOUT_FILENO)
		return 0;
	return close(o->fd) < 0 ? -errno : 0;
}
