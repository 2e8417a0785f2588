/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/error.h"
#include "lib/http.h"
#include "lib/secret.h"
#include "lib/util.h"

/* Debian's CA bundle; named explicitly so OpenSSL's SSL_CERT_FILE/SSL_CERT_DIR never count. */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct a0_http {
	CURL *curl;
	char *base; /* "https://domain" */
	unsigned requests;
	unsigned connections;
	char *forwarded_for;      /* "auth0-forwarded-for: IP" header, or NULL */
	struct curl_slist *extra; /* the caller's header lines (a0_http_add_header) */
	long timeout_ms;
	size_t max_body;
	char errbuf[CURL_ERROR_SIZE];
};

struct transfer {
	struct a0_buf body;
	long retry_after;
	long long ratelimit_reset;
	long long date;
	char dpop_nonce[A0_DPOP_MAX_NONCE + 1];
	/* a0_http_download: the body goes to sink instead of body */
	CURL *curl;
	a0_http_sink_fn sink;
	void *sink_ctx;
	int sink_error;
	long status;     /* known once the body starts */
	size_t got, max; /* bytes passed to sink, and their bound */
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;

	if (t->sink) {
		/* Only a 2xx body is the file: anything else is read into body (bounded), for the
		 * status alone. */
		if (t->status == 0 &&
		    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status) != CURLE_OK)
			return 0;
		if (t->status >= 200 && t->status < 300) {
			/* libcurl 7.x checks CURLOPT_MAXFILESIZE against Content-Length alone */
			if (size * n > t->max - t->got) {
				t->sink_error = A0_ERR_TOO_LARGE;
				return 0;
			}
			t->got += size * n;
			t->sink_error = t->sink(t->sink_ctx, data, size * n);
			return t->sink_error < 0 ? 0 : size * n;
		}
	}
	if (a0_buf_append(&t->body, data, size * n) < 0)
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	return size * n;
}

/* The value of header line data (len bytes) when it is "name: <non-negative decimal>". */
static bool header_number(const char *data, size_t len, const char *name, long long *ret)
{
	size_t nlen = strlen(name);
	char value[32] = "";
	size_t vlen;
	char *end;
	long long v;

	if (len <= nlen + 1 || strncasecmp(data, name, nlen) != 0 || data[nlen] != ':')
		return false;
	vlen = len - nlen - 1;
	if (vlen >= sizeof(value))
		return false;
	memcpy(value, data + nlen + 1, vlen);
	errno = 0;
	v = strtoll(value, &end, 10);
	while (*end == ' ' || *end == '\r' || *end == '\n')
		end++;
	if (errno != 0 || end == value || *end != '\0' || v < 0)
		return false;
	*ret = v;
	return true;
}

/*
 * The value of a "Name: value" header line when the line is that header (name given as
 * "name:", any case), without the blanks around it, into value (size bytes): true, or false
 * for another header or a value that does not fit.
 */
static bool header_value(const char *data, size_t len, const char *name, char *value, size_t size)
{
	size_t start = strlen(name), end = len;

	if (len <= start || strncasecmp(data, name, start) != 0)
		return false;
	while (start < end && (data[start] == ' ' || data[start] == '\t'))
		start++;
	while (end > start && strchr(" \t\r\n", data[end - 1]))
		end--;
	if (end - start >= size)
		return false;
	memcpy(value, data + start, end - start);
	value[end - start] = '\0';
	return true;
}

/* A "DPoP-Nonce: value" line's value into out when a0_dpop_proof would take it. */
static void header_nonce(const char *data, size_t len, char *out, size_t outlen)
{
	char value[A0_DPOP_MAX_NONCE + 1];

	if (header_value(data, len, "dpop-nonce:", value, sizeof(value)) &&
	    strlen(value) < outlen && a0_dpop_nonce_ok(value))
		memcpy(out, value, strlen(value) + 1);
}

/* A "Date: <HTTP date>" line's time into *ret (RFC 9110 5.6.7; libcurl's parser). */
static bool header_date(const char *data, size_t len, long long *ret)
{
	char value[64];
	time_t t;

	if (!header_value(data, len, "date:", value, sizeof(value)))
		return false;
	t = curl_getdate(value, NULL);
	if (t > 0)
		*ret = (long long)t;
	return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;
	long long v;

	/* Retry-After: delta-seconds only; an HTTP date is treated as absent. */
	if (header_number(data, len, "retry-after", &v) && v <= LONG_MAX)
		t->retry_after = (long)v;
	else if (header_number(data, len, "x-ratelimit-reset", &v))
		t->ratelimit_reset = v;
	else if (!header_date(data, len, &t->date))
		header_nonce(data, len, t->dpop_nonce, sizeof(t->dpop_nonce));
	return len;
}

