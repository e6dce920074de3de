/* Diagnostics.  One write per message, so that lines from concurrent
 * instances sharing a log do not interleave; or one journald entry per
 * message, so that an instance needs no log stream of its own (a stream is a
 * connection journald must accept and PID 1's child must set up before
 * exec, and journald serves at most 4096 at a time). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "exits.h"
#include "journald.h"
#include "log.h"

/* A message's text and the program name are cut to these, so that a whole
 * line or journald entry fits the fixed buffers below. */
#define TEXT_MAX 900
#define NAME_MAX_LEN 64
#define ENTRY_HEAD "PRIORITY=0\nSYSLOG_IDENTIFIER=\nMESSAGE="
#define ENTRY_SIZE (sizeof(ENTRY_HEAD) + NAME_MAX_LEN + TEXT_MAX)
#define LINE_SIZE 1024
_Static_assert(NAME_MAX_LEN + 2 + TEXT_MAX + 1 <= LINE_SIZE, "a stderr line fits its buffer");

static const char *name = "vlsink";
static int journal_fd = -1;
static int journal_sent;

void log_init(const char *n)
{
	name = n;
}

const char *program(void)
{
	return name;
}

int log_to_journal(void)
{
	if (journal_fd >= 0)
		return 0;
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return journal_fd < 0 ? -errno : 0;
}

void log_to_stderr(void)
{
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = -1;
}

int log_journal(void)
{
	return journal_fd >= 0;
}

int log_journal_fd(void)
{
	return journal_sent ? journal_fd : -1;
}

int log_stderr_lost(void)
{
	struct stat st;

	return getenv("INVOCATION_ID") && fstat(STDERR_FILENO, &st) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(1, 3) && access(JOURNAL_SOCKET, F_OK) == 0;
}

/* Appends up to max bytes of the string s at p[*n]; no terminating NUL. */
static void put(char *p, size_t *n, const char *s, size_t max)
{
	for (size_t k = 0; k < max && s[k]; k++)
		p[(*n)++] = s[k];
}

static int to_journal(int priority, const char *text, size_t len)
{
	static struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	char entry[ENTRY_SIZE];
	size_t n = 0;

	put(entry, &n, "PRIORITY=", 16);
	entry[n++] = (char)('0' + (priority & 7));
	put(entry, &n, "\nSYSLOG_IDENTIFIER=", 32);
	put(entry, &n, name, NAME_MAX_LEN);
	put(entry, &n, "\nMESSAGE=", 16);
	memcpy(entry + n, text, len);
	n += len;
	entry[n++] = '\n';
	struct iovec iov = { entry, n };
	struct msghdr mh = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	return sendmsg(journal_fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Async-signal-safe: no stdio, no allocation, one write or one datagram. */
void log_line(int priority, const char *text, size_t len)
{
	char buf[TEXT_MAX];

	/* MESSAGE=VALUE ends at the first newline: a message is one line. */
	if (len > TEXT_MAX)
		len = TEXT_MAX;
	if (memchr(text, '\n', len)) {
		memcpy(buf, text, len);
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		text = buf;
	}
	if (journal_fd >= 0 && to_journal(priority, text, len) == 0) {
		journal_sent = 1;
		return;
	}
	char line[LINE_SIZE];
	size_t n = 0;
	put(line, &n, name, NAME_MAX_LEN);
	line[n++] = ':';
	line[n++] = ' ';
	memcpy(line + n, text, len);
	n += len;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

static void vnote(int priority, const char *fmt, va_list ap)
{
	char buf[TEXT_MAX];
	int m = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (m < 0)
		return;
	/* Truncated: messages carry bounded samples anyway. */
	log_line(priority, buf, (size_t)m < sizeof(buf) ? (size_t)m : sizeof(buf) - 1);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(4, fmt, ap);
	va_end(ap);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(3, fmt, ap);
	va_end(ap);
	int fd = log_journal_fd();
	int64_t deadline = 0;
	journald_drain(&fd, 1, &deadline);
	exit(status);
}

void usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die(EXIT_USAGE, "%s (try '%s --help')", msg, name);
}

/* getopt_long sets optopt to 0 for an unknown long option, to its value
 * (>= 256, or 'h'/'V') for one missing or given an extra value, and to the
 * letter for a short one. */
void bad_option(char **argv)
{
	if (optopt > 0 && optopt < 256 && optopt != 'h' && optopt != 'V')
		usage_error("unknown option -%c", optopt);
	usage_error("%s: unknown option, or a missing or extra value", argv[optind - 1]);
}

void print_exit(const char *text)
{
	fputs(text, stdout);
	exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_OUTPUT);
}
