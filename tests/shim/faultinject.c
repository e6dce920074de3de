/* faultinject.so: an LD_PRELOAD shim for tests/faults.bats that makes write(),
 * writev(), fdatasync() and fsync() on one descriptor fail (or write short)
 * the way a full disk, a flaky device or a signal would, so that the tests
 * can check what vlsink and vlsink-collect do about it.
 *
 * Build:  cc -shared -fPIC -O2 -o faultinject.so faultinject.c -ldl
 *
 * Which descriptor (one of the two is required; without, nothing is faulted):
 *   FAULT_WRITE_FD=N       descriptor number N
 *   FAULT_WRITE_PATH=P     any descriptor whose /proc/self/fd link is P
 *                          (survives a close and reopen, as vlsink does with
 *                          its FIFO after EPIPE; P must be canonical)
 *
 * What write() and writev() on it do (calls are counted from 1):
 *   FAULT_WRITE_ERRNO=E    fail with E (a name: EIO, ENOSPC, EAGAIN, EINTR,
 *                          EPIPE, EDQUOT, EFBIG, EPERM, EBADF; or a number)
 *   FAULT_WRITE_SHORT=K    instead of failing, really write only K bytes
 *                          (at most size-1; "half" for half), return that
 *   FAULT_WRITE_SEQ=A,B,.. instead of the two above, one action per faulted
 *                          call in turn: an errno name or "short:K"/"short:half"
 *                          or "pass"; the list then starts over
 *   FAULT_WRITE_AFTER=N    the first faulted call is call N (default 1)
 *   FAULT_WRITE_EVERY=M    from there, fault only every Mth call (default 1)
 *   FAULT_WRITE_TIMES=K    fault K calls in all, then pass (default: no end)
 *
 * What fdatasync() and fsync() on it do, likewise:
 *   FAULT_SYNC_ERRNO=E  FAULT_SYNC_AFTER=N  FAULT_SYNC_TIMES=K
 *
 * What sendmsg() does, on any socket, to a message that carries no
 * descriptor nor credentials (no control data) and at least
 * FAULT_SENDMSG_MIN bytes (default 1), as a full socket buffer would:
 *   FAULT_SENDMSG_ERRNO=E  FAULT_SENDMSG_AFTER=N  FAULT_SENDMSG_TIMES=K
 * (libsystemd then passes the entry as a memfd, in a message with
 * control data, which passes).
 *
 * FAULT_LOG=PATH: one line per faulted call is appended to PATH ("write fd=1
 * size=4096 -> EIO", "write fd=1 size=4096 -> short 1000"), opened when the
 * shim is loaded, on a descriptor far above the program's own (512 or up),
 * so that none of the program's is taken or renumbered.
 *
 * Both the log and FAULT_WRITE_PATH (by device and inode, when it exists at
 * load time) are settled before the program starts, so that a program that
 * confines itself later (vlsink's sandbox refuses open and readlink) can be
 * faulted all the same.
 *
 * A write of 0 bytes is never faulted.  Everything else passes to libc.
 * Single-threaded programs only (as both of ours are). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_ACTIONS 32

enum { A_PASS, A_ERRNO, A_SHORT };

struct action {
	int kind;
	int err;      /* A_ERRNO */
	long len;     /* A_SHORT: bytes, or -1 for half */
};

struct rule {
	struct action act[MAX_ACTIONS];
	int nact;
	long after, every, times;
	long calls, faulted;
};

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static long sendmsg_min;

static int inited;
static int match_fd = -1;
static const char *match_path;
static const char *log_path;
static struct rule wr, sy, sm;

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "EIO", EIO },       { "ENOSPC", ENOSPC }, { "EAGAIN", EAGAIN }, { "EWOULDBLOCK", EWOULDBLOCK },
	{ "EINTR", EINTR },   { "EPIPE", EPIPE },   { "EDQUOT", EDQUOT }, { "EFBIG", EFBIG },
	{ "EPERM", EPERM },   { "EBADF", EBADF },   { "EINVAL", EINVAL }, { "ECONNRESET", ECONNRESET },
	{ "EROFS", EROFS },   { "ENXIO", ENXIO },   { "EMSGSIZE", EMSGSIZE }, { "ENOBUFS", ENOBUFS },
};

