/* SPDX-License-Identifier: MIT */
/*
 * The device method of login_methods in a real PAM stack (pam_wrapper) against the fake tenant:
 * a person approves (or denies) the user code at the fake's control API from another process
 * while the module polls; the login then ends as the tenant and the identity binding say. Also
 * slow_down honoured (the fake's record of the gaps between polls), the time bound, the
 * press-Enter gate (push_prompt = enter, as sshd's keyboard-interactive needs), the methods
 * menu, and hostile answers: an address that is not https on the tenant's domain refused
 * before any poll, control characters kept from the conversation, oversize values refused.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_device"
#define TIMEOUT 2         /* seconds per request */
#define MAX_SHOWN 65536   /* everything one login showed */
#define LATENCY_SLACK 0.6 /* seconds over one interval from approval to the end of the login */

static struct fake fake;
static char run_dir[64];

/* What the person at the browser does once the code is shown. */
enum act { NOTHING, APPROVE, DENY, EXPIRE };

struct person {
	enum act act;
	const char *as;       /* APPROVE: the tenant's user */
	int delay_ms;         /* after the code is shown */
	bool at_enter;        /* act when asked to press Enter, not after the message */
	const char *menu;     /* answer to the methods menu */
	const char *password; /* answer to a password prompt */
	/* what happened */
	char shown[MAX_SHOWN]; /* every message and prompt, in order */
	size_t len;
	int prompts, password_prompts, menus, enters;
	pid_t helper;
	double acted_at;
};

static void note(struct person *p, const char *kind, const char *text)
{
	int n = snprintf(p->shown + p->len, sizeof(p->shown) - p->len, "[%s]%s\n", kind, text);

	if (n > 0 && (size_t)n < sizeof(p->shown) - p->len)
		p->len += (size_t)n;
}

static void act(struct person *p)
{
	char body[128];

	switch (p->act) {
	case NOTHING:
		return;
	case APPROVE:
		snprintf(body, sizeof(body), "{\"username\": \"%s\"}", p->as);
		fake_control(&fake, "POST", "/__control/device-approve", body);
		break;
	case DENY:
		fake_control(&fake, "POST", "/__control/device-deny", "{}");
		break;
	case EXPIRE:
		fake_control(&fake, "POST", "/__control/device-expire", "{}");
		break;
	}
}

/* The person acts from another process after delay_ms, while the module polls. */
static void act_later(struct person *p)
{
	p->acted_at = now_seconds() + p->delay_ms / 1000.0;
	p->helper = fork();
	assert_true(p->helper >= 0);
	if (p->helper == 0) {
		usleep((useconds_t)p->delay_ms * 1000);
		act(p);
		_exit(0);
	}
}

static int conv(int num_msg, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct person *p = data;
	struct pam_response *r = calloc((size_t)num_msg, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		const char *m = msg[i]->msg, *answer = NULL;

		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			note(p, msg[i]->msg_style == PAM_ERROR_MSG ? "error" : "info", m);
			if (strstr(m, "enter the code:") && !p->at_enter && !p->helper)
				act_later(p);
			continue;
		}
		note(p, "prompt", m);
		p->prompts++;
		if (strstr(m, "Sign in with:")) {
			p->menus++;
			answer = p->menu;
		} else if (strstr(m, "Password")) {
			p->password_prompts++;
			answer = p->password;
		} else if (strstr(m, "Press Enter after approving")) {
			p->enters++;
			if (p->at_enter) {
				p->acted_at = now_seconds();
				act(p);
			}
			answer = "";
		}
		if (!answer) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
		r[i].resp = strdup(answer);
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* One authentication of user with the person's conduct; the PAM result, and when it ended. */
static int sign_in(const char *user, struct person *p, double *ret_done)
{
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	enum pamtest_err perr;
	int status;

	perr = _pamtest_conv(SERVICE, user, conv, p, tests, sizeof(tests) / sizeof(tests[0]), NULL);
	if (ret_done)
		*ret_done = now_seconds();
	if (p->helper > 0)
		assert_int_equal(waitpid(p->helper, &status, 0), p->helper);
	assert_pamtest_ran(perr);
	return tests[0].op_rv;
}

static void configure(const char *extra)
{
	char lines[512];

	snprintf(lines, sizeof(lines),
		 "client_id = pam-device\n"
		 "login_methods = device\n"
		 "push_prompt = none\n"
		 "%s",
		 extra ? extra : "");
	write_module_conf(run_dir, &fake, TIMEOUT, lines, NULL);
}

static int reset(void **state)
{
	char cmd[128];

	fake_control(&fake, "POST", "/__control/reset", "{}");
	fake_control(&fake, "POST", "/__control/device", "{\"interval\": 1}");
	configure(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/run'", run_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A counter of the fake's device flow (GET /__control/stats: device). */
static int device_stat(const char *name)
{
	cJSON *stats = fake_get(&fake, "/__control/stats");
	int v = (int)cJSON_GetNumberValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "device"), name));

	cJSON_Delete(stats);
	return v;
}

