/* SPDX-License-Identifier: MIT */
/*
 * Auth0's CredentialsManager semantics over one keyring (see manager.h): the decisions. What
 * runs under the lock, a request to the tenant and the saving of its answer, is in jobs.c. The
 * rules that keep a session alive under refresh-token rotation:
 *   - every refresh of a session holds the lock of the record with the refresh token, and
 *     re-reads the records once it has it: a refresh another process finished meanwhile is
 *     used, not repeated (a second use of a rotated-out token would revoke the family);
 *   - the rotated refresh token is stored before anything else is decided (LARGE_MIN_TTL);
 *   - a failed refresh leaves every record as it was.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <auth0/credentials.h>

#include "credentials/manager.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "lib/util.h"

/* Most scope words compared; Auth0 scopes are a handful. */
#define MAX_SCOPE_WORDS 128
#define MAX_AUDIENCE 2048

static const char *const code_names[] = {
	[AUTH0_CREDENTIALS_OK] = "OK",
	[AUTH0_CREDENTIALS_NOT_VALID] = "NOT_VALID",
	[AUTH0_CREDENTIALS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[AUTH0_CREDENTIALS_NO_CREDENTIALS] = "NO_CREDENTIALS",
	[AUTH0_CREDENTIALS_NO_REFRESH_TOKEN] = "NO_REFRESH_TOKEN",
	[AUTH0_CREDENTIALS_RENEW_FAILED] = "RENEW_FAILED",
	[AUTH0_CREDENTIALS_API_EXCHANGE_FAILED] = "API_EXCHANGE_FAILED",
	[AUTH0_CREDENTIALS_SSO_EXCHANGE_FAILED] = "SSO_EXCHANGE_FAILED",
	[AUTH0_CREDENTIALS_STORE_FAILED] = "STORE_FAILED",
	[AUTH0_CREDENTIALS_LARGE_MIN_TTL] = "LARGE_MIN_TTL",
	[AUTH0_CREDENTIALS_NO_NETWORK] = "NO_NETWORK",
	[AUTH0_CREDENTIALS_REVOKE_FAILED] = "REVOKE_FAILED",
	[AUTH0_CREDENTIALS_MFA_REQUIRED] = "MFA_REQUIRED",
	[AUTH0_CREDENTIALS_UNKNOWN] = "UNKNOWN",
	[AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED] = "VAULT_EXCHANGE_FAILED",
	[AUTH0_CREDENTIALS_NO_FEDERATED_TOKEN] = "NO_FEDERATED_TOKEN",
	[AUTH0_CREDENTIALS_DPOP_MISSING_PARAMETER] = "DPOP_MISSING_PARAMETER",
	[AUTH0_CREDENTIALS_DPOP_KEY_RETRIEVAL_FAILED] = "DPOP_KEY_RETRIEVAL_FAILED",
	[AUTH0_CREDENTIALS_DPOP_GENERATION_FAILED] = "DPOP_GENERATION_FAILED",
	[AUTH0_CREDENTIALS_USERINFO_FAILED] = "USERINFO_FAILED",
	[AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED] = "TOKEN_EXCHANGE_FAILED",
	[AUTH0_CREDENTIALS_LOGIN_FAILED] = "LOGIN_FAILED",
	[AUTH0_CREDENTIALS_LOGIN_REFUSED] = "LOGIN_REFUSED",
};

const char *a0_cm_code_name(int code)
{
	if (code < 0 || code >= (int)A0_ARRAY_SIZE(code_names))
		return NULL;
	return code_names[code];
}

static int fail(struct a0_cm *cm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct a0_cm *cm, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(cm->message, sizeof(cm->message), fmt, ap);
	va_end(ap);
	return code;
}

static void reset(struct a0_cm *cm)
{
	cm->message[0] = '\0';
	a0_result_clear(&cm->result);
}

static time_t now(struct a0_cm *cm)
{
	return cm->ops->now(cm->ops->ctx);
}

/* ------------------------------------------------------------------ decisions */

/* Split s into at most max words (pointer, length); false when there are more. */
static bool scope_words(const char *s, const char **w, size_t *len, size_t max, size_t *ret_n)
{
	size_t n = 0;

	while (s && *s) {
		size_t l;

		s += strspn(s, " ");
		l = strcspn(s, " ");
		if (l == 0)
			break;
		if (n == max)
			return false;
		w[n] = s;
		len[n++] = l;
		s += l;
	}
	*ret_n = n;
	return true;
}

static bool word_in(const char *w, size_t l, const char **set, const size_t *len, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (len[i] == l && strncasecmp(set[i], w, l) == 0)
			return true;
	return false;
}

bool a0_cm_scope_equal(const char *a, const char *b)
{
	const char *wa[MAX_SCOPE_WORDS], *wb[MAX_SCOPE_WORDS];
	size_t la[MAX_SCOPE_WORDS], lb[MAX_SCOPE_WORDS], na, nb;

	if (!scope_words(a, wa, la, MAX_SCOPE_WORDS, &na) ||
	    !scope_words(b, wb, lb, MAX_SCOPE_WORDS, &nb))
		return false;
	for (size_t i = 0; i < na; i++)
		if (!word_in(wa[i], la[i], wb, lb, nb))
			return false;
	for (size_t i = 0; i < nb; i++)
		if (!word_in(wb[i], lb[i], wa, la, na))
			return false;
	return true;
}

bool a0_cm_valid_for(const struct a0_record *r, time_t t, long long min_ttl)
{
	return r && r->access_token && r->expires_at > t &&
	       (long long)(r->expires_at - t) >= min_ttl;
}

enum a0_cm_decision a0_cm_decide(const struct a0_record *r, time_t t, const char *scope,
				 long long min_ttl, bool force)
{
	if (!force && a0_cm_valid_for(r, t, min_ttl) &&
	    (!scope || a0_cm_scope_equal(scope, r->scope)))
		return A0_CM_USE_STORED;
	if (!r->refresh_token || !*r->refresh_token)
		return A0_CM_NO_REFRESH_TOKEN;
	return A0_CM_REFRESH;
}

bool a0_cm_token_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= A0_MAX_TOKEN && a0_text_ok(s, n, A0_TEXT_TOKEN);
}

