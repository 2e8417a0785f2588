/* SPDX-License-Identifier: MIT */
/*
 * The credential store (store.h): records (record.h) as keys in a kernel keyring.
 *
 * Keys: type big_key where the kernel has it (its payload may be large and is kept out of
 * unswappable kernel memory), else user (at most 32767 bytes); the type is found by trying
 * (ENODEV: not in this kernel), as no state is kept between calls. A save writes the payload
 * with one add_key(2) in a staging keyring of the process's own (a0_store_save_described says
 * why): for the caller's existing record key, linked there, the kernel updates its payload in
 * place (readers see the old or the new payload, never a mix) and, when the quota refuses the
 * new size, leaves the old payload untouched. An update clears the key's timeout, so it is set
 * again after every save.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>

#include "keyring/keys.h"
#include "keyring/store.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"

/* Most keys looked at in one keyring listing (200 is a user's default quota). */
#define MAX_LINKS 65536

/* Key types in order of preference. */
static const char *const types[] = { "big_key", "user" };
#define N_TYPES A0_ARRAY_SIZE(types)

static int description_of(const char *name, char *buf, size_t size)
{
	size_t n;

	if (!name)
		return A0_ERR_INVALID;
	n = strlen(name);
	if (n == 0 || n > A0_RECORD_NAME_MAX || !a0_text_ok(name, n, A0_TEXT_ASCII))
		return A0_ERR_INVALID;
	if ((size_t)snprintf(buf, size, A0_RECORD_PREFIX "%s", name) >= size)
		return A0_ERR_INVALID;
	return 0;
}

/* ---- keys ---- */

/* The store's answer for a failed keyctl on a key or keyring that should be there. */
static int from_errno(int e)
{
	switch (e) {
	case ENOKEY:
	case EKEYEXPIRED:
	case EKEYREVOKED:
		return A0_ERR_NOT_FOUND;
	case ENOMEM:
		return A0_ERR_NOMEM;
	default:
		return A0_ERR_SYSTEM;
	}
}

int a0_key_describe(key_serial_t key, struct a0_keyinfo *ret)
{
	char buf[sizeof(ret->description) + 128];
	char *fields_[4], *p = buf;
	unsigned long uid, gid, perm;
	long n;

	n = keyctl_describe(key, buf, sizeof(buf));
	if (n < 0)
		return from_errno(errno);
	if ((size_t)n > sizeof(buf))
		return A0_ERR_SYSTEM; /* not one of ours: descriptions are short */
	/* "type;uid;gid;perm;description": the description may hold ';'. */
	for (int i = 0; i < 4; i++) {
		char *semi = strchr(p, ';');

		if (!semi)
			return A0_ERR_SYSTEM;
		*semi = '\0';
		fields_[i] = p;
		p = semi + 1;
	}
	if (strlen(fields_[0]) >= sizeof(ret->type))
		return A0_ERR_SYSTEM;
	errno = 0;
	uid = strtoul(fields_[1], NULL, 10);
	gid = strtoul(fields_[2], NULL, 10);
	perm = strtoul(fields_[3], NULL, 16);
	if (errno)
		return A0_ERR_SYSTEM;
	snprintf(ret->type, sizeof(ret->type), "%s", fields_[0]);
	ret->uid = (uid_t)uid;
	ret->gid = (gid_t)gid;
	ret->perm = (key_perm_t)perm;
	snprintf(ret->description, sizeof(ret->description), "%s", p);
	return 0;
}

/*
 * What keyctl_read gives for a key (a payload) or a keyring (its serials): 0 and a buffer with a
 * NUL after the len bytes, wiped when it is freed (a0_wipe_free with len + 1), or
 * A0_ERR_TOO_LARGE over max bytes. keyctl_read returns the full size whatever the buffer, so a
 * first guess that is big enough makes this one system call.
 */
static int read_key(key_serial_t key, size_t guess, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = guess;

	for (int attempt = 0; attempt < 3; attempt++) {
		char *buf = malloc(cap + 1);
		long got;

		if (!buf)
			return A0_ERR_NOMEM;
		got = keyctl_read(key, buf, cap);
		if (got < 0) {
			int e = errno;

			a0_wipe_free(buf, cap + 1);
			return from_errno(e);
		}
		if ((size_t)got <= cap) {
			buf[got] = '\0';
			*ret = buf;
			*ret_len = (size_t)got;
			return 0;
		}
		a0_wipe_free(buf, cap + 1); /* too small, or changed in between: again */
		if ((size_t)got > max)
			return A0_ERR_TOO_LARGE;
		cap = (size_t)got;
	}
	return A0_ERR_SYSTEM;
}

