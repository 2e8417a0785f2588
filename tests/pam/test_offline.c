/* SPDX-License-Identifier: MIT */
/*
 * When Auth0 cannot be reached (pam_auth0(8), WHEN AUTH0 CANNOT BE REACHED), through a real
 * PAM stack (pam_wrapper + libpamtest) against the fake tenant: each failure class under each
 * offline policy (deny, password, breakglass), the known-offline fast path with offline login,
 * recovery, the verifier's bounds (age, lockout), its purge when Auth0 refuses the password or
 * blocks the user, the breakglass window opened and closed with auth0-pam(8), and concurrent
 * offline logins of one user. Offline verifiers are root's: without root the program skips.
 * Run under tests/with-fake-tenant.
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

/* The services: the offline policy on the PAM line, or from the configuration file. */
#define SVC_DENY "a0off_deny"             /* no argument: the file's bare "deny" */
#define SVC_PASSWORD "a0off_password"     /* offline=password */
#define SVC_BREAKGLASS "a0off_breakglass" /* offline=breakglass */
#define SVC_CONF "a0off_conf"             /* the file's "a0off_conf:password" */
#define MAX_MSGS 16
#define TIMEOUT 2 /* seconds per request */
#define PASSWORD "Secret-a0alice-1"
#define GRANTED "you are signed in with the password this host kept"

static struct fake fake;
static char run_dir[64];

/* ---- one login through a service's auth and account stacks ---- */

struct run {
	int auth, account; /* PAM results; account is -1 when auth failed */
	double seconds;    /* the wall time of both */
	char *info[MAX_MSGS + 1], *err[MAX_MSGS + 1];
	char log[16384]; /* the module's syslog lines (pam_wrapper prints them on stderr) */
};

static void run_free(struct run *r)
{
	for (int i = 0; i < MAX_MSGS; i++) {
		free(r->info[i]);
		free(r->err[i]);
	}
}

static bool in(char *const *list, const char *text)
{
	for (int i = 0; i < MAX_MSGS && list[i]; i++)
		if (strstr(list[i], text))
			return true;
	return false;
}

static void run_login(const char *service, const char *user, const char *password, struct run *r)
{
	const char *off[] = { password, NULL }, *none[] = { NULL };
	struct pamtest_conv_data conv = { .in_echo_off = off, .in_echo_on = none };
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
	};
	enum pamtest_err perr;
	struct capture c;
	double start;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < MAX_MSGS; i++) {
		r->info[i] = calloc(1, PAM_MAX_MSG_SIZE);
		r->err[i] = calloc(1, PAM_MAX_MSG_SIZE);
	}
	conv.out_info = r->info;
	conv.out_err = r->err;
	setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1); /* every priority on stderr */
	capture_start(&c, run_dir);
	start = now_seconds();
	perr = run_pamtest(service, user, &conv, tests, NULL);
	r->seconds = now_seconds() - start;
	capture_stop(&c, r->log, sizeof(r->log));
	unsetenv("PAM_WRAPPER_DEBUGLEVEL");
	assert_pamtest_ran(perr);
	r->auth = tests[0].op_rv;
	r->account = r->auth == PAM_SUCCESS ? tests[1].op_rv : -1;
	if (strstr(r->log, PASSWORD) || strstr(r->log, "eyJ"))
		fail_msg("a password or token reached syslog: %s", r->log);
}

/* The login ends with auth result pam, shows message (error or info) and logs logged. */
static void expect(const char *service, const char *password, int pam, const char *message,
		   const char *logged)
{
	struct run r;

	run_login(service, "a0alice", password, &r);
	if (r.auth != pam)
		fail_msg("%s: got %s, wanted %s; log: %s", service, name_pam(r.auth), name_pam(pam),
			 r.log);
	if (pam == PAM_SUCCESS && r.account != PAM_SUCCESS)
		fail_msg("%s: account phase %s after the sign-in; log: %s", service,
			 name_pam(r.account), r.log);
	if (message && !in(r.err, message) && !in(r.info, message))
		fail_msg("%s: message '%s' not shown; log: %s", service, message, r.log);
	if (logged && !strstr(r.log, logged))
		fail_msg("%s: '%s' not in the log: %s", service, logged, r.log);
	run_free(&r);
}

