/* SPDX-License-Identifier: MIT */
/*
 * Passwordless sign-in (lib/passwordless.h): the masked address, the address checks and where
 * an address comes from (users_file's email= and phone=, the username template), the answers
 * the parser sorts, and whole sign-ins against the fake tenant by email and by SMS: a wrong
 * code retried, an expired code, the code used up, the start's rate limit, MFA after it.
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
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/passwordless.h"
#include "lib/secret.h"
#include "tests/common/assert.h"
#include "tests/common/fake.h"

#define CLIENT "pam-native"
#define MAX_SCRIPT 8

static struct fake f;

/* ------------------------------------------------------------------------------ masking */

static void test_mask_email(void **state)
{
	char buf[A0_PWL_MAX_SHOWN + 1];

	(void)state;
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, "jane@example.com", buf),
			    "j***@example.com");
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, "j@example.com", buf),
			    "j***@example.com");
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, "no-at-sign", buf), "n***");
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, "", buf), "***");
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, NULL, buf), "***");
	/* The last '@' starts the domain: a quoted local part may hold one. */
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, "\"a@b\"@example.com", buf),
			    "\"***@example.com");
}

static void test_mask_hostile(void **state)
{
	char buf[A0_PWL_MAX_SHOWN + 1], big[4096];

	(void)state;
	/* Control characters and bytes outside printable ASCII never reach the terminal. */
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL,
						 "\x1b[2Jx@ex\x1b]0;t\x07"
						 "am\r\nple.com",
						 buf),
			    "[***@ex]0;tample.com");
	assert_string_equal(a0_passwordless_mask(A0_PWL_EMAIL, "\xc3\xa9le@exa\xffmple.com", buf),
			    "l***@example.com");
	/* Oversize: bounded, the domain cut with "...". */
	memset(big, 'd', sizeof(big) - 1);
	big[0] = 'u';
	big[1] = '@';
	big[sizeof(big) - 1] = '\0';
	a0_passwordless_mask(A0_PWL_EMAIL, big, buf);
	assert_int_equal(strlen(buf), A0_PWL_MAX_SHOWN);
	assert_memory_equal(buf, "u***@ddd", 8);
	assert_string_equal(buf + A0_PWL_MAX_SHOWN - 3, "...");
	memset(big, '7', sizeof(big) - 1);
	big[0] = '+';
	a0_passwordless_mask(A0_PWL_SMS, big, buf);
	assert_true(strlen(buf) <= A0_PWL_MAX_SHOWN);
	assert_string_equal(buf + strlen(buf) - 2, "77");
	for (const char *s = buf + 1; s < buf + strlen(buf) - 2; s++)
		assert_int_equal(*s, '*');
}

static void test_mask_phone(void **state)
{
	char buf[A0_PWL_MAX_SHOWN + 1];

	(void)state;
	assert_string_equal(a0_passwordless_mask(A0_PWL_SMS, "+15550100034", buf), "+*********34");
	assert_string_equal(a0_passwordless_mask(A0_PWL_SMS, "+1 (555) 010-0034", buf),
			    "+*********34");
	/* Too short to show any digit and still hide the number. */
	assert_string_equal(a0_passwordless_mask(A0_PWL_SMS, "+1234", buf), "+****");
	/* An escape sequence's bytes are gone; its digits count as digits, hidden. */
	assert_string_equal(a0_passwordless_mask(A0_PWL_SMS, "+12\x1b[31m34567", buf),
			    "+*******67");
	assert_string_equal(a0_passwordless_mask(A0_PWL_SMS, "", buf), "+");
}

static void test_address_ok(void **state)
{
	(void)state;
	assert_true(a0_passwordless_address_ok(A0_PWL_EMAIL, "a0alice@example.com"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, "a0alice"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, "@example.com"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, "a@b@example.com"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, "a@localhost"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, "a b@example.com"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, "a@example.com\n"));
	assert_false(a0_passwordless_address_ok(A0_PWL_EMAIL, NULL));
	assert_true(a0_passwordless_address_ok(A0_PWL_SMS, "+15550100001"));
	assert_true(a0_passwordless_address_ok(A0_PWL_SMS, "+123456789012345"));
	assert_false(a0_passwordless_address_ok(A0_PWL_SMS, "+1234567890123456"));
	assert_false(a0_passwordless_address_ok(A0_PWL_SMS, "15550100001"));
	assert_false(a0_passwordless_address_ok(A0_PWL_SMS, "+"));
	assert_false(a0_passwordless_address_ok(A0_PWL_SMS, "+1 555"));
	assert_false(a0_passwordless_address_ok(A0_PWL_SMS, "a0alice@example.com"));
	assert_false(a0_passwordless_address_ok(7, "a0alice@example.com"));
	assert_string_equal(a0_passwordless_connection(A0_PWL_EMAIL), "email");
	assert_string_equal(a0_passwordless_connection(A0_PWL_SMS), "sms");
	assert_null(a0_passwordless_connection(-1));
}

