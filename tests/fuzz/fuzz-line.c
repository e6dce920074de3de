/* libFuzzer harness for the whole dispatcher, parse_line(), over a stream:
 * the input is split at LF into lines (any other bytes kept, as a parser
 * must survive them) that go through sessions kept across lines, the way
 * one connection goes: one per checksum mode, plus two started by --date
 * (an ordinary date, and the last one --date accepts).
 * Checks what every verdict may carry, that records format to valid JSON
 * within RECORD_MAX, and, line by line from the same session state, that
 * strict accepts nothing lenient refuses and lenient nothing off refuses. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"

enum { S_STRICT, S_LENIENT, S_OFF, S_DATED, S_LATE, NSESS };

struct stream {
	struct session s;
	char ident[VEHICLE_MAX + 1];
};

static void one(struct stream *st, const char *p, size_t n, struct parse_out *out, enum verdict *v)
{
	fuzz_dirty(out);
	*v = parse_line(&st->s, p, n, out);
	CHECK(out->id[0] == '\0' || fuzz_safe_id(out->id, sizeof(out->id), 0));
	if (out->id[0])
		memcpy(st->ident, out->id, sizeof(st->ident));
	fuzz_check_verdict(*v, out, st->ident);
	if (n == 0)
		CHECK(*v == V_IGNORED);
	if (*v == V_RECORD) {
		switch (out->rec.format) {
		case SRC_GPSD_TPV:
			CHECK(p[0] == '{');
			break;
		case SRC_CSV:
			CHECK(p[0] != '$' && p[0] != '!' && p[0] != '{');
			break;
		default:
			CHECK(memchr(p, '$', n) != NULL);
		}
	}
}

static int same_session(const struct session *a, const struct session *b)
{
	return a->dated == b->dated && (!a->dated || a->not_before_ms == b->not_before_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream st[NSESS];
	const char *p = (const char *)data, *end = p + size;

	memset(st, 0, sizeof(st));
	st[S_STRICT].s.checksum = CK_STRICT;
	st[S_LENIENT].s.checksum = CK_LENIENT;
	st[S_OFF].s.checksum = CK_OFF;
	st[S_DATED].s.checksum = CK_LENIENT;
	st[S_DATED].s.dated = 1;
	st[S_DATED].s.not_before_ms = days_from_civil(1994, 3, 23) * MS_PER_DAY;
	st[S_LATE].s.checksum = CK_OFF;
	st[S_LATE].s.dated = 1;
	st[S_LATE].s.not_before_ms = days_from_civil(2199, 12, 31) * MS_PER_DAY;
	for (int i = 0; i < NSESS; i++)
		st[i].s.now_ms = FUZZ_NOW_MS;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((lf ? lf : end) - p);
		struct parse_out out[NSESS], cs, co;
		enum verdict v[NSESS], vs, vo;

		/* The other modes, from the lenient stream's state. */
		struct stream strict = st[S_LENIENT], off = st[S_LENIENT];
		strict.s.checksum = CK_STRICT;
		off.s.checksum = CK_OFF;

		for (int i = 0; i < NSESS; i++)
			one(&st[i], p, n, &out[i], &v[i]);
		one(&strict, p, n, &cs, &vs);
		one(&off, p, n, &co, &vo);

		if (vs == V_RECORD) {
			CHECK(v[S_LENIENT] == V_RECORD && fuzz_same_record(&cs.rec, &out[S_LENIENT].rec));
			CHECK(same_session(&strict.s, &st[S_LENIENT].s));
		}
		if (vs == V_IDENT)
			CHECK(v[S_LENIENT] == V_IDENT && !strcmp(cs.id, out[S_LENIENT].id));
		if (v[S_LENIENT] == V_RECORD) {
			CHECK(vo == V_RECORD && fuzz_same_record(&co.rec, &out[S_LENIENT].rec));
			CHECK(same_session(&off.s, &st[S_LENIENT].s));
		}
		if (v[S_LENIENT] == V_IDENT)
			CHECK(vo == V_IDENT && !strcmp(co.id, out[S_LENIENT].id));
		p += n + (lf != NULL);
	}
	return 0;
}
