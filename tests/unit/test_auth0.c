/* SPDX-License-Identifier: MIT */
/* Parsing what Auth0 answers, and mapping its errors. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/auth0.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/mfa.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/assert.h"

#define NOW ((time_t)1700000000)

static int parse(const char *body, struct a0_tokens **t)
{
	*t = NULL;
	return a0_parse_token_response(body, strlen(body), NOW, t);
}

static void test_token_response_full(void **state)
{
	struct a0_tokens *t;

	assert_a0(parse("{\"access_token\":\"at\",\"id_token\":\"it\",\"refresh_token\":\"rt\","
			"\"scope\":\"openid offline_access\",\"expires_in\":86400,"
			"\"token_type\":\"Bearer\"}",
			&t),
		  0);
	assert_string_equal(t->access_token, "at");
	assert_string_equal(t->id_token, "it");
	assert_string_equal(t->refresh_token, "rt");
	assert_string_equal(t->scope, "openid offline_access");
	assert_string_equal(t->token_type, "Bearer");
	assert_null(t->recovery_code);
	assert_int_equal(t->expires_in, 86400);
	assert_int_equal(t->expires_at, NOW + 86400);
	a0_tokens_free(t);
}

static void test_token_response_optional_and_string_expiry(void **state)
{
	struct a0_tokens *t;

	/* Auth0 has sent expires_in as a string; id/refresh/scope are optional. */
	assert_a0(parse("{\"access_token\":\"at\",\"expires_in\":\"3600\","
			"\"token_type\":\"DPoP\",\"id_token\":null,"
			"\"recovery_code\":\"NEWCODE\"}",
			&t),
		  0);
	assert_null(t->id_token);
	assert_null(t->refresh_token);
	assert_null(t->scope);
	assert_string_equal(t->token_type, "DPoP");
	assert_string_equal(t->recovery_code, "NEWCODE");
	assert_int_equal(t->expires_at, NOW + 3600);
	a0_tokens_free(t);
}

static void test_token_response_malformed(void **state)
{
	static const char *const bodies[] = {
		"",
		"not json",
		"[]",
		"\"string\"",
		"{}",
		"{\"token_type\":\"Bearer\",\"expires_in\":1}", /* no access_token */
		"{\"access_token\":\"\",\"token_type\":\"Bearer\",\"expires_in\":1}", /* empty */
		"{\"access_token\":5,\"token_type\":\"Bearer\",\"expires_in\":1}",
		"{\"access_token\":\"a\",\"expires_in\":1}",          /* no token_type */
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\"}", /* no expires_in */
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":-5}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1.5}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":\"12x\"}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":\"-1\"}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":true}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1e300}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1,\"id_token\":{}}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1,\"scope\":[]}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1} trailing",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1", /* truncated */
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(bodies); i++) {
		struct a0_tokens *t = NULL;
		int r = a0_parse_token_response(bodies[i], strlen(bodies[i]), NOW, &t);

		if (r != A0_ERR_MALFORMED)
			fail_msg("body %zu '%s': got %s", i, bodies[i], name_a0(r));
		assert_null(t);
	}
}

static void test_token_too_long(void **state)
{
	size_t n = A0_MAX_TOKEN + 1;
	char *body = malloc(n + 100);
	struct a0_tokens *t = NULL;
	int len;

	assert_non_null(body);
	len = sprintf(body, "{\"token_type\":\"Bearer\",\"expires_in\":1,\"access_token\":\"");
	memset(body + len, 'a', n);
	strcpy(body + len + n, "\"}");
	assert_a0(a0_parse_token_response(body, strlen(body), NOW, &t), A0_ERR_MALFORMED);
	free(body);
}

