/* SPDX-License-Identifier: MIT */
#ifndef A0_SYNC_MGMT_H
#define A0_SYNC_MGMT_H

/*
 * What auth0-sync reads from Auth0's Management API (auth0-sync(8)): a client-credentials
 * token for https://DOMAIN/api/v2/ (client_secret_post from sync_client_secret_file, or
 * private_key_jwt signed with sync_private_key_file), the users of the configured connections
 * (search v3, paged, or a users-export job when the search would pass its 1,000 results) and
 * the roles with their members. Every request honours 429 (until X-RateLimit-Reset, or
 * Retry-After) and retries 5xx answers and failed connections a bounded number of times, all
 * within the run's time budget. What the API says about a user is checked for shape here and
 * for meaning in sync/rules.c; a user or role of the wrong shape is skipped with one log line.
 */

#include <stdbool.h>
#include <stddef.h>

#include "lib/conf.h"
#include "sync/sync.h"

/* Users and roles per page, Auth0's most. */
#define A0_MGMT_PER_PAGE 100
/* The most results one user search may page through (a 400 beyond). */
#define A0_MGMT_SEARCH_LIMIT 1000
/* Largest page of the Management API: 100 users with their app_metadata. */
#define A0_MGMT_MAX_PAGE (4 * 1024 * 1024)
/* Largest users-export file (compressed), its content once inflated, and one of its lines. */
#define A0_MGMT_MAX_EXPORT (256 * 1024 * 1024)
#define A0_MGMT_MAX_EXPORT_INFLATED (2048LL * 1024 * 1024)
#define A0_MGMT_MAX_EXPORT_LINE (64 * 1024)
/* Most roles read, and most attempts of one request after a 5xx or a failed connection. */
#define A0_MGMT_MAX_ROLES 1000
#define A0_MGMT_MAX_RETRIES 3
/* Most 429 waits in one run. */
#define A0_MGMT_MAX_WAITS 50
/*
 * Seconds Auth0's search index may lag behind a change (it is eventually consistent). The
 * watermark a run leaves (a0_sync_data.max_updated_at) is the newest updated_at it read, but
 * never later than its start less this: the next run asks for the users changed after it, and
 * so also reads a change the index did not show yet.
 */
#define A0_MGMT_WATERMARK_OVERLAP 10
/* Longest user_id, role id, name or email taken from the API. */
#define A0_MGMT_MAX_STRING 512

struct a0_mgmt;

/* What one run did, for its log line, --status and the tests. */
struct a0_mgmt_stats {
	unsigned token_requests; /* POST /oauth/token */
	unsigned api_requests;   /* /api/v2/ requests (retries count) */
	unsigned downloads;      /* users-export files */
	unsigned rate_waits;     /* 429s waited out */
	unsigned retries;        /* 5xx and failed connections retried */
	unsigned skipped;        /* users and roles skipped for their shape */
	bool used_export;
};

/*
 * A client for cfg's tenant and sync application: reads the application's credential
 * (sync_client_secret_file or sync_private_key_file, root-only files), and checks
 * sync_client_id and sync_connections. budget: the seconds every request of the run must fit
 * in. log (may be NULL) gets one line per item skipped. 0, or A0_ERR_CONFIG (a message in
 * err), A0_ERR_NOMEM.
 */
int a0_mgmt_new(const struct a0_config *cfg, unsigned budget, a0_sync_log_fn log, void *log_ctx,
		struct a0_mgmt **ret, char *err, size_t errlen);
void a0_mgmt_free(struct a0_mgmt *m);

/*
 * Read what the run needs: the users of the connections changed after watermark (an ISO 8601
 * updated_at, the max_updated_at of the last run; NULL, or force_full: every user,
 * data.full; an export job also reads a whole connection), and every role whose name starts
 * with role_prefix or is named in group_map or allowed_roles, with all its members (roles are
 * complete in every run). Users are unique by user_id. 0 and *ret (free with a0_sync_data_free); else an
 * A0_ERR_* with a message for the administrator in err:
 *   A0_ERR_NETWORK, _TLS, _TIMEOUT (also: the budget ran out), _SERVER: Auth0 not reachable;
 *   A0_ERR_CLIENT: Auth0 refused the application (secret or key, grant, scopes, an Action);
 *   A0_ERR_AUTH0: Auth0 refused a request; A0_ERR_RATE_LIMITED: rate limited past the budget;
 *   A0_ERR_MALFORMED, A0_ERR_TOO_LARGE: an answer that is not Auth0's; A0_ERR_NOMEM.
 */
