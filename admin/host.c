/* SPDX-License-Identifier: MIT */
/*
 * admin/host.c: reading the host's files under --root (openat2's RESOLVE_IN_ROOT: symbolic links
 * and ".." resolve inside the root), the configuration as check and status load it, and check's
 * rules on the files the configuration names (owners, modes). auth0-pam(8), DIAGNOSTICS.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "admin/host.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "lib/util.h"

#define MAX_CONFIG_TEXT (64 * 1024) /* lib/conf.c's MAX_FILE: the loader refuses more */
#define MAX_DROPINS 64              /* lib/conf.c's bound */
#define MAX_SECRET_SIZE (64 * 1024) /* a secret or PEM key file read for the tenant checks */
#define BROKER_USER "auth0-broker"  /* broker/auth0-broker.service.in: User= */
#define MAX_MESSAGE 1024

static bool rooted(const char *root)
{
	return root && *root && strcmp(root, "/") != 0;
}

int a0_host_open(const char *root, const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT };
	int dfd, fd, e;

	if (!rooted(root))
		return open(path, flags | O_CLOEXEC);
	if ((dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		/* Before Linux 5.6: the joined path (links may then leave the root). */
		char buf[A0_HOST_MAX_PATH];

		if (a0_host_join(root, path, buf, sizeof(buf)) < 0)
			errno = ENAMETOOLONG;
		else
			fd = open(buf, flags | O_CLOEXEC);
	}
	e = errno;
	(void)close(dfd);
	errno = e;
	return fd;
}

