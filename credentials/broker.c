/* SPDX-License-Identifier: MIT */
/*
 * The tenant of a confidential application, through auth0-broker(8) (credentials/broker.h):
 * refresh and revoke as broker requests. What the broker answers for the tenant comes back in
 * struct a0_result as the tenant module's would; a failure to reach the broker itself is
 * A0_ERR_NETWORK (A0_ERR_TIMEOUT) with the reason, naming the socket, in res->description.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol.h"
#include "credentials/broker.h"
#include "credentials/dpop.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"

#ifndef A0_BROKER_SOCKET_PATH
#define A0_BROKER_SOCKET_PATH A0_BROKER_SOCKET
#endif

#define NOT_RUNNING "no broker is running at "

const char a0_broker_socket_path[] = A0_BROKER_SOCKET_PATH;

int a0_broker_send(const struct a0_broker_request *req, unsigned timeout,
		   struct a0_tokens **ret_tokens, struct a0_result *res)
{
	struct a0_tokens *t = NULL;
	char why[sizeof(res->description)] = "";
	int err = 0, r;

	a0_result_clear(res);
	r = a0_broker_call(a0_broker_socket_path, req, timeout + A0_BROKER_CALL_MARGIN, &err, res,
			   &t, why, sizeof(why));
	if (r < 0) {
		a0_result_clear(res);
		if (r == A0_ERR_NETWORK && strncmp(why, NOT_RUNNING, strlen(NOT_RUNNING)) == 0)
			a0_format(res->description, sizeof(res->description),
				  "%s (start auth0-broker.socket)", why);
		else if (r == A0_ERR_TIMEOUT)
			a0_format(res->description, sizeof(res->description),
				  "no answer in time from auth0-broker at %s",
				  a0_broker_socket_path);
		else
			a0_format(res->description, sizeof(res->description),
				  "auth0-broker at %s: %s", a0_broker_socket_path,
				  why[0] ? why : a0_strerror(r));
		a0_tokens_free(t);
		return r;
	}
	if (err < 0) {
		if ((err == A0_ERR_NETWORK || err == A0_ERR_TIMEOUT) && res->status == 0) {
			/* The broker's own request failed: say so, and not that it was not found. */
			char said[sizeof(res->description)];

			a0_format(said, sizeof(said), "%s", res->description);
			a0_format(res->description, sizeof(res->description),
				  "auth0-broker %s %s: %s",
				  err == A0_ERR_TIMEOUT ? "had no answer in time from"
							: "could not connect to",
				  req->domain ? req->domain : "the tenant", said);
		}
		a0_tokens_free(t);
		return err;
	}
	if (ret_tokens)
		*ret_tokens = t;
	else
		a0_tokens_free(t);
	return 0;
}

/* What a confidential application's record needs for any request: a refusal in words. */
static int refuse(struct a0_result *res, const char *why)
{
	a0_result_clear(res);
	a0_format(res->description, sizeof(res->description), "%s", why);
	return A0_ERR_INVALID;
}

/* A request of op for main's tenant and refresh token, owning copies of everything. */
static int request_of(enum a0_broker_op op, const struct a0_record *main, const char *scope,
		      const char *audience, const struct a0_param *params, size_t n_params,
		      struct a0_broker_request **ret)
{
	struct a0_broker_request *req = calloc(1, sizeof(*req));
	int r = A0_ERR_NOMEM;

	if (!req)
		return A0_ERR_NOMEM;
	req->op = op;
	if (a0_strdup_into(&req->domain, main->domain) < 0 ||
	    a0_strdup_into(&req->client_id, main->client_id) < 0 ||
	    !(req->refresh_token = a0_secret_dup(main->refresh_token)) ||
	    a0_strdup_into(&req->audience, audience) < 0 || a0_strdup_into(&req->scope, scope) < 0)
		goto out;
	if (n_params > 0 && !(req->params = calloc(n_params, sizeof(*req->params))))
		goto out;
	for (; req->n_params < n_params; req->n_params++) {
		struct a0_param *p = &req->params[req->n_params];
		char *key = strdup(params[req->n_params].key);
		char *value = strdup(params[req->n_params].value);

		p->key = key;
		p->value = value;
		if (!key || !value) {
			req->n_params++; /* freed with the request */
			goto out;
		}
	}
	*ret = req;
	req = NULL;
	r = 0;
out:
	a0_broker_request_free(req);
	return r;
}

