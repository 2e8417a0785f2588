/* SPDX-License-Identifier: MIT */
/*
 * admin/check.c: check's rules on the host's PAM services (/etc/pam.d), nsswitch.conf and sshd's
 * configuration, each read under --root (admin/host.h). Findings ids: auth0-pam(8), DIAGNOSTICS.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/host.h"
#include "lib/util.h"
#include "nss/cache.h"

#define PAM_DIR "/etc/pam.d"
#define MAX_SERVICES 512      /* files of /etc/pam.d looked at */
#define MAX_PAM_DEPTH 8       /* @include / include / substack nesting */
#define MAX_STACK 256         /* lines of one flattened stack */
#define MAX_WORD 256          /* a control, module path or argument list kept */
#define MAX_NAME 256          /* a service's file name */
#define MODULE "pam_auth0.so" /* as a PAM line names it (a path ending in it too) */

#define NSSWITCH "/etc/nsswitch.conf"
#define SSHD_CONFIG "/etc/ssh/sshd_config"
#define MAX_SSHD_DEPTH 16      /* sshd's own READCONF_MAX_DEPTH */
#define MAX_SSHD_FILES 64      /* files an Include may bring in, in all */
#define SSHD_GRACE_DEFAULT 120 /* sshd's LoginGraceTime default */
#define GRACE_MARGIN 30        /* seconds of a login besides the wait for an approval */
#define MAX_SSHD_VALUE 512

/* ------------------------------------------------------------------ /etc/pam.d */

struct pam_line {
	char file[MAX_NAME];
	unsigned lineno;
	char control[MAX_WORD];
	char module[MAX_WORD];
	char args[MAX_WORD];
};

struct stack {
	struct pam_line v[MAX_STACK];
	size_t n;
	bool truncated;
	char problem[512]; /* an include that could not be followed */
};

/* Copy the next word of *p (a [bracketed] control whole) into buf; advance *p. */
static bool next_word(char **p, char *buf, size_t size)
{
	char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return false;
	if (*s == '[') {
		e = strchr(s, ']');
		e = e ? e + 1 : s + strlen(s);
	} else {
		e = s + strcspn(s, " \t");
	}
	a0_format(buf, size, "%.*s", (int)(e - s), s);
	*p = e;
	return true;
}

