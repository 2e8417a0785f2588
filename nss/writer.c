/* SPDX-License-Identifier: MIT */
/*
 * The identity cache's writer (nss/format.h), for auth0-sync: checks every name and field,
 * refuses duplicates, computes the indexes and each member's groups, and replaces the file
 * atomically. Not linked into the NSS module.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/util.h"
#include "nss/cache.h"
#include "nss/format.h"

/* The strings section: each distinct string once, found through an open-addressing table. */
struct strtab {
	char *buf;
	size_t len, cap;
	uint32_t *slots; /* offset + 1 of a string, 0 for an empty slot */
	size_t n_slots, count;
};

#define STRTAB_FIRST_SLOTS 1024

static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int strtab_grow_slots(struct strtab *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : STRTAB_FIRST_SLOTS;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < t->n_slots; i++) {
		uint32_t v = t->slots[i];
		size_t j;

		if (!v)
			continue;
		for (j = hash(t->buf + v - 1) & (n - 1); slots[j]; j = (j + 1) & (n - 1))
			;
		slots[j] = v;
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n;
	return 0;
}

/* The offset of s in the strings section, adding it the first time. */
static int intern(struct strtab *t, const char *s, uint32_t *ret)
{
	size_t len = strlen(s), j;
	int r;

	if (t->count * 2 >= t->n_slots && (r = strtab_grow_slots(t)) < 0)
		return r;
	for (j = hash(s) & (t->n_slots - 1); t->slots[j]; j = (j + 1) & (t->n_slots - 1)) {
		if (strcmp(t->buf + t->slots[j] - 1, s) == 0) {
			*ret = t->slots[j] - 1;
			return 0;
		}
	}
	/* Offsets (plus one, in the table) are 32-bit. */
	if (len + 1 > UINT32_MAX - 1 - t->len)
		return A0_ERR_TOO_LARGE;
	if (t->len + len + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *buf;

		while (cap < t->len + len + 1)
			cap *= 2;
		buf = realloc(t->buf, cap);
		if (!buf)
			return A0_ERR_NOMEM;
		t->buf = buf;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, len + 1);
	t->slots[j] = (uint32_t)t->len + 1;
	*ret = (uint32_t)t->len;
	t->len += len + 1;
	t->count++;
	return 0;
}

static void strtab_free(struct strtab *t)
{
	free(t->buf);
	free(t->slots);
}

/* A name and its position, for sorting by name (its hash first, as the indexes) or by id. */
struct key {
	const char *name;
	uint32_t hash; /* a0_cache_hash(name) */
	uint32_t id;
	uint32_t n; /* index in the caller's array */
};

static int cmp_u32(uint32_t a, uint32_t b)
{
	return (a > b) - (a < b);
}

static int by_name(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int d = cmp_u32(x->hash, y->hash);

	return d ? d : strcmp(x->name, y->name);
}

static int by_id(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	return cmp_u32(x->id, y->id);
}

/* A gecos, home directory or shell: one line of at most A0_CACHE_MAX_FIELD bytes, without
 * the ':' that separates passwd fields; a path is absolute. */
static bool field_ok(const char *s, bool path)
{
	size_t n = strnlen(s, A0_CACHE_MAX_FIELD + 1);

	return n <= A0_CACHE_MAX_FIELD && a0_text_ok(s, n, A0_TEXT_LINE) && !memchr(s, ':', n) &&
	       (!path || s[0] == '/');
}

/* Neither root's id nor (uid_t)-1, which chown(2) and setreuid(2) read as "unchanged". */
static bool id_ok(uint32_t id)
{
	return id != 0 && id != UINT32_MAX;
}

static int check_users(const struct a0_cache_user *users, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct a0_cache_user *u = &users[i];

		if (!u->name || !a0_cache_name_ok(u->name)) {
			a0_format(err, errlen,
				  "user %zu: not a valid name (^[a-z_][a-z0-9_-]*$, %d at most)", i,
				  A0_CACHE_MAX_NAME);
			return A0_ERR_INVALID;
		}
		if (!id_ok(u->uid) || !id_ok(u->gid)) {
			a0_format(err, errlen,
				  "user %s: uid %u, gid %u: 0 and 4294967295 are refused", u->name,
				  u->uid, u->gid);
			return A0_ERR_INVALID;
		}
		if ((u->gecos && !field_ok(u->gecos, false)) || !u->dir ||
		    !field_ok(u->dir, true) || !u->shell || !field_ok(u->shell, true)) {
			a0_format(err, errlen,
				  "user %s: gecos, home or shell is missing, too long, or holds "
				  "':' or a control character",
				  u->name);
			return A0_ERR_INVALID;
		}
	}
	return 0;
}

