/* What every harness shares: CHECK(cond), an invariant that aborts (the
 * crash libFuzzer records) with the condition and where it failed. */
#ifndef VLSINK_FUZZ_FUZZ_H
#define VLSINK_FUZZ_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
