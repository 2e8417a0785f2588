/* SPDX-License-Identifier: MIT */
/*
 * A confidential application's credentials (a record with client_auth "broker"): their
 * refreshes go through auth0-broker, never to the tenant directly.
 *
 * - No broker running: the command (the installed library's socket, A0_BROKER_SOCKET) and the C
 *   API (the test build, libauth0-credentials-test: its socket in the build tree) fail with
 *   NO_NETWORK and the documented message, send nothing to the tenant and leave the record
 *   byte for byte.
 * - A real auth0-broker ($A0_BROKER, skipped when it is not built; needs root for a caller whose
 *   uid the broker binds to the fake's user): a refresh through it succeeds and the rotated
 *   refresh token is persisted, and works for the next refresh. When the broker's child
 *   performing the refresh is killed mid-request, the get fails with NO_NETWORK naming the
 *   broker and the record stays byte for byte, its refresh token the old one.
 * - A DPoP-bound session of the confidential application: its refresh through the broker
 *   carries the session's own proof (the tenant binds the new tokens to the same key), and a
 *   record whose key is not the tokens' is refused by the tenant and left as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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
#include <cjson/cJSON.h>
#include <keyutils.h>

#include <auth0/credentials.h>

#include "keyring/record.h"
#include "keyring/store.h"
#include "lib/auth0.h"
#include "lib/dpop.h"
#include "lib/http.h"
#include "lib/idtoken.h"
#include "lib/secret.h"
#include "tests/common/testuser.h"
#include "tests/common/util.h"
#include "tests/credentials/common.h"

#define INSTALLED_SOCKET "/run/pam_auth0/broker.sock"
#define CONFIDENTIAL "pam-confidential"
#define SECRET "test-client-secret-123"
#define ALICE_ID "auth0|6a0000000000000000000001"

static struct fake f;

static int setup(void **state)
{
	helper_test_reset(&f);
	return 0;
}

/*
 * a0alice's login at the confidential application, stored in the session keyring as the module
 * stores it for a configuration with client_secret_file: client_auth "broker". With expires_in
 * > 0, the access token expires that many seconds from now (so that a get refreshes).
 */
static void store_confidential_login(long expires_in)
{
	char *login =
		fake_login(&f, CONFIDENTIAL, SECRET, "a0alice", "openid profile offline_access");
	struct a0_record *r = NULL;

	assert_non_null(login);
	save_login(&f, login, CONFIDENTIAL, f.port);
	a0_secret_free(login);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r), 0);
	assert_null(r->client_auth);
	r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER);
	if (expires_in > 0)
		r->expires_at = time(NULL) + expires_in;
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	a0_record_free(r);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The command, with the installed library: no broker at /run/pam_auth0/broker.sock. */
static void test_cli_without_broker(void **state)
{
	static const char message[] = "no broker is running at " INSTALLED_SOCKET
				      " (start auth0-broker.socket)";
	char *before, *after;
	size_t before_len, after_len;
	struct proc p;
	int logged;

	if (exists(INSTALLED_SOCKET)) {
		fprintf(stderr, "# %s exists on this host: not a test without a broker\n",
			INSTALLED_SOCKET);
		skip();
	}
	store_confidential_login(0);
	before = record_payload(A0_RECORD_MAIN, &before_len);
	assert_non_null(before);
	assert_non_null(strstr(before, "\nclient_auth 6\nbroker\n"));
	logged = log_length(&f);

	/* A refresh (the access token lives a day: --min-ttl asks more). */
	assert_helper(&p, AUTH0_CREDENTIALS_NO_NETWORK, NULL, "get", "--min-ttl", "100000");
	assert_non_null(strstr(p.stderr_text, "\"error\":\"NO_NETWORK\""));
	assert_non_null(strstr(p.stderr_text, message));
	assert_null(strstr(p.stderr_text, "public application"));
	proc_free(&p);
	/* Forced, and a revocation: the same. */
	assert_helper(&p, AUTH0_CREDENTIALS_NO_NETWORK, NULL, "get", "--force-refresh");
	assert_non_null(strstr(p.stderr_text, message));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_NO_NETWORK, NULL, "revoke");
	assert_non_null(strstr(p.stderr_text, message));
	proc_free(&p);

	/* Nothing reached the tenant, nothing changed. */
	assert_int_equal(log_length(&f), logged);
	after = record_payload(A0_RECORD_MAIN, &after_len);
	assert_non_null(after);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	/* The stored token itself still serves what it can. */
	assert_helper(&p, AUTH0_CREDENTIALS_OK, NULL, "get", "--min-ttl", "60");
	proc_free(&p);
	a0_secret_free(before);
	a0_secret_free(after);
}

/* vault exchange and vault worker from the command: arguments checked first; with no broker,
 * NO_NETWORK naming the socket; the access token (stdin) never in what it prints. */
static void test_cli_exchange_without_broker(void **state)
{
	static const char token[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-SUBJECT\n";
	struct proc p;

	if (exists(INSTALLED_SOCKET)) {
		fprintf(stderr, "# %s exists on this host: not a test without a broker\n",
			INSTALLED_SOCKET);
		skip();
	}
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, token, "vault", "exchange");
	assert_non_null(strstr(p.stderr_text, "use 'vault exchange --connection C'"));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, NULL, "vault", "worker",
		      "--connection", "google-oauth2");
	assert_non_null(strstr(p.stderr_text, "vault worker needs --user-id"));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, NULL, "vault", "get", "github",
		      "--user-id", "auth0|1");
	assert_non_null(strstr(p.stderr_text, "are for vault exchange and vault worker"));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, NULL, "vault", "worker",
		      "--connection", "google-oauth2", "--user-id", "auth0 1");
	assert_non_null(strstr(p.stderr_text, "the user ID must be"));
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_INVALID_ARGUMENT, "\n", "vault", "exchange",
		      "--connection", "google-oauth2");
	proc_free(&p);

	assert_helper(&p, AUTH0_CREDENTIALS_NO_NETWORK, token, "vault", "exchange", "--connection",
		      "google-oauth2");
	assert_non_null(strstr(p.stderr_text, "no broker is running at " INSTALLED_SOCKET));
	assert_non_null(strstr(p.stderr_text, "access-token exchange failed"));
	assert_null(strstr(p.stderr_text, "SUBJECT"));
	assert_string_equal(p.stdout_text, "");
	proc_free(&p);
	assert_helper(&p, AUTH0_CREDENTIALS_NO_NETWORK, NULL, "vault", "worker", "--connection",
		      "google-oauth2", "--user-id", ALICE_ID, "--audit-context", "backup");
	assert_non_null(strstr(p.stderr_text, "worker exchange failed: no broker is running"));
	proc_free(&p);
}

