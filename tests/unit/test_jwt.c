/* SPDX-License-Identifier: MIT */
/*
 * The ID-token verifier against tokens forged here with OpenSSL: every way a token can be
 * wrong is refused with the check named, the good RS256/PS256/ES256 tokens are accepted; then
 * the JWKS cache (offline use, age limits, refetch limit, file and directory trust).
 */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lib/base64url.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/idtoken.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/assert.h"
#include "tests/common/fake.h"

#define ISSUER "https://tenant.example.com/"
#define CLIENT "pam-client"

enum sign { SIGN_NONE, SIGN_RS256, SIGN_PS256, SIGN_ES256, SIGN_HS256_PEM, SIGN_ES256_DER };

/* Keys made once for the whole run: RSA generation is slow under the sanitizers. */
static EVP_PKEY *rsa, *rsa_other, *ec, *rsa_small;
static time_t now;

/* ---- building tokens ---- */

static char *b64url(const unsigned char *data, size_t len)
{
	char *out = malloc(len / 3 * 4 + 8);
	int n;

	assert_non_null(out);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static char *b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

static char *public_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

static unsigned char *sign_data(enum sign how, EVP_PKEY *key, const char *data, size_t *len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig;
	size_t n = 0;

	if (how == SIGN_HS256_PEM) {
		char *pem = public_pem(key);
		unsigned maclen = 0;

		sig = malloc(EVP_MAX_MD_SIZE);
		HMAC(EVP_sha256(), pem, (int)strlen(pem), (const unsigned char *)data, strlen(data),
		     sig, &maclen);
		free(pem);
		EVP_MD_CTX_free(md);
		*len = maclen;
		return sig;
	}
	assert_int_equal(EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL), 1);
	if (how == SIGN_PS256) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	assert_int_equal(EVP_DigestSign(md, NULL, &n, (const unsigned char *)data, strlen(data)),
			 1);
	sig = malloc(n);
	assert_int_equal(EVP_DigestSign(md, sig, &n, (const unsigned char *)data, strlen(data)), 1);
	EVP_MD_CTX_free(md);
	if (how == SIGN_ES256) { /* DER to JOSE's r||s */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
		unsigned char *raw = malloc(64);

		assert_non_null(es);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		free(sig);
		sig = raw;
		n = 64;
	}
	*len = n;
	return sig;
}

/* header and payload are the exact JSON text (or any text) to encode. */
static char *token_raw(const char *header, const char *payload, enum sign how, EVP_PKEY *key)
{
	char *h = b64url_str(header), *p = b64url_str(payload), *input, *s = NULL, *out;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	if (how != SIGN_NONE) {
		sig = sign_data(how == SIGN_ES256_DER ? SIGN_RS256 : how, key, input, &siglen);
		s = b64url(sig, siglen);
	}
	assert_true(asprintf(&out, "%s.%s", input, s ? s : "") > 0);
	free(h);
	free(p);
	free(input);
	free(sig);
	free(s);
	return out;
}

/* The standard claims, with the members of extra (JSON members, no braces) added or
 * replacing the standard ones. */
static char *claims_json(const char *extra)
{
	char *text, *out;
	cJSON *claims, *more, *item;

	assert_true(asprintf(&text,
			     "{\"iss\":\"" ISSUER "\",\"sub\":\"auth0|6a01\",\"aud\":\"" CLIENT
			     "\",\"iat\":%lld,\"exp\":%lld,\"nickname\":\"alice\"}",
			     (long long)now, (long long)now + 36000) > 0);
	claims = cJSON_Parse(text);
	free(text);
	assert_true(asprintf(&text, "{%s}", extra ? extra : "") > 0);
	more = cJSON_Parse(text);
	free(text);
	assert_non_null(claims);
	assert_non_null(more);
	cJSON_ArrayForEach(item, more) {
		cJSON_DeleteItemFromObjectCaseSensitive(claims, item->string);
		cJSON_AddItemToObject(claims, item->string, cJSON_Duplicate(item, true));
	}
	out = cJSON_PrintUnformatted(claims);
	cJSON_Delete(claims);
	cJSON_Delete(more);
	return out;
}

/* A token over the standard claims changed by extra (see claims_json). */
static char *token(const char *alg, const char *kid, const char *extra, enum sign how,
		   EVP_PKEY *key)
{
	char header[256], *payload = claims_json(extra), *t;

	if (kid)
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
			 alg, kid);
	else
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	t = token_raw(header, payload, how, key);
	free(payload);
	return t;
}

static char *token_claims(const char *claims, enum sign how, EVP_PKEY *key)
{
	return token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", claims, how, key);
}

/* ---- building key sets ---- */

static char *bn_b64(EVP_PKEY *key, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1100];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	return b64url(buf, (size_t)n);
}

