/* SPDX-License-Identifier: MIT */
/*
 * lib/device.h's check of a device code answer: what Auth0 sends is taken; an address that is
 * not https on the tenant's domain (or its custom domain), that carries user information, a
 * control character or too many bytes is refused; control characters are taken out of the user
 * code and an over-long one is refused; the interval is kept at a poll a second at most.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/conf.h"
#include "lib/device.h"
#include "lib/error.h"
#include "tests/common/assert.h"

static struct a0_config *config(const char *extra)
{
	char text[512], err[256];
	struct a0_config *cfg = NULL;

	snprintf(text, sizeof(text), "domain = tenant.example.com\nclient_id = c\n%s", extra);
	if (a0_config_parse_buffer(text, strlen(text), 0, NULL, &cfg, err, sizeof(err)) < 0)
		fail_msg("config: %s", err);
	return cfg;
}

static int parse(const struct a0_config *cfg, const char *uri, const char *complete,
		 const char *user_code, const char *more, struct a0_device_code *d)
{
	char body[4096], why[160];

	snprintf(body, sizeof(body),
		 "{\"device_code\":\"dc-123456\",\"user_code\":\"%s\",\"verification_uri\":\"%s\","
		 "\"verification_uri_complete\":\"%s\",\"expires_in\":900%s}",
		 user_code, uri, complete, more);
	return a0_device_parse_code(body, strlen(body), cfg, d, why, sizeof(why));
}

static void test_accepted(void **state)
{
	struct a0_config *cfg = config("custom_domain = login.example.org\n");
	struct a0_device_code d = { 0 };

	assert_a0(parse(cfg, "https://tenant.example.com/activate",
			"https://TENANT.example.com:443/activate?user_code=WDJB-MJHT", "WDJB-MJHT",
			",\"interval\":5", &d),
		  A0_OK);
	assert_string_equal(d.user_code, "WDJB-MJHT");
	assert_string_equal(d.device_code, "dc-123456");
	assert_int_equal(d.interval, 5);
	assert_int_equal(d.expires_in, 900);
	a0_device_code_clear(&d);
	/* The custom domain; no interval: 5 s (RFC 8628); 0: one a second. */
	assert_a0(parse(cfg, "https://login.example.org/activate", "", "WDJB-MJHT", "", &d), A0_OK);
	assert_int_equal(d.interval, 5);
	assert_string_equal(d.verification_uri_complete, "");
	a0_device_code_clear(&d);
	assert_a0(parse(cfg, "https://login.example.org/activate", "", "WDJB-MJHT",
			",\"interval\":0", &d),
		  A0_OK);
	assert_int_equal(d.interval, 1);
	a0_device_code_clear(&d);
	a0_config_free(cfg);
}

static void test_refused_addresses(void **state)
{
	static const char *const bad[] = {
		"http://tenant.example.com/activate",
		"https://evil.example.net/activate",
		"https://tenant.example.com.evil.example.net/activate",
		"https://tenant.example.com@evil.example.net/activate",
		"https://tenant.example.com:8443/activate",
		"https://tenant.example.com/activate\\u001b[2J",
		"https://tenant.example.com/act ivate",
		"https://tenant.example.com/\\u00e9",
		"javascript:alert(1)",
		"",
	};
	struct a0_config *cfg = config("");
	struct a0_device_code d = { 0 };
	char big[600];

	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++) {
		assert_a0(parse(cfg, bad[i], "", "WDJB-MJHT", "", &d), A0_ERR_MALFORMED);
		assert_a0(parse(cfg, "https://tenant.example.com/activate",
				bad[i][0] ? bad[i] : "x", "WDJB-MJHT", "", &d),
			  A0_ERR_MALFORMED);
	}
	snprintf(big, sizeof(big), "https://tenant.example.com/%0*d", 300, 0);
	assert_a0(parse(cfg, big, "", "WDJB-MJHT", "", &d), A0_ERR_MALFORMED);
	assert_null(d.device_code);
	a0_config_free(cfg);
}

static void test_user_code(void **state)
{
	struct a0_config *cfg = config("");
	struct a0_device_code d = { 0 };
	char big[200];

	assert_a0(parse(cfg, "https://tenant.example.com/a", "",
			"WDJB-MJHT\\u001b]0;owned\\u0007\\r\\nPassword: \\u009b31m", "", &d),
		  A0_OK);
	assert_string_equal(d.user_code, "WDJB-MJHT]0;ownedPassword: 31m");
	a0_device_code_clear(&d);
	assert_a0(parse(cfg, "https://tenant.example.com/a", "", "\\u001b\\u0007", "", &d),
		  A0_ERR_MALFORMED);
	memset(big, 'X', sizeof(big) - 1);
	big[A0_DEVICE_MAX_USER_CODE + 1] = '\0';
	assert_a0(parse(cfg, "https://tenant.example.com/a", "", big, "", &d), A0_ERR_MALFORMED);
	assert_a0(parse(cfg, "https://tenant.example.com/a", "", "WDJB", ",\"interval\":61", &d),
		  A0_ERR_MALFORMED);
	a0_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused_addresses),
		cmocka_unit_test(test_user_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
