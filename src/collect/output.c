/* The durable writer.  Records are appended in whole batches; a batch is
 * counted only once it is written and synced, and after a failed write or
 * sync only once it is written again from our own copy and synced.  The
 * only bytes ever cut off are bytes this collector provably wrote itself. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
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
/* The state file: two slots a sector apart, so that a write torn by a power
 * cut can spoil at most the one being written. */
#define SLOT_SIZE ((size_t)512)

static int stall_error(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG;
}

/* Errors after which the bytes the kernel did take are still there. */
static int space_error(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG;
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

/* CRC-32 (IEEE 802.3, reflected), bit by bit: a few slots per batch. */
static uint32_t crc32(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= (unsigned char)*p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* One slot: the output file's identity, the size it had when its last
 * batch was synced, and how far the batch being written may reach.  Bytes
 * between the two are provably ours. */
static void slot_format(const struct output *o, char *slot, uint64_t seq, off_t synced, off_t end)
{
	memset(slot, 0, SLOT_SIZE);
	int len = snprintf(slot, SLOT_SIZE,
	    "vlsink-collect 1 seq=%" PRIu64 " dev=%ju ino=%ju born=%jd.%09u synced=%jd end=%jd", seq,
	    (uintmax_t)o->dev, (uintmax_t)o->ino, (intmax_t)o->born_sec, o->born_nsec, (intmax_t)synced,
	    (intmax_t)end);
	snprintf(slot + len, SLOT_SIZE - (size_t)len, " crc=%08x\n", crc32(slot, (size_t)len));
}

/* The state file is made whole under a temporary name and renamed into
 * place, once per start; each batch then rewrites the older of its two
 * slots in place, which needs no new disk blocks (so it works on a full
 * disk) and no directory sync.  0 or an errno. */
static int state_create(struct output *o, off_t synced)
{
	char buf[2 * SLOT_SIZE];
	int e = 0;

	if (o->statefd >= 0)
		close(o->statefd);
	o->seq = 1;
	slot_format(o, buf, 0, synced, synced);
	slot_format(o, buf + SLOT_SIZE, 1, synced, synced);
	o->statefd = openat(o->dirfd, o->state_tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (o->statefd < 0)
		return errno;
	ssize_t w = write(o->statefd, buf, sizeof(buf));
	if (w != (ssize_t)sizeof(buf))
		e = w < 0 ? errno : ENOSPC;
	/* The name must not reach the disk before the data it names. */
	if (!e && o->sync && fsync(o->statefd) < 0)
		e = errno;
	if (!e && renameat(o->dirfd, o->state_tmp, o->dirfd, o->state) < 0)
		e = errno;
	if (!e && o->sync && fsync(o->dirfd) < 0)
		e = errno;
	if (e) {
		close(o->statefd);
		o->statefd = -1;
	}
	return e;
}

static int state_update(struct output *o, off_t synced, off_t end)
{
	char slot[SLOT_SIZE];

	uint64_t seq = o->seq + 1;
	slot_format(o, slot, seq, synced, end);
	ssize_t w = pwrite(o->statefd, slot, sizeof(slot), (off_t)((seq % 2) * SLOT_SIZE));
	if (w != (ssize_t)sizeof(slot))
		return w < 0 ? errno : ENOSPC;
	if (o->sync && fdatasync(o->statefd) < 0)
		return errno;
	o->seq = seq;
	return 0;
}

/* The number after key in s[0, n) (which ends in a space or at n), or -1. */
static intmax_t field(const char *s, size_t n, const char *key)
{
	const char *p = memmem(s, n, key, strlen(key));
	char *end;

	if (!p || p[strlen(key)] < '0' || p[strlen(key)] > '9')
		return -1;
	errno = 0;
	intmax_t v = strtoimax(p + strlen(key), &end, 10);
	return errno || end > s + n || (end < s + n && *end != ' ') ? -1 : v;
}

/* The newest whole slot of the state file, if it names this very file. */
static int state_read(const struct output *o, off_t *synced, off_t *end)
{
	char buf[2 * SLOT_SIZE], id[128];
	intmax_t best = -1;

	snprintf(id, sizeof(id), " dev=%ju ino=%ju born=%jd.%09u ", (uintmax_t)o->dev, (uintmax_t)o->ino,
	    (intmax_t)o->born_sec, o->born_nsec);
	int fd = openat(o->dirfd, o->state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	for (size_t at = 0; n == (ssize_t)sizeof(buf) && at < sizeof(buf); at += SLOT_SIZE) {
		char *slot = buf + at, *crc, *tail;
		slot[SLOT_SIZE - 1] = '\0';
		/* " crc=" and 8 hex digits and LF end the line, and cover it. */
		if (strncmp(slot, "vlsink-collect 1 ", 17) != 0 || !(crc = strstr(slot, " crc=")) ||
		    strlen(crc) != 14 || crc[13] != '\n')
			continue;
		size_t len = (size_t)(crc - slot);
		errno = 0;
		unsigned long sum = strtoul(crc + 5, &tail, 16);
		if (errno || tail != crc + 13 || sum != crc32(slot, len) || !memmem(slot, len, id, strlen(id)))
			continue;
		intmax_t seq = field(slot, len, " seq="), s = field(slot, len, " synced="),
			 e = field(slot, len, " end=");
		if (seq < 0 || s < 0 || e < s || seq <= best)
			continue;
		best = seq;
		*synced = (off_t)s;
		*end = (off_t)e;
	}
	return best >= 0 ? 0 : -1;
}

/* Reads p[0, len) at offset from, through a descriptor of our own (the
 * output one may be write-only), from the same file as fd.  Bytes read, or
 * -1. */
static ssize_t read_back(int fd, char *p, size_t len, off_t from)
{
	char fdpath[64];
	struct stat a, b;
	ssize_t n = -1;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	int rfd = open(fdpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (rfd < 0)
		return -1;
	if (fstat(fd, &a) == 0 && fstat(rfd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		n = pread(rfd, p, len, from);
	close(rfd);
	return n;
}

/* Someone else's bytes at the end: left as they are, but our first record
 * must start a line of its own. */
static void start_new_line(struct output *o, off_t at)
{
	char c;

	if (at <= 0 || read_back(o->fd, &c, 1, at - 1) != 1 || c == '\n')
		return;
	note("%s: ends in a line without LF that vlsink-collect cannot prove its own: left as it is, "
	     "records start on a new line after it",
	    o->name);
	if (write(o->fd, "\n", 1) != 1)
		note("%s: write: %s", o->name, strerror(errno));
}

/* The end of the file lies within the batch the last collector was
 * writing [synced, size <= end): a kill or a power cut stopped that write.
 * Its whole lines stay (they were read from the FIFO, and are kept rather
 * than lost); a last line without LF is part of a record never counted,
 * and is cut off.  Such a part is at most OUTPUT_LINE_MAX bytes, or it is
 * not ours. */
static void cut_torn(struct output *o, off_t synced, off_t size)
{
	char tail[OUTPUT_LINE_MAX + 1] = { 0 }, s[SAMPLE_SIZE];

	if (size <= synced)
		return;
	size_t len = size - synced < (off_t)sizeof(tail) ? (size_t)(size - synced) : sizeof(tail);
	if (read_back(o->fd, tail, len, size - (off_t)len) != (ssize_t)len || tail[len - 1] == '\n')
		return;
	const char *lf = memrchr(tail, '\n', len);
	if (!lf && size - (off_t)len > synced) {
		start_new_line(o, size);
		return;
	}
	size_t cut = lf ? len - (size_t)(lf + 1 - tail) : len;
	escape_sample(s, sizeof(s), tail + len - cut, cut, 0);
	if (ftruncate(o->fd, size - (off_t)cut) < 0) {
		note("%s: cannot cut off the partial record at its end: %s", o->name, strerror(errno));
		return;
	}
	note("%s: cut off a partial record of %zu bytes at its end, left by a collector stopped while "
	     "writing it: \"%s\"",
	    o->name, cut, s);
}

/* The whole records the last collector wrote after its last sync are kept,
 * and synced before the state says so.  Should that sync fail, the kernel
 * may show pages it will never write: they are cut off, as never counted. */
static void keep_tail(struct output *o, off_t synced)
{
	struct stat st;

	if (!o->sync || fstat(o->fd, &st) < 0 || st.st_size == synced || fdatasync(o->fd) == 0)
		return;
	note("%s: fdatasync: %s; cutting off the %jd bytes the last collector wrote and did not sync", o->name,
	    strerror(errno), (intmax_t)(st.st_size - synced));
	if (ftruncate(o->fd, synced) < 0)
		note("%s: ftruncate: %s", o->name, strerror(errno));
}

/* At start: what lies after the size last recorded as synced is cut only
 * when the state file proves it ours; anything else is left alone. */
static int take_over(struct output *o, int created)
{
	struct stat st;
	off_t synced = 0, end = 0;

	if (fstat(o->fd, &st) < 0)
		return -errno;
	off_t size = st.st_size;
	if (created || size == 0) {
		/* Nothing to look at. */
	} else if (state_read(o, &synced, &end) < 0) {
		start_new_line(o, size);
	} else if (size < synced) {
		note("%s: %jd bytes, shorter than the %jd recorded as synced in %s: changed by another program, "
		     "left as it is",
		    o->name, (intmax_t)size, (intmax_t)synced, o->state);
		start_new_line(o, size);
	} else if (size > end) {
		note("%s: %jd bytes after the %jd that vlsink-collect recorded were written by another program: "
		     "left as they are",
		    o->name, (intmax_t)(size - end), (intmax_t)end);
		start_new_line(o, size);
	} else {
		cut_torn(o, synced, size);
		keep_tail(o, synced);
	}
	if (fstat(o->fd, &st) < 0)
		return -errno;
	o->durable = st.st_size;
	int e;
	while ((e = state_create(o, o->durable)) != 0 && stall_error(e) && stall(o, "state file", e) == 0)
		;
	if (e) {
		note("%s: state file %s: %s", o->name, o->state, strerror(e));
		return -e;
	}
	unstall(o);
	return 0;
}

/* Someone else's bytes at the end of standard output (a file the shell
 * opened for us): never cut, only ended. */
static void stdout_tail(struct output *o, const struct stat *st)
{
	int flags = fcntl(o->fd, F_GETFL);
	off_t at = flags >= 0 && (flags & O_APPEND) ? st->st_size : lseek(o->fd, 0, SEEK_CUR);

	start_new_line(o, at);
}

static int open_file(struct output *o, const char *path)
{
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY;
	int created = 0;
	struct stat st;

	o->fd = open(path, flags);
	if (o->fd < 0 && errno == ENOENT) {
		o->fd = open(path, flags | O_CREAT | O_EXCL, 0640);
		created = o->fd >= 0;
		if (o->fd < 0 && errno == EEXIST)
			o->fd = open(path, flags);
	}
	if (o->fd < 0)
		return -errno;
	if (fstat(o->fd, &st) < 0)
		return -errno;
	o->regular = S_ISREG(st.st_mode);
	if (!o->regular)
		return 0;
	o->owned = 1;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	/* An inode number is soon reused by a new file; its birth time is not. */
	struct statx sx;
	if (statx(o->fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME)) {
		o->born_sec = sx.stx_btime.tv_sec;
		o->born_nsec = sx.stx_btime.tv_nsec;
	}

	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (asprintf(&o->state, "%s.state", base) < 0 || asprintf(&o->state_tmp, "%s.state.tmp", base) < 0)
		return -ENOMEM;
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (o->dirfd < 0)
		return -errno;
	/* A new file is durable only once its name is. */
	if (created && fsync(o->dirfd) < 0)
		return -errno;
	return take_over(o, created);
}

int output_open(struct output *o, const char *path, int sync)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->sync = sync;
	o->dirfd = o->statefd = -1;
	if (strcmp(path, "-") != 0) {
		o->name = path;
		return open_file(o, path);
	}
	o->fd = STDOUT_FILENO;
	o->name = "stdout";
	if (fstat(o->fd, &st) < 0)
		return -errno;
	o->regular = S_ISREG(st.st_mode);
	if (o->regular)
		stdout_tail(o, &st);
	return 0;
}

/* 0 when the file still ends where our last batch left it.  If another
 * program appended meanwhile, its bytes are left as they are and become
 * the new base; -1 if it cut the file shorter. */
static int still_ours(struct output *o)
{
	struct stat st;

	if (fstat(o->fd, &st) < 0)
		return 0;
	if (st.st_size == o->durable)
		return 0;
	if (st.st_size < o->durable) {
		note("%s: cut to %jd bytes by another program (vlsink-collect had synced %jd)", o->name,
		    (intmax_t)st.st_size, (intmax_t)o->durable);
	} else {
		note("%s: %jd bytes appended by another program: left as they are", o->name,
		    (intmax_t)(st.st_size - o->durable));
	}
	start_new_line(o, st.st_size);
	if (fstat(o->fd, &st) < 0)
		return -1;
	o->durable = st.st_size;
	return 0;
}

/* After a write cut short by a full disk, the file ends in part of a record.
 * Cut it back to the last whole record, so that nothing torn is ever in the
 * file, not even if we are killed while waiting; the bytes cut off are
 * written again with the rest.  Returns how much of the batch is now in the
 * file. */
static size_t cut_back(struct output *o, const char *p, size_t done)
{
	struct stat st;
	size_t keep = done;

	while (keep > 0 && p[keep - 1] != '\n')
		keep--;
	if (keep == done || fstat(o->fd, &st) < 0 || st.st_size != o->durable + (off_t)done)
		return done;
	if (ftruncate(o->fd, o->durable + (off_t)keep) < 0)
		return done;
	return keep;
}

/* Back to the size of the last synced batch, so that the batch can be
 * written again whole: after a failed sync the kernel may have dropped its
 * pages while still showing them.  0, an errno to retry on, or -1 when the
 * file is no longer ours to cut. */
static int rewind_batch(struct output *o, size_t done)
{
	struct stat st;

	if (fstat(o->fd, &st) < 0)
		return errno;
	if (st.st_size != o->durable + (off_t)done) {
		note("%s: changed by another program while writing: cannot cut it back to write the batch again",
		    o->name);
		return -1;
	}
	return ftruncate(o->fd, o->durable) < 0 ? errno : 0;
}

/* Writes p[*done, n): short writes are continued.  0, or the errno. */
static int write_rest(struct output *o, const char *p, size_t n, size_t *done)
{
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
			struct pollfd pfd = { o->fd, POLLOUT, 0 };
			stop_poll(&pfd, 1, 1000);
			continue;
		}
		return e;
	}
	return 0;
}

/* How a batch that stops at *done failed: the rest not written, what was
 * written not synced. */
static int failed(size_t n, size_t done)
{
	return (done < n ? OUTPUT_WRITE_FAILED : 0) | (done > 0 ? OUTPUT_SYNC_FAILED : 0);
}

/* Asked to stop during a stall.  Whole records of the batch that are in
 * the file after a full disk, and were never hit by a failed sync, get one
 * last sync and count if it succeeds. */
static int give_up(struct output *o, size_t n, size_t *done, int rewrite)
{
	int r = *done < n ? OUTPUT_WRITE_FAILED : 0;

	if (rewrite || *done == 0 || !o->sync)
		return failed(n, *done);
	if (fdatasync(o->fd) == 0) {
		if (o->owned)
			o->durable += (off_t)*done;
		return r;
	}
	if (o->owned && rewind_batch(o, *done) == 0)
		*done = 0;
	return failed(n, *done);
}

/* A regular file: the state first (how far this batch may reach), then the
 * batch, then the sync.  A failed sync or an I/O error on write cuts the
 * file back to the last synced size and writes the batch again from our
 * copy; only a sync that succeeds after that counts. */
static int put_file(struct output *o, const char *p, size_t n, size_t *done)
{
	int intent = !o->owned, rewrite = 0;

	if (o->owned && still_ours(o) < 0)
		return OUTPUT_WRITE_FAILED;
	for (;;) {
		const char *what = "state file";
		int e = 0;
		if (!intent && (e = state_update(o, o->durable, o->durable + (off_t)n)) == 0)
			intent = 1;
		if (!e && rewrite) {
			what = "cut back";
			e = rewind_batch(o, *done);
			if (e < 0)
				return failed(n, *done);
			if (e == 0)
				rewrite = 0, *done = 0;
		}
		if (!e && *done < n) {
			what = "write";
			if ((e = write_rest(o, p, n, done)) == EIO && o->owned)
				rewrite = 1;
			else if (space_error(e) && o->owned)
				*done = cut_back(o, p, *done);
		}
		if (!e && o->sync) {
			what = "fdatasync";
			if (fdatasync(o->fd) < 0 && (e = errno) != EINTR)
				rewrite = 1;
		}
		if (!e)
			break;
		if (e == EINTR)
			continue;
		if (!stall_error(e)) {
			note("%s: %s: %s", o->name, what, strerror(e));
			return failed(n, *done);
		}
		if (rewrite && !o->owned) {
			note("%s: %s: %s; not a file of ours, so the batch cannot be cut back and written again",
			    o->name, what, strerror(e));
			return failed(n, *done);
		}
		/* Cut back at once: a kill while waiting must not leave pages
		 * the kernel may have dropped for the next collector to keep. */
		if (rewrite) {
			int r = rewind_batch(o, *done);
			if (r < 0)
				return failed(n, *done);
			if (r == 0 && !o->stalled)
				note("%s: cut back to %jd bytes, its size when last synced: the batch of %zu bytes "
				     "is written again from memory",
				    o->name, (intmax_t)o->durable, n);
			if (r == 0)
				rewrite = 0, *done = 0;
		}
		if (stall(o, what, e) < 0)
			return give_up(o, n, done, rewrite);
	}
	if (o->owned)
		o->durable += (off_t)n;
	unstall(o);
	return OUTPUT_OK;
}

/* A pipe, FIFO, socket or terminal: written only when poll says it takes
 * more, at most PIPE_BUF bytes at a time (which a pipe with room takes
 * without blocking), so that a stop signal is seen while the reader is
 * stuck; after one, the reader gets STOP_GRACE_MS more. */
static int put_stream(struct output *o, const char *p, size_t n, size_t *done)
{
	while (*done < n) {
		struct pollfd pfd = { o->fd, POLLOUT, 0 };
		int ms = 1000;
		if (stop_requested()) {
			if (!stop_may_wait(&o->stop_deadline)) {
				o->blocked = 1;
				note("%s: took nothing for %d s after the stop signal: giving up", o->name,
				    STOP_GRACE_MS / 1000);
				return OUTPUT_WRITE_FAILED;
			}
			int64_t left = o->stop_deadline - monotonic_ms();
			ms = left < ms ? (int)left + 1 : ms;
		}
		int r = stop_poll(&pfd, 1, ms);
		if (r < 0 && errno != EINTR) {
			note("%s: poll: %s", o->name, strerror(errno));
			return OUTPUT_WRITE_FAILED;
		}
		if (r <= 0)
			continue;
		size_t k = n - *done < PIPE_BUF ? n - *done : PIPE_BUF;
		ssize_t w = write(o->fd, p + *done, k);
		if (w > 0) {
			*done += (size_t)w;
			continue;
		}
		int e = w == 0 ? EIO : errno;
		if (e == EINTR || e == EAGAIN)
			continue;
		note("%s: write: %s", o->name, strerror(e));
		return OUTPUT_WRITE_FAILED;
	}
	return OUTPUT_OK;
}

int output_append(struct output *o, const char *p, size_t n, size_t *done)
{
	*done = 0;
	if (n == 0)
		return OUTPUT_OK;
	return o->regular ? put_file(o, p, n, done) : put_stream(o, p, n, done);
}

int output_close(struct output *o)
{
	int e = 0;

	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->statefd >= 0)
		close(o->statefd);
	free(o->state);
	free(o->state_tmp);
	if (o->fd != STDOUT_FILENO && close(o->fd) < 0)
		e = -errno;
	return e;
}
