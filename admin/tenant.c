/* SPDX-License-Identifier: MIT */
/*
 * admin/tenant.c: the diagnostics of admin/diag.h. check's tenant part reaches the tenant step by
 * step over the one HTTP client (lib/http.h) and stops at the first step that fails; status reads
 * the host's runtime state without changing it. Findings ids and what each severity means:
 * auth0-pam(8), DIAGNOSTICS.
 *
 * Nothing here sends a secret it was not configured to send, or prints one: the grant probes
 * carry the application's own client authentication (lib/auth0.c adds it) and, where a grant
 * needs a token or code, the constant PROBE_VALUE, which no tenant issued.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin/diag.h"
#include "admin/report.h"
#include "lib/assertion.h"
#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/offline.h"
#include "lib/outage.h"
#include "lib/passwordless.h"
#include "lib/util.h"
#include "nss/cache.h"

/* Longest text from the tenant (an issuer, an error description) put in a finding. */
#define MAX_SHOWN 160
/* Clock skew (seconds): the Date header has a resolution of one second; a clock kept by NTP is
 * off by milliseconds, so more than SKEW_WARN is a clock that is not synchronised. */
#define SKEW_NOISE 1
#define SKEW_WARN 5
/* How far ahead of the tenant the host's clock may be before Auth0 refuses what the host signs:
 * a client assertion (private_key_jwt) with an iat over 10 s in the future (docs-v2
 * get-started/authentication-and-authorization-flow/authenticate-with-private-key-jwt: "10
 * seconds of clock skew"); a DPoP proof over 30 s (Auth0's resource-server library,
 * node-oauth2-jwt-bearer, iatLeeway; the token endpoint's window is unverified). Behind the
 * tenant, the bound is the configuration's clock_skew: lib/jwt.c refuses an ID token whose iat
 * is more than that in the future. */
#define SKEW_ASSERTION 10
#define SKEW_DPOP 30
/* The identity cache is rewritten by every successful auth0-sync run (the timer: every 15
 * minutes and up to 5 more); older than four runs is a sync that is failing. */
#define CACHE_STALE (60 * 60)
/* auth0-sync writes the cache under this name in sync_dir (sync/main.c, CACHE_NAME). */
#define SYNC_CACHE_NAME "nss.cache"
/* What a probe sends where a grant needs a token or a code: never issued by any tenant. */
#define PROBE_VALUE "auth0-pam-check-not-a-token"

/* Text from outside made fit for a finding: printable ASCII, at most MAX_SHOWN bytes. */
static const char *shown(const char *s, char buf[MAX_SHOWN + 1])
{
	a0_format(buf, MAX_SHOWN + 1, "%s", s ? s : "");
	a0_text_scrub(buf, strlen(buf), A0_TEXT_ASCII);
	return buf;
}

/* t as an ISO 8601 UTC time. */
static const char *iso_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		a0_format(buf, size, "%lld", (long long)t);
	return buf;
}

static double real_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Does the blank-separated list s hold word? */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = s; p && *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
	}
	return false;
}

/* ------------------------------------------------------------------ check: the tenant */

