/* SPDX-License-Identifier: MIT */
#ifndef A0_IDTOKEN_H
#define A0_IDTOKEN_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lib/http.h"

/* JWKS fetches in A0_JWKS_FETCH_WINDOW seconds, across the processes sharing cache_dir, beyond
 * which a kid the cached keys lack is not refetched. */
#define A0_JWKS_FETCH_LIMIT 5
#define A0_JWKS_FETCH_WINDOW 60
/* Seconds a verification waits for another process's fetch before it goes on without it. */
#define A0_JWKS_LOCK_WAIT 5
/* The cache file in cache_dir for a tenant: "jwks-" domain ".json"; its fetch log: "jwks-"
 * domain ".fetches". */
#define A0_JWKS_CACHE_PREFIX "jwks-"
#define A0_JWKS_CACHE_SUFFIX ".json"
#define A0_JWKS_LOG_SUFFIX ".fetches"

/* Which tenant and application an ID token must come from, and where its keys are kept. */
struct a0_id_token_check {
	const char *domain; /* host[:port]; the issuer is https://domain/ */
	const char *client_id;
	const char *cache_dir; /* NULL: fetch the JWKS for every verification */
	unsigned jwks_ttl;     /* seconds a cached JWKS is used without fetching */
	unsigned leeway;       /* seconds of clock skew for exp, iat and nbf */
};

/*
 * Verify an ID token with the tenant's keys: the cached JWKS while younger than jwks_ttl,
 * else fetched through h (GET /.well-known/jwks.json) and cached. A kid the cached keys do
 * not have (the tenant rotated its key) refetches them at once, unless the processes sharing
 * the cache made A0_JWKS_FETCH_LIMIT fetches in the last A0_JWKS_FETCH_WINDOW seconds. A
 * verification fetches at most once. The fetches' times are kept in the fetch log next to the
 * cache (0600, written under flock(2), which is held across the fetch: processes that meet a
 * rotation together cost one fetch, the others use its keys), so there is no state in memory
 * and no daemon. A verification waits at most A0_JWKS_LOCK_WAIT seconds for another process's
 * fetch; then it does not refetch cached keys, and fetches missing ones without the log. An
 * expired cache is not used when the fetch fails (a revoked key must stop working).
 *
 * The cache directory is created 0700 when missing and must be a directory owned by root
 * (or by this process's euid) and writable by nobody else, else A0_ERR_CONFIG. A process
 * that may not open it works without the cache, and one that may not write the fetch log
 * fetches as if it had no cache. The file is written 0644 through a temporary file and
 * rename(2), and is trusted only when it is a regular file owned as the directory is and
 * writable by nobody else.
 *
 * 0 and the claims (free with a0_json_free); A0_ERR_TOKEN_INVALID or A0_ERR_UNKNOWN_KID
 * with the failed check in reason; a transport error of a0_http_request, A0_ERR_SERVER or
 * A0_ERR_MALFORMED for the JWKS fetch; A0_ERR_CONFIG; A0_ERR_NOMEM.
 */
int a0_id_token_verify(struct a0_http *h, const struct a0_id_token_check *check, const char *token,
		       time_t now, cJSON **ret_claims, char *reason, size_t reasonlen);

#endif
