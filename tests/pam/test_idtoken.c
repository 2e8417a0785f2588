/* SPDX-License-Identifier: MIT */
/*
 * Who may log in, through the module in a PAM stack (pam_wrapper + libpamtest) against the
 * fake tenant: every bad ID token the fake can issue is refused with a syslog line naming the
 * check, the JWKS cache and its refetch limit, the identity binding, the policy in
 * acct_mgmt, and system accounts left alone. A PAM stack never returns PAM_IGNORE, so a
 * probe stack shows it: pam_echo after the module is reached only when the module ignored the
 * call. Run under tests/with-fake-tenant.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "lib/identities.h"
#include "lib/idtoken.h"
#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/testuser.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_idtoken"
#define PROBE "pam_auth0_probe" /* the module, then pam_echo printing MARKER */
#define MARKER "pam_auth0 returned PAM_IGNORE"
#define FINAL "pam_auth0_final" /* the module's denials final, then pam_permit */
#define PAM_ECHO "/lib/x86_64-linux-gnu/security/pam_echo.so"
#define PAM_PERMIT "/lib/x86_64-linux-gnu/security/pam_permit.so"
#define MAX_MSGS 16
#define ALICE "Secret-a0alice-1"
#define BOB "Secret-a0bob-1"

static struct fake fake;
static char run_dir[64];

/* ---- set-up ---- */

static void cache_file(char *path, size_t size)
{
	snprintf(path, size, "%s/cache/jwks-localhost:%d.json", run_dir, fake.port);
}

static void configure(const char *extra)
{
	write_module_conf(run_dir, &fake, 5, NULL, extra);
}

/* Each test starts from the fake's data, the default configuration and no JWKS cache. */
static int reset(void **state)
{
	char cmd[160];

	fake_control(&fake, "POST", "/__control/reset", "{}");
	configure(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/cache'", run_dir);
	assert_int_equal(system(cmd), 0);
	/* The guard's counts and the known-offline state (lib/outage.h) are per test too. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/run'", run_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void set_mode(const char *mode)
{
	char body[96];

	snprintf(body, sizeof(body), "{\"id_token_mode\":\"%s\"}", mode);
	fake_control(&fake, "POST", "/__control/settings", body);
}

/* Make the cached JWKS look fetched `age` seconds ago. */
static void age_cache(time_t age)
{
	struct utimbuf t = { .actime = time(NULL) - age, .modtime = time(NULL) - age };
	char path[192];

	cache_file(path, sizeof(path));
	assert_int_equal(utime(path, &t), 0);
}

/* ---- one login through the stack, with what the user saw and what went to syslog ---- */

struct result {
	int auth, account;       /* PAM results; account is -1 when not run */
	char *err[MAX_MSGS + 1]; /* error messages shown */
	char log[16384];         /* the module's syslog lines (pam_wrapper prints them) */
};

static void result_free(struct result *r)
{
	for (int i = 0; i < MAX_MSGS; i++)
		free(r->err[i]);
}

static bool shown(const struct result *r, const char *text)
{
	for (int i = 0; i < MAX_MSGS && r->err[i]; i++)
		if (strstr(r->err[i], text))
			return true;
	return false;
}

/* Authenticate user with password (and run account management when account is true). */
static void login_full(const char *user, const char *password, bool account, struct result *r)
{
	const char *off[] = { password, NULL }, *none[] = { NULL };
	struct pamtest_conv_data conv = { .in_echo_off = off,
					  .in_echo_on = none,
					  .out_err = r->err };
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
	};
	enum pamtest_err perr;
	struct capture c;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < MAX_MSGS; i++)
		r->err[i] = calloc(1, PAM_MAX_MSG_SIZE);
	/* pam_wrapper writes pam_syslog lines to stderr: catch them during the login. */
	capture_start(&c, run_dir);
	perr = run_pamtest(SERVICE, user, &conv, tests, NULL);
	capture_stop(&c, r->log, sizeof(r->log));
	assert_pamtest_ran(perr);
	r->auth = tests[0].op_rv;
	/* libpamtest stops at the first case that fails. */
	r->account = account && r->auth == PAM_SUCCESS ? tests[1].op_rv : -1;
	/* Whatever happened, no token reaches syslog: every JWT starts with base64url "{\"". */
	if (strstr(r->log, "eyJ"))
		fail_msg("a token reached syslog: %s", r->log);
}

static int login(const char *user, const char *password)
{
	struct result r;

	login_full(user, password, false, &r);
	result_free(&r);
	return r.auth;
}

