/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/priv.h"

/* More supplementary groups than this is a broken account database, not a user. */
#define MAX_GROUPS 65536

/* setfsuid/setfsgid report no error: set, then read back with an invalid id (no change). */
static int set_fsuid(uid_t uid)
{
	setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int set_fsgid(gid_t gid)
{
	setfsgid(gid);
	if ((gid_t)setfsgid((gid_t)-1) != gid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* The user's groups from the account database; *ret is malloc'd. */
static int user_groups(const struct a0_user *u, gid_t **ret, int *ret_n)
{
	gid_t *list = NULL;
	int n = 16;

	if (!u->name) {
		list = malloc(sizeof(*list));
		if (!list)
			return A0_ERR_NOMEM;
		list[0] = u->gid;
		*ret = list;
		*ret_n = 1;
		return 0;
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		int want = n;
		gid_t *grown = realloc(list, (size_t)want * sizeof(*list));

		if (!grown) {
			free(list);
			return A0_ERR_NOMEM;
		}
		list = grown;
		/* -1 with n set to the number needed when the list is too short. */
		if (getgrouplist(u->name, u->gid, list, &n) >= 0) {
			*ret = list;
			*ret_n = n;
			return 0;
		}
		if (n <= want || n > MAX_GROUPS)
			break;
	}
	free(list);
	errno = E2BIG;
	return A0_ERR_SYSTEM;
}

static int saved_groups(struct a0_priv *p)
{
	int n = getgroups(0, NULL);

	if (n < 0)
		return A0_ERR_SYSTEM;
	p->groups = malloc((size_t)(n > 0 ? n : 1) * sizeof(*p->groups));
	if (!p->groups)
		return A0_ERR_NOMEM;
	p->ngroups = getgroups(n, p->groups);
	if (p->ngroups < 0)
		return A0_ERR_SYSTEM;
	return 0;
}

int a0_priv_regain(struct a0_priv *p)
{
	int saved_errno = 0;
	bool ok = true;

	if (!p->switched)
		return 0;
	/* Real ids first: setresuid also resets the fsuid to the euid. */
	if (p->ruid_set) {
		if (setresuid(p->ruid, (uid_t)-1, (uid_t)-1) < 0) {
			ok = false;
			saved_errno = errno;
		} else {
			p->ruid_set = false;
		}
	}
	if (p->rgid_set) {
		if (setresgid(p->rgid, (gid_t)-1, (gid_t)-1) < 0) {
			ok = false;
			saved_errno = errno;
		} else {
			p->rgid_set = false;
		}
	}
	if (p->fsuid_set) {
		if (set_fsuid(p->fsuid) < 0) {
			ok = false;
			saved_errno = errno;
		} else {
			p->fsuid_set = false;
		}
	}
	if (p->fsgid_set) {
		if (set_fsgid(p->fsgid) < 0) {
			ok = false;
			saved_errno = errno;
		} else {
			p->fsgid_set = false;
		}
	}
	if (p->groups_set) {
		if (setgroups((size_t)p->ngroups, p->groups) < 0) {
			ok = false;
			saved_errno = errno;
		} else {
			p->groups_set = false;
		}
	}
	if (!ok) {
		/* Keep what is left to undo: the caller may try again, and must not go on. */
		errno = saved_errno;
		return A0_ERR_SYSTEM;
	}
	free(p->groups);
	p->groups = NULL;
	p->switched = false;
	return 0;
}

int a0_priv_drop(struct a0_priv *p, const struct a0_user *u, unsigned flags)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	gid_t *groups = NULL;
	int ngroups = 0, r;

	memset(p, 0, sizeof(*p));
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return A0_ERR_SYSTEM;
	if (euid != 0) {
		/* Not privileged: acting as oneself needs no switch, anyone else is refused. */
		if (euid == u->uid && (uid_t)setfsuid((uid_t)-1) == u->uid &&
		    (!(flags & A0_PRIV_REAL) || ruid == u->uid))
			return 0;
		errno = EPERM;
		return A0_ERR_SYSTEM;
	}

	p->ruid = ruid;
	p->rgid = rgid;
	p->fsuid = (uid_t)setfsuid((uid_t)-1);
	p->fsgid = (gid_t)setfsgid((gid_t)-1);
	r = saved_groups(p);
	if (r == 0)
		r = user_groups(u, &groups, &ngroups);
	if (r < 0)
		goto fail;
	p->switched = true;

	r = A0_ERR_SYSTEM;
	if (setgroups((size_t)ngroups, groups) < 0)
		goto fail;
	p->groups_set = true;
	if (flags & A0_PRIV_REAL) {
		if (setresgid(u->gid, (gid_t)-1, (gid_t)-1) < 0)
			goto fail;
		p->rgid_set = true;
		if (setresuid(u->uid, (uid_t)-1, (uid_t)-1) < 0)
			goto fail;
		p->ruid_set = true;
	}
	/* After setresuid, which resets the fs ids to the effective ones. */
	if (set_fsgid(u->gid) < 0)
		goto fail;
	p->fsgid_set = true;
	if (set_fsuid(u->uid) < 0)
		goto fail;
	p->fsuid_set = true;
	free(groups);
	return 0;

fail : {
	int saved_errno = errno;

	free(groups);
	/* Undo the partial switch; should that fail too, p keeps what is left for the caller's
	 * a0_priv_regain. */
	if (a0_priv_regain(p) == 0) {
		free(p->groups);
		memset(p, 0, sizeof(*p));
	}
	errno = saved_errno;
	return r;
}
}
