/* SPDX-License-Identifier: MIT */
/*
 * The module in a real PAM stack (pam_wrapper + libpamtest) against the fake tenant: password,
 * every MFA branch, and how each fault ends a login, an account database that fails included
 * (nss_wrapper). Run under tests/with-fake-tenant.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_test"
#define SERVICE_AUTH_ONLY "pam_auth0_test_auth_only" /* scope without offline_access */
#define MAX_MSGS 16
#define TIMEOUT 2 /* seconds per request in the tests' configuration */

static struct fake fake;
static char run_dir[64];

/* Messages the module showed during one run_pamtest. */
struct messages {
	char *info[MAX_MSGS + 1];
	char *err[MAX_MSGS + 1];
};

static void messages_init(struct messages *m)
{
	for (int i = 0; i < MAX_MSGS; i++) {
		m->info[i] = calloc(1, PAM_MAX_MSG_SIZE);
		m->err[i] = calloc(1, PAM_MAX_MSG_SIZE);
	}
}

static void messages_free(struct messages *m)
{
	for (int i = 0; i < MAX_MSGS; i++) {
		free(m->info[i]);
		free(m->err[i]);
	}
}

static bool shown(char *const *list, const char *text)
{
	for (int i = 0; i < MAX_MSGS && list[i]; i++)
		if (strstr(list[i], text))
			return true;
	return false;
}

/* The configuration every test starts from, plus extra lines. */
static void configure(const char *extra)
{
	write_module_conf(run_dir, &fake, TIMEOUT, "mfa_poll_interval = 1\nmfa_timeout = 8\n",
			  extra);
}

static int reset(void **state)
{
	char cmd[128];

	fake_control(&fake, "POST", "/__control/reset", "{}");
	configure(NULL);
	/* The guard's failure counts (lib/guard.h) are per test too. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/run'", run_dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("PAM_RHOST");
	unsetenv("PAM_AUTHTOK");
	unsetenv("PAM_TTY");
	return 0;
}

/*
 * One authentication as user, answering echo-off prompts with off[] and echo-on prompts with
 * on[]; returns the PAM result and fills the messages.
 */
static int authenticate_with(const char *service, const char *user, const char **off,
			     const char **on, struct messages *m)
{
	static const char *none[] = { NULL };
	/* libpamtest dereferences a missing answer list: give it an empty one. */
	struct pamtest_conv_data conv = { .in_echo_off = off ? off : none,
					  .in_echo_on = on ? on : none,
					  .out_info = m->info,
					  .out_err = m->err };
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	enum pamtest_err perr;

	perr = run_pamtest(service, user, &conv, tests, NULL);
	assert_pamtest_ran(perr);
	return tests[0].op_rv;
}

static int authenticate(const char *user, const char **off, const char **on, struct messages *m)
{
	return authenticate_with(SERVICE, user, off, on, m);
}

static int login(const char *user, const char *password, const char **on, struct messages *m)
{
	const char *off[] = { password, NULL };

	return authenticate(user, off, on, m);
}

static int simple_login(const char *user, const char *password)
{
	struct messages m;
	int r;

	messages_init(&m);
	r = login(user, password, NULL, &m);
	messages_free(&m);
	return r;
}

/* A login fetches the JWKS once per jwks_ttl: fetch it before the tests, so that each test's
 * request log holds only its own login. */
static int warm_jwks_cache(void **state)
{
	reset(state);
	return simple_login("a0alice", "Secret-a0alice-1") == PAM_SUCCESS ? 0 : -1;
}

static void code_now(const char *secret, char out[7])
{
	totp(secret, (long long)time(NULL), out);
}

/* ---- password ---- */

static void test_right_password(void **state)
{
	cJSON *log, *rec;

	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	log = fake_get(&fake, "/__control/log");
	assert_int_equal(cJSON_GetArraySize(log), 1);
	rec = cJSON_GetArrayItem(log, 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "grant_type")),
			    "http://auth0.com/oauth/grant-type/password-realm");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "username")), "a0alice");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "realm")),
			    "Username-Password-Authentication");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "scope")),
			    "openid profile email offline_access");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "auth0_forwarded_for")) ||
		    !cJSON_GetObjectItem(rec, "auth0_forwarded_for"));
	cJSON_Delete(log);
}

/*
 * A service that only authenticates (a screen locker, sudo) keeps no session to hold a refresh
 * token, and every unused one counts against Auth0's 200 per user and application until it
 * expires: pam_auth0(8) says to drop offline_access there, with a bracketed module argument.
 * libpam hands "scope=openid profile email" over as one argument; the grant asks for that scope
 * and the tenant issues no refresh token.
 */
static void test_scope_as_module_argument(void **state)
{
	const char *off[] = { "Secret-a0alice-1", NULL };
	struct messages m;
	cJSON *log, *rec;

	messages_init(&m);
	assert_pam(authenticate_with(SERVICE_AUTH_ONLY, "a0alice", off, NULL, &m), PAM_SUCCESS);
	messages_free(&m);
	log = fake_get(&fake, "/__control/log");
	assert_int_equal(cJSON_GetArraySize(log), 1);
	rec = cJSON_GetArrayItem(log, 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "scope")),
			    "openid profile email");
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "status")), 200);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "rt_family")));
	cJSON_Delete(log);
}

static void test_wrong_password(void **state)
{
	assert_pam(simple_login("a0alice", "wrong"), PAM_AUTH_ERR);
}

/*
 * The local guard: past three failed passwords for a user from one address, the module refuses
 * further attempts for a while without asking Auth0, so a scanner cannot burn the user's
 * brute-force budget at Auth0 (ten failures block the user from this host's address with a
 * public client). Other addresses, and other users, are not held back; a success clears it.
 */
static void test_guard_holds_back_guessing(void **state)
{
	struct messages m;

	setenv("PAM_RHOST", "203.0.113.7", 1);
	for (int i = 0; i < 3; i++)
		assert_pam(simple_login("a0alice", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 3);
	/* The fourth failure is Auth0's verdict too; from then on it waits. */
	assert_pam(simple_login("a0alice", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 4);
	for (int i = 0; i < 8; i++) {
		messages_init(&m);
		assert_pam(login("a0alice", i == 7 ? "Secret-a0alice-1" : "wrong", NULL, &m),
			   PAM_MAXTRIES);
		if (!shown(m.err, "Too many failed sign-ins"))
			fail_msg("no message about the wait");
		messages_free(&m);
	}
	/* None of those reached Auth0, not even the right password. */
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 4);
	/* Another address and another user are not held back. */
	setenv("PAM_RHOST", "198.51.100.1", 1);
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	setenv("PAM_RHOST", "203.0.113.7", 1);
	assert_pam(simple_login("a0bob", "Secret-a0bob-1"), PAM_SUCCESS);
	/* fail_delay_max = 0 turns the guard off (it keeps no state either). */
	configure("fail_delay_max = 0");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	/* A success clears the count: after 3 failures and a success, 3 more are Auth0's too. */
	configure(NULL);
	setenv("PAM_RHOST", "192.0.2.9", 1);
	for (int i = 0; i < 7; i++)
		assert_pam(simple_login("a0bob", i == 3 ? "Secret-a0bob-1" : "wrong"),
			   i == 3 ? PAM_SUCCESS : PAM_AUTH_ERR);
}

static void test_unknown_user(void **state)
{
	assert_pam(simple_login("a0nobody", "Secret-a0nobody-1"), PAM_AUTH_ERR);
}

static void test_username_template_and_audience(void **state)
{
	cJSON *log;

	/* Auth0 finds a database user by email too: the template decides what is sent. */
	configure("username = %u@example.com\naudience = https://api.example.com/");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	log = fake_get(&fake, "/__control/log");
	assert_string_equal(cJSON_GetStringValue(
				    cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "audience")),
			    "https://api.example.com/");
	cJSON_Delete(log);
	configure("username = %u@elsewhere.example");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_AUTH_ERR);
}

