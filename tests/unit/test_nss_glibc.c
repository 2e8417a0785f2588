/* SPDX-License-Identifier: MIT */
/*
 * libnss_auth0 as glibc drives it, without touching the host's /etc:
 *
 * - the test build of the module (nss/.libs/libnss_auth0_test.so) is dlopened and its
 *   _nss_auth0_* functions called the way glibc's nss code calls them: the caller's struct and
 *   buffer (every size below the one needed gives TRYAGAIN with ERANGE, at any alignment),
 *   NOTFOUND with ENOENT, UNAVAIL for an absent, corrupt or unsafe cache, the *ent iterators,
 *   initgroups_dyn growing the caller's array up to its limit; threads hammering lookups while
 *   the cache is replaced under them; fork while other threads hold the module's lock;
 * - as root, glibc itself: a child in a mount namespace of its own (made private first, so
 *   nothing reaches the host) has our nsswitch.conf ("passwd: files auth0"), passwd and group
 *   bound over /etc's and finds the module by LD_LIBRARY_PATH, and calls getpwnam, getgrouplist
 *   (which calls _nss_auth0_initgroups_dyn), getpwent... and, in a build without sanitizers,
 *   runs getent.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/util.h"
#include "nss/cache.h"
#include "nss/format.h"
#include "nss/nss_auth0.h"
#include "tests/unit/test_nss_fixture.h"

static char dir[64];
static char cache[128];

/* The module's entry points, as glibc finds them with dlsym. */
static struct {
	void *handle;
	__typeof__(&_nss_auth0_getpwnam_r) getpwnam_r;
	__typeof__(&_nss_auth0_getpwuid_r) getpwuid_r;
	__typeof__(&_nss_auth0_setpwent) setpwent;
	__typeof__(&_nss_auth0_getpwent_r) getpwent_r;
	__typeof__(&_nss_auth0_endpwent) endpwent;
	__typeof__(&_nss_auth0_getgrnam_r) getgrnam_r;
	__typeof__(&_nss_auth0_getgrgid_r) getgrgid_r;
	__typeof__(&_nss_auth0_setgrent) setgrent;
	__typeof__(&_nss_auth0_getgrent_r) getgrent_r;
	__typeof__(&_nss_auth0_endgrent) endgrent;
	__typeof__(&_nss_auth0_initgroups_dyn) initgroups_dyn;
} m;

static void *fn(const char *name)
{
	void *f = dlsym(m.handle, name);

	if (!f)
		fail_msg("%s: %s", name, dlerror());
	return f;
}

