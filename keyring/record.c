/* SPDX-License-Identifier: MIT */
/*
 * Records (record.h): free, copy, serialise, parse, name.
 *
 * Serialisation, format version 3. A payload is text:
 *
 *   pam_auth0-record 3\n
 *   <field> <length>\n<value>\n        once for each field present
 *   end\n
 *
 * <field> is a name from `fields` below; <length> the decimal byte length of <value> (no sign,
 * no leading zero, 1 to A0_FIELD_MAX); <value> printable ASCII (0x20-0x7e), so a value can never
 * run into the next field unnoticed. expires_at and refresh_expires_at are decimal seconds since
 * the epoch. Each field appears at most once, in any order; access_token, token_type,
 * expires_at, domain and client_id are required. The "end" line makes every truncation an
 * error, also one that falls between two fields; nothing may follow it. The whole payload is at
 * most A0_RECORD_MAX bytes.
 *
 * Version 2 added client_auth, whose one value is "broker" (A0_RECORD_CLIENT_AUTH_BROKER: a
 * confidential application, refreshed through auth0-broker(8)); absent, the application is
 * public. Version 3 added dpop_key (the session's DPoP key, at most A0_DPOP_MAX_KEY_TEXT).
 * Older payloads are still read: the same fields but those added later, which in them are
 * unknown fields. Only version 3 is written.
 *
 * A payload whose first line names another version is A0_ERR_VERSION, whatever follows, so that a
 * reader never guesses at a newer writer's fields; every other deviation (unknown or repeated
 * field, bad length, truncation, a NUL or control byte, a client_auth other than "broker") is
 * A0_ERR_MALFORMED. A writer that adds, removes or changes a field bumps the version.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring/record.h"
#include "lib/auth0.h"
#include "lib/dpop.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"

#define MAGIC "pam_auth0-record "
#define END "end\n"
#define RECORD_VERSION 3
/* The oldest version still read. */
#define RECORD_VERSION_MIN 1
/* Longest value of one field: Auth0's tokens are a few kilobytes. */
#define A0_FIELD_MAX (64 * 1024)

enum fkind { F_SECRET, F_TEXT, F_TIME };

struct field {
	const char *name;
	enum fkind kind;
	size_t offset;
	bool required;
	int since; /* the format version that added it */
};

#define S(f) offsetof(struct a0_record, f)
static const struct field fields[] = {
	{ "access_token", F_SECRET, S(access_token), true, 1 },
	{ "id_token", F_SECRET, S(id_token), false, 1 },
	{ "refresh_token", F_SECRET, S(refresh_token), false, 1 },
	{ "token_type", F_TEXT, S(token_type), true, 1 },
	{ "scope", F_TEXT, S(scope), false, 1 },
	{ "expires_at", F_TIME, S(expires_at), true, 1 },
	{ "refresh_expires_at", F_TIME, S(refresh_expires_at), false, 1 },
	{ "domain", F_TEXT, S(domain), true, 1 },
	{ "client_id", F_TEXT, S(client_id), true, 1 },
	{ "ca_file", F_TEXT, S(ca_file), false, 1 },
	{ "audience", F_TEXT, S(audience), false, 1 },
	{ "client_auth", F_TEXT, S(client_auth), false, 2 },
	{ "dpop_key", F_SECRET, S(dpop_key), false, 3 },
};
#undef S
#define N_FIELDS A0_ARRAY_SIZE(fields)

/*
 * Free, dup, serialise and parse go by the table alone, so a member of struct a0_record without
 * a row would be silently dropped by all four (and leaked by free). Where pointers and time_t
 * have one size (every 64-bit target) the struct has no padding, and its size counts its
 * members.
 */
_Static_assert(sizeof(char *) != sizeof(time_t) ||
		       sizeof(struct a0_record) == N_FIELDS * sizeof(time_t),
	       "every member of struct a0_record needs a row in fields[]");

/* A value field f may hold: client_auth has one value, dpop_key its bound, the others any
 * text. */
static bool value_ok(const struct field *f, const char *s, size_t len)
{
	if (f->offset == offsetof(struct a0_record, dpop_key))
		return len <= A0_DPOP_MAX_KEY_TEXT;
	if (f->offset != offsetof(struct a0_record, client_auth))
		return true;
	return len == sizeof(A0_RECORD_CLIENT_AUTH_BROKER) - 1 &&
	       memcmp(s, A0_RECORD_CLIENT_AUTH_BROKER, len) == 0;
}

bool a0_record_uses_broker(const struct a0_record *r)
{
	return r && r->client_auth && strcmp(r->client_auth, A0_RECORD_CLIENT_AUTH_BROKER) == 0;
}

static char **string_at(struct a0_record *r, const struct field *f)
{
	return (char **)((char *)r + f->offset);
}

static const char *string_of(const struct a0_record *r, const struct field *f)
{
	return *(char *const *)((const char *)r + f->offset);
}

static time_t *time_at(struct a0_record *r, const struct field *f)
{
	return (time_t *)((char *)r + f->offset);
}

