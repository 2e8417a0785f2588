/* SPDX-License-Identifier: MIT */
/*
 * Records without a keyring (keyring/record.c): the payload format's serialiser and parser,
 * record names, key timeouts and the copy. Needs neither root nor a keyring.
 */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "keyring/record.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "tests/common/record.h"

/* ---- helpers ---- */

static char *serialize(const struct a0_record *r, size_t *len)
{
	char *p = NULL;

	assert_int_equal(a0_record_serialize(r, &p, len), 0);
	return p;
}

/* ---- serialisation ---- */

static void test_serialize_round_trip(void **state)
{
	struct a0_record *r = sample("v1.refresh-token"), *back = NULL;
	size_t len;
	char *p = serialize(r, &len);

	assert_int_equal(strncmp(p, "pam_auth0-record 3\n", 19), 0);
	assert_int_equal(strlen(p), len);
	assert_non_null(strstr(p, "\nrefresh_token 16\nv1.refresh-token\n"));
	assert_non_null(strstr(p, "\nclient_auth 6\nbroker\n"));
	assert_int_equal(a0_record_parse(p, len, &back), 0);
	assert_records_equal(r, back);
	assert_true(a0_record_uses_broker(back));
	a0_record_free(back);
	a0_secret_free(p);

	/* Only the required fields. */
	a0_secret_clear(&r->id_token);
	a0_secret_clear(&r->refresh_token);
	free(r->scope), r->scope = NULL;
	free(r->ca_file), r->ca_file = NULL;
	free(r->audience), r->audience = NULL;
	free(r->client_auth), r->client_auth = NULL;
	r->refresh_expires_at = 0;
	p = serialize(r, &len);
	assert_null(strstr(p, "refresh"));
	assert_null(strstr(p, "client_auth"));
	assert_int_equal(a0_record_parse(p, len, &back), 0);
	assert_records_equal(r, back);
	assert_false(a0_record_uses_broker(back));
	a0_record_free(back);
	a0_secret_free(p);
	a0_record_free(r);
}

static void test_serialize_refuses_bad_records(void **state)
{
	struct a0_record *r = sample(NULL);
	char *p = NULL, *saved;
	size_t len;

	assert_int_equal(a0_record_serialize(NULL, &p, &len), A0_ERR_INVALID);
	saved = r->access_token;
	r->access_token = NULL;
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	r->access_token = strdup("");
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	free(r->access_token);
	r->access_token = strdup("line\nbreak");
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	free(r->access_token);
	r->access_token = repeat('a', 64 * 1024 + 1);
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	free(r->access_token);
	r->access_token = saved;
	free(r->domain);
	r->domain = NULL;
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	assert_null(p);
	r->domain = strdup("tenant.example.auth0.com");
	/* client_auth has one value: anything else is refused, never written. */
	free(r->client_auth);
	r->client_auth = strdup("secret");
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	free(r->client_auth);
	r->client_auth = strdup("brokers");
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	free(r->client_auth);
	r->client_auth = strdup("");
	assert_int_equal(a0_record_serialize(r, &p, &len), A0_ERR_INVALID);
	assert_null(p);
	a0_record_free(r);
}

static void expect_parse(const char *text, int err)
{
	struct a0_record *r = NULL;

	assert_int_equal(a0_record_parse(text, strlen(text), &r), err);
	assert_null(r);
}

#define HEAD "pam_auth0-record 3\n"
#define HEAD_V2 "pam_auth0-record 2\n"
#define HEAD_V1 "pam_auth0-record 1\n"
#define REQUIRED                                                                     \
	"access_token 2\nAT\ntoken_type 6\nBearer\nexpires_at 1\n5\ndomain 3\nd.x\n" \
	"client_id 1\nc\n"
#define END "end\n"

