/* SPDX-License-Identifier: MIT */
/*
 * The network part of a PAM call in a short-lived child process. libcurl and OpenSSL free
 * their buffers without wiping them: TLS records, decrypted answers and request bodies with the
 * password, the client secret and the tokens would stay readable in the freed heap of the host
 * process (sshd, login, sudo) for as long as it lives. So the host never runs libcurl at all
 * (nor its global initialisation, which is not safe in a multithreaded host): it forks, and
 * the child does the requests (the grants, the MFA calls and the JWKS fetch over its one
 * connection, or a revocation), then hands back one result and _exits, taking its memory
 * with it.
 *
 * The PAM conversation stays in the parent: an application's conversation function called in
 * a forked copy would keep its state there (sshd's keyboard-interactive answers, a display
 * manager's dialog). The child asks through a socketpair instead: each question (MSG_ASK) is
 * answered by the parent with the PAM conversation (MSG_REPLY, the answer wiped in the
 * parent as soon as it is sent), each message to the user (MSG_TELL) is shown by the parent.
 * The child inherits the password and the configuration (client secret) by fork(), so they
 * never cross the socket. Its last message (MSG_RESULT) is the job's outcome: the error code,
 * the step, Auth0's answer (error, description, Retry-After), the message chosen for the user,
 * and on success the tokens and the verified claims, which the parent parses out of a buffer
 * it wipes at once. Every message is length-prefixed and bounded.
 *
 * The parent bounds the child's own time (its waits for the child, not the user's typing) and
 * kills it past that (A0_ERR_TIMEOUT); a child that ends without a result is A0_ERR_SYSTEM,
 * with the reason for the log line. The child is reaped with waitpid on its pid alone (the host
 * may have children of its own, and may reap ours itself: then ECHILD is fine). Nothing of the
 * host's changes: no signal disposition or mask; sends use MSG_NOSIGNAL. In the child the
 * host's signal handlers are reset (a signal ends it, never runs host code), SIGPIPE is
 * ignored, it dies with its parent (PR_SET_PDEATHSIG), holds no descriptor but its socket and
 * stdin/stdout/stderr, logs nothing (the parent logs from the result) and ends with _exit, so
 * no exit handler of the host runs.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "lib/auth0.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/mfa.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "pam/module.h"
#include "pam/netchild.h"

enum msg_type {
	MSG_ASK = 1, /* child: u8 echo, then the prompt */
	MSG_TELL,    /* child: u8 error, then the text */
	MSG_RESULT,  /* child, last: the job's outcome (put_result) */
	MSG_REPLY,   /* parent: i32 0 or A0_ERR_CONV, then the answer */
};

struct msg_head {
	uint32_t type;
	uint32_t len; /* bytes that follow */
};

#define MAX_TEXT 8192            /* a prompt or a message; the MFA menu is the longest */
#define MAX_RESULT (1024 * 1024) /* tokens of A0_MAX_TOKEN each, and the claims */
#define NO_STRING UINT32_MAX     /* a NULL string in a result */
#define SLACK 30                 /* seconds for the child to start (TLS set-up, slow hosts) */
#define CHILD_FD 3               /* the child's socket */

struct chan {
	int fd;
	struct login *l; /* the parent's */
	int64_t left_ms; /* parent: of the child's time */
	bool ended;      /* parent: the child closed its end */
};

/* ---- both sides ---- */

/* Not a0_write_full: send(2) with MSG_NOSIGNAL, so a child that is gone never raises SIGPIPE
 * in the host, whose handler for it is the host's business. */
static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One message of a then b; -1 when the other side is gone. */
static int send_msg(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	struct msg_head h = { .type = type, .len = (uint32_t)(alen + blen) };

	if (send_all(fd, &h, sizeof(h)) < 0 || send_all(fd, a, alen) < 0 ||
	    send_all(fd, b, blen) < 0)
		return -1;
	return 0;
}

/* ---- the child ---- */

