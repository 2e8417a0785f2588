/* SPDX-License-Identifier: MIT */
/*
 * The module's session phases in a real PAM stack (pam_wrapper, the system's pam_keyinit) with
 * a real local account, against the fake tenant: the record in the session keyring pam_keyinit
 * makes, in sshd's order and in login's, the hand-off across a fork (sshd's keyboard-interactive
 * child), logout revoking the refresh token at the fake and removing the keys, and each failure
 * mode (no pam_keyinit, revoke failing, quota...) ending in a login that still works. Needs
 * root; run under tests/with-fake-tenant. The account is made and removed by this program.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <keyutils.h>
#include <openssl/evp.h>
#include <security/pam_appl.h>

#include "keyring/keys.h"
#include "keyring/login.h"
#include "keyring/store.h"
#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/jwt.h"
#include "lib/priv.h"
#include "tests/common/assert.h"
#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/testuser.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_session"   /* pam_keyinit force revoke, then pam_auth0 */
#define SERVICE_BARE "pam_auth0_bare" /* pam_auth0 without pam_keyinit */
#define SERVICE_CRON "pam_auth0_cron" /* sessions only: nothing signs in (cron, su from root) */
#define KEYINIT "/lib/x86_64-linux-gnu/security/pam_keyinit.so"
#define PERMIT "/lib/x86_64-linux-gnu/security/pam_permit.so"
#define PASSWORD "Secret-a0alice-1"

static struct fake fake;
static char run_dir[64];
static struct test_user user;  /* a local account that signs in as the fake's a0alice */
static struct test_user other; /* another local account, a session target (sudo -u) */

/* ---- helpers ---- */

/* The local account signs in as <account>@example.com and is bound to a0alice's user_id. */
static void configure(const char *extra)
{
	char path[128], text[128], lines[256];

	snprintf(path, sizeof(path), "%s/users", run_dir);
	snprintf(text, sizeof(text), "%s auth0|6a0000000000000000000001\n", user.name);
	write_text(path, text);
	snprintf(lines, sizeof(lines), "username = %%u@example.com\nusers_file = %s\n", path);
	write_module_conf(run_dir, &fake, 2, lines, extra);
}

static int reset(void **state)
{
	char json[256];

	fake_control(&fake, "POST", "/__control/reset", "{}");
	/* The fake's a0alice gets the local account's address: the module signs in
	 * <account>@example.com, and users_file binds the account to a0alice's user_id. */
	snprintf(json, sizeof(json), "{\"username\":\"a0alice\",\"email\":\"%s@example.com\"}",
		 user.name);
	fake_control(&fake, "POST", "/__control/user", json);
	configure(NULL);
	/* A session keyring of root's, as sshd or login have before pam_keyinit runs. */
	assert_true(keyctl_join_session_keyring(NULL) > 0);
	return 0;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup(data);
	*resp = r;
	return PAM_SUCCESS;
}

static pam_handle_t *start(const char *service, const char *password)
{
	static struct pam_conv c;
	pam_handle_t *h = NULL;

	c.conv = conv;
	c.appdata_ptr = (void *)(uintptr_t)password;
	assert_pam(pam_start(service, user.name, &c, &h), PAM_SUCCESS);
	return h;
}

static void end(pam_handle_t *h)
{
	assert_pam(pam_end(h, PAM_SUCCESS), PAM_SUCCESS);
}

/* What the module logs goes to stderr under pam_wrapper (LOG_ERR and LOG_WARNING here). */
static void capture_begin(struct capture *c)
{
	capture_start(c, run_dir);
	setenv("PAM_WRAPPER_DEBUGLEVEL", "1", 1);
}

static char *capture_end(struct capture *c)
{
	static char text[64 * 1024];

	unsetenv("PAM_WRAPPER_DEBUGLEVEL");
	capture_stop(c, text, sizeof(text));
	return text;
}

static key_serial_t session(void)
{
	return keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0);
}

static struct a0_user account(void);

/*
 * Record keys are looked at with the account's fs ids, as the module and the helper do: their
 * permissions are the owner's only, so root's own fsuid may not even view them.
 */
static void user_fs(struct a0_priv *p)
{
	struct a0_user u = account();

	assert_a0(a0_priv_drop(p, &u, 0), 0);
}

static void root_fs(struct a0_priv *p)
{
	assert_a0(a0_priv_regain(p), 0);
}

/* What the kernel says about a record key, asked as the account: 0 while it exists. */
static int user_describe(key_serial_t key, struct a0_keyinfo *ki)
{
	struct a0_priv p;
	int r;

	user_fs(&p);
	r = a0_key_describe(key, ki);
	root_fs(&p);
	return r;
}

/* The main record in this process's session keyring and its key, or NULL. */
static struct a0_record *session_record(key_serial_t *ret_key)
{
	struct a0_record *r = NULL;
	key_serial_t key = 0;
	struct a0_priv p;
	int found, loaded = -1;

	user_fs(&p);
	found = a0_store_find_described(session(), "pam_auth0:main", &key);
	if (found == 0)
		loaded = a0_store_load_key(key, &r);
	root_fs(&p);
	if (found != 0)
		return NULL;
	assert_a0(loaded, 0);
	if (ret_key)
		*ret_key = key;
	return r;
}

