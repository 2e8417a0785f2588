/* SPDX-License-Identifier: MIT */
/*
 * auth0-sync's state as JSON (sync/state.h): a round trip to the same bytes, in memory and
 * through the file; a missing file is the first run; each malformed or inconsistent text is
 * refused with a reason; the file must be root's (those cases need root and are skipped
 * without it).
 */
#include "config.h"

#include <dirent.h>
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

#include "lib/error.h"
#include "sync/rules.h"
#include "sync/state.h"
#include "sync/sync.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

/* A string literal as the char array the structs' char * fields take (-Wwrite-strings). */
#define S(text) ((char[]){ text })

static char dir[64];
static char path[128];

/* A state with every kind of member: users in each state, role and local groups, retired. */
static char *sample_roles[] = { S("linux-dev"), S("Support Team") };
static struct a0_sync_entry sample_users[] = {
	{ .user_id = S("auth0|a1"),
	  .name = S("alice"),
	  .login = S("alice@example.com"),
	  .uid = 201000,
	  .gid = 201000,
	  .gecos = S("Alice Liddell, Room 1"),
	  .state = A0_SYNC_ACTIVE,
	  .roles = sample_roles,
	  .n_roles = 2 },
	{ .user_id = S("auth0|b2"),
	  .name = S("bob"),
	  .uid = 5001,
	  .gid = 5002,
	  .state = A0_SYNC_BLOCKED },
	{ .user_id = S("auth0|c3"),
	  .name = S("carol"),
	  .uid = 202000,
	  .gid = 202000,
	  .state = A0_SYNC_DELETED,
	  .deleted_at = 1700000100 },
	{ .user_id = S("auth0|d4"),
	  .name = S("dave"),
	  .login = S("dave"),
	  .uid = 203000,
	  .gid = 203000,
	  .state = A0_SYNC_ACTIVE,
	  .local = true },
	{ .user_id = S("auth0|e5"),
	  .name = S("erin"),
	  .uid = 204000,
	  .gid = 204000,
	  .state = A0_SYNC_ACTIVE,
	  .shadowed = true },
};
static struct a0_sync_group sample_groups[] = {
	{ .role_id = S("rol_1"), .role = S("linux-dev"), .name = S("linux-dev"), .gid = 300100 },
	{ .role_id = S("rol_2"),
	  .role = S("linux-old"),
	  .name = S("linux-old"),
	  .gid = 300200,
	  .deleted = true,
	  .deleted_at = 1700000200 },
	{ .role = S("Support Team"), .name = S("sudo"), .gid = 27, .local = true },
};
static struct a0_sync_retired sample_retired[] = { { .id = 201500, .owner = S("auth0|a1") } };
static char sample_watermark[] = "2024-05-01T10:00:00.000Z";

static void sample(struct a0_sync_state *s)
{
	*s = (struct a0_sync_state){
		.users = sample_users,
		.n_users = sizeof(sample_users) / sizeof(sample_users[0]),
		.groups = sample_groups,
		.n_groups = sizeof(sample_groups) / sizeof(sample_groups[0]),
		.retired = sample_retired,
		.n_retired = 1,
		.watermark = sample_watermark,
		.last_full = 1700000000,
		.generated = 1700000300,
	};
}

