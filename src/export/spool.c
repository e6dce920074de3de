/* Grouping by vehicle for the formats that write one track after another.
 * Each vehicle keeps one block of positions in memory; a full block goes to
 * an unlinked temporary file and is chained to the vehicle's previous one,
 * so memory grows with the number of vehicles and the input's length costs
 * only disk.  Reading back follows each vehicle's chain in input order. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"

struct block {
	int64_t next; /* Offset of the vehicle's next block, -1 for none yet. */
	uint32_t n, pad;
	struct point pt[SPOOL_BLOCK];
};

struct vehicle {
	char id[VEHICLE_MAX + 1]; /* Empty for records without a vehicle. */
	uint64_t count;
	int64_t first, last; /* Offsets of its first and last block on file, or -1. */
	unsigned n;          /* Positions in the block below, not yet on file. */
	struct point pt[SPOOL_BLOCK];
};

struct spool {
	struct vehicle **v;
	size_t nv, cap, max;
	uint32_t *slot; /* Open addressing: index + 1 into v, 0 when free. */
	size_t mask;
	int fd;
	int64_t end;
	struct bounds b;
};

int spool_open(struct spool **sp, size_t max_vehicles)
{
	struct spool *s = calloc(1, sizeof(*s));
	size_t size = 16;

	if (!s)
		return -ENOMEM;
	/* At most half full, so that probes stay short. */
	while (size < 2 * max_vehicles)
		size *= 2;
	s->slot = calloc(size, sizeof(*s->slot));
	if (!s->slot) {
		free(s);
		return -ENOMEM;
	}
	s->mask = size - 1;
	s->max = max_vehicles;
	s->fd = -1;
	s->b.lat_min = s->b.lon_min = INFINITY;
	s->b.lat_max = s->b.lon_max = -INFINITY;
	s->b.t_min = s->b.t_max = TIME_NONE;
	*sp = s;
	return 0;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nv; i++)
		free(s->v[i]);
	free(s->v);
	free(s->slot);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static uint32_t hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

static int vehicle(struct spool *s, const char *id, struct vehicle **out)
{
	size_t i = hash(id) & s->mask;

	for (; s->slot[i]; i = (i + 1) & s->mask) {
		struct vehicle *v = s->v[s->slot[i] - 1];
		if (strcmp(v->id, id) == 0) {
			*out = v;
			return 0;
		}
	}
	if (s->nv == s->max)
		return -E2BIG;
	if (s->nv == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct vehicle **nv = realloc(s->v, cap * sizeof(struct vehicle *));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	struct vehicle *v = malloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v->id, id, strlen(id) + 1);
	v->count = 0;
	v->first = v->last = -1;
	v->n = 0;
	s->v[s->nv++] = v;
	s->slot[i] = (uint32_t)s->nv;
	*out = v;
	return 0;
}

static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: a named file, unlinked at once. */
	int n = snprintf(path, sizeof(path), "%s/vlsink-export.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

static int write_at(int fd, const void *buf, size_t n, int64_t off)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int flush(struct spool *s, struct vehicle *v)
{
	struct block b;
	int r;

	if (s->fd < 0) {
		if ((r = temp_file()) < 0)
			return r;
		s->fd = r;
	}
	memset(&b, 0, sizeof(b));
	b.next = -1;
	b.n = v->n;
	memcpy(b.pt, v->pt, v->n * sizeof(v->pt[0]));
	if ((r = write_at(s->fd, &b, sizeof(b), s->end)) < 0)
		return r;
	if (v->last >= 0)
		r = write_at(s->fd, &s->end, sizeof(s->end), v->last + (int64_t)offsetof(struct block, next));
	else
		v->first = s->end;
	if (r < 0)
		return r;
	v->last = s->end;
	s->end += (int64_t)sizeof(b);
	v->n = 0;
	return 0;
}

int spool_add(struct spool *s, const struct record *r)
{
	struct vehicle *v;
	struct bounds *b = &s->b;
	int e = vehicle(s, r->vehicle, &v);

	if (e < 0)
		return e;
	if (v->n == SPOOL_BLOCK && (e = flush(s, v)) < 0)
		return e;
	struct point *p = &v->pt[v->n++];
	p->time_ms = (r->have & HAVE_TIME) ? r->time_ms : TIME_NONE;
	p->lat = r->lat;
	p->lon = r->lon;
	p->alt = (r->have & HAVE_ALT) ? r->alt : NAN;
	v->count++;
	b->points++;
	b->lat_min = fmin(b->lat_min, r->lat);
	b->lat_max = fmax(b->lat_max, r->lat);
	b->lon_min = fmin(b->lon_min, r->lon);
	b->lon_max = fmax(b->lon_max, r->lon);
	if (p->time_ms != TIME_NONE) {
		if (b->t_min == TIME_NONE || p->time_ms < b->t_min)
			b->t_min = p->time_ms;
		if (b->t_max == TIME_NONE || p->time_ms > b->t_max)
			b->t_max = p->time_ms;
	}
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct vehicle *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

/* Tracks come out ordered by vehicle id.  No vehicle is added after this:
 * the index no longer matches. */
void spool_sort(struct spool *s)
{
	if (s->nv > 1)
		qsort(s->v, s->nv, sizeof(struct vehicle *), by_id);
}

size_t spool_vehicles(const struct spool *s)
{
	return s->nv;
}

const char *spool_id(const struct spool *s, size_t i)
{
	return s->v[i]->id;
}

uint64_t spool_count(const struct spool *s, size_t i)
{
	return s->v[i]->count;
}

const struct bounds *spool_bounds(const struct spool *s)
{
	return &s->b;
}

void spool_walk(const struct spool *s, size_t i, struct walk *w)
{
	w->next = s->v[i]->first;
	w->i = w->n = 0;
	w->tail = 0;
}

int spool_next(const struct spool *s, size_t i, struct walk *w, struct point *p)
{
	const struct vehicle *v = s->v[i];
	struct block b;

	while (w->i == w->n) {
		if (w->tail)
			return 0;
		if (w->next < 0) {
			memcpy(w->pt, v->pt, v->n * sizeof(v->pt[0]));
			w->n = v->n;
			w->i = 0;
			w->tail = 1;
			continue;
		}
		ssize_t r = pread(s->fd, &b, sizeof(b), (off_t)w->next);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if ((size_t)r != sizeof(b) || b.n == 0 || b.n > SPOOL_BLOCK)
			return -EIO;
		memcpy(w->pt, b.pt, b.n * sizeof(b.pt[0]));
		w->n = b.n;
		w->i = 0;
		w->next = b.next;
	}
	*p = w->pt[w->i++];
	return 1;
}
