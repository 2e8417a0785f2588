/* SPDX-License-Identifier: MIT */
#ifndef A0_BROKER_PROTOCOL_H
#define A0_BROKER_PROTOCOL_H

/*
 * The protocol between auth0-broker(8) and its callers (libauth0-credentials, auth0-credentials):
 * the broker holds a confidential application's client authentication and performs an
 * allow-list of requests for the caller, whom it knows from the socket (SO_PEERCRED), never from
 * the request. Documented in auth0-broker(8), PROTOCOL.
 *
 * Transport: a Unix stream socket (A0_BROKER_SOCKET by default). One request per connection:
 * the caller writes one frame, the broker answers one frame and closes. A frame is a 4-byte
 * big-endian length N followed by N bytes of JSON (an object); a request frame is at most
 * A0_BROKER_MAX_REQUEST bytes, a response frame at most A0_BROKER_MAX_RESPONSE.
 *
 * Request: {"v":1, "op":OP, ...}, per OP (D and C, "domain" and "client_id", must be the
 * broker's own: the record's tenant and application):
 *   "refresh"  D, C, "refresh_token" (a secret), optional "audience", "scope", "params" (an
 *              object of string values: extra form parameters, each name on the broker's
 *              allow-list) and "dpop" (a DPoP proof the caller made with its session's key for
 *              POST https://D/oauth/token: the refresh token is DPoP-bound);
 *   "revoke"   D, C, "refresh_token";
 *   "vault"    D, C, "refresh_token", "connection" (on the broker's broker_connections),
 *              optional "login_hint", "scope" and "dpop" (as for refresh): Token Vault's
 *              refresh-token exchange;
 *   "exchange" "access_token" (a secret: an Auth0 access token a service of this host was
 *              given), "connection", optional "login_hint" and "scope": Token Vault's
 *              access-token exchange, as the broker's Custom API Client, for a caller uid and
 *              connection on broker_exchange;
 *   "worker"   "subject" (an Auth0 user id), "connection", optional "login_hint", "scope" and
 *              "audit_context": Token Vault's privileged worker exchange, with a JWT the broker
 *              signs, for a caller uid and connection on broker_workers;
 * Any other member, a value of another type, a duplicate member, or a text over its bound is a
 * malformed request (the broker answers INVALID and logs it).
 *
 * Response: {"v":1, "result":NAME, ...}: NAME is "OK" or an A0_ERR_* name (a0_err_name); with
 * "status" (the tenant's HTTP status, 0 when none), "error" and "error_description" (Auth0's),
 * "retry_after" (seconds, -1 when none); on OK for refresh, "tokens": {"access_token",
 * "id_token"?, "refresh_token"?, "token_type", "scope"?, "expires_in", "issued_token_type"? (vault)}. Tokens are secrets:
 * wiped wherever they are held (lib/secret.h).
 */

#include <stddef.h>
#include <stdint.h>

#include "lib/auth0.h"

#define A0_BROKER_SOCKET "/run/pam_auth0/broker.sock"
#define A0_BROKER_VERSION 1
#define A0_BROKER_MAX_REQUEST (64 * 1024)
#define A0_BROKER_MAX_RESPONSE (256 * 1024)
#define A0_BROKER_MAX_PARAMS 16
#define A0_BROKER_FRAME_HEADER 4
/* Longest Auth0 user id ("subject") and audit context of a worker request. */
#define A0_BROKER_MAX_SUBJECT 256
#define A0_BROKER_MAX_AUDIT 200

enum a0_broker_op {
	A0_BROKER_REFRESH,
	A0_BROKER_REVOKE,
	A0_BROKER_VAULT,
	A0_BROKER_EXCHANGE,
	A0_BROKER_WORKER,
};

struct a0_broker_request {
	enum a0_broker_op op;
	char *domain;
	char *client_id;
	char *refresh_token;     /* secret */
	char *audience;          /* may be NULL */
	char *scope;             /* may be NULL */
	struct a0_param *params; /* keys and values owned by the request */
	size_t n_params;
	char *connection;    /* vault, exchange, worker: required; NULL otherwise */
	char *login_hint;    /* vault, exchange, worker: may be NULL */
	char *access_token;  /* exchange: the subject token (a secret) */
	char *subject;       /* worker: the Auth0 user id */
	char *audit_context; /* worker: may be NULL */
	char *dpop;          /* refresh, vault: the caller's DPoP proof; may be NULL */
};

/* The operation's name in the protocol ("refresh", "revoke", ...); NULL for none. */
const char *a0_broker_op_name(enum a0_broker_op op);

/* Free a request, wiping its secret; NULL is fine. */
void a0_broker_request_free(struct a0_broker_request *r);

/*
 * Parse a request frame's JSON (len bytes, not NUL-terminated). 0 and *ret; A0_ERR_MALFORMED
 * with the reason (never a secret) in why; A0_ERR_NOMEM.
 */
int a0_broker_request_parse(const char *json, size_t len, struct a0_broker_request **ret, char *why,
			    size_t whylen);
/* The request's JSON (a secret: free with a0_secret_free). 0, A0_ERR_INVALID, A0_ERR_NOMEM. */
int a0_broker_request_format(const struct a0_broker_request *r, char **ret, size_t *ret_len);

/*
 * A response's JSON for result err (0 or A0_ERR_*), what the tenant said (res), and on success
 * the tokens (may be NULL, e.g. for revoke). A secret when it holds tokens. 0, A0_ERR_NOMEM.
 */
int a0_broker_response_format(int err, const struct a0_result *res, const struct a0_tokens *tokens,
			      char **ret, size_t *ret_len);
/*
 * Parse a response's JSON: 0 and *ret_err (the broker's result, 0 or A0_ERR_*), res filled,
 * *ret_tokens (NULL when none; free with a0_tokens_free); A0_ERR_MALFORMED (why), A0_ERR_NOMEM.
 */
int a0_broker_response_parse(const char *json, size_t len, int *ret_err, struct a0_result *res,
			     struct a0_tokens **ret_tokens, char *why, size_t whylen);

/*
 * The caller's side: connect to socket_path, send req, wait at most timeout seconds for the
 * answer. 0 and what the broker answered (*ret_err, res, *ret_tokens); A0_ERR_NETWORK with why
 * saying "no broker is running at PATH" (no socket, or nobody listening) or the transport
 * trouble; A0_ERR_TIMEOUT; A0_ERR_MALFORMED; A0_ERR_NOMEM.
 */
int a0_broker_call(const char *socket_path, const struct a0_broker_request *req, unsigned timeout,
		   int *ret_err, struct a0_result *res, struct a0_tokens **ret_tokens, char *why,
		   size_t whylen);

#endif
