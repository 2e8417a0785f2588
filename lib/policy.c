/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/identities.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/policy.h"
#include "lib/util.h"

#define PWBUF_MIN 16384
#define PWBUF_MAX (1024 * 1024)

static const char tell_other_account[] = "You signed in as a different account.";
static const char tell_unmatched[] = "Your sign-in could not be matched to this account.";
static const char tell_unverified[] = "Verify your email address, then try again.";
static const char tell_not_allowed[] = "You may not sign in to this account here.";
static const char tell_blocked[] = "This account is blocked in Auth0.";
static const char tell_removed[] = "This account no longer exists in Auth0.";

/*
 * 0 and the uid, 1 when there is no such account, A0_ERR_SYSTEM (reason) when the account
 * database cannot tell, A0_ERR_NOMEM.
 */
static int lookup_uid(const char *user, uid_t *ret, char *reason, size_t reasonlen)
{
	struct passwd pw, *found = NULL;
	size_t size = PWBUF_MIN;
	char *buf;
	int e;

	for (;;) {
		buf = malloc(size);
		if (!buf)
			return A0_ERR_NOMEM;
		e = getpwnam_r(user, &pw, buf, size, &found);
		if (e != ERANGE || size >= PWBUF_MAX)
			break;
		free(buf);
		size *= 2;
	}
	if (e == 0 && found)
		*ret = pw.pw_uid;
	free(buf);
	if (e == 0 && found)
		return 0;
	/* getpwnam_r(3): these all mean "not found", depending on the NSS module. */
	if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return 1;
	if (e == ERANGE)
		snprintf(reason, reasonlen, "the passwd entry is over %d bytes", PWBUF_MAX);
	else
		snprintf(reason, reasonlen, "getpwnam_r: %s", strerror(e));
	return A0_ERR_SYSTEM;
}

int a0_policy_system_account(const struct a0_config *cfg, const char *user, char *reason,
			     size_t reasonlen)
{
	uid_t uid = 0;
	int r;

	if (reason && reasonlen)
		reason[0] = '\0';
	/* Listing a system account is how an administrator hands it to Auth0. */
	if (a0_list_contains(&cfg->allowed_users, user))
		return A0_USER_REGULAR;
	/* By name too: an Auth0 signup called root must not meet a missing passwd entry. */
	if (strcmp(user, "root") == 0)
		return A0_USER_SYSTEM;
	r = lookup_uid(user, &uid, reason, reason ? reasonlen : 0);
	if (r < 0)
		return r; /* cannot tell: the caller fails closed */
	if (r == 1)
		return A0_USER_NONE;
	return uid == 0 || uid < cfg->min_uid ? A0_USER_SYSTEM : A0_USER_REGULAR;
}

static int deny(const char **tell, const char *message, char *reason, size_t reasonlen,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int deny(const char **tell, const char *message, char *reason, size_t reasonlen,
		const char *fmt, ...)
{
	va_list ap;

	*tell = message;
	va_start(ap, fmt);
	a0_vformat(reason, reasonlen, fmt, ap);
	va_end(ap);
	return A0_ERR_POLICY;
}

/* Is the identity the one user_claim and its template expect for this account? */
static int check_claim(const struct a0_config *cfg, const char *user, const cJSON *claims,
		       const char **tell, char *reason, size_t reasonlen)
{
	const char *value = a0_json_string(claims, cfg->user_claim);
	char a[A0_SHOW_MAX + 1], b[A0_SHOW_MAX + 1];
	char *expected = NULL;
	int r;

	if (!value)
		return deny(tell, tell_unmatched, reason, reasonlen,
			    "user_claim: the token has no string claim '%s'",
			    a0_show(cfg->user_claim, a));
	r = a0_template_expand(cfg->user_claim_template, user, &expected);
	if (r == A0_ERR_NOMEM)
		return r;
	if (r < 0 || strcmp(value, expected) != 0)
		r = deny(tell, tell_other_account, reason, reasonlen,
			 "user_claim: %s is '%s', this account expects '%s'", cfg->user_claim,
			 a0_show(value, a), a0_show(expected, b));
	free(expected);
	if (r < 0)
		return r;
	/* Anyone can sign up with someone else's address; only a verified one names a person. */
	if (strcmp(cfg->user_claim, "email") == 0 && cfg->require_email_verified &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(claims, "email_verified")))
		return deny(tell, tell_unverified, reason, reasonlen,
			    "email_verified: the email address is not verified");
	/* Bound, but by a name the account holder chose: the caller logs this as a warning. */
	if (!a0_claim_admin_set(cfg->user_claim) && reason && reasonlen)
		snprintf(reason, reasonlen,
			 "user_claim: bound by '%s', a claim the account holder sets "
			 "(trust_user_claims = yes)",
			 a0_show(cfg->user_claim, a));
	return 0;
}

