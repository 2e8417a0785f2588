/* SPDX-License-Identifier: MIT */
/*
 * Requests to Auth0's Authentication API (auth0.h): the grants, the MFA calls, refresh and
 * revocation, over lib/http.c. What the tenant answers is parsed in response.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/assertion.h"
#include "lib/auth0.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "lib/util.h"

static bool is_json(const struct a0_http_response *resp)
{
	return strncasecmp(resp->content_type, "application/json", 16) == 0;
}

/* The request's JSON: body and the client's identification and, unless id_only, authentication
 * (a secret). */
static int body_json(struct a0_client *c, const cJSON *body, bool id_only, char **ret)
{
	cJSON *b = cJSON_Duplicate(body, true);
	char *assertion = NULL;
	int r = A0_ERR_NOMEM;

	if (!b)
		return A0_ERR_NOMEM;
	if (c->client_key && !id_only) {
		r = c->domain ? a0_client_assertion(c->client_key, c->client_id, c->domain,
						    &assertion)
			      : A0_ERR_INVALID;
		if (r < 0)
			goto out;
		r = A0_ERR_NOMEM;
	}
	if (!cJSON_AddStringToObject(b, "client_id", c->client_id) ||
	    (assertion &&
	     (!cJSON_AddStringToObject(b, "client_assertion_type", A0_CLIENT_ASSERTION_TYPE) ||
	      !cJSON_AddStringToObject(b, "client_assertion", assertion))) ||
	    (!assertion && !id_only && c->client_secret &&
	     !cJSON_AddStringToObject(b, "client_secret", c->client_secret)))
		goto out;
	*ret = a0_json_print(b);
	r = *ret ? 0 : A0_ERR_NOMEM;
out:
	a0_secret_free(assertion);
	a0_json_free(b);
	return r;
}

/* A DPoP proof for a request of c to path (POST with a body, GET without), or NULL for none. */
static int proof_for(struct a0_client *c, const char *path, bool post, char **ret)
{
	char htu[A0_DPOP_MAX_HTU + 1];

	*ret = NULL;
	if (!c->dpop && c->dpop_proof)
		return post && (*ret = strdup(c->dpop_proof)) == NULL ? A0_ERR_NOMEM : 0;
	if (!c->dpop)
		return 0;
	if (snprintf(htu, sizeof(htu), "%s%s", a0_http_base(c->http), path) >= (int)sizeof(htu))
		return A0_ERR_INVALID;
	return a0_dpop_proof(c->dpop->key, post ? "POST" : "GET", htu,
			     c->dpop->nonce[0] ? c->dpop->nonce : NULL, NULL, time(NULL), ret);
}

/*
 * Send one call and sort its answer: 0 with the 2xx response in *resp, or an A0_ERR_* with res
 * filled. Transport failures leave their reason in res->description. With CALL_DPOP (and
 * c->dpop) the request carries a proof; a use_dpop_nonce answer is sent again, once, with the
 * nonce it gave (and a fresh proof and client assertion: both are single-use). A 2xx answer must
 * be JSON, or with CALL_TEXT anything (/dbconnections/change_password answers with text). With
 * CALL_ID_ONLY the body names the client but carries no client authentication (an endpoint that
 * takes none gets no secret).
 */
enum { CALL_DPOP = 1, CALL_TEXT = 2, CALL_ID_ONLY = 4 };

static int call_with(struct a0_client *c, const char *path, const char *bearer, const cJSON *body,
		     unsigned flags, struct a0_http_response *resp, struct a0_result *res)
{
	bool dpop = flags & CALL_DPOP;
	char *json = NULL, *proof = NULL;
	int r;

	for (int attempt = 0;; attempt++) {
		a0_result_clear(res);
		if (body && (r = body_json(c, body, flags & CALL_ID_ONLY, &json)) < 0)
			return r;
		if (dpop && (r = proof_for(c, path, body != NULL, &proof)) < 0) {
			a0_secret_free(json);
			return r;
		}
		r = a0_http_request_dpop(c->http, path, bearer, json, proof, resp, res->description,
					 sizeof(res->description));
		a0_secret_free(json);
		a0_secret_free(proof);
		json = proof = NULL;
		if (r < 0)
			return r;
		if (dpop && c->dpop && resp->dpop_nonce[0])
			memcpy(c->dpop->nonce, resp->dpop_nonce, sizeof(c->dpop->nonce));
		if (resp->status >= 200 && resp->status < 300) {
			if (resp->len > 0 && !(flags & CALL_TEXT) && !is_json(resp)) {
				a0_format(res->description, sizeof(res->description),
					  "HTTP %ld with content type '%s'", resp->status,
					  resp->content_type);
				res->status = resp->status;
				a0_http_response_clear(resp);
				return A0_ERR_MALFORMED;
			}
			return 0;
		}
		r = a0_parse_error_response(resp, res);
		/* RFC 9449 §8: the server wants a nonce, and gave one. */
		if (dpop && c->dpop && attempt == 0 && resp->status == 400 &&
		    strcmp(res->error, "use_dpop_nonce") == 0 && resp->dpop_nonce[0]) {
			a0_http_response_clear(resp);
			continue;
		}
		a0_http_response_clear(resp);
		return r;
	}
}

