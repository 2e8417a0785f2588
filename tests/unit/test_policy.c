/* SPDX-License-Identifier: MIT */
/*
 * Who may log in: system accounts left alone, and an account database that cannot be read
 * never taken for one (under nss_wrapper: glibc's real NSS path with a passwd file of the
 * test's), the identity binding (users_file, a namespaced claim, and user-settable claims only
 * when trusted), email_verified, allowed_users and allowed_groups.
 */
#include "config.h"

#include <setjmp.h>
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

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/policy.h"
#include "lib/util.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

static char dir[64];

/* Write name (in dir) with mode. */
static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* The users_file every configuration here names: dir/users, root's and 0644. */
static void users(const char *text)
{
	write_file("users", text, 0644);
}

/* Load a configuration of the minimal keys, users_file and extra lines: 0 or the error. */
static int load(const char *extra, struct a0_config **ret, char *err, size_t errlen)
{
	char text[1024], arg[160];
	const char *argv[] = { arg };

	snprintf(text, sizeof(text),
		 "domain = tenant.example.com\nclient_id = abc\nusers_file = %s/users\n"
		 "sync_dir = %s\n%s\n",
		 dir, dir, extra ? extra : "");
	write_file("pam_auth0.conf", text, 0644);
	snprintf(arg, sizeof(arg), "config=%s/pam_auth0.conf", dir);
	return a0_config_load(1, argv, ret, err, errlen);
}

static struct a0_config *config(const char *extra)
{
	struct a0_config *cfg = NULL;
	char err[512] = "";

	if (load(extra, &cfg, err, sizeof(err)) != 0)
		fail_msg("configuration refused: %s", err);
	return cfg;
}

/* Check claims (JSON text) for user: the result, and the reason must contain `rule`. */
static void expect(const struct a0_config *cfg, const char *user, const char *claims_json, int want,
		   const char *rule, const char *tell_part)
{
	cJSON *claims = cJSON_Parse(claims_json);
	const char *tell = NULL;
	char reason[256] = "";
	int r;

	assert_non_null(claims);
	r = a0_policy_check(cfg, user, claims, &tell, reason, sizeof(reason));
	cJSON_Delete(claims);
	if (r != want)
		fail_msg("user %s, claims %s: got %s (%s), wanted %s", user, claims_json,
			 name_a0(r), reason, name_a0(want));
	if (want == 0)
		return;
	if (!strstr(reason, rule))
		fail_msg("expected '%s' in the reason '%s'", rule, reason);
	if (want != A0_ERR_POLICY)
		return;
	assert_non_null(tell);
	if (!strstr(tell, tell_part))
		fail_msg("expected '%s' in the message '%s'", tell_part, tell);
}

/* a0_policy_system_account: an enum a0_user_kind. */
static int system_account(const struct a0_config *cfg, const char *user)
{
	char reason[256] = "";
	int r = a0_policy_system_account(cfg, user, reason, sizeof(reason));

	if (r < 0)
		fail_msg("%s: the account database cannot tell: %s (%s)", user, a0_err_name(r),
			 reason);
	return r;
}

/* Refused as another account's identity, or as none this account can be matched to. */
static void other_account(const struct a0_config *cfg, const char *user, const char *claims,
			  const char *rule)
{
	expect(cfg, user, claims, A0_ERR_POLICY, rule, "different account");
}

static void not_allowed(const struct a0_config *cfg, const char *user, const char *claims,
			const char *rule)
{
	expect(cfg, user, claims, A0_ERR_POLICY, rule, "may not sign in");
}

static void unverified(const struct a0_config *cfg, const char *user, const char *claims,
		       const char *rule)
{
	expect(cfg, user, claims, A0_ERR_POLICY, rule, "Verify your email");
}

static void allowed(const struct a0_config *cfg, const char *user, const char *claims)
{
	expect(cfg, user, claims, 0, NULL, NULL);
}

static void unmatched(const struct a0_config *cfg, const char *user, const char *claims,
		      const char *rule)
{
	expect(cfg, user, claims, A0_ERR_POLICY, rule, "could not be matched");
}

