/* SPDX-License-Identifier: MIT */
/*
 * auth0-pam(8) check, nsswitch and test-login run as commands. check and nsswitch read a host
 * built in a temporary directory (--root): a healthy set-up, then one broken set-up per rule (a
 * world-readable secret, the module missing from sshd's stack, KbdInteractiveAuthentication no
 * with MFA on, a non-final account line, LoginGraceTime too short, ...), each → its finding id
 * in the text and the JSON and the exit code. nsswitch enable/disable/--dry-run: idempotent,
 * every other byte kept, owner and mode kept. test-login: PAM services in a pam_wrapper service
 * directory (pam_permit, pam_deny, pam_auth0 against the fake tenant). Root only (the files
 * must be root's, as on a host); skipped otherwise.
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
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "tests/common/fake.h"
#include "tests/common/util.h"

#define OUT_MAX 262144
#define PASSWORD "Secret-a0alice-1"

static char root[64], out[OUT_MAX], err[OUT_MAX];
static struct fake fake;

/*
 * Run auth0-pam with argv (NULL-terminated), input on its stdin, env ("NAME=VALUE", NULL-ended)
 * added: its exit status; out and err filled.
 */
static int run_env(const char *input, const char *const *env, const char *const *args)
{
	const char *argv[24] = { A0_ADMIN_BIN };
	int i = 0, code;

	for (; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	code = run_capture(argv, input, env, out, sizeof(out), err, sizeof(err));
	assert_true(code >= 0);
	return code;
}

#define RUN(...) run_env(NULL, NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* ---- the host under --root */

static void put(const char *rel, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put(const char *rel, mode_t mode, const char *fmt, ...)
{
	char path[256], text[4096], *slash;
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0755);
		*slash = '/';
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	write_text(path, text);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(chown(path, 0, 0), 0);
}

/* The configuration, for the fake's listener at port. */
static void conf_at(int port, const char *extra)
{
	put("etc/pam_auth0/pam_auth0.conf", 0644,
	    "domain = localhost:%d\nclient_id = pam-native\nca_file = /etc/ssl/fake-ca.pem\n"
	    "host_key_file = /etc/pam_auth0/host.key\nmfa_methods = otp push\n%s",
	    port, extra ? extra : "");
}

static void conf(const char *extra)
{
	conf_at(fake.port, extra);
}

static void sshd_service(const char *account_line)
{
	put("etc/pam.d/sshd", 0644,
	    "# PAM configuration for the Secure Shell service\n"
	    "auth       requisite  pam_faillock.so preauth\n"
	    "auth       [success=done default=die] pam_auth0.so\n"
	    "@include common-auth\n"
	    "%s\n"
	    "@include common-account\n"
	    "session    required   pam_unix.so\n",
	    account_line);
}

/* A host on which every local rule holds. */
static int healthy(void **unused)
{
	char ca[1200], path[256];

	(void)unused;
	temp_dir(root, sizeof(root), "a0-check");
	assert_int_equal(chmod(root, 0755), 0);
	conf(NULL);
	put("etc/pam_auth0/host.key", 0600, "not a real key\n");
	snprintf(ca, sizeof(ca), "cp '%s' '%s/etc/ssl/fake-ca.pem'", fake.ca, root);
	put("etc/ssl/.keep", 0644, "%s", "");
	assert_int_equal(system(ca), 0);
	snprintf(path, sizeof(path), "%s/etc/ssl/fake-ca.pem", root);
	assert_int_equal(chmod(path, 0644), 0);
	sshd_service("account    required   pam_auth0.so");
	put("etc/pam.d/common-auth", 0644,
	    "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"
	    "auth required pam_permit.so\nauth required pam_faillock.so authfail\n");
	put("etc/pam.d/common-account", 0644,
	    "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n"
	    "account requisite pam_deny.so\naccount required pam_permit.so\n");
	put("etc/pam.d/login", 0644, "@include common-auth\n@include common-account\n");
	put("etc/nsswitch.conf", 0644,
	    "# /etc/nsswitch.conf\npasswd:         files systemd\ngroup:          files systemd\n"
	    "shadow:         files\nhosts:          files dns\n");
	put("etc/ssh/sshd_config", 0644,
	    "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nKbdInteractiveAuthentication yes\n"
	    "LoginGraceTime 2m\nMatch User backup\n\tKbdInteractiveAuthentication no\n");
	put("etc/ssh/sshd_config.d/.keep", 0644, "%s", "");
	return 0;
}

static int cleanup(void **unused)
{
	(void)unused;
	return remove_tree(root);
}

/* ---- what check said */

static cJSON *check_json(int want_exit)
{
	cJSON *doc;

	assert_int_equal(RUN("--root", root, "check", "--json"), want_exit);
	doc = cJSON_Parse(out);
	if (!doc)
		fail_msg("not JSON: %s", out);
	assert_int_equal(cJSON_GetObjectItem(doc, "exit")->valueint, want_exit);
	return doc;
}

/* The first finding of id with severity sev in doc (NULL sev: any). */
static const cJSON *finding(const cJSON *doc, const char *id, const char *sev)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "findings")) {
		if (strcmp(cJSON_GetObjectItem(f, "id")->valuestring, id) == 0 &&
		    (!sev || strcmp(cJSON_GetObjectItem(f, "severity")->valuestring, sev) == 0))
			return f;
	}
	return NULL;
}

