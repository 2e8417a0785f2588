/* SPDX-License-Identifier: MIT */
/*
 * DPoP keys and proofs (lib/dpop.h) against RFC 9449's vectors and OpenSSL itself: every proof
 * is taken apart here and its signature verified with the public key of its own header, built
 * with OpenSSL from the jwk members; the private JWK's reader refuses every other shape. Links
 * lib/libauth0dpop.la and the base alone: no libcurl.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "lib/base64url.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/assert.h"

#define NOW 1700000000
#define URL "https://tenant.example.com/oauth/token"

/* RFC 9449 §4.1 (the proof's public key) and §6.1 (its thumbprint, cnf.jkt). */
#define RFC_X "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"
#define RFC_Y "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
#define RFC_JKT "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
/* RFC 9449 §7.1: an access token and its ath. */
#define RFC_TOKEN "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
#define RFC_ATH "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"

/* P-256's group order n, base64url: a scalar d must be below it. */
#define ORDER_N "_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE"

/* ---- taking a proof apart ---- */

/* Decode base64url text of exactly n characters; the buffer is NUL-terminated. */
static unsigned char *unb64(const char *s, size_t n, size_t *len)
{
	unsigned char *out = NULL;

	assert_a0(a0_b64url_decode(s, n, &out, len), 0);
	return out;
}

static cJSON *json_part(const char *s, size_t n)
{
	size_t len = 0;
	unsigned char *text = unb64(s, n, &len);
	cJSON *j = cJSON_ParseWithLength((const char *)text, len);

	assert_non_null(j);
	free(text);
	return j;
}

/* The names of an object's members in order, comma-separated, into buf. */
static const char *members(const cJSON *o, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const cJSON *m = o->child; m; m = m->next)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", m->string);
	assert_true(n < size);
	return buf;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

/* A P-256 public key from its JWK members, with OpenSSL alone. */
static EVP_PKEY *public_key(const char *x64, const char *y64)
{
	unsigned char pub[65], *x, *y;
	size_t xl = 0, yl = 0;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM *params;
	EVP_PKEY *pkey = NULL;

	x = unb64(x64, strlen(x64), &xl);
	y = unb64(y64, strlen(y64), &yl);
	assert_int_equal(xl, 32);
	assert_int_equal(yl, 32);
	pub[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
							 "prime256v1", 0),
			 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65),
			 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	free(x);
	free(y);
	return pkey;
}

/* Does the raw r||s sig verify over data with pkey (rebuilt as DER for OpenSSL)? */
static bool es256_ok(EVP_PKEY *pkey, const char *data, size_t len, const unsigned char *sig)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int derlen, ok;

	assert_true(es && r && s && md);
	assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 0);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
	ok = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)data, len);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok == 1;
}

struct proof {
	cJSON *header, *claims;
	unsigned char sig[64];
	bool verified; /* with the key of its own jwk */
};

/* Split a compact JWS of three parts, decode them, verify it with its header's jwk. */
static void open_proof(const char *jwt, struct proof *p)
{
	const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	const cJSON *jwk;
	unsigned char *sig;
	size_t siglen = 0;
	EVP_PKEY *pub;

	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	p->header = json_part(jwt, (size_t)(dot1 - jwt));
	p->claims = json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	sig = unb64(dot2 + 1, strlen(dot2 + 1), &siglen);
	assert_int_equal(siglen, 64); /* raw r||s, not DER */
	memcpy(p->sig, sig, 64);
	free(sig);
	jwk = cJSON_GetObjectItemCaseSensitive(p->header, "jwk");
	assert_true(cJSON_IsObject(jwk));
	pub = public_key(str(jwk, "x"), str(jwk, "y"));
	p->verified = es256_ok(pub, jwt, (size_t)(dot2 - jwt), p->sig);
	EVP_PKEY_free(pub);
}

