/* vlsink-collect: reads the records that the per-connection vlsink instances
 * write into the central FIFO, keeps each line that is exactly one JSON
 * object, and appends those to a file (or standard output), synced after
 * every read so that a record counted as written is on disk.  This file is
 * the wiring: options, the input, the read loop and the stop path. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/exits.h"
#include "core/linebuf.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/stop.h"
#include "intake.h"
#include "output.h"

#define DEFAULT_OUTPUT "/var/lib/vlsink/positions.jsonl"
/* vlsink writes records of a few hundred bytes in batches of at most
 * PIPE_BUF (4096) bytes; a line longer than this is not one of them. */
#define MAX_LINE OUTPUT_LINE_MAX
/* How long to wait for the rest of a partly read line when stopping.  Writers
 * put whole lines into the FIFO in one write, so the rest is normally there
 * already; only a broken writer makes this wait run out. */
#define FINISH_LINE_MS 200

struct options {
	const char *output; /* A path, or "-" for standard output. */
	int sync;           /* fdatasync() after every batch. */
};

struct collector {
	struct options opt;
	int in;
	struct output out;
	struct linebuf lb;
	struct intake intake;
	/* Counters for the summary. */
	uint64_t written, bytes_in, bytes_out;
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
			print_exit(usage_text);
		case 'V':
			print_exit("vlsink-collect " VERSION "\n");
		default:
			bad_option(argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

static int input_fd(void)
{
	const char *fds = getenv("LISTEN_FDS");

	/* The parent is accepted too: with ExecStart=/bin/sh -c 'vlsink-collect
	 * --output=- | command', LISTEN_PID names the shell. */
	switch (listen_fds(1)) {
	case LISTEN_NONE:
		return STDIN_FILENO;
	case LISTEN_BAD:
		die(EXIT_INPUT, "LISTEN_FDS=%s: expected exactly one descriptor, the FIFO (ListenFIFO=)", fds);
	case LISTEN_ONE:
		break;
	}
	struct stat st;
	if (fstat(3, &st) < 0)
		die(EXIT_INPUT, "input fd 3: %s", strerror(errno));
	if (is_listening(3))
		die(EXIT_INPUT, "input fd 3 is a listening socket: vlsink-collect reads a FIFO (ListenFIFO=)");
	return 3;
}

/* Waits up to ms (forever if negative) for the input.  1 ready, 0 timed
 * out, -1 stop requested (or poll failed, errno set). */
static int wait_input(struct collector *c, int ms)
{
	struct pollfd pfd = { c->in, POLLIN, 0 };

	if (stop_requested())
		return -1;
	int r = stop_poll(&pfd, 1, ms);
	if (r < 0 && errno == EINTR && !stop_requested())
		return 0;
	return r < 0 ? -1 : r > 0;
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
	struct intake *in = &c->intake;
	size_t done = 0;

	int r = output_append(&c->out, in->batch, in->batch_len, &done);
	if (r & OUTPUT_WRITE_FAILED)
		note("%s: %" PRIu64 " record(s) read but not written", c->out.name,
		     count_lines(in->batch + done, in->batch_len - done));
	if (r & OUTPUT_SYNC_FAILED) {
		note("%s: %" PRIu64 " record(s) written but not synced", c->out.name, count_lines(in->batch, done));
		done = 0;
	}
	c->written += r == OUTPUT_OK ? in->batch_records : count_lines(in->batch, done);
	c->bytes_out += done;
	intake_clear(in);
	return r == OUTPUT_OK ? 0 : -1;
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
		if (left <= 0 || stop_poll(&pfd, 1, (int)left) <= 0)
			return;
		char *space = linebuf_space(&c->lb, &room);
		if (room == 0 || read(c->in, space, 1) != 1)
			return;
		c->bytes_in++;
		linebuf_commit(&c->lb, 1);
		if (*space == '\n') {
			while ((ev = linebuf_next(&c->lb, &l)) != LB_NONE)
				intake_line(&c->intake, ev, &l);
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
		int r = wait_input(c, -1);
		if (r < 0) {
			if (stop_requested()) {
				c->end = "signal";
				finish_line(c);
				return deliver(c);
			}
			note("input: poll: %s", strerror(errno));
			c->end = "input-error";
			return 0;
		}
		if (r == 0)
			continue;
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
				intake_line(&c->intake, ev, &l);
			return deliver(c);
		}
		c->bytes_in += (uint64_t)n;
		linebuf_commit(&c->lb, (size_t)n);
		while ((ev = linebuf_next(&c->lb, &l)) != LB_NONE)
			intake_line(&c->intake, ev, &l);
		if (deliver(c) < 0)
			return -1;
	}
}

int main(int argc, char **argv)
{
	struct collector c;

	log_init("vlsink-collect");
	ensure_std_fds();
	memset(&c, 0, sizeof(c));
	parse_options(argc, argv, &c.opt);
	stop_init();
	c.in = input_fd();
	int e = output_open(&c.out, c.opt.output, c.opt.sync);
	if (e < 0)
		die(EXIT_CANTCREAT, "cannot open %s: %s", c.opt.output, strerror(-e));
	if (linebuf_init(&c.lb, MAX_LINE) < 0 || intake_init(&c.intake, &c.lb) < 0)
		die(EXIT_SOFTWARE, "out of memory");

	int r = run(&c);
	if (r < 0)
		c.end = c.out.blocked ? "stopped-while-blocked" : c.out.stalled ? "stopped-while-stalled" : "output-error";
	note("summary: %" PRIu64 " record(s) written, %" PRIu64 " rejected (%" PRIu64 " too long, %" PRIu64
	     " not reported), %" PRIu64 " bytes read, %" PRIu64 " bytes written, end=%s",
	     c.written, c.intake.rejected, c.intake.too_long, c.intake.limit.suppressed, c.bytes_in, c.bytes_out,
	     c.end);
	intake_free(&c.intake);
	linebuf_free(&c.lb);
	if ((e = output_close(&c.out)) < 0 && r == 0) {
		note("%s: close: %s", c.out.name, strerror(-e));
		return EXIT_OUTPUT;
	}
	if (r < 0)
		return EXIT_OUTPUT;
	return strcmp(c.end, "input-error") ? EXIT_OK : EXIT_INPUT;
}
