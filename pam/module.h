/* SPDX-License-Identifier: MIT */
#ifndef A0_PAM_MODULE_H
#define A0_PAM_MODULE_H

/*
 * What the files of the PAM module share. The module is split by PAM phase: auth.c
 * (pam_sm_authenticate, pam_sm_chauthtok), account.c (pam_sm_acct_mgmt) and session.c
 * (pam_sm_setcred, pam_sm_open_session, pam_sm_close_session: the credentials in the kernel
 * keyring); module.c has what every phase does (mod_begin, mod_finish, mod_log). The phases
 * of one login talk to each other only through the pam_set_data items named here. Shared
 * functions are named mod_*; the module is built with -fvisibility=hidden and export.sym, so
 * only the pam_sm_* marked A0_PUBLIC leave the .so.
 */

#include <stdbool.h>

#include <security/pam_modules.h>

#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/http.h"
#include "lib/offline.h"

#define A0_PUBLIC __attribute__((visibility("default")))

/* pam_set_data names; all the module's are here, so that none is used twice. */
#define DATA_TOKENS "pam_auth0_tokens"      /* struct a0_tokens of this login */
#define DATA_DONE "pam_auth0_authenticated" /* the user this handle already signed in */
#define DATA_CLAIMS "pam_auth0_claims"   /* cJSON: the verified ID token's claims, for acct_mgmt */
#define DATA_OFFLINE "pam_auth0_offline" /* the user this handle signed in offline (offline.c) */
/* session.c's own, of types private to it: */
#define DATA_HANDOFF "pam_auth0_handoff" /* struct handoff: the hand-off this process made */
#define DATA_RECORD "pam_auth0_record"   /* struct taken: this login's record for the session */
#define DATA_STORED "pam_auth0_stored"   /* struct stored: where the record went */

#define MAX_USER 256      /* bytes of a user name */
#define MAX_PASSWORD 1024 /* bytes of a password or an MFA answer */

/* Which PAM phase a call is: it names the outcome of a failed step (mod_finish). */
enum mod_phase { MOD_AUTH, MOD_ACCOUNT, MOD_SESSION, MOD_PASSWORD };

/*
 * What a logged event was for the login: the outcome= field of pam_auth0(8), LOGGING. The first
 * five end the PAM call (granted, denied, unavailable: Auth0 could not be asked or answer, error:
 * the host's configuration or system, ignored: left to the next module); the others are what a
 * step beside it did (ok, failed: the login goes on) or a change of the host's state (event).
 */
enum mod_outcome {
	MOD_GRANTED,
	MOD_DENIED,
	MOD_UNAVAILABLE,
	MOD_ERROR,
	MOD_IGNORED,
	MOD_OK,
	MOD_FAILED,
	MOD_EVENT,
};

/* One pam_sm_* call. */
struct login {
	pam_handle_t *pamh;
	enum mod_phase phase;
	struct a0_config *cfg;
	const char *user;
	const char *step; /* for mod_finish's log line */
	struct a0_http *http;
	struct a0_client client;
	struct a0_result res;
	const char *tell; /* a message chosen by the failed step, over the table's */
	bool no_account;  /* no account database knows the user (mod_begin) */
	/* Where step and tell point when a child process set them (netchild.h). */
	char step_text[32];
	char tell_text[256];
};

/*
 * Every entry point that does anything starts here, before any prompt but the user name's
 * and before any network: the configuration, the user, and PAM_IGNORE for the system
 * accounts that must never depend on Auth0 (root, uid < min_uid), and only for them;
 * PAM_AUTHINFO_UNAVAIL when the account database cannot tell whether the user is one. l->cfg
 * is set even on failure when the configuration loaded; the caller frees it. A configuration
 * that cannot be loaded (l->cfg NULL) is logged, and fails the call (PAM_SERVICE_ERR) for every
 * user but the system accounts of the default configuration (root, uid < 1000): PAM_IGNORE, so
 * that a broken file does not lock them out.
 */
int mod_begin(struct login *l, int argc, const char **argv);

/*
 * The end of a failed step: its PAM code and user message from the one table, one log line
 * (mod_log_error).
 */
int mod_finish(struct login *l, int err);

/*
 * The log line of a failed step without ending the call (mod_finish's, and a failure after
 * which the offline policy answers): its message id from the outcomes table (tls-failure,
 * network-failure, ...; a refusal by phase and step: login-denied, mfa-failed, offline-denied,
 * account-denied, password-change-failed), l->step, Auth0's error and description.
 */
void mod_log_error(const struct login *l, int err);

/*
 * The module's one log line of an outcome (pam_auth0(8), LOGGING):
 *   msgid=ID outcome=O user=U service=S rhost=R step=S error=E result=R description="D"
 * msgid is a stable id of the table there; user, service (PAM_SERVICE), rhost (PAM_RHOST), step,
 * error (Auth0's error code) and result (a0_err_name, or a word) are values without blanks
 * ("-" when NULL or empty; blanks and control characters become '?', bounded); the description
 * is quoted, '"' and '\' escaped, control characters removed, bounded.
 */
void mod_log(const struct login *l, int priority, const char *msgid, enum mod_outcome outcome,
	     const char *step, const char *result, const char *error, const char *description);

/* A message to the user: PAM_ERROR_MSG or PAM_TEXT_INFO. */
void mod_tell(pam_handle_t *pamh, bool error, const char *text);

/*
 * l->http and l->client for the configured tenant; the caller frees l->http. Only in the
 * child process that does a call's network part (netchild.h): never libcurl in the host.
 */
int mod_client_open(struct login *l);

/*
 * session.c, at the end of a successful authentication: the hand-off of the tokens to the
 * process that opens the session. Takes l->cfg when it keeps the hand-off.
 */
void mod_hand_off(struct login *l, const struct a0_tokens *tokens);

/*
 * offline.c: when Auth0 cannot be reached. The offline policy of this login's service.
 */
enum a0_offline_policy mod_offline_policy(const struct login *l);
/*
 * A login while Auth0 cannot be reached, by the service's policy: deny (PAM_AUTHINFO_UNAVAIL,
 * said and logged with the seconds to the next check, wait), or the user's offline verifier
 * (password; breakglass only while a window is open). The PAM code, said and logged.
 */
int mod_offline_login(struct login *l, const char *password, unsigned wait);
/*
 * After an online sign-in's outcome r: on success keep (or refresh) the user's verifier when
 * any service uses offline login; when Auth0 refused the password, or says the user is blocked,
 * forget it. Trouble is logged, never fails the login.
 */
void mod_offline_online(struct login *l, int r, const char *password);

#endif