/*
 * A DPoP-bound session's proof for the broker's request, POST to the tenant's token endpoint,
 * made here with the session's key: the broker never holds the key (broker/protocol.h).
 */
static int add_proof(const struct a0_record *main, struct a0_broker_request *req,
		     struct a0_result *res)
{
	const struct a0_dpop_module *m;
	char htu[A0_DPOP_MAX_HTU + 1];
	int r;

	if (!main->dpop_key)
		return 0;
	if ((r = a0_dpop_module_load(&m, res->description, sizeof(res->description))) < 0)
		return r;
	if (snprintf(htu, sizeof(htu), "https://%s/oauth/token", main->domain) >= (int)sizeof(htu))
		return refuse(res, "the record's domain is too long for a DPoP proof");
	if ((r = m->proof(main->dpop_key, "POST", htu, NULL, &req->dpop)) < 0)
		a0_format(res->description, sizeof(res->description),
			  "no DPoP proof with the session's key: %s", a0_strerror(r));
	return r;
}

static int refresh(const struct a0_record *main, unsigned timeout, const char *scope,
		   const char *audience, const struct a0_param *params, size_t n_params,
		   const struct a0_param *headers, size_t n_headers, struct a0_tokens **ret,
		   struct a0_result *res)
{
	struct a0_broker_request *req = NULL;
	struct a0_tokens *t = NULL;
	int r;

	if (n_headers > 0)
		return refuse(res, "extra request headers cannot be sent through auth0-broker "
				   "(the application is confidential)");
	if (n_params > A0_BROKER_MAX_PARAMS)
		return refuse(res, "too many extra parameters for auth0-broker");
	if (!main->refresh_token)
		return refuse(res, "no refresh token");
	if ((r = request_of(A0_BROKER_REFRESH, main, scope, audience, params, n_params, &req)) < 0)
		return r;
	if ((r = add_proof(main, req, res)) < 0 || (r = a0_broker_send(req, timeout, &t, res)) < 0)
		goto out;
	if (!t) {
		a0_format(res->description, sizeof(res->description),
			  "auth0-broker answered a refresh without tokens");
		r = A0_ERR_MALFORMED;
		goto out;
	}
	*ret = t;
out:
	a0_broker_request_free(req);
	return r;
}

static int revoke(const struct a0_record *main, unsigned timeout, struct a0_result *res)
{
	struct a0_broker_request *req = NULL;
	int r;

	if (!main->refresh_token)
		return refuse(res, "no refresh token");
	if ((r = request_of(A0_BROKER_REVOKE, main, NULL, NULL, NULL, 0, &req)) < 0)
		return r;
	r = a0_broker_send(req, timeout, NULL, res);
	a0_broker_request_free(req);
	return r;
}

static int vault(const struct a0_record *main, unsigned timeout, const char *connection,
		 const char *login_hint, const char *scope, struct a0_tokens **ret,
		 struct a0_result *res)
{
	struct a0_broker_request *req = NULL;
	struct a0_tokens *t = NULL;
	int r;

	if (!main->refresh_token)
		return refuse(res, "no refresh token");
	if ((r = request_of(A0_BROKER_VAULT, main, scope, NULL, NULL, 0, &req)) < 0)
		return r;
	if (a0_strdup_into(&req->connection, connection) < 0 ||
	    a0_strdup_into(&req->login_hint, login_hint) < 0) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	if ((r = add_proof(main, req, res)) < 0)
		goto out;
	if ((r = a0_broker_send(req, timeout, &t, res)) < 0)
		goto out;
	if (!t) {
		a0_format(res->description, sizeof(res->description),
			  "auth0-broker answered a Token Vault exchange without a token");
		r = A0_ERR_MALFORMED;
		goto out;
	}
	*ret = t;
out:
	a0_broker_request_free(req);
	return r;
}

const struct a0_tenant a0_broker_tenant = {
	.version = PACKAGE_VERSION,
	.refresh = refresh,
	.revoke = revoke,
	.vault = vault,
};
