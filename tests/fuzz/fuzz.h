/* SPDX-License-Identifier: MIT */
#ifndef A0_FUZZ_H
#define A0_FUZZ_H

/*
 * Shared by the libFuzzer targets: each feeds one parser of outside data and checks what its
 * contract promises on top of what ASan and UBSan catch. Run them with tools/fuzz.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise is a crash, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Text that reaches syslog or a terminal: NUL-terminated within size, no control characters. */
static inline bool fuzz_printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n < size && a0_text_ok(s, n, A0_TEXT_LINE);
}

/* A NUL-terminated copy of data, as the HTTP client hands a body over. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
