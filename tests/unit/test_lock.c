/* SPDX-License-Identifier: MIT */
/*
 * The refresh lock (credentials/lock.c): where its files go, which directories it refuses, and
 * that it excludes a second holder until the first lets go or dies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

#include "credentials/lock.h"
#include "lib/error.h"
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

/* Whether /run/user/<euid> is there for the lock: a directory of ours, mode 0700. */
static bool run_user_usable(void)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/run/user/%u", (unsigned)geteuid());
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       (st.st_mode & 077) == 0;
}

/* Without a usable XDG_RUNTIME_DIR: the lock is in /run/user/<euid> when that is usable, else
 * refused with a message naming both, never somewhere else. */
static void lock_elsewhere_or_refused(void)
{
	char err[256] = "";
	int fd = -1, r;

	r = a0_lock_acquire(1234, "main", 1000, &fd, err, sizeof(err));
	if (run_user_usable()) {
		assert_int_equal(r, 0);
		a0_lock_release(fd);
		return;
	}
	assert_int_equal(r, A0_ERR_SYSTEM);
	if (!strstr(err, "XDG_RUNTIME_DIR") || !strstr(err, "/run/user/"))
		fail_msg("unclear error: '%s'", err);
}

static void test_unsafe_xdg_runtime_dir_not_used(void **state)
{
	char link[128];

	/* Open to others: never used. */
	assert_int_equal(chmod(base, 0755), 0);
	lock_elsewhere_or_refused();
	assert_false(exists("auth0-credentials"));

	/* A symbolic link to a good directory is not followed. */
	assert_int_equal(chmod(base, 0700), 0);
	snprintf(link, sizeof(link), "%s/real", base);
	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", base);
	assert_int_equal(symlink("real", link), 0);
	assert_int_equal(setenv("XDG_RUNTIME_DIR", link, 1), 0);
	lock_elsewhere_or_refused();
	assert_false(exists("real/auth0-credentials"));

	/* Relative: ignored. */
	assert_int_equal(setenv("XDG_RUNTIME_DIR", "relative", 1), 0);
	lock_elsewhere_or_refused();
}

/* ---- other users: uids nobody has here, acted as by a child that takes them ---- */

#define VICTIM 60123u
#define ATTACKER 60124u

struct outcome {
	int r;
	char err[256];
};

/* a0_lock_acquire as uid, with XDG_RUNTIME_DIR set to xdg (NULL: unset), in a child. */
static void lock_as(uid_t uid, const char *xdg, struct outcome *o)
{
	int out[2], status;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct outcome c = { 0 };
		int fd = -1;

		close(out[0]);
		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
			_exit(1);
		if (xdg ? setenv("XDG_RUNTIME_DIR", xdg, 1) : unsetenv("XDG_RUNTIME_DIR"))
			_exit(1);
		c.r = a0_lock_acquire(1234, "main", 1000, &fd, c.err, sizeof(c.err));
		_exit(write(out[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
	}
	close(out[1]);
	assert_int_equal(read(out[0], o, sizeof(*o)), (ssize_t)sizeof(*o));
	close(out[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void remove_tree(const char *path)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/*
 * Another user creating first the names the lock could use (the old fallback
 * /tmp/auth0-credentials-UID) changes nothing: the lock is only ever in directories no other
 * uid can create.
 */
static void test_other_uid_cannot_block(void **state)
{
	char tmp_name[64], run_user[64], xdg[96];
	struct outcome before, after, ok;

	if (geteuid() != 0)
		skip();
	snprintf(tmp_name, sizeof(tmp_name), "/tmp/auth0-credentials-%u", VICTIM);
	snprintf(run_user, sizeof(run_user), "/run/user/%u", VICTIM);
	if (access(run_user, F_OK) == 0)
		skip(); /* a real session of that uid: not ours to touch */
	remove_tree(tmp_name);

	/* Neither XDG_RUNTIME_DIR nor /run/user/UID: the outcome, without and with the other
	 * user's directory in the way. */
	lock_as(VICTIM, NULL, &before);
	remove_tree(tmp_name);
	assert_int_equal(mkdir(tmp_name, 0700), 0);
	assert_int_equal(chown(tmp_name, ATTACKER, ATTACKER), 0);
	lock_as(VICTIM, NULL, &after);
	if (before.r != after.r || strcmp(before.err, after.err) != 0)
		fail_msg("uid %u's %s changed the outcome: %d '%s', then %d '%s'", ATTACKER,
			 tmp_name, before.r, before.err, after.r, after.err);
	/* Refused, saying where a lock may go. */
	assert_int_equal(after.r, A0_ERR_SYSTEM);
	if (!strstr(after.err, "XDG_RUNTIME_DIR") || !strstr(after.err, run_user))
		fail_msg("unclear error: '%s'", after.err);

	/* With the user's own XDG_RUNTIME_DIR, or /run/user/UID, the lock is taken. */
	snprintf(xdg, sizeof(xdg), "%s/victim", base);
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(chown(xdg, VICTIM, VICTIM), 0);
	assert_int_equal(chmod(base, 0711), 0);
	lock_as(VICTIM, xdg, &ok);
	assert_int_equal(ok.r, 0);
	if (access("/run/user", W_OK) == 0 && mkdir(run_user, 0700) == 0) {
		assert_int_equal(chown(run_user, VICTIM, VICTIM), 0);
		lock_as(VICTIM, NULL, &ok);
		remove_tree(run_user);
		assert_int_equal(ok.r, 0);
	}
	remove_tree(tmp_name);
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
		T(test_other_uid_cannot_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