/* check finds id at severity sev, in the text (a line "sev id ...") and the JSON, with exit. */
static void expect_finding(const char *id, const char *sev, int want_exit, const char *subject)
{
	char line[128];
	cJSON *doc;
	const cJSON *f;
	int code = RUN("--root", root, "check");

	if (code != want_exit)
		fail_msg("%s %s: exit %d, not %d:\n%s", sev, id, code, want_exit, out);
	snprintf(line, sizeof(line), "\n%-8s %-22s ", sev, id);
	if (!strstr(out, line) && strncmp(out, line + 1, strlen(line) - 1) != 0)
		fail_msg("no '%s %s' line in:\n%s", sev, id, out);
	doc = check_json(want_exit);
	f = finding(doc, id, sev);
	if (!f)
		fail_msg("no %s finding %s in the JSON:\n%s", sev, id, out);
	if (subject)
		assert_string_equal(cJSON_GetObjectItem(f, "subject")->valuestring, subject);
	cJSON_Delete(doc);
}

/* Findings that are warnings or failures, apart from ids starting with an exception. */
static void expect_clean(cJSON *doc)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "findings")) {
		const char *sev = cJSON_GetObjectItem(f, "severity")->valuestring;

		if (strcmp(sev, "warning") == 0 || strcmp(sev, "failure") == 0)
			fail_msg("%s %s: %s", sev, cJSON_GetObjectItem(f, "id")->valuestring,
				 cJSON_GetObjectItem(f, "text")->valuestring);
	}
}

static void test_healthy(void **unused)
{
	cJSON *doc;

	(void)unused;
	doc = check_json(0);
	expect_clean(doc);
	assert_non_null(finding(doc, "config-load", "ok"));
	assert_non_null(finding(doc, "secret-mode", "ok"));
	assert_non_null(finding(doc, "ca-file", "ok"));
	assert_non_null(finding(doc, "account-final", "ok"));
	assert_non_null(finding(doc, "sshd-usepam", "ok"));
	assert_non_null(finding(doc, "sshd-kbdint", "ok"));
	assert_non_null(finding(doc, "sshd-match", "info"));
	/* login has no pam_auth0: a fact, not a warning */
	assert_non_null(finding(doc, "pam-service", "info"));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "values"), "root")
				    ->valuestring,
			    root);
	cJSON_Delete(doc);
	assert_int_equal(RUN("--root", root, "check"), 0);
	assert_non_null(strstr(out, "\ncheck: 0 warnings, 0 failures\n"));
}

