/* SPDX-License-Identifier: MIT */
/*
 * broker/protocol.h: requests and responses round trip; every class of malformed request
 * (not JSON, not an object, unknown, repeated or missing members, wrong types, over the bounds,
 * members another operation does not take) is refused without the secret in the reason; and
 * a0_broker_call's errors when no broker listens or one stalls.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/protocol.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "tests/common/assert.h"

#define RT "v1.MRrt-secret-refresh-token"

/* Writable copies of the texts the structs point at (-Wwrite-strings). */
static char rt[] = RT, domain[] = "tenant.example.com", local_domain[] = "localhost:8443",
	    client_id[] = "abc", audience[] = "https://api.example.com/",
	    scope[] = "openid profile", openid[] = "openid", at[] = "at-secret",
	    idt[] = "id.tok.en", rt_new[] = "rt-new", bearer[] = "Bearer";

static int parse(const char *json, struct a0_broker_request **ret, char *why, size_t whylen)
{
	return a0_broker_request_parse(json, strlen(json), ret, why, whylen);
}

static void test_request_round_trip(void **state)
{
	struct a0_param params[] = { { "organization", "org_1" }, { "x-extra", "a b" } };
	struct a0_broker_request in = { .op = A0_BROKER_REFRESH,
					.domain = domain,
					.client_id = client_id,
					.refresh_token = rt,
					.audience = audience,
					.scope = scope,
					.params = params,
					.n_params = 2 },
				 *out = NULL;
	char *json = NULL, why[256];
	size_t len = 0;

	assert_a0(a0_broker_request_format(&in, &json, &len), 0);
	assert_a0(a0_broker_request_parse(json, len, &out, why, sizeof(why)), 0);
	assert_int_equal(out->op, A0_BROKER_REFRESH);
	assert_string_equal(out->domain, in.domain);
	assert_string_equal(out->client_id, in.client_id);
	assert_string_equal(out->refresh_token, RT);
	assert_string_equal(out->audience, in.audience);
	assert_string_equal(out->scope, in.scope);
	assert_int_equal(out->n_params, 2);
	assert_string_equal(out->params[1].key, "x-extra");
	assert_string_equal(out->params[1].value, "a b");
	a0_broker_request_free(out);
	a0_secret_free(json);

	in = (struct a0_broker_request){ .op = A0_BROKER_REVOKE,
					 .domain = local_domain,
					 .client_id = client_id,
					 .refresh_token = rt };
	assert_a0(a0_broker_request_format(&in, &json, &len), 0);
	assert_a0(a0_broker_request_parse(json, len, &out, why, sizeof(why)), 0);
	assert_int_equal(out->op, A0_BROKER_REVOKE);
	assert_null(out->audience);
	assert_int_equal(out->n_params, 0);
	a0_broker_request_free(out);
	a0_secret_free(json);

	/* Revoke takes the refresh token alone; a request without its members is not sent. */
	in.scope = openid;
	assert_a0(a0_broker_request_format(&in, &json, &len), A0_ERR_INVALID);
	in.scope = NULL;
	in.refresh_token = NULL;
	assert_a0(a0_broker_request_format(&in, &json, &len), A0_ERR_INVALID);
}

