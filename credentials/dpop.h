/* SPDX-License-Identifier: MIT */
#ifndef A0_CREDENTIALS_DPOP_H
#define A0_CREDENTIALS_DPOP_H

/*
 * auth0-credentials-dpop.so: the DPoP proofs a session process sends with its API calls
 * (lib/dpop.h), in a module of their own that the library loads from its directory when a
 * DPoP-bound token needs headers. It links Nettle, not libcurl nor OpenSSL: a cached
 * `auth0-credentials get --format header` of a DPoP session loads no network or TLS library,
 * and a bearer session's not even Nettle.
 */

#include <stddef.h>

#include "lib/dpop.h"

#define A0_DPOP_MODULE "auth0-credentials-dpop.so"
#define A0_DPOP_SYMBOL "a0_dpop_module"

/* The module's one export, A0_DPOP_SYMBOL. */
struct a0_dpop_module {
	const char *version; /* PACKAGE_VERSION: the module must come from the library's build */
	/*
	 * A proof for a request (htm, htu) with access_token (its ath), signed by the private JWK
	 * key_text (a record's dpop_key), now. 0 and *ret (free with a0_secret_free);
	 * A0_ERR_MALFORMED (not a key), A0_ERR_INVALID (htm or htu), A0_ERR_SYSTEM, A0_ERR_NOMEM.
	 */
	int (*proof)(const char *key_text, const char *htm, const char *htu,
		     const char *access_token, char **ret);
	/* The key's thumbprint (cnf.jkt of the tokens bound to it). */
	int (*thumbprint)(const char *key_text, char out[A0_DPOP_JKT_LEN + 1]);
};

/* The module, loaded once from the library's directory (credentials.c): 0 and *ret, or
 * A0_ERR_SYSTEM with the reason in err. */
int a0_dpop_module_load(const struct a0_dpop_module **ret, char *err, size_t errlen);

#endif
