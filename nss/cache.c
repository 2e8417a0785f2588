/* SPDX-License-Identifier: MIT */
/*
 * The identity cache's reader (nss/format.h): a read-only mapping, binary searches over the
 * sorted indexes, every record number, string offset and run checked against its section on
 * every access. libc only: this is linked into libnss_auth0.so.2, which every process loads.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nss/cache.h"
#include "nss/format.h"

struct a0_cache {
	const unsigned char *base;
	size_t size;
	void *map; /* base, when a0_cache_open mapped it: unmapped by a0_cache_close */
	struct a0_cache_header h;
	const unsigned char *sec[A0_SEC_COUNT];
	size_t sec_size[A0_SEC_COUNT];
	/* The file it maps: for a0_cache_same_file. */
	dev_t dev;
	ino_t ino;
	off_t st_size;
	struct timespec mtim, ctim;
};

static uint32_t u32_at(const unsigned char *p, size_t i)
{
	uint32_t v;

	memcpy(&v, p + i * sizeof(v), sizeof(v));
	return v;
}

/* The string at offset off of the strings section: NUL-terminated within A0_CACHE_MAX_FIELD
 * bytes and within the section, else NULL. */
static const char *string_at(const struct a0_cache *c, uint32_t off)
{
	size_t size = c->sec_size[A0_SEC_STRINGS], max;
	const char *p;

	if (off >= size)
		return NULL;
	p = (const char *)c->sec[A0_SEC_STRINGS] + off;
	max = size - off;
	if (max > A0_CACHE_MAX_FIELD + 1)
		max = A0_CACHE_MAX_FIELD + 1;
	return memchr(p, '\0', max) ? p : NULL;
}

/* Whether [first, first + n) lies within a section of count items. */
static bool run_ok(uint32_t first, uint32_t n, size_t count)
{
	return first <= count && n <= count - first;
}

static bool section_ok(const struct a0_cache_section *s, size_t file_size, size_t header_size)
{
	return s->off % A0_CACHE_ALIGN == 0 && s->off >= header_size && s->off <= file_size &&
	       s->size <= file_size - s->off;
}

/* The header and the sections' bounds: constant time, whatever the file's size. */
static int check(struct a0_cache *c)
{
	const struct a0_cache_header *h = &c->h;
	uint64_t items[A0_SEC_COUNT]; /* each section's size in bytes, from the counts */

	if (c->size < sizeof(*h))
		return -EBADMSG;
	memcpy(&c->h, c->base, sizeof(c->h));
	if (memcmp(h->magic, A0_CACHE_MAGIC, A0_CACHE_MAGIC_LEN) != 0 ||
	    h->version != A0_CACHE_VERSION || h->header_size != sizeof(*h) ||
	    h->file_size != c->size || h->user_size != sizeof(struct a0_cache_urec) ||
	    h->group_size != sizeof(struct a0_cache_grec) ||
	    h->membership_size != sizeof(struct a0_cache_mrec) || h->reserved != 0)
		return -EBADMSG;
	if (h->n_users > A0_CACHE_MAX_USERS || h->n_groups > A0_CACHE_MAX_GROUPS ||
	    h->n_served_groups > h->n_groups || h->n_memberships > A0_CACHE_MAX_MEMBERSHIPS)
		return -EBADMSG;
	items[A0_SEC_USERS] = (uint64_t)h->n_users * sizeof(struct a0_cache_urec);
	items[A0_SEC_GROUPS] = (uint64_t)h->n_groups * sizeof(struct a0_cache_grec);
	items[A0_SEC_USERS_BY_NAME] = (uint64_t)h->n_users * sizeof(struct a0_cache_key);
	items[A0_SEC_USERS_BY_UID] = (uint64_t)h->n_users * sizeof(struct a0_cache_key);
	items[A0_SEC_GROUPS_BY_NAME] = (uint64_t)h->n_served_groups * sizeof(struct a0_cache_key);
	items[A0_SEC_GROUPS_BY_GID] = (uint64_t)h->n_served_groups * sizeof(struct a0_cache_key);
	items[A0_SEC_MEMBERSHIPS] = (uint64_t)h->n_memberships * sizeof(struct a0_cache_mrec);
	for (int i = 0; i < A0_SEC_COUNT; i++) {
		const struct a0_cache_section *s = &h->sec[i];

		if (!section_ok(s, c->size, sizeof(*h)))
			return -EBADMSG;
		switch (i) {
		case A0_SEC_MEMBERS:
		case A0_SEC_GIDS:
			if (s->size % sizeof(uint32_t) != 0)
				return -EBADMSG;
			break;
		case A0_SEC_STRINGS:
			if (s->size > UINT32_MAX)
				return -EBADMSG;
			break;
		default:
			if (s->size != items[i])
				return -EBADMSG;
		}
		c->sec[i] = c->base + s->off;
		c->sec_size[i] = (size_t)s->size;
	}
	return 0;
}

