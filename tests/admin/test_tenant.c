/* SPDX-License-Identifier: MIT */
/*
 * admin/tenant.c (admin/diag.h) against the fake tenant: check's tenant steps on a healthy
 * tenant (every step ok), a closed port (tenant-tcp, nothing after), a certificate of another CA
 * (tls-ca), a skewed Date header (clock-skew, through POST /__control/clock), applications
 * without some grants (grant findings and their severities); status on an empty state, then with
 * a known outage, a verifier and a listening broker socket (root: the state files are root's;
 * those tests skip otherwise). Findings are read from the report's JSON (admin/report.h), by id
 * and severity. Every file is in a temporary directory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "admin/diag.h"
#include "admin/report.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/offline.h"
#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/util.h"

static struct fake fake;
static char base[64];

/* A configuration of the fake at port for client, with extra lines. */
static struct a0_config *config(int port, const char *client, const char *extra)
{
	char text[2048], e[512] = "";
	struct a0_config *cfg = NULL;

	snprintf(text, sizeof(text),
		 "domain = localhost:%d\nclient_id = %s\nrealm = Username-Password-Authentication\n"
		 "ca_file = %s\ntimeout = 5\nstate_dir = %s/run\nsync_dir = %s/sync\n"
		 "offline_dir = %s/offline\nhost_key_file = %s/keys/host.key\n"
		 "broker_socket = %s/broker.sock\noffline_memory = 8192\noffline_passes = 1\n%s",
		 port, client, fake.ca, base, base, base, base, base, extra ? extra : "");
	if (a0_config_parse_buffer(text, strlen(text), 0, NULL, &cfg, e, sizeof(e)) < 0)
		fail_msg("configuration: %s", e);
	return cfg;
}

/* Run fn on cfg and return the report as JSON (cJSON_Delete it); *ret_exit its exit code. */
static cJSON *run(int (*fn)(const struct a0_config *, struct a0_report *), struct a0_config *cfg,
		  const char *verb)
{
	struct a0_report *r = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	cJSON *doc;

	assert_a0(a0_report_new(verb, &r), 0);
	assert_a0(fn(cfg, r), 0);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_a0(a0_report_print(r, f, true), 0);
	assert_int_equal(fclose(f), 0);
	doc = cJSON_Parse(text);
	if (!doc)
		fail_msg("the report is not JSON: %.300s", text);
	free(text);
	a0_report_free(r);
	a0_config_free(cfg);
	return doc;
}

/* The severity of the finding id (of subject, when not NULL), or NULL when there is none. */
static const char *severity(const cJSON *doc, const char *id, const char *subject)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "findings")) {
		const cJSON *i = cJSON_GetObjectItem(x, "id"),
			    *s = cJSON_GetObjectItem(x, "subject");

		if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0 &&
		    (!subject || (cJSON_IsString(s) && strcmp(s->valuestring, subject) == 0)))
			return cJSON_GetStringValue(cJSON_GetObjectItem(x, "severity"));
	}
	return NULL;
}

static void expect(const cJSON *doc, const char *id, const char *subject, const char *sev)
{
	const char *got = severity(doc, id, subject);

	if (!got || strcmp(got, sev) != 0) {
		char *text = cJSON_PrintUnformatted(doc);

		fprintf(stderr, "report: %s\n", text);
		free(text);
		fail_msg("%s%s%s: expected %s, got %s", id, subject ? " " : "",
			 subject ? subject : "", sev, got ? got : "no finding");
	}
}

static double exit_of(const cJSON *doc)
{
	const cJSON *e = cJSON_GetObjectItem(doc, "exit");

	assert_true(cJSON_IsNumber(e));
	return e->valuedouble;
}

static const char *value(const cJSON *doc, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "values"), key));
}

/* A value that is a decimal number. */
static long number(const cJSON *doc, const char *key)
{
	const char *v = value(doc, key);
	char *end = NULL;
	long n;

	assert_non_null(v);
	n = strtol(v, &end, 10);
	assert_true(end != v && *end == '\0');
	return n;
}

static void test_healthy(void **unused)
{
	cJSON *doc = run(a0_diag_tenant, config(fake.port, "pam-native", NULL), "check");

	expect(doc, "tenant-dns", NULL, "ok");
	expect(doc, "tenant-tcp", NULL, "ok");
	expect(doc, "tenant-tls", NULL, "ok");
	expect(doc, "tenant-oidc", NULL, "ok");
	expect(doc, "tenant-jwks", NULL, "ok");
	expect(doc, "clock-skew", NULL, "info");
	assert_true(labs(number(doc, "clock_skew_seconds")) <= 2);
	/* pam-native has every grant but the device code's, which this configuration does not use */
	expect(doc, "grant", "password-realm", "info");
	expect(doc, "grant", "refresh_token", "info");
	expect(doc, "grant", "mfa-otp", "info");
	expect(doc, "grant", "mfa-oob", "info");
	expect(doc, "grant", "mfa-recovery-code", "info");
	expect(doc, "grant", "passwordless/otp", "info");
	expect(doc, "grant", "device_code", "info");
	assert_null(severity(doc, "client-auth", NULL));
	assert_int_equal((int)exit_of(doc), A0_REPORT_OK);
	cJSON_Delete(doc);
	/* The device grant is probed with a bogus code: no code was created. */
	assert_int_equal(fake_count(&fake, "/oauth/device/code", NULL), 0);
}

