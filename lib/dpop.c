/* SPDX-License-Identifier: MIT */
/* DPoP keys and proofs (dpop.h, RFC 9449) with OpenSSL 3's EVP interfaces. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "lib/base64url.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "lib/util.h"

#define CURVE_GROUP SN_X9_62_prime256v1 /* OpenSSL's name of P-256 */
#define COORD 32                        /* bytes of a P-256 coordinate, or of the scalar d */
#define COORD_B64 A0_B64URL_LEN(COORD)  /* 43 */
#define SIG_BYTES (2 * COORD)           /* ES256's r||s */
#define SIG_DER_MAX 80                  /* an ECDSA-Sig-Value of P-256: 72 bytes at most */
#define JTI_BYTES 16                    /* 128 random bits */
#define HASH_B64 A0_B64URL_LEN(SHA256_DIGEST_LENGTH)

_Static_assert(HASH_B64 == A0_DPOP_JKT_LEN, "a thumbprint is a base64url SHA-256");

/* The one canonical form of RFC 7638 for an EC key: members sorted, no blanks. */
#define JKT_FORMAT "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}"
/* The private JWK the record keeps (dpop.h); x, y and d are base64url, so nothing to escape. */
#define KEY_FORMAT "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}"

struct a0_dpop_key {
	EVP_PKEY *pkey;
	char x[COORD_B64 + 1], y[COORD_B64 + 1]; /* the public point, base64url */
	char *header; /* every proof's header, base64url (the same for each: made once) */
};

void a0_dpop_key_free(struct a0_dpop_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* clears the private scalar */
	free(k->header);
	free(k);
}

/* One coordinate of the public point (OSSL_PKEY_PARAM_EC_PUB_X or _Y), base64url. */
static int coordinate(const EVP_PKEY *pkey, const char *name, char out[COORD_B64 + 1])
{
	unsigned char raw[COORD];
	BIGNUM *bn = NULL;
	int r = A0_ERR_SYSTEM;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 && BN_bn2binpad(bn, raw, COORD) == COORD) {
		a0_b64url_encode_to(raw, COORD, out);
		r = 0;
	}
	BN_free(bn);
	return r;
}

/* k->header from the public point: {"typ":..,"alg":..,"jwk":{"kty","crv","x","y"}}. */
static int make_header(struct a0_dpop_key *k)
{
	cJSON *h = cJSON_CreateObject(), *jwk = NULL;
	char *json = NULL;
	int r = A0_ERR_NOMEM;

	if (!h || !cJSON_AddStringToObject(h, "typ", A0_DPOP_TYP) ||
	    !cJSON_AddStringToObject(h, "alg", A0_DPOP_ALG) ||
	    !(jwk = cJSON_AddObjectToObject(h, "jwk")) ||
	    !cJSON_AddStringToObject(jwk, "kty", "EC") ||
	    !cJSON_AddStringToObject(jwk, "crv", "P-256") ||
	    !cJSON_AddStringToObject(jwk, "x", k->x) || !cJSON_AddStringToObject(jwk, "y", k->y))
		goto out;
	json = a0_json_print(h);
	if (!json)
		goto out;
	r = a0_b64url_encode(json, strlen(json), &k->header);
out:
	a0_secret_free(json);
	cJSON_Delete(h);
	return r;
}

/* What a key needs besides its EVP_PKEY: the public point's text and the proofs' header. */
static int finish(struct a0_dpop_key *k)
{
	int r = coordinate(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, k->x);

	if (r == 0)
		r = coordinate(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, k->y);
	if (r == 0)
		r = make_header(k);
	return r;
}

