/* SPDX-License-Identifier: MIT */
/*
 * Signed snapshots (sync/snapshot.c): a0_snapshot_verify with the fuzzers' Ed25519 key
 * (fuzz_keys.h), written once into a private temporary directory. The first byte chooses the
 * mode. Even: the rest is an envelope as received (the seeds in tests/fuzz/corpus/snapshot are
 * signed with the same key); one that verifies must be exactly what signing its payload again
 * gives (Ed25519 is deterministic, the format has one spelling). Odd: four bytes of time offset
 * from FUZZ_NOW, then a payload that the fuzzer signs, so that the checks past the signature
 * are reached; it must verify as its time says, and with any one byte changed be refused.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "sync/snapshot.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"

static char dir[64], private_path[128], public_path[128];

static void remove_keys(void)
{
	(void)unlink(private_path);
	(void)unlink(public_path);
	(void)rmdir(dir);
}

static void write_key(const char *path, const char *pem, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0 || a0_write_full(fd, pem, strlen(pem)) < 0 || close(fd) < 0)
		abort();
}

static void keys_once(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof(dir), "/tmp/a0fuzz-snapshot-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(private_path, sizeof(private_path), "%s/fuzz.key", dir);
	snprintf(public_path, sizeof(public_path), "%s/fuzz.pub", dir);
	write_key(private_path, fuzz_ed25519_pem, 0600);
	write_key(public_path, fuzz_ed25519_pub_pem, 0644);
	(void)atexit(remove_keys);
}

/* Verify; a refusal comes with one printable line and writes no out-parameter. */
static int verify(const void *data, size_t size, const void **payload, size_t *len, time_t *created)
{
	char err[256];
	int r;

	memset(err, 'x', sizeof(err));
	err[0] = '\0';
	*payload = NULL;
	*len = 0;
	*created = -1;
	r = a0_snapshot_verify(public_path, data, size, FUZZ_NOW, FUZZ_SNAPSHOT_MAX_AGE, payload,
			       len, created, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_TOKEN_INVALID ||
			   r == A0_ERR_EXPIRED || r == A0_ERR_TOO_LARGE || r == A0_ERR_NOMEM);
		FUZZ_CHECK(err[0] && fuzz_printable(err, sizeof(err)));
		FUZZ_CHECK(!*payload && !*len && *created == -1);
	} else {
		FUZZ_CHECK(r == 0);
		FUZZ_CHECK(*created >= FUZZ_NOW - FUZZ_SNAPSHOT_MAX_AGE &&
			   *created <= FUZZ_NOW + A0_SNAPSHOT_FUTURE_SKEW);
		/* The payload is the envelope's tail, not a copy. */
		FUZZ_CHECK((const char *)*payload >= (const char *)data &&
			   (const char *)*payload + *len == (const char *)data + size);
	}
	return r;
}

static int sign(const void *payload, size_t len, time_t created, char **ret, size_t *ret_len)
{
	char err[256] = "";
	int r = a0_snapshot_sign(private_path, payload, len, created, ret, ret_len, err,
				 sizeof(err));

	FUZZ_CHECK(r == 0 || r == A0_ERR_NOMEM || (r == A0_ERR_INVALID && created < 0));
	return r;
}

static void as_received(const uint8_t *data, size_t size)
{
	const void *payload;
	char *again = NULL;
	size_t len, again_len = 0;
	time_t created;

	if (verify(data, size, &payload, &len, &created) < 0)
		return;
	if (sign(payload, len, created, &again, &again_len) < 0)
		return;
	FUZZ_CHECK(again_len == size && memcmp(again, data, size) == 0);
	free(again);
}

static void signed_here(const uint8_t *data, size_t size)
{
	const void *payload;
	char *env = NULL;
	size_t len, env_len = 0, at;
	time_t created;
	uint32_t bits;
	int32_t offset;
	uint8_t mask;
	int r;

	if (size < 4)
		return;
	memcpy(&bits, data, 4);
	offset = (int32_t)bits;
	if (sign(data + 4, size - 4, (time_t)FUZZ_NOW + offset, &env, &env_len) < 0)
		return;
	r = verify(env, env_len, &payload, &len, &created);
	if (offset > A0_SNAPSHOT_FUTURE_SKEW)
		FUZZ_CHECK(r == A0_ERR_TOKEN_INVALID);
	else if (offset < -FUZZ_SNAPSHOT_MAX_AGE)
		FUZZ_CHECK(r == A0_ERR_EXPIRED);
	else
		FUZZ_CHECK(r == 0 && len == size - 4 && memcmp(payload, data + 4, len) == 0 &&
			   created == (time_t)FUZZ_NOW + offset);
	/* Any one byte changed: refused before the times are looked at. */
	at = (size_t)(bits * 2654435761u) % env_len;
	mask = (uint8_t)((bits >> 24) | 1);
	env[at] = (char)(env[at] ^ mask);
	r = verify(env, env_len, &payload, &len, &created);
	FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_TOKEN_INVALID || r == A0_ERR_NOMEM);
	free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_once();
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		as_received(data + 1, size - 1);
	else
		signed_here(data + 1, size - 1);
	return 0;
}