static int check_groups(const struct a0_cache_group *groups, size_t n, size_t *ret_memberships,
			char *err, size_t errlen)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		const struct a0_cache_group *g = &groups[i];

		if (!g->name || !a0_cache_name_ok(g->name)) {
			a0_format(err, errlen,
				  "group %zu: not a valid name (^[a-z_][a-z0-9_-]*$, %d at most)",
				  i, A0_CACHE_MAX_NAME);
			return A0_ERR_INVALID;
		}
		if (!id_ok(g->gid)) {
			a0_format(err, errlen, "group %s: gid %u: 0 and 4294967295 are refused",
				  g->name, g->gid);
			return A0_ERR_INVALID;
		}
		if (g->n_members > A0_CACHE_MAX_MEMBERS || (g->n_members && !g->members)) {
			a0_format(err, errlen, "group %s: %zu members, %d at most", g->name,
				  g->n_members, A0_CACHE_MAX_MEMBERS);
			return A0_ERR_INVALID;
		}
		for (size_t j = 0; j < g->n_members; j++) {
			if (!g->members[j] || !a0_cache_name_ok(g->members[j])) {
				a0_format(err, errlen, "group %s: member %zu: not a valid name",
					  g->name, j);
				return A0_ERR_INVALID;
			}
		}
		total += g->n_members;
		if (total > A0_CACHE_MAX_MEMBERSHIPS) {
			a0_format(err, errlen, "over %d group members in all",
				  A0_CACHE_MAX_MEMBERSHIPS);
			return A0_ERR_INVALID;
		}
	}
	*ret_memberships = total;
	return 0;
}

/* Sort keys by name (hash first) and by id; the first duplicate of either is refused (equal
 * names sort next to each other either way). */
static int unique(struct key *by_n, struct key *by_i, size_t n, const char *what, char *err,
		  size_t errlen)
{
	qsort(by_n, n, sizeof(*by_n), by_name);
	qsort(by_i, n, sizeof(*by_i), by_id);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(by_n[i - 1].name, by_n[i].name) == 0) {
			a0_format(err, errlen, "two %ss named %s", what, by_n[i].name);
			return A0_ERR_INVALID;
		}
		if (by_i[i - 1].id == by_i[i].id) {
			a0_format(err, errlen, "%ss %s and %s have the same id %u", what,
				  by_i[i - 1].name, by_i[i].name, by_i[i].id);
			return A0_ERR_INVALID;
		}
	}
	return 0;
}

/* One member of one group: sorted by name (hash first) then gid, they give each name's groups. */
struct pair {
	const char *name;
	uint32_t hash;
	uint32_t gid;
};

static int by_member(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int d = cmp_u32(x->hash, y->hash);

	if (d == 0)
		d = strcmp(x->name, y->name);
	return d ? d : cmp_u32(x->gid, y->gid);
}

static size_t align_up(size_t n)
{
	return (n + A0_CACHE_ALIGN - 1) & ~(size_t)(A0_CACHE_ALIGN - 1);
}

static void put_u32(unsigned char *p, size_t i, uint32_t v)
{
	memcpy(p + i * sizeof(v), &v, sizeof(v));
}

static void put_key(unsigned char *p, size_t i, uint32_t key, uint32_t rec)
{
	struct a0_cache_key k = { .key = key, .rec = rec };

	memcpy(p + i * sizeof(k), &k, sizeof(k));
}

/* What the file will hold, built in memory. */
struct build {
	struct key *u_name, *u_id, *g_name, *g_id;
	struct pair *pairs;
	size_t n_pairs, n_memberships, n_served;
	struct strtab strings;
	unsigned char *file;
	size_t file_size;
};

static void build_free(struct build *b)
{
	free(b->u_name);
	free(b->u_id);
	free(b->g_name);
	free(b->g_id);
	free(b->pairs);
	strtab_free(&b->strings);
	free(b->file);
}

