/* SPDX-License-Identifier: MIT */
/*
 * The one HTTP client against the fake tenant (run under tests/with-fake-tenant): it ignores
 * the environment a sudo caller controls, goes through the configured proxy whatever NO_PROXY
 * says, reuses its connection, and bounds what it reads.
 * This program must not start libcurl before the client does: the keylog check depends on it.
 */
#include "config.h"

#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lib/error.h"
#include "lib/http.h"
#include "tests/common/assert.h"

static int port;
static const char *ca;
static char keylog[64];

static struct a0_http *client(unsigned timeout)
{
	char domain[64];
	struct a0_http_options opt = { .domain = domain, .ca_file = ca, .timeout = timeout };
	struct a0_http *h = NULL;

	snprintf(domain, sizeof(domain), "localhost:%d", port);
	assert_a0(a0_http_new(&opt, &h), 0);
	return h;
}

static void test_hostile_environment_ignored(void **state)
{
	struct a0_http_response resp;
	struct a0_http *h;
	char err[256];

	/* Set before libcurl initialises in this process. */
	setenv("SSLKEYLOGFILE", keylog, 1);
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	setenv("SSL_CERT_FILE", "/dev/null", 1);
	setenv("SSL_CERT_DIR", "/nonexistent", 1);
	setenv("CURL_CA_BUNDLE", "/dev/null", 1);
	h = client(5);
	assert_a0(a0_http_request(h, "/.well-known/jwks.json", NULL, NULL, &resp, err, sizeof(err)),
		  0);
	assert_int_equal(resp.status, 200);
	a0_http_response_clear(&resp);
	a0_http_free(h);
	if (access(keylog, F_OK) == 0) {
		unlink(keylog);
		fail_msg("libcurl wrote TLS keys to $SSLKEYLOGFILE");
	}
	/* The variable is back for the host program. */
	assert_string_equal(getenv("SSLKEYLOGFILE"), keylog);
}

/* ---- a CONNECT proxy on loopback, in a child, that reports each request line on a pipe ---- */

struct proxy {
	pid_t pid;
	int port;
	int seen; /* read end: one request line per connection, "\n"-terminated */
};

/* Copy bytes both ways between a and b until either side closes. */
static void relay(int a, int b)
{
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	char buf[16384];

	while (poll(p, 2, 10000) > 0) {
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

static void proxy_serve(int ls, int report, int target_port)
{
	for (;;) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)target_port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		char head[2048];
		size_t got = 0;
		int c = accept(ls, NULL, NULL), t;

		if (c < 0)
			_exit(1);
		/* The request head, byte by byte so nothing of the TLS stream is read with it. */
		while (got < sizeof(head) - 1 && read(c, head + got, 1) == 1) {
			got++;
			if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
				break;
		}
		head[got] = '\0';
		head[strcspn(head, "\r\n")] = '\0';
		if (write(report, head, strlen(head)) < 0 || write(report, "\n", 1) != 1)
			_exit(1);
		t = socket(AF_INET, SOCK_STREAM, 0);
		if (strncmp(head, "CONNECT ", 8) != 0 || t < 0 ||
		    connect(t, (struct sockaddr *)&to, sizeof(to)) < 0) {
			close(c);
			if (t >= 0)
				close(t);
			continue;
		}
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		if (write(c, ok, sizeof(ok) - 1) == (ssize_t)sizeof(ok) - 1)
			relay(c, t);
		close(t);
		close(c);
	}
}

static void proxy_start(struct proxy *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), pipefd[2];

	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 8), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
	p->port = ntohs(a.sin_port);
	assert_int_equal(pipe(pipefd), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		close(pipefd[0]);
		proxy_serve(ls, pipefd[1], port);
		_exit(0);
	}
	close(ls);
	close(pipefd[1]);
	p->seen = pipefd[0];
}

/* Stop the proxy; what it saw, one request line a line. */
static void proxy_stop(struct proxy *p, char *seen, size_t size)
{
	ssize_t n;
	size_t got = 0;

	assert_int_equal(kill(p->pid, SIGTERM), 0);
	assert_int_equal(waitpid(p->pid, NULL, 0), p->pid);
	while (got < size - 1 && (n = read(p->seen, seen + got, size - 1 - got)) > 0)
		got += (size_t)n;
	seen[got] = '\0';
	close(p->seen);
}

