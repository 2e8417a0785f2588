/* SPDX-License-Identifier: MIT */
/* When Auth0 cannot be reached: the classification and the known-offline state (outage.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/outage.h"
#include "lib/util.h"

#define LOCK_FILE A0_OUTAGE_FILE ".lock"
#define STATE_MAX 64      /* "v1 <next check> <backoff>\n" */
#define MAX_PATH_LEN 4096 /* of dir/offline */

enum a0_outage_kind a0_outage_kind(int err, const struct a0_result *res)
{
	switch (err) {
	case 0:
	/* What the tenant said of the user or the request: a verdict, not an outage. */
	case A0_ERR_DENIED:            /* invalid_grant, access_denied, wrong code */
	case A0_ERR_BLOCKED:           /* blocked_user */
	case A0_ERR_TOO_MANY_ATTEMPTS: /* 429 too_many_attempts: brute-force protection */
	case A0_ERR_CLIENT:            /* unauthorized_client, ... */
	case A0_ERR_MFA_REQUIRED:
	case A0_ERR_PENDING:
	case A0_ERR_SLOW_DOWN:
	case A0_ERR_EXPIRED:       /* expired_token: the mfa_token is too old */
	case A0_ERR_REJECTED:      /* the user rejected the push or the device sign-in */
	case A0_ERR_NOT_APPROVED:  /* nobody approved the device sign-in in time */
	case A0_ERR_NOT_ENROLLED:  /* mfa_* */
	case A0_ERR_TOKEN_INVALID: /* the tenant answered with a token that failed */
	case A0_ERR_UNKNOWN_KID:
	case A0_ERR_POLICY:
		return A0_OUTAGE_ANSWERED;
	case A0_ERR_AUTH0:
		/* Another error code: a verdict, unless the status says the service failed. */
		if (res && (res->status >= 500 || res->status == 429))
			return A0_OUTAGE_OFFLINE;
		return A0_OUTAGE_ANSWERED;
	/* The tenant could not be asked. A 429 too_many_requests is the tenant's rate limit,
	 * no verdict on the user. */
	case A0_ERR_NETWORK: /* DNS, refused, reset */
	case A0_ERR_TIMEOUT:
	case A0_ERR_SERVER: /* 5xx */
	case A0_ERR_RATE_LIMITED:
		return A0_OUTAGE_OFFLINE;
	/* Someone answered with a certificate the host does not trust: maybe not the tenant. */
	case A0_ERR_TLS:
		return A0_OUTAGE_INTERCEPTED;
	default:
		/* This host's trouble (memory, conversation, configuration, the process talking
		 * to Auth0) or an answer that is none (malformed, too large). */
		return A0_OUTAGE_LOCAL;
	}
}

const char *a0_outage_kind_name(enum a0_outage_kind kind)
{
	switch (kind) {
	case A0_OUTAGE_ANSWERED:
		return "ANSWERED";
	case A0_OUTAGE_OFFLINE:
		return "OFFLINE";
	case A0_OUTAGE_INTERCEPTED:
		return "INTERCEPTED";
	case A0_OUTAGE_LOCAL:
		return "LOCAL";
	}
	return "LOCAL";
}

struct state {
	long long next; /* the next check, seconds since the epoch */
	unsigned backoff;
};

