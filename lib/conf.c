/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/error.h"
#include "lib/outage.h"
#include "lib/secret.h"
#include "lib/util.h"

#define MAX_LINE 4096        /* longest configuration line */
#define MAX_FILE (64 * 1024) /* largest configuration file */
#define MAX_DROPINS 64
#define MAX_SECRET 1024                  /* largest client secret file */
#define MAX_USERS_FILE (8 * 1024 * 1024) /* users_file: 100,000 bindings and more */

enum kind {
	K_STRING,
	K_PATH,
	K_DOMAIN,
	K_BOOL,
	K_UINT,
	K_METHODS,
	K_PUSH_PROMPT,
	K_MFA_ENROLL,
	K_TEMPLATE,
	K_LIST,
	K_ACCOUNT,
	K_KEYRING,
	K_NAME_ATTRIBUTE,
	K_OFFLINE,
	K_DEVICE_QR,
};

struct key {
	const char *name;
	enum kind kind;
	size_t offset;
	unsigned min, max; /* K_UINT */
};

#define F(field) offsetof(struct a0_config, field)
static const struct key keys[] = {
	{ "domain", K_DOMAIN, F(domain), 0, 0 },
	{ "client_id", K_STRING, F(client_id), 0, 0 },
	{ "client_secret_file", K_PATH, F(client_secret_file), 0, 0 },
	{ "realm", K_STRING, F(realm), 0, 0 },
	{ "audience", K_STRING, F(audience), 0, 0 },
	{ "scope", K_STRING, F(scope), 0, 0 },
	{ "username", K_TEMPLATE, F(username), 0, 0 },
	{ "ca_file", K_PATH, F(ca_file), 0, 0 },
	{ "proxy", K_STRING, F(proxy), 0, 0 },
	{ "timeout", K_UINT, F(timeout), 1, 300 },
	{ "debug", K_BOOL, F(debug), 0, 0 },
	{ "use_first_pass", K_BOOL, F(use_first_pass), 0, 0 },
	{ "try_first_pass", K_BOOL, F(try_first_pass), 0, 0 },
	{ "mfa_methods", K_METHODS, F(mfa_methods), 0, 0 },
	{ "mfa_retries", K_UINT, F(mfa_retries), 1, 10 },
	{ "mfa_timeout", K_UINT, F(mfa_timeout), 1, 600 },
	{ "mfa_poll_interval", K_UINT, F(mfa_poll_interval), 1, 60 },
	{ "push_prompt", K_PUSH_PROMPT, F(push_prompt), 0, 0 },
	{ "mfa_enroll", K_MFA_ENROLL, F(mfa_enroll), 0, 0 },
	{ "login_methods", K_LIST, F(login_methods), 0, 0 },
	/* Below sshd's LoginGraceTime (120 s by default), which ends the whole login. */
	{ "device_timeout", K_UINT, F(device_timeout), 10, 600 },
	{ "device_qr", K_DEVICE_QR, F(device_qr), 0, 0 },
	{ "custom_domain", K_DOMAIN, F(custom_domain), 0, 0 },
	{ "cache_dir", K_PATH, F(cache_dir), 0, 0 },
	{ "jwks_ttl", K_UINT, F(jwks_ttl), 60, 86400 },
	{ "clock_skew", K_UINT, F(clock_skew), 0, 600 },
	{ "users_file", K_PATH, F(users_file), 0, 0 },
	{ "user_claim", K_STRING, F(user_claim), 0, 0 },
	{ "user_claim_template", K_TEMPLATE, F(user_claim_template), 0, 0 },
	{ "trust_user_claims", K_BOOL, F(trust_user_claims), 0, 0 },
	{ "require_email_verified", K_BOOL, F(require_email_verified), 0, 0 },
	{ "min_uid", K_UINT, F(min_uid), 0, 4294967294U },
	{ "require_local_account", K_BOOL, F(require_local_account), 0, 0 },
	{ "allowed_users", K_LIST, F(allowed_users), 0, 0 },
	{ "allowed_groups", K_LIST, F(allowed_groups), 0, 0 },
	{ "groups_claim", K_STRING, F(groups_claim), 0, 0 },
	{ "account_without_auth0", K_ACCOUNT, F(account_without_auth0), 0, 0 },
	{ "state_dir", K_PATH, F(state_dir), 0, 0 },
	{ "fail_delay_after", K_UINT, F(fail_delay_after), 1, 9 },
	{ "fail_delay_max", K_UINT, F(fail_delay_max), 0, 3600 },
	{ "offline_backoff_min", K_UINT, F(offline_backoff_min), 0, 3600 },
	{ "offline_backoff_max", K_UINT, F(offline_backoff_max), 1, 86400 },
	{ "offline", K_OFFLINE, F(offline), 0, 0 },
	{ "offline_dir", K_PATH, F(offline_dir), 0, 0 },
	{ "host_key_file", K_PATH, F(host_key_file), 0, 0 },
	{ "offline_max_age", K_UINT, F(offline_max_age), 0, 366 * 86400 },
	{ "offline_max_failures", K_UINT, F(offline_max_failures), 1, 100 },
	{ "offline_fail_delay", K_UINT, F(offline_fail_delay), 0, 60 },
	{ "offline_rewrite_age", K_UINT, F(offline_rewrite_age), 60, 366 * 86400 },
	/* Argon2id: 8 MiB to 4 GiB, as RFC 9106's second recommendation (64 MiB) sits inside. */
	{ "offline_memory", K_UINT, F(offline_memory), 8192, 4194304 },
	{ "offline_passes", K_UINT, F(offline_passes), 1, 32 },
	{ "broker_socket", K_PATH, F(broker_socket), 0, 0 },
	{ "client_private_key_file", K_PATH, F(client_private_key_file), 0, 0 },
	{ "broker_audiences", K_LIST, F(broker_audiences), 0, 0 },
	{ "broker_params", K_LIST, F(broker_params), 0, 0 },
	{ "broker_connections", K_LIST, F(broker_connections), 0, 0 },
	{ "broker_exchange", K_LIST, F(broker_exchange), 0, 0 },
	{ "broker_workers", K_LIST, F(broker_workers), 0, 0 },
	{ "broker_api_client_id", K_STRING, F(broker_api_client_id), 0, 0 },
	{ "broker_api_client_secret_file", K_PATH, F(broker_api_client_secret_file), 0, 0 },
	{ "broker_rate", K_UINT, F(broker_rate), 1, 100000 },
	{ "broker_max_clients", K_UINT, F(broker_max_clients), 1, 4096 },
	{ "keyring", K_KEYRING, F(keyring), 0, 0 },
	{ "revoke_on_logout", K_BOOL, F(revoke_on_logout), 0, 0 },
	{ "dpop", K_BOOL, F(dpop), 0, 0 },
	/* Auth0 lets a tenant set up to a year; a minute is the least a key can usefully live. */
	{ "refresh_token_lifetime", K_UINT, F(refresh_token_lifetime), 60, 366 * 86400 },
	{ "sync_dir", K_PATH, F(sync_dir), 0, 0 },
	{ "allowed_roles", K_LIST, F(allowed_roles), 0, 0 },
	{ "sync_client_id", K_STRING, F(sync_client_id), 0, 0 },
	{ "sync_client_secret_file", K_PATH, F(sync_client_secret_file), 0, 0 },
	{ "sync_private_key_file", K_PATH, F(sync_private_key_file), 0, 0 },
	{ "sync_connections", K_LIST, F(sync_connections), 0, 0 },
	{ "name_attribute", K_NAME_ATTRIBUTE, F(name_attribute), 0, 0 },
	/* Above the 16-bit range and below 2^31 - 1, as SSSD's id ranges. */
	{ "uid_min", K_UINT, F(uid_min), 1000, 2147483646U },
	{ "uid_max", K_UINT, F(uid_max), 1000, 2147483646U },
	{ "gid_min", K_UINT, F(gid_min), 1000, 2147483646U },
	{ "gid_max", K_UINT, F(gid_max), 1000, 2147483646U },
	{ "role_prefix", K_STRING, F(role_prefix), 0, 0 },
	{ "group_map", K_LIST, F(group_map), 0, 0 },
	{ "home_template", K_TEMPLATE, F(home_template), 0, 0 },
	{ "shell", K_PATH, F(shell), 0, 0 },
	{ "sync_full_interval", K_UINT, F(sync_full_interval), 0, 366 * 86400 },
	{ "sync_max_runtime", K_UINT, F(sync_max_runtime), 5, 86400 },
	{ "snapshot_public_key", K_PATH, F(snapshot_public_key), 0, 0 },
	{ "snapshot_max_age", K_UINT, F(snapshot_max_age), 60, 366 * 86400 },
};
#undef F