static void close_proof(struct proof *p)
{
	cJSON_Delete(p->header);
	cJSON_Delete(p->claims);
}

static char *proof(const struct a0_dpop_key *k, const char *htm, const char *htu, const char *nonce,
		   const char *token)
{
	char *jwt = NULL;

	assert_a0(a0_dpop_proof(k, htm, htu, nonce, token, NOW, &jwt), 0);
	assert_non_null(jwt);
	return jwt;
}

/* The 43-character coordinate name of the JWK j into out. */
static void coordinate(const cJSON *j, const char *name, char out[44])
{
	const char *v = str(j, name);

	snprintf(out, 44, "%s", v ? v : "");
	assert_int_equal(strlen(out), 43);
}

/* x and y of an exported private JWK, as a public key's members. */
static void public_members(const struct a0_dpop_key *k, char x[44], char y[44])
{
	char *text = NULL;
	cJSON *j;

	assert_a0(a0_dpop_key_export(k, &text), 0);
	j = cJSON_Parse(text);
	assert_non_null(j);
	coordinate(j, "x", x);
	coordinate(j, "y", y);
	cJSON_Delete(j);
	a0_secret_free(text);
}

/* ---- thumbprints ---- */

static void test_rfc_thumbprint(void **state)
{
	char jkt[A0_DPOP_JKT_LEN + 1];
	const char *bad[] = {
		"",
		RFC_X "A",
		"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBF",  /* 44, 42 */
		"l8tFrhx+34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", /* not base64url */
		"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFt", /* unused bits set */
	};

	assert_a0(a0_dpop_jwk_thumbprint(RFC_X, RFC_Y, jkt), 0);
	assert_string_equal(jkt, RFC_JKT);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++) {
		assert_a0(a0_dpop_jwk_thumbprint(bad[i], RFC_Y, jkt), A0_ERR_INVALID);
		assert_a0(a0_dpop_jwk_thumbprint(RFC_X, bad[i], jkt), A0_ERR_INVALID);
	}
	assert_a0(a0_dpop_jwk_thumbprint(NULL, RFC_Y, jkt), A0_ERR_INVALID);
	assert_a0(a0_dpop_thumbprint(NULL, jkt), A0_ERR_INVALID);
}