static void test_blocked_user(void **state)
{
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0blocked", "Secret-a0blocked-1", NULL, &m), PAM_PERM_DENIED);
	assert_true(shown(m.err, "Your account is blocked"));
	messages_free(&m);
}

static void test_too_many_attempts(void **state)
{
	struct messages m;

	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0alice\",\"brute_force\":true}");
	messages_init(&m);
	assert_pam(login("a0alice", "Secret-a0alice-1", NULL, &m), PAM_MAXTRIES);
	assert_true(shown(m.err, "locked after too many failed sign-ins"));
	messages_free(&m);
}

static void test_empty_password_not_sent(void **state)
{
	assert_pam(simple_login("a0alice", ""), PAM_AUTH_ERR);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
}

static void test_bad_user_names(void **state)
{
	char long_name[10 * 1024];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_pam(simple_login("a0alice\nroot", "Secret-a0alice-1"), PAM_USER_UNKNOWN);
	/* A blank could forge fields in the "user=%s step=..." log lines. */
	assert_pam(simple_login("x result=OK", "Secret-a0alice-1"), PAM_USER_UNKNOWN);
	assert_pam(simple_login(long_name, "x"), PAM_USER_UNKNOWN);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
	/* Characters that mean something in a form body are data in JSON. */
	assert_pam(simple_login("a0alice&realm=x", "Secret-a0alice-1"), PAM_AUTH_ERR);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 1);
}

/* Characters that mean something in forms, format strings and paths are plain data. */
static void test_user_names_are_data(void **state)
{
	static const char *const names[] = {
		"a0alice=x",  "user=a0alice",        "a0%alice", "%s%n%x%u", "a0alice%",
		"a0alice/..", "../../../etc/passwd", "/a0alice",
	};
	struct messages m;
	cJSON *log;

	configure("username = %u@example.com");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char sent[64];
		const char *got;

		fake_control(&fake, "POST", "/__control/reset", "{}");
		messages_init(&m);
		assert_pam(login(names[i], "Secret-a0alice-1", NULL, &m), PAM_AUTH_ERR);
		messages_free(&m);
		/* Sent once, verbatim: no second expansion of %, no form or path meaning. */
		log = fake_get(&fake, "/__control/log");
		assert_int_equal(cJSON_GetArraySize(log), 1);
		got = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "username"));
		snprintf(sent, sizeof(sent), "%s@example.com", names[i]);
		if (!got || strcmp(got, sent) != 0)
			fail_msg("user '%s' was sent as '%s'", names[i], got ? got : "(nothing)");
		cJSON_Delete(log);
	}
}

/*
 * An application's conversation function that follows a script: each prompt takes the next
 * step; messages are kept like libpamtest's. A prompt past the script fails the conversation.
 */
enum step { ANSWER, ANSWER_NULL, NO_RESPONSES, CONV_FAILS, KILL_CHILDREN };
struct conv_step {
	enum step step;
	const char *text; /* ANSWER */
};
struct script {
	const struct conv_step *steps;
	size_t n, next;
	struct messages *m;
	int n_info, n_err;
	int killed; /* KILL_CHILDREN */
};

/* This process's children (pids into out, at most max), found in /proc; how many there are. */
static int children(pid_t *out, int max)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	int n = 0;

	assert_non_null(proc);
	while ((d = readdir(proc))) {
		char path[300], stat[512], *close_paren;
		int ppid = -1;
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* "pid (comm) state ppid ...": comm may hold blanks and parentheses. */
		if (fgets(stat, sizeof(stat), f) && (close_paren = strrchr(stat, ')')) &&
		    sscanf(close_paren + 1, " %*c %d", &ppid) == 1 && ppid == getpid()) {
			if (n < max)
				out[n] = (pid_t)strtol(d->d_name, NULL, 10);
			n++;
		}
		fclose(f);
	}
	closedir(proc);
	return n;
}