/* RFC 9110's tchar: what a header name may be made of. */
static bool header_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > A0_CM_MAX_HEADER_NAME)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* Headers that would change what the request means, how it is framed, or who it is from. */
static bool header_reserved(const char *name)
{
	static const char *const reserved[] = {
		"host",
		"authorization",
		"proxy-authorization",
		"cookie",
		"transfer-encoding",
		"connection",
		"te",
		"upgrade",
		"expect",
		"accept",
		"forwarded",
		"auth0-forwarded-for",
		"dpop",
		"keep-alive",
		"trailer",
		"proxy-connection",
	};

	if (strncasecmp(name, "content-", 8) == 0 || strncasecmp(name, "x-forwarded-", 12) == 0)
		return true;
	for (size_t i = 0; i < A0_ARRAY_SIZE(reserved); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return true;
	return false;
}

int a0_cm_headers_check(const struct a0_param *headers, size_t n, char *err, size_t errlen)
{
	if (n > A0_CM_MAX_HEADERS) {
		a0_format(err, errlen, "at most %d extra headers", A0_CM_MAX_HEADERS);
		return A0_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = headers[i].key, *value = headers[i].value;

		if (!name || !header_name_ok(name)) {
			a0_format(err, errlen,
				  "a header name must be 1 to %d letters, digits or !#$%%&'*+-.^_`|~",
				  A0_CM_MAX_HEADER_NAME);
			return A0_ERR_INVALID;
		}
		if (!value || strlen(value) > A0_CM_MAX_HEADER_VALUE ||
		    !a0_text_ok(value, strlen(value), A0_TEXT_ASCII)) {
			a0_format(err, errlen,
				  "the value of header %s must be printable ASCII of at most %d "
				  "bytes (no CR, LF or other control characters)",
				  name, A0_CM_MAX_HEADER_VALUE);
			return A0_ERR_INVALID;
		}
		if (header_reserved(name)) {
			a0_format(err, errlen,
				  "header %s would change the request's meaning or security", name);
			return A0_ERR_INVALID;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(headers[j].key, name) == 0) {
				a0_format(err, errlen, "header %s is given twice", name);
				return A0_ERR_INVALID;
			}
		}
	}
	return 0;
}

bool a0_cm_tokens_ok(const struct a0_tokens *t)
{
	return a0_cm_token_ok(t->access_token) && a0_cm_token_ok(t->token_type) &&
	       (!t->id_token || a0_cm_token_ok(t->id_token)) &&
	       (!t->refresh_token || a0_cm_token_ok(t->refresh_token));
}

/* Same access token (or both absent): no refresh happened in between. */
static bool same_tokens(const struct a0_record *a, const struct a0_record *b)
{
	if (!a || !b)
		return !a && !b;
	return a->expires_at == b->expires_at && a->access_token && b->access_token &&
	       strcmp(a->access_token, b->access_token) == 0;
}

/* Put the tokens of t into n; scope when t has none (Auth0 omits an unchanged scope). */
static int fill_tokens(struct a0_record *n, const struct a0_tokens *t, const char *scope,
		       time_t issued)
{
	a0_secret_clear(&n->access_token);
	free(n->token_type);
	free(n->scope);
	n->token_type = n->scope = NULL;
	n->expires_at = issued + (time_t)t->expires_in;
	if (a0_strdup_into(&n->access_token, t->access_token) < 0 ||
	    a0_strdup_into(&n->token_type, t->token_type) < 0 ||
	    a0_strdup_into(&n->scope, t->scope ? t->scope : scope) < 0)
		return A0_ERR_NOMEM;
	if (t->id_token) {
		a0_secret_clear(&n->id_token);
		if (a0_strdup_into(&n->id_token, t->id_token) < 0)
			return A0_ERR_NOMEM;
	}
	return 0;
}

int a0_cm_merge(const struct a0_record *old, const struct a0_tokens *t, const char *scope,
		time_t issued, struct a0_record **ret)
{
	struct a0_record *n = NULL;
	int r;

	if ((r = a0_record_dup(old, &n)) < 0)
		goto out;
	if ((r = fill_tokens(n, t, scope ? scope : old->scope, issued)) < 0)
		goto out;
	if (t->refresh_token) {
		a0_secret_clear(&n->refresh_token);
		if ((r = a0_strdup_into(&n->refresh_token, t->refresh_token)) < 0)
			goto out;
	}
	*ret = n;
	n = NULL;
out:
	a0_record_free(n);
	return r;
}

