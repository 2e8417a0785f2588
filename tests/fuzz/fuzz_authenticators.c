/* SPDX-License-Identifier: MIT */
/*
 * The MFA API's answers. GET /mfa/authenticators: a0_parse_authenticators; the first byte
 * chooses how many entries the caller has room for; the list has exactly that many, so ASan
 * sees any write past it. POST /mfa/challenge: a0_parse_challenge of the same bytes, for an
 * otp and an oob challenge.
 */
#include "config.h"

#include "lib/auth0.h"
#include "lib/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a0_authenticator *list;
	size_t max, n = (size_t)-1;
	int r;

	if (size < 1)
		return 0;
	for (int oob = 0; oob < 2; oob++) {
		struct a0_challenge ch = { 0 };

		r = a0_parse_challenge((const char *)data + 1, size - 1, oob, &ch);
		FUZZ_CHECK(r == 0 || r == A0_ERR_MALFORMED || r == A0_ERR_NOMEM);
		FUZZ_CHECK(r < 0 || !oob || (ch.oob_code && ch.oob_code[0]));
		a0_challenge_clear(&ch);
	}
	max = data[0] % (A0_MAX_AUTHENTICATORS + 1);
	list = malloc(max ? max * sizeof(*list) : 1);
	if (!list)
		abort();
	r = a0_parse_authenticators((const char *)data + 1, size - 1, list, max, &n);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_NOMEM);
		FUZZ_CHECK(n == (size_t)-1);
		free(list);
		return 0;
	}
	FUZZ_CHECK(r == 0 && n <= max);
	for (size_t i = 0; i < n; i++) {
		const struct a0_authenticator *a = &list[i];
		int m;

		FUZZ_CHECK(strnlen(a->id, sizeof(a->id)) < sizeof(a->id) && a->id[0]);
		FUZZ_CHECK(strnlen(a->type, sizeof(a->type)) < sizeof(a->type) && a->type[0]);
		FUZZ_CHECK(strnlen(a->oob_channel, sizeof(a->oob_channel)) <
			   sizeof(a->oob_channel));
		FUZZ_CHECK(strnlen(a->name, sizeof(a->name)) < sizeof(a->name));
		m = a0_authenticator_method(a);
		FUZZ_CHECK(m >= -1 && m < A0_MFA_N);
		if (m >= 0)
			FUZZ_CHECK(a0_mfa_method_name((enum a0_mfa_method)m) != NULL);
	}
	free(list);
	return 0;
}