/*
 * libcurl reads SSLKEYLOGFILE from the environment when it initialises OpenSSL; sudo runs this
 * module with the invoking user's environment, so hide it while libcurl starts up.
 */
static int global_init(void)
{
	char *keylog = getenv("SSLKEYLOGFILE");
	char *saved = keylog ? strdup(keylog) : NULL;
	CURLcode c;

	if (keylog && !saved)
		return A0_ERR_NOMEM;
	if (saved)
		(void)unsetenv("SSLKEYLOGFILE");
	c = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (saved) {
		(void)setenv("SSLKEYLOGFILE", saved, 1);
		free(saved);
	}
	return c == CURLE_OK ? 0 : A0_ERR_NOMEM;
}

int a0_http_new(const struct a0_http_options *opt, struct a0_http **ret)
{
	struct a0_http *h;
	int r;

	r = global_init();
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return A0_ERR_NOMEM;
	h->curl = curl_easy_init();
	if (!h->curl || asprintf(&h->base, "https://%s", opt->domain) < 0) {
		h->base = NULL;
		a0_http_free(h);
		return A0_ERR_NOMEM;
	}

	CURL *c = h->curl;
	long timeout_ms = (long)opt->timeout * 1000L;
	CURLcode e = CURLE_OK;

#define SET(opt, val)                                      \
	do {                                               \
		if (e == CURLE_OK)                         \
			e = curl_easy_setopt(c, opt, val); \
	} while (0)
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L); /* never touch the host program's signals */
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_CAINFO, opt->ca_file ? opt->ca_file : SYSTEM_CA_BUNDLE);
	SET(CURLOPT_CAPATH, (char *)NULL);
	/* An empty proxy string makes libcurl ignore http_proxy, https_proxy, ALL_PROXY; an
	 * empty no-proxy list, NO_PROXY and no_proxy (else they would bypass `proxy`). */
	SET(CURLOPT_PROXY, opt->proxy ? opt->proxy : "");
	SET(CURLOPT_NOPROXY, "");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_HEADERFUNCTION, on_header);
#undef SET
	h->timeout_ms = timeout_ms;
	h->max_body = A0_HTTP_MAX_BODY;
	if (e != CURLE_OK) {
		a0_http_free(h);
		return A0_ERR_CONFIG;
	}
	*ret = h;
	return 0;
}

/* Free a header list, wiping each line first: they carry the bearer token and DPoP proofs. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *x = list; x; x = x->next)
		if (x->data)
			explicit_bzero(x->data, strlen(x->data));
	curl_slist_free_all(list);
}

void a0_http_free(struct a0_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->base);
	free(h->forwarded_for);
	free_headers(h->extra);
	free(h);
}

static int map_curl_error(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return A0_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return A0_ERR_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY:
		return A0_ERR_NOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return A0_ERR_TLS;
	default:
		return A0_ERR_NETWORK;
	}
}

static int add_header(struct curl_slist **list, const char *header)
{
	struct curl_slist *n = curl_slist_append(*list, header);

	if (!n)
		return A0_ERR_NOMEM;
	*list = n;
	return 0;
}

/*
 * Send the request set up on h->curl (URL, body) with headers, into t: 0, or the transfer's
 * error with a reason in err. max bounds the body.
 */