/* The C API (the test build's socket, in the build tree): the same, and headers refused. */
static void test_capi_without_broker(void **state)
{
	const struct auth0_credentials_header headers[] = { { "X-Trace", "1" } };
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials_sso *sso = NULL;
	struct auth0_credentials *c = NULL;
	char *before, *after, expected[256];
	size_t before_len, after_len;
	int logged;

	if (exists(A0_TEST_BROKER_SOCKET)) {
		fprintf(stderr, "# %s exists: a broker of another test run?\n",
			A0_TEST_BROKER_SOCKET);
		skip();
	}
	snprintf(expected, sizeof(expected),
		 "renewing the credentials failed: no broker is running at %s (start "
		 "auth0-broker.socket)",
		 A0_TEST_BROKER_SOCKET);
	store_confidential_login(0);
	before = record_payload(A0_RECORD_MAIN, &before_len);
	logged = log_length(&f);

	assert_code(auth0_credentials_new(&c), AUTH0_CREDENTIALS_OK);
	assert_code(auth0_credentials_get(c, NULL, 100000, false, NULL, 0, &t),
		    AUTH0_CREDENTIALS_NO_NETWORK);
	assert_null(t);
	assert_string_equal(auth0_credentials_message(c), expected);
	/* In the caller's process too. */
	assert_code(auth0_credentials_set_inline(c, true), AUTH0_CREDENTIALS_OK);
	assert_code(auth0_credentials_get(c, NULL, 0, true, NULL, 0, &t),
		    AUTH0_CREDENTIALS_NO_NETWORK);
	assert_string_equal(auth0_credentials_message(c), expected);
	/* Extra headers cannot go through the broker: said before anything is sent. */
	assert_code(auth0_credentials_sso_headers(c, NULL, 0, headers, 1, &sso),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_null(sso);
	assert_non_null(strstr(auth0_credentials_message(c), "extra request headers cannot be "
							     "sent through auth0-broker"));
	auth0_credentials_free(c);

	assert_int_equal(log_length(&f), logged);
	after = record_payload(A0_RECORD_MAIN, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	a0_secret_free(before);
	a0_secret_free(after);
}

/* ------------------------------------------------------------------ a real broker */

struct broker_run {
	char dir[128];
	char runtime[192];
	struct test_user user;
	pid_t pid;
	char *login;     /* a0alice's token response, signed in by the parent */
	char *dpop_key;  /* the key her login's tokens are bound to (a DPoP login), or NULL */
	char *other_key; /* another key, for a record that is not the tokens' */
};

/* Wait until something accepts connections at path: true, or false after about 10 s. */
static bool wait_for_socket(const char *path, pid_t pid)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

		if (fd >= 0)
			close(fd);
		if (ok)
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(50 * 1000);
	}
	return false;
}

/*
 * As the test user, in a fresh session keyring: a new handle *ret_c, and a0alice's confidential
 * login stored (*ret_r) for the broker, expiring in 30 s. 0, or -1 (with a message).
 */
static int store_broker_login(struct broker_run *b, struct auth0_credentials **ret_c,
			      struct a0_record **ret_r)
{
	char domain[64];
	struct auth0_credentials_tenant tenant = { .domain = domain,
						   .client_id = CONFIDENTIAL,
						   .ca_file = f.ca };
	struct a0_record *r = NULL;

	setenv("XDG_RUNTIME_DIR", b->runtime, 1);
	if (auth0_credentials_new(ret_c) != AUTH0_CREDENTIALS_OK)
		return -1;
	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	if (auth0_credentials_save(*ret_c, b->login, strlen(b->login), &tenant) != 0) {
		fprintf(stderr, "# save: %s\n", auth0_credentials_message(*ret_c));
		return -1;
	}
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r) < 0 || !r->refresh_token ||
	    !(r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER))) {
		a0_record_free(r);
		return -1;
	}
	r->expires_at = time(NULL) + 30;
	if (a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0) < 0) {
		a0_record_free(r);
		return -1;
	}
	*ret_r = r;
	return 0;
}

/*
 * As the test user: store the login (store_broker_login), get with min-ttl 60 (a refresh,
 * through the broker), check the rotated refresh token is what the keyring holds, and refresh
 * once more with it. 0 when all held.
 */
static int as_user(void *ctx)
{
	struct broker_run *b = ctx;
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	struct a0_record *r = NULL, *r2 = NULL;
	int rc = 1;

	if (store_broker_login(b, &c, &r) < 0)
		goto out;
	if (auth0_credentials_get(c, NULL, 60, false, NULL, 0, &t) != AUTH0_CREDENTIALS_OK) {
		fprintf(stderr, "# get through the broker: %s\n", auth0_credentials_message(c));
		goto out;
	}
	if (t->expires_at < time(NULL) + 3600) {
		fprintf(stderr, "# the access token was not renewed\n");
		goto out;
	}
	auth0_credentials_tokens_free(t);
	t = NULL;
	/* The rotated refresh token is in the keyring, and the record still says "broker". */
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r2) < 0 ||
	    !r2->refresh_token || strcmp(r2->refresh_token, r->refresh_token) == 0 ||
	    !a0_record_uses_broker(r2)) {
		fprintf(stderr, "# the rotated refresh token was not persisted\n");
		goto out;
	}
	/* ... and it is the one the tenant takes now. */
	if (auth0_credentials_get(c, NULL, 0, true, NULL, 0, &t) != AUTH0_CREDENTIALS_OK) {
		fprintf(stderr, "# second refresh: %s\n", auth0_credentials_message(c));
		goto out;
	}
	rc = 0;