/* A key's thumbprint is SHA-256 over RFC 7638's form of its exported x and y, computed here. */
static void test_key_thumbprint(void **state)
{
	struct a0_dpop_key *k = NULL;
	char x[44], y[44], canon[160], want[A0_DPOP_JKT_LEN + 1], jkt[A0_DPOP_JKT_LEN + 1];
	unsigned char digest[SHA256_DIGEST_LENGTH];

	assert_a0(a0_dpop_key_new(&k), 0);
	public_members(k, x, y);
	snprintf(canon, sizeof(canon),
		 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	SHA256((const unsigned char *)canon, strlen(canon), digest);
	a0_b64url_encode_to(digest, sizeof(digest), want);
	assert_a0(a0_dpop_thumbprint(k, jkt), 0);
	assert_int_equal(strlen(jkt), A0_DPOP_JKT_LEN);
	assert_string_equal(jkt, want);
	a0_dpop_key_free(k);
}

/* ---- proofs ---- */

static void test_proof_verifies(void **state)
{
	struct a0_dpop_key *k = NULL;
	char names[128], x[44], y[44], jkt[A0_DPOP_JKT_LEN + 1], hjkt[A0_DPOP_JKT_LEN + 1];
	const cJSON *jwk, *iat;
	struct proof p = { 0 };
	char *jwt;

	assert_a0(a0_dpop_key_new(&k), 0);
	jwt = proof(k, "POST", URL, NULL, NULL);
	open_proof(jwt, &p);
	assert_true(p.verified);

	assert_string_equal(members(p.header, names, sizeof(names)), "typ,alg,jwk");
	assert_string_equal(str(p.header, "typ"), "dpop+jwt");
	assert_string_equal(str(p.header, "alg"), "ES256");
	jwk = cJSON_GetObjectItemCaseSensitive(p.header, "jwk");
	/* The public members alone: never d. */
	assert_string_equal(members(jwk, names, sizeof(names)), "kty,crv,x,y");
	assert_string_equal(str(jwk, "kty"), "EC");
	assert_string_equal(str(jwk, "crv"), "P-256");
	public_members(k, x, y);
	assert_string_equal(str(jwk, "x"), x);
	assert_string_equal(str(jwk, "y"), y);
	assert_a0(a0_dpop_jwk_thumbprint(str(jwk, "x"), str(jwk, "y"), hjkt), 0);
	assert_a0(a0_dpop_thumbprint(k, jkt), 0);
	assert_string_equal(hjkt, jkt);

	assert_string_equal(members(p.claims, names, sizeof(names)), "jti,htm,htu,iat");
	assert_string_equal(str(p.claims, "htm"), "POST");
	assert_string_equal(str(p.claims, "htu"), URL);
	iat = cJSON_GetObjectItemCaseSensitive(p.claims, "iat");
	assert_true(cJSON_IsNumber(iat));
	assert_true(iat->valuedouble == NOW);

	/* The check above can fail: one character of the claims changed, and it does. */
	{
		size_t at = (size_t)(strchr(jwt, '.') - jwt) + 5;
		EVP_PKEY *pub = public_key(x, y);

		assert_true(es256_ok(pub, jwt, (size_t)(strrchr(jwt, '.') - jwt), p.sig));
		jwt[at] = (char)(jwt[at] == 'A' ? 'B' : 'A');
		assert_false(es256_ok(pub, jwt, (size_t)(strrchr(jwt, '.') - jwt), p.sig));
		EVP_PKEY_free(pub);
	}
	close_proof(&p);
	a0_secret_free(jwt);
	a0_dpop_key_free(k);
}

/* r and s are left-padded to 32 bytes each: sign until one of them is short, and verify it. */
static void test_short_r_or_s(void **state)
{
	struct a0_dpop_key *k = NULL;
	bool found = false;

	assert_a0(a0_dpop_key_new(&k), 0);
	for (int i = 0; i < 4000 && !found; i++) {
		char *jwt = proof(k, "GET", URL, NULL, NULL);
		const char *dot2 = strrchr(jwt, '.');
		size_t siglen = 0;
		unsigned char *sig = unb64(dot2 + 1, strlen(dot2 + 1), &siglen);

		assert_int_equal(siglen, 64);
		if (sig[0] == 0 || sig[32] == 0) {
			struct proof p = { 0 };

			open_proof(jwt, &p);
			assert_true(p.verified);
			close_proof(&p);
			found = true;
		}
		free(sig);
		a0_secret_free(jwt);
	}
	assert_true(found);
	a0_dpop_key_free(k);
}

static void test_htu_stripped(void **state)
{
	static const struct {
		const char *in, *htu;
	} cases[] = {
		{ URL "?audience=x&scope=openid", URL },
		{ URL "#frag", URL },
		{ URL "#frag?not-a-query", URL },
		{ URL "?q#f", URL },
		{ "http://localhost:8080/api/items", "http://localhost:8080/api/items" },
		{ "HTTPS://Tenant.example.com", "HTTPS://Tenant.example.com" },
		{ "https://h?only-query", "https://h" },
	};
	struct a0_dpop_key *k = NULL;

	assert_a0(a0_dpop_key_new(&k), 0);
	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		char *jwt = proof(k, "GET", cases[i].in, NULL, NULL);
		struct proof p = { 0 };

		open_proof(jwt, &p);
		assert_true(p.verified);
		assert_string_equal(str(p.claims, "htu"), cases[i].htu);
		close_proof(&p);
		a0_secret_free(jwt);
	}
	a0_dpop_key_free(k);
}