static void test_skip_system_accounts(void **state)
{
	struct a0_config *cfg = config(NULL);

	assert_int_equal(system_account(cfg, "root"), 1);
	assert_int_equal(system_account(cfg, "daemon"), 1); /* uid 1 */
	assert_int_equal(system_account(cfg, "nobody"), 0); /* uid 65534 >= 1000 */
	/* No such account: not a system account; the module never asks Auth0 about it. */
	assert_int_equal(system_account(cfg, "a0nosuchuser"), A0_USER_NONE);
	a0_config_free(cfg);

	/* min_uid = 0 opens uid 1, never root. */
	cfg = config("min_uid = 0");
	assert_int_equal(system_account(cfg, "daemon"), 0);
	assert_int_equal(system_account(cfg, "root"), 1);
	a0_config_free(cfg);
	/* min_uid above nobody's uid. */
	cfg = config("min_uid = 65535");
	assert_int_equal(system_account(cfg, "nobody"), 1);
	a0_config_free(cfg);

	/* Listing a system account in allowed_users hands it to Auth0. */
	cfg = config("allowed_users = root daemon");
	assert_int_equal(system_account(cfg, "root"), 0);
	assert_int_equal(system_account(cfg, "daemon"), 0);
	assert_int_equal(system_account(cfg, "a0alice"), A0_USER_NONE);
	a0_config_free(cfg);
}

#define HUGE_GECOS (2 * 1024 * 1024) /* over the 1 MiB the lookup grows its buffer to */

/*
 * In the child re-executed under nss_wrapper: the passwd file has root, daemon (uid 1), a0sys
 * (uid 5, known only here), a0small (uid 1501) and a0huge (uid 1502), whose entry is over 2 MiB:
 * getpwnam_r cannot return it in a bounded buffer (ERANGE), so the account database cannot tell
 * what a0huge is. That is neither a system account nor an ordinary one: the caller must fail
 * closed (mod_begin: PAM_AUTHINFO_UNAVAIL), not ignore it.
 */
static void test_nss_failure_is_not_a_system_account(void **state)
{
	struct a0_config *cfg = config(NULL);
	char reason[256] = "";
	int r;

	/* The wrapper's file is the one read. */
	assert_int_equal(system_account(cfg, "root"), 1);
	assert_int_equal(system_account(cfg, "daemon"), 1);
	assert_int_equal(system_account(cfg, "a0sys"), 1);
	assert_int_equal(system_account(cfg, "a0small"), 0);
	assert_int_equal(system_account(cfg, "a0nosuchuser"), A0_USER_NONE);
	r = a0_policy_system_account(cfg, "a0huge", reason, sizeof(reason));
	if (r != A0_ERR_SYSTEM)
		fail_msg("a0huge, whose passwd entry cannot be read: %d, not A0_ERR_SYSTEM", r);
	assert_string_equal(reason, "the passwd entry is over 1048576 bytes");
	a0_config_free(cfg);
	/* Listed in allowed_users it needs no lookup: Auth0's. */
	cfg = config("allowed_users = a0huge");
	assert_int_equal(system_account(cfg, "a0huge"), 0);
	a0_config_free(cfg);
}

/* Run this program again with nss_wrapper preloaded and a passwd file of ours. */
static void test_nss_under_wrapper(void **state)
{
	const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "a0sys:x:5:100::/nonexistent:/usr/sbin/nologin\n"
			     "a0small:x:1501:100::/nonexistent:/bin/sh\n";

	if (nsswrap_rerun(dir, passwd, HUGE_GECOS) != 0)
		fail_msg("the tests under nss_wrapper failed: see above");
}

/*
 * The shipped defaults bind nobody by a claim the account holder chose: whoever signs up as
 * "alice" with nickname "alice" does not open the local account alice, and the reason tells
 * the administrator what to configure, with the user_id to bind.
 */