static void test_parse_version_and_garbage(void **state)
{
	struct a0_record *r = NULL;

	assert_int_equal(a0_record_parse(HEAD REQUIRED END, strlen(HEAD REQUIRED END), &r), 0);
	assert_string_equal(r->access_token, "AT");
	assert_int_equal(r->expires_at, 5);
	assert_null(r->refresh_token);
	a0_record_free(r);

	/* Another version is its own error, however the rest looks. */
	expect_parse("pam_auth0-record 4\n" REQUIRED END, A0_ERR_VERSION);
	expect_parse("pam_auth0-record 4\n{\"v\":4}", A0_ERR_VERSION);
	expect_parse("pam_auth0-record 0\n" REQUIRED END, A0_ERR_VERSION);
	expect_parse("pam_auth0-record 10\n", A0_ERR_VERSION);
	/* Not a record at all. */
	expect_parse("", A0_ERR_MALFORMED);
	expect_parse("{\"access_token\":\"AT\"}", A0_ERR_MALFORMED);
	expect_parse("pam_auth0-record 01\n" REQUIRED END, A0_ERR_MALFORMED);
	expect_parse("pam_auth0-record x\n" REQUIRED END, A0_ERR_MALFORMED);
	expect_parse("pam_auth0-record 3", A0_ERR_MALFORMED);
	expect_parse("PAM_AUTH0-RECORD 1\n" REQUIRED END, A0_ERR_MALFORMED);
	/* Fields. */
	expect_parse(HEAD END, A0_ERR_MALFORMED);      /* none */
	expect_parse(HEAD REQUIRED, A0_ERR_MALFORMED); /* no end */
	expect_parse(HEAD REQUIRED "end", A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED END END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED END "scope 1\nx\n", A0_ERR_MALFORMED); /* after end */
	expect_parse(HEAD REQUIRED "scope 1\nx\nscope 1\ny\n" END, A0_ERR_MALFORMED); /* twice */
	expect_parse(HEAD REQUIRED "colour 4\nblue\n" END, A0_ERR_MALFORMED);         /* unknown */
	expect_parse(HEAD "access_token 2\nAT\n" END, A0_ERR_MALFORMED);              /* missing */
	expect_parse(HEAD REQUIRED "scope 2\nx\n" END, A0_ERR_MALFORMED);             /* short */
	expect_parse(HEAD REQUIRED "scope 1\nxy\n" END, A0_ERR_MALFORMED);            /* long */
	expect_parse(HEAD REQUIRED "scope 01\nx\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "scope -1\nx\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "scope 0\n\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "scope 99999999999\nx\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "scope 1\n\x01\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "scope 1\nx" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "trailing" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD "access_token 2\nAT\ntoken_type 6\nBearer\n"
			  "expires_at 2\n-5\ndomain 3\nd.x\nclient_id 1\nc\n" END,
		     A0_ERR_MALFORMED);
	/* A NUL inside: the length counts it, the value may not hold it. */
	{
		const char text[] = HEAD REQUIRED "scope 3\na\0b\n" END;

		assert_int_equal(a0_record_parse(text, sizeof(text) - 1, &r), A0_ERR_MALFORMED);
	}
	assert_int_equal(a0_record_parse(NULL, 0, &r), A0_ERR_MALFORMED);
}

/*
 * Version 2's client_auth: "broker" or absent; version 1 payloads, written before it, are still
 * read, and have no client_auth (it is an unknown field there).
 */
