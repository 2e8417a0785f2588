/* SPDX-License-Identifier: MIT */
#ifndef A0_SYNC_RULES_H
#define A0_SYNC_RULES_H

/*
 * The identity rules of auth0-sync: how the users and roles one run read from Auth0 (struct
 * a0_sync_data) become Linux users and groups (struct a0_sync_state), and the files written from
 * them. Network-free and deterministic: the same state, data, configuration and local accounts
 * give the same result on every host. auth0-sync(8) documents these rules for administrators;
 * this comment is their reference.
 *
 * NAMES
 *   The Linux name comes from the attribute name_attribute names: "username" takes the
 *   connection's username, "app_metadata.FIELD" (default app_metadata.posix.username) the value
 *   the fetcher read there (a0_sync_user.posix_username). Both are set by the tenant's
 *   administrators; no claim a user can set at sign-up (nickname, name, email) ever names an
 *   account. A valid name matches ^[a-z_][a-z0-9_-]{0,31}$ (a0_identity_name_valid): no upper case,
 *   no ':', '.', '/', blank, newline or other byte, at most A0_SYNC_NAME_MAX bytes. A user without
 *   a valid name is skipped with one log line; a user already in the state is withdrawn (becomes a
 *   tombstone, below) until it has one again. Names are unique among the users that are not
 *   tombstones and the role groups that are not tombstones (a user's private group bears its name);
 *   the one that holds a name keeps it, and among new users the one whose user_id sorts first
 *   (strcmp) gets it. A name that a local account (/etc/passwd) or local group (/etc/group) has is
 *   refused, except that a local account which users_file binds to this same user_id gives an entry
 *   with local = true: not served by NSS (the local account is), but listed in the identities file
 *   so that the account phase sees the user blocked or deleted in Auth0.
 *
 * UIDS AND GIDS
 *   - Explicit: app_metadata.posix.uid (and .gid) when present. An explicit id must lie in
 *     max(min_uid, 1)..A0_SYNC_ID_MAX, must not be 65534 or 65535 (nobody, nogroup, the 16-bit
 *     -1) and must not lie in gid_min..gid_max (the role groups' range). It need not lie in
 *     uid_min..uid_max: that range is for the ids we invent, and, as SSSD without id mapping
 *     and himmelblau with directory-held ids do, a number the directory holds is taken as it is
 *     (an existing fleet's uid 10001 stays 10001), bounded only below by the system range.
 *   - Derived: otherwise the uid is a0_sync_derive_id(user_id, uid_min, uid_max):
 *         h = FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the bytes
 *             of the user_id, then MurmurHash3's fmix64 finalizer:
 *             h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33;
 *             h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33;
 *         id = min + h mod (max - min + 1)
 *     All arithmetic is on unsigned 64-bit integers byte by byte, so it is the same on every
 *     host, architecture and version: hosts agree without coordination. It must never change
 *     (tests/unit/test_sync_rules.c pins values). Like every hash into a range it collides by
 *     the birthday bound: n users in a range of m ids give about n^2 / 2m collisions (10,000
 *     users in the default 100,000 ids: some 500; in 1,000,000,000 ids: none to speak of), so
 *     a tenant with many users wants a wide range.
 *   - User private groups: the gid is the uid, unless app_metadata.posix.gid gives another (then
 *     the private group, named as the user, has that gid; a gid shared by two users is a
 *     collision like any other).
 *   - One id space: every id belongs to one owner, whether it is used as a uid, a user's gid or
 *     a role group's gid (a user owns its uid and its gid). An id is taken when a user in the
 *     state (any state, tombstones included), a role group (tombstones included) or a retired id
 *     (below) has it, or when a local account or group uses it (as uid or gid).
 *   - Collisions are detected and never resolved by handing out another number: a new user
 *     whose uid or gid is taken is skipped with one log line naming the other owner; the
 *     administrator gives one of them an app_metadata.posix.uid. Users already in the state are
 *     handled first, then new users with an explicit uid, then new users with a derived one,
 *     each group in user_id order: a pinned id is never taken away, an explicit id goes before a
 *     derived one, and otherwise the user_id that sorts first keeps it.
 *   - Pinning: the state remembers each user_id's uid and gid. Later runs keep them whatever the
 *     derivation (uid_min/uid_max) says. A changed app_metadata.posix.uid (or .gid) is honoured
 *     only when the new id is valid and free (not taken by another owner, tombstones and retired
 *     ids included, nor used locally); the change is logged and the old id is retired: kept in
 *     the state as that user's, never given to anyone else. A refused change is logged and the
 *     pinned id stays. Without posix.gid the gid follows the uid.
 *   - Tombstones: a user missing from a FULL run (data->full), or withdrawn, becomes DELETED: kept
 *     with its uid and gid, which nobody else ever gets (files it owned would pass to a
 *     stranger); NSS no longer serves it. A deleted user who comes back with the same user_id
 *     gets the same uid back. An incremental run holds only the users that changed and deletes
 *     nobody.
 *   - Blocked users stay in NSS (they own files) and are denied by the PAM account phase; they
 *     are no member of any group.
 *   - A local account or group that later takes an entry's name or ids makes it shadowed: kept
 *     and pinned, neither served nor listed, logged at every run until that is fixed.
 *
 * GROUPS
 *   - Every role whose name starts with role_prefix (default "linux-") becomes a group named as
 *     the role (a valid name, as for users, free among users and groups and not a local
 *     account's or group's), with the gid
 *     a0_sync_derive_id(role_id, gid_min, gid_max), pinned by role_id and handled like a uid
 *     (collisions skip the role whose role_id sorts later; a role that goes leaves a tombstone
 *     whose gid is never reused; it gets its gid back if it returns). Its members are the
 *     active users (and local-bound ones) holding the role. Roles come complete in every run.
 *   - Membership in a local group (sudo, adm, ...) only through group_map, "role:group" pairs
 *     naming the role by its name (with or without the prefix), none by default: a directory
 *     administrator must not silently get root on every host. A mapped role gives a local group
 *     (local = 1 in the cache: its gid is the local group's, looked up in /etc/group; served
 *     only through initgroups) whose members are the active users holding the role. A mapping
 *     to a group the host does not have, or whose name is not valid as above, is skipped with
 *     a log line.
 *   - Every entry keeps the names of all its roles (prefixed or not: allowed_roles may name any
 *     role), at most A0_SYNC_MAX_USER_ROLES; a role whose name holds a control byte or ',' or is
 *     "-" or longer than A0_SYNC_MAX_ROLE_NAME is skipped with a log line.
 *
 * HOSTILE DATA
 *   Everything read from Auth0 is checked before it is kept: user_ids (printable, no blank, at
 *   most A0_MAX_USER_ID bytes), names, ids (above), logins (printable, no blank, at most
 *   A0_SYNC_MAX_LOGIN bytes; else none), gecos (no control byte or ':', at most
 *   A0_SYNC_MAX_GECOS bytes; else none), role ids and names, duplicates (a second user or role
 *   with the same id is skipped). Each item refused gives one log line and is never written.
 *   Text from outside is shown in log lines printable and bounded.
 */

