/* libFuzzer harness for gps103_parse(): one input is one frame (any bytes).
 * Beside the invariants of check-frame.h: one position per report, and the
 * replies are exactly "LOAD" to a log-on, "ON" to a heartbeat, and
 * "**,imei:<id>,E;" to an SOS, nothing else. */
#include <stddef.h>
#include <stdint.h>

#include "check-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frame_out out;
	char sos[REPLY_MAX];
	const char *p = (const char *)data;

	enum verdict v = fuzz_check_frame(gps103_parse, SRC_GPS103, p, size, &out);
	if (v == V_RECORD)
		CHECK(out.nrec == 1);
	if (v == V_IDENT)
		CHECK(out.reply_n == 4 && !memcmp(out.reply, "LOAD", 4));
	else if (out.reply_n > 0) {
		size_t on = out.reply_n >= 2 && !memcmp(out.reply, "ON", 2) ? 2 : 0;
		int k = snprintf(sos, sizeof(sos), "**,imei:%s,E;", out.id);
		CHECK(k > 0 && (size_t)k < sizeof(sos));
		CHECK(out.reply_n == on || (out.reply_n == on + (size_t)k && !memcmp(out.reply + on, sos, (size_t)k)));
		CHECK(memmem(p, size, "help me", 7) || out.reply_n == on);
	}
	return 0;
}
