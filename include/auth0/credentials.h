/* SPDX-License-Identifier: MIT */
#ifndef AUTH0_CREDENTIALS_H
#define AUTH0_CREDENTIALS_H

/*
 * libauth0-credentials: Auth0's CredentialsManager semantics over the credentials pam_auth0
 * keeps in the kernel keyring of a login session. A program of that session gets a fresh
 * access token without ever seeing a password; refreshes of one session are serialised across
 * all its processes, and a rotated refresh token is stored before anything else can fail.
 *
 * The auth0-credentials(1) command is built on this library and prints the same codes as its
 * exit status. Every function returns AUTH0_CREDENTIALS_OK (0) or one of the codes below;
 * details of the last failure are kept in the handle (auth0_credentials_message()).
 *
 * A refresh, revocation or exchange runs in a short-lived child process created with fork(),
 * so that it completes and stores the rotated refresh token even when the caller is killed
 * half-way; see auth0_credentials_set_inline() for programs that cannot fork. A handle is used
 * by one thread at a time; separate handles may be used at once, also across processes.
 *
 * Link with `pkg-config --cflags --libs auth0-credentials`.
 */

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(AUTH0_CREDENTIALS_API)
#define AUTH0_CREDENTIALS_API __attribute__((visibility("default")))
#elif !defined(AUTH0_CREDENTIALS_API)
#define AUTH0_CREDENTIALS_API
#endif

/* Results: also auth0-credentials(1)'s exit codes. Names as in Auth0's SDKs. */
enum auth0_credentials_code {
	AUTH0_CREDENTIALS_OK = 0,
	AUTH0_CREDENTIALS_NOT_VALID = 1, /* has_valid(): no access token valid for min_ttl */
	AUTH0_CREDENTIALS_INVALID_ARGUMENT = 2,
	AUTH0_CREDENTIALS_NO_CREDENTIALS = 3,
	AUTH0_CREDENTIALS_NO_REFRESH_TOKEN = 4,
	AUTH0_CREDENTIALS_RENEW_FAILED = 5,
	AUTH0_CREDENTIALS_API_EXCHANGE_FAILED = 6,
	AUTH0_CREDENTIALS_SSO_EXCHANGE_FAILED = 7,
	AUTH0_CREDENTIALS_STORE_FAILED = 8,
	AUTH0_CREDENTIALS_LARGE_MIN_TTL = 9,
	AUTH0_CREDENTIALS_NO_NETWORK = 10,
	AUTH0_CREDENTIALS_REVOKE_FAILED = 11,
	AUTH0_CREDENTIALS_MFA_REQUIRED = 12,
	AUTH0_CREDENTIALS_UNKNOWN = 13, /* a local failure: out of memory, unsafe lock directory */
	AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED = 14, /* Token Vault refused, or cannot be asked */
	AUTH0_CREDENTIALS_NO_FEDERATED_TOKEN =
		15, /* Token Vault holds no token at the connection */
	/* DPoP (names as react-native-auth0's DPoPErrorCodes) */
	AUTH0_CREDENTIALS_DPOP_MISSING_PARAMETER = 16, /* a DPoP token's headers: no method, URL */
	AUTH0_CREDENTIALS_DPOP_KEY_RETRIEVAL_FAILED = 17, /* no key, or not the token's */
	AUTH0_CREDENTIALS_DPOP_GENERATION_FAILED = 18,    /* the proof could not be made */
	/* From inside a session (issue 17) */
	AUTH0_CREDENTIALS_USERINFO_FAILED = 19,       /* /userinfo refused the access token */
	AUTH0_CREDENTIALS_TOKEN_EXCHANGE_FAILED = 20, /* Custom Token Exchange refused */
	AUTH0_CREDENTIALS_LOGIN_FAILED = 21,  /* the sign-in failed: password, MFA, tenant, setup */
	AUTH0_CREDENTIALS_LOGIN_REFUSED = 22, /* signed in, but not as the user bound to this uid */
};

enum auth0_credentials_keyring {
	AUTH0_CREDENTIALS_KEYRING_SESSION = 0, /* the login session's keyring (default) */
	AUTH0_CREDENTIALS_KEYRING_USER = 1,    /* the user's keyring (pam_auth0 keyring=user) */
};

