/* The journal sink's transport, used by the dispatcher alone. */
#ifndef VLSINK_SINK_JOURNAL_H
#define VLSINK_SINK_JOURNAL_H

#include <stddef.h>

#include "vlsink/sink/sink.h"

int journal_wait(struct sink *s);
int journal_record(struct sink *s, const struct record *r, const struct origin *o, const struct peer *peer,
		   const char *line, size_t len);
int journal_event(struct sink *s, const struct peer *peer, const struct event *ev);

#endif