static int call(struct a0_client *c, const char *path, const char *bearer, cJSON *body,
		struct a0_http_response *resp, struct a0_result *res)
{
	return call_with(c, path, bearer, body, 0, resp, res);
}

/* POST /oauth/token with body (consumed) and parse the token response. */
static int token_call(struct a0_client *c, cJSON *body, struct a0_tokens **ret,
		      struct a0_result *res)
{
	struct a0_http_response resp;
	int r;

	r = call_with(c, "/oauth/token", NULL, body, CALL_DPOP, &resp, res);
	a0_json_free(body);
	if (r < 0)
		return r;
	r = a0_parse_token_response(resp.body, resp.len, time(NULL), ret);
	if (r == A0_ERR_MALFORMED)
		a0_format(res->description, sizeof(res->description),
			  "token response is not an Auth0 token response");
	res->status = resp.status;
	a0_http_response_clear(&resp);
	return r;
}

/* A JSON object with these string members (NULL values are left out); NULL on no memory. */
static cJSON *object_of(const char *const *kv)
{
	cJSON *o;

	o = cJSON_CreateObject();
	for (; o && kv[0]; kv += 2) {
		if (kv[1] && !cJSON_AddStringToObject(o, kv[0], kv[1])) {
			a0_json_free(o);
			o = NULL;
		}
	}
	return o;
}

static int grant(struct a0_client *c, const char *const *kv, struct a0_tokens **ret,
		 struct a0_result *res)
{
	cJSON *body = object_of(kv);

	if (!body)
		return A0_ERR_NOMEM;
	return token_call(c, body, ret, res);
}

int a0_token_request(struct a0_client *c, const char *const *kv, struct a0_tokens **ret,
		     struct a0_result *res)
{
	return grant(c, kv, ret, res);
}

int a0_post_json(struct a0_client *c, const char *path, const char *const *kv,
		 struct a0_http_response *resp, struct a0_result *res)
{
	cJSON *body = object_of(kv);
	int r;

	if (!body)
		return A0_ERR_NOMEM;
	r = call(c, path, NULL, body, resp, res);
	a0_json_free(body);
	return r;
}

int a0_grant_password_realm(struct a0_client *c, const struct a0_config *cfg, const char *username,
			    const char *password, struct a0_tokens **ret, struct a0_result *res)
{
	const char *kv[] = { "grant_type", A0_GRANT_PASSWORD_REALM,
			     "username",   username,
			     "password",   password,
			     "realm",      cfg->realm,
			     "scope",      cfg->scope,
			     "audience",   cfg->audience,
			     NULL };

	return grant(c, kv, ret, res);
}

int a0_grant_mfa_otp(struct a0_client *c, const char *mfa_token, const char *otp,
		     struct a0_tokens **ret, struct a0_result *res)
{
	const char *kv[] = { "grant_type", A0_GRANT_MFA_OTP, "mfa_token", mfa_token, "otp", otp,
			     NULL };

	return grant(c, kv, ret, res);
}

int a0_grant_mfa_oob(struct a0_client *c, const char *mfa_token, const char *oob_code,
		     const char *binding_code, struct a0_tokens **ret, struct a0_result *res)
{
	const char *kv[] = { "grant_type", A0_GRANT_MFA_OOB, "mfa_token",  mfa_token, "oob_code",
			     oob_code,     "binding_code",   binding_code, NULL };

	return grant(c, kv, ret, res);
}

