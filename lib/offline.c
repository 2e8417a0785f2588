/* SPDX-License-Identifier: MIT */
/* The offline verifier of a user's password (offline.h). The breakglass window: breakglass.c. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lib/error.h"
#include "lib/offline.h"
#include "lib/secret.h"
#include "lib/util.h"

#define KEY_LEN 32            /* bytes of the host key and of the boot key */
#define NAME_LEN 64           /* hex digits of a verifier file's name */
#define LOCK_SUFFIX ".lock"   /* dir/<name>.lock */
#define MAX_PATH_LEN 4096     /* of a configured path */
#define MEMORY_MIN 8          /* KiB: Argon2's least for one lane */
#define MEMORY_MAX 4194304    /* KiB: 4 GiB, offline_memory's bound (lib/conf.c) */
#define PASSES_MAX 32         /* offline_passes' bound */
#define FAILURES_MAX 1000000  /* a count past this stays there */
#define TIME_MAX 253402300799 /* 9999-12-31: the latest time a file may hold */
#define FIELDS 11             /* of a verifier file's line */
#define TMP_RANDOM 8          /* random bytes in a temporary file's name */

static const char tag_domain[] = "pam_auth0 offline tag v1"; /* its NUL is part of the tag */

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- the line */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2 * n lower-case hex digits into out. */
static bool parse_hex(const char *f, size_t len, unsigned char *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(f[2 * i]), lo = hex_digit(f[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Decimal, no sign, no leading zero, within min..max. */
static bool parse_number(const char *f, size_t len, unsigned long long min, unsigned long long max,
			 unsigned long long *ret)
{
	unsigned long long v = 0;

	if (len == 0 || (len > 1 && f[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(f[i] - '0');

		if (f[i] < '0' || f[i] > '9' || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min)
		return false;
	*ret = v;
	return true;
}

int a0_offline_parse_line(const char *data, size_t len, struct a0_offline_record *ret, char *reason,
			  size_t reasonlen)
{
	static const char *const names[FIELDS] = { "version",  "user",   "memory",  "passes",
						   "salt",     "hash",   "written", "last login",
						   "failures", "key id", "tag" };
	const char *f[FIELDS], *p = data, *end = data + len;
	size_t n[FIELDS];
	struct a0_offline_record rec = { 0 };
	unsigned long long v[FIELDS] = { 0 };
	int bad = -1;

	if (len > A0_OFFLINE_LINE_MAX) {
		a0_format(reason, reasonlen, "a verifier file of more than %d bytes",
			  A0_OFFLINE_LINE_MAX);
		return A0_ERR_CONFIG;
	}
	for (int i = 0; i < FIELDS; i++) {
		const char *q = memchr(p, i + 1 < FIELDS ? ' ' : '\n', (size_t)(end - p));

		if (!q || q == p || !a0_text_ok(p, (size_t)(q - p), A0_TEXT_NAME)) {
			a0_format(reason, reasonlen,
				  "a malformed verifier file: field %d (%s) missing or not text",
				  i + 1, names[i]);
			return A0_ERR_CONFIG;
		}
		f[i] = p;
		n[i] = (size_t)(q - p);
		p = q + 1;
	}
	if (p != end) {
		a0_format(reason, reasonlen, "a malformed verifier file: more than one line");
		return A0_ERR_CONFIG;
	}
	if (n[0] != 2 || memcmp(f[0], "v1", 2) != 0) {
		a0_format(reason, reasonlen, "not a verifier file of version 1");
		return A0_ERR_CONFIG;
	}
	if (n[1] > A0_OFFLINE_MAX_USER)
		bad = 1;
	else if (!parse_number(f[2], n[2], MEMORY_MIN, MEMORY_MAX, &v[2]))
		bad = 2;
	else if (!parse_number(f[3], n[3], 1, PASSES_MAX, &v[3]))
		bad = 3;
	else if (!parse_hex(f[4], n[4], rec.salt, sizeof(rec.salt)))
		bad = 4;
	else if (!parse_hex(f[5], n[5], rec.hash, sizeof(rec.hash)))
		bad = 5;
	else if (!parse_number(f[6], n[6], 0, TIME_MAX, &v[6]))
		bad = 6;
	else if (!parse_number(f[7], n[7], 0, TIME_MAX, &v[7]))
		bad = 7;
	else if (!parse_number(f[8], n[8], 0, FAILURES_MAX, &v[8]))
		bad = 8;
	else if (!parse_hex(f[9], n[9], rec.key_id, sizeof(rec.key_id)))
		bad = 9;
	else if (!parse_hex(f[10], n[10], rec.tag, sizeof(rec.tag)))
		bad = 10;
	if (bad >= 0) {
		explicit_bzero(&rec, sizeof(rec));
		a0_format(reason, reasonlen,
			  "a malformed verifier file: field %d (%s) out of bounds", bad + 1,
			  names[bad]);
		return A0_ERR_CONFIG;
	}
	memcpy(rec.e.user, f[1], n[1]);
	rec.e.user[n[1]] = '\0';
	rec.e.memory_kib = (uint32_t)v[2];
	rec.e.passes = (uint32_t)v[3];
	rec.e.written = (time_t)v[6];
	rec.e.last_online = (time_t)v[7];
	rec.e.failures = (unsigned)v[8];
	*ret = rec;
	explicit_bzero(&rec, sizeof(rec));
	return 0;
}

static bool user_valid(const char *user)
{
	size_t n = user ? strnlen(user, A0_OFFLINE_MAX_USER + 1) : 0;

	return n > 0 && n <= A0_OFFLINE_MAX_USER && a0_text_ok(user, n, A0_TEXT_NAME);
}

int a0_offline_format_line(const struct a0_offline_record *rec, char *buf, size_t size,
			   size_t *ret_len)
{
	char salt[2 * A0_OFFLINE_SALT + 1], hash[2 * A0_OFFLINE_HASH + 1];
	char key_id[2 * A0_OFFLINE_KEY_ID + 1], tag[2 * A0_OFFLINE_TAG + 1];
	const struct a0_offline_entry *e = &rec->e;
	int n, r = 0;

	if (!user_valid(e->user) || e->memory_kib < MEMORY_MIN || e->memory_kib > MEMORY_MAX ||
	    e->passes < 1 || e->passes > PASSES_MAX || e->written < 0 || e->written > TIME_MAX ||
	    e->last_online < 0 || e->last_online > TIME_MAX || e->failures > FAILURES_MAX)
		return A0_ERR_INVALID;
	hex_of(rec->salt, sizeof(rec->salt), salt);
	hex_of(rec->hash, sizeof(rec->hash), hash);
	hex_of(rec->key_id, sizeof(rec->key_id), key_id);
	hex_of(rec->tag, sizeof(rec->tag), tag);
	n = snprintf(buf, size, "v1 %s %u %u %s %s %lld %lld %u %s %s\n", e->user,
		     (unsigned)e->memory_kib, (unsigned)e->passes, salt, hash,
		     (long long)e->written, (long long)e->last_online, e->failures, key_id, tag);
	if (n < 0 || (size_t)n >= size || n > A0_OFFLINE_LINE_MAX) {
		explicit_bzero(buf, size);
		r = A0_ERR_INVALID;
	} else {
		*ret_len = (size_t)n;
	}
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(tag, sizeof(tag));
	explicit_bzero(salt, sizeof(salt));
	return r;
}

/* ---- digests, keys and Argon2 */

static int sha256(const void *data, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	if (!EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) || len != 32)
		return A0_ERR_NOMEM;
	return 0;
}

/* The verifier file's name: the hex SHA-256 of the user name. */
static int file_name(const char *user, char name[NAME_LEN + 1])
{
	unsigned char md[32];
	int r = sha256(user, strlen(user), md);

	if (r == 0)
		hex_of(md, sizeof(md), name);
	return r;
}

static int key_id_of(const unsigned char key[KEY_LEN], unsigned char id[A0_OFFLINE_KEY_ID])
{
	unsigned char md[32];
	int r = sha256(key, KEY_LEN, md);

	if (r == 0)
		memcpy(id, md, A0_OFFLINE_KEY_ID);
	explicit_bzero(md, sizeof(md));
	return r;
}

/* HMAC-SHA256(boot key, "pam_auth0 offline tag v1" NUL user NUL salt password). */
static int tag_of(const unsigned char key[KEY_LEN], const char *user,
		  const unsigned char salt[A0_OFFLINE_SALT], const char *password,
		  unsigned char out[A0_OFFLINE_TAG])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t len = 0;
	int ok;

	ok = ctx && EVP_MAC_init(ctx, key, KEY_LEN, params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)tag_domain, sizeof(tag_domain)) &&
	     EVP_MAC_update(ctx, (const unsigned char *)user, strlen(user) + 1) &&
	     EVP_MAC_update(ctx, salt, A0_OFFLINE_SALT) &&
	     EVP_MAC_update(ctx, (const unsigned char *)password, strlen(password)) &&
	     EVP_MAC_final(ctx, out, &len, A0_OFFLINE_TAG) && len == A0_OFFLINE_TAG;
	EVP_MAC_CTX_free(ctx); /* wipes the key it holds */
	EVP_MAC_free(mac);
	if (!ok) {
		explicit_bzero(out, A0_OFFLINE_TAG);
		return A0_ERR_NOMEM;
	}
	return 0;
}

/* Argon2id of password under rec's parameters and salt, peppered with the host key. */
static int hash_of(const struct a0_offline_record *rec, const unsigned char key[KEY_LEN],
		   const char *password, unsigned char out[A0_OFFLINE_HASH], char *reason,
		   size_t reasonlen)
{
	size_t n = strlen(password);
	unsigned char secret[KEY_LEN], salt[A0_OFFLINE_SALT];
	unsigned char *pwd = malloc(n + 1);
	argon2_context ctx;
	int r;

	if (!pwd) {
		a0_format(reason, reasonlen, "out of memory");
		return A0_ERR_NOMEM;
	}
	memcpy(pwd, password, n);
	memcpy(secret, key, KEY_LEN);
	memcpy(salt, rec->salt, sizeof(salt));
	ctx = (argon2_context){
		.out = out,
		.outlen = A0_OFFLINE_HASH,
		.pwd = pwd,
		.pwdlen = (uint32_t)n,
		.salt = salt,
		.saltlen = sizeof(salt),
		.secret = secret,
		.secretlen = KEY_LEN,
		.t_cost = rec->e.passes,
		.m_cost = rec->e.memory_kib,
		.lanes = 1,
		.threads = 1,
		.version = ARGON2_VERSION_13,
		.flags = ARGON2_FLAG_CLEAR_PASSWORD | ARGON2_FLAG_CLEAR_SECRET,
	};
	r = argon2_ctx(&ctx, Argon2_id);
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(secret, sizeof(secret));
	a0_wipe_free(pwd, n + 1);
	if (r == ARGON2_OK)
		return 0;
	explicit_bzero(out, A0_OFFLINE_HASH);
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR) {
		a0_format(reason, reasonlen, "Argon2 could not allocate %u KiB",
			  (unsigned)rec->e.memory_kib);
		return A0_ERR_NOMEM;
	}
	a0_format(reason, reasonlen, "Argon2: %s", argon2_error_message(r));
	return A0_ERR_SYSTEM;
}

/* Does rec's hash accept password? 0 and *ret. */
static int hash_accepts(const struct a0_offline_record *rec, const unsigned char key[KEY_LEN],
			const char *password, bool *ret, char *reason, size_t reasonlen)
{
	unsigned char h[A0_OFFLINE_HASH];
	int r = hash_of(rec, key, password, h, reason, reasonlen);

	if (r == 0)
		*ret = CRYPTO_memcmp(h, rec->hash, sizeof(h)) == 0;
	explicit_bzero(h, sizeof(h));
	return r;
}

/* ---- files */

static int random_name(const char *name, char *out, size_t size)
{
	unsigned char rnd[TMP_RANDOM];
	char hex[2 * TMP_RANDOM + 1];
	int n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	hex_of(rnd, sizeof(rnd), hex);
	n = snprintf(out, size, ".%s.%s", name, hex);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * n bytes as dir/name, root's 0600: a new file (created exclusively, not following links)
 * written whole and fsync'd, then renamed over name (replace), or linked as name, which fails
 * with EEXIST when name exists (!replace: a first key, never two); then the directory fsync'd.
 * 0, or -1 with errno. (lib/util.h's a0_replace_file goes by path and can only replace.)
 */
static int write_at(int dir, const char *name, const void *data, size_t n, bool replace)
{
	char tmp[NAME_MAX + 1];
	int fd, r, saved;

	if (random_name(name, tmp, sizeof(tmp)) < 0)
		return -1;
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    0600);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) < 0 || a0_write_full(fd, data, n) < 0 || fsync(fd) < 0) {
		saved = errno;
		(void)close(fd);
		(void)unlinkat(dir, tmp, 0);
		errno = saved;
		return -1;
	}
	r = close(fd);
	if (r == 0)
		r = replace ? renameat(dir, tmp, dir, name) : linkat(dir, tmp, dir, name, 0);
	saved = errno;
	if (r < 0 || !replace)
		(void)unlinkat(dir, tmp, 0);
	errno = saved;
	if (r < 0)
		return -1;
	return fsync(dir);
}

/* path's directory (".": none) into parent and its last part into *ret_base: 0, or -1. */
static int split_path(const char *path, char *parent, size_t size, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (!slash) {
		n = snprintf(parent, size, ".");
		*ret_base = path;
	} else {
		n = snprintf(parent, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
		*ret_base = slash + 1;
	}
	if (n < 0 || (size_t)n >= size || !**ret_base || strcmp(*ret_base, ".") == 0 ||
	    strcmp(*ret_base, "..") == 0)
		return -1;
	return 0;
}

/* Why a0_open_root_dir refused at/path (shown as shown): A0_ERR_CONFIG or A0_ERR_SYSTEM. */
static int dir_refused(int at, const char *path, const char *what, const char *shown, char *reason,
		       size_t reasonlen)
{
	int e = errno;
	struct stat st;

	if (fstatat(at, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
		a0_format(reason, reasonlen,
			  "%s: %s is not a directory of root's that only root may write", what,
			  shown);
		return A0_ERR_CONFIG;
	}
	a0_format(reason, reasonlen, "%s: %s: %s", what, shown, strerror(e));
	return A0_ERR_SYSTEM;
}

/*
 * The directory path, root's and written by root alone, made with mode when missing, in a
 * parent that is root's and written by root alone too (made 0755 when missing); private: no
 * access for group or others either. 0 and *ret_fd; A0_ERR_NOT_FOUND when it is missing and
 * !create; A0_ERR_CONFIG, A0_ERR_SYSTEM (reason).
 */
static int open_dir(const char *path, mode_t mode, bool private, bool create, const char *what,
		    int *ret_fd, char *reason, size_t reasonlen)
{
	char parent[MAX_PATH_LEN];
	const char *base;
	struct stat st;
	int top, fd;

	if (!path || split_path(path, parent, sizeof(parent), &base) < 0) {
		a0_format(reason, reasonlen, "%s: not a usable directory path", what);
		return A0_ERR_CONFIG;
	}
	if (!create && lstat(path, &st) < 0 && errno == ENOENT)
		return A0_ERR_NOT_FOUND;
	if ((top = a0_open_root_dir(AT_FDCWD, parent, 0755)) < 0)
		return dir_refused(AT_FDCWD, parent, what, parent, reason, reasonlen);
	fd = a0_open_root_dir(top, base, mode);
	if (fd < 0) {
		int r = dir_refused(top, base, what, path, reason, reasonlen);

		(void)close(top);
		return r;
	}
	(void)close(top);
	if (private && (fstat(fd, &st) < 0 || (st.st_mode & 077))) {
		(void)close(fd);
		a0_format(reason, reasonlen, "%s: %s is not root's 0700", what, path);
		return A0_ERR_CONFIG;
	}
	*ret_fd = fd;
	return 0;
}

/*
 * The 32-byte key dir/name (shown as dir_shown/name): root's 0600 regular file, made when
 * missing. 0 and key; A0_ERR_CONFIG, A0_ERR_SYSTEM (reason).
 */
static int load_key(int dir, const char *name, const char *what, const char *dir_shown,
		    unsigned char key[KEY_LEN], char *reason, size_t reasonlen)
{
	struct stat st;
	ssize_t got;
	int fd, r = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno != ENOENT)
			goto refused;
		if (getrandom(key, KEY_LEN, 0) != KEY_LEN)
			goto system;
		r = write_at(dir, name, key, KEY_LEN, false);
		explicit_bzero(key, KEY_LEN);
		if (r < 0 && errno != EEXIST)
			goto system;
		/* Read back what was linked: ours, or the key of a login that came first. */
	}
	if (fd < 0) {
		errno = ENOENT; /* made, and gone again */
		goto system;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 07777) != 0600 || st.st_size != KEY_LEN) {
		(void)close(fd);
		errno = 0;
		goto refused;
	}
	got = a0_read_full(fd, key, KEY_LEN);
	(void)close(fd);
	if (got != KEY_LEN) {
		explicit_bzero(key, KEY_LEN);
		goto system;
	}
	return 0;
refused:
	if (errno == 0 || errno == ELOOP) {
		a0_format(reason, reasonlen, "%s: %s/%s is not root's 0600 file of %d bytes", what,
			  dir_shown, name, KEY_LEN);
		return A0_ERR_CONFIG;
	}
system:
	a0_format(reason, reasonlen, "%s: %s/%s: %s", what, dir_shown, name,
		  errno ? strerror(errno) : "short read");
	return A0_ERR_SYSTEM;
}

