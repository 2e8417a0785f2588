/* SPDX-License-Identifier: MIT */
/*
 * auth0-broker(8) in the foreground on a temporary socket against the fake tenant, with the
 * confidential application pam-confidential (client_secret_post): a refresh works; requests
 * outside the allow-list, for another tenant or application, are refused; 1,000 malformed
 * requests and a slow-loris caller stop nobody; the rate limit per uid; the subject binding (a
 * caller whose account is bound to someone else gets nothing); the secret file's mode and owner;
 * a request in flight when the broker is stopped (SIGTERM to its process group, as systemd does)
 * or its parent killed still gets its answer with the rotated refresh token, and one whose child
 * is killed fails clearly. Root only (it switches uids and owns the files); skipped (77) otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/protocol.h"
#include "lib/base64url.h"
#include "lib/error.h"
#include "lib/util.h"
#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/util.h"

#define CLIENT_ID "pam-confidential"
#define CLIENT_SECRET "test-client-secret-123"
#define ALICE "auth0|6a0000000000000000000001"
#define BOB "auth0|6a0000000000000000000002"
#define NOBODY_UID 65534
#define RATE 8

static struct fake f;
static char dir[256], sock[320], domain[64], alice_rt[4096];
static pid_t broker = -1;

static void write_mode(const char *path, const char *text, mode_t mode)
{
	write_text(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

/* The configuration at dir/NAME.conf with secret_line naming the client authentication. */
static void write_conf(const char *name, const char *secret_line)
{
	char path[512], text[4096];

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	snprintf(text, sizeof(text),
		 "domain = %s\nclient_id = " CLIENT_ID "\nca_file = %s\ncache_dir = %s/cache\n"
		 "users_file = %s/users\nsync_dir = %s\nstate_dir = %s/run\ntimeout = 10\n"
		 "broker_socket = %s\nbroker_audiences = https://allowed.example/\n"
		 "broker_params = organization\nbroker_rate = %d\n%s\n",
		 domain, f.ca, dir, dir, dir, dir, sock, RATE, secret_line);
	write_text(path, text);
}

