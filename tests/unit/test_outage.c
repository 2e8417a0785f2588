/* SPDX-License-Identifier: MIT */
/*
 * When Auth0 cannot be reached (lib/outage.h): the classification table, and the known-offline
 * state on a real directory: backoff doubling to its cap, the one probe's lease, clearing by an
 * answer, and files that are not trusted (not root's, writable by others, a symlink). The state
 * tests need root and skip otherwise.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/auth0.h"
#include "lib/error.h"
#include "lib/outage.h"
#include "tests/common/assert.h"

static char dir[64];

static void test_classification(void **state)
{
	static const struct {
		int err;
		long status;
		enum a0_outage_kind kind;
	} table[] = {
		{ 0, 200, A0_OUTAGE_ANSWERED },
		/* offline: the tenant could not be asked */
		{ A0_ERR_NETWORK, 0, A0_OUTAGE_OFFLINE }, /* DNS, refused, reset */
		{ A0_ERR_TIMEOUT, 0, A0_OUTAGE_OFFLINE },
		{ A0_ERR_SERVER, 500, A0_OUTAGE_OFFLINE },
		{ A0_ERR_SERVER, 503, A0_OUTAGE_OFFLINE },
		{ A0_ERR_RATE_LIMITED, 429, A0_OUTAGE_OFFLINE }, /* too_many_requests */
		{ A0_ERR_AUTH0, 502, A0_OUTAGE_OFFLINE },
		/* deny: a verdict on the user or the request */
		{ A0_ERR_DENIED, 403, A0_OUTAGE_ANSWERED }, /* invalid_grant, access_denied */
		{ A0_ERR_BLOCKED, 401, A0_OUTAGE_ANSWERED },
		{ A0_ERR_TOO_MANY_ATTEMPTS, 429, A0_OUTAGE_ANSWERED }, /* brute-force protection */
		{ A0_ERR_CLIENT, 403, A0_OUTAGE_ANSWERED },            /* unauthorized_client */
		{ A0_ERR_MFA_REQUIRED, 403, A0_OUTAGE_ANSWERED },
		{ A0_ERR_NOT_ENROLLED, 403, A0_OUTAGE_ANSWERED },
		{ A0_ERR_EXPIRED, 403, A0_OUTAGE_ANSWERED },
		{ A0_ERR_REJECTED, 403, A0_OUTAGE_ANSWERED },
		{ A0_ERR_PENDING, 400, A0_OUTAGE_ANSWERED },
		{ A0_ERR_SLOW_DOWN, 429, A0_OUTAGE_ANSWERED },
		{ A0_ERR_AUTH0, 400, A0_OUTAGE_ANSWERED },
		{ A0_ERR_TOKEN_INVALID, 200, A0_OUTAGE_ANSWERED },
		{ A0_ERR_POLICY, 200, A0_OUTAGE_ANSWERED },
		/* never offline */
		{ A0_ERR_TLS, 0, A0_OUTAGE_INTERCEPTED },
		/* this host's own trouble, or an answer that is none */
		{ A0_ERR_MALFORMED, 200, A0_OUTAGE_LOCAL },
		{ A0_ERR_TOO_LARGE, 200, A0_OUTAGE_LOCAL },
		{ A0_ERR_NOMEM, 0, A0_OUTAGE_LOCAL },
		{ A0_ERR_SYSTEM, 0, A0_OUTAGE_LOCAL },
		{ A0_ERR_CONV, 0, A0_OUTAGE_LOCAL },
		{ A0_ERR_CONFIG, 0, A0_OUTAGE_LOCAL },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct a0_result res = { .status = table[i].status, .retry_after = -1 };
		enum a0_outage_kind got = a0_outage_kind(table[i].err, &res);

		if (got != table[i].kind)
			fail_msg("%s (HTTP %ld): %s, not %s", a0_err_name(table[i].err),
				 table[i].status, a0_outage_kind_name(got),
				 a0_outage_kind_name(table[i].kind));
	}
	/* Without an answer to look at, the code alone decides. */
	assert_int_equal(a0_outage_kind(A0_ERR_AUTH0, NULL), A0_OUTAGE_ANSWERED);
	assert_int_equal(a0_outage_kind(A0_ERR_TIMEOUT, NULL), A0_OUTAGE_OFFLINE);
}