/* DNS, TCP, TLS: one connection without a request (lib/http.c), which says where it stopped. */
static bool step_connect(const struct a0_config *cfg, struct a0_http *h, struct a0_report *r)
{
	const char *ca = cfg->ca_file ? cfg->ca_file : "the system's CA store";
	const char *via = cfg->proxy ? " (through the configured proxy)" : "";
	char err[256], ip[64], buf[MAX_SHOWN + 1];
	enum a0_http_step step;
	int rc;

	rc = a0_http_connect(h, &step, ip, sizeof(ip), err, sizeof(err));
	shown(err, buf);
	if (step == A0_HTTP_STEP_DNS) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-dns", cfg->domain,
			      "the name does not resolve%s: %s (%s)", via, a0_err_name(rc), buf);
		return false;
	}
	a0_report_add(r, A0_SEV_OK, "tenant-dns", cfg->domain, "the name resolves%s", via);
	if (step == A0_HTTP_STEP_TCP) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-tcp", cfg->domain,
			      "no TCP connection within %u s%s: %s (%s)", cfg->timeout, via,
			      a0_err_name(rc), buf);
		return false;
	}
	a0_report_add(r, A0_SEV_OK, "tenant-tcp", cfg->domain, "TCP connection to %s%s",
		      ip[0] ? ip : "the tenant", via);
	if (step == A0_HTTP_STEP_TLS_CERT) {
		a0_report_add(r, A0_SEV_FAILURE, "tls-ca", ca,
			      "the tenant's certificate is not accepted with this CA (%s): %s "
			      "(a wrong ca_file, or an interception)",
			      a0_err_name(rc), buf);
		return false;
	}
	if (step == A0_HTTP_STEP_TLS) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-tls", cfg->domain,
			      "the TLS handshake failed: %s (%s)", a0_err_name(rc), buf);
		return false;
	}
	a0_report_add(r, A0_SEV_OK, "tenant-tls", cfg->domain,
		      "TLS handshake, the certificate verified with %s", ca);
	return true;
}

/* GET path: true and the JSON object of a 200 answer in *ret (resp keeps its headers and
 * body: clear it), or a failure finding of id and false. */
static bool get_json(struct a0_http *h, struct a0_report *r, const char *id, const char *path,
		     struct a0_http_response *resp, cJSON **ret)
{
	char err[256], buf[MAX_SHOWN + 1];
	int rc;

	rc = a0_http_request(h, path, NULL, NULL, resp, err, sizeof(err));
	if (rc < 0) {
		a0_report_add(r, A0_SEV_FAILURE, id, path, "GET failed: %s (%s)", a0_err_name(rc),
			      shown(err, buf));
		return false;
	}
	if (resp->status != 200) {
		a0_report_add(r, A0_SEV_FAILURE, id, path, "the tenant answered HTTP %ld",
			      resp->status);
		return false;
	}
	if (a0_json_parse(resp->body, resp->len, ret) < 0 || !cJSON_IsObject(*ret)) {
		a0_json_free(*ret);
		*ret = NULL;
		a0_report_add(r, A0_SEV_FAILURE, id, path, "the answer is not a JSON object");
		return false;
	}
	return true;
}

/* The discovery document: its issuer must be the one ID tokens are checked against. Its Date
 * header and the local time halfway through the request go to the clock check. */
static bool step_discovery(const struct a0_config *cfg, struct a0_http *h, struct a0_report *r,
			   long long *ret_date, double *ret_local)
{
	static const char path[] = "/.well-known/openid-configuration";
	struct a0_http_response resp = { .date = -1 };
	char issuer[512], jwks[512], buf[MAX_SHOWN + 1];
	const char *got;
	cJSON *o = NULL;
	double t0 = real_now();
	bool ok;

	ok = get_json(h, r, "tenant-oidc", path, &resp, &o);
	*ret_local = (t0 + real_now()) / 2;
	*ret_date = resp.date;
	a0_http_response_clear(&resp);
	if (!ok)
		return false;
	a0_format(issuer, sizeof(issuer), "%s/", a0_http_base(h));
	a0_format(jwks, sizeof(jwks), "%s/.well-known/jwks.json", a0_http_base(h));
	got = a0_json_string(o, "issuer");
	ok = got && strcmp(got, issuer) == 0;
	if (!ok)
		a0_report_add(r, A0_SEV_FAILURE, "tenant-oidc", path,
			      "the issuer is '%s', not %s: ID tokens would be refused",
			      shown(got, buf), issuer);
	else
		a0_report_add(r, A0_SEV_OK, "tenant-oidc", path, "issuer %s", issuer);
	got = a0_json_string(o, "jwks_uri");
	if (ok && (!got || strcmp(got, jwks) != 0))
		a0_report_add(r, A0_SEV_WARNING, "tenant-jwks", path,
			      "jwks_uri is '%s'; the module reads the keys at %s", shown(got, buf),
			      jwks);
	a0_json_free(o);
	return ok;
}