static int scripted_conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
			 void *data)
{
	struct script *s = data;
	struct pam_response *r = calloc((size_t)num_msg, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		const struct conv_step fails = { CONV_FAILS, NULL }, *st;

		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
			if (s->n_err < MAX_MSGS)
				snprintf(s->m->err[s->n_err++], PAM_MAX_MSG_SIZE, "%s",
					 msg[i]->msg);
			continue;
		case PAM_TEXT_INFO:
			if (s->n_info < MAX_MSGS)
				snprintf(s->m->info[s->n_info++], PAM_MAX_MSG_SIZE, "%s",
					 msg[i]->msg);
			continue;
		}
		st = s->next < s->n ? &s->steps[s->next] : &fails;
		s->next++;
		if (st->step == KILL_CHILDREN) { /* then answer */
			pid_t pids[8];
			int n = children(pids, 8);

			for (int j = 0; j < n && j < 8; j++)
				s->killed += kill(pids[j], SIGKILL) == 0;
		}
		if (st->step == ANSWER || st->step == KILL_CHILDREN) {
			r[i].resp = strdup(st->text);
			continue;
		}
		if (st->step == ANSWER_NULL)
			continue;
		for (int j = 0; j < i; j++)
			free(r[j].resp);
		free(r);
		if (st->step == NO_RESPONSES) { /* "success", but no answers at all */
			*resp = NULL;
			return PAM_SUCCESS;
		}
		return PAM_CONV_ERR;
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int killed_by_script;

/* One authentication through the script; returns the PAM result and how many prompts came. */
static int converse(const char *user, const struct conv_step *steps, size_t n, size_t *prompts)
{
	struct messages m;
	struct script s = { .steps = steps, .n = n, .m = &m };
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	enum pamtest_err perr;

	messages_init(&m);
	/* libpamtest 1.1.4's run_pamtest_conv macro lacks a parenthesis: call what it wraps. */
	perr = _pamtest_conv(SERVICE, user, scripted_conv, &s, tests,
			     sizeof(tests) / sizeof(tests[0]), NULL);
	messages_free(&m);
	assert_pamtest_ran(perr);
	*prompts = s.next;
	killed_by_script = s.killed;
	return tests[0].op_rv;
}

#define CONVERSE(user, prompts, ...)                                                           \
	converse(user, (const struct conv_step[]){ __VA_ARGS__ },                              \
		 sizeof((const struct conv_step[]){ __VA_ARGS__ }) / sizeof(struct conv_step), \
		 prompts)
#define SAY(text)            \
	{                    \
		ANSWER, text \
	}
#define SAY_NULL                  \
	{                         \
		ANSWER_NULL, NULL \
	}
#define NO_REPLIES                 \
	{                          \
		NO_RESPONSES, NULL \
	}
#define FAILS                    \
	{                        \
		CONV_FAILS, NULL \
	}
#define KILL_CHILDREN_THEN_SAY(text) \
	{                            \
		KILL_CHILDREN, text  \
	}

/* A broken or empty answer to the password prompt ends the login before any request. */
static void test_conv_password_broken(void **state)
{
	char big[10 * 1024];
	size_t prompts;

	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_pam(CONVERSE("a0alice", &prompts, FAILS), PAM_CONV_ERR);
	assert_int_equal(prompts, 1);
	assert_pam(CONVERSE("a0alice", &prompts, SAY_NULL), PAM_CONV_ERR);
	assert_int_equal(prompts, 1);
	assert_pam(CONVERSE("a0alice", &prompts, NO_REPLIES), PAM_CONV_ERR);
	assert_int_equal(prompts, 1);
	assert_pam(CONVERSE("a0alice", &prompts, SAY("")), PAM_AUTH_ERR);
	assert_pam(CONVERSE("a0alice", &prompts, SAY(big)), PAM_AUTH_ERR);
	assert_int_equal(prompts, 1);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
}

/* The same for the MFA prompts: a refusal, no code sent, and no asking a dead conversation. */
static void test_conv_mfa_broken(void **state)
{
	size_t prompts;

	assert_pam(CONVERSE("a0otp", &prompts, SAY("Secret-a0otp-1"), FAILS), PAM_AUTH_ERR);
	assert_int_equal(prompts, 2);
	assert_pam(CONVERSE("a0otp", &prompts, SAY("Secret-a0otp-1"), SAY_NULL), PAM_AUTH_ERR);
	assert_int_equal(prompts, 2);
	assert_pam(CONVERSE("a0otp", &prompts, SAY("Secret-a0otp-1"), NO_REPLIES), PAM_AUTH_ERR);
	assert_int_equal(prompts, 2);
	/* Empty codes count as wrong ones and are never sent. */
	assert_pam(CONVERSE("a0otp", &prompts, SAY("Secret-a0otp-1"), SAY(""), SAY(""), SAY("")),
		   PAM_AUTH_ERR);
	assert_int_equal(prompts, 4);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 0);
	/* The method menu (echo on), and an SMS code. */
	assert_pam(CONVERSE("a0multi", &prompts, SAY("Secret-a0multi-1"), SAY_NULL), PAM_AUTH_ERR);
	assert_int_equal(prompts, 2);
	assert_pam(CONVERSE("a0multi", &prompts, SAY("Secret-a0multi-1"), SAY(""), FAILS),
		   PAM_AUTH_ERR);
	assert_int_equal(prompts, 3);
	assert_pam(CONVERSE("a0sms", &prompts, SAY("Secret-a0sms-1"), FAILS), PAM_AUTH_ERR);
	assert_int_equal(prompts, 2);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-oob"),
			 0);
}

static void test_bad_config_fails_closed(void **state)
{
	struct messages m;

	configure("colour = blue");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SERVICE_ERR);
	configure("timeout = 0");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SERVICE_ERR);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
	/* An application the tenant does not allow this grant for is a setup error too. */
	configure("client_id = no-mfa-grants");
	messages_init(&m);
	const char *on[] = { "123456", NULL };
	assert_pam(login("a0otp", "Secret-a0otp-1", on, &m), PAM_SERVICE_ERR);
	assert_true(shown(m.err, "not set up for this host"));
	messages_free(&m);
}

static void test_use_first_pass(void **state)
{
	const char *none[] = { NULL };
	struct messages m;

	/* pam_set_items puts PAM_AUTHTOK on the stack as an earlier module would. */
	setenv("PAM_AUTHTOK", "Secret-a0alice-1", 1);
	configure("use_first_pass = yes");
	messages_init(&m);
	assert_pam(authenticate("a0alice", none, none, &m), PAM_SUCCESS);
	/* A wrong stacked password is a failed login; it is not asked again. */
	setenv("PAM_AUTHTOK", "wrong", 1);
	assert_pam(authenticate("a0alice", none, none, &m), PAM_AUTH_ERR);
	unsetenv("PAM_AUTHTOK");
	/* use_first_pass without a stacked password never prompts. */
	assert_pam(authenticate("a0alice", none, none, &m), PAM_AUTH_ERR);
	configure("try_first_pass = yes");
	const char *pw[] = { "Secret-a0alice-1", NULL };
	assert_pam(authenticate("a0alice", pw, none, &m), PAM_SUCCESS);
	messages_free(&m);
}

static void test_forwarded_for_confidential_only(void **state)
{
	char secret[128], extra[512];
	cJSON *log;

	snprintf(secret, sizeof(secret), "%s/client_secret", run_dir);
	write_text(secret, "test-client-secret-123\n");
	assert_int_equal(chmod(secret, 0600), 0);
	snprintf(extra, sizeof(extra), "client_id = pam-confidential\nclient_secret_file = %s",
		 secret);
	configure(extra);
	setenv("PAM_RHOST", "203.0.113.7", 1);
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	setenv("PAM_RHOST", "client.example.com", 1); /* not an address: not sent */
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	configure(NULL);
	setenv("PAM_RHOST", "203.0.113.8", 1); /* public client: Auth0 would not trust it */
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);

	log = fake_get(&fake, "/__control/log");
	assert_int_equal(cJSON_GetArraySize(log), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0),
								     "auth0_forwarded_for")),
			    "203.0.113.7");
	assert_null(cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(log, 1), "auth0_forwarded_for")));
	assert_null(cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(log, 2), "auth0_forwarded_for")));
	cJSON_Delete(log);
}

static void test_wrong_client_secret(void **state)
{
	char secret[128], extra[512];

	snprintf(secret, sizeof(secret), "%s/client_secret", run_dir);
	write_text(secret, "not-the-secret\n");
	assert_int_equal(chmod(secret, 0600), 0);
	snprintf(extra, sizeof(extra), "client_id = pam-confidential\nclient_secret_file = %s",
		 secret);
	configure(extra);
	assert_int_not_equal(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
}

static void test_proxy_environment_ignored(void **state)
{
	/* sudo runs PAM with the invoking user's environment. */
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	setenv("CURL_CA_BUNDLE", "/nonexistent.pem", 1);
	setenv("SSL_CERT_FILE", "/nonexistent.pem", 1);
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_SUCCESS);
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("CURL_CA_BUNDLE");
	unsetenv("SSL_CERT_FILE");
}

/* ---- faults: each ends in a defined result within the timeout ---- */

/* The known-offline state (lib/outage.h) under the tests' state_dir. */
static void offline_path(char *path, size_t size)
{
	snprintf(path, size, "%s/run/offline", run_dir);
}

static bool known_offline(void)
{
	char path[128];
	struct stat st;

	offline_path(path, sizeof(path));
	return lstat(path, &st) == 0;
}

static void forget_offline(void)
{
	char path[128];

	offline_path(path, sizeof(path));
	(void)unlink(path);
}