static const char *errno_name(int e)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return "E?";
}

static int parse_errno(const char *s)
{
	char *end;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(s, errnos[i].name))
			return errnos[i].value;
	long v = strtol(s, &end, 10);
	if (*s && !*end && v > 0 && v < 4096)
		return (int)v;
	fprintf(stderr, "faultinject: unknown errno '%s'\n", s);
	abort();
}

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;

	if (!s || !*s)
		return dflt;
	long v = strtol(s, &end, 10);
	if (*end) {
		fprintf(stderr, "faultinject: %s=%s is not a number\n", name, s);
		abort();
	}
	return v;
}

static void parse_action(struct action *a, const char *s, size_t n)
{
	char buf[64];

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!strcmp(buf, "pass")) {
		a->kind = A_PASS;
	} else if (!strncmp(buf, "short:", 6)) {
		a->kind = A_SHORT;
		a->len = !strcmp(buf + 6, "half") ? -1 : strtol(buf + 6, NULL, 10);
	} else {
		a->kind = A_ERRNO;
		a->err = parse_errno(buf);
	}
}

static void parse_rule(struct rule *r, const char *prefix)
{
	char name[64];
	const char *seq, *e, *sh;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "%s_SEQ", prefix);
	seq = getenv(name);
	snprintf(name, sizeof(name), "%s_ERRNO", prefix);
	e = getenv(name);
	snprintf(name, sizeof(name), "%s_SHORT", prefix);
	sh = getenv(name);
	if (seq && *seq) {
		while (*seq && r->nact < MAX_ACTIONS) {
			size_t n = strcspn(seq, ",");
			parse_action(&r->act[r->nact++], seq, n);
			seq += n;
			if (*seq == ',')
				seq++;
		}
	} else if (sh && *sh) {
		r->act[0].kind = A_SHORT;
		r->act[0].len = !strcmp(sh, "half") ? -1 : strtol(sh, NULL, 10);
		r->nact = 1;
	} else if (e && *e) {
		r->act[0].kind = A_ERRNO;
		r->act[0].err = parse_errno(e);
		r->nact = 1;
	}
	snprintf(name, sizeof(name), "%s_AFTER", prefix);
	r->after = env_long(name, 1);
	snprintf(name, sizeof(name), "%s_EVERY", prefix);
	r->every = env_long(name, 1);
	snprintf(name, sizeof(name), "%s_TIMES", prefix);
	r->times = env_long(name, -1);
	if (r->every < 1)
		r->every = 1;
}

static int log_fd = -1;
static int match_known;
static struct stat match_st;

__attribute__((constructor)) static void init(void)
{
	if (inited)
		return;
	inited = 1;
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_sendmsg = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	match_fd = (int)env_long("FAULT_WRITE_FD", -1);
	match_path = getenv("FAULT_WRITE_PATH");
	if (match_path && !*match_path)
		match_path = NULL;
	log_path = getenv("FAULT_LOG");
	if (log_path) {
		int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0) {
			log_fd = fcntl(fd, F_DUPFD_CLOEXEC, 512);
			close(fd);
		}
	}
	if (match_path && stat(match_path, &match_st) == 0)
		match_known = 1;
	parse_rule(&wr, "FAULT_WRITE");
	parse_rule(&sy, "FAULT_SYNC");
	parse_rule(&sm, "FAULT_SENDMSG");
	sendmsg_min = env_long("FAULT_SENDMSG_MIN", 1);
}

static int fd_matches(int fd)
{
	if (fd == match_fd)
		return 1;
	if (match_known) {
		struct stat st;
		return fstat(fd, &st) == 0 && st.st_dev == match_st.st_dev && st.st_ino == match_st.st_ino;
	}
	if (match_path) {
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			return !strcmp(target, match_path);
		}
	}
	return 0;
}

