/* SPDX-License-Identifier: MIT */
/*
 * auth0-broker(8): holds a confidential application's client authentication and performs an
 * allow-list of requests (broker/protocol.h) for the processes of this host, whom it knows from
 * the socket (SO_PEERCRED).
 *
 * One poll loop in the parent reads the request frames from non-blocking connections (a read
 * deadline per connection, at most broker_max_clients at once), parses and checks them, applies
 * the rate limit per uid and answers what it refuses itself. An allowed request is handed to a
 * child forked for it, which talks to the tenant, checks the subject, answers and exits: a slow
 * tenant answer stalls nobody else.
 *
 * Stopping loses no answer (auth0-broker(8), STOPPING): the parent keeps SIGTERM, SIGINT and
 * SIGHUP blocked but in ppoll(2), so a child is born with them blocked and finishes its one
 * request whoever signals it (systemctl stop signals the unit's whole cgroup); the parent, once
 * stopped, takes no more requests and waits for its children (drain). Its children do not die
 * with it either: a rotated refresh token still reaches its caller when the parent is killed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "broker/protocol.h"
#include "lib/assertion.h"
#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/idtoken.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/policy.h"
#include "lib/secret.h"
#include "lib/util.h"

/* Exit codes (auth0-broker(8)). */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,  /* usage */
	EXIT_CONFIG = 2, /* configuration, key or secret file */
	EXIT_SYSTEM = 3, /* the socket, or another system call */
};

/* Seconds a caller has to send its whole request frame (slow callers are dropped). */
#define READ_DEADLINE 5.0
/* Requests served by children at once; more are answered RATE_LIMITED ("busy"). */
#define MAX_CHILDREN 64
/* Callers' uids whose rate is remembered; a full table forgets full buckets first. */
#define MAX_UIDS 1024
/* Longest poll wait: children are reaped at least this often (ms). */
#define POLL_TICK 200
/* Seconds a stopped broker waits for its requests in flight beyond timeout: as long as their
 * callers wait (A0_BROKER_CALL_MARGIN, credentials/broker.h). */
#define DRAIN_MARGIN 5
/* Bound of a client secret file, as for client_secret_file. */
#define MAX_CLIENT_SECRET 1024
/* The first file descriptor systemd passes (sd_listen_fds(3)). */
#define LISTEN_FDS_START 3
/* Longest passwd entry read for a caller's account name. */
#define MAX_PWBUF (64 * 1024)
/* The log line's reason and a path. */
#define MAX_MESSAGE 512
#define MAX_PATH 4096

struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
	double deadline;
	unsigned char head[A0_BROKER_FRAME_HEADER];
	size_t have_head;
	char *buf; /* the request frame: a secret */
	size_t need, have;
};

struct bucket {
	uid_t uid;
	double tokens;
	double last;
	bool used;
};

struct broker {
	struct a0_config *cfg;
	struct a0_client_key *key; /* private_key_jwt, or: */
	char *secret;              /* client_secret_post (a secret) */
	char *api_secret;          /* the Custom API Client's (broker_exchange), a secret */
	int lfd;
	bool own_socket; /* --foreground: remove it at exit */
	struct conn *conns;
	size_t n_conns, max_conns;
	unsigned children;
	struct bucket buckets[MAX_UIDS];
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = 1;
}