/* ath is the base64url SHA-256 of the token: RFC 9449's vector and one computed here. */
static void test_ath(void **state)
{
	const char *token = "eyJhbGciOiJFUzI1NiJ9.an-access-token.sig";
	char names[128], want[44];
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct a0_dpop_key *k = NULL;
	struct proof p = { 0 };
	char *jwt;

	assert_a0(a0_dpop_key_new(&k), 0);
	jwt = proof(k, "GET", "https://api.example.com/resource", NULL, RFC_TOKEN);
	open_proof(jwt, &p);
	assert_true(p.verified);
	assert_string_equal(members(p.claims, names, sizeof(names)), "jti,htm,htu,iat,ath");
	assert_string_equal(str(p.claims, "ath"), RFC_ATH);
	close_proof(&p);
	a0_secret_free(jwt);

	SHA256((const unsigned char *)token, strlen(token), digest);
	a0_b64url_encode_to(digest, sizeof(digest), want);
	jwt = proof(k, "GET", "https://api.example.com/resource", "n-1", token);
	open_proof(jwt, &p);
	assert_true(p.verified);
	assert_string_equal(members(p.claims, names, sizeof(names)), "jti,htm,htu,iat,nonce,ath");
	assert_string_equal(str(p.claims, "ath"), want);
	close_proof(&p);
	a0_secret_free(jwt);
	a0_dpop_key_free(k);
}

static void test_nonce(void **state)
{
	const char *nonce = "eyJ7S_zG.eyJH0-Z.HX4w-7v~!$%&'()*+,/:;<=>?@[]^`{|}\"\\";
	struct a0_dpop_key *k = NULL;
	char names[128];
	struct proof p = { 0 };
	char *jwt;

	assert_a0(a0_dpop_key_new(&k), 0);
	jwt = proof(k, "POST", URL, nonce, NULL);
	open_proof(jwt, &p);
	assert_true(p.verified);
	assert_string_equal(members(p.claims, names, sizeof(names)), "jti,htm,htu,iat,nonce");
	assert_string_equal(str(p.claims, "nonce"), nonce);
	close_proof(&p);
	a0_secret_free(jwt);

	jwt = proof(k, "POST", URL, NULL, NULL);
	open_proof(jwt, &p);
	assert_null(cJSON_GetObjectItemCaseSensitive(p.claims, "nonce"));
	assert_null(cJSON_GetObjectItemCaseSensitive(p.claims, "ath"));
	close_proof(&p);
	a0_secret_free(jwt);
	a0_dpop_key_free(k);
}

static void test_jti_unique(void **state)
{
	struct a0_dpop_key *k = NULL;
	struct proof p = { 0 }, q = { 0 };
	char *a, *b;
	size_t len = 0;
	unsigned char *raw;

	assert_a0(a0_dpop_key_new(&k), 0);
	a = proof(k, "GET", URL, NULL, NULL);
	b = proof(k, "GET", URL, NULL, NULL);
	open_proof(a, &p);
	open_proof(b, &q);
	assert_non_null(str(p.claims, "jti"));
	assert_non_null(str(q.claims, "jti"));
	assert_string_not_equal(str(p.claims, "jti"), str(q.claims, "jti"));
	/* At least 128 random bits. */
	raw = unb64(str(p.claims, "jti"), strlen(str(p.claims, "jti")), &len);
	assert_true(len >= 16);
	free(raw);
	close_proof(&p);
	close_proof(&q);
	a0_secret_free(a);
	a0_secret_free(b);
	a0_dpop_key_free(k);
}