int a0_dpop_key_new(struct a0_dpop_key **ret)
{
	struct a0_dpop_key *k = calloc(1, sizeof(*k));
	int r = A0_ERR_NOMEM;

	if (!k)
		goto out;
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", CURVE_GROUP);
	if (!k->pkey) {
		r = A0_ERR_SYSTEM;
		goto out;
	}
	if ((r = finish(k)) < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	a0_dpop_key_free(k);
	ERR_clear_error();
	return r;
}

int a0_dpop_key_export(const struct a0_dpop_key *k, char **ret)
{
	unsigned char raw[COORD];
	char d[COORD_B64 + 1], *text = NULL;
	BIGNUM *bn = NULL;
	int n, r = A0_ERR_SYSTEM;

	if (!k)
		return A0_ERR_INVALID;
	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
	    BN_bn2binpad(bn, raw, COORD) != COORD)
		goto out;
	a0_b64url_encode_to(raw, COORD, d);
	r = A0_ERR_NOMEM;
	text = malloc(A0_DPOP_MAX_KEY_TEXT + 1);
	if (!text)
		goto out;
	n = snprintf(text, A0_DPOP_MAX_KEY_TEXT + 1, KEY_FORMAT, k->x, k->y, d);
	if (n < 0 || n > A0_DPOP_MAX_KEY_TEXT) {
		r = A0_ERR_SYSTEM;
		goto out;
	}
	*ret = text;
	text = NULL;
	r = 0;
out:
	a0_wipe_free(text, A0_DPOP_MAX_KEY_TEXT + 1);
	explicit_bzero(d, sizeof(d));
	explicit_bzero(raw, sizeof(raw));
	BN_clear_free(bn);
	ERR_clear_error();
	return r;
}

/* Exactly COORD bytes from exactly their canonical base64url: 0, A0_ERR_MALFORMED, _NOMEM. */
static int decode_coord(const char *s, unsigned char out[COORD])
{
	unsigned char *raw = NULL;
	size_t n = 0;
	int r;

	if (strlen(s) != COORD_B64)
		return A0_ERR_MALFORMED;
	if ((r = a0_b64url_decode(s, COORD_B64, &raw, &n)) < 0)
		return r;
	if (n == COORD)
		memcpy(out, raw, COORD);
	else
		r = A0_ERR_MALFORMED;
	a0_wipe_free(raw, n + 1);
	return r;
}

/*
 * The key pair of d with the public point (x, y), once OpenSSL agrees that the point is on the
 * curve, d is in range and the point is d's: 0 and *ret, A0_ERR_MALFORMED, A0_ERR_NOMEM.
 */
