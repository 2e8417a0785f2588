/* SPDX-License-Identifier: MIT */
/*
 * DPoP keys and proofs (dpop.h, RFC 9449) with Nettle's ECDSA (hogweed) over GMP. Not OpenSSL:
 * its per-process start (providers, algorithm fetches) costs several milliseconds of CPU, which
 * a session process that signs one proof and exits would pay each time (bench/results.md).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <cjson/cJSON.h>
#include <gmp.h>
#include <nettle/dsa.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/sha2.h>

#include "lib/base64url.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "lib/util.h"

#define COORD 32                       /* bytes of a P-256 coordinate, or of the scalar d */
#define COORD_B64 A0_B64URL_LEN(COORD) /* 43 */
#define SIG_BYTES (2 * COORD)          /* ES256's r||s */
#define JTI_BYTES 16                   /* 128 random bits */
#define HASH_B64 A0_B64URL_LEN(SHA256_DIGEST_SIZE)

_Static_assert(HASH_B64 == A0_DPOP_JKT_LEN, "a thumbprint is a base64url SHA-256");

/* The one canonical form of RFC 7638 for an EC key: members sorted, no blanks. */
#define JKT_FORMAT "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}"
/* The private JWK the record keeps (dpop.h); x, y and d are base64url, so nothing to escape. */
#define KEY_FORMAT "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}"

struct a0_dpop_key {
	struct ecc_scalar d; /* the private scalar (a secret: wiped before it is freed) */
	struct ecc_point q;  /* the public point d·G */
	bool has_d, has_q;
	char x[COORD_B64 + 1], y[COORD_B64 + 1]; /* the public point, base64url */
	char *header; /* every proof's header, base64url (the same for each: made once) */
};

/* Nettle's randomness callback over getrandom(2); a failure is remembered, never ignored. */
struct randomness {
	bool failed;
};

static void random_bytes(void *ctx, size_t n, uint8_t *out)
{
	struct randomness *rng = ctx;

	while (n > 0) {
		ssize_t got = getrandom(out, n, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rng->failed = true;
			memset(out, 0, n);
			return;
		}
		out += got;
		n -= (size_t)got;
	}
}

static void sha256(const void *in, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, in);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
	explicit_bzero(&ctx, sizeof(ctx));
}

/* A number below 2^256 as exactly COORD big-endian bytes. */
static int to_coord(const mpz_t v, unsigned char out[COORD])
{
	size_t n = mpz_sgn(v) == 0 ? 0 : (mpz_sizeinbase(v, 2) + 7) / 8;

	if (mpz_sgn(v) < 0 || n > COORD)
		return A0_ERR_SYSTEM;
	memset(out, 0, COORD);
	if (n > 0)
		mpz_export(out + COORD - n, NULL, 1, 1, 1, 0, v);
	return 0;
}

/* Wipe a number that held a secret, then free it. */
static void clear_secret(mpz_t v)
{
	size_t n = mpz_size(v);

	if (n > 0)
		explicit_bzero(mpz_limbs_modify(v, (mp_size_t)n), n * sizeof(mp_limb_t));
	mpz_clear(v);
}

void a0_dpop_key_free(struct a0_dpop_key *k)
{
	if (!k)
		return;
	if (k->has_d) {
		explicit_bzero(k->d.p, (size_t)ecc_size(k->d.ecc) * sizeof(mp_limb_t));
		ecc_scalar_clear(&k->d);
	}
	if (k->has_q)
		ecc_point_clear(&k->q);
	free(k->header);
	free(k);
}

