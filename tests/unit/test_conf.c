/* SPDX-License-Identifier: MIT */
/* Configuration parsing: files, drop-ins, module arguments, and every malformed case. */
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
#include <unistd.h>

#include <cmocka.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/assert.h"

struct fixture {
	char dir[64];
	char path[128];
	char arg[160];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/a0-conf-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/pam_auth0.conf", fx->dir);
	snprintf(fx->arg, sizeof(fx->arg), "config=%s", fx->path);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Load fx->path plus extra module arguments; returns the result and the message. */
static int load(struct fixture *fx, struct a0_config **cfg, char *err, size_t errlen, ...)
{
	const char *argv[16] = { fx->arg };
	int argc = 1;
	va_list ap;
	const char *a;

	va_start(ap, errlen);
	while ((a = va_arg(ap, const char *)) && argc < 16)
		argv[argc++] = a;
	va_end(ap);
	err[0] = '\0';
	return a0_config_load(argc, argv, cfg, err, errlen);
}

static void expect_error(struct fixture *fx, const char *text, const char *message)
{
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_null(cfg);
	if (!strstr(err, message))
		fail_msg("expected '%s' in '%s'", message, err);
}

static void test_minimal_defaults(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, "domain = example.auth0.com\nclient_id = abc\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->domain, "example.auth0.com");
	assert_string_equal(cfg->client_id, "abc");
	assert_string_equal(cfg->realm, "Username-Password-Authentication");
	assert_string_equal(cfg->scope, "openid profile email offline_access");
	assert_string_equal(cfg->username, "%u");
	assert_null(cfg->audience);
	assert_null(cfg->ca_file);
	assert_null(cfg->client_secret);
	assert_null(cfg->proxy);
	assert_int_equal(cfg->timeout, 10);
	assert_false(cfg->debug);
	assert_int_equal(cfg->n_mfa_methods, A0_MFA_N);
	assert_int_equal(cfg->mfa_methods[0], A0_MFA_OTP);
	assert_int_equal(cfg->mfa_methods[5], A0_MFA_RECOVERY);
	assert_false(cfg->mfa_methods_set);
	assert_int_equal(cfg->mfa_retries, 3);
	assert_int_equal(cfg->mfa_timeout, 60);
	assert_int_equal(cfg->mfa_poll_interval, 5);
	assert_int_equal(cfg->offline_backoff_min, 30);
	assert_int_equal(cfg->offline_backoff_max, 600);
	a0_config_free(cfg);
}

/* When Auth0 cannot be reached (lib/outage.h): the backoff's bounds. */
static void test_offline_backoff(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path,
		   "domain = a.com\nclient_id = x\noffline_backoff_min = 0\n"
		   "offline_backoff_max = 86400\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->offline_backoff_min, 0);
	assert_int_equal(cfg->offline_backoff_max, 86400);
	a0_config_free(cfg);
	expect_error(fx, "domain = a.com\nclient_id = x\noffline_backoff_min = 3601\n",
		     "offline_backoff_min");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline_backoff_max = 0\n",
		     "offline_backoff_max");
	expect_error(fx,
		     "domain = a.com\nclient_id = x\noffline_backoff_min = 60\n"
		     "offline_backoff_max = 30\n",
		     "offline_backoff_min above offline_backoff_max");
}

