/* SPDX-License-Identifier: MIT */
#ifndef A0_HTTP_H
#define A0_HTTP_H

#include <stddef.h>

#include "lib/dpop.h"

/* Largest response body accepted from the tenant. */
#define A0_HTTP_MAX_BODY (256 * 1024)

/* How to reach the tenant; the PAM layer fills it from its config, the helper from a record. */
struct a0_http_options {
	const char *domain;  /* host[:port]; always https */
	const char *ca_file; /* NULL: the system store */
	const char *proxy;   /* NULL: never a proxy, whatever the environment says */
	unsigned timeout;    /* seconds for a whole request, connect included */
};

/*
 * One client per login or helper run: it keeps one connection open across requests.
 */
struct a0_http;

struct a0_http_response {
	long status;
	char *body; /* NUL-terminated; wiped when cleared */
	size_t len;
	char content_type[64];
	long retry_after;          /* seconds from Retry-After, -1 when absent */
	long long ratelimit_reset; /* X-RateLimit-Reset: epoch seconds, -1 when absent */
	long long date;            /* Date (an HTTP date): epoch seconds, -1 when absent */
	/* DPoP-Nonce (RFC 9449 §8): "" when absent or not a nonce a0_dpop_proof takes */
	char dpop_nonce[A0_DPOP_MAX_NONCE + 1];
};

int a0_http_new(const struct a0_http_options *opt, struct a0_http **ret);
void a0_http_free(struct a0_http *h);

/*
 * Send one request to https://domain/path: a POST of json_body, or a GET when it is NULL; bearer, when not
 * NULL, goes in an Authorization header. Returns 0 with *resp filled for any HTTP status, or
 * A0_ERR_NETWORK/TLS/TIMEOUT/TOO_LARGE with a reason in err (never with a secret in it).
 */
int a0_http_request(struct a0_http *h, const char *path, const char *bearer, const char *json_body,
		    struct a0_http_response *resp, char *err, size_t errlen);
/* The same with a DPoP proof (lib/dpop.h) in a DPoP header when dpop is not NULL. */
int a0_http_request_dpop(struct a0_http *h, const char *path, const char *bearer,
			 const char *json_body, const char *dpop, struct a0_http_response *resp,
			 char *err, size_t errlen);
/* "https://domain" of this client: a request's URL is it followed by the path (DPoP's htu). */
const char *a0_http_base(const struct a0_http *h);
void a0_http_response_clear(struct a0_http_response *resp);

/*
 * Send the end user's IP address in Auth0's auth0-forwarded-for header with every request, so
 * brute-force protection counts the user and not this host. Auth0 trusts it only from a
 * confidential client set to "Trust Token Endpoint IP Header"; ip must be a literal address.
 */
int a0_http_set_forwarded_for(struct a0_http *h, const char *ip);

/*
 * Add a header line ("Name: value") sent with every later request of this client. The caller
 * decides which headers may be sent; a line with a control byte is refused (A0_ERR_INVALID).
 */
int a0_http_add_header(struct a0_http *h, const char *line);

/*
 * Change the limits of this client's later requests: timeout_ms for a whole request, connect
 * included, and max_body, the largest response body (0 keeps either as it is). auth0-sync
 * shortens the timeout as its run's deadline nears, and reads Management API pages larger than
 * A0_HTTP_MAX_BODY. 0 or A0_ERR_INVALID.
 */
int a0_http_set_limits(struct a0_http *h, unsigned long timeout_ms, size_t max_body);

/* Takes the next piece of a downloaded body: 0 to go on, or a negative A0_ERR_* to stop. */
typedef int (*a0_http_sink_fn)(void *ctx, const char *data, size_t len);

/*
 * GET url, an absolute https URL of another origin (a users-export file: Auth0 hands out a
 * pre-signed storage URL), with this client's TLS settings and limits but neither an
 * Authorization header nor those of a0_http_add_header. The body of a 2xx answer goes to sink
 * as it arrives, at most max bytes. 0 when sink took it whole; A0_ERR_SERVER (5xx) or
 * A0_ERR_AUTH0 (another status) with "HTTP <status>" in err; sink's error; or a transfer's error
 * as a0_http_request.
 */
int a0_http_download(struct a0_http *h, const char *url, size_t max, a0_http_sink_fn sink,
		     void *ctx, char *err, size_t errlen);

/* Where a0_http_connect stopped. */
enum a0_http_step {
	A0_HTTP_STEP_DONE,     /* connected: the name resolved, TCP connected, TLS verified */
	A0_HTTP_STEP_DNS,      /* the tenant's name (or the proxy's) did not resolve */
	A0_HTTP_STEP_TCP,      /* no TCP connection: refused, unreachable, timed out */
	A0_HTTP_STEP_TLS,      /* the TLS handshake failed, not on the certificate */
	A0_HTTP_STEP_TLS_CERT, /* the tenant's certificate was refused (not from the CA in use,
				* another name, expired) or the CA file is unusable */
};

/*
 * Open a connection to the tenant without sending a request (auth0-pam(8) check), with this
 * client's CA, proxy and timeout: name lookup, TCP connect, TLS handshake, then close it. 0 and
 * A0_HTTP_STEP_DONE, or A0_ERR_NETWORK, A0_ERR_TLS or A0_ERR_TIMEOUT with the step that failed
 * in *ret_step and the reason in err. ip (may be NULL): the address connected to, or "".
 */
int a0_http_connect(struct a0_http *h, enum a0_http_step *ret_step, char *ip, size_t iplen,
		    char *err, size_t errlen);

/* Numbers of TLS connections opened and requests sent by this client (for tests, bench). */
void a0_http_stats(const struct a0_http *h, unsigned *ret_connections, unsigned *ret_requests);

#endif