static void test_secret_world_readable(void **unused)
{
	(void)unused;
	conf("client_secret_file = /etc/pam_auth0/client_secret\n");
	put("etc/pam_auth0/client_secret", 0644, "not-a-real-secret\n");
	expect_finding("secret-mode", "failure", 2, "/etc/pam_auth0/client_secret");
	assert_null(strstr(out, "not-a-real-secret"));
	put("etc/pam_auth0/client_secret", 0600, "not-a-real-secret\n");
	expect_finding("secret-mode", "ok", 0, "/etc/pam_auth0/client_secret");
	/* named, but not there */
	conf("client_secret_file = /etc/pam_auth0/gone\n");
	expect_finding("secret-missing", "failure", 2, "/etc/pam_auth0/gone");
}

static void test_config_writable(void **unused)
{
	char path[256];

	(void)unused;
	snprintf(path, sizeof(path), "%s/etc/pam_auth0/pam_auth0.conf", root);
	assert_int_equal(chmod(path, 0666), 0);
	expect_finding("config-mode", "failure", 2, "/etc/pam_auth0/pam_auth0.conf");
	put("etc/pam_auth0/conf.d/10-bad.conf", 0644, "no equals sign here\n");
	expect_finding("config-load", "failure", 2, "/etc/pam_auth0/pam_auth0.conf");
}

static void test_sshd_missing(void **unused)
{
	(void)unused;
	put("etc/pam.d/sshd", 0644, "@include common-auth\n@include common-account\n");
	expect_finding("pam-sshd-missing", "failure", 2, "sshd");
}

static void test_kbdint_no_with_mfa(void **unused)
{
	(void)unused;
	/* in an Include'd drop-in, which comes first and so wins */
	put("etc/ssh/sshd_config.d/50-cloud.conf", 0644, "KbdInteractiveAuthentication no\n");
	expect_finding("sshd-kbdint", "failure", 2, "/etc/ssh/sshd_config.d/50-cloud.conf:1");
	/* without MFA settings: a fact */
	put("etc/pam_auth0/pam_auth0.conf", 0644,
	    "domain = localhost:%d\nclient_id = pam-native\nca_file = /etc/ssl/fake-ca.pem\n"
	    "host_key_file = /etc/pam_auth0/host.key\n",
	    fake.port);
	expect_finding("sshd-kbdint", "info", 0, NULL);
}

static void test_usepam_no(void **unused)
{
	(void)unused;
	put("etc/ssh/sshd_config.d/10-nopam.conf", 0644, "UsePAM no\n");
	expect_finding("sshd-usepam", "failure", 2, "/etc/ssh/sshd_config.d/10-nopam.conf:1");
}

static void test_account_not_final(void **unused)
{
	(void)unused;
	sshd_service("account    sufficient pam_auth0.so");
	expect_finding("account-not-final", "failure", 2, "sshd");
	sshd_service("account    [success=ok default=ignore] pam_auth0.so");
	expect_finding("account-not-final", "failure", 2, "sshd");
	sshd_service("account    [success=ok ignore=ignore default=bad] pam_auth0.so");
	expect_finding("account-final", "ok", 0, "sshd");
	sshd_service("account    [success=ok ignore=ignore perm_denied=die default=bad] "
		     "pam_auth0.so");
	expect_finding("account-final", "ok", 0, "sshd");
	/* final itself, but a sufficient module before it ends the stack first */
	sshd_service("account    sufficient pam_permit.so\naccount    required pam_auth0.so");
	expect_finding("account-not-final", "failure", 2, "sshd");
	/* in auth only */
	sshd_service("account    required pam_permit.so");
	expect_finding("account-missing", "warning", 1, "sshd");
}

/* Debian's layout once pam-auth-update has enabled the auth0 profile (pam/pam-configs/auth0):
 * pam_auth0 only in the common-* fragments, which are not services of their own. */
