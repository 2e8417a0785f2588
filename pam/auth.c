/* SPDX-License-Identifier: MIT */
/*
 * Authentication: pam_sm_authenticate and its steps, in order: the password (stacked or
 * prompted), the sign-in at Auth0 (password-realm grant, then MFA when the tenant asks for it)
 * and the ID token's verification, both in a child process (netchild.h: sign_in_job; the MFA
 * flow's prompts come back to this process's PAM conversation), the policy, and what a
 * successful sign-in leaves on the handle for the later phases (the claims for acct_mgmt, the
 * tokens and the hand-off for the session). Also pam_sm_chauthtok: the password this file
 * checks is Auth0's, which the module never changes here; it has Auth0 mail the user a link.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/device.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/guard.h"
#include "lib/http.h"
#include "lib/identities.h"
#include "lib/idtoken.h"
#include "lib/json.h"
#include "lib/mfa.h"
#include "lib/outage.h"
#include "lib/passwordless.h"
#include "lib/policy.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "pam/module.h"
#include "pam/netchild.h"

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

/* sshd sets PAM_TTY to "ssh" while it authenticates; its service name may differ. */
static bool is_sshd(pam_handle_t *pamh)
{
	const void *service = NULL, *tty = NULL;

	/* An item PAM cannot give stays NULL: not sshd. */
	(void)pam_get_item(pamh, PAM_SERVICE, &service);
	(void)pam_get_item(pamh, PAM_TTY, &tty);
	return (service && strcmp(service, "sshd") == 0) || (tty && strcmp(tty, "ssh") == 0);
}

struct login_method;

/*
 * What sign_in_job gets from the host: the method, the password (PAM_AUTHTOK, not copied: it
 * came with the fork; NULL for a method without one) and the name the password grant sends,
 * resolved by the host from the identity cache, which is root's: the child never reads it.
 */
struct sign_in_arg {
	const struct login_method *method;
	const char *password;
	const char *login;
	const char *address; /* a passwordless method's email address or phone number, */
	int channel;         /* and its channel (lib/passwordless.h) */
};

/*
 * The conversation as the flows need it: must messages wait for a prompt to be seen? sshd
 * shows PAM messages only with the next prompt (OpenSSH bug 2876); push_prompt decides (auto:
 * only in sshd; none: never, for a graphical greeter that shows them at once).
 */
static struct a0_prompter prompter_of(const struct login *l, const struct a0_prompter *conv)
{
	struct a0_prompter prompter = *conv;

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
	return prompter;
}

/* MFA after a first factor that answered mfa_required (its mfa_token in l->res). */
static int continue_mfa(struct login *l, const struct a0_prompter *prompter, struct a0_tokens **ret)
{
	char *mfa_token;
	int r;

	l->step = "mfa";
	mfa_token = l->res.mfa_token;
	l->res.mfa_token = NULL;
	r = a0_mfa_complete(&l->client, l->cfg, mfa_token, prompter, ret, &l->res);
	a0_secret_free(mfa_token);
	return r;
}

/* The password method in the child: the password-realm grant, then MFA when asked for. */
static int sign_in_password(struct login *l, const struct a0_prompter *conv,
			    const struct sign_in_arg *arg, struct a0_tokens **ret)
{
	struct a0_prompter prompter = prompter_of(l, conv);
	int r;

	l->step = "password-realm";
	r = a0_grant_password_realm(&l->client, l->cfg, arg->login, arg->password, ret, &l->res);
	if (r != A0_ERR_MFA_REQUIRED)
		return r;

	return continue_mfa(l, &prompter, ret);
}

/*
 * The passwordless methods in the child (lib/passwordless.h): a code to the address the host
 * found for the account, then MFA when the tenant asks for it.
 */
static int sign_in_passwordless(struct login *l, const struct a0_prompter *conv,
				const struct sign_in_arg *arg, struct a0_tokens **ret)
{
	struct a0_prompter prompter = prompter_of(l, conv);
	int r;

	l->step = "passwordless";
	r = a0_passwordless_sign_in(&l->client, l->cfg, arg->channel, arg->address, &prompter, ret,
				    &l->res);
	if (r == A0_ERR_MFA_REQUIRED)
		return continue_mfa(l, &prompter, ret);
	if (r < 0)
		l->tell = a0_passwordless_why(r);
	return r;
}

