/* SPDX-License-Identifier: MIT */
/*
 * Small things the test and bench programs share. None of it uses cmocka (the benchmarks link
 * this too): a set-up that cannot be done ends the program with exit status 99, automake's
 * "hard error", as it is no verdict on the code under test.
 */
#ifndef A0_TEST_UTIL_H
#define A0_TEST_UTIL_H

#include <stddef.h>
#include <sys/types.h>

struct fake;

/* Write text to path, replacing it. */
void write_text(const char *path, const char *text);

/* A new private directory /tmp/PREFIX-XXXXXX in dir (size bytes), or the test dies. */
void temp_dir(char *dir, size_t size, const char *prefix);

/* Read all of fd into buf (size bytes, NUL-terminated, cut at size - 1). */
void read_fd_text(int fd, char *buf, size_t size);

/* Run argv[0] with argv (NULL-terminated), input (or nothing) on its stdin, env ("NAME=VALUE",
 * NULL-ended; may be NULL) added to ours: its exit status, or -1 when it could not be run or did
 * not exit. Its stdout and stderr in out and err, NUL-terminated, cut at their sizes (read one
 * after the other: for commands whose stderr fits a pipe meanwhile). */
int run_capture(const char *const *argv, const char *input, const char *const *env, char *out,
		size_t outlen, char *err, size_t errlen);
/* Remove dir and everything in it: 0, or -1 (with a message on stderr). */
int remove_tree(const char *dir);

/*
 * The module's configuration file dir/pam_auth0.conf, which the programs' PAM services name:
 * the fake tenant, pam-native, a cache and the guard's state under dir, the fake's users bound
 * to the local names (users_file) though under pam_wrapper they have no local accounts
 * (require_local_account = no) and timeout seconds per request, then the
 * program's own lines and a test's extra ones (either may be NULL).
 */
void write_module_conf(const char *dir, const struct fake *f, int timeout, const char *lines,
		       const char *extra);

/*
 * What the program writes to stderr (under pam_wrapper: the module's syslog lines) from
 * capture_start to capture_stop, caught in dir/stderr. capture_stop puts it back, copies up to
 * size - 1 bytes of what was caught into out (NUL-terminated), and writes that to stderr too so
 * that it still shows in the program's log.
 */
struct capture {
	int saved; /* the real stderr */
	char path[128];
};
void capture_start(struct capture *c, const char *dir);
void capture_stop(struct capture *c, char *out, size_t size);

/*
 * Never the caller's keys or locks: join a new anonymous session keyring (children inherit it)
 * and make /tmp/<prefix>-XXXXXX the lock directory (XDG_RUNTIME_DIR), removed at exit.
 */
void private_session(const char *prefix);

/*
 * Run this program again as "PROGRAM nss" with Debian's nss_wrapper (libnss-wrapper, from
 * tools/install-deps) preloaded after whatever is preloaded now, so glibc's NSS path reads
 * dir/passwd and dir/group alone: passwd holds passwd_text and then, when huge_gecos > 0,
 * a0huge (uid 1502) with a gecos field of huge_gecos bytes; group holds root, daemon and
 * users. Returns the child's exit status, or -1 when it could not run or died.
 */
int nsswrap_rerun(const char *dir, const char *passwd_text, size_t huge_gecos);

/*
 * A live child (not a zombie) of process parent, from /proc (e.g. auth0-broker's child serving
 * a request), waiting at most wait seconds for one: its pid, or -1.
 */
pid_t child_of(pid_t parent, double wait);
/* Sort n numbers, ascending; their median (sorts them). */
void sort_doubles(double *v, int n);
double median(double *v, int n);

#endif
