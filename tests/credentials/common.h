/* SPDX-License-Identifier: MIT */
/* What the auth0-credentials tests share: a private keyring, the fake tenant, running the CLI. */
#ifndef A0_TEST_HELPER_COMMON_H
#define A0_TEST_HELPER_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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
};

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

#endif