static void test_no_binding_by_default(void **state)
{
	struct a0_config *cfg;

	users("# nobody bound yet\n");
	cfg = config(NULL);
	assert_null(cfg->user_claim);
	assert_false(cfg->trust_user_claims);
	unmatched(cfg, "alice",
		  "{\"sub\":\"auth0|5f1\",\"nickname\":\"alice\",\"name\":\"alice\","
		  "\"email\":\"alice@example.com\",\"email_verified\":true}",
		  "no identity binding: add 'alice auth0|5f1' to");
	a0_config_free(cfg);
	/* An email-shaped username template no longer makes the email claim the binding. */
	cfg = config("username = %u@example.com");
	assert_null(cfg->user_claim);
	unmatched(cfg, "alice",
		  "{\"sub\":\"auth0|5f1\",\"email\":\"alice@example.com\",\"email_verified\":true}",
		  "no identity binding");
	a0_config_free(cfg);
}

/* A claim the account holder sets is refused as user_claim unless trust_user_claims opts in. */
static void test_user_set_claims_need_opt_in(void **state)
{
	static const char *const claims[] = { "nickname",           "name",     "email",
					      "preferred_username", "username", "given_name" };
	struct a0_config *cfg = NULL;
	char extra[128], err[512];

	for (size_t i = 0; i < A0_ARRAY_SIZE(claims); i++) {
		snprintf(extra, sizeof(extra), "user_claim = %s", claims[i]);
		err[0] = '\0';
		assert_a0(load(extra, &cfg, err, sizeof(err)), A0_ERR_CONFIG);
		if (!strstr(err, "trust_user_claims = yes") || !strstr(err, claims[i]))
			fail_msg("user_claim = %s: unexpected message '%s'", claims[i], err);
		snprintf(extra, sizeof(extra), "user_claim = %s\ntrust_user_claims = yes",
			 claims[i]);
		cfg = config(extra);
		assert_true(cfg->trust_user_claims);
		a0_config_free(cfg);
	}
	/* sub and namespaced claims are the tenant's to set. */
	a0_config_free(config("user_claim = sub\nuser_claim_template = samlp|corp|%u"));
	a0_config_free(config("user_claim = https://example.com/posix_user"));
	a0_config_free(config("user_claim = http://example.com/posix_user"));
}

/* users_file binds a local name to the one Auth0 user_id (sub) that may open it. */
static void test_users_file(void **state)
{
	struct a0_config *cfg;

	users("# local name, Auth0 user_id\n\n"
	      "alice auth0|5f1\n"
	      "  bob\tsamlp|corp|bob@corp.example  \r\n"
	      "carol auth0|5f3\n");
	cfg = config(NULL);
	allowed(cfg, "alice", "{\"sub\":\"auth0|5f1\",\"nickname\":\"mallory\"}");
	allowed(cfg, "bob", "{\"sub\":\"samlp|corp|bob@corp.example\"}");
	/* Someone who signed up under alice's name has another user_id. */
	other_account(cfg, "alice", "{\"sub\":\"auth0|666\",\"nickname\":\"alice\"}",
		      "users_file: sub is 'auth0|666', 'alice' is bound to 'auth0|5f1'");
	other_account(cfg, "alice", "{\"nickname\":\"alice\"}", "users_file: sub is '(none)'");
	other_account(cfg, "alice", "{\"sub\":\"auth0|5f1 \"}", "users_file");
	/* alice's identity for carol's account. */
	other_account(cfg, "carol", "{\"sub\":\"auth0|5f1\"}", "bound to 'auth0|5f3'");
	/* Not in the file and no user_claim: no binding. */
	unmatched(cfg, "dave", "{\"sub\":\"auth0|5f4\",\"nickname\":\"dave\"}",
		  "no identity binding");
	a0_config_free(cfg);

	/* users_file first, then a namespaced claim for the accounts it does not name. */
	cfg = config("user_claim = https://example.com/posix_user");
	other_account(cfg, "alice",
		      "{\"sub\":\"auth0|666\",\"https://example.com/posix_user\":\"alice\"}",
		      "users_file");
	allowed(cfg, "dave", "{\"sub\":\"auth0|5f4\",\"https://example.com/posix_user\":\"dave\"}");
	a0_config_free(cfg);

	/* No file: nobody is bound by it. */
	cfg = config("users_file = /nonexistent/pam_auth0/users");
	unmatched(cfg, "alice", "{\"sub\":\"auth0|5f1\"}", "no identity binding");
	a0_config_free(cfg);
	users("");
}

