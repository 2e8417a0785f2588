/* SPDX-License-Identifier: MIT */
#ifndef A0_RECORD_H
#define A0_RECORD_H

/*
 * A record: one set of Auth0 credentials as pam_auth0 keeps them, its names and its payload
 * format (record.c, pam_auth0(8)). No keyring here: store.h keeps records in keys.
 *
 * Record names:
 *   "main"                       the login's credentials
 *   "api:<audience>"             per-API credentials, or
 *   "api:<audience>::<s1>::<s2>" with the requested scopes sorted (Auth0 SDKs' key)
 *   "sso"                        the last session-transfer credentials
 *   "vault:<connection>"         a Token Vault federated access token, or
 *   "vault:<connection>::<hint>" the one of the account named by a login hint
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define A0_RECORD_MAIN "main"
#define A0_RECORD_SSO "sso"

/* Longest record name; key descriptions stop at 4095 bytes. */
#define A0_RECORD_NAME_MAX 2048
/* Largest payload read back or written: far over three tokens of A0_MAX_TOKEN. */
#define A0_RECORD_MAX (256 * 1024)

/* Every member has a row in record.c's fields table, which free, dup, serialise and parse go
 * by (record.c refuses to compile when the two disagree in size). */
struct a0_record {
	/* Tokens: secrets, wiped when freed. */
	char *access_token;
	char *id_token;      /* may be NULL */
	char *refresh_token; /* may be NULL */
	/* Not secret. */
	char *token_type;
	char *scope;       /* may be NULL */
	time_t expires_at; /* of the access token, absolute */
	/* What the helper needs to refresh without reading root-only configuration. */
	char *domain;
	char *client_id;
	char *ca_file;  /* may be NULL: the system store */
	char *audience; /* may be NULL */
	/* When the refresh token's absolute lifetime ends (the key's timeout), 0 = unknown. */
	time_t refresh_expires_at;
	/*
	 * How the application authenticates (format version 2): NULL for a public application,
	 * A0_RECORD_CLIENT_AUTH_BROKER for a confidential one whose requests auth0-broker(8)
	 * makes. No other value is written or read.
	 */
	char *client_auth;
	/*
	 * DPoP (format version 3): the session's private key as a JWK (lib/dpop.h), a secret;
	 * NULL for bearer tokens. Every request with these tokens carries a proof signed by it.
	 */
	char *dpop_key;
};

#define A0_RECORD_CLIENT_AUTH_BROKER "broker"

/* r's application is confidential: its requests go through auth0-broker (client_auth). */
bool a0_record_uses_broker(const struct a0_record *r);

/* Free a record, wiping its secrets; NULL is fine. */
void a0_record_free(struct a0_record *r);

/* A deep copy of every field (A0_ERR_INVALID for NULL, A0_ERR_NOMEM); free with
 * a0_record_free. */
int a0_record_dup(const struct a0_record *r, struct a0_record **ret);

/* Serialise / parse a record payload (bounded; A0_ERR_VERSION, A0_ERR_MALFORMED). */
int a0_record_serialize(const struct a0_record *r, char **ret, size_t *ret_len);
int a0_record_parse(const char *payload, size_t len, struct a0_record **ret);

/* The key timeout for a record: until refresh_expires_at, else until the access token expires,
 * and at least A0_RECORD_MIN_TIMEOUT seconds. */
#define A0_RECORD_MIN_TIMEOUT 60
unsigned a0_record_timeout(const struct a0_record *r, time_t now);

/* The record name for per-API credentials: "api:<audience>[::<sorted scopes>]". */
int a0_record_api_name(const char *audience, const char *scope, char **ret);

#define A0_RECORD_VAULT_PREFIX "vault:"
/* The record name of a Token Vault token: "vault:<connection>[::<login_hint>]"; the connection
 * has no ':' (a0_vault_connection_ok), so the name is unambiguous. A0_ERR_INVALID. */
int a0_record_vault_name(const char *connection, const char *login_hint, char **ret);

#endif