static void test_proof_arguments(void **state)
{
	char long_htu[A0_DPOP_MAX_HTU + 2], long_nonce[A0_DPOP_MAX_NONCE + 2];
	char untouched[] = "untouched", *long_query, *jwt = untouched;
	struct a0_dpop_key *k = NULL;
	const char *bad_htm[] = { NULL, "", "get", "Get", "GE T", "POST1", "ABCDEFGHIJKLMNOPQ" };
	const char *bad_htu[] = { NULL,
				  "",
				  "tenant.example.com/oauth/token",
				  "ftp://tenant.example.com/x",
				  "https://",
				  "https:///path",
				  "https://?q",
				  "https://h/a path",
				  "https://h/\x01",
				  "https://h/\xc3\xa9",
				  " https://h/" };
	const char *bad_nonce[] = { "", "a b", "a\tb", "a\x7f", "\xc3\xa9" };

	assert_a0(a0_dpop_key_new(&k), 0);
	assert_a0(a0_dpop_proof(NULL, "GET", URL, NULL, NULL, NOW, &jwt), A0_ERR_INVALID);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad_htm); i++)
		assert_a0(a0_dpop_proof(k, bad_htm[i], URL, NULL, NULL, NOW, &jwt), A0_ERR_INVALID);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad_htu); i++)
		assert_a0(a0_dpop_proof(k, "GET", bad_htu[i], NULL, NULL, NOW, &jwt),
			  A0_ERR_INVALID);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad_nonce); i++)
		assert_a0(a0_dpop_proof(k, "GET", URL, bad_nonce[i], NULL, NOW, &jwt),
			  A0_ERR_INVALID);
	assert_a0(a0_dpop_proof(k, "GET", URL, NULL, "", NOW, &jwt), A0_ERR_INVALID);
	assert_a0(a0_dpop_proof(k, "GET", URL, NULL, NULL, -1, &jwt), A0_ERR_INVALID);
	assert_string_equal(jwt, "untouched");

	/* The bounds themselves are taken; one more is not. */
	jwt = proof(k, "ABCDEFGHIJKLMNOP", URL, NULL, NULL);
	a0_secret_free(jwt);
	memset(long_nonce, 'n', sizeof(long_nonce));
	long_nonce[A0_DPOP_MAX_NONCE] = '\0';
	jwt = proof(k, "GET", URL, long_nonce, NULL);
	a0_secret_free(jwt);
	long_nonce[A0_DPOP_MAX_NONCE] = 'n';
	long_nonce[A0_DPOP_MAX_NONCE + 1] = '\0';
	assert_a0(a0_dpop_proof(k, "GET", URL, long_nonce, NULL, NOW, &jwt), A0_ERR_INVALID);

	memcpy(long_htu, "https://h/", strlen("https://h/"));
	memset(long_htu + strlen("https://h/"), 'p', sizeof(long_htu) - strlen("https://h/"));
	long_htu[A0_DPOP_MAX_HTU] = '\0';
	jwt = proof(k, "GET", long_htu, NULL, NULL);
	a0_secret_free(jwt);
	long_htu[A0_DPOP_MAX_HTU] = 'p';
	long_htu[A0_DPOP_MAX_HTU + 1] = '\0';
	assert_a0(a0_dpop_proof(k, "GET", long_htu, NULL, NULL, NOW, &jwt), A0_ERR_INVALID);
	/* A long query does not count: it is not part of htu. */
	long_query = malloc(3 * A0_DPOP_MAX_HTU);
	assert_non_null(long_query);
	snprintf(long_query, 3 * A0_DPOP_MAX_HTU, "%s?", URL);
	memset(long_query + strlen(long_query), 'q', 2 * A0_DPOP_MAX_HTU);
	long_query[3 * A0_DPOP_MAX_HTU - 1] = '\0';
	jwt = proof(k, "GET", long_query, NULL, NULL);
	a0_secret_free(jwt);
	free(long_query);
	a0_dpop_key_free(k);
}

