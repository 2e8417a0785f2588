/* SPDX-License-Identifier: MIT */
/*
 * auth0-sync(8) against the fake tenant's Management API: a run fills the NSS cache and the
 * identities file (read back with their readers), incremental runs read only what changed (and
 * cost what the manual says), more than 1,000 users go through an export job, deletions only in
 * full runs, roles become groups, hostile users are skipped, the fault matrix (each fault: its
 * exit code, a readable message, and the previous cache, identities file and state byte for
 * byte), 429 waits, snapshots (--export/--import: wrong key, stale, tampered, replayed),
 * private_key_jwt, the lock, root only, --dry-run, --status. Root only (the command is).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lib/identities.h"
#include "lib/util.h"
#include "nss/cache.h"
#include "tests/common/util.h"
#include "tests/sync/common.h"

/* Exit codes of auth0-sync(8). */
enum {
	OK = 0,
	USAGE = 1,
	UNREACHABLE = 2,
	REFUSED = 3,
	RATE_LIMITED = 4,
	MALFORMED = 5,
	LOCAL = 6,
	SNAPSHOT = 7,
	BUSY = 8
};

/* The fake's data file: 11 users, 10 with app_metadata.posix (a0unverified has none). */
#define FIXTURE_USERS 10
#define ALICE "auth0|6a0000000000000000000001"

static struct env e;

static int setup(void **state)
{
	env_reset(&e);
	env_clear(&e);
	(void)rmdir(e.sync_dir); /* each test's first run makes it */
	env_conf(&e, 0, NULL, NULL);
	return 0;
}

static void sync_ok(const char *const *args)
{
	struct run r;

	run_sync(&e, &r, args);
	assert_status(&r, OK);
	run_free(&r);
}
#define SYNC_OK(...) sync_ok((const char *const[]){ NULL, ##__VA_ARGS__, NULL } + 1)

static void assert_contains_at(const char *text, const char *what, const char *file, int line)
{
	if (strstr(text, what))
		return;
	print_error("%s:%d: '%s' not in:\n%s\n", file, line, what, text);
	_fail(file, line);
}
#define assert_contains(t, w) assert_contains_at((t), (w), __FILE__, __LINE__)

static struct a0_cache *cache_open(void)
{
	struct a0_cache *c = NULL;

	assert_int_equal(a0_cache_open(e.cache, &c), 0);
	return c;
}

static bool cache_has_user(const char *name)
{
	struct a0_cache *c = cache_open();
	struct a0_cache_pw pw;
	int r = a0_cache_user_by_name(c, name, &pw);

	a0_cache_close(c);
	assert_true(r == 0 || r == -ENOENT);
	return r == 0;
}

static bool group_has_member(const char *group, const char *user)
{
	struct a0_cache *c = cache_open();
	struct a0_cache_gr gr;
	bool found = false;

	assert_int_equal(a0_cache_group_by_name(c, group, &gr), 0);
	for (size_t i = 0; i < gr.n_members; i++) {
		const char *m = a0_cache_member(c, &gr, i);

		assert_non_null(m);
		found = found || strcmp(m, user) == 0;
	}
	a0_cache_close(c);
	return found;
}

/* The identity of name in the identities file. */
static void identity(const char *name, struct a0_identity *ret)
{
	char err[256] = "";

	if (a0_identities_find(e.identities, name, ret, NULL, err, sizeof(err)) != 0)
		fail_msg("identity %s: %s", name, err);
}

static bool has_role(const struct a0_identity *id, const char *role)
{
	for (size_t i = 0; i < id->n_roles; i++)
		if (strcmp(id->roles[i], role) == 0)
			return true;
	return false;
}

/* Change n fixture users' gecos: each change bumps updated_at, as a Management API update. */
static void change_users(int n, const char *gecos)
{
	static const char *const names[] = { "a0alice",    "a0bob",    "a0otp",   "a0push",
					     "a0reject",   "a0sms",    "a0multi", "a0recovery",
					     "a0noenroll", "a0blocked" };
	static const unsigned uids[] = { 200001, 200002, 200003, 200004, 200005,
					 200006, 200007, 200008, 200009, 200010 };

	assert_true(n <= (int)A0_ARRAY_SIZE(names));
	for (int i = 0; i < n; i++)
		control(&e, "/__control/user",
			"{\"username\": \"%s\", \"app_metadata\": {\"posix\": {\"username\": "
			"\"%s\", \"uid\": %u, \"gecos\": \"%s %d\"}}}",
			names[i], names[i], uids[i], gecos, i);
}

/* ------------------------------------------------------------------ a run's outputs */