/* One JWK as JSON text; alg may be NULL (left out). */
static char *jwk_rsa(EVP_PKEY *key, const char *kid, const char *alg)
{
	char *n = bn_b64(key, OSSL_PKEY_PARAM_RSA_N, 0), *e = bn_b64(key, OSSL_PKEY_PARAM_RSA_E, 0);
	char *out;

	assert_true(asprintf(&out,
			     "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\","
			     "\"e\":\"%s\"%s%s%s}",
			     kid, n, e, alg ? ",\"alg\":\"" : "", alg ? alg : "",
			     alg ? "\"" : "") > 0);
	free(n);
	free(e);
	return out;
}

static char *jwk_ec(EVP_PKEY *key, const char *kid, const char *crv, bool break_y)
{
	char *x = bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	char *y = bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	char *out;

	if (break_y) /* another point, almost surely not on the curve */
		y[5] = y[5] == 'A' ? 'B' : 'A';
	assert_true(asprintf(&out,
			     "{\"kty\":\"EC\",\"use\":\"sig\",\"kid\":\"%s\",\"crv\":\"%s\","
			     "\"x\":\"%s\",\"y\":\"%s\"}",
			     kid, crv, x, y) > 0);
	free(x);
	free(y);
	return out;
}

/* The set every verification test uses. */
static char *standard_jwks(void)
{
	char *a = jwk_rsa(rsa, "rsa1", "RS256"), *b = jwk_rsa(rsa, "rsa-ps", "PS256");
	char *c = jwk_ec(ec, "ec1", "P-256", false), *d = jwk_rsa(rsa, "rsa-noalg", NULL);
	char *f = jwk_rsa(rsa_small, "rsa-small", NULL), *g = jwk_ec(ec, "ec-bad", "P-256", true);
	char *out;

	assert_true(asprintf(&out,
			     "{\"keys\":[%s,%s,%s,%s,%s,%s,"
			     "{\"kty\":\"oct\",\"kid\":\"oct1\",\"k\":\"c2VjcmV0\"},"
			     "{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"enc1\",\"n\":\"AQAB\","
			     "\"e\":\"AQAB\"},"
			     "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
			     a, b, c, d, f, g) > 0);
	free(a);
	free(b);
	free(c);
	free(d);
	free(f);
	free(g);
	return out;
}

static struct a0_jwks *standard_keys(void)
{
	char *text = standard_jwks();
	struct a0_jwks *keys = NULL;

	assert_a0(a0_jwks_parse(text, strlen(text), &keys), 0);
	free(text);
	return keys;
}

/* ---- checking ---- */

static int verify(const char *tok, char *reason, size_t reasonlen)
{
	struct a0_jwt_expect e = {
		.issuer = ISSUER, .client_id = CLIENT, .now = now, .leeway = 60
	};
	struct a0_jwks *keys = standard_keys();
	cJSON *claims = NULL;
	int r;

	reason[0] = '\0';
	r = a0_jwt_verify(tok, keys, &e, &claims, reason, reasonlen);
	if (r == 0) {
		assert_string_equal(a0_json_string(claims, "nickname"), "alice");
		a0_json_free(claims);
	} else {
		assert_null(claims);
		assert_true(reason[0] != '\0');
	}
	a0_jwks_free(keys);
	return r;
}

/* Refused with A0_ERR_TOKEN_INVALID and a reason containing check; frees tok. */
static void refused(char *tok, const char *check)
{
	char reason[256];

	assert_a0(verify(tok, reason, sizeof(reason)), A0_ERR_TOKEN_INVALID);
	if (!strstr(reason, check))
		fail_msg("expected '%s' in the reason '%s'", check, reason);
	free(tok);
}

static void accepted(char *tok)
{
	char reason[256];
	int r = verify(tok, reason, sizeof(reason));

	if (r != 0)
		fail_msg("refused (%s): %s", name_a0(r), reason);
	free(tok);
}

/* ---- base64url ---- */

static void decodes(const char *in, const char *want)
{
	unsigned char *out = NULL;
	size_t n = 0;

	assert_a0(a0_b64url_decode(in, strlen(in), &out, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], '\0');
	free(out);
}

