/* SPDX-License-Identifier: MIT */
/*
 * libauth0-credentials: the public API (auth0/credentials.h) over the credentials manager, with
 * the real store (the keyring), lock (flock), tenant (lib/auth0.c, in the module of tenant.h;
 * auth0-broker for a confidential application, broker.h) and worker (fork). Only the
 * auth0_credentials_* functions are exported (credentials.sym).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <auth0/credentials.h>

#include "broker/protocol.h"
#include "credentials/broker.h"
#include "credentials/dpop.h"
#include "credentials/lock.h"
#include "credentials/manager.h"
#include "credentials/tenant.h"
#include "credentials/worker.h"
#include "keyring/store.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/mfa.h"
#include "lib/secret.h"
#include "lib/util.h"

#define DEFAULT_TIMEOUT 10
#define MAX_TIMEOUT 300

struct auth0_credentials {
	struct a0_cm cm;
	struct a0_cm_ops ops;
	key_serial_t keyring; /* KEY_SPEC_SESSION_KEYRING or KEY_SPEC_USER_KEYRING */
	unsigned timeout;
	bool inline_;
	const struct a0_tenant *tenant;    /* loaded by the first job (tenant.h) */
	const struct a0_dpop_module *dpop; /* loaded by the first DPoP headers (dpop.h) */
};

/* ------------------------------------------------------------------ the real world */

static int op_load(void *ctx, const char *name, struct a0_record **ret)
{
	struct auth0_credentials *c = ctx;

	/* Only the user's own keys (pam_auth0 makes them as the user): a record that another uid
	 * put into a keyring it can write (stock sudo runs its commands in the caller's session
	 * keyring) is not there, NO_CREDENTIALS, rather than tokens and a tenant it chose. */
	return a0_store_load_owned(c->keyring, name, getuid(), ret);
}

static int op_save(void *ctx, const char *name, const struct a0_record *r)
{
	struct auth0_credentials *c = ctx;
	unsigned timeout = 0;

	/*
	 * An update clears the key's timeout: set it again as the module does (until the refresh
	 * token's end, else the access token's). A saved refresh token of unknown lifetime keeps
	 * its record for as long as the keyring lives.
	 */
	if (!r->refresh_token || r->refresh_expires_at > 0)
		timeout = a0_record_timeout(r, time(NULL));
	return a0_store_save(c->keyring, name, r, timeout);
}

static int op_remove(void *ctx, const char *name)
{
	struct auth0_credentials *c = ctx;

	return a0_store_remove(c->keyring, name);
}

static int op_remove_prefix(void *ctx, const char *prefix)
{
	struct auth0_credentials *c = ctx;

	return a0_store_remove_prefix(c->keyring, prefix);
}

static int op_clear(void *ctx, const char *keep)
{
	struct auth0_credentials *c = ctx;

	return a0_store_clear_except(c->keyring, keep);
}

static int op_lock(void *ctx, const char *name, int *ret_handle, char *err, size_t errlen)
{
	struct auth0_credentials *c = ctx;
	/* Long enough for a holder that sends every attempt and waits out every retry. */
	unsigned wait_s = 2 * (A0_CM_ATTEMPTS * c->timeout + A0_CM_MAX_RETRY_WAIT) + 5;
	key_serial_t serial;

	/* The lock belongs to the keyring itself, so two sessions never wait for each other. */
	serial = keyctl_get_keyring_ID(c->keyring, 0);
	if (serial < 0) {
		a0_format(err, errlen, "no %s: %s", c->cm.keyring_name, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	return a0_lock_acquire(serial, name, wait_s * 1000, ret_handle, err, errlen);
}

static void op_unlock(void *ctx, int handle)
{
	a0_lock_release(handle);
}

/*
 * Who sends a record's requests: auth0-broker for a confidential application (client_auth), the
 * tenant module (loaded by op_run) for a public one.
 */
static const struct a0_tenant *tenant_of(const struct auth0_credentials *c,
					 const struct a0_record *main)
{
	return a0_record_uses_broker(main) ? &a0_broker_tenant : c->tenant;
}

static int op_refresh(void *ctx, const struct a0_record *main, const char *scope,
		      const char *audience, const struct a0_param *params, size_t n_params,
		      const struct a0_param *headers, size_t n_headers, struct a0_tokens **ret,
		      struct a0_result *res)
{
	struct auth0_credentials *c = ctx;

	return tenant_of(c, main)->refresh(main, c->timeout, scope, audience, params, n_params,
					   headers, n_headers, ret, res);
}

static int op_revoke(void *ctx, const struct a0_record *main, struct a0_result *res)
{
	struct auth0_credentials *c = ctx;

	return tenant_of(c, main)->revoke(main, c->timeout, res);
}

static int op_vault(void *ctx, const struct a0_record *main, const char *connection,
		    const char *login_hint, const char *scope, struct a0_tokens **ret,
		    struct a0_result *res)
{
	struct auth0_credentials *c = ctx;
	const struct a0_tenant *t = tenant_of(c, main);

	if (!t || !t->vault) {
		a0_result_clear(res);
		a0_format(res->description, sizeof(res->description),
			  "Token Vault needs a confidential application");
		return A0_ERR_INVALID;
	}
	return t->vault(main, c->timeout, connection, login_hint, scope, ret, res);
}

/*
 * A module of this library (the tenant's, the DPoP one), from the directory this library was
 * loaded from; never unloaded. *ret: its symbol, whose first member is its version, which must
 * be this build's. (Not "$ORIGIN/..." in dlopen(): that is the directory of dlopen's caller,
 * which is another library when one intercepts dlopen, as AddressSanitizer does.)
 */
static int load_module(const char *file, const char *symbol, const void **ret, char *err,
		       size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	const char *const *version;
	Dl_info self;
	void *h;

	h = dladdr((void *)load_module, &self) ? dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD)
					       : NULL;
	if (!h || dlinfo(h, RTLD_DI_ORIGIN, dir) != 0) {
		const char *why = dlerror();

		a0_format(err, errlen, "cannot find %s: %s", file,
			  why ? why : "no directory for this library");
		if (h)
			dlclose(h);
		return A0_ERR_SYSTEM;
	}
	dlclose(h);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		a0_format(err, errlen, "cannot load %s: %s", file, dlerror());
		return A0_ERR_SYSTEM;
	}
	version = dlsym(h, symbol);
	if (!version || !*version || strcmp(*version, PACKAGE_VERSION) != 0) {
		a0_format(err, errlen, "%s is not a module of " PACKAGE_NAME " " PACKAGE_VERSION,
			  path);
		return A0_ERR_SYSTEM;
	}
	*ret = version;
	return 0;
}