/* Known offline at now? The seconds to wait, 0 when this caller may ask (probe or not). */
static int known(const struct a0_outage *o, time_t now, bool *ret_probe)
{
	bool probe = false, unkept = true;
	unsigned wait = 0;
	int r = a0_outage_check(o, now, &probe, &wait, &unkept);

	assert_false(unkept);
	if (ret_probe)
		*ret_probe = probe;
	if (r == 0)
		return 0;
	assert_a0(r, A0_ERR_NETWORK);
	assert_true(wait > 0);
	return (int)wait;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip(); /* the state is kept only as root */
}

static void test_backoff_and_probe(void **state)
{
	struct a0_outage o = { dir, 30, 100, 20 };
	time_t t = 1000000;
	bool probe = true, was = true;

	need_root();
	/* Nothing known: ask, and no probe. */
	assert_int_equal(known(&o, t, &probe), 0);
	assert_false(probe);
	/* An answer (or a verdict) on a host not known offline changes nothing. */
	a0_outage_record(&o, A0_OUTAGE_ANSWERED, false, t, &was);
	assert_false(was);
	/* An offline failure: 30 s without asking. */
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, false, t, &was);
	assert_false(was);
	assert_int_equal(known(&o, t, NULL), 30);
	assert_int_equal(known(&o, t + 29, NULL), 1);
	/* Another login's failure (under way when the outage began) neither doubles nor moves it:
	 * a burst of them must not jump to the cap. */
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, false, t + 5, &was);
	assert_true(was);
	assert_int_equal(known(&o, t + 5, NULL), 25);
	/* Intercepted and local failures leave it as it is. */
	a0_outage_record(&o, A0_OUTAGE_INTERCEPTED, false, t + 1, NULL);
	a0_outage_record(&o, A0_OUTAGE_LOCAL, false, t + 1, NULL);
	assert_int_equal(known(&o, t + 10, NULL), 20);
	/* Due: the first caller probes, the others wait for its lease. */
	assert_int_equal(known(&o, t + 30, &probe), 0);
	assert_true(probe);
	assert_int_equal(known(&o, t + 30, &probe), 20);
	assert_int_equal(known(&o, t + 45, &probe), 5);
	/* The probe failed: twice the backoff (60), then the cap (100). */
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, true, t + 32, &was);
	assert_true(was);
	assert_int_equal(known(&o, t + 32, NULL), 60);
	assert_int_equal(known(&o, t + 92, &probe), 0);
	assert_true(probe);
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, true, t + 92, NULL);
	assert_int_equal(known(&o, t + 92, NULL), 100);
	assert_int_equal(known(&o, t + 192, &probe), 0);
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, true, t + 192, NULL);
	assert_int_equal(known(&o, t + 192, NULL), 100);
	/* A probe that never reports: its lease ends and another login probes. */
	assert_int_equal(known(&o, t + 292, &probe), 0);
	assert_true(probe);
	assert_int_equal(known(&o, t + 312, &probe), 0);
	assert_true(probe);
	/* The tenant answered: cleared, and the next outage starts at the first backoff. */
	a0_outage_record(&o, A0_OUTAGE_ANSWERED, false, t + 313, &was);
	assert_true(was);
	assert_int_equal(known(&o, t + 313, &probe), 0);
	assert_false(probe);
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, false, t + 400, NULL);
	assert_int_equal(known(&o, t + 400, NULL), 30);
	/* A next check beyond any backoff is from a clock that went back: asked now. */
	assert_int_equal(known(&o, t + 400 - 1000, &probe), 0);
	a0_outage_record(&o, A0_OUTAGE_ANSWERED, false, t, NULL);
	/* offline_backoff_min = 0: no state at all. */
	o.backoff_min = 0;
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, false, t, NULL);
	o.backoff_min = 30;
	assert_int_equal(known(&o, t, NULL), 0);
}

