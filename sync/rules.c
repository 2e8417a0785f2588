/* SPDX-License-Identifier: MIT */
/* The identity rules of auth0-sync (sync/rules.h): a run's data merged into the state. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <syslog.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/util.h"
#include "sync/rules.h"
#include "sync/sync.h"

#define SHOW_MAX 80       /* bytes of outside text in a log line */
#define LOG_LINE_MAX 1024 /* one log line */

/* ---- the derivation ---- */

unsigned a0_sync_derive_id(const char *key, unsigned min, unsigned max)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return min + (unsigned)(h % ((uint64_t)max - min + 1));
}

/* ---- owners: who holds an id or a name ---- */

/*
 * A reference to what holds an id or a name: its kind in the top two bits, its index in the
 * state's array below. Indexes stay valid while a run adds to the arrays (realloc moves the
 * structs, not their strings, and nothing is sorted until the maps are gone). 0 is no one.
 */
enum { REF_USER = 1, REF_GROUP = 2, REF_RETIRED = 3 };
#define REF(kind, i) ((uint32_t)(kind) << 30 | (uint32_t)(i))
#define REF_KIND(ref) ((ref) >> 30)
#define REF_INDEX(ref) ((ref)&0x3fffffffU)

struct slot {
	uint32_t key; /* an id, or a name's hash */
	uint32_t ref;
};
struct map {
	struct slot *v;
	size_t cap, n; /* cap: a power of two, at least twice n */
};

/* Everything one run works with. */
struct run {
	const struct a0_config *cfg;
	const struct a0_sync_local *local;
	a0_sync_log_fn log;
	void *ctx;
	struct a0_sync_state *s; /* the new state, a copy until it replaces the caller's */
	struct map ids;          /* id -> owner */
	struct map names;        /* name -> user or role group (not tombstones) */
	time_t now;              /* the data's fetched_at */
	char err[256];
};

static void say(const struct run *r, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct run *r, int priority, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (!r->log)
		return;
	va_start(ap, fmt);
	a0_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log(r->ctx, priority, "%s", line);
}

/* Outside text for a log line: printable, no blank, at most SHOW_MAX bytes; "-" for none. */
#define SHOW_BUF             \
	(char[SHOW_MAX + 1]) \
	{                    \
		0            \
	}
static const char *show(const char *s, char buf[SHOW_MAX + 1])
{
	size_t n;

	if (!s)
		return "-";
	n = strnlen(s, SHOW_MAX);
	memcpy(buf, s, n);
	buf[n] = '\0';
	a0_text_scrub(buf, n, A0_TEXT_TOKEN);
	return buf;
}

static uint32_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static size_t slot_of(uint32_t key, size_t cap)
{
	return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

static int map_grow(struct map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct slot *v = calloc(cap, sizeof(*v));

	if (!v)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->v[i].ref)
			continue;
		for (j = slot_of(m->v[i].key, cap); v[j].ref; j = (j + 1) & (cap - 1))
			;
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
	return 0;
}

/* The state's string that a reference names: the owner's key, or the holder's name. */
static const char *ref_key(const struct run *r, uint32_t ref)
{
	switch (REF_KIND(ref)) {
	case REF_USER:
		return r->s->users[REF_INDEX(ref)].user_id;
	case REF_GROUP:
		return r->s->groups[REF_INDEX(ref)].role_id;
	default:
		return r->s->retired[REF_INDEX(ref)].owner;
	}
}

static const char *ref_name(const struct run *r, uint32_t ref)
{
	return REF_KIND(ref) == REF_USER ? r->s->users[REF_INDEX(ref)].name
					 : r->s->groups[REF_INDEX(ref)].name;
}

/* Whether two references are the same owner: a user (or its retired ids), or a role. */
static bool same_owner(const struct run *r, uint32_t a, uint32_t b)
{
	bool role_a = REF_KIND(a) == REF_GROUP, role_b = REF_KIND(b) == REF_GROUP;

	return role_a == role_b && strcmp(ref_key(r, a), ref_key(r, b)) == 0;
}

/* Who owns id, or 0. */
static uint32_t id_owner(const struct run *r, unsigned id)
{
	const struct map *m = &r->ids;

	if (!m->cap)
		return 0;
	for (size_t i = slot_of(id, m->cap); m->v[i].ref; i = (i + 1) & (m->cap - 1))
		if (m->v[i].key == id)
			return m->v[i].ref;
	return 0;
}

/* Give id to ref: 0, 1 when another owner has it (nothing changes), A0_ERR_NOMEM. */
static int id_claim(struct run *r, unsigned id, uint32_t ref)
{
	uint32_t had = id_owner(r, id);
	size_t i;

	if (had)
		return same_owner(r, had, ref) ? 0 : 1;
	if ((r->ids.n + 1) * 2 > r->ids.cap && map_grow(&r->ids) < 0)
		return A0_ERR_NOMEM;
	for (i = slot_of(id, r->ids.cap); r->ids.v[i].ref; i = (i + 1) & (r->ids.cap - 1))
		;
	r->ids.v[i] = (struct slot){ .key = id, .ref = ref };
	r->ids.n++;
	return 0;
}

/* The slot of name in the name map, or the empty slot where it would go. */
static size_t name_slot(const struct run *r, const char *name, uint32_t h)
{
	const struct map *m = &r->names;
	size_t i;

	for (i = slot_of(h, m->cap); m->v[i].ref; i = (i + 1) & (m->cap - 1))
		if (m->v[i].key == h && strcmp(ref_name(r, m->v[i].ref), name) == 0)
			break;
	return i;
}

/* Who holds name, or 0. */
static uint32_t name_holder(const struct run *r, const char *name)
{
	return r->names.cap ? r->names.v[name_slot(r, name, hash_name(name))].ref : 0;
}

/* Record that ref holds its name: 0, 1 when another holds it, A0_ERR_NOMEM. */
static int name_claim(struct run *r, uint32_t ref)
{
	const char *name = ref_name(r, ref);
	uint32_t h = hash_name(name), had = name_holder(r, name);
	size_t i;

	if (had)
		return had == ref ? 0 : 1;
	if ((r->names.n + 1) * 2 > r->names.cap && map_grow(&r->names) < 0)
		return A0_ERR_NOMEM;
	i = name_slot(r, name, h);
	r->names.v[i] = (struct slot){ .key = h, .ref = ref };
	r->names.n++;
	return 0;
}