static void test_fills_cache_and_identities(void **state)
{
	struct a0_identity id = { 0 };
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct run r;

	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "result=OK run=full");
	/* a0unverified has no app_metadata.posix.username: skipped, one line naming it */
	assert_contains(r.err, "auth0|6a000000000000000000000b");
	run_free(&r);

	/* Made by the run: the cache readable by all, the rest root's alone */
	{
		struct stat st;

		assert_int_equal(stat(e.sync_dir, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0755);
		assert_int_equal(stat(e.cache, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0644);
		assert_int_equal(stat(e.identities, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(stat(e.state, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	c = cache_open();
	assert_int_equal(a0_cache_n_users(c), FIXTURE_USERS);
	assert_int_equal(a0_cache_user_by_name(c, "a0alice", &pw), 0);
	assert_int_equal(pw.uid, 200001);
	assert_int_equal(pw.gid, 200001);
	assert_string_equal(pw.dir, "/home/a0alice");
	assert_string_equal(pw.shell, "/bin/bash");
	assert_int_equal(a0_cache_user_by_name(c, "a0unverified", &pw), -ENOENT);
	assert_true(time(NULL) - a0_cache_generated(c) < 60);
	a0_cache_close(c);

	identity("a0alice", &id);
	assert_string_equal(id.user_id, ALICE);
	assert_int_equal(id.state, A0_IDENTITY_ACTIVE);
	assert_string_equal(id.login, "a0alice");
	assert_true(has_role(&id, "linux-admins"));
	assert_true(has_role(&id, "linux-users"));
	a0_identity_clear(&id);
	identity("a0blocked", &id);
	assert_int_equal(id.state, A0_IDENTITY_BLOCKED);
	a0_identity_clear(&id);
}

static void test_roles_become_groups(void **state)
{
	SYNC_OK();
	assert_true(group_has_member("linux-admins", "a0alice"));
	assert_false(group_has_member("linux-admins", "a0bob"));
	assert_true(group_has_member("linux-users", "a0bob"));
	/* app-viewers has no linux- prefix: no group */
	{
		struct a0_cache *c = cache_open();
		struct a0_cache_gr gr;

		assert_int_equal(a0_cache_group_by_name(c, "app-viewers", &gr), -ENOENT);
		a0_cache_close(c);
	}
	/* Roles are read whole by every run, incremental ones too. */
	control(&e, "/__control/role-members", "{\"role\": \"linux-admins\", \"remove\": [\"%s\"]}",
		ALICE);
	control(&e, "/__control/role-members",
		"{\"role\": \"linux-admins\", \"add\": [\"a0bob\"]}");
	SYNC_OK();
	assert_false(group_has_member("linux-admins", "a0alice"));
	assert_true(group_has_member("linux-admins", "a0bob"));
}

/* ------------------------------------------------------------------ what a run costs */

static void test_incremental_reads_changed_users_only(void **state)
{
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct run r;

	SYNC_OK();
	change_users(10, "Changed");
	stats_reset(&e);
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "run=incremental users_read=10 ");
	run_free(&r);
	/* One page of users, one of roles, one of members for each of the two linux- roles. */
	assert_int_equal(mgmt_requests(&e, "GET /api/v2/users"), 1);
	assert_int_equal(mgmt_requests(&e, "GET /api/v2/roles"), 1);
	assert_int_equal(mgmt_requests(&e, "GET /api/v2/roles/{id}/users"), 2);
	assert_int_equal(mgmt_requests(&e, NULL), 4);
	c = cache_open();
	assert_int_equal(a0_cache_user_by_name(c, "a0alice", &pw), 0);
	assert_string_equal(pw.gecos, "Changed 0");
	a0_cache_close(c);

	/* Nothing changed since: the changes of the last A0_MGMT_WATERMARK_OVERLAP (10) seconds
	 * are read again, in case the search index had not shown them all; the same cost. */
	stats_reset(&e);
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "run=incremental users_read=10 ");
	run_free(&r);
	assert_int_equal(mgmt_requests(&e, NULL), 4);
}

/* The figure: 10 changed users in at most 3 Management API requests, when one role is
 * read (here: role_prefix names linux-admins alone). */
static void test_incremental_ten_users_three_requests(void **state)
{
	struct run r;

	env_conf(&e, 0, NULL, "role_prefix = linux-admins");
	SYNC_OK();
	change_users(10, "Again");
	stats_reset(&e);
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "run=incremental users_read=10 ");
	assert_contains(r.err, "token_requests=1 api_requests=3 ");
	run_free(&r);
	assert_true(mgmt_requests(&e, NULL) <= 3);
}

static void test_export_job_above_1000_users(void **state)
{
	cJSON *stats, *exports;
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct run r;

	control(&e, "/__control/create-users",
		"{\"count\": 1500, \"app_metadata\": {\"posix\": {\"username\": \"{username}\", "
		"\"uid\": \"{uid}\"}}}");
	/* a hostile user in the export file too */
	control(&e, "/__control/create-user",
		"{\"username\": \"hostile\", \"email\": \"hostile@example.com\", "
		"\"app_metadata\": {\"posix\": {\"username\": \"evil\", \"uid\": \"0\"}}}");
	stats_reset(&e);
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "downloads=1 ");
	assert_contains(r.err, "uid or gid is not a whole number");
	run_free(&r);
	assert_int_equal(mgmt_requests(&e, "POST /api/v2/jobs/users-exports"), 1);
	/* The search only told the total: one page */
	assert_int_equal(mgmt_requests(&e, "GET /api/v2/users"), 1);
	stats = fake_get(&e.f, "/__control/stats");
	exports = cJSON_GetObjectItem(stats, "exports");
	assert_int_equal(cJSON_GetObjectItem(exports, "downloads")->valueint, 1);
	/* The Management API token never goes to the file's URL */
	assert_int_equal(cJSON_GetObjectItem(exports, "downloads_with_authorization")->valueint, 0);
	cJSON_Delete(stats);
	c = cache_open();
	assert_int_equal(a0_cache_n_users(c), 1500 + FIXTURE_USERS);
	assert_int_equal(a0_cache_user_by_name(c, "bulk001499", &pw), 0);
	assert_int_equal(pw.uid, 100000 + 1499);
	a0_cache_close(c);
}

/* An export job that does not finish within sync_max_runtime ends the run there. */
static void test_export_job_bounded_by_the_run_time(void **state)
{
	struct run r;

	control(&e, "/__control/create-users", "{\"count\": 1001}");
	control(&e, "/__control/settings", "{\"export_pending_polls\": 100000}");
	env_conf(&e, 0, NULL, "sync_max_runtime = 6");
	SYNC(&e, &r);
	assert_status(&r, UNREACHABLE);
	assert_contains(r.err, "did not finish within sync_max_runtime");
	assert_true(r.seconds < 8.0);
	run_free(&r);
	assert_int_equal(access(e.cache, F_OK), -1);
}

static void test_deletions_only_in_full_runs(void **state)
{
	struct a0_identity id = { 0 };

	SYNC_OK();
	assert_true(cache_has_user("a0bob"));
	fake_control(&e.f, "DELETE", "/__control/user", "{\"username\": \"a0bob\"}");
	SYNC_OK(); /* incremental: it cannot see who is gone */
	assert_true(cache_has_user("a0bob"));
	SYNC_OK("--full");
	assert_false(cache_has_user("a0bob"));
	identity("a0bob", &id);
	assert_int_equal(id.state, A0_IDENTITY_DELETED);
	a0_identity_clear(&id);
	/* A full run is due again once sync_full_interval has passed (0: every run). */
	fake_control(&e.f, "DELETE", "/__control/user", "{\"username\": \"a0otp\"}");
	env_conf(&e, 0, NULL, "sync_full_interval = 0");
	SYNC_OK();
	assert_false(cache_has_user("a0otp"));
}

static void test_hostile_users_skipped(void **state)
{
	static const struct {
		const char *json; /* a user's extra fields */
		const char *name; /* the name it asks for, which must not be served */
		const char *line; /* in its log line */
	} cases[] = {
		{ "\"app_metadata\": {\"posix\": {\"username\": \"evil1\", \"uid\": \"0\"}}",
		  "evil1", "uid or gid is not a whole number" },
		{ "\"app_metadata\": {\"posix\": {\"username\": \"evil2\", \"uid\": 1.5}}", "evil2",
		  "uid or gid is not a whole number" },
		{ "\"app_metadata\": {\"posix\": {\"username\": \"evil3\", \"uid\": 0}}", "evil3",
		  "evil3" },
		{ "\"app_metadata\": {\"posix\": {\"username\": \"evil4\\nroot::0:0::/:/bin/sh\"}}",
		  "evil4", "name_attribute is not a string of printable text" },
		{ "\"app_metadata\": {\"posix\": {\"username\": \"root\"}}", "root", "root" },
		{ "\"app_metadata\": {\"posix\": {\"username\": 42}}", "evil6",
		  "name_attribute is not a string" },
		{ "\"app_metadata\": {\"posix\": \"evil7\"}", "evil7",
		  "app_metadata.posix is not an object" },
		{ "\"app_metadata\": {\"posix\": {\"username\": \"evil8\", \"gid\": -5}}", "evil8",
		  "uid or gid is not a whole number" },
	};
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct run r;

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++)
		control(&e, "/__control/create-user",
			"{\"username\": \"hostile%zu\", \"email\": \"hostile%zu@example.com\", %s}",
			i, i, cases[i].json);
	SYNC(&e, &r);
	assert_status(&r, OK);
	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++)
		assert_contains(r.err, cases[i].line);
	run_free(&r);
	c = cache_open();
	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++)
		if (strcmp(cases[i].name, "root") != 0)
			assert_int_equal(a0_cache_user_by_name(c, cases[i].name, &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_name(c, "root", &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_uid(c, 0, &pw), -ENOENT);
	/* the well-formed users are all there */
	assert_int_equal(a0_cache_n_users(c), FIXTURE_USERS);
	a0_cache_close(c);
}

/* ------------------------------------------------------------------ the fault matrix */

struct fault_case {
	const char *name;
	const char *fault;  /* JSON for /__control/fault, or NULL */
	const char *action; /* JSON for /__control/action, or NULL */
	int port;           /* 1: closed port, 2: other CA's */
	const char *secret; /* another secret, or NULL */
	const char *conf;   /* extra configuration */
	int status;
	const char *message;
	double max_seconds;
};

static void check_fault(const struct fault_case *fc)
{
	struct bytes before[3], after[3];
	const char *paths[3] = { e.cache, e.identities, e.state };
	int port = fc->port == 1 ? e.f.port_closed : fc->port == 2 ? e.f.port_other_ca : 0;
	struct run r, s;

	print_message("fault: %s\n", fc->name);
	setup(NULL);
	SYNC_OK();
	/* What a good run would now change: */
	change_users(2, "Faulted");
	for (int i = 0; i < 3; i++)
		bytes_read(paths[i], &before[i]);
	env_conf(&e, port, fc->secret, fc->conf);
	if (fc->fault)
		control(&e, "/__control/fault", "%s", fc->fault);
	if (fc->action)
		control(&e, "/__control/action", "%s", fc->action);
	SYNC(&e, &r);
	fake_control(&e.f, "DELETE", "/__control/fault", NULL);
	fake_control(&e.f, "DELETE", "/__control/action", NULL);
	if (r.status != fc->status)
		fail_msg("%s: exit %d, expected %d: %s", fc->name, r.status, fc->status, r.err);
	assert_contains(r.err, fc->message);
	assert_contains(r.err, "stays in place");
	if (fc->max_seconds > 0 && r.seconds > fc->max_seconds)
		fail_msg("%s: took %.1f s, more than %.1f", fc->name, r.seconds, fc->max_seconds);
	for (int i = 0; i < 3; i++) {
		bytes_read(paths[i], &after[i]);
		if (!before[i].data || !bytes_equal(&before[i], &after[i]))
			fail_msg("%s: %s changed", fc->name, paths[i]);
		bytes_free(&before[i]);
		bytes_free(&after[i]);
	}
	/* --status tells the failure and the cache's age */
	SYNC(&e, &s, "--status");
	assert_status(&s, fc->status);
	assert_contains(s.out, "last error: ");
	assert_contains(s.out, fc->message);
	assert_contains(s.out, "data from");
	run_free(&s);
	run_free(&r);
	/* and a good run after it succeeds */
	env_conf(&e, 0, NULL, NULL);
	SYNC_OK();
	assert_true(cache_has_user("a0alice"));
}

static void test_fault_matrix(void **state)
{
	static const struct fault_case cases[] = {
		{ .name = "down: the tenant's port is closed",
		  .port = 1,
		  .status = UNREACHABLE,
		  .message = "token: could not reach the Auth0 tenant" },
		{ .name = "TLS: a certificate of another CA",
		  .port = 2,
		  .status = UNREACHABLE,
		  .message = "token: TLS connection to the Auth0 tenant could not be verified" },
		/* Under load the token request may be the one that times out: either way the
		 * run ends within its timeouts and retries, far below the fault's 4 x 8 s. */
		{ .name = "slow: no answer within timeout",
		  .fault = "{\"path\": \"/api/v2/users\", \"kind\": \"delay\", \"seconds\": 8, "
			   "\"count\": -1}",
		  .conf = "timeout = 1",
		  .status = UNREACHABLE,
		  .message = "the Auth0 tenant did not answer in time",
		  .max_seconds = 12 },
		{ .name = "500 on every Management API request",
		  .fault = "{\"path\": \"/api/v2/*\", \"kind\": \"status\", \"status\": 500, "
			   "\"body\": {\"statusCode\": 500, \"error\": \"Internal Server Error\", "
			   "\"message\": \"boom\"}, \"count\": -1}",
		  .status = UNREACHABLE,
		  .message = "users: the Auth0 tenant had a server error (HTTP 500" },
		{ .name = "429 until after sync_max_runtime",
		  .fault = "{\"path\": \"/api/v2/roles\", \"kind\": \"rate_limit\", "
			   "\"retry_after\": 120, \"count\": -1}",
		  .conf = "sync_max_runtime = 10",
		  .status = RATE_LIMITED,
		  .message = "roles: the Auth0 tenant's rate limit was reached",
		  .max_seconds = 5 },
		{ .name = "garbage: not JSON",
		  .fault = "{\"path\": \"/api/v2/users\", \"kind\": \"garbage\", \"count\": -1}",
		  .status = MALFORMED,
		  .message = "users: the Auth0 tenant's answer is malformed (not JSON)" },
		{ .name = "10 MB answer",
		  .fault = "{\"path\": \"/api/v2/roles\", \"kind\": \"huge\", \"count\": -1}",
		  .status = MALFORMED,
		  .message = "roles: the Auth0 tenant's answer is too large" },
		{ .name = "wrong content type",
		  .fault = "{\"path\": \"/api/v2/users\", \"kind\": \"wrong_content_type\", "
			   "\"count\": -1}",
		  .status = MALFORMED,
		  .message = "users: the Auth0 tenant's answer is malformed (content type" },
		{ .name = "expired client secret",
		  .secret = "an-expired-secret",
		  .status = REFUSED,
		  .message = "Auth0 did not accept the credentials of application sync-client "
			     "(HTTP 401 access_denied: Unauthorized): the secret in "
			     "sync_client_secret_file is wrong, expired or rotated" },
		{ .name = "the Action denies (access_denied)",
		  .action = "{\"deny\": {\"code\": \"access_denied\", \"reason\": \"hosts are "
			    "frozen\"}, \"count\": -1}",
		  .status = REFUSED,
		  .message = "Auth0 denied application sync-client a Management API token "
			     "(access_denied: hosts are frozen): an Action refused it" },
		{ .name = "the Action denies (invalid_scope)",
		  .action = "{\"deny\": {\"code\": \"invalid_scope\", \"reason\": \"no user "
			    "reads\"}, \"count\": -1}",
		  .status = REFUSED,
		  .message = "Auth0 refused the scopes of application sync-client (invalid_scope: "
			     "no user reads)" },
		{ .name = "the Action denies (invalid_request)",
		  .action = "{\"deny\": {\"code\": \"invalid_request\", \"reason\": \"bad "
			    "host\"}, \"count\": -1}",
		  .status = REFUSED,
		  .message = "(invalid_request: bad host)" },
		{ .name = "no client grant for the Management API",
		  .conf = "sync_client_id = sync-nogrant",
		  .secret = "test-sync-nogrant-secret-000",
		  .status = REFUSED,
		  .message = "is not authorized to access" },
		{ .name = "a scope missing (read:roles)",
		  .conf = "sync_client_id = sync-limited",
		  .secret = "test-sync-limited-secret-789",
		  .status = REFUSED,
		  .message = "roles: the Auth0 application is not set up for this (HTTP 403 "
			     "insufficient_scope: Insufficient scope" },
		{ .name = "a connection Auth0 does not have (full run)",
		  .status = REFUSED,
		  .conf = "sync_connections = No-Such-Connection\nsync_full_interval = 0",
		  .message = "users: Auth0 has no connection named 'No-Such-Connection'" },
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++)
		check_fault(&cases[i]);
}

/* A 500 is sent again (3 times), then given up; a 500 once is only a retry. */
static void test_server_errors_retried(void **state)
{
	struct run r;

	SYNC_OK();
	stats_reset(&e);
	control(&e, "/__control/fault",
		"{\"path\": \"/api/v2/users\", \"kind\": \"status\", \"status\": 503, \"count\": 2}");
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "retries=2 ");
	run_free(&r);
	/* the fake's log holds the answers a fault gave too */
	assert_int_equal(fake_count(&e.f, "/api/v2/users", NULL), 3);
	stats_reset(&e);
	control(&e, "/__control/fault",
		"{\"path\": \"/api/v2/users\", \"kind\": \"status\", \"status\": 502, \"count\": -1}");
	SYNC(&e, &r);
	assert_status(&r, UNREACHABLE);
	assert_contains(r.err, "retries=3 ");
	run_free(&r);
	assert_int_equal(fake_count(&e.f, "/api/v2/users", NULL), 4);
}

