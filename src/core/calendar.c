/* Proleptic Gregorian calendar arithmetic on day numbers (days since
 * 1970-01-01), exact for every date vlsink accepts. */
#include "calendar.h"

/* Howard Hinnant's days_from_civil, proleptic Gregorian. */
int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

int valid_date(int y, unsigned m, unsigned d)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (y < 1970 || y > 2199 || m < 1 || m > 12 || d < 1)
		return 0;
	unsigned lim = mdays[m - 1];
	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		lim = 29;
	return d <= lim;
}

#define ROLLOVER_MS (MS_PER_DAY * 7 * 1024)
#define LAST_ROLLOVER_MS (MS_PER_DAY * 17993)

int gps_rollover(int64_t *t_ms, int64_t limit_ms)
{
	int moved = 0;

	while (*t_ms < LAST_ROLLOVER_MS && *t_ms + ROLLOVER_MS <= limit_ms) {
		*t_ms += ROLLOVER_MS;
		moved++;
	}
	return moved;
}