int a0_mgmt_fetch(struct a0_mgmt *m, const char *watermark, bool force_full,
		  struct a0_sync_data *ret, char *err, size_t errlen);

void a0_mgmt_get_stats(const struct a0_mgmt *m, struct a0_mgmt_stats *ret);

/*
 * The parsers of the Management API's answers, as a0_mgmt_fetch runs them on what it reads;
 * public for tests/fuzz/fuzz_mgmt.c. They use a client for its configuration (name_attribute),
 * its log and its count of skipped items (stats.skipped) alone: a0_mgmt_new_parser makes one
 * without credentials or HTTP client (a0_mgmt_fetch refuses it: A0_ERR_INVALID). A user or
 * member of the wrong shape is skipped with one log line; an answer of the wrong shape is
 * A0_ERR_MALFORMED with the reason in err. What they keep of a user (struct a0_sync_user):
 * user_id printable ASCII without a blank (A0_TEXT_TOKEN), 1..A0_MAX_USER_ID bytes; username,
 * email and the name_attribute's value without a control byte (A0_TEXT_LINE), at most
 * A0_MGMT_MAX_STRING bytes; gecos the same, at most A0_CACHE_MAX_FIELD; uid and gid -1 or
 * 0..2^32-1; updated_at canonical (YYYY-MM-DDTHH:MM:SS.mmmZ). Whether a name is a valid Linux
 * name is for the rules (sync/rules.h).
 */
int a0_mgmt_new_parser(const struct a0_config *cfg, a0_sync_log_fn log, void *log_ctx,
		       struct a0_mgmt **ret);

/* Users read so far: v[0..n), room for cap. */
struct a0_mgmt_users {
	struct a0_sync_user *v;
	size_t n, cap;
};
void a0_mgmt_users_free(struct a0_mgmt_users *u); /* the members, not u itself */

struct cJSON;
/*
 * One page of GET /api/v2/users with include_totals, {users, total, ...}, as parsed by
 * a0_json_parse: its users appended to out (at most A0_CACHE_MAX_USERS in all, else
 * A0_ERR_TOO_LARGE), the search's total in *ret_total and the number of users on the page in
 * *ret_count. 0, A0_ERR_MALFORMED, A0_ERR_TOO_LARGE, A0_ERR_NOMEM.
 */
int a0_mgmt_parse_users_page(struct a0_mgmt *m, const struct cJSON *root, struct a0_mgmt_users *out,
			     long long *ret_total, int *ret_count, char *err, size_t errlen);

/*
 * One page of GET /api/v2/roles/ID/users, {users, next} (checkpoint paging) or a bare array:
 * the members' user_ids appended to role->members (*cap: the room role->members has, 0 at
 * first; at most A0_CACHE_MAX_MEMBERS, else A0_ERR_TOO_LARGE). *ret_next: the checkpoint of
 * the next page (a string of root), or NULL after the last page. from: this page's checkpoint
 * (NULL for the first), which next must not repeat. 0, A0_ERR_MALFORMED, A0_ERR_TOO_LARGE,
 * A0_ERR_NOMEM.
 */
int a0_mgmt_parse_members_page(struct a0_mgmt *m, const struct cJSON *root, const char *from,
			       struct a0_sync_role *role, size_t *cap, const char **ret_next,
			       char *err, size_t errlen);

/*
 * A users-export file as it arrives: gzip (as Auth0 serves it) or plain NDJSON, told by its
 * first byte; one user a line. Its users are appended to out; a line that is not JSON, not a
 * user of the right shape, or longer than A0_MGMT_MAX_EXPORT_LINE is skipped with one log line.
 * err (errlen) receives the message of a failure and must outlive the reader.
 * a0_mgmt_export_feed takes the file's next bytes (any split), a0_mgmt_export_end its end (the
 * last line may lack its newline): 0, A0_ERR_MALFORMED (not gzip, or it ends inside the gzip
 * stream), A0_ERR_TOO_LARGE (over A0_MGMT_MAX_EXPORT_INFLATED bytes once inflated, or more than
 * A0_CACHE_MAX_USERS users), A0_ERR_NOMEM.
 */
struct a0_mgmt_export;
int a0_mgmt_export_new(struct a0_mgmt *m, struct a0_mgmt_users *out, char *err, size_t errlen,
		       struct a0_mgmt_export **ret);
int a0_mgmt_export_feed(struct a0_mgmt_export *x, const char *data, size_t len);
int a0_mgmt_export_end(struct a0_mgmt_export *x);
void a0_mgmt_export_free(struct a0_mgmt_export *x);

/* Whether s is an updated_at as Auth0 writes it: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
bool a0_mgmt_timestamp_valid(const char *s);

#endif