/* ----------------------------------------------------------------- where the address is */

struct files {
	char dir[64], users[128];
};

static void write_users(struct files *fs, const char *text)
{
	FILE *fp;

	snprintf(fs->dir, sizeof(fs->dir), "/tmp/a0-pwl-XXXXXX");
	assert_non_null(mkdtemp(fs->dir));
	snprintf(fs->users, sizeof(fs->users), "%s/users", fs->dir);
	fp = fopen(fs->users, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(fs->users, 0644), 0);
}

static void remove_users(struct files *fs)
{
	(void)unlink(fs->users);
	(void)rmdir(fs->dir);
}

static void test_address_from_users_file(void **state)
{
	struct files fs;
	struct a0_config cfg = { .username = (char *)(uintptr_t) "%u" };
	char err[256] = "", *addr = NULL, *id = NULL, *email = NULL, *phone = NULL;

	(void)state;
	if (geteuid() != 0)
		skip(); /* users_file must be root's */
	write_users(&fs, "# comment\n"
			 "alice auth0|1 email=alice@example.com phone=+15550100001\n"
			 "bob\tauth0|2   phone=+15550100002\n"
			 "carol auth0|3\n");
	cfg.users_file = fs.users;
	assert_a0(a0_passwordless_address(&cfg, "alice", A0_PWL_EMAIL, &addr, err, sizeof(err)), 0);
	assert_string_equal(addr, "alice@example.com");
	free(addr);
	assert_a0(a0_passwordless_address(&cfg, "alice", A0_PWL_SMS, &addr, err, sizeof(err)), 0);
	assert_string_equal(addr, "+15550100001");
	free(addr);
	assert_a0(a0_passwordless_address(&cfg, "bob", A0_PWL_SMS, &addr, err, sizeof(err)), 0);
	assert_string_equal(addr, "+15550100002");
	free(addr);
	/* bob has no email, and the login name "bob" is none: the admin is told what to add. */
	assert_a0(a0_passwordless_address(&cfg, "bob", A0_PWL_EMAIL, &addr, err, sizeof(err)),
		  A0_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "email="));
	/* The username template makes an email address: that is carol's. */
	cfg.username = (char *)(uintptr_t) "%u@corp.example.com";
	assert_a0(a0_passwordless_address(&cfg, "carol", A0_PWL_EMAIL, &addr, err, sizeof(err)), 0);
	assert_string_equal(addr, "carol@corp.example.com");
	free(addr);
	/* ... but users_file's own address wins. */
	assert_a0(a0_passwordless_address(&cfg, "alice", A0_PWL_EMAIL, &addr, err, sizeof(err)), 0);
	assert_string_equal(addr, "alice@example.com");
	free(addr);
	assert_a0(a0_passwordless_address(&cfg, "carol", A0_PWL_SMS, &addr, err, sizeof(err)),
		  A0_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "phone="));
	/* The binding itself is unchanged by the extra fields. */
	assert_a0(a0_config_user_binding(&cfg, "bob", &id, err, sizeof(err)), 0);
	assert_string_equal(id, "auth0|2");
	free(id);
	assert_a0(a0_config_user_contact(&cfg, "carol", &email, &phone, err, sizeof(err)), 0);
	assert_null(email);
	assert_null(phone);
	remove_users(&fs);
}