static int count_records(key_serial_t keyring)
{
	void *buf = NULL;
	long n = keyctl_read_alloc(keyring, &buf);
	int count = 0;
	struct a0_priv p;

	user_fs(&p);
	for (long i = 0; n > 0 && i < n / (long)sizeof(key_serial_t); i++) {
		struct a0_keyinfo ki;

		if (a0_key_describe(((key_serial_t *)buf)[i], &ki) == 0 &&
		    strncmp(ki.description, "pam_auth0", 9) == 0)
			count++;
	}
	root_fs(&p);
	free(buf);
	return count;
}

static void proc_keys_timeout(key_serial_t key, char *out, size_t size)
{
	char line[1024], id[16];
	FILE *f = fopen("/proc/keys", "r");

	out[0] = '\0';
	snprintf(id, sizeof(id), "%08x ", (unsigned)key);
	while (f && fgets(line, sizeof(line), f)) {
		char flags[16], timeout[16];
		unsigned usage;

		if (strncmp(line, id, strlen(id)) == 0 &&
		    sscanf(line + strlen(id), "%15s %u %15s", flags, &usage, timeout) == 3)
			snprintf(out, size, "%s", timeout);
	}
	if (f)
		fclose(f);
}

/* The first 12 hex digits of SHA-256, as the fake logs refresh tokens. */
static void rt_sha(const char *token, char out[13])
{
	unsigned char md[32];
	unsigned len = 0;

	assert_int_equal(EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* rt_sha of every /oauth/revoke in the fake's log, space-separated, and how many. */
static int revocations(char *shas, size_t size)
{
	cJSON *log = fake_get(&fake, "/__control/log"), *rec;
	int n = 0;

	shas[0] = '\0';
	cJSON_ArrayForEach(rec, log) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "path"));
		const char *sha = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "rt_sha"));

		if (path && strcmp(path, "/oauth/revoke") == 0) {
			n++;
			snprintf(shas + strlen(shas), size - strlen(shas), "%s ", sha ? sha : "-");
		}
	}
	cJSON_Delete(log);
	return n;
}

/* Revocations at the fake of the refresh token the last sign-in got (by its rotation family). */
static int revocations_of_last_sign_in(void)
{
	cJSON *log = fake_get(&fake, "/__control/log"), *rec;
	const char *family = NULL;
	int n = 0;

	cJSON_ArrayForEach(rec, log) {
		const char *grant = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "grant_type"));
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "path"));
		const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "rt_family"));

		if (grant && strstr(grant, "password-realm")) {
			family = f;
			n = 0;
		} else if (path && strcmp(path, "/oauth/revoke") == 0 && family && f &&
			   strcmp(f, family) == 0) {
			n++;
		}
	}
	assert_non_null(family); /* the sign-in got a refresh token */
	cJSON_Delete(log);
	return n;
}

/* Hand-off keys of the user's, looked at as the user. */
static int count_handoffs_in(void *ctx)
{
	int *count = ctx;
	void *buf = NULL;
	long n = keyctl_read_alloc(KEY_SPEC_USER_KEYRING, &buf);

	*count = 0;
	for (long i = 0; n > 0 && i < n / (long)sizeof(key_serial_t); i++) {
		struct a0_keyinfo ki;

		if (a0_key_describe(((key_serial_t *)buf)[i], &ki) == 0 &&
		    strncmp(ki.description, "pam_auth0_handoff:", 18) == 0)
			(*count)++;
	}
	free(buf);
	return n < 0 ? 1 : 0;
}

static int handoffs(void)
{
	int *count = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
			  0),
	    n;

	assert_true(count != MAP_FAILED);
	assert_int_equal(test_as_user(&user, true, count_handoffs_in, count), 0);
	n = *count;
	munmap(count, sizeof(int));
	return n;
}

static struct a0_user account(void)
{
	struct a0_user u = { user.name, user.uid, user.gid };

	return u;
}

/* A refresh token of another login, as the helper's rotation would bring. */
static char *another_refresh_token(void)
{
	char arg[160], err[256];
	const char *argv[] = { arg };
	struct a0_http_options opt = { 0 };
	struct a0_result res = { .retry_after = -1 };
	struct a0_tokens *t = NULL;
	struct a0_config *cfg = NULL;
	struct a0_http *http = NULL;
	struct a0_client c = { 0 };
	char *rt;

	snprintf(arg, sizeof(arg), "config=%s/pam_auth0.conf", run_dir);
	assert_a0(a0_config_load(1, argv, &cfg, err, sizeof(err)), 0);
	opt.domain = cfg->domain;
	opt.ca_file = cfg->ca_file;
	opt.timeout = 5;
	assert_a0(a0_http_new(&opt, &http), 0);
	c.http = http;
	c.client_id = cfg->client_id;
	assert_a0(a0_grant_password_realm(&c, cfg, "a0alice", PASSWORD, &t, &res), 0);
	rt = strdup(t->refresh_token);
	a0_tokens_free(t);
	a0_result_clear(&res);
	a0_http_free(http);
	a0_config_free(cfg);
	return rt;
}

/* authenticate + account, as every test begins. */
static pam_handle_t *sign_in(const char *service)
{
	pam_handle_t *h = start(service, PASSWORD);

	assert_pam(pam_authenticate(h, 0), PAM_SUCCESS);
	assert_pam(pam_acct_mgmt(h, 0), PAM_SUCCESS);
	return h;
}

/* ---- tests ---- */

/*
 * sshd's order: setcred, open_session (pam_keyinit, then us), setcred again, close. Each test
 * goes through the order up to its part.
 */

/* authenticate, account, setcred, open_session; the session's record and its key. */
static pam_handle_t *sshd_session(struct a0_record **ret_record, key_serial_t *ret_key)
{
	pam_handle_t *h = sign_in(SERVICE);

	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	*ret_record = session_record(ret_key);
	assert_non_null(*ret_record);
	return h;
}

