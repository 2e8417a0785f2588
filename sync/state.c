/* SPDX-License-Identifier: MIT */
/* auth0-sync's state as JSON (sync/state.h): in a root-only file, or in memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "lib/json.h"
#include "lib/util.h"
#include "sync/rules.h"
#include "sync/state.h"
#include "sync/sync.h"

#define MAX_TIME 253402300799LL /* 9999-12-31T23:59:59Z */
#define MAX_WATERMARK 64        /* an ISO 8601 time as Auth0 writes it, with room */

static const char *const state_words[] = {
	[A0_SYNC_ACTIVE] = "active",
	[A0_SYNC_BLOCKED] = "blocked",
	[A0_SYNC_DELETED] = "deleted",
};

/* ---- printing ---- */

static bool add_str(cJSON *o, const char *name, const char *v)
{
	return !v || cJSON_AddStringToObject(o, name, v);
}

static bool add_num(cJSON *o, const char *name, double v)
{
	return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static bool add_bool(cJSON *o, const char *name, bool v)
{
	return cJSON_AddBoolToObject(o, name, v) != NULL;
}

static bool print_user(cJSON *users, const struct a0_sync_entry *e)
{
	cJSON *o = cJSON_CreateObject(), *roles;

	if (!o || !cJSON_AddItemToArray(users, o))
		return cJSON_Delete(o), false;
	if (!add_str(o, "user_id", e->user_id) || !add_str(o, "name", e->name) ||
	    !add_str(o, "login", e->login) || !add_num(o, "uid", e->uid) ||
	    !add_num(o, "gid", e->gid) || !add_str(o, "gecos", e->gecos) ||
	    !add_str(o, "state", state_words[e->state]) ||
	    !(roles = cJSON_AddArrayToObject(o, "roles")))
		return false;
	for (size_t i = 0; i < e->n_roles; i++) {
		cJSON *s = cJSON_CreateString(e->roles[i]);

		if (!s || !cJSON_AddItemToArray(roles, s))
			return cJSON_Delete(s), false;
	}
	return add_bool(o, "local", e->local) && add_bool(o, "shadowed", e->shadowed) &&
	       add_num(o, "deleted_at", (double)e->deleted_at);
}

static bool print_group(cJSON *groups, const struct a0_sync_group *g)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(groups, o))
		return cJSON_Delete(o), false;
	return add_str(o, "role_id", g->role_id) && add_str(o, "role", g->role) &&
	       add_str(o, "name", g->name) && add_num(o, "gid", g->gid) &&
	       add_bool(o, "local", g->local) && add_bool(o, "deleted", g->deleted) &&
	       add_bool(o, "shadowed", g->shadowed) &&
	       add_num(o, "deleted_at", (double)g->deleted_at);
}

static bool print_retired(cJSON *retired, const struct a0_sync_retired *t)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(retired, o))
		return cJSON_Delete(o), false;
	return add_num(o, "id", t->id) && add_str(o, "owner", t->owner);
}

int a0_sync_state_print(const struct a0_sync_state *s, char **ret, size_t *ret_len)
{
	cJSON *root, *users, *groups, *retired;
	bool ok;
	char *text;

	for (size_t i = 0; i < s->n_users; i++)
		if ((unsigned)s->users[i].state >= A0_ARRAY_SIZE(state_words))
			return A0_ERR_INVALID;
	root = cJSON_CreateObject();
	ok = root && add_num(root, "format", A0_SYNC_STATE_FORMAT) &&
	     add_num(root, "generated", (double)s->generated) &&
	     add_num(root, "last_full", (double)s->last_full) &&
	     add_str(root, "watermark", s->watermark) &&
	     (users = cJSON_AddArrayToObject(root, "users")) &&
	     (groups = cJSON_AddArrayToObject(root, "groups")) &&
	     (retired = cJSON_AddArrayToObject(root, "retired"));
	for (size_t i = 0; ok && i < s->n_users; i++)
		ok = print_user(users, &s->users[i]);
	for (size_t i = 0; ok && i < s->n_groups; i++)
		ok = print_group(groups, &s->groups[i]);
	for (size_t i = 0; ok && i < s->n_retired; i++)
		ok = print_retired(retired, &s->retired[i]);
	text = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (!text)
		return A0_ERR_NOMEM;
	*ret = text;
	*ret_len = strlen(text);
	return 0;
}

/* ---- parsing ---- */