/* Forget that ref holds its (current) name: linear probing's deletion by shifting back. */
static void name_release(struct run *r, uint32_t ref)
{
	struct map *m = &r->names;
	const char *name = ref_name(r, ref);
	size_t i, j, k;

	if (!m->cap)
		return;
	i = name_slot(r, name, hash_name(name));
	if (m->v[i].ref != ref)
		return;
	for (j = i;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->v[j].ref)
			break;
		k = slot_of(m->v[j].key, m->cap);
		/* Move j back to i unless its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->v[i] = m->v[j];
		i = j;
	}
	m->v[i] = (struct slot){ 0 };
	m->n--;
}

/* "user_id=X" or "role_id=X" of a reference, for a log line. */
static const char *owner_text(const struct run *r, uint32_t ref, char buf[SHOW_MAX + 16])
{
	char b[SHOW_MAX + 1];

	snprintf(buf, SHOW_MAX + 16, "%s=%s", REF_KIND(ref) == REF_GROUP ? "role_id" : "user_id",
		 show(ref_key(r, ref), b));
	return buf;
}
#define OWNER_BUF             \
	(char[SHOW_MAX + 16]) \
	{                     \
		0             \
	}

/* ---- the state's own consistency ---- */

/*
 * Enter every id and name of r->s in the maps: A0_ERR_INVALID (r->err) when the state gives an
 * id to two owners or a name to two holders, or holds an id of 0.
 */
static int index_state(struct run *r)
{
	struct a0_sync_state *s = r->s;
	char b[SHOW_MAX + 1];
	int x = 0;

	for (size_t i = 0; i < s->n_users && x == 0; i++) {
		const struct a0_sync_entry *e = &s->users[i];

		if (!e->uid || !e->gid) {
			a0_format(r->err, sizeof(r->err), "user_id=%s has no uid or gid",
				  show(e->user_id, b));
			return A0_ERR_INVALID;
		}
		x = id_claim(r, e->uid, REF(REF_USER, i));
		if (x == 0)
			x = id_claim(r, e->gid, REF(REF_USER, i));
		if (x == 1)
			a0_format(r->err, sizeof(r->err),
				  "user_id=%s: its uid %u or gid %u is another's",
				  show(e->user_id, b), e->uid, e->gid);
		if (x == 0 && e->state != A0_SYNC_DELETED) {
			x = name_claim(r, REF(REF_USER, i));
			if (x == 1)
				a0_format(r->err, sizeof(r->err),
					  "user_id=%s: its name is another's", show(e->user_id, b));
		}
	}
	for (size_t i = 0; i < s->n_groups && x == 0; i++) {
		const struct a0_sync_group *g = &s->groups[i];

		if (g->local)
			continue;
		if (!g->gid) {
			a0_format(r->err, sizeof(r->err), "role_id=%s has no gid",
				  show(g->role_id, b));
			return A0_ERR_INVALID;
		}
		x = id_claim(r, g->gid, REF(REF_GROUP, i));
		if (x == 0 && !g->deleted)
			x = name_claim(r, REF(REF_GROUP, i));
		if (x == 1)
			a0_format(r->err, sizeof(r->err),
				  "role_id=%s: its gid %u or name is another's",
				  show(g->role_id, b), g->gid);
	}
	for (size_t i = 0; i < s->n_retired && x == 0; i++) {
		x = id_claim(r, s->retired[i].id, REF(REF_RETIRED, i));
		if (x == 1)
			a0_format(r->err, sizeof(r->err), "retired id %u is another's",
				  s->retired[i].id);
	}
	return x == 1 ? A0_ERR_INVALID : x;
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct a0_sync_entry *)a)->user_id,
		      ((const struct a0_sync_entry *)b)->user_id);
}

/* Role groups by role_id, then local groups by role and name. */
static int cmp_groups(const void *a, const void *b)
{
	const struct a0_sync_group *x = a, *y = b;
	int c;

	if (x->local != y->local)
		return x->local ? 1 : -1;
	if (!x->local)
		return strcmp(x->role_id, y->role_id);
	c = strcmp(x->role, y->role);
	return c ? c : strcmp(x->name, y->name);
}

static int cmp_retired(const void *a, const void *b)
{
	const struct a0_sync_retired *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void free_maps(struct run *r)
{
	free(r->ids.v);
	free(r->names.v);
	r->ids = (struct map){ 0 };
	r->names = (struct map){ 0 };
}

int a0_sync_state_check(const struct a0_sync_state *s, char *err, size_t errlen)
{
	/* index_state reads the state only; the run's pointer is not const for apply's sake. */
	struct a0_sync_state copy = *s;
	struct run r = { .s = &copy };
	int x = 0;

	for (size_t i = 0; i < s->n_users && x == 0; i++) {
		const struct a0_sync_entry *e = &s->users[i];

		if (!e->user_id || !e->name || (unsigned)e->state > A0_SYNC_DELETED)
			x = A0_ERR_INVALID;
		if (i && x == 0 && strcmp(s->users[i - 1].user_id, e->user_id) >= 0) {
			a0_format(r.err, sizeof(r.err),
				  "users not sorted by user_id, or one twice");
			x = A0_ERR_INVALID;
		}
	}
	for (size_t i = 0; i < s->n_groups && x == 0; i++)
		if (!s->groups[i].name || !s->groups[i].role ||
		    (!s->groups[i].local && !s->groups[i].role_id))
			x = A0_ERR_INVALID;
	if (x == 0)
		x = index_state(&r);
	else if (!r.err[0])
		a0_format(r.err, sizeof(r.err), "an entry lacks a field");
	free_maps(&r);
	if (x == A0_ERR_INVALID)
		a0_format(err, errlen, "%s", r.err);
	return x;
}

/* ---- copies ---- */

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : A0_ERR_NOMEM;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int dup_strv(char ***dst, size_t *dst_n, char *const *src, size_t n)
{
	char **v;

	*dst = NULL;
	*dst_n = 0;
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		if (dup_str(&v[i], src[i]) < 0) {
			strv_free(v, i);
			return A0_ERR_NOMEM;
		}
	*dst = v;
	*dst_n = n;
	return 0;
}

/* A deep copy of src into *dst (zeroed first): 0 or A0_ERR_NOMEM (dst then holds a part). */
static int copy_state(const struct a0_sync_state *src, struct a0_sync_state *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n_users && !(dst->users = calloc(src->n_users, sizeof(*dst->users))))
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < src->n_users; i++) {
		const struct a0_sync_entry *e = &src->users[i];
		struct a0_sync_entry *d = &dst->users[i];

		dst->n_users++;
		*d = *e;
		d->user_id = d->name = d->login = d->gecos = NULL;
		d->roles = NULL;
		d->n_roles = 0;
		if (dup_str(&d->user_id, e->user_id) < 0 || dup_str(&d->name, e->name) < 0 ||
		    dup_str(&d->login, e->login) < 0 || dup_str(&d->gecos, e->gecos) < 0 ||
		    dup_strv(&d->roles, &d->n_roles, e->roles, e->n_roles) < 0)
			return A0_ERR_NOMEM;
	}
	if (src->n_groups && !(dst->groups = calloc(src->n_groups, sizeof(*dst->groups))))
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < src->n_groups; i++) {
		const struct a0_sync_group *g = &src->groups[i];
		struct a0_sync_group *d = &dst->groups[i];

		dst->n_groups++;
		*d = *g;
		d->role_id = d->role = d->name = NULL;
		if (dup_str(&d->role_id, g->role_id) < 0 || dup_str(&d->role, g->role) < 0 ||
		    dup_str(&d->name, g->name) < 0)
			return A0_ERR_NOMEM;
	}
	if (src->n_retired && !(dst->retired = calloc(src->n_retired, sizeof(*dst->retired))))
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < src->n_retired; i++) {
		dst->n_retired++;
		dst->retired[i].id = src->retired[i].id;
		if (dup_str(&dst->retired[i].owner, src->retired[i].owner) < 0)
			return A0_ERR_NOMEM;
	}
	dst->last_full = src->last_full;
	dst->generated = src->generated;
	return dup_str(&dst->watermark, src->watermark);
}

