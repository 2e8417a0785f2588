/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of a login through a real PAM stack (pam_wrapper) against the fake tenant:
 *   login  — one password + OTP login: TLS handshakes and HTTP requests the fake saw, the
 *            client's CPU time, and wall time next to the fake's own processing time;
 *   rss    — RSS growth over many pam_authenticate cycles in one process;
 *   offline — when Auth0 cannot be reached (root: the verifiers are root's): the offline check
 *            at the default Argon2id cost, next to a known-offline refusal (no Argon2); an
 *            online login's CPU with offline login in use and a fresh verifier, next to the
 *            same login with offline login off; a known-offline refusal's wall time next to a
 *            password refused online;
 *   dpop   — a DPoP login's client CPU (dpop = yes: a key, a proof per request) next to a bearer
 *            login's, interleaved;
 *   device — device-flow logins approved by another process: the time from the approval to the
 *            login's end against the poll interval, the client's CPU per poll and its share of
 *            the wait (no busy wait).
 * Usage (under tests/with-fake-tenant): bench_login login [N] | rss [CYCLES] | offline [N] |
 * dpop [N] | device [N]
 * Prints "key value" lines for tools/bench. Numbers only; nothing here passes or fails.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_bench"

static struct fake fake;
static char run_dir[64];

static int authenticate(const char *user, const char *password, const char *code)
{
	const char *off[] = { password, NULL };
	const char *on[] = { code, NULL };
	char *info[8] = { 0 }, *err[8] = { 0 };
	struct pamtest_conv_data conv = {
		.in_echo_off = off, .in_echo_on = on, .out_info = info, .out_err = err
	};
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };

	for (int i = 0; i < 7; i++) {
		info[i] = calloc(1, PAM_MAX_MSG_SIZE);
		err[i] = calloc(1, PAM_MAX_MSG_SIZE);
	}
	run_pamtest(SERVICE, user, &conv, tests, NULL);
	for (int i = 0; i < 7; i++) {
		free(info[i]);
		free(err[i]);
	}
	return tests[0].op_rv;
}

static double cpu_of(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* This process and its reaped children: the module signs in from a child (pam/netchild.c). */
static double cpu_seconds(void)
{
	return cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN);
}

