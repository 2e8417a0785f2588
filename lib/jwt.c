/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "lib/base64url.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/secret.h"
#include "lib/util.h"

#define MAX_AUD 16    /* audiences in one token */
#define MAX_DATE 1e11 /* a NumericDate past the year 5000 is not a date */

enum kty { KTY_RSA, KTY_EC, KTY_OTHER };

struct jwk {
	char kid[A0_JWK_MAX_KID + 1];
	char alg[16]; /* "" when the key names none */
	enum kty kty;
	EVP_PKEY *pkey;       /* NULL when unusable */
	const char *unusable; /* why, when pkey is NULL */
};

struct a0_jwks {
	size_t n;
	struct jwk keys[A0_JWKS_MAX_KEYS];
};

/* The algorithms we verify (RFC 7518 3.1), and the key each needs. */
static const struct {
	const char *name;
	enum kty kty;
	int padding; /* RSA padding; 0 for EC */
} algs[] = {
	{ "RS256", KTY_RSA, RSA_PKCS1_PADDING },
	{ "PS256", KTY_RSA, RSA_PKCS1_PSS_PADDING },
	{ "ES256", KTY_EC, 0 },
};
#define N_ALGS A0_ARRAY_SIZE(algs)

static int why(int err, char *reason, size_t reasonlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why(int err, char *reason, size_t reasonlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(reason, reasonlen, fmt, ap);
	va_end(ap);
	return err;
}

#define invalid(reason, reasonlen, ...) why(A0_ERR_TOKEN_INVALID, reason, reasonlen, __VA_ARGS__)

const char *a0_show(const char *s, char buf[A0_SHOW_MAX + 1])
{
	size_t n = s ? strnlen(s, A0_SHOW_MAX) : 0;

	memcpy(buf, s ? s : "", n);
	buf[n] = '\0';
	a0_text_scrub(buf, n, A0_TEXT_ASCII);
	return buf;
}

/* ---- JWKS ---- */

static int decode_member(const cJSON *obj, const char *name, size_t max_bytes, unsigned char **ret,
			 size_t *ret_len)
{
	const char *s = a0_json_string(obj, name);

	if (!s || strlen(s) > A0_B64URL_LEN(max_bytes))
		return A0_ERR_MALFORMED;
	return a0_b64url_decode(s, strlen(s), ret, ret_len);
}

/* EVP_PKEY_fromdata takes numbers as given: check them as a public key before use. */
static EVP_PKEY *public_key(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL), *check = NULL;
	EVP_PKEY *pkey = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	if (pkey) {
		check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (!check || EVP_PKEY_public_check(check) != 1) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	ERR_clear_error();
	return pkey;
}

/* Build an RSA key from n and e; NULL, or why the key cannot be used. */
static const char *rsa_key(const cJSON *jwk, EVP_PKEY **ret)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	const char *fail = NULL;
	int bits;

	if (decode_member(jwk, "n", A0_RSA_MAX_BITS / 8 + 1, &n, &nlen) < 0 ||
	    decode_member(jwk, "e", 8, &e, &elen) < 0) {
		fail = "RSA n or e is not base64url of a bounded size";
		goto out;
	}
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn || !be || !bld) {
		fail = "out of memory";
		goto out;
	}
	bits = BN_num_bits(bn);
	if (bits < A0_RSA_MIN_BITS || bits > A0_RSA_MAX_BITS) {
		fail = "RSA key size is outside 2048-8192 bits";
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    !(*ret = public_key("RSA", bld)))
		fail = "RSA key is not valid";
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return fail;
}

/* Build a P-256 key from x and y; NULL, or why the key cannot be used. */
static const char *ec_key(const cJSON *jwk, EVP_PKEY **ret)
{
	const char *crv = a0_json_string(jwk, "crv");
	unsigned char *x = NULL, *y = NULL, point[65];
	size_t xlen = 0, ylen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	const char *fail = NULL;

	if (!crv || strcmp(crv, "P-256") != 0)
		return "EC curve is not P-256";
	if (decode_member(jwk, "x", 32, &x, &xlen) < 0 ||
	    decode_member(jwk, "y", 32, &y, &ylen) < 0 || xlen != 32 || ylen != 32) {
		fail = "EC x or y is not 32 bytes of base64url";
		goto out;
	}
	point[0] = 0x04; /* uncompressed: x then y */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    !(*ret = public_key("EC", bld)))
		fail = "EC point is not on P-256";
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return fail;
}

static const struct jwk *find_key(const struct a0_jwks *keys, const char *kid)
{
	for (size_t i = 0; i < keys->n; i++)
		if (strcmp(keys->keys[i].kid, kid) == 0)
			return &keys->keys[i];
	return NULL;
}