static double monotonic(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void log_request_at(uid_t uid, pid_t pid, const char *op, const char *connection, int err,
			   const char *sub, const struct a0_result *res, const char *why);

/*
 * The one log line of a request: who called, what, the result, the subject; never a token.
 * Text from outside is made safe for syslog.
 */
static void log_request(uid_t uid, pid_t pid, const char *op, int err, const char *sub,
			const struct a0_result *res, const char *why)
{
	log_request_at(uid, pid, op, NULL, err, sub, res, why);
}

/* The same with the Token Vault connection asked for (checked: a0_vault_connection_ok). */
static void log_request_at(uid_t uid, pid_t pid, const char *op, const char *connection, int err,
			   const char *sub, const struct a0_result *res, const char *why)
{
	char show[A0_SHOW_MAX + 1], e[64] = "-", d[MAX_MESSAGE] = "-";

	if (res && res->error[0])
		a0_format(e, sizeof(e), "%s", res->error);
	if (why && why[0])
		a0_format(d, sizeof(d), "%s", why);
	else if (res && res->description[0])
		a0_format(d, sizeof(d), "%s", res->description);
	a0_text_scrub(e, strlen(e), A0_TEXT_NAME);
	a0_text_scrub(d, strlen(d), A0_TEXT_LINE);
	if (connection)
		syslog(err == 0 ? LOG_INFO : LOG_NOTICE,
		       "uid=%u pid=%d op=%s connection=%s result=%s sub=%s error=%s "
		       "description=%s",
		       (unsigned)uid, (int)pid, op, connection, a0_err_name(err),
		       sub ? a0_show(sub, show) : "-", e, d);
	else
		syslog(err == 0 ? LOG_INFO : LOG_NOTICE,
		       "uid=%u pid=%d op=%s result=%s sub=%s error=%s description=%s",
		       (unsigned)uid, (int)pid, op, a0_err_name(err),
		       sub ? a0_show(sub, show) : "-", e, d);
}

/* ------------------------------------------------------------------ answers */

/* Write one frame on a blocking socket (the child's). */
static int write_frame(int fd, const char *json, size_t len)
{
	unsigned char head[A0_BROKER_FRAME_HEADER] = { (unsigned char)(len >> 24),
						       (unsigned char)(len >> 16),
						       (unsigned char)(len >> 8),
						       (unsigned char)len };

	if (send(fd, head, sizeof(head), MSG_NOSIGNAL) != (ssize_t)sizeof(head))
		return A0_ERR_SYSTEM;
	for (size_t done = 0; done < len;) {
		ssize_t k = send(fd, json + done, len - done, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return A0_ERR_SYSTEM;
		done += (size_t)k;
	}
	return 0;
}

/* Answer err with res (tokens when OK) on fd, which becomes blocking with a send timeout. */
static void answer(int fd, int err, const struct a0_result *res, const struct a0_tokens *tokens,
		   unsigned timeout)
{
	struct timeval tv = { .tv_sec = timeout ? timeout : 1 };
	char *json = NULL;
	size_t len = 0;
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (a0_broker_response_format(err, res, tokens, &json, &len) < 0)
		return;
	(void)write_frame(fd, json, len);
	a0_secret_free(json);
}

/* A refusal of the broker's own: the reason in the answer's error_description. */
static void refuse_at(struct broker *b, struct conn *c, const char *op, const char *connection,
		      int err, const char *error, long retry_after, const char *why)
{
	struct a0_result res = { .retry_after = retry_after };

	a0_format(res.error, sizeof(res.error), "%s", error);
	a0_format(res.description, sizeof(res.description), "%s", why);
	a0_text_scrub(res.description, strlen(res.description), A0_TEXT_LINE);
	answer(c->fd, err, &res, NULL, 1);
	log_request_at(c->uid, c->pid, op, connection, err, NULL, &res, why);
}

static void refuse(struct broker *b, struct conn *c, const char *op, int err, const char *error,
		   long retry_after, const char *why)
{
	refuse_at(b, c, op, NULL, err, error, retry_after, why);
}

/* ------------------------------------------------------------------ the tenant (children) */

/* Does the verified identity in claims bind to the caller's account, as a login would? */
static int check_subject(struct broker *b, uid_t uid, const cJSON *claims, char *why, size_t whylen)
{
	struct passwd pw, *found = NULL;
	const char *tell = NULL;
	char *buf = NULL;
	size_t size = 1024;
	int r;

	for (;;) {
		buf = malloc(size);
		if (!buf)
			return A0_ERR_NOMEM;
		r = getpwuid_r(uid, &pw, buf, size, &found);
		if (r != ERANGE || size >= MAX_PWBUF)
			break;
		free(buf);
		size *= 2;
	}
	if (r != 0 || !found) {
		a0_format(why, whylen, "the caller's uid %u has no account name", (unsigned)uid);
		free(buf);
		return A0_ERR_POLICY;
	}
	r = a0_policy_check(b->cfg, pw.pw_name, claims, &tell, why, whylen);
	if (r == 0 && why[0])
		syslog(LOG_WARNING, "uid=%u %s", (unsigned)uid, why);
	if (r == 0)
		why[0] = '\0';
	else if (r != A0_ERR_NOMEM)
		r = A0_ERR_POLICY;
	free(buf);
	return r;
}

/* The account name of uid into buf (a0_format'd), or "-". */
static void account_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *found = NULL;
	char pwbuf[4096];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found)
		a0_format(buf, size, "%s", pw.pw_name);
	else
		a0_format(buf, size, "-");
	a0_text_scrub(buf, strlen(buf), A0_TEXT_NAME);
}

/*
 * The "sub" an access token claims (unverified: only for the log line, after the tenant
 * accepted the token), or NULL.
 */