/* The offline policy per service (pam_auth0.conf(5) offline) and the verifier's defaults. */
static void test_offline_policy(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(a0_config_offline_policy(cfg, "sshd"), A0_OFFLINE_DENY);
	assert_int_equal(a0_config_offline_policy(cfg, NULL), A0_OFFLINE_DENY);
	assert_false(a0_config_offline_used(cfg));
	assert_string_equal(cfg->offline_dir, "/var/lib/pam_auth0/offline");
	assert_string_equal(cfg->host_key_file, "/etc/pam_auth0/host.key");
	assert_int_equal(cfg->offline_max_age, 7 * 86400);
	assert_int_equal(cfg->offline_max_failures, 5);
	assert_int_equal(cfg->offline_memory, 65536);
	assert_int_equal(cfg->offline_passes, 3);
	a0_config_free(cfg);

	write_file(fx->path,
		   "domain = a.com\nclient_id = x\n"
		   "offline = sshd:password, login:breakglass, deny\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(a0_config_offline_policy(cfg, "sshd"), A0_OFFLINE_PASSWORD);
	assert_int_equal(a0_config_offline_policy(cfg, "login"), A0_OFFLINE_BREAKGLASS);
	assert_int_equal(a0_config_offline_policy(cfg, "sudo"), A0_OFFLINE_DENY);
	assert_int_equal(a0_config_offline_policy(cfg, NULL), A0_OFFLINE_DENY);
	assert_true(a0_config_offline_used(cfg));
	assert_string_equal(a0_offline_policy_name(A0_OFFLINE_BREAKGLASS), "breakglass");
	a0_config_free(cfg);

	/* The PAM line's offline=... is that service's whole policy. */
	assert_a0(load(fx, &cfg, err, sizeof(err), "offline=password", NULL), 0);
	assert_int_equal(a0_config_offline_policy(cfg, "sudo"), A0_OFFLINE_PASSWORD);
	assert_int_equal(a0_config_offline_policy(cfg, "sshd"), A0_OFFLINE_PASSWORD);
	a0_config_free(cfg);

	expect_error(fx, "domain = a.com\nclient_id = x\noffline = maybe\n", "key 'offline'");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline = sshd:\n", "key 'offline'");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline = :password\n", "key 'offline'");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline = a:b:password\n",
		     "key 'offline'");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline = sshd:password sshd:deny\n",
		     "one policy per service");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline = password deny\n",
		     "one policy per service");
	expect_error(fx, "domain = a.com\nclient_id = x\noffline_memory = 1024\n",
		     "offline_memory");
}

static void test_all_keys_comments_and_whitespace(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512], ca[160], text[1024];

	/* ca_file must exist: the loader checks its owner and mode. */
	snprintf(ca, sizeof(ca), "%s/ca.pem", fx->dir);
	write_file(ca, "", 0644);
	snprintf(text, sizeof(text),
		 "# comment\n"
		 "\n"
		 "   domain\t=  tenant.example.com:8443  \n"
		 "client_id=xyz\r\n"
		 "realm = corp-users\n"
		 "audience = https://api.example.com/\n"
		 "scope = openid offline_access\n"
		 "username = %%u@example.com\n"
		 "ca_file = %s\n"
		 "proxy = http://proxy.example.com:3128\n"
		 "timeout = 7\n"
		 "debug = yes\n"
		 "use_first_pass = true\n"
		 "try_first_pass = off\n"
		 "mfa_methods = push, otp recovery-code\n"
		 "mfa_retries = 5\n"
		 "mfa_timeout = 45\n"
		 "mfa_poll_interval = 1\n"
		 "push_prompt = enter\n",
		 ca);
	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->domain, "tenant.example.com:8443");
	assert_string_equal(cfg->client_id, "xyz");
	assert_string_equal(cfg->realm, "corp-users");
	assert_string_equal(cfg->audience, "https://api.example.com/");
	assert_string_equal(cfg->scope, "openid offline_access");
	assert_string_equal(cfg->username, "%u@example.com");
	assert_string_equal(cfg->ca_file, ca);
	assert_string_equal(cfg->proxy, "http://proxy.example.com:3128");
	assert_int_equal(cfg->timeout, 7);
	assert_true(cfg->debug);
	assert_true(cfg->use_first_pass);
	assert_false(cfg->try_first_pass);
	assert_int_equal(cfg->n_mfa_methods, 3);
	assert_int_equal(cfg->mfa_methods[0], A0_MFA_PUSH);
	assert_int_equal(cfg->mfa_methods[1], A0_MFA_OTP);
	assert_int_equal(cfg->mfa_methods[2], A0_MFA_RECOVERY);
	assert_true(cfg->mfa_methods_set);
	assert_int_equal(cfg->mfa_retries, 5);
	assert_int_equal(cfg->mfa_timeout, 45);
	assert_int_equal(cfg->mfa_poll_interval, 1);
	assert_int_equal(cfg->push_prompt, A0_PUSH_PROMPT_ENTER);
	a0_config_free(cfg);
}

