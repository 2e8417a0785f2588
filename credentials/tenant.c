/* SPDX-License-Identifier: MIT */
/*
 * auth0-credentials-tenant.so: libauth0-credentials' requests to the tenant (tenant.h). Loaded by
 * the library when a refresh, exchange or revocation runs; exports A0_TENANT_SYMBOL only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials/tenant.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/util.h"

/* A client for the record's tenant: never a proxy, never a client secret. res starts clear. */
static int connect_tenant(const struct a0_record *main, unsigned timeout, struct a0_client *client,
			  struct a0_result *res)
{
	struct a0_http_options opt = {
		.domain = main->domain,
		.ca_file = main->ca_file,
		.proxy = NULL,
		.timeout = timeout,
	};
	int r;

	a0_result_clear(res);
	*client = (struct a0_client){ .client_id = main->client_id };
	r = a0_http_new(&opt, &client->http);
	if (r < 0)
		a0_format(res->description, sizeof(res->description), "no HTTP client: %s",
			  a0_strerror(r));
	return r;
}

/* The caller's extra headers on every request of the client. */
static int add_headers(struct a0_client *client, const struct a0_param *headers, size_t n,
		       struct a0_result *res)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		char *line;

		if (asprintf(&line, "%s: %s", headers[i].key, headers[i].value) < 0)
			return A0_ERR_NOMEM;
		r = a0_http_add_header(client->http, line);
		free(line);
	}
	if (r < 0)
		a0_format(res->description, sizeof(res->description), "a header was refused: %s",
			  a0_strerror(r));
	return r;
}

/*
 * The record's DPoP key for client's requests (none for bearer tokens): every request of a
 * DPoP-bound session proves possession of the key its tokens are bound to.
 */
static int use_dpop(const struct a0_record *main, struct a0_client *client,
		    struct a0_dpop_session *session, struct a0_dpop_key **ret_key,
		    struct a0_result *res)
{
	int r;

	*ret_key = NULL;
	if (!main->dpop_key)
		return 0;
	r = a0_dpop_key_import(main->dpop_key, strlen(main->dpop_key), ret_key);
	if (r < 0) {
		a0_format(res->description, sizeof(res->description),
			  "the session's DPoP key is not a P-256 private key");
		return r;
	}
	*session = (struct a0_dpop_session){ .key = *ret_key };
	client->dpop = session;
	return 0;
}

static int refresh(const struct a0_record *main, unsigned timeout, const char *scope,
		   const char *audience, const struct a0_param *params, size_t n_params,
		   const struct a0_param *headers, size_t n_headers, struct a0_tokens **ret,
		   struct a0_result *res)
{
	struct a0_dpop_session session;
	struct a0_dpop_key *key = NULL;
	struct a0_client client;
	int r;

	if ((r = connect_tenant(main, timeout, &client, res)) < 0)
		return r;
	if ((r = add_headers(&client, headers, n_headers, res)) == 0 &&
	    (r = use_dpop(main, &client, &session, &key, res)) == 0)
		r = a0_grant_refresh(&client, main->refresh_token, scope, audience, params,
				     n_params, ret, res);
	a0_dpop_key_free(key);
	a0_http_free(client.http);
	return r;
}

static int revoke(const struct a0_record *main, unsigned timeout, struct a0_result *res)
{
	struct a0_client client;
	int r;

	if ((r = connect_tenant(main, timeout, &client, res)) < 0)
		return r;
	/* RFC 7009's revocation takes no proof: the refresh token and the client suffice. */
	r = a0_revoke(&client, main->refresh_token, res);
	a0_http_free(client.http);
	return r;
}

static int userinfo(const struct a0_record *rec, unsigned timeout, char **ret,
		    struct a0_result *res)
{
	struct a0_dpop_session session;
	struct a0_dpop_key *key = NULL;
	struct a0_client client;
	int r;

	if ((r = connect_tenant(rec, timeout, &client, res)) < 0)
		return r;
	if ((r = use_dpop(rec, &client, &session, &key, res)) == 0)
		r = a0_userinfo(&client, rec->access_token, rec->token_type, key, ret, res);
	a0_dpop_key_free(key);
	a0_http_free(client.http);
	return r;
}

static int exchange(const struct a0_record *tenant, unsigned timeout, const char *subject_token,
		    const char *subject_token_type, const char *audience, const char *scope,
		    struct a0_tokens **ret, struct a0_result *res)
{
	struct a0_client client;
	int r;

	if ((r = connect_tenant(tenant, timeout, &client, res)) < 0)
		return r;
	r = a0_grant_token_exchange(&client, subject_token, subject_token_type, audience, scope,
				    ret, res);
	a0_http_free(client.http);
	return r;
}

__attribute__((visibility("default"))) const struct a0_tenant a0_tenant = {
	.version = PACKAGE_VERSION,
	.refresh = refresh,
	.revoke = revoke,
	.userinfo = userinfo,
	.exchange = exchange,
	.login = a0_tenant_login,
	.store_login = a0_tenant_store_login,
};
