/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/idtoken.h"
#include "lib/jwt.h"
#include "lib/util.h"

#define JWKS_PATH "/.well-known/jwks.json"
#define MAX_NAME 512 /* cache file names: the domain is at most 253 + 6 bytes */

/* Root's files, or this process's own, that nobody else may change. */
static bool trusted(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) &&
	       !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The cache directory as an fd (files are opened relative to it, so it cannot be swapped
 * after the check), -1 when this process may not use it, or A0_ERR_CONFIG. */
static int open_cache_dir(const char *dir, int *ret_fd, char *reason, size_t reasonlen)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd;

	fd = open(dir, flags);
	if (fd < 0 && errno == ENOENT && (mkdir(dir, 0700) == 0 || errno == EEXIST))
		fd = open(dir, flags);
	if (fd < 0) {
		/* An application that is not root (a screen locker) verifies without a cache. */
		if (errno == EACCES || errno == EPERM || errno == EROFS) {
			*ret_fd = -1;
			return 0;
		}
		a0_format(reason, reasonlen, "cache_dir %s: %s", dir, strerror(errno));
		return A0_ERR_CONFIG;
	}
	if (fstat(fd, &st) < 0 || !trusted(&st)) {
		(void)close(fd);
		a0_format(reason, reasonlen,
			  "cache_dir %s must be owned by root and writable by nobody else", dir);
		return A0_ERR_CONFIG;
	}
	*ret_fd = fd;
	return 0;
}

static bool fresh(const struct stat *st, time_t now, unsigned ttl)
{
	/* An mtime ahead of the clock means the clock went back: do not trust the age. */
	return st->st_mtime <= now && now - st->st_mtime < (time_t)ttl;
}

/* 0 with the cached keys and their fetch time, 1 when there are none fit to use. */
static int read_cache(int dirfd, const char *name, time_t now, unsigned ttl,
		      struct a0_jwks **ret, time_t *ret_fetched)
{
	struct stat st;
	char *text = NULL;
	ssize_t got;
	int fd, r = 1;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !trusted(&st) || st.st_size <= 0 ||
	    st.st_size > A0_JWKS_MAX_LEN || !fresh(&st, now, ttl))
		goto out;
	text = malloc((size_t)st.st_size);
	if (!text)
		goto out;
	got = a0_read_full(fd, text, (size_t)st.st_size);
	/* A torn or foreign file is not an error: the tenant has the real one. */
	if (got == (ssize_t)st.st_size && a0_jwks_parse(text, (size_t)got, ret) == 0) {
		*ret_fetched = st.st_mtime;
		r = 0;
	}
out:
	free(text);
	(void)close(fd);
	return r;
}

/* Replace the cache file atomically. A cache that cannot be written only costs a fetch at
 * the next login, so failures are not errors. */
static void write_cache(int dirfd, const char *name, const char *body, size_t len)
{
	unsigned long long rnd;
	char tmp[MAX_NAME + 32];
	bool ok;
	int fd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return;
	snprintf(tmp, sizeof(tmp), ".%s.%016llx", name, rnd);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* 0644 whatever the umask: the keys are public and a non-root application may read them. */
	ok = fchmod(fd, 0644) == 0 && a0_write_full(fd, body, len) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || renameat(dirfd, tmp, dirfd, name) < 0)
		(void)unlinkat(dirfd, tmp, 0);
}

/* GET the tenant's JWKS, parse it and, when dirfd >= 0, cache it. */
static int fetch_keys(struct a0_http *h, int dirfd, const char *name, struct a0_jwks **ret,
		      char *reason, size_t reasonlen)
{
	struct a0_http_response resp;
	int r;

	r = a0_http_request(h, JWKS_PATH, NULL, NULL, &resp, reason, reasonlen);
	if (r < 0)
		return r;
	if (resp.status == 429)
		r = A0_ERR_RATE_LIMITED;
	else if (resp.status >= 500)
		r = A0_ERR_SERVER;
	else if (resp.status != 200 || strncasecmp(resp.content_type, "application/json", 16) != 0)
		r = A0_ERR_MALFORMED;
	else if (resp.len > A0_JWKS_MAX_LEN)
		r = A0_ERR_TOO_LARGE;
	else
		r = a0_jwks_parse(resp.body, resp.len, ret);
	if (r < 0 && resp.status != 200)
		a0_format(reason, reasonlen, "JWKS: HTTP %ld", resp.status);
	else if (r < 0)
		a0_format(reason, reasonlen, "JWKS: %zu bytes of '%s' are not a key set", resp.len,
			  resp.content_type);
	else if (dirfd >= 0)
		write_cache(dirfd, name, resp.body, resp.len);
	a0_http_response_clear(&resp);
	return r;
}

int a0_id_token_verify(struct a0_http *h, const struct a0_id_token_check *check,
		       const char *token, time_t now, cJSON **ret_claims, char *reason,
		       size_t reasonlen)
{
	char issuer[MAX_NAME], name[MAX_NAME];
	struct a0_jwt_expect expect = {
		.issuer = issuer,
		.client_id = check->client_id,
		.now = now,
		.leeway = check->leeway,
	};
	struct a0_jwks *keys = NULL;
	time_t fetched = now;
	int dirfd = -1, r = 0;

	/* The domain names a file in cache_dir: no '/' (conf.c checks it; other callers may not). */
	if (snprintf(issuer, sizeof(issuer), "https://%s/", check->domain) >= (int)sizeof(issuer) ||
	    snprintf(name, sizeof(name), A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_CACHE_SUFFIX,
		     check->domain) >= (int)sizeof(name) ||
	    strchr(check->domain, '/'))
		return A0_ERR_INVALID;
	if (check->cache_dir)
		r = open_cache_dir(check->cache_dir, &dirfd, reason, reasonlen);
	if (r == 0 && (dirfd < 0 || read_cache(dirfd, name, now, check->jwks_ttl, &keys,
					       &fetched) != 0))
		r = fetch_keys(h, dirfd, name, &keys, reason, reasonlen);
	if (r == 0)
		r = a0_jwt_verify(token, keys, &expect, ret_claims, reason, reasonlen);
	/* A rotated key: refetch, at most once a minute however many tokens name unknown kids. */
	if (r == A0_ERR_UNKNOWN_KID && now - fetched >= A0_JWKS_REFETCH_INTERVAL) {
		a0_jwks_free(keys);
		keys = NULL;
		r = fetch_keys(h, dirfd, name, &keys, reason, reasonlen);
		if (r == 0)
			r = a0_jwt_verify(token, keys, &expect, ret_claims, reason, reasonlen);
	}
	a0_jwks_free(keys);
	if (dirfd >= 0)
		(void)close(dirfd);
	return r;
}