static int host_key(const struct a0_offline *o, unsigned char key[KEY_LEN], char *reason,
		    size_t reasonlen)
{
	char parent[MAX_PATH_LEN];
	const char *base;
	int dir, r;

	if (!o->host_key || split_path(o->host_key, parent, sizeof(parent), &base) < 0) {
		a0_format(reason, reasonlen, "host_key_file: not a usable path");
		return A0_ERR_CONFIG;
	}
	if ((r = open_dir(parent, 0755, false, true, "host_key_file", &dir, reason, reasonlen)) < 0)
		return r;
	r = load_key(dir, base, "host_key_file", parent, key, reason, reasonlen);
	(void)close(dir);
	return r;
}

/* The boot key and its id. */
static int boot_key(const struct a0_offline *o, unsigned char key[KEY_LEN],
		    unsigned char id[A0_OFFLINE_KEY_ID], char *reason, size_t reasonlen)
{
	int dir, r;

	if ((r = open_dir(o->run_dir, 0755, false, true, "state_dir", &dir, reason, reasonlen)) < 0)
		return r;
	r = load_key(dir, A0_OFFLINE_TAG_KEY, "state_dir", o->run_dir, key, reason, reasonlen);
	(void)close(dir);
	if (r == 0 && (r = key_id_of(key, id)) < 0)
		explicit_bzero(key, KEY_LEN);
	return r;
}

