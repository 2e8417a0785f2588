/* SPDX-License-Identifier: MIT */
/*
 * From inside a session (issue 17), against the fake tenant: `userinfo` with a bearer and a
 * DPoP-bound session (renewed first when expired); `exchange` (Auth0's Custom Token Exchange):
 * accepted and stored in place of the session's credentials, refused for reserved and unknown
 * types and for an invalid subject token, the stored credentials then left as they were;
 * `login --password` with OTP MFA as the uid's account (a configuration only root may own, so
 * as root, else skipped), then `get` works; a sign-in as another Auth0 user than the account's
 * binding refused with nothing stored; `logout` revokes at the tenant.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#define CTE_TYPE "urn:acme:legacy-token"
#define ALICE "auth0|6a0000000000000000000001"
#define OTP_USER "auth0|6a0000000000000000000003"
#define OTP_SECRET "JBSWY3DPEHPK3PXP"

static struct fake f;
static char dir[256];

static int setup(void **state)
{
	helper_test_reset(&f);
	return 0;
}

static void login_saved(const char *user, const char *scope)
{
	char *login = fake_login(&f, CLIENT, NULL, user, scope);

	assert_non_null(login);
	save_login(&f, login, CLIENT, f.port);
	a0_secret_free(login);
}

/* The sub of the main record's ID token (compared, never printed whole). */
static char *stored_sub(void)
{
	struct a0_record *r = NULL;
	cJSON *claims = NULL;
	char *sub;

	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	assert_non_null(r->id_token);
	assert_int_equal(a0_json_jwt_claims(r->id_token, &claims), 0);
	sub = strdup(a0_json_string(claims, "sub"));
	a0_json_free(claims);
	a0_record_free(r);
	return sub;
}

static int stat_of(const char *group, const char *name)
{
	cJSON *stats = fake_get(&f, "/__control/stats");
	cJSON *g = group ? cJSON_GetObjectItem(stats, group) : stats;
	cJSON *n = cJSON_GetObjectItem(g, name);
	int v = cJSON_IsNumber(n) ? (int)cJSON_GetNumberValue(n) : 0;

	cJSON_Delete(stats);
	return v;
}

/* ------------------------------------------------------------------ userinfo */

static void test_userinfo_bearer(void **state)
{
	struct proc p;
	char *sub;

	login_saved("a0alice", "openid profile email offline_access");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "userinfo");
	sub = json_member(p.stdout_text, "sub");
	assert_non_null(sub);
	assert_string_equal(sub, ALICE);
	free(sub);
	sub = json_member(p.stdout_text, "email");
	assert_string_equal(sub, "a0alice@example.com");
	free(sub);
	/* One line of JSON. */
	assert_non_null(strchr(p.stdout_text, '\n'));
	assert_int_equal(strchr(p.stdout_text, '\n')[1], '\0');
	proc_free(&p);
	assert_int_equal(fake_count(&f, "/userinfo", NULL), 1);
}

static void test_userinfo_renews_an_expired_token(void **state)
{
	struct a0_record *r = NULL;
	int refreshes = log_length(&f);
	struct proc p;
	char *sub;

	login_saved("a0alice", "openid profile offline_access");
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	r->expires_at = time(NULL) - 10;
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
	refreshes = log_length(&f);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "userinfo");
	sub = json_member(p.stdout_text, "sub");
	assert_string_equal(sub, ALICE);
	free(sub);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, refreshes), 1);
	/* A token the tenant refuses: USERINFO_FAILED. */
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	a0_secret_free(r->access_token);
	r->access_token = strdup("not.a.token");
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
	assert_helper(&p, AUTH0_CREDENTIALS_USERINFO_FAILED, NULL, "userinfo");
	assert_non_null(strstr(p.stderr_text, "401"));
	assert_string_equal(p.stdout_text, "");
	proc_free(&p);
}

