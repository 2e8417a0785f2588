/* SPDX-License-Identifier: MIT */
/*
 * ID tokens: a0_jwt_verify against the fuzzers' key set (fuzz_keys.h). The first byte chooses
 * the mode: the rest is either the token's text as received, or a header and a payload
 * (separated by a NUL byte) that the fuzzer encodes and signs with RS256, PS256 or ES256 so
 * that header and claim checks past the signature are reached too.
 */
#include "config.h"

#include "lib/error.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/sign.h"

static struct a0_jwks *keys;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct a0_jwt_expect expect = FUZZ_EXPECT;
	char reason[256], *token;
	cJSON *claims = NULL;
	int mode, r;

	if (!keys && a0_jwks_parse(fuzz_jwks, strlen(fuzz_jwks), &keys) != 0)
		abort();
	if (size < 1)
		return 0;
	mode = data[0] % (FUZZ_N_ALGS + 1);
	if (mode == FUZZ_N_ALGS) {
		token = fuzz_string(data + 1, size - 1);
	} else {
		const uint8_t *header = data + 1, *end = data + size;
		const uint8_t *nul = memchr(header, '\0', (size_t)(end - header));
		const uint8_t *payload = nul ? nul + 1 : end;

		token = fuzz_sign((enum fuzz_alg)mode, header, (size_t)((nul ? nul : end) - header),
				  payload, (size_t)(end - payload));
		if (!token)
			abort();
	}
	memset(reason, 'x', sizeof(reason));
	reason[0] = '\0';
	r = a0_jwt_verify(token, keys, &expect, &claims, reason, sizeof(reason));
	if (r == 0) {
		const char *iss, *sub;

		FUZZ_CHECK(cJSON_IsObject(claims));
		iss = a0_json_string(claims, "iss");
		sub = a0_json_string(claims, "sub");
		FUZZ_CHECK(iss && strcmp(iss, FUZZ_ISSUER) == 0 && sub && *sub);
		FUZZ_CHECK(mode != FUZZ_N_ALGS || size - 1 <= A0_JWT_MAX_LEN);
		a0_json_free(claims);
	} else {
		FUZZ_CHECK(r == A0_ERR_TOKEN_INVALID || r == A0_ERR_UNKNOWN_KID ||
			   r == A0_ERR_NOMEM);
		FUZZ_CHECK(claims == NULL);
		/* The reason goes to syslog: one printable line, never the token. */
		FUZZ_CHECK(fuzz_printable(reason, sizeof(reason)));
		FUZZ_CHECK(r == A0_ERR_NOMEM || reason[0]);
	}
	free(token);
	return 0;
}
