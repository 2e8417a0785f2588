/* SPDX-License-Identifier: MIT */
/*
 * Auth0's CredentialsManager semantics over one keyring (see manager.h). The rules that keep a
 * session alive under refresh-token rotation:
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

#include "lib/error.h"
#include "credentials/manager.h"
#include "lib/secret.h"

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
};

const char *a0_cm_code_name(int code)
{
	if (code < 0 || code >= (int)(sizeof(code_names) / sizeof(code_names[0])))
		return NULL;
	return code_names[code];
}

static int fail(struct a0_cm *cm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct a0_cm *cm, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cm->message, sizeof(cm->message), fmt, ap);
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
	if (!s || !*s || strlen(s) > A0_MAX_TOKEN)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

static bool tokens_ok(const struct a0_tokens *t)
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

static int dup_into(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : A0_ERR_NOMEM;
}

/* A copy of r's tenant (domain, client, CA file) and lifetime, with no tokens. */
static struct a0_record *record_for_tenant(const struct a0_record *r)
{
	struct a0_record *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (dup_into(&n->domain, r->domain) < 0 || dup_into(&n->client_id, r->client_id) < 0 ||
	    dup_into(&n->ca_file, r->ca_file) < 0 || dup_into(&n->audience, r->audience) < 0) {
		a0_record_free(n);
		return NULL;
	}
	/* Records of a session end with its refresh token: API and SSO records too. */
	n->refresh_expires_at = r->refresh_expires_at;
	return n;
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
	if (dup_into(&n->access_token, t->access_token) < 0 ||
	    dup_into(&n->token_type, t->token_type) < 0 ||
	    dup_into(&n->scope, t->scope ? t->scope : scope) < 0)
		return A0_ERR_NOMEM;
	if (t->id_token) {
		a0_secret_clear(&n->id_token);
		if (dup_into(&n->id_token, t->id_token) < 0)
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
		if ((r = dup_into(&n->refresh_token, t->refresh_token)) < 0)
			goto out;
	}
	*ret = n;
	n = NULL;
out:
	a0_record_free(n);
	return r;
}

/* ------------------------------------------------------------------ the critical section */

static int exchange_failed(enum a0_cm_job_kind kind)
{
	switch (kind) {
	case A0_CM_JOB_API:
		return AUTH0_CREDENTIALS_API_EXCHANGE_FAILED;
	case A0_CM_JOB_SSO:
		return AUTH0_CREDENTIALS_SSO_EXCHANGE_FAILED;
	case A0_CM_JOB_REVOKE:
		return AUTH0_CREDENTIALS_REVOKE_FAILED;
	case A0_CM_JOB_REFRESH:
	default:
		return AUTH0_CREDENTIALS_RENEW_FAILED;
	}
}

/* The one table from the core's errors to the helper's codes. */
static int code_of(int err, enum a0_cm_job_kind kind)
{
	switch (err) {
	case A0_OK:
		return AUTH0_CREDENTIALS_OK;
	case A0_ERR_NETWORK:
	case A0_ERR_TIMEOUT:
	case A0_ERR_TLS: /* as Auth0's SDKs: a TLS failure is a network error */
		return AUTH0_CREDENTIALS_NO_NETWORK;
	case A0_ERR_MFA_REQUIRED:
		return AUTH0_CREDENTIALS_MFA_REQUIRED;
	case A0_ERR_STORE:
		return AUTH0_CREDENTIALS_STORE_FAILED;
	case A0_ERR_INVALID:
		return AUTH0_CREDENTIALS_INVALID_ARGUMENT;
	case A0_ERR_NOMEM:
	case A0_ERR_SYSTEM:
		return AUTH0_CREDENTIALS_UNKNOWN;
	default:
		return exchange_failed(kind);
	}
}

static const char *what_of(enum a0_cm_job_kind kind)
{
	switch (kind) {
	case A0_CM_JOB_API:
		return "the exchange for the API's credentials failed";
	case A0_CM_JOB_SSO:
		return "the session transfer exchange failed";
	case A0_CM_JOB_REVOKE:
		return "revoking the refresh token failed";
	case A0_CM_JOB_REFRESH:
	default:
		return "renewing the credentials failed";
	}
}

