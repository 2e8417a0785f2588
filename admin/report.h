/* SPDX-License-Identifier: MIT */
/*
 * admin/report.h: what a diagnostics verb of auth0-pam(8) found (check, status, test-login), one
 * finding at a time, printed once at the end as text or as JSON. The exit code follows the worst
 * finding: 0 all ok, 1 warnings, 2 failures (auth0-pam(8), DIAGNOSTICS).
 *
 * A finding has a stable id an administrator may alert on (e.g. "secret-mode", "tls-ca",
 * "account-not-final"; the list is in auth0-pam(8)), a subject (the file, PAM service, sshd
 * setting or network step it is about) and one sentence of text. Text that came from outside
 * (file contents, the tenant's answers) is stripped of control characters and bounded before it
 * is stored.
 */
#ifndef A0_ADMIN_REPORT_H
#define A0_ADMIN_REPORT_H

#include <stdbool.h>
#include <stdio.h>

enum a0_severity {
	A0_SEV_OK = 0,  /* a check that passed (shown, so the report says what was checked) */
	A0_SEV_INFO,    /* a fact (the tenant's clock skew, a grant the application allows) */
	A0_SEV_WARNING, /* works, but not as recommended: exit 1 */
	A0_SEV_FAILURE, /* does not work, or is unsafe: exit 2 */
};

enum { A0_REPORT_OK = 0, A0_REPORT_WARNINGS = 1, A0_REPORT_FAILURES = 2 };

struct a0_report;

/* A new, empty report for VERB ("check", "status", "test-login"): 0 or A0_ERR_NOMEM. */
int a0_report_new(const char *verb, struct a0_report **ret);
void a0_report_free(struct a0_report *r);

/* One finding. id: a stable lower-case identifier; subject: what it is about (may be NULL);
 * text: printf-style, one sentence. Out of memory is remembered and reported as a failure. */
void a0_report_add(struct a0_report *r, enum a0_severity sev, const char *id, const char *subject,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A named value for the JSON form and the text form's header lines (status: "online": "yes"),
 * in the order added. */
void a0_report_set(struct a0_report *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The worst severity so far as an exit code: A0_REPORT_OK, _WARNINGS or _FAILURES. */
int a0_report_exit(const struct a0_report *r);

/* Text: one line per finding, "ok|info|warning|failure  id  subject: text", then a summary line.
 * JSON: {"verb":…, "values":{…}, "findings":[{"severity","id","subject","text"}…],
 * "warnings":N, "failures":N, "exit":N}. Returns 0, or A0_ERR_SYSTEM when f fails. */
int a0_report_print(const struct a0_report *r, FILE *f, bool json);

#endif
