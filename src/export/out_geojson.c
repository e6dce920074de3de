/* GeoJSON (RFC 7946): a FeatureCollection with one feature per vehicle, a
 * LineString of [lon, lat] pairs, or a Point for a vehicle seen once (a
 * LineString needs two positions).  The fix times go in the properties,
 * one per position, null when unknown.  No "crs": RFC 7946 is WGS84 only. */
#include <math.h>

#include "export.h"
#include "core/format.h"

static void position(FILE *out, const struct point *p)
{
	char buf[64];
	size_t n = 0;

	buf[n++] = '[';
	n += fmt_fixed(buf + n, p->lon, 7);
	buf[n++] = ',';
	n += fmt_fixed(buf + n, p->lat, 7);
	buf[n++] = ']';
	fwrite(buf, 1, n, out);
}

static int coordinates(FILE *out, const struct spool *s, size_t i)
{
	struct walk w;
	struct point p;
	int r, k = 0;

	spool_walk(s, i, &w);
	while ((r = spool_next(s, i, &w, &p)) > 0) {
		if (k++)
			fputc(',', out);
		position(out, &p);
	}
	return r;
}

static int times(FILE *out, const struct spool *s, size_t i)
{
	struct walk w;
	struct point p;
	char t[TIME_LEN + 2];
	int r, k = 0;

	spool_walk(s, i, &w);
	while ((r = spool_next(s, i, &w, &p)) > 0) {
		if (k++)
			fputc(',', out);
		if (p.time_ms == TIME_NONE) {
			fputs("null", out);
			continue;
		}
		t[0] = '"';
		fmt_time(t + 1, p.time_ms);
		t[TIME_LEN + 1] = '"';
		fwrite(t, 1, sizeof(t), out);
	}
	return r;
}

int geojson_write(FILE *out, const struct spool *s)
{
	size_t nv = spool_vehicles(s);
	int r;

	fputs("{\"type\":\"FeatureCollection\",\"features\":[", out);
	for (size_t i = 0; i < nv; i++) {
		int point = spool_count(s, i) == 1;
		const char *id = spool_id(s, i);

		fputs(i ? ",\n" : "\n", out);
		fputs(point ? "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
			    : "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[",
		      out);
		if ((r = coordinates(out, s, i)) < 0)
			return r;
		fputs(point ? "},\"properties\":{\"vehicle\":" : "]},\"properties\":{\"vehicle\":", out);
		/* Vehicle ids are of a JSON-safe alphabet (scan_vehicle). */
		if (*id)
			fprintf(out, "\"%s\"", id);
		else
			fputs("null", out);
		fputs(",\"times\":[", out);
		if ((r = times(out, s, i)) < 0)
			return r;
		fputs("]}}", out);
	}
	fputs("\n]}\n", out);
	return 0;
}
