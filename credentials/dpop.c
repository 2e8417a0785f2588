/* SPDX-License-Identifier: MIT */
/*
 * auth0-credentials-dpop.so (credentials/dpop.h): a record's DPoP key, imported for each call and
 * freed (wiped) at once. Exports A0_DPOP_SYMBOL only.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "credentials/dpop.h"
#include "lib/error.h"

/* A record's key text (NULL: none) as a key. */
static int import(const char *key_text, struct a0_dpop_key **ret)
{
	return key_text ? a0_dpop_key_import(key_text, strlen(key_text), ret) : A0_ERR_MALFORMED;
}

static int proof(const char *key_text, const char *htm, const char *htu, const char *access_token,
		 char **ret)
{
	struct a0_dpop_key *k = NULL;
	int r;

	if ((r = import(key_text, &k)) < 0)
		return r;
	r = a0_dpop_proof(k, htm, htu, NULL, access_token, time(NULL), ret);
	a0_dpop_key_free(k);
	return r;
}

static int thumbprint(const char *key_text, char out[A0_DPOP_JKT_LEN + 1])
{
	struct a0_dpop_key *k = NULL;
	int r;

	if ((r = import(key_text, &k)) < 0)
		return r;
	r = a0_dpop_thumbprint(k, out);
	a0_dpop_key_free(k);
	return r;
}

__attribute__((visibility("default"))) const struct a0_dpop_module a0_dpop_module = {
	.version = PACKAGE_VERSION,
	.proof = proof,
	.thumbprint = thumbprint,
};
