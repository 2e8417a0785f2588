/* SPDX-License-Identifier: MIT */
#ifndef A0_CREDENTIALS_BROKER_H
#define A0_CREDENTIALS_BROKER_H

/*
 * The tenant of a confidential application (a record with client_auth "broker"): the same
 * requests as the tenant module (tenant.h), sent to auth0-broker(8), which adds the client's
 * authentication, over its Unix socket (broker/protocol.h). In the library itself: the protocol
 * needs libc and cJSON alone, so neither libcurl nor OpenSSL is loaded.
 *
 * The socket is A0_BROKER_SOCKET_PATH, fixed at build time (broker/protocol.h's
 * A0_BROKER_SOCKET unless the build defines it): never from the record, which the user can
 * write, nor from the environment, so that nothing a user or a program's caller controls
 * chooses where a refresh token is sent. The library's test build (credentials/local.mk)
 * defines it to a path in the build tree.
 */

#include "credentials/tenant.h"

/* Seconds the caller waits for the broker beyond the request's own timeout: the broker's
 * request to the tenant has that timeout, and its answer (with a rotated refresh token) must
 * still find the caller there. */
#define A0_BROKER_CALL_MARGIN 5

/* The broker's socket path, for messages and tests. */
extern const char a0_broker_socket_path[];

extern const struct a0_tenant a0_broker_tenant;

/*
 * Send req to the broker (any operation, also those without a record: exchange, worker): 0 and
 * *ret_tokens (may be NULL) when the tenant accepted it; the broker's result (an A0_ERR_*, with
 * the tenant's answer in res) when not; or why the broker could not be asked (A0_ERR_NETWORK,
 * A0_ERR_TIMEOUT, ..., with res->status 0 and the reason, naming the socket, in
 * res->description).
 */
int a0_broker_send(const struct a0_broker_request *req, unsigned timeout,
		   struct a0_tokens **ret_tokens, struct a0_result *res);

#endif
