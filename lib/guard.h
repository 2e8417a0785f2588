/* SPDX-License-Identifier: MIT */
#ifndef A0_GUARD_H
#define A0_GUARD_H

/*
 * A local guard against password guessing, before Auth0's own. Auth0's brute-force protection
 * blocks a user from an address after a few failed passwords (10 by default); with a public
 * client that address is this host's, so a scanner could lock a user out of the host for
 * everyone. The guard counts consecutive failed sign-ins per (user, remote address) on this
 * host and, past `after` of them, refuses further attempts without asking Auth0 until a delay
 * has passed: 5 s, doubling with each further failure, at most max_delay seconds. A success
 * clears the count.
 *
 * State: one small file per (user, address) under dir/faildelay/, named by a SHA-256 of the
 * pair (no user name or address in a file name), root's, 0600. Only root keeps state (sshd,
 * login, su, sudo); a process that is not root, or finds the directory unsafe, is not guarded
 * and says so in *ret_unguarded (the caller may log it at debug level).
 */

#include <stdbool.h>
#include <time.h>

#define A0_GUARD_FIRST_DELAY 5 /* seconds, after the first failure beyond `after` */

struct a0_guard {
	const char *dir;    /* e.g. /run/pam_auth0: created 0755 when missing, must be root's */
	unsigned after;     /* failures allowed before delays start */
	unsigned max_delay; /* seconds; 0 turns the guard off */
};

/*
 * May (user, rhost) try now? rhost NULL or "" stands for a local login. 0: yes;
 * A0_ERR_DELAYED with the seconds still to wait in *ret_wait; A0_ERR_NOMEM. Any other trouble
 * with the state (not root, unsafe directory, unreadable file) is 0 with *ret_unguarded set.
 */
int a0_guard_check(const struct a0_guard *g, const char *user, const char *rhost, time_t now,
		   unsigned *ret_wait, bool *ret_unguarded);
/* Record the outcome of a sign-in that Auth0 judged: a failure counts, a success clears. */
void a0_guard_record(const struct a0_guard *g, const char *user, const char *rhost, bool ok,
		     time_t now);

#endif