out:
	auth0_credentials_tokens_free(t);
	auth0_credentials_free(c);
	a0_record_free(r);
	a0_record_free(r2);
	return rc;
}

/*
 * A real auth0-broker for the confidential application at the test build's socket, its test
 * user (named from prefix and tag) bound to a0alice, and a0alice signed in (b->login) with
 * rotation on; skipped when it cannot be.
 */
static void confidential_broker_start(struct broker_run *b, const char *prefix, char tag)
{
	const char *broker = getenv("A0_BROKER");
	char conf[256], secret[256], users[256], text[2048], syscache[192];

	if (!broker || access(broker, X_OK) != 0) {
		fprintf(stderr, "# auth0-broker is not built (A0_BROKER): skipped\n");
		skip();
	}
	if (geteuid() != 0) {
		fprintf(stderr,
			"# needs root (a test user the broker binds to a0alice): skipped\n");
		skip();
	}
	if (strlen(A0_TEST_BROKER_SOCKET) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "# the build tree's socket path is too long: skipped\n");
		skip();
	}
	(void)unlink(A0_TEST_BROKER_SOCKET); /* a stale one of a run that died */
	test_user_sweep();
	assert_true(test_user_create(prefix, tag, &b->user));
	temp_dir(b->dir, sizeof(b->dir), "a0-broker-test");
	snprintf(b->runtime, sizeof(b->runtime), "%s/runtime", b->dir);
	assert_int_equal(mkdir(b->runtime, 0700), 0);
	assert_int_equal(chown(b->runtime, b->user.uid, b->user.gid), 0);
	assert_int_equal(chmod(b->dir, 0755), 0);

	/* The broker's configuration: the confidential application, its secret, and the test
	 * user bound to a0alice. */
	snprintf(secret, sizeof(secret), "%s/client_secret", b->dir);
	write_text(secret, SECRET "\n");
	assert_int_equal(chmod(secret, 0600), 0);
	snprintf(users, sizeof(users), "%s/users", b->dir);
	snprintf(text, sizeof(text), "%s " ALICE_ID "\n", b->user.name);
	write_text(users, text);
	assert_int_equal(chmod(users, 0644), 0);
	snprintf(conf, sizeof(conf), "%s/pam_auth0.conf", b->dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = " CONFIDENTIAL "\nclient_secret_file = %s\n"
		 "ca_file = %s\nusers_file = %s\nstate_dir = %s/run\ncache_dir = %s/cache\n"
		 "broker_socket = %s\ntimeout = 5\n",
		 f.port, secret, f.ca, users, b->dir, b->dir, A0_TEST_BROKER_SOCKET);
	write_text(conf, text);
	assert_int_equal(chmod(conf, 0644), 0);
	/* Rotation on, so that a refresh answers a new refresh token. */
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" CONFIDENTIAL "\",\"rotation\":true}");

	/* As systemd's CacheDirectory= sets it: the JWKS cache goes there, not to cache_dir. */
	snprintf(syscache, sizeof(syscache), "%s/syscache", b->dir);
	assert_int_equal(mkdir(syscache, 0700), 0);

	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		setenv("CACHE_DIRECTORY", syscache, 1);
		execl(broker, broker, "--foreground", "--config", conf, (char *)NULL);
		_exit(127);
	}
	if (!wait_for_socket(A0_TEST_BROKER_SOCKET, b->pid)) {
		kill(b->pid, SIGKILL);
		(void)waitpid(b->pid, NULL, 0);
		fail_msg("auth0-broker did not listen at %s", A0_TEST_BROKER_SOCKET);
	}
	b->login = fake_login(&f, CONFIDENTIAL, SECRET, "a0alice", "openid profile offline_access");
	assert_non_null(b->login);
}

static void confidential_broker_stop(struct broker_run *b)
{
	a0_secret_free(b->login);
	kill(b->pid, SIGTERM);
	(void)waitpid(b->pid, NULL, 0);
	(void)unlink(A0_TEST_BROKER_SOCKET);
	test_user_remove(&b->user);
	(void)remove_tree(b->dir);
}

static void test_refresh_through_broker(void **state)
{
	struct broker_run b = { .pid = -1 };
	char jwks[512];
	int refreshes, status;
	bool jwks_cached, cache_dir_used;

	confidential_broker_start(&b, "a0brk", 'a');
	refreshes = refresh_count(&f, 0);
	status = test_as_user(&b.user, true, as_user, &b);
	/* The JWKS cache in $CACHE_DIRECTORY (the unit's), not in cache_dir. */
	snprintf(jwks, sizeof(jwks),
		 "%s/syscache/" A0_JWKS_CACHE_PREFIX "localhost:%d" A0_JWKS_CACHE_SUFFIX, b.dir,
		 f.port);
	jwks_cached = exists(jwks);
	snprintf(jwks, sizeof(jwks), "%s/cache", b.dir);
	cache_dir_used = exists(jwks);
	confidential_broker_stop(&b);
	assert_int_equal(status, 0);
	assert_true(jwks_cached);
	assert_false(cache_dir_used);
	/* Two refreshes at the tenant (through the broker), no reuse of a rotated-out token. */
	assert_int_equal(refresh_count(&f, 0) - refreshes, 2);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
}

/*
 * As the test user: store the login, then a get whose refresh the test loses by killing the
 * broker's child that performs it: NO_NETWORK naming the broker, and the record byte for byte
 * as it was (the old refresh token: nothing arrived to replace it). 0 when all held.
 */
