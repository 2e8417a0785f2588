/* SPDX-License-Identifier: MIT */
/*
 * auth0-sync's requests to Auth0's Management API (mgmt.h): the token, users by search or
 * export job, roles and their members, over the one HTTP client with its retries and waits.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "lib/assertion.h"
#include "lib/auth0.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "nss/cache.h"
#include "sync/mgmt.h"

/* Bound of the application's client secret file. */
#define MAX_CLIENT_SECRET 1024
/* The first pause before a retry (doubled each time), and the longest between export polls. */
#define RETRY_PAUSE 0.5
#define POLL_MAX_PAUSE 10.0
/* Longest export file URL, job and connection id, and connection name. */
#define MAX_URL 4096
#define MAX_ID 64
#define MAX_CONNECTION 128
/* A canonical timestamp: YYYY-MM-DDTHH:MM:SS.mmmZ */
#define TIMESTAMP_LEN 24

struct a0_mgmt {
	const struct a0_config *cfg;
	struct a0_http *http;
	char *client_secret;       /* client_secret_post, or: */
	struct a0_client_key *key; /* private_key_jwt */
	char *token;               /* the Management API access token; a secret */
	char *audience;            /* https://DOMAIN/api/v2/ */
	double deadline;           /* CLOCK_MONOTONIC seconds */
	a0_sync_log_fn log;
	void *log_ctx;
	const char *step; /* what the run is reading, for messages */
	struct a0_mgmt_stats stats;
};

static double monotonic(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void say(struct a0_mgmt *m, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct a0_mgmt *m, int priority, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!m->log)
		return;
	va_start(ap, fmt);
	a0_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->log(m->log_ctx, priority, "%s", line);
}

/* ------------------------------------------------------------------ data */

static void role_clear(struct a0_sync_role *r)
{
	free(r->id);
	free(r->name);
	for (size_t i = 0; i < r->n_members; i++)
		free(r->members[i]);
	free(r->members);
	memset(r, 0, sizeof(*r));
}

/* Make room for one more element of size in *v (n used of *cap), at most max. */
static int grow(void **v, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return A0_ERR_TOO_LARGE;
	c = *cap ? *cap * 2 : 64;
	if (c > max)
		c = max;
	p = reallocarray(*v, c, size);
	if (!p)
		return A0_ERR_NOMEM;
	*v = p;
	*cap = c;
	return 0;
}