/* The login ends PAM_AUTHINFO_UNAVAIL with message within timeout seconds per request. */
static void expect_unavailable_within(int timeout, const char *fault_json, const char *message)
{
	struct messages m;
	double start;

	if (fault_json)
		fake_control(&fake, "POST", "/__control/fault", fault_json);
	messages_init(&m);
	start = now_seconds();
	assert_pam(login("a0alice", "Secret-a0alice-1", NULL, &m), PAM_AUTHINFO_UNAVAIL);
	assert_true(now_seconds() - start < timeout + 1.5);
	if (!shown(m.err, message))
		fail_msg("expected message '%s'", message);
	messages_free(&m);
	fake_control(&fake, "DELETE", "/__control/fault", NULL);
	/* Each fault on its own: not the known-offline fast path of the one before. */
	forget_offline();
}

static void expect_unavailable(const char *fault_json, const char *message)
{
	expect_unavailable_within(TIMEOUT, fault_json, message);
}

static void test_fault_unreachable(void **state)
{
	char extra[64];

	snprintf(extra, sizeof(extra), "domain = localhost:%d", fake.port_closed);
	configure(extra);
	expect_unavailable(NULL, "cannot be reached");
}

static void test_fault_slow_and_silent(void **state)
{
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"delay\",\"seconds\":6}",
			   "did not answer in time");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"silence\",\"seconds\":6}",
			   "did not answer in time");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"slow_body\",\"interval\":1}",
			   "did not answer in time");
}

static void test_fault_server_errors(void **state)
{
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":500}",
			   "unavailable");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":502,"
			   "\"body\":\"<html>Bad Gateway</html>\"}",
			   "unavailable");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":503}",
			   "unavailable");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"drop\"}", "cannot be reached");
}

static void test_fault_bad_bodies(void **state)
{
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"garbage\"}", "unavailable");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"truncated\"}", "");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"huge\"}", "unavailable");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"wrong_content_type\"}",
			   "unavailable");
}

static void test_fault_rate_limit(void **state)
{
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\",\"retry_after\":30}",
			   "Too many sign-ins");
	expect_unavailable("{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\"}", "Too many");
}

static void test_fault_tls(void **state)
{
	char extra[128];
	const int ports[] = { fake.port_other_ca, fake.port_wrong_host, fake.port_expired };

	for (size_t i = 0; i < 3; i++) {
		snprintf(extra, sizeof(extra), "domain = localhost:%d", ports[i]);
		configure(extra);
		expect_unavailable(NULL, "cannot be reached");
	}
	/* The system store does not know the test CA. Reading the system's whole bundle takes
	 * the process that talks to Auth0 seconds under valgrind: a longer timeout, so that this
	 * tells a refused certificate from a slow one. */
	char path[128], text[512];
	snprintf(path, sizeof(path), "%s/pam_auth0.conf", run_dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = pam-native\ntimeout = 10\n"
		 "cache_dir = %s/cache\nstate_dir = %s/run\nrequire_local_account = no\n",
		 fake.port, run_dir, run_dir);
	write_text(path, text);
	expect_unavailable_within(10, NULL, "cannot be reached");
}

/* ---- when Auth0 cannot be reached (lib/outage.h, pam_auth0(8)) ---- */

/* One login as a0alice with the right password, its stderr (syslog lines) in log. */
/*
 * Is want a whole line of the module's log (after pam_wrapper's "SYSLOG(N): " prefix), or with
 * prefix only the start of one?
 */
static bool logged_line(const char *log, const char *want, bool prefix)
{
	size_t n = strlen(want);

	for (const char *p = strstr(log, want); p; p = strstr(p + 1, want))
		if (p - log >= 2 && p[-2] == ':' && p[-1] == ' ' &&
		    (prefix || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static int login_logged(const char *password, struct messages *m, char *log, size_t size)
{
	struct capture c;
	int r;

	setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1); /* every priority on stderr */
	capture_start(&c, run_dir);
	r = login("a0alice", password, NULL, m);
	capture_stop(&c, log, size);
	unsetenv("PAM_WRAPPER_DEBUGLEVEL");
	return r;
}

/*
 * The tenant does not answer: the first login waits for the timeout and marks the host
 * offline; the next 20 go straight to the offline policy (deny): PAM_AUTHINFO_UNAVAIL at once,
 * the plain message, a log line with its message id, and no request at the tenant.
 */
static void test_offline_fast_path(void **state)
{
	char log[8192];
	struct messages m;
	double start, first, twenty;
	int seen;

	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/oauth/token\",\"kind\":\"delay\",\"seconds\":6,\"count\":-1}");
	assert_false(known_offline());
	messages_init(&m);
	start = now_seconds();
	assert_pam(login_logged("Secret-a0alice-1", &m, log, sizeof(log)), PAM_AUTHINFO_UNAVAIL);
	first = now_seconds() - start;
	messages_free(&m);
	assert_true(first >= TIMEOUT - 0.5 && first < TIMEOUT + 1.5);
	if (!strstr(log, "msgid=offline-marked outcome=event user=a0alice service=" SERVICE
			 " rhost=- step=offline error=- result=TIMEOUT description=\""))
		fail_msg("no line marking the host offline: %s", log);
	assert_true(known_offline());
	seen = fake_count(&fake, "/oauth/token", NULL);
	assert_int_equal(seen, 1);

	start = now_seconds();
	for (int i = 0; i < 20; i++) {
		messages_init(&m);
		assert_pam(login_logged("Secret-a0alice-1", &m, log, sizeof(log)),
			   PAM_AUTHINFO_UNAVAIL);
		if (!shown(m.err, "The sign-in service cannot be reached."))
			fail_msg("login %d: no message for the user", i);
		messages_free(&m);
		if (!strstr(log,
			    "msgid=offline-denied outcome=unavailable user=a0alice service=" SERVICE
			    " rhost=- step=offline error=- result=OFFLINE description=\"the "
			    "sign-in service is known to be unreachable"))
			fail_msg("login %d: no offline line: %s", i, log);
	}
	twenty = now_seconds() - start;
	print_message("offline: first login %.3f s, 20 known-offline logins %.3f s\n", first,
		      twenty);
	/* Together less than one network timeout, with room for a slow (sanitizer) build. */
	assert_true(twenty < TIMEOUT + 2);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), seen);
}

/*
 * Past the next-check time one login asks again (the probe): while the tenant still fails the
 * backoff grows, and once it answers logins work and the state is gone.
 */
static void test_offline_probe_and_recovery(void **state)
{
	char log[8192];
	struct messages m;

	/* Seconds, not one: a login under valgrind takes more than a second, and the next check
	 * must not pass between two logins that expect the fast path. */
	configure("offline_backoff_min = 3\noffline_backoff_max = 6");
	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":503,\"count\":-1}");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_AUTHINFO_UNAVAIL);
	assert_true(known_offline());
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 1);
	/* Past the next check: one login probes, fails, and the backoff doubles (to 6 s). */
	sleep(4);
	messages_init(&m);
	assert_pam(login_logged("Secret-a0alice-1", &m, log, sizeof(log)), PAM_AUTHINFO_UNAVAIL);
	messages_free(&m);
	if (!strstr(log, "msgid=offline-probe outcome=event user=a0alice"))
		fail_msg("no probe line: %s", log);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 2);
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 2);
	/* The tenant is back: not before the next check, then the probe signs in. */
	fake_control(&fake, "DELETE", "/__control/fault", NULL);
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 2);
	sleep(7);
	messages_init(&m);
	assert_pam(login_logged("Secret-a0alice-1", &m, log, sizeof(log)), PAM_SUCCESS);
	messages_free(&m);
	if (!strstr(log, "msgid=online-again outcome=event user=a0alice"))
		fail_msg("no line saying the service is back: %s", log);
	assert_false(known_offline());
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 3);
	assert_pam(simple_login("a0bob", "Secret-a0bob-1"), PAM_SUCCESS);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 4);
}

