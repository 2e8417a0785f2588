/* SPDX-License-Identifier: MIT */
/*
 * auth0-credentials(1) against the fake tenant, with refresh-token rotation and reuse
 * detection on (client pam-native): output formats and errors exactly, refresh decisions, 50
 * processes refreshing at once, kill -9 in the middle of refreshes, a fault matrix that must
 * leave the stored record byte for byte as it was, and --param values that must stay values.
 * Runs in its own session keyring and lock directory (helper_test_init).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <keyutils.h>

#include "lib/util.h"
#include "tests/credentials/common.h"

#define SCOPE "openid profile offline_access"
#define API "https://api.example.com/"
#define N_PROCS 50

static struct fake f;

static int setup(void **state)
{
	helper_test_reset(&f);
	return 0;
}

static void settings(const char *json)
{
	fake_control(&f, "POST", "/__control/settings", json);
}

static void fault(const char *json)
{
	fake_control(&f, "POST", "/__control/fault", json);
}

/* a0alice signs in with pam-native; her credentials are saved; the token response returned. */
static char *signed_in(void)
{
	char *json = fake_login(&f, "pam-native", NULL, "a0alice", SCOPE);

	assert_non_null(json);
	save_login(&f, json, "pam-native", f.port);
	return json;
}

/*
 * The failure is one JSON line on stderr naming the error; nothing on stdout. The name is the
 * manual's, from this file: expect_error(&p, NO_CREDENTIALS) wants exit code
 * AUTH0_CREDENTIALS_NO_CREDENTIALS and "error":"NO_CREDENTIALS".
 */
static cJSON *expect_error_at(const struct proc *p, int code, const char *name, const char *file,
			      int line)
{
	const char *nl = strchr(p->stderr_text, '\n');
	cJSON *o;

	test_assert_exit(p, code, file, line);
	assert_string_equal(p->stdout_text, "");
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	o = cJSON_Parse(p->stderr_text);
	assert_non_null(o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")), name);
	assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message"))) > 0);
	return o;
}

#define expect_error(p, n) expect_error_at((p), AUTH0_CREDENTIALS_##n, #n, __FILE__, __LINE__)
/* The same in a table of struct fault_case: .code = AUTH0_CREDENTIALS_n, .name = "n". */
#define FAILS_WITH(n) .code = AUTH0_CREDENTIALS_##n, .name = #n

static void expect_ok_at(const struct proc *p, const char *file, int line)
{
	test_assert_exit(p, AUTH0_CREDENTIALS_OK, file, line);
	assert_string_equal(p->stderr_text, "");
}
#define expect_ok(p) expect_ok_at((p), __FILE__, __LINE__)

/* ------------------------------------------------------------------ interface */

static void test_help_per_verb(void **state)
{
	static const struct {
		const char *a, *b, *c;
		const char *starts;
	} cases[] = {
		{ "--help", NULL, NULL, "Usage: auth0-credentials [--keyring" },
		{ "get", "--help", NULL, "Usage: auth0-credentials get " },
		{ "has-valid", "--help", NULL, "Usage: auth0-credentials has-valid" },
		{ "save", "--help", NULL, "Usage: auth0-credentials save" },
		{ "clear", "--help", NULL, "Usage: auth0-credentials clear" },
		{ "revoke", "--help", NULL, "Usage: auth0-credentials revoke" },
		{ "api", "get", "--help", "Usage: auth0-credentials api get AUDIENCE" },
		{ "sso", "--help", NULL, "Usage: auth0-credentials sso" },
		{ "help", "sso", NULL, "Usage: auth0-credentials sso" },
		{ "sso-exchange", "--help", NULL, "Usage: auth0-credentials sso-exchange" },
	};
	struct proc p;

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		const char *args[] = { cases[i].a, cases[i].b, cases[i].c, NULL };

		helper(&p, NULL, args);
		assert_exit(&p, AUTH0_CREDENTIALS_OK);
		if (strncmp(p.stdout_text, cases[i].starts, strlen(cases[i].starts)) != 0)
			fail_msg("%s %s: %s", cases[i].a, cases[i].b ? cases[i].b : "",
				 p.stdout_text);
		assert_string_equal(p.stderr_text, "");
		proc_free(&p);
	}
}

static void test_errors_are_one_json_object_with_a_code(void **state)
{
	static const struct {
		const char *args[6];
		int code;
		const char *name;
	} cases[] = {
		{ { "get" }, FAILS_WITH(NO_CREDENTIALS) },
		{ { "frobnicate" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { NULL }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--bogus" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--min-ttl" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--min-ttl", "-5" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--min-ttl", "12x" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--format", "xml" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--param", "noequals" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--param", "client_id=evil" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "extra" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "--keyring", "bogus", "get" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "--timeout", "0", "get" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "get", "--timeout", "301" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "has-valid", "--scope", "x" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "api", "get" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "api", "frob", API }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "api", "get", API }, FAILS_WITH(NO_CREDENTIALS) },
		{ { "sso" }, FAILS_WITH(NO_CREDENTIALS) },
		{ { "sso", "--format", "header" }, FAILS_WITH(INVALID_ARGUMENT) },
		{ { "revoke" }, FAILS_WITH(NO_CREDENTIALS) },
		{ { "save" }, FAILS_WITH(INVALID_ARGUMENT) }, /* empty stdin */
	};
	struct proc p;
	cJSON *o;

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		helper(&p, NULL, cases[i].args);
		o = expect_error_at(&p, cases[i].code, cases[i].name, __FILE__, __LINE__);
		cJSON_Delete(o);
		proc_free(&p);
	}
	/* Exactly, for one. */
	HELPER(&p, NULL, "get");
	assert_string_equal(p.stderr_text, "{\"error\":\"NO_CREDENTIALS\",\"message\":\"no "
					   "credentials are stored in the session keyring\"}\n");
	proc_free(&p);
	/* The user keyring is read, not written. */
	HELPER(&p, NULL, "--keyring", "user", "get");
	cJSON_Delete(expect_error(&p, NO_CREDENTIALS));
	assert_non_null(strstr(p.stderr_text, "user keyring"));
	proc_free(&p);
	/* has-valid answers with its status alone. */
	assert_helper(&p, AUTH0_CREDENTIALS_NOT_VALID, NULL, "has-valid");
	assert_string_equal(p.stderr_text, "");
	proc_free(&p);
	assert_int_equal(log_length(&f), 0);
}

static const char synthetic[] =
	"{\"access_token\":\"at-123.x_y\",\"id_token\":\"id'q\",\"refresh_token\":\"rt-secret-9\","
	"\"token_type\":\"bearer\",\"expires_in\":3600,\"scope\":\"openid profile\"}";

/* Save the synthetic login; its expiry as the default (JSON) format tells it. */
static long long save_synthetic(void)
{
	long long expires_at;
	time_t t0, t1;
	struct proc p;
	cJSON *o;

	t0 = time(NULL);
	save_login(&f, synthetic, "pam-native", f.port);
	t1 = time(NULL);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get");
	o = cJSON_Parse(p.stdout_text);
	assert_non_null(o);
	expires_at = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "expires_at"));
	cJSON_Delete(o);
	assert_true(expires_at >= t0 + 3600 && expires_at <= t1 + 3600);
	proc_free(&p);
	return expires_at;
}

