/* SPDX-License-Identifier: MIT */
#ifndef A0_OFFLINE_H
#define A0_OFFLINE_H

/*
 * Offline login (pam_auth0(8), WHEN AUTH0 CANNOT BE REACHED): the offline verifier of a user's
 * first factor, and the breakglass window.
 *
 * The verifier. After a complete online login (password and, when asked, MFA) the module keeps
 * an Argon2id hash of the password, so that a later login may be checked while Auth0 cannot be
 * reached: Argon2id (libargon2) with memory_kib and passes, parallelism 1, a random 16-byte
 * salt per write, the password peppered with the host key (32 random bytes in host_key, root's
 * 0600, created when missing: argon2's secret input). One file per user in dir (root's 0700,
 * created when missing), named by the hex SHA-256 of the user name, root's 0600, written
 * atomically (a temporary file, fsync, rename); every read checks it is a regular file (no
 * symbolic link followed: O_NOFOLLOW), owned by root, mode 0600, of bounded size, well formed,
 * and refuses it otherwise (A0_ERR_CONFIG with the reason). Read-modify-write of one user's
 * file happens under an exclusive flock on dir/<hash>.lock, so concurrent logins of one user
 * count failures consistently and never tear the file.
 *
 * No Argon2 work on an online login when nothing needs writing. An online login rewrites the
 * hash only when it is missing, was made with other parameters, is older than rewrite_age, or
 * the password changed. "Changed" is told without Argon2 by a change tag: HMAC-SHA256 of the
 * user name, the salt and the password under a boot key (32 random bytes in
 * run_dir/offline-tag.key, root's 0600 on tmpfs, made at the first need after a boot). The tag
 * on disk is worthless without the boot key, which is never on disk: a stolen disk or backup
 * offers only the peppered Argon2id hash. After a reboot the tag cannot be checked, and the
 * first online login of each user rewrites once. Otherwise an online login only stores its
 * time and clears the failure count (a small atomic rewrite).
 *
 * Bounds, checked on every offline login: max_age seconds since the user's last online login
 * (0: offline login is off), max_failures consecutive failed offline logins (then locked until
 * an online login succeeds). The failure delay is the caller's (pam_fail_delay).
 *
 * The breakglass window: a root-owned file dir/breakglass ("v1 <opened> <until> <uid>
 * <reason>\n"), written by auth0-pam(8) "breakglass open", removed by "breakglass close";
 * open while now < until. A file that is not root's 0600 regular file is "closed" and said so.
 *
 * Only root keeps or reads any of this: a caller that is not root gets A0_ERR_CONFIG. A user
 * name that is empty, longer than A0_OFFLINE_MAX_USER bytes or holds a blank or a control
 * character, or a password longer than A0_OFFLINE_MAX_PASSWORD bytes: A0_ERR_INVALID.
 *
 * The files (lib/offline.c). host_key and run_dir/offline-tag.key hold their 32 bytes raw, and
 * are made by linking a complete new file into place, so that two first logins at once agree on
 * one key. A verifier file is one line of eleven fields, single blanks between them:
 *
 *   v1 <user> <memory_kib> <passes> <salt> <hash> <written> <last_online> <failures> <key id> <tag>
 *
 * numbers in decimal without a sign or a leading zero, salt (16 bytes), hash (32), the tag's
 * key id (the first 8 bytes of the SHA-256 of the boot key) and tag (32) in lower-case hex;
 * the tag is HMAC-SHA256(boot key, "pam_auth0 offline tag v1" NUL user NUL salt password).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define A0_OFFLINE_TAG_KEY "offline-tag.key" /* in run_dir */
#define A0_BREAKGLASS_FILE "breakglass"      /* in dir */
#define A0_BREAKGLASS_MAX (3 * 86400)        /* the longest window: seconds */
#define A0_BREAKGLASS_REASON_MAX 200         /* bytes of the reason */

struct a0_offline {
	const char *dir;       /* cfg->offline_dir, e.g. /var/lib/pam_auth0/offline */
	const char *host_key;  /* cfg->host_key_file, e.g. /etc/pam_auth0/host.key */
	const char *run_dir;   /* cfg->state_dir, e.g. /run/pam_auth0: the boot key */
	uint32_t memory_kib;   /* cfg->offline_memory */
	uint32_t passes;       /* cfg->offline_passes */
	unsigned max_age;      /* cfg->offline_max_age: seconds; 0: offline login off */
	unsigned max_failures; /* cfg->offline_max_failures */
	unsigned rewrite_age;  /* cfg->offline_rewrite_age: seconds */
};

struct a0_config;
/* The verifier's settings of a configuration (lib/offline_conf.c): pointers into cfg. */
void a0_offline_of(const struct a0_config *cfg, struct a0_offline *ret);

/* What a user's verifier file says, without its secrets (auth0-pam(8) offline list). */
struct a0_offline_entry {
	char user[257];
	time_t written;     /* when the hash was made */
	time_t last_online; /* the last online login */
	unsigned failures;  /* consecutive offline failures */
	uint32_t memory_kib, passes;
};

