/* SPDX-License-Identifier: MIT */
#ifndef A0_SNAPSHOT_H
#define A0_SNAPSHOT_H

/*
 * Signed snapshots for fleets: `auth0-sync --export FILE` signs what one host read from Auth0
 * with an Ed25519 key, `auth0-sync --import FILE` on the other hosts accepts it only when the
 * configured public key signed it and it is not older than the configured age. Network-free;
 * OpenSSL 3 (EVP) and the base library only (sync/snapshot.mk).
 *
 * The envelope, text up to the payload, each line ending in one LF:
 *
 *     pam_auth0-snapshot 1
 *     created: 1700000000
 *     length: 5
 *     key: <base64url of the signer's raw 32-byte Ed25519 public key>
 *     signature: <base64url of the 64-byte Ed25519 signature>
 *     <an empty line>
 *     <the payload: exactly `length` bytes, any bytes, then nothing>
 *
 * Every line is required, in this order, spelt exactly so: one space after the colon, numbers
 * in decimal without sign or leading zero, base64url (RFC 4648 §5) without padding (43 and 86
 * characters). The signature is pure Ed25519 (RFC 8032) over the message
 *
 *     "pam_auth0-snapshot signature 1" NUL
 *     || the first four lines exactly as in the envelope, each with its LF
 *     || SHA-512(payload)                                (64 bytes)
 *
 * so it covers the version, the time, the length, the key and every payload byte, and cannot
 * be taken for a signature over anything else the key might sign (the prefix). The payload
 * enters by its digest so that a large snapshot is neither copied nor held twice.
 */

#include <stddef.h>
#include <time.h>

#define A0_SNAPSHOT_MAGIC "pam_auth0-snapshot 1"
#define A0_SNAPSHOT_CONTEXT "pam_auth0-snapshot signature 1" /* the message prefix, then NUL */
#define A0_SNAPSHOT_MAX_PAYLOAD (256u * 1024 * 1024) /* bytes of payload, signing and verifying */
#define A0_SNAPSHOT_MAX_HEADER 512                   /* bytes up to and with the empty line */
#define A0_SNAPSHOT_FUTURE_SKEW 300 /* seconds a snapshot may seem to come from the future */

/*
 * Sign len bytes of payload, made at created (Unix time, >= 0), with the Ed25519 private key in
 * the PEM file private_key_pem_path (PKCS#8 "PRIVATE KEY", unencrypted: nothing prompts for a
 * passphrase). The file must be a regular file of root or of this process's effective user,
 * with no permission for group or others (0600, 0400).
 *
 * 0 and *ret (the envelope, with a NUL after its *ret_len bytes; free()) and *ret_len;
 * A0_ERR_CONFIG for the key file (missing, not a regular file, readable or writable by others,
 * not PEM, not Ed25519), A0_ERR_TOO_LARGE for a payload over A0_SNAPSHOT_MAX_PAYLOAD,
 * A0_ERR_INVALID for bad arguments, A0_ERR_NOMEM, A0_ERR_SYSTEM (OpenSSL failed). err says
 * which, without a secret.
 */
int a0_snapshot_sign(const char *private_key_pem_path, const void *payload, size_t len,
		     time_t created, char **ret, size_t *ret_len, char *err, size_t errlen);

/*
 * Check the len bytes of data as an envelope signed by the Ed25519 public key in the PEM file
 * public_key_pem_path ("PUBLIC KEY"; a regular file of root or of this process's effective
 * user, writable by nobody else), at the time now (>= 0), accepting a snapshot at most max_age
 * seconds old (> 0) and at most A0_SNAPSHOT_FUTURE_SKEW seconds ahead of now.
 *
 * 0 and *ret_payload (a pointer into data, not a copy), *ret_payload_len and *ret_created
 * (each may be NULL); otherwise:
 *   A0_ERR_TOO_LARGE      data longer than an envelope of A0_SNAPSHOT_MAX_PAYLOAD can be, or
 *                         a length over it;
 *   A0_ERR_MALFORMED      not an envelope of this version: a header line missing, misspelt or
 *                         out of order, a payload shorter or longer than its length (truncated
 *                         or extended), a signature or key that is not base64url of its size;
 *   A0_ERR_TOKEN_INVALID  signed by another key, a signature that does not verify (any
 *                         changed byte), or a created time beyond the skew in the future;
 *   A0_ERR_EXPIRED        a good signature on a snapshot older than max_age;
 *   A0_ERR_CONFIG         the key file (missing, not trusted as above, not PEM, not Ed25519);
 *   A0_ERR_INVALID        bad arguments; A0_ERR_NOMEM; A0_ERR_SYSTEM (OpenSSL failed).
 * In that order: the size, the envelope, the key file, the signature, then the times (which
 * mean nothing unsigned). err says which check failed, in printable text.
 */
int a0_snapshot_verify(const char *public_key_pem_path, const void *data, size_t len, time_t now,
		       unsigned max_age, const void **ret_payload, size_t *ret_payload_len,
		       time_t *ret_created, char *err, size_t errlen);

#endif
