/* SPDX-License-Identifier: MIT */
#ifndef A0_NSS_FORMAT_H
#define A0_NSS_FORMAT_H

/*
 * The identity cache's file format, version 1: what nss/writer.c writes and nss/cache.c reads.
 * Private to nss/: everyone else goes through nss/cache.h.
 *
 *   header        struct a0_cache_header: magic, version, sizes, counts, section table
 *   users         n_users × struct a0_cache_urec (uid order)
 *   groups        n_groups × struct a0_cache_grec (gid order; local groups included)
 *   users_by_name n_users × struct a0_cache_key { a0_cache_hash(name), user record number },
 *                 sorted by hash, then by name (strcmp)
 *   users_by_uid  n_users × struct a0_cache_key { uid, user record number }, sorted by uid
 *   groups_by_name  n_served × { a0_cache_hash(name), group record number }, sorted by hash,
 *                 then by name; local groups left out
 *   groups_by_gid   n_served × { gid, group record number }, sorted by gid
 *   members       uint32 string offsets: each group's members, in a run (grec.members, n_members)
 *   memberships   n_memberships × struct a0_cache_mrec, sorted by hash, then by name: every
 *                 name that is a member of some group, with its groups' gids (a run in gids)
 *   gids          uint32 gids, each membership's run sorted and without duplicates
 *   strings       NUL-terminated strings, each at most A0_CACHE_MAX_FIELD bytes; a string is
 *                 named by its byte offset here (the writer stores each distinct string once)
 *
 * An index entry holds its key, so that a binary search reads the index alone until the last
 * step: one compact array per lookup, whose upper levels stay in the CPU's caches, and then one
 * record. Names are found by their hash (ties, if any, by the name itself, so a crafted set of
 * colliding names costs string comparisons only among themselves, still O(log n)).
 *
 * Integers are in the host's byte order (the file never leaves the host; another order fails
 * the version check). Every section starts on an 8-byte boundary, so a mapping's arrays are
 * aligned. Sizes and offsets in the section table are in bytes. The reader checks the header
 * and the section bounds when it maps the file, and every record number, string offset and
 * run against its section on every access.
 */

#include <stdint.h>

#define A0_CACHE_MAGIC "A0NSSCA\n" /* 8 bytes, no NUL */
#define A0_CACHE_MAGIC_LEN 8
#define A0_CACHE_VERSION 1
#define A0_CACHE_ALIGN 8

enum a0_cache_section_id {
	A0_SEC_USERS,
	A0_SEC_GROUPS,
	A0_SEC_USERS_BY_NAME,
	A0_SEC_USERS_BY_UID,
	A0_SEC_GROUPS_BY_NAME,
	A0_SEC_GROUPS_BY_GID,
	A0_SEC_MEMBERS,
	A0_SEC_MEMBERSHIPS,
	A0_SEC_GIDS,
	A0_SEC_STRINGS,
	A0_SEC_COUNT
};

struct a0_cache_section {
	uint64_t off;
	uint64_t size;
};

struct a0_cache_header {
	char magic[A0_CACHE_MAGIC_LEN];
	uint32_t version;
	uint32_t header_size; /* sizeof(struct a0_cache_header) */
	uint64_t file_size;
	int64_t generated; /* when the data was read from Auth0 (time_t) */
	uint32_t n_users;
	uint32_t n_groups;        /* group records, local ones included */
	uint32_t n_served_groups; /* entries of groups_by_name and groups_by_gid */
	uint32_t n_memberships;
	uint32_t user_size;       /* sizeof(struct a0_cache_urec) */
	uint32_t group_size;      /* sizeof(struct a0_cache_grec) */
	uint32_t membership_size; /* sizeof(struct a0_cache_mrec) */
	uint32_t reserved;        /* 0 */
	struct a0_cache_section sec[A0_SEC_COUNT];
};

/* An index entry: the key (an id, or a name's a0_cache_hash) and the record it names. */
struct a0_cache_key {
	uint32_t key;
	uint32_t rec;
};

/* FNV-1a, 32 bits, of a NUL-terminated name: the key of the name indexes. */
static inline uint32_t a0_cache_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Strings are offsets into the strings section. */
struct a0_cache_urec {
	uint32_t name;
	uint32_t uid;
	uint32_t gid;
	uint32_t gecos;
	uint32_t dir;
	uint32_t shell;
};

#define A0_CACHE_GROUP_LOCAL 1u /* grec.flags: only for initgroups */

struct a0_cache_grec {
	uint32_t name;
	uint32_t gid;
	uint32_t members;   /* index of its first member in the members section */
	uint32_t n_members; /* how many */
	uint32_t flags;
};

struct a0_cache_mrec {
	uint32_t hash; /* a0_cache_hash(name) */
	uint32_t name;
	uint32_t gids;   /* index of its first gid in the gids section */
	uint32_t n_gids; /* at least 1 */
};

_Static_assert(sizeof(struct a0_cache_header) == 64 + 16 * A0_SEC_COUNT, "header layout");
_Static_assert(sizeof(struct a0_cache_urec) == 24, "user record layout");
_Static_assert(sizeof(struct a0_cache_grec) == 20, "group record layout");
_Static_assert(sizeof(struct a0_cache_mrec) == 16, "membership record layout");
_Static_assert(sizeof(struct a0_cache_key) == 8, "index entry layout");

#endif