/*
 * After a complete online login of user with password: write the verifier when it is needed
 * (see above; *ret_wrote true), else record the login's time; either way the failure count is
 * cleared. 0, A0_ERR_CONFIG (unsafe or malformed file, directory or key: reason), A0_ERR_NOMEM,
 * A0_ERR_SYSTEM (reason).
 */
int a0_offline_online(const struct a0_offline *o, const char *user, const char *password,
		      time_t now, bool *ret_wrote, char *reason, size_t reasonlen);

/*
 * Auth0 refused password online (invalid_grant): when the verifier accepts that password (the
 * password changed, or leaked), forget the verifier (*ret_purged true). Uses the change tag
 * when it can, else Argon2. 0 (also when there is no verifier), A0_ERR_CONFIG, A0_ERR_NOMEM,
 * A0_ERR_SYSTEM.
 */
int a0_offline_denied(const struct a0_offline *o, const char *user, const char *password,
		      bool *ret_purged, char *reason, size_t reasonlen);

/*
 * An offline login of user with password, at now. 0: accepted (the failure count is cleared);
 * A0_ERR_DENIED: wrong password, counted (*ret_failures the count now); A0_ERR_LOCKED:
 * max_failures reached, the password is not checked; A0_ERR_EXPIRED: the last online login
 * is older than max_age, or max_age is 0; A0_ERR_NOT_FOUND: no verifier; A0_ERR_CONFIG,
 * A0_ERR_NOMEM, A0_ERR_SYSTEM (reason). *ret_last_online (may be NULL) is set when a verifier
 * was read.
 */
int a0_offline_check(const struct a0_offline *o, const char *user, const char *password, time_t now,
		     unsigned *ret_failures, time_t *ret_last_online, char *reason,
		     size_t reasonlen);

/* Forget user's verifier: 0, A0_ERR_NOT_FOUND, A0_ERR_CONFIG, A0_ERR_SYSTEM. */
int a0_offline_forget(const struct a0_offline *o, const char *user, char *reason, size_t reasonlen);

/*
 * Each verifier in dir, in no particular order: fn is called with each readable entry (a file
 * that is unsafe or malformed is skipped and counted in *ret_skipped); fn returning < 0 stops
 * the walk with that result. 0 (also for a missing dir), A0_ERR_CONFIG (dir unsafe), A0_ERR_NOMEM.
 */
int a0_offline_list(const struct a0_offline *o,
		    int (*fn)(const struct a0_offline_entry *e, void *arg), void *arg,
		    unsigned *ret_skipped, char *reason, size_t reasonlen);

/* For the fuzzer and the tests: one verifier file's line, parsed and formatted. */
#define A0_OFFLINE_MAX_USER 256      /* bytes of a user name */
#define A0_OFFLINE_MAX_PASSWORD 1024 /* bytes of a password */
#define A0_OFFLINE_SALT 16           /* bytes of the salt */
#define A0_OFFLINE_HASH 32           /* bytes of the Argon2id hash */
#define A0_OFFLINE_KEY_ID 8          /* bytes of the tag's key id */
#define A0_OFFLINE_TAG 32            /* bytes of the change tag */
#define A0_OFFLINE_LINE_MAX 1024     /* bytes of a verifier file: its one line and more */
struct a0_offline_record {
	struct a0_offline_entry e;
	unsigned char salt[A0_OFFLINE_SALT], hash[A0_OFFLINE_HASH];
	unsigned char key_id[A0_OFFLINE_KEY_ID], tag[A0_OFFLINE_TAG];
};
/*
 * The len bytes of data (not NUL-terminated) as a verifier file's line, strictly: 0 and *ret,
 * or A0_ERR_CONFIG with the reason (which never quotes the data).
 */
int a0_offline_parse_line(const char *data, size_t len, struct a0_offline_record *ret, char *reason,
			  size_t reasonlen);
/* rec as the file's line into buf: 0 and *ret_len (NUL-terminated), or A0_ERR_INVALID. */
int a0_offline_format_line(const struct a0_offline_record *rec, char *buf, size_t size,
			   size_t *ret_len);

/* The breakglass window in dir (lib/breakglass.c). */
struct a0_breakglass {
	time_t opened, until;
	uid_t by;
	char reason[A0_BREAKGLASS_REASON_MAX + 1];
};
/*
 * Open the window from now for seconds (1 .. A0_BREAKGLASS_MAX), by uid, with a reason of
 * printable text (no line break). Replaces an open window. 0, A0_ERR_INVALID, A0_ERR_CONFIG,
 * A0_ERR_SYSTEM (reason).
 */
int a0_breakglass_open(const char *dir, time_t now, unsigned seconds, uid_t by,
		       const char *reason_text, char *reason, size_t reasonlen);
/* Close it: 0 (also when it was not open), A0_ERR_CONFIG, A0_ERR_SYSTEM. */
int a0_breakglass_close(const char *dir, char *reason, size_t reasonlen);
/*
 * Is it open at now? 0 and *ret (may be NULL); A0_ERR_NOT_FOUND when closed or past its end
 * (*ret still filled when a past window was read); A0_ERR_CONFIG (unsafe file: reason).
 */
int a0_breakglass_state(const char *dir, time_t now, struct a0_breakglass *ret, char *reason,
			size_t reasonlen);

#endif
