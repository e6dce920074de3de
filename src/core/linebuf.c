/* Line framing.  The buffer never grows: a line longer than the cap is
 * reported once, then everything up to the next LF is thrown away, so a
 * sender can neither make us allocate nor split its garbage into lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"

/* Reads are batched into a buffer much larger than one line so that a fast
 * sender costs one read() per many lines, not one per line. */
#define READ_CHUNK 65536

int linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
	lb->cap = max + 2 + READ_CHUNK;
	lb->buf = malloc(lb->cap);
	return lb->buf ? 0 : -1;
}

void linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
}

char *linebuf_space(struct linebuf *lb, size_t *room)
{
	if (lb->start > 0) {
		memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
		lb->end -= lb->start;
		lb->start = 0;
	}
	*room = lb->cap - lb->end;
	return lb->buf + lb->end;
}

void linebuf_commit(struct linebuf *lb, size_t n)
{
	lb->end += n;
}

size_t linebuf_pending(const struct linebuf *lb)
{
	return lb->skipping ? 0 : lb->end - lb->start;
}

/* Eight bytes at a time: a byte below 0x20 or equal to 0x7f sets its high
 * bit in the mask (the classic "has less than" and "has zero" word tricks). */
static int has_control(const char *p, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones * 0x80;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, del;
		memcpy(&w, p + i, 8);
		del = w ^ (ones * 0x7f);
		if (((w - ones * 0x20) & ~w & highs) | ((del - ones) & ~del & highs))
			return 1;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

static enum lb_event classify(struct linebuf *lb, const char *p, size_t n, struct lb_line *out)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	out->p = p;
	out->n = n;
	if (n > lb->max) {
		out->n = lb->max;
		return LB_TOO_LONG;
	}
	return has_control(p, n) ? LB_CONTROL : LB_LINE;
}

enum lb_event linebuf_next(struct linebuf *lb, struct lb_line *out)
{
	for (;;) {
		char *p = lb->buf + lb->start;
		size_t avail = lb->end - lb->start;

		if (lb->skipping) {
			char *lf = memchr(p, '\n', avail);
			if (!lf) {
				lb->start = lb->end;
				return LB_NONE;
			}
			lb->start += (size_t)(lf - p) + 1;
			lb->skipping = 0;
			continue;
		}

		/* A line of max bytes plus CR LF is the longest that can be
		 * accepted, so that is as far as the LF needs looking for. */
		size_t window = avail < lb->max + 2 ? avail : lb->max + 2;
		char *lf = memchr(p, '\n', window);
		if (lf) {
			lb->start += (size_t)(lf - p) + 1;
			return classify(lb, p, (size_t)(lf - p), out);
		}
		if (avail < lb->max + 2)
			return LB_NONE;
		/* Only the window is known to belong to the overlong line: the
		 * next line may already be in the buffer behind it. */
		out->p = p;
		out->n = lb->max;
		lb->skipping = 1;
		lb->start += window;
		return LB_TOO_LONG;
	}
}

enum lb_event linebuf_finish(struct linebuf *lb, struct lb_line *out)
{
	size_t avail = lb->end - lb->start;
	char *p = lb->buf + lb->start;

	if (lb->skipping || avail == 0)
		return LB_NONE;
	lb->start = lb->end;
	return classify(lb, p, avail, out);
}
