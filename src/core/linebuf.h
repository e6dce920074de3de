/* Line framing: one fixed buffer per connection, lines cut at LF (an optional
 * CR before it is dropped), overlong lines discarded whole. */
#ifndef VLSINK_LINEBUF_H
#define VLSINK_LINEBUF_H

#include <stddef.h>

struct linebuf {
	char *buf;
	size_t cap;        /* Bytes in buf. */
	size_t max;        /* Longest line accepted, terminator excluded. */
	size_t start, end; /* Unconsumed bytes are buf[start, end). */
	int skipping;      /* Dropping the rest of an overlong line. */
};

enum lb_event {
	LB_NONE,     /* Nothing complete yet: read more. */
	LB_LINE,     /* A line; it may still hold control bytes. */
	LB_TOO_LONG, /* An overlong line; the text is a sample of its start. */
	LB_CONTROL,  /* A line holding a NUL or other control byte. */
};

struct lb_line {
	const char *p;
	size_t n;
};

int linebuf_init(struct linebuf *lb, size_t max);
void linebuf_free(struct linebuf *lb);
char *linebuf_space(struct linebuf *lb, size_t *room);
void linebuf_commit(struct linebuf *lb, size_t n);
enum lb_event linebuf_next(struct linebuf *lb, struct lb_line *out);
enum lb_event linebuf_finish(struct linebuf *lb, struct lb_line *out);
size_t linebuf_pending(const struct linebuf *lb);

#endif
