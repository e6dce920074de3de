/* libFuzzer harness for nmea_parse(): one input is one line (any bytes),
 * parsed under every checksum mode and with and without a reference date.
 * Checks what a verdict may carry, that records format to valid JSON within
 * RECORD_MAX, that checksum modes only widen what is accepted, and that a
 * record accepted in strict mode really had a correct checksum. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"

/* The reference dates a session can start with: none (now is used), and the
 * two ends of what --date accepts, at midnight as main.c sets them. */
static int64_t ref_for(int i)
{
	switch (i) {
	case 1:
		return days_from_civil(1970, 1, 1) * MS_PER_DAY;
	case 2:
		return days_from_civil(2199, 12, 31) * MS_PER_DAY;
	default:
		return 0;
	}
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1: "*HH" ends the line and matches; 2: it matches in one of the T55
 * forms (a blank either side of the '*', ",..." after the digits); 0: no
 * '*' at all; -1: anything else. */
static int checksum_state(const char *p, size_t n)
{
	const char *star = n > 1 ? memchr(p + 1, '*', n - 1) : NULL;
	const char *body_end, *h, *end = p + n;
	unsigned x = 0;

	if (!star)
		return 0;
	body_end = star > p + 1 && star[-1] == ' ' ? star - 1 : star;
	h = star + 1 < end && star[1] == ' ' ? star + 2 : star + 1;
	if (end - h < 2 || hexdigit(h[0]) < 0 || hexdigit(h[1]) < 0 || (end - h > 2 && h[2] != ','))
		return -1;
	for (const char *q = p + 1; q < body_end; q++)
		x ^= (unsigned char)*q;
	if ((int)x != (hexdigit(h[0]) << 4 | hexdigit(h[1])))
		return -1;
	return body_end == star && h == star + 1 && end - h == 2 ? 1 : 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum checksum_mode modes[3] = { CK_STRICT, CK_LENIENT, CK_OFF };
	const char *p = (const char *)data;

	/* parse_line() sends no empty line to a parser: n >= 1 is the
	 * contract (nmea_parse() reads p[0] and n - 1 bytes after it). */
	if (size == 0)
		return 0;
	for (int r = 0; r < 3; r++) {
		struct parse_out out[3];
		enum verdict v[3];

		for (int m = 0; m < 3; m++) {
			struct session s = { modes[m], FUZZ_NOW_MS, ref_for(r), r != 0 };
			fuzz_dirty(&out[m]);
			v[m] = nmea_parse(&s, p, size, &out[m]);
			fuzz_check_verdict(v[m], &out[m], NULL);
			if (v[m] == V_RECORD)
				CHECK(out[m].rec.format <= SRC_NMEA_GLL);
			if (v[m] == V_RECORD && out[m].rec.format == SRC_NMEA_RMC)
				CHECK(s.dated && s.not_before_ms < out[m].rec.time_ms);
		}
		/* strict accepts a subset of lenient, lenient a subset of off. */
		for (int m = 0; m < 2; m++) {
			if (v[m] == V_RECORD) {
				CHECK(v[m + 1] == V_RECORD);
				CHECK(fuzz_same_record(&out[m].rec, &out[m + 1].rec));
			}
			if (v[m] == V_IDENT) {
				CHECK(v[m + 1] == V_IDENT);
				CHECK(!strcmp(out[m].id, out[m + 1].id));
			}
		}
		int ck = checksum_state(p, size);
		if (v[0] == V_RECORD)
			CHECK(ck == 1);
		if (v[1] == V_RECORD)
			CHECK(ck >= 0);
		if (v[0] == V_RECORD || v[1] == V_RECORD || v[2] == V_RECORD)
			CHECK(p[0] == '$');
	}
	return 0;
}
