/* SPDX-License-Identifier: MIT */
/*
 * pam_auth0: the PAM entry points. This file only talks PAM: it reads the configuration,
 * converses with the user, calls the protocol core in lib/ and turns its errors into PAM codes.
 * It keeps no global state; what one login learns lives in pam_set_data.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/idtoken.h"
#include "keyring/login.h"
#include "lib/mfa.h"
#include "lib/policy.h"
#include "lib/priv.h"
#include "lib/secret.h"
#include "keyring/store.h"

/* Built with -fvisibility=hidden; export.sym lists the same names. */
#define A0_PUBLIC __attribute__((visibility("default")))

#define DATA_TOKENS "pam_auth0_tokens" /* struct a0_tokens of this login */
#define DATA_DONE "pam_auth0_authenticated" /* the user this handle already signed in */
#define DATA_CLAIMS "pam_auth0_claims" /* cJSON: the verified ID token's claims, for acct_mgmt */
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
	const char *tell; /* a message chosen by the failed step, over the table's */
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
	{ A0_ERR_NOT_ENROLLED, PAM_AUTH_ERR,
	  "Your account has no second factor enrolled that this host accepts. Enroll one by "
	  "signing in to an application of your organisation, then try again." },
	{ A0_ERR_CONV, PAM_AUTH_ERR, NULL },
	{ A0_ERR_AUTH0, PAM_AUTH_ERR, NULL },
	{ A0_ERR_TOKEN_INVALID, PAM_AUTH_ERR,
	  "The sign-in service's answer could not be verified." },
	{ A0_ERR_UNKNOWN_KID, PAM_AUTH_ERR,
	  "The sign-in service's answer could not be verified." },
	{ A0_ERR_POLICY, PAM_AUTH_ERR, NULL }, /* the policy tells which rule */
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
	if (l->tell)
		msg = l->tell;
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

static void cleanup_claims(pam_handle_t *pamh, void *data, int status)
{
	a0_json_free(data);
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
	/* No control characters and no blanks: the name goes into "user=%s step=..." log lines,
	 * where a blank could forge fields. No Linux account name has one. */
	for (; *user; user++)
		if ((unsigned char)*user <= 0x20 || *user == 0x7f)
			return false;
	return true;
}

/*
 * Every entry point that does anything starts here, before any prompt but the user name's
 * and before any network: the configuration, the user, and PAM_IGNORE for the system
 * accounts that must never depend on Auth0 (root, uid < min_uid). l->cfg is set even on
 * failure when the configuration loaded; the caller frees it.
 */
