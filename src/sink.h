/* Where records go.  A sink knows nothing of input formats: it gets a parsed
 * record, where it came from, and the line as received. */
#ifndef VLSINK_SINK_H
#define VLSINK_SINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "format.h"
#include "record.h"

enum sink_kind { SINK_STDOUT, SINK_FIFO, SINK_JOURNAL };

struct peer {
	char addr[64]; /* Numeric address, empty when unknown. */
	char port[12]; /* Decimal port, empty when unknown. */
	char text[80]; /* "addr:port" ("[addr]:port" for IPv6), for records. */
};

struct sink {
	enum sink_kind kind;
	enum out_format format;
	const char *path; /* The FIFO. */
	int fd;
	char *buf; /* Records not yet written. */
	size_t len, cap;
	uint64_t pending; /* Records in buf. */
	int64_t stop_deadline; /* Once stopping: give up waiting after this. */
};

/* Set by the signal handler; sinks keep delivering, but stop waiting for an
 * absent reader or journal after a grace period. */
extern volatile sig_atomic_t stop_requested;

#define STOP_GRACE_MS 5000

int sink_open(struct sink *s);
int sink_put(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
	     const char *line, size_t len);
int sink_flush(struct sink *s);
void sink_close(struct sink *s);
int sink_may_wait(struct sink *s);
int64_t monotonic_ms(void);

int fifo_open(struct sink *s);
int fifo_write(struct sink *s, const char *p, size_t n);
int journal_record(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
		   const char *line, size_t len);
int journal_wait(struct sink *s);

#endif

/* What became of a connection's lines. */
struct tally {
	uint64_t lines, accepted, ignored, rejected, bytes, suppressed;
	uint64_t undelivered; /* Accepted, but lost to a failed sink. */
	uint64_t by_reason[R_COUNT];
	const char *end; /* eof, reset, idle-timeout, signal, input-error, sink-error */
};

size_t escape_sample(char *dst, size_t cap, const char *p, size_t n);
void sink_reject(struct sink *s, const struct peer *peer, const char *vehicle, uint64_t lineno,
		 enum reason why, const char *line, size_t len, uint64_t suppressed);
const char *undelivered_text(const struct tally *t);
void sink_summary(struct sink *s, const struct peer *peer, const char *vehicle, const struct tally *t);
void journal_reject(struct sink *s, const struct peer *peer, const char *vehicle, uint64_t lineno,
		    enum reason why, const char *sample, const char *more);
void journal_summary(struct sink *s, const struct peer *peer, const char *vehicle, const struct tally *t,
		     const char *reasons);