/* Start the broker with dir/NAME.conf: its exit status when it stopped at once, else -1. */
static int start(const char *name)
{
	char conf[512], log[512];
	int status;

	snprintf(conf, sizeof(conf), "%s/%s.conf", dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	broker = fork();
	assert_true(broker >= 0);
	if (broker == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		/* A process group of its own, as systemd's cgroup: the tests signal all of it. */
		setpgid(0, 0);
		execl(A0_BROKER_BIN, "auth0-broker", "--config", conf, "--foreground", NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;

		if (waitpid(broker, &status, WNOHANG) == broker) {
			broker = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		if (stat(sock, &st) == 0)
			return -1;
		usleep(10000);
	}
	fail_msg("the broker did not listen at %s", sock);
	return -1;
}

static void stop(void)
{
	if (broker > 0) {
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
	}
	broker = -1;
}

static int call(enum a0_broker_op op, const char *dom, const char *cid, const char *audience,
		const char *param, struct a0_tokens **ret, char *why, size_t whylen)
{
	char d[64], c[64], rt[4096], a[256], key[64], value[] = "v";
	struct a0_param params[] = { { key, value } };
	struct a0_broker_request req = { .op = op,
					 .domain = d,
					 .client_id = c,
					 .refresh_token = rt,
					 .audience = audience ? a : NULL,
					 .params = param ? params : NULL,
					 .n_params = param ? 1 : 0 };
	struct a0_result res = { 0 };
	int err = 0, r;

	snprintf(d, sizeof(d), "%s", dom);
	snprintf(c, sizeof(c), "%s", cid);
	snprintf(rt, sizeof(rt), "%s", alice_rt);
	snprintf(a, sizeof(a), "%s", audience ? audience : "");
	snprintf(key, sizeof(key), "%s", param ? param : "");
	r = a0_broker_call(sock, &req, 15, &err, &res, ret, why, whylen);
	if (r < 0) {
		print_error("a0_broker_call: %s: %s\n", a0_err_name(r), why);
		return r;
	}
	if (why && !why[0])
		snprintf(why, whylen, "%s", res.description);
	a0_result_clear(&res);
	return err;
}

static int refresh(struct a0_tokens **ret)
{
	char why[256] = "";

	return call(A0_BROKER_REFRESH, domain, CLIENT_ID, NULL, NULL, ret, why, sizeof(why));
}

/* A refresh of token through the broker: the broker's result, or a0_broker_call's failure. */
static int refresh_with(const char *token, struct a0_tokens **ret, char *why, size_t whylen)
{
	char d[64], c[64], rt[4096];
	struct a0_broker_request req = {
		.op = A0_BROKER_REFRESH, .domain = d, .client_id = c, .refresh_token = rt
	};
	struct a0_result res = { 0 };
	int err = 0, r;

	snprintf(d, sizeof(d), "%s", domain);
	snprintf(c, sizeof(c), "%s", CLIENT_ID);
	snprintf(rt, sizeof(rt), "%s", token);
	r = a0_broker_call(sock, &req, 15, &err, &res, ret, why, whylen);
	if (r == 0 && !why[0])
		snprintf(why, whylen, "%s", res.description);
	a0_result_clear(&res);
	return r < 0 ? r : err;
}

/* What a refresh made in another process (begin_refresh) came back with. */
struct outcome {
	int r;
	double arrived; /* now_seconds() when the answer, or the failure, came */
	bool access_token;
	char refresh_token[4096]; /* the one the answer carries; "" when none */
	char why[256];
};

/* Refresh token through the broker in a child process, which writes its outcome on *ret_fd. */
static pid_t begin_refresh(const char *token, int *ret_fd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct outcome o;
		struct a0_tokens *t = NULL;

		close(p[0]);
		o.r = refresh_with(token, &t, o.why, sizeof(o.why));
		o.arrived = now_seconds();
		if (t) {
			o.access_token = t->access_token != NULL;
			snprintf(o.refresh_token, sizeof(o.refresh_token), "%s",
				 t->refresh_token ? t->refresh_token : "");
		}
		a0_tokens_free(t);
		_exit(a0_write_full(p[1], &o, sizeof(o)) == 0 ? 0 : 1);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

static void end_refresh(pid_t pid, int fd, struct outcome *o)
{
	int status;

	assert_int_equal(a0_read_full(fd, o, sizeof(*o)), sizeof(*o));
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* a0alice signed in at the application with refresh token rotation on: her refresh token. */
static void rotating_login(char *rt, size_t size)
{
	char *answer;
	cJSON *o;

	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" CLIENT_ID "\",\"rotation\":true}");
	answer = fake_login(&f, CLIENT_ID, CLIENT_SECRET, "a0alice",
			    "openid profile offline_access");
	/* The family keeps rotating; the tests before keep their client as it was. */
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" CLIENT_ID "\",\"rotation\":false}");
	assert_non_null(answer);
	o = cJSON_Parse(answer);
	assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(o, "refresh_token")));
	snprintf(rt, size, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, "refresh_token")));
	cJSON_Delete(o);
	free(answer);
}

/* A fresh broker with the good configuration (over the socket of one that was killed). */
static void restart(void)
{
	stop();
	(void)unlink(sock);
	assert_int_equal(start("good"), -1);
}

/*
 * Refresh rt with the tenant's answer delayed 2 s: the refresh's process and fd, and the
 * broker's child serving it, once the tenant has the request.
 */
static pid_t refresh_in_flight(const char *rt, pid_t *ret_pid, int *ret_fd)
{
	int before = fake_count(&f, "/oauth/token", NULL);
	pid_t child;

	fake_control(&f, "POST", "/__control/fault",
		     "{\"kind\":\"delay\",\"path\":\"/oauth/token\",\"seconds\":2,\"count\":1}");
	*ret_pid = begin_refresh(rt, ret_fd);
	assert_true(fake_wait_count(&f, "/oauth/token", before, 10));
	child = child_of(broker, 5);
	assert_true(child > 0);
	return child;
}

