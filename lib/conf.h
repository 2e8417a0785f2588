/* SPDX-License-Identifier: MIT */
#ifndef A0_CONF_H
#define A0_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/qr.h"

#define A0_DEFAULT_CONFIG "/etc/pam_auth0/pam_auth0.conf"
/* The drop-ins: this directory next to the configuration file (/etc/pam_auth0/conf.d). */
#define A0_CONFIG_DROPINS "conf.d"

/* login_methods: at most this many, each a word of at most A0_MAX_LOGIN_METHOD_NAME letters. */
#define A0_MAX_LOGIN_METHODS 8
#define A0_MAX_LOGIN_METHOD_NAME 16

enum a0_mfa_method {
	A0_MFA_OTP,
	A0_MFA_PUSH,
	A0_MFA_SMS,
	A0_MFA_VOICE,
	A0_MFA_EMAIL,
	A0_MFA_RECOVERY,
	A0_MFA_N
};

enum a0_push_prompt { A0_PUSH_PROMPT_AUTO, A0_PUSH_PROMPT_ENTER, A0_PUSH_PROMPT_NONE };

/* Enrolment at login (lib/mfa.h): what a user without an authenticator may enrol, if anything. */
enum a0_mfa_enroll { A0_MFA_ENROLL_NO, A0_MFA_ENROLL_OTP, A0_MFA_ENROLL_SMS };

/* What pam_sm_acct_mgmt answers for a handle that Auth0 did not sign in (e.g. ssh keys). */
enum a0_account_mode { A0_ACCOUNT_IGNORE, A0_ACCOUNT_DENY };

/* Where the session's credentials go (keyring/login.h): pam_keyinit's session keyring, or
 * the user keyring shared by every session and service of the user. */
enum a0_keyring_mode { A0_KEYRING_SESSION, A0_KEYRING_USER };

/* A list of names (allowed_users, allowed_groups): at most A0_MAX_LIST. */
#define A0_MAX_LIST 256
struct a0_list {
	char **items;
	size_t n;
};

/* Everything the module was told, after files, drop-ins and module arguments. */
struct a0_config {
	char *domain; /* host[:port]; always https */
	char *client_id;
	char *client_secret_file; /* confidential client: root-owned, not readable by others */
	char *client_secret;      /* read from client_secret_file; a secret */
	char *realm;
	char *audience;
	char *scope;
	char *username; /* template: %u = PAM user, %% = % */
	char *ca_file;
	char *proxy;      /* proxies are used only when configured */
	unsigned timeout; /* seconds per request */
	bool debug;
	bool use_first_pass;
	bool try_first_pass;

	/* MFA */
	enum a0_mfa_method mfa_methods[A0_MFA_N]; /* preference order */
	size_t n_mfa_methods;
	bool mfa_methods_set; /* the admin chose the order: no menu */
	unsigned mfa_retries;
	unsigned mfa_timeout;       /* seconds for a push to be approved */
	unsigned mfa_poll_interval; /* seconds between push polls */
	enum a0_push_prompt push_prompt;
	enum a0_mfa_enroll mfa_enroll; /* a user with no authenticator: enrol one, or refuse */

	/* Sign-in methods at the prompt (pam/auth.c's table), in order; none set: password. */
	struct a0_list login_methods;
	/* The device authorization flow (lib/device.h) */
	unsigned device_timeout;    /* seconds for the device sign-in to be approved */
	enum a0_qr_style device_qr; /* how its QR code is drawn, if at all */
	char *custom_domain;        /* the tenant's custom domain (host[:port]), if any */

	/* Who may log in: ID-token verification, mapping and policy */
	char *cache_dir;             /* JWKS cache */
	unsigned jwks_ttl;           /* seconds */
	unsigned clock_skew;         /* seconds of leeway for exp, iat, nbf */
	char *users_file;            /* root's binding of local names to Auth0 user_ids */
	char *user_claim;            /* claim that names the user; NULL: users_file alone */
	char *user_claim_template;   /* its expected value (%u); default: the username template */
	bool trust_user_claims;      /* opt-in: user_claim may be one the account holder sets */
	bool require_email_verified; /* when user_claim is email */
	unsigned min_uid;            /* accounts below it (and root) are left alone */
	bool require_local_account;  /* names no account database knows never reach Auth0 */
	struct a0_list allowed_users;
	struct a0_list allowed_groups;
	char *groups_claim; /* an array claim; required with allowed_groups */
	enum a0_account_mode account_without_auth0;

	/* The local guard against password guessing (lib/guard.h) */
	char *state_dir;              /* root's state under /run */
	unsigned fail_delay_after;    /* failed sign-ins per (user, address) before delays */
	unsigned fail_delay_max;      /* seconds; 0: no guard */
	unsigned offline_backoff_min; /* seconds known offline after a failure; 0: not kept */
	unsigned offline_backoff_max; /* seconds, the longest (lib/outage.h) */

