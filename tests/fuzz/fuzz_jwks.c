/* SPDX-License-Identifier: MIT */
/*
 * The tenant's key set (GET /.well-known/jwks.json, or the cache file): a0_jwks_parse, then
 * every key it kept is tried by verifying tokens the fuzzers' own keys signed (fuzz_keys.h),
 * so a parsed key of any shape reaches OpenSSL.
 */
#include "config.h"

#include "lib/error.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/sign.h"

static const char payload[] =
	"{\"iss\":\"" FUZZ_ISSUER
	"\",\"sub\":\"auth0|6a0000000000000000000001\",\"aud\":\"" FUZZ_CLIENT_ID
	"\",\"iat\":1700000000,\"exp\":1700086400,\"nickname\":\"a0alice\"}";

static const struct {
	enum fuzz_alg alg;
	const char *header;
} signed_by[] = {
	{ FUZZ_RS256, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"fuzz-rsa\"}" },
	{ FUZZ_PS256, "{\"alg\":\"PS256\",\"typ\":\"JWT\",\"kid\":\"fuzz-rsa-any\"}" },
	{ FUZZ_ES256, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"fuzz-ec\"}" },
};
#define N_TOKENS A0_ARRAY_SIZE(signed_by)

static char *tokens[N_TOKENS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct a0_jwt_expect expect = FUZZ_EXPECT;
	struct a0_jwks *keys = NULL;
	int r;

	for (size_t i = 0; i < N_TOKENS && !tokens[i]; i++) {
		tokens[i] = fuzz_sign(signed_by[i].alg, signed_by[i].header,
				      strlen(signed_by[i].header), payload, strlen(payload));
		if (!tokens[i])
			abort();
	}
	/* Exactly size bytes, not NUL-terminated: the parser must honour len. */
	r = a0_jwks_parse((const char *)data, size, &keys);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_NOMEM);
		FUZZ_CHECK(keys == NULL);
		return 0;
	}
	FUZZ_CHECK(keys != NULL);
	for (size_t i = 0; i < N_TOKENS; i++) {
		char reason[256] = "";
		cJSON *claims = NULL;

		r = a0_jwt_verify(tokens[i], keys, &expect, &claims, reason, sizeof(reason));
		FUZZ_CHECK(r == 0 || r == A0_ERR_TOKEN_INVALID || r == A0_ERR_UNKNOWN_KID ||
			   r == A0_ERR_NOMEM);
		FUZZ_CHECK(fuzz_printable(reason, sizeof(reason)));
		a0_json_free(claims);
	}
	a0_jwks_free(keys);
	return 0;
}
