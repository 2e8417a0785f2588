/* SPDX-License-Identifier: MIT */
/*
 * auth0-sync(8): fill the identity cache from Auth0's Management API (sync/mgmt.c), by the
 * identity rules (sync/rules.c), or from a signed snapshot (sync/snapshot.c). Root only, one
 * run at a time (a lock in sync_dir), bounded in time (sync_max_runtime). Nothing is written
 * before everything was read: on any failure to read, the previous cache, identities file and
 * state stay as they were, byte for byte.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/json.h"
#include "lib/util.h"
#include "nss/cache.h"
#include "sync/mgmt.h"
#include "sync/rules.h"
#include "sync/snapshot.h"
#include "sync/state.h"
#include "sync/sync.h"

/* Exit codes, as auth0-sync(8) documents them. */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,        /* usage, configuration, not root */
	EXIT_UNREACHABLE = 2,  /* Auth0 not reachable: network, TLS, timeout, 5xx */
	EXIT_REFUSED = 3,      /* Auth0 refused the application or a request */
	EXIT_RATE_LIMITED = 4, /* rate limited past sync_max_runtime */
	EXIT_MALFORMED = 5,    /* an answer that is not Auth0's: malformed or too large */
	EXIT_LOCAL = 6,        /* local files: state, cache, identities, accounts, lock */
	EXIT_SNAPSHOT = 7,     /* --import: the snapshot is refused */
	EXIT_BUSY = 8,         /* another auth0-sync holds the lock */
};

static const char *const exit_names[] = {
	[EXIT_OK] = "OK",
	[EXIT_USAGE] = "USAGE",
	[EXIT_UNREACHABLE] = "UNREACHABLE",
	[EXIT_REFUSED] = "REFUSED",
	[EXIT_RATE_LIMITED] = "RATE_LIMITED",
	[EXIT_MALFORMED] = "MALFORMED",
	[EXIT_LOCAL] = "LOCAL",
	[EXIT_SNAPSHOT] = "SNAPSHOT",
	[EXIT_BUSY] = "BUSY",
};

#define STATUS_NAME "sync.status"
#define LOCK_NAME "sync.lock"
#define CACHE_NAME "nss.cache"
#define MAX_STATUS_FILE (64 * 1024)
#define MAX_MESSAGE 1024

enum mode { MODE_SYNC, MODE_STATUS, MODE_EXPORT, MODE_IMPORT };

struct run {
	struct a0_config *cfg;
	enum mode mode;
	bool full, dry_run, quiet;
	const char *export_file, *signing_key, *import_file;
	char state_path[4096], cache_path[4096], identities_path[4096], status_path[4096],
		lock_path[4096];
	double started; /* CLOCK_MONOTONIC */
	unsigned skipped;
};