#include <stdbool.h>
#include <stddef.h>

#include "lib/conf.h"
#include "lib/identities.h"
#include "nss/cache.h"
#include "sync/sync.h"

/* Bounds of what the state keeps. */
#define A0_SYNC_NAME_MAX A0_CACHE_MAX_NAME   /* a Linux name, without the NUL */
#define A0_SYNC_ID_MAX 2147483646U           /* highest uid or gid (2^31 - 2) */
#define A0_SYNC_NOBODY 65534U                /* nobody and nogroup */
#define A0_SYNC_MAX_USERS A0_CACHE_MAX_USERS /* entries, tombstones included */
#define A0_SYNC_MAX_GROUPS A0_CACHE_MAX_GROUPS
#define A0_SYNC_MAX_RETIRED A0_CACHE_MAX_USERS
#define A0_SYNC_MAX_USER_ROLES A0_CACHE_MAX_USER_GROUPS /* roles kept for one user */
#define A0_SYNC_MAX_MEMBERS A0_CACHE_MAX_MEMBERS        /* members of one role */
#define A0_SYNC_MAX_MEMBERSHIPS 4000000                 /* (user, role) pairs of one run */
#define A0_SYNC_MAX_ROLE_NAME 255
#define A0_SYNC_MAX_ROLE_ID 255
#define A0_SYNC_MAX_LOGIN 512
#define A0_SYNC_MAX_GECOS A0_CACHE_MAX_FIELD

/*
 * Whether s is consistent: users sorted by user_id, each once, with their fields; every id
 * (uids, gids, role gids, retired ids; never 0) with one owner; every name of a user or role
 * group that is not a tombstone with one holder. 0, or A0_ERR_INVALID with what is wrong in err.
 */