/* in encodes to want, both ways of encoding, and decodes back. */
static void encodes(const char *in, size_t n, const char *want)
{
	char buf[64], *out = NULL;

	assert_int_equal(A0_B64URL_LEN(n), strlen(want));
	assert_int_equal(a0_b64url_encode_to(in, n, buf), strlen(want));
	assert_string_equal(buf, want);
	assert_a0(a0_b64url_encode(in, n, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_b64url_encode(void **state)
{
	unsigned char raw[48], *back = NULL;
	char out[A0_B64URL_LEN(sizeof(raw)) + 1];
	size_t n = 0;

	/* RFC 4648 §10, unpadded, and the two characters base64url changes. */
	encodes("", 0, "");
	encodes("f", 1, "Zg");
	encodes("fo", 2, "Zm8");
	encodes("foo", 3, "Zm9v");
	encodes("foob", 4, "Zm9vYg");
	encodes("fooba", 5, "Zm9vYmE");
	encodes("foobar", 6, "Zm9vYmFy");
	encodes("\xff\xef", 2, "_-8");
	encodes("\0\0\0", 3, "AAAA");
	/* Every length and every byte value round-trips through the strict decoder. */
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		assert_int_equal(a0_b64url_encode_to(raw, len, out), A0_B64URL_LEN(len));
		assert_a0(a0_b64url_decode(out, strlen(out), &back, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, raw, len);
		free(back);
	}
}

static void test_b64url(void **state)
{
	const char *bad[] = { "Zg==", "Z", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9v\n", "Zm 9", "é" };
	unsigned char *out = NULL;
	size_t n = 0;

	decodes("", "");
	decodes("Zg", "f");
	decodes("Zm8", "fo");
	decodes("Zm9v", "foo");
	decodes("_-8", "\xff\xef");
	/* "Zm9" leaves two set bits: another encoding of "fo", refused like any non-canonical
	 * one; "Zh" likewise for "f". */
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++)
		if (a0_b64url_decode(bad[i], strlen(bad[i]), &out, &n) != A0_ERR_MALFORMED)
			fail_msg("'%s' was decoded", bad[i]);
}

/* ---- the good tokens ---- */

static void test_good_tokens(void **state)
{
	accepted(token("RS256", "rsa1", NULL, SIGN_RS256, rsa));
	accepted(token("RS256", "rsa-noalg", NULL, SIGN_RS256, rsa));
	accepted(token("PS256", "rsa-ps", NULL, SIGN_PS256, rsa));
	accepted(token("PS256", "rsa-noalg", NULL, SIGN_PS256, rsa));
	accepted(token("ES256", "ec1", NULL, SIGN_ES256, ec));
	/* Several audiences are fine with azp naming us; so is azp alone. */
	accepted(token_claims("{\"iss\":\"" ISSUER "\",\"sub\":\"s\","
			      "\"aud\":[\"https://api/\",\"" CLIENT "\"],\"azp\":\"" CLIENT
			      "\",\"iat\":1,\"exp\":99999999999,"
			      "\"nickname\":\"alice\"}",
			      SIGN_RS256, rsa));
	accepted(token("RS256", "rsa1", "\"azp\":\"" CLIENT "\"", SIGN_RS256, rsa));
	accepted(token("RS256", "rsa1", "\"aud\":[\"" CLIENT "\"]", SIGN_RS256, rsa));
}

/* ---- the forged tokens of the issue ---- */

static void test_alg_none(void **state)
{
	refused(token("none", NULL, NULL, SIGN_NONE, NULL), "alg: none");
	refused(token("none", "rsa1", NULL, SIGN_NONE, NULL), "alg: none");
	refused(token("None", "rsa1", NULL, SIGN_NONE, NULL), "alg: none");
	/* A real signature does not make "none" acceptable. */
	refused(token("none", "rsa1", NULL, SIGN_RS256, rsa), "alg: none");
	refused(token_raw("{\"kid\":\"rsa1\"}", "{}", SIGN_RS256, rsa), "alg: missing");
}

static void test_hs256_with_public_key(void **state)
{
	refused(token("HS256", "rsa1", NULL, SIGN_HS256_PEM, rsa), "HMAC");
	refused(token("HS512", "rsa1", NULL, SIGN_HS256_PEM, rsa), "HMAC");
	refused(token("HS256", "oct1", NULL, SIGN_HS256_PEM, rsa), "HMAC");
}

static void test_other_key_right_kid(void **state)
{
	refused(token("RS256", "rsa1", NULL, SIGN_RS256, rsa_other), "signature");
	refused(token("PS256", "rsa-ps", NULL, SIGN_PS256, rsa_other), "signature");
	/* A signature over other bytes: the payload changed after signing. */
	char *good = token("RS256", "rsa1", NULL, SIGN_RS256, rsa);
	char *other = token("RS256", "rsa1", "\"nickname\":\"mallory\"", SIGN_RS256, rsa);
	char *dot = strrchr(good, '.'), *forged;

	assert_true(asprintf(&forged, "%.*s%s", (int)(strrchr(other, '.') - other), other, dot) >
		    0);
	refused(forged, "signature");
	free(good);
	free(other);
}

static void test_unknown_kid(void **state)
{
	char reason[256], *t;

	t = token("RS256", "no-such-kid", NULL, SIGN_RS256, rsa_other);
	assert_a0(verify(t, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	assert_non_null(strstr(reason, "no-such-kid"));
	free(t);
	t = token("RS256", NULL, NULL, SIGN_RS256, rsa);
	assert_a0(verify(t, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	assert_non_null(strstr(reason, "kid: missing"));
	free(t);
	/* A kid with control characters reaches syslog without them. */
	t = token("RS256", "bad\\nkid\\u001b", NULL, SIGN_RS256, rsa);
	assert_a0(verify(t, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	assert_null(strchr(reason, '\n'));
	assert_null(strchr(reason, '\x1b'));
	free(t);
}

static void test_wrong_iss(void **state)
{
	refused(token("RS256", "rsa1", "\"iss\":\"https://evil.example.com/\"", SIGN_RS256, rsa),
		"iss");
	refused(token("RS256", "rsa1", "\"iss\":\"https://tenant.example.com\"", SIGN_RS256, rsa),
		"iss");
	refused(token("RS256", "rsa1", "\"iss\":\"http://tenant.example.com/\"", SIGN_RS256, rsa),
		"iss");
	refused(token_claims("{\"sub\":\"s\",\"aud\":\"" CLIENT "\",\"iat\":1,\"exp\":99999999999}",
			     SIGN_RS256, rsa),
		"iss");
}

static void test_wrong_aud(void **state)
{
	refused(token("RS256", "rsa1", "\"aud\":\"some-other-client\"", SIGN_RS256, rsa), "aud");
	refused(token("RS256", "rsa1", "\"aud\":[\"a\",\"b\"]", SIGN_RS256, rsa), "aud");
	refused(token("RS256", "rsa1", "\"aud\":[]", SIGN_RS256, rsa), "aud");
	refused(token("RS256", "rsa1", "\"aud\":[\"" CLIENT "\",7]", SIGN_RS256, rsa), "aud");
	refused(token("RS256", "rsa1", "\"aud\":7", SIGN_RS256, rsa), "aud");
	refused(token("RS256", "rsa1", "\"aud\":\"pam-client-2\"", SIGN_RS256, rsa), "aud");
	/* Several audiences need azp = us; azp, when present, must be us. */
	refused(token("RS256", "rsa1", "\"aud\":[\"" CLIENT "\",\"x\"]", SIGN_RS256, rsa), "azp");
	refused(token("RS256", "rsa1", "\"aud\":[\"" CLIENT "\",\"x\"],\"azp\":\"x\"", SIGN_RS256,
		      rsa),
		"azp");
	refused(token("RS256", "rsa1", "\"azp\":\"other\"", SIGN_RS256, rsa), "azp");
}

static void test_times(void **state)
{
	char extra[128];

	snprintf(extra, sizeof(extra), "\"exp\":%lld", (long long)now - 3600);
	refused(token("RS256", "rsa1", extra, SIGN_RS256, rsa), "exp");
	/* clock_skew: 60 s late is still fine, 61 is not. */
	snprintf(extra, sizeof(extra), "\"exp\":%lld", (long long)now - 59);
	accepted(token("RS256", "rsa1", extra, SIGN_RS256, rsa));
	snprintf(extra, sizeof(extra), "\"exp\":%lld", (long long)now - 61);
	refused(token("RS256", "rsa1", extra, SIGN_RS256, rsa), "exp");
	snprintf(extra, sizeof(extra), "\"iat\":%lld", (long long)now + 3600);
	refused(token("RS256", "rsa1", extra, SIGN_RS256, rsa), "iat");
	snprintf(extra, sizeof(extra), "\"iat\":%lld", (long long)now + 59);
	accepted(token("RS256", "rsa1", extra, SIGN_RS256, rsa));
	snprintf(extra, sizeof(extra), "\"nbf\":%lld", (long long)now + 3600);
	refused(token("RS256", "rsa1", extra, SIGN_RS256, rsa), "nbf");
	snprintf(extra, sizeof(extra), "\"nbf\":%lld", (long long)now + 59);
	accepted(token("RS256", "rsa1", extra, SIGN_RS256, rsa));
	refused(token("RS256", "rsa1", "\"exp\":\"99999999999\"", SIGN_RS256, rsa), "exp");
	refused(token("RS256", "rsa1", "\"nbf\":null", SIGN_RS256, rsa), "nbf");
	refused(token("RS256", "rsa1", "\"exp\":1e300", SIGN_RS256, rsa), "exp");
	refused(token("RS256", "rsa1", "\"iat\":-5", SIGN_RS256, rsa), "iat");
	refused(token_claims("{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"aud\":\"" CLIENT
			     "\",\"iat\":1}",
			     SIGN_RS256, rsa),
		"exp");
	refused(token_claims("{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"aud\":\"" CLIENT
			     "\",\"exp\":99999999999}",
			     SIGN_RS256, rsa),
		"iat");
	refused(token_claims("{\"iss\":\"" ISSUER "\",\"aud\":\"" CLIENT
			     "\",\"iat\":1,\"exp\":99999999999}",
			     SIGN_RS256, rsa),
		"sub");
}

static void test_malformed(void **state)
{
	char *good = token("RS256", "rsa1", NULL, SIGN_RS256, rsa);
	size_t len = strlen(good);

	refused(strndup(good, len / 2), "malformed"); /* truncated: two parts */
	refused(strndup(good, len - 3), "signature"); /* truncated signature: three parts */
	refused(strdup("a.b.c.d"), "malformed");
	refused(strdup("a.b"), "malformed");
	refused(strdup(""), "malformed");
	refused(strdup(".."), "malformed");
	refused(strdup("e30.e30.e30.e30"), "malformed");
	/* Not base64url: padding, the other alphabet, whitespace. */
	char *copy = strdup(good);
	copy[3] = '+';
	refused(copy, "malformed");
	assert_true(asprintf(&copy, "%s=", good) > 0);
	refused(copy, "malformed");
	assert_true(asprintf(&copy, " %s", good) > 0);
	refused(copy, "malformed");
	free(good);
}

static void test_huge(void **state)
{
	size_t pad = 200 * 1024;
	char *x = malloc(pad + 1), *extra;

	memset(x, 'x', pad);
	x[pad] = '\0';
	assert_true(asprintf(&extra, "\"padding\":\"%s\"", x) > 0);
	free(x);
	refused(token("RS256", "rsa1", extra, SIGN_RS256, rsa), "longer than");
	free(extra);
}

static void test_not_json(void **state)
{
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "this payload is not JSON",
			  SIGN_RS256, rsa),
		"payload is not a JSON object");
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "[1,2]", SIGN_RS256, rsa),
		"payload is not a JSON object");
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"} x", "{}", SIGN_RS256, rsa),
		"header is not a JSON object");
	refused(token_raw("\"RS256\"", "{}", SIGN_RS256, rsa), "header is not a JSON object");
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
			  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
			  SIGN_RS256, rsa),
		"payload is not a JSON object");
}

static void test_duplicate_names(void **state)
{
	char *payload = claims_json(NULL), *forged;

	/* cJSON would read the first iss and another reader the last: refuse both readings. */
	payload[strlen(payload) - 1] = '\0';
	assert_true(asprintf(&forged, "%s,\"iss\":\"https://evil.example.com/\"}", payload) > 0);
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", forged, SIGN_RS256, rsa),
		"payload has a member name twice");
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"alg\":\"none\"}", "{}", SIGN_RS256,
			  rsa),
		"header has a member name twice");
	free(payload);
	free(forged);
}