/* The state directory, and its lock taken: 0 with both descriptors, or -1 (no state kept). */
static int open_locked(const struct a0_outage *o, int *ret_dir, int *ret_lock)
{
	struct stat st;
	int dir, lock;

	if (geteuid() != 0 || !o->dir || o->backoff_min == 0)
		return -1;
	if ((dir = a0_open_root_dir(AT_FDCWD, o->dir, 0755)) < 0)
		return -1;
	lock = openat(dir, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (lock < 0 || fstat(lock, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) || flock(lock, LOCK_EX) < 0) {
		if (lock >= 0)
			(void)close(lock);
		(void)close(dir);
		return -1;
	}
	*ret_dir = dir;
	*ret_lock = lock;
	return 0;
}

/* The state, when there is a trustworthy one: root's, a regular file nobody else may write. */
static bool read_state(int dir, struct state *ret)
{
	char buf[STATE_MAX + 1];
	struct stat st;
	long long next;
	unsigned backoff;
	ssize_t n;
	int fd;

	fd = openat(dir, A0_OUTAGE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		(void)close(fd);
		return false;
	}
	n = a0_read_full(fd, buf, STATE_MAX);
	(void)close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (sscanf(buf, "v1 %lld %u", &next, &backoff) != 2 || next < 0 || backoff == 0)
		return false;
	ret->next = next;
	ret->backoff = backoff;
	return true;
}

/* Atomically, 0644 root's (nothing secret: the time of the next check). */
static void write_state(const struct a0_outage *o, const struct state *s)
{
	char path[MAX_PATH_LEN], buf[STATE_MAX];
	int n = snprintf(buf, sizeof(buf), "v1 %lld %u\n", s->next, s->backoff);

	if (n <= 0 || n >= (int)sizeof(buf) ||
	    snprintf(path, sizeof(path), "%s/%s", o->dir, A0_OUTAGE_FILE) >= (int)sizeof(path))
		return;
	/* A state that could not be written is no outage known: the next login asks. */
	(void)a0_replace_file(path, buf, (size_t)n, 0644);
}

static void close_locked(int dir, int lock)
{
	(void)close(lock); /* drops the lock */
	(void)close(dir);
}

int a0_outage_check(const struct a0_outage *o, time_t now, bool *ret_probe, unsigned *ret_wait,
		    bool *ret_unkept)
{
	struct state s;
	int dir, lock, r = 0;

	*ret_probe = false;
	*ret_unkept = false;
	if (open_locked(o, &dir, &lock) < 0) {
		*ret_unkept = o->backoff_min != 0;
		return 0;
	}
	if (!read_state(dir, &s))
		goto out;
	/* A next check further out than the longest backoff and a lease is from a clock that
	 * went back: stale, asked now. */
	if ((long long)now < s.next &&
	    s.next - (long long)now <= (long long)o->backoff_max + o->probe_lease) {
		*ret_wait = (unsigned)(s.next - (long long)now);
		r = A0_ERR_NETWORK;
		goto out;
	}
	/* This login probes: the others keep the fast path for as long as it may take. */
	s.next = (long long)now + (o->probe_lease ? o->probe_lease : 1);
	write_state(o, &s);
	*ret_probe = true;
out:
	close_locked(dir, lock);
	return r;
}

void a0_outage_record(const struct a0_outage *o, enum a0_outage_kind kind, bool probe, time_t now,
		      bool *ret_was_offline)
{
	struct state s;
	bool had;
	int dir, lock;

	if (ret_was_offline)
		*ret_was_offline = false;
	if (kind != A0_OUTAGE_ANSWERED && kind != A0_OUTAGE_OFFLINE)
		return;
	if (open_locked(o, &dir, &lock) < 0)
		return;
	had = read_state(dir, &s);
	if (ret_was_offline)
		*ret_was_offline = had;
	if (kind == A0_OUTAGE_ANSWERED) {
		/* An untrusted file goes too: it is in root's directory, and never counted. */
		(void)unlinkat(dir, A0_OUTAGE_FILE, 0);
	} else {
		unsigned max = o->backoff_max < o->backoff_min ? o->backoff_min : o->backoff_max;

		if (had && !probe)
			goto out; /* known already: the probe's outcome decides */
		if (!had)
			s.backoff = o->backoff_min;
		else
			s.backoff = s.backoff > max / 2 ? max : s.backoff * 2;
		if (s.backoff < o->backoff_min)
			s.backoff = o->backoff_min;
		s.next = (long long)now + s.backoff;
		write_state(o, &s);
	}
out:
	close_locked(dir, lock);
}

int a0_outage_peek(const char *dir, long long *ret_next, unsigned *ret_backoff, char *reason,
		   size_t reasonlen)
{
	struct state s;
	struct stat st;
	int fd, r;

	/* As the writers open it (open_locked), but never made here. */
	fd = a0_open_root_dir(AT_FDCWD, dir, 0);
	if (fd < 0 && errno == ENOENT)
		return A0_ERR_NOT_FOUND;
	if (fd < 0) {
		a0_format(reason, reasonlen, "%s: %s", dir,
			  errno == EPERM ? "not root's, or writable by others" : strerror(errno));
		return A0_ERR_CONFIG;
	}
	r = A0_ERR_NOT_FOUND;
	if (read_state(fd, &s)) {
		*ret_next = s.next;
		*ret_backoff = s.backoff;
		r = 0;
	} else if (fstatat(fd, A0_OUTAGE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		a0_format(reason, reasonlen, "%s/%s: not root's, writable by others or malformed",
			  dir, A0_OUTAGE_FILE);
		r = A0_ERR_CONFIG;
	}
	(void)close(fd);
	return r;
}