int a0_cm_exchange_record(const struct a0_record *main, const struct a0_tokens *t,
			  const char *audience, const char *scope, time_t issued,
			  struct a0_record **ret)
{
	struct a0_record *n;
	int r;

	if (!(n = calloc(1, sizeof(*n))))
		return A0_ERR_NOMEM;
	/* main's tenant (domain, client, CA file): every record names the tenant that issued it. */
	if ((r = a0_strdup_into(&n->domain, main->domain)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->client_id, main->client_id)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->ca_file, main->ca_file)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->audience, audience)) < 0)
		goto out;
	/* ... and how its application authenticates: the same way for every record. */
	if ((r = a0_strdup_into(&n->client_auth, main->client_auth)) < 0)
		goto out;
	if ((r = fill_tokens(n, t, scope, issued)) < 0)
		goto out;
	/* A DPoP-bound answer is bound to the session's key: its record needs it for proofs. */
	if (t->token_type && strcasecmp(t->token_type, "DPoP") == 0 &&
	    (r = a0_strdup_into(&n->dpop_key, main->dpop_key)) < 0)
		goto out;
	/* Records of a session end with its refresh token: API and SSO records too. */
	n->refresh_expires_at = main->refresh_expires_at;
	*ret = n;
	n = NULL;
out:
	a0_record_free(n);
	return r;
}

/* ------------------------------------------------------------------ operations */

static int check_min_ttl(struct a0_cm *cm, long long min_ttl)
{
	if (min_ttl < 0 || min_ttl > A0_CM_MAX_MIN_TTL)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "min-ttl must be between 0 and %lld seconds", A0_CM_MAX_MIN_TTL);
	return AUTH0_CREDENTIALS_OK;
}

static int check_scope(struct a0_cm *cm, const char *scope)
{
	if (scope && (strlen(scope) > A0_MAX_PARAM_VALUE || strpbrk(scope, "\t\r\n")))
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the scope must be space-separated words of at most %d bytes in all",
			    A0_MAX_PARAM_VALUE);
	return AUTH0_CREDENTIALS_OK;
}

static int check_params(struct a0_cm *cm, const struct a0_param *params, size_t n)
{
	if (a0_params_check(params, n, cm->message, sizeof(cm->message)) < 0)
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	return AUTH0_CREDENTIALS_OK;
}

static int check_headers(struct a0_cm *cm, const struct a0_param *headers, size_t n)
{
	if (a0_cm_headers_check(headers, n, cm->message, sizeof(cm->message)) < 0)
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	return AUTH0_CREDENTIALS_OK;
}

/* Load a record; NULL (and OK) when there is none or it cannot be read as ours. */
static int load_optional(struct a0_cm *cm, const char *name, struct a0_record **ret)
{
	int r = cm->ops->load(cm->ops->ctx, name, ret);

	if (r == A0_ERR_NOT_FOUND || r == A0_ERR_VERSION || r == A0_ERR_MALFORMED) {
		*ret = NULL;
		return AUTH0_CREDENTIALS_OK;
	}
	if (r < 0)
		return fail(cm, a0_cm_store_code(r), "could not read the %s: %s", cm->keyring_name,
			    a0_strerror(r));
	return AUTH0_CREDENTIALS_OK;
}

static int load_main(struct a0_cm *cm, struct a0_record **ret)
{
	struct a0_record *rec = NULL;
	int r = cm->ops->load(cm->ops->ctx, A0_RECORD_MAIN, &rec);

	switch (r) {
	case 0:
		if (!rec->domain || !rec->client_id) {
			a0_record_free(rec);
			return fail(cm, AUTH0_CREDENTIALS_NO_CREDENTIALS,
				    "the stored credentials do not say which tenant issued them");
		}
		*ret = rec;
		return AUTH0_CREDENTIALS_OK;
	case A0_ERR_NOT_FOUND:
		return fail(cm, AUTH0_CREDENTIALS_NO_CREDENTIALS,
			    "no credentials are stored in the %s", cm->keyring_name);
	case A0_ERR_VERSION:
	case A0_ERR_MALFORMED:
		return fail(cm, AUTH0_CREDENTIALS_NO_CREDENTIALS,
			    "the credentials in the %s cannot be read: %s", cm->keyring_name,
			    a0_strerror(r));
	default:
		return fail(cm, a0_cm_store_code(r), "could not read the %s: %s", cm->keyring_name,
			    a0_strerror(r));
	}
}

static int lock(struct a0_cm *cm, int *ret_handle)
{
	char err[256] = "";
	int r;

	r = cm->ops->lock(cm->ops->ctx, A0_CM_LOCK_RECORD, ret_handle, err, sizeof(err));
	if (r < 0)
		return fail(cm, AUTH0_CREDENTIALS_UNKNOWN,
			    "could not take the lock that serialises refreshes: %s", err);
	return AUTH0_CREDENTIALS_OK;
}

