/* The FIFO opener (opener.c): the one process of a connection that may open
 * a path, and only to pass back the FIFO of --sink=fifo. */
#ifndef VLSINK_SINK_OPENER_H
#define VLSINK_SINK_OPENER_H

/* Forks the opener, which confines itself to opening path; *sock is the
 * parent's end.  Before the parent confines itself.  0, or a negative
 * errno (-ECHILD: the opener could not confine itself and said why). */
int opener_start(int *sock, const char *path);

/* The FIFO opened write-only and non-blocking by the opener: a descriptor,
 * or a negative errno (-EINVAL: the path is not a FIFO; -EPIPE: the opener
 * is gone). */
int opener_open(int sock);

#endif
