/* SPDX-License-Identifier: MIT */
/*
 * The credentials manager's decisions (credentials/manager.c) with a fake store, tenant, lock and
 * clock: when get uses the stored credentials, when it refreshes, what it stores, and that a
 * failure leaves every record as it was.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <auth0/credentials.h>

#include "credentials/manager.h"
#include "lib/error.h"
#include "lib/util.h"

#define NOW ((time_t)1700000000)
#define MAX_RECORDS 8

struct reply {
	int err; /* 0: tokens */
	long status;
	const char *error, *description;
	long retry_after;
	const char *access_token, *refresh_token, *id_token, *scope, *token_type;
	long long expires_in;
};

struct request {
	char refresh_token[64];
	char scope[128];
	char audience[128];
	size_t n_params;
	size_t n_headers;
	char header[256]; /* the first, as "Name: value" */
};

static struct world {
	time_t now;
	unsigned slept;
	struct {
		char name[256];
		struct a0_record *rec;
	} records[MAX_RECORDS];
	struct reply replies[16];
	size_t n_replies, next_reply;
	struct request requests[16];
	size_t n_requests;
	int locks, unlocks, revokes, saves;
	int save_err;   /* the store refuses with this when not 0 */
	int save_fails; /* ...for the next this many saves only, when not 0 */
	int clears;
	struct a0_record *on_lock; /* put in as "main" when the lock is taken */
} w;

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct a0_record *record(const char *at, const char *rt, const char *scope,
				time_t expires_at)
{
	struct a0_record *n = calloc(1, sizeof(*n));

	n->access_token = strdup(at);
	n->id_token = strdup("id-1");
	n->refresh_token = dup_or_null(rt);
	n->token_type = strdup("Bearer");
	n->scope = dup_or_null(scope);
	n->expires_at = expires_at;
	n->domain = strdup("tenant.example.com");
	n->client_id = strdup("client-1");
	return n;
}

static int find(const char *name)
{
	for (int i = 0; i < MAX_RECORDS; i++)
		if (w.records[i].rec && strcmp(w.records[i].name, name) == 0)
			return i;
	return -1;
}

static void put(const char *name, struct a0_record *r)
{
	int i = find(name);

	if (i < 0)
		for (i = 0; i < MAX_RECORDS && w.records[i].rec; i++)
			;
	assert_true(i < MAX_RECORDS);
	a0_record_free(w.records[i].rec);
	snprintf(w.records[i].name, sizeof(w.records[i].name), "%s", name);
	w.records[i].rec = r;
}

static const struct a0_record *get_record(const char *name)
{
	int i = find(name);

	return i < 0 ? NULL : w.records[i].rec;
}

/* The record that must be there: the test fails here when it is not. */
static const struct a0_record *the_record(const char *name)
{
	const struct a0_record *r = get_record(name);

	if (!r)
		fail_msg("no record '%s' in the store", name);
	return r;
}

/* Every field of every record, to compare the store before and after. */
static char *snapshot(void)
{
	static char text[8192];
	size_t n = 0;

	text[0] = '\0';
	for (int i = 0; i < MAX_RECORDS; i++) {
		const struct a0_record *r = w.records[i].rec;

		if (!r)
			continue;
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "%s|%s|%s|%s|%s|%s|%lld|%s|%s|%s|%s|%lld|%s\n",
				      w.records[i].name, r->access_token,
				      r->id_token ? r->id_token : "-",
				      r->refresh_token ? r->refresh_token : "-", r->token_type,
				      r->scope ? r->scope : "-", (long long)r->expires_at,
				      r->domain, r->client_id, r->ca_file ? r->ca_file : "-",
				      r->audience ? r->audience : "-",
				      (long long)r->refresh_expires_at,
				      r->client_auth ? r->client_auth : "-");
	}
	return strdup(text);
}

static void assert_untouched(const char *before)
{
	char *now = snapshot();

	assert_string_equal(now, before);
	free(now);
}

static int op_load(void *ctx, const char *name, struct a0_record **ret)
{
	const struct a0_record *r = get_record(name);

	if (!r)
		return A0_ERR_NOT_FOUND;
	return a0_record_dup(r, ret);
}

static int op_save(void *ctx, const char *name, const struct a0_record *r)
{
	struct a0_record *n = NULL;

	if (w.save_err) {
		int e = w.save_err;

		if (w.save_fails > 0 && --w.save_fails == 0)
			w.save_err = 0; /* that was the last refusal */
		return e;
	}
	assert_int_equal(a0_record_dup(r, &n), 0);
	w.saves++;
	put(name, n);
	return 0;
}

static int op_remove(void *ctx, const char *name)
{
	int i = find(name);

	if (i >= 0) {
		a0_record_free(w.records[i].rec);
		w.records[i].rec = NULL;
	}
	return 0;
}

static int op_clear(void *ctx, const char *keep)
{
	w.clears++;
	for (int i = 0; i < MAX_RECORDS; i++) {
		if (keep && strcmp(w.records[i].name, keep) == 0)
			continue;
		a0_record_free(w.records[i].rec);
		w.records[i].rec = NULL;
	}
	return 0;
}