/* Who did Auth0 sign in? 0 and the verified claims. */
static int verify_id_token(struct login *l, const struct a0_tokens *tokens, cJSON **ret_claims)
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
	if ((r = a0_id_token_verify(l->http, &check, tokens->id_token, time(NULL), &claims,
				    l->res.description, sizeof(l->res.description))) < 0)
		return r;
	*ret_claims = claims;
	return 0;
}

/* The device method in the child (lib/device.h): no password; whoever approves signs in. */
static int sign_in_device(struct login *l, const struct a0_prompter *conv,
			  const struct sign_in_arg *arg, struct a0_tokens **ret)
{
	struct a0_prompter prompter = prompter_of(l, conv);
	char host[256];

	l->step = "device";
	if (gethostname(host, sizeof(host)) < 0)
		(void)a0_str_copy(host, sizeof(host), "this host");
	host[sizeof(host) - 1] = '\0';
	return a0_device_sign_in(&l->client, l->cfg, host, &prompter, ret, &l->res);
}

/*
 * The longest the sign-in process may take, not counting the user's answers: each request
 * (password-realm, authenticators, challenge or an enrolment, a grant per attempt, the JWKS
 * twice) within the timeout, and the push polls within mfa_timeout and one more request.
 */
static unsigned sign_in_seconds(const struct a0_config *cfg)
{
	return cfg->mfa_timeout + (7 + cfg->mfa_retries) * cfg->timeout;
}

/* The device flow's: the polls within device_timeout, then the device code request, the last
 * poll and the JWKS twice. */
static unsigned device_seconds(const struct a0_config *cfg)
{
	return cfg->device_timeout + 4 * cfg->timeout;
}

/* The passwordless methods': the start, a grant per attempt, MFA as for a password. */
static unsigned passwordless_seconds(const struct a0_config *cfg)
{
	return sign_in_seconds(cfg) + (1 + cfg->mfa_retries) * cfg->timeout;
}

/*
 * The sign-in methods of login_methods, in one table: the name the setting uses, the menu's
 * label, whether the host asks the password first (then the guard against guessing and the
 * offline policies apply, as they always did), the sign-in the network child runs, and the
 * child's time bound. A new method is a row here (and its man page text).
 */
struct login_method {
	const char *name;
	const char *label;
	bool password;
	int (*sign_in)(struct login *l, const struct a0_prompter *p, const struct sign_in_arg *arg,
		       struct a0_tokens **ret);
	unsigned (*seconds)(const struct a0_config *cfg);
	/* A passwordless method: the host finds the account's address for the channel
	 * (a0_passwordless_address) and the guard counts its wrong codes. */
	bool passwordless;
	int channel;
};

static const struct login_method login_methods[] = {
	{ "password", "password", true, sign_in_password, sign_in_seconds, false, 0 },
	{ "device", "device code (approve on your phone or computer)", false, sign_in_device,
	  device_seconds, false, 0 },
	{ "email", "code by email", false, sign_in_passwordless, passwordless_seconds, true,
	  A0_PWL_EMAIL },
	{ "sms", "code by SMS", false, sign_in_passwordless, passwordless_seconds, true,
	  A0_PWL_SMS },
};

/*
 * In the child process (netchild.h): the sign-in and the ID token's verification, over one
 * connection. arg is the host's struct sign_in_arg; it came with the fork.
 */
static int sign_in_job(struct login *l, const struct a0_prompter *conv, void *arg,
		       struct a0_tokens **ret_tokens, cJSON **ret_claims)
{
	struct a0_dpop_session dpop = { 0 };
	struct a0_dpop_key *key = NULL;
	struct a0_tokens *tokens = NULL;
	int r;