void a0_mgmt_users_free(struct a0_mgmt_users *u)
{
	for (size_t i = 0; i < u->n; i++)
		a0_sync_user_clear(&u->v[i]);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* ------------------------------------------------------------------ timestamps */

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * s as YYYY-MM-DDTHH:MM:SS.mmmZ (the fraction cut or padded to milliseconds, so that the
 * strings sort as the times do), or false when s is not a timestamp as Auth0 writes it.
 */
static bool timestamp_canonical(const char *s, char out[TIMESTAMP_LEN + 1])
{
	size_t len = strnlen(s, 64), frac = 0;
	struct tm tm = { 0 };

	if (len < 20 || len > 40 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
	    s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	if (s[19] == '.') {
		frac = len - 21;
		if (frac < 1 || frac > 9 || !digits(s + 20, frac))
			return false;
	} else if (len != 20) {
		return false;
	}
	if (s[len - 1] != 'Z')
		return false;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	tm.tm_hour = (s[11] - '0') * 10 + (s[12] - '0');
	tm.tm_min = (s[14] - '0') * 10 + (s[15] - '0');
	tm.tm_sec = (s[17] - '0') * 10 + (s[18] - '0');
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	memcpy(out, s, 19);
	out[19] = '.';
	for (size_t i = 0; i < 3; i++)
		out[20 + i] = i < frac ? s[20 + i] : '0';
	out[23] = 'Z';
	out[24] = '\0';
	return true;
}

bool a0_mgmt_timestamp_valid(const char *s)
{
	char c[TIMESTAMP_LEN + 1];

	return s && timestamp_canonical(s, c);
}

/* ------------------------------------------------------------------ credentials */

/* ------------------------------------------------------------------ requests */

/* Wait seconds if the run's budget allows it: whether it waited. */
static bool pause_for(struct a0_mgmt *m, double seconds)
{
	struct timespec t;

	if (monotonic() + seconds > m->deadline)
		return false;
	t.tv_sec = (time_t)seconds;
	t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
	return true;
}

/* Give the next request what is left of the budget, at most the configured timeout. */
static int arm(struct a0_mgmt *m, struct a0_result *res)
{
	double left = m->deadline - monotonic();
	unsigned long ms = (unsigned long)m->cfg->timeout * 1000UL;

	if (left < 0.1) {
		a0_format(res->description, sizeof(res->description),
			  "the run's time (sync_max_runtime) is up");
		return A0_ERR_TIMEOUT;
	}
	if (left * 1000.0 < (double)ms)
		ms = (unsigned long)(left * 1000.0);
	return a0_http_set_limits(m->http, ms, 0);
}

/* How long a 429 asks to wait: Retry-After, or until X-RateLimit-Reset, whichever is later. */
static double rate_wait(const struct a0_http_response *resp, unsigned waits)
{
	double w = -1;

	if (resp->ratelimit_reset >= 0) {
		long long d = resp->ratelimit_reset - (long long)time(NULL);

		w = d > 0 ? (double)d : 0.0;
	}
	if (resp->retry_after >= 0 && (double)resp->retry_after > w)
		w = (double)resp->retry_after;
	if (w < 0) /* neither header: back off */
		w = waits < 5 ? (double)(1u << waits) : 30.0;
	return w < 1.0 ? 1.0 : w;
}

/*
 * One request, sent again after a 429 (once the limit resets), a 5xx or a failed connection,
 * while the budget lasts: 0 and the last answer in *resp (any status but 429), or an A0_ERR_*
 * with res filled (A0_ERR_RATE_LIMITED: the limit resets past the budget).
 */
static int send_request(struct a0_mgmt *m, const char *path, const char *bearer, const char *json,
			struct a0_http_response *resp, struct a0_result *res)
{
	unsigned retries = 0;
	int r;

	for (;;) {
		a0_result_clear(res);
		if ((r = arm(m, res)) < 0)
			return r;
		if (strncmp(path, "/api/v2/", 8) == 0)
			m->stats.api_requests++;
		else
			m->stats.token_requests++;
		r = a0_http_request(m->http, path, bearer, json, resp, res->description,
				    sizeof(res->description));
		if (r == A0_ERR_NETWORK || (r == 0 && resp->status >= 500)) {
			if (retries < A0_MGMT_MAX_RETRIES &&
			    pause_for(m, RETRY_PAUSE * (double)(1u << retries))) {
				if (r == 0)
					a0_http_response_clear(resp);
				retries++;
				m->stats.retries++;
				continue;
			}
			return r;
		}
		if (r < 0)
			return r;
		if (resp->status == 429) {
			double w = rate_wait(resp, m->stats.rate_waits);

			if (m->stats.rate_waits < A0_MGMT_MAX_WAITS && pause_for(m, w)) {
				a0_http_response_clear(resp);
				m->stats.rate_waits++;
				continue;
			}
			res->status = 429;
			res->retry_after = (long)w;
			a0_format(res->description, sizeof(res->description),
				  "rate limited; the limit resets in %.0f s, past the run's time "
				  "(sync_max_runtime)",
				  w);
			a0_http_response_clear(resp);
			return A0_ERR_RATE_LIMITED;
		}
		return 0;
	}
}

static bool is_json(const struct a0_http_response *resp)
{
	return strncasecmp(resp->content_type, "application/json", 16) == 0;
}

/* The message for a failed step: "STEP: what (details)". Returns r. */
static int fail(struct a0_mgmt *m, int r, const struct a0_result *res, char *err, size_t errlen)
{
	char detail[400] = "";

	if (res && res->status && res->error[0])
		a0_format(detail, sizeof(detail), " (HTTP %ld %s: %s)", res->status, res->error,
			  res->description[0] ? res->description : "-");
	else if (res && res->status)
		a0_format(detail, sizeof(detail), " (HTTP %ld%s%s)", res->status,
			  res->description[0] ? ": " : "", res->description);
	else if (res && res->description[0])
		a0_format(detail, sizeof(detail), " (%s)", res->description);
	a0_format(err, errlen, "%s: %s%s", m->step, a0_strerror(r), detail);
	return r;
}

/*
 * The Management API's error answer, {statusCode, error, message, errorCode}: the code for
 * the status, with errorCode (or error) and message in res.
 */
static int api_error(const struct a0_http_response *resp, struct a0_result *res)
{
	cJSON *root = NULL;
	const char *code = NULL, *message = NULL;

	res->status = resp->status;
	if (is_json(resp) && a0_json_parse(resp->body, resp->len, &root) == 0 &&
	    cJSON_IsObject(root)) {
		code = a0_json_string(root, "errorCode");
		if (!code)
			code = a0_json_string(root, "error");
		message = a0_json_string(root, "message");
	}
	a0_format(res->error, sizeof(res->error), "%s", code ? code : "");
	a0_format(res->description, sizeof(res->description), "%s", message ? message : "");
	a0_text_scrub(res->error, strlen(res->error), A0_TEXT_LINE);
	a0_text_scrub(res->description, strlen(res->description), A0_TEXT_LINE);
	a0_json_free(root);
	if (resp->status >= 500)
		return A0_ERR_SERVER;
	if (resp->status == 401 || resp->status == 403)
		return A0_ERR_CLIENT;
	return A0_ERR_AUTH0;
}

/*
 * What Auth0 said when it refused the token, for the administrator. The credentials-exchange
 * Action's api.access.deny(code, reason) answers access_denied, invalid_scope,
 * invalid_request or server_error with the reason as error_description.
 */
static void explain_token_error(struct a0_mgmt *m, int r, const struct a0_result *res, char *err,
				size_t errlen)
{
	const char *cid = m->cfg->sync_client_id, *e = res->error, *d = res->description;
	const char *cred = m->key ? "the key in sync_private_key_file is not registered for it"
				  : "the secret in sync_client_secret_file is wrong, expired or "
				    "rotated";

	if (res->status == 401 || strcmp(e, "invalid_client") == 0)
		a0_format(err, errlen,
			  "token: Auth0 did not accept the credentials of application %s (HTTP %ld "
			  "%s: %s): %s",
			  cid, res->status, e[0] ? e : "-", d[0] ? d : "-", cred);
	else if (strcmp(e, "unauthorized_client") == 0)
		a0_format(err, errlen,
			  "token: application %s may not use the Client Credentials grant (%s: %s): "
			  "enable it in the application's grant types",
			  cid, e, d);
	else if (strcmp(e, "access_denied") == 0)
		a0_format(err, errlen,
			  "token: Auth0 denied application %s a Management API token (access_denied: "
			  "%s): an Action refused it, or the application is not authorized for the "
			  "Management API",
			  cid, d[0] ? d : "-");
	else if (strcmp(e, "invalid_scope") == 0)
		a0_format(err, errlen,
			  "token: Auth0 refused the scopes of application %s (invalid_scope: %s): it "
			  "needs read:users and read:roles, and no Action may refuse them",
			  cid, d[0] ? d : "-");
	else if (strcmp(e, "invalid_request") == 0)
		a0_format(err, errlen,
			  "token: Auth0 refused the token request of application %s (invalid_request: "
			  "%s)",
			  cid, d[0] ? d : "-");
	else
		(void)fail(m, r, res, err, errlen);
}

/* A client-credentials token for the Management API, in m->token. */
static int get_token(struct a0_mgmt *m, char *err, size_t errlen)
{
	const char *saved_step = m->step;
	struct a0_http_response resp = { 0 };
	struct a0_result res = { .retry_after = -1 };
	struct a0_tokens *t = NULL;
	char *assertion = NULL, *json = NULL;
	cJSON *body;
	int r = A0_ERR_NOMEM;

	m->step = "token";
	a0_secret_clear(&m->token);
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "grant_type", "client_credentials") ||
	    !cJSON_AddStringToObject(body, "client_id", m->cfg->sync_client_id) ||
	    !cJSON_AddStringToObject(body, "audience", m->audience))
		goto out;
	if (m->client_secret) {
		if (!cJSON_AddStringToObject(body, "client_secret", m->client_secret))
			goto out;
	} else {
		if ((r = a0_client_assertion(m->key, m->cfg->sync_client_id, m->cfg->domain,
					     &assertion)) < 0)
			goto out;
		r = A0_ERR_NOMEM;
		if (!cJSON_AddStringToObject(body, "client_assertion_type",
					     A0_CLIENT_ASSERTION_TYPE) ||
		    !cJSON_AddStringToObject(body, "client_assertion", assertion))
			goto out;
	}
	json = a0_json_print(body);
	if (!json)
		goto out;
	r = send_request(m, "/oauth/token", NULL, json, &resp, &res);
	if (r < 0) {
		(void)fail(m, r, &res, err, errlen);
		goto out;
	}
	if (resp.status < 200 || resp.status >= 300) {
		r = a0_parse_error_response(&resp, &res);
		/* Whatever Auth0 answers a 4xx with, it refused this application. */
		if (resp.status >= 400 && resp.status < 500 && r != A0_ERR_RATE_LIMITED)
			r = A0_ERR_CLIENT;
		explain_token_error(m, r, &res, err, errlen);
		goto out;
	}
	if (!is_json(&resp) || a0_parse_token_response(resp.body, resp.len, time(NULL), &t) < 0 ||
	    strcasecmp(t->token_type, "Bearer") != 0) {
		a0_format(res.description, sizeof(res.description), "not an Auth0 token response");
		r = fail(m, A0_ERR_MALFORMED, &res, err, errlen);
		goto out;
	}
	m->token = t->access_token;
	t->access_token = NULL;
	r = 0;
out:
	m->step = saved_step;
	a0_tokens_free(t);
	a0_http_response_clear(&resp);
	a0_result_clear(&res);
	a0_secret_free(assertion);
	a0_secret_free(json);
	a0_json_free(body);
	return r;
}

