/* SPDX-License-Identifier: MIT */
/*
 * libnss_auth0.so.2: passwd and group entries of the users who exist only in Auth0, from the
 * identity cache auth0-sync writes (nss/cache.h). Every process on the host loads it, so it
 * reads that one local file and nothing else, links libc alone, never blocks, and answers
 * NSS_STATUS_UNAVAIL (glibc goes on to the next source) when the cache is absent or unusable.
 *
 * One mapping per process, in static state under one mutex (allowed here, unlike in the PAM
 * module: glibc's NSS interface has no handle): every lookup stat(2)s the path and maps the
 * file again when its device, inode, size, modification or change time changed (enumerations
 * keep the mapping they started with, below). The lookup and the
 * copy into the caller's buffer happen under the mutex, so a mapping is never unmapped under a
 * reader; a lookup is a binary search, so the mutex is held for well under a microsecond.
 * pthread_atfork keeps a child from inheriting it locked.
 *
 * The test build (A0_NSS_TESTING: nss/libnss_auth0_test.la, never installed) reads the path
 * from A0_NSS_CACHE and accepts a cache owned by the caller instead of root; the installed
 * module reads A0_CACHE_PATH alone.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nss/cache.h"
#include "nss/nss_auth0.h"

/* The first array glibc's initgroups_dyn callers may hand over empty. */
#define FIRST_GROUPS 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct a0_cache *cache; /* the current mapping, or NULL */
/* An enumeration (setpwent, getpwent_r..., endpwent): its own mapping of the cache as it was
 * at setpwent, and its position. */
struct ent {
	struct a0_cache *c;
	size_t next;
};
static struct ent pw_ent, gr_ent;

