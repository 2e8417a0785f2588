/* SPDX-License-Identifier: MIT */
/*
 * The refresh lock (credentials/lock.c): where its files go, which directories it refuses, and
 * that it excludes a second holder until the first lets go or dies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "credentials/lock.h"
#include "lib/util.h"
#include "tests/common/assert.h"

static char base[64];

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/a0-lock-test-XXXXXX");
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0700), 0);
	assert_int_equal(setenv("XDG_RUNTIME_DIR", base, 1), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Whether base/rel exists (without following a last symbolic link). */
static bool exists(const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return lstat(path, &st) == 0;
}

static void test_lock_in_xdg_runtime_dir(void **state)
{
	char err[256] = "", path[128];
	struct stat st;
	int fd = -1;

	assert_a0(a0_lock_acquire(1234, "main", 1000, &fd, err, sizeof(err)), 0);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/auth0-credentials", base);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	a0_lock_release(fd);
}

static void test_lock_excludes_until_released(void **state)
{
	char err[256] = "";
	int a = -1, b = -1, c = -1;

	assert_a0(a0_lock_acquire(1234, "main", 1000, &a, err, sizeof(err)), 0);
	/* Another open file description is another holder, even in this process. */
	assert_a0(a0_lock_acquire(1234, "main", 100, &b, err, sizeof(err)), A0_ERR_TIMEOUT);
	assert_non_null(strstr(err, "another process held the lock"));
	/* Other records and other keyrings are not held up. */
	assert_a0(a0_lock_acquire(1234, "api:x", 100, &c, err, sizeof(err)), 0);
	a0_lock_release(c);
	assert_a0(a0_lock_acquire(99, "main", 100, &c, err, sizeof(err)), 0);
	a0_lock_release(c);
	a0_lock_release(a);
	assert_a0(a0_lock_acquire(1234, "main", 100, &b, err, sizeof(err)), 0);
	a0_lock_release(b);
}

static void test_lock_released_when_holder_killed(void **state)
{
	char err[256] = "";
	int ready[2], fd = -1;
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int held = -1;

		if (a0_lock_acquire(1234, "main", 1000, &held, err, sizeof(err)) != 0)
			_exit(1);
		if (a0_write_full(ready[1], "x", 1) != 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(a0_read_full(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_a0(a0_lock_acquire(1234, "main", 100, &fd, err, sizeof(err)), A0_ERR_TIMEOUT);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_a0(a0_lock_acquire(1234, "main", 1000, &fd, err, sizeof(err)), 0);
	a0_lock_release(fd);
}

static void test_unsafe_xdg_runtime_dir_not_used(void **state)
{
	char err[256] = "", link[128];
	int fd = -1;

	/* Open to others: the lock goes elsewhere (a safe fallback), never in here. */
	assert_int_equal(chmod(base, 0755), 0);
	assert_a0(a0_lock_acquire(1234, "main", 1000, &fd, err, sizeof(err)), 0);
	a0_lock_release(fd);
	assert_false(exists("auth0-credentials"));

	/* A symbolic link to a good directory is not followed. */
	assert_int_equal(chmod(base, 0700), 0);
	snprintf(link, sizeof(link), "%s/real", base);
	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", base);
	assert_int_equal(symlink("real", link), 0);
	assert_int_equal(setenv("XDG_RUNTIME_DIR", link, 1), 0);
	assert_a0(a0_lock_acquire(1234, "main", 1000, &fd, err, sizeof(err)), 0);
	a0_lock_release(fd);
	assert_false(exists("real/auth0-credentials"));

	/* Relative: ignored. */
	assert_int_equal(setenv("XDG_RUNTIME_DIR", "relative", 1), 0);
	assert_a0(a0_lock_acquire(1234, "main", 1000, &fd, err, sizeof(err)), 0);
	a0_lock_release(fd);
}

static void test_check_dir(void **state)
{
	char err[256] = "";
	int fd;

	fd = open(base, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_a0(a0_lock_check_dir(fd, "base", err, sizeof(err)), 0);
	assert_int_equal(fchmod(fd, 0770), 0);
	assert_a0(a0_lock_check_dir(fd, "base", err, sizeof(err)), A0_ERR_SYSTEM);
	assert_non_null(strstr(err, "mode 0700"));
	assert_int_equal(fchmod(fd, 0700), 0);
	if (geteuid() == 0) {
		/* Someone else's directory, however private, is not ours to trust. */
		assert_int_equal(fchown(fd, 65534, 65534), 0);
		assert_a0(a0_lock_check_dir(fd, "base", err, sizeof(err)), A0_ERR_SYSTEM);
		assert_int_equal(fchown(fd, 0, 0), 0);
	}
	close(fd);
	fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0) {
		assert_a0(a0_lock_check_dir(fd, "file", err, sizeof(err)), A0_ERR_SYSTEM);
		close(fd);
	}
}

static void test_lock_file_not_followed(void **state)
{
	char err[256] = "", dir[128], target[128];
	int fd = -1;

	/* A symbolic link planted where a lock file goes is refused, not followed. */
	assert_a0(a0_lock_acquire(1, "planted", 1000, &fd, err, sizeof(err)), 0);
	a0_lock_release(fd);
	snprintf(dir, sizeof(dir), "%s/auth0-credentials", base);
	snprintf(target, sizeof(target), "%s/target", base);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && for f in 1-*.lock; do rm \"$f\"; ln -s '%s' \"$f\"; done", dir,
			 target);
		assert_int_equal(system(cmd), 0);
	}
	assert_a0(a0_lock_acquire(1, "planted", 1000, &fd, err, sizeof(err)), A0_ERR_SYSTEM);
	assert_false(exists("target"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lock_in_xdg_runtime_dir),
		T(test_lock_excludes_until_released),
		T(test_lock_released_when_holder_killed),
		T(test_unsafe_xdg_runtime_dir_not_used),
		T(test_check_dir),
		T(test_lock_file_not_followed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