/* The formats exactly; no network is needed for any of them. */

static void test_format_json(void **state)
{
	long long expires_at = save_synthetic();
	char expected[1024];
	struct proc p;

	snprintf(expected, sizeof(expected),
		 "{\"access_token\":\"at-123.x_y\",\"id_token\":\"id'q\",\"token_type\":\"bearer\","
		 "\"expires_at\":%lld,\"scope\":\"openid profile\"}\n",
		 expires_at);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get");
	assert_string_equal(p.stdout_text, expected);
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "json");
	assert_string_equal(p.stdout_text, expected);
	proc_free(&p);
	assert_int_equal(log_length(&f), 0);
}

static void test_format_token_and_header(void **state)
{
	struct proc p;

	save_synthetic();
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "token");
	assert_string_equal(p.stdout_text, "at-123.x_y\n");
	proc_free(&p);
	/* RFC 6750's spelling of the scheme, whatever case the tenant used. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "header");
	assert_string_equal(p.stdout_text, "Authorization: Bearer at-123.x_y\n");
	proc_free(&p);
	assert_int_equal(log_length(&f), 0);
}

static void test_format_env_as_a_shell_reads_it(void **state)
{
	long long expires_at = save_synthetic();
	char expected[1024], script[512], envfile[] = "/tmp/a0-env-XXXXXX";
	struct proc p;
	FILE *fp;
	int fd;

	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "env");
	snprintf(expected, sizeof(expected),
		 "AUTH0_ACCESS_TOKEN='at-123.x_y'\n"
		 "AUTH0_ID_TOKEN='id'\\''q'\n"
		 "AUTH0_TOKEN_TYPE='bearer'\n"
		 "AUTH0_EXPIRES_AT='%lld'\n"
		 "AUTH0_SCOPE='openid profile'\n",
		 expires_at);
	assert_string_equal(p.stdout_text, expected);
	/* And a shell reads back exactly the values. */
	fd = mkstemp(envfile);
	assert_true(fd >= 0);
	assert_int_equal(a0_write_full(fd, p.stdout_text, strlen(p.stdout_text)), 0);
	close(fd);
	snprintf(script, sizeof(script),
		 "/bin/sh -c '. %s; printf \"%%s|%%s|%%s\" \"$AUTH0_ID_TOKEN\" \"$AUTH0_SCOPE\" "
		 "\"$AUTH0_ACCESS_TOKEN\"'",
		 envfile);
	fp = popen(script, "r");
	assert_non_null(fp);
	assert_non_null(fgets(expected, sizeof(expected), fp));
	assert_int_equal(pclose(fp), 0);
	assert_string_equal(expected, "id'q|openid profile|at-123.x_y");
	unlink(envfile);
	proc_free(&p);
	assert_int_equal(log_length(&f), 0);
}

static void test_format_never_prints_the_refresh_token(void **state)
{
	static const char *const formats[] = { "json", "token", "header", "env" };
	struct proc p;

	save_synthetic();
	for (size_t i = 0; i < A0_ARRAY_SIZE(formats); i++) {
		assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", formats[i]);
		assert_null(strstr(p.stdout_text, "rt-secret-9"));
		proc_free(&p);
	}
	assert_int_equal(log_length(&f), 0);
}

/* Absent ID token and scope: null, and empty assignments. */
static void test_format_without_id_token_and_scope(void **state)
{
	struct proc p;

	save_login(&f,
		   "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\",\"expires_in\":\"60\"}",
		   "pam-native", f.port);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get");
	assert_non_null(strstr(p.stdout_text, "\"id_token\":null,"));
	assert_non_null(strstr(p.stdout_text, "\"scope\":null}\n"));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "env");
	assert_non_null(strstr(p.stdout_text, "\nAUTH0_ID_TOKEN=''\n"));
	assert_non_null(strstr(p.stdout_text, "\nAUTH0_SCOPE=''\n"));
	proc_free(&p);
	assert_int_equal(log_length(&f), 0);
}

static void test_save_refuses_what_is_not_a_token_response(void **state)
{
	struct proc p;

	HELPER(&p, "{\"access_token\":\"a\"}", "save", "--domain", "localhost:1", "--client-id",
	       "c");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	HELPER(&p, "{\"access_token\":\"a b\",\"token_type\":\"Bearer\",\"expires_in\":5}", "save",
	       "--domain", "localhost:1", "--client-id", "c");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	/* No tenant given and none stored to keep. */
	HELPER(&p, synthetic, "save");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	assert_null(record_payload("main", &(size_t){ 0 }));
}

static void test_has_valid(void **state)
{
	struct proc p;

	save_login(&f, synthetic, "pam-native", f.port);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "has-valid");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "has-valid", "--min-ttl", "3000");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_NOT_VALID, NULL, "has-valid", "--min-ttl", "4000");
	assert_string_equal(p.stdout_text, "");
	assert_string_equal(p.stderr_text, "");
	proc_free(&p);
	assert_int_equal(log_length(&f), 0);
}

/* ------------------------------------------------------------------ refresh */

static void test_get_refreshes_only_when_needed(void **state)
{
	char *login, *old_at, first[4096];
	struct proc p;
	cJSON *o;

	settings("{\"access_token_lifetime\": 30}");
	login = signed_in();
	settings("{\"access_token_lifetime\": 86400}");
	old_at = json_member(login, "access_token");

	/* Valid for 30 s: returned as it is. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "token");
	assert_int_equal(strncmp(p.stdout_text, old_at, strlen(old_at)), 0);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 0);

	/* Not for 60 s: renewed, once. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--min-ttl", "60", "--format",
		      "token");
	expect_ok(&p);
	assert_int_not_equal(strncmp(p.stdout_text, old_at, strlen(old_at)), 0);
	snprintf(first, sizeof(first), "%s", p.stdout_text);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--min-ttl", "60", "--format",
		      "token");
	assert_string_equal(p.stdout_text, first);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);

	/* The same scope in another order and case: no refresh. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--scope",
		      "OFFLINE_ACCESS openid  profile");
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);

	/* Another scope: a refresh asking for it, and the record then says it. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--scope", "openid");
	o = cJSON_Parse(p.stdout_text);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "scope")), "openid");
	cJSON_Delete(o);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 2);

	/* Forced. (The fake's JWTs issued within one second are identical: count requests.) */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh", "--format",
		      "token");
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 3);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	free(login);
	free(old_at);
}