/* The key set the module verifies ID tokens with (lib/idtoken.c): at least one usable key. */
static bool step_jwks(struct a0_http *h, struct a0_report *r)
{
	static const char path[] = "/.well-known/jwks.json";
	struct a0_http_response resp = { .date = -1 };
	struct a0_jwks *keys = NULL;
	size_t n = 0, usable = 0;
	cJSON *o = NULL;
	int rc = A0_ERR_MALFORMED;

	if (!get_json(h, r, "tenant-jwks", path, &resp, &o)) {
		a0_http_response_clear(&resp);
		return false;
	}
	a0_json_free(o);
	if (resp.len <= A0_JWKS_MAX_LEN)
		rc = a0_jwks_parse(resp.body, resp.len, &keys);
	a0_http_response_clear(&resp);
	if (rc == 0)
		n = a0_jwks_count(keys, &usable);
	a0_jwks_free(keys);
	if (rc < 0) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-jwks", path,
			      "the key set is not one the module reads (%s)", a0_err_name(rc));
		return false;
	}
	if (usable == 0) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-jwks", path,
			      "no usable signing key among %zu: ID tokens would be refused", n);
		return false;
	}
	a0_report_add(r, A0_SEV_OK, "tenant-jwks", path, "%zu keys, %zu usable", n, usable);
	return true;
}

/* The host's clock against the tenant's Date header (positive skew: the host is behind). */
static void check_clock(const struct a0_config *cfg, struct a0_report *r, long long date,
			double local)
{
	long long skew, ahead_max = -1, limit;
	const char *why;
	double d;

	if (date < 0) {
		a0_report_add(r, A0_SEV_WARNING, "clock-skew", NULL,
			      "the tenant's answer had no Date header: the skew is not measured");
		return;
	}
	d = (double)date - local;
	skew = (long long)(d >= 0 ? d + 0.5 : d - 0.5);
	a0_report_set(r, "clock_skew_seconds", "%lld", skew);
	if (cfg->client_private_key_file)
		ahead_max = SKEW_ASSERTION;
	else if (cfg->dpop)
		ahead_max = SKEW_DPOP;
	if (skew >= 0) {
		limit = cfg->clock_skew;
		why = "ID tokens' iat would be in the future beyond clock_skew";
	} else {
		limit = ahead_max >= 0 ? ahead_max : cfg->clock_skew;
		why = cfg->client_private_key_file
			      ? "Auth0 refuses client assertions over 10 s ahead"
		      : cfg->dpop ? "Auth0 refuses DPoP proofs over 30 s ahead"
				  : "beyond clock_skew";
	}
	if (llabs(skew) > limit + SKEW_NOISE)
		a0_report_add(r, A0_SEV_FAILURE, "clock-skew", NULL,
			      "this host's clock is %lld s %s the tenant's: %s (%lld s)",
			      llabs(skew), skew >= 0 ? "behind" : "ahead of", why, limit);
	else if (llabs(skew) > SKEW_WARN)
		a0_report_add(r, A0_SEV_WARNING, "clock-skew", NULL,
			      "this host's clock is %lld s %s the tenant's (a synchronised clock is "
			      "within %d s; logins fail beyond %lld s)",
			      llabs(skew), skew >= 0 ? "behind" : "ahead of", SKEW_WARN, limit);
	else
		a0_report_add(r, A0_SEV_INFO, "clock-skew", NULL,
			      "this host's clock is within %lld s of the tenant's", llabs(skew));
}

/*
 * The grant probes. Each asks /oauth/token for a grant with nothing that could succeed (no
 * password, or a token or code no tenant issued), so no user is named, no failed login is
 * counted and no session or code is created. Auth0 checks the application's grant types first:
 * 403 unauthorized_client "Grant type `…` not allowed for the client." when it lacks the grant
 * (the fake tenant's token_endpoint follows that order; Auth0's order of its later checks is
 * unverified), and otherwise an answer about the missing or bogus value. The device grant is
 * probed with a bogus device_code, not by POST /oauth/device/code, which would create a pending
 * code.
 */