static void unlock(struct a0_cm *cm, int *handle)
{
	if (*handle >= 0)
		cm->ops->unlock(cm->ops->ctx, *handle);
	*handle = -1;
}

/* Run the job (in the worker when there is one) and take over its outcome. */
static int run(struct a0_cm *cm, struct a0_cm_job *job)
{
	if (cm->ops->run)
		cm->ops->run(cm->ops->ctx, cm, job);
	else
		a0_cm_run_job(cm, job);
	if (job->out.code == AUTH0_CREDENTIALS_OK)
		return AUTH0_CREDENTIALS_OK;
	cm->result.status = job->out.status;
	a0_format(cm->result.error, sizeof(cm->result.error), "%s", job->out.error);
	a0_format(cm->result.description, sizeof(cm->result.description), "%s",
		  job->out.description);
	return fail(cm, job->out.code, "%s", job->out.message);
}

static int large_min_ttl(struct a0_cm *cm, const struct a0_record *r, long long min_ttl,
			 const char *who)
{
	return fail(cm, AUTH0_CREDENTIALS_LARGE_MIN_TTL,
		    "the access token %s expires in %lld s, less than the minimum of %lld s asked "
		    "for; the renewed credentials are stored",
		    who, (long long)(r->expires_at - now(cm)), min_ttl);
}

int a0_cm_get(struct a0_cm *cm, const char *scope, long long min_ttl, bool force,
	      const struct a0_param *params, size_t n_params, struct a0_record **ret)
{
	struct a0_record *before = NULL, *rec = NULL;
	struct a0_cm_job job = { .kind = A0_CM_JOB_REFRESH };
	int handle = -1, code;

	reset(cm);
	if ((code = check_min_ttl(cm, min_ttl)) != 0 || (code = check_scope(cm, scope)) != 0 ||
	    (code = check_params(cm, params, n_params)) != 0)
		return code;
	if ((code = load_main(cm, &before)) != 0)
		goto out;
	switch (a0_cm_decide(before, now(cm), scope, min_ttl, force)) {
	case A0_CM_USE_STORED:
		*ret = before;
		return AUTH0_CREDENTIALS_OK;
	case A0_CM_NO_REFRESH_TOKEN:
		code = fail(cm, AUTH0_CREDENTIALS_NO_REFRESH_TOKEN,
			    "the access token %s and there is no refresh token to renew it",
			    force ? "must be renewed" : "is expired, expiring or of another scope");
		goto out;
	case A0_CM_REFRESH:
		break;
	}

	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((code = load_main(cm, &rec)) != 0)
		goto out;
	if (!same_tokens(before, rec) && (!scope || a0_cm_scope_equal(scope, rec->scope)) &&
	    rec->expires_at > now(cm)) {
		/* Another process renewed while this one waited: its refresh is ours too. */
		if (!a0_cm_valid_for(rec, now(cm), min_ttl))
			code = large_min_ttl(cm, rec, min_ttl, "renewed by another process");
		goto out;
	}
	switch (a0_cm_decide(rec, now(cm), scope, min_ttl, force)) {
	case A0_CM_USE_STORED:
		goto out;
	case A0_CM_NO_REFRESH_TOKEN:
		code = fail(cm, AUTH0_CREDENTIALS_NO_REFRESH_TOKEN,
			    "the stored credentials have no refresh token");
		goto out;
	case A0_CM_REFRESH:
		break;
	}
	job.main = rec;
	job.scope = scope;
	job.record = A0_RECORD_MAIN;
	job.params = params;
	job.n_params = n_params;
	if ((code = run(cm, &job)) != 0)
		goto out;
	a0_record_free(rec);
	rec = NULL;
	if ((code = load_main(cm, &rec)) != 0)
		goto out;
	if (!a0_cm_valid_for(rec, now(cm), min_ttl))
		code = large_min_ttl(cm, rec, min_ttl, "just renewed");
out:
	unlock(cm, &handle);
	a0_record_free(before);
	if (code == 0)
		*ret = rec;
	else
		a0_record_free(rec);
	return code;
}

int a0_cm_has_valid(struct a0_cm *cm, long long min_ttl)
{
	struct a0_record *rec = NULL;
	int code;

	reset(cm);
	if ((code = check_min_ttl(cm, min_ttl)) != 0)
		return code;
	if ((code = load_optional(cm, A0_RECORD_MAIN, &rec)) != 0)
		goto out;
	if (!a0_cm_valid_for(rec, now(cm), min_ttl))
		code = fail(cm, AUTH0_CREDENTIALS_NOT_VALID,
			    "no access token valid for %lld more seconds is stored", min_ttl);
out:
	a0_record_free(rec);
	return code;
}

/* a names the tenant and application of b (NULL: no). */
static bool same_tenant(const struct a0_record *a, const struct a0_record *b)
{
	return a && b && a->domain && b->domain && a->client_id && b->client_id &&
	       strcmp(a->domain, b->domain) == 0 && strcmp(a->client_id, b->client_id) == 0;
}

/*
 * The record a save makes of the token response t: its tokens, and the tenant from the caller,
 * else from the credentials it replaces (old, may be NULL). A0_ERR_NOMEM.
 */
