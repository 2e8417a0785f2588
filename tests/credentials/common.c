/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
#include <keyutils.h>

#include "lib/util.h"
#include "tests/common/util.h"
#include "tests/credentials/common.h"

void helper_test_init(struct fake *f)
{
	private_session("a0-helper-test");
	fake_init(f);
}

void helper_test_reset(const struct fake *f)
{
	fake_control(f, "POST", "/__control/reset", "{}");
	fake_control(f, "DELETE", "/__control/fault", NULL);
	assert_int_equal(keyctl_clear(KEY_SPEC_SESSION_KEYRING), 0);
}

char *json_member(const char *json, const char *name)
{
	cJSON *root = cJSON_Parse(json);
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(root, name));
	char *copy = v ? strdup(v) : NULL;

	cJSON_Delete(root);
	return copy;
}

static int memfd_with(const char *text)
{
	int fd = memfd_create("a0-test", MFD_CLOEXEC);
	size_t len = text ? strlen(text) : 0;

	assert_true(fd >= 0);
	if (len)
		assert_int_equal(a0_write_full(fd, text, len), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static struct timespec started(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

static double since(const struct timespec *t0)
{
	struct timespec t = started();

	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static struct timespec start_times[512];

bool proc_no_tty;

void proc_start(struct proc *p, const char *stdin_text, const int *barrier, const char *const *args)
{
	const char *path = getenv("A0_HELPER");
	char *argv[64];
	size_t n = 0;
	int in;

	if (!path)
		fail_msg("A0_HELPER is not set (run through make check)");
	memset(p, 0, sizeof(*p));
	/* Copies, as execv wants them writable. */
	argv[n++] = strdup("auth0-credentials");
	for (; *args && n < 63; args++)
		argv[n++] = strdup(*args);
	argv[n] = NULL;
	for (size_t i = 0, len = 0; i < n && len < sizeof(p->command); i++)
		len += (size_t)snprintf(p->command + len, sizeof(p->command) - len, "%s%s",
					i ? " " : "", argv[i]);
	in = memfd_with(stdin_text);
	p->out = memfd_with(NULL);
	p->err = memfd_with(NULL);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		char c;

		if (barrier) {
			close(barrier[1]);
			while (a0_read_full(barrier[0], &c, 1) > 0)
				;
		}
		if (dup2(in, 0) < 0 || dup2(p->out, 1) < 0 || dup2(p->err, 2) < 0)
			_exit(126);
		if (proc_no_tty && setsid() < 0)
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	close(in);
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	start_times[p->pid % 512] = started();
}

static char *read_all(int fd)
{
	struct stat st;
	char *text;

	assert_int_equal(fstat(fd, &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)st.st_size, 0), st.st_size);
	return text;
}

void proc_finish(struct proc *p)
{
	int status;

	while (waitpid(p->pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	p->seconds = since(&start_times[p->pid % 512]);
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	p->stdout_text = read_all(p->out);
	p->stderr_text = read_all(p->err);
	close(p->out);
	close(p->err);
}

void proc_free(struct proc *p)
{
	free(p->stdout_text);
	free(p->stderr_text);
	p->stdout_text = p->stderr_text = NULL;
}

int helper(struct proc *p, const char *stdin_text, const char *const *args)
{
	proc_start(p, stdin_text, NULL, args);
	proc_finish(p);
	return p->status;
}

const char *test_code_name(int code, char *buf, size_t size)
{
	const char *name = auth0_credentials_code_name(code);

	if (!name)
		return NULL;
	snprintf(buf, size, "AUTH0_CREDENTIALS_%s", name);
	return buf;
}

const char *test_exit_name(int status, char *buf, size_t size)
{
	const char *name = auth0_credentials_code_name(status);

	if (name)
		return name;
	if (status == 126)
		return "(the test's child could not set up stdin, stdout, stderr)";
	if (status == 127)
		return "(the test's child could not execute A0_HELPER)";
	if (status > 128) {
		snprintf(buf, size, "(killed by signal %d, %s)", status - 128,
			 strsignal(status - 128));
		return buf;
	}
	return NULL;
}

void test_assert_exit(const struct proc *p, int code, const char *file, int line)
{
	char more[4096];

	if (p->status == code)
		return;
	snprintf(more, sizeof(more), "    stderr: %s",
		 p->stderr_text[0] ? p->stderr_text : "(empty)");
	test_fail_codes(p->command, code, p->status, test_exit_name, more, file, line);
}

void save_login(const struct fake *f, const char *json, const char *client_id, int port)
{
	char domain[64];
	struct proc p;

	assert_non_null(json);
	snprintf(domain, sizeof(domain), "localhost:%d", port);
	assert_helper(&p, AUTH0_CREDENTIALS_OK, json, "save", "--domain", domain, "--client-id",
		      client_id, "--ca-file", f->ca);
	proc_free(&p);
}

char *record_payload(const char *name, size_t *ret_len)
{
	static const char *const types[] = { "big_key", "user" };
	char desc[512];

	snprintf(desc, sizeof(desc), "pam_auth0:%s", name);
	for (size_t i = 0; i < 2; i++) {
		key_serial_t k = keyctl_search(KEY_SPEC_SESSION_KEYRING, types[i], desc, 0);
		void *buf = NULL;
		long len;

		if (k < 0)
			continue;
		len = keyctl_read_alloc(k, &buf);
		assert_true(len >= 0);
		*ret_len = (size_t)len;
		return buf;
	}
	return NULL;
}

int log_length(const struct fake *f)
{
	cJSON *log = fake_get(f, "/__control/log");
	int n = cJSON_GetArraySize(log);

	cJSON_Delete(log);
	return n;
}

int refresh_count(const struct fake *f, int from)
{
	cJSON *log = fake_get(f, "/__control/log");
	int n = 0, i = 0;
	cJSON *rec;

	/* A faulted request never reaches the grant, so its record has no grant_type: count
	 * every request to the token endpoint but the logins. */
	cJSON_ArrayForEach(rec, log) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "path"));
		const char *g = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "grant_type"));

		if (i++ >= from && path && strcmp(path, "/oauth/token") == 0 &&
		    (!g || strcmp(g, "refresh_token") == 0))
			n++;
	}
	cJSON_Delete(log);
	return n;
}

int dpop_stat(const struct fake *f, const char *group, const char *name)
{
	cJSON *stats = fake_get(f, "/__control/stats");
	cJSON *g = cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "dpop"), group);
	cJSON *n = name ? cJSON_GetObjectItem(g, name) : g;
	int v = cJSON_IsNumber(n) ? (int)cJSON_GetNumberValue(n) : 0;

	cJSON_Delete(stats);
	return v;
}
