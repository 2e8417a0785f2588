/* SPDX-License-Identifier: MIT */
/*
 * The offline verifier's file (lib/offline.c): a0_offline_parse_line of a file's bytes. The
 * parser is strict, so a line that parses is in the one canonical form: formatting what was
 * parsed must give back exactly the input. A refusal says why, in printable text.
 */
#include "config.h"

#include "lib/error.h"
#include "lib/offline.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a0_offline_record rec;
	char reason[256] = "", out[A0_OFFLINE_LINE_MAX + 1];
	size_t len = 0;
	int r;

	/* Exactly size bytes, not NUL-terminated: as read from the file. */
	r = a0_offline_parse_line((const char *)data, size, &rec, reason, sizeof(reason));
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_CONFIG);
		FUZZ_CHECK(reason[0] != '\0' && fuzz_printable(reason, sizeof(reason)));
		return 0;
	}
	FUZZ_CHECK(size <= A0_OFFLINE_LINE_MAX);
	FUZZ_CHECK(rec.e.user[0] != '\0' && strlen(rec.e.user) <= A0_OFFLINE_MAX_USER);
	FUZZ_CHECK(rec.e.memory_kib > 0 && rec.e.passes > 0);
	FUZZ_CHECK(rec.e.written >= 0 && rec.e.last_online >= 0);
	r = a0_offline_format_line(&rec, out, sizeof(out), &len);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
	return 0;
}
