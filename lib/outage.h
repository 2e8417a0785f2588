/* SPDX-License-Identifier: MIT */
#ifndef A0_OUTAGE_H
#define A0_OUTAGE_H

/*
 * When Auth0 cannot be reached (pam_auth0(8), WHEN AUTH0 CANNOT BE REACHED). Two parts:
 *
 * - The one classification of a login request's failure: offline (the tenant could not be
 *   asked: DNS, refused, timed out, reset, 5xx, 429 too_many_requests), answered (the tenant
 *   judged the user or the request: success, invalid_grant, access_denied, mfa_*, blocked,
 *   too_many_attempts, unauthorized_client, ...), intercepted (a TLS certificate failure: never
 *   offline, a possible interception), local (this host's own trouble, or an answer that is
 *   no verdict: out of memory, a broken conversation, a malformed body).
 *
 * - The known-offline state: after an offline failure the host remembers the outage in one
 *   root-owned file, dir/offline ("v1 <next check> <backoff>\n", written atomically by rename,
 *   under a lock on dir/offline.lock), and until the next-check time logins do not touch the
 *   network. Past it, one login claims the probe by moving the next check out by the probe's
 *   longest time (a lease: the others keep the fast path meanwhile, and a probe that dies
 *   frees it when the lease ends); its outcome clears the state (the tenant answered) or sets
 *   the next check after twice the backoff, at most backoff_max. Only root keeps the state; a
 *   file or directory that is not root's, or that others may write, is ignored: the network is
 *   tried (fail safe).
 */

#include <stdbool.h>
#include <time.h>

#include "lib/auth0.h"

#define A0_OUTAGE_FILE "offline"
#define A0_OUTAGE_BACKOFF_MIN 30  /* seconds: the first wait after an offline failure */
#define A0_OUTAGE_BACKOFF_MAX 600 /* seconds: the longest */

enum a0_outage_kind {
	A0_OUTAGE_ANSWERED,    /* the tenant answered: success or a verdict on user or request */
	A0_OUTAGE_OFFLINE,     /* the tenant could not be asked */
	A0_OUTAGE_INTERCEPTED, /* TLS certificate refused: never offline */
	A0_OUTAGE_LOCAL,       /* neither: the state is left as it is */
};

/* The class of a login request's result err (0 or A0_ERR_*); res may be NULL. */
enum a0_outage_kind a0_outage_kind(int err, const struct a0_result *res);
/* "ANSWERED", "OFFLINE", "INTERCEPTED", "LOCAL". */
const char *a0_outage_kind_name(enum a0_outage_kind kind);

struct a0_outage {
	const char *dir;      /* cfg->state_dir, e.g. /run/pam_auth0 */
	unsigned backoff_min; /* seconds */
	unsigned backoff_max; /* seconds, >= backoff_min */
	unsigned probe_lease; /* seconds a probing login may take (its network bound) */
};

/*
 * May this login ask the tenant? 0: yes (*ret_probe set when it is the one probe of a known
 * outage); A0_ERR_NETWORK: the host is known offline, *ret_wait seconds to the next check.
 * Trouble with the state (not root, unsafe directory or file) is 0 with *ret_unkept set.
 */
int a0_outage_check(const struct a0_outage *o, time_t now, bool *ret_probe, unsigned *ret_wait,
		    bool *ret_unkept);

/*
 * Remember the outcome of a login request of this class: ANSWERED clears the outage, OFFLINE
 * starts one at backoff_min or, from the probe (a0_outage_check's *ret_probe), doubles its
 * backoff; another login's offline failure while the outage is known (it was under way when
 * the outage began) leaves it, so that a burst of them does not jump to backoff_max. The other
 * kinds leave it. *ret_was_offline (may be NULL): a state was there.
 */
void a0_outage_record(const struct a0_outage *o, enum a0_outage_kind kind, bool probe, time_t now,
		      bool *ret_was_offline);

/*
 * The known-offline state as it is, for auth0-pam(8) status: read only, never claims the probe
 * nor creates anything. 0 and the next check (seconds since the epoch: may be past, then the
 * next login asks) and the backoff when an outage is known; A0_ERR_NOT_FOUND when none is;
 * A0_ERR_CONFIG (reason) when the directory or the file is one a0_outage_check would not
 * trust (not root's, writable by others), so that no state is kept.
 */
int a0_outage_peek(const char *dir, long long *ret_next, unsigned *ret_backoff, char *reason,
		   size_t reasonlen);

#endif