	if ((r = mod_client_open(l)) < 0)
		goto out;
	/* DPoP: a key of this login's own, made here (never in the host process), proved with
	 * every /oauth/token request of the sign-in; kept with the tokens only when the tenant
	 * bound them to it. */
	if (l->cfg->dpop) {
		l->step = "dpop-key";
		if ((r = a0_dpop_key_new(&key)) < 0)
			goto out;
		dpop.key = key;
		l->client.dpop = &dpop;
	}
	if ((r = ((const struct sign_in_arg *)arg)->method->sign_in(l, conv, arg, &tokens)) < 0 ||
	    (r = verify_id_token(l, tokens, ret_claims)) < 0)
		goto out;
	if (key && tokens->token_type && strcasecmp(tokens->token_type, "DPoP") == 0 &&
	    (r = a0_dpop_key_export(key, &tokens->dpop_key)) < 0)
		goto out;
	*ret_tokens = tokens;
	tokens = NULL;
out:
	l->client.dpop = NULL;
	a0_dpop_key_free(key);
	a0_tokens_free(tokens);
	return r;
}

/*
 * May whom Auth0 signed in use this account? On the identity cache as the host read it before
 * the sign-in (synced: its a0_policy_synced result, id the identity when that is 0); a read
 * that failed is made again by a0_policy_check, which reports it where a rule needs the cache.
 */
static int check_policy(struct login *l, int synced, const struct a0_identity *id,
			const cJSON *claims)
{
	int r;

	l->step = "policy";
	if (synced == 0 || synced == A0_ERR_NOT_FOUND)
		r = a0_policy_check_identity(l->cfg, l->user, synced == 0 ? id : NULL, claims,
					     &l->tell, l->res.description,
					     sizeof(l->res.description));
	else
		r = a0_policy_check(l->cfg, l->user, claims, &l->tell, l->res.description,
				    sizeof(l->res.description));
	if (r < 0)
		return r;
	if (l->res.description[0]) {
		mod_log(l, LOG_WARNING, "trusted-user-claim", MOD_EVENT, l->step,
			"TRUSTED_USER_CLAIM", NULL, l->res.description);
		l->res.description[0] = '\0';
	}
	return 0;
}

static bool already_signed_in(pam_handle_t *pamh, const char *user)
{
	const void *done = NULL;

	return pam_get_data(pamh, DATA_DONE, &done) == PAM_SUCCESS && done &&
	       strcmp(done, user) == 0;
}

/* acct_mgmt re-checks the policy on these claims, for whatever PAM_USER is by then. Takes
 * claims, kept or freed. */
static int remember_claims(struct login *l, cJSON *claims)
{
	int pam = pam_set_data(l->pamh, DATA_CLAIMS, claims, cleanup_claims);

	if (pam != PAM_SUCCESS)
		a0_json_free(claims);
	return pam;
}

/* The tokens for the session (session.c) and the user this handle signed in. Takes tokens,
 * kept or freed. */
static int remember(struct login *l, struct a0_tokens *tokens)
{
	char *done = strdup(l->user);
	int pam;

	if ((pam = pam_set_data(l->pamh, DATA_TOKENS, tokens, cleanup_tokens)) != PAM_SUCCESS) {
		a0_tokens_free(tokens);
		goto out;
	}
	if (!done) {
		pam = PAM_BUF_ERR;
		goto out;
	}
	if ((pam = pam_set_data(l->pamh, DATA_DONE, done, cleanup_string)) == PAM_SUCCESS)
		done = NULL;
out:
	free(done);
	return pam;
}

/* The local guard against password guessing (lib/guard.h), for this user and PAM_RHOST. */
static struct a0_guard guard_of(const struct login *l, const char **ret_rhost)
{
	const void *rhost = NULL;