int a0_cache_from_memory(const void *data, size_t size, struct a0_cache **ret)
{
	struct a0_cache *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->base = data;
	c->size = size;
	r = check(c);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int a0_cache_open_owned(const char *path, uid_t owner, struct a0_cache **ret)
{
	struct a0_cache *c = NULL;
	struct stat st;
	void *map;
	int fd, r;

	/* O_NONBLOCK: a FIFO put there must not hang every lookup on the host. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		r = -EPERM;
		goto out;
	}
	if (st.st_size < (off_t)sizeof(struct a0_cache_header) || (uint64_t)st.st_size > SIZE_MAX) {
		r = -EBADMSG;
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	r = a0_cache_from_memory(map, (size_t)st.st_size, &c);
	if (r < 0) {
		munmap(map, (size_t)st.st_size);
		goto out;
	}
	c->map = map;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->st_size = st.st_size;
	c->mtim = st.st_mtim;
	c->ctim = st.st_ctim;
	*ret = c;
out:
	close(fd);
	return r;
}

int a0_cache_open(const char *path, struct a0_cache **ret)
{
	return a0_cache_open_owned(path, 0, ret);
}

void a0_cache_close(struct a0_cache *c)
{
	if (!c)
		return;
	if (c->map)
		munmap(c->map, c->size);
	free(c);
}

time_t a0_cache_generated(const struct a0_cache *c)
{
	return (time_t)c->h.generated;
}

size_t a0_cache_n_users(const struct a0_cache *c)
{
	return c->h.n_users;
}

size_t a0_cache_n_groups(const struct a0_cache *c)
{
	return c->h.n_groups;
}

size_t a0_cache_n_served_groups(const struct a0_cache *c)
{
	return c->h.n_served_groups;
}

bool a0_cache_same_file(const struct a0_cache *c, const struct stat *st)
{
	return c->map && st->st_dev == c->dev && st->st_ino == c->ino &&
	       st->st_size == c->st_size && st->st_mtim.tv_sec == c->mtim.tv_sec &&
	       st->st_mtim.tv_nsec == c->mtim.tv_nsec && st->st_ctim.tv_sec == c->ctim.tv_sec &&
	       st->st_ctim.tv_nsec == c->ctim.tv_nsec;
}

/* User record n, its strings checked. */
static int user(const struct a0_cache *c, uint32_t n, struct a0_cache_pw *ret)
{
	struct a0_cache_urec u;
	struct a0_cache_pw pw;

	if (n >= c->h.n_users)
		return -EBADMSG;
	memcpy(&u, c->sec[A0_SEC_USERS] + (size_t)n * sizeof(u), sizeof(u));
	pw.name = string_at(c, u.name);
	pw.gecos = string_at(c, u.gecos);
	pw.dir = string_at(c, u.dir);
	pw.shell = string_at(c, u.shell);
	if (!pw.name || !pw.gecos || !pw.dir || !pw.shell)
		return -EBADMSG;
	pw.uid = u.uid;
	pw.gid = u.gid;
	*ret = pw;
	return 0;
}

/* Served group record n, its name and members' run checked. */
static int group(const struct a0_cache *c, uint32_t n, struct a0_cache_gr *ret)
{
	struct a0_cache_grec g;
	struct a0_cache_gr gr;

	if (n >= c->h.n_groups)
		return -EBADMSG;
	memcpy(&g, c->sec[A0_SEC_GROUPS] + (size_t)n * sizeof(g), sizeof(g));
	gr.name = string_at(c, g.name);
	if (!gr.name || (g.flags & A0_CACHE_GROUP_LOCAL) || g.n_members > A0_CACHE_MAX_MEMBERS ||
	    !run_ok(g.members, g.n_members, c->sec_size[A0_SEC_MEMBERS] / sizeof(uint32_t)))
		return -EBADMSG;
	gr.gid = g.gid;
	gr.n_members = g.n_members;
	gr.first = g.members;
	*ret = gr;
	return 0;
}

static struct a0_cache_key key_at(const struct a0_cache *c, enum a0_cache_section_id index,
				  size_t i)
{
	struct a0_cache_key k;

	memcpy(&k, c->sec[index] + i * sizeof(k), sizeof(k));
	return k;
}

/* The key of entry i of a sorted section: its first 32 bits (an index entry's key, a
 * membership's hash). */
static uint32_t sort_key(const struct a0_cache *c, enum a0_cache_section_id sec, size_t size,
			 size_t i)
{
	uint32_t k;

	memcpy(&k, c->sec[sec] + i * size, sizeof(k));
	return k;
}

/* The name entry i of a name index stands for, or NULL when it points outside the file. */
typedef const char *name_fn(const struct a0_cache *c, size_t i);

static const char *user_name(const struct a0_cache *c, size_t i)
{
	uint32_t n = key_at(c, A0_SEC_USERS_BY_NAME, i).rec;
	struct a0_cache_urec u;

	if (n >= c->h.n_users)
		return NULL;
	memcpy(&u, c->sec[A0_SEC_USERS] + (size_t)n * sizeof(u), sizeof(u));
	return string_at(c, u.name);
}

static const char *group_name(const struct a0_cache *c, size_t i)
{
	uint32_t n = key_at(c, A0_SEC_GROUPS_BY_NAME, i).rec;
	struct a0_cache_grec g;

	if (n >= c->h.n_groups)
		return NULL;
	memcpy(&g, c->sec[A0_SEC_GROUPS] + (size_t)n * sizeof(g), sizeof(g));
	return string_at(c, g.name);
}

static const char *membership_name(const struct a0_cache *c, size_t i)
{
	struct a0_cache_mrec m;

	memcpy(&m, c->sec[A0_SEC_MEMBERSHIPS] + i * sizeof(m), sizeof(m));
	return string_at(c, m.name);
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return (a > b) - (a < b);
}

/*
 * The first steps of a search guess where the key lies from the keys at both ends of the range
 * (interpolation: hashes are uniform, ids mostly dense), which finds it in two or three reads
 * of the index whatever its size; the steps after them halve the range, so that keys spread
 * unevenly cost O(log n), never more.
 */
#define GUESSES 4
#define GUESS_MIN_RANGE 16

/*
 * Search the n entries of size bytes of section sec, sorted by their first 32 bits and, when
 * name_of is given, then by the name each stands for (ids are unique: their indexes need no
 * second key). Only the keys are read until one equals the key sought, so the search stays in
 * the one compact array. The position found, -ENOENT, or -EBADMSG when a name it needed lies
 * outside the file. On a corrupt (unsorted) section it may miss an entry, but every read stays
 * in the range, which shrinks at every step.
 */
static int64_t search(const struct a0_cache *c, enum a0_cache_section_id sec, size_t size, size_t n,
		      uint32_t key, const char *name, name_fn *name_of)
{
	size_t lo = 0, hi = n;

	for (int step = 0; lo < hi; step++) {
		size_t mid = lo + (hi - lo) / 2;
		int d;

		if (step < GUESSES && hi - lo >= GUESS_MIN_RANGE) {
			uint32_t first = sort_key(c, sec, size, lo);
			uint32_t last = sort_key(c, sec, size, hi - 1);

			if (key < first || key > last)
				return -ENOENT;
			if (last > first)
				mid = lo + (size_t)((uint64_t)(key - first) * (hi - 1 - lo) /
						    (last - first));
		}
		d = cmp_u32(key, sort_key(c, sec, size, mid));
		if (d == 0 && name_of) {
			const char *other = name_of(c, mid);

			if (!other)
				return -EBADMSG;
			d = strcmp(name, other);
		}
		if (d == 0)
			return (int64_t)mid;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

/* The record an index names for key (and name), or -ENOENT / -EBADMSG. */
static int64_t lookup(const struct a0_cache *c, enum a0_cache_section_id index, size_t n,
		      uint32_t key, const char *name, name_fn *name_of)
{
	int64_t pos = search(c, index, sizeof(struct a0_cache_key), n, key, name, name_of);

	return pos < 0 ? pos : key_at(c, index, (size_t)pos).rec;
}

/* A name longer than any the writer accepts is in no index. */
static bool name_fits(const char *name)
{
	return memchr(name, '\0', A0_CACHE_MAX_NAME + 1) != NULL;
}

int a0_cache_user_by_name(const struct a0_cache *c, const char *name, struct a0_cache_pw *ret)
{
	int64_t rec;

	if (!name_fits(name))
		return -ENOENT;
	rec = lookup(c, A0_SEC_USERS_BY_NAME, c->h.n_users, a0_cache_hash(name), name, user_name);
	return rec < 0 ? (int)rec : user(c, (uint32_t)rec, ret);
}

int a0_cache_user_by_uid(const struct a0_cache *c, uint32_t uid, struct a0_cache_pw *ret)
{
	int64_t rec = lookup(c, A0_SEC_USERS_BY_UID, c->h.n_users, uid, NULL, NULL);
	int r;

	if (rec < 0)
		return (int)rec;
	r = user(c, (uint32_t)rec, ret);
	/* An index entry whose key is not its record's uid: corrupt. */
	return r == 0 && ret->uid != uid ? -EBADMSG : r;
}

int a0_cache_user_at(const struct a0_cache *c, size_t i, struct a0_cache_pw *ret)
{
	if (i >= c->h.n_users)
		return -ENOENT;
	return user(c, key_at(c, A0_SEC_USERS_BY_UID, i).rec, ret);
}

int a0_cache_group_by_name(const struct a0_cache *c, const char *name, struct a0_cache_gr *ret)
{
	int64_t rec;

	if (!name_fits(name))
		return -ENOENT;
	rec = lookup(c, A0_SEC_GROUPS_BY_NAME, c->h.n_served_groups, a0_cache_hash(name), name,
		     group_name);
	return rec < 0 ? (int)rec : group(c, (uint32_t)rec, ret);
}

int a0_cache_group_by_gid(const struct a0_cache *c, uint32_t gid, struct a0_cache_gr *ret)
{
	int64_t rec = lookup(c, A0_SEC_GROUPS_BY_GID, c->h.n_served_groups, gid, NULL, NULL);
	int r;

	if (rec < 0)
		return (int)rec;
	r = group(c, (uint32_t)rec, ret);
	return r == 0 && ret->gid != gid ? -EBADMSG : r;
}

int a0_cache_group_at(const struct a0_cache *c, size_t i, struct a0_cache_gr *ret)
{
	if (i >= c->h.n_served_groups)
		return -ENOENT;
	return group(c, key_at(c, A0_SEC_GROUPS_BY_GID, i).rec, ret);
}

const char *a0_cache_member(const struct a0_cache *c, const struct a0_cache_gr *g, size_t i)
{
	size_t count = c->sec_size[A0_SEC_MEMBERS] / sizeof(uint32_t);

	/* g came from group(), which checked its run; checked again for a caller's own g. */
	if (i >= g->n_members || !run_ok(g->first, (uint32_t)g->n_members, count))
		return NULL;
	return string_at(c, u32_at(c->sec[A0_SEC_MEMBERS], (size_t)g->first + i));
}

int a0_cache_groups_of(const struct a0_cache *c, const char *name, struct a0_cache_gids *ret)
{
	struct a0_cache_mrec m;
	int64_t pos;

	if (!name_fits(name))
		return -ENOENT;
	/* The memberships are sorted by (hash, name) themselves: their own index. */
	pos = search(c, A0_SEC_MEMBERSHIPS, sizeof(m), c->h.n_memberships, a0_cache_hash(name),
		     name, membership_name);
	if (pos < 0)
		return (int)pos;
	memcpy(&m, c->sec[A0_SEC_MEMBERSHIPS] + (size_t)pos * sizeof(m), sizeof(m));
	if (m.n_gids == 0 || m.n_gids > A0_CACHE_MAX_USER_GROUPS ||
	    !run_ok(m.gids, m.n_gids, c->sec_size[A0_SEC_GIDS] / sizeof(uint32_t)))
		return -EBADMSG;
	ret->at = c->sec[A0_SEC_GIDS] + (size_t)m.gids * sizeof(uint32_t);
	ret->n = m.n_gids;
	return 0;
}

uint32_t a0_cache_gid(const struct a0_cache_gids *g, size_t i)
{
	return u32_at(g->at, i);
}

bool a0_cache_name_ok(const char *name)
{
	size_t n = strnlen(name, A0_CACHE_MAX_NAME + 1);

	if (n == 0 || n > A0_CACHE_MAX_NAME)
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}
