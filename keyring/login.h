/* SPDX-License-Identifier: MIT */
#ifndef A0_LOGIN_H
#define A0_LOGIN_H

/*
 * What a login does with the credential store: the PAM module's keyring logic, kept out of
 * pam/ (HACKING.md §1). Every function that creates, reads, updates, times out or removes a
 * user's key switches to the user through lib/priv.h itself and switches back before it
 * returns: a record's permissions are its owner's only (keys.h), so root, which possesses the
 * keys (session keyring, pin), may not even view them with its own fsuid.
 *
 * The hand-off (sshd runs pam_authenticate for keyboard-interactive in a forked child, and
 * pam_setcred/pam_open_session in its privileged parent, where the child's pam_set_data is
 * gone): at the end of a successful authentication the record goes into a short-lived key
 * (A0_HANDOFF_TIMEOUT) in the *target user's* user keyring, created as the user (so the user
 * owns it, it counts against the user's quota, and only processes of that user possess it),
 * described "pam_auth0_handoff:<handle>:<keyring>" with a random 128-bit handle. The handle
 * (not a secret: it only names the key) travels in the PAM environment as
 * A0_HANDOFF_ENV=<handle>, which sshd copies from its auth child to the parent like every PAM
 * variable. The first of setcred/open_session that sees it takes the key (reads, then
 * invalidates it) and removes the variable, so the shell never inherits it; in a process that
 * still has the tokens in pam_set_data (login, su, sudo, sshd's password method) the key is
 * simply invalidated. <keyring> is the session keyring the authentication ran in: storing is
 * refused into that same keyring (see a0_login_store).
 *
 * The user keyring of another uid cannot be named: KEY_SPEC_USER_KEYRING means the user keyring
 * of the caller's *real* uid, and keys in it are possessed through that reference. So the
 * hand-off (and keyring = user) switch the real uid too (A0_PRIV_REAL), as pam_keyinit does to
 * create a session keyring the user owns.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <keyutils.h>

#include "keyring/store.h"
#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/priv.h"

#define A0_HANDOFF_ENV "PAM_AUTH0_HANDOFF"
/* Seconds a hand-off lives: sshd's default LoginGraceTime. */
#define A0_HANDOFF_TIMEOUT 120
#define A0_HANDOFF_HANDLE_LEN 32 /* lower-case hex digits */

/* The login's record from a token response and the configuration (not secret: domain...). */
int a0_record_from_tokens(const struct a0_tokens *t, const struct a0_config *cfg, time_t now,
			  struct a0_record **ret);

/* The serial of the caller's session keyring (0 when it has none). */
key_serial_t a0_login_current_session(void);

/* A well-formed handle. */
bool a0_handoff_valid(const char *handle);
/* Put r into a new hand-off key of u; 0 and the handle. */
int a0_handoff_put(const struct a0_user *u, const struct a0_record *r, key_serial_t auth_keyring,
		   char ret_handle[A0_HANDOFF_HANDLE_LEN + 1]);
/* Take the hand-off: read and invalidate it. A0_ERR_NOT_FOUND when gone (expired, taken). */
int a0_handoff_take(const struct a0_user *u, const char *handle, struct a0_record **ret,
		    key_serial_t *ret_auth_keyring);
/* Invalidate the hand-off unread; a missing one is not an error. */
int a0_handoff_drop(const struct a0_user *u, const char *handle);

/* Where a login's record went. */
struct a0_stored {
	key_serial_t keyring; /* the session keyring, or the user keyring (keyring = user) */
	key_serial_t key;     /* the record's key, pinned in the caller's process keyring */
};

/*
 * Is the caller's session keyring the place for u's record? 0 and its serial, or
 * A0_ERR_NOT_FOUND with the reason in why: there is none, it is a per-user default session
 * keyring (_uid_ses.N), it is not owned by u, or it is auth_keyring (the keyring the
 * authentication ran in, i.e. pam_keyinit did not give this login its own; 0: unknown).
 */
int a0_login_session_keyring(const struct a0_user *u, key_serial_t auth_keyring, key_serial_t *ret,
			     char *why, size_t whylen);

/*
 * Store r as u's main record, as u: in the caller's session keyring (when
 * a0_login_session_keyring accepts it) or, with A0_KEYRING_USER, in u's user keyring. The key
 * is pinned in the caller's process keyring so that a0_login_current can read it at logout,
 * after pam_keyinit has revoked the session keyring. 0 and *ret; A0_ERR_NOT_FOUND (why) when
 * the session keyring is refused; A0_ERR_STORE (quota) and the others from a0_store_save.
 */
int a0_login_store(const struct a0_user *u, enum a0_keyring_mode mode, key_serial_t auth_keyring,
		   const struct a0_record *r, unsigned timeout_s, struct a0_stored *ret, char *why,
		   size_t whylen);

/* The stored record as it is now (the helper may have refreshed it), through the pin, as u. */
int a0_login_current(const struct a0_user *u, const struct a0_stored *s, struct a0_record **ret);
/*
 * Read u's main record where the mode puts it (session keyring when accepted, or user keyring):
 * for a logout in a process that did not store it.
 */
int a0_login_find(const struct a0_user *u, enum a0_keyring_mode mode, key_serial_t auth_keyring,
		  struct a0_record **ret);

/*
 * Remove the login's records: the pinned key when s is given, and every pam_auth0 record in the
 * keyring the mode names (the session keyring only when a0_login_session_keyring accepts it).
 */
int a0_login_forget(const struct a0_user *u, enum a0_keyring_mode mode, key_serial_t auth_keyring,
		    const struct a0_stored *s);
/* Remove the stored record (its key, wherever linked), as u. */
void a0_login_discard(const struct a0_user *u, const struct a0_stored *s);
/* Drop the caller's pin of s (its process keyring link) without removing the record; needs no
 * permission on the key, so no switch. */
void a0_login_unpin(const struct a0_stored *s);

#endif