struct where {
	const char *what; /* "users", "groups", "retired" */
	size_t index;
	char *err;
	size_t errlen;
};

static int bad(const struct where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const struct where *w, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (w->what)
		a0_format(w->err, w->errlen, "%s[%zu]: %s", w->what, w->index, what);
	else
		a0_format(w->err, w->errlen, "%s", what);
	return A0_ERR_MALFORMED;
}

/* A required string member that passes ok (NULL: any string), copied into *ret. */
static int get_str(const cJSON *o, const char *name, bool required, bool (*ok)(const char *),
		   const struct where *w, char **ret)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);

	*ret = NULL;
	if (!item && !required)
		return 0;
	if (!cJSON_IsString(item) || (ok && !ok(item->valuestring)))
		return bad(w, "'%s' missing or invalid", name);
	*ret = strdup(item->valuestring);
	return *ret ? 0 : A0_ERR_NOMEM;
}

/* An integer member in lo..hi; absent is 0 unless required. */
static int get_num(const cJSON *o, const char *name, bool required, long long lo, long long hi,
		   const struct where *w, long long *ret)
{
	long long v = 0;
	int r = a0_json_uint(o, name, hi, &v);

	if (r == 1 && !required) {
		*ret = 0;
		return 0;
	}
	if (r != 0 || v < lo)
		return bad(w, "'%s' missing or not an integer in %lld..%lld", name, lo, hi);
	*ret = v;
	return 0;
}

/* A boolean member; absent is false. */
static int get_bool(const cJSON *o, const char *name, const struct where *w, bool *ret)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, name);

	if (item && !cJSON_IsBool(item))
		return bad(w, "'%s' is not true or false", name);
	*ret = cJSON_IsTrue(item);
	return 0;
}

static bool user_id_ok(const char *s)
{
	return a0_identity_field_valid(s) && strlen(s) <= A0_MAX_USER_ID;
}

static bool role_id_ok(const char *s)
{
	return a0_identity_field_valid(s) && strlen(s) <= A0_SYNC_MAX_ROLE_ID;
}

static bool gecos_ok(const char *s)
{
	size_t n = strnlen(s, A0_SYNC_MAX_GECOS + 1);

	return n <= A0_SYNC_MAX_GECOS && a0_text_ok(s, n, A0_TEXT_LINE) && !memchr(s, ':', n);
}

static bool watermark_ok(const char *s)
{
	size_t n = strnlen(s, MAX_WATERMARK + 1);

	return n > 0 && n <= MAX_WATERMARK && a0_text_ok(s, n, A0_TEXT_TOKEN);
}

static int parse_user(const cJSON *o, const struct where *w, struct a0_sync_entry *e)
{
	const cJSON *roles;
	char *state = NULL;
	long long v;
	int r;

	if (!cJSON_IsObject(o))
		return bad(w, "not an object");
	if ((r = get_str(o, "user_id", true, user_id_ok, w, &e->user_id)) < 0 ||
	    (r = get_str(o, "name", true, a0_identity_name_valid, w, &e->name)) < 0 ||
	    (r = get_str(o, "login", false, a0_identity_field_valid, w, &e->login)) < 0 ||
	    (r = get_str(o, "gecos", false, gecos_ok, w, &e->gecos)) < 0)
		return r;
	if ((r = get_num(o, "uid", true, 1, A0_SYNC_ID_MAX, w, &v)) < 0)
		return r;
	e->uid = (unsigned)v;
	if ((r = get_num(o, "gid", true, 1, A0_SYNC_ID_MAX, w, &v)) < 0)
		return r;
	e->gid = (unsigned)v;
	if ((r = get_num(o, "deleted_at", false, 0, MAX_TIME, w, &v)) < 0)
		return r;
	e->deleted_at = (time_t)v;
	if ((r = get_bool(o, "local", w, &e->local)) < 0 ||
	    (r = get_bool(o, "shadowed", w, &e->shadowed)) < 0)
		return r;
	if ((r = get_str(o, "state", true, NULL, w, &state)) < 0)
		return r;
	r = bad(w, "'state' is not active, blocked or deleted");
	for (size_t i = 0; i < A0_ARRAY_SIZE(state_words); i++)
		if (strcmp(state, state_words[i]) == 0) {
			e->state = (enum a0_sync_user_state)i;
			r = 0;
		}
	free(state);
	if (r < 0)
		return r;
	roles = cJSON_GetObjectItemCaseSensitive(o, "roles");
	if (roles && !cJSON_IsArray(roles))
		return bad(w, "'roles' is not an array");
	if (cJSON_GetArraySize(roles) > A0_SYNC_MAX_USER_ROLES)
		return bad(w, "more than %d roles", A0_SYNC_MAX_USER_ROLES);
	if (cJSON_GetArraySize(roles) > 0 &&
	    !(e->roles = calloc((size_t)cJSON_GetArraySize(roles), sizeof(*e->roles))))
		return A0_ERR_NOMEM;
	for (const cJSON *it = roles ? roles->child : NULL; it; it = it->next) {
		if (!cJSON_IsString(it) || !a0_identity_role_valid(it->valuestring))
			return bad(w, "a role is not a valid name");
		if (!(e->roles[e->n_roles++] = strdup(it->valuestring)))
			return A0_ERR_NOMEM;
	}
	return 0;
}