/*
 * One Management API call: GET path, or POST body when not NULL. 0 and the JSON answer
 * (free with a0_json_free); else the A0_ERR_* with a message in err. A 401 gets one new token.
 */
static int api(struct a0_mgmt *m, const char *path, const cJSON *body, cJSON **ret, char *err,
	       size_t errlen)
{
	struct a0_http_response resp = { 0 };
	struct a0_result res = { .retry_after = -1 };
	char *json = NULL;
	bool renewed = false;
	int r;

	if (body && !(json = cJSON_PrintUnformatted(body)))
		return A0_ERR_NOMEM;
	for (;;) {
		r = send_request(m, path, m->token, json, &resp, &res);
		if (r < 0) {
			(void)fail(m, r, &res, err, errlen);
			goto out;
		}
		if (resp.status == 401 && !renewed) {
			/* The token may have expired during a long run. */
			a0_http_response_clear(&resp);
			renewed = true;
			if ((r = get_token(m, err, errlen)) < 0)
				goto out;
			continue;
		}
		break;
	}
	if (resp.status < 200 || resp.status >= 300) {
		r = fail(m, api_error(&resp, &res), &res, err, errlen);
		goto out;
	}
	if (!is_json(&resp)) {
		a0_format(res.description, sizeof(res.description), "content type '%s'",
			  resp.content_type);
		r = fail(m, A0_ERR_MALFORMED, &res, err, errlen);
		goto out;
	}
	if (a0_json_parse(resp.body, resp.len, ret) < 0) {
		a0_format(res.description, sizeof(res.description), "not JSON");
		r = fail(m, A0_ERR_MALFORMED, &res, err, errlen);
		goto out;
	}
	r = 0;
out:
	a0_http_response_clear(&resp);
	a0_result_clear(&res);
	free(json);
	return r;
}

/* A malformed-answer failure with its reason. */
static int malformed(struct a0_mgmt *m, const char *why, char *err, size_t errlen)
{
	a0_format(err, errlen, "%s: %s (%s)", m->step, a0_strerror(A0_ERR_MALFORMED), why);
	return A0_ERR_MALFORMED;
}

/* A query value escaped by libcurl (free with curl_free); NULL on no memory. */
static char *escape(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

/* ------------------------------------------------------------------ users */

/* A string member: absent or null leaves *dst NULL; else a string of 1..max bytes of kind. */
static int take_string(const cJSON *o, const char *name, size_t max, enum a0_text kind, char **dst,
		       const char **why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t len;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		*why = "is not a string";
		return A0_ERR_MALFORMED;
	}
	len = strlen(v->valuestring);
	if (len == 0 || len > max || !a0_text_ok(v->valuestring, len, kind)) {
		*why = "is empty, too long or holds control characters";
		return A0_ERR_MALFORMED;
	}
	*dst = strdup(v->valuestring);
	return *dst ? 0 : A0_ERR_NOMEM;
}

/* app_metadata.posix.uid and .gid: absent -1, else a whole number 0..2^32-1. */
static int take_id(const cJSON *posix, const char *name, long long *dst, const char **why)
{
	const cJSON *v = posix ? cJSON_GetObjectItemCaseSensitive(posix, name) : NULL;

	*dst = -1;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967295.0 ||
	    v->valuedouble != (double)(long long)v->valuedouble) {
		*why = "app_metadata.posix uid or gid is not a whole number of 0 to 2^32-1";
		return A0_ERR_MALFORMED;
	}
	*dst = (long long)v->valuedouble;
	return 0;
}

/* The member at a dotted path ("app_metadata.posix.username"), or NULL. */
static const cJSON *at_path(const cJSON *o, const char *path)
{
	char part[128];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n == 0 || n >= sizeof(part) || !cJSON_IsObject(o))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, part);
		path += n;
		if (*path == '.')
			path++;
	}
	return o;
}

/*
 * One user of a search page or an export line: 0 and *ret; A0_ERR_MALFORMED with the reason
 * in *why for a user of the wrong shape (the caller skips it); A0_ERR_NOMEM.
 */
static int parse_user(const struct a0_config *cfg, const cJSON *o, struct a0_sync_user *ret,
		      const char **why)
{
	struct a0_sync_user u = { .posix_uid = -1, .posix_gid = -1 };
	const cJSON *meta, *posix, *blocked, *name;
	char stamp[TIMESTAMP_LEN + 1];
	int r;

	if (!cJSON_IsObject(o)) {
		*why = "is not an object";
		return A0_ERR_MALFORMED;
	}
	meta = cJSON_GetObjectItemCaseSensitive(o, "app_metadata");
	posix = meta ? cJSON_GetObjectItemCaseSensitive(meta, "posix") : NULL;
	r = take_string(o, "user_id", A0_MAX_USER_ID, A0_TEXT_TOKEN, &u.user_id, why);
	if (r == 0 && !u.user_id) {
		*why = "has no user_id";
		r = A0_ERR_MALFORMED;
	}
	if (r == 0 && meta && !cJSON_IsNull(meta) && !cJSON_IsObject(meta)) {
		*why = "app_metadata is not an object";
		r = A0_ERR_MALFORMED;
	}
	if (r == 0 && posix && !cJSON_IsNull(posix) && !cJSON_IsObject(posix)) {
		*why = "app_metadata.posix is not an object";
		r = A0_ERR_MALFORMED;
	}
	if (r == 0)
		r = take_string(o, "username", A0_MGMT_MAX_STRING, A0_TEXT_LINE, &u.username, why);
	if (r == 0)
		r = take_string(o, "email", A0_MGMT_MAX_STRING, A0_TEXT_LINE, &u.email, why);
	if (r == 0 && (name = at_path(o, cfg->name_attribute)) && !cJSON_IsNull(name)) {
		if (!cJSON_IsString(name) || !name->valuestring[0] ||
		    strlen(name->valuestring) > A0_MGMT_MAX_STRING ||
		    !a0_text_ok(name->valuestring, strlen(name->valuestring), A0_TEXT_LINE)) {
			*why = "its name_attribute is not a string of printable text";
			r = A0_ERR_MALFORMED;
		} else if (!(u.posix_username = strdup(name->valuestring))) {
			r = A0_ERR_NOMEM;
		}
	}
	if (r == 0 && cJSON_IsObject(posix))
		r = take_string(posix, "gecos", A0_CACHE_MAX_FIELD, A0_TEXT_LINE, &u.gecos, why);
	if (r == 0)
		r = take_id(cJSON_IsObject(posix) ? posix : NULL, "uid", &u.posix_uid, why);
	if (r == 0)
		r = take_id(cJSON_IsObject(posix) ? posix : NULL, "gid", &u.posix_gid, why);
	if (r == 0 && (blocked = cJSON_GetObjectItemCaseSensitive(o, "blocked")) &&
	    !cJSON_IsNull(blocked)) {
		if (!cJSON_IsBool(blocked)) {
			*why = "blocked is not true or false";
			r = A0_ERR_MALFORMED;
		}
		u.blocked = cJSON_IsTrue(blocked);
	}
	if (r == 0)
		r = take_string(o, "updated_at", 64, A0_TEXT_TOKEN, &u.updated_at, why);
	if (r == 0 && u.updated_at) {
		if (!timestamp_canonical(u.updated_at, stamp)) {
			*why = "updated_at is not a timestamp";
			r = A0_ERR_MALFORMED;
		} else {
			free(u.updated_at);
			u.updated_at = strdup(stamp);
			if (!u.updated_at)
				r = A0_ERR_NOMEM;
		}
	}
	if (r < 0) {
		a0_sync_user_clear(&u);
		return r;
	}
	*ret = u;
	return 0;
}