/*
 * Room for one more in the array *arrayp (a pointer to the array's pointer) of n items of size
 * bytes, capacity *cap, at most max items: 0, 1 (full), or A0_ERR_NOMEM.
 */
static int grow(void *arrayp, size_t *cap, size_t n, size_t size, size_t max)
{
	void *v, *p;
	size_t c;

	if (n < *cap)
		return 0;
	if (n >= max)
		return 1;
	c = *cap ? *cap * 2 : 64;
	if (c > max)
		c = max;
	memcpy(&v, arrayp, sizeof(v));
	p = reallocarray(v, c, size);
	if (!p)
		return A0_ERR_NOMEM;
	memcpy(arrayp, &p, sizeof(p));
	*cap = c;
	return 0;
}

/* ---- the host's accounts ---- */

static int local_user(const struct run *r, const char *name)
{
	return r->local && r->local->user_named ? r->local->user_named(r->local->ctx, name) : 0;
}

static int local_group(const struct run *r, const char *name, unsigned *ret_gid)
{
	unsigned gid = 0;
	int x = r->local && r->local->group_named ? r->local->group_named(r->local->ctx, name, &gid)
						  : 0;

	if (x == 1 && ret_gid)
		*ret_gid = gid;
	return x;
}

static int local_id(const struct run *r, unsigned id)
{
	return r->local && r->local->id_used ? r->local->id_used(r->local->ctx, id) : 0;
}

/* Whether users_file binds the local account name to user_id: 1, 0, or an error (logged). */
static int bound_to(const struct run *r, const char *name, const char *user_id)
{
	char err[256] = "", *id = NULL;
	int x = a0_config_user_binding(r->cfg, name, &id, err, sizeof(err));

	if (x == A0_ERR_NOT_FOUND)
		return 0;
	if (x < 0) {
		if (x != A0_ERR_NOMEM)
			say(r, LOG_ERR, "users_file unusable: %s", err);
		return x;
	}
	x = strcmp(id, user_id) == 0;
	free(id);
	return x;
}

/* ---- users ---- */

static const char *name_of(const struct run *r, const struct a0_sync_user *u)
{
	const char *attr = r->cfg->name_attribute;

	return attr && strcmp(attr, "username") == 0 ? u->username : u->posix_username;
}

/* Why an explicit (app_metadata.posix) id is refused, or NULL. */
static const char *explicit_refusal(const struct a0_config *cfg, long long id)
{
	long long floor = cfg->min_uid ? cfg->min_uid : 1;

	if (id < floor)
		return "in the system range (below min_uid)";
	if (id > A0_SYNC_ID_MAX)
		return "above 2147483646";
	if (id == A0_SYNC_NOBODY || id == 65535)
		return "nobody's";
	if (id >= cfg->gid_min && id <= cfg->gid_max)
		return "in the role groups' range (gid_min..gid_max)";
	return NULL;
}

static bool gecos_ok(const char *s)
{
	size_t n = strnlen(s, A0_SYNC_MAX_GECOS + 1);

	return n <= A0_SYNC_MAX_GECOS && a0_text_ok(s, n, A0_TEXT_LINE) && !memchr(s, ':', n);
}

/* The fields of u we keep beside the name and ids, checked; what is refused is logged. */
struct fields {
	const char *login, *gecos;
	enum a0_sync_user_state state;
};

static struct fields fields_of(const struct run *r, const struct a0_sync_user *u)
{
	struct fields f = { .state = u->blocked ? A0_SYNC_BLOCKED : A0_SYNC_ACTIVE };

	if (u->username && a0_identity_field_valid(u->username))
		f.login = u->username;
	else if (u->email && a0_identity_field_valid(u->email))
		f.login = u->email;
	else if (u->username || u->email)
		say(r, LOG_WARNING,
		    "user_id=%s: login skipped: its username or email has a blank or control byte "
		    "or is too long",
		    show(u->user_id, SHOW_BUF));
	if (u->gecos && gecos_ok(u->gecos))
		f.gecos = u->gecos;
	else if (u->gecos)
		say(r, LOG_WARNING,
		    "user_id=%s: gecos skipped: it has a control byte or ':' or is "
		    "too long",
		    show(u->user_id, SHOW_BUF));
	return f;
}

static int set_fields(struct a0_sync_entry *e, const struct fields *f)
{
	char *login = NULL, *gecos = NULL;

	if (dup_str(&login, f->login) < 0 || dup_str(&gecos, f->gecos) < 0) {
		free(login);
		return A0_ERR_NOMEM;
	}
	free(e->login);
	free(e->gecos);
	e->login = login;
	e->gecos = gecos;
	e->state = f->state;
	e->deleted_at = 0;
	return 0;
}

/* The name u should have, or NULL after logging why it has none. */
static const char *valid_name(const struct run *r, const struct a0_sync_user *u, const char *then)
{
	const char *name = name_of(r, u);

	if (a0_identity_name_valid(name))
		return name;
	say(r, LOG_WARNING, "user_id=%s name=%s skipped: %s (a name is ^[a-z_][a-z0-9_-]{0,31}$)%s",
	    show(u->user_id, SHOW_BUF), show(name, SHOW_BUF),
	    name ? "not a valid Linux name" : "no name attribute", then);
	return NULL;
}

/* Make entry i a tombstone: its ids stay its own, its name is free. */
static void bury(struct run *r, size_t i)
{
	struct a0_sync_entry *e = &r->s->users[i];

	if (e->state == A0_SYNC_DELETED)
		return;
	name_release(r, REF(REF_USER, i));
	e->state = A0_SYNC_DELETED;
	e->deleted_at = r->now;
}

/* Keep id as owner's for good (the id map has it as theirs already). */
static int retire(struct run *r, unsigned id, const char *owner, size_t *cap)
{
	struct a0_sync_state *s = r->s;
	int x;

	for (size_t i = 0; i < s->n_retired; i++)
		if (s->retired[i].id == id)
			return 0; /* retired before, and came back */
	x = grow(&s->retired, cap, s->n_retired, sizeof(*s->retired), A0_SYNC_MAX_RETIRED);
	if (x == 1)
		say(r, LOG_ERR, "more than %d retired ids", A0_SYNC_MAX_RETIRED);
	if (x != 0)
		return x < 0 ? x : A0_ERR_TOO_LARGE;
	s->retired[s->n_retired].id = id;
	if (dup_str(&s->retired[s->n_retired].owner, owner) < 0)
		return A0_ERR_NOMEM;
	s->n_retired++;
	return 0;
}

/*
 * Whether entry i may take id (an explicit uid or gid it does not hold): NULL, or why not (in
 * buf). *ret_x gets a callback's error.
 */
