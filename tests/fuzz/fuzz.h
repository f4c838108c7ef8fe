/* fuzz.h - what every fuzz target shares.
 *
 * A target is one `LLVMFuzzerTestOneInput` over bytes in memory.  It is
 * linked either with libFuzzer (meson -Dfuzz=true, clang) or with
 * standalone.c, which feeds it every file of its corpus as an ordinary test.
 * A broken invariant is reported on stderr and aborts, so both libFuzzer and
 * the test runner see a crash.
 */
#ifndef AP_FUZZ_H
#define AP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__,       \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
