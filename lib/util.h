/* SPDX-License-Identifier: MIT */
#ifndef A0_UTIL_H
#define A0_UTIL_H

/*
 * One idiom per job: the small things every part of the project does, done once. Network-free
 * and without dependencies beyond libc, so that every part can take it (lib/local.mk).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The number of elements of an array; a pointer is a compile error ("not an array"), where
 * sizeof(p) / sizeof(p[0]) would quietly give a wrong count.
 */
#define A0_MUST_BE_ARRAY(a)                                                                        \
	(sizeof(struct {                                                                           \
		 _Static_assert(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])), \
				"A0_ARRAY_SIZE: not an array");                                    \
		 int ok;                                                                           \
	 }) *                                                                                      \
	 0)
#define A0_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]) + A0_MUST_BE_ARRAY(a))

/*
 * read(2) until n bytes or end of file, retrying EINTR (and EAGAIN, after poll(2)): the count
 * read, less than n only at end of file; -1 with errno on an error (what was read is lost).
 */
ssize_t a0_read_full(int fd, void *buf, size_t n);
/* write(2) all n bytes, retrying EINTR, EAGAIN and short writes: 0, or -1 with errno. */
int a0_write_full(int fd, const void *buf, size_t n);
/*
 * A directory of root's that nobody else may write, opened (O_DIRECTORY, O_NOFOLLOW) at path
 * relative to at, made with mode when missing (mode 0: not made): its descriptor, or -1 with
 * errno when unusable (EPERM: not root's, or writable by group or others).
 */
int a0_open_root_dir(int at, const char *path, mode_t mode);
/*
 * Replace the file at path with the n bytes of data, atomically: a new file in the same
 * directory (".NAME.XXXXXX", created exclusively, not following links), given mode whatever the
 * umask, written whole, fsync'd, renamed over path, then the directory fsync'd. A reader sees
 * the old file or the new one, never a part, and a crash leaves one of them. 0, or -1 with errno
 * (the temporary file is removed and path is untouched).
 */
int a0_replace_file(const char *path, const void *data, size_t n, mode_t mode);
/* The same with the file's group set to group ((gid_t)-1: the writer's) before it has data. */
int a0_replace_file_group(const char *path, const void *data, size_t n, mode_t mode, gid_t group);

/* qsort(3) that takes an empty array too (base may then be NULL, which qsort may not be given). */
void a0_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/*
 * The kinds of text that may reach a log line, a terminal, a header or the keyring. A NUL is a
 * control character: no kind lets one through.
 */
enum a0_text {
	A0_TEXT_ASCII, /* printable ASCII, 0x20-0x7e: keyring record values, text from tokens */
	A0_TEXT_TOKEN, /* 0x21-0x7e, no blank either: tokens, token types, client IDs */
	A0_TEXT_LINE,  /* no control byte (0x00-0x1f, 0x7f), UTF-8 passes: settings, messages */
	A0_TEXT_NAME,  /* A0_TEXT_LINE without the blank: account names in "user=%s" log lines */
};
/* Whether every one of the n bytes of s is of that kind (eight bytes at a time). */
bool a0_text_ok(const char *s, size_t n, enum a0_text kind);
/* Replace every byte of the n bytes of s that is not of that kind with '?'. */
void a0_text_scrub(char *s, size_t n, enum a0_text kind);

/*
 * snprintf for message ("reason") buffers: buf may be NULL or size 0 (nothing is written),
 * the text is cut to fit, never inside a UTF-8 sequence, and always NUL-terminated.
 */
void a0_format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void a0_vformat(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Copy all of src into the fixed buffer dst of size bytes: 0, or A0_ERR_TOO_LARGE when it does
 * not fit, and dst is then "" (never a cut value).
 */
int a0_str_copy(char *dst, size_t size, const char *src);

/* The seconds in one unit of a duration's suffix: none or 's' 1, 'm' 60, 'h' 3600, 'd' 86400,
 * 'w' 604800 (lower case, as sshd_config(5)'s TIME FORMATS and auth0-pam's DURATION); -1 for any
 * other character. */
long a0_time_unit(char suffix);
/*
 * Set *dst to a copy of src (NULL for NULL), wiping and freeing what *dst held: 0, or
 * A0_ERR_NOMEM with *dst unchanged.
 */
int a0_strdup_into(char **dst, const char *src);

/*
 * A tenant's domain as configured and stored: host[:port] and nothing else (no scheme,
 * userinfo, path or blank). The host is a DNS name (labels of letters, digits and inner
 * hyphens, at most 63 bytes each and 253 in all, no final dot), an IPv4 address in dotted
 * decimal (a host of digits and dots must be one), or an IPv6 address in brackets, "[::1]",
 * without a zone (a bare "::1" would read as host and port); the port is 1-65535 in decimal
 * without a sign or leading zero.
 */
bool a0_domain_valid(const char *host_port);

#endif
