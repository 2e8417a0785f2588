/* SPDX-License-Identifier: MIT */
/* The local guard against password guessing (guard.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/error.h"
#include "lib/guard.h"
#include "lib/util.h"

#define SUBDIR "faildelay"
#define STATE_MAX 64 /* "v1 <failures> <last failure>\n" */

/* The state file's name: hex SHA-256 of "user\nrhost". */
static int state_name(const char *user, const char *rhost, char name[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return A0_ERR_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, user, strlen(user)) && EVP_DigestUpdate(ctx, "\n", 1) &&
	     EVP_DigestUpdate(ctx, rhost ? rhost : "", rhost ? strlen(rhost) : 0) &&
	     EVP_DigestFinal_ex(ctx, md, &len) && len == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return A0_ERR_NOMEM;
	for (unsigned i = 0; i < 32; i++) {
		name[2 * i] = hex[md[i] >> 4];
		name[2 * i + 1] = hex[md[i] & 15];
	}
	name[64] = '\0';
	return 0;
}

/* Open (creating) and lock the state file of (user, rhost); -1 when unguarded. */
static int open_state(const struct a0_guard *g, const char *user, const char *rhost, int *ret_fd)
{
	char name[65];
	struct stat st;
	int top, dir, fd, r;

	*ret_fd = -1;
	if (geteuid() != 0 || !g->dir || g->max_delay == 0)
		return 0;
	if ((r = state_name(user, rhost, name)) < 0)
		return r;
	top = a0_open_root_dir(AT_FDCWD, g->dir, 0755);
	if (top < 0)
		return 0;
	dir = a0_open_root_dir(top, SUBDIR, 0700);
	(void)close(top);
	if (dir < 0)
		return 0;
	fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	(void)close(dir);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) ||
	    flock(fd, LOCK_EX) < 0) {
		(void)close(fd);
		return 0;
	}
	*ret_fd = fd;
	return 0;
}

/* The failures and the time of the last one; 0 and 0 for a new or unreadable file. */
static void read_state(int fd, unsigned *ret_failures, time_t *ret_last)
{
	char buf[STATE_MAX + 1];
	unsigned failures;
	long long last;
	ssize_t n;

	*ret_failures = 0;
	*ret_last = 0;
	n = pread(fd, buf, STATE_MAX, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "v1 %u %lld", &failures, &last) == 2 && last >= 0) {
		*ret_failures = failures;
		*ret_last = (time_t)last;
	}
}

static void write_state(int fd, unsigned failures, time_t last)
{
	char buf[STATE_MAX];
	int n = snprintf(buf, sizeof(buf), "v1 %u %lld\n", failures, (long long)last);

	ssize_t w;

	/* A state that could not be written fails open: Auth0's own protection still counts. */
	if (n > 0 && ftruncate(fd, 0) == 0) {
		w = pwrite(fd, buf, (size_t)n, 0);
		(void)w;
	}
}

/* Seconds to wait after the last of `failures` failures. */
static unsigned delay_for(const struct a0_guard *g, unsigned failures)
{
	unsigned long long d = A0_GUARD_FIRST_DELAY;

	if (failures <= g->after)
		return 0;
	for (unsigned i = g->after + 1; i < failures && d < g->max_delay; i++)
		d *= 2;
	return d < g->max_delay ? (unsigned)d : g->max_delay;
}

int a0_guard_check(const struct a0_guard *g, const char *user, const char *rhost, time_t now,
		   unsigned *ret_wait, bool *ret_unguarded)
{
	unsigned failures, delay;
	time_t last;
	int fd, r;

	*ret_unguarded = false;
	if ((r = open_state(g, user, rhost, &fd)) < 0)
		return r;
	if (fd < 0) {
		*ret_unguarded = g->max_delay != 0;
		return 0;
	}
	read_state(fd, &failures, &last);
	(void)close(fd);
	delay = delay_for(g, failures);
	/* A clock that went back a little waits one delay; further back, the state is stale. */
	if (delay && last <= now && now - last < (time_t)delay) {
		*ret_wait = delay - (unsigned)(now - last);
		return A0_ERR_DELAYED;
	}
	if (delay && last > now && last - now < (time_t)delay) {
		*ret_wait = delay;
		return A0_ERR_DELAYED;
	}
	return 0;
}

void a0_guard_record(const struct a0_guard *g, const char *user, const char *rhost, bool ok,
		     time_t now)
{
	unsigned failures;
	time_t last;
	int fd;

	if (open_state(g, user, rhost, &fd) < 0 || fd < 0)
		return;
	read_state(fd, &failures, &last);
	if (ok)
		write_state(fd, 0, 0);
	else
		write_state(fd, failures < 1000000 ? failures + 1 : failures, now);
	(void)close(fd);
}
