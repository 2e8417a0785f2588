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

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Where the installed NSS module reads the cache. Fixed at build time: no environment variable
 * or configuration steers it (every setuid program on the host loads the module). */
#define A0_CACHE_PATH "/var/lib/pam_auth0/nss.cache"

/* Bounds the writer enforces and the reader relies on. */
#define A0_CACHE_MAX_NAME 32      /* a Linux user or group name, without the NUL */
#define A0_CACHE_MAX_FIELD 255    /* gecos, home directory, shell */
#define A0_CACHE_MAX_USERS 1000000
#define A0_CACHE_MAX_GROUPS 100000
#define A0_CACHE_MAX_MEMBERS 100000 /* members of one group */
#define A0_CACHE_MAX_USER_GROUPS 1024 /* supplementary groups of one user */

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
 * with the offending name in err). 0, A0_ERR_INVALID, A0_ERR_NOMEM or A0_ERR_SYSTEM (errno
 * text in err). On any failure the previous file is untouched.
 */
int a0_cache_write(const char *path, const struct a0_cache_user *users, size_t n_users,
		   const struct a0_cache_group *groups, size_t n_groups, time_t generated, char *err,
		   size_t errlen);

/* Reader side (nss/cache.c). */
struct a0_cache;

/* Map the cache at path read-only and check its header and bounds. 0 or a negative errno. */
int a0_cache_open(const char *path, struct a0_cache **ret);
void a0_cache_close(struct a0_cache *c);
/* When the data was read from Auth0, and how many users and groups the cache holds. */
time_t a0_cache_generated(const struct a0_cache *c);
size_t a0_cache_n_users(const struct a0_cache *c);
size_t a0_cache_n_groups(const struct a0_cache *c);

#endif
