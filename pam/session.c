/* SPDX-License-Identifier: MIT */
/*
 * The credentials in the kernel keyring: pam_sm_setcred, pam_sm_open_session and
 * pam_sm_close_session, and the hand-off that pam_sm_authenticate ends with (mod_hand_off).
 * The logic is in keyring/login.c (its header explains the hand-off); this file keeps what one
 * process learns in pam_set_data and talks to syslog. sshd runs pam_authenticate
 * (keyboard-interactive) in a forked child and setcred/open_session/close_session in its
 * parent, then setcred again in the session child: every phase here works from whatever this
 * process has, the tokens of an authentication it ran or the hand-off named in the PAM
 * environment. setcred is here, not with authentication as in pam_unix, because storing and
 * removing these credentials is all it does.
 */
#include "config.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "keyring/login.h"
#include "keyring/store.h"
#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "pam/module.h"
#include "pam/netchild.h"

/* DATA_HANDOFF */
struct handoff {
	char handle[A0_HANDOFF_HANDLE_LEN + 1]; /* "" once taken or dropped */
	key_serial_t auth_keyring;              /* the session keyring authentication ran in */
	struct a0_config *cfg;                  /* the authentication's, to revoke it unused */
	char user[MAX_USER + 1];
	uid_t uid;
	gid_t gid;
	pid_t pid; /* of the process that made it */
};

/* DATA_RECORD */
struct taken {
	struct a0_record *record;
	key_serial_t auth_keyring;
};

/* DATA_STORED */
struct stored {
	struct a0_stored at;
	pid_t pid;
};

/* pam_end in a forked child's copy (PAM_DATA_SILENT) or another process leaves keys alone. */
static bool ours_to_clean(const pid_t pid, int status)
{
	return !(status & PAM_DATA_SILENT) && pid == getpid();
}

static const void *get_data(pam_handle_t *pamh, const char *name)
{
	const void *data = NULL;

	return pam_get_data(pamh, name, &data) == PAM_SUCCESS ? data : NULL;
}

/* The local account; false when there is none (then there is no session to give keys to). */
static bool local_user(pam_handle_t *pamh, const char *user, struct a0_user *ret)
{
	const struct passwd *pw = pam_modutil_getpwnam(pamh, user);

	if (!pw)
		return false;
	ret->name = pw->pw_name;
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	return true;
}

/* In a child process (netchild.h), like every network call: no libcurl in the host. */
static int revoke_job(struct login *l, const struct a0_prompter *conv, void *refresh_token,
		      struct a0_tokens **ret_tokens, cJSON **ret_claims)
{
	int r = mod_client_open(l);

	return r < 0 ? r : a0_revoke(&l->client, refresh_token, &l->res);
}

/* Revoke refresh_token at Auth0; a failure is logged (revoke-failed) and returned. */
static int revoke_refresh_token(struct login *l, const char *refresh_token)
{
	char description[sizeof(l->res.description) + sizeof("; logout goes on")];
	int r;

	l->step = "revoke";
	l->res.retry_after = -1;
	if ((r = mod_net_run(l, revoke_job, (void *)(uintptr_t)refresh_token, l->cfg->timeout, NULL,
			     NULL)) < 0) {
		snprintf(description, sizeof(description), "%s; logout goes on",
			 l->res.description[0] ? l->res.description : "-");
		mod_log(l, LOG_WARNING, "revoke-failed", MOD_FAILED, "revoke", a0_err_name(r),
			l->res.error, description);
	}
	a0_result_clear(&l->res);
	return r;
}

/*
 * This process's hand-off, when no session took it (none in this process, none in another
 * through the PAM environment): its key goes now rather than at its timeout, and its refresh
 * token, which nothing holds any more, is revoked (revoke_on_logout). Auth0 keeps 200 active
 * refresh tokens per user and application and revokes the oldest beyond that: unused ones
 * (a screen locker's sign-ins, sudo's) would in time evict the one a login session renews with.
 */