static void test_userinfo_dpop(void **state)
{
	struct a0_http_options opt = { .ca_file = f.ca, .timeout = 10 };
	struct a0_dpop_key *key = NULL;
	struct a0_dpop_session session = { 0 };
	struct a0_client client = { .client_id = CLIENT, .dpop = &session };
	struct a0_config cfg = { .realm = (char *)(uintptr_t) "Username-Password-Authentication",
				 .scope = (char *)(uintptr_t) "openid profile offline_access" };
	struct a0_result res = { 0 };
	struct a0_tokens *t = NULL;
	struct a0_record *r = NULL;
	char domain[64], json[16 * 1024], *sub;
	int accepted;
	struct proc p;

	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	opt.domain = domain;
	assert_int_equal(a0_dpop_key_new(&key), 0);
	session.key = key;
	assert_int_equal(a0_http_new(&opt, &client.http), 0);
	assert_int_equal(a0_grant_password_realm(&client, &cfg, "a0alice", "Secret-a0alice-1", &t,
						 &res),
			 0);
	assert_string_equal(t->token_type, "DPoP");
	snprintf(json, sizeof(json),
		 "{\"access_token\":\"%s\",\"id_token\":\"%s\",\"refresh_token\":\"%s\","
		 "\"token_type\":\"DPoP\",\"expires_in\":%lld}",
		 t->access_token, t->id_token, t->refresh_token, t->expires_in);
	save_login(&f, json, CLIENT, f.port);
	explicit_bzero(json, sizeof(json));
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	assert_int_equal(a0_dpop_key_export(key, &r->dpop_key), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
	a0_tokens_free(t);
	a0_http_free(client.http);

	cJSON *stats = fake_get(&f, "/__control/stats");
	accepted = (int)cJSON_GetNumberValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "dpop"),
							"userinfo"),
				    "accepted"));
	cJSON_Delete(stats);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "userinfo");
	sub = json_member(p.stdout_text, "sub");
	assert_string_equal(sub, ALICE);
	free(sub);
	proc_free(&p);
	stats = fake_get(&f, "/__control/stats");
	/* The tenant took it with the DPoP scheme and a proof of the bound key. */
	assert_int_equal((int)cJSON_GetNumberValue(
				 cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(stats,
											     "dpop"),
									 "userinfo"),
						     "accepted")),
			 accepted + 1);
	cJSON_Delete(stats);
	a0_dpop_key_free(key);
}

/* ------------------------------------------------------------------ exchange */

/* A subject token the profile's issuer signed for sub ("tamper": a bad signature). */
static char *subject_token(const char *sub, bool tamper)
{
	char body[256];
	cJSON *o;
	char *token;

	snprintf(body, sizeof(body), "{\"subject_token_type\":\"%s\",\"sub\":\"%s\"%s}", CTE_TYPE,
		 sub, tamper ? ",\"tamper\":true" : "");
	o = fake_post(&f, "/__control/cte-subject-token", body);
	token = strdup(a0_json_string(o, "subject_token"));
	cJSON_Delete(o);
	return token;
}

static void exchange_args(char *domain, size_t n)
{
	snprintf(domain, n, "localhost:%d", f.port);
}

static void test_exchange_stored(void **state)
{
	char domain[64], *token = subject_token(ALICE, false), *sub;
	struct proc p;

	exchange_args(domain, sizeof(domain));
	/* Before it: a session of another user, with an API's credentials of its own. */
	login_saved("a0bob", "openid profile offline_access");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API);
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, token, "exchange", "--subject-token-type", CTE_TYPE,
		      "--scope", "openid profile offline_access");
	assert_string_equal(p.stdout_text, "");
	proc_free(&p);
	sub = stored_sub();
	assert_string_equal(sub, ALICE);
	free(sub);
	/* The other identity's API credentials are gone; the session's renew as alice's. */
	size_t len;
	char *api = NULL;
	assert_int_equal(a0_record_api_name(API, NULL, &api), 0);
	assert_null(record_payload(api, &len));
	free(api);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh", "--format",
		      "token");
	proc_free(&p);
	assert_int_equal(stat_of("custom_token_exchange", "accepted"), 1);

	/* With the tenant given and nothing stored. */
	assert_int_equal(keyctl_clear(KEY_SPEC_SESSION_KEYRING), 0);
	a0_secret_free(token);
	token = subject_token(ALICE, false);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, token, "exchange",
		      "--subject-token-type", CTE_TYPE);
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, token, "exchange", "--subject-token-type", CTE_TYPE,
		      "--domain", domain, "--client-id", CLIENT, "--ca-file", f.ca, "--audience",
		      API, "--scope", "openid offline_access");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "userinfo");
	sub = json_member(p.stdout_text, "sub");
	assert_string_equal(sub, ALICE);
	free(sub);
	proc_free(&p);
	a0_secret_free(token);
}

