/* SPDX-License-Identifier: MIT */
#ifndef A0_ASSERTION_H
#define A0_ASSERTION_H

#include <stddef.h>

/*
 * private_key_jwt client authentication (RFC 7523): an application's RSA private key and the
 * short-lived client assertions signed with it, for auth0-sync(8) and auth0-broker(8).
 */

#define A0_CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* Seconds a client assertion is valid: it is used at once. */
#define A0_ASSERTION_LIFETIME 60
/* Largest PEM key file read. */
#define A0_MAX_PRIVATE_KEY (16 * 1024)

struct a0_client_key;

/*
 * Read the unencrypted PEM private key at path, a file only its owner may read
 * (a0_config_read_secret), named key in messages (the configuration key): an RSA key of
 * A0_RSA_MIN_BITS to A0_RSA_MAX_BITS, as Auth0 takes for RS256. 0 and *ret; A0_ERR_CONFIG with
 * "path: key: problem" in err; A0_ERR_NOMEM.
 */
int a0_client_key_load(const char *path, const char *key, struct a0_client_key **ret, char *err,
		       size_t errlen);
void a0_client_key_free(struct a0_client_key *k);

/*
 * A client assertion for the tenant at domain: RS256, iss = sub = client_id, aud =
 * https://DOMAIN/, a random jti, iat now and exp A0_ASSERTION_LIFETIME later. 0 and the JWT in
 * *ret (free with a0_secret_free); A0_ERR_SYSTEM (no randomness, signing failed), A0_ERR_NOMEM.
 */
int a0_client_assertion(const struct a0_client_key *k, const char *client_id, const char *domain,
			char **ret);

/*
 * Token Vault's privileged worker exchange: the subject token a worker signs with its key, a
 * JWT of typ A0_WORKER_TYP with iss = client_id, sub = the Auth0 user id subject, aud =
 * https://DOMAIN/, iat now, exp A0_WORKER_LIFETIME later (Auth0 refuses one older than 60 s),
 * a random jti and audit_context (1..A0_WORKER_MAX_AUDIT characters: what it is for, for the
 * tenant's logs). 0 and the JWT in *ret (free with a0_secret_free); A0_ERR_INVALID,
 * A0_ERR_SYSTEM, A0_ERR_NOMEM.
 */
#define A0_WORKER_TYP "token-vault-req+jwt"
#define A0_WORKER_LIFETIME 60
#define A0_WORKER_MAX_AUDIT 256
int a0_worker_token(const struct a0_client_key *k, const char *client_id, const char *domain,
		    const char *subject, const char *audit_context, char **ret);

#endif
