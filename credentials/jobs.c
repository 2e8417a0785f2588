/* SPDX-License-Identifier: MIT */
/*
 * The jobs of the credentials manager (manager.h): what runs under the refresh lock, in the
 * worker when there is one. A job sends its one request to the tenant (retried only where that
 * cannot be a reuse of the refresh token), persists the result, and reports the outcome in
 * words. What to ask for, and what record an answer makes, is decided in manager.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <auth0/credentials.h>

#include "credentials/manager.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"

static int exchange_failed(enum a0_cm_job_kind kind)
{
	switch (kind) {
	case A0_CM_JOB_API:
		return AUTH0_CREDENTIALS_API_EXCHANGE_FAILED;
	case A0_CM_JOB_SSO:
	case A0_CM_JOB_SSO_EXCHANGE:
		return AUTH0_CREDENTIALS_SSO_EXCHANGE_FAILED;
	case A0_CM_JOB_REVOKE:
		return AUTH0_CREDENTIALS_REVOKE_FAILED;
	case A0_CM_JOB_VAULT:
		return AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED;
	case A0_CM_JOB_REFRESH:
	default:
		return AUTH0_CREDENTIALS_RENEW_FAILED;
	}
}

int a0_cm_code_of(int err, enum a0_cm_job_kind kind)
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

int a0_cm_store_code(int err)
{
	return a0_cm_code_of(err, A0_CM_JOB_REFRESH) == AUTH0_CREDENTIALS_UNKNOWN
		       ? AUTH0_CREDENTIALS_UNKNOWN
		       : AUTH0_CREDENTIALS_STORE_FAILED;
}

static const char *what_of(enum a0_cm_job_kind kind)
{
	switch (kind) {
	case A0_CM_JOB_API:
		return "the exchange for the API's credentials failed";
	case A0_CM_JOB_SSO:
	case A0_CM_JOB_SSO_EXCHANGE:
		return "the session transfer exchange failed";
	case A0_CM_JOB_REVOKE:
		return "revoking the refresh token failed";
	case A0_CM_JOB_VAULT:
		return "the Token Vault exchange failed";
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
	a0_vformat(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
}

/* Why a request to the tenant failed, in words and with the tenant's own error. */
static void request_failed(struct a0_cm_job *job, int err, const struct a0_result *res)
{
	struct a0_cm_outcome *o = &job->out;
	const char *domain = job->main->domain;
	bool via_broker = a0_record_uses_broker(job->main);
	char tries[48] = "";

	o->status = res->status;
	a0_format(o->error, sizeof(o->error), "%s", res->error);
	if (res->error[0])
		a0_format(o->description, sizeof(o->description), "%s", res->description);
	if (o->attempts > 1)
		a0_format(tries, sizeof(tries), " (after %u attempts)", o->attempts);
	if (job->kind == A0_CM_JOB_VAULT && a0_vault_explain(err, res)) {
		outcome(o,
			err == A0_ERR_NOT_FOUND ? AUTH0_CREDENTIALS_NO_FEDERATED_TOKEN
						: exchange_failed(job->kind),
			"%s for connection %s: %s (HTTP %ld %s: %s)", what_of(job->kind),
			job->connection, a0_vault_explain(err, res), res->status, res->error,
			res->description);
	} else if (res->status == 401 && via_broker &&
		   (strcmp(res->error, "access_denied") == 0 ||
		    strcmp(res->error, "invalid_client") == 0)) {
		outcome(o, exchange_failed(job->kind),
			"%s: the tenant refused auth0-broker's client authentication for "
			"application %s (HTTP %ld %s: %s); check the broker's client_secret_file "
			"or client_private_key_file",
			what_of(job->kind), job->main->client_id, res->status, res->error,
			res->description);
	} else if (res->status == 401 && (strcmp(res->error, "access_denied") == 0 ||
					  strcmp(res->error, "invalid_client") == 0)) {
		/*
		 * A public application's record (no client_auth): stored before the application
		 * became confidential, or by a login configured without its authentication. The
		 * helper never holds a client secret; auth0-broker does, for records that say so.
		 */
		outcome(o, exchange_failed(job->kind),
			"%s: the tenant requires client authentication for application %s "
			"(HTTP %ld %s: %s), and these credentials were stored for a public "
			"application (before auth0-broker, or by a login configured without "
			"client_secret_file or client_private_key_file); sign in again",
			what_of(job->kind), job->main->client_id, res->status, res->error,
			res->description);
	} else if (via_broker && res->status == 0 &&
		   (err == A0_ERR_NETWORK || err == A0_ERR_TIMEOUT)) {
		/* The broker could not be asked, or could not reach the tenant: broker.c said. */
		outcome(o, AUTH0_CREDENTIALS_NO_NETWORK, "%s: %s", what_of(job->kind),
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
		outcome(o, a0_cm_code_of(err, job->kind), "%s: HTTP %ld %s: %s%s",
			what_of(job->kind), res->status, res->error, res->description, tries);
	} else {
		outcome(o, a0_cm_code_of(err, job->kind), "%s: %s%s%s%s", what_of(job->kind),
			a0_strerror(err), res->description[0] ? " (" : "", res->description,
			res->description[0] ? ")" : "");
		if (tries[0])
			a0_format(o->message + strlen(o->message),
				  sizeof(o->message) - strlen(o->message), "%s", tries);
	}
}

static void store_failed(struct a0_cm_job *job, int err, const char *what)
{
	outcome(&job->out, a0_cm_store_code(err), "could not store %s: %s", what, a0_strerror(err));
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

		*ret_issued = ops->now(ops->ctx);
		if (job->kind == A0_CM_JOB_VAULT)
			/* Not a use of the refresh token: Token Vault wants rotation off. */
			r = ops->vault(ops->ctx, job->main, job->connection, job->login_hint,
				       job->scope, ret, res);
		else
			r = ops->refresh(ops->ctx, job->main, job->scope, audience, job->params,
					 job->n_params, job->headers, job->n_headers, ret, res);
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

/* The main record with only its refresh token and ID token replaced (NULL: kept). */
static int save_rotated(struct a0_cm *cm, struct a0_cm_job *job, const char *refresh_token,
			const char *id_token)
{
	struct a0_record *n = NULL;
	int r;

	if ((r = a0_record_dup(job->main, &n)) < 0)
		goto out;
	if (refresh_token) {
		a0_secret_clear(&n->refresh_token);
		if (!(n->refresh_token = a0_secret_dup(refresh_token))) {
			r = A0_ERR_NOMEM;
			goto out;
		}
	}
	if (id_token) {
		a0_secret_clear(&n->id_token);
		if (!(n->id_token = a0_secret_dup(id_token))) {
			r = A0_ERR_NOMEM;
			goto out;
		}
	}
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
		goto out;
	}
	if ((r = cm->ops->clear(cm->ops->ctx, NULL)) < 0)
		outcome(&job->out, AUTH0_CREDENTIALS_STORE_FAILED,
			"the refresh token is revoked but the keyring could not be cleared: %s",
			a0_strerror(r));
out:
	a0_result_clear(&res);
}

void a0_cm_run_job(struct a0_cm *cm, struct a0_cm_job *job)
{
	struct a0_result res = { .retry_after = -1 };
	const char *audience = job->audience;
	struct a0_record *n = NULL;
	struct a0_tokens *t = NULL;
	const char *id_token;
	time_t issued = 0;
	int r;

	memset(&job->out, 0, sizeof(job->out));
	if (job->kind == A0_CM_JOB_REVOKE) {
		run_revoke(cm, job);
		return;
	}
	if ((r = refresh_with_retries(cm, job, audience, &t, &issued, &res)) < 0) {
		request_failed(job, r, &res);
		goto out;
	}
	job->out.expires_in = t->expires_in;

	/*
	 * The rotated refresh token first: from now on it is the only one the tenant accepts,
	 * whatever else goes wrong.
	 */
	if (job->kind == A0_CM_JOB_SSO_EXCHANGE) {
		/* Nothing to store: the caller keeps what the answer holds. */
		if (!a0_cm_tokens_ok(t)) {
			outcome(&job->out, exchange_failed(job->kind),
				"%s: the tenant's token response holds a token that is not "
				"printable ASCII",
				what_of(job->kind));
			goto out;
		}
		job->answer = t;
		t = NULL;
		goto out;
	}
	if (!a0_cm_tokens_ok(t)) {
		if (a0_cm_token_ok(t->refresh_token) &&
		    (r = save_rotated(cm, job, t->refresh_token, NULL)) < 0) {
			store_failed(job, r, "the rotated refresh token");
			goto out;
		}
		outcome(&job->out, exchange_failed(job->kind),
			"%s: the tenant's token response holds a token that is not printable ASCII",
			what_of(job->kind));
		goto out;
	}
	if (job->kind == A0_CM_JOB_VAULT) {
		/* The provider's token: nothing of the session's changes. */
		if ((r = a0_cm_exchange_record(job->main, t, NULL, job->scope, issued, &n)) < 0 ||
		    (r = cm->ops->save(cm->ops->ctx, job->record, n)) < 0)
			store_failed(job, r, "the Token Vault token");
		goto out;
	}
	if (job->kind == A0_CM_JOB_REFRESH) {
		/* The rotated refresh token is in the renewed record: one save. */
		if ((r = a0_cm_merge(job->main, t, job->scope, issued, &n)) < 0 ||
		    (r = save_main(cm, n)) < 0)
			store_failed(job, r, "the renewed credentials");
		goto out;
	}
	/*
	 * The session transfer exchange may also answer a new ID token for the session (Auth0's
	 * getSSOCredentials stores it); an API's ID token is not the session's.
	 */
	id_token = job->kind == A0_CM_JOB_SSO ? t->id_token : NULL;
	if ((t->refresh_token || id_token) &&
	    (r = save_rotated(cm, job, t->refresh_token, id_token)) < 0) {
		store_failed(job, r, "the rotated refresh token");
		goto out;
	}
	/* API and session transfer credentials: no refresh token of their own. */
	if ((r = a0_cm_exchange_record(job->main, t, audience, job->scope, issued, &n)) < 0 ||
	    (r = cm->ops->save(cm->ops->ctx, job->record, n)) < 0)
		store_failed(job, r,
			     job->kind == A0_CM_JOB_SSO ? "the session transfer token"
							: "the API's credentials");
out:
	a0_record_free(n);
	a0_tokens_free(t);
	a0_result_clear(&res);
}