static const char *id_refusal(struct run *r, size_t i, unsigned id, bool is_explicit, char *buf,
			      size_t size, int *ret_x)
{
	const struct a0_sync_entry *e = &r->s->users[i];
	const char *why = is_explicit ? explicit_refusal(r->cfg, id) : NULL;
	uint32_t owner;
	int x;

	*ret_x = 0;
	if (why)
		return why;
	owner = id_owner(r, id);
	if (owner && !same_owner(r, owner, REF(REF_USER, i))) {
		a0_format(buf, size, "it belongs to %s", owner_text(r, owner, OWNER_BUF));
		return buf;
	}
	if (e->local)
		return NULL;
	x = local_id(r, id);
	if (x < 0)
		*ret_x = x;
	return x ? "a local account or group uses it" : NULL;
}

/*
 * Apply a changed app_metadata.posix.uid/gid to entry i: a change to a valid, free id is made
 * (the old ids retired), another is refused with a log line and the pinned ids stay.
 */
static int update_ids(struct run *r, size_t i, const struct a0_sync_user *u, size_t *retired_cap)
{
	struct a0_sync_entry *e = &r->s->users[i];
	unsigned old_uid = e->uid, old_gid = e->gid, uid = e->uid, gid;
	char why_buf[SHOW_MAX * 2];
	const char *why;
	int x = 0;

	if (u->posix_uid >= 0 && u->posix_uid != (long long)e->uid) {
		why = u->posix_uid > A0_SYNC_ID_MAX ? "above 2147483646"
						    : id_refusal(r, i, (unsigned)u->posix_uid, true,
								 why_buf, sizeof(why_buf), &x);
		if (x < 0)
			return x;
		if (why) {
			say(r, LOG_WARNING,
			    "user_id=%s name=%s: app_metadata.posix.uid %lld refused (%s): it keeps "
			    "uid %u",
			    show(e->user_id, SHOW_BUF), e->name, u->posix_uid, why, e->uid);
		} else {
			uid = (unsigned)u->posix_uid;
			if ((x = id_claim(r, uid, REF(REF_USER, i))) != 0)
				return x < 0 ? x : A0_ERR_INVALID;
			say(r, LOG_NOTICE,
			    "user_id=%s name=%s: uid %u -> %u (app_metadata.posix.uid); %u is "
			    "retired, never given to another",
			    show(e->user_id, SHOW_BUF), e->name, e->uid, uid, e->uid);
			e->uid = uid;
		}
	}
	gid = u->posix_gid >= 0 && u->posix_gid <= A0_SYNC_ID_MAX ? (unsigned)u->posix_gid : uid;
	if (u->posix_gid > A0_SYNC_ID_MAX) {
		say(r, LOG_WARNING,
		    "user_id=%s name=%s: app_metadata.posix.gid %lld refused (above 2147483646): it "
		    "keeps gid %u",
		    show(e->user_id, SHOW_BUF), e->name, u->posix_gid, e->gid);
		gid = e->gid;
	}
	if (gid != e->gid) {
		why = id_refusal(r, i, gid, u->posix_gid >= 0, why_buf, sizeof(why_buf), &x);
		if (x < 0)
			return x;
		if (why) {
			say(r, LOG_WARNING,
			    "user_id=%s name=%s: gid %u refused (%s): it keeps gid %u",
			    show(e->user_id, SHOW_BUF), e->name, gid, why, e->gid);
		} else {
			if ((x = id_claim(r, gid, REF(REF_USER, i))) != 0)
				return x < 0 ? x : A0_ERR_INVALID;
			say(r, LOG_NOTICE, "user_id=%s name=%s: gid %u -> %u",
			    show(e->user_id, SHOW_BUF), e->name, e->gid, gid);
			e->gid = gid;
		}
	}
	/* An id it held and holds no more stays its own, in the retired list. */
	if (old_uid != e->uid && old_uid != e->gid)
		x = retire(r, old_uid, e->user_id, retired_cap);
	if (x == 0 && old_gid != old_uid && old_gid != e->uid && old_gid != e->gid)
		x = retire(r, old_gid, e->user_id, retired_cap);
	return x;
}

/* A user already in the state, found at index i: its new name, fields and ids. */
static int update_user(struct run *r, size_t i, const struct a0_sync_user *u, size_t *retired_cap)
{
	struct a0_sync_entry *e = &r->s->users[i];
	bool was_deleted = e->state == A0_SYNC_DELETED;
	struct fields f;
	const char *name;
	uint32_t holder;
	char *copy;
	int x;

	name = valid_name(r, u, was_deleted ? "" : "; withdrawn: its uid stays reserved");
	if (!name) {
		bury(r, i);
		return 0;
	}
	if (was_deleted || strcmp(name, e->name) != 0) {
		holder = name_holder(r, name);
		if (holder && holder != REF(REF_USER, i)) {
			say(r, LOG_WARNING, "user_id=%s name=%s skipped: the name is %s's%s",
			    show(u->user_id, SHOW_BUF), name, owner_text(r, holder, OWNER_BUF),
			    was_deleted ? "" : "; withdrawn: its uid stays reserved");
			bury(r, i);
			return 0;
		}
		if (!(copy = strdup(name)))
			return A0_ERR_NOMEM;
		if (!was_deleted)
			name_release(r, REF(REF_USER, i));
		free(e->name);
		e->name = copy;
		/* Nobody holds it (checked above): a claim cannot fail but for memory. */
		if ((x = name_claim(r, REF(REF_USER, i))) != 0)
			return x < 0 ? x : A0_ERR_INVALID;
	}
	f = fields_of(r, u);
	if ((x = set_fields(e, &f)) < 0)
		return x;
	if ((x = update_ids(r, i, u, retired_cap)) < 0)
		return x;
	if (was_deleted)
		say(r, LOG_NOTICE, "user_id=%s name=%s is back, with its uid %u",
		    show(e->user_id, SHOW_BUF), e->name, e->uid);
	return 0;
}