static void test_exchange_refused_keeps_credentials(void **state)
{
	static const char *const refused_types[] = {
		"urn:ietf:params:oauth:token-type:access_token",
		"urn:auth0:legacy",
		"https://auth0.com/token",
		"urn:acme:no-profile",
	};
	char *before, *after, *token = subject_token(ALICE, false),
			      *bad = subject_token(ALICE, true);
	size_t before_len, after_len;
	struct proc p;

	login_saved("a0bob", "openid profile offline_access");
	before = record_payload(A0_RECORD_MAIN, &before_len);
	for (size_t i = 0; i < sizeof(refused_types) / sizeof(refused_types[0]); i++) {
		assert_helper(&p, AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED, token, "exchange",
			      "--subject-token-type", refused_types[i]);
		assert_non_null(strstr(p.stderr_text, "invalid_request"));
		assert_non_null(strstr(p.stderr_text, "subject_token_type"));
		proc_free(&p);
	}
	/* An invalid subject token: Auth0's error, said clearly; never the token. */
	assert_helper(&p, AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED, bad, "exchange",
		      "--subject-token-type", CTE_TYPE);
	assert_non_null(strstr(p.stderr_text, "\"auth0_error\":\"invalid_request\""));
	assert_non_null(strstr(p.stderr_text, "Invalid subject token"));
	assert_null(strstr(p.stderr_text, bad));
	proc_free(&p);
	/* Not one word: refused before anything is sent. */
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, "two words", "exchange",
		      "--subject-token-type", CTE_TYPE);
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, token, "exchange");
	proc_free(&p);
	after = record_payload(A0_RECORD_MAIN, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	assert_int_equal(stat_of("custom_token_exchange", "accepted"), 0);
	a0_secret_free(before);
	a0_secret_free(after);
	a0_secret_free(token);
	a0_secret_free(bad);
}

/* ------------------------------------------------------------------ login, logout */

/*
 * The configuration login reads (root's, as every pam_auth0 configuration): the fake tenant,
 * username the Auth0 login sent, and the account (this uid's, root: allowed_users hands it to
 * Auth0) bound by users_file to bound_sub.
 */
static char config_path[512];

static void write_config_for(const char *client, const char *username, const char *bound_sub)
{
	char path[512], text[2048], self[64];
	FILE *fp;

	snprintf(self, sizeof(self), "%s", getuid() == 0 ? "root" : "nobody");
	snprintf(path, sizeof(path), "%s/pam_auth0.conf", dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\n"
		 "client_id = %s\n"
		 "ca_file = %s\n"
		 "realm = Username-Password-Authentication\n"
		 "scope = openid profile offline_access\n"
		 "username = %s\n"
		 "user_claim_template = %%u\n"
		 "allowed_users = %s\n"
		 "users_file = %s/users\n"
		 "sync_dir = %s/no-sync\n"
		 "cache_dir = %s\n"
		 "device_timeout = 30\n",
		 f.port, client, f.ca, username, self, dir, dir, dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0644), 0);
	/* users_file: root's binding of the account to its Auth0 user. */
	snprintf(path, sizeof(path), "%s/users", dir);
	snprintf(text, sizeof(text), "%s %s\n", self, bound_sub);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

static void write_config(const char *username, const char *bound_sub)
{
	write_config_for(CLIENT, username, bound_sub);
}

static bool as_root(void)
{
	if (getuid() == 0)
		return true;
	print_message("skipped: pam_auth0's configuration must be root's (run as root)\n");
	return false;
}

static void test_login_password_with_otp(void **state)
{
	char otp[7], input[128];
	struct proc p;
	char *sub;

	if (!as_root())
		skip();
	write_config("a0otp", OTP_USER);
	/* stdin is no terminal: the password its first line, the code (no terminal) its next. */
	totp(OTP_SECRET, (long long)time(NULL), otp);
	snprintf(input, sizeof(input), "Secret-a0otp-1\n%s\n", otp);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, input, "login", "--password", "--config",
		      config_path);
	explicit_bzero(input, sizeof(input));
	proc_free(&p);
	assert_int_equal(fake_count(&f, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 1);
	sub = stored_sub();
	assert_string_equal(sub, OTP_USER);
	free(sub);
	/* Then the session's credentials work as a pam_auth0 session's. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh", "--format",
		      "token");
	assert_true(strlen(p.stdout_text) > 20);
	proc_free(&p);

	/* logout: the refresh token revoked at the tenant, the records gone. */
	int revoked = fake_stat(&f, "revoked_families");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "logout");
	proc_free(&p);
	assert_int_equal(fake_stat(&f, "revoked_families"), revoked + 1);
	assert_helper(&p, AUTH0_CREDENTIALS_NO_CREDENTIALS, NULL, "get");
	proc_free(&p);
}

