/* SPDX-License-Identifier: MIT */
/*
 * A DPoP-bound session (issue 16) against the fake tenant, which checks every proof: a sign-in
 * by lib/auth0.c with a key of its own (the nonce the tenant demands of a public client, fetched
 * by the one retry), stored as the module stores it (token_type DPoP and the key in the record);
 * then the command: a refresh proves the same key and keeps it; the header format needs the
 * request's method and URL and then prints both headers, which the fake's DPoP-enforcing API
 * (/__resource) accepts once, for that method and URL only; a record whose key is not the
 * token's is refused before anything is sent, sso proves the key as a refresh does, and its refresh is refused by the tenant with the
 * record left as it was; a bearer session's headers are its one header.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <keyutils.h>

#include <auth0/credentials.h>

#include "keyring/record.h"
#include "keyring/store.h"
#include "lib/auth0.h"
#include "lib/dpop.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "tests/credentials/common.h"

#define CLIENT "pam-native"
#define API "https://api.example.com/"

static struct fake f;

static int setup(void **state)
{
	helper_test_reset(&f);
	return 0;
}

static struct a0_http *http_client(void)
{
	char domain[64];
	struct a0_http_options opt = { .domain = domain, .ca_file = f.ca, .timeout = 10 };
	struct a0_http *h = NULL;

	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	assert_int_equal(a0_http_new(&opt, &h), 0);
	return h;
}

/*
 * a0alice signs in with key (lib/auth0.c, DPoP), and the session keyring holds her record as
 * the module stores it: token_type DPoP, the key in dpop_key.
 */
static void dpop_login(const struct a0_dpop_key *key)
{
	struct a0_dpop_session session = { .key = key };
	struct a0_client client = { .client_id = CLIENT, .dpop = &session };
	struct a0_config cfg = { .realm = (char *)(uintptr_t) "Username-Password-Authentication",
				 .scope = (char *)(uintptr_t) "openid profile offline_access" };
	struct a0_result res = { 0 };
	struct a0_tokens *t = NULL;
	struct a0_record *r = NULL;
	char json[16 * 1024];
	int nonces = dpop_stat(&f, "nonce_challenges", NULL);

	client.http = http_client();
	assert_int_equal(a0_grant_password_realm(&client, &cfg, "a0alice", "Secret-a0alice-1", &t,
						 &res),
			 0);
	/* The tenant demands a nonce of a public client: one use_dpop_nonce, one retry. */
	assert_int_equal(dpop_stat(&f, "nonce_challenges", NULL), nonces + 1);
	assert_non_null(session.nonce[0] ? session.nonce : NULL);
	assert_string_equal(t->token_type, "DPoP");
	snprintf(json, sizeof(json),
		 "{\"access_token\":\"%s\",\"id_token\":\"%s\",\"refresh_token\":\"%s\","
		 "\"token_type\":\"DPoP\",\"expires_in\":%lld}",
		 t->access_token, t->id_token, t->refresh_token, t->expires_in);
	save_login(&f, json, CLIENT, f.port);
	explicit_bzero(json, sizeof(json));
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	assert_string_equal(r->token_type, "DPoP");
	assert_int_equal(a0_dpop_key_export(key, &r->dpop_key), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
	a0_tokens_free(t);
	a0_http_free(client.http);
}

/* Send the two header lines of text with method to the fake's API at path: the HTTP status. */
static long call_resource(const char *text, const char *path)
{
	struct a0_http *h = http_client();
	struct a0_http_response resp;
	char err[256], *copy = strdup(text), *save = NULL;
	long status;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		assert_int_equal(a0_http_add_header(h, line), 0);
	assert_int_equal(a0_http_request(h, path, NULL, NULL, &resp, err, sizeof(err)), 0);
	status = resp.status;
	if (status != 200)
		fprintf(stderr, "# %s: HTTP %ld %s\n", path, status, resp.body ? resp.body : "");
	a0_http_response_clear(&resp);
	a0_secret_free(copy);
	a0_http_free(h);
	return status;
}

static void test_refresh_proves_the_same_key(void **state)
{
	struct a0_dpop_key *key = NULL;
	struct a0_record *before = NULL, *after = NULL;
	int accepted;
	struct proc p;

	assert_int_equal(a0_dpop_key_new(&key), 0);
	dpop_login(key);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &before), 0);
	accepted = dpop_stat(&f, "proofs", "accepted");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh", "--format",
		      "token");
	proc_free(&p);
	/* The tenant took a proof of the bound key (else it refuses a bound refresh token). */
	assert_true(dpop_stat(&f, "proofs", "accepted") > accepted);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &after), 0);
	assert_string_equal(after->token_type, "DPoP");
	/* Rotated (compared, never printed: an assertion message would show them). */
	assert_true(strcmp(after->refresh_token, before->refresh_token) != 0);
	assert_non_null(after->dpop_key);
	assert_true(strcmp(after->dpop_key, before->dpop_key) == 0);
	a0_record_free(before);
	a0_record_free(after);
	a0_dpop_key_free(key);
}

