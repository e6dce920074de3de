/* Framing.  The buffer never grows: a frame longer than the cap is reported
 * once, then everything up to its end (the next LF for lines, the next
 * frame's first byte for the protocols whose frames have one) is thrown
 * away, so a sender can neither make us allocate nor split its garbage into
 * frames.  The protocols' framings sit beside the line framing and leave it
 * as it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "scan.h"

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

void linebuf_mode(struct linebuf *lb, enum lb_mode mode)
{
	lb->mode = mode;
}

const char *linebuf_peek(const struct linebuf *lb, size_t *n)
{
	*n = lb->end - lb->start;
	return lb->buf + lb->start;
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
	return lb->skipping || lb->dead ? 0 : lb->end - lb->start;
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

static enum lb_event line_next(struct linebuf *lb, struct lb_line *out)
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

static enum lb_event line_finish(struct linebuf *lb, struct lb_line *out)
{
	size_t avail = lb->end - lb->start;
	char *p = lb->buf + lb->start;

	if (lb->skipping || avail == 0)
		return LB_NONE;
	lb->start = lb->end;
	return classify(lb, p, avail, out);
}

/* Queclink's binary frames start with '+' and a three-letter head; the text
 * frames with a word and ':'. */
static const char *const text_heads[] = { "+RESP:", "+BUFF:", "+ACK:" };
static const char *const binary_heads[] = { "+RSP", "+BSP", "+EVT", "+BVT", "+INF", "+BNF",
					    "+HBD", "+CRD", "+BRD", "+LGN", "+ACK" };

/* 1: p starts with one of the heads, 0: it does not, -1: it may once more
 * bytes come (p is a proper prefix of one). */
static int starts_with_any(const char *p, size_t n, const char *const *heads, size_t count)
{
	int maybe = 0;

	for (size_t i = 0; i < count; i++) {
		size_t k = strlen(heads[i]);
		if (n >= k && memcmp(p, heads[i], k) == 0)
			return 1;
		if (n < k && memcmp(p, heads[i], n) == 0)
			maybe = 1;
	}
	return maybe ? -1 : 0;
}

/* A binary Queclink head is "+XXX" not followed by ':' ("+ACK:" is text). */
static int binary_head(const char *p, size_t n)
{
	int r = starts_with_any(p, n, binary_heads, sizeof(binary_heads) / sizeof(binary_heads[0]));

	if (r <= 0)
		return r;
	if (n < 5)
		return -1;
	return p[4] != ':';
}

/* Where the next frame of a protocol whose frames have a first byte may
 * start, searched from p[from]: its offset, or how far it is certainly not
 * (*none, the bytes that may be dropped) with -1. */
static long next_head(const struct linebuf *lb, const char *p, size_t n, size_t from, size_t *none)
{
	char first = lb->mode == LBM_STAR ? '*' : '+';

	for (size_t i = from; i < n; i++) {
		if (p[i] != first)
			continue;
		if (lb->mode == LBM_STAR)
			return (long)i;
		int r = starts_with_any(p + i, n - i, text_heads, sizeof(text_heads) / sizeof(text_heads[0]));
		if (r > 0)
			return (long)i;
		if (r < 0) {
			*none = i;
			return -1;
		}
	}
	*none = n;
	return -1;
}

static int separator(const struct linebuf *lb, char c)
{
	return c == '\r' || c == '\n' || (lb->mode == LBM_SEMI && c == ';');
}

static enum lb_event frame(struct linebuf *lb, const char *p, size_t n, struct lb_line *out)
{
	out->p = p;
	out->n = n;
	if (n > lb->max) {
		out->n = lb->max;
		return LB_TOO_LONG;
	}
	return lb->mode != LBM_HTTP && has_control(p, n) ? LB_CONTROL : LB_LINE;
}

/* The first byte that ends a frame of the mode, in p[0, n). */
static const char *terminator(const struct linebuf *lb, const char *p, size_t n)
{
	switch (lb->mode) {
	case LBM_STAR:
		return memchr(p, '#', n);
	case LBM_DOLLAR:
		return memchr(p, '$', n);
	default:
		for (size_t i = 0; i < n; i++)
			if (p[i] == ';' || p[i] == '\r' || p[i] == '\n')
				return p + i;
		return NULL;
	}
}

/* A binary run: reported with a sample up to the next text frame, then
 * skipped to it. */
static enum lb_event binary(struct linebuf *lb, const char *p, size_t avail, struct lb_line *out)
{
	size_t none;
	long at = next_head(lb, p, avail, 1, &none);
	size_t run = at >= 0 ? (size_t)at : avail;

	out->p = p;
	out->n = run < lb->max ? run : lb->max;
	lb->start += 1;
	lb->skipping = 1;
	lb->resync = 1;
	return LB_BINARY;
}

