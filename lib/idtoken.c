/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
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
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
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

/* 0 with the cached keys, 1 when there are none fit to use. */
static int read_cache(int dirfd, const char *name, time_t now, unsigned ttl, struct a0_jwks **ret)
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
	if (got == (ssize_t)st.st_size && a0_jwks_parse(text, (size_t)got, ret) == 0)
		r = 0;
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

/* Nanoseconds since start on the monotonic clock. */
static long long elapsed_ns(const struct timespec *start)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - start->tv_sec) * 1000000000LL + (t.tv_nsec - start->tv_nsec);
}

enum { LOG_UNUSABLE = -1, LOG_BUSY = -2 };

/*
 * The fetch log, opened and locked (the lock is held until it is closed); LOG_UNUSABLE when
 * this process may not write it (it then fetches as a process without the cache does);
 * LOG_BUSY when another process held it for A0_JWKS_LOCK_WAIT seconds (a fetch that hangs
 * must not hold every sign-in). Polled, so the wait is bounded without signals.
 */
static int lock_log(int dirfd, const char *name)
{
	struct timespec start, pause = { 0, 1000000 };
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return LOG_UNUSABLE;
	/* Only its owner may open it: whoever could would hold every sign-in at the lock. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !trusted(&st) || (st.st_mode & 077)) {
		close(fd);
		return LOG_UNUSABLE;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			close(fd);
			return LOG_UNUSABLE;
		}
		if (elapsed_ns(&start) >= A0_JWKS_LOCK_WAIT * 1000000000LL) {
			close(fd);
			return LOG_BUSY;
		}
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 32000000)
			pause.tv_nsec *= 2;
	}
	return fd;
}

/*
 * The times of the last fetches, oldest first, as decimal seconds a line: how many of them lie
 * in the last A0_JWKS_FETCH_WINDOW seconds, in times. Processes read the clock at different
 * moments, and it may go back: times up to a window ahead count too. Garbage, and times
 * further ahead, do not: a log that cannot be read only loosens the limit for a window.
 */
static size_t read_log(int fd, time_t now, time_t times[A0_JWKS_FETCH_LIMIT])
{
	char text[A0_JWKS_FETCH_LIMIT * 24 + 1], *line, *next;
	size_t n = 0;
	ssize_t got;

	got = pread(fd, text, sizeof(text) - 1, 0);
	if (got <= 0)
		return 0;
	text[got] = '\0';
	for (line = text; line && *line; line = next) {
		long long t;
		char *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		errno = 0;
		t = strtoll(line, &end, 10);
		if (errno || end == line || *end || t <= now - A0_JWKS_FETCH_WINDOW ||
		    t > now + A0_JWKS_FETCH_WINDOW)
			continue;
		if (n == A0_JWKS_FETCH_LIMIT) {
			memmove(times, times + 1, (n - 1) * sizeof(*times));
			n--;
		}
		times[n++] = (time_t)t;
	}
	return n;
}

/* Add now to the n times of the log, keeping the newest A0_JWKS_FETCH_LIMIT. */
static int write_log(int fd, const time_t *times, size_t n, time_t now)
{
	char text[(A0_JWKS_FETCH_LIMIT + 1) * 24];
	size_t len = 0;

	for (size_t i = n >= A0_JWKS_FETCH_LIMIT ? n - A0_JWKS_FETCH_LIMIT + 1 : 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%lld\n",
					(long long)times[i]);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "%lld\n", (long long)now);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, len, 0) != (ssize_t)len)
		return A0_ERR_SYSTEM;
	return 0;
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

int a0_id_token_verify(struct a0_http *h, const struct a0_id_token_check *check, const char *token,
		       time_t now, cJSON **ret_claims, char *reason, size_t reasonlen)
{
	char issuer[MAX_NAME], name[MAX_NAME], log[MAX_NAME];
	struct a0_jwt_expect expect = {
		.issuer = issuer,
		.client_id = check->client_id,
		.now = now,
		.leeway = check->leeway,
	};
	struct a0_jwks *keys = NULL;
	time_t times[A0_JWKS_FETCH_LIMIT];
	struct timespec start;
	int dirfd = -1, logfd = LOG_UNUSABLE, r = 0;
	const char *skip = NULL; /* why a kid the cached keys lack is not refetched */
	size_t recent;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &start); /* now is the clock read at this moment */
	/* The domain names a file in cache_dir: no '/' (conf.c checks it; other callers may not). */
	if (snprintf(issuer, sizeof(issuer), "https://%s/", check->domain) >= (int)sizeof(issuer) ||
	    snprintf(name, sizeof(name), A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_CACHE_SUFFIX,
		     check->domain) >= (int)sizeof(name) ||
	    snprintf(log, sizeof(log), A0_JWKS_CACHE_PREFIX "%s" A0_JWKS_LOG_SUFFIX,
		     check->domain) >= (int)sizeof(log) ||
	    strchr(check->domain, '/'))
		return A0_ERR_INVALID;
	if (check->cache_dir &&
	    (r = open_cache_dir(check->cache_dir, &dirfd, reason, reasonlen)) < 0)
		return r;
	if (dirfd >= 0 && read_cache(dirfd, name, now, check->jwks_ttl, &keys) == 0) {
		r = a0_jwt_verify(token, keys, &expect, ret_claims, reason, reasonlen);
		if (r != A0_ERR_UNKNOWN_KID)
			goto out;
	}
	/*
	 * No fresh keys, or keys that lack the kid (the tenant rotated its key): fetch, holding
	 * the fetch log's lock, so that sign-ins meeting a rotation together cost one fetch: the
	 * first fetches, the others find its keys in the cache.
	 */
	if (dirfd >= 0)
		logfd = lock_log(dirfd, log);
	if (logfd >= 0) {
		a0_jwks_free(keys);
		keys = NULL;
		/* The clock moved on while this process waited: keys fetched meanwhile are not
		 * from the future. */
		ns = elapsed_ns(&start);
		now += ns > 0 ? (time_t)((ns + 999999999) / 1000000000) : 0;
		if (read_cache(dirfd, name, now, check->jwks_ttl, &keys) == 0) {
			r = a0_jwt_verify(token, keys, &expect, ret_claims, reason, reasonlen);
			if (r != A0_ERR_UNKNOWN_KID)
				goto out;
		}
		/* Missing keys are always fetched; a missing kid only while the processes sharing
		 * the cache made fewer than the limit of fetches in the window, so that a flood of
		 * such tokens cannot make them hammer the tenant. */
		recent = read_log(logfd, now, times);
		if (keys && recent >= A0_JWKS_FETCH_LIMIT)
			skip = "the limit of fetches a minute is reached";
		else
			(void)write_log(logfd, times, recent, now);
	} else if (logfd == LOG_BUSY && keys) {
		skip = "another process has been fetching them for too long";
	}
	if (skip) {
		size_t len = strlen(reason);

		snprintf(reason + len, reasonlen - len, "; not refetched: %s", skip);
		goto out;
	}
	a0_jwks_free(keys);
	keys = NULL;
	r = fetch_keys(h, dirfd, name, &keys, reason, reasonlen);
	if (r == 0)
		r = a0_jwt_verify(token, keys, &expect, ret_claims, reason, reasonlen);
out:
	a0_jwks_free(keys);
	if (logfd >= 0)
		close(logfd); /* and unlock */
	if (dirfd >= 0)
		(void)close(dirfd);
	return r;
}
