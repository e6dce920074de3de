/* Where exported records come from: JSON lines from a file or stdin, framed
 * by the same fixed buffer as vlsink's input, or vlsink's entries in the
 * journal, read through sd-journal with matches on the identifier and the
 * vehicles, and kept only when journald says vlsink's units wrote them. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "export.h"
#include "core/escape.h"
#include "core/format.h"
#include "core/linebuf.h"

/* vlsink's records are at most RECORD_MAX bytes; twice that leaves room for
 * a record that went through jq, and anything longer is not a record. */
#define LINE_MAX_BYTES ((size_t)2 * RECORD_MAX)

/* "_UID=" and a uid_t in decimal. */
#define UID_FIELD_MAX (5 + 10 + 1)
_Static_assert(sizeof(uid_t) <= 4, "a uid_t takes at most 10 decimal digits");

struct input {
	/* JSON lines. */
	int fd, own_fd, eof, finished;
	struct linebuf lb;
	uint64_t lineno;
	/* The journal. */
	sd_journal *j;
	int by_units;
	char uid_field[UID_FIELD_MAX]; /* "_UID=" and CONN_USER's UID. */
	size_t uid_len;
};

int input_lines(struct input **in, const char *path)
{
	struct input *i = calloc(1, sizeof(*i));

	if (!i)
		return -ENOMEM;
	if (strcmp(path, "-") == 0) {
		i->fd = STDIN_FILENO;
	} else {
		i->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (i->fd < 0) {
			int e = errno;
			free(i);
			return -e;
		}
		i->own_fd = 1;
	}
	if (linebuf_init(&i->lb, LINE_MAX_BYTES) < 0) {
		if (i->own_fd)
			close(i->fd);
		free(i);
		return -ENOMEM;
	}
	*in = i;
	return 0;
}

static int open_journal(sd_journal **j, const struct journal_opts *o)
{
	if (o->directory)
		return sd_journal_open_directory(j, o->directory, 0);
	if (o->files)
		return sd_journal_open_files(j, o->files, 0);
	return sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY);
}

/* Same-field matches are ORed by sd-journal, different fields ANDed: the
 * identifier and any one of the vehicles. */
int input_journal(struct input **in, const struct journal_opts *o, const char **what)
{
	struct input *i = calloc(1, sizeof(*i));
	char m[16 + VEHICLE_MAX];
	int r;
	uint64_t bytes = 0;

	if (!i)
		return -ENOMEM;
	i->fd = -1;
	i->by_units = o->trust == TRUST_UNITS;
	r = snprintf(i->uid_field, sizeof(i->uid_field), "_UID=%lu", (unsigned long)o->conn_uid);
	if (r < 0 || (size_t)r >= sizeof(i->uid_field)) {
		free(i);
		return -EINVAL;
	}
	i->uid_len = (size_t)r;
	*what = o->directory ? o->directory : o->files ? o->files[0] : "local journal";
	r = open_journal(&i->j, o);
	/* sd-journal opens a missing, empty or unreadable directory without
	 * complaint; an export of nothing should not pass for an empty fleet.
	 * -ENODATA says so. */
	if (r >= 0 && (sd_journal_get_usage(i->j, &bytes) < 0 || bytes == 0))
		r = -ENODATA;
	if (r >= 0)
		r = sd_journal_add_match(i->j, "SYSLOG_IDENTIFIER=vlsink", 0);
	for (size_t k = 0; r >= 0 && k < o->nvehicles; k++) {
		int n = snprintf(m, sizeof(m), "VEHICLE_ID=%s", o->vehicles[k]);
		r = n < 0 || (size_t)n >= sizeof(m) ? -EINVAL : sd_journal_add_match(i->j, m, 0);
	}
	if (r < 0) {
		if (i->j)
			sd_journal_close(i->j);
		free(i);
		return r;
	}
	*in = i;
	return 0;
}

static enum in_event bad_line(struct input *in, struct in_bad *bad, const char *why, const char *p, size_t n,
			      size_t at)
{
	bad->why = why;
	snprintf(bad->where, sizeof(bad->where), "line %" PRIu64, in->lineno);
	escape_sample(bad->sample, sizeof(bad->sample), p, n, at);
	return IN_BAD;
}

static enum in_event next_line(struct input *in, struct fix *f, struct in_bad *bad, int *err)
{
	struct lb_line l;
	enum lb_event e;

	for (;;) {
		e = linebuf_next(&in->lb, &l);
		if (e == LB_NONE && in->eof && !in->finished) {
			in->finished = 1;
			e = linebuf_finish(&in->lb, &l);
		}
		if (e == LB_NONE) {
			if (in->eof)
				return IN_END;
			size_t room;
			char *space = linebuf_space(&in->lb, &room);
			ssize_t n = read(in->fd, space, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				*err = -errno;
				return IN_ERROR;
			}
			if (n == 0)
				in->eof = 1;
			else
				linebuf_commit(&in->lb, (size_t)n);
			continue;
		}
		in->lineno++;
		if (e == LB_TOO_LONG)
			return bad_line(in, bad, "line too long", l.p, l.n, 0);
		if (e == LB_CONTROL)
			return bad_line(in, bad, "control character", l.p, l.n, 0);
		if (l.n == 0)
			continue;
		size_t at;
		const char *why = json_record(l.p, l.n, &f->rec, &at);
		if (why)
			return bad_line(in, bad, why, l.p, l.n, at);
		f->seen_ms = TIME_NONE;
		return IN_FIX;
	}
}

