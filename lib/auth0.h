/* SPDX-License-Identifier: MIT */
#ifndef A0_AUTH0_H
#define A0_AUTH0_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/conf.h"
#include "lib/http.h"

#define A0_GRANT_PASSWORD_REALM "http://auth0.com/oauth/grant-type/password-realm"
#define A0_GRANT_MFA_OTP "http://auth0.com/oauth/grant-type/mfa-otp"
#define A0_GRANT_MFA_OOB "http://auth0.com/oauth/grant-type/mfa-oob"
#define A0_GRANT_MFA_RECOVERY "http://auth0.com/oauth/grant-type/mfa-recovery-code"
#define A0_GRANT_REFRESH "refresh_token"
/* Token Vault (the refresh-token exchange): a federated connection's access token for the user
 * of a refresh token. */
#define A0_GRANT_TOKEN_VAULT \
	"urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token"
/* RFC 8693's token exchange: Auth0's Custom Token Exchange (a subject token of a type the tenant
 * has a Custom Token Exchange Profile for, judged by that profile's Action). */
#define A0_GRANT_TOKEN_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
/* Longest subject_token_type URI sent. */
#define A0_MAX_TOKEN_TYPE 1024
#define A0_TOKEN_TYPE_REFRESH "urn:ietf:params:oauth:token-type:refresh_token"
#define A0_TOKEN_TYPE_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define A0_TOKEN_TYPE_JWT "urn:ietf:params:oauth:token-type:jwt"
#define A0_TOKEN_TYPE_FEDERATED \
	"http://auth0.com/oauth/token-type/federated-connection-access-token"
/* What the privileged worker exchange asks for (its subject token is the worker's JWT). */
#define A0_TOKEN_TYPE_TOKEN_VAULT "http://auth0.com/oauth/token-type/token-vault-access-token"
/* Auth0's error when Token Vault holds no token of the user at the connection (A0_ERR_NOT_FOUND). */
#define A0_VAULT_NOT_FOUND "federated_connection_refresh_token_not_found"
/* Longest connection name and login hint sent to Token Vault. */
#define A0_MAX_CONNECTION 128
#define A0_MAX_LOGIN_HINT 256

/* Most extra parameters one request may carry, and their longest key and value. */
#define A0_MAX_PARAMS 32
#define A0_MAX_PARAM_KEY 128
#define A0_MAX_PARAM_VALUE 4096

/* Largest token (or code) accepted from the tenant. */
#define A0_MAX_TOKEN (64 * 1024)
/* Most authenticators listed for one user. */
#define A0_MAX_AUTHENTICATORS 32

/* A successful token response. Every string is a secret except token_type and scope. */
struct a0_tokens {
	char *access_token;
	char *id_token;      /* NULL when the tenant sent none */
	char *refresh_token; /* NULL when the tenant sent none */
	char *token_type;
	char *scope;             /* NULL when the tenant sent none (= the requested scope) */
	char *recovery_code;     /* new recovery code after the mfa-recovery-code grant */
	char *issued_token_type; /* Token Vault's answer; NULL when the tenant sent none */
	char *dpop_key; /* a DPoP login's private JWK (lib/dpop.h), a secret; NULL: bearer */
	long long expires_in;
	time_t expires_at;
};

/* What the tenant said when a call did not succeed; for logs and the user's message. */
struct a0_result {
	long status;           /* HTTP status, 0 when no answer */
	char error[64];        /* Auth0's error code, "" when none */
	char description[256]; /* Auth0's error_description, or the transport's reason */
	long retry_after;      /* seconds, -1 when not given */
	char *mfa_token;       /* with A0_ERR_MFA_REQUIRED; a secret */
};

/* The tenant and the application, with one HTTP client reused for every call of a login. */
struct a0_client_key;
/*
 * A DPoP-bound session's state for its requests (lib/dpop.h): the key every /oauth/token request
 * proves possession of, and the latest nonce the tenant handed out (RFC 9449 §8).
 */
struct a0_dpop_session {
	const struct a0_dpop_key *key;
	char nonce[A0_DPOP_MAX_NONCE + 1]; /* "" for none yet */
};