/* One user's verifier: the directory, the file's name, the lock held. */
struct user_file {
	int dir, lock;
	char name[NAME_LEN + 1];
};

static void user_file_close(struct user_file *u)
{
	if (u->lock >= 0)
		(void)close(u->lock); /* drops the lock */
	if (u->dir >= 0)
		(void)close(u->dir);
	u->lock = u->dir = -1;
}

static int check_caller(const struct a0_offline *o, const char *user, const char *password,
			char *reason, size_t reasonlen)
{
	if (geteuid() != 0) {
		a0_format(reason, reasonlen, "offline verifiers are kept by root only");
		return A0_ERR_CONFIG;
	}
	if (!o->dir || !o->host_key || !o->run_dir) {
		a0_format(reason, reasonlen, "offline verifier: no directory or key configured");
		return A0_ERR_CONFIG;
	}
	if (!user_valid(user)) {
		a0_format(reason, reasonlen, "offline verifier: not a usable user name");
		return A0_ERR_INVALID;
	}
	if (password && strnlen(password, A0_OFFLINE_MAX_PASSWORD + 1) > A0_OFFLINE_MAX_PASSWORD) {
		a0_format(reason, reasonlen, "offline verifier: a password of more than %d bytes",
			  A0_OFFLINE_MAX_PASSWORD);
		return A0_ERR_INVALID;
	}
	return 0;
}