static int keypair(const unsigned char x[COORD], const unsigned char y[COORD],
		   const unsigned char d[COORD], EVP_PKEY **ret)
{
	unsigned char pub[1 + 2 * COORD];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *priv = BN_secure_new(); /* OSSL_PARAM_BLD keeps a secure BN in secure memory */
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	int r = A0_ERR_NOMEM;

	pub[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(pub + 1, x, COORD);
	memcpy(pub + 1 + COORD, y, COORD);
	if (!bld || !priv || !BN_bin2bn(d, COORD, priv) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, CURVE_GROUP, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	r = A0_ERR_MALFORMED;
	/* Fails for a point off the curve. */
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1 || !pkey)
		goto out;
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	/* The point is a valid public key, 0 < d < n, and d·G is the point. */
	if (EVP_PKEY_public_check(check) != 1 || EVP_PKEY_private_check(check) != 1 ||
	    EVP_PKEY_pairwise_check(check) != 1)
		goto out;
	*ret = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	ERR_clear_error();
	return r;
}

int a0_dpop_key_import(const char *text, size_t len, struct a0_dpop_key **ret)
{
	enum { KTY, CRV, X, Y, D, N_MEMBERS };
	static const char *const names[N_MEMBERS] = { "kty", "crv", "x", "y", "d" };
	const char *value[N_MEMBERS] = { NULL };
	unsigned char x[COORD], y[COORD], d[COORD];
	struct a0_dpop_key *k = NULL;
	cJSON *root = NULL;
	int r;

	/*
	 * Nothing of this shape needs an escape; one could hide a NUL ("\u0000") after 43 good
	 * characters from strlen, or spell a member name twice.
	 */
	if (!text || len > A0_DPOP_MAX_KEY_TEXT || memchr(text, '\\', len))
		return A0_ERR_MALFORMED;
	if ((r = a0_json_parse(text, len, &root)) < 0)
		return r;
	r = A0_ERR_MALFORMED;
	if (!cJSON_IsObject(root))
		goto out;
	/* Each member once (cJSON keeps a repeated name twice), nothing else, all strings. */
	for (const cJSON *m = root->child; m; m = m->next) {
		size_t i = 0;

		while (i < N_MEMBERS && (!m->string || strcmp(m->string, names[i]) != 0))
			i++;
		if (i == N_MEMBERS || value[i] || !cJSON_IsString(m) || !m->valuestring)
			goto out;
		value[i] = m->valuestring;
	}
	for (size_t i = 0; i < N_MEMBERS; i++)
		if (!value[i])
			goto out;
	if (strcmp(value[KTY], "EC") != 0 || strcmp(value[CRV], "P-256") != 0)
		goto out;
	if ((r = decode_coord(value[X], x)) < 0 || (r = decode_coord(value[Y], y)) < 0 ||
	    (r = decode_coord(value[D], d)) < 0)
		goto out;
	r = A0_ERR_NOMEM;
	k = calloc(1, sizeof(*k));
	if (!k)
		goto out;
	if ((r = keypair(x, y, d, &k->pkey)) < 0 || (r = finish(k)) < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	a0_dpop_key_free(k);
	explicit_bzero(d, sizeof(d));
	a0_json_free(root);
	return r;
}

/* Is s the canonical base64url of COORD bytes? */
static bool coord_ok(const char *s)
{
	unsigned char raw[COORD];

	return s && strnlen(s, COORD_B64 + 1) == COORD_B64 && decode_coord(s, raw) == 0;
}

int a0_dpop_jwk_thumbprint(const char *x, const char *y, char out[A0_DPOP_JKT_LEN + 1])
{
	char canon[sizeof(JKT_FORMAT) + 2 * COORD_B64];
	unsigned char digest[SHA256_DIGEST_LENGTH];
	int n;

	if (!coord_ok(x) || !coord_ok(y))
		return A0_ERR_INVALID;
	n = snprintf(canon, sizeof(canon), JKT_FORMAT, x, y);
	if (n < 0 || (size_t)n >= sizeof(canon))
		return A0_ERR_INVALID;
	if (EVP_Digest(canon, (size_t)n, digest, NULL, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		return A0_ERR_SYSTEM;
	}
	a0_b64url_encode_to(digest, sizeof(digest), out);
	return 0;
}

int a0_dpop_thumbprint(const struct a0_dpop_key *k, char out[A0_DPOP_JKT_LEN + 1])
{
	if (!k)
		return A0_ERR_INVALID;
	return a0_dpop_jwk_thumbprint(k->x, k->y, out);
}

bool a0_dpop_nonce_ok(const char *s)
{
	size_t n = s ? strnlen(s, A0_DPOP_MAX_NONCE + 1) : 0;

	return n >= 1 && n <= A0_DPOP_MAX_NONCE && a0_text_ok(s, n, A0_TEXT_TOKEN);
}

static bool htm_ok(const char *s)
{
	size_t n = s ? strnlen(s, A0_DPOP_MAX_HTM + 1) : 0;

	if (n < 1 || n > A0_DPOP_MAX_HTM)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

/* url without its query and fragment into out: 0, or A0_ERR_INVALID (dpop.h says what is). */
static int htu_of(const char *url, char out[A0_DPOP_MAX_HTU + 1])
{
	size_t scheme, n;

	if (!url)
		return A0_ERR_INVALID;
	if (strncasecmp(url, "https://", strlen("https://")) == 0)
		scheme = strlen("https://");
	else if (strncasecmp(url, "http://", strlen("http://")) == 0)
		scheme = strlen("http://");
	else
		return A0_ERR_INVALID;
	n = strcspn(url, "?#");
	/* A host: something before the path, query or fragment. */
	if (n <= scheme || url[scheme] == '/' || n > A0_DPOP_MAX_HTU ||
	    !a0_text_ok(url, n, A0_TEXT_TOKEN))
		return A0_ERR_INVALID;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

/* ES256 of len bytes at in by pkey, as JWS wants it: r||s, each left-padded to COORD bytes. */
static int sign_es256(EVP_PKEY *pkey, const char *in, size_t len, unsigned char out[SIG_BYTES])
{
	unsigned char der[SIG_DER_MAX];
	const unsigned char *p = der;
	size_t derlen = sizeof(der);
	const BIGNUM *sr = NULL, *ss = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *sig = NULL;
	int r = A0_ERR_SYSTEM;

	if (!ctx) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)in, len) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (!sig || p != der + derlen)
		goto out;
	ECDSA_SIG_get0(sig, &sr, &ss);
	if (BN_bn2binpad(sr, out, COORD) != COORD || BN_bn2binpad(ss, out + COORD, COORD) != COORD)
		goto out;
	r = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* The claims' JSON text (free with a0_secret_free): 0 and *ret, or A0_ERR_NOMEM. */
static int claims_of(const char *jti, const char *htm, const char *htu, time_t now,
		     const char *nonce, const char *ath, char **ret)
{
	cJSON *c = cJSON_CreateObject();
	int r = A0_ERR_NOMEM;

	if (!c || !cJSON_AddStringToObject(c, "jti", jti) ||
	    !cJSON_AddStringToObject(c, "htm", htm) || !cJSON_AddStringToObject(c, "htu", htu) ||
	    !cJSON_AddNumberToObject(c, "iat", (double)now) ||
	    (nonce && !cJSON_AddStringToObject(c, "nonce", nonce)) ||
	    (ath && !cJSON_AddStringToObject(c, "ath", ath)))
		goto out;
	*ret = a0_json_print(c);
	if (*ret)
		r = 0;
out:
	cJSON_Delete(c);
	return r;
}

int a0_dpop_proof(const struct a0_dpop_key *k, const char *htm, const char *htu, const char *nonce,
		  const char *access_token, time_t now, char **ret)
{
	char url[A0_DPOP_MAX_HTU + 1], jti[A0_B64URL_LEN(JTI_BYTES) + 1], ath[HASH_B64 + 1];
	unsigned char rnd[JTI_BYTES], digest[SHA256_DIGEST_LENGTH], sig[SIG_BYTES];
	char *claims = NULL, *jwt = NULL;
	size_t head, body, size = 0, n;
	int r;

	if (!k || !htm_ok(htm) || htu_of(htu, url) < 0 || (nonce && !a0_dpop_nonce_ok(nonce)) ||
	    (access_token && !*access_token) || now < 0)
		return A0_ERR_INVALID;
	r = A0_ERR_SYSTEM;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	a0_b64url_encode_to(rnd, sizeof(rnd), jti);
	if (access_token) {
		if (EVP_Digest(access_token, strlen(access_token), digest, NULL, EVP_sha256(),
			       NULL) != 1)
			goto out;
		a0_b64url_encode_to(digest, sizeof(digest), ath);
	}
	if ((r = claims_of(jti, htm, url, now, nonce, access_token ? ath : NULL, &claims)) < 0)
		goto out;
	/* header.claims, signed, then .signature in the same buffer. */
	head = strlen(k->header);
	body = A0_B64URL_LEN(strlen(claims));
	size = head + 1 + body + 1 + A0_B64URL_LEN(SIG_BYTES) + 1;
	r = A0_ERR_NOMEM;
	jwt = malloc(size);
	if (!jwt)
		goto out;
	memcpy(jwt, k->header, head);
	jwt[head] = '.';
	n = head + 1 + a0_b64url_encode_to(claims, strlen(claims), jwt + head + 1);
	if ((r = sign_es256(k->pkey, jwt, n, sig)) < 0)
		goto out;
	jwt[n] = '.';
	a0_b64url_encode_to(sig, sizeof(sig), jwt + n + 1);
	*ret = jwt;
	jwt = NULL;
	r = 0;
out:
	a0_wipe_free(jwt, size);
	a0_secret_free(claims);
	explicit_bzero(digest, sizeof(digest));
	ERR_clear_error();
	return r;
}