/* A 429 is waited out until X-RateLimit-Reset, then the run goes on. */
static void test_rate_limit_waits_for_reset(void **state)
{
	struct run r;

	SYNC_OK();
	control(&e, "/__control/fault",
		"{\"path\": \"/api/v2/users\", \"kind\": \"rate_limit\", \"retry_after\": 2, "
		"\"count\": 1}");
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "rate_waits=1 ");
	assert_true(r.seconds >= 1.0);
	run_free(&r);
	/* The tenant's own bucket (no Retry-After, X-RateLimit-Reset only): 2 a second */
	control(&e, "/__control/settings",
		"{\"mgmt_rate_limit_burst\": 2, \"mgmt_rate_limit_per_second\": 1}");
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_false(strstr(r.err, "rate_waits=0 "));
	run_free(&r);
}

/*
 * A connection with no users is looked up: a misspelt name must not read as "every user was
 * deleted". One that exists and is empty is fine.
 */
static void test_empty_connection(void **state)
{
	struct run r;

	env_conf(&e, 0, NULL, "sync_connections = Other-DB");
	SYNC(&e, &r);
	assert_status(&r, OK);
	assert_contains(r.err, "users_read=0 ");
	run_free(&r);
	assert_int_equal(mgmt_requests(&e, "GET /api/v2/connections"), 1);
	env_conf(&e, 0, NULL, "sync_connections = Bad\"Name");
	SYNC(&e, &r);
	assert_status(&r, USAGE);
	assert_contains(r.err, "is not a connection name");
	run_free(&r);
}