/* A user new to the state: admitted under the rules, or skipped with one log line. */
static int admit_user(struct run *r, const struct a0_sync_user *u, size_t *users_cap)
{
	struct a0_sync_state *s = r->s;
	const char *name = valid_name(r, u, ""), *how, *why;
	char id_text[64];
	uint32_t holder;
	struct fields f;
	unsigned uid, gid;
	bool bound = false;
	int x;

	if (!name)
		return 0;
	if ((holder = name_holder(r, name))) {
		say(r, LOG_WARNING, "user_id=%s name=%s skipped: the name is %s's",
		    show(u->user_id, SHOW_BUF), name, owner_text(r, holder, OWNER_BUF));
		return 0;
	}
	if ((x = local_user(r, name)) < 0)
		return x;
	if (x == 1) {
		if ((x = bound_to(r, name, u->user_id)) < 0)
			return x;
		if (x == 0) {
			say(r, LOG_WARNING,
			    "user_id=%s name=%s skipped: a local account has this name and users_file "
			    "does not bind it to this user_id",
			    show(u->user_id, SHOW_BUF), name);
			return 0;
		}
		bound = true;
	}
	if (!bound && (x = local_group(r, name, NULL)) != 0) {
		if (x == 1)
			say(r, LOG_WARNING,
			    "user_id=%s name=%s skipped: a local group has this name",
			    show(u->user_id, SHOW_BUF), name);
		return x < 0 ? x : 0;
	}
	if (u->posix_uid >= 0) {
		if ((why = explicit_refusal(r->cfg, u->posix_uid))) {
			say(r, LOG_WARNING,
			    "user_id=%s name=%s skipped: app_metadata.posix.uid %lld is %s",
			    show(u->user_id, SHOW_BUF), name, u->posix_uid, why);
			return 0;
		}
		uid = (unsigned)u->posix_uid;
		how = "app_metadata.posix.uid";
	} else {
		uid = a0_sync_derive_id(u->user_id, r->cfg->uid_min, r->cfg->uid_max);
		how = "derived";
	}
	gid = uid;
	if (u->posix_gid >= 0 && u->posix_gid != (long long)uid) {
		if ((why = explicit_refusal(r->cfg, u->posix_gid))) {
			say(r, LOG_WARNING,
			    "user_id=%s name=%s skipped: app_metadata.posix.gid %lld is %s",
			    show(u->user_id, SHOW_BUF), name, u->posix_gid, why);
			return 0;
		}
		gid = (unsigned)u->posix_gid;
	}
	for (int k = 0; k < 2; k++) {
		unsigned id = k ? gid : uid;

		if (k && gid == uid)
			break;
		snprintf(id_text, sizeof(id_text), "%s %u (%s)", k ? "gid" : "uid", id,
			 k ? "app_metadata.posix.gid" : how);
		if ((holder = id_owner(r, id))) {
			say(r, LOG_WARNING,
			    "user_id=%s name=%s skipped: its %s belongs to %s; give one of them "
			    "app_metadata.posix.uid",
			    show(u->user_id, SHOW_BUF), name, id_text,
			    owner_text(r, holder, OWNER_BUF));
			return 0;
		}
		if (!bound && (x = local_id(r, id)) != 0) {
			if (x == 1)
				say(r, LOG_WARNING,
				    "user_id=%s name=%s skipped: its %s is used by a local account "
				    "or group",
				    show(u->user_id, SHOW_BUF), name, id_text);
			return x < 0 ? x : 0;
		}
	}
	x = grow(&s->users, users_cap, s->n_users, sizeof(*s->users), A0_SYNC_MAX_USERS);
	if (x == 1)
		say(r, LOG_WARNING, "user_id=%s name=%s skipped: the state holds %d users already",
		    show(u->user_id, SHOW_BUF), name, A0_SYNC_MAX_USERS);
	if (x != 0)
		return x < 0 ? x : 0;
	f = fields_of(r, u);
	s->users[s->n_users] = (struct a0_sync_entry){ .uid = uid, .gid = gid, .local = bound };
	if (dup_str(&s->users[s->n_users].user_id, u->user_id) < 0 ||
	    dup_str(&s->users[s->n_users].name, name) < 0 ||
	    set_fields(&s->users[s->n_users], &f) < 0) {
		free(s->users[s->n_users].user_id);
		free(s->users[s->n_users].name);
		return A0_ERR_NOMEM;
	}
	s->n_users++;
	if ((x = id_claim(r, uid, REF(REF_USER, s->n_users - 1))) == 0 &&
	    (x = id_claim(r, gid, REF(REF_USER, s->n_users - 1))) == 0)
		x = name_claim(r, REF(REF_USER, s->n_users - 1));
	return x == 1 ? A0_ERR_INVALID : x;
}

static int cmp_user_ptrs(const void *a, const void *b)
{
	const struct a0_sync_user *x = *(const struct a0_sync_user *const *)a;
	const struct a0_sync_user *y = *(const struct a0_sync_user *const *)b;
	int c = strcmp(x->user_id, y->user_id);

	/* Equal user_ids keep the data's order: the first one is used. */
	return c ? c : (x < y ? -1 : x > y);
}

/*
 * Index of key among the first n elements of the array base (each size bytes, sorted by the
 * string at key_offset), or -1: entries by user_id, groups by role_id.
 */
static ssize_t find_sorted(const void *base, size_t n, size_t size, size_t key_offset,
			   const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = *(char *const *)((const char *)base + mid * size + key_offset);
		int c = strcmp(k, key);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Index of user_id among the first n (sorted) entries, or -1. */
static ssize_t find_entry(const struct a0_sync_state *s, size_t n, const char *user_id)
{
	return find_sorted(s->users, n, sizeof(*s->users), offsetof(struct a0_sync_entry, user_id),
			   user_id);
}

static int merge_users(struct run *r, const struct a0_sync_data *data)
{
	struct a0_sync_state *s = r->s;
	const struct a0_sync_user **order = NULL;
	size_t n = 0, n_old = s->n_users, users_cap = s->n_users, retired_cap = s->n_retired;
	ssize_t *found = NULL;
	bool *seen = NULL;
	int x = 0;

	if (data->n_users > A0_SYNC_MAX_USERS) {
		say(r, LOG_ERR, "the data holds %zu users, more than %d", data->n_users,
		    A0_SYNC_MAX_USERS);
		return A0_ERR_TOO_LARGE;
	}
	order = calloc(data->n_users + 1, sizeof(*order));
	found = calloc(data->n_users + 1, sizeof(*found));
	seen = calloc(n_old + 1, sizeof(*seen));
	if (!order || !found || !seen) {
		x = A0_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < data->n_users; i++) {
		const struct a0_sync_user *u = &data->users[i];

		if (u->user_id && a0_identity_field_valid(u->user_id) &&
		    strlen(u->user_id) <= A0_MAX_USER_ID)
			order[n++] = u;
		else
			say(r, LOG_WARNING,
			    "a user skipped: user_id %s is not printable ASCII "
			    "without a blank, of at most %d bytes",
			    show(u->user_id, SHOW_BUF), A0_MAX_USER_ID);
	}
	a0_sort(order, n, sizeof(*order), cmp_user_ptrs);
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(order[i - 1]->user_id, order[i]->user_id) == 0) {
			say(r, LOG_WARNING, "user_id=%s given twice: the second is skipped",
			    show(order[i]->user_id, SHOW_BUF));
			found[i] = -2;
			continue;
		}
		found[i] = find_entry(s, n_old, order[i]->user_id);
	}
	/* Users the state has first (they keep what is pinned), then new ones with an explicit
	 * uid, then the others; each in user_id order. */
	for (size_t i = 0; i < n && x == 0; i++)
		if (found[i] >= 0) {
			seen[found[i]] = true;
			x = update_user(r, (size_t)found[i], order[i], &retired_cap);
		}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n && x == 0; i++)
			if (found[i] == -1 && (order[i]->posix_uid >= 0) == (pass == 0))
				x = admit_user(r, order[i], &users_cap);
	/* A full run holds every user: the others are gone. */
	for (size_t i = 0; data->full && i < n_old && x == 0; i++) {
		struct a0_sync_entry *e = &s->users[i];

		if (seen[i] || e->state == A0_SYNC_DELETED)
			continue;
		say(r, LOG_NOTICE,
		    "user_id=%s name=%s deleted in Auth0: a tombstone keeps uid %u from anyone "
		    "else",
		    show(e->user_id, SHOW_BUF), e->name, e->uid);
		bury(r, i);
	}
out:
	free(order);
	free(found);
	free(seen);
	return x;
}

/* ---- roles ---- */

