/* SPDX-License-Identifier: MIT */
/*
 * What every phase of the module does: the start of each call (configuration, user name,
 * system accounts), the one table that turns a core error into a PAM code and a message to
 * the user, the one format of the "user= step= result=" log lines, and the HTTP client a
 * login talks to Auth0 with. The module keeps no global state; what one login learns lives in
 * pam_set_data (module.h names the items).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/policy.h"
#include "lib/util.h"
#include "pam/module.h"

/*
 * What kind of failure a core error is, which names its log line (mod_log_error): a refusal of
 * the user (by phase and step), or the tenant out of reach (tls-failure, network-failure,
 * tenant-unavailable, rate-limited), or the host's setup (config-error, system-error).
 */
enum kind { K_REFUSED, K_TLS, K_NETWORK, K_TENANT, K_RATE, K_CONFIG, K_SYSTEM };

static const struct {
	const char *msgid;
	enum mod_outcome outcome;
} kinds[] = {
	[K_REFUSED] = { NULL, MOD_DENIED }, /* refused_msgid */
	[K_TLS] = { "tls-failure", MOD_UNAVAILABLE },
	[K_NETWORK] = { "network-failure", MOD_UNAVAILABLE },
	[K_TENANT] = { "tenant-unavailable", MOD_UNAVAILABLE },
	[K_RATE] = { "rate-limited", MOD_UNAVAILABLE },
	[K_CONFIG] = { "config-error", MOD_ERROR },
	[K_SYSTEM] = { "system-error", MOD_ERROR },
};

/* How each core error ends a login: one table, documented in pam_auth0(8). */
static const struct {
	int err;
	int pam;
	enum kind kind;
	const char *tell; /* shown to the user, or NULL */
} outcomes[] = {
	{ A0_ERR_DENIED, PAM_AUTH_ERR, K_REFUSED, NULL },
	{ A0_ERR_REJECTED, PAM_AUTH_ERR, K_REFUSED, "The sign-in request was rejected." },
	{ A0_ERR_NOT_APPROVED, PAM_AUTH_ERR, K_REFUSED, "The sign-in was not approved in time." },
	{ A0_ERR_EXPIRED, PAM_AUTH_ERR, K_REFUSED, "The sign-in took too long. Please try again." },
	{ A0_ERR_NOT_ENROLLED, PAM_AUTH_ERR, K_REFUSED,
	  "Your account has no second factor enrolled that this host accepts. Enroll one by "
	  "signing in to an application of your organisation, then try again." },
	{ A0_ERR_CONV, PAM_AUTH_ERR, K_REFUSED, NULL },
	{ A0_ERR_AUTH0, PAM_AUTH_ERR, K_REFUSED, NULL },
	{ A0_ERR_TOKEN_INVALID, PAM_AUTH_ERR, K_REFUSED,
	  "The sign-in service's answer could not be verified." },
	{ A0_ERR_UNKNOWN_KID, PAM_AUTH_ERR, K_REFUSED,
	  "The sign-in service's answer could not be verified." },
	{ A0_ERR_POLICY, PAM_AUTH_ERR, K_REFUSED, NULL }, /* the policy tells which rule */
	{ A0_ERR_BLOCKED, PAM_PERM_DENIED, K_REFUSED,
	  "Your account is blocked. Contact your administrator." },
	{ A0_ERR_TOO_MANY_ATTEMPTS, PAM_MAXTRIES, K_REFUSED,
	  "Your account is locked after too many failed sign-ins. Check your email or contact "
	  "your administrator." },
	{ A0_ERR_DELAYED, PAM_MAXTRIES, K_REFUSED,
	  "Too many failed sign-ins. Please wait a few minutes and try again." },
	{ A0_ERR_LOCKED, PAM_MAXTRIES, K_REFUSED,
	  "Signing in without the sign-in service is locked after too many failures. It opens "
	  "again after a sign-in while the service can be reached." },
	{ A0_ERR_RATE_LIMITED, PAM_AUTHINFO_UNAVAIL, K_RATE,
	  "Too many sign-ins right now. Please wait a minute and try again." },
	{ A0_ERR_NETWORK, PAM_AUTHINFO_UNAVAIL, K_NETWORK,
	  "The sign-in service cannot be reached." },
	{ A0_ERR_TLS, PAM_AUTHINFO_UNAVAIL, K_TLS, "The sign-in service cannot be reached." },
	{ A0_ERR_TIMEOUT, PAM_AUTHINFO_UNAVAIL, K_NETWORK,
	  "The sign-in service did not answer in time." },
	{ A0_ERR_SERVER, PAM_AUTHINFO_UNAVAIL, K_TENANT, "The sign-in service is unavailable." },
	{ A0_ERR_MALFORMED, PAM_AUTHINFO_UNAVAIL, K_TENANT, "The sign-in service is unavailable." },
	{ A0_ERR_TOO_LARGE, PAM_AUTHINFO_UNAVAIL, K_TENANT, "The sign-in service is unavailable." },
	{ A0_ERR_PENDING, PAM_AUTHINFO_UNAVAIL, K_TENANT, NULL },
	{ A0_ERR_SLOW_DOWN, PAM_AUTHINFO_UNAVAIL, K_TENANT, NULL },
	{ A0_ERR_CLIENT, PAM_SERVICE_ERR, K_CONFIG,
	  "The sign-in service is not set up for this host." },
	{ A0_ERR_CONFIG, PAM_SERVICE_ERR, K_CONFIG, NULL },
	{ A0_ERR_INVALID, PAM_SERVICE_ERR, K_SYSTEM, NULL },
	{ A0_ERR_NOMEM, PAM_BUF_ERR, K_SYSTEM, NULL },
	{ A0_ERR_SYSTEM, PAM_SYSTEM_ERR, K_SYSTEM, NULL },
};

