/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of auth0-credentials and libauth0-credentials against the fake tenant, each figure
 * measured next to its baseline in the same run (alternating, so that noise hits both):
 *   capi [N]        cached auth0_credentials_get() vs keyctl_read_alloc() of the same record,
 *                   in-process, N calls of each: medians;
 *   cli [N]         cached `auth0-credentials get --format token` vs `keyctl pipe` of the same
 *                   key, whole processes (fork, exec, wait), N runs of each: min and median;
 *   concurrent [N]  N processes `get --min-ttl 60` at once on an access token that expires in
 *                   30 s: refresh requests the fake saw, and wall time next to one such process
 *                   and next to N processes at once that find a valid token (no refresh);
 *   dpop [N]        a DPoP session (a0alice signed in with a key of her own, kept in the record
 *                   as the module keeps it): cached `get --format header --dpop-method GET
 *                   --dpop-url URL` vs `keyctl pipe`, whole processes, N runs each; and through
 *                   the C API, auth0_credentials_dpop_headers() (a fresh proof) vs a cached
 *                   auth0_credentials_get(), 10 N calls each: medians.
 * Every mode signs a0alice in at the fake (client pam-native, rotation on) and stores her real
 * token response, in a new session keyring and lock directory of its own.
 * Usage (under tests/with-fake-tenant, A0_HELPER = the helper's ELF file):
 *   bench_credentials capi|cli|concurrent|dpop [N]
 * Prints "key value" lines for tools/bench. Numbers only; nothing here passes or fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>

#include <auth0/credentials.h>

#include "keyring/record.h"
#include "keyring/store.h"
#include "lib/auth0.h"
#include "lib/dpop.h"
#include "lib/http.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/fake.h"
#include "tests/common/util.h"

#define SCOPE "openid profile email offline_access"
#define MIN_TTL "60"
#define EXPIRING_LIFETIME 30 /* s: below MIN_TTL, so every get must renew */
#define DEFAULT_LIFETIME 86400

extern char **environ;

static struct fake fake;

static void die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

/* A fresh login of a0alice stored as the session's credentials (as pam_auth0 would). */
static void store_login(void)
{
	struct auth0_credentials *c;
	char domain[64], *json = fake_login(&fake, "pam-native", NULL, "a0alice", SCOPE);
	struct auth0_credentials_tenant tenant = { .domain = domain,
						   .client_id = "pam-native",
						   .ca_file = fake.ca };

	if (!json)
		die("sign-in refused");
	snprintf(domain, sizeof(domain), "localhost:%d", fake.port);
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK ||
	    auth0_credentials_save(c, json, strlen(json), &tenant) != AUTH0_CREDENTIALS_OK)
		die("could not store the login");
	auth0_credentials_free(c);
	free(json);
}

static key_serial_t main_key(void)
{
	key_serial_t k = keyctl_search(KEY_SPEC_SESSION_KEYRING, "big_key", "pam_auth0:main", 0);

	if (k < 0)
		k = keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", "pam_auth0:main", 0);
	if (k < 0)
		die("no pam_auth0:main key in the session keyring");
	return k;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double minimum(double *v, int n)
{
	sort_doubles(v, n);
	return v[0];
}

static const char *key_type(key_serial_t k)
{
	static char type[32];
	char *desc = NULL;

	if (keyctl_describe_alloc(k, &desc) < 0 || sscanf(desc, "%31[^;]", type) != 1)
		snprintf(type, sizeof(type), "?");
	free(desc);
	return type;
}

/* A NULL-terminated argv of copies (execve wants them writable); never freed. */
static char **argv_of(const char *arg0, ...)
{
	char **argv = calloc(16, sizeof(char *));
	const char *a = arg0;
	va_list ap;
	size_t n = 0;

	if (!argv)
		die("out of memory");
	va_start(ap, arg0);
	for (; a && n < 15; a = va_arg(ap, const char *))
		if (!(argv[n++] = strdup(a)))
			die("out of memory");
	va_end(ap);
	return argv;
}

/* ------------------------------------------------------------------ capi */

static int bench_capi(int n)
{
	double *get = calloc((size_t)n, sizeof(double)), *raw = calloc((size_t)n, sizeof(double));
	struct auth0_credentials *c;
	key_serial_t k;
	long payload = 0;

	if (!get || !raw || auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK)
		die("out of memory");
	store_login();
	k = main_key();
	for (int i = -n / 10; i < n; i++) { /* the first tenth warms up, unrecorded */
		struct auth0_credentials_tokens *t = NULL;
		void *buf = NULL;
		double t0, t1, t2;

		t0 = now_us();
		if (auth0_credentials_get(c, NULL, 0, false, NULL, 0, &t) != AUTH0_CREDENTIALS_OK)
			die("auth0_credentials_get failed");
		auth0_credentials_tokens_free(t);
		t1 = now_us();
		payload = keyctl_read_alloc(k, &buf);
		if (payload < 0)
			die("keyctl_read_alloc failed");
		free(buf);
		t2 = now_us();
		if (i >= 0) {
			get[i] = t1 - t0;
			raw[i] = t2 - t1;
		}
	}
	if (fake_count(&fake, "/oauth/token", "refresh_token") != 0)
		die("a cached get sent a refresh");
	auth0_credentials_free(c);
	printf("capi_calls %d\n", n);
	printf("capi_key_type %s\n", key_type(k));
	printf("capi_record_bytes %ld\n", payload);
	printf("capi_get_us_median %.2f\n", median(get, n));
	printf("capi_keyctl_read_us_median %.2f\n", median(raw, n));
	free(get);
	free(raw);
	return 0;
}

/* ------------------------------------------------------------------ cli */

/* Run argv with stdout and stderr on /dev/null; wall microseconds, or die unless it exits 0. */
static double run_quiet(char *const *argv)
{
	double t0 = now_us();
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
			_exit(126);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid failed");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s exited with status %d\n", argv[0], status);
		exit(1);
	}
	return now_us() - t0;
}