static void outcome(struct a0_cm_outcome *o, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void outcome(struct a0_cm_outcome *o, int code, const char *fmt, ...)
{
	va_list ap;

	o->code = code;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
}

/* Why a request to the tenant failed, in words and with the tenant's own error. */
static void request_failed(struct a0_cm_job *job, int err, const struct a0_result *res)
{
	struct a0_cm_outcome *o = &job->out;
	const char *domain = job->main->domain;
	char tries[48] = "";

	o->status = res->status;
	snprintf(o->error, sizeof(o->error), "%s", res->error);
	if (res->error[0])
		snprintf(o->description, sizeof(o->description), "%s", res->description);
	if (o->attempts > 1)
		snprintf(tries, sizeof(tries), " (after %u attempts)", o->attempts);
	if (res->status == 401 && (strcmp(res->error, "access_denied") == 0 ||
				   strcmp(res->error, "invalid_client") == 0)) {
		/* The record has no client secret, and the helper must never read one. */
		outcome(o, exchange_failed(job->kind),
			"%s: the tenant requires client authentication for application %s "
			"(HTTP %ld %s: %s); a confidential client cannot refresh from "
			"auth0-credentials yet, only a public (Native) application can",
			what_of(job->kind), job->main->client_id, res->status, res->error,
			res->description);
	} else if (err == A0_ERR_MFA_REQUIRED) {
		outcome(o, AUTH0_CREDENTIALS_MFA_REQUIRED,
			"%s: the tenant requires multi-factor authentication (%s); sign in again",
			what_of(job->kind), res->description);
	} else if (err == A0_ERR_NETWORK || err == A0_ERR_TIMEOUT) {
		outcome(o, AUTH0_CREDENTIALS_NO_NETWORK, "%s: %s %s: %s", what_of(job->kind),
			err == A0_ERR_TIMEOUT ? "no answer in time from"
					      : "no connection (or a broken one) to",
			domain, res->description);
	} else if (res->error[0]) {
		outcome(o, code_of(err, job->kind), "%s: HTTP %ld %s: %s%s", what_of(job->kind),
			res->status, res->error, res->description, tries);
	} else {
		outcome(o, code_of(err, job->kind), "%s: %s%s%s%s", what_of(job->kind),
			a0_strerror(err), res->description[0] ? " (" : "", res->description,
			res->description[0] ? ")" : "");
		if (tries[0])
			snprintf(o->message + strlen(o->message),
				 sizeof(o->message) - strlen(o->message), "%s", tries);
	}
}

static void store_failed(struct a0_cm_job *job, int err, const char *what)
{
	outcome(&job->out, code_of(err, job->kind) == AUTH0_CREDENTIALS_UNKNOWN ?
				   AUTH0_CREDENTIALS_UNKNOWN : AUTH0_CREDENTIALS_STORE_FAILED,
		"could not store %s: %s", what, a0_strerror(err));
}

/*
 * One refresh request, repeated while the tenant answers 429 or 5xx: at most A0_CM_ATTEMPTS
 * times, waiting what Retry-After asks (else 1 s, 2 s) and never more than
 * A0_CM_MAX_RETRY_WAIT in all. A network failure is not repeated: the tenant may have rotated
 * the token already, and sending it again would be a reuse.
 */
static int refresh_with_retries(struct a0_cm *cm, struct a0_cm_job *job, const char *audience,
				struct a0_tokens **ret, time_t *ret_issued, struct a0_result *res)
{
	const struct a0_cm_ops *ops = cm->ops;
	unsigned waited = 0;
	int r;

	for (unsigned attempt = 1;; attempt++) {
		long wait;

		*ret_issued = now(cm);
		r = ops->refresh(ops->ctx, job->main, job->scope, audience, job->params,
				 job->n_params, ret, res);
		job->out.attempts = attempt;
		if ((r != A0_ERR_SERVER && r != A0_ERR_RATE_LIMITED) || attempt == A0_CM_ATTEMPTS)
			return r;
		wait = res->retry_after >= 0 ? res->retry_after : (long)attempt;
		if (wait > A0_CM_MAX_RETRY_WAIT - (long)waited)
			return r;
		if (wait > 0)
			ops->sleep(ops->ctx, (unsigned)wait);
		waited += (unsigned)wait;
	}
}

/*
 * Save the main record. It holds the only refresh token the tenant still accepts: when the key
 * quota refuses it, the API and session transfer records, caches that this refresh token can
 * fetch again, make room, and it is saved once more.
 */
static int save_main(struct a0_cm *cm, const struct a0_record *r)
{
	int rc = cm->ops->save(cm->ops->ctx, A0_RECORD_MAIN, r);

	if (rc == A0_ERR_STORE && cm->ops->clear(cm->ops->ctx, A0_RECORD_MAIN) == 0)
		rc = cm->ops->save(cm->ops->ctx, A0_RECORD_MAIN, r);
	return rc;
}

/* The main record with only its refresh token replaced. */
static int save_rotated(struct a0_cm *cm, struct a0_cm_job *job, const char *refresh_token)
{
	struct a0_record *n = NULL;
	int r;

	if ((r = a0_record_dup(job->main, &n)) < 0)
		goto out;
	a0_secret_clear(&n->refresh_token);
	if ((r = dup_into(&n->refresh_token, refresh_token)) < 0)
		goto out;
	r = save_main(cm, n);
out:
	a0_record_free(n);
	return r;
}

static void run_revoke(struct a0_cm *cm, struct a0_cm_job *job)
{
	struct a0_result res = { .retry_after = -1 };
	int r;

	r = cm->ops->revoke(cm->ops->ctx, job->main, &res);
	job->out.attempts = 1;
	if (r < 0) {
		request_failed(job, r, &res);
		a0_result_clear(&res);
		return;
	}
	a0_result_clear(&res);
	r = cm->ops->clear(cm->ops->ctx, NULL);
	if (r < 0)
		outcome(&job->out, AUTH0_CREDENTIALS_STORE_FAILED,
			"the refresh token is revoked but the keyring could not be cleared: %s",
			a0_strerror(r));
}

void a0_cm_run_job(struct a0_cm *cm, struct a0_cm_job *job)
{
	struct a0_result res = { .retry_after = -1 };
	const char *audience = job->audience;
	struct a0_record *n = NULL;
	struct a0_tokens *t = NULL;
	time_t issued = 0;
	int r;

	memset(&job->out, 0, sizeof(job->out));
	if (job->kind == A0_CM_JOB_REVOKE) {
		run_revoke(cm, job);
		return;
	}
	r = refresh_with_retries(cm, job, audience, &t, &issued, &res);
	if (r < 0) {
		request_failed(job, r, &res);
		goto out;
	}
	job->out.expires_in = t->expires_in;

	/*
	 * The rotated refresh token first: from now on it is the only one the tenant accepts,
	 * whatever else goes wrong.
	 */
	if (!tokens_ok(t)) {
		if (a0_cm_token_ok(t->refresh_token)) {
			r = save_rotated(cm, job, t->refresh_token);
			if (r < 0) {
				store_failed(job, r, "the rotated refresh token");
				goto out;
			}
		}
		outcome(&job->out, exchange_failed(job->kind),
			"%s: the tenant's token response holds a token that is not printable ASCII",
			what_of(job->kind));
		goto out;
	}
	if (job->kind == A0_CM_JOB_REFRESH) {
		r = a0_cm_merge(job->main, t, job->scope, issued, &n);
		if (r == 0)
			r = save_main(cm, n);
		if (r < 0)
			store_failed(job, r, "the renewed credentials");
		goto out;
	}
	if (t->refresh_token) {
		r = save_rotated(cm, job, t->refresh_token);
		if (r < 0) {
			store_failed(job, r, "the rotated refresh token");
			goto out;
		}
	}
	/* API and session transfer credentials: no refresh token of their own. */
	n = record_for_tenant(job->main);
	r = n ? 0 : A0_ERR_NOMEM;
	if (r == 0) {
		free(n->audience);
		n->audience = NULL;
		r = dup_into(&n->audience, audience);
	}
	if (r == 0)
		r = fill_tokens(n, t, job->scope, issued);
	if (r == 0)
		r = cm->ops->save(cm->ops->ctx, job->record, n);
	if (r < 0)
		store_failed(job, r,
			     job->kind == A0_CM_JOB_SSO ? "the session transfer token"
							: "the API's credentials");
out:
	a0_record_free(n);
	a0_tokens_free(t);
	a0_result_clear(&res);
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

/* Load a record; NULL (and OK) when there is none or it cannot be read as ours. */
static int load_optional(struct a0_cm *cm, const char *name, struct a0_record **ret)
{
	int r = cm->ops->load(cm->ops->ctx, name, ret);

	if (r == A0_ERR_NOT_FOUND || r == A0_ERR_VERSION || r == A0_ERR_MALFORMED) {
		*ret = NULL;
		return AUTH0_CREDENTIALS_OK;
	}
	if (r < 0)
		return fail(cm, code_of(r, A0_CM_JOB_REFRESH) == AUTH0_CREDENTIALS_UNKNOWN ?
					AUTH0_CREDENTIALS_UNKNOWN : AUTH0_CREDENTIALS_STORE_FAILED,
			    "could not read the %s: %s", cm->keyring_name, a0_strerror(r));
	return AUTH0_CREDENTIALS_OK;
}

static int load_main(struct a0_cm *cm, struct a0_record **ret)
{
	int r = cm->ops->load(cm->ops->ctx, A0_RECORD_MAIN, ret);

	switch (r) {
	case 0:
		if (!(*ret)->domain || !(*ret)->client_id) {
			a0_record_free(*ret);
			*ret = NULL;
			return fail(cm, AUTH0_CREDENTIALS_NO_CREDENTIALS,
				    "the stored credentials do not say which tenant issued them");
		}
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
		return fail(cm, code_of(r, A0_CM_JOB_REFRESH) == AUTH0_CREDENTIALS_UNKNOWN ?
					AUTH0_CREDENTIALS_UNKNOWN : AUTH0_CREDENTIALS_STORE_FAILED,
			    "could not read the %s: %s", cm->keyring_name, a0_strerror(r));
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
	snprintf(cm->result.error, sizeof(cm->result.error), "%s", job->out.error);
	snprintf(cm->result.description, sizeof(cm->result.description), "%s",
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
	code = load_main(cm, &before);
	if (code != 0)
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

	code = lock(cm, &handle);
	if (code != 0)
		goto out;
	code = load_main(cm, &rec);
	if (code != 0)
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
	code = run(cm, &job);
	if (code != 0)
		goto out;
	a0_record_free(rec);
	rec = NULL;
	code = load_main(cm, &rec);
	if (code == 0 && !a0_cm_valid_for(rec, now(cm), min_ttl))
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
	code = check_min_ttl(cm, min_ttl);
	if (code == 0)
		code = load_optional(cm, A0_RECORD_MAIN, &rec);
	if (code == 0 && !a0_cm_valid_for(rec, now(cm), min_ttl))
		code = fail(cm, AUTH0_CREDENTIALS_NOT_VALID,
			    "no access token valid for %lld more seconds is stored", min_ttl);
	a0_record_free(rec);
	return code;
}

/* host[:port]: letters, digits, '.', '-', one ':' before digits; or [v6]:port. */
static bool domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 300)
		return false;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
			return false;
	return d[0] != '-' && d[0] != '.' && d[0] != ':';
}

int a0_cm_save(struct a0_cm *cm, const char *json, size_t len, const char *domain,
	       const char *client_id, const char *ca_file, const char *audience)
{
	struct a0_record *old = NULL, *n = NULL;
	struct a0_tokens *t = NULL;
	int handle = -1, code, r;

	reset(cm);
	if (!json || a0_parse_token_response(json, len, now(cm), &t) < 0)
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the input is not an Auth0 token response (access_token, token_type, "
			    "expires_in; id_token, refresh_token, scope)");
	if (!tokens_ok(t)) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "a token in the input is not printable ASCII");
		goto out;
	}
	code = lock(cm, &handle);
	if (code == 0)
		code = load_optional(cm, A0_RECORD_MAIN, &old);
	if (code != 0)
		goto out;
	n = calloc(1, sizeof(*n));
	if (!n) {
		code = fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		goto out;
	}
	/* The tenant from the caller, else from the credentials this replaces. */
	r = dup_into(&n->domain, domain ? domain : old ? old->domain : NULL);
	if (r == 0)
		r = dup_into(&n->client_id, client_id ? client_id : old ? old->client_id : NULL);
	if (r == 0)
		r = dup_into(&n->ca_file, ca_file ? ca_file : old ? old->ca_file : NULL);
	if (r == 0)
		r = dup_into(&n->audience, audience ? audience : old ? old->audience : NULL);
	if (r == 0)
		r = fill_tokens(n, t, NULL, now(cm));
	if (r == 0)
		r = dup_into(&n->refresh_token, t->refresh_token);
	if (r < 0) {
		code = fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
		goto out;
	}
	if (!n->domain || !n->client_id) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the tenant's domain and client ID are needed (no stored credentials "
			    "to take them from)");
		goto out;
	}
	if (!domain_ok(n->domain) || !a0_cm_token_ok(n->client_id) ||
	    (n->ca_file && n->ca_file[0] != '/') ||
	    (n->audience && (!*n->audience || strlen(n->audience) > MAX_AUDIENCE))) {
		code = fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the domain must be host[:port], the client ID printable, the CA file "
			    "an absolute path and the audience not empty");
		goto out;
	}
	r = cm->ops->save(cm->ops->ctx, A0_RECORD_MAIN, n);
	if (r < 0)
		code = fail(cm, code_of(r, A0_CM_JOB_REFRESH) == AUTH0_CREDENTIALS_UNKNOWN ?
					AUTH0_CREDENTIALS_UNKNOWN : AUTH0_CREDENTIALS_STORE_FAILED,
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
	code = lock(cm, &handle);
	if (code != 0)
		return code;
	r = cm->ops->clear(cm->ops->ctx, NULL);
	if (r < 0)
		code = fail(cm, AUTH0_CREDENTIALS_STORE_FAILED, "could not clear the %s: %s",
			    cm->keyring_name, a0_strerror(r));
	unlock(cm, &handle);
	return code;
}