/* Bounds of mod_log's fields: a value without blanks, and the quoted description. */
#define MAX_LOG_FIELD 128
#define MAX_LOG_DESCRIPTION 768

static const char *const outcome_names[] = {
	[MOD_GRANTED] = "granted", [MOD_DENIED] = "denied",   [MOD_UNAVAILABLE] = "unavailable",
	[MOD_ERROR] = "error",     [MOD_IGNORED] = "ignored", [MOD_OK] = "ok",
	[MOD_FAILED] = "failed",   [MOD_EVENT] = "event",
};

void mod_tell(pam_handle_t *pamh, bool error, const char *text)
{
	/* PAM_SILENT is honoured by the caller for info; errors still go to syslog. A message
	 * the application cannot show changes nothing about the login. */
	(void)pam_prompt(pamh, error ? PAM_ERROR_MSG : PAM_TEXT_INFO, NULL, "%s", text);
}

/* A value without blanks: "-" for NULL or empty, else at most MAX_LOG_FIELD - 1 bytes with
 * blanks and control characters as '?'. */
static const char *field(char out[MAX_LOG_FIELD], const char *value)
{
	size_t n;

	if (!value || !value[0])
		return "-";
	n = strnlen(value, MAX_LOG_FIELD - 1);
	memcpy(out, value, n);
	out[n] = '\0';
	a0_text_scrub(out, n, A0_TEXT_NAME);
	return out;
}

/* The description in double quotes: '"' and '\\' escaped, control characters dropped, cut
 * (then "...") to fit out. */
