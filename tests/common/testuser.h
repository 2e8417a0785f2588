/* SPDX-License-Identifier: MIT */
/*
 * Throwaway local accounts for the keyring tests, which need real uids (key ownership, quota,
 * a second user who must not see the keys). Created with useradd (no home, group "users"),
 * removed with userdel together with the kernel keyrings the tests made them; accounts left
 * by a test program that died are swept at the next run. Needs root.
 */
#ifndef A0_TEST_TESTUSER_H
#define A0_TEST_TESTUSER_H

#include <stdbool.h>
#include <sys/types.h>

struct test_user {
	char name[32];
	uid_t uid;
	gid_t gid;
};

/* Create an account named <prefix><pid><tag>; false (with a message) when that fails. */
bool test_user_create(const char *prefix, char tag, struct test_user *ret);
/* Invalidate its user and user-session keyrings, then remove the account. */
void test_user_remove(const struct test_user *u);
/* Remove accounts of earlier runs whose program is gone. */
void test_user_sweep(void);

/*
 * Run fn(ctx) in a forked child that is u for good (groups, real, effective and saved ids),
 * in a session keyring of its own when fresh_session; the child's exit status is fn's result
 * (0: success), 99 when becoming u failed. Returns that status, or -1 when the child died.
 */
int test_as_user(const struct test_user *u, bool fresh_session, int (*fn)(void *ctx), void *ctx);

#endif
