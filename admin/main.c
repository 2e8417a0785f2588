/* SPDX-License-Identifier: MIT */
/*
 * auth0-pam(8): the administrator's command. Verbs, one row each in the table `verbs`: the
 * breakglass window (lib/breakglass.c) and the offline verifiers (lib/offline.h), root's; the
 * diagnostics check, status and test-login (findings in admin/report.h, the local rules in
 * admin/check.c and admin/host.c, the tenant and runtime state in admin/diag.h) and nsswitch
 * enable|disable (admin/nsswitch.c). Exit codes as auth0-pam(8) documents them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin/diag.h"
#include "admin/host.h"
#include "admin/report.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/offline.h"
#include "lib/util.h"

#define PROGRAM "auth0-pam"

/* Exit codes, as auth0-pam(8) documents them. */
enum {
	EXIT_OK = 0,
	EXIT_NOT_FOUND = 1, /* the window is closed; no verifier for that user */
	EXIT_USAGE = 2,     /* options, operands */
	EXIT_CONFIG = 3,    /* configuration, not root, an unsafe file or directory */
	EXIT_SYSTEM = 4,    /* a system call failed, out of memory */
};

#define MAX_MESSAGE 1024
#define MAX_USER 256          /* bytes of a user name (struct a0_offline_entry) */
#define MAX_DURATION_DIGITS 9 /* of DURATION: more is past any window */
#define LOGINUID_MAX 16       /* bytes of /proc/self/loginuid */
#define AUDIT_UID_UNSET 4294967295UL

/* The options a verb takes, besides --config. */
enum {
	OPT_JSON = 1u << 0,
	OPT_REASON = 1u << 1,
	OPT_ALL = 1u << 2,
	OPT_ROOT = 1u << 3,
	OPT_SERVICE = 1u << 4,
	OPT_SESSION = 1u << 5,
	OPT_DRY_RUN = 1u << 6,
	OPT_LAST = OPT_DRY_RUN,
};

/* What main does before a verb runs. */
enum {
	NEEDS_ROOT = 1u << 0,   /* refuse to run unless root */
	NEEDS_CONFIG = 1u << 1, /* load the configuration (a failure is exit 3) */
};

#define DEFAULT_SERVICE "sshd" /* test-login: where users sign in with Auth0 */
#define MAX_SERVICE 64         /* bytes of a PAM service name */

struct cmd {
	struct a0_config *cfg;
	struct a0_offline off;
	unsigned opts; /* the options given */
	bool json;
	const char *reason_text;
	const char *config; /* --config, or NULL: A0_DEFAULT_CONFIG */
	const char *root;   /* --root DIR, or NULL */
	const char *service;
	int argc; /* the verb's operands */
	char **argv;
	unsigned seconds; /* breakglass open */
};

/* A verb of one word ("check") has the name "". */
struct verb {
	const char *group, *name, *synopsis, *summary;
	int min_args, max_args;
	unsigned opts, needs;
	int (*check)(struct cmd *c); /* before root and configuration: EXIT_USAGE or EXIT_OK */
	int (*run)(struct cmd *c);
};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warn(const char *fmt, ...)
{
	char line[MAX_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	a0_text_scrub(line, strlen(line), A0_TEXT_LINE);
	fprintf(stderr, PROGRAM ": %s\n", line);
}

static int exit_of(int r)
{
	switch (r) {
	case 0:
		return EXIT_OK;
	case A0_ERR_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case A0_ERR_INVALID:
		return EXIT_USAGE;
	case A0_ERR_CONFIG:
		return EXIT_CONFIG;
	default:
		return EXIT_SYSTEM;
	}
}

/* "2026-12-03T01:00:00Z" */
static const char *iso(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		a0_format(buf, size, "?");
	return buf;
}

/* Print a JSON document and free it: EXIT_OK, or EXIT_SYSTEM when it could not be made. */
static int json_out(cJSON *doc, bool ok)
{
	char *text = ok && doc ? cJSON_Print(doc) : NULL;
	int code = EXIT_OK;

	if (!text) {
		warn("out of memory");
		code = EXIT_SYSTEM;
	} else {
		puts(text);
		cJSON_free(text);
	}
	cJSON_Delete(doc);
	return code;
}

static bool json_time(cJSON *obj, const char *name, time_t t)
{
	char buf[32];

	if (t <= 0)
		return cJSON_AddNullToObject(obj, name) != NULL;
	return cJSON_AddStringToObject(obj, name, iso(t, buf, sizeof(buf))) != NULL;
}

/* The user who runs this: the audit login uid, which su and sudo keep, else the real uid. */
static uid_t caller(void)
{
	char buf[LOGINUID_MAX + 1], *end;
	unsigned long v;
	ssize_t n;
	int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return getuid();
	n = a0_read_full(fd, buf, LOGINUID_MAX);
	(void)close(fd);
	if (n <= 0)
		return getuid();
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v >= AUDIT_UID_UNSET)
		return getuid();
	return (uid_t)v;
}

