/* SPDX-License-Identifier: MIT */
/*
 * The broker's protocol (protocol.h): frames, the request and the response as bounded JSON, and
 * the caller's side of a call. Network-free beyond the Unix socket: no libcurl, no OpenSSL, so
 * that libauth0-credentials can take it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker/protocol.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "lib/util.h"

/* Bounds of the request's texts (the refresh token's is A0_MAX_TOKEN). */
#define MAX_DOMAIN 260
#define MAX_CLIENT_ID 128
#define MAX_AUDIENCE 1024
#define MAX_SCOPE 4096
/* A DPoP proof: a compact JWS of a header with a P-256 JWK and a few claims. */
#define MAX_DPOP_PROOF 2048
/* Bounds of the response's texts (tokens: A0_MAX_TOKEN). */
#define MAX_TOKEN_TYPE 64
#define MAX_ISSUED_TOKEN_TYPE 256
/* Most members of a response object. */
#define MAX_MEMBERS 16
/* The longest result name (a0_err_name) and the range of codes searched for it. */
#define MAX_RESULT_NAME 32
#define LAST_ERR_SEARCHED (-64)
/* retry_after and expires_in beyond this are not what a tenant sends. */
#define MAX_SECONDS (10LL * 365 * 24 * 3600)
/* Seconds a call waits when the caller passes a timeout of 0. */
#define DEFAULT_TIMEOUT 10

static int malformed(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int malformed(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(why, whylen, fmt, ap);
	va_end(ap);
	return A0_ERR_MALFORMED;
}

/* Does the object have a member named as c, before c? */
static bool seen_before(const cJSON *obj, const cJSON *c)
{
	for (const cJSON *p = obj->child; p && p != c; p = p->next)
		if (strcmp(p->string, c->string) == 0)
			return true;
	return false;
}

/* A string member's value within max bytes and of kind: 0, or A0_ERR_MALFORMED. */
static int text_of(const cJSON *c, size_t max, enum a0_text kind, const char **ret, char *why,
		   size_t whylen)
{
	size_t n;

	if (!cJSON_IsString(c) || !c->valuestring)
		return malformed(why, whylen, "'%s' is not a string", c->string);
	n = strlen(c->valuestring);
	if (n == 0 || n > max)
		return malformed(why, whylen, "'%s' is empty or too long", c->string);
	if (!a0_text_ok(c->valuestring, n, kind))
		return malformed(why, whylen, "'%s' holds characters it may not", c->string);
	*ret = c->valuestring;
	return 0;
}

/* Is c the number v exactly? */
static bool number_is(const cJSON *c, int v)
{
	return cJSON_IsNumber(c) && c->valuedouble == (double)v;
}

void a0_broker_request_free(struct a0_broker_request *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->client_id);
	a0_secret_free(r->refresh_token);
	free(r->audience);
	free(r->scope);
	free(r->connection);
	free(r->login_hint);
	a0_secret_free(r->access_token);
	free(r->subject);
	free(r->audit_context);
	a0_secret_free(r->dpop);
	for (size_t i = 0; i < r->n_params; i++) {
		/* The request owns them (protocol.h): const only in struct a0_param. */
		free((char *)(uintptr_t)r->params[i].key);
		a0_secret_free((char *)(uintptr_t)r->params[i].value);
	}
	free(r->params);
	free(r);
}