static char *claimed_subject(const char *token)
{
	cJSON *claims = NULL;
	char *sub = NULL;
	const char *s;

	if (a0_json_jwt_claims(token, &claims) == 0 && (s = a0_json_string(claims, "sub")) &&
	    strlen(s) <= A0_BROKER_MAX_SUBJECT)
		sub = strdup(s);
	a0_json_free(claims);
	return sub;
}

/*
 * The caller's DPoP proof, if any, is for the request the broker is about to make: POST to the
 * tenant's token endpoint. The tenant checks its signature, key and time; this keeps a proof
 * made for something else (or not a JWT at all) from being sent in the caller's name.
 */
static int dpop_proof_check(const struct a0_client *client, const char *proof, char *why,
			    size_t whylen)
{
	char htu[A0_DPOP_MAX_HTU + 1];
	cJSON *claims = NULL;
	const char *htm, *u;
	int r = 0;

	a0_format(htu, sizeof(htu), "%s/oauth/token", a0_http_base(client->http));
	if (a0_json_jwt_claims(proof, &claims) < 0 || !(htm = a0_json_string(claims, "htm")) ||
	    !(u = a0_json_string(claims, "htu")) || strcmp(htm, "POST") != 0 ||
	    strcmp(u, htu) != 0) {
		a0_format(why, whylen, "the DPoP proof is not one for POST %s", htu);
		r = A0_ERR_INVALID;
	}
	a0_json_free(claims);
	return r;
}

/*
 * The subject token of Token Vault's privileged worker exchange for the caller: a JWT naming
 * req->subject, signed with the application's key, whose audit context says which host and
 * uid asked (then the caller's words).
 */
static int worker_token(struct broker *b, const struct conn *c, const struct a0_broker_request *req,
			char **ret, char *why, size_t whylen)
{
	char host[HOST_NAME_MAX + 1] = "-", name[64], audit[A0_WORKER_MAX_AUDIT + 1];
	int r;

	(void)gethostname(host, sizeof(host) - 1);
	a0_text_scrub(host, strlen(host), A0_TEXT_NAME);
	account_name(c->uid, name, sizeof(name));
	/* Truncated to the bound (ASCII only: the caller's text is A0_TEXT_ASCII). */
	a0_format(audit, sizeof(audit), "auth0-broker on %.64s for uid %u (%.32s)%s%s", host,
		  (unsigned)c->uid, name, req->audit_context ? ": " : "",
		  req->audit_context ? req->audit_context : "");
	a0_text_scrub(audit, strlen(audit), A0_TEXT_ASCII);
	r = a0_worker_token(b->key, b->cfg->client_id, b->cfg->domain, req->subject, audit, ret);
	if (r < 0)
		a0_format(why, whylen, "cannot sign the worker's token: %s", a0_strerror(r));
	return r;
}