/* The login is refused with this PAM result, message and syslog text. */
static void refused(const char *user, const char *password, int pam, const char *message,
		    const char *logged)
{
	struct result r;

	login_full(user, password, false, &r);
	if (r.auth != pam)
		fail_msg("%s: got %s, wanted %s; log: %s", user, name_pam(r.auth), name_pam(pam),
			 r.log);
	if (message && !shown(&r, message))
		fail_msg("%s: message '%s' not shown", user, message);
	if (logged && !strstr(r.log, logged))
		fail_msg("%s: '%s' not in the log: %s", user, logged, r.log);
	result_free(&r);
}

/* ---- the probe stack: the module's own answer, PAM_IGNORE included ---- */

struct probe {
	pam_handle_t *pamh;
	const char *password; /* answers every prompt; NULL: prompts fail */
	int prompts;
	int markers; /* times pam_echo was reached: the module returned PAM_IGNORE */
	struct pam_conv conv;
};

static int probe_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct probe *p = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_TEXT_INFO && strcmp(msg[i]->msg, MARKER) == 0)
			p->markers++;
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		p->prompts++;
		if (!p->password) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
		r[i].resp = strdup(p->password);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void probe_open_service(struct probe *p, const char *service, const char *user,
			       const char *password)
{
	memset(p, 0, sizeof(*p));
	p->password = password;
	p->conv = (struct pam_conv){ probe_conv, p };
	assert_pam(pam_start(service, user, &p->conv, &p->pamh), PAM_SUCCESS);
}

static void probe_open(struct probe *p, const char *user, const char *password)
{
	probe_open_service(p, PROBE, user, password);
}

/* pam_authenticate or pam_acct_mgmt through the probe stack: what the module returned. */
static int probe_run(struct probe *p, int (*call)(pam_handle_t *, int))
{
	int markers = p->markers, r = call(p->pamh, 0);

	return p->markers > markers ? PAM_IGNORE : r;
}

static void probe_close(struct probe *p)
{
	pam_end(p->pamh, PAM_SUCCESS);
}

/*
 * Every entry point that acts leaves user alone: PAM_IGNORE from authenticate and account,
 * no prompt, no request. setcred has no marker (pam_echo's setcred prints nothing): the
 * module's PAM_SUCCESS would end the probe stack with success, its PAM_IGNORE does not.
 */
static void ignored(const char *user)
{
	struct probe p;

	probe_open(&p, user, ALICE);
	assert_pam(probe_run(&p, pam_authenticate), PAM_IGNORE);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_IGNORE);
	assert_int_not_equal(pam_setcred(p.pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_int_equal(p.prompts, 0);
	probe_close(&p);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 0);
}

/* ---- ID tokens ---- */

static void test_good_token_and_cache(void **state)
{
	char path[192];
	struct stat st;

	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 1);
	/* The next login verifies with the cached keys. */
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 1);
	cache_file(path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/cache", run_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_forged_tokens(void **state)
{
	static const struct {
		const char *mode, *result, *check;
	} bad[] = {
		{ "alg_none", "TOKEN_INVALID", "alg: none" },
		{ "hs256_pubkey", "TOKEN_INVALID", "alg: HS256 (HMAC) is not accepted" },
		{ "wrong_key", "TOKEN_INVALID", "signature: does not verify" },
		{ "unknown_kid", "UNKNOWN_KID", "kid: '" },
		{ "wrong_iss", "TOKEN_INVALID", "iss: 'https://wrong-issuer.example.com/'" },
		{ "wrong_aud", "TOKEN_INVALID", "aud: does not name this client_id" },
		{ "expired", "TOKEN_INVALID", "exp: expired" },
		{ "future_iat", "TOKEN_INVALID", "iat: " },
		{ "future_nbf", "TOKEN_INVALID", "nbf: " },
		{ "truncated", "TOKEN_INVALID", "malformed" },
		{ "three_dots", "TOKEN_INVALID", "malformed: not three dot-separated parts" },
		{ "non_json_payload", "TOKEN_INVALID", "malformed: payload is not a JSON object" },
	};
	char logged[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_mode(bad[i].mode);
		snprintf(logged, sizeof(logged),
			 "msgid=login-denied outcome=denied user=a0alice service=" SERVICE
			 " rhost=- step=id-token error=- result=%s description=\"%s",
			 bad[i].result, bad[i].check);
		refused("a0alice", ALICE, PAM_AUTH_ERR, "could not be verified", logged);
	}
	/* The 200 KB token is over the token response's bounds: refused before the verifier,
	 * as an answer the tenant would not send. */
	set_mode("huge");
	refused("a0alice", ALICE, PAM_AUTHINFO_UNAVAIL, "unavailable",
		"msgid=tenant-unavailable outcome=unavailable user=a0alice service=" SERVICE
		" rhost=- step=password-realm error=- result=TOO_LARGE");
	/* No ID token at all: nobody says who signed in. */
	set_mode("missing");
	refused("a0alice", ALICE, PAM_AUTH_ERR, "did not say who signed in",
		"msgid=login-denied outcome=denied user=a0alice service=" SERVICE " rhost=- "
		"step=id-token error=- result=TOKEN_INVALID description=\"the tenant sent no "
		"id_token");
	/* The same tenant and module accept the good token. */
	set_mode("good");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	/* Two fetches for all of it: the first login's, and the unknown kid's refetch. */
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 2);
}