static int take_params(const cJSON *o, struct a0_broker_request *r, char *why, size_t whylen)
{
	const char *v;
	size_t n = 0;
	int rr;

	if (!cJSON_IsObject(o))
		return malformed(why, whylen, "'%s' is not an object", o->string);
	for (const cJSON *c = o->child; c; c = c->next)
		n++;
	if (n > A0_BROKER_MAX_PARAMS)
		return malformed(why, whylen, "%s", "too many parameters");
	if (n == 0)
		return 0;
	r->params = calloc(n, sizeof(*r->params));
	if (!r->params)
		return A0_ERR_NOMEM;
	for (const cJSON *c = o->child; c; c = c->next) {
		size_t klen = strlen(c->string);

		if (klen == 0 || klen > A0_MAX_PARAM_KEY ||
		    !a0_text_ok(c->string, klen, A0_TEXT_TOKEN))
			return malformed(why, whylen, "a parameter's name is %s", "not allowed");
		for (const cJSON *p = o->child; p != c; p = p->next)
			if (strcasecmp(p->string, c->string) == 0)
				return malformed(why, whylen, "parameter '%s' is repeated",
						 c->string);
		if ((rr = text_of(c, A0_MAX_PARAM_VALUE, A0_TEXT_LINE, &v, why, whylen)) < 0)
			return rr;
		r->params[r->n_params].key = strdup(c->string);
		r->params[r->n_params].value = a0_secret_dup(v);
		r->n_params++;
		if (!r->params[r->n_params - 1].key || !r->params[r->n_params - 1].value)
			return A0_ERR_NOMEM;
	}
	return 0;
}