static time_t time_of(const struct a0_record *r, const struct field *f)
{
	return *(const time_t *)((const char *)r + f->offset);
}

void a0_record_free(struct a0_record *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (fields[i].kind == F_SECRET)
			a0_secret_free(*string_at(r, &fields[i]));
		else if (fields[i].kind == F_TEXT)
			free(*string_at(r, &fields[i]));
	}
	free(r);
}

/* A copy of s for the field f: a secret's copy is wiped when freed. */
static char *copy_of(const struct field *f, const char *s)
{
	return f->kind == F_SECRET ? a0_secret_dup(s) : strdup(s);
}

int a0_record_dup(const struct a0_record *r, struct a0_record **ret)
{
	struct a0_record *n;
	int rc = 0;

	if (!r)
		return A0_ERR_INVALID;
	if (!(n = calloc(1, sizeof(*n))))
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct field *f = &fields[i];
		const char *s;

		if (f->kind == F_TIME) {
			*time_at(n, f) = time_of(r, f);
			continue;
		}
		if (!(s = string_of(r, f)))
			continue;
		if (!(*string_at(n, f) = copy_of(f, s))) {
			rc = A0_ERR_NOMEM;
			goto out;
		}
	}
	*ret = n;
	n = NULL;
out:
	a0_record_free(n); /* wipes the secrets copied so far */
	return rc;
}

/* ---- serialisation ---- */

static int append_field(struct a0_buf *b, const char *name, const char *value, size_t len)
{
	char head[64];
	int n, r;

	n = snprintf(head, sizeof(head), "%s %zu\n", name, len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return A0_ERR_INVALID;
	if ((r = a0_buf_append(b, head, (size_t)n)) < 0 || (r = a0_buf_append(b, value, len)) < 0)
		return r;
	return a0_buf_append(b, "\n", 1);
}

/* Field f of r, when present; A0_ERR_INVALID for a required field missing or a bad value. */
static int append_value(struct a0_buf *b, const struct a0_record *r, const struct field *f)
{
	const char *s;
	size_t len;

	if (f->kind == F_TIME) {
		time_t t = time_of(r, f);
		char num[32];
		int n;

		if (t < 0 || (t == 0 && !f->required))
			return 0; /* refresh_expires_at: 0 is "unknown" */
		n = snprintf(num, sizeof(num), "%lld", (long long)t);
		return append_field(b, f->name, num, (size_t)n);
	}
	if (!(s = string_of(r, f)))
		return f->required ? A0_ERR_INVALID : 0;
	len = strlen(s);
	if (len == 0 || len > A0_FIELD_MAX || !a0_text_ok(s, len, A0_TEXT_ASCII) ||
	    !value_ok(f, s, len))
		return A0_ERR_INVALID;
	return append_field(b, f->name, s, len);
}

int a0_record_serialize(const struct a0_record *r, char **ret, size_t *ret_len)
{
	struct a0_buf b = { .max = A0_RECORD_MAX };
	char head[32];
	int n, rc;

	if (!r)
		return A0_ERR_INVALID;
	n = snprintf(head, sizeof(head), MAGIC "%d\n", RECORD_VERSION);
	if ((rc = a0_buf_append(&b, head, (size_t)n)) < 0)
		goto out;
	for (size_t i = 0; i < N_FIELDS; i++)
		if ((rc = append_value(&b, r, &fields[i])) < 0)
			goto out;
	if ((rc = a0_buf_append(&b, END, sizeof(END) - 1)) < 0)
		goto out;
	*ret_len = b.len;
	*ret = a0_buf_steal(&b);
out:
	a0_buf_free(&b); /* wipes what a failure left */
	return rc == A0_ERR_TOO_LARGE ? A0_ERR_INVALID : rc;
}

/* A decimal number of at most maxdigits digits, no sign, no leading zero; -1 when not. */
static long long parse_decimal(const char *s, size_t n, size_t maxdigits)
{
	long long v = 0;

	if (n == 0 || n > maxdigits || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static const struct field *field_named(const char *s, size_t n)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strlen(fields[i].name) == n && memcmp(fields[i].name, s, n) == 0)
			return &fields[i];
	return NULL;
}

int a0_record_parse(const char *p, size_t len, struct a0_record **ret)
{
	bool seen[N_FIELDS] = { false };
	struct a0_record *r;
	const char *end, *nl;
	size_t pos;
	long long v;
	int rc = A0_ERR_MALFORMED;

	if (!p || len == 0 || len > A0_RECORD_MAX)
		return A0_ERR_MALFORMED;
	if (len < sizeof(MAGIC) - 1 || memcmp(p, MAGIC, sizeof(MAGIC) - 1) != 0)
		return A0_ERR_MALFORMED;
	pos = sizeof(MAGIC) - 1;
	nl = memchr(p + pos, '\n', len - pos);
	if (!nl)
		return A0_ERR_MALFORMED;
	v = parse_decimal(p + pos, (size_t)(nl - (p + pos)), 9);
	if (v < 0)
		return A0_ERR_MALFORMED;
	if (v < RECORD_VERSION_MIN || v > RECORD_VERSION)
		return A0_ERR_VERSION;
	pos = (size_t)(nl - p) + 1;

	r = calloc(1, sizeof(*r));
	if (!r)
		return A0_ERR_NOMEM;
	end = p + len;
	for (;;) {
		const struct field *f;
		const char *sp, *value;
		long long vlen;
		size_t idx;

		/* "end\n", last */
		if (len - pos >= sizeof(END) - 1 && memcmp(p + pos, END, sizeof(END) - 1) == 0) {
			if (len - pos != sizeof(END) - 1)
				goto out;
			break;
		}
		/* "<field> <length>\n" */
		nl = memchr(p + pos, '\n', len - pos);
		sp = nl ? memchr(p + pos, ' ', (size_t)(nl - (p + pos))) : NULL;
		if (!sp)
			goto out;
		f = field_named(p + pos, (size_t)(sp - (p + pos)));
		if (!f || f->since > v)
			goto out;
		idx = (size_t)(f - fields);
		if (seen[idx])
			goto out;
		seen[idx] = true;
		vlen = parse_decimal(sp + 1, (size_t)(nl - sp - 1), 6);
		if (vlen < 1 || vlen > A0_FIELD_MAX)
			goto out;
		/* "<value>\n" */
		value = nl + 1;
		if ((size_t)(end - value) < (size_t)vlen + 1 || value[vlen] != '\n' ||
		    !a0_text_ok(value, (size_t)vlen, A0_TEXT_ASCII))
			goto out;
		if (f->kind == F_TIME) {
			long long t = parse_decimal(value, (size_t)vlen, 18);

			if (t < 0)
				goto out;
			*time_at(r, f) = (time_t)t;
		} else {
			char *s;

			if (!value_ok(f, value, (size_t)vlen))
				goto out;
			s = malloc((size_t)vlen + 1);

			if (!s) {
				rc = A0_ERR_NOMEM;
				goto out;
			}
			memcpy(s, value, (size_t)vlen);
			s[vlen] = '\0';
			*string_at(r, f) = s;
		}
		pos = (size_t)(value + vlen + 1 - p);
	}
	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].required && !seen[i])
			goto out;
	*ret = r;
	r = NULL;
	rc = 0;