static enum kty kty_of(const char *kty)
{
	if (kty && strcmp(kty, "RSA") == 0)
		return KTY_RSA;
	if (kty && strcmp(kty, "EC") == 0)
		return KTY_EC;
	return KTY_OTHER;
}

/* 0 with k filled, 1 for a key without a kid (no token can name it), A0_ERR_MALFORMED. */
static int parse_key(const cJSON *item, struct jwk *k)
{
	const char *kid = a0_json_string(item, "kid"), *kty = a0_json_string(item, "kty");
	const char *use = a0_json_string(item, "use"), *alg = a0_json_string(item, "alg");

	memset(k, 0, sizeof(*k));
	if (!kid)
		return 1;
	if (!*kid || a0_str_copy(k->kid, sizeof(k->kid), kid) < 0)
		return A0_ERR_MALFORMED;
	/* An alg too long for the buffer names none we support: "" marks it below. */
	if (alg)
		(void)a0_str_copy(k->alg, sizeof(k->alg), alg);
	k->kty = kty_of(kty);
	if (alg && !k->alg[0])
		k->unusable = "key names an unsupported alg";
	else if (use && strcmp(use, "sig") != 0)
		k->unusable = "key is not for signatures";
	else if (k->kty == KTY_RSA)
		k->unusable = rsa_key(item, &k->pkey);
	else if (k->kty == KTY_EC)
		k->unusable = ec_key(item, &k->pkey);
	else
		k->unusable = "key type is not RSA or EC";
	return 0;
}

void a0_jwks_free(struct a0_jwks *keys)
{
	if (!keys)
		return;
	for (size_t i = 0; i < keys->n; i++)
		EVP_PKEY_free(keys->keys[i].pkey);
	free(keys);
}

int a0_jwks_parse(const char *text, size_t len, struct a0_jwks **ret)
{
	const cJSON *list, *item;
	struct a0_jwks *set = NULL;
	cJSON *root = NULL;
	int r;

	if (len > A0_JWKS_MAX_LEN)
		return A0_ERR_MALFORMED;
	r = a0_json_parse(text, len, &root);
	if (r < 0)
		return r;
	list = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "keys") : NULL;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > A0_JWKS_MAX_KEYS) {
		r = A0_ERR_MALFORMED;
		goto out;
	}
	set = calloc(1, sizeof(*set));
	if (!set) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	cJSON_ArrayForEach(item, list) {
		struct jwk *k = &set->keys[set->n];

		r = cJSON_IsObject(item) ? parse_key(item, k) : A0_ERR_MALFORMED;
		if (r == 0 && find_key(set, k->kid)) {
			EVP_PKEY_free(k->pkey); /* two keys for one kid: which would we trust? */
			r = A0_ERR_MALFORMED;
		}
		if (r < 0)
			break;
		if (r == 0)
			set->n++;
		r = 0;
	}
out:
	a0_json_free(root);
	if (r < 0) {
		a0_jwks_free(set);
		return r;
	}
	*ret = set;
	return 0;
}

size_t a0_jwks_count(const struct a0_jwks *keys, size_t *ret_usable)
{
	size_t usable = 0;

	for (size_t i = 0; i < keys->n; i++)
		if (keys->keys[i].pkey)
			usable++;
	if (ret_usable)
		*ret_usable = usable;
	return keys->n;
}

/* ---- the token ---- */

struct parts {
	const char *text[3]; /* header, payload, signature */
	size_t len[3];
};

static int split(const char *token, struct parts *p, char *reason, size_t reasonlen)
{
	size_t len = strnlen(token, A0_JWT_MAX_LEN + 1);
	const char *s = token, *end;

	if (len > A0_JWT_MAX_LEN)
		return invalid(reason, reasonlen, "malformed: longer than %d bytes",
			       A0_JWT_MAX_LEN);
	end = token + len;
	for (int i = 0; i < 3; i++) {
		const char *dot = memchr(s, '.', (size_t)(end - s));

		if ((i < 2) != (dot != NULL))
			return invalid(reason, reasonlen,
				       "malformed: not three dot-separated parts");
		p->text[i] = s;
		p->len[i] = (size_t)((dot ? dot : end) - s);
		s = dot ? dot + 1 : end;
	}
	return 0;
}

/* RFC 7519 4: a parser that keeps the first of two equal names (cJSON does) must refuse them,
 * or the claims we check could differ from those another reader sees. */
