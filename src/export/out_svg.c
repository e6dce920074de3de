/* SVG quick-look: every track on one equirectangular plot, north up, x
 * scaled by the cosine of the middle latitude so that shapes keep their
 * proportions.  Readable without a map: a frame with degree labels, a scale
 * bar, and per vehicle a colour, start and end markers and a label. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "core/format.h"

/* Metres per degree of latitude on the mean Earth radius, 6371.0088 km. */
#define M_PER_DEG 111195.08
/* A vehicle that stood still still gets a plot a few streets wide. */
#define MIN_SPAN_M 200.0
#define MARGIN_L 84
#define MARGIN_R 24
#define MARGIN_T 44
#define MARGIN_B 60
#define PI 3.14159265358979323846

struct frame {
	double lat_min, lat_max, lon_min, lon_max;
	double k;    /* cos(middle latitude): x shrinks with it. */
	double s;    /* Pixels per degree of latitude. */
	double x0, y0, w, h;
};

static double px_x(const struct frame *f, double lon)
{
	return f->x0 + (lon - f->lon_min) * f->k * f->s;
}

static double px_y(const struct frame *f, double lat)
{
	return f->y0 + (f->lat_max - lat) * f->s;
}

/* The data's extent, widened to the minimum span and a 5 % margin, then to
 * the plot area's proportions so that the frame fills it. */
static void frame_fit(struct frame *f, const struct bounds *b, const struct svg_size *size)
{
	double min_span = MIN_SPAN_M / M_PER_DEG;
	double mid_lat = (b->lat_min + b->lat_max) / 2, mid_lon = (b->lon_min + b->lon_max) / 2;
	double span_lat = b->lat_max - b->lat_min, span_lon = b->lon_max - b->lon_min;

	f->k = cos(mid_lat * PI / 180);
	if (f->k < 0.01)
		f->k = 0.01;
	span_lat = fmax(span_lat, min_span) * 1.1;
	span_lon = fmax(span_lon * f->k, min_span) * 1.1;
	f->x0 = MARGIN_L;
	f->y0 = MARGIN_T;
	f->w = size->width - MARGIN_L - MARGIN_R;
	f->h = size->height - MARGIN_T - MARGIN_B;
	f->s = fmin(f->w / span_lon, f->h / span_lat);
	span_lat = f->h / f->s;
	span_lon = f->w / f->s / f->k;
	f->lat_min = mid_lat - span_lat / 2;
	f->lat_max = mid_lat + span_lat / 2;
	f->lon_min = mid_lon - span_lon / 2;
	f->lon_max = mid_lon + span_lon / 2;
}

/* 1, 2 or 5 times a power of ten, near span / n. */
static double nice_step(double span, double n)
{
	double raw = span / n, mag = pow(10, floor(log10(raw))), r = raw / mag;

	return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static int decimals(double step)
{
	int d = (int)ceil(-log10(step) - 1e-9);

	return d < 0 ? 0 : d > 7 ? 7 : d;
}

static void put_px(FILE *out, double v)
{
	char buf[32];
	size_t n = fmt_fixed(buf, v, 1);

	fwrite(buf, 1, n, out);
}

static void degrees(FILE *out, double v, int dec, char pos, char neg)
{
	double a = fabs(v);

	if (a < 0.5 * pow(10, -dec))
		fprintf(out, "%.*f\xc2\xb0", dec, 0.0);
	else
		fprintf(out, "%.*f\xc2\xb0%c", dec, a, v < 0 ? neg : pos);
}

static void axes(FILE *out, const struct frame *f)
{
	double step_lon = nice_step(f->lon_max - f->lon_min, 5);
	double step_lat = nice_step(f->lat_max - f->lat_min, 5);
	double bottom = f->y0 + f->h, right = f->x0 + f->w;

	fputs("<g stroke=\"#dddddd\" stroke-width=\"1\">\n", out);
	for (int j = 0; j < 50; j++) {
		double lon = (ceil(f->lon_min / step_lon) + j) * step_lon;
		if (lon > f->lon_max)
			break;
		fputs("<line x1=\"", out);
		put_px(out, px_x(f, lon));
		fprintf(out, "\" y1=\"%.0f\" x2=\"", f->y0);
		put_px(out, px_x(f, lon));
		fprintf(out, "\" y2=\"%.0f\"/>\n", bottom);
	}
	for (int j = 0; j < 50; j++) {
		double lat = (ceil(f->lat_min / step_lat) + j) * step_lat;
		if (lat > f->lat_max)
			break;
		fprintf(out, "<line x1=\"%.0f\" y1=\"", f->x0);
		put_px(out, px_y(f, lat));
		fprintf(out, "\" x2=\"%.0f\" y2=\"", right);
		put_px(out, px_y(f, lat));
		fputs("\"/>\n", out);
	}
	fputs("</g>\n<g font-size=\"11\" fill=\"#333333\">\n", out);
	for (int j = 0; j < 50; j++) {
		double lon = (ceil(f->lon_min / step_lon) + j) * step_lon;
		if (lon > f->lon_max)
			break;
		fputs("<text text-anchor=\"middle\" x=\"", out);
		put_px(out, px_x(f, lon));
		fprintf(out, "\" y=\"%.0f\">", bottom + 16);
		degrees(out, lon, decimals(step_lon), 'E', 'W');
		fputs("</text>\n", out);
	}
	for (int j = 0; j < 50; j++) {
		double lat = (ceil(f->lat_min / step_lat) + j) * step_lat;
		if (lat > f->lat_max)
			break;
		fprintf(out, "<text text-anchor=\"end\" x=\"%.0f\" y=\"", f->x0 - 6);
		put_px(out, px_y(f, lat) + 4);
		fputs("\">", out);
		degrees(out, lat, decimals(step_lat), 'N', 'S');
		fputs("</text>\n", out);
	}
	fputs("</g>\n", out);
	fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#555555\"/>\n",
		f->x0, f->y0, f->w, f->h);
}

