/* SPDX-License-Identifier: MIT */
/* private_key_jwt client assertions (assertion.h): auth0-sync's and auth0-broker's. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "lib/assertion.h"
#include "lib/base64url.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/jwt.h"
#include "lib/secret.h"
#include "lib/util.h"

struct a0_client_key {
	EVP_PKEY *pkey;
};

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1; /* an encrypted key cannot be read unattended */
}

int a0_client_key_load(const char *path, const char *key, struct a0_client_key **ret, char *err,
		       size_t errlen)
{
	struct a0_client_key *k = NULL;
	char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int bits, r;

	r = a0_config_read_secret(path, key, A0_MAX_PRIVATE_KEY, false, &pem, &len, err, errlen);
	if (r < 0)
		return r;
	r = A0_ERR_NOMEM;
	k = calloc(1, sizeof(*k));
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!k || !bio)
		goto out;
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!k->pkey) {
		a0_format(err, errlen, "%s: %s: not an unencrypted PEM private key", path, key);
		r = A0_ERR_CONFIG;
		goto out;
	}
	/* Auth0 takes RS256, RS384 and PS256 client assertions: an RSA key. */
	bits = EVP_PKEY_get_bits(k->pkey);
	if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA || bits < A0_RSA_MIN_BITS ||
	    bits > A0_RSA_MAX_BITS) {
		a0_format(err, errlen,
			  "%s: %s: Auth0 takes RSA keys of %d to %d bits for private_key_jwt (RS256)",
			  path, key, A0_RSA_MIN_BITS, A0_RSA_MAX_BITS);
		r = A0_ERR_CONFIG;
		goto out;
	}
	*ret = k;
	k = NULL;
	r = 0;
out:
	a0_client_key_free(k);
	BIO_free(bio);
	a0_wipe_free(pem, len);
	return r;
}

void a0_client_key_free(struct a0_client_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* A random jti: 32 hex digits. */
static int new_jti(char jti[33])
{
	unsigned char rnd[16];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return A0_ERR_SYSTEM;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/* The JWT of claims signed RS256 by k, with typ in its header: 0 and *ret, or an A0_ERR_*. */
static int sign_jwt(const struct a0_client_key *k, const char *typ, const cJSON *claims, char **ret)
{
	unsigned char *sig = NULL;
	char *head = NULL, *body = NULL, *input = NULL, *s = NULL, *json = NULL, *header = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = 0;
	int r = A0_ERR_NOMEM;

	if (asprintf(&header, "{\"alg\":\"RS256\",\"typ\":\"%s\"}", typ) < 0) {
		header = NULL;
		goto out;
	}
	json = cJSON_PrintUnformatted(claims);
	if (!json)
		goto out;
	if (a0_b64url_encode(header, strlen(header), &head) < 0 ||
	    a0_b64url_encode(json, strlen(json), &body) < 0)
		goto out;
	if (asprintf(&input, "%s.%s", head, body) < 0) {
		input = NULL;
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	r = A0_ERR_SYSTEM;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		goto out;
	sig = malloc(siglen);
	if (!sig ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		goto out;
	r = A0_ERR_NOMEM;
	free(body);
	body = NULL;
	if (a0_b64url_encode(sig, siglen, &body) < 0 || asprintf(&s, "%s.%s", input, body) < 0)
		goto out;
	*ret = s;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(head);
	free(body);
	free(input);
	a0_secret_free(json);
	free(header);
	return r;
}

/*
 * Sign a JWT of typ for the tenant at domain: iss client_id, sub, aud https://DOMAIN/, iat now,
 * exp lifetime later, a random jti, and audit_context when not NULL.
 */
static int sign_claims(const struct a0_client_key *k, const char *typ, const char *client_id,
		       const char *domain, const char *sub, long lifetime,
		       const char *audit_context, char **ret)
{
	char jti[33], *aud = NULL;
	cJSON *o = NULL;
	time_t now = time(NULL);
	int r;

	if ((r = new_jti(jti)) < 0)
		return r;
	r = A0_ERR_NOMEM;
	if (asprintf(&aud, "https://%s/", domain) < 0) {
		aud = NULL;
		goto out;
	}
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "iss", client_id) ||
	    !cJSON_AddStringToObject(o, "sub", sub) || !cJSON_AddStringToObject(o, "aud", aud) ||
	    !cJSON_AddNumberToObject(o, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(o, "exp", (double)(now + lifetime)) ||
	    !cJSON_AddStringToObject(o, "jti", jti) ||
	    (audit_context && !cJSON_AddStringToObject(o, "audit_context", audit_context)))
		goto out;
	r = sign_jwt(k, typ, o, ret);
out:
	free(aud);
	cJSON_Delete(o);
	return r;
}

int a0_client_assertion(const struct a0_client_key *k, const char *client_id, const char *domain,
			char **ret)
{
	return sign_claims(k, "JWT", client_id, domain, client_id, A0_ASSERTION_LIFETIME, NULL,
			   ret);
}

int a0_worker_token(const struct a0_client_key *k, const char *client_id, const char *domain,
		    const char *subject, const char *audit_context, char **ret)
{
	size_t n = audit_context ? strlen(audit_context) : 0;

	if (!subject || !*subject || n == 0 || n > A0_WORKER_MAX_AUDIT)
		return A0_ERR_INVALID;
	return sign_claims(k, A0_WORKER_TYP, client_id, domain, subject, A0_WORKER_LIFETIME,
			   audit_context, ret);
}
