/* SPDX-License-Identifier: MIT */
/*
 * libnss_auth0 behind glibc's public calls (getpwnam, getgrent, getgrouplist...) under cwrap's
 * nss_wrapper: the program runs itself again with nss_wrapper preloaded, its files backend
 * reading a passwd and group of ours and its module backend loading the test build of the
 * module (nss/.libs/libnss_auth0_test.so, NSS_WRAPPER_MODULE_FN_PREFIX=auth0) with the cache
 * in a temporary directory (A0_NSS_CACHE). Nothing of the host's /etc is read or changed.
 *
 * nss_wrapper computes getgrouplist from getgrent, so the groups it reports are the served
 * ones; _nss_auth0_initgroups_dyn itself, with the local groups, is tested as glibc calls it in
 * tests/unit/test_nss_glibc.c.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
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

#include "lib/util.h"
#include "nss/cache.h"
#include "tests/common/util.h"
#include "tests/unit/test_nss_fixture.h"

static char dir[64];

static const char *cache_path(void)
{
	const char *p = getenv("A0_NSS_CACHE");

	if (!p)
		fail_msg("A0_NSS_CACHE is not set");
	return p;
}

static void write_cache(const struct a0_cache_user *users, size_t n_users,
			const struct a0_cache_group *groups, size_t n_groups)
{
	char err[256] = "";

	if (a0_cache_write(cache_path(), users, n_users, groups, n_groups, FIXTURE_GENERATED, err,
			   sizeof(err)) != 0)
		fail_msg("a0_cache_write: %s", err);
}

static void write_fixture(void)
{
	write_cache(fixture_users, A0_ARRAY_SIZE(fixture_users), fixture_groups,
		    A0_ARRAY_SIZE(fixture_groups));
}

static void test_getpw(void **state)
{
	struct passwd *pw;

	write_fixture();
	pw = getpwnam("a0alice");
	assert_non_null(pw);
	assert_string_equal(pw->pw_name, "a0alice");
	assert_string_equal(pw->pw_passwd, "*");
	assert_int_equal(pw->pw_uid, 70001);
	assert_int_equal(pw->pw_gid, 70001);
	assert_string_equal(pw->pw_gecos, "Alice Example,,,");
	assert_string_equal(pw->pw_dir, "/home/a0alice");
	assert_string_equal(pw->pw_shell, "/bin/bash");
	pw = getpwuid(70003);
	assert_non_null(pw);
	assert_string_equal(pw->pw_name, "a0carol");
	assert_string_equal(pw->pw_gecos, "");
	/* The files backend still answers for its own. */
	pw = getpwnam("root");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 0);
	assert_null(getpwnam("a0nobody"));
	assert_null(getpwuid(70004));
	assert_null(getpwnam("localdave")); /* a member, not a user */
}

/* getpwnam_r with a buffer too small: ERANGE, then the same call with a bigger one succeeds. */
static void test_erange_retry(void **state)
{
	struct passwd pwd, *res = NULL;
	struct group grp, *gres = NULL;
	char small[16], big[1024];

	write_fixture();
	assert_int_equal(getpwnam_r("a0alice", &pwd, small, sizeof(small), &res), ERANGE);
	assert_null(res);
	assert_int_equal(getpwnam_r("a0alice", &pwd, big, sizeof(big), &res), 0);
	assert_ptr_equal(res, &pwd);
	assert_string_equal(pwd.pw_dir, "/home/a0alice");
	assert_int_equal(getpwuid_r(70002, &pwd, small, sizeof(small), &res), ERANGE);
	assert_int_equal(getpwuid_r(70002, &pwd, big, sizeof(big), &res), 0);
	assert_string_equal(pwd.pw_name, "a0bob");
	assert_int_equal(getgrnam_r("a0devs", &grp, small, sizeof(small), &gres), ERANGE);
	assert_int_equal(getgrnam_r("a0devs", &grp, big, sizeof(big), &gres), 0);
	assert_string_equal(grp.gr_mem[2], "localdave");
}

static void test_getpwent(void **state)
{
	char *seen[8];
	struct passwd *pw;
	size_t n = 0;
	bool root = false;

	write_fixture();
	setpwent();
	while ((pw = getpwent())) {
		if (strcmp(pw->pw_name, "root") == 0)
			root = true;
		if (strncmp(pw->pw_name, "a0", 2) == 0 && n < A0_ARRAY_SIZE(seen))
			seen[n++] = strdup(pw->pw_name);
	}
	endpwent();
	assert_true(root);
	assert_int_equal(n, 3);
	assert_string_equal(seen[0], "a0alice");
	assert_string_equal(seen[1], "a0bob");
	assert_string_equal(seen[2], "a0carol");
	for (size_t i = 0; i < n; i++)
		free(seen[i]);
}

