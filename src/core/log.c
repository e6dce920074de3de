/* stderr diagnostics.  One write per message, so that lines from concurrent
 * instances sharing a log do not interleave. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "log.h"

static const char *name = "vlsink";

void log_init(const char *n)
{
	name = n;
}

const char *program(void)
{
	return name;
}

static void vnote(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s: ", name);

	if (n < 0 || (size_t)n >= sizeof(buf) / 2)
		return;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2) {
		len = sizeof(buf) - 2; /* Truncated: messages carry bounded samples anyway. */
	}
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
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
