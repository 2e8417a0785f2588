/* SPDX-License-Identifier: MIT */
/*
 * Assertions on result codes that fail in words. cmocka prints a failed assert_int_equal on two
 * error codes as "0xfffffffffffffff5 != 0xfffffffffffffff8"; these print where, what was
 * asserted, and both codes by name:
 *
 *   tests/pam/test_login.c:183: simple_login("a0alice", "wrong")
 *       expected PAM_AUTH_ERR (7)
 *       actual   PAM_SUCCESS (0)
 *
 * then fail the test through cmocka.
 *
 *   assert_a0(r, A0_ERR_DENIED)        the project's codes (lib/error.h), 0 is A0_OK
 *   assert_pam(r, PAM_AUTH_ERR)        PAM's result codes, by their macro names
 *   assert_pamtest_ran(perr)           libpamtest ran the cases (each op_rv holds a result)
 *   assert_pamtest(perr, tests)        ... and each returned its expected_rv
 *
 * The credentials codes (assert_code) and the command's exit status (assert_exit) are in
 * tests/credentials/common.h, next to the library they take the names from. Everything here is
 * static inline, so that a program links nothing more for including it. Include after <cmocka.h>.
 */
#ifndef A0_TEST_ASSERT_H
#define A0_TEST_ASSERT_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

#include "lib/error.h"
#include "lib/util.h"

/* A code's name, written to buf or a constant; NULL when the code has none. */
typedef const char *test_code_namer(int code, char *buf, size_t size);

/* "NAME (value)", or "? (value)" for a code without a name, in buf. */
static inline const char *test_name_value(test_code_namer *name, int code, char *buf, size_t size)
{
	char nbuf[64];
	const char *n = name(code, nbuf, sizeof(nbuf));

	snprintf(buf, size, "%s (%d)", n ? n : "?", code);
	return buf;
}

/*
 * Report a mismatch and fail the test (at file:line, as cmocka's own assertions do). more,
 * when not NULL, follows on its own lines (the command's stderr, for instance).
 */
static inline void test_fail_codes(const char *expr, int expected, int actual,
				   test_code_namer *name, const char *more, const char *file,
				   int line)
{
	char e[96], a[96];

	print_error("%s:%d: %s\n    expected %s\n    actual   %s\n%s%s", file, line, expr,
		    test_name_value(name, expected, e, sizeof(e)),
		    test_name_value(name, actual, a, sizeof(a)), more ? more : "",
		    more && *more && more[strlen(more) - 1] != '\n' ? "\n" : "");
	_fail(file, line);
}

static inline void test_assert_codes(int actual, int expected, test_code_namer *name,
				     const char *expr, const char *file, int line)
{
	if (actual != expected)
		test_fail_codes(expr, expected, actual, name, NULL, file, line);
}

/* a0_err_name() says "AUTH0" for any code it does not know: that is no name. */
static inline const char *test_a0_name(int code, char *buf, size_t size)
{
	const char *name = a0_err_name(code);

	if (code == A0_OK)
		return "A0_OK";
	if (code != A0_ERR_AUTH0 && strcmp(name, "AUTH0") == 0)
		return NULL;
	snprintf(buf, size, "A0_ERR_%s", name);
	return buf;
}

/* PAM's result codes by their macro names, indexed by value (<security/_pam_types.h>). */
/* names[code] of a table indexed by code, or NULL for a code outside it. */
static inline const char *test_name_at(const char *const *names, size_t n, int code)
{
	return code < 0 || (size_t)code >= n ? NULL : names[code];
}

static inline const char *test_pam_name(int code, char *buf, size_t size)
{
#define A0_TEST_NAME(c) [c] = #c
	static const char *const names[] = {
		A0_TEST_NAME(PAM_SUCCESS),
		A0_TEST_NAME(PAM_OPEN_ERR),
		A0_TEST_NAME(PAM_SYMBOL_ERR),
		A0_TEST_NAME(PAM_SERVICE_ERR),
		A0_TEST_NAME(PAM_SYSTEM_ERR),
		A0_TEST_NAME(PAM_BUF_ERR),
		A0_TEST_NAME(PAM_PERM_DENIED),
		A0_TEST_NAME(PAM_AUTH_ERR),
		A0_TEST_NAME(PAM_CRED_INSUFFICIENT),
		A0_TEST_NAME(PAM_AUTHINFO_UNAVAIL),
		A0_TEST_NAME(PAM_USER_UNKNOWN),
		A0_TEST_NAME(PAM_MAXTRIES),
		A0_TEST_NAME(PAM_NEW_AUTHTOK_REQD),
		A0_TEST_NAME(PAM_ACCT_EXPIRED),
		A0_TEST_NAME(PAM_SESSION_ERR),
		A0_TEST_NAME(PAM_CRED_UNAVAIL),
		A0_TEST_NAME(PAM_CRED_EXPIRED),
		A0_TEST_NAME(PAM_CRED_ERR),
		A0_TEST_NAME(PAM_NO_MODULE_DATA),
		A0_TEST_NAME(PAM_CONV_ERR),
		A0_TEST_NAME(PAM_AUTHTOK_ERR),
		A0_TEST_NAME(PAM_AUTHTOK_RECOVERY_ERR),
		A0_TEST_NAME(PAM_AUTHTOK_LOCK_BUSY),
		A0_TEST_NAME(PAM_AUTHTOK_DISABLE_AGING),
		A0_TEST_NAME(PAM_TRY_AGAIN),
		A0_TEST_NAME(PAM_IGNORE),
		A0_TEST_NAME(PAM_ABORT),
		A0_TEST_NAME(PAM_AUTHTOK_EXPIRED),
		A0_TEST_NAME(PAM_MODULE_UNKNOWN),
		A0_TEST_NAME(PAM_BAD_ITEM),
		A0_TEST_NAME(PAM_CONV_AGAIN),
		A0_TEST_NAME(PAM_INCOMPLETE),
	};
#undef A0_TEST_NAME

	(void)buf;
	(void)size;
	return test_name_at(names, A0_ARRAY_SIZE(names), code);
}