static void test_alg_key_mismatch(void **state)
{
	refused(token("ES256", "rsa1", NULL, SIGN_ES256, ec), "does not match");
	refused(token("RS256", "ec1", NULL, SIGN_RS256, rsa), "does not match");
	refused(token("PS256", "ec1", NULL, SIGN_PS256, rsa), "does not match");
	/* The JWK's alg binds the key to one algorithm. */
	refused(token("PS256", "rsa1", NULL, SIGN_PS256, rsa), "does not match");
	refused(token("RS256", "rsa-ps", NULL, SIGN_RS256, rsa), "does not match");
	/* A PKCS#1 v1.5 signature is not a PSS one, and ES256 wants r||s, not DER. */
	refused(token("PS256", "rsa-noalg", NULL, SIGN_RS256, rsa), "signature");
	refused(token("ES256", "ec1", NULL, SIGN_ES256_DER, ec), "signature");
	refused(token("RS512", "rsa1", NULL, SIGN_RS256, rsa), "is not RS256");
	refused(token("ES384", "ec1", NULL, SIGN_ES256, ec), "is not RS256");
	refused(token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"]}", "{}",
			  SIGN_RS256, rsa),
		"crit");
}

static void test_unusable_keys(void **state)
{
	refused(token("RS256", "rsa-small", NULL, SIGN_RS256, rsa_small), "2048-8192");
	refused(token("ES256", "ec-bad", NULL, SIGN_ES256, ec), "not on P-256");
	refused(token("RS256", "oct1", NULL, SIGN_RS256, rsa), "not RSA or EC");
	refused(token("RS256", "enc1", NULL, SIGN_RS256, rsa), "not for signatures");
}

