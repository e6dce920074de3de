/* libFuzzer harness for epoch merging: the input is split at LF into lines
 * that go through parse_line() with one session, as one connection's would,
 * and every position (but CSV) and GSA into the merger; records are taken
 * after every line, and the held fix closed at the end.  Checks that no
 * record is made from nothing or lost (records <= positions, at least one
 * when there was one), that each is in range and formats within RECORD_MAX,
 * that its raw lines fit the merger's bound, that a GSA after a fix that
 * went out whole never starts the next one, and that the cycle learnt holds
 * at most MERGE_GSAS GSAs. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "vlsink/fix/merge.h"

#define LINE_MAX_FUZZ 1024

static size_t take(struct merger *m)
{
	struct record r;
	const char *raw;
	size_t n, k = 0;
	char buf[RECORD_MAX + 1];
	struct origin o = { fuzz_vehicle64, fuzz_peer79 };

	while (merge_next(m, &r, &raw, &n)) {
		k++;
		CHECK(r.lat >= -90 && r.lat <= 90 && r.lon >= -180 && r.lon <= 180);
		CHECK(r.format != SRC_CSV);
		CHECK(n <= MERGE_LINES * (LINE_MAX_FUZZ + 1));
		CHECK(format_record(buf, OUT_JSON, &r, &o) <= RECORD_MAX);
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct session s;
	struct merger m;
	size_t positions = 0, records = 0;

	memset(&s, 0, sizeof(s));
	s.checksum = CK_OFF;
	s.now_ms = FUZZ_NOW_MS;
	if (merge_init(&m, LINE_MAX_FUZZ) < 0)
		return 0;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((lf ? lf : end) - p);
		struct parse_out out;

		if (n <= LINE_MAX_FUZZ) {
			fuzz_dirty(&out);
			enum verdict v = parse_line(&s, p, n, &out);
			if (v == V_RECORD && out.rec.format != SRC_CSV) {
				positions++;
				merge_add(&m, &out.rec, 0, p, n);
			} else if (v == V_QUALITY) {
				int tail = m.after_complete;
				merge_add(&m, &out.rec, 1, p, n);
				CHECK(!tail || !merge_pending(&m));
			}
			CHECK(m.cycle_gsas <= MERGE_GSAS);
			records += take(&m);
			CHECK(records <= positions);
		}
		p = lf ? lf + 1 : end;
	}
	merge_close(&m);
	records += take(&m);
	CHECK(records <= positions);
	CHECK((records > 0) == (positions > 0));
	CHECK(!merge_pending(&m));
	merge_free(&m);
	return 0;
}
