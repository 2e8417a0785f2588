/* SPDX-License-Identifier: MIT */
#ifndef A0_KEYS_H
#define A0_KEYS_H

/*
 * Inside the keyring library (store.c, login.c) and its tests: key-level operations under the
 * public contract of store.h. Not for the helper: it has store.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <keyutils.h>

#include "keyring/store.h"

/* Every record's description starts with this; a hand-off's does not (see login.c). */
#define A0_RECORD_PREFIX "pam_auth0:"

/*
 * A record key's permissions (and a hand-off's): the owner, i.e. the user (the module creates
 * keys with the fs ids switched to the user, lib/priv.h), may view, read, update, find and set
 * the timeout; possessors, group and others get nothing. No "link": a record does not leave its
 * keyring (a0_store_pin grants it for the moment of one link).
 *
 * Not the possessor: possession is not tied to a uid. Stock sudo and su (no pam_keyinit in
 * their session stacks) run "sudo -u bob CMD" in alice's session keyring, so bob's process
 * possesses what it holds, and the kernel adds the possessor bits to whatever bob's uid gets.
 * Not even possessor "search": keyctl_read lets a caller read a possessed key it may search
 * without read permission (keyctl(2), KEYCTL_READ). With no possessor bits a key is possessed
 * only by a process that may search it as its owner, and any other fsuid, root's included, gets
 * EACCES when it describes, reads, finds, updates, invalidates or times it out (unlinking it
 * from a keyring needs write permission on that keyring only). So whatever reads, updates,
 * removes or times out a record must have the user's fsuid: the helper runs as the user; the
 * module switches (login.c).
 */
#define A0_RECORD_PERM \
	(KEY_USR_VIEW | KEY_USR_READ | KEY_USR_WRITE | KEY_USR_SEARCH | KEY_USR_SETATTR)

/* What keyctl_describe says about a key. */
struct a0_keyinfo {
	char type[32];
	uid_t uid;
	gid_t gid;
	key_perm_t perm;
	char description[4096];
};

/* 0, or A0_ERR_NOT_FOUND (no such key, revoked, expired), or A0_ERR_SYSTEM (EACCES...). */
int a0_key_describe(key_serial_t key, struct a0_keyinfo *ret);

/* Invalidate a key (gone from every keyring at once); a key already gone is not an error. */
int a0_key_invalidate(key_serial_t key);

/*
 * Save/find/load by full description. find looks only at the keyring's own links, any record
 * type. save returns the key's serial in *ret_key (may be NULL).
 */
int a0_store_save_described(key_serial_t keyring, const char *description,
			    const struct a0_record *r, unsigned timeout_s, key_serial_t *ret_key);
int a0_store_find_described(key_serial_t keyring, const char *description, key_serial_t *ret_key);
/* The first record-typed key in keyring's own links whose description starts with prefix. */
int a0_store_find_prefixed(key_serial_t keyring, const char *prefix, key_serial_t *ret_key,
			   struct a0_keyinfo *ret_info);
/* Read and parse one key: A0_ERR_NOT_FOUND when it is gone. */
int a0_store_load_key(key_serial_t key, struct a0_record **ret);

/*
 * Link a record key into pin (e.g. KEY_SPEC_PROCESS_KEYRING) so the caller still possesses it
 * when its keyring is revoked (pam_keyinit's "revoke" runs before pam_auth0's close_session).
 * The caller must own the key (fsuid): "link" is granted to the owner for the moment of the
 * link only.
 */
int a0_store_pin(key_serial_t key, key_serial_t pin);

#endif