static void test_dropins_in_order_then_arguments(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char dir[160], p[200], err[512];

	write_file(fx->path, "domain = a.example.com\nclient_id = one\ntimeout = 3\n", 0644);
	snprintf(dir, sizeof(dir), "%s/conf.d", fx->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/20-b.conf", dir);
	write_file(p, "client_id = two\nrealm = r2\n", 0644);
	snprintf(p, sizeof(p), "%s/10-a.conf", dir);
	write_file(p, "client_id = first\ndomain = b.example.com\n", 0644);
	snprintf(p, sizeof(p), "%s/30-c.conf.disabled", dir);
	write_file(p, "this is not read\n", 0644);
	snprintf(p, sizeof(p), "%s/.40-hidden.conf", dir);
	write_file(p, "not = read\n", 0644);

	assert_a0(load(fx, &cfg, err, sizeof(err), "timeout=9", "debug", "realm=arg", NULL), 0);
	assert_string_equal(cfg->domain, "b.example.com");
	assert_string_equal(cfg->client_id, "two"); /* 20-b after 10-a */
	assert_string_equal(cfg->realm, "arg");     /* arguments last */
	assert_int_equal(cfg->timeout, 9);
	assert_true(cfg->debug);
	a0_config_free(cfg);
}

/* The drop-ins are conf.d/ in the file's directory, whatever its name; PATH.d/ is not read. */
static void test_dropins_next_to_the_file(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char dir[160], p[200], other[160], arg[200], err[512];
	const char *argv[1] = { arg };

	write_file(fx->path, "domain = a.example.com\nclient_id = one\n", 0644);
	snprintf(dir, sizeof(dir), "%s.d", fx->path);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/10-old.conf", dir);
	write_file(p, "client_id = old\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->client_id, "one"); /* pam_auth0.conf.d/ is not a drop-in dir */
	a0_config_free(cfg);
	cfg = NULL;

	snprintf(dir, sizeof(dir), "%s/conf.d", fx->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/10-new.conf", dir);
	write_file(p, "client_id = new\n", 0644);
	snprintf(other, sizeof(other), "%s/other.conf", fx->dir);
	write_file(other, "domain = b.example.com\nclient_id = two\n", 0644);
	snprintf(arg, sizeof(arg), "config=%s", other);
	assert_a0(a0_config_load(1, argv, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->domain, "b.example.com");
	assert_string_equal(cfg->client_id, "new"); /* conf.d/ of other.conf's directory */
	a0_config_free(cfg);
	cfg = NULL;

	/* A broken drop-in is the configuration's error, named by its path. */
	write_file(p, "bogus = 1\n", 0644);
	assert_a0(a0_config_load(1, argv, &cfg, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "/conf.d/10-new.conf:1: unknown key 'bogus'"));
	assert_null(cfg);
}

/* The default is /etc/pam_auth0/pam_auth0.conf, its drop-ins /etc/pam_auth0/conf.d. */
static void test_default_path(void **state)
{
	(void)state;
	assert_string_equal(A0_DEFAULT_CONFIG, "/etc/pam_auth0/pam_auth0.conf");
	assert_string_equal(A0_CONFIG_DROPINS, "conf.d");
}

/* The defaults alone: what the module falls back to for system accounts, no file read. */
static void test_defaults_alone(void **state)
{
	struct a0_config *cfg = NULL;

	(void)state;
	assert_a0(a0_config_defaults(&cfg), 0);
	assert_int_equal(cfg->min_uid, 1000);
	assert_int_equal(cfg->allowed_users.n, 0);
	assert_null(cfg->domain);
	assert_null(cfg->client_id);
	a0_config_free(cfg);
}

/* The path settings, in the key table's order: the fields themselves, past the last NULL. */
static void test_path_settings(void **state)
{
	struct a0_config *cfg = NULL;
	const char *name = NULL;
	bool shell = false;
	char **p;
	size_t n = 0;

	(void)state;
	assert_a0(a0_config_defaults(&cfg), 0);
	p = a0_config_path_setting(cfg, 0, &name);
	assert_ptr_equal(p, &cfg->client_secret_file);
	assert_string_equal(name, "client_secret_file");
	for (; (p = a0_config_path_setting(cfg, n, &name)); n++) {
		if (strcmp(name, "users_file") == 0)
			assert_string_equal(*p, "/etc/pam_auth0/users");
		shell |= strcmp(name, "shell") == 0;
		assert_string_not_equal(name, "domain"); /* not a path */
	}
	assert_true(shell);
	assert_int_equal(n, 15);
	assert_null(a0_config_path_setting(cfg, n, NULL));
	a0_config_free(cfg);
}

static void test_malformed_lines(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *text, *message;
	} cases[] = {
		{ "domain = a.com\nclient_id = x\nbogus = 1\n", ":3: unknown key 'bogus'" },
		{ "domain = a.com\nno equals sign\n", ":2: expected 'key = value'" },
		{ " = value\n", ":1: missing key before '='" },
		{ "domain = https://a.com\n", "without a scheme" },
		{ "domain = a.com:0\n", "is not host[:port]" },
		{ "domain = a.com:99999\n", "is not host[:port]" },
		{ "domain = a.com:\n", "is not host[:port]" },
		{ "domain = a b.com\n", "is not host[:port]" },
		{ "domain = a.com/path\n", "is not host[:port]" },
		{ "domain =\n", "key 'domain': empty value" },
		{ "client_id =\n", "key 'client_id': empty value" },
		{ "timeout = 0\n", "key 'timeout': '0' is not a number from 1 to 300" },
		{ "timeout = 301\n", "not a number from 1 to 300" },
		{ "timeout = 10s\n", "not a number" },
		{ "timeout = -1\n", "not a number" },
		{ "timeout = 99999999999999999999\n", "not a number" },
		{ "debug = maybe\n", "key 'debug': 'maybe' is not yes or no" },
		{ "ca_file = relative.pem\n", "key 'ca_file': path must be absolute" },
		{ "client_secret_file = secret\n", "path must be absolute" },
		{ "username = %s@x\n", "only %u and %% may follow %" },
		{ "username = user%\n", "only %u and %% may follow %" },
		{ "mfa_methods = otp fax\n", "is not a list of distinct methods" },
		{ "mfa_methods = otp otp\n", "is not a list of distinct methods" },
		{ "mfa_methods = ,\n", "is not a list of distinct methods" },
		{ "mfa_retries = 11\n", "not a number from 1 to 10" },
		{ "push_prompt = sometimes\n", "is not auto, enter or none" },
		{ "realm = a\x01b\n", "control character" },
		{ "client_id = x\n", "required key 'domain' is missing" },
		{ "domain = a.com\n", "required key 'client_id' is missing" },
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++)
		expect_error(fx, cases[i].text, cases[i].message);
}

static void test_long_line_and_nul(void **state)
{
	struct fixture *fx = *state;
	char *text = malloc(5000);

	assert_non_null(text);
	memcpy(text, "realm = ", 8);
	memset(text + 8, 'a', 4990);
	text[4998] = '\n';
	text[4999] = '\0';
	expect_error(fx, text, ":1: line too long");
	free(text);

	FILE *f = fopen(fx->path, "w");
	assert_non_null(f);
	fwrite("domain = a.com\0\n", 1, 16, f);
	fclose(f);
	struct a0_config *cfg = NULL;
	char err[512];
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "NUL byte"));
}

static void test_bad_arguments(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), "nodebug", NULL), A0_ERR_CONFIG);
	assert_string_equal(err, "module argument 2: unknown flag 'nodebug'");
	assert_a0(load(fx, &cfg, err, sizeof(err), "timeout=abc", NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "module argument 2: key 'timeout'"));
	assert_a0(load(fx, &cfg, err, sizeof(err), "=x", NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "expected key=value"));
	assert_a0(load(fx, &cfg, err, sizeof(err), "colour=blue", NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "unknown key 'colour'"));
	assert_null(cfg);
}