static int begin(struct login *l, int argc, const char **argv)
{
	int pam;

	pam = load_config(l->pamh, argc, argv, &l->cfg);
	if (pam != PAM_SUCCESS)
		return pam;
	pam = pam_get_user(l->pamh, &l->user, NULL);
	if (pam != PAM_SUCCESS || !l->user)
		return pam == PAM_SUCCESS ? PAM_USER_UNKNOWN : pam;
	if (!valid_user(l->user)) {
		pam_syslog(l->pamh, LOG_NOTICE, "refusing a user name with control characters, blanks or "
						"over %d bytes", MAX_USER);
		return PAM_USER_UNKNOWN;
	}
	if (a0_policy_skip_user(l->cfg, l->user)) {
		if (l->cfg->debug)
			pam_syslog(l->pamh, LOG_DEBUG, "user=%s is a system account: ignored",
				   l->user);
		return PAM_IGNORE;
	}
	return PAM_SUCCESS;
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

/* Who did Auth0 sign in, and may they use this account? 0 and the verified claims. */
static int check_identity(struct login *l, const struct a0_tokens *tokens, cJSON **ret_claims)
{
	const struct a0_id_token_check check = {
		.domain = l->cfg->domain,
		.client_id = l->cfg->client_id,
		.cache_dir = l->cfg->cache_dir,
		.jwks_ttl = l->cfg->jwks_ttl,
		.leeway = l->cfg->clock_skew,
	};
	cJSON *claims = NULL;
	int r;

	a0_result_clear(&l->res);
	l->step = "id-token";
	/* Without an ID token nobody says who signed in: a correct password for any account
	 * must not open this one. */
	if (!tokens->id_token) {
		snprintf(l->res.description, sizeof(l->res.description),
			 "the tenant sent no id_token (scope '%s')", l->cfg->scope);
		l->tell = "The sign-in service did not say who signed in.";
		return A0_ERR_TOKEN_INVALID;
	}
	r = a0_id_token_verify(l->http, &check, tokens->id_token, time(NULL), &claims,
			       l->res.description, sizeof(l->res.description));
	if (r < 0)
		return r;
	l->step = "policy";
	r = a0_policy_check(l->cfg, l->user, claims, &l->tell, l->res.description,
			    sizeof(l->res.description));
	if (r < 0) {
		a0_json_free(claims);
		return r;
	}
	*ret_claims = claims;
	return 0;
}

/* acct_mgmt re-checks the policy on these claims, for whatever PAM_USER is by then. */
static int remember_claims(struct login *l, cJSON *claims)
{
	int r = pam_set_data(l->pamh, DATA_CLAIMS, claims, cleanup_claims);

	if (r != PAM_SUCCESS)
		a0_json_free(claims);
	return r;
}

/*
 * ---- Credentials in the kernel keyring ----
 * The logic is in keyring/login.c (its header explains the hand-off); this part keeps what
 * one process learns in pam_set_data and talks to syslog. sshd runs pam_authenticate
 * (keyboard-interactive) in a forked child and setcred/open_session/close_session in its
 * parent, then setcred again in the session child: every phase here works from whatever this
 * process has, the tokens of an authentication it ran or the hand-off named in the PAM
 * environment.
 */

#define DATA_HANDOFF "pam_auth0_handoff" /* struct handoff: the hand-off this process made */
#define DATA_RECORD "pam_auth0_record"   /* struct taken: this login's record for the session */
#define DATA_STORED "pam_auth0_stored"   /* struct stored: where the record went */

struct handoff {
	char handle[A0_HANDOFF_HANDLE_LEN + 1]; /* "" once taken or dropped */
	key_serial_t auth_keyring;              /* the session keyring authentication ran in */
	struct a0_config *cfg;                  /* the authentication's, to revoke it unused */
	char user[MAX_USER + 1];
	uid_t uid;
	gid_t gid;
	pid_t pid; /* of the process that made it */
};

struct taken {
	struct a0_record *record;
	key_serial_t auth_keyring;
};

struct stored {
	struct a0_stored at;
	pid_t pid;
};

/* pam_end in a forked child's copy (PAM_DATA_SILENT) or another process leaves keys alone. */
static bool ours_to_clean(const pid_t pid, int status)
{
	return !(status & PAM_DATA_SILENT) && pid == getpid();
}

static void revoke_refresh_token(struct login *l, const char *refresh_token);

/*
 * This process's hand-off, when no session took it (none in this process, none in another
 * through the PAM environment): its key goes now rather than at its timeout, and its refresh
 * token, which nothing holds any more, is revoked (revoke_on_logout). Auth0 keeps 200 active
 * refresh tokens per user and application and revokes the oldest beyond that: unused ones
 * (a screen locker's sign-ins, sudo's) would in time evict the one a login session renews with.
 */
static void end_unused_handoff(pam_handle_t *pamh, struct handoff *h)
{
	struct a0_user u = { h->user, h->uid, h->gid };
	struct a0_record *record = NULL;

	if (!h->handle[0])
		return;
	if (!h->cfg || !h->cfg->revoke_on_logout) {
		a0_handoff_drop(&u, h->handle); /* no need to read the tokens */
	} else if (a0_handoff_take(&u, h->handle, &record, NULL) == 0 && record->refresh_token) {
		struct login l = { .pamh = pamh, .cfg = h->cfg, .user = h->user };

		revoke_refresh_token(&l, record->refresh_token);
	}
	a0_record_free(record);
	h->handle[0] = '\0';
}

static void cleanup_handoff(pam_handle_t *pamh, void *data, int status)
{
	struct handoff *h = data;

	if (ours_to_clean(h->pid, status))
		end_unused_handoff(pamh, h);
	a0_config_free(h->cfg);
	explicit_bzero(h, sizeof(*h));
	free(h);
}

static void cleanup_taken(pam_handle_t *pamh, void *data, int status)
{
	struct taken *t = data;

	a0_record_free(t->record);
	free(t);
}

static void cleanup_stored(pam_handle_t *pamh, void *data, int status)
{
	struct stored *s = data;

	/* Our extra reference only: the record stays with its session. */
	if (ours_to_clean(s->pid, status))
		a0_login_unpin(&s->at);
	free(s);
}

static const void *get_data(pam_handle_t *pamh, const char *name)
{
	const void *data = NULL;

	return pam_get_data(pamh, name, &data) == PAM_SUCCESS ? data : NULL;
}

/* The local account; NULL when there is none (then there is no session to give keys to). */
static bool local_user(pam_handle_t *pamh, const char *user, struct a0_user *ret)
{
	const struct passwd *pw = pam_modutil_getpwnam(pamh, user);

	if (!pw)
		return false;
	ret->name = pw->pw_name;
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	return true;
}

static void log_keyring(const struct login *l, int priority, const char *step, int err,
			const char *what)
{
	pam_syslog(l->pamh, priority, "user=%s step=%s result=%s description=%s", l->user, step,
		   a0_err_name(err), what);
}

/*
 * End of a successful authentication: the hand-off key and its handle in the PAM environment.
 * A failure costs only the hand-off: a session opened in this process still gets the tokens.
 */
static void hand_off(struct login *l, const struct a0_tokens *tokens)
{
	char env[sizeof(A0_HANDOFF_ENV) + A0_HANDOFF_HANDLE_LEN + 1];
	struct a0_record *record = NULL;
	struct handoff *h;
	struct a0_user u;
	int r;

	if (!local_user(l->pamh, l->user, &u)) {
		if (l->cfg->debug)
			pam_syslog(l->pamh, LOG_DEBUG, "user=%s has no local account: no hand-off",
				   l->user);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return;
	h->auth_keyring = a0_login_current_session();
	snprintf(h->user, sizeof(h->user), "%s", u.name);
	u.name = h->user;
	h->uid = u.uid;
	h->gid = u.gid;
	h->pid = getpid();
	r = a0_record_from_tokens(tokens, l->cfg, time(NULL), &record);
	if (r == 0)
		r = a0_handoff_put(&u, record, h->auth_keyring, h->handle);
	a0_record_free(record);
	if (r < 0) {
		log_keyring(l, LOG_WARNING, "handoff", r,
			    "no hand-off: only a session opened by this process gets the tokens");
		h->handle[0] = '\0';
	} else {
		snprintf(env, sizeof(env), "%s=%s", A0_HANDOFF_ENV, h->handle);
		if (pam_putenv(l->pamh, env) != PAM_SUCCESS) {
			a0_handoff_drop(&u, h->handle);
			h->handle[0] = '\0';
		}
	}
	if (pam_set_data(l->pamh, DATA_HANDOFF, h, cleanup_handoff) != PAM_SUCCESS) {
		cleanup_handoff(l->pamh, h, 0);
		pam_putenv(l->pamh, A0_HANDOFF_ENV);
		return;
	}
	h->cfg = l->cfg; /* the hand-off's from now on */
	l->cfg = NULL;
}

static const struct taken *keep_record(struct login *l, struct a0_record *record,
				       key_serial_t auth_keyring)
{
	struct taken *t = calloc(1, sizeof(*t));

	if (!t) {
		a0_record_free(record);
		return NULL;
	}
	t->record = record;
	t->auth_keyring = auth_keyring;
	if (pam_set_data(l->pamh, DATA_RECORD, t, cleanup_taken) != PAM_SUCCESS) {
		cleanup_taken(l->pamh, t, 0);
		return NULL;
	}
	return t;
}

/*
 * This login's record in this process: from DATA_RECORD, or made from the tokens of an
 * authentication this process ran, or taken from the hand-off the PAM environment names. The
 * variable leaves the PAM environment here, whatever happens, so the user's shell never gets it.
 */
static const struct taken *login_record(struct login *l, const struct a0_user *u)
{
	const struct a0_tokens *tokens = get_data(l->pamh, DATA_TOKENS);
	const struct taken *t = get_data(l->pamh, DATA_RECORD);
	/* Ours to mark as dealt with: pam_get_data hands out const pointers only. */
	struct handoff *h = (struct handoff *)(uintptr_t)get_data(l->pamh, DATA_HANDOFF);
	const char *env = pam_getenv(l->pamh, A0_HANDOFF_ENV);
	char handle[A0_HANDOFF_HANDLE_LEN + 1] = "";
	struct a0_record *record = NULL;
	key_serial_t auth_keyring = h ? h->auth_keyring : 0;
	int r;

	if (env) {
		if (a0_handoff_valid(env))
			memcpy(handle, env, sizeof(handle));
		pam_putenv(l->pamh, A0_HANDOFF_ENV);
	}
	if (h && handle[0] && strcmp(h->handle, handle) == 0)
		h->handle[0] = '\0'; /* dealt with below */
	if (handle[0] && (t || tokens)) {
		a0_handoff_drop(u, handle); /* this process has the tokens already */
	} else if (handle[0]) {
		r = a0_handoff_take(u, handle, &record, &auth_keyring);
		if (r == 0)
			return keep_record(l, record, auth_keyring);
		log_keyring(l, LOG_WARNING, "handoff", r,
			    r == A0_ERR_NOT_FOUND
				    ? "the hand-off is gone (over its timeout?): no credentials"
				    : "the hand-off could not be taken: no credentials");
		return NULL;
	} else if (env) {
		log_keyring(l, LOG_WARNING, "handoff", A0_ERR_INVALID, "malformed hand-off handle");
	}
	if (t || !tokens)
		return t;
	r = a0_record_from_tokens(tokens, l->cfg, time(NULL), &record);
	if (r < 0) {
		log_keyring(l, LOG_ERR, "store", r, "cannot make the record");
		return NULL;
	}
	return keep_record(l, record, auth_keyring);
}

/*
 * A session for another user than the one this handle signed in: sudo and su authenticate the
 * caller, then set PAM_USER to the target user for setcred and open_session. The caller's
 * tokens are not the target's to keep (another user's processes could read a record stored for
 * them; root's session is not ours at all). This process's hand-off, which no session will take
 * now, ends at once (end_unused_handoff: its refresh token is revoked): sudo ends PAM with
 * PAM_DATA_SILENT, which leaves it to its timeout otherwise. Its handle leaves the PAM
 * environment, which sudo passes on to the command.
 */
static bool session_of_another_user(struct login *l)
{
	const char *done = get_data(l->pamh, DATA_DONE);
	struct handoff *h = (struct handoff *)(uintptr_t)get_data(l->pamh, DATA_HANDOFF);

	if (!done || !l->user || strcmp(done, l->user) == 0)
		return false;
	if (h && h->pid == getpid())
		end_unused_handoff(l->pamh, h);
	pam_putenv(l->pamh, A0_HANDOFF_ENV);
	if (l->cfg && l->cfg->debug)
		pam_syslog(l->pamh, LOG_DEBUG,
			   "user=%s: the session is not for %s, whom Auth0 signed in: the "
			   "credentials are not kept",
			   l->user, done);
	return true;
}

/*
 * setcred (ESTABLISH, REINITIALIZE) and open_session: store the record, once per keyring.
 * PAM_IGNORE for a system account (and an open_session with nothing to store), else success.
 * Before pam_keyinit has made the login's session keyring (sshd calls setcred first) the
 * session keyring is refused quietly: open_session comes next and says why if it refuses too.
 * Nothing here fails the login.
 */
static int store_record(pam_handle_t *pamh, int argc, const char **argv, bool opening)
{
	struct login l = { .pamh = pamh };
	const struct stored *old;
	const struct taken *t;
	struct a0_stored at;
	struct stored *s;
	struct a0_user u;
	char why[512];
	int pam, r;

	pam = begin(&l, argc, argv);
	if ((pam == PAM_SUCCESS || pam == PAM_IGNORE) && session_of_another_user(&l)) {
		pam = opening ? PAM_IGNORE : PAM_SUCCESS;
		goto out;
	}
	if (pam != PAM_SUCCESS)
		goto out;
	if (!local_user(pamh, l.user, &u) || !(t = login_record(&l, &u))) {
		/* Not signed in by this module: nothing to store. setcred still succeeds. */
		pam = opening ? PAM_IGNORE : PAM_SUCCESS;
		goto out;
	}
	old = get_data(pamh, DATA_STORED);
	if (old && (l.cfg->keyring == A0_KEYRING_USER ||
		    old->at.keyring == a0_login_current_session())) {
		if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG, "user=%s already stored in keyring %d", l.user,
				   (int)old->at.keyring);
		goto out;
	}
	r = a0_login_store(&u, l.cfg->keyring, t->auth_keyring, t->record,
			   a0_record_timeout(t->record, time(NULL)), &at, why, sizeof(why));
	if (r == A0_ERR_NOT_FOUND) {
		if (opening)
			pam_syslog(pamh, LOG_ERR,
				   "user=%s step=store result=NOT_STORED description=%s; the "
				   "credentials are not kept: put 'session required pam_keyinit.so "
				   "force revoke' before pam_auth0 in the session stack",
				   l.user, why);
		else if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG, "user=%s not storing yet: %s", l.user, why);
		goto out;
	}
	if (r < 0) {
		log_keyring(&l, LOG_ERR, "store", r,
			    r == A0_ERR_STORE
				    ? "the user's key quota (/proc/sys/kernel/keys/maxbytes, "
				      "maxkeys) is full: the credentials are not kept"
				    : "the credentials are not kept");
		goto out;
	}
	/* A record in an earlier session keyring of this handle was the caller's, not ours. */
	if (old)
		a0_login_discard(&u, &old->at);
	s = calloc(1, sizeof(*s));
	if (s) {
		s->at = at;
		s->pid = getpid();
	}
	if (!s || pam_set_data(pamh, DATA_STORED, s, cleanup_stored) != PAM_SUCCESS) {
		/* Stored, but logout will not find the pin: it falls back to the login's token. */
		free(s);
		a0_login_unpin(&at);
	}
	pam_syslog(pamh, LOG_INFO, "user=%s stored credentials in the %s keyring %d", l.user,
		   l.cfg->keyring == A0_KEYRING_USER ? "user" : "session", (int)at.keyring);
out:
	a0_config_free(l.cfg);
	return pam;
}