static void trim_tail(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_module(const struct pam_line *l, const char *name)
{
	return strcmp(base_name(l->module), name) == 0;
}

static int flatten(const char *root, const char *file, const char *type, unsigned depth,
		   struct stack *s);

/* A file an include names: relative to /etc/pam.d. */
static void include(const char *root, const char *name, const char *type, unsigned depth,
		    struct stack *s, const char *from, unsigned lineno)
{
	char path[A0_HOST_MAX_PATH];

	if (depth >= MAX_PAM_DEPTH) {
		a0_format(s->problem, sizeof(s->problem),
			  "%s:%u: includes nest deeper than %d (a loop?)", from, lineno,
			  MAX_PAM_DEPTH);
		return;
	}
	a0_format(path, sizeof(path), "%s%s%s", *name == '/' ? "" : PAM_DIR,
		  *name == '/' ? "" : "/", name);
	if (flatten(root, path, type, depth + 1, s) < 0 && !*s->problem)
		a0_format(s->problem, sizeof(s->problem), "%s:%u: includes %s: %s", from, lineno,
			  path, strerror(errno));
}

/* The lines of type in file, includes followed (substack as include), into s: 0, or -1 with
 * errno when the file cannot be read. */
static int flatten(const char *root, const char *file, const char *type, unsigned depth,
		   struct stack *s)
{
	char *text = NULL, *line, *next;
	unsigned lineno = 0;
	size_t len;

	if (a0_host_read(root, file, A0_HOST_MAX_FILE, false, &text, &len) < 0)
		return -1;
	for (line = text; line; line = next) {
		char word[MAX_WORD], *p, *hash;

		lineno++;
		next = strchr(line, '\n');
		/* a backslash before the line end continues the line */
		while (next && next > line && next[-1] == '\\') {
			next[-1] = ' ';
			*next = ' ';
			lineno++;
			next = strchr(next, '\n');
		}
		if (next)
			*next++ = '\0';
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		trim_tail(line);
		p = line;
		if (!next_word(&p, word, sizeof(word)))
			continue;
		if (strcmp(word, "@include") == 0) {
			if (next_word(&p, word, sizeof(word)))
				include(root, word, type, depth, s, file, lineno);
			continue;
		}
		if (strcmp(word[0] == '-' ? word + 1 : word, type) != 0)
			continue;
		if (s->n == MAX_STACK) {
			s->truncated = true;
			break;
		}
		struct pam_line *l = &s->v[s->n];

		memset(l, 0, sizeof(*l));
		a0_format(l->file, sizeof(l->file), "%s", file);
		l->lineno = lineno;
		if (!next_word(&p, l->control, sizeof(l->control)) ||
		    !next_word(&p, l->module, sizeof(l->module)))
			continue; /* libpam skips a malformed line too */
		while (*p == ' ' || *p == '\t')
			p++;
		a0_format(l->args, sizeof(l->args), "%s", p);
		if (strcmp(l->control, "include") == 0 || strcmp(l->control, "substack") == 0) {
			include(root, l->module, type, depth, s, file, lineno);
			continue;
		}
		s->n++;
	}
	free(text);
	return 0;
}

static ssize_t find_module(const struct stack *s, const char *name, size_t from)
{
	for (size_t i = from; i < s->n; i++)
		if (is_module(&s->v[i], name))
			return (ssize_t)i;
	return -1;
}

/* An account denial of pam_auth0 (pam/module.c's outcomes): the PAM codes, as a control's
 * [value=action] names them. */
static const char *const denials[] = {
	"auth_err", "perm_denied", "authinfo_unavail", "service_err", "system_err", "buf_err",
};

/* The action of a bracketed control for value (lower-case PAM name): explicit, else default=,
 * else "bad" (libpam's pam_handlers.c fills what is not given with bad). */
static void action_of(const char *control, const char *value, char *buf, size_t size)
{
	char copy[MAX_WORD], *save = NULL, *tok;
	const char *dflt = "bad";
	char dbuf[32] = "";

	a0_format(copy, sizeof(copy), "%s", control + 1);
	if (strchr(copy, ']'))
		*strchr(copy, ']') = '\0';
	a0_format(buf, size, "%s", "");
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (strcasecmp(tok, value) == 0)
			a0_format(buf, size, "%s", eq + 1);
		else if (strcasecmp(tok, "default") == 0)
			a0_format(dbuf, sizeof(dbuf), "%s", eq + 1);
	}
	if (!*buf)
		a0_format(buf, size, "%s", *dbuf ? dbuf : dflt);
}

/* Does a denial of this line end the stack in failure? NULL if so, else why not. */
static const char *not_final(const char *control, char *why, size_t size)
{
	if (strcmp(control, "required") == 0 || strcmp(control, "requisite") == 0)
		return NULL;
	if (control[0] != '[') {
		a0_format(why, size, "its control '%s' lets a later module decide", control);
		return why;
	}
	for (size_t i = 0; i < A0_ARRAY_SIZE(denials); i++) {
		char action[32];

		action_of(control, denials[i], action, sizeof(action));
		if (strcmp(action, "bad") != 0 && strcmp(action, "die") != 0) {
			a0_format(why, size,
				  "its control gives %s the action '%s' (bad or die is final)",
				  denials[i], action);
			return why;
		}
	}
	return NULL;
}

/* Does line i, on success, end the stack or jump past line k? */
static bool skips(const struct pam_line *l, size_t i, size_t k)
{
	char action[32];
	char *end;
	unsigned long n;

	if (strcmp(l->control, "sufficient") == 0)
		return true;
	if (l->control[0] != '[')
		return false;
	action_of(l->control, "success", action, sizeof(action));
	if (strcmp(action, "done") == 0)
		return true;
	errno = 0;
	n = strtoul(action, &end, 10);
	return !errno && end != action && !*end && i + 1 + n > k;
}

static void check_account(const char *service, const struct stack *acc, size_t k,
			  struct a0_report *r)
{
	const struct pam_line *l = &acc->v[k];
	char why[256];

	if (not_final(l->control, why, sizeof(why))) {
		a0_report_add(r, A0_SEV_FAILURE, "account-not-final", service,
			      "%s:%u: pam_auth0's account denial is not final: %s", l->file,
			      l->lineno, why);
		return;
	}
	for (size_t i = 0; i < k; i++)
		if (skips(&acc->v[i], i, k)) {
			a0_report_add(r, A0_SEV_FAILURE, "account-not-final", service,
				      "%s:%u: %s (%s) can end the account stack before pam_auth0 "
				      "runs",
				      acc->v[i].file, acc->v[i].lineno, base_name(acc->v[i].module),
				      acc->v[i].control);
			return;
		}
	a0_report_add(r, A0_SEV_OK, "account-final", service,
		      "%s:%u: pam_auth0's account denial is final (%s)", l->file, l->lineno,
		      l->control);
}

