/* libFuzzer harness for the PROXY protocol header parser: any bytes as the
 * start of a connection, under each --proxy-protocol setting.  Checks that a
 * header's length is within the input and the caps, that every shorter
 * prefix asks for more without its need hint reaching past the header (what
 * keeps vlsink from reading the first line), that a refusal is final as
 * bytes are added, and that "any" agrees with exactly one version. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "vlsink/parse/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_one(const uint8_t *data, size_t size, int accept)
{
	struct proxy_header h, again;
	int r = proxy_parse(data, size, accept, &h);

	if (r < 0) {
		CHECK(h.why != NULL && h.why[0] != '\0');
	} else if (r == 0) {
		CHECK(h.need >= 1);
		CHECK(size + h.need <= PROXY_MAX);
	} else {
		CHECK((size_t)r <= size && r <= PROXY_MAX);
		CHECK(h.version == 1 || h.version == 2);
		CHECK((accept & h.version) != 0);
		CHECK(h.kind == PROXY_CLIENT || h.kind == PROXY_LOCAL || h.kind == PROXY_UNIX);
		if (h.kind == PROXY_CLIENT)
			CHECK((h.family == AF_INET || h.family == AF_INET6) && h.port <= 65535);
		if (h.version == 1)
			CHECK(r <= PROXY_V1_MAX && data[r - 2] == '\r' && data[r - 1] == '\n');
		/* The header alone says the same. */
		CHECK(proxy_parse(data, (size_t)r, accept, &again) == r);
		CHECK(again.kind == h.kind && again.family == h.family && again.port == h.port &&
		      !memcmp(again.addr, h.addr, sizeof(h.addr)));
	}
	/* Byte by byte, as a slow sender would deliver it. */
	size_t upto = r > 0 ? (size_t)r : size;
	int refused = 0;
	for (size_t k = 0; k < upto; k++) {
		int p = proxy_parse(data, k, accept, &again);
		if (r > 0) {
			CHECK(p == 0);
			CHECK(k + again.need <= (size_t)r);
		} else if (p < 0) {
			refused = 1;
		} else {
			CHECK(!refused);
			CHECK(p == 0);
		}
	}
	if (refused)
		CHECK(r < 0);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r1 = check_one(data, size, PROXY_V1);
	int r2 = check_one(data, size, PROXY_V2);
	int ra = check_one(data, size, PROXY_ANY);

	if (ra > 0)
		CHECK((r1 == ra) != (r2 == ra));
	if (r1 > 0 || r2 > 0)
		CHECK(ra == (r1 > 0 ? r1 : r2));
	return 0;
}
