/* Queclink @Track text reports ("+RESP:GTFRI,...", "+BUFF:...", "+ACK:GTHBD,...")
 * into records.  Models differ in how many fields come before the position
 * block, so the block is found by its shape (a dotted longitude and latitude
 * followed by a 14-digit time) within a small window, and a frame whose block
 * cannot be placed in exactly one way is refused rather than guessed at. */
#include <math.h>
#include <string.h>

#include "core/scan.h"
#include "vlsink/parse/proto.h"

/* A position block: accuracy, speed, azimuth, altitude, longitude, latitude,
 * GPS time, MCC, MNC, LAC, cell id, reserved. */
#define BLOCK_FIELDS 12
/* The block starts after the header (type, version, IMEI, device name) and
 * up to six model-specific fields. */
#define BLOCK_FIRST 5
#define BLOCK_LAST 10
/* The fields a frame may hold: the widest model's header, 15 blocks and the
 * tail (send time, count), with room for the extra fields of CAN or ERI
 * reports, which are walked past but not read. */
#define GL_FIELDS_MAX 400
_Static_assert(GL_FIELDS_MAX >= BLOCK_LAST + FRAME_POINTS_MAX * BLOCK_FIELDS + 2, "fields for 15 points");
/* Queclink's accuracy is 0 (no fix) or an HDOP-like 1 to 50. */
#define GL_HDOP_MAX 50

struct field {
	const char *p;
	size_t n;
};

struct frame {
	struct field f[GL_FIELDS_MAX];
	size_t nf;
};

enum kind {
	K_NONE,     /* No position: a well-formed report that is ignored. */
	K_NUMBERED, /* <Number> then that many blocks. */
	K_SINGLE,   /* One block, no <Number>. */
};

/* The reports read for a position; any other GT type is ignored.  The GL200,
 * GL300 and GV300 manuals give these the standard block. */
static const struct {
	char type[4];
	enum kind kind;
} reports[] = {
	{ "FRI", K_NUMBERED }, { "GEO", K_NUMBERED }, { "SPD", K_NUMBERED }, { "SOS", K_NUMBERED },
	{ "RTL", K_NUMBERED }, { "PNL", K_NUMBERED }, { "NMR", K_NUMBERED }, { "DOG", K_NUMBERED },
	{ "IGL", K_NUMBERED }, { "HBM", K_NUMBERED }, { "ERI", K_NUMBERED }, { "DIS", K_NUMBERED },
	{ "IOB", K_NUMBERED }, { "TOW", K_NUMBERED }, { "IGN", K_SINGLE },   { "IGF", K_SINGLE },
	{ "VGN", K_SINGLE },   { "VGF", K_SINGLE },   { "STT", K_SINGLE },   { "IDN", K_SINGLE },
	{ "IDF", K_SINGLE },   { "STR", K_SINGLE },   { "STP", K_SINGLE },   { "LSP", K_SINGLE },
	{ "STC", K_SINGLE },   { "EPN", K_SINGLE },   { "EPF", K_SINGLE },   { "BPL", K_SINGLE },
	{ "LBC", K_SINGLE },
};

static int is_hex(char c)
{
	return scan_hexdigit((unsigned char)c) >= 0;
}

static int all_hex(const struct field *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (!is_hex(f->p[i]))
			return 0;
	return 1;
}

static int all_digits(const struct field *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i] < '0' || f->p[i] > '9')
			return 0;
	return 1;
}

static int split(const char *p, size_t n, struct frame *fr)
{
	size_t start = 0;

	fr->nf = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ',')
			continue;
		if (fr->nf == GL_FIELDS_MAX)
			return -1;
		fr->f[fr->nf].p = p + start;
		fr->f[fr->nf].n = i - start;
		fr->nf++;
		start = i + 1;
	}
	return 0;
}

/* A coordinate as the manuals write it: signed degrees with a point. */
static int coordinate(const struct field *f, double *v)
{
	return f->n >= 3 && memchr(f->p, '.', f->n) && !scan_decimal(f->p, f->n, v) ? 0 : -1;
}

static int optional_decimal(const struct field *f)
{
	double v;

	return f->n == 0 || !scan_decimal(f->p, f->n, &v) ? 0 : -1;
}

/* Does a block sit at b?  Anchored: it carries a longitude, a latitude and
 * a time (whether or not the device had a fix).  Empty: the no-fix form
 * with every position field blank. */
enum shape { S_BAD, S_EMPTY, S_ANCHORED };

static enum shape block_shape(const struct frame *fr, size_t b)
{
	const struct field *f = fr->f + b;
	unsigned acc;
	double v;

