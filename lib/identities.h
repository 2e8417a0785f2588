/* SPDX-License-Identifier: MIT */
#ifndef A0_IDENTITIES_H
#define A0_IDENTITIES_H

/*
 * The identities file: which Auth0 user each synced Linux name belongs to and what Auth0 says of
 * it, written by auth0-sync from its state and read by the PAM module (as root) to bind a login
 * to the cached identity and to deny blocked, deleted or role-less users in the account phase.
 * Root's (sync_dir/identities, mode 0600): it names every user of the tenant's connections.
 * When the group A0_IDENTITIES_READER_GROUP exists, the file is that group's too (mode 0640):
 * auth0-broker(8), which runs as its own user, binds refreshed ID tokens to callers with it.
 * Text, one line per identity:
 *
 *   # pam_auth0 identities format=1 generated=<seconds since the epoch>
 *   name<TAB>user_id<TAB>active|blocked|deleted<TAB>login or -<TAB>role,role,... or -<TAB>0|1
 *
 * name a valid Linux name (at most A0_IDENTITY_MAX_NAME bytes), unique in the file; user_id and
 * login printable ASCII without a blank; roles without a control byte or ','; the last field
 * says whether the name is a local account that users_file binds to user_id.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define A0_IDENTITIES_NAME "identities" /* the file's name in sync_dir */
#define A0_IDENTITIES_READER_GROUP "auth0-broker"
#define A0_IDENTITIES_MAX_BYTES (512L * 1024 * 1024)
#define A0_IDENTITY_MAX_NAME 32
#define A0_IDENTITY_MAX_FIELD 512  /* user_id, login */
#define A0_IDENTITY_MAX_ROLE 255   /* one role's name */
#define A0_IDENTITY_MAX_ROLES 1024 /* roles of one identity */

enum a0_identity_state { A0_IDENTITY_ACTIVE, A0_IDENTITY_BLOCKED, A0_IDENTITY_DELETED };

struct a0_identity {
	char *name;
	char *user_id;
	char *login; /* NULL for none */
	enum a0_identity_state state;
	char **roles;
	size_t n_roles;
	bool local;
};

/* Whether name is a valid Linux name of a synced user or group: ^[a-z_][a-z0-9_-]{0,31}$. */
bool a0_identity_name_valid(const char *name);
/* A user_id or login: printable ASCII without a blank, 1..A0_IDENTITY_MAX_FIELD bytes, not "-". */
bool a0_identity_field_valid(const char *s);
/* A role's name: 1..A0_IDENTITY_MAX_ROLE bytes without a control byte or ',', not "-". */
bool a0_identity_role_valid(const char *role);

/*
 * Write the n identities to path, replacing the file atomically (lib/util.h a0_replace_file):
 * mode 0600, or 0640 with group reader ((gid_t)-1: none). 0, A0_ERR_INVALID (an identity breaks
 * the format or a name is there twice: err says which), A0_ERR_SYSTEM (err: errno text),
 * A0_ERR_NOMEM.
 */
int a0_identities_write(const char *path, const struct a0_identity *ids, size_t n, time_t generated,
			gid_t reader, char *err, size_t errlen);

/*
 * The identity named name in the file at path. The file must be a regular file owned by root
 * that others can neither read nor write and the group cannot write. 0 with *ret (clear it with
 * a0_identity_clear) and, when ret_generated is not NULL, the generation time; A0_ERR_NOT_FOUND
 * when there is no file or no such name (a name that cannot be valid is not looked for);
 * A0_ERR_CONFIG (err: the reason) for a file of the wrong owner, mode or kind, too large, or
 * whose header or line for name is malformed, or that names name twice; A0_ERR_NOMEM.
 * A lookup reads the file once: a linear scan, some milliseconds for 100,000 lines.
 */
int a0_identities_find(const char *path, const char *name, struct a0_identity *ret,
		       time_t *ret_generated, char *err, size_t errlen);

/* Free what *id holds and zero it; NULL is fine. */
void a0_identity_clear(struct a0_identity *id);

#endif