int a0_policy_synced(const struct a0_config *cfg, const char *user, struct a0_identity *ret,
		     char *reason, size_t reasonlen)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", cfg->sync_dir, A0_IDENTITIES_NAME);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		a0_format(reason, reasonlen, "sync_dir: path too long");
		return A0_ERR_CONFIG;
	}
	return a0_identities_find(path, user, ret, NULL, reason, reasonlen);
}

/*
 * The identity cache as one read found it for a login's checks: r is 0 (id is the identity),
 * A0_ERR_NOT_FOUND (id is NULL) or the read's error, with why. An error is reported where a
 * rule first needs the cache, as if the rule had read it.
 */
struct synced {
	int r;
	const struct a0_identity *id;
	const char *why;
};

/* What a caller's read (a0_policy_synced) found: the identity, or NULL for none. */
static struct synced synced_of(const struct a0_identity *id)
{
	return (struct synced){ id ? 0 : A0_ERR_NOT_FOUND, id, "" };
}

#define SYNCED_WHY_MAX 512 /* the reason a read of the cache failed */

/* A read of the cache for user into *id (clear it with a0_identity_clear), why its error. */
static struct synced read_synced(const struct a0_config *cfg, const char *user,
				 struct a0_identity *id, char *why, size_t whylen)
{
	int r = a0_policy_synced(cfg, user, id, why, whylen);

	return (struct synced){ r, r == 0 ? id : NULL, why };
}

/* The read's error, for a rule that needs the cache. */
static int synced_error(const struct synced *s, const char **tell, char *reason, size_t reasonlen)
{
	*tell = NULL;
	a0_format(reason, reasonlen, "%s", s->why);
	return s->r;
}

/* Blocked or deleted in Auth0 at the last sync: refused whatever else holds. */
static int check_state(const struct a0_identity *id, const char *user, const char **tell,
		       char *reason, size_t reasonlen)
{
	char a[A0_SHOW_MAX + 1];

	if (id->state == A0_IDENTITY_BLOCKED)
		return deny(tell, tell_blocked, reason, reasonlen,
			    "identity cache: '%s' is blocked in Auth0", a0_show(user, a));
	if (id->state == A0_IDENTITY_DELETED)
		return deny(tell, tell_removed, reason, reasonlen,
			    "identity cache: '%s' was deleted in Auth0", a0_show(user, a));
	return 0;
}

/* allowed_roles: the synced roles of the account must hold one of them. */
static int check_roles(const struct a0_config *cfg, const struct a0_identity *id, const char *user,
		       const char **tell, char *reason, size_t reasonlen)
{
	char a[A0_SHOW_MAX + 1];

	if (!cfg->allowed_roles.n)
		return 0;
	for (size_t i = 0; id && i < id->n_roles; i++)
		if (a0_list_contains(&cfg->allowed_roles, id->roles[i]))
			return 0;
	return deny(tell, tell_not_allowed, reason, reasonlen,
		    id ? "allowed_roles: '%s' holds none of them in Auth0"
		       : "allowed_roles: '%s' is not in the synced identity cache",
		    a0_show(user, a));
}

/* The account phase's verdict (a0_policy_account) on the cache as s found it. */
static int check_account(const struct a0_config *cfg, const char *user, const struct synced *s,
			 const char **tell, char *reason, size_t reasonlen)
{
	int r;

	if (reason && reasonlen)
		reason[0] = '\0';
	*tell = NULL;
	if (s->r == A0_ERR_NOT_FOUND)
		return cfg->allowed_roles.n ? check_roles(cfg, NULL, user, tell, reason, reasonlen)
					    : s->r;
	if (s->r < 0)
		return synced_error(s, tell, reason, reasonlen);
	r = check_state(s->id, user, tell, reason, reasonlen);
	if (r == 0)
		r = check_roles(cfg, s->id, user, tell, reason, reasonlen);
	return r;
}

