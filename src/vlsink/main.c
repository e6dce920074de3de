/* vlsink: reads one connection line by line, turns every line that carries a
 * position into a record, and hands the records to one sink.  This file is
 * the wiring: options, the connection, the sink, the exit status. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "vlsink/conn.h"
#include "core/calendar.h"
#include "core/clock.h"
#include "core/exits.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/stop.h"
#include "vlsink/input.h"
#include "vlsink/options.h"
#include "vlsink/sandbox.h"
#include "vlsink/supervise.h"
#include "vlsink/user.h"

/* A process that cannot confine itself does not serve the connection. */
static void confine(const struct sandbox *sb, struct sandbox_state *st)
{
	const char *step = "";
	int r = sandbox_enter(sb, st, &step);

	if (r < 0)
		die(EXIT_SOFTWARE, "cannot confine the process: %s: %s (--no-sandbox runs unconfined)", step,
		    strerror(-r));
}

/* Before anything is read or sent: every record carries the user's _UID. */
static void become(const char *name)
{
	const char *step = "";
	int r = user_become(name, &step);

	if (r == -ENOENT)
		die(EXIT_NOUSER, "--user=%s: no such user", name);
	if (r == -EINVAL)
		usage_error("--user=%s: that user has uid or gid 0: nothing to drop to", name);
	if (r == -EPERM && !strcmp(step, "not root"))
		die(EXIT_SOFTWARE, "--user=%s: cannot become that user without being root", name);
	if (r < 0)
		die(EXIT_SOFTWARE, "--user=%s: cannot become that user: %s: %s", name, step, strerror(-r));
}

static const char *proxy_why(enum proxy_end e, const struct proxy_header *h)
{
	switch (e) {
	case PH_BAD:
		return h->why;
	case PH_TIMEOUT:
		return "none within 5 s";
	case PH_EOF:
		return "connection closed before the header ended";
	case PH_RESET:
		return "connection reset before the header ended";
	default:
		return "read error";
	}
}

/* --proxy-protocol: the header is the first input read, by the confined
 * process, before any line; only poll and reads serve it.  -1 to go on;
 * else the exit status, the connection having been reported. */
static int proxy_header(struct conn *c, int fd)
{
	unsigned char buf[PROXY_MAX];
	struct proxy_header h;
	size_t got;
	enum proxy_end e = input_proxy(fd, c->opt->proxy, monotonic_ms() + PROXY_TIMEOUT_MS, &h, buf, &got);

	if (e == PH_OK) {
		input_peer_proxied(&c->peer, &h);
		c->rp.local = h.kind == PROXY_LOCAL;
		return -1;
	}
	if (e == PH_STOP) {
		c->rp.t.end = "signal";
		report_summary(&c->rp, NULL);
		return EXIT_OK;
	}
	report_proxy(&c->rp, proxy_why(e, &h), (const char *)buf, got);
	return EXIT_DATA;
}