/* Verdicts on the user are the tenant's answer: never offline. */
static void test_deny_is_not_offline(void **state)
{
	for (int i = 0; i < 3; i++)
		assert_pam(simple_login("a0alice", "wrong"), PAM_AUTH_ERR);
	assert_false(known_offline());
	assert_pam(simple_login("a0blocked", "Secret-a0blocked-1"), PAM_PERM_DENIED);
	assert_false(known_offline());
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0bob\",\"brute_force\":true}");
	assert_pam(simple_login("a0bob", "Secret-a0bob-1"),
		   PAM_MAXTRIES); /* 429 too_many_attempts */
	assert_false(known_offline());
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 5);
	/* And a verdict clears a known outage: the tenant answered. */
	configure("offline_backoff_min = 1");
	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":500}");
	assert_pam(simple_login("a0alice", "Secret-a0alice-1"), PAM_AUTHINFO_UNAVAIL);
	assert_true(known_offline());
	sleep(2);
	assert_pam(simple_login("a0alice", "wrong"), PAM_AUTH_ERR);
	assert_false(known_offline());
}

/* A certificate the host does not trust is a possible interception, never an outage. */
static void test_tls_failure_is_not_offline(void **state)
{
	char extra[64], log[8192];
	struct messages m;

	snprintf(extra, sizeof(extra), "domain = localhost:%d", fake.port_other_ca);
	configure(extra);
	for (int i = 0; i < 2; i++) {
		messages_init(&m);
		assert_pam(login_logged("Secret-a0alice-1", &m, log, sizeof(log)),
			   PAM_AUTHINFO_UNAVAIL);
		messages_free(&m);
		if (!strstr(log, "msgid=tls-intercepted outcome=event user=a0alice service=" SERVICE
				 " rhost=- step=tls error=- result=TLS description=\"possible "
				 "interception: the certificate presented for localhost:"))
			fail_msg("login %d: no interception line: %s", i, log);
		/* The login's outcome: a TLS failure, one line an administrator can alert on. */
		if (!logged_line(log,
				 "msgid=tls-failure outcome=unavailable user=a0alice "
				 "service=" SERVICE " rhost=- step=password-realm error=- "
				 "result=TLS description=\"",
				 true))
			fail_msg("login %d: no tls-failure line: %s", i, log);
		if (strstr(log, "msgid=offline"))
			fail_msg("login %d: a TLS failure counted as offline: %s", i, log);
		assert_false(known_offline());
	}
}

/*
 * Every outcome is one line of key=value fields with a stable message id (pam_auth0(8),
 * LOGGING): the whole line, for a granted login, a wrong password, the account phase's grant
 * and denial, with the service and the remote host.
 */
static void test_outcome_lines(void **state)
{
	const char *none[] = { NULL };
	struct pamtest_conv_data conv = { .in_echo_off = none, .in_echo_on = none };
	struct pam_testcase account[] = { pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED) };
	struct pam_testcase both[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
				       pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };
	const char *off[] = { "Secret-a0alice-1", NULL };
	char log[8192];
	struct messages m;
	struct capture c;

	setenv("PAM_RHOST", "203.0.113.7", 1);
	messages_init(&m);
	assert_pam(login_logged("Secret-a0alice-1", &m, log, sizeof(log)), PAM_SUCCESS);
	messages_free(&m);
	if (!logged_line(log,
			 "msgid=login-granted outcome=granted user=a0alice service=" SERVICE
			 " rhost=203.0.113.7 step=password error=- result=OK "
			 "description=\"signed in with Auth0\"",
			 false))
		fail_msg("no login-granted line: %s", log);

	messages_init(&m);
	assert_pam(login_logged("Wrong-password-1", &m, log, sizeof(log)), PAM_AUTH_ERR);
	messages_free(&m);
	if (!logged_line(log,
			 "msgid=login-denied outcome=denied user=a0alice service=" SERVICE
			 " rhost=203.0.113.7 step=password-realm error=invalid_grant result=DENIED "
			 "description=\"Wrong email or password.\"",
			 false))
		fail_msg("no login-denied line: %s", log);

	/* The account phase after the sign-in grants, and says so. */
	conv.in_echo_off = off;
	setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1);
	capture_start(&c, run_dir);
	assert_pamtest_ran(run_pamtest(SERVICE, "a0alice", &conv, both, NULL));
	capture_stop(&c, log, sizeof(log));
	assert_pam(both[1].op_rv, PAM_SUCCESS);
	if (!logged_line(log,
			 "msgid=account-granted outcome=granted user=a0alice service=" SERVICE
			 " rhost=203.0.113.7 step=account error=- result=OK "
			 "description=\"signed in with Auth0: the policy allows the account\"",
			 false))
		fail_msg("no account-granted line: %s", log);

	/* Without a sign-in on the handle, account_without_auth0 = deny refuses (pam_set_items
	 * sets PAM_RHOST in the auth stack only: none here). */
	configure("account_without_auth0 = deny");
	conv.in_echo_off = none;
	capture_start(&c, run_dir);
	assert_pamtest_ran(run_pamtest(SERVICE, "a0alice", &conv, account, NULL));
	capture_stop(&c, log, sizeof(log));
	unsetenv("PAM_WRAPPER_DEBUGLEVEL");
	assert_pam(account[0].op_rv, PAM_PERM_DENIED);
	if (!logged_line(log,
			 "msgid=account-denied outcome=denied user=a0alice service=" SERVICE
			 " rhost=- step=account error=- result=DENIED "
			 "description=\"not signed in with Auth0 (account_without_auth0 = deny)\"",
			 false))
		fail_msg("no account-denied line: %s", log);
}

/* A state file not root's, or writable by others, is not believed: the network is tried. */
static void test_untrusted_offline_state(void **state)
{
	char path[128], dir[128], text[64];
	FILE *f;

	if (geteuid() != 0)
		skip();
	snprintf(dir, sizeof(dir), "%s/run", run_dir);
	assert_true(mkdir(dir, 0755) == 0 || access(dir, F_OK) == 0);
	offline_path(path, sizeof(path));
	snprintf(text, sizeof(text), "v1 %lld 30\n", (long long)time(NULL) + 30);
	const struct {
		uid_t uid;
		mode_t mode;
		bool trusted;
	} cases[] = {
		{ 0, 0644, true }, { 1000, 0644, false }, { 0, 0666, false }, { 0, 0620, false }
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = fake_count(&fake, "/oauth/token", NULL);

		forget_offline();
		assert_non_null(f = fopen(path, "w"));
		fputs(text, f);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(chown(path, cases[i].uid, 0), 0);
		assert_int_equal(chmod(path, cases[i].mode), 0);
		assert_pam(simple_login("a0alice", "Secret-a0alice-1"),
			   cases[i].trusted ? PAM_AUTHINFO_UNAVAIL : PAM_SUCCESS);
		assert_int_equal(fake_count(&fake, "/oauth/token", NULL),
				 before + (cases[i].trusted ? 0 : 1));
		/* The tenant answered: the untrusted file is gone. */
		assert_true(known_offline() == cases[i].trusted);
	}
}

