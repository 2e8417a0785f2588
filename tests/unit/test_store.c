/* SPDX-License-Identifier: MIT */
/*
 * The credential store and the module's keyring logic against the real kernel keyring: atomic
 * replace, permissions and ownership as read back from the kernel, a second real user who can
 * neither read nor find the keys (in a session of its own, and possessing the owner's session
 * keyring, as under stock sudo), root's fsuid that cannot read them either, the hand-off across
 * processes, the session keyring checks, and a full quota. The record format itself:
 * test_record.c. Every test runs in a fresh session keyring of its own (HACKING.md §8). Needs
 * root (real uids): skipped otherwise.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <keyutils.h>

#include "keyring/keys.h"
#include "keyring/login.h"
#include "keyring/store.h"
#include "lib/error.h"
#include "lib/priv.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "tests/common/record.h"
#include "tests/common/testuser.h"

static struct test_user owner, other; /* the keys' user, and a second user */

/* ---- helpers ---- */

static bool records_equal(const struct a0_record *a, const struct a0_record *b)
{
#define SAME(f) ((!a->f && !b->f) || (a->f && b->f && strcmp(a->f, b->f) == 0))
	return SAME(access_token) && SAME(id_token) && SAME(refresh_token) && SAME(token_type) &&
	       SAME(scope) && SAME(domain) && SAME(client_id) && SAME(ca_file) && SAME(audience) &&
	       a->expires_at == b->expires_at && a->refresh_expires_at == b->refresh_expires_at;
#undef SAME
}

static char *serialize(const struct a0_record *r, size_t *len)
{
	char *p = NULL;

	assert_int_equal(a0_record_serialize(r, &p, len), 0);
	return p;
}

/* The timeout column of the key's /proc/keys line ("perm" for none); "" when not listed. */
static void proc_keys_timeout(key_serial_t key, char *out, size_t size)
{
	char line[1024], id[16];
	FILE *f = fopen("/proc/keys", "r");

	out[0] = '\0';
	if (!f)
		return;
	snprintf(id, sizeof(id), "%08x ", (unsigned)key);
	while (fgets(line, sizeof(line), f)) {
		char flags[16], timeout[16];
		unsigned usage;

		if (strncmp(line, id, strlen(id)) != 0)
			continue;
		if (sscanf(line + strlen(id), "%15s %u %15s", flags, &usage, timeout) == 3)
			snprintf(out, size, "%s", timeout);
	}
	fclose(f);
}

static bool proc_keys_lists(key_serial_t key)
{
	char t[16];

	proc_keys_timeout(key, t, sizeof(t));
	return t[0] != '\0';
}

static key_serial_t session(void)
{
	return keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0);
}

/* Keys linked directly in keyring with this description. */
static int count_described(key_serial_t keyring, const char *description)
{
	void *buf = NULL;
	long n = keyctl_read_alloc(keyring, &buf);
	int count = 0;

	assert_true(n >= 0);
	for (long i = 0; i < n / (long)sizeof(key_serial_t); i++) {
		struct a0_keyinfo ki;

		if (a0_key_describe(((key_serial_t *)buf)[i], &ki) == 0 &&
		    strcmp(ki.description, description) == 0)
			count++;
	}
	free(buf);
	return count;
}

static struct a0_user as_user(const struct test_user *t)
{
	struct a0_user u = { t->name, t->uid, t->gid };

	return u;
}

/* Save as the owner would be saved by the module: fs ids switched. */
static int save_as_owner(key_serial_t keyring, const char *name, const struct a0_record *r,
			 unsigned timeout)
{
	struct a0_user u = as_user(&owner);
	struct a0_priv p;
	int rc, rr;

	rc = a0_priv_drop(&p, &u, 0);
	if (rc == 0)
		rc = a0_store_save(keyring, name, r, timeout);
	rr = a0_priv_regain(&p);
	assert_int_equal(rr, 0);
	return rc;
}

/*
 * With the owner's fs ids, as the module (switched) and the helper (the user) act on records:
 * a record's permissions are its owner's only, root's fsuid may not even view it.
 */
static void owner_fs(struct a0_priv *p)
{
	struct a0_user u = as_user(&owner);

	assert_int_equal(a0_priv_drop(p, &u, 0), 0);
}

static void root_fs(struct a0_priv *p)
{
	assert_int_equal(a0_priv_regain(p), 0);
}

static int find_as_owner(key_serial_t keyring, const char *description, key_serial_t *ret)
{
	struct a0_priv p;
	int r;

	owner_fs(&p);
	r = a0_store_find_described(keyring, description, ret);
	root_fs(&p);
	return r;
}

static int describe_as_owner(key_serial_t key, struct a0_keyinfo *ki)
{
	struct a0_priv p;
	int r;

	owner_fs(&p);
	r = a0_key_describe(key, ki);
	root_fs(&p);
	return r;
}

static int load_as_owner(key_serial_t keyring, const char *name, struct a0_record **ret)
{
	struct a0_priv p;
	int r;

	owner_fs(&p);
	r = a0_store_load(keyring, name, ret);
	root_fs(&p);
	return r;
}

static void join_session_as_owner(const char *name)
{
	struct a0_user u = as_user(&owner);
	struct a0_priv p;

	/* As pam_keyinit does: the real uid decides who owns a new session keyring. */
	assert_int_equal(a0_priv_drop(&p, &u, A0_PRIV_REAL), 0);
	assert_true(keyctl_join_session_keyring(name) > 0);
	assert_int_equal(a0_priv_regain(&p), 0);
}

