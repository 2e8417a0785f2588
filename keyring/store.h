/* SPDX-License-Identifier: MIT */
#ifndef A0_STORE_H
#define A0_STORE_H

/*
 * The credential store: Auth0 credentials as records (record.h) in the kernel keyring of a login
 * session. One library for the module, the helper and the tests.
 *
 * A record is a key of type big_key (or user where the kernel has no big_key) whose
 * description is "pam_auth0:<name>" (names: record.h). Its payload is the record's
 * serialisation (record.c and pam_auth0(8)); a record is replaced as a whole by one keyctl
 * update, so readers never see a torn record.
 */

#include <sys/types.h>

#include <keyutils.h>

#include "keyring/record.h"

/*
 * Operations on one keyring (e.g. KEY_SPEC_SESSION_KEYRING in the helper, or the keyring the
 * module resolved for the user). All return 0 or an A0_ERR_*.
 *   load:   A0_ERR_NOT_FOUND when there is no such record in the keyring itself (keyrings
 *           linked in it are not searched: a record is read where it is saved).
 *           A0_ERR_MALFORMED / A0_ERR_VERSION for a payload that is not a v1 record.
 *   save:   create or replace atomically (the caller's own record key is updated in place;
 *           a key of another uid's under the name is never written, only displaced: store.c);
 *           timeout_s > 0 sets the key's timeout (again after every update, which clears it);
 *           A0_ERR_STORE names the quota on EDQUOT/ENOMEM/too large, and the previous record
 *           is then left intact. Keys get the permissions
 *           owner view/read/write/search/setattr and nothing for possessors, group and others
 *           (keys.h says why); the caller's fsuid owns a new key. So every operation on a
 *           record needs the owner's fsuid: the helper runs as the user, the module switches
 *           to the user first (lib/priv.h).
 *   remove: invalidate the record's key; removing a missing record is not an error.
 *   load, save, remove and clear look at the keyring's own links only.
 */
int a0_store_load(key_serial_t keyring, const char *name, struct a0_record **ret);
/*
 * load, but only a record whose key owner owns: a key of another uid's under the record's name
 * (one that uid put into a keyring it can write, e.g. through stock sudo in the session) is
 * A0_ERR_NOT_FOUND. For the helper, which must never act on tokens someone else chose.
 */
int a0_store_load_owned(key_serial_t keyring, const char *name, uid_t owner,
			struct a0_record **ret);
int a0_store_save(key_serial_t keyring, const char *name, const struct a0_record *r,
		  unsigned timeout_s);
int a0_store_remove(key_serial_t keyring, const char *name);
/* Remove every pam_auth0 record of the caller's (fsuid) in the keyring; or all but one. */
int a0_store_clear(key_serial_t keyring);
int a0_store_clear_except(key_serial_t keyring, const char *keep);
/* Remove the caller's records whose names start with prefix (e.g. A0_RECORD_VAULT_PREFIX). */
int a0_store_remove_prefix(key_serial_t keyring, const char *prefix);

#endif