static int as_user_child_killed(void *ctx)
{
	struct broker_run *b = ctx;
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	struct a0_record *r = NULL, *r2 = NULL;
	char *before = NULL, *after = NULL, expected[256];
	size_t before_len = 0, after_len = 0;
	int rc = 1, code;

	if (store_broker_login(b, &c, &r) < 0 ||
	    !(before = record_payload(A0_RECORD_MAIN, &before_len)))
		goto out;
	code = auth0_credentials_get(c, NULL, 60, false, NULL, 0, &t);
	snprintf(expected, sizeof(expected), "auth0-broker at %s: the broker closed the connection",
		 A0_TEST_BROKER_SOCKET);
	if (code != AUTH0_CREDENTIALS_NO_NETWORK || t ||
	    !strstr(auth0_credentials_message(c), expected)) {
		fprintf(stderr, "# get with the broker's child killed: %d %s\n", code,
			auth0_credentials_message(c));
		goto out;
	}
	after = record_payload(A0_RECORD_MAIN, &after_len);
	if (!after || after_len != before_len || memcmp(after, before, before_len) != 0 ||
	    a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r2) < 0 ||
	    !r2->refresh_token || strcmp(r2->refresh_token, r->refresh_token) != 0) {
		fprintf(stderr, "# the record changed\n");
		goto out;
	}
	rc = 0;
out:
	auth0_credentials_tokens_free(t);
	auth0_credentials_free(c);
	a0_record_free(r);
	a0_record_free(r2);
	a0_secret_free(before);
	a0_secret_free(after);
	return rc;
}

/*
 * a0alice's sign-in at the confidential application with a DPoP key (lib/auth0.c, as the module
 * signs in with dpop = yes and client_secret_file): her token response in b->login, the key's
 * text in b->dpop_key, and another key's in b->other_key.
 */
static void dpop_confidential_login(struct broker_run *b)
{
	struct a0_dpop_key *key = NULL, *other = NULL;
	struct a0_dpop_session session;
	char domain[64], json[16 * 1024];
	struct a0_http_options opt = { .domain = domain, .ca_file = f.ca, .timeout = 10 };
	struct a0_client client = { .client_id = CONFIDENTIAL, .client_secret = SECRET };
	struct a0_config cfg = { .realm = (char *)(uintptr_t) "Username-Password-Authentication",
				 .scope = (char *)(uintptr_t) "openid profile offline_access" };
	struct a0_result res = { 0 };
	struct a0_tokens *t = NULL;

	assert_int_equal(a0_dpop_key_new(&key), 0);
	assert_int_equal(a0_dpop_key_new(&other), 0);
	session = (struct a0_dpop_session){ .key = key };
	client.dpop = &session;
	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	assert_int_equal(a0_http_new(&opt, &client.http), 0);
	assert_int_equal(a0_grant_password_realm(&client, &cfg, "a0alice", "Secret-a0alice-1", &t,
						 &res),
			 0);
	assert_string_equal(t->token_type, "DPoP");
	assert_non_null(t->refresh_token);
	snprintf(json, sizeof(json),
		 "{\"access_token\":\"%s\",\"id_token\":\"%s\",\"refresh_token\":\"%s\","
		 "\"token_type\":\"DPoP\",\"expires_in\":%lld}",
		 t->access_token, t->id_token, t->refresh_token, t->expires_in);
	a0_secret_free(b->login);
	assert_non_null(b->login = a0_secret_dup(json));
	explicit_bzero(json, sizeof(json));
	assert_int_equal(a0_dpop_key_export(key, &b->dpop_key), 0);
	assert_int_equal(a0_dpop_key_export(other, &b->other_key), 0);
	a0_tokens_free(t);
	a0_dpop_key_free(key);
	a0_dpop_key_free(other);
	a0_http_free(client.http);
}

/*
 * As the test user: a0alice's DPoP login stored for the broker with key_text as its key; then a
 * get that refreshes through the broker. Returns the get's code; *ret_r the record after it.
 */
static int dpop_get(struct broker_run *b, const char *key_text, struct a0_record **ret_r)
{
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	struct a0_record *r = NULL;
	int code = -1;

	if (store_broker_login(b, &c, &r) < 0)
		goto out;
	free(r->dpop_key);
	if (!(r->dpop_key = strdup(key_text)) ||
	    a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0) < 0)
		goto out;
	code = auth0_credentials_get(c, NULL, 60, false, NULL, 0, &t);
	if (code != AUTH0_CREDENTIALS_OK)
		fprintf(stderr, "# get through the broker: %s\n", auth0_credentials_message(c));
	else if (strcmp(t->token_type, "DPoP") != 0)
		code = -2;
	(void)a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, ret_r);
out:
	auth0_credentials_tokens_free(t);
	auth0_credentials_free(c);
	a0_record_free(r);
	return code;
}

/*
 * As the test user: the DPoP session refreshes through the broker with a proof of its own key
 * (the broker never holds it), and keeps the key; then a record whose key is not the tokens' is
 * refused by the tenant, and its refresh token is the one it had.
 */
static int as_user_dpop(void *ctx)
{
	struct broker_run *b = ctx;
	struct a0_record *r = NULL;
	int rc = 1, code;

	if ((code = dpop_get(b, b->dpop_key, &r)) != AUTH0_CREDENTIALS_OK) {
		fprintf(stderr, "# the DPoP session's refresh: %d\n", code);
		goto out;
	}
	if (!r || !r->dpop_key || strcmp(r->dpop_key, b->dpop_key) != 0 ||
	    strcmp(r->token_type, "DPoP") != 0) {
		fprintf(stderr, "# the record lost its key or its token type\n");
		goto out;
	}
	a0_record_free(r);
	r = NULL;
	/* The same login, stored again with another key: the tenant refuses the proof. */
	if ((code = dpop_get(b, b->other_key, &r)) == AUTH0_CREDENTIALS_OK) {
		fprintf(stderr, "# a refresh with another key was not refused\n");
		goto out;
	}
	if (!r || !r->dpop_key || strcmp(r->dpop_key, b->other_key) != 0) {
		fprintf(stderr, "# the refused record was changed\n");
		goto out;
	}
	rc = 0;
out:
	a0_record_free(r);
	return rc;
}

