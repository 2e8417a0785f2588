/* SPDX-License-Identifier: MIT */
/*
 * admin/host.h: the host's files as auth0-pam(8)'s diagnostics read them, under --root DIR when
 * one is given (every path is the host's absolute path, resolved inside DIR: symbolic links and
 * ".." cannot leave it), and the local rules of `check` (admin/check.c), `nsswitch`
 * (admin/nsswitch.c) and `test-login` (admin/testlogin.c).
 */
#ifndef A0_ADMIN_HOST_H
#define A0_ADMIN_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/report.h"
#include "lib/conf.h"

#define A0_HOST_MAX_FILE (256 * 1024) /* largest file a check reads (pam.d, sshd, nsswitch) */
#define A0_HOST_MAX_PATH 4096

/* root: NULL (the host itself) or a directory. Open path (absolute) under it with flags: a
 * descriptor, or -1 with errno. */
int a0_host_open(const char *root, const char *path, int flags);
/*
 * Read all of path under root (at most max bytes; with nofollow, a symbolic link as the last
 * component is refused): 0 and a NUL-terminated copy (free it) and its length; -1 with errno
 * (EFBIG when larger, EINVAL when it is not a regular file or holds a NUL byte).
 */
int a0_host_read(const char *root, const char *path, size_t max, bool nofollow, char **ret,
		 size_t *ret_len);
/* path under root as a plain path string (for glob(3) and messages): 0, or -1 (too long). */
int a0_host_join(const char *root, const char *path, char *buf, size_t size);

/*
 * The configuration as check and status see it: the file (config, default A0_DEFAULT_CONFIG)
 * and its drop-ins, read under root; findings config-load (and, for check, with files = true,
 * config-mode) added to r. 0 and the configuration, whose paths are left as the host names
 * them; A0_ERR_CONFIG when it does not load (a finding says why); A0_ERR_NOMEM.
 */
int a0_check_load(const char *root, const char *config, bool files, struct a0_report *r,
		  struct a0_config **ret);
/* Prefix every path of cfg with root (for the parts that open them by name): 0 or NOMEM. */
int a0_check_reroot(struct a0_config *cfg, const char *root);

/* The local rules of check (cfg may be NULL when the configuration did not load). */
void a0_check_files(const char *root, struct a0_config *cfg, struct a0_report *r);
void a0_check_pam(const char *root, const struct a0_config *cfg, struct a0_report *r);
void a0_check_nsswitch(const char *root, const struct a0_config *cfg, struct a0_report *r);
void a0_check_sshd(const char *root, const struct a0_config *cfg, struct a0_report *r);

/*
 * nsswitch enable|disable: auth0 added after files (else after the first source) on the passwd
 * and group lines (and initgroups, when there is one), or removed; every other byte kept. With
 * dry_run, the change printed as a diff and nothing written; with json, a JSON document
 * {"file", "changed", "written", "changes": [{"line", "before", "after"}]} instead. 0 (also when
 * there is nothing to do), or A0_ERR_CONFIG / A0_ERR_SYSTEM with a message on stderr.
 */
int a0_nsswitch_edit(const char *root, bool enable, bool dry_run, bool json);

/* test-login: the service's PAM stack for user, with a transcript; the findings in r. */
int a0_test_login(const char *service, const char *user, bool session, bool json,
		  struct a0_report *r);

#endif
