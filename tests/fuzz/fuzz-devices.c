/* libFuzzer harness for the --devices parser: any bytes as the file.
 * Checks that an accepted file's ids are of the safe alphabet and are found
 * again, that its networks match their own address, and that a refused file
 * names a line within the input. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vlsink/devices.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct devices d;
	size_t line = 0, lines = 1;
	const char *why = NULL;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (devices_parse(&d, (const char *)data, size, &line, &why) < 0) {
		CHECK(why != NULL && line >= 1 && line <= lines);
		return 0;
	}
	CHECK(d.nid + d.nnet <= lines);
	for (size_t i = 0; i < d.nid; i++) {
		size_t n = strlen(d.id[i]);
		CHECK(n >= 1 && n <= VEHICLE_MAX);
		CHECK(devices_has_id(&d, d.id[i]));
	}
	for (size_t i = 0; i < d.nnet; i++) {
		char text[INET6_ADDRSTRLEN];
		CHECK(d.net[i].prefix <= 128);
		if (inet_ntop(AF_INET6, d.net[i].addr, text, sizeof(text)))
			CHECK(devices_has_addr(&d, text));
	}
	devices_free(&d);
	return 0;
}