static void end_unused_handoff(pam_handle_t *pamh, struct handoff *h)
{
	struct a0_user u = { h->user, h->uid, h->gid };
	struct a0_record *record = NULL;

	if (!h->handle[0])
		return;
	if (!h->cfg || !h->cfg->revoke_on_logout) {
		/* No need to read the tokens; a key left behind goes at its timeout. */
		(void)a0_handoff_drop(&u, h->handle);
	} else if (a0_handoff_take(&u, h->handle, &record, NULL) == 0 && record->refresh_token) {
		struct login l = { .pamh = pamh, .cfg = h->cfg, .user = h->user };

		revoke_refresh_token(&l, record->refresh_token);
	}
	a0_record_free(record);
	h->handle[0] = '\0';
}

static void cleanup_handoff(pam_handle_t *pamh, void *data, int status)
{
	struct handoff *h = data;

	if (ours_to_clean(h->pid, status))
		end_unused_handoff(pamh, h);
	a0_config_free(h->cfg);
	explicit_bzero(h, sizeof(*h));
	free(h);
}

static void cleanup_taken(pam_handle_t *pamh, void *data, int status)
{
	struct taken *t = data;

	a0_record_free(t->record);
	free(t);
}

static void cleanup_stored(pam_handle_t *pamh, void *data, int status)
{
	struct stored *s = data;

	/* Our extra reference only: the record stays with its session. */
	if (ours_to_clean(s->pid, status))
		a0_login_unpin(&s->at);
	free(s);
}

/*
 * End of a successful authentication: the hand-off key and its handle in the PAM environment.
 * A failure costs only the hand-off: a session opened in this process still gets the tokens.
 */
