/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of auth0-broker(8) against the fake tenant (issue 15), with a real broker in the
 * foreground (its optimized build) on the build tree's socket, which the test build of the
 * library (libauth0-credentials-test) and of the command (bench/auth0-credentials-testsock)
 * talk to:
 *   - a forced refresh through the broker (a0alice's record at the confidential application
 *     broker-secret, client_auth "broker") next to the same refresh made directly by the
 *     library with a public application's record (pam-native): in-process with the C API
 *     (auth0_credentials_get, force), and as whole `auth0-credentials get --force-refresh`
 *     processes; one call of each side in turn, medians; the fake's processing time of each
 *     side's refreshes, and the CPU time of each party; then the C API's again with records
 *     signed in without openid, whose refreshes bring no ID token for the broker to check;
 *   - N processes `vault get google-oauth2 --min-ttl 60` at once, on a cached Token Vault token
 *     that expires in 30 s (while the tenant holds a fresh one), and with none cached: the
 *     exchanges the fake made, processes that failed, processes that did not print the fresh
 *     token; wall time next to one such process alone and to N at once on a valid token;
 *   - the broker parent's VmRSS after start, and again idle after it has served at least
 *     RSS_REQUESTS requests.
 * Each side is a process of its own (this program again, --side NAME) with a session keyring
 * and lock directory of its own.
 * Usage (under tests/with-fake-tenant, root: the broker's secret file must be root's):
 *   bench_broker [ROUNDS [PROCESSES]]
 * A0_BROKER is the broker's ELF file, A0_BENCH_CLI the test command's (LD_LIBRARY_PATH holds
 * the build tree's credentials/.libs). Prints "key value" lines for tools/bench; dies when a
 * figure would be wrong (a request that failed, a refresh that did not go where it should).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <keyutils.h>

#include <auth0/credentials.h>

#include "keyring/record.h"
#include "keyring/store.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/fake.h"
#include "tests/common/util.h"

#define SCOPE "openid profile email offline_access"
/* Without openid no ID token comes back, and the broker has none to check. */
#define SCOPE_NO_ID_TOKEN "offline_access"
#define PUBLIC_CLIENT "pam-native"
#define BROKER_CLIENT "broker-secret"
#define BROKER_SECRET "test-broker-secret:+/%7E-444"
#define ALICE_ID "auth0|6a0000000000000000000001"
#define CONNECTION "google-oauth2"
#define VAULT_MIN_TTL "60"
#define VAULT_EXPIRING 30         /* s: the cached token's lifetime, below VAULT_MIN_TTL */
#define VAULT_FRESH 3600          /* s: the tenant's new token */
#define VAULT_ROUNDS 3            /* of each kind */
#define VAULT_SINGLE 5            /* one process exchanging alone */
#define RSS_REQUESTS 200          /* served before the second RSS reading */
#define IDLE_WAIT_US (600 * 1000) /* > the broker's POLL_TICK: its children are reaped */
#define MAX_TOKEN_TEXT 128

extern char **environ;

static struct fake fake;
static char dir[128];
static pid_t parent;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_broker: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
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

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || access(v, X_OK) != 0)
		die("%s must name an executable file", name);
	return v;
}

/* ------------------------------------------------------------------ the fake */

/* Log records of refresh grants from client_id at index >= from: their count, and the median
 * of the fake's processing time (ms) in *ret_ms. */
static int refreshes_of(const char *client_id, int from, double *ret_ms)
{
	cJSON *log = fake_get(&fake, "/__control/log"), *rec;
	double *ms = calloc((size_t)cJSON_GetArraySize(log) + 1, sizeof(double));
	int i = 0, n = 0;

	if (!ms)
		die("out of memory");
	cJSON_ArrayForEach(rec, log) {
		const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "path"));
		const char *g = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "grant_type"));
		const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "client_id"));
		cJSON *s = cJSON_GetObjectItem(rec, "server_ms");

		if (i++ >= from && p && g && c && strcmp(p, "/oauth/token") == 0 &&
		    strcmp(g, "refresh_token") == 0 && strcmp(c, client_id) == 0 &&
		    cJSON_IsNumber(s))
			ms[n++] = s->valuedouble;
	}
	cJSON_Delete(log);
	if (ret_ms)
		*ret_ms = n ? median(ms, n) : 0;
	free(ms);
	return n;
}