/* The refresh token to revoke at logout: the record as it is now, else the login's. */
static char *refresh_token_now(struct login *l, const struct a0_user *u, const struct stored *s,
			       const struct taken *t)
{
	struct a0_record *now = NULL;
	char *rt = NULL;

	if ((s && a0_login_current(u, &s->at, &now) == 0) ||
	    (!s && a0_login_find(u, l->cfg->keyring, t ? t->auth_keyring : 0, &now) == 0)) {
		rt = now->refresh_token;
		now->refresh_token = NULL;
		a0_record_free(now);
	}
	if (!rt && t && t->record->refresh_token)
		rt = a0_secret_dup(t->record->refresh_token);
	return rt;
}

static void revoke_refresh_token(struct login *l, const char *refresh_token)
{
	int r;

	l->step = "revoke";
	l->res.retry_after = -1;
	r = client_open(l);
	if (r == 0)
		r = a0_revoke(&l->client, refresh_token, &l->res);
	if (r < 0)
		pam_syslog(l->pamh, LOG_WARNING,
			   "user=%s step=revoke result=%s error=%s description=%s; logout goes on",
			   l->user, a0_err_name(r), l->res.error[0] ? l->res.error : "-",
			   l->res.description[0] ? l->res.description : "-");
	else
		pam_syslog(l->pamh, LOG_INFO, "user=%s revoked the refresh token at Auth0",
			   l->user);
	a0_result_clear(&l->res);
	a0_http_free(l->http);
	l->http = NULL;
}