static void test_pam_auth_update_layout(void **unused)
{
	cJSON *doc;

	(void)unused;
	put("etc/pam.d/common-auth", 0644,
	    "auth [success=2 ignore=ignore default=die] pam_auth0.so\n"
	    "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"
	    "auth required pam_permit.so\n");
	put("etc/pam.d/common-account", 0644,
	    "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n"
	    "account requisite pam_deny.so\naccount required pam_permit.so\n"
	    "account [success=ok ignore=ignore default=die] pam_auth0.so\n");
	put("etc/pam.d/sshd", 0644,
	    "@include common-auth\naccount required pam_nologin.so\n"
	    "@include common-account\n@include common-session\n");
	put("etc/pam.d/common-session", 0644, "session required pam_unix.so\n");
	doc = check_json(0);
	expect_clean(doc);
	assert_non_null(finding(doc, "account-final", "ok"));
	cJSON_Delete(doc);
}

/* The tenant's part through the command (tests/admin/test_tenant has every step): an
 * unreachable tenant, a certificate of another CA than ca_file's, a clock 120 s behind. */
static void test_tenant_findings(void **unused)
{
	char port[16];

	(void)unused;
	snprintf(port, sizeof(port), "localhost:%d", fake.port_closed);
	conf_at(fake.port_closed, NULL);
	expect_finding("tenant-tcp", "failure", 2, port);
	conf_at(fake.port_other_ca, NULL);
	expect_finding("tls-ca", "failure", 2, NULL); /* its subject: the CA file */
	conf(NULL);
	fake_control(&fake, "POST", "/__control/clock", "{\"skew\": 120}");
	expect_finding("clock-skew", "failure", 2, NULL);
	fake_control(&fake, "POST", "/__control/clock", "{\"skew\": 0}");
}

static void test_grace_too_short(void **unused)
{
	(void)unused;
	/* The MFA push timeout (the device flow would need a client the fake grants it to). */
	conf("mfa_timeout = 120\n");
	put("etc/ssh/sshd_config.d/20-grace.conf", 0644, "LoginGraceTime 1m30s\n");
	expect_finding("sshd-grace", "warning", 1, "/etc/ssh/sshd_config.d/20-grace.conf:1");
	put("etc/ssh/sshd_config.d/20-grace.conf", 0644, "LoginGraceTime 0\n");
	expect_finding("sshd-grace", "ok", 0, NULL);
}

static void test_pam_order(void **unused)
{
	(void)unused;
	put("etc/pam.d/sshd", 0644,
	    "auth required pam_faillock.so authfail\n@include common-auth\n"
	    "auth required pam_auth0.so\naccount required pam_auth0.so\n");
	expect_finding("pam-order-unix", "warning", 1, "sshd");
	expect_finding("pam-order-faillock", "warning", 1, "sshd");
	sshd_service("account    required   pam_auth0.so");
	put("etc/pam.d/loopy", 0644, "auth include loopy\n");
	expect_finding("pam-include", "warning", 1, "loopy");
	put("etc/pam.d/loopy", 0644, "auth substack gone\n");
	expect_finding("pam-include", "warning", 1, "loopy");
}

static void test_nsswitch_rules(void **unused)
{
	(void)unused;
	conf("sync_client_id = sync-client\n");
	expect_finding("nss-missing", "warning", 1, "/etc/nsswitch.conf");
	put("etc/nsswitch.conf", 0644, "passwd: files auth0\ngroup: files auth0\n");
	expect_finding("nss-unused", "warning", 1, "/etc/nsswitch.conf"); /* no cache yet */
	put("var/lib/pam_auth0/nss.cache", 0644, "x");
	expect_finding("nss-listed", "ok", 0, "/etc/nsswitch.conf");
	conf(NULL);
	expect_finding("nss-unused", "warning", 1, "/etc/nsswitch.conf"); /* no sync */
}

static void test_usage(void **unused)
{
	(void)unused;
	assert_int_equal(RUN("check", "extra"), 2);
	assert_int_equal(RUN("check", "--reason", "x"), 2);
	assert_int_equal(RUN("--root", "relative", "check"), 2);
	assert_int_equal(RUN("test-login"), 2);
	assert_int_equal(RUN("test-login", "a b"), 2);
	assert_int_equal(RUN("test-login", "alice", "--service", "../x"), 2);
	assert_int_equal(RUN("nsswitch", "frobnicate"), 2);
	assert_int_equal(RUN("--help"), 0);
	assert_non_null(strstr(out, "check [--root DIR] [--json]"));
	assert_non_null(strstr(out, "0 ok, 1 warnings, 2 failures"));
}

