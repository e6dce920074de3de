/* CSV, one row per record as it arrives: the streaming format, nothing is
 * held back.  Columns as in vlsink's own CSV, without format, peer and the
 * fix quality; then the accuracy and the archive flag, at the end, where
 * columns are added. */
#include <string.h>

#include "export.h"
#include "core/format.h"

void csv_header(FILE *out)
{
	fputs("vehicle,time,lat,lon,speed,course,alt,accuracy,archive\n", out);
}

void csv_row(FILE *out, const struct record *r)
{
	char buf[VEHICLE_MAX + TIME_LEN + 9 * 24];
	size_t n = strlen(r->vehicle);

	memcpy(buf, r->vehicle, n);
	buf[n++] = ',';
	if (r->have & HAVE_TIME)
		n += fmt_time(buf + n, r->time_ms);
	buf[n++] = ',';
	n += fmt_fixed(buf + n, r->lat, 7);
	buf[n++] = ',';
	n += fmt_fixed(buf + n, r->lon, 7);
	buf[n++] = ',';
	if (r->have & HAVE_SPEED)
		n += fmt_fixed(buf + n, r->speed, 3);
	buf[n++] = ',';
	if (r->have & HAVE_COURSE)
		n += fmt_fixed(buf + n, r->course, 2);
	buf[n++] = ',';
	if (r->have & HAVE_ALT)
		n += fmt_fixed(buf + n, r->alt, 2);
	buf[n++] = ',';
	if (r->have & HAVE_ACCURACY)
		n += fmt_fixed(buf + n, r->accuracy, 1);
	buf[n++] = ',';
	if (r->have & ARCHIVED)
		buf[n++] = '1';
	buf[n++] = '\n';
	fwrite(buf, 1, n, out);
}
