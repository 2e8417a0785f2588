/* SPDX-License-Identifier: MIT */
#ifndef A0_POLICY_H
#define A0_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/conf.h"

/*
 * Who may log in. Two questions, asked of the configuration and the verified ID token's
 * claims: does the module handle this account at all, and may this identity use it.
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

#endif