	/* Offline login (lib/offline.h): the policy per service and the verifier's bounds */
	struct a0_list offline;        /* "deny|password|breakglass" or "service:policy" items */
	char *offline_dir;             /* root's 0700: one verifier per user, the breakglass */
	char *host_key_file;           /* the verifiers' pepper, created 0600 when missing */
	unsigned offline_max_age;      /* seconds since the last online login; 0: none offline */
	unsigned offline_max_failures; /* consecutive offline failures before the lock */
	unsigned offline_fail_delay;   /* seconds a failed offline login waits */
	unsigned offline_rewrite_age;  /* seconds after which an online login renews it */
	unsigned offline_memory;       /* Argon2id memory, KiB */
	unsigned offline_passes;       /* Argon2id passes */

	/* auth0-broker(8): a confidential application's client authentication for the sessions */
	char *broker_socket;           /* the broker's Unix socket */
	char *client_private_key_file; /* private_key_jwt key (preferred to client_secret_file) */
	struct a0_list
		broker_audiences;     /* audiences a refresh may ask for; none: only the default */
	struct a0_list broker_params; /* extra form parameters a refresh may carry */
	struct a0_list broker_connections; /* Token Vault connections; none: no vault exchange */
	struct a0_list broker_exchange; /* "user:connection": who may do access-token exchanges */
	struct a0_list broker_workers;  /* "user:connection": who may do worker exchanges */
	char *broker_api_client_id;     /* the Custom API Client of access-token exchanges */
	char *broker_api_client_secret_file; /* its client secret */
	unsigned broker_rate;                /* requests per minute per caller uid */
	unsigned broker_max_clients;         /* connections served at once */

	/* Credentials in the kernel keyring (keyring/login.h) */
	enum a0_keyring_mode keyring;
	bool revoke_on_logout; /* revoke the refresh token at close_session */
	bool dpop; /* DPoP-bound tokens (lib/dpop.h): a key per login, a proof per request */
	unsigned refresh_token_lifetime; /* seconds: the timeout of keys with a refresh token */

	/* Users who exist only in Auth0: the synced identity cache (auth0-sync(8), nss/) */
	char *sync_dir;               /* root's: sync.state, identities; nss.cache is read by NSS */
	struct a0_list allowed_roles; /* synced Auth0 roles, checked in the account phase */
	char *sync_client_id;         /* the confidential application auth0-sync uses */
	char *sync_client_secret_file;   /* its secret (root-only file), or: */
	char *sync_private_key_file;     /* its private key for private_key_jwt (preferred) */
	struct a0_list sync_connections; /* the connections whose users are synced */
	char *name_attribute;            /* app_metadata.posix.username (default) or username */
	unsigned uid_min, uid_max;       /* derived uids (user private groups: gid = uid) */
	unsigned gid_min, gid_max;       /* derived gids of role groups */
	char *role_prefix;               /* roles that become groups (default "linux-") */
	struct a0_list group_map;        /* "role:localgroup" pairs; none by default */
	char *home_template;             /* %u = the Linux name; default /home/%u */
	char *shell;                     /* default /bin/bash */
	unsigned sync_full_interval;     /* seconds between full runs (deletions) */
	unsigned sync_max_runtime;       /* seconds one run may take */
	char *snapshot_public_key; /* Ed25519 public key (PEM) that signs imported snapshots */
	unsigned snapshot_max_age; /* seconds */
};

/* The directory of PATH's drop-ins (A0_CONFIG_DROPINS next to it) into buf: 0, or A0_ERR_INVALID
 * when PATH has no directory or buf is too small. */
int a0_config_dropins_dir(const char *path, char *buf, size_t size);

/* The i-th setting of cfg whose value is a path (the keys of type path in pam_auth0.conf(5), in
 * their order), its key in *ret_name (may be NULL): the field, or NULL past the last. */
char **a0_config_path_setting(struct a0_config *cfg, size_t i, const char **ret_name);

/*
 * Load the configuration: the file named by a `config=PATH` argument (default
 * A0_DEFAULT_CONFIG), then conf.d/ *.conf in PATH's directory (A0_CONFIG_DROPINS) in lexical
 * order, then the module arguments
 * (`key=value`, or a bare flag: debug, use_first_pass, try_first_pass). Returns 0 and a new
 * config, or A0_ERR_CONFIG with a message naming file:line and the key in err.
 */
int a0_config_load(int argc, const char **argv, struct a0_config **ret, char *err, size_t errlen);
/*
 * The same with text (len bytes) standing for the main file and no file read: no drop-ins, no
 * client_secret_file (client_secret stays NULL). For the fuzzers and tests.
 */
