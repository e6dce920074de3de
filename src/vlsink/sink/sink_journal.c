/* The journal sink: one entry per record, one datagram in journald's native
 * protocol sent to its socket by path.  Written here rather than through
 * libsystemd, whose sd_journal_sendv() answers success when the socket does
 * not exist, and which pulls half a dozen libraries into every connection's
 * start-up: here a send to an absent socket fails (ENOENT), so a record is
 * counted as delivered only when journald's socket took it.  When it does
 * not, vlsink waits and sends again; a rare duplicate is preferred to a
 * silent loss. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/clock.h"
#include "core/journald.h"
#include "core/log.h"
#include "core/stop.h"
#include "vlsink/fix/merge.h"
#include "vlsink/options.h"
#include "vlsink/sink/sink_journal.h"

#define RETRY_MS 200

static int journal_present(void)
{
	return access(JOURNAL_SOCKET, F_OK) == 0;
}

int journal_wait(struct sink *s)
{
	int said = 0;

	while (!journal_present()) {
		if (!stop_may_wait(&s->stop_deadline))
			return -ETIMEDOUT;
		if (!said++)
			note("%s: journal socket absent, waiting for journald", JOURNAL_SOCKET);
		stop_poll(NULL, 0, RETRY_MS);
	}
	if (said)
		note("%s: journal socket present, delivering", JOURNAL_SOCKET);
	return 0;
}

/* Four pieces per field at most: the native protocol sends a value without
 * a newline as NAME=VALUE LF, and one with a newline as NAME LF, its length
 * (64 bits, little endian), VALUE, LF. */
#define PIECES 4
#define ENTRY_SLOTS 25

struct wire {
	struct iovec iov[ENTRY_SLOTS * PIECES];
	unsigned char len[ENTRY_SLOTS][9];
	int n;
};

static char newline[] = "\n";

static void put(struct wire *w, void *p, size_t len)
{
	w->iov[w->n].iov_base = p;
	w->iov[w->n].iov_len = len;
	w->n++;
}

/* Every field is NAME=VALUE (the callers below write them so). */
static void put_field(struct wire *w, int i, const struct iovec *f)
{
	char *p = f->iov_base;
	char *eq = memchr(p, '=', f->iov_len);
	size_t name = eq ? (size_t)(eq - p) : 0, vlen = eq ? f->iov_len - name - 1 : 0;

	if (!eq || !memchr(eq + 1, '\n', vlen)) {
		put(w, p, f->iov_len);
		put(w, newline, 1);
		return;
	}
	w->len[i][0] = '\n';
	for (int b = 0; b < 8; b++)
		w->len[i][1 + b] = (unsigned char)((uint64_t)vlen >> (8 * b));
	put(w, p, name);
	put(w, w->len[i], 9);
	put(w, eq + 1, vlen);
	put(w, newline, 1);
}

static struct sockaddr_un journal_addr = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
#define JOURNAL_ADDR_LEN ((socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(JOURNAL_SOCKET)))
/* As journald's clients ask for; the kernel caps it at net.core.wmem_max. */
#define SNDBUF (8 << 20)

/* An entry larger than the socket buffer goes as a sealed memfd, which
 * journald reads whole. */
static int send_memfd(int sock, const struct wire *w)
{
	int fd = memfd_create("journal-entry", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = 0;
	for (int i = 0; i < w->n && r == 0; i++) {
		const char *p = w->iov[i].iov_base;
		size_t left = w->iov[i].iov_len;
		while (left > 0) {
			ssize_t k = write(fd, p, left);
			if (k < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			if (k > 0) {
				p += k;
				left -= (size_t)k;
			}
		}
	}
	if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		r = -errno;
	if (r == 0) {
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int))];
		} ctl;
		memset(&ctl, 0, sizeof(ctl));
		struct msghdr mh = {
			.msg_name = &journal_addr,
			.msg_namelen = JOURNAL_ADDR_LEN,
			.msg_control = ctl.space,
			.msg_controllen = sizeof(ctl.space),
		};
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

/* One entry; 0 or a negative errno (ENOENT: no socket, ECONNREFUSED: no
 * journald behind it). */
static int journal_sendv(struct sink *s, const struct iovec *iov, int n)
{
	struct wire w;

	if (s->fd < 0) {
		s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s->fd < 0)
			return -errno;
		int size = SNDBUF;
		(void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	w.n = 0;
	for (int i = 0; i < n; i++)
		put_field(&w, i, &iov[i]);
	struct msghdr mh = {
		.msg_name = &journal_addr,
		.msg_namelen = JOURNAL_ADDR_LEN,
		.msg_iov = w.iov,
		.msg_iovlen = (size_t)w.n,
	};
	if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) >= 0)
		return 0;
	if (errno != EMSGSIZE && errno != ENOBUFS && errno != EAGAIN)
		return -errno;
	return send_memfd(s->fd, &w);
}