enum probe_id {
	P_PASSWORD,
	P_REFRESH,
	P_MFA_OTP,
	P_MFA_OOB,
	P_MFA_RECOVERY,
	P_DEVICE,
	P_PASSWORDLESS,
	P_N
};

static const char *const probe_names[P_N] = {
	[P_PASSWORD] = "password-realm",
	[P_REFRESH] = "refresh_token",
	[P_MFA_OTP] = "mfa-otp",
	[P_MFA_OOB] = "mfa-oob",
	[P_MFA_RECOVERY] = "mfa-recovery-code",
	[P_DEVICE] = "device_code",
	[P_PASSWORDLESS] = "passwordless/otp",
};

static int probe(struct a0_client *c, const struct a0_config *cfg, enum probe_id p,
		 struct a0_result *res)
{
	const char *passwordless[] = { "grant_type", A0_GRANT_PASSWORDLESS_OTP, "realm", "email",
				       NULL };
	struct a0_tokens *t = NULL;
	int rc = A0_ERR_INVALID;

	switch (p) {
	case P_PASSWORD:
		rc = a0_grant_password_realm(c, cfg, NULL, NULL, &t, res);
		break;
	case P_REFRESH:
		rc = a0_grant_refresh(c, PROBE_VALUE, NULL, NULL, NULL, 0, &t, res);
		break;
	case P_MFA_OTP:
		rc = a0_grant_mfa_otp(c, PROBE_VALUE, "000000", &t, res);
		break;
	case P_MFA_OOB:
		rc = a0_grant_mfa_oob(c, PROBE_VALUE, PROBE_VALUE, NULL, &t, res);
		break;
	case P_MFA_RECOVERY:
		rc = a0_grant_mfa_recovery(c, PROBE_VALUE, PROBE_VALUE, &t, res);
		break;
	case P_DEVICE:
		rc = a0_grant_device_code(c, PROBE_VALUE, &t, res);
		break;
	case P_PASSWORDLESS:
		rc = a0_token_request(c, passwordless, &t, res);
		break;
	case P_N:
		break;
	}
	a0_tokens_free(t);
	return rc;
}

/* Which grants this configuration signs in with. */
static bool method_used(const struct a0_config *cfg, const char *name)
{
	if (cfg->login_methods.n == 0)
		return strcmp(name, "password") == 0;
	return a0_list_contains(&cfg->login_methods, name);
}

static bool mfa_used(const struct a0_config *cfg, enum a0_mfa_method a, enum a0_mfa_method b)
{
	for (size_t i = 0; i < cfg->n_mfa_methods; i++)
		if (cfg->mfa_methods[i] == a || cfg->mfa_methods[i] == b)
			return true;
	return false;
}

static bool needed(const struct a0_config *cfg, enum probe_id p)
{
	switch (p) {
	case P_PASSWORD:
		return method_used(cfg, "password");
	case P_REFRESH:
		return has_word(cfg->scope, "offline_access");
	case P_MFA_OTP:
		return mfa_used(cfg, A0_MFA_OTP, A0_MFA_OTP);
	case P_MFA_OOB:
		return mfa_used(cfg, A0_MFA_PUSH, A0_MFA_SMS) ||
		       mfa_used(cfg, A0_MFA_VOICE, A0_MFA_EMAIL);
	case P_MFA_RECOVERY:
		return mfa_used(cfg, A0_MFA_RECOVERY, A0_MFA_RECOVERY);
	case P_DEVICE:
		return method_used(cfg, "device");
	case P_PASSWORDLESS:
		return method_used(cfg, "email") || method_used(cfg, "sms");
	case P_N:
		break;
	}
	return false;
}

/* How bad a refused grant the configuration uses is. MFA is the tenant's choice: only a
 * configuration that names its MFA methods or enrols at login says MFA will be asked. */
static enum a0_severity refused_severity(const struct a0_config *cfg, enum probe_id p)
{
	bool mfa = p == P_MFA_OTP || p == P_MFA_OOB || p == P_MFA_RECOVERY;