/* The fake's one device transaction. */
static cJSON *transaction(void)
{
	cJSON *list = fake_get(&fake, "/__control/device");

	assert_int_equal(cJSON_GetArraySize(list), 1);
	return list;
}

static int number(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	assert_true(cJSON_IsNumber(v));
	return v->valueint;
}

/* Every gap between polls at least ms; how many polls. */
static int polls_at_least(int ms)
{
	cJSON *list = transaction(), *tx = cJSON_GetArrayItem(list, 0), *gap;
	int polls = number(tx, "polls");

	cJSON_ArrayForEach(gap, cJSON_GetObjectItemCaseSensitive(tx, "gaps_ms")) {
		if (gap->valueint < ms)
			fail_msg("a poll came %d ms after the last one, under %d ms", gap->valueint,
				 ms);
	}
	cJSON_Delete(list);
	return polls;
}

/* Nothing the tenant sent reached the conversation as a control character. */
static void assert_clean(const struct person *p)
{
	for (size_t i = 0; i < p->len; i++) {
		unsigned char c = (unsigned char)p->shown[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f || c == 0xc2)
			fail_msg("byte 0x%02x at %zu of what was shown", c, i);
	}
}

static void test_approved(void **state)
{
	struct person p = { .act = APPROVE, .as = "a0alice", .delay_ms = 300 };
	char host[256] = "";
	double done;

	assert_pam(sign_in("a0alice", &p, &done), PAM_SUCCESS);
	/* No password asked; the host, the address, the code, the QR code, the warning. */
	assert_int_equal(p.prompts, 0);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_non_null(strstr(p.shown, host));
	assert_non_null(strstr(p.shown, "/activate\n"));
	assert_non_null(strstr(p.shown, "enter the code: "));
	assert_non_null(strstr(p.shown, "\xe2\x96\x88")); /* the QR code's full blocks */
	assert_non_null(strstr(p.shown, "[error]Continue only if you started this sign-in on"));
	assert_clean(&p);
	/* Polls a second apart at least; the login ends within an interval of the approval. */
	assert_true(polls_at_least(1000) >= 1);
	if (done - p.acted_at > 1.0 + LATENCY_SLACK)
		fail_msg("login done %.2f s after the approval: over one interval",
			 done - p.acted_at);
	assert_int_equal(fake_count(&fake, "/oauth/device/code", NULL), 1);
}

/* sshd's keyboard-interactive shows messages only with a prompt: Enter after approving. */
static void test_enter_gate(void **state)
{
	struct person p = { .act = APPROVE, .as = "a0alice", .at_enter = true };

	configure("push_prompt = enter\ndevice_qr = ascii\n");
	assert_pam(sign_in("a0alice", &p, NULL), PAM_SUCCESS);
	assert_int_equal(p.enters, 1);
	assert_int_equal(p.prompts, 1);
	/* The text came before the prompt, the QR code in ASCII. */
	assert_true(strstr(p.shown, "enter the code: ") <
		    strstr(p.shown, "[prompt]Press Enter after approving"));
	assert_non_null(strstr(p.shown, "########"));
	assert_null(strstr(p.shown, "\xe2\x96\x88"));
	assert_int_equal(polls_at_least(1000), 1);
}

static void test_denied(void **state)
{
	struct person p = { .act = DENY, .delay_ms = 200 };

	assert_pam(sign_in("a0alice", &p, NULL), PAM_AUTH_ERR);
	assert_non_null(strstr(p.shown, "[error]The sign-in request was rejected."));
	assert_int_equal(device_stat("denied"), 1);
}

static void test_expired(void **state)
{
	struct person p = { .act = EXPIRE, .delay_ms = 200 };

	assert_pam(sign_in("a0alice", &p, NULL), PAM_AUTH_ERR);
	assert_non_null(strstr(p.shown, "[error]The sign-in took too long."));
	assert_int_equal(device_stat("expired"), 1);
}

/* Nobody approves: the code's lifetime (under device_timeout) bounds the wait. */
static void test_not_approved_in_time(void **state)
{
	struct person p = { .act = NOTHING };
	double start = now_seconds(), done;

	fake_control(&fake, "POST", "/__control/device", "{\"lifetime\": 3}");
	assert_pam(sign_in("a0alice", &p, &done), PAM_AUTH_ERR);
	assert_non_null(strstr(p.shown, "[error]The sign-in was not approved in time."));
	assert_true(done - start < 3 + TIMEOUT);
	assert_true(polls_at_least(1000) >= 1);
}