/* The child's work: the request at the tenant, the subject check, the answer. */
static int serve(struct broker *b, const struct conn *c, const struct a0_broker_request *req)
{
	const struct a0_config *cfg = b->cfg;
	struct a0_http_options opt = { .domain = cfg->domain,
				       .ca_file = cfg->ca_file,
				       .proxy = cfg->proxy,
				       .timeout = cfg->timeout };
	struct a0_id_token_check check = { .domain = cfg->domain,
					   .client_id = cfg->client_id,
					   .cache_dir = cfg->cache_dir,
					   .jwks_ttl = cfg->jwks_ttl,
					   .leeway = cfg->clock_skew };
	struct a0_result res = { .retry_after = -1 };
	struct a0_client client = { .client_id = cfg->client_id,
				    .client_secret = b->secret,
				    .client_key = b->key,
				    .domain = cfg->domain };
	struct a0_tokens *t = NULL;
	cJSON *claims = NULL;
	char why[MAX_MESSAGE] = "", *claimed = NULL, *jwt = NULL;
	const char *op = a0_broker_op_name(req->op), *sub = NULL;
	int r;

	if ((r = a0_http_new(&opt, &client.http)) < 0) {
		a0_format(why, sizeof(why), "cannot set up the HTTP client");
		goto out;
	}
	if (req->op == A0_BROKER_REVOKE) {
		r = a0_revoke(&client, req->refresh_token, &res);
		goto out;
	}
	if (req->dpop && (r = dpop_proof_check(&client, req->dpop, why, sizeof(why))) < 0)
		goto out;
	client.dpop_proof = req->dpop;
	if (req->op == A0_BROKER_EXCHANGE) {
		/* As the API's Custom API Client: the access token was issued for its API. */
		client.client_id = cfg->broker_api_client_id;
		client.client_secret = b->api_secret;
		client.client_key = NULL;
		r = a0_grant_vault(&client, A0_VAULT_ACCESS_TOKEN, req->access_token,
				   req->connection, req->login_hint, req->scope, &t, &res);
		/* The tenant verified the token: its subject is the one the answer is for. */
		if (r == 0)
			sub = claimed = claimed_subject(req->access_token);
		goto out;
	}
	if (req->op == A0_BROKER_WORKER) {
		sub = req->subject;
		if ((r = worker_token(b, c, req, &jwt, why, sizeof(why))) == 0)
			r = a0_grant_vault(&client, A0_VAULT_WORKER_JWT, jwt, req->connection,
					   req->login_hint, req->scope, &t, &res);
		goto out;
	}
	if (req->op == A0_BROKER_VAULT) {
		/* No ID token comes back: the refresh token is the caller's own, and the answer
		 * is for its user. */
		r = a0_grant_vault_refresh(&client, req->refresh_token, req->connection,
					   req->login_hint, req->scope, &t, &res);
		goto out;
	}
	r = a0_grant_refresh(&client, req->refresh_token, req->scope, req->audience, req->params,
			     req->n_params, &t, &res);
	if (r < 0 || !t->id_token)
		goto out;
	r = a0_id_token_verify(client.http, &check, t->id_token, time(NULL), &claims, why,
			       sizeof(why));
	if (r == 0) {
		sub = a0_json_string(claims, "sub");
		r = check_subject(b, c->uid, claims, why, sizeof(why));
	}
out:
	if (r < 0) {
		a0_tokens_free(t);
		t = NULL;
		if (why[0]) {
			a0_format(res.description, sizeof(res.description), "%s", why);
			a0_text_scrub(res.description, strlen(res.description), A0_TEXT_LINE);
		}
	}
	answer(c->fd, r, &res, t, cfg->timeout);
	log_request_at(c->uid, c->pid, op, req->connection, r, sub, &res, why);
	a0_tokens_free(t);
	a0_json_free(claims);
	free(claimed);
	a0_secret_free(jwt);
	a0_result_clear(&res);
	a0_http_free(client.http);
	return r;
}

/* ------------------------------------------------------------------ the loop */

/* Take one request of uid from its bucket (broker_rate a minute): whether allowed. */
static bool rate_take(struct broker *b, uid_t uid, long *ret_wait)
{
	double rate = (double)b->cfg->broker_rate, now = monotonic();
	struct bucket *k = NULL, *spare = NULL;

	for (size_t i = 0; i < A0_ARRAY_SIZE(b->buckets); i++) {
		struct bucket *x = &b->buckets[i];

		if (x->used) {
			x->tokens += (now - x->last) * rate / 60.0;
			if (x->tokens > rate)
				x->tokens = rate;
			x->last = now;
			if (x->uid == uid)
				k = x;
			else if (!spare && x->tokens >= rate)
				spare = x; /* full: forgetting it changes nothing */
		} else if (!spare || spare->used) {
			spare = x;
		}
	}
	if (!k) {
		if (!spare)
			return *ret_wait = 1, false; /* every remembered caller is limited */
		*spare = (struct bucket){ .uid = uid, .tokens = rate, .last = now, .used = true };
		k = spare;
	}
	if (k->tokens < 1.0) {
		*ret_wait = (long)((1.0 - k->tokens) * 60.0 / rate) + 1;
		return false;
	}
	k->tokens -= 1.0;
	return true;
}

static void conn_close(struct broker *b, size_t i)
{
	struct conn *c = &b->conns[i];

	(void)close(c->fd);
	a0_wipe_free(c->buf, c->need);
	b->conns[i] = b->conns[--b->n_conns];
}

/*
 * Does list ("user:connection" items; user a name or a uid) let uid ask for connection? Names
 * are looked up now: an account renamed or removed loses what the list gave it.
 */
static bool caller_may(const struct a0_list *list, uid_t uid, const char *connection)
{
	for (size_t i = 0; i < list->n; i++) {
		const char *item = list->items[i], *colon = strchr(item, ':');
		struct passwd pw, *found = NULL;
		char user[256], pwbuf[4096], *end;
		unsigned long v;

		if (!colon || strcmp(colon + 1, connection) != 0 ||
		    (size_t)(colon - item) >= sizeof(user))
			continue;
		memcpy(user, item, (size_t)(colon - item));
		user[colon - item] = '\0';
		errno = 0;
		v = strtoul(user, &end, 10);
		if (user[0] >= '0' && user[0] <= '9' && !*end && !errno) {
			if (v == (unsigned long)uid)
				return true;
		} else if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found &&
			   pw.pw_uid == uid) {
			return true;
		}
	}
	return false;
}