static int op_lock(void *ctx, const char *name, int *ret_handle, char *err, size_t errlen)
{
	assert_string_equal(name, A0_RECORD_MAIN);
	assert_int_equal(w.locks, w.unlocks); /* never nested */
	w.locks++;
	if (w.on_lock) {
		/* Another process renewed while this one waited for the lock. */
		put(A0_RECORD_MAIN, w.on_lock);
		w.on_lock = NULL;
	}
	*ret_handle = 7;
	return 0;
}

static void op_unlock(void *ctx, int handle)
{
	assert_int_equal(handle, 7);
	w.unlocks++;
}

static int op_refresh(void *ctx, const struct a0_record *main, const char *scope,
		      const char *audience, const struct a0_param *params, size_t n_params,
		      const struct a0_param *headers, size_t n_headers, struct a0_tokens **ret,
		      struct a0_result *res)
{
	struct request *q = &w.requests[w.n_requests++];
	const struct reply *p;
	struct a0_tokens *t;

	assert_true(w.n_requests <= 16);
	assert_int_equal(w.locks, w.unlocks + 1); /* only under the lock */
	assert_true(w.next_reply < w.n_replies);
	p = &w.replies[w.next_reply++];
	snprintf(q->refresh_token, sizeof(q->refresh_token), "%s", main->refresh_token);
	snprintf(q->scope, sizeof(q->scope), "%s", scope ? scope : "(none)");
	snprintf(q->audience, sizeof(q->audience), "%s", audience ? audience : "(none)");
	q->n_params = n_params;
	q->n_headers = n_headers;
	if (n_headers)
		snprintf(q->header, sizeof(q->header), "%s: %s", headers[0].key, headers[0].value);
	a0_result_clear(res);
	if (p->err) {
		res->status = p->status;
		snprintf(res->error, sizeof(res->error), "%s", p->error ? p->error : "");
		snprintf(res->description, sizeof(res->description), "%s",
			 p->description ? p->description : "");
		res->retry_after = p->retry_after;
		return p->err;
	}
	t = calloc(1, sizeof(*t));
	t->access_token = strdup(p->access_token);
	t->refresh_token = dup_or_null(p->refresh_token);
	t->id_token = dup_or_null(p->id_token);
	t->scope = dup_or_null(p->scope);
	t->token_type = strdup(p->token_type ? p->token_type : "Bearer");
	t->expires_in = p->expires_in;
	t->expires_at = w.now + (time_t)p->expires_in;
	*ret = t;
	return 0;
}

static int op_revoke(void *ctx, const struct a0_record *main, struct a0_result *res)
{
	w.revokes++;
	if (w.n_replies > w.next_reply && w.replies[w.next_reply].err) {
		const struct reply *p = &w.replies[w.next_reply++];

		res->status = p->status;
		return p->err;
	}
	return 0;
}

static time_t op_now(void *ctx)
{
	return w.now;
}

static void op_sleep(void *ctx, unsigned seconds)
{
	w.slept += seconds;
	w.now += seconds;
}

static const struct a0_cm_ops ops = {
	.load = op_load,
	.save = op_save,
	.remove = op_remove,
	.clear = op_clear,
	.lock = op_lock,
	.unlock = op_unlock,
	.refresh = op_refresh,
	.revoke = op_revoke,
	.run = NULL, /* inline */
	.now = op_now,
	.sleep = op_sleep,
};

static struct a0_cm cm;

static int setup(void **state)
{
	memset(&w, 0, sizeof(w));
	w.now = NOW;
	memset(&cm, 0, sizeof(cm));
	cm.ops = &ops;
	cm.keyring_name = "session keyring";
	cm.result.retry_after = -1;
	return 0;
}

static int teardown(void **state)
{
	op_clear(NULL, NULL);
	a0_record_free(w.on_lock);
	a0_result_clear(&cm.result);
	assert_int_equal(w.locks, w.unlocks);
	return 0;
}

static void reply_tokens(const char *at, const char *rt, long long expires_in)
{
	w.replies[w.n_replies++] =
		(struct reply){ .access_token = at, .refresh_token = rt, .expires_in = expires_in };
}

static void reply_error(int err, long status, const char *error, long retry_after)
{
	w.replies[w.n_replies++] = (struct reply){ .err = err,
						   .status = status,
						   .error = error,
						   .description = error ? "described" : NULL,
						   .retry_after = retry_after };
}

static int get(const char *scope, long long min_ttl, bool force, struct a0_record **ret)
{
	*ret = NULL;
	return a0_cm_get(&cm, scope, min_ttl, force, NULL, 0, ret);
}

/* ------------------------------------------------------------------ pure decisions */

static void test_scope_equal(void **state)
{
	assert_true(a0_cm_scope_equal("openid profile", "profile openid"));
	assert_true(a0_cm_scope_equal("OpenID  Profile ", "profile openid"));
	assert_true(a0_cm_scope_equal(NULL, ""));
	assert_true(a0_cm_scope_equal("a a b", "b a"));
	assert_false(a0_cm_scope_equal("openid", "openid profile"));
	assert_false(a0_cm_scope_equal("openid profile", "openid"));
	assert_false(a0_cm_scope_equal("openid", NULL));
	assert_false(a0_cm_scope_equal("read:x", "read:y"));
}

