/* SPDX-License-Identifier: MIT */
/* The identities file (lib/identities.h): written by auth0-sync, read by the PAM module. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/identities.h"
#include "lib/util.h"

#define HEADER "# pam_auth0 identities format=1 generated="
#define N_FIELDS 6
/* Longest line: the fixed fields, and every role with its comma. */
#define MAX_LINE                                                 \
	(A0_IDENTITY_MAX_NAME + 2 * A0_IDENTITY_MAX_FIELD + 16 + \
	 A0_IDENTITY_MAX_ROLES * (A0_IDENTITY_MAX_ROLE + 1))

static const char *const state_names[] = {
	[A0_IDENTITY_ACTIVE] = "active",
	[A0_IDENTITY_BLOCKED] = "blocked",
	[A0_IDENTITY_DELETED] = "deleted",
};

bool a0_identity_name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;

		if (n == A0_IDENTITY_MAX_NAME)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* "-" stands for none in the file. */
bool a0_identity_field_valid(const char *s)
{
	size_t n = s ? strnlen(s, A0_IDENTITY_MAX_FIELD + 1) : 0;

	return n > 0 && n <= A0_IDENTITY_MAX_FIELD && a0_text_ok(s, n, A0_TEXT_TOKEN) &&
	       strcmp(s, "-") != 0;
}

/* A role's name: no control byte, no ',' (the separator), not "-", not empty. */
static bool role_ok(const char *s, size_t n)
{
	return n > 0 && n <= A0_IDENTITY_MAX_ROLE && a0_text_ok(s, n, A0_TEXT_LINE) &&
	       !memchr(s, ',', n) && !(n == 1 && s[0] == '-');
}

bool a0_identity_role_valid(const char *role)
{
	return role && role_ok(role, strnlen(role, A0_IDENTITY_MAX_ROLE + 1));
}

static int check_identity(const struct a0_identity *id, char *err, size_t errlen)
{
	const char *what = NULL;

	if (!a0_identity_name_valid(id->name))
		what = "name";
	else if (!a0_identity_field_valid(id->user_id))
		what = "user_id";
	else if (id->login && !a0_identity_field_valid(id->login))
		what = "login";
	else if ((unsigned)id->state >= A0_ARRAY_SIZE(state_names))
		what = "state";
	else if (id->n_roles > A0_IDENTITY_MAX_ROLES)
		what = "roles";
	for (size_t i = 0; !what && i < id->n_roles; i++)
		if (!a0_identity_role_valid(id->roles[i]))
			what = "role";
	if (!what)
		return 0;
	/* The name is shown only when it is valid: it may be what is wrong. */
	a0_format(err, errlen, "identity %s: invalid %s",
		  a0_identity_name_valid(id->name) ? id->name : "?", what);
	return A0_ERR_INVALID;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every name once: sorted copies of the pointers, neighbours compared. */
static int check_unique(const struct a0_identity *ids, size_t n, char *err, size_t errlen)
{
	const char **names;
	int r = 0;

	if (n < 2)
		return 0;
	names = malloc(n * sizeof(*names));
	if (!names)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		names[i] = ids[i].name;
	a0_sort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n && r == 0; i++)
		if (strcmp(names[i - 1], names[i]) == 0) {
			a0_format(err, errlen, "identity %s: named twice", names[i]);
			r = A0_ERR_INVALID;
		}
	free(names);
	return r;
}

static void print_identity(FILE *f, const struct a0_identity *id)
{
	fprintf(f, "%s\t%s\t%s\t%s\t", id->name, id->user_id, state_names[id->state],
		id->login ? id->login : "-");
	if (id->n_roles == 0)
		fputc('-', f);
	for (size_t i = 0; i < id->n_roles; i++)
		fprintf(f, "%s%s", i ? "," : "", id->roles[i]);
	fprintf(f, "\t%d\n", id->local ? 1 : 0);
}