/* The checks of a parsed request against the configuration: 0, or the refusal's reason. */
static int allowed(const struct broker *b, uid_t uid, const struct a0_broker_request *req,
		   char *why, size_t whylen)
{
	const struct a0_config *cfg = b->cfg;

	if (req->op == A0_BROKER_EXCHANGE || req->op == A0_BROKER_WORKER) {
		const struct a0_list *who = req->op == A0_BROKER_EXCHANGE ? &cfg->broker_exchange
									  : &cfg->broker_workers;

		if (!caller_may(who, uid, req->connection)) {
			a0_format(why, whylen, "%s: uid %u may not ask for connection '%s'",
				  req->op == A0_BROKER_EXCHANGE ? "broker_exchange"
								: "broker_workers",
				  (unsigned)uid, req->connection);
			return A0_ERR_POLICY;
		}
		return 0;
	}
	if (strcmp(req->domain, cfg->domain) != 0) {
		a0_format(why, whylen, "domain: not this broker's tenant");
		return A0_ERR_INVALID;
	}
	if (strcmp(req->client_id, cfg->client_id) != 0) {
		a0_format(why, whylen, "client_id: not this broker's application");
		return A0_ERR_INVALID;
	}
	if (req->op == A0_BROKER_VAULT &&
	    !a0_list_contains(&cfg->broker_connections, req->connection)) {
		a0_format(why, whylen, "connection: not in broker_connections");
		return A0_ERR_INVALID;
	}
	if (req->audience && !a0_list_contains(&cfg->broker_audiences, req->audience)) {
		a0_format(why, whylen, "audience: not in broker_audiences");
		return A0_ERR_INVALID;
	}
	for (size_t i = 0; i < req->n_params; i++)
		if (!a0_list_contains(&cfg->broker_params, req->params[i].key)) {
			a0_format(why, whylen, "params: '%.64s' is not in broker_params",
				  req->params[i].key);
			return A0_ERR_INVALID;
		}
	return 0;
}

/* A whole request frame has arrived on connection i: refuse it, or fork its child. */
static void dispatch(struct broker *b, size_t i)
{
	struct conn *c = &b->conns[i];
	struct a0_broker_request *req = NULL;
	char why[MAX_MESSAGE] = "";
	const char *op = "-";
	long wait = 0;
	pid_t child;
	int r;

	r = a0_broker_request_parse(c->buf, c->need, &req, why, sizeof(why));
	if (r < 0) {
		refuse(b, c, op, A0_ERR_INVALID, "invalid_request", -1, why);
		goto out;
	}
	op = a0_broker_op_name(req->op);
	if ((r = allowed(b, c->uid, req, why, sizeof(why))) < 0) {
		refuse_at(b, c, op, req->connection, r,
			  r == A0_ERR_POLICY ? "access_denied" : "invalid_request", -1, why);
		goto out;
	}
	if (!rate_take(b, c->uid, &wait)) {
		refuse(b, c, op, A0_ERR_RATE_LIMITED, "too_many_requests", wait,
		       "broker_rate: too many requests from this uid");
		goto out;
	}
	if (b->children >= MAX_CHILDREN) {
		refuse(b, c, op, A0_ERR_RATE_LIMITED, "too_many_requests", 1, "the broker is busy");
		goto out;
	}
	child = fork();
	if (child < 0) {
		refuse(b, c, op, A0_ERR_SYSTEM, "", -1, "cannot fork");
		goto out;
	}
	if (child == 0) {
		/* SIGTERM, SIGINT and SIGHUP stay blocked (forked outside ppoll): a stop lets
		 * this one request finish and answer (auth0-broker(8) STOPPING). */
		(void)close(b->lfd);
		for (size_t j = 0; j < b->n_conns; j++)
			if (j != i)
				(void)close(b->conns[j].fd);
		r = serve(b, c, req);
		_exit(r == 0 ? EXIT_OK : EXIT_CONFIG);
	}
	b->children++;
out:
	a0_broker_request_free(req);
	conn_close(b, i);
}

