/* SPDX-License-Identifier: MIT */
#ifndef A0_MFA_H
#define A0_MFA_H

#include <stdbool.h>

#include "lib/auth0.h"
#include "lib/conf.h"

/* How the MFA flow talks to the person signing in; the PAM layer wraps its conversation. */
struct a0_prompter {
	void *ctx;
	/* Ask a question: 0 and a reply to free with a0_secret_free, or A0_ERR_CONV. */
	int (*ask)(void *ctx, bool echo, const char *prompt, char **ret_reply);
	/* Tell the person something; error selects an error rather than an info message. */
	void (*tell)(void *ctx, bool error, const char *text);
	/*
	 * Messages must be acknowledged by a prompt to be seen (OpenSSH before 10.3 shows PAM
	 * messages only with the next prompt, bug 2876): push waits behind "press Enter", and a new
	 * recovery code is followed by one.
	 */
	bool ack_messages;
};

/*
 * Complete Auth0 MFA after the password grant answered mfa_required with mfa_token: choose
 * an authenticator (preference, or a menu), run its challenge and grant, retrying wrong codes.
 * 0 and the tokens, or an A0_ERR_* with res describing Auth0's last answer.
 */
int a0_mfa_complete(struct a0_client *c, const struct a0_config *cfg, const char *mfa_token,
		    const struct a0_prompter *p, struct a0_tokens **ret, struct a0_result *res);

/* Does s look like an Auth0 recovery code rather than a one-time code? */
bool a0_mfa_is_recovery_code(const char *s);

#endif