/* ---- nsswitch enable|disable */

static const char nss_before[] = "# comment: passwd: files\n"
				 "passwd:   files  systemd   # trailing\n"
				 "group:\tfiles [SUCCESS=merge] systemd\n"
				 "shadow:         files\n"
				 "initgroups: db files\n"
				 "passwd: files\n" /* glibc reads the first: left alone */
				 "hosts: files dns";

static const char nss_after[] = "# comment: passwd: files\n"
				"passwd:   files auth0  systemd   # trailing\n"
				"group:\tfiles [SUCCESS=merge] auth0 systemd\n"
				"shadow:         files\n"
				"initgroups: db files auth0\n"
				"passwd: files\n"
				"hosts: files dns";

static void read_nss(char *buf, size_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/etc/nsswitch.conf", root);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	read_fd_text(fd, buf, size);
	close(fd);
}

static void test_nsswitch_edit(void **unused)
{
	char text[4096], path[256];
	struct stat st;
	cJSON *doc;

	(void)unused;
	put("etc/nsswitch.conf", 0640, "%s", nss_before);
	snprintf(path, sizeof(path), "%s/etc/nsswitch.conf", root);
	assert_int_equal(chown(path, 0, 4), 0);

	assert_int_equal(RUN("--root", root, "nsswitch", "enable", "--dry-run"), 0);
	assert_non_null(strstr(out, "-passwd:   files  systemd   # trailing\n"
				    "+passwd:   files auth0  systemd   # trailing\n"));
	read_nss(text, sizeof(text));
	assert_string_equal(text, nss_before); /* nothing written */

	assert_int_equal(RUN("--root", root, "nsswitch", "enable"), 0);
	read_nss(text, sizeof(text));
	assert_string_equal(text, nss_after);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, 4);

	assert_int_equal(RUN("--root", root, "nsswitch", "enable"), 0);
	assert_non_null(strstr(out, "nothing to do"));
	assert_int_equal(RUN("--root", root, "nsswitch", "enable", "--json"), 0);
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(doc, "changed")));
	cJSON_Delete(doc);

	assert_int_equal(RUN("--root", root, "nsswitch", "disable", "--dry-run", "--json"), 0);
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(doc, "changed")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(doc, "written")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "changes")), 3);
	cJSON_Delete(doc);
	read_nss(text, sizeof(text));
	assert_string_equal(text, nss_after);

	assert_int_equal(RUN("--root", root, "nsswitch", "disable"), 0);
	read_nss(text, sizeof(text));
	assert_string_equal(text, nss_before); /* byte for byte */
	assert_int_equal(RUN("--root", root, "nsswitch", "disable"), 0);
	assert_non_null(strstr(out, "nothing to do"));

	/* no files source: after the first; a symbolic link is refused */
	put("etc/nsswitch.conf", 0644, "passwd: compat\ngroup:\n");
	assert_int_equal(RUN("--root", root, "nsswitch", "enable"), 0);
	read_nss(text, sizeof(text));
	assert_string_equal(text, "passwd: compat auth0\ngroup: auth0\n");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(RUN("--root", root, "nsswitch", "enable"), 3);
	assert_non_null(strstr(err, "symbolic link"));
}

/* ---- test-login, under pam_wrapper */

static char services[128];

static void service(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", services, name);
	write_text(path, text);
}

/* test-login with pam_wrapper preloaded and the test's services; input on stdin. */
static int login(const char *input, const char *const *args)
{
	static char preload[600], dir[200];
	const char *wrapper = getenv("A0_PAM_WRAPPER");
	const char *const env[] = { preload,
				    "PAM_WRAPPER=1",
				    dir,
				    "UID_WRAPPER_DISABLE_DEEPBIND=1",
				    "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1",
				    NULL };

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", wrapper ? wrapper : "");
	snprintf(dir, sizeof(dir), "PAM_WRAPPER_SERVICE_DIR=%s", services);
	return run_env(input, env, args);
}