static const char *const method_names[A0_MFA_N] = {
	[A0_MFA_OTP] = "otp",     [A0_MFA_PUSH] = "push",   [A0_MFA_SMS] = "sms",
	[A0_MFA_VOICE] = "voice", [A0_MFA_EMAIL] = "email", [A0_MFA_RECOVERY] = "recovery-code",
};

/* Where a setting came from, for messages: "file:line" or "module argument N". */
struct origin {
	const char *file;
	unsigned line;
};

static int fail(char *err, size_t errlen, const struct origin *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const struct origin *o, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || errlen == 0)
		return A0_ERR_CONFIG;
	err[0] = '\0';
	if (o && o->file)
		a0_format(err, errlen, "%s:%u: ", o->file, o->line);
	else if (o)
		a0_format(err, errlen, "module argument %u: ", o->line);
	/* A prefix that fills the buffer gives way to the message. */
	n = strlen(err);
	if (n + 1 >= errlen)
		n = 0;
	va_start(ap, fmt);
	a0_vformat(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return A0_ERR_CONFIG;
}

const char *a0_mfa_method_name(enum a0_mfa_method m)
{
	return m < A0_MFA_N ? method_names[m] : "?";
}

static bool valid_template(const char *s)
{
	for (; *s; s++)
		if (*s == '%' && (*++s != 'u' && *s != '%'))
			return false;
	return true;
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < A0_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -1;
}