static int perform(struct a0_http *h, struct curl_slist *headers, size_t max, struct transfer *t,
		   char *err, size_t errlen)
{
	CURL *c = h->curl;
	long connects = 0;
	CURLcode e;
	int r = 0;

	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	h->requests++;
	e = curl_easy_perform(c);
	if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
		h->connections += (unsigned)connects;
	/* The list and body are freed by the caller: leave libcurl no pointer to them. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	if (e != CURLE_OK && t->sink_error == A0_ERR_TOO_LARGE) {
		r = A0_ERR_TOO_LARGE;
		a0_format(err, errlen, "response larger than %zu bytes", max);
	} else if (e != CURLE_OK && t->sink_error < 0) {
		r = t->sink_error;
		a0_format(err, errlen, "%s", a0_strerror(r));
	} else if (e != CURLE_OK) {
		r = map_curl_error(e);
		if (r == A0_ERR_TOO_LARGE)
			a0_format(err, errlen, "response larger than %zu bytes", max);
		else
			a0_format(err, errlen, "%s",
				  h->errbuf[0] ? h->errbuf : curl_easy_strerror(e));
	}
	return r;
}

int a0_http_request(struct a0_http *h, const char *path, const char *bearer, const char *json_body,
		    struct a0_http_response *resp, char *err, size_t errlen)
{
	return a0_http_request_dpop(h, path, bearer, json_body, NULL, resp, err, errlen);
}

const char *a0_http_base(const struct a0_http *h)
{
	return h->base;
}

int a0_http_request_dpop(struct a0_http *h, const char *path, const char *bearer,
			 const char *json_body, const char *dpop, struct a0_http_response *resp,
			 char *err, size_t errlen)
{
	struct transfer t = {
		.body = { .max = h->max_body }, .retry_after = -1, .ratelimit_reset = -1, .date = -1
	};
	struct curl_slist *headers = NULL;
	char *url = NULL, *auth = NULL, *proof = NULL;
	const char *ctype = NULL;
	CURL *c = h->curl;
	int r;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	resp->ratelimit_reset = -1;
	resp->date = -1;
	if (asprintf(&url, "%s%s", h->base, path) < 0) {
		url = NULL;
		return A0_ERR_NOMEM;
	}
	/* "Expect:" stops libcurl from waiting for 100-continue on larger bodies. */
	r = add_header(&headers, "Accept: application/json");
	if (r == 0)
		r = add_header(&headers, "Expect:");
	if (r == 0 && json_body)
		r = add_header(&headers, "Content-Type: application/json");
	if (r == 0 && h->forwarded_for)
		r = add_header(&headers, h->forwarded_for);
	for (const struct curl_slist *x = h->extra; r == 0 && x; x = x->next)
		r = add_header(&headers, x->data);
	if (r == 0 && bearer) {
		if (asprintf(&auth, "Authorization: Bearer %s", bearer) < 0) {
			auth = NULL;
			r = A0_ERR_NOMEM;
		} else {
			r = add_header(&headers, auth);
		}
	}
	if (r == 0 && dpop) {
		if (asprintf(&proof, "DPoP: %s", dpop) < 0) {
			proof = NULL;
			r = A0_ERR_NOMEM;
		} else {
			r = add_header(&headers, proof);
		}
	}
	if (r < 0)
		goto out;

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (json_body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json_body));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if ((r = perform(h, headers, h->max_body, &t, err, errlen)) < 0)
		goto out;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
		a0_format(resp->content_type, sizeof(resp->content_type), "%s", ctype);
	resp->retry_after = t.retry_after;
	resp->ratelimit_reset = t.ratelimit_reset;
	resp->date = t.date;
	memcpy(resp->dpop_nonce, t.dpop_nonce, sizeof(resp->dpop_nonce));
	r = t.body.data ? 0 : a0_buf_append(&t.body, "", 0);
	if (r < 0)
		goto out;
	resp->len = t.body.len;
	resp->body = a0_buf_steal(&t.body);
out:
	a0_buf_free(&t.body);
	free_headers(headers);
	a0_secret_free(auth);
	a0_secret_free(proof);
	free(url);
	return r;
}

/* What is kept of a download's answer that is not a 2xx: enough to see what it was. */
#define DOWNLOAD_ERROR_BODY 4096

int a0_http_download(struct a0_http *h, const char *url, size_t max, a0_http_sink_fn sink,
		     void *ctx, char *err, size_t errlen)
{
	struct transfer t = { .body = { .max = DOWNLOAD_ERROR_BODY },
			      .retry_after = -1,
			      .ratelimit_reset = -1,
			      .curl = h->curl,
			      .sink = sink,
			      .sink_ctx = ctx,
			      .max = max };
	struct curl_slist *headers = NULL;
	long status = 0;
	int r;

	if (strncmp(url, "https://", 8) != 0) {
		a0_format(err, errlen, "not an https URL");
		return A0_ERR_MALFORMED;
	}
	r = add_header(&headers, "Accept: */*");
	if (r == 0)
		r = add_header(&headers, "Expect:");
	if (r < 0)
		goto out;
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	/* A status other than 2xx ends the transfer once its body passes DOWNLOAD_ERROR_BODY
	 * (a0_buf's bound), not max. */
	if ((r = perform(h, headers, max, &t, err, errlen)) < 0 && t.status < 200)
		goto out;
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		a0_format(err, errlen, "HTTP %ld", status);
		r = status >= 500 ? A0_ERR_SERVER : A0_ERR_AUTH0;
	}
