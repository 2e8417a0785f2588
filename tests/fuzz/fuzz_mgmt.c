/* SPDX-License-Identifier: MIT */
/*
 * What auth0-sync reads from Auth0's Management API (sync/mgmt.h), through the parsers a run
 * calls: the first byte chooses the answer and how it arrives, the rest is the answer.
 *   mode & 3:  0 a users page (GET /api/v2/users, include_totals), 1 a role-members page
 *              (GET /api/v2/roles/ID/users), 2 a users-export file as received (NDJSON, or gzip
 *              when its first byte is 0x1f), 3 the same NDJSON gzipped here first (bit 6: as two
 *              gzip members)
 *   mode & 4:  name_attribute = username (else the default, app_metadata.posix.username)
 *   mode >> 3 & 7: the export file's pieces, as the download hands them over (1 byte .. whole)
 *   mode & 64: a members page read as the page after checkpoint "MDAwMQ"
 * Promises checked besides ASan and UBSan: each parser returns one of its documented codes with
 * a printable message; every user kept has a user_id of printable ASCII without a blank (at most
 * A0_MAX_USER_ID bytes), no string with a control byte, ids -1 or 0..2^32-1, a canonical
 * updated_at that a0_mgmt_timestamp_valid accepts; each user of a page is kept or counted as
 * skipped; a member page's next checkpoint moves; every log line is printable. Then the rules
 * (a0_sync_apply) make users and groups of what was read: every name they give passes
 * a0_identity_name_valid and the state passes a0_sync_state_check.
 */
#include "config.h"

#include <stdarg.h>
#include <syslog.h>

#include <zlib.h>

#include "lib/error.h"
#include "lib/identities.h"
#include "lib/json.h"
#include "sync/mgmt.h"
#include "sync/rules.h"
#include "tests/fuzz/fuzz.h"

/* A timestamp as the parsers keep it: YYYY-MM-DDTHH:MM:SS.mmmZ */
#define TIMESTAMP_LEN 24
#define NOW 1700000000

enum { USERS_PAGE, MEMBERS_PAGE, EXPORT, EXPORT_GZIPPED };

static const size_t piece_sizes[] = { 1, 2, 3, 7, 64, 4096, 65536, SIZE_MAX };

