/* Epoch merging: the sentences of one fix (RMC, GGA, GLL, GSA and a gpsd
 * TPV of the same instant) become one record with every field any of them
 * carried.  Pure: no clock, no I/O; the caller says when time is up. */
#ifndef VLSINK_MERGE_H
#define VLSINK_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

/* Position sentences of one epoch whose lines are kept for RAW_LINE. */
#define MERGE_LINES 4

struct epoch {
	int open;        /* Holds at least one sentence. */
	int complete;    /* Ready to go out. */
	unsigned kinds;  /* Which sentences it has seen (K_* in merge.c). */
	int64_t tod;     /* Time of day, ms; -1 while unknown. */
	struct record rec;
	int has_pos;     /* A position sentence joined it (GSA alone is none). */
	int conflict;    /* Its sentences disagreed on the position. */
	unsigned char rank[8]; /* Per field group: rank of the sentence that gave it. */
	unsigned gsa_sats;
	unsigned gsas;   /* GSA sentences joined, up to MERGE_GSAS. */
	char *raw;       /* The position sentences' lines, LF between them. */
	size_t raw_len, lines;
};

/* GSAs counted in one cycle: a receiver sends one per satellite system (six
 * in NMEA 4.11); past this many, more are noise and count no further. */
#define MERGE_GSAS 16

/* The epoch being filled and up to two closed ones waiting to be taken. */
#define MERGE_SLOTS 3

struct merger {
	struct epoch ep[MERGE_SLOTS];
	int cur;
	int queue[MERGE_SLOTS], head, queued;
	unsigned cycle;      /* The sentences a cycle holds, learnt from the stream. */
	unsigned cycle_gsas; /* ... and how many GSAs. */
	int misses;          /* Epochs in a row that ended without all of them. */
	/* The last epoch went out once it was complete and no position has
	 * come since: a GSA now is that cycle's, one more than it was thought
	 * to hold (out_gsas counts them). */
	int after_complete;
	unsigned out_gsas;
	size_t line_max;
	uint64_t conflicts;  /* Epochs whose sentences disagreed on the position. */
};

/* line_max is the longest line; 0 or -1 (out of memory). */
int merge_init(struct merger *m, size_t line_max);
void merge_free(struct merger *m);
/* A parsed NMEA or TPV line: V_RECORD (with a position) or V_QUALITY. */
void merge_add(struct merger *m, const struct record *r, int quality_only, const char *line, size_t n);
/* Closes the epoch being filled: end of input, a stop, a pause, a new id. */
void merge_close(struct merger *m);
/* The next record ready to go out, oldest first: 1 with *r and its raw
 * lines (valid until the next merge_add or merge_close), or 0.  Take
 * them all after every merge_add and merge_close. */
int merge_next(struct merger *m, struct record *r, const char **raw, size_t *raw_len);
/* An epoch is being filled (something to close when time is up). */
int merge_pending(const struct merger *m);
/* Forgets the epoch being filled, which never goes out. */
void merge_discard(struct merger *m);

#endif
