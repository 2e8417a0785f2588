/* SPDX-License-Identifier: MIT */
/*
 * pam_auth0: the PAM entry points. This file only talks PAM: it reads the configuration,
 * converses with the user, calls the protocol core in lib/ and turns its errors into PAM codes.
 * It keeps no global state; what one login learns lives in pam_set_data.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "auth0.h"
#include "conf.h"
#include "error.h"
#include "mfa.h"
#include "secret.h"

/* Built with -fvisibility=hidden; export.sym lists the same names. */
#define A0_PUBLIC __attribute__((visibility("default")))

#define DATA_TOKENS "pam_auth0_tokens" /* struct a0_tokens of this login */
#define DATA_DONE "pam_auth0_authenticated" /* the user this handle already signed in */
#define MAX_USER 256
#define MAX_PASSWORD 1024

/* One pam_sm_authenticate call. */
struct login {
	pam_handle_t *pamh;
	struct a0_config *cfg;
	const char *user;
	const char *step;
	struct a0_http *http;
	struct a0_client client;
	struct a0_result res;
};

/* How each core error ends a login: one table, documented in pam_auth0(8). */
static const struct {
	int err;
	int pam;
	const char *tell; /* shown to the user, or NULL */
} outcomes[] = {
	{ A0_ERR_DENIED, PAM_AUTH_ERR, NULL },
	{ A0_ERR_REJECTED, PAM_AUTH_ERR, "The sign-in request was rejected." },
	{ A0_ERR_EXPIRED, PAM_AUTH_ERR, "The sign-in took too long. Please try again." },
	{ A0_ERR_NOT_ENROLLED, PAM_AUTH_ERR, NULL },
	{ A0_ERR_CONV, PAM_AUTH_ERR, NULL },
	{ A0_ERR_AUTH0, PAM_AUTH_ERR, NULL },
	{ A0_ERR_BLOCKED, PAM_PERM_DENIED,
	  "Your account is blocked. Contact your administrator." },
	{ A0_ERR_TOO_MANY_ATTEMPTS, PAM_MAXTRIES,
	  "Your account is locked after too many failed sign-ins. Check your email or contact "
	  "your administrator." },
	{ A0_ERR_RATE_LIMITED, PAM_AUTHINFO_UNAVAIL,
	  "Too many sign-ins right now. Please wait a minute and try again." },
	{ A0_ERR_NETWORK, PAM_AUTHINFO_UNAVAIL, "The sign-in service cannot be reached." },
	{ A0_ERR_TLS, PAM_AUTHINFO_UNAVAIL, "The sign-in service cannot be reached." },
	{ A0_ERR_TIMEOUT, PAM_AUTHINFO_UNAVAIL, "The sign-in service did not answer in time." },
	{ A0_ERR_SERVER, PAM_AUTHINFO_UNAVAIL, "The sign-in service is unavailable." },
	{ A0_ERR_MALFORMED, PAM_AUTHINFO_UNAVAIL, "The sign-in service is unavailable." },
	{ A0_ERR_TOO_LARGE, PAM_AUTHINFO_UNAVAIL, "The sign-in service is unavailable." },
	{ A0_ERR_PENDING, PAM_AUTHINFO_UNAVAIL, NULL },
	{ A0_ERR_SLOW_DOWN, PAM_AUTHINFO_UNAVAIL, NULL },
	{ A0_ERR_CLIENT, PAM_SERVICE_ERR, "The sign-in service is not set up for this host." },
	{ A0_ERR_CONFIG, PAM_SERVICE_ERR, NULL },
	{ A0_ERR_INVALID, PAM_SERVICE_ERR, NULL },
	{ A0_ERR_NOMEM, PAM_BUF_ERR, NULL },
	{ A0_ERR_SYSTEM, PAM_SYSTEM_ERR, NULL },
};

static void tell(pam_handle_t *pamh, bool error, const char *text)
{
	/* PAM_SILENT is honoured by the caller for info; errors still go to syslog. */
	pam_prompt(pamh, error ? PAM_ERROR_MSG : PAM_TEXT_INFO, NULL, "%s", text);
}

