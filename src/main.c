/* vlsink: reads one connection line by line, turns every line that carries a
 * position into a record, and hands the records to one sink.  This file is
 * the wiring: options, the input descriptor, the read loop, the counters and
 * the exit status. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
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
#include "linebuf.h"
#include "log.h"
#include "parse.h"
#include "scan.h"
#include "sink.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif

#define MAX_LINE_DEFAULT 1024
#define MAX_LINE_MIN 64
#define MAX_LINE_LIMIT 4000 /* A raw record must fit in one PIPE_BUF write. */
#define IDLE_DEFAULT 300
#define IDLE_LIMIT 86400
/* At most REJECT_BURST reject messages at once, then one per REJECT_REFILL_MS:
 * a stream of garbage costs the journal a few entries a minute. */
#define REJECT_BURST 10
#define REJECT_REFILL_MS 6000

volatile sig_atomic_t stop_requested;

struct options {
	struct sink sink;
	enum checksum_mode checksum;
	size_t max_line;
	const char *vehicle;
	int have_date;
	int64_t date_days;
	int idle_timeout; /* Seconds; 0 when not applied. */
	int idle_given;
};

struct conn {
	struct options *opt;
	struct sink *sink;
	struct session session;
	struct peer peer;
	struct tally t;
	char ident[VEHICLE_MAX + 1];
	const char *vehicle; /* For records without an id of their own. */
	int tokens;
	int64_t refill_at;
	uint64_t pending_suppressed;
	uint64_t undelivered; /* Records parsed after the sink failed. */
	int failed;
};

static const char usage_text[] =
	"Usage: vlsink [OPTION]...\n"
	"Read vehicle positions (NMEA 0183 RMC/GGA/GLL, gpsd TPV JSON, CSV) from one\n"
	"connection, one line at a time, and write a record for every position.\n"
	"\n"
	"Input is standard input, or fd 3 when started with LISTEN_FDS=1 (systemd\n"
	"Accept=yes, systemd-socket-activate --accept).\n"
	"\n"
	"  --sink=SINK          journal, stdout or fifo:PATH (default stdout)\n"
	"  --format=FORMAT      json, csv or raw, for stdout and fifo (default json)\n"
	"  --checksum=MODE      NMEA checksums: strict, lenient or off (default lenient)\n"
	"  --max-line=BYTES     longest line accepted, 64-4000 (default 1024)\n"
	"  --vehicle=ID         vehicle id when the stream does not name one\n"
	"  --date=YYYY-MM-DD    date of GGA/GLL sentences before the first RMC\n"
	"                       (default: today, UTC)\n"
	"  --idle-timeout=SECS  close a connection that completes no line for SECS,\n"
	"                       1-86400 (default 300 on sockets, none on pipes/files)\n"
	"  -h, --help           show this help and exit\n"
	"  -V, --version        show the version and exit\n"
	"\n"
	"Exit status: 0 stream ended and every record delivered; 64 usage error;\n"
	"66 input error; 70 internal error; 74 sink failure (records not delivered).\n"
	"See vlsink(1).\n";