static void test_json_depth_and_nul(void **state)
{
	char deep[200];
	cJSON *root = NULL;
	size_t i;

	for (i = 0; i < 17; i++)
		deep[i] = '[';
	for (; i < 34; i++)
		deep[i] = ']';
	deep[i] = '\0';
	assert_a0(a0_json_parse(deep, strlen(deep), &root), A0_ERR_MALFORMED);
	/* 16 levels are fine; brackets inside strings do not count. */
	assert_a0(a0_json_parse(deep + 1, strlen(deep) - 2, &root), 0);
	cJSON_Delete(root);
	assert_a0(a0_json_parse("[\"[[[[[[[[[[[[[[[[[[[[\"]", 24, &root), 0);
	cJSON_Delete(root);
	assert_a0(a0_json_parse("{\"a\":1}\0{", 9, &root), A0_ERR_MALFORMED);
}

static int map(long status, const char *body, struct a0_result *res)
{
	struct a0_http_response resp = { .status = status, .retry_after = 7 };
	int r;

	resp.body = strdup(body);
	resp.len = strlen(body);
	memset(res, 0, sizeof(*res));
	r = a0_parse_error_response(&resp, res);
	free(resp.body);
	return r;
}

static void test_error_mapping(void **state)
{
	static const struct {
		long status;
		const char *body;
		int err;
	} cases[] = {
		{ 403,
		  "{\"error\":\"invalid_grant\",\"error_description\":\"Wrong email or password.\"}",
		  A0_ERR_DENIED },
		{ 403, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid otp_code.\"}",
		  A0_ERR_DENIED },
		{ 403,
		  "{\"error\":\"invalid_grant\",\"error_description\":\"MFA Authorization rejected.\"}",
		  A0_ERR_REJECTED },
		{ 400, "{\"error\":\"authorization_pending\",\"error_description\":\"x\"}",
		  A0_ERR_PENDING },
		{ 429, "{\"error\":\"slow_down\",\"error_description\":\"x\"}", A0_ERR_SLOW_DOWN },
		{ 403,
		  "{\"error\":\"expired_token\",\"error_description\":\"mfa_token is expired\"}",
		  A0_ERR_EXPIRED },
		{ 429, "{\"error\":\"too_many_attempts\",\"error_description\":\"x\"}",
		  A0_ERR_TOO_MANY_ATTEMPTS },
		{ 401, "{\"error\":\"unauthorized\",\"error_description\":\"user is blocked\"}",
		  A0_ERR_BLOCKED },
		{ 403, "{\"error\":\"invalid_grant\",\"error_description\":\"user is blocked\"}",
		  A0_ERR_BLOCKED },
		{ 403, "{\"error\":\"blocked_user\",\"error_description\":\"x\"}", A0_ERR_BLOCKED },
		{ 429, "{\"error\":\"too_many_requests\",\"error_description\":\"Global limit\"}",
		  A0_ERR_RATE_LIMITED },
		{ 429, "garbage", A0_ERR_RATE_LIMITED },
		{ 400, "{\"error\":\"association_required\",\"error_description\":\"x\"}",
		  A0_ERR_NOT_ENROLLED },
		{ 403, "{\"error\":\"unauthorized_client\",\"error_description\":\"Grant type\"}",
		  A0_ERR_CLIENT },
		{ 401, "{\"error\":\"access_denied\",\"error_description\":\"Unauthorized\"}",
		  A0_ERR_AUTH0 },
		{ 500, "{\"error\":\"server_error\",\"error_description\":\"x\"}", A0_ERR_SERVER },
		{ 502, "<html>bad gateway</html>", A0_ERR_SERVER },
		{ 503, "", A0_ERR_SERVER },
		{ 400, "not json", A0_ERR_MALFORMED },
		{ 403, "{\"error\":\"mfa_required\",\"error_description\":\"x\"}", /* no token */
		  A0_ERR_MALFORMED },
	};
	struct a0_result res;

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		int r = map(cases[i].status, cases[i].body, &res);

		if (r != cases[i].err)
			fail_msg("case %zu (%s): got %s, expected %s", i, cases[i].body, name_a0(r),
				 name_a0(cases[i].err));
		assert_int_equal(res.status, cases[i].status);
		assert_int_equal(res.retry_after, 7);
		a0_result_clear(&res);
	}
}

