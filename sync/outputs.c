/* SPDX-License-Identifier: MIT */
/* What auth0-sync writes from its state (sync/rules.h): the identities file and the NSS cache. */
#include "config.h"

#include <grp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/util.h"
#include "nss/cache.h"
#include "sync/rules.h"
#include "sync/sync.h"

static const enum a0_identity_state identity_states[] = {
	[A0_SYNC_ACTIVE] = A0_IDENTITY_ACTIVE,
	[A0_SYNC_BLOCKED] = A0_IDENTITY_BLOCKED,
	[A0_SYNC_DELETED] = A0_IDENTITY_DELETED,
};

/* ---- the identities file ---- */

/* By name; for one name, an entry that is not a tombstone, then the latest tombstone. */
static int cmp_listed(const void *a, const void *b)
{
	const struct a0_sync_entry *x = *(const struct a0_sync_entry *const *)a;
	const struct a0_sync_entry *y = *(const struct a0_sync_entry *const *)b;
	bool dx = x->state == A0_SYNC_DELETED, dy = y->state == A0_SYNC_DELETED;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (dx != dy)
		return dx ? 1 : -1;
	if (x->deleted_at != y->deleted_at)
		return x->deleted_at > y->deleted_at ? -1 : 1;
	return strcmp(x->user_id, y->user_id);
}

/* auth0-broker's group when it exists: it may read the identities (identities.h). */
static gid_t reader_group(void)
{
	struct group gr, *found = NULL;
	char buf[4096];

	if (getgrnam_r(A0_IDENTITIES_READER_GROUP, &gr, buf, sizeof(buf), &found) != 0 || !found)
		return (gid_t)-1;
	return gr.gr_gid;
}

static int write_identities(const struct a0_sync_state *s, const char *path, char *err,
			    size_t errlen)
{
	const struct a0_sync_entry **v = calloc(s->n_users + 1, sizeof(*v));
	struct a0_identity *ids = calloc(s->n_users + 1, sizeof(*ids));
	size_t n = 0, k = 0;
	int r;

	if (!v || !ids) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_users; i++)
		if (!s->users[i].shadowed)
			v[n++] = &s->users[i];
	a0_sort(v, n, sizeof(*v), cmp_listed);
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(ids[k - 1].name, v[i]->name) == 0)
			continue;
		ids[k++] = (struct a0_identity){
			.name = v[i]->name,
			.user_id = v[i]->user_id,
			.login = v[i]->login,
			.state = identity_states[v[i]->state],
			.roles = v[i]->roles,
			.n_roles = v[i]->n_roles,
			.local = v[i]->local,
		};
	}
	r = a0_identities_write(path, ids, k, s->generated, reader_group(), err, errlen);
out:
	free(v);
	free(ids); /* the strings are the state's */
	return r;
}

/* ---- the NSS cache ---- */

/* Served by NSS: active or blocked, neither a local account nor shadowed. */
static bool served(const struct a0_sync_entry *e)
{
	return e->state != A0_SYNC_DELETED && !e->local && !e->shadowed;
}

/* A member of groups: active and not shadowed (a local-bound account too). */
static bool member(const struct a0_sync_entry *e)
{
	return e->state == A0_SYNC_ACTIVE && !e->shadowed;
}

/* (role, member name), to find a role's members. */
struct held {
	const char *role, *name;
};

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	int c = strcmp(x->role, y->role);

	return c ? c : strcmp(x->name, y->name);
}

static int cmp_strs(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Where role's members start in the sorted held, and how many there are. */
static size_t members_of(const struct held *h, size_t n, const char *role, size_t *ret_first)
{
	size_t lo = 0, hi = n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(h[mid].role, role) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < n && strcmp(h[end].role, role) == 0; end++)
		;
	*ret_first = lo;
	return end - lo;
}

struct cache {
	struct a0_cache_user *users;
	size_t n_users;
	struct a0_cache_group *groups;
	size_t n_groups;
	char **homes;
	const char **members; /* every group's members, one after the other */
	size_t n_members;
	struct held *held;
	size_t n_held;
};

static void cache_free(struct cache *c, size_t n_homes)
{
	for (size_t i = 0; c->homes && i < n_homes; i++)
		free(c->homes[i]);
	free(c->homes);
	free(c->users);
	free(c->groups);
	free(c->members);
	free(c->held);
}

/* The members of the local groups named as s->groups[i] (local), merged into c->members. */
static size_t local_members(const struct a0_sync_state *s, size_t i, struct cache *c)
{
	size_t start = c->n_members;

	for (size_t j = i; j < s->n_groups; j++) {
		size_t first, n;

		if (!s->groups[j].local || strcmp(s->groups[j].name, s->groups[i].name) != 0)
			continue;
		n = members_of(c->held, c->n_held, s->groups[j].role, &first);
		for (size_t k = 0; k < n; k++)
			c->members[c->n_members++] = c->held[first + k].name;
	}
	a0_sort(c->members + start, c->n_members - start, sizeof(*c->members), cmp_strs);
	/* The same user through two roles mapped to one group: once. */
	{
		size_t w = start;

		for (size_t k = start; k < c->n_members; k++)
			if (w == start || strcmp(c->members[w - 1], c->members[k]) != 0)
				c->members[w++] = c->members[k];
		c->n_members = w;
	}
	return c->n_members - start;
}