static int keys_of(struct build *b, const struct a0_cache_user *users, size_t n_users,
		   const struct a0_cache_group *groups, size_t n_groups)
{
	b->u_name = calloc(n_users + 1, sizeof(struct key));
	b->u_id = calloc(n_users + 1, sizeof(struct key));
	b->g_name = calloc(n_groups + 1, sizeof(struct key));
	b->g_id = calloc(n_groups + 1, sizeof(struct key));
	b->pairs = calloc(b->n_pairs + 1, sizeof(struct pair));
	if (!b->u_name || !b->u_id || !b->g_name || !b->g_id || !b->pairs)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < n_users; i++)
		b->u_name[i] = b->u_id[i] = (struct key){ .name = users[i].name,
							  .hash = a0_cache_hash(users[i].name),
							  .id = users[i].uid,
							  .n = (uint32_t)i };
	for (size_t i = 0, k = 0; i < n_groups; i++) {
		b->g_name[i] = b->g_id[i] = (struct key){ .name = groups[i].name,
							  .hash = a0_cache_hash(groups[i].name),
							  .id = groups[i].gid,
							  .n = (uint32_t)i };
		for (size_t j = 0; j < groups[i].n_members; j++)
			b->pairs[k++] = (struct pair){ .name = groups[i].members[j],
						       .hash = a0_cache_hash(groups[i].members[j]),
						       .gid = groups[i].gid };
		if (!groups[i].local)
			b->n_served++;
	}
	return 0;
}

/* Each name's groups: no member twice in one group, no name in too many groups. */
static int memberships(struct build *b, char *err, size_t errlen)
{
	size_t run = 0;

	qsort(b->pairs, b->n_pairs, sizeof(*b->pairs), by_member);
	for (size_t i = 0; i < b->n_pairs; i++) {
		bool same = i > 0 && strcmp(b->pairs[i - 1].name, b->pairs[i].name) == 0;

		if (same && b->pairs[i - 1].gid == b->pairs[i].gid) {
			a0_format(err, errlen, "%s is listed twice in group %u", b->pairs[i].name,
				  b->pairs[i].gid);
			return A0_ERR_INVALID;
		}
		run = same ? run + 1 : 1;
		if (run > A0_CACHE_MAX_USER_GROUPS) {
			a0_format(err, errlen, "%s is a member of over %d groups", b->pairs[i].name,
				  A0_CACHE_MAX_USER_GROUPS);
			return A0_ERR_INVALID;
		}
		if (!same)
			b->n_memberships++;
	}
	return 0;
}