static void test_users_file_refused(void **state)
{
	static const char *const bad[] = {
		"alice auth0|1 mail=alice@example.com\n",
		"alice auth0|1 email=alice\n",
		"alice auth0|1 phone=555-0100\n",
		"alice auth0|1 phone=+1555\x1b\n",
		"alice auth0|1 email=a@example.com email=b@example.com\n",
		/* Another user's bad line is an error too: the file is wrong. */
		"zed auth0|9 phone=12\nalice auth0|1\n",
	};
	struct a0_config cfg = { .username = (char *)(uintptr_t) "%u" };
	char err[256], *addr = NULL, *id = NULL;

	(void)state;
	if (geteuid() != 0)
		skip();
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++) {
		struct files fs;

		write_users(&fs, bad[i]);
		cfg.users_file = fs.users;
		err[0] = '\0';
		assert_a0(a0_passwordless_address(&cfg, "alice", A0_PWL_EMAIL, &addr, err,
						  sizeof(err)),
			  A0_ERR_CONFIG);
		assert_non_null(strstr(err, ":1"));
		assert_a0(a0_config_user_binding(&cfg, "alice", &id, err, sizeof(err)),
			  A0_ERR_CONFIG);
		remove_users(&fs);
	}
}

/* -------------------------------------------------------------------------- the parser */

static int parse(long status, const char *body, struct a0_result *res)
{
	struct a0_http_response resp = { .status = status, .retry_after = -1 };

	resp.body = (char *)(uintptr_t)body;
	resp.len = strlen(body);
	a0_result_clear(res);
	return a0_parse_error_response(&resp, res);
}

static void test_answers(void **state)
{
	struct a0_result res = { 0 };

	(void)state;
	assert_a0(parse(403,
			"{\"error\":\"invalid_grant\",\"error_description\":\"Wrong email or "
			"verification code.\"}",
			&res),
		  A0_ERR_DENIED);
	assert_a0(parse(403,
			"{\"error\":\"invalid_grant\",\"error_description\":\"Wrong phone number or "
			"verification code.\"}",
			&res),
		  A0_ERR_DENIED);
	assert_a0(parse(403,
			"{\"error\":\"invalid_grant\",\"error_description\":\"The verification code "
			"has expired. Please try to login again.\"}",
			&res),
		  A0_ERR_EXPIRED);
	assert_a0(parse(403,
			"{\"error\":\"invalid_grant\",\"error_description\":\"You've reached the "
			"maximum number of attempts. Please try to login again.\"}",
			&res),
		  A0_ERR_TOO_MANY_ATTEMPTS);
	assert_a0(parse(400,
			"{\"error\":\"bad.connection\",\"error_description\":\"Connection is "
			"disabled\"}",
			&res),
		  A0_ERR_CLIENT);
	assert_string_equal(res.description, "Connection is disabled");
	assert_a0(parse(400,
			"{\"error\":\"bad.phone_number\",\"error_description\":\"String does not "
			"match pattern: ^\\\\+[0-9]{1,15}$\"}",
			&res),
		  A0_ERR_AUTH0);
	assert_a0(parse(429,
			"{\"error\":\"too_many_requests\",\"error_description\":\"Global limit has "
			"been reached\"}",
			&res),
		  A0_ERR_RATE_LIMITED);
	/* A hostile description is scrubbed before it is shown or logged. */
	assert_a0(parse(400, "{\"error\":\"bad.email\",\"error_description\":\"x\\u001b[2Jy\"}",
			&res),
		  A0_ERR_AUTH0);
	assert_null(strchr(res.description, 0x1b));
	a0_result_clear(&res);
}

/* ----------------------------------------------------------- sign-ins against the fake */

/* The person at the prompt: each reply in turn; "CODE" is the last code the outbox holds for
 * the address (read as the person reads their mail), "WRONG" a wrong one. */
struct person {
	const char *address;
	const char *replies[MAX_SCRIPT];
	size_t asked;
	char told[2048];
	bool echoed;
	/* Before the reply of this number (1-based), every live code is made expired. */
	size_t expire_before;
};

