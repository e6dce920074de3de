/* The one clock: milliseconds, monotonic for timeouts and rate limits,
 * real time for dating fixes. */
#ifndef VLSINK_CLOCK_H
#define VLSINK_CLOCK_H

#include <stdint.h>

int64_t monotonic_ms(void);
int64_t realtime_ms(void);

#endif
