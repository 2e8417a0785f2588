/* SPDX-License-Identifier: MIT */
#ifndef A0_TENANT_H
#define A0_TENANT_H

/*
 * The requests libauth0-credentials sends to the tenant (refresh grants and revocation, through
 * lib/auth0.c over libcurl and OpenSSL) are in a module of their own, auth0-credentials-tenant.so,
 * installed next to the library, which loads it (dlopen) when a job needs the tenant. So the
 * library itself links neither libcurl nor OpenSSL: a program that only reads the keyring, such
 * as a cached `auth0-credentials get` or has-valid, never loads them and the two dozen
 * libraries behind them, which took several times as long as the rest of such a run.
 */

#include <stddef.h>

#include "keyring/record.h"
#include "lib/auth0.h"

#define A0_TENANT_MODULE "auth0-credentials-tenant.so"
#define A0_TENANT_SYMBOL "a0_tenant"

/* The module's one export, A0_TENANT_SYMBOL. */
struct a0_tenant {
	const char *version; /* PACKAGE_VERSION: the module must come from the library's build */
	/*
	 * The refresh token grant at the record's tenant, for its client (timeout in seconds),
	 * with extra header lines (name and value, checked by the caller: a0_cm_headers_check).
	 */
	int (*refresh)(const struct a0_record *main, unsigned timeout, const char *scope,
		       const char *audience, const struct a0_param *params, size_t n_params,
		       const struct a0_param *headers, size_t n_headers, struct a0_tokens **ret,
		       struct a0_result *res);
	/* Revoke the record's refresh token. */
	int (*revoke)(const struct a0_record *main, unsigned timeout, struct a0_result *res);
	/* Token Vault's refresh-token exchange; NULL when this tenant cannot (a public
	 * application: Token Vault needs the client's authentication). */
	int (*vault)(const struct a0_record *main, unsigned timeout, const char *connection,
		     const char *login_hint, const char *scope, struct a0_tokens **ret,
		     struct a0_result *res);
};

extern const struct a0_tenant a0_tenant;

#endif
