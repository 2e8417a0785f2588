/* SPDX-License-Identifier: MIT */
/*
 * The configuration file and the module arguments: a0_config_parse_buffer, the loader's own
 * path with the text in memory. The input is the file's text, then after each NUL byte one
 * module argument (the file itself may not hold NUL bytes, so nothing is lost).
 */
#include "config.h"

#include "lib/conf.h"
#include "lib/error.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ARGS 32

static void check_list(const struct a0_list *l)
{
	FUZZ_CHECK(l->n <= A0_MAX_LIST && (l->n == 0 || l->items));
	for (size_t i = 0; i < l->n; i++)
		FUZZ_CHECK(l->items[i] && *l->items[i]);
}

static void check_config(const struct a0_config *cfg)
{
	char *s = NULL;
	int r;

	FUZZ_CHECK(cfg->domain && *cfg->domain && cfg->client_id && *cfg->client_id);
	FUZZ_CHECK(cfg->realm && cfg->scope && cfg->username);
	FUZZ_CHECK(cfg->client_secret == NULL); /* no file is read */
	FUZZ_CHECK(cfg->timeout >= 1 && cfg->timeout <= 300);
	FUZZ_CHECK(cfg->mfa_retries >= 1 && cfg->mfa_retries <= 10);
	FUZZ_CHECK(cfg->mfa_timeout >= 1 && cfg->mfa_poll_interval >= 1);
	FUZZ_CHECK(cfg->n_mfa_methods >= 1 && cfg->n_mfa_methods <= A0_MFA_N);
	for (size_t i = 0; i < cfg->n_mfa_methods; i++)
		FUZZ_CHECK(cfg->mfa_methods[i] < A0_MFA_N);
	FUZZ_CHECK(cfg->push_prompt <= A0_PUSH_PROMPT_NONE);
	FUZZ_CHECK(cfg->user_claim_template && cfg->users_file);
	/* A claim the account holder sets never binds an account without the opt-in. */
	FUZZ_CHECK(!cfg->user_claim || a0_claim_admin_set(cfg->user_claim) ||
		   cfg->trust_user_claims);
	check_list(&cfg->allowed_users);
	check_list(&cfg->allowed_groups);
	FUZZ_CHECK(cfg->allowed_groups.n == 0 || cfg->groups_claim);
	FUZZ_CHECK(cfg->account_without_auth0 <= A0_ACCOUNT_DENY);

	/* What the module does next with it: expand the templates for a user. */
	r = a0_config_username(cfg, "a0alice", &s);
	FUZZ_CHECK(r == 0 || r == A0_ERR_INVALID || r == A0_ERR_NOMEM);
	free(s);
	s = NULL;
	r = a0_template_expand(cfg->user_claim_template, "100%u", &s);
	FUZZ_CHECK(r == 0 || r == A0_ERR_INVALID || r == A0_ERR_NOMEM);
	free(s);
	(void)a0_list_contains(&cfg->allowed_users, "a0alice");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_ARGS];
	struct a0_config *cfg = NULL;
	char err[512], *copy;
	size_t text_len;
	int argc = 0, r;

	/* Arguments are C strings: split a NUL-terminated copy at its NUL bytes. */
	copy = fuzz_string(data, size);
	text_len = strlen(copy);
	for (size_t i = text_len; i < size && argc < MAX_ARGS; i += 1 + strlen(copy + i + 1))
		argv[argc++] = copy + i + 1;
	memset(err, 'x', sizeof(err));
	r = a0_config_parse_buffer(copy, text_len, argc, argv, &cfg, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(r == A0_ERR_CONFIG || r == A0_ERR_NOMEM);
		FUZZ_CHECK(cfg == NULL);
		FUZZ_CHECK(strnlen(err, sizeof(err)) < sizeof(err));
	} else {
		FUZZ_CHECK(r == 0 && cfg);
		check_config(cfg);
		a0_config_free(cfg);
	}
	free(copy);
	return 0;
}
