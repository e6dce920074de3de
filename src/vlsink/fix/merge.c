/* One record per fix.  A cycle is the sentences a receiver sends for one
 * fix: those with the same time of day, and the GSAs (which carry none)
 * after them, one per satellite system on a multi-GNSS receiver.  A GSA
 * with no fix before it to join (the stream's first lines, or after the
 * caller closed one) joins the next.  An epoch goes out when a sentence of
 * another time arrives, when it holds every kind of sentence and as many
 * GSAs as the last whole cycle held (the cycle is learnt from the stream,
 * as gpsd does), or when the caller closes it.
 *
 * Who wins when sentences of one epoch disagree: gpsd's TPV (its own fused
 * solution, in degrees), then GGA (it carries the quality the position was
 * computed with), then RMC, then GLL; the first of one kind.  The date comes
 * from RMC or TPV, never from an inferred GGA/GLL date when one of them is
 * there.  The record's format names the sentence that gave the position. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "vlsink/fix/merge.h"

enum { K_RMC = 1, K_GGA = 2, K_GLL = 4, K_TPV = 8, K_GSA = 16 };
enum { G_POS, G_TIME, G_SPEED, G_COURSE, G_ALT, G_MODE, G_QUALITY, G_SATS };

/* Positions closer than this agree: 1e-6 degrees is about 0.1 m. */
#define SAME_POS 1e-6

static unsigned kind_of(const struct record *r, int quality_only)
{
	if (quality_only)
		return K_GSA;
	switch (r->format) {
	case SRC_NMEA_RMC:
		return K_RMC;
	case SRC_NMEA_GGA:
		return K_GGA;
	case SRC_NMEA_GLL:
		return K_GLL;
	default:
		return K_TPV;
	}
}

static unsigned char rank_of(unsigned kind)
{
	switch (kind) {
	case K_TPV:
		return 5;
	case K_GGA:
		return 4;
	case K_RMC:
		return 3;
	case K_GLL:
		return 2;
	default:
		return 1;
	}
}

int merge_init(struct merger *m, size_t line_max)
{
	memset(m, 0, sizeof(*m));
	m->line_max = line_max;
	for (int i = 0; i < MERGE_SLOTS; i++) {
		m->ep[i].raw = malloc(MERGE_LINES * (line_max + 1));
		if (!m->ep[i].raw)
			return -1;
		m->ep[i].tod = -1;
	}
	return 0;
}

void merge_free(struct merger *m)
{
	for (int i = 0; i < MERGE_SLOTS; i++) {
		free(m->ep[i].raw);
		m->ep[i].raw = NULL;
	}
}

static void reset(struct epoch *e)
{
	char *raw = e->raw;

	memset(e, 0, sizeof(*e));
	e->raw = raw;
	e->tod = -1;
}

/* Takes a field group from r when r outranks whoever gave it so far. */
static int better(struct epoch *e, int group, unsigned char rank)
{
	if (e->rank[group] >= rank)
		return 0;
	e->rank[group] = rank;
	return 1;
}

static void fold(struct epoch *e, const struct record *r, unsigned kind)
{
	unsigned char rank = rank_of(kind);
	struct record *d = &e->rec;

	if (kind != K_GSA) {
		if (e->has_pos && (fabs(d->lat - r->lat) > SAME_POS || fabs(d->lon - r->lon) > SAME_POS))
			e->conflict = 1;
		if (better(e, G_POS, rank) || !e->has_pos) {
			d->lat = r->lat;
			d->lon = r->lon;
			d->format = r->format;
		}
		e->has_pos = 1;
	}
	/* RMC and TPV know the date; GGA and GLL only infer it. */
	if ((r->have & HAVE_TIME) && better(e, G_TIME, kind == K_RMC || kind == K_TPV ? 2 : 1)) {
		d->time_ms = r->time_ms;
		d->have = (d->have & ~ROLLOVER_FIXED) | HAVE_TIME | (r->have & ROLLOVER_FIXED);
	}
	if ((r->have & HAVE_SPEED) && better(e, G_SPEED, rank)) {
		d->speed = r->speed;
		d->have |= HAVE_SPEED;
	}
	if ((r->have & HAVE_COURSE) && better(e, G_COURSE, rank)) {
		d->course = r->course;
		d->have |= HAVE_COURSE;
	}
	if ((r->have & HAVE_ALT) && better(e, G_ALT, rank)) {
		d->alt = r->alt;
		d->have |= HAVE_ALT;
	}
	if ((r->have & HAVE_MODE) && better(e, G_MODE, rank)) {
		d->mode = r->mode;
		d->have |= HAVE_MODE;
	}
	if ((r->have & HAVE_QUALITY) && better(e, G_QUALITY, rank)) {
		d->quality = r->quality;
		d->have |= HAVE_QUALITY;
	}
	/* Multi-GNSS receivers send one GSA per system: their counts add up,
	 * but GGA's own count, when there is one, is the receiver's total. */
	if (kind == K_GSA) {
		if (e->gsas < MERGE_GSAS)
			e->gsas++;
		e->gsa_sats += r->sats;
		if (e->rank[G_SATS] <= rank_of(K_GSA)) {
			e->rank[G_SATS] = rank_of(K_GSA);
			d->sats = e->gsa_sats;
			d->have |= HAVE_SATS;
		}
	} else if ((r->have & HAVE_SATS) && better(e, G_SATS, rank)) {
		d->sats = r->sats;
		d->have |= HAVE_SATS;
	}
	/* HDOP: GGA's and GSA's are the same figure; the first one stands. */
	if ((r->have & HAVE_HDOP) && !(d->have & HAVE_HDOP)) {
		d->hdop = r->hdop;
		d->have |= HAVE_HDOP;
	}
}

