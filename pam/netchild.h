/* SPDX-License-Identifier: MIT */
#ifndef A0_PAM_NETCHILD_H
#define A0_PAM_NETCHILD_H

/*
 * The network part of a PAM call runs in a short-lived child process (netchild.c explains
 * why and how): the host process (sshd, login, sudo) never holds libcurl's or OpenSSL's state,
 * whose freed buffers would keep the password, the client secret and the tokens.
 */

#include <cjson/cJSON.h>

#include "lib/auth0.h"
#include "lib/mfa.h"
#include "pam/module.h"

/*
 * What the child runs. It works on its copy of l (configuration, user, PAM handle: read, never
 * written) and sets l->step, l->res and l->tell as the steps always did; p asks and tells the
 * user through the parent's PAM conversation (p->ack_messages is false: the job sets its own
 * in a copy). On success it may return tokens and claims, or leave them NULL.
 */
typedef int (*mod_net_job)(struct login *l, const struct a0_prompter *p, void *arg,
			   struct a0_tokens **ret_tokens, cJSON **ret_claims);

/*
 * Run job(l, p, arg) in a child process and wait for its result, answering its questions with
 * the PAM conversation meanwhile. seconds bounds the time the child may take, not counting the
 * time the user takes to answer: past it the child is killed (A0_ERR_TIMEOUT). Returns the
 * job's result with l->step, l->res and l->tell as the job left them (l->step and l->tell then
 * point into l), and on success the job's tokens and claims (each may be NULL) when ret_tokens
 * and ret_claims are given. A child that dies without a result is A0_ERR_SYSTEM with the reason
 * in l->res.description.
 */
int mod_net_run(struct login *l, mod_net_job job, void *arg, unsigned seconds,
		struct a0_tokens **ret_tokens, cJSON **ret_claims);

#endif