int a0_policy_account_identity(const struct a0_config *cfg, const char *user,
			       const struct a0_identity *id, const char **tell, char *reason,
			       size_t reasonlen)
{
	struct synced s = synced_of(id);

	return check_account(cfg, user, &s, tell, reason, reasonlen);
}

int a0_policy_account(const struct a0_config *cfg, const char *user, const char **tell,
		      char *reason, size_t reasonlen)
{
	struct a0_identity id = { 0 };
	char why[SYNCED_WHY_MAX] = "";
	struct synced s = read_synced(cfg, user, &id, why, sizeof(why));
	int r;

	r = check_account(cfg, user, &s, tell, reason, reasonlen);
	a0_identity_clear(&id);
	return r;
}

int a0_policy_login_name_identity(const struct a0_config *cfg, const char *user,
				  const struct a0_identity *id, char **ret)
{
	if (id && !id->local && id->login)
		return a0_strdup_into(ret, id->login);
	return a0_config_username(cfg, user, ret);
}

int a0_policy_login_name(const struct a0_config *cfg, const char *user, char **ret)
{
	struct a0_identity id = { 0 };
	char reason[256];
	int r;

	/* No readable cache: the template (the policy check reports the cache's trouble). */
	r = a0_policy_synced(cfg, user, &id, reason, sizeof(reason));
	r = a0_policy_login_name_identity(cfg, user, r == 0 ? &id : NULL, ret);
	a0_identity_clear(&id);
	return r;
}

/* The binding the identity cache holds for an account that exists only in Auth0. */
static int check_synced(const char *user, const char *sub, const struct synced *s,
			const char **tell, char *reason, size_t reasonlen)
{
	char a[A0_SHOW_MAX + 1], b[A0_SHOW_MAX + 1], c[A0_SHOW_MAX + 1];
	const struct a0_identity *id = s->id;

	if (s->r == A0_ERR_NOT_FOUND)
		return s->r;
	if (s->r < 0)
		return synced_error(s, tell, reason, reasonlen);
	if (id->local)
		return A0_ERR_NOT_FOUND; /* a local account: only users_file binds it */
	if (!sub || strcmp(sub, id->user_id) != 0)
		return deny(tell, tell_other_account, reason, reasonlen,
			    "identity cache: sub is '%s', '%s' is Auth0 user '%s'",
			    sub ? a0_show(sub, a) : "(none)", a0_show(user, b),
			    a0_show(id->user_id, c));
	return check_state(id, user, tell, reason, reasonlen);
}

/*
 * Is the identity the one this account is bound to? users_file, which only root writes, comes
 * first; then the synced identity cache (auth0-sync), then user_claim when configured. With neither there is no binding, and whoever signed
 * up under this account's name is refused: the reason tells the administrator how to bind it.
 */
static int check_identity(const struct a0_config *cfg, const char *user, const struct synced *s,
			  const cJSON *claims, const char **tell, char *reason, size_t reasonlen)
{
	const char *sub = a0_json_string(claims, "sub");
	char a[A0_SHOW_MAX + 1], b[A0_SHOW_MAX + 1], c[A0_SHOW_MAX + 1];
	char *bound = NULL;
	int r;

	r = a0_config_user_binding(cfg, user, &bound, reason, reasonlen);
	if (r == A0_ERR_CONFIG) {
		*tell = NULL;
		return r;
	}
	if (r == 0) {
		if (!sub || strcmp(sub, bound) != 0)
			r = deny(tell, tell_other_account, reason, reasonlen,
				 "users_file: sub is '%s', '%s' is bound to '%s'",
				 sub ? a0_show(sub, a) : "(none)", a0_show(user, b),
				 a0_show(bound, c));
		free(bound);
		return r;
	}
	if (r != A0_ERR_NOT_FOUND)
		return r;
	r = check_synced(user, sub, s, tell, reason, reasonlen);
	if (r != A0_ERR_NOT_FOUND)
		return r;
	if (reason && reasonlen)
		reason[0] = '\0';
	if (cfg->user_claim)
		return check_claim(cfg, user, claims, tell, reason, reasonlen);
	return deny(tell, tell_unmatched, reason, reasonlen,
		    "no identity binding: add '%s %s' to %s, or set user_claim "
		    "(pam_auth0.conf(5) IDENTITY)",
		    a0_show(user, a), sub ? a0_show(sub, b) : "USER_ID",
		    a0_show(cfg->users_file, c));
}