static void lock_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void lock_release(void)
{
	pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void module_init(void)
{
	/* glibc drops the handlers when the module is unloaded (__dso_handle). */
	(void)pthread_atfork(lock_prepare, lock_release, lock_release);
}

/* Unloaded (dlclose, or glibc's freeing at exit under valgrind): the mapping goes too. Under
 * the lock, so that a lookup still running elsewhere at exit maps the file again instead. */
__attribute__((destructor)) static void module_fini(void)
{
	pthread_mutex_lock(&lock);
	a0_cache_close(cache);
	cache = NULL;
	a0_cache_close(pw_ent.c);
	a0_cache_close(gr_ent.c);
	pw_ent = gr_ent = (struct ent){ NULL, 0 };
	pthread_mutex_unlock(&lock);
}

#ifdef A0_NSS_TESTING
static const char *cache_path(void)
{
	return secure_getenv("A0_NSS_CACHE");
}
#define CACHE_OWNER geteuid()
#else
static const char *cache_path(void)
{
	return A0_CACHE_PATH;
}
#define CACHE_OWNER 0
#endif

/* The cache as the file is now, or NULL when it is absent or unusable. Under the lock. */
static struct a0_cache *current(void)
{
	const char *path = cache_path();
	struct a0_cache *c;
	struct stat st;

	if (path && stat(path, &st) == 0) {
		if (cache && a0_cache_same_file(cache, &st))
			return cache;
		if (a0_cache_open_owned(path, CACHE_OWNER, &c) == 0) {
			a0_cache_close(cache);
			cache = c;
			return c;
		}
	}
	a0_cache_close(cache);
	cache = NULL;
	return NULL;
}

static enum nss_status unavail(int *errnop)
{
	*errnop = ENOENT;
	return NSS_STATUS_UNAVAIL;
}

/* What a lookup's result means to glibc: not found, or a corrupt file (the next source). */
static enum nss_status status_of(int r, int *errnop)
{
	if (r == -ENOENT) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return unavail(errnop);
}

static enum nss_status erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

/* Copy n bytes of s to *p and return where they went. */
static char *put(char **p, const char *s, size_t n)
{
	char *at = *p;

	memcpy(at, s, n);
	*p += n;
	return at;
}

static enum nss_status fill_passwd(const struct a0_cache_pw *e, struct passwd *pw, char *buf,
				   size_t buflen, int *errnop)
{
	size_t name = strlen(e->name) + 1, gecos = strlen(e->gecos) + 1, dir = strlen(e->dir) + 1,
	       shell = strlen(e->shell) + 1;
	char *p = buf;

	if (!buf || name + sizeof("*") + gecos + dir + shell > buflen)
		return erange(errnop);
	pw->pw_name = put(&p, e->name, name);
	/*
	 * The password is Auth0's: none here, and no shadow entry. "*" as SSSD gives, not "x":
	 * "x" says "see shadow", and pam_unix's account phase (Debian's common-account, which sudo
	 * and a stock sshd stack run) then fails for want of a shadow entry ("account validation
	 * failure"). "*" is no crypt() result, so no local password ever matches.
	 */
	pw->pw_passwd = put(&p, "*", sizeof("*"));
	pw->pw_uid = e->uid;
	pw->pw_gid = e->gid;
	pw->pw_gecos = put(&p, e->gecos, gecos);
	pw->pw_dir = put(&p, e->dir, dir);
	pw->pw_shell = put(&p, e->shell, shell);
	return NSS_STATUS_SUCCESS;
}

/* gr_mem's pointers first (aligned), then the strings. */
static enum nss_status fill_group(const struct a0_cache *c, const struct a0_cache_gr *e,
				  struct group *gr, char *buf, size_t buflen, int *errnop)
{
	size_t pad = buf ? (size_t)(-(uintptr_t)buf & (_Alignof(char *) - 1)) : 0;
	size_t need = pad + (e->n_members + 1) * sizeof(char *) + strlen(e->name) + 1 + sizeof("x");
	char **mem, *p;

	for (size_t i = 0; i < e->n_members; i++) {
		const char *m = a0_cache_member(c, e, i);

		if (!m)
			return unavail(errnop);
		need += strlen(m) + 1;
	}
	if (!buf || need > buflen)
		return erange(errnop);
	mem = (char **)(void *)(buf + pad);
	p = (char *)(mem + e->n_members + 1);
	for (size_t i = 0; i < e->n_members; i++) {
		const char *m = a0_cache_member(c, e, i);

		mem[i] = put(&p, m, strlen(m) + 1);
	}
	mem[e->n_members] = NULL;
	gr->gr_name = put(&p, e->name, strlen(e->name) + 1);
	gr->gr_passwd = put(&p, "x", sizeof("x"));
	gr->gr_gid = e->gid;
	gr->gr_mem = mem;
	return NSS_STATUS_SUCCESS;
}

/* The lookups differ only in the cache function and its key. */
enum key_kind { BY_NAME, BY_ID };

static enum nss_status passwd_lookup(enum key_kind kind, const char *name, uid_t uid,
				     struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	struct a0_cache_pw e;
	struct a0_cache *c;
	enum nss_status s;
	int r;

	if (kind == BY_NAME && !name) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	pthread_mutex_lock(&lock);
	c = current();
	if (!c) {
		s = unavail(errnop);
	} else {
		r = kind == BY_NAME ? a0_cache_user_by_name(c, name, &e)
				    : a0_cache_user_by_uid(c, (uint32_t)uid, &e);
		s = r == 0 ? fill_passwd(&e, pw, buf, buflen, errnop) : status_of(r, errnop);
	}
	pthread_mutex_unlock(&lock);
	return s;
}

static enum nss_status group_lookup(enum key_kind kind, const char *name, gid_t gid,
				    struct group *gr, char *buf, size_t buflen, int *errnop)
{
	struct a0_cache_gr e;
	struct a0_cache *c;
	enum nss_status s;
	int r;

	if (kind == BY_NAME && !name) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	pthread_mutex_lock(&lock);
	c = current();
	if (!c) {
		s = unavail(errnop);
	} else {
		r = kind == BY_NAME ? a0_cache_group_by_name(c, name, &e)
				    : a0_cache_group_by_gid(c, (uint32_t)gid, &e);
		s = r == 0 ? fill_group(c, &e, gr, buf, buflen, errnop) : status_of(r, errnop);
	}
	pthread_mutex_unlock(&lock);
	return s;
}

enum nss_status _nss_auth0_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
				      int *errnop)
{
	return passwd_lookup(BY_NAME, name, 0, pw, buf, buflen, errnop);
}

enum nss_status _nss_auth0_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
				      int *errnop)
{
	return passwd_lookup(BY_ID, NULL, uid, pw, buf, buflen, errnop);
}

enum nss_status _nss_auth0_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
				      int *errnop)
{
	return group_lookup(BY_NAME, name, 0, gr, buf, buflen, errnop);
}

enum nss_status _nss_auth0_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
				      int *errnop)
{
	return group_lookup(BY_ID, NULL, gid, gr, buf, buflen, errnop);
}

/*
 * Enumeration: glibc serialises setXXent/getXXent_r/endXXent of a process under its own lock,
 * and the position is the process's, as with nss_files. An enumeration reads the cache as it
 * was when it started, in a mapping of its own, as nss_files reads the passwd file it opened
 * even after it was replaced: no entry is skipped or seen twice when auth0-sync replaces the
 * cache meanwhile, and getXXent_r needs no stat(2) (getent passwd over 100,000 users makes
 * 100,000 calls). Under the lock.
 */
static void ent_close(struct ent *e)
{
	a0_cache_close(e->c);
	*e = (struct ent){ NULL, 0 };
}

