/* SPDX-License-Identifier: MIT */
/*
 * auth0-sync's identity rules (sync/rules.h) with the host's accounts given by the test: the
 * uid derivation pinned to fixed values, explicit ids and their bounds, collisions (with each
 * other, with local accounts, with tombstones), pinning across a changed range, tombstones on
 * full runs only, a deleted user's uid never reused, hostile names and data (one log line each,
 * nothing kept), role groups and their prefix, group_map, determinism, the host's passwd and
 * group files, and the outputs (the identities file and the NSS cache, read back).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/identities.h"
#include "nss/cache.h"
#include "sync/rules.h"
#include "sync/state.h"
#include "sync/sync.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

/* ---- the fixture: a temporary directory, a configuration, the host's accounts, a log ---- */

#define MAX_LOCAL 8

/* The host's accounts and groups, as the test says. */
struct host {
	const char *users[MAX_LOCAL];
	const char *groups[MAX_LOCAL];
	unsigned group_gids[MAX_LOCAL];
	unsigned ids[MAX_LOCAL];
	int fail; /* every callback answers this when not 0 */
};

struct logged {
	char text[32768];
	int lines;
};

struct fx {
	char dir[64];
	struct host host;
	struct a0_sync_local local;
	struct logged log;
	struct a0_config *cfg;
	struct a0_sync_state state;
	struct a0_sync_data data;
};

static int host_user(void *ctx, const char *name)
{
	const struct host *h = ctx;

	if (h->fail)
		return h->fail;
	for (int i = 0; i < MAX_LOCAL && h->users[i]; i++)
		if (strcmp(h->users[i], name) == 0)
			return 1;
	return 0;
}

static int host_group(void *ctx, const char *name, unsigned *ret_gid)
{
	const struct host *h = ctx;

	if (h->fail)
		return h->fail;
	for (int i = 0; i < MAX_LOCAL && h->groups[i]; i++)
		if (strcmp(h->groups[i], name) == 0) {
			*ret_gid = h->group_gids[i];
			return 1;
		}
	return 0;
}

static int host_id(void *ctx, unsigned id)
{
	const struct host *h = ctx;

	if (h->fail)
		return h->fail;
	for (int i = 0; i < MAX_LOCAL && h->ids[i]; i++)
		if (h->ids[i] == id)
			return 1;
	return 0;
}