static double monotonic(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One line to syslog, and to stderr unless --quiet leaves only errors there. */
static void log_line(const void *ctx, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_line(const void *ctx, int priority, const char *fmt, ...)
{
	const struct run *run = ctx;
	char line[MAX_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Text from Auth0 is in it: nothing that could make another line. */
	a0_text_scrub(line, strlen(line), A0_TEXT_LINE);
	syslog(priority, "%s", line);
	if (!run || !run->quiet || priority <= LOG_ERR)
		fprintf(stderr, "auth0-sync: %s\n", line);
}

/* What a rule or the fetcher skipped: counted for the run's line. */
static void log_item(void *ctx, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_item(void *ctx, int priority, const char *fmt, ...)
{
	struct run *run = ctx;
	char line[MAX_MESSAGE];
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (priority <= LOG_WARNING)
		run->skipped++;
	log_line(ctx, priority, "%s", line);
}

static void usage(FILE *f)
{
	fputs("Usage: auth0-sync [--config FILE] [--full] [--dry-run] [--quiet]\n"
	      "       auth0-sync [--config FILE] --status\n"
	      "       auth0-sync [--config FILE] --export FILE --signing-key KEY\n"
	      "       auth0-sync [--config FILE] --import FILE [--dry-run] [--quiet]\n"
	      "Fill the identity cache of pam_auth0 and libnss_auth0 from Auth0's Management API\n"
	      "(or from a signed snapshot). Root only. See auth0-sync(8).\n",
	      f);
}

/* The exit code for an error of the network part. */
static int exit_of_fetch(int r)
{
	switch (r) {
	case A0_ERR_NETWORK:
	case A0_ERR_TLS:
	case A0_ERR_TIMEOUT:
	case A0_ERR_SERVER:
		return EXIT_UNREACHABLE;
	case A0_ERR_CLIENT:
	case A0_ERR_AUTH0:
	case A0_ERR_DENIED:
		return EXIT_REFUSED;
	case A0_ERR_RATE_LIMITED:
		return EXIT_RATE_LIMITED;
	case A0_ERR_MALFORMED:
	case A0_ERR_TOO_LARGE:
		return EXIT_MALFORMED;
	case A0_ERR_CONFIG:
	case A0_ERR_INVALID:
		return EXIT_USAGE;
	default:
		return EXIT_LOCAL;
	}
}

static bool join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n > 0 && (size_t)n < size;
}

/* "2024-05-01 12:00:00 UTC (3 min ago)", or "never". */
static const char *when(time_t t, char *buf, size_t size)
{
	struct tm tm;
	char date[64];
	long long ago = (long long)(time(NULL) - t);

	if (t <= 0 || !gmtime_r(&t, &tm) ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		a0_format(buf, size, "never");
		return buf;
	}
	if (ago < 120)
		a0_format(buf, size, "%s (%lld s ago)", date, ago);
	else if (ago < 7200)
		a0_format(buf, size, "%s (%lld min ago)", date, ago / 60);
	else if (ago < 172800)
		a0_format(buf, size, "%s (%lld h ago)", date, ago / 3600);
	else
		a0_format(buf, size, "%s (%lld days ago)", date, ago / 86400);
	return buf;
}

/* The cache in place, for messages: "the previous cache (data from ...) stays in place". */
static void cache_age(const struct run *run, char *buf, size_t size)
{
	struct a0_cache *c = NULL;
	char w[128];

	if (a0_cache_open(run->cache_path, &c) < 0) {
		a0_format(buf, size, "there is no cache yet");
		return;
	}
	a0_format(buf, size, "the previous cache (data from %s) stays in place",
		  when(a0_cache_generated(c), w, sizeof(w)));
	a0_cache_close(c);
}

/* ------------------------------------------------------------------ status file */

struct status {
	time_t last_run, last_success, last_full, last_incremental;
	int exit_code;
	char message[MAX_MESSAGE];
	char run_kind[16];
	unsigned users_read, users, groups, skipped, token_requests, api_requests, downloads,
		rate_waits, retries;
	double seconds;
};

static void status_read(const struct run *run, struct status *s)
{
	char *text = NULL;
	cJSON *o = NULL;
	ssize_t n;
	int fd;

	memset(s, 0, sizeof(*s));
	s->exit_code = -1;
	fd = open(run->status_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	text = calloc(1, MAX_STATUS_FILE + 1);
	n = text ? a0_read_full(fd, text, MAX_STATUS_FILE) : -1;
	(void)close(fd);
	if (n > 0 && a0_json_parse(text, (size_t)n, &o) == 0 && cJSON_IsObject(o)) {
		long long v;
		const char *str;

#define NUM(field, name)                                                \
	do {                                                            \
		if (a0_json_uint(o, name, (long long)1 << 40, &v) == 0) \
			s->field = (__typeof__(s->field))v;             \
	} while (0)
		NUM(last_run, "last_run");
		NUM(last_success, "last_success");
		NUM(last_full, "last_full");
		NUM(last_incremental, "last_incremental");
		NUM(exit_code, "exit");
		NUM(users_read, "users_read");
		NUM(users, "users");
		NUM(groups, "groups");
		NUM(skipped, "skipped");
		NUM(token_requests, "token_requests");
		NUM(api_requests, "api_requests");
		NUM(downloads, "downloads");
		NUM(rate_waits, "rate_waits");
		NUM(retries, "retries");
#undef NUM
		if (a0_json_uint(o, "milliseconds", (long long)1 << 40, &v) == 0)
			s->seconds = (double)v / 1000.0;
		if ((str = a0_json_string(o, "message")))
			a0_format(s->message, sizeof(s->message), "%s", str);
		if ((str = a0_json_string(o, "run")))
			a0_format(s->run_kind, sizeof(s->run_kind), "%s", str);
	}
	a0_json_free(o);
	free(text);
}

static void status_write(const struct run *run, const struct status *s)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

#define NUM(field, name) (o && !cJSON_AddNumberToObject(o, name, (double)s->field) ? 0 : 1)
	if (!o || !NUM(last_run, "last_run") || !NUM(last_success, "last_success") ||
	    !NUM(last_full, "last_full") || !NUM(last_incremental, "last_incremental") ||
	    !NUM(exit_code, "exit") || !NUM(users_read, "users_read") || !NUM(users, "users") ||
	    !NUM(groups, "groups") || !NUM(skipped, "skipped") ||
	    !NUM(token_requests, "token_requests") || !NUM(api_requests, "api_requests") ||
	    !NUM(downloads, "downloads") || !NUM(rate_waits, "rate_waits") ||
	    !NUM(retries, "retries") ||
	    !cJSON_AddNumberToObject(o, "milliseconds", (double)(long long)(s->seconds * 1000)) ||
	    !cJSON_AddStringToObject(o, "result",
				     s->exit_code >= 0 &&
						     s->exit_code < (int)A0_ARRAY_SIZE(exit_names)
					     ? exit_names[s->exit_code]
					     : "?") ||
	    !cJSON_AddStringToObject(o, "run", s->run_kind) ||
	    !cJSON_AddStringToObject(o, "message", s->message) ||
	    !(text = cJSON_PrintUnformatted(o)))
		goto out;
#undef NUM
	if (a0_replace_file(run->status_path, text, strlen(text), 0600) < 0)
		log_line(run, LOG_WARNING, "cannot write %s: %s", run->status_path,
			 strerror(errno));
out:
	free(text);
	cJSON_Delete(o);
}

/* Record a run's outcome in the status file (never for --dry-run). */
static void status_record(const struct run *run, int code, const char *kind, const char *message,
			  const struct a0_mgmt_stats *st, unsigned users_read,
			  const struct a0_sync_state *state)
{
	struct status s;
	time_t now = time(NULL);

	status_read(run, &s);
	s.last_run = now;
	s.exit_code = code;
	a0_format(s.run_kind, sizeof(s.run_kind), "%s", kind);
	a0_format(s.message, sizeof(s.message), "%s", message ? message : "");
	s.seconds = monotonic() - run->started;
	s.skipped = run->skipped;
	s.users_read = users_read;
	if (st) {
		s.token_requests = st->token_requests;
		s.api_requests = st->api_requests;
		s.downloads = st->downloads;
		s.rate_waits = st->rate_waits;
		s.retries = st->retries;
	} else {
		s.token_requests = s.api_requests = s.downloads = s.rate_waits = s.retries = 0;
	}
	if (code == EXIT_OK) {
		s.last_success = now;
		if (strcmp(kind, "full") == 0)
			s.last_full = now;
		else if (strcmp(kind, "incremental") == 0)
			s.last_incremental = now;
	}
	if (state && code == EXIT_OK) {
		s.users = s.groups = 0;
		for (size_t i = 0; i < state->n_users; i++)
			s.users += state->users[i].state != A0_SYNC_DELETED;
		for (size_t i = 0; i < state->n_groups; i++)
			s.groups += !state->groups[i].deleted;
	}
	status_write(run, &s);
}

/* ------------------------------------------------------------------ set-up */

/* sync_dir: root's directory, writable by nobody else; made (0755) when missing. */
static int prepare_dir(const struct run *run, char *err, size_t errlen)
{
	const char *dir = run->cfg->sync_dir;
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		a0_format(err, errlen, "sync_dir %s: cannot create: %s", dir, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	if (lstat(dir, &st) < 0) {
		a0_format(err, errlen, "sync_dir %s: %s", dir, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		a0_format(err, errlen,
			  "sync_dir %s: must be a directory owned by root and writable by nobody "
			  "else",
			  dir);
		return A0_ERR_CONFIG;
	}
	return 0;
}

/* One run at a time: 0 and the lock's descriptor, or EXIT_BUSY / EXIT_LOCAL. */
static int take_lock(const struct run *run, int *ret_fd, char *err, size_t errlen)
{
	int fd = open(run->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		a0_format(err, errlen, "%s: %s", run->lock_path, strerror(errno));
		return EXIT_LOCAL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		(void)close(fd);
		if (e == EWOULDBLOCK) {
			a0_format(err, errlen, "another auth0-sync is running (%s)",
				  run->lock_path);
			return EXIT_BUSY;
		}
		a0_format(err, errlen, "%s: %s", run->lock_path, strerror(e));
		return EXIT_LOCAL;
	}
	*ret_fd = fd;
	return EXIT_OK;
}

static unsigned count_active(const struct a0_sync_state *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n_users; i++)
		n += s->users[i].state != A0_SYNC_DELETED;
	return n;
}

static unsigned count_groups(const struct a0_sync_state *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n_groups; i++)
		n += !s->groups[i].deleted;
	return n;
}

/* ------------------------------------------------------------------ sync */

static int run_sync(struct run *run)
{
	const struct a0_config *cfg = run->cfg;
	struct a0_sync_state state = { 0 };
	struct a0_sync_data data = { 0 };
	struct a0_sync_accounts *accounts = NULL;
	struct a0_mgmt_stats stats = { 0 };
	struct a0_sync_local local;
	struct a0_mgmt *m = NULL;
	char err[MAX_MESSAGE] = "", age[256];
	const char *kind = "incremental";
	time_t now = time(NULL);
	int code = EXIT_OK, r;

	if ((r = a0_sync_state_load(run->state_path, &state, err, sizeof(err))) < 0) {
		code = EXIT_LOCAL;
		goto out;
	}
	/* A full run reads every user, so that deletions are seen. */
	if (run->full || !state.watermark || state.last_full <= 0 ||
	    now - state.last_full >= (time_t)cfg->sync_full_interval)
		kind = "full";
	if ((r = a0_mgmt_new(cfg, cfg->sync_max_runtime, log_item, run, &m, err, sizeof(err))) <
	    0) {
		code = r == A0_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL;
		goto out;
	}
	r = a0_mgmt_fetch(m, state.watermark, strcmp(kind, "full") == 0, &data, err, sizeof(err));
	a0_mgmt_get_stats(m, &stats);
	if (r < 0) {
		code = exit_of_fetch(r);
		goto out;
	}
	if (data.full)
		kind = "full"; /* an export job read every user */
	if ((r = a0_sync_accounts_read(A0_SYNC_PASSWD, A0_SYNC_GROUP, &accounts, err,
				       sizeof(err))) < 0) {
		code = EXIT_LOCAL;
		goto out;
	}
	a0_sync_accounts_local(accounts, &local);
	if ((r = a0_sync_apply(cfg, &local, &data, &state, log_item, run)) < 0) {
		if (!err[0])
			a0_format(err, sizeof(err), "the identity rules failed: %s",
				  a0_strerror(r));
		code = r == A0_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL;
		goto out;
	}
	if (run->dry_run) {
		printf("dry run (%s): read %zu users and %zu roles; the cache would hold %u users "
		       "and %u groups; nothing was written\n",
		       kind, data.n_users, data.n_roles, count_active(&state),
		       count_groups(&state));
		goto out;
	}
	/* The outputs first, the state last: a state never describes files not written. */
	if ((r = a0_sync_write_outputs(cfg, &state, run->cache_path, run->identities_path, err,
				       sizeof(err))) < 0 ||
	    (r = a0_sync_state_save(run->state_path, &state, err, sizeof(err))) < 0)
		code = EXIT_LOCAL;
out:
	if (code != EXIT_OK) {
		char message[MAX_MESSAGE];

		cache_age(run, age, sizeof(age));
		a0_format(message, sizeof(message), "%s; %s", err, age);
		log_line(run, LOG_ERR,
			 "result=%s exit=%d run=%s token_requests=%u api_requests=%u rate_waits=%u "
			 "retries=%u duration=%.2fs error=%s",
			 exit_names[code], code, kind, stats.token_requests, stats.api_requests,
			 stats.rate_waits, stats.retries, monotonic() - run->started, message);
		if (!run->dry_run)
			status_record(run, code, kind, message, &stats, (unsigned)data.n_users,
				      NULL);
	} else {
		log_line(run, LOG_INFO,
			 "result=OK run=%s%s users_read=%zu roles_read=%zu users=%u groups=%u "
			 "skipped=%u token_requests=%u api_requests=%u downloads=%u rate_waits=%u "
			 "retries=%u duration=%.2fs",
			 kind, run->dry_run ? " (dry run)" : "", data.n_users, data.n_roles,
			 count_active(&state), count_groups(&state), run->skipped,
			 stats.token_requests, stats.api_requests, stats.downloads,
			 stats.rate_waits, stats.retries, monotonic() - run->started);
		if (!run->dry_run)
			status_record(run, code, kind, NULL, &stats, (unsigned)data.n_users,
				      &state);
	}
	a0_sync_accounts_free(accounts);
	a0_mgmt_free(m);
	a0_sync_data_free(&data);
	a0_sync_state_free(&state);
	return code;
}

/* ------------------------------------------------------------------ snapshots */

/* The file at path, whole, at most max bytes. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len, char *err,
		     size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		a0_format(err, errlen, "%s: %s", path, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		a0_format(err, errlen, "%s: not a regular file of at most %zu bytes", path, max);
		(void)close(fd);
		return A0_ERR_TOO_LARGE;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? a0_read_full(fd, buf, (size_t)st.st_size) : -1;
	(void)close(fd);
	if (n != st.st_size) {
		free(buf);
		a0_format(err, errlen, "%s: cannot read", path);
		return A0_ERR_SYSTEM;
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

static int run_export(struct run *run)
{
	struct a0_sync_state state = { 0 };
	char err[MAX_MESSAGE] = "", *text = NULL, *envelope = NULL;
	size_t len = 0, envlen = 0;
	int code = EXIT_LOCAL, r;

	if ((r = a0_sync_state_load(run->state_path, &state, err, sizeof(err))) < 0)
		goto out;
	if (state.generated <= 0) {
		a0_format(err, sizeof(err), "no state to export in %s: run auth0-sync first",
			  run->state_path);
		goto out;
	}
	if ((r = a0_sync_state_print(&state, &text, &len)) < 0) {
		a0_format(err, sizeof(err), "%s", a0_strerror(r));
		goto out;
	}
	/* Signed as of when the data was read from Auth0: re-signing old data does not make it
	 * younger for snapshot_max_age. */
	if ((r = a0_snapshot_sign(run->signing_key, text, len, state.generated, &envelope, &envlen,
				  err, sizeof(err))) < 0) {
		code = r == A0_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL;
		goto out;
	}
	if (a0_replace_file(run->export_file, envelope, envlen, 0600) < 0) {
		a0_format(err, sizeof(err), "%s: %s", run->export_file, strerror(errno));
		goto out;
	}
	log_line(run, LOG_INFO, "result=OK exported %u users and %u groups to %s",
		 count_active(&state), count_groups(&state), run->export_file);
	code = EXIT_OK;
out:
	if (code != EXIT_OK)
		log_line(run, LOG_ERR, "result=%s exit=%d export: %s", exit_names[code], code, err);
	free(envelope);
	free(text);
	a0_sync_state_free(&state);
	return code;
}

static int run_import(struct run *run)
{
	const struct a0_config *cfg = run->cfg;
	struct a0_sync_state state = { 0 }, current = { 0 };
	struct a0_sync_accounts *accounts = NULL;
	struct a0_sync_local local;
	char err[MAX_MESSAGE] = "", age[256], *data = NULL;
	const void *payload = NULL;
	size_t len = 0, plen = 0;
	time_t created = 0;
	int code = EXIT_SNAPSHOT, r;

	if (!cfg->snapshot_public_key) {
		a0_format(err, sizeof(err),
			  "snapshot_public_key is not set: no snapshot is trusted");
		code = EXIT_USAGE;
		goto out;
	}
	if ((r = read_file(run->import_file, A0_SNAPSHOT_MAX_PAYLOAD + A0_SNAPSHOT_MAX_HEADER,
			   &data, &len, err, sizeof(err))) < 0)
		goto out;
	if ((r = a0_snapshot_verify(cfg->snapshot_public_key, data, len, time(NULL),
				    cfg->snapshot_max_age, &payload, &plen, &created, err,
				    sizeof(err))) < 0) {
		if (r == A0_ERR_CONFIG)
			code = EXIT_USAGE;
		goto out;
	}
	if ((r = a0_sync_state_parse(payload, plen, &state, err, sizeof(err))) < 0)
		goto out;
	if ((r = a0_sync_state_load(run->state_path, &current, err, sizeof(err))) < 0) {
		code = EXIT_LOCAL;
		goto out;
	}
	/* A replayed older snapshot would bring back users deleted since. */
	if (state.generated < current.generated) {
		char a[128], b[128];

		a0_format(err, sizeof(err),
			  "the snapshot's data (from %s) is older than this host's (from %s)",
			  when(state.generated, a, sizeof(a)),
			  when(current.generated, b, sizeof(b)));
		goto out;
	}
	code = EXIT_LOCAL;
	if ((r = a0_sync_accounts_read(A0_SYNC_PASSWD, A0_SYNC_GROUP, &accounts, err,
				       sizeof(err))) < 0)
		goto out;
	a0_sync_accounts_local(accounts, &local);
	if ((r = a0_sync_check_local(cfg, &local, &state, log_item, run)) < 0) {
		if (!err[0])
			a0_format(err, sizeof(err), "%s", a0_strerror(r));
		goto out;
	}
	if (run->dry_run) {
		printf("dry run (import): the snapshot holds %u users and %u groups; nothing was "
		       "written\n",
		       count_active(&state), count_groups(&state));
		code = EXIT_OK;
		goto out;
	}
	if ((r = a0_sync_write_outputs(cfg, &state, run->cache_path, run->identities_path, err,
				       sizeof(err))) < 0 ||
	    (r = a0_sync_state_save(run->state_path, &state, err, sizeof(err))) < 0)
		goto out;
	code = EXIT_OK;
out:
	if (code == EXIT_OK) {
		log_line(run, LOG_INFO, "result=OK run=import users=%u groups=%u duration=%.2fs",
			 count_active(&state), count_groups(&state), monotonic() - run->started);
		if (!run->dry_run)
			status_record(run, code, "import", NULL, NULL, 0, &state);
	} else {
		char message[MAX_MESSAGE];

		cache_age(run, age, sizeof(age));
		a0_format(message, sizeof(message), "import %s: %s; %s", run->import_file, err,
			  age);
		log_line(run, LOG_ERR, "result=%s exit=%d run=import error=%s", exit_names[code],
			 code, message);
		if (!run->dry_run)
			status_record(run, code, "import", message, NULL, 0, NULL);
	}
	a0_sync_accounts_free(accounts);
	a0_sync_state_free(&current);
	a0_sync_state_free(&state);
	free(data);
	return code;
}

/* ------------------------------------------------------------------ status */

static int run_status(struct run *run)
{
	struct a0_sync_state state = { 0 };
	struct a0_cache *cache = NULL;
	struct status s;
	char err[MAX_MESSAGE] = "", w[128];
	size_t deleted = 0;
	int code;

	if (a0_cache_open(run->cache_path, &cache) == 0) {
		printf("cache: %s: %zu users, %zu groups, data from %s\n", run->cache_path,
		       a0_cache_n_users(cache), a0_cache_n_groups(cache),
		       when(a0_cache_generated(cache), w, sizeof(w)));
		a0_cache_close(cache);
	} else {
		printf("cache: %s: none\n", run->cache_path);
	}
	if (a0_sync_state_load(run->state_path, &state, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < state.n_users; i++)
			deleted += state.users[i].state == A0_SYNC_DELETED;
		printf("state: %zu users (%zu deleted), %zu groups, watermark %s\n", state.n_users,
		       deleted, state.n_groups, state.watermark ? state.watermark : "none");
		printf("last full run: %s\n", when(state.last_full, w, sizeof(w)));
	} else {
		printf("state: %s\n", err);
	}
	status_read(run, &s);
	printf("last incremental run: %s\n", when(s.last_incremental, w, sizeof(w)));
	if (s.exit_code < 0) {
		printf("last run: none recorded\n");
		code = EXIT_LOCAL;
	} else {
		printf("last run: %s, %s, %s, %u+%u requests, %.1f s\n",
		       when(s.last_run, w, sizeof(w)), s.run_kind[0] ? s.run_kind : "?",
		       s.exit_code < (int)A0_ARRAY_SIZE(exit_names) ? exit_names[s.exit_code] : "?",
		       s.token_requests, s.api_requests, s.seconds);
		printf("last success: %s\n", when(s.last_success, w, sizeof(w)));
		if (s.exit_code != EXIT_OK)
			printf("last error: %s\n", s.message);
		code = s.exit_code < (int)A0_ARRAY_SIZE(exit_names) ? s.exit_code : EXIT_LOCAL;
	}
	a0_sync_state_free(&state);
	return code;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "full", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "status", no_argument, NULL, 's' },
		{ "export", required_argument, NULL, 'e' },
		{ "signing-key", required_argument, NULL, 'k' },
		{ "import", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run run = { .mode = MODE_SYNC, .started = monotonic() };
	char err[MAX_MESSAGE] = "", config_arg[4200];
	const char *config = A0_DEFAULT_CONFIG, *cargv[1];
	int c, code, lock = -1, r;
	unsigned modes = 0;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			run.full = true;
			break;
		case 'n':
			run.dry_run = true;
			break;
		case 'q':
			run.quiet = true;
			break;
		case 's':
			run.mode = MODE_STATUS;
			modes++;
			break;
		case 'e':
			run.mode = MODE_EXPORT;
			run.export_file = optarg;
			modes++;
			break;
		case 'k':
			run.signing_key = optarg;
			break;
		case 'i':
			run.mode = MODE_IMPORT;
			run.import_file = optarg;
			modes++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			puts("auth0-sync (" PACKAGE_NAME ") " PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || modes > 1 || (run.mode == MODE_EXPORT) != !!run.signing_key ||
	    (run.full && run.mode != MODE_SYNC) ||
	    (run.dry_run && run.mode != MODE_SYNC && run.mode != MODE_IMPORT)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	openlog("auth0-sync", LOG_PID, LOG_AUTHPRIV);
	if (geteuid() != 0) {
		log_line(&run, LOG_ERR,
			 "must run as root (it reads root-only credentials and "
			 "writes root's files)");
		return EXIT_USAGE;
	}
	umask(077);
	if (snprintf(config_arg, sizeof(config_arg), "config=%s", config) >=
	    (int)sizeof(config_arg)) {
		log_line(&run, LOG_ERR, "--config: path too long");
		return EXIT_USAGE;
	}
	cargv[0] = config_arg;
	if ((r = a0_config_load(1, cargv, &run.cfg, err, sizeof(err))) < 0) {
		log_line(&run, LOG_ERR, "%s", err);
		return r == A0_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL;
	}
	if (!join(run.state_path, sizeof(run.state_path), run.cfg->sync_dir, A0_SYNC_STATE_NAME) ||
	    !join(run.cache_path, sizeof(run.cache_path), run.cfg->sync_dir, CACHE_NAME) ||
	    !join(run.identities_path, sizeof(run.identities_path), run.cfg->sync_dir,
		  A0_IDENTITIES_NAME) ||
	    !join(run.status_path, sizeof(run.status_path), run.cfg->sync_dir, STATUS_NAME) ||
	    !join(run.lock_path, sizeof(run.lock_path), run.cfg->sync_dir, LOCK_NAME)) {
		log_line(&run, LOG_ERR, "sync_dir: path too long");
		code = EXIT_USAGE;
		goto out;
	}
	if (run.mode == MODE_STATUS) {
		code = run_status(&run);
		goto out;
	}
	if ((r = prepare_dir(&run, err, sizeof(err))) < 0) {
		log_line(&run, LOG_ERR, "%s", err);
		code = r == A0_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL;
		goto out;
	}
	if ((code = take_lock(&run, &lock, err, sizeof(err))) != EXIT_OK) {
		log_line(&run, LOG_ERR, "result=%s exit=%d error=%s", exit_names[code], code, err);
		goto out;
	}
	switch (run.mode) {
	case MODE_EXPORT:
		code = run_export(&run);
		break;
	case MODE_IMPORT:
		code = run_import(&run);
		break;
	default:
		code = run_sync(&run);
		break;
	}
out:
	if (lock >= 0)
		(void)close(lock);
	a0_config_free(run.cfg);
	closelog();
	return code;
}
