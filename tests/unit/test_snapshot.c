/* SPDX-License-Identifier: MIT */
/*
 * Signed snapshots (sync/snapshot.c) with keys made here by OpenSSL in a temporary directory:
 * the round trip, the format as sync/snapshot.h defines it (the signature checked here against
 * the documented message, independently of the code under test), and every way a snapshot or a
 * key file can be wrong: another key, each byte changed, each truncation, too old, from the
 * future, oversized, RSA and EC keys, key files others may read or rewrite.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/error.h"
#include "lib/util.h"
#include "sync/snapshot.h"
#include "tests/common/assert.h"

#define NOW 1700000000
#define MAX_AGE 86400
#define PAYLOAD "{\"users\":[{\"name\":\"a0alice\",\"uid\":70001}]}\n\0binary\xff\x01"

static char dir[64];
static EVP_PKEY *key_a;

/* ---- keys in files ---- */

static void path_of(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < size);
}

static const char *file(const char *name)
{
	static char buf[4][128];
	static int next;
	char *p = buf[next++ % 4];

	path_of(p, sizeof(buf[0]), name);
	return p;
}

/* PEM of key in dir/name with mode: PKCS#8 private, or SubjectPublicKeyInfo public. */
static void write_key(EVP_PKEY *key, const char *name, bool private, mode_t mode,
		      const char *passphrase)
{
	const char *path = file(name);
	BIO *bio = BIO_new_file(path, "w");
	int ok;

	assert_non_null(bio);
	if (!private)
		ok = PEM_write_bio_PUBKEY(bio, key);
	else if (passphrase)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), passphrase,
						   (int)strlen(passphrase), NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	assert_int_equal(ok, 1);
	BIO_free(bio);
	assert_int_equal(chmod(path, mode), 0);
}

static void write_pair(EVP_PKEY *key, const char *base)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.key", base);
	write_key(key, name, true, 0600, NULL);
	snprintf(name, sizeof(name), "%s.pub", base);
	write_key(key, name, false, 0644, NULL);
}

