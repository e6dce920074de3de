/* libFuzzer harness for tpv_parse(): one input is one line (any bytes).
 * Checks what a verdict may carry, that records format to valid JSON within
 * RECORD_MAX, and that whatever the parser does not turn away as a syntax
 * error is a JSON object by an independent validator. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"

static int has_control(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct parse_out out;

	fuzz_dirty(&out);
	enum verdict v = tpv_parse(p, size, &out);
	fuzz_check_verdict(v, &out, NULL);
	if (v == V_RECORD)
		CHECK(out.rec.format == SRC_GPSD_TPV);
	/* Raw control bytes in strings are not JSON, but the framer has
	 * rejected such lines before any parser sees them. */
	if (!(v == V_REJECT && out.why == R_SYNTAX) && !has_control(p, size))
		CHECK(fuzz_json_object(p, size));
	return 0;
}
