/* SPDX-License-Identifier: MIT */
/* Freeing what sync/sync.h declares: a run's data and the state. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sync/sync.h"

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void a0_sync_user_clear(struct a0_sync_user *u)
{
	free(u->user_id);
	free(u->username);
	free(u->email);
	free(u->posix_username);
	free(u->gecos);
	free(u->updated_at);
	memset(u, 0, sizeof(*u));
}

void a0_sync_data_free(struct a0_sync_data *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->users && i < d->n_users; i++)
		a0_sync_user_clear(&d->users[i]);
	free(d->users);
	for (size_t i = 0; d->roles && i < d->n_roles; i++) {
		free(d->roles[i].id);
		free(d->roles[i].name);
		strv_free(d->roles[i].members, d->roles[i].n_members);
	}
	free(d->roles);
	free(d->max_updated_at);
	memset(d, 0, sizeof(*d));
}

void a0_sync_state_free(struct a0_sync_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->users && i < s->n_users; i++) {
		struct a0_sync_entry *e = &s->users[i];

		free(e->user_id);
		free(e->name);
		free(e->login);
		free(e->gecos);
		strv_free(e->roles, e->n_roles);
	}
	free(s->users);
	for (size_t i = 0; s->groups && i < s->n_groups; i++) {
		free(s->groups[i].role_id);
		free(s->groups[i].role);
		free(s->groups[i].name);
	}
	free(s->groups);
	for (size_t i = 0; s->retired && i < s->n_retired; i++)
		free(s->retired[i].owner);
	free(s->retired);
	free(s->watermark);
	memset(s, 0, sizeof(*s));
}
