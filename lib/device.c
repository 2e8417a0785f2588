/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/device.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/qr.h"
#include "lib/secret.h"
#include "lib/util.h"

#define MAX_MESSAGE 2048 /* the text around the QR code */
#define NS_PER_S 1000000000LL

void a0_device_code_clear(struct a0_device_code *d)
{
	a0_secret_free(d->device_code);
	explicit_bzero(d, sizeof(*d));
}

/* host[:port] of a domain setting or of an https address's authority, split. */
struct authority {
	char host[256];
	unsigned port; /* 443 when not given */
};

static int split_authority(const char *s, size_t n, struct authority *ret)
{
	const char *colon = memchr(s, ':', n);
	size_t hlen = colon ? (size_t)(colon - s) : n;
	unsigned long port = 443;

	if (hlen == 0 || hlen >= sizeof(ret->host))
		return -1;
	if (colon) {
		char digits[8], *end;

		if (n - hlen - 1 == 0 || n - hlen - 1 >= sizeof(digits))
			return -1;
		memcpy(digits, colon + 1, n - hlen - 1);
		digits[n - hlen - 1] = '\0';
		errno = 0;
		port = strtoul(digits, &end, 10);
		if (*end || errno || port == 0 || port > 65535 || digits[0] < '0' || digits[0] > '9')
			return -1;
	}
	memcpy(ret->host, s, hlen);
	ret->host[hlen] = '\0';
	ret->port = (unsigned)port;
	return 0;
}

static bool same_authority(const struct authority *a, const char *domain)
{
	struct authority d;

	return domain && split_authority(domain, strlen(domain), &d) == 0 &&
	       strcasecmp(a->host, d.host) == 0 && a->port == d.port;
}

/*
 * An address the person may be sent to: printable ASCII without blanks, https, an authority
 * without user information that is the tenant's domain or its custom domain.
 */
static int check_address(const char *name, const char *uri, const struct a0_config *cfg,
			 char *dst, char *why, size_t whylen)
{
	size_t n = strlen(uri), alen;
	struct authority a;
	const char *auth;

	if (n == 0 || n > A0_DEVICE_MAX_URI) {
		a0_format(why, whylen, "%s is empty or over %d bytes", name, A0_DEVICE_MAX_URI);
		return A0_ERR_MALFORMED;
	}
	if (!a0_text_ok(uri, n, A0_TEXT_TOKEN)) {
		a0_format(why, whylen, "%s holds control characters, blanks or non-ASCII bytes",
			  name);
		return A0_ERR_MALFORMED;
	}
	if (strncasecmp(uri, "https://", 8) != 0) {
		a0_format(why, whylen, "%s is not an https address", name);
		return A0_ERR_MALFORMED;
	}
	auth = uri + 8;
	alen = strcspn(auth, "/?#");
	if (memchr(auth, '@', alen) || split_authority(auth, alen, &a) < 0 ||
	    !(same_authority(&a, cfg->domain) || same_authority(&a, cfg->custom_domain))) {
		a0_format(why, whylen, "%s is not on the tenant's domain %s%s%s", name, cfg->domain,
			  cfg->custom_domain ? " or " : "",
			  cfg->custom_domain ? cfg->custom_domain : "");
		return A0_ERR_MALFORMED;
	}
	memcpy(dst, uri, n + 1);
	return 0;
}

/* The user code, with every byte that is not printable ASCII taken out. */
static int take_user_code(const char *code, char *dst, char *why, size_t whylen)
{
	size_t n = strlen(code), k = 0;

	if (n > A0_DEVICE_MAX_USER_CODE) {
		a0_format(why, whylen, "user_code is over %d bytes", A0_DEVICE_MAX_USER_CODE);
		return A0_ERR_MALFORMED;
	}
	for (size_t i = 0; i < n; i++)
		if (a0_text_ok(code + i, 1, A0_TEXT_ASCII))
			dst[k++] = code[i];
	dst[k] = '\0';
	if (strspn(dst, " ") == k) {
		a0_format(why, whylen, "user_code has nothing printable");
		return A0_ERR_MALFORMED;
	}
	return 0;
}

