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

#include <stdbool.h>
#include <stddef.h>

#include "keyring/record.h"
#include "lib/auth0.h"
#include "lib/mfa.h"

#define A0_TENANT_MODULE "auth0-credentials-tenant.so"
#define A0_TENANT_SYMBOL "a0_tenant"

/* What `auth0-credentials login` asks of the tenant module. */
struct a0_tenant_login {
	const char *config; /* the pam_auth0 configuration file; NULL: A0_DEFAULT_CONFIG */
	bool device;        /* the device authorization flow, else password and MFA */
	const struct a0_prompter *prompter;
	unsigned timeout; /* seconds per request; 0: the configuration's */
};

/*
 * The sign-in of the account of the caller's uid with the configuration's tenant, application,
 * DPoP setting and identity binding (signin.c): 0 and the record the module would store;
 * A0_ERR_POLICY (res->description: why) when the identity is not the one bound to the account;
 * A0_ERR_CONFIG, a grant's or the ID token's error, A0_ERR_CONV when the person gave up.
 */
int a0_tenant_login(const struct a0_tenant_login *req, struct a0_record **ret,
		    struct a0_result *res);
/* Store it as pam_sm_open_session does (keyring/login.h a0_login_store), as the caller. */
int a0_tenant_store_login(const struct a0_record *rec, bool user_keyring, struct a0_result *res);

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
	/*
	 * GET /userinfo with the record's access token (a DPoP record's: the DPoP scheme and a
	 * proof signed by its key). 0 and the JSON object on one line (a0_secret_free).
	 */
	int (*userinfo)(const struct a0_record *rec, unsigned timeout, char **ret,
			struct a0_result *res);
	/*
	 * Custom Token Exchange (a0_grant_token_exchange) at tenant (domain, client_id, ca_file
	 * of the record; its tokens are not used), as a public application.
	 */
	int (*exchange)(const struct a0_record *tenant, unsigned timeout, const char *subject_token,
			const char *subject_token_type, const char *audience, const char *scope,
			struct a0_tokens **ret, struct a0_result *res);
	/* A sign-in from inside a session (signin.c), and storing its record. */
	int (*login)(const struct a0_tenant_login *req, struct a0_record **ret,
		     struct a0_result *res);
	int (*store_login)(const struct a0_record *rec, bool user_keyring, struct a0_result *res);
};

extern const struct a0_tenant a0_tenant;

#endif