struct a0_client {
	struct a0_http *http;
	const char *client_id;
	const char *client_secret; /* NULL: a public (Native) application */
	/* private_key_jwt (lib/assertion.h), preferred to client_secret: a client assertion for
	 * the tenant at domain is signed with it for each call. NULL: none. */
	const struct a0_client_key *client_key;
	const char *domain;
	/* DPoP: a proof with each /oauth/token request; a use_dpop_nonce answer is retried once
	 * with the nonce it gave. NULL: bearer tokens. */
	struct a0_dpop_session *dpop;
	/* Or a proof its key's holder made for POST <domain>/oauth/token (auth0-broker's caller
	 * keeps the key): sent once with the token request, never again (a use_dpop_nonce answer
	 * goes back to its maker). NULL: none. */
	const char *dpop_proof;
};

struct a0_authenticator {
	char id[128];
	char type[32];        /* otp, oob, recovery-code */
	char oob_channel[16]; /* auth0 (push), sms, voice, email */
	char name[64];
	bool active;
};

struct a0_challenge {
	char *oob_code;      /* a secret; NULL for otp */
	bool binding_prompt; /* the user must type the code they received */
};

/*
 * What POST /mfa/associate answered (a0_mfa_associate): the new authenticator, inactive until
 * its first code is confirmed through the mfa-otp or mfa-oob grant. Every string is a secret.
 * Nothing here has been checked for the terminal: lib/mfa.c does that before showing it.
 */
#define A0_MAX_OTP_SECRET 128   /* base32 characters of a TOTP secret */
#define A0_MAX_BARCODE_URI 1024 /* an otpauth:// URI (it holds the secret and the labels) */
#define A0_MAX_RECOVERY_CODE 64
struct a0_association {
	char *secret;        /* otp: the TOTP secret, base32 */
	char *barcode_uri;   /* otp: otpauth://totp/... */
	char *oob_code;      /* oob: what the mfa-oob grant confirms */
	bool binding_prompt; /* oob: the user types the code sent to them */
	char *recovery_code; /* the first of recovery_codes on a first enrolment; NULL else */
};

/* An extra member of a grant's body (the CredentialsManager's "parameters"). */
struct a0_param {
	const char *key;
	const char *value;
};

void a0_tokens_free(struct a0_tokens *t);
void a0_result_clear(struct a0_result *res);

/*
 * Parse a 200 token response (bounded, typed: expires_in may be a string). For tests and the
 * fuzzers as well as the grants below.
 */
int a0_parse_token_response(const char *body, size_t len, time_t now, struct a0_tokens **ret);
/* Map a non-200 answer to an A0_ERR_* and fill res; copies mfa_token for mfa_required. */
int a0_parse_error_response(const struct a0_http_response *resp, struct a0_result *res);
/* Parse GET /mfa/authenticators. */
int a0_parse_authenticators(const char *body, size_t len, struct a0_authenticator *list, size_t max,
			    size_t *ret_n);

/* The MFA method an authenticator serves, or -1 when none we support. */
int a0_authenticator_method(const struct a0_authenticator *a);

/*
 * For the flows built over these calls (lib/passwordless.c): a grant of the string members kv
 * ({ "key", value, ..., NULL }, a NULL value left out) sent to /oauth/token with the client's
 * authentication and, for a DPoP session, a proof; and a POST of such a JSON body to another
 * path of the Authentication API, 0 with the 2xx answer in *resp (clear it) or an A0_ERR_*.
 */
int a0_token_request(struct a0_client *c, const char *const *kv, struct a0_tokens **ret,
		     struct a0_result *res);
int a0_post_json(struct a0_client *c, const char *path, const char *const *kv,
		 struct a0_http_response *resp, struct a0_result *res);

int a0_grant_password_realm(struct a0_client *c, const struct a0_config *cfg, const char *username,
			    const char *password, struct a0_tokens **ret, struct a0_result *res);
int a0_grant_mfa_otp(struct a0_client *c, const char *mfa_token, const char *otp,
		     struct a0_tokens **ret, struct a0_result *res);