int a0_sync_state_check(const struct a0_sync_state *s, char *err, size_t errlen);

/* The derived id of key (a user_id or role_id) in min..max (min <= max), as described above. */
unsigned a0_sync_derive_id(const char *key, unsigned min, unsigned max);

/*
 * The host's own accounts and groups, asked through callbacks so that tests can give theirs.
 * Each answers 1 (yes), 0 (no) or a negative A0_ERR_*, which ends a0_sync_apply with it.
 */
struct a0_sync_local {
	/* Is there a local account with this name? */
	int (*user_named)(void *ctx, const char *name);
	/* Is there a local group with this name? 1 and its gid in *ret_gid when there is. */
	int (*group_named)(void *ctx, const char *name, unsigned *ret_gid);
	/* Does a local account use id as its uid or primary gid, or a local group as its gid? */
	int (*id_used)(void *ctx, unsigned id);
	void *ctx;
};

/*
 * The real ones: the passwd and group files (A0_SYNC_PASSWD, A0_SYNC_GROUP), read once with
 * fgetpwent/fgetgrent. Never getpwnam and friends: they would ask NSS, and so our own module,
 * which serves what the previous run wrote.
 */
#define A0_SYNC_PASSWD "/etc/passwd"
#define A0_SYNC_GROUP "/etc/group"
#define A0_SYNC_MAX_LOCAL 1000000 /* lines of each file */
struct a0_sync_accounts;
/* 0, A0_ERR_SYSTEM (a file cannot be read; err says which), A0_ERR_TOO_LARGE, A0_ERR_NOMEM. */
int a0_sync_accounts_read(const char *passwd, const char *group, struct a0_sync_accounts **ret,
			  char *err, size_t errlen);
void a0_sync_accounts_free(struct a0_sync_accounts *a);
/* The callbacks over accounts read by a0_sync_accounts_read (which must outlive them). */
void a0_sync_accounts_local(struct a0_sync_accounts *a, struct a0_sync_local *ret);

/*
 * Merge one run's data into state by the rules above: data->full says whether users absent from
 * it are deleted; roles are always complete. Sets the watermark (data->max_updated_at, when
 * given), last_full (data->fetched_at, for a full run) and generated (data->fetched_at), then
 * a0_sync_check_local. What it skips or changes goes to log (may be NULL), one line each.
 * 0 with state updated; A0_ERR_NOMEM, A0_ERR_TOO_LARGE (more than the bounds above), A0_ERR_CONFIG
 * (users_file unusable; logged) or a callback's error, with state unchanged.
 */
int a0_sync_apply(const struct a0_config *cfg, const struct a0_sync_local *local,
		  const struct a0_sync_data *data, struct a0_sync_state *state, a0_sync_log_fn log,
		  void *ctx);

/*
 * What depends on this host alone, done anew for a state (a0_sync_apply ends with it; an
 * imported snapshot needs it too): each entry's local and shadowed flags against the local
 * accounts and users_file, each role group's shadowed flag, and the local groups of group_map.
 * Same results and errors as a0_sync_apply.
 */
int a0_sync_check_local(const struct a0_config *cfg, const struct a0_sync_local *local,
			struct a0_sync_state *state, a0_sync_log_fn log, void *ctx);

/*
 * Write the outputs of state: first the identities file (lib/identities.h: every entry not
 * shadowed, one line per name, an entry that is not a tombstone before one that is), so that a
 * block takes effect even if the cache then fails, then the NSS cache (nss/cache.h): the
 * active and blocked users that are neither local nor shadowed (home: home_template with %u,
 * shell: cfg->shell), their private groups, the role groups that are neither deleted nor
 * shadowed with their members, and the local groups of group_map (local = 1) with theirs.
 * Members are active users (local-bound ones too), sorted. Each file is replaced atomically.
 * 0, A0_ERR_INVALID (the state breaks a bound; err says where), A0_ERR_CONFIG (home_template
 * gives a home over A0_CACHE_MAX_FIELD bytes), A0_ERR_SYSTEM (err: the file and errno text),
 * A0_ERR_NOMEM. Run it after a0_sync_apply and before saving the state.
 */
int a0_sync_write_outputs(const struct a0_config *cfg, const struct a0_sync_state *state,
			  const char *cache_path, const char *identities_path, char *err,
			  size_t errlen);

#endif