/* close_session, setcred PAM_DELETE_CRED, pam_end. */
static void sshd_logout(pam_handle_t *h)
{
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_pam(pam_setcred(h, PAM_DELETE_CRED), PAM_SUCCESS);
	end(h);
}

/* The session's outcomes in the log: the record stored, then the logout (pam_auth0(8), LOGGING). */
static void test_session_outcome_lines(void **state)
{
	struct capture c;
	pam_handle_t *h;
	const char *log;

	h = sign_in(SERVICE);
	capture_begin(&c);
	setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1); /* LOG_INFO too */
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	log = capture_end(&c);
	assert_non_null(strstr(log, "msgid=session-stored outcome=ok user="));
	assert_non_null(strstr(log,
			       " service=" SERVICE " rhost=- step=store error=- result=OK "
			       "description=\"stored the credentials in the session keyring "));
	assert_non_null(strstr(log, "msgid=logout outcome=ok user="));
	assert_non_null(strstr(log,
			       " service=" SERVICE " rhost=- step=logout error=- result=OK "
			       "description=\"the credentials removed; the refresh token revoked "
			       "at Auth0\"\n"));
	end(h);
}

static void test_sshd_handoff_made_then_taken_by_setcred(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	key_serial_t root_keyring = session();
	const char *env;

	/* The hand-off is made at the end of authentication, named in the PAM environment. */
	env = pam_getenv(h, A0_HANDOFF_ENV);
	assert_non_null(env);
	assert_true(a0_handoff_valid(env));
	assert_int_equal(handoffs(), 1);

	/* setcred before pam_keyinit ran: root's session keyring is not the user's: nothing
	 * stored yet; the hand-off is no longer needed by this process (it has the tokens). */
	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_null(pam_getenv(h, A0_HANDOFF_ENV));
	assert_int_equal(handoffs(), 0);
	assert_int_equal(count_records(root_keyring), 0);
	end(h);
}

/* open_session stores the record in pam_keyinit's keyring, the user's, for the user alone. */
static void test_sshd_open_session_stores_the_record(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	key_serial_t key, root_keyring = session();
	struct a0_keyinfo ki;
	struct a0_record *r;
	char t[16];

	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	assert_int_not_equal(session(), root_keyring);
	assert_a0(a0_key_describe(session(), &ki), 0);
	assert_int_equal(ki.uid, user.uid); /* pam_keyinit's keyring, the user's */
	r = session_record(&key);
	assert_non_null(r);
	assert_non_null(r->access_token);
	assert_non_null(r->id_token);
	assert_non_null(r->refresh_token);
	assert_string_equal(r->token_type, "Bearer");
	assert_string_equal(r->client_id, "pam-native");
	assert_string_equal(r->ca_file, fake.ca);
	assert_true(r->expires_at > time(NULL));
	assert_true(r->refresh_expires_at > time(NULL) + 29 * 86400);
	assert_a0(user_describe(key, &ki), 0);
	assert_int_equal(ki.uid, user.uid);
	assert_int_equal(ki.perm, A0_RECORD_PERM);
	assert_int_equal(ki.perm, 0x002f0000); /* the owner's view read write search setattr */
	/* root (sshd) possesses the session keyring, but its own fsuid reads nothing. */
	{
		char buf[64];

		assert_int_equal(keyctl_read(key, buf, sizeof(buf)), -1);
		assert_int_equal(errno, EACCES);
	}
	{
		struct a0_priv p;

		user_fs(&p); /* /proc/keys lists the keys the reader may view */
		proc_keys_timeout(key, t, sizeof(t));
		root_fs(&p);
	}
	assert_string_equal(t, "4w"); /* 30 days, Auth0's default refresh token lifetime */
	assert_null(pam_getenv(h, A0_HANDOFF_ENV));
	sshd_logout(h);
	a0_record_free(r);
}

/* The cnf.jkt claim of a JWT access token into out ("" when it has none). */
static void access_token_jkt(const char *token, char *out, size_t size)
{
	const char *dot = strchr(token, '.'), *end = dot ? strchr(dot + 1, '.') : NULL;
	unsigned char *payload = NULL;
	size_t len = 0;
	cJSON *claims;
	const char *jkt;

	out[0] = '\0';
	assert_non_null(end);
	assert_a0(a0_b64url_decode(dot + 1, (size_t)(end - dot - 1), &payload, &len), 0);
	claims = cJSON_ParseWithLength((const char *)payload, len);
	assert_non_null(claims);
	jkt = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(claims, "cnf"), "jkt"));
	if (jkt)
		snprintf(out, size, "%s", jkt);
	cJSON_Delete(claims);
	free(payload);
}

/* dpop = yes, one sign-in: the record's DPoP key and the thumbprint its token is bound to. */
static void dpop_sign_in(char jkt[A0_DPOP_JKT_LEN + 1])
{
	pam_handle_t *h = sign_in(SERVICE);
	struct a0_dpop_key *k = NULL;
	struct a0_record *r;
	char bound[128];

	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(NULL);
	assert_non_null(r);
	assert_string_equal(r->token_type, "DPoP");
	assert_non_null(r->dpop_key);
	assert_a0(a0_dpop_key_import(r->dpop_key, strlen(r->dpop_key), &k), 0);
	assert_a0(a0_dpop_thumbprint(k, jkt), 0);
	access_token_jkt(r->access_token, bound, sizeof(bound));
	assert_string_equal(bound, jkt);
	a0_dpop_key_free(k);
	a0_record_free(r);
	sshd_logout(h);
}