static int layout(struct build *b, const struct a0_cache_user *users, size_t n_users,
		  const struct a0_cache_group *groups, size_t n_groups, time_t generated)
{
	struct a0_cache_header h = { .version = A0_CACHE_VERSION,
				     .header_size = sizeof(h),
				     .generated = (int64_t)generated,
				     .n_users = (uint32_t)n_users,
				     .n_groups = (uint32_t)n_groups,
				     .n_served_groups = (uint32_t)b->n_served,
				     .n_memberships = (uint32_t)b->n_memberships,
				     .user_size = sizeof(struct a0_cache_urec),
				     .group_size = sizeof(struct a0_cache_grec),
				     .membership_size = sizeof(struct a0_cache_mrec) };
	uint32_t *user_rec = NULL, *group_rec = NULL, empty;
	unsigned char *sec[A0_SEC_COUNT];
	size_t off, k;
	int r;

	memcpy(h.magic, A0_CACHE_MAGIC, A0_CACHE_MAGIC_LEN);
	/* Record numbers: users in uid order, groups in gid order. */
	user_rec = calloc(n_users + 1, sizeof(*user_rec));
	group_rec = calloc(n_groups + 1, sizeof(*group_rec));
	if (!user_rec || !group_rec) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_users; i++)
		user_rec[b->u_id[i].n] = (uint32_t)i;
	for (size_t i = 0; i < n_groups; i++)
		group_rec[b->g_id[i].n] = (uint32_t)i;
	/* Every string first, so that the strings section's size is known. */
	if ((r = intern(&b->strings, "", &empty)) < 0)
		goto out;
	for (size_t i = 0; i < n_users; i++) {
		const struct a0_cache_user *u = &users[i];
		uint32_t o;

		if ((r = intern(&b->strings, u->name, &o)) < 0 ||
		    (u->gecos && (r = intern(&b->strings, u->gecos, &o)) < 0) ||
		    (r = intern(&b->strings, u->dir, &o)) < 0 ||
		    (r = intern(&b->strings, u->shell, &o)) < 0)
			goto out;
	}
	for (size_t i = 0; i < n_groups; i++) {
		uint32_t o;

		if ((r = intern(&b->strings, groups[i].name, &o)) < 0)
			goto out;
		for (size_t j = 0; j < groups[i].n_members; j++)
			if ((r = intern(&b->strings, groups[i].members[j], &o)) < 0)
				goto out;
	}
	{
		const size_t sizes[A0_SEC_COUNT] = {
			[A0_SEC_USERS] = n_users * sizeof(struct a0_cache_urec),
			[A0_SEC_GROUPS] = n_groups * sizeof(struct a0_cache_grec),
			[A0_SEC_USERS_BY_NAME] = n_users * sizeof(struct a0_cache_key),
			[A0_SEC_USERS_BY_UID] = n_users * sizeof(struct a0_cache_key),
			[A0_SEC_GROUPS_BY_NAME] = b->n_served * sizeof(struct a0_cache_key),
			[A0_SEC_GROUPS_BY_GID] = b->n_served * sizeof(struct a0_cache_key),
			[A0_SEC_MEMBERS] = b->n_pairs * sizeof(uint32_t),
			[A0_SEC_MEMBERSHIPS] = b->n_memberships * sizeof(struct a0_cache_mrec),
			[A0_SEC_GIDS] = b->n_pairs * sizeof(uint32_t),
			[A0_SEC_STRINGS] = b->strings.len,
		};

		off = align_up(sizeof(h));
		for (int i = 0; i < A0_SEC_COUNT; i++) {
			h.sec[i] = (struct a0_cache_section){ .off = off, .size = sizes[i] };
			off = align_up(off + sizes[i]);
		}
	}
	h.file_size = off;
	b->file_size = off;
	b->file = calloc(1, off);
	if (!b->file) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	memcpy(b->file, &h, sizeof(h));
	for (int i = 0; i < A0_SEC_COUNT; i++)
		sec[i] = b->file + h.sec[i].off;
	memcpy(sec[A0_SEC_STRINGS], b->strings.buf, b->strings.len);

	for (size_t i = 0; i < n_users; i++) {
		const struct a0_cache_user *u = &users[b->u_id[i].n];
		struct a0_cache_urec rec = { .uid = u->uid, .gid = u->gid, .gecos = empty };

		(void)intern(&b->strings, u->name, &rec.name); /* found: it cannot fail */
		if (u->gecos)
			(void)intern(&b->strings, u->gecos, &rec.gecos);
		(void)intern(&b->strings, u->dir, &rec.dir);
		(void)intern(&b->strings, u->shell, &rec.shell);
		memcpy(sec[A0_SEC_USERS] + i * sizeof(rec), &rec, sizeof(rec));
		put_key(sec[A0_SEC_USERS_BY_UID], i, u->uid, (uint32_t)i);
		put_key(sec[A0_SEC_USERS_BY_NAME], i, b->u_name[i].hash, user_rec[b->u_name[i].n]);
	}
	k = 0;
	for (size_t i = 0; i < n_groups; i++) {
		const struct a0_cache_group *g = &groups[b->g_id[i].n];
		struct a0_cache_grec rec = { .gid = g->gid,
					     .members = (uint32_t)k,
					     .n_members = (uint32_t)g->n_members,
					     .flags = g->local ? A0_CACHE_GROUP_LOCAL : 0 };

		(void)intern(&b->strings, g->name, &rec.name);
		for (size_t j = 0; j < g->n_members; j++, k++) {
			uint32_t o;

			(void)intern(&b->strings, g->members[j], &o);
			put_u32(sec[A0_SEC_MEMBERS], k, o);
		}
		memcpy(sec[A0_SEC_GROUPS] + i * sizeof(rec), &rec, sizeof(rec));
	}
	/* The served groups' indexes leave local groups out. */
	k = 0;
	for (size_t i = 0; i < n_groups; i++)
		if (!groups[b->g_id[i].n].local)
			put_key(sec[A0_SEC_GROUPS_BY_GID], k++, b->g_id[i].id, (uint32_t)i);
	k = 0;
	for (size_t i = 0; i < n_groups; i++)
		if (!groups[b->g_name[i].n].local)
			put_key(sec[A0_SEC_GROUPS_BY_NAME], k++, b->g_name[i].hash,
				group_rec[b->g_name[i].n]);
	/* Memberships: one record per name, its gids a sorted run. */
	k = 0;
	for (size_t i = 0; i < b->n_pairs; i++) {
		struct a0_cache_mrec m;

		put_u32(sec[A0_SEC_GIDS], i, b->pairs[i].gid);
		if (i > 0 && strcmp(b->pairs[i - 1].name, b->pairs[i].name) == 0) {
			memcpy(&m, sec[A0_SEC_MEMBERSHIPS] + (k - 1) * sizeof(m), sizeof(m));
			m.n_gids++;
			memcpy(sec[A0_SEC_MEMBERSHIPS] + (k - 1) * sizeof(m), &m, sizeof(m));
			continue;
		}
		m = (struct a0_cache_mrec){ .hash = b->pairs[i].hash,
					    .gids = (uint32_t)i,
					    .n_gids = 1 };
		(void)intern(&b->strings, b->pairs[i].name, &m.name);
		memcpy(sec[A0_SEC_MEMBERSHIPS] + k * sizeof(m), &m, sizeof(m));
		k++;
	}
	r = 0;