static void test_jwks_bounds(void **state)
{
	struct a0_jwks *keys = NULL;
	char *big, *a = jwk_rsa(rsa, "k", NULL);
	const char *bad[] = {
		"",
		"[]",
		"{}",
		"{\"keys\":{}}",
		"{\"keys\":[1]}",
		"{\"keys\":[{\"kid\":\"\"}]}",
		"{\"keys\":[]} x",
	};
	size_t off;

	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++)
		if (a0_jwks_parse(bad[i], strlen(bad[i]), &keys) != A0_ERR_MALFORMED)
			fail_msg("'%s' was accepted", bad[i]);
	assert_a0(a0_jwks_parse("{\"keys\":[]}", 11, &keys), 0);
	a0_jwks_free(keys);
	/* Two keys for one kid. */
	assert_true(asprintf(&big, "{\"keys\":[%s,%s]}", a, a) > 0);
	assert_a0(a0_jwks_parse(big, strlen(big), &keys), A0_ERR_MALFORMED);
	free(big);
	/* More keys than A0_JWKS_MAX_KEYS (distinct kids). */
	big = malloc(A0_JWKS_MAX_LEN * 2);
	off = (size_t)snprintf(big, A0_JWKS_MAX_LEN, "{\"keys\":[");
	for (int i = 0; i <= A0_JWKS_MAX_KEYS; i++)
		off += (size_t)snprintf(big + off, A0_JWKS_MAX_LEN - off,
					"%s{\"kty\":\"oct\",\"kid\":\"k%d\"}", i ? "," : "", i);
	snprintf(big + off, A0_JWKS_MAX_LEN - off, "]}");
	assert_a0(a0_jwks_parse(big, strlen(big), &keys), A0_ERR_MALFORMED);
	/* Longer than A0_JWKS_MAX_LEN. */
	memset(big, ' ', A0_JWKS_MAX_LEN + 1);
	memcpy(big, "{\"keys\":[]}", 11);
	assert_a0(a0_jwks_parse(big, A0_JWKS_MAX_LEN + 1, &keys), A0_ERR_MALFORMED);
	free(big);
	free(a);
}