static void test_large_min_ttl_keeps_rotated_token(void **state)
{
	char *login, *before, *after;
	size_t before_len, after_len;
	struct proc p;
	cJSON *o;

	settings("{\"access_token_lifetime\": 30}");
	login = signed_in();
	before = record_payload("main", &before_len);
	assert_non_null(before);

	HELPER(&p, NULL, "get", "--min-ttl", "120");
	o = expect_error(&p, LARGE_MIN_TTL);
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")),
			       "renewed credentials are stored"));
	cJSON_Delete(o);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);

	/* The new tokens were stored, not dropped as Auth0's SDKs do. */
	after = record_payload("main", &after_len);
	assert_false(before_len == after_len && memcmp(before, after, before_len) == 0);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--format", "token");
	assert_true(strlen(p.stdout_text) > 20);
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);
	/* And the rotated refresh token is the one that works now. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh");
	proc_free(&p);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	free(login);
	free(before);
	free(after);
}

/* A min-ttl over a year is tried, as Auth0's SDKs do: LARGE_MIN_TTL after one refresh. */
static void test_min_ttl_over_a_year_refreshes_then_large_min_ttl(void **state)
{
	char *login = signed_in();
	struct proc p;

	HELPER(&p, NULL, "get", "--min-ttl", "40000000"); /* 463 days */
	cJSON_Delete(expect_error(&p, LARGE_MIN_TTL));
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);
	assert_helper(&p, AUTH0_CREDENTIALS_NOT_VALID, NULL, "has-valid", "--min-ttl", "40000000");
	proc_free(&p);
	/* More than 100 years is no duration: refused, nothing sent. */
	HELPER(&p, NULL, "get", "--min-ttl", "4000000000");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	free(login);
}

static const char *last_token_request(cJSON *log, const char *member)
{
	cJSON *rec = cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1);

	return cJSON_GetStringValue(cJSON_GetObjectItem(rec, member));
}

static void test_param_values_are_encoded_not_interpreted(void **state)
{
	static const char *const values[] = {
		"a&grant_type=password&b=c",
		"x\ny: z\r\n\r\n{\"grant_type\":\"password\"}",
		"k=v=w",
		"\"},\"grant_type\":\"password",
	};
	static const char *const reserved[] = {
		"grant_type=password", "Client_Id=evil",  "refresh_token=x",    "scope=openid",
		"audience=x",          "client_secret=s", "CLIENT_ASSERTION=x",
	};
	char *login, param[256];
	struct proc p;
	cJSON *log;
	int n;

	login = signed_in();
	for (size_t i = 0; i < A0_ARRAY_SIZE(values); i++) {
		snprintf(param, sizeof(param), "realm=%s", values[i]);
		assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh", "--param",
			      param);
		proc_free(&p);
		log = fake_get(&f, "/__control/log");
		/* The tenant saw one member, realm, holding exactly the value given. */
		assert_string_equal(last_token_request(log, "realm"), values[i]);
		assert_string_equal(last_token_request(log, "grant_type"), "refresh_token");
		assert_string_equal(last_token_request(log, "client_id"), "pam-native");
		assert_string_equal(last_token_request(log, "content_type"), "application/json");
		cJSON_Delete(log);
	}
	/* A key holding '&' and '=' is one key: split at the first '=' only. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh", "--param",
		      "x&grant_type=password=1");
	proc_free(&p);
	log = fake_get(&f, "/__control/log");
	assert_string_equal(last_token_request(log, "grant_type"), "refresh_token");
	cJSON_Delete(log);

	/* What would change the request is refused, and nothing is sent. */
	n = log_length(&f);
	for (size_t i = 0; i < A0_ARRAY_SIZE(reserved); i++) {
		HELPER(&p, NULL, "get", "--force-refresh", "--param", reserved[i]);
		cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
		proc_free(&p);
	}
	HELPER(&p, NULL, "get", "--force-refresh", "--param", "a=1", "--param", "A=2");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	assert_int_equal(log_length(&f), n);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	free(login);
}

/* ------------------------------------------------------------------ faults */

/* Where the record says the tenant is: the fake's listener, or one of its broken ones. */
enum port { PORT_MAIN, PORT_CLOSED, PORT_OTHER_CA, PORT_WRONG_HOST, PORT_EXPIRED };

struct fault_case {
	const char *what;
	const char *fault; /* NULL: none */
	enum port port;
	bool revoke_first;
	const char *timeout;
	int code;
	const char *name;
	const char *auth0_error; /* NULL: none expected */
	int requests;
	double min_s, max_s;
};

static void revoke_at_fake(const char *refresh_token)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"client_id\":\"pam-native\",\"token\":\"%s\"}",
		 refresh_token);
	/* Not a control path: through curl like any client. */
	{
		char cmd[2048];

		snprintf(cmd, sizeof(cmd),
			 "curl -sf --cacert '%s' -H 'Content-Type: application/json' -d '%s' "
			 "https://localhost:%d/oauth/revoke >/dev/null",
			 f.ca, body, f.port);
		assert_int_equal(system(cmd), 0);
	}
}

static void run_fault_case(const struct fault_case *c)
{
	char *login, *before, *after;
	size_t before_len, after_len;
	struct proc p;
	cJSON *o;
	int from;

	helper_test_reset(&f);
	login = fake_login(&f, "pam-native", NULL, "a0alice", SCOPE);
	assert_non_null(login);
	{
		const int ports[] = { f.port, f.port_closed, f.port_other_ca, f.port_wrong_host,
				      f.port_expired };

		save_login(&f, login, "pam-native", ports[c->port]);
	}
	before = record_payload("main", &before_len);
	assert_non_null(before);
	if (c->revoke_first) {
		char *rt = json_member(login, "refresh_token");

		revoke_at_fake(rt);
		free(rt);
	}
	if (c->fault)
		fault(c->fault);
	from = log_length(&f);
	if (c->timeout)
		HELPER(&p, NULL, "--timeout", c->timeout, "get", "--force-refresh");
	else
		HELPER(&p, NULL, "get", "--force-refresh");
	if (p.status != c->code)
		print_error("fault case: %s\n", c->what);
	o = expect_error_at(&p, c->code, c->name, __FILE__, __LINE__);
	if (c->auth0_error)
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "auth0_error")),
				    c->auth0_error);
	cJSON_Delete(o);
	if (refresh_count(&f, from) != c->requests)
		fail_msg("%s: %d requests, expected %d", c->what, refresh_count(&f, from),
			 c->requests);
	if (p.seconds < c->min_s || p.seconds > c->max_s)
		fail_msg("%s: took %.2f s, expected %.1f..%.1f", c->what, p.seconds, c->min_s,
			 c->max_s);
	/* The record is exactly as it was. */
	after = record_payload("main", &after_len);
	assert_non_null(after);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	proc_free(&p);
	free(before);
	free(after);
	free(login);
}