static int parse_group(const cJSON *o, const struct where *w, struct a0_sync_group *g)
{
	long long v;
	int r;

	if (!cJSON_IsObject(o))
		return bad(w, "not an object");
	if ((r = get_bool(o, "local", w, &g->local)) < 0 ||
	    (r = get_bool(o, "deleted", w, &g->deleted)) < 0 ||
	    (r = get_bool(o, "shadowed", w, &g->shadowed)) < 0)
		return r;
	if ((r = get_str(o, "role_id", !g->local, role_id_ok, w, &g->role_id)) < 0 ||
	    (r = get_str(o, "role", true, a0_identity_role_valid, w, &g->role)) < 0 ||
	    (r = get_str(o, "name", true, a0_identity_name_valid, w, &g->name)) < 0)
		return r;
	/* A local group's gid is the host's, whatever it is (sudo's is 27, root's 0). */
	if ((r = get_num(o, "gid", true, g->local ? 0 : 1, A0_SYNC_ID_MAX, w, &v)) < 0)
		return r;
	g->gid = (unsigned)v;
	if ((r = get_num(o, "deleted_at", false, 0, MAX_TIME, w, &v)) < 0)
		return r;
	g->deleted_at = (time_t)v;
	return 0;
}

static int parse_retired(const cJSON *o, const struct where *w, struct a0_sync_retired *t)
{
	long long v;
	int r;

	if (!cJSON_IsObject(o))
		return bad(w, "not an object");
	if ((r = get_num(o, "id", true, 1, A0_SYNC_ID_MAX, w, &v)) < 0)
		return r;
	t->id = (unsigned)v;
	return get_str(o, "owner", true, user_id_ok, w, &t->owner);
}

/* The array member name of at most max items, allocated into *ret (count in *ret_n). */
static int get_array(const cJSON *root, const char *name, int max, size_t size,
		     const struct where *w, const cJSON **ret_array, void *ret, size_t *ret_n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, name);
	int n;
	void *v = NULL;

	if (!cJSON_IsArray(a))
		return bad(w, "'%s' missing or not an array", name);
	n = cJSON_GetArraySize(a);
	if (n > max)
		return bad(w, "'%s' has more than %d items", name, max);
	if (n > 0 && !(v = calloc((size_t)n, size)))
		return A0_ERR_NOMEM;
	*ret_array = a;
	memcpy(ret, &v, sizeof(v));
	*ret_n = 0;
	return 0;
}