/* A users_file root cannot trust, or cannot read unambiguously, fails closed and says why. */
static void test_users_file_refused(void **state)
{
	static const struct {
		const char *text;
		mode_t mode;
		const char *why;
	} cases[] = {
		{ "alice auth0|5f1\n", 0664, "writable only by root" },
		{ "alice auth0|5f1\n", 0666, "writable only by root" },
		{ "alice\n", 0644, "expected 'name user_id'" },
		{ "alice auth0|5f1 extra\n", 0644, "found 'extra'" },
		{ "alice auth0|5f1\nalice auth0|5f2\n", 0644, "'alice' is bound a second time" },
		{ "alice auth0|\x01x\n", 0644, "not printable" },
	};
	struct a0_config *cfg = config(NULL);

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		write_file("users", cases[i].text, cases[i].mode);
		expect(cfg, "alice", "{\"sub\":\"auth0|5f1\"}", A0_ERR_CONFIG, cases[i].why, NULL);
	}
	a0_config_free(cfg);
	users("");
}

static void test_nickname_mapping(void **state)
{
	struct a0_config *cfg = config("user_claim = nickname\ntrust_user_claims = yes");

	assert_string_equal(cfg->user_claim, "nickname");
	allowed(cfg, "alice", "{\"nickname\":\"alice\"}");
	other_account(cfg, "bob", "{\"nickname\":\"alice\"}", "user_claim");
	other_account(cfg, "Alice", "{\"nickname\":\"alice\"}", "user_claim");
	other_account(cfg, "alice", "{\"nickname\":\"alice \"}", "user_claim");
	unmatched(cfg, "alice", "{\"email\":\"alice\"}", "no string claim");
	unmatched(cfg, "alice", "{\"nickname\":[\"alice\"]}", "no string claim");
	/* email_verified matters only when the claim is email. */
	allowed(cfg, "alice", "{\"nickname\":\"alice\",\"email_verified\":false}");
	a0_config_free(cfg);
}

static void test_custom_claim_mapping(void **state)
{
	struct a0_config *cfg = config("user_claim = https://example.com/posix_user");

	allowed(cfg, "a0alice",
		"{\"https://example.com/posix_user\":\"a0alice\",\"nickname\":\"x\"}");
	/* alice's credentials for bob's account: refused, and the log says why. */
	other_account(cfg, "a0bob",
		      "{\"https://example.com/posix_user\":\"a0alice\",\"nickname\":\"a0bob\"}",
		      "is 'a0alice', this account expects 'a0bob'");
	unmatched(cfg, "a0bob", "{\"nickname\":\"a0bob\"}",
		  "no string claim 'https://example.com/posix_user'");
	a0_config_free(cfg);
}

static void test_email_mapping(void **state)
{
	struct a0_config *cfg =
		config("username = %u@example.com\nuser_claim = email\ntrust_user_claims = yes");

	/* The expected value is the username template's. */
	assert_string_equal(cfg->user_claim_template, "%u@example.com");
	allowed(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":true}");
	other_account(cfg, "bob", "{\"email\":\"alice@example.com\",\"email_verified\":true}",
		      "user_claim");
	unverified(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":false}",
		   "email_verified");
	unverified(cfg, "alice", "{\"email\":\"alice@example.com\"}", "email_verified");
	unverified(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":\"true\"}",
		   "email_verified");
	a0_config_free(cfg);

	cfg = config("username = %u@example.com\nuser_claim = email\ntrust_user_claims = yes\n"
		     "require_email_verified = no");
	allowed(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":false}");
	a0_config_free(cfg);

	/* Auth0 is asked for the nickname, the token must carry the email. */
	cfg = config("user_claim_template = %u@corp.example\nuser_claim = email\n"
		     "trust_user_claims = yes");
	assert_string_equal(cfg->username, "%u");
	assert_string_equal(cfg->user_claim, "email");
	allowed(cfg, "alice", "{\"email\":\"alice@corp.example\",\"email_verified\":true}");
	other_account(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":true}",
		      "user_claim");
	a0_config_free(cfg);

	/* The claim is the one named, whatever the template looks like. */
	cfg = config("username = %u@example.com\nuser_claim = nickname\ntrust_user_claims = yes");
	allowed(cfg, "alice", "{\"nickname\":\"alice@example.com\",\"email_verified\":false}");
	a0_config_free(cfg);
}