static void test_request_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"\"refresh\"",
		"{}",
		/* missing members */
		"{\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\",\"refresh_token\":"
		"\"" RT "\"}",
		"{\"v\":1,\"domain\":\"t.example\",\"client_id\":\"c\",\"refresh_token\":\"" RT
		"\"}",
		"{\"v\":1,\"op\":\"refresh\",\"client_id\":\"c\",\"refresh_token\":\"" RT "\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"refresh_token\":\"" RT
		"\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\"}",
		/* wrong version, unknown operation */
		"{\"v\":2,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\"}",
		"{\"v\":\"1\",\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\"}",
		"{\"v\":1,\"op\":\"password\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\"}",
		/* unknown member, repeated member */
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"grant_type\":\"password\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"refresh_token\":\"" RT "\"}",
		"{\"v\":1,\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\"}",
		/* wrong types */
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":7,"
		"\"refresh_token\":\"" RT "\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":[\"" RT "\"]}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"params\":[]}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"params\":{\"a\":1}}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"audience\":null}",
		/* bad texts: a domain with a path, a token with a blank, an empty client_id */
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example/x\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT " x\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"\","
		"\"refresh_token\":\"" RT "\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"scope\":\"a\\nb\"}",
		/* repeated parameter (ignoring case) */
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"params\":{\"a\":\"1\",\"A\":\"2\"}}",
		/* revoke takes the refresh token alone */
		"{\"v\":1,\"op\":\"revoke\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\",\"scope\":\"openid\"}",
		/* trailing garbage */
		"{\"v\":1,\"op\":\"revoke\",\"domain\":\"t.example\",\"client_id\":\"c\","
		"\"refresh_token\":\"" RT "\"} x",
	};
	struct a0_broker_request *r = NULL;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (parse(bad[i], &r, why, sizeof(why)) != A0_ERR_MALFORMED)
			fail_msg("accepted #%zu: %s", i, bad[i]);
		assert_null(r);
		assert_true(why[0] != '\0');
		/* The reason never holds the secret. */
		if (strstr(why, "secret-refresh-token"))
			fail_msg("#%zu: the reason holds the token: %s", i, why);
	}
}

static void test_request_bounds(void **state)
{
	struct a0_broker_request *r = NULL;
	char why[256], *json, *big;
	size_t n = A0_MAX_TOKEN + 1;
	int len;

	/* A refresh token over A0_MAX_TOKEN. */
	big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	json = malloc(n + 256);
	len = snprintf(json, n + 256,
		       "{\"v\":1,\"op\":\"revoke\",\"domain\":\"t.example\",\"client_id\":\"c\","
		       "\"refresh_token\":\"%s\"}",
		       big);
	assert_a0(a0_broker_request_parse(json, (size_t)len, &r, why, sizeof(why)),
		  A0_ERR_MALFORMED);
	/* One that fits in a request frame is fine. */
	big[A0_BROKER_MAX_REQUEST - 200] = '\0';
	len = snprintf(json, n + 256,
		       "{\"v\":1,\"op\":\"revoke\",\"domain\":\"t.example\",\"client_id\":\"c\","
		       "\"refresh_token\":\"%s\"}",
		       big);
	assert_a0(a0_broker_request_parse(json, (size_t)len, &r, why, sizeof(why)), 0);
	a0_broker_request_free(r);
	r = NULL;
	free(json);
	free(big);

	/* A frame over A0_BROKER_MAX_REQUEST is refused before it is parsed. */
	big = calloc(1, A0_BROKER_MAX_REQUEST + 2);
	memset(big, ' ', A0_BROKER_MAX_REQUEST + 1);
	big[0] = '{';
	big[A0_BROKER_MAX_REQUEST] = '}';
	assert_a0(a0_broker_request_parse(big, A0_BROKER_MAX_REQUEST + 1, &r, why, sizeof(why)),
		  A0_ERR_MALFORMED);
	free(big);

	/* More than A0_BROKER_MAX_PARAMS parameters. */
	json = calloc(1, 4096);
	len = snprintf(json, 4096,
		       "{\"v\":1,\"op\":\"refresh\",\"domain\":\"t.example\",\"client_id\":\"c\","
		       "\"refresh_token\":\"x\",\"params\":{");
	for (int i = 0; i <= A0_BROKER_MAX_PARAMS; i++)
		len += snprintf(json + len, 4096 - (size_t)len, "%s\"p%d\":\"v\"", i ? "," : "", i);
	len += snprintf(json + len, 4096 - (size_t)len, "}}");
	assert_a0(a0_broker_request_parse(json, (size_t)len, &r, why, sizeof(why)),
		  A0_ERR_MALFORMED);
	/* Deeper than A0_JSON_MAX_DEPTH. */
	memset(json, '[', 100);
	assert_a0(a0_broker_request_parse(json, 100, &r, why, sizeof(why)), A0_ERR_MALFORMED);
	free(json);
}