/* sso (a session transfer token: a refresh for another audience) proves the key too. */
static void test_sso_proves_the_key(void **state)
{
	struct a0_dpop_key *key = NULL;
	int accepted, refused = dpop_stat(&f, "binding_refused", "refresh_proof_missing");
	struct proc p;

	assert_int_equal(a0_dpop_key_new(&key), 0);
	dpop_login(key);
	accepted = dpop_stat(&f, "proofs", "accepted");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "sso");
	assert_non_null(strstr(p.stdout_text, "session_transfer_token"));
	proc_free(&p);
	assert_int_equal(dpop_stat(&f, "proofs", "accepted"), accepted + 1);
	assert_int_equal(dpop_stat(&f, "binding_refused", "refresh_proof_missing"), refused);
	a0_dpop_key_free(key);
}

static void test_headers_for_one_request(void **state)
{
	struct a0_dpop_key *key = NULL;
	char url[128], path[] = "/__resource/reports";
	struct proc p, q;

	assert_int_equal(a0_dpop_key_new(&key), 0);
	dpop_login(key);
	snprintf(url, sizeof(url), "https://localhost:%d%s", f.port, path);

	/* The header alone would look usable and is not. */
	assert_helper(&p, AUTH0_CREDENTIALS_DPOP_MISSING_PARAMETER, NULL, "get", "--format",
		      "header");
	assert_non_null(strstr(p.stderr_text, "DPOP_MISSING_PARAMETER"));
	assert_string_equal(p.stdout_text, "");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, NULL, "get", "--format", "header",
		      "--dpop-method", "GET");
	proc_free(&p);

	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--format", "header",
		      "--dpop-method", "GET", "--dpop-url", url);
	assert_true(strncmp(p.stdout_text, "Authorization: DPoP ", 20) == 0);
	assert_non_null(strstr(p.stdout_text, "\nDPoP: "));
	/* The API's credentials (a multi-resource refresh proving the session's key, the API's
	 * record keeping it): accepted once, for its method and URL; a replay is refused. */
	assert_int_equal(call_resource(p.stdout_text, path), 200);
	assert_int_equal(call_resource(p.stdout_text, path), 401);
	proc_free(&p);
	/* Made for POST, or for another URL: refused. */
	assert_helper(&q, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--format", "header",
		      "--dpop-method", "POST", "--dpop-url", url);
	assert_int_equal(call_resource(q.stdout_text, path), 401);
	proc_free(&q);
	assert_helper(&q, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--format", "header",
		      "--dpop-method", "GET", "--dpop-url", url);
	assert_int_equal(call_resource(q.stdout_text, "/__resource/other"), 401);
	proc_free(&q);
	/* The query is not part of htu: the same URL with one is fine. */
	assert_helper(&q, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--format", "header",
		      "--dpop-method", "GET", "--dpop-url", url);
	assert_int_equal(call_resource(q.stdout_text, "/__resource/reports?year=2026"), 200);
	proc_free(&q);
	/* A cached session's headers load the DPoP module and no network or TLS library (the
	 * dynamic loader says what it loads). */
	setenv("LD_DEBUG", "libs", 1);
	assert_helper(&q, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "header", "--dpop-method",
		      "GET", "--dpop-url", url);
	unsetenv("LD_DEBUG");
	assert_non_null(strstr(q.stderr_text, "auth0-credentials-dpop.so"));
	assert_null(strstr(q.stderr_text, "libcurl"));
	assert_null(strstr(q.stderr_text, "libssl"));
	assert_null(strstr(q.stderr_text, "libcrypto"));
	proc_free(&q);
	a0_dpop_key_free(key);
}