void mod_hand_off(struct login *l, const struct a0_tokens *tokens)
{
	char env[sizeof(A0_HANDOFF_ENV) + A0_HANDOFF_HANDLE_LEN + 1];
	struct a0_record *record = NULL;
	struct handoff *h;
	struct a0_user u;
	int r;

	if (!local_user(l->pamh, l->user, &u)) {
		if (l->cfg->debug)
			pam_syslog(l->pamh, LOG_DEBUG, "user=%s has no local account: no hand-off",
				   l->user);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return;
	h->auth_keyring = a0_login_current_session();
	snprintf(h->user, sizeof(h->user), "%s", u.name);
	u.name = h->user;
	h->uid = u.uid;
	h->gid = u.gid;
	h->pid = getpid();
	if ((r = a0_record_from_tokens(tokens, l->cfg, time(NULL), &record)) < 0 ||
	    (r = a0_handoff_put(&u, record, h->auth_keyring, h->handle)) < 0) {
		mod_log(l, LOG_WARNING, "handoff-failed", MOD_FAILED, "handoff", a0_err_name(r),
			NULL, "no hand-off: only a session opened by this process gets the tokens");
		h->handle[0] = '\0';
	} else {
		snprintf(env, sizeof(env), "%s=%s", A0_HANDOFF_ENV, h->handle);
		if (pam_putenv(l->pamh, env) != PAM_SUCCESS) {
			(void)a0_handoff_drop(&u, h->handle); /* else it goes at its timeout */
			h->handle[0] = '\0';
		}
	}
	a0_record_free(record);
	if (pam_set_data(l->pamh, DATA_HANDOFF, h, cleanup_handoff) != PAM_SUCCESS) {
		cleanup_handoff(l->pamh, h, 0);
		(void)pam_putenv(l->pamh, A0_HANDOFF_ENV); /* unset, if set */
		return;
	}
	h->cfg = l->cfg; /* the hand-off's from now on */
	l->cfg = NULL;
}

static const struct taken *keep_record(struct login *l, struct a0_record *record,
				       key_serial_t auth_keyring)
{
	struct taken *t = calloc(1, sizeof(*t));

	if (!t) {
		a0_record_free(record);
		return NULL;
	}
	t->record = record;
	t->auth_keyring = auth_keyring;
	if (pam_set_data(l->pamh, DATA_RECORD, t, cleanup_taken) != PAM_SUCCESS) {
		cleanup_taken(l->pamh, t, 0);
		return NULL;
	}
	return t;
}

/*
 * This login's record in this process: from DATA_RECORD, or made from the tokens of an
 * authentication this process ran, or taken from the hand-off the PAM environment names. The
 * variable leaves the PAM environment here, whatever happens, so the user's shell never gets it.
 */
static const struct taken *login_record(struct login *l, const struct a0_user *u)
{
	const struct a0_tokens *tokens = get_data(l->pamh, DATA_TOKENS);
	const struct taken *t = get_data(l->pamh, DATA_RECORD);
	/* Ours to mark as dealt with: pam_get_data hands out const pointers only. */
	struct handoff *h = (struct handoff *)(uintptr_t)get_data(l->pamh, DATA_HANDOFF);
	const char *env = pam_getenv(l->pamh, A0_HANDOFF_ENV);
	char handle[A0_HANDOFF_HANDLE_LEN + 1] = "";
	struct a0_record *record = NULL;
	key_serial_t auth_keyring = h ? h->auth_keyring : 0;
	int r;

	if (env) {
		if (a0_handoff_valid(env))
			memcpy(handle, env, sizeof(handle));
		(void)pam_putenv(l->pamh, A0_HANDOFF_ENV); /* unset, if set */
	}
	if (h && handle[0] && strcmp(h->handle, handle) == 0)
		h->handle[0] = '\0'; /* dealt with below */
	if (handle[0] && (t || tokens)) {
		/* This process has the tokens already; a key left behind goes at its timeout. */
		(void)a0_handoff_drop(u, handle);
	} else if (handle[0]) {
		if ((r = a0_handoff_take(u, handle, &record, &auth_keyring)) == 0)
			return keep_record(l, record, auth_keyring);
		mod_log(l, LOG_WARNING, "handoff-failed", MOD_FAILED, "handoff", a0_err_name(r),
			NULL,
			r == A0_ERR_NOT_FOUND
				? "the hand-off is gone (over its timeout?): no credentials"
				: "the hand-off could not be taken: no credentials");
		return NULL;
	} else if (env) {
		mod_log(l, LOG_WARNING, "handoff-failed", MOD_FAILED, "handoff",
			a0_err_name(A0_ERR_INVALID), NULL, "malformed hand-off handle");
	}
	if (t || !tokens)
		return t;
	if ((r = a0_record_from_tokens(tokens, l->cfg, time(NULL), &record)) < 0) {
		mod_log(l, LOG_ERR, "store-failed", MOD_FAILED, "store", a0_err_name(r), NULL,
			"cannot make the record");
		return NULL;
	}
	return keep_record(l, record, auth_keyring);
}

/*
 * A session for another user than the one this handle signed in: sudo and su authenticate the
 * caller, then set PAM_USER to the target user for setcred and open_session. The caller's
 * tokens are not the target's to keep (another user's processes could read a record stored for
 * them; root's session is not ours at all). This process's hand-off, which no session will take
 * now, ends at once (end_unused_handoff: its refresh token is revoked): sudo ends PAM with
 * PAM_DATA_SILENT, which leaves it to its timeout otherwise. Its handle leaves the PAM
 * environment, which sudo passes on to the command.
 */
static bool session_of_another_user(struct login *l)
{
	const char *done = get_data(l->pamh, DATA_DONE);
	struct handoff *h = (struct handoff *)(uintptr_t)get_data(l->pamh, DATA_HANDOFF);

	if (!done || !l->user || strcmp(done, l->user) == 0)
		return false;
	if (h && h->pid == getpid())
		end_unused_handoff(l->pamh, h);
	(void)pam_putenv(l->pamh, A0_HANDOFF_ENV); /* unset, if set */
	if (l->cfg && l->cfg->debug)
		pam_syslog(l->pamh, LOG_DEBUG,
			   "user=%s: the session is not for %s, whom Auth0 signed in: the "
			   "credentials are not kept",
			   l->user, done);
	return true;
}

/*
 * setcred (ESTABLISH, REINITIALIZE) and open_session: store the record, once per keyring.
 * PAM_IGNORE for a system account (and an open_session with nothing to store), else success.
 * Before pam_keyinit has made the login's session keyring (sshd calls setcred first) the
 * session keyring is refused quietly: open_session comes next and says why if it refuses too.
 * Nothing here fails the login.
 */
static int store_record(pam_handle_t *pamh, int argc, const char **argv, bool opening)
{
	static const char not_kept[] = "; the credentials are not kept: put 'session required "
				       "pam_keyinit.so force revoke' before pam_auth0 in the "
				       "session stack";
	struct login l = { .pamh = pamh, .phase = MOD_SESSION };
	const struct stored *old;
	const struct taken *t;
	struct a0_stored at;
	struct stored *s;
	struct a0_user u;
	char why[512], description[sizeof(why) + sizeof(not_kept)];
	int pam, r;

	pam = mod_begin(&l, argc, argv);
	if ((pam == PAM_SUCCESS || pam == PAM_IGNORE) && session_of_another_user(&l)) {
		pam = opening ? PAM_IGNORE : PAM_SUCCESS;
		goto out;
	}
	if (pam != PAM_SUCCESS)
		goto out;
	if (!local_user(pamh, l.user, &u) || !(t = login_record(&l, &u))) {
		/* Not signed in by this module: nothing to store. setcred still succeeds. */
		pam = opening ? PAM_IGNORE : PAM_SUCCESS;
		goto out;
	}
	old = get_data(pamh, DATA_STORED);
	if (old &&
	    (l.cfg->keyring == A0_KEYRING_USER || old->at.keyring == a0_login_current_session())) {
		if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG, "user=%s already stored in keyring %d", l.user,
				   (int)old->at.keyring);
		goto out;
	}
	r = a0_login_store(&u, l.cfg->keyring, t->auth_keyring, t->record,
			   a0_record_timeout(t->record, time(NULL)), &at, why, sizeof(why));
	if (r == A0_ERR_NOT_FOUND) {
		if (opening) {
			snprintf(description, sizeof(description), "%s%s", why, not_kept);
			mod_log(&l, LOG_ERR, "store-failed", MOD_FAILED, "store", "NOT_STORED",
				NULL, description);
		} else if (l.cfg->debug) {
			pam_syslog(pamh, LOG_DEBUG, "user=%s not storing yet: %s", l.user, why);
		}
		goto out;
	}
	if (r < 0) {
		mod_log(&l, LOG_ERR, "store-failed", MOD_FAILED, "store", a0_err_name(r), NULL,
			r == A0_ERR_STORE ? "the user's key quota (/proc/sys/kernel/keys/maxbytes, "
					    "maxkeys) is full: the credentials are not kept"
					  : "the credentials are not kept");
		goto out;
	}
	/* A record in an earlier session keyring of this handle was the caller's, not ours. */
	if (old)
		a0_login_discard(&u, &old->at);
	s = calloc(1, sizeof(*s));
	if (s) {
		s->at = at;
		s->pid = getpid();
	}
	if (!s || pam_set_data(pamh, DATA_STORED, s, cleanup_stored) != PAM_SUCCESS) {
		/* Stored, but logout will not find the pin: it falls back to the login's token. */
		free(s);
		a0_login_unpin(&at);
	}
	a0_format(description, sizeof(description), "stored the credentials in the %s keyring %d",
		  l.cfg->keyring == A0_KEYRING_USER ? "user" : "session", (int)at.keyring);
	mod_log(&l, LOG_INFO, "session-stored", MOD_OK, "store", "OK", NULL, description);
out:
	a0_config_free(l.cfg);
	return pam;
}

