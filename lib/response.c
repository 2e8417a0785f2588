/* SPDX-License-Identifier: MIT */
/*
 * What Auth0's Authentication API answers, parsed, and the checks on what a caller may send
 * (auth0.h): no network here. The helper's public library uses this half of auth0.h alone, so
 * that it links neither libcurl nor OpenSSL (credentials/local.mk); the requests are in auth0.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/auth0.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "lib/util.h"

void a0_tokens_free(struct a0_tokens *t)
{
	if (!t)
		return;
	a0_secret_free(t->access_token);
	a0_secret_free(t->id_token);
	a0_secret_free(t->refresh_token);
	free(t->token_type);
	free(t->scope);
	a0_secret_free(t->recovery_code);
	free(t->issued_token_type);
	a0_secret_free(t->dpop_key);
	free(t);
}

void a0_result_clear(struct a0_result *res)
{
	a0_secret_free(res->mfa_token);
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
}

void a0_challenge_clear(struct a0_challenge *ch)
{
	a0_secret_free(ch->oob_code);
	memset(ch, 0, sizeof(*ch));
}

/* Copy an optional string member; A0_ERR_MALFORMED when present but not a bounded string. */
static int take_string(const cJSON *obj, const char *name, bool required, char **dst)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!item || cJSON_IsNull(item))
		return required ? A0_ERR_MALFORMED : 0;
	if (!cJSON_IsString(item) || item->valuestring[0] == '\0' ||
	    strlen(item->valuestring) > A0_MAX_TOKEN)
		return A0_ERR_MALFORMED;
	return a0_strdup_into(dst, item->valuestring);
}

int a0_parse_token_response(const char *body, size_t len, time_t now, struct a0_tokens **ret)
{
	struct a0_tokens *t;
	cJSON *root = NULL;
	int r;

	r = a0_json_parse(body, len, &root);
	if (r < 0)
		return r;
	if (!cJSON_IsObject(root)) {
		a0_json_free(root);
		return A0_ERR_MALFORMED;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		a0_json_free(root);
		return A0_ERR_NOMEM;
	}
	r = take_string(root, "access_token", true, &t->access_token);
	if (r == 0)
		r = take_string(root, "token_type", true, &t->token_type);
	if (r == 0)
		r = take_string(root, "id_token", false, &t->id_token);
	if (r == 0)
		r = take_string(root, "refresh_token", false, &t->refresh_token);
	if (r == 0)
		r = take_string(root, "scope", false, &t->scope);
	if (r == 0)
		r = take_string(root, "recovery_code", false, &t->recovery_code);
	if (r == 0)
		r = take_string(root, "issued_token_type", false, &t->issued_token_type);
	if (r == 0) {
		/* Ten years bounds expires_at; Auth0 allows at most 30 days for access tokens. */
		r = a0_json_uint(root, "expires_in", 10LL * 365 * 86400, &t->expires_in);
		if (r == 1)
			r = A0_ERR_MALFORMED;
	}
	a0_json_free(root);
	if (r < 0) {
		a0_tokens_free(t);
		return r;
	}
	t->expires_at = now + (time_t)t->expires_in;
	*ret = t;
	return 0;
}