static void check_order(const char *service, const struct stack *auth, size_t a,
			struct a0_report *r)
{
	ssize_t u = find_module(auth, "pam_unix.so", 0);

	if (u >= 0 && (size_t)u < a)
		a0_report_add(r, A0_SEV_WARNING, "pam-order-unix", service,
			      "%s:%u: pam_unix comes before pam_auth0 in auth (local passwords are "
			      "tried first)",
			      auth->v[u].file, auth->v[u].lineno);
	for (ssize_t f = find_module(auth, "pam_faillock.so", 0); f >= 0;
	     f = find_module(auth, "pam_faillock.so", (size_t)f + 1)) {
		const struct pam_line *l = &auth->v[f];
		bool pre = strstr(l->args, "preauth") != NULL, fail = strstr(l->args, "authfail");

		if ((pre && (size_t)f > a) || (fail && (size_t)f < a))
			a0_report_add(r, A0_SEV_WARNING, "pam-order-faillock", service,
				      "%s:%u: pam_faillock %s must come %s pam_auth0 in auth",
				      l->file, l->lineno, pre ? "preauth" : "authfail",
				      pre ? "before" : "after");
	}
}

static void check_service(const char *root, const char *name, struct a0_report *r)
{
	char path[A0_HOST_MAX_PATH];
	struct stack *auth = calloc(1, sizeof(*auth)), *acc = calloc(1, sizeof(*acc));
	ssize_t a, k;

	if (!auth || !acc) {
		a0_report_add(r, A0_SEV_FAILURE, "nomem", name, "out of memory");
		goto out;
	}
	a0_format(path, sizeof(path), PAM_DIR "/%s", name);
	flatten(root, path, "auth", 0, auth);
	flatten(root, path, "account", 0, acc);
	for (int i = 0; i < 2; i++) {
		const struct stack *s = i ? acc : auth;

		if (*s->problem)
			a0_report_add(r, A0_SEV_WARNING, "pam-include", name, "%s", s->problem);
		if (s->truncated)
			a0_report_add(r, A0_SEV_WARNING, "pam-include", name,
				      "more than %d lines: the rest not read", MAX_STACK);
	}
	a = find_module(auth, MODULE, 0);
	k = find_module(acc, MODULE, 0);
	if (a < 0 && k < 0) {
		if (strcmp(name, "sshd") == 0)
			a0_report_add(r, A0_SEV_FAILURE, "pam-sshd-missing", name,
				      "pam_auth0 is not in sshd's auth or account stack");
		else
			a0_report_add(r, A0_SEV_INFO, "pam-service", name, "no pam_auth0");
		goto out;
	}
	a0_report_add(r, A0_SEV_OK, "pam-service", name, "pam_auth0 in%s%s", a >= 0 ? " auth" : "",
		      k >= 0 ? " account" : "");
	if (a < 0 && strcmp(name, "sshd") == 0)
		a0_report_add(r, A0_SEV_FAILURE, "pam-sshd-missing", name,
			      "pam_auth0 is not in sshd's auth stack");
	if (a >= 0 && k < 0)
		a0_report_add(r, A0_SEV_WARNING, "account-missing", name,
			      "pam_auth0 is in auth but not in account: its account checks "
			      "(allowed_roles, synced identities) never run");
	if (k >= 0)
		check_account(name, acc, (size_t)k, r);
	if (a >= 0)
		check_order(name, auth, (size_t)a, r);
out:
	free(auth);
	free(acc);
}

