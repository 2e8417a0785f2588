/* SPDX-License-Identifier: MIT */
/*
 * Enrolment at login (mfa_enroll, lib/mfa.c) and the password change (pam_sm_chauthtok) in a
 * real PAM stack (pam_wrapper + libpamtest) against the fake tenant: a user with no second
 * factor enrols an authenticator app (the code computed here from the secret the module
 * showed) or a phone (the code read from the fake's outbox), then signs in as usual; a tenant
 * answer that is not fit for the terminal is refused; chauthtok has Auth0 mail an Auth0 user
 * and leaves the local password database (pam_matrix's, below pam_auth0) alone, and ignores a
 * local user. Run under tests/with-fake-tenant.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define SERVICE "pam_auth0_enrol"
#define SERVICE_ARG "pam_auth0_enrol_arg" /* mfa_enroll=otp as a module argument */
#define USER "a0noenroll"
#define PASSWORD "Secret-a0noenroll-1"
#define PHONE "+4915112345678"
#define MAX_MSGS 32
#define TIMEOUT 2 /* seconds per request in the tests' configuration */

static struct fake fake;
static char run_dir[64];

static void configure(const char *extra)
{
	write_module_conf(run_dir, &fake, TIMEOUT, "mfa_retries = 3\n", extra);
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

/* ---- a conversation that reads what the module shows and answers as a person would ---- */

struct person {
	const char *password;
	const char *phone;  /* the answer to the phone prompt */
	int wrong_codes;    /* wrong codes typed before the right one */
	int skip_codes;     /* code prompts answered with a wrong code, then none: all wrong */
	char secret[160];   /* from "Secret key: ", blanks dropped */
	char recovery[128]; /* from "Your recovery code is: " */
	char info[MAX_MSGS][PAM_MAX_MSG_SIZE], err[MAX_MSGS][PAM_MAX_MSG_SIZE];
	int n_info, n_err, prompts, code_prompts, phone_prompts;
	bool control_seen; /* a message held a control character */
};

static void note_message(struct person *p, int style, const char *text)
{
	for (const char *c = text; *c; c++)
		if (((unsigned char)*c < 0x20 && *c != '\n') || *c == 0x7f)
			p->control_seen = true;
	if (style == PAM_TEXT_INFO && p->n_info < MAX_MSGS)
		snprintf(p->info[p->n_info++], PAM_MAX_MSG_SIZE, "%s", text);
	if (style == PAM_ERROR_MSG && p->n_err < MAX_MSGS)
		snprintf(p->err[p->n_err++], PAM_MAX_MSG_SIZE, "%s", text);
	if (strncmp(text, "Secret key: ", 12) == 0) {
		size_t n = 0;

		for (const char *c = text + 12; *c && n + 1 < sizeof(p->secret); c++)
			if (*c != ' ')
				p->secret[n++] = *c;
		p->secret[n] = '\0';
	}
	if (strncmp(text, "Your recovery code is: ", 23) == 0)
		snprintf(p->recovery, sizeof(p->recovery), "%.*s", (int)strcspn(text + 23, "\n"),
			 text + 23);
}

/* The code the fake texted for the enrolment, from its outbox ("" when none). */
static void texted_code(char out[16])
{
	cJSON *box = fake_get(&fake, "/__control/outbox"), *m;

	out[0] = '\0';
	cJSON_ArrayForEach(m, box) {
		const char *tmpl = cJSON_GetStringValue(cJSON_GetObjectItem(m, "template"));

		if (tmpl && strcmp(tmpl, "mfa_enrollment") == 0)
			snprintf(out, 16, "%s",
				 cJSON_GetStringValue(cJSON_GetObjectItem(m, "code")));
	}
	cJSON_Delete(box);
}

static char *answer(struct person *p, const char *prompt)
{
	char code[16];

	p->prompts++;
	if (strstr(prompt, "Password"))
		return strdup(p->password);
	if (strstr(prompt, "Mobile number")) {
		p->phone_prompts++;
		return strdup(p->phone ? p->phone : "");
	}
	if (strstr(prompt, "Press Enter"))
		return strdup("");
	if (strstr(prompt, "One-time code") || strstr(prompt, "Code sent by SMS")) {
		p->code_prompts++;
		if (strstr(prompt, "One-time code")) {
			if (!p->secret[0])
				return NULL;
			totp(p->secret, (long long)time(NULL), code);
		} else {
			texted_code(code);
		}
		if (p->code_prompts <= p->wrong_codes || p->skip_codes)
			/* a code that is not the right one: the right one with its digits turned */
			for (char *c = code; *c; c++)
				*c = (char)('0' + (*c - '0' + 5) % 10);
		return strdup(code);
	}
	return NULL; /* a prompt no person here expects */
}

static int person_conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
		       void *data)
{
	struct person *p = data;
	struct pam_response *r = calloc((size_t)num_msg, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		if (msg[i]->msg_style == PAM_TEXT_INFO || msg[i]->msg_style == PAM_ERROR_MSG) {
			note_message(p, msg[i]->msg_style, msg[i]->msg);
			continue;
		}
		r[i].resp = answer(p, msg[i]->msg);
		if (!r[i].resp) {
			for (int j = 0; j <= i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int run(const char *user, enum pamtest_ops op, struct person *p)
{
	struct pam_testcase tests[] = { pam_test(op, PAM_SUCCESS) };
	enum pamtest_err perr;

	/* libpamtest 1.1.4's run_pamtest_conv macro lacks a parenthesis: call what it wraps. */
	perr = _pamtest_conv(SERVICE, user, person_conv, p, tests, 1, NULL);
	assert_pamtest_ran(perr);
	return tests[0].op_rv;
}

static bool shown(char list[][PAM_MAX_MSG_SIZE], int n, const char *text)
{
	for (int i = 0; i < n; i++)
		if (strstr(list[i], text))
			return true;
	return false;
}

/* Enrolments the fake confirmed (its stats), since the last reset. */
static int enrolments(void)
{
	cJSON *stats = fake_get(&fake, "/__control/stats"), *n;
	int r;

	n = cJSON_GetObjectItem(stats, "enrolments");
	r = n ? n->valueint : 0;
	cJSON_Delete(stats);
	return r;
}

/* ---- enrolment ---- */

static void test_enrol_otp_then_normal_login(void **state)
{
	struct person p = { .password = PASSWORD }, again = { .password = PASSWORD };

	configure("mfa_enroll = otp");
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_SUCCESS);
	assert_int_equal(strlen(p.secret), 32);
	assert_true(shown(p.info, p.n_info, "Setup address (otpauth URI): otpauth://totp/"));
	/* ... and as a QR code for the app's camera (device_qr's default, UTF-8 half blocks). */
	assert_true(shown(p.info, p.n_info, "Scan this QR code with your authenticator app:"));
	assert_true(shown(p.info, p.n_info, "\xe2\x96\x88")); /* U+2588, a full block */
	assert_true(shown(p.info, p.n_info, "Your recovery code is: "));
	assert_int_equal((int)strlen(p.recovery), 24);
	assert_false(p.control_seen);
	assert_int_equal(fake_count(&fake, "/mfa/associate", NULL), 1);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 1);
	assert_int_equal(enrolments(), 1);

	/* The next login is a normal OTP login with the enrolled app: no enrolment. */
	snprintf(again.secret, sizeof(again.secret), "%s", p.secret);
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &again), PAM_SUCCESS);
	assert_int_equal(fake_count(&fake, "/mfa/associate", NULL), 1);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 2);
	assert_false(shown(again.info, again.n_info, "Secret key"));
	assert_int_equal(again.code_prompts, 1);
}