static void test_another_key_is_refused(void **state)
{
	struct a0_dpop_key *key = NULL, *other = NULL;
	struct a0_record *r = NULL;
	char *before, *after, url[128];
	size_t before_len, after_len;
	struct proc p;
	int mismatch;

	assert_int_equal(a0_dpop_key_new(&key), 0);
	assert_int_equal(a0_dpop_key_new(&other), 0);
	dpop_login(key);
	/* The record's key replaced by another one. */
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	a0_secret_free(r->dpop_key);
	assert_int_equal(a0_dpop_key_export(other, &r->dpop_key), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
	r = NULL;
	before = record_payload(A0_RECORD_MAIN, &before_len);
	snprintf(url, sizeof(url), "https://localhost:%d/__resource/x", f.port);

	/* Headers: the key is not the token's (cnf.jkt), said before anything is sent. */
	assert_helper(&p, AUTH0_CREDENTIALS_DPOP_KEY_RETRIEVAL_FAILED, NULL, "get", "--format",
		      "header", "--dpop-method", "GET", "--dpop-url", url);
	assert_non_null(strstr(p.stderr_text, "cnf.jkt"));
	proc_free(&p);
	/* A refresh with it: the tenant refuses it, the record stays. */
	mismatch = dpop_stat(&f, "binding_refused", "refresh_key_mismatch");
	assert_helper(&p, AUTH0_CREDENTIALS_RENEW_FAILED, NULL, "get", "--force-refresh");
	assert_non_null(strstr(p.stderr_text, "invalid_dpop_proof"));
	proc_free(&p);
	assert_int_equal(dpop_stat(&f, "binding_refused", "refresh_key_mismatch"), mismatch + 1);
	after = record_payload(A0_RECORD_MAIN, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);

	/* No key at all: DPOP_KEY_RETRIEVAL_FAILED. */
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	a0_secret_free(r->dpop_key);
	r->dpop_key = NULL;
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
	assert_helper(&p, AUTH0_CREDENTIALS_DPOP_KEY_RETRIEVAL_FAILED, NULL, "get", "--format",
		      "header", "--dpop-method", "GET", "--dpop-url", url);
	proc_free(&p);
	a0_secret_free(before);
	a0_secret_free(after);
	a0_dpop_key_free(key);
	a0_dpop_key_free(other);
}

/*
 * kill -9 of the command during a DPoP refresh (the tenant holds its answer, then rotates
 * whether or not the command is there to hear it): the next refresh still works, with the
 * session's key, which the record never loses; no refresh was refused for its key or a reuse.
 */
static void test_kill_9_mid_refresh_keeps_key_and_token(void **state)
{
	unsigned seed = getenv("A0_SEED") ? (unsigned)strtoul(getenv("A0_SEED"), NULL, 10)
					  : (unsigned)time(NULL);
	struct a0_dpop_key *key = NULL;
	struct a0_record *r = NULL;
	char *exported = NULL, spec[160];
	int killed = 0;
	struct proc p, next;

	print_message("DPoP kill -9 test: A0_SEED=%u\n", seed);
	srand(seed);
	assert_int_equal(a0_dpop_key_new(&key), 0);
	assert_int_equal(a0_dpop_key_export(key, &exported), 0);
	dpop_login(key);
	for (int i = 0; i < 20; i++) {
		int delay_ms = 100 + rand() % 200, kill_us = rand() % 400000;

		fake_control(&f, "DELETE", "/__control/fault", NULL);
		snprintf(spec, sizeof(spec),
			 "{\"path\":\"/oauth/token\",\"kind\":\"delay\",\"seconds\":%.3f,"
			 "\"count\":2}",
			 delay_ms / 1000.0);
		fake_control(&f, "POST", "/__control/fault", spec);
		proc_start(&p, NULL, NULL,
			   (const char *const[]){ "get", "--force-refresh", "--format", "token",
						  NULL });
		usleep((useconds_t)kill_us);
		kill(p.pid, SIGKILL);
		proc_finish(&p);
		killed += p.status == 128 + SIGKILL;
		proc_free(&p);
		fake_control(&f, "DELETE", "/__control/fault", NULL);
		if (HELPER(&next, NULL, "get", "--force-refresh", "--format", "token") != 0)
			print_error("iteration %d (seed %u, delay %d ms, kill after %d us):\n", i,
				    seed, delay_ms, kill_us);
		assert_exit(&next, AUTH0_CREDENTIALS_OK);
		proc_free(&next);
		assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
		assert_non_null(r->dpop_key);
		assert_true(strcmp(r->dpop_key, exported) == 0);
		a0_record_free(r);
		r = NULL;
	}
	print_message("DPoP kill -9 test: %d of 20 killed\n", killed);
	assert_true(killed >= 5);
	assert_int_equal(dpop_stat(&f, "binding_refused", "refresh_key_mismatch"), 0);
	assert_int_equal(dpop_stat(&f, "binding_refused", "refresh_proof_missing"), 0);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	a0_secret_free(exported);
	a0_dpop_key_free(key);
}

/* A bearer session's headers with --dpop-*: its one Authorization header, unchanged. */
static void test_bearer_session_unchanged(void **state)
{
	char *login = fake_login(&f, CLIENT, NULL, "a0alice", "openid offline_access");
	struct proc p;

	save_login(&f, login, CLIENT, f.port);
	a0_secret_free(login);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "header", "--dpop-method",
		      "GET", "--dpop-url", "https://api.example.com/x");
	assert_true(strncmp(p.stdout_text, "Authorization: Bearer ", 22) == 0);
	assert_null(strstr(p.stdout_text, "DPoP"));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "header");
	assert_true(strncmp(p.stdout_text, "Authorization: Bearer ", 22) == 0);
	proc_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_refresh_proves_the_same_key, setup),
		cmocka_unit_test_setup(test_sso_proves_the_key, setup),
		cmocka_unit_test_setup(test_headers_for_one_request, setup),
		cmocka_unit_test_setup(test_another_key_is_refused, setup),
		cmocka_unit_test_setup(test_kill_9_mid_refresh_keeps_key_and_token, setup),
		cmocka_unit_test_setup(test_bearer_session_unchanged, setup),
	};

	helper_test_init(&f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