enum auth0_credentials_format {
	AUTH0_CREDENTIALS_FORMAT_JSON = 0,   /* {"access_token",...}; never the refresh token */
	AUTH0_CREDENTIALS_FORMAT_TOKEN = 1,  /* the access token and a newline */
	AUTH0_CREDENTIALS_FORMAT_HEADER = 2, /* "Authorization: Bearer <token>" and a newline */
	AUTH0_CREDENTIALS_FORMAT_ENV = 3,    /* NAME='value' lines for a POSIX shell */
};

/* Credentials handed to the caller. Strings are secrets except token_type and scope. */
struct auth0_credentials_tokens {
	char *access_token;
	char *id_token; /* NULL when none is stored */
	char *token_type;
	char *scope;          /* NULL when unknown */
	long long expires_at; /* of the access token, seconds since the epoch */
};

/*
 * How auth0_credentials_login() talks to the person signing in. ask: 0 and *ret_reply, a
 * NUL-terminated string from malloc() that the library wipes and frees; anything else when the
 * person gave up. echo false for secrets (passwords, codes). tell: a message (error: a failure);
 * its text may come from the tenant: a terminal must see it with its control characters
 * removed (the library passes on what Auth0 sent).
 */
struct auth0_credentials_prompter {
	void *ctx;
	int (*ask)(void *ctx, bool echo, const char *prompt, char **ret_reply);
	void (*tell)(void *ctx, bool error, const char *text);
};

enum auth0_credentials_login_method {
	AUTH0_CREDENTIALS_LOGIN_PASSWORD = 0, /* the password, then MFA when the tenant asks */
	AUTH0_CREDENTIALS_LOGIN_DEVICE = 1,   /* the device authorization flow */
};

/* A native-to-web session transfer token: single use, short-lived. */
struct auth0_credentials_sso {
	char *session_transfer_token;
	char *token_type; /* "N_A" */
	long long expires_in;
	/*
	 * auth0_credentials_sso_exchange() only (NULL otherwise): the new ID token and the
	 * rotated refresh token of the answer, NULL when it had none. The caller's refresh token
	 * no longer works once rotated: keep this one.
	 */
	char *id_token;
	char *refresh_token;
};

/* An extra member of the refresh request (the SDKs' "parameters"). */
struct auth0_credentials_param {
	const char *key;
	const char *value;
};

/* An extra header of the session transfer request ("Name: value"). */
struct auth0_credentials_header {
	const char *name;
	const char *value;
};

/*
 * Where to refresh saved credentials: members left NULL are kept from the stored record.
 * domain is host[:port] (always https); ca_file NULL means the system's CA store.
 */
struct auth0_credentials_tenant {
	const char *domain;
	const char *client_id;
	const char *ca_file;
	const char *audience;
};

struct auth0_credentials;

AUTH0_CREDENTIALS_API int auth0_credentials_new(struct auth0_credentials **ret);
AUTH0_CREDENTIALS_API void auth0_credentials_free(struct auth0_credentials *c);
AUTH0_CREDENTIALS_API int auth0_credentials_set_keyring(struct auth0_credentials *c,
							enum auth0_credentials_keyring keyring);
/* Seconds for each request to the tenant, 1..300 (default 10). */
AUTH0_CREDENTIALS_API int auth0_credentials_set_timeout(struct auth0_credentials *c,
							unsigned seconds);
/*
 * Run refreshes in the calling process instead of a child. A caller killed during such a
 * refresh may lose the rotated refresh token (and with rotation the session): only for
 * programs that must not fork.
 */
AUTH0_CREDENTIALS_API int auth0_credentials_set_inline(struct auth0_credentials *c, bool inline_);

/*
 * The stored credentials when the access token is valid for at least min_ttl seconds, scope
 * (NULL: any) equals the stored scope as a case-insensitive set, and force_refresh is false;
 * otherwise renewed with the refresh token (passing scope and params), stored, and returned.
 * A refresh that another process completed while this call waited counts as this call's.
 * LARGE_MIN_TTL: even the renewed token expires within min_ttl; the renewed credentials are
 * stored all the same. min_ttl is 0 to 100 years (INVALID_ARGUMENT beyond); a longer one than
 * any token lives is tried and answered LARGE_MIN_TTL, as in Auth0's SDKs.
 * Free *ret with auth0_credentials_tokens_free().
 */
