/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>

#include "lib/util.h"
#include "tests/common/testuser.h"

#define MARKER "pam_auth0 keyring test pid="

/* Run argv without a shell: its exit status (-1: could not run) and what it said on stderr. */
static int run(const char *const argv[], char *err, size_t errlen)
{
	int status, fds[2];
	ssize_t n;
	pid_t pid;

	err[0] = '\0';
	fflush(NULL);
	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (!freopen("/dev/null", "w", stdout) || dup2(fds[1], 2) < 0)
			_exit(127);
		/* execv takes char *const[] for historical reasons; it does not write. */
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fds[1]);
	n = a0_read_full(fds[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int drop_keyrings(void *ctx)
{
	/* Creating them on the way is fine: invalidated, they are gone either way. */
	key_serial_t u = keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 1);
	key_serial_t us = keyctl_get_keyring_ID(KEY_SPEC_USER_SESSION_KEYRING, 1);
	int r = 0;

	if (u < 0 || keyctl_invalidate(u) < 0)
		r = 1;
	if (us < 0 || keyctl_invalidate(us) < 0)
		r = 1;
	return r;
}

/*
 * useradd and userdel give up at once when another one holds /etc/passwd's lock, and the test
 * programs (and other suites on the host) run in parallel: retry for a few seconds. done and
 * done2 are exit statuses that end the attempts, as 0 does.
 */
static int run_retrying(const char *const argv[], int done, int done2)
{
	char err[512];
	int r = -1;

	for (int attempt = 0; attempt < 40; attempt++) {
		r = run(argv, err, sizeof(err));
		if (r == 0 || r == done || r == done2)
			return r;
		usleep(250 * 1000);
	}
	fprintf(stderr, "testuser: %s: %s", argv[0], err);
	return r;
}

static void remove_account(const char *name, uid_t uid, gid_t gid)
{
	struct test_user u = { .uid = uid, .gid = gid };
	const char *const argv[] = { "/usr/sbin/userdel", name, NULL };
	/* Our throwaway account: also when a process of an earlier owner of the same uid (another
	 * suite's account, removed while its processes ran) still exists. */
	const char *const force[] = { "/usr/sbin/userdel", "-f", name, NULL };
	int r;

	snprintf(u.name, sizeof(u.name), "%s", name);
	/* The kernel keeps a uid's user keyrings after its last key and process are gone. */
	if (test_as_user(&u, false, drop_keyrings, NULL) != 0)
		fprintf(stderr, "testuser: could not invalidate the keyrings of uid %u\n",
			(unsigned)uid);
	/* 6: no such user (an earlier attempt removed it after all); 8: a process uses the uid */
	r = run_retrying(argv, 6, 8);
	if (r == 8)
		r = run_retrying(force, 6, 6);
	if (r != 0 && r != 6 && getpwnam(name))
		fprintf(stderr, "testuser: userdel %s failed (%d)\n", name, r);
}

bool test_user_create(const char *prefix, char tag, struct test_user *ret)
{
	char comment[64];
	const char *const argv[] = { "/usr/sbin/useradd", "-M", "-N",    "-g",      "users", "-s",
				     "/usr/sbin/nologin", "-c", comment, ret->name, NULL };
	struct passwd *pw;

	snprintf(ret->name, sizeof(ret->name), "%s%ld%c", prefix, (long)getpid(), tag);
	snprintf(comment, sizeof(comment), MARKER "%ld", (long)getpid());
	/* 9: the name is taken */
	if (run_retrying(argv, 9, 9) != 0) {
		fprintf(stderr, "testuser: useradd %s failed\n", ret->name);
		return false;
	}
	pw = getpwnam(ret->name);
	if (!pw) {
		fprintf(stderr, "testuser: %s not found after useradd\n", ret->name);
		return false;
	}
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	return true;
}

void test_user_remove(const struct test_user *u)
{
	if (u->name[0])
		remove_account(u->name, u->uid, u->gid);
}

void test_user_sweep(void)
{
	struct {
		char name[64];
		uid_t uid;
		gid_t gid;
	} stale[32];
	size_t n = 0;
	struct passwd *pw;

	setpwent();
	while ((pw = getpwent()) && n < A0_ARRAY_SIZE(stale)) {
		long pid;

		if (!pw->pw_gecos || strncmp(pw->pw_gecos, MARKER, strlen(MARKER)) != 0)
			continue;
		pid = strtol(pw->pw_gecos + strlen(MARKER), NULL, 10);
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue; /* its program still runs */
		snprintf(stale[n].name, sizeof(stale[n].name), "%s", pw->pw_name);
		stale[n].uid = pw->pw_uid;
		stale[n].gid = pw->pw_gid;
		n++;
	}
	endpwent();
	for (size_t i = 0; i < n; i++)
		remove_account(stale[i].name, stale[i].uid, stale[i].gid);
}

int test_as_user(const struct test_user *u, bool fresh_session, int (*fn)(void *ctx), void *ctx)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		gid_t groups[1] = { u->gid };

		if (setgroups(1, groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
		    setresuid(u->uid, u->uid, u->uid) < 0)
			_exit(99);
		if (fresh_session && keyctl_join_session_keyring(NULL) < 0)
			_exit(99);
		_exit(fn(ctx) & 0x7f);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