static void test_login_as_another_user_refused(void **state)
{
	size_t len;
	struct proc p;

	if (!as_root())
		skip();
	/* The account is bound to a0otp; a0alice signs in (her own, correct password). */
	write_config("a0alice", OTP_USER);
	assert_helper(&p, AUTH0_CREDENTIALS_LOGIN_REFUSED, "Secret-a0alice-1\n", "login",
		      "--config", config_path);
	assert_non_null(strstr(p.stderr_text, "LOGIN_REFUSED"));
	assert_non_null(strstr(p.stderr_text, "users_file"));
	proc_free(&p);
	assert_null(record_payload(A0_RECORD_MAIN, &len));
	/* A wrong password: LOGIN_FAILED, nothing stored. */
	write_config("a0otp", OTP_USER);
	assert_helper(&p, AUTH0_CREDENTIALS_LOGIN_FAILED, "wrong-password\n", "login", "--config",
		      config_path);
	assert_non_null(strstr(p.stderr_text, "invalid_grant"));
	proc_free(&p);
	assert_null(record_payload(A0_RECORD_MAIN, &len));
	/* No answer at all (stdin ends): LOGIN_FAILED. */
	assert_helper(&p, AUTH0_CREDENTIALS_LOGIN_FAILED, NULL, "login", "--config", config_path);
	proc_free(&p);
	/* No configuration there: said, nothing sent. */
	assert_helper(&p, AUTH0_CREDENTIALS_LOGIN_FAILED, "x\n", "login", "--config",
		      "/nonexistent/pam_auth0.conf");
	proc_free(&p);
}

/*
 * login --device: the person approves at the fake's control endpoint (as at the browser) once
 * the code is issued. approver: who signs in there; expected: the command's exit code.
 */
static struct proc device_login(const char *approver, bool deny)
{
	char body[128];
	struct proc p;
	int codes = fake_count(&f, "/oauth/device/code", NULL);

	fake_control(&f, "POST", "/__control/device", "{\"interval\":1}");
	write_config_for("pam-device", "%u", ALICE);
	proc_start(&p, NULL, NULL,
		   (const char *const[]){ "login", "--device", "--config", config_path, NULL });
	assert_true(fake_wait_count(&f, "/oauth/device/code", codes, 10.0));
	if (deny) {
		fake_control(&f, "POST", "/__control/device-deny", "{}");
	} else {
		snprintf(body, sizeof(body), "{\"username\":\"%s\"}", approver);
		fake_control(&f, "POST", "/__control/device-approve", body);
	}
	proc_finish(&p);
	return p;
}

static void test_login_device(void **state)
{
	struct proc p;
	size_t len;
	char *sub;

	if (!as_root())
		skip();
	p = device_login("a0alice", false);
	assert_exit(&p, AUTH0_CREDENTIALS_OK);
	/* The person was told the code and the address (stderr: no terminal here). */
	assert_non_null(strstr(p.stderr_text, "https://localhost:"));
	proc_free(&p);
	sub = stored_sub();
	assert_string_equal(sub, ALICE);
	free(sub);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "token");
	proc_free(&p);

	/* Approved by another Auth0 user than the account's: refused, nothing stored. */
	assert_int_equal(keyctl_clear(KEY_SPEC_SESSION_KEYRING), 0);
	p = device_login("a0bob", false);
	assert_exit(&p, AUTH0_CREDENTIALS_LOGIN_REFUSED);
	proc_free(&p);
	assert_null(record_payload(A0_RECORD_MAIN, &len));
	/* Denied at the browser. */
	p = device_login("a0alice", true);
	assert_exit(&p, AUTH0_CREDENTIALS_LOGIN_FAILED);
	assert_non_null(strstr(p.stderr_text, "access_denied"));
	proc_free(&p);
	assert_null(record_payload(A0_RECORD_MAIN, &len));
}

static void test_logout_without_refresh_token(void **state)
{
	struct proc p;
	size_t len;

	login_saved("a0alice", "openid profile");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "logout");
	proc_free(&p);
	assert_null(record_payload(A0_RECORD_MAIN, &len));
	assert_helper(&p, AUTH0_CREDENTIALS_NO_CREDENTIALS, NULL, "logout");
	proc_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_userinfo_bearer, setup),
		cmocka_unit_test_setup(test_userinfo_renews_an_expired_token, setup),
		cmocka_unit_test_setup(test_userinfo_dpop, setup),
		cmocka_unit_test_setup(test_exchange_stored, setup),
		cmocka_unit_test_setup(test_exchange_refused_keeps_credentials, setup),
		cmocka_unit_test_setup(test_login_password_with_otp, setup),
		cmocka_unit_test_setup(test_login_as_another_user_refused, setup),
		cmocka_unit_test_setup(test_login_device, setup),
		cmocka_unit_test_setup(test_logout_without_refresh_token, setup),
	};
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int r;

	helper_test_init(&f);
	/* No terminal: login reads its answers from stdin, never from whoever runs the tests. */
	proc_no_tty = true;
	snprintf(dir, sizeof(dir), "%s/a0-session-XXXXXX", tmp);
	assert_non_null(mkdtemp(dir));
	snprintf(config_path, sizeof(config_path), "%s/pam_auth0.conf", dir);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	/* The configuration and the JWKS cache login kept there. */
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	(void)rmdir(dir);
	return r;
}