static void test_file_trust(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];
	const char *relative[] = { "config=relative.conf" };

	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0666);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "writable only by root"));

	assert_int_equal(chmod(fx->path, 0644), 0);
	assert_int_equal(chown(fx->path, 65534, 65534), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "owned by root"));

	assert_int_equal(unlink(fx->path), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "cannot open"));

	assert_a0(a0_config_load(1, relative, &cfg, err, sizeof(err)), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "must be absolute"));
}

static void test_client_secret_file(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char secret[160], text[300], err[512];

	snprintf(secret, sizeof(secret), "%s/secret", fx->dir);
	snprintf(text, sizeof(text), "domain = a.com\nclient_id = x\nclient_secret_file = %s\n",
		 secret);
	write_file(fx->path, text, 0644);

	write_file(secret, "s3cret-value\n", 0600);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->client_secret, "s3cret-value");
	a0_config_free(cfg);
	cfg = NULL;

	assert_int_equal(chmod(secret, 0640), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "mode 0600 or 0400"));
	assert_null(strstr(err, "s3cret")); /* the message never holds the secret */

	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(chown(secret, 65534, 0), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "owned by root"));

	write_file(secret, "s3cret-crlf\r\n", 0600);
	assert_int_equal(chown(secret, 0, 0), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->client_secret, "s3cret-crlf");
	a0_config_free(cfg);
	cfg = NULL;

	write_file(secret, "two\nlines\n", 0600);
	assert_int_equal(chown(secret, 0, 0), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "not one line"));

	write_file(secret, "", 0600);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "empty"));
}