static void test_enrol_as_module_argument(void **state)
{
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	struct person p = { .password = PASSWORD };

	/* The service with the module argument: the file has no mfa_enroll. */
	assert_pamtest_ran(_pamtest_conv(SERVICE_ARG, USER, person_conv, &p, tests, 1, NULL));
	assert_pam(tests[0].op_rv, PAM_SUCCESS);
	assert_int_equal(fake_count(&fake, "/mfa/associate", NULL), 1);
	assert_int_equal(enrolments(), 1);
}

static void test_enrol_wrong_code_retried(void **state)
{
	struct person p = { .password = PASSWORD, .wrong_codes = 1 };

	configure("mfa_enroll = otp");
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_SUCCESS);
	assert_true(shown(p.err, p.n_err, "That code is not right. Try again."));
	assert_int_equal(p.code_prompts, 2);
	assert_int_equal(enrolments(), 1);
}

static void test_enrol_wrong_codes_refused(void **state)
{
	struct person p = { .password = PASSWORD, .skip_codes = 1 };

	configure("mfa_enroll = otp");
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_AUTH_ERR);
	assert_int_equal(p.code_prompts, 3); /* mfa_retries */
	assert_false(shown(p.info, p.n_info, "Your recovery code is"));
	assert_int_equal(enrolments(), 0);
}

