/* SPDX-License-Identifier: MIT */
/*
 * admin/nsswitch.c: auth0-pam nsswitch enable|disable (auth0-pam(8)): the auth0 source (nss-auth0(8))
 * added to or removed from the passwd, group and (when there is one) initgroups lines of
 * /etc/nsswitch.conf, every other byte kept, written atomically with the file's owner and mode.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin/host.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"

#define NSS_DIR "/etc"
#define NSS_NAME "nsswitch.conf"
#define NSS_PATH NSS_DIR "/" NSS_NAME
#define MAX_NSS_FILE (64 * 1024)
#define SOURCE "auth0"

static const char *const databases[] = { "passwd", "group", "initgroups" };

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Where the sources of line (len bytes) start, if it is database db's: after the colon. */
static const char *sources_of(const char *line, size_t len, const char *db)
{
	const char *p = line, *end = line + len;
	size_t n = strlen(db);

	while (p < end && blank(*p))
		p++;
	if ((size_t)(end - p) < n || strncmp(p, db, n) != 0)
		return NULL;
	p += n;
	while (p < end && blank(*p))
		p++;
	return p < end && *p == ':' ? p + 1 : NULL;
}

/* The end of the source word (and its [ACTION] items) at p, before end or a comment. */
static const char *after_source(const char *p, const char *end)
{
	while (p < end && !blank(*p) && *p != '#' && *p != '[')
		p++;
	for (;;) {
		const char *q = p;

		while (q < end && blank(*q))
			q++;
		if (q >= end || *q != '[')
			return p;
		q = memchr(q, ']', (size_t)(end - q));
		if (!q)
			return end;
		p = q + 1;
	}
}

/*
 * The line (len bytes, no line end) edited into b: auth0 added after files (else after the first
 * source, else after the colon), or removed with the blanks before it. *ret_changed when it
 * differs.
 */
static int edit_line(const char *line, size_t len, const char *src, bool enable, struct a0_buf *b,
		     bool *ret_changed)
{
	const char *end = line + len, *p, *first = NULL, *files = NULL, *cut = NULL,
		   *cut_end = NULL, *insert;
	const char *comment = memchr(src, '#', (size_t)(end - src));
	int r;

	if (comment)
		end = comment;
	for (p = src; p < end;) {
		const char *word, *after;
		size_t n;

		while (p < end && blank(*p))
			p++;
		if (p >= end)
			break;
		word = p;
		for (n = 0; word + n < end && !blank(word[n]) && word[n] != '[';)
			n++;
		after = after_source(word, end);
		if (n == strlen(SOURCE) && strncmp(word, SOURCE, n) == 0) {
			if (enable)
				return a0_buf_append(b, line, len); /* there already */
			cut = word;
			while (cut > src && blank(cut[-1]))
				cut--;
			cut_end = after;
		} else if (n > 0) {
			if (!first)
				first = after;
			if (!files && n == 5 && strncmp(word, "files", 5) == 0)
				files = after;
		}
		p = after > p ? after : p + 1;
	}
	if (!enable && !cut)
		return a0_buf_append(b, line, len);
	*ret_changed = true;
	if (!enable) {
		if ((r = a0_buf_append(b, line, (size_t)(cut - line))) == 0)
			r = a0_buf_append(b, cut_end, (size_t)(line + len - cut_end));
		return r;
	}
	insert = files ? files : first ? first : src;
	if ((r = a0_buf_append(b, line, (size_t)(insert - line))) == 0 &&
	    (r = a0_buf_append(b, " " SOURCE, strlen(SOURCE) + 1)) == 0)
		r = a0_buf_append(b, insert, (size_t)(line + len - insert));
	return r;
}

/* The whole text edited into b; *ret_changed when anything changed. */
static int edit_text(const char *text, size_t len, bool enable, struct a0_buf *b, bool *ret_changed)
{
	bool seen[A0_ARRAY_SIZE(databases)] = { false };
	const char *line = text, *end = text + len;
	int r = a0_buf_append(b, "", 0);

	while (r == 0 && line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *src = NULL;

		for (size_t i = 0; i < A0_ARRAY_SIZE(databases) && !src; i++)
			if (!seen[i] && (src = sources_of(line, n, databases[i])))
				seen[i] = true; /* glibc reads the first line of a database */
		r = src ? edit_line(line, n, src, enable, b, ret_changed)
			: a0_buf_append(b, line, n);
		if (r == 0 && nl)
			r = a0_buf_append(b, "\n", 1);
		line += n + (nl ? 1 : 0);
	}
	return r;
}

