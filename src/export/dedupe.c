/* One point per vehicle and instant.  vlsink merges the sentences of a fix,
 * but records from before merging, from --merge=none or from two collectors
 * can still hold a vehicle twice at one time: a track viewer would draw a
 * zero-time step.  The first point of an instant is kept, later ones are
 * dropped and counted.  A hash table of the vehicles' last fix times, sized
 * once from --max-vehicles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

struct seen {
	char id[VEHICLE_MAX + 1]; /* "" for records without a vehicle. */
	int used;
	int64_t last;
};

struct dedupe {
	struct seen *slot;
	size_t mask, used, max;
};

int dedupe_open(struct dedupe **d, size_t max_vehicles)
{
	size_t cap = 16;

	while (cap < 2 * max_vehicles)
		cap *= 2;
	*d = calloc(1, sizeof(**d));
	if (!*d)
		return -ENOMEM;
	(*d)->slot = calloc(cap, sizeof(struct seen));
	if (!(*d)->slot) {
		free(*d);
		return -ENOMEM;
	}
	(*d)->mask = cap - 1;
	(*d)->max = max_vehicles;
	return 0;
}

/* FNV-1a: short keys, no adversary worth a keyed hash (the input is the
 * operator's own records). */
static size_t hash(const char *s)
{
	size_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

int dedupe_drop(struct dedupe *d, const struct record *r)
{
	if (!(r->have & HAVE_TIME))
		return 0;
	for (size_t i = hash(r->vehicle) & d->mask;; i = (i + 1) & d->mask) {
		struct seen *s = &d->slot[i];
		if (!s->used) {
			/* Past --max-vehicles (CSV only: the grouped formats
			 * stop there anyway) a vehicle is not remembered. */
			if (d->used == d->max)
				return 0;
			s->used = 1;
			d->used++;
			memcpy(s->id, r->vehicle, sizeof(s->id));
			s->last = r->time_ms;
			return 0;
		}
		if (!strcmp(s->id, r->vehicle)) {
			if (s->last == r->time_ms)
				return 1;
			s->last = r->time_ms;
			return 0;
		}
	}
}

void dedupe_close(struct dedupe *d)
{
	if (!d)
		return;
	free(d->slot);
	free(d);
}