/* About a fifth of the frame's width, rounded down to 1, 2 or 5 units. */
static void scale_bar(FILE *out, const struct frame *f, const struct svg_size *size)
{
	double m_per_px = M_PER_DEG / f->s;
	double want = f->w / 5 * m_per_px, mag = pow(10, floor(log10(want))), r = want / mag;
	double len = (r >= 5 ? 5 : r >= 2 ? 2 : 1) * mag, px = len / m_per_px;
	double x1 = size->width - MARGIN_R, x0 = x1 - px, y = size->height - 16;

	fputs("<g stroke=\"#333333\" stroke-width=\"2\" fill=\"none\">\n<path d=\"M", out);
	put_px(out, x0);
	fprintf(out, " %.0fv6H", y - 6);
	put_px(out, x1);
	fputs("v-6\"/>\n</g>\n<text font-size=\"11\" fill=\"#333333\" text-anchor=\"end\" x=\"", out);
	put_px(out, x0 - 6);
	fprintf(out, "\" y=\"%.0f\">", y);
	if (len >= 1000)
		fprintf(out, "%g km", len / 1000);
	else
		fprintf(out, "%g m", len);
	fputs("</text>\n", out);
}

/* Ten well-separated colours, then hues a golden angle apart. */
static void colour(char *dst, size_t i)
{
	static const char *const palette[] = {
		"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
		"#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79",
	};
	size_t np = sizeof(palette) / sizeof(palette[0]);

	if (i < np) {
		snprintf(dst, 8, "%s", palette[i]);
		return;
	}
	double h = fmod((double)i * 137.508, 360) / 60, c = 0.6, x = c * (1 - fabs(fmod(h, 2) - 1)), m = 0.15;
	double rgb[6][3] = { { c, x, 0 }, { x, c, 0 }, { 0, c, x }, { 0, x, c }, { x, 0, c }, { c, 0, x } };
	const double *v = rgb[(int)h % 6];
	snprintf(dst, 8, "#%02x%02x%02x", (unsigned)lround((v[0] + m) * 255), (unsigned)lround((v[1] + m) * 255),
		 (unsigned)lround((v[2] + m) * 255));
}

/* Points closer than a tenth of a pixel to the last one drawn are left
 * out: a long track stays a small file. */