/* ------------------------------------------------------------------ credentials */

static void openssl(const char *args)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "openssl %s 2>/dev/null", args);
	if (system(cmd) != 0)
		fail_msg("openssl %s failed", args);
}

static void test_private_key_jwt(void **state)
{
	char key[160], pub[160], args[512], extra[512];
	struct bytes pem;
	cJSON *stats, *body;
	char *json;
	struct run r;

	snprintf(key, sizeof(key), "%s/sync-key.pem", e.dir);
	snprintf(pub, sizeof(pub), "%s/sync-pub.pem", e.dir);
	snprintf(args, sizeof(args), "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s",
		 key);
	openssl(args);
	snprintf(args, sizeof(args), "pkey -in %s -pubout -out %s", key, pub);
	openssl(args);
	assert_int_equal(chmod(key, 0600), 0);
	bytes_read(pub, &pem);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "client_id", "sync-jwt");
	cJSON_AddStringToObject(body, "pem", pem.data);
	json = cJSON_PrintUnformatted(body);
	fake_control(&e.f, "POST", "/__control/client-key", json);
	free(json);
	cJSON_Delete(body);
	bytes_free(&pem);

	snprintf(extra, sizeof(extra),
		 "sync_client_id = sync-jwt\nsync_client_secret_file =\n"
		 "sync_private_key_file = %s",
		 key);
	/* sync_client_secret_file cannot be emptied: write the file without it */
	env_conf(&e, 0, NULL, NULL);
	{
		struct bytes conf;
		char *p, *nl;

		bytes_read(e.conf, &conf);
		p = strstr(conf.data, "sync_client_secret_file");
		nl = strchr(p, '\n');
		memmove(p, nl + 1, strlen(nl + 1) + 1);
		snprintf(extra, sizeof(extra),
			 "%ssync_client_id = sync-jwt\nsync_private_key_file = %s\n", conf.data,
			 key);
		write_text(e.conf, extra);
		bytes_free(&conf);
	}
	SYNC(&e, &r);
	assert_status(&r, OK);
	run_free(&r);
	stats = fake_get(&e.f, "/__control/stats");
	assert_int_equal(cJSON_GetObjectItem(stats, "client_assertions")->valueint, 1);
	cJSON_Delete(stats);
	assert_true(cache_has_user("a0alice"));

	/* A key others may read is refused before anything is sent */
	assert_int_equal(chmod(key, 0644), 0);
	SYNC(&e, &r);
	assert_status(&r, USAGE);
	assert_contains(r.err, "sync_private_key_file: must be a regular file owned by root");
	run_free(&r);
	/* The secret of a client with private-key credentials is refused */
	env_conf(&e, 0, "test-sync-jwt-secret-111", "sync_client_id = sync-jwt");
	SYNC(&e, &r);
	assert_status(&r, REFUSED);
	run_free(&r);
}