static int fresh_session(void **state)
{
	/* Every test in a new, empty session keyring of root's: never the developer's keys. */
	assert_true(keyctl_join_session_keyring(NULL) > 0);
	return 0;
}

/* ---- the store in a keyring ---- */

static void test_save_load_remove(void **state)
{
	struct a0_record *r = sample("rt-1"), *back = NULL;
	struct a0_keyinfo ki;
	key_serial_t key;

	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_NOT_FOUND);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);

	/* What the kernel says about it. */
	assert_int_equal(a0_store_find_described(session(), "pam_auth0:main", &key), 0);
	assert_int_equal(a0_key_describe(key, &ki), 0);
	assert_true(strcmp(ki.type, "user") == 0 || strcmp(ki.type, "big_key") == 0);
	assert_string_equal(ki.description, "pam_auth0:main");
	assert_int_equal(ki.perm, KEY_USR_VIEW | KEY_USR_READ | KEY_USR_WRITE | KEY_USR_SEARCH |
					  KEY_USR_SETATTR);
	assert_int_equal(ki.perm, 0x002f0000);
	/* Nothing for possessors (not even search: keys.h), group or others. */
	assert_int_equal(ki.perm & (KEY_POS_ALL | KEY_GRP_ALL | KEY_OTH_ALL), 0);
	/* load_owned: only a key of that uid's (this one is root's). */
	assert_int_equal(a0_store_load_owned(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, 0, &back),
			 0);
	a0_record_free(back);
	back = NULL;
	assert_int_equal(a0_store_load_owned(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, owner.uid,
					     &back),
			 A0_ERR_NOT_FOUND);
	assert_null(back);

	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, r, 0), 0);
	assert_int_equal(a0_store_remove(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO), 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, &back),
			 A0_ERR_NOT_FOUND);
	assert_int_equal(a0_store_remove(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO), 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	a0_record_free(back);
	/* Bad names never reach the kernel. */
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, "", r, 0), A0_ERR_INVALID);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, "a\nb", r, 0), A0_ERR_INVALID);
	a0_record_free(r);
}

/* A record is read only from the keyring it was saved to, not through a linked keyring. */
static void test_load_ignores_linked_keyrings(void **state)
{
	struct a0_record *r = sample("rt-linked"), *back = NULL;
	key_serial_t child;

	child = add_key("keyring", "a0-test-linked", NULL, 0, KEY_SPEC_SESSION_KEYRING);
	assert_true(child > 0);
	assert_int_equal(a0_store_save(child, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(a0_store_load(child, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);
	back = NULL;
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_NOT_FOUND);
	assert_null(back);
	keyctl_invalidate(child);
	a0_record_free(r);
}

static void test_atomic_replace(void **state)
{
	struct a0_record *r1 = sample("rt-one"), *r2 = sample("rt-two"), *back;
	key_serial_t k1, k2;
	int status, bad = 0;
	pid_t pid;

	free(r2->access_token);
	r2->access_token = repeat('x', 6000); /* a different size too */
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r1, 0), 0);
	assert_int_equal(a0_store_find_described(session(), "pam_auth0:main", &k1), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r2, 0), 0);
	assert_int_equal(a0_store_find_described(session(), "pam_auth0:main", &k2), 0);
	/* Replaced in place: the same key, one record. */
	assert_int_equal(k1, k2);
	assert_int_equal(count_described(session(), "pam_auth0:main"), 1);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r2, back);
	a0_record_free(back);

	/* A writer replacing it over and over; every read is one whole record or the other. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 400; i++)
			if (a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, i % 2 ? r1 : r2,
					  0) != 0)
				_exit(1);
		_exit(0);
	}
	for (int i = 0; i < 400; i++) {
		back = NULL;
		if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back) != 0 ||
		    (!records_equal(back, r1) && !records_equal(back, r2)))
			bad++;
		a0_record_free(back);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(bad, 0);
	a0_record_free(r1);
	a0_record_free(r2);
}

static void test_timeout_after_every_save(void **state)
{
	struct a0_record *r = sample("rt");
	key_serial_t key;
	char t[16];

	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 300), 0);
	assert_int_equal(a0_store_find_described(session(), "pam_auth0:main", &key), 0);
	proc_keys_timeout(key, t, sizeof(t));
	/* /proc/keys shows whole minutes of what is left of 300 s */
	assert_true(strcmp(t, "5m") == 0 || strcmp(t, "4m") == 0);
	/* The kernel clears the timeout on update: the store sets it again. */
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 7200), 0);
	proc_keys_timeout(key, t, sizeof(t));
	assert_true(strcmp(t, "1h") == 0 || strcmp(t, "2h") == 0);
	/* 0: no timeout. */
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	proc_keys_timeout(key, t, sizeof(t));
	assert_string_equal(t, "perm");
	a0_record_free(r);
}

static void test_load_bad_payloads(void **state)
{
	static const char v4[] = "pam_auth0-record 4\naccess_token 2\nAT\n";
	struct a0_record *r = sample("rt"), *back = NULL;
	size_t len;
	char *p = serialize(r, &len);

	/* Someone else's bytes under our name: a clear error, not a half record. */
	assert_true(add_key("user", "pam_auth0:main", "garbage", 7, KEY_SPEC_SESSION_KEYRING) > 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_MALFORMED);
	assert_true(add_key("user", "pam_auth0:main", v4, sizeof(v4) - 1,
			    KEY_SPEC_SESSION_KEYRING) > 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_VERSION);
	assert_true(add_key("user", "pam_auth0:main", p, len - 10, KEY_SPEC_SESSION_KEYRING) > 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_MALFORMED);
	assert_null(back);
	/* And a good save repairs it. */
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	a0_record_free(back);
	a0_secret_free(p);
	a0_record_free(r);
}