int a0_grant_mfa_oob(struct a0_client *c, const char *mfa_token, const char *oob_code,
		     const char *binding_code, struct a0_tokens **ret, struct a0_result *res);
int a0_grant_mfa_recovery(struct a0_client *c, const char *mfa_token, const char *code,
			  struct a0_tokens **ret, struct a0_result *res);
int a0_mfa_list_authenticators(struct a0_client *c, const char *mfa_token,
			       struct a0_authenticator *list, size_t max, size_t *ret_n,
			       struct a0_result *res);
int a0_mfa_challenge(struct a0_client *c, const char *mfa_token, const struct a0_authenticator *a,
		     struct a0_challenge *ret, struct a0_result *res);
void a0_challenge_clear(struct a0_challenge *ch);
/*
 * POST /mfa/associate with the mfa_token as bearer: enrol an authenticator of method A0_MFA_OTP
 * or A0_MFA_SMS (phone_number, E.164, required for SMS) for a user who has no active one. 0 and
 * *ret (clear it with a0_association_clear); A0_ERR_MALFORMED when the answer is not one Auth0
 * sends; another A0_ERR_* with res for a refusal (a user already enrolled is A0_ERR_AUTH0).
 */
int a0_mfa_associate(struct a0_client *c, const char *mfa_token, enum a0_mfa_method method,
		     const char *phone_number, struct a0_association *ret, struct a0_result *res);
void a0_association_clear(struct a0_association *a);
/* A /mfa/associate answer for an otp (secret and barcode_uri required) or oob (oob_code
 * required) authenticator, bounded: 0, or A0_ERR_MALFORMED. */
int a0_parse_association(const char *body, size_t len, bool oob, struct a0_association *ret);

/*
 * POST /dbconnections/change_password: Auth0 mails email a link to set a new password for the
 * database connection's user. Auth0 answers 200 with text (the same whether the address has a
 * user or not). 0, A0_ERR_INVALID (email or connection unfit to send: nothing sent), or an
 * A0_ERR_* with res (an unknown connection is A0_ERR_AUTH0 with its text in res->error).
 */
int a0_change_password(struct a0_client *c, const char *email, const char *connection,
		       struct a0_result *res);

/* A /mfa/challenge answer (an oob_code required when oob): 0, or A0_ERR_MALFORMED. */
int a0_parse_challenge(const char *body, size_t len, bool oob, struct a0_challenge *ret);

/*
 * Check extra parameters before they are sent: at most A0_MAX_PARAMS, keys of 1 to
 * A0_MAX_PARAM_KEY bytes, values up to A0_MAX_PARAM_VALUE, no key twice (ignoring case), and
 * none of the members the grant sets itself or client authentication (grant_type, client_id,
 * client_secret, client_assertion, client_assertion_type, refresh_token, scope, audience):
 * overriding those would change what is asked for. A0_ERR_INVALID with the reason in err.
 */
int a0_params_check(const struct a0_param *extra, size_t n_extra, char *err, size_t errlen);

/*
 * The refresh_token grant: scope (NULL: the refresh token's own) may only narrow it; audience
 * (NULL: the refresh token's own) asks for another API through a multi-resource refresh or, as
 * urn:<domain>:session_transfer, for a session transfer token. The extra parameters go into
 * the JSON body as string members; a reserved or repeated key, or one over the bounds, is
 * A0_ERR_INVALID and nothing is sent.
 */
int a0_grant_refresh(struct a0_client *c, const char *refresh_token, const char *scope,
		     const char *audience, const struct a0_param *extra, size_t n_extra,
		     struct a0_tokens **ret, struct a0_result *res);

/*
 * Token Vault's refresh-token exchange: the federated access token of refresh_token's user at
 * connection (login_hint: one of several accounts there, NULL: the first; scope: NULL, the
 * account's). Auth0 allows it only for a confidential, first-party application with refresh
 * token rotation off: c must carry its authentication. Tokens as for a refresh (no refresh or
 * ID token); A0_ERR_NOT_FOUND when Token Vault holds no token of the user there; A0_ERR_CLIENT
 * when the application may not (a0_vault_explain says why). A bad connection or hint is
 * A0_ERR_INVALID and nothing is sent.
 */