static int bench_login(int n)
{
	double *wall = calloc((size_t)n, sizeof(double)), *cpu = calloc((size_t)n, sizeof(double));
	double *server = calloc((size_t)n, sizeof(double));
	int handshakes = 0, requests = 0;

	for (int i = 0; i < n; i++) {
		char code[7];
		double w0, c0;
		int h0, r0;

		fake_control(&fake, "POST", "/__control/reset", "{}");
		totp("JBSWY3DPEHPK3PXP", (long long)time(NULL), code);
		h0 = fake_stat(&fake, "connections");
		r0 = fake_stat(&fake, "requests");
		w0 = now_seconds();
		c0 = cpu_seconds();
		if (authenticate("a0otp", "Secret-a0otp-1", code) != PAM_SUCCESS) {
			fprintf(stderr, "bench: login %d failed\n", i);
			return 1;
		}
		cpu[i] = (cpu_seconds() - c0) * 1000;
		wall[i] = (now_seconds() - w0) * 1000;
		handshakes = fake_stat(&fake, "connections") - h0;
		requests = fake_stat(&fake, "requests") - r0;
		server[i] = fake_server_ms(&fake);
	}
	sort_doubles(wall, n);
	sort_doubles(cpu, n);
	sort_doubles(server, n);
	printf("login_runs %d\n", n);
	printf("login_tls_handshakes %d\n", handshakes);
	printf("login_http_requests %d\n", requests);
	printf("login_client_cpu_ms_median %.2f\n", cpu[n / 2]);
	printf("login_wall_ms_median %.2f\n", wall[n / 2]);
	printf("login_fake_processing_ms_median %.2f\n", server[n / 2]);
	free(wall);
	free(cpu);
	free(server);
	return 0;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int bench_rss(int cycles)
{
	long before;

	for (int i = 0; i < 200; i++) /* warm up: libraries, caches, allocator arenas */
		authenticate("a0alice", "Secret-a0alice-1", NULL);
	before = rss_kib();
	for (int i = 0; i < cycles; i++) {
		int r = authenticate("a0alice", i % 2 ? "Secret-a0alice-1" : "wrong", NULL);

		if (r != PAM_SUCCESS && r != PAM_AUTH_ERR) {
			fprintf(stderr, "bench: cycle %d failed\n", i);
			return 1;
		}
		if (i % 1000 == 999)
			fake_control(&fake, "POST", "/__control/reset", "{}"); /* bound its log */
	}
	printf("rss_cycles %d\n", cycles);
	printf("rss_before_kib %ld\n", before);
	printf("rss_after_kib %ld\n", rss_kib());
	printf("rss_growth_kib %ld\n", rss_kib() - before);
	return 0;
}

static double median_of(double *v, int n)
{
	sort_doubles(v, n);
	return v[n / 2];
}

/* The module's configuration with offline login for the bench service (or off), plus extra. */
static void offline_conf(bool on, const char *extra)
{
	char lines[1024];

	snprintf(lines, sizeof(lines),
		 "offline = %s\noffline_dir = %s/offline\nhost_key_file = %s/keys/host.key\n"
		 "offline_backoff_min = 3600\noffline_backoff_max = 3600\nfail_delay_max = 0\n%s",
		 on ? SERVICE ":password, deny" : "deny", run_dir, run_dir, extra ? extra : "");
	write_module_conf(run_dir, &fake, 10, lines, NULL);
}

/* n logins of a0alice with password, each's wall and CPU time (ms); the result of the last. */
static int timed(int n, const char *password, double *wall, double *cpu)
{
	int r = -1;

	for (int i = 0; i < n; i++) {
		double w0 = now_seconds(), c0 = cpu_seconds();

		r = authenticate("a0alice", password, NULL);
		wall[i] = (now_seconds() - w0) * 1000;
		cpu[i] = (cpu_seconds() - c0) * 1000;
	}
	return r;
}

static int bench_offline(int n)
{
	double *wall = calloc((size_t)n, sizeof(double)), *cpu = calloc((size_t)n, sizeof(double));
	double off_cpu, on_cpu, refused_wall, known_wall, check_wall, check_cpu;
	char offline[192];

	if (geteuid() != 0) {
		fprintf(stderr, "bench: offline needs root\n");
		return 1;
	}
	/* Online CPU, offline login off, then on with a fresh verifier (written by a first
	 * login, not counted): interleaved, so that drift hits both alike. */
	double *a = calloc((size_t)n, sizeof(double)), *b = calloc((size_t)n, sizeof(double));
	offline_conf(true, NULL);
	if (authenticate("a0alice", "Secret-a0alice-1", NULL) != PAM_SUCCESS)
		return 1;
	for (int i = 0; i < n; i++) {
		offline_conf(false, NULL);
		if (timed(1, "Secret-a0alice-1", wall, &a[i]) != PAM_SUCCESS)
			return 1;
		offline_conf(true, NULL);
		if (timed(1, "Secret-a0alice-1", wall, &b[i]) != PAM_SUCCESS)
			return 1;
		if (i % 50 == 49)
			fake_control(&fake, "POST", "/__control/reset", "{}");
	}
	off_cpu = median_of(a, n);
	on_cpu = median_of(b, n);
	/* A password refused online (the fake's brute-force count reset before each, outside
	 * the timing: Auth0 blocks after 10). */
	for (int i = 0; i < n; i++) {
		fake_control(&fake, "POST", "/__control/reset", "{}");
		if (timed(1, "wrong-password", &wall[i], &cpu[i]) != PAM_AUTH_ERR)
			return 1;
	}
	refused_wall = median_of(wall, n);
	/* The tenant down: the first login marks the host offline (not counted). */
	fake_control(&fake, "POST", "/__control/fault",
		     "{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	offline_conf(false, NULL);
	(void)authenticate("a0alice", "Secret-a0alice-1", NULL);
	if (timed(n, "Secret-a0alice-1", wall, cpu) != PAM_AUTHINFO_UNAVAIL)
		return 1;
	known_wall = median_of(wall, n);
	/* The offline check at the default cost (64 MiB, 3 passes): granted offline. */
	offline_conf(true, NULL);
	if (timed(n, "Secret-a0alice-1", wall, cpu) != PAM_SUCCESS)
		return 1;
	check_wall = median_of(wall, n);
	check_cpu = median_of(cpu, n);
	fake_control(&fake, "DELETE", "/__control/fault", NULL);
	snprintf(offline, sizeof(offline), "rm -rf '%s/offline' '%s/run'", run_dir, run_dir);
	if (system(offline) != 0)
		return 1;
	printf("offline_runs %d\n", n);
	printf("offline_online_cpu_ms_off %.2f\n", off_cpu);
	printf("offline_online_cpu_ms_on %.2f\n", on_cpu);
	printf("offline_refused_online_wall_ms %.2f\n", refused_wall);
	printf("offline_known_deny_wall_ms %.2f\n", known_wall);
	printf("offline_check_wall_ms %.2f\n", check_wall);
	printf("offline_check_cpu_ms %.2f\n", check_cpu);
	free(a);
	free(b);
	free(wall);
	free(cpu);
	return 0;
}

/*
 * A DPoP login's client CPU next to a bearer login's (issue 16): a0alice's password login with
 * dpop = yes and without, interleaved; medians, and the requests each made (a public client's
 * DPoP login gets a nonce challenge first).
 */
static int bench_dpop(int n)
{
	double *wall = calloc((size_t)n, sizeof(double)), *a = calloc((size_t)n, sizeof(double)),
	       *b = calloc((size_t)n, sizeof(double));
	int bearer_requests = 0, dpop_requests = 0, accepted = 0;

	if (!wall || !a || !b)
		return 1;
	for (int i = -n / 10 - 1; i < n; i++) {
		int r0;

		fake_control(&fake, "POST", "/__control/reset", "{}");
		write_module_conf(run_dir, &fake, 10, "dpop = no\n", NULL);
		r0 = fake_stat(&fake, "requests");
		if (timed(1, "Secret-a0alice-1", wall, i >= 0 ? &a[i] : wall) != PAM_SUCCESS)
			return 1;
		bearer_requests = fake_stat(&fake, "requests") - r0;
		write_module_conf(run_dir, &fake, 10, "dpop = yes\n", NULL);
		r0 = fake_stat(&fake, "requests");
		if (timed(1, "Secret-a0alice-1", wall, i >= 0 ? &b[i] : wall) != PAM_SUCCESS)
			return 1;
		dpop_requests = fake_stat(&fake, "requests") - r0;
	}
	{
		cJSON *stats = fake_get(&fake, "/__control/stats");

		accepted = (int)cJSON_GetNumberValue(
			cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "dpop"),
								"proofs"),
					    "accepted"));
		cJSON_Delete(stats);
	}
	if (accepted < 1) {
		fprintf(stderr, "bench: the DPoP login sent no proof the tenant took\n");
		return 1;
	}
	printf("dpop_login_runs %d\n", n);
	printf("dpop_login_bearer_cpu_ms %.2f\n", median_of(a, n));
	printf("dpop_login_dpop_cpu_ms %.2f\n", median_of(b, n));
	printf("dpop_login_bearer_requests %d\n", bearer_requests);
	printf("dpop_login_dpop_requests %d\n", dpop_requests);
	free(wall);
	free(a);
	free(b);
	return 0;
}

