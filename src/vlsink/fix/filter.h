/* Position filters, per vehicle, in the spirit of Traccar's FilterHandler:
 * a fix that is no fact (0,0), one already delivered (same time), one from
 * the future or the distant past, an impossible jump, too soon, too close,
 * too imprecise.  Pure: the caller passes the clock. */
#ifndef VLSINK_FILTER_H
#define VLSINK_FILTER_H

#include <stdint.h>

#include "core/record.h"

enum filter_kind {
	FL_ZERO,      /* 0,0: on by default. */
	FL_DUPLICATE, /* Same fix time as the vehicle's last record: on by default. */
	FL_FUTURE,    /* More than future_ms ahead of the clock. */
	FL_PAST,      /* More than past_ms behind the clock. */
	FL_ACCURACY,  /* HDOP above max_hdop. */
	FL_SPEED,     /* Implied speed from the last kept position above max_speed,
		       * and from the last fix it dropped, if any. */
	FL_PERIOD,    /* Less than min_period_ms since the last kept record. */
	FL_DISTANCE,  /* Moved less than min_distance metres. */
	FL_COUNT,
	FL_KEEP = FL_COUNT,
};

struct filter_opts {
	int zero, duplicate; /* 1: on. */
	int64_t future_ms, past_ms, min_period_ms; /* 0: off. */
	double max_speed, min_distance, max_hdop;  /* 0: off. */
};

/* Vehicles remembered per connection: a gateway's CSV may carry many; past
 * this many, the least recently seen one is forgotten. */
#define FILTER_VEHICLES 64

struct filter_last {
	char vehicle[VEHICLE_MAX + 1];
	int64_t time_ms, seen;
	double lat, lon;
	int have_time;
	/* The last fix max_speed dropped since the last kept one: a fix that
	 * agrees with it shows the kept one was the outlier. */
	int jumped;
	int64_t jump_ms;
	double jump_lat, jump_lon;
};

struct filter {
	struct filter_opts o;
	struct filter_last last[FILTER_VEHICLES];
	int64_t tick;
};

void filter_init(struct filter *f, const struct filter_opts *o);
/* FL_KEEP (and the record becomes the vehicle's last), or why it goes. */
enum filter_kind filter_check(struct filter *f, const struct record *r, const char *vehicle, int64_t now_ms);
const char *filter_name(enum filter_kind k);

#endif