static void test_valid_for_boundaries(void **state)
{
	struct a0_record *r = record("at", "rt", "openid", NOW + 100);

	assert_true(a0_cm_valid_for(r, NOW, 0));
	assert_true(a0_cm_valid_for(r, NOW, 100));
	assert_false(a0_cm_valid_for(r, NOW, 101));
	assert_false(a0_cm_valid_for(r, NOW + 100, 0)); /* at its expiry it is expired */
	assert_false(a0_cm_valid_for(NULL, NOW, 0));
	assert_int_equal(a0_cm_decide(r, NOW, NULL, 50, false), A0_CM_USE_STORED);
	assert_int_equal(a0_cm_decide(r, NOW, NULL, 101, false), A0_CM_REFRESH);
	assert_int_equal(a0_cm_decide(r, NOW, "openid", 0, true), A0_CM_REFRESH);
	assert_int_equal(a0_cm_decide(r, NOW, "OPENID", 0, false), A0_CM_USE_STORED);
	assert_int_equal(a0_cm_decide(r, NOW, "openid email", 0, false), A0_CM_REFRESH);
	free(r->refresh_token);
	r->refresh_token = NULL;
	assert_int_equal(a0_cm_decide(r, NOW, NULL, 101, false), A0_CM_NO_REFRESH_TOKEN);
	assert_int_equal(a0_cm_decide(r, NOW, NULL, 50, false), A0_CM_USE_STORED);
	a0_record_free(r);
}

/* ------------------------------------------------------------------ get */

static void test_valid_returns_stored_without_network(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid profile", NOW + 3600));
	assert_int_equal(get("profile openid", 600, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->access_token, "at-1");
	assert_int_equal(w.n_requests, 0);
	assert_int_equal(w.locks, 0); /* the fast path takes no lock */
	a0_record_free(r);
}

static void test_expiring_refreshes_and_stores(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid profile", NOW + 60));
	w.records[find(A0_RECORD_MAIN)].rec->refresh_expires_at = NOW + 86400;
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get(NULL, 600, false, &r), AUTH0_CREDENTIALS_OK);
	/* Rotation does not extend the refresh token's absolute lifetime. */
	assert_int_equal(the_record(A0_RECORD_MAIN)->refresh_expires_at, NOW + 86400);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(w.requests[0].refresh_token, "rt-1");
	assert_string_equal(w.requests[0].scope, "(none)");
	assert_string_equal(r->access_token, "at-2");
	assert_int_equal(r->expires_at, NOW + 3600);
	/* Stored: rotated refresh token, old ID token kept (none in the response), scope kept. */
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_string_equal(the_record(A0_RECORD_MAIN)->id_token, "id-1");
	assert_string_equal(the_record(A0_RECORD_MAIN)->scope, "openid profile");
	assert_string_equal(the_record(A0_RECORD_MAIN)->domain, "tenant.example.com");
	a0_record_free(r);
}

static void test_expired_refreshes(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", NULL, NOW));
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->access_token, "at-2");
	a0_record_free(r);
}

static void test_scope_change_refreshes_with_scope(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid profile", NOW + 3600));
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get("openid", 0, false, &r), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(w.requests[0].scope, "openid");
	/* Auth0 leaves scope out when it is what was asked: the record says what was asked. */
	assert_string_equal(r->scope, "openid");
	a0_record_free(r);
	/* Now it matches: no second request. */
	assert_int_equal(get("OPENID", 0, false, &r), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.n_requests, 1);
	a0_record_free(r);
}

static void test_forced_refreshes_valid(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	reply_tokens("at-2", NULL, 3600);
	assert_int_equal(get(NULL, 0, true, &r), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(r->access_token, "at-2");
	/* No refresh token in the response (rotation off): the old one stays. */
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-1");
	a0_record_free(r);
}

static void test_no_refresh_token(void **state)
{
	struct a0_record *r;
	char *before;

	put(A0_RECORD_MAIN, record("at-1", NULL, "openid", NOW + 30));
	before = snapshot();
	assert_int_equal(get(NULL, 60, false, &r), AUTH0_CREDENTIALS_NO_REFRESH_TOKEN);
	assert_null(r);
	assert_int_equal(get(NULL, 0, true, &r), AUTH0_CREDENTIALS_NO_REFRESH_TOKEN);
	assert_int_equal(w.n_requests, 0);
	assert_untouched(before);
	/* Still valid without min-ttl: returned. */
	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_OK);
	a0_record_free(r);
	free(before);
}

static void test_no_credentials(void **state)
{
	struct a0_record *r;

	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_NO_CREDENTIALS);
	assert_non_null(strstr(cm.message, "session keyring"));
	assert_int_equal(a0_cm_has_valid(&cm, 0), AUTH0_CREDENTIALS_NOT_VALID);
}