static void test_allowed_users(void **state)
{
	struct a0_config *cfg = config(
		"allowed_users = alice, carol\nuser_claim = nickname\ntrust_user_claims = yes");

	allowed(cfg, "alice", "{\"nickname\":\"alice\"}");
	not_allowed(cfg, "bob", "{\"nickname\":\"bob\"}", "allowed_users");
	a0_config_free(cfg);
}

static void test_allowed_groups(void **state)
{
	struct a0_config *cfg =
		config("allowed_groups = admins ops\ngroups_claim = https://example.com/groups\n"
		       "user_claim = nickname\ntrust_user_claims = yes");

	allowed(cfg, "alice",
		"{\"nickname\":\"alice\",\"https://example.com/groups\":[\"dev\",\"admins\"]}");
	allowed(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"ops\"]}");
	not_allowed(cfg, "alice",
		    "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"users\"]}",
		    "allowed_groups");
	not_allowed(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[]}",
		    "allowed_groups");
	not_allowed(cfg, "alice", "{\"nickname\":\"alice\"}", "no array claim");
	/* A string is not a list; non-strings in the list match nothing. */
	not_allowed(cfg, "alice",
		    "{\"nickname\":\"alice\",\"https://example.com/groups\":\"admins\"}",
		    "no array claim");
	not_allowed(cfg, "alice",
		    "{\"nickname\":\"alice\",\"https://example.com/groups\":[1,null,{}]}",
		    "allowed_groups");
	/* Group names are exact. */
	not_allowed(cfg, "alice",
		    "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"Admins\"]}",
		    "allowed_groups");
	/* The identity comes first: the right group does not make another account's token fit. */
	other_account(cfg, "bob",
		      "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"admins\"]}",
		      "user_claim");
	a0_config_free(cfg);
}

/* The identities file auth0-sync writes in sync_dir (dir here): n entries. */
static void identities(const struct a0_identity *ids, size_t n)
{
	char path[128], err[256] = "";

	snprintf(path, sizeof(path), "%s/%s", dir, A0_IDENTITIES_NAME);
	if (a0_identities_write(path, ids, n, time(NULL), (gid_t)-1, err, sizeof(err)) != 0)
		fail_msg("a0_identities_write: %s", err);
}

/* The account phase's verdict from the cache: the result, and the reason must hold rule. */
static void account(const struct a0_config *cfg, const char *user, int want, const char *rule)
{
	const char *tell = NULL;
	char reason[256] = "";
	int r = a0_policy_account(cfg, user, &tell, reason, sizeof(reason));

	if (r != want)
		fail_msg("%s: account phase got %s (%s), wanted %s", user, name_a0(r), reason,
			 name_a0(want));
	if (rule && !strstr(reason, rule))
		fail_msg("expected '%s' in the reason '%s'", rule, reason);
	if (want == A0_ERR_POLICY)
		assert_non_null(tell);
}

/*
 * An account that exists only in Auth0 is bound by the synced cache: sub must be its user_id,
 * a blocked or deleted one is refused at sign-in and in the account phase, users_file still
 * comes first, and allowed_roles needs a synced role.
 */
