/* SPDX-License-Identifier: MIT */
/*
 * The identity caches the NSS tests and the benchmark write (nss/cache.h): a small one whose
 * every entry the tests know, and generated ones of any number of users. Header-only and
 * without cmocka, so that the benchmark can take it too; a set-up that fails ends the program
 * with exit status 99 (automake's hard error).
 */
#ifndef A0_TEST_NSS_FIXTURE_H
#define A0_TEST_NSS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nss/cache.h"

#define FIXTURE_GENERATED 1767225600 /* 2026-01-01 */

/*
 * a0alice, a0bob and a0carol; their private groups a0alice and a0bob; a0devs (a0alice, a0bob
 * and the local account localdave), a0ops (a0alice) and the role mapped to the local group
 * sudo (gid 27, local: only initgroups sees it) with a0alice and localdave.
 */
static const struct a0_cache_user fixture_users[] = {
	{ "a0alice", 70001, 70001, "Alice Example,,,", "/home/a0alice", "/bin/bash" },
	{ "a0bob", 70002, 70002, "Bob", "/home/a0bob", "/bin/sh" },
	{ "a0carol", 70003, 100, NULL, "/home/a0carol", "/usr/sbin/nologin" },
};
static const char *const fixture_devs[] = { "a0alice", "a0bob", "localdave" };
static const char *const fixture_ops[] = { "a0alice" };
static const char *const fixture_sudo[] = { "a0alice", "localdave" };
static const struct a0_cache_group fixture_groups[] = {
	{ "a0alice", 70001, NULL, 0, 0 },        { "a0bob", 70002, NULL, 0, 0 },
	{ "a0devs", 71000, fixture_devs, 3, 0 }, { "a0ops", 71001, fixture_ops, 1, 0 },
	{ "sudo", 27, fixture_sudo, 2, 1 },
};

static inline int fixture_write(const char *path, char *err, size_t errlen)
{
	return a0_cache_write(path, fixture_users, 3, fixture_groups, 5, FIXTURE_GENERATED, err,
			      errlen);
}

/*
 * n users u0000000, u0000001, ... (uid and primary gid 200000 + i, gecos "User i"), and one
 * group g000, g001, ... (gid 300000 + k) per 100 users holding them; every user is also in
 * the local group "users" (gid 100, local). All names in one block, freed by fixture_free.
 */
struct fixture_many {
	struct a0_cache_user *users;
	struct a0_cache_group *groups;
	const char **members;     /* per group, 100 at a time */
	const char **all_members; /* the local group's: every user */
	char *names;
	size_t n_users, n_groups;
};

#define FIXTURE_NAME 24
#define FIXTURE_PER_GROUP 100

static inline void fixture_many_init(struct fixture_many *f, size_t n)
{
	size_t n_groups = (n + FIXTURE_PER_GROUP - 1) / FIXTURE_PER_GROUP;

	memset(f, 0, sizeof(*f));
	f->users = calloc(n + 1, sizeof(*f->users));
	f->groups = calloc(n_groups + 1, sizeof(*f->groups));
	f->members = calloc(n + 1, sizeof(*f->members));
	f->all_members = calloc(n + 1, sizeof(*f->all_members));
	f->names = calloc(n + n_groups + 1, 2 * FIXTURE_NAME);
	if (!f->users || !f->groups || !f->members || !f->all_members || !f->names) {
		fprintf(stderr, "fixture_many_init: out of memory\n");
		exit(99);
	}
	for (size_t i = 0; i < n; i++) {
		char *name = f->names + i * 2 * FIXTURE_NAME, *gecos = name + FIXTURE_NAME;

		snprintf(name, FIXTURE_NAME, "u%07zu", i);
		snprintf(gecos, FIXTURE_NAME, "User %zu", i);
		f->users[i] = (struct a0_cache_user){ .name = name,
						      .uid = (uint32_t)(200000 + i),
						      .gid = (uint32_t)(200000 + i),
						      .gecos = gecos,
						      .dir = "/home/auth0",
						      .shell = "/bin/bash" };
		f->members[i] = name;
		f->all_members[i] = name;
	}
	for (size_t k = 0; k < n_groups; k++) {
		char *name = f->names + (n + k) * 2 * FIXTURE_NAME;
		size_t first = k * FIXTURE_PER_GROUP;

		snprintf(name, FIXTURE_NAME, "g%03zu", k);
		f->groups[k] = (struct a0_cache_group){
			.name = name,
			.gid = (uint32_t)(300000 + k),
			.members = f->members + first,
			.n_members = n - first < FIXTURE_PER_GROUP ? n - first : FIXTURE_PER_GROUP,
		};
	}
	f->groups[n_groups] = (struct a0_cache_group){
		.name = "users", .gid = 100, .members = f->all_members, .n_members = n, .local = 1
	};
	f->n_users = n;
	f->n_groups = n_groups + 1;
}

static inline int fixture_many_write(const struct fixture_many *f, const char *path, char *err,
				     size_t errlen)
{
	return a0_cache_write(path, f->users, f->n_users, f->groups, f->n_groups, FIXTURE_GENERATED,
			      err, errlen);
}

static inline void fixture_many_free(struct fixture_many *f)
{
	free(f->users);
	free(f->groups);
	free(f->members);
	free(f->all_members);
	free(f->names);
}

#endif