/* One member of a request. */
static int take_member(const cJSON *c, struct a0_broker_request *r, bool *have_op, char *why,
		       size_t whylen)
{
	const char *s;
	int rr;

	if (strcmp(c->string, "v") == 0) {
		if (!number_is(c, A0_BROKER_VERSION))
			return malformed(why, whylen, "'%s' is not this broker's version", "v");
		return 0;
	}
	if (strcmp(c->string, "op") == 0) {
		if (!cJSON_IsString(c) || !c->valuestring)
			return malformed(why, whylen, "'%s' is not a string", "op");
		if (strcmp(c->valuestring, "refresh") == 0)
			r->op = A0_BROKER_REFRESH;
		else if (strcmp(c->valuestring, "revoke") == 0)
			r->op = A0_BROKER_REVOKE;
		else if (strcmp(c->valuestring, "vault") == 0)
			r->op = A0_BROKER_VAULT;
		else if (strcmp(c->valuestring, "exchange") == 0)
			r->op = A0_BROKER_EXCHANGE;
		else if (strcmp(c->valuestring, "worker") == 0)
			r->op = A0_BROKER_WORKER;
		else
			return malformed(why, whylen, "'%s' is not an operation of the broker",
					 "op");
		*have_op = true;
		return 0;
	}
	if (strcmp(c->string, "domain") == 0) {
		if ((rr = text_of(c, MAX_DOMAIN, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		if (!a0_domain_valid(s))
			return malformed(why, whylen, "'%s' is not a domain", "domain");
		return (r->domain = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "client_id") == 0) {
		if ((rr = text_of(c, MAX_CLIENT_ID, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->client_id = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "refresh_token") == 0) {
		if ((rr = text_of(c, A0_MAX_TOKEN, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->refresh_token = a0_secret_dup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "audience") == 0) {
		if ((rr = text_of(c, MAX_AUDIENCE, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->audience = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "scope") == 0) {
		if ((rr = text_of(c, MAX_SCOPE, A0_TEXT_ASCII, &s, why, whylen)) < 0)
			return rr;
		return (r->scope = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "params") == 0)
		return take_params(c, r, why, whylen);
	if (strcmp(c->string, "connection") == 0) {
		if ((rr = text_of(c, A0_MAX_CONNECTION, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		if (!a0_vault_connection_ok(s))
			return malformed(why, whylen, "'%s' is not a connection name",
					 "connection");
		return (r->connection = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "login_hint") == 0) {
		if ((rr = text_of(c, A0_MAX_LOGIN_HINT, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->login_hint = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "access_token") == 0) {
		if ((rr = text_of(c, A0_MAX_TOKEN, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->access_token = a0_secret_dup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "subject") == 0) {
		if ((rr = text_of(c, A0_BROKER_MAX_SUBJECT, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->subject = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "audit_context") == 0) {
		if ((rr = text_of(c, A0_BROKER_MAX_AUDIT, A0_TEXT_ASCII, &s, why, whylen)) < 0)
			return rr;
		return (r->audit_context = strdup(s)) ? 0 : A0_ERR_NOMEM;
	}
	if (strcmp(c->string, "dpop") == 0) {
		if ((rr = text_of(c, MAX_DPOP_PROOF, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
			return rr;
		return (r->dpop = a0_secret_dup(s)) ? 0 : A0_ERR_NOMEM;
	}
	return malformed(why, whylen, "unknown member '%.64s'", c->string);
}

/* The members a request may hold, as bits. */
enum {
	M_DOMAIN = 1 << 0,
	M_CLIENT_ID = 1 << 1,
	M_REFRESH_TOKEN = 1 << 2,
	M_AUDIENCE = 1 << 3,
	M_SCOPE = 1 << 4,
	M_PARAMS = 1 << 5,
	M_CONNECTION = 1 << 6,
	M_LOGIN_HINT = 1 << 7,
	M_ACCESS_TOKEN = 1 << 8,
	M_SUBJECT = 1 << 9,
	M_AUDIT_CONTEXT = 1 << 10,
	M_DPOP = 1 << 11,
};

static const char *const member_names[] = {
	"domain",     "client_id",  "refresh_token", "audience", "scope",         "params",
	"connection", "login_hint", "access_token",  "subject",  "audit_context", "dpop",
};

/* Per operation: the members it needs, and those it may have besides. */
static const struct {
	unsigned need, may;
} shapes[] = {
	[A0_BROKER_REFRESH] = { M_DOMAIN | M_CLIENT_ID | M_REFRESH_TOKEN,
				M_AUDIENCE | M_SCOPE | M_PARAMS | M_DPOP },
	[A0_BROKER_REVOKE] = { M_DOMAIN | M_CLIENT_ID | M_REFRESH_TOKEN, 0 },
	[A0_BROKER_VAULT] = { M_DOMAIN | M_CLIENT_ID | M_REFRESH_TOKEN | M_CONNECTION,
			      M_SCOPE | M_LOGIN_HINT | M_DPOP },
	[A0_BROKER_EXCHANGE] = { M_ACCESS_TOKEN | M_CONNECTION, M_SCOPE | M_LOGIN_HINT },
	[A0_BROKER_WORKER] = { M_SUBJECT | M_CONNECTION, M_SCOPE | M_LOGIN_HINT | M_AUDIT_CONTEXT },
};

static unsigned members_of(const struct a0_broker_request *r)
{
	return (r->domain ? M_DOMAIN : 0) | (r->client_id ? M_CLIENT_ID : 0) |
	       (r->refresh_token ? M_REFRESH_TOKEN : 0) | (r->audience ? M_AUDIENCE : 0) |
	       (r->scope ? M_SCOPE : 0) | (r->params || r->n_params ? M_PARAMS : 0) |
	       (r->connection ? M_CONNECTION : 0) | (r->login_hint ? M_LOGIN_HINT : 0) |
	       (r->access_token ? M_ACCESS_TOKEN : 0) | (r->subject ? M_SUBJECT : 0) |
	       (r->audit_context ? M_AUDIT_CONTEXT : 0) | (r->dpop ? M_DPOP : 0);
}

/* Has r exactly the members its operation needs and may have? 0, or A0_ERR_MALFORMED (why). */
static int shape_check(const struct a0_broker_request *r, char *why, size_t whylen)
{
	unsigned have = members_of(r), need, may;

	if ((unsigned)r->op >= A0_ARRAY_SIZE(shapes))
		return malformed(why, whylen, "'%s' is not an operation of the broker", "op");
	need = shapes[r->op].need;
	may = need | shapes[r->op].may;
	for (size_t i = 0; i < A0_ARRAY_SIZE(member_names); i++) {
		if ((need & 1u << i) && !(have & 1u << i))
			return malformed(why, whylen, "the request lacks '%s'", member_names[i]);
		if ((have & 1u << i) && !(may & 1u << i))
			return malformed(why, whylen, "%s takes no '%s'", a0_broker_op_name(r->op),
					 member_names[i]);
	}
	return 0;
}

int a0_broker_request_parse(const char *json, size_t len, struct a0_broker_request **ret, char *why,
			    size_t whylen)
{
	struct a0_broker_request *r = NULL;
	cJSON *root = NULL;
	bool have_op = false, have_v = false;
	int rr;

	a0_format(why, whylen, "%s", "");
	if (len > A0_BROKER_MAX_REQUEST)
		return malformed(why, whylen, "the request is over %s", "the size limit");
	if (a0_json_parse(json, len, &root) < 0)
		return malformed(why, whylen, "the request is not %s", "JSON");
	if (!cJSON_IsObject(root)) {
		rr = malformed(why, whylen, "the request is not %s", "an object");
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rr = A0_ERR_NOMEM;
		goto out;
	}
	for (const cJSON *c = root->child; c; c = c->next) {
		if (!c->string) {
			rr = malformed(why, whylen, "a member %s", "without a name");
			goto out;
		}
		if (seen_before(root, c)) {
			rr = malformed(why, whylen, "member '%.64s' is repeated", c->string);
			goto out;
		}
		if (strcmp(c->string, "v") == 0)
			have_v = true;
		if ((rr = take_member(c, r, &have_op, why, whylen)) < 0)
			goto out;
	}
	if (!have_v || !have_op) {
		rr = malformed(why, whylen, "the request lacks %s", !have_v ? "'v'" : "'op'");
		goto out;
	}
	if ((rr = shape_check(r, why, whylen)) < 0)
		goto out;
	*ret = r;
	r = NULL;
	rr = 0;
out:
	a0_broker_request_free(r);
	a0_json_free(root);
	return rr;
}

const char *a0_broker_op_name(enum a0_broker_op op)
{
	switch (op) {
	case A0_BROKER_REFRESH:
		return "refresh";
	case A0_BROKER_REVOKE:
		return "revoke";
	case A0_BROKER_VAULT:
		return "vault";
	case A0_BROKER_EXCHANGE:
		return "exchange";
	case A0_BROKER_WORKER:
		return "worker";
	}
	return NULL;
}

/* Print root into *ret (a secret) and its length. */
static int print_into(cJSON *root, char **ret, size_t *ret_len)
{
	char *s = a0_json_print(root);

	if (!s)
		return A0_ERR_NOMEM;
	*ret = s;
	*ret_len = strlen(s);
	return 0;
}

int a0_broker_request_format(const struct a0_broker_request *r, char **ret, size_t *ret_len)
{
	const char *op = r ? a0_broker_op_name(r->op) : NULL;
	cJSON *root = NULL, *params;
	char why[128];
	int rr = A0_ERR_NOMEM;

	if (!op || r->n_params > A0_BROKER_MAX_PARAMS || shape_check(r, why, sizeof(why)) < 0)
		return A0_ERR_INVALID;
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddNumberToObject(root, "v", A0_BROKER_VERSION) ||
	    !cJSON_AddStringToObject(root, "op", op) ||
	    (r->domain && !cJSON_AddStringToObject(root, "domain", r->domain)) ||
	    (r->client_id && !cJSON_AddStringToObject(root, "client_id", r->client_id)) ||
	    (r->refresh_token &&
	     !cJSON_AddStringToObject(root, "refresh_token", r->refresh_token)) ||
	    (r->access_token && !cJSON_AddStringToObject(root, "access_token", r->access_token)) ||
	    (r->subject && !cJSON_AddStringToObject(root, "subject", r->subject)) ||
	    (r->audit_context &&
	     !cJSON_AddStringToObject(root, "audit_context", r->audit_context)) ||
	    (r->audience && !cJSON_AddStringToObject(root, "audience", r->audience)) ||
	    (r->scope && !cJSON_AddStringToObject(root, "scope", r->scope)) ||
	    (r->connection && !cJSON_AddStringToObject(root, "connection", r->connection)) ||
	    (r->login_hint && !cJSON_AddStringToObject(root, "login_hint", r->login_hint)) ||
	    (r->dpop && !cJSON_AddStringToObject(root, "dpop", r->dpop)))
		goto out;
	if (r->n_params > 0) {
		params = cJSON_AddObjectToObject(root, "params");
		if (!params)
			goto out;
		for (size_t i = 0; i < r->n_params; i++) {
			if (!r->params[i].key || !r->params[i].value) {
				rr = A0_ERR_INVALID;
				goto out;
			}
			if (!cJSON_AddStringToObject(params, r->params[i].key, r->params[i].value))
				goto out;
		}
	}
	rr = print_into(root, ret, ret_len);
out:
	a0_json_free(root);
	return rr;
}

int a0_broker_response_format(int err, const struct a0_result *res, const struct a0_tokens *tokens,
			      char **ret, size_t *ret_len)
{
	static const struct a0_result none = { .retry_after = -1 };
	cJSON *root, *t;
	int rr = A0_ERR_NOMEM;

	if (!res)
		res = &none;
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddNumberToObject(root, "v", A0_BROKER_VERSION) ||
	    !cJSON_AddStringToObject(root, "result", a0_err_name(err)) ||
	    !cJSON_AddNumberToObject(root, "status", (double)res->status) ||
	    !cJSON_AddStringToObject(root, "error", res->error) ||
	    !cJSON_AddStringToObject(root, "error_description", res->description) ||
	    !cJSON_AddNumberToObject(root, "retry_after", (double)res->retry_after))
		goto out;
	if (err == 0 && tokens) {
		t = cJSON_AddObjectToObject(root, "tokens");
		if (!t || !cJSON_AddStringToObject(t, "access_token", tokens->access_token) ||
		    (tokens->id_token &&
		     !cJSON_AddStringToObject(t, "id_token", tokens->id_token)) ||
		    (tokens->refresh_token &&
		     !cJSON_AddStringToObject(t, "refresh_token", tokens->refresh_token)) ||
		    !cJSON_AddStringToObject(t, "token_type",
					     tokens->token_type ? tokens->token_type : "Bearer") ||
		    (tokens->scope && !cJSON_AddStringToObject(t, "scope", tokens->scope)) ||
		    !cJSON_AddNumberToObject(t, "expires_in", (double)tokens->expires_in) ||
		    (tokens->issued_token_type &&
		     !cJSON_AddStringToObject(t, "issued_token_type", tokens->issued_token_type)))
			goto out;
	}
	rr = print_into(root, ret, ret_len);
out:
	a0_json_free(root);
	return rr;
}

/* The code of a result name: 0 and *ret, or -1. */
static int code_of_name(const char *name, int *ret)
{
	for (int e = 0; e >= LAST_ERR_SEARCHED; e--)
		if (strcmp(a0_err_name(e), name) == 0) {
			*ret = e;
			return 0;
		}
	return -1;
}

/* A whole number in [lo, MAX_SECONDS]: 0, or A0_ERR_MALFORMED. */
static int whole(const cJSON *c, long long lo, long long *ret, char *why, size_t whylen)
{
	double d;

	if (!cJSON_IsNumber(c))
		return malformed(why, whylen, "'%s' is not a number", c->string);
	d = c->valuedouble;
	if (!(d >= (double)lo && d <= (double)MAX_SECONDS) || d != (double)(long long)d)
		return malformed(why, whylen, "'%s' is out of range", c->string);
	*ret = (long long)d;
	return 0;
}

static int secret_member(const cJSON *c, char **dst, char *why, size_t whylen)
{
	const char *s;
	int rr;

	if ((rr = text_of(c, A0_MAX_TOKEN, A0_TEXT_TOKEN, &s, why, whylen)) < 0)
		return rr;
	return (*dst = a0_secret_dup(s)) ? 0 : A0_ERR_NOMEM;
}

static int parse_tokens(const cJSON *o, struct a0_tokens **ret, char *why, size_t whylen)
{
	struct a0_tokens *t;
	const char *s;
	long long n;
	bool have_exp = false;
	int rr = 0;

	if (!cJSON_IsObject(o))
		return malformed(why, whylen, "'%s' is not an object", "tokens");
	t = calloc(1, sizeof(*t));
	if (!t)
		return A0_ERR_NOMEM;
	for (const cJSON *c = o->child; rr == 0 && c; c = c->next) {
		if (!c->string || seen_before(o, c))
			rr = malformed(why, whylen, "a member of '%s' is repeated", "tokens");
		else if (strcmp(c->string, "access_token") == 0)
			rr = secret_member(c, &t->access_token, why, whylen);
		else if (strcmp(c->string, "id_token") == 0)
			rr = secret_member(c, &t->id_token, why, whylen);
		else if (strcmp(c->string, "refresh_token") == 0)
			rr = secret_member(c, &t->refresh_token, why, whylen);
		else if (strcmp(c->string, "token_type") == 0) {
			rr = text_of(c, MAX_TOKEN_TYPE, A0_TEXT_TOKEN, &s, why, whylen);
			if (rr == 0 && !(t->token_type = strdup(s)))
				rr = A0_ERR_NOMEM;
		} else if (strcmp(c->string, "scope") == 0) {
			rr = text_of(c, MAX_SCOPE, A0_TEXT_ASCII, &s, why, whylen);
			if (rr == 0 && !(t->scope = strdup(s)))
				rr = A0_ERR_NOMEM;
		} else if (strcmp(c->string, "issued_token_type") == 0) {
			rr = text_of(c, MAX_ISSUED_TOKEN_TYPE, A0_TEXT_TOKEN, &s, why, whylen);
			if (rr == 0 && !(t->issued_token_type = strdup(s)))
				rr = A0_ERR_NOMEM;
		} else if (strcmp(c->string, "expires_in") == 0) {
			rr = whole(c, 0, &n, why, whylen);
			if (rr == 0) {
				t->expires_in = n;
				have_exp = true;
			}
		} else
			rr = malformed(why, whylen, "unknown member '%.64s' in the tokens",
				       c->string);
	}
	if (rr == 0 && (!t->access_token || !t->token_type || !have_exp))
		rr = malformed(why, whylen, "the tokens lack %s",
			       "access_token, token_type or expires_in");
	if (rr < 0) {
		a0_tokens_free(t);
		return rr;
	}
	t->expires_at = time(NULL) + (time_t)t->expires_in;
	*ret = t;
	return 0;
}

/* A bounded text member of a response copied into a fixed buffer (cut to fit, scrubbed). */
static int copy_text(const cJSON *c, char *dst, size_t size, char *why, size_t whylen)
{
	if (!cJSON_IsString(c) || !c->valuestring)
		return malformed(why, whylen, "'%s' is not a string", c->string);
	if (strlen(c->valuestring) >= size)
		return malformed(why, whylen, "'%s' is too long", c->string);
	a0_format(dst, size, "%s", c->valuestring);
	a0_text_scrub(dst, strlen(dst), A0_TEXT_LINE);
	return 0;
}

int a0_broker_response_parse(const char *json, size_t len, int *ret_err, struct a0_result *res,
			     struct a0_tokens **ret_tokens, char *why, size_t whylen)
{
	struct a0_result out = { .retry_after = -1 };
	struct a0_tokens *tokens = NULL;
	cJSON *root = NULL;
	const char *name = NULL;
	long long n;
	size_t members = 0;
	bool have_v = false;
	int err = 0, rr = 0;

	a0_format(why, whylen, "%s", "");
	if (len > A0_BROKER_MAX_RESPONSE)
		return malformed(why, whylen, "the answer is over %s", "the size limit");
	if (a0_json_parse(json, len, &root) < 0)
		return malformed(why, whylen, "the answer is not %s", "JSON");
	if (!cJSON_IsObject(root)) {
		rr = malformed(why, whylen, "the answer is not %s", "an object");
		goto out;
	}
	for (const cJSON *c = root->child; rr == 0 && c; c = c->next) {
		if (!c->string || seen_before(root, c) || ++members > MAX_MEMBERS)
			rr = malformed(why, whylen, "a member of the %s is repeated", "answer");
		else if (strcmp(c->string, "v") == 0) {
			have_v = number_is(c, A0_BROKER_VERSION);
			if (!have_v)
				rr = malformed(why, whylen, "'%s' is not this version", "v");
		} else if (strcmp(c->string, "result") == 0) {
			if (!cJSON_IsString(c) || !c->valuestring ||
			    strlen(c->valuestring) > MAX_RESULT_NAME ||
			    code_of_name(c->valuestring, &err) < 0)
				rr = malformed(why, whylen, "'%s' is not a result name", "result");
			else
				name = c->valuestring;
		} else if (strcmp(c->string, "status") == 0) {
			rr = whole(c, 0, &n, why, whylen);
			if (rr == 0 && n > 999)
				rr = malformed(why, whylen, "'%s' is not an HTTP status", "status");
			out.status = (long)n;
		} else if (strcmp(c->string, "error") == 0)
			rr = copy_text(c, out.error, sizeof(out.error), why, whylen);
		else if (strcmp(c->string, "error_description") == 0)
			rr = copy_text(c, out.description, sizeof(out.description), why, whylen);
		else if (strcmp(c->string, "retry_after") == 0) {
			rr = whole(c, -1, &n, why, whylen);
			out.retry_after = (long)n;
		} else if (strcmp(c->string, "tokens") == 0)
			rr = parse_tokens(c, &tokens, why, whylen);
		else
			rr = malformed(why, whylen, "unknown member '%.64s'", c->string);
	}
	if (rr == 0 && (!have_v || !name))
		rr = malformed(why, whylen, "the answer lacks %s", "'v' or 'result'");
	if (rr == 0 && tokens && err != 0)
		rr = malformed(why, whylen, "tokens with a result other than %s", "OK");
	if (rr < 0)
		goto out;
	*ret_err = err;
	if (res) {
		a0_result_clear(res);
		*res = out;
	}
	if (ret_tokens) {
		*ret_tokens = tokens;
		tokens = NULL;
	}
out:
	a0_tokens_free(tokens);
	a0_json_free(root);
	return rr;
}

/* ------------------------------------------------------------------ the caller's side */

static double monotonic(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Wait for events on fd until deadline: 0, A0_ERR_TIMEOUT, or A0_ERR_NETWORK (errno). */
static int wait_for(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	double left;
	int n;

	for (;;) {
		left = deadline - monotonic();
		if (left <= 0)
			return A0_ERR_TIMEOUT;
		n = poll(&p, 1, (int)(left * 1000) + 1);
		if (n > 0)
			return 0;
		if (n == 0)
			continue;
		if (errno != EINTR)
			return A0_ERR_NETWORK;
	}
}

/* Send or receive all n bytes before deadline. */
static int transfer(int fd, bool out, void *buf, size_t n, double deadline, char *why,
		    size_t whylen)
{
	size_t done = 0;
	ssize_t k;
	int r;

	while (done < n) {
		if (out)
			k = send(fd, (char *)buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			k = recv(fd, (char *)buf + done, n - done, MSG_DONTWAIT);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k == 0) {
			a0_format(why, whylen, "the broker closed the connection");
			return A0_ERR_NETWORK;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			a0_format(why, whylen, "talking to the broker: %s", strerror(errno));
			return A0_ERR_NETWORK;
		}
		if ((r = wait_for(fd, out ? POLLOUT : POLLIN, deadline)) < 0) {
			a0_format(why, whylen, "the broker did not answer in time");
			return r;
		}
	}
	return 0;
}

static int broker_connect(const char *path, double deadline, int *ret, char *why, size_t whylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t slen = sizeof(sa);
	int fd, e = 0, r;

	if (a0_str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0) {
		a0_format(why, whylen, "the broker's socket path is too long");
		return A0_ERR_INVALID;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		a0_format(why, whylen, "socket: %s", strerror(errno));
		return A0_ERR_SYSTEM;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		if (e == EINPROGRESS || e == EAGAIN || e == EINTR) {
			if ((r = wait_for(fd, POLLOUT, deadline)) < 0) {
				a0_format(why, whylen, "the broker at %s did not accept in time",
					  path);
				(void)close(fd);
				return r;
			}
			slen = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &slen) < 0)
				e = errno;
		}
	}
	if (e == ENOENT || e == ECONNREFUSED) {
		a0_format(why, whylen, "no broker is running at %s", path);
		(void)close(fd);
		return A0_ERR_NETWORK;
	}
	if (e != 0) {
		a0_format(why, whylen, "cannot connect to the broker at %s: %s", path, strerror(e));
		(void)close(fd);
		return A0_ERR_NETWORK;
	}
	*ret = fd;
	return 0;
}

int a0_broker_call(const char *socket_path, const struct a0_broker_request *req, unsigned timeout,
		   int *ret_err, struct a0_result *res, struct a0_tokens **ret_tokens, char *why,
		   size_t whylen)
{
	double deadline = monotonic() + (double)(timeout ? timeout : DEFAULT_TIMEOUT);
	unsigned char head[A0_BROKER_FRAME_HEADER];
	char *json = NULL, *answer = NULL;
	size_t len = 0;
	uint32_t n = 0;
	int fd = -1, r;

	a0_format(why, whylen, "%s", "");
	if ((r = a0_broker_request_format(req, &json, &len)) < 0) {
		a0_format(why, whylen, "the request cannot be sent to the broker");
		return r;
	}
	if (len > A0_BROKER_MAX_REQUEST) {
		a0_format(why, whylen, "the request is over the broker's size limit");
		r = A0_ERR_INVALID;
		goto out;
	}
	if ((r = broker_connect(socket_path, deadline, &fd, why, whylen)) < 0)
		goto out;
	head[0] = (unsigned char)(len >> 24);
	head[1] = (unsigned char)(len >> 16);
	head[2] = (unsigned char)(len >> 8);
	head[3] = (unsigned char)len;
	if ((r = transfer(fd, true, head, sizeof(head), deadline, why, whylen)) < 0 ||
	    (r = transfer(fd, true, json, len, deadline, why, whylen)) < 0 ||
	    (r = transfer(fd, false, head, sizeof(head), deadline, why, whylen)) < 0)
		goto out;
	n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
	if (n == 0 || n > A0_BROKER_MAX_RESPONSE) {
		a0_format(why, whylen, "the broker's answer has a bad length");
		r = A0_ERR_MALFORMED;
		goto out;
	}
	answer = malloc(n);
	if (!answer) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	if ((r = transfer(fd, false, answer, n, deadline, why, whylen)) < 0)
		goto out;
	r = a0_broker_response_parse(answer, n, ret_err, res, ret_tokens, why, whylen);
out:
	if (fd >= 0)
		(void)close(fd);
	a0_wipe_free(answer, n);
	a0_secret_free(json);
	return r;
}