static void test_synced_identity(void **state)
{
	char *admins[] = { (char[]){ "linux-admins" }, (char[]){ "linux-dev" } };
	const struct a0_identity ids[] = {
		{ .name = (char[]){ "ann" },
		  .user_id = (char[]){ "auth0|ann1" },
		  .login = (char[]){ "ann@example.com" },
		  .state = A0_IDENTITY_ACTIVE,
		  .roles = admins,
		  .n_roles = 2 },
		{ .name = (char[]){ "ben" },
		  .user_id = (char[]){ "auth0|ben1" },
		  .state = A0_IDENTITY_BLOCKED },
		{ .name = (char[]){ "cat" },
		  .user_id = (char[]){ "auth0|cat1" },
		  .state = A0_IDENTITY_DELETED },
		{ .name = (char[]){ "alice" },
		  .user_id = (char[]){ "auth0|other" },
		  .state = A0_IDENTITY_ACTIVE,
		  .local = true },
	};
	struct a0_config *cfg;
	char *login = NULL;

	users("alice auth0|5f1\n");
	identities(ids, A0_ARRAY_SIZE(ids));
	cfg = config(NULL);
	allowed(cfg, "ann", "{\"sub\":\"auth0|ann1\"}");
	other_account(cfg, "ann", "{\"sub\":\"auth0|mallory\",\"nickname\":\"ann\"}",
		      "identity cache: sub is 'auth0|mallory', 'ann' is Auth0 user 'auth0|ann1'");
	other_account(cfg, "ann", "{\"nickname\":\"ann\"}", "identity cache: sub is '(none)'");
	expect(cfg, "ben", "{\"sub\":\"auth0|ben1\"}", A0_ERR_POLICY, "blocked in Auth0",
	       "blocked");
	expect(cfg, "cat", "{\"sub\":\"auth0|cat1\"}", A0_ERR_POLICY, "deleted in Auth0",
	       "no longer exists");
	/* A local account: users_file binds it, never the cache's entry. */
	allowed(cfg, "alice", "{\"sub\":\"auth0|5f1\"}");
	other_account(cfg, "alice", "{\"sub\":\"auth0|other\"}", "users_file");
	unmatched(cfg, "dave", "{\"sub\":\"auth0|dave\"}", "no identity binding");

	/* The account phase: for every login, whatever authenticated it. */
	account(cfg, "ann", 0, NULL);
	account(cfg, "ben", A0_ERR_POLICY, "blocked in Auth0");
	account(cfg, "cat", A0_ERR_POLICY, "deleted in Auth0");
	account(cfg, "dave", A0_ERR_NOT_FOUND, NULL);

	/* The password grant sends the synced login; others get the username template. */
	assert_a0(a0_policy_login_name(cfg, "ann", &login), 0);
	assert_string_equal(login, "ann@example.com");
	free(login);
	login = NULL;
	assert_a0(a0_policy_login_name(cfg, "alice", &login), 0);
	assert_string_equal(login, "alice");
	free(login);
	login = NULL;
	a0_config_free(cfg);

	cfg = config("allowed_roles = linux-dev");
	account(cfg, "ann", 0, NULL);
	account(cfg, "alice", A0_ERR_POLICY, "allowed_roles: 'alice' holds none of them");
	account(cfg, "dave", A0_ERR_POLICY, "not in the synced identity cache");
	not_allowed(cfg, "alice", "{\"sub\":\"auth0|5f1\"}", "allowed_roles");
	allowed(cfg, "ann", "{\"sub\":\"auth0|ann1\"}");
	a0_config_free(cfg);
	cfg = config("allowed_roles = linux-ops");
	not_allowed(cfg, "ann", "{\"sub\":\"auth0|ann1\"}", "allowed_roles: 'ann' holds none");
	a0_config_free(cfg);
	identities(NULL, 0);
	users("");
}

/* An identities file others can read or write is refused, not trusted and not ignored. */
static void test_synced_identity_refused(void **state)
{
	const struct a0_identity id = { .name = (char[]){ "ann" },
					.user_id = (char[]){ "auth0|ann1" },
					.state = A0_IDENTITY_ACTIVE };
	struct a0_config *cfg;
	char path[128];

	if (geteuid() != 0)
		skip();
	identities(&id, 1);
	snprintf(path, sizeof(path), "%s/%s", dir, A0_IDENTITIES_NAME);
	assert_int_equal(chmod(path, 0666), 0);
	cfg = config(NULL);
	expect(cfg, "ann", "{\"sub\":\"auth0|ann1\"}", A0_ERR_CONFIG, "identities", NULL);
	account(cfg, "ann", A0_ERR_CONFIG, "identities");
	a0_config_free(cfg);
	assert_int_equal(chmod(path, 0600), 0);
	identities(NULL, 0);
}

