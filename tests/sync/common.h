/* SPDX-License-Identifier: MIT */
/*
 * What the auth0-sync tests share: a run directory with the command's configuration and the
 * sync application's secret (root's), the command run as a child, files read back whole, and
 * the fake tenant's Management API counters.
 */
#ifndef A0_TEST_SYNC_COMMON_H
#define A0_TEST_SYNC_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "tests/common/fake.h"

/* The sync application of the fake tenant and its secret (tests/fake-tenant/tenant.json). */
#define SYNC_CLIENT "sync-client"
#define SYNC_SECRET "test-sync-secret-456"
#define CONNECTION "Username-Password-Authentication"

struct env {
	struct fake f;
	char dir[64];       /* the run directory, removed at exit */
	char conf[128];     /* dir/pam_auth0.conf */
	char sync_dir[128]; /* dir/sync */
	char cache[160], identities[160], state[160], status[160];
};

/* Root or skip (exit 77); the fake; a new run directory (its sync dir not yet made). */
void env_init(struct env *e, const char *prefix);
/*
 * Write the configuration: the fake at port (0: the main port), the sync application with
 * its secret in dir/secret (secret NULL: SYNC_SECRET), the fake's connection, sync_dir, an
 * empty users_file, timeout 5, sync_max_runtime 30, then extra lines (may be NULL).
 */
void env_conf(const struct env *e, int port, const char *secret, const char *extra);
/* The fake back to its data file, no faults, no Action, stats cleared. */
void env_reset(const struct env *e);
/* Remove the sync dir's files (a first run again). */
void env_clear(const struct env *e);

/* One run of the command, finished. */
struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
	double seconds;
};
/* Run auth0-sync --config dir/pam_auth0.conf ARGS... (NULL-terminated). */
int run_sync(const struct env *e, struct run *r, const char *const *args);
#define SYNC(e, r, ...) run_sync((e), (r), (const char *const[]){ NULL, ##__VA_ARGS__, NULL } + 1)
void run_free(struct run *r);
/* Fail unless r ended with status, showing its stderr. */
void assert_status_at(const struct run *r, int status, const char *file, int line);
#define assert_status(r, s) assert_status_at((r), (s), __FILE__, __LINE__)

/* A file's bytes (NULL when it does not exist) and length. */
struct bytes {
	char *data;
	size_t len;
};
void bytes_read(const char *path, struct bytes *ret);
void bytes_free(struct bytes *b);
bool bytes_equal(const struct bytes *a, const struct bytes *b);

/* The fake: Management API requests since the last env_reset / reset-stats, in all or to one
 * route ("GET /api/v2/users"); token exchanges. */
int mgmt_requests(const struct env *e, const char *route);
void stats_reset(const struct env *e);
/* POST JSON to a /__control/ path (printf-style). */
void control(const struct env *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