/* ---- MFA ---- */

static void test_otp(void **state)
{
	char code[7];
	const char *on[] = { code, NULL };
	struct messages m;
	cJSON *log;
	int conn = -1;

	code_now("JBSWY3DPEHPK3PXP", code);
	messages_init(&m);
	assert_pam(login("a0otp", "Secret-a0otp-1", on, &m), PAM_SUCCESS);
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 1);
	/* One TLS connection serves the whole login. */
	log = fake_get(&fake, "/__control/log");
	assert_int_equal(cJSON_GetArraySize(log), 3); /* password, authenticators, otp */
	cJSON *rec;
	cJSON_ArrayForEach(rec, log) {
		int c = cJSON_GetObjectItem(rec, "conn")->valueint;

		assert_true(conn == -1 || conn == c);
		conn = c;
	}
	cJSON_Delete(log);
}

static void test_otp_wrong_then_right(void **state)
{
	char code[7];
	const char *on[] = { "000000", "12ab", code, NULL };
	struct messages m;

	code_now("JBSWY3DPEHPK3PXP", code);
	if (strcmp(code, "000000") == 0)
		on[0] = "111111";
	messages_init(&m);
	assert_pam(login("a0otp", "Secret-a0otp-1", on, &m), PAM_SUCCESS);
	assert_true(shown(m.err, "That code is not right. Try again."));
	messages_free(&m);
	/* The password is asked once; letters never reach the tenant. */
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/password-realm"),
			 1);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 2);
}

static void test_otp_retries_exhausted(void **state)
{
	const char *on[] = { "000001", "000002", "000003", "000004", NULL };
	struct messages m;

	configure("mfa_retries = 2");
	messages_init(&m);
	assert_pam(login("a0otp", "Secret-a0otp-1", on, &m), PAM_AUTH_ERR);
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 2);
}

static void test_otp_over_long_reply(void **state)
{
	char big[1100];
	const char *on[] = { big, big, big, NULL };
	struct messages m;

	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	messages_init(&m);
	assert_pam(login("a0otp", "Secret-a0otp-1", on, &m), PAM_AUTH_ERR);
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 0);
}

static void test_push_approved(void **state)
{
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0push", "Secret-a0push-1", NULL, &m), PAM_SUCCESS);
	assert_true(shown(m.info, "Approve the sign-in request on your phone"));
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/mfa/challenge", NULL), 1);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-oob"),
			 3); /* pending, pending, approved */
}

static void test_push_enter_prompt(void **state)
{
	const char *off[] = { "Secret-a0push-1", "", NULL };
	struct messages m;

	/* sshd marks itself with PAM_TTY "ssh": auto means "press Enter". */
	setenv("PAM_TTY", "ssh", 1);
	messages_init(&m);
	assert_pam(authenticate("a0push", off, NULL, &m), PAM_SUCCESS);
	messages_free(&m);
	/* Without the Enter answer the conversation fails: proof the prompt was made. */
	const char *only_password[] = { "Secret-a0push-1", NULL };
	messages_init(&m);
	assert_int_not_equal(authenticate("a0push", only_password, NULL, &m), PAM_SUCCESS);
	messages_free(&m);
}

static void test_push_rejected(void **state)
{
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0reject", "Secret-a0reject-1", NULL, &m), PAM_AUTH_ERR);
	assert_true(shown(m.err, "rejected"));
	messages_free(&m);
}

static void test_push_timeout(void **state)
{
	struct messages m;
	double start;

	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0push\",\"mfa\":[{\"id\":\"push|dev_never\","
		     "\"authenticator_type\":\"oob\",\"oob_channel\":\"auth0\",\"active\":true,"
		     "\"push\":{\"never\":true}}]}");
	configure("mfa_timeout = 3");
	messages_init(&m);
	start = now_seconds();
	assert_pam(login("a0push", "Secret-a0push-1", NULL, &m), PAM_AUTH_ERR);
	assert_true(now_seconds() - start < 3 + TIMEOUT + 1);
	assert_true(shown(m.err, "took too long"));
	messages_free(&m);
}

static void test_push_slow_down(void **state)
{
	/* The tenant wants 3 s between polls; we poll every 1 s until told to slow down. */
	fake_control(&fake, "POST", "/__control/settings", "{\"min_poll_interval\":3}");
	configure("mfa_timeout = 20");
	assert_pam(simple_login("a0push", "Secret-a0push-1"), PAM_SUCCESS);
	cJSON *log = fake_get(&fake, "/__control/log"), *rec;
	int slow = 0;
	cJSON_ArrayForEach(rec, log) {
		const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "error"));

		slow += e && strcmp(e, "slow_down") == 0;
	}
	cJSON_Delete(log);
	assert_int_equal(slow, 1); /* after one slow_down the interval grew past the limit */
}

static void test_sms_binding_code(void **state)
{
	const char *on[] = { "999999", "123456", NULL };
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0sms", "Secret-a0sms-1", on, &m), PAM_SUCCESS);
	assert_true(shown(m.err, "not right"));
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/mfa/challenge", NULL), 1);
}

static void test_menu_choice(void **state)
{
	const char *on[] = { "9", "3", "246810", NULL }; /* 3 = SMS in the default order */
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0multi", "Secret-a0multi-1", on, &m), PAM_SUCCESS);
	assert_true(shown(m.err, "Please enter one of the numbers shown"));
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-oob"),
			 1);
}

/* Every text the module showed in one authentication (prompts and messages), and the answers. */
struct seen {
	char text[8192];
	const char *password;
};