/* "alice", or "" when the uid has no name here. */
static const char *name_of(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	buf[0] = '\0';
	if (pw && pw->pw_name && a0_str_copy(buf, size, pw->pw_name) == 0)
		a0_text_scrub(buf, strlen(buf), A0_TEXT_NAME);
	return buf;
}

/* ------------------------------------------------------------------ breakglass */

/* "30m", "2h", "1d", "90s" or "5400": 0 and the seconds, or -1. */
static int parse_duration(const char *s, unsigned *ret)
{
	unsigned long long v = 0;
	long unit;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == MAX_DURATION_DIGITS)
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0)
		return -1;
	if ((unit = a0_time_unit(s[n])) < 0 || (s[n] && s[n + 1]))
		return -1;
	v *= (unsigned long long)unit;
	if (v < 1 || v > A0_BREAKGLASS_MAX)
		return -1;
	*ret = (unsigned)v;
	return 0;
}

static int check_open(struct cmd *c)
{
	const char *text = c->reason_text ? c->reason_text : "";

	if (parse_duration(c->argv[0], &c->seconds) < 0) {
		warn("breakglass open: DURATION '%s': give 1 second to %u days, as 30m, 2h, 1d or "
		     "seconds",
		     c->argv[0], A0_BREAKGLASS_MAX / 86400);
		return EXIT_USAGE;
	}
	if (strlen(text) > A0_BREAKGLASS_REASON_MAX ||
	    !a0_text_ok(text, strlen(text), A0_TEXT_ASCII)) {
		warn("breakglass open: --reason: printable ASCII on one line, at most %u bytes",
		     A0_BREAKGLASS_REASON_MAX);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Does any service have offline = breakglass? Else a window lets nobody in. */
static bool breakglass_used(const struct a0_config *cfg)
{
	for (size_t i = 0; i < cfg->offline.n; i++) {
		const char *item = cfg->offline.items[i], *colon = strrchr(item, ':');

		if (strcmp(colon ? colon + 1 : item, "breakglass") == 0)
			return true;
	}
	return false;
}

static int run_open(struct cmd *c)
{
	char reason[MAX_MESSAGE] = "", until[32], who[MAX_USER + 1];
	const char *text = c->reason_text ? c->reason_text : "";
	time_t now = time(NULL);
	uid_t by = caller();
	int r;

	r = a0_breakglass_open(c->off.dir, now, c->seconds, by, text, reason, sizeof(reason));
	if (r < 0) {
		warn("breakglass open: %s", reason);
		return exit_of(r);
	}
	iso(now + c->seconds, until, sizeof(until));
	/* The reason is the rest of the line: it cannot forge a field before it. */
	syslog(LOG_AUTHPRIV | LOG_NOTICE,
	       "breakglass open uid=%lu user=%s until=%s seconds=%u msgid=A0_BREAKGLASS_OPEN "
	       "reason=%s",
	       (unsigned long)by, *name_of(by, who, sizeof(who)) ? who : "-", until, c->seconds,
	       text);
	if (c->json) {
		cJSON *doc = cJSON_CreateObject();
		bool ok = doc && cJSON_AddBoolToObject(doc, "open", true) &&
			  json_time(doc, "until", now + c->seconds) &&
			  cJSON_AddNumberToObject(doc, "seconds", c->seconds) &&
			  cJSON_AddBoolToObject(doc, "used", breakglass_used(c->cfg));

		r = json_out(doc, ok);
	} else {
		printf("breakglass: open until %s (%u s)\n", until, c->seconds);
	}
	if (!breakglass_used(c->cfg))
		warn("note: no service has 'offline = breakglass' in the configuration: the window "
		     "lets nobody in");
	return c->json ? r : EXIT_OK;
}

static int run_close(struct cmd *c)
{
	char reason[MAX_MESSAGE] = "", who[MAX_USER + 1];
	bool was_open = a0_breakglass_state(c->off.dir, time(NULL), NULL, NULL, 0) == 0;
	uid_t by = caller();
	int r;

	r = a0_breakglass_close(c->off.dir, reason, sizeof(reason));
	if (r < 0) {
		warn("breakglass close: %s", reason);
		return exit_of(r);
	}
	syslog(LOG_AUTHPRIV | LOG_NOTICE,
	       "breakglass close uid=%lu user=%s was_open=%s msgid=A0_BREAKGLASS_CLOSE",
	       (unsigned long)by, *name_of(by, who, sizeof(who)) ? who : "-",
	       was_open ? "yes" : "no");
	if (c->json) {
		cJSON *doc = cJSON_CreateObject();

		return json_out(doc, doc && cJSON_AddBoolToObject(doc, "open", false) &&
					     cJSON_AddBoolToObject(doc, "was_open", was_open));
	}
	printf("breakglass: closed%s\n", was_open ? "" : " (it was not open)");
	return EXIT_OK;
}

static int status_json(int r, const struct a0_breakglass *w, time_t now, const char *reason)
{
	cJSON *doc = cJSON_CreateObject();
	char who[MAX_USER + 1];
	bool ok = doc != NULL;

	if (!ok)
		return json_out(doc, false);
	ok = cJSON_AddBoolToObject(doc, "open", r == 0) != NULL;
	if (r == 0 || (r == A0_ERR_NOT_FOUND && w->until > 0)) {
		ok = ok && json_time(doc, "opened", w->opened) && json_time(doc, "until", w->until);
		ok = ok && cJSON_AddNumberToObject(doc, "seconds_left",
						   r == 0 ? (double)(w->until - now) : 0) != NULL;
		ok = ok && cJSON_AddNumberToObject(doc, "by_uid", (double)w->by) != NULL;
		ok = ok && (*name_of(w->by, who, sizeof(who))
				    ? cJSON_AddStringToObject(doc, "by_user", who)
				    : cJSON_AddNullToObject(doc, "by_user")) != NULL;
		ok = ok && cJSON_AddStringToObject(doc, "reason", w->reason) != NULL;
	}
	if (r != 0 && r != A0_ERR_NOT_FOUND)
		ok = ok && cJSON_AddStringToObject(doc, "error", reason) != NULL;
	return json_out(doc, ok);
}

static int run_status(struct cmd *c)
{
	struct a0_breakglass w = { .until = 0 };
	char reason[MAX_MESSAGE] = "", a[32], b[32], who[MAX_USER + 1];
	time_t now = time(NULL);
	int r, code;

	r = a0_breakglass_state(c->off.dir, now, &w, reason, sizeof(reason));
	code = exit_of(r);
	if (r < 0 && r != A0_ERR_NOT_FOUND)
		warn("breakglass status: %s", reason);
	if (c->json) {
		int j = status_json(r, &w, now, reason);

		return j != EXIT_OK ? j : code;
	}
	if (r == 0) {
		name_of(w.by, who, sizeof(who));
		printf("breakglass: open\n"
		       "until: %s (%lld s left)\n"
		       "opened: %s\n"
		       "by: uid %lu%s%s%s\n"
		       "reason: %s\n",
		       iso(w.until, a, sizeof(a)), (long long)(w.until - now),
		       iso(w.opened, b, sizeof(b)), (unsigned long)w.by, *who ? " (" : "", who,
		       *who ? ")" : "", w.reason);
	} else if (r == A0_ERR_NOT_FOUND && w.until > 0) {
		printf("breakglass: closed (the last window ended %s)\n",
		       iso(w.until, a, sizeof(a)));
	} else if (r == A0_ERR_NOT_FOUND) {
		printf("breakglass: closed\n");
	} else {
		printf("breakglass: closed (%s)\n", r == A0_ERR_CONFIG ? "unsafe file" : "error");
	}
	return code;
}

/* ------------------------------------------------------------------ offline */

struct entries {
	struct a0_offline_entry *v;
	size_t n, cap;
};

static int collect(const struct a0_offline_entry *e, void *arg)
{
	struct entries *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct a0_offline_entry *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return A0_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = *e;
	l->v[l->n].user[sizeof(l->v[l->n].user) - 1] = '\0';
	l->n++;
	return 0;
}

static int by_user(const void *a, const void *b)
{
	return strcmp(((const struct a0_offline_entry *)a)->user,
		      ((const struct a0_offline_entry *)b)->user);
}

/* Every readable verifier, sorted by user: 0, or an error with a message printed. */
static int list_all(struct cmd *c, struct entries *l, unsigned *ret_skipped)
{
	char reason[MAX_MESSAGE] = "";
	unsigned skipped = 0;
	int r;

	r = a0_offline_list(&c->off, collect, l, &skipped, reason, sizeof(reason));
	if (r < 0) {
		warn("offline: %s", r == A0_ERR_NOMEM ? "out of memory" : reason);
		return r;
	}
	if (skipped)
		warn("offline: %u file%s in %s skipped (unsafe or malformed)", skipped,
		     skipped == 1 ? "" : "s", c->off.dir);
	a0_sort(l->v, l->n, sizeof(*l->v), by_user);
	*ret_skipped = skipped;
	return 0;
}

static int list_json(const struct entries *l, unsigned skipped)
{
	cJSON *doc = cJSON_CreateObject(), *arr = NULL;
	bool ok = doc && (arr = cJSON_AddArrayToObject(doc, "verifiers")) != NULL;

	for (size_t i = 0; ok && i < l->n; i++) {
		const struct a0_offline_entry *e = &l->v[i];
		cJSON *o = cJSON_CreateObject();

		ok = o && cJSON_AddItemToArray(arr, o);
		if (!ok) {
			cJSON_Delete(o);
			break;
		}
		ok = cJSON_AddStringToObject(o, "user", e->user) &&
		     json_time(o, "last_online", e->last_online) &&
		     json_time(o, "written", e->written) &&
		     cJSON_AddNumberToObject(o, "failures", e->failures) &&
		     cJSON_AddNumberToObject(o, "memory_kib", e->memory_kib) &&
		     cJSON_AddNumberToObject(o, "passes", e->passes);
	}
	ok = ok && cJSON_AddNumberToObject(doc, "skipped", skipped);
	return json_out(doc, ok);
}

static int run_list(struct cmd *c)
{
	struct entries l = { 0 };
	unsigned skipped = 0;
	char a[32], b[32], user[MAX_USER + 1];
	int r, code;

	if ((r = list_all(c, &l, &skipped)) < 0) {
		code = exit_of(r);
		goto out;
	}
	if (c->json) {
		code = list_json(&l, skipped);
		goto out;
	}
	printf("%-20s %-20s %-20s %8s %s\n", "USER", "LAST ONLINE", "HASH WRITTEN", "FAILURES",
	       "ARGON2ID");
	for (size_t i = 0; i < l.n; i++) {
		const struct a0_offline_entry *e = &l.v[i];

		(void)a0_str_copy(user, sizeof(user), e->user);
		a0_text_scrub(user, strlen(user), A0_TEXT_NAME);
		printf("%-20s %-20s %-20s %8u m=%lu,t=%lu,p=1\n", user,
		       e->last_online > 0 ? iso(e->last_online, a, sizeof(a)) : "never",
		       e->written > 0 ? iso(e->written, b, sizeof(b)) : "never", e->failures,
		       (unsigned long)e->memory_kib, (unsigned long)e->passes);
	}
	code = EXIT_OK;
out:
	free(l.v);
	return code;
}

static int check_forget(struct cmd *c)
{
	bool all = c->opts & OPT_ALL;

	if (all == (c->argc == 1)) {
		warn("offline forget: give a USER or --all");
		return EXIT_USAGE;
	}
	if (!all && (strlen(c->argv[0]) > MAX_USER || !*c->argv[0] ||
		     !a0_text_ok(c->argv[0], strlen(c->argv[0]), A0_TEXT_NAME))) {
		warn("offline forget: not a user name");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int forget_one(struct cmd *c, const char *user)
{
	char reason[MAX_MESSAGE] = "";
	int r = a0_offline_forget(&c->off, user, reason, sizeof(reason));

	if (r == 0)
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		       "offline forget user=%s uid=%lu msgid=A0_OFFLINE_FORGET", user,
		       (unsigned long)caller());
	else if (r == A0_ERR_NOT_FOUND)
		warn("offline forget: %s has no offline verifier", user);
	else
		warn("offline forget: %s: %s", user, reason);
	return r;
}

static int run_forget(struct cmd *c)
{
	struct entries l = { 0 };
	unsigned skipped = 0, gone = 0;
	int r, code = EXIT_OK;

	if (!(c->opts & OPT_ALL)) {
		if ((r = forget_one(c, c->argv[0])) < 0)
			return exit_of(r);
		gone = 1;
		goto done;
	}
	if ((r = list_all(c, &l, &skipped)) < 0) {
		code = exit_of(r);
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		r = forget_one(c, l.v[i].user);
		if (r == 0)
			gone++;
		else if (r != A0_ERR_NOT_FOUND && code == EXIT_OK)
			code = exit_of(r); /* the others are still forgotten */
	}
done:
	if (c->json) {
		cJSON *doc = cJSON_CreateObject();
		int j = json_out(doc, doc && cJSON_AddNumberToObject(doc, "forgotten", gone));

		code = j != EXIT_OK ? j : code;
	} else if (c->opts & OPT_ALL) {
		printf("offline: forgot %u verifier%s\n", gone, gone == 1 ? "" : "s");
	} else {
		printf("offline: forgot the verifier of %s\n", c->argv[0]);
	}
out:
	free(l.v);
	return code;
}

/* ------------------------------------------------------------------ diagnostics */

/* Print the report: its exit code (0, 1, 2), or EXIT_SYSTEM when it could not be printed. */
static int finish(struct a0_report *r, bool json)
{
	int code = a0_report_exit(r);

	if (a0_report_print(r, stdout, json) < 0) {
		warn("cannot print the report");
		code = EXIT_SYSTEM;
	}
	a0_report_free(r);
	return code;
}

static int run_check(struct cmd *c)
{
	struct a0_config *cfg = NULL;
	struct a0_report *r;
	int rc;

	if (a0_report_new("check", &r) < 0) {
		warn("out of memory");
		return EXIT_SYSTEM;
	}
	if (c->root)
		a0_report_set(r, "root", "%s", c->root);
	rc = a0_check_load(c->root, c->config, true, r, &cfg);
	if (rc == A0_ERR_NOMEM)
		a0_report_add(r, A0_SEV_FAILURE, "nomem", NULL, "out of memory");
	a0_check_files(c->root, cfg, r);
	a0_check_pam(c->root, cfg, r);
	a0_check_nsswitch(c->root, cfg, r);
	a0_check_sshd(c->root, cfg, r);
	if (cfg) {
		if ((rc = a0_check_reroot(cfg, c->root)) == 0)
			rc = a0_diag_tenant(cfg, r);
		if (rc < 0)
			a0_report_add(r, A0_SEV_FAILURE, "tenant", NULL, "could not check: %s",
				      a0_strerror(rc));
	}
	a0_config_free(cfg);
	return finish(r, c->json);
}

static int run_diag_status(struct cmd *c)
{
	struct a0_config *cfg = NULL;
	struct a0_report *r;
	int rc;

	if (a0_report_new("status", &r) < 0) {
		warn("out of memory");
		return EXIT_SYSTEM;
	}
	if (c->root)
		a0_report_set(r, "root", "%s", c->root);
	rc = a0_check_load(c->root, c->config, false, r, &cfg);
	if (cfg && (rc = a0_check_reroot(cfg, c->root)) == 0)
		rc = a0_diag_status(cfg, r);
	if (rc < 0 && rc != A0_ERR_CONFIG)
		a0_report_add(r, A0_SEV_FAILURE, "status", NULL, "could not run: %s",
			      a0_strerror(rc));
	a0_config_free(cfg);
	return finish(r, c->json);
}

static int check_test_login(struct cmd *c)
{
	const char *user = c->argv[0];

	if (!c->service)
		c->service = DEFAULT_SERVICE;
	if (!*user || strlen(user) > MAX_USER || !a0_text_ok(user, strlen(user), A0_TEXT_NAME)) {
		warn("test-login: not a user name");
		return EXIT_USAGE;
	}
	if (!*c->service || strlen(c->service) > MAX_SERVICE || strchr(c->service, '/') ||
	    !a0_text_ok(c->service, strlen(c->service), A0_TEXT_NAME)) {
		warn("test-login: --service: not a PAM service name");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int run_test_login(struct cmd *c)
{
	struct a0_report *r;

	if (a0_report_new("test-login", &r) < 0) {
		warn("out of memory");
		return EXIT_SYSTEM;
	}
	(void)a0_test_login(c->service, c->argv[0], c->opts & OPT_SESSION, c->json, r);
	return finish(r, c->json);
}

static int run_nsswitch(struct cmd *c, bool enable)
{
	return exit_of(a0_nsswitch_edit(c->root, enable, c->opts & OPT_DRY_RUN, c->json));
}

static int run_ns_enable(struct cmd *c)
{
	return run_nsswitch(c, true);
}

static int run_ns_disable(struct cmd *c)
{
	return run_nsswitch(c, false);
}

/* ------------------------------------------------------------------ the verbs */

static const struct verb verbs[] = {
	{ "check", "", "[--root DIR] [--json]",
	  "lint the configuration, its files, the PAM services, nsswitch.conf and sshd, then reach "
	  "the tenant (exit 0 ok, 1 warnings, 2 failures)",
	  0, 0, OPT_JSON | OPT_ROOT, 0, NULL, run_check },
	{ "status", "", "[--root DIR] [--json]",
	  "online or known offline, the identity cache's age, offline deadlines, the broker", 0, 0,
	  OPT_JSON | OPT_ROOT, 0, NULL, run_diag_status },
	{ "test-login", "", "USER [--service S] [--session] [--json]",
	  "sign USER in through service S's PAM stack (default " DEFAULT_SERVICE
	  "), with a transcript (exit 0 signed in, 2 refused)",
	  1, 1, OPT_JSON | OPT_SERVICE | OPT_SESSION, NEEDS_ROOT, check_test_login,
	  run_test_login },
	{ "nsswitch", "enable", "[--dry-run] [--root DIR] [--json]",
	  "add auth0 to the passwd and group lines of /etc/nsswitch.conf", 0, 0,
	  OPT_JSON | OPT_ROOT | OPT_DRY_RUN, 0, NULL, run_ns_enable },
	{ "nsswitch", "disable", "[--dry-run] [--root DIR] [--json]",
	  "remove auth0 from /etc/nsswitch.conf", 0, 0, OPT_JSON | OPT_ROOT | OPT_DRY_RUN, 0, NULL,
	  run_ns_disable },
	{ "breakglass", "open", "DURATION [--reason TEXT] [--json]",
	  "open the breakglass window for DURATION (30m, 2h, 1d or seconds; at most 3d)", 1, 1,
	  OPT_REASON | OPT_JSON, NEEDS_ROOT | NEEDS_CONFIG, check_open, run_open },
	{ "breakglass", "close", "[--json]", "close the breakglass window", 0, 0, OPT_JSON,
	  NEEDS_ROOT | NEEDS_CONFIG, NULL, run_close },
	{ "breakglass", "status", "[--json]",
	  "is the window open, until when, by whom, why (exit 1 when closed)", 0, 0, OPT_JSON,
	  NEEDS_ROOT | NEEDS_CONFIG, NULL, run_status },
	{ "offline", "list", "[--json]",
	  "the offline verifiers: user, last online login, hash written, failures, Argon2id", 0, 0,
	  OPT_JSON, NEEDS_ROOT | NEEDS_CONFIG, NULL, run_list },
	{ "offline", "forget", "USER | --all [--json]",
	  "forget a user's offline verifier (exit 1 when there is none), or all of them", 0, 1,
	  OPT_ALL | OPT_JSON, NEEDS_ROOT | NEEDS_CONFIG, check_forget, run_forget },
};

static void usage(FILE *f)
{
	fputs("Usage: " PROGRAM " [--config FILE] COMMAND [ARGS]\n"
	      "The administrator's command for pam_auth0. Commands:\n",
	      f);
	for (size_t i = 0; i < A0_ARRAY_SIZE(verbs); i++) {
		const struct verb *v = &verbs[i];

		fprintf(f, "  %s%s%s%s%s\n      %s\n", v->group, *v->name ? " " : "", v->name,
			*v->synopsis ? " " : "", v->synopsis, v->summary);
	}
	fputs("Options: --config FILE (default " A0_DEFAULT_CONFIG "), --json (every command),\n"
	      "  --root DIR (check, status, nsswitch: read the host's files under DIR), --help,\n"
	      "  --version\n"
	      "Exit status of check, status and test-login: 0 ok, 1 warnings, 2 failures;\n"
	      "of the others: 0 ok, 1 closed or not found, 3 configuration or permission.\n"
	      "Every command: 2 usage, 4 system error. See auth0-pam(8).\n",
	      f);
}

/* The verb of the words (a group, then its name unless the verb has one word): *ret_words. */
static const struct verb *find_verb(int argc, char **argv, int *ret_words)
{
	for (size_t i = 0; argc > 0 && i < A0_ARRAY_SIZE(verbs); i++) {
		const struct verb *v = &verbs[i];

		if (strcmp(v->group, argv[0]) != 0)
			continue;
		if (!*v->name) {
			*ret_words = 1;
			return v;
		}
		if (argc > 1 && strcmp(v->name, argv[1]) == 0) {
			*ret_words = 2;
			return v;
		}
	}
	return NULL;
}

static const char *option_name(unsigned opt)
{
	switch (opt) {
	case OPT_JSON:
		return "--json";
	case OPT_REASON:
		return "--reason";
	case OPT_ALL:
		return "--all";
	case OPT_ROOT:
		return "--root";
	case OPT_SERVICE:
		return "--service";
	case OPT_SESSION:
		return "--session";
	default:
		return "--dry-run";
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "reason", required_argument, NULL, 'r' },
		{ "all", no_argument, NULL, 'a' },
		{ "root", required_argument, NULL, 'R' },
		{ "service", required_argument, NULL, 's' },
		{ "session", no_argument, NULL, 'S' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd c = { 0 };
	const struct verb *v;
	const char *config = A0_DEFAULT_CONFIG, *cargv[1];
	char err[MAX_MESSAGE] = "", config_arg[4200];
	int opt, code, r, words = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = c.config = optarg;
			break;
		case 'R':
			c.opts |= OPT_ROOT;
			c.root = optarg;
			break;
		case 's':
			c.opts |= OPT_SERVICE;
			c.service = optarg;
			break;
		case 'S':
			c.opts |= OPT_SESSION;
			break;
		case 'n':
			c.opts |= OPT_DRY_RUN;
			break;
		case 'j':
			c.opts |= OPT_JSON;
			c.json = true;
			break;
		case 'r':
			c.opts |= OPT_REASON;
			c.reason_text = optarg;
			break;
		case 'a':
			c.opts |= OPT_ALL;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			puts(PROGRAM " (" PACKAGE_NAME ") " PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(v = find_verb(argc - optind, argv + optind, &words))) {
		warn("unknown command '%s%s%s'", argv[optind], argc - optind > 1 ? " " : "",
		     argc - optind > 1 ? argv[optind + 1] : "");
		usage(stderr);
		return EXIT_USAGE;
	}
	c.argc = argc - optind - words;
	c.argv = argv + optind + words;
	if (c.argc < v->min_args || c.argc > v->max_args) {
		warn("%s%s%s: usage: %s%s%s %s", v->group, *v->name ? " " : "", v->name, v->group,
		     *v->name ? " " : "", v->name, v->synopsis);
		return EXIT_USAGE;
	}
	for (unsigned o = OPT_JSON; o <= OPT_LAST; o <<= 1)
		if ((c.opts & o) && !(v->opts & o)) {
			warn("%s%s%s does not take %s", v->group, *v->name ? " " : "", v->name,
			     option_name(o));
			return EXIT_USAGE;
		}
	if (c.root && *c.root != '/') {
		warn("--root: give an absolute directory");
		return EXIT_USAGE;
	}
	if (v->check && (code = v->check(&c)) != EXIT_OK)
		return code;
	if (!(v->needs & NEEDS_ROOT) && !(v->needs & NEEDS_CONFIG)) {
		umask(022); /* nsswitch.conf keeps its own mode */
		return v->run(&c);
	}

	if (geteuid() != 0) {
		warn("must run as root (the offline verifiers and the breakglass window are root's; "
		     "test-login signs in as root's PAM would)");
		return EXIT_CONFIG;
	}
	umask(077);
	if (!(v->needs & NEEDS_CONFIG))
		return v->run(&c);
	openlog(PROGRAM, LOG_PID, LOG_AUTHPRIV);
	if (snprintf(config_arg, sizeof(config_arg), "config=%s", config) >=
	    (int)sizeof(config_arg)) {
		warn("--config: path too long");
		return EXIT_USAGE;
	}
	cargv[0] = config_arg;
	if ((r = a0_config_load(1, cargv, &c.cfg, err, sizeof(err))) < 0) {
		warn("%s", err);
		code = r == A0_ERR_CONFIG ? EXIT_CONFIG : EXIT_SYSTEM;
		goto out;
	}
	a0_offline_of(c.cfg, &c.off);
	code = v->run(&c);
out:
	a0_config_free(c.cfg);
	closelog();
	return code;
}
