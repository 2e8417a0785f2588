/* SPDX-License-Identifier: MIT */
/*
 * auth0-credentials(1): the command line over libauth0-credentials. Results go to stdout,
 * every failure is one JSON object on stderr, and the exit status is the library's code.
 * This program uses the public API only (and lib/util.h, which is libc alone).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <auth0/credentials.h>

#include "lib/util.h"

#define MAX_STDIN (1024 * 1024)

static const char usage_main[] =
	"Usage: auth0-credentials [--keyring session|user] [--timeout SECONDS] VERB [OPTIONS]\n"
	"\n"
	"Auth0 credentials of this login session, kept by pam_auth0 in the kernel keyring.\n"
	"\n"
	"Verbs:\n"
	"  get        print credentials, renewed when expired, expiring or of another scope\n"
	"  has-valid  exit 0 when a valid access token is stored, 1 when not (no network)\n"
	"  save       store an Auth0 token response read from stdin\n"
	"  clear      remove this session's credentials\n"
	"  revoke     revoke the refresh token at Auth0, then clear\n"
	"  api get    print credentials for another API (multi-resource refresh)\n"
	"  api clear  remove the credentials of another API\n"
	"  vault get  print the user's token at a federated connection (Token Vault)\n"
	"  vault clear  forget the cached Token Vault tokens\n"
	"  vault exchange  the same for an access token read from stdin (a service)\n"
	"  vault worker  the same for an Auth0 user id (a system account)\n"
	"  sso        print a session transfer token for native-to-web SSO\n"
	"  sso-exchange  the same for a refresh token read from stdin; stores nothing\n"
	"  userinfo   print the user's profile from the tenant's /userinfo\n"
	"  exchange   Custom Token Exchange of a subject token read from stdin; stores the answer\n"
	"  login      sign in (password and MFA, or --device) and store the credentials here\n"
	"  logout     revoke the refresh token at Auth0 and clear\n"
	"\n"
	"Options for every verb:\n"
	"  --keyring session|user  the keyring to use (default: session)\n"
	"  --timeout SECONDS       per request to Auth0, 1-300 (default: 10)\n"
	"  --help                  this text, or the verb's with VERB --help\n"
	"\n"
	"Errors are one JSON object on stderr, {\"error\":NAME,\"message\":...}; the exit status\n"
	"names the error (see auth0-credentials(1)).\n";

static const char usage_get[] =
	"Usage: auth0-credentials get [--scope S] [--min-ttl SECONDS] [--force-refresh]\n"
	"                             [--param KEY=VALUE]... [--format json|token|header|env]\n"
	"                             [--dpop-method METHOD --dpop-url URL]\n"
	"\n"
	"Print the stored credentials when the access token is valid for at least --min-ttl\n"
	"seconds (default 0; up to 100 years, LARGE_MIN_TTL when even a renewed token is too\n"
	"short) and --scope, when given, equals the stored scope (as a set);\n"
	"otherwise renew them with the refresh token, store and print them. --param adds a\n"
	"member to the refresh request (not grant_type, client_id, refresh_token, scope, ...).\n"
	"\n"
	"Formats: json (default): {\"access_token\",\"id_token\",\"token_type\",\"expires_at\",\n"
	"\"scope\"}; token: the access token; header: Authorization: Bearer TOKEN, or for a\n"
	"DPoP-bound token (with --dpop-method and --dpop-url, the request's) Authorization:\n"
	"DPoP TOKEN and DPoP: PROOF;\n"
	"env: AUTH0_ACCESS_TOKEN=... and the others as shell assignments.\n"
	"The refresh token is never printed.\n";

static const char usage_has_valid[] =
	"Usage: auth0-credentials has-valid [--min-ttl SECONDS]\n"
	"\n"
	"Exit 0 when an access token valid for at least --min-ttl seconds is stored, 1 when not.\n"
	"Never uses the network.\n";

static const char usage_save[] =
	"Usage: auth0-credentials save [--domain HOST[:PORT]] [--client-id ID] [--ca-file FILE]\n"
	"                              [--audience AUDIENCE] < token-response.json\n"
	"\n"
	"Store an Auth0 token response (access_token, token_type, expires_in, and optionally\n"
	"id_token, refresh_token, scope), or an Auth0 SDK Credentials object (accessToken,\n"
	"tokenType, expiresAt in seconds since the epoch, and optionally idToken, refreshToken,\n"
	"scope; not both shapes at once) as this session's credentials. The tenant options say\n"
	"where to renew them; left out, they are kept from the credentials being replaced.\n";

static const char usage_clear[] =
	"Usage: auth0-credentials clear\n"
	"\n"
	"Remove this session's credentials (every pam_auth0 record of the keyring).\n";

static const char usage_revoke[] =
	"Usage: auth0-credentials revoke\n"
	"\n"
	"Revoke the refresh token at Auth0 (and with it every token rotated from it), then\n"
	"remove this session's credentials.\n";

static const char usage_api[] =
	"Usage: auth0-credentials api get AUDIENCE [--scope S] [--min-ttl SECONDS]\n"
	"                                 [--param KEY=VALUE]... [--format json|token|header|env]\n"
	"       auth0-credentials api clear AUDIENCE [--scope S]\n"
	"\n"
	"Credentials for the API AUDIENCE through a multi-resource refresh (the refresh token\n"
	"grant with audience and scope), cached under the audience and the sorted scopes. A\n"
	"refresh token rotated by the exchange replaces the session's.\n";

static const char usage_vault[] =
	"Usage: auth0-credentials vault get CONNECTION [--login-hint H] [--scope S]\n"
	"                                   [--min-ttl SECONDS] [--format json|token|header|env]\n"
	"       auth0-credentials vault clear [CONNECTION [--login-hint H]]\n"
	"       auth0-credentials vault exchange --connection C [--login-hint H] [--scope S]\n"
	"                                        [--format ...] < access-token\n"
	"       auth0-credentials vault worker --connection C --user-id ID [--login-hint H]\n"
	"                                      [--scope S] [--audit-context TEXT] [--format ...]\n"
	"\n"
	"The user's access token at the federated connection CONNECTION (e.g. google-oauth2)\n"
	"from Auth0's Token Vault, exchanged for the session's refresh token through auth0-broker\n"
	"(a confidential application only), cached under the connection and login hint until it\n"
	"is within --min-ttl seconds of expiring. clear forgets one connection's, or all.\n"
	"exchange: Token Vault's access-token exchange of the user's Auth0 access token read\n"
	"from stdin (for a service holding one), as the API's Custom API Client; worker: the\n"
	"privileged worker exchange for the Auth0 user ID. Both through auth0-broker, for the\n"
	"uids and connections its broker_exchange and broker_workers name; nothing is stored.\n"
	"Exit 14 VAULT_EXCHANGE_FAILED, 15 NO_FEDERATED_TOKEN (no account connected there).\n";

static const char usage_sso[] =
	"Usage: auth0-credentials sso [--param KEY=VALUE]... [--header 'NAME: VALUE']...\n"
	"                             [--format json|token|env]\n"
	"\n"
	"Exchange the refresh token for a session transfer token (native-to-web SSO) and print\n"
	"{\"session_transfer_token\",\"token_type\",\"expires_in\"}. The token is single-use and\n"
	"short-lived; a rotated refresh token and a new ID token are stored. --header adds a\n"
	"header to the request (at most 16; not Host, Authorization, Cookie, Content-*, ...).\n";

static const char usage_sso_exchange[] =
	"Usage: auth0-credentials sso-exchange [--domain HOST[:PORT]] [--client-id ID]\n"
	"                                      [--ca-file FILE] [--param KEY=VALUE]...\n"
	"                                      [--header 'NAME: VALUE']... [--format json|env]\n"
	"                                      < refresh-token\n"
	"\n"
	"Exchange the refresh token read from stdin (never from arguments or the environment)\n"
	"for a session transfer token, as sso does, and print it; nothing is stored. The tenant\n"
	"options default to the stored credentials'. With rotation the answer's new refresh\n"
	"token (and ID token) is printed too, as refresh_token: the one given no longer works.\n";

static const char usage_userinfo[] =
	"Usage: auth0-credentials userinfo [--min-ttl SECONDS]\n"
	"\n"
	"Print the user's profile, the tenant's /userinfo answer (one JSON object), asked with the\n"
	"session's access token: renewed first when it is not valid for --min-ttl seconds (as\n"
	"get), sent with a DPoP proof when it is DPoP-bound. Exit 19 USERINFO_FAILED when the\n"
	"tenant refuses it.\n";

static const char usage_exchange[] =
	"Usage: auth0-credentials exchange --subject-token-type URI [--audience A] [--scope S]\n"
	"                                  [--domain HOST[:PORT]] [--client-id ID]\n"
	"                                  [--ca-file FILE] < subject-token\n"
	"\n"
	"Auth0's Custom Token Exchange (RFC 8693): the subject token read from stdin (never from\n"
	"arguments or the environment), of the type URI the tenant has a Custom Token Exchange\n"
	"Profile for, for the tokens of the user its Action names; they replace this session's\n"
	"credentials as save does. The tenant options default to the stored credentials'.\n"
	"Exit 20 TOKEN_EXCHANGE_FAILED when the tenant refuses (the stored credentials stay).\n";

static const char usage_login[] =
	"Usage: auth0-credentials login [--password | --device] [--config FILE]\n"
	"\n"
	"Sign in as the Auth0 user bound to this account, with pam_auth0's configuration (default\n"
	"/etc/pam_auth0/pam_auth0.conf), and store the credentials in this session's keyring, as a login\n"
	"through pam_auth0 would: for sessions pam_auth0 did not open (ssh keys, systemd --user,\n"
	"tmux). --password (default): the password (from the terminal without echo, or the first\n"
	"line of stdin when it is not a terminal), then MFA on the terminal. --device: the device\n"
	"authorization flow. Exit 21 LOGIN_FAILED, 22 LOGIN_REFUSED (another user signed in).\n";

static const char usage_logout[] =
	"Usage: auth0-credentials logout\n"
	"\n"
	"Revoke the refresh token at Auth0 and remove this session's credentials (without a\n"
	"refresh token: remove them).\n";

enum {
	OPT_KEYRING = 1000,
	OPT_TIMEOUT,
	OPT_HELP,
	OPT_SCOPE,
	OPT_MIN_TTL,
	OPT_FORCE,
	OPT_PARAM,
	OPT_FORMAT,
	OPT_DOMAIN,
	OPT_CLIENT_ID,
	OPT_CA_FILE,
	OPT_AUDIENCE,
	OPT_HEADER,
	OPT_VERSION,
	OPT_LOGIN_HINT,
	OPT_CONNECTION,
	OPT_USER_ID,
	OPT_AUDIT_CONTEXT,
	OPT_DPOP_METHOD,
	OPT_DPOP_URL,
	OPT_SUBJECT_TOKEN_TYPE,
	OPT_DEVICE,
	OPT_PASSWORD,
	OPT_CONFIG,
};

/* Everything a verb was told. */
struct args {
	const char *scope;
	const char *login_hint;
	const char *connection;
	const char *user_id;
	const char *audit_context;
	const char *dpop_method;
	const char *dpop_url;
	const char *subject_token_type;
	const char *config;
	bool device, password;
	long long min_ttl;
	bool force;
	struct auth0_credentials_param *params;
	size_t n_params;
	struct auth0_credentials_header *headers;
	size_t n_headers;
	enum auth0_credentials_format format;
	bool format_set;
	struct auth0_credentials_tenant tenant;
	const char *positional[2];
	size_t n_positional;
};

