/* SPDX-License-Identifier: MIT */
/*
 * admin/report.c: the findings of a diagnostics verb (admin/report.h), kept in order and printed
 * once, as text or as JSON (cJSON). Every string is copied into a bounded field and stripped of
 * control characters as it is added: file contents and the tenant's answers reach a terminal.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin/report.h"
#include "lib/error.h"
#include "lib/util.h"

#define MAX_FINDINGS 2048 /* more are counted (and set the exit code), not kept */
#define MAX_VALUES 64
#define MAX_ID 48
#define MAX_SUBJECT 256
#define MAX_TEXT 768
#define MAX_KEY 48
#define MAX_VALUE 512
#define MAX_VERB 32

struct finding {
	enum a0_severity sev;
	char id[MAX_ID];
	char subject[MAX_SUBJECT];
	char text[MAX_TEXT];
};

struct value {
	char key[MAX_KEY];
	char value[MAX_VALUE];
};

struct a0_report {
	char verb[MAX_VERB];
	struct finding *findings;
	size_t n, cap;
	struct value values[MAX_VALUES];
	size_t n_values;
	unsigned warnings, failures, dropped;
	bool nomem;
};

static const char *const severity_names[] = {
	[A0_SEV_OK] = "ok",
	[A0_SEV_INFO] = "info",
	[A0_SEV_WARNING] = "warning",
	[A0_SEV_FAILURE] = "failure",
};

/* Copy src (may be NULL) into dst, cut to fit, control characters replaced. */
static void put(char *dst, size_t size, const char *src)
{
	a0_format(dst, size, "%s", src ? src : "");
	a0_text_scrub(dst, strlen(dst), A0_TEXT_LINE);
}

int a0_report_new(const char *verb, struct a0_report **ret)
{
	struct a0_report *r = calloc(1, sizeof(*r));

	if (!r)
		return A0_ERR_NOMEM;
	put(r->verb, sizeof(r->verb), verb);
	*ret = r;
	return 0;
}

void a0_report_free(struct a0_report *r)
{
	if (!r)
		return;
	free(r->findings);
	free(r);
}

void a0_report_add(struct a0_report *r, enum a0_severity sev, const char *id, const char *subject,
		   const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	if ((unsigned)sev > A0_SEV_FAILURE)
		sev = A0_SEV_FAILURE;
	if (sev == A0_SEV_WARNING)
		r->warnings++;
	else if (sev == A0_SEV_FAILURE)
		r->failures++;
	if (r->n == MAX_FINDINGS) {
		r->dropped++;
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct finding *v = reallocarray(r->findings, cap, sizeof(*v));

		if (!v) {
			r->nomem = true;
			return;
		}
		r->findings = v;
		r->cap = cap;
	}
	f = &r->findings[r->n++];
	f->sev = sev;
	put(f->id, sizeof(f->id), id);
	put(f->subject, sizeof(f->subject), subject);
	va_start(ap, fmt);
	a0_vformat(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	a0_text_scrub(f->text, strlen(f->text), A0_TEXT_LINE);
}

void a0_report_set(struct a0_report *r, const char *key, const char *fmt, ...)
{
	struct value *v = NULL;
	va_list ap;

	for (size_t i = 0; i < r->n_values && !v; i++)
		if (strcmp(r->values[i].key, key) == 0)
			v = &r->values[i]; /* set again: the new value, in the first place */
	if (!v) {
		if (r->n_values == MAX_VALUES) {
			r->dropped++;
			return;
		}
		v = &r->values[r->n_values++];
		put(v->key, sizeof(v->key), key);
	}
	va_start(ap, fmt);
	a0_vformat(v->value, sizeof(v->value), fmt, ap);
	va_end(ap);
	a0_text_scrub(v->value, strlen(v->value), A0_TEXT_LINE);
}

int a0_report_exit(const struct a0_report *r)
{
	if (r->failures || r->nomem)
		return A0_REPORT_FAILURES;
	return r->warnings ? A0_REPORT_WARNINGS : A0_REPORT_OK;
}

static unsigned failures_of(const struct a0_report *r)
{
	return r->failures + (r->nomem ? 1 : 0);
}

static int print_text(const struct a0_report *r, FILE *f)
{
	for (size_t i = 0; i < r->n_values; i++)
		fprintf(f, "%s: %s\n", r->values[i].key, r->values[i].value);
	for (size_t i = 0; i < r->n; i++) {
		const struct finding *x = &r->findings[i];

		fprintf(f, "%-8s %-22s %s%s%s\n", severity_names[x->sev], x->id, x->subject,
			*x->subject ? ": " : "", x->text);
	}
	if (r->nomem)
		fprintf(f, "%-8s %-22s out of memory: findings are missing\n", "failure", "nomem");
	if (r->dropped)
		fprintf(f, "(%u more findings not shown)\n", r->dropped);
	fprintf(f, "%s: %u warning%s, %u failure%s\n", r->verb, r->warnings,
		r->warnings == 1 ? "" : "s", failures_of(r), failures_of(r) == 1 ? "" : "s");
	return fflush(f) == 0 && !ferror(f) ? 0 : A0_ERR_SYSTEM;
}

static cJSON *json_of(const struct a0_report *r)
{
	cJSON *doc = cJSON_CreateObject(), *values = NULL, *arr = NULL;
	bool ok = doc && cJSON_AddStringToObject(doc, "verb", r->verb) &&
		  (values = cJSON_AddObjectToObject(doc, "values")) &&
		  (arr = cJSON_AddArrayToObject(doc, "findings"));

	for (size_t i = 0; ok && i < r->n_values; i++)
		ok = cJSON_AddStringToObject(values, r->values[i].key, r->values[i].value) != NULL;
	for (size_t i = 0; ok && i < r->n; i++) {
		const struct finding *x = &r->findings[i];
		cJSON *o = cJSON_CreateObject();

		ok = o && cJSON_AddItemToArray(arr, o);
		if (!ok) {
			cJSON_Delete(o);
			break;
		}
		ok = cJSON_AddStringToObject(o, "severity", severity_names[x->sev]) &&
		     cJSON_AddStringToObject(o, "id", x->id) &&
		     (*x->subject ? cJSON_AddStringToObject(o, "subject", x->subject)
				  : cJSON_AddNullToObject(o, "subject")) &&
		     cJSON_AddStringToObject(o, "text", x->text);
	}
	ok = ok && cJSON_AddNumberToObject(doc, "dropped", r->dropped) &&
	     cJSON_AddNumberToObject(doc, "warnings", r->warnings) &&
	     cJSON_AddNumberToObject(doc, "failures", failures_of(r)) &&
	     cJSON_AddNumberToObject(doc, "exit", a0_report_exit(r));
	if (!ok) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

int a0_report_print(const struct a0_report *r, FILE *f, bool json)
{
	cJSON *doc;
	char *text;
	int ret;

	if (!json)
		return print_text(r, f);
	if (!(doc = json_of(r)))
		return A0_ERR_SYSTEM;
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return A0_ERR_SYSTEM;
	ret = fputs(text, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 ? 0 : A0_ERR_SYSTEM;
	cJSON_free(text);
	return ret;
}
