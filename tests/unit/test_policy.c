/* SPDX-License-Identifier: MIT */
/*
 * Who may log in: system accounts left alone, the identity mapping (nickname, email, a
 * namespaced claim), email_verified, allowed_users and allowed_groups.
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
#include <unistd.h>

#include <cmocka.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/policy.h"
#include "tests/common/assert.h"

static char dir[64];

/* A configuration of the minimal keys plus extra lines. */
static struct a0_config *config(const char *extra)
{
	char path[128], arg[160], err[512] = "";
	const char *argv[] = { arg };
	struct a0_config *cfg = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pam_auth0.conf", dir);
	snprintf(arg, sizeof(arg), "config=%s", path);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "domain = tenant.example.com\nclient_id = abc\n%s\n", extra ? extra : "");
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
	if (a0_config_load(1, argv, &cfg, err, sizeof(err)) != 0)
		fail_msg("configuration refused: %s", err);
	return cfg;
}

/* Check claims (JSON text) for user: the result, and the reason must contain `rule`. */
static void expect(const struct a0_config *cfg, const char *user, const char *claims_json,
		   int want, const char *rule, const char *tell_part)
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
	assert_non_null(tell);
	if (!strstr(reason, rule))
		fail_msg("expected '%s' in the reason '%s'", rule, reason);
	if (!strstr(tell, tell_part))
		fail_msg("expected '%s' in the message '%s'", tell_part, tell);
}

static void test_skip_system_accounts(void **state)
{
	struct a0_config *cfg = config(NULL);

	assert_true(a0_policy_skip_user(cfg, "root"));
	assert_true(a0_policy_skip_user(cfg, "daemon")); /* uid 1 */
	assert_false(a0_policy_skip_user(cfg, "nobody")); /* uid 65534 >= 1000 */
	/* No such account: Auth0 decides, and pam_unix's account check refuses it later. */
	assert_false(a0_policy_skip_user(cfg, "a0nosuchuser"));
	a0_config_free(cfg);

	/* min_uid = 0 opens uid 1, never root. */
	cfg = config("min_uid = 0");
	assert_false(a0_policy_skip_user(cfg, "daemon"));
	assert_true(a0_policy_skip_user(cfg, "root"));
	a0_config_free(cfg);
	/* min_uid above nobody's uid. */
	cfg = config("min_uid = 65535");
	assert_true(a0_policy_skip_user(cfg, "nobody"));
	a0_config_free(cfg);

	/* Listing a system account in allowed_users hands it to Auth0. */
	cfg = config("allowed_users = root daemon");
	assert_false(a0_policy_skip_user(cfg, "root"));
	assert_false(a0_policy_skip_user(cfg, "daemon"));
	assert_false(a0_policy_skip_user(cfg, "a0alice"));
	a0_config_free(cfg);
}

static void test_nickname_mapping(void **state)
{
	struct a0_config *cfg = config(NULL);

	assert_string_equal(cfg->user_claim, "nickname");
	expect(cfg, "alice", "{\"nickname\":\"alice\"}", 0, NULL, NULL);
	expect(cfg, "bob", "{\"nickname\":\"alice\"}", A0_ERR_POLICY, "user_claim",
	       "different account");
	expect(cfg, "Alice", "{\"nickname\":\"alice\"}", A0_ERR_POLICY, "user_claim",
	       "different account");
	expect(cfg, "alice", "{\"nickname\":\"alice \"}", A0_ERR_POLICY, "user_claim",
	       "different account");
	expect(cfg, "alice", "{\"email\":\"alice\"}", A0_ERR_POLICY, "no string claim",
	       "could not be matched");
	expect(cfg, "alice", "{\"nickname\":[\"alice\"]}", A0_ERR_POLICY, "no string claim",
	       "could not be matched");
	/* email_verified matters only when the claim is email. */
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"email_verified\":false}", 0, NULL, NULL);
	a0_config_free(cfg);
}

static void test_custom_claim_mapping(void **state)
{
	struct a0_config *cfg = config("user_claim = https://example.com/posix_user");

	expect(cfg, "a0alice",
	       "{\"https://example.com/posix_user\":\"a0alice\",\"nickname\":\"x\"}", 0, NULL,
	       NULL);
	/* alice's credentials for bob's account: refused, and the log says why. */
	expect(cfg, "a0bob",
	       "{\"https://example.com/posix_user\":\"a0alice\",\"nickname\":\"a0bob\"}",
	       A0_ERR_POLICY, "is 'a0alice', this account expects 'a0bob'", "different account");
	expect(cfg, "a0bob", "{\"nickname\":\"a0bob\"}", A0_ERR_POLICY,
	       "no string claim 'https://example.com/posix_user'", "could not be matched");
	a0_config_free(cfg);
}

