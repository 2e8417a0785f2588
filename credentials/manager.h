/* SPDX-License-Identifier: MIT */
#ifndef A0_MANAGER_H
#define A0_MANAGER_H

/*
 * The credentials manager behind libauth0-credentials and auth0-credentials(1): Auth0's
 * CredentialsManager over the records of one keyring. manager.c decides (when the stored
 * credentials do, when to refresh, what record an answer makes); jobs.c does what runs under
 * the refresh lock (the request to the tenant, its retries, saving the answer). Everything
 * outside their logic (the store, the lock, the tenant, the clock, the worker process) comes
 * through struct a0_cm_ops, so the unit tests drive it with fakes and a fake clock.
 *
 * Results are the public AUTH0_CREDENTIALS_* codes; the reason is left in cm->message and,
 * when the tenant answered, in cm->result. Functions returning such a code follow the error
 * idiom with `if ((code = f()) != 0) goto out;`.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "keyring/record.h"
#include "lib/auth0.h"

/* The record holding the refresh token: every refresh of a session takes its lock. */
#define A0_CM_LOCK_RECORD A0_RECORD_MAIN
/* Attempts of one refresh when the tenant answers 429 or 5xx, and the most they may wait. */
#define A0_CM_ATTEMPTS 3
#define A0_CM_MAX_RETRY_WAIT 10
/*
 * Longest min-ttl accepted: 100 years, a bound that keeps time arithmetic far from overflow.
 * Anything a token cannot satisfy (Auth0's access tokens live at most 30 days) is tried, as in
 * Auth0's SDKs, and answered LARGE_MIN_TTL when even a renewed token falls short.
 */
#define A0_CM_MAX_MIN_TTL (100LL * 366 * 86400)

struct a0_cm;

/* What the critical section does; runs in the worker process. */
enum a0_cm_job_kind {
	A0_CM_JOB_REFRESH, /* main record: refresh grant with scope and params */
	A0_CM_JOB_API,     /* api record: refresh grant with audience, scope and params */
	A0_CM_JOB_SSO,     /* sso record: refresh grant with the session transfer audience */
	A0_CM_JOB_REVOKE,  /* revoke the refresh token, then clear the keyring */
	A0_CM_JOB_VAULT,   /* vault record: Token Vault's exchange for connection, login hint */
	/*
	 * A caller's refresh token for a session transfer token: nothing stored, the answer left
	 * in the job. Runs in the caller's process (the answer's secrets cannot cross the pipe).
	 */
	A0_CM_JOB_SSO_EXCHANGE,
};

/* A job's outcome: crosses the pipe from the worker, so it holds no secret. */
struct a0_cm_outcome {
	int code; /* AUTH0_CREDENTIALS_* */
	char message[512];
	long status;           /* the tenant's HTTP status, 0 when none */
	char error[64];        /* Auth0's error code, "" when none */
	char description[256]; /* Auth0's error_description */
	long long expires_in;  /* of the new access token */
	unsigned attempts;     /* requests sent */
};

struct a0_cm_job {
	enum a0_cm_job_kind kind;
	const struct a0_record *main; /* read under the lock */
	const char *scope;
	const char *audience;
	const char *record; /* where the new access token goes */
	const struct a0_param *params;
	size_t n_params;
	const struct a0_param *headers; /* extra request headers: name (key) and value */
	size_t n_headers;
	const char *connection; /* A0_CM_JOB_VAULT */
	const char *login_hint; /* A0_CM_JOB_VAULT, may be NULL */
	struct a0_cm_outcome out;
	struct a0_tokens *answer; /* A0_CM_JOB_SSO_EXCHANGE: the tenant's answer, on OK */
};

struct a0_cm_ops {
	/* The store: a0_store_* on one keyring. */
	int (*load)(void *ctx, const char *name, struct a0_record **ret);
	int (*save)(void *ctx, const char *name, const struct a0_record *r);
	int (*remove)(void *ctx, const char *name);
	int (*clear)(void *ctx, const char *keep); /* keep: a record to leave, or NULL */
	/* Serialise refreshes of a record across processes: 0 and a handle, or an A0_ERR_*. */
	int (*lock)(void *ctx, const char *name, int *ret_handle, char *err, size_t errlen);
	void (*unlock)(void *ctx, int handle);
	/* The tenant, as told by the record. */
	int (*refresh)(void *ctx, const struct a0_record *main, const char *scope,
		       const char *audience, const struct a0_param *params, size_t n_params,
		       const struct a0_param *headers, size_t n_headers, struct a0_tokens **ret,
		       struct a0_result *res);
	int (*revoke)(void *ctx, const struct a0_record *main, struct a0_result *res);
	/* Token Vault's exchange of main's refresh token (a confidential application's). */
	int (*vault)(void *ctx, const struct a0_record *main, const char *connection,
		     const char *login_hint, const char *scope, struct a0_tokens **ret,
		     struct a0_result *res);
	/* Remove every record whose name starts with prefix. */
	int (*remove_prefix)(void *ctx, const char *prefix);
	/* Run a0_cm_run_job(cm, job), in a worker that outlives the caller; NULL: inline. */
	void (*run)(void *ctx, struct a0_cm *cm, struct a0_cm_job *job);
	time_t (*now)(void *ctx);
	void (*sleep)(void *ctx, unsigned seconds);
	void *ctx;
};

