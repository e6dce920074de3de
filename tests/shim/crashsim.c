/* crashsim.so: an LD_PRELOAD shim for the crash-consistency test in
 * tests/faults.bats.  It logs, in order, every call that changes what a disk
 * could hold after a power cut, for files in one directory: opens that may
 * create or truncate, writes (with their offset and bytes), ftruncate,
 * fsync/fdatasync (of files and of the directory), rename and unlink; and
 * the reads of standard input and the writes to standard error, from which
 * tests/crashcheck.py tells what the program had counted as durable.
 *
 * Build:  cc -shared -fPIC -O2 -o crashsim.so crashsim.c -ldl
 *
 *   CRASH_DIR=D        the directory watched (canonical path; required)
 *   CRASH_LOG=PATH     the log, one event per line, bytes in hex
 *   CRASH_EIO_PATH=P   fdatasync/fsync of the file named P fails with EIO ...
 *   CRASH_EIO_AT=N     ... on its Nth call (not passed to the kernel), the way
 *                      a writeback error is reported once
 *
 * Single-threaded programs only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_open_2)(const char *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_rename)(const char *, const char *);
static int (*real_unlinkat)(int, const char *, int);

static int inited, logfd = -1;
static const char *dir, *eio_path;
static long eio_at, sync_calls;

static void init(void)
{
	if (inited)
		return;
	inited = 1;
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	real_open_2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open_2");
	real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_renameat = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
	real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	real_unlinkat = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	dir = getenv("CRASH_DIR");
	eio_path = getenv("CRASH_EIO_PATH");
	eio_at = getenv("CRASH_EIO_AT") ? strtol(getenv("CRASH_EIO_AT"), NULL, 10) : 0;
	const char *log = getenv("CRASH_LOG");
	if (log) {
		int fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		/* Far from the program's own descriptors. */
		logfd = fcntl(fd, F_DUPFD_CLOEXEC, 900);
		close(fd);
	}
}

/* The path of fd now (after a rename, its new name), if in the directory. */
static int watched(int fd, char *path, size_t cap)
{
	char link[64];

	if (!dir || fd < 0 || fd == logfd)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, cap - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	size_t d = strlen(dir);
	return !strncmp(path, dir, d) && (path[d] == '\0' || path[d] == '/');
}

/* One event: words, then optionally bytes in hex.  Written whole. */
static void event(const char *words, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t wl = strlen(words), cap = wl + 2 * len + 3;

	if (logfd < 0)
		return;
	char *line = malloc(cap);
	if (!line)
		return;
	memcpy(line, words, wl);
	size_t n = wl;
	if (data) {
		line[n++] = ' ';
		for (size_t i = 0; i < len; i++) {
			line[n++] = hex[((const unsigned char *)data)[i] >> 4];
			line[n++] = hex[((const unsigned char *)data)[i] & 15];
		}
	}
	line[n++] = '\n';
	int saved = errno;
	ssize_t w = real_write(logfd, line, n);
	(void)w;
	errno = saved;
	free(line);
}

static void path_at(int dirfd, const char *name, char *out, size_t cap)
{
	char d[PATH_MAX];

	if (name[0] == '/' || dirfd == AT_FDCWD || !watched(dirfd, d, sizeof(d))) {
		if (name[0] == '/' || !getcwd(d, sizeof(d)))
			snprintf(out, cap, "%s", name);
		else
			snprintf(out, cap, "%s/%s", d, name);
		return;
	}
	snprintf(out, cap, "%s/%s", d, name);
}

static int opened(int fd, int flags)
{
	char path[PATH_MAX], words[PATH_MAX + 64];

	if (fd >= 0 && watched(fd, path, sizeof(path))) {
		snprintf(words, sizeof(words), "open %s %s%s", path, flags & O_CREAT ? "c" : "-",
		    flags & O_TRUNC ? "t" : "-");
		event(words, NULL, 0);
	}
	return fd;
}

int open(const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	init();
	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return opened(real_open(p, flags, mode), flags);
}

int __open_2(const char *p, int flags)
{
	init();
	return opened(real_open_2(p, flags), flags);
}

