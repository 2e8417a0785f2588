/* SPDX-License-Identifier: MIT */
/*
 * The offline verifier (lib/offline.h) on real files in a temporary directory: Argon2id
 * against the right and a wrong password, the files' names, owners and modes, when an online
 * login rewrites the hash (and when it does not), max_age on a fake clock, the lock-out, the
 * purge after Auth0 refused a password, refusals of unsafe or malformed files, directories and
 * keys, another uid's view, concurrent failures, the listing and the line's parser. Needs root.
 * Argon2 runs at 8 MiB and one pass, except in the test at the defaults, which prints the time.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/error.h"
#include "lib/offline.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

#define T0 1700000000 /* the fake clock's start */
#define NOBODY 65534
#define CHILDREN 10

static char base[64], offdir[160], keydir[128], hostkey[160], rundir[128], bootkey[160];

static struct a0_offline conf(void)
{
	return (struct a0_offline){
		.dir = offdir,
		.host_key = hostkey,
		.run_dir = rundir,
		.memory_kib = 8192,
		.passes = 1,
		.max_age = 7 * 86400,
		.max_failures = 20,
		.rewrite_age = 30 * 86400,
	};
}

/* dir/<hex SHA-256 of user>, computed here apart from lib/offline.c. */
static void user_path(const char *user, char *out, size_t size)
{
	unsigned char md[32];
	unsigned int len = 0;
	char hex[65];

	assert_true(EVP_Digest(user, strlen(user), md, &len, EVP_sha256(), NULL) && len == 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, size, "%s/%s", offdir, hex);
}

static size_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	close(fd);
	buf[n] = '\0';
	return (size_t)n;
}

static void read_rec(const char *user, struct a0_offline_record *rec)
{
	char path[256], buf[A0_OFFLINE_LINE_MAX + 2], reason[256] = "";
	size_t n;

	user_path(user, path, sizeof(path));
	n = read_file(path, buf, sizeof(buf));
	assert_a0(a0_offline_parse_line(buf, n, rec, reason, sizeof(reason)), 0);
	assert_string_equal(rec->e.user, user);
}

static void online(const struct a0_offline *o, const char *user, const char *pw, time_t now,
		   bool wrote)
{
	char reason[256] = "";
	bool w = !wrote;

	assert_a0(a0_offline_online(o, user, pw, now, &w, reason, sizeof(reason)), 0);
	assert_true(w == wrote);
}

static int check(const struct a0_offline *o, const char *user, const char *pw, time_t now,
		 unsigned *failures)
{
	char reason[256] = "";
	unsigned f = 0;
	time_t last = 0;
	int r = a0_offline_check(o, user, pw, now, &f, &last, reason, sizeof(reason));

	if (failures)
		*failures = f;
	return r;
}