static void test_key_rotation(void **state)
{
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 1);
	/* The tenant rotates its key right after the keys were cached: the next login fetches
	 * the new kid at once, and works. */
	fake_control(&fake, "POST", "/__control/rotate-key", "{}");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 2);
	/* The cache has it now. */
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 2);
	/* And again, seconds later. */
	fake_control(&fake, "POST", "/__control/rotate-key", "{}");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 3);
}

static void test_unknown_kid_flood(void **state)
{
	set_mode("unknown_kid");
	for (int i = 0; i < 2 * A0_JWKS_FETCH_LIMIT; i++)
		refused("a0alice", ALICE, PAM_AUTH_ERR, NULL, "result=UNKNOWN_KID");
	/* A0_JWKS_FETCH_LIMIT fetches a minute, however many tokens name unknown kids. */
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), A0_JWKS_FETCH_LIMIT);
	refused("a0alice", ALICE, PAM_AUTH_ERR, NULL, "not refetched");
	/* Tokens signed with the tenant's key still verify with the cached keys. */
	set_mode("good");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), A0_JWKS_FETCH_LIMIT);
}

static void test_jwks_unreachable(void **state)
{
	char path[192];

	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	/* The JWKS endpoint fails from now on: the fresh cache still verifies. */
	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/.well-known/jwks.json\",\"kind\":\"status\",\"status\":503,"
		     "\"count\":-1}");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	/* Past jwks_ttl it does not: a revoked key must stop working. */
	configure("jwks_ttl = 60");
	age_cache(61);
	refused("a0alice", ALICE, PAM_AUTHINFO_UNAVAIL, "unavailable",
		"msgid=tenant-unavailable outcome=unavailable user=a0alice service=" SERVICE
		" rhost=- step=id-token error=- result=SERVER description=\"JWKS: HTTP 503");
	/* A 5xx is an outage: the host is known offline (lib/outage.h); forgotten here so that
	 * the next login asks again. */
	snprintf(path, sizeof(path), "%s/run/offline", run_dir);
	assert_int_equal(unlink(path), 0);
	/* And without any cache, nothing verifies. */
	cache_file(path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	configure(NULL);
	refused("a0alice", ALICE, PAM_AUTHINFO_UNAVAIL, "unavailable",
		"msgid=tenant-unavailable outcome=unavailable user=a0alice service=" SERVICE
		" rhost=- step=id-token error=- result=SERVER");
	fake_control(&fake, "DELETE", "/__control/fault", NULL);
}

static void test_unsafe_cache_dir(void **state)
{
	char dir[128], extra[192];

	snprintf(dir, sizeof(dir), "%s/open", run_dir);
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(extra, sizeof(extra), "cache_dir = %s", dir);
	configure(extra);
	refused("a0alice", ALICE, PAM_SERVICE_ERR, NULL, "must be owned by root");
	rmdir(dir);
}

static void test_scope_needs_openid(void **state)
{
	configure("scope = profile email offline_access");
	refused("a0alice", ALICE, PAM_SERVICE_ERR, NULL, "must include openid");
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
}

/* ---- mapping and policy ---- */

static void test_alice_as_bob(void **state)
{
	/* Every Linux user signs in to Auth0 as a0alice: the token says so, and only a0alice's
	 * account opens. */
	configure("username = a0alice\nuser_claim_template = %u\n"
		  "user_claim = https://example.com/posix_user\nusers_file = /nonexistent");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	refused("a0bob", ALICE, PAM_AUTH_ERR, "signed in as a different account",
		"msgid=login-denied outcome=denied user=a0bob service=" SERVICE
		" rhost=- step=policy error=- result=POLICY description=\"user_claim: "
		"https://example.com/posix_user is 'a0alice', this account expects 'a0bob'\"");
	/* bob's own Auth0 account mapped to another Linux user opens nothing of bob's. */
	configure("user_claim = https://example.com/posix_user\nusers_file = /nonexistent");
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0bob\",\"extra_claims\":"
		     "{\"https://example.com/posix_user\":\"a0mallory\"}}");
	refused("a0bob", BOB, PAM_AUTH_ERR, "signed in as a different account",
		"is 'a0mallory', this account expects 'a0bob'");
	/* Without the claim (no Action deployed) nobody is matched. */
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0bob\",\"extra_claims\":{}}");
	refused("a0bob", BOB, PAM_AUTH_ERR, "could not be matched", "no string claim");
}