int a0_dpop_module_load(const struct a0_dpop_module **ret, char *err, size_t errlen)
{
	const void *m;
	int r = load_module(A0_DPOP_MODULE, A0_DPOP_SYMBOL, &m, err, errlen);

	if (r == 0)
		*ret = m;
	return r;
}

static int load_tenant(struct auth0_credentials *c, char *err, size_t errlen)
{
	const void *t;
	int r = load_module(A0_TENANT_MODULE, A0_TENANT_SYMBOL, &t, err, errlen);

	if (r == 0)
		c->tenant = t;
	return r;
}

static void op_run(void *ctx, struct a0_cm *cm, struct a0_cm_job *job)
{
	struct auth0_credentials *c = ctx;

	/*
	 * Every job talks to the tenant: load the module here, before a worker is forked; not
	 * for a confidential application, whose requests the broker makes.
	 */
	if (!c->tenant && !a0_record_uses_broker(job->main)) {
		memset(&job->out, 0, sizeof(job->out));
		if (load_tenant(c, job->out.message, sizeof(job->out.message)) < 0) {
			job->out.code = AUTH0_CREDENTIALS_UNKNOWN;
			return;
		}
	}
	/* An exchange for the caller stores nothing: its answer is for this process. */
	if (c->inline_ || job->kind == A0_CM_JOB_SSO_EXCHANGE)
		a0_cm_run_job(cm, job);
	else
		a0_worker_run(cm, job);
}

static time_t op_now(void *ctx)
{
	return time(NULL);
}

static void op_sleep(void *ctx, unsigned seconds)
{
	struct timespec t = { .tv_sec = seconds }, left;

	while (nanosleep(&t, &left) < 0 && errno == EINTR)
		t = left;
}

/* ------------------------------------------------------------------ handle */

AUTH0_CREDENTIALS_API int auth0_credentials_new(struct auth0_credentials **ret)
{
	struct auth0_credentials *c = calloc(1, sizeof(*c));

	if (!c)
		return AUTH0_CREDENTIALS_UNKNOWN;
	c->ops = (struct a0_cm_ops){
		.load = op_load,
		.save = op_save,
		.remove = op_remove,
		.clear = op_clear,
		.lock = op_lock,
		.unlock = op_unlock,
		.refresh = op_refresh,
		.revoke = op_revoke,
		.vault = op_vault,
		.remove_prefix = op_remove_prefix,
		.run = op_run,
		.now = op_now,
		.sleep = op_sleep,
		.ctx = c,
	};
	c->cm.ops = &c->ops;
	c->cm.keyring_name = "session keyring";
	c->cm.result.retry_after = -1;
	c->keyring = KEY_SPEC_SESSION_KEYRING;
	c->timeout = DEFAULT_TIMEOUT;
	*ret = c;
	return AUTH0_CREDENTIALS_OK;
}

AUTH0_CREDENTIALS_API void auth0_credentials_free(struct auth0_credentials *c)
{
	if (!c)
		return;
	a0_result_clear(&c->cm.result);
	free(c);
}

static int invalid(struct auth0_credentials *c, const char *message)
{
	a0_format(c->cm.message, sizeof(c->cm.message), "%s", message);
	a0_result_clear(&c->cm.result);
	return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
}

AUTH0_CREDENTIALS_API int auth0_credentials_set_keyring(struct auth0_credentials *c,
							enum auth0_credentials_keyring keyring)
{
	switch (keyring) {
	case AUTH0_CREDENTIALS_KEYRING_SESSION:
		c->keyring = KEY_SPEC_SESSION_KEYRING;
		c->cm.keyring_name = "session keyring";
		return AUTH0_CREDENTIALS_OK;
	case AUTH0_CREDENTIALS_KEYRING_USER:
		c->keyring = KEY_SPEC_USER_KEYRING;
		c->cm.keyring_name = "user keyring";
		return AUTH0_CREDENTIALS_OK;
	}
	return invalid(c, "the keyring must be session or user");
}

AUTH0_CREDENTIALS_API int auth0_credentials_set_timeout(struct auth0_credentials *c,
							unsigned seconds)
{
	if (seconds < 1 || seconds > MAX_TIMEOUT)
		return invalid(c, "the timeout must be 1 to 300 seconds");
	c->timeout = seconds;
	return AUTH0_CREDENTIALS_OK;
}

AUTH0_CREDENTIALS_API int auth0_credentials_set_inline(struct auth0_credentials *c, bool inline_)
{
	c->inline_ = inline_;
	return AUTH0_CREDENTIALS_OK;
}

/* ------------------------------------------------------------------ operations */

AUTH0_CREDENTIALS_API void auth0_credentials_tokens_free(struct auth0_credentials_tokens *t)
{
	if (!t)
		return;
	a0_secret_free(t->access_token);
	a0_secret_free(t->id_token);
	free(t->token_type);
	free(t->scope);
	free(t);
}

AUTH0_CREDENTIALS_API void auth0_credentials_sso_free(struct auth0_credentials_sso *s)
{
	if (!s)
		return;
	a0_secret_free(s->session_transfer_token);
	free(s->token_type);
	a0_secret_free(s->id_token);
	a0_secret_free(s->refresh_token);
	free(s);
}

AUTH0_CREDENTIALS_API void auth0_credentials_secret_free(char *s)
{
	a0_secret_free(s);
}

/* The public shape of a record (never its refresh token); takes rec. */
/* The caller's tokens, taken over from rec (no copies of the secrets), which is freed. */
static int tokens_of(struct auth0_credentials *c, struct a0_record *rec,
		     struct auth0_credentials_tokens **ret)
{
	struct auth0_credentials_tokens *t = calloc(1, sizeof(*t));

	if (t && !rec->token_type)
		t->token_type = strdup("Bearer");
	if (!t || (!rec->token_type && !t->token_type)) {
		free(t);
		a0_record_free(rec);
		a0_format(c->cm.message, sizeof(c->cm.message), "out of memory");
		return AUTH0_CREDENTIALS_UNKNOWN;
	}
	t->access_token = rec->access_token;
	t->id_token = rec->id_token;
	if (rec->token_type)
		t->token_type = rec->token_type;
	t->scope = rec->scope;
	t->expires_at = (long long)rec->expires_at;
	rec->access_token = rec->id_token = rec->token_type = rec->scope = NULL;
	a0_record_free(rec);
	*ret = t;
	return AUTH0_CREDENTIALS_OK;
}

