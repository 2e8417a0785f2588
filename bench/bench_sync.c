/* SPDX-License-Identifier: MIT */
/*
 * auth0-sync against the fake tenant (issue 13's goals): a full sync of N users (default
 * 10,000, bulk-created with app_metadata.posix; more than a search gives, so through an export
 * job), its wall time and the command's peak RSS (getrusage of the child, ru_maxrss), then an
 * incremental sync after 10 users changed and the Management API requests it took (the fake's
 * counters). The configuration reads one role (role_prefix = linux-admins): each role read
 * costs one request more per run (auth0-sync(8), REQUEST BUDGET).
 * Usage (root, under tests/with-fake-tenant): bench_sync [N]
 * Prints "key value" lines for tools/bench. Numbers only; nothing here passes or fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/common/fake.h"
#include "tests/common/util.h"

/* The users' updated_at must be older than what a run reads again (A0_MGMT_WATERMARK_OVERLAP,
 * 10 s): tenants' users were not all created in the last seconds. */
#define SETTLE_SECONDS 11
#define CHANGED 10

static struct fake fake;
static char dir[64], conf[128];

static void die(const char *what)
{
	fprintf(stderr, "bench_sync: %s\n", what);
	exit(1);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static void setup(void)
{
	char path[160], text[2048];

	snprintf(dir, sizeof(dir), "/tmp/a0-bench-sync-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_text(path, "test-sync-secret-456\n");
	if (chmod(path, 0600) < 0)
		die("chmod");
	snprintf(path, sizeof(path), "%s/users", dir);
	write_text(path, "");
	snprintf(conf, sizeof(conf), "%s/pam_auth0.conf", dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = pam-native\nca_file = %s\n"
		 "sync_client_id = sync-client\nsync_client_secret_file = %s/secret\n"
		 "sync_connections = Username-Password-Authentication\nsync_dir = %s/sync\n"
		 "users_file = %s/users\nrole_prefix = linux-admins\ntimeout = 30\n"
		 "sync_max_runtime = 120\n",
		 fake.port, fake.ca, dir, dir, dir);
	write_text(conf, text);
}

/* One run of the command: exit status, wall seconds, the child's peak RSS (KiB). */
static int run(const char *arg, double *ret_seconds, long *ret_maxrss_kib)
{
	struct rusage ru;
	double t0 = now_seconds();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		execl(A0_SYNC_BIN, "auth0-sync", "--config", conf, arg, (char *)NULL);
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4");
	*ret_seconds = now_seconds() - t0;
	*ret_maxrss_kib = ru.ru_maxrss;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int stat_of(const char *group, const char *name)
{
	cJSON *s = fake_get(&fake, "/__control/stats");
	cJSON *v = group ? cJSON_GetObjectItem(cJSON_GetObjectItem(s, group), name)
			 : cJSON_GetObjectItem(s, name);
	int n = cJSON_IsNumber(v) ? v->valueint : -1;

	cJSON_Delete(s);
	return n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000; /* a benchmark's own argument */
	char body[512];
	double seconds;
	long rss;

	if (geteuid() != 0)
		die("auth0-sync runs as root only");
	fake_init(&fake);
	setup();
	fake_control(&fake, "POST", "/__control/reset", "{}");
	snprintf(body, sizeof(body),
		 "{\"count\": %d, \"app_metadata\": {\"posix\": {\"username\": \"{username}\", "
		 "\"uid\": \"{uid}\"}}}",
		 n);
	fake_control(&fake, "POST", "/__control/create-users", body);
	sleep(SETTLE_SECONDS);

	fake_control(&fake, "POST", "/__control/reset-stats", "{}");
	if (run("--full", &seconds, &rss) != 0)
		die("the full sync failed");
	printf("sync_users %d\n", n + 10);
	printf("sync_full_seconds %.2f\n", seconds);
	printf("sync_full_maxrss_kib %ld\n", rss);
	printf("sync_full_api_requests %d\n", stat_of("management", "requests"));
	printf("sync_full_downloads %d\n", stat_of("exports", "downloads"));
	printf("sync_full_fake_ms %.0f\n", fake_server_ms(&fake));

	for (int i = 0; i < CHANGED; i++) {
		snprintf(body, sizeof(body),
			 "{\"username\": \"bulk%06d\", \"app_metadata\": {\"posix\": {\"username\": "
			 "\"bulk%06d\", \"uid\": %d, \"gecos\": \"changed\"}}}",
			 i, i, 100000 + i);
		fake_control(&fake, "POST", "/__control/user", body);
	}
	fake_control(&fake, "POST", "/__control/reset-stats", "{}");
	if (run("--quiet", &seconds, &rss) != 0)
		die("the incremental sync failed");
	printf("sync_incremental_changed %d\n", CHANGED);
	printf("sync_incremental_seconds %.2f\n", seconds);
	printf("sync_incremental_maxrss_kib %ld\n", rss);
	printf("sync_incremental_api_requests %d\n", stat_of("management", "requests"));
	printf("sync_incremental_token_requests %d\n", stat_of(NULL, "client_credentials"));
	return 0;
}