static char *outbox_code(const char *to)
{
	cJSON *box = fake_get(&f, "/__control/passwordless/outbox"), *m;
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

static int person_ask(void *ctx, bool echo, const char *prompt, char **ret)
{
	struct person *p = ctx;
	const char *reply;

	(void)prompt;
	p->echoed |= echo;
	if (p->asked >= MAX_SCRIPT || !p->replies[p->asked])
		return A0_ERR_CONV;
	reply = p->replies[p->asked++];
	if (p->expire_before == p->asked)
		fake_control(&f, "POST", "/__control/passwordless", "{\"expire_codes\":true}");
	if (strcmp(reply, "CODE") == 0 || strcmp(reply, "WRONG") == 0) {
		char *code = outbox_code(p->address);

		assert_non_null(code);
		if (strcmp(reply, "WRONG") == 0)
			code[0] = code[0] == '9' ? '1' : (char)(code[0] + 1);
		*ret = code;
		return 0;
	}
	*ret = strdup(reply);
	return *ret ? 0 : A0_ERR_NOMEM;
}

static void person_tell(void *ctx, bool error, const char *text)
{
	struct person *p = ctx;
	size_t n = strlen(p->told);

	snprintf(p->told + n, sizeof(p->told) - n, "%s%s\n", error ? "! " : "", text);
}

struct run {
	int r;
	struct a0_result res;
	struct a0_tokens *tokens;
};

static struct run sign_in(int channel, struct person *p)
{
	char domain[64];
	struct a0_http_options opt = { .domain = domain, .ca_file = f.ca, .timeout = 10 };
	struct a0_client c = { .client_id = CLIENT };
	struct a0_config cfg = { .scope = (char *)(uintptr_t) "openid profile email offline_access",
				 .mfa_retries = 3 };
	struct a0_prompter pr = { .ctx = p, .ask = person_ask, .tell = person_tell };
	struct run run = { 0 };

	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	assert_a0(a0_http_new(&opt, &c.http), 0);
	run.r = a0_passwordless_sign_in(&c, &cfg, channel, p->address, &pr, &run.tokens, &run.res);
	a0_http_free(c.http);
	return run;
}

static void run_clear(struct run *run)
{
	a0_tokens_free(run->tokens);
	a0_result_clear(&run->res);
}

static int reset(void **state)
{
	(void)state;
	fake_control(&f, "POST", "/__control/reset", "{}");
	return 0;
}

/* The subject of an ID token, unverified (the fake signed it; other tests verify). */
static void assert_sub(const char *id_token, const char *sub)
{
	cJSON *claims = NULL;

	assert_a0(a0_json_jwt_claims(id_token, &claims), 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(claims, "sub")), sub);
	a0_json_free(claims);
}

static void test_sign_in_email(void **state)
{
	struct person p = { .address = "a0alice@example.com", .replies = { "CODE" } };
	struct run run;

	(void)state;
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, 0);
	assert_non_null(run.tokens->id_token);
	assert_non_null(run.tokens->refresh_token);
	assert_sub(run.tokens->id_token, "auth0|6a0000000000000000000001");
	assert_non_null(strstr(p.told, "A sign-in code was sent by email to a***@example.com."));
	assert_null(strstr(p.told, "a0alice@"));
	assert_false(p.echoed); /* the code is not echoed */
	assert_int_equal(fake_count(&f, "/passwordless/start", NULL), 1);
	assert_int_equal(fake_count(&f, "/oauth/token", A0_GRANT_PASSWORDLESS_OTP), 1);
	run_clear(&run);
}

static void test_sign_in_sms_wrong_code_retried(void **state)
{
	struct person p = { .address = "+15550100001", .replies = { "WRONG", "12", "CODE" } };
	struct run run;

	(void)state;
	run = sign_in(A0_PWL_SMS, &p);
	assert_a0(run.r, 0);
	assert_sub(run.tokens->id_token, "auth0|6a0000000000000000000001");
	assert_non_null(strstr(p.told, "by SMS to +*********01."));
	/* Two wrong replies, each told; "12" never reached the tenant. */
	assert_non_null(strstr(p.told, "! That code is not right. Try again.\n! That code"));
	assert_int_equal(fake_count(&f, "/oauth/token", A0_GRANT_PASSWORDLESS_OTP), 2);
	run_clear(&run);
}

static void test_sign_in_wrong_codes(void **state)
{
	struct person p = { .address = "a0alice@example.com",
			    .replies = { "WRONG", "WRONG", "WRONG", "CODE" } };
	struct run run;

	(void)state;
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, A0_ERR_DENIED);
	assert_null(run.tokens);
	assert_string_equal(run.res.description, "Wrong email or verification code.");
	assert_int_equal(p.asked, 3); /* mfa_retries */
	run_clear(&run);
}

static void test_sign_in_expired(void **state)
{
	struct person p = { .address = "a0alice@example.com",
			    .replies = { "CODE", "CODE" },
			    .expire_before = 1 };
	struct run run;

	(void)state;
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, A0_ERR_EXPIRED);
	assert_int_equal(p.asked, 1); /* an expired code is not asked for again */
	assert_non_null(strstr(a0_passwordless_why(run.r), "expired"));
	run_clear(&run);
}

