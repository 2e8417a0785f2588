/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/util.h"

/* ---- whole reads and writes ---- */

/* Block until fd is ready for events: what a non-blocking descriptor's EAGAIN asks for. */
static int wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

ssize_t a0_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;

	if (n > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r == 0)
			break;
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_for(fd, POLLIN) < 0)
			return -1;
	}
	return (ssize_t)got;
}

int a0_write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, p + done, n - done);

		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == 0) {
			/* Nothing written and no error: it would only say the same again. */
			errno = EIO;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_for(fd, POLLOUT) < 0)
			return -1;
	}
	return 0;
}

/* Bytes of a path the temporary file of a0_replace_file may have. */
#define REPLACE_MAX_PATH 4096

int a0_replace_file(const char *path, const void *data, size_t n, mode_t mode)
{
	return a0_replace_file_group(path, data, n, mode, (gid_t)-1);
}

int a0_replace_file_group(const char *path, const void *data, size_t n, mode_t mode, gid_t group)
{
	char tmp[REPLACE_MAX_PATH], dir[REPLACE_MAX_PATH];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dirlen = slash ? (int)(slash - path) : 0;
	int fd = -1, dfd, saved = 0, r = -1;

	if (!*base || strlen(path) >= sizeof(dir)) {
		errno = EINVAL;
		return -1;
	}
	/* The directory: "." for a bare name, "/" for a file at the root. */
	(void)snprintf(dir, sizeof(dir), "%.*s", slash ? (dirlen ? dirlen : 1) : 1,
		       slash ? path : ".");
	if (snprintf(tmp, sizeof(tmp), "%.*s%s.%s.XXXXXX", dirlen, path, slash ? "/" : "", base) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) < 0) || fchmod(fd, mode) < 0 ||
	    a0_write_full(fd, data, n) < 0 || fsync(fd) < 0) {
		saved = errno;
		(void)close(fd);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		goto out;
	}
	/* The rename is durable once the directory is: without this a crash could bring back the
	 * old file after the caller was told the new one is there. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	r = fsync(dfd);
	saved = errno;
	(void)close(dfd);
	errno = saved;
	return r;
out:
	(void)unlink(tmp);
	errno = saved;
	return r;
}

void a0_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ---- text ---- */

/* A kind of text as the bytes it allows: lo to 0x7e, and with utf8 also 0x80-0xff. */
static inline bool byte_ok(unsigned char c, unsigned char lo, bool utf8)
{
	return c >= lo && (utf8 ? c != 0x7f : c <= 0x7e);
}

/*
 * Eight bytes at a time, as a load checks every byte of every token in the keyring. In a word x
 * whose bytes are all good nothing borrows or carries from byte to byte, so a high bit set in
 *   (x - lo..) & ~x          comes from a byte below lo,
 *   (x + 0x01..) | x         from a byte above 0x7e (ASCII kinds),
 *   (d - 0x01..) & ~d        with d = x ^ 0x7f.., from a byte 0x7f (UTF-8 kinds),
 * and every bad byte sets one; a borrow or carry starts only at a bad byte, so the answer for the
 * word is right even when one spreads.
 */
static inline bool text_ok(const char *s, size_t n, unsigned char lo, bool utf8)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t bad = 0;
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t x, d;

		memcpy(&x, s + i, sizeof(x));
		bad |= (x - lo * ones) & ~x;
		if (utf8) {
			d = x ^ (0x7f * ones);
			bad |= (d - ones) & ~d;
		} else {
			bad |= (x + ones) | x;
		}
	}
	for (; i < n; i++)
		bad |= byte_ok((unsigned char)s[i], lo, utf8) ? 0 : highs;
	return (bad & highs) == 0;
}

