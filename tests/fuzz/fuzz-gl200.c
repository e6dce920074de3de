/* libFuzzer harness for gl200_parse(): the input is cut at its first '$', as
 * the framer cuts Queclink frames, and parsed with and without --ack.  Checks
 * what each verdict may carry (records of the safe id, gl200, dated, at most
 * 15; a reply only where the protocol has one, ending in '$'), and that the
 * records format to valid JSON within RECORD_MAX. */
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

static void check(const char *p, size_t n, int ack)
{
	static struct frame_out out, again;
	struct session s;

	memset(&s, 0, sizeof(s));
	s.ack = ack;
	memset(&out, 0xFF, sizeof(out));
	enum verdict v = gl200_parse(&s, p, n, &out);
	memset(&again, 0x00, sizeof(again));
	check_again(&out, &again, v, gl200_parse(&s, p, n, &again));
	CHECK(v == V_RECORD || v == V_IGNORED || v == V_REJECT);
	CHECK(out.reply_n <= REPLY_MAX);
	if (out.reply_n) {
		CHECK(v != V_REJECT);
		CHECK(out.reply[out.reply_n - 1] == '$' && !memcmp(out.reply, "+SACK:", 6));
		CHECK(memchr(out.reply, '$', out.reply_n - 1) == NULL);
	}
	switch (v) {
	case V_RECORD:
		CHECK(out.nrec >= 1 && out.nrec <= FRAME_POINTS_MAX);
		CHECK(fuzz_safe_id(out.id, sizeof(out.id), 0));
		CHECK(!ack || out.reply_n > 0);
		for (unsigned i = 0; i < out.nrec; i++) {
			const struct record *r = &out.rec[i];
			CHECK(r->format == SRC_GL200 && r->vehicle[0] == '\0');
			CHECK((r->have & HAVE_TIME) && (r->have & HAVE_HDOP));
			CHECK(r->hdop >= 1 && r->hdop <= 50);
			CHECK(!(r->have & HAVE_ACCURACY));
			fuzz_check_record(r);
			fuzz_check_format(r, out.id);
		}
		break;
	case V_IGNORED:
		CHECK(out.nrec == 0);
		CHECK(fuzz_safe_id(out.id, sizeof(out.id), 0));
		break;
	default:
		CHECK(out.nrec == 0 && out.reply_n == 0);
		CHECK(out.why > R_NONE && out.why < R_COUNT);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *dollar = memchr(p, '$', size);
	size_t n = dollar ? (size_t)(dollar - p) : size;

	check(p, n, 0);
	check(p, n, 1);
	return 0;
}
