/* SPDX-License-Identifier: MIT */
/*
 * `auth0-credentials login` in the tenant module (tenant.h): a sign-in from inside a session that
 * pam_auth0 did not open, with the module's configuration and its rules. The same steps as
 * pam/auth.c's sign_in_job and policy check, run as the user: the password-realm grant and MFA
 * over the caller's prompter (or the device flow), the ID token verified with the tenant's keys,
 * and the identity bound to the caller's own account by a0_policy_check. Nothing is stored here:
 * the library stores the record under its lock (store_login below, keyring/login.h's
 * a0_login_store, as pam_sm_open_session does).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "credentials/tenant.h"
#include "keyring/login.h"
#include "lib/conf.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/idtoken.h"
#include "lib/json.h"
#include "lib/mfa.h"
#include "lib/policy.h"
#include "lib/secret.h"
#include "lib/util.h"

#if __has_include("lib/device.h")
#include "lib/device.h"
#define HAVE_DEVICE_FLOW 1
#else
#define HAVE_DEVICE_FLOW 0
#endif

#define PWBUF_MAX (1024 * 1024)
/* Longest password taken, as the module's MAX_PASSWORD. */
#define MAX_PASSWORD 1024
#define HOST_MAX 256

static int failed(struct a0_result *res, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failed(struct a0_result *res, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(res->description, sizeof(res->description), fmt, ap);
	va_end(ap);
	return r;
}

/* The caller's own account: the PAM user a login by this uid would have. */
static int own_account(struct a0_user *ret, char **ret_name, struct a0_result *res)
{
	struct passwd pw, *found = NULL;
	size_t size = 16384;
	char *buf = NULL;
	int e;

	for (;;) {
		free(buf);
		if (!(buf = malloc(size)))
			return A0_ERR_NOMEM;
		e = getpwuid_r(getuid(), &pw, buf, size, &found);
		if (e != ERANGE || size >= PWBUF_MAX)
			break;
		size *= 2;
	}
	if (e != 0 || !found) {
		free(buf);
		return failed(res, A0_ERR_SYSTEM, "uid %u has no account name (%s)",
			      (unsigned)getuid(), e ? strerror(e) : "not found");
	}
	if (!a0_text_ok(pw.pw_name, strlen(pw.pw_name), A0_TEXT_NAME) ||
	    !(*ret_name = strdup(pw.pw_name))) {
		free(buf);
		return failed(res, A0_ERR_POLICY, "the account name of uid %u is not a plain name",
			      (unsigned)getuid());
	}
	*ret = (struct a0_user){ .name = *ret_name, .uid = pw.pw_uid, .gid = pw.pw_gid };
	free(buf);
	return 0;
}

/*
 * The synced identity cache as this uid can read it. It is root's (0600, or 0640 for the group
 * auth0-broker): a user outside that group cannot read it, and then cannot tell whether the
 * account is an Auth0-only one the cache binds (or blocks, or gives roles). Such a sign-in is
 * taken only when users_file (root's, readable by all) binds the account: users_file comes
 * before the cache in a0_policy_check, so the cache could not change the answer; a binding by
 * user_claim could be overruled by the cache, so it is not trusted blind. 0 and *ret_id
 * (NULL: the cache does not name the account), or A0_ERR_POLICY with the reason.
 */
static int read_synced(const struct a0_config *cfg, const char *user, struct a0_identity *id,
		       const struct a0_identity **ret_id, struct a0_result *res)
{
	char why[256] = "", err[256] = "";
	char *bound = NULL;
	int r = a0_policy_synced(cfg, user, id, why, sizeof(why));

	if (r == 0 || r == A0_ERR_NOT_FOUND) {
		*ret_id = r == 0 ? id : NULL;
		return 0;
	}
	if (r == A0_ERR_NOMEM)
		return r;
	r = a0_config_user_binding(cfg, user, &bound, err, sizeof(err));
	free(bound);
	if (r == 0) {
		*ret_id = NULL;
		return 0;
	}
	return failed(res, A0_ERR_POLICY,
		      "the synced identity cache cannot be read by this user (%s), and %s does not "
		      "bind the account: such a sign-in is taken only with a users_file binding",
		      why, cfg->users_file ? cfg->users_file : "users_file");
}

static int sign_in_password(struct a0_client *client, const struct a0_config *cfg,
			    const char *login, const struct a0_prompter *p, struct a0_tokens **ret,
			    struct a0_result *res)
{
	char *password = NULL, *mfa_token;
	int r;

	if ((r = p->ask(p->ctx, false, "Password: ", &password)) < 0)
		return failed(res, A0_ERR_CONV, "no password was given");
	if (!*password || strlen(password) > MAX_PASSWORD) {
		a0_secret_free(password);
		return failed(res, A0_ERR_DENIED, "empty or over-long password");
	}
	r = a0_grant_password_realm(client, cfg, login, password, ret, res);
	a0_secret_free(password);
	if (r != A0_ERR_MFA_REQUIRED)
		return r;
	mfa_token = res->mfa_token;
	res->mfa_token = NULL;
	r = a0_mfa_complete(client, cfg, mfa_token, p, ret, res);
	a0_secret_free(mfa_token);
	return r;
}

static int sign_in_device(struct a0_client *client, const struct a0_config *cfg,
			  const struct a0_prompter *p, struct a0_tokens **ret,
			  struct a0_result *res)
{
#if HAVE_DEVICE_FLOW
	char host[HOST_MAX + 1] = "";

	if (gethostname(host, HOST_MAX) < 0)
		a0_format(host, sizeof(host), "this host");
	host[HOST_MAX] = '\0';
	return a0_device_sign_in(client, cfg, host, p, ret, res);
#else
	(void)client;
	(void)cfg;
	(void)p;
	(void)ret;
	return failed(res, A0_ERR_INVALID,
		      "this build has no device authorization flow: use login --password");
#endif
}

static int verify(struct a0_http *http, const struct a0_config *cfg, const struct a0_tokens *t,
		  cJSON **ret, struct a0_result *res)
{
	const struct a0_id_token_check check = {
		.domain = cfg->domain,
		.client_id = cfg->client_id,
		.cache_dir = cfg->cache_dir,
		.jwks_ttl = cfg->jwks_ttl,
		.leeway = cfg->clock_skew,
	};

	a0_result_clear(res);
	/* Without an ID token nobody says who signed in. */
	if (!t->id_token)
		return failed(res, A0_ERR_TOKEN_INVALID,
			      "the tenant sent no ID token (scope '%s' needs openid)", cfg->scope);
	return a0_id_token_verify(http, &check, t->id_token, time(NULL), ret, res->description,
				  sizeof(res->description));
}

int a0_tenant_login(const struct a0_tenant_login *req, struct a0_record **ret,
		    struct a0_result *res)
{
	const char *argv[1];
	char arg[4096 + 8], err[512] = "", reason[512] = "", *name = NULL, *login = NULL;
	struct a0_identity id = { 0 };
	const struct a0_identity *idp = NULL;
	struct a0_dpop_session dpop = { 0 };
	struct a0_dpop_key *key = NULL;
	struct a0_config *cfg = NULL;
	struct a0_tokens *t = NULL;
	struct a0_client client = { 0 };
	struct a0_user u;
	const char *tell = NULL;
	cJSON *claims = NULL;
	int r, kind;

	a0_result_clear(res);
	if (snprintf(arg, sizeof(arg), "config=%s",
		     req->config ? req->config : A0_DEFAULT_CONFIG) >= (int)sizeof(arg))
		return failed(res, A0_ERR_INVALID, "the configuration's path is too long");
	argv[0] = arg;
	if ((r = a0_config_load(1, argv, &cfg, err, sizeof(err))) < 0) {
		r = failed(res, A0_ERR_CONFIG, "%s", err);
		goto out;
	}
	if (cfg->client_secret_file || cfg->client_private_key_file) {
		/* Its authentication is root's and auth0-broker's: never the user's. */
		r = failed(res, A0_ERR_CONFIG,
			   "the application is confidential (client_secret_file or "
			   "client_private_key_file): a user cannot sign in with it");
		goto out;
	}
	if (!cfg->domain || !cfg->client_id) {
		r = failed(res, A0_ERR_CONFIG, "the configuration names no domain and client_id");
		goto out;
	}
	if ((r = own_account(&u, &name, res)) < 0)
		goto out;
	/* As the module: system accounts never depend on Auth0. */
	kind = a0_policy_system_account(cfg, name, reason, sizeof(reason));
	if (kind != A0_USER_REGULAR) {
		r = failed(res, A0_ERR_POLICY, "%s is %s: pam_auth0 does not sign it in", name,
			   kind == A0_USER_SYSTEM ? "a system account"
			   : kind == A0_USER_NONE ? "no account"
						  : reason);
		goto out;
	}
	if ((r = read_synced(cfg, name, &id, &idp, res)) < 0)
		goto out;
	if ((r = a0_policy_login_name_identity(cfg, name, idp, &login)) < 0) {
		r = failed(res, r, "no Auth0 login name for %s", name);
		goto out;
	}
	{
		struct a0_http_options opt = { .domain = cfg->domain,
					       .ca_file = cfg->ca_file,
					       .proxy = cfg->proxy,
					       .timeout = req->timeout ? req->timeout
								       : cfg->timeout };

		if ((r = a0_http_new(&opt, &client.http)) < 0) {
			r = failed(res, r, "no HTTP client: %s", a0_strerror(r));
			goto out;
		}
	}
	client.client_id = cfg->client_id;
	client.domain = cfg->domain;
	/* DPoP as pam/auth.c's sign_in_job: a key of this sign-in's own, kept only when the
	 * tenant bound the tokens to it. */
	if (cfg->dpop) {
		if ((r = a0_dpop_key_new(&key)) < 0) {
			r = failed(res, r, "no DPoP key: %s", a0_strerror(r));
			goto out;
		}
		dpop.key = key;
		client.dpop = &dpop;
	}
	r = req->device ? sign_in_device(&client, cfg, req->prompter, &t, res)
			: sign_in_password(&client, cfg, login, req->prompter, &t, res);
	if (r < 0)
		goto out;
	if ((r = verify(client.http, cfg, t, &claims, res)) < 0)
		goto out;
	a0_result_clear(res);
	r = a0_policy_check_identity(cfg, name, idp, claims, &tell, res->description,
				     sizeof(res->description));
	if (r < 0) {
		if (!res->description[0])
			(void)failed(res, r, "%s", tell ? tell : "the identity cannot be checked");
		goto out;
	}
	if (key && t->token_type && strcasecmp(t->token_type, "DPoP") == 0 &&
	    (r = a0_dpop_key_export(key, &t->dpop_key)) < 0)
		goto out;
	r = a0_record_from_tokens(t, cfg, time(NULL), ret);
out:
	a0_json_free(claims);
	a0_tokens_free(t);
	a0_dpop_key_free(key);
	a0_http_free(client.http);
	a0_identity_clear(&id);
	free(login);
	free(name);
	a0_config_free(cfg);
	return r;
}

int a0_tenant_store_login(const struct a0_record *rec, bool user_keyring, struct a0_result *res)
{
	struct a0_stored at = { 0 };
	char *name = NULL;
	struct a0_user u;
	int r;

	a0_result_clear(res);
	if ((r = own_account(&u, &name, res)) < 0)
		return r;
	r = a0_login_store(&u, user_keyring ? A0_KEYRING_USER : A0_KEYRING_SESSION, 0, rec,
			   a0_record_timeout(rec, time(NULL)), &at, res->description,
			   sizeof(res->description));
	if (r == 0)
		a0_format(res->description, sizeof(res->description), "-");
	/* The pin is for a logout in this process (the module's); the library reads the keyring. */
	a0_login_unpin(&at);
	free(name);
	return r;
}
