/* The journal sink: one entry per record through sd_journal_sendv.
 * sd_journal_sendv returns success when the journal socket does not exist at
 * all, so the socket is looked for before and after every send: a record is
 * counted as delivered only when the socket was there on both sides of it.
 * When it is not, vlsink waits and sends again; a rare duplicate is preferred
 * to a silent loss. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "sink.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define RETRY_MS 200

static int journal_present(void)
{
	return access(JOURNAL_SOCKET, F_OK) == 0;
}

int journal_wait(struct sink *s)
{
	int said = 0;

	while (!journal_present()) {
		if (!sink_may_wait(s))
			return -ETIMEDOUT;
		if (!said++)
			note("%s: journal socket absent, waiting for journald", JOURNAL_SOCKET);
		struct timespec ts = { 0, RETRY_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (said)
		note("%s: journal socket present, delivering", JOURNAL_SOCKET);
	return 0;
}

static int journal_send(struct sink *s, const struct iovec *iov, int n)
{
	int said = 0;

	for (;;) {
		int r = journal_wait(s);
		if (r < 0)
			return r;
		r = sd_journal_sendv(iov, n);
		if (r == 0 && journal_present())
			return 0;
		/* Transient: journald busy, restarting, or its socket replaced. */
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -ENOBUFS && r != -ECONNREFUSED &&
		    r != -ENOENT) {
			note("journal: %s", strerror(-r));
			return r;
		}
		if (r < 0 && !said++)
			note("journal: %s, retrying", strerror(-r));
		if (!sink_may_wait(s))
			return -ETIMEDOUT;
		struct timespec ts = { 0, RETRY_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
}

#define FIELD_MAX 160

struct entry {
	struct iovec iov[20];
	char text[20][FIELD_MAX];
	char raw[16 + 4096]; /* RAW_LINE=, then a line of at most --max-line bytes. */
	int n;
};

/* Fields whose values are bounded (numbers, ids, reasons) go through a fixed
 * slot; RAW_LINE and the like point at the caller's bytes. */
static void add(struct entry *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct entry *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int k = vsnprintf(e->text[e->n], FIELD_MAX, fmt, ap);
	va_end(ap);
	if (k < 0 || k >= FIELD_MAX)
		k = FIELD_MAX - 1;
	e->iov[e->n].iov_base = e->text[e->n];
	e->iov[e->n].iov_len = (size_t)k;
	e->n++;
}

static void add_raw(struct entry *e, const char *p, size_t len)
{
	if (len > sizeof(e->raw) - 9)
		len = sizeof(e->raw) - 9;
	memcpy(e->raw, "RAW_LINE=", 9);
	memcpy(e->raw + 9, p, len);
	e->iov[e->n].iov_base = e->raw;
	e->iov[e->n].iov_len = 9 + len;
	e->n++;
}

static void add_origin(struct entry *e, const struct peer *peer, const char *vehicle)
{
	add(e, "SYSLOG_IDENTIFIER=vlsink");
	if (vehicle)
		add(e, "VEHICLE_ID=%s", vehicle);
	if (peer->addr[0])
		add(e, "REMOTE_ADDR=%s", peer->addr);
	if (peer->port[0])
		add(e, "REMOTE_PORT=%s", peer->port);
}

static void add_fixed(struct entry *e, const char *name, double v, int decimals)
{
	size_t k = strlen(name);
	char *t = e->text[e->n];

	memcpy(t, name, k);
	t[k] = '=';
	k += 1 + fmt_fixed(t + k + 1, v, decimals);
	e->iov[e->n].iov_base = t;
	e->iov[e->n].iov_len = k;
	e->n++;
}

int journal_record(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
		   const char *line, size_t len)
{
	struct entry e;
	char lat[32], lon[32], t[TIME_LEN + 1];

	e.n = 0;
	lat[fmt_fixed(lat, r->lat, 7)] = '\0';
	lon[fmt_fixed(lon, r->lon, 7)] = '\0';
	add(&e, "MESSAGE=%s at %s,%s", o->vehicle ? o->vehicle : "unknown vehicle", lat, lon);
	add(&e, "PRIORITY=6");
	add_origin(&e, peer, o->vehicle);
	if (r->have & HAVE_TIME) {
		t[fmt_time(t, r->time_ms)] = '\0';
		add(&e, "FIX_TIME=%s", t);
	}
	add(&e, "LATITUDE=%s", lat);
	add(&e, "LONGITUDE=%s", lon);
	if (r->have & HAVE_SPEED)
		add_fixed(&e, "SPEED_MPS", r->speed, 3);
	if (r->have & HAVE_COURSE)
		add_fixed(&e, "COURSE_DEG", r->course, 2);
	if (r->have & HAVE_ALT)
		add_fixed(&e, "ALTITUDE_M", r->alt, 2);
	add(&e, "SOURCE_FORMAT=%s", format_name(r->format));
	add_raw(&e, line, len);
	return journal_send(s, e.iov, e.n);
}

void journal_reject(struct sink *s, const struct peer *peer, const char *vehicle, uint64_t lineno,
		    enum reason why, const char *sample, const char *more)
{
	struct entry e;
	char msg[512];

	e.n = 0;
	int k = snprintf(msg, sizeof(msg), "MESSAGE=line %" PRIu64 " rejected (%s): \"%s\"%s", lineno,
			 reason_name(why), sample, more);
	if (k < 0 || (size_t)k >= sizeof(msg))
		k = (int)sizeof(msg) - 1;
	e.iov[e.n].iov_base = msg;
	e.iov[e.n].iov_len = (size_t)k;
	e.n++;
	add(&e, "PRIORITY=4");
	add_origin(&e, peer, vehicle);
	add(&e, "REJECT_REASON=%s", reason_name(why));
	add(&e, "LINE_NUMBER=%" PRIu64, lineno);
	add_raw(&e, sample, strlen(sample));
	if (journal_send(s, e.iov, e.n) < 0)
		note("line %" PRIu64 " rejected (%s): \"%s\"", lineno, reason_name(why), sample);
}

void journal_summary(struct sink *s, const struct peer *peer, const char *vehicle, const struct tally *t,
		     const char *reasons)
{
	struct entry e;
	char msg[512];

	e.n = 0;
	int k = snprintf(msg, sizeof(msg),
			 "MESSAGE=%s: %s: %" PRIu64 " accepted, %" PRIu64 " ignored, %" PRIu64
			 " rejected%s, %" PRIu64 " bytes%s%s",
			 peer->text[0] ? peer->text : "stdin", t->end, t->accepted, t->ignored, t->rejected,
			 reasons, t->bytes, t->suppressed ? ", some rejects not logged" : "", undelivered_text(t));
	if (k < 0 || (size_t)k >= sizeof(msg))
		k = (int)sizeof(msg) - 1;
	e.iov[e.n].iov_base = msg;
	e.iov[e.n].iov_len = (size_t)k;
	e.n++;
	add(&e, "PRIORITY=6");
	add_origin(&e, peer, vehicle);
	add(&e, "END_REASON=%s", t->end);
	add(&e, "LINES_ACCEPTED=%" PRIu64, t->accepted);
	add(&e, "LINES_IGNORED=%" PRIu64, t->ignored);
	add(&e, "LINES_REJECTED=%" PRIu64, t->rejected);
	add(&e, "BYTES_READ=%" PRIu64, t->bytes);
	add(&e, "REJECTS_SUPPRESSED=%" PRIu64, t->suppressed);
	add(&e, "RECORDS_UNDELIVERED=%" PRIu64, t->undelivered);
	if (journal_send(s, e.iov, e.n) < 0)
		note("%s", msg + 8);
}