	if (!needed(cfg, p))
		return A0_SEV_INFO;
	if (mfa && !cfg->mfa_methods_set && cfg->mfa_enroll == A0_MFA_ENROLL_NO)
		return A0_SEV_WARNING;
	return A0_SEV_FAILURE;
}

static void check_grants(const struct a0_config *cfg, struct a0_http *h, struct a0_report *r)
{
	struct a0_client c = { .http = h,
			       .client_id = cfg->client_id,
			       .client_secret = cfg->client_secret,
			       .domain = cfg->domain };
	struct a0_client_key *key = NULL;
	struct a0_result res = { 0 };
	char err[256], buf[MAX_SHOWN + 1];
	int rc;

	if (cfg->client_private_key_file) {
		rc = a0_client_key_load(cfg->client_private_key_file, "client_private_key_file",
					&key, err, sizeof(err));
		if (rc < 0) {
			a0_report_add(r, A0_SEV_FAILURE, "client-auth",
				      cfg->client_private_key_file, "the grants are not probed: %s",
				      shown(err, buf));
			return;
		}
		c.client_key = key;
	}
	for (enum probe_id p = 0; p < P_N; p++) {
		const char *name = probe_names[p];

		rc = probe(&c, cfg, p, &res);
		if (rc != 0 && res.status == 401 &&
		    (strcmp(res.error, "access_denied") == 0 ||
		     strcmp(res.error, "invalid_client") == 0)) {
			a0_report_add(r, A0_SEV_FAILURE, "client-auth", cfg->client_id,
				      "the tenant refused the application's client authentication "
				      "(HTTP 401 %s); no grant is probed further",
				      shown(res.error, buf));
			break;
		}
		if (rc != 0 && (strcmp(res.error, "unauthorized_client") == 0 ||
				strcmp(res.error, "unsupported_grant_type") == 0)) {
			enum a0_severity sev = refused_severity(cfg, p);

			a0_report_add(r, sev, "grant", name, "not allowed for the application%s",
				      sev == A0_SEV_INFO ? " (this configuration does not use it)"
				      : sev == A0_SEV_WARNING
					      ? ": a user the tenant asks for MFA cannot sign in"
					      : ": this configuration needs it");
		} else if (rc == 0 || (res.status >= 400 && res.status < 500 && res.status != 429 &&
				       res.error[0])) {
			a0_report_add(r, A0_SEV_INFO, "grant", name, "allowed for the application");
		} else {
			a0_report_add(r, A0_SEV_WARNING, "grant", name,
				      "could not tell whether it is allowed: %s, HTTP %ld (%s)",
				      a0_err_name(rc), res.status, shown(res.description, buf));
			if (res.status == 0)
				break; /* the tenant is out of reach: the others would wait as long */
		}
		a0_result_clear(&res);
	}
	a0_result_clear(&res);
	a0_client_key_free(key);
}

int a0_diag_tenant(const struct a0_config *cfg, struct a0_report *r)
{
	struct a0_http_options opt = { .domain = cfg->domain,
				       .ca_file = cfg->ca_file,
				       .proxy = cfg->proxy,
				       .timeout = cfg->timeout };
	struct a0_http *h = NULL;
	long long date = -1;
	double local = 0;
	int rc;

	if (!cfg->domain || !cfg->client_id) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-dns", NULL,
			      "the configuration names no domain or client_id: the tenant is not "
			      "checked");
		return 0;
	}
	rc = a0_http_new(&opt, &h);
	if (rc == A0_ERR_NOMEM)
		return rc;
	if (rc < 0) {
		a0_report_add(r, A0_SEV_FAILURE, "tenant-tls", cfg->domain,
			      "the HTTP client cannot be set up with this configuration (%s)",
			      a0_err_name(rc));
		return 0;
	}
	if (step_connect(cfg, h, r) && step_discovery(cfg, h, r, &date, &local) &&
	    step_jwks(h, r)) {
		check_clock(cfg, r, date, local);
		check_grants(cfg, h, r);
	}
	a0_http_free(h);
	return 0;
}

/* ------------------------------------------------------------------ status */

