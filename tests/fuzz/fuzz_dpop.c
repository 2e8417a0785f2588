/* SPDX-License-Identifier: MIT */
/*
 * DPoP (lib/dpop.h). The first byte's low bit chooses what the rest is:
 *   0: a private JWK as a keyring record holds it, for a0_dpop_key_import. A key that reads
 *      exports to at most A0_DPOP_MAX_KEY_TEXT bytes, which read back to the same thumbprint
 *      and the same text, and it signs.
 *   1: htm NUL htu NUL nonce NUL access token, for a0_dpop_proof with the fuzzers' key (bit 1
 *      of the first byte: the nonce is given; bit 2: the token is given; a missing field is
 *      NULL). A proof made has the key's header, htu as given up to its query or fragment, the
 *      nonce as given and ath when a token was; a refused one is A0_ERR_INVALID, and a nonce
 *      a0_dpop_nonce_ok refuses is refused.
 */
#include "config.h"

#include <strings.h>

#include "lib/base64url.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1700000000
#define SIG_CHARS A0_B64URL_LEN(64)

/* fuzz_ec_pem's key (tests/fuzz/fuzz_keys.h) as a private JWK; make-seeds.py writes the same. */
static const char fuzz_dpop_jwk[] =
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"ZuQ4jpjHaiqMIA8G7FdWXVKE3XphhEwnhqBHkFkPB4I\","
	"\"y\":\"xk21ZYlI7hIV-SuxPWC0cVoyJdjVn4UQkT8tqzTUorM\","
	"\"d\":\"IqEhb_XIE-oJvLJ6lDq5UugpqiQDZdVMEb5PRZgxL84\"}";

static struct a0_dpop_key *key;
static char *header; /* the key's proofs' first part, with its dot */

static void check_import(const uint8_t *data, size_t size)
{
	struct a0_dpop_key *k = NULL, *again = NULL;
	char a[A0_DPOP_JKT_LEN + 1], b[A0_DPOP_JKT_LEN + 1], *text = NULL, *text2 = NULL,
							     *jwt = NULL;
	int r;

	/* Exactly size bytes, not NUL-terminated: a key's payload is not. */
	r = a0_dpop_key_import((const char *)data, size, &k);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_NOMEM);
		FUZZ_CHECK(k == NULL);
		return;
	}
	FUZZ_CHECK(k && size <= A0_DPOP_MAX_KEY_TEXT);
	r = a0_dpop_key_export(k, &text);
	FUZZ_CHECK(r == 0 || r == A0_ERR_NOMEM);
	if (r == 0) {
		FUZZ_CHECK(strlen(text) <= A0_DPOP_MAX_KEY_TEXT);
		r = a0_dpop_key_import(text, strlen(text), &again);
		FUZZ_CHECK(r == 0 || r == A0_ERR_NOMEM);
	}
	if (r == 0) {
		FUZZ_CHECK(a0_dpop_thumbprint(k, a) == 0 && a0_dpop_thumbprint(again, b) == 0);
		FUZZ_CHECK(strcmp(a, b) == 0 && strlen(a) == A0_DPOP_JKT_LEN);
		r = a0_dpop_key_export(again, &text2);
		FUZZ_CHECK(r == A0_ERR_NOMEM || (r == 0 && strcmp(text, text2) == 0));
	}
	r = a0_dpop_proof(k, "POST", "https://tenant.example.com/oauth/token", NULL, NULL, NOW,
			  &jwt);
	FUZZ_CHECK(r == 0 || r == A0_ERR_NOMEM);
	a0_secret_free(jwt);
	a0_secret_free(text2);
	a0_secret_free(text);
	a0_dpop_key_free(again);
	a0_dpop_key_free(k);
}

/* The claims of a proof made here, checked against what it was made of. */
static void check_claims(const char *jwt, const char *htm, const char *htu, const char *nonce,
			 const char *token)
{
	const char *dot = strchr(jwt, '.'), *dot2 = dot ? strchr(dot + 1, '.') : NULL;
	unsigned char *text = NULL;
	size_t len = 0, n = strcspn(htu, "?#");
	const char *got;
	cJSON *claims = NULL;

	FUZZ_CHECK(dot2 && strncmp(jwt, header, strlen(header)) == 0);
	FUZZ_CHECK(strlen(dot2 + 1) == SIG_CHARS);
	FUZZ_CHECK(a0_b64url_decode(dot + 1, (size_t)(dot2 - dot - 1), &text, &len) == 0);
	FUZZ_CHECK(a0_json_parse((const char *)text, len, &claims) == 0);
	got = a0_json_string(claims, "htm");
	FUZZ_CHECK(got && strcmp(got, htm) == 0);
	got = a0_json_string(claims, "htu");
	FUZZ_CHECK(got && strlen(got) == n && strncmp(got, htu, n) == 0 && n <= A0_DPOP_MAX_HTU);
	FUZZ_CHECK(strncasecmp(got, "https://", 8) == 0 || strncasecmp(got, "http://", 7) == 0);
	FUZZ_CHECK(a0_text_ok(got, n, A0_TEXT_TOKEN));
	got = a0_json_string(claims, "nonce");
	FUZZ_CHECK(nonce ? got && strcmp(got, nonce) == 0 : !got);
	got = a0_json_string(claims, "ath");
	FUZZ_CHECK(token ? got && strlen(got) == A0_DPOP_JKT_LEN : !got);
	FUZZ_CHECK(a0_json_string(claims, "jti"));
	a0_json_free(claims);
	a0_wipe_free(text, len + 1);
}

static void check_proof(uint8_t flags, const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *p = s, *end = s + size, *jwt = NULL;
	const char *field[4] = { NULL, NULL, NULL, NULL };
	const char *nonce, *token;
	int r;

	for (size_t i = 0; i < A0_ARRAY_SIZE(field); i++) {
		field[i] = p;
		p += strlen(p);
		if (p == end)
			break;
		p++;
	}
	nonce = flags & 2 ? field[2] : NULL;
	token = flags & 4 ? field[3] : NULL;
	r = a0_dpop_proof(key, field[0], field[1], nonce, token, NOW, &jwt);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_INVALID || r == A0_ERR_NOMEM);
	} else {
		FUZZ_CHECK(jwt && field[0] && field[1]);
		FUZZ_CHECK(!nonce || a0_dpop_nonce_ok(nonce));
		FUZZ_CHECK(!token || *token);
		check_claims(jwt, field[0], field[1], nonce, token);
	}
	if (nonce && !a0_dpop_nonce_ok(nonce))
		FUZZ_CHECK(r == A0_ERR_INVALID);
	a0_secret_free(jwt);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!key) {
		char *jwt = NULL;

		if (a0_dpop_key_import(fuzz_dpop_jwk, strlen(fuzz_dpop_jwk), &key) != 0 ||
		    a0_dpop_proof(key, "GET", "https://h/", NULL, NULL, NOW, &jwt) != 0)
			abort();
		header = strndup(jwt, (size_t)(strchr(jwt, '.') - jwt) + 1);
		free(jwt);
		if (!header)
			abort();
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		check_proof(data[0], data + 1, size - 1);
	else
		check_import(data + 1, size - 1);
	return 0;
}