static void test_closed_port(void **unused)
{
	cJSON *doc = run(a0_diag_tenant, config(fake.port_closed, "pam-native", NULL), "check");

	expect(doc, "tenant-dns", NULL, "ok");
	expect(doc, "tenant-tcp", NULL, "failure");
	assert_null(severity(doc, "tenant-tls", NULL));
	assert_null(severity(doc, "tls-ca", NULL));
	assert_null(severity(doc, "tenant-oidc", NULL));
	assert_null(severity(doc, "clock-skew", NULL));
	assert_null(severity(doc, "grant", NULL));
	assert_int_equal((int)exit_of(doc), A0_REPORT_FAILURES);
	cJSON_Delete(doc);
}

static void test_wrong_ca(void **unused)
{
	cJSON *doc = run(a0_diag_tenant, config(fake.port_other_ca, "pam-native", NULL), "check");

	expect(doc, "tenant-tcp", NULL, "ok");
	expect(doc, "tls-ca", NULL, "failure");
	assert_null(severity(doc, "tenant-tls", NULL));
	assert_null(severity(doc, "tenant-oidc", NULL));
	assert_int_equal((int)exit_of(doc), A0_REPORT_FAILURES);
	cJSON_Delete(doc);
}

static void test_clock_skew(void **unused)
{
	cJSON *doc;

	/* The host 120 s behind: beyond clock_skew (60), fresh ID tokens' iat is in the future. */
	fake_control(&fake, "POST", "/__control/clock", "{\"skew\": 120}");
	doc = run(a0_diag_tenant, config(fake.port, "pam-native", NULL), "check");
	expect(doc, "clock-skew", NULL, "failure");
	expect(doc, "tenant-jwks", NULL, "ok");
	assert_int_equal((int)exit_of(doc), A0_REPORT_FAILURES);
	cJSON_Delete(doc);
	/* 20 s: not synchronised, still within what the logins tolerate. */
	fake_control(&fake, "POST", "/__control/clock", "{\"skew\": 20}");
	doc = run(a0_diag_tenant, config(fake.port, "pam-native", NULL), "check");
	expect(doc, "clock-skew", NULL, "warning");
	assert_int_equal((int)exit_of(doc), A0_REPORT_WARNINGS);
	cJSON_Delete(doc);
	/* The host 20 s ahead with DPoP: within its 30 s, a warning; 40 s ahead, a failure. */
	fake_control(&fake, "POST", "/__control/clock", "{\"skew\": -40}");
	doc = run(a0_diag_tenant, config(fake.port, "pam-native", "dpop = true\n"), "check");
	expect(doc, "clock-skew", NULL, "failure");
	cJSON_Delete(doc);
	fake_control(&fake, "POST", "/__control/clock", "{\"skew\": 0}");
}

static void test_grants_refused(void **unused)
{
	cJSON *doc;

	/* no-mfa-grants: the password-realm grant alone. The default scope keeps refresh tokens:
	 * a failure; MFA is the tenant's choice here (no mfa_methods set): warnings. */
	doc = run(a0_diag_tenant, config(fake.port, "no-mfa-grants", NULL), "check");
	expect(doc, "grant", "password-realm", "info");
	expect(doc, "grant", "refresh_token", "failure");
	expect(doc, "grant", "mfa-otp", "warning");
	expect(doc, "grant", "mfa-oob", "warning");
	expect(doc, "grant", "mfa-recovery-code", "warning");
	expect(doc, "grant", "device_code", "info");
	assert_int_equal((int)exit_of(doc), A0_REPORT_FAILURES);
	cJSON_Delete(doc);
	/* The same without offline_access, and mfa_methods named: MFA's grants are needed. */
	doc = run(a0_diag_tenant,
		  config(fake.port, "no-mfa-grants", "scope = openid profile\nmfa_methods = otp\n"),
		  "check");
	expect(doc, "grant", "refresh_token", "info");
	expect(doc, "grant", "mfa-otp", "failure");
	expect(doc, "grant", "mfa-oob", "info");
	cJSON_Delete(doc);
	/* The device flow configured for an application without its grant. */
	doc = run(a0_diag_tenant,
		  config(fake.port, "pam-native", "login_methods = password device\n"), "check");
	expect(doc, "grant", "device_code", "failure");
	expect(doc, "grant", "password-realm", "info");
	cJSON_Delete(doc);
	/* An application without the password-realm grant. */
	fake_control(&fake, "POST", "/__control/client",
		     "{\"client_id\": \"no-mfa-grants\", \"grant_types\": [\"refresh_token\"]}");
	doc = run(a0_diag_tenant, config(fake.port, "no-mfa-grants", NULL), "check");
	expect(doc, "grant", "password-realm", "failure");
	expect(doc, "grant", "refresh_token", "info");
	cJSON_Delete(doc);
	fake_control(&fake, "POST", "/__control/reset", "{}");
}