/* Record types are preferred in the order of types[]; N_TYPES: not a record type. */
static size_t type_rank(const char *type)
{
	size_t i;

	for (i = 0; i < N_TYPES; i++)
		if (strcmp(type, types[i]) == 0)
			break;
	return i;
}

/*
 * Keys in keyring's own links with a record type and this description (exact) or, when prefix
 * is true, a description starting with it. Calls fn on each; stops at fn's first error.
 */
static int each_key(key_serial_t keyring, const char *description, bool prefix,
		    int (*fn)(key_serial_t key, const struct a0_keyinfo *ki, void *ctx), void *ctx)
{
	struct a0_keyinfo ki;
	key_serial_t *list;
	char *buf = NULL;
	size_t n, len = 0;
	int r;

	r = read_key(keyring, 64 * sizeof(*list), MAX_LINKS * sizeof(*list), &buf, &len);
	if (r < 0)
		return r == A0_ERR_TOO_LARGE ? A0_ERR_SYSTEM : r;
	list = (key_serial_t *)(void *)buf; /* malloc's alignment */
	n = len / sizeof(*list);
	for (size_t i = 0; i < n && r == 0; i++) {
		/* Keys this caller may not view are not ours to touch. */
		if (a0_key_describe(list[i], &ki) < 0 || type_rank(ki.type) == N_TYPES)
			continue;
		if (prefix ? strncmp(ki.description, description, strlen(description)) != 0
			   : strcmp(ki.description, description) != 0)
			continue;
		r = fn(list[i], &ki, ctx);
	}
	free(buf);
	return r;
}

struct find_ctx {
	const uid_t *owner; /* NULL: any owner */
	bool all;           /* look at every key (to count them), not just until big_key */
	key_serial_t found; /* 0: none */
	size_t rank;        /* of found: its type is types[rank] */
	size_t matches;     /* keys under the description, of any owner */
};

/* One pass over the keyring: the match of the most preferred type (a kernel that gained
 * big_key may see a user key of an older save next to a new big_key one). */
static int find_one(key_serial_t key, const struct a0_keyinfo *ki, void *ctx)
{
	struct find_ctx *f = ctx;
	size_t rank = type_rank(ki->type);

	f->matches++;
	if (f->owner && ki->uid != *f->owner)
		return 0;
	if (!f->found || rank < f->rank) {
		f->found = key;
		f->rank = rank;
	}
	return rank == 0 && !f->all ? 1 : 0; /* the first type cannot be bettered: stop */
}

/* 0 with f->found, A0_ERR_NOT_FOUND, or the scan's error. */
static int find_record(key_serial_t keyring, const char *description, struct find_ctx *f)
{
	int r = each_key(keyring, description, false, find_one, f);

	if (r < 0)
		return r;
	return f->found ? 0 : A0_ERR_NOT_FOUND;
}

int a0_store_find_described(key_serial_t keyring, const char *description, key_serial_t *ret)
{
	struct find_ctx f = { .owner = NULL };
	int r = find_record(keyring, description, &f);

	if (r == 0)
		*ret = f.found;
	return r;
}

struct prefix_ctx {
	key_serial_t found;
	struct a0_keyinfo *info;
};

static int prefix_one(key_serial_t key, const struct a0_keyinfo *ki, void *ctx)
{
	struct prefix_ctx *f = ctx;

	f->found = key;
	if (f->info)
		*f->info = *ki;
	return 1; /* stop */
}

int a0_store_find_prefixed(key_serial_t keyring, const char *prefix, key_serial_t *ret_key,
			   struct a0_keyinfo *ret_info)
{
	struct prefix_ctx f = { .found = 0, .info = ret_info };
	int r;

	r = each_key(keyring, prefix, true, prefix_one, &f);
	if (r < 0)
		return r;
	if (!f.found)
		return A0_ERR_NOT_FOUND;
	if (ret_key)
		*ret_key = f.found;
	return 0;
}

int a0_key_invalidate(key_serial_t key)
{
	if (keyctl_invalidate(key) < 0 && errno != ENOKEY && errno != EKEYREVOKED &&
	    errno != EKEYEXPIRED)
		return from_errno(errno);
	return 0;
}

static int invalidate_one(key_serial_t key, const struct a0_keyinfo *ki, void *ctx)
{
	return a0_key_invalidate(key);
}