static void test_no_proxy_environment_ignored(void **state)
{
	char domain[64], proxy_url[64], seen[512], want[96], err[256];
	struct a0_http_options opt = { .domain = domain, .ca_file = ca, .timeout = 5 };
	struct a0_http_response resp;
	struct a0_http *h = NULL;
	struct proxy p;
	static const char *const values[][2] = {
		{ "NO_PROXY", "*" },
		{ "no_proxy", "localhost,127.0.0.1" },
	};

	proxy_start(&p);
	snprintf(domain, sizeof(domain), "localhost:%d", port);
	snprintf(proxy_url, sizeof(proxy_url), "http://127.0.0.1:%d", p.port);
	opt.proxy = proxy_url;
	/* The caller's NO_PROXY must not take the request around the administrator's proxy. */
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		unsetenv("NO_PROXY");
		unsetenv("no_proxy");
		setenv(values[i][0], values[i][1], 1);
		assert_int_equal(a0_http_new(&opt, &h), 0);
		assert_int_equal(a0_http_request(h, "/.well-known/jwks.json", NULL, NULL, &resp,
						 err, sizeof(err)),
				 0);
		assert_int_equal(resp.status, 200);
		a0_http_response_clear(&resp);
		a0_http_free(h);
	}
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	proxy_stop(&p, seen, sizeof(seen));
	snprintf(want, sizeof(want),
		 "CONNECT localhost:%d HTTP/1.1\nCONNECT localhost:%d HTTP/1.1\n", port, port);
	if (strcmp(seen, want) != 0)
		fail_msg("the requests bypassed the configured proxy: it saw '%s'", seen);
}

static void test_one_connection_for_many_requests(void **state)
{
	struct a0_http *h = client(5);
	struct a0_http_response resp;
	unsigned conns = 0, reqs = 0;
	char err[256];

	for (int i = 0; i < 3; i++) {
		assert_a0(a0_http_request(h, "/.well-known/openid-configuration", NULL, NULL, &resp,
					  err, sizeof(err)),
			  0);
		assert_int_equal(resp.status, 200);
		assert_true(strncmp(resp.content_type, "application/json", 16) == 0);
		a0_http_response_clear(&resp);
	}
	a0_http_stats(h, &conns, &reqs);
	assert_int_equal(conns, 1);
	assert_int_equal(reqs, 3);
	a0_http_free(h);
}

static void test_status_and_body_returned(void **state)
{
	struct a0_http *h = client(5);
	struct a0_http_response resp;
	char err[256];

	assert_a0(a0_http_request(h, "/oauth/token", NULL, "{\"grant_type\":\"x\"}", &resp, err,
				  sizeof(err)),
		  0);
	assert_true(resp.status >= 400 && resp.status < 500);
	assert_non_null(strstr(resp.body, "\"error\""));
	assert_int_equal(resp.len, strlen(resp.body));
	a0_http_response_clear(&resp);
	assert_null(resp.body);
	a0_http_free(h);
}

static void test_wrong_ca_is_tls_error(void **state)
{
	char domain[64], err[256];
	struct a0_http_options opt = { .domain = domain, .ca_file = NULL, .timeout = 5 };
	struct a0_http_response resp;
	struct a0_http *h = NULL;

	/* The system store does not hold the test CA. */
	snprintf(domain, sizeof(domain), "localhost:%d", port);
	assert_a0(a0_http_new(&opt, &h), 0);
	assert_a0(a0_http_request(h, "/.well-known/jwks.json", NULL, NULL, &resp, err, sizeof(err)),
		  A0_ERR_TLS);
	assert_true(strlen(err) > 0);
	a0_http_free(h);
}

int main(void)
{
	const char *state = getenv("A0_FAKE_STATE");
	char text[512] = "";
	FILE *f;
	cJSON *root;

	ca = getenv("A0_FAKE_CA");
	if (!state || !ca || !(f = fopen(state, "r")))
		return 99;
	if (fread(text, 1, sizeof(text) - 1, f) == 0)
		return 99;
	fclose(f);
	root = cJSON_Parse(text);
	if (!root)
		return 99;
	port = cJSON_GetObjectItem(root, "port")->valueint;
	cJSON_Delete(root);
	snprintf(keylog, sizeof(keylog), "/tmp/a0-keylog-%d", (int)getpid());

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_environment_ignored),
		cmocka_unit_test(test_no_proxy_environment_ignored),
		cmocka_unit_test(test_one_connection_for_many_requests),
		cmocka_unit_test(test_status_and_body_returned),
		cmocka_unit_test(test_wrong_ca_is_tls_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
