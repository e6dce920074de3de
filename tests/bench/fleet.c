/*
 * fleet: a fleet of simulated vehicles for make bench-systemd, part 2. N TCP
 * connections opened at once (a reconnect storm) from K loopback addresses,
 * each sending its id and one numbered NMEA record a second, then
 * half-closing and waiting until the server closes. One process, epoll.
 *
 * Usage: fleet --count N --seconds S [--sources K] [--prefix P] [--host A]
 *              [--port P] [--timeout T] [--sent-file F] [--status-file F]
 *
 * Vehicle i (0 .. N-1) is P-i, connects from 127.0.(a / 254).(1 + a % 254)
 * with a = i % K, first sends "$PGID,P-i", then record k (0 .. S-1), an RMC
 * sentence with the fix time 2026-11-25T00:00:00Z + k s, due at
 * start + k + i / N seconds (the records spread evenly over each second).
 * A vehicle that connects late, or whose socket is full, sends the records
 * it owes at once, as a tracker with a backlog does. A record counts as sent
 * once all its bytes are in the kernel. T (default 300) bounds the wait for
 * the server's closes after the last record.
 *
 * A half-closed vehicle probes its server with TCP keepalive (first probe
 * 60-180 s after its last record, spread by vehicle, so that the probes of
 * a fleet that went quiet at once do not arrive together): the server's
 * kernel may drop such a connection while PID 1 still holds it (its own
 * keepalive, vlsink.socket), and a reset lost on a busy loopback device
 * would otherwise leave the vehicle waiting for ever. A reset or timeout
 * after the last record counts as "reset", not as a failure: the vehicle
 * sent everything, and whether all of it arrived is for the records to say
 * (the bench checks them per vehicle).
 *
 * --sent-file: "P-i:0:SENT" per vehicle (tests/lib/e2e_client.py check
 * --expect). --status-file: "connected X SECONDS" once every connect has
 * finished, "closing" after the last record, "done" at the end. Prints
 * "vehicles N connected X failed F records R closed C connect_seconds T
 * first_connect EPOCH all_connected EPOCH late_max L" (late_max: how late
 * the most overdue record went out, seconds). Exit 0 when it ran, 1 on a
 * failure to set up (limits, sockets), 64 on a usage error.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_VEHICLES 200000
#define MAX_SECONDS 86400 /* one day: the date field stays 251126 */
#define OUT_SIZE 2048     /* a batch of owed records; a record is < 100 bytes */
#define RECORD_MAX 128

enum state { CONNECTING, SENDING, DRAINING, CLOSED, RESET, DEAD };

struct vehicle {
	int fd;
	enum state state;
	int next_k;  /* records formatted so far */
	int sent;    /* records fully written */
	int batch;   /* records in out[] not yet fully written */
	int out_len, out_off;
	char out[OUT_SIZE];
};

static struct {
	long count, seconds, sources, port, timeout;
	const char *prefix, *host, *sent_file, *status_file;
} opt = { 0, 0, 1, 10110, 300, "fleet", "127.0.0.1", NULL, NULL };

static struct vehicle *fleet;
static int ep;
static double t_start;
static long n_open, n_connecting, n_failed, n_connected, n_closed, n_reset;
static double t_all_connected, late_max;
static int fail_notes;

__attribute__((format(printf, 2, 3))) static _Noreturn void die(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("fleet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long number(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die(64, "--%s: expected a number from %ld to %ld, got '%.40s'", name, lo, hi, s);
	return v;
}

static void status(const char *fmt, ...)
{
	FILE *f;
	va_list ap;
	if (!opt.status_file)
		return;
	f = fopen(opt.status_file, "a");
	if (!f)
		die(1, "cannot open %s: %s", opt.status_file, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fclose(f))
		die(1, "cannot write %s: %s", opt.status_file, strerror(errno));
}

static void note_failure(long i, const char *what, int err)
{
	if (fail_notes++ < 10)
		fprintf(stderr, "fleet: %s-%ld: %s: %s\n", opt.prefix, i, what, err ? strerror(err) : "closed by the server");
}

/* when record k of vehicle i is due, seconds since the start */
static double due(long i, long k)
{
	return (double)k + (double)i / (double)opt.count;
}

static void nmea_line(char *buf, size_t cap, int *len, const char *body)
{
	unsigned char sum = 0;
	for (const char *p = body; *p; p++)
		sum ^= (unsigned char)*p;
	*len = snprintf(buf, cap, "$%s*%02X\r\n", body, sum);
	if (*len < 0 || (size_t)*len >= cap)
		die(1, "an NMEA line does not fit its buffer");
}

static int record(char *buf, size_t cap, long i, long k)
{
	char body[RECORD_MAX];
	int len, n;
	/* positions in 1e-4 degrees, written as ddmm.mmmm */
	long lat = 480000 + (i % 500) * 10 + k % 1000, lon = 110000 + (i / 500 % 500) * 10 + k % 1000;
	long latm = lat % 10000 * 60, lonm = lon % 10000 * 60;
	n = snprintf(body, sizeof body, "GPRMC,%02ld%02ld%02ld.00,A,%02ld%02ld.%04ld,N,%03ld%02ld.%04ld,E,10.0,90.0,251126,,,A",
		k / 3600, k / 60 % 60, k % 60, lat / 10000, latm / 10000, latm % 10000,
		lon / 10000, lonm / 10000, lonm % 10000);
	if (n < 0 || (size_t)n >= sizeof body)
		die(1, "a record does not fit its buffer");
	nmea_line(buf, cap, &len, body);
	return len;
}

static void set_events(long i, unsigned ev)
{
	struct epoll_event e = { .events = ev, .data.u64 = (uint64_t)i };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fleet[i].fd, &e))
		die(1, "epoll_ctl: %s", strerror(errno));
}

