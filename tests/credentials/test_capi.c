/* SPDX-License-Identifier: MIT */
/*
 * A small program using libauth0-credentials through <auth0/credentials.h> alone, as a
 * session program would, against the fake tenant; and the library's exports.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include <auth0/credentials.h>

#include "tests/credentials/common.h"

static struct fake f;

static int setup(void **state)
{
	helper_test_reset(&f);
	return 0;
}

/* a0alice's login, saved through the API. */
static char *save_alice(struct auth0_credentials *c)
{
	char domain[64], *login = fake_login(&f, "pam-native", NULL, "a0alice",
					     "openid profile offline_access");
	struct auth0_credentials_tenant tenant = {
		.domain = domain,
		.client_id = "pam-native",
		.ca_file = f.ca,
	};

	assert_non_null(login);
	snprintf(domain, sizeof(domain), "localhost:%d", f.port);
	assert_code(auth0_credentials_save(c, login, strlen(login), &tenant), AUTH0_CREDENTIALS_OK);
	return login;
}

static void test_get_refresh_and_formats(void **state)
{
	struct auth0_credentials_tokens *t = NULL, *t2 = NULL;
	struct auth0_credentials *c = NULL;
	char *login, *login_at, *text = NULL;

	assert_code(auth0_credentials_new(&c), AUTH0_CREDENTIALS_OK);
	login = save_alice(c);
	login_at = json_member(login, "access_token");

	assert_code(auth0_credentials_has_valid(c, 60), AUTH0_CREDENTIALS_OK);
	assert_code(auth0_credentials_has_valid(c, 200000), AUTH0_CREDENTIALS_NOT_VALID);

	assert_code(auth0_credentials_get(c, NULL, 60, false, NULL, 0, &t), AUTH0_CREDENTIALS_OK);
	assert_string_equal(t->access_token, login_at);
	assert_string_equal(t->token_type, "Bearer");
	assert_string_equal(t->scope, "openid profile offline_access");
	assert_non_null(t->id_token);
	assert_true(t->expires_at > time(NULL) + 80000);
	assert_code(auth0_credentials_format(t, AUTH0_CREDENTIALS_FORMAT_HEADER, &text),
		    AUTH0_CREDENTIALS_OK);
	assert_int_equal(strncmp(text, "Authorization: Bearer ", 22), 0);
	assert_string_equal(text + 22 + strlen(login_at), "\n");
	auth0_credentials_secret_free(text);
	assert_int_equal(refresh_count(&f, 0), 0);

	/* Forced, with a parameter, in the caller's process this time. */
	{
		const struct auth0_credentials_param p[] = { { "realm", "from-the-api" } };

		assert_code(auth0_credentials_set_inline(c, true), AUTH0_CREDENTIALS_OK);
		assert_code(auth0_credentials_get(c, NULL, 0, true, p, 1, &t2),
			    AUTH0_CREDENTIALS_OK);
		assert_code(auth0_credentials_set_inline(c, false), AUTH0_CREDENTIALS_OK);
	}
	assert_true(strlen(t2->access_token) > 20);
	assert_int_equal(refresh_count(&f, 0), 1);
	auth0_credentials_tokens_free(t);
	auth0_credentials_tokens_free(t2);
	t = NULL;
	/* In a worker process. */
	assert_code(auth0_credentials_get(c, "openid", 0, false, NULL, 0, &t),
		    AUTH0_CREDENTIALS_OK);
	assert_string_equal(t->scope, "openid");
	assert_int_equal(refresh_count(&f, 0), 2);
	auth0_credentials_tokens_free(t);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	assert_string_equal(auth0_credentials_message(c), "");
	auth0_credentials_free(c);
	free(login);
	free(login_at);
}

