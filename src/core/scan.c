/* Strict scanners over byte ranges.  They return 0 on success and -1 when
 * the text is not exactly what was asked for; callers pick the reason. */
#include <string.h>

#include "calendar.h"
#include "record.h"
#include "scan.h"

/* Exact in a double, so that m / 10^k is correctly rounded. */
static const double pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [+-]digits[.digits]: no exponent, no spaces, at least one digit.  Digits
 * past the 18th significant one are dropped from the fraction; an integer
 * part that long is refused, as no coordinate or speed comes near it. */
static int scan_decimal_long(const char *p, size_t n, double *out)
{
	size_t i = 0;
	int neg = 0, sig = 0, frac = 0, dot = 0, any = 0;
	uint64_t m = 0;

	if (n > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i++;
	}
	for (; i < n; i++) {
		if (p[i] == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (!is_digit(p[i]))
			return -1;
		any = 1;
		if (!dot) {
			if (sig >= 18)
				return -1;
		} else if (sig >= 18 || frac >= 18) {
			continue;
		}
		m = m * 10 + (uint64_t)(p[i] - '0');
		sig += m != 0;
		frac += dot;
	}
	if (!any)
		return -1;
	double v = (double)m / pow10_tab[frac];
	*out = neg ? -v : v;
	return 0;
}

/* [+-]digits[.digits]: no exponent, no spaces, at least one digit.  Up to 18
 * characters after the sign, the digits fit a uint64_t exactly: the common
 * case, and the fast one. */
int scan_decimal(const char *p, size_t n, double *out)
{
	size_t i = 0, dot = 0;
	int neg = 0;
	uint64_t m = 0;

	if (n > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i++;
	}
	if (n - i > 18)
		return scan_decimal_long(p, n, out);
	size_t start = i;
	for (; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d <= 9)
			m = m * 10 + d;
		else if (p[i] == '.' && !dot)
			dot = i + 1;
		else
			return -1;
	}
	if (n - start - (dot != 0) == 0)
		return -1;
	double v = (double)m / pow10_tab[dot ? n - dot : 0];
	*out = neg ? -v : v;
	return 0;
}

int scan_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int scan_uint(const char *p, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int two(const char *p, unsigned *v)
{
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return -1;
	*v = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	return 0;
}

/* ".ddd...": milliseconds, rounded down; extra digits are allowed. */
static int fraction_ms(const char *p, size_t n, int64_t *ms)
{
	int64_t v = 0, scale = 100;

	if (n < 2 || p[0] != '.')
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v += (p[i] - '0') * scale;
		scale /= 10;
	}
	*ms = v;
	return 0;
}

int scan_hhmmss(const char *p, size_t n, int64_t *ms_of_day)
{
	unsigned h, m, s;
	int64_t frac = 0;

	if (n < 6 || two(p, &h) || two(p + 2, &m) || two(p + 4, &s))
		return -1;
	if (n > 6 && fraction_ms(p + 6, n - 6, &frac))
		return -1;
	if (h > 23 || m > 59 || s > 60)
		return -1;
	*ms_of_day = ((int64_t)h * 3600 + (int64_t)m * 60 + s) * 1000 + frac;
	return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.fff]Z; "+00:00" or "+0000" may stand for Z and a space
 * for T.  A time without a zone is refused rather than guessed. */
int scan_iso8601(const char *p, size_t n, int64_t *ms)
{
	unsigned c, yy, mo, d, h, mi, s;
	int64_t frac = 0;
	size_t i = 19, z;

	if (n < 20 || two(p, &c) || two(p + 2, &yy) || p[4] != '-' || two(p + 5, &mo) ||
	    p[7] != '-' || two(p + 8, &d) || (p[10] != 'T' && p[10] != ' ') ||
	    two(p + 11, &h) || p[13] != ':' || two(p + 14, &mi) || p[16] != ':' ||
	    two(p + 17, &s))
		return -1;
	if (p[i] == '.') {
		z = i + 1;
		while (z < n && is_digit(p[z]))
			z++;
		if (fraction_ms(p + i, z - i, &frac))
			return -1;
		i = z;
	}
	if (!((n - i == 1 && p[i] == 'Z') ||
	      (n - i == 6 && !memcmp(p + i, "+00:00", 6)) ||
	      (n - i == 5 && !memcmp(p + i, "+0000", 5))))
		return -1;
	int y = (int)(c * 100 + yy);
	if (!valid_date(y, mo, d) || h > 23 || mi > 59 || s > 60)
		return -1;
	*ms = days_from_civil(y, mo, d) * MS_PER_DAY + ((int64_t)h * 3600 + (int64_t)mi * 60 + s) * 1000 + frac;
	return 0;
}

