/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "credentials/lock.h"
#include "lib/error.h"
#include "lib/util.h"

#define SUBDIR "auth0-credentials"

int a0_lock_check_dir(int dirfd, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(dirfd, &st) < 0) {
		a0_format(err, errlen, "%s: %s", what, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		a0_format(err, errlen, "%s is not a directory owned by uid %u with mode 0700", what,
			  (unsigned)geteuid());
		return A0_ERR_SYSTEM;
	}
	return 0;
}

static int open_dir_at(int at, const char *path, const char *what, int *ret, char *err,
		       size_t errlen)
{
	int fd, r;

	fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		a0_format(err, errlen, "%s: %s", what, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	r = a0_lock_check_dir(fd, what, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

/* base (checked), then its SUBDIR created 0700 and checked in turn. */
static int open_runtime_dir(const char *base, int *ret, char *err, size_t errlen)
{
	int bfd, fd, r;

	r = open_dir_at(AT_FDCWD, base, base, &bfd, err, errlen);
	if (r < 0)
		return r;
	if (mkdirat(bfd, SUBDIR, 0700) < 0 && errno != EEXIST) {
		a0_format(err, errlen, "%s/%s: %s", base, SUBDIR, strerror(errno));
		close(bfd);
		return A0_ERR_SYSTEM;
	}
	r = open_dir_at(bfd, SUBDIR, base, &fd, err, errlen);
	close(bfd);
	if (r < 0)
		return r;
	*ret = fd;
	return 0;
}

/*
 * Only directories no other uid can create first: XDG_RUNTIME_DIR (the user's own choice, as
 * this runs as the user) and /run/user/UID (made by root, for a login session). Without
 * either there is no lock, rather than one in a name another user could take, as in /tmp.
 */
int a0_lock_open_dir(int *ret_dirfd, char *err, size_t errlen)
{
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	char path[64], why_xdg[256], why_run[256];

	if (!xdg || xdg[0] != '/')
		snprintf(why_xdg, sizeof(why_xdg), "%s", xdg ? "not an absolute path" : "not set");
	else if (open_runtime_dir(xdg, ret_dirfd, why_xdg, sizeof(why_xdg)) == 0)
		return 0;
	snprintf(path, sizeof(path), "/run/user/%u", (unsigned)geteuid());
	if (open_runtime_dir(path, ret_dirfd, why_run, sizeof(why_run)) == 0)
		return 0;
	a0_format(err, errlen, "no safe lock directory: XDG_RUNTIME_DIR: %s; %s", why_xdg, why_run);
	return A0_ERR_SYSTEM;
}

/*
 * "<keyring>-<64-bit FNV-1a hash of the name>.lock": names are audiences and scopes. The hash
 * only makes a file name of any record name; it guards nothing (the directory is the user's
 * own), and two names with one hash would merely share a lock. Not a digest from libcrypto:
 * loading it would cost every run of the library's users, most of which never lock.
 */
static int lock_name(key_serial_t keyring, const char *name, char *out, size_t size)
{
	uint64_t h = 0xcbf29ce484222325u;
	int n;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	n = snprintf(out, size, "%d-%016" PRIx64 ".lock", (int)keyring, h);
	return n < 0 || (size_t)n >= size ? A0_ERR_INVALID : 0;
}

static long long elapsed_ms(const struct timespec *start)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - start->tv_sec) * 1000LL + (t.tv_nsec - start->tv_nsec) / 1000000;
}

int a0_lock_acquire(key_serial_t keyring, const char *name, unsigned wait_ms, int *ret_fd,
		    char *err, size_t errlen)
{
	struct timespec start, pause = { 0, 1000000 };
	char file[96];
	struct stat st;
	int dfd = -1, fd = -1, r;

	r = lock_name(keyring, name, file, sizeof(file));
	if (r < 0) {
		a0_format(err, errlen, "no lock name: %s", a0_strerror(r));
		return r;
	}
	r = a0_lock_open_dir(&dfd, err, errlen);
	if (r < 0)
		return r;
	fd = openat(dfd, file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		a0_format(err, errlen, "lock file %s: %s", file, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		a0_format(err, errlen, "lock file %s is not a regular file of uid %u", file,
			  (unsigned)geteuid());
		r = A0_ERR_SYSTEM;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Polled, so the wait is bounded without signals in a library. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			a0_format(err, errlen, "flock %s: %s", file, strerror(errno));
			r = A0_ERR_SYSTEM;
			goto out;
		}
		if (elapsed_ms(&start) >= (long long)wait_ms) {
			a0_format(err, errlen,
				  "another process held the lock for more than %u s (refreshing?)",
				  wait_ms / 1000);
			r = A0_ERR_TIMEOUT;
			goto out;
		}
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 32000000)
			pause.tv_nsec *= 2;
	}
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

void a0_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
