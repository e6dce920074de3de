/* A token bucket of LIMIT_BURST tokens, one added per LIMIT_REFILL_MS. */
#include "limit.h"

void limiter_init(struct limiter *l, int64_t now_ms)
{
	l->tokens = LIMIT_BURST;
	l->refill_at = now_ms + LIMIT_REFILL_MS;
	l->suppressed = 0;
	l->pending = 0;
}

int limiter_take(struct limiter *l, int64_t now_ms, uint64_t *skipped)
{
	if (l->tokens < LIMIT_BURST && now_ms >= l->refill_at) {
		l->tokens++;
		l->refill_at = now_ms + LIMIT_REFILL_MS;
	}
	if (l->tokens == 0) {
		l->suppressed++;
		l->pending++;
		return 0;
	}
	l->tokens--;
	*skipped = l->pending;
	l->pending = 0;
	return 1;
}