static int login_setup(void **unused)
{
	char text[1024];
	const char *module = getenv("A0_MODULE");

	(void)unused;
	if (!module || !getenv("A0_PAM_WRAPPER"))
		fail_msg("A0_MODULE and A0_PAM_WRAPPER must be set (make check does)");
	temp_dir(root, sizeof(root), "a0-testlogin");
	snprintf(services, sizeof(services), "%s/services", root);
	assert_int_equal(mkdir(services, 0755), 0);
	service("permit", "auth required pam_permit.so\naccount required pam_permit.so\n"
			  "session required pam_permit.so\n");
	service("deny", "auth required pam_deny.so\naccount required pam_permit.so\n");
	write_module_conf(root, &fake, 10, NULL, NULL);
	snprintf(text, sizeof(text),
		 "auth required %s config=%s/pam_auth0.conf\n"
		 "account required %s config=%s/pam_auth0.conf\n",
		 module, root, module, root);
	service("sshd", text);
	return 0;
}

static void test_login_permit_deny(void **unused)
{
	cJSON *doc;

	(void)unused;
	assert_int_equal(login(NULL, (const char *const[]){ "test-login", "someone", "--service",
							    "permit", "--session", NULL }),
			 0);
	assert_non_null(strstr(out, "pam-authenticate"));
	assert_non_null(strstr(out, "pam-open-session"));
	assert_int_equal(login(NULL, (const char *const[]){ "test-login", "someone", "--service",
							    "deny", "--json", NULL }),
			 2);
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	assert_non_null(finding(doc, "pam-authenticate", "failure"));
	assert_null(finding(doc, "pam-acct-mgmt", NULL)); /* not reached */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "values"), "service")
				    ->valuestring,
			    "deny");
	cJSON_Delete(doc);
}

static void test_login_auth0(void **unused)
{
	cJSON *doc;
	const cJSON *p;

	(void)unused;
	/* the default service is sshd: here the module against the fake tenant */
	assert_int_equal(login(PASSWORD "\n",
			       (const char *const[]){ "test-login", "a0alice", "--json", NULL }),
			 0);
	assert_null(strstr(out, PASSWORD));
	assert_null(strstr(err, PASSWORD));
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	p = finding(doc, "conv-prompt-hidden", "info");
	assert_non_null(p);
	assert_non_null(strstr(cJSON_GetObjectItem(p, "text")->valuestring, "assword"));
	assert_non_null(finding(doc, "pam-authenticate", "ok"));
	assert_non_null(finding(doc, "pam-acct-mgmt", "ok"));
	cJSON_Delete(doc);
	/* the prompt shown on stderr, stdout left to the JSON */
	assert_non_null(strstr(err, "assword"));

	assert_int_equal(login("wrong-password\n",
			       (const char *const[]){ "test-login", "a0alice", NULL }),
			 2);
	assert_null(strstr(out, "wrong-password"));
	assert_non_null(strstr(out, "failure  pam-authenticate"));
	/* no answer at all: the conversation fails, the command says so */
	assert_int_equal(login("", (const char *const[]){ "test-login", "a0alice", NULL }), 2);
	assert_non_null(strstr(out, "conv-end"));
}

int main(void)
{
	const struct CMUnitTest check_tests[] = {
		cmocka_unit_test_setup_teardown(test_healthy, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_secret_world_readable, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_config_writable, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_sshd_missing, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_kbdint_no_with_mfa, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_usepam_no, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_account_not_final, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_pam_auth_update_layout, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_tenant_findings, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_grace_too_short, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_pam_order, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_nsswitch_rules, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_nsswitch_edit, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_usage, healthy, cleanup),
		cmocka_unit_test_setup_teardown(test_login_permit_deny, login_setup, cleanup),
		cmocka_unit_test_setup_teardown(test_login_auth0, login_setup, cleanup),
	};

	if (geteuid() != 0) {
		printf("# SKIP: auth0-pam's files are root's\n");
		return 77;
	}
	fake_init(&fake);
	return cmocka_run_group_tests(check_tests, NULL, NULL);
}