static void check_line(void *ctx, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A log line (parsers and rules): one line of printable text, bound for syslog. */
static void check_line(void *ctx, int priority, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	(void)ctx;
	FUZZ_CHECK(priority >= LOG_EMERG && priority <= LOG_DEBUG);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	FUZZ_CHECK(fuzz_printable(line, sizeof(line)));
}

static struct a0_config *config(bool username)
{
	static const char base[] = "domain = tenant.example.com\nclient_id = pam-native\n"
				   "users_file = /nonexistent/a0-fuzz/users\n"
				   "sync_client_id = sync-app\n"
				   "sync_connections = Username-Password-Authentication\n";
	char text[512], err[256];
	struct a0_config *cfg = NULL;

	a0_format(text, sizeof(text), "%s%s", base, username ? "name_attribute = username\n" : "");
	if (a0_config_parse_buffer(text, strlen(text), 0, NULL, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_mgmt: configuration: %s\n", err);
		abort();
	}
	return cfg;
}

/* NULL, or 1..max bytes without a control byte. */
static bool text_or_null(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return !s || (n > 0 && n <= max && a0_text_ok(s, n, A0_TEXT_LINE));
}

static void check_user(const struct a0_config *cfg, const struct a0_sync_user *u)
{
	size_t n = u->user_id ? strlen(u->user_id) : 0;

	FUZZ_CHECK(n > 0 && n <= A0_MAX_USER_ID && a0_text_ok(u->user_id, n, A0_TEXT_TOKEN));
	FUZZ_CHECK(text_or_null(u->username, A0_MGMT_MAX_STRING));
	FUZZ_CHECK(text_or_null(u->email, A0_MGMT_MAX_STRING));
	FUZZ_CHECK(text_or_null(u->posix_username, A0_MGMT_MAX_STRING));
	FUZZ_CHECK(text_or_null(u->gecos, A0_CACHE_MAX_FIELD));
	FUZZ_CHECK(u->posix_uid >= -1 && u->posix_uid <= 4294967295LL);
	FUZZ_CHECK(u->posix_gid >= -1 && u->posix_gid <= 4294967295LL);
	FUZZ_CHECK(!u->updated_at || (strlen(u->updated_at) == TIMESTAMP_LEN &&
				      a0_mgmt_timestamp_valid(u->updated_at)));
	/* name_attribute = username: the Linux name is the username the parser kept. */
	if (strcmp(cfg->name_attribute, "username") == 0)
		FUZZ_CHECK((!u->username && !u->posix_username) ||
			   (u->username && u->posix_username &&
			    strcmp(u->username, u->posix_username) == 0));
}

/* A failure: a documented code and a printable message. */
static void check_failure(int r, const char *err, size_t errlen)
{
	FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_TOO_LARGE || r == A0_ERR_NOMEM);
	FUZZ_CHECK(fuzz_printable(err, errlen));
	FUZZ_CHECK(r == A0_ERR_NOMEM || err[0]);
}

static int no(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return 0;
}

static int no_group(void *ctx, const char *name, unsigned *ret_gid)
{
	(void)ctx;
	(void)name;
	(void)ret_gid;
	return 0;
}

static int unused(void *ctx, unsigned id)
{
	(void)ctx;
	(void)id;
	return 0;
}

/* What the rules make of it, on a host with no local account. */
static void apply(const struct a0_config *cfg, struct a0_sync_user *users, size_t n_users,
		  struct a0_sync_role *roles, size_t n_roles)
{
	const struct a0_sync_local local = { no, no_group, unused, NULL };
	struct a0_sync_data d = { .users = users,
				  .n_users = n_users,
				  .roles = roles,
				  .n_roles = n_roles,
				  .full = true,
				  .fetched_at = NOW };
	struct a0_sync_state s = { 0 };
	char err[256] = "";
	int r;

	r = a0_sync_apply(cfg, &local, &d, &s, check_line, NULL);
	FUZZ_CHECK(r == 0 || r == A0_ERR_TOO_LARGE || r == A0_ERR_NOMEM);
	if (r == 0) {
		r = a0_sync_state_check(&s, err, sizeof(err));
		if (r != 0)
			fprintf(stderr, "fuzz_mgmt: state: %s\n", err);
		FUZZ_CHECK(r == 0);
		for (size_t i = 0; i < s.n_users; i++) {
			const struct a0_sync_entry *e = &s.users[i];

			FUZZ_CHECK(a0_identity_name_valid(e->name));
			FUZZ_CHECK(a0_identity_field_valid(e->user_id));
			FUZZ_CHECK(!e->login || a0_identity_field_valid(e->login));
			FUZZ_CHECK(!e->gecos ||
				   (a0_text_ok(e->gecos, strlen(e->gecos), A0_TEXT_LINE) &&
				    !strchr(e->gecos, ':')));
		}
		for (size_t i = 0; i < s.n_groups; i++)
			FUZZ_CHECK(a0_identity_name_valid(s.groups[i].name));
	}
	a0_sync_state_free(&s);
}

static void users_page(struct a0_mgmt *m, const struct a0_config *cfg, const char *body, size_t len)
{
	struct a0_mgmt_users out = { 0 };
	struct a0_mgmt_stats before, after;
	long long total = -1;
	int count = -1, r;
	char err[512] = "";
	cJSON *root = NULL;

	if (a0_json_parse(body, len, &root) < 0) /* api(): "not JSON" */
		return;
	a0_mgmt_get_stats(m, &before);
	r = a0_mgmt_parse_users_page(m, root, &out, &total, &count, err, sizeof(err));
	a0_mgmt_get_stats(m, &after);
	if (r < 0) {
		check_failure(r, err, sizeof(err));
		FUZZ_CHECK(total == -1 && count == -1);
	} else {
		FUZZ_CHECK(total >= 0 && total <= A0_CACHE_MAX_USERS * 10LL);
		FUZZ_CHECK(count >= 0 && count <= A0_MGMT_PER_PAGE);
		/* Each user of the page kept or skipped with its log line. */
		FUZZ_CHECK(out.n + (after.skipped - before.skipped) == (size_t)count);
	}
	for (size_t i = 0; i < out.n; i++)
		check_user(cfg, &out.v[i]);
	if (r == 0)
		apply(cfg, out.v, out.n, NULL, 0);
	a0_mgmt_users_free(&out);
	a0_json_free(root);
}

static void members_page(struct a0_mgmt *m, const struct a0_config *cfg, const char *body,
			 size_t len, const char *from)
{
	static char role_id[] = "rol_a0devs0000000001", role_name[] = "linux-devs";
	struct a0_sync_role role = { .id = role_id, .name = role_name };
	const char *next = NULL, *again = NULL;
	size_t cap = 0, first;
	char err[512] = "";
	cJSON *root = NULL;
	int r;

	if (a0_json_parse(body, len, &root) < 0)
		return;
	r = a0_mgmt_parse_members_page(m, root, from, &role, &cap, &next, err, sizeof(err));
	if (r < 0)
		check_failure(r, err, sizeof(err));
	FUZZ_CHECK(role.n_members <= A0_MGMT_PER_PAGE && role.n_members <= cap);
	for (size_t i = 0; i < role.n_members; i++) {
		const char *id = role.members[i];
		size_t n = strlen(id);

		FUZZ_CHECK(n > 0 && n <= A0_MAX_USER_ID && a0_text_ok(id, n, A0_TEXT_TOKEN));
	}
	if (r == 0 && next) {
		FUZZ_CHECK(next[0] && strlen(next) <= A0_MGMT_MAX_STRING);
		FUZZ_CHECK(!from || strcmp(from, next) != 0);
		/* The same page again after that checkpoint: paging must move. */
		first = role.n_members;
		err[0] = '\0';
		r = a0_mgmt_parse_members_page(m, root, next, &role, &cap, &again, err,
					       sizeof(err));
		FUZZ_CHECK(r == A0_ERR_MALFORMED || r == A0_ERR_NOMEM);
		check_failure(r, err, sizeof(err));
		FUZZ_CHECK(role.n_members == 2 * first || r == A0_ERR_NOMEM);
	}
	if (r == 0) {
		static char user_id[] = "auth0|a0fuzz0001", name[] = "a0fuzz";
		struct a0_sync_user u = {
			.user_id = user_id, .posix_username = name, .posix_uid = -1, .posix_gid = -1
		};

		apply(cfg, &u, 1, &role, 1);
	}
	for (size_t i = 0; i < role.n_members; i++)
		free(role.members[i]);
	free(role.members);
	a0_json_free(root);
}

/* body gzipped, in one gzip member or two; NULL when zlib fails (no memory). */
static unsigned char *gzip(const char *body, size_t len, bool two, size_t *ret_len)
{
	size_t cap = 2 * (len + 64) + 64, used = 0, half = two ? len / 2 : len;
	unsigned char *out = malloc(cap);

	if (!out)
		return NULL;
	for (int part = 0; part < (two ? 2 : 1); part++) {
		z_stream z = { 0 };
		int e;

		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(out);
			return NULL;
		}
		z.next_in = (unsigned char *)(uintptr_t)(part ? body + half : body);
		z.avail_in = (uInt)(part ? len - half : half);
		z.next_out = out + used;
		z.avail_out = (uInt)(cap - used);
		e = deflate(&z, Z_FINISH);
		used = cap - z.avail_out;
		deflateEnd(&z);
		if (e != Z_STREAM_END) {
			free(out);
			return NULL;
		}
	}
	*ret_len = used;
	return out;
}