struct a0_cm {
	const struct a0_cm_ops *ops;
	const char *keyring_name; /* for messages: "session keyring" */
	char message[512];
	struct a0_result result; /* the tenant's answer to the last failed request */
};

/* The public code's name, "OK", "NOT_VALID"; NULL for none. */
const char *a0_cm_code_name(int code);

/* Scopes as case-insensitive sets of space-separated words; NULL equals "". */
bool a0_cm_scope_equal(const char *a, const char *b);
/* A token bound for headers and shell assignments: printable ASCII without spaces, bounded. */
bool a0_cm_token_ok(const char *s);
/*
 * Extra request headers (name in key): at most A0_CM_MAX_HEADERS, names of 1 to
 * A0_CM_MAX_HEADER_NAME token characters (RFC 9110), values of printable ASCII up to
 * A0_CM_MAX_HEADER_VALUE bytes, no name twice, and none that would change what the request
 * means or who it authenticates (Host, Authorization, Content-*, Cookie, auth0-forwarded-for,
 * framing and forwarding headers, DPoP). A0_ERR_INVALID with the reason in err.
 */
#define A0_CM_MAX_HEADERS 16
#define A0_CM_MAX_HEADER_NAME 64
#define A0_CM_MAX_HEADER_VALUE 1024
int a0_cm_headers_check(const struct a0_param *headers, size_t n, char *err, size_t errlen);
/* Every token of a token response is a0_cm_token_ok (the absent ones aside). */
bool a0_cm_tokens_ok(const struct a0_tokens *t);
/* The access token is valid now and for at least min_ttl more seconds. */
bool a0_cm_valid_for(const struct a0_record *r, time_t now, long long min_ttl);

enum a0_cm_decision {
	A0_CM_USE_STORED,
	A0_CM_REFRESH,
	A0_CM_NO_REFRESH_TOKEN,
};
/* What get does with the stored record r (not NULL). */
enum a0_cm_decision a0_cm_decide(const struct a0_record *r, time_t now, const char *scope,
				 long long min_ttl, bool force);

/*
 * The record after a refresh: the new tokens over old, keeping old's refresh token when the
 * response has none and old's ID token when it has no new one. scope is what was asked.
 */
int a0_cm_merge(const struct a0_record *old, const struct a0_tokens *t, const char *scope,
		time_t issued, struct a0_record **ret);
/*
 * The record of an exchange's answer t (API or session transfer credentials): main's tenant and
 * the end of its refresh token's life, the tokens of t, no refresh token of its own. audience
 * and scope are what was asked.
 */
int a0_cm_exchange_record(const struct a0_record *main, const struct a0_tokens *t,
			  const char *audience, const char *scope, time_t issued,
			  struct a0_record **ret);

/* The one table from the core's errors (A0_ERR_*) to the public codes, for a job's failure. */
int a0_cm_code_of(int err, enum a0_cm_job_kind kind);
/* A failed load or save: STORE_FAILED, or UNKNOWN when no memory or a system error. */
int a0_cm_store_code(int err);

/* The critical section (jobs.c): network, retries, then store (the rotated refresh token
 * first). */
void a0_cm_run_job(struct a0_cm *cm, struct a0_cm_job *job);

/* The operations; *ret (owned by the caller, a0_record_free) only on OK. */
int a0_cm_get(struct a0_cm *cm, const char *scope, long long min_ttl, bool force,
	      const struct a0_param *params, size_t n_params, struct a0_record **ret);
int a0_cm_has_valid(struct a0_cm *cm, long long min_ttl);
int a0_cm_save(struct a0_cm *cm, const char *json, size_t len, const char *domain,
	       const char *client_id, const char *ca_file, const char *audience);
int a0_cm_clear(struct a0_cm *cm);
int a0_cm_revoke(struct a0_cm *cm);
int a0_cm_api_get(struct a0_cm *cm, const char *audience, const char *scope, long long min_ttl,
		  const struct a0_param *params, size_t n_params, struct a0_record **ret);
int a0_cm_api_clear(struct a0_cm *cm, const char *audience, const char *scope);
/* Token Vault's token for connection (and login_hint), cached as "vault:..." (record.h). */
int a0_cm_vault_get(struct a0_cm *cm, const char *connection, const char *login_hint,
		    const char *scope, long long min_ttl, struct a0_record **ret);
/* Forget it; connection NULL: every Token Vault record. */
int a0_cm_vault_clear(struct a0_cm *cm, const char *connection, const char *login_hint);
/* The session transfer record and Auth0's expires_in for it. */
int a0_cm_sso(struct a0_cm *cm, const struct a0_param *params, size_t n_params,
	      const struct a0_param *headers, size_t n_headers, struct a0_record **ret,
	      long long *ret_expires_in);

/*
 * The session transfer exchange for the caller's refresh_token (the SDKs' ssoExchange): the
 * tenant from domain, client_id and ca_file, else from the stored credentials; nothing is read
 * under the lock and nothing is stored. *ret (a0_tokens_free) holds the answer, with the rotated
 * refresh token and new ID token when there are.
 */
int a0_cm_sso_exchange(struct a0_cm *cm, const char *refresh_token, const char *domain,
		       const char *client_id, const char *ca_file, const struct a0_param *params,
		       size_t n_params, const struct a0_param *headers, size_t n_headers,
		       struct a0_tokens **ret);

#endif