/* Take one user, or skip it with one log line when it has the wrong shape. */
static int take_user(struct a0_mgmt *m, const cJSON *o, struct a0_mgmt_users *out, char *err,
		     size_t errlen)
{
	const cJSON *id = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "user_id") : NULL;
	char show[A0_SHOW_MAX + 1];
	const char *why = "?";
	struct a0_sync_user u;
	int r;

	r = parse_user(m->cfg, o, &u, &why);
	if (r == A0_ERR_MALFORMED) {
		m->stats.skipped++;
		say(m, LOG_WARNING, "skipped user %s: %s",
		    cJSON_IsString(id) ? a0_show(id->valuestring, show) : "(without a user_id)",
		    why);
		return 0;
	}
	if (r < 0)
		return r;
	r = grow((void **)&out->v, &out->cap, out->n, sizeof(*out->v), A0_CACHE_MAX_USERS);
	if (r < 0) {
		a0_sync_user_clear(&u);
		if (r == A0_ERR_TOO_LARGE)
			a0_format(err, errlen, "%s: more than %d users", m->step,
				  A0_CACHE_MAX_USERS);
		return r;
	}
	out->v[out->n++] = u;
	return 0;
}

static const char USER_FIELDS[] = "user_id,username,email,app_metadata,blocked,updated_at";

int a0_mgmt_parse_users_page(struct a0_mgmt *m, const cJSON *root, struct a0_mgmt_users *out,
			     long long *ret_total, int *ret_count, char *err, size_t errlen)
{
	const cJSON *users = cJSON_GetObjectItemCaseSensitive(root, "users"), *u;
	long long total;
	int r;

	if (!cJSON_IsObject(root) || !cJSON_IsArray(users) ||
	    a0_json_uint(root, "total", A0_CACHE_MAX_USERS * 10LL, &total) != 0)
		return malformed(m, "not a page of users with its total", err, errlen);
	if (cJSON_GetArraySize(users) > A0_MGMT_PER_PAGE)
		return malformed(m, "more users than asked for", err, errlen);
	cJSON_ArrayForEach(u, users) {
		if ((r = take_user(m, u, out, err, errlen)) < 0)
			return r;
	}
	*ret_total = total;
	*ret_count = cJSON_GetArraySize(users);
	return 0;
}

/* One page of GET /api/v2/users: its users into out, the search's total in *ret_total. */
static int search_page(struct a0_mgmt *m, const char *q, const char *sort, unsigned page,
		       struct a0_mgmt_users *out, long long *ret_total, int *ret_count, char *err,
		       size_t errlen)
{
	char *eq = escape(q), *path = NULL;
	cJSON *root = NULL;
	int r;

	if (!eq)
		return A0_ERR_NOMEM;
	if (asprintf(&path,
		     "/api/v2/users?q=%s&search_engine=v3&per_page=%d&page=%u&include_totals=true"
		     "&sort=%s&fields=%s&include_fields=true",
		     eq, A0_MGMT_PER_PAGE, page, sort, USER_FIELDS) < 0) {
		path = NULL;
		r = A0_ERR_NOMEM;
		goto out;
	}
	if ((r = api(m, path, NULL, &root, err, errlen)) < 0)
		goto out;
	r = a0_mgmt_parse_users_page(m, root, out, ret_total, ret_count, err, errlen);
out:
	a0_json_free(root);
	free(path);
	curl_free(eq);
	return r;
}

/* ------------------------------------------------------------------ users-export job */

struct a0_mgmt_export {
	struct a0_mgmt *m;
	struct a0_mgmt_users *out;
	z_stream z;
	bool started, gzip, z_ready, z_done;
	bool skipping; /* inside a line that was too long */
	unsigned long line_no;
	long long inflated; /* bytes of NDJSON */
	struct a0_buf line;
	char *err;
	size_t errlen;
};

static int export_line(struct a0_mgmt_export *x, const char *s, size_t len)
{
	cJSON *o = NULL;
	int r;

	x->line_no++;
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	if (a0_json_parse(s, len, &o) < 0) {
		x->m->stats.skipped++;
		say(x->m, LOG_WARNING, "skipped line %lu of the users export: not JSON",
		    x->line_no);
		return 0;
	}
	r = take_user(x->m, o, x->out, x->err, x->errlen);
	a0_json_free(o);
	return r;
}

/* NDJSON text, split in lines of at most A0_MGMT_MAX_EXPORT_LINE bytes. */
static int export_text(struct a0_mgmt_export *x, const char *data, size_t len)
{
	int r = 0;

	x->inflated += (long long)len;
	if (x->inflated > A0_MGMT_MAX_EXPORT_INFLATED) {
		a0_format(x->err, x->errlen, "export: the users export is larger than %lld bytes",
			  A0_MGMT_MAX_EXPORT_INFLATED);
		return A0_ERR_TOO_LARGE;
	}
	while (r == 0 && len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		int a = x->skipping ? 0 : a0_buf_append(&x->line, data, n);

		if (a == A0_ERR_TOO_LARGE) {
			x->skipping = true;
			x->m->stats.skipped++;
			say(x->m, LOG_WARNING,
			    "skipped line %lu of the users export: longer than %d bytes",
			    x->line_no + 1, A0_MGMT_MAX_EXPORT_LINE);
		} else if (a < 0) {
			a0_format(x->err, x->errlen, "export: %s", a0_strerror(a));
			return a; /* out of memory: the run fails, nothing is written */
		}
		if (!nl)
			break;
		if (x->skipping)
			x->line_no++;
		else
			r = export_line(x, x->line.data ? x->line.data : "", x->line.len);
		x->skipping = false;
		x->line.len = 0;
		data += n + 1;
		len -= n + 1;
	}
	return r;
}