int a0_grant_mfa_recovery(struct a0_client *c, const char *mfa_token, const char *code,
			  struct a0_tokens **ret, struct a0_result *res)
{
	const char *kv[] = { "grant_type", A0_GRANT_MFA_RECOVERY, "mfa_token",
			     mfa_token,    "recovery_code",       code,
			     NULL };

	return grant(c, kv, ret, res);
}

int a0_mfa_list_authenticators(struct a0_client *c, const char *mfa_token,
			       struct a0_authenticator *list, size_t max, size_t *ret_n,
			       struct a0_result *res)
{
	struct a0_http_response resp;
	int r;

	r = call(c, "/mfa/authenticators", mfa_token, NULL, &resp, res);
	if (r < 0)
		return r;
	r = a0_parse_authenticators(resp.body, resp.len, list, max, ret_n);
	if (r == A0_ERR_MALFORMED)
		a0_format(res->description, sizeof(res->description),
			  "authenticator list is not what Auth0 sends");
	a0_http_response_clear(&resp);
	return r;
}

int a0_mfa_challenge(struct a0_client *c, const char *mfa_token, const struct a0_authenticator *a,
		     struct a0_challenge *ret, struct a0_result *res)
{
	bool oob = strcmp(a->type, "oob") == 0;
	const char *kv[] = {
		"mfa_token", mfa_token, "challenge_type", oob ? "oob" : "otp", "authenticator_id",
		a->id,       NULL
	};
	struct a0_http_response resp;
	cJSON *body;
	int r;

	body = object_of(kv);
	if (!body)
		return A0_ERR_NOMEM;
	r = call(c, "/mfa/challenge", NULL, body, &resp, res);
	a0_json_free(body);
	if (r < 0)
		return r;
	r = a0_parse_challenge(resp.body, resp.len, oob, ret);
	a0_http_response_clear(&resp);
	if (r == A0_ERR_MALFORMED)
		a0_format(res->description, sizeof(res->description),
			  "challenge response is not what Auth0 sends");
	return r;
}

int a0_mfa_associate(struct a0_client *c, const char *mfa_token, enum a0_mfa_method method,
		     const char *phone_number, struct a0_association *ret, struct a0_result *res)
{
	bool oob = method == A0_MFA_SMS;
	struct a0_http_response resp;
	cJSON *body, *types, *channels = NULL;
	int r = A0_ERR_NOMEM;

	a0_result_clear(res);
	if ((method != A0_MFA_OTP && !oob) ||
	    (oob && (!phone_number || !*phone_number || strlen(phone_number) > A0_MAX_PHONE)))
		return A0_ERR_INVALID;
	body = cJSON_CreateObject();
	types = cJSON_AddArrayToObject(body, "authenticator_types");
	if (!types || !cJSON_AddItemToArray(types, cJSON_CreateString(oob ? "oob" : "otp")))
		goto out;
	if (oob) {
		channels = cJSON_AddArrayToObject(body, "oob_channels");
		if (!channels || !cJSON_AddItemToArray(channels, cJSON_CreateString("sms")) ||
		    !cJSON_AddStringToObject(body, "phone_number", phone_number))
			goto out;
	}
	r = call(c, "/mfa/associate", mfa_token, body, &resp, res);
	if (r < 0)
		goto out;
	r = a0_parse_association(resp.body, resp.len, oob, ret);
	if (r == A0_ERR_MALFORMED)
		a0_format(res->description, sizeof(res->description),
			  "association response is not what Auth0 sends");
	res->status = resp.status;
	a0_http_response_clear(&resp);
out:
	a0_json_free(body);
	return r;
}

int a0_change_password(struct a0_client *c, const char *email, const char *connection,
		       struct a0_result *res)
{
	const char *kv[] = { "email", email, "connection", connection, NULL };
	struct a0_http_response resp;
	cJSON *body;
	int r;

	a0_result_clear(res);
	if (!email || !*email || strlen(email) > A0_MAX_EMAIL ||
	    !a0_text_ok(email, strlen(email), A0_TEXT_TOKEN) || !strchr(email, '@') ||
	    !a0_vault_connection_ok(connection))
		return A0_ERR_INVALID;
	body = object_of(kv);
	if (!body)
		return A0_ERR_NOMEM;
	r = call_with(c, "/dbconnections/change_password", NULL, body, CALL_TEXT | CALL_ID_ONLY,
		      &resp, res);
	a0_json_free(body);
	if (r < 0)
		return r;
	res->status = resp.status;
	a0_http_response_clear(&resp);
	return 0;
}