#define RUN_FAULT_CASES(cases)                            \
	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) \
	run_fault_case(&cases[i])

/* The fault matrix: every failure leaves the record byte for byte as it was. */

/* The tenant unreachable, silent, too slow, or not the one the certificate names. */
static void test_fault_network_leaves_record_intact(void **state)
{
	static const struct fault_case cases[] = {
		{ .what = "tenant down",
		  .port = PORT_CLOSED,
		  FAILS_WITH(NO_NETWORK),
		  .requests = 0,
		  .max_s = 5 },
		{ .what = "TCP accept, then silence",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"silence\",\"seconds\":4}",
		  .timeout = "1",
		  FAILS_WITH(NO_NETWORK),
		  .requests = 1,
		  .min_s = 0.9,
		  .max_s = 2.8 },
		{ .what = "1 byte per second",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"slow_body\",\"interval\":1}",
		  .timeout = "1",
		  FAILS_WITH(NO_NETWORK),
		  .requests = 1,
		  .min_s = 0.9,
		  .max_s = 2.8 },
		{ .what = "slower than --timeout",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"delay\",\"seconds\":3}",
		  .timeout = "1",
		  FAILS_WITH(NO_NETWORK),
		  .requests = 1,
		  .min_s = 0.9,
		  .max_s = 2.8 },
		{ .what = "certificate from another CA",
		  .port = PORT_OTHER_CA,
		  FAILS_WITH(NO_NETWORK),
		  .requests = 0,
		  .max_s = 5 },
		{ .what = "hostname mismatch",
		  .port = PORT_WRONG_HOST,
		  FAILS_WITH(NO_NETWORK),
		  .requests = 0,
		  .max_s = 5 },
		{ .what = "expired certificate",
		  .port = PORT_EXPIRED,
		  FAILS_WITH(NO_NETWORK),
		  .requests = 0,
		  .max_s = 5 },
	};

	RUN_FAULT_CASES(cases);
}

/* Server errors and rate limits: retried within bounds, then RENEW_FAILED. */
static void test_fault_server_errors_leave_record_intact(void **state)
{
	static const struct fault_case cases[] = {
		{ .what = "500",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":500,"
			   "\"count\":-1,\"body\":{\"error\":\"server_error\","
			   "\"error_description\":\"boom\"}}",
		  FAILS_WITH(RENEW_FAILED),
		  .auth0_error = "server_error",
		  .requests = 3,
		  .min_s = 3,
		  .max_s = 9 },
		{ .what = "502",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":502,"
			   "\"count\":-1,\"body\":\"<html>Bad Gateway</html>\"}",
		  FAILS_WITH(RENEW_FAILED),
		  .requests = 3,
		  .min_s = 3,
		  .max_s = 9 },
		{ .what = "503",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":503,"
			   "\"count\":-1}",
		  FAILS_WITH(RENEW_FAILED),
		  .requests = 3,
		  .min_s = 3,
		  .max_s = 9 },
		{ .what = "429 without Retry-After",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\",\"count\":-1}",
		  FAILS_WITH(RENEW_FAILED),
		  .auth0_error = "too_many_requests",
		  .requests = 3,
		  .min_s = 3,
		  .max_s = 9 },
		{ .what = "429 with Retry-After",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\",\"retry_after\":1,"
			   "\"count\":-1}",
		  FAILS_WITH(RENEW_FAILED),
		  .auth0_error = "too_many_requests",
		  .requests = 3,
		  .min_s = 2,
		  .max_s = 8 },
		{ .what = "429 asking for more than the cap",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\","
			   "\"retry_after\":3600,\"count\":-1}",
		  FAILS_WITH(RENEW_FAILED),
		  .auth0_error = "too_many_requests",
		  .requests = 1,
		  .max_s = 5 },
	};

	RUN_FAULT_CASES(cases);
}

/* Answers that are not Auth0's: not retried. */
static void test_fault_bad_answers_leave_record_intact(void **state)
{
	static const struct fault_case cases[] = {
		{ .what = "garbage",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"garbage\"}",
		  FAILS_WITH(RENEW_FAILED),
		  .requests = 1,
		  .max_s = 5 },
		/* The connection broke mid-answer: a network failure. */
		{ .what = "truncated answer",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"truncated\"}",
		  FAILS_WITH(NO_NETWORK),
		  .requests = 1,
		  .max_s = 5 },
		{ .what = "10 MB body",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"huge\"}",
		  FAILS_WITH(RENEW_FAILED),
		  .requests = 1,
		  .max_s = 5 },
		{ .what = "wrong content type",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"wrong_content_type\"}",
		  FAILS_WITH(RENEW_FAILED),
		  .requests = 1,
		  .max_s = 5 },
	};

	RUN_FAULT_CASES(cases);
}

/* Auth0's refusals: named in the error, Auth0's code passed on. */
static void test_fault_refusals_leave_record_intact(void **state)
{
	static const struct fault_case cases[] = {
		{ .what = "revoked refresh token",
		  .revoke_first = true,
		  FAILS_WITH(RENEW_FAILED),
		  .auth0_error = "invalid_grant",
		  .requests = 1,
		  .max_s = 5 },
		{ .what = "MFA required",
		  .fault = "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":403,"
			   "\"body\":{\"error\":\"mfa_required\",\"error_description\":"
			   "\"Multifactor authentication required\",\"mfa_token\":\"m\"}}",
		  FAILS_WITH(MFA_REQUIRED),
		  .auth0_error = "mfa_required",
		  .requests = 1,
		  .max_s = 5 },
	};

	RUN_FAULT_CASES(cases);
}

static void test_rate_limit_once_then_success(void **state)
{
	char *login = signed_in();
	struct proc p;

	fault("{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\",\"retry_after\":1}");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh");
	expect_ok(&p);
	assert_true(p.seconds >= 1.0);
	assert_int_equal(refresh_count(&f, 0), 2);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	proc_free(&p);
	free(login);
}