/* ---- the cache ---- */

struct cache_fixture {
	char dir[64];   /* 0700, ours */
	char cache[96]; /* cache_dir inside it */
	char file[256];
	char domain[64]; /* a closed port: no network */
	struct a0_http *http;
	struct a0_id_token_check check;
};

static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

static int cache_setup(void **state)
{
	struct cache_fixture *fx = calloc(1, sizeof(*fx));
	struct a0_http_options opt = { .timeout = 2 };

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/a0-jwt-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->cache, sizeof(fx->cache), "%s/cache", fx->dir);
	snprintf(fx->domain, sizeof(fx->domain), "localhost:%d", closed_port());
	snprintf(fx->file, sizeof(fx->file), "%s/" A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_CACHE_SUFFIX,
		 fx->cache, fx->domain);
	opt.domain = fx->domain;
	assert_a0(a0_http_new(&opt, &fx->http), 0);
	fx->check = (struct a0_id_token_check){ .domain = fx->domain,
						.client_id = CLIENT,
						.cache_dir = fx->cache,
						.jwks_ttl = 3600,
						.leeway = 60 };
	*state = fx;
	return 0;
}

static int cache_teardown(void **state)
{
	struct cache_fixture *fx = *state;
	char cmd[128];

	a0_http_free(fx->http);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Put the standard key set in the cache, written age seconds ago, with mode. */
static void seed_cache(struct cache_fixture *fx, time_t age, mode_t mode)
{
	struct utimbuf t = { .actime = now - age, .modtime = now - age };
	char *text = standard_jwks();
	FILE *f;

	mkdir(fx->cache, 0700);
	f = fopen(fx->file, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(fx->file, mode), 0);
	assert_int_equal(utime(fx->file, &t), 0);
	free(text);
}

/* A token from this fixture's issuer. */
static char *cache_token(struct cache_fixture *fx, const char *kid, EVP_PKEY *key)
{
	char claims[512];

	snprintf(claims, sizeof(claims),
		 "{\"iss\":\"https://%s/\",\"sub\":\"s\",\"aud\":\"" CLIENT "\",\"iat\":%lld,"
		 "\"exp\":%lld}",
		 fx->domain, (long long)now, (long long)now + 600);
	char header[128];
	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	return token_raw(header, claims, SIGN_RS256, key);
}

static int cache_verify(struct cache_fixture *fx, const char *kid, EVP_PKEY *key, char *reason,
			size_t reasonlen)
{
	char *t = cache_token(fx, kid, key);
	cJSON *claims = NULL;
	int r;

	reason[0] = '\0';
	r = a0_id_token_verify(fx->http, &fx->check, t, now, &claims, reason, reasonlen);
	a0_json_free(claims);
	free(t);
	return r;
}

static void test_cache_offline(void **state)
{
	struct cache_fixture *fx = *state;
	char reason[256];

	/* No network and a fresh cache: verification works, from the file alone. */
	seed_cache(fx, 10, 0644);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa_other, reason, sizeof(reason)),
		  A0_ERR_TOKEN_INVALID);
	/* Keys that lack the kid (the tenant rotated its key) are refetched at once, however
	 * young: here the fetch meets the dead network. */
	assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), 0);
}