static void finish(long i, enum state st)
{
	struct vehicle *v = &fleet[i];
	if (v->state == CONNECTING && --n_connecting == 0)
		t_all_connected = now_real();
	close(v->fd);
	v->fd = -1;
	v->state = st;
	n_open--;
	if (st == CLOSED)
		n_closed++;
	else if (st == RESET)
		n_reset++;
	else
		n_failed++;
}

/* Writes what is pending; then, with nothing pending, formats the records
 * owed at time t (seconds since the start) and writes them; half-closes
 * after the last one. */
static void pump(long i, double t)
{
	struct vehicle *v = &fleet[i];
	for (;;) {
		while (v->out_off < v->out_len) {
			ssize_t w = send(v->fd, v->out + v->out_off, (size_t)(v->out_len - v->out_off), MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					set_events(i, EPOLLIN | EPOLLOUT);
					return;
				}
				note_failure(i, "send", errno);
				finish(i, DEAD);
				return;
			}
			v->out_off += (int)w;
		}
		v->sent += v->batch;
		v->batch = 0;
		v->out_len = v->out_off = 0;
		while (v->next_k < opt.seconds && due(i, v->next_k) <= t && v->out_len + RECORD_MAX <= OUT_SIZE) {
			double late = t - due(i, v->next_k);
			if (late > late_max)
				late_max = late;
			v->out_len += record(v->out + v->out_len, (size_t)(OUT_SIZE - v->out_len), i, v->next_k);
			v->next_k++;
			v->batch++;
		}
		if (v->out_len == 0)
			break;
	}
	if (v->sent == opt.seconds && v->state == SENDING) {
		int one = 1, idle = 60 + (int)(i % 120), intvl = 20, cnt = 6;
		if (shutdown(v->fd, SHUT_WR) || setsockopt(v->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) ||
			setsockopt(v->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) ||
			setsockopt(v->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) ||
			setsockopt(v->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one)) {
			note_failure(i, "shutdown or keepalive", errno);
			finish(i, DEAD);
			return;
		}
		v->state = DRAINING;
	}
	set_events(i, EPOLLIN);
}

static void connected(long i, double t)
{
	struct vehicle *v = &fleet[i];
	char body[RECORD_MAX];
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		note_failure(i, "connect", err ? err : errno);
		finish(i, DEAD);
		return;
	}
	v->state = SENDING;
	n_connecting--;
	n_connected++;
	if (n_connecting == 0)
		t_all_connected = now_real();
	if (snprintf(body, sizeof body, "PGID,%s-%ld", opt.prefix, i) >= (int)sizeof body)
		die(64, "--prefix is too long");
	nmea_line(v->out, OUT_SIZE, &v->out_len, body);
	pump(i, t);
}

/* The server sent something or closed. It never sends data, so anything but
 * EOF, or a reset, after the last record is a failure. */
static void readable(long i)
{
	struct vehicle *v = &fleet[i];
	char buf[256];
	ssize_t r = recv(v->fd, buf, sizeof buf, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r == 0 && v->state == DRAINING) {
		finish(i, CLOSED);
		return;
	}
	if (r < 0 && v->state == DRAINING && (errno == ECONNRESET || errno == ETIMEDOUT)) {
		finish(i, RESET);
		return;
	}
	note_failure(i, r < 0 ? "recv" : r == 0 ? "closed before the last record" : "unexpected data", r < 0 ? errno : 0);
	finish(i, DEAD);
}

static void start_all(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
	if (inet_pton(AF_INET, opt.host, &dst.sin_addr) != 1)
		die(64, "--host: not an IPv4 address: '%.40s'", opt.host);
	for (long i = 0; i < opt.count; i++) {
		long a = i % opt.sources;
		struct sockaddr_in src = { .sin_family = AF_INET };
		struct epoll_event e = { .events = EPOLLOUT, .data.u64 = (uint64_t)i };
		int one = 1, fd;
		src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(a / 254) << 8 | (uint32_t)(1 + a % 254));
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die(1, "socket (vehicle %ld): %s", i, strerror(errno));
		fleet[i].fd = fd;
		fleet[i].state = CONNECTING;
		n_open++;
		n_connecting++;
		/* the port is chosen at connect time, per destination: 10,000
		 * connections never run out of ports for one source address */
		if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) ||
			bind(fd, (struct sockaddr *)&src, sizeof src))
			die(1, "bind to a source address (vehicle %ld): %s", i, strerror(errno));
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))
			die(1, "epoll_ctl: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&dst, sizeof dst) && errno != EINPROGRESS) {
			note_failure(i, "connect", errno);
			finish(i, DEAD);
		}
	}
}