static void test_errors_and_codes(void **state)
{
	const struct auth0_credentials_param reserved[] = { { "grant_type", "password" } };
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials *c = NULL;
	char *login, *json;
	cJSON *o;

	/* Every code has a distinct name. */
	for (int i = 0; i <= AUTH0_CREDENTIALS_LOGIN_REFUSED; i++) {
		assert_non_null(auth0_credentials_code_name(i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(auth0_credentials_code_name(i),
						auth0_credentials_code_name(j));
	}
	assert_null(auth0_credentials_code_name(AUTH0_CREDENTIALS_LOGIN_REFUSED + 1));
	assert_string_equal(auth0_credentials_code_name(AUTH0_CREDENTIALS_LARGE_MIN_TTL),
			    "LARGE_MIN_TTL");

	assert_code(auth0_credentials_new(&c), AUTH0_CREDENTIALS_OK);
	assert_code(auth0_credentials_set_timeout(c, 0), AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_code(auth0_credentials_set_keyring(c, (enum auth0_credentials_keyring)7),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_code(auth0_credentials_get(c, NULL, 0, false, NULL, 0, &t),
		    AUTH0_CREDENTIALS_NO_CREDENTIALS);
	assert_null(t);

	login = save_alice(c);
	assert_code(auth0_credentials_get(c, NULL, 0, true, reserved, 1, &t),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_non_null(strstr(auth0_credentials_message(c), "grant_type"));

	fake_control(&f, "POST", "/__control/fault",
		     "{\"path\":\"/oauth/token\",\"kind\":\"status\",\"status\":403,\"count\":-1,"
		     "\"body\":{\"error\":\"invalid_grant\",\"error_description\":"
		     "\"Unknown or invalid refresh token.\"}}");
	assert_code(auth0_credentials_get(c, NULL, 0, true, NULL, 0, &t),
		    AUTH0_CREDENTIALS_RENEW_FAILED);
	assert_string_equal(auth0_credentials_auth0_error(c), "invalid_grant");
	assert_string_equal(auth0_credentials_auth0_error_description(c),
			    "Unknown or invalid refresh token.");
	json = auth0_credentials_error_json(c, AUTH0_CREDENTIALS_RENEW_FAILED, NULL);
	o = cJSON_Parse(json);
	assert_non_null(o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")), "RENEW_FAILED");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "auth0_error")),
			    "invalid_grant");
	assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "http_status")), 403);
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")),
			       "Unknown or invalid refresh token."));
	cJSON_Delete(o);
	free(json);
	json = auth0_credentials_error_json(NULL, AUTH0_CREDENTIALS_INVALID_ARGUMENT,
					    "a \"quoted\"\n");
	assert_string_equal(json,
			    "{\"error\":\"INVALID_ARGUMENT\",\"message\":\"a \\\"quoted\\\"\\n\"}");
	free(json);
	auth0_credentials_free(c);
	free(login);
}