static int log_length(void)
{
	cJSON *log = fake_get(&fake, "/__control/log");
	int n = cJSON_GetArraySize(log);

	cJSON_Delete(log);
	return n;
}

/* Token Vault exchanges the fake made (stats token_vault.exchanges). */
static int vault_exchanges(void)
{
	cJSON *stats = fake_get(&fake, "/__control/stats");
	cJSON *tv = cJSON_GetObjectItem(stats, "token_vault");
	int v = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(tv, "exchanges"));

	cJSON_Delete(stats);
	return v;
}

/* a0alice's account at CONNECTION in the tenant's vault: token, valid for lifetime s. */
static void federated(const char *token, int lifetime)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"username\":\"a0alice\",\"connection\":\"" CONNECTION "\",\"access_token\":"
		 "\"%s\",\"expires_in\":%d,\"refresh_token\":\"bench-federated-refresh\"}",
		 token, lifetime);
	fake_control(&fake, "POST", "/__control/federated", json);
}

/* ------------------------------------------------------------------ the broker */

static pid_t broker = -1;
static char broker_log[192];

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	write_text(path, text);
	if (chmod(path, mode) < 0)
		die("chmod %s: %s", path, strerror(errno));
}

static bool listening(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void start_broker(void)
{
	const char *bin = env("A0_BROKER");
	char secret[192], users[192], conf[192], text[2048];

	if (strlen(A0_TEST_BROKER_SOCKET) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		die("the build tree's socket path is too long: %s", A0_TEST_BROKER_SOCKET);
	write_file("client_secret", BROKER_SECRET "\n", 0600, secret, sizeof(secret));
	/* The session processes run as root here: root's account bound to a0alice. */
	write_file("users", "root " ALICE_ID "\n", 0644, users, sizeof(users));
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = " BROKER_CLIENT "\nclient_secret_file = %s\n"
		 "ca_file = %s\nusers_file = %s\nsync_dir = %s\nstate_dir = %s/run\n"
		 "cache_dir = %s/cache\nbroker_socket = %s\nbroker_connections = " CONNECTION "\n"
		 "broker_rate = 100000\ntimeout = 10\n",
		 fake.port, secret, fake.ca, users, dir, dir, dir, A0_TEST_BROKER_SOCKET);
	write_file("pam_auth0.conf", text, 0644, conf, sizeof(conf));
	snprintf(broker_log, sizeof(broker_log), "%s/broker.log", dir);
	(void)unlink(A0_TEST_BROKER_SOCKET); /* a stale one of a run that died */
	broker = fork();
	if (broker < 0)
		die("fork failed");
	if (broker == 0) {
		int fd = open(broker_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execl(bin, "auth0-broker", "--foreground", "--config", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; !listening(A0_TEST_BROKER_SOCKET); i++) {
		if (i >= 500 || waitpid(broker, NULL, WNOHANG) == broker)
			die("auth0-broker did not listen at %s (its log: %s)",
			    A0_TEST_BROKER_SOCKET, broker_log);
		usleep(10 * 1000);
	}
}

static void stop_broker(void)
{
	if (broker > 0) {
		kill(broker, SIGTERM);
		(void)waitpid(broker, NULL, 0);
	}
	broker = -1;
	(void)unlink(A0_TEST_BROKER_SOCKET);
}

/* At the parent's exit, however it ends: the broker stopped, the files removed. The sides
 * (forked children, which inherit this handler) end when their pipes close. */
static void cleanup(void)
{
	if (getpid() != parent)
		return;
	stop_broker();
	if (dir[0])
		(void)remove_tree(dir);
}

/* A figure of /proc/PID/status in KiB (VmRSS, RssAnon...) of the broker's parent. */
static long vm_kib(const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)broker);
	if (!(fp = fopen(path, "r")))
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			kib = strtol(line + len + 1, NULL, 10);
	fclose(fp);
	if (kib < 0)
		die("no %s in %s", field, path);
	return kib;
}

/* CPU time (ms) of pid and of its children it has waited for (/proc/PID/stat: utime, stime,
 * cutime, cstime). */
static double cpu_ms(pid_t pid)
{
	char path[64], text[1024], *p, *end;
	unsigned long long ticks = 0;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(fp = fopen(path, "r")))
		die("%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	/* After the command's name in parentheses: field 3 (state) on; 14 to 17 are summed. */
	if (!(p = strrchr(text, ')')))
		die("%s: no command name", path);
	p++;
	for (int field = 3; field <= 17; field++) {
		unsigned long long v;

		while (*p == ' ')
			p++;
		v = strtoull(p, &end, 10);
		if (field >= 14)
			ticks += v;
		p = strchr(p, ' ');
		if (!p)
			die("%s: too few fields", path);
	}
	return (double)ticks * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* Lines of the broker's log holding text: one line per request it served or refused. */
static int log_lines(const char *text)
{
	FILE *fp = fopen(broker_log, "r");
	char line[2048];
	int n = 0;

	if (!fp)
		die("%s: %s", broker_log, strerror(errno));
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, text))
			n++;
	fclose(fp);
	return n;
}