static void test_large_min_ttl_keeps_new_tokens(void **state)
{
	struct a0_record *r = NULL;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 30));
	reply_tokens("at-2", "rt-2", 60);
	assert_int_equal(get(NULL, 120, false, &r), AUTH0_CREDENTIALS_LARGE_MIN_TTL);
	assert_null(r);
	assert_non_null(strstr(cm.message, "60 s"));
	/* Auth0's SDKs lose the rotated refresh token here; it must be stored. */
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_string_equal(the_record(A0_RECORD_MAIN)->access_token, "at-2");
	assert_int_equal(the_record(A0_RECORD_MAIN)->expires_at, NOW + 60);
	/* And the next refresh uses it. */
	reply_tokens("at-3", "rt-3", 3600);
	assert_int_equal(get(NULL, 120, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(w.requests[1].refresh_token, "rt-2");
	a0_record_free(r);
}

/*
 * A min-ttl beyond any token's lifetime is not refused up front: as in Auth0's SDKs, the
 * credentials are renewed and LARGE_MIN_TTL says the fresh token still falls short (the renewed
 * credentials stored). Only what cannot be a duration (negative, over 100 years) is refused.
 */
static void test_min_ttl_over_a_year_is_large_min_ttl_after_refresh(void **state)
{
	const long long year = 366LL * 86400;
	struct a0_record *r = NULL;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	reply_tokens("at-2", "rt-2", 86400);
	assert_int_equal(get(NULL, 2 * year, false, &r), AUTH0_CREDENTIALS_LARGE_MIN_TTL);
	assert_null(r);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_int_equal(a0_cm_has_valid(&cm, 2 * year), AUTH0_CREDENTIALS_NOT_VALID);
	assert_int_equal(get(NULL, A0_CM_MAX_MIN_TTL + 1, false, &r),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(get(NULL, -1, false, &r), AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(w.n_requests, 1);
	assert_true(A0_CM_MAX_MIN_TTL >= 100 * 365LL * 86400);
}

static void test_new_id_token_replaces_old(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW));
	w.replies[w.n_replies++] = (struct reply){ .access_token = "at-2",
						   .id_token = "id-2",
						   .scope = "openid email",
						   .expires_in = 100 };
	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->id_token, "id-2");
	assert_string_equal(r->scope, "openid email");
	a0_record_free(r);
}

/* ------------------------------------------------------------------ failures */

static void expect_untouched_failure(int err, long status, const char *error, long retry_after,
				     int code)
{
	struct a0_record *r;
	char *before;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 10));
	before = snapshot();
	for (int i = 0; i < 3; i++)
		reply_error(err, status, error, retry_after);
	assert_int_equal(get(NULL, 60, false, &r), code);
	assert_null(r);
	assert_untouched(before);
	assert_int_equal(w.saves, 0);
	free(before);
}

static void test_server_error_retried_then_fails_untouched(void **state)
{
	expect_untouched_failure(A0_ERR_SERVER, 500, NULL, -1, AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_int_equal(w.n_requests, A0_CM_ATTEMPTS);
	assert_int_equal(w.slept, 1 + 2); /* backoff without Retry-After */
	assert_non_null(strstr(cm.message, "after 3 attempts"));
}

static void test_rate_limit_honours_retry_after(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 10));
	reply_error(A0_ERR_RATE_LIMITED, 429, "too_many_requests", 4);
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get(NULL, 60, false, &r), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.slept, 4);
	assert_int_equal(w.n_requests, 2);
	/* Issued after the wait: the expiry counts from the second request. */
	assert_int_equal(r->expires_at, NOW + 4 + 3600);
	a0_record_free(r);
}