static void test_api_sso_revoke(void **state)
{
	struct auth0_credentials_tokens *t = NULL;
	struct auth0_credentials_sso *s = NULL;
	struct auth0_credentials *c = NULL;
	char *login, *text = NULL;

	assert_code(auth0_credentials_new(&c), AUTH0_CREDENTIALS_OK);
	login = save_alice(c);
	assert_code(auth0_credentials_api_get(c, "https://api.example.com/", "openid", 60, NULL, 0,
					      &t),
		    AUTH0_CREDENTIALS_OK);
	assert_null(strstr(login, t->access_token));
	auth0_credentials_tokens_free(t);
	assert_code(auth0_credentials_api_clear(c, "https://api.example.com/", "openid"),
		    AUTH0_CREDENTIALS_OK);

	assert_code(auth0_credentials_sso(c, NULL, 0, &s), AUTH0_CREDENTIALS_OK);
	assert_string_equal(s->token_type, "N_A");
	assert_int_equal(s->expires_in, 60);
	assert_code(auth0_credentials_sso_format(s, AUTH0_CREDENTIALS_FORMAT_TOKEN, &text),
		    AUTH0_CREDENTIALS_OK);
	assert_int_equal(strlen(text), strlen(s->session_transfer_token) + 1);
	auth0_credentials_secret_free(text);
	assert_code(auth0_credentials_sso_format(s, AUTH0_CREDENTIALS_FORMAT_HEADER, &text),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	auth0_credentials_sso_free(s);

	assert_code(auth0_credentials_revoke(c), AUTH0_CREDENTIALS_OK);
	assert_code(auth0_credentials_has_valid(c, 0), AUTH0_CREDENTIALS_NOT_VALID);
	assert_int_equal(refresh_count(&f, 0), 2);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	auth0_credentials_free(c);
	free(login);
}

/* getSSOCredentials' headers and ssoExchange, through the C API. */
static void test_sso_headers_and_exchange(void **state)
{
	const struct auth0_credentials_header ok[] = { { "X-Request-Id", "r-1" } };
	const struct auth0_credentials_header bad[] = { { "Host", "evil.example.com" } };
	struct auth0_credentials_sso *s = NULL;
	struct auth0_credentials *c = NULL;
	char *login, *other, *rt, *text = NULL;

	assert_code(auth0_credentials_new(&c), AUTH0_CREDENTIALS_OK);
	login = save_alice(c);
	assert_code(auth0_credentials_sso_headers(c, NULL, 0, ok, 1, &s), AUTH0_CREDENTIALS_OK);
	assert_null(s->refresh_token); /* stored, not handed out */
	auth0_credentials_sso_free(s);
	assert_code(auth0_credentials_sso_headers(c, NULL, 0, bad, 1, &s),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);

	other = fake_login(&f, "pam-native", NULL, "a0alice", "openid profile offline_access");
	rt = json_member(other, "refresh_token");
	assert_code(auth0_credentials_sso_exchange(c, rt, NULL, NULL, 0, ok, 1, &s),
		    AUTH0_CREDENTIALS_OK);
	assert_string_equal(s->token_type, "N_A");
	assert_non_null(s->refresh_token);
	assert_string_not_equal(s->refresh_token, rt);
	assert_non_null(s->id_token);
	/* The token format alone would lose the rotated refresh token. */
	assert_code(auth0_credentials_sso_format(s, AUTH0_CREDENTIALS_FORMAT_TOKEN, &text),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_code(auth0_credentials_sso_format(s, AUTH0_CREDENTIALS_FORMAT_JSON, &text),
		    AUTH0_CREDENTIALS_OK);
	assert_non_null(strstr(text, "\"refresh_token\""));
	auth0_credentials_secret_free(text);
	auth0_credentials_sso_free(s);
	assert_code(auth0_credentials_sso_exchange(c, "two words", NULL, NULL, 0, NULL, 0, &s),
		    AUTH0_CREDENTIALS_INVALID_ARGUMENT);
	assert_int_equal(fake_stat(&f, "reuse_detected"), 0);
	auth0_credentials_free(c);
	free(rt);
	free(other);
	free(login);
}

/* The shared library exports auth0_credentials_* and nothing else. */
static void test_exports(void **state)
{
	const char *path = getenv("A0_HELPER_LIB");
	const unsigned char *map;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	size_t found = 0;
	struct stat st;
	void *h, *m;
	int fd;

	if (!path)
		fail_msg("A0_HELPER_LIB is not set");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen: %s", dlerror());
	assert_non_null(dlsym(h, "auth0_credentials_get"));
	assert_null(dlsym(h, "a0_cm_get"));
	assert_null(dlsym(h, "a0_http_request"));
	assert_null(dlsym(h, "a0_grant_refresh"));
	dlclose(h);

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(m != MAP_FAILED);
	map = m;
	eh = (const Elf64_Ehdr *)map;
	sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *syms;
		const char *names;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		syms = (const Elf64_Sym *)(map + sh[i].sh_offset);
		names = (const char *)(map + sh[sh[i].sh_link].sh_offset);
		for (size_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); j++) {
			const char *name = names + syms[j].st_name;
			int bind = ELF64_ST_BIND(syms[j].st_info);

			if (syms[j].st_shndx == SHN_UNDEF ||
			    (bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			if (syms[j].st_shndx == SHN_ABS)
				continue; /* the version node */
			if (strncmp(name, "auth0_credentials_", 18) != 0)
				fail_msg("the library exports '%s'", name);
			found++;
		}
	}
	assert_true(found >= 20);
	munmap(m, (size_t)st.st_size);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_get_refresh_and_formats, setup),
		cmocka_unit_test_setup(test_errors_and_codes, setup),
		cmocka_unit_test_setup(test_api_sso_revoke, setup),
		cmocka_unit_test_setup(test_sso_headers_and_exchange, setup),
		cmocka_unit_test(test_exports),
	};

	helper_test_init(&f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