static void test_getgr(void **state)
{
	struct group *gr;

	write_fixture();
	gr = getgrnam("a0devs");
	assert_non_null(gr);
	assert_int_equal(gr->gr_gid, 71000);
	assert_string_equal(gr->gr_mem[0], "a0alice");
	assert_string_equal(gr->gr_mem[1], "a0bob");
	assert_string_equal(gr->gr_mem[2], "localdave");
	assert_null(gr->gr_mem[3]);
	gr = getgrgid(70001);
	assert_non_null(gr);
	assert_string_equal(gr->gr_name, "a0alice");
	assert_null(gr->gr_mem[0]);
	gr = getgrgid(100); /* the files backend's */
	assert_non_null(gr);
	assert_string_equal(gr->gr_name, "users");
	/* The role mapped to the local sudo group is not a group of ours. */
	assert_null(getgrnam("sudo"));
	assert_null(getgrgid(27));
}

static void test_getgrent_and_grouplist(void **state)
{
	gid_t groups[16];
	int n = A0_ARRAY_SIZE(groups), ours = 0;
	struct group *gr;

	write_fixture();
	setgrent();
	while ((gr = getgrent())) {
		assert_string_not_equal(gr->gr_name, "sudo");
		if (gr->gr_gid >= 70000)
			ours++;
	}
	endgrent();
	assert_int_equal(ours, 4);
	assert_true(getgrouplist("a0alice", 70001, groups, &n) >= 0);
	assert_int_equal(n, 3);
	assert_int_equal(groups[0], 70001);
	assert_int_equal(groups[1], 71000);
	assert_int_equal(groups[2], 71001);
	n = A0_ARRAY_SIZE(groups);
	assert_true(getgrouplist("localdave", 100, groups, &n) >= 0);
	assert_int_equal(n, 2);
	assert_int_equal(groups[1], 71000);
}

/* No cache: the module is unavailable and the files backend answers alone. */
static void test_absent_cache_falls_through(void **state)
{
	char moved[192];

	write_fixture();
	snprintf(moved, sizeof(moved), "%s.moved", cache_path());
	assert_int_equal(rename(cache_path(), moved), 0);
	assert_null(getpwnam("a0alice"));
	assert_null(getgrnam("a0devs"));
	assert_non_null(getpwnam("root"));
	assert_non_null(getgrnam("users"));
	/* Back: found again, with no restart. */
	assert_int_equal(rename(moved, cache_path()), 0);
	assert_non_null(getpwnam("a0alice"));
	/* Writable by others: refused, as if absent. */
	assert_int_equal(chmod(cache_path(), 0666), 0);
	assert_null(getpwnam("a0alice"));
	assert_int_equal(chmod(cache_path(), 0644), 0);
	assert_non_null(getpwnam("a0alice"));
}

/* auth0-sync replaces the file while the process runs: the next call sees the new data. */
static void test_replaced_cache_seen(void **state)
{
	const struct a0_cache_user next[] = {
		{ "a0bob", 70002, 70002, "Bob Renamed", "/home/a0bob", "/bin/zsh" },
		{ "a0dave", 70004, 70004, "Dave", "/home/a0dave", "/bin/bash" },
	};
	const char *const members[] = { "a0dave" };
	const struct a0_cache_group groups[] = { { "a0devs", 71000, members, 1, 0 } };
	struct passwd *pw;
	struct group *gr;

	write_fixture();
	assert_non_null(getpwnam("a0alice"));
	assert_null(getpwnam("a0dave"));
	write_cache(next, A0_ARRAY_SIZE(next), groups, A0_ARRAY_SIZE(groups));
	assert_null(getpwnam("a0alice"));
	pw = getpwnam("a0dave");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 70004);
	pw = getpwuid(70002);
	assert_non_null(pw);
	assert_string_equal(pw->pw_gecos, "Bob Renamed");
	assert_string_equal(pw->pw_shell, "/bin/zsh");
	gr = getgrnam("a0devs");
	assert_non_null(gr);
	assert_string_equal(gr->gr_mem[0], "a0dave");
	assert_null(gr->gr_mem[1]);
}

/* Run the tests above under nss_wrapper, in a child process. */
static void test_under_nss_wrapper(void **state)
{
	char cache[128];

	snprintf(cache, sizeof(cache), "%s/nss.cache", dir);
	setenv("A0_NSS_CACHE", cache, 1);
	setenv("NSS_WRAPPER_MODULE_SO_PATH", A0_NSS_TEST_MODULE, 1);
	setenv("NSS_WRAPPER_MODULE_FN_PREFIX", "auth0", 1);
	if (access(A0_NSS_TEST_MODULE, R_OK) != 0)
		fail_msg("%s is missing", A0_NSS_TEST_MODULE);
	if (nsswrap_rerun(dir, "root:x:0:0:root:/root:/bin/sh\n", 0) != 0)
		fail_msg("the tests under nss_wrapper failed: see above");
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-nsswrap-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
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
		cmocka_unit_test(test_getpw),
		cmocka_unit_test(test_erange_retry),
		cmocka_unit_test(test_getpwent),
		cmocka_unit_test(test_getgr),
		cmocka_unit_test(test_getgrent_and_grouplist),
		cmocka_unit_test(test_absent_cache_falls_through),
		cmocka_unit_test(test_replaced_cache_seen),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_under_nss_wrapper),
	};

	/* Under nss_wrapper: the cache is in the parent's directory (A0_NSS_CACHE). */
	if (argc > 1 && strcmp(argv[1], "nss") == 0)
		return cmocka_run_group_tests(nss_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