static bool role_id_ok(const char *id)
{
	return id && a0_identity_field_valid(id) && strlen(id) <= A0_SYNC_MAX_ROLE_ID;
}

static int cmp_role_ptrs(const void *a, const void *b)
{
	const struct a0_sync_role *x = *(const struct a0_sync_role *const *)a;
	const struct a0_sync_role *y = *(const struct a0_sync_role *const *)b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x < y ? -1 : x > y);
}

/* The usable roles of data, sorted by id, each id once; *ret_n of them. */
static int usable_roles(struct run *r, const struct a0_sync_data *data,
			const struct a0_sync_role ***ret, size_t *ret_n)
{
	const struct a0_sync_role **v;
	size_t n = 0, k = 0;

	if (data->n_roles > A0_SYNC_MAX_GROUPS) {
		say(r, LOG_ERR, "the data holds %zu roles, more than %d", data->n_roles,
		    A0_SYNC_MAX_GROUPS);
		return A0_ERR_TOO_LARGE;
	}
	v = calloc(data->n_roles + 1, sizeof(*v));
	if (!v)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < data->n_roles; i++) {
		const struct a0_sync_role *role = &data->roles[i];
		const char *why = NULL;

		if (!role_id_ok(role->id))
			why = "its id is not printable ASCII without a blank, or too long";
		else if (!a0_identity_role_valid(role->name))
			why = "its name is empty, \"-\", too long, or has a control byte or ','";
		else if (role->n_members > A0_SYNC_MAX_MEMBERS)
			why = "it has too many members";
		if (why)
			say(r, LOG_WARNING, "role_id=%s name=%s skipped: %s",
			    show(role->id, SHOW_BUF), show(role->name, SHOW_BUF), why);
		else
			v[n++] = role;
	}
	a0_sort(v, n, sizeof(*v), cmp_role_ptrs);
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(v[k - 1]->id, v[i]->id) == 0) {
			say(r, LOG_WARNING, "role_id=%s given twice: the second is skipped",
			    show(v[i]->id, SHOW_BUF));
			continue;
		}
		v[k++] = v[i];
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

static bool has_prefix(const struct run *r, const char *name)
{
	const char *p = r->cfg->role_prefix ? r->cfg->role_prefix : "";

	return strncmp(name, p, strlen(p)) == 0;
}

/* Make role group i a tombstone. */
static void bury_group(struct run *r, size_t i)
{
	struct a0_sync_group *g = &r->s->groups[i];

	if (g->deleted)
		return;
	name_release(r, REF(REF_GROUP, i));
	g->deleted = true;
	g->deleted_at = r->now;
}

/* Index of role_id among the first n (sorted) groups, or -1. */
static ssize_t find_group(const struct a0_sync_state *s, size_t n, const char *role_id)
{
	return find_sorted(s->groups, n, sizeof(*s->groups),
			   offsetof(struct a0_sync_group, role_id), role_id);
}

/* A role group already in the state: its name follows the role's. */
static int update_group(struct run *r, size_t i, const struct a0_sync_role *role)
{
	struct a0_sync_group *g = &r->s->groups[i];
	bool was_deleted = g->deleted;
	const char *why = NULL;
	char *name = NULL, *rname = NULL;
	uint32_t holder = 0;
	int x;

	if (!a0_identity_name_valid(role->name))
		why = "not a valid Linux name";
	else if ((holder = name_holder(r, role->name)) && holder != REF(REF_GROUP, i))
		why = "the name is another's";
	if (why) {
		say(r, LOG_WARNING, "role_id=%s name=%s: no group: %s%s%s%s",
		    show(role->id, SHOW_BUF), show(role->name, SHOW_BUF), why, holder ? " (" : "",
		    holder ? owner_text(r, holder, OWNER_BUF) : "", holder ? ")" : "");
		if (!was_deleted)
			say(r, LOG_WARNING, "role_id=%s: group %s withdrawn: gid %u stays reserved",
			    show(role->id, SHOW_BUF), g->name, g->gid);
		bury_group(r, i);
		return 0;
	}
	if (dup_str(&name, role->name) < 0 || dup_str(&rname, role->name) < 0) {
		free(name);
		return A0_ERR_NOMEM;
	}
	if (!was_deleted)
		name_release(r, REF(REF_GROUP, i));
	free(g->name);
	free(g->role);
	g->name = name;
	g->role = rname;
	g->deleted = false;
	g->deleted_at = 0;
	if ((x = name_claim(r, REF(REF_GROUP, i))) != 0)
		return x < 0 ? x : A0_ERR_INVALID;
	if (was_deleted)
		say(r, LOG_NOTICE, "role_id=%s group %s is back, with its gid %u",
		    show(role->id, SHOW_BUF), g->name, g->gid);
	return 0;
}

static int admit_group(struct run *r, const struct a0_sync_role *role, size_t *cap)
{
	struct a0_sync_state *s = r->s;
	const char *why = NULL;
	uint32_t holder = 0;
	unsigned gid;
	int x = 0;

	gid = a0_sync_derive_id(role->id, r->cfg->gid_min, r->cfg->gid_max);
	if (!a0_identity_name_valid(role->name))
		why = "not a valid Linux name";
	else if ((holder = name_holder(r, role->name)))
		why = "the name is another's";
	else if ((x = local_user(r, role->name)) != 0 ||
		 (x = local_group(r, role->name, NULL)) != 0)
		why = x == 1 ? "a local account or group has this name" : "";
	else if ((holder = id_owner(r, gid)))
		why = "its derived gid belongs to another";
	else if ((x = local_id(r, gid)) != 0)
		why = x == 1 ? "a local account or group uses its derived gid" : "";
	if (why && !*why)
		return x; /* a callback's error */
	if (why) {
		say(r, LOG_WARNING, "role_id=%s name=%s gid=%u: no group: %s%s%s%s",
		    show(role->id, SHOW_BUF), show(role->name, SHOW_BUF), gid, why,
		    holder ? " (" : "", holder ? owner_text(r, holder, OWNER_BUF) : "",
		    holder ? ")" : "");
		return 0;
	}
	x = grow(&s->groups, cap, s->n_groups, sizeof(*s->groups), A0_SYNC_MAX_GROUPS);
	if (x == 1)
		say(r, LOG_WARNING, "role_id=%s skipped: the state holds %d groups already",
		    show(role->id, SHOW_BUF), A0_SYNC_MAX_GROUPS);
	if (x != 0)
		return x < 0 ? x : 0;
	s->groups[s->n_groups] = (struct a0_sync_group){ .gid = gid };
	if (dup_str(&s->groups[s->n_groups].role_id, role->id) < 0 ||
	    dup_str(&s->groups[s->n_groups].role, role->name) < 0 ||
	    dup_str(&s->groups[s->n_groups].name, role->name) < 0) {
		free(s->groups[s->n_groups].role_id);
		free(s->groups[s->n_groups].role);
		return A0_ERR_NOMEM;
	}
	s->n_groups++;
	if ((x = id_claim(r, gid, REF(REF_GROUP, s->n_groups - 1))) == 0)
		x = name_claim(r, REF(REF_GROUP, s->n_groups - 1));
	return x == 1 ? A0_ERR_INVALID : x;
}