static int saved_record(const struct a0_tokens *t, const struct a0_record *old, const char *domain,
			const char *client_id, const char *ca_file, const char *audience,
			time_t issued, struct a0_record **ret)
{
	struct a0_record *n;
	int r;

	if (!(n = calloc(1, sizeof(*n))))
		return A0_ERR_NOMEM;
	if ((r = a0_strdup_into(&n->domain, domain ? domain : old ? old->domain : NULL)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->client_id, client_id ? client_id
					       : old     ? old->client_id
							 : NULL)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->ca_file, ca_file ? ca_file : old ? old->ca_file : NULL)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->audience, audience ? audience
					      : old    ? old->audience
						       : NULL)) < 0)
		goto out;
	/* A confidential application stays one (client_auth) while the tenant is old's. */
	if (same_tenant(n, old) && (r = a0_strdup_into(&n->client_auth, old->client_auth)) < 0)
		goto out;
	if ((r = fill_tokens(n, t, NULL, issued)) < 0)
		goto out;
	if ((r = a0_strdup_into(&n->refresh_token, t->refresh_token)) < 0)
		goto out;
	*ret = n;
	n = NULL;
out:
	a0_record_free(n);
	return r;
}

/* The members of the two shapes save reads ("scope" is both's). */
static const char *const token_response_members[] = {
	"access_token", "id_token", "refresh_token", "token_type", "expires_in", "expires_at",
};
static const char *const sdk_credentials_members[] = {
	"accessToken", "idToken", "refreshToken", "tokenType", "expiresAt", "expiresIn",
};

static bool has_any(const cJSON *o, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cJSON_GetObjectItemCaseSensitive(o, names[i]))
			return true;
	return false;
}

/* A string member into *dst: absent is fine unless required, another type is not. */
static int take_member(const cJSON *o, const char *name, bool required, char **dst)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!item)
		return required ? A0_ERR_MALFORMED : 0;
	if (!cJSON_IsString(item) || !item->valuestring)
		return A0_ERR_MALFORMED;
	return a0_strdup_into(dst, item->valuestring);
}

/*
 * The SDKs' Credentials object: accessToken, tokenType, expiresAt (seconds since the epoch, in
 * the future, at most ten years ahead as for expires_in), and optionally idToken, refreshToken,
 * scope. Returns OK and *ret, or a code with the reason in cm->message.
 */
static int parse_sdk_credentials(struct a0_cm *cm, const cJSON *o, struct a0_tokens **ret)
{
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "expiresAt");
	const long long max = 10LL * 365 * 86400;
	long long t_now = (long long)now(cm), expires_at;
	struct a0_tokens *t;
	int r;

	if (!cJSON_IsNumber(at) || at->valuedouble != (double)(long long)at->valuedouble)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "expiresAt must be the access token's expiry in whole seconds since the "
			    "epoch (a number)");
	expires_at = (long long)at->valuedouble;
	if (expires_at <= t_now || expires_at - t_now > max)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "expiresAt must be in the future and within ten years, in seconds (not "
			    "milliseconds) since the epoch");
	if (!(t = calloc(1, sizeof(*t))))
		return fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	r = take_member(o, "accessToken", true, &t->access_token);
	if (r == 0)
		r = take_member(o, "tokenType", true, &t->token_type);
	if (r == 0)
		r = take_member(o, "idToken", false, &t->id_token);
	if (r == 0)
		r = take_member(o, "refreshToken", false, &t->refresh_token);
	if (r == 0)
		r = take_member(o, "scope", false, &t->scope);
	if (r < 0) {
		a0_tokens_free(t);
		if (r == A0_ERR_NOMEM)
			return fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the input is not an Auth0 SDK Credentials object (accessToken, "
			    "tokenType, expiresAt; idToken, refreshToken, scope: strings)");
	}
	t->expires_in = expires_at - t_now;
	t->expires_at = (time_t)expires_at;
	*ret = t;
	return AUTH0_CREDENTIALS_OK;
}

/* What save was given: Auth0's token response, or the SDKs' Credentials; never a mix. */
static int parse_saved(struct a0_cm *cm, const char *json, size_t len, struct a0_tokens **ret)
{
	bool snake, camel;
	cJSON *root = NULL;
	int code;

	if (!json || a0_json_parse(json, len, &root) < 0 || !cJSON_IsObject(root)) {
		a0_json_free(root);
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the input is not a JSON object");
	}
	snake = has_any(root, token_response_members, A0_ARRAY_SIZE(token_response_members));
	camel = has_any(root, sdk_credentials_members, A0_ARRAY_SIZE(sdk_credentials_members));
	if (snake && camel)
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the input mixes an Auth0 token response (access_token, expires_in) "
			    "with an SDK Credentials object (accessToken, expiresAt): give one");
	else if (camel)
		code = parse_sdk_credentials(cm, root, ret);
	else if (a0_parse_token_response(json, len, now(cm), ret) < 0)
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the input is not an Auth0 token response (access_token, token_type, "
			    "expires_in; id_token, refresh_token, scope) nor an SDK Credentials "
			    "object (accessToken, tokenType, expiresAt; idToken, refreshToken, "
			    "scope)");
	else
		code = AUTH0_CREDENTIALS_OK;
	a0_json_free(root);
	return code;
}