int scan_compact_time(const char *p, size_t n, int64_t *ms)
{
	unsigned c, yy, mo, d, h, mi, s;

	if (n != 14 || two(p, &c) || two(p + 2, &yy) || two(p + 4, &mo) || two(p + 6, &d) ||
	    two(p + 8, &h) || two(p + 10, &mi) || two(p + 12, &s))
		return -1;
	int y = (int)(c * 100 + yy);
	if (!valid_date(y, mo, d) || h > 23 || mi > 59 || s > 60)
		return -1;
	*ms = days_from_civil(y, mo, d) * MS_PER_DAY + ((int64_t)h * 3600 + (int64_t)mi * 60 + s) * 1000;
	return 0;
}

/* Unix seconds with an optional fraction, from 1970 to 2199. */
int scan_epoch(const char *p, size_t n, int64_t *ms)
{
	size_t i = 0;
	int64_t s = 0, frac = 0;

	while (i < n && is_digit(p[i])) {
		if (i >= 10)
			return -1;
		s = s * 10 + (p[i] - '0');
		i++;
	}
	if (i == 0)
		return -1;
	if (i < n && fraction_ms(p + i, n - i, &frac))
		return -1;
	if (s > INT64_C(7258118399))
		return -1;
	*ms = s * 1000 + frac;
	return 0;
}

int scan_split(const char *p, size_t n, char sep, struct scan_fields *f)
{
	size_t start = 0;

	f->count = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != sep)
			continue;
		if (f->count == SCAN_FIELDS_MAX)
			return -1;
		f->p[f->count] = p + start;
		f->n[f->count] = i - start;
		f->count++;
		start = i + 1;
	}
	return 0;
}

int scan_is(const struct scan_fields *f, unsigned i, const char *word)
{
	size_t len = strlen(word);

	return i < f->count && f->n[i] == len && memcmp(f->p[i], word, len) == 0;
}

/* ddmm.mmmm, degrees times 100 plus minutes, unsigned: the coordinate of
 * NMEA and of the trackers that copy it.  The digits before the point are
 * counted because their number tells this form from decimal degrees.  Returns
 * 0, -1 when the text does not scan, -2 when the minutes reach 60 or the value
 * passes lim degrees. */
int scan_ddmm(const char *p, size_t n, size_t min_digits, size_t max_digits, double lim, double *deg)
{
	double v;

	if (n == 0 || p[0] == '-' || p[0] == '+' || scan_decimal(p, n, &v))
		return -1;
	/* Checked before the conversion below, which would overflow an int
	 * on the eighteen digits that scan_decimal lets through. */
	if (v >= (lim + 1) * 100)
		return -2;
	const char *dot = memchr(p, '.', n);
	size_t digits = dot ? (size_t)(dot - p) : n;
	if (digits < min_digits || digits > max_digits)
		return -1;
	double d = (double)(int)(v / 100);
	double min = v - d * 100;
	v = d + min / 60;
	if (min >= 60 || v > lim)
		return -2;
	*deg = v;
	return 0;
}

/* Ids go into journal fields and JSON unescaped, so only a safe alphabet is
 * taken: letters, digits and . _ - : @ */
int scan_vehicle(const char *p, size_t n, char *out)
{
	if (n == 0 || n > VEHICLE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
		      c == '.' || c == '_' || c == '-' || c == ':' || c == '@'))
			return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}