/* ---- state ---- */

static void configure(const char *extra)
{
	char lines[1024];

	snprintf(lines, sizeof(lines),
		 "offline = " SVC_CONF ":password, deny\n"
		 "offline_dir = %s/offline\n"
		 "host_key_file = %s/keys/host.key\n"
		 /* The least Argon2id cost: the tests measure behaviour, bench/ the cost. */
		 "offline_memory = 8192\n"
		 "offline_passes = 1\n"
		 "offline_fail_delay = 0\n",
		 run_dir, run_dir);
	write_module_conf(run_dir, &fake, TIMEOUT, lines, extra);
}

static void rm_rf(const char *name)
{
	char cmd[192];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", run_dir, name);
	assert_int_equal(system(cmd), 0);
}

/* Each test from the fake's data, no verifier, no outage, no guard counts. */
static int reset(void **state)
{
	fake_control(&fake, "POST", "/__control/reset", "{}");
	configure(NULL);
	rm_rf("run");
	rm_rf("offline");
	return 0;
}

static void forget_outage(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/run/offline", run_dir);
	(void)unlink(path);
}

static void fault(const char *json)
{
	fake_control(&fake, "POST", "/__control/fault", json);
}

static void no_fault(void)
{
	fake_control(&fake, "DELETE", "/__control/fault", NULL);
}

/* A verifier for a0alice: one complete online sign-in through a service that keeps one. */
static void online_login(void)
{
	expect(SVC_CONF, PASSWORD, PAM_SUCCESS, NULL,
	       "msgid=login-granted outcome=granted user=a0alice");
}

static bool has_verifier(void)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/offline", run_dir);
	if (stat(path, &st) < 0)
		return false;
	/* One user file (64 hex digits) and, maybe, its lock. */
	snprintf(path, sizeof(path), "ls '%s/offline' | grep -qE '^[0-9a-f]{64}$'", run_dir);
	return system(path) == 0;
}

