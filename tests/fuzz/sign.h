/* SPDX-License-Identifier: MIT */
#ifndef A0_FUZZ_SIGN_H
#define A0_FUZZ_SIGN_H

#include <stddef.h>

/* How the JWT fuzzers sign: with the private keys of fuzz_keys.h. */
enum fuzz_alg { FUZZ_RS256, FUZZ_PS256, FUZZ_ES256, FUZZ_N_ALGS };

/*
 * A compact JWS of header and payload (any bytes: they are base64url-encoded here) signed
 * with alg; a NUL-terminated string the caller frees, or NULL. Aborts when the keys do not load.
 */
char *fuzz_sign(enum fuzz_alg alg, const void *header, size_t header_len, const void *payload,
		size_t payload_len);

#endif
