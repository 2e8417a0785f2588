/* SPDX-License-Identifier: MIT */
#ifndef A0_BASE64URL_H
#define A0_BASE64URL_H

/*
 * base64url without padding (RFC 7515 §2, RFC 4648 §5): the encoding of JWS parts and JWK
 * members. libc alone (the network-free base): the JWS verifier (jwt.h), the client assertions
 * (assertion.h) and DPoP (dpop.h) share it.
 */

#include <stddef.h>

/* Characters of the encoding of n bytes (no padding, no NUL). */
#define A0_B64URL_LEN(n) (((n)*4 + 2) / 3)

/* Encode n bytes into out, which has room for A0_B64URL_LEN(n) + 1: the length, NUL written. */
size_t a0_b64url_encode_to(const void *in, size_t n, char *out);

/*
 * The same into new memory: 0 and a NUL-terminated *ret (free; a0_secret_free when in was a
 * secret), A0_ERR_NOMEM.
 */
int a0_b64url_encode(const void *in, size_t n, char **ret);

/*
 * Decode strict base64url (RFC 7515: no padding, no other characters, unused bits zero):
 * 0 and a NUL-terminated buffer (free with a0_wipe_free(buf, len + 1)), A0_ERR_MALFORMED or
 * A0_ERR_NOMEM.
 */
int a0_b64url_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len);

#endif