int a0_identities_write(const char *path, const struct a0_identity *ids, size_t n, time_t generated,
			gid_t reader, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = check_identity(&ids[i], err, errlen);
	if (r == 0)
		r = check_unique(ids, n, err, errlen);
	if (r < 0)
		return r;
	f = open_memstream(&text, &len);
	if (!f)
		return A0_ERR_NOMEM;
	fprintf(f, HEADER "%" PRId64 "\n", (int64_t)generated);
	for (size_t i = 0; i < n; i++)
		print_identity(f, &ids[i]);
	if (ferror(f)) {
		(void)fclose(f);
		r = A0_ERR_NOMEM;
		goto out;
	}
	if (fclose(f) != 0) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	if (len > (size_t)A0_IDENTITIES_MAX_BYTES) {
		a0_format(err, errlen, "%s: more than %ld bytes", path, A0_IDENTITIES_MAX_BYTES);
		r = A0_ERR_INVALID;
		goto out;
	}
	if (a0_replace_file_group(path, text, len, reader == (gid_t)-1 ? 0600 : 0640, reader) < 0) {
		a0_format(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		r = A0_ERR_SYSTEM;
	}
out:
	free(text);
	return r;
}

void a0_identity_clear(struct a0_identity *id)
{
	if (!id)
		return;
	free(id->name);
	free(id->user_id);
	free(id->login);
	for (size_t i = 0; id->roles && i < id->n_roles; i++)
		free(id->roles[i]);
	free(id->roles);
	memset(id, 0, sizeof(*id));
}

static int bad(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(what, sizeof(what), fmt, ap);
	va_end(ap);
	a0_format(err, errlen, "%s: %s", path, what);
	return A0_ERR_CONFIG;
}

/* The header line "# ... generated=N\n" at the start of the len bytes of text. */
static int parse_header(const char *text, size_t len, time_t *ret)
{
	size_t h = sizeof(HEADER) - 1, i;
	int64_t v = 0;

	if (len < h || memcmp(text, HEADER, h) != 0)
		return A0_ERR_MALFORMED;
	for (i = h; i < len && text[i] >= '0' && text[i] <= '9' && i - h < 18; i++)
		v = v * 10 + (text[i] - '0');
	if (i == h || i == len || text[i] != '\n' || (text[h] == '0' && i - h > 1))
		return A0_ERR_MALFORMED;
	*ret = (time_t)v;
	return 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Split "a,b,c" (n bytes) into ret; "-" is none. */
static int parse_roles(const char *s, size_t n, struct a0_identity *ret)
{
	size_t count = 1;

	if (n == 1 && s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		count += s[i] == ',';
	if (count > A0_IDENTITY_MAX_ROLES)
		return A0_ERR_MALFORMED;
	ret->roles = calloc(count, sizeof(*ret->roles));
	if (!ret->roles)
		return A0_ERR_NOMEM;
	for (const char *p = s, *end = s + n; ret->n_roles < count;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t k = c ? (size_t)(c - p) : (size_t)(end - p);

		if (!role_ok(p, k))
			return A0_ERR_MALFORMED;
		if (!(ret->roles[ret->n_roles++] = dup_n(p, k)))
			return A0_ERR_NOMEM;
		p += k + 1;
	}
	return 0;
}

/* One line (without its newline) into ret: A0_ERR_MALFORMED or A0_ERR_NOMEM. */
static int parse_line(const char *line, size_t n, struct a0_identity *ret)
{
	const char *f[N_FIELDS];
	size_t len[N_FIELDS], k = 0;
	const char *p = line, *end = line + n;
	int r;

	if (n > MAX_LINE)
		return A0_ERR_MALFORMED;
	for (k = 0; k < N_FIELDS; k++) {
		const char *t = memchr(p, '\t', (size_t)(end - p));

		f[k] = p;
		len[k] = t ? (size_t)(t - p) : (size_t)(end - p);
		if (!t && k != N_FIELDS - 1)
			return A0_ERR_MALFORMED;
		if (t && k == N_FIELDS - 1)
			return A0_ERR_MALFORMED;
		p = t ? t + 1 : end;
	}
	/* name: the caller found it; user_id and login: tokens; the state; local: 0 or 1. */
	if (len[1] == 0 || len[1] > A0_IDENTITY_MAX_FIELD ||
	    !a0_text_ok(f[1], len[1], A0_TEXT_TOKEN))
		return A0_ERR_MALFORMED;
	if (len[3] == 0 || len[3] > A0_IDENTITY_MAX_FIELD ||
	    !a0_text_ok(f[3], len[3], A0_TEXT_TOKEN))
		return A0_ERR_MALFORMED;
	for (k = 0; k < A0_ARRAY_SIZE(state_names); k++)
		if (len[2] == strlen(state_names[k]) && memcmp(f[2], state_names[k], len[2]) == 0)
			break;
	if (k == A0_ARRAY_SIZE(state_names))
		return A0_ERR_MALFORMED;
	ret->state = (enum a0_identity_state)k;
	if (len[5] != 1 || (f[5][0] != '0' && f[5][0] != '1'))
		return A0_ERR_MALFORMED;
	ret->local = f[5][0] == '1';
	if (!(ret->name = dup_n(f[0], len[0])) || !(ret->user_id = dup_n(f[1], len[1])))
		return A0_ERR_NOMEM;
	if (!(len[3] == 1 && f[3][0] == '-') && !(ret->login = dup_n(f[3], len[3])))
		return A0_ERR_NOMEM;
	r = parse_roles(f[4], len[4], ret);
	return r;
}

/* Find "\n<name>\t" in the mapped text: the line of name, once. */
static int find_line(const char *text, size_t len, const char *name, const char **ret,
		     size_t *ret_len)
{
	char needle[A0_IDENTITY_MAX_NAME + 3];
	size_t nl = (size_t)snprintf(needle, sizeof(needle), "\n%s\t", name);
	const char *hit, *again, *eol;

	hit = memmem(text, len, needle, nl);
	if (!hit)
		return A0_ERR_NOT_FOUND;
	hit++;
	again = memmem(hit, len - (size_t)(hit - text), needle, nl);
	if (again)
		return A0_ERR_MALFORMED;
	eol = memchr(hit, '\n', len - (size_t)(hit - text));
	if (!eol)
		return A0_ERR_MALFORMED; /* every line ends with a newline */
	*ret = hit;
	*ret_len = (size_t)(eol - hit);
	return 0;
}

int a0_identities_find(const char *path, const char *name, struct a0_identity *ret,
		       time_t *ret_generated, char *err, size_t errlen)
{
	struct a0_identity id = { 0 };
	const char *line = NULL;
	void *map = MAP_FAILED;
	size_t len = 0, line_len = 0;
	struct stat st;
	time_t generated;
	int fd, r;

	if (!a0_identity_name_valid(name))
		return A0_ERR_NOT_FOUND;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? A0_ERR_NOT_FOUND
				       : bad(err, errlen, path, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = bad(err, errlen, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = bad(err, errlen, path, "not a regular file");
		goto out;
	}
	/* It names every synced user and says who is blocked: root's alone. */
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IRWXO))) {
		r = bad(err, errlen, path,
			"must be owned by root, not writable by its group nor open to others");
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > A0_IDENTITIES_MAX_BYTES) {
		r = bad(err, errlen, path, "size %lld is not 1..%ld bytes", (long long)st.st_size,
			A0_IDENTITIES_MAX_BYTES);
		goto out;
	}
	len = (size_t)st.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		r = errno == ENOMEM ? A0_ERR_NOMEM
				    : bad(err, errlen, path, "cannot map: %s", strerror(errno));
		goto out;
	}
	if (parse_header(map, len, &generated) < 0) {
		r = bad(err, errlen, path, "not an identities file (header)");
		goto out;
	}
	r = find_line(map, len, name, &line, &line_len);
	if (r == A0_ERR_MALFORMED) {
		r = bad(err, errlen, path, "'%s' is named twice, or its line has no end", name);
		goto out;
	}
	if (r < 0)
		goto out;
	r = parse_line(line, line_len, &id);
	if (r == A0_ERR_MALFORMED)
		r = bad(err, errlen, path, "the line of '%s' is malformed", name);
	if (r < 0)
		goto out;
	*ret = id;
	memset(&id, 0, sizeof(id));
	if (ret_generated)
		*ret_generated = generated;
out:
	a0_identity_clear(&id);
	if (map != MAP_FAILED)
		(void)munmap(map, len);
	(void)close(fd);
	return r;
}