int a0_cm_save(struct a0_cm *cm, const char *json, size_t len, const char *domain,
	       const char *client_id, const char *ca_file, const char *audience)
{
	struct a0_record *old = NULL, *n = NULL;
	struct a0_tokens *t = NULL;
	int handle = -1, code, r;

	reset(cm);
	if ((code = parse_saved(cm, json, len, &t)) != 0)
		return code;
	if (!a0_cm_tokens_ok(t)) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "a token in the input is not printable ASCII");
		goto out;
	}
	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((code = load_optional(cm, A0_RECORD_MAIN, &old)) != 0)
		goto out;
	if (saved_record(t, old, domain, client_id, ca_file, audience, now(cm), &n) < 0) {
		code = fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		goto out;
	}
	if (!n->domain || !n->client_id) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the tenant's domain and client ID are needed (no stored credentials "
			    "to take them from)");
		goto out;
	}
	if (!a0_domain_valid(n->domain) || !a0_cm_token_ok(n->client_id) ||
	    (n->ca_file && n->ca_file[0] != '/') ||
	    (n->audience && (!*n->audience || strlen(n->audience) > MAX_AUDIENCE))) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the domain must be host[:port], the client ID printable, the CA file "
			    "an absolute path and the audience not empty");
		goto out;
	}
	if ((r = cm->ops->save(cm->ops->ctx, A0_RECORD_MAIN, n)) < 0)
		code = fail(cm, a0_cm_store_code(r),
			    "could not store the credentials in the %s: %s", cm->keyring_name,
			    a0_strerror(r));
out:
	unlock(cm, &handle);
	a0_record_free(old);
	a0_record_free(n);
	a0_tokens_free(t);
	return code;
}

int a0_cm_clear(struct a0_cm *cm)
{
	int handle = -1, code, r;

	reset(cm);
	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((r = cm->ops->clear(cm->ops->ctx, NULL)) < 0)
		code = fail(cm, AUTH0_CREDENTIALS_STORE_FAILED, "could not clear the %s: %s",
			    cm->keyring_name, a0_strerror(r));
out:
	unlock(cm, &handle);
	return code;
}

int a0_cm_revoke(struct a0_cm *cm)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_REVOKE };
	struct a0_record *rec = NULL;
	int handle = -1, code;

	reset(cm);
	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((code = load_main(cm, &rec)) != 0)
		goto out;
	if (!rec->refresh_token || !*rec->refresh_token) {
		code = fail(cm, AUTH0_CREDENTIALS_NO_REFRESH_TOKEN,
			    "the stored credentials have no refresh token to revoke");
		goto out;
	}
	job.main = rec;
	code = run(cm, &job);
out:
	unlock(cm, &handle);
	a0_record_free(rec);
	return code;
}

static int api_name(struct a0_cm *cm, const char *audience, const char *scope, char **ret)
{
	int code, r;

	if (!audience || !*audience || strlen(audience) > MAX_AUDIENCE ||
	    strpbrk(audience, " \t\r\n"))
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the audience must be one word of 1 to %d bytes", MAX_AUDIENCE);
	if ((code = check_scope(cm, scope)) != 0)
		return code;
	r = a0_record_api_name(audience, scope, ret);
	if (r == A0_ERR_NOMEM)
		return fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	if (r < 0)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "no record name for this audience and scope: %s", a0_strerror(r));
	return AUTH0_CREDENTIALS_OK;
}

/* The main record, which must have a refresh token to exchange for other credentials. */
static int load_main_to_exchange(struct a0_cm *cm, struct a0_record **ret)
{
	struct a0_record *rec = NULL;
	int code;

	if ((code = load_main(cm, &rec)) != 0)
		return code;
	if (!rec->refresh_token || !*rec->refresh_token) {
		a0_record_free(rec);
		return fail(cm, AUTH0_CREDENTIALS_NO_REFRESH_TOKEN,
			    "the stored credentials have no refresh token to exchange");
	}
	*ret = rec;
	return AUTH0_CREDENTIALS_OK;
}

/* Run an exchange job, then read back the record it stored (what: for the message). */
static int exchange(struct a0_cm *cm, struct a0_cm_job *job, const char *what,
		    struct a0_record **ret)
{
	struct a0_record *rec = NULL;
	int code;

	if ((code = run(cm, job)) != 0)
		return code;
	if ((code = load_optional(cm, job->record, &rec)) != 0)
		return code;
	if (!rec)
		return fail(cm, AUTH0_CREDENTIALS_STORE_FAILED,
			    "%s were stored but cannot be read back", what);
	*ret = rec;
	return AUTH0_CREDENTIALS_OK;
}

/*
 * Credentials another record caches (job->record), obtained with the session's refresh token:
 * the stored ones while valid for min_ttl, else job's exchange under the refresh lock, after
 * which the record is read again (another process may have fetched it meanwhile). what: for
 * messages. job: kind and request set; main and record filled here.
 */
/* A cached record serves job: valid for min_ttl and, for a Token Vault token asked with a scope,
 * of that scope (one record per connection and login hint, as the SDKs' per-API one). */