static void test_enrol_sms(void **state)
{
	struct person p = { .password = PASSWORD, .phone = "+49 151 1234-5678" };
	cJSON *box;

	configure("mfa_enroll = sms");
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_SUCCESS);
	assert_int_equal(p.phone_prompts, 1);
	assert_true(shown(p.info, p.n_info, "A code was sent by SMS"));
	assert_true(shown(p.info, p.n_info, "Your recovery code is: "));
	assert_int_equal(enrolments(), 1);
	box = fake_get(&fake, "/__control/outbox");
	assert_int_equal(cJSON_GetArraySize(box), 1);
	assert_string_equal(cJSON_GetStringValue(
				    cJSON_GetObjectItem(cJSON_GetArrayItem(box, 0), "to")),
			    PHONE);
	cJSON_Delete(box);
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-oob"),
			 1);
}

static void test_enrol_sms_bad_numbers(void **state)
{
	struct person p = { .password = PASSWORD, .phone = "0151 12345678" };

	configure("mfa_enroll = sms");
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_AUTH_ERR);
	assert_int_equal(p.phone_prompts, 3);
	assert_true(shown(p.err, p.n_err, "not a phone number in international format"));
	/* Nothing reached the tenant's enrolment. */
	assert_int_equal(fake_count(&fake, "/mfa/associate", NULL), 0);
}

static void test_enroll_no_refuses(void **state)
{
	struct person p = { .password = PASSWORD };

	/* The default: mfa_enroll = no. */
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_AUTH_ERR);
	assert_true(shown(p.err, p.n_err, "no second factor enrolled"));
	assert_int_equal(fake_count(&fake, "/mfa/associate", NULL), 0);
	assert_int_equal(p.code_prompts, 0);
}

static void test_enrolled_user_not_enrolled_again(void **state)
{
	struct person p = { .password = "Secret-a0otp-1" };

	/* a0otp has an app already: mfa_enroll changes nothing for them. */
	configure("mfa_enroll = otp");
	snprintf(p.secret, sizeof(p.secret), "JBSWY3DPEHPK3PXP");
	assert_pam(run("a0otp", PAMTEST_AUTHENTICATE, &p), PAM_SUCCESS);
	assert_int_equal(fake_count(&fake, "/mfa/associate", NULL), 0);
}

static void expect_hostile_refused(const char *override, const char *enroll)
{
	struct person p = { .password = PASSWORD, .phone = PHONE };

	reset(NULL);
	configure(enroll);
	fake_control(&fake, "POST", "/__control/associate", override);
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_AUTHINFO_UNAVAIL);
	assert_false(p.control_seen);
	assert_false(shown(p.info, p.n_info, "javascript"));
	assert_false(shown(p.info, p.n_info, "Secret key"));
	assert_int_equal(p.code_prompts, 0);
	assert_int_equal(enrolments(), 0);
}