int a0_cm_revoke(struct a0_cm *cm)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_REVOKE };
	struct a0_record *rec = NULL;
	int handle = -1, code;

	reset(cm);
	code = lock(cm, &handle);
	if (code == 0)
		code = load_main(cm, &rec);
	if (code == 0 && (!rec->refresh_token || !*rec->refresh_token))
		code = fail(cm, AUTH0_CREDENTIALS_NO_REFRESH_TOKEN,
			    "the stored credentials have no refresh token to revoke");
	if (code == 0) {
		job.main = rec;
		code = run(cm, &job);
	}
	unlock(cm, &handle);
	a0_record_free(rec);
	return code;
}

static int api_name(struct a0_cm *cm, const char *audience, const char *scope, char **ret)
{
	int r;

	if (!audience || !*audience || strlen(audience) > MAX_AUDIENCE ||
	    strpbrk(audience, " \t\r\n"))
		return fail(cm, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
			    "the audience must be one word of 1 to %d bytes", MAX_AUDIENCE);
	r = check_scope(cm, scope);
	if (r != 0)
		return r;
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
	int code = load_main(cm, ret);

	if (code == 0 && (!(*ret)->refresh_token || !*(*ret)->refresh_token)) {
		a0_record_free(*ret);
		*ret = NULL;
		code = fail(cm, AUTH0_CREDENTIALS_NO_REFRESH_TOKEN,
			    "the stored credentials have no refresh token to exchange");
	}
	return code;
}