/* The tenant holds the client to 2 s: one slow_down, then 1 + 5 s (RFC 8628 §3.5). */
static void test_slow_down(void **state)
{
	struct person p = { .act = APPROVE, .as = "a0alice", .delay_ms = 200 };
	cJSON *list, *tx, *gaps;

	fake_control(&fake, "POST", "/__control/device", "{\"enforce_interval\": 2}");
	assert_pam(sign_in("a0alice", &p, NULL), PAM_SUCCESS);
	list = transaction();
	tx = cJSON_GetArrayItem(list, 0);
	gaps = cJSON_GetObjectItemCaseSensitive(tx, "gaps_ms");
	assert_int_equal(number(tx, "slow_downs"), 1);
	assert_int_equal(number(tx, "polls"), 2);
	assert_true(cJSON_GetArrayItem(gaps, 0)->valueint >= 1000);
	assert_true(cJSON_GetArrayItem(gaps, 1)->valueint >= 6000);
	cJSON_Delete(list);
}

/* Whoever approves signs in: the identity binding refuses another user's account. */
static void test_other_user_refused(void **state)
{
	struct person p = { .act = APPROVE, .as = "a0bob", .delay_ms = 200 };

	assert_pam(sign_in("a0alice", &p, NULL), PAM_AUTH_ERR);
	assert_int_equal(device_stat("approved"), 1);
}

static void hostile(const char *kind, bool polls_none)
{
	struct person p = { .act = APPROVE, .as = "a0alice", .delay_ms = 100 };
	char body[128];

	snprintf(body, sizeof(body), "{\"hostile\": \"%s\"}", kind);
	fake_control(&fake, "POST", "/__control/device", body);
	assert_pam(sign_in("a0alice", &p, NULL), PAM_AUTHINFO_UNAVAIL);
	assert_non_null(strstr(p.shown, "does not trust"));
	assert_null(strstr(p.shown, "enter the code"));
	assert_null(strstr(p.shown, "example.net"));
	assert_null(strstr(p.shown, "http://"));
	assert_true(p.len < 2048);
	assert_clean(&p);
	if (polls_none)
		assert_int_equal(device_stat("polls"), 0);
}

static void test_hostile_http(void **state)
{
	hostile("http", true);
}

static void test_hostile_other_domain(void **state)
{
	hostile("other_domain", true);
}

static void test_hostile_oversize(void **state)
{
	hostile("oversize", true);
}

/* Escape sequences and CR LF in the user code: taken out; the login goes on. */
static void test_hostile_control_characters(void **state)
{
	struct person p = { .act = APPROVE, .as = "a0alice", .delay_ms = 200 };

	fake_control(&fake, "POST", "/__control/device", "{\"hostile\": \"control_chars\"}");
	assert_pam(sign_in("a0alice", &p, NULL), PAM_SUCCESS);
	assert_clean(&p);
	assert_null(strstr(p.shown, "\nPassword: "));
}

/* A tenant application without the Device Code grant. */
static void test_grant_not_enabled(void **state)
{
	struct person p = { .act = NOTHING };

	configure("client_id = pam-native\n");
	assert_pam(sign_in("a0alice", &p, NULL), PAM_SERVICE_ERR);
	assert_non_null(strstr(p.shown, "not set up for this host"));
}

/* login_methods = password, device: a menu; the number or the name picks. */
static void test_menu(void **state)
{
	struct person pw = { .menu = "1", .password = "Secret-a0alice-1" };
	struct person dev = { .menu = "device", .act = APPROVE, .as = "a0alice", .delay_ms = 200 };
	struct person wrong = { .menu = "9" };

	configure("login_methods = password, device\n");
	assert_pam(sign_in("a0alice", &pw, NULL), PAM_SUCCESS);
	assert_int_equal(pw.menus, 1);
	assert_int_equal(pw.password_prompts, 1);
	assert_non_null(strstr(pw.shown, "Sign in with:\n  1) password\n  2) device code"));
	assert_int_equal(fake_count(&fake, "/oauth/device/code", NULL), 0);
	assert_pam(sign_in("a0alice", &dev, NULL), PAM_SUCCESS);
	assert_int_equal(dev.password_prompts, 0);
	assert_int_equal(fake_count(&fake, "/oauth/device/code", NULL), 1);
	assert_pam(sign_in("a0alice", &wrong, NULL), PAM_AUTH_ERR);
	assert_int_equal(wrong.menus, 3);
	/* An unknown method is a configuration error, and fails closed. */
	configure("login_methods = password, carrier-pigeon\n");
	assert_pam(sign_in("a0alice", &wrong, NULL), PAM_SERVICE_ERR);
	configure("login_methods = password, pigeon\n");
	assert_pam(sign_in("a0alice", &wrong, NULL), PAM_SERVICE_ERR);
}

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
	snprintf(text, sizeof(text),
		 "auth     required %s/pam_set_items.so\n"
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required %s config=%s/pam_auth0.conf\n",
		 wrapper_modules, module, dir, module, dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-device", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	fake_init(&fake);

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_approved),
		T(test_enter_gate),
		T(test_denied),
		T(test_expired),
		T(test_not_approved_in_time),
		T(test_slow_down),
		T(test_other_user_refused),
		T(test_hostile_http),
		T(test_hostile_other_domain),
		T(test_hostile_oversize),
		T(test_hostile_control_characters),
		T(test_grant_not_enabled),
		T(test_menu),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
