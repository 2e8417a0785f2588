/* SPDX-License-Identifier: MIT */
/* A login's records in the kernel keyring: see login.h for the design. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "keyring/keys.h"
#include "keyring/login.h"
#include "lib/error.h"
#include "lib/jwt.h"
#include "lib/util.h"

/* A hand-off is not a record: a0_store_clear of a user keyring leaves it alone. */
#define HANDOFF_PREFIX "pam_auth0_handoff:"

int a0_record_from_tokens(const struct a0_tokens *t, const struct a0_config *cfg, time_t now,
			  struct a0_record **ret)
{
	struct a0_record *r;
	int rc;

	if (!t || !t->access_token || !t->token_type)
		return A0_ERR_INVALID;
	if (!(r = calloc(1, sizeof(*r))))
		return A0_ERR_NOMEM;
	if ((rc = a0_strdup_into(&r->access_token, t->access_token)) < 0 ||
	    (rc = a0_strdup_into(&r->id_token, t->id_token)) < 0 ||
	    (rc = a0_strdup_into(&r->refresh_token, t->refresh_token)) < 0 ||
	    (rc = a0_strdup_into(&r->token_type, t->token_type)) < 0)
		goto out;
	/* Auth0 sends scope only when it differs from the one asked for. */
	if ((rc = a0_strdup_into(&r->scope, t->scope ? t->scope : cfg->scope)) < 0 ||
	    (rc = a0_strdup_into(&r->domain, cfg->domain)) < 0 ||
	    (rc = a0_strdup_into(&r->client_id, cfg->client_id)) < 0 ||
	    (rc = a0_strdup_into(&r->ca_file, cfg->ca_file)) < 0 ||
	    (rc = a0_strdup_into(&r->audience, cfg->audience)) < 0)
		goto out;
	/*
	 * A confidential application: the session's refreshes go through auth0-broker(8), which
	 * alone holds the client's authentication (the record never does).
	 */
	if ((cfg->client_secret_file || cfg->client_private_key_file) &&
	    (rc = a0_strdup_into(&r->client_auth, A0_RECORD_CLIENT_AUTH_BROKER)) < 0)
		goto out;
	if ((rc = a0_strdup_into(&r->dpop_key, t->dpop_key)) < 0)
		goto out;
	r->expires_at = t->expires_at;
	/* The client cannot ask Auth0 for the refresh token's lifetime; the configuration says
	 * it (Auth0's default: 30 days absolute, not extended by rotation). */
	if (r->refresh_token)
		r->refresh_expires_at = now + (time_t)cfg->refresh_token_lifetime;
	*ret = r;
	r = NULL;
out:
	a0_record_free(r); /* wipes the secrets copied so far */
	return rc;
}

key_serial_t a0_login_current_session(void)
{
	key_serial_t k = keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0);

	return k < 0 ? 0 : k;
}

/*
 * Run fn on u's user keyring, possessed: KEY_SPEC_USER_KEYRING needs the real uid switched, and
 * a key in that keyring is possessed, when reached by its serial, only through a keyring of the
 * caller's. So the user keyring is linked into the caller's process keyring (not inherited by
 * fork or exec: the shell never gets it) for the call, and unlinked after it. The process
 * keyring is made before the switch, so it is the caller's (root's), not the user's.
 */
static int with_user_keyring(const struct a0_user *u, int (*fn)(key_serial_t ukr, void *ctx),
			     void *ctx)
{
	struct a0_priv p;
	key_serial_t proc, ukr;
	int r, rr;

	proc = keyctl_get_keyring_ID(KEY_SPEC_PROCESS_KEYRING, 1);
	if (proc < 0)
		return A0_ERR_SYSTEM;
	/* out: regains whatever the drop returned (priv.h). */
	if ((r = a0_priv_drop(&p, u, A0_PRIV_REAL)) < 0)
		goto out;
	if ((ukr = keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 1)) < 0) {
		r = A0_ERR_SYSTEM;
		goto out;
	}
	if (keyctl_link(ukr, proc) < 0) {
		r = errno == EDQUOT ? A0_ERR_STORE : A0_ERR_SYSTEM;
		goto out;
	}
	r = fn(ukr, ctx);
	if (keyctl_unlink(ukr, proc) < 0 && r == 0)
		r = A0_ERR_SYSTEM;