static int map_error_code(const char *error, const char *description)
{
	static const struct {
		const char *error;
		int err;
	} table[] = {
		{ "mfa_required", A0_ERR_MFA_REQUIRED },
		{ "invalid_grant", A0_ERR_DENIED },
		{ "authorization_pending", A0_ERR_PENDING },
		{ "slow_down", A0_ERR_SLOW_DOWN },
		{ "expired_token", A0_ERR_EXPIRED },
		{ "too_many_attempts", A0_ERR_TOO_MANY_ATTEMPTS },
		{ "blocked_user", A0_ERR_BLOCKED },
		{ "too_many_requests", A0_ERR_RATE_LIMITED },
		{ "association_required", A0_ERR_NOT_ENROLLED },
		{ "a0.mfa_registration_required", A0_ERR_NOT_ENROLLED },
		{ "unauthorized_client", A0_ERR_CLIENT },
		{ "invalid_client", A0_ERR_CLIENT },
		{ "unsupported_grant_type", A0_ERR_CLIENT },
		{ "unsupported_challenge_type", A0_ERR_CLIENT },
		{ "invalid_request", A0_ERR_CLIENT },
		{ A0_VAULT_NOT_FOUND, A0_ERR_NOT_FOUND },
	};

	/* Auth0 names a blocked user only in the description (invalid_grant, formerly
	 * unauthorized). */
	if ((strcmp(error, "invalid_grant") == 0 || strcmp(error, "unauthorized") == 0) &&
	    strcmp(description, "user is blocked") == 0)
		return A0_ERR_BLOCKED;
	if (strcmp(error, "invalid_grant") == 0 &&
	    strcmp(description, "MFA Authorization rejected.") == 0)
		return A0_ERR_REJECTED;
	/* A passwordless code that can no longer be used: asking again for it is no use. */
	if (strcmp(error, "invalid_grant") == 0 &&
	    strcmp(description, "The verification code has expired. Please try to login again.") ==
		    0)
		return A0_ERR_EXPIRED;
	if (strcmp(error, "invalid_grant") == 0 &&
	    strcmp(description,
		   "You've reached the maximum number of attempts. Please try to login again.") ==
		    0)
		return A0_ERR_TOO_MANY_ATTEMPTS;
	/* POST /passwordless/start: the connection is missing or not enabled for the application. */
	if (strcmp(error, "bad.connection") == 0)
		return A0_ERR_CLIENT;
	for (size_t i = 0; i < A0_ARRAY_SIZE(table); i++)
		if (strcmp(error, table[i].error) == 0)
			return table[i].err;
	return A0_ERR_AUTH0;
}

int a0_parse_error_response(const struct a0_http_response *resp, struct a0_result *res)
{
	const char *error = NULL, *description = NULL, *mfa_token = NULL;
	cJSON *root = NULL;
	int r;

	res->status = resp->status;
	res->retry_after = resp->retry_after;
	if (a0_json_parse(resp->body, resp->len, &root) == 0 && cJSON_IsObject(root)) {
		error = a0_json_string(root, "error");
		description = a0_json_string(root, "error_description");
		mfa_token = a0_json_string(root, "mfa_token");
	}
	if (error) {
		a0_format(res->error, sizeof(res->error), "%s", error);
		a0_format(res->description, sizeof(res->description), "%s",
			  description ? description : "");
		/* Both reach syslog and the user's terminal: no control characters. */
		a0_text_scrub(res->error, strlen(res->error), A0_TEXT_LINE);
		a0_text_scrub(res->description, strlen(res->description), A0_TEXT_LINE);
		r = map_error_code(res->error, res->description);
	} else if (resp->status == 429) {
		r = A0_ERR_RATE_LIMITED;
	} else if (resp->status >= 500) {
		r = A0_ERR_SERVER;
	} else {
		r = A0_ERR_MALFORMED;
	}
	/* The code decides, but a 5xx or 429 wins over an unknown code in its body. */
	if (r == A0_ERR_AUTH0 && resp->status >= 500)
		r = A0_ERR_SERVER;
	if (r == A0_ERR_AUTH0 && resp->status == 429)
		r = A0_ERR_RATE_LIMITED;
	if (r == A0_ERR_MFA_REQUIRED) {
		if (!mfa_token || !*mfa_token || strlen(mfa_token) > A0_MAX_TOKEN)
			r = A0_ERR_MALFORMED;
		else if (a0_strdup_into(&res->mfa_token, mfa_token) < 0)
			r = A0_ERR_NOMEM;
	}
	if (r == A0_ERR_MALFORMED && !res->description[0])
		a0_format(res->description, sizeof(res->description),
			  "HTTP %ld with no Auth0 error", resp->status);
	a0_json_free(root);
	return r;
}

int a0_parse_challenge(const char *body, size_t len, bool oob, struct a0_challenge *ret)
{
	struct a0_challenge ch = { 0 };
	cJSON *root = NULL;
	const char *binding;
	int r;

	r = a0_json_parse(body, len, &root);
	if (r == 0 && !cJSON_IsObject(root))
		r = A0_ERR_MALFORMED;
	if (r == 0 && oob)
		r = take_string(root, "oob_code", true, &ch.oob_code);
	if (r == 0) {
		binding = a0_json_string(root, "binding_method");
		ch.binding_prompt = binding && strcmp(binding, "prompt") == 0;
	}
	a0_json_free(root);
	if (r < 0) {
		a0_challenge_clear(&ch);
		return r;
	}
	*ret = ch;
	return 0;
}