static void test_response_round_trip(void **state)
{
	struct a0_tokens t = { .access_token = at,
			       .id_token = idt,
			       .refresh_token = rt_new,
			       .token_type = bearer,
			       .scope = openid,
			       .expires_in = 86400 },
			 *out = NULL;
	struct a0_result res = { .status = 429, .retry_after = 30 }, got = { 0 };
	char *json = NULL, why[256];
	size_t len = 0;
	int err = 1;

	assert_a0(a0_broker_response_format(0, NULL, &t, &json, &len), 0);
	assert_a0(a0_broker_response_parse(json, len, &err, &got, &out, why, sizeof(why)), 0);
	assert_a0(err, 0);
	assert_non_null(out);
	assert_string_equal(out->access_token, "at-secret");
	assert_string_equal(out->id_token, "id.tok.en");
	assert_string_equal(out->refresh_token, "rt-new");
	assert_string_equal(out->token_type, "Bearer");
	assert_string_equal(out->scope, "openid");
	assert_int_equal(out->expires_in, 86400);
	assert_true(out->expires_at > 0);
	assert_int_equal(got.retry_after, -1);
	a0_tokens_free(out);
	out = NULL;
	a0_secret_free(json);

	snprintf(res.error, sizeof(res.error), "too_many_requests");
	snprintf(res.description, sizeof(res.description), "slow down");
	/* Tokens are never sent with a failure. */
	assert_a0(a0_broker_response_format(A0_ERR_RATE_LIMITED, &res, &t, &json, &len), 0);
	assert_null(strstr(json, "at-secret"));
	assert_a0(a0_broker_response_parse(json, len, &err, &got, &out, why, sizeof(why)), 0);
	assert_a0(err, A0_ERR_RATE_LIMITED);
	assert_null(out);
	assert_int_equal(got.status, 429);
	assert_int_equal(got.retry_after, 30);
	assert_string_equal(got.error, "too_many_requests");
	assert_string_equal(got.description, "slow down");
	a0_secret_free(json);

	/* Every result name comes back as its code. */
	for (int e = 0; e >= A0_ERR_LOCKED; e--) {
		assert_a0(a0_broker_response_format(e, NULL, NULL, &json, &len), 0);
		assert_a0(a0_broker_response_parse(json, len, &err, NULL, NULL, why, sizeof(why)),
			  0);
		assert_a0(err, e);
		a0_secret_free(json);
	}
}

static void test_response_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"result\":\"OK\"}",
		"{\"v\":1}",
		"{\"v\":1,\"result\":\"NO_SUCH_RESULT\"}",
		"{\"v\":1,\"result\":\"OK\",\"result\":\"OK\"}",
		"{\"v\":1,\"result\":\"OK\",\"extra\":1}",
		"{\"v\":1,\"result\":\"OK\",\"status\":\"200\"}",
		"{\"v\":1,\"result\":\"OK\",\"status\":1000}",
		"{\"v\":1,\"result\":\"OK\",\"retry_after\":-2}",
		"{\"v\":1,\"result\":\"OK\",\"retry_after\":1.5}",
		"{\"v\":1,\"result\":\"OK\",\"tokens\":{\"token_type\":\"Bearer\","
		"\"expires_in\":1}}",
		"{\"v\":1,\"result\":\"OK\",\"tokens\":{\"access_token\":\"a\","
		"\"token_type\":\"Bearer\"}}",
		"{\"v\":1,\"result\":\"OK\",\"tokens\":{\"access_token\":\"a\",\"access_token\":"
		"\"b\",\"token_type\":\"Bearer\",\"expires_in\":1}}",
		"{\"v\":1,\"result\":\"OK\",\"tokens\":{\"access_token\":\"a b\","
		"\"token_type\":\"Bearer\",\"expires_in\":1}}",
		"{\"v\":1,\"result\":\"DENIED\",\"tokens\":{\"access_token\":\"a\","
		"\"token_type\":\"Bearer\",\"expires_in\":1}}",
	};
	struct a0_tokens *t = NULL;
	struct a0_result res = { 0 };
	char why[256];
	int err = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (a0_broker_response_parse(bad[i], strlen(bad[i]), &err, &res, &t, why,
					     sizeof(why)) != A0_ERR_MALFORMED)
			fail_msg("accepted #%zu: %s", i, bad[i]);
		assert_null(t);
		assert_true(why[0] != '\0');
	}
}

