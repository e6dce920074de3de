/* jbench: the bare sd_journal_sendv() loop that vlsink's journal sink is
 * measured against (tests/bench/systemd-bench.sh, part 3).
 *
 * Usage: jbench [-n COUNT] [-i IDENT] [FILE]
 *
 * Reads the lines of FILE (default stdin; CR/LF stripped) into memory, then
 * sends COUNT entries (default: one per line; FILE is looped when COUNT is
 * larger) with the 14 fields vlsink's journal sink sends for a record:
 * MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, VEHICLE_ID, REMOTE_ADDR, REMOTE_PORT,
 * FIX_TIME, LATITUDE, LONGITUDE, SPEED_MPS, COURSE_DEG, ALTITUDE_M,
 * SOURCE_FORMAT and RAW_LINE (the line as read). The values are formatted
 * per entry, as a plain program would; nothing is parsed and nothing is
 * checked besides sd_journal_sendv's return value. Then one more entry,
 * JBENCH_END=1, marks the end.
 *
 * Prints "sent N errors E seconds T" on stdout. Exit 0, or 1 on a send
 * error, 2 on a usage or input error.
 *
 * Build: cc -std=c11 -O2 -o jbench jbench.c $(pkg-config --libs libsystemd)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#define NFIELDS 14
#define FIELD_MAX 160
#define BASE_TIME 1767225600 /* 2026-01-01T00:00:00Z */

struct line {
	char *text; /* "RAW_LINE=" and the line */
	size_t len;
};

__attribute__((noreturn)) static void oom(void)
{
	fprintf(stderr, "jbench: out of memory\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long count = -1;
	const char *ident = "jbench";
	int c;

	while ((c = getopt(argc, argv, "n:i:")) != -1) {
		switch (c) {
		case 'n':
			count = strtol(optarg, NULL, 10);
			if (count <= 0) {
				fprintf(stderr, "jbench: bad count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'i':
			ident = optarg;
			break;
		default:
			fprintf(stderr, "usage: jbench [-n COUNT] [-i IDENT] [FILE]\n");
			return 2;
		}
	}
	FILE *in = stdin;
	if (optind < argc && !(in = fopen(argv[optind], "r"))) {
		fprintf(stderr, "jbench: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}

	struct line *lines = NULL;
	size_t n = 0, cap = 0;
	char *buf = NULL;
	size_t bufcap = 0;
	ssize_t k;
	while ((k = getline(&buf, &bufcap, in)) >= 0) {
		while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
			k--;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			struct line *more = realloc(lines, cap * sizeof(*lines));
			if (!more)
				oom();
			lines = more;
		}
		char *p = malloc(sizeof("RAW_LINE=") + (size_t)k);
		if (!p)
			oom();
		memcpy(p, "RAW_LINE=", sizeof("RAW_LINE=")); /* NUL overwritten below */
		memcpy(p + 9, buf, (size_t)k);
		lines[n].text = p;
		lines[n].len = 9 + (size_t)k;
		n++;
	}
	free(buf);
	if (in != stdin)
		fclose(in);
	if (n == 0) {
		fprintf(stderr, "jbench: no input lines\n");
		return 2;
	}
	if (count < 0)
		count = (long)n;

	char text[NFIELDS][FIELD_MAX];
	struct iovec iov[NFIELDS];
	long errors = 0;
	int last_err = 0;
	double t0 = now();

	for (long i = 0; i < count; i++) {
		size_t li = (size_t)i % n;
		double lat = 48.0 + (double)(i % 1000) * 0.0001, lon = 11.0 + (double)(i % 1000) * 0.0001;
		time_t t = BASE_TIME + i / 2;
		struct tm tm;
		char ts[32];
		int f = 0;

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
#define ADD(...)                                                                                   \
	do {                                                                                       \
		int m_ = snprintf(text[f], FIELD_MAX, __VA_ARGS__);                                \
		iov[f].iov_base = text[f];                                                         \
		iov[f].iov_len = (size_t)(m_ < FIELD_MAX ? m_ : FIELD_MAX - 1);                    \
		f++;                                                                               \
	} while (0)
		ADD("MESSAGE=127.0.0.1 at %.7f,%.7f", lat, lon);
		ADD("PRIORITY=6");
		ADD("SYSLOG_IDENTIFIER=%s", ident);
		ADD("VEHICLE_ID=127.0.0.1");
		ADD("REMOTE_ADDR=127.0.0.1");
		ADD("REMOTE_PORT=%ld", 40000 + i % 20000);
		ADD("FIX_TIME=%s", ts);
		ADD("LATITUDE=%.7f", lat);
		ADD("LONGITUDE=%.7f", lon);
		ADD("SPEED_MPS=%.3f", 5.0 + (double)(i % 100) * 0.01);
		ADD("COURSE_DEG=%.2f", (double)(i % 360));
		ADD("ALTITUDE_M=%.2f", 500.0);
		ADD("SOURCE_FORMAT=%s", i % 2 ? "nmea-gga" : "nmea-rmc");
		iov[f].iov_base = lines[li].text;
		iov[f].iov_len = lines[li].len;
		f++;
		int r = sd_journal_sendv(iov, f);
		if (r < 0) {
			errors++;
			last_err = -r;
		}
	}
	double t = now() - t0;
	sd_journal_send("MESSAGE=%s: %ld entries sent in %.3f s", ident, count, t, "PRIORITY=6",
			"SYSLOG_IDENTIFIER=%s", ident, "JBENCH_END=1", "JBENCH_COUNT=%ld", count, NULL);
	printf("sent %ld errors %ld seconds %.4f\n", count, errors, t);
	if (errors)
		fprintf(stderr, "jbench: %ld send errors, last: %s\n", errors, strerror(last_err));
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return errors ? 1 : 0;
}