/* users_file binds by user_id: what the account holder sets in their profile changes nothing. */
static void test_users_file_binding(void **state)
{
	assert_pam(login("a0bob", BOB), PAM_SUCCESS);
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0bob\",\"nickname\":\"someone-else\"}");
	assert_pam(login("a0bob", BOB), PAM_SUCCESS);
	/* The opted-in nickname binding does see it. */
	configure("user_claim = nickname\ntrust_user_claims = yes\nusers_file = /nonexistent");
	refused("a0bob", BOB, PAM_AUTH_ERR, "signed in as a different account",
		"user_claim: nickname is 'someone-else'");
}

/*
 * Auth0's public sign-up is on by default for a database connection: anyone can register the
 * name of a local account that has no Auth0 identity yet, with that name as nickname too. With
 * the shipped defaults that opens nothing, and the refusal tells the administrator how to bind
 * the account (with the user_id to bind); only an explicit opt-in trusts the chosen names.
 */
static void test_signup_cannot_open_local_account(void **state)
{
	const char *password = "Squatter-Passw0rd!";
	char body[1024], logged[1024], conf[640];
	struct result r;
	const char *id;
	struct test_user u;
	cJSON *user;

	test_user_sweep();
	if (!test_user_create("a0s", 'v', &u))
		fail_msg("cannot create a local account");
	snprintf(body, sizeof(body),
		 "{\"client_id\":\"pam-native\",\"connection\":\"Username-Password-Authentication\","
		 "\"username\":\"%s\",\"nickname\":\"%s\",\"email\":\"%s@example.net\","
		 "\"password\":\"%s\"}",
		 u.name, u.name, u.name, password);
	user = fake_post(&fake, "/dbconnections/signup", body);
	id = cJSON_GetStringValue(cJSON_GetObjectItem(user, "_id"));
	assert_non_null(id);
	snprintf(logged, sizeof(logged),
		 "step=policy error=- result=POLICY description=\"no identity binding: add '%s "
		 "auth0|%s' to %s",
		 u.name, id, fake.users);
	refused(u.name, password, PAM_AUTH_ERR, "could not be matched", logged);
	/* What the old default did: trust the nickname the squatter chose; logged as a warning. */
	configure("user_claim = nickname\ntrust_user_claims = yes");
	login_full(u.name, password, false, &r);
	assert_pam(r.auth, PAM_SUCCESS);
	if (!strstr(r.log, "msgid=trusted-user-claim outcome=event user=") ||
	    !strstr(r.log,
		    "step=policy error=- result=TRUSTED_USER_CLAIM description=\"user_claim: "
		    "bound by 'nickname', a claim the account holder sets"))
		fail_msg("no warning for the trusted claim: %s", r.log);
	result_free(&r);
	/* An administrator's binding of the account to that user_id opens it, by user_id. */
	snprintf(conf, sizeof(conf), "%s/users-signup", run_dir);
	snprintf(body, sizeof(body), "%s auth0|%s\n", u.name, id);
	write_text(conf, body);
	snprintf(body, sizeof(body), "users_file = %s", conf);
	configure(body);
	assert_pam(login(u.name, password), PAM_SUCCESS);
	cJSON_Delete(user);
	test_user_remove(&u);
}

/*
 * A name that is no account on this host is never sent to Auth0 (where failed passwords count
 * against it), once the password was asked for like any other's; an account of this host is.
 */
static void test_unknown_name_never_reaches_auth0(void **state)
{
	struct test_user u;

	configure("require_local_account = yes");
	refused("a0nosuchuser", "Secret-a0nosuchuser-1", PAM_USER_UNKNOWN, NULL,
		"msgid=login-denied outcome=denied user=a0nosuchuser service=" SERVICE
		" rhost=- step=account-lookup error=- result=USER_UNKNOWN "
		"description=\"no such account on this host: Auth0 not asked\"");
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
	test_user_sweep();
	if (!test_user_create("a0l", 'k', &u))
		fail_msg("cannot create a local account");
	refused(u.name, "Secret-nobody-1", PAM_AUTH_ERR, NULL,
		"msgid=login-denied outcome=denied user=a0l");
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 1);
	test_user_remove(&u);
}

