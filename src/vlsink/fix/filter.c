/* Each filter compares a fix with the clock or with the last fix kept for
 * the same vehicle; the first that objects names the reason.  Filtered fixes
 * are counted, not logged one by one. */
#include <math.h>
#include <string.h>

#include "vlsink/fix/filter.h"

/* Mean Earth radius (IUGG), metres. */
#define EARTH_R 6371008.8

void filter_init(struct filter *f, const struct filter_opts *o)
{
	memset(f, 0, sizeof(*f));
	f->o = *o;
}

const char *filter_name(enum filter_kind k)
{
	static const char *const names[FL_COUNT] = {
		[FL_ZERO] = "zero",	    [FL_DUPLICATE] = "duplicate", [FL_FUTURE] = "future",
		[FL_PAST] = "past",	    [FL_ACCURACY] = "hdop",	  [FL_SPEED] = "max-speed",
		[FL_PERIOD] = "min-period", [FL_DISTANCE] = "min-distance",
	};
	return names[k];
}

/* Haversine: exact enough at every distance a vehicle covers. */
static double distance_m(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * EARTH_R * asin(sqrt(a < 1 ? a : 1));
}

/* The vehicle's slot: found, or the least recently seen one taken over. */
static struct filter_last *slot_for(struct filter *f, const char *vehicle)
{
	struct filter_last *oldest = &f->last[0];
	const char *v = vehicle ? vehicle : "";

	for (int i = 0; i < FILTER_VEHICLES; i++) {
		struct filter_last *l = &f->last[i];
		if (l->seen && !strcmp(l->vehicle, v))
			return l;
		if (l->seen < oldest->seen)
			oldest = l;
	}
	memset(oldest, 0, sizeof(*oldest));
	strncpy(oldest->vehicle, v, VEHICLE_MAX);
	return oldest;
}

/* Metres per second over d metres from t0_ms to a later t1_ms. */
static double speed(double d, int64_t t0_ms, int64_t t1_ms)
{
	return d / ((double)(t1_ms - t0_ms) / 1000);
}

/* r comes after the last fix max_speed dropped, no faster than it allows. */
static int agrees_with_dropped(const struct filter_opts *o, const struct filter_last *l, const struct record *r)
{
	if (!l->jumped || r->time_ms <= l->jump_ms)
		return 0;
	double d = distance_m(l->jump_lat, l->jump_lon, r->lat, r->lon);
	return speed(d, l->jump_ms, r->time_ms) <= o->max_speed;
}

static enum filter_kind judge(const struct filter_opts *o, const struct filter_last *l, const struct record *r,
			      int64_t now_ms)
{
	int timed = (r->have & HAVE_TIME) != 0, both = timed && l->seen && l->have_time;

	if (o->zero && r->lat == 0 && r->lon == 0)
		return FL_ZERO;
	if (o->duplicate && both && r->time_ms == l->time_ms)
		return FL_DUPLICATE;
	if (o->future_ms && timed && r->time_ms > now_ms + o->future_ms)
		return FL_FUTURE;
	if (o->past_ms && timed && r->time_ms < now_ms - o->past_ms)
		return FL_PAST;
	if (o->max_hdop > 0 && (r->have & HAVE_HDOP) && r->hdop > o->max_hdop)
		return FL_ACCURACY;
	if (!l->seen || !(o->max_speed > 0 || o->min_period_ms || o->min_distance > 0))
		return FL_KEEP;
	/* The trigonometry only when a filter asks for the distance. */
	double d = o->max_speed > 0 || o->min_distance > 0 ? distance_m(l->lat, l->lon, r->lat, r->lon) : 0;
	/* A fix that agrees with the one dropped before it, and not with the
	 * last kept one, shows that the kept one was the outlier (or that the
	 * vehicle really jumped): it passes, and once kept it is the one the
	 * next fixes are judged against. */
	if (o->max_speed > 0 && both && r->time_ms > l->time_ms && speed(d, l->time_ms, r->time_ms) > o->max_speed &&
	    !agrees_with_dropped(o, l, r))
		return FL_SPEED;
	if (o->min_period_ms && both && r->time_ms - l->time_ms < o->min_period_ms)
		return FL_PERIOD;
	if (o->min_distance > 0 && d < o->min_distance)
		return FL_DISTANCE;
	return FL_KEEP;
}

enum filter_kind filter_check(struct filter *f, const struct record *r, const char *vehicle, int64_t now_ms)
{
	struct filter_last *l = slot_for(f, vehicle);
	enum filter_kind k = judge(&f->o, l, r, now_ms);

	l->seen = ++f->tick;
	if (k == FL_SPEED) {
		l->jumped = 1;
		l->jump_ms = r->time_ms;
		l->jump_lat = r->lat;
		l->jump_lon = r->lon;
	}
	if (k != FL_KEEP)
		return k;
	l->time_ms = r->time_ms;
	l->have_time = (r->have & HAVE_TIME) != 0;
	l->lat = r->lat;
	l->lon = r->lon;
	l->jumped = 0;
	return FL_KEEP;
}