/* The next refresh with the token o brought works (through a fresh broker). */
static void next_refresh_works(const struct outcome *o)
{
	struct a0_tokens *t = NULL;
	char why[256] = "";

	restart();
	assert_a0(refresh_with(o->refresh_token, &t, why, sizeof(why)), 0);
	assert_non_null(t);
	assert_non_null(t->refresh_token);
	assert_string_not_equal(t->refresh_token, o->refresh_token);
	a0_tokens_free(t);
}

static int group_setup(void **state)
{
	char path[512], text[512], *answer;
	cJSON *o;
	const char *rt;

	fake_init(&f);
	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	temp_dir(dir, sizeof(dir), "a0-broker");
	/* Other uids reach the socket below it (the test of the subject binding). */
	assert_int_equal(chmod(dir, 0711), 0);
	snprintf(sock, sizeof(sock), "%s/sock/broker.sock", dir);
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_mode(path, CLIENT_SECRET "\n", 0600);
	/* root is bound to a0alice, nobody to a0bob. */
	snprintf(path, sizeof(path), "%s/users", dir);
	snprintf(text, sizeof(text), "root " ALICE "\nnobody " BOB "\n");
	write_mode(path, text, 0644);
	answer = fake_login(&f, CLIENT_ID, CLIENT_SECRET, "a0alice",
			    "openid profile offline_access");
	assert_non_null(answer);
	o = cJSON_Parse(answer);
	rt = cJSON_GetStringValue(cJSON_GetObjectItem(o, "refresh_token"));
	assert_non_null(rt);
	snprintf(alice_rt, sizeof(alice_rt), "%s", rt);
	cJSON_Delete(o);
	free(answer);
	snprintf(text, sizeof(text), "client_secret_file = %s/secret", dir);
	write_conf("good", text);
	assert_int_equal(start("good"), -1);
	return 0;
}

static int group_teardown(void **state)
{
	stop();
	if (!getenv("A0_KEEP"))
		remove_tree(dir);
	return 0;
}

static void test_refresh(void **state)
{
	struct a0_tokens *t = NULL;
	struct stat st;

	assert_a0(refresh(&t), 0);
	assert_non_null(t);
	assert_non_null(t->access_token);
	assert_non_null(t->id_token);
	a0_tokens_free(t);
	/* The socket is for everyone: access control is the caller's uid. */
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
}

static void test_allow_list(void **state)
{
	struct a0_tokens *t = NULL;
	char why[256];
	int before = fake_count(&f, "/oauth/token", NULL);

	why[0] = '\0';
	assert_a0(call(A0_BROKER_REFRESH, domain, CLIENT_ID, "https://other.example/", NULL, &t,
		       why, sizeof(why)),
		  A0_ERR_INVALID);
	assert_non_null(strstr(why, "broker_audiences"));
	why[0] = '\0';
	assert_a0(call(A0_BROKER_REFRESH, domain, CLIENT_ID, NULL, "connection", &t, why,
		       sizeof(why)),
		  A0_ERR_INVALID);
	assert_non_null(strstr(why, "broker_params"));
	why[0] = '\0';
	assert_a0(call(A0_BROKER_REFRESH, "other.example.com", CLIENT_ID, NULL, NULL, &t, why,
		       sizeof(why)),
		  A0_ERR_INVALID);
	why[0] = '\0';
	assert_a0(call(A0_BROKER_REFRESH, domain, "pam-native", NULL, NULL, &t, why, sizeof(why)),
		  A0_ERR_INVALID);
	why[0] = '\0';
	assert_a0(call(A0_BROKER_REVOKE, domain, "pam-native", NULL, NULL, &t, why, sizeof(why)),
		  A0_ERR_INVALID);
	assert_null(t);
	/* None of them reached the tenant. */
	assert_int_equal(fake_count(&f, "/oauth/token", NULL), before);
	assert_null(strstr(why, alice_rt));
}

/* An unsigned JWT of claims (the broker reads a proof's claims; the tenant checks the rest). */
static char *jwt_of(const char *claims)
{
	const char header[] = "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"}";
	char *h = NULL, *c = NULL, *out = NULL;

	assert_int_equal(a0_b64url_encode(header, strlen(header), &h), 0);
	assert_int_equal(a0_b64url_encode(claims, strlen(claims), &c), 0);
	assert_true(asprintf(&out, "%s.%s.c2ln", h, c) > 0);
	free(h);
	free(c);
	return out;
}