static int write_cache(const struct a0_config *cfg, const struct a0_sync_state *s, const char *path,
		       char *err, size_t errlen)
{
	struct cache c = { 0 };
	size_t n_served = 0, n_held = 0, n_homes = 0, n_local = 0;
	int r = 0;

	if (strlen(cfg->shell) > A0_CACHE_MAX_FIELD) {
		a0_format(err, errlen, "shell: longer than %d bytes", A0_CACHE_MAX_FIELD);
		return A0_ERR_CONFIG;
	}
	for (size_t i = 0; i < s->n_groups; i++)
		n_local += s->groups[i].local;
	for (size_t i = 0; i < s->n_users; i++) {
		n_served += served(&s->users[i]);
		if (member(&s->users[i]))
			n_held += s->users[i].n_roles;
	}
	c.users = calloc(n_served + 1, sizeof(*c.users));
	c.homes = calloc(n_served + 1, sizeof(*c.homes));
	c.groups = calloc(n_served + s->n_groups + 1, sizeof(*c.groups));
	c.held = calloc(n_held + 1, sizeof(*c.held));
	/* A holding is a member of its role's group and of each local group the role maps to. */
	c.members = calloc(n_held * (1 + n_local) + 1, sizeof(*c.members));
	if (!c.users || !c.homes || !c.groups || !c.held || !c.members) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_users; i++) {
		const struct a0_sync_entry *e = &s->users[i];

		if (member(e))
			for (size_t k = 0; k < e->n_roles; k++)
				c.held[c.n_held++] = (struct held){ e->roles[k], e->name };
		if (!served(e))
			continue;
		r = a0_template_expand(cfg->home_template, e->name, &c.homes[n_homes]);
		if (r == A0_ERR_INVALID) {
			a0_format(err, errlen, "home_template: the home of %s is too long",
				  e->name);
			r = A0_ERR_CONFIG;
		}
		if (r < 0)
			goto out;
		if (strlen(c.homes[n_homes]) > A0_CACHE_MAX_FIELD) {
			a0_format(err, errlen,
				  "home_template: the home of %s is longer than %d bytes", e->name,
				  A0_CACHE_MAX_FIELD);
			n_homes++;
			r = A0_ERR_CONFIG;
			goto out;
		}
		c.users[c.n_users++] = (struct a0_cache_user){
			.name = e->name,
			.uid = e->uid,
			.gid = e->gid,
			.gecos = e->gecos ? e->gecos : "",
			.dir = c.homes[n_homes++],
			.shell = cfg->shell,
		};
		/* The user's private group, named as the user. */
		c.groups[c.n_groups++] = (struct a0_cache_group){ .name = e->name, .gid = e->gid };
	}
	a0_sort(c.held, c.n_held, sizeof(*c.held), cmp_held);
	for (size_t i = 0; i < s->n_groups; i++) {
		const struct a0_sync_group *g = &s->groups[i];
		size_t first, n;
		bool seen = false;

		if (g->deleted || g->shadowed)
			continue;
		if (!g->local) {
			n = members_of(c.held, c.n_held, g->role, &first);
			for (size_t k = 0; k < n; k++)
				c.members[c.n_members + k] = c.held[first + k].name;
			first = c.n_members;
			c.n_members += n;
		} else {
			/* One cache group per local group, whatever the number of roles mapped. */
			for (size_t j = 0; j < i && !seen; j++)
				seen = s->groups[j].local &&
				       strcmp(s->groups[j].name, g->name) == 0;
			if (seen)
				continue;
			first = c.n_members;
			n = local_members(s, i, &c);
		}
		c.groups[c.n_groups++] = (struct a0_cache_group){
			.name = g->name,
			.gid = g->gid,
			.members = n ? c.members + first : NULL,
			.n_members = n,
			.local = g->local,
		};
	}
	r = a0_cache_write(path, c.users, c.n_users, c.groups, c.n_groups, s->generated, err,
			   errlen);
out:
	cache_free(&c, n_homes);
	return r;
}

int a0_sync_write_outputs(const struct a0_config *cfg, const struct a0_sync_state *state,
			  const char *cache_path, const char *identities_path, char *err,
			  size_t errlen)
{
	int r = write_identities(state, identities_path, err, errlen);

	/* The identities first: a block takes effect even when the cache cannot be written. */
	if (r == 0)
		r = write_cache(cfg, state, cache_path, err, errlen);
	return r;
}
