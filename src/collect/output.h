/* The collector's durable append-only writer: the only code that touches
 * the output file and its state file.  A batch counts once it is written
 * and synced, and after a failed sync only once it is written again. */
#ifndef VLSINK_COLLECT_OUTPUT_H
#define VLSINK_COLLECT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Collector lines are at most this long: see MAX_LINE in main.c. */
#define OUTPUT_LINE_MAX 4000

struct output {
	const char *name; /* For messages: the path, or "stdout". */
	int fd;
	int regular; /* A regular file: sync it. */
	/* --output=PATH to a regular file: the state file records how far the
	 * file is synced and how far the batch being written may reach, so
	 * that what lies beyond is provably ours, and may be cut. */
	int owned;
	int sync;  /* fdatasync() after every batch. */
	int dirfd; /* The output's directory (owned only), else -1. */
	char *state, *state_tmp; /* Names in that directory. */
	int statefd;
	uint64_t seq; /* Of the state slot written last. */
	/* The file's identity: a reused inode number has another birth time
	 * (0 where the file system keeps none). */
	dev_t dev;
	ino_t ino;
	int64_t born_sec;
	unsigned born_nsec;
	off_t durable; /* owned: the size after the last batch synced. */
	/* Output stall (disk full or I/O error). */
	int stalled;
	int64_t stall_since, stall_logged;
	/* Gave up on an output that took nothing for the stop grace period. */
	int blocked;
	int64_t stop_deadline;
};

/* output_append()'s result: OUTPUT_OK, or either failure or both. */
enum { OUTPUT_OK = 0, OUTPUT_WRITE_FAILED = 1, OUTPUT_SYNC_FAILED = 2 };

/* path "-" is standard output.  0, or a negative errno (nothing opened). */
int output_open(struct output *o, const char *path, int sync);
/* Appends p[0, n) (whole lines) and syncs it.  *done: how many bytes of it
 * were written; all of it on OUTPUT_OK.  After OUTPUT_SYNC_FAILED none of it
 * is known to be on disk.  A full disk or an I/O error stalls here until
 * the batch is written and synced, or until a stop signal; an output that
 * takes nothing is waited for STOP_GRACE_MS after a stop signal. */
int output_append(struct output *o, const char *p, size_t n, size_t *done);
int output_close(struct output *o);

#endif
