/* vlsink-collect: reads the records that the per-connection vlsink instances
 * write into the central FIFO, keeps each line that is exactly one JSON
 * object, and appends those to a file (or standard output), synced after
 * every read so that a record counted as written is on disk. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exits.h"
#include "json.h"
#include "linebuf.h"
#include "log.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif

#define DEFAULT_OUTPUT "/var/lib/vlsink/positions.jsonl"
/* vlsink writes records of a few hundred bytes in batches of at most
 * PIPE_BUF (4096) bytes; a line longer than this is not one of them. */
#define MAX_LINE 4000
#define SAMPLE_MAX 64
/* At most REJECT_BURST reject messages at once, then one per REJECT_REFILL_MS:
 * a stream of garbage costs the journal a few entries a minute. */
#define REJECT_BURST 10
#define REJECT_REFILL_MS 6000
#define STALL_RETRY_MS 1000
#define STALL_LOG_MS 60000
/* How long to wait for the rest of a partly read line when stopping.  Writers
 * put whole lines into the FIFO in one write, so the rest is normally there
 * already; only a broken writer makes this wait run out. */
#define FINISH_LINE_MS 200

static volatile sig_atomic_t stop_requested;
/* The signal mask to wait with: SIGTERM and SIGINT are blocked everywhere
 * else, so that they can only arrive while waiting and none is missed
 * between a check of stop_requested and a blocking call. */
static sigset_t wait_mask;

struct options {
	const char *output; /* A path, or "-" for standard output. */
	int sync;           /* fdatasync() after every batch. */
};

struct collector {
	struct options opt;
	const char *out_name;
	int in, out;
	int regular;  /* The output is a regular file: sync it. */
	int cuttable; /* ... opened for appending: a torn end can be cut off. */
	struct linebuf lb;
	char *batch; /* Valid records of the current read, each ending in LF. */
	size_t batch_len, batch_cap;
	uint64_t batch_records;
	/* Counters for the summary. */
	uint64_t lines, written, rejected, too_long, bytes_in, bytes_out, suppressed;
	/* Reject message rate limit. */
	int tokens;
	int64_t refill_at;
	uint64_t pending_suppressed;
	/* Output stall (disk full or I/O error). */
	int stalled;
	int64_t stall_since, stall_logged;
	const char *end;
};

