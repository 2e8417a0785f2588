/* SPDX-License-Identifier: MIT */
/*
 * libnss_auth0 against glibc's nss_files, each figure next to its baseline in the same run:
 *
 *   bench_nss ROUNDS
 *
 * per call of getpwnam_r, getpwuid_r, getgrnam_r and initgroups_dyn: the module's functions
 * (the test build, nss/.libs/libnss_auth0_test.so, dlopened; its cache in a temporary
 * directory) over caches of 1,000 and 100,000 users, and glibc's own nss_files functions
 * (_nss_files_getpwnam_r... of libc.so.6, found with dlsym) over a 50-line /etc/passwd and a
 * 50-line /etc/group. Both are called directly, the way glibc's nss code calls a module, so
 * the figures compare the sources and not glibc's dispatch around them. nss_files reads
 * /etc/passwd and /etc/group by their fixed names: the program enters a mount namespace of its
 * own (made private first, so that nothing reaches the host) and binds its 50-line files over
 * them there. Needs root.
 *
 * Each round times a batch of calls of one source, then of the other (the first source
 * alternating between rounds), on keys that cycle through a fixed sample: for the 100,000-user
 * cache 1,000 users spread over the whole cache, for nss_files every line. The two cache sizes
 * take turns in five passes; after each switch a pass over the sample maps the new cache and
 * faults its pages in, untimed (a long-running process keeps its mapping). Medians over the
 * rounds.
 *
 * Then enumeration over the 100,000 users: setpwent/getpwent_r/endpwent through the module,
 * and the `getent passwd` program of glibc with "passwd: files auth0" (our nsswitch.conf bound
 * in the namespace, the module found through LD_LIBRARY_PATH), output to a file.
 *
 * Prints "key value" lines for tools/bench. Numbers only; nothing here passes or fails.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "nss/cache.h"
#include "nss/nss_auth0.h"
#include "tests/common/util.h"
#include "tests/unit/test_nss_fixture.h"

#define BATCH 100     /* calls per timed batch */
#define SAMPLE 1000   /* keys looked up from a cache */
#define FILE_LINES 50 /* lines of the nss_files baseline's passwd and group */
#define PASSES 5      /* turns of the two cache sizes */
#define ENUM_RUNS 5   /* enumerations of the 100,000 users */
#define BUF_SIZE 16384

/* A source's functions: glibc's nss_files or the module. */
struct source {
	__typeof__(&_nss_auth0_getpwnam_r) getpwnam_r;
	__typeof__(&_nss_auth0_getpwuid_r) getpwuid_r;
	__typeof__(&_nss_auth0_getgrnam_r) getgrnam_r;
	__typeof__(&_nss_auth0_initgroups_dyn) initgroups_dyn;
	__typeof__(&_nss_auth0_setpwent) setpwent;
	__typeof__(&_nss_auth0_getpwent_r) getpwent_r;
	__typeof__(&_nss_auth0_endpwent) endpwent;
};

/* What a source is asked: n user names, their uids, n group names. */
struct keys {
	char (*user)[FIXTURE_NAME];
	uint32_t *uid;
	char (*group)[FIXTURE_NAME];
	size_t n;
};

enum op { OP_PWNAM, OP_PWUID, OP_GRNAM, OP_INITGROUPS, N_OPS };
static const char *const op_names[N_OPS] = { "getpwnam", "getpwuid", "getgrnam", "initgroups" };

static char dir[64];
static char buf[BUF_SIZE];
static gid_t *groups;
static long int groups_size;
static unsigned long failures;