static void test_sign_in_used_up(void **state)
{
	struct person p = { .address = "a0alice@example.com",
			    .replies = { "WRONG", "WRONG", "WRONG", "CODE" } };
	char domain[64];
	struct a0_http_options opt = { .domain = domain, .ca_file = f.ca, .timeout = 10 };
	struct a0_client c = { .client_id = CLIENT };
	struct a0_config cfg = { .scope = (char *)(uintptr_t) "openid", .mfa_retries = 5 };
	struct a0_prompter pr = { .ctx = &p, .ask = person_ask, .tell = person_tell };
	struct a0_result res = { 0 };
	struct a0_tokens *t = NULL;

	(void)state;
	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	assert_a0(a0_http_new(&opt, &c.http), 0);
	/* Three wrong codes use the code up: the fourth reply, right as it is, is refused. */
	assert_a0(a0_passwordless_sign_in(&c, &cfg, A0_PWL_EMAIL, p.address, &pr, &t, &res),
		  A0_ERR_TOO_MANY_ATTEMPTS);
	assert_int_equal(p.asked, 4);
	assert_non_null(
		strstr(a0_passwordless_why(A0_ERR_TOO_MANY_ATTEMPTS), "Too many wrong codes"));
	assert_null(a0_passwordless_why(A0_ERR_NETWORK));
	a0_result_clear(&res);
	a0_http_free(c.http);
}

static void test_sign_in_rate_limited(void **state)
{
	struct person p = { .address = "+15550100001", .replies = { "CODE" } };
	struct run run;

	(void)state;
	fake_control(&f, "POST", "/__control/passwordless",
		     "{\"connection\":\"sms\",\"rate_limit_per_hour\":0}");
	run = sign_in(A0_PWL_SMS, &p);
	assert_a0(run.r, A0_ERR_RATE_LIMITED);
	assert_int_equal(run.res.status, 429);
	assert_int_equal(p.asked, 0); /* no code asked for: none was sent */
	assert_null(strstr(p.told, "sent"));
	run_clear(&run);
}

static void test_sign_in_mfa_required(void **state)
{
	struct person p = { .address = "a0otp@example.com", .replies = { "CODE" } };
	struct run run;

	(void)state;
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, A0_ERR_MFA_REQUIRED);
	assert_non_null(run.res.mfa_token);
	run_clear(&run);
}

static void test_sign_in_refused(void **state)
{
	struct person p = { .address = "a0alice@example.com", .replies = { "CODE" } };
	struct run run;

	(void)state;
	/* The connection not enabled for the application: the start says so, nothing is asked. */
	fake_control(&f, "POST", "/__control/passwordless",
		     "{\"connection\":\"email\",\"enabled_clients\":[]}");
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, A0_ERR_CLIENT);
	assert_string_equal(run.res.error, "bad.connection");
	assert_int_equal(p.asked, 0);
	run_clear(&run);
	/* The application without the grant. */
	fake_control(&f, "POST", "/__control/passwordless",
		     "{\"connection\":\"email\",\"enabled_clients\":[\"pam-native\"]}");
	fake_control(&f, "POST", "/__control/client",
		     "{\"client_id\":\"pam-native\",\"grant_types\":"
		     "[\"http://auth0.com/oauth/grant-type/password-realm\"]}");
	p.asked = 0;
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, A0_ERR_CLIENT);
	assert_string_equal(run.res.error, "unauthorized_client");
	run_clear(&run);
	/* An address the channel does not take is not sent. */
	p.address = "not an address";
	p.asked = 0;
	run = sign_in(A0_PWL_EMAIL, &p);
	assert_a0(run.r, A0_ERR_INVALID);
	run_clear(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_email),
		cmocka_unit_test(test_mask_hostile),
		cmocka_unit_test(test_mask_phone),
		cmocka_unit_test(test_address_ok),
		cmocka_unit_test(test_address_from_users_file),
		cmocka_unit_test(test_users_file_refused),
		cmocka_unit_test(test_answers),
		cmocka_unit_test_setup(test_sign_in_email, reset),
		cmocka_unit_test_setup(test_sign_in_sms_wrong_code_retried, reset),
		cmocka_unit_test_setup(test_sign_in_wrong_codes, reset),
		cmocka_unit_test_setup(test_sign_in_expired, reset),
		cmocka_unit_test_setup(test_sign_in_used_up, reset),
		cmocka_unit_test_setup(test_sign_in_rate_limited, reset),
		cmocka_unit_test_setup(test_sign_in_mfa_required, reset),
		cmocka_unit_test_setup(test_sign_in_refused, reset),
	};

	fake_init(&f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