/*
 * The device flow (issue 17): a0alice's device login with the tenant's interval at 1 s, approved
 * by another process (the person at the browser) at a time that falls anywhere in a poll
 * interval: how long after the approval the login ended, and the client's CPU time next to its
 * wall time and polls (no busy wait: CPU is a small share of the wait).
 */
static int pending_devices(void)
{
	cJSON *list = fake_get(&fake, "/__control/device"), *tx;
	int n = 0;

	cJSON_ArrayForEach(tx, list) {
		const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(tx, "state"));

		n += state && strcmp(state, "pending") == 0;
	}
	cJSON_Delete(list);
	return n;
}

/* In a child: wait for the module's device code, then approve it delay_ms later; the approval's
 * time (now_seconds) on fd. */
static pid_t approve_later(int delay_ms, int fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	for (int i = 0; i < 500 && pending_devices() != 1; i++)
		usleep(20 * 1000);
	usleep((useconds_t)delay_ms * 1000);
	{
		double t = now_seconds();

		fake_control(&fake, "POST", "/__control/device-approve",
			     "{\"username\": \"a0alice\"}");
		_exit(write(fd, &t, sizeof(t)) == (ssize_t)sizeof(t) ? 0 : 1);
	}
}

static int device_polls(void)
{
	cJSON *stats = fake_get(&fake, "/__control/stats");
	int n = (int)cJSON_GetNumberValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "device"), "polls"));

	cJSON_Delete(stats);
	return n;
}

/* One device login approved delay_ms after its code: 0 and its CPU (ms), wall (ms), latency
 * from the approval (ms) and polls. */