static void test_ca_file_trust(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char ca[160], other[160], text[400], arg[200], err[512];
	pid_t pid;
	int status;

	/* Readable by everyone is fine (the helper, running as the user, reads it). */
	snprintf(ca, sizeof(ca), "%s/ca.pem", fx->dir);
	write_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	snprintf(text, sizeof(text), "domain = a.com\nclient_id = x\nca_file = %s\n", ca);
	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->ca_file, ca);
	a0_config_free(cfg);
	cfg = NULL;

	/* Whoever may write the CAs the module trusts may sign for the tenant. */
	assert_int_equal(chmod(ca, 0666), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_null(cfg);
	if (!strstr(err, "ca_file") || !strstr(err, "writable only by its owner"))
		fail_msg("a world-writable ca_file: '%s'", err);
	assert_int_equal(chmod(ca, 0664), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "ca_file"));

	/* Another user's file. */
	assert_int_equal(chmod(ca, 0644), 0);
	assert_int_equal(chown(ca, 65534, 0), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "owned by root"));

	/* A module argument is checked the same way. */
	assert_int_equal(chown(ca, 0, 0), 0);
	assert_int_equal(chmod(ca, 0666), 0);
	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0644);
	snprintf(arg, sizeof(arg), "ca_file=%s", ca);
	assert_a0(load(fx, &cfg, err, sizeof(err), arg, NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "ca_file"));

	/* A symbolic link (update-ca-certificates makes them) counts as the file it names. */
	snprintf(other, sizeof(other), "%s/link.pem", fx->dir);
	assert_int_equal(symlink(ca, other), 0);
	snprintf(text, sizeof(text), "domain = a.com\nclient_id = x\nca_file = %s\n", other);
	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_int_equal(chmod(ca, 0444), 0);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	a0_config_free(cfg);
	cfg = NULL;

	/* Not a regular file, or missing. */
	snprintf(text, sizeof(text), "domain = a.com\nclient_id = x\nca_file = %s\n", fx->dir);
	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "regular file"));
	snprintf(text, sizeof(text), "domain = a.com\nclient_id = x\nca_file = %s/none.pem\n",
		 fx->dir);
	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), A0_ERR_CONFIG);
	assert_non_null(strstr(err, "ca_file"));

	/* A process that is not root (a screen locker) may trust its own file too. */
	if (geteuid() != 0)
		return;
	snprintf(text, sizeof(text), "domain = a.com\nclient_id = x\nca_file = %s\n", ca);
	write_file(fx->path, text, 0644);
	assert_int_equal(chmod(fx->dir, 0755), 0);
	assert_int_equal(chown(ca, 65534, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (seteuid(65534) < 0)
			_exit(2);
		_exit(load(fx, &cfg, err, sizeof(err), NULL) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_username_template(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512], *name = NULL;

	write_file(fx->path, "domain = a.com\nclient_id = x\nusername = %u@corp.example%%\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_a0(a0_config_username(cfg, "alice", &name), 0);
	assert_string_equal(name, "alice@corp.example%");
	free(name);
	a0_config_free(cfg);
}

/* Who may log in (issue 6): defaults, every key, and the rules across keys. */
static void test_login_policy_defaults(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->cache_dir, "/var/cache/pam_auth0");
	assert_int_equal(cfg->jwks_ttl, 3600);
	assert_int_equal(cfg->clock_skew, 60);
	assert_string_equal(cfg->users_file, "/etc/pam_auth0/users");
	assert_null(cfg->user_claim); /* users_file binds accounts; no claim by default */
	assert_false(cfg->trust_user_claims);
	assert_string_equal(cfg->user_claim_template, "%u");
	assert_true(cfg->require_email_verified);
	assert_int_equal(cfg->min_uid, 1000);
	assert_int_equal(cfg->allowed_users.n, 0);
	assert_int_equal(cfg->allowed_groups.n, 0);
	assert_null(cfg->groups_claim);
	assert_int_equal(cfg->account_without_auth0, A0_ACCOUNT_IGNORE);
	a0_config_free(cfg);
}

static void test_login_policy_keys(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path,
		   "domain = a.com\nclient_id = x\n"
		   "cache_dir = /run/a0cache\n"
		   "jwks_ttl = 60\n"
		   "clock_skew = 0\n"
		   "users_file = /etc/a0users\n"
		   "user_claim = https://example.com/posix_user\n"
		   "user_claim_template = %u\n"
		   "username = %u@example.com\n"
		   "require_email_verified = no\n"
		   "min_uid = 500\n"
		   "allowed_users = alice, bob  carol\n"
		   "allowed_groups = admins,ops\n"
		   "groups_claim = https://example.com/groups\n"
		   "account_without_auth0 = deny\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->cache_dir, "/run/a0cache");
	assert_int_equal(cfg->jwks_ttl, 60);
	assert_int_equal(cfg->clock_skew, 0);
	assert_string_equal(cfg->users_file, "/etc/a0users");
	assert_string_equal(cfg->user_claim, "https://example.com/posix_user");
	assert_string_equal(cfg->user_claim_template, "%u");
	assert_false(cfg->require_email_verified);
	assert_int_equal(cfg->min_uid, 500);
	assert_int_equal(cfg->allowed_users.n, 3);
	assert_true(a0_list_contains(&cfg->allowed_users, "bob"));
	assert_true(a0_list_contains(&cfg->allowed_users, "carol"));
	assert_false(a0_list_contains(&cfg->allowed_users, "bo"));
	assert_int_equal(cfg->allowed_groups.n, 2);
	assert_true(a0_list_contains(&cfg->allowed_groups, "ops"));
	assert_string_equal(cfg->groups_claim, "https://example.com/groups");
	assert_int_equal(cfg->account_without_auth0, A0_ACCOUNT_DENY);
	a0_config_free(cfg);
}

/* The username template is the claim's default template; a later list replaces one. */
static void test_login_policy_after_username_template(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path,
		   "domain = a.com\nclient_id = x\nusername = %u@corp.example\n"
		   "allowed_users = a b\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), "allowed_users=c", NULL), 0);
	assert_null(cfg->user_claim);
	assert_string_equal(cfg->user_claim_template, "%u@corp.example");
	assert_int_equal(cfg->allowed_users.n, 1);
	assert_true(a0_list_contains(&cfg->allowed_users, "c"));
	a0_config_free(cfg);
	/* A fixed Auth0 login is fine when the identity check still names the user. */
	write_file(fx->path,
		   "domain = a.com\nclient_id = x\nusername = kiosk\n"
		   "user_claim = https://example.com/posix_user\nuser_claim_template = %u\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_string_equal(cfg->user_claim_template, "%u");
	a0_config_free(cfg);
}

static void test_login_policy_errors(void **state)
{
	struct fixture *fx = *state;
	char many[4096] = "domain = a.com\nclient_id = x\nallowed_users =";

	expect_error(fx, "domain = a.com\nclient_id = x\njwks_ttl = 59\n", "jwks_ttl");
	expect_error(fx, "domain = a.com\nclient_id = x\njwks_ttl = 86401\n", "jwks_ttl");
	expect_error(fx, "domain = a.com\nclient_id = x\nclock_skew = 601\n", "clock_skew");
	expect_error(fx, "domain = a.com\nclient_id = x\nmin_uid = -1\n", "min_uid");
	expect_error(fx, "domain = a.com\nclient_id = x\nmin_uid = 4294967295\n", "min_uid");
	expect_error(fx, "domain = a.com\nclient_id = x\ncache_dir = var/cache\n", "absolute");
	expect_error(fx, "domain = a.com\nclient_id = x\nrequire_email_verified = maybe\n",
		     "require_email_verified");
	expect_error(fx, "domain = a.com\nclient_id = x\naccount_without_auth0 = allow\n",
		     "not ignore or deny");
	expect_error(fx, "domain = a.com\nclient_id = x\nallowed_users =\n", "empty value");
	expect_error(fx, "domain = a.com\nclient_id = x\nallowed_groups = , ,\n", "not a list");
	expect_error(fx, "domain = a.com\nclient_id = x\nuser_claim_template = %x\n",
		     "only %u and %% may follow %");
	for (int i = 0; i <= A0_MAX_LIST; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), " u%d", i);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "\n");
	expect_error(fx, many, "at most 256 names");
	/* Rules across keys. */
	expect_error(fx, "domain = a.com\nclient_id = x\nscope = profile email\n",
		     "must include openid");
	expect_error(fx, "domain = a.com\nclient_id = x\nscope = openidx profile\n",
		     "must include openid");
	expect_error(fx, "domain = a.com\nclient_id = x\nallowed_groups = admins\n",
		     "needs 'groups_claim'");
	/* Without %u one Auth0 identity would fit every account. */
	expect_error(fx, "domain = a.com\nclient_id = x\nusername = kiosk\n",
		     "'user_claim_template' (default: the username template) must contain %u");
	expect_error(fx, "domain = a.com\nclient_id = x\nuser_claim_template = %%u\n",
		     "must contain %u");
}

/* Credentials in the keyring (issue 4): defaults, every value, every bad value. */
static void test_keyring_keys(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->keyring, A0_KEYRING_SESSION);
	assert_true(cfg->revoke_on_logout);
	assert_int_equal(cfg->refresh_token_lifetime, 30 * 86400);
	a0_config_free(cfg);

	write_file(fx->path,
		   "domain = a.com\nclient_id = x\nkeyring = user\nrevoke_on_logout = no\n"
		   "refresh_token_lifetime = 86400\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->keyring, A0_KEYRING_USER);
	assert_false(cfg->revoke_on_logout);
	assert_int_equal(cfg->refresh_token_lifetime, 86400);
	a0_config_free(cfg);
	/* Module arguments win, as for every key. */
	assert_a0(load(fx, &cfg, err, sizeof(err), "keyring=session", "revoke_on_logout=1",
		       "refresh_token_lifetime=60", NULL),
		  0);
	assert_int_equal(cfg->keyring, A0_KEYRING_SESSION);
	assert_true(cfg->revoke_on_logout);
	assert_int_equal(cfg->refresh_token_lifetime, 60);
	a0_config_free(cfg);

	expect_error(fx, "domain = a.com\nclient_id = x\nkeyring = process\n",
		     "key 'keyring': 'process' is not session or user");
	expect_error(fx, "domain = a.com\nclient_id = x\nkeyring = Session\n",
		     "is not session or user");
	expect_error(fx, "domain = a.com\nclient_id = x\nkeyring =\n", "empty value");
	expect_error(fx, "domain = a.com\nclient_id = x\nrevoke_on_logout = maybe\n",
		     "key 'revoke_on_logout': 'maybe' is not yes or no");
	expect_error(fx, "domain = a.com\nclient_id = x\nrefresh_token_lifetime = 59\n",
		     "is not a number from 60 to 31622400");
	expect_error(fx, "domain = a.com\nclient_id = x\nrefresh_token_lifetime = 31622401\n",
		     "is not a number from 60 to 31622400");
	expect_error(fx, "domain = a.com\nclient_id = x\nrefresh_token_lifetime = 30d\n",
		     "refresh_token_lifetime");
}

/* The broker's exchange lists: user:connection items, and the Custom API Client they need. */
static void test_broker_exchange_keys(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path,
		   "domain = a.com\nclient_id = x\nbroker_workers = backup:google-oauth2, "
		   "998:github\nbroker_exchange = api:google-oauth2\n"
		   "broker_api_client_id = api-client\nbroker_api_client_secret_file = /etc/s\n",
		   0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->broker_workers.n, 2);
	assert_string_equal(cfg->broker_workers.items[1], "998:github");
	assert_int_equal(cfg->broker_exchange.n, 1);
	assert_string_equal(cfg->broker_api_client_id, "api-client");
	assert_string_equal(cfg->broker_api_client_secret_file, "/etc/s");
	a0_config_free(cfg);
	expect_error(fx, "domain = a.com\nclient_id = x\nbroker_workers = backup\n",
		     "key 'broker_workers': 'backup' is not user:connection");
	expect_error(fx, "domain = a.com\nclient_id = x\nbroker_workers = :github\n",
		     "is not user:connection");
	expect_error(fx, "domain = a.com\nclient_id = x\nbroker_exchange = a:b:c\n",
		     "key 'broker_exchange': 'a:b:c' is not user:connection");
	expect_error(fx, "domain = a.com\nclient_id = x\nbroker_exchange = svc:github\n",
		     "needs broker_api_client_id and broker_api_client_secret_file");
	expect_error(fx, "domain = a.com\nclient_id = x\ngroup_map = admins\n",
		     "key 'group_map': 'admins' is not role:group");
}