/* A refresh with a DPoP proof made for another request than the broker's is refused unsent. */
static void test_dpop_proof_for_another_request(void **state)
{
	char d[64], c[64], rt[4096], claims[512], why[256] = "";
	const struct {
		const char *htm, *host, *path;
	} wrong[] = { { "GET", domain, "/oauth/token" },
		      { "POST", domain, "/userinfo" },
		      { "POST", "evil.example", "/oauth/token" } };
	int before = fake_count(&f, "/oauth/token", NULL), err = 0;

	snprintf(d, sizeof(d), "%s", domain);
	snprintf(c, sizeof(c), "%s", CLIENT_ID);
	snprintf(rt, sizeof(rt), "%s", alice_rt);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		struct a0_broker_request req = {
			.op = A0_BROKER_REFRESH, .domain = d, .client_id = c, .refresh_token = rt
		};
		struct a0_tokens *t = NULL;
		struct a0_result res = { 0 };

		snprintf(claims, sizeof(claims),
			 "{\"jti\":\"j%zu\",\"htm\":\"%s\",\"htu\":\"https://%s%s\",\"iat\":%lld}",
			 i, wrong[i].htm, wrong[i].host, wrong[i].path, (long long)time(NULL));
		req.dpop = jwt_of(claims);
		assert_int_equal(a0_broker_call(sock, &req, 15, &err, &res, &t, why, sizeof(why)),
				 0);
		assert_a0(err, A0_ERR_INVALID);
		assert_non_null(strstr(res.description, "is not one for POST"));
		assert_null(t);
		a0_result_clear(&res);
		free(req.dpop);
	}
	assert_int_equal(fake_count(&f, "/oauth/token", NULL), before);
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_malformed_flood(void **state)
{
	static const char *const junk[] = { "", "x", "{}", "[1,2]", "{\"v\":1,\"op\":\"x\"}" };
	struct a0_tokens *t = NULL;
	unsigned char buf[4096];
	double start = now_seconds();

	for (int i = 0; i < 1000; i++) {
		const char *j = junk[i % 5];
		uint32_t n = (uint32_t)strlen(j);
		unsigned char head[4] = { 0, 0, (unsigned char)(n >> 8), (unsigned char)n };
		int fd = raw_connect();

		/* A frame of length 0 or over the bound, or junk JSON. */
		if (i % 7 == 0)
			head[0] = 0x7f;
		assert_int_equal(write(fd, head, 4), 4);
		/*
		 * The broker may drop a frame whose header is over the bound
		 * before its body arrives: then the body's write meets a
		 * closed socket (EPIPE, or ECONNRESET), which is its answer.
		 */
		if (n && write(fd, j, n) != (ssize_t)n && errno != EPIPE && errno != ECONNRESET)
			fail_msg("write: %s", strerror(errno));
		/* Every one is answered (INVALID) or dropped; read what comes. */
		if (read(fd, buf, sizeof(buf)) < 0 && errno != ECONNRESET)
			fail_msg("read: %s", strerror(errno));
		close(fd);
	}
	print_message("1000 malformed requests in %.2f s\n", now_seconds() - start);
	assert_a0(refresh(&t), 0);
	assert_non_null(t);
	a0_tokens_free(t);
}