static int device_login(int delay_ms, double *cpu, double *wall, double *latency, int *polls)
{
	double approved = 0, w0, c0, done;
	int p[2], status;
	pid_t pid;

	fake_control(&fake, "POST", "/__control/reset", "{}");
	fake_control(&fake, "POST", "/__control/device", "{\"interval\": 1}");
	if (pipe(p) < 0)
		return -1;
	pid = approve_later(delay_ms, p[1]);
	close(p[1]);
	w0 = now_seconds();
	c0 = cpu_seconds();
	if (authenticate("a0alice", NULL, NULL) != PAM_SUCCESS) {
		fprintf(stderr, "bench: a device login failed\n");
		return -1;
	}
	done = now_seconds();
	*cpu = (cpu_seconds() - c0) * 1000;
	*wall = (done - w0) * 1000;
	if (read(p[0], &approved, sizeof(approved)) != (ssize_t)sizeof(approved))
		return -1;
	close(p[0]);
	/* The approver's CPU counts once it is reaped: after the login's was taken. */
	(void)waitpid(pid, &status, 0);
	*latency = (done - approved) * 1000;
	*polls = device_polls();
	return 0;
}

/*
 * n logins approved at 1.5 s and n at 10.5 s (a phase that walks through the poll interval): the
 * latency of each, and the CPU a poll costs (the difference of the two sets' medians over the
 * difference of their polls), next to the share of the wait the client spent on the CPU.
 */
static int bench_device(int n)
{
	double *latency = calloc(2 * (size_t)n, sizeof(double)),
	       *cpu_short = calloc((size_t)n, sizeof(double)),
	       *cpu_long = calloc((size_t)n, sizeof(double)),
	       *wall_long = calloc((size_t)n, sizeof(double));
	double polls_short = 0, polls_long = 0, wall, extra_polls;
	int polls;

	if (!latency || !cpu_short || !cpu_long || !wall_long)
		return 1;
	write_module_conf(run_dir, &fake, 10,
			  "client_id = pam-device\nlogin_methods = device\npush_prompt = none\n"
			  "device_qr = no\n",
			  NULL);
	for (int i = 0; i < n; i++) {
		int phase = (i * 1000) / n;

		if (device_login(1500 + phase, &cpu_short[i], &wall, &latency[2 * i], &polls) < 0)
			return 1;
		polls_short += polls;
		if (device_login(10500 + phase, &cpu_long[i], &wall_long[i], &latency[2 * i + 1],
				 &polls) < 0)
			return 1;
		polls_long += polls;
	}
	extra_polls = (polls_long - polls_short) / n;
	printf("device_logins %d\n", 2 * n);
	printf("device_interval_ms 1000\n");
	printf("device_latency_ms_median %.0f\n", median_of(latency, 2 * n));
	sort_doubles(latency, 2 * n);
	printf("device_latency_ms_max %.0f\n", latency[2 * n - 1]);
	printf("device_polls_short %.1f\n", polls_short / n);
	printf("device_polls_long %.1f\n", polls_long / n);
	printf("device_cpu_per_poll_ms %.2f\n",
	       extra_polls > 0 ? (median_of(cpu_long, n) - median_of(cpu_short, n)) / extra_polls
			       : 0.0);
	printf("device_long_cpu_ms_median %.1f\n", median_of(cpu_long, n));
	printf("device_long_wall_ms_median %.0f\n", median_of(wall_long, n));
	free(latency);
	free(cpu_short);
	free(cpu_long);
	free(wall_long);
	return 0;
}

/* The service pam_wrapper reads, and an empty default one (else libpam logs "no default
 * config other" at every pam_start). */
static void write_services(const char *dir, const char *services)
{
	char path[192], text[1024];

	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	snprintf(text, sizeof(text), "auth required %s config=%s/pam_auth0.conf\n",
		 getenv("A0_MODULE"), dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/other", services);
	write_text(path, "");
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "login") != 0 && strcmp(argv[1], "rss") != 0 &&
			 strcmp(argv[1], "offline") != 0 && strcmp(argv[1], "dpop") != 0 &&
			 strcmp(argv[1], "device") != 0)) {
		fprintf(stderr,
			"usage: bench_login login [N] | rss [CYCLES] | offline [N] | dpop [N] "
			"| device [N]\n");
		return 2;
	}
	/* pam_wrapper must be preloaded: this program again, under it (tests/common/pamwrap). */
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-bench", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	fake_init(&fake);
	write_module_conf(run_dir, &fake, 10, NULL, NULL);
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;

	if (strcmp(argv[1], "login") == 0)
		return bench_login(n > 0 && n < 100000 ? (int)n : 20);
	if (strcmp(argv[1], "device") == 0)
		return bench_device(n > 0 && n < 1000 ? (int)n : 10);
	if (strcmp(argv[1], "dpop") == 0)
		return bench_dpop(n > 0 && n < 100000 ? (int)n : 20);
	if (strcmp(argv[1], "offline") == 0)
		return bench_offline(n > 0 && n < 100000 ? (int)n : 20);
	return bench_rss(n > 0 && n < 10000000 ? (int)n : 10000);
}
