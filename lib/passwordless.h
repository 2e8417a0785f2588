/* SPDX-License-Identifier: MIT */
#ifndef A0_PASSWORDLESS_H
#define A0_PASSWORDLESS_H

/*
 * Passwordless as the first factor: Auth0 sends a one-time code to the user's email address or
 * phone (POST /passwordless/start), the user types it, and the Passwordless OTP grant turns it
 * into tokens; MFA may follow, as after a password. The address is never typed by the user: it
 * comes from the configuration (a0_passwordless_address) and is shown masked.
 */

#include <stddef.h>

#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/mfa.h"

#define A0_GRANT_PASSWORDLESS_OTP "http://auth0.com/oauth/grant-type/passwordless/otp"

/* Where the code goes; the connection (and the grant's realm) of the same name. */
enum a0_pwl_channel { A0_PWL_EMAIL, A0_PWL_SMS };

/* Longest masked address a0_passwordless_mask writes, without its NUL. */
#define A0_PWL_MAX_SHOWN 72
/* Shortest and longest code accepted from the user (Auth0's OTP Length: 6 by default). */
#define A0_PWL_MIN_CODE 4
#define A0_PWL_MAX_CODE 12

/* "email" or "sms": the connection's name and the grant's realm; NULL for another value. */
const char *a0_passwordless_connection(int channel);

/* Is address one the channel's connection takes (a0_email_address_ok, a0_phone_number_ok)? */
bool a0_passwordless_address_ok(int channel, const char *address);

/*
 * The address for display: j***@example.com, +*********34. Whatever address holds (it may come
 * from the tenant), only printable ASCII reaches buf (control characters and other bytes are
 * dropped) and at most A0_PWL_MAX_SHOWN bytes ("..." ends a longer domain). Returns buf.
 */
const char *a0_passwordless_mask(int channel, const char *address, char buf[A0_PWL_MAX_SHOWN + 1]);

/*
 * The address of PAM user `user` for the channel, never typed by the user: users_file's
 * email= or phone= field of the user's line; for email, else the Auth0 login name the
 * username template makes when it is an email address (username = %u@example.com). 0 and a
 * new string; A0_ERR_NOT_FOUND (err says what to configure); A0_ERR_CONFIG (users_file);
 * A0_ERR_NOMEM.
 */
int a0_passwordless_address(const struct a0_config *cfg, const char *user, int channel, char **ret,
			    char *err, size_t errlen);

/*
 * POST /passwordless/start: send a code to address by the channel. 0, or an A0_ERR_* with res:
 * A0_ERR_CLIENT (bad.connection: not enabled for the application), A0_ERR_RATE_LIMITED,
 * A0_ERR_AUTH0 (bad.email, bad.phone_number, ...), transport errors. A0_ERR_INVALID for an
 * address the channel does not take (nothing is sent).
 */
int a0_passwordless_start(struct a0_client *c, int channel, const char *address,
			  struct a0_result *res);

/* The Passwordless OTP grant (username = address, otp, realm, cfg's scope and audience). */
int a0_grant_passwordless(struct a0_client *c, const struct a0_config *cfg, int channel,
			  const char *address, const char *otp, struct a0_tokens **ret,
			  struct a0_result *res);

/*
 * A whole passwordless sign-in: start, tell the user where the code went (masked), ask for it
 * (not echoed), retry a wrong code up to cfg->mfa_retries times. 0 and the tokens;
 * A0_ERR_MFA_REQUIRED with res->mfa_token (continue with a0_mfa_complete); A0_ERR_DENIED (wrong
 * codes), A0_ERR_EXPIRED, A0_ERR_TOO_MANY_ATTEMPTS (the code is used up), A0_ERR_CONV, or what
 * the start answered. What to tell the user of a failure is the caller's (a0_passwordless_why).
 */
int a0_passwordless_sign_in(struct a0_client *c, const struct a0_config *cfg, int channel,
			    const char *address, const struct a0_prompter *p,
			    struct a0_tokens **ret, struct a0_result *res);

/* A sentence for the user after a failed passwordless sign-in, or NULL when the caller's
 * general message for err fits. */
const char *a0_passwordless_why(int err);

#endif
