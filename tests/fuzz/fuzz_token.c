/* SPDX-License-Identifier: MIT */
/* A 200 answer of /oauth/token (every grant): a0_parse_token_response. */
#include "config.h"

#include "lib/auth0.h"
#include "lib/error.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a0_tokens *t = NULL;
	int r;

	/* Exactly size bytes, not NUL-terminated: the parser must honour len. */
	r = a0_parse_token_response((const char *)data, size, NOW, &t);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_NOMEM);
		FUZZ_CHECK(t == NULL);
		return 0;
	}
	FUZZ_CHECK(r == 0 && t);
	FUZZ_CHECK(t->access_token && *t->access_token);
	FUZZ_CHECK(strlen(t->access_token) <= A0_MAX_TOKEN);
	FUZZ_CHECK(t->token_type && *t->token_type);
	FUZZ_CHECK(!t->id_token || (*t->id_token && strlen(t->id_token) <= A0_MAX_TOKEN));
	FUZZ_CHECK(!t->refresh_token ||
		   (*t->refresh_token && strlen(t->refresh_token) <= A0_MAX_TOKEN));
	FUZZ_CHECK(!t->scope || *t->scope);
	FUZZ_CHECK(!t->recovery_code || *t->recovery_code);
	FUZZ_CHECK(t->expires_in >= 0 && t->expires_at == NOW + t->expires_in);
	a0_tokens_free(t);
	return 0;
}