/* The action for this call on a matching descriptor, or NULL to pass. */
static const struct action *next_action(struct rule *r)
{
	if (r->nact == 0)
		return NULL;
	long k = ++r->calls;
	if (k < r->after || (k - r->after) % r->every != 0)
		return NULL;
	if (r->times >= 0 && r->faulted >= r->times)
		return NULL;
	const struct action *a = &r->act[r->faulted % r->nact];
	r->faulted++;
	return a->kind == A_PASS ? NULL : a;
}

static void log_fault(const char *what, int fd, size_t size, const char *result, long n)
{
	char line[160];

	if (log_fd < 0)
		return;
	int len = snprintf(line, sizeof(line), "%s fd=%d size=%zu -> %s", what, fd, size, result);
	if (n >= 0 && len > 0 && (size_t)len < sizeof(line))
		len += snprintf(line + len, sizeof(line) - (size_t)len, " %ld", n);
	if (len < 0 || (size_t)len >= sizeof(line) - 1)
		return;
	line[len++] = '\n';
	int saved = errno;
	ssize_t w = real_write(log_fd, line, (size_t)len);
	(void)w;
	errno = saved;
}

static size_t short_len(const struct action *a, size_t size)
{
	size_t k = a->len < 0 ? size / 2 : (size_t)a->len;
	if (k >= size)
		k = size - 1;
	if (k == 0)
		k = 1; /* size >= 2 here */
	return k;
}

ssize_t write(int fd, const void *buf, size_t size)
{
	init();
	if (size == 0 || !fd_matches(fd))
		return real_write(fd, buf, size);
	const struct action *a = next_action(&wr);
	if (!a || (a->kind == A_SHORT && size < 2))
		return real_write(fd, buf, size);
	if (a->kind == A_ERRNO) {
		log_fault("write", fd, size, errno_name(a->err), -1);
		errno = a->err;
		return -1;
	}
	size_t k = short_len(a, size);
	ssize_t w = real_write(fd, buf, k);
	log_fault("write", fd, size, "short", (long)w);
	return w;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	size_t size = 0;

	init();
	for (int i = 0; i < iovcnt; i++)
		size += iov[i].iov_len;
	if (size == 0 || !fd_matches(fd))
		return real_writev(fd, iov, iovcnt);
	const struct action *a = next_action(&wr);
	if (!a || (a->kind == A_SHORT && size < 2))
		return real_writev(fd, iov, iovcnt);
	if (a->kind == A_ERRNO) {
		log_fault("writev", fd, size, errno_name(a->err), -1);
		errno = a->err;
		return -1;
	}
	/* A short writev: the same vector, cut after k bytes. */
	struct iovec cut[64];
	size_t k = short_len(a, size), left = k;
	int n = 0;
	for (int i = 0; i < iovcnt && left > 0 && n < 64; i++, n++) {
		cut[n] = iov[i];
		if (cut[n].iov_len > left)
			cut[n].iov_len = left;
		left -= cut[n].iov_len;
	}
	ssize_t w = real_writev(fd, cut, n);
	log_fault("writev", fd, size, "short", (long)w);
	return w;
}

static int sync_fault(const char *what, int fd, int (*real)(int))
{
	init();
	if (!fd_matches(fd))
		return real(fd);
	const struct action *a = next_action(&sy);
	if (!a || a->kind != A_ERRNO)
		return real(fd);
	log_fault(what, fd, 0, errno_name(a->err), -1);
	errno = a->err;
	return -1;
}

int fdatasync(int fd)
{
	init();
	return sync_fault("fdatasync", fd, real_fdatasync);
}

int fsync(int fd)
{
	init();
	return sync_fault("fsync", fd, real_fsync);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	size_t size = 0;

	init();
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		size += msg->msg_iov[i].iov_len;
	if (msg->msg_controllen > 0 || size < (size_t)sendmsg_min)
		return real_sendmsg(fd, msg, flags);
	const struct action *a = next_action(&sm);
	if (!a || a->kind != A_ERRNO)
		return real_sendmsg(fd, msg, flags);
	log_fault("sendmsg", fd, size, errno_name(a->err), -1);
	errno = a->err;
	return -1;
}