/* auth0-pam(8) with this test's configuration: its exit status, its stdout in out. */
static int admin(char *out, size_t size, const char *args)
{
	const char *bin = getenv("A0_ADMIN");
	char cmd[512];
	FILE *p;
	size_t n;

	if (!bin)
		fail_msg("A0_ADMIN must name auth0-pam (make check sets it)");
	snprintf(cmd, sizeof(cmd), "'%s' --config '%s/pam_auth0.conf' %s", bin, run_dir, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return WEXITSTATUS(pclose(p));
}

/* ---- each failure class under each policy ---- */

struct fault_case {
	const char *name;
	const char *json; /* NULL: domain = localhost:<port> */
	int *port;
	bool offline; /* the tenant could not be asked: the offline policy applies */
	const char *deny_message;
};

/*
 * With a verifier in place: offline classes end by the service's policy (deny: refused with
 * the failure's message; password: granted with the plain notice; breakglass: refused while
 * no window is open, granted inside one); the others are refused under every policy, and a
 * refused certificate is logged as a possible interception. Each within one request timeout.
 */
static void test_failure_classes(void **state)
{
	struct fault_case cases[] = {
		{ "refused port", NULL, &fake.port_closed, true, "cannot be reached" },
		{ "black-holed (accepts, never answers)",
		  "{\"path\":\"/oauth/token\",\"kind\":\"silence\",\"seconds\":6}", NULL, true,
		  "did not answer in time" },
		{ "reset", "{\"path\":\"/oauth/token\",\"kind\":\"drop\"}", NULL, true,
		  "cannot be reached" },
		{ "500", "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":500}", NULL,
		  true, "unavailable" },
		{ "502",
		  "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":502,"
		  "\"body\":\"<html>Bad Gateway</html>\"}",
		  NULL, true, "unavailable" },
		{ "503", "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":503}", NULL,
		  true, "unavailable" },
		{ "429 too_many_requests", "{\"path\":\"/oauth/token\",\"kind\":\"rate_limit\"}",
		  NULL, true, "Too many sign-ins" },
		{ "garbage", "{\"path\":\"/oauth/token\",\"kind\":\"garbage\"}", NULL, false,
		  "unavailable" },
		{ "TLS with another CA", NULL, &fake.port_other_ca, false, "cannot be reached" },
	};
	const char *services[] = { SVC_DENY, SVC_PASSWORD, SVC_BREAKGLASS, SVC_BREAKGLASS };
	char extra[64], out[1024];

	online_login();
	assert_true(has_verifier());
	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		const struct fault_case *c = &cases[i];

		for (size_t s = 0; s < A0_ARRAY_SIZE(services); s++) {
			bool window = s == 3, grant;
			struct run r;

			print_message("%s, %s%s\n", c->name, services[s], window ? " (open)" : "");
			if (window)
				assert_int_equal(admin(out, sizeof(out),
						       "breakglass open 10m --reason 'test outage'"),
						 0);
			if (c->port) {
				snprintf(extra, sizeof(extra), "domain = localhost:%d", *c->port);
				configure(extra);
			} else {
				fault(c->json);
			}
			run_login(services[s], "a0alice", PASSWORD, &r);
			grant = c->offline && s != 0 && (s != 2);
			if (grant != (r.auth == PAM_SUCCESS))
				fail_msg("%s under %s: got %s; log: %s", c->name, services[s],
					 name_pam(r.auth), r.log);
			if (grant) {
				assert_pam(r.account, PAM_SUCCESS);
				if (!in(r.info, GRANTED) ||
				    !strstr(r.log,
					    "msgid=offline-granted outcome=granted user=a0alice"))
					fail_msg("%s: no notice or log line; log: %s", c->name,
						 r.log);
			} else {
				assert_pam(r.auth, PAM_AUTHINFO_UNAVAIL);
				if (s == 2 && c->offline) {
					if (!in(r.err, "not open on this host") ||
					    !strstr(r.log,
						    "msgid=offline-denied outcome=denied user=a0alice"))
						fail_msg("%s: breakglass closed: %s", c->name,
							 r.log);
				} else if (!in(r.err, c->deny_message)) {
					fail_msg("%s under %s: no '%s'; log: %s", c->name,
						 services[s], c->deny_message, r.log);
				}
				if (strstr(r.log, "offline-granted"))
					fail_msg("%s: granted offline: %s", c->name, r.log);
			}
			if (c->port == &fake.port_other_ca &&
			    !strstr(r.log, "msgid=tls-intercepted outcome=event"))
				fail_msg("TLS: not logged as an interception: %s", r.log);
			assert_true(r.seconds < TIMEOUT + 1.5);
			run_free(&r);
			if (window)
				assert_int_equal(admin(out, sizeof(out), "breakglass close"), 0);
			no_fault();
			configure(NULL);
			forget_outage();
		}
	}
	/* None of that touched the verifier. */
	assert_true(has_verifier());
}

/* What Auth0 answers about the user is a verdict under every policy, verifier or not. */
static void test_verdicts_are_not_offline(void **state)
{
	const char *services[] = { SVC_PASSWORD, SVC_BREAKGLASS };
	char out[1024];

	online_login();
	assert_int_equal(admin(out, sizeof(out), "breakglass open 10m"), 0);
	for (size_t s = 0; s < A0_ARRAY_SIZE(services); s++) {
		expect(services[s], "wrong-password", PAM_AUTH_ERR, NULL, NULL);
		fake_control(&fake, "POST", "/__control/user",
			     "{\"username\":\"a0alice\",\"brute_force\":true}");
		expect(services[s], PASSWORD, PAM_MAXTRIES, "locked after too many failed sign-ins",
		       NULL);
		fake_control(&fake, "POST", "/__control/user",
			     "{\"username\":\"a0alice\",\"brute_force\":false}");
	}
	assert_int_equal(admin(out, sizeof(out), "breakglass close"), 0);
}

/* ---- the known-offline fast path with offline login, and recovery ---- */