/*
 * A confidential application's DPoP session (issue 16): the broker sends the caller's proof, so
 * the tenant binds the renewed tokens to the session's key; a proof by another key is refused.
 */
static void test_dpop_through_broker(void **state)
{
	struct broker_run b = { .pid = -1 };
	int accepted, refused, status;

	confidential_broker_start(&b, "a0brk", 'p');
	/* Rotation off: the second login's refresh token stays usable after the first refresh. */
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" CONFIDENTIAL "\",\"rotation\":false}");
	dpop_confidential_login(&b);
	accepted = dpop_stat(&f, "proofs", "accepted");
	refused = dpop_stat(&f, "binding_refused", "refresh_key_mismatch");
	status = test_as_user(&b.user, true, as_user_dpop, &b);
	a0_secret_free(b.dpop_key);
	a0_secret_free(b.other_key);
	confidential_broker_stop(&b);
	assert_int_equal(status, 0);
	/* The refresh with the session's key, and the one with the other key, reached the tenant
	 * with their proofs; the second was refused for its key. */
	assert_int_equal(dpop_stat(&f, "proofs", "accepted") - accepted, 2);
	assert_int_equal(dpop_stat(&f, "binding_refused", "refresh_key_mismatch") - refused, 1);
}

static void test_broker_child_killed(void **state)
{
	struct broker_run b = { .pid = -1 };
	int before, status, killed;
	pid_t killer;

	confidential_broker_start(&b, "a0brk", 'k');
	/* The tenant holds the refresh 2 s: the test kills the broker's child meanwhile. */
	before = fake_count(&f, "/oauth/token", NULL);
	fake_control(&f, "POST", "/__control/fault",
		     "{\"kind\":\"delay\",\"path\":\"/oauth/token\",\"seconds\":2,\"count\":1}");
	killer = fork();
	assert_true(killer >= 0);
	if (killer == 0) {
		pid_t child = -1;

		if (fake_wait_count(&f, "/oauth/token", before, 20))
			child = child_of(b.pid, 5);
		_exit(child > 0 && kill(child, SIGKILL) == 0 ? 0 : 1);
	}
	status = test_as_user(&b.user, true, as_user_child_killed, &b);
	assert_int_equal(waitpid(killer, &killed, 0), killer);
	confidential_broker_stop(&b);
	assert_true(WIFEXITED(killed) && WEXITSTATUS(killed) == 0);
	assert_int_equal(status, 0);
}

/* ------------------------------------------------------------------ Token Vault */

#define VAULT_CLIENT "broker-secret"
#define VAULT_SECRET "test-broker-secret:+/%7E-444"
#define FEDERATED "test-federated-google-token-777"
#define VAULT_CONCURRENT 20

/* Successful Token Vault exchanges at the fake (stats token_vault.exchanges). */
static int vault_exchanges(void)
{
	cJSON *stats = fake_get(&f, "/__control/stats");
	cJSON *tv = cJSON_GetObjectItem(stats, "token_vault");
	int v = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(tv, "exchanges"));

	cJSON_Delete(stats);
	return v;
}

static int vault_fail(const char *what, struct auth0_credentials *c)
{
	fprintf(stderr, "# vault: %s%s%s\n", what, c ? ": " : "",
		c ? auth0_credentials_message(c) : "");
	return 1;
}

/* vault get of google-oauth2: OK and the stored federated token (compared, never printed). */
static bool vault_get_ok(struct auth0_credentials *c)
{
	struct auth0_credentials_tokens *t = NULL;
	bool ok;

	ok = auth0_credentials_vault_get(c, "google-oauth2", NULL, NULL, 60, &t) ==
		     AUTH0_CREDENTIALS_OK &&
	     t->access_token && strcmp(t->access_token, FEDERATED) == 0;
	auth0_credentials_tokens_free(t);
	return ok;
}