static int number_arg(const char *name, const char *v, int lo, int hi)
{
	unsigned n;

	if (scan_uint(v, strlen(v), (unsigned)hi, &n) || (int)n < lo)
		usage_error("--%s=%s: expected a number from %d to %d", name, v, lo, hi);
	return (int)n;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { O_SINK = 256, O_FORMAT, O_CHECKSUM, O_MAX_LINE, O_VEHICLE, O_DATE, O_IDLE };
	static const struct option longopts[] = {
		{ "sink", required_argument, NULL, O_SINK },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "checksum", required_argument, NULL, O_CHECKSUM },
		{ "max-line", required_argument, NULL, O_MAX_LINE },
		{ "vehicle", required_argument, NULL, O_VEHICLE },
		{ "date", required_argument, NULL, O_DATE },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, format_given = 0;
	unsigned y, m, d;
	char id[VEHICLE_MAX + 1];

	memset(o, 0, sizeof(*o));
	o->sink.kind = SINK_STDOUT;
	o->sink.format = OUT_JSON;
	o->checksum = CK_LENIENT;
	o->max_line = MAX_LINE_DEFAULT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case O_SINK:
			if (!strcmp(optarg, "journal")) {
				o->sink.kind = SINK_JOURNAL;
			} else if (!strcmp(optarg, "stdout")) {
				o->sink.kind = SINK_STDOUT;
			} else if (!strncmp(optarg, "fifo:", 5) && optarg[5]) {
				o->sink.kind = SINK_FIFO;
				o->sink.path = optarg + 5;
			} else {
				usage_error("--sink=%s: expected journal, stdout or fifo:PATH", optarg);
			}
			break;
		case O_FORMAT:
			format_given = 1;
			if (!strcmp(optarg, "json"))
				o->sink.format = OUT_JSON;
			else if (!strcmp(optarg, "csv"))
				o->sink.format = OUT_CSV;
			else if (!strcmp(optarg, "raw"))
				o->sink.format = OUT_RAW;
			else
				usage_error("--format=%s: expected json, csv or raw", optarg);
			break;
		case O_CHECKSUM:
			if (!strcmp(optarg, "strict"))
				o->checksum = CK_STRICT;
			else if (!strcmp(optarg, "lenient"))
				o->checksum = CK_LENIENT;
			else if (!strcmp(optarg, "off"))
				o->checksum = CK_OFF;
			else
				usage_error("--checksum=%s: expected strict, lenient or off", optarg);
			break;
		case O_MAX_LINE:
			o->max_line = (size_t)number_arg("max-line", optarg, MAX_LINE_MIN, MAX_LINE_LIMIT);
			break;
		case O_VEHICLE:
			if (scan_vehicle(optarg, strlen(optarg), id))
				usage_error("--vehicle=%s: expected 1-%d of A-Z a-z 0-9 . _ - : @", optarg,
					    VEHICLE_MAX);
			o->vehicle = optarg;
			break;
		case O_DATE:
			if (strlen(optarg) != 10 || optarg[4] != '-' || optarg[7] != '-' ||
			    scan_uint(optarg, 4, 9999, &y) || scan_uint(optarg + 5, 2, 12, &m) ||
			    scan_uint(optarg + 8, 2, 31, &d) || !valid_date((int)y, m, d))
				usage_error("--date=%s: expected a date as YYYY-MM-DD", optarg);
			o->have_date = 1;
			o->date_days = days_from_civil((int)y, m, d);
			break;
		case O_IDLE:
			o->idle_timeout = number_arg("idle-timeout", optarg, 1, IDLE_LIMIT);
			o->idle_given = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			puts("vlsink " VERSION);
			exit(0);
		default:
			/* getopt_long sets optopt to 0 for an unknown long option, to
			 * its value (>= 256, or 'h'/'V') for one missing or given an
			 * extra value, and to the letter for a short one. */
			if (optopt > 0 && optopt < 256 && optopt != 'h' && optopt != 'V')
				usage_error("unknown option -%c", optopt);
			usage_error("%s: unknown option, or a missing or extra value", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (format_given && o->sink.kind == SINK_JOURNAL)
		usage_error("--format applies to the stdout and fifo sinks, not to the journal");
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

static int input_fd(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	unsigned n, p;

	if (!fds)
		return STDIN_FILENO;
	if (pid && (scan_uint(pid, strlen(pid), 0x7fffffff, &p) || (pid_t)p != getpid()))
		return STDIN_FILENO; /* Meant for another process. */
	if (scan_uint(fds, strlen(fds), 1024, &n) || n != 1) {
		note("LISTEN_FDS=%s: expected exactly one connection (Accept=yes)", fds);
		exit(EXIT_INPUT);
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return 3;
}

static void check_input(int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	struct stat st;

	if (fstat(fd, &st) < 0) {
		note("input fd %d: %s", fd, strerror(errno));
		exit(EXIT_INPUT);
	}
	if (S_ISSOCK(st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening) {
		note("input fd %d is a listening socket: vlsink serves one accepted connection "
		     "(use Accept=yes or systemd-socket-activate --accept)",
		     fd);
		exit(EXIT_INPUT);
	}
}

static void find_peer(int fd, struct peer *peer)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	unsigned port = 0;
	int v6 = 0;

	memset(peer, 0, sizeof(*peer));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &sin->sin_addr, peer->addr, sizeof(peer->addr));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
				inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], peer->addr, sizeof(peer->addr));
			} else {
				inet_ntop(AF_INET6, &sin6->sin6_addr, peer->addr, sizeof(peer->addr));
				v6 = 1;
			}
			port = ntohs(sin6->sin6_port);
		} else {
			return;
		}
	} else if (errno == ENOTSOCK) {
		/* inetd-style launchers say who is calling in the environment;
		 * it is checked like any other input. */
		const char *a = getenv("REMOTE_ADDR"), *p = getenv("REMOTE_PORT");
		struct in6_addr buf;
		if (!a)
			return;
		if (inet_pton(AF_INET, a, &buf) == 1) {
			snprintf(peer->addr, sizeof(peer->addr), "%s", a);
		} else if (inet_pton(AF_INET6, a, &buf) == 1) {
			snprintf(peer->addr, sizeof(peer->addr), "%s", a);
			v6 = 1;
		} else {
			return;
		}
		if (p && scan_uint(p, strlen(p), 65535, &port))
			port = 0;
	} else {
		return;
	}
	if (port)
		snprintf(peer->port, sizeof(peer->port), "%u", port);
	if (!peer->port[0])
		snprintf(peer->text, sizeof(peer->text), "%s", peer->addr);
	else
		snprintf(peer->text, sizeof(peer->text), v6 ? "[%s]:%s" : "%s:%s", peer->addr, peer->port);
}

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked read or poll must return to see the flag. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static const char *current_vehicle(const struct conn *c)
{
	return c->ident[0] ? c->ident : c->vehicle;
}