static bool service_name_ok(const char *n)
{
	size_t len = strlen(n);

	/* dpkg's and editors' leftovers are not services */
	return n[0] != '.' && len < MAX_NAME && n[len - 1] != '~' && !strstr(n, ".dpkg-") &&
	       !strstr(n, ".ucf-") && a0_text_ok(n, len, A0_TEXT_NAME);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void a0_check_pam(const char *root, const struct a0_config *cfg, struct a0_report *r)
{
	char *names[MAX_SERVICES];
	size_t n = 0;
	bool more = false;
	struct dirent *d;
	DIR *dir;
	int fd;

	(void)cfg;
	if ((fd = a0_host_open(root, PAM_DIR, O_RDONLY | O_DIRECTORY)) < 0 ||
	    !(dir = fdopendir(fd))) {
		a0_report_add(r, A0_SEV_FAILURE, "pam-dir", PAM_DIR, "cannot read: %s",
			      strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		if (!service_name_ok(d->d_name) ||
		    (d->d_type != DT_REG && d->d_type != DT_LNK && d->d_type != DT_UNKNOWN))
			continue;
		if (n == MAX_SERVICES) {
			more = true;
			break;
		}
		if (!(names[n] = strdup(d->d_name)))
			break;
		n++;
	}
	(void)closedir(dir);
	a0_sort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		/* Debian's common-* are fragments that services include (pam-auth-update writes
		 * them), not services: each is checked where a service includes it. */
		if (strncmp(names[i], "common-", 7) != 0)
			check_service(root, names[i], r);
		free(names[i]);
	}
	if (more)
		a0_report_add(r, A0_SEV_WARNING, "pam-dir", PAM_DIR,
			      "more than %d services: the rest not checked", MAX_SERVICES);
}

/* ------------------------------------------------------------------ nsswitch.conf */

/* The sources of database db ("passwd") in the text, or NULL; *ret_found whether auth0 is one. */
static bool nss_lists(const char *text, const char *db, bool *ret_line)
{
	size_t dl = strlen(db);

	*ret_line = false;
	for (const char *line = text, *end; *line; line = *end ? end + 1 : end) {
		const char *p = line;

		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) <= dl || strncmp(p, db, dl) != 0)
			continue;
		p += dl;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p != ':')
			continue;
		*ret_line = true;
		for (p++; p < end;) {
			size_t n;

			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (*p == '#')
				break;
			n = strcspn(p, " \t\n#");
			if (n == 5 && strncmp(p, "auth0", 5) == 0)
				return true;
			p += n ? n : 1;
		}
		return false; /* the first line of db is the one glibc reads */
	}
	return false;
}

void a0_check_nsswitch(const char *root, const struct a0_config *cfg, struct a0_report *r)
{
	static const char *const dbs[] = { "passwd", "group" };
	bool synced = cfg && cfg->sync_client_id, cache = false, any = false;
	char *text = NULL;
	size_t len;
	struct stat st;
	int fd;

	if (a0_host_read(root, NSSWITCH, A0_HOST_MAX_FILE, false, &text, &len) < 0) {
		a0_report_add(r, errno == ENOENT ? A0_SEV_INFO : A0_SEV_WARNING, "nsswitch",
			      NSSWITCH, "cannot read: %s", strerror(errno));
		return;
	}
	if ((fd = a0_host_open(root, A0_CACHE_PATH, O_PATH)) >= 0) {
		cache = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
		(void)close(fd);
	}
	for (size_t i = 0; i < A0_ARRAY_SIZE(dbs); i++) {
		bool line, listed = nss_lists(text, dbs[i], &line);

		any = any || listed;
		if (synced && !listed)
			a0_report_add(r, A0_SEV_WARNING, "nss-missing", NSSWITCH,
				      "%s: does not list auth0, but users are synced (sync_client_id): "
				      "they have no account here (auth0-pam nsswitch enable)",
				      dbs[i]);
		else if (synced)
			a0_report_add(r, A0_SEV_OK, "nss-listed", NSSWITCH, "%s: lists auth0",
				      dbs[i]);
	}
	if (any && (!synced || !cache))
		a0_report_add(r, A0_SEV_WARNING, "nss-unused", NSSWITCH,
			      "lists auth0, but %s: the source answers nothing",
			      !synced ? "no sync is configured (sync_client_id)"
				      : "there is no identity cache " A0_CACHE_PATH
					" (auth0-sync)");
	else if (!any && !synced)
		a0_report_add(r, A0_SEV_INFO, "nsswitch", NSSWITCH,
			      "auth0 not listed, no sync configured");
	free(text);
}

/* ------------------------------------------------------------------ sshd */

/* The settings check reads: the first value given wins, as in sshd. */
enum { S_USEPAM, S_KBDINT, S_AUTHMETHODS, S_GRACE, S_N };
static const char *const sshd_keys[S_N] = { "usepam", "kbdinteractiveauthentication",
					    "authenticationmethods", "logingracetime" };

struct sshd {
	char value[S_N][MAX_SSHD_VALUE];
	char where[S_N][MAX_NAME + 16];
	unsigned files;
	bool match, missing;
	char problem[512];
};

static void sshd_file(const char *root, const char *path, unsigned depth, struct sshd *s);