/*
 * dpop = yes: the sign-in proves a key of its own to the tenant, whose tokens are bound to it
 * (cnf.jkt), and the record keeps that key; the next sign-in has another key. Without the
 * setting the record is a bearer one with no key.
 */
static void test_dpop_sign_in_keeps_its_key(void **state)
{
	char first[A0_DPOP_JKT_LEN + 1], second[A0_DPOP_JKT_LEN + 1];
	pam_handle_t *h;
	struct a0_record *r;

	configure("dpop = yes\n");
	dpop_sign_in(first);
	dpop_sign_in(second);
	assert_string_not_equal(first, second);

	configure(NULL);
	h = sign_in(SERVICE);
	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(NULL);
	assert_non_null(r);
	assert_string_equal(r->token_type, "Bearer");
	assert_null(r->dpop_key);
	a0_record_free(r);
	sshd_logout(h);
}

/* setcred again, here and in sshd's session child: the same single record. */
static void test_sshd_setcred_again_keeps_one_record(void **state)
{
	struct a0_record *r, *r2;
	key_serial_t key, key2;
	pam_handle_t *h = sshd_session(&r, &key);
	int status;
	pid_t pid;

	assert_pam(pam_setcred(h, PAM_REINITIALIZE_CRED), PAM_SUCCESS);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(pam_setcred(h, PAM_REINITIALIZE_CRED) == PAM_SUCCESS ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(count_records(session()), 1);
	assert_non_null((r2 = session_record(&key2)));
	assert_int_equal(key2, key);
	a0_record_free(r2);
	sshd_logout(h);
	a0_record_free(r);
}

/* Logout: the refresh token is revoked at Auth0 and the keys are gone. */
static void test_sshd_logout_revokes(void **state)
{
	struct a0_keyinfo ki;
	struct a0_record *r;
	key_serial_t key;
	char sha[13], shas[256];
	pam_handle_t *h = sshd_session(&r, &key);

	assert_pam(pam_setcred(h, PAM_REINITIALIZE_CRED), PAM_SUCCESS);
	rt_sha(r->refresh_token, sha);
	assert_int_equal(revocations(shas, sizeof(shas)), 0);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 1);
	assert_non_null(strstr(shas, sha));
	assert_int_equal(fake_stat(&fake, "revoked_families"), 1);
	assert_int_not_equal(user_describe(key, &ki), 0);
	assert_pam(pam_setcred(h, PAM_DELETE_CRED), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 1);
	end(h);
	a0_record_free(r);
}

/* login's order (util-linux): open_session first, then setcred. */
static void test_login_order(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	struct a0_record *r;

	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(NULL);
	assert_non_null(r);
	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_int_equal(count_records(session()), 1);
	assert_int_equal(handoffs(), 0);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_pam(pam_setcred(h, PAM_DELETE_CRED), PAM_SUCCESS);
	end(h);
	a0_record_free(r);
}

/*
 * sshd's keyboard-interactive: pam_authenticate in a forked child, whose pam_set_data dies
 * with it; sshd copies the child's PAM environment into the parent's handle, which then runs
 * setcred and open_session. Up to the import: the parent's handle.
 */
static pam_handle_t *authenticated_in_child(void)
{
	pam_handle_t *h = start(SERVICE, PASSWORD);
	char handle[A0_HANDOFF_HANDLE_LEN + 1] = "", env[128];
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *e;

		close(fds[0]);
		if (pam_authenticate(h, 0) != PAM_SUCCESS || pam_acct_mgmt(h, 0) != PAM_SUCCESS)
			_exit(1);
		e = pam_getenv(h, A0_HANDOFF_ENV);
		if (!e || write(fds[1], e, strlen(e)) != (ssize_t)strlen(e))
			_exit(2);
		_exit(0); /* no pam_end: sshd's child does not call it either */
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], handle, A0_HANDOFF_HANDLE_LEN), A0_HANDOFF_HANDLE_LEN);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(a0_handoff_valid(handle));
	assert_int_equal(handoffs(), 1);

	/* The parent knows nothing of the login but what sshd imports. */
	assert_null(pam_getenv(h, A0_HANDOFF_ENV));
	snprintf(env, sizeof(env), "%s=%s", A0_HANDOFF_ENV, handle);
	assert_pam(pam_putenv(h, env), PAM_SUCCESS);
	return h;
}

static void test_handoff_across_fork(void **state)
{
	pam_handle_t *h = authenticated_in_child();
	struct a0_keyinfo ki;
	struct a0_record *r;
	key_serial_t key;
	char **list;

	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	/* Taken: gone from the user keyring and from the environment the shell would get. */
	assert_int_equal(handoffs(), 0);
	assert_null(pam_getenv(h, A0_HANDOFF_ENV));
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	list = pam_getenvlist(h);
	for (char **p = list; p && *p; p++) {
		assert_null(strstr(*p, A0_HANDOFF_ENV));
		free(*p);
	}
	free(list);
	r = session_record(&key);
	assert_non_null(r);
	assert_non_null(r->refresh_token);
	assert_a0(user_describe(key, &ki), 0);
	assert_int_equal(ki.uid, user.uid);
	sshd_logout(h);
	a0_record_free(r);
}

