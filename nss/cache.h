/* SPDX-License-Identifier: MIT */
#ifndef A0_NSS_CACHE_H
#define A0_NSS_CACHE_H

/*
 * The identity cache that libnss_auth0 serves: one world-readable file with no secrets, written
 * whole by auth0-sync (a0_cache_write: a temporary file, fsync, rename) and read through a
 * read-only memory mapping. Sorted indexes by name and by id make every lookup a binary search,
 * so its cost does not grow (measurably) with the number of users. libc only: this code is
 * linked into libnss_auth0.so.2, which every process on the host loads.
 *
 * Interface shared by the writer (auth0-sync) and the reader (the NSS module, the PAM module).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Where the installed NSS module reads the cache. Fixed at build time: no environment variable
 * or configuration steers it (every setuid program on the host loads the module). */
#define A0_CACHE_PATH "/var/lib/pam_auth0/nss.cache"

/* Bounds the writer enforces and the reader relies on. */
#define A0_CACHE_MAX_NAME 32   /* a Linux user or group name, without the NUL */
#define A0_CACHE_MAX_FIELD 255 /* gecos, home directory, shell */
#define A0_CACHE_MAX_USERS 1000000
#define A0_CACHE_MAX_GROUPS 100000
#define A0_CACHE_MAX_MEMBERS 100000       /* members of one group */
#define A0_CACHE_MAX_USER_GROUPS 1024     /* supplementary groups of one user */
#define A0_CACHE_MAX_MEMBERSHIPS 10000000 /* members of all groups together */

/* One passwd entry, as the writer is given it. */
struct a0_cache_user {
	const char *name;
	uint32_t uid;
	uint32_t gid; /* primary group */
	const char *gecos;
	const char *dir;
	const char *shell;
};

/*
 * One group entry. members name users; a member need not be a cached user (a local account).
 * A group whose gid belongs to a local group (a role mapped to `sudo`) is not served by getgr*,
 * only through initgroups: local = 1.
 */
struct a0_cache_group {
	const char *name;
	uint32_t gid;
	const char *const *members;
	size_t n_members;
	int local; /* only for initgroups: the gid is a local group's */
};

/*
 * Write the cache at path, replacing any file there atomically (mode 0644, written to a
 * temporary file in the same directory, fsync'd, renamed, directory fsync'd). generated is the
 * time the data was read from Auth0 (shown as the cache's age). Names must be unique among
 * users and among groups, as must uids and gids (the writer refuses duplicates: A0_ERR_INVALID,
 * with the offending name in err). Also refused (A0_ERR_INVALID): a user, group or member
 * name a0_cache_name_ok refuses; a gecos, home or shell over A0_CACHE_MAX_FIELD bytes or
 * holding ':' or a control character (a NULL gecos is empty; home and shell are absolute
 * paths); uid or gid 0 (root's) or 4294967295 ((uid_t)-1), local groups included; a member
 * listed twice in one group; a name in over A0_CACHE_MAX_USER_GROUPS groups; counts over the
 * bounds above. err never holds a refused name itself, only its position. 0, A0_ERR_INVALID,
 * A0_ERR_NOMEM or A0_ERR_SYSTEM (errno text in err). On any failure the previous file is
 * untouched and no temporary file is left.
 */
int a0_cache_write(const char *path, const struct a0_cache_user *users, size_t n_users,
		   const struct a0_cache_group *groups, size_t n_groups, time_t generated,
		   char *err, size_t errlen);

/* Reader side (nss/cache.c): libc only, every offset checked on every access. */
struct a0_cache;

/*
 * Map the cache at path read-only and check its header and bounds. The file must be a regular
 * file owned by root and writable by nobody else (mode without 022). 0 or a negative errno:
 * -ENOENT (absent), -EACCES, -EPERM (a symbolic link, not a regular file, or the owner or mode),
 * -EBADMSG (not a cache, or corrupt), -ENOMEM. The header and the sections' bounds are
 * checked here, in constant time; what the records point at is checked by every lookup, so a
 * corrupt file gives -EBADMSG, never a crash.
 */
int a0_cache_open(const char *path, struct a0_cache **ret);
/* The same, requiring owner instead of root (the tests' cache, the test build of the module). */
int a0_cache_open_owned(const char *path, uid_t owner, struct a0_cache **ret);
/* A cache held in memory (size bytes at data, which must outlive it): the fuzzer's entry. */
int a0_cache_from_memory(const void *data, size_t size, struct a0_cache **ret);
void a0_cache_close(struct a0_cache *c);
/* When the data was read from Auth0, and how many users and groups the cache holds (groups:
 * every record, local ones included). */
time_t a0_cache_generated(const struct a0_cache *c);
size_t a0_cache_n_users(const struct a0_cache *c);
size_t a0_cache_n_groups(const struct a0_cache *c);
/* The groups getgr* serves: those not local. */
size_t a0_cache_n_served_groups(const struct a0_cache *c);
/* Whether st (a stat(2) of the cache's path) is still the file c maps: device, inode, size,
 * modification and change time (a chmod or chown changes the latter: its checks run again).
 * A cache from memory is never the same. */
bool a0_cache_same_file(const struct a0_cache *c, const struct stat *st);

/*
 * A user or group found by a lookup: pointers into the mapping, valid until a0_cache_close,
 * every string NUL-terminated and at most A0_CACHE_MAX_FIELD bytes. Lookups return 0,
 * -ENOENT (no such entry) or -EBADMSG (the entry points outside the file: corrupt).
 */
struct a0_cache_pw {
	const char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
};
struct a0_cache_gr {
	const char *name;
	uint32_t gid;
	size_t n_members;
	uint32_t first; /* where its members start (a0_cache_member) */
};
int a0_cache_user_by_name(const struct a0_cache *c, const char *name, struct a0_cache_pw *ret);
int a0_cache_user_by_uid(const struct a0_cache *c, uint32_t uid, struct a0_cache_pw *ret);
/* The i-th user in uid order (enumeration): -ENOENT past the end. */
int a0_cache_user_at(const struct a0_cache *c, size_t i, struct a0_cache_pw *ret);
/* Served groups only: a local group (a role mapped to `sudo`) is never found here. */
int a0_cache_group_by_name(const struct a0_cache *c, const char *name, struct a0_cache_gr *ret);
int a0_cache_group_by_gid(const struct a0_cache *c, uint32_t gid, struct a0_cache_gr *ret);
/* The i-th served group in gid order: -ENOENT past the end. */
int a0_cache_group_at(const struct a0_cache *c, size_t i, struct a0_cache_gr *ret);
/* The i-th member of g (i < g->n_members), or NULL when the file is corrupt. */
const char *a0_cache_member(const struct a0_cache *c, const struct a0_cache_gr *g, size_t i);

/*
 * The groups a name is a member of (a cached user or a local account), local groups included,
 * in gid order without duplicates, as the writer computed them: initgroups is one lookup.
 * 0 (ret->n >= 1), -ENOENT (a member of no group) or -EBADMSG.
 */
struct a0_cache_gids {
	const unsigned char *at;
	size_t n;
};
int a0_cache_groups_of(const struct a0_cache *c, const char *name, struct a0_cache_gids *ret);
/* The i-th gid of a list (i < g->n). */
uint32_t a0_cache_gid(const struct a0_cache_gids *g, size_t i);

/*
 * Whether name is a name the writer accepts for a user, group or member: ^[a-z_][a-z0-9_-]*$,
 * 1 to A0_CACHE_MAX_NAME bytes.
 */
bool a0_cache_name_ok(const char *name);

#endif