static bool unique_members(const cJSON *obj)
{
	for (const cJSON *a = obj->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return false;
	return true;
}

static int decode_json(const char *text, size_t len, const char *what, cJSON **ret, char *reason,
		       size_t reasonlen)
{
	unsigned char *raw = NULL;
	cJSON *json = NULL;
	size_t n = 0;
	int r;

	r = a0_b64url_decode(text, len, &raw, &n);
	if (r == A0_ERR_NOMEM)
		return r;
	if (r < 0)
		return invalid(reason, reasonlen, "malformed: %s is not base64url", what);
	r = a0_json_parse((const char *)raw, n, &json);
	a0_wipe_free(raw, n + 1);
	if (r < 0 || !cJSON_IsObject(json)) {
		a0_json_free(json);
		return invalid(reason, reasonlen, "malformed: %s is not a JSON object", what);
	}
	if (!unique_members(json)) {
		a0_json_free(json);
		return invalid(reason, reasonlen, "malformed: %s has a member name twice", what);
	}
	*ret = json;
	return 0;
}

/* Choose the key and algorithm the header asks for, refusing what we must not verify with. */
static int check_header(const cJSON *header, const struct a0_jwks *keys, const struct jwk **ret_key,
			size_t *ret_alg, char *reason, size_t reasonlen)
{
	const char *alg = a0_json_string(header, "alg"), *kid = a0_json_string(header, "kid");
	const struct jwk *key;
	char buf[A0_SHOW_MAX + 1];
	size_t i;

	if (!alg)
		return invalid(reason, reasonlen, "alg: missing");
	if (strcasecmp(alg, "none") == 0)
		return invalid(reason, reasonlen, "alg: none (an unsigned token)");
	/* An HMAC "signed" with the public key is the classic JWT forgery. */
	if (strncasecmp(alg, "HS", 2) == 0)
		return invalid(reason, reasonlen, "alg: %s (HMAC) is not accepted",
			       a0_show(alg, buf));
	for (i = 0; i < N_ALGS && strcmp(alg, algs[i].name) != 0; i++)
		;
	if (i == N_ALGS)
		return invalid(reason, reasonlen, "alg: %s is not RS256, PS256 or ES256",
			       a0_show(alg, buf));
	/* RFC 7515 4.1.11: a header extension we do not understand must fail. */
	if (cJSON_GetObjectItemCaseSensitive(header, "crit"))
		return invalid(reason, reasonlen, "crit: header extensions are not supported");
	if (!kid)
		return why(A0_ERR_UNKNOWN_KID, reason, reasonlen, "kid: missing");
	key = find_key(keys, kid);
	if (!key)
		return why(A0_ERR_UNKNOWN_KID, reason, reasonlen,
			   "kid: '%s' is not in the tenant's JWKS", a0_show(kid, buf));
	if (!key->pkey)
		return invalid(reason, reasonlen, "kid: '%s': %s", a0_show(kid, buf),
			       key->unusable);
	if (key->kty != algs[i].kty || (key->alg[0] && strcmp(key->alg, alg) != 0))
		return invalid(reason, reasonlen, "alg: %s does not match key '%s'", algs[i].name,
			       a0_show(kid, buf));
	*ret_key = key;
	*ret_alg = i;
	return 0;
}

/* ES256 signatures are r||s (RFC 7518 3.4); OpenSSL verifies DER. */
static int es256_to_der(const unsigned char *sig, size_t len, unsigned char **ret, size_t *ret_len)
{
	ECDSA_SIG *s;
	BIGNUM *r, *t;
	unsigned char *der = NULL;
	int n;

	if (len != 64)
		return -1;
	s = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	t = BN_bin2bn(sig + 32, 32, NULL);
	if (!s || !r || !t || ECDSA_SIG_set0(s, r, t) != 1) {
		BN_free(r);
		BN_free(t);
		ECDSA_SIG_free(s);
		return -1;
	}
	n = i2d_ECDSA_SIG(s, &der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -1;
	*ret = der;
	*ret_len = (size_t)n;
	return 0;
}

static bool signature_ok(const struct jwk *key, size_t alg, const char *data, size_t len,
			 const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	bool ok = false;

	if (!md)
		goto out;
	if (algs[alg].kty == KTY_EC) {
		if (es256_to_der(sig, siglen, &der, &siglen) < 0)
			goto out;
		sig = der;
	}
	if (EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, key->pkey, NULL) != 1)
		goto out;
	if (algs[alg].kty == KTY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, algs[alg].padding) != 1)
		goto out;
	/* RFC 7518 3.5: MGF1 with SHA-256 and a salt as long as the hash, nothing else. */
	if (algs[alg].padding == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
		goto out;
	ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, len) == 1;
out:
	/* Leave no error behind for the application's own use of OpenSSL. */
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

/* 0 and the date, 1 when absent and optional, A0_ERR_TOKEN_INVALID. */
static int numeric_date(const cJSON *claims, const char *name, bool required, long long *ret,
			char *reason, size_t reasonlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);

	if (!item && !required)
		return 1;
	if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble < MAX_DATE))
		return invalid(reason, reasonlen, "%s: missing or not a date", name);
	*ret = (long long)item->valuedouble;
	return 0;
}

