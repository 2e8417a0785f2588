/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/sign.h"

static EVP_PKEY *load(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (!key) {
		fprintf(stderr, "fuzz: cannot load the fuzzers' test key\n");
		abort();
	}
	return key;
}

#define B64LEN(n) (((n) + 2) / 3 * 4)

static size_t b64url(const unsigned char *in, size_t len, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (len - i == 1) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 8 | in[i + 1];

		out[o++] = abc[v >> 10];
		out[o++] = abc[(v >> 4) & 63];
		out[o++] = abc[(v & 15) << 2];
	}
	return o;
}

/* The signature over data as JWS wants it (r||s for ES256); 0 or -1. */
static int sign(enum fuzz_alg alg, const char *data, size_t len, unsigned char *sig, size_t *siglen)
{
	static EVP_PKEY *rsa, *ec;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char der[80];
	size_t derlen = sizeof(der);
	int r = -1;

	if (!rsa) {
		rsa = load(fuzz_rsa_pem);
		ec = load(fuzz_ec_pem);
	}
	if (!md ||
	    EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, alg == FUZZ_ES256 ? ec : rsa) != 1)
		goto out;
	if (alg == FUZZ_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	if (alg != FUZZ_ES256) {
		r = EVP_DigestSign(md, sig, siglen, (const unsigned char *)data, len) == 1 ? 0 : -1;
		goto out;
	}
	if (EVP_DigestSign(md, der, &derlen, (const unsigned char *)data, len) == 1) {
		const unsigned char *p = der;
		ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);

		if (s && BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 &&
		    BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32) {
			*siglen = 64;
			r = 0;
		}
		ECDSA_SIG_free(s);
	}
out:
	EVP_MD_CTX_free(md);
	return r;
}

char *fuzz_sign(enum fuzz_alg alg, const void *header, size_t header_len, const void *payload,
		size_t payload_len)
{
	unsigned char sig[512];
	size_t siglen = sizeof(sig), n;
	char *out = malloc(B64LEN(header_len) + B64LEN(payload_len) + B64LEN(sizeof(sig)) + 3);

	if (!out)
		return NULL;
	n = b64url(header, header_len, out);
	out[n++] = '.';
	n += b64url(payload, payload_len, out + n);
	if (sign(alg, out, n, sig, &siglen) < 0) {
		free(out);
		return NULL;
	}
	out[n++] = '.';
	n += b64url(sig, siglen, out + n);
	out[n] = '\0';
	return out;
}