static int report(const struct auth0_credentials *c, int code, const char *message)
{
	char *json = auth0_credentials_error_json(c, code, message);

	fprintf(stderr, "%s\n",
		json ? json : "{\"error\":\"UNKNOWN\",\"message\":\"out of memory\"}");
	free(json);
	return code;
}

static int invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int invalid(const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(message, sizeof(message), fmt, ap);
	va_end(ap);
	return report(NULL, AUTH0_CREDENTIALS_INVALID_ARGUMENT, message);
}

static int help(const char *text)
{
	fputs(text, stdout);
	return fflush(stdout) == 0 ? AUTH0_CREDENTIALS_OK : AUTH0_CREDENTIALS_UNKNOWN;
}

/* Write all of text to stdout, then wipe and free it. */
static int emit(char *text)
{
	int code = AUTH0_CREDENTIALS_OK;

	if (a0_write_full(STDOUT_FILENO, text, strlen(text)) < 0)
		code = report(NULL, AUTH0_CREDENTIALS_UNKNOWN, "could not write to stdout");
	auth0_credentials_secret_free(text);
	return code;
}

static bool parse_number(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

static int set_keyring(struct auth0_credentials *c, const char *name)
{
	if (strcmp(name, "session") == 0)
		return auth0_credentials_set_keyring(c, AUTH0_CREDENTIALS_KEYRING_SESSION);
	if (strcmp(name, "user") == 0)
		return auth0_credentials_set_keyring(c, AUTH0_CREDENTIALS_KEYRING_USER);
	return invalid("--keyring must be session or user, not '%s'", name);
}

static int set_timeout(struct auth0_credentials *c, const char *s)
{
	long long v;

	if (!parse_number(s, 1, 300, &v))
		return invalid("--timeout must be a number of seconds from 1 to 300, not '%s'", s);
	return auth0_credentials_set_timeout(c, (unsigned)v);
}

static int set_format(struct args *a, const char *s)
{
	static const struct {
		const char *name;
		enum auth0_credentials_format format;
	} formats[] = {
		{ "json", AUTH0_CREDENTIALS_FORMAT_JSON },
		{ "token", AUTH0_CREDENTIALS_FORMAT_TOKEN },
		{ "header", AUTH0_CREDENTIALS_FORMAT_HEADER },
		{ "env", AUTH0_CREDENTIALS_FORMAT_ENV },
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(formats); i++) {
		if (strcmp(s, formats[i].name) == 0) {
			a->format = formats[i].format;
			a->format_set = true;
			return AUTH0_CREDENTIALS_OK;
		}
	}
	return invalid("--format must be json, token, header or env, not '%s'", s);
}

/* KEY=VALUE, split at the first '=': the value is passed on as it is, '=' and all. */
static int add_param(struct args *a, char *kv, size_t max)
{
	char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return invalid("--param needs KEY=VALUE, not '%s'", kv);
	if (a->n_params == max)
		return invalid("too many --param options");
	*eq = '\0';
	a->params[a->n_params].key = kv;
	a->params[a->n_params].value = eq + 1;
	a->n_params++;
	return AUTH0_CREDENTIALS_OK;
}

/* 'NAME: VALUE', split at the first ':'; blanks before the value are not part of it. */
static int add_header(struct args *a, char *line, size_t max)
{
	char *colon = strchr(line, ':');

	if (!colon || colon == line)
		return invalid("--header needs 'NAME: VALUE', not '%s'", line);
	if (a->n_headers == max)
		return invalid("too many --header options");
	*colon = '\0';
	a->headers[a->n_headers].name = line;
	a->headers[a->n_headers].value = colon + 1 + strspn(colon + 1, " \t");
	a->n_headers++;
	return AUTH0_CREDENTIALS_OK;
}

/*
 * Parse a verb's options; `allowed` lists the OPT_* it takes (the global ones always).
 * Returns OK, a code after reporting, or -1 when --help was printed.
 */
static int parse(struct auth0_credentials *c, int argc, char **argv, const unsigned *allowed,
		 size_t n_allowed, const char *usage, size_t max_positional, struct args *a)
{
	static const struct option options[] = {
		{ "keyring", required_argument, NULL, OPT_KEYRING },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "min-ttl", required_argument, NULL, OPT_MIN_TTL },
		{ "force-refresh", no_argument, NULL, OPT_FORCE },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "audience", required_argument, NULL, OPT_AUDIENCE },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "login-hint", required_argument, NULL, OPT_LOGIN_HINT },
		{ "connection", required_argument, NULL, OPT_CONNECTION },
		{ "user-id", required_argument, NULL, OPT_USER_ID },
		{ "audit-context", required_argument, NULL, OPT_AUDIT_CONTEXT },
		{ "dpop-method", required_argument, NULL, OPT_DPOP_METHOD },
		{ "dpop-url", required_argument, NULL, OPT_DPOP_URL },
		{ "subject-token-type", required_argument, NULL, OPT_SUBJECT_TOKEN_TYPE },
		{ "device", no_argument, NULL, OPT_DEVICE },
		{ "password", no_argument, NULL, OPT_PASSWORD },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ NULL, 0, NULL, 0 },
	};
	size_t max_params = (size_t)argc;
	int opt, code = AUTH0_CREDENTIALS_OK;

	a->params = calloc(max_params + 1, sizeof(*a->params));
	a->headers = calloc(max_params + 1, sizeof(*a->headers));
	if (!a->params || !a->headers)
		return report(NULL, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	optind = 0; /* glibc: start afresh */
	opterr = 0; /* errors are ours to print, as JSON */
	while (code == AUTH0_CREDENTIALS_OK &&
	       (opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		bool ok = opt == OPT_KEYRING || opt == OPT_TIMEOUT || opt == OPT_HELP;

		for (size_t i = 0; i < n_allowed; i++)
			ok = ok || (unsigned)opt == allowed[i];
		if (opt == '?' || opt == ':' || !ok) {
			const char *arg = argv[optind - 1];

			if (opt == ':')
				code = invalid("option '%s' needs a value", arg);
			else
				code = invalid("option '%s' is not known here (see --help)", arg);
			break;
		}
		switch (opt) {
		case OPT_KEYRING:
			code = set_keyring(c, optarg);
			break;
		case OPT_TIMEOUT:
			code = set_timeout(c, optarg);
			break;
		case OPT_HELP:
			help(usage);
			return -1;
		case OPT_SCOPE:
			a->scope = optarg;
			break;
		case OPT_MIN_TTL:
			if (!parse_number(optarg, 0, LLONG_MAX, &a->min_ttl))
				code = invalid("--min-ttl must be a number of seconds, not '%s'",
					       optarg);
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_PARAM:
			code = add_param(a, optarg, max_params);
			break;
		case OPT_FORMAT:
			code = set_format(a, optarg);
			break;
		case OPT_DOMAIN:
			a->tenant.domain = optarg;
			break;
		case OPT_CLIENT_ID:
			a->tenant.client_id = optarg;
			break;
		case OPT_CA_FILE:
			a->tenant.ca_file = optarg;
			break;
		case OPT_AUDIENCE:
			a->tenant.audience = optarg;
			break;
		case OPT_HEADER:
			code = add_header(a, optarg, max_params);
			break;
		case OPT_LOGIN_HINT:
			a->login_hint = optarg;
			break;
		case OPT_CONNECTION:
			a->connection = optarg;
			break;
		case OPT_USER_ID:
			a->user_id = optarg;
			break;
		case OPT_AUDIT_CONTEXT:
			a->audit_context = optarg;
			break;
		case OPT_DPOP_METHOD:
			a->dpop_method = optarg;
			break;
		case OPT_DPOP_URL:
			a->dpop_url = optarg;
			break;
		case OPT_SUBJECT_TOKEN_TYPE:
			a->subject_token_type = optarg;
			break;
		case OPT_DEVICE:
			a->device = true;
			break;
		case OPT_PASSWORD:
			a->password = true;
			break;
		case OPT_CONFIG:
			a->config = optarg;
			break;
		}
	}
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	for (; optind < argc; optind++) {
		if (a->n_positional == max_positional)
			return invalid("unexpected argument '%s' (see --help)", argv[optind]);
		a->positional[a->n_positional++] = argv[optind];
	}
	return AUTH0_CREDENTIALS_OK;
}

/* The options a verb takes besides the global ones: an array and its length. */
#define ALLOWED(...) \
	(const unsigned[]){ __VA_ARGS__ }, A0_ARRAY_SIZE(((const unsigned[]){ __VA_ARGS__ }))

static int print_tokens(struct auth0_credentials *c, int code, struct auth0_credentials_tokens *t,
			enum auth0_credentials_format format);

/*
 * The header format with --dpop-method and --dpop-url: the request's headers, a DPoP proof
 * included when the token is DPoP-bound (auth0_credentials_dpop_headers).
 */
static int print_headers(struct auth0_credentials *c, struct auth0_credentials_tokens *t,
			 const struct args *a)
{
	char *text = NULL;
	int code;

	if (!a->dpop_method != !a->dpop_url) {
		auth0_credentials_tokens_free(t);
		return invalid("--dpop-method and --dpop-url go together");
	}
	code = auth0_credentials_dpop_headers(c, t, a->dpop_method, a->dpop_url, &text);
	auth0_credentials_tokens_free(t);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(c, code, NULL);
	return emit(text);
}

static int print_tokens_for(struct auth0_credentials *c, int code,
			    struct auth0_credentials_tokens *t, const struct args *a)
{
	if (code == AUTH0_CREDENTIALS_OK && a->format == AUTH0_CREDENTIALS_FORMAT_HEADER)
		return print_headers(c, t, a);
	if (code == AUTH0_CREDENTIALS_OK && (a->dpop_method || a->dpop_url)) {
		auth0_credentials_tokens_free(t);
		return invalid("--dpop-method and --dpop-url are for --format header");
	}
	return print_tokens(c, code, t, a->format);
}

static int print_tokens(struct auth0_credentials *c, int code, struct auth0_credentials_tokens *t,
			enum auth0_credentials_format format)
{
	char *text = NULL;

	if (code != AUTH0_CREDENTIALS_OK)
		return report(c, code, NULL);
	code = auth0_credentials_format(t, format, &text);
	auth0_credentials_tokens_free(t);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(NULL, code, "the credentials cannot be printed in this format");
	return emit(text);
}

static int verb_get(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct auth0_credentials_tokens *t = NULL;
	int code;

	code = parse(c, argc, argv,
		     ALLOWED(OPT_SCOPE, OPT_MIN_TTL, OPT_FORCE, OPT_PARAM, OPT_FORMAT,
			     OPT_DPOP_METHOD, OPT_DPOP_URL),
		     usage_get, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	code = auth0_credentials_get(c, a->scope, a->min_ttl, a->force, a->params, a->n_params, &t);
	return print_tokens_for(c, code, t, a);
}

static int verb_has_valid(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	int code;

	code = parse(c, argc, argv, ALLOWED(OPT_MIN_TTL), usage_has_valid, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	code = auth0_credentials_has_valid(c, a->min_ttl);
	if (code != AUTH0_CREDENTIALS_OK && code != AUTH0_CREDENTIALS_NOT_VALID)
		return report(c, code, NULL);
	return code;
}

/*
 * All of stdin (up to MAX_STDIN) into *ret, NUL-terminated, its length in *ret_len and its
 * buffer's in *ret_cap (to wipe it); a code after reporting.
 */
static int read_stdin(char **ret, size_t *ret_len, size_t *ret_cap)
{
	size_t len = 0, cap = 4096;
	char *buf, *n;
	ssize_t got;
	int code = AUTH0_CREDENTIALS_OK;

	buf = malloc(cap);
	if (!buf)
		return report(NULL, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
	/* Each read fills the buffer until the input ends, or the buffer doubles. */
	while ((got = a0_read_full(STDIN_FILENO, buf + len, cap - len)) == (ssize_t)(cap - len)) {
		len = cap;
		if (cap >= MAX_STDIN) {
			code = invalid("the input is larger than 1 MiB");
			goto out;
		}
		/* Not realloc: the old buffer holds tokens and is wiped. */
		n = malloc(cap * 2);
		if (!n) {
			code = report(NULL, AUTH0_CREDENTIALS_UNKNOWN, "out of memory");
			goto out;
		}
		memcpy(n, buf, len);
		explicit_bzero(buf, cap);
		free(buf);
		buf = n;
		cap *= 2;
	}
	if (got < 0) {
		code = report(NULL, AUTH0_CREDENTIALS_INVALID_ARGUMENT, "could not read stdin");
		goto out;
	}
	len += (size_t)got; /* less than cap: the loop ended on a short read */
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	*ret_cap = cap;
	return AUTH0_CREDENTIALS_OK;
out:
	explicit_bzero(buf, cap);
	free(buf);
	return code;
}

static int verb_save(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	size_t len, cap;
	char *buf;
	int code;

	code = parse(c, argc, argv, ALLOWED(OPT_DOMAIN, OPT_CLIENT_ID, OPT_CA_FILE, OPT_AUDIENCE),
		     usage_save, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	if ((code = read_stdin(&buf, &len, &cap)) != AUTH0_CREDENTIALS_OK)
		return code;
	code = auth0_credentials_save(c, buf, len, &a->tenant);
	if (code != AUTH0_CREDENTIALS_OK)
		code = report(c, code, NULL);
	explicit_bzero(buf, cap);
	free(buf);
	return code;
}

static int verb_sso_exchange(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct auth0_credentials_sso *s = NULL;
	char *buf, *text = NULL;
	size_t len, cap;
	int code;

	code = parse(c, argc, argv,
		     ALLOWED(OPT_DOMAIN, OPT_CLIENT_ID, OPT_CA_FILE, OPT_PARAM, OPT_HEADER,
			     OPT_FORMAT),
		     usage_sso_exchange, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	if (a->format != AUTH0_CREDENTIALS_FORMAT_JSON && a->format != AUTH0_CREDENTIALS_FORMAT_ENV)
		return invalid("sso-exchange prints json or env (a rotated refresh token must not "
			       "be dropped)");
	if ((code = read_stdin(&buf, &len, &cap)) != AUTH0_CREDENTIALS_OK)
		return code;
	/* One line: the end of line (and blanks around) is not part of the token. */
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	code = auth0_credentials_sso_exchange(c, buf + strspn(buf, " \t"), &a->tenant, a->params,
					      a->n_params, a->headers, a->n_headers, &s);
	explicit_bzero(buf, cap);
	free(buf);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(c, code, NULL);
	code = auth0_credentials_sso_format(s, a->format, &text);
	auth0_credentials_sso_free(s);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(NULL, code, "the session transfer token cannot be printed");
	return emit(text);
}

/* A verb with no options and no output: its one call. */
static int verb_plain(struct auth0_credentials *c, int argc, char **argv, struct args *a,
		      const char *usage, int (*call)(struct auth0_credentials *c))
{
	int code = parse(c, argc, argv, NULL, 0, usage, 0, a);

	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	code = call(c);
	return code == AUTH0_CREDENTIALS_OK ? code : report(c, code, NULL);
}

static int verb_clear(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	return verb_plain(c, argc, argv, a, usage_clear, auth0_credentials_clear);
}

static int verb_revoke(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	return verb_plain(c, argc, argv, a, usage_revoke, auth0_credentials_revoke);
}

static int verb_api(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct auth0_credentials_tokens *t = NULL;
	bool get;
	int code;

	code = parse(c, argc, argv,
		     ALLOWED(OPT_SCOPE, OPT_MIN_TTL, OPT_PARAM, OPT_FORMAT, OPT_DPOP_METHOD,
			     OPT_DPOP_URL),
		     usage_api, 2, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	if (a->n_positional != 2 ||
	    (strcmp(a->positional[0], "get") != 0 && strcmp(a->positional[0], "clear") != 0))
		return invalid("use 'api get AUDIENCE' or 'api clear AUDIENCE'");
	get = strcmp(a->positional[0], "get") == 0;
	if (!get) {
		if (a->n_params || a->min_ttl || a->format_set)
			return invalid("api clear takes --scope only");
		code = auth0_credentials_api_clear(c, a->positional[1], a->scope);
		return code == AUTH0_CREDENTIALS_OK ? code : report(c, code, NULL);
	}
	code = auth0_credentials_api_get(c, a->positional[1], a->scope, a->min_ttl, a->params,
					 a->n_params, &t);
	return print_tokens_for(c, code, t, a);
}

/* vault exchange and vault worker: an exchange for a subject the caller gives. */
static int vault_for_subject(struct auth0_credentials *c, struct args *a, bool exchange)
{
	struct auth0_credentials_tokens *t = NULL;
	size_t len, cap;
	char *buf;
	int code;

	if (a->n_positional != 1 || a->min_ttl || !a->connection)
		return invalid("use 'vault %s --connection C' (no --min-ttl: nothing is cached)",
			       exchange ? "exchange" : "worker --user-id ID");
	if (!exchange) {
		if (!a->user_id)
			return invalid("vault worker needs --user-id ID (the Auth0 user id)");
		code = auth0_credentials_vault_worker(c, a->user_id, a->connection, a->login_hint,
						      a->scope, a->audit_context, &t);
		return print_tokens(c, code, t, a->format);
	}
	if (a->user_id || a->audit_context)
		return invalid("vault exchange takes the access token on stdin, not --user-id");
	if ((code = read_stdin(&buf, &len, &cap)) != AUTH0_CREDENTIALS_OK)
		return code;
	/* One line: the end of line (and blanks around) is not part of the token. */
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	code = auth0_credentials_vault_exchange(c, buf + strspn(buf, " \t"), a->connection,
						a->login_hint, a->scope, &t);
	explicit_bzero(buf, cap);
	free(buf);
	return print_tokens(c, code, t, a->format);
}

static int verb_vault(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct auth0_credentials_tokens *t = NULL;
	const char *sub;
	int code;

	code = parse(c, argc, argv,
		     ALLOWED(OPT_LOGIN_HINT, OPT_SCOPE, OPT_MIN_TTL, OPT_FORMAT, OPT_CONNECTION,
			     OPT_USER_ID, OPT_AUDIT_CONTEXT),
		     usage_vault, 2, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	sub = a->n_positional ? a->positional[0] : "";
	if (strcmp(sub, "exchange") == 0 || strcmp(sub, "worker") == 0)
		return vault_for_subject(c, a, strcmp(sub, "exchange") == 0);
	if (a->connection || a->user_id || a->audit_context)
		return invalid("--connection, --user-id and --audit-context are for vault exchange "
			       "and vault worker");
	if (strcmp(sub, "get") != 0 && strcmp(sub, "clear") != 0)
		return invalid("use 'vault get CONNECTION', 'vault clear [CONNECTION]', 'vault "
			       "exchange' or 'vault worker'");
	if (strcmp(sub, "clear") == 0) {
		if (a->scope || a->min_ttl || a->format_set)
			return invalid("vault clear takes --login-hint only");
		code = auth0_credentials_vault_clear(c,
						     a->n_positional == 2 ? a->positional[1] : NULL,
						     a->login_hint);
		return code == AUTH0_CREDENTIALS_OK ? code : report(c, code, NULL);
	}
	if (a->n_positional != 2)
		return invalid("use 'vault get CONNECTION'");
	code = auth0_credentials_vault_get(c, a->positional[1], a->login_hint, a->scope, a->min_ttl,
					   &t);
	return print_tokens(c, code, t, a->format);
}

static int verb_sso(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct auth0_credentials_sso *s = NULL;
	char *text = NULL;
	int code;

	code = parse(c, argc, argv, ALLOWED(OPT_PARAM, OPT_HEADER, OPT_FORMAT), usage_sso, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	if (a->format == AUTH0_CREDENTIALS_FORMAT_HEADER)
		return invalid("sso prints json, token or env");
	code = auth0_credentials_sso_headers(c, a->params, a->n_params, a->headers, a->n_headers,
					     &s);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(c, code, NULL);
	code = auth0_credentials_sso_format(s, a->format, &text);
	auth0_credentials_sso_free(s);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(NULL, code, "the session transfer token cannot be printed");
	return emit(text);
}

/* ------------------------------------------------------------------ from inside a session */

static int verb_userinfo(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	char *json = NULL;
	int code;

	code = parse(c, argc, argv, ALLOWED(OPT_MIN_TTL), usage_userinfo, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	code = auth0_credentials_userinfo(c, a->min_ttl, &json);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(c, code, NULL);
	code = a0_write_full(STDOUT_FILENO, json, strlen(json)) < 0 ||
			       a0_write_full(STDOUT_FILENO, "\n", 1) < 0
		       ? report(NULL, AUTH0_CREDENTIALS_UNKNOWN, "could not write to stdout")
		       : AUTH0_CREDENTIALS_OK;
	auth0_credentials_secret_free(json);
	return code;
}

static int verb_exchange(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct auth0_credentials_tenant where;
	size_t len, cap;
	char *buf;
	int code;

	code = parse(c, argc, argv,
		     ALLOWED(OPT_SUBJECT_TOKEN_TYPE, OPT_AUDIENCE, OPT_SCOPE, OPT_DOMAIN,
			     OPT_CLIENT_ID, OPT_CA_FILE),
		     usage_exchange, 0, a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	if (!a->subject_token_type)
		return invalid("exchange needs --subject-token-type URI (the subject token is read "
			       "from stdin)");
	if ((code = read_stdin(&buf, &len, &cap)) != AUTH0_CREDENTIALS_OK)
		return code;
	/* One line: the end of line (and blanks around) is not part of the token. */
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	/* --audience is the exchange's: the record's comes from the answer. */
	where = (struct auth0_credentials_tenant){ .domain = a->tenant.domain,
						   .client_id = a->tenant.client_id,
						   .ca_file = a->tenant.ca_file };
	code = auth0_credentials_exchange(c, buf + strspn(buf, " \t"), a->subject_token_type,
					  a->tenant.audience, a->scope, &where, NULL);
	explicit_bzero(buf, cap);
	free(buf);
	return code == AUTH0_CREDENTIALS_OK ? code : report(c, code, NULL);
}

/*
 * The terminal of `login`: prompts and answers on /dev/tty (secrets without echo); without one,
 * answers are lines of stdin and prompts go to stderr. The password is stdin's first line
 * when stdin is not a terminal (a script's pipe), the rest (MFA) from the terminal when there
 * is one. Text from the tenant reaches the terminal without control characters, bounded.
 */
#define MAX_REPLY 1024
#define MAX_SHOWN 2048

struct terminal {
	int tty;          /* /dev/tty, or -1 */
	bool stdin_first; /* the first answer comes from stdin */
	unsigned asked;
};

/* Write text for a person: control characters (but line ends) dropped, at most MAX_SHOWN. */
static void show(int fd, const char *text)
{
	char out[MAX_SHOWN + 2];
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p && n < MAX_SHOWN; p++)
		if (*p == '\n' || (*p >= 0x20 && *p != 0x7f))
			out[n++] = (char)*p;
	(void)a0_write_full(fd, out, n);
}

/* One line of fd, without its end: 0, or -1 at the end of input or over MAX_REPLY. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t got = read(fd, &ch, 1);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return n > 0 && n < size ? (buf[n] = '\0', 0) : -1;
		if (ch == '\n')
			break;
		if (n + 1 >= size)
			return -1;
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

static int terminal_ask(void *ctx, bool echo, const char *prompt, char **ret_reply)
{
	struct terminal *t = ctx;
	bool from_stdin = t->tty < 0 || (t->stdin_first && t->asked == 0);
	int in = from_stdin ? STDIN_FILENO : t->tty, out = t->tty >= 0 ? t->tty : STDERR_FILENO;
	struct termios old, quiet;
	bool restore = false;
	char buf[MAX_REPLY + 1];
	int r;

	t->asked++;
	if (!from_stdin || isatty(in))
		show(out, prompt);
	if (!echo && isatty(in) && tcgetattr(in, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(in, TCSAFLUSH, &quiet) == 0;
	}
	r = read_line(in, buf, sizeof(buf));
	if (restore) {
		(void)tcsetattr(in, TCSAFLUSH, &old);
		(void)a0_write_full(out, "\n", 1);
	}
	if (r == 0)
		*ret_reply = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return r == 0 && *ret_reply ? 0 : -1;
}

static void terminal_tell(void *ctx, bool error, const char *text)
{
	struct terminal *t = ctx;
	int out = t->tty >= 0 ? t->tty : STDERR_FILENO;

	show(out, text);
	(void)a0_write_full(out, "\n", 1);
}

static int verb_login(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	struct terminal t = { .tty = -1 };
	struct auth0_credentials_prompter p = { .ctx = &t,
						.ask = terminal_ask,
						.tell = terminal_tell };
	int code;

	code = parse(c, argc, argv, ALLOWED(OPT_DEVICE, OPT_PASSWORD, OPT_CONFIG), usage_login, 0,
		     a);
	if (code != AUTH0_CREDENTIALS_OK)
		return code;
	if (a->device && a->password)
		return invalid("--device and --password are the two ways: one of them");
	t.tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	t.stdin_first = !isatty(STDIN_FILENO);
	code = auth0_credentials_login(c, a->config,
				       a->device ? AUTH0_CREDENTIALS_LOGIN_DEVICE
						 : AUTH0_CREDENTIALS_LOGIN_PASSWORD,
				       &p);
	if (t.tty >= 0)
		close(t.tty);
	return code == AUTH0_CREDENTIALS_OK ? code : report(c, code, NULL);
}

static int verb_logout(struct auth0_credentials *c, int argc, char **argv, struct args *a)
{
	return verb_plain(c, argc, argv, a, usage_logout, auth0_credentials_logout);
}

static const struct verb {
	const char *name;
	int (*run)(struct auth0_credentials *c, int argc, char **argv, struct args *a);
	const char *usage;
} verbs[] = {
	{ "get", verb_get, usage_get },
	{ "has-valid", verb_has_valid, usage_has_valid },
	{ "save", verb_save, usage_save },
	{ "clear", verb_clear, usage_clear },
	{ "revoke", verb_revoke, usage_revoke },
	{ "api", verb_api, usage_api },
	{ "vault", verb_vault, usage_vault },
	{ "sso", verb_sso, usage_sso },
	{ "sso-exchange", verb_sso_exchange, usage_sso_exchange },
	{ "userinfo", verb_userinfo, usage_userinfo },
	{ "exchange", verb_exchange, usage_exchange },
	{ "login", verb_login, usage_login },
	{ "logout", verb_logout, usage_logout },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < A0_ARRAY_SIZE(verbs); i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "keyring", required_argument, NULL, OPT_KEYRING },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct auth0_credentials *c = NULL;
	struct args a = { 0 };
	const struct verb *v;
	int opt, code;

	code = auth0_credentials_new(&c);
	if (code != AUTH0_CREDENTIALS_OK)
		return report(NULL, code, "out of memory");
	opterr = 0;
	/* "+": options up to the verb are global; the verb parses the rest. */
	while (code == AUTH0_CREDENTIALS_OK &&
	       (opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
		switch (opt) {
		case OPT_KEYRING:
			code = set_keyring(c, optarg);
			break;
		case OPT_TIMEOUT:
			code = set_timeout(c, optarg);
			break;
		case OPT_HELP:
			code = help(usage_main);
			goto out;
		case OPT_VERSION:
			printf("auth0-credentials (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			goto out;
		default:
			if (opt == ':')
				code = invalid("option '%s' needs a value", argv[optind - 1]);
			else
				code = invalid("option '%s' is not known (see --help)",
					       argv[optind - 1]);
		}
	}
	if (code != AUTH0_CREDENTIALS_OK)
		goto out;
	if (optind >= argc) {
		code = invalid("no verb given (see --help)");
		goto out;
	}
	if (strcmp(argv[optind], "help") == 0) {
		v = optind + 1 < argc ? find_verb(argv[optind + 1]) : NULL;
		code = help(v ? v->usage : usage_main);
		goto out;
	}
	v = find_verb(argv[optind]);
	if (!v) {
		code = invalid("unknown verb '%s' (see --help)", argv[optind]);
		goto out;
	}
	code = v->run(c, argc - optind, argv + optind, &a);
	if (code < 0)
		code = AUTH0_CREDENTIALS_OK; /* --help */
out:
	free(a.params);
	free(a.headers);
	auth0_credentials_free(c);
	return code;
}