int a0_grant_vault_refresh(struct a0_client *c, const char *refresh_token, const char *connection,
			   const char *login_hint, const char *scope, struct a0_tokens **ret,
			   struct a0_result *res);
/*
 * Token Vault's other two exchanges, as a0_grant_vault_refresh. The access-token exchange: c is
 * a Custom API Client (the client of the API the access token was issued for), subject an
 * Auth0 access token of the user. The privileged worker exchange: subject a JWT the client
 * signed (a0_worker_token, lib/assertion.h) naming the user.
 */
enum a0_vault_subject { A0_VAULT_REFRESH_TOKEN, A0_VAULT_ACCESS_TOKEN, A0_VAULT_WORKER_JWT };
int a0_grant_vault(struct a0_client *c, enum a0_vault_subject kind, const char *subject,
		   const char *connection, const char *login_hint, const char *scope,
		   struct a0_tokens **ret, struct a0_result *res);
/* A connection name (1..A0_MAX_CONNECTION token characters, no ':') and an optional login hint
 * (1..A0_MAX_LOGIN_HINT printable characters, no blank) Token Vault may be asked for. */
bool a0_vault_connection_ok(const char *connection);
bool a0_vault_login_hint_ok(const char *login_hint);
/*
 * A Token Vault refusal (err and what the tenant said) explained for a person: no token at the
 * connection, rotation on, the application not allowed the grant. NULL when there is nothing
 * to add to Auth0's own words.
 */
const char *a0_vault_explain(int err, const struct a0_result *res);

/*
 * Custom Token Exchange (RFC 8693): Auth0's tokens for the user the tenant's Action finds in
 * subject_token, a token of subject_token_type (a URI of the caller's own namespace; Auth0
 * refuses urn:ietf, urn:auth0, urn:okta and its own and Okta's https URLs). audience and scope
 * may be NULL. Tokens as for a password login. A0_ERR_INVALID (nothing sent) for an empty
 * subject token or a type that is not one URI of printable ASCII of at most A0_MAX_TOKEN_TYPE.
 */
int a0_grant_token_exchange(struct a0_client *c, const char *subject_token,
			    const char *subject_token_type, const char *audience, const char *scope,
			    struct a0_tokens **ret, struct a0_result *res);

/*
 * GET /userinfo with the access token (token_type "DPoP": the DPoP scheme and a proof signed by
 * key, which must then not be NULL). 0 and the answer's JSON object, re-printed on one line
 * (free with a0_secret_free: it holds the user's personal data); A0_ERR_DENIED for a 401 (the
 * token refused), A0_ERR_RATE_LIMITED, A0_ERR_SERVER, A0_ERR_MALFORMED, a transport error.
 */
int a0_userinfo(struct a0_client *c, const char *access_token, const char *token_type,
		const struct a0_dpop_key *key, char **ret, struct a0_result *res);

/* POST /oauth/revoke: revoke a refresh token (and with it its rotation family). */
int a0_revoke(struct a0_client *c, const char *token, struct a0_result *res);

/*
 * The device authorization flow's two requests (RFC 8628; lib/device.h runs the flow).
 * POST /oauth/device/code with the configuration's scope and audience: 0 and the answer's JSON
 * body in *ret_body (a secret: it holds the device code; free with a0_secret_free) and its
 * length, or an A0_ERR_* with res filled. The device code grant: one poll, answered with the
 * tokens, or A0_ERR_PENDING, A0_ERR_SLOW_DOWN, A0_ERR_EXPIRED, A0_ERR_DENIED (invalid_grant),
 * A0_ERR_AUTH0 with res->error "access_denied", ...
 */
#define A0_GRANT_DEVICE_CODE "urn:ietf:params:oauth:grant-type:device_code"
int a0_device_code_request(struct a0_client *c, const struct a0_config *cfg, char **ret_body,
			   size_t *ret_len, struct a0_result *res);
int a0_grant_device_code(struct a0_client *c, const char *device_code, struct a0_tokens **ret,
			 struct a0_result *res);

#endif
