/* SPDX-License-Identifier: MIT */
/*
 * admin/tenant.c: TEMPORARY, the diag branch's placeholder for admin/diag.h. The `net` branch
 * writes the real file of the same name (the tenant step by step, the runtime state); the lead
 * replaces this one with it at the merge. The tests of the diag branch do not depend on it.
 */
#include "config.h"

#include "admin/diag.h"

int a0_diag_tenant(const struct a0_config *cfg, struct a0_report *r)
{
	(void)cfg;
	a0_report_add(r, A0_SEV_INFO, "tenant", NULL, "not built in this branch");
	return 0;
}

int a0_diag_status(const struct a0_config *cfg, struct a0_report *r)
{
	(void)cfg;
	a0_report_add(r, A0_SEV_INFO, "status", NULL, "not built in this branch");
	return 0;
}