static void quoted(char out[MAX_LOG_DESCRIPTION], const char *text)
{
	static const char more[] = "...";
	size_t o = 0;

	out[o++] = '"';
	for (const char *p = text ? text : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool escape = c == '"' || c == '\\';

		if (c < 0x20 || c == 0x7f)
			continue;
		/* Room for this character, its escape, the "..." and the closing quote and NUL. */
		if (o + (escape ? 2 : 1) + sizeof(more) + 1 > MAX_LOG_DESCRIPTION) {
			memcpy(out + o, more, sizeof(more) - 1);
			o += sizeof(more) - 1;
			break;
		}
		if (escape)
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static const char *item(pam_handle_t *pamh, int type)
{
	const void *value = NULL;

	return pam_get_item(pamh, type, &value) == PAM_SUCCESS ? value : NULL;
}

void mod_log(const struct login *l, int priority, const char *msgid, enum mod_outcome outcome,
	     const char *step, const char *result, const char *error, const char *description)
{
	char user[MAX_LOG_FIELD], service[MAX_LOG_FIELD], rhost[MAX_LOG_FIELD],
		step_v[MAX_LOG_FIELD], error_v[MAX_LOG_FIELD], result_v[MAX_LOG_FIELD],
		text[MAX_LOG_DESCRIPTION];

	quoted(text, description);
	pam_syslog(l->pamh, priority,
		   "msgid=%s outcome=%s user=%s service=%s rhost=%s step=%s error=%s result=%s "
		   "description=%s",
		   msgid, outcome_names[outcome], field(user, l->user),
		   field(service, item(l->pamh, PAM_SERVICE)),
		   field(rhost, item(l->pamh, PAM_RHOST)), field(step_v, step),
		   field(error_v, error), field(result_v, result), text);
}

/* A refusal's message id: by phase, and in authentication by the step that refused. */
static const char *refused_msgid(const struct login *l)
{
	switch (l->phase) {
	case MOD_ACCOUNT:
		return "account-denied";
	case MOD_SESSION:
		return "store-failed";
	case MOD_PASSWORD:
		return "password-change-failed";
	case MOD_AUTH:
		break;
	}
	if (l->step && strcmp(l->step, "offline") == 0)
		return "offline-denied";
	if (l->step && strcmp(l->step, "mfa") == 0)
		return "mfa-failed";
	return "login-denied";
}

/* The outcomes row of err, or NULL (then a refusal, PAM_AUTH_ERR). */
static int outcome_of(int err)
{
	for (size_t i = 0; i < A0_ARRAY_SIZE(outcomes); i++)
		if (outcomes[i].err == err)
			return (int)i;
	return -1;
}

void mod_log_error(const struct login *l, int err)
{
	int i = outcome_of(err);
	enum kind kind = i < 0 ? K_REFUSED : outcomes[i].kind;
	const char *msgid = kind == K_REFUSED ? refused_msgid(l) : kinds[kind].msgid;
	int pam = i < 0 ? PAM_AUTH_ERR : outcomes[i].pam;

	/* Known offline: whatever the error, the offline refusal. */
	if (l->phase == MOD_AUTH && l->step && strcmp(l->step, "offline") == 0)
		msgid = "offline-denied";
	mod_log(l, pam == PAM_AUTH_ERR ? LOG_NOTICE : LOG_ERR, msgid, kinds[kind].outcome, l->step,
		a0_err_name(err), l->res.error, l->res.description);
}

int mod_finish(struct login *l, int err)
{
	int i = outcome_of(err);
	int pam = i < 0 ? PAM_AUTH_ERR : outcomes[i].pam;
	const char *msg = i < 0 ? NULL : outcomes[i].tell;

	if (l->tell)
		msg = l->tell;
	mod_log_error(l, err);
	if (msg)
		mod_tell(l->pamh, true, msg);
	return pam;
}

static bool valid_user(const char *user)
{
	size_t n = strnlen(user, MAX_USER + 1);

	if (n == 0 || n > MAX_USER)
		return false;
	/* No control characters and no blanks: the name goes into mod_log's "key=value" lines,
	 * where a blank could forge fields. No Linux account name has one. */
	return a0_text_ok(user, n, A0_TEXT_NAME);
}

/*
 * The user of this call, when PAM has one with a name mod_log may write (no blanks, no control
 * characters: PAM_SUCCESS), else PAM_USER_UNKNOWN or pam_get_user's code, and l->user NULL.
 */
static int get_user(struct login *l)
{
	char text[128];
	int pam;

	pam = pam_get_user(l->pamh, &l->user, NULL);
	if (pam != PAM_SUCCESS || !l->user) {
		l->user = NULL;
		return pam == PAM_SUCCESS ? PAM_USER_UNKNOWN : pam;
	}
	if (!valid_user(l->user)) {
		l->user = NULL;
		a0_format(text, sizeof(text),
			  "refusing a user name with control characters, blanks or over %d bytes",
			  MAX_USER);
		mod_log(l, LOG_NOTICE, "bad-user-name", MOD_DENIED, "user", "USER_UNKNOWN", NULL,
			text);
		return PAM_USER_UNKNOWN;
	}
	return PAM_SUCCESS;
}

/*
 * The configuration cannot be loaded (err, and what a0_config_load said). Nothing of the module
 * can work, but the host's own system accounts must not depend on it: under a stack whose
 * denials are final ([success=end ignore=ignore default=die]) a broken file would lock root out.
 * A system account by the defaults (a0_policy_system_account with a0_config_defaults: root,
 * uid < 1000; an allowed_users of the broken file is not known) is ignored, and the next module
 * decides; every other user, and a user the account database cannot tell, fails as before.
 */
static int config_failed(struct login *l, int err, const char *message)
{
	struct a0_config *defaults = NULL;
	char reason[256], text[MAX_LOG_DESCRIPTION];
	int pam, r;

	pam = err == A0_ERR_NOMEM ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	r = get_user(l) == PAM_SUCCESS ? a0_config_defaults(&defaults) : A0_ERR_INVALID;
	if (r == 0)
		r = a0_policy_system_account(defaults, l->user, reason, sizeof(reason));
	a0_config_free(defaults);
	if (r == A0_USER_SYSTEM) {
		a0_format(text, sizeof(text), "%s; a system account: ignored", message);
		mod_log(l, LOG_ERR, "config-error", MOD_IGNORED, "config", a0_err_name(err), NULL,
			text);
		return PAM_IGNORE;
	}
	mod_log(l, LOG_ERR, "config-error", MOD_ERROR, "config", a0_err_name(err), NULL, message);
	return pam;
}

int mod_begin(struct login *l, int argc, const char **argv)
{
	char reason[256], err[512] = "";
	int pam, r;

	r = a0_config_load(argc, argv, &l->cfg, err, sizeof(err));
	if (r < 0)
		return config_failed(l, r, err[0] ? err : a0_strerror(r));
	if ((pam = get_user(l)) != PAM_SUCCESS)
		return pam;
	r = a0_policy_system_account(l->cfg, l->user, reason, sizeof(reason));
	if (r < 0) {
		/* It may be a system account or not: neither ignored nor handled. The directory
		 * behind NSS (LDAP, sssd) being out of reach is an unavailable source of
		 * information, as Auth0 out of reach is. */
		mod_log(l, LOG_ERR, "account-lookup-failed", MOD_UNAVAILABLE, "account-lookup",
			a0_err_name(r), NULL, r == A0_ERR_NOMEM ? "out of memory" : reason);
		return r == A0_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
	l->no_account = r == A0_USER_NONE;
	if (r == A0_USER_SYSTEM) {
		if (l->cfg->debug)
			pam_syslog(l->pamh, LOG_DEBUG, "user=%s is a system account: ignored",
				   l->user);
		return PAM_IGNORE;
	}
	return PAM_SUCCESS;
}

int mod_client_open(struct login *l)
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

	if ((r = a0_http_new(&opt, &l->http)) < 0)
		return r;
	l->client.http = l->http;
	l->client.client_id = l->cfg->client_id;
	l->client.client_secret = l->cfg->client_secret;
	/* Auth0 trusts the end user's address only from a confidential client. */
	if (l->cfg->client_secret && pam_get_item(l->pamh, PAM_RHOST, &rhost) == PAM_SUCCESS &&
	    rhost &&
	    (inet_pton(AF_INET, rhost, addr) == 1 || inet_pton(AF_INET6, rhost, addr) == 1))
		r = a0_http_set_forwarded_for(l->http, rhost);
	return r;
}