static int as_user_vault(void *ctx)
{
	struct broker_run *b = ctx;
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	struct a0_record *r = NULL;
	pid_t kids[VAULT_CONCURRENT];
	int rc = 1, n, status, ok_kids = 0;

	setenv("XDG_RUNTIME_DIR", b->runtime, 1);
	/* The fake's control (its stats) from this user: the CA copied where it can read it. */
	snprintf(f.ca, sizeof(f.ca), "%s/ca.pem", b->dir);
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK)
		goto out;
	{
		char domain[64];
		struct auth0_credentials_tenant tenant = { .domain = domain,
							   .client_id = VAULT_CLIENT,
							   .ca_file = f.ca };

		snprintf(domain, sizeof(domain), "localhost:%d", f.port);
		if (auth0_credentials_save(c, b->login, strlen(b->login), &tenant) != 0) {
			rc = vault_fail("save", c);
			goto out;
		}
	}
	/* A public application's record: refused without a request. */
	n = vault_exchanges();
	if (auth0_credentials_vault_get(c, "google-oauth2", NULL, NULL, 0, &t) !=
		    AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED ||
	    !strstr(auth0_credentials_message(c), "confidential application") ||
	    vault_exchanges() != n) {
		rc = vault_fail("a public application's record was not refused", c);
		goto out;
	}
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r) < 0 || !r->refresh_token)
		goto out;
	r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER);
	if (a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0) < 0)
		goto out;

	/* The stored federated token, through the broker: one exchange; then from the cache. */
	n = vault_exchanges();
	if (!vault_get_ok(c)) {
		rc = vault_fail("get", c);
		goto out;
	}
	if (vault_exchanges() != n + 1) {
		rc = vault_fail("the first get made no exchange at the tenant", NULL);
		goto out;
	}
	if (!vault_get_ok(c) || vault_exchanges() != n + 1) {
		rc = vault_fail("the second get was not served from the keyring", c);
		goto out;
	}
	/* vault clear forgets it: the next get exchanges again. */
	if (auth0_credentials_vault_clear(c, "google-oauth2", NULL) != AUTH0_CREDENTIALS_OK) {
		rc = vault_fail("clear", c);
		goto out;
	}
	a0_record_free(r);
	r = NULL;
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, "vault:google-oauth2", &r) !=
	    A0_ERR_NOT_FOUND) {
		rc = vault_fail("the record is still there after clear", NULL);
		goto out;
	}
	/* Concurrent callers of an uncached token: one exchange. */
	n = vault_exchanges();
	for (int i = 0; i < VAULT_CONCURRENT; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct auth0_credentials *k = NULL;

			if (auth0_credentials_new(&k) != AUTH0_CREDENTIALS_OK)
				_exit(2);
			_exit(vault_get_ok(k) ? 0 : 1);
		}
	}
	for (int i = 0; i < VAULT_CONCURRENT; i++)
		if (kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok_kids++;
	if (ok_kids != VAULT_CONCURRENT || vault_exchanges() != n + 1) {
		fprintf(stderr, "# vault: %d of %d concurrent gets ok, %d exchanges\n", ok_kids,
			VAULT_CONCURRENT, vault_exchanges() - n);
		goto out;
	}
	/* A connection outside broker_connections: the broker refuses, nothing is sent. */
	n = vault_exchanges();
	if (auth0_credentials_vault_get(c, "github", NULL, NULL, 0, &t) == AUTH0_CREDENTIALS_OK ||
	    !strstr(auth0_credentials_message(c), "broker_connections") || vault_exchanges() != n) {
		rc = vault_fail("github was not refused by the broker", c);
		goto out;
	}
	/* No federated token: NO_FEDERATED_TOKEN (the command's exit 15; the command itself
	 * talks to the installed socket only, test_cli_without_broker). */
	fake_control(&f, "DELETE", "/__control/federated",
		     "{\"username\":\"a0alice\",\"connection\":\"google-oauth2\"}");
	if (auth0_credentials_vault_clear(c, NULL, NULL) != AUTH0_CREDENTIALS_OK ||
	    auth0_credentials_vault_get(c, "google-oauth2", NULL, NULL, 0, &t) !=
		    AUTH0_CREDENTIALS_NO_FEDERATED_TOKEN ||
	    !strstr(auth0_credentials_message(c), "federated_connection_refresh_token_not_found")) {
		rc = vault_fail("no federated token was not NO_FEDERATED_TOKEN", c);
		goto out;
	}
	/* Rotation on for the application: the refusal explained. */
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" VAULT_CLIENT "\",\"rotation\":true}");
	if (auth0_credentials_vault_get(c, "google-oauth2", NULL, NULL, 0, &t) !=
		    AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED ||
	    !strstr(auth0_credentials_message(c), "disable Allow Refresh Token Rotation")) {
		rc = vault_fail("rotation on was not explained", c);
		goto out;
	}
	rc = 0;
out:
	auth0_credentials_tokens_free(t);
	auth0_credentials_free(c);
	a0_record_free(r);
	return rc;
}

static void test_vault_through_broker(void **state)
{
	const char *broker = getenv("A0_BROKER");
	struct broker_run b = { .pid = -1 };
	char conf[256], secret[256], text[2048];
	int status;

	if (!broker || access(broker, X_OK) != 0) {
		fprintf(stderr, "# auth0-broker is not built (A0_BROKER): skipped\n");
		skip();
	}
	if (geteuid() != 0) {
		fprintf(stderr, "# needs root (a test user for the session): skipped\n");
		skip();
	}
	(void)unlink(A0_TEST_BROKER_SOCKET);
	test_user_sweep();
	assert_true(test_user_create("a0vlt", 'a', &b.user));
	temp_dir(b.dir, sizeof(b.dir), "a0-vault-test");
	snprintf(b.runtime, sizeof(b.runtime), "%s/runtime", b.dir);
	assert_int_equal(mkdir(b.runtime, 0700), 0);
	assert_int_equal(chown(b.runtime, b.user.uid, b.user.gid), 0);
	assert_int_equal(chmod(b.dir, 0755), 0);
	snprintf(secret, sizeof(secret), "%s/client_secret", b.dir);
	write_text(secret, VAULT_SECRET "\n");
	assert_int_equal(chmod(secret, 0600), 0);
	snprintf(conf, sizeof(conf), "%s/pam_auth0.conf", b.dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = " VAULT_CLIENT "\nclient_secret_file = %s\n"
		 "ca_file = %s\nstate_dir = %s/run\ncache_dir = %s/cache\n"
		 "broker_socket = %s\nbroker_connections = google-oauth2\ntimeout = 5\n",
		 f.port, secret, f.ca, b.dir, b.dir, A0_TEST_BROKER_SOCKET);
	write_text(conf, text);
	assert_int_equal(chmod(conf, 0644), 0);
	{
		char ca[256], pem[64 * 1024];
		FILE *in = fopen(f.ca, "r");
		size_t len;

		assert_non_null(in);
		len = fread(pem, 1, sizeof(pem) - 1, in);
		fclose(in);
		pem[len] = '\0';
		snprintf(ca, sizeof(ca), "%s/ca.pem", b.dir);
		write_text(ca, pem);
		assert_int_equal(chmod(ca, 0644), 0);
	}
	fake_control(&f, "POST", "/__control/federated",
		     "{\"username\":\"a0alice\",\"connection\":\"google-oauth2\",\"access_token\":"
		     "\"" FEDERATED "\",\"expires_in\":3600}");

	b.pid = fork();
	assert_true(b.pid >= 0);
	if (b.pid == 0) {
		execl(broker, broker, "--foreground", "--config", conf, (char *)NULL);
		_exit(127);
	}
	if (!wait_for_socket(A0_TEST_BROKER_SOCKET, b.pid)) {
		kill(b.pid, SIGKILL);
		(void)waitpid(b.pid, NULL, 0);
		fail_msg("auth0-broker did not listen at %s", A0_TEST_BROKER_SOCKET);
	}
	b.login = fake_login(&f, VAULT_CLIENT, VAULT_SECRET, "a0alice",
			     "openid profile offline_access");
	assert_non_null(b.login);
	status = test_as_user(&b.user, true, as_user_vault, &b);
	a0_secret_free(b.login);

	kill(b.pid, SIGTERM);
	(void)waitpid(b.pid, NULL, 0);
	(void)unlink(A0_TEST_BROKER_SOCKET);
	test_user_remove(&b.user);
	(void)remove_tree(b.dir);
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"" VAULT_CLIENT "\",\"rotation\":false}");
	assert_int_equal(status, 0);
}

