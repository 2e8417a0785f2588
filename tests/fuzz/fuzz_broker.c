/* SPDX-License-Identifier: MIT */
/*
 * auth0-broker's protocol (broker/protocol.h): the request the broker parses from any local
 * caller (a0_broker_request_parse), and the answer the caller parses (a0_broker_response_parse).
 * The first byte chooses which; what is accepted is formatted again and must parse the same.
 */
#include "config.h"

#include "broker/protocol.h"
#include "lib/error.h"
#include "lib/secret.h"
#include "tests/fuzz/fuzz.h"

static void request(const char *data, size_t size)
{
	struct a0_broker_request *r = NULL, *again = NULL;
	char why[256], *json = NULL;
	size_t len = 0;
	int rr;

	rr = a0_broker_request_parse(data, size, &r, why, sizeof(why));
	if (rr < 0) {
		FUZZ_CHECK(rr == A0_ERR_MALFORMED || rr == A0_ERR_NOMEM);
		FUZZ_CHECK(r == NULL);
		return;
	}
	/* The operation's own members (protocol.h): a session's record, or a subject of the
	 * caller's with a connection. */
	if (r->op == A0_BROKER_EXCHANGE || r->op == A0_BROKER_WORKER)
		FUZZ_CHECK(!r->domain && !r->client_id && !r->refresh_token && r->connection &&
			   (r->op == A0_BROKER_EXCHANGE ? r->access_token && !r->subject
							: r->subject && !r->access_token));
	else
		FUZZ_CHECK(r->domain && r->client_id && r->refresh_token && !r->access_token &&
			   !r->subject && !r->audit_context);
	FUZZ_CHECK(r->n_params <= A0_BROKER_MAX_PARAMS);
	FUZZ_CHECK(r->op == A0_BROKER_REFRESH || (!r->audience && !r->n_params));
	FUZZ_CHECK(r->op != A0_BROKER_REVOKE || !r->scope);
	if (a0_broker_request_format(r, &json, &len) == 0) {
		FUZZ_CHECK(a0_broker_request_parse(json, len, &again, why, sizeof(why)) == 0);
		FUZZ_CHECK(again->op == r->op && again->n_params == r->n_params);
		FUZZ_CHECK(!r->refresh_token ||
			   strcmp(again->refresh_token, r->refresh_token) == 0);
		FUZZ_CHECK(!r->access_token || strcmp(again->access_token, r->access_token) == 0);
		FUZZ_CHECK(!r->subject || strcmp(again->subject, r->subject) == 0);
		a0_broker_request_free(again);
		a0_secret_free(json);
	}
	a0_broker_request_free(r);
}

static void response(const char *data, size_t size)
{
	struct a0_result res = { 0 };
	struct a0_tokens *t = NULL;
	char why[256];
	int err = 1, rr;

	rr = a0_broker_response_parse(data, size, &err, &res, &t, why, sizeof(why));
	if (rr < 0) {
		FUZZ_CHECK(rr == A0_ERR_MALFORMED || rr == A0_ERR_NOMEM);
		FUZZ_CHECK(t == NULL);
		return;
	}
	FUZZ_CHECK(err <= 0);
	FUZZ_CHECK(!t || (err == 0 && t->access_token && t->token_type));
	a0_tokens_free(t);
	a0_result_clear(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		response((const char *)data + 1, size - 1);
	else
		request((const char *)data + 1, size - 1);
	return 0;
}