static void test_secret_file_must_be_roots_alone(void **state)
{
	char path[160];
	struct run r;

	snprintf(path, sizeof(path), "%s/secret", e.dir);
	assert_int_equal(chmod(path, 0640), 0);
	SYNC(&e, &r);
	assert_status(&r, USAGE);
	assert_contains(r.err, "sync_client_secret_file: must be a regular file owned by root");
	run_free(&r);
	/* nothing was sent */
	assert_int_equal(fake_count(&e.f, "/oauth/token", NULL), 0);
}

/* ------------------------------------------------------------------ snapshots */

struct keys {
	char key[160], pub[160], other_key[160], other_pub[160];
};

static void make_keys(struct keys *k)
{
	char args[512];

	snprintf(k->key, sizeof(k->key), "%s/snap-key.pem", e.dir);
	snprintf(k->pub, sizeof(k->pub), "%s/snap-pub.pem", e.dir);
	snprintf(k->other_key, sizeof(k->other_key), "%s/other-key.pem", e.dir);
	snprintf(k->other_pub, sizeof(k->other_pub), "%s/other-pub.pem", e.dir);
	snprintf(args, sizeof(args), "genpkey -algorithm ed25519 -out %s", k->key);
	openssl(args);
	snprintf(args, sizeof(args), "pkey -in %s -pubout -out %s", k->key, k->pub);
	openssl(args);
	snprintf(args, sizeof(args), "genpkey -algorithm ed25519 -out %s", k->other_key);
	openssl(args);
	snprintf(args, sizeof(args), "pkey -in %s -pubout -out %s", k->other_key, k->other_pub);
	openssl(args);
	assert_int_equal(chmod(k->key, 0600), 0);
	assert_int_equal(chmod(k->other_key, 0600), 0);
}