/* Blocking: the parent may be waiting for the user. -1 when the parent is gone. */
static int recv_all(int fd, void *buf, size_t len)
{
	return a0_read_full(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

static int child_ask(void *ctx, bool echo, const char *prompt, char **ret_reply)
{
	const struct chan *c = ctx;
	unsigned char flag = echo;
	char answer[MAX_PASSWORD + 1];
	struct msg_head h;
	size_t n = strlen(prompt);
	int32_t r;

	if (n >= MAX_TEXT || send_msg(c->fd, MSG_ASK, &flag, 1, prompt, n) < 0 ||
	    recv_all(c->fd, &h, sizeof(h)) < 0 || h.type != MSG_REPLY || h.len < sizeof(r) ||
	    h.len - sizeof(r) > MAX_PASSWORD || recv_all(c->fd, &r, sizeof(r)) < 0 ||
	    recv_all(c->fd, answer, h.len - sizeof(r)) < 0)
		return A0_ERR_CONV;
	answer[h.len - sizeof(r)] = '\0';
	*ret_reply = r == 0 ? a0_secret_dup(answer) : NULL;
	explicit_bzero(answer, sizeof(answer));
	return *ret_reply ? 0 : A0_ERR_CONV;
}

static void child_tell(void *ctx, bool error, const char *text)
{
	const struct chan *c = ctx;
	unsigned char flag = error;
	size_t n = strnlen(text, MAX_TEXT - 1);

	(void)send_msg(c->fd, MSG_TELL, &flag, 1, text, n);
}

static int put_bytes(struct a0_buf *b, const void *p, size_t n)
{
	return a0_buf_append(b, p, n);
}

static int put_i64(struct a0_buf *b, int64_t v)
{
	return put_bytes(b, &v, sizeof(v));
}

static int put_str(struct a0_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint32_t len = s ? (uint32_t)n : NO_STRING;
	int r;

	if (s && n >= NO_STRING)
		return A0_ERR_TOO_LARGE;
	if ((r = put_bytes(b, &len, sizeof(len))) < 0 || n == 0)
		return r;
	return put_bytes(b, s, n);
}

/* The result message's body: see take_result for its reading. */
static int put_result(struct a0_buf *b, const struct login *l, int err, const struct a0_tokens *t,
		      const cJSON *claims)
{
	char *json = NULL;
	int r;

	if ((r = put_i64(b, err)) < 0 || (r = put_str(b, l->step)) < 0 ||
	    (r = put_i64(b, l->res.status)) < 0 || (r = put_str(b, l->res.error)) < 0 ||
	    (r = put_str(b, l->res.description)) < 0 || (r = put_i64(b, l->res.retry_after)) < 0 ||
	    (r = put_str(b, l->tell)) < 0 || (r = put_i64(b, t != NULL)) < 0)
		return r;
	if (t && ((r = put_str(b, t->access_token)) < 0 || (r = put_str(b, t->id_token)) < 0 ||
		  (r = put_str(b, t->refresh_token)) < 0 || (r = put_str(b, t->token_type)) < 0 ||
		  (r = put_str(b, t->scope)) < 0 || (r = put_str(b, t->recovery_code)) < 0 ||
		  (r = put_str(b, t->dpop_key)) < 0 || (r = put_i64(b, t->expires_in)) < 0 ||
		  (r = put_i64(b, t->expires_at)) < 0))
		return r;
	if (claims && !(json = a0_json_print((cJSON *)(uintptr_t)claims)))
		return A0_ERR_NOMEM;
	r = put_str(b, json);
	a0_secret_free(json);
	return r;
}

/* The host's handlers, descriptors and exit handlers are not this process's business. */
static void child_setup(int *fd, pid_t parent)
{
	static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS };
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN }, old;

	for (int sig = 1; sig < NSIG; sig++) {
		bool keep = sig == SIGKILL || sig == SIGSTOP;

		/* A crash handler stays: a sanitizer's report of a bug here. */
		for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
			keep |= sig == crash[i];
		if (!keep && sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
		    old.sa_handler != SIG_IGN)
			(void)sigaction(sig, &dfl, NULL);
	}
	/* A parent that is gone is an error of send(); libcurl leaves SIGPIPE to its caller. */
	(void)sigaction(SIGPIPE, &ign, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	if (*fd != CHILD_FD) {
		if (dup2(*fd, CHILD_FD) < 0)
			_exit(1);
		*fd = CHILD_FD;
	}
	/* Not the host's sockets and pipes: the child must not keep them open. Where the call
	 * is missing they stay, closed at _exit all the same. */
	(void)close_range(CHILD_FD + 1, ~0U, 0);
}

static void __attribute__((noreturn))
child(struct login *l, int fd, pid_t parent, mod_net_job job, void *arg)
{
	struct chan c = { .fd = fd };
	struct a0_prompter p = { .ctx = &c, .ask = child_ask, .tell = child_tell };
	struct a0_buf out = { .max = MAX_RESULT };
	struct a0_tokens *tokens = NULL;
	cJSON *claims = NULL;
	int r, e;

	child_setup(&c.fd, parent);
	r = job(l, &p, arg, &tokens, &claims);
	if ((e = put_result(&out, l, r, r == 0 ? tokens : NULL, r == 0 ? claims : NULL)) < 0) {
		/* Why there is no outcome: the tokens and claims are bounded, so out of memory. */
		a0_buf_free(&out);
		out.max = MAX_RESULT;
		a0_result_clear(&l->res);
		snprintf(l->res.description, sizeof(l->res.description),
			 "the process talking to Auth0 could not send its answer");
		(void)put_result(&out, l, e, NULL, NULL);
	}
	if (out.data)
		(void)send_msg(c.fd, MSG_RESULT, out.data, out.len, NULL, 0);
	_exit(0);
}

/* ---- the parent ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* len bytes from the child, the wait counted against its time: 0, A0_ERR_TIMEOUT, or
 * A0_ERR_SYSTEM (c->ended when it closed its end: it ended). */
static int parent_recv(struct chan *c, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t start = now_ms();
		ssize_t got;
		int n;

		if (c->left_ms <= 0)
			return A0_ERR_TIMEOUT;
		n = poll(&pfd, 1, c->left_ms > INT_MAX ? INT_MAX : (int)c->left_ms);
		c->left_ms -= now_ms() - start;
		if (n < 0 && errno != EINTR)
			return A0_ERR_SYSTEM;
		if (n <= 0)
			continue;
		got = recv(c->fd, p, len, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			c->ended = got == 0 || errno == ECONNRESET;
			return A0_ERR_SYSTEM;
		}
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

/* An answer from the PAM conversation: 0 and the reply, or A0_ERR_CONV. */
static int conv_ask(pam_handle_t *pamh, bool echo, const char *prompt, char **ret_reply)
{
	char *reply = NULL;
	int r;

	r = pam_prompt(pamh, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, &reply, "%s", prompt);
	if (r != PAM_SUCCESS || !reply || strlen(reply) > MAX_PASSWORD) {
		a0_secret_free(reply);
		return A0_ERR_CONV;
	}
	*ret_reply = reply;
	return 0;
}

static void answer(const struct chan *c, bool echo, const char *prompt)
{
	char *reply = NULL;
	int32_t r = conv_ask(c->l->pamh, echo, prompt, &reply);

	/* A child that is gone shows as the end of its socket. */
	(void)send_msg(c->fd, MSG_REPLY, &r, sizeof(r), reply, reply ? strlen(reply) : 0);
	a0_secret_free(reply);
}

static int malformed(struct login *l)
{
	a0_result_clear(&l->res);
	snprintf(l->res.description, sizeof(l->res.description),
		 "the process talking to Auth0 sent a malformed message");
	return A0_ERR_SYSTEM;
}

/* Answer the child until its result: 0 and the result's body (wipe it), or an error. */
static int serve(struct chan *c, char **ret, size_t *ret_len)
{
	for (;;) {
		struct msg_head h;
		char *body;
		int r;

		if ((r = parent_recv(c, &h, sizeof(h))) < 0)
			return r;
		if ((h.type != MSG_ASK && h.type != MSG_TELL && h.type != MSG_RESULT) ||
		    h.len > (h.type == MSG_RESULT ? MAX_RESULT : MAX_TEXT) ||
		    (h.type != MSG_RESULT && h.len < 1))
			return malformed(c->l);
		if (!(body = malloc((size_t)h.len + 1)))
			return A0_ERR_NOMEM;
		if ((r = parent_recv(c, body, h.len)) < 0) {
			a0_wipe_free(body, (size_t)h.len + 1);
			return r;
		}
		body[h.len] = '\0';
		if (h.type == MSG_RESULT) {
			*ret = body;
			*ret_len = h.len;
			return 0;
		}
		r = memchr(body + 1, '\0', h.len - 1) ? malformed(c->l) : 0;
		if (r == 0 && h.type == MSG_ASK)
			answer(c, body[0] != 0, body + 1);
		else if (r == 0)
			mod_tell(c->l->pamh, body[0] != 0, body + 1); /* may hold a recovery code */
		a0_wipe_free(body, (size_t)h.len + 1);
		if (r < 0)
			return r;
	}
}

struct reader {
	const char *p;
	size_t left;
	int err; /* the first failure */
};

static void take(struct reader *rd, void *out, size_t n)
{
	if (rd->err || rd->left < n) {
		rd->err = A0_ERR_SYSTEM;
		memset(out, 0, n);
		return;
	}
	memcpy(out, rd->p, n);
	rd->p += n;
	rd->left -= n;
}

static int64_t get_i64(struct reader *rd)
{
	int64_t v;

	take(rd, &v, sizeof(v));
	return v;
}

/* A string of at most max bytes without NULs: its start and length, or NULL for none. */
static const char *get_str(struct reader *rd, size_t max, size_t *ret_len)
{
	const char *s;
	uint32_t n;

	*ret_len = 0;
	take(rd, &n, sizeof(n));
	if (rd->err || n == NO_STRING)
		return NULL;
	if (n > max || n > rd->left || memchr(rd->p, '\0', n)) {
		rd->err = A0_ERR_SYSTEM;
		return NULL;
	}
	s = rd->p;
	rd->p += n;
	rd->left -= n;
	*ret_len = n;
	return s;
}

/* Into buf (NULL: ""). */
static void get_text(struct reader *rd, char *buf, size_t size)
{
	size_t n;
	const char *s = get_str(rd, size - 1, &n);

	memcpy(buf, s ? s : "", n);
	buf[n] = '\0';
}

/* A copy to free with a0_secret_free, or NULL for none. */
static char *get_secret(struct reader *rd)
{
	size_t n;
	const char *s = get_str(rd, A0_MAX_TOKEN, &n);
	char *copy;

	if (!s)
		return NULL;
	if (!(copy = malloc(n + 1))) {
		rd->err = rd->err ? rd->err : A0_ERR_NOMEM;
		return NULL;
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
}

/*
 * The child's result into l and the out-parameters: 0 and the job's own result in *ret_err,
 * or an error of the message itself.
 */
static int take_result(struct login *l, const char *body, size_t len, int *ret_err,
		       struct a0_tokens **ret_tokens, cJSON **ret_claims)
{
	struct reader rd = { .p = body, .left = len };
	struct a0_tokens *t = NULL;
	const char *json;
	cJSON *claims = NULL;
	size_t n;
	int64_t err;

	a0_result_clear(&l->res);
	err = get_i64(&rd);
	get_text(&rd, l->step_text, sizeof(l->step_text));
	l->res.status = (long)get_i64(&rd);
	get_text(&rd, l->res.error, sizeof(l->res.error));
	get_text(&rd, l->res.description, sizeof(l->res.description));
	l->res.retry_after = (long)get_i64(&rd);
	get_text(&rd, l->tell_text, sizeof(l->tell_text));
	if (get_i64(&rd) && !rd.err) {
		if (!(t = calloc(1, sizeof(*t)))) {
			rd.err = A0_ERR_NOMEM;
		} else {
			t->access_token = get_secret(&rd);
			t->id_token = get_secret(&rd);
			t->refresh_token = get_secret(&rd);
			t->token_type = get_secret(&rd);
			t->scope = get_secret(&rd);
			t->recovery_code = get_secret(&rd);
			t->dpop_key = get_secret(&rd);
			t->expires_in = get_i64(&rd);
			t->expires_at = (time_t)get_i64(&rd);
		}
	}
	json = get_str(&rd, MAX_RESULT, &n);
	if (!rd.err && json && a0_json_parse(json, n, &claims) < 0)
		rd.err = A0_ERR_SYSTEM;
	if (!rd.err && (rd.left != 0 || err > 0 || err < INT_MIN))
		rd.err = A0_ERR_SYSTEM;
	if (rd.err) {
		a0_tokens_free(t);
		a0_json_free(claims);
		if (rd.err != A0_ERR_NOMEM)
			return malformed(l);
		a0_result_clear(&l->res);
		snprintf(l->res.description, sizeof(l->res.description),
			 "out of memory for the answer of the process talking to Auth0");
		return A0_ERR_NOMEM;
	}
	l->step = l->step_text[0] ? l->step_text : l->step;
	l->tell = l->tell_text[0] ? l->tell_text : NULL;
	*ret_err = (int)err;
	if (ret_tokens)
		*ret_tokens = t;
	else
		a0_tokens_free(t);
	if (ret_claims)
		*ret_claims = claims;
	else
		a0_json_free(claims);
	return 0;
}

/* Its status, or -1 when the host reaped it first (or ignores SIGCHLD). */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static void stop(pid_t pid)
{
	/* Only while it is ours and unreaped: then its pid cannot be another process's. */
	if (waitpid(pid, NULL, WNOHANG) == 0)
		(void)kill(pid, SIGKILL);
}

/* Why a child gave no result, for the log line. */
static void no_result(struct login *l, int err, const struct chan *c, int status, unsigned seconds)
{
	const char *what = "the process talking to Auth0";

	if (err == A0_ERR_SYSTEM && !c->ended)
		return; /* malformed(): said */
	a0_result_clear(&l->res);
	if (err == A0_ERR_TIMEOUT)
		snprintf(l->res.description, sizeof(l->res.description),
			 "%s took over %u seconds: stopped", what, seconds);
	else if (err == A0_ERR_NOMEM)
		snprintf(l->res.description, sizeof(l->res.description),
			 "out of memory for the answer of %s", what);
	else if (status != -1 && WIFSIGNALED(status))
		snprintf(l->res.description, sizeof(l->res.description),
			 "%s ended without an answer (signal %d)", what, WTERMSIG(status));
	else if (status != -1)
		snprintf(l->res.description, sizeof(l->res.description),
			 "%s ended without an answer (exit status %d)", what, WEXITSTATUS(status));
	else
		snprintf(l->res.description, sizeof(l->res.description),
			 "%s ended without an answer", what);
}

int mod_net_run(struct login *l, mod_net_job job, void *arg, unsigned seconds,
		struct a0_tokens **ret_tokens, cJSON **ret_claims)
{
	struct chan c = { .fd = -1, .l = l, .left_ms = ((int64_t)seconds + SLACK) * 1000 };
	pid_t pid, self = getpid();
	char *body = NULL;
	size_t len = 0;
	bool answered = false;
	int sv[2], r, err = 0, status;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		a0_result_clear(&l->res);
		snprintf(l->res.description, sizeof(l->res.description), "socketpair: %s",
			 strerror(errno));
		return A0_ERR_SYSTEM;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child(l, sv[1], self, job, arg);
	}
	close(sv[1]);
	if (pid < 0) {
		a0_result_clear(&l->res);
		snprintf(l->res.description, sizeof(l->res.description), "fork: %s",
			 strerror(errno));
		close(sv[0]);
		return A0_ERR_SYSTEM;
	}
	c.fd = sv[0];
	r = serve(&c, &body, &len);
	if (r == 0) {
		answered = true;
		r = take_result(l, body, len, &err, ret_tokens, ret_claims);
		a0_wipe_free(body, len + 1);
	}
	close(c.fd);
	/* One that ended or sent its result is only reaped; one that did not is killed first. */
	if (r < 0 && !c.ended)
		stop(pid);
	status = reap(pid);
	if (r < 0 && !answered)
		no_result(l, r, &c, status, seconds + SLACK);
	return r < 0 ? r : err;
}