int a0_mgmt_export_new(struct a0_mgmt *m, struct a0_mgmt_users *out, char *err, size_t errlen,
		       struct a0_mgmt_export **ret)
{
	struct a0_mgmt_export *x = calloc(1, sizeof(*x));

	if (!x)
		return A0_ERR_NOMEM;
	x->m = m;
	x->out = out;
	x->line.max = A0_MGMT_MAX_EXPORT_LINE;
	x->err = err;
	x->errlen = errlen;
	*ret = x;
	return 0;
}

int a0_mgmt_export_feed(struct a0_mgmt_export *x, const char *data, size_t len)
{
	unsigned char out[64 * 1024];
	int r = 0, z;

	if (len == 0)
		return 0;
	if (!x->started) {
		x->started = true;
		x->gzip = (unsigned char)data[0] == 0x1f;
		if (x->gzip) {
			/* 16 + MAX_WBITS: a gzip header and trailer, not zlib's */
			if (inflateInit2(&x->z, 16 + MAX_WBITS) != Z_OK)
				return A0_ERR_NOMEM;
			x->z_ready = true;
		}
	}
	if (!x->gzip)
		return export_text(x, data, len);
	if (len > UINT_MAX)
		return A0_ERR_TOO_LARGE;
	x->z.next_in = (unsigned char *)(uintptr_t)data;
	x->z.avail_in = (uInt)len;
	for (;;) {
		size_t produced;

		if (x->z_done) {
			if (x->z.avail_in == 0)
				break;
			/* another gzip member follows */
			if (inflateReset(&x->z) != Z_OK)
				return A0_ERR_NOMEM;
			x->z_done = false;
		}
		x->z.next_out = out;
		x->z.avail_out = sizeof(out);
		z = inflate(&x->z, Z_NO_FLUSH);
		if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR) {
			a0_format(x->err, x->errlen, "export: the users export is not valid gzip");
			r = A0_ERR_MALFORMED;
			break;
		}
		if (z == Z_STREAM_END)
			x->z_done = true;
		produced = sizeof(out) - x->z.avail_out;
		if ((r = export_text(x, (const char *)out, produced)) < 0)
			break;
		/* More output may wait in zlib while the buffer came back full. */
		if (x->z.avail_out > 0 && (x->z.avail_in == 0 || (z == Z_BUF_ERROR && !produced)))
			break;
	}
	explicit_bzero(out, sizeof(out));
	return r;
}

int a0_mgmt_export_end(struct a0_mgmt_export *x)
{
	if (x->gzip && !x->z_done)
		return malformed(x->m, "the users export ends inside its gzip stream", x->err,
				 x->errlen);
	if (x->line.len > 0 && !x->skipping)
		return export_line(x, x->line.data, x->line.len);
	return 0;
}

void a0_mgmt_export_free(struct a0_mgmt_export *x)
{
	if (!x)
		return;
	if (x->z_ready)
		inflateEnd(&x->z);
	a0_buf_free(&x->line);
	free(x);
}

/* a0_http_download's sink. */
static int export_sink(void *ctx, const char *data, size_t len)
{
	return a0_mgmt_export_feed(ctx, data, len);
}

static int connection_id(struct a0_mgmt *m, const char *name, char **ret, char *err, size_t errlen)
{
	char *en = escape(name), *path = NULL;
	const cJSON *c, *list;
	cJSON *root = NULL;
	int r;

	if (!en)
		return A0_ERR_NOMEM;
	if (asprintf(&path, "/api/v2/connections?name=%s&fields=id,name&include_fields=true", en) <
	    0) {
		path = NULL;
		r = A0_ERR_NOMEM;
		goto out;
	}
	if ((r = api(m, path, NULL, &root, err, errlen)) < 0)
		goto out;
	/* An array, or with include_totals an object with one */
	list = cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "connections");
	if (!cJSON_IsArray(list))
		list = NULL;
	cJSON_ArrayForEach(c, list) {
		const char *id = a0_json_string(c, "id"), *n = a0_json_string(c, "name");

		if (!id || !n || strcmp(n, name) != 0)
			continue;
		if (strlen(id) > MAX_ID || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
						      "RSTUVWXYZ0123456789_") != strlen(id)) {
			r = malformed(m, "a connection id of the wrong shape", err, errlen);
			goto out;
		}
		*ret = strdup(id);
		r = *ret ? 0 : A0_ERR_NOMEM;
		goto out;
	}
	a0_format(err, errlen, "%s: Auth0 has no connection named '%s' (sync_connections)", m->step,
		  name);
	r = A0_ERR_AUTH0;
out:
	a0_json_free(root);
	free(path);
	curl_free(en);
	return r;
}

/* Start a users-export job for one connection: its id. */
static int export_start(struct a0_mgmt *m, const char *connection, char **ret, char *err,
			size_t errlen)
{
	static const char *const fields[] = { "user_id",      "username", "email",
					      "app_metadata", "blocked",  "updated_at" };
	cJSON *body, *list, *root = NULL;
	const char *id;
	int r = A0_ERR_NOMEM;

	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "connection_id", connection) ||
	    !cJSON_AddStringToObject(body, "format", "json") ||
	    !(list = cJSON_AddArrayToObject(body, "fields")))
		goto out;
	for (size_t i = 0; i < A0_ARRAY_SIZE(fields); i++) {
		cJSON *f = cJSON_CreateObject();

		if (!f || !cJSON_AddItemToArray(list, f) ||
		    !cJSON_AddStringToObject(f, "name", fields[i]))
			goto out;
	}
	if ((r = api(m, "/api/v2/jobs/users-exports", body, &root, err, errlen)) < 0)
		goto out;
	id = a0_json_string(root, "id");
	if (!id || !id[0] || strlen(id) > MAX_ID ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
		    strlen(id)) {
		r = malformed(m, "the export job has no id of the right shape", err, errlen);
		goto out;
	}
	*ret = strdup(id);
	r = *ret ? 0 : A0_ERR_NOMEM;
out:
	a0_json_free(root);
	cJSON_Delete(body);
	return r;
}