int a0_host_join(const char *root, const char *path, char *buf, size_t size)
{
	int n;

	if (!rooted(root))
		n = snprintf(buf, size, "%s", path);
	else
		n = snprintf(buf, size, "%s%s%s", root, *path == '/' ? "" : "/", path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int a0_host_read(const char *root, const char *path, size_t max, bool nofollow, char **ret,
		 size_t *ret_len)
{
	struct a0_buf b = { .max = max };
	struct stat st;
	char chunk[4096];
	ssize_t n = 0;
	int fd, e = 0;

	fd = a0_host_open(root, path,
			  O_RDONLY | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	if (!e && a0_buf_append(&b, "", 0) < 0)
		e = ENOMEM;
	while (!e && (n = a0_read_full(fd, chunk, sizeof(chunk))) > 0) {
		int r = a0_buf_append(&b, chunk, (size_t)n);

		if (r < 0)
			e = r == A0_ERR_TOO_LARGE ? EFBIG : ENOMEM;
	}
	if (!e && n < 0)
		e = errno;
	if (!e && memchr(b.data, '\0', b.len))
		e = EINVAL;
	(void)close(fd);
	if (e) {
		a0_buf_free(&b);
		errno = e;
		return -1;
	}
	*ret_len = b.len;
	*ret = a0_buf_steal(&b);
	return 0;
}

/* ------------------------------------------------------------------ the configuration */

/* "root's, writable by nobody else" for a configuration file or directory: NULL, or why not. */
static const char *unsafe_config(const struct stat *st, bool dir)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return dir ? "not a directory" : "not a regular file";
	if (st->st_uid != 0)
		return "not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

/* stat path under root without following a last symbolic link: 0, or -1 with errno. */
static int host_lstat(const char *root, const char *path, struct stat *st)
{
	int fd = a0_host_open(root, path, O_PATH | O_NOFOLLOW), e;

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		e = errno;
		(void)close(fd);
		errno = e;
		return -1;
	}
	(void)close(fd);
	return 0;
}

/* The owner and mode of a configuration file or directory (check only). */
static void config_mode(const char *root, const char *path, bool dir, struct a0_report *r)
{
	struct stat st;
	const char *why;

	if (host_lstat(root, path, &st) < 0) {
		if (errno != ENOENT)
			a0_report_add(r, A0_SEV_WARNING, "file-unreadable", path,
				      "cannot check it: %s", strerror(errno));
		return;
	}
	if (S_ISLNK(st.st_mode))
		why = "a symbolic link (the module refuses to follow it)";
	else
		why = unsafe_config(&st, dir);
	if (why)
		a0_report_add(r, A0_SEV_FAILURE, "config-mode", path,
			      "%s: it must be root's and writable by root only (owner %lu, mode %04o)",
			      why, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
	else
		a0_report_add(r, A0_SEV_OK, "config-mode", path, "root's, mode %04o",
			      (unsigned)(st.st_mode & 07777));
}

static int dropin_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Append file's text (read under root) to b, on a line of its own. */
static int append_file(const char *root, const char *path, struct a0_buf *b, char *err,
		       size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (a0_host_read(root, path, MAX_CONFIG_TEXT, true, &text, &len) < 0) {
		a0_format(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return A0_ERR_CONFIG;
	}
	r = a0_buf_append(b, text, len);
	if (r == 0 && len && text[len - 1] != '\n')
		r = a0_buf_append(b, "\n", 1);
	free(text);
	if (r == A0_ERR_TOO_LARGE)
		a0_format(err, errlen, "%s and its drop-ins: larger than %d bytes", path,
			  MAX_CONFIG_TEXT);
	return r == A0_ERR_TOO_LARGE ? A0_ERR_CONFIG : r;
}

/*
 * The drop-in directory of config, as lib/conf.c's load() names it (PATH.d). Keep the two in
 * step: the loader's rule is the one the module follows.
 */
/*
 * The main file and its drop-ins read under root and joined, then parsed as one text (no file
 * the configuration names is read): what the module's configuration would be on that host.
 */
static int load_joined(const char *root, const char *config, bool files, struct a0_report *r,
		       struct a0_config **ret, char *err, size_t errlen)
{
	struct a0_buf b = { .max = MAX_CONFIG_TEXT };
	struct dirent **names = NULL;
	char dir[A0_HOST_MAX_PATH], path[A0_HOST_MAX_PATH], arg[A0_HOST_MAX_PATH + 8];
	const char *argv[1] = { arg };
	int n = -1, fd, rc;

	if (a0_config_dropins_dir(config, dir, sizeof(dir)) < 0 ||
	    snprintf(arg, sizeof(arg), "config=%s", config) >= (int)sizeof(arg)) {
		a0_format(err, errlen, "%s: path too long", config);
		return A0_ERR_CONFIG;
	}
	if (files) {
		config_mode(root, config, false, r);
		config_mode(root, dir, true, r);
	}
	if ((rc = a0_buf_append(&b, "", 0)) < 0 ||
	    (rc = append_file(root, config, &b, err, errlen)) < 0)
		goto out;
	if ((fd = a0_host_open(root, dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		char fdpath[64];

		/* scandir over the descriptor: the directory as resolved under root */
		a0_format(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		n = scandir(fdpath, &names, dropin_filter, alphasort);
		(void)close(fd);
	}
	if (n > MAX_DROPINS) {
		a0_format(err, errlen, "%s: more than %d drop-in files", dir, MAX_DROPINS);
		rc = A0_ERR_CONFIG;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) <
				       (int)sizeof(path)) {
			if (files)
				config_mode(root, path, false, r);
			rc = append_file(root, path, &b, err, errlen);
		}
		free(names[i]);
	}
	if (rc == 0)
		rc = a0_config_parse_buffer(b.data, b.len, 1, argv, ret, err, errlen);
out:
	free(names);
	a0_buf_free(&b);
	return rc;
}

int a0_check_load(const char *root, const char *config, bool files, struct a0_report *r,
		  struct a0_config **ret)
{
	char err[MAX_MESSAGE] = "", err2[MAX_MESSAGE] = "", arg[A0_HOST_MAX_PATH + 8];
	const char *argv[1] = { arg };
	struct a0_config *cfg = NULL, *joined = NULL;
	int rc, rj;

	if (!config)
		config = A0_DEFAULT_CONFIG;
	a0_report_set(r, "configuration", "%s", config);
	if (!rooted(root)) {
		/* The module's own loader, as a login would run it. */
		if (snprintf(arg, sizeof(arg), "config=%s", config) >= (int)sizeof(arg))
			return A0_ERR_CONFIG;
		rc = a0_config_load(1, argv, &cfg, err, sizeof(err));
		if (rc == A0_ERR_NOMEM)
			return rc;
	} else {
		rc = A0_ERR_CONFIG; /* the loader would read the files it names on this host */
	}
	/* The joined reading: the owners and modes, and a configuration for the other checks
	 * when the loader refused one of the files it names (they are checked one by one). */
	rj = load_joined(root, config, files, r, &joined, err2, sizeof(err2));
	if (rj == A0_ERR_NOMEM) {
		a0_config_free(cfg);
		return rj;
	}
	if (rc == 0) {
		a0_config_free(joined);
		a0_report_add(r, A0_SEV_OK, "config-load", config, "the configuration loads");
		*ret = cfg;
		return 0;
	}
	if (rj < 0) {
		a0_report_add(r, A0_SEV_FAILURE, "config-load", config, "does not load: %s",
			      rooted(root) ? err2 : err);
		return A0_ERR_CONFIG;
	}
	if (!rooted(root))
		a0_report_add(r, A0_SEV_FAILURE, "config-load", config, "the module refuses it: %s",
			      err);
	else
		a0_report_add(r, A0_SEV_OK, "config-load", config,
			      "the configuration parses (the files it names are checked below)");
	*ret = joined;
	return 0;
}

int a0_check_reroot(struct a0_config *cfg, const char *root)
{
	char **p, buf[A0_HOST_MAX_PATH];
	const char *key;

	if (!rooted(root))
		return 0;
	for (size_t i = 0; (p = a0_config_path_setting(cfg, i, &key)); i++) {
		/* shell is a path in the users' sessions, not a file check reads */
		if (!*p || strcmp(key, "shell") == 0)
			continue;
		if (a0_host_join(root, *p, buf, sizeof(buf)) < 0)
			return A0_ERR_CONFIG;
		if (a0_strdup_into(p, buf) < 0)
			return A0_ERR_NOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------ the files it names */

struct secret_key {
	const char *key;
	size_t offset; /* of the char * in struct a0_config */
	bool broker;   /* auth0-broker(8) reads it as its own user */
	bool one_line;
};

#define SECRET(name, broker, one_line)                                    \
	{                                                                 \
#name, offsetof(struct a0_config, name), broker, one_line \
	}

static const struct secret_key secrets[] = {
	SECRET(client_secret_file, true, true),
	SECRET(client_private_key_file, true, false),
	SECRET(broker_api_client_secret_file, true, true),
	SECRET(sync_client_secret_file, false, true),
	SECRET(sync_private_key_file, false, false),
	SECRET(host_key_file, false, false),
};

static bool broker_owns(uid_t uid)
{
	struct passwd *pw = getpwnam(BROKER_USER);

	return pw && pw->pw_uid == uid;
}

static void check_secret(const char *root, const struct secret_key *k, const char *path,
			 struct a0_report *r)
{
	struct stat st;

	if (host_lstat(root, path, &st) < 0) {
		if (errno == ENOENT && strcmp(k->key, "host_key_file") == 0)
			a0_report_add(r, A0_SEV_INFO, "secret-missing", path,
				      "%s: not there yet (made 0600 at the first login that keeps "
				      "an offline verifier)",
				      k->key);
		else if (errno == ENOENT)
			a0_report_add(r, A0_SEV_FAILURE, "secret-missing", path,
				      "%s: the file does not exist", k->key);
		else
			a0_report_add(r, A0_SEV_WARNING, "file-unreadable", path,
				      "%s: cannot check it: %s", k->key, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode))
		a0_report_add(r, A0_SEV_FAILURE, "secret-mode", path,
			      "%s: %s: it must be a regular file", k->key,
			      S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
	else if (st.st_uid != 0 && !(k->broker && broker_owns(st.st_uid)))
		a0_report_add(r, A0_SEV_FAILURE, "secret-mode", path,
			      "%s: owned by uid %lu: it must be root's%s", k->key,
			      (unsigned long)st.st_uid, k->broker ? " (or " BROKER_USER "'s)" : "");
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		a0_report_add(r, A0_SEV_FAILURE, "secret-mode", path,
			      "%s: mode %04o lets %s read it: chmod 0600", k->key,
			      (unsigned)(st.st_mode & 07777),
			      st.st_mode & S_IROTH ? "everyone" : "its group");
	else
		a0_report_add(r, A0_SEV_OK, "secret-mode", path, "%s: mode %04o, uid %lu", k->key,
			      (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid);
}

/* ca_file: the loader follows links here (update-ca-certificates makes them). */
static void check_ca(const char *root, const char *path, struct a0_report *r)
{
	int fd = a0_host_open(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0) {
		a0_report_add(r, A0_SEV_FAILURE, "ca-file", path, "ca_file: cannot read: %s",
			      strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		a0_report_add(r, A0_SEV_FAILURE, "ca-file", path, "ca_file: not a regular file");
	else if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		a0_report_add(r, A0_SEV_FAILURE, "ca-file", path,
			      "ca_file: whoever may write it may impersonate the tenant: it must "
			      "be root's and writable by root only (uid %lu, mode %04o)",
			      (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
	else
		a0_report_add(r, A0_SEV_OK, "ca-file", path, "ca_file: root's, readable");
	(void)close(fd);
}

void a0_check_files(const char *root, struct a0_config *cfg, struct a0_report *r)
{
	struct stat st;

	if (!cfg)
		return;
	for (size_t i = 0; i < A0_ARRAY_SIZE(secrets); i++) {
		const char *path = *(char *const *)((const char *)cfg + secrets[i].offset);

		if (path)
			check_secret(root, &secrets[i], path, r);
	}
	if (cfg->ca_file)
		check_ca(root, cfg->ca_file, r);
	if (cfg->users_file && host_lstat(root, cfg->users_file, &st) == 0)
		config_mode(root, cfg->users_file, false, r);
	/* Under --root the loader did not read the client secret: read it as the loader would,
	 * for the tenant checks (its mode is checked above). */
	if (rooted(root) && cfg->client_secret_file && !cfg->client_secret) {
		char buf[A0_HOST_MAX_PATH], err[MAX_MESSAGE];

		if (a0_host_join(root, cfg->client_secret_file, buf, sizeof(buf)) == 0)
			(void)a0_config_read_secret(buf, "client_secret_file", MAX_SECRET_SIZE,
						    true, &cfg->client_secret, NULL, err,
						    sizeof(err));
	}
}