static void test_round_trip(void **state)
{
	struct a0_sync_state s, got = { 0 };
	char *text = NULL, *again = NULL, err[256] = "";
	size_t len = 0, len2 = 0;

	sample(&s);
	assert_a0(a0_sync_state_print(&s, &text, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_a0(a0_sync_state_parse(text, len, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n_users, 5);
	assert_string_equal(got.users[0].gecos, "Alice Liddell, Room 1");
	assert_int_equal(got.users[0].n_roles, 2);
	assert_string_equal(got.users[0].roles[1], "Support Team");
	assert_null(got.users[1].login);
	assert_int_equal(got.users[1].gid, 5002);
	assert_int_equal(got.users[1].state, A0_SYNC_BLOCKED);
	assert_int_equal(got.users[2].state, A0_SYNC_DELETED);
	assert_int_equal(got.users[2].deleted_at, 1700000100);
	assert_true(got.users[3].local);
	assert_true(got.users[4].shadowed);
	assert_int_equal(got.n_groups, 3);
	assert_true(got.groups[1].deleted);
	assert_null(got.groups[2].role_id);
	assert_true(got.groups[2].local);
	assert_int_equal(got.groups[2].gid, 27);
	assert_int_equal(got.n_retired, 1);
	assert_int_equal(got.retired[0].id, 201500);
	assert_string_equal(got.watermark, "2024-05-01T10:00:00.000Z");
	assert_int_equal(got.last_full, 1700000000);
	assert_int_equal(got.generated, 1700000300);
	/* Printed again: the same bytes. */
	assert_a0(a0_sync_state_print(&got, &again, &len2), 0);
	assert_string_equal(again, text);
	a0_sync_state_free(&got);
	a0_sync_state_free(NULL);
	free(text);
	free(again);
}

static void test_print_refuses(void **state)
{
	struct a0_sync_state s;
	char *text = NULL;
	size_t len;

	sample(&s);
	sample_users[1].state = (enum a0_sync_user_state)3;
	assert_a0(a0_sync_state_print(&s, &text, &len), A0_ERR_INVALID);
	sample_users[1].state = A0_SYNC_BLOCKED;
	assert_null(text);
}

static void test_empty(void **state)
{
	struct a0_sync_state s = { 0 }, got;
	char *text = NULL, err[256];
	size_t len;

	assert_a0(a0_sync_state_print(&s, &text, &len), 0);
	assert_string_equal(text,
			    "{\"format\":1,\"generated\":0,\"last_full\":0,\"users\":[],\"groups\":[],"
			    "\"retired\":[]}");
	assert_a0(a0_sync_state_parse(text, len, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n_users, 0);
	assert_null(got.watermark);
	a0_sync_state_free(&got);
	free(text);
}

#define U(fields) \
	"{\"user_id\":\"auth0|a\",\"name\":\"alice\",\"uid\":201000,\"gid\":201000," fields "}"
#define UA \
	"{\"user_id\":\"auth0|a\",\"name\":\"alice\",\"uid\":201000,\"gid\":201000,\"state\":\"active\"}"
#define UB(uid, name)                                                                   \
	"{\"user_id\":\"auth0|b\",\"name\":\"" name "\",\"uid\":" #uid ",\"gid\":" #uid \
	",\"state\":\"active\"}"
#define DOC(users, groups, retired)                                                               \
	"{\"format\":1,\"generated\":1,\"last_full\":1,\"users\":[" users "],\"groups\":[" groups \
	"],\"retired\":[" retired "]}"

/* Each text is refused as malformed, with a reason in err. */
static void test_bad_input(void **state)
{
	static const char *const texts[] = {
		"not json",
		"[]",
		"{\"format\":2,\"generated\":1,\"last_full\":1,\"users\":[],\"groups\":[],\"retired\":[]}",
		"{\"format\":1,\"last_full\":1,\"users\":[],\"groups\":[],\"retired\":[]}",
		"{\"format\":1,\"generated\":-1,\"last_full\":1,\"users\":[],\"groups\":[],"
		"\"retired\":[]}",
		"{\"format\":1,\"generated\":1,\"last_full\":1,\"groups\":[],\"retired\":[]}",
		"{\"format\":1,\"generated\":1,\"last_full\":1,\"watermark\":\"a b\",\"users\":[],"
		"\"groups\":[],\"retired\":[]}",
		DOC("1", "", ""),
		DOC(U("\"state\":\"gone\""), "", ""),
		DOC(U("\"state\":\"active\",\"roles\":\"x\""), "", ""),
		DOC(U("\"state\":\"active\",\"roles\":[\"a,b\"]"), "", ""),
		DOC(U("\"state\":\"active\",\"roles\":[1]"), "", ""),
		DOC(U("\"state\":\"active\",\"local\":1"), "", ""),
		DOC(U("\"state\":\"active\",\"gecos\":\"a:b\""), "", ""),
		DOC(U("\"state\":\"active\",\"login\":\"a b\""), "", ""),
		DOC("{\"user_id\":\"auth0|a\",\"name\":\"Alice\",\"uid\":201000,\"gid\":201000,"
		    "\"state\":\"active\"}",
		    "", ""),
		DOC("{\"user_id\":\"auth0|a\",\"name\":\"al..ce\",\"uid\":201000,\"gid\":201000,"
		    "\"state\":\"active\"}",
		    "", ""),
		DOC("{\"user_id\":\"auth0 a\",\"name\":\"alice\",\"uid\":201000,\"gid\":201000,"
		    "\"state\":\"active\"}",
		    "", ""),
		DOC("{\"user_id\":\"auth0|a\",\"name\":\"alice\",\"uid\":0,\"gid\":201000,"
		    "\"state\":\"active\"}",
		    "", ""),
		DOC("{\"user_id\":\"auth0|a\",\"name\":\"alice\",\"uid\":2147483647,\"gid\":201000,"
		    "\"state\":\"active\"}",
		    "", ""),
		DOC("{\"user_id\":\"auth0|a\",\"name\":\"alice\",\"uid\":201000.5,\"gid\":201000,"
		    "\"state\":\"active\"}",
		    "", ""),
		/* Twice the same user_id; not sorted; two owners of a uid; two holders of a name. */
		DOC(UA "," UA, "", ""),
		DOC(UB(202000, "bob") "," UA, "", ""),
		DOC(UA "," UB(201000, "bob"), "", ""),
		DOC(UA "," UB(202000, "alice"), "", ""),
		/* A role group with a user's id or name; one without role_id; a retired id another's. */
		DOC(UA,
		    "{\"role_id\":\"rol_1\",\"role\":\"x\",\"name\":\"linux-x\",\"gid\":201000}",
		    ""),
		DOC(UA, "{\"role_id\":\"rol_1\",\"role\":\"x\",\"name\":\"alice\",\"gid\":300000}",
		    ""),
		DOC(UA, "{\"role\":\"x\",\"name\":\"linux-x\",\"gid\":300000}", ""),
		DOC(UA, "", "{\"id\":201000,\"owner\":\"auth0|z\"}"),
		DOC(UA, "", "{\"id\":0,\"owner\":\"auth0|a\"}"),
		"{\"format\":1,\"generated\":1,\"last_full\":1,\"users\":[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]"
		"]]]]]]],\"groups\":[],\"retired\":[]}",
	};
	struct a0_sync_state got = { 0 };
	char err[256];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		err[0] = '\0';
		if (a0_sync_state_parse(texts[i], strlen(texts[i]), &got, err, sizeof(err)) !=
		    A0_ERR_MALFORMED)
			fail_msg("text %zu was not refused: %s", i, texts[i]);
		if (!err[0])
			fail_msg("text %zu: no reason", i);
		assert_int_equal(got.n_users, 0);
	}
	/* What is right is taken, and a retired id may be its owner's own. */
	{
		static const char ok[] = DOC(UA, "", "{\"id\":201001,\"owner\":\"auth0|a\"}");

		assert_a0(a0_sync_state_parse(ok, strlen(ok), &got, err, sizeof(err)), 0);
		a0_sync_state_free(&got);
	}
	/* The size is checked before the text is read. */
	assert_a0(a0_sync_state_parse("{}", (size_t)A0_SYNC_STATE_MAX_BYTES + 1, &got, err,
				      sizeof(err)),
		  A0_ERR_TOO_LARGE);
}

static int count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void test_file(void **state)
{
	struct a0_sync_state s, got = { 0 };
	char *a = NULL, *b = NULL, err[256] = "";
	size_t la, lb;
	struct stat st;

	/* None yet: the first run's empty state. */
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n_users, 0);
	assert_int_equal(got.last_full, 0);
	sample(&s);
	assert_a0(a0_sync_state_save(path, &s, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_files(), 1); /* no temporary file left */
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), 0);
	assert_a0(a0_sync_state_print(&s, &a, &la), 0);
	assert_a0(a0_sync_state_print(&got, &b, &lb), 0);
	assert_string_equal(a, b);
	a0_sync_state_free(&got);
	free(a);
	free(b);
	/* Saved again over the old one. */
	s.generated++;
	assert_a0(a0_sync_state_save(path, &s, err, sizeof(err)), 0);
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), 0);
	assert_int_equal(got.generated, s.generated);
	a0_sync_state_free(&got);
	assert_int_equal(count_files(), 1);
	/* Garbage: a configuration error naming the file. */
	write_text(path, "{\"format\":1}");
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a state file"));
	/* A directory that does not exist. */
	assert_a0(a0_sync_state_save("/nonexistent-a0/sync.state", &s, err, sizeof(err)),
		  A0_ERR_SYSTEM);
}

/* Only a regular file of root's that nobody else may write (needs root). */
static void test_file_owner(void **state)
{
	struct a0_sync_state s, got = { 0 };
	char err[256], link[160];

	if (geteuid() != 0)
		skip();
	sample(&s);
	assert_a0(a0_sync_state_save(path, &s, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0644), 0); /* readable is fine: it holds no secret */
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), 0);
	a0_sync_state_free(&got);
	assert_int_equal(chmod(path, 0620), 0);
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "owned by root"));
	assert_int_equal(chmod(path, 0602), 0);
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chown(path, 1, 1), 0);
	assert_a0(a0_sync_state_load(path, &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "owned by root"));
	assert_int_equal(chown(path, 0, 0), 0);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_a0(a0_sync_state_load(link, &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_a0(a0_sync_state_load(dir, &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_int_equal(got.n_users, 0);
}

static int setup(void **state)
{
	temp_dir(dir, sizeof(dir), "a0-syncstate");
	snprintf(path, sizeof(path), "%s/sync.state", dir);
	return 0;
}

static int teardown(void **state)
{
	return remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_print_refuses),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