	if (pam_get_item(l->pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	*ret_rhost = rhost;
	return (struct a0_guard){ l->cfg->state_dir, l->cfg->fail_delay_after,
				  l->cfg->fail_delay_max };
}

/* A0_ERR_DELAYED while this user failed too often from this address; 0 otherwise. */
static int guard_check(struct login *l)
{
	const char *rhost;
	struct a0_guard g = guard_of(l, &rhost);
	bool unguarded = false;
	unsigned wait = 0;
	int r;

	r = a0_guard_check(&g, l->user, rhost, time(NULL), &wait, &unguarded);
	if (r == A0_ERR_DELAYED) {
		l->step = "guard";
		a0_format(l->res.description, sizeof(l->res.description),
			  "too many failed sign-ins from %s: Auth0 not asked for %u s",
			  rhost && *rhost ? "this address" : "this host", wait);
	}
	if (unguarded && l->cfg->debug)
		pam_syslog(l->pamh, LOG_DEBUG, "user=%s no guard state (not root, or %s unsafe)",
			   l->user, g.dir);
	return r;
}

/* What Auth0 said of the password counts for the guard; anything else (network) does not. */
static void guard_record(struct login *l, int r)
{
	const char *rhost;
	struct a0_guard g = guard_of(l, &rhost);

	if (r == 0 || r == A0_ERR_DENIED || r == A0_ERR_TOO_MANY_ATTEMPTS)
		a0_guard_record(&g, l->user, rhost, r == 0, time(NULL));
}

/*
 * Known offline (lib/outage.h). The check comes after the password prompt, on purpose: the
 * dialog is the same online and offline (sshd's keyboard-interactive shows the same prompt, so
 * an outage tells a stranger nothing), and a local fallback stacked after the module
 * ("authinfo_unavail=ignore", then pam_unix try_first_pass) gets the password already typed.
 * Only what follows it is fast: no fork, no network.
 */
#define PROBE_SLACK 5 /* seconds of a probe's lease over its network bound */

static struct a0_outage outage_of(const struct login *l)
{
	unsigned longest = sign_in_seconds(l->cfg);

	for (size_t i = 0; i < A0_ARRAY_SIZE(login_methods); i++)
		if (login_methods[i].seconds(l->cfg) > longest)
			longest = login_methods[i].seconds(l->cfg);
	return (struct a0_outage){ l->cfg->state_dir, l->cfg->offline_backoff_min,
				   l->cfg->offline_backoff_max, longest + PROBE_SLACK };
}

/* A0_ERR_NETWORK while the host is known offline, *ret_wait seconds to the next check; else 0. */
static int offline_check(struct login *l, bool *ret_probe, unsigned *ret_wait)
{
	struct a0_outage o = outage_of(l);
	bool unkept = false;
	int r;

	r = a0_outage_check(&o, time(NULL), ret_probe, ret_wait, &unkept);
	if (r == A0_ERR_NETWORK)
		return r;
	if (*ret_probe)
		mod_log(l, LOG_NOTICE, "offline-probe", MOD_EVENT, "offline", "PROBE", NULL,
			"known offline: this login asks Auth0 again");
	if (unkept && l->cfg->debug)
		pam_syslog(l->pamh, LOG_DEBUG, "user=%s no offline state (not root, or %s unsafe)",
			   l->user, o.dir);
	return 0;
}

/* Where the child's result comes back: the outage is remembered, cleared or left. */
static void offline_record(struct login *l, int r, bool probe)
{
	struct a0_outage o = outage_of(l);
	enum a0_outage_kind kind = a0_outage_kind(r, &l->res);
	char description[256];
	bool was = false;

	a0_outage_record(&o, kind, probe, time(NULL), &was);
	if (kind == A0_OUTAGE_OFFLINE) {
		mod_log(l, LOG_WARNING, "offline-marked", MOD_EVENT, "offline", a0_err_name(r),
			NULL,
			"the sign-in service cannot be reached: logins are refused without asking "
			"until the next check");
	} else if (kind == A0_OUTAGE_ANSWERED && was) {
		mod_log(l, LOG_NOTICE, "online-again", MOD_EVENT, "offline", "ONLINE", NULL,
			"the sign-in service answers again");
	} else if (kind == A0_OUTAGE_INTERCEPTED) {
		a0_format(description, sizeof(description),
			  "possible interception: the certificate presented for %s was refused; "
			  "login refused, not treated as offline",
			  l->cfg->domain);
		mod_log(l, LOG_ERR, "tls-intercepted", MOD_EVENT, "tls", "TLS", NULL, description);
	}
}

/*
 * A successful sign-in kept on the handle: the claims for acct_mgmt, the tokens for the session
 * and the hand-off. Takes tokens and claims.
 */
static int keep_sign_in(struct login *l, const char *method, struct a0_tokens *tokens,
			cJSON *claims)
{
	const struct a0_tokens *kept;
	int pam;

	pam = remember_claims(l, claims);
	if (pam != PAM_SUCCESS) {
		a0_tokens_free(tokens);
		return pam;
	}
	kept = tokens; /* the handle's from here on */
	pam = remember(l, tokens);
	if (pam != PAM_SUCCESS)
		return pam;
	mod_log(l, LOG_INFO, "login-granted", MOD_GRANTED, method, "OK", NULL,
		"signed in with Auth0");
	mod_hand_off(l, kept);
	return PAM_SUCCESS;
}

/*
 * The methods login_methods allows, in its order (none set: password): 0 and their count in
 * *ret_n; A0_ERR_CONFIG for a name the table does not know.
 */
static int allowed_methods(struct login *l, const struct login_method **out, size_t max,
			   size_t *ret_n)
{
	const struct a0_list *names = &l->cfg->login_methods;
	size_t n = 0;

	if (names->n == 0) {
		out[0] = &login_methods[0];
		*ret_n = 1;
		return 0;
	}
	for (size_t i = 0; i < names->n && n < max; i++) {
		const struct login_method *m = NULL;

		for (size_t j = 0; j < A0_ARRAY_SIZE(login_methods) && !m; j++)
			if (strcmp(names->items[i], login_methods[j].name) == 0)
				m = &login_methods[j];
		if (!m) {
			l->step = "config";
			a0_format(l->res.description, sizeof(l->res.description),
				  "login_methods: no method '%s'", names->items[i]);
			return A0_ERR_CONFIG;
		}
		out[n++] = m;
	}
	*ret_n = n;
	return 0;
}

#define METHOD_TRIES 3 /* answers to the methods menu before the login fails */

/* The method of this login: the only one allowed, or the person's choice from a menu. */
static int choose_method(struct login *l, const struct login_method **ret)
{
	const struct login_method *allowed[A0_MAX_LOGIN_METHODS];
	char text[1024];
	size_t n = 0, len;
	int r;

	if ((r = allowed_methods(l, allowed, A0_ARRAY_SIZE(allowed), &n)) < 0)
		return r;
	if (n == 1) {
		*ret = allowed[0];
		return 0;
	}
	len = (size_t)snprintf(text, sizeof(text), "Sign in with:\n");
	for (size_t i = 0; i < n && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "  %zu) %s\n", i + 1,
					allowed[i]->label);
	if (len < sizeof(text))
		snprintf(text + len, sizeof(text) - len, "Option: ");
	for (unsigned attempt = 1; attempt <= METHOD_TRIES; attempt++) {
		char *reply = NULL, *end;
		unsigned long choice = 0;

		r = pam_prompt(l->pamh, PAM_PROMPT_ECHO_ON, &reply, "%s", text);
		if (r != PAM_SUCCESS || !reply) {
			a0_secret_free(reply);
			l->step = "method";
			return A0_ERR_CONV;
		}
		/* The number shown, or the method's name. */
		choice = strtoul(reply, &end, 10);
		if (end == reply || *end != '\0') {
			choice = 0;
			for (size_t i = 0; i < n; i++)
				if (strcmp(reply, allowed[i]->name) == 0)
					choice = i + 1;
		}
		a0_secret_free(reply);
		if (choice >= 1 && choice <= n) {
			*ret = allowed[choice - 1];
			return 0;
		}
		mod_tell(l->pamh, true, "Please enter one of the numbers shown.");
	}
	l->step = "method";
	a0_format(l->res.description, sizeof(l->res.description), "no sign-in method chosen");
	return A0_ERR_DENIED;
}

/*
 * A method without a password (device, email, sms): no prompt for one and no offline login
 * (nothing to check offline); the guard only for the passwordless codes (the device flow has
 * nothing to guess); the same child, ID-token verification, identity binding and policy as the
 * password's.
 */
static int authenticate_without_password(struct login *l, const struct login_method *m)
{
	struct sign_in_arg arg = { .method = m };
	struct a0_tokens *tokens = NULL;
	struct a0_identity id = { 0 };
	cJSON *claims = NULL;
	char *address = NULL;
	bool probe = false;
	unsigned wait = 0;
	char why[64];
	int pam, r, synced;

	if (l->no_account && l->cfg->require_local_account) {
		mod_log(l, LOG_NOTICE, "login-denied", MOD_DENIED, "account-lookup", "USER_UNKNOWN",
			NULL, "no such account on this host: Auth0 not asked");
		return PAM_USER_UNKNOWN;
	}
	if (offline_check(l, &probe, &wait) < 0) {
		l->step = "offline";
		a0_format(l->res.description, sizeof(l->res.description),
			  "known offline: the %s sign-in needs the service (next check in %u s)",
			  m->name, wait);
		return mod_finish(l, A0_ERR_NETWORK);
	}
	/* A passwordless method: the account's address, read here (users_file is root's), never
	 * typed; a code is something to guess, so the guard holds back whoever fails too often. */
	if (m->passwordless) {
		l->step = "passwordless-address";
		r = a0_passwordless_address(l->cfg, l->user, m->channel, &address,
					    l->res.description, sizeof(l->res.description));
		if (r == A0_ERR_NOT_FOUND)
			l->tell = m->channel == A0_PWL_EMAIL
					  ? "No email address is on record for this account."
					  : "No phone number is on record for this account.";
		if (r == 0)
			r = guard_check(l);
		if (r < 0)
			return mod_finish(l, r);
		arg.address = address;
		arg.channel = m->channel;
	}
	synced = a0_policy_synced(l->cfg, l->user, &id, why, sizeof(why));
	r = mod_net_run(l, sign_in_job, &arg, m->seconds(l->cfg), &tokens, &claims);
	if (r == 0 && (!tokens || !claims))
		r = A0_ERR_SYSTEM; /* sign_in_job returns both: never */
	offline_record(l, r, probe);
	if (m->passwordless)
		guard_record(l, r);
	if (r == 0)
		r = check_policy(l, synced, &id, claims);
	if (r < 0) {
		pam = mod_finish(l, r);
	} else {
		pam = keep_sign_in(l, m->name, tokens, claims);
		tokens = NULL;
		claims = NULL;
	}
	free(address);
	a0_identity_clear(&id);
	a0_tokens_free(tokens);
	a0_json_free(claims);
	return pam;
}

A0_PUBLIC int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = {
		.pamh = pamh, .phase = MOD_AUTH, .step = "start", .res = { .retry_after = -1 }
	};
	struct a0_tokens *tokens = NULL;
	struct sign_in_arg arg = { 0 };
	struct a0_identity id = { 0 };
	const struct login_method *method = NULL;
	const char *password = NULL;
	char *login = NULL, why[64];
	cJSON *claims = NULL;
	bool probe = false;
	unsigned wait = 0;
	int pam, r, synced;

	if ((pam = mod_begin(&l, argc, argv)) != PAM_SUCCESS)
		goto out;
	/* sshd may run the auth stack twice (password then keyboard-interactive): ask once. */
	if (already_signed_in(pamh, l.user)) {
		if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG, "user=%s already signed in by this handle",
				   l.user);
		goto out;
	}
	if ((r = choose_method(&l, &method)) < 0) {
		pam = mod_finish(&l, r);
		goto out;
	}
	if (!method->password) {
		pam = authenticate_without_password(&l, method);
		goto out;
	}
	if ((pam = get_password(&l, &password)) != PAM_SUCCESS)
		goto out;
	if (*password == '\0' || strlen(password) > MAX_PASSWORD) {
		mod_log(&l, LOG_NOTICE, "login-denied", MOD_DENIED, "password", "DENIED", NULL,
			"empty or over-long password");
		pam = PAM_AUTH_ERR;
		goto out;
	}
	/* Asked for the password like any other name, so the prompts tell nothing; but a name
	 * that is no account here is never sent to Auth0, where failures count against it. */
	if (l.no_account && l.cfg->require_local_account) {
		mod_log(&l, LOG_NOTICE, "login-denied", MOD_DENIED, "account-lookup",
			"USER_UNKNOWN", NULL, "no such account on this host: Auth0 not asked");
		pam = PAM_USER_UNKNOWN;
		goto out;
	}
	if ((r = guard_check(&l)) < 0) {
		pam = mod_finish(&l, r);
		goto out;
	}
	/* Before the fork: known offline costs neither a process nor a network wait; the
	 * service's offline policy answers (pam/offline.c). */
	if (offline_check(&l, &probe, &wait) < 0) {
		pam = mod_offline_login(&l, password, wait);
		goto out;
	}
	/* The identity cache, read once for this phase: the login name for the child, and the
	 * policy after it. No readable cache: the username template (the policy reports it). */
	synced = a0_policy_synced(l.cfg, l.user, &id, why, sizeof(why));
	r = a0_policy_login_name_identity(l.cfg, l.user, synced == 0 ? &id : NULL, &login);
	if (r == 0) {
		arg = (struct sign_in_arg){ .method = method,
					    .password = password,
					    .login = login };
		r = mod_net_run(&l, sign_in_job, &arg, sign_in_seconds(l.cfg), &tokens, &claims);
	}
	if (r == 0 && (!tokens || !claims))
		r = A0_ERR_SYSTEM; /* sign_in_job returns both: never */
	offline_record(&l, r, probe);
	guard_record(&l, r);
	/* The tenant could not be asked: the offline policy, unless it is deny (then the
	 * failure's own message below). */
	if (r < 0 && a0_outage_kind(r, &l.res) == A0_OUTAGE_OFFLINE &&
	    mod_offline_policy(&l) != A0_OFFLINE_DENY) {
		mod_log_error(&l, r);
		pam = mod_offline_login(&l, password, 0);
		goto out;
	}
	if (r == 0)
		r = check_policy(&l, synced, &id, claims);
	/* The offline verifier: kept after a complete sign-in, forgotten on Auth0's refusal. */
	mod_offline_online(&l, r, password);
	if (r < 0) {
		pam = mod_finish(&l, r);
		goto out;
	}
	pam = keep_sign_in(&l, method->name, tokens, claims);
	tokens = NULL;
	claims = NULL;
out:
	free(login);
	a0_identity_clear(&id);
	a0_tokens_free(tokens);
	a0_json_free(claims);
	a0_result_clear(&l.res);
	a0_config_free(l.cfg);
	return pam;
}