static void test_error_fields(void **state)
{
	struct a0_result res;

	assert_a0(map(403,
		      "{\"error\":\"mfa_required\",\"error_description\":\"Multifactor "
		      "authentication required\",\"mfa_token\":\"Fe26.token\","
		      "\"mfa_requirements\":{\"challenge\":[{\"type\":\"otp\"}]}}",
		      &res),
		  A0_ERR_MFA_REQUIRED);
	assert_string_equal(res.error, "mfa_required");
	assert_string_equal(res.description, "Multifactor authentication required");
	assert_string_equal(res.mfa_token, "Fe26.token");
	a0_result_clear(&res);
	assert_null(res.mfa_token);

	/* Control characters never reach syslog or a terminal. */
	map(403, "{\"error\":\"x\\ny\",\"error_description\":\"a\\u001b[2Jb\"}", &res);
	assert_string_equal(res.error, "x?y");
	assert_string_equal(res.description, "a?[2Jb");
	a0_result_clear(&res);
}

static void test_authenticators(void **state)
{
	struct a0_authenticator list[4];
	size_t n = 0;
	const char *body =
		"[{\"id\":\"totp|dev_1\",\"authenticator_type\":\"otp\",\"active\":true},"
		"{\"id\":\"push|dev_2\",\"authenticator_type\":\"oob\",\"oob_channel\":\"auth0\","
		"\"name\":\"Pixel\",\"active\":true},"
		"{\"id\":\"sms|dev_3\",\"authenticator_type\":\"oob\",\"oob_channel\":\"sms\","
		"\"name\":\"+1 XXX-1234\",\"active\":false},"
		"{\"id\":\"recovery-code|dev_4\",\"authenticator_type\":\"recovery-code\","
		"\"active\":true},"
		"{\"id\":\"email|dev_5\",\"authenticator_type\":\"oob\",\"oob_channel\":\"email\","
		"\"active\":true}]";

	assert_a0(a0_parse_authenticators(body, strlen(body), list, 4, &n), 0);
	assert_int_equal(n, 4); /* bounded by max */
	assert_string_equal(list[1].name, "Pixel");
	assert_false(list[2].active);
	assert_int_equal(a0_authenticator_method(&list[0]), A0_MFA_OTP);
	assert_int_equal(a0_authenticator_method(&list[1]), A0_MFA_PUSH);
	assert_int_equal(a0_authenticator_method(&list[2]), A0_MFA_SMS);
	assert_int_equal(a0_authenticator_method(&list[3]), A0_MFA_RECOVERY);

	assert_a0(a0_parse_authenticators("{}", 2, list, 4, &n), A0_ERR_MALFORMED);
	assert_a0(a0_parse_authenticators("[1]", 3, list, 4, &n), A0_ERR_MALFORMED);
	assert_a0(a0_parse_authenticators("[{\"authenticator_type\":\"otp\"}]", 30, list, 4, &n),
		  A0_ERR_MALFORMED);
	assert_a0(a0_parse_authenticators("[]", 2, list, 4, &n), 0);
	assert_int_equal(n, 0);

	struct a0_authenticator webauthn = { .id = "x", .type = "webauthn-roaming" };
	assert_int_equal(a0_authenticator_method(&webauthn), -1);
}

