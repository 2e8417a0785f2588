/* SPDX-License-Identifier: MIT */
/*
 * The keyring record format (keyring/store.c): a0_record_parse of a key's payload, which
 * another process of the same user may have written. A record that parses must serialise,
 * and parse back to the same record (the helper rewrites records it read).
 */
#include "config.h"

#include "keyring/record.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "tests/fuzz/fuzz.h"

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_record(const struct a0_record *a, const struct a0_record *b)
{
	return same_string(a->access_token, b->access_token) &&
	       same_string(a->id_token, b->id_token) &&
	       same_string(a->refresh_token, b->refresh_token) &&
	       same_string(a->token_type, b->token_type) && same_string(a->scope, b->scope) &&
	       a->expires_at == b->expires_at && a->refresh_expires_at == b->refresh_expires_at &&
	       same_string(a->domain, b->domain) && same_string(a->client_id, b->client_id) &&
	       same_string(a->ca_file, b->ca_file) && same_string(a->audience, b->audience);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a0_record *rec = NULL, *again = NULL;
	char *payload = NULL, *name = NULL;
	size_t len = 0;
	int r;

	/* Exactly size bytes, not NUL-terminated: a key's payload is not. */
	r = a0_record_parse((const char *)data, size, &rec);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_VERSION || r == A0_ERR_NOMEM);
		FUZZ_CHECK(rec == NULL);
		return 0;
	}
	FUZZ_CHECK(rec && rec->access_token && rec->token_type && rec->domain && rec->client_id);
	r = a0_record_serialize(rec, &payload, &len);
	FUZZ_CHECK(r == 0 || r == A0_ERR_NOMEM);
	if (r == 0) {
		FUZZ_CHECK(len <= size && strlen(payload) == len);
		r = a0_record_parse(payload, len, &again);
		FUZZ_CHECK(r == 0 || r == A0_ERR_NOMEM);
		FUZZ_CHECK(r != 0 || same_record(rec, again));
		a0_record_free(again);
		a0_wipe_free(payload, len);
	}
	/* The helper names per-API records after what it read. */
	if (rec->audience) {
		r = a0_record_api_name(rec->audience, rec->scope, &name);
		FUZZ_CHECK(r == 0 || r == A0_ERR_INVALID || r == A0_ERR_NOMEM);
		free(name);
	}
	a0_record_free(rec);
	return 0;
}