static void test_hostile_answers_refused(void **state)
{
	char big[1400], json[1600];

	expect_hostile_refused("{\"barcode_uri\": \"javascript:alert(1)\"}", "mfa_enroll = otp");
	expect_hostile_refused("{\"barcode_uri\": \"https://evil.example.com/otpauth://x\"}",
			       "mfa_enroll = otp");
	expect_hostile_refused("{\"barcode_uri\": \"otpauth://totp/x\\u001b[2Jy?secret=A\"}",
			       "mfa_enroll = otp");
	expect_hostile_refused("{\"barcode_uri\": \"otpauth://totp/x y\"}", "mfa_enroll = otp");
	expect_hostile_refused("{\"secret\": \"NOT-BASE32\\u001b[31m\"}", "mfa_enroll = otp");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"barcode_uri\": \"otpauth://totp/%s\"}", big);
	expect_hostile_refused(json, "mfa_enroll = otp");
}

static void test_hostile_recovery_code_not_shown(void **state)
{
	struct person p = { .password = PASSWORD };

	configure("mfa_enroll = otp");
	fake_control(&fake, "POST", "/__control/associate",
		     "{\"recovery_code\": \"ABC\\u001b]0;pwned\\u0007DEF\"}");
	assert_pam(run(USER, PAMTEST_AUTHENTICATE, &p), PAM_AUTHINFO_UNAVAIL);
	assert_false(p.control_seen);
}

/* ---- password change ---- */

static char passdb[192];

static void write_passdb(void)
{
	char text[256];

	snprintf(text, sizeof(text), "a0alice:local-a0alice:%s\nlocaluser:local-old:%s\n", SERVICE,
		 SERVICE);
	write_text(passdb, text);
}

static char *read_passdb(void)
{
	static char buf[512];
	FILE *f = fopen(passdb, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_chauthtok_mails_auth0_user(void **state)
{
	struct person p = { 0 };
	char before[512];
	cJSON *box, *mail;

	configure("username = %u@example.com");
	write_passdb();
	snprintf(before, sizeof(before), "%s", read_passdb());
	assert_pam(run("a0alice", PAMTEST_CHAUTHTOK, &p), PAM_SUCCESS);
	/* No prompt at all: neither the module nor pam_matrix below asked for a password. */
	assert_int_equal(p.prompts, 0);
	assert_true(shown(p.info, p.n_info, "was sent to a***@example.com"));
	assert_false(shown(p.info, p.n_info, "a0alice@example.com"));
	assert_string_equal(read_passdb(), before);
	box = fake_get(&fake, "/__control/outbox");
	assert_int_equal(cJSON_GetArraySize(box), 1);
	mail = cJSON_GetArrayItem(box, 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(mail, "to")),
			    "a0alice@example.com");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(mail, "template")),
			    "change_password");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(mail, "connection")),
			    "Username-Password-Authentication");
	cJSON_Delete(box);
	assert_int_equal(fake_count(&fake, "/dbconnections/change_password", NULL), 1);
}