void a0_association_clear(struct a0_association *a)
{
	a0_secret_free(a->secret);
	a0_secret_free(a->barcode_uri);
	a0_secret_free(a->oob_code);
	a0_secret_free(a->recovery_code);
	memset(a, 0, sizeof(*a));
}

/* A required string member of at most max bytes, copied; A0_ERR_MALFORMED otherwise. */
static int take_bounded(const cJSON *obj, const char *name, size_t max, char **dst)
{
	const char *s = a0_json_string(obj, name);

	if (!s || !*s || strlen(s) > max)
		return A0_ERR_MALFORMED;
	return a0_strdup_into(dst, s);
}

int a0_parse_association(const char *body, size_t len, bool oob, struct a0_association *ret)
{
	struct a0_association a = { 0 };
	const cJSON *codes, *first;
	const char *type, *binding;
	cJSON *root = NULL;
	int r;

	r = a0_json_parse(body, len, &root);
	if (r == 0 && !cJSON_IsObject(root))
		r = A0_ERR_MALFORMED;
	if (r == 0) {
		/* Auth0 names the type it enrolled; another one is not what was asked for. */
		type = a0_json_string(root, "authenticator_type");
		if (type && strcmp(type, oob ? "oob" : "otp") != 0)
			r = A0_ERR_MALFORMED;
	}
	if (r == 0 && oob) {
		r = take_string(root, "oob_code", true, &a.oob_code);
		binding = a0_json_string(root, "binding_method");
		a.binding_prompt = binding && strcmp(binding, "prompt") == 0;
	} else if (r == 0) {
		r = take_bounded(root, "secret", A0_MAX_OTP_SECRET, &a.secret);
		if (r == 0)
			r = take_bounded(root, "barcode_uri", A0_MAX_BARCODE_URI, &a.barcode_uri);
	}
	/* recovery_codes: an array of strings on a first enrolment (Auth0 sends one). */
	codes = r == 0 ? cJSON_GetObjectItemCaseSensitive(root, "recovery_codes") : NULL;
	if (codes && !cJSON_IsNull(codes)) {
		first = cJSON_IsArray(codes) ? cJSON_GetArrayItem(codes, 0) : NULL;
		if (!cJSON_IsArray(codes) || (first && !cJSON_IsString(first)))
			r = A0_ERR_MALFORMED;
		else if (first && (!first->valuestring[0] ||
				   strlen(first->valuestring) > A0_MAX_RECOVERY_CODE))
			r = A0_ERR_MALFORMED;
		else if (first)
			r = a0_strdup_into(&a.recovery_code, first->valuestring);
	}
	a0_json_free(root);
	if (r < 0) {
		a0_association_clear(&a);
		return r;
	}
	*ret = a;
	return 0;
}

static void copy_member(const cJSON *obj, const char *name, char *dst, size_t size)
{
	const char *s = a0_json_string(obj, name);

	/* Whole or not at all: a cut id or type would name another. */
	(void)a0_str_copy(dst, size, s ? s : "");
}