static void test_confidential_client_is_refused_clearly(void **state)
{
	char *login, *before, *after;
	size_t before_len, after_len;
	struct proc p;
	cJSON *o;

	login = fake_login(&f, "pam-confidential", "test-client-secret-123", "a0alice", SCOPE);
	assert_non_null(login);
	save_login(&f, login, "pam-confidential", f.port);
	before = record_payload("main", &before_len);
	HELPER(&p, NULL, "get", "--force-refresh");
	o = expect_error(&p, RENEW_FAILED);
	/* A record without client_auth: a public application's, stored before the broker. */
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")),
			       "requires client authentication for application pam-confidential"));
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")),
			       "stored for a public application"));
	assert_non_null(
		strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")), "sign in again"));
	cJSON_Delete(o);
	after = record_payload("main", &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	/* No secret was sent: the request had no way to carry one. */
	proc_free(&p);
	free(login);
	free(before);
	free(after);
}

/* ------------------------------------------------------------------ concurrency */

/* Start n helpers held at a barrier, release them together, and wait for all. */
static void run_together(struct proc *procs, int n, const char *const *args)
{
	int barrier[2];

	assert_int_equal(pipe2(barrier, O_CLOEXEC), 0);
	for (int i = 0; i < n; i++)
		proc_start(&procs[i], NULL, barrier, args);
	close(barrier[1]);
	close(barrier[0]);
	for (int i = 0; i < n; i++)
		proc_finish(&procs[i]);
}

static void expect_all_same(struct proc *procs, int n, const char *not_this)
{
	for (int i = 0; i < n; i++) {
		expect_ok(&procs[i]);
		assert_true(strlen(procs[i].stdout_text) > 20);
		assert_string_equal(procs[i].stdout_text, procs[0].stdout_text);
	}
	if (not_this)
		assert_int_not_equal(strncmp(procs[0].stdout_text, not_this, strlen(not_this)), 0);
	for (int i = 0; i < n; i++)
		proc_free(&procs[i]);
}

static void test_50_processes_get_one_refresh(void **state)
{
	struct proc procs[N_PROCS], p;
	char *login, *old_at;

	settings("{\"access_token_lifetime\": 30}");
	login = signed_in();
	settings("{\"access_token_lifetime\": 86400}");
	old_at = json_member(login, "access_token");

	run_together(procs, N_PROCS,
		     (const char *const[]){ "get", "--min-ttl", "600", "--format", "token", NULL });
	expect_all_same(procs, N_PROCS, old_at);
	assert_int_equal(refresh_count(&f, 0), 1);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	/* The family is alive: the stored refresh token is the current one. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh");
	proc_free(&p);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	free(login);
	free(old_at);
}

static void test_50_processes_api_get_one_exchange(void **state)
{
	struct proc procs[N_PROCS], p;
	char *login, *main_at;
	cJSON *log, *rec;

	login = signed_in();
	main_at = json_member(login, "access_token");
	run_together(procs, N_PROCS,
		     (const char *const[]){ "api", "get", API, "--scope", "openid profile",
					    "--min-ttl", "60", "--format", "token", NULL });
	expect_all_same(procs, N_PROCS, main_at);
	assert_int_equal(refresh_count(&f, 0), 1);
	log = fake_get(&f, "/__control/log");
	rec = cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "audience")), API);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "scope")),
			    "openid profile");
	cJSON_Delete(log);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	/* The exchange rotated the refresh token into the main record. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh");
	expect_ok(&p);
	proc_free(&p);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	/* Cached under the sorted scopes. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--scope",
		      "profile openid");
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 2);
	free(login);
	free(main_at);
}

static void test_kill_9_mid_refresh_never_loses_the_session(void **state)
{
	unsigned seed = (unsigned)time(NULL);
	int killed = 0, finished = 0;
	char *login, spec[160];
	struct proc p, next;

	if (getenv("A0_SEED"))
		seed = (unsigned)strtoul(getenv("A0_SEED"), NULL, 10);
	print_message("kill -9 test: A0_SEED=%u\n", seed);
	srand(seed);
	login = signed_in();
	for (int i = 0; i < 50; i++) {
		/* The tenant holds the answer 100-300 ms, then rotates whether or not the
		 * helper is still there to hear it. */
		int delay_ms = 100 + rand() % 200, kill_us = rand() % 400000;

		fake_control(&f, "DELETE", "/__control/fault", NULL);
		snprintf(spec, sizeof(spec),
			 "{\"path\":\"/oauth/token\",\"kind\":\"delay\",\"seconds\":%.3f}",
			 delay_ms / 1000.0);
		fault(spec);
		proc_start(&p, NULL, NULL,
			   (const char *const[]){ "get", "--force-refresh", "--format", "token",
						  NULL });
		usleep((useconds_t)kill_us);
		kill(p.pid, SIGKILL);
		proc_finish(&p);
		if (p.status == 128 + SIGKILL)
			killed++;
		else
			finished++;
		proc_free(&p);
		if (HELPER(&next, NULL, "get", "--force-refresh", "--format", "token") != 0)
			print_error("iteration %d (seed %u, delay %d ms, kill after %d us):\n", i,
				    seed, delay_ms, kill_us);
		assert_exit(&next, AUTH0_CREDENTIALS_OK);
		assert_true(strlen(next.stdout_text) > 20);
		proc_free(&next);
	}
	print_message("kill -9 test: %d killed, %d finished first, %d refreshes\n", killed,
		      finished, refresh_count(&f, 0));
	assert_true(killed >= 10);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	assert_int_equal(fake_stat(&f, "revoked_families"), 0);
	free(login);
}

/* ------------------------------------------------------------------ secrets in /proc */

/* From /proc/<pid>/stat: the state letter and the parent; false when pid is gone. */
static bool proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[512], *close_paren;
	int parent = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return false;
	buf[0] = '\0';
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = '\0';
	fclose(fp);
	/* "pid (comm) state ppid ...": comm may hold anything, so after the last ')'. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %c %d", state, &parent) != 2)
		return false;
	*ppid = (pid_t)parent;
	return true;
}

/* Whether pid is root or a descendant of it. */
static bool descends_from(pid_t pid, pid_t root)
{
	for (int depth = 0; depth < 16 && pid > 1; depth++) {
		char state;

		if (pid == root)
			return true;
		if (!proc_stat(pid, &state, &pid))
			return false;
	}
	return false;
}