AUTH0_CREDENTIALS_API int auth0_credentials_get(struct auth0_credentials *c, const char *scope,
						long long min_ttl, bool force_refresh,
						const struct auth0_credentials_param *params,
						size_t n_params,
						struct auth0_credentials_tokens **ret);
/* OK when an access token valid for at least min_ttl seconds is stored, else NOT_VALID. */
AUTH0_CREDENTIALS_API int auth0_credentials_has_valid(struct auth0_credentials *c,
						      long long min_ttl);
/*
 * Store an Auth0 token response (JSON: access_token, token_type, expires_in...) or an Auth0 SDK
 * Credentials object (accessToken, tokenType, expiresAt in seconds since the epoch...) as the
 * session's credentials; members of both shapes at once are INVALID_ARGUMENT.
 */
AUTH0_CREDENTIALS_API int auth0_credentials_save(struct auth0_credentials *c, const char *json,
						 size_t len,
						 const struct auth0_credentials_tenant *tenant);
/* Remove every pam_auth0 record of the keyring. */
AUTH0_CREDENTIALS_API int auth0_credentials_clear(struct auth0_credentials *c);
/* Revoke the refresh token at Auth0, then clear. */
AUTH0_CREDENTIALS_API int auth0_credentials_revoke(struct auth0_credentials *c);
/*
 * Credentials for another API (audience) through a multi-resource refresh, cached under the
 * audience and the sorted scopes; a rotated refresh token updates the session's credentials.
 */
AUTH0_CREDENTIALS_API int
auth0_credentials_api_get(struct auth0_credentials *c, const char *audience, const char *scope,
			  long long min_ttl, const struct auth0_credentials_param *params,
			  size_t n_params, struct auth0_credentials_tokens **ret);
AUTH0_CREDENTIALS_API int auth0_credentials_api_clear(struct auth0_credentials *c,
						      const char *audience, const char *scope);
/*
 * Token Vault's refresh-token exchange: the user's access token at a federated connection
 * (e.g. "google-oauth2"; login_hint NULL: the first account there, scope NULL: the account's),
 * cached under the connection and login hint until it is within min_ttl seconds of expiring,
 * and fetched under the session's refresh lock (concurrent callers cause one exchange). Only a
 * confidential application's credentials (through auth0-broker) may: a public application's
 * are VAULT_EXCHANGE_FAILED without a request. NO_FEDERATED_TOKEN: Token Vault holds no token
 * of the user there. Free *ret with auth0_credentials_tokens_free().
 */
AUTH0_CREDENTIALS_API int auth0_credentials_vault_get(struct auth0_credentials *c,
						      const char *connection,
						      const char *login_hint, const char *scope,
						      long long min_ttl,
						      struct auth0_credentials_tokens **ret);
/* Forget the cached Token Vault token of connection (and login_hint); connection NULL: all. */
AUTH0_CREDENTIALS_API int auth0_credentials_vault_clear(struct auth0_credentials *c,
							const char *connection,
							const char *login_hint);
/*
 * Token Vault's access-token exchange, for a service of this host that was given a user's Auth0
 * access token (for the API whose Custom API Client auth0-broker holds): the user's access
 * token at connection. Done by auth0-broker for the caller's uid when broker_exchange lets it
 * ask for connection; nothing is stored. Codes as auth0_credentials_vault_get(); the access
 * token is a secret (the caller wipes its copy).
 */
AUTH0_CREDENTIALS_API int
auth0_credentials_vault_exchange(struct auth0_credentials *c, const char *access_token,
				 const char *connection, const char *login_hint, const char *scope,
				 struct auth0_credentials_tokens **ret);
/*
 * Token Vault's privileged worker exchange, for a system account (a backup or sync daemon) named
 * in auth0-broker's broker_workers: the access token at connection of the Auth0 user user_id
 * (e.g. "auth0|123"), by a JWT auth0-broker signs with the application's key; audit_context
 * (NULL, or up to 200 printable ASCII characters) is added to what the broker writes into the
 * JWT's audit_context (host and caller). Nothing is stored.
 */
