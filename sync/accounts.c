/* SPDX-License-Identifier: MIT */
/*
 * The host's own accounts and groups for the identity rules (sync/rules.h, struct
 * a0_sync_local): the passwd and group files read once, then looked up by binary search.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/util.h"
#include "sync/rules.h"

struct named {
	char *name;
	unsigned id;
};

struct a0_sync_accounts {
	struct named *users, *groups; /* sorted by name */
	size_t n_users, n_groups;
	unsigned *ids; /* every uid and gid, sorted */
	size_t n_ids;
};

struct list {
	struct named *v;
	size_t n, cap;
};

static int add(struct list *l, const char *name, unsigned id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct named *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return A0_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		return A0_ERR_NOMEM;
	l->v[l->n++].id = id;
	return 0;
}

static void list_free(struct named *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

/* One file, passwd (group = false) or group: every name with its uid or gid in *l, and each
 * primary gid of passwd in *extra. */
static int read_file(const char *path, bool group, struct list *l, struct list *extra, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		a0_format(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	for (;;) {
		if (l->n == A0_SYNC_MAX_LOCAL) {
			a0_format(err, errlen, "%s: more than %d entries", path, A0_SYNC_MAX_LOCAL);
			r = A0_ERR_TOO_LARGE;
			break;
		}
		if (group) {
			struct group *g = fgetgrent(f);

			if (!g)
				break;
			r = add(l, g->gr_name, (unsigned)g->gr_gid);
		} else {
			struct passwd *p = fgetpwent(f);

			if (!p)
				break;
			r = add(l, p->pw_name, (unsigned)p->pw_uid);
			if (r == 0)
				r = add(extra, "", (unsigned)p->pw_gid);
		}
		if (r < 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		a0_format(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		r = A0_ERR_SYSTEM;
	}
	(void)fclose(f);
	return r;
}

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static int cmp_ids(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int a0_sync_accounts_read(const char *passwd, const char *group, struct a0_sync_accounts **ret,
			  char *err, size_t errlen)
{
	struct list users = { 0 }, groups = { 0 }, primary = { 0 };
	struct a0_sync_accounts *a = NULL;
	size_t n = 0;
	int r;

	r = read_file(passwd, false, &users, &primary, err, errlen);
	if (r == 0)
		r = read_file(group, true, &groups, NULL, err, errlen);
	if (r < 0)
		goto out;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->ids = calloc(users.n + groups.n + primary.n + 1, sizeof(*a->ids)))) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < users.n; i++)
		a->ids[n++] = users.v[i].id;
	for (size_t i = 0; i < primary.n; i++)
		a->ids[n++] = primary.v[i].id;
	for (size_t i = 0; i < groups.n; i++)
		a->ids[n++] = groups.v[i].id;
	a0_sort(a->ids, n, sizeof(*a->ids), cmp_ids);
	a->n_ids = n;
	a0_sort(users.v, users.n, sizeof(*users.v), cmp_named);
	a0_sort(groups.v, groups.n, sizeof(*groups.v), cmp_named);
	a->users = users.v;
	a->n_users = users.n;
	a->groups = groups.v;
	a->n_groups = groups.n;
	users = groups = (struct list){ 0 };
	*ret = a;
	a = NULL;
out:
	a0_sync_accounts_free(a);
	list_free(users.v, users.n);
	list_free(groups.v, groups.n);
	list_free(primary.v, primary.n);
	return r;
}

void a0_sync_accounts_free(struct a0_sync_accounts *a)
{
	if (!a)
		return;
	list_free(a->users, a->n_users);
	list_free(a->groups, a->n_groups);
	free(a->ids);
	free(a);
}

static const struct named *find(const struct named *v, size_t n, const char *name)
{
	for (size_t lo = 0, hi = n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid].name, name);

		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int user_named(void *ctx, const char *name)
{
	const struct a0_sync_accounts *a = ctx;

	return find(a->users, a->n_users, name) != NULL;
}

static int group_named(void *ctx, const char *name, unsigned *ret_gid)
{
	const struct a0_sync_accounts *a = ctx;
	const struct named *g = find(a->groups, a->n_groups, name);

	if (!g)
		return 0;
	*ret_gid = g->id;
	return 1;
}

static int id_used(void *ctx, unsigned id)
{
	const struct a0_sync_accounts *a = ctx;

	return bsearch(&id, a->ids, a->n_ids, sizeof(*a->ids), cmp_ids) != NULL;
}

void a0_sync_accounts_local(struct a0_sync_accounts *a, struct a0_sync_local *ret)
{
	*ret = (struct a0_sync_local){
		.user_named = user_named,
		.group_named = group_named,
		.id_used = id_used,
		.ctx = a,
	};
}