static int check_audience(const cJSON *claims, const char *client_id, char *reason,
			  size_t reasonlen)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *item;
	const cJSON *azp = cJSON_GetObjectItemCaseSensitive(claims, "azp");
	bool found = false;
	int n = 0;

	if (cJSON_IsString(aud)) {
		n = 1;
		found = strcmp(aud->valuestring, client_id) == 0;
	} else if (cJSON_IsArray(aud)) {
		cJSON_ArrayForEach(item, aud) {
			if (!cJSON_IsString(item) || ++n > MAX_AUD)
				return invalid(reason, reasonlen,
					       "aud: not a list of at most %d strings", MAX_AUD);
			found = found || strcmp(item->valuestring, client_id) == 0;
		}
	}
	if (!found)
		return invalid(reason, reasonlen, "aud: does not name this client_id");
	/* OpenID Connect Core 3.1.3.7: azp, when present, and always with several audiences,
	 * must be this client. */
	if (azp && !(cJSON_IsString(azp) && strcmp(azp->valuestring, client_id) == 0))
		return invalid(reason, reasonlen, "azp: is not this client_id");
	if (n > 1 && !azp)
		return invalid(reason, reasonlen, "azp: missing although aud has several values");
	return 0;
}

static int check_times(const cJSON *claims, const struct a0_jwt_expect *e, char *reason,
		       size_t reasonlen)
{
	long long now = (long long)e->now, skew = e->leeway, exp = 0, iat = 0, nbf = 0;
	int r;

	r = numeric_date(claims, "exp", true, &exp, reason, reasonlen);
	if (r < 0)
		return r;
	if (exp + skew <= now)
		return invalid(reason, reasonlen, "exp: expired %lld s ago", now - exp);
	r = numeric_date(claims, "iat", true, &iat, reason, reasonlen);
	if (r < 0)
		return r;
	if (iat > now + skew)
		return invalid(reason, reasonlen, "iat: %lld s in the future", iat - now);
	r = numeric_date(claims, "nbf", false, &nbf, reason, reasonlen);
	if (r < 0)
		return r;
	if (r == 0 && nbf > now + skew)
		return invalid(reason, reasonlen, "nbf: %lld s in the future", nbf - now);
	return 0;
}

static int check_claims(const cJSON *claims, const struct a0_jwt_expect *e, char *reason,
			size_t reasonlen)
{
	const char *iss = a0_json_string(claims, "iss"), *sub = a0_json_string(claims, "sub");
	char buf[A0_SHOW_MAX + 1];
	int r;

	if (!iss || strcmp(iss, e->issuer) != 0)
		return invalid(reason, reasonlen, "iss: '%s' is not '%s'", a0_show(iss, buf),
			       e->issuer);
	if (!sub || !*sub)
		return invalid(reason, reasonlen, "sub: missing");
	r = check_audience(claims, e->client_id, reason, reasonlen);
	if (r == 0)
		r = check_times(claims, e, reason, reasonlen);
	return r;
}

int a0_jwt_verify(const char *token, const struct a0_jwks *keys, const struct a0_jwt_expect *expect,
		  cJSON **ret_claims, char *reason, size_t reasonlen)
{
	const struct jwk *key = NULL;
	cJSON *header = NULL, *claims = NULL;
	unsigned char *sig = NULL;
	size_t alg = 0, siglen = 0;
	struct parts p;
	char buf[A0_SHOW_MAX + 1];
	int r;

	r = split(token, &p, reason, reasonlen);
	if (r == 0)
		r = decode_json(p.text[0], p.len[0], "header", &header, reason, reasonlen);
	if (r == 0)
		r = check_header(header, keys, &key, &alg, reason, reasonlen);
	if (r == 0) {
		r = a0_b64url_decode(p.text[2], p.len[2], &sig, &siglen);
		if (r == A0_ERR_MALFORMED)
			r = invalid(reason, reasonlen, "malformed: signature is not base64url");
	}
	if (r == 0 && !signature_ok(key, alg, p.text[0], p.len[0] + 1 + p.len[1], sig, siglen))
		r = invalid(reason, reasonlen, "signature: does not verify with key '%s'",
			    a0_show(key->kid, buf));
	/* The payload is parsed only once it is known to come from the tenant. */
	if (r == 0)
		r = decode_json(p.text[1], p.len[1], "payload", &claims, reason, reasonlen);
	if (r == 0)
		r = check_claims(claims, expect, reason, reasonlen);
	a0_json_free(header);
	free(sig);
	if (r < 0) {
		a0_json_free(claims);
		return r;
	}
	*ret_claims = claims;
	return 0;
}