/* An instance of vlsink@.service, or of a vlsink-NAME@.service template
 * made for another port (scripts/gen-units.sh: NAME is a-z and 0-9). */
static int vlsink_unit(const char *p, size_t n)
{
	static const char pre[] = "_SYSTEMD_UNIT=vlsink", suf[] = ".service";
	const size_t np = sizeof(pre) - 1, ns = sizeof(suf) - 1;
	size_t i = np;

	if (n <= np + 1 + ns || memcmp(p, pre, np) != 0 || memcmp(p + n - ns, suf, ns) != 0)
		return 0;
	if (p[i] == '-') {
		size_t start = ++i;
		while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
			i++;
		if (i == start)
			return 0;
	}
	/* An instance name follows the '@': a template itself logs nothing. */
	return i + 1 < n - ns && p[i] == '@';
}

/* journald takes _SYSTEMD_UNIT from the sender's cgroup, which only the
 * service manager places processes in, but it caches what it read by PID,
 * and when the sender is gone before journald reads its cgroup, it keeps the
 * cached one: a user whose process lands on a recently freed PID of a vlsink
 * instance, sends and exits at once, may get that instance's unit on the
 * entry.  _UID, on the contrary, journald takes from each message's own
 * credentials (SCM_CREDENTIALS), the kernel's word.  So an entry is vlsink's
 * when its _UID is that of CONN_USER, a static system user that no
 * unprivileged user can become, and its unit a vlsink instance or none:
 * journald lagging behind also reads the cgroup of a vlsink that has already
 * exited, and then whole connections come without _SYSTEMD_UNIT (and _COMM,
 * _EXE).  An unreadable field counts as someone else's. */
static int trusted(const struct input *in)
{
	const void *d;
	size_t len;

	if (sd_journal_get_data(in->j, "_UID", &d, &len) < 0 || len != in->uid_len ||
	    memcmp(d, in->uid_field, len) != 0)
		return 0;
	int r = sd_journal_get_data(in->j, "_SYSTEMD_UNIT", &d, &len);
	if (r == -ENOENT)
		return 1;
	return r == 0 && vlsink_unit(d, len);
}

static enum in_event bad_entry(struct in_bad *bad, const char *why, uint64_t usec, const char *p, size_t n)
{
	char t[TIME_LEN + 1];

	bad->why = why;
	t[fmt_time(t, (int64_t)(usec / 1000))] = '\0';
	snprintf(bad->where, sizeof(bad->where), "journal entry of %s", t);
	escape_sample(bad->sample, sizeof(bad->sample), p, n, 0);
	return IN_BAD;
}

/* Entries without LATITUDE are vlsink's rejects and summaries: not
 * positions, and not errors either. */
static enum in_event next_entry(struct input *in, struct fix *f, struct in_bad *bad, int *err)
{
	for (;;) {
		const void *d;
		size_t len;
		uint64_t usec = 0;
		int r = sd_journal_next(in->j);

		if (r < 0) {
			*err = r;
			return IN_ERROR;
		}
		if (r == 0)
			return IN_END;
		r = sd_journal_get_data(in->j, "LATITUDE", &d, &len);
		if (r == -ENOENT)
			continue;
		/* Checked before the fields, so that a forged entry cannot pass
		 * for an invalid record of vlsink's either. */
		if (in->by_units && !trusted(in))
			return IN_UNTRUSTED;
		if (sd_journal_get_realtime_usec(in->j, &usec) < 0)
			usec = 0;
		memset(f, 0, sizeof(*f));
		f->seen_ms = (int64_t)(usec / 1000);
		for (int k = 0; k < F_COUNT; k++) {
			const char *name = journal_field((enum slot)k);
			if (!name)
				continue;
			r = sd_journal_get_data(in->j, name, &d, &len);
			if (r == -ENOENT && k != F_LAT && k != F_LON)
				continue;
			if (r == -ENOENT)
				return bad_entry(bad, "no lat/lon", usec, name, strlen(name));
			if (r < 0)
				return bad_entry(bad, "unreadable field", usec, name, strlen(name));
			size_t skip = strlen(name) + 1;
			const char *why = len < skip ? "unreadable field" :
						       journal_value((enum slot)k, (const char *)d + skip, len - skip, &f->rec);
			if (why)
				return bad_entry(bad, why, usec, d, len);
		}
		return IN_FIX;
	}
}

enum in_event input_next(struct input *in, struct fix *f, struct in_bad *bad, int *err)
{
	return in->j ? next_entry(in, f, bad, err) : next_line(in, f, bad, err);
}

void input_close(struct input *in)
{
	if (!in)
		return;
	if (in->j)
		sd_journal_close(in->j);
	else
		linebuf_free(&in->lb);
	if (in->own_fd)
		close(in->fd);
	free(in);
}