/* Read what connection i has; false when it was closed. */
static bool conn_read(struct broker *b, size_t i)
{
	struct conn *c = &b->conns[i];
	ssize_t k;

	for (;;) {
		if (c->have_head < sizeof(c->head))
			k = recv(c->fd, c->head + c->have_head, sizeof(c->head) - c->have_head, 0);
		else
			k = recv(c->fd, c->buf + c->have, c->need - c->have, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (k <= 0) {
			conn_close(b, i);
			return false;
		}
		if (c->have_head < sizeof(c->head)) {
			c->have_head += (size_t)k;
			if (c->have_head < sizeof(c->head))
				continue;
			c->need = (size_t)c->head[0] << 24 | (size_t)c->head[1] << 16 |
				  (size_t)c->head[2] << 8 | c->head[3];
			if (c->need == 0 || c->need > A0_BROKER_MAX_REQUEST) {
				c->need = 0;
				refuse(b, c, "-", A0_ERR_INVALID, "invalid_request", -1,
				       "the request frame's length is out of bounds");
				conn_close(b, i);
				return false;
			}
			c->buf = malloc(c->need);
			if (!c->buf) {
				c->need = 0;
				conn_close(b, i);
				return false;
			}
			continue;
		}
		c->have += (size_t)k;
		if (c->have == c->need) {
			dispatch(b, i);
			return false;
		}
	}
}

static void accept_all(struct broker *b)
{
	while (b->n_conns < b->max_conns) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or the caller went away */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			(void)close(fd);
			continue;
		}
		b->conns[b->n_conns++] = (struct conn){ .fd = fd,
							.uid = cred.uid,
							.pid = cred.pid,
							.deadline = monotonic() + READ_DEADLINE };
	}
}

static void reap(struct broker *b)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		if (b->children > 0)
			b->children--;
}

/*
 * Stopped: no more requests (the socket closed, and removed when ours; the callers still sending
 * theirs dropped), then wait for the children serving requests, at most timeout + DRAIN_MARGIN
 * seconds. What is still running then is left to finish on its own.
 */
static void drain(struct broker *b, const sigset_t *unblocked)
{
	unsigned bound = b->cfg->timeout + DRAIN_MARGIN, running;
	double deadline = monotonic() + bound;
	size_t dropped = b->n_conns;

	(void)close(b->lfd);
	b->lfd = -1;
	if (b->own_socket)
		(void)unlink(b->cfg->broker_socket);
	b->own_socket = false;
	while (b->n_conns > 0)
		conn_close(b, b->n_conns - 1);
	reap(b);
	running = b->children;
	syslog(LOG_INFO,
	       "stopping: waiting at most %u s for %u request(s) in flight; %zu caller(s) still "
	       "sending dropped",
	       bound, running, dropped);
	while (b->children > 0 && monotonic() < deadline) {
		struct timespec tick = { .tv_nsec = POLL_TICK * 1000000L };

		(void)ppoll(NULL, 0, &tick, unblocked);
		reap(b);
	}
	syslog(b->children ? LOG_WARNING : LOG_INFO,
	       "stopped: waited for %u request(s) in flight, %u still running", running,
	       b->children);
}

