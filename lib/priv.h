/* SPDX-License-Identifier: MIT */
#ifndef A0_PRIV_H
#define A0_PRIV_H

/*
 * The one privilege switch of the project (HACKING.md §7). Everything that must act as the
 * user goes through it: keys the module creates for a user are created while switched, so the
 * user owns them and they count against the user's key quota.
 *
 * What the kernel looks at:
 *   - a new key's owner and the quota it is charged to: the filesystem uid and gid;
 *   - the "user" and "group" permission checks on keys: the fsuid, the fsgid and the
 *     supplementary groups;
 *   - KEY_SPEC_USER_KEYRING (and the possession of the user keyring through it): the *real*
 *     uid.
 * So a0_priv_drop always switches the supplementary groups and the filesystem ids, and with
 * A0_PRIV_REAL the real uid and gid as well (as pam_keyinit does around its keyring calls).
 * The effective and saved ids stay as they were, so a0_priv_regain can always switch back;
 * model: Linux-PAM's pam_modutil_drop_priv/regain_priv, which switch the fs ids only.
 *
 * Every call is checked; a failed drop undoes what it changed before it returns. The fs ids are
 * per thread, the real ids and groups per process (glibc signals every thread): callers are the
 * single-threaded PAM applications and the helper.
 */

#include <stdbool.h>
#include <sys/types.h>

/* The account to act as; name is used for its supplementary groups (NULL: the gid alone). */
struct a0_user {
	const char *name;
	uid_t uid;
	gid_t gid;
};

/* Also switch the real uid and gid: for KEY_SPEC_USER_KEYRING. */
#define A0_PRIV_REAL 0x1u

/* What a0_priv_drop changed, to be undone by a0_priv_regain. Zero-initialise before use. */
struct a0_priv {
	bool switched; /* something to undo */
	bool groups_set, rgid_set, ruid_set, fsgid_set, fsuid_set;
	uid_t ruid, fsuid;
	gid_t rgid, fsgid;
	int ngroups;
	gid_t *groups;
};

/*
 * Act as u: 0, or A0_ERR_SYSTEM (errno set) with the switch undone. A process that is not root
 * may only "switch" to itself (the helper, a screen locker): that is a successful no-op.
 * Call a0_priv_regain afterwards whatever this returned: it is a no-op when nothing is left
 * to undo, and retries an undo that failed inside a0_priv_drop.
 */
int a0_priv_drop(struct a0_priv *saved, const struct a0_user *u, unsigned flags);
/*
 * Switch back; a no-op after a no-op drop. A0_ERR_SYSTEM when an id could not be restored
 * (it tries every one): the caller must not go on as if it were privileged.
 */
int a0_priv_regain(struct a0_priv *saved);

#endif