/* The refresh token handed across the fork is the one logout revokes. */
static void test_handoff_across_fork_revoked_at_logout(void **state)
{
	pam_handle_t *h = authenticated_in_child();
	char sha[13], shas[256];
	struct a0_keyinfo ki;
	struct a0_record *r;
	key_serial_t key;

	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(&key);
	assert_non_null(r);
	rt_sha(r->refresh_token, sha);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 1);
	assert_non_null(strstr(shas, sha));
	assert_int_equal(fake_stat(&fake, "revoked_families"), 1); /* a real family of the fake's */
	assert_int_not_equal(user_describe(key, &ki), 0);
	assert_pam(pam_setcred(h, PAM_DELETE_CRED), PAM_SUCCESS);
	end(h);
	a0_record_free(r);
}

/* The helper rotated the refresh token during the session: logout revokes the current one. */
static void test_logout_revokes_current_token(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	struct a0_user u = account();
	struct a0_record *r;
	struct a0_priv p;
	char *rt2, sha1[13], sha2[13], shas[256];

	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(NULL);
	assert_non_null(r);
	rt_sha(r->refresh_token, sha1);
	rt2 = another_refresh_token();
	rt_sha(rt2, sha2);
	free(r->refresh_token);
	r->refresh_token = rt2;
	/* As the helper would: the user, in the session, updating the record. */
	assert_a0(a0_priv_drop(&p, &u, 0), 0);
	assert_a0(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 600), 0);
	assert_a0(a0_priv_regain(&p), 0);

	/* pam_keyinit revokes the session keyring before pam_auth0's close_session runs. */
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 1);
	assert_non_null(strstr(shas, sha2));
	assert_null(strstr(shas, sha1));
	end(h);
	a0_record_free(r);
}

/* Without pam_keyinit the session keyring is root's: refused, logged, the login goes on. */
static void test_no_keyinit_refused_login_succeeds(void **state)
{
	struct capture c;
	pam_handle_t *h;
	const char *log;
	char shas[256];

	capture_begin(&c);
	h = sign_in(SERVICE_BARE);
	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	log = capture_end(&c);
	assert_non_null(strstr(log, "msgid=store-failed outcome=failed user="));
	assert_non_null(strstr(log, "service=" SERVICE_BARE " rhost=- step=store error=- "
				    "result=NOT_STORED description=\""));
	assert_non_null(strstr(log, "belongs to uid 0"));
	assert_non_null(strstr(log, "pam_keyinit.so force revoke"));
	assert_int_equal(count_records(session()), 0);
	assert_int_equal(handoffs(), 0);
	assert_null(pam_getenv(h, A0_HANDOFF_ENV));
	/* Logout still revokes the refresh token nobody holds now. */
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 1);
	end(h);
}

/*
 * su or sudo to oneself without pam_keyinit: the session keyring is the user's own, but it is
 * the one the authentication ran in, the caller's session: its record is not replaced.
 */
static void test_callers_session_keyring_untouched(void **state)
{
	struct a0_user u = account();
	struct a0_record *mine = NULL;
	struct a0_priv p;
	struct capture c;
	pam_handle_t *h;
	const char *log;
	key_serial_t key;

	assert_a0(a0_priv_drop(&p, &u, A0_PRIV_REAL), 0);
	assert_true(keyctl_join_session_keyring(NULL) > 0); /* the user's, like a login's */
	assert_true((key = add_key("user", "pam_auth0:main", "theirs", 6,
				   KEY_SPEC_SESSION_KEYRING)) > 0);
	assert_a0(a0_priv_regain(&p), 0);
	capture_begin(&c);
	h = sign_in(SERVICE_BARE);
	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	log = capture_end(&c);
	assert_non_null(strstr(log, "result=NOT_STORED"));
	assert_non_null(strstr(log, "the one the authentication ran in"));
	{
		char buf[16] = "";

		assert_int_equal(keyctl_read(key, buf, sizeof(buf)), 6);
		assert_memory_equal(buf, "theirs", 6);
	}
	assert_int_equal(count_records(session()), 1);
	assert_int_equal(handoffs(), 0);
	/* Nor does logout touch it. */
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_pam(pam_setcred(h, PAM_DELETE_CRED), PAM_SUCCESS);
	assert_int_equal(count_records(session()), 1);
	end(h);
	a0_record_free(mine);
}

/*
 * The session keyring's description is the caller's to choose (su or sudo without pam_keyinit
 * run in the caller's session keyring) and the refusal to store logs it: a newline must not
 * start a forged line of its own, nor an escape reach whoever reads the log on a terminal.
 */
static void test_keyring_description_sanitised(void **state)
{
	struct a0_user u = account();
	struct a0_priv p;
	struct capture c;
	pam_handle_t *h;
	const char *log;

	assert_int_equal(a0_priv_drop(&p, &u, A0_PRIV_REAL), 0);
	assert_true(keyctl_join_session_keyring("_uid_ses.evil\nuser=root step=store "
						"result=STORED\x1b[2J\" x=\\y") > 0);
	assert_int_equal(a0_priv_regain(&p), 0);
	capture_begin(&c);
	h = sign_in(SERVICE_BARE);
	assert_int_equal(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_int_equal(pam_open_session(h, 0), PAM_SUCCESS);
	log = capture_end(&c);
	assert_non_null(strstr(log, "result=NOT_STORED"));
	if (strstr(log, "\nuser=root") || strchr(log, 0x1b))
		fail_msg("the keyring's description was logged as it is");
	if (!strstr(log, "per-user default session keyring _uid_ses.evil?user=root step=store "
			 "result=STORED?[2J\\\" x=\\\\y"))
		fail_msg("the keyring's description is not shown sanitised");
	/* Inside the quoted description, whose quote and backslash are escaped: the line's one
	 * result= field is the module's. */
	if (!strstr(log, "msgid=store-failed outcome=failed user=") ||
	    !strstr(log, "result=NOT_STORED description=\"") || strstr(log, "[2J\" x=\\y"))
		fail_msg("the description is not quoted and escaped: %s", log);
	assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
	end(h);
}

static int user_keyring_record(void *ctx)
{
	char *timeout = ctx;
	struct a0_record *r = NULL;
	key_serial_t key;

	/* As in a session pam_keyinit made: the user keyring linked into it. */
	if (keyctl_link(KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING) < 0)
		return 1;
	if (a0_store_find_described(keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 0),
				    "pam_auth0:main", &key) != 0) {
		snprintf(timeout, 16, "none");
		return 0;
	}
	if (a0_store_load_key(key, &r) != 0 || !r->refresh_token)
		return 2;
	a0_record_free(r);
	proc_keys_timeout(key, timeout, 16);
	return 0;
}

