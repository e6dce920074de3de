/* Both clocks through clock_gettime, which cannot fail for these ids. */
#include <time.h>

#include "clock.h"

static int64_t ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}

int64_t realtime_ms(void)
{
	return ms(CLOCK_REALTIME);
}