/*
 * Password change (pam_sm_chauthtok). The password of an Auth0 user is Auth0's: the module never
 * sets one, and never lets the stack below it touch the account's local shadow entry. What it
 * does is ask Auth0 to mail the user a link to set a new one (/dbconnections/change_password)
 * and say where it went, masked. The stack line is
 *
 *   password [success=done ignore=ignore default=die] pam_auth0.so
 *
 * PAM_PRELIM_CHECK answers, without the network, whether this user is Auth0's and has a known
 * address (PAM_SUCCESS: done, the modules below never run, in this pass or the next), is not
 * (PAM_IGNORE: pam_unix below changes the local password), or cannot be told (an error: die);
 * PAM_UPDATE_AUTHTOK sends the mail.
 */
struct reset_arg {
	const char *email;
};

/* In the child process (netchild.h): the one request. */
static int reset_job(struct login *l, const struct a0_prompter *conv, void *arg,
		     struct a0_tokens **ret_tokens, cJSON **ret_claims)
{
	const struct reset_arg *a = arg;
	int r;

	if ((r = mod_client_open(l)) < 0)
		return r;
	l->step = "change-password";
	r = a0_change_password(&l->client, a->email, l->cfg->realm, &l->res);
	if (r == A0_ERR_AUTH0)
		l->tell = "The sign-in service could not send the password change email.";
	return r;
}