/* Run an exchange job, then read back the record it stored (what: for the message). */
static int exchange(struct a0_cm *cm, struct a0_cm_job *job, const char *what,
		    struct a0_record **ret)
{
	int code = run(cm, job);

	if (code == 0)
		code = load_optional(cm, job->record, ret);
	if (code == 0 && !*ret)
		code = fail(cm, AUTH0_CREDENTIALS_STORE_FAILED,
			    "%s were stored but cannot be read back", what);
	return code;
}

int a0_cm_api_get(struct a0_cm *cm, const char *audience, const char *scope, long long min_ttl,
		  const struct a0_param *params, size_t n_params, struct a0_record **ret)
{
	struct a0_record *before = NULL, *rec = NULL, *main = NULL;
	struct a0_cm_job job = { .kind = A0_CM_JOB_API };
	int handle = -1, code;
	char *name = NULL;

	reset(cm);
	if ((code = check_min_ttl(cm, min_ttl)) != 0 ||
	    (code = check_params(cm, params, n_params)) != 0 ||
	    (code = api_name(cm, audience, scope, &name)) != 0)
		return code;
	/* Keyed by audience and requested scopes: the time alone decides, as in the SDKs. */
	code = load_optional(cm, name, &before);
	if (code != 0)
		goto out;
	if (a0_cm_valid_for(before, now(cm), min_ttl)) {
		rec = before;
		before = NULL;
		goto out;
	}
	code = load_main_to_exchange(cm, &main);
	if (code != 0)
		goto out;
	a0_record_free(main);
	main = NULL;

	code = lock(cm, &handle);
	if (code == 0)
		code = load_optional(cm, name, &rec);
	if (code != 0)
		goto out;
	if (a0_cm_valid_for(rec, now(cm), min_ttl))
		goto out;
	if (rec && !same_tokens(before, rec) && rec->expires_at > now(cm)) {
		code = large_min_ttl(cm, rec, min_ttl, "renewed by another process");
		goto out;
	}
	a0_record_free(rec);
	rec = NULL;
	code = load_main_to_exchange(cm, &main);
	if (code != 0)
		goto out;
	job.main = main;
	job.scope = scope;
	job.audience = audience;
	job.record = name;
	job.params = params;
	job.n_params = n_params;
	code = exchange(cm, &job, "the API's credentials", &rec);
	if (code == 0 && !a0_cm_valid_for(rec, now(cm), min_ttl))
		code = large_min_ttl(cm, rec, min_ttl, "just obtained");
out:
	unlock(cm, &handle);
	a0_record_free(before);
	a0_record_free(main);
	free(name);
	if (code == 0)
		*ret = rec;
	else
		a0_record_free(rec);
	return code;
}