static void test_keyring_user(void **state)
{
	char *timeout = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pam_handle_t *h;
	char shas[256];

	configure("keyring = user");
	h = sign_in(SERVICE);
	assert_pam(pam_setcred(h, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	/* In the user keyring (every session and service of the user), with a timeout. */
	assert_int_equal(test_as_user(&user, true, user_keyring_record, timeout), 0);
	assert_string_equal(timeout, "4w");
	assert_int_equal(count_records(session()), 0);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 1);
	assert_int_equal(test_as_user(&user, true, user_keyring_record, timeout), 0);
	assert_string_equal(timeout, "none");
	end(h);
	munmap(timeout, 16);
}

static void test_revoke_on_logout_no(void **state)
{
	pam_handle_t *h;
	key_serial_t key;
	struct a0_keyinfo ki;
	struct a0_record *r;
	char shas[256];

	configure("revoke_on_logout = no");
	h = sign_in(SERVICE);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(&key);
	assert_non_null(r);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	assert_int_equal(revocations(shas, sizeof(shas)), 0);
	assert_int_not_equal(user_describe(key, &ki), 0);
	end(h);
	a0_record_free(r);
}

static void test_revoke_failure_does_not_block_logout(void **state)
{
	static const char *const faults[] = {
		"{\"path\":\"/oauth/revoke\",\"kind\":\"status\",\"status\":503,\"count\":-1}",
		"{\"path\":\"/oauth/revoke\",\"kind\":\"drop\",\"count\":-1}",
	};

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		pam_handle_t *h;
		key_serial_t key;
		struct a0_keyinfo ki;
		struct a0_record *r;
		struct capture c;
		const char *log;

		reset(state);
		h = sign_in(SERVICE);
		assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
		r = session_record(&key);
		assert_non_null(r);
		fake_control(&fake, "POST", "/__control/fault", faults[i]);
		capture_begin(&c);
		assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
		log = capture_end(&c);
		assert_non_null(strstr(log, "msgid=revoke-failed outcome=failed user="));
		assert_non_null(strstr(log, "logout goes on"));
		/* The logout's own line: the keys removed, the revocation failed. */
		assert_non_null(strstr(log, "msgid=logout outcome=failed user="));
		assert_non_null(strstr(log, "step=logout error=- result="));
		assert_non_null(strstr(log, "description=\"the credentials removed; the refresh "
					    "token could not be revoked (revoke-failed)\""));
		assert_int_not_equal(user_describe(key, &ki), 0);
		fake_control(&fake, "DELETE", "/__control/fault", NULL);
		end(h);
		a0_record_free(r);
	}
}

static void test_delete_cred_removes_keys(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	struct a0_keyinfo ki;
	struct a0_record *r;
	key_serial_t key;
	char shas[256];

	assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(&key);
	assert_non_null(r);
	assert_pam(pam_setcred(h, PAM_DELETE_CRED), PAM_SUCCESS);
	assert_int_not_equal(user_describe(key, &ki), 0);
	assert_int_equal(count_records(session()), 0);
	assert_int_equal(revocations(shas, sizeof(shas)), 0);
	end(h);
	a0_record_free(r);
}

static void test_failed_login_leaves_nothing(void **state)
{
	pam_handle_t *h = start(SERVICE, "wrong");

	assert_pam(pam_authenticate(h, 0), PAM_AUTH_ERR);
	assert_null(pam_getenv(h, A0_HANDOFF_ENV));
	assert_int_equal(handoffs(), 0);
	assert_pam(pam_open_session(h, 0), PAM_SUCCESS); /* pam_keyinit; we ignore */
	assert_int_equal(count_records(session()), 0);
	assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
	end(h);
}

/* A hand-off nobody took ends with pam_end in the process that made it, not in a child's. */
static void test_unused_handoff_dropped_at_end(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	char handle[A0_HANDOFF_HANDLE_LEN + 1];
	struct a0_user u = account();
	struct a0_record *r = NULL;
	int status;
	pid_t pid;

	snprintf(handle, sizeof(handle), "%s", pam_getenv(h, A0_HANDOFF_ENV));
	assert_int_equal(handoffs(), 1);
	/* A forked child's pam_end (PAM_DATA_SILENT, or just another process) leaves it. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(pam_end(h, PAM_SUCCESS | PAM_DATA_SILENT) == PAM_SUCCESS ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(pam_end(h, PAM_SUCCESS) == PAM_SUCCESS ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(handoffs(), 1);
	assert_int_equal(revocations_of_last_sign_in(), 0);
	end(h);
	assert_int_equal(handoffs(), 0);
	assert_a0(a0_handoff_take(&u, handle, &r, NULL), A0_ERR_NOT_FOUND);
	/* Its refresh token, which nothing holds now, is revoked (a screen locker's sign-in). */
	assert_int_equal(revocations_of_last_sign_in(), 1);

	/* Unless revoke_on_logout says no. */
	configure("revoke_on_logout = no");
	h = sign_in(SERVICE);
	end(h);
	assert_int_equal(handoffs(), 0);
	assert_int_equal(revocations_of_last_sign_in(), 0);
}