static void status_outage(const struct a0_config *cfg, struct a0_report *r, time_t now)
{
	char reason[256], when[32];
	long long next = 0;
	unsigned backoff = 0;
	int rc;

	if (cfg->offline_backoff_min == 0) {
		a0_report_set(r, "online", "unknown");
		a0_report_add(r, A0_SEV_INFO, "outage", NULL,
			      "offline_backoff_min is 0: no outage is remembered, every login asks "
			      "Auth0");
		return;
	}
	rc = a0_outage_peek(cfg->state_dir, &next, &backoff, reason, sizeof(reason));
	if (rc == A0_ERR_NOT_FOUND) {
		a0_report_set(r, "online", "yes");
		a0_report_add(r, A0_SEV_OK, "outage", cfg->state_dir,
			      "no outage known: logins ask Auth0");
	} else if (rc < 0) {
		a0_report_set(r, "online", "unknown");
		a0_report_add(r, A0_SEV_WARNING, "outage", cfg->state_dir,
			      "the known-offline state is not kept: %s", reason);
	} else if (next > (long long)now) {
		iso_time((time_t)next, when, sizeof(when));
		a0_report_set(r, "online", "no");
		a0_report_set(r, "next_check", "%s", when);
		a0_report_add(r, A0_SEV_WARNING, "outage", cfg->state_dir,
			      "known offline: logins use the offline policy without asking Auth0 "
			      "until %s (in %lld s; backoff %u s)",
			      when, next - (long long)now, backoff);
	} else {
		iso_time((time_t)next, when, sizeof(when));
		a0_report_set(r, "online", "unknown");
		a0_report_set(r, "next_check", "%s", when);
		a0_report_add(r, A0_SEV_INFO, "outage", cfg->state_dir,
			      "an outage was known; its check was due at %s: the next login asks "
			      "Auth0",
			      when);
	}
}

static void status_cache(const struct a0_config *cfg, struct a0_report *r, time_t now)
{
	char path[4096], when[32];
	struct stat st;
	long long age;

	if (snprintf(path, sizeof(path), "%s/%s", cfg->sync_dir, SYNC_CACHE_NAME) >=
	    (int)sizeof(path)) {
		a0_report_add(r, A0_SEV_WARNING, "identity-cache", cfg->sync_dir,
			      "sync_dir is too long");
		return;
	}
	if (strcmp(path, A0_CACHE_PATH) != 0)
		a0_report_add(r, A0_SEV_WARNING, "identity-cache", path,
			      "auth0-sync writes the cache here, but the NSS module reads %s",
			      A0_CACHE_PATH);
	if (stat(path, &st) < 0) {
		a0_report_set(r, "identity_cache", "none");
		a0_report_add(r, cfg->sync_client_id ? A0_SEV_WARNING : A0_SEV_INFO,
			      "identity-cache", path, "no identity cache (%s)%s", strerror(errno),
			      cfg->sync_client_id ? ": auth0-sync has not run successfully"
						  : ": auth0-sync is not set up (sync_client_id)");
		return;
	}
	age = (long long)now - (long long)st.st_mtime;
	iso_time(st.st_mtime, when, sizeof(when));
	a0_report_set(r, "identity_cache_updated", "%s", when);
	a0_report_set(r, "identity_cache_age_seconds", "%lld", age);
	a0_report_add(r, age > CACHE_STALE ? A0_SEV_WARNING : A0_SEV_OK, "identity-cache", path,
		      "updated %lld s ago (%s)%s", age, when,
		      age > CACHE_STALE ? ": auth0-sync has not succeeded for over an hour" : "");
}

struct offline_walk {
	const struct a0_config *cfg;
	struct a0_report *r;
	time_t now;
	unsigned n;
};