static int parse_tree(const cJSON *root, struct a0_sync_state *s, char *err, size_t errlen)
{
	struct where w = { .err = err, .errlen = errlen };
	const cJSON *a;
	long long v;
	int r;

	if (!cJSON_IsObject(root))
		return bad(&w, "not a JSON object");
	if ((r = get_num(root, "format", true, 0, 1000000, &w, &v)) < 0)
		return r;
	if (v != A0_SYNC_STATE_FORMAT)
		return bad(&w, "format %lld, not %d", v, A0_SYNC_STATE_FORMAT);
	if ((r = get_num(root, "generated", true, 0, MAX_TIME, &w, &v)) < 0)
		return r;
	s->generated = (time_t)v;
	if ((r = get_num(root, "last_full", true, 0, MAX_TIME, &w, &v)) < 0)
		return r;
	s->last_full = (time_t)v;
	if ((r = get_str(root, "watermark", false, watermark_ok, &w, &s->watermark)) < 0)
		return r;

	if ((r = get_array(root, "users", A0_SYNC_MAX_USERS, sizeof(*s->users), &w, &a, &s->users,
			   &s->n_users)) < 0)
		return r;
	w.what = "users";
	for (const cJSON *it = a->child; it; it = it->next, w.index++) {
		s->n_users++;
		if ((r = parse_user(it, &w, &s->users[s->n_users - 1])) < 0)
			return r;
	}
	w = (struct where){ .err = err, .errlen = errlen };
	if ((r = get_array(root, "groups", A0_SYNC_MAX_GROUPS, sizeof(*s->groups), &w, &a,
			   &s->groups, &s->n_groups)) < 0)
		return r;
	w.what = "groups";
	for (const cJSON *it = a->child; it; it = it->next, w.index++) {
		s->n_groups++;
		if ((r = parse_group(it, &w, &s->groups[s->n_groups - 1])) < 0)
			return r;
	}
	w = (struct where){ .err = err, .errlen = errlen };
	if ((r = get_array(root, "retired", A0_SYNC_MAX_RETIRED, sizeof(*s->retired), &w, &a,
			   &s->retired, &s->n_retired)) < 0)
		return r;
	w.what = "retired";
	for (const cJSON *it = a->child; it; it = it->next, w.index++) {
		s->n_retired++;
		if ((r = parse_retired(it, &w, &s->retired[s->n_retired - 1])) < 0)
			return r;
	}
	/* Sorted users, one owner per id, one holder per name: what the rules rely on. */
	if (a0_sync_state_check(s, err, errlen) == A0_ERR_INVALID)
		return A0_ERR_MALFORMED;
	return 0;
}

int a0_sync_state_parse(const char *text, size_t n, struct a0_sync_state *ret, char *err,
			size_t errlen)
{
	struct a0_sync_state s = { 0 };
	cJSON *root = NULL;
	int r;

	if (n > (size_t)A0_SYNC_STATE_MAX_BYTES) {
		a0_format(err, errlen, "more than %ld bytes", A0_SYNC_STATE_MAX_BYTES);
		return A0_ERR_TOO_LARGE;
	}
	if (a0_json_parse(text, n, &root) < 0) {
		a0_format(err, errlen, "not JSON (or nested too deep)");
		return A0_ERR_MALFORMED;
	}
	r = parse_tree(root, &s, err, errlen);
	cJSON_Delete(root);
	if (r < 0) {
		a0_sync_state_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

/* ---- the file ---- */

int a0_sync_state_load(const char *path, struct a0_sync_state *ret, char *err, size_t errlen)
{
	char *text = NULL, why[256] = "";
	struct stat st;
	ssize_t got;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		*ret = (struct a0_sync_state){ 0 };
		return 0;
	}
	if (fd < 0) {
		a0_format(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return errno == ELOOP ? A0_ERR_CONFIG : A0_ERR_SYSTEM;
	}
	if (fstat(fd, &st) < 0) {
		a0_format(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	/* What it pins decides who owns which files: root's alone. */
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		a0_format(err, errlen,
			  "%s: must be a regular file owned by root and writable only by root",
			  path);
		r = A0_ERR_CONFIG;
		goto out;
	}
	if (st.st_size > A0_SYNC_STATE_MAX_BYTES) {
		a0_format(err, errlen, "%s: more than %ld bytes", path, A0_SYNC_STATE_MAX_BYTES);
		r = A0_ERR_TOO_LARGE;
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	got = a0_read_full(fd, text, (size_t)st.st_size + 1);
	if (got < 0 || got > st.st_size) {
		a0_format(err, errlen, "%s: cannot read: %s", path,
			  got < 0 ? strerror(errno) : "it grew while read");
		r = A0_ERR_SYSTEM;
		goto out;
	}
	r = a0_sync_state_parse(text, (size_t)got, ret, why, sizeof(why));
	if (r == A0_ERR_MALFORMED) {
		a0_format(err, errlen, "%s: not a state file: %s", path, why);
		r = A0_ERR_CONFIG;
	} else if (r < 0 && r != A0_ERR_NOMEM) {
		a0_format(err, errlen, "%s: %s", path, why);
	}
out:
	free(text);
	(void)close(fd);
	return r;
}

int a0_sync_state_save(const char *path, const struct a0_sync_state *s, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r = a0_sync_state_print(s, &text, &len);

	if (r < 0)
		return r;
	if (a0_replace_file(path, text, len, 0600) < 0) {
		a0_format(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		r = A0_ERR_SYSTEM;
	}
	free(text);
	return r;
}