static int journal_send(struct sink *s, const struct iovec *iov, int n)
{
	int said = 0;

	for (;;) {
		int r = journal_sendv(s, iov, n);
		if (r == 0)
			return 0;
		if (r == -ENOENT && journal_wait(s) < 0)
			return -ETIMEDOUT;
		/* Transient: journald busy, restarting, or its socket replaced. */
		if (r != -ENOENT && r != -EINTR && r != -EAGAIN && r != -ENOBUFS && r != -ECONNREFUSED) {
			note("journal: %s", strerror(-r));
			return r;
		}
		if (r != -ENOENT && !said++)
			note("journal: %s, retrying", strerror(-r));
		if (!stop_may_wait(&s->stop_deadline))
			return -ETIMEDOUT;
		stop_poll(NULL, 0, RETRY_MS);
	}
}

#define FIELD_MAX 160
/* Fields every entry carries: MESSAGE, PRIORITY, and the origin's
 * SYSLOG_IDENTIFIER, VEHICLE_ID, REMOTE_ADDR, REMOTE_PORT. */
#define COMMON_FIELDS 6
/* A record adds FIX_TIME, LATITUDE, LONGITUDE, SPEED_MPS, COURSE_DEG,
 * ALTITUDE_M, FIX_MODE, FIX_QUALITY, SATELLITES_USED, HDOP, ACCURACY_M,
 * SOURCE_FORMAT, GPS_WEEK_ROLLOVER, ARCHIVE and RAW_LINE. */
#define RECORD_FIELDS 15
/* RAW_LINE holds the lines of a merged fix, LF between them. */
#define RAW_MAX ((size_t)MERGE_LINES * (MAX_LINE_LIMIT + 1))

_Static_assert(COMMON_FIELDS + RECORD_FIELDS <= ENTRY_SLOTS, "a record entry fits its iovec");
_Static_assert(COMMON_FIELDS + EVENT_FIELDS + 1 <= ENTRY_SLOTS, "an event entry fits its iovec");
_Static_assert(ENTRY_SLOTS * PIECES <= IOV_MAX, "an entry's fields fit one sendmsg");

struct entry {
	struct iovec iov[ENTRY_SLOTS];
	char text[ENTRY_SLOTS][FIELD_MAX];
	char raw[9 + RAW_MAX]; /* RAW_LINE=, then a line of at most --max-line bytes. */
	int n;
};

/* The asserts above bound every caller; this catches a new field added
 * without them. */
static struct iovec *next_iov(struct entry *e)
{
	if (e->n >= ENTRY_SLOTS)
		abort();
	return &e->iov[e->n++];
}

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
	struct iovec *v = next_iov(e);
	v->iov_base = e->text[e->n - 1];
	v->iov_len = (size_t)k;
}

static void add_raw(struct entry *e, const char *p, size_t len)
{
	if (len > RAW_MAX)
		len = RAW_MAX;
	memcpy(e->raw, "RAW_LINE=", 9);
	memcpy(e->raw + 9, p, len);
	struct iovec *v = next_iov(e);
	v->iov_base = e->raw;
	v->iov_len = 9 + len;
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
	struct iovec *slot_v = next_iov(e);
	char *t = e->text[e->n - 1];

	memcpy(t, name, k);
	t[k] = '=';
	k += 1 + fmt_fixed(t + k + 1, v, decimals);
	slot_v->iov_base = t;
	slot_v->iov_len = k;
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
	if (r->have & HAVE_MODE)
		add(&e, "FIX_MODE=%u", r->mode);
	if (r->have & HAVE_QUALITY)
		add(&e, "FIX_QUALITY=%u", r->quality);
	if (r->have & HAVE_SATS)
		add(&e, "SATELLITES_USED=%u", r->sats);
	if (r->have & HAVE_HDOP)
		add_fixed(&e, "HDOP", r->hdop, 2);
	if (r->have & HAVE_ACCURACY)
		add_fixed(&e, "ACCURACY_M", r->accuracy, 1);
	add(&e, "SOURCE_FORMAT=%s", format_name(r->format));
	if (r->have & ROLLOVER_FIXED)
		add(&e, "GPS_WEEK_ROLLOVER=1");
	if (r->have & ARCHIVED)
		add(&e, "ARCHIVE=1");
	add_raw(&e, line, len);
	return journal_send(s, e.iov, e.n);
}

/* MESSAGE= is the caller's text; it may be longer than a fixed slot. */
int journal_event(struct sink *s, const struct peer *peer, const struct event *ev)
{
	struct entry e;
	char msg[800];

	e.n = 0;
	int k = snprintf(msg, sizeof(msg), "MESSAGE=%s", ev->message);
	if (k < 0 || (size_t)k >= sizeof(msg))
		k = (int)sizeof(msg) - 1;
	struct iovec *v = next_iov(&e);
	v->iov_base = msg;
	v->iov_len = (size_t)k;
	add(&e, "PRIORITY=%d", ev->priority);
	add_origin(&e, peer, ev->vehicle);
	for (size_t i = 0; i < ev->nfields; i++)
		add(&e, "%s=%s", ev->field[i].name, ev->field[i].value);
	if (ev->raw)
		add_raw(&e, ev->raw, strlen(ev->raw));
	return journal_send(s, e.iov, e.n);
}