/* The changed lines, as a diff an administrator reads, or into the JSON array changes. */
static bool diff(const char *a, size_t alen, const char *b, size_t blen, cJSON *changes)
{
	const char *pa = a, *pb = b, *ea = a + alen, *eb = b + blen;
	unsigned lineno = 1;
	bool ok = true;

	if (!changes)
		printf("--- %s\n+++ %s (after)\n", NSS_PATH, NSS_PATH);
	while (ok && (pa < ea || pb < eb)) {
		const char *na = memchr(pa, '\n', (size_t)(ea - pa)),
			   *nb = memchr(pb, '\n', (size_t)(eb - pb));
		size_t la = na ? (size_t)(na - pa) : (size_t)(ea - pa),
		       lb = nb ? (size_t)(nb - pb) : (size_t)(eb - pb);

		/* lines correspond one to one: only sources change within a line */
		if ((la != lb || memcmp(pa, pb, la) != 0) && changes) {
			cJSON *o = cJSON_CreateObject();
			char *before = strndup(pa, la), *after = strndup(pb, lb);

			ok = o && before && after && cJSON_AddItemToArray(changes, o);
			if (!ok)
				cJSON_Delete(o);
			ok = ok && cJSON_AddNumberToObject(o, "line", lineno) &&
			     cJSON_AddStringToObject(o, "before", before) &&
			     cJSON_AddStringToObject(o, "after", after);
			free(before);
			free(after);
		} else if (la != lb || memcmp(pa, pb, la) != 0) {
			printf("@@ -%u +%u @@\n-%.*s\n+%.*s\n", lineno, lineno, (int)la, pa,
			       (int)lb, pb);
		}
		pa += la + (na ? 1 : 0);
		pb += lb + (nb ? 1 : 0);
		lineno++;
	}
	return ok;
}

static int print_json(bool changed, bool written, bool dry_run, const char *a, size_t alen,
		      const char *b, size_t blen)
{
	cJSON *doc = cJSON_CreateObject(), *changes = NULL;
	char *text = NULL;
	bool ok = doc && cJSON_AddStringToObject(doc, "file", NSS_PATH) &&
		  cJSON_AddBoolToObject(doc, "changed", changed) &&
		  cJSON_AddBoolToObject(doc, "dry_run", dry_run) &&
		  cJSON_AddBoolToObject(doc, "written", written) &&
		  (changes = cJSON_AddArrayToObject(doc, "changes"));

	ok = ok && (!changed || diff(a, alen, b, blen, changes)) && (text = cJSON_Print(doc));
	if (ok)
		puts(text);
	else
		fprintf(stderr, "auth0-pam: out of memory\n");
	cJSON_free(text);
	cJSON_Delete(doc);
	return ok ? 0 : A0_ERR_NOMEM;
}

/* Replace the file with text: a temporary file in the same directory, the old one's owner and
 * mode, fsync, rename, fsync of the directory. */
static int replace(const char *root, const char *text, size_t len)
{
	char tmp[64];
	struct stat st;
	int dfd, fd = -1, r = A0_ERR_SYSTEM;

	if ((dfd = a0_host_open(root, NSS_DIR, O_RDONLY | O_DIRECTORY)) < 0) {
		fprintf(stderr, "auth0-pam: %s: %s\n", NSS_DIR, strerror(errno));
		return A0_ERR_SYSTEM;
	}
	a0_format(tmp, sizeof(tmp), ".%s.auth0-pam-%ld", NSS_NAME, (long)getpid());
	if (fstatat(dfd, NSS_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "auth0-pam: %s: not a regular file\n", NSS_PATH);
		goto out;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || a0_write_full(fd, text, len) < 0 || fchown(fd, st.st_uid, st.st_gid) < 0 ||
	    fchmod(fd, st.st_mode & 07777) < 0 || fsync(fd) < 0 ||
	    renameat(dfd, tmp, dfd, NSS_NAME) < 0) {
		fprintf(stderr, "auth0-pam: %s: cannot write: %s\n", NSS_PATH, strerror(errno));
		if (fd >= 0)
			(void)unlinkat(dfd, tmp, 0);
		goto out;
	}
	(void)fsync(dfd);
	r = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	(void)close(dfd);
	return r;
}

int a0_nsswitch_edit(const char *root, bool enable, bool dry_run, bool json)
{
	struct a0_buf b = { .max = MAX_NSS_FILE * 2 };
	char *text = NULL;
	size_t len = 0;
	bool changed = false;
	int r;

	if (a0_host_read(root, NSS_PATH, MAX_NSS_FILE, true, &text, &len) < 0) {
		fprintf(stderr, "auth0-pam: %s: %s\n", NSS_PATH,
			errno == ELOOP ? "a symbolic link: edit the file it names"
				       : strerror(errno));
		return errno == ENOENT || errno == ELOOP || errno == EFBIG ? A0_ERR_CONFIG
									   : A0_ERR_SYSTEM;
	}
	if ((r = edit_text(text, len, enable, &b, &changed)) < 0) {
		fprintf(stderr, "auth0-pam: out of memory\n");
		goto out;
	}
	if (!changed || dry_run) {
		if (json)
			r = print_json(changed, false, dry_run, text, len, b.data, b.len);
		else if (!changed)
			printf("nsswitch: nothing to do (%s %s auth0)\n", NSS_PATH,
			       enable ? "already lists" : "does not list");
		else if (diff(text, len, b.data, b.len, NULL))
			printf("nsswitch: dry run, nothing written\n");
		goto out;
	}
	if ((r = replace(root, b.data, b.len)) == 0 && json)
		r = print_json(true, true, false, text, len, b.data, b.len);
	else if (r == 0)
		printf("nsswitch: %s auth0 %s the passwd and group lines of %s\n",
		       enable ? "added" : "removed", enable ? "to" : "from", NSS_PATH);
out:
	a0_buf_free(&b);
	free(text);
	return r;
}