/* Poll the job until it is done: the URL of its file. */
static int export_wait(struct a0_mgmt *m, const char *job, char **ret, char *err, size_t errlen)
{
	double pause = 1.0;
	char path[128];
	int r;

	if (snprintf(path, sizeof(path), "/api/v2/jobs/%s", job) >= (int)sizeof(path))
		return A0_ERR_INVALID;
	for (;;) {
		cJSON *root = NULL;
		const char *status, *location;

		if ((r = api(m, path, NULL, &root, err, errlen)) < 0)
			return r;
		status = a0_json_string(root, "status");
		location = a0_json_string(root, "location");
		if (status && strcmp(status, "completed") == 0) {
			if (!location || strlen(location) > MAX_URL ||
			    strncmp(location, "https://", 8) != 0 ||
			    !a0_text_ok(location, strlen(location), A0_TEXT_TOKEN))
				r = malformed(m, "the completed job has no https location", err,
					      errlen);
			else if (!(*ret = strdup(location)))
				r = A0_ERR_NOMEM;
			a0_json_free(root);
			return r;
		}
		if (!status ||
		    (strcmp(status, "pending") != 0 && strcmp(status, "processing") != 0)) {
			char show[A0_SHOW_MAX + 1];

			a0_format(err, errlen, "%s: the users-export job %s ended as '%s'", m->step,
				  job, status ? a0_show(status, show) : "?");
			a0_json_free(root);
			return status && strcmp(status, "failed") == 0 ? A0_ERR_AUTH0
								       : A0_ERR_MALFORMED;
		}
		a0_json_free(root);
		if (!pause_for(m, pause)) {
			a0_format(err, errlen,
				  "%s: %s (the users-export job %s did not finish within "
				  "sync_max_runtime)",
				  m->step, a0_strerror(A0_ERR_TIMEOUT), job);
			return A0_ERR_TIMEOUT;
		}
		pause = pause * 2 > POLL_MAX_PAUSE ? POLL_MAX_PAUSE : pause * 2;
	}
}

static int export_download(struct a0_mgmt *m, const char *url, struct a0_mgmt_users *out, char *err,
			   size_t errlen)
{
	struct a0_result res = { .retry_after = -1 };
	struct a0_mgmt_export *x = NULL;
	int r;

	err[0] = '\0';
	if ((r = arm(m, &res)) < 0)
		return fail(m, r, &res, err, errlen);
	/* The whole file in one request: as much time as the run has left. */
	if ((r = a0_http_set_limits(m->http, (unsigned long)((m->deadline - monotonic()) * 1000),
				    0)) < 0)
		return r;
	if ((r = a0_mgmt_export_new(m, out, err, errlen, &x)) < 0)
		return r;
	m->stats.downloads++;
	r = a0_http_download(m->http, url, A0_MGMT_MAX_EXPORT, export_sink, x, res.description,
			     sizeof(res.description));
	if (r == 0)
		r = a0_mgmt_export_end(x);
	if (r < 0 && !err[0])
		(void)fail(m, r, &res, err, errlen);
	a0_mgmt_export_free(x);
	return r;
}

/* Every user of one connection through a users-export job. */
static int export_connection(struct a0_mgmt *m, const char *connection, struct a0_mgmt_users *out,
			     char *err, size_t errlen)
{
	char *id = NULL, *job = NULL, *url = NULL;
	const char *saved = m->step;
	int r;

	m->step = "export";
	m->stats.used_export = true;
	r = connection_id(m, connection, &id, err, errlen);
	if (r == 0)
		r = export_start(m, id, &job, err, errlen);
	if (r == 0)
		r = export_wait(m, job, &url, err, errlen);
	if (r == 0)
		r = export_download(m, url, out, err, errlen);
	free(id);
	free(job);
	free(url);
	m->step = saved;
	return r;
}

/*
 * The users of one connection changed after `since` (NULL: all of them), by search, oldest
 * first. A search pages through its first 1,000 results only: past that, every user of the
 * connection comes from an export job instead. *ret_whole: the connection was read whole.
 */
static int fetch_connection(struct a0_mgmt *m, const char *connection, const char *since,
			    struct a0_mgmt_users *out, bool *ret_whole, char *err, size_t errlen)
{
	size_t first = out->n;
	long long total = 0;
	char *q = NULL;
	int count = 0, r;

	/* connection_name_ok: nothing in the name can leave the quotes. Only AND: the fake
	 * tenant implements no more of Lucene, and Auth0 needs no more here. */
	if (since ? asprintf(&q, "identities.connection:\"%s\" AND updated_at:{%s TO *]",
			     connection, since) < 0
		  : asprintf(&q, "identities.connection:\"%s\"", connection) < 0)
		return A0_ERR_NOMEM;
	/* In creation order: a user changed while the run pages keeps its place. */
	r = search_page(m, q, "created_at:1", 0, out, &total, &count, err, errlen);
	if (r == 0 && total > A0_MGMT_SEARCH_LIMIT) {
		say(m, LOG_INFO,
		    "%lld users of %s to read: more than a search gives, using an export job",
		    total, connection);
		while (out->n > first)
			a0_sync_user_clear(&out->v[--out->n]);
		r = export_connection(m, connection, out, err, errlen);
		if (r == 0)
			*ret_whole = true;
		goto out;
	}
	/* No user in a full read: make sure that the connection exists, or a misspelt name in
	 * sync_connections would read as every one of its users deleted. */
	if (r == 0 && total == 0 && !since) {
		char *id = NULL;

		r = connection_id(m, connection, &id, err, errlen);
		free(id);
	}
	for (unsigned page = 1; r == 0 && count > 0 && (long long)page * A0_MGMT_PER_PAGE < total &&
				page * A0_MGMT_PER_PAGE < A0_MGMT_SEARCH_LIMIT;
	     page++)
		r = search_page(m, q, "created_at:1", page, out, &total, &count, err, errlen);
	if (r == 0)
		*ret_whole = !since;
out:
	free(q);
	return r;
}

/* The users of every connection of sync_connections; *ret_full: all read whole. */
static int fetch_users(struct a0_mgmt *m, const char *since, struct a0_mgmt_users *out,
		       bool *ret_full, char *err, size_t errlen)
{
	bool full = true;
	int r = 0;

	m->step = "users";
	for (size_t i = 0; r == 0 && i < m->cfg->sync_connections.n; i++) {
		bool whole = false;

		r = fetch_connection(m, m->cfg->sync_connections.items[i], since, out, &whole, err,
				     errlen);
		full = full && whole;
	}
	if (r == 0)
		*ret_full = full;
	return r;
}

/* ------------------------------------------------------------------ roles */

/* The roles anything uses: groups (role_prefix), group_map's, and allowed_roles' (the account
 * phase). Reading the members of the others would only cost requests. */
static bool role_wanted(const struct a0_config *cfg, const char *name)
{
	size_t n = strlen(name);

	if (cfg->role_prefix && strncmp(name, cfg->role_prefix, strlen(cfg->role_prefix)) == 0)
		return true;
	for (size_t i = 0; i < cfg->group_map.n; i++) {
		const char *e = cfg->group_map.items[i];

		if (strncmp(e, name, n) == 0 && e[n] == ':')
			return true;
	}
	return a0_list_contains(&cfg->allowed_roles, name);
}

