/* Dates as day numbers and back, and the range of years vlsink accepts. */
#ifndef VLSINK_CALENDAR_H
#define VLSINK_CALENDAR_H

#include <stdint.h>

#define MS_PER_DAY INT64_C(86400000)

int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* A real date from 1970 to 2199. */
int valid_date(int y, unsigned m, unsigned d);

#endif