out:
	free(user_rec);
	free(group_rec);
	return r;
}

/* Write b's file at path through a temporary file in the same directory. */
static int replace(const char *path, const struct build *b, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	int fd = -1, dfd = -1, r;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		a0_format(err, errlen, "%s: path too long", path);
		return A0_ERR_INVALID;
	}
	/* Its directory (shorter than tmp, so it fits). */
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		a0_format(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	/* World-readable (it holds no secrets), whatever the umask. */
	if (fchmod(fd, 0644) < 0 || a0_write_full(fd, b->file, b->file_size) < 0 || fsync(fd) < 0) {
		a0_format(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r < 0 || rename(tmp, path) < 0) {
		a0_format(err, errlen, "cannot replace %s: %s", path, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	tmp[0] = '\0'; /* renamed: nothing to remove */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		a0_format(err, errlen, "cannot sync %s: %s", dir, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp[0])
		(void)unlink(tmp);
	return r;
}

int a0_cache_write(const char *path, const struct a0_cache_user *users, size_t n_users,
		   const struct a0_cache_group *groups, size_t n_groups, time_t generated,
		   char *err, size_t errlen)
{
	struct build b = { 0 };
	int r;

	if (!path || (n_users && !users) || (n_groups && !groups)) {
		a0_format(err, errlen, "no path, users or groups");
		return A0_ERR_INVALID;
	}
	if (n_users > A0_CACHE_MAX_USERS || n_groups > A0_CACHE_MAX_GROUPS) {
		a0_format(err, errlen, "%zu users and %zu groups: %d and %d at most", n_users,
			  n_groups, A0_CACHE_MAX_USERS, A0_CACHE_MAX_GROUPS);
		return A0_ERR_INVALID;
	}
	if ((r = check_users(users, n_users, err, errlen)) < 0 ||
	    (r = check_groups(groups, n_groups, &b.n_pairs, err, errlen)) < 0)
		return r;
	if ((r = keys_of(&b, users, n_users, groups, n_groups)) < 0)
		goto out;
	if ((r = unique(b.u_name, b.u_id, n_users, "user", err, errlen)) < 0 ||
	    (r = unique(b.g_name, b.g_id, n_groups, "group", err, errlen)) < 0 ||
	    (r = memberships(&b, err, errlen)) < 0)
		goto out;
	r = layout(&b, users, n_users, groups, n_groups, generated);
	if (r == A0_ERR_TOO_LARGE) {
		a0_format(err, errlen, "the names and fields are over 4 GiB in all");
		r = A0_ERR_INVALID;
	}
	if (r < 0)
		goto out;
	r = replace(path, &b, err, errlen);
out:
	if (r == A0_ERR_NOMEM)
		a0_format(err, errlen, "out of memory");
	build_free(&b);
	return r;
}