/* Append a /proc file of pid to *buf (NULs kept, so needles never span two strings). */
static void append_proc_file(pid_t pid, const char *name, char **buf, size_t *len)
{
	char path[64], chunk[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* gone in between */
	while ((n = a0_read_full(fd, chunk, sizeof(chunk))) > 0) {
		*buf = realloc(*buf, *len + (size_t)n + 1);
		assert_non_null(*buf);
		memcpy(*buf + *len, chunk, (size_t)n);
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
	close(fd);
}

static bool holds(const char *buf, size_t len, const char *needle)
{
	return needle && *needle && memmem(buf, len, needle, strlen(needle)) != NULL;
}

/* The value of field `name` in a record payload (free it). */
static char *record_field(const char *payload, size_t len, const char *name)
{
	char head[64];
	const char *at;
	unsigned long n;

	snprintf(head, sizeof(head), "\n%s ", name);
	at = memmem(payload, len, head, strlen(head));
	assert_non_null(at);
	n = strtoul(at + strlen(head), NULL, 10);
	at = strchr(at + strlen(head), '\n') + 1;
	return strndup(at, n);
}

/* What was read of the environ and argv of a helper and its descendants. */
struct watched {
	char *seen; /* the files, one after another */
	size_t n_seen;
	pid_t pids[8]; /* the processes seen (up to 8) */
	size_t n_pids;
	int snapshots;
};

/* Read them again and again until the helper has exited (a zombie until proc_finish); 3 s. */
static void watch_until_exit(const struct proc *p, struct watched *w)
{
	static const char *const names[] = { "environ", "cmdline" };

	for (bool alive = true; alive && w->snapshots < 300;) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		alive = false;
		assert_non_null(d);
		while ((e = readdir(d))) {
			pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
			bool known = false;

			if (pid <= 0 || !descends_from(pid, p->pid))
				continue;
			for (size_t k = 0; k < A0_ARRAY_SIZE(names); k++)
				append_proc_file(pid, names[k], &w->seen, &w->n_seen);
			if (pid == p->pid) {
				char letter = 'Z';
				pid_t parent;

				alive = proc_stat(pid, &letter, &parent) && letter != 'Z';
			}
			for (size_t k = 0; k < w->n_pids; k++)
				known = known || w->pids[k] == pid;
			if (!known && w->n_pids < A0_ARRAY_SIZE(w->pids))
				w->pids[w->n_pids++] = pid;
		}
		closedir(d);
		w->snapshots++;
		usleep(10000);
	}
}

/* The refresh token of the main record (free it). */
static char *stored_refresh_token(void)
{
	size_t len;
	char *payload = record_payload("main", &len), *rt;

	assert_non_null(payload);
	rt = record_field(payload, len, "refresh_token");
	free(payload);
	return rt;
}

/*
 * While a refresh is in flight (the tenant holds the answer a second), the environment and
 * argv of the helper and of every process it started (its refresh worker, and anything either
 * of them ran) are read from /proc again and again, as any process of the user can; afterwards
 * none of them may hold a token, old or new. (/proc shows the blocks a process was started with:
 * a token handed to a child in argv or env is caught; a setenv inside the process is not
 * visible there, nor to anyone else.) Fails when the worker runs a child with the refresh token
 * in its argv (tried).
 */
static void test_refresh_keeps_tokens_out_of_environ_and_argv(void **state)
{
	char *login = signed_in(), *old_rt = stored_refresh_token(), *new_rt;
	char *old_at = json_member(login, "access_token"), *old_id = json_member(login, "id_token");
	struct watched w = { 0 };
	cJSON *out;
	struct proc p;

	fault("{\"path\":\"/oauth/token\",\"kind\":\"delay\",\"seconds\":1.0}");
	proc_start(&p, NULL, NULL,
		   (const char *const[]){ "get", "--force-refresh", "--format", "json", NULL });
	watch_until_exit(&p, &w);
	proc_finish(&p);
	expect_ok(&p);
	out = cJSON_Parse(p.stdout_text);
	assert_non_null(out);
	new_rt = stored_refresh_token();
	assert_string_not_equal(old_rt, new_rt); /* a refresh did happen, and rotated */
	/* The helper and its worker were both looked at, and their files were read. */
	print_message("secrets: %d snapshots of %zu processes, %zu bytes of environ and argv\n",
		      w.snapshots, w.n_pids, w.n_seen);
	assert_true(w.n_pids >= 2);
	assert_true(holds(w.seen, w.n_seen, "get") && holds(w.seen, w.n_seen, "--force-refresh"));
	assert_true(holds(w.seen, w.n_seen, "PATH="));
	{
		const char *tokens[] = {
			old_at,
			old_id,
			old_rt,
			new_rt,
			cJSON_GetStringValue(cJSON_GetObjectItem(out, "access_token")),
			cJSON_GetStringValue(cJSON_GetObjectItem(out, "id_token"))
		};

		for (size_t k = 0; k < A0_ARRAY_SIZE(tokens); k++) {
			assert_non_null(tokens[k]);
			if (holds(w.seen, w.n_seen, tokens[k]))
				fail_msg("token %zu of the refresh is in the environ or argv of the "
					 "helper or a process it started",
					 k);
		}
	}
	cJSON_Delete(out);
	proc_free(&p);
	free(w.seen);
	free(old_at);
	free(old_id);
	free(old_rt);
	free(new_rt);
	free(login);
}

/* ------------------------------------------------------------------ sso, revoke, clear */

static void test_sso(void **state)
{
	char expected[512], audience[96], *login;
	struct proc p;
	cJSON *o, *log;

	login = signed_in();
	/* The fake's ID tokens differ by their iat only: one second on, a new one is new. */
	sleep(1);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "sso");
	expect_ok(&p);
	o = cJSON_Parse(p.stdout_text);
	assert_non_null(o);
	snprintf(expected, sizeof(expected),
		 "{\"session_transfer_token\":\"%s\",\"token_type\":\"N_A\",\"expires_in\":60}\n",
		 cJSON_GetStringValue(cJSON_GetObjectItem(o, "session_transfer_token")));
	assert_string_equal(p.stdout_text, expected);
	cJSON_Delete(o);
	proc_free(&p);
	log = fake_get(&f, "/__control/log");
	snprintf(audience, sizeof(audience), "urn:localhost:%d:session_transfer", f.port);
	assert_string_equal(last_token_request(log, "audience"), audience);
	cJSON_Delete(log);

	/* The rotating exchange answered a new ID token: the session's record holds it now. */
	{
		char *old_id = json_member(login, "id_token"), *payload, *new_id;
		size_t len;

		payload = record_payload("main", &len);
		assert_non_null(payload);
		new_id = record_field(payload, len, "id_token");
		assert_non_null(old_id);
		assert_string_not_equal(new_id, old_id);
		assert_int_equal(strncmp(new_id, "eyJ", 3), 0);
		free(new_id);
		free(payload);
		free(old_id);
	}
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "sso", "--format", "env");
	assert_int_equal(strncmp(p.stdout_text, "AUTH0_SESSION_TRANSFER_TOKEN='", 30), 0);
	assert_non_null(strstr(p.stdout_text, "\nAUTH0_TOKEN_TYPE='N_A'\nAUTH0_EXPIRES_IN='60'\n"));
	proc_free(&p);
	/* Each exchange rotated the refresh token, and the rotated one was kept. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh");
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 3);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	free(login);
}

/* The value of header `name` (any case) of the last token request in the fake's log. */
static const char *last_header(cJSON *log, const char *name)
{
	cJSON *rec = cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1), *h;

	cJSON_ArrayForEach(h, cJSON_GetObjectItem(rec, "headers"))
		if (strcasecmp(cJSON_GetStringValue(cJSON_GetArrayItem(h, 0)), name) == 0)
			return cJSON_GetStringValue(cJSON_GetArrayItem(h, 1));
	return NULL;
}

