/* libFuzzer harness for the line framer.  The first 9 bytes of an input set
 * the longest line (64..200) and a cycle of 8 read sizes (1..128 or
 * 32..4096 bytes); the rest is the stream, fed to the framer a read at a
 * time the way main.c does.  Every event must match a reference framer that
 * sees the whole stream at once: lines are cut at LF only, never split by
 * where a read ended, an overlong line is reported once and dropped up to
 * its LF, and what follows it is framed as usual. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linebuf.h"

#define HEADER 9

struct event {
	enum lb_event ev;
	size_t off, n; /* Bytes [off, off + n) of the events' text buffer. */
};

struct events {
	struct event *e;
	size_t count, cap;
	char *text;
	size_t len, text_cap;
};

static void push(struct events *l, enum lb_event ev, const char *p, size_t n)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if (!(l->e = realloc(l->e, l->cap * sizeof(*l->e))))
			abort();
	}
	if (l->len + n > l->text_cap) {
		l->text_cap = (l->len + n) * 2 + 64;
		if (!(l->text = realloc(l->text, l->text_cap)))
			abort();
	}
	if (n)
		memcpy(l->text + l->len, p, n);
	l->e[l->count++] = (struct event){ ev, l->len, n };
	l->len += n;
}

static int control(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

/* The framer's contract, written the obvious way over the whole stream. */
static void reference(const char *p, size_t n, size_t max, struct events *l)
{
	size_t start = 0;

	while (start < n) {
		const char *lf = memchr(p + start, '\n', n - start);
		size_t len = (lf ? (size_t)(lf - p) : n) - start;
		const char *line = p + start;

		start += len + (lf != NULL);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > max)
			push(l, LB_TOO_LONG, line, max);
		else
			push(l, control(line, len) ? LB_CONTROL : LB_LINE, line, len);
	}
}

static void check_event(enum lb_event ev, const struct lb_line *ln, size_t max)
{
	CHECK(ev == LB_LINE || ev == LB_CONTROL || ev == LB_TOO_LONG);
	CHECK(ln->n <= max);
	CHECK(ln->n == 0 || memchr(ln->p, '\n', ln->n) == NULL);
	if (ev == LB_LINE)
		CHECK(!control(ln->p, ln->n));
	if (ev == LB_CONTROL)
		CHECK(control(ln->p, ln->n));
	if (ev == LB_TOO_LONG)
		CHECK(ln->n == max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct events got, want;
	struct linebuf lb;
	struct lb_line ln;
	enum lb_event ev;
	size_t chunk[8];

	if (size < HEADER)
		return 0;
	size_t max = 64 + data[0] % 137;
	for (int i = 0; i < 8; i++) {
		unsigned b = data[1 + i];
		chunk[i] = b < 128 ? 1 + b : (b - 127) * 32;
	}
	const char *in = (const char *)data + HEADER;
	size_t n = size - HEADER;

	got.count = got.len = want.count = want.len = 0;
	if (linebuf_init(&lb, max) < 0)
		abort();

	size_t fed = 0;
	for (int k = 0; fed < n; k++) {
		size_t room;
		char *space = linebuf_space(&lb, &room);
		/* Zero room would read as the end of the stream in main.c. */
		CHECK(room > 0);
		size_t take = chunk[k % 8];
		if (take > room)
			take = room;
		if (take > n - fed)
			take = n - fed;
		memcpy(space, in + fed, take);
		linebuf_commit(&lb, take);
		fed += take;
		while ((ev = linebuf_next(&lb, &ln)) != LB_NONE) {
			check_event(ev, &ln, max);
			push(&got, ev, ln.p, ln.n);
		}
		CHECK(linebuf_pending(&lb) <= max + 1);
	}
	if ((ev = linebuf_finish(&lb, &ln)) != LB_NONE) {
		check_event(ev, &ln, max);
		push(&got, ev, ln.p, ln.n);
	}
	CHECK(linebuf_finish(&lb, &ln) == LB_NONE);
	CHECK(linebuf_next(&lb, &ln) == LB_NONE);
	linebuf_free(&lb);

	/* Every event stands for at least one input byte or LF, and the text
	 * handed out never exceeds what came in. */
	CHECK(got.len <= n);
	CHECK(got.count <= n);

	reference(in, n, max, &want);
	if (got.count != want.count) {
		fprintf(stderr, "framer: %zu events, reference: %zu (max %zu)\n", got.count, want.count,
			max);
		abort();
	}
	for (size_t i = 0; i < got.count; i++) {
		const struct event *g = &got.e[i], *w = &want.e[i];
		if (g->ev != w->ev || g->n != w->n || memcmp(got.text + g->off, want.text + w->off, g->n)) {
			fprintf(stderr, "framer: event %zu is %d/%zu bytes, reference %d/%zu bytes\n", i,
				g->ev, g->n, w->ev, w->n);
			abort();
		}
	}
	return 0;
}