/*
 * The _identity variants answer from the identity their caller read (a0_policy_synced), never
 * the file: here one the other functions refuse (others may write it), so any read of it
 * would show as A0_ERR_CONFIG.
 */
static void test_synced_identity_given(void **state)
{
	char *roles[] = { (char[]){ "linux-dev" } };
	struct a0_identity ann = { .name = (char[]){ "ann" },
				   .user_id = (char[]){ "auth0|ann1" },
				   .login = (char[]){ "ann@example.com" },
				   .state = A0_IDENTITY_ACTIVE,
				   .roles = roles,
				   .n_roles = 1 };
	cJSON *claims = cJSON_Parse("{\"sub\":\"auth0|ann1\"}");
	struct a0_config *cfg = config("allowed_roles = linux-dev");
	const char *tell = NULL;
	char reason[256] = "", path[128];
	char *login = NULL;

	assert_non_null(claims);
	identities(&ann, 1);
	snprintf(path, sizeof(path), "%s/%s", dir, A0_IDENTITIES_NAME);
	assert_int_equal(chmod(path, 0666), 0);
	assert_a0(a0_policy_check(cfg, "ann", claims, &tell, reason, sizeof(reason)),
		  A0_ERR_CONFIG);

	assert_a0(a0_policy_check_identity(cfg, "ann", &ann, claims, &tell, reason, sizeof(reason)),
		  0);
	assert_a0(a0_policy_account_identity(cfg, "ann", &ann, &tell, reason, sizeof(reason)), 0);
	assert_a0(a0_policy_login_name_identity(cfg, "ann", &ann, &login), 0);
	assert_string_equal(login, "ann@example.com");
	free(login);
	login = NULL;
	/* Blocked in the identity given: refused in both phases. */
	ann.state = A0_IDENTITY_BLOCKED;
	assert_a0(a0_policy_check_identity(cfg, "ann", &ann, claims, &tell, reason, sizeof(reason)),
		  A0_ERR_POLICY);
	assert_non_null(strstr(reason, "blocked in Auth0"));
	assert_a0(a0_policy_account_identity(cfg, "ann", &ann, &tell, reason, sizeof(reason)),
		  A0_ERR_POLICY);
	assert_non_null(strstr(reason, "blocked in Auth0"));
	/* NULL: not in the cache (allowed_roles then refuses), and the username template. */
	assert_a0(a0_policy_check_identity(cfg, "ann", NULL, claims, &tell, reason, sizeof(reason)),
		  A0_ERR_POLICY);
	assert_non_null(strstr(reason, "no identity binding"));
	assert_a0(a0_policy_account_identity(cfg, "ann", NULL, &tell, reason, sizeof(reason)),
		  A0_ERR_POLICY);
	assert_non_null(strstr(reason, "not in the synced identity cache"));
	assert_a0(a0_policy_login_name_identity(cfg, "ann", NULL, &login), 0);
	assert_string_equal(login, "ann");
	free(login);

	cJSON_Delete(claims);
	a0_config_free(cfg);
	assert_int_equal(chmod(path, 0600), 0);
	identities(NULL, 0);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-policy-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	users("");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest nss_tests[] = {
		cmocka_unit_test(test_nss_failure_is_not_a_system_account),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skip_system_accounts),
		cmocka_unit_test(test_nss_under_wrapper),
		cmocka_unit_test(test_no_binding_by_default),
		cmocka_unit_test(test_user_set_claims_need_opt_in),
		cmocka_unit_test(test_users_file),
		cmocka_unit_test(test_users_file_refused),
		cmocka_unit_test(test_nickname_mapping),
		cmocka_unit_test(test_custom_claim_mapping),
		cmocka_unit_test(test_email_mapping),
		cmocka_unit_test(test_allowed_users),
		cmocka_unit_test(test_allowed_groups),
		cmocka_unit_test(test_synced_identity),
		cmocka_unit_test(test_synced_identity_refused),
		cmocka_unit_test(test_synced_identity_given),
	};

	if (argc > 1 && strcmp(argv[1], "nss") == 0)
		return cmocka_run_group_tests(nss_tests, setup, teardown);
	return cmocka_run_group_tests(tests, setup, teardown);
}