/*
 * sudo and su authenticate the caller, then set PAM_USER to the target user before setcred and
 * open_session, and end with PAM_DATA_SILENT: the session is the target's. The caller's tokens
 * are not the target's to keep (neither root's, an ignored account, nor another user's, whose
 * processes could read a record stored for them), and the caller's hand-off, which no session
 * will take, goes at once rather than at its timeout, its refresh token revoked (nothing holds
 * it); its handle leaves the PAM environment, which sudo passes on to the command.
 */
static void test_session_of_another_user_gets_nothing(void **state)
{
	const char *targets[] = { "root", other.name };

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		pam_handle_t *h = sign_in(SERVICE);
		void *links = NULL;
		long n;

		assert_int_equal(handoffs(), 1);
		assert_pam(pam_set_item(h, PAM_USER, targets[i]), PAM_SUCCESS);
		/* (The auth stack here is pam_auth0 alone: for root, which it ignores, the
		 * stack's setcred has no module that succeeded.) */
		pam_setcred(h, PAM_ESTABLISH_CRED);
		assert_int_equal(revocations_of_last_sign_in(), 1);
		assert_pam(pam_open_session(h, 0), PAM_SUCCESS);
		pam_setcred(h, PAM_REINITIALIZE_CRED);
		/* The target's new session keyring (pam_keyinit) holds no key but keyrings (the
		 * user keyring pam_keyinit links): a record would be a key root may not view. */
		n = keyctl_read_alloc(KEY_SPEC_SESSION_KEYRING, &links);
		assert_true(n >= 0);
		for (long k = 0; k < n / (long)sizeof(key_serial_t); k++) {
			struct a0_keyinfo ki;

			assert_a0(a0_key_describe(((key_serial_t *)links)[k], &ki), 0);
			assert_string_equal(ki.type, "keyring");
		}
		free(links);
		assert_null(pam_getenv(h, A0_HANDOFF_ENV));
		assert_int_equal(handoffs(), 0);
		assert_pam(pam_close_session(h, 0), PAM_SUCCESS);
		assert_pam(pam_end(h, PAM_SUCCESS | PAM_DATA_SILENT), PAM_SUCCESS);
		assert_true(keyctl_join_session_keyring(NULL) > 0);
		/* Once: not again at close_session or the end. */
		assert_int_equal(revocations_of_last_sign_in(), 1);
	}
}

/* The user keyring's record as the user sees it: its timeout, or "none". */
static void expect_user_keyring_record(char *timeout, const char *want)
{
	assert_int_equal(test_as_user(&user, true, user_keyring_record, timeout), 0);
	assert_string_equal(timeout, want);
}

/*
 * A handle that neither signed the user in with pam_auth0 nor stored anything opens and closes
 * a session inside the user's login: cron's order (account, setcred, open_session,
 * close_session, setcred DELETE_CRED, no pam_authenticate), as for su U from root or a NOPASSWD
 * sudo -u U. The login's record and its refresh token are not that session's to end, in either
 * keyring mode (with keyring = user anyone with such a sudo rule could end U's login).
 */
static void test_foreign_session_leaves_login_alone(void **state)
{
	static const char *const modes[] = { NULL, "keyring = user" };
	char *timeout = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(timeout != MAP_FAILED);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		pam_handle_t *h, *h2;
		char shas[256];

		reset(state);
		configure(modes[i]);
		h = sign_in(SERVICE);
		assert_int_equal(pam_open_session(h, 0), PAM_SUCCESS);
		if (modes[i])
			expect_user_keyring_record(timeout, "4w");
		else
			assert_int_equal(count_records(session()), 1);

		h2 = start(SERVICE_CRON, "unused");
		assert_int_equal(pam_acct_mgmt(h2, 0), PAM_SUCCESS);
		assert_int_equal(pam_setcred(h2, PAM_ESTABLISH_CRED), PAM_SUCCESS);
		assert_int_equal(pam_open_session(h2, 0), PAM_SUCCESS);
		assert_int_equal(pam_close_session(h2, 0), PAM_SUCCESS);
		assert_int_equal(pam_setcred(h2, PAM_DELETE_CRED), PAM_SUCCESS);
		end(h2);
		if (revocations(shas, sizeof(shas)) != 0)
			fail_msg("%s: a session that did not sign in revoked the login's refresh "
				 "token",
				 modes[i] ? modes[i] : "keyring = session");
		if (modes[i])
			expect_user_keyring_record(timeout, "4w");
		else
			assert_int_equal(count_records(session()), 1);

		/* The login's own logout still ends it. */
		assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
		assert_int_equal(revocations(shas, sizeof(shas)), 1);
		if (modes[i])
			expect_user_keyring_record(timeout, "none");
		end(h);
	}
	munmap(timeout, 16);
}

/* What a process of some uid gets when it reads the login's record by its serial alone. */
struct by_serial {
	key_serial_t key, session;
	const char *refresh_token;
};