static void reject(struct conn *c, enum reason why, const char *p, size_t n)
{
	c->t.rejected++;
	c->t.by_reason[why]++;
	int64_t now = monotonic_ms();
	if (c->tokens < REJECT_BURST && now >= c->refill_at) {
		c->tokens++;
		c->refill_at = now + REJECT_REFILL_MS;
	}
	if (c->tokens == 0) {
		c->t.suppressed++;
		c->pending_suppressed++;
		return;
	}
	c->tokens--;
	sink_reject(c->sink, &c->peer, current_vehicle(c), c->t.lines, why, p, n, c->pending_suppressed);
	c->pending_suppressed = 0;
}

static void handle(struct conn *c, enum lb_event ev, const struct lb_line *l)
{
	struct parse_out out;

	c->t.lines++;
	if (ev == LB_TOO_LONG) {
		reject(c, R_TOO_LONG, l->p, l->n);
		return;
	}
	if (ev == LB_CONTROL) {
		reject(c, R_CONTROL_CHAR, l->p, l->n);
		return;
	}
	switch (parse_line(&c->session, l->p, l->n, &out)) {
	case V_RECORD: {
		struct origin o = { out.rec.vehicle[0] ? out.rec.vehicle : current_vehicle(c),
				    c->peer.text[0] ? c->peer.text : NULL };
		c->t.accepted++;
		if (c->failed || sink_put(c->sink, &out.rec, &o, &c->peer, l->p, l->n) < 0) {
			c->failed = 1;
			c->undelivered++;
		}
		break;
	}
	case V_IDENT:
		memcpy(c->ident, out.id, sizeof(c->ident));
		c->t.ignored++;
		break;
	case V_IGNORED:
		c->t.ignored++;
		break;
	case V_REJECT:
		reject(c, out.why, l->p, l->n);
		break;
	}
}

/* Blocks for input, but never longer than the idle timeout allows.  Returns
 * the bytes read, 0 at the end of the stream, or -1 with c->t.end set.  The
 * stop signals are held off between looking at the flag and waiting, and let
 * in by ppoll alone: one that arrives in between cannot go unnoticed while
 * vlsink sleeps on a quiet connection. */