static void test_rate_limit_over_the_cap_not_waited(void **state)
{
	expect_untouched_failure(A0_ERR_RATE_LIMITED, 429, "too_many_requests", 3600,
				 AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_int_equal(w.n_requests, 1);
	assert_int_equal(w.slept, 0);
	assert_string_equal(cm.result.error, "too_many_requests");
	assert_int_equal(cm.result.status, 429);
}

static void test_retry_waits_are_capped_in_total(void **state)
{
	/* 6 s, then 6 s more would pass the 10 s cap: two requests only. */
	expect_untouched_failure(A0_ERR_RATE_LIMITED, 429, "too_many_requests", 6,
				 AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_int_equal(w.n_requests, 2);
	assert_int_equal(w.slept, 6);
}

static void test_network_error_not_retried(void **state)
{
	expect_untouched_failure(A0_ERR_NETWORK, 0, NULL, -1, AUTH0_CREDENTIALS_NO_NETWORK);
	assert_int_equal(w.n_requests, 1);
	expect_untouched_failure(A0_ERR_TIMEOUT, 0, NULL, -1, AUTH0_CREDENTIALS_NO_NETWORK);
	assert_int_equal(w.n_requests, 2);
}

static void test_denied_reports_auth0_error(void **state)
{
	expect_untouched_failure(A0_ERR_DENIED, 403, "invalid_grant", -1,
				 AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(cm.result.error, "invalid_grant");
	assert_string_equal(cm.result.description, "described");
	assert_non_null(strstr(cm.message, "HTTP 403 invalid_grant: described"));
}

static void test_mfa_required(void **state)
{
	expect_untouched_failure(A0_ERR_MFA_REQUIRED, 403, "mfa_required", -1,
				 AUTH0_CREDENTIALS_MFA_REQUIRED);
}

/* A public application's record (no client_auth) for a tenant that wants authentication. */
static void test_confidential_client_explained(void **state)
{
	expect_untouched_failure(A0_ERR_AUTH0, 401, "access_denied", -1,
				 AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_non_null(strstr(cm.message, "requires client authentication for application "
					   "client-1 (HTTP 401 access_denied: described)"));
	assert_non_null(strstr(cm.message, "stored for a public application"));
	assert_non_null(strstr(cm.message, "sign in again"));
	assert_null(strstr(cm.message, "auth0-broker's"));
}

/* The main record of a confidential application (client_auth "broker"). */
static void put_broker_main(time_t expires_at)
{
	struct a0_record *r = record("at-1", "rt-1", "openid", expires_at);

	r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER);
	put(A0_RECORD_MAIN, r);
}

/*
 * A confidential application's failures in the broker's words: the broker not reached (its
 * reason, from credentials/broker.c, is the message), and the tenant refusing the broker's
 * client authentication. Nothing stored changes.
 */
static void test_broker_record_failures(void **state)
{
	struct a0_record *r;
	char *before;

	put_broker_main(NOW + 10);
	before = snapshot();
	reply_error(A0_ERR_NETWORK, 0, NULL, -1);
	w.replies[w.n_replies - 1].description =
		"no broker is running at /run/pam_auth0/broker.sock (start auth0-broker.socket)";
	assert_int_equal(get(NULL, 60, false, &r), AUTH0_CREDENTIALS_NO_NETWORK);
	assert_null(r);
	assert_string_equal(cm.message, "renewing the credentials failed: no broker is running at "
					"/run/pam_auth0/broker.sock (start auth0-broker.socket)");
	assert_int_equal(w.n_requests, 1);
	assert_untouched(before);

	reply_error(A0_ERR_CLIENT, 401, "invalid_client", -1);
	assert_int_equal(get(NULL, 60, false, &r), AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_non_null(strstr(cm.message, "refused auth0-broker's client authentication for "
					   "application client-1 (HTTP 401 invalid_client"));
	assert_null(strstr(cm.message, "public application"));
	assert_int_equal(w.n_requests, 2);
	assert_untouched(before);
	assert_int_equal(w.saves, 0);
	free(before);
}

/* What a confidential application's refresh stores says so too: main and API records. */
static void test_broker_record_kept(void **state)
{
	struct a0_record *r;
	char *name;

	put_broker_main(NOW + 10);
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get(NULL, 60, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->access_token, "at-2");
	assert_string_equal(r->client_auth, A0_RECORD_CLIENT_AUTH_BROKER);
	a0_record_free(r);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_true(a0_record_uses_broker(the_record(A0_RECORD_MAIN)));
	reply_tokens("api-at", "rt-3", 3600);
	assert_int_equal(a0_cm_api_get(&cm, "https://api/", NULL, 60, NULL, 0, &r),
			 AUTH0_CREDENTIALS_OK);
	assert_true(a0_record_uses_broker(r));
	a0_record_free(r);
	assert_int_equal(a0_record_api_name("https://api/", NULL, &name), 0);
	assert_true(a0_record_uses_broker(the_record(name)));
	assert_true(a0_record_uses_broker(the_record(A0_RECORD_MAIN)));
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-3");
	free(name);
}

static void test_store_failure(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW));
	reply_tokens("at-2", "rt-2", 3600);
	w.save_err = A0_ERR_STORE;
	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_STORE_FAILED);
}

/*
 * The key quota refuses the renewed main record: the API and session transfer records, caches
 * its refresh token can fetch again, make room, and the rotated refresh token is kept. Only
 * when the quota still refuses it is the get a failure.
 */
static void test_full_quota_evicts_caches_for_the_rotated_token(void **state)
{
	struct a0_record *r = NULL;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW));
	put("api:https://api/", record("api-at", NULL, "read", NOW + 3600));
	put(A0_RECORD_SSO, record("sso-at", NULL, NULL, NOW + 60));
	reply_tokens("at-2", "rt-2", 3600);
	w.save_err = A0_ERR_STORE;
	w.save_fails = 1;
	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->access_token, "at-2");
	a0_record_free(r);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_null(get_record("api:https://api/"));
	assert_null(get_record(A0_RECORD_SSO));
	assert_int_equal(w.clears, 1);

	/* Nothing left to evict helps no more: STORE_FAILED, after one eviction only. */
	reply_tokens("at-3", "rt-3", 3600);
	w.save_err = A0_ERR_STORE;
	w.save_fails = 0;
	assert_int_equal(get(NULL, 0, true, &r), AUTH0_CREDENTIALS_STORE_FAILED);
	assert_int_equal(w.clears, 2);
}

static void test_unprintable_access_token_keeps_rotated_refresh_token(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW));
	reply_tokens("at 2\nInjected: yes", "rt-2", 3600);
	assert_int_equal(get(NULL, 0, false, &r), AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_string_equal(the_record(A0_RECORD_MAIN)->access_token, "at-1");
}

static void test_reserved_params_refused_before_anything(void **state)
{
	const struct a0_param bad[] = { { "Refresh_Token", "x" } };
	const struct a0_param twice[] = { { "foo", "1" }, { "FOO", "2" } };
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW));
	assert_int_equal(a0_cm_get(&cm, NULL, 0, true, bad, 1, &r),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(a0_cm_get(&cm, NULL, 0, true, twice, 2, &r),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(a0_cm_get(&cm, NULL, -1, true, NULL, 0, &r),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(w.n_requests, 0);
	assert_int_equal(w.locks, 0);
}

/* ------------------------------------------------------------------ concurrency */

static void test_refresh_by_another_process_is_used(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 10));
	w.on_lock = record("at-other", "rt-other", "openid", NOW + 3600);
	assert_int_equal(get(NULL, 600, false, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->access_token, "at-other");
	assert_int_equal(w.n_requests, 0);
	a0_record_free(r);
}

static void test_forced_refresh_satisfied_by_concurrent_refresh(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	w.on_lock = record("at-other", "rt-other", "openid", NOW + 3600);
	assert_int_equal(get(NULL, 0, true, &r), AUTH0_CREDENTIALS_OK);
	assert_string_equal(r->access_token, "at-other");
	assert_int_equal(w.n_requests, 0);
	a0_record_free(r);
	/* Nothing changed meanwhile: forced means a request. */
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get(NULL, 0, true, &r), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(w.requests[0].refresh_token, "rt-other");
	a0_record_free(r);
}

static void test_concurrent_refresh_too_short_is_large_min_ttl(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 10));
	w.on_lock = record("at-other", "rt-other", "openid", NOW + 60);
	assert_int_equal(get(NULL, 600, false, &r), AUTH0_CREDENTIALS_LARGE_MIN_TTL);
	assert_int_equal(w.n_requests, 0);
}