/*
 * close_session (logout: revoke) and setcred(DELETE_CRED): remove the login's keys. The
 * record is read through its pin: pam_keyinit's close_session has revoked the session keyring
 * by now, and the helper may have rotated the refresh token since the login.
 */
static int remove_record(pam_handle_t *pamh, int argc, const char **argv, bool logout)
{
	struct login l = { .pamh = pamh };
	const struct stored *s;
	const struct taken *t;
	struct a0_user u;
	char *rt = NULL;
	int pam, r;

	pam = begin(&l, argc, argv);
	/* Nothing was stored for it, and the caller's login is not its to revoke. */
	if ((pam == PAM_SUCCESS || pam == PAM_IGNORE) && session_of_another_user(&l))
		goto out;
	if (pam != PAM_SUCCESS || !local_user(pamh, l.user, &u))
		goto out;
	t = login_record(&l, &u);
	s = get_data(pamh, DATA_STORED);
	if (logout && l.cfg->revoke_on_logout)
		rt = refresh_token_now(&l, &u, s, t);
	r = a0_login_forget(&u, l.cfg->keyring, t ? t->auth_keyring : 0, s ? &s->at : NULL);
	if (r < 0)
		log_keyring(&l, LOG_ERR, logout ? "logout" : "delete-cred", r,
			    "the credentials could not all be removed");
	if (s)
		pam_set_data(pamh, DATA_STORED, NULL, NULL);
	if (rt)
		revoke_refresh_token(&l, rt);
	a0_secret_free(rt);
	/* Revoked or not, this process is done with the login's refresh token. */
	if (logout && t)
		a0_secret_clear(&((struct taken *)(uintptr_t)t)->record->refresh_token);
out:
	a0_config_free(l.cfg);
	return pam == PAM_IGNORE ? PAM_IGNORE : PAM_SUCCESS;
}