static void test_email_mapping(void **state)
{
	const char *trust =
		"user_claim = email\ntrust_user_claims = yes\nusers_file = /nonexistent";
	char conf[256];

	snprintf(conf, sizeof(conf), "username = %%u@example.com\n%s", trust);
	configure(conf);
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	refused("a0unverified", "Secret-a0unverified-1", PAM_AUTH_ERR, "Verify your email",
		"email_verified: the email address is not verified");
	snprintf(conf, sizeof(conf), "username = %%u@example.com\nrequire_email_verified = no\n%s",
		 trust);
	configure(conf);
	assert_pam(login("a0unverified", "Secret-a0unverified-1"), PAM_SUCCESS);
	/* The email claim must be the one this account expects. */
	snprintf(conf, sizeof(conf),
		 "username = %%u@example.com\nuser_claim_template = "
		 "%%u@corp.example\n%s",
		 trust);
	configure(conf);
	refused("a0alice", ALICE, PAM_AUTH_ERR, "signed in as a different account",
		"email is 'a0alice@example.com', this account expects 'a0alice@corp.example'");
}

static void test_groups(void **state)
{
	configure("allowed_groups = admins\ngroups_claim = https://example.com/groups");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	refused("a0bob", BOB, PAM_AUTH_ERR, "may not sign in", "allowed_groups");
	configure("allowed_groups = ops, auditors\ngroups_claim = https://example.com/groups");
	assert_pam(login("a0bob", BOB), PAM_SUCCESS);
	refused("a0alice", ALICE, PAM_AUTH_ERR, "may not sign in", "allowed_groups");
	/* A claim the token does not carry holds no group. */
	configure("allowed_groups = admins\ngroups_claim = https://example.com/roles");
	refused("a0alice", ALICE, PAM_AUTH_ERR, "may not sign in", "no array claim");
}

static void test_allowed_users(void **state)
{
	configure("allowed_users = a0alice");
	assert_pam(login("a0alice", ALICE), PAM_SUCCESS);
	refused("a0bob", BOB, PAM_AUTH_ERR, "may not sign in", "allowed_users: 'a0bob'");
}

/* ---- account management ---- */

static void test_account_after_auth(void **state)
{
	struct result r;
	struct probe p;

	/* Through the stack: authenticate, then account on the same handle. */
	login_full("a0alice", ALICE, true, &r);
	assert_pam(r.auth, PAM_SUCCESS);
	assert_pam(r.account, PAM_SUCCESS);
	result_free(&r);

	/* acct_mgmt checks this handle's verified claims against PAM_USER as it is now... */
	probe_open(&p, "a0alice", ALICE);
	assert_pam(probe_run(&p, pam_authenticate), PAM_SUCCESS);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_SUCCESS);
	assert_pam(pam_set_item(p.pamh, PAM_USER, "a0bob"), PAM_SUCCESS);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_AUTH_ERR);
	assert_pam(pam_set_item(p.pamh, PAM_USER, "a0alice"), PAM_SUCCESS);
	/* ...under the policy in force when it runs (alice holds admins and dev). */
	configure("allowed_groups = dev\ngroups_claim = https://example.com/groups");
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_SUCCESS);
	configure("allowed_groups = ops\ngroups_claim = https://example.com/groups");
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_AUTH_ERR);
	assert_int_equal(p.prompts, 1); /* the password, once */
	probe_close(&p);
}

static void test_account_without_auth0(void **state)
{
	struct probe p;

	/* Signed in by other means (ssh keys): nothing to check, ignored by default... */
	probe_open(&p, "a0alice", NULL);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_IGNORE);
	/* ...or refused when the administrator requires an Auth0 sign-in on this handle. */
	configure("account_without_auth0 = deny");
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_PERM_DENIED);
	assert_int_equal(p.prompts, 0);
	probe_close(&p);
	/* A failed sign-in leaves nothing for acct_mgmt to accept. */
	probe_open(&p, "a0alice", "wrong");
	assert_pam(probe_run(&p, pam_authenticate), PAM_AUTH_ERR);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_PERM_DENIED);
	probe_close(&p);
}

/* The identities file auth0-sync would write in the module's sync_dir (run_dir). */
static void synced(const struct a0_identity *ids, size_t n)
{
	char path[128], err[256] = "";

	snprintf(path, sizeof(path), "%s/%s", run_dir, A0_IDENTITIES_NAME);
	if (a0_identities_write(path, ids, n, time(NULL), (gid_t)-1, err, sizeof(err)) != 0)
		fail_msg("a0_identities_write: %s", err);
}