/* The first line argv prints on stdout (for a check before timing). */
static char *first_line(char *const *argv)
{
	char cmd[1024], *line = NULL;
	size_t cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s'", argv[0]);
	for (int i = 1; argv[i]; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " '%s'", argv[i]);
	p = popen(cmd, "r");
	if (!p || getline(&line, &cap, p) < 0)
		die("no output");
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static int bench_cli(int n)
{
	const char *helper = getenv("A0_HELPER");
	double *ours = calloc((size_t)n, sizeof(double)), *raw = calloc((size_t)n, sizeof(double));
	char serial[16], *printed, *json = NULL;
	char **get, **pipe_;

	if (!helper || !ours || !raw)
		die("A0_HELPER is not set or out of memory");
	store_login();
	snprintf(serial, sizeof(serial), "%d", (int)main_key());
	get = argv_of(helper, "get", "--format", "token", NULL);
	pipe_ = argv_of("/usr/bin/keyctl", "pipe", serial, NULL);
	/* The helper prints what it should: the stored access token. */
	printed = first_line(get);
	if (keyctl_read_alloc(main_key(), (void **)&json) < 0 || !strstr(json, printed) ||
	    strlen(printed) < 100)
		die("the helper did not print the stored access token");
	free(json);
	free(printed);
	for (int i = -n / 10; i < n; i++) {
		double a = run_quiet(get), b = run_quiet(pipe_);

		if (i >= 0) {
			ours[i] = a;
			raw[i] = b;
		}
	}
	if (fake_count(&fake, "/oauth/token", "refresh_token") != 0)
		die("a cached get sent a refresh");
	printf("cli_runs %d\n", n);
	printf("cli_get_ms_min %.3f\n", minimum(ours, n) / 1000);
	printf("cli_get_ms_median %.3f\n", median(ours, n) / 1000);
	printf("cli_keyctl_ms_min %.3f\n", minimum(raw, n) / 1000);
	printf("cli_keyctl_ms_median %.3f\n", median(raw, n) / 1000);
	free(ours);
	free(raw);
	return 0;
}

/* ------------------------------------------------------------------ concurrent */

static void lifetime(int seconds)
{
	char json[64];

	snprintf(json, sizeof(json), "{\"access_token_lifetime\": %d}", seconds);
	fake_control(&fake, "POST", "/__control/settings", json);
}

/* A new login whose access token expires in EXPIRING_LIFETIME s; renewals get the default. */
static void expiring_login(void)
{
	fake_control(&fake, "POST", "/__control/reset", "{}");
	if (keyctl_clear(KEY_SPEC_SESSION_KEYRING) < 0)
		die("keyctl_clear failed");
	lifetime(EXPIRING_LIFETIME);
	store_login();
	lifetime(DEFAULT_LIFETIME);
}

/*
 * n processes `get --min-ttl MIN_TTL`, released at once: the wall time from their release to
 * the last one's end (ms), and how many did not exit 0.
 */
static double run_at_once(char *const *argv, int n, int *failed)
{
	pid_t *pids = calloc((size_t)n, sizeof(pid_t));
	int barrier[2];
	double t0;

	if (!pids || pipe(barrier) < 0)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork failed");
		if (pids[i] == 0) {
			int null = open("/dev/null", O_RDWR);
			char c;

			close(barrier[1]);
			/* Released when the parent closes its end: end of file. */
			(void)a0_read_full(barrier[0], &c, 1);
			if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
				_exit(126);
			execve(argv[0], argv, environ);
			_exit(127);
		}
	}
	close(barrier[0]);
	t0 = now_us();
	close(barrier[1]);
	*failed = 0;
	for (int i = 0; i < n; i++) {
		int status;

		while (waitpid(pids[i], &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid failed");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			(*failed)++;
	}
	free(pids);
	return (now_us() - t0) / 1000;
}

static int bench_concurrent(int n)
{
	const char *helper = getenv("A0_HELPER");
	char **get;
	enum { SINGLE = 5, ROUNDS = 3 };
	double single[SINGLE], many[ROUNDS], cached[ROUNDS];
	int refreshes[ROUNDS], most = 0, reuse = 0, failed = 0;

	if (!helper)
		die("A0_HELPER is not set");
	get = argv_of(helper, "get", "--min-ttl", MIN_TTL, "--format", "token", NULL);
	/* One process renewing alone: the unit of wall time. */
	for (int i = 0; i < SINGLE; i++) {
		int f;

		expiring_login();
		single[i] = run_at_once(get, 1, &f);
		failed += f;
		if (fake_stat(&fake, "refresh_requests") != 1)
			die("one get on an expiring token did not send exactly one refresh");
	}
	for (int i = 0; i < ROUNDS; i++) {
		int f;

		expiring_login();
		many[i] = run_at_once(get, n, &f);
		failed += f;
		refreshes[i] = fake_stat(&fake, "refresh_requests");
		most = refreshes[i] > most ? refreshes[i] : most;
		reuse += fake_stat(&fake, "reuse_detected");
	}
	/* The floor: as many processes at once on the renewed token, which none need renew. */
	for (int i = 0; i < ROUNDS; i++) {
		int f;

		cached[i] = run_at_once(get, n, &f);
		failed += f;
	}
	if (fake_stat(&fake, "refresh_requests") != refreshes[ROUNDS - 1])
		die("a get on a valid token sent a refresh");
	printf("concurrent_processes %d\n", n);
	printf("concurrent_rounds %d\n", ROUNDS);
	printf("concurrent_refresh_requests");
	for (int i = 0; i < ROUNDS; i++)
		printf("%s%d", i ? "," : " ", refreshes[i]);
	printf("\n");
	printf("concurrent_refresh_requests_max %d\n", most);
	printf("concurrent_reuse_detected %d\n", reuse);
	printf("concurrent_failed_processes %d\n", failed);
	printf("concurrent_single_ms_median %.1f\n", median(single, SINGLE));
	printf("concurrent_all_ms_median %.1f\n", median(many, ROUNDS));
	printf("concurrent_cached_ms_median %.1f\n", median(cached, ROUNDS));
	return 0;
}

/* ------------------------------------------------------------------ dpop */

#define DPOP_URL_PATH "/__resource/reports"

/* a0alice signed in with a DPoP key of her own (lib/auth0.c), stored with the key as the module
 * stores a DPoP login. */
static void store_dpop_login(void)
{
	struct a0_dpop_key *key = NULL;
	struct a0_dpop_session session;
	char domain[64], json[16 * 1024];
	struct a0_http_options opt = { .domain = domain, .ca_file = fake.ca, .timeout = 10 };
	struct a0_client client = { .client_id = "pam-native" };
	struct a0_config cfg = { .realm = (char *)(uintptr_t) "Username-Password-Authentication",
				 .scope = (char *)(uintptr_t)SCOPE };
	struct auth0_credentials_tenant tenant = { .domain = domain,
						   .client_id = "pam-native",
						   .ca_file = fake.ca };
	struct auth0_credentials *c = NULL;
	struct a0_result res = { 0 };
	struct a0_tokens *t = NULL;
	struct a0_record *r = NULL;

	if (a0_dpop_key_new(&key) < 0)
		die("no DPoP key");
	session = (struct a0_dpop_session){ .key = key };
	client.dpop = &session;
	snprintf(domain, sizeof(domain), "localhost:%d", fake.port);
	if (a0_http_new(&opt, &client.http) < 0 ||
	    a0_grant_password_realm(&client, &cfg, "a0alice", "Secret-a0alice-1", &t, &res) < 0 ||
	    strcmp(t->token_type, "DPoP") != 0)
		die("the DPoP sign-in failed");
	snprintf(json, sizeof(json),
		 "{\"access_token\":\"%s\",\"id_token\":\"%s\",\"refresh_token\":\"%s\","
		 "\"token_type\":\"DPoP\",\"expires_in\":%lld}",
		 t->access_token, t->id_token, t->refresh_token, t->expires_in);
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK ||
	    auth0_credentials_save(c, json, strlen(json), &tenant) != AUTH0_CREDENTIALS_OK ||
	    a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r) < 0 ||
	    a0_dpop_key_export(key, &r->dpop_key) < 0 ||
	    a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0) < 0)
		die("could not store the DPoP login");
	explicit_bzero(json, sizeof(json));
	auth0_credentials_free(c);
	a0_record_free(r);
	a0_tokens_free(t);
	a0_dpop_key_free(key);
	a0_http_free(client.http);
}

