/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>

#include "tests/common/fake.h"
#include "tests/common/util.h"

/* What failed (and on which file): the reason from errno, then a hard error. */
static void die(const char *what, const char *path)
{
	if (path)
		fprintf(stderr, "%s %s: %m\n", what, path);
	else
		fprintf(stderr, "%s: %m\n", what);
	exit(99);
}

void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die("cannot write", path);
}

void write_module_conf(const char *dir, const struct fake *f, int timeout, const char *lines,
		       const char *extra)
{
	char path[128], text[2048];

	snprintf(path, sizeof(path), "%s/pam_auth0.conf", dir);
	snprintf(text, sizeof(text),
		 "domain = localhost:%d\n"
		 "client_id = pam-native\n"
		 "ca_file = %s\n"
		 "cache_dir = %s/cache\n"
		 "users_file = %s\n"
		 "state_dir = %s/run\n"
		 "sync_dir = %s\n"
		 /* The fake's users have no local accounts under pam_wrapper. */
		 "require_local_account = no\n"
		 "timeout = %d\n"
		 "%s"
		 "%s\n",
		 f->port, f->ca, dir, f->users, dir, dir, timeout, lines ? lines : "",
		 extra ? extra : "");
	write_text(path, text);
}

void capture_start(struct capture *c, const char *dir)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "%s/stderr", dir);
	fflush(stderr);
	c->saved = dup(2);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (c->saved < 0 || fd < 0)
		die("cannot capture stderr in", c->path);
	dup2(fd, 2);
	close(fd);
}

void capture_stop(struct capture *c, char *out, size_t size)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	f = fopen(c->path, "r");
	if (!f)
		die("cannot read", c->path);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
	fputs(out, stderr);
}

void temp_dir(char *dir, size_t size, const char *prefix)
{
	int n = snprintf(dir, size, "/tmp/%s-XXXXXX", prefix);

	if (n < 0 || (size_t)n >= size || !mkdtemp(dir))
		die("cannot make a temporary directory for", prefix);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int remove_tree(const char *dir)
{
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT)
		return 0;
	fprintf(stderr, "could not remove %s: %s\n", dir, strerror(errno));
	return -1;
}

static char lock_dir[64];
static pid_t owner;

/* Only the process that made it: atexit handlers run in forked children that exit too. */
static void remove_lock_dir(void)
{
	if (getpid() != owner)
		return;
	(void)remove_tree(lock_dir);
}

void private_session(const char *prefix)
{
	if (keyctl_join_session_keyring(NULL) < 0)
		die("keyctl_join_session_keyring", NULL);
	snprintf(lock_dir, sizeof(lock_dir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(lock_dir) || chmod(lock_dir, 0700) < 0 ||
	    setenv("XDG_RUNTIME_DIR", lock_dir, 1) < 0)
		die("cannot make the lock directory", lock_dir);
	owner = getpid();
	atexit(remove_lock_dir);
}

/* The parent of live process pid, from /proc/PID/stat (its name may hold blanks and ')'); -1
 * when there is none or pid is a zombie. */
static pid_t parent_of(const char *pid)
{
	char path[64], text[1024], *end;
	FILE *fp;
	size_t n;
	int ppid;
	char state;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (!(fp = fopen(path, "r")))
		return -1;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	end = strrchr(text, ')');
	if (!end || sscanf(end + 1, " %c %d", &state, &ppid) != 2 || state == 'Z')
		return -1;
	return ppid;
}

pid_t child_of(pid_t parent, double wait)
{
	for (double until = now_seconds() + wait; now_seconds() <= until;) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		pid_t found = -1;

		while (d && found < 0 && (e = readdir(d))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);

			if (*end == '\0' && pid > 0 && parent_of(e->d_name) == parent)
				found = (pid_t)pid;
		}
		if (d)
			closedir(d);
		if (found > 0)
			return found;
		usleep(10 * 1000);
	}
	return -1;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void sort_doubles(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), compare);
}

double median(double *v, int n)
{
	sort_doubles(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define NSS_WRAPPER "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"

int nsswrap_rerun(const char *dir, const char *passwd_text, size_t huge_gecos)
{
	char passwd[256], group[256], preload[1024], self[4096];
	const char *wrappers = getenv("LD_PRELOAD");
	int status;
	ssize_t n;
	pid_t pid;
	FILE *f;

	if (access(NSS_WRAPPER, R_OK) != 0)
		die("is missing (tools/install-deps installs libnss-wrapper):", NSS_WRAPPER);
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	f = fopen(passwd, "w");
	if (!f || fputs(passwd_text, f) < 0)
		die("cannot write", passwd);
	if (huge_gecos) {
		fputs("a0huge:x:1502:100:", f);
		for (size_t i = 0; i < huge_gecos; i++)
			fputc('g', f);
		fputs(":/nonexistent:/bin/sh\n", f);
	}
	if (fclose(f) != 0)
		die("cannot write", passwd);
	write_text(group, "root:x:0:\ndaemon:x:1:\nusers:x:100:\n");
	snprintf(preload, sizeof(preload), "%s%s%s", wrappers ? wrappers : "", wrappers ? ":" : "",
		 NSS_WRAPPER);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		die("cannot read", "/proc/self/exe");
	self[n] = '\0';
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char mode[] = "nss";
		char *argv[] = { self, mode, NULL };

		setenv("LD_PRELOAD", preload, 1);
		setenv("NSS_WRAPPER_PASSWD", passwd, 1);
		setenv("NSS_WRAPPER_GROUP", group, 1);
		/* ASan refuses a library preloaded before its runtime, and RTLD_DEEPBIND. */
		setenv("NSS_WRAPPER_DISABLE_DEEPBIND", "1", 1);
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
		execv(self, argv);
		_exit(99);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

void read_fd_text(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

int run_capture(const char *const *argv, const char *input, const char *const *env, char *out,
		size_t outlen, char *err, size_t errlen)
{
	int o[2], e[2], in[2], status;
	size_t len = input ? strlen(input) : 0;
	pid_t pid;

	if (pipe(o) < 0 || pipe(e) < 0 || pipe(in) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(in[1]);
		close(o[0]);
		close(e[0]);
		for (; env && *env; env++)
			putenv((char *)(uintptr_t)*env);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	if (len && write(in[1], input, len) != (ssize_t)len)
		fprintf(stderr, "run_capture: cannot write %s's input\n", argv[0]);
	close(in[1]);
	read_fd_text(o[0], out, outlen);
	read_fd_text(e[0], err, errlen);
	close(o[0]);
	close(e[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
