/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/pamwrap.h"

/* Debian's path, for a pam_wrapper.pc that names no library. */
#define WRAPPER_DEFAULT "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"

bool pamwrap_is_child(void)
{
	return getenv("A0_PAM_TEST_CHILD") != NULL;
}

const char *pamwrap_run_dir(void)
{
	return getenv("A0_PAM_TEST_DIR");
}

static void remove_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* In the child: pam_wrapper for this program only (useradd and the like in the parent use
 * PAM too), then the program again. */
static void exec_child(char **argv, const char *wrapper, const char *run_dir, const char *services,
		       const char *const *extra_env)
{
	char self[4096];
	ssize_t n;

	setenv("LD_PRELOAD", wrapper, 1);
	setenv("PAM_WRAPPER", "1", 1);
	setenv("PAM_WRAPPER_SERVICE_DIR", services, 1);
	/* pam_wrapper 1.1.4 loads libpam with RTLD_DEEPBIND, which ASan refuses, unless this
	 * (misnamed in pam_wrapper) variable is set. */
	setenv("UID_WRAPPER_DISABLE_DEEPBIND", "1", 1);
	/* ASan wants to be first in the library list; pam_wrapper is preloaded before it. */
	setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
	setenv("A0_PAM_TEST_DIR", run_dir, 1);
	setenv("A0_PAM_TEST_CHILD", "1", 1);
	for (; extra_env && *extra_env; extra_env++)
		putenv((char *)(uintptr_t)*extra_env);
	/* The path, not /proc/self/exe: under valgrind that is valgrind itself (valgrind answers
	 * readlink with the test's path, and follows the exec with --trace-children). */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0 && (size_t)n < sizeof(self) - 1) {
		self[n] = '\0';
		execv(self, argv);
	}
	_exit(99);
}

int pamwrap_run(char **argv, const char *prefix, pamwrap_services_fn write_services,
		const char *const *extra_env)
{
	const char *wrapper = getenv("A0_PAM_WRAPPER");
	char run_dir[64], services[128];
	int status;
	pid_t pid;

	if (!getenv("A0_MODULE")) {
		fprintf(stderr, "A0_MODULE must be set (make check does)\n");
		return 99;
	}
	if (!wrapper || access(wrapper, R_OK) != 0)
		wrapper = WRAPPER_DEFAULT;
	snprintf(run_dir, sizeof(run_dir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(run_dir))
		return 99;
	snprintf(services, sizeof(services), "%s/services", run_dir);
	mkdir(services, 0755);
	write_services(run_dir, services);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		exec_child(argv, wrapper, run_dir, services, extra_env);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = 99 << 8;
	remove_dir(run_dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