static const char usage_text[] =
	"Usage: vlsink-collect [OPTION]...\n"
	"Read the records that vlsink instances write into the central FIFO, keep every\n"
	"line that is one JSON object, and append them to a file, synced in batches.\n"
	"\n"
	"Input is fd 3 when started with LISTEN_FDS=1 (systemd ListenFIFO=), else\n"
	"standard input.\n"
	"\n"
	"  --output=PATH|-      append to PATH, or write to standard output with -\n"
	"                       (default " DEFAULT_OUTPUT ")\n"
	"  --sync=batch|none    fdatasync the output after every read (default), or\n"
	"                       never (faster, not durable)\n"
	"  -h, --help           show this help and exit\n"
	"  -V, --version        show the version and exit\n"
	"\n"
	"Exit status: 0 end of input or SIGTERM/SIGINT, everything read written;\n"
	"64 usage error; 66 input error; 73 cannot create the output;\n"
	"74 output failure (records not written). See vlsink-collect(1).\n";

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_OUTPUT = 256, OPT_SYNC };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "sync", required_argument, NULL, OPT_SYNC },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->output = DEFAULT_OUTPUT;
	o->sync = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_OUTPUT:
			if (!optarg[0])
				usage_error("--output=: expected a path or -");
			o->output = optarg;
			break;
		case OPT_SYNC:
			if (!strcmp(optarg, "batch"))
				o->sync = 1;
			else if (!strcmp(optarg, "none"))
				o->sync = 0;
			else
				usage_error("--sync=%s: expected batch or none", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			puts("vlsink-collect " VERSION);
			exit(0);
		default:
			if (optopt)
				usage_error("unknown option -%c, or it lacks its value", optopt);
			usage_error("unknown option %s, or it lacks or has an extra value", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

/* fds 0-2 are assumed open by everything that writes to them; a closed one
 * would otherwise be handed out by the next open() and written to. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (n >= 0 && n != fd)
				close(n);
		}
	}
}

/* A decimal number without sign or junk, at most max; -1 if not one. */
static long env_number(const char *s, long max)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

static int input_fd(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	struct stat st;
	int listening = 0;
	socklen_t len = sizeof(listening);

	if (!fds)
		return STDIN_FILENO;
	/* The parent is accepted too: with ExecStart=/bin/sh -c 'vlsink-collect
	 * --output=- | command', LISTEN_PID names the shell. */
	long owner = pid ? env_number(pid, 0x7fffffff) : -1;
	if (pid && owner != (long)getpid() && owner != (long)getppid())
		return STDIN_FILENO; /* Meant for another process. */
	if (env_number(fds, 1024) != 1) {
		note("LISTEN_FDS=%s: expected exactly one descriptor, the FIFO (ListenFIFO=)", fds);
		exit(EXIT_INPUT);
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (fstat(3, &st) < 0) {
		note("input fd 3: %s", strerror(errno));
		exit(EXIT_INPUT);
	}
	if (S_ISSOCK(st.st_mode) && getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening) {
		note("input fd 3 is a listening socket: vlsink-collect reads a FIFO (ListenFIFO=)");
		exit(EXIT_INPUT);
	}
	return 3;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void setup_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A SIGTERM or SIGINT that came while the signals were blocked.  ppoll()
 * does not report one when a descriptor is ready at once, so under a steady
 * stream it would never be seen there. */
static int stop_pending(void)
{
	sigset_t p;

	if (!stop_requested && sigpending(&p) == 0 &&
	    (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1))
		stop_requested = 1;
	return stop_requested;
}

/* Waits up to ms (forever if negative) for fd to become ready for events, or
 * just sleeps when fd < 0.  1 ready, 0 timed out, -1 stop requested (or poll
 * failed, errno set). */
static int wait_fd(int fd, short events, int ms)
{
	struct pollfd pfd = { fd, events, 0 };
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	if (stop_pending())
		return -1;
	int r = ppoll(fd < 0 ? NULL : &pfd, fd < 0 ? 0 : 1, ms < 0 ? NULL : &ts, &wait_mask);
	if (r < 0 && errno == EINTR && !stop_requested)
		return 0;
	return r < 0 ? -1 : r > 0;
}

/* At most SAMPLE_MAX bytes of the line, printable ASCII as is, '"' and '\'
 * and anything else escaped, so that a sample is safe in any log. */
static void sample(char *dst, size_t cap, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0, m = n < SAMPLE_MAX ? n : SAMPLE_MAX;

	for (size_t i = 0; i < m && k + 8 < cap; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '"' || ch == '\\') {
			dst[k++] = '\\';
			dst[k++] = (char)ch;
		} else if (ch >= 0x20 && ch < 0x7f) {
			dst[k++] = (char)ch;
		} else {
			dst[k++] = '\\';
			dst[k++] = 'x';
			dst[k++] = hex[ch >> 4];
			dst[k++] = hex[ch & 15];
		}
	}
	if (m < n) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = '\0';
}

/* A kill can cut a write to a file short, and so leave part of a record at
 * the end of the output.  Cut that off before appending, or the next record
 * would be glued to it: it belongs to a batch never counted as written.
 * Such a part is at most MAX_LINE bytes; anything else is left alone. */
static void repair_tail(struct collector *c, const struct stat *st)
{
	char path[64], tail[MAX_LINE + 1], s[SAMPLE_MAX * 4 + 8];
	struct stat rst;

	if (st->st_size == 0)
		return;
	/* Our descriptor is write-only: read through another one, to the same
	 * file (checked below). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->out);
	int fd = open(c->out == STDOUT_FILENO ? path : c->opt.output, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
		    c->out_name, MAX_LINE);
		if (write(c->out, "\n", 1) != 1)
			note("%s: write: %s", c->out_name, strerror(errno));
		return;
	}
	size_t cut = lf ? len - (size_t)(lf + 1 - tail) : len;
	sample(s, sizeof(s), tail + len - cut, cut);
	if (ftruncate(c->out, st->st_size - (off_t)cut) < 0) {
		note("%s: cannot cut off the partial record at its end: %s", c->out_name, strerror(errno));
		return;
	}
	note("%s: cut off a partial record of %zu bytes at its end, left by a collector killed while "
	    "writing: \"%s\"",
	    c->out_name, cut, s);
}

static void open_output(struct collector *c)
{
	struct stat st;

	if (!strcmp(c->opt.output, "-")) {
		c->out = STDOUT_FILENO;
		c->out_name = "stdout";
	} else {
		c->out = open(c->opt.output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		c->out_name = c->opt.output;
		if (c->out < 0) {
			note("cannot open %s: %s", c->opt.output, strerror(errno));
			exit(EXIT_CANTCREAT);
		}
	}
	if (fstat(c->out, &st) < 0) {
		note("%s: %s", c->out_name, strerror(errno));
		exit(EXIT_CANTCREAT);
	}
	c->regular = S_ISREG(st.st_mode);
	int flags = fcntl(c->out, F_GETFL);
	c->cuttable = c->regular && flags >= 0 && (flags & O_APPEND);
	if (c->cuttable)
		repair_tail(c, &st);
}

static void reject(struct collector *c, const char *why, size_t at, const struct lb_line *l)
{
	char s[SAMPLE_MAX * 4 + 8], where[48] = "", more[64] = "";

	c->rejected++;
	int64_t now = monotonic_ms();
	if (c->tokens < REJECT_BURST && now >= c->refill_at) {
		c->tokens++;
		c->refill_at = now + REJECT_REFILL_MS;
	}
	if (c->tokens == 0) {
		c->suppressed++;
		c->pending_suppressed++;
		return;
	}
	c->tokens--;
	sample(s, sizeof(s), l->p, l->n);
	if (at != (size_t)-1)
		snprintf(where, sizeof(where), " at byte %zu", at);
	if (c->pending_suppressed)
		snprintf(more, sizeof(more), " (%" PRIu64 " more suppressed)", c->pending_suppressed);
	note("line %" PRIu64 " rejected (%s%s): \"%s\"%s", c->lines, why, where, s, more);
	c->pending_suppressed = 0;
}

static void handle(struct collector *c, enum lb_event ev, const struct lb_line *l)
{
	size_t at;

	c->lines++;
	if (ev == LB_TOO_LONG) {
		c->too_long++;
		reject(c, "too-long", (size_t)-1, l);
		return;
	}
	/* LB_CONTROL lines go to the validator too: it knows that a tab may
	 * separate tokens and that NUL and raw control bytes may not appear. */
	enum json_err e = json_check_object(l->p, l->n, &at);
	if (e != JSON_OK) {
		reject(c, json_reason(e), at, l);
		return;
	}
	/* The batch holds no more than the read buffer it comes from. */
	if (c->batch_len + l->n + 1 > c->batch_cap) {
		note("internal error: batch overflow");
		abort();
	}
	memcpy(c->batch + c->batch_len, l->p, l->n);
	c->batch_len += l->n;
	c->batch[c->batch_len++] = '\n';
	c->batch_records++;
}

static int stall_error(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG;
}

/* One retry interval of an output stall.  Says so the first time and then
 * once a minute; -1 when asked to stop meanwhile. */
static int stall(struct collector *c, const char *what, int e)
{
	int64_t now = monotonic_ms();

	if (!c->stalled) {
		c->stalled = 1;
		c->stall_since = c->stall_logged = now;
		note("%s: %s: %s; input paused, retrying every second", c->out_name, what, strerror(e));
	} else if (now - c->stall_logged >= STALL_LOG_MS) {
		c->stall_logged = now;
		note("%s: %s: %s; input paused for %" PRId64 " s, still retrying", c->out_name, what,
		    strerror(e), (now - c->stall_since) / 1000);
	}
	return wait_fd(-1, 0, STALL_RETRY_MS) < 0 ? -1 : 0;
}

static void unstall(struct collector *c)
{
	if (!c->stalled)
		return;
	c->stalled = 0;
	note("%s: writable again after %" PRId64 " s, input resumed", c->out_name,
	    (monotonic_ms() - c->stall_since) / 1000);
}

/* After a write cut short by a full disk, the file ends in part of a record.
 * Cut it back to the last whole record, so that nothing torn is ever in the
 * file, not even if we are killed while waiting; the bytes cut off are
 * written again with the rest, so each still lands exactly once.  Not done
 * if someone else has changed the file's size meanwhile.  Returns how much
 * of the batch is now in the file. */
static size_t cut_back(struct collector *c, const char *p, size_t done, off_t base)
{
	struct stat st;
	size_t keep = done;

	if (!c->cuttable || base < 0)
		return done;
	while (keep > 0 && p[keep - 1] != '\n')
		keep--;
	if (keep == done || fstat(c->out, &st) < 0 || st.st_size != base + (off_t)done)
		return done;
	if (ftruncate(c->out, base + (off_t)keep) < 0)
		return done;
	return keep;
}

/* Writes p[0, n) whole: short writes are continued where they stopped, and
 * on a full disk the rest waits (and so does the input) until it fits. */
static int write_all(struct collector *c, const char *p, size_t n, size_t *done)
{
	off_t base = c->cuttable ? lseek(c->out, 0, SEEK_END) : -1;

	*done = 0;
	while (*done < n) {
		ssize_t w = write(c->out, p + *done, n - *done);
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
			struct pollfd pfd = { c->out, POLLOUT, 0 };
			poll(&pfd, 1, 1000);
			continue;
		}
		if (!stall_error(e)) {
			note("%s: write: %s", c->out_name, strerror(e));
			return -1;
		}
		*done = cut_back(c, p, *done, base);
		if (stall(c, "write", e) < 0)
			return -1;
	}
	return 0;
}

static int sync_output(struct collector *c)
{
	while (fdatasync(c->out) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (!stall_error(e)) {
			note("%s: fdatasync: %s", c->out_name, strerror(e));
			return -1;
		}
		if (stall(c, "fdatasync", e) < 0)
			return -1;
	}
	return 0;
}

static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t k = 0;
	const char *end = p + n;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

/* Writes and syncs the batch; only then are its records counted as written.
 * On failure, says how many were not. */
static int deliver(struct collector *c)
{
	size_t done = 0;
	int r = 0;

	if (c->batch_len == 0)
		return 0;
	if (write_all(c, c->batch, c->batch_len, &done) < 0) {
		note("%s: %" PRIu64 " record(s) read but not written", c->out_name,
		    count_lines(c->batch + done, c->batch_len - done));
		r = -1;
	}
	/* After a failed write, one last try to make durable what did get
	 * written: only what is on disk counts. */
	if (done > 0 && c->regular && c->opt.sync && (r == 0 ? sync_output(c) : fdatasync(c->out)) < 0) {
		note("%s: %" PRIu64 " record(s) written but not synced", c->out_name, count_lines(c->batch, done));
		r = -1;
		done = 0;
	}
	if (r == 0)
		unstall(c);
	c->written += r == 0 ? c->batch_records : count_lines(c->batch, done);
	c->bytes_out += done;
	c->batch_len = 0;
	c->batch_records = 0;
	return r;
}

/* Stopping with part of a line read: a writer put that whole line into the
 * FIFO in one write, so its rest is there.  Take just that rest, a byte at a
 * time so that nothing after it leaves the FIFO: the next collector then
 * starts at a line boundary and no record is cut in two. */
static void finish_line(struct collector *c)
{
	int64_t deadline = monotonic_ms() + FINISH_LINE_MS;
	struct lb_line l;
	enum lb_event ev;

	while (linebuf_pending(&c->lb) > 0) {
		int64_t left = deadline - monotonic_ms();
		struct pollfd pfd = { c->in, POLLIN, 0 };
		size_t room;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		char *space = linebuf_space(&c->lb, &room);
		if (room == 0 || read(c->in, space, 1) != 1)
			return;
		c->bytes_in++;
		linebuf_commit(&c->lb, 1);
		if (*space == '\n') {
			while ((ev = linebuf_next(&c->lb, &l)) != LB_NONE)
				handle(c, ev, &l);
			return;
		}
	}
}

/* The main loop: one read, its lines checked, the valid ones written and
 * synced, and only then the next read.  So what a kill can lose is what one
 * read brought in plus a partial line before it: the linebuf capacity. */
static int run(struct collector *c)
{
	struct lb_line l;
	enum lb_event ev;

	for (;;) {
		int r = wait_fd(c->in, POLLIN, -1);
		if (r < 0) {
			if (stop_requested) {
				c->end = "signal";
				finish_line(c);
				return deliver(c);
			}
			note("input: poll: %s", strerror(errno));
			c->end = "input-error";
			return 0;
		}
		size_t room;
		char *space = linebuf_space(&c->lb, &room);
		ssize_t n = read(c->in, space, room);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			note("input: read: %s", strerror(errno));
			c->end = "input-error";
			return 0;
		}
		if (n == 0) {
			c->end = "eof";
			if ((ev = linebuf_finish(&c->lb, &l)) != LB_NONE)
				handle(c, ev, &l);
			return deliver(c);
		}
		c->bytes_in += (uint64_t)n;
		linebuf_commit(&c->lb, (size_t)n);
		while ((ev = linebuf_next(&c->lb, &l)) != LB_NONE)
			handle(c, ev, &l);
		if (deliver(c) < 0)
			return -1;
	}
}

int main(int argc, char **argv)
{
	struct collector c;

	program_name = "vlsink-collect";
	ensure_std_fds();
	memset(&c, 0, sizeof(c));
	parse_options(argc, argv, &c.opt);
	setup_signals();
	c.in = input_fd();
	open_output(&c);
	c.tokens = REJECT_BURST;
	c.refill_at = monotonic_ms() + REJECT_REFILL_MS;
	if (linebuf_init(&c.lb, MAX_LINE) < 0) {
		note("out of memory");
		return EXIT_SOFTWARE;
	}
	c.batch_cap = c.lb.cap + 1;
	c.batch = malloc(c.batch_cap);
	if (!c.batch) {
		note("out of memory");
		return EXIT_SOFTWARE;
	}

	int r = run(&c);
	if (r < 0)
		c.end = c.stalled ? "stopped-while-stalled" : "output-error";
	note("summary: %" PRIu64 " record(s) written, %" PRIu64 " rejected (%" PRIu64 " too long, %" PRIu64
	    " not reported), %" PRIu64 " bytes read, %" PRIu64 " bytes written, end=%s",
	    c.written, c.rejected, c.too_long, c.suppressed, c.bytes_in, c.bytes_out, c.end);
	free(c.batch);
	linebuf_free(&c.lb);
	if (c.out != STDOUT_FILENO && close(c.out) < 0 && r == 0) {
		note("%s: close: %s", c.out_name, strerror(errno));
		return EXIT_OUTPUT;
	}
	if (r < 0)
		return EXIT_OUTPUT;
	return strcmp(c.end, "input-error") ? 0 : EXIT_INPUT;
}