/*
 * n public name-value pairs (items of size bytes, the name's and the value's pointers at
 * name_at and value_at) as the core's a0_param array; at most max of them.
 */
static int pairs_of(struct auth0_credentials *c, const void *items, size_t size, size_t name_at,
		    size_t value_at, size_t n, size_t max, const char *too_many,
		    struct a0_param **ret)
{
	struct a0_param *p;

	*ret = NULL;
	if (n == 0)
		return AUTH0_CREDENTIALS_OK;
	if (!items || n > max)
		return invalid(c, too_many);
	p = calloc(n, sizeof(*p));
	if (!p)
		return AUTH0_CREDENTIALS_UNKNOWN;
	for (size_t i = 0; i < n; i++) {
		const char *item = (const char *)items + i * size;

		memcpy(&p[i].key, item + name_at, sizeof(p[i].key));
		memcpy(&p[i].value, item + value_at, sizeof(p[i].value));
	}
	*ret = p;
	return AUTH0_CREDENTIALS_OK;
}

/* The public parameters as the core's (same layout, kept separate for the ABI). */
static int params_of(struct auth0_credentials *c, const struct auth0_credentials_param *params,
		     size_t n, struct a0_param **ret)
{
	return pairs_of(c, params, sizeof(*params), offsetof(struct auth0_credentials_param, key),
			offsetof(struct auth0_credentials_param, value), n, A0_MAX_PARAMS,
			"too many extra parameters", ret);
}

AUTH0_CREDENTIALS_API int auth0_credentials_get(struct auth0_credentials *c, const char *scope,
						long long min_ttl, bool force_refresh,
						const struct auth0_credentials_param *params,
						size_t n_params,
						struct auth0_credentials_tokens **ret)
{
	struct a0_record *rec = NULL;
	struct a0_param *p = NULL;
	int code;

	if (!ret)
		return invalid(c, "nowhere to return the credentials");
	code = params_of(c, params, n_params, &p);
	if (code == 0)
		code = a0_cm_get(&c->cm, scope, min_ttl, force_refresh, p, n_params, &rec);
	free(p);
	if (code == 0)
		code = tokens_of(c, rec, ret);
	return code;
}

AUTH0_CREDENTIALS_API int auth0_credentials_has_valid(struct auth0_credentials *c,
						      long long min_ttl)
{
	return a0_cm_has_valid(&c->cm, min_ttl);
}

AUTH0_CREDENTIALS_API int auth0_credentials_save(struct auth0_credentials *c, const char *json,
						 size_t len,
						 const struct auth0_credentials_tenant *tenant)
{
	const struct auth0_credentials_tenant none = { 0 };

	if (!tenant)
		tenant = &none;
	return a0_cm_save(&c->cm, json, len, tenant->domain, tenant->client_id, tenant->ca_file,
			  tenant->audience);
}

AUTH0_CREDENTIALS_API int auth0_credentials_clear(struct auth0_credentials *c)
{
	return a0_cm_clear(&c->cm);
}

AUTH0_CREDENTIALS_API int auth0_credentials_revoke(struct auth0_credentials *c)
{
	return a0_cm_revoke(&c->cm);
}

AUTH0_CREDENTIALS_API int
auth0_credentials_api_get(struct auth0_credentials *c, const char *audience, const char *scope,
			  long long min_ttl, const struct auth0_credentials_param *params,
			  size_t n_params, struct auth0_credentials_tokens **ret)
{
	struct a0_record *rec = NULL;
	struct a0_param *p = NULL;
	int code;

	if (!ret)
		return invalid(c, "nowhere to return the credentials");
	code = params_of(c, params, n_params, &p);
	if (code == 0)
		code = a0_cm_api_get(&c->cm, audience, scope, min_ttl, p, n_params, &rec);
	free(p);
	if (code == 0)
		code = tokens_of(c, rec, ret);
	return code;
}

AUTH0_CREDENTIALS_API int auth0_credentials_api_clear(struct auth0_credentials *c,
						      const char *audience, const char *scope)
{
	return a0_cm_api_clear(&c->cm, audience, scope);
}

AUTH0_CREDENTIALS_API int auth0_credentials_vault_get(struct auth0_credentials *c,
						      const char *connection,
						      const char *login_hint, const char *scope,
						      long long min_ttl,
						      struct auth0_credentials_tokens **ret)
{
	struct a0_record *rec = NULL;
	int code;

	if (!ret)
		return invalid(c, "nowhere to return the credentials");
	code = a0_cm_vault_get(&c->cm, connection, login_hint, scope, min_ttl, &rec);
	if (code == 0)
		code = tokens_of(c, rec, ret);
	return code;
}

AUTH0_CREDENTIALS_API int auth0_credentials_vault_clear(struct auth0_credentials *c,
							const char *connection,
							const char *login_hint)
{
	return a0_cm_vault_clear(&c->cm, connection, login_hint);
}

static int failed(struct auth0_credentials *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ DPoP */

/* The "sub"-less claim cnf.jkt of a JWT access token into out, or "" (not a JWT, no cnf). */
static void token_jkt(const char *token, char out[A0_DPOP_JKT_LEN + 1])
{
	cJSON *claims = NULL;
	const char *jkt;

	out[0] = '\0';
	if (a0_json_jwt_claims(token, &claims) == 0 &&
	    (jkt = cJSON_GetStringValue(
		     cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(claims,
										       "cnf"),
						      "jkt"))) &&
	    strlen(jkt) == A0_DPOP_JKT_LEN)
		memcpy(out, jkt, A0_DPOP_JKT_LEN + 1);
	a0_json_free(claims);
}