/* Import file into the fleet host's sync dir (dir/fleet), trusting pub; its exit status. */
static int import(const char *file, const char *pub, const char *extra, struct run *r)
{
	char conf[512];

	snprintf(conf, sizeof(conf), "sync_dir = %s/fleet\nsnapshot_public_key = %s\n%s", e.dir,
		 pub, extra ? extra : "");
	env_conf(&e, 0, NULL, conf);
	return SYNC(&e, r, "--import", file);
}

static void fleet_paths(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/fleet/%s", e.dir, name);
}

static void test_snapshot_export_import(void **state)
{
	struct keys k;
	char snap[160], old[160], bad[160], fleet_ids[200], fleet_cache[200], fleet_state[200];
	struct bytes ids, fleet[3], after[3];
	struct a0_cache *c = NULL;
	struct run r;

	make_keys(&k);
	snprintf(snap, sizeof(snap), "%s/snapshot", e.dir);
	snprintf(old, sizeof(old), "%s/snapshot.old", e.dir);
	snprintf(bad, sizeof(bad), "%s/snapshot.bad", e.dir);
	fleet_paths("identities", fleet_ids, sizeof(fleet_ids));
	fleet_paths("nss.cache", fleet_cache, sizeof(fleet_cache));
	fleet_paths("sync.state", fleet_state, sizeof(fleet_state));

	/* Before any run there is nothing to export */
	SYNC(&e, &r, "--export", snap, "--signing-key", k.key);
	assert_status(&r, LOCAL);
	run_free(&r);
	SYNC_OK();
	SYNC(&e, &r, "--export", snap, "--signing-key", k.key);
	assert_status(&r, OK);
	run_free(&r);
	/* an older snapshot, for the replay below */
	sleep(1);
	assert_int_equal(rename(snap, old), 0);
	change_users(1, "Newer");
	SYNC_OK();
	SYNC_OK("--export", snap, "--signing-key", k.key);

	/* The fleet host: the same identities as the exporting host */
	import(snap, k.pub, NULL, &r);
	assert_status(&r, OK);
	run_free(&r);
	bytes_read(e.identities, &ids);
	bytes_read(fleet_ids, &fleet[0]);
	assert_true(bytes_equal(&ids, &fleet[0]));
	bytes_free(&ids);
	bytes_free(&fleet[0]);
	assert_int_equal(a0_cache_open(fleet_cache, &c), 0);
	assert_int_equal(a0_cache_n_users(c), FIXTURE_USERS);
	a0_cache_close(c);

	bytes_read(fleet_cache, &fleet[0]);
	bytes_read(fleet_ids, &fleet[1]);
	bytes_read(fleet_state, &fleet[2]);
	/* Signed by another key; an older snapshot (replay); a changed byte; not a snapshot:
	 * each refused, the fleet host's files unchanged. */
	{
		struct {
			const char *file, *pub, *extra, *message;
		} cases[] = {
			{ snap, k.other_pub, NULL, "import" },
			{ old, k.pub, NULL, "older than this host's" },
			{ bad, k.pub, NULL, "import" },
			{ e.conf, k.pub, NULL, "import" },
		};
		struct bytes b;

		bytes_read(snap, &b);
		b.data[b.len - 10] ^= 1;
		write_text(bad, b.data);
		bytes_free(&b);
		for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
			import(cases[i].file, cases[i].pub, cases[i].extra, &r);
			if (r.status != SNAPSHOT)
				fail_msg("import case %zu: exit %d: %s", i, r.status, r.err);
			assert_contains(r.err, cases[i].message);
			run_free(&r);
			bytes_read(fleet_cache, &after[0]);
			bytes_read(fleet_ids, &after[1]);
			bytes_read(fleet_state, &after[2]);
			for (int j = 0; j < 3; j++) {
				assert_true(bytes_equal(&fleet[j], &after[j]));
				bytes_free(&after[j]);
			}
		}
	}
	/* --status on the fleet host: the import */
	import(snap, k.pub, NULL, &r);
	run_free(&r);
	SYNC(&e, &r, "--status");
	assert_status(&r, OK);
	assert_contains(r.out, "import, OK");
	run_free(&r);
	for (int j = 0; j < 3; j++)
		bytes_free(&fleet[j]);
}