/* Answers the password; records the rest and fails the conversation at the next prompt. */
static int seen_conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
		     void *data)
{
	struct seen *s = data;
	struct pam_response *r = calloc((size_t)num_msg, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		size_t len = strlen(s->text);

		snprintf(s->text + len, sizeof(s->text) - len, "%s|", msg[i]->msg);
		if (msg[i]->msg_style == PAM_TEXT_INFO || msg[i]->msg_style == PAM_ERROR_MSG)
			continue;
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && s->password &&
		    strstr(msg[i]->msg, "Password")) {
			r[i].resp = strdup(s->password);
			continue;
		}
		for (int j = 0; j < i; j++)
			free(r[j].resp);
		free(r);
		return PAM_CONV_ERR;
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int authenticate_seen(const char *user, struct seen *s)
{
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	enum pamtest_err perr;

	perr = _pamtest_conv(SERVICE, user, seen_conv, s, tests, 1, NULL);
	assert_true(perr == PAMTEST_ERR_OK || perr == PAMTEST_ERR_CASE);
	return tests[0].op_rv;
}

/* What an authenticator name with ESC[2J (clear screen) and a newline must be shown as. */
#define EVIL_NAME_JSON "dev\\u001b[2J\\nroot# "
#define EVIL_NAME_SHOWN "(dev?[2J?root# )"

/* text with its control characters as \xHH, fit for the test's log */
static const char *visible(const char *text)
{
	static char out[4 * sizeof(((struct seen *)0)->text)];
	size_t n = 0;

	for (; *text && n + 5 < sizeof(out); text++) {
		unsigned char c = (unsigned char)*text;

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

static void expect_name_filtered(const struct seen *s)
{
	if (strchr(s->text, 0x1b) || strstr(s->text, "\nroot# "))
		fail_msg("an authenticator name reached the terminal unfiltered: %s",
			 visible(s->text));
	if (!strstr(s->text, EVIL_NAME_SHOWN))
		fail_msg("'%s' not shown: %s", EVIL_NAME_SHOWN, visible(s->text));
}

/*
 * Authenticator names are chosen by the user who enrolled the device and come from the tenant:
 * control characters (a terminal escape, a newline that starts a fake line) never reach the
 * terminal, in the menu (a prompt) or in the push message.
 */
static void test_authenticator_names_filtered(void **state)
{
	struct seen s = { .password = "Secret-a0multi-1" };

	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0multi\",\"mfa\":["
		     "{\"id\":\"totp|dev_a0multiTotp0001\",\"authenticator_type\":\"otp\","
		     "\"active\":true,\"totp_secret\":\"KRSXG5CTMVRXEZLU\"},"
		     "{\"id\":\"push|dev_a0multiPush0001\",\"authenticator_type\":\"oob\","
		     "\"oob_channel\":\"auth0\",\"active\":true,\"name\":\"" EVIL_NAME_JSON "\","
		     "\"push\":{\"approve_after_polls\":1}}]}");
	assert_int_equal(authenticate_seen("a0multi", &s), PAM_AUTH_ERR); /* at the menu */
	assert_non_null(strstr(s.text, "Choose how to finish signing in"));
	expect_name_filtered(&s);

	memset(&s, 0, sizeof(s));
	s.password = "Secret-a0push-1";
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0push\",\"mfa\":["
		     "{\"id\":\"push|dev_a0pushPush00001\",\"authenticator_type\":\"oob\","
		     "\"oob_channel\":\"auth0\",\"active\":true,\"name\":\"" EVIL_NAME_JSON "\","
		     "\"push\":{\"approve_after_polls\":1}}]}");
	assert_int_equal(authenticate_seen("a0push", &s), PAM_SUCCESS);
	assert_non_null(strstr(s.text, "Approve the sign-in request on your phone"));
	expect_name_filtered(&s);
}

static void test_preference_skips_menu(void **state)
{
	const char *on[] = { "246810", NULL };

	configure("mfa_methods = sms otp");
	struct messages m;
	messages_init(&m);
	assert_pam(login("a0multi", "Secret-a0multi-1", on, &m), PAM_SUCCESS);
	messages_free(&m);
}

static void test_recovery_code_way_out(void **state)
{
	const char *on[] = { "ABCDEFGHJKLMNPQRSTUVWXYZ", NULL };
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0recovery", "Secret-a0recovery-1", on, &m), PAM_SUCCESS);
	assert_true(shown(m.info, "Lost your device? Enter your recovery code instead."));
	assert_true(shown(m.info, "Your new recovery code is: "));
	assert_false(shown(m.info, "ABCDEFGHJKLMNPQRSTUVWXYZ")); /* a new one, not the old */
	messages_free(&m);
	/* The old code no longer works. */
	messages_init(&m);
	assert_pam(login("a0recovery", "Secret-a0recovery-1", on, &m), PAM_AUTH_ERR);
	messages_free(&m);
}

static void test_recovery_prompt_hides_the_code(void **state)
{
	/* With only recovery codes allowed the code is asked echo-off: it stays valid until used. */
	const char *off[] = { "Secret-a0recovery-1", "ABCDEFGHJKLMNPQRSTUVWXYZ", NULL };
	struct messages m;

	configure("mfa_methods = recovery-code");
	messages_init(&m);
	assert_pam(authenticate("a0recovery", off, NULL, &m), PAM_SUCCESS);
	assert_true(shown(m.info, "Your new recovery code is: "));
	messages_free(&m);
}

static void test_recovery_acknowledged_for_sshd(void **state)
{
	const char *off[] = { "Secret-a0recovery-1", "", NULL };
	const char *on[] = { "ABCDEFGHJKLMNPQRSTUVWXYZ", NULL };
	struct messages m;

	setenv("PAM_TTY", "ssh", 1);
	messages_init(&m);
	assert_pam(authenticate("a0recovery", off, on, &m), PAM_SUCCESS);
	assert_true(shown(m.info, "Your new recovery code is: "));
	messages_free(&m);
}

static void test_not_enrolled(void **state)
{
	struct messages m;

	messages_init(&m);
	assert_pam(login("a0noenroll", "Secret-a0noenroll-1", NULL, &m), PAM_AUTH_ERR);
	assert_true(shown(m.err, "no second factor enrolled"));
	messages_free(&m);
}

static void test_mfa_token_expired(void **state)
{
	char code[7];
	const char *on[] = { code, NULL };
	struct messages m;

	fake_control(&fake, "POST", "/__control/settings", "{\"mfa_token_lifetime\":0}");
	code_now("JBSWY3DPEHPK3PXP", code);
	messages_init(&m);
	assert_pam(login("a0otp", "Secret-a0otp-1", on, &m), PAM_AUTH_ERR);
	messages_free(&m);
}

static void test_rate_limit_mid_flow(void **state)
{
	struct messages m;

	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/mfa/authenticators\",\"kind\":\"rate_limit\",\"retry_after\":5}");
	messages_init(&m);
	assert_pam(login("a0otp", "Secret-a0otp-1", NULL, &m), PAM_AUTHINFO_UNAVAIL);
	assert_true(shown(m.err, "Too many sign-ins"));
	messages_free(&m);
	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/mfa/challenge\",\"kind\":\"drop\",\"count\":2}");
	messages_init(&m);
	assert_pam(login("a0push", "Secret-a0push-1", NULL, &m), PAM_AUTHINFO_UNAVAIL);
	messages_free(&m);
}

static void test_no_double_mfa(void **state)
{
	char code[7];
	const char *off[] = { "Secret-a0otp-1", NULL };
	const char *on[] = { code, NULL };
	struct messages m;
	struct pamtest_conv_data conv;
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	};

	code_now("JBSWY3DPEHPK3PXP", code);
	messages_init(&m);
	conv = (struct pamtest_conv_data){
		.in_echo_off = off, .in_echo_on = on, .out_info = m.info, .out_err = m.err
	};
	/* Both runs share one handle, as sshd's password and keyboard-interactive do. */
	assert_pamtest(run_pamtest(SERVICE, "a0otp", &conv, tests, NULL), tests);
	messages_free(&m);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 2);
}

/*
 * Under nss_wrapper (test_nss_failure_fails_closed): a0huge's passwd entry is over 2 MiB, more
 * than the module's lookup will read, so the account database cannot tell whether a0huge is a
 * system account. The module must not ignore the call (this stack, like many, would then
 * succeed on its other modules) nor ask Auth0: PAM_AUTHINFO_UNAVAIL, with a syslog line.
 */