int a0_config_parse_buffer(const char *text, size_t len, int argc, const char **argv,
			   struct a0_config **ret, char *err, size_t errlen);
/*
 * The defaults alone, with no file read and nothing required (no domain, no client_id): what
 * holds when the configuration cannot be loaded, e.g. min_uid for the system accounts the
 * module must leave alone even then (pam/module.c). 0, or A0_ERR_NOMEM.
 */
int a0_config_defaults(struct a0_config **ret);
void a0_config_free(struct a0_config *cfg);

/*
 * Read a secret from a file only root may read: a regular file (not a symbolic link) owned by
 * root (or by this process's effective uid: auth0-broker's own user) with no permission for
 * group or others, of at most max bytes, not empty, without NUL
 * bytes; with one_line, one line of text whose line end (LF or CRLF) is dropped.
 * client_secret_file, sync_client_secret_file (one line) and sync_private_key_file (a PEM
 * key) are read so. 0 and the secret in *ret (free with a0_secret_free) and its length in
 * *ret_len (may be NULL); A0_ERR_CONFIG with "path: key: problem" in err.
 */
int a0_config_read_secret(const char *path, const char *key, size_t max, bool one_line, char **ret,
			  size_t *ret_len, char *err, size_t errlen);

/* The method's configuration name ("otp", "push", ..., "recovery-code"). */
const char *a0_mfa_method_name(enum a0_mfa_method m);

/*
 * Expand the username template for PAM user `user`: 0 and a new string, or A0_ERR_INVALID.
 */
int a0_config_username(const struct a0_config *cfg, const char *user, char **ret);
/* The same for any template (%u = user, %% = %), e.g. user_claim_template. */
int a0_template_expand(const char *tmpl, const char *user, char **ret);

bool a0_list_contains(const struct a0_list *l, const char *s);

/* What a login may do when Auth0 cannot be reached (pam_auth0(8), lib/offline.h). */
enum a0_offline_policy { A0_OFFLINE_DENY, A0_OFFLINE_PASSWORD, A0_OFFLINE_BREAKGLASS };
/*
 * The policy for PAM service `service` (may be NULL): the item "service:policy" for it, else
 * the bare item, else deny. The last item that applies wins, so a module argument
 * offline=... overrides the file's bare item.
 */
enum a0_offline_policy a0_config_offline_policy(const struct a0_config *cfg, const char *service);
/* Does any service have a policy other than deny? Then online logins keep verifiers. */
bool a0_config_offline_used(const struct a0_config *cfg);
/* "deny", "password", "breakglass". */
const char *a0_offline_policy_name(enum a0_offline_policy p);

/*
 * Can only the tenant's administrators set this claim? True for "sub" (Auth0 assigns the
 * user_id) and for namespaced claims ("https://..." or "http://..."), which only an Action
 * adds. Every other claim (nickname, name, email, preferred_username, ...) is one the account
 * holder chooses at sign-up or in their profile.
 */
bool a0_claim_admin_set(const char *claim);

/* Longest Auth0 user_id in users_file: "<connection>|<id>" is at most a few hundred bytes. */
#define A0_MAX_USER_ID 512
/*
 * The Auth0 user_id that users_file binds the local account user to. users_file holds one
 * "name user_id [email=ADDRESS] [phone=+NUMBER]" a line (blank lines and lines starting with #
 * are ignored; the addresses are where a passwordless sign-in sends its code); it must be a
 * regular file owned by root and writable by nobody else. 0 and the user_id (free it);
 * A0_ERR_NOT_FOUND when the file does not exist or does not name user; A0_ERR_CONFIG (with the
 * file, line and problem in err) for a file that is not root's, too large, or malformed, or
 * names user twice; A0_ERR_NOMEM.
 */
int a0_config_user_binding(const struct a0_config *cfg, const char *user, char **ret_user_id,
			   char *err, size_t errlen);
/*
 * The addresses users_file gives user, as a0_config_user_binding: 0 and new strings in
 * *ret_email and *ret_phone, each NULL when the line has none (either pointer may be NULL).
 */
int a0_config_user_contact(const struct a0_config *cfg, const char *user, char **ret_email,
			   char **ret_phone, char *err, size_t errlen);

/* Longest email address (RFC 5321's path) and phone number (E.164: + and 15 digits). */
#define A0_MAX_EMAIL 254
#define A0_MAX_PHONE 16
/* An email address a code may be sent to: printable, no blank, one '@', a dotted domain. */
bool a0_email_address_ok(const char *s);
/* A phone number as Auth0 takes it: ^\+[0-9]{1,15}$. */
bool a0_phone_number_ok(const char *s);

#endif
