/* SPDX-License-Identifier: MIT */
/*
 * The local guard against password guessing (lib/guard.h) on a real directory: counting per
 * (user, address), the doubling delay and its cap, a success clearing the count, state files
 * that name neither, and the directory rules (root's and writable by nobody else). Needs root.
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
#include "lib/guard.h"
#include "tests/common/assert.h"

static char dir[64];

static int wait_for(const struct a0_guard *g, const char *user, const char *rhost, time_t now)
{
	unsigned wait = 0;
	bool unguarded = true;
	int r = a0_guard_check(g, user, rhost, now, &wait, &unguarded);

	assert_false(unguarded);
	if (r == 0)
		return 0;
	assert_a0(r, A0_ERR_DELAYED);
	assert_true(wait > 0);
	return (int)wait;
}

static void fail_n(const struct a0_guard *g, const char *user, const char *rhost, int n, time_t now)
{
	for (int i = 0; i < n; i++)
		a0_guard_record(g, user, rhost, false, now);
}

static void test_delays_double_up_to_the_cap(void **state)
{
	struct a0_guard g = { dir, 3, 60 };
	time_t t = 1000000;

	/* Three failures are free. */
	fail_n(&g, "alice", "203.0.113.7", 3, t);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t), 0);
	/* The fourth starts the delay: 5 s, then 10, 20, 40, then the cap. */
	fail_n(&g, "alice", "203.0.113.7", 1, t);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t), 5);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 3), 2);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 5), 0);
	fail_n(&g, "alice", "203.0.113.7", 1, t + 5);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 5), 10);
	fail_n(&g, "alice", "203.0.113.7", 1, t + 15);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 15), 20);
	fail_n(&g, "alice", "203.0.113.7", 1, t + 35);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 35), 40);
	fail_n(&g, "alice", "203.0.113.7", 5, t + 75);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 75), 60);
	/* A clock that went back a little waits one delay; far back, the state is stale. */
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 65), 60);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t), 0);

	/* Other users and other addresses are counted apart. */
	assert_int_equal(wait_for(&g, "bob", "203.0.113.7", t + 75), 0);
	assert_int_equal(wait_for(&g, "alice", "198.51.100.1", t + 75), 0);
	assert_int_equal(wait_for(&g, "alice", NULL, t + 75), 0);

	/* A success clears the count. */
	a0_guard_record(&g, "alice", "203.0.113.7", true, t + 200);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 200), 0);
	fail_n(&g, "alice", "203.0.113.7", 3, t + 200);
	assert_int_equal(wait_for(&g, "alice", "203.0.113.7", t + 200), 0);
}

/* State files are root's, 0600, and named by a hash: no user name or address shows. */
static void test_state_files(void **state)
{
	struct a0_guard g = { dir, 3, 60 };
	char sub[128];
	struct dirent *e;
	struct stat st;
	int files = 0;
	DIR *d;

	fail_n(&g, "carol", "2001:db8::1", 1, 1000);
	snprintf(sub, sizeof(sub), "%s/faildelay", dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	d = opendir(sub);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[256];

		if (e->d_name[0] == '.')
			continue;
		files++;
		assert_int_equal(strlen(e->d_name), 64);
		assert_null(strstr(e->d_name, "carol"));
		snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	closedir(d);
	assert_true(files >= 1);
}

/* A directory another user could write is not used: unguarded, never a lock-out. */
static void test_unsafe_directory(void **state)
{
	char unsafe[128];
	struct a0_guard g = { unsafe, 1, 60 };
	unsigned wait = 0;
	bool unguarded = false;

	snprintf(unsafe, sizeof(unsafe), "%s/unsafe", dir);
	assert_int_equal(mkdir(unsafe, 0777), 0);
	assert_int_equal(chmod(unsafe, 0777), 0);
	fail_n(&g, "dave", NULL, 5, 1000);
	assert_a0(a0_guard_check(&g, "dave", NULL, 1000, &wait, &unguarded), 0);
	assert_true(unguarded);
	/* max_delay 0 turns the guard off without calling that unguarded. */
	g.dir = dir;
	g.max_delay = 0;
	assert_a0(a0_guard_check(&g, "dave", NULL, 1000, &wait, &unguarded), 0);
	assert_false(unguarded);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-guard-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return chmod(dir, 0755);
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
		cmocka_unit_test(test_delays_double_up_to_the_cap),
		cmocka_unit_test(test_state_files),
		cmocka_unit_test(test_unsafe_directory),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_guard: needs root (the guard keeps state only as root)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