/* ------------------------------------------------------------------ the sides */

/* What the parent asks of a side, and its answer. */
struct cmd {
	char op;
	int n;
	char text[MAX_TOKEN_TEXT];
};
struct reply {
	double value;
	int failed, wrong;
};

enum {
	OP_CAPI = 'c',        /* one forced refresh, the C API: µs */
	OP_CLI = 'x',         /* one `get --force-refresh --format token` process: µs */
	OP_VAULT_PRIME = 'p', /* vault clear, then one vault get (C API) that caches a token */
	OP_VAULT_CLEAR = 'k', /* vault clear */
	OP_VAULT_MANY = 'v',  /* n `vault get --min-ttl` processes at once: ms, failed, wrong */
	OP_QUIT = 'q',
};

struct side {
	const char *name; /* "broker..." for the broker's record */
	const char *scope;
	bool via_broker;
	pid_t pid;
	int to, from;
};

/*
 * What a side is given at its start, on its command pipe: the tenant, then a0alice's token
 * response (json_len bytes), signed in by the parent. The side itself never initialises libcurl
 * or OpenSSL, as a session process that only uses libauth0-credentials would not.
 */
struct start {
	char domain[64];
	char ca[512];
	size_t json_len;
};

/* The side's session: the login stored as pam_auth0 would. */
static void side_store(const struct side *s)
{
	const char *client = s->via_broker ? BROKER_CLIENT : PUBLIC_CLIENT;
	struct start st;
	struct auth0_credentials_tenant tenant = { .domain = st.domain,
						   .client_id = client,
						   .ca_file = st.ca };
	struct auth0_credentials *c = NULL;
	struct a0_record *r = NULL;
	char *json;

	if (a0_read_full(s->to, &st, sizeof(st)) != (ssize_t)sizeof(st) || st.json_len == 0 ||
	    st.json_len > 64 * 1024 || !(json = calloc(1, st.json_len + 1)) ||
	    a0_read_full(s->to, json, st.json_len) != (ssize_t)st.json_len)
		die("%s: no login from the parent", s->name);
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK ||
	    auth0_credentials_save(c, json, st.json_len, &tenant) != AUTH0_CREDENTIALS_OK)
		die("%s: could not store the login", s->name);
	auth0_credentials_free(c);
	a0_wipe_free(json, st.json_len + 1);
	if (!s->via_broker)
		return;
	/* A confidential application's record, as the module stores it (client_secret_file). */
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r) < 0 ||
	    !(r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER)) ||
	    a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0) < 0)
		die("%s: could not mark the record client_auth broker", s->name);
	a0_record_free(r);
}

/* Run argv with stdout on /dev/null: wall µs; *ret_status its wait status. */
static double run_one(char *const *argv, int *ret_status)
{
	double t0 = now_us();
	pid_t pid = fork();

	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			die("waitpid failed");
	return now_us() - t0;
}

/* Does the file at path hold token (and a newline) alone? */
static bool printed(const char *path, const char *token)
{
	char text[MAX_TOKEN_TEXT + 8] = "";
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return false;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	return strcmp(text, token) == 0;
}

/*
 * n processes of argv released at once, each printing to its own file: the wall ms from their
 * release to the last one's end; failed, those that did not exit 0; wrong, those that did but
 * printed something else than token.
 */