static void sshd_include(const char *root, const char *patterns, unsigned depth, struct sshd *s)
{
	char *copy = strdup(patterns), *save = NULL, *tok;

	if (!copy)
		return;
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char pattern[A0_HOST_MAX_PATH], joined[A0_HOST_MAX_PATH];
		size_t skip = root && strcmp(root, "/") != 0 ? strlen(root) : 0;
		glob_t g;

		a0_format(pattern, sizeof(pattern), "%s%s", *tok == '/' ? "" : "/etc/ssh/", tok);
		if (a0_host_join(root, pattern, joined, sizeof(joined)) < 0)
			continue;
		if (glob(joined, 0, NULL, &g) != 0)
			continue; /* sshd: no match is no error */
		for (size_t i = 0; i < g.gl_pathc; i++)
			sshd_file(root, g.gl_pathv[i] + skip, depth + 1, s);
		globfree(&g);
	}
	free(copy);
}

static void sshd_file(const char *root, const char *path, unsigned depth, struct sshd *s)
{
	char *text = NULL, *line, *next;
	bool in_match = false;
	unsigned lineno = 0;
	size_t len;

	if (depth > MAX_SSHD_DEPTH || s->files >= MAX_SSHD_FILES) {
		a0_format(s->problem, sizeof(s->problem), "%s: Include nests too deep or too wide",
			  path);
		return;
	}
	s->files++;
	if (a0_host_read(root, path, A0_HOST_MAX_FILE, false, &text, &len) < 0) {
		if (depth == 0 && errno == ENOENT)
			s->missing = true;
		else
			a0_format(s->problem, sizeof(s->problem), "%s: cannot read: %s", path,
				  strerror(errno));
		return;
	}
	for (line = text; line; line = next) {
		char key[64], *p = line, *value;
		size_t n;

		lineno++;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		trim_tail(line);
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		n = strcspn(p, " \t=");
		a0_format(key, sizeof(key), "%.*s", (int)n, p);
		value = p + n;
		while (*value == ' ' || *value == '\t')
			value++;
		if (*value == '=')
			value++;
		while (*value == ' ' || *value == '\t')
			value++;
		if (strcasecmp(key, "match") == 0) {
			in_match = s->match = true;
			continue;
		}
		if (in_match)
			continue; /* a Match block lasts to the end of its file */
		if (strcasecmp(key, "include") == 0) {
			sshd_include(root, value, depth, s);
			continue;
		}
		if (strcasecmp(key, "challengeresponseauthentication") == 0)
			a0_format(key, sizeof(key), "%s", "kbdinteractiveauthentication");
		for (int i = 0; i < S_N; i++)
			if (strcasecmp(key, sshd_keys[i]) == 0 && !*s->where[i]) {
				a0_format(s->value[i], sizeof(s->value[i]), "%s", value);
				a0_format(s->where[i], sizeof(s->where[i]), "%s:%u", path, lineno);
			}
	}
	free(text);
}

/* sshd's time format: 90, 2m, 1h30m (s, m, h, d, w). -1 when malformed. */
static long sshd_seconds(const char *v)
{
	long total = 0;

	if (!*v)
		return -1;
	while (*v) {
		char *end;
		long n, unit;

		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || n < 0 || n > 1000000)
			return -1;
		if ((unit = a0_time_unit((char)tolower((unsigned char)*end))) < 0)
			return -1;
		total += n * unit;
		v = *end ? end + 1 : end;
	}
	return total;
}

/* Does a login need keyboard-interactive (more than the password's one prompt)? */
static const char *needs_kbdint(const struct a0_config *cfg)
{
	if (!cfg)
		return NULL;
	if (cfg->mfa_methods_set)
		return "mfa_methods is set";
	if (cfg->mfa_enroll != A0_MFA_ENROLL_NO)
		return "mfa_enroll is on";
	for (size_t i = 0; i < cfg->login_methods.n; i++)
		if (strcmp(cfg->login_methods.items[i], "password") != 0)
			return "login_methods offers more than a password";
	return NULL;
}

static bool has_device(const struct a0_config *cfg)
{
	return cfg && a0_list_contains(&cfg->login_methods, "device");
}

