/* SPDX-License-Identifier: MIT */
#ifndef A0_JWT_H
#define A0_JWT_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

/* a0_b64url_decode, which JWS parts are read with, was declared here first. */
#include "lib/base64url.h"

/*
 * ID-token verification with OpenSSL alone: JWS compact serialization, a JWKS of RSA and
 * EC P-256 keys, RS256/PS256/ES256, and the OpenID Connect claim checks.
 */

/* Longest token accepted; Auth0's ID tokens are 1-2 KiB even with custom claims. */
#define A0_JWT_MAX_LEN (16 * 1024)
/* Largest key set accepted; Auth0's holds 2-3 keys in about 3 KiB. */
#define A0_JWKS_MAX_LEN (64 * 1024)
#define A0_JWKS_MAX_KEYS 16
#define A0_JWK_MAX_KID 128
#define A0_RSA_MIN_BITS 2048
#define A0_RSA_MAX_BITS 8192

/* Text from a token made fit for syslog: printable ASCII, at most A0_SHOW_MAX bytes. */
#define A0_SHOW_MAX 64
const char *a0_show(const char *s, char buf[A0_SHOW_MAX + 1]);

struct a0_jwks;

/*
 * Parse a JWKS document of at most A0_JWKS_MAX_LEN bytes and A0_JWKS_MAX_KEYS keys. Keys
 * without a kid are dropped; keys we cannot use (another kty or curve, an RSA size outside
 * A0_RSA_MIN_BITS..A0_RSA_MAX_BITS, use other than sig) are kept by kid so that a token
 * naming one fails with the reason. 0, A0_ERR_MALFORMED (also for a duplicate kid) or
 * A0_ERR_NOMEM.
 */
int a0_jwks_parse(const char *text, size_t len, struct a0_jwks **ret);
void a0_jwks_free(struct a0_jwks *keys);
/* How many keys the set holds (with a kid), and how many of them a token could be verified
 * with (ret_usable may be NULL). */
size_t a0_jwks_count(const struct a0_jwks *keys, size_t *ret_usable);

/* What a token must say to be accepted. */
struct a0_jwt_expect {
	const char *issuer;    /* exactly, e.g. "https://tenant.auth0.com/" */
	const char *client_id; /* in aud; equal to azp when azp is present or aud has several */
	time_t now;
	unsigned leeway; /* seconds of clock skew allowed for exp, iat and nbf */
};

/*
 * Verify a compact JWS ID token against keys: 0 and the claims (free with a0_json_free);
 * A0_ERR_UNKNOWN_KID when the header has no kid or keys has no such key (the caller may
 * refetch the JWKS); A0_ERR_TOKEN_INVALID for every other failed check, with a short reason
 * naming the check in reason (never any part of the token but the kid and iss); A0_ERR_NOMEM.
 */
int a0_jwt_verify(const char *token, const struct a0_jwks *keys, const struct a0_jwt_expect *expect,
		  cJSON **ret_claims, char *reason, size_t reasonlen);

#endif