static int loop(struct broker *b, const sigset_t *unblocked)
{
	struct pollfd *p = calloc(b->max_conns + 1, sizeof(*p));

	if (!p)
		return EXIT_SYSTEM;
	while (!stopping) {
		double now = monotonic(), next = now + POLL_TICK / 1000.0;
		size_t n = 0, first;
		long ms;
		struct timespec until_next;
		int k;

		reap(b);
		/* Drop the callers that are too slow. */
		for (size_t i = 0; i < b->n_conns;) {
			if (b->conns[i].deadline <= now) {
				log_request(b->conns[i].uid, b->conns[i].pid, "-", A0_ERR_TIMEOUT,
					    NULL, NULL, "the request did not arrive in time");
				conn_close(b, i);
				continue;
			}
			if (b->conns[i].deadline < next)
				next = b->conns[i].deadline;
			i++;
		}
		if (b->n_conns < b->max_conns)
			p[n++] = (struct pollfd){ .fd = b->lfd, .events = POLLIN };
		first = n;
		for (size_t i = 0; i < b->n_conns; i++)
			p[n++] = (struct pollfd){ .fd = b->conns[i].fd, .events = POLLIN };
		ms = (long)((next - now) * 1000) + 1;
		until_next =
			(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };
		/* The stop signals arrive here only (EINTR), never in a child. */
		k = ppoll(p, n, &until_next, unblocked);
		if (k < 0 && errno != EINTR) {
			syslog(LOG_ERR, "poll: %s", strerror(errno));
			free(p);
			return EXIT_SYSTEM;
		}
		if (k <= 0)
			continue;
		/* Backwards: closing a connection moves the last one into its place. */
		for (size_t j = n; j-- > first;) {
			size_t i = j - first;

			if (i < b->n_conns && p[j].revents && b->conns[i].fd == p[j].fd)
				(void)conn_read(b, i);
		}
		if (first == 1 && (p[0].revents & POLLIN))
			accept_all(b);
	}
	free(p);
	drain(b, unblocked);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ set-up */

/* The socket systemd passed (LISTEN_PID, LISTEN_FDS), or -1. */
static int activated_socket(void)
{
	const char *pid = secure_getenv("LISTEN_PID"), *fds = secure_getenv("LISTEN_FDS");
	char *end;
	long v;

	if (!pid || !fds)
		return -1;
	errno = 0;
	v = strtol(pid, &end, 10);
	if (errno || *end || v != (long)getpid())
		return -1;
	v = strtol(fds, &end, 10);
	if (errno || *end || v < 1)
		return -1;
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return LISTEN_FDS_START;
}

/* Listen at path ourselves: its directory made root's 0755 when missing, the socket 0666. */
static int listen_at(const char *path, int *ret, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[MAX_PATH];
	struct stat st;
	char *slash;
	int fd;

	if (a0_str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0 ||
	    a0_str_copy(dir, sizeof(dir), path) < 0) {
		a0_format(err, errlen, "broker_socket: %s: path too long", path);
		return A0_ERR_CONFIG;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			a0_format(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
			return A0_ERR_SYSTEM;
		}
	}
	/* A socket left by an earlier run is replaced; anything else is not ours to remove. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			a0_format(err, errlen, "%s: exists and is not a socket", path);
			return A0_ERR_CONFIG;
		}
		(void)unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		a0_format(err, errlen, "%s: cannot listen: %s", path, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return A0_ERR_SYSTEM;
	}
	*ret = fd;
	return 0;
}

/* A file in $CREDENTIALS_DIRECTORY (systemd's LoadCredential=), or NULL. */
static const char *credential(const char *name, char *buf, size_t size)
{
	const char *dir = secure_getenv("CREDENTIALS_DIRECTORY");

	if (!dir || !*dir || snprintf(buf, size, "%s/%s", dir, name) >= (int)size ||
	    access(buf, F_OK) < 0)
		return NULL;
	return buf;
}

/* The client authentication: a private key (preferred) or a client secret. */
static int load_client_auth(struct broker *b, char *err, size_t errlen)
{
	char path[MAX_PATH];
	const char *p;

	if ((p = credential("client-key", path, sizeof(path))))
		return a0_client_key_load(p, "client-key", &b->key, err, errlen);
	if (b->cfg->client_private_key_file)
		return a0_client_key_load(b->cfg->client_private_key_file,
					  "client_private_key_file", &b->key, err, errlen);
	if ((p = credential("client-secret", path, sizeof(path))))
		return a0_config_read_secret(p, "client-secret", MAX_CLIENT_SECRET, true,
					     &b->secret, NULL, err, errlen);
	if (b->cfg->client_secret) {
		b->secret = a0_secret_dup(b->cfg->client_secret);
		return b->secret ? 0 : A0_ERR_NOMEM;
	}
	a0_format(err, errlen,
		  "give client_private_key_file or client_secret_file: the broker serves a "
		  "confidential application");
	return A0_ERR_CONFIG;
}

/* What the access-token and worker exchanges need besides: the Custom API Client's secret. */
static int load_exchange_auth(struct broker *b, char *err, size_t errlen)
{
	char path[MAX_PATH];
	const char *p = credential("api-client-secret", path, sizeof(path));

	if (b->cfg->broker_workers.n && !b->key) {
		a0_format(err, errlen,
			  "broker_workers needs client_private_key_file: the worker's token is "
			  "signed with the application's key");
		return A0_ERR_CONFIG;
	}
	if (!b->cfg->broker_exchange.n)
		return 0;
	if (!p)
		p = b->cfg->broker_api_client_secret_file;
	return a0_config_read_secret(p, "broker_api_client_secret_file", MAX_CLIENT_SECRET, true,
				     &b->api_secret, NULL, err, errlen);
}

/* cache_dir from $CACHE_DIRECTORY when systemd set one (its first, absolute path). */
static int use_cache_directory(struct a0_config *cfg)
{
	const char *dir = secure_getenv("CACHE_DIRECTORY");
	char *copy;

	if (!dir || dir[0] != '/' || strchr(dir, ':'))
		return 0;
	copy = strdup(dir);
	if (!copy)
		return A0_ERR_NOMEM;
	free(cfg->cache_dir);
	cfg->cache_dir = copy;
	return 0;
}

static void usage(FILE *f)
{
	fputs("Usage: auth0-broker [--config FILE] [--foreground]\n"
	      "  --config FILE  the pam_auth0 configuration (default " A0_DEFAULT_CONFIG ")\n"
	      "  --foreground   listen on broker_socket itself (without systemd)\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct broker *b = NULL;
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t stops, unblocked;
	char err[MAX_MESSAGE] = "", config_arg[MAX_PATH + 8], secret_arg[MAX_PATH + 32],
	     path[MAX_PATH];
	const char *config = A0_DEFAULT_CONFIG, *cargv[2];
	bool foreground = false;
	int c, code = EXIT_CONFIG, cargc = 1, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			puts("auth0-broker (" PACKAGE_NAME ") " PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	openlog("auth0-broker", LOG_PID | (foreground ? LOG_PERROR : 0), LOG_AUTHPRIV);
	b = calloc(1, sizeof(*b));
	if (!b)
		return EXIT_SYSTEM;
	b->lfd = -1;
	if (snprintf(config_arg, sizeof(config_arg), "config=%s", config) >=
	    (int)sizeof(config_arg)) {
		syslog(LOG_ERR, "--config: path too long");
		goto out;
	}
	cargv[0] = config_arg;
	/* A client secret from systemd's credentials replaces client_secret_file, which the
	 * broker's user may not read. */
	if (credential("client-secret", path, sizeof(path)) &&
	    snprintf(secret_arg, sizeof(secret_arg), "client_secret_file=%s", path) <
		    (int)sizeof(secret_arg))
		cargv[cargc++] = secret_arg;
	if ((r = a0_config_load(cargc, cargv, &b->cfg, err, sizeof(err))) < 0) {
		syslog(LOG_ERR, "configuration: %s", err);
		goto out;
	}
	/* systemd's CacheDirectory= (the unit's, the broker user's own): the JWKS cache, which
	 * the root-only default cache_dir cannot be for this user. */
	if (use_cache_directory(b->cfg) < 0) {
		code = EXIT_SYSTEM;
		goto out;
	}
	if (!b->cfg->domain || !b->cfg->client_id) {
		syslog(LOG_ERR, "configuration: domain and client_id must be set");
		goto out;
	}
	if ((r = load_client_auth(b, err, sizeof(err))) < 0 ||
	    (r = load_exchange_auth(b, err, sizeof(err))) < 0) {
		syslog(LOG_ERR, "%s", err);
		goto out;
	}
	b->max_conns = b->cfg->broker_max_clients;
	b->conns = calloc(b->max_conns, sizeof(*b->conns));
	if (!b->conns) {
		code = EXIT_SYSTEM;
		goto out;
	}
	b->lfd = activated_socket();
	if (b->lfd >= 0) {
		int flags = fcntl(b->lfd, F_GETFL);

		if (flags < 0 || fcntl(b->lfd, F_SETFL, flags | O_NONBLOCK) < 0 ||
		    fcntl(b->lfd, F_SETFD, FD_CLOEXEC) < 0) {
			syslog(LOG_ERR, "the socket systemd passed: %s", strerror(errno));
			code = EXIT_SYSTEM;
			goto out;
		}
	} else if (foreground) {
		if ((r = listen_at(b->cfg->broker_socket, &b->lfd, err, sizeof(err))) < 0) {
			syslog(LOG_ERR, "%s", err);
			code = r == A0_ERR_CONFIG ? EXIT_CONFIG : EXIT_SYSTEM;
			goto out;
		}
		b->own_socket = true;
	} else {
		syslog(LOG_ERR, "no socket from systemd (auth0-broker.socket): run with "
				"--foreground to listen on broker_socket");
		code = EXIT_USAGE;
		goto out;
	}
	/* Blocked, and inherited blocked by every child; unblocked in ppoll only. SIGHUP keeps its
	 * default: it ends the parent, never a request. */
	(void)sigemptyset(&stops);
	(void)sigaddset(&stops, SIGTERM);
	(void)sigaddset(&stops, SIGINT);
	(void)sigaddset(&stops, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &stops, &unblocked);
	(void)sigdelset(&unblocked, SIGTERM);
	(void)sigdelset(&unblocked, SIGINT);
	(void)sigdelset(&unblocked, SIGHUP);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	syslog(LOG_INFO, "serving %s for %s (%s)", b->cfg->broker_socket, b->cfg->client_id,
	       b->key ? "private_key_jwt" : "client_secret_post");
	code = loop(b, &unblocked);
out:
	if (b) {
		for (size_t i = b->n_conns; i-- > 0;)
			conn_close(b, i);
		if (b->lfd >= 0)
			(void)close(b->lfd);
		if (b->own_socket)
			(void)unlink(b->cfg->broker_socket);
		free(b->conns);
		a0_client_key_free(b->key);
		a0_secret_free(b->secret);
		a0_secret_free(b->api_secret);
		a0_config_free(b->cfg);
		free(b);
	}
	return code;
}