int a0_device_parse_code(const char *body, size_t len, const struct a0_config *cfg,
			 struct a0_device_code *ret, char *why, size_t whylen)
{
	struct a0_device_code d = { 0 };
	const char *device_code, *user_code, *uri, *complete;
	long long expires_in = 0, interval = A0_DEVICE_DEFAULT_INTERVAL;
	cJSON *root = NULL;
	int r = A0_ERR_MALFORMED;

	if (a0_json_parse(body, len, &root) < 0 || !cJSON_IsObject(root)) {
		a0_format(why, whylen, "the device code answer is not a JSON object");
		goto out;
	}
	device_code = a0_json_string(root, "device_code");
	user_code = a0_json_string(root, "user_code");
	uri = a0_json_string(root, "verification_uri");
	complete = cJSON_GetObjectItemCaseSensitive(root, "verification_uri_complete")
			   ? a0_json_string(root, "verification_uri_complete")
			   : "";
	if (!device_code || !*device_code || strlen(device_code) > A0_MAX_TOKEN ||
	    !a0_text_ok(device_code, strlen(device_code), A0_TEXT_TOKEN)) {
		a0_format(why, whylen, "device_code missing, over-long or not a token");
		goto out;
	}
	if (!user_code || !uri || !complete) {
		a0_format(why, whylen, "user_code or a verification address missing or not text");
		goto out;
	}
	if (a0_json_uint(root, "expires_in", A0_DEVICE_MAX_EXPIRES, &expires_in) != 0 ||
	    expires_in == 0) {
		a0_format(why, whylen, "expires_in missing or not from 1 to %d",
			  A0_DEVICE_MAX_EXPIRES);
		goto out;
	}
	if (a0_json_uint(root, "interval", A0_DEVICE_MAX_INTERVAL, &interval) < 0) {
		a0_format(why, whylen, "interval not from 0 to %d", A0_DEVICE_MAX_INTERVAL);
		goto out;
	}
	if ((r = take_user_code(user_code, d.user_code, why, whylen)) < 0 ||
	    (r = check_address("verification_uri", uri, cfg, d.verification_uri, why, whylen)) <
		    0 ||
	    (*complete && (r = check_address("verification_uri_complete", complete, cfg,
					     d.verification_uri_complete, why, whylen)) < 0))
		goto out;
	r = A0_ERR_NOMEM;
	if (!(d.device_code = a0_secret_dup(device_code)))
		goto out;
	d.expires_in = (unsigned)expires_in;
	/* Never faster than a poll a second, whatever the tenant says. */
	d.interval = interval < 1 ? 1 : (unsigned)interval;
	*ret = d;
	memset(&d, 0, sizeof(d));
	r = 0;
out:
	a0_device_code_clear(&d);
	a0_json_free(root);
	return r;
}