static void write_bytes(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(file(name), "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(file(name), mode), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *b, *rsa, *ec;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a0snapshot-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	key_a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key_a || !b || !rsa || !ec)
		return -1;
	write_pair(key_a, "a");
	write_pair(b, "b");
	write_pair(rsa, "rsa");
	write_pair(ec, "ec");
	write_key(key_a, "a-open.key", true, 0644, NULL);
	write_key(key_a, "a-group.key", true, 0640, NULL);
	write_key(key_a, "a-writable.pub", false, 0666, NULL);
	write_key(key_a, "a-group-writable.pub", false, 0664, NULL);
	write_key(key_a, "a-encrypted.key", true, 0600, "a passphrase");
	write_key(key_a, "a-public.key", false, 0600, NULL);
	write_bytes("garbage.key", "not a key\n", 0600);
	write_bytes("garbage.pub", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		    0644);
	if (symlink(file("a.key"), file("link.key")) < 0 || mkdir(file("dir.key"), 0700) < 0)
		return -1;
	EVP_PKEY_free(b);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {
		"a.key",           "a.pub",        "b.key",          "b.pub",
		"rsa.key",         "rsa.pub",      "ec.key",         "ec.pub",
		"a-open.key",      "a-group.key",  "a-writable.pub", "a-group-writable.pub",
		"a-encrypted.key", "a-public.key", "garbage.key",    "garbage.pub",
		"link.key",
	};

	(void)state;
	for (size_t i = 0; i < A0_ARRAY_SIZE(names); i++)
		(void)unlink(file(names[i]));
	(void)rmdir(file("dir.key"));
	(void)rmdir(dir);
	EVP_PKEY_free(key_a);
	return 0;
}

/* ---- helpers ---- */

struct env {
	char *data;
	size_t len;
};

static struct env sign_with(const char *key, const void *payload, size_t len, time_t created)
{
	struct env e = { 0 };
	char err[256] = "";
	int r = a0_snapshot_sign(file(key), payload, len, created, &e.data, &e.len, err,
				 sizeof(err));

	if (r != 0)
		fail_msg("a0_snapshot_sign: %s: %s", name_a0(r), err);
	return e;
}

static struct env sign_a(time_t created)
{
	return sign_with("a.key", PAYLOAD, sizeof(PAYLOAD) - 1, created);
}

/* Verify with key at now; a failure must come with a printable reason, and write nothing. */
static int verify_with(const char *key, const void *data, size_t len, time_t now)
{
	const void *payload = (const void *)1;
	size_t plen = 7;
	time_t created = 7;
	char err[256] = "";
	int r = a0_snapshot_verify(file(key), data, len, now, MAX_AGE, &payload, &plen, &created,
				   err, sizeof(err));

	if (r < 0) {
		assert_true(strlen(err) > 0);
		assert_true(a0_text_ok(err, strlen(err), A0_TEXT_LINE));
		assert_ptr_equal(payload, (const void *)1);
		assert_int_equal(plen, 7);
		assert_int_equal(created, 7);
	}
	return r;
}

static int verify_a(const struct env *e, time_t now)
{
	return verify_with("a.pub", e->data, e->len, now);
}

/* The envelope with the first from replaced by to. */
static struct env replaced(const struct env *e, const char *from, const char *to)
{
	char *at = strstr(e->data, from);
	size_t flen = strlen(from), tlen = strlen(to);
	struct env out = { malloc(e->len - flen + tlen + 1), e->len - flen + tlen };

	assert_non_null(at);
	assert_non_null(out.data);
	memcpy(out.data, e->data, (size_t)(at - e->data));
	memcpy(out.data + (at - e->data), to, tlen);
	memcpy(out.data + (at - e->data) + tlen, at + flen, e->len - (size_t)(at - e->data) - flen);
	out.data[out.len] = '\0';
	return out;
}

static void expect_replaced(const struct env *e, const char *from, const char *to, int expected)
{
	struct env m = replaced(e, from, to);

	assert_a0(verify_a(&m, NOW), expected);
	free(m.data);
}

static char *b64url(const unsigned char *in, size_t n)
{
	char *out = malloc(n / 3 * 4 + 8);
	int len;

	assert_non_null(out);
	len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* ---- round trip and format ---- */

static void test_round_trip(void **state)
{
	struct env e = sign_a(NOW - 60);
	const void *payload = NULL;
	size_t plen = 0;
	time_t created = 0;
	char err[256] = "";

	(void)state;
	assert_a0(a0_snapshot_verify(file("a.pub"), e.data, e.len, NOW, MAX_AGE, &payload, &plen,
				     &created, err, sizeof(err)),
		  0);
	assert_int_equal(plen, sizeof(PAYLOAD) - 1);
	assert_memory_equal(payload, PAYLOAD, plen);
	assert_true((const char *)payload >= e.data &&
		    (const char *)payload + plen == e.data + e.len);
	assert_int_equal(created, NOW - 60);
	assert_int_equal(e.data[e.len], '\0');
	/* The out-parameters are optional. */
	assert_a0(a0_snapshot_verify(file("a.pub"), e.data, e.len, NOW, MAX_AGE, NULL, NULL, NULL,
				     NULL, 0),
		  0);
	free(e.data);

	/* An empty payload. */
	e = sign_with("a.key", NULL, 0, NOW);
	assert_a0(a0_snapshot_verify(file("a.pub"), e.data, e.len, NOW, MAX_AGE, &payload, &plen,
				     &created, err, sizeof(err)),
		  0);
	assert_int_equal(plen, 0);
	assert_ptr_equal(payload, e.data + e.len);
	free(e.data);
}

/* The envelope and its signature as sync/snapshot.h defines them, checked with OpenSSL here. */
static void test_format_as_documented(void **state)
{
	struct env e = sign_a(NOW);
	unsigned char raw[32], sig[80], digest[64], msg[1024];
	size_t raw_len = sizeof(raw), n = 0;
	unsigned int dlen = 0;
	char *key64, expected[512], *sig_line, *sig_end;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int len;

	(void)state;
	assert_int_equal(EVP_PKEY_get_raw_public_key(key_a, raw, &raw_len), 1);
	key64 = b64url(raw, raw_len);
	assert_int_equal(strlen(key64), 43);
	len = snprintf(expected, sizeof(expected),
		       "pam_auth0-snapshot 1\ncreated: %d\nlength: %zu\nkey: %s\nsignature: ", NOW,
		       sizeof(PAYLOAD) - 1, key64);
	assert_memory_equal(e.data, expected, (size_t)len);
	sig_line = e.data + len;
	sig_end = strchr(sig_line, '\n');
	assert_non_null(sig_end);
	assert_int_equal(sig_end - sig_line, 86);
	assert_memory_equal(sig_end, "\n\n", 2);
	assert_int_equal(e.len, (size_t)(sig_end + 2 - e.data) + sizeof(PAYLOAD) - 1);
	assert_memory_equal(sig_end + 2, PAYLOAD, sizeof(PAYLOAD) - 1);

	/* The signature: pure Ed25519 over CONTEXT NUL || the four lines || SHA-512(payload). */
	{
		char std[96] = "";
		int k = 0;

		for (int i = 0; i < 86; i++)
			std[k++] = sig_line[i] == '-'   ? '+'
				   : sig_line[i] == '_' ? '/'
							: sig_line[i];
		std[k++] = '=';
		std[k++] = '=';
		assert_int_equal(EVP_DecodeBlock(sig, (unsigned char *)std, k), 66);
	}
	memcpy(msg, "pam_auth0-snapshot signature 1", 31); /* with the NUL */
	n = 31;
	memcpy(msg + n, e.data, (size_t)(len - (int)strlen("signature: ")));
	n += (size_t)(len - (int)strlen("signature: "));
	assert_int_equal(EVP_Digest(PAYLOAD, sizeof(PAYLOAD) - 1, digest, &dlen, EVP_sha512(),
				    NULL),
			 1);
	memcpy(msg + n, digest, 64);
	n += 64;
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key_a), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, 64, msg, n), 1);
	/* Without the context the same bytes do not verify: the prefix is part of the message. */
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key_a), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, 64, msg + 31, n - 31), 1);
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(key64);
	free(e.data);
}

