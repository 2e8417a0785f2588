/* SPDX-License-Identifier: MIT */
/*
 * The identities file (lib/identities.h): a round trip, what the writer refuses, what the
 * reader refuses (owner, mode, kind, malformed lines, a name twice), names that are prefixes of
 * others, and the time of one lookup among 100,000 lines. The owner and mode cases need root
 * (a file of another owner) and are skipped without it.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/identities.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

/* A string literal as the char array the structs' char * fields take (-Wwrite-strings). */
#define S(text) ((char[]){ text })

static char dir[64];
static char path[128];

static void write_raw(const char *text, mode_t mode)
{
	write_text(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

static int find(const char *name, struct a0_identity *id, char *err, size_t errlen)
{
	time_t generated = 0;

	err[0] = '\0';
	return a0_identities_find(path, name, id, &generated, err, errlen);
}

static void test_round_trip(void **state)
{
	char *roles_a[] = { S("linux-dev"), S("Support Team") };
	struct a0_identity ids[] = {
		{ .name = S("alice"),
		  .user_id = S("auth0|a1"),
		  .login = S("alice@example.com"),
		  .state = A0_IDENTITY_ACTIVE,
		  .roles = roles_a,
		  .n_roles = 2 },
		{ .name = S("bob"), .user_id = S("auth0|b2"), .state = A0_IDENTITY_BLOCKED },
		{ .name = S("carol"),
		  .user_id = S("samlp|corp|carol"),
		  .login = S("carol"),
		  .state = A0_IDENTITY_DELETED,
		  .local = true },
	};
	struct a0_identity got = { 0 };
	time_t generated = 0;
	struct stat st;
	char err[256] = "";

	assert_a0(a0_identities_write(path, ids, 3, 1700000000, (gid_t)-1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_a0(a0_identities_find(path, "alice", &got, &generated, err, sizeof(err)), 0);
	assert_int_equal(generated, 1700000000);
	assert_string_equal(got.name, "alice");
	assert_string_equal(got.user_id, "auth0|a1");
	assert_string_equal(got.login, "alice@example.com");
	assert_int_equal(got.state, A0_IDENTITY_ACTIVE);
	assert_int_equal(got.n_roles, 2);
	assert_string_equal(got.roles[0], "linux-dev");
	assert_string_equal(got.roles[1], "Support Team");
	assert_false(got.local);
	a0_identity_clear(&got);
	assert_null(got.name);

	assert_a0(a0_identities_find(path, "bob", &got, NULL, err, sizeof(err)), 0);
	assert_string_equal(got.user_id, "auth0|b2");
	assert_null(got.login);
	assert_int_equal(got.state, A0_IDENTITY_BLOCKED);
	assert_int_equal(got.n_roles, 0);
	a0_identity_clear(&got);

	assert_a0(a0_identities_find(path, "carol", &got, NULL, err, sizeof(err)), 0);
	assert_int_equal(got.state, A0_IDENTITY_DELETED);
	assert_true(got.local);
	assert_string_equal(got.login, "carol");
	a0_identity_clear(&got);
	a0_identity_clear(NULL);
}

static void test_not_found(void **state)
{
	struct a0_identity one = { .name = S("alice"), .user_id = S("auth0|a1") }, got = { 0 };
	char err[256];

	assert_a0(find("alice", &got, err, sizeof(err)), A0_ERR_NOT_FOUND); /* no file */
	assert_a0(a0_identities_write(path, &one, 1, 1, (gid_t)-1, err, sizeof(err)), 0);
	assert_a0(find("bob", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
	/* Names that cannot be valid are not looked for, whatever the file holds. */
	assert_a0(find("Alice", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
	assert_a0(find("alice\tauth0|a1", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
	assert_a0(find("", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
	assert_null(got.name);
}

/* A name that starts another (al, alice) or ends one (ice) finds its own line only. */
static void test_prefixes(void **state)
{
	struct a0_identity ids[] = {
		{ .name = S("alice"), .user_id = S("auth0|alice") },
		{ .name = S("al"), .user_id = S("auth0|al") },
		{ .name = S("ice"), .user_id = S("auth0|ice") },
	};
	struct a0_identity got = { 0 };
	char err[256];

	assert_a0(a0_identities_write(path, ids, 3, 1, (gid_t)-1, err, sizeof(err)), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_a0(find(ids[i].name, &got, err, sizeof(err)), 0);
		assert_string_equal(got.user_id, ids[i].user_id);
		a0_identity_clear(&got);
	}
	assert_a0(find("a", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
	assert_a0(find("alic", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
}

/* Each identity the format cannot hold is refused, and the file already there stays. */
static void test_writer_refuses(void **state)
{
	char *comma[] = { S("a,b") }, *dash[] = { S("-") }, *ctl[] = { S("a\tb") },
	     *empty[] = { S("") };
	const struct a0_identity good = { .name = S("alice"), .user_id = S("auth0|a1") };
	const struct a0_identity bad[] = {
		{ .name = S("Alice"), .user_id = S("auth0|a1") },
		{ .name = S("al:ice"), .user_id = S("auth0|a1") },
		{ .name = S(".."), .user_id = S("auth0|a1") },
		{ .name = S("a23456789012345678901234567890123"), .user_id = S("auth0|a1") },
		{ .name = S("alice"), .user_id = S("auth0 a1") },
		{ .name = S("alice"), .user_id = S("auth0|a1\n") },
		{ .name = S("alice"), .user_id = S("-") },
		{ .name = S("alice"), .user_id = S("") },
		{ .name = S("alice"), .user_id = S("auth0|a1"), .login = S("-") },
		{ .name = S("alice"), .user_id = S("auth0|a1"), .login = S("a b") },
		{ .name = S("alice"), .user_id = S("auth0|a1"), .roles = comma, .n_roles = 1 },
		{ .name = S("alice"), .user_id = S("auth0|a1"), .roles = dash, .n_roles = 1 },
		{ .name = S("alice"), .user_id = S("auth0|a1"), .roles = ctl, .n_roles = 1 },
		{ .name = S("alice"), .user_id = S("auth0|a1"), .roles = empty, .n_roles = 1 },
		{ .name = S("alice"),
		  .user_id = S("auth0|a1"),
		  .state = (enum a0_identity_state)7 },
	};
	struct a0_identity twice[] = { good, good }, got = { 0 };
	char err[256];

	assert_a0(a0_identities_write(path, &good, 1, 1, (gid_t)-1, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_a0(a0_identities_write(path, &bad[i], 1, 2, (gid_t)-1, err, sizeof(err)),
			  A0_ERR_INVALID);
		assert_non_null(strstr(err, "invalid"));
	}
	assert_a0(a0_identities_write(path, twice, 2, 2, (gid_t)-1, err, sizeof(err)),
		  A0_ERR_INVALID);
	assert_string_equal(err, "identity alice: named twice");
	assert_a0(find("alice", &got, err, sizeof(err)), 0);
	a0_identity_clear(&got);
	/* A directory that does not exist: a system error, with the path. */
	assert_a0(a0_identities_write("/nonexistent-a0/identities", &good, 1, 1, (gid_t)-1, err,
				      sizeof(err)),
		  A0_ERR_SYSTEM);
	assert_non_null(strstr(err, "/nonexistent-a0/identities"));
}

#define HEAD "# pam_auth0 identities format=1 generated=5\n"

/* Files the reader refuses: A0_ERR_CONFIG with a reason. */
static void test_malformed(void **state)
{
	static const char *const texts[] = {
		"",
		"alice\tauth0|a1\tactive\t-\t-\t0\n",
		"# pam_auth0 identities format=2 generated=5\nalice\tauth0|a1\tactive\t-\t-\t0\n",
		"# pam_auth0 identities format=1 generated=x\nalice\tauth0|a1\tactive\t-\t-\t0\n",
		HEAD "alice\tauth0|a1\tgone\t-\t-\t0\n",
		HEAD "alice\tauth0|a1\tactive\t-\t-\n",
		HEAD "alice\tauth0|a1\tactive\t-\t-\t0\textra\n",
		HEAD "alice\tauth0|a1\tactive\t-\t-\t2\n",
		HEAD "alice\t\tactive\t-\t-\t0\n",
		HEAD "alice\tauth0 a1\tactive\t-\t-\t0\n",
		HEAD "alice\tauth0|a1\tactive\t\t-\t0\n",
		HEAD "alice\tauth0|a1\tactive\t-\ta,,b\t0\n",
		HEAD "alice\tauth0|a1\tactive\t-\t-\t0", /* no newline at the end */
		HEAD "alice\tauth0|a1\tactive\t-\t-\t0\nalice\tauth0|a2\tactive\t-\t-\t0\n",
	};
	struct a0_identity got = { 0 };
	char err[256];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		write_raw(texts[i], 0600);
		assert_a0(find("alice", &got, err, sizeof(err)), A0_ERR_CONFIG);
		assert_non_null(strstr(err, path));
		assert_null(got.name);
	}
	/* A NUL inside the line. */
	{
		static const char text[] = HEAD "alice\tauth0|a\0\tactive\t-\t-\t0\n";
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
		assert_int_equal(fclose(f), 0);
		assert_a0(find("alice", &got, err, sizeof(err)), A0_ERR_CONFIG);
	}
	/* The reader needs only the line of its name: another line's damage is not its. */
	write_raw(HEAD "bob\tauth0|b\tweird\n"
		       "alice\tauth0|a1\tactive\t-\t-\t0\n",
		  0600);
	assert_a0(find("alice", &got, err, sizeof(err)), 0);
	a0_identity_clear(&got);
}

/* Only a regular file of root's that others can neither read nor write (needs root). */
static void test_owner_and_mode(void **state)
{
	const struct a0_identity one = { .name = S("alice"), .user_id = S("auth0|a1") };
	struct a0_identity got = { 0 };
	char err[256], link[160];
	struct stat st;

	if (geteuid() != 0)
		skip();
	assert_a0(a0_identities_write(path, &one, 1, 1, (gid_t)-1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Written for a reader group (auth0-broker's): 0640 and that group, and still read. */
	assert_a0(a0_identities_write(path, &one, 1, 1, 4, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, 4);
	assert_int_equal(st.st_uid, 0);
	assert_a0(find("alice", &got, err, sizeof(err)), 0);
	a0_identity_clear(&got);
	for (size_t i = 0; i < 4; i++) {
		static const mode_t modes[] = { 0604, 0602, 0620, 0666 };

		assert_int_equal(chmod(path, modes[i]), 0);
		assert_a0(find("alice", &got, err, sizeof(err)), A0_ERR_CONFIG);
		assert_non_null(strstr(err, "owned by root"));
	}
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chown(path, 1, 0), 0);
	assert_a0(find("alice", &got, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "owned by root"));
	assert_int_equal(chown(path, 0, 0), 0);
	/* A symbolic link, even to a good file, and a directory. */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_a0(a0_identities_find(link, "alice", &got, NULL, err, sizeof(err)), A0_ERR_CONFIG);
	assert_int_equal(unlink(link), 0);
	assert_a0(a0_identities_find(dir, "alice", &got, NULL, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "not a regular file"));
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One lookup among 100,000 lines: the last name, one that is missing; median of 9 runs. */
static void test_lookup_speed(void **state)
{
	enum { N = 100000, RUNS = 9 };
	struct a0_identity *ids = calloc(N, sizeof(*ids)), got = { 0 };
	char(*names)[16] = calloc(N, sizeof(*names)), (*uids)[32] = calloc(N, sizeof(*uids));
	char *roles[] = { S("linux-dev"), S("linux-ops") }, err[256];
	double t_last[RUNS], t_missing[RUNS], limit = 20;

	assert_non_null(ids);
	assert_non_null(names);
	assert_non_null(uids);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "user%06d", i);
		snprintf(uids[i], sizeof(uids[i]), "auth0|%024d", i);
		ids[i] = (struct a0_identity){ .name = names[i],
					       .user_id = uids[i],
					       .login = uids[i],
					       .roles = roles,
					       .n_roles = 2 };
	}
	assert_a0(a0_identities_write(path, ids, N, 1, (gid_t)-1, err, sizeof(err)), 0);
	for (int k = 0; k < RUNS; k++) {
		double t0 = now_ms();

		assert_a0(find("user099999", &got, err, sizeof(err)), 0);
		t_last[k] = now_ms() - t0;
		assert_string_equal(got.user_id, uids[N - 1]);
		a0_identity_clear(&got);
		t0 = now_ms();
		assert_a0(find("nobody", &got, err, sizeof(err)), A0_ERR_NOT_FOUND);
		t_missing[k] = now_ms() - t0;
	}
	print_message("lookup among %d lines: %.2f ms (last), %.2f ms (missing)\n", N,
		      median(t_last, RUNS), median(t_missing, RUNS));
#if defined(__SANITIZE_ADDRESS__)
	limit = 200; /* the sanitizers check every byte memmem reads */
#endif
	assert_true(median(t_last, RUNS) < limit);
	assert_true(median(t_missing, RUNS) < limit);
	free(ids);
	free(names);
	free(uids);
}

static int setup(void **state)
{
	temp_dir(dir, sizeof(dir), "a0-identities");
	snprintf(path, sizeof(path), "%s/identities", dir);
	return 0;
}

static int teardown(void **state)
{
	return remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_speed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