static int merge_groups(struct run *r, const struct a0_sync_role *const *roles, size_t n)
{
	struct a0_sync_state *s = r->s;
	size_t n_old = s->n_groups, cap = s->n_groups;
	ssize_t *found;
	bool *seen;
	int x = 0;

	found = calloc(n + 1, sizeof(*found));
	seen = calloc(n_old + 1, sizeof(*seen));
	if (!found || !seen) {
		x = A0_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		found[i] = has_prefix(r, roles[i]->name) ? find_group(s, n_old, roles[i]->id) : -2;
	for (size_t i = 0; i < n && x == 0; i++)
		if (found[i] >= 0) {
			seen[found[i]] = true;
			x = update_group(r, (size_t)found[i], roles[i]);
		}
	for (size_t i = 0; i < n && x == 0; i++)
		if (found[i] == -1)
			x = admit_group(r, roles[i], &cap);
	/* Roles come complete: a group whose role is gone becomes a tombstone. */
	for (size_t i = 0; i < n_old && x == 0; i++)
		if (!seen[i] && !s->groups[i].deleted) {
			say(r, LOG_NOTICE,
			    "role_id=%s group %s: the role is gone (or lost the prefix): a tombstone "
			    "keeps gid %u from anyone else",
			    show(s->groups[i].role_id, SHOW_BUF), s->groups[i].name,
			    s->groups[i].gid);
			bury_group(r, i);
		}
out:
	free(found);
	free(seen);
	return x;
}

/* One (user_id, role name) membership. */
struct pair {
	const char *user_id, *role;
};

static int cmp_pairs(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->user_id, y->user_id);

	return c ? c : strcmp(x->role, y->role);
}

/* Every entry's roles: the names of the roles that list its user_id (none for tombstones). */
static int assign_roles(struct run *r, const struct a0_sync_role *const *roles, size_t n_roles)
{
	struct a0_sync_state *s = r->s;
	struct pair *pairs = NULL;
	size_t n = 0, total = 0, p = 0;
	int x = 0;

	for (size_t i = 0; i < n_roles; i++)
		total += roles[i]->n_members;
	if (total > A0_SYNC_MAX_MEMBERSHIPS) {
		say(r, LOG_ERR, "the roles have %zu members in all, more than %d", total,
		    A0_SYNC_MAX_MEMBERSHIPS);
		return A0_ERR_TOO_LARGE;
	}
	if (total && !(pairs = calloc(total, sizeof(*pairs))))
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < n_roles; i++) {
		size_t bad = 0;

		for (size_t k = 0; k < roles[i]->n_members; k++) {
			const char *m = roles[i]->members[k];

			if (m && a0_identity_field_valid(m))
				pairs[n++] = (struct pair){ m, roles[i]->name };
			else
				bad++;
		}
		if (bad)
			say(r, LOG_WARNING, "role_id=%s: %zu members skipped (not a user_id)",
			    show(roles[i]->id, SHOW_BUF), bad);
	}
	a0_sort(pairs, n, sizeof(*pairs), cmp_pairs);
	for (size_t i = 0; i < s->n_users && x == 0; i++) {
		struct a0_sync_entry *e = &s->users[i];
		size_t first, count = 0;
		char **v = NULL;

		while (p < n && strcmp(pairs[p].user_id, e->user_id) < 0)
			p++;
		first = p;
		while (p < n && strcmp(pairs[p].user_id, e->user_id) == 0)
			p++;
		if (e->state != A0_SYNC_DELETED && p > first &&
		    !(v = calloc(p - first, sizeof(*v)))) {
			x = A0_ERR_NOMEM;
			break;
		}
		for (size_t k = first; v && k < p; k++) {
			if (count && strcmp(v[count - 1], pairs[k].role) == 0)
				continue;
			if (count == A0_SYNC_MAX_USER_ROLES) {
				say(r, LOG_WARNING,
				    "user_id=%s name=%s: roles after the first %d (by name) skipped",
				    show(e->user_id, SHOW_BUF), e->name, A0_SYNC_MAX_USER_ROLES);
				break;
			}
			if (!(v[count++] = strdup(pairs[k].role))) {
				x = A0_ERR_NOMEM;
				break;
			}
		}
		strv_free(e->roles, e->n_roles);
		e->roles = v;
		e->n_roles = count;
	}
	free(pairs);
	return x;
}

/* ---- what depends on the host ---- */

static int check_users(struct run *r)
{
	struct a0_sync_state *s = r->s;
	int x = 0;

	for (size_t i = 0; i < s->n_users && x >= 0; i++) {
		struct a0_sync_entry *e = &s->users[i];
		const char *why = NULL;
		bool local = false, was_local = e->local, was_shadowed = e->shadowed;

		x = local_user(r, e->name);
		if (x == 1) {
			x = bound_to(r, e->name, e->user_id);
			local = x == 1;
			if (x == 0)
				why = "a local account has its name (and users_file does not bind it "
				      "here)";
		}
		if (x >= 0 && !local && !why) {
			if ((x = local_group(r, e->name, NULL)) == 1)
				why = "a local group has its name";
			else if (x == 0 && (x = local_id(r, e->uid)) == 1)
				why = "a local account or group uses its uid";
			else if (x == 0 && e->gid != e->uid && (x = local_id(r, e->gid)) == 1)
				why = "a local account or group uses its gid";
		}
		if (x < 0)
			break;
		e->local = local;
		e->shadowed = why != NULL;
		if (why && (e->state != A0_SYNC_DELETED || !was_shadowed))
			say(r, LOG_WARNING, "user_id=%s name=%s uid=%u not served: %s",
			    show(e->user_id, SHOW_BUF), e->name, e->uid, why);
		if (local != was_local)
			say(r, LOG_NOTICE, "user_id=%s name=%s: %s", show(e->user_id, SHOW_BUF),
			    e->name,
			    local ? "the local account users_file binds to it; not served by NSS"
				  : "no longer a local account");
	}
	return x < 0 ? x : 0;
}

static int check_groups(struct run *r)
{
	struct a0_sync_state *s = r->s;
	int x = 0;

	for (size_t i = 0; i < s->n_groups && x >= 0; i++) {
		struct a0_sync_group *g = &s->groups[i];
		const char *why = NULL;
		bool was = g->shadowed;

		if (g->local)
			continue;
		if ((x = local_user(r, g->name)) == 1 ||
		    (x == 0 && (x = local_group(r, g->name, NULL)) == 1))
			why = "a local account or group has its name";
		else if (x == 0 && (x = local_id(r, g->gid)) == 1)
			why = "a local account or group uses its gid";
		if (x < 0)
			break;
		g->shadowed = why != NULL;
		if (why && (!g->deleted || !was))
			say(r, LOG_WARNING, "role_id=%s group %s gid=%u not served: %s",
			    show(g->role_id, SHOW_BUF), g->name, g->gid, why);
	}
	return x < 0 ? x : 0;
}

/* The role part of a group_map pair (n bytes of s), as the state keeps role names. */
static bool role_name_ok(const char *s, size_t n)
{
	char role[A0_SYNC_MAX_ROLE_NAME + 1];

	if (n > A0_SYNC_MAX_ROLE_NAME)
		return false;
	memcpy(role, s, n);
	role[n] = '\0';
	return a0_identity_role_valid(role);
}