static int parse_methods(struct a0_config *cfg, const char *v)
{
	char buf[MAX_LINE];
	size_t n = 0;
	char *save = NULL;

	if (a0_str_copy(buf, sizeof(buf), v) < 0)
		return -1;
	for (char *t = strtok_r(buf, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		size_t m;

		for (m = 0; m < A0_MFA_N && strcmp(t, method_names[m]) != 0; m++)
			;
		if (m == A0_MFA_N)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (cfg->mfa_methods[i] == m)
				return -1;
		cfg->mfa_methods[n++] = m;
	}
	if (n == 0)
		return -1;
	cfg->n_mfa_methods = n;
	cfg->mfa_methods_set = true;
	return 0;
}

static void list_free(struct a0_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Names separated by spaces or commas; a later setting replaces an earlier one. */
static int parse_list(struct a0_list *l, const char *v)
{
	struct a0_list n = { 0 };
	char buf[MAX_LINE], *save = NULL;
	int r = 0;

	if (a0_str_copy(buf, sizeof(buf), v) < 0)
		return A0_ERR_INVALID;
	n.items = calloc(A0_MAX_LIST, sizeof(*n.items));
	if (!n.items)
		return A0_ERR_NOMEM;
	for (char *t = strtok_r(buf, " ,", &save); t && r == 0; t = strtok_r(NULL, " ,", &save)) {
		if (n.n == A0_MAX_LIST)
			r = A0_ERR_INVALID;
		else if (!(n.items[n.n++] = strdup(t)))
			r = A0_ERR_NOMEM;
	}
	if (r == 0 && n.n == 0)
		r = A0_ERR_INVALID;
	if (r < 0) {
		list_free(&n);
		return r;
	}
	list_free(l);
	*l = n;
	return 0;
}

bool a0_list_contains(const struct a0_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

static const char *const offline_names[] = {
	[A0_OFFLINE_DENY] = "deny",
	[A0_OFFLINE_PASSWORD] = "password",
	[A0_OFFLINE_BREAKGLASS] = "breakglass",
};

const char *a0_offline_policy_name(enum a0_offline_policy p)
{
	return offline_names[p];
}

static int offline_parse(const char *s, enum a0_offline_policy *ret)
{
	for (size_t i = 0; i < A0_ARRAY_SIZE(offline_names); i++)
		if (strcmp(s, offline_names[i]) == 0) {
			*ret = (enum a0_offline_policy)i;
			return 0;
		}
	return -1;
}

/* The policy of an "offline" item and its service ("" for a bare policy). */
static int offline_item(const char *item, char *service, size_t size, enum a0_offline_policy *ret)
{
	const char *colon = strrchr(item, ':');

	if (!colon) {
		service[0] = '\0';
		return offline_parse(item, ret);
	}
	if (colon == item || (size_t)(colon - item) >= size || memchr(item, ':', colon - item))
		return -1;
	memcpy(service, item, colon - item);
	service[colon - item] = '\0';
	return offline_parse(colon + 1, ret);
}

/* Every item a policy, and no service (or the default) named twice. */
static bool offline_list_valid(const struct a0_list *l)
{
	char a[MAX_LINE], b[MAX_LINE];
	enum a0_offline_policy p;

	for (size_t i = 0; i < l->n; i++) {
		if (offline_item(l->items[i], a, sizeof(a), &p) < 0)
			return false;
		for (size_t j = 0; j < i; j++)
			if (offline_item(l->items[j], b, sizeof(b), &p) == 0 && strcmp(a, b) == 0)
				return false;
	}
	return true;
}

enum a0_offline_policy a0_config_offline_policy(const struct a0_config *cfg, const char *service)
{
	enum a0_offline_policy p, bare = A0_OFFLINE_DENY;
	char name[MAX_LINE];

	for (size_t i = 0; i < cfg->offline.n; i++) {
		if (offline_item(cfg->offline.items[i], name, sizeof(name), &p) < 0)
			continue; /* never: checked when set */
		if (!name[0])
			bare = p;
		else if (service && strcmp(name, service) == 0)
			return p;
	}
	return bare;
}

bool a0_config_offline_used(const struct a0_config *cfg)
{
	char name[MAX_LINE];
	enum a0_offline_policy p;

	for (size_t i = 0; i < cfg->offline.n; i++)
		if (offline_item(cfg->offline.items[i], name, sizeof(name), &p) == 0 &&
		    p != A0_OFFLINE_DENY)
			return true;
	return false;
}

static int set_key(struct a0_config *cfg, const char *name, const char *v, const struct origin *o,
		   char *err, size_t errlen)
{
	const struct key *k = NULL;
	void *field;

	for (size_t i = 0; i < A0_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			k = &keys[i];
	if (!k)
		return fail(err, errlen, o, "unknown key '%s'", name);
	field = (char *)cfg + k->offset;
	if (!a0_text_ok(v, strlen(v), A0_TEXT_LINE))
		return fail(err, errlen, o, "key '%s': control character in value", name);
	if (*v == '\0' && k->kind != K_STRING)
		return fail(err, errlen, o, "key '%s': empty value", name);

	switch (k->kind) {
	case K_DOMAIN:
		if (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0)
			return fail(err, errlen, o,
				    "key '%s': give host[:port] without a scheme (always https)",
				    name);
		if (!a0_domain_valid(v))
			return fail(err, errlen, o, "key '%s': '%s' is not host[:port]", name, v);
		return a0_strdup_into(field, v);
	case K_PATH:
		if (*v != '/')
			return fail(err, errlen, o, "key '%s': path must be absolute", name);
		return a0_strdup_into(field, v);
	case K_TEMPLATE:
		if (!valid_template(v))
			return fail(err, errlen, o, "key '%s': only %%u and %%%% may follow %%",
				    name);
		return a0_strdup_into(field, v);
	case K_STRING:
		if (*v == '\0')
			return fail(err, errlen, o, "key '%s': empty value", name);
		return a0_strdup_into(field, v);
	case K_BOOL:
		if (parse_bool(v, field) < 0)
			return fail(err, errlen, o, "key '%s': '%s' is not yes or no", name, v);
		return 0;
	case K_UINT: {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)*v) || errno || *end || n < k->min || n > k->max)
			return fail(err, errlen, o, "key '%s': '%s' is not a number from %u to %u",
				    name, v, k->min, k->max);
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	case K_METHODS:
		if (parse_methods(cfg, v) < 0)
			return fail(err, errlen, o,
				    "key '%s': '%s' is not a list of distinct methods from: otp push sms "
				    "voice email recovery-code",
				    name, v);
		return 0;
	case K_PUSH_PROMPT:
		if (strcmp(v, "auto") == 0)
			cfg->push_prompt = A0_PUSH_PROMPT_AUTO;
		else if (strcmp(v, "enter") == 0)
			cfg->push_prompt = A0_PUSH_PROMPT_ENTER;
		else if (strcmp(v, "none") == 0)
			cfg->push_prompt = A0_PUSH_PROMPT_NONE;
		else
			return fail(err, errlen, o, "key '%s': '%s' is not auto, enter or none",
				    name, v);
		return 0;
	case K_MFA_ENROLL:
		if (strcmp(v, "no") == 0)
			cfg->mfa_enroll = A0_MFA_ENROLL_NO;
		else if (strcmp(v, "otp") == 0)
			cfg->mfa_enroll = A0_MFA_ENROLL_OTP;
		else if (strcmp(v, "sms") == 0)
			cfg->mfa_enroll = A0_MFA_ENROLL_SMS;
		else
			return fail(err, errlen, o, "key '%s': '%s' is not otp, sms or no", name,
				    v);
		return 0;
	case K_LIST: {
		int r = parse_list(field, v);

		if (r == A0_ERR_NOMEM)
			return r;
		if (r < 0)
			return fail(err, errlen, o, "key '%s': not a list of at most %d names",
				    name, A0_MAX_LIST);
		return 0;
	}
	case K_ACCOUNT:
		if (strcmp(v, "ignore") == 0)
			cfg->account_without_auth0 = A0_ACCOUNT_IGNORE;
		else if (strcmp(v, "deny") == 0)
			cfg->account_without_auth0 = A0_ACCOUNT_DENY;
		else
			return fail(err, errlen, o, "key '%s': '%s' is not ignore or deny", name,
				    v);
		return 0;
	case K_KEYRING:
		if (strcmp(v, "session") == 0)
			cfg->keyring = A0_KEYRING_SESSION;
		else if (strcmp(v, "user") == 0)
			cfg->keyring = A0_KEYRING_USER;
		else
			return fail(err, errlen, o, "key '%s': '%s' is not session or user", name,
				    v);
		return 0;
	case K_DEVICE_QR:
		if (strcmp(v, "utf8") == 0)
			cfg->device_qr = A0_QR_UTF8;
		else if (strcmp(v, "ascii") == 0)
			cfg->device_qr = A0_QR_ASCII;
		else if (strcmp(v, "no") == 0)
			cfg->device_qr = A0_QR_NONE;
		else
			return fail(err, errlen, o, "key '%s': '%s' is not utf8, ascii or no", name,
				    v);
		return 0;
	case K_OFFLINE: {
		int r = parse_list(field, v);

		if (r == A0_ERR_NOMEM)
			return r;
		if (r < 0 || !offline_list_valid(field))
			return fail(err, errlen, o,
				    "key '%s': '%s' is not a list of deny, password or breakglass, each "
				    "alone or as SERVICE:POLICY, with one policy per service",
				    name, v);
		return 0;
	}
	case K_NAME_ATTRIBUTE:
		if (strcmp(v, "username") != 0 && strncmp(v, "app_metadata.", 13) != 0)
			return fail(err, errlen, o,
				    "key '%s': '%s' is not username or app_metadata.FIELD (an attribute "
				    "only administrators set)",
				    name, v);
		return a0_strdup_into(field, v);
	}
	return fail(err, errlen, o, "key '%s': internal error", name);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A file that root trusts must be root's and writable by nobody else. */
static int check_owner(int fd, const struct origin *o, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(err, errlen, o, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, o, "not a regular file");
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return fail(err, errlen, o, "must be owned by root and writable only by root");
	return 0;
}

static int parse_text(struct a0_config *cfg, char *text, const char *file, char *err, size_t errlen)
{
	struct origin o = { file, 0 };
	char *line = text, *next;
	int r;

	for (; line; line = next) {
		char *eq, *key, *value;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		o.line++;
		if (strlen(line) > MAX_LINE)
			return fail(err, errlen, &o, "line too long");
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return fail(err, errlen, &o, "expected 'key = value'");
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		if (*key == '\0')
			return fail(err, errlen, &o, "missing key before '='");
		r = set_key(cfg, key, value, &o, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Text of a configuration file as read (len bytes, maybe with NUL bytes), named file. */
static int parse_buffer(struct a0_config *cfg, const char *text, size_t len, const char *file,
			char *err, size_t errlen)
{
	struct origin o = { file, 0 };
	char *copy;
	int r;

	if (len > MAX_FILE)
		return fail(err, errlen, &o, "larger than %d bytes", MAX_FILE);
	if (memchr(text, '\0', len))
		return fail(err, errlen, &o, "contains a NUL byte");
	copy = strndup(text, len);
	if (!copy)
		return A0_ERR_NOMEM;
	r = parse_text(cfg, copy, file, err, errlen);
	free(copy);
	return r;
}

/* Read all of a file of at most max bytes; *ret_len is its length (it may hold NUL bytes). */
static int read_small_file(int fd, size_t max, char **ret, size_t *ret_len)
{
	struct a0_buf b = { .max = max };
	char chunk[4096];
	ssize_t n;
	int r;

	/* "" for an empty file: the caller always gets a string. */
	if ((r = a0_buf_append(&b, "", 0)) < 0)
		goto out;
	while ((n = a0_read_full(fd, chunk, sizeof(chunk))) > 0)
		if ((r = a0_buf_append(&b, chunk, (size_t)n)) < 0)
			goto out;
	if (n < 0) {
		r = A0_ERR_SYSTEM;
		goto out;
	}
	*ret_len = b.len;
	*ret = a0_buf_steal(&b);
out:
	explicit_bzero(chunk, sizeof(chunk));
	a0_buf_free(&b);
	return r;
}

static int parse_file(struct a0_config *cfg, const char *path, char *err, size_t errlen)
{
	struct origin o = { path, 0 };
	char *text = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return fail(err, errlen, &o, "cannot open: %s", strerror(errno));
	if ((r = check_owner(fd, &o, err, errlen)) < 0)
		goto out;
	r = read_small_file(fd, MAX_FILE, &text, &len);
	if (r == A0_ERR_TOO_LARGE)
		r = fail(err, errlen, &o, "larger than %d bytes", MAX_FILE);
	else if (r < 0)
		r = fail(err, errlen, &o, "cannot read: %s", strerror(errno));
	if (r < 0)
		goto out;
	r = parse_buffer(cfg, text, len, path, err, errlen);
out:
	(void)close(fd);
	free(text);
	return r;
}

static int dropin_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int parse_dropins(struct a0_config *cfg, const char *dir, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	struct origin o = { dir, 0 };
	int n, r = 0;

	n = scandir(dir, &names, dropin_filter, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0
				       : fail(err, errlen, &o, "cannot read: %s", strerror(errno));
	if (n > MAX_DROPINS)
		r = fail(err, errlen, &o, "more than %d drop-in files", MAX_DROPINS);
	for (int i = 0; i < n; i++) {
		if (r == 0) {
			char path[4096];

			if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >=
			    (int)sizeof(path))
				r = fail(err, errlen, &o, "path too long");
			else
				r = parse_file(cfg, path, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int a0_config_read_secret(const char *path, const char *key, size_t max, bool one_line, char **ret,
			  size_t *ret_len, char *err, size_t errlen)
{
	struct origin o = { path, 0 };
	struct stat st;
	char *s = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return fail(err, errlen, &o, "%s: cannot open: %s", key, strerror(errno));
	/* Root's, or the reading process's own (auth0-broker(8) runs as its own user). */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		r = fail(err, errlen, &o,
			 "%s: must be a regular file owned by root (or this service's user) with "
			 "mode 0600 or 0400",
			 key);
		goto out;
	}
	if ((r = read_small_file(fd, max, &s, &len)) < 0) {
		r = fail(err, errlen, &o, "%s: cannot read (%s)", key, a0_strerror(r));
		goto out;
	}
	if (one_line) {
		/* One line: the secret, then at most a line end (LF or CRLF). */
		if (len > 0 && s[len - 1] == '\n')
			s[--len] = '\0';
		if (len > 0 && s[len - 1] == '\r')
			s[--len] = '\0';
	}
	if (len == 0 || (one_line && !a0_text_ok(s, len, A0_TEXT_LINE)) || strlen(s) != len) {
		r = fail(err, errlen, &o, "%s: empty or not %s", key,
			 one_line ? "one line of text" : "text");
		goto out;
	}
	*ret = s;
	if (ret_len)
		*ret_len = len;
	s = NULL;
out:
	a0_wipe_free(s, len);
	(void)close(fd);
	return r;
}

static int read_client_secret(struct a0_config *cfg, char *err, size_t errlen)
{
	return a0_config_read_secret(cfg->client_secret_file, "client_secret_file", MAX_SECRET,
				     true, &cfg->client_secret, NULL, err, errlen);
}

/*
 * The CAs that vouch for the tenant: whoever may write them may impersonate it. Root's file (or
 * this process's own), writable by nobody else; readable by all is fine, and needed, as
 * auth0-credentials(1) reads it as the user. Symbolic links are followed (update-ca-certificates
 * makes them): the file they name is the one libcurl reads.
 */
static int check_ca_file(const struct a0_config *cfg, char *err, size_t errlen)
{
	struct origin o = { cfg->ca_file, 0 };
	struct stat st;

	if (stat(cfg->ca_file, &st) < 0)
		return fail(err, errlen, &o, "ca_file: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, &o, "ca_file: not a regular file");
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return fail(err, errlen, &o,
			    "ca_file: must be owned by root and writable only by its owner");
	return 0;
}

static int set_defaults(struct a0_config *cfg)
{
	static const enum a0_mfa_method order[] = { A0_MFA_OTP,   A0_MFA_PUSH,  A0_MFA_SMS,
						    A0_MFA_VOICE, A0_MFA_EMAIL, A0_MFA_RECOVERY };

	if (a0_strdup_into(&cfg->realm, "Username-Password-Authentication") < 0 ||
	    a0_strdup_into(&cfg->scope, "openid profile email offline_access") < 0 ||
	    a0_strdup_into(&cfg->username, "%u") < 0 ||
	    a0_strdup_into(&cfg->cache_dir, "/var/cache/pam_auth0") < 0 ||
	    a0_strdup_into(&cfg->users_file, "/etc/pam_auth0/users") < 0 ||
	    a0_strdup_into(&cfg->state_dir, "/run/pam_auth0") < 0 ||
	    a0_strdup_into(&cfg->sync_dir, "/var/lib/pam_auth0") < 0 ||
	    a0_strdup_into(&cfg->offline_dir, "/var/lib/pam_auth0/offline") < 0 ||
	    a0_strdup_into(&cfg->host_key_file, "/etc/pam_auth0/host.key") < 0 ||
	    a0_strdup_into(&cfg->broker_socket, "/run/pam_auth0/broker.sock") < 0 ||
	    a0_strdup_into(&cfg->name_attribute, "app_metadata.posix.username") < 0 ||
	    a0_strdup_into(&cfg->role_prefix, "linux-") < 0 ||
	    a0_strdup_into(&cfg->home_template, "/home/%u") < 0 ||
	    a0_strdup_into(&cfg->shell, "/bin/bash") < 0)
		return A0_ERR_NOMEM;
	cfg->uid_min = 200000;
	cfg->uid_max = 999999999;
	cfg->gid_min = 1000000000;
	cfg->gid_max = 1099999999;
	cfg->sync_full_interval = 86400;
	cfg->sync_max_runtime = 600;
	cfg->snapshot_max_age = 86400;
	cfg->jwks_ttl = 3600;
	cfg->clock_skew = 60;
	cfg->require_email_verified = true;
	cfg->min_uid = 1000;
	cfg->require_local_account = true;
	/* Auth0 blocks a user from an address after 10 failures: stay well below. */
	cfg->fail_delay_after = 3;
	cfg->fail_delay_max = 300;
	cfg->offline_backoff_min = A0_OUTAGE_BACKOFF_MIN;
	cfg->offline_backoff_max = A0_OUTAGE_BACKOFF_MAX;
	cfg->broker_rate = 120;
	cfg->broker_max_clients = 256;
	cfg->offline_max_age = 7 * 86400;
	cfg->offline_max_failures = 5;
	cfg->offline_fail_delay = 3;
	cfg->offline_rewrite_age = 30 * 86400;
	cfg->offline_memory = 65536;
	cfg->offline_passes = 3;
	cfg->account_without_auth0 = A0_ACCOUNT_IGNORE;
	cfg->keyring = A0_KEYRING_SESSION;
	cfg->revoke_on_logout = true;
	cfg->refresh_token_lifetime = 30 * 86400; /* Auth0's default absolute lifetime */
	cfg->timeout = 10;
	memcpy(cfg->mfa_methods, order, sizeof(order));
	cfg->n_mfa_methods = A0_MFA_N;
	cfg->mfa_retries = 3;
	cfg->mfa_timeout = 60;
	cfg->mfa_poll_interval = 5;
	cfg->push_prompt = A0_PUSH_PROMPT_AUTO;
	cfg->mfa_enroll = A0_MFA_ENROLL_NO;
	cfg->device_timeout = 90;
	cfg->device_qr = A0_QR_UTF8;
	return 0;
}

int a0_config_defaults(struct a0_config **ret)
{
	struct a0_config *cfg = calloc(1, sizeof(*cfg));
	int r;

	if (!cfg)
		return A0_ERR_NOMEM;
	r = set_defaults(cfg);
	if (r < 0) {
		a0_config_free(cfg);
		return r;
	}
	*ret = cfg;
	return 0;
}

static bool is_flag(const char *arg)
{
	return strcmp(arg, "debug") == 0 || strcmp(arg, "use_first_pass") == 0 ||
	       strcmp(arg, "try_first_pass") == 0;
}

static int apply_args(struct a0_config *cfg, int argc, const char **argv, char *err, size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		struct origin o = { NULL, (unsigned)i + 1 };
		char key[64];
		const char *eq = strchr(argv[i], '=');
		size_t klen;
		int r;

		if (strncmp(argv[i], "config=", 7) == 0)
			continue;
		if (!eq) {
			if (!is_flag(argv[i]))
				return fail(err, errlen, &o, "unknown flag '%s'", argv[i]);
			r = set_key(cfg, argv[i], "yes", &o, err, errlen);
		} else {
			klen = (size_t)(eq - argv[i]);
			if (klen == 0 || klen >= sizeof(key))
				return fail(err, errlen, &o, "expected key=value");
			memcpy(key, argv[i], klen);
			key[klen] = '\0';
			r = set_key(cfg, key, eq + 1, &o, err, errlen);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p; p += strcspn(p, " ")) {
		p += strspn(p, " ");
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

static bool names_user(const char *tmpl)
{
	for (const char *t = tmpl; *t; t++) {
		if (*t != '%')
			continue;
		if (*++t == 'u')
			return true;
		if (*t == '\0')
			return false;
	}
	return false;
}

/* Defaults that depend on other keys, and rules that span keys. */
/* Every item of list is "a:b", both parts non-empty and one ':' only (shape says what a and b are). */
static int pairs_check(const struct a0_list *list, const char *path, const char *key,
		       const char *shape, char *err, size_t errlen)
{
	for (size_t i = 0; i < list->n; i++) {
		const char *c = strchr(list->items[i], ':');

		if (!c || c == list->items[i] || !c[1] || strchr(c + 1, ':'))
			return fail(err, errlen, NULL, "%s: key '%s': '%s' is not %s", path, key,
				    list->items[i], shape);
	}
	return 0;
}

/* login_methods: short lower-case words, each once (pam/auth.c knows which exist). */
static int login_methods_check(const struct a0_list *l, const char *path, char *err, size_t errlen)
{
	if (l->n > A0_MAX_LOGIN_METHODS)
		return fail(err, errlen, NULL, "%s: key 'login_methods': more than %d methods",
			    path, A0_MAX_LOGIN_METHODS);
	for (size_t i = 0; i < l->n; i++) {
		const char *m = l->items[i];
		size_t n = strspn(m, "abcdefghijklmnopqrstuvwxyz");

		if (n == 0 || m[n] != '\0' || n > A0_MAX_LOGIN_METHOD_NAME)
			return fail(err, errlen, NULL,
				    "%s: key 'login_methods': '%s' is not a method name", path, m);
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->items[j], m) == 0)
				return fail(err, errlen, NULL,
					    "%s: key 'login_methods': '%s' given twice", path, m);
	}
	return 0;
}

static int finish_config(struct a0_config *cfg, const char *path, char *err, size_t errlen)
{
	int r;

	if ((r = login_methods_check(&cfg->login_methods, path, err, errlen)) < 0)
		return r;

	if (!cfg->user_claim_template &&
	    a0_strdup_into(&cfg->user_claim_template, cfg->username) < 0)
		return A0_ERR_NOMEM;
	/* Whoever signs up chooses their nickname, name and email: such a claim must not decide
	 * which local account they open unless the administrator says so (pam_auth0.conf(5)
	 * IDENTITY). */
	if (cfg->user_claim && !a0_claim_admin_set(cfg->user_claim) && !cfg->trust_user_claims)
		return fail(err, errlen, NULL,
			    "%s: key 'user_claim': '%s' is a claim the account holder sets; bind "
			    "accounts in users_file or with a namespaced claim an Auth0 Action sets, "
			    "or opt in with 'trust_user_claims = yes'",
			    path, cfg->user_claim);
	/* Without %u every account would expect the same identity: one Auth0 account would
	 * open them all. */
	if (!names_user(cfg->user_claim_template))
		return fail(err, errlen, NULL,
			    "%s: key 'user_claim_template' (default: the username template) must "
			    "contain %%u",
			    path);
	if (!has_word(cfg->scope, "openid"))
		return fail(err, errlen, NULL,
			    "%s: key 'scope' must include openid: the ID token says who signed in",
			    path);
	if (cfg->allowed_groups.n && !cfg->groups_claim)
		return fail(err, errlen, NULL,
			    "%s: key 'allowed_groups' needs 'groups_claim', the claim listing them",
			    path);
	if (cfg->offline_backoff_min > cfg->offline_backoff_max)
		return fail(err, errlen, NULL, "%s: offline_backoff_min above offline_backoff_max",
			    path);
	if (cfg->uid_min > cfg->uid_max || cfg->gid_min > cfg->gid_max)
		return fail(err, errlen, NULL, "%s: uid_min/gid_min above uid_max/gid_max", path);
	if (cfg->uid_min <= cfg->gid_max && cfg->gid_min <= cfg->uid_max)
		return fail(err, errlen, NULL,
			    "%s: the uid range (uid_min..uid_max, also the users' own groups) and the "
			    "role groups' gid range (gid_min..gid_max) overlap",
			    path);
	if (cfg->sync_client_secret_file && cfg->sync_private_key_file)
		return fail(err, errlen, NULL,
			    "%s: give sync_client_secret_file or sync_private_key_file, not both",
			    path);
	if ((r = pairs_check(&cfg->group_map, path, "group_map", "role:group", err, errlen)) < 0 ||
	    (r = pairs_check(&cfg->broker_exchange, path, "broker_exchange", "user:connection", err,
			     errlen)) < 0 ||
	    (r = pairs_check(&cfg->broker_workers, path, "broker_workers", "user:connection", err,
			     errlen)) < 0)
		return r;
	if (cfg->broker_exchange.n &&
	    (!cfg->broker_api_client_id || !cfg->broker_api_client_secret_file))
		return fail(err, errlen, NULL,
			    "%s: key 'broker_exchange' needs broker_api_client_id and "
			    "broker_api_client_secret_file (the API's Custom API Client)",
			    path);
	return 0;
}

/* text == NULL: read the files; else text stands for the main file and no file is read. */
static int load(const char *text, size_t len, int argc, const char **argv, struct a0_config **ret,
		char *err, size_t errlen)
{
	const char *path = A0_DEFAULT_CONFIG;
	struct a0_config *cfg = NULL;
	char dropins[4096];
	int r;

	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "config=", 7) == 0)
			path = argv[i] + 7;
	if (*path != '/')
		return fail(err, errlen, NULL, "config=%s: path must be absolute", path);
	if (a0_config_dropins_dir(path, dropins, sizeof(dropins)) < 0)
		return fail(err, errlen, NULL, "config path too long");

	r = a0_config_defaults(&cfg);
	if (r == 0)
		r = text ? parse_buffer(cfg, text, len, path, err, errlen)
			 : parse_file(cfg, path, err, errlen);
	if (r == 0 && !text)
		r = parse_dropins(cfg, dropins, err, errlen);
	if (r == 0)
		r = apply_args(cfg, argc, argv, err, errlen);
	if (r == 0 && !cfg->domain)
		r = fail(err, errlen, NULL, "%s: required key 'domain' is missing", path);
	if (r == 0 && !cfg->client_id)
		r = fail(err, errlen, NULL, "%s: required key 'client_id' is missing", path);
	if (r == 0)
		r = finish_config(cfg, path, err, errlen);
	if (r == 0 && !text && cfg->ca_file)
		r = check_ca_file(cfg, err, errlen);
	if (r == 0 && !text && cfg->client_secret_file)
		r = read_client_secret(cfg, err, errlen);
	if (r < 0)
		goto out;
	*ret = cfg;
	cfg = NULL;
out:
	if (r == A0_ERR_NOMEM)
		(void)fail(err, errlen, NULL, "out of memory");
	a0_config_free(cfg);
	return r;
}

char **a0_config_path_setting(struct a0_config *cfg, size_t i, const char **ret_name)
{
	for (size_t k = 0; k < A0_ARRAY_SIZE(keys); k++) {
		if (keys[k].kind != K_PATH || i-- > 0)
			continue;
		if (ret_name)
			*ret_name = keys[k].name;
		return (char **)(void *)((char *)cfg + keys[k].offset);
	}
	return NULL;
}

int a0_config_dropins_dir(const char *path, char *buf, size_t size)
{
	/* The drop-ins are conf.d/ next to the file: /etc/pam_auth0/conf.d for the default. */
	const char *slash = strrchr(path, '/');
	int n;

	if (!slash)
		return A0_ERR_INVALID;
	n = snprintf(buf, size, "%.*s/" A0_CONFIG_DROPINS, (int)(slash - path), path);
	return n < 0 || (size_t)n >= size ? A0_ERR_INVALID : 0;
}

int a0_config_load(int argc, const char **argv, struct a0_config **ret, char *err, size_t errlen)
{
	return load(NULL, 0, argc, argv, ret, err, errlen);
}

int a0_config_parse_buffer(const char *text, size_t len, int argc, const char **argv,
			   struct a0_config **ret, char *err, size_t errlen)
{
	return text ? load(text, len, argc, argv, ret, err, errlen) : A0_ERR_INVALID;
}

void a0_config_free(struct a0_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->domain);
	free(cfg->client_id);
	free(cfg->client_secret_file);
	a0_secret_free(cfg->client_secret);
	free(cfg->realm);
	free(cfg->audience);
	free(cfg->scope);
	free(cfg->username);
	free(cfg->ca_file);
	free(cfg->proxy);
	free(cfg->cache_dir);
	free(cfg->users_file);
	free(cfg->state_dir);
	free(cfg->user_claim);
	free(cfg->user_claim_template);
	list_free(&cfg->allowed_users);
	list_free(&cfg->login_methods);
	free(cfg->custom_domain);
	list_free(&cfg->allowed_groups);
	free(cfg->groups_claim);
	free(cfg->sync_dir);
	free(cfg->offline_dir);
	free(cfg->host_key_file);
	free(cfg->broker_socket);
	free(cfg->client_private_key_file);
	list_free(&cfg->broker_audiences);
	list_free(&cfg->broker_params);
	list_free(&cfg->broker_connections);
	list_free(&cfg->broker_exchange);
	list_free(&cfg->broker_workers);
	free(cfg->broker_api_client_id);
	free(cfg->broker_api_client_secret_file);
	list_free(&cfg->offline);
	list_free(&cfg->allowed_roles);
	free(cfg->sync_client_id);
	free(cfg->sync_client_secret_file);
	free(cfg->sync_private_key_file);
	list_free(&cfg->sync_connections);
	free(cfg->name_attribute);
	free(cfg->role_prefix);
	list_free(&cfg->group_map);
	free(cfg->home_template);
	free(cfg->shell);
	free(cfg->snapshot_public_key);
	free(cfg);
}

int a0_config_username(const struct a0_config *cfg, const char *user, char **ret)
{
	return a0_template_expand(cfg->username, user, ret);
}

int a0_template_expand(const char *tmpl, const char *user, char **ret)
{
	struct a0_buf b = { .max = 1024 };
	int r = 0;

	for (const char *t = tmpl; *t && r == 0; t++) {
		if (*t != '%')
			r = a0_buf_append(&b, t, 1);
		else if (*++t == 'u')
			r = a0_buf_append(&b, user, strlen(user));
		else
			r = a0_buf_append(&b, "%", 1);
	}
	if (r == 0 && !b.data)
		r = A0_ERR_INVALID;
	if (r < 0) {
		a0_buf_free(&b);
		return r == A0_ERR_TOO_LARGE ? A0_ERR_INVALID : r;
	}
	*ret = a0_buf_steal(&b);
	return 0;
}

bool a0_email_address_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	/* RFC 5321's longest path; one '@' between a local part and a dotted domain. */
	return n <= A0_MAX_EMAIL && a0_text_ok(s, n, A0_TEXT_TOKEN) && at && at != s &&
	       !strchr(at + 1, '@') && strchr(at + 1, '.') && at[1] != '.' && s[n - 1] != '.';
}

bool a0_phone_number_ok(const char *s)
{
	size_t n = strlen(s);

	/* Auth0's pattern for phone_number: ^\\+[0-9]{1,15}$ */
	return n >= 2 && n <= 16 && s[0] == '+' && strspn(s + 1, "0123456789") == n - 1;
}

bool a0_claim_admin_set(const char *claim)
{
	return strcmp(claim, "sub") == 0 || strncmp(claim, "https://", 8) == 0 ||
	       strncmp(claim, "http://", 7) == 0;
}

/* What one users_file line binds a name to: the user_id, and the addresses a passwordless
 * sign-in may send a code to (NULL when the line gives none); pointers into the line. */
struct binding {
	const char *id;
	const char *email;
	const char *phone;
};

/* The optional "email=ADDRESS" and "phone=+NUMBER" fields after a line's user_id (fields, a
 * blank-separated rest of the line, is cut into its fields); 0 or A0_ERR_CONFIG. */
static int binding_extras(char *fields, struct binding *b, const struct origin *o, char *err,
			  size_t errlen)
{
	while (*fields) {
		char *field = fields, *end = fields + strcspn(fields, " \t");
		const char **slot = NULL;
		const char *value;

		fields = end + strspn(end, " \t");
		*end = '\0';
		if (strncmp(field, "email=", 6) == 0)
			slot = &b->email;
		else if (strncmp(field, "phone=", 6) == 0)
			slot = &b->phone;
		if (!slot)
			return fail(
				err, errlen, o,
				"expected 'name user_id [email=ADDRESS] [phone=+NUMBER]', found '%.32s'",
				field);
		if (*slot)
			return fail(err, errlen, o, "'%.6s' given twice", field);
		value = field + 6;
		if (slot == &b->email ? !a0_email_address_ok(value) : !a0_phone_number_ok(value))
			return fail(
				err, errlen, o, "%s",
				slot == &b->email
					? "email= is not an email address"
					: "phone= is not a phone number in E.164 form (+ and 1 to 15 digits)");
		*slot = value;
	}
	return 0;
}

/* One "name user_id [email=…] [phone=…]" line of users_file: 1 when it binds user (and *ret
 * points into line), 0 when it binds someone else, or A0_ERR_CONFIG. */
static int binding_line(char *line, const char *user, const struct origin *o, struct binding *ret,
			char *err, size_t errlen)
{
	struct binding b = { 0 };
	char *name, *id, *end, *rest;
	int r;

	if (strlen(line) > MAX_LINE)
		return fail(err, errlen, o, "line too long");
	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	name = line;
	end = name + strcspn(name, " \t");
	if (*end == '\0')
		return fail(err, errlen, o, "expected 'name user_id'");
	*end = '\0';
	id = end + 1 + strspn(end + 1, " \t");
	rest = id + strcspn(id, " \t");
	if (*rest != '\0') {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
	}
	if (strlen(id) > A0_MAX_USER_ID)
		return fail(err, errlen, o, "user_id longer than %d bytes", A0_MAX_USER_ID);
	if (!a0_text_ok(id, strlen(id), A0_TEXT_TOKEN))
		return fail(err, errlen, o, "user_id with a character that is not printable");
	/* Every line's fields are checked, not only the one asked for: a mistake shows at once. */
	r = binding_extras(rest, &b, o, err, errlen);
	if (r < 0)
		return r;
	if (strcmp(name, user) != 0)
		return 0;
	b.id = id;
	*ret = b;
	return 1;
}

/* users_file's line for user: 0 with copies of what it binds (ret_email, ret_phone may be NULL;
 * those not on the line are NULL), A0_ERR_NOT_FOUND, A0_ERR_CONFIG or A0_ERR_NOMEM. */
static int user_binding(const struct a0_config *cfg, const char *user, char **ret_user_id,
			char **ret_email, char **ret_phone, char *err, size_t errlen)
{
	struct origin o = { cfg->users_file, 0 };
	struct binding found = { 0 }, b = { 0 };
	char *text = NULL, *line, *next, *id = NULL, *email = NULL, *phone = NULL;
	size_t len = 0;
	int fd, r;

	if (!cfg->users_file)
		return A0_ERR_NOT_FOUND;
	fd = open(cfg->users_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? A0_ERR_NOT_FOUND
				       : fail(err, errlen, &o, "cannot open: %s", strerror(errno));
	r = check_owner(fd, &o, err, errlen);
	if (r == 0) {
		r = read_small_file(fd, MAX_USERS_FILE, &text, &len);
		if (r == A0_ERR_TOO_LARGE)
			r = fail(err, errlen, &o, "larger than %d bytes", MAX_USERS_FILE);
		else if (r < 0 && r != A0_ERR_NOMEM)
			r = fail(err, errlen, &o, "cannot read: %s", strerror(errno));
	}
	(void)close(fd);
	if (r < 0)
		goto out;
	if (memchr(text, '\0', len)) {
		r = fail(err, errlen, &o, "holds a NUL byte");
		goto out;
	}
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		o.line++;
		r = binding_line(line, user, &o, &b, err, errlen);
		if (r < 0)
			goto out;
		/* Two bindings for one name: the administrator must say which one. */
		if (r == 1 && found.id) {
			r = fail(err, errlen, &o, "'%s' is bound a second time", user);
			goto out;
		}
		if (r == 1)
			found = b;
	}
	r = A0_ERR_NOT_FOUND;
	if (found.id) {
		r = A0_ERR_NOMEM;
		if (!(id = strdup(found.id)) || (found.email && !(email = strdup(found.email))) ||
		    (found.phone && !(phone = strdup(found.phone))))
			goto out;
		r = 0;
		*ret_user_id = id;
		id = NULL;
		if (ret_email) {
			*ret_email = email;
			email = NULL;
		}
		if (ret_phone) {
			*ret_phone = phone;
			phone = NULL;
		}
	}
out:
	free(id);
	free(email);
	free(phone);
	free(text);
	return r;
}

int a0_config_user_contact(const struct a0_config *cfg, const char *user, char **ret_email,
			   char **ret_phone, char *err, size_t errlen)
{
	char *id = NULL;
	int r = user_binding(cfg, user, &id, ret_email, ret_phone, err, errlen);

	free(id);
	return r;
}

int a0_config_user_binding(const struct a0_config *cfg, const char *user, char **ret_user_id,
			   char *err, size_t errlen)
{
	return user_binding(cfg, user, ret_user_id, NULL, NULL, err, errlen);
}