static void test_nonce_ok(void **state)
{
	char s[A0_DPOP_MAX_NONCE + 2];

	assert_true(a0_dpop_nonce_ok("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
	assert_true(a0_dpop_nonce_ok("!"));
	assert_false(a0_dpop_nonce_ok(NULL));
	assert_false(a0_dpop_nonce_ok(""));
	assert_false(a0_dpop_nonce_ok("a b"));
	assert_false(a0_dpop_nonce_ok("ab\n"));
	assert_false(a0_dpop_nonce_ok("caf\xc3\xa9"));
	memset(s, 'x', sizeof(s));
	s[A0_DPOP_MAX_NONCE] = '\0';
	assert_true(a0_dpop_nonce_ok(s));
	s[A0_DPOP_MAX_NONCE] = 'x';
	s[A0_DPOP_MAX_NONCE + 1] = '\0';
	assert_false(a0_dpop_nonce_ok(s));
}

/* ---- the private JWK ---- */

static void test_export_import(void **state)
{
	struct a0_dpop_key *k = NULL, *back = NULL;
	char *text = NULL, *again = NULL, *jwt, names[128], a[A0_DPOP_JKT_LEN + 1],
	     b[A0_DPOP_JKT_LEN + 1], x[44], y[44];
	struct proof p = { 0 };
	cJSON *j;

	assert_a0(a0_dpop_key_new(&k), 0);
	assert_a0(a0_dpop_key_export(k, &text), 0);
	assert_true(strlen(text) <= A0_DPOP_MAX_KEY_TEXT);
	j = cJSON_Parse(text);
	assert_non_null(j);
	assert_string_equal(members(j, names, sizeof(names)), "kty,crv,x,y,d");
	assert_string_equal(str(j, "kty"), "EC");
	assert_string_equal(str(j, "crv"), "P-256");
	assert_int_equal(strlen(str(j, "x")), 43);
	assert_int_equal(strlen(str(j, "y")), 43);
	assert_int_equal(strlen(str(j, "d")), 43);
	cJSON_Delete(j);

	assert_a0(a0_dpop_key_import(text, strlen(text), &back), 0);
	assert_a0(a0_dpop_thumbprint(k, a), 0);
	assert_a0(a0_dpop_thumbprint(back, b), 0);
	assert_string_equal(a, b);
	assert_a0(a0_dpop_key_export(back, &again), 0);
	assert_string_equal(text, again);
	/* The imported key signs for the original's public key. */
	jwt = proof(back, "POST", URL, NULL, NULL);
	public_members(k, x, y);
	open_proof(jwt, &p);
	assert_true(p.verified);
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(p.header, "jwk"), "x"), x);
	close_proof(&p);
	a0_secret_free(jwt);

	/* Two fresh keys differ. */
	a0_dpop_key_free(back);
	back = NULL;
	assert_a0(a0_dpop_key_new(&back), 0);
	assert_a0(a0_dpop_thumbprint(back, b), 0);
	assert_string_not_equal(a, b);

	assert_a0(a0_dpop_key_export(NULL, &again), A0_ERR_INVALID);
	a0_secret_free(again);
	a0_secret_free(text);
	a0_dpop_key_free(back);
	a0_dpop_key_free(k);
	a0_dpop_key_free(NULL);
}

/* A private JWK of the given members' values (NULL: the member is left out). */
static char *jwk_text(const char *kty, const char *crv, const char *x, const char *y, const char *d)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	const char *sep = "";

	assert_non_null(f);
	fputc('{', f);
#define MEMBER(name, v)                                      \
	if (v) {                                             \
		fprintf(f, "%s\"%s\":\"%s\"", sep, name, v); \
		sep = ",";                                   \
	}
	MEMBER("kty", kty)
	MEMBER("crv", crv)
	MEMBER("x", x)
	MEMBER("y", y)
	MEMBER("d", d)
#undef MEMBER
	fputc('}', f);
	fclose(f);
	return s;
}