static void write_mode(const char *path, const char *text, mode_t mode)
{
	write_text(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

/* The right password passes, a wrong one is counted; files, names and modes. */
static void test_write_and_check(void **state)
{
	struct a0_offline o = conf();
	char path[256], buf[A0_OFFLINE_LINE_MAX + 2];
	struct a0_offline_record rec;
	unsigned failures = 0;
	struct stat st;

	online(&o, "alice", "correct horse", T0, true);
	assert_a0(check(&o, "alice", "correct horse", T0 + 10, NULL), 0);
	assert_a0(check(&o, "alice", "correct hors", T0 + 11, &failures), A0_ERR_DENIED);
	assert_int_equal(failures, 1);
	assert_a0(check(&o, "alice", "", T0 + 12, &failures), A0_ERR_DENIED);
	assert_int_equal(failures, 2);
	read_rec("alice", &rec);
	assert_int_equal(rec.e.failures, 2);
	assert_int_equal(rec.e.last_online, T0);
	assert_int_equal(rec.e.written, T0);
	assert_int_equal(rec.e.memory_kib, 8192);
	assert_int_equal(rec.e.passes, 1);
	/* A success clears the count. */
	assert_a0(check(&o, "alice", "correct horse", T0 + 13, NULL), 0);
	read_rec("alice", &rec);
	assert_int_equal(rec.e.failures, 0);
	/* Another user has no verifier. */
	assert_a0(check(&o, "bob", "correct horse", T0 + 13, NULL), A0_ERR_NOT_FOUND);

	/* The file: named by the SHA-256 of the name, root's 0600, no password in it. */
	user_path("alice", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	read_file(path, buf, sizeof(buf));
	assert_null(strstr(buf, "correct"));
	assert_int_equal(strncmp(buf, "v1 alice 8192 1 ", 16), 0);
	assert_int_equal(stat(offdir, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* The keys: made, 32 bytes, root's 0600; the key's directory was made 0755. */
	assert_int_equal(lstat(hostkey, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(lstat(bootkey, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(stat(keydir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

/* An online login rewrites the hash only when it must. */
static void test_rewrite_only_when_needed(void **state)
{
	struct a0_offline o = conf();
	struct a0_offline_record a, b;

	online(&o, "carol", "pw-one", T0, true);
	read_rec("carol", &a);
	/* The same password, the same boot: only the time and the count are written. */
	assert_a0(check(&o, "carol", "wrong", T0 + 5, NULL), A0_ERR_DENIED);
	online(&o, "carol", "pw-one", T0 + 100, false);
	read_rec("carol", &b);
	assert_memory_equal(a.hash, b.hash, sizeof(a.hash));
	assert_memory_equal(a.salt, b.salt, sizeof(a.salt));
	assert_int_equal(b.e.written, T0);
	assert_int_equal(b.e.last_online, T0 + 100);
	assert_int_equal(b.e.failures, 0);

	/* A changed password: a new hash, and the old password no longer passes. */
	online(&o, "carol", "pw-two", T0 + 200, true);
	read_rec("carol", &b);
	assert_memory_not_equal(a.hash, b.hash, sizeof(a.hash));
	assert_memory_not_equal(a.salt, b.salt, sizeof(a.salt));
	assert_a0(check(&o, "carol", "pw-one", T0 + 201, NULL), A0_ERR_DENIED);
	assert_a0(check(&o, "carol", "pw-two", T0 + 202, NULL), 0);
	online(&o, "carol", "pw-two", T0 + 203, false);

	/* Other Argon2 settings. */
	o.passes = 2;
	online(&o, "carol", "pw-two", T0 + 300, true);
	read_rec("carol", &a);
	assert_int_equal(a.e.passes, 2);
	online(&o, "carol", "pw-two", T0 + 301, false);
	o.memory_kib = 16384;
	online(&o, "carol", "pw-two", T0 + 302, true);
	online(&o, "carol", "pw-two", T0 + 303, false);
	read_rec("carol", &a);
	assert_int_equal(a.e.memory_kib, 16384);

	/* rewrite_age: at written + rewrite_age it stands, a second later it is renewed. */
	online(&o, "carol", "pw-two", T0 + 302 + o.rewrite_age, false);
	online(&o, "carol", "pw-two", T0 + 303 + o.rewrite_age, true);
	read_rec("carol", &b);
	assert_int_equal(b.e.written, T0 + 303 + o.rewrite_age);
	assert_memory_not_equal(a.hash, b.hash, sizeof(a.hash));

	/* A new boot key (a reboot): the tag cannot be checked, so one rewrite, then none. */
	assert_int_equal(unlink(bootkey), 0);
	online(&o, "carol", "pw-two", T0 + 304 + o.rewrite_age, true);
	read_rec("carol", &a);
	assert_memory_not_equal(a.key_id, b.key_id, sizeof(a.key_id));
	online(&o, "carol", "pw-two", T0 + 305 + o.rewrite_age, false);
	assert_a0(check(&o, "carol", "pw-two", T0 + 306 + o.rewrite_age, NULL), 0);
}

static void test_max_age(void **state)
{
	struct a0_offline o = conf();
	char reason[256] = "";
	unsigned f = 0;
	time_t last = 0;

	online(&o, "dave", "pw", T0, true);
	assert_a0(a0_offline_check(&o, "dave", "pw", T0 + o.max_age, &f, &last, reason,
				   sizeof(reason)),
		  0);
	assert_int_equal(last, T0);
	last = 0;
	assert_a0(a0_offline_check(&o, "dave", "pw", T0 + o.max_age + 1, &f, &last, reason,
				   sizeof(reason)),
		  A0_ERR_EXPIRED);
	assert_int_equal(last, T0);
	/* A clock set back by more than max_age is no fresher. */
	assert_a0(check(&o, "dave", "pw", T0 - o.max_age - 1, NULL), A0_ERR_EXPIRED);
	/* An online login renews it. */
	online(&o, "dave", "pw", T0 + o.max_age + 2, false);
	assert_a0(check(&o, "dave", "pw", T0 + o.max_age + 3, NULL), 0);
	/* max_age 0: offline login is off. */
	o.max_age = 0;
	assert_a0(check(&o, "dave", "pw", T0 + o.max_age + 3, NULL), A0_ERR_EXPIRED);
	assert_a0(check(&o, "nobody-here", "pw", T0, NULL), A0_ERR_EXPIRED);
}

static void test_lockout(void **state)
{
	struct a0_offline o = conf();
	unsigned failures = 0;

	o.max_failures = 3;
	online(&o, "erin", "pw", T0, true);
	for (unsigned i = 1; i <= 3; i++) {
		assert_a0(check(&o, "erin", "nope", T0 + i, &failures), A0_ERR_DENIED);
		assert_int_equal(failures, i);
	}
	/* Locked: even the right password is not checked. */
	assert_a0(check(&o, "erin", "pw", T0 + 10, &failures), A0_ERR_LOCKED);
	assert_a0(check(&o, "erin", "nope", T0 + 11, &failures), A0_ERR_LOCKED);
	assert_int_equal(failures, 3);
	/* An online login clears it. */
	online(&o, "erin", "pw", T0 + 20, false);
	assert_a0(check(&o, "erin", "pw", T0 + 21, NULL), 0);
}

static void test_denied_purges(void **state)
{
	struct a0_offline o = conf();
	char reason[256] = "", path[256];
	bool purged = true;

	user_path("frank", path, sizeof(path));
	/* No verifier: nothing to do. */
	assert_a0(a0_offline_denied(&o, "frank", "pw", &purged, reason, sizeof(reason)), 0);
	assert_false(purged);

	/* The tag: this boot's key. */
	online(&o, "frank", "pw", T0, true);
	assert_a0(a0_offline_denied(&o, "frank", "other", &purged, reason, sizeof(reason)), 0);
	assert_false(purged);
	assert_int_equal(access(path, F_OK), 0);
	assert_a0(a0_offline_denied(&o, "frank", "pw", &purged, reason, sizeof(reason)), 0);
	assert_true(purged);
	assert_int_equal(access(path, F_OK), -1);
	assert_a0(check(&o, "frank", "pw", T0 + 1, NULL), A0_ERR_NOT_FOUND);

	/* Argon2: the boot key is gone (a reboot). */
	online(&o, "frank", "pw", T0 + 2, true);
	assert_int_equal(unlink(bootkey), 0);
	assert_a0(a0_offline_denied(&o, "frank", "other", &purged, reason, sizeof(reason)), 0);
	assert_false(purged);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(unlink(bootkey), 0);
	assert_a0(a0_offline_denied(&o, "frank", "pw", &purged, reason, sizeof(reason)), 0);
	assert_true(purged);
	assert_int_equal(access(path, F_OK), -1);
}

static void expect_config(int r, const char *reason, const char *what)
{
	assert_a0(r, A0_ERR_CONFIG);
	if (!strstr(reason, what))
		fail_msg("reason \"%s\" does not say \"%s\"", reason, what);
}

static void test_refusals(void **state)
{
	struct a0_offline o = conf();
	char path[256], target[256], buf[A0_OFFLINE_LINE_MAX + 2], reason[256];
	unsigned char key[32], again[32];
	bool w = false;
	struct stat st;
	int fd;

	/* A symbolic link in place of the file: neither followed nor replaced. */
	user_path("gina", path, sizeof(path));
	online(&o, "other", "pw", T0, true); /* makes the directory */
	snprintf(target, sizeof(target), "%s/target", base);
	write_mode(target, "precious\n", 0600);
	assert_int_equal(symlink(target, path), 0);
	reason[0] = '\0';
	expect_config(a0_offline_online(&o, "gina", "pw", T0, &w, reason, sizeof(reason)), reason,
		      "symbolic link");
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "gina", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "symbolic link");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	read_file(target, buf, sizeof(buf));
	assert_string_equal(buf, "precious\n");
	assert_int_equal(unlink(path), 0);

	/* Another owner's file. */
	online(&o, "gina", "pw", T0, true);
	assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "gina", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "not root's 0600");
	reason[0] = '\0';
	expect_config(a0_offline_online(&o, "gina", "pw", T0, &w, reason, sizeof(reason)), reason,
		      "not root's 0600");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(chown(path, 0, 0), 0);
	assert_a0(check(&o, "gina", "pw", T0, NULL), 0);

	/* Mode 0644. */
	assert_int_equal(chmod(path, 0644), 0);
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "gina", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "not root's 0600");
	assert_int_equal(chmod(path, 0600), 0);

	/* A malformed file is refused, and kept for root to look at. */
	write_mode(path, "v1 gina 8192 1 nonsense\n", 0600);
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "gina", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "malformed");
	reason[0] = '\0';
	expect_config(a0_offline_online(&o, "gina", "pw", T0, &w, reason, sizeof(reason)), reason,
		      "malformed");
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "v1 gina 8192 1 nonsense\n");
	/* Another user's line under this name. */
	{
		char other[256];

		user_path("other", other, sizeof(other));
		read_file(other, buf, sizeof(buf));
		write_mode(path, buf, 0600);
		reason[0] = '\0';
		expect_config(a0_offline_check(&o, "gina", "pw", T0, &(unsigned){ 0 }, NULL, reason,
					       sizeof(reason)),
			      reason, "another user");
	}
	assert_int_equal(unlink(path), 0);

	/* A directory others may write, or read. */
	assert_int_equal(chmod(offdir, 0770), 0);
	reason[0] = '\0';
	expect_config(a0_offline_online(&o, "gina", "pw", T0, &w, reason, sizeof(reason)), reason,
		      "only root may write");
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "other", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "only root may write");
	assert_int_equal(chmod(offdir, 0755), 0);
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "other", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "0700");
	assert_int_equal(chmod(offdir, 0700), 0);
	assert_a0(check(&o, "other", "pw", T0, NULL), 0);

	/* A host key of another mode: refused, never replaced. */
	fd = open(hostkey, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, key, sizeof(key)), 32);
	close(fd);
	assert_int_equal(chmod(hostkey, 0644), 0);
	reason[0] = '\0';
	expect_config(a0_offline_online(&o, "gina", "pw", T0, &w, reason, sizeof(reason)), reason,
		      "host_key_file");
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "other", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "host_key_file");
	/* A host key that is a symbolic link. */
	assert_int_equal(chmod(hostkey, 0600), 0);
	snprintf(target, sizeof(target), "%s/host.key.real", keydir);
	assert_int_equal(rename(hostkey, target), 0);
	assert_int_equal(symlink(target, hostkey), 0);
	reason[0] = '\0';
	expect_config(a0_offline_check(&o, "other", "pw", T0, &(unsigned){ 0 }, NULL, reason,
				       sizeof(reason)),
		      reason, "host_key_file");
	assert_int_equal(unlink(hostkey), 0);
	assert_int_equal(rename(target, hostkey), 0);
	fd = open(hostkey, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, again, sizeof(again)), 32);
	close(fd);
	assert_memory_equal(key, again, sizeof(key));
	assert_a0(check(&o, "other", "pw", T0, NULL), 0);

	/* A user name that could forge a field. */
	reason[0] = '\0';
	assert_a0(a0_offline_online(&o, "a b", "pw", T0, &w, reason, sizeof(reason)),
		  A0_ERR_INVALID);
	assert_a0(check(&o, "a\nb", "pw", T0, NULL), A0_ERR_INVALID);
	assert_a0(check(&o, "", "pw", T0, NULL), A0_ERR_INVALID);
}

/* With the host key gone a new one is made, and old verifiers no longer pass. */
static void test_host_key_pepper(void **state)
{
	struct a0_offline o = conf();

	online(&o, "hank", "pw", T0, true);
	assert_a0(check(&o, "hank", "pw", T0 + 1, NULL), 0);
	assert_int_equal(unlink(hostkey), 0);
	assert_a0(check(&o, "hank", "pw", T0 + 2, NULL), A0_ERR_DENIED);
}

static int run_as_nobody(void (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(99);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char seen[256];

static void try_open(void)
{
	int fd = open(seen, O_RDONLY);

	_exit(fd < 0 && errno == EACCES ? 0 : 1);
}

static void try_check(void)
{
	struct a0_offline o = conf();
	char reason[256] = "";
	unsigned f = 0;
	int r = a0_offline_check(&o, "ivy", "pw", T0, &f, NULL, reason, sizeof(reason));

	_exit(r == A0_ERR_CONFIG && strstr(reason, "root only") ? 0 : 1);
}

/* Another uid can read nothing: not through the directory, nor the file itself. */
static void test_other_uid(void **state)
{
	struct a0_offline o = conf();

	online(&o, "ivy", "pw", T0, true);
	user_path("ivy", seen, sizeof(seen));
	assert_int_equal(run_as_nobody(try_open), 0);
	/* The file's own mode, with every directory on the way searchable. */
	assert_int_equal(chmod(base, 0711), 0);
	assert_int_equal(chmod(offdir, 0711), 0);
	assert_int_equal(run_as_nobody(try_open), 0);
	assert_int_equal(chmod(offdir, 0700), 0);
	assert_int_equal(chmod(base, 0700), 0);
	/* Nor does the library read it for a caller that is not root. */
	assert_int_equal(run_as_nobody(try_check), 0);
}

/* Concurrent wrong passwords of one user: every failure counted, the file whole. */
static void test_concurrent_failures(void **state)
{
	struct a0_offline o = conf();
	struct a0_offline_record rec;
	pid_t pids[CHILDREN];

	online(&o, "jack", "pw", T0, true);
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(check(&o, "jack", "wrong", T0 + 1, NULL) == A0_ERR_DENIED ? 0 : 1);
	}
	for (int i = 0; i < CHILDREN; i++) {
		int status = 0;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	read_rec("jack", &rec);
	assert_int_equal(rec.e.failures, CHILDREN);
}

struct listed {
	int n;
	bool alice, bob;
};

static int collect(const struct a0_offline_entry *e, void *arg)
{
	struct listed *l = arg;

	l->n++;
	if (strcmp(e->user, "alice") == 0)
		l->alice = e->last_online == T0 + 1 && e->written == T0 && e->memory_kib == 8192;
	if (strcmp(e->user, "bob") == 0)
		l->bob = e->failures == 1 && e->passes == 1;
	return 0;
}

static int stop(const struct a0_offline_entry *e, void *arg)
{
	return A0_ERR_INVALID;
}

static void test_list(void **state)
{
	struct a0_offline o = conf();
	char reason[256] = "", path[256], buf[A0_OFFLINE_LINE_MAX + 2];
	struct listed l = { 0 };
	unsigned skipped = 99;

	/* No directory yet: nothing to list. */
	assert_a0(a0_offline_list(&o, collect, &l, &skipped, reason, sizeof(reason)), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(l.n, 0);

	online(&o, "alice", "pw", T0, true);
	online(&o, "alice", "pw", T0 + 1, false);
	online(&o, "bob", "pw", T0, true);
	assert_a0(check(&o, "bob", "wrong", T0 + 1, NULL), A0_ERR_DENIED);
	/* A malformed file, and alice's line under another name: both skipped. */
	user_path("mallory", path, sizeof(path));
	write_mode(path, "v1 mallory\n", 0600);
	user_path("alice", path, sizeof(path));
	read_file(path, buf, sizeof(buf));
	user_path("eve", path, sizeof(path));
	write_mode(path, buf, 0600);
	assert_a0(a0_offline_list(&o, collect, &l, &skipped, reason, sizeof(reason)), 0);
	assert_int_equal(l.n, 2);
	assert_true(l.alice);
	assert_true(l.bob);
	assert_int_equal(skipped, 2);
	/* fn stops the walk. */
	assert_a0(a0_offline_list(&o, stop, NULL, &skipped, reason, sizeof(reason)),
		  A0_ERR_INVALID);
}

static void test_forget(void **state)
{
	struct a0_offline o = conf();
	char reason[256] = "";

	assert_a0(a0_offline_forget(&o, "kim", reason, sizeof(reason)), A0_ERR_NOT_FOUND);
	online(&o, "kim", "pw", T0, true);
	assert_a0(a0_offline_forget(&o, "kim", reason, sizeof(reason)), 0);
	assert_a0(a0_offline_forget(&o, "kim", reason, sizeof(reason)), A0_ERR_NOT_FOUND);
	assert_a0(check(&o, "kim", "pw", T0, NULL), A0_ERR_NOT_FOUND);
}

/* The line: a round trip, and the strictness of the parser. */
static void test_line(void **state)
{
	static const char good[] =
		"v1 alice 65536 3 000102030405060708090a0b0c0d0e0f "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
		"1700000000 1700000100 2 0123456789abcdef "
		"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";
	static const char *const bad[] = {
		"v2 alice 65536 3 000102030405060708090a0b0c0d0e0f",
		"v1  alice 65536 3",
		"v1 alice 065536 3",
		"v1 alice 65536 0",
		"v1 alice 65536 33",
		"v1 alice 7 3",
		"v1 alice 4194305 3",
		"v1 alice 65536 3 000102030405060708090A0B0C0D0E0F",
		"v1 alice 65536 3 000102030405060708090a0b0c0d0e",
		"v1 alice 65536 3 000102030405060708090a0b0c0d0e0f "
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
		"-1700000000",
	};
	struct a0_offline_record rec;
	char out[A0_OFFLINE_LINE_MAX + 1], line[A0_OFFLINE_LINE_MAX + 1], reason[256];
	size_t n = 0;

	assert_a0(a0_offline_parse_line(good, strlen(good), &rec, reason, sizeof(reason)), 0);
	assert_string_equal(rec.e.user, "alice");
	assert_int_equal(rec.e.memory_kib, 65536);
	assert_int_equal(rec.e.passes, 3);
	assert_int_equal(rec.e.written, 1700000000);
	assert_int_equal(rec.e.last_online, 1700000100);
	assert_int_equal(rec.e.failures, 2);
	assert_int_equal(rec.salt[15], 0x0f);
	assert_int_equal(rec.tag[0], 0xff);
	assert_a0(a0_offline_format_line(&rec, out, sizeof(out), &n), 0);
	assert_int_equal(n, strlen(good));
	assert_string_equal(out, good);

	/* Without its line break, with two, with a byte after it, with a NUL inside. */
	assert_a0(a0_offline_parse_line(good, strlen(good) - 1, &rec, reason, sizeof(reason)),
		  A0_ERR_CONFIG);
	snprintf(line, sizeof(line), "%s\n", good);
	assert_a0(a0_offline_parse_line(line, strlen(line), &rec, reason, sizeof(reason)),
		  A0_ERR_CONFIG);
	snprintf(line, sizeof(line), "%sx", good);
	assert_a0(a0_offline_parse_line(line, strlen(line), &rec, reason, sizeof(reason)),
		  A0_ERR_CONFIG);
	assert_a0(a0_offline_parse_line(good, sizeof(good), &rec, reason, sizeof(reason)),
		  A0_ERR_CONFIG);
	/* A field out of bounds: the same line with the start replaced. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t k = strlen(bad[i]);
		const char *rest = good;

		/* Keep the good line's fields after as many fields as bad[i] has. */
		for (const char *p = bad[i]; *p; p++)
			if (*p == ' ')
				rest = strchr(rest, ' ') + 1;
		rest = strchr(rest, ' ');
		snprintf(line, sizeof(line), "%.*s%s", (int)k, bad[i], rest);
		reason[0] = '\0';
		if (a0_offline_parse_line(line, strlen(line), &rec, reason, sizeof(reason)) !=
		    A0_ERR_CONFIG)
			fail_msg("accepted: %s", line);
		assert_true(reason[0] != '\0');
	}
}

/* The defaults, 64 MiB and 3 passes: it works, and how long one hash takes here. */
static void test_defaults_timed(void **state)
{
	struct a0_offline o = conf();
	struct timespec a, b;
	double online_s, check_s;

	o.memory_kib = 65536;
	o.passes = 3;
	clock_gettime(CLOCK_MONOTONIC, &a);
	online(&o, "lena", "pw", T0, true);
	clock_gettime(CLOCK_MONOTONIC, &b);
	online_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_a0(check(&o, "lena", "pw", T0 + 1, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	check_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_a0(check(&o, "lena", "px", T0 + 1, NULL), A0_ERR_DENIED);
	fprintf(stderr, "test_offline: Argon2id at 64 MiB, 3 passes: write %.3f s, check %.3f s\n",
		online_s, check_s);
}

static int setup(void **state)
{
	char parent[96];

	temp_dir(base, sizeof(base), "a0-offline");
	/* offline_dir's parent exists, as /var/lib does; offline_dir, etc and run are made. */
	snprintf(parent, sizeof(parent), "%s/lib", base);
	snprintf(offdir, sizeof(offdir), "%s/offline", parent);
	snprintf(keydir, sizeof(keydir), "%s/etc", base);
	snprintf(hostkey, sizeof(hostkey), "%s/host.key", keydir);
	snprintf(rundir, sizeof(rundir), "%s/run", base);
	snprintf(bootkey, sizeof(bootkey), "%s/%s", rundir, A0_OFFLINE_TAG_KEY);
	return mkdir(parent, 0755);
}

static int teardown(void **state)
{
	return remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_and_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_only_when_needed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_purges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_key_pepper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test(test_line),
		cmocka_unit_test_setup_teardown(test_defaults_timed, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_offline: needs root (only root keeps offline verifiers)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