static bool id_shape(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MAX_ID &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

int a0_mgmt_parse_members_page(struct a0_mgmt *m, const cJSON *root, const char *from,
			       struct a0_sync_role *role, size_t *cap, const char **ret_next,
			       char *err, size_t errlen)
{
	const cJSON *users, *u, *next;
	int r = 0;

	/* {users, next}; a bare array when the API pages by offset */
	users = cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "users");
	next = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "next") : NULL;
	if (!cJSON_IsArray(users) || cJSON_GetArraySize(users) > A0_MGMT_PER_PAGE ||
	    (next && !cJSON_IsNull(next) && !cJSON_IsString(next)))
		return malformed(m, "not a page of role members", err, errlen);
	cJSON_ArrayForEach(u, users) {
		const char *id = a0_json_string(u, "user_id");
		char show[A0_SHOW_MAX + 1];

		if (!id || !id[0] || strlen(id) > A0_MAX_USER_ID ||
		    !a0_text_ok(id, strlen(id), A0_TEXT_TOKEN)) {
			m->stats.skipped++;
			say(m, LOG_WARNING, "skipped a member of role %s: %s",
			    a0_show(role->name, show), "no user_id of the right shape");
			continue;
		}
		r = grow((void **)&role->members, cap, role->n_members, sizeof(*role->members),
			 A0_CACHE_MAX_MEMBERS);
		if (r == 0 && !(role->members[role->n_members] = strdup(id)))
			r = A0_ERR_NOMEM;
		if (r < 0)
			return r;
		role->n_members++;
	}
	if (cJSON_IsString(next) && next->valuestring[0] && cJSON_GetArraySize(users) > 0) {
		if ((from && strcmp(from, next->valuestring) == 0) ||
		    strlen(next->valuestring) > A0_MGMT_MAX_STRING)
			return malformed(m, "role members: a next checkpoint that does not move",
					 err, errlen);
		*ret_next = next->valuestring;
		return 0;
	}
	*ret_next = NULL;
	return 0;
}

/* Every member of role (checkpoint paging: take, then from=next). */
static int role_members(struct a0_mgmt *m, struct a0_sync_role *role, char *err, size_t errlen)
{
	char *from = NULL;
	size_t cap = 0;
	int r = 0;

	for (;;) {
		char *path = NULL, *ef = NULL;
		const char *next = NULL;
		cJSON *root = NULL;

		if (from && !(ef = escape(from)))
			r = A0_ERR_NOMEM;
		else if (asprintf(&path, "/api/v2/roles/%s/users?take=%d%s%s", role->id,
				  A0_MGMT_PER_PAGE, ef ? "&from=" : "", ef ? ef : "") < 0)
			path = NULL, r = A0_ERR_NOMEM;
		curl_free(ef);
		if (r == 0)
			r = api(m, path, NULL, &root, err, errlen);
		free(path);
		if (r < 0)
			break;
		r = a0_mgmt_parse_members_page(m, root, from, role, &cap, &next, err, errlen);
		if (r == 0 && next) {
			free(from);
			if (!(from = strdup(next)))
				r = A0_ERR_NOMEM;
		}
		a0_json_free(root);
		if (r < 0 || !next)
			break;
	}
	if (r == A0_ERR_TOO_LARGE)
		a0_format(err, errlen, "%s: role %s has more than %d members", m->step, role->name,
			  A0_CACHE_MAX_MEMBERS);
	free(from);
	return r;
}

/* One role of a page: skipped (with a log line) when of the wrong shape, else kept with its
 * members when role_wanted. */
static int take_role(struct a0_mgmt *m, const cJSON *x, struct a0_sync_data *d, size_t *cap,
		     char *err, size_t errlen)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "id");
	struct a0_sync_role role = { 0 };
	char show[A0_SHOW_MAX + 1];
	const char *why = "?";
	int r;

	r = take_string(x, "id", MAX_ID, A0_TEXT_TOKEN, &role.id, &why);
	if (r == 0)
		r = take_string(x, "name", A0_MGMT_MAX_STRING, A0_TEXT_LINE, &role.name, &why);
	if (r == 0 && (!role.id || !role.name || !id_shape(role.id))) {
		why = "has no id or name of the right shape";
		r = A0_ERR_MALFORMED;
	}
	if (r == A0_ERR_MALFORMED) {
		m->stats.skipped++;
		say(m, LOG_WARNING, "skipped role %s: %s",
		    cJSON_IsString(id) ? a0_show(id->valuestring, show) : "(without an id)", why);
		r = 0;
		goto out;
	}
	if (r < 0 || !role_wanted(m->cfg, role.name))
		goto out;
	r = grow((void **)&d->roles, cap, d->n_roles, sizeof(*d->roles), A0_MGMT_MAX_ROLES);
	if (r == A0_ERR_TOO_LARGE)
		a0_format(err, errlen, "roles: more than %d roles to read", A0_MGMT_MAX_ROLES);
	if (r == 0)
		r = role_members(m, &role, err, errlen);
	if (r == 0) {
		d->roles[d->n_roles++] = role;
		return 0;
	}
out:
	role_clear(&role);
	return r;
}

static int fetch_roles(struct a0_mgmt *m, struct a0_sync_data *d, char *err, size_t errlen)
{
	size_t cap = 0;
	long long seen = 0, total = 0;
	bool done = false;
	int r = 0;

	m->step = "roles";
	for (unsigned page = 0; r == 0 && !done; page++) {
		const cJSON *roles, *x;
		cJSON *root = NULL;
		char path[128];

		a0_format(path, sizeof(path),
			  "/api/v2/roles?per_page=%d&page=%u&include_totals=true", A0_MGMT_PER_PAGE,
			  page);
		if ((r = api(m, path, NULL, &root, err, errlen)) < 0)
			break;
		roles = cJSON_GetObjectItemCaseSensitive(root, "roles");
		if (!cJSON_IsObject(root) || !cJSON_IsArray(roles) ||
		    cJSON_GetArraySize(roles) > A0_MGMT_PER_PAGE ||
		    a0_json_uint(root, "total", A0_MGMT_MAX_ROLES * 100LL, &total) != 0) {
			r = malformed(m, "not a page of roles with its total", err, errlen);
		} else {
			cJSON_ArrayForEach(x, roles) {
				seen++;
				if ((r = take_role(m, x, d, &cap, err, errlen)) < 0)
					break;
			}
			done = cJSON_GetArraySize(roles) == 0 || seen >= total;
		}
		a0_json_free(root);
	}
	return r;
}

/* ------------------------------------------------------------------ the run */

struct keyed {
	const char *id;
	size_t seq;
};