/* Drop the local groups; make them anew from group_map. */
static int map_local_groups(struct run *r)
{
	struct a0_sync_state *s = r->s;
	size_t k = 0, cap, first;
	int x = 0;

	for (size_t i = 0; i < s->n_groups; i++) {
		if (s->groups[i].local) {
			free(s->groups[i].role_id);
			free(s->groups[i].role);
			free(s->groups[i].name);
			continue;
		}
		s->groups[k++] = s->groups[i];
	}
	s->n_groups = cap = first = k;
	for (size_t m = 0; m < r->cfg->group_map.n && x >= 0; m++) {
		const char *pair = r->cfg->group_map.items[m], *colon = strchr(pair, ':');
		struct a0_sync_group g = { .local = true };
		bool dup = false;
		unsigned gid = 0;

		if (!colon || colon == pair || !colon[1])
			continue; /* the configuration refuses these */
		if (!role_name_ok(pair, (size_t)(colon - pair))) {
			say(r, LOG_WARNING, "group_map %s: not a role's name: skipped",
			    show(pair, SHOW_BUF));
			continue;
		}
		if ((x = local_group(r, colon + 1, &gid)) < 0)
			break;
		if (x == 0) {
			say(r, LOG_WARNING, "group_map %s: this host has no group %s: skipped",
			    show(pair, SHOW_BUF), show(colon + 1, SHOW_BUF));
			continue;
		}
		/* The cache holds names of the one kind (^[a-z_][a-z0-9_-]*$, 32 bytes at most). */
		if (!a0_identity_name_valid(colon + 1)) {
			say(r, LOG_WARNING,
			    "group_map %s: group %s has a name the cache cannot hold: skipped",
			    show(pair, SHOW_BUF), show(colon + 1, SHOW_BUF));
			continue;
		}
		for (size_t i = first; i < s->n_groups && !dup; i++) {
			const struct a0_sync_group *o = &s->groups[i];

			if (strcmp(o->name, colon + 1) == 0 &&
			    strncmp(o->role, pair, (size_t)(colon - pair)) == 0 &&
			    !o->role[colon - pair])
				dup = true;
			else if (o->gid == gid && strcmp(o->name, colon + 1) != 0) {
				say(r, LOG_WARNING,
				    "group_map %s: group %s has the gid of group %s: skipped",
				    show(pair, SHOW_BUF), show(colon + 1, SHOW_BUF), o->name);
				dup = true;
			}
		}
		if (dup)
			continue;
		x = grow(&s->groups, &cap, s->n_groups, sizeof(*s->groups), A0_SYNC_MAX_GROUPS);
		if (x == 1)
			say(r, LOG_WARNING, "group_map %s skipped: too many groups",
			    show(pair, SHOW_BUF));
		if (x != 0)
			continue;
		g.gid = gid;
		if (!(g.role = strndup(pair, (size_t)(colon - pair))) ||
		    !(g.name = strdup(colon + 1))) {
			free(g.role);
			x = A0_ERR_NOMEM;
			break;
		}
		s->groups[s->n_groups++] = g;
	}
	/* No group at all leaves s->groups NULL: not even + 0 may be applied to it (C11 6.5.6). */
	if (x >= 0 && s->n_groups > first)
		a0_sort(s->groups + first, s->n_groups - first, sizeof(*s->groups), cmp_groups);
	return x < 0 ? x : 0;
}

static int check_local(struct run *r)
{
	int x = check_users(r);

	if (x == 0)
		x = check_groups(r);
	if (x == 0)
		x = map_local_groups(r);
	return x;
}

int a0_sync_check_local(const struct a0_config *cfg, const struct a0_sync_local *local,
			struct a0_sync_state *state, a0_sync_log_fn log, void *ctx)
{
	struct a0_sync_state next;
	struct run r = { .cfg = cfg, .local = local, .log = log, .ctx = ctx, .s = &next };
	int x = copy_state(state, &next);

	if (x == 0)
		x = check_local(&r);
	if (x < 0) {
		a0_sync_state_free(&next);
		return x;
	}
	a0_sync_state_free(state);
	*state = next;
	return 0;
}

/* ---- a run ---- */

int a0_sync_apply(const struct a0_config *cfg, const struct a0_sync_local *local,
		  const struct a0_sync_data *data, struct a0_sync_state *state, a0_sync_log_fn log,
		  void *ctx)
{
	struct a0_sync_state next;
	struct run r = {
		.cfg = cfg,
		.local = local,
		.log = log,
		.ctx = ctx,
		.s = &next,
		.now = data->fetched_at,
	};
	const struct a0_sync_role **roles = NULL;
	size_t n_roles = 0, k = 0;
	char *watermark = NULL;
	int x;

	x = copy_state(state, &next);
	if (x < 0)
		goto out;
	/* The local groups are made anew at the end; the rest is sorted for lookups. */
	for (size_t i = 0; i < next.n_groups; i++) {
		if (next.groups[i].local) {
			free(next.groups[i].role_id);
			free(next.groups[i].role);
			free(next.groups[i].name);
			continue;
		}
		next.groups[k++] = next.groups[i];
	}
	next.n_groups = k;
	a0_sort(next.users, next.n_users, sizeof(*next.users), cmp_entries);
	a0_sort(next.groups, next.n_groups, sizeof(*next.groups), cmp_groups);
	for (size_t i = 1; i < next.n_users; i++)
		if (strcmp(next.users[i - 1].user_id, next.users[i].user_id) == 0) {
			say(&r, LOG_ERR, "state: user_id %s twice",
			    show(next.users[i].user_id, SHOW_BUF));
			x = A0_ERR_INVALID;
			goto out;
		}
	x = index_state(&r);
	if (x == A0_ERR_INVALID)
		say(&r, LOG_ERR, "state: %s", r.err);
	if (x == 0)
		x = merge_users(&r, data);
	if (x == 0)
		x = usable_roles(&r, data, &roles, &n_roles);
	if (x == 0)
		x = merge_groups(&r, roles, n_roles);
	free_maps(&r);
	if (x < 0)
		goto out;
	/* The maps are gone: now the arrays may be sorted. */
	a0_sort(next.users, next.n_users, sizeof(*next.users), cmp_entries);
	a0_sort(next.groups, next.n_groups, sizeof(*next.groups), cmp_groups);
	a0_sort(next.retired, next.n_retired, sizeof(*next.retired), cmp_retired);
	x = assign_roles(&r, roles, n_roles);
	if (x == 0)
		x = check_local(&r);
	if (x < 0)
		goto out;
	if (data->max_updated_at) {
		if (dup_str(&watermark, data->max_updated_at) < 0) {
			x = A0_ERR_NOMEM;
			goto out;
		}
		free(next.watermark);
		next.watermark = watermark;
	}
	next.generated = data->fetched_at;
	if (data->full)
		next.last_full = data->fetched_at;
	a0_sync_state_free(state);
	*state = next;
	memset(&next, 0, sizeof(next));
out:
	free_maps(&r);
	free(roles);
	a0_sync_state_free(&next);
	return x;
}
