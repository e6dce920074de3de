/* GPX 1.1: one <trk> per vehicle named by its id, one <trkseg> holding its
 * positions in input order, with <ele> and <time> when known. */
#include <math.h>
#include <string.h>

#include "export.h"
#include "core/format.h"

void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static size_t put(char *dst, const char *s)
{
	size_t k = 0;

	for (; s[k]; k++)
		dst[k] = s[k];
	return k;
}

static void trkpt(FILE *out, const struct point *p)
{
	char buf[160];
	size_t n = 0;
	/* The schema's longitudeType stops short of 180: the same meridian is
	 * written as -180. */
	double lon = p->lon >= 180 ? -180 : p->lon;

	n += put(buf + n, "<trkpt lat=\"");
	n += fmt_fixed(buf + n, p->lat, 7);
	n += put(buf + n, "\" lon=\"");
	n += fmt_fixed(buf + n, lon, 7);
	n += put(buf + n, "\">");
	if (!isnan(p->alt)) {
		n += put(buf + n, "<ele>");
		n += fmt_fixed(buf + n, p->alt, 2);
		n += put(buf + n, "</ele>");
	}
	if (p->time_ms != TIME_NONE) {
		n += put(buf + n, "<time>");
		n += fmt_time(buf + n, p->time_ms);
		n += put(buf + n, "</time>");
	}
	n += put(buf + n, "</trkpt>\n");
	fwrite(buf, 1, n, out);
}

int gpx_write(FILE *out, const struct spool *s)
{
	size_t nv = spool_vehicles(s);

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<gpx version=\"1.1\" creator=\"vlsink-export\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n",
	      out);
	for (size_t i = 0; i < nv; i++) {
		struct walk w;
		struct point p;
		int r;

		fputs("<trk>\n", out);
		if (*spool_id(s, i)) {
			fputs("<name>", out);
			xml_text(out, spool_id(s, i));
			fputs("</name>\n", out);
		}
		fputs("<trkseg>\n", out);
		spool_walk(s, i, &w);
		while ((r = spool_next(s, i, &w, &p)) > 0)
			trkpt(out, &p);
		if (r < 0)
			return r;
		fputs("</trkseg>\n</trk>\n", out);
	}
	fputs("</gpx>\n", out);
	return 0;
}
