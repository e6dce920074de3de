/* libFuzzer harness for h02_parse(): one input is one frame (any bytes).
 * Beside the invariants of check-frame.h: one position per report, and a
 * reply only to a heartbeat, "*<maker>,<id>,HTBT#" or V0, echoing the
 * frame's own first bytes. */
#include <stddef.h>
#include <stdint.h>

#include "check-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frame_out out;
	const char *p = (const char *)data;

	enum verdict v = fuzz_check_frame(h02_parse, SRC_H02, p, size, &out);
	CHECK(v != V_IDENT);
	if (v == V_RECORD)
		CHECK(out.nrec == 1);
	if (out.reply_n > 0) {
		CHECK(v == V_IGNORED);
		CHECK(out.reply_n >= 4 && out.reply[0] == '*' && out.reply[out.reply_n - 1] == '#');
		const char *star = memchr(p, '*', size);
		CHECK(star && (size_t)(p + size - star) >= out.reply_n - 1);
		CHECK(!memcmp(star, out.reply, out.reply_n - 1));
		CHECK(memmem(out.reply, out.reply_n, out.id, strlen(out.id)) != NULL);
	}
	return 0;
}