static void test_fast_path_and_recovery(void **state)
{
	double start, twenty, longest = 0;
	char path[128], text[64];
	int seen;

	configure("offline_backoff_min = 600\noffline_backoff_max = 600");
	online_login();
	fault("{\"path\":\"/oauth/token\",\"kind\":\"silence\",\"seconds\":6,\"count\":-1}");
	seen = fake_count(&fake, "/oauth/token", NULL);
	/* The first login waits for the timeout, marks the host offline, and signs in offline. */
	expect(SVC_PASSWORD, PASSWORD, PAM_SUCCESS, GRANTED,
	       "msgid=offline-marked outcome=event user=a0alice");
	start = now_seconds();
	for (int i = 0; i < 20; i++) {
		double one = now_seconds();

		expect(SVC_PASSWORD, PASSWORD, PAM_SUCCESS, GRANTED,
		       ": msgid=offline-granted outcome=granted user=a0alice service=" SVC_PASSWORD
		       " rhost=- step=offline error=- result=GRANTED description=\"signed in "
		       "offline with the kept password (last online sign-in ");
		one = now_seconds() - one;
		longest = one > longest ? one : longest;
	}
	twenty = now_seconds() - start;
	print_message("20 offline logins during an outage: %.3f s, the longest %.3f s\n", twenty,
		      longest);
	/* No network wait among them: the tenant saw none of them, and none took as long as the
	 * request timeout a black-holed request waits for (each is its own offline work only:
	 * about 0.04 s in the sanitizer build, 0.4 s under valgrind). */
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), seen + 1);
	assert_true(longest < TIMEOUT);
	/* Under deny the same outage refuses at once. */
	expect(SVC_DENY, PASSWORD, PAM_AUTHINFO_UNAVAIL, "cannot be reached",
	       "msgid=offline-denied outcome=unavailable user=a0alice");
	/* The tenant is back: past the next check (moved to now here), the first login asks it
	 * and goes online. */
	no_fault();
	snprintf(path, sizeof(path), "%s/run/offline", run_dir);
	snprintf(text, sizeof(text), "v1 %lld 600\n", (long long)time(NULL) - 1);
	write_text(path, text);
	expect(SVC_PASSWORD, PASSWORD, PAM_SUCCESS, NULL,
	       "msgid=online-again outcome=event user=a0alice");
	assert_int_equal(fake_count(&fake, "/oauth/token", NULL), seen + 2);
}

/* ---- the verifier's bounds ---- */

static void test_wrong_password_offline_and_lockout(void **state)
{
	struct run r;

	configure("offline_max_failures = 3\noffline_fail_delay = 1");
	online_login();
	fault("{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":503,\"count\":-1}");
	/* A wrong password offline is refused after the failure delay. */
	run_login(SVC_PASSWORD, "a0alice", "wrong-password", &r);
	assert_pam(r.auth, PAM_AUTH_ERR);
	assert_non_null(strstr(r.log, "wrong password (offline failure 1 of 3)"));
	assert_true(r.seconds >= 0.7); /* libpam varies the delay by up to a quarter */
	run_free(&r);
	configure("offline_max_failures = 3");
	expect(SVC_PASSWORD, "wrong-password", PAM_AUTH_ERR, NULL, "offline failure 2 of 3");
	expect(SVC_PASSWORD, "wrong-password", PAM_AUTH_ERR, NULL, "offline failure 3 of 3");
	/* Locked: the right password too, until an online sign-in. */
	expect(SVC_PASSWORD, PASSWORD, PAM_MAXTRIES, "locked after too many failures",
	       "msgid=offline-denied outcome=denied user=a0alice service=" SVC_PASSWORD
	       " rhost=- step=offline error=- result=LOCKED");
	no_fault();
	forget_outage();
	online_login();
	fault("{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":503,\"count\":-1}");
	expect(SVC_PASSWORD, PASSWORD, PAM_SUCCESS, GRANTED, NULL);
}

