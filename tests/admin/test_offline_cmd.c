/* SPDX-License-Identifier: MIT */
/*
 * auth0-pam(8) offline list and offline forget, run as a command over verifiers this test
 * writes as an online login does (a0_offline_online) and counts failures on as an offline login
 * does (a0_offline_check): the text table, --json, forget USER, a user without a verifier
 * (exit 1), forget --all. Root only (the command and the verifiers are root's); skipped
 * otherwise. Every file is in a temporary directory named by the test's configuration.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/offline.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

#define OUT_MAX 65536

static char base[64], conf[128], out[OUT_MAX], err[OUT_MAX];
static struct a0_config *cfg;
static struct a0_offline off;

/* Run auth0-pam --config conf ARGS... (NULL-terminated): its exit status, out and err filled. */
static int run(const char *arg, ...)
{
	const char *argv[16] = { A0_ADMIN_BIN, "--config", conf };
	int argc = 3, code;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	code = run_capture(argv, NULL, NULL, out, sizeof(out), err, sizeof(err));
	if (err[0])
		fprintf(stderr, "auth0-pam stderr: %s", err);
	assert_true(code >= 0);
	return code;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip(); /* the verifiers and the command are root's */
}

/* A verifier for user, as after an online login at t. */
static void online(const char *user, const char *password, time_t t)
{
	char reason[512] = "";
	bool wrote = false;
	int r = a0_offline_online(&off, user, password, t, &wrote, reason, sizeof(reason));

	if (r != 0)
		fail_msg("a0_offline_online(%s): %s: %s", user, a0_err_name(r), reason);
	assert_true(wrote);
}

/* The verifiers as --json lists them (free with cJSON_Delete). */
static cJSON *listed(void)
{
	cJSON *doc;

	assert_int_equal(run("offline", "list", "--json", NULL), 0);
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(doc, "verifiers")));
	return doc;
}

static const cJSON *entry(const cJSON *doc, const char *user)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "verifiers")) {
		const cJSON *u = cJSON_GetObjectItem(v, "user");

		if (cJSON_IsString(u) && strcmp(u->valuestring, user) == 0)
			return v;
	}
	return NULL;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(o, name);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static void test_list(void **unused)
{
	time_t now = time(NULL);
	unsigned failures = 0;
	const cJSON *a, *b;
	char reason[512];
	cJSON *doc;

	need_root();
	online("bob", "bob's password", now - 50);
	online("alice", "alice's password", now - 100);
	/* Two wrong offline passwords for bob: counted. */
	for (int i = 0; i < 2; i++)
		assert_a0(a0_offline_check(&off, "bob", "wrong", now, &failures, NULL, reason,
					   sizeof(reason)),
			  A0_ERR_DENIED);
	assert_int_equal(failures, 2);

	/* The table: a header, then one line per user, sorted. */
	assert_int_equal(run("offline", "list", NULL), 0);
	assert_non_null(strstr(out, "USER"));
	assert_non_null(strstr(out, "LAST ONLINE"));
	assert_non_null(strstr(out, "FAILURES"));
	{
		const char *la = strstr(out, "\nalice "), *lb = strstr(out, "\nbob ");

		assert_non_null(la);
		assert_non_null(lb);
		assert_true(la < lb);
		assert_non_null(strstr(la, "m=8192,t=1,p=1"));
		assert_non_null(strstr(lb, "       2 m=8192")); /* failures, right-aligned */
	}

	/* --json: the same. */
	doc = listed();
	a = entry(doc, "alice");
	b = entry(doc, "bob");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "verifiers")), 2);
	assert_int_equal((int)num(doc, "skipped"), 0);
	assert_int_equal((int)num(a, "failures"), 0);
	assert_int_equal((int)num(b, "failures"), 2);
	assert_int_equal((int)num(a, "memory_kib"), 8192);
	assert_int_equal((int)num(a, "passes"), 1);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(a, "last_online")));
	assert_true(cJSON_IsString(cJSON_GetObjectItem(a, "written")));
	assert_int_equal(strlen(cJSON_GetObjectItem(a, "last_online")->valuestring), 20);
	assert_true(strcmp(cJSON_GetObjectItem(a, "last_online")->valuestring,
			   cJSON_GetObjectItem(b, "last_online")->valuestring) < 0);
	cJSON_Delete(doc);
}

static void test_forget(void **unused)
{
	time_t now = time(NULL);
	char reason[512];
	cJSON *doc;

	need_root();
	online("alice", "alice's password", now);
	online("bob", "bob's password", now);
	online("carol", "carol's password", now);
	/* One user: gone from the list, and offline logins find no verifier. */
	assert_int_equal(run("offline", "forget", "alice", NULL), 0);
	assert_non_null(strstr(out, "alice"));
	doc = listed();
	assert_null(entry(doc, "alice"));
	assert_non_null(entry(doc, "bob"));
	cJSON_Delete(doc);
	assert_a0(a0_offline_check(&off, "alice", "alice's password", now, NULL, NULL, reason,
				   sizeof(reason)),
		  A0_ERR_NOT_FOUND);
	/* A user without a verifier: exit 1, said so. */
	assert_int_equal(run("offline", "forget", "alice", NULL), 1);
	assert_non_null(strstr(err, "alice has no offline verifier"));
	assert_int_equal(run("offline", "forget", "nobody-here", NULL), 1);
	/* All of them. */
	assert_int_equal(run("offline", "forget", "--all", NULL), 0);
	assert_non_null(strstr(out, "forgot 2 verifiers"));
	doc = listed();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "verifiers")), 0);
	cJSON_Delete(doc);
	assert_a0(a0_offline_check(&off, "bob", "bob's password", now, NULL, NULL, reason,
				   sizeof(reason)),
		  A0_ERR_NOT_FOUND);
	/* Nothing left: still fine. */
	assert_int_equal(run("offline", "forget", "--all", NULL), 0);
	assert_non_null(strstr(out, "forgot 0 verifiers"));
	assert_int_equal(run("offline", "list", NULL), 0);
	assert_null(strstr(out, "\nbob "));
}

static int setup(void **unused)
{
	char text[1024], arg[256], e[512] = "";
	const char *argv[1] = { arg };

	if (geteuid() != 0)
		return 0;
	temp_dir(base, sizeof(base), "a0-offline-cmd");
	if (chmod(base, 0755) < 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/pam_auth0.conf", base);
	snprintf(text, sizeof(text),
		 "domain = example.eu.auth0.com\nclient_id = test-client\n"
		 "offline = password\noffline_dir = %s/offline\nstate_dir = %s/run\n"
		 "host_key_file = %s/keys/host.key\noffline_memory = 8192\noffline_passes = 1\n"
		 "offline_max_age = 86400\noffline_max_failures = 5\n",
		 base, base, base);
	write_text(conf, text);
	snprintf(arg, sizeof(arg), "config=%s", conf);
	if (a0_config_load(1, argv, &cfg, e, sizeof(e)) < 0) {
		fprintf(stderr, "%s\n", e);
		return -1;
	}
	a0_offline_of(cfg, &off);
	return mkdir(off.run_dir, 0755);
}

static int teardown(void **unused)
{
	if (geteuid() != 0)
		return 0;
	a0_config_free(cfg);
	return remove_tree(base);
}

/* Each test starts without verifiers. */
static int clean(void **unused)
{
	char path[256];

	if (geteuid() != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/offline", base);
	return remove_tree(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_list, clean),
		cmocka_unit_test_setup(test_forget, clean),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