static void refused(const char *text, const char *what)
{
	struct a0_dpop_key *k = (struct a0_dpop_key *)&k; /* must stay untouched */
	int r = a0_dpop_key_import(text, text ? strlen(text) : 0, &k);

	if (r != A0_ERR_MALFORMED)
		fail_msg("%s: %s, not MALFORMED", what, a0_err_name(r));
	assert_ptr_equal(k, (struct a0_dpop_key *)&k);
}

/* A base64url coordinate with one more added to its last byte (mod 256). */
static void bump(const char *in, char out[44])
{
	size_t n = 0;
	unsigned char *raw = unb64(in, 43, &n);

	raw[31]++;
	a0_b64url_encode_to(raw, 32, out);
	free(raw);
}

/* shape with $x, $y and $d replaced by x, y and d. */
static char *fill(const char *shape, const char *x, const char *y, const char *d)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	for (const char *p = shape; *p; p++) {
		if (p[0] == '$' && p[1] && strchr("xyd", p[1])) {
			fputs(p[1] == 'x' ? x : p[1] == 'y' ? y : d, f);
			p++;
		} else {
			fputc(*p, f);
		}
	}
	fclose(f);
	return s;
}

static void test_import_refuses(void **state)
{
	struct a0_dpop_key *k = NULL, *other = NULL, *back = NULL;
	char x[44], y[44], d[44], ox[44], oy[44], od[44], bad_y[44], bad_d[44], *s, *t;
	char padded[A0_DPOP_MAX_KEY_TEXT + 2];
	cJSON *j;

	assert_a0(a0_dpop_key_new(&k), 0);
	assert_a0(a0_dpop_key_new(&other), 0);
	assert_a0(a0_dpop_key_export(k, &s), 0);
	j = cJSON_Parse(s);
	coordinate(j, "x", x);
	coordinate(j, "y", y);
	coordinate(j, "d", d);
	cJSON_Delete(j);
	a0_secret_free(s);
	assert_a0(a0_dpop_key_export(other, &s), 0);
	j = cJSON_Parse(s);
	coordinate(j, "x", ox);
	coordinate(j, "y", oy);
	coordinate(j, "d", od);
	cJSON_Delete(j);
	a0_secret_free(s);

	/* The good one, built here, is taken: the refusals below are for what they change. */
	t = jwk_text("EC", "P-256", x, y, d);
	assert_a0(a0_dpop_key_import(t, strlen(t), &back), 0);
	a0_dpop_key_free(back);
	back = NULL;
	/* Whitespace counts towards the bound, up to it exactly. */
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, t, strlen(t));
	assert_a0(a0_dpop_key_import(padded, A0_DPOP_MAX_KEY_TEXT, &back), 0);
	a0_dpop_key_free(back);
	assert_a0(a0_dpop_key_import(padded, A0_DPOP_MAX_KEY_TEXT + 1, &back), A0_ERR_MALFORMED);
	/* len is what is read: a prefix is not the key, and a NUL inside it is refused. */
	assert_a0(a0_dpop_key_import(t, strlen(t) - 1, &back), A0_ERR_MALFORMED);
	padded[strlen(t)] = '\0';
	assert_a0(a0_dpop_key_import(padded, strlen(t) + 2, &back), A0_ERR_MALFORMED);
	free(t);

	bump(y, bad_y);
	bump(d, bad_d);