static void test_nss_failure_in_stack(void **state)
{
	const char *off[] = { "Secret-a0huge-1", NULL };
	struct pamtest_conv_data conv = { .in_echo_off = off };
	struct pam_testcase account[] = { pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };
	const char *none[] = { NULL };
	struct capture c;
	struct messages m;
	char log[4096];
	int r;

	conv.in_echo_on = none;
	setenv("PAM_WRAPPER_DEBUGLEVEL", "1", 1); /* LOG_ERR lines on stderr */
	capture_start(&c, run_dir);
	messages_init(&m);
	r = login("a0huge", "Secret-a0huge-1", NULL, &m);
	messages_free(&m);
	capture_stop(&c, log, sizeof(log));
	if (r != PAM_AUTHINFO_UNAVAIL)
		fail_msg("authenticate a0huge, whose passwd entry cannot be read: %s, not "
			 "PAM_AUTHINFO_UNAVAIL",
			 pam_strerror(NULL, r));
	if (!strstr(log,
		    "msgid=account-lookup-failed outcome=unavailable user=a0huge service=" SERVICE
		    " rhost=- step=account-lookup error=- result=SYSTEM "
		    "description=\"the passwd entry is over 1048576 bytes"))
		fail_msg("no account-lookup line: %s", log);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
	assert_true(run_pamtest(SERVICE, "a0huge", &conv, account, NULL) == PAMTEST_ERR_CASE);
	assert_int_equal(account[0].op_rv, PAM_AUTHINFO_UNAVAIL);
	unsetenv("PAM_WRAPPER_DEBUGLEVEL");
}

/* Run this program again with nss_wrapper preloaded too, for test_nss_failure_in_stack. */
static void test_nss_failure_fails_closed(void **state)
{
	if (nsswrap_rerun(run_dir, "root:x:0:0:root:/root:/bin/sh\n", 2 * 1024 * 1024) != 0)
		fail_msg("the test under nss_wrapper failed: see above");
}

/* ---- the process that talks to Auth0 (pam/netchild.c) ---- */

/*
 * The sign-in runs in a child process, which asks its questions through this process's
 * conversation. One killed while the user answers ends the login with PAM_SYSTEM_ERR and a log
 * line, and is reaped: no child is left, not even a zombie.
 */
static void test_net_child_killed(void **state)
{
	struct capture c;
	char log[16384];
	size_t prompts;
	pid_t pids[1];

	capture_start(&c, run_dir);
	assert_int_equal(CONVERSE("a0otp", &prompts, SAY("Secret-a0otp-1"),
				  KILL_CHILDREN_THEN_SAY("123456")),
			 PAM_SYSTEM_ERR);
	capture_stop(&c, log, sizeof(log));
	assert_int_equal(killed_by_script, 1); /* the one child, at the one-time code prompt */
	assert_int_equal(prompts, 2);
	assert_non_null(strstr(log,
			       "msgid=system-error outcome=error user=a0otp service=" SERVICE
			       " rhost=- step=start error=- result=SYSTEM description=\"the "
			       "process talking to Auth0 ended without an answer (signal 9)\""));
	assert_int_equal(children(pids, 1), 0);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 0);
}

/* A host's own children are its own: the module waits for its child alone. */
static void test_other_children_untouched(void **state)
{
	char code[7];
	const char *on[] = { code, NULL };
	struct messages m;
	int status;
	pid_t other = fork(), pids[2];

	assert_true(other >= 0);
	if (other == 0) {
		pause();
		_exit(0);
	}
	code_now("JBSWY3DPEHPK3PXP", code);
	messages_init(&m);
	assert_int_equal(login("a0otp", "Secret-a0otp-1", on, &m), PAM_SUCCESS);
	messages_free(&m);
	assert_int_equal(children(pids, 2), 1);
	assert_int_equal(pids[0], other);
	assert_int_equal(waitpid(other, &status, WNOHANG), 0); /* alive, not reaped */
	assert_int_equal(kill(other, SIGKILL), 0);
	assert_int_equal(waitpid(other, &status, 0), other);
}

/* ---- set-up: pam_wrapper must be preloaded, so the program re-executes itself ---- */

static void write_services(const char *dir, const char *services)
{
	const char *module = getenv("A0_MODULE"),
		   *wrapper_modules = getenv("A0_PAM_WRAPPER_MODULES");
	char path[192], text[1024];

	if (!wrapper_modules) {
		fprintf(stderr, "A0_PAM_WRAPPER_MODULES must be set (make check does)\n");
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	snprintf(text, sizeof(text),
		 "auth     required %s/pam_set_items.so\n"
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required %s config=%s/pam_auth0.conf\n",
		 wrapper_modules, module, dir, module, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/" SERVICE_AUTH_ONLY, services);
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf [scope=openid profile email]\n",
		 module, dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-pam", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	fake_init(&fake);

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_right_password),
		T(test_scope_as_module_argument),
		T(test_wrong_password),
		T(test_guard_holds_back_guessing),
		T(test_unknown_user),
		T(test_username_template_and_audience),
		T(test_blocked_user),
		T(test_too_many_attempts),
		T(test_empty_password_not_sent),
		T(test_bad_user_names),
		T(test_user_names_are_data),
		T(test_conv_password_broken),
		T(test_conv_mfa_broken),
		T(test_bad_config_fails_closed),
		T(test_use_first_pass),
		T(test_forwarded_for_confidential_only),
		T(test_wrong_client_secret),
		T(test_proxy_environment_ignored),
		T(test_fault_unreachable),
		T(test_fault_slow_and_silent),
		T(test_fault_server_errors),
		T(test_fault_bad_bodies),
		T(test_fault_rate_limit),
		T(test_fault_tls),
		T(test_offline_fast_path),
		T(test_offline_probe_and_recovery),
		T(test_deny_is_not_offline),
		T(test_tls_failure_is_not_offline),
		T(test_untrusted_offline_state),
		T(test_otp),
		T(test_otp_wrong_then_right),
		T(test_otp_retries_exhausted),
		T(test_otp_over_long_reply),
		T(test_push_approved),
		T(test_push_enter_prompt),
		T(test_push_rejected),
		T(test_push_timeout),
		T(test_push_slow_down),
		T(test_sms_binding_code),
		T(test_menu_choice),
		T(test_authenticator_names_filtered),
		T(test_preference_skips_menu),
		T(test_recovery_code_way_out),
		T(test_recovery_prompt_hides_the_code),
		T(test_recovery_acknowledged_for_sshd),
		T(test_not_enrolled),
		T(test_mfa_token_expired),
		T(test_rate_limit_mid_flow),
		T(test_no_double_mfa),
		T(test_net_child_killed),
		T(test_other_children_untouched),
		T(test_nss_failure_fails_closed),
		T(test_outcome_lines),
	};
	const struct CMUnitTest nss_tests[] = {
		T(test_nss_failure_in_stack),
	};
#undef T
	if (argc > 1 && strcmp(argv[1], "nss") == 0)
		return cmocka_run_group_tests(nss_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, warm_jwks_cache, NULL);
}