int a0_store_load_key(key_serial_t key, struct a0_record **ret)
{
	char *payload = NULL;
	size_t len = 0;
	int r;

	/* Records are a few KiB. */
	r = read_key(key, 8192, A0_RECORD_MAX, &payload, &len);
	if (r < 0)
		return r == A0_ERR_TOO_LARGE ? A0_ERR_MALFORMED : r;
	r = a0_record_parse(payload, len, ret);
	a0_wipe_free(payload, len + 1);
	return r;
}

/* The quota (or the size limit of a user key) refused the payload. */
static int store_refused(int e, size_t len)
{
	return e == EDQUOT || e == ENOMEM || e == EFBIG || (e == EINVAL && len > 32767);
}

/* The fsuid, which owns the keys this process creates (an invalid id changes nothing and
 * returns the current one). */
static uid_t current_fsuid(void)
{
	return (uid_t)setfsuid((uid_t)-1);
}

struct others {
	key_serial_t keep, keyring;
	uid_t me;
};

/* Every key under the record's description but the one kept: the caller's own are
 * invalidated, another uid's unlinked from the keyring. */
static int drop_other(key_serial_t key, const struct a0_keyinfo *ki, void *ctx)
{
	const struct others *o = ctx;

	if (key == o->keep)
		return 0;
	/* Best effort: the save itself has succeeded, and loads pick the caller's own key. */
	if (ki->uid == o->me)
		(void)a0_key_invalidate(key);
	else
		(void)keyctl_unlink(key, o->keyring);
	return 0;
}

/* Link key into keyring, "link" being granted to its owner (the caller) for that moment only. */
static int link_owned(key_serial_t key, key_serial_t keyring)
{
	int r = 0;

	if (keyctl_setperm(key, A0_RECORD_PERM | KEY_USR_LINK) < 0)
		return from_errno(errno);
	if (keyctl_link(key, keyring) < 0)
		r = from_errno(errno);
	if (keyctl_setperm(key, A0_RECORD_PERM) < 0 && r == 0)
		r = from_errno(errno);
	return r;
}

/*
 * A save never hands the payload to add_key(2) on the record's keyring itself. add_key updates a
 * key of the same type and description linked there if the caller may write it, and that key
 * stays its owner's: another uid that may write the keyring (a process of another user keeps
 * the session keyring under stock sudo, which has no pam_keyinit) could plant a key writable by
 * the owner's processes and be handed the owner's tokens. A new key would also be readable by
 * every possessor of the keyring until its permissions are set.
 *
 * So the payload goes to add_key in a new, empty staging keyring that only this process
 * possesses (linked in its process keyring), where add_key can only update a key the caller put
 * there: its own record key, linked there for the moment (an update in place, as before: same
 * serial, readers see the old or the new payload, the old stays when the quota refuses the
 * new), or else a new key, which gets owner-only permissions before it is linked into the
 * record's keyring; that link displaces whatever key was there under the description.
 */
int a0_store_save_described(key_serial_t keyring, const char *description,
			    const struct a0_record *r, unsigned timeout_s, key_serial_t *ret_key)
{
	uid_t me = current_fsuid();
	struct find_ctx f = { .owner = &me, .all = true };
	key_serial_t own, staging = -1, key = -1;
	char *payload = NULL;
	size_t len = 0;
	int rc, e;

	if ((rc = a0_record_serialize(r, &payload, &len)) < 0)
		return rc;
	/* Every call on a record key needs a permission that A0_RECORD_PERM gives its owner
	 * only: the caller has the user's fsuid (the helper is the user; the module switches,
	 * login.c). */
	if ((rc = find_record(keyring, description, &f)) < 0 && rc != A0_ERR_NOT_FOUND)
		goto out;
	rc = 0;
	own = f.found ? f.found : -1;
	staging = add_key("keyring", "pam_auth0:staging", NULL, 0, KEY_SPEC_PROCESS_KEYRING);
	if (staging < 0) {
		rc = store_refused(errno, 0) ? A0_ERR_STORE : from_errno(errno);
		goto out;
	}
	if (own >= 0 && (rc = link_owned(own, staging)) < 0)
		goto out;
	for (size_t i = 0; i < N_TYPES; i++) {
		if (own >= 0 && i != f.rank)
			continue;
		if ((key = add_key(types[i], description, payload, len, staging)) >= 0)
			break;
		e = errno;
		if (own >= 0 || e != ENODEV) { /* ENODEV: no such key type here; try the next */
			rc = store_refused(e, len) ? A0_ERR_STORE : from_errno(e);
			goto out;
		}
	}
	if (key < 0) {
		rc = A0_ERR_SYSTEM;
		goto out;
	}
	/* New: owner-only before any other process possesses it through the keyring. */
	if (key != own && (rc = link_owned(key, keyring)) < 0) {
		(void)a0_key_invalidate(key);
		goto out;
	}
	/* An update clears the timeout: set again after every save. */
	if (timeout_s > 0 && keyctl_set_timeout(key, timeout_s) < 0) {
		rc = from_errno(errno);
		goto out;
	}
	/* Only when the scan above saw more keys under the description than the one updated. */
	if (f.matches > (own >= 0 ? 1u : 0u))
		(void)each_key(keyring, description, false, drop_other,
			       &(struct others){ .keep = key, .keyring = keyring, .me = me });
	if (ret_key)
		*ret_key = key;
out:
	if (staging >= 0)
		(void)a0_key_invalidate(staging);
	a0_wipe_free(payload, len + 1);
	return rc;
}