static void test_association(void **state)
{
	struct a0_association a = { 0 };
	const char *otp = "{\"authenticator_type\":\"otp\",\"secret\":\"JBSWY3DPEHPK3PXPJBSWY3DP\","
			  "\"barcode_uri\":\"otpauth://totp/t:u?secret=JBSWY3DPEHPK3PXP\","
			  "\"recovery_codes\":[\"ABCDEFGHJKLMNPQRSTUVWXYZ\"]}";
	const char *oob = "{\"authenticator_type\":\"oob\",\"binding_method\":\"prompt\","
			  "\"oob_channel\":\"sms\",\"oob_code\":\"Fe26.2*x\"}";
	const char *bad[] = {
		"[]",
		"{\"authenticator_type\":\"oob\",\"secret\":\"A\",\"barcode_uri\":\"otpauth://x\"}",
		"{\"secret\":\"JBSWY3DPEHPK3PXP\"}",
		"{\"secret\":5,\"barcode_uri\":\"otpauth://x\"}",
		"{\"secret\":\"JBSWY3DPEHPK3PXP\",\"barcode_uri\":\"otpauth://x\",\"recovery_codes\":\"A\"}",
		"{\"secret\":\"JBSWY3DPEHPK3PXP\",\"barcode_uri\":\"otpauth://x\",\"recovery_codes\":[7]}",
	};
	char big[2048];

	assert_a0(a0_parse_association(otp, strlen(otp), false, &a), 0);
	assert_string_equal(a.secret, "JBSWY3DPEHPK3PXPJBSWY3DP");
	assert_string_equal(a.barcode_uri, "otpauth://totp/t:u?secret=JBSWY3DPEHPK3PXP");
	assert_string_equal(a.recovery_code, "ABCDEFGHJKLMNPQRSTUVWXYZ");
	a0_association_clear(&a);
	assert_null(a.secret);
	assert_a0(a0_parse_association(oob, strlen(oob), true, &a), 0);
	assert_string_equal(a.oob_code, "Fe26.2*x");
	assert_true(a.binding_prompt);
	assert_null(a.recovery_code);
	a0_association_clear(&a);
	/* an oob answer is not an otp one, and the reverse */
	assert_a0(a0_parse_association(oob, strlen(oob), false, &a), A0_ERR_MALFORMED);
	assert_a0(a0_parse_association(otp, strlen(otp), true, &a), A0_ERR_MALFORMED);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++)
		assert_a0(a0_parse_association(bad[i], strlen(bad[i]), false, &a),
			  A0_ERR_MALFORMED);
	/* Oversize values are refused, not cut. */
	snprintf(big, sizeof(big),
		 "{\"secret\":\"JBSWY3DPEHPK3PXP\",\"barcode_uri\":\"otpauth://%01100d\"}", 0);
	assert_a0(a0_parse_association(big, strlen(big), false, &a), A0_ERR_MALFORMED);
	snprintf(big, sizeof(big), "{\"secret\":\"%0200d\",\"barcode_uri\":\"otpauth://x\"}", 0);
	assert_a0(a0_parse_association(big, strlen(big), false, &a), A0_ERR_MALFORMED);
}

static void test_recovery_code_shape(void **state)
{
	assert_true(a0_mfa_is_recovery_code("ABCDEFGHJKLMNPQRSTUVWXYZ"));
	assert_true(a0_mfa_is_recovery_code("abcd1234efgh5678ijkl9012"));
	assert_false(a0_mfa_is_recovery_code("123456"));
	assert_false(a0_mfa_is_recovery_code("12345678901234567890")); /* digits only */
	assert_false(a0_mfa_is_recovery_code("ABCD-EFGH-JKLM-NPQR-STUV"));
	assert_false(a0_mfa_is_recovery_code(""));
}

static void test_error_names(void **state)
{
	assert_string_equal(a0_err_name(A0_OK), "OK");
	assert_string_equal(a0_err_name(A0_ERR_TIMEOUT), "TIMEOUT");
	assert_string_equal(a0_err_name(A0_ERR_CONV), "CONV");
	assert_string_equal(a0_err_name(-999), "AUTH0");
	assert_string_equal(a0_err_name(5), "AUTH0");
	for (int e = A0_OK; e >= A0_ERR_VERSION; e--)
		assert_true(strlen(a0_strerror(e)) > 0);
}

static void test_buf_bound(void **state)
{
	struct a0_buf b = { .max = 8 };

	assert_a0(a0_buf_append(&b, "12345678", 8), 0);
	assert_a0(a0_buf_append(&b, "9", 1), A0_ERR_TOO_LARGE);
	assert_string_equal(b.data, "12345678");
	a0_buf_free(&b);
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_response_full),
		cmocka_unit_test(test_token_response_optional_and_string_expiry),
		cmocka_unit_test(test_token_response_malformed),
		cmocka_unit_test(test_token_too_long),
		cmocka_unit_test(test_json_depth_and_nul),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_error_fields),
		cmocka_unit_test(test_authenticators),
		cmocka_unit_test(test_recovery_code_shape),
		cmocka_unit_test(test_association),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_buf_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