static bool serves(struct a0_cm *cm, const struct a0_cm_job *job, const struct a0_record *r,
		   long long min_ttl)
{
	if (!a0_cm_valid_for(r, now(cm), min_ttl))
		return false;
	return job->kind != A0_CM_JOB_VAULT || !job->scope ||
	       a0_cm_scope_equal(job->scope, r->scope);
}

static int cached_exchange(struct a0_cm *cm, struct a0_cm_job *job, const char *name,
			   long long min_ttl, const char *what, struct a0_record **ret)
{
	struct a0_record *before = NULL, *rec = NULL, *main = NULL;
	int handle = -1, code;

	/* Keyed by what was asked: the time alone decides, as in the SDKs. */
	if ((code = load_optional(cm, name, &before)) != 0)
		goto out;
	if (serves(cm, job, before, min_ttl)) {
		rec = before;
		before = NULL;
		goto out;
	}
	/* Nothing to exchange: say so without waiting for the lock. */
	if ((code = load_main_to_exchange(cm, &main)) != 0)
		goto out;
	if (job->kind == A0_CM_JOB_VAULT && !a0_record_uses_broker(main)) {
		code = fail(cm, AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED,
			    "Token Vault needs a confidential application (its client "
			    "authentication, through auth0-broker): these credentials are a public "
			    "application's");
		goto out;
	}
	a0_record_free(main);
	main = NULL;

	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((code = load_optional(cm, name, &rec)) != 0)
		goto out;
	if (serves(cm, job, rec, min_ttl))
		goto out;
	if (rec && !same_tokens(before, rec) && rec->expires_at > now(cm) &&
	    serves(cm, job, rec, 0)) {
		code = large_min_ttl(cm, rec, min_ttl, "renewed by another process");
		goto out;
	}
	a0_record_free(rec);
	rec = NULL;
	if ((code = load_main_to_exchange(cm, &main)) != 0)
		goto out;
	job->main = main;
	job->record = name;
	if ((code = exchange(cm, job, what, &rec)) != 0)
		goto out;
	if (!a0_cm_valid_for(rec, now(cm), min_ttl))
		code = large_min_ttl(cm, rec, min_ttl, "just obtained");
out:
	unlock(cm, &handle);
	a0_record_free(before);
	a0_record_free(main);
	job->main = NULL;
	if (code == 0)
		*ret = rec;
	else
		a0_record_free(rec);
	return code;
}

int a0_cm_api_get(struct a0_cm *cm, const char *audience, const char *scope, long long min_ttl,
		  const struct a0_param *params, size_t n_params, struct a0_record **ret)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_API,
				 .scope = scope,
				 .audience = audience,
				 .params = params,
				 .n_params = n_params };
	char *name = NULL;
	int code;

	reset(cm);
	if ((code = check_min_ttl(cm, min_ttl)) != 0 ||
	    (code = check_params(cm, params, n_params)) != 0 ||
	    (code = api_name(cm, audience, scope, &name)) != 0)
		return code;
	code = cached_exchange(cm, &job, name, min_ttl, "the API's credentials", ret);
	free(name);
	return code;
}

/* The record name of a Token Vault token, the arguments checked. */
static int vault_name(struct a0_cm *cm, const char *connection, const char *login_hint, char **ret)
{
	int r;

	if (!a0_vault_connection_ok(connection))
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the connection must be a name of 1 to %d printable characters without "
			    "blanks or ':'",
			    A0_MAX_CONNECTION);
	if (login_hint && !a0_vault_login_hint_ok(login_hint))
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the login hint must be 1 to %d printable characters without blanks",
			    A0_MAX_LOGIN_HINT);
	r = a0_record_vault_name(connection, login_hint, ret);
	if (r == A0_ERR_NOMEM)
		return fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	if (r < 0)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "no record name for this connection: %s", a0_strerror(r));
	return AUTH0_CREDENTIALS_OK;
}

int a0_cm_vault_get(struct a0_cm *cm, const char *connection, const char *login_hint,
		    const char *scope, long long min_ttl, struct a0_record **ret)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_VAULT,
				 .scope = scope,
				 .connection = connection,
				 .login_hint = login_hint };
	char *name = NULL;
	int code;

	reset(cm);
	if ((code = check_min_ttl(cm, min_ttl)) != 0 || (code = check_scope(cm, scope)) != 0 ||
	    (code = vault_name(cm, connection, login_hint, &name)) != 0)
		return code;
	code = cached_exchange(cm, &job, name, min_ttl, "the Token Vault token", ret);
	free(name);
	return code;
}

int a0_cm_vault_clear(struct a0_cm *cm, const char *connection, const char *login_hint)
{
	int handle = -1, code, r;
	char *name = NULL;

	reset(cm);
	if (connection && (code = vault_name(cm, connection, login_hint, &name)) != 0)
		return code;
	if (!connection && login_hint)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "a login hint needs its connection");
	if ((code = lock(cm, &handle)) != 0)
		goto out;
	r = name ? cm->ops->remove(cm->ops->ctx, name)
		 : cm->ops->remove_prefix(cm->ops->ctx, A0_RECORD_VAULT_PREFIX);
	if (r < 0)
		code = fail(cm, AUTH0_CREDENTIALS_STORE_FAILED,
			    "could not remove the Token Vault token: %s", a0_strerror(r));
