/* SPDX-License-Identifier: MIT */
/*
 * The breakglass window (lib/offline.h): the root-owned file dir/breakglass,
 * "v1 <opened> <until> <uid> <reason>\n", written atomically by a0_breakglass_open, removed by
 * a0_breakglass_close, and read strictly by a0_breakglass_state: a file that is not root's
 * 0600 regular file, or not exactly that line, keeps the window closed and says why.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/offline.h"
#include "lib/util.h"

#define BREAKGLASS_NUM_MAX 20 /* digits of a number in the file: 2^64 has 20 */
/* "v1 " + three numbers and their blanks + the reason + "\n" */
#define BREAKGLASS_FILE_MAX (3 + 3 * (BREAKGLASS_NUM_MAX + 1) + A0_BREAKGLASS_REASON_MAX + 1)
#define BREAKGLASS_PATH_MAX 4096 /* of dir/breakglass */
#define BREAKGLASS_DIR_MODE 0700
#define BREAKGLASS_FILE_MODE 0600

static bool reason_ok(const char *text)
{
	size_t n = strlen(text);

	return n <= A0_BREAKGLASS_REASON_MAX && a0_text_ok(text, n, A0_TEXT_ASCII);
}

/*
 * dir, safe (root's, nobody else may write it), made root's 0700 when missing: 0 and its
 * descriptor; A0_ERR_NOT_FOUND when it is missing and could not be made (a missing parent);
 * A0_ERR_CONFIG when it is unsafe or no directory; A0_ERR_SYSTEM.
 */
static int open_dir(const char *dir, int *ret, char *reason, size_t reasonlen)
{
	int fd;

	if (geteuid() != 0) {
		a0_format(reason, reasonlen, "the breakglass window is root's: run as root");
		return A0_ERR_CONFIG;
	}
	if (!dir || *dir != '/') {
		a0_format(reason, reasonlen, "offline_dir: not an absolute path");
		return A0_ERR_CONFIG;
	}
	fd = a0_open_root_dir(AT_FDCWD, dir, BREAKGLASS_DIR_MODE);
	if (fd >= 0) {
		*ret = fd;
		return 0;
	}
	switch (errno) {
	case ENOENT:
		a0_format(reason, reasonlen, "%s: missing, and its parent too", dir);
		return A0_ERR_NOT_FOUND;
	case EPERM: /* a0_open_root_dir refused what it opened */
		a0_format(reason, reasonlen,
			  "%s: not root's, or the group or others may write it: not used", dir);
		return A0_ERR_CONFIG;
	case ELOOP:
	case ENOTDIR:
		a0_format(reason, reasonlen, "%s: not a directory (a symbolic link?): not used",
			  dir);
		return A0_ERR_CONFIG;
	default:
		a0_format(reason, reasonlen, "%s: %s", dir, strerror(errno));
		return A0_ERR_SYSTEM;
	}
}