static void test_client_auth(void **unused)
{
	struct a0_config *cfg = config(fake.port, "pam-confidential", NULL);
	cJSON *doc;

	/* A wrong client secret: the tenant's 401 stops the probes. */
	cfg->client_secret = strdup("not-the-secret");
	assert_non_null(cfg->client_secret);
	doc = run(a0_diag_tenant, cfg, "check");
	expect(doc, "tenant-jwks", NULL, "ok");
	expect(doc, "client-auth", NULL, "failure");
	assert_null(severity(doc, "grant", NULL));
	cJSON_Delete(doc);
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip(); /* the outage state and the verifiers are root's */
}

static void test_status_empty(void **unused)
{
	cJSON *doc;

	need_root();
	doc = run(a0_diag_status, config(fake.port, "pam-native", "offline = password\n"),
		  "status");
	expect(doc, "outage", NULL, "ok");
	assert_string_equal(value(doc, "online"), "yes");
	/* sync_dir is not where the NSS module reads: said, and no cache there. */
	expect(doc, "identity-cache", NULL, "warning");
	assert_string_equal(value(doc, "identity_cache"), "none");
	expect(doc, "offline-user", NULL, "info");
	assert_string_equal(value(doc, "offline_users"), "0");
	expect(doc, "broker", NULL, "info");
	assert_string_equal(value(doc, "broker"), "absent");
	cJSON_Delete(doc);
}

static void test_status_offline(void **unused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[256], text[64], reason[256] = "";
	struct a0_config *cfg;
	struct a0_offline off;
	time_t now = time(NULL);
	bool wrote = false;
	cJSON *doc;
	int fd;

	need_root();
	/* Known offline for 100 s more, as a login's outage record leaves it. */
	snprintf(path, sizeof(path), "%s/run/offline", base);
	snprintf(text, sizeof(text), "v1 %lld 60\n", (long long)now + 100);
	write_text(path, text);
	assert_int_equal(chmod(path, 0644), 0);
	/* A verifier of alice's, from an online login an hour ago. */
	cfg = config(fake.port, "pam-native", "offline = password\noffline_max_age = 86400\n");
	a0_offline_of(cfg, &off);
	if (a0_offline_online(&off, "alice", "correct horse", now - 3600, &wrote, reason,
			      sizeof(reason)) != 0)
		fail_msg("a0_offline_online: %s", reason);
	/* A broker listening on its socket; a cache where auth0-sync writes it. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/broker.sock", base);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	snprintf(path, sizeof(path), "%s/sync", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sync/nss.cache", base);
	write_text(path, "x");

	doc = run(a0_diag_status, cfg, "status");
	expect(doc, "outage", NULL, "warning");
	assert_string_equal(value(doc, "online"), "no");
	assert_non_null(value(doc, "next_check"));
	expect(doc, "offline-user", "alice", "info");
	assert_string_equal(value(doc, "offline_users"), "1");
	assert_non_null(value(doc, "offline_until.alice"));
	expect(doc, "broker", NULL, "ok");
	assert_string_equal(value(doc, "broker"), "listening");
	assert_true(number(doc, "identity_cache_age_seconds") <= 5);
	cJSON_Delete(doc);
	close(fd);
	/* The listener gone, the socket file left: nobody accepts. */
	doc = run(a0_diag_status, config(fake.port, "pam-native", NULL), "status");
	expect(doc, "broker", NULL, "warning");
	cJSON_Delete(doc);
}

static int setup(void **unused)
{
	char path[128];

	fake_init(&fake);
	temp_dir(base, sizeof(base), "a0-tenant");
	if (chmod(base, 0755) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/run", base);
	return mkdir(path, 0755);
}

static int teardown(void **unused)
{
	return remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),        cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_wrong_ca),       cmocka_unit_test(test_clock_skew),
		cmocka_unit_test(test_grants_refused), cmocka_unit_test(test_client_auth),
		cmocka_unit_test(test_status_empty),   cmocka_unit_test(test_status_offline),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