/* The refresh token to revoke at logout: the record as it is now, else the login's. */
static char *refresh_token_now(struct login *l, const struct a0_user *u, const struct stored *s,
			       const struct taken *t)
{
	struct a0_record *now = NULL;
	char *rt = NULL;

	if ((s && a0_login_current(u, &s->at, &now) == 0) ||
	    (!s && a0_login_find(u, l->cfg->keyring, t ? t->auth_keyring : 0, &now) == 0)) {
		rt = now->refresh_token;
		now->refresh_token = NULL;
		a0_record_free(now);
	}
	if (!rt && t && t->record->refresh_token)
		rt = a0_secret_dup(t->record->refresh_token);
	return rt;
}

/*
 * close_session (logout: revoke) and setcred(DELETE_CRED): remove the login's keys. The
 * record is read through its pin: pam_keyinit's close_session has revoked the session keyring
 * by now, and the helper may have rotated the refresh token since the login. Only a login of
 * this handle's own is ended: one it stored, or one it signed in (its tokens, or the hand-off
 * it took). A handle with neither (cron, su from root, a NOPASSWD sudo -u) runs inside another
 * login, whose records and refresh token are not its to end; it does nothing and succeeds, as
 * pam_keyinit and pam_unix do for a session that is not theirs.
 */