static void test_concurrent_refresh_of_other_scope_refreshes_again(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid profile", NOW + 10));
	w.on_lock = record("at-other", "rt-other", "openid", NOW + 3600);
	reply_tokens("at-2", "rt-2", 3600);
	assert_int_equal(get("openid profile", 600, false, &r), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.n_requests, 1);
	assert_string_equal(w.requests[0].refresh_token, "rt-other");
	a0_record_free(r);
}

/* ------------------------------------------------------------------ api, sso, revoke */

static void test_api_get_exchanges_and_rotates_main(void **state)
{
	const struct a0_param p[] = { { "organization", "org_1" } };
	struct a0_record *r;
	char *name;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	w.records[find(A0_RECORD_MAIN)].rec->refresh_expires_at = NOW + 86400;
	reply_tokens("api-at", "rt-2", 3600);
	assert_int_equal(a0_cm_api_get(&cm, "https://api/", "write read", 60, p, 1, &r),
			 AUTH0_CREDENTIALS_OK);
	assert_int_equal(r->refresh_expires_at, NOW + 86400);
	assert_string_equal(r->access_token, "api-at");
	assert_null(r->refresh_token);
	assert_string_equal(r->audience, "https://api/");
	assert_string_equal(r->scope, "write read");
	assert_string_equal(w.requests[0].audience, "https://api/");
	assert_string_equal(w.requests[0].scope, "write read");
	assert_int_equal(w.requests[0].n_params, 1);
	a0_record_free(r);
	/* The rotated token went to the main record, whose access token is unchanged. */
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_string_equal(the_record(A0_RECORD_MAIN)->access_token, "at-1");
	assert_int_equal(a0_record_api_name("https://api/", "write read", &name), 0);
	assert_non_null(get_record(name));
	assert_null(the_record(name)->refresh_token);
	/* Cached under the sorted scopes: any order hits it, without a request. */
	assert_int_equal(a0_cm_api_get(&cm, "https://api/", "read write", 60, NULL, 0, &r),
			 AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.n_requests, 1);
	a0_record_free(r);
	assert_int_equal(a0_cm_api_clear(&cm, "https://api/", "read write"), 0);
	assert_null(get_record(name));
	free(name);
}

static void test_api_get_failure_untouched(void **state)
{
	struct a0_record *r;
	char *before;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	before = snapshot();
	reply_error(A0_ERR_AUTH0, 403, "access_denied", -1);
	assert_int_equal(a0_cm_api_get(&cm, "https://api/", NULL, 0, NULL, 0, &r),
			 AUTH0_CREDENTIALS_API_EXCHANGE_FAILED);
	assert_untouched(before);
	free(before);
	put(A0_RECORD_MAIN, record("at-1", NULL, "openid", NOW + 3600));
	assert_int_equal(a0_cm_api_get(&cm, "https://api/", NULL, 0, NULL, 0, &r),
			 AUTH0_CREDENTIALS_NO_REFRESH_TOKEN);
	assert_int_equal(a0_cm_api_get(&cm, "", NULL, 0, NULL, 0, &r),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
}

static void test_api_get_large_min_ttl_keeps_rotated(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	reply_tokens("api-at", "rt-2", 30);
	assert_int_equal(a0_cm_api_get(&cm, "https://api/", NULL, 60, NULL, 0, &r),
			 AUTH0_CREDENTIALS_LARGE_MIN_TTL);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
}

static void test_sso_exchange(void **state)
{
	struct a0_record *r;
	long long expires_in = 0;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	w.replies[w.n_replies++] = (struct reply){ .access_token = "stt",
						   .refresh_token = "rt-2",
						   .token_type = "N_A",
						   .expires_in = 60 };
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, NULL, 0, &r, &expires_in), AUTH0_CREDENTIALS_OK);
	assert_string_equal(w.requests[0].audience, "urn:tenant.example.com:session_transfer");
	assert_string_equal(r->access_token, "stt");
	assert_string_equal(r->token_type, "N_A");
	assert_int_equal(expires_in, 60);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	a0_record_free(r);
	reply_error(A0_ERR_DENIED, 403, "invalid_grant", -1);
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, NULL, 0, &r, NULL),
			 AUTH0_CREDENTIALS_SSO_EXCHANGE_FAILED);
}

