/* The FIFO sink's transport, used by the dispatcher alone. */
#ifndef VLSINK_SINK_FIFO_H
#define VLSINK_SINK_FIFO_H

#include <stddef.h>

#include "vlsink/sink/sink.h"

int fifo_open(struct sink *s);
int fifo_write(struct sink *s, const char *p, size_t n);

#endif