/* A snapshot whose data was read from Auth0 longer ago than snapshot_max_age is refused. */
static void test_snapshot_too_old(void **state)
{
	struct keys k;
	char snap[160], fleet_cache[200];
	struct bytes st;
	cJSON *o;
	char *text;
	struct run r;

	make_keys(&k);
	snprintf(snap, sizeof(snap), "%s/snapshot", e.dir);
	fleet_paths("nss.cache", fleet_cache, sizeof(fleet_cache));
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/fleet'", e.dir);
		assert_int_equal(system(cmd), 0);
	}
	SYNC_OK();
	/* The state as if its data had been read two hours ago */
	bytes_read(e.state, &st);
	o = cJSON_Parse(st.data);
	assert_non_null(o);
	cJSON_SetNumberValue(cJSON_GetObjectItem(o, "generated"), (double)(time(NULL) - 7200));
	text = cJSON_PrintUnformatted(o);
	assert_int_equal(a0_replace_file(e.state, text, strlen(text), 0600), 0);
	free(text);
	cJSON_Delete(o);
	bytes_free(&st);
	SYNC_OK("--export", snap, "--signing-key", k.key);
	import(snap, k.pub, "snapshot_max_age = 3600", &r);
	assert_status(&r, SNAPSHOT);
	run_free(&r);
	assert_int_equal(access(fleet_cache, F_OK), -1);
	import(snap, k.pub, "snapshot_max_age = 10800", &r);
	assert_status(&r, OK);
	run_free(&r);
}

