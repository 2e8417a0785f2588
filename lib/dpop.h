/* SPDX-License-Identifier: MIT */
#ifndef A0_DPOP_H
#define A0_DPOP_H

/*
 * DPoP (RFC 9449): a login session's P-256 key pair and the proofs signed with it. Tokens
 * Auth0 issues to a DPoP request are bound to the key (cnf.jkt, the key's thumbprint); every
 * later request with them carries a fresh proof signed by the same key.
 *
 * In libauth0dpop.la: Nettle's ECDSA and the base alone (no libcurl, no OpenSSL), so that the
 * credentials library can make proofs for a session process's API calls at little cost.
 *
 * The key travels in the keyring record as its private JWK (a secret):
 *   {"kty":"EC","crv":"P-256","x":X,"y":Y,"d":D}
 * X, Y and D base64url without padding, 43 characters each (32 bytes). Nothing else.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define A0_DPOP_TYP "dpop+jwt"
#define A0_DPOP_ALG "ES256"
/* Longest nonce a server may hand out that is kept and sent back (DPoP-Nonce). */
#define A0_DPOP_MAX_NONCE 512
/* Longest htu (the request's URL without query and fragment) and htm. */
#define A0_DPOP_MAX_HTU 2048
#define A0_DPOP_MAX_HTM 16
/* The thumbprint (RFC 7638, SHA-256, base64url): 43 characters. */
#define A0_DPOP_JKT_LEN 43
/* The exported private JWK's largest size. */
#define A0_DPOP_MAX_KEY_TEXT 256

struct a0_dpop_key;

/* A fresh P-256 key pair. 0 and *ret; A0_ERR_SYSTEM (no randomness), A0_ERR_NOMEM. */
int a0_dpop_key_new(struct a0_dpop_key **ret);
/* Free, wiping the private part; NULL is fine. */
void a0_dpop_key_free(struct a0_dpop_key *k);

/*
 * The private JWK text above (a secret: free with a0_secret_free). 0, A0_ERR_INVALID (k NULL),
 * A0_ERR_NOMEM, A0_ERR_SYSTEM (the private scalar would not fit).
 */
int a0_dpop_key_export(const struct a0_dpop_key *k, char **ret);
/*
 * Read a private JWK of exactly the shape above (len bytes, at most A0_DPOP_MAX_KEY_TEXT, not
 * NUL-terminated; no backslash escapes, which the shape never needs): the point must be on the
 * curve and be d's public point. 0 and *ret; A0_ERR_MALFORMED; A0_ERR_NOMEM.
 */
int a0_dpop_key_import(const char *text, size_t len, struct a0_dpop_key **ret);

/*
 * The key's RFC 7638 thumbprint into out (NUL-terminated). 0, A0_ERR_INVALID (k NULL),
 * A0_ERR_NOMEM, A0_ERR_SYSTEM.
 */
int a0_dpop_thumbprint(const struct a0_dpop_key *k, char out[A0_DPOP_JKT_LEN + 1]);
/*
 * The same of a P-256 public JWK given by its members x and y (base64url of 32 bytes each, 43
 * characters): SHA-256 of {"crv":"P-256","kty":"EC","x":X,"y":Y}, base64url. 0, A0_ERR_INVALID
 * for other x or y, A0_ERR_NOMEM, A0_ERR_SYSTEM.
 */
int a0_dpop_jwk_thumbprint(const char *x, const char *y, char out[A0_DPOP_JKT_LEN + 1]);

/*
 * A proof for one request: header {"typ":"dpop+jwt","alg":"ES256","jwk":{public JWK}}, claims
 * {"jti": random, "htm": htm, "htu": htu without its query and fragment, "iat": now, "nonce":
 * nonce when not NULL, "ath": base64url(SHA-256(access_token)) when access_token is not NULL},
 * signed ES256 with the raw r||s signature (64 bytes). htm: an HTTP method (upper-case letters,
 * 1..A0_DPOP_MAX_HTM); htu: an absolute http(s) URL with a host, printable ASCII without blanks
 * up to its query or fragment, that part up to A0_DPOP_MAX_HTU; nonce: printable ASCII without
 * blanks, 1..A0_DPOP_MAX_NONCE; access_token: not empty; now: not negative; k: not NULL. 0 and
 * the JWT in *ret (free with a0_secret_free when it has ath, free otherwise: a0_secret_free is
 * fine for both); A0_ERR_INVALID for an argument outside those bounds; A0_ERR_SYSTEM;
 * A0_ERR_NOMEM.
 */
int a0_dpop_proof(const struct a0_dpop_key *k, const char *htm, const char *htu, const char *nonce,
		  const char *access_token, time_t now, char **ret);

/* Is s a nonce a0_dpop_proof takes (what a DPoP-Nonce header may hand out to be kept)? */
bool a0_dpop_nonce_ok(const char *s);

#endif