static void test_parse_client_auth_and_version_1(void **state)
{
	struct a0_record *r = NULL;
	const char *v2 = HEAD REQUIRED "client_auth 6\nbroker\n" END;
	const char *v1 = HEAD_V1 "access_token 2\nAT\nrefresh_token 2\nRT\ntoken_type 6\nBearer\n"
				 "expires_at 1\n5\nrefresh_expires_at 2\n17\ndomain 3\nd.x\n"
				 "client_id 1\nc\nca_file 4\n/c.p\naudience 1\na\nscope 1\ns\n"
				 "id_token 2\nIT\n" END;
	char *p = NULL;
	size_t len;

	assert_int_equal(a0_record_parse(v2, strlen(v2), &r), 0);
	assert_string_equal(r->client_auth, "broker");
	assert_true(a0_record_uses_broker(r));
	a0_record_free(r);
	r = NULL;
	assert_int_equal(a0_record_parse(HEAD REQUIRED END, strlen(HEAD REQUIRED END), &r), 0);
	assert_null(r->client_auth);
	assert_false(a0_record_uses_broker(r));
	a0_record_free(r);
	r = NULL;
	assert_false(a0_record_uses_broker(NULL));

	/* An unknown value, or a near one, is refused: the reader never guesses. */
	expect_parse(HEAD REQUIRED "client_auth 6\nsecret\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "client_auth 6\nBROKER\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "client_auth 7\nbrokers\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "client_auth 5\nbroke\n" END, A0_ERR_MALFORMED);
	expect_parse(HEAD REQUIRED "client_auth 6\nbroker\nclient_auth 6\nbroker\n" END,
		     A0_ERR_MALFORMED);

	/* Version 2 (client_auth, no DPoP key) is read, and had no dpop_key. */
	assert_int_equal(a0_record_parse(HEAD_V2 REQUIRED "client_auth 6\nbroker\n" END,
					 strlen(HEAD_V2 REQUIRED "client_auth 6\nbroker\n" END),
					 &r),
			 0);
	assert_true(a0_record_uses_broker(r));
	assert_null(r->dpop_key);
	a0_record_free(r);
	r = NULL;
	expect_parse(HEAD_V2 REQUIRED "dpop_key 2\n{}\n" END, A0_ERR_MALFORMED);
	/* Version 3's dpop_key: kept as it is (lib/dpop.c reads it), within its bound. */
	assert_int_equal(a0_record_parse(HEAD REQUIRED "dpop_key 2\n{}\n" END,
					 strlen(HEAD REQUIRED "dpop_key 2\n{}\n" END), &r),
			 0);
	assert_string_equal(r->dpop_key, "{}");
	a0_record_free(r);
	r = NULL;
	{
		char big[A0_DPOP_MAX_KEY_TEXT + 128];
		int n = snprintf(big, sizeof(big), HEAD REQUIRED "dpop_key %d\n",
				 A0_DPOP_MAX_KEY_TEXT + 1);

		memset(big + n, 'k', A0_DPOP_MAX_KEY_TEXT + 1);
		snprintf(big + n + A0_DPOP_MAX_KEY_TEXT + 1,
			 sizeof(big) - n - A0_DPOP_MAX_KEY_TEXT - 1, "\n" END);
		expect_parse(big, A0_ERR_MALFORMED);
	}

	/* Version 1: every field of its time, read as before; written back as version 3. */
	assert_int_equal(a0_record_parse(v1, strlen(v1), &r), 0);
	assert_string_equal(r->access_token, "AT");
	assert_string_equal(r->refresh_token, "RT");
	assert_string_equal(r->id_token, "IT");
	assert_string_equal(r->token_type, "Bearer");
	assert_int_equal(r->expires_at, 5);
	assert_int_equal(r->refresh_expires_at, 17);
	assert_string_equal(r->domain, "d.x");
	assert_string_equal(r->client_id, "c");
	assert_string_equal(r->ca_file, "/c.p");
	assert_string_equal(r->audience, "a");
	assert_string_equal(r->scope, "s");
	assert_null(r->client_auth);
	p = serialize(r, &len);
	assert_int_equal(strncmp(p, HEAD, strlen(HEAD)), 0);
	a0_secret_free(p);
	a0_record_free(r);
	r = NULL;
	/* ... and version 1 had no client_auth. */
	expect_parse(HEAD_V1 REQUIRED "client_auth 6\nbroker\n" END, A0_ERR_MALFORMED);
	/* Version 1's own errors are still errors. */
	expect_parse(HEAD_V1 REQUIRED, A0_ERR_MALFORMED);
	expect_parse(HEAD_V1 REQUIRED "colour 4\nblue\n" END, A0_ERR_MALFORMED);
}

static void test_parse_every_truncation(void **state)
{
	struct a0_record *r = sample("rt"), *back;
	size_t len;
	char *p = serialize(r, &len);

	/* Every proper prefix is an error, never a shorter record. */
	for (size_t n = 0; n < len; n++) {
		back = NULL;
		assert_int_equal(a0_record_parse(p, n, &back), A0_ERR_MALFORMED);
		assert_null(back);
	}
	assert_int_equal(a0_record_parse(p, len, &back), 0);
	a0_record_free(back);
	/* Flipping any byte to a control character breaks it too. */
	for (size_t n = 0; n < len; n++) {
		char saved = p[n];

		p[n] = '\x7f';
		back = NULL;
		assert_int_not_equal(a0_record_parse(p, len, &back), 0);
		assert_null(back);
		p[n] = saved;
	}
	a0_secret_free(p);
	a0_record_free(r);
}

/*
 * Every byte value at every position of a value whose length is not a multiple of eight (the
 * check, a0_text_ok with A0_TEXT_ASCII, works eight bytes at a time, then byte by byte):
 * accepted exactly when 0x20-0x7e, and the value read back is the one written. Also with a bad
 * byte next to good ones of every value (the word-wise check must not let one byte's borrow or
 * carry hide another's).
 */
static void test_parse_every_byte_everywhere(void **state)
{
	enum { VLEN = 21 };
	char text[sizeof(HEAD REQUIRED) + 32 + VLEN];
	size_t head = sizeof(HEAD REQUIRED "scope 21\n") - 1, len;

	for (size_t pos = 0; pos < VLEN; pos++) {
		for (int b = 0; b < 256; b++) {
			for (int bad = -1; bad < 2; bad++) {
				struct a0_record *r = NULL;
				size_t next = (pos + 1) % VLEN;
				bool ok;

				len = (size_t)snprintf(text, sizeof(text),
						       HEAD REQUIRED "scope %d\n", VLEN);
				assert_int_equal(len, head);
				memset(text + head, 'x', VLEN);
				text[head + pos] = (char)b;
				/* bad: -1 none, 0 a 0x1f, 1 a 0x7f next to it */
				if (bad >= 0)
					text[head + next] = bad ? '\x7f' : '\x1f';
				memcpy(text + head + VLEN, "\n" END, sizeof("\n" END) - 1);
				len = head + VLEN + sizeof("\n" END) - 1;
				ok = b >= 0x20 && b <= 0x7e && bad < 0;
				assert_int_equal(a0_record_parse(text, len, &r),
						 ok ? 0 : A0_ERR_MALFORMED);
				if (ok)
					assert_memory_equal(r->scope, text + head, VLEN);
				a0_record_free(r);
			}
		}
	}
}

static void test_api_name(void **state)
{
	char *n = NULL;

	assert_int_equal(a0_record_api_name("https://api.example.com/", NULL, &n), 0);
	assert_string_equal(n, "api:https://api.example.com/");
	free(n);
	assert_int_equal(a0_record_api_name("https://api.example.com/", "write:x read:x  read:x",
					    &n),
			 0);
	assert_string_equal(n, "api:https://api.example.com/::read:x::write:x");
	free(n);
	assert_int_equal(a0_record_api_name("aud", "", &n), 0);
	assert_string_equal(n, "api:aud");
	free(n);
	n = NULL;
	assert_int_equal(a0_record_api_name("", NULL, &n), A0_ERR_INVALID);
	assert_int_equal(a0_record_api_name(NULL, NULL, &n), A0_ERR_INVALID);
	assert_int_equal(a0_record_api_name("a b", NULL, &n), A0_ERR_INVALID);
	assert_int_equal(a0_record_api_name("aud", "x\ny", &n), A0_ERR_INVALID);
	assert_null(n);
}

/* ---- the copy ---- */

/*
 * Every field set to a value no other field has, so a field the copy leaves out, or puts into
 * another field's place, changes the copy's payload.
 */
static struct a0_record *every_field(void)
{
	struct a0_record *r = calloc(1, sizeof(*r));

	/*
	 * A member added to struct a0_record changes its size: set it here too (record.c's
	 * fields table has a row for every member, or it does not compile).
	 */
	if (sizeof(char *) == sizeof(time_t))
		assert_int_equal(sizeof(*r), 11 * sizeof(char *) + 2 * sizeof(time_t));
	assert_non_null(r);
	r->access_token = strdup("access-token-1");
	r->id_token = strdup("id-token-2");
	r->refresh_token = strdup("refresh-token-3");
	r->token_type = strdup("token-type-4");
	r->scope = strdup("scope-5");
	r->expires_at = 1900000006;
	r->domain = strdup("domain-7.example.com");
	r->client_id = strdup("client-id-8");
	r->ca_file = strdup("/ca-file-9.pem");
	r->audience = strdup("audience-10");
	r->refresh_expires_at = 1900000011;
	r->client_auth = strdup(A0_RECORD_CLIENT_AUTH_BROKER); /* its one value */
	r->dpop_key = strdup("dpop-key-12");
	return r;
}

static void test_dup_copies_every_field(void **state)
{
	struct a0_record *r = every_field(), *n = NULL;
	char *a, *b;
	size_t alen, blen;

	assert_int_equal(a0_record_dup(r, &n), 0);
	assert_ptr_not_equal(n, r);
	a = serialize(r, &alen);
	b = serialize(n, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_records_equal(r, n);
	/* Copies, not the same strings: changing or freeing the original leaves the copy be. */
	r->access_token[0] = 'X';
	r->domain[0] = 'X';
	a0_record_free(r);
	a0_secret_free(a);
	a = serialize(n, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	a0_secret_free(a);
	a0_secret_free(b);
	a0_record_free(n);
}

static void test_dup_keeps_absent_fields_absent(void **state)
{
	struct a0_record *r = sample(NULL), *n = NULL, untouched, *none = &untouched;

	free(r->scope), r->scope = NULL;
	free(r->ca_file), r->ca_file = NULL;
	a0_secret_clear(&r->id_token);
	r->refresh_expires_at = 0;
	assert_int_equal(a0_record_dup(r, &n), 0);
	assert_records_equal(r, n);
	assert_null(n->refresh_token);
	assert_null(n->scope);
	a0_record_free(n);
	a0_record_free(r);
	/* Nothing to copy: *ret untouched. */
	assert_int_equal(a0_record_dup(NULL, &none), A0_ERR_INVALID);
	assert_ptr_equal(none, &untouched);
}

/* ---- key timeouts ---- */

static void test_timeout(void **state)
{
	struct a0_record *r = sample("rt");
	time_t now = 1900000000 - 3600;

	/* With a refresh token whose end is known: until then. */
	assert_int_equal(a0_record_timeout(r, now), 1902592000 - now);
	/* Otherwise until the access token expires. */
	r->refresh_expires_at = 0;
	assert_int_equal(a0_record_timeout(r, now), 3600);
	r->refresh_expires_at = 1902592000;
	a0_secret_clear(&r->refresh_token);
	assert_int_equal(a0_record_timeout(r, now), 3600);
	/* At least the minimum, also for what has expired. */
	assert_int_equal(a0_record_timeout(r, 1900000000 - 1), A0_RECORD_MIN_TIMEOUT);
	assert_int_equal(a0_record_timeout(r, 1900000000 + 1), A0_RECORD_MIN_TIMEOUT);
	/* At most what the kernel takes. */
	r->expires_at = (time_t)UINT_MAX + 100;
	assert_int_equal(a0_record_timeout(r, 0), UINT_MAX);
	a0_record_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serialize_round_trip),
		cmocka_unit_test(test_serialize_refuses_bad_records),
		cmocka_unit_test(test_parse_version_and_garbage),
		cmocka_unit_test(test_parse_client_auth_and_version_1),
		cmocka_unit_test(test_parse_every_truncation),
		cmocka_unit_test(test_parse_every_byte_everywhere),
		cmocka_unit_test(test_api_name),
		cmocka_unit_test(test_dup_copies_every_field),
		cmocka_unit_test(test_dup_keeps_absent_fields_absent),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