#define R(text, what)                \
	do {                         \
		char *txt_ = (text); \
		refused(txt_, what); \
		free(txt_);          \
	} while (0)
	R(jwk_text("RSA", "P-256", x, y, d), "kty RSA");
	R(jwk_text("ec", "P-256", x, y, d), "kty ec");
	R(jwk_text("EC", "P-384", x, y, d), "crv P-384");
	R(jwk_text("EC", "secp256k1", x, y, d), "crv secp256k1");
	R(jwk_text(NULL, "P-256", x, y, d), "no kty");
	R(jwk_text("EC", NULL, x, y, d), "no crv");
	R(jwk_text("EC", "P-256", NULL, y, d), "no x");
	R(jwk_text("EC", "P-256", x, NULL, d), "no y");
	R(jwk_text("EC", "P-256", x, y, NULL), "no d: a public key alone");
	R(jwk_text("EC", "P-256", x, bad_y, d), "a point off the curve");
	R(jwk_text("EC", "P-256", ox, oy, d), "another key's point");
	R(jwk_text("EC", "P-256", x, y, od), "another key's d");
	R(jwk_text("EC", "P-256", x, y, bad_d), "d off by one");
	R(jwk_text("EC", "P-256", x, y, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "d zero");
	R(jwk_text("EC", "P-256", x, y, ORDER_N), "d = n");
	R(jwk_text("EC", "P-256", RFC_X, RFC_Y, d), "RFC 9449's point, not d's");
	/* Encodings: padding, another alphabet, lengths, unused bits. */
	{
		char v[64];

		snprintf(v, sizeof(v), "%s=", x);
		R(jwk_text("EC", "P-256", v, y, d), "padded x");
		snprintf(v, sizeof(v), "%.42s", d);
		R(jwk_text("EC", "P-256", x, y, v), "d of 42 characters");
		snprintf(v, sizeof(v), "%sA", d);
		R(jwk_text("EC", "P-256", x, y, v), "d of 44 characters");
		snprintf(v, sizeof(v), "AAAA%s", x);
		R(jwk_text("EC", "P-256", v, y, d), "x of 47 characters (35 bytes)");
		snprintf(v, sizeof(v), "%s", y);
		v[3] = '+';
		R(jwk_text("EC", "P-256", x, v, d), "y with '+'");
		v[3] = '.';
		R(jwk_text("EC", "P-256", x, v, d), "y with '.'");
		/* 43 characters carry 258 bits: the last one's two low bits are unused, zero in
		 * the canonical encoding (A, E, I, ...); the next character sets one. */
		snprintf(v, sizeof(v), "%s", x);
		v[42] = (char)(v[42] + 1);
		R(jwk_text("EC", "P-256", v, y, d), "x with unused bits set");
	}
#undef R
	/* Members: extra, repeated, of another type, nested; $x, $y and $d stand for the values. */
	{
		const char *shapes[] = {
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\","
			"\"kid\":\"k\"}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\","
			"\"kty\":\"EC\"}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\","
			"\"d\":\"$d\"}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"x\":\"$x\",\"d\":\"$d\"}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"D\":\"$d\"}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":[\"$x\"],\"y\":\"$y\",\"d\":\"$d\"}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":{\"v\":\"$d\"}}",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":null}",
			"{\"kty\":\"EC\",\"crv\":256,\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\"}",
			"[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\"}]",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\"} x",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\"",
			"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\\u0000\"}",
			"{\"k\\u0074y\":\"EC\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\",\"d\":\"$d\"}",
		};

		for (size_t i = 0; i < A0_ARRAY_SIZE(shapes); i++) {
			char *v = fill(shapes[i], x, y, d);

			refused(v, shapes[i]);
			free(v);
		}
	}
	refused("", "empty");
	refused("null", "null");
	refused("{}", "{}");
	refused("not json", "not json");
	assert_a0(a0_dpop_key_import(NULL, 10, &back), A0_ERR_MALFORMED);
	a0_dpop_key_free(k);
	a0_dpop_key_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_thumbprint),  cmocka_unit_test(test_key_thumbprint),
		cmocka_unit_test(test_proof_verifies),  cmocka_unit_test(test_short_r_or_s),
		cmocka_unit_test(test_htu_stripped),    cmocka_unit_test(test_ath),
		cmocka_unit_test(test_nonce),           cmocka_unit_test(test_jti_unique),
		cmocka_unit_test(test_proof_arguments), cmocka_unit_test(test_nonce_ok),
		cmocka_unit_test(test_export_import),   cmocka_unit_test(test_import_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