static void test_refetch_limit(void **state)
{
	struct cache_fixture *fx = *state;
	time_t start = now;
	char reason[256], log[256];
	struct stat st;

	seed_cache(fx, 10, 0644);
	/* Every fetch counts, a failed one too: A0_JWKS_FETCH_LIMIT a minute, then the kid is
	 * refused without asking the tenant. */
	for (int i = 0; i < A0_JWKS_FETCH_LIMIT; i++)
		assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	if (!strstr(reason, "not refetched"))
		fail_msg("reason: '%s'", reason);
	/* The keys the cache has still verify. */
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), 0);
	/* The log is the cache owner's alone: whoever could open it could hold the lock. */
	snprintf(log, sizeof(log), "%s/" A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_LOG_SUFFIX, fx->cache,
		 fx->domain);
	assert_int_equal(lstat(log, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* A window later the tenant is asked again, up to the limit. */
	now = start + A0_JWKS_FETCH_WINDOW;
	for (int i = 0; i < A0_JWKS_FETCH_LIMIT; i++)
		assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	/* A clock that went back a little keeps the limit (processes read it at different
	 * moments)... */
	now = start + A0_JWKS_FETCH_WINDOW - 1;
	assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	/* ...one that went back more than a window ignores times so far ahead. */
	now = start - 1;
	assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	now = start;
}

static void test_cache_stale_or_untrusted(void **state)
{
	struct cache_fixture *fx = *state;
	char reason[256];

	/* Past jwks_ttl the cache is not used, even without a network: fail closed. */
	seed_cache(fx, 3600, 0644);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	seed_cache(fx, 3599, 0644);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), 0);
	/* A clock that went back: an mtime in the future is not fresh. */
	seed_cache(fx, -120, 0644);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	/* A file others may write is not trusted. */
	seed_cache(fx, 10, 0666);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	seed_cache(fx, 10, 0620);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	/* Nor a symlink to a good file. */
	char elsewhere[160];
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere.json", fx->dir);
	seed_cache(fx, 10, 0644);
	assert_int_equal(rename(fx->file, elsewhere), 0);
	assert_int_equal(symlink(elsewhere, fx->file), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	/* Garbage in the cache is refetched, not an error of its own. */
	unlink(fx->file);
	FILE *f = fopen(fx->file, "w");
	fputs("{\"keys\":", f);
	fclose(f);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
}

static void test_cache_dir_trust(void **state)
{
	struct cache_fixture *fx = *state;
	char reason[256], target[128];
	struct stat st;

	/* Created 0700 when missing (the parent exists). */
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	assert_int_equal(stat(fx->cache, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Writable by others: a configuration error, whatever it holds. */
	seed_cache(fx, 10, 0644);
	assert_int_equal(chmod(fx->cache, 0777), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "cache_dir"));
	assert_int_equal(chmod(fx->cache, 0775), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_CONFIG);
	/* 0755 (made by an administrator) is fine. */
	assert_int_equal(chmod(fx->cache, 0755), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), 0);
	/* A symlink is refused, not followed. */
	snprintf(target, sizeof(target), "%s/real", fx->dir);
	assert_int_equal(rename(fx->cache, target), 0);
	assert_int_equal(symlink(target, fx->cache), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_CONFIG);
	/* A missing parent is a configuration error too. */
	snprintf(target, sizeof(target), "%s/no/such/dir", fx->dir);
	fx->check.cache_dir = target;
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_CONFIG);
	/* Without a cache every verification fetches. */
	fx->check.cache_dir = NULL;
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
}

/* Against the fake tenant: a fetch writes the cache 0644 atomically, and a fresh cache is not
 * refetched. */
static void test_cache_fetch_and_write(void **state)
{
	struct cache_fixture *fx = *state;
	struct a0_http_options opt = { .timeout = 5 };
	struct fake fake;
	char reason[256], domain[64], file[256];
	struct stat st;
	cJSON *stats;

	fake_init(&fake);
	fake_control(&fake, "POST", "/__control/reset", "{}");
	snprintf(domain, sizeof(domain), "localhost:%d", fake.port);
	opt.domain = domain;
	opt.ca_file = fake.ca;
	a0_http_free(fx->http);
	assert_a0(a0_http_new(&opt, &fx->http), 0);
	snprintf(fx->domain, sizeof(fx->domain), "%s", domain);
	fx->check.domain = fx->domain;
	snprintf(file, sizeof(file), "%s/" A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_CACHE_SUFFIX,
		 fx->cache, domain);

	/* Our key is not the tenant's: UNKNOWN_KID, after exactly one fetch (no refetch: the
	 * keys were just fetched). */
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), 1);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, geteuid());
	now = time(NULL); /* the file was written after the fixture's clock */
	/* Cached keys that lack the kid: one refetch. */
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	stats = fake_get(&fake, "/__control/stats");
	assert_int_equal(cJSON_GetObjectItem(stats, "jwks_fetches")->valueint, 2);
	cJSON_Delete(stats);
	/* No temporary files are left behind: the keys and the fetch log. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", fx->cache);
	assert_int_equal(system(cmd), 0);
	/* A 500 from the JWKS endpoint is a server error, and the cache is not replaced. */
	struct utimbuf old = { .actime = now - 100, .modtime = now - 100 };
	assert_int_equal(utime(file, &old), 0);
	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/.well-known/jwks.json\",\"kind\":\"status\",\"status\":500}");
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_SERVER);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mtime, now - 100);
	fake_control(&fake, "DELETE", "/__control/fault", NULL);
}

