/* Where records go.  A sink knows nothing of input formats and nothing of
 * its callers: it gets a parsed record, where it came from, and the line as
 * received; or an event (a reject, the summary) already worded. */
#ifndef VLSINK_SINK_H
#define VLSINK_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/format.h"
#include "core/record.h"
#include "vlsink/peer.h"

enum sink_kind { SINK_STDOUT, SINK_FIFO, SINK_JOURNAL };

struct sink {
	enum sink_kind kind;
	enum out_format format;
	const char *path; /* The FIFO. */
	int fd;
	int opener;       /* The FIFO opener's socket (opener.c); -1: opened here. */
	int chunked;      /* stdout is a pipe or socket: write at most PIPE_BUF at a time. */
	char *buf;        /* Records not yet written. */
	size_t len, cap;
	uint64_t pending; /* Records in buf. */
	int64_t stop_deadline; /* Once stopping: give up waiting after this. */
};

/* Extra journal fields an event may carry. */
#define EVENT_FIELDS 18

/* A diagnostic about the connection: a journal entry for the journal sink,
 * a line on stderr for the others. */
struct event {
	int priority;          /* syslog priority: 4 warning, 6 info. */
	const char *vehicle;   /* NULL when unknown. */
	const char *message;   /* The journal's MESSAGE=, also said when it fails. */
	const char *text;      /* The line on stderr for the other sinks. */
	const char *raw;       /* RAW_LINE=, or NULL. */
	size_t nfields;
	struct {
		const char *name;
		char value[160];
	} field[EVENT_FIELDS];
};

int sink_open(struct sink *s);
/* What one record of a line of len bytes may take in the buffer: a caller
 * that leaves this much room per record it may hand over never has
 * sink_put write in between. */
size_t sink_record_room(const struct sink *s, size_t len);
int sink_put(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
	     const char *line, size_t len);
int sink_flush(struct sink *s);
void sink_event(struct sink *s, const struct peer *peer, const struct event *ev);
/* A process other than the main one that delivered records, before it
 * exits: until the journal has taken them, so that they keep the unit's
 * metadata (see sink_journal.c). */
void sink_drain(struct sink *s);
void sink_close(struct sink *s);
/* Before the process confines itself: the FIFO is reopened by a process of
 * its own from then on (opener.c).  0, or a negative errno. */
int sink_fork_opener(struct sink *s);

#endif