/* sso --header: sent with the exchange as given; one that would change the request is not. */
static void test_sso_headers(void **state)
{
	static const char *const refused[] = {
		"Host: evil.example.com",
		"Authorization: Bearer x",
		"Content-Type: text/plain",
		"Cookie: a=b",
		"auth0-forwarded-for: 1.2.3.4",
		"X Bad: v",
		"no-colon",
	};
	char *login = signed_in();
	struct proc p;
	cJSON *log;
	int n;

	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "sso", "--header", "X-Request-Id: abc 123",
		      "--header", "X-Other:v");
	proc_free(&p);
	log = fake_get(&f, "/__control/log");
	assert_string_equal(last_header(log, "X-Request-Id"), "abc 123");
	assert_string_equal(last_header(log, "X-Other"), "v");
	assert_string_equal(last_header(log, "Content-Type"), "application/json");
	cJSON_Delete(log);
	n = log_length(&f);
	for (size_t i = 0; i < A0_ARRAY_SIZE(refused); i++) {
		HELPER(&p, NULL, "sso", "--header", refused[i]);
		cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
		proc_free(&p);
	}
	HELPER(&p, NULL, "get", "--header", "X-A: 1");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	assert_int_equal(log_length(&f), n);
	free(login);
}

/* A session transfer for a caller's refresh token (stdin): printed, nothing stored. */
static void sso_exchange_ok(const char *rt, const char *const *args)
{
	char *rotated;
	struct proc p;
	cJSON *o;

	helper(&p, rt, args);
	expect_ok(&p);
	o = cJSON_Parse(p.stdout_text);
	assert_non_null(o);
	assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(o, "session_transfer_token"))) >
		    10);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "token_type")), "N_A");
	/* The rotated refresh token is the caller's to keep: printed, as nothing stores it. */
	rotated = cJSON_GetStringValue(cJSON_GetObjectItem(o, "refresh_token"));
	assert_non_null(rotated);
	assert_string_not_equal(rotated, rt);
	assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(o, "id_token")));
	cJSON_Delete(o);
	proc_free(&p);
}

static void test_sso_exchange_stores_nothing(void **state)
{
	char *login = signed_in(), *other = fake_login(&f, "pam-native", NULL, "a0alice", SCOPE);
	char *rt = json_member(other, "refresh_token"), *before, *after, audience[96], domain[64];
	size_t before_len, after_len;
	struct proc p;
	cJSON *log;

	before = record_payload("main", &before_len);
	assert_non_null(before);
	sso_exchange_ok(rt, (const char *const[]){ "sso-exchange", NULL });
	log = fake_get(&f, "/__control/log");
	snprintf(audience, sizeof(audience), "urn:localhost:%d:session_transfer", f.port);
	assert_string_equal(last_token_request(log, "audience"), audience);
	cJSON_Delete(log);
	/* The keyring is as it was, byte for byte, and holds no session transfer record. */
	after = record_payload("main", &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	assert_null(record_payload("sso", &after_len));
	free(after);
	/* Reused, the caller's token is refused: it was really sent, and rotated. */
	HELPER(&p, rt, "sso-exchange");
	cJSON_Delete(expect_error(&p, SSO_EXCHANGE_FAILED));
	proc_free(&p);
	/* The tenant from the options, with nothing stored. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "clear");
	proc_free(&p);
	free(rt);
	free(other);
	other = fake_login(&f, "pam-native", NULL, "a0alice", SCOPE);
	rt = json_member(other, "refresh_token");
	HELPER(&p, rt, "sso-exchange");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	sso_exchange_ok(rt,
			(const char *const[]){ "sso-exchange", "--domain", domain, "--client-id",
					       "pam-native", "--ca-file", f.ca, NULL });
	assert_null(record_payload("main", &after_len));
	/* Not a token, or none: refused before anything is sent. */
	HELPER(&p, "", "sso-exchange", "--domain", domain, "--client-id", "pam-native");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	HELPER(&p, "two words", "sso-exchange", "--domain", domain, "--client-id", "pam-native");
	cJSON_Delete(expect_error(&p, INVALID_ARGUMENT));
	proc_free(&p);
	free(before);
	free(rt);
	free(other);
	free(login);
}

static void test_revoke_then_cleared(void **state)
{
	char *login = signed_in();
	struct proc p;

	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API);
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "revoke");
	expect_ok(&p);
	proc_free(&p);
	assert_int_equal(fake_count(&f, "/oauth/revoke", NULL), 1);
	assert_int_equal(fake_stat(&f, "revoked_families"), 1);
	assert_null(record_payload("main", &(size_t){ 0 }));
	assert_helper(&p, AUTH0_CREDENTIALS_NOT_VALID, NULL, "has-valid");
	proc_free(&p);
	HELPER(&p, NULL, "api", "get", API);
	cJSON_Delete(expect_error(&p, NO_CREDENTIALS));
	proc_free(&p);
	free(login);

	/* Nothing to revoke with. */
	save_login(&f, "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":60}",
		   "pam-native", f.port);
	HELPER(&p, NULL, "revoke");
	cJSON_Delete(expect_error(&p, NO_REFRESH_TOKEN));
	proc_free(&p);
}

static void test_revoke_failure_keeps_record(void **state)
{
	char *login, *before, *after;
	size_t before_len, after_len;
	struct proc p;

	login = fake_login(&f, "pam-native", NULL, "a0alice", SCOPE);
	save_login(&f, login, "pam-native", f.port_closed);
	before = record_payload("main", &before_len);
	HELPER(&p, NULL, "revoke");
	cJSON_Delete(expect_error(&p, NO_NETWORK));
	proc_free(&p);
	after = record_payload("main", &after_len);
	assert_non_null(after);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(login);
	free(before);
	free(after);
}