out:
	a0_record_free(r);
	return rc;
}

unsigned a0_record_timeout(const struct a0_record *r, time_t now)
{
	time_t until = r->refresh_token && r->refresh_expires_at > 0 ? r->refresh_expires_at
								     : r->expires_at;
	long long left = (long long)until - (long long)now;

	if (left < A0_RECORD_MIN_TIMEOUT)
		return A0_RECORD_MIN_TIMEOUT;
	if (left > UINT_MAX)
		return UINT_MAX;
	return (unsigned)left;
}

/* ---- record names ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int a0_record_api_name(const char *audience, const char *scope, char **ret)
{
	struct a0_buf b = { .max = A0_RECORD_NAME_MAX };
	char *copy = NULL, **words = NULL, *save = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (!audience || !*audience || strchr(audience, ' ') ||
	    !a0_text_ok(audience, strlen(audience), A0_TEXT_ASCII))
		return A0_ERR_INVALID;
	if (scope && !a0_text_ok(scope, strlen(scope), A0_TEXT_ASCII))
		return A0_ERR_INVALID;
	if ((r = a0_buf_append(&b, "api:", 4)) < 0 ||
	    (r = a0_buf_append(&b, audience, strlen(audience))) < 0)
		goto out;
	/* Auth0's SDKs: the scopes sorted, each after "::"; a set, so repeats go. */
	if (scope && !(copy = strdup(scope))) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t;
	     t = strtok_r(NULL, " ", &save)) {
		if (n == cap) {
			char **grown = realloc(words, (cap ? cap * 2 : 8) * sizeof(*words));

			if (!grown) {
				r = A0_ERR_NOMEM;
				goto out;
			}
			words = grown;
			cap = cap ? cap * 2 : 8;
		}
		words[n++] = t;
	}
	if (n > 0)
		qsort(words, n, sizeof(*words), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
			continue;
		if ((r = a0_buf_append(&b, "::", 2)) < 0 ||
		    (r = a0_buf_append(&b, words[i], strlen(words[i]))) < 0)
			goto out;
	}
	*ret = a0_buf_steal(&b);
out:
	free(words);
	free(copy);
	a0_buf_free(&b); /* nothing after a steal */
	return r == A0_ERR_TOO_LARGE ? A0_ERR_INVALID : r;
}

int a0_record_vault_name(const char *connection, const char *login_hint, char **ret)
{
	char *name;

	if (!a0_vault_connection_ok(connection) ||
	    (login_hint && !a0_vault_login_hint_ok(login_hint)))
		return A0_ERR_INVALID;
	if (asprintf(&name, "%s%s%s%s", A0_RECORD_VAULT_PREFIX, connection, login_hint ? "::" : "",
		     login_hint ? login_hint : "") < 0)
		return A0_ERR_NOMEM;
	*ret = name;
	return 0;
}