/* ------------------------------------------------------------------ exchanges for a subject */

#define WORKER_CLIENT "broker-jwt"
#define API_CLIENT "api-vault-client"
#define API_SECRET "test-api-vault-secret-555"
#define API "https://api.example.com/"

struct exchange_run {
	struct broker_run b;
	char *api_token;      /* a0alice's access token for API (a secret) */
	char *userinfo_token; /* one for /userinfo only */
};

/* code, and the message holding want (NULL: anything); else a line saying what came. */
static bool expect(struct auth0_credentials *c, int got, int code, const char *want,
		   const char *what)
{
	if (got == code && (!want || strstr(auth0_credentials_message(c), want)))
		return true;
	fprintf(stderr, "# %s: code %d (wanted %d): %s\n", what, got, code,
		auth0_credentials_message(c));
	return false;
}

static int as_service(void *ctx)
{
	struct exchange_run *x = ctx;
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	int rc = 1, n, got;

	/* The fake's control (its stats) from this user: the CA copied where it can read it. */
	snprintf(f.ca, sizeof(f.ca), "%s/ca.pem", x->b.dir);
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK)
		return 1;
	/* The access-token exchange of the API's token: a0alice's federated token. */
	n = vault_exchanges();
	got = auth0_credentials_vault_exchange(c, x->api_token, "google-oauth2", NULL, NULL, &t);
	if (!expect(c, got, AUTH0_CREDENTIALS_OK, NULL, "exchange"))
		goto out;
	if (strcmp(t->access_token, FEDERATED) != 0 || t->expires_at < time(NULL) + 3000 ||
	    vault_exchanges() != n + 1) {
		fprintf(stderr, "# exchange: not the federated token, or not one exchange\n");
		goto out;
	}
	auth0_credentials_tokens_free(t);
	t = NULL;
	/* A token not issued for the API: the tenant's 403, in words. */
	got = auth0_credentials_vault_exchange(c, x->userinfo_token, "google-oauth2", NULL, NULL,
					       &t);
	if (!expect(c, got, AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED, "HTTP 403 access_denied",
		    "exchange of a /userinfo token"))
		goto out;
	/* A connection broker_exchange does not give this uid: refused by the broker. */
	n = vault_exchanges();
	got = auth0_credentials_vault_exchange(c, x->api_token, "github", NULL, NULL, &t);
	if (!expect(c, got, AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED, "broker_exchange: uid",
		    "exchange for github") ||
	    vault_exchanges() != n)
		goto out;

	/* The privileged worker exchange, twice: each JWT new (the tenant refuses a replayed
	 * jti), each answered with a0alice's token. */
	for (int i = 0; i < 2; i++) {
		n = vault_exchanges();
		got = auth0_credentials_vault_worker(c, ALICE_ID, "google-oauth2", NULL, NULL,
						     "nightly backup", &t);
		if (!expect(c, got, AUTH0_CREDENTIALS_OK, NULL, "worker"))
			goto out;
		if (strcmp(t->access_token, FEDERATED) != 0 || vault_exchanges() != n + 1) {
			fprintf(stderr, "# worker: not the federated token\n");
			goto out;
		}
		auth0_credentials_tokens_free(t);
		t = NULL;
	}
	/* A user without an account there: NO_FEDERATED_TOKEN. */
	got = auth0_credentials_vault_worker(c, "auth0|6a00000000000000000000ff", "google-oauth2",
					     NULL, NULL, NULL, &t);
	if (!expect(c, got, AUTH0_CREDENTIALS_NO_FEDERATED_TOKEN,
		    "federated_connection_refresh_token_not_found", "worker for nobody"))
		goto out;
	/* A connection outside broker_workers. */
	n = vault_exchanges();
	got = auth0_credentials_vault_worker(c, ALICE_ID, "github", NULL, NULL, NULL, &t);
	if (!expect(c, got, AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED, "broker_workers: uid",
		    "worker for github") ||
	    vault_exchanges() != n)
		goto out;
	rc = 0;
out:
	auth0_credentials_tokens_free(t);
	auth0_credentials_free(c);
	return rc;
}

/* a0alice's access token for API: a refresh of her public login with that audience. */
static char *api_token(const char *audience)
{
	char *login = fake_login(&f, "pam-native", NULL, "a0alice", "openid offline_access");
	cJSON *l = cJSON_Parse(login), *answer;
	char body[4096], *token;

	assert_non_null(l);
	snprintf(body, sizeof(body),
		 "{\"grant_type\":\"refresh_token\",\"client_id\":\"pam-native\","
		 "\"refresh_token\":\"%s\"%s%s%s}",
		 cJSON_GetStringValue(cJSON_GetObjectItem(l, "refresh_token")),
		 audience ? ",\"audience\":\"" : "", audience ? audience : "",
		 audience ? "\"" : "");
	answer = fake_post(&f, "/oauth/token", body);
	assert_non_null(answer);
	token = a0_secret_dup(cJSON_GetStringValue(cJSON_GetObjectItem(answer, "access_token")));
	assert_non_null(token);
	explicit_bzero(body, sizeof(body));
	cJSON_Delete(answer);
	cJSON_Delete(l);
	a0_secret_free(login);
	return token;
}