/* May that identity use this account? */
static int check_access(const struct a0_config *cfg, const char *user, const struct synced *s,
			const cJSON *claims, const char **tell, char *reason, size_t reasonlen)
{
	const cJSON *groups, *g;
	char buf[A0_SHOW_MAX + 1], why[512];
	int r;

	if (cfg->allowed_users.n && !a0_list_contains(&cfg->allowed_users, user))
		return deny(tell, tell_not_allowed, reason, reasonlen,
			    "allowed_users: '%s' is not listed", a0_show(user, buf));
	/* The synced state and roles, as the account phase checks them for every login. The
	 * reason so far (a binding by a trusted claim) stays unless this refuses. */
	r = check_account(cfg, user, s, tell, why, sizeof(why));
	if (r != 0 && r != A0_ERR_NOT_FOUND) {
		a0_format(reason, reasonlen, "%s", why);
		return r;
	}
	if (!cfg->allowed_groups.n)
		return 0;
	groups = cJSON_GetObjectItemCaseSensitive(claims, cfg->groups_claim);
	if (!cJSON_IsArray(groups))
		return deny(tell, tell_not_allowed, reason, reasonlen,
			    "allowed_groups: the token has no array claim '%s'",
			    a0_show(cfg->groups_claim, buf));
	cJSON_ArrayForEach(g, groups)
		if (cJSON_IsString(g) && a0_list_contains(&cfg->allowed_groups, g->valuestring))
			return 0;
	return deny(tell, tell_not_allowed, reason, reasonlen,
		    "allowed_groups: claim '%s' holds none of them",
		    a0_show(cfg->groups_claim, buf));
}

static int check(const struct a0_config *cfg, const char *user, const struct synced *s,
		 const cJSON *claims, const char **tell, char *reason, size_t reasonlen)
{
	int r;

	if (reason && reasonlen)
		reason[0] = '\0';
	r = check_identity(cfg, user, s, claims, tell, reason, reasonlen);
	return r < 0 ? r : check_access(cfg, user, s, claims, tell, reason, reasonlen);
}

int a0_policy_check_identity(const struct a0_config *cfg, const char *user,
			     const struct a0_identity *id, const cJSON *claims, const char **tell,
			     char *reason, size_t reasonlen)
{
	struct synced s = synced_of(id);

	return check(cfg, user, &s, claims, tell, reason, reasonlen);
}

int a0_policy_check(const struct a0_config *cfg, const char *user, const cJSON *claims,
		    const char **tell, char *reason, size_t reasonlen)
{
	struct a0_identity id = { 0 };
	char why[SYNCED_WHY_MAX] = "";
	struct synced s = read_synced(cfg, user, &id, why, sizeof(why)); /* for every rule */
	int r;

	r = check(cfg, user, &s, claims, tell, reason, reasonlen);
	a0_identity_clear(&id);
	return r;
}

static bool is_address(const char *s)
{
	return s && a0_email_address_ok(s);
}

/* A template's expansion for user when it is an address: 0 (*ret set or left NULL), or an error. */
static int address_of_template(const char *tmpl, const char *user, char **ret)
{
	char *s = NULL;
	int r;

	if (!tmpl)
		return 0;
	r = a0_template_expand(tmpl, user, &s);
	if (r == A0_ERR_INVALID)
		return 0;
	if (r < 0)
		return r;
	if (is_address(s))
		*ret = s;
	else
		free(s);
	return 0;
}

int a0_policy_email(const struct a0_config *cfg, const char *user, const struct a0_identity *id,
		    const cJSON *claims, char **ret)
{
	const char *email = claims ? a0_json_string(claims, "email") : NULL;
	const cJSON *verified = claims ? cJSON_GetObjectItemCaseSensitive(claims, "email_verified")
				       : NULL;
	char *found = NULL;
	int r = 0;

	if (id && !id->local && is_address(id->login))
		return a0_strdup_into(ret, id->login);
	if (is_address(email) && cJSON_IsTrue(verified))
		return a0_strdup_into(ret, email);
	if (cfg->user_claim && strcmp(cfg->user_claim, "email") == 0)
		r = address_of_template(cfg->user_claim_template ? cfg->user_claim_template
								 : cfg->username,
					user, &found);
	if (r == 0 && !found)
		r = address_of_template(cfg->username, user, &found);
	if (r < 0)
		return r;
	if (!found)
		return A0_ERR_NOT_FOUND;
	*ret = found;
	return 0;
}
