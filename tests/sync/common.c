/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lib/util.h"
#include "tests/common/util.h"
#include "tests/sync/common.h"

static char cleanup_dir[64];

static void remove_dir(void)
{
	char cmd[128];

	if (cleanup_dir[0] && snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cleanup_dir) > 0)
		(void)!system(cmd);
}

void env_init(struct env *e, const char *prefix)
{
	if (geteuid() != 0) {
		printf("# SKIP: auth0-sync runs as root only, and checks root's ownership\n");
		exit(77);
	}
	/* auth0-sync refuses names local accounts have (sync/rules.h): the tests' expectations
	 * hold on a host without accounts named as the fake's users, which tests/e2e makes. */
	{
		FILE *f = fopen("/etc/passwd", "r");
		struct passwd *pw;

		while (f && (pw = fgetpwent(f)))
			if (strncmp(pw->pw_name, "a0", 2) == 0 &&
			    strspn(pw->pw_name + 2, "abcdefghijklmnopqrstuvwxyz") ==
				    strlen(pw->pw_name + 2)) {
				printf("# SKIP: a local account %s is named as a fake tenant's user "
				       "(tests/e2e running?)\n",
				       pw->pw_name);
				exit(77);
			}
		if (f)
			fclose(f);
	}
	memset(e, 0, sizeof(*e));
	fake_init(&e->f);
	snprintf(e->dir, sizeof(e->dir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(e->dir))
		exit(99);
	snprintf(cleanup_dir, sizeof(cleanup_dir), "%s", e->dir);
	atexit(remove_dir);
	snprintf(e->conf, sizeof(e->conf), "%s/pam_auth0.conf", e->dir);
	snprintf(e->sync_dir, sizeof(e->sync_dir), "%s/sync", e->dir);
	snprintf(e->cache, sizeof(e->cache), "%s/nss.cache", e->sync_dir);
	snprintf(e->identities, sizeof(e->identities), "%s/identities", e->sync_dir);
	snprintf(e->state, sizeof(e->state), "%s/sync.state", e->sync_dir);
	snprintf(e->status, sizeof(e->status), "%s/sync.status", e->sync_dir);
}

void env_conf(const struct env *e, int port, const char *secret, const char *extra)
{
	char path[160], text[4096];

	snprintf(path, sizeof(path), "%s/secret", e->dir);
	snprintf(text, sizeof(text), "%s\n", secret ? secret : SYNC_SECRET);
	write_text(path, text);
	if (chmod(path, 0600) < 0)
		exit(99);
	snprintf(path, sizeof(path), "%s/users", e->dir);
	write_text(path, "");
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\n"
		 "client_id = pam-native\n"
		 "ca_file = %s\n"
		 "sync_client_id = " SYNC_CLIENT "\n"
		 "sync_client_secret_file = %s/secret\n"
		 "sync_connections = " CONNECTION "\n"
		 "sync_dir = %s\n"
		 "users_file = %s/users\n"
		 "timeout = 5\n"
		 "sync_max_runtime = 30\n"
		 "%s\n",
		 port ? port : e->f.port, e->f.ca, e->dir, e->sync_dir, e->dir, extra ? extra : "");
	write_text(e->conf, text);
}

void env_reset(const struct env *e)
{
	fake_control(&e->f, "POST", "/__control/reset", "{}");
	fake_control(&e->f, "DELETE", "/__control/fault", NULL);
}

void env_clear(const struct env *e)
{
	char lock[200];
	const char *paths[] = { e->cache, e->identities, e->state, e->status, lock };

	snprintf(lock, sizeof(lock), "%s/sync.lock", e->sync_dir);
	for (size_t i = 0; i < A0_ARRAY_SIZE(paths); i++)
		if (unlink(paths[i]) < 0 && errno != ENOENT)
			exit(99);
}

void control(const struct env *e, const char *path, const char *fmt, ...)
{
	char json[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	fake_control(&e->f, "POST", path, json);
}

void stats_reset(const struct env *e)
{
	fake_control(&e->f, "POST", "/__control/reset-stats", "{}");
}

int mgmt_requests(const struct env *e, const char *route)
{
	cJSON *stats = fake_get(&e->f, "/__control/stats");
	cJSON *m = cJSON_GetObjectItem(stats, "management"), *v;
	int n;

	v = route ? cJSON_GetObjectItem(cJSON_GetObjectItem(m, "by_route"), route)
		  : cJSON_GetObjectItem(m, "requests");
	n = cJSON_IsNumber(v) ? v->valueint : 0;
	cJSON_Delete(stats);
	return n;
}

static int memfd(void)
{
	int fd = memfd_create("a0-sync-test", MFD_CLOEXEC);

	if (fd < 0)
		exit(99);
	return fd;
}

static char *read_fd(int fd)
{
	struct stat st;
	char *text;

	if (fstat(fd, &st) < 0 || !(text = calloc(1, (size_t)st.st_size + 1)) ||
	    pread(fd, text, (size_t)st.st_size, 0) != st.st_size)
		exit(99);
	return text;
}

int run_sync(const struct env *e, struct run *r, const char *const *args)
{
	char *argv[32];
	struct timespec t0, t1;
	size_t n = 0;
	int out = memfd(), err = memfd(), status;
	pid_t pid;

	argv[n++] = (char *)(uintptr_t) "auth0-sync";
	argv[n++] = (char *)(uintptr_t) "--config";
	argv[n++] = (char *)(uintptr_t)e->conf;
	for (; *args && n < A0_ARRAY_SIZE(argv) - 1; args++)
		argv[n++] = (char *)(uintptr_t)*args;
	argv[n] = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		exit(99);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execv(A0_SYNC_BIN, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			exit(99);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = read_fd(out);
	r->err = read_fd(err);
	close(out);
	close(err);
	/* In the test's log too. */
	fprintf(stderr, "--- auth0-sync exit %d (%.2f s)\n%s", r->status, r->seconds, r->err);
	return r->status;
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

void assert_status_at(const struct run *r, int status, const char *file, int line)
{
	if (r->status == status)
		return;
	print_error("%s:%d: auth0-sync exited %d, expected %d; stderr:\n%s\n", file, line,
		    r->status, status, r->err);
	_fail(file, line);
}

void bytes_read(const char *path, struct bytes *ret)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(ret, 0, sizeof(*ret));
	if (fd < 0) {
		if (errno != ENOENT)
			exit(99);
		return;
	}
	if (fstat(fd, &st) < 0 || !(ret->data = malloc((size_t)st.st_size + 1)) ||
	    a0_read_full(fd, ret->data, (size_t)st.st_size) != st.st_size)
		exit(99);
	ret->len = (size_t)st.st_size;
	ret->data[ret->len] = '\0';
	close(fd);
}

void bytes_free(struct bytes *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool bytes_equal(const struct bytes *a, const struct bytes *b)
{
	if (!a->data || !b->data)
		return !a->data && !b->data;
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}