/* ---- refusals ---- */

static void test_wrong_key(void **state)
{
	struct env a = sign_a(NOW), b = sign_with("b.key", PAYLOAD, sizeof(PAYLOAD) - 1, NOW);
	char *a_key = strstr(a.data, "key: "), *b_key = strstr(b.data, "key: ");
	char from[64], to[64];

	(void)state;
	assert_a0(verify_with("b.pub", a.data, a.len, NOW), A0_ERR_TOKEN_INVALID);
	assert_a0(verify_with("a.pub", b.data, b.len, NOW), A0_ERR_TOKEN_INVALID);
	/* B's signature presented as A's (its key line says A): the signature fails. */
	snprintf(from, sizeof(from), "%.48s", b_key);
	snprintf(to, sizeof(to), "%.48s", a_key);
	expect_replaced(&b, from, to, A0_ERR_TOKEN_INVALID);
	/* A's signature with B's key line: another key. */
	snprintf(from, sizeof(from), "%.48s", a_key);
	snprintf(to, sizeof(to), "%.48s", b_key);
	expect_replaced(&a, from, to, A0_ERR_TOKEN_INVALID);
	free(a.data);
	free(b.data);
}

/* Each byte of a small snapshot changed in several ways, each one on its own: all refused. */
static void test_every_byte_changed(void **state)
{
	static const unsigned char masks[] = { 0x01, 0x02, 0x20, 0x80, 0xff };
	struct env e = sign_with("a.key", "tiny", 4, NOW);
	unsigned refused = 0;

	(void)state;
	assert_a0(verify_a(&e, NOW), 0);
	for (size_t i = 0; i < e.len; i++) {
		for (size_t m = 0; m < A0_ARRAY_SIZE(masks); m++) {
			int r;

			e.data[i] = (char)(e.data[i] ^ masks[m]);
			r = verify_a(&e, NOW);
			if (r != A0_ERR_MALFORMED && r != A0_ERR_TOKEN_INVALID)
				fail_msg("byte %zu ^ 0x%02x: %s", i, masks[m], name_a0(r));
			refused++;
			e.data[i] = (char)(e.data[i] ^ masks[m]);
		}
	}
	assert_int_equal(refused, e.len * A0_ARRAY_SIZE(masks));
	assert_a0(verify_a(&e, NOW), 0); /* restored */
	free(e.data);
}

static void test_truncated_and_extended(void **state)
{
	struct env e = sign_a(NOW);
	char *longer = malloc(e.len + 1);

	(void)state;
	for (size_t n = 0; n < e.len; n++)
		assert_a0(verify_with("a.pub", e.data, n, NOW), A0_ERR_MALFORMED);
	assert_non_null(longer);
	memcpy(longer, e.data, e.len);
	longer[e.len] = '\n';
	assert_a0(verify_with("a.pub", longer, e.len + 1, NOW), A0_ERR_MALFORMED);
	assert_a0(verify_with("a.pub", NULL, 0, NOW), A0_ERR_MALFORMED);
	free(longer);
	free(e.data);
}

static void test_too_old(void **state)
{
	struct env edge = sign_a(NOW - MAX_AGE), old = sign_a(NOW - MAX_AGE - 1),
		   ancient = sign_a(0);

	(void)state;
	assert_a0(verify_a(&edge, NOW), 0);
	assert_a0(verify_a(&old, NOW), A0_ERR_EXPIRED);
	assert_a0(verify_a(&ancient, NOW), A0_ERR_EXPIRED);
	free(edge.data);
	free(old.data);
	free(ancient.data);
}