/* A fetch that hangs in another process holds a verification A0_JWKS_LOCK_WAIT seconds. */
static void test_refetch_wait_bounded(void **state)
{
	struct cache_fixture *fx = *state;
	char reason[256], log[256];
	time_t t0;
	int fd;

	seed_cache(fx, 10, 0644);
	snprintf(log, sizeof(log), "%s/" A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_LOG_SUFFIX, fx->cache,
		 fx->domain);
	fd = open(log, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	/* Cached keys that lack the kid: not refetched while the other fetch runs... */
	t0 = time(NULL);
	assert_a0(cache_verify(fx, "rotated", rsa, reason, sizeof(reason)), A0_ERR_UNKNOWN_KID);
	assert_non_null(strstr(reason, "not refetched"));
	assert_true(time(NULL) - t0 >= A0_JWKS_LOCK_WAIT - 1);
	assert_true(time(NULL) - t0 <= A0_JWKS_LOCK_WAIT + 2);
	/* ...but missing keys are fetched all the same (here: the dead network). */
	assert_int_equal(unlink(fx->file), 0);
	assert_a0(cache_verify(fx, "rsa1", rsa, reason, sizeof(reason)), A0_ERR_NETWORK);
	close(fd);
}

/* Processes that meet an unknown kid together fetch A0_JWKS_FETCH_LIMIT times in all. */
static void test_refetch_limit_across_processes(void **state)
{
	struct cache_fixture *fx = *state;
	struct fake fake;
	enum { N = 3 * A0_JWKS_FETCH_LIMIT };
	pid_t pids[N];
	int status;

	fake_init(&fake);
	fake_control(&fake, "POST", "/__control/reset", "{}");
	snprintf(fx->domain, sizeof(fx->domain), "localhost:%d", fake.port);
	fx->check.domain = fx->domain;
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct a0_http_options opt = { .domain = fx->domain,
						       .ca_file = fake.ca,
						       .timeout = 10 };
			char reason[256], *t;
			cJSON *claims = NULL;
			int r;

			fx->http = NULL;
			if (a0_http_new(&opt, &fx->http) < 0)
				_exit(2);
			/* Our key is not the tenant's: no fetch can find its kid. */
			t = cache_token(fx, "rsa1", rsa);
			/* The clock read just before the call, as the module does. */
			r = a0_id_token_verify(fx->http, &fx->check, t, time(NULL), &claims, reason,
					       sizeof(reason));
			_exit(r == A0_ERR_UNKNOWN_KID ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(fake_stat(&fake, "jwks_fetches"), A0_JWKS_FETCH_LIMIT);
}

static int group_setup(void **state)
{
	now = time(NULL);
	rsa = EVP_RSA_gen(2048);
	rsa_other = EVP_RSA_gen(2048);
	rsa_small = EVP_RSA_gen(1024);
	ec = EVP_EC_gen("P-256");
	return rsa && rsa_other && rsa_small && ec ? 0 : -1;
}

static int group_teardown(void **state)
{
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(rsa_small);
	EVP_PKEY_free(ec);
	return 0;
}

/* a0_json_jwt_claims: the payload of a compact JWS as it says, unverified; anything else
 * malformed. */
static void test_unverified_claims(void **state)
{
	static const char *const bad[] = {
		"",
		"abc",
		"a.b",
		"a.b.c.d",
		"x.!!!.y",
		"x.bm90IGpzb24.y" /* "not json" */,
		"x.WzFd.y" /* "[1]" */,
	};
	cJSON *claims = NULL;

	assert_int_equal(a0_json_jwt_claims(NULL, &claims), A0_ERR_MALFORMED);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(a0_json_jwt_claims(bad[i], &claims), A0_ERR_MALFORMED);
	/* {"sub":"auth0|1","cnf":{"jkt":"K"}} */
	assert_int_equal(a0_json_jwt_claims("h.eyJzdWIiOiJhdXRoMHwxIiwiY25mIjp7ImprdCI6IksifX0.s",
					    &claims),
			 0);
	assert_string_equal(a0_json_string(claims, "sub"), "auth0|1");
	assert_string_equal(a0_json_string(cJSON_GetObjectItem(claims, "cnf"), "jkt"), "K");
	a0_json_free(claims);
}

int main(void)
{
#define C(name) cmocka_unit_test_setup_teardown(name, cache_setup, cache_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unverified_claims),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_b64url_encode),
		cmocka_unit_test(test_good_tokens),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_with_public_key),
		cmocka_unit_test(test_other_key_right_kid),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_wrong_iss),
		cmocka_unit_test(test_wrong_aud),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_alg_key_mismatch),
		cmocka_unit_test(test_unusable_keys),
		cmocka_unit_test(test_jwks_bounds),
		C(test_cache_offline),
		C(test_refetch_limit),
		C(test_refetch_wait_bounded),
		C(test_cache_stale_or_untrusted),
		C(test_cache_dir_trust),
		C(test_cache_fetch_and_write),
		C(test_refetch_limit_across_processes),
	};
#undef C
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
