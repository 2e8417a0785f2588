/* SPDX-License-Identifier: MIT */
/*
 * admin/diag.h: the parts of auth0-pam(8)'s diagnostics that talk to the tenant or read the
 * host's runtime state, called from the verb table in admin/main.c. Each adds its findings to r
 * (admin/report.h) and returns 0, or A0_ERR_NOMEM / A0_ERR_SYSTEM when it could not run at all
 * (a finding is not an error: an unreachable tenant is a failure finding and a return of 0).
 */
#ifndef A0_ADMIN_DIAG_H
#define A0_ADMIN_DIAG_H

#include "admin/report.h"
#include "lib/conf.h"

/* check, the tenant: step by step DNS, TCP, TLS with the configured CA (ca_file, or the
 * system's), /.well-known/openid-configuration (its issuer), the JWKS; the clock skew against
 * the tenant's Date header; which grants the application allows, by harmless requests. Stops at
 * the first step that fails, and says which. Findings ids: auth0-pam(8), DIAGNOSTICS. */
int a0_diag_tenant(const struct a0_config *cfg, struct a0_report *r);

/* status: online or known-offline and the next check (lib/outage.h), the identity cache's age,
 * the offline deadlines per user (root: lib/offline.h), the broker's state. */
int a0_diag_status(const struct a0_config *cfg, struct a0_report *r);

#endif
