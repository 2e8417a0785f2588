/* SPDX-License-Identifier: MIT */
/* Talking to the fake tenant from C tests: where it listens, its control API and log. */
#ifndef A0_TEST_FAKE_H
#define A0_TEST_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct fake {
	int port, port_other_ca, port_wrong_host, port_expired, port_closed;
	char ca[512];    /* the test CA's PEM file */
	char users[512]; /* the users_file binding the fake's users to local names */
};

/* Read $A0_FAKE_STATE, $A0_FAKE_CA and $A0_FAKE_USERS (set by tests/with-fake-tenant); aborts
 * when missing. */
void fake_init(struct fake *f);
/* POST JSON to a /__control/ path (or DELETE when body is NULL and method is "DELETE"). */
void fake_control(const struct fake *f, const char *method, const char *path, const char *json);
/* POST JSON to any path of the main listener, which must answer 200 with JSON; the caller
 * frees the parsed answer with cJSON_Delete. */
cJSON *fake_post(const struct fake *f, const char *path, const char *json);
/* GET a /__control/ path and parse it; the caller frees with cJSON_Delete. */
cJSON *fake_get(const struct fake *f, const char *path);
/* Number of log records for path (and grant_type when not NULL). */
int fake_count(const struct fake *f, const char *path, const char *grant_type);
/*
 * Wait at most wait seconds until the log holds more than n records of path (a request is
 * logged as it arrives, before a delay fault): whether it did.
 */
bool fake_wait_count(const struct fake *f, const char *path, int n, double wait);
/* Wait at most wait seconds until every request in the log has its answer: whether it had. */
bool fake_settled(const struct fake *f, double wait);
/* A number from /__control/stats. */
int fake_stat(const struct fake *f, const char *name);
/* The fake's own processing time (ms) summed over its log: what a wall time is next to. */
double fake_server_ms(const struct fake *f);
/*
 * Sign a user in at the fake with the password-realm grant (client_secret NULL for a public
 * client); the token response as text (free it), or NULL when the tenant refused.
 */
char *fake_login(const struct fake *f, const char *client_id, const char *client_secret,
		 const char *username, const char *scope);
/* RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for a base32 secret at time t. */
void totp(const char *base32, long long t, char out[7]);
/* Seconds since an arbitrary start, monotonic. */
double now_seconds(void);

#endif