/*
 * Is user an Auth0 user, and where do their mails go? 0 and the address; A0_ERR_NOT_FOUND for
 * a local user (no identity binds the account); A0_ERR_CONFIG (users_file or the identity cache
 * unusable: reason says why) or A0_ERR_NOMEM.
 */
static int auth0_address(struct login *l, char **ret)
{
	struct a0_identity id = { 0 };
	const void *claims = NULL;
	char *user_id = NULL;
	int r, synced;

	synced = a0_policy_synced(l->cfg, l->user, &id, l->res.description,
				  sizeof(l->res.description));
	if (synced < 0 && synced != A0_ERR_NOT_FOUND) {
		r = synced;
		goto out;
	}
	if (pam_get_data(l->pamh, DATA_CLAIMS, &claims) != PAM_SUCCESS)
		claims = NULL;
	/* Auth0's: synced from the tenant, bound by users_file, or signed in by Auth0 here. */
	r = A0_ERR_NOT_FOUND;
	if (synced == 0 && !id.local)
		r = 0;
	if (r == A0_ERR_NOT_FOUND) {
		r = a0_config_user_binding(l->cfg, l->user, &user_id, l->res.description,
					   sizeof(l->res.description));
		if (r == A0_ERR_NOT_FOUND && claims)
			r = 0;
	}
	if (r == 0) {
		l->res.description[0] = '\0';
		r = a0_policy_email(l->cfg, l->user, synced == 0 ? &id : NULL, claims, ret);
		if (r == A0_ERR_NOT_FOUND) {
			a0_format(l->res.description, sizeof(l->res.description),
				  "an Auth0 user without a known email address (identity cache, "
				  "ID token, user_claim = email or an address as username template)");
			l->tell =
				"Your password is managed by the sign-in service, which knows no "
				"email address to send the change link to. Contact your administrator.";
			r = A0_ERR_CONFIG;
		}
	}
out:
	free(user_id);
	a0_identity_clear(&id);
	return r;
}

