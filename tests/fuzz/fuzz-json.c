/* libFuzzer harness for the collector's validator, json_check_object() and
 * json_valid_object(): one input is one line (any bytes).  Checks the two
 * agree, that the error offset and reason are in range, and differentially
 * against the small validator in check.h, which knows JSON's grammar but not
 * UTF-8, surrogates or the depth cap: whatever src/json.c accepts it must
 * accept, and whatever it accepts src/json.c may turn away only for one of
 * those three reasons. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t at = (size_t)-1;

	enum json_err e = json_check_object(p, size, &at);
	CHECK((unsigned)e < JSON_ERR_COUNT);
	CHECK(json_reason(e) != NULL);
	CHECK(json_valid_object(p, size) == (e == JSON_OK));
	CHECK(json_check_object(p, size, NULL) == e);
	if (e != JSON_OK)
		CHECK(at <= size);

	int ours = fuzz_json_object(p, size);
	if (e == JSON_OK)
		CHECK(ours);
	else if (ours)
		CHECK(e == JSON_BAD_UTF8 || e == JSON_BAD_STRING || e == JSON_TOO_DEEP);
	return 0;
}