static void die(const char *what)
{
	fprintf(stderr, "bench_nss: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *sym(void *h, const char *name)
{
	void *f = dlsym(h, name);

	if (!f) {
		fprintf(stderr, "bench_nss: %s: %s\n", name, dlerror());
		exit(1);
	}
	return f;
}

static void load(struct source *s, void *h, const char *prefix)
{
	char name[64];

#define LOAD(field)                                                      \
	do {                                                             \
		snprintf(name, sizeof(name), "_nss_%s_" #field, prefix); \
		*(void **)&s->field = sym(h, name);                      \
	} while (0)
	LOAD(getpwnam_r);
	LOAD(getpwuid_r);
	LOAD(getgrnam_r);
	LOAD(initgroups_dyn);
	LOAD(setpwent);
	LOAD(getpwent_r);
	LOAD(endpwent);
#undef LOAD
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One call of op on key i of k; a call that does not find its entry is counted. */
static void call(const struct source *s, enum op op, const struct keys *k, size_t i)
{
	struct passwd pw;
	struct group gr;
	long int start = 0;
	enum nss_status st;
	int e;

	i %= k->n;
	switch (op) {
	case OP_PWNAM:
		st = s->getpwnam_r(k->user[i], &pw, buf, sizeof(buf), &e);
		break;
	case OP_PWUID:
		st = s->getpwuid_r(k->uid[i], &pw, buf, sizeof(buf), &e);
		break;
	case OP_GRNAM:
		st = s->getgrnam_r(k->group[i], &gr, buf, sizeof(buf), &e);
		break;
	default:
		st = s->initgroups_dyn(k->user[i], 1, &start, &groups_size, &groups, 0, &e);
		if (start == 0)
			st = NSS_STATUS_NOTFOUND;
		break;
	}
	if (st != NSS_STATUS_SUCCESS)
		failures++;
}

/* A timed batch: microseconds per call. */
static double batch(const struct source *s, enum op op, const struct keys *k, size_t *next)
{
	double t0 = now_us();

	for (int i = 0; i < BATCH; i++)
		call(s, op, k, (*next)++);
	return (now_us() - t0) / BATCH;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || a0_write_full(fd, text, strlen(text)) < 0 || close(fd) < 0)
		die(path);
}

/*
 * The baseline's files, bound over /etc's in a private mount namespace: 50 users f00..f49
 * (uid 60000 + i) and 50 groups fg00..fg49 (gid 61000 + k) of five members each (user i is in
 * the groups k with k % 10 == i % 10), and an nsswitch.conf for getent.
 */
static void enter_namespace(struct keys *k)
{
	static const char *const names[] = { "passwd", "group", "nsswitch.conf" };
	char text[3][8192], src[128], dst[64];
	size_t len[3] = { 0 };

	for (int i = 0; i < FILE_LINES; i++) {
		snprintf(k->user[i], FIXTURE_NAME, "f%02d", i);
		snprintf(k->group[i], FIXTURE_NAME, "fg%02d", i);
		k->uid[i] = (uint32_t)(60000 + i);
		len[0] += (size_t)snprintf(text[0] + len[0], sizeof(text[0]) - len[0],
					   "f%02d:x:%d:%d:File User %d:/home/f%02d:/bin/bash\n", i,
					   60000 + i, 60000 + i, i, i);
		len[1] += (size_t)snprintf(text[1] + len[1], sizeof(text[1]) - len[1],
					   "fg%02d:x:%d:", i, 61000 + i);
		for (int m = i % 10, sep = 0; m < FILE_LINES; m += 10, sep = 1)
			len[1] += (size_t)snprintf(text[1] + len[1], sizeof(text[1]) - len[1],
						   "%sf%02d", sep ? "," : "", m);
		len[1] += (size_t)snprintf(text[1] + len[1], sizeof(text[1]) - len[1], "\n");
	}
	k->n = FILE_LINES;
	snprintf(text[2], sizeof(text[2]), "passwd: files auth0\ngroup: files auth0\n");
	if (unshare(CLONE_NEWNS) < 0)
		die("unshare(CLONE_NEWNS) (root is needed)");
	/* Private first: no mount made below may propagate to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("making / private in the new namespace");
	for (int i = 0; i < 3; i++) {
		snprintf(src, sizeof(src), "%s/%s", dir, names[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", names[i]);
		write_file(src, text[i]);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			die(dst);
	}
}

static void keys_alloc(struct keys *k, size_t n)
{
	k->user = calloc(n, sizeof(*k->user));
	k->uid = calloc(n, sizeof(*k->uid));
	k->group = calloc(n, sizeof(*k->group));
	if (!k->user || !k->uid || !k->group)
		die("calloc");
}

/* SAMPLE users spread over a cache of n (a fixed pseudo-random order), and their groups. */
static void cache_keys(struct keys *k, size_t n)
{
	uint64_t x = 88172645463325252ULL; /* xorshift64, fixed seed */

	keys_alloc(k, SAMPLE);
	for (size_t i = 0; i < SAMPLE; i++) {
		size_t u;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		u = n == SAMPLE ? i : (size_t)(x % n);
		snprintf(k->user[i], FIXTURE_NAME, "u%07zu", u);
		k->uid[i] = (uint32_t)(200000 + u);
		snprintf(k->group[i], FIXTURE_NAME, "g%03zu", u / FIXTURE_PER_GROUP);
	}
	k->n = SAMPLE;
}

static void write_cache(size_t n, const char *path)
{
	struct fixture_many f;
	char err[256] = "";

	fixture_many_init(&f, n);
	if (fixture_many_write(&f, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_nss: %s\n", err);
		exit(1);
	}
	fixture_many_free(&f);
}

/* Enumerations of the current cache through the module: milliseconds, and the count. */
static double enumerate(const struct source *s, size_t *count)
{
	struct passwd pw;
	double t0 = now_us();
	int e;

	*count = 0;
	s->setpwent();
	while (s->getpwent_r(&pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS)
		(*count)++;
	s->endpwent();
	return (now_us() - t0) / 1000;
}

/* `getent passwd` with the module found through LD_LIBRARY_PATH: milliseconds, and lines. */
static double getent(const char *cache, size_t *lines)
{
	char lib[128], so[160], out[128], env_cache[192], env_lib[192];
	char *envp[] = { env_cache, env_lib, NULL };
	char *argv[] = { (char *)(uintptr_t) "getent", (char *)(uintptr_t) "passwd", NULL };
	double t0;
	pid_t pid;
	int status, c;
	FILE *f;

	snprintf(lib, sizeof(lib), "%s/lib", dir);
	snprintf(so, sizeof(so), "%s/libnss_auth0.so.2", lib);
	if (access(so, F_OK) != 0 && (mkdir(lib, 0755) < 0 || symlink(A0_NSS_TEST_MODULE, so) < 0))
		die(so);
	snprintf(out, sizeof(out), "%s/getent.out", dir);
	snprintf(env_cache, sizeof(env_cache), "A0_NSS_CACHE=%s", cache);
	snprintf(env_lib, sizeof(env_lib), "LD_LIBRARY_PATH=%s", lib);
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execve("/usr/bin/getent", argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_nss: getent passwd failed\n");
		exit(1);
	}
	t0 = (now_us() - t0) / 1000;
	f = fopen(out, "r");
	if (!f)
		die(out);
	*lines = 0;
	while ((c = getc(f)) != EOF)
		*lines += c == '\n';
	fclose(f);
	return t0;
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_nss: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	static const size_t sizes[2] = { 1000, 100000 };
	long rounds = 200;
	struct source files, auth0;
	struct keys fk, ck[2];
	char cache[2][128];
	double *t_files[N_OPS], *t_ours[2][N_OPS], enum_ms[ENUM_RUNS], getent_ms[ENUM_RUNS];
	size_t n_files = 0, n_ours[2] = { 0, 0 }, enum_count = 0, getent_lines = 0;
	void *h;

	if (argc > 1) {
		char *end;

		rounds = strtol(argv[1], &end, 10);
		if (*end || rounds < PASSES || rounds > 100000) {
			fprintf(stderr, "usage: bench_nss [ROUNDS: %d to 100000]\n", PASSES);
			return 2;
		}
	}
	snprintf(dir, sizeof(dir), "/tmp/a0-bench-nss-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		die("mkdtemp");
	atexit(cleanup);
	keys_alloc(&fk, FILE_LINES);
	enter_namespace(&fk);
	groups_size = 64;
	groups = malloc((size_t)groups_size * sizeof(gid_t));
	if (!groups)
		die("malloc");
	for (int i = 0; i < N_OPS; i++) {
		t_files[i] = calloc((size_t)rounds * 2, sizeof(double));
		t_ours[0][i] = calloc((size_t)rounds, sizeof(double));
		t_ours[1][i] = calloc((size_t)rounds, sizeof(double));
		if (!t_files[i] || !t_ours[0][i] || !t_ours[1][i])
			die("calloc");
	}
	for (int s = 0; s < 2; s++) {
		snprintf(cache[s], sizeof(cache[s]), "%s/nss-%zu.cache", dir, sizes[s]);
		write_cache(sizes[s], cache[s]);
		cache_keys(&ck[s], sizes[s]);
	}
	load(&files, RTLD_DEFAULT, "files");
	h = dlopen(A0_NSS_TEST_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "bench_nss: %s\n", dlerror());
		return 1;
	}
	load(&auth0, h, "auth0");

	/* The two cache sizes take turns; in each turn, every op, ours and nss_files in turn. */
	for (int pass = 0; pass < PASSES; pass++) {
		for (int s = 0; s < 2; s++) {
			int per_pass = (int)(rounds / PASSES);

			setenv("A0_NSS_CACHE", cache[s], 1);
			for (int op = 0; op < N_OPS; op++)
				for (size_t i = 0; i < SAMPLE; i++)
					call(&auth0, (enum op)op, &ck[s], i);
			for (int op = 0; op < N_OPS; op++) {
				size_t next_ours = 0, next_files = 0;

				for (int r = 0; r < per_pass; r++) {
					double ours, base;

					if (r % 2) {
						ours = batch(&auth0, (enum op)op, &ck[s],
							     &next_ours);
						base = batch(&files, (enum op)op, &fk, &next_files);
					} else {
						base = batch(&files, (enum op)op, &fk, &next_files);
						ours = batch(&auth0, (enum op)op, &ck[s],
							     &next_ours);
					}
					t_ours[s][op][n_ours[s] + (size_t)r] = ours;
					t_files[op][n_files + (size_t)r] = base;
				}
			}
			n_ours[s] += (size_t)per_pass;
			n_files += (size_t)per_pass;
		}
	}

	setenv("A0_NSS_CACHE", cache[1], 1);
	for (int i = 0; i < ENUM_RUNS; i++)
		enum_ms[i] = enumerate(&auth0, &enum_count);
	for (int i = 0; i < ENUM_RUNS; i++)
		getent_ms[i] = getent(cache[1], &getent_lines);

	printf("nss_rounds %zu\n", n_ours[0]);
	printf("nss_batch %d\n", BATCH);
	printf("nss_failed_calls %lu\n", failures);
	for (int op = 0; op < N_OPS; op++) {
		printf("nss_%s_files_us %.3f\n", op_names[op], median(t_files[op], (int)n_files));
		printf("nss_%s_1k_us %.3f\n", op_names[op], median(t_ours[0][op], (int)n_ours[0]));
		printf("nss_%s_100k_us %.3f\n", op_names[op],
		       median(t_ours[1][op], (int)n_ours[1]));
	}
	printf("nss_enum_users %zu\n", enum_count);
	printf("nss_enum_ms_median %.1f\n", median(enum_ms, ENUM_RUNS));
	printf("nss_getent_lines %zu\n", getent_lines);
	printf("nss_getent_ms_median %.1f\n", median(getent_ms, ENUM_RUNS));
	return 0;
}