/* A key with room for its scalar and point on P-256, both unset. */
static struct a0_dpop_key *key_alloc(void)
{
	struct a0_dpop_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	ecc_scalar_init(&k->d, nettle_get_secp_256r1());
	k->has_d = true;
	ecc_point_init(&k->q, nettle_get_secp_256r1());
	k->has_q = true;
	return k;
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

/* What a key needs besides its scalar and point: the point's text and the proofs' header. */
static int finish(struct a0_dpop_key *k)
{
	unsigned char raw[COORD];
	mpz_t x, y;
	int r;

	mpz_init(x);
	mpz_init(y);
	ecc_point_get(&k->q, x, y);
	if ((r = to_coord(x, raw)) == 0) {
		a0_b64url_encode_to(raw, COORD, k->x);
		if ((r = to_coord(y, raw)) == 0)
			a0_b64url_encode_to(raw, COORD, k->y);
	}
	mpz_clear(x);
	mpz_clear(y);
	return r < 0 ? r : make_header(k);
}

int a0_dpop_key_new(struct a0_dpop_key **ret)
{
	struct a0_dpop_key *k = key_alloc();
	struct randomness rng = { false };
	int r = A0_ERR_NOMEM;

	if (!k)
		goto out;
	ecdsa_generate_keypair(&k->q, &k->d, &rng, random_bytes);
	if (rng.failed) {
		r = A0_ERR_SYSTEM;
		goto out;
	}
	if ((r = finish(k)) < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	a0_dpop_key_free(k);
	return r;
}

int a0_dpop_key_export(const struct a0_dpop_key *k, char **ret)
{
	unsigned char raw[COORD];
	char d[COORD_B64 + 1], *text = NULL;
	mpz_t v;
	int n, r;

	if (!k)
		return A0_ERR_INVALID;
	mpz_init(v);
	ecc_scalar_get(&k->d, v);
	r = to_coord(v, raw);
	clear_secret(v);
	if (r < 0)
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
 * k's scalar d and point (x, y), once Nettle agrees that the point is on the curve and d is in
 * range (0 < d < n), and d·G is the point: 0, or A0_ERR_MALFORMED.
 */
static int keypair(struct a0_dpop_key *k, const unsigned char x[COORD],
		   const unsigned char y[COORD], const unsigned char d[COORD])
{
	struct ecc_point check;
	mpz_t mx, my, md, cx, cy;
	int r = A0_ERR_MALFORMED;

	mpz_inits(mx, my, md, cx, cy, NULL);
	mpz_import(mx, COORD, 1, 1, 1, 0, x);
	mpz_import(my, COORD, 1, 1, 1, 0, y);
	mpz_import(md, COORD, 1, 1, 1, 0, d);
	ecc_point_init(&check, nettle_get_secp_256r1());
	if (ecc_point_set(&k->q, mx, my) != 1 || ecc_scalar_set(&k->d, md) != 1)
		goto out;
	ecc_point_mul_g(&check, &k->d);
	ecc_point_get(&check, cx, cy);
	if (mpz_cmp(cx, mx) == 0 && mpz_cmp(cy, my) == 0)
		r = 0;
out:
	ecc_point_clear(&check);
	clear_secret(md);
	mpz_clears(mx, my, cx, cy, NULL);
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
	k = key_alloc();
	if (!k)
		goto out;
	if ((r = keypair(k, x, y, d)) < 0 || (r = finish(k)) < 0)
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
	unsigned char digest[SHA256_DIGEST_SIZE];
	int n;

	if (!coord_ok(x) || !coord_ok(y))
		return A0_ERR_INVALID;
	n = snprintf(canon, sizeof(canon), JKT_FORMAT, x, y);
	if (n < 0 || (size_t)n >= sizeof(canon))
		return A0_ERR_INVALID;
	sha256(canon, (size_t)n, digest);
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

/* ES256 of len bytes at in by k, as JWS wants it: r||s, each left-padded to COORD bytes. */
static int sign_es256(const struct a0_dpop_key *k, const char *in, size_t len,
		      unsigned char out[SIG_BYTES])
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct randomness rng = { false };
	struct dsa_signature sig;
	int r = A0_ERR_SYSTEM;

	dsa_signature_init(&sig);
	sha256(in, len, digest);
	ecdsa_sign(&k->d, &rng, random_bytes, sizeof(digest), digest, &sig);
	if (!rng.failed && to_coord(sig.r, out) == 0 && to_coord(sig.s, out + COORD) == 0)
		r = 0;
	dsa_signature_clear(&sig);
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
	unsigned char rnd[JTI_BYTES], digest[SHA256_DIGEST_SIZE], sig[SIG_BYTES];
	struct randomness rng = { false };
	char *claims = NULL, *jwt = NULL;
	size_t head, body, size = 0, n;
	int r;

	if (!k || !htm_ok(htm) || htu_of(htu, url) < 0 || (nonce && !a0_dpop_nonce_ok(nonce)) ||
	    (access_token && !*access_token) || now < 0)
		return A0_ERR_INVALID;
	r = A0_ERR_SYSTEM;
	random_bytes(&rng, sizeof(rnd), rnd);
	if (rng.failed)
		goto out;
	a0_b64url_encode_to(rnd, sizeof(rnd), jti);
	if (access_token) {
		sha256(access_token, strlen(access_token), digest);
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
	if ((r = sign_es256(k, jwt, n, sig)) < 0)
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
	return r;
}
