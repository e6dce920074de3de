/* Dates as day numbers and back, the range of years vlsink accepts, and
 * the GPS week rollover. */
#ifndef VLSINK_CALENDAR_H
#define VLSINK_CALENDAR_H

#include <stdint.h>

#define MS_PER_DAY INT64_C(86400000)

int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* A real date from 1970 to 2199. */
int valid_date(int y, unsigned m, unsigned d);
/* A GPS date before the last week rollover (2019-04-07) moves forward 1024
 * weeks at a time while that keeps it at or before limit_ms (the clock plus
 * a day, for a receiver ahead of a slow host clock): fixes really that old
 * stay, as their moved date would still be to come.  Returns how many
 * times it moved. */
int gps_rollover(int64_t *t_ms, int64_t limit_ms);

#endif