static void test_clear_and_api_clear(void **state)
{
	char *login = signed_in();
	struct proc p;

	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--scope", "openid");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--scope", "openid");
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 1);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "clear", API, "--scope", "openid");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API, "--scope", "openid");
	proc_free(&p);
	assert_int_equal(refresh_count(&f, 0), 2);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "clear");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_NOT_VALID, NULL, "has-valid");
	proc_free(&p);
	HELPER(&p, NULL, "get");
	cJSON_Delete(expect_error(&p, NO_CREDENTIALS));
	proc_free(&p);
	free(login);
}

/* The session's main record key. */
static key_serial_t main_key(void)
{
	key_serial_t key = keyctl_search(KEY_SPEC_SESSION_KEYRING, "big_key", "pam_auth0:main", 0);

	if (key < 0)
		key = keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", "pam_auth0:main", 0);
	assert_true(key > 0);
	return key;
}

/*
 * A record whose key another uid owns (one that uid put into a session keyring it can write,
 * e.g. a command run through stock sudo in this session) is not used: NO_CREDENTIALS, even
 * when its permissions would let this user read it.
 */
static void test_record_of_another_uid_is_not_used(void **state)
{
	char *login = signed_in();
	key_serial_t key = main_key();
	int requests;
	char buf[16];
	struct proc p;

	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "has-valid");
	proc_free(&p);
	/* Readable by anyone, then given to another uid: only the owner check stands. */
	assert_int_equal(keyctl_setperm(key, KEY_POS_ALL | KEY_USR_ALL | KEY_GRP_ALL | KEY_OTH_ALL),
			 0);
	assert_int_equal(keyctl_chown(key, 65534, (gid_t)-1), 0);
	assert_true(keyctl_read(key, buf, sizeof(buf)) > 0);
	requests = log_length(&f);
	HELPER(&p, NULL, "get");
	cJSON_Delete(expect_error(&p, NO_CREDENTIALS));
	proc_free(&p);
	HELPER(&p, NULL, "get", "--force-refresh");
	cJSON_Delete(expect_error(&p, NO_CREDENTIALS));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_NOT_VALID, NULL, "has-valid");
	proc_free(&p);
	assert_int_equal(log_length(&f), requests); /* its refresh token was not used either */
	free(login);
}

/* The expiry column of /proc/keys for our record (e.g. "perm", "23h"), "" when none. */
static void key_expiry(const char *name, char *out, size_t size)
{
	static const char *const types[] = { "big_key", "user" };
	char line[1024], desc[512], id[16];
	key_serial_t key = -1;
	FILE *fp;

	out[0] = '\0';
	snprintf(desc, sizeof(desc), "pam_auth0:%s", name);
	for (size_t i = 0; i < 2 && key < 0; i++)
		key = keyctl_search(KEY_SPEC_SESSION_KEYRING, types[i], desc, 0);
	assert_true(key > 0);
	/* Other tests' keys are in /proc/keys too: ours by serial. */
	snprintf(id, sizeof(id), "%08x ", (unsigned)key);
	fp = fopen("/proc/keys", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		char serial[32], flags[32], usage[32], expiry[32];

		if (strncmp(line, id, strlen(id)) != 0)
			continue;
		assert_int_equal(sscanf(line, "%31s %31s %31s %31s", serial, flags, usage, expiry),
				 4);
		snprintf(out, size, "%s", expiry);
	}
	fclose(fp);
}

static void test_record_timeouts(void **state)
{
	char *login = signed_in(), expiry[32];
	struct proc p;

	/* A saved refresh token of unknown lifetime: the record lives with the keyring. */
	key_expiry("main", expiry, sizeof(expiry));
	assert_string_equal(expiry, "perm");
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--force-refresh");
	proc_free(&p);
	key_expiry("main", expiry, sizeof(expiry));
	assert_string_equal(expiry, "perm");
	/* An API's record ends with its access token, as the module's records do. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "api", "get", API);
	proc_free(&p);
	key_expiry("api:" API, expiry, sizeof(expiry));
	assert_true(strcmp(expiry, "1d") == 0 || strcmp(expiry, "23h") == 0);
	free(login);
}

/* ------------------------------------------------------------------ the manual */

/* The manual as a string (free it); srcdir is the test harness's. */
static char *manual(void)
{
	const char *srcdir = getenv("srcdir");
	char path[4096], *text;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/man/auth0-credentials.1", srcdir ? srcdir : ".");
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return text;
}

/*
 * Auth0 keeps at most 200 active refresh tokens per user and application and revokes the
 * oldest: the manual says so where refresh is described, with what it means for a long-lived
 * session, and cites nothing outside the project.
 */
static void test_manual_warns_of_the_200_refresh_token_limit(void **state)
{
	char *text = manual();
	const char *rotation = strstr(text, ".SH REFRESH, ROTATION AND LOCKING");
	const char *next = rotation ? strstr(rotation + 1, "\n.SH ") : NULL;
	const char *limit = rotation ? strstr(rotation, "200 active") : NULL;

	assert_non_null(rotation);
	assert_non_null(limit);
	assert_true(!next || limit < next);
	assert_non_null(strstr(rotation, "revokes the oldest"));
	assert_non_null(strstr(rotation, "long-lived session"));
	assert_null(strstr(text, "../shared"));
	free(text);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup(t, setup)
	const struct CMUnitTest tests[] = {
		T(test_help_per_verb),
		T(test_errors_are_one_json_object_with_a_code),
		T(test_format_json),
		T(test_format_token_and_header),
		T(test_format_env_as_a_shell_reads_it),
		T(test_format_never_prints_the_refresh_token),
		T(test_format_without_id_token_and_scope),
		T(test_save_refuses_what_is_not_a_token_response),
		T(test_has_valid),
		T(test_get_refreshes_only_when_needed),
		T(test_large_min_ttl_keeps_rotated_token),
		T(test_min_ttl_over_a_year_refreshes_then_large_min_ttl),
		T(test_param_values_are_encoded_not_interpreted),
		T(test_fault_network_leaves_record_intact),
		T(test_fault_server_errors_leave_record_intact),
		T(test_fault_bad_answers_leave_record_intact),
		T(test_fault_refusals_leave_record_intact),
		T(test_rate_limit_once_then_success),
		T(test_confidential_client_is_refused_clearly),
		T(test_50_processes_get_one_refresh),
		T(test_50_processes_api_get_one_exchange),
		T(test_kill_9_mid_refresh_never_loses_the_session),
		T(test_refresh_keeps_tokens_out_of_environ_and_argv),
		T(test_sso),
		T(test_sso_headers),
		T(test_sso_exchange_stores_nothing),
		T(test_revoke_then_cleared),
		T(test_revoke_failure_keeps_record),
		T(test_clear_and_api_clear),
		T(test_record_timeouts),
		T(test_record_of_another_uid_is_not_used),
		T(test_manual_warns_of_the_200_refresh_token_limit),
	};

	helper_test_init(&f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