static void test_slow_loris(void **state)
{
	struct a0_tokens *t = NULL;
	double start;
	int fd = raw_connect();

	/* One byte of the frame's header, then nothing. */
	assert_int_equal(write(fd, "\0", 1), 1);
	start = now_seconds();
	assert_a0(refresh(&t), 0);
	a0_tokens_free(t);
	assert_true(now_seconds() - start < 3.0);
	/* The staller is dropped after the read deadline (5 s): end of file. */
	{
		char c;
		struct timeval tv = { .tv_sec = 10 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		assert_true(read(fd, &c, 1) == 0);
	}
	close(fd);
}

static void test_subject_binding(void **state)
{
	struct passwd *pw = getpwuid(NOBODY_UID);
	pid_t child;
	int status;

	if (!pw || strcmp(pw->pw_name, "nobody") != 0)
		skip();
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct a0_tokens *t = NULL;
		char why[256] = "";
		int r;

		if (setgroups(0, NULL) < 0 || setresgid(NOBODY_UID, NOBODY_UID, NOBODY_UID) < 0 ||
		    setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) < 0)
			_exit(100);
		/* nobody holds a0alice's refresh token, but is bound to a0bob. */
		r = call(A0_BROKER_REFRESH, domain, CLIENT_ID, NULL, NULL, &t, why, sizeof(why));
		if (t)
			_exit(101);
		_exit(r == A0_ERR_POLICY ? 0 : 102);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_rate_limit(void **state)
{
	struct a0_tokens *t = NULL;
	int r = 0, n = 0;

	/* The bucket holds RATE requests a minute: the tests above took some of them. */
	for (n = 0; n <= RATE; n++) {
		r = refresh(&t);
		a0_tokens_free(t);
		t = NULL;
		if (r != 0)
			break;
	}
	assert_a0(r, A0_ERR_RATE_LIMITED);
	assert_true(n <= RATE);
}

/* The broker refuses to start over a secret file others may read, or someone else's. */
static void test_key_file_checks(void **state)
{
	char path[512], line[600], log[512], text[2048] = "";
	FILE *fp;

	stop();
	snprintf(path, sizeof(path), "%s/secret-0644", dir);
	write_mode(path, CLIENT_SECRET "\n", 0644);
	snprintf(line, sizeof(line), "client_secret_file = %s", path);
	write_conf("mode", line);
	assert_int_equal(start("mode"), 2);
	snprintf(log, sizeof(log), "%s/mode.log", dir);
	fp = fopen(log, "r");
	assert_non_null(fp);
	text[fread(text, 1, sizeof(text) - 1, fp)] = '\0';
	fclose(fp);
	assert_non_null(strstr(text, "client_secret_file: must be a regular file owned by root"));
	assert_non_null(strstr(text, "0600"));

	snprintf(path, sizeof(path), "%s/key-0644.pem", dir);
	write_mode(path, "-----BEGIN PRIVATE KEY-----\n", 0644);
	snprintf(line, sizeof(line), "client_private_key_file = %s", path);
	write_conf("keymode", line);
	assert_int_equal(start("keymode"), 2);

	snprintf(path, sizeof(path), "%s/secret-nobody", dir);
	write_mode(path, CLIENT_SECRET "\n", 0600);
	assert_int_equal(chown(path, NOBODY_UID, NOBODY_UID), 0);
	snprintf(line, sizeof(line), "client_secret_file = %s", path);
	write_conf("owner", line);
	assert_int_equal(start("owner"), 2);

	/* No client authentication at all. */
	write_conf("none", "");
	assert_int_equal(start("none"), 2);
	assert_null(strstr(text, CLIENT_SECRET));
}

/* The broker's parent SIGKILLed mid-request: its child still answers, rotated token and all. */
static void test_kill_parent_mid_request(void **state)
{
	char rt[4096];
	struct outcome o;
	int fd, reuse = fake_stat(&f, "reuse_detected");
	pid_t caller;

	restart();
	rotating_login(rt, sizeof(rt));
	(void)refresh_in_flight(rt, &caller, &fd);
	assert_int_equal(kill(broker, SIGKILL), 0);
	assert_int_equal(waitpid(broker, NULL, 0), broker);
	broker = -1;
	end_refresh(caller, fd, &o);
	assert_a0(o.r, 0);
	assert_true(o.access_token);
	assert_true(o.refresh_token[0]);
	assert_string_not_equal(o.refresh_token, rt);
	next_refresh_works(&o);
	assert_int_equal(fake_stat(&f, "reuse_detected"), reuse);
}

/*
 * SIGTERM to the broker's process group mid-request, as systemctl stop sends it to the unit's
 * cgroup: the child finishes and answers, and the parent exits 0 only after that.
 */
static void test_stop_mid_request(void **state)
{
	char rt[4096], path[512], log[8192];
	struct outcome o;
	double signalled, exited;
	int fd, status;
	pid_t caller, child;
	FILE *fp;
	size_t n;

	restart();
	rotating_login(rt, sizeof(rt));
	child = refresh_in_flight(rt, &caller, &fd);
	signalled = now_seconds();
	assert_int_equal(kill(-broker, SIGTERM), 0);
	assert_int_equal(waitpid(broker, &status, 0), broker);
	exited = now_seconds();
	broker = -1;
	end_refresh(caller, fd, &o);
	assert_a0(o.r, 0);
	assert_true(o.access_token);
	assert_true(o.refresh_token[0]);
	assert_string_not_equal(o.refresh_token, rt);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Its child was done: reaped by the parent, nothing left running. */
	assert_true(kill(child, 0) < 0 && errno == ESRCH);
	/* The parent exited after the answer came, and within its bound: timeout + 5 s. */
	print_message("answer %.2f s, exit %.2f s after SIGTERM\n", o.arrived - signalled,
		      exited - signalled);
	assert_true(o.arrived <= exited);
	assert_true(exited - signalled < 10 + 5);
	snprintf(path, sizeof(path), "%s/good.log", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(log, 1, sizeof(log) - 1, fp);
	fclose(fp);
	log[n] = '\0';
	assert_non_null(strstr(log, "stopping: waiting at most 15 s for 1 request(s) in flight"));
	assert_non_null(strstr(log, "stopped: waited for 1 request(s) in flight, 0 still running"));
	next_refresh_works(&o);
}

/*
 * The child serving a request SIGKILLed after the tenant got it: the caller's answer is lost, a
 * NETWORK failure naming the broker; the tenant rotated the token all the same, so the one the
 * caller still holds is a reuse (the family revoked), unless the application has a reuse
 * interval and the next refresh comes within it.
 */
static void test_kill_child_mid_request(void **state)
{
	char rt[4096], why[256] = "";
	struct a0_tokens *t = NULL;
	struct outcome o;
	int fd, reuse = fake_stat(&f, "reuse_detected");
	pid_t caller;

	restart();
	for (int interval = 0; interval <= 60; interval += 60) {
		char json[128];

		snprintf(json, sizeof(json),
			 "{\"client_id\":\"" CLIENT_ID "\",\"reuse_interval\":%d}", interval);
		fake_control(&f, "POST", "/__control/client", json);
		rotating_login(rt, sizeof(rt));
		assert_int_equal(kill(refresh_in_flight(rt, &caller, &fd), SIGKILL), 0);
		end_refresh(caller, fd, &o);
		assert_a0(o.r, A0_ERR_NETWORK);
		assert_non_null(strstr(o.why, "the broker closed the connection"));
		assert_false(o.refresh_token[0]);
		/* The tenant answered the lost request: rt is rotated out. */
		assert_true(fake_settled(&f, 10));
		why[0] = '\0';
		if (interval == 0) {
			assert_a0(refresh_with(rt, &t, why, sizeof(why)), A0_ERR_DENIED);
			assert_null(t);
			assert_int_equal(fake_stat(&f, "reuse_detected"), reuse + 1);
		} else {
			assert_a0(refresh_with(rt, &t, why, sizeof(why)), 0);
			assert_non_null(t);
			assert_non_null(t->refresh_token);
			a0_tokens_free(t);
			t = NULL;
			assert_int_equal(fake_stat(&f, "reuse_detected"), reuse + 1);
		}
	}
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" CLIENT_ID "\",\"reuse_interval\":0}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_dpop_proof_for_another_request),
		cmocka_unit_test(test_malformed_flood),
		cmocka_unit_test(test_slow_loris),
		cmocka_unit_test(test_subject_binding),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_key_file_checks),
		cmocka_unit_test(test_kill_parent_mid_request),
		cmocka_unit_test(test_stop_mid_request),
		cmocka_unit_test(test_kill_child_mid_request),
	};

	if (geteuid() != 0) {
		printf("# SKIP: auth0-broker's test runs as root (it switches uids)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
