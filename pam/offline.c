/* SPDX-License-Identifier: MIT */
/*
 * When Auth0 cannot be reached (pam_auth0(8), WHEN AUTH0 CANNOT BE REACHED): the offline
 * policy of the service (deny, password, breakglass) applied to a login, and what an online
 * login's outcome does to the user's offline verifier (lib/offline.h): kept after a complete
 * sign-in, forgotten when Auth0 refuses a password the verifier would accept or says the user is
 * blocked. Every offline grant and refusal is one log line with a stable message id (mod_log).
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/offline.h"
#include "lib/outage.h"
#include "lib/policy.h"
#include "lib/util.h"
#include "pam/module.h"

#define TELL_UNREACHABLE "The sign-in service cannot be reached."
#define TELL_GRANTED                                                                            \
	"The sign-in service cannot be reached: you are signed in with the password this host " \
	"kept from your last sign-in. Your second factor was not checked, and no Auth0 "        \
	"credentials are available in this session."

static const char *service_of(pam_handle_t *pamh)
{
	const void *service = NULL;

	if (pam_get_item(pamh, PAM_SERVICE, &service) != PAM_SUCCESS)
		return NULL;
	return service;
}

enum a0_offline_policy mod_offline_policy(const struct login *l)
{
	return a0_config_offline_policy(l->cfg, service_of(l->pamh));
}

/* One line per offline grant or refusal, the service's offline policy in its description. */
static void offline_log(const struct login *l, int priority, const char *msgid,
			enum mod_outcome outcome, const char *result, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void offline_log(const struct login *l, int priority, const char *msgid,
			enum mod_outcome outcome, const char *result, const char *fmt, ...)
{
	char text[768], line[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	a0_format(line, sizeof(line), "%s; policy %s", text,
		  a0_offline_policy_name(mod_offline_policy(l)));
	mod_log(l, priority, msgid, outcome, "offline", result, NULL, line);
}

/*
 * A synced account that Auth0 blocked or deleted at the last sync gets no offline login, and
 * its verifier is forgotten. 0 when the cache does not refuse it.
 */
static int synced_refusal(struct login *l, const struct a0_offline *o)
{
	struct a0_identity id = { 0 };
	char reason[256] = "";
	const char *state;
	int r;

	r = a0_policy_synced(l->cfg, l->user, &id, reason, sizeof(reason));
	if (r == A0_ERR_NOT_FOUND)
		return 0;
	if (r < 0)
		return r;
	state = id.state == A0_IDENTITY_ACTIVE    ? NULL
		: id.state == A0_IDENTITY_BLOCKED ? "blocked"
						  : "deleted";
	a0_identity_clear(&id);
	if (!state)
		return 0;
	(void)a0_offline_forget(o, l->user, reason, sizeof(reason));
	offline_log(l, LOG_NOTICE, "offline-denied", MOD_DENIED, "DENIED",
		    "the account is %s in Auth0 (identity cache): no offline login, its verifier "
		    "forgotten",
		    state);
	return A0_ERR_POLICY;
}

/* The verifier's verdict on password: a PAM code, said and logged. */
static int offline_verify(struct login *l, const char *password)
{
	struct a0_offline o;
	unsigned failures = 0;
	time_t last = 0, now = time(NULL);
	char reason[256] = "";
	int r;

	a0_offline_of(l->cfg, &o);
	if ((r = synced_refusal(l, &o)) < 0) {
		if (r != A0_ERR_POLICY)
			return mod_finish(l, r);
		mod_tell(l->pamh, true, "Your account is not allowed to sign in on this host.");
		return PAM_PERM_DENIED;
	}
	r = a0_offline_check(&o, l->user, password, now, &failures, &last, reason, sizeof(reason));
	switch (r) {
	case 0:
		offline_log(l, LOG_NOTICE, "offline-granted", MOD_GRANTED, "GRANTED",
			    "signed in offline with the kept password (last online sign-in %lld s "
			    "ago); second factor not checked",
			    (long long)(now - last));
		mod_tell(l->pamh, false, TELL_GRANTED);
		return PAM_SUCCESS;
	case A0_ERR_DENIED:
		offline_log(l, LOG_NOTICE, "offline-denied", MOD_DENIED, "DENIED",
			    "wrong password (offline failure %u of %u)", failures,
			    l->cfg->offline_max_failures);
		if (l->cfg->offline_fail_delay)
			(void)pam_fail_delay(l->pamh, l->cfg->offline_fail_delay * 1000000u);
		return PAM_AUTH_ERR;
	case A0_ERR_LOCKED:
		l->step = "offline";
		a0_format(l->res.description, sizeof(l->res.description),
			  "%u failed offline sign-ins: locked until an online sign-in; policy %s",
			  l->cfg->offline_max_failures,
			  a0_offline_policy_name(mod_offline_policy(l)));
		return mod_finish(l, r);
	case A0_ERR_EXPIRED:
		if (l->cfg->offline_max_age)
			offline_log(l, LOG_NOTICE, "offline-denied", MOD_DENIED, "EXPIRED",
				    "the last online sign-in was %lld s ago, over offline_max_age "
				    "(%u s)",
				    (long long)(now - last), l->cfg->offline_max_age);
		else
			offline_log(l, LOG_NOTICE, "offline-denied", MOD_DENIED, "EXPIRED",
				    "offline_max_age is 0: no offline sign-in");
		mod_tell(l->pamh, true,
			 TELL_UNREACHABLE " Your last sign-in on this host while it could be "
					  "reached is too long ago to sign in without it.");
		return PAM_AUTHINFO_UNAVAIL;
	case A0_ERR_NOT_FOUND:
		offline_log(l, LOG_NOTICE, "offline-denied", MOD_DENIED, "NO_VERIFIER",
			    "no kept password: the user has no online sign-in on this host since "
			    "offline login was set up, or it was forgotten");
		mod_tell(l->pamh, true,
			 TELL_UNREACHABLE " You have not signed in on this host while it could be "
					  "reached, so you cannot sign in without it.");
		return PAM_AUTHINFO_UNAVAIL;
	default:
		offline_log(l, LOG_ERR, "offline-denied", MOD_ERROR, a0_err_name(r), "%s",
			    reason[0] ? reason : a0_strerror(r));
		mod_tell(l->pamh, true, TELL_UNREACHABLE);
		return r == A0_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
}

static void cleanup_string(pam_handle_t *pamh, void *data, int status)
{
	free(data);
}

/* The handle signed the user in offline: acct_mgmt lets it through, a second auth pass of
 * sshd does not ask again. */
static int remember_offline(struct login *l)
{
	const char *names[] = { DATA_OFFLINE, DATA_DONE };
	int pam;

	for (size_t i = 0; i < A0_ARRAY_SIZE(names); i++) {
		char *user = strdup(l->user);

		if (!user)
			return PAM_BUF_ERR;
		if ((pam = pam_set_data(l->pamh, names[i], user, cleanup_string)) != PAM_SUCCESS) {
			free(user);
			return pam;
		}
	}
	return PAM_SUCCESS;
}

int mod_offline_login(struct login *l, const char *password, unsigned wait)
{
	struct a0_breakglass bg;
	char reason[256] = "";
	int r;

	switch (mod_offline_policy(l)) {
	case A0_OFFLINE_DENY:
		offline_log(l, LOG_ERR, "offline-denied", MOD_UNAVAILABLE, "OFFLINE",
			    "the sign-in service is known to be unreachable, Auth0 not asked; next "
			    "check in %u s",
			    wait);
		mod_tell(l->pamh, true, TELL_UNREACHABLE);
		return PAM_AUTHINFO_UNAVAIL;
	case A0_OFFLINE_BREAKGLASS:
		r = a0_breakglass_state(l->cfg->offline_dir, time(NULL), &bg, reason,
					sizeof(reason));
		if (r < 0) {
			offline_log(l, LOG_ERR, "offline-denied", MOD_DENIED, "OFFLINE",
				    "no breakglass window is open%s%s", reason[0] ? ": " : "",
				    reason);
			mod_tell(l->pamh, true,
				 TELL_UNREACHABLE " Signing in without it is not open on this "
						  "host.");
			return PAM_AUTHINFO_UNAVAIL;
		}
		break;
	case A0_OFFLINE_PASSWORD:
		break;
	}
	r = offline_verify(l, password);
	if (r == PAM_SUCCESS)
		r = remember_offline(l);
	return r;
}

void mod_offline_online(struct login *l, int r, const char *password)
{
	struct a0_offline o;
	char reason[256] = "";
	bool done = false;
	int k;

	if (!a0_config_offline_used(l->cfg))
		return;
	a0_offline_of(l->cfg, &o);
	if (r == 0) {
		k = a0_offline_online(&o, l->user, password, time(NULL), &done, reason,
				      sizeof(reason));
		if (k < 0)
			offline_log(l, LOG_WARNING, "offline-not-kept", MOD_FAILED, a0_err_name(k),
				    "the password for offline sign-in was not kept: %s",
				    reason[0] ? reason : a0_strerror(k));
		else if (done && l->cfg->debug)
			pam_syslog(l->pamh, LOG_DEBUG, "user=%s offline verifier written", l->user);
		return;
	}
	/* Auth0 refused this password (not an MFA code): the verifier must not accept it any
	 * longer, whether the password was changed or leaked. */
	if (r == A0_ERR_DENIED && strcmp(l->step, "password-realm") == 0)
		k = a0_offline_denied(&o, l->user, password, &done, reason, sizeof(reason));
	else if (r == A0_ERR_BLOCKED)
		k = a0_offline_forget(&o, l->user, reason, sizeof(reason)), done = k == 0;
	else
		return;
	if (k < 0 && k != A0_ERR_NOT_FOUND)
		offline_log(l, LOG_WARNING, "offline-forgotten", MOD_FAILED, a0_err_name(k),
			    "the kept password could not be checked or forgotten: %s",
			    reason[0] ? reason : a0_strerror(k));
	else if (done)
		offline_log(l, LOG_NOTICE, "offline-forgotten", MOD_OK, "PURGED",
			    "Auth0 %s: the kept password is forgotten",
			    r == A0_ERR_BLOCKED ? "says the user is blocked"
						: "refused the password this host kept");
}
