/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <auth0/credentials.h>

#include "credentials/worker.h"
#include "lib/util.h"

static void child(struct a0_cm *cm, struct a0_cm_job *job, int out)
{
	int null;

	setsid();
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Not the caller's stdout: `$(auth0-credentials get)` ends when the caller does. stderr
	 * stays, for sanitizer reports; the job writes nothing to it.
	 */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDOUT_FILENO)
			close(null);
	}
	a0_cm_run_job(cm, job);
	/* A failure means the caller is gone; the job's work is stored all the same. */
	(void)a0_write_full(out, &job->out, sizeof(job->out));
	_exit(0);
}

void a0_worker_run(struct a0_cm *cm, struct a0_cm_job *job)
{
	ssize_t got;
	int fds[2];
	pid_t pid;

	memset(&job->out, 0, sizeof(job->out));
	if (pipe2(fds, O_CLOEXEC) < 0) {
		job->out.code = AUTH0_CREDENTIALS_UNKNOWN;
		a0_format(job->out.message, sizeof(job->out.message), "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		job->out.code = AUTH0_CREDENTIALS_UNKNOWN;
		a0_format(job->out.message, sizeof(job->out.message), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		child(cm, job, fds[1]);
	}
	close(fds[1]);
	got = a0_read_full(fds[0], &job->out, sizeof(job->out));
	close(fds[0]);
	/* The caller may reap children itself (or ignore SIGCHLD): the pipe is what counts. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(job->out)) {
		memset(&job->out, 0, sizeof(job->out));
		job->out.code = AUTH0_CREDENTIALS_UNKNOWN;
		a0_format(job->out.message, sizeof(job->out.message),
			  "the refresh worker process ended without an answer; the stored "
			  "credentials may or may not have been renewed");
	}
	job->out.message[sizeof(job->out.message) - 1] = '\0';
	job->out.error[sizeof(job->out.error) - 1] = '\0';
	job->out.description[sizeof(job->out.description) - 1] = '\0';
}