/* The "vault" op: its members round-trip, and it takes nothing of refresh's (nor they of it). */
static void test_vault_op(void **state)
{
	static const char *const bad[] = {
		/* no connection */
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\"}",
		/* audience and params are refresh's */
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\",\"audience\":\"x\"}",
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\",\"params\":{\"a\":\"b\"}}",
		/* a connection with ':' (record names), a blank, or not a string */
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"a:b\"}",
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"a b\"}",
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":7}",
		/* repeated */
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\",\"connection\":\"github\"}",
		/* a login hint with a blank */
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\",\"login_hint\":\"a b\"}",
		/* connection and login_hint are vault's only */
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\"}",
		"{\"v\":1,\"op\":\"revoke\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"login_hint\":\"x\"}", /* a DPoP proof is refresh's and vault's: not revoke's, nor with a blank */
		"{\"v\":1,\"op\":\"revoke\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"dpop\":\"a.b.c\"}",
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\",\"dpop\":\"a b\"}",
	};
	char conn[] = "google-oauth2", hint[] = "alice@example.com", long_conn[200],
	     proof[] = "eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJQT1NUIn0.c2ln";
	struct a0_broker_request in = { .op = A0_BROKER_VAULT,
					.domain = domain,
					.client_id = client_id,
					.refresh_token = rt,
					.scope = scope,
					.connection = conn,
					.login_hint = hint },
				 *out = NULL;
	struct a0_tokens tokens = { .access_token = at,
				    .token_type = bearer,
				    .scope = scope,
				    .expires_in = 3599,
				    .issued_token_type =
					    (char *)(uintptr_t)A0_TOKEN_TYPE_FEDERATED };
	struct a0_result res = { .retry_after = -1 };
	struct a0_tokens *t = NULL;
	char *json = NULL, why[256];
	size_t len = 0;
	int err = 1;

	assert_string_equal(a0_broker_op_name(A0_BROKER_VAULT), "vault");
	assert_a0(a0_broker_request_format(&in, &json, &len), 0);
	assert_non_null(strstr(json, "\"op\":\"vault\""));
	assert_a0(a0_broker_request_parse(json, len, &out, why, sizeof(why)), 0);
	assert_int_equal(out->op, A0_BROKER_VAULT);
	assert_string_equal(out->refresh_token, RT);
	assert_string_equal(out->connection, conn);
	assert_string_equal(out->login_hint, hint);
	assert_string_equal(out->scope, scope);
	assert_null(out->audience);
	assert_null(out->dpop);
	a0_broker_request_free(out);
	a0_secret_free(json);
	/* With the caller's DPoP proof: it round-trips. */
	in.dpop = proof;
	assert_a0(a0_broker_request_format(&in, &json, &len), 0);
	assert_a0(a0_broker_request_parse(json, len, &out, why, sizeof(why)), 0);
	assert_string_equal(out->dpop, proof);
	in.dpop = NULL;
	a0_broker_request_free(out);
	a0_secret_free(json);

	/* The formatter refuses what the parser would. */
	in.connection = NULL;
	assert_a0(a0_broker_request_format(&in, &json, &len), A0_ERR_INVALID);
	in.connection = conn;
	in.audience = audience;
	assert_a0(a0_broker_request_format(&in, &json, &len), A0_ERR_INVALID);
	in = (struct a0_broker_request){ .op = A0_BROKER_REFRESH,
					 .domain = domain,
					 .client_id = client_id,
					 .refresh_token = rt,
					 .connection = conn };
	assert_a0(a0_broker_request_format(&in, &json, &len), A0_ERR_INVALID);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = NULL;
		why[0] = '\0';
		assert_a0(parse(bad[i], &out, why, sizeof(why)), A0_ERR_MALFORMED);
		assert_null(out);
		assert_true(why[0] != '\0');
		assert_null(strstr(why, "\"r\""));
	}
	/* A connection over its bound. */
	memset(long_conn, 'c', sizeof(long_conn) - 1);
	long_conn[sizeof(long_conn) - 1] = '\0';
	{
		char req[512];

		snprintf(req, sizeof(req),
			 "{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\","
			 "\"client_id\":\"c\",\"refresh_token\":\"r\",\"connection\":\"%s\"}",
			 long_conn);
		assert_a0(parse(req, &out, why, sizeof(why)), A0_ERR_MALFORMED);
	}

	/* The answer: issued_token_type travels with the token. */
	assert_a0(a0_broker_response_format(0, &res, &tokens, &json, &len), 0);
	assert_a0(a0_broker_response_parse(json, len, &err, &res, &t, why, sizeof(why)), 0);
	assert_int_equal(err, 0);
	assert_non_null(t);
	assert_string_equal(t->access_token, at);
	assert_string_equal(t->issued_token_type, A0_TOKEN_TYPE_FEDERATED);
	assert_int_equal(t->expires_in, 3599);
	assert_null(t->refresh_token);
	a0_tokens_free(t);
	a0_secret_free(json);
	a0_result_clear(&res);
}