void a0_check_sshd(const char *root, const struct a0_config *cfg, struct a0_report *r)
{
	struct sshd *s = calloc(1, sizeof(*s));
	const char *why;
	long grace, need;

	if (!s) {
		a0_report_add(r, A0_SEV_FAILURE, "nomem", SSHD_CONFIG, "out of memory");
		return;
	}
	sshd_file(root, SSHD_CONFIG, 0, s);
	if (s->missing) {
		a0_report_add(r, A0_SEV_INFO, "sshd-config", SSHD_CONFIG,
			      "not found: sshd is not checked");
		goto out;
	}
	if (*s->problem)
		a0_report_add(r, A0_SEV_WARNING, "sshd-config", SSHD_CONFIG, "%s", s->problem);
	if (s->match)
		a0_report_add(r, A0_SEV_INFO, "sshd-match", SSHD_CONFIG,
			      "Match blocks are not checked: settings below the first Match line "
			      "may differ per connection");

	if (strcasecmp(s->value[S_USEPAM], "yes") != 0)
		a0_report_add(r, A0_SEV_FAILURE, "sshd-usepam",
			      *s->where[S_USEPAM] ? s->where[S_USEPAM] : SSHD_CONFIG,
			      "UsePAM is %s: sshd never asks pam_auth0",
			      *s->value[S_USEPAM] ? s->value[S_USEPAM] : "not set (no)");
	else
		a0_report_add(r, A0_SEV_OK, "sshd-usepam", s->where[S_USEPAM], "UsePAM yes");

	if (*s->value[S_KBDINT] && strcasecmp(s->value[S_KBDINT], "no") == 0) {
		why = needs_kbdint(cfg);
		if (why)
			a0_report_add(r, A0_SEV_FAILURE, "sshd-kbdint", s->where[S_KBDINT],
				      "KbdInteractiveAuthentication no, but %s: a second prompt (a "
				      "code, a device sign-in) cannot reach the user",
				      why);
		else
			a0_report_add(r, A0_SEV_INFO, "sshd-kbdint", s->where[S_KBDINT],
				      "KbdInteractiveAuthentication no: passwords only (an MFA prompt "
				      "the tenant asks for could not be answered over ssh)");
	} else {
		a0_report_add(r, A0_SEV_OK, "sshd-kbdint",
			      *s->where[S_KBDINT] ? s->where[S_KBDINT] : SSHD_CONFIG,
			      "KbdInteractiveAuthentication %s",
			      *s->value[S_KBDINT] ? s->value[S_KBDINT] : "yes (default)");
	}

	if (*s->value[S_AUTHMETHODS]) {
		const char *v = s->value[S_AUTHMETHODS];
		bool key_alone = false;

		/* lists are separated by blanks, methods in a list by commas */
		for (const char *p = v; *p;) {
			size_t n = strcspn(p, " \t");

			if (n == 9 && strncmp(p, "publickey", 9) == 0)
				key_alone = true;
			p += n;
			p += strspn(p, " \t");
		}
		if (key_alone)
			a0_report_add(r, A0_SEV_WARNING, "sshd-authmethods",
				      s->where[S_AUTHMETHODS],
				      "AuthenticationMethods %s: a key alone lets a user in without "
				      "pam_auth0's sign-in (only its account phase runs)",
				      v);
		else
			a0_report_add(r, A0_SEV_INFO, "sshd-authmethods", s->where[S_AUTHMETHODS],
				      "AuthenticationMethods %s", v);
	}

	grace = *s->value[S_GRACE] ? sshd_seconds(s->value[S_GRACE]) : SSHD_GRACE_DEFAULT;
	need = GRACE_MARGIN +
	       (long)(cfg ? (has_device(cfg) && cfg->device_timeout > cfg->mfa_timeout
				     ? cfg->device_timeout
				     : cfg->mfa_timeout)
			  : 0);
	if (grace < 0)
		a0_report_add(r, A0_SEV_WARNING, "sshd-grace", s->where[S_GRACE],
			      "LoginGraceTime '%s' is not a time sshd reads", s->value[S_GRACE]);
	else if (grace != 0 && cfg && grace < need)
		a0_report_add(r, A0_SEV_WARNING, "sshd-grace",
			      *s->where[S_GRACE] ? s->where[S_GRACE] : SSHD_CONFIG,
			      "LoginGraceTime %ld s ends a login before the %s (%u s) and %d s "
			      "more: give it at least %ld",
			      grace,
			      has_device(cfg) ? "device sign-in's timeout" : "MFA push timeout",
			      has_device(cfg) && cfg->device_timeout > cfg->mfa_timeout
				      ? cfg->device_timeout
				      : cfg->mfa_timeout,
			      GRACE_MARGIN, need);
	else
		a0_report_add(r, A0_SEV_OK, "sshd-grace",
			      *s->where[S_GRACE] ? s->where[S_GRACE] : SSHD_CONFIG,
			      "LoginGraceTime %ld s", grace);
out:
	free(s);
}