static void test_clear_removes_only_records(void **state)
{
	struct a0_record *r = sample("rt"), *back = NULL;
	char *api = NULL;
	key_serial_t mine, handoff;

	assert_int_equal(a0_record_api_name("https://api.example.com/", "read:x", &api), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, r, 0), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, api, r, 0), 0);
	mine = add_key("user", "pam_auth0_not_a_record", "x", 1, KEY_SPEC_SESSION_KEYRING);
	handoff = add_key("user", "pam_auth0_handoff:00:0", "x", 1, KEY_SPEC_SESSION_KEYRING);
	assert_true(mine > 0 && handoff > 0);
	assert_int_equal(a0_store_clear(KEY_SPEC_SESSION_KEYRING), 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_NOT_FOUND);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, &back),
			 A0_ERR_NOT_FOUND);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, api, &back), A0_ERR_NOT_FOUND);
	{
		struct a0_keyinfo ki;

		assert_int_equal(a0_key_describe(mine, &ki), 0);
		assert_int_equal(a0_key_describe(handoff, &ki), 0);
	}
	/* Clearing an empty keyring is fine. */
	assert_int_equal(a0_store_clear(KEY_SPEC_SESSION_KEYRING), 0);
	/* All but one: what the helper evicts when the quota refuses a rotated refresh token. */
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, r, 0), 0);
	assert_int_equal(a0_store_save(KEY_SPEC_SESSION_KEYRING, api, r, 0), 0);
	assert_int_equal(a0_store_clear_except(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN), 0);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);
	back = NULL;
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, &back),
			 A0_ERR_NOT_FOUND);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, api, &back), A0_ERR_NOT_FOUND);
	free(api);
	a0_record_free(r);
}

/* ---- privilege, ownership, other users ---- */

static void test_priv_switch_and_back(void **state)
{
	struct a0_user u = as_user(&owner);
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid, before[256], during[256], after[256];
	int nb, nd, na;
	struct a0_priv p;

	nb = getgroups(256, before);
	assert_true(nb >= 0);
	assert_int_equal(a0_priv_drop(&p, &u, A0_PRIV_REAL), 0);
	assert_int_equal(getresuid(&ruid, &euid, &suid), 0);
	assert_int_equal(getresgid(&rgid, &egid, &sgid), 0);
	assert_int_equal(ruid, owner.uid);
	assert_int_equal(euid, 0); /* kept, so that we can switch back */
	assert_int_equal(rgid, owner.gid);
	assert_int_equal(setfsuid((uid_t)-1), owner.uid);
	assert_int_equal(setfsgid((gid_t)-1), owner.gid);
	nd = getgroups(256, during);
	assert_true(nd >= 1);
	for (int i = 0; i < nd; i++)
		assert_true(during[i] == owner.gid); /* the throwaway account has one group */
	assert_int_equal(a0_priv_regain(&p), 0);
	assert_int_equal(getresuid(&ruid, &euid, &suid), 0);
	assert_int_equal(ruid + euid + suid, 0);
	assert_int_equal(getresgid(&rgid, &egid, &sgid), 0);
	assert_int_equal(rgid + egid + sgid, 0);
	assert_int_equal(setfsuid((uid_t)-1), 0);
	assert_int_equal(setfsgid((gid_t)-1), 0);
	na = getgroups(256, after);
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, (size_t)nb * sizeof(gid_t));
	/* Without A0_PRIV_REAL only the fs ids and groups move. */
	assert_int_equal(a0_priv_drop(&p, &u, 0), 0);
	assert_int_equal(getresuid(&ruid, &euid, &suid), 0);
	assert_int_equal(ruid, 0);
	assert_int_equal(setfsuid((uid_t)-1), owner.uid);
	assert_int_equal(a0_priv_regain(&p), 0);
	assert_int_equal(setfsuid((uid_t)-1), 0);
	/* A regain with nothing to undo is harmless. */
	assert_int_equal(a0_priv_regain(&p), 0);
}

static int drop_as_unprivileged(void *ctx)
{
	const struct test_user *target = ctx;
	struct a0_user u = as_user(target), self = as_user(&other);
	struct a0_priv p;

	/* A user may "switch" to itself, to nobody else. */
	if (a0_priv_drop(&p, &self, A0_PRIV_REAL) != 0 || a0_priv_regain(&p) != 0)
		return 1;
	if (a0_priv_drop(&p, &u, 0) != A0_ERR_SYSTEM || errno != EPERM)
		return 2;
	if (getuid() != other.uid || (uid_t)setfsuid((uid_t)-1) != other.uid)
		return 3;
	return 0;
}

static void test_priv_unprivileged(void **state)
{
	assert_int_equal(test_as_user(&other, false, drop_as_unprivileged, &owner), 0);
}