/* dpop: for a public application and a confidential one (whose caller proves through the broker). */
static void test_dpop_key(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512], secret[128], text[512];

	write_file(fx->path, "domain = a.com\nclient_id = x\ndpop = yes\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_true(cfg->dpop);
	a0_config_free(cfg);
	snprintf(secret, sizeof(secret), "%s/secret", fx->dir);
	write_file(secret, "s3cret\n", 0600);
	snprintf(text, sizeof(text),
		 "domain = a.com\nclient_id = x\ndpop = yes\nclient_secret_file = %s\n", secret);
	write_file(fx->path, text, 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_true(cfg->dpop);
	a0_config_free(cfg);
}

static void test_mfa_enroll_key(void **state)
{
	struct fixture *fx = *state;
	struct a0_config *cfg = NULL;
	char err[512];

	write_file(fx->path, "domain = a.com\nclient_id = x\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->mfa_enroll, A0_MFA_ENROLL_NO); /* the default */
	a0_config_free(cfg);
	write_file(fx->path, "domain = a.com\nclient_id = x\nmfa_enroll = sms\n", 0644);
	assert_a0(load(fx, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->mfa_enroll, A0_MFA_ENROLL_SMS);
	a0_config_free(cfg);
	/* A module argument overrides the file. */
	assert_a0(load(fx, &cfg, err, sizeof(err), "mfa_enroll=otp", NULL), 0);
	assert_int_equal(cfg->mfa_enroll, A0_MFA_ENROLL_OTP);
	a0_config_free(cfg);
	expect_error(fx, "domain = a.com\nclient_id = x\nmfa_enroll = push\n",
		     "key 'mfa_enroll': 'push' is not otp, sms or no");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offline_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimal_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_keys_comments_and_whitespace, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dropins_in_order_then_arguments, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dropins_next_to_the_file, setup, teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_defaults_alone),
		cmocka_unit_test(test_path_settings),
		cmocka_unit_test_setup_teardown(test_malformed_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_and_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_trust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_secret_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_file_trust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_policy_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_policy_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_policy_after_username_template, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_login_policy_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyring_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_exchange_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpop_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mfa_enroll_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
