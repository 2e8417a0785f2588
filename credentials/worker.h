/* SPDX-License-Identifier: MIT */
#ifndef A0_WORKER_H
#define A0_WORKER_H

#include "credentials/manager.h"

/*
 * Run a job in a child process that outlives its caller: fork(), and in the child a new
 * session (so signals for the caller's process group or terminal do not reach it), stdin and
 * stdout on /dev/null, the job, its outcome written to a pipe, _exit(). The child inherits the
 * caller's lock, so the lock is held until the job is done even when the caller is killed:
 * a refresh that reached the tenant is always stored. With no child, the job fails with
 * AUTH0_CREDENTIALS_UNKNOWN and the records are untouched.
 */
void a0_worker_run(struct a0_cm *cm, struct a0_cm_job *job);

#endif