AUTH0_CREDENTIALS_API int auth0_credentials_dpop_headers(struct auth0_credentials *c,
							 const struct auth0_credentials_tokens *t,
							 const char *method, const char *url,
							 char **ret)
{
	struct a0_record *main = NULL;
	char *proof = NULL, *text = NULL, jkt[A0_DPOP_JKT_LEN + 1], bound[A0_DPOP_JKT_LEN + 1];
	int code, r;

	c->cm.message[0] = '\0';
	a0_result_clear(&c->cm.result);
	if (!t || !t->access_token || !t->token_type || !ret)
		return invalid(c, "no credentials to make headers of");
	if (strcasecmp(t->token_type, "DPoP") != 0) {
		/* A bearer token needs no proof: the one header, as the SDKs' getDPoPHeaders. */
		code = auth0_credentials_format(t, AUTH0_CREDENTIALS_FORMAT_HEADER, ret);
		return code == AUTH0_CREDENTIALS_OK
			       ? code
			       : failed(c, code, "the credentials cannot be printed as a header");
	}
	if (!method || !url)
		return failed(c, AUTH0_CREDENTIALS_DPOP_MISSING_PARAMETER,
			      "the token is DPoP-bound: its headers need the request's method and "
			      "URL (--dpop-method, --dpop-url), for the DPoP proof");
	r = op_load(c, A0_RECORD_MAIN, &main);
	if (r < 0 || !main->dpop_key) {
		code = failed(c, AUTH0_CREDENTIALS_DPOP_KEY_RETRIEVAL_FAILED,
			      "the token is DPoP-bound, and the %s holds no DPoP key for it",
			      c->cm.keyring_name);
		goto out;
	}
	if (!c->dpop) {
		if ((r = a0_dpop_module_load(&c->dpop, c->cm.message, sizeof(c->cm.message))) < 0) {
			code = AUTH0_CREDENTIALS_UNKNOWN;
			goto out;
		}
	}
	/* The key must be the one the token is bound to (cnf.jkt), when the token says. */
	token_jkt(t->access_token, bound);
	if ((r = c->dpop->thumbprint(main->dpop_key, jkt)) < 0 ||
	    (bound[0] && strcmp(bound, jkt) != 0)) {
		code = failed(c, AUTH0_CREDENTIALS_DPOP_KEY_RETRIEVAL_FAILED,
			      r < 0 ? "the session's DPoP key cannot be read: %s"
				    : "the session's DPoP key is not the one the token is bound "
				      "to (cnf.jkt)%s",
			      r < 0 ? a0_strerror(r) : "");
		goto out;
	}
	r = c->dpop->proof(main->dpop_key, method, url, t->access_token, &proof);
	if (r < 0) {
		code = failed(c,
			      r == A0_ERR_INVALID ? AUTH0_CREDENTIALS_INVALID_ARGUMENT
						  : AUTH0_CREDENTIALS_DPOP_GENERATION_FAILED,
			      r == A0_ERR_INVALID
				      ? "the method must be an HTTP method in capitals and the URL "
					"an absolute http(s) URL"
				      : "no DPoP proof: %s",
			      a0_strerror(r));
		goto out;
	}
	if (asprintf(&text, "Authorization: DPoP %s\nDPoP: %s\n", t->access_token, proof) < 0) {
		text = NULL;
		code = failed(c, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		goto out;
	}
	*ret = text;
	code = AUTH0_CREDENTIALS_OK;
out:
	a0_secret_free(proof);
	a0_record_free(main);
	return code;
}

/* ------------------------------------------------------------------ exchanges without a record */

static int failed(struct auth0_credentials *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(c->cm.message, sizeof(c->cm.message), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * An exchange the caller asks auth0-broker for with a subject of its own (not the session's
 * record): send req, and turn the answer into the caller's tokens or a code and message.
 */
static int broker_exchange(struct auth0_credentials *c, const struct a0_broker_request *req,
			   const char *what, struct auth0_credentials_tokens **ret)
{
	struct a0_result *res = &c->cm.result;
	struct auth0_credentials_tokens *out;
	struct a0_tokens *t = NULL;
	int r, code;

	r = a0_broker_send(req, c->timeout, &t, res);
	if (r < 0) {
		code = a0_cm_code_of(r, A0_CM_JOB_VAULT);
		if (r == A0_ERR_NOT_FOUND)
			code = AUTH0_CREDENTIALS_NO_FEDERATED_TOKEN;
		if (a0_vault_explain(r, res))
			return failed(c, code, "%s for connection %s: %s (HTTP %ld %s: %s)", what,
				      req->connection, a0_vault_explain(r, res), res->status,
				      res->error, res->description);
		if (res->status)
			return failed(c, code, "%s: HTTP %ld %s: %s", what, res->status, res->error,
				      res->description);
		return failed(c, code, "%s: %s", what,
			      res->description[0] ? res->description : a0_strerror(r));
	}
	out = calloc(1, sizeof(*out));
	if (!out || !t || !t->access_token ||
	    !(out->token_type = strdup(t->token_type ? t->token_type : "Bearer")) ||
	    (t->scope && !(out->scope = strdup(t->scope)))) {
		code = failed(c, AUTH0_CREDENTIALS_UNKNOWN, "%s: %s", what,
			      t ? "out of memory" : "auth0-broker answered without a token");
		auth0_credentials_tokens_free(out);
		a0_tokens_free(t);
		return code;
	}
	out->access_token = t->access_token;
	t->access_token = NULL;
	out->expires_at = (long long)time(NULL) + t->expires_in;
	a0_tokens_free(t);
	*ret = out;
	return AUTH0_CREDENTIALS_OK;
}

/* Checks shared by the two exchanges: 0, or INVALID_ARGUMENT with the reason. */
static int exchange_args(struct auth0_credentials *c, const char *connection,
			 const char *login_hint, const char *scope, void *ret)
{
	if (!ret)
		return invalid(c, "nowhere to return the credentials");
	if (!a0_vault_connection_ok(connection))
		return invalid(c, "the connection must be a name of 1 to 128 printable characters "
				  "without blanks or ':'");
	if (login_hint && !a0_vault_login_hint_ok(login_hint))
		return invalid(c, "the login hint must be 1 to 256 printable characters without "
				  "blanks");
	if (scope && (!*scope || !a0_text_ok(scope, strlen(scope), A0_TEXT_ASCII)))
		return invalid(c, "the scope must be printable ASCII");
	return AUTH0_CREDENTIALS_OK;
}

AUTH0_CREDENTIALS_API int
auth0_credentials_vault_exchange(struct auth0_credentials *c, const char *access_token,
				 const char *connection, const char *login_hint, const char *scope,
				 struct auth0_credentials_tokens **ret)
{
	struct a0_broker_request req = { .op = A0_BROKER_EXCHANGE,
					 .connection = (char *)(uintptr_t)connection,
					 .login_hint = (char *)(uintptr_t)login_hint,
					 .scope = (char *)(uintptr_t)scope,
					 .access_token = (char *)(uintptr_t)access_token };
	int code;

	c->cm.message[0] = '\0';
	a0_result_clear(&c->cm.result);
	if ((code = exchange_args(c, connection, login_hint, scope, ret)) != 0)
		return code;
	if (!access_token || !*access_token ||
	    !a0_text_ok(access_token, strlen(access_token), A0_TEXT_TOKEN) ||
	    strlen(access_token) > A0_MAX_TOKEN)
		return invalid(c, "the access token must be one token of printable characters");
	return broker_exchange(c, &req, "the Token Vault access-token exchange failed", ret);
}

AUTH0_CREDENTIALS_API int
auth0_credentials_vault_worker(struct auth0_credentials *c, const char *user_id,
			       const char *connection, const char *login_hint, const char *scope,
			       const char *audit_context, struct auth0_credentials_tokens **ret)
{
	struct a0_broker_request req = { .op = A0_BROKER_WORKER,
					 .connection = (char *)(uintptr_t)connection,
					 .login_hint = (char *)(uintptr_t)login_hint,
					 .scope = (char *)(uintptr_t)scope,
					 .subject = (char *)(uintptr_t)user_id,
					 .audit_context = (char *)(uintptr_t)audit_context };
	int code;

	c->cm.message[0] = '\0';
	a0_result_clear(&c->cm.result);
	if ((code = exchange_args(c, connection, login_hint, scope, ret)) != 0)
		return code;
	if (!user_id || !*user_id || strlen(user_id) > A0_BROKER_MAX_SUBJECT ||
	    !a0_text_ok(user_id, strlen(user_id), A0_TEXT_TOKEN))
		return invalid(c, "the user ID must be an Auth0 user id such as auth0|123 (1 to "
				  "256 printable characters without blanks)");
	if (audit_context && (!*audit_context || strlen(audit_context) > A0_BROKER_MAX_AUDIT ||
			      !a0_text_ok(audit_context, strlen(audit_context), A0_TEXT_ASCII)))
		return invalid(c, "the audit context must be 1 to 200 printable ASCII characters");
	return broker_exchange(c, &req, "the Token Vault worker exchange failed", ret);
}

/* The public headers as the core's name (key) and value pairs. */
static int headers_of(struct auth0_credentials *c, const struct auth0_credentials_header *headers,
		      size_t n, struct a0_param **ret)
{
	return pairs_of(c, headers, sizeof(*headers),
			offsetof(struct auth0_credentials_header, name),
			offsetof(struct auth0_credentials_header, value), n, A0_CM_MAX_HEADERS,
			"too many extra headers", ret);
}

AUTH0_CREDENTIALS_API int auth0_credentials_sso(struct auth0_credentials *c,
						const struct auth0_credentials_param *params,
						size_t n_params, struct auth0_credentials_sso **ret)
{
	return auth0_credentials_sso_headers(c, params, n_params, NULL, 0, ret);
}

AUTH0_CREDENTIALS_API int
auth0_credentials_sso_headers(struct auth0_credentials *c,
			      const struct auth0_credentials_param *params, size_t n_params,
			      const struct auth0_credentials_header *headers, size_t n_headers,
			      struct auth0_credentials_sso **ret)
{
	struct auth0_credentials_sso *s = NULL;
	struct a0_param *p = NULL, *h = NULL;
	struct a0_record *rec = NULL;
	long long expires_in = 0;
	int code;

	if (!ret)
		return invalid(c, "nowhere to return the credentials");
	code = params_of(c, params, n_params, &p);
	if (code == 0)
		code = headers_of(c, headers, n_headers, &h);
	if (code == 0)
		code = a0_cm_sso(&c->cm, p, n_params, h, n_headers, &rec, &expires_in);
	free(p);
	free(h);
	if (code != 0)
		return code;
	s = calloc(1, sizeof(*s));
	if (s) {
		s->session_transfer_token = a0_secret_dup(rec->access_token);
		s->token_type = strdup(rec->token_type ? rec->token_type : "N_A");
		s->expires_in = expires_in;
	}
	a0_record_free(rec);
	if (!s || !s->session_transfer_token || !s->token_type) {
		auth0_credentials_sso_free(s);
		a0_format(c->cm.message, sizeof(c->cm.message), "out of memory");
		return AUTH0_CREDENTIALS_UNKNOWN;
	}
	*ret = s;
	return AUTH0_CREDENTIALS_OK;
}

AUTH0_CREDENTIALS_API int
auth0_credentials_sso_exchange(struct auth0_credentials *c, const char *refresh_token,
			       const struct auth0_credentials_tenant *tenant,
			       const struct auth0_credentials_param *params, size_t n_params,
			       const struct auth0_credentials_header *headers, size_t n_headers,
			       struct auth0_credentials_sso **ret)
{
	const struct auth0_credentials_tenant none = { 0 };
	struct auth0_credentials_sso *s = NULL;
	struct a0_param *p = NULL, *h = NULL;
	struct a0_tokens *t = NULL;
	int code;

	if (!ret)
		return invalid(c, "nowhere to return the credentials");
	if (!tenant)
		tenant = &none;
	code = params_of(c, params, n_params, &p);
	if (code == 0)
		code = headers_of(c, headers, n_headers, &h);
	if (code == 0)
		code = a0_cm_sso_exchange(&c->cm, refresh_token, tenant->domain, tenant->client_id,
					  tenant->ca_file, p, n_params, h, n_headers, &t);
	free(p);
	free(h);
	if (code != 0)
		return code;
	/* The answer's strings move to the caller: no copies of the secrets. */
	if ((s = calloc(1, sizeof(*s)))) {
		s->session_transfer_token = t->access_token;
		s->id_token = t->id_token;
		s->refresh_token = t->refresh_token;
		t->access_token = t->id_token = t->refresh_token = NULL;
		s->token_type = strdup(t->token_type ? t->token_type : "N_A");
		s->expires_in = t->expires_in;
	}
	a0_tokens_free(t);
	if (!s || !s->token_type) {
		auth0_credentials_sso_free(s);
		a0_format(c->cm.message, sizeof(c->cm.message), "out of memory");
		return AUTH0_CREDENTIALS_UNKNOWN;
	}
	*ret = s;
	return AUTH0_CREDENTIALS_OK;
}

/* ------------------------------------------------------------------ from inside a session */

/* A request the tenant module answered with r (not 0): code, and res as the last failure. */
static int tenant_failed(struct auth0_credentials *c, int r, const struct a0_result *res, int code,
			 const char *what)
{
	c->cm.result.status = res->status;
	c->cm.result.retry_after = res->retry_after;
	a0_format(c->cm.result.error, sizeof(c->cm.result.error), "%s", res->error);
	a0_format(c->cm.result.description, sizeof(c->cm.result.description), "%s",
		  res->description);
	if (r == A0_ERR_NETWORK || r == A0_ERR_TIMEOUT || r == A0_ERR_TLS)
		code = AUTH0_CREDENTIALS_NO_NETWORK;
	else if (r == A0_ERR_NOMEM)
		code = AUTH0_CREDENTIALS_UNKNOWN;
	if (res->error[0])
		return failed(c, code, "%s: HTTP %ld %s: %s", what, res->status, res->error,
			      res->description);
	return failed(c, code, "%s: %s%s%s%s", what, a0_strerror(r),
		      res->description[0] ? " (" : "", res->description,
		      res->description[0] ? ")" : "");
}

static int need_tenant(struct auth0_credentials *c)
{
	if (!c->tenant && load_tenant(c, c->cm.message, sizeof(c->cm.message)) < 0)
		return AUTH0_CREDENTIALS_UNKNOWN;
	return AUTH0_CREDENTIALS_OK;
}

AUTH0_CREDENTIALS_API int auth0_credentials_userinfo(struct auth0_credentials *c, long long min_ttl,
						     char **ret)
{
	struct a0_result res = { .retry_after = -1 };
	struct a0_record *rec = NULL;
	char *json = NULL;
	int code, r;

	if (!ret)
		return invalid(c, "nowhere to return the user's profile");
	/* The CredentialsManager's rules: the stored token, renewed when it will not do. */
	if ((code = a0_cm_get(&c->cm, NULL, min_ttl, false, NULL, 0, &rec)) != 0)
		return code;
	if ((code = need_tenant(c)) != 0)
		goto out;
	/* No client authentication at /userinfo: a confidential application's record too. */
	r = c->tenant->userinfo(rec, c->timeout, &json, &res);
	if (r < 0) {
		code = tenant_failed(c, r, &res, AUTH0_CREDENTIALS_USERINFO_FAILED,
				     "the tenant's /userinfo failed");
		goto out;
	}
	*ret = json;
out:
	a0_result_clear(&res);
	a0_record_free(rec);
	return code;
}

/*
 * Replace the keyring's credentials by rec, under the refresh lock: saved as the main record
 * (through the store of pam_sm_open_session when login), then every other record removed (API,
 * session transfer and Token Vault tokens of the identity before it).
 */
static int replace_credentials(struct auth0_credentials *c, const struct a0_record *rec, bool login)
{
	struct a0_result res = { .retry_after = -1 };
	char err[256] = "";
	int handle = -1, code = AUTH0_CREDENTIALS_OK, r;

	if ((r = op_lock(c, A0_CM_LOCK_RECORD, &handle, err, sizeof(err))) < 0)
		return failed(c, AUTH0_CREDENTIALS_UNKNOWN,
			      "could not take the lock that serialises refreshes: %s", err);
	r = login ? c->tenant->store_login(rec, c->keyring == KEY_SPEC_USER_KEYRING, &res)
		  : op_save(c, A0_RECORD_MAIN, rec);
	if (r < 0) {
		code = failed(c, a0_cm_store_code(r),
			      "could not store the credentials in the %s: %s%s%s",
			      c->cm.keyring_name, a0_strerror(r), res.description[0] ? ": " : "",
			      res.description);
		goto out;
	}
	if ((r = op_clear(c, A0_RECORD_MAIN)) < 0)
		code = failed(c, AUTH0_CREDENTIALS_STORE_FAILED,
			      "the credentials are stored, but the %s's other records of the "
			      "identity before could not be removed: %s",
			      c->cm.keyring_name, a0_strerror(r));
out:
	op_unlock(c, handle);
	a0_result_clear(&res);
	return code;
}

/* The tenant of an exchange: the caller's members, else the stored credentials'. */
static int exchange_tenant(struct auth0_credentials *c, const struct auth0_credentials_tenant *t,
			   struct a0_record **ret)
{
	struct a0_record *stored = NULL, *n;
	int r = 0;

	if ((!t->domain || !t->client_id) && (r = op_load(c, A0_RECORD_MAIN, &stored)) < 0 &&
	    r != A0_ERR_NOT_FOUND && r != A0_ERR_MALFORMED && r != A0_ERR_VERSION)
		return failed(c, a0_cm_store_code(r), "could not read the %s: %s",
			      c->cm.keyring_name, a0_strerror(r));
	r = 0; /* none stored, or not one to read: the caller's members alone */
	if (!(n = calloc(1, sizeof(*n))) ||
	    a0_strdup_into(&n->domain, t->domain ? t->domain
				       : stored  ? stored->domain
						 : NULL) < 0 ||
	    a0_strdup_into(&n->client_id, t->client_id ? t->client_id
					  : stored     ? stored->client_id
						       : NULL) < 0 ||
	    a0_strdup_into(&n->ca_file, t->ca_file ? t->ca_file
					: stored   ? stored->ca_file
						   : NULL) < 0) {
		a0_record_free(n);
		a0_record_free(stored);
		return failed(c, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	}
	/* The stored application's way of authenticating, when it is the one asked. */
	if (stored && stored->client_auth && !t->domain && !t->client_id)
		r = a0_strdup_into(&n->client_auth, stored->client_auth);
	a0_record_free(stored);
	if (r < 0) {
		a0_record_free(n);
		return failed(c, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	}
	if (!n->domain || !n->client_id || !a0_domain_valid(n->domain) ||
	    !a0_cm_token_ok(n->client_id) || (n->ca_file && n->ca_file[0] != '/')) {
		a0_record_free(n);
		return invalid(c,
			       "the tenant's domain (host[:port]) and client ID are needed, and "
			       "the CA file must be an absolute path (no stored credentials to take "
			       "them from)");
	}
	if (a0_record_uses_broker(n)) {
		a0_record_free(n);
		return failed(c, AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED,
			      "Custom Token Exchange is made as a public application: the stored "
			      "credentials are a confidential one's (give --domain and --client-id)");
	}
	*ret = n;
	return AUTH0_CREDENTIALS_OK;
}

AUTH0_CREDENTIALS_API int auth0_credentials_exchange(struct auth0_credentials *c,
						     const char *subject_token,
						     const char *subject_token_type,
						     const char *audience, const char *scope,
						     const struct auth0_credentials_tenant *tenant,
						     struct auth0_credentials_tokens **ret)
{
	const struct auth0_credentials_tenant none = { 0 };
	struct a0_result res = { .retry_after = -1 };
	struct a0_record *where = NULL, *n = NULL;
	struct a0_tokens *t = NULL;
	time_t issued;
	int code, r;

	c->cm.message[0] = '\0';
	a0_result_clear(&c->cm.result);
	if (!a0_cm_token_ok(subject_token))
		return invalid(c, "the subject token must be one word of printable ASCII");
	if (!subject_token_type || !*subject_token_type ||
	    strlen(subject_token_type) > A0_MAX_TOKEN_TYPE ||
	    !a0_text_ok(subject_token_type, strlen(subject_token_type), A0_TEXT_TOKEN) ||
	    !strchr(subject_token_type, ':'))
		return invalid(c,
			       "the subject token type must be a URI (e.g. urn:acme:legacy-token) "
			       "of printable ASCII without blanks");
	if ((audience && (!*audience || !a0_text_ok(audience, strlen(audience), A0_TEXT_TOKEN) ||
			  strlen(audience) > A0_MAX_PARAM_VALUE)) ||
	    (scope && (!*scope || !a0_text_ok(scope, strlen(scope), A0_TEXT_ASCII) ||
		       strlen(scope) > A0_MAX_PARAM_VALUE)))
		return invalid(c, "the audience must be one word and the scope printable ASCII");
	if ((code = exchange_tenant(c, tenant ? tenant : &none, &where)) != 0)
		return code;
	if ((code = need_tenant(c)) != 0)
		goto out;
	/* In this process: the answer is a new session, not the rotation of a stored one. */
	issued = time(NULL);
	r = c->tenant->exchange(where, c->timeout, subject_token, subject_token_type, audience,
				scope, &t, &res);
	if (r < 0) {
		code = tenant_failed(c, r, &res, AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED,
				     "the Custom Token Exchange failed");
		goto out;
	}
	if (!a0_cm_tokens_ok(t)) {
		code = failed(c, AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED,
			      "the tenant's token response holds a token that is not printable "
			      "ASCII");
		goto out;
	}
	if (a0_cm_exchange_record(where, t, audience, scope, issued, &n) < 0 ||
	    a0_strdup_into(&n->refresh_token, t->refresh_token) < 0) {
		code = failed(c, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		goto out;
	}
	if ((code = replace_credentials(c, n, false)) != 0)
		goto out;
	if (ret) {
		code = tokens_of(c, n, ret);
		n = NULL; /* taken */
	}
out:
	a0_result_clear(&res);
	a0_record_free(where);
	a0_record_free(n);
	a0_tokens_free(t);
	return code;
}

/* The public prompter behind the core's (lib/mfa.h). */
static int ask_public(void *ctx, bool echo, const char *prompt, char **ret_reply)
{
	const struct auth0_credentials_prompter *p = ctx;
	char *reply = NULL;

	if (!p->ask || p->ask(p->ctx, echo, prompt, &reply) != 0 || !reply) {
		a0_secret_free(reply);
		return A0_ERR_CONV;
	}
	*ret_reply = reply;
	return 0;
}

static void tell_public(void *ctx, bool error, const char *text)
{
	const struct auth0_credentials_prompter *p = ctx;

	if (p->tell)
		p->tell(p->ctx, error, text);
}

AUTH0_CREDENTIALS_API int auth0_credentials_login(struct auth0_credentials *c, const char *config,
						  enum auth0_credentials_login_method method,
						  const struct auth0_credentials_prompter *p)
{
	struct a0_result res = { .retry_after = -1 };
	const struct a0_prompter core = { .ctx = (void *)(uintptr_t)p,
					  .ask = ask_public,
					  .tell = tell_public };
	struct a0_tenant_login req = { .config = config,
				       .device = method == AUTH0_CREDENTIALS_LOGIN_DEVICE,
				       .prompter = &core };
	struct a0_record *rec = NULL;
	int code, r;

	c->cm.message[0] = '\0';
	a0_result_clear(&c->cm.result);
	if (!p || !p->ask)
		return invalid(c, "a sign-in needs a prompter");
	if (method != AUTH0_CREDENTIALS_LOGIN_PASSWORD && method != AUTH0_CREDENTIALS_LOGIN_DEVICE)
		return invalid(c, "the method must be password or device");
	if (config && (config[0] != '/' || strlen(config) > PATH_MAX))
		return invalid(c, "the configuration must be an absolute path");
	if ((code = need_tenant(c)) != 0)
		return code;
	r = c->tenant->login(&req, &rec, &res);
	if (r == A0_ERR_POLICY) {
		code = tenant_failed(c, r, &res, AUTH0_CREDENTIALS_LOGIN_REFUSED,
				     "signed in, but refused for this account");
		goto out;
	}
	if (r < 0) {
		code = tenant_failed(c, r, &res, AUTH0_CREDENTIALS_LOGIN_FAILED,
				     "the sign-in failed");
		goto out;
	}
	code = replace_credentials(c, rec, true);
out:
	a0_result_clear(&res);
	a0_record_free(rec);
	return code;
}

AUTH0_CREDENTIALS_API int auth0_credentials_logout(struct auth0_credentials *c)
{
	int code = a0_cm_revoke(&c->cm);

	/* Nothing to revoke: what is stored goes all the same. */
	return code == AUTH0_CREDENTIALS_NO_REFRESH_TOKEN ? a0_cm_clear(&c->cm) : code;
}

/* ------------------------------------------------------------------ text */

static int append(struct a0_buf *b, const char *s)
{
	return a0_buf_append(b, s, strlen(s));
}

/* NAME='value' for a POSIX shell: inside single quotes only ' itself needs care. */
static int append_assignment(struct a0_buf *b, const char *name, const char *value)
{
	int r = append(b, name);

	if (r == 0)
		r = append(b, "='");
	for (const char *p = value ? value : ""; r == 0 && *p; p++)
		r = *p == '\'' ? append(b, "'\\''") : a0_buf_append(b, p, 1);
	if (r == 0)
		r = append(b, "'\n");
	return r;
}

static int json_line(cJSON *o, struct a0_buf *b)
{
	char *text = o ? a0_json_print(o) : NULL;
	int r;

	if (!text)
		return A0_ERR_NOMEM;
	r = append(b, text);
	if (r == 0)
		r = append(b, "\n");
	a0_secret_free(text);
	return r;
}

static cJSON *add_string_or_null(cJSON *o, const char *name, const char *value)
{
	if (!o)
		return NULL;
	if (!(value ? cJSON_AddStringToObject(o, name, value) : cJSON_AddNullToObject(o, name))) {
		a0_json_free(o);
		return NULL;
	}
	return o;
}

static cJSON *add_number(cJSON *o, const char *name, long long value)
{
	if (!o)
		return NULL;
	if (!cJSON_AddNumberToObject(o, name, (double)value)) {
		a0_json_free(o);
		return NULL;
	}
	return o;
}

static int finish(struct a0_buf *b, int r, char **ret)
{
	if (r == A0_ERR_INVALID) {
		a0_buf_free(b);
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	}
	if (r < 0) {
		a0_buf_free(b);
		return AUTH0_CREDENTIALS_UNKNOWN;
	}
	*ret = a0_buf_steal(b);
	return AUTH0_CREDENTIALS_OK;
}

/* One field of a formatted answer: its JSON member and shell variable, a string or a number. */
struct out_field {
	const char *json, *env;
	const char *text; /* NULL: null in JSON, empty in env */
	long long number;
	bool is_number;
};

/*
 * The formats of both kinds of credentials: JSON and env list the fields, in order; token is
 * the one token the token format prints; header_type the scheme of the header format, which only
 * an access token has (NULL: no header format).
 */
static int format_fields(const struct out_field *fields, size_t n, const char *token,
			 const char *header_type, enum auth0_credentials_format format, char **ret)
{
	struct a0_buf b = { 0 };
	char num[32];
	cJSON *o;
	int r = 0;

	switch (format) {
	case AUTH0_CREDENTIALS_FORMAT_JSON:
		o = cJSON_CreateObject();
		for (size_t i = 0; i < n; i++)
			o = fields[i].is_number
				    ? add_number(o, fields[i].json, fields[i].number)
				    : add_string_or_null(o, fields[i].json, fields[i].text);
		r = json_line(o, &b);
		a0_json_free(o);
		break;
	case AUTH0_CREDENTIALS_FORMAT_TOKEN:
		r = a0_cm_token_ok(token) ? append(&b, token) : A0_ERR_INVALID;
		if (r == 0)
			r = append(&b, "\n");
		break;
	case AUTH0_CREDENTIALS_FORMAT_HEADER:
		/* RFC 6750 spells the scheme "Bearer" whatever case the tenant used. */
		r = header_type && a0_cm_token_ok(token) && a0_cm_token_ok(header_type)
			    ? 0
			    : A0_ERR_INVALID;
		if (r == 0)
			r = append(&b, "Authorization: ");
		if (r == 0)
			r = append(&b,
				   strcasecmp(header_type, "bearer") == 0 ? "Bearer" : header_type);
		if (r == 0)
			r = append(&b, " ");
		if (r == 0)
			r = append(&b, token);
		if (r == 0)
			r = append(&b, "\n");
		break;
	case AUTH0_CREDENTIALS_FORMAT_ENV:
		for (size_t i = 0; i < n && r == 0; i++) {
			const char *value = fields[i].text;

			if (fields[i].is_number) {
				snprintf(num, sizeof(num), "%lld", fields[i].number);
				value = num;
			}
			r = append_assignment(&b, fields[i].env, value);
		}
		break;
	default:
		r = A0_ERR_INVALID;
	}
	return finish(&b, r, ret);
}

AUTH0_CREDENTIALS_API int auth0_credentials_format(const struct auth0_credentials_tokens *t,
						   enum auth0_credentials_format format, char **ret)
{
	if (!t || !ret || !t->access_token || !t->token_type)
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	/* A DPoP token's header alone looks usable and is not: auth0_credentials_dpop_headers. */
	if (format == AUTH0_CREDENTIALS_FORMAT_HEADER && strcasecmp(t->token_type, "DPoP") == 0)
		return AUTH0_CREDENTIALS_DPOP_MISSING_PARAMETER;
	const struct out_field fields[] = {
		{ .json = "access_token", .env = "AUTH0_ACCESS_TOKEN", .text = t->access_token },
		{ .json = "id_token", .env = "AUTH0_ID_TOKEN", .text = t->id_token },
		{ .json = "token_type", .env = "AUTH0_TOKEN_TYPE", .text = t->token_type },
		{ .json = "expires_at",
		  .env = "AUTH0_EXPIRES_AT",
		  .number = t->expires_at,
		  .is_number = true },
		{ .json = "scope", .env = "AUTH0_SCOPE", .text = t->scope },
	};

	return format_fields(fields, A0_ARRAY_SIZE(fields), t->access_token, t->token_type, format,
			     ret);
}

AUTH0_CREDENTIALS_API int auth0_credentials_sso_format(const struct auth0_credentials_sso *s,
						       enum auth0_credentials_format format,
						       char **ret)
{
	if (!s || !ret || !s->session_transfer_token || !s->token_type)
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	const struct out_field fields[] = {
		{ .json = "session_transfer_token",
		  .env = "AUTH0_SESSION_TRANSFER_TOKEN",
		  .text = s->session_transfer_token },
		{ .json = "token_type", .env = "AUTH0_TOKEN_TYPE", .text = s->token_type },
		{ .json = "expires_in",
		  .env = "AUTH0_EXPIRES_IN",
		  .number = s->expires_in,
		  .is_number = true },
		/* Only from sso_exchange, and only when the answer had them. */
		{ .json = "id_token", .env = "AUTH0_ID_TOKEN", .text = s->id_token },
		{ .json = "refresh_token", .env = "AUTH0_REFRESH_TOKEN", .text = s->refresh_token },
	};
	size_t n = 3;

	if (s->id_token || s->refresh_token)
		n = A0_ARRAY_SIZE(fields);
	/* The token format alone would drop a rotated refresh token the caller must keep. */
	if (s->refresh_token && format == AUTH0_CREDENTIALS_FORMAT_TOKEN)
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	return format_fields(fields, n, s->session_transfer_token, NULL, format, ret);
}

/* ------------------------------------------------------------------ errors */

AUTH0_CREDENTIALS_API const char *auth0_credentials_code_name(int code)
{
	return a0_cm_code_name(code);
}

AUTH0_CREDENTIALS_API const char *auth0_credentials_message(const struct auth0_credentials *c)
{
	return c->cm.message;
}

AUTH0_CREDENTIALS_API const char *auth0_credentials_auth0_error(const struct auth0_credentials *c)
{
	return c->cm.result.error;
}

AUTH0_CREDENTIALS_API const char *
auth0_credentials_auth0_error_description(const struct auth0_credentials *c)
{
	return c->cm.result.error[0] ? c->cm.result.description : "";
}

AUTH0_CREDENTIALS_API char *auth0_credentials_error_json(const struct auth0_credentials *c,
							 int code, const char *message)
{
	const char *name = a0_cm_code_name(code);
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (!message)
		message = c ? c->cm.message : "";
	o = add_string_or_null(o, "error", name ? name : "UNKNOWN");
	o = add_string_or_null(o, "message", message);
	if (c && c->cm.result.error[0]) {
		o = add_string_or_null(o, "auth0_error", c->cm.result.error);
		o = add_string_or_null(o, "auth0_error_description", c->cm.result.description);
	}
	if (c && c->cm.result.status)
		o = add_number(o, "http_status", c->cm.result.status);
	text = o ? a0_json_print(o) : NULL;
	a0_json_free(o);
	return text;
}