/*
 * vault exchange (a service given a user's access token for the API) and vault worker (a
 * system account naming the user) through a real broker holding the application's key and
 * the Custom API Client's secret: for the uid and connections its configuration names only.
 */
static void test_exchange_and_worker(void **state)
{
	const char *broker = getenv("A0_BROKER"), *srcdir = getenv("srcdir");
	struct exchange_run x = { .b = { .pid = -1 } };
	struct broker_run *b = &x.b;
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	char conf[256], key[256], secret[256], text[4096], pem[16 * 1024];
	FILE *in;
	size_t len;
	int status, n;

	if (!broker || access(broker, X_OK) != 0) {
		fprintf(stderr, "# auth0-broker is not built (A0_BROKER): skipped\n");
		skip();
	}
	if (geteuid() != 0) {
		fprintf(stderr, "# needs root (a test user as the service): skipped\n");
		skip();
	}
	(void)unlink(A0_TEST_BROKER_SOCKET);
	test_user_sweep();
	assert_true(test_user_create("a0svc", 'a', &b->user));
	temp_dir(b->dir, sizeof(b->dir), "a0-exchange-test");
	assert_int_equal(chmod(b->dir, 0755), 0);
	snprintf(key, sizeof(key), "%s/tests/fake-tenant/broker-client.key", srcdir ? srcdir : ".");
	in = fopen(key, "r");
	assert_non_null(in);
	len = fread(pem, 1, sizeof(pem) - 1, in);
	fclose(in);
	pem[len] = '\0';
	snprintf(key, sizeof(key), "%s/client-key.pem", b->dir);
	write_text(key, pem);
	explicit_bzero(pem, sizeof(pem));
	assert_int_equal(chmod(key, 0600), 0);
	in = fopen(f.ca, "r");
	assert_non_null(in);
	len = fread(pem, 1, sizeof(pem) - 1, in);
	fclose(in);
	pem[len] = '\0';
	snprintf(secret, sizeof(secret), "%s/ca.pem", b->dir);
	write_text(secret, pem);
	assert_int_equal(chmod(secret, 0644), 0);
	snprintf(secret, sizeof(secret), "%s/api-secret", b->dir);
	write_text(secret, API_SECRET "\n");
	assert_int_equal(chmod(secret, 0600), 0);
	snprintf(conf, sizeof(conf), "%s/pam_auth0.conf", b->dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = " WORKER_CLIENT
		 "\nclient_private_key_file = %s\n"
		 "ca_file = %s\nstate_dir = %s/run\ncache_dir = %s/cache\n"
		 "broker_socket = %s\nbroker_connections = google-oauth2\ntimeout = 5\n"
		 "broker_api_client_id = " API_CLIENT "\nbroker_api_client_secret_file = %s\n"
		 "broker_exchange = %s:google-oauth2\nbroker_workers = %u:google-oauth2\n",
		 f.port, key, f.ca, b->dir, b->dir, A0_TEST_BROKER_SOCKET, secret, b->user.name,
		 (unsigned)b->user.uid);
	write_text(conf, text);
	assert_int_equal(chmod(conf, 0644), 0);
	fake_control(&f, "POST", "/__control/federated",
		     "{\"username\":\"a0alice\",\"connection\":\"google-oauth2\",\"access_token\":"
		     "\"" FEDERATED "\",\"expires_in\":3600}");
	x.api_token = api_token(API);
	x.userinfo_token = api_token(NULL);

	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		execl(broker, broker, "--foreground", "--config", conf, (char *)NULL);
		_exit(127);
	}
	if (!wait_for_socket(A0_TEST_BROKER_SOCKET, b->pid)) {
		kill(b->pid, SIGKILL);
		(void)waitpid(b->pid, NULL, 0);
		fail_msg("auth0-broker did not listen at %s", A0_TEST_BROKER_SOCKET);
	}
	status = test_as_user(&b->user, false, as_service, &x);

	/* root is not on either list: refused, whoever it is. */
	n = vault_exchanges();
	assert_code(auth0_credentials_new(&c), AUTH0_CREDENTIALS_OK);
	assert_code(auth0_credentials_vault_exchange(c, x.api_token, "google-oauth2", NULL, NULL,
						     &t),
		    AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED);
	assert_non_null(strstr(auth0_credentials_message(c), "broker_exchange: uid 0 may not"));
	assert_code(auth0_credentials_vault_worker(c, ALICE_ID, "google-oauth2", NULL, NULL, NULL,
						   &t),
		    AUTH0_CREDENTIALS_VAULT_EXCHANGE_FAILED);
	assert_non_null(strstr(auth0_credentials_message(c), "broker_workers: uid 0 may not"));
	assert_null(t);
	assert_int_equal(vault_exchanges(), n);
	/* Bad arguments are refused before anything is sent. */
	assert_code(auth0_credentials_vault_worker(c, "has blank", "google-oauth2", NULL, NULL,
						   NULL, &t),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_code(auth0_credentials_vault_exchange(c, "", "google-oauth2", NULL, NULL, &t),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	auth0_credentials_free(c);

	kill(b->pid, SIGTERM);
	(void)waitpid(b->pid, NULL, 0);
	(void)unlink(A0_TEST_BROKER_SOCKET);
	test_user_remove(&b->user);
	(void)remove_tree(b->dir);
	a0_secret_free(x.api_token);
	a0_secret_free(x.userinfo_token);
	assert_int_equal(status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cli_without_broker, setup),
		cmocka_unit_test_setup(test_cli_exchange_without_broker, setup),
		cmocka_unit_test_setup(test_capi_without_broker, setup),
		cmocka_unit_test_setup(test_refresh_through_broker, setup),
		cmocka_unit_test_setup(test_broker_child_killed, setup),
		cmocka_unit_test_setup(test_dpop_through_broker, setup),
		cmocka_unit_test_setup(test_vault_through_broker, setup),
		cmocka_unit_test_setup(test_exchange_and_worker, setup),
	};

	helper_test_init(&f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
