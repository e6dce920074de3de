/* The collector's durable append-only writer: the only code that touches
 * the output file.  A batch counts once it is written and synced. */
#ifndef VLSINK_COLLECT_OUTPUT_H
#define VLSINK_COLLECT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* Collector lines are at most this long: see MAX_LINE in main.c. */
#define OUTPUT_LINE_MAX 4000

struct output {
	const char *name; /* For messages: the path, or "stdout". */
	int fd;
	int regular;  /* A regular file: sync it. */
	int cuttable; /* ... opened for appending: a torn end can be cut off. */
	int sync;     /* fdatasync() after every batch. */
	/* Output stall (disk full or I/O error). */
	int stalled;
	int64_t stall_since, stall_logged;
};

/* output_append()'s result: OUTPUT_OK, or either failure or both. */
enum { OUTPUT_OK = 0, OUTPUT_WRITE_FAILED = 1, OUTPUT_SYNC_FAILED = 2 };

/* path "-" is standard output.  0, or a negative errno (nothing opened). */
int output_open(struct output *o, const char *path, int sync);
/* Appends p[0, n) (whole lines) and syncs it.  *done: how many bytes of it
 * were written; all of it on OUTPUT_OK.  After OUTPUT_SYNC_FAILED none of it
 * is known to be on disk.  A full disk stalls here until it has room, or
 * until a stop signal. */
int output_append(struct output *o, const char *p, size_t n, size_t *done);
int output_close(struct output *o);

#endif
