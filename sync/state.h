/* SPDX-License-Identifier: MIT */
#ifndef A0_SYNC_STATE_H
#define A0_SYNC_STATE_H

/*
 * What auth0-sync keeps between runs (struct a0_sync_state, sync/sync.h) as JSON: in a root-only
 * file in sync_dir, and in memory for the payload of a signed snapshot. The text is
 *
 *   {"format": 1, "generated": N, "last_full": N, "watermark": "..." (or absent),
 *    "users": [{"user_id", "name", "login" (or absent), "uid", "gid", "gecos" (or absent),
 *               "state": "active"|"blocked"|"deleted", "roles": [...], "local", "shadowed",
 *               "deleted_at"}, ...],
 *    "groups": [{"role_id" (absent for a local group), "role", "name", "gid", "local",
 *                "deleted", "shadowed", "deleted_at"}, ...],
 *    "retired": [{"id", "owner"}, ...]}
 *
 * printed without blanks, users sorted by user_id, groups and retired ids in the state's order,
 * so that the same state always gives the same bytes. Members unknown to this version are
 * ignored; everything else is checked as if it came from outside (types, the bounds of
 * sync/rules.h, valid names and ids, no user_id twice).
 */

#include <stddef.h>

#include "sync/sync.h"

#define A0_SYNC_STATE_NAME "sync.state" /* the file's name in sync_dir */
#define A0_SYNC_STATE_FORMAT 1
#define A0_SYNC_STATE_MAX_BYTES (512L * 1024 * 1024)

/*
 * Parse the n bytes of text: 0 and the state in *ret (free its members with
 * a0_sync_state_free), A0_ERR_MALFORMED (err says what), A0_ERR_TOO_LARGE, A0_ERR_NOMEM.
 */
int a0_sync_state_parse(const char *text, size_t n, struct a0_sync_state *ret, char *err,
			size_t errlen);
/*
 * Print s: 0 and the text (NUL-terminated; free it) and its length, A0_ERR_INVALID (a user's
 * state outside the enum), or A0_ERR_NOMEM.
 */
int a0_sync_state_print(const struct a0_sync_state *s, char **ret, size_t *ret_len);

/*
 * Load the state file at path. It must be a regular file owned by root and writable by nobody
 * else (A0_ERR_CONFIG with the reason in err, as for a file of another format). A missing file
 * is an empty state (the first run). 0 and *ret, A0_ERR_CONFIG, A0_ERR_TOO_LARGE,
 * A0_ERR_SYSTEM, A0_ERR_NOMEM.
 */
int a0_sync_state_load(const char *path, struct a0_sync_state *ret, char *err, size_t errlen);
/* Replace the state file at path atomically (mode 0600). 0, A0_ERR_SYSTEM (err), A0_ERR_NOMEM. */
int a0_sync_state_save(const char *path, const struct a0_sync_state *s, char *err, size_t errlen);

#endif
