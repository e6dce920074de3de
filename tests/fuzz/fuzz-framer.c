/* libFuzzer harness for the protocol framings of the framer (H02 "*...#",
 * GPS103 ';', Queclink '$', HTTP requests).  The first 9 bytes set the
 * framing and the longest frame (64..200) and a cycle of 8 read sizes; the
 * rest is the stream.  Fed a read at a time, the framer must hand out the
 * same events as when fed in reads as large as it takes: no frame is ever
 * cut where a read ended.  (A binary run's sample is what had come when it
 * was seen, so only its first byte is compared.)  Every frame is at most
 * max bytes, holds no terminator of its framing (an H02 frame no '*' but
 * its first byte), and a text frame no control byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linebuf.h"

#define HEADER 9
#define EVENTS_MAX 8192

struct event {
	enum lb_event ev;
	size_t n;
	unsigned char first;
	uint32_t sum; /* Of the bytes; 0 for a binary run. */
};

struct events {
	struct event e[EVENTS_MAX];
	size_t count;
};

static const enum lb_mode modes[] = { LBM_STAR, LBM_SEMI, LBM_DOLLAR, LBM_HTTP };

static uint32_t sum(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static void check_event(enum lb_mode mode, enum lb_event ev, const struct lb_line *ln, size_t max)
{
	CHECK(ev != LB_NONE);
	CHECK(ln->n <= max);
	CHECK(ev != LB_BINARY || ln->n > 0);
	if (ev != LB_LINE || mode == LBM_HTTP)
		return;
	for (size_t i = 0; i < ln->n; i++) {
		unsigned char c = (unsigned char)ln->p[i];
		CHECK(c >= 0x20 && c != 0x7f);
		if (mode == LBM_STAR)
			CHECK(c != '#' && (c != '*' || i == 0));
		if (mode == LBM_SEMI)
			CHECK(c != ';');
		if (mode == LBM_DOLLAR)
			CHECK(c != '$');
	}
}

static void push(struct events *l, enum lb_event ev, const struct lb_line *ln)
{
	CHECK(l->count < EVENTS_MAX);
	struct event *e = &l->e[l->count++];
	e->ev = ev;
	e->n = ev == LB_BINARY ? 0 : ln->n;
	e->first = ln->n ? (unsigned char)ln->p[0] : 0;
	e->sum = ev == LB_BINARY ? 0 : sum(ln->p, ln->n);
}

/* The stream through one framer, reads of chunk[k % 8] bytes (0: as much
 * as it has room for). */
static void run(enum lb_mode mode, size_t max, const size_t *chunk, const char *in, size_t n, struct events *out)
{
	struct linebuf lb;
	struct lb_line ln;
	enum lb_event ev;
	size_t fed = 0;

	out->count = 0;
	if (linebuf_init(&lb, max) < 0)
		abort();
	linebuf_mode(&lb, mode);
	for (int k = 0; fed < n; k++) {
		size_t room;
		char *space = linebuf_space(&lb, &room);
		CHECK(room > 0);
		size_t take = chunk ? chunk[k % 8] : room;
		if (take > room)
			take = room;
		if (take > n - fed)
			take = n - fed;
		memcpy(space, in + fed, take);
		linebuf_commit(&lb, take);
		fed += take;
		while ((ev = linebuf_next(&lb, &ln)) != LB_NONE) {
			check_event(mode, ev, &ln, max);
			push(out, ev, &ln);
		}
	}
	if ((ev = linebuf_finish(&lb, &ln)) != LB_NONE) {
		check_event(mode, ev, &ln, max);
		push(out, ev, &ln);
	}
	linebuf_free(&lb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct events got, want;
	size_t chunk[8];

	if (size < HEADER)
		return 0;
	enum lb_mode mode = modes[data[0] % 4];
	size_t max = 64 + (size_t)(data[0] / 4) % 137;
	for (int i = 0; i < 8; i++) {
		unsigned b = data[1 + i];
		chunk[i] = b < 128 ? 1 + b : (b - 127) * 32;
	}
	const char *in = (const char *)data + HEADER;
	size_t n = size - HEADER;

	run(mode, max, chunk, in, n, &got);
	run(mode, max, NULL, in, n, &want);
	CHECK(got.count <= n);
	if (got.count != want.count) {
		fprintf(stderr, "framer: %zu events in small reads, %zu in large (mode %d, max %zu)\n", got.count,
			want.count, (int)mode, max);
		abort();
	}
	for (size_t i = 0; i < got.count; i++) {
		const struct event *g = &got.e[i], *w = &want.e[i];
		if (g->ev != w->ev || g->n != w->n || g->first != w->first || g->sum != w->sum) {
			fprintf(stderr, "framer: event %zu is %d/%zu bytes, in large reads %d/%zu bytes\n", i, g->ev,
				g->n, w->ev, w->n);
			abort();
		}
	}
	return 0;
}
