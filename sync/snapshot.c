/* SPDX-License-Identifier: MIT */
/*
 * Signed snapshots (sync/snapshot.h has the format): the envelope is written and read here,
 * signed and checked with OpenSSL's EVP Ed25519 (EVP_DigestSign and EVP_DigestVerify with no
 * digest: pure Ed25519). The parser is strict: one spelling of each line, exact sizes, no bytes
 * before or after what the header announces, and every bound checked before anything is used.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"
#include "sync/snapshot.h"

#define MAX_KEY_FILE 16384         /* bytes of a PEM key file */
#define MAX_CREATED 253402300799LL /* 9999-12-31T23:59:59Z: no arithmetic on it overflows */
#define KEY_BYTES 32               /* an Ed25519 public key */
#define SIG_BYTES 64               /* an Ed25519 signature */
#define DIGEST_BYTES 64            /* SHA-512 */
#define KEY_CHARS 43               /* base64url, unpadded, of KEY_BYTES */
#define SIG_CHARS 86               /* ... of SIG_BYTES */
#define MAX_B64 (SIG_CHARS + 4)    /* room for any of them, padded */
#define MAX_DECIMAL 20             /* digits of a header number */
#define MAX_MESSAGE (sizeof(A0_SNAPSHOT_CONTEXT) + A0_SNAPSHOT_MAX_HEADER + DIGEST_BYTES)

#define CREATED "created: "
#define LENGTH "length: "
#define KEY "key: "
#define SIGNATURE "signature: "

/* Which key a file must hold. */
enum key_kind { PRIVATE_KEY, PUBLIC_KEY };