static int remove_record(pam_handle_t *pamh, int argc, const char **argv, bool logout)
{
	struct login l = { .pamh = pamh, .phase = MOD_SESSION };
	const struct stored *s;
	const struct taken *t;
	struct a0_user u;
	char *rt = NULL, description[256];
	int pam, r, revoked;

	pam = mod_begin(&l, argc, argv);
	/* Nothing was stored for it, and the caller's login is not its to revoke. */
	if ((pam == PAM_SUCCESS || pam == PAM_IGNORE) && session_of_another_user(&l))
		goto out;
	if (pam != PAM_SUCCESS || !local_user(pamh, l.user, &u))
		goto out;
	t = login_record(&l, &u);
	s = get_data(pamh, DATA_STORED);
	if (!t && !s) {
		if (l.cfg->debug)
			pam_syslog(pamh, LOG_DEBUG,
				   "user=%s: this handle neither signed in nor stored credentials: "
				   "nothing of its own to remove",
				   l.user);
		goto out;
	}
	if (logout && l.cfg->revoke_on_logout)
		rt = refresh_token_now(&l, &u, s, t);
	r = a0_login_forget(&u, l.cfg->keyring, t ? t->auth_keyring : 0, s ? &s->at : NULL);
	/* Replacing the item drops the pin (cleanup_stored). */
	if (s)
		(void)pam_set_data(pamh, DATA_STORED, NULL, NULL);
	revoked = rt ? revoke_refresh_token(&l, rt) : 1;
	/* The logout's one line: what was removed, and what Auth0 said of the refresh token. */
	a0_format(description, sizeof(description), "%s; %s",
		  r < 0 ? "the credentials could not all be removed" : "the credentials removed",
		  revoked == 0  ? "the refresh token revoked at Auth0"
		  : revoked < 0 ? "the refresh token could not be revoked (revoke-failed)"
				: "no refresh token revoked");
	mod_log(&l,
		r < 0         ? LOG_ERR
		: revoked < 0 ? LOG_WARNING
			      : LOG_INFO,
		"logout", r < 0 || revoked < 0 ? MOD_FAILED : MOD_OK,
		logout ? "logout" : "delete-cred",
		a0_err_name(r < 0         ? r
			    : revoked < 0 ? revoked
					  : 0),
		NULL, description);
	/* Revoked or not, this process is done with the login's refresh token. */
	if (logout && t)
		a0_secret_clear(&((struct taken *)(uintptr_t)t)->record->refresh_token);
out:
	a0_secret_free(rt);
	a0_config_free(l.cfg);
	return pam == PAM_IGNORE ? PAM_IGNORE : PAM_SUCCESS;
}

A0_PUBLIC int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int pam;

	if (flags & PAM_DELETE_CRED)
		pam = remove_record(pamh, argc, argv, false);
	else if (flags & (PAM_ESTABLISH_CRED | PAM_REINITIALIZE_CRED))
		pam = store_record(pamh, argc, argv, false);
	else
		pam = PAM_SUCCESS; /* PAM_REFRESH_CRED: the helper refreshes, not the module */
	if (pam == PAM_IGNORE)
		return PAM_IGNORE; /* a system account: not ours */
	/* Like pam_unix: sshd (keyboard-interactive) and su end a login when no auth module's
	 * setcred succeeds. */
	return PAM_SUCCESS;
}

A0_PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return store_record(pamh, argc, argv, true);
}

A0_PUBLIC int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return remove_record(pamh, argc, argv, true);
}