static int track(FILE *out, const struct spool *s, size_t i, const struct frame *f)
{
	char c[8];
	struct walk w;
	struct point p;
	double fx = 0, fy = 0, lx = 0, ly = 0;
	long px = 0, py = 0;
	uint64_t drawn = 0;
	int r;
	const char *id = spool_id(s, i);

	colour(c, i);
	fputs("<g>\n<title>", out);
	xml_text(out, *id ? id : "(no id)");
	fprintf(out, " (%llu positions)</title>\n", (unsigned long long)spool_count(s, i));
	fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" "
		     "stroke-linecap=\"round\" points=\"", c);
	spool_walk(s, i, &w);
	while ((r = spool_next(s, i, &w, &p)) > 0) {
		double x = px_x(f, p.lon), y = px_y(f, p.lat);
		long tx = lround(x * 10), ty = lround(y * 10);
		if (drawn && tx == px && ty == py)
			continue;
		if (!drawn) {
			fx = x;
			fy = y;
		}
		fputs(drawn == 0 ? "" : drawn % 10 ? " " : "\n", out);
		put_px(out, x);
		fputc(',', out);
		put_px(out, y);
		px = tx;
		py = ty;
		lx = x;
		ly = y;
		drawn++;
	}
	if (r < 0)
		return r;
	fputs("\"/>\n<circle r=\"4\" fill=\"white\" stroke-width=\"2\" stroke=\"", out);
	fprintf(out, "%s\" cx=\"", c);
	put_px(out, fx);
	fputs("\" cy=\"", out);
	put_px(out, fy);
	fprintf(out, "\"/>\n<rect width=\"8\" height=\"8\" fill=\"%s\" x=\"", c);
	put_px(out, lx - 4);
	fputs("\" y=\"", out);
	put_px(out, ly - 4);
	/* Labels near the right edge grow leftwards, near the top downwards,
	 * so as to stay inside the frame. */
	int left = lx > f->x0 + f->w - 100;
	fprintf(out, "\"/>\n<text font-size=\"12\" font-weight=\"bold\" fill=\"%s\" stroke=\"white\" "
		     "stroke-width=\"3\" paint-order=\"stroke\"%s x=\"", c, left ? " text-anchor=\"end\"" : "");
	put_px(out, left ? lx - 7 : lx + 7);
	fputs("\" y=\"", out);
	put_px(out, ly - 7 < f->y0 + 12 ? ly + 18 : ly - 7);
	fputs("\">", out);
	xml_text(out, *id ? id : "(no id)");
	fputs("</text>\n</g>\n", out);
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS" of a fix time, seconds being plenty for a title. */
static void short_time(char *dst, int64_t ms)
{
	fmt_time(dst, ms);
	dst[10] = ' ';
	dst[19] = '\0';
}

static void title(FILE *out, const struct spool *s, const struct bounds *b)
{
	char t0[TIME_LEN + 1], t1[TIME_LEN + 1];

	fprintf(out, "<text x=\"%d\" y=\"26\" font-size=\"14\" fill=\"#111111\">%zu vehicle%s, %llu position%s", MARGIN_L / 4,
		spool_vehicles(s), spool_vehicles(s) == 1 ? "" : "s", (unsigned long long)b->points,
		b->points == 1 ? "" : "s");
	if (b->t_min != TIME_NONE) {
		short_time(t0, b->t_min);
		short_time(t1, b->t_max);
		/* Within one day the date is said once. */
		fprintf(out, ", %s to %s UTC", t0, memcmp(t0, t1, 11) ? t1 : t1 + 11);
	}
	fputs("</text>\n", out);
}

int svg_write(FILE *out, const struct spool *s, const struct svg_size *size)
{
	const struct bounds *b = spool_bounds(s);
	struct frame f;
	int r;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%u\" height=\"%u\" "
		"viewBox=\"0 0 %u %u\" font-family=\"sans-serif\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		size->width, size->height, size->width, size->height);
	title(out, s, b);
	if (b->points == 0) {
		fprintf(out, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\" fill=\"#555555\">no positions</text>\n",
			size->width / 2, size->height / 2);
		fputs("</svg>\n", out);
		return 0;
	}
	frame_fit(&f, b, size);
	fprintf(out, "<text x=\"%d\" y=\"%u\" font-size=\"11\" fill=\"#555555\">north up, x scaled by cos %.1f\xc2\xb0; "
		     "\xe2\x97\x8b first, \xe2\x96\xa0 last position</text>\n", MARGIN_L, size->height - 12, acos(f.k) * 180 / PI);
	axes(out, &f);
	scale_bar(out, &f, size);
	for (size_t i = 0; i < spool_vehicles(s); i++)
		if ((r = track(out, s, i, &f)) < 0)
			return r;
	fputs("</svg>\n", out);
	return 0;
}