static ssize_t read_some(struct conn *c, int fd, struct linebuf *lb, int64_t idle_deadline)
{
	size_t room;
	char *space = linebuf_space(lb, &room);
	sigset_t stops, old;

	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct timespec ts, *tsp = NULL;
		if (idle_deadline) {
			int64_t left = idle_deadline - monotonic_ms();
			if (left <= 0) {
				c->t.end = "idle-timeout";
				return -1;
			}
			ts.tv_sec = (time_t)(left / 1000);
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			tsp = &ts;
		}
		sigprocmask(SIG_BLOCK, &stops, &old);
		int r = stop_requested ? 0 : ppoll(&pfd, 1, tsp, &old);
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (stop_requested) {
			c->t.end = "signal";
			return -1;
		}
		if (r < 0 && e != EINTR) {
			note("input: poll: %s", strerror(e));
			c->t.end = "input-error";
			return -1;
		}
		if (r <= 0)
			continue;
		ssize_t n = read(fd, space, room);
		if (n >= 0)
			return n;
		if (errno == EINTR || errno == EAGAIN)
			continue;
		if (errno == ECONNRESET || errno == ETIMEDOUT || errno == EHOSTUNREACH) {
			c->t.end = "reset";
			return -1;
		}
		note("input: read: %s", strerror(errno));
		c->t.end = "input-error";
		return -1;
	}
}

static int serve(struct conn *c, int fd, struct linebuf *lb)
{
	struct lb_line l;
	enum lb_event ev;
	int idle = c->opt->idle_timeout;
	int64_t deadline = idle ? monotonic_ms() + (int64_t)idle * 1000 : 0;

	for (;;) {
		/* Deliver what this batch produced before blocking for more. */
		if (!c->failed && sink_flush(c->sink) < 0)
			c->failed = 1;
		if (c->failed)
			return -1;
		ssize_t n = read_some(c, fd, lb, deadline);
		if (n < 0)
			break;
		if (n == 0) {
			c->t.end = "eof";
			if ((ev = linebuf_finish(lb, &l)) != LB_NONE)
				handle(c, ev, &l);
			break;
		}
		c->t.bytes += (uint64_t)n;
		linebuf_commit(lb, (size_t)n);
		c->session.now_ms = realtime_ms();
		uint64_t before = c->t.lines;
		while ((ev = linebuf_next(lb, &l)) != LB_NONE)
			handle(c, ev, &l);
		if (idle && c->t.lines != before)
			deadline = monotonic_ms() + (int64_t)idle * 1000;
	}
	if (!c->failed && sink_flush(c->sink) < 0)
		c->failed = 1;
	return c->failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct conn c;
	struct linebuf lb;

	ensure_std_fds();
	parse_options(argc, argv, &opt);
	setup_signals();

	int fd = input_fd();
	check_input(fd);

	memset(&c, 0, sizeof(c));
	c.opt = &opt;
	c.sink = &opt.sink;
	c.tokens = REJECT_BURST;
	c.refill_at = monotonic_ms() + REJECT_REFILL_MS;
	c.session.checksum = opt.checksum;
	c.session.now_ms = realtime_ms();
	if (opt.have_date) {
		c.session.have_ref = 1;
		c.session.ref_ms = opt.date_days * MS_PER_DAY + MS_PER_DAY / 2;
	}
	find_peer(fd, &c.peer);
	c.vehicle = opt.vehicle ? opt.vehicle : (c.peer.addr[0] ? c.peer.addr : NULL);
	if (!opt.idle_given) {
		struct stat st;
		opt.idle_timeout = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? IDLE_DEFAULT : 0;
	}

	if (linebuf_init(&lb, opt.max_line) < 0) {
		note("out of memory");
		return EXIT_SOFTWARE;
	}
	/* A sink that never opened is reported like one that failed later: the
	 * counts say that no input was read. */
	int r = sink_open(c.sink);
	if (r < 0)
		note("cannot open the sink: %s",
		     r == -ETIMEDOUT ? "gave up waiting for it after the stop signal" : strerror(-r));
	else
		r = serve(&c, fd, &lb);
	if (r < 0) {
		c.t.undelivered = c.undelivered + c.sink->pending;
		note("sink failed: %" PRIu64 " record(s) not delivered", c.t.undelivered);
		c.t.end = "sink-error";
	}
	sink_summary(c.sink, &c.peer, current_vehicle(&c), &c.t);
	sink_close(c.sink);
	linebuf_free(&lb);
	if (r < 0)
		return EXIT_OUTPUT;
	return strcmp(c.t.end, "input-error") ? 0 : EXIT_INPUT;
}
