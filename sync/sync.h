/* SPDX-License-Identifier: MIT */
#ifndef A0_SYNC_H
#define A0_SYNC_H

/*
 * auth0-sync: what it reads from Auth0 (struct a0_sync_data, filled by sync/mgmt.c), what it
 * keeps between runs (struct a0_sync_state, sync/state.c: root-only JSON in sync_dir), and the
 * identity rules that turn the one into the other (sync/rules.c, network-free). The outputs are
 * the NSS cache (nss/cache.h, world-readable) and the identities file (lib/identities.h,
 * root-only), both written from the state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/conf.h"

/* One Auth0 user as the Management API gave it (GET /api/v2/users or a users-export line). */
struct a0_sync_user {
	char *user_id;        /* "auth0|abc": Auth0 assigns it */
	char *username;       /* the connection's username, or NULL */
	char *email;          /* or NULL */
	char *posix_username; /* the name_attribute's value (app_metadata...), or NULL */
	long long posix_uid;  /* app_metadata.posix.uid, or -1 */
	long long posix_gid;  /* app_metadata.posix.gid, or -1 */
	char *gecos;          /* app_metadata.posix.gecos, or NULL (never a user-set name) */
	bool blocked;
	char *updated_at; /* ISO 8601, as Auth0 wrote it */
};

/* One Auth0 role, with the user_ids of its members. */
struct a0_sync_role {
	char *id;   /* "rol_..." */
	char *name; /* as in Auth0 */
	char **members;
	size_t n_members;
};

/* What one run read. full: every user of the connections (deletions can be inferred). */
struct a0_sync_data {
	struct a0_sync_user *users;
	size_t n_users;
	struct a0_sync_role *roles;
	size_t n_roles;
	bool full;
	time_t fetched_at;
	char *max_updated_at; /* the newest updated_at seen: the next incremental run's watermark */
};
/* Free what *u holds and zero it. */
void a0_sync_user_clear(struct a0_sync_user *u);
void a0_sync_data_free(struct a0_sync_data *d); /* the members, not d itself; NULL is fine */

/* A Linux identity the state keeps (sync/rules.h says how each field is decided). */
enum a0_sync_user_state { A0_SYNC_ACTIVE, A0_SYNC_BLOCKED, A0_SYNC_DELETED };
struct a0_sync_entry {
	char *user_id;
	char *name;        /* the Linux name */
	char *login;       /* what the password grant sends: username, else email; may be NULL */
	unsigned uid, gid; /* pinned: never 0 */
	char *gecos;       /* or NULL */
	enum a0_sync_user_state state; /* DELETED: a tombstone, its uid never reused */
	char **roles;                  /* the names of all its Auth0 roles, sorted */
	size_t n_roles;
	bool local; /* a local account users_file binds to this user_id: not served by NSS */
	/* A local account or group now has its name, uid or gid: kept (pinned), neither served nor
	 * listed in the identities file until that is fixed. */
	bool shadowed;
	time_t deleted_at; /* when it became a tombstone; 0 while it is not one */
};
/*
 * A group of the cache: a role group (a role whose name starts with role_prefix; gid derived
 * and pinned, a tombstone when the role goes), or a local group that group_map maps a role to
 * (local: the gid is the local group's, served only through initgroups; not pinned, made anew
 * by every run). Members are not kept: they are the entries whose roles hold `role`.
 */
struct a0_sync_group {
	char *role_id; /* "rol_..."; NULL for a local group */
	char *role;    /* the role's name in Auth0 */
	char *name;    /* the group's Linux name: the role's name, or the local group's */
	unsigned gid;
	bool local;
	bool deleted;      /* the role is gone (or its name unusable): the gid is never reused */
	bool shadowed;     /* a local account or group now has its name or gid: not served */
	time_t deleted_at; /* 0 while it is not deleted */
};
/* An id a user held before an app_metadata.posix.uid/gid change: never given to anyone else. */
struct a0_sync_retired {
	unsigned id;
	char *owner; /* the user_id that held it */
};
struct a0_sync_state {
	struct a0_sync_entry *users; /* sorted by user_id */
	size_t n_users;
	struct a0_sync_group *groups; /* role groups by role_id, then local groups by role, name */
	size_t n_groups;
	struct a0_sync_retired *retired; /* sorted by id */
	size_t n_retired;
	char *watermark;  /* max updated_at of the last successful run, or NULL */
	time_t last_full; /* when the last full run succeeded */
	time_t generated; /* fetched_at of the data the state holds */
};
void a0_sync_state_free(struct a0_sync_state *s); /* the members, not s itself; NULL is fine */

/* How a rule reports something it skipped or changed: one line per item, never a secret; the
 * priority is syslog's (LOG_WARNING for what was skipped, LOG_NOTICE for a change). */
typedef void (*a0_sync_log_fn)(void *ctx, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
