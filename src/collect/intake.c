/* Every line is checked by the one JSON scanner; a line that is not exactly
 * one object is reported with the reason and the offset, and dropped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/escape.h"
#include "core/json.h"
#include "core/log.h"
#include "intake.h"

int intake_init(struct intake *in, const struct linebuf *lb)
{
	memset(in, 0, sizeof(*in));
	limiter_init(&in->limit, monotonic_ms());
	in->batch_cap = lb->cap + 1;
	in->batch = malloc(in->batch_cap);
	return in->batch ? 0 : -1;
}

static void reject(struct intake *in, const char *why, size_t at, const struct lb_line *l)
{
	char s[SAMPLE_SIZE], where[48] = "", more[64] = "";
	uint64_t skipped;

	in->rejected++;
	if (!limiter_take(&in->limit, monotonic_ms(), &skipped))
		return;
	escape_sample(s, sizeof(s), l->p, l->n, 0);
	if (at != (size_t)-1)
		snprintf(where, sizeof(where), " at byte %zu", at);
	if (skipped)
		snprintf(more, sizeof(more), " (%" PRIu64 " more suppressed)", skipped);
	note("line %" PRIu64 " rejected (%s%s): \"%s\"%s", in->lines, why, where, s, more);
}

void intake_line(struct intake *in, enum lb_event ev, const struct lb_line *l)
{
	size_t at;

	in->lines++;
	if (ev == LB_TOO_LONG) {
		in->too_long++;
		reject(in, "too-long", (size_t)-1, l);
		return;
	}
	/* LB_CONTROL lines go to the scanner too: it knows that a tab may
	 * separate tokens and that NUL and raw control bytes may not appear. */
	enum json_err e = json_check_object(l->p, l->n, &at);
	if (e != JSON_OK) {
		reject(in, json_reason(e), at, l);
		return;
	}
	/* The batch holds no more than the read buffer it comes from. */
	if (in->batch_len + l->n + 1 > in->batch_cap) {
		note("internal error: batch overflow");
		abort();
	}
	memcpy(in->batch + in->batch_len, l->p, l->n);
	in->batch_len += l->n;
	in->batch[in->batch_len++] = '\n';
	in->batch_records++;
}

void intake_clear(struct intake *in)
{
	in->batch_len = 0;
	in->batch_records = 0;
}

void intake_free(struct intake *in)
{
	free(in->batch);
	in->batch = NULL;
}