/* The protocols with a frame terminator: H02, GPS103, Queclink. */
static enum lb_event term_next(struct linebuf *lb, struct lb_line *out, int eof)
{
	for (;;) {
		char *p = lb->buf + lb->start;
		size_t avail = lb->end - lb->start, none;

		if (lb->skipping && lb->resync) {
			long at = next_head(lb, p, avail, 0, &none);
			if (at < 0) {
				lb->start += eof ? avail : none;
				return LB_NONE;
			}
			lb->start += (size_t)at;
			lb->skipping = lb->resync = 0;
			continue;
		}
		if (lb->skipping) {
			const char *t = terminator(lb, p, avail);
			if (!t) {
				lb->start = lb->end;
				return LB_NONE;
			}
			lb->start += (size_t)(t - p) + 1;
			lb->skipping = 0;
			continue;
		}
		if (avail > 0 && separator(lb, p[0])) {
			lb->start++;
			continue;
		}
		if (avail == 0)
			return LB_NONE;
		if (lb->mode == LBM_STAR && p[0] == '$')
			return binary(lb, p, avail, out);
		if (lb->mode == LBM_DOLLAR) {
			int b = binary_head(p, avail);
			if (b > 0)
				return binary(lb, p, avail, out);
			if (b < 0 && !eof)
				return LB_NONE;
		}
		/* An H02 frame ends at its '#', or where the next one starts
		 * when it lost its end; bytes that are no frame, the same. */
		size_t end, window = avail < lb->max + 1 ? avail : lb->max + 1;
		const char *t = terminator(lb, p, window);
		if (lb->mode == LBM_STAR) {
			const char *star = window > 1 ? memchr(p + 1, '*', window - 1) : NULL;
			if (star && (!t || star < t)) {
				end = (size_t)(star - p);
				lb->start += end;
				return frame(lb, p, end, out);
			}
		}
		if (t) {
			end = (size_t)(t - p);
			lb->start += end + 1;
			return frame(lb, p, end, out);
		}
		if (eof) {
			lb->start = lb->end;
			return frame(lb, p, avail, out);
		}
		if (avail < lb->max + 1)
			return LB_NONE;
		/* Overlong: H02 and Queclink frames have a first byte, so the
		 * next frame is found by it even when this one lost its end. */
		out->p = p;
		out->n = lb->max;
		lb->skipping = 1;
		if (lb->mode == LBM_SEMI) {
			lb->start += window;
		} else {
			lb->start += 1;
			lb->resync = 1;
		}
		return LB_TOO_LONG;
	}
}

/* Case-insensitive: the header line p[0, n) is "name:"... */
static int header_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	if (n <= k || p[k] != ':')
		return 0;
	for (size_t i = 0; i < k; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != name[i])
			return 0;
	}
	return 1;
}

/* The end of an HTTP request's head (after its blank line) within p[0, n),
 * or 0. */
static size_t head_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The head's Content-Length (0 without one): LB_LINE, or why there is no
 * knowing where the body ends. */
static enum lb_event body_length(const char *p, size_t n, size_t *len)
{
	int seen = 0;

	*len = 0;
	for (size_t at = 0; at < n;) {
		const char *lf = memchr(p + at, '\n', n - at);
		size_t k = (lf ? (size_t)(lf - p) : n) - at;
		const char *h = p + at;
		at += k + 1;
		if (k > 0 && h[k - 1] == '\r')
			k--;
		if (header_is(h, k, "transfer-encoding"))
			return LB_NO_LENGTH;
		if (!header_is(h, k, "content-length"))
			continue;
		size_t v = sizeof("content-length:") - 1, e = k;
		while (v < e && (h[v] == ' ' || h[v] == '\t'))
			v++;
		while (e > v && (h[e - 1] == ' ' || h[e - 1] == '\t'))
			e--;
		unsigned u;
		if (e - v > 9 || scan_uint(h + v, e - v, 999999999, &u) || (seen && u != *len))
			return LB_BAD_LENGTH;
		seen = 1;
		*len = u;
	}
	return LB_LINE;
}

/* An HTTP/1.1 request, whole: the head to its blank line, then exactly
 * Content-Length bytes.  A request that cannot be framed (too long, no or
 * a bad length) leaves no way to find the next one: the stream ends there. */
static enum lb_event http_next(struct linebuf *lb, struct lb_line *out, int eof)
{
	char *p = lb->buf + lb->start;
	size_t avail = lb->end - lb->start, body;

	if (lb->dead) {
		lb->start = lb->end;
		return LB_NONE;
	}
	/* RFC 9112 2.2: empty lines before a request line are ignored. */
	while (avail > 0 && (p[0] == '\r' || p[0] == '\n')) {
		p++;
		avail--;
		lb->start++;
	}
	if (avail == 0)
		return LB_NONE;
	size_t window = avail < lb->max ? avail : lb->max, head = head_end(p, window);
	enum lb_event ev = LB_TOO_LONG;
	if (head)
		ev = body_length(p, head, &body);
	if (head && ev == LB_LINE && body <= lb->max - head) {
		if (avail < head + body) {
			if (!eof)
				return LB_NONE;
			lb->start = lb->end;
			return frame(lb, p, avail, out);
		}
		lb->start += head + body;
		return frame(lb, p, head + body, out);
	}
	if (head && ev == LB_LINE)
		ev = LB_TOO_LONG;
	if (!head && avail < lb->max && !eof)
		return LB_NONE;
	if (!head && eof && avail < lb->max) {
		lb->start = lb->end;
		return frame(lb, p, avail, out);
	}
	out->p = p;
	out->n = head ? head : window;
	lb->dead = 1;
	lb->start = lb->end;
	return ev;
}

enum lb_event linebuf_next(struct linebuf *lb, struct lb_line *out)
{
	switch (lb->mode) {
	case LBM_LINE:
		return line_next(lb, out);
	case LBM_HTTP:
		return http_next(lb, out, 0);
	default:
		return term_next(lb, out, 0);
	}
}

enum lb_event linebuf_finish(struct linebuf *lb, struct lb_line *out)
{
	switch (lb->mode) {
	case LBM_LINE:
		return line_finish(lb, out);
	case LBM_HTTP:
		return http_next(lb, out, 1);
	default:
		return term_next(lb, out, 1);
	}
}