int a0_parse_authenticators(const char *body, size_t len, struct a0_authenticator *list, size_t max,
			    size_t *ret_n)
{
	const cJSON *item;
	cJSON *root = NULL;
	size_t n = 0;
	int r;

	r = a0_json_parse(body, len, &root);
	if (r < 0)
		return r;
	if (!cJSON_IsArray(root)) {
		a0_json_free(root);
		return A0_ERR_MALFORMED;
	}
	cJSON_ArrayForEach(item, root) {
		struct a0_authenticator *a;
		const cJSON *active;

		if (!cJSON_IsObject(item)) {
			r = A0_ERR_MALFORMED;
			break;
		}
		if (n == max)
			break; /* more than anyone enrolls; the first ones are enough */
		a = &list[n];
		memset(a, 0, sizeof(*a));
		copy_member(item, "id", a->id, sizeof(a->id));
		copy_member(item, "authenticator_type", a->type, sizeof(a->type));
		copy_member(item, "oob_channel", a->oob_channel, sizeof(a->oob_channel));
		copy_member(item, "name", a->name, sizeof(a->name));
		active = cJSON_GetObjectItemCaseSensitive(item, "active");
		a->active = cJSON_IsTrue(active);
		if (!a->id[0] || !a->type[0]) {
			r = A0_ERR_MALFORMED;
			break;
		}
		n++;
	}
	a0_json_free(root);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

int a0_authenticator_method(const struct a0_authenticator *a)
{
	static const struct {
		const char *type, *channel;
		enum a0_mfa_method method;
	} table[] = {
		{ "otp", "", A0_MFA_OTP },        { "oob", "auth0", A0_MFA_PUSH },
		{ "oob", "sms", A0_MFA_SMS },     { "oob", "voice", A0_MFA_VOICE },
		{ "oob", "email", A0_MFA_EMAIL }, { "recovery-code", "", A0_MFA_RECOVERY },
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(table); i++)
		if (strcmp(a->type, table[i].type) == 0 &&
		    (!table[i].channel[0] || strcmp(a->oob_channel, table[i].channel) == 0))
			return (int)table[i].method;
	return -1;
}

static bool param_reserved(const char *key)
{
	static const char *const reserved[] = {
		"grant_type",
		"client_id",
		"client_secret",
		"client_assertion",
		"client_assertion_type",
		"refresh_token",
		"scope",
		"audience",
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(reserved); i++)
		if (strcasecmp(key, reserved[i]) == 0)
			return true;
	return false;
}

int a0_params_check(const struct a0_param *extra, size_t n_extra, char *err, size_t errlen)
{
	if (n_extra > A0_MAX_PARAMS) {
		a0_format(err, errlen, "more than %d extra parameters", A0_MAX_PARAMS);
		return A0_ERR_INVALID;
	}
	for (size_t i = 0; i < n_extra; i++) {
		const char *k = extra[i].key, *v = extra[i].value;

		if (!k || !v || !*k || strlen(k) > A0_MAX_PARAM_KEY) {
			a0_format(err, errlen,
				  "an extra parameter's name is empty or longer than %d bytes",
				  A0_MAX_PARAM_KEY);
			return A0_ERR_INVALID;
		}
		if (strlen(v) > A0_MAX_PARAM_VALUE) {
			a0_format(err, errlen, "an extra parameter's value is longer than %d bytes",
				  A0_MAX_PARAM_VALUE);
			return A0_ERR_INVALID;
		}
		if (param_reserved(k)) {
			/* The key is one of ours, so it is safe to name. */
			a0_format(err, errlen,
				  "the parameter '%s' may not be set as an extra parameter", k);
			return A0_ERR_INVALID;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(k, extra[j].key) == 0) {
				a0_format(err, errlen, "an extra parameter is given twice");
				return A0_ERR_INVALID;
			}
		}
	}
	return 0;
}

bool a0_vault_connection_ok(const char *connection)
{
	size_t n = connection ? strlen(connection) : 0;

	return n > 0 && n <= A0_MAX_CONNECTION && !strchr(connection, ':') &&
	       a0_text_ok(connection, n, A0_TEXT_TOKEN);
}

bool a0_vault_login_hint_ok(const char *login_hint)
{
	size_t n = login_hint ? strlen(login_hint) : 0;

	return n > 0 && n <= A0_MAX_LOGIN_HINT && !strchr(login_hint, ' ') &&
	       a0_text_ok(login_hint, n, A0_TEXT_ASCII);
}

const char *a0_vault_explain(int err, const struct a0_result *res)
{
	if (err == A0_ERR_NOT_FOUND && strcmp(res->error, A0_VAULT_NOT_FOUND) == 0)
		return "Token Vault holds no token of this user for the connection (the account "
		       "was never connected, or its refresh token at the provider is gone): "
		       "connect the account again";
	if (err == A0_ERR_CLIENT && strcmp(res->error, "unauthorized_client") == 0 &&
	    strcasestr(res->description, "rotation"))
		return "Token Vault's refresh-token exchange needs refresh token rotation off: "
		       "disable Allow Refresh Token Rotation in the application's settings";
	if (err == A0_ERR_CLIENT && strcmp(res->error, "unauthorized_client") == 0)
		return "the application may not use Token Vault: it must be confidential, "
		       "first-party, OIDC-conformant and have the Token Vault grant type";
	return NULL;
}