A0_PUBLIC int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = { .pamh = pamh, .step = "start", .res = { .retry_after = -1 } };
	struct a0_tokens *tokens = NULL;
	const char *password = NULL;
	cJSON *claims = NULL;
	int pam, r;

	pam = begin(&l, argc, argv);
	if (pam != PAM_SUCCESS)
		goto out;
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
	if (r == 0)
		r = check_identity(&l, tokens, &claims);
	if (r < 0) {
		a0_tokens_free(tokens);
		pam = finish(&l, r);
		goto out;
	}
	pam = remember_claims(&l, claims);
	if (pam == PAM_SUCCESS)
		pam = remember(&l, tokens);
	else
		a0_tokens_free(tokens);
	if (pam == PAM_SUCCESS) {
		pam_syslog(pamh, LOG_INFO, "user=%s signed in with Auth0", l.user);
		hand_off(&l, tokens);
	}
out:
	a0_result_clear(&l.res);
	a0_http_free(l.http);
	a0_config_free(l.cfg);
	return pam;
}

A0_PUBLIC int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int pam;

	if (flags & PAM_DELETE_CRED)
		pam = remove_record(pamh, argc, argv, false);
	else if (flags & (PAM_ESTABLISH_CRED | PAM_REINITIALIZE_CRED))
		pam = store_record(pamh, argc, argv, false);
	else
		pam = PAM_SUCCESS; /* PAM_REFRESH_CRED: the helper refreshes, not the module */
	if (pam == PAM_IGNORE)
		return PAM_IGNORE; /* a system account: not ours */
	/* Like pam_unix: sshd (keyboard-interactive) and su end a login when no auth module's
	 * setcred succeeds. */
	return PAM_SUCCESS;
}