/* libpamtest's enum pamtest_err. */
static inline const char *test_pamtest_name(int code, char *buf, size_t size)
{
#define A0_TEST_NAME(c) [c] = #c
	static const char *const names[] = {
		A0_TEST_NAME(PAMTEST_ERR_OK),       A0_TEST_NAME(PAMTEST_ERR_START),
		A0_TEST_NAME(PAMTEST_ERR_CASE),     A0_TEST_NAME(PAMTEST_ERR_OP),
		A0_TEST_NAME(PAMTEST_ERR_END),      A0_TEST_NAME(PAMTEST_ERR_KEEPHANDLE),
		A0_TEST_NAME(PAMTEST_ERR_INTERNAL),
	};
#undef A0_TEST_NAME

	(void)buf;
	(void)size;
	return test_name_at(names, A0_ARRAY_SIZE(names), code);
}

static inline const char *test_pamtest_op_name(int op)
{
	switch (op) {
	case PAMTEST_AUTHENTICATE:
		return "PAMTEST_AUTHENTICATE";
	case PAMTEST_SETCRED:
		return "PAMTEST_SETCRED";
	case PAMTEST_ACCOUNT:
		return "PAMTEST_ACCOUNT";
	case PAMTEST_OPEN_SESSION:
		return "PAMTEST_OPEN_SESSION";
	case PAMTEST_CLOSE_SESSION:
		return "PAMTEST_CLOSE_SESSION";
	case PAMTEST_CHAUTHTOK:
		return "PAMTEST_CHAUTHTOK";
	case PAMTEST_GETENVLIST:
		return "PAMTEST_GETENVLIST";
	case PAMTEST_KEEPHANDLE:
		return "PAMTEST_KEEPHANDLE";
	}
	return "?";
}

/* For a test's own messages: fail_msg("got %s", name_pam(r)) says "got PAM_AUTH_ERR (7)". */
#define name_a0(code) test_name_value(test_a0_name, (code), (char[96]){ 0 }, 96)
#define name_pam(code) test_name_value(test_pam_name, (code), (char[96]){ 0 }, 96)

#define assert_a0(actual, expected) \
	test_assert_codes((actual), (expected), test_a0_name, #actual, __FILE__, __LINE__)
#define assert_pam(actual, expected) \
	test_assert_codes((actual), (expected), test_pam_name, #actual, __FILE__, __LINE__)

/*
 * run_pamtest's result when every case ran: PAMTEST_ERR_OK, or PAMTEST_ERR_CASE when one
 * returned other than its expected_rv (the caller then checks op_rv with assert_pam).
 */
static inline void test_assert_pamtest_ran(enum pamtest_err perr, const char *expr,
					   const char *file, int line)
{
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE)
		test_fail_codes(expr, PAMTEST_ERR_OK, (int)perr, test_pamtest_name,
				"    (or PAMTEST_ERR_CASE: the cases ran)", file, line);
}

/*
 * run_pamtest's result is PAMTEST_ERR_OK. When a case returned other than its expected_rv,
 * which one, and both PAM results by name.
 */
static inline void test_assert_pamtest(enum pamtest_err perr, const struct pam_testcase *tests,
				       size_t n, const char *expr, const char *file, int line)
{
	char more[256] = "";

	if (perr == PAMTEST_ERR_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (tests[i].op_rv == tests[i].expected_rv)
			continue;
		snprintf(more, sizeof(more), "    case %zu, %s: expected %s, actual %s", i,
			 test_pamtest_op_name(tests[i].pam_operation),
			 name_pam(tests[i].expected_rv), name_pam(tests[i].op_rv));
		break;
	}
	test_fail_codes(expr, PAMTEST_ERR_OK, (int)perr, test_pamtest_name, more, file, line);
}

#define assert_pamtest_ran(perr) test_assert_pamtest_ran((perr), #perr, __FILE__, __LINE__)
#define assert_pamtest(perr, tests)                                                               \
	test_assert_pamtest((perr), (tests), sizeof(tests) / sizeof((tests)[0]), #perr, __FILE__, \
			    __LINE__)

#endif