/*
 * A user who exists only in Auth0, through the real stack: the Linux name "annie" is a0alice
 * in Auth0 (the identity cache gives the login and the user_id the ID token must carry). The
 * account phase answers from the cache whoever authenticated (an ssh key: no sign-in on the
 * handle): success while the account is active, denied once a sync saw it blocked or deleted
 * or without an allowed role.
 */
static void test_account_synced(void **state)
{
	char *roles[] = { (char[]){ "linux-dev" } };
	struct a0_identity annie = { .name = (char[]){ "annie" },
				     .user_id = (char[]){ "auth0|6a0000000000000000000001" },
				     .login = (char[]){ "a0alice" },
				     .state = A0_IDENTITY_ACTIVE,
				     .roles = roles,
				     .n_roles = 1 };
	struct probe p;

	synced(&annie, 1);
	assert_pam(login("annie", ALICE), PAM_SUCCESS);
	/* Someone else's user_id in the cache: a0alice's token does not open that account. */
	annie.user_id = (char[]){ "auth0|6a0000000000000000000002" };
	synced(&annie, 1);
	refused("annie", ALICE, PAM_AUTH_ERR, "different account", "identity cache: sub is");
	annie.user_id = (char[]){ "auth0|6a0000000000000000000001" };

	synced(&annie, 1);
	probe_open(&p, "annie", NULL);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_SUCCESS);
	configure("allowed_roles = linux-ops");
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_AUTH_ERR);
	configure(NULL);
	annie.state = A0_IDENTITY_BLOCKED;
	synced(&annie, 1);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_AUTH_ERR);
	annie.state = A0_IDENTITY_DELETED;
	synced(&annie, 1);
	assert_pam(probe_run(&p, pam_acct_mgmt), PAM_AUTH_ERR);
	assert_int_equal(p.prompts, 0);
	probe_close(&p);
	refused("annie", ALICE, PAM_AUTH_ERR, "no longer exists", "deleted in Auth0");
	synced(NULL, 0);
}

/*
 * The opens of the identities file in run_dir since the last call, by any process (the module
 * in this one, its network child): inotify on the directory. Closes are watched too, so that
 * two opens are never merged into one event (inotify merges identical successive events).
 */
static int identity_opens(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t len;
	int n = 0;

	while ((len = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + len; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW)
				fail_msg("inotify: the event queue overflowed");
			if ((e->mask & IN_OPEN) && e->len &&
			    strcmp(e->name, A0_IDENTITIES_NAME) == 0)
				n++;
		}
	if (len < 0 && errno != EAGAIN)
		fail_msg("inotify read: %s", strerror(errno));
	return n;
}

/*
 * The identities file is root's and names every synced user: a login of a synced account reads
 * it once in pam_authenticate (before the network child, which never reads it: the login name
 * goes to the child with the password) and once in pam_acct_mgmt (the cache's verdict and the
 * policy on the claims from that one read).
 */
static void test_synced_read_once(void **state)
{
	char *roles[] = { (char[]){ "linux-dev" } };
	const struct a0_identity annie = { .name = (char[]){ "annie" },
					   .user_id = (char[]){ "auth0|6a0000000000000000000001" },
					   .login = (char[]){ "a0alice" },
					   .state = A0_IDENTITY_ACTIVE,
					   .roles = roles,
					   .n_roles = 1 };
	int fd, auth, account, ra, rb;
	struct probe p;

	synced(&annie, 1);
	configure("allowed_roles = linux-dev"); /* the roles rule needs the cache too */
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, run_dir, IN_OPEN | IN_CLOSE_NOWRITE) < 0)
		fail_msg("inotify on %s: %s", run_dir, strerror(errno));
	probe_open(&p, "annie", ALICE);
	ra = probe_run(&p, pam_authenticate);
	auth = identity_opens(fd);
	rb = probe_run(&p, pam_acct_mgmt);
	account = identity_opens(fd);
	probe_close(&p);
	(void)close(fd);
	synced(NULL, 0);
	assert_pam(ra, PAM_SUCCESS);
	assert_pam(rb, PAM_SUCCESS);
	if (auth != 1 || account != 1)
		fail_msg("the identities file was opened %d times in pam_authenticate and %d in "
			 "pam_acct_mgmt: once in each phase",
			 auth, account);
}