A0_PUBLIC int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = { .pamh = pamh,
			   .phase = MOD_PASSWORD,
			   .step = "change-password",
			   .res = { .retry_after = -1 } };
	struct reset_arg arg = { 0 };
	char *email = NULL, masked[A0_PWL_MAX_SHOWN + 1], msg[A0_PWL_MAX_SHOWN + 200];
	int pam, r;

	if ((pam = mod_begin(&l, argc, argv)) != PAM_SUCCESS)
		goto out;
	/* A name no account database knows has no local password to protect either. */
	r = auth0_address(&l, &email);
	if (r == A0_ERR_NOT_FOUND) {
		if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG, "user=%s no Auth0 identity: password ignored",
				   l.user);
		pam = PAM_IGNORE;
		goto out;
	}
	if (r == 0 && !a0_email_address_ok(email))
		r = A0_ERR_INVALID;
	if (r == 0)
		a0_passwordless_mask(A0_PWL_EMAIL, email, masked);
	if (r < 0) {
		(void)mod_finish(&l, r);
		pam = r == A0_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTHTOK_ERR;
		goto out;
	}
	if (flags & PAM_PRELIM_CHECK) {
		pam = PAM_SUCCESS;
		goto out;
	}
	arg.email = email;
	r = mod_net_run(&l, reset_job, &arg, 2 * l.cfg->timeout, NULL, NULL);
	if (r < 0) {
		(void)mod_finish(&l, r);
		pam = r == A0_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTHTOK_ERR;
		goto out;
	}
	mod_log(&l, LOG_INFO, "password-change-sent", MOD_OK, l.step, "SENT", NULL,
		"the tenant sent the password change email");
	if (!(flags & PAM_SILENT)) {
		a0_format(msg, sizeof(msg),
			  "Your password is managed by the sign-in service: nothing was changed "
			  "here. An email with a link to set a new password was sent to %s.",
			  masked);
		mod_tell(pamh, false, msg);
	}
	pam = PAM_SUCCESS;
out:
	a0_secret_free(email);
	a0_result_clear(&l.res);
	a0_config_free(l.cfg);
	return pam;
}