/* The seed's getSSOCredentials: a new ID token in the exchange's answer is stored too. */
static void test_sso_exchange_stores_new_id_token(void **state)
{
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	w.replies[w.n_replies++] = (struct reply){ .access_token = "stt",
						   .refresh_token = "rt-2",
						   .id_token = "id-2",
						   .token_type = "N_A",
						   .expires_in = 60 };
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, NULL, 0, &r, NULL), AUTH0_CREDENTIALS_OK);
	a0_record_free(r);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_string_equal(the_record(A0_RECORD_MAIN)->id_token, "id-2");
	/* The access token of the session is not the session transfer token. */
	assert_string_equal(the_record(A0_RECORD_MAIN)->access_token, "at-1");
	/* An ID token without a rotated refresh token is stored as well. */
	w.replies[w.n_replies++] = (struct reply){
		.access_token = "stt-2", .id_token = "id-3", .token_type = "N_A", .expires_in = 60
	};
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, NULL, 0, &r, NULL), AUTH0_CREDENTIALS_OK);
	a0_record_free(r);
	assert_string_equal(the_record(A0_RECORD_MAIN)->refresh_token, "rt-2");
	assert_string_equal(the_record(A0_RECORD_MAIN)->id_token, "id-3");
}

/* getSSOCredentials' headers: sent with the exchange; those that would change it refused. */
static void test_sso_headers_travel_and_are_checked(void **state)
{
	static const char *const refused[][2] = {
		{ "Host", "evil.example.com" },
		{ "authorization", "Bearer x" },
		{ "Content-Type", "text/plain" },
		{ "Content-Length", "0" },
		{ "Cookie", "a=b" },
		{ "auth0-forwarded-for", "1.2.3.4" },
		{ "X-Forwarded-For", "1.2.3.4" },
		{ "Transfer-Encoding", "chunked" },
		{ "DPoP", "x" },
		{ "X-Ok", "a\r\nHost: evil" },
		{ "X-Ok", "a\nb" },
		{ "X Bad", "v" },
		{ "X:Bad", "v" },
		{ "", "v" },
	};
	struct a0_param h[A0_CM_MAX_HEADERS + 1];
	char big[A0_CM_MAX_HEADER_VALUE + 2];
	struct a0_record *r;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	h[0] = (struct a0_param){ "X-Request-Id", "abc 123" };
	h[1] = (struct a0_param){ "User-Agent", "myapp/1.0" };
	w.replies[w.n_replies++] =
		(struct reply){ .access_token = "stt", .token_type = "N_A", .expires_in = 60 };
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, h, 2, &r, NULL), AUTH0_CREDENTIALS_OK);
	a0_record_free(r);
	assert_int_equal(w.requests[0].n_headers, 2);
	assert_string_equal(w.requests[0].header, "X-Request-Id: abc 123");

	for (size_t i = 0; i < A0_ARRAY_SIZE(refused); i++) {
		h[0] = (struct a0_param){ refused[i][0], refused[i][1] };
		if (a0_cm_sso(&cm, NULL, 0, h, 1, &r, NULL) != AUTH0_CREDENTIALS_INVALID_ARGUMENT)
			fail_msg("header %zu (%s) was not refused", i, refused[i][0]);
	}
	/* Twice (any case), too many, too long: refused. */
	h[0] = (struct a0_param){ "X-A", "1" };
	h[1] = (struct a0_param){ "x-a", "2" };
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, h, 2, &r, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	for (size_t i = 0; i < A0_CM_MAX_HEADERS + 1; i++)
		h[i] = (struct a0_param){ "X-A", "1" };
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, h, A0_CM_MAX_HEADERS + 1, &r, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	h[0] = (struct a0_param){ "X-A", big };
	assert_int_equal(a0_cm_sso(&cm, NULL, 0, h, 1, &r, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	/* Nothing refused was sent. */
	assert_int_equal(w.n_requests, 1);
}

static void test_revoke_then_clear(void **state)
{
	char *before;

	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 3600));
	before = snapshot();
	reply_error(A0_ERR_NETWORK, 0, NULL, -1);
	assert_int_equal(a0_cm_revoke(&cm), AUTH0_CREDENTIALS_NO_NETWORK);
	assert_untouched(before);
	reply_error(A0_ERR_SERVER, 503, NULL, -1);
	assert_int_equal(a0_cm_revoke(&cm), AUTH0_CREDENTIALS_REVOKE_FAILED);
	assert_untouched(before);
	assert_int_equal(a0_cm_revoke(&cm), AUTH0_CREDENTIALS_OK);
	assert_int_equal(w.revokes, 3);
	assert_null(get_record(A0_RECORD_MAIN));
	assert_int_equal(a0_cm_revoke(&cm), AUTH0_CREDENTIALS_NO_CREDENTIALS);
	free(before);
}

static void test_has_valid(void **state)
{
	put(A0_RECORD_MAIN, record("at-1", "rt-1", "openid", NOW + 100));
	assert_int_equal(a0_cm_has_valid(&cm, 100), AUTH0_CREDENTIALS_OK);
	assert_int_equal(a0_cm_has_valid(&cm, 101), AUTH0_CREDENTIALS_NOT_VALID);
	assert_int_equal(w.locks, 0);
}

