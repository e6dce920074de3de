/* libFuzzer harness for osmand_parse(): one input is one HTTP request as the
 * framer hands it on (any bytes).  Checks that every verdict carries a whole
 * HTTP response (200 for records and id-only requests, 400 or 405 with a
 * close for rejects), what records may hold, and that they format to valid
 * JSON within RECORD_MAX. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "vlsink/parse/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same frame into a differently dirty frame_out gives the same result:
 * nothing depends on what the caller left there. */
static void check_again(const struct frame_out *a, const struct frame_out *b, enum verdict va, enum verdict vb)
{
	CHECK(va == vb && a->nrec == b->nrec && a->reply_n == b->reply_n);
	CHECK(!memcmp(a->reply, b->reply, a->reply_n) && !strcmp(a->id, b->id));
	CHECK(a->close_after_reply == b->close_after_reply);
	CHECK(va != V_REJECT || a->why == b->why);
	for (unsigned i = 0; i < a->nrec; i++)
		CHECK(fuzz_same_record(&a->rec[i], &b->rec[i]));
}

static int starts(const struct frame_out *o, const char *lit)
{
	size_t l = strlen(lit);
	return o->reply_n >= l && !memcmp(o->reply, lit, l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frame_out out, again;
	struct session s;

	memset(&s, 0, sizeof(s));
	s.now_ms = FUZZ_NOW_MS;
	memset(&out, 0xFF, sizeof(out));
	enum verdict v = osmand_parse(&s, (const char *)data, size, &out);
	memset(&again, 0x00, sizeof(again));
	check_again(&out, &again, v, osmand_parse(&s, (const char *)data, size, &again));
	CHECK(v == V_RECORD || v == V_IGNORED || v == V_REJECT);
	CHECK(out.reply_n >= 4 && out.reply_n <= REPLY_MAX);
	CHECK(!memcmp(out.reply + out.reply_n - 4, "\r\n\r\n", 4));
	CHECK(out.close_after_reply == 0 || out.close_after_reply == 1);
	switch (v) {
	case V_RECORD:
		CHECK(out.nrec == 1);
		CHECK(starts(&out, "HTTP/1.1 200 OK\r\n"));
		CHECK(fuzz_safe_id(out.id, sizeof(out.id), 0));
		CHECK(out.rec[0].format == SRC_OSMAND && out.rec[0].vehicle[0] == '\0');
		fuzz_check_record(&out.rec[0]);
		fuzz_check_format(&out.rec[0], out.id);
		break;
	case V_IGNORED:
		CHECK(out.nrec == 0);
		CHECK(starts(&out, "HTTP/1.1 200 OK\r\n"));
		CHECK(fuzz_safe_id(out.id, sizeof(out.id), 0));
		break;
	default:
		CHECK(out.nrec == 0 && out.close_after_reply == 1);
		CHECK(starts(&out, "HTTP/1.1 400 ") || starts(&out, "HTTP/1.1 405 "));
		CHECK(out.why > R_NONE && out.why < R_COUNT);
		CHECK(fuzz_safe_id(out.id, sizeof(out.id), 1));
		break;
	}
	return 0;
}