static void test_chauthtok_local_user_ignored(void **state)
{
	struct pam_testcase tests[] = { pam_test(PAMTEST_CHAUTHTOK, PAM_SUCCESS) };
	const char *off[] = { "local-old", "local-new", "local-new", NULL }, *on[] = { NULL };
	char *info[MAX_MSGS + 1] = { 0 }, *err[MAX_MSGS + 1] = { 0 };
	struct pamtest_conv_data conv = {
		.in_echo_off = off, .in_echo_on = on, .out_info = info, .out_err = err
	};

	configure("username = %u@example.com");
	write_passdb();
	for (int i = 0; i < MAX_MSGS; i++) {
		info[i] = calloc(1, PAM_MAX_MSG_SIZE);
		err[i] = calloc(1, PAM_MAX_MSG_SIZE);
	}
	assert_pamtest_ran(run_pamtest(SERVICE, "localuser", &conv, tests, NULL));
	for (int i = 0; i < MAX_MSGS; i++) {
		free(info[i]);
		free(err[i]);
	}
	/* pam_auth0 ignored the user; pam_matrix below changed the local password. */
	assert_pam(tests[0].op_rv, PAM_SUCCESS);
	assert_non_null(strstr(read_passdb(), "localuser:local-new:"));
	assert_non_null(strstr(read_passdb(), "a0alice:local-a0alice:"));
	assert_int_equal(fake_count(&fake, "/dbconnections/change_password", NULL), 0);
}

static void test_chauthtok_without_address_fails_closed(void **state)
{
	struct person p = { 0 };
	char before[512];

	/* An Auth0 user (users_file) of whom the host knows no address: nothing is sent, and the
	 * stack dies rather than let pam_matrix change the local password. */
	write_passdb();
	snprintf(before, sizeof(before), "%s", read_passdb());
	assert_pam(run("a0alice", PAMTEST_CHAUTHTOK, &p), PAM_AUTHTOK_ERR);
	assert_true(shown(p.err, p.n_err, "knows no email address"));
	assert_string_equal(read_passdb(), before);
	assert_int_equal(fake_count(&fake, "/dbconnections/change_password", NULL), 0);
}

static void test_chauthtok_tenant_refuses(void **state)
{
	struct person p = { 0 };
	char before[512];

	configure("username = %u@example.com\nrealm = No-Such-DB");
	write_passdb();
	snprintf(before, sizeof(before), "%s", read_passdb());
	assert_pam(run("a0alice", PAMTEST_CHAUTHTOK, &p), PAM_AUTHTOK_ERR);
	assert_true(shown(p.err, p.n_err, "could not send the password change email"));
	assert_string_equal(read_passdb(), before);
	assert_int_equal(fake_count(&fake, "/dbconnections/change_password", NULL), 1);
}

/* ---- set-up: pam_wrapper must be preloaded, so the program re-executes itself ---- */

static void write_services(const char *dir, const char *services)
{
	const char *module = getenv("A0_MODULE"),
		   *wrapper_modules = getenv("A0_PAM_WRAPPER_MODULES");
	char path[192], text[1024];

	if (!wrapper_modules) {
		fprintf(stderr, "A0_PAM_WRAPPER_MODULES must be set (make check does)\n");
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	/* The password stack of pam_auth0(8); pam_matrix stands for pam_unix's shadow file. */
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "password [success=done ignore=ignore default=die] %s config=%s/pam_auth0.conf\n"
		 "password required %s/pam_matrix.so passdb=%s/passdb\n",
		 module, dir, module, dir, wrapper_modules, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/" SERVICE_ARG, services);
	snprintf(text, sizeof(text), "auth required %s config=%s/pam_auth0.conf mfa_enroll=otp\n",
		 module, dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-enrol", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	snprintf(passdb, sizeof(passdb), "%s/passdb", run_dir);
	fake_init(&fake);

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_enrol_otp_then_normal_login),
		T(test_enrol_as_module_argument),
		T(test_enrol_wrong_code_retried),
		T(test_enrol_wrong_codes_refused),
		T(test_enrol_sms),
		T(test_enrol_sms_bad_numbers),
		T(test_enroll_no_refuses),
		T(test_enrolled_user_not_enrolled_again),
		T(test_hostile_answers_refused),
		T(test_hostile_recovery_code_not_shown),
		T(test_chauthtok_mails_auth0_user),
		T(test_chauthtok_local_user_ignored),
		T(test_chauthtok_without_address_fails_closed),
		T(test_chauthtok_tenant_refuses),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