static int finish(struct login *l, int err)
{
	int pam = PAM_AUTH_ERR;
	const char *msg = NULL;

	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		if (outcomes[i].err == err) {
			pam = outcomes[i].pam;
			msg = outcomes[i].tell;
		}
	}
	pam_syslog(l->pamh, pam == PAM_AUTH_ERR ? LOG_NOTICE : LOG_ERR,
		   "user=%s step=%s result=%s error=%s description=%s", l->user, l->step,
		   a0_err_name(err), l->res.error[0] ? l->res.error : "-",
		   l->res.description[0] ? l->res.description : "-");
	if (msg)
		tell(l->pamh, true, msg);
	return pam;
}

static void cleanup_tokens(pam_handle_t *pamh, void *data, int status)
{
	a0_tokens_free(data);
}

static void cleanup_string(pam_handle_t *pamh, void *data, int status)
{
	free(data);
}

static int load_config(pam_handle_t *pamh, int argc, const char **argv, struct a0_config **ret)
{
	char err[512] = "";
	int r;

	r = a0_config_load(argc, argv, ret, err, sizeof(err));
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "configuration: %s", err[0] ? err : a0_strerror(r));
		return r == A0_ERR_NOMEM ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

static bool valid_user(const char *user)
{
	size_t n = strnlen(user, MAX_USER + 1);

	if (n == 0 || n > MAX_USER)
		return false;
	for (; *user; user++)
		if ((unsigned char)*user < 0x20 || *user == 0x7f)
			return false;
	return true;
}

/* The password: the stacked PAM_AUTHTOK per use_first_pass/try_first_pass, else a prompt. */
static int get_password(struct login *l, const char **ret)
{
	const void *item = NULL;
	char *reply = NULL;
	int r;

	if (l->cfg->use_first_pass || l->cfg->try_first_pass) {
		r = pam_get_item(l->pamh, PAM_AUTHTOK, &item);
		if (r == PAM_SUCCESS && item) {
			*ret = item;
			return PAM_SUCCESS;
		}
		if (l->cfg->use_first_pass)
			return PAM_AUTH_ERR;
	}
	r = pam_prompt(l->pamh, PAM_PROMPT_ECHO_OFF, &reply, "Password: ");
	if (r != PAM_SUCCESS || !reply) {
		a0_secret_free(reply);
		return r == PAM_SUCCESS ? PAM_CONV_ERR : r;
	}
	/* Later modules (pam_unix for a local fallback, pam_gnome_keyring) get it too. */
	r = pam_set_item(l->pamh, PAM_AUTHTOK, reply);
	a0_secret_free(reply);
	if (r != PAM_SUCCESS)
		return r;
	r = pam_get_item(l->pamh, PAM_AUTHTOK, &item);
	if (r != PAM_SUCCESS || !item)
		return PAM_AUTH_ERR;
	*ret = item;
	return PAM_SUCCESS;
}

static int conv_ask(void *ctx, bool echo, const char *prompt, char **ret_reply)
{
	char *reply = NULL;
	int r;

	r = pam_prompt(ctx, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, &reply, "%s", prompt);
	if (r != PAM_SUCCESS || !reply) {
		a0_secret_free(reply);
		return A0_ERR_CONV;
	}
	if (strlen(reply) > MAX_PASSWORD) {
		a0_secret_free(reply);
		return A0_ERR_CONV;
	}
	*ret_reply = reply;
	return 0;
}

static void conv_tell(void *ctx, bool error, const char *text)
{
	tell(ctx, error, text);
}

/* sshd sets PAM_TTY to "ssh" while it authenticates; its service name may differ. */
static bool is_sshd(pam_handle_t *pamh)
{
	const void *service = NULL, *tty = NULL;

	pam_get_item(pamh, PAM_SERVICE, &service);
	pam_get_item(pamh, PAM_TTY, &tty);
	return (service && strcmp(service, "sshd") == 0) || (tty && strcmp(tty, "ssh") == 0);
}

static int client_open(struct login *l)
{
	struct a0_http_options opt = {
		.domain = l->cfg->domain,
		.ca_file = l->cfg->ca_file,
		.proxy = l->cfg->proxy,
		.timeout = l->cfg->timeout,
	};
	const void *rhost = NULL;
	unsigned char addr[16];
	int r;

	r = a0_http_new(&opt, &l->http);
	if (r < 0)
		return r;
	l->client.http = l->http;
	l->client.client_id = l->cfg->client_id;
	l->client.client_secret = l->cfg->client_secret;
	/* Auth0 trusts the end user's address only from a confidential client. */
	if (l->cfg->client_secret && pam_get_item(l->pamh, PAM_RHOST, &rhost) == PAM_SUCCESS &&
	    rhost && (inet_pton(AF_INET, rhost, addr) == 1 || inet_pton(AF_INET6, rhost, addr) == 1))
		r = a0_http_set_forwarded_for(l->http, rhost);
	return r;
}

