/* SPDX-License-Identifier: MIT */
/*
 * Records for the tests of the keyring (test_record.c, test_store.c): a sample with every field
 * set, and a comparison of every field. Everything here is static inline, so that a program links
 * nothing more for including it. Include after <cmocka.h>.
 */
#ifndef A0_TEST_RECORD_H
#define A0_TEST_RECORD_H

#include <stdlib.h>
#include <string.h>

#include "keyring/record.h"

/* n bytes of c, NUL-terminated. */
static inline char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static inline struct a0_record *sample(const char *rt)
{
	struct a0_record *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->access_token = strdup("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHwxIn0.c2lnbmF0dXJl");
	r->id_token = strdup("eyJhbGciOiJSUzI1NiJ9.eyJuYW1lIjoiQWxpY2UifQ.c2ln");
	r->refresh_token = rt ? strdup(rt) : NULL;
	r->token_type = strdup("Bearer");
	r->scope = strdup("openid profile email offline_access");
	r->expires_at = 1900000000;
	r->refresh_expires_at = 1902592000;
	r->domain = strdup("tenant.example.auth0.com");
	r->client_id = strdup("pam-native");
	r->ca_file = strdup("/etc/ssl/certs/ca.pem");
	r->audience = strdup("https://api.example.com/");
	r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER);
	return r;
}

static inline void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static inline void assert_records_equal(const struct a0_record *a, const struct a0_record *b)
{
	assert_str_or_null(a->access_token, b->access_token);
	assert_str_or_null(a->id_token, b->id_token);
	assert_str_or_null(a->refresh_token, b->refresh_token);
	assert_str_or_null(a->token_type, b->token_type);
	assert_str_or_null(a->scope, b->scope);
	assert_int_equal(a->expires_at, b->expires_at);
	assert_int_equal(a->refresh_expires_at, b->refresh_expires_at);
	assert_str_or_null(a->domain, b->domain);
	assert_str_or_null(a->client_id, b->client_id);
	assert_str_or_null(a->ca_file, b->ca_file);
	assert_str_or_null(a->audience, b->audience);
	assert_str_or_null(a->client_auth, b->client_auth);
	assert_str_or_null(a->dpop_key, b->dpop_key);
}

#endif