int openat(int dirfd, const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	init();
	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return opened(real_openat(dirfd, p, flags, mode), flags);
}

static void wrote(int fd, off_t at, const void *buf, ssize_t w)
{
	char path[PATH_MAX], words[PATH_MAX + 64];

	if (w > 0 && watched(fd, path, sizeof(path))) {
		snprintf(words, sizeof(words), "write %s %jd", path, (intmax_t)at);
		event(words, buf, (size_t)w);
	}
}

ssize_t read(int fd, void *buf, size_t size)
{
	char words[64];

	init();
	if (fd != 0)
		return real_read(fd, buf, size);
	event("read-start", NULL, 0);
	ssize_t n = real_read(fd, buf, size);
	snprintf(words, sizeof(words), "read %zd", n);
	event(words, n > 0 ? buf : NULL, n > 0 ? (size_t)n : 0);
	return n;
}

ssize_t write(int fd, const void *buf, size_t size)
{
	char path[PATH_MAX];
	struct stat st;
	off_t at = -1;

	init();
	if (fd == 2) {
		ssize_t w = real_write(fd, buf, size);
		event("stderr", buf, size);
		return w;
	}
	if (watched(fd, path, sizeof(path))) {
		int fl = fcntl(fd, F_GETFL);
		at = fl >= 0 && (fl & O_APPEND) && fstat(fd, &st) == 0 ? st.st_size : lseek(fd, 0, SEEK_CUR);
	}
	ssize_t w = real_write(fd, buf, size);
	if (at >= 0)
		wrote(fd, at, buf, w);
	return w;
}

ssize_t pwrite(int fd, const void *buf, size_t size, off_t at)
{
	init();
	ssize_t w = real_pwrite(fd, buf, size, at);
	wrote(fd, at, buf, w);
	return w;
}

int ftruncate(int fd, off_t len)
{
	char path[PATH_MAX], words[PATH_MAX + 64];

	init();
	int r = real_ftruncate(fd, len);
	if (r == 0 && watched(fd, path, sizeof(path))) {
		snprintf(words, sizeof(words), "truncate %s %jd", path, (intmax_t)len);
		event(words, NULL, 0);
	}
	return r;
}

static int synced(int fd, int (*real)(int))
{
	char path[PATH_MAX], words[PATH_MAX + 64];

	init();
	if (!watched(fd, path, sizeof(path)))
		return real(fd);
	if (eio_path && !strcmp(path, eio_path) && ++sync_calls == eio_at) {
		snprintf(words, sizeof(words), "sync %s EIO", path);
		event(words, NULL, 0);
		errno = EIO;
		return -1;
	}
	int r = real(fd);
	snprintf(words, sizeof(words), "sync %s %s", path, r == 0 ? "ok" : "failed");
	event(words, NULL, 0);
	return r;
}

int fsync(int fd)
{
	init();
	return synced(fd, real_fsync);
}

int fdatasync(int fd)
{
	init();
	return synced(fd, real_fdatasync);
}

int renameat(int olddir, const char *old, int newdir, const char *new)
{
	char a[2 * PATH_MAX], b[2 * PATH_MAX], words[4 * PATH_MAX + 16];

	init();
	path_at(olddir, old, a, sizeof(a));
	path_at(newdir, new, b, sizeof(b));
	int r = real_renameat(olddir, old, newdir, new);
	if (r == 0) {
		snprintf(words, sizeof(words), "rename %s %s", a, b);
		event(words, NULL, 0);
	}
	return r;
}

int rename(const char *old, const char *new)
{
	init();
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

int unlinkat(int dirfd, const char *name, int flags)
{
	char a[2 * PATH_MAX], words[2 * PATH_MAX + 16];

	init();
	path_at(dirfd, name, a, sizeof(a));
	int r = real_unlinkat(dirfd, name, flags);
	if (r == 0) {
		snprintf(words, sizeof(words), "unlink %s", a);
		event(words, NULL, 0);
	}
	return r;
}

int unlink(const char *name)
{
	return unlinkat(AT_FDCWD, name, 0);
}
