/* SPDX-License-Identifier: MIT */
/*
 * The one HTTP client against the fake tenant (run under tests/with-fake-tenant): it ignores
 * the environment a sudo caller controls, reuses its connection, and bounds what it reads.
 * This program must not start libcurl before the client does: the keylog check depends on it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lib/error.h"
#include "lib/http.h"
#include "tests/common/assert.h"

static int port;
static const char *ca;
static char keylog[64];

static struct a0_http *client(unsigned timeout)
{
	char domain[64];
	struct a0_http_options opt = { .domain = domain, .ca_file = ca, .timeout = timeout };
	struct a0_http *h = NULL;

	snprintf(domain, sizeof(domain), "localhost:%d", port);
	assert_a0(a0_http_new(&opt, &h), 0);
	return h;
}

static void test_hostile_environment_ignored(void **state)
{
	struct a0_http_response resp;
	struct a0_http *h;
	char err[256];

	/* Set before libcurl initialises in this process. */
	setenv("SSLKEYLOGFILE", keylog, 1);
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	setenv("SSL_CERT_FILE", "/dev/null", 1);
	setenv("SSL_CERT_DIR", "/nonexistent", 1);
	setenv("CURL_CA_BUNDLE", "/dev/null", 1);
	h = client(5);
	assert_a0(a0_http_request(h, "/.well-known/jwks.json", NULL, NULL, &resp, err, sizeof(err)),
		  0);
	assert_int_equal(resp.status, 200);
	a0_http_response_clear(&resp);
	a0_http_free(h);
	if (access(keylog, F_OK) == 0) {
		unlink(keylog);
		fail_msg("libcurl wrote TLS keys to $SSLKEYLOGFILE");
	}
	/* The variable is back for the host program. */
	assert_string_equal(getenv("SSLKEYLOGFILE"), keylog);
}

static void test_one_connection_for_many_requests(void **state)
{
	struct a0_http *h = client(5);
	struct a0_http_response resp;
	unsigned conns = 0, reqs = 0;
	char err[256];

	for (int i = 0; i < 3; i++) {
		assert_a0(a0_http_request(h, "/.well-known/openid-configuration", NULL, NULL,
					  &resp, err, sizeof(err)),
			  0);
		assert_int_equal(resp.status, 200);
		assert_true(strncmp(resp.content_type, "application/json", 16) == 0);
		a0_http_response_clear(&resp);
	}
	a0_http_stats(h, &conns, &reqs);
	assert_int_equal(conns, 1);
	assert_int_equal(reqs, 3);
	a0_http_free(h);
}

static void test_status_and_body_returned(void **state)
{
	struct a0_http *h = client(5);
	struct a0_http_response resp;
	char err[256];

	assert_a0(a0_http_request(h, "/oauth/token", NULL, "{\"grant_type\":\"x\"}", &resp,
				  err, sizeof(err)),
		  0);
	assert_true(resp.status >= 400 && resp.status < 500);
	assert_non_null(strstr(resp.body, "\"error\""));
	assert_int_equal(resp.len, strlen(resp.body));
	a0_http_response_clear(&resp);
	assert_null(resp.body);
	a0_http_free(h);
}

static void test_wrong_ca_is_tls_error(void **state)
{
	char domain[64], err[256];
	struct a0_http_options opt = { .domain = domain, .ca_file = NULL, .timeout = 5 };
	struct a0_http_response resp;
	struct a0_http *h = NULL;

	/* The system store does not hold the test CA. */
	snprintf(domain, sizeof(domain), "localhost:%d", port);
	assert_a0(a0_http_new(&opt, &h), 0);
	assert_a0(a0_http_request(h, "/.well-known/jwks.json", NULL, NULL, &resp, err, sizeof(err)),
		  A0_ERR_TLS);
	assert_true(strlen(err) > 0);
	a0_http_free(h);
}

int main(void)
{
	const char *state = getenv("A0_FAKE_STATE");
	char text[512] = "";
	FILE *f;
	cJSON *root;

	ca = getenv("A0_FAKE_CA");
	if (!state || !ca || !(f = fopen(state, "r")))
		return 99;
	if (fread(text, 1, sizeof(text) - 1, f) == 0)
		return 99;
	fclose(f);
	root = cJSON_Parse(text);
	if (!root)
		return 99;
	port = cJSON_GetObjectItem(root, "port")->valueint;
	cJSON_Delete(root);
	snprintf(keylog, sizeof(keylog), "/tmp/a0-keylog-%d", (int)getpid());

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_environment_ignored),
		cmocka_unit_test(test_one_connection_for_many_requests),
		cmocka_unit_test(test_status_and_body_returned),
		cmocka_unit_test(test_wrong_ca_is_tls_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
