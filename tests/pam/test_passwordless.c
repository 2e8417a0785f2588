/* SPDX-License-Identifier: MIT */
/*
 * Passwordless sign-in in a real PAM stack (pam_wrapper + libpamtest) against the fake tenant:
 * login_methods = email or sms sends a code to the address users_file gives the account, the
 * user types the code the "mail" brought (the fake's outbox, read by the conversation as a
 * person reads their mail), and the ID token binds to the account as after a password; MFA
 * follows when the tenant asks for it. Run under tests/with-fake-tenant.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_test"
#define TIMEOUT 2
#define MAX_SEEN 4096
#define GRANT "http://auth0.com/oauth/grant-type/passwordless/otp"

static struct fake fake;
static char run_dir[64];

/* The person at the conversation: where their code arrives, how many wrong codes they type
 * first, the TOTP secret for an MFA prompt, and everything they were shown. */
struct person {
	const char *address;
	int wrong_first;
	const char *totp_secret;
	int code_prompts, other_prompts;
	char seen[MAX_SEEN];
};

static char *outbox_code(const char *to)
{
	cJSON *box = fake_get(&fake, "/__control/passwordless/outbox"), *m;
	char *code = NULL;

	cJSON_ArrayForEach(m, box) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(m, "to"));
		const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(m, "code"));

		if (t && c && strcmp(t, to) == 0) {
			free(code);
			code = strdup(c);
		}
	}
	cJSON_Delete(box);
	return code;
}

static void note(struct person *p, const char *kind, const char *text)
{
	size_t n = strlen(p->seen);

	snprintf(p->seen + n, sizeof(p->seen) - n, "%s%s\n", kind, text ? text : "");
}

static char *answer(struct person *p, const struct pam_message *msg)
{
	char otp[7];

	if (msg->msg_style == PAM_PROMPT_ECHO_OFF && strstr(msg->msg, "Code sent by")) {
		char *code = outbox_code(p->address);

		p->code_prompts++;
		if (code && p->wrong_first > 0) {
			p->wrong_first--;
			code[0] = code[0] == '9' ? '1' : (char)(code[0] + 1);
		}
		return code;
	}
	p->other_prompts++;
	if (p->totp_secret && strstr(msg->msg, "One-time code")) {
		totp(p->totp_secret, (long long)time(NULL), otp);
		return strdup(otp);
	}
	return NULL; /* a prompt this person does not expect: the conversation fails */
}

static int conv(int n, const struct pam_message **msgs, struct pam_response **ret, void *data)
{
	struct person *p = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const struct pam_message *msg = msgs[i];

		switch (msg->msg_style) {
		case PAM_TEXT_INFO:
			note(p, "info: ", msg->msg);
			break;
		case PAM_ERROR_MSG:
			note(p, "error: ", msg->msg);
			break;
		default:
			note(p, "prompt: ", msg->msg);
			r[i].resp = answer(p, msg);
			if (!r[i].resp) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_CONV_ERR;
			}
		}
	}
	*ret = r;
	return PAM_SUCCESS;
}

static int authenticate(const char *user, struct person *p)
{
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	enum pamtest_err perr;

	perr = _pamtest_conv(SERVICE, user, conv, p, tests, A0_ARRAY_SIZE(tests), NULL);
	assert_pamtest_ran(perr);
	return tests[0].op_rv;
}

static void configure(const char *extra)
{
	write_module_conf(run_dir, &fake, TIMEOUT, NULL, extra);
}

static int reset(void **state)
{
	char cmd[128];

	fake_control(&fake, "POST", "/__control/reset", "{}");
	configure(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/run'", run_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int warm_jwks_cache(void **state)
{
	struct person p = { .address = "a0alice@example.com" };

	reset(state);
	configure("login_methods = email");
	return authenticate("a0alice", &p) == PAM_SUCCESS ? 0 : -1;
}

static void test_email(void **state)
{
	struct person p = { .address = "a0alice@example.com" };

	configure("login_methods = email");
	assert_pam(authenticate("a0alice", &p), PAM_SUCCESS);
	assert_non_null(strstr(p.seen, "a***@example.com"));
	assert_null(strstr(p.seen, "a0alice@example.com")); /* shown masked only */
	assert_null(strstr(p.seen, "Password"));            /* no password asked */
	assert_int_equal(p.code_prompts, 1);
	assert_int_equal(fake_count(&fake, "/passwordless/start", NULL), 1);
	assert_int_equal(fake_count(&fake, "/oauth/token", GRANT), 1);
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), 1);
}

static void test_sms_wrong_code_then_right(void **state)
{
	struct person p = { .address = "+15550100001", .wrong_first = 1 };

	configure("login_methods = sms");
	assert_pam(authenticate("a0alice", &p), PAM_SUCCESS);
	assert_non_null(strstr(p.seen, "+*********01"));
	assert_non_null(strstr(p.seen, "That code is not right"));
	assert_int_equal(p.code_prompts, 2);
	assert_int_equal(fake_count(&fake, "/oauth/token", GRANT), 2);
}

static void test_wrong_codes(void **state)
{
	struct person p = { .address = "+15550100001", .wrong_first = 10 };

	configure("login_methods = sms\nmfa_retries = 2");
	assert_pam(authenticate("a0alice", &p), PAM_AUTH_ERR);
	assert_int_equal(p.code_prompts, 2);
}

static void test_mfa_after_passwordless(void **state)
{
	struct person p = { .address = "a0otp@example.com", .totp_secret = "JBSWY3DPEHPK3PXP" };

	configure("login_methods = email");
	assert_pam(authenticate("a0otp", &p), PAM_SUCCESS);
	assert_int_equal(p.code_prompts, 1);
	assert_int_equal(p.other_prompts, 1); /* the one-time code of the authenticator app */
	assert_int_equal(fake_count(&fake, "/oauth/token", GRANT), 1);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 1);
}

static void test_no_address(void **state)
{
	struct person p = { .address = "+15550100002" };

	/* users_file gives a0bob no phone: nothing is sent, the login fails. */
	configure("login_methods = sms");
	assert_int_not_equal(authenticate("a0bob", &p), PAM_SUCCESS);
	assert_int_equal(fake_count(&fake, "/passwordless/start", NULL), 0);
	assert_int_equal(p.code_prompts, 0);
}

static void test_rate_limited(void **state)
{
	struct person p = { .address = "a0alice@example.com" };

	configure("login_methods = email");
	fake_control(&fake, "POST", "/__control/passwordless",
		     "{\"connection\":\"email\",\"rate_limit_per_hour\":0}");
	assert_int_not_equal(authenticate("a0alice", &p), PAM_SUCCESS);
	assert_int_equal(p.code_prompts, 0);
}

static void write_services(const char *dir, const char *services)
{
	const char *module = getenv("A0_MODULE");
	char path[192], text[1024];

	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required %s config=%s/pam_auth0.conf\n",
		 module, dir, module, dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-pwl", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	fake_init(&fake);

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_email),       T(test_sms_wrong_code_then_right),
		T(test_wrong_codes), T(test_mfa_after_passwordless),
		T(test_no_address),  T(test_rate_limited),
	};

	return cmocka_run_group_tests(tests, warm_jwks_cache, NULL);
}