static void test_email_mapping(void **state)
{
	struct a0_config *cfg = config("username = %u@example.com");

	/* The template has an @: the claim is email, and the expected value the template's. */
	assert_string_equal(cfg->user_claim, "email");
	assert_string_equal(cfg->user_claim_template, "%u@example.com");
	expect(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":true}", 0, NULL,
	       NULL);
	expect(cfg, "bob", "{\"email\":\"alice@example.com\",\"email_verified\":true}",
	       A0_ERR_POLICY, "user_claim", "different account");
	expect(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":false}",
	       A0_ERR_POLICY, "email_verified", "Verify your email");
	expect(cfg, "alice", "{\"email\":\"alice@example.com\"}", A0_ERR_POLICY,
	       "email_verified", "Verify your email");
	expect(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":\"true\"}",
	       A0_ERR_POLICY, "email_verified", "Verify your email");
	a0_config_free(cfg);

	cfg = config("username = %u@example.com\nrequire_email_verified = no");
	expect(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":false}", 0, NULL,
	       NULL);
	a0_config_free(cfg);

	/* Auth0 is asked for the nickname, the token must carry the email. */
	cfg = config("user_claim_template = %u@corp.example");
	assert_string_equal(cfg->username, "%u");
	assert_string_equal(cfg->user_claim, "email");
	expect(cfg, "alice", "{\"email\":\"alice@corp.example\",\"email_verified\":true}", 0, NULL,
	       NULL);
	expect(cfg, "alice", "{\"email\":\"alice@example.com\",\"email_verified\":true}",
	       A0_ERR_POLICY, "user_claim", "different account");
	a0_config_free(cfg);

	/* An explicit claim wins over the default. */
	cfg = config("username = %u@example.com\nuser_claim = nickname");
	expect(cfg, "alice", "{\"nickname\":\"alice@example.com\",\"email_verified\":false}", 0,
	       NULL, NULL);
	a0_config_free(cfg);
}

static void test_allowed_users(void **state)
{
	struct a0_config *cfg = config("allowed_users = alice, carol");

	expect(cfg, "alice", "{\"nickname\":\"alice\"}", 0, NULL, NULL);
	expect(cfg, "bob", "{\"nickname\":\"bob\"}", A0_ERR_POLICY, "allowed_users",
	       "may not sign in");
	a0_config_free(cfg);
}

static void test_allowed_groups(void **state)
{
	struct a0_config *cfg =
		config("allowed_groups = admins ops\ngroups_claim = https://example.com/groups");

	expect(cfg, "alice",
	       "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"dev\",\"admins\"]}", 0,
	       NULL, NULL);
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"ops\"]}", 0,
	       NULL, NULL);
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"users\"]}",
	       A0_ERR_POLICY, "allowed_groups", "may not sign in");
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[]}",
	       A0_ERR_POLICY, "allowed_groups", "may not sign in");
	expect(cfg, "alice", "{\"nickname\":\"alice\"}", A0_ERR_POLICY, "no array claim",
	       "may not sign in");
	/* A string is not a list; non-strings in the list match nothing. */
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":\"admins\"}",
	       A0_ERR_POLICY, "no array claim", "may not sign in");
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[1,null,{}]}",
	       A0_ERR_POLICY, "allowed_groups", "may not sign in");
	/* Group names are exact. */
	expect(cfg, "alice", "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"Admins\"]}",
	       A0_ERR_POLICY, "allowed_groups", "may not sign in");
	/* The identity comes first: the right group does not make another account's token fit. */
	expect(cfg, "bob", "{\"nickname\":\"alice\",\"https://example.com/groups\":[\"admins\"]}",
	       A0_ERR_POLICY, "user_claim", "different account");
	a0_config_free(cfg);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-policy-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skip_system_accounts),
		cmocka_unit_test(test_nickname_mapping),
		cmocka_unit_test(test_custom_claim_mapping),
		cmocka_unit_test(test_email_mapping),
		cmocka_unit_test(test_allowed_users),
		cmocka_unit_test(test_allowed_groups),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
