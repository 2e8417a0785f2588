/* SPDX-License-Identifier: MIT */
/*
 * The identity cache's reader (nss/cache.c), which every process on the host runs through
 * libnss_auth0 over a file auth0-sync wrote: whatever the bytes, a0_cache_from_memory refuses
 * them (-EBADMSG) or every lookup the NSS module makes answers 0, -ENOENT or -EBADMSG without
 * reading outside them (the copy is exactly size bytes, so ASan sees any overread). What is
 * found is what was asked for, and its strings are bounded.
 */
#include "config.h"

#include <errno.h>

#include "nss/cache.h"
#include "tests/fuzz/fuzz.h"

/* Entries visited per input: the counts in a header can be large. */
#define FUZZ_MAX_VISITS 256

static bool bounded(const char *s)
{
	return s && strnlen(s, A0_CACHE_MAX_FIELD + 1) <= A0_CACHE_MAX_FIELD;
}

static void check_user(const struct a0_cache_pw *pw)
{
	FUZZ_CHECK(bounded(pw->name) && bounded(pw->gecos) && bounded(pw->dir) &&
		   bounded(pw->shell));
}

static void by_name(const struct a0_cache *c, const char *name)
{
	struct a0_cache_pw pw;
	struct a0_cache_gr gr;
	struct a0_cache_gids g;
	int r;

	r = a0_cache_user_by_name(c, name, &pw);
	FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
	if (r == 0) {
		check_user(&pw);
		FUZZ_CHECK(strcmp(pw.name, name) == 0);
	}
	r = a0_cache_group_by_name(c, name, &gr);
	FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
	FUZZ_CHECK(r != 0 || strcmp(gr.name, name) == 0);
	r = a0_cache_groups_of(c, name, &g);
	FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
	if (r == 0) {
		uint32_t sum = 0;

		FUZZ_CHECK(g.n >= 1 && g.n <= A0_CACHE_MAX_USER_GROUPS);
		for (size_t i = 0; i < g.n; i++)
			sum += a0_cache_gid(&g, i);
		(void)sum;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a0_cache *c = NULL;
	unsigned char *copy = malloc(size ? size : 1);
	int r;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = a0_cache_from_memory(copy, size, &c);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
		goto out;
	}
	FUZZ_CHECK(a0_cache_n_users(c) <= A0_CACHE_MAX_USERS);
	FUZZ_CHECK(a0_cache_n_served_groups(c) <= a0_cache_n_groups(c));
	for (size_t i = 0; i < FUZZ_MAX_VISITS; i++) {
		struct a0_cache_pw pw, again;

		r = a0_cache_user_at(c, i, &pw);
		FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
		FUZZ_CHECK(r != -ENOENT || i >= a0_cache_n_users(c));
		if (r == -ENOENT)
			break;
		if (r < 0)
			continue;
		check_user(&pw);
		by_name(c, pw.name);
		r = a0_cache_user_by_uid(c, pw.uid, &again);
		FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
		FUZZ_CHECK(r != 0 || again.uid == pw.uid);
	}
	for (size_t i = 0; i < FUZZ_MAX_VISITS; i++) {
		struct a0_cache_gr gr, again;

		r = a0_cache_group_at(c, i, &gr);
		FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
		if (r == -ENOENT)
			break;
		if (r < 0)
			continue;
		FUZZ_CHECK(bounded(gr.name) && gr.n_members <= A0_CACHE_MAX_MEMBERS);
		by_name(c, gr.name);
		r = a0_cache_group_by_gid(c, gr.gid, &again);
		FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EBADMSG);
		FUZZ_CHECK(r != 0 || again.gid == gr.gid);
		for (size_t j = 0; j < gr.n_members && j < FUZZ_MAX_VISITS; j++) {
			const char *m = a0_cache_member(c, &gr, j);

			FUZZ_CHECK(!m || bounded(m));
			if (m)
				by_name(c, m);
		}
		FUZZ_CHECK(a0_cache_member(c, &gr, gr.n_members) == NULL);
	}
	by_name(c, "root");
	by_name(c, "");
out:
	a0_cache_close(c);
	free(copy);
	return 0;
}