/*
 * The policy on this handle's verified claims, against PAM_USER as it is now. A handle that
 * Auth0 did not sign in (ssh keys, another auth module, or authentication in another process)
 * has nothing to check: account_without_auth0 says whether that is ignored or denied.
 */
A0_PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = { .pamh = pamh, .step = "account", .res = { .retry_after = -1 } };
	const void *claims = NULL;
	int pam, r;

	pam = begin(&l, argc, argv);
	if (pam != PAM_SUCCESS)
		goto out;
	if (pam_get_data(pamh, DATA_CLAIMS, &claims) != PAM_SUCCESS || !claims) {
		if (l.cfg->account_without_auth0 == A0_ACCOUNT_IGNORE) {
			pam = PAM_IGNORE;
			goto out;
		}
		pam_syslog(pamh, LOG_NOTICE, "user=%s step=account result=DENIED description=not "
					     "signed in with Auth0 (account_without_auth0 = deny)",
			   l.user);
		pam = PAM_PERM_DENIED;
		goto out;
	}
	r = a0_policy_check(l.cfg, l.user, claims, &l.tell, l.res.description,
			    sizeof(l.res.description));
	pam = r < 0 ? finish(&l, r) : PAM_SUCCESS;
out:
	a0_config_free(l.cfg);
	return pam;
}

A0_PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return store_record(pamh, argc, argv, true);
}

A0_PUBLIC int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return remove_record(pamh, argc, argv, true);
}

A0_PUBLIC int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}