static bool ent_open(struct ent *e)
{
	const char *path = cache_path();

	ent_close(e);
	return path && a0_cache_open_owned(path, CACHE_OWNER, &e->c) == 0;
}

static enum nss_status set_ent(struct ent *e)
{
	enum nss_status s;

	pthread_mutex_lock(&lock);
	s = ent_open(e) ? NSS_STATUS_SUCCESS : NSS_STATUS_UNAVAIL;
	pthread_mutex_unlock(&lock);
	return s;
}

static enum nss_status end_ent(struct ent *e)
{
	pthread_mutex_lock(&lock);
	ent_close(e);
	pthread_mutex_unlock(&lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_auth0_setpwent(void)
{
	return set_ent(&pw_ent);
}

enum nss_status _nss_auth0_endpwent(void)
{
	return end_ent(&pw_ent);
}

enum nss_status _nss_auth0_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	struct a0_cache_pw e;
	enum nss_status s;
	int r;

	pthread_mutex_lock(&lock);
	/* Without setpwent first: the enumeration starts here. */
	if (!pw_ent.c && !ent_open(&pw_ent)) {
		s = unavail(errnop);
	} else {
		r = a0_cache_user_at(pw_ent.c, pw_ent.next, &e);
		s = r == 0 ? fill_passwd(&e, pw, buf, buflen, errnop) : status_of(r, errnop);
		/* Not past an entry the caller's buffer could not hold: glibc asks again. */
		if (s == NSS_STATUS_SUCCESS)
			pw_ent.next++;
	}
	pthread_mutex_unlock(&lock);
	return s;
}

enum nss_status _nss_auth0_setgrent(void)
{
	return set_ent(&gr_ent);
}

enum nss_status _nss_auth0_endgrent(void)
{
	return end_ent(&gr_ent);
}

enum nss_status _nss_auth0_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	struct a0_cache_gr e;
	enum nss_status s;
	int r;

	pthread_mutex_lock(&lock);
	if (!gr_ent.c && !ent_open(&gr_ent)) {
		s = unavail(errnop);
	} else {
		r = a0_cache_group_at(gr_ent.c, gr_ent.next, &e);
		s = r == 0 ? fill_group(gr_ent.c, &e, gr, buf, buflen, errnop)
			   : status_of(r, errnop);
		if (s == NSS_STATUS_SUCCESS)
			gr_ent.next++;
	}
	pthread_mutex_unlock(&lock);
	return s;
}

/* Make room for one more gid in *groupsp, as glibc's own modules do: NSS_STATUS_NOTFOUND when
 * limit is reached, NSS_STATUS_TRYAGAIN (ENOMEM) when memory is short. */
static enum nss_status grow(long int *size, gid_t **groupsp, long int limit, int *errnop)
{
	long int n = *size > 0 ? *size * 2 : FIRST_GROUPS;
	gid_t *groups;

	if (limit > 0 && *size >= limit)
		return NSS_STATUS_NOTFOUND; /* full: not an error */
	if (limit > 0 && n > limit)
		n = limit;
	if ((unsigned long)n > SIZE_MAX / sizeof(gid_t)) {
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	}
	groups = realloc(*groupsp, (size_t)n * sizeof(gid_t));
	if (!groups) {
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	}
	*groupsp = groups;
	*size = n;
	return NSS_STATUS_SUCCESS;
}

/*
 * The groups of user (a cached user or a local account named as a member), local ones (roles
 * mapped to a local group) included, appended to (*groupsp)[*start..], growing the array up to
 * limit (none when limit <= 0). skipgroup (the primary group) is left out; glibc removes
 * duplicates of what other sources added.
 */
enum nss_status _nss_auth0_initgroups_dyn(const char *user, gid_t skipgroup, long int *start,
					  long int *size, gid_t **groupsp, long int limit,
					  int *errnop)
{
	struct a0_cache_gids g;
	struct a0_cache *c;
	enum nss_status s;
	int r;

	if (!user) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	pthread_mutex_lock(&lock);
	c = current();
	if (!c) {
		s = unavail(errnop);
		goto out;
	}
	r = a0_cache_groups_of(c, user, &g);
	if (r < 0) {
		s = status_of(r, errnop);
		goto out;
	}
	s = NSS_STATUS_SUCCESS;
	for (size_t i = 0; i < g.n; i++) {
		gid_t gid = a0_cache_gid(&g, i);

		if (gid == skipgroup)
			continue;
		if (*start >= *size) {
			enum nss_status grown = grow(size, groupsp, limit, errnop);

			if (grown == NSS_STATUS_NOTFOUND)
				break; /* at the limit: what fits is the answer */
			if (grown != NSS_STATUS_SUCCESS) {
				s = grown;
				break;
			}
		}
		(*groupsp)[(*start)++] = gid;
	}
out:
	pthread_mutex_unlock(&lock);
	return s;
}