static void test_future(void **state)
{
	struct env edge = sign_a(NOW + A0_SNAPSHOT_FUTURE_SKEW),
		   ahead = sign_a(NOW + A0_SNAPSHOT_FUTURE_SKEW + 1), far = sign_a(253402300799LL);

	(void)state;
	assert_a0(verify_a(&edge, NOW), 0);
	assert_a0(verify_a(&ahead, NOW), A0_ERR_TOKEN_INVALID);
	assert_a0(verify_a(&far, NOW), A0_ERR_TOKEN_INVALID);
	free(edge.data);
	free(ahead.data);
	free(far.data);
}

/* Only Ed25519 keys: RSA and EC keys are refused for signing and verifying. */
static void test_other_key_types(void **state)
{
	struct env e = sign_a(NOW);
	char *out = NULL, err[256] = "";
	size_t len = 0;

	(void)state;
	assert_a0(a0_snapshot_sign(file("rsa.key"), "x", 1, NOW, &out, &len, err, sizeof(err)),
		  A0_ERR_CONFIG);
	assert_non_null(strstr(err, "not Ed25519"));
	assert_null(out);
	assert_a0(a0_snapshot_sign(file("ec.key"), "x", 1, NOW, &out, &len, err, sizeof(err)),
		  A0_ERR_CONFIG);
	assert_a0(verify_with("rsa.pub", e.data, e.len, NOW), A0_ERR_CONFIG);
	assert_a0(verify_with("ec.pub", e.data, e.len, NOW), A0_ERR_CONFIG);
	assert_null(out);
	free(e.data);
}

static void expect_sign_refused(const char *key, const char *reason)
{
	char *out = NULL, err[256] = "";
	size_t len = 0;

	assert_a0(a0_snapshot_sign(file(key), "x", 1, NOW, &out, &len, err, sizeof(err)),
		  A0_ERR_CONFIG);
	assert_null(out);
	if (!strstr(err, reason))
		fail_msg("%s: \"%s\" does not say \"%s\"", key, err, reason);
}

static void test_key_files(void **state)
{
	struct env e = sign_a(NOW);

	(void)state;
	expect_sign_refused("a-open.key", "group or others may use it");
	expect_sign_refused("a-group.key", "group or others may use it");
	expect_sign_refused("missing.key", "cannot open");
	expect_sign_refused("link.key", "cannot open"); /* O_NOFOLLOW */
	expect_sign_refused("dir.key", "not a regular file");
	expect_sign_refused("garbage.key", "not a PEM private key");
	expect_sign_refused("a-public.key", "not a PEM private key");
	expect_sign_refused("a-encrypted.key", "not a PEM private key"); /* and no prompt */
	assert_a0(verify_with("a-writable.pub", e.data, e.len, NOW), A0_ERR_CONFIG);
	assert_a0(verify_with("a-group-writable.pub", e.data, e.len, NOW), A0_ERR_CONFIG);
	assert_a0(verify_with("a.key", e.data, e.len, NOW), A0_ERR_CONFIG);
	assert_a0(verify_with("garbage.pub", e.data, e.len, NOW), A0_ERR_CONFIG);
	assert_a0(verify_with("missing.pub", e.data, e.len, NOW), A0_ERR_CONFIG);
	/* Readable by all is fine for a public key. */
	assert_a0(verify_with("a.pub", e.data, e.len, NOW), 0);
	assert_int_equal(ERR_peek_error(), 0); /* nothing left in OpenSSL's queue */
	free(e.data);
}

static void test_oversized(void **state)
{
	static const char small[16];
	struct env e = sign_a(NOW);
	char *out = NULL, err[256] = "";
	size_t len = 0;

	(void)state;
	/* Refused on the size alone: neither call reads the bytes. */
	assert_a0(a0_snapshot_sign(file("a.key"), small, (size_t)A0_SNAPSHOT_MAX_PAYLOAD + 1, NOW,
				   &out, &len, err, sizeof(err)),
		  A0_ERR_TOO_LARGE);
	assert_null(out);
	assert_a0(verify_with("a.pub", small,
			      (size_t)A0_SNAPSHOT_MAX_PAYLOAD + A0_SNAPSHOT_MAX_HEADER + 1, NOW),
		  A0_ERR_TOO_LARGE);
	/* A header that announces more than the bound. */
	{
		char needle[32];

		snprintf(needle, sizeof(needle), "length: %zu\n", sizeof(PAYLOAD) - 1);
		expect_replaced(&e, needle, "length: 268435457\n", A0_ERR_TOO_LARGE);
		expect_replaced(&e, needle, "length: 99999999999999999999\n", A0_ERR_MALFORMED);
	}
	free(e.data);
}