static double run_at_once(char *const *argv, int n, const char *token, int *failed, int *wrong)
{
	pid_t *pids = calloc((size_t)n, sizeof(pid_t));
	char out[256];
	int barrier[2];
	double t0, elapsed;

	if (!pids || pipe(barrier) < 0)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork failed");
		if (pids[i] == 0) {
			int fd;
			char c;

			close(barrier[1]);
			snprintf(out, sizeof(out), "%s/vault-out-%d", getenv("XDG_RUNTIME_DIR"), i);
			fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			/* Released when the parent closes its end: end of file. */
			(void)a0_read_full(barrier[0], &c, 1);
			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				_exit(126);
			execve(argv[0], argv, environ);
			_exit(127);
		}
	}
	close(barrier[0]);
	t0 = now_us();
	close(barrier[1]);
	*failed = *wrong = 0;
	for (int i = 0; i < n; i++) {
		int status;

		while (waitpid(pids[i], &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid failed");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			(*failed)++;
	}
	elapsed = (now_us() - t0) / 1000;
	for (int i = 0; i < n; i++) {
		snprintf(out, sizeof(out), "%s/vault-out-%d", getenv("XDG_RUNTIME_DIR"), i);
		if (!printed(out, token))
			(*wrong)++;
		(void)unlink(out);
	}
	free(pids);
	return elapsed;
}

static void side_vault_prime(struct auth0_credentials *c, const struct side *s)
{
	struct auth0_credentials_tokens *t = NULL;

	if (auth0_credentials_vault_clear(c, NULL, NULL) != AUTH0_CREDENTIALS_OK ||
	    auth0_credentials_vault_get(c, CONNECTION, NULL, NULL, 0, &t) != AUTH0_CREDENTIALS_OK)
		die("%s: vault get: %s", s->name, auth0_credentials_message(c));
	auth0_credentials_tokens_free(t);
}

/* The side's loop: one command at a time until OP_QUIT or the parent's end. */
static void side_main(struct side *s) __attribute__((noreturn));

static void side_main(struct side *s)
{
	const char *cli = env("A0_BENCH_CLI");
	char **get = argv_of(cli, "get", "--force-refresh", "--format", "token", NULL);
	char **vault = argv_of(cli, "vault", "get", CONNECTION, "--min-ttl", VAULT_MIN_TTL,
			       "--format", "token", NULL);
	struct auth0_credentials *c = NULL;
	struct cmd cmd;

	/* Not for the processes and workers the side starts. */
	if (fcntl(s->to, F_SETFD, FD_CLOEXEC) < 0 || fcntl(s->from, F_SETFD, FD_CLOEXEC) < 0)
		die("fcntl failed");
	private_session(s->via_broker ? "a0-bench-broker" : "a0-bench-public");
	side_store(s);
	if (auth0_credentials_new(&c) != AUTH0_CREDENTIALS_OK)
		die("out of memory");
	while (a0_read_full(s->to, &cmd, sizeof(cmd)) == (ssize_t)sizeof(cmd) &&
	       cmd.op != OP_QUIT) {
		struct auth0_credentials_tokens *t = NULL;
		struct reply rep = { 0 };
		double t0;
		int status;

		switch (cmd.op) {
		case OP_CAPI:
			t0 = now_us();
			if (auth0_credentials_get(c, NULL, 0, true, NULL, 0, &t) !=
			    AUTH0_CREDENTIALS_OK)
				die("%s: forced refresh: %s", s->name,
				    auth0_credentials_message(c));
			auth0_credentials_tokens_free(t);
			rep.value = now_us() - t0;
			break;
		case OP_CLI:
			rep.value = run_one(get, &status);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("%s: auth0-credentials get --force-refresh: status %d", s->name,
				    status);
			break;
		case OP_VAULT_PRIME:
			side_vault_prime(c, s);
			break;
		case OP_VAULT_CLEAR:
			if (auth0_credentials_vault_clear(c, NULL, NULL) != AUTH0_CREDENTIALS_OK)
				die("%s: vault clear: %s", s->name, auth0_credentials_message(c));
			break;
		case OP_VAULT_MANY:
			rep.value = run_at_once(vault, cmd.n, cmd.text, &rep.failed, &rep.wrong);
			break;
		default:
			die("%s: unknown command %c", s->name, cmd.op);
		}
		if (a0_write_full(s->from, &rep, sizeof(rep)) < 0)
			die("%s: cannot answer", s->name);
	}
	auth0_credentials_free(c);
	exit(0); /* atexit: the side's lock directory */
}

/* Command and answer pipes of a side, after its exec. */
#define SIDE_IN 3
#define SIDE_OUT 4

/* A side: this program again (--side NAME), fresh, on two pipes; then its login. */
static void side_start(struct side *s)
{
	const char *client = s->via_broker ? BROKER_CLIENT : PUBLIC_CLIENT;
	char *json = fake_login(&fake, client, s->via_broker ? BROKER_SECRET : NULL, "a0alice",
				s->scope);
	struct start st = { 0 };
	int to[2], from[2];

	if (!json)
		die("%s: sign-in refused", s->name);
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
		die("pipe failed");
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0)
		die("fork failed");
	if (s->pid == 0) {
		int in = dup(to[0]), out = dup(from[1]);

		if (in < 0 || out < 0 || dup2(in, SIDE_IN) < 0 || dup2(out, SIDE_OUT) < 0)
			_exit(126);
		execl("/proc/self/exe", "bench_broker", "--side", s->name, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	s->to = to[1];
	s->from = from[0];
	snprintf(st.domain, sizeof(st.domain), "localhost:%d", fake.port);
	snprintf(st.ca, sizeof(st.ca), "%s", fake.ca);
	st.json_len = strlen(json);
	if (a0_write_full(s->to, &st, sizeof(st)) < 0 ||
	    a0_write_full(s->to, json, st.json_len) < 0)
		die("%s: cannot hand the login over", s->name);
	a0_secret_free(json);
}

static struct reply ask(const struct side *s, char op, int n, const char *text)
{
	struct cmd cmd = { .op = op, .n = n };
	struct reply rep;

	if (text)
		snprintf(cmd.text, sizeof(cmd.text), "%s", text);
	if (a0_write_full(s->to, &cmd, sizeof(cmd)) < 0 ||
	    a0_read_full(s->from, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		die("the %s side died (its message above)", s->name);
	return rep;
}

static void side_stop(struct side *s)
{
	struct cmd cmd = { .op = OP_QUIT };

	(void)a0_write_full(s->to, &cmd, sizeof(cmd));
	close(s->to);
	close(s->from);
	(void)waitpid(s->pid, NULL, 0);
}

/* ------------------------------------------------------------------ the figures */

/* rounds calls of op by each side in turn (the first of each pair alternating), after a
 * tenth more that warm up: the medians (ms) in *ret_public and *ret_broker. */
static void compare(struct side *pub, struct side *brk, char op, int rounds, double *ret_public,
		    double *ret_broker)
{
	double *a = calloc((size_t)rounds, sizeof(double)),
	       *b = calloc((size_t)rounds, sizeof(double));

	if (!a || !b)
		die("out of memory");
	for (int i = -(rounds / 10 + 1); i < rounds; i++) {
		double x, y;

		if (i % 2) {
			x = ask(pub, op, 0, NULL).value;
			y = ask(brk, op, 0, NULL).value;
		} else {
			y = ask(brk, op, 0, NULL).value;
			x = ask(pub, op, 0, NULL).value;
		}
		if (i >= 0) {
			a[i] = x;
			b[i] = y;
		}
	}
	*ret_public = median(a, rounds) / 1000;
	*ret_broker = median(b, rounds) / 1000;
	free(a);
	free(b);
}

static void print_list(const char *key, const int *v, int n)
{
	printf("%s", key);
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : " ", v[i]);
	printf("\n");
}

/* n processes `vault get --min-ttl` at once, VAULT_ROUNDS times with a cached token about to
 * expire, and as many with none cached. */
static void bench_vault(struct side *brk, int n)
{
	int expiring[VAULT_ROUNDS], absent[VAULT_ROUNDS], failed = 0, wrong = 0, most = 0;
	double many[2 * VAULT_ROUNDS], single[VAULT_SINGLE], valid[VAULT_ROUNDS];
	char token[MAX_TOKEN_TEXT];

	for (int i = 0; i < 2 * VAULT_ROUNDS; i++) {
		bool about_to_expire = i < VAULT_ROUNDS;
		struct reply rep;
		int before, made;

		if (about_to_expire) {
			/* The cached token expires in VAULT_EXPIRING s; the tenant then holds a
			 * fresh one (as after its own renewal at the provider). */
			snprintf(token, sizeof(token), "bench-federated-expiring-%d", i);
			federated(token, VAULT_EXPIRING);
			ask(brk, OP_VAULT_PRIME, 0, NULL);
		} else {
			ask(brk, OP_VAULT_CLEAR, 0, NULL);
		}
		snprintf(token, sizeof(token), "bench-federated-fresh-%d", i);
		federated(token, VAULT_FRESH);
		before = vault_exchanges();
		rep = ask(brk, OP_VAULT_MANY, n, token);
		many[i] = rep.value;
		failed += rep.failed;
		wrong += rep.wrong;
		made = vault_exchanges() - before;
		if (about_to_expire)
			expiring[i] = made;
		else
			absent[i - VAULT_ROUNDS] = made;
		most = made > most ? made : most;
	}
	/* The floor: as many processes at once that find the last round's token valid. */
	for (int i = 0; i < VAULT_ROUNDS; i++) {
		int before = vault_exchanges();
		struct reply rep = ask(brk, OP_VAULT_MANY, n, token);

		if (vault_exchanges() != before)
			die("a vault get of a valid cached token made an exchange");
		valid[i] = rep.value;
		failed += rep.failed;
		wrong += rep.wrong;
	}
	/* The unit of wall time: one process that exchanges alone. */
	for (int i = 0; i < VAULT_SINGLE; i++) {
		struct reply rep;

		snprintf(token, sizeof(token), "bench-federated-single-%d", i);
		ask(brk, OP_VAULT_CLEAR, 0, NULL);
		federated(token, VAULT_FRESH);
		rep = ask(brk, OP_VAULT_MANY, 1, token);
		if (rep.failed || rep.wrong)
			die("one vault get alone failed");
		single[i] = rep.value;
	}
	printf("vault_processes %d\n", n);
	printf("vault_rounds %d\n", VAULT_ROUNDS);
	print_list("vault_exchanges_expiring", expiring, VAULT_ROUNDS);
	print_list("vault_exchanges_absent", absent, VAULT_ROUNDS);
	printf("vault_exchanges_max %d\n", most);
	printf("vault_failed_processes %d\n", failed);
	printf("vault_wrong_token_processes %d\n", wrong);
	printf("vault_all_ms_median %.1f\n", median(many, 2 * VAULT_ROUNDS));
	printf("vault_single_ms_median %.1f\n", median(single, VAULT_SINGLE));
	printf("vault_cached_ms_median %.1f\n", median(valid, VAULT_ROUNDS));
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 50;
	long procs = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
	struct side pub = { .name = "public", .scope = SCOPE },
		    brk = { .name = "broker", .scope = SCOPE, .via_broker = true },
		    pub2 = { .name = "public-no-id-token", .scope = SCOPE_NO_ID_TOKEN },
		    brk2 = { .name = "broker-no-id-token",
			     .scope = SCOPE_NO_ID_TOKEN,
			     .via_broker = true };
	double capi_pub, capi_brk, cli_pub, cli_brk, fake_pub, fake_brk, cpu[3], bare_pub, bare_brk;
	long rss_start, rss_idle, anon_start;
	int from, n_pub, n_brk, served, calls = (int)rounds + (int)rounds / 10 + 1;

	if (argc == 3 && strcmp(argv[1], "--side") == 0) {
		struct side s = { .name = argv[2],
				  .via_broker = strncmp(argv[2], "broker", 6) == 0,
				  .to = SIDE_IN,
				  .from = SIDE_OUT };

		side_main(&s); /* does not return */
	}
	if (rounds < 1 || rounds > 100000 || procs < 1 || procs > 1000) {
		fprintf(stderr, "usage: bench_broker [ROUNDS [PROCESSES]]\n");
		return 2;
	}
	if (geteuid() != 0)
		die("needs root (the broker's secret file must be root's; the callers run as root)");
	signal(SIGPIPE, SIG_IGN);
	fake_init(&fake);
	parent = getpid();
	temp_dir(dir, sizeof(dir), "a0-bench-broker");
	atexit(cleanup);
	/* Both applications alike: no rotation (Token Vault needs it off for broker-secret). */
	fake_control(&fake, "POST", "/__control/client",
		     "{\"client_id\":\"" PUBLIC_CLIENT "\",\"rotation\":false}");
	fake_control(&fake, "POST", "/__control/client",
		     "{\"client_id\":\"" BROKER_CLIENT "\",\"rotation\":false}");
	start_broker();
	usleep(IDLE_WAIT_US);
	rss_start = vm_kib("VmRSS");
	anon_start = vm_kib("RssAnon");

	side_start(&pub);
	side_start(&brk);
	from = log_length();
	/* The CPU time of each party to the C API's refreshes: each side's process with the
	 * workers it forked, and the broker with its children (reaped within a poll tick). */
	cpu[0] = cpu_ms(pub.pid);
	cpu[1] = cpu_ms(brk.pid);
	cpu[2] = cpu_ms(broker);
	compare(&pub, &brk, OP_CAPI, (int)rounds, &capi_pub, &capi_brk);
	usleep(IDLE_WAIT_US);
	cpu[0] = (cpu_ms(pub.pid) - cpu[0]) / calls;
	cpu[1] = (cpu_ms(brk.pid) - cpu[1]) / calls;
	cpu[2] = (cpu_ms(broker) - cpu[2]) / calls;
	compare(&pub, &brk, OP_CLI, (int)rounds, &cli_pub, &cli_brk);
	n_pub = refreshes_of(PUBLIC_CLIENT, from, &fake_pub);
	n_brk = refreshes_of(BROKER_CLIENT, from, &fake_brk);
	/* Each call made one refresh at the tenant, the broker side's through the broker. */
	if (n_pub != n_brk || n_pub != 2 * calls || log_lines("op=refresh result=OK") != n_brk)
		die("refreshes: %d public, %d via the broker at the tenant, %d OK in the broker's "
		    "log; expected %d each",
		    n_pub, n_brk, log_lines("op=refresh result=OK"), 2 * calls);
	printf("broker_refresh_rounds %ld\n", rounds);
	printf("broker_capi_public_ms_median %.2f\n", capi_pub);
	printf("broker_capi_broker_ms_median %.2f\n", capi_brk);
	printf("broker_cli_public_ms_median %.2f\n", cli_pub);
	printf("broker_cli_broker_ms_median %.2f\n", cli_brk);
	printf("broker_fake_public_ms_median %.2f\n", fake_pub);
	printf("broker_fake_broker_ms_median %.2f\n", fake_brk);
	printf("broker_capi_cpu_public_ms %.2f\n", cpu[0]);
	printf("broker_capi_cpu_broker_side_ms %.2f\n", cpu[1]);
	printf("broker_capi_cpu_broker_ms %.2f\n", cpu[2]);

	/* The same C API refreshes of records signed in without openid: the broker has no ID
	 * token to check (its log says sub=-). */
	side_start(&pub2);
	side_start(&brk2);
	compare(&pub2, &brk2, OP_CAPI, (int)rounds, &bare_pub, &bare_brk);
	side_stop(&pub2);
	side_stop(&brk2);
	if (log_lines("op=refresh result=OK sub=-") != calls)
		die("refreshes without an ID token: %d in the broker's log, expected %d",
		    log_lines("op=refresh result=OK sub=-"), calls);
	printf("broker_capi_no_id_token_public_ms_median %.2f\n", bare_pub);
	printf("broker_capi_no_id_token_broker_ms_median %.2f\n", bare_brk);

	bench_vault(&brk, (int)procs);

	/* More requests up to RSS_REQUESTS, then the broker idle again. */
	while ((served = log_lines(" op=")) < RSS_REQUESTS)
		(void)ask(&brk, OP_CAPI, 0, NULL);
	usleep(IDLE_WAIT_US);
	rss_idle = vm_kib("VmRSS");
	if (log_lines("result=") != log_lines("result=OK"))
		die("the broker refused or failed a request (its log: %s)", broker_log);
	printf("broker_rss_start_kib %ld\n", rss_start);
	printf("broker_rss_idle_kib %ld\n", rss_idle);
	printf("broker_rss_anon_start_kib %ld\n", anon_start);
	printf("broker_rss_anon_idle_kib %ld\n", vm_kib("RssAnon"));
	printf("broker_rss_file_idle_kib %ld\n", vm_kib("RssFile"));
	printf("broker_rss_requests %d\n", served);
	printf("broker_hwm_kib %ld\n", vm_kib("VmHWM"));

	side_stop(&pub);
	side_stop(&brk);
	return 0; /* cleanup: the broker and the files */
}