static void load_module(void)
{
	m.handle = dlopen(A0_NSS_TEST_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (!m.handle)
		fail_msg("dlopen %s: %s", A0_NSS_TEST_MODULE, dlerror());
	*(void **)&m.getpwnam_r = fn("_nss_auth0_getpwnam_r");
	*(void **)&m.getpwuid_r = fn("_nss_auth0_getpwuid_r");
	*(void **)&m.setpwent = fn("_nss_auth0_setpwent");
	*(void **)&m.getpwent_r = fn("_nss_auth0_getpwent_r");
	*(void **)&m.endpwent = fn("_nss_auth0_endpwent");
	*(void **)&m.getgrnam_r = fn("_nss_auth0_getgrnam_r");
	*(void **)&m.getgrgid_r = fn("_nss_auth0_getgrgid_r");
	*(void **)&m.setgrent = fn("_nss_auth0_setgrent");
	*(void **)&m.getgrent_r = fn("_nss_auth0_getgrent_r");
	*(void **)&m.endgrent = fn("_nss_auth0_endgrent");
	*(void **)&m.initgroups_dyn = fn("_nss_auth0_initgroups_dyn");
}

static void write_cache(const struct a0_cache_user *users, size_t n_users,
			const struct a0_cache_group *groups, size_t n_groups)
{
	char err[256] = "";

	if (a0_cache_write(cache, users, n_users, groups, n_groups, FIXTURE_GENERATED, err,
			   sizeof(err)) != 0)
		fail_msg("a0_cache_write: %s", err);
}

static void write_fixture(void)
{
	write_cache(fixture_users, A0_ARRAY_SIZE(fixture_users), fixture_groups,
		    A0_ARRAY_SIZE(fixture_groups));
}

static const char *status_name(enum nss_status s)
{
	switch (s) {
	case NSS_STATUS_SUCCESS:
		return "SUCCESS";
	case NSS_STATUS_NOTFOUND:
		return "NOTFOUND";
	case NSS_STATUS_UNAVAIL:
		return "UNAVAIL";
	case NSS_STATUS_TRYAGAIN:
		return "TRYAGAIN";
	default:
		return "other";
	}
}

#define assert_status(expr, expected)                                           \
	do {                                                                    \
		enum nss_status s_ = (expr);                                    \
		if (s_ != (expected))                                           \
			fail_msg("%s: %s, expected %s", #expr, status_name(s_), \
				 status_name(expected));                        \
	} while (0)

static void assert_inside(const void *p, const char *buf, size_t len)
{
	assert_true((const char *)p >= buf && (const char *)p < buf + len);
}

static void test_passwd_lookups(void **state)
{
	struct passwd pw;
	char buf[512];
	int e = 0;

	write_fixture();
	assert_status(m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "a0alice");
	assert_string_equal(pw.pw_passwd, "*");
	assert_int_equal(pw.pw_uid, 70001);
	assert_int_equal(pw.pw_gid, 70001);
	assert_string_equal(pw.pw_gecos, "Alice Example,,,");
	assert_string_equal(pw.pw_dir, "/home/a0alice");
	assert_string_equal(pw.pw_shell, "/bin/bash");
	/* Every string in the caller's buffer, none in the mapping. */
	assert_inside(pw.pw_name, buf, sizeof(buf));
	assert_inside(pw.pw_passwd, buf, sizeof(buf));
	assert_inside(pw.pw_gecos, buf, sizeof(buf));
	assert_inside(pw.pw_dir, buf, sizeof(buf));
	assert_inside(pw.pw_shell, buf, sizeof(buf));
	assert_status(m.getpwuid_r(70003, &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "a0carol");
	e = 0;
	assert_status(m.getpwnam_r("a0nobody", &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_int_equal(e, ENOENT);
	e = 0;
	assert_status(m.getpwuid_r(0, &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_int_equal(e, ENOENT);
}

/* Every buffer size below what an entry needs, at every alignment: TRYAGAIN with ERANGE. */
static void test_erange_at_every_size(void **state)
{
	static char space[1024 + 8];
	struct passwd pw;
	struct group gr;
	size_t need = strlen("a0alice") + strlen("x") + strlen("Alice Example,,,") +
		      strlen("/home/a0alice") + strlen("/bin/bash") + 5;
	int e;

	write_fixture();
	for (size_t n = 0; n < need; n++) {
		e = 0;
		assert_status(m.getpwnam_r("a0alice", &pw, space, n, &e), NSS_STATUS_TRYAGAIN);
		assert_int_equal(e, ERANGE);
	}
	assert_status(m.getpwnam_r("a0alice", &pw, space, need, &e), NSS_STATUS_SUCCESS);
	for (size_t off = 0; off < 8; off++) {
		char *buf = space + off;
		size_t n = 0;

		e = 0;
		while (m.getgrnam_r("a0devs", &gr, buf, n, &e) == NSS_STATUS_TRYAGAIN) {
			assert_int_equal(e, ERANGE);
			n++;
			assert_true(n < 1024);
		}
		/* Found: four pointers, aligned, and the strings, all inside the buffer. */
		assert_true(n >= 4 * sizeof(char *) + strlen("a0devs") + 2 + strlen("a0alice") +
					 strlen("a0bob") + strlen("localdave") + 3);
		assert_int_equal((uintptr_t)gr.gr_mem % _Alignof(char *), 0);
		assert_inside(gr.gr_mem, buf, n);
		assert_inside(gr.gr_mem + 3, buf, n);
		assert_string_equal(gr.gr_name, "a0devs");
		assert_string_equal(gr.gr_passwd, "x");
		assert_int_equal(gr.gr_gid, 71000);
		assert_string_equal(gr.gr_mem[0], "a0alice");
		assert_string_equal(gr.gr_mem[2], "localdave");
		assert_inside(gr.gr_mem[2], buf, n);
		assert_null(gr.gr_mem[3]);
	}
	assert_status(m.getpwnam_r("a0alice", &pw, NULL, 0, &e), NSS_STATUS_TRYAGAIN);
	assert_status(m.getgrnam_r("a0devs", &gr, NULL, 0, &e), NSS_STATUS_TRYAGAIN);
}

static void test_group_lookups(void **state)
{
	struct group gr;
	char buf[512];
	int e = 0;

	write_fixture();
	assert_status(m.getgrgid_r(71001, &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(gr.gr_name, "a0ops");
	assert_string_equal(gr.gr_mem[0], "a0alice");
	assert_null(gr.gr_mem[1]);
	assert_status(m.getgrnam_r("a0alice", &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_null(gr.gr_mem[0]);
	/* A role mapped to a local group is not served: only initgroups_dyn gives its gid. */
	e = 0;
	assert_status(m.getgrnam_r("sudo", &gr, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_int_equal(e, ENOENT);
	assert_status(m.getgrgid_r(27, &gr, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
}

static void test_enumeration(void **state)
{
	static const char *const users[] = { "a0alice", "a0bob", "a0carol" };
	static const char *const groups[] = { "a0alice", "a0bob", "a0devs", "a0ops" };
	const struct a0_cache_user dave = { "a0dave", 70004, 70004, "", "/home/a0dave", "/bin/sh" };
	struct passwd pw;
	struct group gr;
	char buf[512], small[8];
	int e = 0;

	write_fixture();
	assert_status(m.setpwent(), NSS_STATUS_SUCCESS);
	/* A buffer too small: the same entry again with a bigger one, as glibc retries. */
	assert_status(m.getpwent_r(&pw, small, sizeof(small), &e), NSS_STATUS_TRYAGAIN);
	assert_int_equal(e, ERANGE);
	for (size_t i = 0; i < A0_ARRAY_SIZE(users); i++) {
		assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
		assert_string_equal(pw.pw_name, users[i]);
	}
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	/* setpwent starts over; endpwent too. */
	assert_status(m.setpwent(), NSS_STATUS_SUCCESS);
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "a0alice");
	assert_status(m.endpwent(), NSS_STATUS_SUCCESS);
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "a0alice");
	assert_status(m.endpwent(), NSS_STATUS_SUCCESS);

	/* Replaced during an enumeration: it goes on in the cache it started with (as nss_files
	 * reads the file it opened); the next one reads the new cache. Lookups see it at once. */
	assert_status(m.setpwent(), NSS_STATUS_SUCCESS);
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "a0alice");
	write_cache(&dave, 1, NULL, 0);
	assert_status(m.getpwnam_r("a0dave", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	for (size_t i = 1; i < A0_ARRAY_SIZE(users); i++) {
		assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
		assert_string_equal(pw.pw_name, users[i]);
	}
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_status(m.setpwent(), NSS_STATUS_SUCCESS);
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "a0dave");
	assert_status(m.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_status(m.endpwent(), NSS_STATUS_SUCCESS);

	write_fixture();
	assert_status(m.setgrent(), NSS_STATUS_SUCCESS);
	for (size_t i = 0; i < A0_ARRAY_SIZE(groups); i++) {
		assert_status(m.getgrent_r(&gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
		assert_string_equal(gr.gr_name, groups[i]);
	}
	assert_status(m.getgrent_r(&gr, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_status(m.endgrent(), NSS_STATUS_SUCCESS);
}

static void test_initgroups_dyn(void **state)
{
	long int start = 1, size = 1;
	gid_t *groups = malloc(sizeof(gid_t));
	int e = 0;

	assert_non_null(groups);
	write_fixture();
	/* glibc starts with the primary group and asks each source for more. */
	groups[0] = 70001;
	assert_status(m.initgroups_dyn("a0alice", 70001, &start, &size, &groups, 0, &e),
		      NSS_STATUS_SUCCESS);
	assert_int_equal(start, 4);
	assert_true(size >= 4);
	assert_int_equal(groups[0], 70001);
	assert_int_equal(groups[1], 27); /* sudo: local, here only */
	assert_int_equal(groups[2], 71000);
	assert_int_equal(groups[3], 71001);
	/* The limit: what fits, and no error. */
	start = 1;
	assert_status(m.initgroups_dyn("a0alice", 70001, &start, &size, &groups, 2, &e),
		      NSS_STATUS_SUCCESS);
	assert_int_equal(start, 4); /* size was already 4 or more */
	free(groups);
	groups = malloc(sizeof(gid_t));
	assert_non_null(groups);
	groups[0] = 70001;
	start = 1;
	size = 1;
	assert_status(m.initgroups_dyn("a0alice", 70001, &start, &size, &groups, 2, &e),
		      NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);
	assert_int_equal(size, 2);
	assert_int_equal(groups[1], 27);
	/* skipgroup is left out; a local account named as a member has groups too. */
	start = 0;
	assert_status(m.initgroups_dyn("localdave", 27, &start, &size, &groups, 0, &e),
		      NSS_STATUS_SUCCESS);
	assert_int_equal(start, 1);
	assert_int_equal(groups[0], 71000);
	/* An empty array to start with. */
	free(groups);
	groups = NULL;
	start = size = 0;
	assert_status(m.initgroups_dyn("localdave", 100, &start, &size, &groups, 0, &e),
		      NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);
	/* Nobody's member: not found. */
	e = 0;
	assert_status(m.initgroups_dyn("a0carol", 100, &start, &size, &groups, 0, &e),
		      NSS_STATUS_NOTFOUND);
	assert_int_equal(e, ENOENT);
	assert_int_equal(start, 2);
	free(groups);
}

/* Every entry point says UNAVAIL (ENOENT): glibc goes on to the next source. */
static void assert_unavailable(const char *why)
{
	struct passwd pw;
	struct group gr;
	char buf[512];
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	enum nss_status s[7];
	int e = 0;

	s[0] = m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e);
	s[1] = m.getpwuid_r(70001, &pw, buf, sizeof(buf), &e);
	s[2] = m.getgrnam_r("a0devs", &gr, buf, sizeof(buf), &e);
	s[3] = m.getgrgid_r(71000, &gr, buf, sizeof(buf), &e);
	s[4] = m.setpwent();
	s[5] = m.getpwent_r(&pw, buf, sizeof(buf), &e);
	s[6] = m.initgroups_dyn("a0alice", 70001, &start, &size, &groups, 0, &e);
	for (size_t i = 0; i < A0_ARRAY_SIZE(s); i++)
		if (s[i] != NSS_STATUS_UNAVAIL)
			fail_msg("%s: call %zu answered %s, not UNAVAIL", why, i,
				 status_name(s[i]));
	assert_int_equal(e, ENOENT);
	assert_int_equal(start, 0);
	free(groups);
	(void)m.endpwent();
}

static void put(const char *path, const void *data, size_t n, mode_t mode)
{
	char tmp[192];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(a0_write_full(fd, data, n), 0);
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

static void test_unavailable(void **state)
{
	char link[160], *good;
	struct a0_cache_header h;
	struct passwd pw;
	struct stat st;
	char buf[512];
	size_t size;
	uint32_t v;
	int fd, e;

	unsetenv("A0_NSS_CACHE");
	assert_unavailable("no A0_NSS_CACHE");
	setenv("A0_NSS_CACHE", cache, 1);
	assert_unavailable("no file");
	write_fixture();
	assert_status(m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	/* The good file, kept to corrupt copies of it. */
	fd = open(cache, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size > 0 && st.st_size < 1024 * 1024);
	size = (size_t)st.st_size;
	good = malloc(size);
	assert_non_null(good);
	assert_int_equal(a0_read_full(fd, good, size), (ssize_t)size);
	close(fd);
	/* Writable by others, then by the group: refused even though it is mapped already. */
	assert_int_equal(chmod(cache, 0646), 0);
	assert_unavailable("mode 0646");
	assert_int_equal(chmod(cache, 0664), 0);
	assert_unavailable("mode 0664");
	assert_int_equal(chmod(cache, 0644), 0);
	assert_status(m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	if (geteuid() == 0) {
		assert_int_equal(chown(cache, 1, 0), 0);
		assert_unavailable("owned by daemon");
		assert_int_equal(chown(cache, 0, 0), 0);
	}
	/* Truncated; not a cache; a symbolic link to a good one. */
	put(cache, good, size - 1, 0644);
	assert_unavailable("truncated");
	put(cache, "root:x:0:0::/:/bin/sh\n", 22, 0644);
	assert_unavailable("a passwd file");
	snprintf(link, sizeof(link), "%s.real", cache);
	put(link, good, size, 0644);
	assert_int_equal(unlink(cache), 0);
	assert_int_equal(symlink(link, cache), 0);
	assert_unavailable("a symbolic link");
	assert_int_equal(unlink(cache), 0);
	/* A record pointing outside the file: that lookup is UNAVAIL, the others work. */
	memcpy(&h, good, sizeof(h));
	v = UINT32_MAX;
	memcpy(good + h.sec[A0_SEC_USERS].off + offsetof(struct a0_cache_urec, shell), &v,
	       sizeof(v));
	put(cache, good, size, 0644);
	e = 0;
	assert_status(m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(e, ENOENT);
	assert_status(m.getpwnam_r("a0bob", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	free(good);
}

/* Lookups in threads while the main thread replaces the cache, A and B in turn. */
#define HAMMER_THREADS 4
#define REPLACEMENTS 200

static atomic_bool stop;
static atomic_long failures, calls, seen_a, seen_b;

static void *hammer(void *arg)
{
	char buf[1024];
	struct passwd pw;
	struct group gr;
	long int start, size = 4;
	gid_t *groups = malloc(4 * sizeof(gid_t));
	int e;

	while (groups && !atomic_load(&stop)) {
		bool ok = true;

		ok &= m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS &&
		      pw.pw_uid == 70001;
		if (ok && strcmp(pw.pw_gecos, "Alice Example,,,") == 0)
			atomic_fetch_add(&seen_a, 1);
		else if (ok && strcmp(pw.pw_gecos, "Alice B") == 0)
			atomic_fetch_add(&seen_b, 1);
		else
			ok = false;
		ok &= m.getpwuid_r(70002, &pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS &&
		      strcmp(pw.pw_name, "a0bob") == 0;
		ok &= m.getgrnam_r("a0devs", &gr, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS &&
		      gr.gr_gid == 71000 && gr.gr_mem[0] && strcmp(gr.gr_mem[0], "a0alice") == 0;
		start = 0;
		ok &= m.initgroups_dyn("a0alice", 70001, &start, &size, &groups, 0, &e) ==
			      NSS_STATUS_SUCCESS &&
		      start >= 2 && groups[0] == 27;
		if (!ok)
			atomic_fetch_add(&failures, 1);
		atomic_fetch_add(&calls, 1);
	}
	free(groups);
	return arg;
}

static void test_threads_while_replaced(void **state)
{
	static const char *const devs[] = { "a0alice", "a0eve" };
	const struct a0_cache_user b_users[] = {
		{ "a0alice", 70001, 70001, "Alice B", "/home/a0alice", "/bin/zsh" },
		{ "a0bob", 70002, 70002, "Bob", "/home/a0bob", "/bin/sh" },
		{ "a0eve", 70005, 70005, "Eve", "/home/a0eve", "/bin/sh" },
	};
	const struct a0_cache_group b_groups[] = {
		{ "a0devs", 71000, devs, 2, 0 },
		{ "sudo", 27, devs, 1, 1 },
	};
	pthread_t t[HAMMER_THREADS];

	write_fixture();
	atomic_store(&stop, false);
	for (int i = 0; i < HAMMER_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < REPLACEMENTS; i++) {
		if (i % 2)
			write_fixture();
		else
			write_cache(b_users, A0_ARRAY_SIZE(b_users), b_groups,
				    A0_ARRAY_SIZE(b_groups));
		usleep(500);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < HAMMER_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	print_message("%ld rounds of 4 lookups in %d threads over %d replacements: %ld failed; "
		      "A seen %ld times, B %ld\n",
		      atomic_load(&calls), HAMMER_THREADS, REPLACEMENTS, atomic_load(&failures),
		      atomic_load(&seen_a), atomic_load(&seen_b));
	assert_int_equal(atomic_load(&failures), 0);
	assert_true(atomic_load(&seen_a) > 0 && atomic_load(&seen_b) > 0);
}

/* fork while other threads are inside the module: the child's lookups do not deadlock. */
static void test_fork_during_lookups(void **state)
{
	pthread_t t[2];
	int bad = 0;

	write_fixture();
	atomic_store(&stop, false);
	atomic_store(&failures, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 50; i++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			char buf[512];
			struct passwd pw;
			int e;

			alarm(10); /* a deadlock ends in SIGALRM */
			_exit(m.getpwnam_r("a0alice", &pw, buf, sizeof(buf), &e) ==
					      NSS_STATUS_SUCCESS
				      ? 0
				      : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(atomic_load(&failures), 0);
}

/* ---- glibc itself, in a mount namespace of the child's own ---- */

static void test_glibc_lookups(void **state)
{
	struct passwd *pw;
	struct group *gr;
	gid_t groups[16];
	int n = A0_ARRAY_SIZE(groups), ours = 0;

	pw = getpwnam("a0alice");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 70001);
	assert_string_equal(pw->pw_gecos, "Alice Example,,,");
	pw = getpwuid(70002);
	assert_non_null(pw);
	assert_string_equal(pw->pw_name, "a0bob");
	/* Our files backend's entries come first. */
	pw = getpwnam("root");
	assert_non_null(pw);
	assert_string_equal(pw->pw_gecos, "namespace root");
	assert_null(getpwnam("a0nobody"));
	gr = getgrnam("a0devs");
	assert_non_null(gr);
	assert_string_equal(gr->gr_mem[2], "localdave");
	assert_null(getgrnam("sudo")); /* not in our group file, and not served */
	/* getgrouplist: glibc calls _nss_auth0_initgroups_dyn; the local sudo is there. */
	assert_true(getgrouplist("a0alice", 70001, groups, &n) >= 0);
	assert_int_equal(n, 4);
	assert_int_equal(groups[0], 70001);
	assert_int_equal(groups[1], 27);
	assert_int_equal(groups[2], 71000);
	assert_int_equal(groups[3], 71001);
	n = A0_ARRAY_SIZE(groups);
	assert_true(getgrouplist("localdave", 100, groups, &n) >= 0);
	assert_int_equal(n, 3);
	setpwent();
	while ((pw = getpwent()))
		if (pw->pw_uid >= 70001 && pw->pw_uid <= 70003)
			ours++;
	endpwent();
	assert_int_equal(ours, 3);
}

/* getent, a program of glibc's, in the same namespace (not in a sanitized build: the ASan
 * runtime must come first in a program that loads the sanitized module). */
static void test_glibc_getent(void **state)
{
#ifdef A0_SANITIZERS
	skip();
#else
	assert_int_equal(system("getent passwd a0alice | grep -qx "
				"'a0alice:*:70001:70001:Alice Example,,,:/home/a0alice:/bin/bash'"),
			 0);
	assert_int_equal(system("getent initgroups a0alice | grep -qE '^a0alice +27 71000 71001$'"),
			 0);
	assert_int_equal(system("test $(getent passwd | grep -c ^a0) -eq 3"), 0);
#endif
}

/* The cache moved away: glibc goes on without it; files still answer. */
static void test_glibc_absent_cache(void **state)
{
	char moved[192];

	snprintf(moved, sizeof(moved), "%s.moved", cache);
	assert_int_equal(rename(cache, moved), 0);
	assert_null(getpwnam("a0alice"));
	assert_non_null(getpwnam("root"));
	assert_int_equal(rename(moved, cache), 0);
	assert_non_null(getpwnam("a0alice"));
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || a0_write_full(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		perror(path);
		_exit(99);
	}
}

/* Bind dir/name over /etc/name in the child's own namespace. */
static bool bind_etc(const char *name, const char *text)
{
	char src[128], dst[64];

	snprintf(src, sizeof(src), "%s/%s", dir, name);
	snprintf(dst, sizeof(dst), "/etc/%s", name);
	write_file(src, text);
	return mount(src, dst, NULL, MS_BIND, NULL) == 0;
}

static void test_through_glibc(void **state)
{
	char lib[128], so[160], self[4096], env_cache[192], env_lib[192];
	ssize_t n;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		print_message("not root: glibc itself is not tested\n");
		skip();
	}
	write_fixture();
	snprintf(lib, sizeof(lib), "%s/lib", dir);
	snprintf(so, sizeof(so), "%s/libnss_auth0.so.2", lib);
	assert_int_equal(mkdir(lib, 0755), 0);
	assert_int_equal(symlink(A0_NSS_TEST_MODULE, so), 0);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0 && (size_t)n < sizeof(self) - 1);
	self[n] = '\0';
	snprintf(env_cache, sizeof(env_cache), "A0_NSS_CACHE=%s", cache);
	snprintf(env_lib, sizeof(env_lib), "LD_LIBRARY_PATH=%s", lib);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char mode[] = "glibc", path[] = "PATH=/usr/bin:/bin",
		     asan[] = "ASAN_OPTIONS=detect_leaks=1";
		char *argv[] = { self, mode, NULL };
		char *envp[] = { env_cache, env_lib, path, asan, NULL };

		/* Private first: no mount made below may propagate to the host. */
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(77);
		if (!bind_etc("nsswitch.conf", "passwd: files auth0\ngroup: files auth0\n") ||
		    !bind_etc("passwd", "root:x:0:0:namespace root:/root:/bin/sh\n") ||
		    !bind_etc("group", "root:x:0:\nusers:x:100:\n"))
			_exit(77);
		execve(self, argv, envp);
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("no mount namespace here: glibc itself is not tested\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-nssglibc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cache, sizeof(cache), "%s/nss.cache", dir);
	setenv("A0_NSS_CACHE", cache, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	load_module();
	return 0;
}

static int group_teardown(void **state)
{
	return dlclose(m.handle) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest glibc_tests[] = {
		cmocka_unit_test(test_glibc_lookups),
		cmocka_unit_test(test_glibc_getent),
		cmocka_unit_test(test_glibc_absent_cache),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passwd_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erange_at_every_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumeration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initgroups_dyn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_while_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_during_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_through_glibc, setup, teardown),
	};

	/* In the namespace of test_through_glibc: the cache is the parent's (A0_NSS_CACHE). */
	if (argc > 1 && strcmp(argv[1], "glibc") == 0) {
		const char *c = getenv("A0_NSS_CACHE");

		if (!c || snprintf(cache, sizeof(cache), "%s", c) >= (int)sizeof(cache))
			return 99;
		return cmocka_run_group_tests(glibc_tests, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
