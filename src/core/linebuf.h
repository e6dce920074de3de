/* Framing: one fixed buffer per connection, cut into frames the way the
 * connection's protocol ends them (an LF line by default), overlong frames
 * discarded whole. */
#ifndef VLSINK_LINEBUF_H
#define VLSINK_LINEBUF_H

#include <stddef.h>

/* How a stream is cut.  core knows framings, not protocols: vlsink maps
 * each protocol to one. */
enum lb_mode {
	LBM_LINE,   /* Lines ended by LF; a CR before it is dropped. */
	LBM_STAR,   /* "*...#" (H02); a frame starting with '$' is binary. */
	LBM_SEMI,   /* Ended by ';', CR or LF (GPS103); empty frames skipped. */
	LBM_DOLLAR, /* "+...$" (Queclink); a "+RSP"-style head is binary. */
	LBM_HTTP,   /* HTTP/1.1 requests: head to the blank line, Content-Length body. */
};

/* The HTTP framer looks at this many header lines at most. */
#define LB_HTTP_HEADERS 64

struct linebuf {
	char *buf;
	size_t cap;        /* Bytes in buf. */
	size_t max;        /* Longest frame accepted, terminator excluded. */
	size_t start, end; /* Unconsumed bytes are buf[start, end). */
	int skipping;      /* Dropping the rest of an overlong frame (or a binary run). */
	enum lb_mode mode;
	int resync;        /* Skipping stops before a frame's first byte, not after a terminator. */
	int dead;          /* HTTP: the stream cannot be framed any more; all is dropped. */
};

enum lb_event {
	LB_NONE,     /* Nothing complete yet: read more. */
	LB_LINE,     /* A frame; it may still hold control bytes. */
	LB_TOO_LONG, /* An overlong frame; the text is a sample of its start. */
	LB_CONTROL,  /* A frame holding a NUL or other control byte. */
	LB_BINARY,   /* A binary frame on a text protocol: a sample; skipped to the next text frame. */
	LB_NO_LENGTH, /* HTTP: a body without Content-Length (Transfer-Encoding); the head. */
	LB_BAD_LENGTH, /* HTTP: a Content-Length that is not one strict decimal; the head. */
};

struct lb_line {
	const char *p;
	size_t n;
};

int linebuf_init(struct linebuf *lb, size_t max);
void linebuf_free(struct linebuf *lb);
/* Set before the first frame is taken (detection looks at the bytes first). */
void linebuf_mode(struct linebuf *lb, enum lb_mode mode);
char *linebuf_space(struct linebuf *lb, size_t *room);
void linebuf_commit(struct linebuf *lb, size_t n);
enum lb_event linebuf_next(struct linebuf *lb, struct lb_line *out);
enum lb_event linebuf_finish(struct linebuf *lb, struct lb_line *out);
size_t linebuf_pending(const struct linebuf *lb);
/* The bytes read and not yet framed. */
const char *linebuf_peek(const struct linebuf *lb, size_t *n);

#endif