static void test_owned_by_user(void **state)
{
	struct a0_record *r = sample("rt");
	struct a0_keyinfo ki;
	key_serial_t key;

	assert_int_equal(save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(find_as_owner(session(), "pam_auth0:main", &key), 0);
	assert_int_equal(describe_as_owner(key, &ki), 0);
	assert_int_equal(ki.uid, owner.uid);
	assert_int_equal(ki.gid, owner.gid);
	assert_int_equal(ki.perm, A0_RECORD_PERM);
	a0_record_free(r);
}

struct probe {
	key_serial_t key, keyring;
};

/* Another user, in a session of their own: may neither read, nor see, nor find the record. */
static int probe_other_user(void *ctx)
{
	const struct probe *p = ctx;
	struct a0_record *r = NULL;
	char buf[64];

	if (keyctl_read(p->key, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 1;
	if (keyctl_describe(p->key, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 2;
	if (keyctl_search(p->keyring, "user", "pam_auth0:main", 0) >= 0 || errno != EACCES)
		return 3;
	if (keyctl_read(p->keyring, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 4;
	if (a0_store_load(p->keyring, A0_RECORD_MAIN, &r) == 0)
		return 5;
	if (keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", "pam_auth0:main", 0) >= 0 ||
	    keyctl_search(KEY_SPEC_USER_KEYRING, "user", "pam_auth0:main", 0) >= 0)
		return 6;
	if (proc_keys_lists(p->key) || proc_keys_lists(p->keyring))
		return 7;
	if (keyctl_invalidate(p->key) >= 0 || keyctl_setperm(p->key, KEY_OTH_ALL) >= 0)
		return 8;
	return 0;
}

/* Whether keyring (read as a list) links key: possession of a keyring shows its serials. */
static bool lists(key_serial_t keyring, key_serial_t key)
{
	void *buf = NULL;
	long n = keyctl_read_alloc(keyring, &buf);
	bool found = false;

	for (long i = 0; n > 0 && i < n / (long)sizeof(key_serial_t); i++)
		found |= ((key_serial_t *)buf)[i] == key;
	free(buf);
	return found;
}

/*
 * Another user whose process kept the owner's session keyring: `sudo -u other CMD` in the
 * owner's session through stock sudo (no pam_keyinit). It possesses the keyring, and lists the
 * record's serial in it, but may do nothing with the key itself.
 */
static int probe_other_possessing(void *ctx)
{
	const struct probe *p = ctx;
	struct a0_record *r = NULL;
	char buf[64];

	if (keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0) != p->keyring ||
	    !lists(KEY_SPEC_SESSION_KEYRING, p->key))
		return 1; /* not the situation this is about */
	if (keyctl_read(p->key, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 2;
	if (keyctl_describe(p->key, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 3;
	if (keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", "pam_auth0:main", 0) >= 0 ||
	    keyctl_search(KEY_SPEC_SESSION_KEYRING, "big_key", "pam_auth0:main", 0) >= 0)
		return 4;
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r) != A0_ERR_NOT_FOUND)
		return 5;
	if (keyctl_update(p->key, "x", 1) >= 0 || errno != EACCES)
		return 6;
	if (keyctl_set_timeout(p->key, 1) >= 0 || errno != EACCES)
		return 7;
	if (keyctl_setperm(p->key, KEY_POS_ALL) >= 0 || errno != EACCES)
		return 8;
	if (keyctl_invalidate(p->key) >= 0 || errno != EACCES)
		return 9;
	if (keyctl_link(p->key, KEY_SPEC_SESSION_KEYRING) >= 0 || errno != EACCES)
		return 10;
	return 0;
}

/* The same process, and the key with a possessor "search" more: then it reads the key. */
static int possessor_search_reads(void *ctx)
{
	const struct probe *p = ctx;
	char buf[64];

	return keyctl_read(p->key, buf, sizeof(buf)) > 0 ? 0 : 1;
}

/* The owner in another session: the uid, not the session, is the boundary. */
static int probe_owner_elsewhere(void *ctx)
{
	const struct probe *p = ctx;
	struct a0_record *r = NULL;
	struct a0_keyinfo ki;

	if (a0_key_describe(p->key, &ki) != 0 || ki.uid != owner.uid)
		return 1;
	/* By its serial (e.g. from /proc/keys): its own key. */
	if (a0_store_load_key(p->key, &r) != 0)
		return 2;
	a0_record_free(r);
	/* Not through its own keyrings: it is not linked there. */
	if (keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", "pam_auth0:main", 0) >= 0 ||
	    keyctl_search(KEY_SPEC_USER_KEYRING, "user", "pam_auth0:main", 0) >= 0)
		return 3;
	if (a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &r) != A0_ERR_NOT_FOUND)
		return 4;
	return 0;
}

static void test_other_users_cannot_read_or_find(void **state)
{
	struct a0_record *r = sample("rt"), *back = NULL;
	struct probe p;
	struct a0_priv priv;
	char buf[64];

	/* The owner's session keyring, as pam_keyinit makes it; root possesses it, as sshd. */
	join_session_as_owner(NULL);
	p.keyring = session();
	assert_int_equal(save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0), 0);
	assert_int_equal(find_as_owner(p.keyring, "pam_auth0:main", &p.key), 0);
	assert_int_equal(test_as_user(&other, true, probe_other_user, &p), 0);
	assert_int_equal(test_as_user(&other, false, probe_other_possessing, &p), 0);
	assert_int_equal(test_as_user(&owner, true, probe_owner_elsewhere, &p), 0);
	/* Root's fsuid, possessing too, is not the owner either: the module must switch. */
	assert_true(lists(KEY_SPEC_SESSION_KEYRING, p.key));
	assert_int_equal(keyctl_read(p.key, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(a0_store_load(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back),
			 A0_ERR_NOT_FOUND);
	/* ...while the owner in the session reads it. */
	assert_int_equal(load_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);

	/* Why the possessor does not even get "search": the kernel lets a possessor that may
	 * search a key read it (keyctl(2), KEYCTL_READ), whatever its uid. */
	owner_fs(&priv);
	assert_int_equal(keyctl_setperm(p.key, A0_RECORD_PERM | KEY_POS_VIEW | KEY_POS_SEARCH), 0);
	root_fs(&priv);
	assert_int_equal(test_as_user(&other, false, possessor_search_reads, &p), 0);
	owner_fs(&priv);
	assert_int_equal(keyctl_setperm(p.key, A0_RECORD_PERM), 0);
	root_fs(&priv);
	a0_record_free(r);
}

/* Another user in the owner's session (stock sudo) puts a key under the record's name. */
static int plant_key(void *ctx)
{
	const key_perm_t *perm = ctx;
	key_serial_t key =
		add_key("user", "pam_auth0:main", "planted", 7, KEY_SPEC_SESSION_KEYRING);

	if (key < 0)
		return 1;
	/* Also in the planter's user keyring: the save takes the key out of the session keyring,
	 * and a key without a link is gone (garbage-collected) before the planter reads it. */
	if (keyctl_link(key, KEY_SPEC_USER_KEYRING) < 0)
		return 3;
	return keyctl_setperm(key, *perm) < 0 ? 2 : 0;
}

struct planted {
	key_serial_t key;
	const char *needles[2];
	const char *exact; /* NULL: any payload without the needles */
};

/* As the planter, the key's owner (A0_RECORD_PERM, too, lets it read): 0 when its payload holds
 * none of the tokens (and is exact, when given), 1 when it holds one, 2 when unreadable. */
static int planter_reads(void *ctx)
{
	const struct planted *p = ctx;
	void *buf = NULL;
	long n;

	n = keyctl_read_alloc(p->key, &buf);
	if (n < 0)
		return 2;
	for (size_t i = 0; i < 2; i++)
		if (memmem(buf, (size_t)n, p->needles[i], strlen(p->needles[i]))) {
			free(buf);
			return 1;
		}
	n = p->exact && strcmp(buf, p->exact) != 0 ? 3 : 0;
	free(buf);
	return (int)n;
}

/*
 * A key that another uid planted under the record's name in the owner's session keyring, which
 * both may write, writable by the owner's processes (which possess the keyring) or not: a save
 * never writes into it, takes it out of the keyring, and the record is a new key of the
 * owner's. Before the staging keyring (store.c), the first kind got the owner's tokens.
 */
static void test_save_never_writes_a_planted_key(void **state)
{
	key_perm_t perms[] = { KEY_POS_ALL | KEY_USR_ALL, KEY_USR_ALL };

	for (size_t i = 0; i < A0_ARRAY_SIZE(perms); i++) {
		struct a0_record *r = sample("planted-test-refresh-token"), *back = NULL;
		key_serial_t planted, key;
		struct a0_keyinfo ki;
		int rc;

		join_session_as_owner(NULL);
		assert_int_equal(test_as_user(&other, false, plant_key, &perms[i]), 0);
		/* The new session keyring's only link (root, possessing it, reads the list). */
		{
			void *list = NULL;

			assert_int_equal(keyctl_read_alloc(KEY_SPEC_SESSION_KEYRING, &list),
					 sizeof(key_serial_t));
			planted = *(key_serial_t *)list;
			free(list);
		}
		rc = save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r, 0);
		/* The planted key is as its owner left it, and out of the keyring. */
		{
			struct planted pl = { planted,
					      { r->access_token, "planted-test-refresh-token" },
					      "planted" };

			assert_int_equal(test_as_user(&other, false, planter_reads, &pl), 0);
		}
		assert_int_equal(rc, 0);
		assert_false(lists(KEY_SPEC_SESSION_KEYRING, planted));
		/* The record is the owner's own key, owner-only, and loads. */
		assert_int_equal(find_as_owner(session(), "pam_auth0:main", &key), 0);
		assert_int_not_equal(key, planted);
		assert_int_equal(describe_as_owner(key, &ki), 0);
		assert_int_equal(ki.uid, owner.uid);
		assert_int_equal(ki.perm, A0_RECORD_PERM);
		assert_int_equal(load_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
		assert_records_equal(r, back);
		a0_record_free(back);
		a0_record_free(r);
	}
}

/* ---- the hand-off ---- */

struct handoff_probe {
	char prefix[128];
	key_serial_t key;
	unsigned uid;
	key_perm_t perm;
	char timeout[16];
	int found;
};

static int look_for_handoff(void *ctx)
{
	struct handoff_probe *h = ctx;
	struct a0_keyinfo ki;

	h->found = a0_store_find_prefixed(KEY_SPEC_USER_KEYRING, h->prefix, &h->key, &ki) == 0;
	if (!h->found)
		return 10;
	if (ki.uid != owner.uid)
		return 11;
	if (ki.perm != A0_RECORD_PERM)
		return 12;
	proc_keys_timeout(h->key, h->timeout, sizeof(h->timeout));
	if (strcmp(h->timeout, "1m") != 0 && strcmp(h->timeout, "2m") != 0)
		return 13;
	return 0;
}

static int handoff_absent(void *ctx)
{
	struct handoff_probe *h = ctx;

	return a0_store_find_prefixed(KEY_SPEC_USER_KEYRING, h->prefix, NULL, NULL) ==
			       A0_ERR_NOT_FOUND
		       ? 0
		       : 20;
}

static int other_cannot_see_handoff(void *ctx)
{
	struct handoff_probe *h = ctx;
	char buf[64];

	if (keyctl_read(h->key, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 30;
	if (keyctl_describe(h->key, buf, sizeof(buf)) >= 0 || errno != EACCES)
		return 31;
	return handoff_absent(ctx) ? 32 : 0;
}

/* No link to a user keyring stays in our process keyring after an operation. */
static void assert_no_user_keyring_linked(void)
{
	void *buf = NULL;
	long n = keyctl_read_alloc(KEY_SPEC_PROCESS_KEYRING, &buf);

	for (long i = 0; n > 0 && i < n / (long)sizeof(key_serial_t); i++) {
		char *d = NULL;

		if (keyctl_describe_alloc(((key_serial_t *)buf)[i], &d) > 0)
			assert_null(strstr(d, ";_uid."));
		free(d);
	}
	free(buf);
}

static void test_handoff_across_processes(void **state)
{
	struct a0_user u = as_user(&owner);
	struct a0_record *r = sample("rt-handoff"), *back = NULL;
	/* Shared with the probing children, which fill it in. */
	struct handoff_probe *hp =
		mmap(NULL, sizeof(*hp), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char handle[A0_HANDOFF_HANDLE_LEN + 1] = "";
	key_serial_t auth = 0;
	int fds[2], status;
	pid_t pid;

	/* Put in one process (sshd's auth child)... */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char hd[A0_HANDOFF_HANDLE_LEN + 1];

		close(fds[0]);
		if (a0_handoff_put(&u, r, 4242, hd) != 0 ||
		    a0_write_full(fds[1], hd, sizeof(hd)) != 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(a0_read_full(fds[0], handle, sizeof(handle)), (ssize_t)sizeof(handle));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(a0_handoff_valid(handle));

	/* ...a key of the user's own, in the user's user keyring, short-lived... */
	assert_true(hp != MAP_FAILED);
	memset(hp, 0, sizeof(*hp));
	snprintf(hp->prefix, sizeof(hp->prefix), "pam_auth0_handoff:%s:4242", handle);
	assert_int_equal(test_as_user(&owner, true, look_for_handoff, hp), 0);
	assert_true(hp->key > 0);
	snprintf(hp->prefix, sizeof(hp->prefix), "pam_auth0_handoff:%s:", handle);
	/* ...that no other user can read or find... */
	assert_int_equal(test_as_user(&other, true, other_cannot_see_handoff, hp), 0);

	/* ...taken in another (this) one: read, then gone. */
	assert_int_equal(a0_handoff_take(&u, handle, &back, &auth), 0);
	assert_records_equal(r, back);
	assert_int_equal(auth, 4242);
	a0_record_free(back);
	assert_int_equal(test_as_user(&owner, true, handoff_absent, hp), 0);
	assert_int_equal(a0_handoff_take(&u, handle, &back, &auth), A0_ERR_NOT_FOUND);
	assert_no_user_keyring_linked();

	/* Dropped unread. */
	assert_int_equal(a0_handoff_put(&u, r, 0, handle), 0);
	assert_int_equal(a0_handoff_drop(&u, handle), 0);
	assert_int_equal(a0_handoff_take(&u, handle, &back, &auth), A0_ERR_NOT_FOUND);
	assert_int_equal(a0_handoff_drop(&u, handle), 0);
	assert_no_user_keyring_linked();

	/* Handles are checked before any keyring is touched. */
	assert_false(a0_handoff_valid("0123"));
	assert_false(a0_handoff_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(a0_handoff_valid("0123456789abcdef0123456789abcdef0"));
	assert_int_equal(a0_handoff_take(&u, "x:*", &back, NULL), A0_ERR_INVALID);
	assert_int_equal(a0_handoff_drop(&u, ""), A0_ERR_INVALID);
	munmap(hp, sizeof(*hp));
	a0_record_free(r);
}

/* ---- the session keyring a login stores in ---- */

static bool pinned(key_serial_t key)
{
	void *buf = NULL;
	long n = keyctl_read_alloc(KEY_SPEC_PROCESS_KEYRING, &buf);
	bool found = false;

	for (long i = 0; n > 0 && i < n / (long)sizeof(key_serial_t); i++)
		found |= ((key_serial_t *)buf)[i] == key;
	free(buf);
	return found;
}

static void test_login_session_keyring(void **state)
{
	struct a0_user u = as_user(&owner);
	struct a0_record *r = sample("rt-login"), *r2 = sample("rt-rotated"), *back = NULL;
	struct a0_stored st = { 0 };
	struct a0_keyinfo ki;
	key_serial_t ses;
	char why[512];

	/* root's session keyring: not the user's. */
	assert_int_equal(a0_login_session_keyring(&u, 0, &ses, why, sizeof(why)), A0_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "belongs to uid 0"));
	assert_int_equal(a0_login_store(&u, A0_KEYRING_SESSION, 0, r, 600, &st, why, sizeof(why)),
			 A0_ERR_NOT_FOUND);
	assert_int_equal(count_described(session(), "pam_auth0:main"), 0);

	/* A default session keyring, by its name. */
	{
		char name[64];

		snprintf(name, sizeof(name), "_uid_ses.%u", (unsigned)owner.uid);
		join_session_as_owner(name);
		assert_int_equal(a0_login_session_keyring(&u, 0, &ses, why, sizeof(why)),
				 A0_ERR_NOT_FOUND);
		assert_non_null(strstr(why, "per-user default session keyring"));
	}

	/* A session keyring of the user's, as pam_keyinit makes one. */
	join_session_as_owner(NULL);
	assert_int_equal(a0_login_session_keyring(&u, 0, &ses, why, sizeof(why)), 0);
	assert_int_equal(ses, session());
	/* ...but not when the authentication ran in this very keyring. */
	assert_int_equal(a0_login_session_keyring(&u, ses, &ses, why, sizeof(why)),
			 A0_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "authentication ran in"));

	assert_int_equal(a0_login_store(&u, A0_KEYRING_SESSION, 12345, r, 600, &st, why,
					sizeof(why)),
			 0);
	assert_int_equal(st.keyring, session());
	assert_int_equal(describe_as_owner(st.key, &ki), 0);
	assert_int_equal(ki.uid, owner.uid);
	assert_int_equal(ki.perm, A0_RECORD_PERM);
	assert_true(pinned(st.key));
	/* Pinned, so possessed, yet root's own fsuid reads nothing: a0_login_current switches. */
	{
		char buf[64];

		assert_int_equal(keyctl_read(st.key, buf, sizeof(buf)), -1);
		assert_int_equal(errno, EACCES);
	}
	assert_int_equal(a0_login_current(&u, &st, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);
	/* So does a0_login_find, for a logout in a process that did not store. */
	assert_int_equal(a0_login_find(&u, A0_KEYRING_SESSION, 0, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);

	/* The helper rotates the refresh token; logout reads the record as it is now, even
	 * after pam_keyinit has revoked the session keyring. */
	assert_int_equal(save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r2, 600), 0);
	assert_int_equal(keyctl_revoke(st.keyring), 0);
	assert_int_equal(a0_login_current(&u, &st, &back), 0);
	assert_string_equal(back->refresh_token, "rt-rotated");
	a0_record_free(back);
	assert_int_equal(a0_login_forget(&u, A0_KEYRING_SESSION, 0, &st), 0);
	/* Gone: ENOKEY, or EACCES while the kernel's collector is unlinking it. */
	back = NULL;
	assert_int_not_equal(a0_login_current(&u, &st, &back), 0);
	assert_null(back);
	assert_int_not_equal(describe_as_owner(st.key, &ki), 0);
	a0_record_free(r);
	a0_record_free(r2);
}

static int user_keyring_has_main(void *ctx)
{
	const struct a0_record *want = ctx;
	struct a0_record *r = NULL;
	key_serial_t key;
	char t[16];
	int rc;

	/* The owner reads it without possessing it: no link of the user keyring into the
	 * session keyring is needed (pam_keyinit makes one; this fresh session has none). */
	rc = a0_store_load(KEY_SPEC_USER_KEYRING, A0_RECORD_MAIN, &r);
	if (!want)
		return rc == A0_ERR_NOT_FOUND ? 0 : 40;
	if (rc != 0 || !records_equal(r, want))
		return 41;
	a0_record_free(r);
	if (a0_store_find_described(keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 0),
				    "pam_auth0:main", &key) != 0)
		return 42;
	proc_keys_timeout(key, t, sizeof(t));
	return strcmp(t, "5m") == 0 || strcmp(t, "4m") == 0 ? 0 : 43;
}

static void test_login_user_keyring(void **state)
{
	struct a0_user u = as_user(&owner);
	struct a0_record *r = sample("rt-user"), *back = NULL;
	struct a0_stored st = { 0 };
	char why[256];

	/* Keys there outlive the session: no timeout, no store. */
	assert_int_equal(a0_login_store(&u, A0_KEYRING_USER, 0, r, 0, &st, why, sizeof(why)),
			 A0_ERR_INVALID);
	assert_int_equal(a0_login_store(&u, A0_KEYRING_USER, 0, r, 300, &st, why, sizeof(why)), 0);
	assert_int_equal(test_as_user(&owner, true, user_keyring_has_main, r), 0);
	assert_int_equal(a0_login_find(&u, A0_KEYRING_USER, 0, &back), 0);
	assert_records_equal(r, back);
	a0_record_free(back);
	assert_no_user_keyring_linked();
	assert_int_equal(a0_login_forget(&u, A0_KEYRING_USER, 0, &st), 0);
	assert_int_equal(test_as_user(&owner, true, user_keyring_has_main, NULL), 0);
	a0_record_free(r);
}

/* ---- quota ---- */

/* The uid's keys and bytes as its quota counts them (/proc/key-users); -1 when not listed. */
static long key_user_usage(uid_t uid, long *ret_keys)
{
	char line[256];
	long bytes = -1;
	FILE *f = fopen("/proc/key-users", "r");

	*ret_keys = -1;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned u, usage, nkeys, nikeys, qnkeys, maxkeys;
		long qnbytes, maxbytes;

		if (sscanf(line, " %u: %u %u/%u %u/%u %ld/%ld", &u, &usage, &nkeys, &nikeys,
			   &qnkeys, &maxkeys, &qnbytes, &maxbytes) == 8 &&
		    u == uid) {
			bytes = qnbytes;
			*ret_keys = qnkeys;
		}
	}
	if (f)
		fclose(f);
	return bytes;
}

/* Wait (at most 5 s) for the kernel's collector to free the keys earlier tests removed. */
static void settle_quota(uid_t uid, long keys_alive)
{
	long keys;

	for (int i = 0; i < 100; i++) {
		key_user_usage(uid, &keys);
		if (keys <= keys_alive)
			return;
		usleep(50 * 1000);
	}
}

/* Add keys as the user until not even one byte more fits; the last errno. */
static int fill_quota(key_serial_t filler)
{
	static const size_t sizes[] = { 2048, 512, 128, 32, 8, 2, 1 };
	static unsigned n;
	struct a0_user u = as_user(&owner);
	struct a0_priv p;
	char buf[2048];
	int e = 0;

	memset(buf, 'q', sizeof(buf));
	assert_int_equal(a0_priv_drop(&p, &u, 0), 0);
	for (size_t i = 0; i < A0_ARRAY_SIZE(sizes); i++) {
		for (;;) {
			char desc[32];

			snprintf(desc, sizeof(desc), "f%u", n++);
			if (add_key("user", desc, buf, sizes[i], filler) < 0) {
				e = errno;
				break;
			}
		}
	}
	assert_int_equal(a0_priv_regain(&p), 0);
	return e;
}

static void test_quota_full(void **state)
{
	struct a0_user u = as_user(&owner);
	struct a0_record *r1 = sample("rt-small"), *r2 = sample("rt-big"), *back = NULL;
	char hd[A0_HANDOFF_HANDLE_LEN + 1];
	struct a0_stored st;
	struct a0_keyinfo ki;
	struct a0_priv p;
	key_serial_t filler, key;
	char why[256];

	/* A session keyring of the user's, as after pam_keyinit: what the login stores in. Then
	 * nothing else of the user's but its two user keyrings, so that no key of an earlier test
	 * gives quota back while this one counts on it being full. */
	join_session_as_owner(NULL);
	settle_quota(owner.uid, 3);
	free(r2->access_token);
	r2->access_token = repeat('b', 4000);
	assert_int_equal(save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r1, 0), 0);
	assert_int_equal(find_as_owner(session(), "pam_auth0:main", &key), 0);
	assert_int_equal(describe_as_owner(key, &ki), 0);
	assert_int_equal(a0_priv_drop(&p, &u, 0), 0);
	filler = add_key("keyring", "filler", NULL, 0, KEY_SPEC_SESSION_KEYRING);
	assert_int_equal(a0_priv_regain(&p), 0);
	assert_true(filler > 0);

	/* Full (topped up before each step: the kernel frees keys of earlier tests lazily). A
	 * bigger record does not fit: STORE, and the old record is untouched. */
	assert_int_equal(fill_quota(filler), EDQUOT);
	assert_int_equal(save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, r2, 0),
			 A0_ERR_STORE);
	assert_int_equal(load_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r1, back);
	a0_record_free(back);
	/* Nor does a new record, a login's store, or a hand-off. */
	assert_int_equal(fill_quota(filler), EDQUOT);
	assert_int_equal(save_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_SSO, r1, 0),
			 A0_ERR_STORE);
	if (strcmp(ki.type, "user") == 0) {
		/* (big_key counts large payloads outside the byte quota: only new keys fail) */
		assert_int_equal(fill_quota(filler), EDQUOT);
		assert_int_equal(a0_login_store(&u, A0_KEYRING_SESSION, 0, r2, 60, &st, why,
						sizeof(why)),
				 A0_ERR_STORE);
	}
	assert_int_equal(fill_quota(filler), EDQUOT);
	assert_int_equal(a0_handoff_put(&u, r1, 0, hd), A0_ERR_STORE);
	assert_no_user_keyring_linked();
	assert_int_equal(load_as_owner(KEY_SPEC_SESSION_KEYRING, A0_RECORD_MAIN, &back), 0);
	assert_records_equal(r1, back);
	a0_record_free(back);

	/* Give the quota back; the kernel frees invalidated keys soon after. */
	assert_int_equal(keyctl_invalidate(filler), 0);
	keyctl_clear(KEY_SPEC_SESSION_KEYRING);
	settle_quota(owner.uid, 3);
	a0_record_free(r1);
	a0_record_free(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_save_load_remove, fresh_session),
		cmocka_unit_test_setup(test_load_ignores_linked_keyrings, fresh_session),
		cmocka_unit_test_setup(test_atomic_replace, fresh_session),
		cmocka_unit_test_setup(test_timeout_after_every_save, fresh_session),
		cmocka_unit_test_setup(test_load_bad_payloads, fresh_session),
		cmocka_unit_test_setup(test_clear_removes_only_records, fresh_session),
		cmocka_unit_test_setup(test_priv_switch_and_back, fresh_session),
		cmocka_unit_test_setup(test_priv_unprivileged, fresh_session),
		cmocka_unit_test_setup(test_owned_by_user, fresh_session),
		cmocka_unit_test_setup(test_other_users_cannot_read_or_find, fresh_session),
		cmocka_unit_test_setup(test_save_never_writes_a_planted_key, fresh_session),
		cmocka_unit_test_setup(test_handoff_across_processes, fresh_session),
		cmocka_unit_test_setup(test_login_session_keyring, fresh_session),
		cmocka_unit_test_setup(test_login_user_keyring, fresh_session),
		cmocka_unit_test_setup(test_quota_full, fresh_session), /* last: fills a quota */
	};
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "test_store: needs root (real uids for ownership and quota)\n");
		return 77;
	}
	test_user_sweep();
	if (!test_user_create("a0ks", 'o', &owner) || !test_user_create("a0ks", 'x', &other)) {
		test_user_remove(&owner);
		return 99;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* Back to a session keyring of our own before the accounts go. */
	keyctl_join_session_keyring(NULL);
	test_user_remove(&owner);
	test_user_remove(&other);
	return failed;
}