	/* The block's seven fields, and the send time and count after it. */
	if (b + 7 + 2 > fr->nf)
		return S_BAD;
	if (f[0].n && scan_uint(f[0].p, f[0].n, 99, &acc))
		return S_BAD;
	if (optional_decimal(&f[1]) || optional_decimal(&f[2]) || optional_decimal(&f[3]))
		return S_BAD;
	if (f[4].n == 0 && f[5].n == 0 && f[6].n == 0)
		return f[0].n == 0 || (f[0].n == 1 && f[0].p[0] == '0') ? S_EMPTY : S_BAD;
	if (coordinate(&f[4], &v) || coordinate(&f[5], &v) || f[6].n != 14 || !all_digits(&f[6]))
		return S_BAD;
	return S_ANCHORED;
}

static int in_range(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

/* One block into a record.  0: a position; R_NO_FIX: the device had none;
 * another reason: the block is not to be believed. */
static enum reason take_block(const struct frame *fr, size_t b, struct record *r)
{
	const struct field *f = fr->f + b;
	unsigned acc = 0;
	double v;

	memset(r, 0, sizeof(*r));
	if (f[0].n)
		(void)scan_uint(f[0].p, f[0].n, 99, &acc);
	/* The manuals: 0 means the fix failed and the last known position is
	 * sent again, which is no position of this moment. */
	if (acc == 0 || f[4].n == 0)
		return R_NO_FIX;
	if (acc > GL_HDOP_MAX)
		return R_OUT_OF_RANGE;
	r->hdop = acc;
	r->have |= HAVE_HDOP;
	(void)scan_decimal(f[4].p, f[4].n, &r->lon);
	(void)scan_decimal(f[5].p, f[5].n, &r->lat);
	if (!in_range(r->lat, -90, 90) || !in_range(r->lon, -180, 180))
		return R_OUT_OF_RANGE;
	if (f[1].n) {
		(void)scan_decimal(f[1].p, f[1].n, &v);
		r->speed = v / 3.6;
		if (!in_range(r->speed, 0, 2000))
			return R_OUT_OF_RANGE;
		r->have |= HAVE_SPEED;
	}
	if (f[2].n) {
		(void)scan_decimal(f[2].p, f[2].n, &r->course);
		if (!in_range(r->course, 0, 360))
			return R_OUT_OF_RANGE;
		r->have |= HAVE_COURSE;
	}
	if (f[3].n) {
		(void)scan_decimal(f[3].p, f[3].n, &r->alt);
		if (!in_range(r->alt, -20000, 1e6))
			return R_OUT_OF_RANGE;
		r->have |= HAVE_ALT;
	}
	if (scan_compact_time(f[6].p, f[6].n, &r->time_ms))
		return R_BAD_TIME;
	r->have |= HAVE_TIME;
	r->format = SRC_GL200;
	return R_NONE;
}

/* Where the first block starts: the one window position where a block
 * fits, anchored blocks first; 0 when none or several do. */
static size_t place(const struct frame *fr, enum kind kind)
{
	size_t found = 0, empty = 0;
	int anchored = 0, empties = 0;

	for (size_t b = BLOCK_FIRST; b <= BLOCK_LAST; b++) {
		unsigned count;
		enum shape s = block_shape(fr, b);
		if (s == S_BAD)
			continue;
		/* A numbered report's block follows its <Number>. */
		if (kind == K_NUMBERED && scan_uint(fr->f[b - 1].p, fr->f[b - 1].n, FRAME_POINTS_MAX, &count))
			continue;
		if (kind == K_NUMBERED && count == 0)
			continue;
		if (s == S_ANCHORED) {
			anchored++;
			found = b;
		} else {
			empties++;
			empty = b;
		}
	}
	if (anchored == 1)
		return found;
	if (anchored == 0 && empties == 1)
		return empty;
	return 0;
}

static enum verdict reject(struct frame_out *out, enum reason why)
{
	out->nrec = 0;
	out->reply_n = 0;
	out->why = why;
	return V_REJECT;
}

static void reply(struct frame_out *out, const char *a, const struct field *b, const char *c,
		  const struct field *d)
{
	size_t n = 0, la = strlen(a), lc = c ? strlen(c) : 0;

	/* Sizes are bounded by the header checks: version 10, count 4. */
	memcpy(out->reply + n, a, la);
	n += la;
	if (b) {
		memcpy(out->reply + n, b->p, b->n);
		n += b->n;
	}
	if (c) {
		memcpy(out->reply + n, c, lc);
		n += lc;
	}
	memcpy(out->reply + n, d->p, d->n);
	n += d->n;
	out->reply[n++] = '$';
	out->reply_n = n;
}
_Static_assert(sizeof("+SACK:GTHBD,") - 1 + 10 + 1 + 4 + 1 <= REPLY_MAX, "the heartbeat's reply fits");

/* Version: 6 or 10 hex digits; IMEI: 15 digits or 14 hex digits; the count
 * last: 4 hex digits.  These are echoed to the device or name the vehicle,
 * so nothing looser is taken. */
static int header_ok(const struct frame *fr, struct frame_out *out)
{
	const struct field *ver = &fr->f[1], *imei = &fr->f[2], *cnt = &fr->f[fr->nf - 1];

	if ((ver->n != 6 && ver->n != 10) || !all_hex(ver))
		return -1;
	if (!((imei->n == 15 && all_digits(imei)) || (imei->n == 14 && all_hex(imei))))
		return -1;
	if (scan_vehicle(imei->p, imei->n, out->id))
		return -1;
	if (cnt->n != 4 || !all_hex(cnt))
		return -1;
	return 0;
}

static enum kind kind_of(const char *t)
{
	for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if (!memcmp(reports[i].type, t, 3))
			return reports[i].kind;
	return K_NONE;
}

enum verdict gl200_parse(const struct session *s, const char *p, size_t n, struct frame_out *out)
{
	struct frame fr;
	int archived = 0, ack = 0;
	size_t hl;

	out->nrec = 0;
	out->reply_n = 0;
	out->id[0] = '\0';
	out->close_after_reply = 0;
	/* What a '$' leaves behind before the next frame: a device or a test
	 * that ends its frames with a line break. */
	while (n && (*p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return reject(out, R_CONTROL_CHAR);
	if (n >= 8 && !memcmp(p, "+RESP:GT", 8))
		hl = 8;
	else if (n >= 8 && !memcmp(p, "+BUFF:GT", 8))
		hl = 8, archived = 1;
	else if (n >= 7 && !memcmp(p, "+ACK:GT", 7))
		hl = 7, ack = 1;
	else
		return reject(out, R_SYNTAX);
	if (n < hl + 4 || p[hl + 3] != ',')
		return reject(out, R_SYNTAX);
	for (size_t i = hl; i < hl + 3; i++)
		if (p[i] < 'A' || p[i] > 'Z')
			return reject(out, R_SYNTAX);
	if (split(p, n, &fr) || fr.nf < 6 || header_ok(&fr, out))
		return reject(out, R_SYNTAX);
	const char *type = p + hl;
	const struct field *sent = &fr.f[fr.nf - 2];
	int64_t ms;
	if (sent->n != 14 || scan_compact_time(sent->p, sent->n, &ms))
		return reject(out, R_SYNTAX);

	if (ack) {
		/* +ACK:GTHBD,<version>,<IMEI>,<device name>,<send time>,<count> */
		if (!memcmp(type, "HBD", 3)) {
			if (fr.nf != 6)
				return reject(out, R_SYNTAX);
			reply(out, "+SACK:GTHBD,", &fr.f[1], ",", &fr.f[5]);
		}
		return V_IGNORED;
	}

	enum kind kind = kind_of(type);
	if (kind == K_NONE) {
		if (s->ack)
			reply(out, "+SACK:", NULL, NULL, &fr.f[fr.nf - 1]);
		return V_IGNORED;
	}
	size_t b = place(&fr, kind);
	if (b == 0)
		return reject(out, R_SYNTAX);
	unsigned count = 1;
	if (kind == K_NUMBERED) {
		(void)scan_uint(fr.f[b - 1].p, fr.f[b - 1].n, FRAME_POINTS_MAX, &count);
		/* Every further block must sit, whole, before the send time. */
		size_t last = b + (size_t)(count - 1) * BLOCK_FIELDS;
		if (count > 1 && (last + BLOCK_FIELDS > fr.nf - 2))
			return reject(out, R_SYNTAX);
		for (size_t i = 1; i < count; i++)
			if (block_shape(&fr, b + i * BLOCK_FIELDS) == S_BAD)
				return reject(out, R_SYNTAX);
	}

	/* Points without a fix are left out; any other bad point condemns the
	 * frame, as a device that sends one sends nothing to trust. */
	for (size_t i = 0; i < count; i++) {
		struct record *r = &out->rec[out->nrec];
		enum reason why = take_block(&fr, b + i * BLOCK_FIELDS, r);
		if (why == R_NO_FIX)
			continue;
		if (why != R_NONE)
			return reject(out, why);
		if (archived)
			r->have |= ARCHIVED;
		out->nrec++;
	}
	if (out->nrec == 0)
		return reject(out, R_NO_FIX);
	if (s->ack)
		reply(out, "+SACK:", NULL, NULL, &fr.f[fr.nf - 1]);
	return V_RECORD;
}