AUTH0_CREDENTIALS_API int
auth0_credentials_vault_worker(struct auth0_credentials *c, const char *user_id,
			       const char *connection, const char *login_hint, const char *scope,
			       const char *audit_context, struct auth0_credentials_tokens **ret);
/*
 * The headers a session process sends with its request (method, url) to an API with the
 * credentials t: "Authorization: Bearer <token>\n" for a bearer token (method and url may be
 * NULL); for a DPoP-bound token (token_type "DPoP") "Authorization: DPoP <token>\n" and
 * "DPoP: <proof>\n", the proof signed by the session's key for method (e.g. "GET") and url
 * (its query and fragment left out) with ath, the token's hash. DPOP_MISSING_PARAMETER
 * without method and url, DPOP_KEY_RETRIEVAL_FAILED when the keyring holds no key or not the
 * one the token is bound to. Free *ret with auth0_credentials_secret_free().
 */
AUTH0_CREDENTIALS_API int auth0_credentials_dpop_headers(struct auth0_credentials *c,
							 const struct auth0_credentials_tokens *t,
							 const char *method, const char *url,
							 char **ret);
/*
 * The user's profile from the tenant's /userinfo, with the session's access token (renewed
 * first as auth0_credentials_get() would, when it is not valid for min_ttl seconds; a DPoP-bound
 * token with the DPoP scheme and a proof). *ret: the answer's JSON object on one line, without a
 * line end (free with auth0_credentials_secret_free()). USERINFO_FAILED when the tenant refused
 * the token (HTTP 401) or answered otherwise; NO_NETWORK; the codes of get.
 */
AUTH0_CREDENTIALS_API int auth0_credentials_userinfo(struct auth0_credentials *c, long long min_ttl,
						     char **ret);
/*
 * Auth0's Custom Token Exchange (RFC 8693): subject_token (a secret, e.g. another identity
 * provider's token) of subject_token_type (a URI of the caller's namespace, for which the tenant
 * has a Custom Token Exchange Profile; Auth0 refuses urn:ietf:, urn:auth0:, urn:okta: and
 * http(s)://auth0.com, okta.com) for the tokens of the user the profile's Action names, with
 * audience and scope (NULL: the application's defaults). The answer replaces the session's
 * credentials as auth0_credentials_save() would (every other record of the keyring goes: it was
 * another identity's), at the tenant given (members left NULL: the stored credentials'). A public
 * application only. TOKEN_EXCHANGE_FAILED with Auth0's error when refused; the stored
 * credentials are then left as they were. *ret (NULL: not wanted) as for get.
 */
AUTH0_CREDENTIALS_API int auth0_credentials_exchange(struct auth0_credentials *c,
						     const char *subject_token,
						     const char *subject_token_type,
						     const char *audience, const char *scope,
						     const struct auth0_credentials_tenant *tenant,
						     struct auth0_credentials_tokens **ret);
/*
 * Sign in from inside a session pam_auth0 did not open (an ssh key login, systemd --user, tmux)
 * and store the credentials where pam_auth0's session would: with the pam_auth0 configuration
 * config (NULL: /etc/pam_auth0/pam_auth0.conf; its tenant, application, DPoP setting and identity
 * binding), as the account of the caller's uid, asking p for the password and MFA (or showing
 * the device flow's code). Runs in the calling process. The ID token is verified, and the
 * identity must be the Auth0 user bound to the account as pam_auth0 binds it (users_file, the
 * synced identity cache, user_claim; a synced account whose cache this user cannot read only
 * through users_file): else LOGIN_REFUSED and nothing is stored. The session keyring must be the
 * session's own (not the per-user default one: use the user keyring then). A confidential
 * application's configuration is refused. LOGIN_FAILED (the tenant said no, the person gave up,
 * the configuration is unusable), NO_NETWORK, STORE_FAILED.
 */
AUTH0_CREDENTIALS_API int auth0_credentials_login(struct auth0_credentials *c, const char *config,
						  enum auth0_credentials_login_method method,
						  const struct auth0_credentials_prompter *p);