int a0_cm_api_clear(struct a0_cm *cm, const char *audience, const char *scope)
{
	int handle = -1, code, r;
	char *name = NULL;

	reset(cm);
	code = api_name(cm, audience, scope, &name);
	if (code == 0)
		code = lock(cm, &handle);
	if (code == 0) {
		r = cm->ops->remove(cm->ops->ctx, name);
		if (r < 0)
			code = fail(cm, AUTH0_CREDENTIALS_STORE_FAILED,
				    "could not remove the API's credentials: %s", a0_strerror(r));
	}
	unlock(cm, &handle);
	free(name);
	return code;
}

int a0_cm_sso(struct a0_cm *cm, const struct a0_param *params, size_t n_params,
	      struct a0_record **ret, long long *ret_expires_in)
{
	struct a0_cm_job job = { .kind = A0_CM_JOB_SSO };
	struct a0_record *main = NULL, *rec = NULL;
	char *audience = NULL;
	int handle = -1, code;

	reset(cm);
	code = check_params(cm, params, n_params);
	if (code == 0)
		code = lock(cm, &handle);
	if (code == 0)
		code = load_main_to_exchange(cm, &main);
	if (code == 0 && asprintf(&audience, "urn:%s:session_transfer", main->domain) < 0) {
		audience = NULL;
		code = fail(cm, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	}
	if (code != 0)
		goto out;
	job.main = main;
	job.audience = audience;
	job.record = A0_RECORD_SSO;
	job.params = params;
	job.n_params = n_params;
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