static int by_id_then_seq(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Keep the last of the users that share a user_id (read again while the run paged). */
static int dedupe(struct a0_mgmt_users *u)
{
	struct keyed *k;
	bool *drop;
	size_t n = 0;

	if (u->n < 2)
		return 0;
	k = calloc(u->n, sizeof(*k));
	drop = calloc(u->n, sizeof(*drop));
	if (!k || !drop) {
		free(k);
		free(drop);
		return A0_ERR_NOMEM;
	}
	for (size_t i = 0; i < u->n; i++)
		k[i] = (struct keyed){ .id = u->v[i].user_id, .seq = i };
	qsort(k, u->n, sizeof(*k), by_id_then_seq);
	for (size_t i = 0; i + 1 < u->n; i++)
		if (strcmp(k[i].id, k[i + 1].id) == 0)
			drop[k[i].seq] = true;
	for (size_t i = 0; i < u->n; i++) {
		if (drop[i])
			a0_sync_user_clear(&u->v[i]);
		else
			u->v[n++] = u->v[i];
	}
	u->n = n;
	free(k);
	free(drop);
	return 0;
}

int a0_mgmt_fetch(struct a0_mgmt *m, const char *watermark, bool force_full,
		  struct a0_sync_data *ret, char *err, size_t errlen)
{
	struct a0_sync_data d = { .fetched_at = time(NULL) };
	char since[TIMESTAMP_LEN + 1], settled[TIMESTAMP_LEN + 1];
	const char *newest = NULL;
	struct a0_mgmt_users u = { 0 };
	bool full = false;
	struct tm tm;
	time_t t;
	int r;

	a0_format(err, errlen, "%s", "");
	if (!m->http) {
		a0_format(err, errlen, "a client of a0_mgmt_new_parser sends no request");
		return A0_ERR_INVALID;
	}
	if (!force_full && watermark && !timestamp_canonical(watermark, since)) {
		say(m, LOG_WARNING, "the stored watermark is not a timestamp: reading every user");
		watermark = NULL;
	}
	/* What the search index surely showed when this run started: changes up to then. */
	t = d.fetched_at - A0_MGMT_WATERMARK_OVERLAP;
	if (!gmtime_r(&t, &tm) ||
	    strftime(settled, sizeof(settled), "%Y-%m-%dT%H:%M:%S.000Z", &tm) != TIMESTAMP_LEN)
		return A0_ERR_SYSTEM;
	if (!m->token && (r = get_token(m, err, errlen)) < 0)
		goto out;
	r = fetch_users(m, force_full || !watermark ? NULL : since, &u, &full, err, errlen);
	if (r == 0)
		r = dedupe(&u);
	if (r == 0)
		r = fetch_roles(m, &d, err, errlen);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < u.n; i++)
		if (u.v[i].updated_at && (!newest || strcmp(u.v[i].updated_at, newest) > 0))
			newest = u.v[i].updated_at;
	/* The next run reads the users changed after this: the newest change read, unless
	 * that is more recent than what the index surely showed at the start. */
	if (newest && strcmp(newest, settled) > 0)
		newest = settled;
	if (newest && !(d.max_updated_at = strdup(newest))) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	d.users = u.v;
	d.n_users = u.n;
	d.full = full;
	memset(&u, 0, sizeof(u));
	*ret = d;
	memset(&d, 0, sizeof(d));
out:
	if (r == A0_ERR_NOMEM && !err[0])
		a0_format(err, errlen, "%s: out of memory", m->step);
	else if (r < 0 && !err[0])
		a0_format(err, errlen, "%s: %s", m->step, a0_strerror(r));
	a0_mgmt_users_free(&u);
	a0_sync_data_free(&d);
	return r;
}

/* ------------------------------------------------------------------ set-up */

static bool connection_name_ok(const char *s)
{
	size_t n = strlen(s);

	/* Auth0's connection names: letters, digits and inner hyphens. Nothing that could
	 * change the search query it is quoted in. */
	return n > 0 && n <= MAX_CONNECTION &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* A client without credentials or HTTP client: all that the parsers use. */
static int new_client(const struct a0_config *cfg, unsigned budget, a0_sync_log_fn log,
		      void *log_ctx, struct a0_mgmt **ret)
{
	struct a0_mgmt *m = calloc(1, sizeof(*m));

	if (!m)
		return A0_ERR_NOMEM;
	m->cfg = cfg;
	m->log = log;
	m->log_ctx = log_ctx;
	m->step = "setup";
	m->deadline = monotonic() + (double)budget;
	*ret = m;
	return 0;
}

int a0_mgmt_new_parser(const struct a0_config *cfg, a0_sync_log_fn log, void *log_ctx,
		       struct a0_mgmt **ret)
{
	return new_client(cfg, 0, log, log_ctx, ret);
}

int a0_mgmt_new(const struct a0_config *cfg, unsigned budget, a0_sync_log_fn log, void *log_ctx,
		struct a0_mgmt **ret, char *err, size_t errlen)
{
	struct a0_http_options opt = { .domain = cfg->domain,
				       .ca_file = cfg->ca_file,
				       .proxy = cfg->proxy,
				       .timeout = cfg->timeout };
	struct a0_mgmt *m = NULL;
	int r;

	if (!cfg->sync_client_id) {
		a0_format(err, errlen,
			  "sync_client_id is not set: auth0-sync needs its own "
			  "machine-to-machine application");
		return A0_ERR_CONFIG;
	}
	if (!cfg->sync_client_secret_file && !cfg->sync_private_key_file) {
		a0_format(err, errlen, "give sync_client_secret_file or sync_private_key_file");
		return A0_ERR_CONFIG;
	}
	if (cfg->sync_connections.n == 0) {
		a0_format(err, errlen,
			  "sync_connections is not set: name the connections whose "
			  "users become Linux users");
		return A0_ERR_CONFIG;
	}
	for (size_t i = 0; i < cfg->sync_connections.n; i++)
		if (!connection_name_ok(cfg->sync_connections.items[i])) {
			a0_format(err, errlen,
				  "sync_connections: '%s' is not a connection name (letters, "
				  "digits, '-', '_')",
				  cfg->sync_connections.items[i]);
			return A0_ERR_CONFIG;
		}
	if ((r = new_client(cfg, budget, log, log_ctx, &m)) < 0)
		return r;
	if (asprintf(&m->audience, "https://%s/api/v2/", cfg->domain) < 0) {
		m->audience = NULL;
		r = A0_ERR_NOMEM;
		goto out;
	}
	if (cfg->sync_client_secret_file)
		r = a0_config_read_secret(cfg->sync_client_secret_file, "sync_client_secret_file",
					  MAX_CLIENT_SECRET, true, &m->client_secret, NULL, err,
					  errlen);
	else
		r = a0_client_key_load(cfg->sync_private_key_file, "sync_private_key_file", &m->key,
				       err, errlen);
	if (r < 0)
		goto out;
	if ((r = a0_http_new(&opt, &m->http)) < 0 ||
	    (r = a0_http_set_limits(m->http, 0, A0_MGMT_MAX_PAGE)) < 0) {
		a0_format(err, errlen, "cannot set up the HTTP client: %s", a0_strerror(r));
		goto out;
	}
	*ret = m;
	m = NULL;
out:
	a0_mgmt_free(m);
	return r;
}

void a0_mgmt_free(struct a0_mgmt *m)
{
	if (!m)
		return;
	a0_http_free(m->http);
	a0_secret_free(m->client_secret);
	a0_client_key_free(m->key);
	a0_secret_free(m->token);
	free(m->audience);
	free(m);
}

void a0_mgmt_get_stats(const struct a0_mgmt *m, struct a0_mgmt_stats *ret)
{
	*ret = m->stats;
}
