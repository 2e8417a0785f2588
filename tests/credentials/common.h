/* SPDX-License-Identifier: MIT */
/* What the auth0-credentials tests share: a private keyring, the fake tenant, running the CLI. */
#ifndef A0_TEST_HELPER_COMMON_H
#define A0_TEST_HELPER_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <auth0/credentials.h>

#include "tests/common/assert.h"
#include "tests/common/fake.h"

/* A fresh session keyring and lock directory for this process and its children. */
void helper_test_init(struct fake *f);
/* Between tests: the fake back to its data file, no faults, an empty keyring. */
void helper_test_reset(const struct fake *f);

/* A member of a JSON text, copied (free it); NULL when absent. */
char *json_member(const char *json, const char *name);

/* One run of the CLI, started and then finished. */
struct proc {
	pid_t pid;
	int out, err; /* memfds for stdout and stderr */
	int status;   /* exit status, or 128 + signal */
	char *stdout_text, *stderr_text;
	double seconds;
	char command[256]; /* its arguments, for messages */
};

/* Run the command without a controlling terminal (setsid): login's prompts never reach the
 * terminal of whoever runs the tests, and its answers come from stdin. */
extern bool proc_no_tty;

/*
 * Start $A0_HELPER with args (NULL-terminated) and stdin_text (NULL: empty). With a barrier
 * (a pipe) the child waits until the pipe's last writer closes it before it runs the helper.
 */
void proc_start(struct proc *p, const char *stdin_text, const int *barrier,
		const char *const *args);
/* Wait for it and collect its output. */
void proc_finish(struct proc *p);
void proc_free(struct proc *p);
/* Start and finish; the exit status. */
int helper(struct proc *p, const char *stdin_text, const char *const *args);
#define HELPER(p, in, ...) helper((p), (in), (const char *const[]){ __VA_ARGS__, NULL })

/* The library's codes by name (auth0_credentials_code_name), e.g. AUTH0_CREDENTIALS_OK. */
const char *test_code_name(int code, char *buf, size_t size);
#define assert_code(actual, expected) \
	test_assert_codes((actual), (expected), test_code_name, #actual, __FILE__, __LINE__)

/*
 * The command's exit status by name: the library's codes as the manual names them
 * (NO_CREDENTIALS), and what a run that never got there ends with (exec failed, a signal).
 */
const char *test_exit_name(int status, char *buf, size_t size);
/* For a test's own messages, as name_pam in tests/common/assert.h. */
#define name_code(code) test_name_value(test_code_name, (code), (char[96]){ 0 }, 96)
#define name_exit(status) test_name_value(test_exit_name, (status), (char[96]){ 0 }, 96)
/* p finished with exit status code; if not, fail naming both and showing p's stderr. */
void test_assert_exit(const struct proc *p, int code, const char *file, int line);
#define assert_exit(p, code) test_assert_exit((p), (code), __FILE__, __LINE__)
/* Run the command (as HELPER) and assert_exit. */
#define assert_helper(p, code, in, ...) \
	test_assert_exit((HELPER((p), (in), __VA_ARGS__), (p)), (code), __FILE__, __LINE__)

/* Store a token response as the session's credentials for client_id at the fake (CLI save). */
void save_login(const struct fake *f, const char *json, const char *client_id, int port);

/* The raw payload of the record "pam_auth0:<name>" in the session keyring (free it). */
char *record_payload(const char *name, size_t *ret_len);

/*
 * The fake's log: its length, and how many refresh requests from index `from` on (requests to
 * /oauth/token other than logins, counting those a fault answered).
 */
int log_length(const struct fake *f);
int refresh_count(const struct fake *f, int from);
/* A DPoP counter of the fake's stats: dpop.GROUP.NAME, or dpop.GROUP when name is NULL; 0 when
 * absent (nothing counted yet). */
int dpop_stat(const struct fake *f, const char *group, const char *name);

#endif