/* exchange and worker: their shapes round trip; every member another operation holds, or one
 * they need missing, is malformed; the subject token never appears in a reason. */
static void test_exchange_and_worker_ops(void **state)
{
	static const char *const bad[] = {
		/* exchange: no access token, no connection, a record's members */
		"{\"v\":1,\"op\":\"exchange\",\"connection\":\"github\"}",
		"{\"v\":1,\"op\":\"exchange\",\"access_token\":\"SUBJ\"}",
		"{\"v\":1,\"op\":\"exchange\",\"access_token\":\"SUBJ\",\"connection\":\"github\","
		"\"domain\":\"a.example.com\"}",
		"{\"v\":1,\"op\":\"exchange\",\"access_token\":\"SUBJ\",\"connection\":\"github\","
		"\"refresh_token\":\"r\"}",
		"{\"v\":1,\"op\":\"exchange\",\"access_token\":\"SUBJ\",\"connection\":\"github\","
		"\"subject\":\"auth0|1\"}",
		"{\"v\":1,\"op\":\"exchange\",\"access_token\":\"SUBJ\",\"connection\":\"github\","
		"\"audit_context\":\"x\"}",
		/* worker: no subject, a blank in it, an access token, audience */
		"{\"v\":1,\"op\":\"worker\",\"connection\":\"github\"}",
		"{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0 1\",\"connection\":\"github\"}",
		"{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0|1\",\"connection\":\"github\","
		"\"access_token\":\"SUBJ\"}",
		"{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0|1\",\"connection\":\"github\","
		"\"audience\":\"x\"}",
		/* an audit context with a control character or not ASCII */
		"{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0|1\",\"connection\":\"github\","
		"\"audit_context\":\"a\\nb\"}",
		"{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0|1\",\"connection\":\"github\","
		"\"audit_context\":\"caf\\u00e9\"}",
		/* the new members on the old operations */
		"{\"v\":1,\"op\":\"vault\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"connection\":\"github\",\"subject\":\"auth0|1\"}",
		"{\"v\":1,\"op\":\"refresh\",\"domain\":\"a.example.com\",\"client_id\":\"c\","
		"\"refresh_token\":\"r\",\"access_token\":\"SUBJ\"}",
	};
	char conn[] = "google-oauth2", sub[] = "auth0|123", audit[] = "nightly backup",
	     subj[] = "SUBJ.access.token";
	struct a0_broker_request ex = { .op = A0_BROKER_EXCHANGE,
					.access_token = subj,
					.connection = conn,
					.scope = openid },
				 wk = { .op = A0_BROKER_WORKER,
					.subject = sub,
					.connection = conn,
					.audit_context = audit },
				 *out = NULL;
	char *json = NULL, why[256], big[A0_BROKER_MAX_AUDIT + 2], req[1024];
	size_t len = 0;

	assert_string_equal(a0_broker_op_name(A0_BROKER_EXCHANGE), "exchange");
	assert_string_equal(a0_broker_op_name(A0_BROKER_WORKER), "worker");
	assert_a0(a0_broker_request_format(&ex, &json, &len), 0);
	assert_null(strstr(json, "domain"));
	assert_a0(a0_broker_request_parse(json, len, &out, why, sizeof(why)), 0);
	assert_int_equal(out->op, A0_BROKER_EXCHANGE);
	assert_string_equal(out->access_token, subj);
	assert_string_equal(out->connection, conn);
	assert_string_equal(out->scope, openid);
	assert_null(out->refresh_token);
	assert_null(out->domain);
	a0_broker_request_free(out);
	a0_secret_free(json);
	assert_a0(a0_broker_request_format(&wk, &json, &len), 0);
	assert_a0(a0_broker_request_parse(json, len, &out, why, sizeof(why)), 0);
	assert_int_equal(out->op, A0_BROKER_WORKER);
	assert_string_equal(out->subject, sub);
	assert_string_equal(out->audit_context, audit);
	assert_null(out->access_token);
	a0_broker_request_free(out);
	a0_secret_free(json);

	/* The formatter refuses what the parser would. */
	ex.domain = domain;
	assert_a0(a0_broker_request_format(&ex, &json, &len), A0_ERR_INVALID);
	ex.domain = NULL;
	ex.access_token = NULL;
	assert_a0(a0_broker_request_format(&ex, &json, &len), A0_ERR_INVALID);
	wk.refresh_token = rt;
	assert_a0(a0_broker_request_format(&wk, &json, &len), A0_ERR_INVALID);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = NULL;
		why[0] = '\0';
		assert_a0(parse(bad[i], &out, why, sizeof(why)), A0_ERR_MALFORMED);
		assert_null(out);
		assert_true(why[0] != '\0');
		assert_null(strstr(why, "SUBJ"));
	}
	/* The audit context's bound. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(req, sizeof(req),
		 "{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0|1\",\"connection\":\"github\","
		 "\"audit_context\":\"%s\"}",
		 big);
	assert_a0(parse(req, &out, why, sizeof(why)), A0_ERR_MALFORMED);
	big[sizeof(big) - 2] = '\0';
	snprintf(req, sizeof(req),
		 "{\"v\":1,\"op\":\"worker\",\"subject\":\"auth0|1\",\"connection\":\"github\","
		 "\"audit_context\":\"%s\"}",
		 big);
	assert_a0(parse(req, &out, why, sizeof(why)), 0);
	a0_broker_request_free(out);
}

static void test_call_no_broker(void **state)
{
	struct a0_broker_request req = { .op = A0_BROKER_REVOKE,
					 .domain = domain,
					 .client_id = client_id,
					 .refresh_token = rt };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct a0_tokens *t = NULL;
	struct a0_result res = { 0 };
	char dir[] = "/tmp/a0-broker-unit-XXXXXX", path[128], why[256];
	int err = 0, fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/broker.sock", dir);
	/* No socket at all. */
	assert_a0(a0_broker_call(path, &req, 2, &err, &res, &t, why, sizeof(why)), A0_ERR_NETWORK);
	assert_non_null(strstr(why, "no broker is running at"));
	assert_non_null(strstr(why, path));
	/* A socket file nobody listens on (the broker died). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_a0(a0_broker_call(path, &req, 2, &err, &res, &t, why, sizeof(why)), A0_ERR_NETWORK);
	assert_non_null(strstr(why, "no broker is running at"));
	/* Listening but never answering: the timeout. */
	assert_int_equal(listen(fd, 4), 0);
	assert_a0(a0_broker_call(path, &req, 1, &err, &res, &t, why, sizeof(why)), A0_ERR_TIMEOUT);
	assert_null(strstr(why, "secret-refresh-token"));
	close(fd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_request_bounds),
		cmocka_unit_test(test_response_round_trip),
		cmocka_unit_test(test_response_malformed),
		cmocka_unit_test(test_vault_op),
		cmocka_unit_test(test_exchange_and_worker_ops),
		cmocka_unit_test(test_call_no_broker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