static void test_save_token_response(void **state)
{
	static const char json[] = "{\"access_token\":\"at-s\",\"token_type\":\"Bearer\","
				   "\"expires_in\":\"120\",\"refresh_token\":\"rt-s\"}";
	const struct a0_record *r;

	assert_int_equal(a0_cm_save(&cm, json, strlen(json), NULL, NULL, NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT); /* no tenant to take */
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "localhost:8443", "cid", "/ca.pem",
				    NULL),
			 AUTH0_CREDENTIALS_OK);
	r = the_record(A0_RECORD_MAIN);
	assert_string_equal(r->refresh_token, "rt-s");
	assert_int_equal(r->expires_at, NOW + 120);
	assert_null(r->scope);
	assert_string_equal(r->ca_file, "/ca.pem");
	/* The tenant is kept from the record being replaced. */
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), NULL, NULL, NULL, NULL), 0);
	assert_string_equal(the_record(A0_RECORD_MAIN)->domain, "localhost:8443");
	assert_int_equal(a0_cm_save(&cm, "{}", 2, "h", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "bad host/", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "h", "c", "relative.pem", NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
}

/*
 * save takes the SDKs' own Credentials object too (camelCase, expiresAt in seconds since the
 * epoch), not only Auth0's token response; a mix of both shapes is refused, not guessed.
 */
static void test_save_sdk_credentials_shape(void **state)
{
	char json[512];
	const struct a0_record *r;

	snprintf(json, sizeof(json),
		 "{\"accessToken\":\"at-c\",\"idToken\":\"id-c\",\"refreshToken\":\"rt-c\","
		 "\"tokenType\":\"Bearer\",\"expiresAt\":%lld,\"scope\":\"openid email\"}",
		 (long long)NOW + 600);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "localhost:8443", "cid", NULL, NULL),
			 AUTH0_CREDENTIALS_OK);
	r = the_record(A0_RECORD_MAIN);
	assert_non_null(r);
	assert_string_equal(r->access_token, "at-c");
	assert_string_equal(r->id_token, "id-c");
	assert_string_equal(r->refresh_token, "rt-c");
	assert_string_equal(r->token_type, "Bearer");
	assert_string_equal(r->scope, "openid email");
	assert_int_equal(r->expires_at, NOW + 600);

	/* Both shapes at once: which expiry, which token? Refused. */
	snprintf(json, sizeof(json),
		 "{\"accessToken\":\"at-c\",\"access_token\":\"at-s\",\"tokenType\":\"Bearer\","
		 "\"expiresAt\":%lld,\"expires_in\":60}",
		 (long long)NOW + 600);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "h", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_non_null(strstr(cm.message, "mixes"));
	/* Milliseconds (JavaScript's Date.now()), a date string, a past time: refused. */
	snprintf(json, sizeof(json),
		 "{\"accessToken\":\"a\",\"tokenType\":\"Bearer\",\"expiresAt\":%lld}",
		 (long long)NOW * 1000);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "h", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	snprintf(json, sizeof(json),
		 "{\"accessToken\":\"a\",\"tokenType\":\"Bearer\","
		 "\"expiresAt\":\"2030-01-01T00:00:00Z\"}");
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "h", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	snprintf(json, sizeof(json),
		 "{\"accessToken\":\"a\",\"tokenType\":\"Bearer\",\"expiresAt\":%lld}",
		 (long long)NOW - 1);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "h", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	snprintf(json, sizeof(json), "{\"accessToken\":\"a\",\"expiresAt\":%lld}",
		 (long long)NOW + 60);
	assert_int_equal(a0_cm_save(&cm, json, strlen(json), "h", "c", NULL, NULL),
			 AUTH0_CREDENTIALS_INVALID_ARGUMENT); /* no tokenType */
	/* None of them touched what was saved. */
	assert_string_equal(the_record(A0_RECORD_MAIN)->access_token, "at-c");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_scope_equal),
		T(test_valid_for_boundaries),
		T(test_valid_returns_stored_without_network),
		T(test_expiring_refreshes_and_stores),
		T(test_expired_refreshes),
		T(test_scope_change_refreshes_with_scope),
		T(test_forced_refreshes_valid),
		T(test_no_refresh_token),
		T(test_no_credentials),
		T(test_large_min_ttl_keeps_new_tokens),
		T(test_min_ttl_over_a_year_is_large_min_ttl_after_refresh),
		T(test_new_id_token_replaces_old),
		T(test_server_error_retried_then_fails_untouched),
		T(test_rate_limit_honours_retry_after),
		T(test_rate_limit_over_the_cap_not_waited),
		T(test_retry_waits_are_capped_in_total),
		T(test_network_error_not_retried),
		T(test_denied_reports_auth0_error),
		T(test_mfa_required),
		T(test_confidential_client_explained),
		T(test_broker_record_failures),
		T(test_broker_record_kept),
		T(test_store_failure),
		T(test_full_quota_evicts_caches_for_the_rotated_token),
		T(test_unprintable_access_token_keeps_rotated_refresh_token),
		T(test_reserved_params_refused_before_anything),
		T(test_refresh_by_another_process_is_used),
		T(test_forced_refresh_satisfied_by_concurrent_refresh),
		T(test_concurrent_refresh_too_short_is_large_min_ttl),
		T(test_concurrent_refresh_of_other_scope_refreshes_again),
		T(test_api_get_exchanges_and_rotates_main),
		T(test_api_get_failure_untouched),
		T(test_api_get_large_min_ttl_keeps_rotated),
		T(test_sso_exchange),
		T(test_sso_exchange_stores_new_id_token),
		T(test_sso_headers_travel_and_are_checked),
		T(test_revoke_then_clear),
		T(test_has_valid),
		T(test_save_token_response),
		T(test_save_sdk_credentials_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
