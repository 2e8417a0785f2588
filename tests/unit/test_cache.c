/* SPDX-License-Identifier: MIT */
/*
 * The identity cache (nss/cache.h) on real files in a temporary directory: what the writer
 * writes reads back the same through every lookup; duplicates, hostile names and fields are
 * refused and leave the old file as it was; truncated and corrupted files are refused or give
 * errors, never a crash (this program runs under ASan and UBSan); the file's type, owner and
 * mode are checked; 100,000 users are written and every one looked up.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/util.h"
#include "nss/cache.h"
#include "nss/format.h"
#include "tests/common/assert.h"
#include "tests/unit/test_nss_fixture.h"

static char dir[64];
static char path[128];

static struct a0_cache *open_cache(void)
{
	struct a0_cache *c = NULL;
	int r = a0_cache_open_owned(path, geteuid(), &c);

	if (r < 0)
		fail_msg("a0_cache_open_owned(%s): %s", path, strerror(-r));
	return c;
}

static void write_fixture(void)
{
	char err[256] = "";

	if (fixture_write(path, err, sizeof(err)) != 0)
		fail_msg("fixture_write: %s", err);
}

/* The whole file, read into memory (size in *size). */
static unsigned char *slurp(const char *p, size_t *size)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(a0_read_full(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

static void put_file(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(a0_write_full(fd, text, strlen(text)), 0);
	close(fd);
}

/* How many entries dir holds besides . and .. */
static int entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	assert_non_null(dp);
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void assert_user(const struct a0_cache_pw *pw, const char *name, uint32_t uid, uint32_t gid,
			const char *gecos, const char *home, const char *shell)
{
	assert_string_equal(pw->name, name);
	assert_int_equal(pw->uid, uid);
	assert_int_equal(pw->gid, gid);
	assert_string_equal(pw->gecos, gecos);
	assert_string_equal(pw->dir, home);
	assert_string_equal(pw->shell, shell);
}

static void test_write_and_read_back(void **state)
{
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_cache_gids g;
	struct stat st;

	write_fixture();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	c = open_cache();
	assert_int_equal(a0_cache_generated(c), FIXTURE_GENERATED);
	assert_int_equal(a0_cache_n_users(c), 3);
	assert_int_equal(a0_cache_n_groups(c), 5);
	assert_int_equal(a0_cache_n_served_groups(c), 4);

	assert_int_equal(a0_cache_user_by_name(c, "a0alice", &pw), 0);
	assert_user(&pw, "a0alice", 70001, 70001, "Alice Example,,,", "/home/a0alice", "/bin/bash");
	assert_int_equal(a0_cache_user_by_uid(c, 70002, &pw), 0);
	assert_user(&pw, "a0bob", 70002, 70002, "Bob", "/home/a0bob", "/bin/sh");
	/* No gecos: an empty one. */
	assert_int_equal(a0_cache_user_by_name(c, "a0carol", &pw), 0);
	assert_user(&pw, "a0carol", 70003, 100, "", "/home/a0carol", "/usr/sbin/nologin");
	assert_int_equal(a0_cache_user_by_name(c, "a0dave", &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_name(c, "", &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_name(c, "a0alicea0alicea0alicea0alicea0alicea0alice",
					       &pw),
			 -ENOENT);
	assert_int_equal(a0_cache_user_by_uid(c, 70004, &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_uid(c, 0, &pw), -ENOENT);
	/* Enumeration in uid order, then the end. */
	assert_int_equal(a0_cache_user_at(c, 0, &pw), 0);
	assert_string_equal(pw.name, "a0alice");
	assert_int_equal(a0_cache_user_at(c, 2, &pw), 0);
	assert_string_equal(pw.name, "a0carol");
	assert_int_equal(a0_cache_user_at(c, 3, &pw), -ENOENT);

	assert_int_equal(a0_cache_group_by_name(c, "a0devs", &gr), 0);
	assert_int_equal(gr.gid, 71000);
	assert_int_equal(gr.n_members, 3);
	assert_string_equal(a0_cache_member(c, &gr, 0), "a0alice");
	assert_string_equal(a0_cache_member(c, &gr, 1), "a0bob");
	assert_string_equal(a0_cache_member(c, &gr, 2), "localdave");
	assert_null(a0_cache_member(c, &gr, 3));
	assert_int_equal(a0_cache_group_by_gid(c, 70002, &gr), 0);
	assert_string_equal(gr.name, "a0bob");
	assert_int_equal(gr.n_members, 0);
	/* The role mapped to the local sudo is no group of ours to serve. */
	assert_int_equal(a0_cache_group_by_name(c, "sudo", &gr), -ENOENT);
	assert_int_equal(a0_cache_group_by_gid(c, 27, &gr), -ENOENT);
	/* Served groups in gid order. */
	assert_int_equal(a0_cache_group_at(c, 0, &gr), 0);
	assert_string_equal(gr.name, "a0alice");
	assert_int_equal(a0_cache_group_at(c, 3, &gr), 0);
	assert_string_equal(gr.name, "a0ops");
	assert_int_equal(a0_cache_group_at(c, 4, &gr), -ENOENT);

	/* Memberships, local groups included, in gid order; local accounts too. */
	assert_int_equal(a0_cache_groups_of(c, "a0alice", &g), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(a0_cache_gid(&g, 0), 27);
	assert_int_equal(a0_cache_gid(&g, 1), 71000);
	assert_int_equal(a0_cache_gid(&g, 2), 71001);
	assert_int_equal(a0_cache_groups_of(c, "localdave", &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(a0_cache_gid(&g, 0), 27);
	assert_int_equal(a0_cache_gid(&g, 1), 71000);
	assert_int_equal(a0_cache_groups_of(c, "a0carol", &g), -ENOENT);
	a0_cache_close(c);
}

/* No users and no groups: a valid cache where nothing is found. */
static void test_empty_cache(void **state)
{
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_cache_gids g;
	char err[256] = "";

	assert_a0(a0_cache_write(path, NULL, 0, NULL, 0, 1, err, sizeof(err)), 0);
	c = open_cache();
	assert_int_equal(a0_cache_n_users(c), 0);
	assert_int_equal(a0_cache_n_groups(c), 0);
	assert_int_equal(a0_cache_generated(c), 1);
	assert_int_equal(a0_cache_user_by_name(c, "a0alice", &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_uid(c, 70001, &pw), -ENOENT);
	assert_int_equal(a0_cache_user_at(c, 0, &pw), -ENOENT);
	assert_int_equal(a0_cache_group_by_gid(c, 71000, &gr), -ENOENT);
	assert_int_equal(a0_cache_group_at(c, 0, &gr), -ENOENT);
	assert_int_equal(a0_cache_groups_of(c, "a0alice", &g), -ENOENT);
	a0_cache_close(c);
}

/* The writer's refusal, with what its message must name. */
static void refused(const struct a0_cache_user *u, size_t nu, const struct a0_cache_group *g,
		    size_t ng, const char *why)
{
	char err[256] = "";
	int r = a0_cache_write(path, u, nu, g, ng, 0, err, sizeof(err));

	assert_a0(r, A0_ERR_INVALID);
	if (!strstr(err, why))
		fail_msg("message '%s' does not name '%s'", err, why);
	assert_true(a0_text_ok(err, strlen(err), A0_TEXT_LINE));
}

static void test_duplicates_refused(void **state)
{
	const struct a0_cache_user same_name[] = {
		{ "a0alice", 70001, 70001, "", "/home/a", "/bin/sh" },
		{ "a0alice", 70002, 70002, "", "/home/b", "/bin/sh" },
	};
	const struct a0_cache_user same_uid[] = {
		{ "a0alice", 70001, 70001, "", "/home/a", "/bin/sh" },
		{ "a0bob", 70001, 70002, "", "/home/b", "/bin/sh" },
	};
	const char *const twice[] = { "a0alice", "a0bob", "a0alice" };
	const struct a0_cache_group same_group[] = { { "devs", 71000, NULL, 0, 0 },
						     { "devs", 71001, NULL, 0, 0 } };
	const struct a0_cache_group same_gid[] = { { "devs", 71000, NULL, 0, 0 },
						   { "ops", 71000, NULL, 0, 1 } };
	const struct a0_cache_group member_twice[] = { { "devs", 71000, twice, 3, 0 } };

	refused(same_name, 2, NULL, 0, "two users named a0alice");
	refused(same_uid, 2, NULL, 0, "same id 70001");
	refused(NULL, 0, same_group, 2, "two groups named devs");
	refused(NULL, 0, same_gid, 2, "same id 71000");
	refused(NULL, 0, member_twice, 1, "a0alice is listed twice");
	/* Nothing was written. */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(entries(dir), 0);
}

static void test_hostile_values_refused(void **state)
{
	static const char *const bad_names[] = {
		"",      "Alice",
		"a:b",   "../etc",
		"a b",   "a\nb",
		"-rf",   "1abc",
		"a.b",   "a/b",
		"a$",    "\xc3\xa9",
		"a\x7f", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 33 */
	};
	static const char *const bad_fields[] = { "a:b", "a\nb", "a\tb", "a\x1b[31m", "a\x7f" };
	char long_field[A0_CACHE_MAX_FIELD + 2];
	struct a0_cache_user u = { "a0alice", 70001, 70001, "", "/home/a", "/bin/sh" };
	const char *member;
	struct a0_cache_group g = { "devs", 71000, &member, 1, 0 };

	for (size_t i = 0; i < A0_ARRAY_SIZE(bad_names); i++) {
		u.name = bad_names[i];
		refused(&u, 1, NULL, 0, "not a valid name");
		g.name = bad_names[i];
		refused(NULL, 0, &g, 1, "not a valid name");
		g.name = "devs";
		member = bad_names[i];
		refused(NULL, 0, &g, 1, "not a valid name");
	}
	u.name = "a0alice";
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad_fields); i++) {
		u.gecos = bad_fields[i];
		refused(&u, 1, NULL, 0, "a0alice: gecos, home or shell");
		u.gecos = "";
		u.shell = bad_fields[i];
		refused(&u, 1, NULL, 0, "a0alice: gecos, home or shell");
		u.shell = "/bin/sh";
	}
	memset(long_field, 'g', sizeof(long_field) - 1);
	long_field[sizeof(long_field) - 1] = '\0';
	u.gecos = long_field;
	refused(&u, 1, NULL, 0, "too long");
	u.gecos = long_field + 1; /* A0_CACHE_MAX_FIELD bytes: fine */
	{
		char err[256] = "";

		assert_a0(a0_cache_write(path, &u, 1, NULL, 0, 0, err, sizeof(err)), 0);
		assert_int_equal(unlink(path), 0);
	}
	u.gecos = "";
	u.dir = "home/a"; /* not absolute */
	refused(&u, 1, NULL, 0, "gecos, home or shell");
	u.dir = NULL;
	refused(&u, 1, NULL, 0, "gecos, home or shell");
	u.dir = "/home/a";
	u.uid = 0;
	refused(&u, 1, NULL, 0, "uid 0");
	u.uid = 70001;
	u.gid = UINT32_MAX;
	refused(&u, 1, NULL, 0, "gid 4294967295");
	u.gid = 70001;
	g.gid = 0;
	member = "a0alice";
	refused(NULL, 0, &g, 1, "gid 0");
	assert_int_equal(entries(dir), 0);
}

static void test_old_file_survives_failed_write(void **state)
{
	const struct a0_cache_user bad = { "Bad", 1, 1, "", "/", "/bin/sh" };
	char err[256] = "", elsewhere[192];
	unsigned char *before, *after;
	size_t n_before, n_after;
	struct stat st1, st2;

	write_fixture();
	assert_int_equal(stat(path, &st1), 0);
	before = slurp(path, &n_before);
	/* Refused input: the file is not touched, and no temporary file is left. */
	assert_a0(a0_cache_write(path, &bad, 1, NULL, 0, 0, err, sizeof(err)), A0_ERR_INVALID);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	after = slurp(path, &n_after);
	assert_int_equal(n_before, n_after);
	assert_memory_equal(before, after, n_before);
	assert_int_equal(entries(dir), 1);
	free(after);
	/* A write that fails at the rename (a directory is in the way) leaves no temporary file. */
	snprintf(elsewhere, sizeof(elsewhere), "%s/sub", dir);
	assert_int_equal(mkdir(elsewhere, 0755), 0);
	snprintf(elsewhere, sizeof(elsewhere), "%s/sub/x", dir);
	assert_int_equal(mkdir(elsewhere, 0755), 0);
	snprintf(elsewhere, sizeof(elsewhere), "%s/sub", dir);
	err[0] = '\0';
	assert_a0(fixture_write(elsewhere, err, sizeof(err)), A0_ERR_SYSTEM);
	assert_non_null(strstr(err, "cannot replace"));
	assert_int_equal(entries(elsewhere), 1);
	/* A directory that does not exist. */
	snprintf(elsewhere, sizeof(elsewhere), "%s/none/nss.cache", dir);
	assert_a0(fixture_write(elsewhere, err, sizeof(err)), A0_ERR_SYSTEM);
	/* A new cache replaces the old one whole: a new file, the same path. */
	write_fixture();
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	after = slurp(path, &n_after);
	assert_memory_equal(before, after, n_before);
	free(after);
	free(before);
}

/* Every lookup the NSS module makes, on whatever a0_cache_from_memory accepted. */
static void exercise(const struct a0_cache *c)
{
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_cache_gids g;
	static const char *const names[] = { "a0alice", "a0bob", "a0carol", "localdave",
					     "a0devs",  "sudo",  "zzz" };

	for (size_t i = 0; a0_cache_user_at(c, i, &pw) != -ENOENT && i < 64; i++)
		;
	for (size_t i = 0; a0_cache_group_at(c, i, &gr) != -ENOENT && i < 64; i++)
		if (a0_cache_group_at(c, i, &gr) == 0)
			for (size_t j = 0; j < gr.n_members && j < 64; j++)
				(void)a0_cache_member(c, &gr, j);
	for (size_t i = 0; i < A0_ARRAY_SIZE(names); i++) {
		(void)a0_cache_user_by_name(c, names[i], &pw);
		(void)a0_cache_group_by_name(c, names[i], &gr);
		if (a0_cache_groups_of(c, names[i], &g) == 0)
			for (size_t j = 0; j < g.n; j++)
				(void)a0_cache_gid(&g, j);
	}
	for (uint32_t id = 70000; id < 70005; id++) {
		(void)a0_cache_user_by_uid(c, id, &pw);
		(void)a0_cache_group_by_gid(c, id, &gr);
	}
}

static void test_truncated_and_corrupted_rejected(void **state)
{
	struct a0_cache *c = NULL;
	struct a0_cache_header h;
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	unsigned char *good, *bad;
	size_t size, accepted = 0;
	uint32_t v;
	int fd;

	write_fixture();
	good = slurp(path, &size);
	bad = malloc(size);
	assert_non_null(bad);
	/* Every truncation: the size in the header no longer matches. */
	for (size_t n = 0; n < size; n++) {
		memcpy(bad, good, n);
		assert_int_equal(a0_cache_from_memory(bad, n, &c), -EBADMSG);
	}
	/* Every byte flipped, and set to 0xff: refused, or every lookup survives it. */
	for (size_t i = 0; i < size; i++) {
		for (int pass = 0; pass < 2; pass++) {
			memcpy(bad, good, size);
			bad[i] = pass ? 0xff : (unsigned char)~bad[i];
			if (a0_cache_from_memory(bad, size, &c) != 0)
				continue;
			accepted++;
			exercise(c);
			a0_cache_close(c);
		}
	}
	/* Flips in the records, indexes and strings are accepted at open: checked on access. */
	assert_true(accepted > size / 2);

	/* A user's name pointing past the strings: -EBADMSG from the lookups, not a crash. */
	memcpy(&h, good, sizeof(h));
	memcpy(bad, good, size);
	v = (uint32_t)h.sec[A0_SEC_STRINGS].size;
	memcpy(bad + h.sec[A0_SEC_USERS].off, &v, sizeof(v)); /* record 0's name */
	assert_int_equal(a0_cache_from_memory(bad, size, &c), 0);
	assert_int_equal(a0_cache_user_at(c, 0, &pw), -EBADMSG);
	assert_int_equal(a0_cache_user_by_uid(c, 70001, &pw), -EBADMSG);
	a0_cache_close(c);
	/* An index naming a record that does not exist. */
	memcpy(bad, good, size);
	v = 1000;
	memcpy(bad + h.sec[A0_SEC_GROUPS_BY_GID].off + offsetof(struct a0_cache_key, rec), &v,
	       sizeof(v));
	assert_int_equal(a0_cache_from_memory(bad, size, &c), 0);
	assert_int_equal(a0_cache_group_at(c, 0, &gr), -EBADMSG);
	a0_cache_close(c);
	/* A string without its NUL at the end of the file. */
	memcpy(bad, good, size);
	memset(bad + h.sec[A0_SEC_STRINGS].off, 'x', h.sec[A0_SEC_STRINGS].size);
	assert_int_equal(a0_cache_from_memory(bad, size, &c), 0);
	assert_int_equal(a0_cache_user_by_name(c, "a0alice", &pw), -EBADMSG);
	a0_cache_close(c);
	/* A section past the end of the file, another version, another magic. */
	memcpy(bad, good, size);
	h.sec[A0_SEC_GIDS].off = size;
	memcpy(bad, &h, sizeof(h));
	assert_int_equal(a0_cache_from_memory(bad, size, &c), -EBADMSG);
	memcpy(&h, good, sizeof(h));
	h.version = 2;
	memcpy(bad, &h, sizeof(h));
	assert_int_equal(a0_cache_from_memory(bad, size, &c), -EBADMSG);

	/* And on disk: a truncated file is refused by a0_cache_open_owned. */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size - 1), 0);
	close(fd);
	assert_int_equal(a0_cache_open_owned(path, geteuid(), &c), -EBADMSG);
	free(bad);
	free(good);
}

static void test_file_checks(void **state)
{
	struct a0_cache *c = NULL;
	char other[160];

	assert_int_equal(a0_cache_open_owned(path, geteuid(), &c), -ENOENT);
	write_fixture();
	/* Owned by someone else than asked (a0_cache_open asks for root). */
	assert_int_equal(a0_cache_open_owned(path, geteuid() + 1, &c), -EPERM);
	if (geteuid() != 0)
		assert_int_equal(a0_cache_open(path, &c), -EPERM);
	/* Writable by the group or others. */
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(a0_cache_open_owned(path, geteuid(), &c), -EPERM);
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(a0_cache_open_owned(path, geteuid(), &c), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	c = open_cache();
	a0_cache_close(c);
	/* A symbolic link, a directory, a FIFO (refused at once, not waited on). */
	snprintf(other, sizeof(other), "%s/link", dir);
	assert_int_equal(symlink(path, other), 0);
	assert_int_equal(a0_cache_open_owned(other, geteuid(), &c), -EPERM);
	assert_int_equal(unlink(other), 0);
	assert_int_equal(a0_cache_open_owned(dir, geteuid(), &c), -EPERM);
	snprintf(other, sizeof(other), "%s/fifo", dir);
	assert_int_equal(mkfifo(other, 0644), 0);
	assert_int_equal(a0_cache_open_owned(other, geteuid(), &c), -EPERM);
	assert_int_equal(unlink(other), 0);
	/* Not a cache at all. */
	snprintf(other, sizeof(other), "%s/passwd", dir);
	put_file(other, "root:x:0:0:root:/root:/bin/bash\n");
	assert_int_equal(a0_cache_open_owned(other, geteuid(), &c), -EBADMSG);
	assert_int_equal(unlink(other), 0);
}

static void test_same_file(void **state)
{
	struct a0_cache *c;
	struct stat st;

	write_fixture();
	c = open_cache();
	assert_int_equal(stat(path, &st), 0);
	assert_true(a0_cache_same_file(c, &st));
	write_fixture();
	assert_int_equal(stat(path, &st), 0);
	assert_false(a0_cache_same_file(c, &st));
	a0_cache_close(c);
}

static void test_names(void **state)
{
	static const char *const good[] = { "a",
					    "_",
					    "a0alice",
					    "john_doe",
					    "john-doe",
					    "x-1_2",
					    "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *const bad[] = { "",    "A",   "0a",
					   "-a",  "a.b", "a b",
					   "a:b", "..",  "abcdefghijklmnopqrstuvwxyz0123456" };

	for (size_t i = 0; i < A0_ARRAY_SIZE(good); i++)
		if (!a0_cache_name_ok(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++)
		if (a0_cache_name_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

/* Names whose hashes collide (found by search): the indexes order them by name, and each is
 * found as itself. */
static void test_hash_collisions(void **state)
{
	static const char *const names[] = { "c1062789", "c1279192", "c1062788", "c1279193" };
	static const char *const members[] = { "c1279192", "c1062789" };
	struct a0_cache_user users[4];
	struct a0_cache_group groups[4];
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_cache_gids g;
	struct a0_cache *c;
	char err[256] = "";

	assert_int_equal(a0_cache_hash(names[0]), a0_cache_hash(names[1]));
	assert_int_equal(a0_cache_hash(names[2]), a0_cache_hash(names[3]));
	for (size_t i = 0; i < 4; i++) {
		users[i] = (struct a0_cache_user){
			names[i], (uint32_t)(80000 + i), (uint32_t)(80000 + i), "", "/home/c",
			"/bin/sh"
		};
		groups[i] = (struct a0_cache_group){ names[i], (uint32_t)(81000 + i),
						     i < 2 ? members : NULL, i < 2 ? 2 : 0, 0 };
	}
	if (a0_cache_write(path, users, 4, groups, 4, 0, err, sizeof(err)) != 0)
		fail_msg("a0_cache_write: %s", err);
	c = open_cache();
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(a0_cache_user_by_name(c, names[i], &pw), 0);
		assert_string_equal(pw.name, names[i]);
		assert_int_equal(pw.uid, 80000 + i);
		assert_int_equal(a0_cache_group_by_name(c, names[i], &gr), 0);
		assert_int_equal(gr.gid, 81000 + i);
	}
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(a0_cache_groups_of(c, names[i], &g), 0);
		assert_int_equal(g.n, 2);
		assert_int_equal(a0_cache_gid(&g, 0), 81000);
		assert_int_equal(a0_cache_gid(&g, 1), 81001);
	}
	assert_int_equal(a0_cache_groups_of(c, names[2], &g), -ENOENT);
	a0_cache_close(c);
}

/* Ids spread very unevenly (the searches' first guesses land far off): every one is found. */
static void test_uneven_ids(void **state)
{
	enum { N = 3000 };
	struct a0_cache_user *users = calloc(N, sizeof(*users));
	char(*names)[16] = calloc(N, sizeof(*names));
	struct a0_cache_pw pw;
	struct a0_cache *c;
	char err[256] = "";

	assert_non_null(users);
	assert_non_null(names);
	for (uint32_t i = 0; i < N; i++) {
		/* 2,000 close together, then squares spread to 3.6e9, the last at the top. */
		uint32_t uid = i < 2000     ? 1000 + i
			       : i == N - 1 ? UINT32_MAX - 1
					    : (i + 1) * (i + 1) * 400;

		snprintf(names[i], sizeof(names[i]), "n%u", i);
		users[i] = (struct a0_cache_user){ names[i], uid, 100, "", "/", "/bin/sh" };
	}
	if (a0_cache_write(path, users, N, NULL, 0, 0, err, sizeof(err)) != 0)
		fail_msg("a0_cache_write: %s", err);
	c = open_cache();
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(a0_cache_user_by_uid(c, users[i].uid, &pw), 0);
		assert_string_equal(pw.name, names[i]);
		assert_int_equal(a0_cache_user_by_uid(c, users[i].uid + 1, &pw),
				 i + 1 < N && users[i + 1].uid == users[i].uid + 1 ? 0 : -ENOENT);
	}
	assert_int_equal(a0_cache_user_by_uid(c, UINT32_MAX, &pw), -ENOENT);
	a0_cache_close(c);
	free(names);
	free(users);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_100000_users(void **state)
{
	struct fixture_many f;
	struct a0_cache *c;
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_cache_gids g;
	struct timespec t0;
	char err[256] = "", name[FIXTURE_NAME];
	struct stat st;

	fixture_many_init(&f, 100000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fixture_many_write(&f, path, err, sizeof(err)) != 0)
		fail_msg("fixture_many_write: %s", err);
	assert_int_equal(stat(path, &st), 0);
	print_message("100,000 users: written in %.2f s, %lld bytes\n", seconds_since(&t0),
		      (long long)st.st_size);
	c = open_cache();
	assert_int_equal(a0_cache_n_users(c), 100000);
	assert_int_equal(a0_cache_n_served_groups(c), 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "u%07zu", i);
		assert_int_equal(a0_cache_user_by_name(c, name, &pw), 0);
		assert_int_equal(pw.uid, 200000 + i);
		assert_int_equal(a0_cache_user_by_uid(c, (uint32_t)(200000 + i), &pw), 0);
		assert_string_equal(pw.name, name);
		assert_int_equal(a0_cache_groups_of(c, name, &g), 0);
		assert_int_equal(g.n, 2);
		assert_int_equal(a0_cache_gid(&g, 0), 100);
		assert_int_equal(a0_cache_gid(&g, 1), 300000 + i / FIXTURE_PER_GROUP);
	}
	print_message("100,000 users: each looked up by name, uid and groups in %.2f s\n",
		      seconds_since(&t0));
	assert_int_equal(a0_cache_user_by_name(c, "u0100000", &pw), -ENOENT);
	assert_int_equal(a0_cache_group_by_name(c, "g999", &gr), 0);
	assert_int_equal(gr.n_members, 100);
	assert_string_equal(a0_cache_member(c, &gr, 99), "u0099999");
	assert_int_equal(a0_cache_group_by_name(c, "users", &gr), -ENOENT);
	for (size_t i = 0; i < 100000; i++)
		assert_int_equal(a0_cache_user_at(c, i, &pw), 0);
	assert_int_equal(a0_cache_user_at(c, 100000, &pw), -ENOENT);
	a0_cache_close(c);
	fixture_many_free(&f);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-cache-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	return 0;
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
		cmocka_unit_test_setup_teardown(test_write_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_values_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_file_survives_failed_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_corrupted_rejected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_file_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_file, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_hash_collisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uneven_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_100000_users, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