static void plant(const char *text, uid_t uid, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/offline", dir);
	(void)unlink(path);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chown(path, uid, 0), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_untrusted_state_ignored(void **state)
{
	struct a0_outage o = { dir, 30, 600, 20 };
	char path[128], target[128];
	time_t t = 1000000;

	need_root();
	/* The file as the module writes it is trusted. */
	plant("v1 1000050 30\n", 0, 0644);
	assert_int_equal(known(&o, t, NULL), 50);
	/* Not root's, or writable by others or the group: the network is tried. */
	plant("v1 1000050 30\n", 1000, 0644);
	assert_int_equal(known(&o, t, NULL), 0);
	plant("v1 1000050 30\n", 0, 0666);
	assert_int_equal(known(&o, t, NULL), 0);
	plant("v1 1000050 30\n", 0, 0664);
	assert_int_equal(known(&o, t, NULL), 0);
	/* Garbage is no state. */
	plant("v2 1000050 30\n", 0, 0644);
	assert_int_equal(known(&o, t, NULL), 0);
	plant("v1 1000050 0\n", 0, 0644);
	assert_int_equal(known(&o, t, NULL), 0);
	/* A symlink to a good-looking file is not followed. */
	snprintf(path, sizeof(path), "%s/offline", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	(void)unlink(path);
	plant("v1 1000050 30\n", 0, 0644);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(known(&o, t, NULL), 0);
	/* A new outage replaces whatever was there, as root's 0644 file. */
	a0_outage_record(&o, A0_OUTAGE_OFFLINE, false, t, NULL);
	assert_int_equal(known(&o, t, NULL), 30);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	a0_outage_record(&o, A0_OUTAGE_ANSWERED, false, t, NULL);
	assert_int_equal(lstat(path, &st), -1);
}

static void test_unsafe_directory(void **state)
{
	struct a0_outage o = { dir, 30, 600, 20 };
	bool probe, unkept = false;
	unsigned wait = 0;

	need_root();
	plant("v1 1000050 30\n", 0, 0644);
	/* A directory others may write is not trusted: no state, and the caller is told. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_a0(a0_outage_check(&o, 1000000, &probe, &wait, &unkept), 0);
	assert_true(unkept);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(known(&o, 1000000, NULL), 50);
	a0_outage_record(&o, A0_OUTAGE_ANSWERED, false, 1000000, NULL);
}

/* status's read-only look (a0_outage_peek): the state as the writers keep it, a directory it
 * does not make, and one it does not trust. */
static void test_peek(void **state)
{
	char missing[300], reason[256] = "";
	long long next = 0;
	unsigned backoff = 0;
	struct stat st;

	(void)state;
	need_root();
	snprintf(missing, sizeof(missing), "%s/not-there", dir);
	assert_a0(a0_outage_peek(missing, &next, &backoff, reason, sizeof(reason)),
		  A0_ERR_NOT_FOUND);
	assert_int_equal(stat(missing, &st), -1); /* not made */
	assert_a0(a0_outage_peek(dir, &next, &backoff, reason, sizeof(reason)), A0_ERR_NOT_FOUND);
	plant("v1 1000050 30\n", 0, 0644);
	assert_a0(a0_outage_peek(dir, &next, &backoff, reason, sizeof(reason)), 0);
	assert_int_equal(next, 1000050);
	assert_int_equal(backoff, 30);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_a0(a0_outage_peek(dir, &next, &backoff, reason, sizeof(reason)), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "not root's, or writable by others"));
	assert_int_equal(chmod(dir, 0755), 0);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/a0-outage-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return chmod(dir, 0755);
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_backoff_and_probe),
		cmocka_unit_test(test_untrusted_state_ignored),
		cmocka_unit_test(test_unsafe_directory),
		cmocka_unit_test(test_peek),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