int a0_breakglass_open(const char *dir, time_t now, unsigned seconds, uid_t by,
		       const char *reason_text, char *reason, size_t reasonlen)
{
	char path[BREAKGLASS_PATH_MAX], line[BREAKGLASS_FILE_MAX + 1];
	int fd = -1, n, r;

	if (seconds < 1 || seconds > A0_BREAKGLASS_MAX) {
		a0_format(reason, reasonlen, "a window lasts 1 to %u seconds, not %u",
			  (unsigned)A0_BREAKGLASS_MAX, seconds);
		return A0_ERR_INVALID;
	}
	if (!reason_text)
		reason_text = "";
	if (!reason_ok(reason_text)) {
		a0_format(reason, reasonlen,
			  "the reason must be printable ASCII on one line, at most %u bytes",
			  (unsigned)A0_BREAKGLASS_REASON_MAX);
		return A0_ERR_INVALID;
	}
	if (now < 0 || by == (uid_t)-1) {
		a0_format(reason, reasonlen, "no valid time or uid");
		return A0_ERR_INVALID;
	}
	if ((r = open_dir(dir, &fd, reason, reasonlen)) < 0)
		return r == A0_ERR_NOT_FOUND ? A0_ERR_SYSTEM : r;
	n = snprintf(line, sizeof(line), "v1 %lld %lld %lu %s\n", (long long)now,
		     (long long)now + seconds, (unsigned long)by, reason_text);
	if (n <= 0 || n >= (int)sizeof(line) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, A0_BREAKGLASS_FILE) >= (int)sizeof(path)) {
		a0_format(reason, reasonlen, "%s: path too long", dir);
		r = A0_ERR_CONFIG;
		goto out;
	}
	if (a0_replace_file(path, line, (size_t)n, BREAKGLASS_FILE_MODE) < 0) {
		a0_format(reason, reasonlen, "%s: %s", path, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	(void)close(fd);
	return r;
}

int a0_breakglass_close(const char *dir, char *reason, size_t reasonlen)
{
	int fd = -1, r;

	if ((r = open_dir(dir, &fd, reason, reasonlen)) < 0)
		return r == A0_ERR_NOT_FOUND ? 0 : r;
	/* Whatever is there goes, a symbolic link as itself: nothing is followed. */
	if (unlinkat(fd, A0_BREAKGLASS_FILE, 0) < 0 && errno != ENOENT) {
		if (errno == EISDIR || errno == EPERM) {
			a0_format(reason, reasonlen, "%s/%s: not a regular file", dir,
				  A0_BREAKGLASS_FILE);
			r = A0_ERR_CONFIG;
		} else {
			a0_format(reason, reasonlen, "%s/%s: %s", dir, A0_BREAKGLASS_FILE,
				  strerror(errno));
			r = A0_ERR_SYSTEM;
		}
	}
	(void)close(fd);
	return r;
}

/* A decimal number of at most BREAKGLASS_NUM_MAX digits, no sign, no leading zero, then stop. */
static bool number(const char **p, char stop, unsigned long long max, unsigned long long *ret)
{
	const char *s = *p;
	unsigned long long v = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		unsigned d = (unsigned)(s[n] - '0');

		if (n == BREAKGLASS_NUM_MAX || (n > 0 && v == 0) || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		n++;
	}
	if (n == 0 || s[n] != stop)
		return false;
	*p = s + n + 1;
	*ret = v;
	return true;
}

/* The file's n bytes, which hold no NUL (checked): 0 and the window, or A0_ERR_CONFIG. */
static int parse(const char *buf, size_t n, struct a0_breakglass *ret)
{
	unsigned long long opened, until, uid;
	const char *p = buf, *end;
	size_t len;

	if (n < 4 || memcmp(p, "v1 ", 3) != 0 || buf[n - 1] != '\n')
		return A0_ERR_CONFIG;
	p += 3;
	if (!number(&p, ' ', (unsigned long long)INT64_MAX, &opened) ||
	    !number(&p, ' ', (unsigned long long)INT64_MAX, &until) ||
	    !number(&p, ' ', (unsigned long long)(uid_t)-1 - 1, &uid))
		return A0_ERR_CONFIG;
	if (until <= opened || until - opened > A0_BREAKGLASS_MAX)
		return A0_ERR_CONFIG;
	end = buf + n - 1; /* the line end */
	if (p > end)
		return A0_ERR_CONFIG;
	len = (size_t)(end - p);
	if (len > A0_BREAKGLASS_REASON_MAX || !a0_text_ok(p, len, A0_TEXT_ASCII))
		return A0_ERR_CONFIG;
	ret->opened = (time_t)opened;
	ret->until = (time_t)until;
	ret->by = (uid_t)uid;
	memcpy(ret->reason, p, len);
	ret->reason[len] = '\0';
	return 0;
}

int a0_breakglass_state(const char *dir, time_t now, struct a0_breakglass *ret, char *reason,
			size_t reasonlen)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char buf[BREAKGLASS_FILE_MAX + 1];
	struct a0_breakglass w;
	struct stat st;
	int dfd = -1, fd = -1, r;
	ssize_t n;

	if ((r = open_dir(dir, &dfd, reason, reasonlen)) < 0)
		return r;
	fd = openat(dfd, A0_BREAKGLASS_FILE, flags);
	if (fd < 0) {
		if (errno == ENOENT) {
			a0_format(reason, reasonlen, "not open");
			r = A0_ERR_NOT_FOUND;
		} else if (errno == ELOOP) {
			a0_format(reason, reasonlen, "%s/%s: a symbolic link: not followed", dir,
				  A0_BREAKGLASS_FILE);
			r = A0_ERR_CONFIG;
		} else {
			a0_format(reason, reasonlen, "%s/%s: %s", dir, A0_BREAKGLASS_FILE,
				  strerror(errno));
			r = A0_ERR_SYSTEM;
		}
		goto out;
	}
	r = A0_ERR_CONFIG;
	if (fstat(fd, &st) < 0) {
		a0_format(reason, reasonlen, "%s/%s: %s", dir, A0_BREAKGLASS_FILE, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		a0_format(reason, reasonlen, "%s/%s: not a regular file", dir, A0_BREAKGLASS_FILE);
		goto out;
	}
	if (st.st_uid != 0 || (st.st_mode & 07777) != BREAKGLASS_FILE_MODE) {
		a0_format(reason, reasonlen,
			  "%s/%s: not root's with mode 0600 (uid %lu, mode %04o)", dir,
			  A0_BREAKGLASS_FILE, (unsigned long)st.st_uid,
			  (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > BREAKGLASS_FILE_MAX) {
		a0_format(reason, reasonlen, "%s/%s: larger than %d bytes", dir, A0_BREAKGLASS_FILE,
			  BREAKGLASS_FILE_MAX);
		goto out;
	}
	n = a0_read_full(fd, buf, sizeof(buf));
	if (n < 0) {
		a0_format(reason, reasonlen, "%s/%s: %s", dir, A0_BREAKGLASS_FILE, strerror(errno));
		r = A0_ERR_SYSTEM;
		goto out;
	}
	if (n > BREAKGLASS_FILE_MAX || memchr(buf, '\0', (size_t)n) ||
	    parse(buf, (size_t)n, &w) < 0) {
		a0_format(reason, reasonlen, "%s/%s: malformed", dir, A0_BREAKGLASS_FILE);
		goto out;
	}
	if (ret)
		*ret = w;
	if (now >= w.until) {
		a0_format(reason, reasonlen, "ended");
		r = A0_ERR_NOT_FOUND;
	} else {
		r = 0;
	}
out:
	if (fd >= 0)
		(void)close(fd);
	(void)close(dfd);
	return r;
}