/* ---- the flow ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Sleep until the monotonic time `until` (ns): a timed wait, never a busy one. */
static void sleep_until(int64_t until)
{
	struct timespec ts = { .tv_sec = (time_t)(until / NS_PER_S),
			       .tv_nsec = (long)(until % NS_PER_S) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* What the person reads: where to go, the code, the QR code, and the warning. */
static void tell_instructions(const struct a0_config *cfg, const char *host,
			      const struct a0_prompter *p, const struct a0_device_code *d)
{
	char msg[MAX_MESSAGE], shown[A0_SHOW_MAX + 1];
	char *qr = NULL;
	const char *target = d->verification_uri_complete[0] ? d->verification_uri_complete
							    : d->verification_uri;

	a0_show(host, shown);
	a0_format(msg, sizeof(msg),
		  "To sign in to %s, open this address in a browser on your phone or computer:\n"
		  "  %s\n"
		  "and enter the code: %s",
		  shown, d->verification_uri, d->user_code);
	p->tell(p->ctx, false, msg);
	if (cfg->device_qr != A0_QR_NONE && a0_qr_render(target, cfg->device_qr, &qr) == 0) {
		p->tell(p->ctx, false, "Or scan this QR code:");
		p->tell(p->ctx, false, qr);
	}
	free(qr);
	a0_format(msg, sizeof(msg),
		  "Continue only if you started this sign-in on %s yourself, just now. If someone "
		  "else sent you this code or address, do not enter it: they would be signed in as "
		  "you.",
		  shown);
	p->tell(p->ctx, true, msg);
}

/* Why the person is told nothing more than "refused", and the log line the reason. */
static int refuse(const struct a0_prompter *p, struct a0_result *res, int r, const char *why)
{
	a0_result_clear(res);
	a0_format(res->description, sizeof(res->description), "device code answer refused: %s",
		  why);
	p->tell(p->ctx, true,
		"The sign-in service sent a device sign-in this host does not trust (an address "
		"that is not https on the tenant's domain, or an unusable code): refused.");
	return r;
}

/* One poll's verdict, with access_denied and a code the tenant no longer knows named. */
static int poll_once(struct a0_client *c, const struct a0_device_code *d, struct a0_tokens **ret,
		     struct a0_result *res)
{
	int r = a0_grant_device_code(c, d->device_code, ret, res);

	if (r == A0_ERR_AUTH0 && strcmp(res->error, "access_denied") == 0)
		return A0_ERR_REJECTED;
	/* RFC 8628 §3.5: expired_token; Auth0 answers it once, invalid_grant after. */
	if (r == A0_ERR_DENIED)
		return A0_ERR_EXPIRED;
	return r;
}

int a0_device_sign_in(struct a0_client *c, const struct a0_config *cfg, const char *host,
		      const struct a0_prompter *p, struct a0_tokens **ret, struct a0_result *res)
{
	struct a0_device_code d = { 0 };
	char *body = NULL, why[160];
	size_t len = 0;
	int64_t deadline, next;
	unsigned interval, limit;
	int r;

	r = a0_device_code_request(c, cfg, &body, &len, res);
	if (r < 0)
		goto out;
	next = now_ns();
	r = a0_device_parse_code(body, len, cfg, &d, why, sizeof(why));
	if (r < 0) {
		r = refuse(p, res, r, why);
		goto out;
	}
	interval = d.interval;
	limit = cfg->device_timeout < d.expires_in ? cfg->device_timeout : d.expires_in;
	deadline = next + (int64_t)limit * NS_PER_S;
	next += (int64_t)interval * NS_PER_S;
	tell_instructions(cfg, host, p, &d);
	if (p->ack_messages) {
		char *reply = NULL;
		bool answered;

		r = p->ask(p->ctx, false, "Press Enter after approving the sign-in in your browser: ",
			   &reply);
		answered = r == 0 && reply;
		a0_secret_free(reply);
		if (!answered) {
			r = A0_ERR_CONV;
			goto out;
		}
	} else {
		a0_format(why, sizeof(why), "Waiting for your approval (up to %u seconds)...", limit);
		p->tell(p->ctx, false, why);
	}
	for (;;) {
		if (next > deadline) {
			a0_result_clear(res);
			a0_format(res->description, sizeof(res->description),
				  "device sign-in not approved within %u seconds", limit);
			r = A0_ERR_NOT_APPROVED;
			goto out;
		}
		sleep_until(next);
		r = poll_once(c, &d, ret, res);
		/* RFC 8628 §3.5 and Auth0: count each interval from the answer to the last poll. */
		next = now_ns();
		if (r == A0_ERR_SLOW_DOWN)
			interval += A0_DEVICE_SLOW_DOWN;
		else if (r != A0_ERR_PENDING)
			break;
		next += (int64_t)interval * NS_PER_S;
	}
	if (r == A0_ERR_REJECTED && !res->description[0])
		a0_format(res->description, sizeof(res->description), "device sign-in denied");
out:
	a0_device_code_clear(&d);
	a0_secret_free(body);
	return r;
}