static int sign_in(struct login *l, const char *password, struct a0_tokens **ret)
{
	struct a0_prompter prompter = {
		.ctx = l->pamh,
		.ask = conv_ask,
		.tell = conv_tell,
	};
	char *username = NULL, *mfa_token;
	int r;

	r = a0_config_username(l->cfg, l->user, &username);
	if (r < 0)
		return r;
	l->step = "password-realm";
	r = a0_grant_password_realm(&l->client, l->cfg, username, password, ret, &l->res);
	free(username);
	if (r != A0_ERR_MFA_REQUIRED)
		return r;

	l->step = "mfa";
	switch (l->cfg->push_prompt) {
	case A0_PUSH_PROMPT_AUTO:
		prompter.ack_messages = is_sshd(l->pamh);
		break;
	case A0_PUSH_PROMPT_ENTER:
		prompter.ack_messages = true;
		break;
	case A0_PUSH_PROMPT_NONE:
		break;
	}
	mfa_token = l->res.mfa_token;
	l->res.mfa_token = NULL;
	r = a0_mfa_complete(&l->client, l->cfg, mfa_token, &prompter, ret, &l->res);
	a0_secret_free(mfa_token);
	return r;
}

static bool already_signed_in(pam_handle_t *pamh, const char *user)
{
	const void *done = NULL;

	return pam_get_data(pamh, DATA_DONE, &done) == PAM_SUCCESS && done &&
	       strcmp(done, user) == 0;
}

static int remember(struct login *l, struct a0_tokens *tokens)
{
	char *done = strdup(l->user);
	int r;

	r = pam_set_data(l->pamh, DATA_TOKENS, tokens, cleanup_tokens);
	if (r != PAM_SUCCESS) {
		a0_tokens_free(tokens);
		free(done);
		return r;
	}
	if (!done)
		return PAM_BUF_ERR;
	r = pam_set_data(l->pamh, DATA_DONE, done, cleanup_string);
	if (r != PAM_SUCCESS)
		free(done);
	return r;
}

A0_PUBLIC int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = { .pamh = pamh, .step = "start", .res = { .retry_after = -1 } };
	struct a0_tokens *tokens = NULL;
	const char *password = NULL;
	int pam, r;

	pam = load_config(pamh, argc, argv, &l.cfg);
	if (pam != PAM_SUCCESS)
		return pam;
	pam = pam_get_user(pamh, &l.user, NULL);
	if (pam != PAM_SUCCESS || !l.user) {
		pam = pam == PAM_SUCCESS ? PAM_USER_UNKNOWN : pam;
		goto out;
	}
	if (!valid_user(l.user)) {
		pam_syslog(pamh, LOG_NOTICE, "refusing a user name with control characters or "
					     "over %d bytes", MAX_USER);
		pam = PAM_USER_UNKNOWN;
		goto out;
	}
	/* sshd may run the auth stack twice (password then keyboard-interactive): ask once. */
	if (already_signed_in(pamh, l.user)) {
		if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG, "user=%s already signed in by this handle",
				   l.user);
		pam = PAM_SUCCESS;
		goto out;
	}
	pam = get_password(&l, &password);
	if (pam != PAM_SUCCESS)
		goto out;
	if (*password == '\0' || strlen(password) > MAX_PASSWORD) {
		pam_syslog(pamh, LOG_NOTICE, "user=%s step=password result=DENIED "
					     "description=empty or over-long password", l.user);
		pam = PAM_AUTH_ERR;
		goto out;
	}
	r = client_open(&l);
	if (r == 0)
		r = sign_in(&l, password, &tokens);
	if (r < 0) {
		pam = finish(&l, r);
		goto out;
	}
	pam = remember(&l, tokens);
	if (pam == PAM_SUCCESS)
		pam_syslog(pamh, LOG_INFO, "user=%s signed in with Auth0", l.user);
out:
	a0_result_clear(&l.res);
	a0_http_free(l.http);
	a0_config_free(l.cfg);
	return pam;
}

A0_PUBLIC int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* Like pam_unix: sshd (keyboard-interactive) and su end a login when no auth module's
	 * setcred succeeds. */
	return PAM_SUCCESS;
}

A0_PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

A0_PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

A0_PUBLIC int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

A0_PUBLIC int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}
