/* SPDX-License-Identifier: MIT */
/*
 * Any answer but a 2xx: a0_parse_error_response. The first bytes choose the HTTP status and
 * Retry-After, the rest is the body.
 */
#include "config.h"

#include "lib/auth0.h"
#include "lib/error.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

static const long statuses[] = { 400, 401, 403, 404, 429, 500, 502, 503, 504 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a0_http_response resp = { .retry_after = -1 };
	struct a0_result res = { .retry_after = -1 };
	int r;

	if (size < 3)
		return 0;
	/* Mostly the statuses Auth0 sends, sometimes any status at all. */
	if (data[0] & 1)
		resp.status = statuses[(data[0] >> 1) % A0_ARRAY_SIZE(statuses)];
	else
		resp.status = 100 + ((data[0] >> 1) << 8 | data[1]) % 500;
	resp.retry_after = data[2] == 0xff ? -1 : data[2];
	snprintf(resp.content_type, sizeof(resp.content_type), "application/json");
	resp.body = fuzz_string(data + 3, size - 3);
	resp.len = size - 3;

	r = a0_parse_error_response(&resp, &res);
	FUZZ_CHECK(r < 0 && a0_err_name(r) != NULL);
	FUZZ_CHECK(res.status == resp.status && res.retry_after == resp.retry_after);
	/* Both reach syslog and the user's terminal. */
	FUZZ_CHECK(fuzz_printable(res.error, sizeof(res.error)));
	FUZZ_CHECK(fuzz_printable(res.description, sizeof(res.description)));
	if (r == A0_ERR_MFA_REQUIRED)
		FUZZ_CHECK(res.mfa_token && *res.mfa_token &&
			   strlen(res.mfa_token) <= A0_MAX_TOKEN);
	else
		FUZZ_CHECK(res.mfa_token == NULL);
	/* A 5xx or 429 is never taken for the user's fault. */
	if (resp.status >= 500)
		FUZZ_CHECK(r != A0_ERR_AUTH0);
	a0_result_clear(&res);
	free(resp.body);
	return 0;
}