static void test_max_age(void **state)
{
	configure("offline_max_age = 2");
	online_login();
	fault("{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	expect(SVC_PASSWORD, PASSWORD, PAM_SUCCESS, GRANTED, NULL);
	sleep(3);
	expect(SVC_PASSWORD, PASSWORD, PAM_AUTHINFO_UNAVAIL, "too long ago",
	       "over offline_max_age (2 s)");
	configure("offline_max_age = 0");
	expect(SVC_PASSWORD, PASSWORD, PAM_AUTHINFO_UNAVAIL, NULL, "offline_max_age is 0");
}

/* A user who never signed in online here has nothing to sign in with offline. */
static void test_no_verifier(void **state)
{
	fault("{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	expect(SVC_PASSWORD, PASSWORD, PAM_AUTHINFO_UNAVAIL, "have not signed in on this host",
	       "result=NO_VERIFIER");
	assert_false(has_verifier());
}

/* The default (deny everywhere) keeps no verifier: no Argon2 work, no file. */
static void test_deny_keeps_nothing(void **state)
{
	configure("offline = deny");
	expect(SVC_DENY, PASSWORD, PAM_SUCCESS, NULL,
	       "msgid=login-granted outcome=granted user=a0alice");
	assert_false(has_verifier());
	/* The same login where a service uses offline login keeps one. */
	configure(NULL);
	expect(SVC_DENY, PASSWORD, PAM_SUCCESS, NULL,
	       "msgid=login-granted outcome=granted user=a0alice");
	assert_true(has_verifier());
}

/* ---- purges ---- */

static void test_purge_on_changed_password(void **state)
{
	online_login();
	assert_true(has_verifier());
	/* The password is changed at Auth0 (or leaked and reset): the old one is refused
	 * online, and the verifier that accepts it is forgotten. */
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0alice\",\"password\":\"Changed-a0alice-2\"}");
	expect(SVC_PASSWORD, PASSWORD, PAM_AUTH_ERR, NULL,
	       "msgid=offline-forgotten outcome=ok user=a0alice");
	assert_false(has_verifier());
	fault("{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	expect(SVC_PASSWORD, PASSWORD, PAM_AUTHINFO_UNAVAIL, NULL, "result=NO_VERIFIER");
}

/* A wrong password refused online is no reason to forget the verifier. */
static void test_wrong_password_online_keeps(void **state)
{
	online_login();
	expect(SVC_PASSWORD, "wrong-password", PAM_AUTH_ERR, NULL, NULL);
	assert_true(has_verifier());
}

static void test_purge_on_blocked(void **state)
{
	online_login();
	fake_control(&fake, "POST", "/__control/user",
		     "{\"username\":\"a0alice\",\"blocked\":true}");
	expect(SVC_PASSWORD, PASSWORD, PAM_PERM_DENIED, "blocked",
	       "msgid=offline-forgotten outcome=ok user=a0alice");
	assert_false(has_verifier());
}

/* The identity cache (auth0-sync(8)) says the account was blocked at the last sync. */
static void test_purge_on_synced_blocked(void **state)
{
	char path[128];

	online_login();
	snprintf(path, sizeof(path), "%s/identities", run_dir);
	write_text(path, "# pam_auth0 identities format=1 generated=1\n"
			 "a0alice\tauth0|6a0000000000000000000001\tblocked\t-\t-\t1\n");
	assert_int_equal(chmod(path, 0600), 0);
	fault("{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	expect(SVC_PASSWORD, PASSWORD, PAM_PERM_DENIED, "not allowed to sign in",
	       "blocked in Auth0 (identity cache)");
	assert_false(has_verifier());
	assert_int_equal(unlink(path), 0);
}

static void test_forget_command(void **state)
{
	char out[1024];

	online_login();
	assert_int_equal(admin(out, sizeof(out), "offline list"), 0);
	assert_non_null(strstr(out, "a0alice"));
	assert_int_equal(admin(out, sizeof(out), "offline forget a0alice"), 0);
	assert_false(has_verifier());
	assert_int_equal(admin(out, sizeof(out), "offline forget a0alice"), 1);
}

/* ---- breakglass ---- */

static void test_breakglass_window(void **state)
{
	char out[1024];

	online_login();
	fault("{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	expect(SVC_BREAKGLASS, PASSWORD, PAM_AUTHINFO_UNAVAIL, "not open on this host", NULL);
	assert_int_equal(admin(out, sizeof(out), "breakglass open 3s --reason 'INC-42'"), 0);
	expect(SVC_BREAKGLASS, PASSWORD, PAM_SUCCESS, GRANTED,
	       "msgid=offline-granted outcome=granted user=a0alice");
	/* The window closes by itself... */
	sleep(4);
	expect(SVC_BREAKGLASS, PASSWORD, PAM_AUTHINFO_UNAVAIL, "not open on this host", NULL);
	/* ...or when root closes it. */
	assert_int_equal(admin(out, sizeof(out), "breakglass open 10m"), 0);
	expect(SVC_BREAKGLASS, PASSWORD, PAM_SUCCESS, GRANTED, NULL);
	assert_int_equal(admin(out, sizeof(out), "breakglass close"), 0);
	expect(SVC_BREAKGLASS, PASSWORD, PAM_AUTHINFO_UNAVAIL, "not open on this host", NULL);
	/* The window is no second factor for deny services. */
	assert_int_equal(admin(out, sizeof(out), "breakglass open 10m"), 0);
	expect(SVC_DENY, PASSWORD, PAM_AUTHINFO_UNAVAIL, NULL,
	       "msgid=offline-denied outcome=unavailable user=a0alice");
	assert_int_equal(admin(out, sizeof(out), "breakglass close"), 0);
}

/* ---- concurrency ---- */

/* 10 concurrent wrong-password offline logins of one user: one consistent count. */
static void test_concurrent_offline_failures(void **state)
{
	pid_t pids[10];
	char out[4096];
	cJSON *list, *entry;

	configure("offline_max_failures = 20");
	online_login();
	fault("{\"path\":\"/oauth/token\",\"kind\":\"drop\",\"count\":-1}");
	/* The outage known, so that all ten take the fast path together. */
	expect(SVC_PASSWORD, "wrong-password", PAM_AUTH_ERR, NULL, "offline failure 1 of 20");
	for (int i = 0; i < 10; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct run r;

			run_login(SVC_PASSWORD, "a0alice", "wrong-password", &r);
			_exit(r.auth == PAM_AUTH_ERR ? 0 : 1);
		}
	}
	for (int i = 0; i < 10; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(admin(out, sizeof(out), "--json offline list"), 0);
	list = cJSON_Parse(out);
	entry = cJSON_GetArrayItem(cJSON_GetObjectItem(list, "verifiers"), 0);
	if (cJSON_GetNumberValue(cJSON_GetObjectItem(entry, "failures")) != 11)
		fail_msg("expected 11 failures: %s", out);
	cJSON_Delete(list);
}

/* ---- set-up ---- */

static void write_services(const char *dir, const char *services)
{
	const struct {
		const char *name, *args;
	} svcs[] = {
		{ SVC_DENY, "" },
		{ SVC_PASSWORD, " offline=password" },
		{ SVC_BREAKGLASS, " offline=breakglass" },
		{ SVC_CONF, "" },
	};
	const char *module = getenv("A0_MODULE");
	char path[192], text[1024];

	for (size_t i = 0; i < A0_ARRAY_SIZE(svcs); i++) {
		snprintf(path, sizeof(path), "%s/%s", services, svcs[i].name);
		snprintf(text, sizeof(text),
			 "auth     required %s config=%s/pam_auth0.conf%s\n"
			 "account  required %s config=%s/pam_auth0.conf%s\n",
			 module, dir, svcs[i].args, module, dir, svcs[i].args);
		write_text(path, text);
	}
}

int main(int argc, char **argv)
{
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-off", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	fake_init(&fake);
	if (geteuid() != 0) {
		/* Offline verifiers are root's alone (lib/offline.h). */
		printf("1..0 # SKIP offline login needs root\n");
		return 77;
	}

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_failure_classes),
		T(test_verdicts_are_not_offline),
		T(test_fast_path_and_recovery),
		T(test_wrong_password_offline_and_lockout),
		T(test_max_age),
		T(test_no_verifier),
		T(test_deny_keeps_nothing),
		T(test_purge_on_changed_password),
		T(test_wrong_password_online_keeps),
		T(test_purge_on_blocked),
		T(test_purge_on_synced_blocked),
		T(test_forget_command),
		T(test_breakglass_window),
		T(test_concurrent_offline_failures),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
