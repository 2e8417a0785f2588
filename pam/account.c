/* SPDX-License-Identifier: MIT */
/*
 * Account management: pam_sm_acct_mgmt, the synced identity cache's verdict (blocked, deleted,
 * allowed_roles) for every login, the policy once more on the claims that pam_sm_authenticate
 * verified on this handle (DATA_CLAIMS), against PAM_USER as it is now, and what happens to a
 * handle that Auth0 did not sign in (account_without_auth0).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_modules.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/policy.h"
#include "pam/module.h"

/*
 * A system account (mod_begin's PAM_IGNORE) after Auth0 signed someone in on this handle: the
 * application changed PAM_USER since. Ignoring it would let the rest of the account stack take
 * that sign-in for the system account's, so it is denied.
 */
static int system_account_after_auth0(struct login *l)
{
	char description[MAX_USER + 128];
	const void *done = NULL;

	(void)pam_get_data(l->pamh, DATA_DONE, &done);
	snprintf(description, sizeof(description),
		 "a system account, but this handle signed in %s with Auth0",
		 done ? (const char *)done : "a user");
	mod_log(l, LOG_NOTICE, "account-denied", MOD_DENIED, "account", "DENIED", NULL,
		description);
	return PAM_PERM_DENIED;
}

/*
 * The identity cache first: an account blocked or deleted in Auth0 at the last sync, or outside
 * allowed_roles, is denied however it authenticated. Then the policy on this handle's verified
 * claims, against PAM_USER as it is now. A handle that Auth0 did not sign in (ssh keys, another
 * auth module, or authentication in another process) has no claims: account_without_auth0 says
 * whether that is denied, or else answered from the cache (success for an account it knows,
 * ignore for one it does not). A system
 * account is ignored only on a handle Auth0 did not sign in.
 */
A0_PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = {
		.pamh = pamh, .phase = MOD_ACCOUNT, .step = "account", .res = { .retry_after = -1 }
	};
	const char *granted = NULL; /* why the account is granted, for the log line */
	const struct a0_identity *synced = NULL;
	struct a0_identity id = { 0 };
	const void *claims = NULL, *offline = NULL;
	int pam, r;

	pam = mod_begin(&l, argc, argv);
	/* The handle's claims: whether Auth0 signed someone in on it, whoever PAM_USER is now. */
	if (pam_get_data(pamh, DATA_CLAIMS, &claims) != PAM_SUCCESS)
		claims = NULL;
	/* Or whether the module signed someone in offline on it (pam/offline.c). */
	if (pam_get_data(pamh, DATA_OFFLINE, &offline) != PAM_SUCCESS)
		offline = NULL;
	if (pam == PAM_IGNORE && (claims || offline)) {
		pam = system_account_after_auth0(&l);
		goto out;
	}
	if (pam != PAM_SUCCESS)
		goto out;
	/* The synced identity cache, whoever authenticated: ssh keys do not bypass Auth0. Read
	 * once, for its verdict and for the policy on the claims. */
	r = a0_policy_synced(l.cfg, l.user, &id, l.res.description, sizeof(l.res.description));
	if (r == 0)
		synced = &id;
	else if (r == A0_ERR_NOT_FOUND)
		r = 0;
	if (r == 0)
		r = a0_policy_account_identity(l.cfg, l.user, synced, &l.tell, l.res.description,
					       sizeof(l.res.description));
	if (r < 0 && r != A0_ERR_NOT_FOUND) {
		pam = mod_finish(&l, r);
		goto out;
	}
	if (!claims && offline) {
		/* Signed in offline with the verifier an online sign-in left, which passed the
		 * policy then: this account, and only this one. */
		if (strcmp(offline, l.user) != 0) {
			mod_log(&l, LOG_NOTICE, "account-denied", MOD_DENIED, "account", "DENIED",
				NULL, "signed in offline as another user on this handle");
			pam = PAM_PERM_DENIED;
		} else {
			granted = "signed in offline on this handle";
			pam = PAM_SUCCESS;
		}
		goto out;
	}
	if (!claims) {
		if (l.cfg->account_without_auth0 == A0_ACCOUNT_IGNORE) {
			/* An account the cache knows and lets in gets a verdict, not a shrug. */
			pam = r == 0 ? PAM_SUCCESS : PAM_IGNORE;
			granted = "not signed in with Auth0: the identity cache knows the account";
			goto out;
		}
		mod_log(&l, LOG_NOTICE, "account-denied", MOD_DENIED, "account", "DENIED", NULL,
			"not signed in with Auth0 (account_without_auth0 = deny)");
		pam = PAM_PERM_DENIED;
		goto out;
	}
	if ((r = a0_policy_check_identity(l.cfg, l.user, synced, claims, &l.tell, l.res.description,
					  sizeof(l.res.description))) < 0)
		pam = mod_finish(&l, r);
	else
		granted = "signed in with Auth0: the policy allows the account";
out:
	if (pam == PAM_SUCCESS && granted)
		mod_log(&l, LOG_INFO, "account-granted", MOD_GRANTED, "account", "OK", NULL,
			granted);
	a0_identity_clear(&id);
	a0_config_free(l.cfg);
	return pam;
}