bool a0_text_ok(const char *s, size_t n, enum a0_text kind)
{
	/* Constant arguments, so that each call is its own specialised loop. */
	switch (kind) {
	case A0_TEXT_ASCII:
		return text_ok(s, n, 0x20, false);
	case A0_TEXT_TOKEN:
		return text_ok(s, n, 0x21, false);
	case A0_TEXT_LINE:
		return text_ok(s, n, 0x20, true);
	case A0_TEXT_NAME:
		return text_ok(s, n, 0x21, true);
	}
	return false;
}

void a0_text_scrub(char *s, size_t n, enum a0_text kind)
{
	unsigned char lo = kind == A0_TEXT_TOKEN || kind == A0_TEXT_NAME ? 0x21 : 0x20;
	bool utf8 = kind == A0_TEXT_LINE || kind == A0_TEXT_NAME;

	for (size_t i = 0; i < n; i++)
		if (!byte_ok((unsigned char)s[i], lo, utf8))
			s[i] = '?';
}

/* ---- formatting and copies ---- */

/* s was cut to len bytes: drop a UTF-8 sequence the cut left incomplete. */
static void utf8_trim(char *s, size_t len)
{
	size_t i = len, cont = 0, need;
	unsigned char lead;

	while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	if (lead < 0xc0 || lead > 0xf7)
		return; /* ASCII, or no UTF-8 sequence to mend */
	need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
	if (cont < need)
		s[i - 1] = '\0';
}

void a0_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (!buf || size == 0)
		return;
	n = vsnprintf(buf, size, fmt, ap);
	if (n < 0)
		buf[0] = '\0';
	else if ((size_t)n >= size)
		utf8_trim(buf, size - 1);
}

void a0_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(buf, size, fmt, ap);
	va_end(ap);
}

long a0_time_unit(char suffix)
{
	switch (suffix) {
	case '\0':
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 604800;
	default:
		return -1;
	}
}

int a0_str_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size) {
		if (size > 0)
			dst[0] = '\0';
		return A0_ERR_TOO_LARGE;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

int a0_strdup_into(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return A0_ERR_NOMEM;
	if (*dst) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = copy;
	return 0;
}

/* ---- domains ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1-65535 in decimal, nothing else. */
static bool port_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");
	unsigned long v = 0;

	if (n == 0 || n > 5 || s[n] != '\0' || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	return v <= 65535;
}

/* The len bytes of s: a DNS name, or an IPv4 address when all digits and dots. */
static bool host_ok(const char *s, size_t len)
{
	char v4[INET_ADDRSTRLEN];
	struct in_addr a;
	bool numeric = true;
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && !(s[i] == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
		numeric = numeric && is_digit(s[i]);
	}
	if (label == 0 || s[len - 1] == '-')
		return false;
	if (!numeric)
		return true;
	if (len >= sizeof(v4))
		return false;
	memcpy(v4, s, len);
	v4[len] = '\0';
	return inet_pton(AF_INET, v4, &a) == 1;
}

bool a0_domain_valid(const char *host_port)
{
	const char *rest;

	if (!host_port)
		return false;
	if (host_port[0] == '[') {
		const char *end = strchr(host_port, ']');
		char v6[INET6_ADDRSTRLEN];
		struct in6_addr a;
		size_t len;

		if (!end)
			return false;
		len = (size_t)(end - host_port - 1);
		if (len == 0 || len >= sizeof(v6))
			return false;
		memcpy(v6, host_port + 1, len);
		v6[len] = '\0';
		if (inet_pton(AF_INET6, v6, &a) != 1)
			return false;
		rest = end + 1;
	} else {
		size_t len = strcspn(host_port, ":");

		if (!host_ok(host_port, len))
			return false;
		rest = host_port + len;
	}
	return *rest == '\0' || (*rest == ':' && port_ok(rest + 1));
}

int a0_open_root_dir(int at, const char *path, mode_t mode)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd;

	fd = openat(at, path, flags);
	if (fd < 0 && errno == ENOENT && mode && (mkdirat(at, path, mode) == 0 || errno == EEXIST))
		fd = openat(at, path, flags);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		(void)close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}
