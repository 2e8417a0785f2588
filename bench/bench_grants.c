/* SPDX-License-Identifier: MIT */
/*
 * pam_auth0's protocol core next to Auth0's official Node SDK (auth0 v4 AuthenticationClient),
 * doing the same work against the same fake tenant: a password-realm grant for a0alice and a
 * refresh grant with the refresh token it returned, N times in one process, with the
 * confidential client pam-confidential. Ours is lib/ (a0_grant_password_realm, then
 * a0_grant_refresh) with one a0_http client; theirs is bench/bench_sdk.mjs (passwordGrant, then
 * refreshTokenGrant). The scope is offline_access alone: without an ID token neither side
 * verifies one (the SDK verifies every ID token it gets; lib/'s grants leave that to the
 * module), so both do the same work. Rounds alternate ours and theirs; each side first runs
 * WARMUP untimed iterations in the same process (connection, JIT).
 * Usage (under tests/with-fake-tenant):
 *   bench_grants N ROUNDS SDK_SCRIPT   (node from PATH; A0_FIDELITY_DIR: where auth0 is installed)
 * Prints "key value" lines for tools/bench. Numbers only; nothing here passes or fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/auth0.h"
#include "tests/common/fake.h"
#include "tests/common/util.h"

#define CLIENT_ID "pam-confidential"
#define CLIENT_SECRET "test-client-secret-123"
#define WARMUP 3

static struct fake fake;

static void die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

static void once(struct a0_client *client, const struct a0_config *cfg)
{
	struct a0_tokens *login = NULL, *renewed = NULL;
	struct a0_result res = { .retry_after = -1 };

	if (a0_grant_password_realm(client, cfg, "a0alice", "Secret-a0alice-1", &login, &res) < 0 ||
	    !login->refresh_token)
		die("password-realm grant failed");
	if (a0_grant_refresh(client, login->refresh_token, NULL, NULL, NULL, 0, &renewed, &res) < 0)
		die("refresh grant failed");
	a0_tokens_free(login);
	a0_tokens_free(renewed);
	a0_result_clear(&res);
}

/* N iterations with one HTTP client after WARMUP: wall milliseconds. */
static double ours(int n)
{
	static char realm[] = "Username-Password-Authentication", scope[] = "offline_access";
	char domain[64];
	struct a0_http_options opt = { .domain = domain, .ca_file = fake.ca, .timeout = 10 };
	struct a0_config cfg = { .realm = realm, .scope = scope };
	struct a0_client client = { .client_id = CLIENT_ID, .client_secret = CLIENT_SECRET };
	double t0;

	snprintf(domain, sizeof(domain), "localhost:%d", fake.port);
	if (a0_http_new(&opt, &client.http) < 0)
		die("no HTTP client");
	for (int i = 0; i < WARMUP; i++)
		once(&client, &cfg);
	t0 = now_seconds();
	for (int i = 0; i < n; i++)
		once(&client, &cfg);
	t0 = now_seconds() - t0;
	a0_http_free(client.http);
	return t0 * 1000;
}

/* The same in node: what bench_sdk.mjs measured (ms). */
static double theirs(const char *script, int n)
{
	char cmd[1024], line[256];
	double ms = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "node '%s' %d %d", script, n, WARMUP);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, "sdk_ms %lf", &ms) == 1)
			break;
	if (!p || pclose(p) != 0 || ms < 0)
		die("the SDK run failed");
	return ms;
}

/* Since the last reset: TLS connections, and the fake's own processing time (ms). */
static void fake_totals(int *connections, double *server_ms)
{
	*connections = fake_stat(&fake, "connections");
	*server_ms = fake_server_ms(&fake);
}

int main(int argc, char **argv)
{
	double our_ms[16], their_ms[16], our_server[16], their_server[16];
	int n, rounds, our_conn = 0, their_conn = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_grants N ROUNDS SDK_SCRIPT\n");
		return 2;
	}
	n = atoi(argv[1]);
	rounds = atoi(argv[2]);
	if (n < 1 || rounds < 1 || rounds > 16)
		die("N >= 1 and 1 <= ROUNDS <= 16");
	fake_init(&fake);
	setenv("NODE_EXTRA_CA_CERTS", fake.ca, 1);
	for (int r = 0; r < rounds; r++) {
		fake_control(&fake, "POST", "/__control/reset", "{}");
		our_ms[r] = ours(n) / n;
		fake_totals(&our_conn, &our_server[r]);
		our_server[r] /= n + WARMUP;
		fake_control(&fake, "POST", "/__control/reset", "{}");
		their_ms[r] = theirs(argv[3], n) / n;
		fake_totals(&their_conn, &their_server[r]);
		their_server[r] /= n + WARMUP;
	}
	printf("grants_iterations %d\n", n);
	printf("grants_rounds %d\n", rounds);
	printf("grants_ours_ms_per_iteration %.3f\n", median(our_ms, rounds));
	printf("grants_sdk_ms_per_iteration %.3f\n", median(their_ms, rounds));
	printf("grants_ours_fake_ms_per_iteration %.3f\n", median(our_server, rounds));
	printf("grants_sdk_fake_ms_per_iteration %.3f\n", median(their_server, rounds));
	printf("grants_ours_connections %d\n", our_conn);
	printf("grants_sdk_connections %d\n", their_conn);
	return 0;
}
