/* libFuzzer harness for csv_parse(): one input is one line (any bytes).
 * Checks what a verdict may carry (a record's vehicle id non-empty and of the
 * safe alphabet), and that records format to valid JSON within RECORD_MAX. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct parse_out out;

	fuzz_dirty(&out);
	enum verdict v = csv_parse(p, size, &out);
	fuzz_check_verdict(v, &out, NULL);
	CHECK(v != V_IDENT);
	if (v == V_RECORD) {
		CHECK(out.rec.format == SRC_CSV);
		CHECK(out.rec.have & HAVE_TIME);
		size_t idn = strlen(out.rec.vehicle);
		CHECK(idn >= 1 && idn <= VEHICLE_MAX && idn < size && !memcmp(p, out.rec.vehicle, idn) &&
		      p[idn] == ',');
	}
	return 0;
}
