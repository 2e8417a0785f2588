/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/common/fake.h"

static void die(const char *what)
{
	fprintf(stderr, "fake: %s\n", what);
	abort();
}

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	char **buf = userdata;
	size_t old = *buf ? strlen(*buf) : 0;
	char *p = realloc(*buf, old + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + old, data, size * n);
	p[old + size * n] = '\0';
	*buf = p;
	return size * n;
}

static char *request(const struct fake *f, const char *method, const char *path, const char *json)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[512], *body = NULL;
	long status = 0;

	snprintf(url, sizeof(url), "https://localhost:%d%s", f->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	if (curl_easy_perform(c) != CURLE_OK)
		die("control request failed");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "fake: %s %s -> %ld %s\n", method, path, status, body ? body : "");
		abort();
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return body;
}

void fake_init(struct fake *f)
{
	const char *state = getenv("A0_FAKE_STATE"), *ca = getenv("A0_FAKE_CA");
	const char *users = getenv("A0_FAKE_USERS");
	char text[1024] = "";
	FILE *fp;
	cJSON *root;

	if (!state || !ca || !users)
		die("A0_FAKE_STATE, A0_FAKE_CA and A0_FAKE_USERS must be set (run under "
		    "tests/with-fake-tenant)");
	fp = fopen(state, "r");
	if (!fp || fread(text, 1, sizeof(text) - 1, fp) == 0)
		die("cannot read the fake's state file");
	fclose(fp);
	root = cJSON_Parse(text);
	if (!root)
		die("state file is not JSON");
	f->port = cJSON_GetObjectItem(root, "port")->valueint;
	f->port_other_ca = cJSON_GetObjectItem(root, "port_other_ca")->valueint;
	f->port_wrong_host = cJSON_GetObjectItem(root, "port_wrong_host")->valueint;
	f->port_expired = cJSON_GetObjectItem(root, "port_expired")->valueint;
	f->port_closed = cJSON_GetObjectItem(root, "port_closed")->valueint;
	cJSON_Delete(root);
	snprintf(f->ca, sizeof(f->ca), "%s", ca);
	snprintf(f->users, sizeof(f->users), "%s", users);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void fake_control(const struct fake *f, const char *method, const char *path, const char *json)
{
	free(request(f, method, path, json));
}

/* A request whose answer must be JSON, parsed. */
static cJSON *request_json(const struct fake *f, const char *method, const char *path,
			   const char *json)
{
	char *body = request(f, method, path, json);
	cJSON *root = cJSON_Parse(body);

	free(body);
	if (!root)
		die("the fake's answer is not JSON");
	return root;
}

cJSON *fake_post(const struct fake *f, const char *path, const char *json)
{
	return request_json(f, "POST", path, json);
}

cJSON *fake_get(const struct fake *f, const char *path)
{
	return request_json(f, "GET", path, NULL);
}

int fake_count(const struct fake *f, const char *path, const char *grant_type)
{
	cJSON *log = fake_get(f, "/__control/log"), *rec;
	int n = 0;

	cJSON_ArrayForEach(rec, log) {
		const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "path"));
		const char *g = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "grant_type"));

		if (p && strcmp(p, path) == 0 && (!grant_type || (g && strcmp(g, grant_type) == 0)))
			n++;
	}
	cJSON_Delete(log);
	return n;
}

bool fake_wait_count(const struct fake *f, const char *path, int n, double wait)
{
	double end = now_seconds() + wait;

	while (fake_count(f, path, NULL) <= n) {
		if (now_seconds() > end)
			return false;
		usleep(10 * 1000);
	}
	return true;
}

bool fake_settled(const struct fake *f, double wait)
{
	for (double end = now_seconds() + wait; now_seconds() <= end;) {
		cJSON *log = fake_get(f, "/__control/log"), *rec;
		bool open = false;

		cJSON_ArrayForEach(rec, log) {
			if (cJSON_IsNull(cJSON_GetObjectItem(rec, "status")))
				open = true;
		}
		cJSON_Delete(log);
		if (!open)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

int fake_stat(const struct fake *f, const char *name)
{
	cJSON *stats = fake_get(f, "/__control/stats");
	int v = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(stats, name));

	cJSON_Delete(stats);
	return v;
}

double fake_server_ms(const struct fake *f)
{
	cJSON *log = fake_get(f, "/__control/log"), *rec;
	double ms = 0;

	cJSON_ArrayForEach(rec, log) {
		cJSON *v = cJSON_GetObjectItem(rec, "server_ms");

		if (cJSON_IsNumber(v))
			ms += v->valuedouble;
	}
	cJSON_Delete(log);
	return ms;
}

char *fake_login(const struct fake *f, const char *client_id, const char *client_secret,
		 const char *username, const char *scope)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	cJSON *body = cJSON_CreateObject();
	char url[128], password[128], *json, *answer = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "https://localhost:%d/oauth/token", f->port);
	/* The fake's users all have this password (tests/fake-tenant/tenant.json). */
	snprintf(password, sizeof(password), "Secret-%s-1", username);
	cJSON_AddStringToObject(body, "grant_type",
				"http://auth0.com/oauth/grant-type/password-realm");
	cJSON_AddStringToObject(body, "client_id", client_id);
	if (client_secret)
		cJSON_AddStringToObject(body, "client_secret", client_secret);
	cJSON_AddStringToObject(body, "username", username);
	cJSON_AddStringToObject(body, "password", password);
	cJSON_AddStringToObject(body, "realm", "Username-Password-Authentication");
	cJSON_AddStringToObject(body, "scope", scope);
	json = cJSON_PrintUnformatted(body);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	/* No answer at all is the set-up broken, as with a control request; a refusal is data. */
	if (curl_easy_perform(c) != CURLE_OK)
		die("login request failed");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	cJSON_Delete(body);
	free(json);
	if (status != 200) {
		free(answer);
		return NULL;
	}
	return answer;
}

static size_t base32_decode(const char *in, unsigned char *out, size_t max)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned buffer = 0, bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		const char *p = strchr(alphabet, toupper((unsigned char)*in));

		if (!p)
			die("bad base32");
		buffer = (buffer << 5) | (unsigned)(p - alphabet);
		bits += 5;
		if (bits >= 8) {
			if (n == max)
				die("base32 secret too long");
			out[n++] = (unsigned char)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	return n;
}

void totp(const char *base32, long long t, char out[7])
{
	unsigned char key[64], msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0, off;
	uint64_t counter = (uint64_t)(t / 30);
	size_t keylen = base32_decode(base32, key, sizeof(key));
	uint32_t code;

	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), mac, &maclen);
	off = mac[maclen - 1] & 0x0f;
	code = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	       ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	snprintf(out, 7, "%06u", code % 1000000);
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