static int bench_dpop(int n)
{
	const char *helper = getenv("A0_HELPER");
	int calls = 10 * n;
	double *ours = calloc((size_t)calls, sizeof(double)),
	       *raw = calloc((size_t)calls, sizeof(double));
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	char serial[16], url[128], *line;
	char **get, **pipe_;

	if (!helper || !ours || !raw)
		die("A0_HELPER is not set or out of memory");
	store_dpop_login();
	snprintf(url, sizeof(url), "https://localhost:%d" DPOP_URL_PATH, fake.port);
	snprintf(serial, sizeof(serial), "%d", (int)main_key());
	get = argv_of(helper, "get", "--format", "header", "--dpop-method", "GET", "--dpop-url",
		      url, NULL);
	pipe_ = argv_of("/usr/bin/keyctl", "pipe", serial, NULL);
	line = first_line(get);
	if (strncmp(line, "Authorization: DPoP ", 20) != 0)
		die("the helper did not print the DPoP headers");
	free(line);
	for (int i = -n / 10; i < n; i++) {
		double a = run_quiet(get), b = run_quiet(pipe_);

		if (i >= 0) {
			ours[i] = a;
			raw[i] = b;
		}
	}
	printf("dpop_cli_runs %d\n", n);
	printf("dpop_cli_header_ms_median %.3f\n", median(ours, n) / 1000);
	printf("dpop_cli_keyctl_ms_median %.3f\n", median(raw, n) / 1000);
	printf("dpop_cli_header_ms_min %.3f\n", minimum(ours, n) / 1000);
	printf("dpop_cli_keyctl_ms_min %.3f\n", minimum(raw, n) / 1000);
	/* The C API: a fresh proof per call next to the cached get it starts from. */
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK ||
	    auth0_credentials_get(c, NULL, 0, false, NULL, 0, &t) != AUTH0_CREDENTIALS_OK)
		die("no cached DPoP credentials");
	for (int i = -calls / 10; i < calls; i++) {
		struct auth0_credentials_tokens *g = NULL;
		char *headers = NULL;
		double t0, t1, t2;

		t0 = now_us();
		if (auth0_credentials_dpop_headers(c, t, "GET", url, &headers) !=
		    AUTH0_CREDENTIALS_OK)
			die("auth0_credentials_dpop_headers failed");
		auth0_credentials_secret_free(headers);
		t1 = now_us();
		if (auth0_credentials_get(c, NULL, 0, false, NULL, 0, &g) != AUTH0_CREDENTIALS_OK)
			die("auth0_credentials_get failed");
		auth0_credentials_tokens_free(g);
		t2 = now_us();
		if (i >= 0) {
			ours[i] = t1 - t0;
			raw[i] = t2 - t1;
		}
	}
	if (fake_count(&fake, "/oauth/token", "refresh_token") != 0)
		die("a cached get sent a refresh");
	printf("dpop_capi_calls %d\n", calls);
	printf("dpop_capi_headers_us_median %.2f\n", median(ours, calls));
	printf("dpop_capi_get_us_median %.2f\n", median(raw, calls));
	auth0_credentials_tokens_free(t);
	auth0_credentials_free(c);
	free(ours);
	free(raw);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_credentials capi|cli|concurrent|dpop [N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fake_init(&fake);
	private_session("a0-bench");
	if (strcmp(argv[1], "capi") == 0)
		return bench_capi(n > 0 && n <= 10000000 ? (int)n : 20000);
	if (strcmp(argv[1], "cli") == 0)
		return bench_cli(n > 0 && n <= 100000 ? (int)n : 200);
	if (strcmp(argv[1], "concurrent") == 0)
		return bench_concurrent(n > 0 && n <= 1000 ? (int)n : 100);
	if (strcmp(argv[1], "dpop") == 0)
		return bench_dpop(n > 0 && n <= 100000 ? (int)n : 200);
	fprintf(stderr, "usage: bench_credentials capi|cli|concurrent|dpop [N]\n");
	return 2;
}