/* Revoke the refresh token at Auth0 and clear; with no refresh token, clear. */
AUTH0_CREDENTIALS_API int auth0_credentials_logout(struct auth0_credentials *c);
/* A session transfer token for native-to-web SSO. Free with auth0_credentials_sso_free(). */
AUTH0_CREDENTIALS_API int auth0_credentials_sso(struct auth0_credentials *c,
						const struct auth0_credentials_param *params,
						size_t n_params,
						struct auth0_credentials_sso **ret);
/*
 * The same with extra request headers (the SDKs' getSSOCredentials headers): at most 16, names
 * of 1 to 64 token characters, values of printable ASCII up to 1024 bytes, no name twice.
 * Headers that would change the request's meaning or security are INVALID_ARGUMENT: Host,
 * Authorization, Proxy-Authorization, Cookie, Content-*, Transfer-Encoding, Connection, TE,
 * Upgrade, Expect, Accept, Forwarded, X-Forwarded-*, auth0-forwarded-for, DPoP.
 */
AUTH0_CREDENTIALS_API int
auth0_credentials_sso_headers(struct auth0_credentials *c,
			      const struct auth0_credentials_param *params, size_t n_params,
			      const struct auth0_credentials_header *headers, size_t n_headers,
			      struct auth0_credentials_sso **ret);

/*
 * The SDKs' ssoExchange: a session transfer token for the caller's refresh_token, at the tenant
 * given (members left NULL are taken from the stored credentials, when there are). Nothing is
 * read from or written to the keyring besides that; params and headers as above. With rotation
 * the answer's refresh token (and new ID token) is in (*ret)->refresh_token (id_token): the
 * caller must keep it. Runs in the calling process. Free with auth0_credentials_sso_free().
 */
AUTH0_CREDENTIALS_API int
auth0_credentials_sso_exchange(struct auth0_credentials *c, const char *refresh_token,
			       const struct auth0_credentials_tenant *tenant,
			       const struct auth0_credentials_param *params, size_t n_params,
			       const struct auth0_credentials_header *headers, size_t n_headers,
			       struct auth0_credentials_sso **ret);

AUTH0_CREDENTIALS_API void auth0_credentials_tokens_free(struct auth0_credentials_tokens *t);
AUTH0_CREDENTIALS_API void auth0_credentials_sso_free(struct auth0_credentials_sso *s);

/*
 * The text auth0-credentials prints: FORMAT_JSON, TOKEN, HEADER or ENV for tokens; JSON,
 * TOKEN or ENV for a session transfer token. Free *ret with auth0_credentials_secret_free().
 */
AUTH0_CREDENTIALS_API int auth0_credentials_format(const struct auth0_credentials_tokens *t,
						   enum auth0_credentials_format format,
						   char **ret);
AUTH0_CREDENTIALS_API int auth0_credentials_sso_format(const struct auth0_credentials_sso *s,
						       enum auth0_credentials_format format,
						       char **ret);
/* Wipe and free a string this library returned; NULL is fine. */
AUTH0_CREDENTIALS_API void auth0_credentials_secret_free(char *s);

/* "NO_CREDENTIALS" etc.; "NOT_VALID" and "OK" for those. NULL for an unknown code. */
AUTH0_CREDENTIALS_API const char *auth0_credentials_code_name(int code);
/* What went wrong in the last call on c, for a person; "" after success. */
AUTH0_CREDENTIALS_API const char *auth0_credentials_message(const struct auth0_credentials *c);
/* Auth0's error code and description of the last failure, "" when the tenant gave none. */
AUTH0_CREDENTIALS_API const char *auth0_credentials_auth0_error(const struct auth0_credentials *c);
AUTH0_CREDENTIALS_API const char *
auth0_credentials_auth0_error_description(const struct auth0_credentials *c);
/*
 * The error as one JSON object: {"error":"NAME","message":"..."}, plus "auth0_error",
 * "auth0_error_description" and "http_status" when c is not NULL and the tenant answered its
 * last call. message NULL takes c's last message. NULL when out of memory; free with free().
 */
AUTH0_CREDENTIALS_API char *auth0_credentials_error_json(const struct auth0_credentials *c,
							 int code, const char *message);

#ifdef __cplusplus
}
#endif

#endif