int main(int argc, char **argv)
{
	struct config opt;
	struct sink sink;
	struct conn c;
	struct sandbox_state confined;
	char confined_text[64];

	log_init("vlsink");
	ensure_std_fds();
	/* Before the options, so that a usage error in a unit whose stderr
	 * is /dev/null still reaches the journal. */
	if (log_stderr_lost())
		(void)log_to_journal();
	config_parse(argc, argv, &opt);
	if (opt.log == LOG_JOURNAL && log_to_journal() < 0)
		die(EXIT_OUTPUT, "--log=journal: cannot create a socket: %s", strerror(errno));
	else if (opt.log == LOG_STDERR)
		log_to_stderr();
	if (opt.user)
		become(opt.user);
	stop_init();

	char fdname[32];
	int fd = input_open(fdname, sizeof(fdname));
	static struct reply_sink replies;

	memset(&sink, 0, sizeof(sink));
	sink.kind = opt.sink;
	sink.format = opt.format;
	sink.path = opt.fifo_path;
	memset(&c, 0, sizeof(c));
	c.opt = &opt;
	c.sink = &sink;
	c.session.checksum = opt.checksum;
	c.session.ack = opt.ack;
	/* A socket unit whose FileDescriptorName= names a protocol pins it
	 * (systemd passes it to Accept=yes instances from version 257 on;
	 * before, they all get "connection"). */
	c.proto = opt.protocol;
	if (c.proto == PROTO_AUTO) {
		enum protocol named = protocol_from_name(fdname, strlen(fdname));
		if (named != PROTO_COUNT)
			c.proto = named;
	}
	c.session.now_ms = realtime_ms();
	c.session.keep_rollover = opt.keep_rollover;
	if (opt.have_date) {
		c.session.dated = 1;
		c.session.not_before_ms = opt.date_days * MS_PER_DAY;
	}
	input_peer(fd, &c.peer);
	report_init(&c.rp, &sink, &c.peer);
	c.vehicle = opt.vehicle ? opt.vehicle : (c.peer.addr[0] ? c.peer.addr : NULL);
	if (!opt.idle_given)
		opt.idle_timeout = input_is_socket(fd) ? IDLE_DEFAULT : 0;

	struct devices devices;
	if (opt.devices) {
		size_t line;
		const char *why;
		if (devices_load(&devices, opt.devices, &line, &why) < 0) {
			if (line)
				die(EXIT_CONFIG, "%s: line %zu: %s", opt.devices, line, why);
			die(EXIT_CONFIG, "%s: %s", opt.devices, why);
		}
		c.devices = &devices;
	}
	if (conn_init(&c) < 0)
		die(EXIT_SOFTWARE, "out of memory");
	/* A sink that never opened is reported like one that failed later: the
	 * counts say that no input was read. */
	int supervised = opt.supervise == 1 || (opt.supervise < 0 && input_is_socket(fd));
	struct sandbox sb = {
		.journal = sink.kind == SINK_JOURNAL,
		.supervisor = supervised,
		.log = log_journal(),
	};
	int r = sink_open(&sink);
	if (r < 0) {
		note("cannot open the sink: %s",
		     r == -ETIMEDOUT ? "gave up waiting for it after the stop signal" : strerror(-r));
	} else {
		/* Set-up is over (a supervisor maps its ring and forks its
		 * workers under the sandbox, so every worker inherits it). */
		if (opt.sandbox) {
			r = sink_fork_opener(&sink);
			if (r < 0)
				die(EXIT_SOFTWARE, "cannot start the FIFO opener: %s (--no-sandbox runs unconfined)",
				    strerror(-r));
			confine(&sb, &confined);
			c.rp.sandbox = sandbox_describe(&confined, confined_text, sizeof(confined_text));
		}
		int status = opt.proxy ? proxy_header(&c, fd) : -1;
		if (status >= 0) {
			sink_drain(&sink);
			sink_close(&sink);
			conn_free(&c);
			if (c.devices)
				devices_free(&devices);
			return status;
		}
		/* The client a balancer named is the peer from here on. */
		c.vehicle = opt.vehicle ? opt.vehicle : (c.peer.addr[0] ? c.peer.addr : NULL);
		/* Replies go back on the connection; on a pipe or a file, to
		 * --reply-fd or nowhere. */
		reply_init(&replies, input_is_socket(fd) ? fd : opt.reply_fd);
		c.replies = &replies;
		r = supervised ? supervise(&c, fd) : conn_serve(&c, fd);
	}
	if (r < 0) {
		c.rp.t.undelivered = c.undelivered + sink.pending;
		note("sink failed: %" PRIu64 " record(s) not delivered", c.rp.t.undelivered);
		c.rp.t.end = "sink-error";
	}
	report_summary(&c.rp, conn_vehicle(&c));
	sink_drain(&sink);
	sink_close(&sink);
	conn_free(&c);
	if (c.devices)
		devices_free(&devices);
	if (r < 0)
		return EXIT_OUTPUT;
	if (c.gave_up)
		return EXIT_TEMPFAIL;
	if (c.refused)
		return EXIT_NOPERM;
	return strcmp(c.rp.t.end, "input-error") ? EXIT_OK : EXIT_INPUT;
}