/*
 * Open o->dir (made when create) and take user's lock. 0; A0_ERR_NOT_FOUND (no directory and
 * !create); A0_ERR_CONFIG, A0_ERR_SYSTEM, A0_ERR_NOMEM (reason).
 */
static int user_file_open(const struct a0_offline *o, const char *user, bool create,
			  struct user_file *u, char *reason, size_t reasonlen)
{
	char lock[NAME_LEN + sizeof(LOCK_SUFFIX)];
	struct stat st;
	int r;

	u->dir = u->lock = -1;
	if ((r = file_name(user, u->name)) < 0) {
		a0_format(reason, reasonlen, "out of memory");
		return r;
	}
	r = open_dir(o->dir, 0700, true, create, "offline_dir", &u->dir, reason, reasonlen);
	if (r < 0)
		return r;
	(void)snprintf(lock, sizeof(lock), "%s%s", u->name, LOCK_SUFFIX);
	u->lock = openat(u->dir, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (u->lock < 0 || fstat(u->lock, &st) < 0) {
		r = errno == ELOOP ? A0_ERR_CONFIG : A0_ERR_SYSTEM;
		a0_format(reason, reasonlen, "offline_dir: the lock of a verifier: %s",
			  strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0) {
		r = A0_ERR_CONFIG;
		a0_format(reason, reasonlen,
			  "offline_dir: the lock of a verifier is not root's file");
		goto fail;
	}
	while ((r = flock(u->lock, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		r = A0_ERR_SYSTEM;
		a0_format(reason, reasonlen, "offline_dir: flock: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	user_file_close(u);
	return r;
}

/*
 * dir/name as a verifier, for user when user is not NULL: 0 and *ret; A0_ERR_NOT_FOUND;
 * A0_ERR_CONFIG (reason: unsafe or malformed), A0_ERR_SYSTEM.
 */
static int read_record(int dir, const char *name, const char *user, struct a0_offline_record *ret,
		       char *reason, size_t reasonlen)
{
	char buf[A0_OFFLINE_LINE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return A0_ERR_NOT_FOUND;
		if (errno == ELOOP) {
			a0_format(reason, reasonlen, "a verifier file is a symbolic link");
			return A0_ERR_CONFIG;
		}
		a0_format(reason, reasonlen, "a verifier file: %s", strerror(errno));
		return A0_ERR_SYSTEM;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 07777) != 0600 || st.st_size > A0_OFFLINE_LINE_MAX) {
		(void)close(fd);
		a0_format(reason, reasonlen,
			  "a verifier file is not root's 0600 regular file of at most %d bytes",
			  A0_OFFLINE_LINE_MAX);
		return A0_ERR_CONFIG;
	}
	n = a0_read_full(fd, buf, sizeof(buf));
	(void)close(fd);
	if (n < 0) {
		a0_format(reason, reasonlen, "a verifier file: %s", strerror(errno));
		return A0_ERR_SYSTEM;
	}
	r = a0_offline_parse_line(buf, (size_t)n, ret, reason, reasonlen);
	explicit_bzero(buf, sizeof(buf));
	if (r == 0 && user && strcmp(ret->e.user, user) != 0) {
		explicit_bzero(ret, sizeof(*ret));
		a0_format(reason, reasonlen, "a verifier file names another user");
		return A0_ERR_CONFIG;
	}
	return r;
}

static int write_record(const struct user_file *u, const struct a0_offline_record *rec,
			char *reason, size_t reasonlen)
{
	char buf[A0_OFFLINE_LINE_MAX + 1];
	size_t n = 0;
	int r;

	if ((r = a0_offline_format_line(rec, buf, sizeof(buf), &n)) < 0) {
		a0_format(reason, reasonlen, "a verifier out of the file's bounds");
		return r;
	}
	if (write_at(u->dir, u->name, buf, n, true) < 0) {
		r = A0_ERR_SYSTEM;
		a0_format(reason, reasonlen, "writing a verifier file: %s", strerror(errno));
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

static int remove_record(const struct user_file *u, char *reason, size_t reasonlen)
{
	if (unlinkat(u->dir, u->name, 0) < 0) {
		if (errno == ENOENT)
			return A0_ERR_NOT_FOUND;
		a0_format(reason, reasonlen, "removing a verifier file: %s", strerror(errno));
		return A0_ERR_SYSTEM;
	}
	(void)fsync(u->dir);
	return 0;
}

/* ---- the interface */

int a0_offline_online(const struct a0_offline *o, const char *user, const char *password,
		      time_t now, bool *ret_wrote, char *reason, size_t reasonlen)
{
	struct user_file u = { -1, -1, "" };
	struct a0_offline_record rec = { 0 };
	unsigned char bkey[KEY_LEN], id[A0_OFFLINE_KEY_ID], hkey[KEY_LEN], tag[A0_OFFLINE_TAG];
	bool rewrite = false;
	int r;

	if ((r = check_caller(o, user, password, reason, reasonlen)) < 0)
		return r;
	if (o->memory_kib < MEMORY_MIN || o->memory_kib > MEMORY_MAX || o->passes < 1 ||
	    o->passes > PASSES_MAX || now < 0 || now > TIME_MAX) {
		a0_format(reason, reasonlen,
			  "offline verifier: Argon2 settings or clock out of bounds");
		return A0_ERR_CONFIG;
	}
	if ((r = user_file_open(o, user, true, &u, reason, reasonlen)) < 0)
		return r;
	if ((r = boot_key(o, bkey, id, reason, reasonlen)) < 0)
		goto out;
	r = read_record(u.dir, u.name, user, &rec, reason, reasonlen);
	if (r == A0_ERR_NOT_FOUND) {
		rewrite = true;
	} else if (r < 0) {
		goto out;
	} else if (rec.e.memory_kib != o->memory_kib || rec.e.passes != o->passes ||
		   (now > rec.e.written && now - rec.e.written > (time_t)o->rewrite_age) ||
		   memcmp(rec.key_id, id, sizeof(id)) != 0) {
		rewrite = true;
	} else {
		/* The same boot: the tag tells a changed password without Argon2. */
		if ((r = tag_of(bkey, user, rec.salt, password, tag)) < 0)
			goto out;
		rewrite = CRYPTO_memcmp(tag, rec.tag, sizeof(tag)) != 0;
	}
	if (rewrite) {
		if ((r = host_key(o, hkey, reason, reasonlen)) < 0)
			goto out;
		explicit_bzero(&rec, sizeof(rec));
		memcpy(rec.e.user, user, strlen(user) + 1);
		rec.e.memory_kib = o->memory_kib;
		rec.e.passes = o->passes;
		rec.e.written = now;
		if (getrandom(rec.salt, sizeof(rec.salt), 0) != (ssize_t)sizeof(rec.salt)) {
			r = A0_ERR_SYSTEM;
			a0_format(reason, reasonlen, "getrandom: %s", strerror(errno));
			goto out;
		}
		r = hash_of(&rec, hkey, password, rec.hash, reason, reasonlen);
		if (r == 0)
			r = tag_of(bkey, user, rec.salt, password, rec.tag);
		if (r < 0)
			goto out;
		memcpy(rec.key_id, id, sizeof(id));
	}
	rec.e.last_online = now;
	rec.e.failures = 0;
	if ((r = write_record(&u, &rec, reason, reasonlen)) < 0)
		goto out;
	*ret_wrote = rewrite;
out:
	explicit_bzero(&rec, sizeof(rec));
	explicit_bzero(bkey, sizeof(bkey));
	explicit_bzero(hkey, sizeof(hkey));
	explicit_bzero(tag, sizeof(tag));
	user_file_close(&u);
	return r;
}

int a0_offline_denied(const struct a0_offline *o, const char *user, const char *password,
		      bool *ret_purged, char *reason, size_t reasonlen)
{
	struct user_file u = { -1, -1, "" };
	struct a0_offline_record rec = { 0 };
	unsigned char bkey[KEY_LEN], id[A0_OFFLINE_KEY_ID], hkey[KEY_LEN], tag[A0_OFFLINE_TAG];
	bool accepts = false;
	int r;

	if ((r = check_caller(o, user, password, reason, reasonlen)) < 0)
		return r;
	r = user_file_open(o, user, false, &u, reason, reasonlen);
	if (r == 0)
		r = read_record(u.dir, u.name, user, &rec, reason, reasonlen);
	if (r == A0_ERR_NOT_FOUND) {
		*ret_purged = false;
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	if ((r = boot_key(o, bkey, id, reason, reasonlen)) < 0)
		goto out;
	if (memcmp(rec.key_id, id, sizeof(id)) == 0) {
		if ((r = tag_of(bkey, user, rec.salt, password, tag)) < 0)
			goto out;
		accepts = CRYPTO_memcmp(tag, rec.tag, sizeof(tag)) == 0;
	} else {
		if ((r = host_key(o, hkey, reason, reasonlen)) < 0)
			goto out;
		if ((r = hash_accepts(&rec, hkey, password, &accepts, reason, reasonlen)) < 0)
			goto out;
	}
	if (accepts && (r = remove_record(&u, reason, reasonlen)) < 0 && r != A0_ERR_NOT_FOUND)
		goto out;
	r = 0;
	*ret_purged = accepts;
out:
	explicit_bzero(&rec, sizeof(rec));
	explicit_bzero(bkey, sizeof(bkey));
	explicit_bzero(hkey, sizeof(hkey));
	explicit_bzero(tag, sizeof(tag));
	user_file_close(&u);
	return r;
}

/* Is now within max_age of the last online login (either side: a clock set back counts)? */
static bool fresh(time_t last_online, time_t now, unsigned max_age)
{
	long long d = (long long)now - (long long)last_online;

	return d <= (long long)max_age && -d <= (long long)max_age;
}

int a0_offline_check(const struct a0_offline *o, const char *user, const char *password, time_t now,
		     unsigned *ret_failures, time_t *ret_last_online, char *reason,
		     size_t reasonlen)
{
	struct user_file u = { -1, -1, "" };
	struct a0_offline_record rec = { 0 };
	unsigned char hkey[KEY_LEN];
	bool accepts = false;
	int r;

	if ((r = check_caller(o, user, password, reason, reasonlen)) < 0)
		return r;
	if (o->max_age == 0)
		return A0_ERR_EXPIRED;
	if ((r = user_file_open(o, user, false, &u, reason, reasonlen)) < 0)
		goto out;
	if ((r = read_record(u.dir, u.name, user, &rec, reason, reasonlen)) < 0)
		goto out;
	if (ret_last_online)
		*ret_last_online = rec.e.last_online;
	if (!fresh(rec.e.last_online, now, o->max_age)) {
		r = A0_ERR_EXPIRED;
		goto out;
	}
	if (rec.e.failures >= o->max_failures) {
		*ret_failures = rec.e.failures;
		r = A0_ERR_LOCKED;
		goto out;
	}
	if ((r = host_key(o, hkey, reason, reasonlen)) < 0)
		goto out;
	if ((r = hash_accepts(&rec, hkey, password, &accepts, reason, reasonlen)) < 0)
		goto out;
	if (accepts) {
		if (rec.e.failures != 0) {
			rec.e.failures = 0;
			r = write_record(&u, &rec, reason, reasonlen);
		}
		goto out;
	}
	if (rec.e.failures < FAILURES_MAX)
		rec.e.failures++;
	if ((r = write_record(&u, &rec, reason, reasonlen)) < 0)
		goto out;
	*ret_failures = rec.e.failures;
	r = A0_ERR_DENIED;
out:
	explicit_bzero(&rec, sizeof(rec));
	explicit_bzero(hkey, sizeof(hkey));
	user_file_close(&u);
	return r;
}

int a0_offline_forget(const struct a0_offline *o, const char *user, char *reason, size_t reasonlen)
{
	struct user_file u = { -1, -1, "" };
	int r;

	if ((r = check_caller(o, user, NULL, reason, reasonlen)) < 0)
		return r;
	if ((r = user_file_open(o, user, false, &u, reason, reasonlen)) == 0)
		r = remove_record(&u, reason, reasonlen);
	user_file_close(&u);
	return r;
}

static bool is_file_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= NAME_LEN || hex_digit(s[i]) < 0)
			return false;
	return i == NAME_LEN;
}

int a0_offline_list(const struct a0_offline *o,
		    int (*fn)(const struct a0_offline_entry *e, void *arg), void *arg,
		    unsigned *ret_skipped, char *reason, size_t reasonlen)
{
	struct a0_offline_record rec;
	char name[NAME_LEN + 1];
	unsigned skipped = 0;
	struct dirent *e;
	DIR *d = NULL;
	int dir = -1, fd, r;

	if (geteuid() != 0) {
		a0_format(reason, reasonlen, "offline verifiers are kept by root only");
		return A0_ERR_CONFIG;
	}
	r = open_dir(o->dir, 0700, true, false, "offline_dir", &dir, reason, reasonlen);
	if (r == A0_ERR_NOT_FOUND) {
		*ret_skipped = 0;
		return 0;
	}
	if (r < 0)
		return r;
	if ((fd = dup(dir)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			(void)close(fd);
		r = errno == ENOMEM ? A0_ERR_NOMEM : A0_ERR_SYSTEM;
		a0_format(reason, reasonlen, "offline_dir: %s", strerror(errno));
		goto out;
	}
	while ((errno = 0, e = readdir(d))) {
		/* Locks, temporary files (".<name>.<random>") and anything else are not verifiers. */
		if (!is_file_name(e->d_name))
			continue;
		r = read_record(dir, e->d_name, NULL, &rec, NULL, 0);
		if (r == A0_ERR_NOT_FOUND)
			continue; /* forgotten meanwhile */
		/* A file under another user's name is no verifier of that user. */
		if (r == 0 &&
		    ((r = file_name(rec.e.user, name)) < 0 || strcmp(name, e->d_name) != 0))
			r = r < 0 ? r : A0_ERR_CONFIG;
		if (r == A0_ERR_NOMEM)
			goto out;
		if (r < 0) {
			skipped++;
			continue;
		}
		r = fn(&rec.e, arg);
		explicit_bzero(&rec, sizeof(rec));
		if (r < 0)
			goto out;
	}
	if (errno) {
		r = A0_ERR_SYSTEM;
		a0_format(reason, reasonlen, "offline_dir: %s", strerror(errno));
		goto out;
	}
	r = 0;
	*ret_skipped = skipped;
out:
	explicit_bzero(&rec, sizeof(rec));
	if (d)
		(void)closedir(d);
	(void)close(dir);
	return r;
}