static int offline_one(const struct a0_offline_entry *e, void *arg)
{
	struct offline_walk *w = arg;
	time_t deadline = e->last_online + (time_t)w->cfg->offline_max_age;
	char last[32], until[32], key[sizeof(e->user) + 16];

	w->n++;
	iso_time(e->last_online, last, sizeof(last));
	iso_time(deadline, until, sizeof(until));
	a0_format(key, sizeof(key), "offline_until.%s", e->user);
	a0_report_set(w->r, key, "%s", until);
	if (w->cfg->offline_max_failures && e->failures >= w->cfg->offline_max_failures)
		a0_report_add(w->r, A0_SEV_INFO, "offline-user", e->user,
			      "offline login locked after %u failures until an online login (last "
			      "online %s)",
			      e->failures, last);
	else if (w->now < deadline)
		a0_report_add(w->r, A0_SEV_INFO, "offline-user", e->user,
			      "may log in offline until %s (last online %s, %u failures)", until,
			      last, e->failures);
	else
		a0_report_add(w->r, A0_SEV_INFO, "offline-user", e->user,
			      "offline login expired at %s (last online %s)", until, last);
	return 0;
}

static void status_offline(const struct a0_config *cfg, struct a0_report *r, time_t now)
{
	struct offline_walk w = { cfg, r, now, 0 };
	struct a0_offline o;
	char reason[256];
	unsigned skipped = 0;
	int rc;

	if (geteuid() != 0) {
		a0_report_add(r, A0_SEV_INFO, "offline-user", NULL,
			      "the offline deadlines are root's to read");
		return;
	}
	if (!a0_config_offline_used(cfg) || cfg->offline_max_age == 0) {
		a0_report_add(r, A0_SEV_INFO, "offline-user", NULL,
			      "offline login is off (every service's offline policy is deny, or "
			      "offline_max_age is 0)");
		return;
	}
	a0_offline_of(cfg, &o);
	rc = a0_offline_list(&o, offline_one, &w, &skipped, reason, sizeof(reason));
	a0_report_set(r, "offline_users", "%u", w.n);
	if (rc < 0)
		a0_report_add(r, A0_SEV_WARNING, "offline-user", cfg->offline_dir,
			      "the verifiers cannot be read: %s", reason);
	else if (w.n == 0)
		a0_report_add(r, A0_SEV_INFO, "offline-user", cfg->offline_dir,
			      "no user may log in offline yet (no online login kept a verifier)");
	if (skipped)
		a0_report_add(r, A0_SEV_WARNING, "offline-user", cfg->offline_dir,
			      "%u verifier files are unsafe or malformed and were skipped",
			      skipped);
}

/* The broker's socket: a connection, closed at once (the broker drops a connection that sends
 * nothing, silently; its protocol has no request without a token). */
static void status_broker(const struct a0_config *cfg, struct a0_report *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool expected = cfg->client_private_key_file != NULL;
	int fd, rc = -1, e = 0;

	if (!cfg->broker_socket ||
	    a0_str_copy(sa.sun_path, sizeof(sa.sun_path), cfg->broker_socket) < 0) {
		a0_report_add(r, A0_SEV_WARNING, "broker", cfg->broker_socket,
			      "no usable broker_socket path");
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		e = errno;
		(void)close(fd);
	} else {
		e = errno;
	}
	if (rc == 0) {
		a0_report_set(r, "broker", "listening");
		a0_report_add(r, A0_SEV_OK, "broker", cfg->broker_socket,
			      "the socket accepts connections");
	} else if (e == ENOENT) {
		a0_report_set(r, "broker", "absent");
		a0_report_add(r, expected ? A0_SEV_WARNING : A0_SEV_INFO, "broker",
			      cfg->broker_socket, "no socket: auth0-broker is not running%s",
			      expected ? " (client_private_key_file is set: sessions' refreshes "
					 "need it)"
				       : "");
	} else {
		a0_report_set(r, "broker", "down");
		a0_report_add(r, A0_SEV_WARNING, "broker", cfg->broker_socket,
			      "the socket does not accept connections: %s", strerror(e));
	}
}

int a0_diag_status(const struct a0_config *cfg, struct a0_report *r)
{
	time_t now = time(NULL);

	status_outage(cfg, r, now);
	status_cache(cfg, r, now);
	status_offline(cfg, r, now);
	status_broker(cfg, r);
	return 0;
}