out:
	rr = a0_priv_regain(&p);
	return rr < 0 ? rr : r;
}

/*
 * Run fn as u for the key permission checks: the fs ids (and groups) switched, the real uid
 * kept, so the caller's keyrings, and what it possesses through them, stay its own. A record's
 * permissions are the owner's only (keys.h): root itself may not even view it.
 */
static int as_user(const struct a0_user *u, int (*fn)(void *ctx), void *ctx)
{
	struct a0_priv p;
	int r, rr;

	if ((r = a0_priv_drop(&p, u, 0)) < 0)
		goto out;
	r = fn(ctx);
out:
	rr = a0_priv_regain(&p); /* whatever the drop returned (priv.h) */
	return rr < 0 ? rr : r;
}

/* ---- the hand-off ---- */

bool a0_handoff_valid(const char *handle)
{
	if (!handle || strlen(handle) != A0_HANDOFF_HANDLE_LEN)
		return false;
	for (const char *p = handle; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

struct handoff_ctx {
	const struct a0_record *record;
	char description[128];
	struct a0_record *taken;
	key_serial_t auth_keyring;
};

static int handoff_put_in(key_serial_t ukr, void *ctx)
{
	struct handoff_ctx *h = ctx;

	return a0_store_save_described(ukr, h->description, h->record, A0_HANDOFF_TIMEOUT, NULL);
}

int a0_handoff_put(const struct a0_user *u, const struct a0_record *r, key_serial_t auth_keyring,
		   char ret_handle[A0_HANDOFF_HANDLE_LEN + 1])
{
	struct handoff_ctx h = { .record = r };
	unsigned char rnd[A0_HANDOFF_HANDLE_LEN / 2];
	char handle[A0_HANDOFF_HANDLE_LEN + 1];
	int rc;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return A0_ERR_SYSTEM;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(handle + 2 * i, 3, "%02x", rnd[i]);
	snprintf(h.description, sizeof(h.description), HANDOFF_PREFIX "%s:%d", handle,
		 (int)auth_keyring);
	rc = with_user_keyring(u, handoff_put_in, &h);
	if (rc < 0)
		return rc;
	memcpy(ret_handle, handle, sizeof(handle));
	return 0;
}

static int handoff_take_in(key_serial_t ukr, void *ctx)
{
	struct handoff_ctx *h = ctx;
	struct a0_keyinfo ki;
	key_serial_t key;
	const char *num;
	char *end;
	long v;
	int r;

	r = a0_store_find_prefixed(ukr, h->description, &key, &ki);
	if (r < 0)
		return r;
	num = ki.description + strlen(h->description);
	errno = 0;
	v = strtol(num, &end, 10);
	if (errno || *end || end == num || v < 0 || v > INT_MAX)
		v = 0;
	h->auth_keyring = (key_serial_t)v;
	r = a0_store_load_key(key, &h->taken);
	/* Taken means gone, whatever it held. */
	(void)a0_key_invalidate(key);
	return r;
}

static int handoff_prefix(struct handoff_ctx *h, const char *handle)
{
	if (!a0_handoff_valid(handle))
		return A0_ERR_INVALID;
	snprintf(h->description, sizeof(h->description), HANDOFF_PREFIX "%s:", handle);
	return 0;
}

int a0_handoff_take(const struct a0_user *u, const char *handle, struct a0_record **ret,
		    key_serial_t *ret_auth_keyring)
{
	struct handoff_ctx h = { 0 };
	int rc;

	if ((rc = handoff_prefix(&h, handle)) < 0)
		goto out;
	if ((rc = with_user_keyring(u, handoff_take_in, &h)) < 0)
		goto out;
	*ret = h.taken;
	h.taken = NULL;
	if (ret_auth_keyring)
		*ret_auth_keyring = h.auth_keyring;
out:
	a0_record_free(h.taken);
	return rc;
}

static int handoff_drop_in(key_serial_t ukr, void *ctx)
{
	struct handoff_ctx *h = ctx;
	key_serial_t key;
	int r;

	/* Every key of this handle: there is one, unless someone made more. */
	while ((r = a0_store_find_prefixed(ukr, h->description, &key, NULL)) == 0) {
		r = a0_key_invalidate(key);
		if (r < 0)
			return r;
	}
	return r == A0_ERR_NOT_FOUND ? 0 : r;
}

int a0_handoff_drop(const struct a0_user *u, const char *handle)
{
	struct handoff_ctx h = { 0 };
	int rc;

	if ((rc = handoff_prefix(&h, handle)) < 0)
		return rc;
	return with_user_keyring(u, handoff_drop_in, &h);
}

/* ---- the session's record ---- */

int a0_login_session_keyring(const struct a0_user *u, key_serial_t auth_keyring, key_serial_t *ret,
			     char *why, size_t whylen)
{
	char shown[A0_SHOW_MAX + 1];
	struct a0_keyinfo ki;
	key_serial_t k;
	int r;

	k = keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0);
	if (k < 0) {
		a0_format(why, whylen, "the process has no session keyring (%s)", strerror(errno));
		return A0_ERR_NOT_FOUND;
	}
	r = a0_key_describe(k, &ki);
	if (r < 0) {
		a0_format(why, whylen, "the session keyring cannot be read (%s)", a0_strerror(r));
		return A0_ERR_NOT_FOUND;
	}
	if (strncmp(ki.description, "_uid_ses.", 9) == 0) {
		/* The name is the caller's choice (keyctl session NAME) and goes to syslog. */
		a0_format(why, whylen,
			  "the session keyring is the per-user default session keyring %s",
			  a0_show(ki.description, shown));
		return A0_ERR_NOT_FOUND;
	}
	if (ki.uid != u->uid) {
		a0_format(why, whylen,
			  "the session keyring %d belongs to uid %u, not to %s (uid %u)", (int)k,
			  (unsigned)ki.uid, u->name ? u->name : "the user", (unsigned)u->uid);
		return A0_ERR_NOT_FOUND;
	}
	if (auth_keyring > 0 && k == auth_keyring) {
		a0_format(why, whylen,
			  "the session keyring %d is the one the authentication ran in, not one of "
			  "this login's own",
			  (int)k);
		return A0_ERR_NOT_FOUND;
	}
	*ret = k;
	return 0;
}

struct store_ctx {
	const struct a0_record *record;
	unsigned timeout;
	key_serial_t proc;
	key_serial_t keyring; /* the session keyring, for as_user's functions */
	const struct a0_stored *at;
	struct a0_stored stored;
	struct a0_record *found;
};

static int save_and_pin(key_serial_t keyring, struct store_ctx *s)
{
	key_serial_t key;
	int r;

	r = a0_store_save_described(keyring, A0_RECORD_PREFIX A0_RECORD_MAIN, s->record, s->timeout,
				    &key);
	if (r < 0)
		return r;
	s->stored.keyring = keyring;
	s->stored.key = key;
	/* Without the pin, logout falls back to the refresh token the login had. */
	if (a0_store_pin(key, s->proc) < 0)
		s->stored.key = 0;
	return 0;
}

static int store_in_user_keyring(key_serial_t ukr, void *ctx)
{
	return save_and_pin(ukr, ctx);
}

static int store_in_session_keyring(void *ctx)
{
	struct store_ctx *s = ctx;

	return save_and_pin(s->keyring, s);
}

int a0_login_store(const struct a0_user *u, enum a0_keyring_mode mode, key_serial_t auth_keyring,
		   const struct a0_record *r, unsigned timeout_s, struct a0_stored *ret, char *why,
		   size_t whylen)
{
	struct store_ctx s = { .record = r, .timeout = timeout_s };
	int rc;

	a0_format(why, whylen, "-");
	/* The pin's keyring is made as the caller, before any switch. */
	s.proc = keyctl_get_keyring_ID(KEY_SPEC_PROCESS_KEYRING, 1);
	if (s.proc < 0)
		return A0_ERR_SYSTEM;
	if (mode == A0_KEYRING_USER) {
		/* Keys in the user keyring outlive the session: they must time out. */
		if (timeout_s == 0)
			return A0_ERR_INVALID;
		rc = with_user_keyring(u, store_in_user_keyring, &s);
	} else {
		rc = a0_login_session_keyring(u, auth_keyring, &s.keyring, why, whylen);
		if (rc < 0)
			return rc;
		/* Our own session keyring is possessed: the fs ids are enough to make the key the
		 * user's and charge it to the user's quota (and to update, time out and pin it). */
		rc = as_user(u, store_in_session_keyring, &s);
	}
	if (rc < 0)
		return rc;
	*ret = s.stored;
	return 0;
}

static int current_as_user(void *ctx)
{
	struct store_ctx *s = ctx;

	return a0_store_load_key(s->at->key, &s->found);
}

int a0_login_current(const struct a0_user *u, const struct a0_stored *s, struct a0_record **ret)
{
	struct store_ctx c = { .at = s };
	int rc;

	if (!s || s->key <= 0)
		return A0_ERR_NOT_FOUND;
	/* Possessed through the pin, but readable only with the owner's fsuid. */
	if ((rc = as_user(u, current_as_user, &c)) < 0)
		goto out;
	*ret = c.found;
	c.found = NULL;
out:
	a0_record_free(c.found);
	return rc;
}

static int find_in_user_keyring(key_serial_t ukr, void *ctx)
{
	struct store_ctx *s = ctx;

	return a0_store_load(ukr, A0_RECORD_MAIN, &s->found);
}

static int find_in_session_keyring(void *ctx)
{
	struct store_ctx *s = ctx;
	key_serial_t key;
	int rc;

	/* Only this keyring's own record: not one in the user keyring linked into it. */
	if ((rc = a0_store_find_described(s->keyring, A0_RECORD_PREFIX A0_RECORD_MAIN, &key)) < 0)
		return rc;
	return a0_store_load_key(key, &s->found);
}

int a0_login_find(const struct a0_user *u, enum a0_keyring_mode mode, key_serial_t auth_keyring,
		  struct a0_record **ret)
{
	struct store_ctx s = { 0 };
	char why[256];
	int rc;

	if (mode == A0_KEYRING_USER) {
		if ((rc = with_user_keyring(u, find_in_user_keyring, &s)) < 0)
			goto out;
	} else {
		if ((rc = a0_login_session_keyring(u, auth_keyring, &s.keyring, why, sizeof(why))) <
			    0 ||
		    (rc = as_user(u, find_in_session_keyring, &s)) < 0)
			goto out;
	}
	*ret = s.found;
	s.found = NULL;
out:
	a0_record_free(s.found);
	return rc;
}

static int clear_user_keyring(key_serial_t ukr, void *ctx)
{
	return a0_store_clear(ukr);
}

/* The pinned key, then (keyring > 0) every record in the session keyring. */
static int forget_as_user(void *ctx)
{
	struct store_ctx *s = ctx;
	int r = 0, rr = 0;

	if (s->at && s->at->key > 0)
		r = a0_key_invalidate(s->at->key);
	if (s->keyring > 0)
		rr = a0_store_clear(s->keyring);
	if (rr == A0_ERR_NOT_FOUND) /* revoked with the session (pam_keyinit revoke) */
		rr = 0;
	return r < 0 ? r : rr;
}

int a0_login_forget(const struct a0_user *u, enum a0_keyring_mode mode, key_serial_t auth_keyring,
		    const struct a0_stored *s)
{
	struct store_ctx c = { .at = s };
	key_serial_t keyring;
	char why[256];
	int r, rr = 0;

	if (mode == A0_KEYRING_SESSION) {
		if (s && s->keyring > 0)
			c.keyring = s->keyring;
		else if (a0_login_session_keyring(u, auth_keyring, &keyring, why, sizeof(why)) == 0)
			c.keyring = keyring;
		/* else no session keyring of this login's: nothing of ours to remove there */
	}
	/* The pinned key first: it is the record even where its keyring is already revoked. */
	r = as_user(u, forget_as_user, &c);
	if (mode == A0_KEYRING_USER)
		rr = with_user_keyring(u, clear_user_keyring, NULL);
	if (rr == A0_ERR_NOT_FOUND)
		rr = 0;
	return r < 0 ? r : rr;
}

void a0_login_discard(const struct a0_user *u, const struct a0_stored *s)
{
	struct store_ctx c = { .at = s }; /* the pinned key only */

	if (s && s->key > 0)
		(void)as_user(u, forget_as_user, &c);
}

void a0_login_unpin(const struct a0_stored *s)
{
	/* As the caller: unlinking needs write permission on our own process keyring only. */
	if (s && s->key > 0)
		(void)keyctl_unlink(s->key, KEY_SPEC_PROCESS_KEYRING);
}