static void keep_line(struct merger *m, struct epoch *e, const char *line, size_t n)
{
	if (e->lines == MERGE_LINES || n > m->line_max)
		return;
	if (e->lines)
		e->raw[e->raw_len++] = '\n';
	memcpy(e->raw + e->raw_len, line, n);
	e->raw_len += n;
	e->lines++;
}

/* The epoch being filled is done: it joins the queue, unless it holds no
 * position (a GSA alone), which is no record. */
static void close_current(struct merger *m)
{
	struct epoch *e = &m->ep[m->cur];

	if (!e->open)
		return;
	if (!e->has_pos) {
		reset(e);
		return;
	}
	if (e->conflict)
		m->conflicts++;
	e->complete = 1;
	m->queue[(m->head + m->queued++) % MERGE_SLOTS] = m->cur;
	/* At most two epochs close in one merge_add, and the caller takes them
	 * before the next: a third slot is always free. */
	for (int i = 0; i < MERGE_SLOTS; i++) {
		if (!m->ep[i].complete) {
			m->cur = i;
			break;
		}
	}
	reset(&m->ep[m->cur]);
}

/* An epoch ended by the next one shows what a cycle holds.  One that lacks
 * a sentence the cycle had (a GGA lost on the way, a system's GSA) does not
 * shrink it at once, or the next full epoch would go out before its last
 * sentence: only CYCLE_MISSES such epochs in a row mean the receiver has
 * changed. */
#define CYCLE_MISSES 3

static void learn(struct merger *m, const struct epoch *e)
{
	if (((e->kinds & m->cycle) == m->cycle && e->gsas >= m->cycle_gsas) || ++m->misses >= CYCLE_MISSES) {
		m->cycle = e->kinds;
		m->cycle_gsas = e->gsas;
		m->misses = 0;
	}
}

void merge_add(struct merger *m, const struct record *r, int quality_only, const char *line, size_t n)
{
	unsigned kind = kind_of(r, quality_only);
	int64_t tod = -1;
	struct epoch *e = &m->ep[m->cur];

	/* A GSA after a complete epoch went out is that cycle's, which holds
	 * more GSAs than it did: too late for its fix, and no part of the
	 * next.  The next cycle waits for it. */
	if (quality_only && m->after_complete) {
		if (m->out_gsas < MERGE_GSAS)
			m->out_gsas++;
		m->cycle |= K_GSA;
		m->cycle_gsas = m->out_gsas;
		return;
	}
	if (!quality_only) {
		m->after_complete = 0;
		if (r->have & HAVE_TIME)
			tod = ((r->time_ms % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
	}
	/* A position of another time starts a new epoch.  One without a time
	 * (gpsd's first reports of a fix, before it knows the date) joins the
	 * fix being gathered, like a GSA. */
	if (!quality_only && e->open && tod >= 0 && e->tod >= 0 && tod != e->tod) {
		learn(m, e);
		close_current(m);
		e = &m->ep[m->cur];
	}
	e->open = 1;
	e->kinds |= kind;
	if (tod >= 0 && e->tod < 0)
		e->tod = tod;
	fold(e, r, kind);
	if (!quality_only)
		keep_line(m, e, line, n);
	if (!e->has_pos)
		return;
	/* A position without a time that found no fix to join is one of its
	 * own.  Every sentence the last cycle had is here: no need to wait for
	 * the next one. */
	if (!quality_only && tod < 0 && e->tod < 0) {
		m->misses = 0;
		close_current(m);
	} else if (m->cycle && (e->kinds & m->cycle) == m->cycle && e->gsas >= m->cycle_gsas) {
		m->misses = 0;
		m->out_gsas = e->gsas;
		close_current(m);
		m->after_complete = 1;
	}
}

void merge_close(struct merger *m)
{
	close_current(m);
	m->after_complete = 0;
}

int merge_pending(const struct merger *m)
{
	return m->ep[m->cur].open;
}

void merge_discard(struct merger *m)
{
	reset(&m->ep[m->cur]);
}

int merge_next(struct merger *m, struct record *r, const char **raw, size_t *raw_len)
{
	if (!m->queued)
		return 0;
	struct epoch *e = &m->ep[m->queue[m->head]];
	m->head = (m->head + 1) % MERGE_SLOTS;
	m->queued--;
	*r = e->rec;
	*raw = e->raw;
	*raw_len = e->raw_len;
	e->complete = 0;
	e->open = 0;
	return 1;
}