static void test_malformed_headers(void **state)
{
	struct env e = sign_a(NOW);
	char created[32], length[32];

	(void)state;
	snprintf(created, sizeof(created), "created: %d\n", NOW);
	snprintf(length, sizeof(length), "length: %zu\n", sizeof(PAYLOAD) - 1);
	expect_replaced(&e, "pam_auth0-snapshot 1\n", "pam_auth0-snapshot 2\n", A0_ERR_MALFORMED);
	expect_replaced(&e, "pam_auth0-snapshot 1\n", "pam_auth0-snapshot 1 \n", A0_ERR_MALFORMED);
	expect_replaced(&e, "pam_auth0-snapshot 1\n", "pam_auth0-snapshot 1\r\n", A0_ERR_MALFORMED);
	expect_replaced(&e, created, "created: 01700000000\n", A0_ERR_MALFORMED);
	expect_replaced(&e, created, "created: +1700000000\n", A0_ERR_MALFORMED);
	expect_replaced(&e, created, "created:  1700000000\n", A0_ERR_MALFORMED);
	expect_replaced(&e, created, "created: -1\n", A0_ERR_MALFORMED);
	expect_replaced(&e, created, "created: 253402300800\n", A0_ERR_MALFORMED);
	expect_replaced(&e, created, "", A0_ERR_MALFORMED);
	expect_replaced(&e, length, "", A0_ERR_MALFORMED);
	expect_replaced(&e, "\nkey: ", "\nkey:  ", A0_ERR_MALFORMED);
	expect_replaced(&e, "\nsignature: ", "\nSignature: ", A0_ERR_MALFORMED);
	expect_replaced(&e, "\n\n", "\n", A0_ERR_MALFORMED);
	expect_replaced(&e, "\n\n", "\n\r\n", A0_ERR_MALFORMED);
	/* Reordered: length before created. */
	{
		char swapped[64];

		snprintf(swapped, sizeof(swapped), "%s%s", length, created);
		{
			char both[64];

			snprintf(both, sizeof(both), "%s%s", created, length);
			expect_replaced(&e, both, swapped, A0_ERR_MALFORMED);
		}
	}
	/* A padded signature is not the canonical encoding. */
	{
		char *nl = strstr(e.data, "\n\n");
		struct env m = { malloc(e.len + 3), e.len + 2 };
		size_t at = (size_t)(nl - e.data);

		assert_non_null(m.data);
		memcpy(m.data, e.data, at);
		memcpy(m.data + at, "==", 2);
		memcpy(m.data + at + 2, nl, e.len - at);
		m.data[m.len] = '\0';
		assert_a0(verify_a(&m, NOW), A0_ERR_MALFORMED);
		free(m.data);
	}
	free(e.data);
}

static void test_invalid_arguments(void **state)
{
	struct env e = sign_a(NOW);
	char *out = (char *)1, err[256] = "";
	size_t len = 7;

	(void)state;
	assert_a0(a0_snapshot_sign(NULL, "x", 1, NOW, &out, &len, err, sizeof(err)),
		  A0_ERR_INVALID);
	assert_a0(a0_snapshot_sign(file("a.key"), NULL, 1, NOW, &out, &len, err, sizeof(err)),
		  A0_ERR_INVALID);
	assert_a0(a0_snapshot_sign(file("a.key"), "x", 1, -1, &out, &len, err, sizeof(err)),
		  A0_ERR_INVALID);
	assert_a0(a0_snapshot_sign(file("a.key"), "x", 1, NOW, NULL, &len, err, sizeof(err)),
		  A0_ERR_INVALID);
	assert_ptr_equal(out, (char *)1);
	assert_int_equal(len, 7);
	assert_a0(a0_snapshot_verify(file("a.pub"), e.data, e.len, NOW, 0, NULL, NULL, NULL, err,
				     sizeof(err)),
		  A0_ERR_INVALID);
	assert_a0(a0_snapshot_verify(file("a.pub"), e.data, e.len, -1, MAX_AGE, NULL, NULL, NULL,
				     err, sizeof(err)),
		  A0_ERR_INVALID);
	assert_a0(a0_snapshot_verify(NULL, e.data, e.len, NOW, MAX_AGE, NULL, NULL, NULL, err,
				     sizeof(err)),
		  A0_ERR_INVALID);
	free(e.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format_as_documented),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_every_byte_changed),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_future),
		cmocka_unit_test(test_other_key_types),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_invalid_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