static void capture(void *ctx, int priority, const char *fmt, ...)
{
	struct logged *l = ctx;
	char line[1024];
	size_t used = strlen(l->text);
	va_list ap;

	assert_true(priority == LOG_ERR || priority == LOG_WARNING || priority == LOG_NOTICE);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One line: whatever the data held, no newline or other control byte gets in. */
	for (const char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("a control byte in the log line: %s", line);
	snprintf(l->text + used, sizeof(l->text) - used, "%s\n", line);
	l->lines++;
	print_message("log: %s\n", line);
}

static void clear_log(struct fx *f)
{
	f->log.text[0] = '\0';
	f->log.lines = 0;
}

/* Load a configuration: the defaults, users_file in the run dir, and extra lines. */
static void configure(struct fx *f, const char *extra)
{
	char text[2048], err[256] = "";

	a0_config_free(f->cfg);
	f->cfg = NULL;
	snprintf(text, sizeof(text),
		 "domain = tenant.example.com\nclient_id = abc\nusers_file = %s/users\n"
		 /* Narrow ranges, so that the tests can make ids collide. */
		 "uid_min = 200000\nuid_max = 299999\ngid_min = 300000\ngid_max = 399999\n%s",
		 f->dir, extra ? extra : "");
	if (a0_config_parse_buffer(text, strlen(text), 0, NULL, &f->cfg, err, sizeof(err)) != 0)
		fail_msg("configuration: %s", err);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/a0-syncrules-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->host.users[0] = "root";
	f->host.users[1] = "daemon";
	f->host.groups[0] = "root";
	f->host.groups[1] = "sudo";
	f->host.group_gids[1] = 27;
	f->host.ids[0] = 1; /* root's 0 is no id the rules give */
	f->host.ids[1] = 27;
	f->local = (struct a0_sync_local){ host_user, host_group, host_id, &f->host };
	configure(f, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	a0_sync_data_free(&f->data);
	a0_sync_state_free(&f->state);
	a0_config_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- the data of a run ---- */

static char *dup_or_null(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	assert_true(!s || d);
	return d;
}

/* Add a user whose name attribute (app_metadata.posix.username) is name. */
static struct a0_sync_user *add_user(struct fx *f, const char *user_id, const char *name)
{
	struct a0_sync_data *d = &f->data;
	struct a0_sync_user *u;

	d->users = reallocarray(d->users, d->n_users + 1, sizeof(*d->users));
	assert_non_null(d->users);
	u = &d->users[d->n_users++];
	*u = (struct a0_sync_user){ .posix_uid = -1, .posix_gid = -1 };
	u->user_id = dup_or_null(user_id);
	u->posix_username = dup_or_null(name);
	return u;
}

/* Add a role with members (user_ids), a NULL-terminated list. */
static void add_role(struct fx *f, const char *id, const char *name, ...)
{
	struct a0_sync_data *d = &f->data;
	struct a0_sync_role *r;
	const char *m;
	va_list ap;

	d->roles = reallocarray(d->roles, d->n_roles + 1, sizeof(*d->roles));
	assert_non_null(d->roles);
	r = &d->roles[d->n_roles++];
	*r = (struct a0_sync_role){ .id = dup_or_null(id), .name = dup_or_null(name) };
	va_start(ap, name);
	while ((m = va_arg(ap, const char *))) {
		r->members = reallocarray(r->members, r->n_members + 1, sizeof(*r->members));
		assert_non_null(r->members);
		r->members[r->n_members++] = dup_or_null(m);
	}
	va_end(ap);
}

/* Run the rules on what was added (then forget it): full or incremental, at time now. */
static int run(struct fx *f, bool full, time_t now)
{
	int r;

	f->data.full = full;
	f->data.fetched_at = now;
	clear_log(f);
	r = a0_sync_apply(f->cfg, &f->local, &f->data, &f->state, capture, &f->log);
	a0_sync_data_free(&f->data);
	return r;
}

/* The entry of user_id, or NULL. */
static const struct a0_sync_entry *lookup(const struct fx *f, const char *user_id)
{
	for (size_t i = 0; i < f->state.n_users; i++)
		if (strcmp(f->state.users[i].user_id, user_id) == 0)
			return &f->state.users[i];
	return NULL;
}

/* The entry of user_id, which must be there. */
static const struct a0_sync_entry *entry(const struct fx *f, const char *user_id)
{
	const struct a0_sync_entry *e = lookup(f, user_id);

	if (!e) {
		fail_msg("no entry for %s", user_id);
		abort(); /* not reached: cmocka's failure leaves the test */
	}
	return e;
}

/* The (first) group named name, or NULL. */
static const struct a0_sync_group *lookup_group(const struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->state.n_groups; i++)
		if (strcmp(f->state.groups[i].name, name) == 0)
			return &f->state.groups[i];
	return NULL;
}

/* The group named name, which must be there. */
static const struct a0_sync_group *group(const struct fx *f, const char *name)
{
	const struct a0_sync_group *g = lookup_group(f, name);

	if (!g) {
		fail_msg("no group %s", name);
		abort();
	}
	return g;
}

static void assert_logged(const struct fx *f, const char *text)
{
	if (!strstr(f->log.text, text))
		fail_msg("not logged: \"%s\"; the log:\n%s", text, f->log.text);
}

static char *printed(const struct a0_sync_state *s)
{
	char *text = NULL;
	size_t len;

	assert_a0(a0_sync_state_print(s, &text, &len), 0);
	return text;
}

/* ---- the derivation ---- */

/* The documented formula, written again from rules.h: FNV-1a 64, fmix64, modulo. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static unsigned reference(const char *key, unsigned lo, unsigned hi)
{
	uint64_t h = fnv1a(key);

	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return lo + (unsigned)(h % ((uint64_t)hi - lo + 1));
}

/* Fixed values: a change of the hash, whatever it is, breaks every host's uids. */
static void test_derive_stable(void **state)
{
	static const struct {
		const char *key;
		unsigned users, roles, wide;
	} cases[] = {
		{ "auth0|5f1c2e0a9b8c7d6e5f4a3b2c", 268506, 368506, 598132953 },
		{ "google-oauth2|108234567890123456789", 275858, 375858, 1939533975 },
		{ "auth0|alice", 288435, 388435, 244623053 },
		{ "rol_Ab12Cd34Ef56Gh78", 254116, 354116, 1557454949 },
		{ "a", 228315, 328315, 1173249231 },
	};

	/* FNV-1a's published test vectors. */
	assert_true(fnv1a("") == 0xcbf29ce484222325ULL);
	assert_true(fnv1a("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(fnv1a("foobar") == 0x85944171f73967e8ULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(a0_sync_derive_id(cases[i].key, 200000, 299999), cases[i].users);
		assert_int_equal(a0_sync_derive_id(cases[i].key, 300000, 399999), cases[i].roles);
		assert_int_equal(a0_sync_derive_id(cases[i].key, 1000, A0_SYNC_ID_MAX),
				 cases[i].wide);
		assert_int_equal(reference(cases[i].key, 200000, 299999), cases[i].users);
	}
}

static void test_derive_range(void **state)
{
	unsigned lo = UINT32_MAX, hi = 0;
	char key[32];

	for (int i = 0; i < 20000; i++) {
		unsigned id;

		snprintf(key, sizeof(key), "auth0|%d", i);
		id = a0_sync_derive_id(key, 200000, 200099);
		assert_in_range(id, 200000, 200099);
		lo = id < lo ? id : lo;
		hi = id > hi ? id : hi;
		assert_int_equal(a0_sync_derive_id(key, 5, 5), 5);
		assert_in_range(a0_sync_derive_id(key, 1000, A0_SYNC_ID_MAX), 1000, A0_SYNC_ID_MAX);
		assert_int_equal(a0_sync_derive_id(key, 200000, 299999),
				 reference(key, 200000, 299999));
	}
	/* The whole range is reached. */
	assert_int_equal(lo, 200000);
	assert_int_equal(hi, 200099);
}

static void test_name_valid(void **state)
{
	static const char *const good[] = { "a",      "_",  "alice",
					    "a-b_c9", "_x", "a2345678901234567890123456789012" };
	static const char *const bad[] = { "",
					   "Alice",
					   "aLice",
					   "1abc",
					   "-x",
					   "a.b",
					   "..",
					   "../x",
					   "a:b",
					   "a b",
					   "a\nb",
					   "a\tb",
					   "a/b",
					   "a$",
					   "é",
					   "a\x7f",
					   "a23456789012345678901234567890123" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(a0_identity_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (a0_identity_name_valid(bad[i]))
			fail_msg("\"%s\" passed", bad[i]);
	assert_false(a0_identity_name_valid(NULL));
}

/* ---- users ---- */

static void test_new_user(void **state)
{
	struct fx *f = *state;
	struct a0_sync_user *u;
	const struct a0_sync_entry *e;

	u = add_user(f, "auth0|alice", "alice");
	u->username = strdup("alice.l");
	u->email = strdup("alice@example.com");
	u->gecos = strdup("Alice Liddell");
	u = add_user(f, "auth0|bob", "bob");
	u->email = strdup("bob@example.com");
	u->blocked = true;
	f->data.max_updated_at = strdup("2024-05-01T10:00:00.000Z");
	assert_a0(run(f, true, 1000), 0);
	assert_int_equal(f->log.lines, 0);
	assert_int_equal(f->state.n_users, 2);
	e = entry(f, "auth0|alice");
	assert_non_null(e);
	assert_string_equal(e->name, "alice");
	assert_int_equal(e->uid, 288435);
	assert_int_equal(e->gid, 288435); /* a private group */
	assert_string_equal(e->login, "alice.l");
	assert_string_equal(e->gecos, "Alice Liddell");
	assert_int_equal(e->state, A0_SYNC_ACTIVE);
	assert_false(e->local);
	assert_false(e->shadowed);
	e = entry(f, "auth0|bob");
	assert_string_equal(e->login, "bob@example.com");
	assert_int_equal(e->state, A0_SYNC_BLOCKED);
	assert_string_equal(f->state.watermark, "2024-05-01T10:00:00.000Z");
	assert_int_equal(f->state.generated, 1000);
	assert_int_equal(f->state.last_full, 1000);
	/* An incremental run moves generated, not last_full; no watermark keeps the old one. */
	assert_a0(run(f, false, 2000), 0);
	assert_int_equal(f->state.generated, 2000);
	assert_int_equal(f->state.last_full, 1000);
	assert_string_equal(f->state.watermark, "2024-05-01T10:00:00.000Z");
	assert_int_equal(f->state.n_users, 2);
}

/* name_attribute = username: the connection's username, never the posix attribute. */
static void test_name_from_username(void **state)
{
	struct fx *f = *state;
	struct a0_sync_user *u;

	configure(f, "name_attribute = username\n");
	u = add_user(f, "auth0|a", "fromposix");
	u->username = strdup("carol");
	add_user(f, "auth0|b", "dave"); /* no username */
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_string_equal(f->state.users[0].name, "carol");
	assert_int_equal(f->log.lines, 1);
	assert_logged(f, "user_id=auth0|b name=- skipped: no name attribute");
}

static void test_explicit_ids(void **state)
{
	struct fx *f = *state;
	struct a0_sync_user *u;

	u = add_user(f, "auth0|a", "alice");
	u->posix_uid = 5000; /* outside uid_min..uid_max: taken as it is */
	u = add_user(f, "auth0|b", "bob");
	u->posix_uid = 5001;
	u->posix_gid = 5100;
	u = add_user(f, "auth0|c", "carol");
	u->posix_gid = 6000; /* a derived uid with an explicit gid */
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->log.lines, 0);
	assert_int_equal(entry(f, "auth0|a")->uid, 5000);
	assert_int_equal(entry(f, "auth0|a")->gid, 5000);
	assert_int_equal(entry(f, "auth0|b")->uid, 5001);
	assert_int_equal(entry(f, "auth0|b")->gid, 5100);
	assert_int_equal(entry(f, "auth0|c")->uid, a0_sync_derive_id("auth0|c", 200000, 299999));
	assert_int_equal(entry(f, "auth0|c")->gid, 6000);
}

/* Ids in the system range, nobody's, the role groups' range, or past 2^31-2: one line each. */
static void test_explicit_refused(void **state)
{
	struct fx *f = *state;
	static const long long uids[] = { 0,      1,      999,          65534,       65535,
					  300000, 399999, 2147483647LL, 4294967295LL };
	char id[32];

	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		char name[16];

		snprintf(id, sizeof(id), "auth0|u%zu", i);
		snprintf(name, sizeof(name), "u%zu", i);
		add_user(f, id, name)->posix_uid = uids[i];
	}
	add_user(f, "auth0|g", "gina")->posix_gid = 100; /* the users group: a system gid */
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_users, 0);
	assert_int_equal(f->log.lines, sizeof(uids) / sizeof(uids[0]) + 1);
	assert_logged(f, "user_id=auth0|u0 name=u0 skipped: app_metadata.posix.uid 0 is in the "
			 "system range (below min_uid)");
	assert_logged(f, "app_metadata.posix.uid 65534 is nobody's");
	assert_logged(f, "app_metadata.posix.uid 300000 is in the role groups' range");
	assert_logged(f, "app_metadata.posix.uid 2147483647 is above 2147483646");
	assert_logged(f, "user_id=auth0|g name=gina skipped: app_metadata.posix.gid 100 is in the "
			 "system range");
	/* min_uid is the floor. */
	configure(f, "min_uid = 500\n");
	add_user(f, "auth0|u2", "u2")->posix_uid = 999;
	assert_a0(run(f, true, 2), 0);
	assert_int_equal(entry(f, "auth0|u2")->uid, 999);
}

/* Everyone derives 200000 in a range of one: the first user_id gets it, whatever the order. */
static void test_collision_derived(void **state)
{
	struct fx *f = *state;
	char *first, *second;

	configure(f, "uid_min = 200000\nuid_max = 200000\n");
	add_user(f, "auth0|zed", "zed");
	add_user(f, "auth0|amy", "amy");
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_int_equal(entry(f, "auth0|amy")->uid, 200000);
	assert_null(lookup(f, "auth0|zed"));
	assert_int_equal(f->log.lines, 1);
	assert_logged(f, "user_id=auth0|zed name=zed skipped: its uid 200000 (derived) belongs to "
			 "user_id=auth0|amy; give one of them app_metadata.posix.uid");
	first = printed(&f->state);
	/* The other order, on a fresh state: the same. */
	a0_sync_state_free(&f->state);
	add_user(f, "auth0|amy", "amy");
	add_user(f, "auth0|zed", "zed");
	assert_a0(run(f, true, 1), 0);
	second = printed(&f->state);
	assert_string_equal(second, first);
	free(first);
	free(second);
	/* The pinned one keeps it even against a user_id that sorts first. */
	add_user(f, "auth0|aaa", "aaa");
	add_user(f, "auth0|amy", "amy");
	assert_a0(run(f, false, 2), 0);
	assert_int_equal(entry(f, "auth0|amy")->uid, 200000);
	assert_null(lookup(f, "auth0|aaa"));
	assert_logged(f, "user_id=auth0|aaa name=aaa skipped: its uid 200000 (derived) belongs to "
			 "user_id=auth0|amy");
	/* The administrator's fix: an explicit uid. */
	add_user(f, "auth0|zed", "zed")->posix_uid = 250000;
	assert_a0(run(f, false, 3), 0);
	assert_int_equal(entry(f, "auth0|zed")->uid, 250000);
}

/* Among new users, an explicit uid goes before a derived one. */
static void test_collision_explicit_first(void **state)
{
	struct fx *f = *state;
	struct a0_sync_user *u;

	configure(f, "uid_min = 200000\nuid_max = 200000\n");
	add_user(f, "auth0|a", "amy");
	add_user(f, "auth0|b", "ben")->posix_uid = 200000;
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(entry(f, "auth0|b")->uid, 200000);
	assert_null(lookup(f, "auth0|a"));
	assert_int_equal(f->log.lines, 1);
	assert_logged(f, "user_id=auth0|a name=amy skipped: its uid 200000 (derived) belongs to "
			 "user_id=auth0|b");
	/* An explicit gid that is another's uid. */
	u = add_user(f, "auth0|c", "cat");
	u->posix_uid = 5000;
	u->posix_gid = 200000;
	assert_a0(run(f, false, 2), 0);
	assert_null(lookup(f, "auth0|c"));
	assert_logged(f, "its gid 200000 (app_metadata.posix.gid) belongs to user_id=auth0|b");
}

/* Local accounts and groups: their names and ids are never given. */
static void test_collision_local(void **state)
{
	struct fx *f = *state;
	unsigned derived = a0_sync_derive_id("auth0|e", 200000, 299999);

	f->host.users[2] = "alice";
	f->host.groups[2] = "staff";
	f->host.group_gids[2] = 50;
	f->host.ids[2] = 5000;
	f->host.ids[3] = derived;
	add_user(f, "auth0|a", "alice");
	add_user(f, "auth0|b", "staff");
	add_user(f, "auth0|c", "carol")->posix_uid = 5000;
	add_user(f, "auth0|d", "root");
	add_user(f, "auth0|e", "erin");
	add_user(f, "auth0|f", "fred")->posix_gid = 5000;
	add_user(f, "auth0|g", "gina");
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_non_null(lookup(f, "auth0|g"));
	assert_int_equal(f->log.lines, 6);
	assert_logged(f, "user_id=auth0|a name=alice skipped: a local account has this name and "
			 "users_file does not bind it to this user_id");
	assert_logged(f, "user_id=auth0|b name=staff skipped: a local group has this name");
	assert_logged(f, "user_id=auth0|c name=carol skipped: its uid 5000 "
			 "(app_metadata.posix.uid) is used by a local account or group");
	assert_logged(f, "user_id=auth0|d name=root skipped: a local account");
	assert_logged(f, "name=erin skipped: its uid");
	assert_logged(f, "user_id=auth0|f name=fred skipped: its gid 5000");
}

/* users_file binds a local account to this user_id: kept, local, not served (needs root). */
static void test_local_binding(void **state)
{
	struct fx *f = *state;
	char users[128], text[256];

	if (geteuid() != 0)
		skip();
	snprintf(users, sizeof(users), "%s/users", f->dir);
	snprintf(text, sizeof(text), "alice auth0|alice\nbob auth0|someone-else\n");
	write_text(users, text);
	assert_int_equal(chmod(users, 0644), 0);
	f->host.users[2] = "alice";
	f->host.users[3] = "bob";
	f->host.groups[2] = "alice"; /* its own private group */
	add_user(f, "auth0|alice", "alice")->blocked = true;
	add_user(f, "auth0|bob", "bob");
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_true(entry(f, "auth0|alice")->local);
	assert_false(entry(f, "auth0|alice")->shadowed);
	assert_int_equal(entry(f, "auth0|alice")->state, A0_SYNC_BLOCKED);
	assert_logged(f, "user_id=auth0|bob name=bob skipped: a local account has this name");
	/* The binding goes: the pinned entry is shadowed, logged at every run. */
	write_text(users, "bob auth0|bob\n");
	add_user(f, "auth0|bob", "bob");
	assert_a0(run(f, false, 2), 0);
	assert_false(entry(f, "auth0|alice")->local);
	assert_true(entry(f, "auth0|alice")->shadowed);
	assert_true(entry(f, "auth0|bob")->local);
	assert_logged(f, "user_id=auth0|alice name=alice uid=");
	assert_logged(f, "not served: a local account has its name");
	/* A users_file that is not root's: the run fails, the state stays. */
	{
		char *before = printed(&f->state), *after;

		assert_int_equal(chmod(users, 0666), 0);
		add_user(f, "auth0|bob", "bob");
		assert_a0(run(f, false, 3), A0_ERR_CONFIG);
		assert_logged(f, "users_file unusable");
		after = printed(&f->state);
		assert_string_equal(after, before);
		free(before);
		free(after);
	}
}

/* A pinned uid stays whatever the range now derives. */
static void test_pinned_survives_range_change(void **state)
{
	struct fx *f = *state;
	unsigned uid;

	add_user(f, "auth0|alice", "alice");
	add_role(f, "rol_1", "linux-dev", "auth0|alice", NULL);
	assert_a0(run(f, true, 1), 0);
	uid = entry(f, "auth0|alice")->uid;
	assert_int_equal(uid, 288435);
	configure(f, "uid_min = 500000\nuid_max = 599999\ngid_min = 600000\ngid_max = 699999\n");
	add_user(f, "auth0|alice", "alice");
	add_role(f, "rol_1", "linux-dev", "auth0|alice", NULL);
	assert_a0(run(f, false, 2), 0);
	assert_int_equal(entry(f, "auth0|alice")->uid, uid);
	assert_int_equal(group(f, "linux-dev")->gid, a0_sync_derive_id("rol_1", 300000, 399999));
	add_user(f, "auth0|alice", "alice");
	add_role(f, "rol_1", "linux-dev", "auth0|alice", NULL);
	assert_a0(run(f, true, 3), 0);
	assert_int_equal(entry(f, "auth0|alice")->uid, uid);
	assert_int_equal(f->log.lines, 0);
	/* A new user gets the new range. */
	add_user(f, "auth0|bob", "bob");
	add_role(f, "rol_1", "linux-dev", "auth0|alice", NULL);
	assert_a0(run(f, false, 4), 0);
	assert_in_range(entry(f, "auth0|bob")->uid, 500000, 599999);
}

/* Deletions come from full runs alone; the tombstone keeps the uid; the user can come back. */
static void test_tombstones(void **state)
{
	struct fx *f = *state;
	unsigned uid;

	add_user(f, "auth0|alice", "alice");
	add_user(f, "auth0|bob", "bob");
	assert_a0(run(f, true, 100), 0);
	uid = entry(f, "auth0|bob")->uid;
	/* Incremental: bob did not change, nothing happens to him. */
	add_user(f, "auth0|alice", "alice");
	assert_a0(run(f, false, 200), 0);
	assert_int_equal(entry(f, "auth0|bob")->state, A0_SYNC_ACTIVE);
	/* Full without bob: a tombstone. */
	add_user(f, "auth0|alice", "alice");
	assert_a0(run(f, true, 300), 0);
	assert_int_equal(entry(f, "auth0|bob")->state, A0_SYNC_DELETED);
	assert_int_equal(entry(f, "auth0|bob")->deleted_at, 300);
	assert_int_equal(entry(f, "auth0|bob")->uid, uid);
	assert_int_equal(f->log.lines, 1);
	assert_logged(f, "user_id=auth0|bob name=bob deleted in Auth0");
	/* Another full run: still one, not deleted again. */
	add_user(f, "auth0|alice", "alice");
	assert_a0(run(f, true, 400), 0);
	assert_int_equal(entry(f, "auth0|bob")->deleted_at, 300);
	assert_int_equal(f->log.lines, 0);
	/* He comes back, after the range changed: the same uid. */
	configure(f, "uid_min = 500000\nuid_max = 599999\n");
	add_user(f, "auth0|bob", "bob");
	assert_a0(run(f, false, 500), 0);
	assert_int_equal(entry(f, "auth0|bob")->state, A0_SYNC_ACTIVE);
	assert_int_equal(entry(f, "auth0|bob")->uid, uid);
	assert_int_equal(entry(f, "auth0|bob")->deleted_at, 0);
	assert_logged(f, "user_id=auth0|bob name=bob is back, with its uid");
}

/* A deleted user's uid, or its name's owner's, is never given to a newcomer. */
static void test_deleted_uid_never_reused(void **state)
{
	struct fx *f = *state;

	configure(f, "uid_min = 200000\nuid_max = 200000\n");
	add_user(f, "auth0|old", "olga");
	assert_a0(run(f, true, 1), 0);
	assert_a0(run(f, true, 2), 0); /* gone */
	assert_int_equal(entry(f, "auth0|old")->state, A0_SYNC_DELETED);
	add_user(f, "auth0|new", "nina");
	assert_a0(run(f, true, 3), 0);
	assert_null(lookup(f, "auth0|new"));
	assert_logged(f, "user_id=auth0|new name=nina skipped: its uid 200000 (derived) belongs to "
			 "user_id=auth0|old");
	/* Nor when asked for explicitly. */
	configure(f, NULL);
	add_user(f, "auth0|new", "nina")->posix_uid = 200000;
	assert_a0(run(f, true, 4), 0);
	assert_null(lookup(f, "auth0|new"));
	assert_logged(f, "belongs to user_id=auth0|old");
	/* The name, though, is free: names are not files' owners. */
	add_user(f, "auth0|new", "olga");
	assert_a0(run(f, true, 5), 0);
	assert_string_equal(entry(f, "auth0|new")->name, "olga");
	assert_int_not_equal(entry(f, "auth0|new")->uid, 200000);
}

/* A changed app_metadata.posix.uid: made when free, the old uid retired; refused when not. */
static void test_posix_uid_change(void **state)
{
	struct fx *f = *state;
	struct a0_sync_user *u;
	unsigned old;

	add_user(f, "auth0|a", "alice");
	u = add_user(f, "auth0|t", "tom");
	u->posix_uid = 7000;
	assert_a0(run(f, true, 1), 0);
	old = entry(f, "auth0|a")->uid;
	/* tom goes: 7000 is a tombstone's. */
	add_user(f, "auth0|a", "alice");
	assert_a0(run(f, true, 2), 0);
	/* alice asks for tom's uid: refused, she keeps hers. */
	add_user(f, "auth0|a", "alice")->posix_uid = 7000;
	assert_a0(run(f, false, 3), 0);
	assert_int_equal(entry(f, "auth0|a")->uid, old);
	assert_int_equal(f->log.lines, 1);
	assert_logged(f, "app_metadata.posix.uid 7000 refused (it belongs to user_id=auth0|t)");
	/* A free one: made, the old uid (and private gid) retired. */
	add_user(f, "auth0|a", "alice")->posix_uid = 7001;
	assert_a0(run(f, false, 4), 0);
	assert_int_equal(entry(f, "auth0|a")->uid, 7001);
	assert_int_equal(entry(f, "auth0|a")->gid, 7001);
	assert_int_equal(f->state.n_retired, 1);
	assert_int_equal(f->state.retired[0].id, old);
	assert_string_equal(f->state.retired[0].owner, "auth0|a");
	assert_logged(f, "(app_metadata.posix.uid); ");
	/* Nobody else gets the retired uid... */
	add_user(f, "auth0|b", "bob")->posix_uid = old;
	assert_a0(run(f, false, 5), 0);
	assert_null(lookup(f, "auth0|b"));
	assert_logged(f, "belongs to user_id=auth0|a");
	/* ...but alice may have it back. */
	add_user(f, "auth0|a", "alice")->posix_uid = old;
	assert_a0(run(f, false, 6), 0);
	assert_int_equal(entry(f, "auth0|a")->uid, old);
	assert_int_equal(f->state.n_retired, 2); /* old once, 7001 now */
	/* A change into the system range is refused. */
	add_user(f, "auth0|a", "alice")->posix_uid = 10;
	assert_a0(run(f, false, 7), 0);
	assert_int_equal(entry(f, "auth0|a")->uid, old);
	assert_logged(f, "app_metadata.posix.uid 10 refused (in the system range");
	/* The state stays consistent through it all. */
	{
		char err[256];

		assert_a0(a0_sync_state_check(&f->state, err, sizeof(err)), 0);
	}
}

/* Hostile names: each skipped with exactly one log line, nothing kept. */
static void test_hostile_names(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {
		"al:ice",
		"al\nice",
		"..",
		"../etc",
		"Alice",
		"ALICE",
		"a23456789012345678901234567890123",
		"",
		"-rf",
		"1abc",
		"a b",
		"a.b",
		"a/b",
		"al\x01ice",
		"\xc3\xa9ric",
		NULL,
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	char id[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "auth0|h%zu", i);
		add_user(f, id, names[i]);
	}
	add_user(f, "auth0|ok", "a2345678901234567890123456789012"); /* 32: the most */
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_non_null(lookup(f, "auth0|ok"));
	assert_int_equal(f->log.lines, n);
	assert_logged(f, "user_id=auth0|h0 name=al:ice skipped: not a valid Linux name");
	/* The newline, the control byte and the UTF-8 are shown as '?': one line each. */
	assert_logged(f, "user_id=auth0|h1 name=al?ice skipped");
	assert_logged(f, "user_id=auth0|h13 name=al?ice skipped");
	assert_logged(f, "user_id=auth0|h14 name=??ric skipped");
	assert_logged(f, "user_id=auth0|h15 name=- skipped: no name attribute");
	/* A user_id that is not one, and the same user twice. */
	add_user(f, "auth0|x y", "xavier");
	add_user(f, NULL, "yann");
	add_user(f, "auth0|ok", "a2345678901234567890123456789012");
	add_user(f, "auth0|ok", "other");
	assert_a0(run(f, false, 2), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_string_equal(entry(f, "auth0|ok")->name, "a2345678901234567890123456789012");
	assert_int_equal(f->log.lines, 3);
	assert_logged(f, "user_id=auth0|ok given twice: the second is skipped");
	assert_logged(f, "a user skipped: user_id auth0|x?y is not printable ASCII");
	/* Hostile login and gecos: dropped, the user kept. */
	{
		struct a0_sync_user *u = add_user(f, "auth0|g", "gina");

		u->gecos = strdup("Gina:0:0:root");
		u->username = strdup("gina\tx");
		u->email = strdup("gina@example.com");
		u = add_user(f, "auth0|h", "hugo");
		u->gecos = strdup("Hugo\nroot::0:0::/:/bin/sh");
		u->username = strdup("hugo h");
		assert_a0(run(f, false, 3), 0);
		assert_null(entry(f, "auth0|g")->gecos);
		assert_string_equal(entry(f, "auth0|g")->login, "gina@example.com");
		assert_null(entry(f, "auth0|h")->gecos);
		assert_null(entry(f, "auth0|h")->login);
		assert_int_equal(f->log.lines, 3);
		assert_logged(f, "user_id=auth0|g: gecos skipped");
		assert_logged(f, "user_id=auth0|h: login skipped");
	}
}

/* Two users want one name: the first user_id gets it; a rename onto a held name withdraws. */
static void test_name_collisions(void **state)
{
	struct fx *f = *state;

	add_user(f, "auth0|b", "sam");
	add_user(f, "auth0|a", "sam");
	add_user(f, "auth0|c", "cleo");
	assert_a0(run(f, true, 1), 0);
	assert_string_equal(entry(f, "auth0|a")->name, "sam");
	assert_null(lookup(f, "auth0|b"));
	assert_logged(f, "user_id=auth0|b name=sam skipped: the name is user_id=auth0|a's");
	/* cleo renamed to sam: withdrawn (a tombstone keeping her uid). */
	add_user(f, "auth0|c", "sam");
	assert_a0(run(f, false, 2), 0);
	assert_int_equal(entry(f, "auth0|c")->state, A0_SYNC_DELETED);
	assert_string_equal(entry(f, "auth0|c")->name, "cleo");
	assert_logged(f, "withdrawn: its uid stays reserved");
	/* Renamed to a free name: back, same uid, new name. */
	{
		unsigned uid = entry(f, "auth0|c")->uid;

		add_user(f, "auth0|c", "cleo2");
		assert_a0(run(f, false, 3), 0);
		assert_int_equal(entry(f, "auth0|c")->state, A0_SYNC_ACTIVE);
		assert_string_equal(entry(f, "auth0|c")->name, "cleo2");
		assert_int_equal(entry(f, "auth0|c")->uid, uid);
	}
	/* An invalid name on a known user withdraws it too. */
	add_user(f, "auth0|a", "Sam");
	assert_a0(run(f, false, 4), 0);
	assert_int_equal(entry(f, "auth0|a")->state, A0_SYNC_DELETED);
	assert_int_equal(f->log.lines, 1);
	/* Its name is free now. */
	add_user(f, "auth0|b", "sam");
	assert_a0(run(f, false, 5), 0);
	assert_string_equal(entry(f, "auth0|b")->name, "sam");
}

/* A local account that takes a pinned uid later: the entry is kept but shadowed. */
static void test_shadowed(void **state)
{
	struct fx *f = *state;
	unsigned uid;

	add_user(f, "auth0|a", "alice");
	assert_a0(run(f, true, 1), 0);
	uid = entry(f, "auth0|a")->uid;
	f->host.ids[2] = uid;
	assert_a0(run(f, false, 2), 0);
	assert_true(entry(f, "auth0|a")->shadowed);
	assert_int_equal(entry(f, "auth0|a")->uid, uid);
	assert_logged(f, "not served: a local account or group uses its uid");
	/* Logged at every run until fixed; then served again. */
	assert_a0(run(f, false, 3), 0);
	assert_int_equal(f->log.lines, 1);
	f->host.ids[2] = 0;
	assert_a0(run(f, false, 4), 0);
	assert_false(entry(f, "auth0|a")->shadowed);
	assert_int_equal(f->log.lines, 0);
}

/* A failing callback: the run fails and the state is what it was. */
static void test_failure_keeps_state(void **state)
{
	struct fx *f = *state;
	char *before, *after;

	add_user(f, "auth0|a", "alice");
	assert_a0(run(f, true, 1), 0);
	before = printed(&f->state);
	f->host.fail = A0_ERR_SYSTEM;
	add_user(f, "auth0|b", "bob");
	assert_a0(run(f, true, 2), A0_ERR_SYSTEM);
	after = printed(&f->state);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* ---- roles ---- */

static void test_role_groups(void **state)
{
	struct fx *f = *state;
	const struct a0_sync_entry *e;
	const struct a0_sync_group *g;

	add_user(f, "auth0|a", "alice");
	add_user(f, "auth0|b", "bob");
	add_role(f, "rol_dev", "linux-dev", "auth0|a", "auth0|b", "auth0|unknown", NULL);
	add_role(f, "rol_adm", "Admins", "auth0|a", NULL);
	add_role(f, "rol_ops", "linux-ops", NULL);
	add_role(f, "rol_bad", "linux-Bad", "auth0|b", NULL);
	assert_a0(run(f, true, 1), 0);
	/* The prefixed roles alone, with valid names. */
	assert_int_equal(f->state.n_groups, 2);
	g = group(f, "linux-dev");
	assert_non_null(g);
	assert_string_equal(g->role_id, "rol_dev");
	assert_int_equal(g->gid, a0_sync_derive_id("rol_dev", 300000, 399999));
	assert_false(g->local);
	assert_non_null(lookup_group(f, "linux-ops"));
	assert_null(lookup_group(f, "Admins"));
	assert_null(lookup_group(f, "linux-Bad"));
	assert_int_equal(f->log.lines, 1);
	assert_logged(f, "role_id=rol_bad name=linux-Bad gid=");
	/* Every role a user holds is kept, sorted, prefixed or not. */
	e = entry(f, "auth0|a");
	assert_int_equal(e->n_roles, 2);
	assert_string_equal(e->roles[0], "Admins");
	assert_string_equal(e->roles[1], "linux-dev");
	e = entry(f, "auth0|b");
	assert_int_equal(e->n_roles, 2);
	assert_string_equal(e->roles[0], "linux-Bad");
	/* Another prefix: admins is a group now; linux-dev lost the prefix, linux-ops is gone. */
	configure(f, "role_prefix = adm\n");
	add_role(f, "rol_adm", "admins", "auth0|a", NULL);
	add_role(f, "rol_dev", "linux-dev", NULL);
	assert_a0(run(f, false, 2), 0);
	assert_non_null(lookup_group(f, "admins"));
	assert_false(group(f, "admins")->deleted);
	assert_true(group(f, "linux-dev")->deleted);
	assert_true(group(f, "linux-ops")->deleted);
	assert_logged(f, "group linux-ops: the role is gone");
	/* Roles are complete in every run: alice lost linux-dev, bob everything. */
	assert_int_equal(entry(f, "auth0|a")->n_roles, 1);
	assert_int_equal(entry(f, "auth0|b")->n_roles, 0);
}

static void test_role_group_tombstone(void **state)
{
	struct fx *f = *state;
	unsigned gid;

	configure(f, "gid_min = 300000\ngid_max = 300000\n");
	add_role(f, "rol_a", "linux-a", NULL);
	assert_a0(run(f, true, 1), 0);
	gid = group(f, "linux-a")->gid;
	assert_int_equal(gid, 300000);
	/* It goes; another role derives the same gid: refused. */
	add_role(f, "rol_b", "linux-b", NULL);
	assert_a0(run(f, true, 2), 0);
	assert_true(group(f, "linux-a")->deleted);
	assert_null(lookup_group(f, "linux-b"));
	assert_logged(f, "role_id=rol_b name=linux-b gid=300000: no group: its derived gid belongs "
			 "to another (role_id=rol_a)");
	/* It comes back, renamed: its gid. */
	add_role(f, "rol_a", "linux-aa", NULL);
	assert_a0(run(f, true, 3), 0);
	assert_false(group(f, "linux-aa")->deleted);
	assert_int_equal(group(f, "linux-aa")->gid, gid);
	assert_logged(f, "role_id=rol_a group linux-aa is back, with its gid 300000");
}

/* A role group must not take a user's name, a local group's, or a local gid. */
static void test_role_group_collisions(void **state)
{
	struct fx *f = *state;

	f->host.ids[2] = a0_sync_derive_id("rol_c", 300000, 399999);
	f->host.groups[2] = "linux-sudo";
	f->host.group_gids[2] = 1100;
	add_user(f, "auth0|a", "linux-alice");
	add_role(f, "rol_a", "linux-alice", NULL);
	add_role(f, "rol_b", "linux-sudo", NULL);
	add_role(f, "rol_c", "linux-c", NULL);
	add_role(f, "rol_d", "linux-d", NULL);
	add_role(f, "rol_d", "linux-dd", NULL);
	add_role(f, "rol_e", "a,b", NULL);
	assert_a0(run(f, true, 1), 0);
	assert_int_equal(f->state.n_groups, 1);
	assert_non_null(lookup_group(f, "linux-d"));
	assert_logged(f, "role_id=rol_a name=linux-alice gid=");
	assert_logged(f, "the name is another's (user_id=auth0|a)");
	assert_logged(f, "role_id=rol_b name=linux-sudo gid=");
	assert_logged(f, "a local account or group has this name");
	assert_logged(f, "a local account or group uses its derived gid");
	assert_logged(f, "role_id=rol_d given twice: the second is skipped");
	assert_logged(f, "role_id=rol_e name=a,b skipped");
	assert_int_equal(f->log.lines, 5);
}

/* group_map: a mapped role gives the local group's gid, local = true; nothing by default. */
static void test_group_map(void **state)
{
	struct fx *f = *state;
	const struct a0_sync_group *g;

	add_user(f, "auth0|a", "alice");
	add_role(f, "rol_adm", "linux-admins", "auth0|a", NULL);
	assert_a0(run(f, true, 1), 0);
	assert_null(lookup_group(f, "sudo"));
	configure(f, "group_map = linux-admins:sudo Ops:sudo linux-admins:wheel\n");
	add_role(f, "rol_adm", "linux-admins", "auth0|a", NULL);
	add_role(f, "rol_ops", "Ops", NULL);
	assert_a0(run(f, false, 2), 0);
	g = group(f, "sudo");
	assert_non_null(g);
	assert_true(g->local);
	assert_int_equal(g->gid, 27);
	assert_null(g->role_id);
	assert_int_equal(f->state.n_groups, 3); /* linux-admins, and sudo twice (two roles) */
	assert_logged(f, "group_map linux-admins:wheel: this host has no group wheel: skipped");
	assert_int_equal(f->log.lines, 1);
	/* A local group whose name the cache cannot hold, and a role name the state cannot. */
	f->host.groups[2] = "Wheel";
	f->host.group_gids[2] = 10;
	configure(f, "group_map = linux-admins:Wheel -:sudo\n");
	add_role(f, "rol_adm", "linux-admins", "auth0|a", NULL);
	assert_a0(run(f, false, 3), 0);
	assert_null(lookup_group(f, "Wheel"));
	assert_null(lookup_group(f, "sudo"));
	assert_logged(f, "group_map linux-admins:Wheel: group Wheel has a name the cache cannot "
			 "hold: skipped");
	assert_logged(f, "group_map -:sudo: not a role's name: skipped");
	assert_int_equal(f->log.lines, 2);
	/* Mapping off again: gone. */
	configure(f, NULL);
	add_role(f, "rol_adm", "linux-admins", "auth0|a", NULL);
	assert_a0(run(f, false, 3), 0);
	assert_null(lookup_group(f, "sudo"));
	/* a0_sync_check_local alone makes them too (an imported state). */
	configure(f, "group_map = linux-admins:sudo\n");
	assert_a0(a0_sync_check_local(f->cfg, &f->local, &f->state, capture, &f->log), 0);
	assert_non_null(lookup_group(f, "sudo"));
}

/* The same data in another order gives the same state, byte for byte. */
static void test_deterministic(void **state)
{
	struct fx *f = *state;
	char *one = NULL, *two = NULL, id[32], name[32];

	configure(f, "uid_min = 200000\nuid_max = 200009\ngroup_map = linux-a:sudo\n");
	for (int pass = 0; pass < 2; pass++) {
		a0_sync_state_free(&f->state);
		for (int k = 0; k < 30; k++) {
			int i = pass ? 29 - k : k;

			snprintf(id, sizeof(id), "auth0|u%02d", i);
			snprintf(name, sizeof(name), "user%d", i % 25); /* some names twice */
			add_user(f, id, name)->posix_uid = i % 7 == 0 ? 5000 + i % 2 : -1;
		}
		if (pass)
			add_role(f, "rol_b", "linux-b", "auth0|u03", "auth0|u01", NULL);
		add_role(f, "rol_a", "linux-a", "auth0|u02", "auth0|u01", NULL);
		if (!pass)
			add_role(f, "rol_b", "linux-b", "auth0|u01", "auth0|u03", NULL);
		assert_a0(run(f, true, 1), 0);
		if (pass)
			two = printed(&f->state);
		else
			one = printed(&f->state);
	}
	assert_string_equal(one, two);
	free(one);
	free(two);
}

/* ---- the host's files ---- */

static void test_accounts_files(void **state)
{
	struct fx *f = *state;
	char passwd[128], grp[128], err[256];
	struct a0_sync_accounts *a = NULL;
	struct a0_sync_local l;
	unsigned gid = 0;

	snprintf(passwd, sizeof(passwd), "%s/passwd", f->dir);
	snprintf(grp, sizeof(grp), "%s/group", f->dir);
	write_text(passwd, "root:x:0:0:root:/root:/bin/bash\n"
			   "alice:x:1000:1500:Alice:/home/alice:/bin/bash\n"
			   "garbage line\n"
			   "bob:x:1001:1001::/home/bob:/bin/sh\n");
	write_text(grp, "root:x:0:\nsudo:x:27:alice\nbob:x:1001:\n");
	assert_a0(a0_sync_accounts_read(passwd, grp, &a, err, sizeof(err)), 0);
	a0_sync_accounts_local(a, &l);
	assert_int_equal(l.user_named(l.ctx, "alice"), 1);
	assert_int_equal(l.user_named(l.ctx, "bob"), 1);
	assert_int_equal(l.user_named(l.ctx, "carol"), 0);
	assert_int_equal(l.user_named(l.ctx, "sudo"), 0);
	assert_int_equal(l.group_named(l.ctx, "sudo", &gid), 1);
	assert_int_equal(gid, 27);
	assert_int_equal(l.group_named(l.ctx, "alice", &gid), 0);
	assert_int_equal(l.id_used(l.ctx, 1000), 1);
	assert_int_equal(l.id_used(l.ctx, 1500), 1); /* alice's primary gid, in no group line */
	assert_int_equal(l.id_used(l.ctx, 27), 1);
	assert_int_equal(l.id_used(l.ctx, 1002), 0);
	/* The rules with these. */
	add_user(f, "auth0|x", "alice");
	add_user(f, "auth0|y", "yves")->posix_uid = 1500;
	add_user(f, "auth0|z", "zoe");
	assert_a0(a0_sync_apply(f->cfg, &l, &f->data, &f->state, NULL, NULL), 0);
	assert_int_equal(f->state.n_users, 1);
	assert_string_equal(f->state.users[0].name, "zoe");
	a0_sync_accounts_free(a);
	a0_sync_accounts_free(NULL);
	assert_a0(a0_sync_accounts_read("/nonexistent-a0", grp, &a, err, sizeof(err)),
		  A0_ERR_SYSTEM);
	assert_non_null(strstr(err, "/nonexistent-a0"));
}

/* ---- the outputs ---- */

static bool has_gid(const struct a0_cache *c, const char *name, uint32_t gid)
{
	struct a0_cache_gids g;

	if (a0_cache_groups_of(c, name, &g) != 0)
		return false;
	for (size_t i = 0; i < g.n; i++)
		if (a0_cache_gid(&g, i) == gid)
			return true;
	return false;
}

/* The cache as the NSS module reads it, and the identities file as the PAM module reads it. */
static void test_write_outputs(void **state)
{
	struct fx *f = *state;
	char cache[128], ids[128], err[256] = "";
	struct a0_cache *c = NULL;
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_identity id = { 0 };
	struct a0_sync_user *u;
	const struct a0_sync_entry *alice, *bob;
	time_t generated = 0;
	unsigned dev_gid;
	struct stat st;

	snprintf(cache, sizeof(cache), "%s/nss.cache", f->dir);
	snprintf(ids, sizeof(ids), "%s/identities", f->dir);
	configure(f, "group_map = Admins:sudo linux-dev:sudo\nhome_template = /srv/home/%u\n"
		     "shell = /bin/zsh\n");
	u = add_user(f, "auth0|alice", "alice");
	u->username = strdup("alice");
	u->gecos = strdup("Alice Liddell");
	add_user(f, "auth0|bob", "bob")->blocked = true;
	add_user(f, "auth0|carol", "carol");
	add_user(f, "auth0|erin", "erin");
	add_role(f, "rol_dev", "linux-dev", "auth0|alice", "auth0|bob", "auth0|erin", NULL);
	add_role(f, "rol_adm", "Admins", "auth0|alice", "auth0|bob", NULL);
	assert_a0(run(f, true, 1000), 0);
	/* carol goes; erin's uid is taken by a local account. */
	u = add_user(f, "auth0|alice", "alice");
	u->username = strdup("alice");
	u->gecos = strdup("Alice Liddell");
	add_user(f, "auth0|bob", "bob")->blocked = true;
	add_user(f, "auth0|erin", "erin");
	add_role(f, "rol_dev", "linux-dev", "auth0|alice", "auth0|bob", "auth0|erin", NULL);
	add_role(f, "rol_adm", "Admins", "auth0|alice", "auth0|bob", NULL);
	f->host.ids[2] = entry(f, "auth0|erin")->uid;
	assert_a0(run(f, true, 2000), 0);
	alice = entry(f, "auth0|alice");
	bob = entry(f, "auth0|bob");
	dev_gid = group(f, "linux-dev")->gid;
	assert_a0(a0_sync_write_outputs(f->cfg, &f->state, cache, ids, err, sizeof(err)), 0);

	assert_int_equal(a0_cache_open_owned(cache, geteuid(), &c), 0);
	assert_int_equal(a0_cache_generated(c), 2000);
	/* alice and bob (blocked users keep their files); not carol (deleted), not erin. */
	assert_int_equal(a0_cache_n_users(c), 2);
	assert_int_equal(a0_cache_user_by_name(c, "alice", &pw), 0);
	assert_int_equal(pw.uid, alice->uid);
	assert_int_equal(pw.gid, alice->uid);
	assert_string_equal(pw.dir, "/srv/home/alice");
	assert_string_equal(pw.shell, "/bin/zsh");
	assert_string_equal(pw.gecos, "Alice Liddell");
	assert_int_equal(a0_cache_user_by_uid(c, bob->uid, &pw), 0);
	assert_string_equal(pw.name, "bob");
	assert_string_equal(pw.gecos, "");
	assert_int_equal(a0_cache_user_by_name(c, "carol", &pw), -ENOENT);
	assert_int_equal(a0_cache_user_by_name(c, "erin", &pw), -ENOENT);
	/* Groups: the private ones, linux-dev with its active members, sudo for initgroups only. */
	assert_int_equal(a0_cache_n_groups(c), 4);
	assert_int_equal(a0_cache_n_served_groups(c), 3);
	assert_int_equal(a0_cache_group_by_name(c, "alice", &gr), 0);
	assert_int_equal(gr.gid, alice->gid);
	assert_int_equal(gr.n_members, 0);
	assert_int_equal(a0_cache_group_by_name(c, "linux-dev", &gr), 0);
	assert_int_equal(gr.gid, dev_gid);
	assert_int_equal(gr.n_members, 1);
	assert_string_equal(a0_cache_member(c, &gr, 0), "alice");
	assert_int_equal(a0_cache_group_by_name(c, "sudo", &gr), -ENOENT);
	assert_int_equal(a0_cache_group_by_name(c, "Admins", &gr), -ENOENT);
	assert_true(has_gid(c, "alice", 27));
	assert_true(has_gid(c, "alice", dev_gid));
	assert_false(has_gid(c, "bob", 27));
	assert_false(has_gid(c, "bob", dev_gid));
	a0_cache_close(c);

	/* The identities: root's alone, each with its state, login and roles. */
	assert_int_equal(stat(ids, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		assert_a0(a0_identities_find(ids, "alice", &id, &generated, err, sizeof(err)), 0);
		assert_int_equal(generated, 2000);
		assert_string_equal(id.user_id, "auth0|alice");
		assert_string_equal(id.login, "alice");
		assert_int_equal(id.state, A0_IDENTITY_ACTIVE);
		assert_int_equal(id.n_roles, 2);
		assert_string_equal(id.roles[0], "Admins");
		assert_string_equal(id.roles[1], "linux-dev");
		a0_identity_clear(&id);
		assert_a0(a0_identities_find(ids, "bob", &id, NULL, err, sizeof(err)), 0);
		assert_int_equal(id.state, A0_IDENTITY_BLOCKED);
		a0_identity_clear(&id);
		assert_a0(a0_identities_find(ids, "carol", &id, NULL, err, sizeof(err)), 0);
		assert_int_equal(id.state, A0_IDENTITY_DELETED);
		assert_int_equal(id.n_roles, 0);
		a0_identity_clear(&id);
		assert_a0(a0_identities_find(ids, "erin", &id, NULL, err, sizeof(err)),
			  A0_ERR_NOT_FOUND);
	}

	/* The cache cannot be written: the identities are, and the old cache stays. */
	assert_a0(stat(cache, &st), 0);
	f->state.generated = 3000;
	assert_a0(unlink(ids), 0);
	{
		char bad[160];

		snprintf(bad, sizeof(bad), "%s/missing/nss.cache", f->dir);
		assert_a0(a0_sync_write_outputs(f->cfg, &f->state, bad, ids, err, sizeof(err)),
			  A0_ERR_SYSTEM);
		assert_int_equal(access(ids, F_OK), 0);
	}
	/* A home over the cache's bound: a configuration error, nothing written. */
	{
		char line[400];

		snprintf(line, sizeof(line), "home_template = /%0250d/%%u\n", 0);
		configure(f, line);
		assert_a0(a0_sync_write_outputs(f->cfg, &f->state, cache, ids, err, sizeof(err)),
			  A0_ERR_CONFIG);
		assert_non_null(strstr(err, "home_template"));
		assert_int_equal(a0_cache_open_owned(cache, geteuid(), &c), 0);
		assert_int_equal(a0_cache_generated(c), 2000);
		a0_cache_close(c);
	}
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_stable),
		cmocka_unit_test(test_derive_range),
		cmocka_unit_test(test_name_valid),
		T(test_new_user),
		T(test_name_from_username),
		T(test_explicit_ids),
		T(test_explicit_refused),
		T(test_collision_derived),
		T(test_collision_explicit_first),
		T(test_collision_local),
		T(test_local_binding),
		T(test_pinned_survives_range_change),
		T(test_tombstones),
		T(test_deleted_uid_never_reused),
		T(test_posix_uid_change),
		T(test_hostile_names),
		T(test_name_collisions),
		T(test_shadowed),
		T(test_failure_keeps_state),
		T(test_role_groups),
		T(test_role_group_tombstone),
		T(test_role_group_collisions),
		T(test_group_map),
		T(test_deterministic),
		T(test_accounts_files),
		T(test_write_outputs),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