static _Noreturn void usage(void)
{
	fputs("usage: fleet --count N --seconds S [--sources K] [--prefix P] [--host A] [--port P]\n"
	      "             [--timeout T] [--sent-file F] [--status-file F]\n", stderr);
	exit(64);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'n' }, { "seconds", required_argument, NULL, 's' },
		{ "sources", required_argument, NULL, 'k' }, { "prefix", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'h' }, { "port", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' }, { "sent-file", required_argument, NULL, 'o' },
		{ "status-file", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 },
	};
	struct epoll_event evs[512];
	struct rlimit rl;
	double t0, deadline;
	int c, reported = 0;
	long late_i = 0, late_k = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': opt.count = number("count", optarg, 1, MAX_VEHICLES); break;
		case 's': opt.seconds = number("seconds", optarg, 1, MAX_SECONDS); break;
		case 'k': opt.sources = number("sources", optarg, 1, 254L * 256); break;
		case 'p': opt.prefix = optarg; break;
		case 'h': opt.host = optarg; break;
		case 'P': opt.port = number("port", optarg, 1, 65535); break;
		case 't': opt.timeout = number("timeout", optarg, 1, 86400); break;
		case 'o': opt.sent_file = optarg; break;
		case 'S': opt.status_file = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || !opt.count || !opt.seconds)
		usage();
	if (strlen(opt.prefix) > 40)
		die(64, "--prefix: at most 40 characters");

	/* one descriptor per vehicle */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		die(1, "getrlimit: %s", strerror(errno));
	if (rl.rlim_max < (rlim_t)opt.count + 32)
		die(1, "%ld connections need %ld descriptors, the hard limit is %llu (LimitNOFILE=, ulimit -Hn)",
			opt.count, opt.count + 32, (unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die(1, "setrlimit: %s", strerror(errno));
	fleet = calloc((size_t)opt.count, sizeof *fleet);
	if (!fleet)
		die(1, "out of memory for %ld vehicles", opt.count);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die(1, "epoll_create1: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	if (opt.status_file && truncate(opt.status_file, 0) && errno != ENOENT)
		die(1, "cannot truncate %s: %s", opt.status_file, strerror(errno));

	t_start = now_real();
	t0 = now_mono();
	start_all();
	deadline = t0 + (double)opt.seconds + (double)opt.timeout;
	while (n_open > 0 && now_mono() < deadline) {
		double t = now_mono() - t0;
		int n, ms;
		/* wake for the next record due by the schedule (k-major order) */
		while (late_k < opt.seconds && due(late_i, late_k) <= t) {
			if (fleet[late_i].state == SENDING && fleet[late_i].out_len == 0)
				pump(late_i, t);
			if (++late_i == opt.count) {
				late_i = 0;
				late_k++;
			}
		}
		if (!reported && n_connecting == 0) {
			status("connected %ld %.3f", n_connected, (t_all_connected ? t_all_connected : now_real()) - t_start);
			reported = 1;
		}
		if (late_k == opt.seconds && reported == 1) {
			status("closing");
			reported = 2;
		}
		ms = late_k < opt.seconds ? (int)((due(late_i, late_k) - t) * 1000) + 1 : 500;
		n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), ms < 0 ? 0 : ms > 500 ? 500 : ms);
		if (n < 0 && errno != EINTR)
			die(1, "epoll_wait: %s", strerror(errno));
		t = now_mono() - t0;
		for (int j = 0; j < n; j++) {
			long i = (long)evs[j].data.u64;
			struct vehicle *v = &fleet[i];
			if (v->state == CONNECTING)
				connected(i, t);
			else if (evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				readable(i);
			else if (v->state == SENDING && (evs[j].events & EPOLLOUT))
				pump(i, t);
		}
	}
	long records = 0, unclosed = n_open;
	for (long i = 0; i < opt.count; i++) {
		records += fleet[i].sent;
		if (fleet[i].fd >= 0)
			close(fleet[i].fd);
	}
	if (unclosed)
		fprintf(stderr, "fleet: %ld connections still open after the timeout\n", unclosed);
	if (opt.sent_file) {
		FILE *f = fopen(opt.sent_file, "w");
		if (!f)
			die(1, "cannot open %s: %s", opt.sent_file, strerror(errno));
		for (long i = 0; i < opt.count; i++)
			fprintf(f, "%s-%ld:0:%d\n", opt.prefix, i, fleet[i].sent);
		if (fclose(f))
			die(1, "cannot write %s: %s", opt.sent_file, strerror(errno));
	}
	status("done");
	printf("vehicles %ld connected %ld failed %ld records %ld closed %ld connect_seconds %.3f "
	       "first_connect %.6f all_connected %.6f late_max %.3f reset %ld\n",
		opt.count, n_connected, n_failed + unclosed, records, n_closed,
		t_all_connected ? t_all_connected - t_start : -1.0, t_start, t_all_connected, late_max, n_reset);
	return 0;
}