int a0_store_pin(key_serial_t key, key_serial_t pin)
{
	return link_owned(key, pin);
}

/* ---- the contract ---- */

static int load_record(key_serial_t keyring, const char *name, const uid_t *owner,
		       struct a0_record **ret)
{
	char desc[A0_RECORD_NAME_MAX + sizeof(A0_RECORD_PREFIX)];
	struct find_ctx f = { .owner = owner };
	int r;

	r = description_of(name, desc, sizeof(desc));
	if (r < 0)
		return r;
	/* Only the keyring's own links, as save, remove and clear: a record is read from the
	 * keyring it is saved to, so a helper on another keyring than the module's cannot
	 * refresh a copy found through a link and fork the refresh-token rotation family. */
	r = find_record(keyring, desc, &f);
	if (r < 0)
		return r;
	return a0_store_load_key(f.found, ret);
}

int a0_store_load(key_serial_t keyring, const char *name, struct a0_record **ret)
{
	return load_record(keyring, name, NULL, ret);
}

int a0_store_load_owned(key_serial_t keyring, const char *name, uid_t owner, struct a0_record **ret)
{
	return load_record(keyring, name, &owner, ret);
}

int a0_store_save(key_serial_t keyring, const char *name, const struct a0_record *r,
		  unsigned timeout_s)
{
	char desc[A0_RECORD_NAME_MAX + sizeof(A0_RECORD_PREFIX)];
	int rc;

	rc = description_of(name, desc, sizeof(desc));
	if (rc < 0)
		return rc;
	return a0_store_save_described(keyring, desc, r, timeout_s, NULL);
}

int a0_store_remove(key_serial_t keyring, const char *name)
{
	char desc[A0_RECORD_NAME_MAX + sizeof(A0_RECORD_PREFIX)];
	int r;

	r = description_of(name, desc, sizeof(desc));
	if (r < 0)
		return r;
	r = each_key(keyring, desc, false, invalidate_one, NULL);
	return r == A0_ERR_NOT_FOUND ? 0 : r;
}

struct clear_ctx {
	const char *keep; /* a description, or NULL */
	uid_t me;
};

/* The caller's own record keys: another uid's (which loads ignore) are not its to remove. */
static int clear_one(key_serial_t key, const struct a0_keyinfo *ki, void *ctx)
{
	const struct clear_ctx *c = ctx;

	if (ki->uid != c->me || (c->keep && strcmp(ki->description, c->keep) == 0))
		return 0;
	return a0_key_invalidate(key);
}

int a0_store_clear_except(key_serial_t keyring, const char *keep)
{
	char desc[A0_RECORD_NAME_MAX + sizeof(A0_RECORD_PREFIX)];
	struct clear_ctx c = { .keep = NULL, .me = current_fsuid() };
	int r;

	if (keep) {
		r = description_of(keep, desc, sizeof(desc));
		if (r < 0)
			return r;
		c.keep = desc;
	}
	r = each_key(keyring, A0_RECORD_PREFIX, true, clear_one, &c);
	return r == A0_ERR_NOT_FOUND ? 0 : r;
}

int a0_store_clear(key_serial_t keyring)
{
	return a0_store_clear_except(keyring, NULL);
}

int a0_store_remove_prefix(key_serial_t keyring, const char *prefix)
{
	char desc[A0_RECORD_NAME_MAX + sizeof(A0_RECORD_PREFIX)];
	struct clear_ctx c = { .keep = NULL, .me = current_fsuid() };
	int r;

	if (!prefix || !*prefix)
		return A0_ERR_INVALID;
	r = description_of(prefix, desc, sizeof(desc));
	if (r < 0)
		return r;
	r = each_key(keyring, desc, true, clear_one, &c);
	return r == A0_ERR_NOT_FOUND ? 0 : r;
}
