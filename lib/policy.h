/* SPDX-License-Identifier: MIT */
#ifndef A0_POLICY_H
#define A0_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/conf.h"
#include "lib/identities.h"

/*
 * Who may log in. Two questions, asked of the configuration and the verified ID token's
 * claims: does the module handle this account at all, and may this identity use it.
 *
 * The synced identity cache (a0_policy_synced) is a root-only file that names every synced
 * user: a0_policy_check, a0_policy_account and a0_policy_login_name read it once per call. A
 * phase that asks more than one of them reads it once with a0_policy_synced and passes what it
 * found to the _identity variants: the identity, or NULL when the read said A0_ERR_NOT_FOUND.
 * A read that failed otherwise is not passed: the caller reports it, or calls the variant that
 * reads again, which reports it where a rule needs the cache.
 */

/* What a0_policy_system_account found. */
enum a0_user_kind {
	A0_USER_REGULAR = 0, /* an account the module handles */
	A0_USER_SYSTEM = 1,  /* root or uid < min_uid: never Auth0's */
	A0_USER_NONE = 2,    /* no such account (neither in /etc/passwd nor any NSS source) */
};

/*
 * System accounts never depend on Auth0: A0_USER_SYSTEM for root (by name or uid 0) and for an
 * existing account whose uid is below min_uid, unless the user is in allowed_users;
 * A0_USER_NONE for a name no account database knows (a name in allowed_users is not looked
 * up: A0_USER_REGULAR); A0_USER_REGULAR for every other name. A0_ERR_SYSTEM when the account database cannot tell (an NSS
 * error, or a passwd entry over 1 MiB), with the reason for syslog: such an account may be a
 * system account or not, so the caller must fail closed, neither ignore nor handle it.
 * A0_ERR_NOMEM.
 */
int a0_policy_system_account(const struct a0_config *cfg, const char *user, char *reason,
			     size_t reasonlen);

/*
 * May the identity in claims use the PAM account user? In order: when users_file binds user
 * to a user_id, the claim sub must equal it; else when user_claim is set, that claim must be a
 * string equal to user_claim_template expanded for user (and when it is email, email_verified
 * must be true unless require_email_verified is off); else there is no binding and the answer
 * is no. Then user must be in allowed_users when set, and groups_claim must be an array
 * holding one of allowed_groups when set. 0, A0_ERR_NOMEM, A0_ERR_CONFIG (users_file is not
 * root's or malformed: reason says why) or A0_ERR_POLICY: then *tell is a message for the
 * user (static text) and reason names the rule for syslog. On success reason is empty, or
 * says the account was bound by a claim the account holder sets (trust_user_claims), which
 * the caller logs as a warning.
 */
int a0_policy_check(const struct a0_config *cfg, const char *user, const cJSON *claims,
		    const char **tell, char *reason, size_t reasonlen);

/*
 * a0_policy_check on the cache as the caller's a0_policy_synced found it: id is the identity,
 * NULL when the read said A0_ERR_NOT_FOUND (never pass a read that failed otherwise). It never
 * reads the cache: an A0_ERR_CONFIG is users_file's.
 */
int a0_policy_check_identity(const struct a0_config *cfg, const char *user,
			     const struct a0_identity *id, const cJSON *claims, const char **tell,
			     char *reason, size_t reasonlen);

/*
 * What the synced identity cache (sync_dir/identities, written by auth0-sync(8)) says of the
 * account user: 0 and *ret (clear it with a0_identity_clear); A0_ERR_NOT_FOUND when there is
 * no cache or it does not name user; A0_ERR_CONFIG (the file is not root's only, or malformed:
 * reason says why); A0_ERR_NOMEM.
 */
int a0_policy_synced(const struct a0_config *cfg, const char *user, struct a0_identity *ret,
		     char *reason, size_t reasonlen);

/*
 * The account phase's question for every login, whoever authenticated it (an Auth0 sign-in, an
 * ssh key, another module): does the identity cache refuse user? A0_ERR_POLICY (with *tell and
 * reason) when the account is blocked or deleted in Auth0 at the last sync, or allowed_roles is
 * set and the account holds none of them (or is not in the cache); 0 when the cache knows the
 * account and lets it in; A0_ERR_NOT_FOUND when the cache does not know it and no rule needs
 * it to; A0_ERR_CONFIG, A0_ERR_NOMEM.
 */
int a0_policy_account(const struct a0_config *cfg, const char *user, const char **tell,
		      char *reason, size_t reasonlen);

/* a0_policy_account on the cache as the caller's a0_policy_synced found it (id as for
 * a0_policy_check_identity): 0, A0_ERR_POLICY or A0_ERR_NOT_FOUND. */
int a0_policy_account_identity(const struct a0_config *cfg, const char *user,
			       const struct a0_identity *id, const char **tell, char *reason,
			       size_t reasonlen);

/*
 * The name the password grant sends for user: the login the identity cache holds for an
 * account that exists only in Auth0 (its Auth0 username, else its email), else the username
 * template. 0 and a new string, A0_ERR_INVALID, A0_ERR_NOMEM.
 */
int a0_policy_login_name(const struct a0_config *cfg, const char *user, char **ret);

/* The same from the caller's read (id as for a0_policy_check_identity; a failed read passes
 * NULL: the template). */
int a0_policy_login_name_identity(const struct a0_config *cfg, const char *user,
				  const struct a0_identity *id, char **ret);

/*
 * The email address of the Auth0 user behind the account user, from what this host knows and
 * never from the person at the terminal (a password-reset mail goes there): the synced
 * identity's login when it is an address (id as for a0_policy_check_identity), else the email
 * claim of claims (the verified ID token of this handle, may be NULL) when email_verified is
 * true, else user_claim_template expanded for user when user_claim is email, else the username
 * template expanded for user when that is an address. An address is what a0_mask_email takes.
 * 0 and a new string; A0_ERR_NOT_FOUND when none of them gives one; A0_ERR_NOMEM.
 */
int a0_policy_email(const struct a0_config *cfg, const char *user, const struct a0_identity *id,
		    const cJSON *claims, char **ret);

#endif