/*
 * After an Auth0 sign-in on the handle, PAM_USER changed to a system account: the account stage
 * must not ignore it (the rest of the stack would take the Auth0 sign-in for that account's),
 * but deny it, with a syslog line. Without the sign-in a system account is still ignored.
 */
static void test_account_system_account_after_auth0(void **state)
{
	static const char *const targets[] = { "root", "daemon" };
	char log[4096], want[128];
	struct capture c;
	struct probe p;
	int r;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		ignored(targets[i]); /* before any sign-in: it checks that Auth0 was not asked */
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		probe_open(&p, "a0alice", ALICE);
		assert_pam(probe_run(&p, pam_authenticate), PAM_SUCCESS);
		assert_pam(pam_set_item(p.pamh, PAM_USER, targets[i]), PAM_SUCCESS);
		capture_start(&c, run_dir);
		r = probe_run(&p, pam_acct_mgmt);
		capture_stop(&c, log, sizeof(log));
		if (r != PAM_PERM_DENIED)
			fail_msg("account of %s after an Auth0 sign-in of a0alice: %s, not "
				 "PAM_PERM_DENIED",
				 targets[i],
				 r == PAM_IGNORE ? "PAM_IGNORE" : pam_strerror(p.pamh, r));
		snprintf(want, sizeof(want),
			 "msgid=account-denied outcome=denied user=%s service=" PROBE
			 " rhost=- step=account error=- result=DENIED",
			 targets[i]);
		if (!strstr(log, want) || !strstr(log, "a0alice"))
			fail_msg("no '%s' line naming a0alice: %s", want, log);
		probe_close(&p);
	}
}

/* ---- system accounts ---- */

static void test_system_accounts_ignored(void **state)
{
	struct probe p;

	ignored("root");
	ignored("daemon"); /* uid 1 */
	configure("min_uid = 0");
	ignored("root"); /* root always */
	/* nobody (uid 65534 >= min_uid) and Auth0 users without a Linux account are ours:
	 * Auth0 decides (pam_unix's account check refuses a missing account later). */
	configure(NULL);
	probe_open(&p, "nobody", NULL);
	assert_pam(probe_run(&p, pam_authenticate), PAM_CONV_ERR);
	assert_int_equal(p.prompts, 1);
	probe_close(&p);
	probe_open(&p, "a0alice", ALICE);
	assert_pam(probe_run(&p, pam_authenticate), PAM_SUCCESS);
	assert_pam(pam_setcred(p.pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	probe_close(&p);
}

static void test_system_account_listed(void **state)
{
	struct probe p;

	/* allowed_users hands a system account to Auth0: asked, and refused by Auth0 here. */
	configure("allowed_users = root");
	probe_open(&p, "root", "Secret-root-1");
	assert_pam(probe_run(&p, pam_authenticate), PAM_AUTH_ERR);
	assert_int_equal(p.prompts, 1);
	probe_close(&p);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 1);
	/* min_uid = 0 hands over daemon, never root. */
	configure("min_uid = 0");
	probe_open(&p, "daemon", NULL);
	assert_pam(probe_run(&p, pam_authenticate), PAM_CONV_ERR);
	probe_close(&p);
	/* An Auth0 signup called root opens nothing: Auth0 is never asked about root. */
	configure(NULL);
	fake_control(&fake, "POST", "/__control/reset", "{}");
	ignored("root");
}

/* ---- a configuration that cannot be loaded ---- */

/*
 * What authenticate and account said for user through the probe stack (the module's own answer)
 * and through FINAL, the shape pam-auth-update gives the module ([success=end ignore=ignore
 * default=die], end being the end of the block: here done) with pam_permit standing for
 * pam_unix after it. The module's log lines go to log.
 */
static void broken_config_login(const char *user, int *probe_auth, int *probe_account,
				int *final_auth, int *final_account, char *log, size_t size)
{
	struct capture c;
	struct probe p;

	capture_start(&c, run_dir);
	probe_open(&p, user, ALICE);
	*probe_auth = probe_run(&p, pam_authenticate);
	*probe_account = probe_run(&p, pam_acct_mgmt);
	assert_int_equal(p.prompts, 0);
	probe_close(&p);
	probe_open_service(&p, FINAL, user, ALICE);
	*final_auth = pam_authenticate(p.pamh, 0);
	*final_account = pam_acct_mgmt(p.pamh, 0);
	assert_int_equal(p.prompts, 0);
	probe_close(&p);
	capture_stop(&c, log, size);
}

/*
 * A configuration that cannot be loaded (a bad key, or no file) fails every Auth0 user's
 * login, but never locks out the host's own system accounts: root and daemon (uid 1) pass
 * through to the next module of a stack whose denials are final, with the error logged;
 * a0alice, nobody (uid 65534) and a name no account database knows get PAM_SERVICE_ERR.
 */
static void test_broken_config_spares_system_accounts(void **state)
{
	static const char *const system_users[] = { "root", "daemon" };
	static const char *const others[] = { "a0alice", "nobody", "a0nosuchuser" };
	int pa, pc, fa, fc;
	char path[128], log[8192], want[256];

	for (int broken = 0; broken < 2; broken++) {
		const char *error = broken == 0 ? "unknown key 'colour'" : "cannot open";

		if (broken == 0) {
			configure("colour = blue");
		} else {
			snprintf(path, sizeof(path), "%s/pam_auth0.conf", run_dir);
			assert_int_equal(unlink(path), 0);
		}
		for (size_t i = 0; i < sizeof(system_users) / sizeof(system_users[0]); i++) {
			broken_config_login(system_users[i], &pa, &pc, &fa, &fc, log, sizeof(log));
			assert_pam(pa, PAM_IGNORE);
			assert_pam(pc, PAM_IGNORE);
			assert_pam(fa, PAM_SUCCESS);
			assert_pam(fc, PAM_SUCCESS);
			snprintf(want, sizeof(want),
				 "msgid=config-error outcome=ignored user=%s service=" FINAL
				 " rhost=- step=config error=- result=CONFIG description=\"",
				 system_users[i]);
			if (!strstr(log, error) || !strstr(log, want))
				fail_msg("no '%s' with '%s' in the log: %s", want, error, log);
		}
		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			broken_config_login(others[i], &pa, &pc, &fa, &fc, log, sizeof(log));
			assert_pam(pa, PAM_SERVICE_ERR);
			assert_pam(pc, PAM_SERVICE_ERR);
			assert_pam(fa, PAM_SERVICE_ERR);
			assert_pam(fc, PAM_SERVICE_ERR);
			snprintf(want, sizeof(want),
				 "msgid=config-error outcome=error user=%s service=" FINAL
				 " rhost=- step=config error=- result=CONFIG description=\"",
				 others[i]);
			if (!strstr(log, error) || !strstr(log, want) || strstr(log, "ignored"))
				fail_msg("%s: not '%s' alone in the log: %s", others[i], error,
					 log);
		}
	}
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 0);
}