/* ------------------------------------------------------------------ the command */

static void test_one_run_at_a_time(void **state)
{
	char path[200];
	struct run r;
	int fd;

	SYNC_OK();
	snprintf(path, sizeof(path), "%s/sync.lock", e.sync_dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	SYNC(&e, &r);
	assert_status(&r, BUSY);
	assert_contains(r.err, "another auth0-sync is running");
	run_free(&r);
	close(fd);
	SYNC_OK();
}

static void test_root_only(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 2) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(126);
		execl(A0_SYNC_BIN, "auth0-sync", "--config", e.conf, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), USAGE);
	assert_int_equal(fake_count(&e.f, "/oauth/token", NULL), 0);
}

static void test_dry_run_writes_nothing(void **state)
{
	struct run r;

	SYNC(&e, &r, "--dry-run");
	assert_status(&r, OK);
	assert_contains(r.out, "dry run (full): read 11 users and 2 roles; the cache would hold "
			       "10 users");
	run_free(&r);
	assert_int_equal(access(e.cache, F_OK), -1);
	assert_int_equal(access(e.identities, F_OK), -1);
	assert_int_equal(access(e.state, F_OK), -1);
	assert_int_equal(access(e.status, F_OK), -1);
}

static void test_usage(void **state)
{
	static const char *const cases[][4] = {
		{ "--bogus" },
		{ "--export", "/tmp/x" },
		{ "--signing-key", "/tmp/k" },
		{ "--status", "--full" },
		{ "--status", "--import", "/tmp/x" },
		{ "extra" },
	};
	struct run r;

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		run_sync(&e, &r, cases[i]);
		assert_status(&r, USAGE);
		assert_contains(r.err, "Usage: auth0-sync");
		run_free(&r);
	}
	SYNC(&e, &r, "--help");
	assert_status(&r, OK);
	assert_contains(r.out, "Usage: auth0-sync");
	run_free(&r);
	/* no sync_connections */
	env_conf(&e, 0, NULL, "sync_connections =");
	SYNC(&e, &r);
	assert_status(&r, USAGE);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fills_cache_and_identities, setup),
		cmocka_unit_test_setup(test_roles_become_groups, setup),
		cmocka_unit_test_setup(test_incremental_reads_changed_users_only, setup),
		cmocka_unit_test_setup(test_incremental_ten_users_three_requests, setup),
		cmocka_unit_test_setup(test_export_job_above_1000_users, setup),
		cmocka_unit_test_setup(test_export_job_bounded_by_the_run_time, setup),
		cmocka_unit_test_setup(test_deletions_only_in_full_runs, setup),
		cmocka_unit_test_setup(test_hostile_users_skipped, setup),
		cmocka_unit_test_setup(test_fault_matrix, setup),
		cmocka_unit_test_setup(test_server_errors_retried, setup),
		cmocka_unit_test_setup(test_rate_limit_waits_for_reset, setup),
		cmocka_unit_test_setup(test_empty_connection, setup),
		cmocka_unit_test_setup(test_private_key_jwt, setup),
		cmocka_unit_test_setup(test_secret_file_must_be_roots_alone, setup),
		cmocka_unit_test_setup(test_snapshot_export_import, setup),
		cmocka_unit_test_setup(test_snapshot_too_old, setup),
		cmocka_unit_test_setup(test_one_run_at_a_time, setup),
		cmocka_unit_test_setup(test_root_only, setup),
		cmocka_unit_test_setup(test_dry_run_writes_nothing, setup),
		cmocka_unit_test_setup(test_usage, setup),
	};

	env_init(&e, "a0-sync-test");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