int a0_grant_refresh(struct a0_client *c, const char *refresh_token, const char *scope,
		     const char *audience, const struct a0_param *extra, size_t n_extra,
		     struct a0_tokens **ret, struct a0_result *res)
{
	const char *kv[] = { "grant_type",  A0_GRANT_REFRESH, "refresh_token",
			     refresh_token, "scope",          scope,
			     "audience",    audience,         NULL };
	cJSON *body;
	int r;

	a0_result_clear(res);
	if (!refresh_token || !*refresh_token)
		return A0_ERR_INVALID;
	body = object_of(kv);
	if (!body)
		return A0_ERR_NOMEM;
	r = a0_params_check(extra, n_extra, res->description, sizeof(res->description));
	/* Checked: every key is new to the body, so each is added as a member of its own. */
	for (size_t i = 0; r == 0 && i < n_extra; i++)
		if (!cJSON_AddStringToObject(body, extra[i].key, extra[i].value))
			r = A0_ERR_NOMEM;
	if (r < 0) {
		a0_json_free(body);
		return r;
	}
	return token_call(c, body, ret, res);
}

int a0_grant_vault(struct a0_client *c, enum a0_vault_subject kind, const char *subject,
		   const char *connection, const char *login_hint, const char *scope,
		   struct a0_tokens **ret, struct a0_result *res)
{
	static const char *const types[][2] = {
		[A0_VAULT_REFRESH_TOKEN] = { A0_TOKEN_TYPE_REFRESH, A0_TOKEN_TYPE_FEDERATED },
		[A0_VAULT_ACCESS_TOKEN] = { A0_TOKEN_TYPE_ACCESS, A0_TOKEN_TYPE_FEDERATED },
		[A0_VAULT_WORKER_JWT] = { A0_TOKEN_TYPE_JWT, A0_TOKEN_TYPE_TOKEN_VAULT },
	};
	const char *kv[] = { "grant_type",
			     A0_GRANT_TOKEN_VAULT,
			     "subject_token",
			     subject,
			     "subject_token_type",
			     NULL,
			     "requested_token_type",
			     NULL,
			     "connection",
			     connection,
			     "login_hint",
			     login_hint,
			     "scope",
			     scope,
			     NULL };

	a0_result_clear(res);
	if ((unsigned)kind >= A0_ARRAY_SIZE(types) || !subject || !*subject ||
	    !a0_vault_connection_ok(connection) ||
	    (login_hint && !a0_vault_login_hint_ok(login_hint)) ||
	    (scope && (!*scope || strlen(scope) > A0_MAX_PARAM_VALUE ||
		       !a0_text_ok(scope, strlen(scope), A0_TEXT_ASCII))))
		return A0_ERR_INVALID;
	kv[5] = types[kind][0];
	kv[7] = types[kind][1];
	return grant(c, kv, ret, res);
}

int a0_grant_vault_refresh(struct a0_client *c, const char *refresh_token, const char *connection,
			   const char *login_hint, const char *scope, struct a0_tokens **ret,
			   struct a0_result *res)
{
	return a0_grant_vault(c, A0_VAULT_REFRESH_TOKEN, refresh_token, connection, login_hint,
			      scope, ret, res);
}

int a0_revoke(struct a0_client *c, const char *token, struct a0_result *res)
{
	const char *kv[] = { "token", token, NULL };
	struct a0_http_response resp;
	int r;

	a0_result_clear(res);
	if (!token || !*token)
		return A0_ERR_INVALID;
	r = a0_post_json(c, "/oauth/revoke", kv, &resp, res);
	if (r < 0)
		return r;
	res->status = resp.status;
	a0_http_response_clear(&resp);
	return 0;
}

int a0_device_code_request(struct a0_client *c, const struct a0_config *cfg, char **ret_body,
			   size_t *ret_len, struct a0_result *res)
{
	const char *kv[] = { "scope", cfg->scope, "audience", cfg->audience, NULL };
	struct a0_http_response resp;
	int r;

	r = a0_post_json(c, "/oauth/device/code", kv, &resp, res);
	if (r < 0)
		return r;
	res->status = resp.status;
	/* A NUL inside the body ends it here: the parser then finds no JSON object. */
	*ret_body = a0_secret_dup(resp.body ? resp.body : "");
	a0_http_response_clear(&resp);
	if (!*ret_body)
		return A0_ERR_NOMEM;
	*ret_len = strlen(*ret_body);
	return 0;
}

