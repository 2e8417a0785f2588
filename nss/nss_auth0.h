/* SPDX-License-Identifier: MIT */
#ifndef A0_NSS_AUTH0_H
#define A0_NSS_AUTH0_H

/*
 * The entry points of libnss_auth0.so.2, as glibc calls them (its nss_files has the same): the
 * reentrant lookups fill the caller's struct and buffer (NSS_STATUS_TRYAGAIN with *errnop =
 * ERANGE: a bigger buffer is needed), NSS_STATUS_NOTFOUND with ENOENT, NSS_STATUS_UNAVAIL when
 * the cache is absent or unusable. The tests and the benchmark dlopen the module and call these.
 */

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

#define A0_NSS_EXPORT __attribute__((visibility("default")))

A0_NSS_EXPORT enum nss_status _nss_auth0_getpwnam_r(const char *name, struct passwd *pw, char *buf,
						    size_t buflen, int *errnop);
A0_NSS_EXPORT enum nss_status _nss_auth0_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
						    size_t buflen, int *errnop);
A0_NSS_EXPORT enum nss_status _nss_auth0_setpwent(void);
A0_NSS_EXPORT enum nss_status _nss_auth0_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
						    int *errnop);
A0_NSS_EXPORT enum nss_status _nss_auth0_endpwent(void);

A0_NSS_EXPORT enum nss_status _nss_auth0_getgrnam_r(const char *name, struct group *gr, char *buf,
						    size_t buflen, int *errnop);
A0_NSS_EXPORT enum nss_status _nss_auth0_getgrgid_r(gid_t gid, struct group *gr, char *buf,
						    size_t buflen, int *errnop);
A0_NSS_EXPORT enum nss_status _nss_auth0_setgrent(void);
A0_NSS_EXPORT enum nss_status _nss_auth0_getgrent_r(struct group *gr, char *buf, size_t buflen,
						    int *errnop);
A0_NSS_EXPORT enum nss_status _nss_auth0_endgrent(void);

/*
 * Append the supplementary groups of user to (*groupsp)[*start...], skipping skipgroup, growing
 * the array (realloc, *size) up to limit entries (no limit when limit <= 0).
 */
A0_NSS_EXPORT enum nss_status _nss_auth0_initgroups_dyn(const char *user, gid_t skipgroup,
							long int *start, long int *size,
							gid_t **groupsp, long int limit,
							int *errnop);

#endif