static int read_by_serial(void *ctx)
{
	const struct by_serial *b = ctx;
	struct a0_record *r = NULL;
	int ret;

	if (a0_store_load_key(b->key, &r) != 0)
		return 2;
	ret = r->refresh_token && strcmp(r->refresh_token, b->refresh_token) == 0 ? 0 : 3;
	a0_record_free(r);
	return ret;
}

static int read_by_serial_elsewhere(void *ctx)
{
	const struct by_serial *b = ctx;

	/* A session keyring of its own: nothing links it to the login's. */
	if (keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0) == b->session)
		return 1;
	return read_by_serial(ctx);
}

/*
 * keyring = session scopes where the record is found and when it goes, not who may read it:
 * the boundary is the uid (pam_auth0(8), Permissions). A process of the user outside the session
 * reads the record by its serial; a process of another uid cannot, even one inside the session.
 */
static void test_session_keyring_boundary_is_uid(void **state)
{
	pam_handle_t *h = sign_in(SERVICE);
	struct by_serial b;
	struct a0_record *r;

	assert_int_equal(pam_open_session(h, 0), PAM_SUCCESS);
	r = session_record(&b.key);
	assert_non_null(r);
	assert_non_null(r->refresh_token);
	b.session = session();
	b.refresh_token = r->refresh_token;
	assert_int_equal(test_as_user(&user, true, read_by_serial_elsewhere, &b), 0);
	assert_int_equal(test_as_user(&other, false, read_by_serial, &b), 2);
	assert_int_equal(test_as_user(&other, true, read_by_serial, &b), 2);
	assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
	end(h);
	a0_record_free(r);
}

/* ---- set-up: the account, then pam_wrapper preloaded in a re-executed child ---- */

static void write_services(const char *dir, const char *services)
{
	const char *module = getenv("A0_MODULE");
	char path[192], text[1024];

	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required %s config=%s/pam_auth0.conf\n"
		 "session  required " KEYINIT " force revoke\n"
		 "session  required %s config=%s/pam_auth0.conf\n",
		 module, dir, module, dir, module, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/" SERVICE_BARE, services);
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required %s config=%s/pam_auth0.conf\n"
		 "session  required %s config=%s/pam_auth0.conf\n",
		 module, dir, module, dir, module, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/" SERVICE_CRON, services);
	snprintf(text, sizeof(text),
		 "auth     required %s config=%s/pam_auth0.conf\n"
		 "account  required " PERMIT "\n"
		 "session  required " PERMIT "\n"
		 "session  required %s config=%s/pam_auth0.conf\n",
		 module, dir, module, dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	struct passwd *pw;
	int r;

	if (!pamwrap_is_child()) {
		if (geteuid() != 0) {
			fprintf(stderr, "test_session: needs root (a real account, pam_keyinit)\n");
			return 77;
		}
		test_user_sweep();
		if (!test_user_create("a0kp", 's', &user) ||
		    !test_user_create("a0kp", 't', &other)) {
			test_user_remove(&user);
			return 99;
		}
		if (access(KEYINIT, R_OK) != 0) {
			fprintf(stderr, "test_session: %s missing\n", KEYINIT);
			r = 77;
		} else {
			char env_user[64], env_other[64];
			const char *const env[] = { env_user, env_other, NULL };

			snprintf(env_user, sizeof(env_user), "A0_PAM_TEST_USER=%s", user.name);
			snprintf(env_other, sizeof(env_other), "A0_PAM_TEST_OTHER=%s", other.name);
			r = pamwrap_run(argv, "a0-session", write_services, env);
		}
		/* Back to a session keyring of our own before the account goes. */
		keyctl_join_session_keyring(NULL);
		test_user_remove(&user);
		test_user_remove(&other);
		return r;
	}
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	snprintf(user.name, sizeof(user.name), "%s", getenv("A0_PAM_TEST_USER"));
	pw = getpwnam(user.name);
	if (!pw)
		return 99;
	user.uid = pw->pw_uid;
	user.gid = pw->pw_gid;
	snprintf(other.name, sizeof(other.name), "%s", getenv("A0_PAM_TEST_OTHER"));
	pw = getpwnam(other.name);
	if (!pw)
		return 99;
	other.uid = pw->pw_uid;
	other.gid = pw->pw_gid;
	fake_init(&fake);

#define T(name) cmocka_unit_test_setup(name, reset)
	const struct CMUnitTest tests[] = {
		T(test_sshd_handoff_made_then_taken_by_setcred),
		T(test_session_outcome_lines),
		T(test_sshd_open_session_stores_the_record),
		T(test_dpop_sign_in_keeps_its_key),
		T(test_sshd_setcred_again_keeps_one_record),
		T(test_sshd_logout_revokes),
		T(test_login_order),
		T(test_handoff_across_fork),
		T(test_handoff_across_fork_revoked_at_logout),
		T(test_logout_revokes_current_token),
		T(test_no_keyinit_refused_login_succeeds),
		T(test_callers_session_keyring_untouched),
		T(test_keyring_description_sanitised),
		T(test_keyring_user),
		T(test_revoke_on_logout_no),
		T(test_revoke_failure_does_not_block_logout),
		T(test_delete_cred_removes_keys),
		T(test_failed_login_leaves_nothing),
		T(test_unused_handoff_dropped_at_end),
		T(test_session_of_another_user_gets_nothing),
		T(test_foreign_session_leaves_login_alone),
		T(test_session_keyring_boundary_is_uid),
	};
#undef T
	r = cmocka_run_group_tests(tests, NULL, NULL);
	keyctl_join_session_keyring(NULL);
	return r;
}