/* What the header says; the pointers point into the envelope. */
struct header {
	long long created;
	size_t length;
	unsigned char key[KEY_BYTES];
	unsigned char sig[SIG_BYTES];
	size_t signed_len; /* the first four lines, which the signature covers */
	size_t payload_at; /* offset of the payload: after the empty line */
};

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* OpenSSL failed: its queue is cleared so that no later caller reads our errors. */
static int ssl_fail(char *err, size_t errlen, int r, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[128] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	a0_text_scrub(buf, strlen(buf), A0_TEXT_LINE);
	return fail(err, errlen, r, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

/* ---- base64url, unpadded, of a fixed size ---- */

/* out: room for ((n + 2) / 3 * 4 + 1) characters. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
}

/*
 * Exactly out_len bytes from exactly the canonical unpadded base64url of that many: any other
 * character, length or unused bit is refused (the encoding of the result must be the input).
 */
static bool b64url_decode_exact(const char *in, size_t in_len, unsigned char *out, size_t out_len)
{
	char std[MAX_B64 + 1], again[MAX_B64 + 1];
	unsigned char raw[MAX_B64];
	size_t n = 0;

	if (out_len > SIG_BYTES || in_len != (out_len * 4 + 2) / 3)
		return false;
	for (size_t i = 0; i < in_len; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9')))
			return false;
		std[n++] = c;
	}
	while (n % 4)
		std[n++] = '=';
	std[n] = '\0';
	if (EVP_DecodeBlock(raw, (const unsigned char *)std, (int)n) < (int)out_len)
		return false;
	b64url_encode(raw, out_len, again);
	if (strlen(again) != in_len || memcmp(again, in, in_len) != 0)
		return false;
	memcpy(out, raw, out_len);
	return true;
}

/* ---- keys ---- */

/* PEM passphrase callback: there is none to give, and nothing may prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * The Ed25519 key in a PEM file. A private key must be root's or ours and private (no group
 * or other bits); a public key root's or ours and writable by nobody else, as whoever may
 * rewrite it decides which snapshots the host takes.
 */
static int load_key(const char *path, enum key_kind kind, EVP_PKEY **ret, char *err, size_t errlen)
{
	const char *what = kind == PRIVATE_KEY ? "private key" : "public key";
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *text = NULL;
	struct stat st;
	size_t size = 0;
	ssize_t n = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (kind == PRIVATE_KEY ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fail(err, errlen, A0_ERR_CONFIG, "%s %s: cannot open: %s", what, path,
			    strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: owned by uid %u, not root or uid %u",
			 what, path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (kind == PRIVATE_KEY && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		r = fail(err, errlen, A0_ERR_CONFIG,
			 "%s %s: mode %04o: group or others may use it (chmod 0600)", what, path,
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (kind == PUBLIC_KEY && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		r = fail(err, errlen, A0_ERR_CONFIG,
			 "%s %s: mode %04o: group or others may rewrite it (chmod 0644)", what,
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > MAX_KEY_FILE) {
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: %lld bytes: not a PEM key", what, path,
			 (long long)st.st_size);
		goto out;
	}
	/* One byte more than fstat said tells a file that changed under us. */
	size = (size_t)st.st_size + 1;
	if (!(text = malloc(size))) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	n = a0_read_full(fd, text, size);
	if (n < 0) {
		n = 0;
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: cannot read: %s", what, path,
			 strerror(errno));
		goto out;
	}
	if (n == 0 || (size_t)n != size - 1) {
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: not a PEM key", what, path);
		goto out;
	}
	if (!(bio = BIO_new_mem_buf(text, (int)n))) {
		r = ssl_fail(err, errlen, A0_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	pkey = kind == PRIVATE_KEY ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
				   : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (!pkey) {
		ERR_clear_error();
		r = fail(err, errlen, A0_ERR_CONFIG,
			 "%s %s: not a PEM %s (\"-----BEGIN %s KEY-----\", unencrypted)", what,
			 path, what, kind == PRIVATE_KEY ? "PRIVATE" : "PUBLIC");
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		r = fail(err, errlen, A0_ERR_CONFIG, "%s %s: a %s key, not Ed25519", what, path,
			 EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
		goto out;
	}
	*ret = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	a0_wipe_free(text, text ? size : 0);
	(void)close(fd);
	return r;
}

static int raw_public_key(EVP_PKEY *pkey, unsigned char key[KEY_BYTES], char *err, size_t errlen)
{
	size_t n = KEY_BYTES;

	if (EVP_PKEY_get_raw_public_key(pkey, key, &n) != 1 || n != KEY_BYTES)
		return ssl_fail(err, errlen, A0_ERR_SYSTEM, "EVP_PKEY_get_raw_public_key");
	return 0;
}

/* ---- the signed message ---- */

/* CONTEXT NUL || the first four lines || SHA-512(payload), into msg (MAX_MESSAGE bytes). */
static int message(const char *lines, size_t lines_len, const void *payload, size_t len,
		   unsigned char *msg, size_t *ret_len, char *err, size_t errlen)
{
	static const unsigned char empty[1];
	unsigned int dlen = 0;
	size_t n = sizeof(A0_SNAPSHOT_CONTEXT);

	if (lines_len > A0_SNAPSHOT_MAX_HEADER)
		return fail(err, errlen, A0_ERR_INVALID, "header too long");
	memcpy(msg, A0_SNAPSHOT_CONTEXT, n); /* with its NUL */
	memcpy(msg + n, lines, lines_len);
	n += lines_len;
	if (EVP_Digest(len ? payload : empty, len, msg + n, &dlen, EVP_sha512(), NULL) != 1 ||
	    dlen != DIGEST_BYTES)
		return ssl_fail(err, errlen, A0_ERR_SYSTEM, "SHA-512");
	*ret_len = n + DIGEST_BYTES;
	return 0;
}

/* ---- signing ---- */

int a0_snapshot_sign(const char *private_key_pem_path, const void *payload, size_t len,
		     time_t created, char **ret, size_t *ret_len, char *err, size_t errlen)
{
	unsigned char pub[KEY_BYTES], sig[SIG_BYTES], msg[MAX_MESSAGE];
	char key64[KEY_CHARS + 4], sig64[SIG_CHARS + 4], lines[A0_SNAPSHOT_MAX_HEADER];
	size_t msg_len = 0, sig_len = SIG_BYTES, total;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	char *out = NULL;
	int lines_len, n, r;

	if (!private_key_pem_path || (!payload && len) || !ret || !ret_len || created < 0 ||
	    (long long)created > MAX_CREATED)
		return fail(err, errlen, A0_ERR_INVALID, "snapshot: invalid arguments");
	if (len > A0_SNAPSHOT_MAX_PAYLOAD)
		return fail(err, errlen, A0_ERR_TOO_LARGE,
			    "snapshot: %zu bytes, over the %u allowed", len,
			    A0_SNAPSHOT_MAX_PAYLOAD);
	if ((r = load_key(private_key_pem_path, PRIVATE_KEY, &pkey, err, errlen)) < 0)
		goto out;
	if ((r = raw_public_key(pkey, pub, err, errlen)) < 0)
		goto out;
	b64url_encode(pub, KEY_BYTES, key64);
	lines_len = snprintf(lines, sizeof(lines),
			     A0_SNAPSHOT_MAGIC "\n" CREATED "%lld\n" LENGTH "%zu\n" KEY "%s\n",
			     (long long)created, len, key64);
	if (lines_len < 0 || (size_t)lines_len >= sizeof(lines)) {
		r = fail(err, errlen, A0_ERR_INVALID, "snapshot: header too long");
		goto out;
	}
	if ((r = message(lines, (size_t)lines_len, payload, len, msg, &msg_len, err, errlen)) < 0)
		goto out;
	if (!(ctx = EVP_MD_CTX_new())) {
		r = ssl_fail(err, errlen, A0_ERR_NOMEM, "EVP_MD_CTX_new");
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, msg, msg_len) != 1 || sig_len != SIG_BYTES) {
		r = ssl_fail(err, errlen, A0_ERR_SYSTEM, "Ed25519 signing failed");
		goto out;
	}
	b64url_encode(sig, SIG_BYTES, sig64);
	total = (size_t)lines_len + strlen(SIGNATURE) + SIG_CHARS + 2 + len;
	if (!(out = malloc(total + 1))) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	n = snprintf(out, total + 1, "%s" SIGNATURE "%s\n\n", lines, sig64);
	if (n < 0 || (size_t)n + len != total) {
		r = fail(err, errlen, A0_ERR_SYSTEM, "snapshot: envelope size");
		goto out;
	}
	if (len)
		memcpy(out + n, payload, len);
	out[total] = '\0';
	*ret = out;
	*ret_len = total;
	out = NULL;
	r = 0;
out:
	free(out);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

/* ---- parsing ---- */

/*
 * The line at *p (before end) that starts with prefix: its value (after prefix, up to the LF)
 * in *value and *value_len, *p moved past the LF. False when the line is missing, has another
 * start, or is not ended within the header bound.
 */
static bool line(const char **p, const char *end, const char *prefix, const char **value,
		 size_t *value_len)
{
	size_t plen = strlen(prefix);
	const char *nl;

	if ((size_t)(end - *p) < plen || memcmp(*p, prefix, plen) != 0)
		return false;
	nl = memchr(*p + plen, '\n', (size_t)(end - *p) - plen);
	if (!nl)
		return false;
	*value = *p + plen;
	*value_len = (size_t)(nl - *value);
	*p = nl + 1;
	return true;
}

/* Decimal digits, no sign, no leading zero (but "0"), at most max. */
static bool decimal(const char *s, size_t n, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (n == 0 || n > MAX_DECIMAL || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (unsigned long long)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static int parse_header(const char *data, size_t len, struct header *h, char *err, size_t errlen)
{
	const char *p = data,
		   *end = data + (len < A0_SNAPSHOT_MAX_HEADER ? len : A0_SNAPSHOT_MAX_HEADER);
	const char *v;
	unsigned long long num;
	size_t n;

	if (!line(&p, end, A0_SNAPSHOT_MAGIC, &v, &n) || n != 0)
		return fail(err, errlen, A0_ERR_MALFORMED,
			    "snapshot: not a \"" A0_SNAPSHOT_MAGIC "\" envelope");
	if (!line(&p, end, CREATED, &v, &n) || !decimal(v, n, MAX_CREATED, &num))
		return fail(err, errlen, A0_ERR_MALFORMED, "snapshot: no valid \"created:\" line");
	h->created = (long long)num;
	if (!line(&p, end, LENGTH, &v, &n) || !decimal(v, n, SIZE_MAX, &num))
		return fail(err, errlen, A0_ERR_MALFORMED, "snapshot: no valid \"length:\" line");
	if (num > A0_SNAPSHOT_MAX_PAYLOAD)
		return fail(err, errlen, A0_ERR_TOO_LARGE,
			    "snapshot: length %llu is over the %u bytes allowed", num,
			    A0_SNAPSHOT_MAX_PAYLOAD);
	h->length = (size_t)num;
	if (!line(&p, end, KEY, &v, &n) || !b64url_decode_exact(v, n, h->key, KEY_BYTES))
		return fail(err, errlen, A0_ERR_MALFORMED, "snapshot: no valid \"key:\" line");
	h->signed_len = (size_t)(p - data);
	if (!line(&p, end, SIGNATURE, &v, &n) || !b64url_decode_exact(v, n, h->sig, SIG_BYTES))
		return fail(err, errlen, A0_ERR_MALFORMED,
			    "snapshot: no valid \"signature:\" line");
	if (p >= end || *p != '\n')
		return fail(err, errlen, A0_ERR_MALFORMED,
			    "snapshot: no empty line after the header");
	h->payload_at = (size_t)(p + 1 - data);
	if (len - h->payload_at < h->length)
		return fail(err, errlen, A0_ERR_MALFORMED,
			    "snapshot: truncated: %zu of %zu payload bytes", len - h->payload_at,
			    h->length);
	if (len - h->payload_at > h->length)
		return fail(err, errlen, A0_ERR_MALFORMED,
			    "snapshot: longer than its header says: %zu payload bytes, not %zu",
			    len - h->payload_at, h->length);
	return 0;
}

/* ---- verifying ---- */

int a0_snapshot_verify(const char *public_key_pem_path, const void *data, size_t len, time_t now,
		       unsigned max_age, const void **ret_payload, size_t *ret_payload_len,
		       time_t *ret_created, char *err, size_t errlen)
{
	unsigned char pub[KEY_BYTES], msg[MAX_MESSAGE];
	char have[KEY_CHARS + 4], want[KEY_CHARS + 4];
	struct header h = { 0 };
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	const char *text = data ? data : "";
	size_t msg_len = 0;
	int r;

	if (!public_key_pem_path || (!data && len) || now < 0 || max_age == 0)
		return fail(err, errlen, A0_ERR_INVALID, "snapshot: invalid arguments");
	if (len > (size_t)A0_SNAPSHOT_MAX_PAYLOAD + A0_SNAPSHOT_MAX_HEADER)
		return fail(err, errlen, A0_ERR_TOO_LARGE,
			    "snapshot: %zu bytes, over the %u allowed for a payload", len,
			    A0_SNAPSHOT_MAX_PAYLOAD);
	/* The envelope first: what is not one costs no key loading. */
	if ((r = parse_header(text, len, &h, err, errlen)) < 0)
		goto out;
	if ((r = load_key(public_key_pem_path, PUBLIC_KEY, &pkey, err, errlen)) < 0)
		goto out;
	if ((r = raw_public_key(pkey, pub, err, errlen)) < 0)
		goto out;
	if (memcmp(h.key, pub, KEY_BYTES) != 0) {
		b64url_encode(h.key, KEY_BYTES, have);
		b64url_encode(pub, KEY_BYTES, want);
		r = fail(err, errlen, A0_ERR_TOKEN_INVALID,
			 "snapshot: signed by key %s, not by the configured key %s", have, want);
		goto out;
	}
	if ((r = message(text, h.signed_len, text + h.payload_at, h.length, msg, &msg_len, err,
			 errlen)) < 0)
		goto out;
	if (!(ctx = EVP_MD_CTX_new())) {
		r = ssl_fail(err, errlen, A0_ERR_NOMEM, "EVP_MD_CTX_new");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
		r = ssl_fail(err, errlen, A0_ERR_SYSTEM, "EVP_DigestVerifyInit");
		goto out;
	}
	if (EVP_DigestVerify(ctx, h.sig, SIG_BYTES, msg, msg_len) != 1) {
		ERR_clear_error();
		r = fail(err, errlen, A0_ERR_TOKEN_INVALID,
			 "snapshot: the signature does not verify (changed or damaged)");
		goto out;
	}
	/* Only now do the times mean anything. */
	if (h.created > (long long)now && h.created - (long long)now > A0_SNAPSHOT_FUTURE_SKEW) {
		r = fail(err, errlen, A0_ERR_TOKEN_INVALID,
			 "snapshot: created %lld s in the future (clock skew allowed: %d s)",
			 h.created - (long long)now, A0_SNAPSHOT_FUTURE_SKEW);
		goto out;
	}
	if ((long long)now > h.created && (long long)now - h.created > (long long)max_age) {
		r = fail(err, errlen, A0_ERR_EXPIRED,
			 "snapshot: created %lld s ago, older than the %u s allowed",
			 (long long)now - h.created, max_age);
		goto out;
	}
	if (ret_payload)
		*ret_payload = text + h.payload_at;
	if (ret_payload_len)
		*ret_payload_len = h.length;
	if (ret_created)
		*ret_created = (time_t)h.created;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}