out:
	unlock(cm, &handle);
	free(name);
	return code;
}

int a0_cm_api_clear(struct a0_cm *cm, const char *audience, const char *scope)
{
	int handle = -1, code, r;
	char *name = NULL;

	reset(cm);
	if ((code = api_name(cm, audience, scope, &name)) != 0)
		return code;
	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((r = cm->ops->remove(cm->ops->ctx, name)) < 0)
		code = fail(cm, AUTH0_CREDENTIALS_STORE_FAILED,
			    "could not remove the API's credentials: %s", a0_strerror(r));
out:
	unlock(cm, &handle);
	free(name);
	return code;
}

/* The session-transfer exchange for main's tenant, in job; *ret_audience is job's audience. */
static int sso_job(struct a0_cm *cm, struct a0_cm_job *job, const struct a0_record *main,
		   const struct a0_param *params, size_t n_params, const struct a0_param *headers,
		   size_t n_headers, char **ret_audience)
{
	if (asprintf(ret_audience, "urn:%s:session_transfer", main->domain) < 0) {
		*ret_audience = NULL;
		return fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	}
	job->main = main;
	job->audience = *ret_audience;
	job->params = params;
	job->n_params = n_params;
	job->headers = headers;
	job->n_headers = n_headers;
	return 0;
}

int a0_cm_sso(struct a0_cm *cm, const struct a0_param *params, size_t n_params,
	      const struct a0_param *headers, size_t n_headers, struct a0_record **ret,
	      long long *ret_expires_in)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_SSO };
	struct a0_record *main = NULL, *rec = NULL;
	char *audience = NULL;
	int handle = -1, code;

	reset(cm);
	if ((code = check_params(cm, params, n_params)) != 0 ||
	    (code = check_headers(cm, headers, n_headers)) != 0)
		return code;
	if ((code = lock(cm, &handle)) != 0)
		goto out;
	if ((code = load_main_to_exchange(cm, &main)) != 0)
		goto out;
	if ((code = sso_job(cm, &job, main, params, n_params, headers, n_headers, &audience)) != 0)
		goto out;
	job.record = A0_RECORD_SSO;
	code = exchange(cm, &job, "the session transfer credentials", &rec);
out:
	unlock(cm, &handle);
	a0_record_free(main);
	free(audience);
	if (code == 0) {
		*ret = rec;
		if (ret_expires_in)
			*ret_expires_in = job.out.expires_in;
	} else {
		a0_record_free(rec);
	}
	return code;
}

int a0_cm_sso_exchange(struct a0_cm *cm, const char *refresh_token, const char *domain,
		       const char *client_id, const char *ca_file, const struct a0_param *params,
		       size_t n_params, const struct a0_param *headers, size_t n_headers,
		       struct a0_tokens **ret)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_SSO_EXCHANGE };
	struct a0_record *stored = NULL, *tmp = NULL;
	char *audience = NULL;
	int code;

	reset(cm);
	if (!a0_cm_token_ok(refresh_token))
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the refresh token must be one word of printable ASCII");
	if ((code = check_params(cm, params, n_params)) != 0 ||
	    (code = check_headers(cm, headers, n_headers)) != 0)
		return code;
	/* The tenant as save finds it: the caller's, else the stored credentials'. */
	if (!domain || !client_id) {
		if ((code = load_optional(cm, A0_RECORD_MAIN, &stored)) != 0)
			goto out;
	}
	if (!(tmp = calloc(1, sizeof(*tmp))) ||
	    a0_strdup_into(&tmp->domain, domain   ? domain
					 : stored ? stored->domain
						  : NULL) < 0 ||
	    a0_strdup_into(&tmp->client_id, client_id ? client_id
					    : stored  ? stored->client_id
						      : NULL) < 0 ||
	    a0_strdup_into(&tmp->ca_file, ca_file  ? ca_file
					  : stored ? stored->ca_file
						   : NULL) < 0 ||
	    a0_strdup_into(&tmp->refresh_token, refresh_token) < 0 ||
	    (same_tenant(tmp, stored) &&
	     a0_strdup_into(&tmp->client_auth, stored->client_auth) < 0)) {
		code = fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		goto out;
	}
	if (!tmp->domain || !tmp->client_id) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the tenant's domain and client ID are needed (no stored credentials "
			    "to take them from)");
		goto out;
	}
	if (!a0_domain_valid(tmp->domain) || !a0_cm_token_ok(tmp->client_id) ||
	    (tmp->ca_file && tmp->ca_file[0] != '/')) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the domain must be host[:port], the client ID printable and the CA "
			    "file an absolute path");
		goto out;
	}
	if ((code = sso_job(cm, &job, tmp, params, n_params, headers, n_headers, &audience)) != 0)
		goto out;
	if ((code = run(cm, &job)) != 0)
		goto out;
	if (!job.answer) {
		code = fail(cm, AUTH0_CREDENTIALS_UNKNOWN,
			    "the session transfer exchange ran where its answer is lost");
		goto out;
	}
	*ret = job.answer;
	job.answer = NULL;
out:
	a0_tokens_free(job.answer);
	a0_record_free(stored);
	a0_record_free(tmp);
	free(audience);
	return code;
}