static void export_file(struct a0_mgmt *m, const struct a0_config *cfg, const char *data,
			size_t len, size_t piece)
{
	struct a0_mgmt_users out = { 0 };
	struct a0_mgmt_export *x = NULL;
	char err[512] = "";
	int r;

	r = a0_mgmt_export_new(m, &out, err, sizeof(err), &x);
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_NOMEM);
		return;
	}
	for (size_t off = 0; r == 0 && off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		r = a0_mgmt_export_feed(x, data + off, n);
	}
	if (r == 0)
		r = a0_mgmt_export_end(x);
	a0_mgmt_export_free(x);
	if (r < 0)
		check_failure(r, err, sizeof(err));
	FUZZ_CHECK(out.n <= A0_CACHE_MAX_USERS);
	for (size_t i = 0; i < out.n; i++)
		check_user(cfg, &out.v[i]);
	if (r == 0)
		apply(cfg, out.v, out.n, NULL, 0);
	a0_mgmt_users_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct a0_config *cfgs[2];
	static struct a0_mgmt *clients[2];
	const char *body = (const char *)data + 1;
	const struct a0_config *cfg;
	struct a0_mgmt *m;
	unsigned mode;
	size_t len;

	if (size < 1)
		return 0;
	mode = data[0];
	len = size - 1;
	if (!cfgs[0]) {
		for (int i = 0; i < 2; i++)
			if (!(cfgs[i] = config(i == 1)) ||
			    a0_mgmt_new_parser(cfgs[i], check_line, NULL, &clients[i]) != 0)
				abort();
	}
	cfg = cfgs[(mode & 4) ? 1 : 0];
	m = clients[(mode & 4) ? 1 : 0];
	switch (mode & 3) {
	case USERS_PAGE:
		users_page(m, cfg, body, len);
		break;
	case MEMBERS_PAGE:
		members_page(m, cfg, body, len, (mode & 64) ? "MDAwMQ" : NULL);
		break;
	case EXPORT:
		export_file(m, cfg, body, len, piece_sizes[(mode >> 3) & 7]);
		break;
	case EXPORT_GZIPPED: {
		size_t zlen = 0;
		unsigned char *z = gzip(body, len, (mode & 64) != 0, &zlen);

		if (z)
			export_file(m, cfg, (const char *)z, zlen, piece_sizes[(mode >> 3) & 7]);
		free(z);
		break;
	}
	}
	return 0;
}