out:
	a0_buf_free(&t.body);
	free_headers(headers);
	return r;
}

void a0_http_response_clear(struct a0_http_response *resp)
{
	if (resp->body)
		a0_wipe_free(resp->body, resp->len);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	resp->ratelimit_reset = -1;
	resp->date = -1;
}

int a0_http_set_limits(struct a0_http *h, unsigned long timeout_ms, size_t max_body)
{
	if (timeout_ms > LONG_MAX)
		return A0_ERR_INVALID;
	if (timeout_ms)
		h->timeout_ms = (long)timeout_ms;
	if (max_body)
		h->max_body = max_body;
	return 0;
}

int a0_http_set_forwarded_for(struct a0_http *h, const char *ip)
{
	char *header;

	if (asprintf(&header, "auth0-forwarded-for: %s", ip) < 0)
		return A0_ERR_NOMEM;
	free(h->forwarded_for);
	h->forwarded_for = header;
	return 0;
}

int a0_http_add_header(struct a0_http *h, const char *line)
{
	if (!line || !strchr(line, ':') || !a0_text_ok(line, strlen(line), A0_TEXT_ASCII))
		return A0_ERR_INVALID;
	return add_header(&h->extra, line);
}

/* The step a failed connection stopped at, from libcurl's code and how far it got. */
static enum a0_http_step step_of(CURL *c, CURLcode e)
{
	curl_off_t lookup = 0, connect = 0;

	switch (e) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return A0_HTTP_STEP_DNS;
	case CURLE_COULDNT_CONNECT:
		return A0_HTTP_STEP_TCP;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return A0_HTTP_STEP_TLS_CERT;
	default:
		break;
	}
	/* A timeout or a reset: as far as the timers say it got. */
	(void)curl_easy_getinfo(c, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
	(void)curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect);
	if (connect > 0)
		return A0_HTTP_STEP_TLS;
	return lookup > 0 ? A0_HTTP_STEP_TCP : A0_HTTP_STEP_DNS;
}

int a0_http_connect(struct a0_http *h, enum a0_http_step *ret_step, char *ip, size_t iplen,
		    char *err, size_t errlen)
{
	/* No request is sent, so nothing should reach the callbacks: if anything does, it lands
	 * here (bounded) rather than in a finished request's transfer. */
	struct transfer t = { .body = { .max = 1 }, .retry_after = -1, .ratelimit_reset = -1 };
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *primary = NULL;
	CURL *c;
	CURLcode e;
	int r = 0;

	if (ip && iplen)
		ip[0] = '\0';
	/* A handle of its own: the same settings, and its connection closed with it. */
	c = curl_easy_duphandle(h->curl);
	if (!c)
		return A0_ERR_NOMEM;
	e = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (e == CURLE_OK)
		e = curl_easy_setopt(c, CURLOPT_URL, h->base);
	if (e == CURLE_OK)
		e = curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	if (e == CURLE_OK)
		e = curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	if (e == CURLE_OK)
		e = curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	if (e == CURLE_OK)
		e = curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	if (e != CURLE_OK) {
		curl_easy_cleanup(c);
		return A0_ERR_NOMEM;
	}
	e = curl_easy_perform(c);
	if (ip && curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &primary) == CURLE_OK && primary)
		a0_format(ip, iplen, "%s", primary);
	*ret_step = A0_HTTP_STEP_DONE;
	if (e != CURLE_OK) {
		*ret_step = step_of(c, e);
		r = map_curl_error(e);
		if (r != A0_ERR_TIMEOUT)
			r = *ret_step >= A0_HTTP_STEP_TLS ? A0_ERR_TLS : A0_ERR_NETWORK;
		a0_format(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(e));
	}
	curl_easy_cleanup(c);
	a0_buf_free(&t.body);
	return r;
}

void a0_http_stats(const struct a0_http *h, unsigned *ret_connections, unsigned *ret_requests)
{
	if (ret_connections)
		*ret_connections = h->connections;
	if (ret_requests)
		*ret_requests = h->requests;
}