int a0_grant_device_code(struct a0_client *c, const char *device_code, struct a0_tokens **ret,
			 struct a0_result *res)
{
	const char *kv[] = { "grant_type", A0_GRANT_DEVICE_CODE, "device_code", device_code, NULL };

	return grant(c, kv, ret, res);
}

/* A token type URI: "scheme:rest", printable ASCII without blanks, bounded. */
static bool token_type_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *colon = s ? strchr(s, ':') : NULL;

	return n > 0 && n <= A0_MAX_TOKEN_TYPE && colon && colon > s && colon[1] &&
	       a0_text_ok(s, n, A0_TEXT_TOKEN);
}

int a0_grant_token_exchange(struct a0_client *c, const char *subject_token,
			    const char *subject_token_type, const char *audience, const char *scope,
			    struct a0_tokens **ret, struct a0_result *res)
{
	const char *kv[] = { "grant_type",
			     A0_GRANT_TOKEN_EXCHANGE,
			     "subject_token",
			     subject_token,
			     "subject_token_type",
			     subject_token_type,
			     "audience",
			     audience,
			     "scope",
			     scope,
			     NULL };

	a0_result_clear(res);
	if (!subject_token || !*subject_token || strlen(subject_token) > A0_MAX_TOKEN ||
	    !token_type_ok(subject_token_type))
		return A0_ERR_INVALID;
	return grant(c, kv, ret, res);
}

/* The userinfo answer: one JSON object, printed again on one line. */
static int userinfo_json(const struct a0_http_response *resp, char **ret)
{
	cJSON *root = NULL;
	char *text;
	int r;

	if ((r = a0_json_parse(resp->body, resp->len, &root)) < 0)
		return r;
	if (!cJSON_IsObject(root)) {
		a0_json_free(root);
		return A0_ERR_MALFORMED;
	}
	text = a0_json_print(root);
	a0_json_free(root);
	if (!text)
		return A0_ERR_NOMEM;
	*ret = text;
	return 0;
}

int a0_userinfo(struct a0_client *c, const char *access_token, const char *token_type,
		const struct a0_dpop_key *key, char **ret, struct a0_result *res)
{
	bool dpop = token_type && strcasecmp(token_type, "DPoP") == 0;
	char *proof = NULL, *auth = NULL, *htu = NULL;
	struct a0_http_response resp = { 0 };
	int r;

	a0_result_clear(res);
	if (!access_token || !*access_token || (dpop && !key))
		return A0_ERR_INVALID;
	if (dpop) {
		/* RFC 9449 §7.1: the DPoP scheme, and a proof for this request with ath. */
		if (asprintf(&htu, "%s/userinfo", a0_http_base(c->http)) < 0) {
			htu = NULL;
			r = A0_ERR_NOMEM;
			goto out;
		}
		if ((r = a0_dpop_proof(key, "GET", htu, NULL, access_token, time(NULL), &proof)) <
		    0)
			goto out;
		if (asprintf(&auth, "Authorization: DPoP %s", access_token) < 0) {
			auth = NULL;
			r = A0_ERR_NOMEM;
			goto out;
		}
		if ((r = a0_http_add_header(c->http, auth)) < 0)
			goto out;
	}
	r = a0_http_request_dpop(c->http, "/userinfo", dpop ? NULL : access_token, NULL, proof,
				 &resp, res->description, sizeof(res->description));
	if (r < 0)
		goto out;
	res->status = resp.status;
	res->retry_after = resp.retry_after;
	if (resp.status == 200) {
		r = userinfo_json(&resp, ret);
		if (r == A0_ERR_MALFORMED)
			a0_format(res->description, sizeof(res->description),
				  "the userinfo answer is not a JSON object");
	} else if (resp.status == 401) {
		/* A bare 401 with WWW-Authenticate (RFC 6750 §3): the token was refused. */
		a0_format(res->description, sizeof(res->description),
			  "the access token was refused (HTTP 401)");
		r = A0_ERR_DENIED;
	} else {
		r = a0_parse_error_response(&resp, res);
	}
out:
	a0_http_response_clear(&resp);
	a0_secret_free(proof);
	a0_secret_free(auth);
	free(htu);
	return r;
}
