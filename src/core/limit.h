/* The rate limit on diagnostics about bad input: at most LIMIT_BURST
 * messages at once, then one per LIMIT_REFILL_MS, so that a stream of
 * garbage costs the log a few lines a minute. */
#ifndef VLSINK_LIMIT_H
#define VLSINK_LIMIT_H

#include <stdint.h>

#define LIMIT_BURST 10
#define LIMIT_REFILL_MS 6000

struct limiter {
	int tokens;
	int64_t refill_at;
	uint64_t suppressed; /* In all. */
	uint64_t pending;    /* Suppressed since the last message let through. */
};

void limiter_init(struct limiter *l, int64_t now_ms);
/* 1: say it, and *skipped gets how many were held back before it; 0: hold
 * it back (counted). */
int limiter_take(struct limiter *l, int64_t now_ms, uint64_t *skipped);

#endif
