/* The collector's intake: framed lines checked as JSON objects, the good
 * ones gathered into one batch per read, the bad ones reported (rate
 * limited). */
#ifndef VLSINK_COLLECT_INTAKE_H
#define VLSINK_COLLECT_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "core/limit.h"
#include "core/linebuf.h"

struct intake {
	char *batch; /* Valid records of the current read, each ending in LF. */
	size_t batch_len, batch_cap;
	uint64_t batch_records;
	uint64_t lines, rejected, too_long;
	struct limiter limit;
};

/* The batch holds what one read of lb can bring. */
int intake_init(struct intake *in, const struct linebuf *lb);
void intake_line(struct intake *in, enum lb_event ev, const struct lb_line *l);
void intake_clear(struct intake *in);
void intake_free(struct intake *in);

#endif