/* ---- pam_wrapper must be preloaded, so the program re-executes itself ---- */

static void write_services(const char *dir, const char *services)
{
	const char *mod = getenv("A0_MODULE");
	char path[192], text[1024];

	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required %s config=%s/pam_auth0.conf\n",
		 mod, dir, mod, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/" PROBE, services);
	snprintf(text, sizeof(text),
		 "auth     [success=done ignore=ignore default=die] %s config=%s/pam_auth0.conf\n"
		 "auth     optional " PAM_ECHO " " MARKER "\n"
		 "account  [success=done ignore=ignore default=die] %s config=%s/pam_auth0.conf\n"
		 "account  optional " PAM_ECHO " " MARKER "\n",
		 mod, dir, mod, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/" FINAL, services);
	snprintf(text, sizeof(text),
		 "auth     [success=done ignore=ignore default=die] %s config=%s/pam_auth0.conf\n"
		 "auth     required " PAM_PERMIT "\n"
		 "account  [success=done ignore=ignore default=die] %s config=%s/pam_auth0.conf\n"
		 "account  required " PAM_PERMIT "\n",
		 mod, dir, mod, dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	/* Level 2 prints pam_syslog lines of every priority on stderr, where tests read them. */
	static const char *const env[] = { "PAM_WRAPPER_DEBUGLEVEL=2", NULL };

	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-idtoken", write_services, env);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	fake_init(&fake);

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_good_token_and_cache),
		T(test_forged_tokens),
		T(test_key_rotation),
		T(test_unknown_kid_flood),
		T(test_jwks_unreachable),
		T(test_unsafe_cache_dir),
		T(test_scope_needs_openid),
		T(test_alice_as_bob),
		T(test_users_file_binding),
		T(test_signup_cannot_open_local_account),
		T(test_unknown_name_never_reaches_auth0),
		T(test_email_mapping),
		T(test_groups),
		T(test_allowed_users),
		T(test_account_after_auth),
		T(test_account_without_auth0),
		T(test_account_synced),
		T(test_synced_read_once),
		T(test_account_system_account_after_auth0),
		T(test_system_accounts_ignored),
		T(test_system_account_listed),
		T(test_broken_config_spares_system_accounts),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
