/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "lib/error.h"
#include "lib/util.h"

static const struct {
	const char *name;
	const char *message;
} errors[] = {
	[-A0_OK] = { "OK", "success" },
	[-A0_ERR_NOMEM] = { "NOMEM", "out of memory" },
	[-A0_ERR_INVALID] = { "INVALID", "invalid input" },
	[-A0_ERR_CONFIG] = { "CONFIG", "configuration error" },
	[-A0_ERR_NETWORK] = { "NETWORK", "could not reach the Auth0 tenant" },
	[-A0_ERR_TLS] = { "TLS", "TLS connection to the Auth0 tenant could not be verified" },
	[-A0_ERR_TIMEOUT] = { "TIMEOUT", "the Auth0 tenant did not answer in time" },
	[-A0_ERR_TOO_LARGE] = { "TOO_LARGE", "the Auth0 tenant's answer is too large" },
	[-A0_ERR_MALFORMED] = { "MALFORMED", "the Auth0 tenant's answer is malformed" },
	[-A0_ERR_SERVER] = { "SERVER", "the Auth0 tenant had a server error" },
	[-A0_ERR_RATE_LIMITED] = { "RATE_LIMITED", "the Auth0 tenant's rate limit was reached" },
	[-A0_ERR_DENIED] = { "DENIED", "the credentials were not accepted" },
	[-A0_ERR_BLOCKED] = { "BLOCKED", "the account is blocked" },
	[-A0_ERR_TOO_MANY_ATTEMPTS] = { "TOO_MANY_ATTEMPTS",
					"the account is locked after too many attempts" },
	[-A0_ERR_MFA_REQUIRED] = { "MFA_REQUIRED", "multi-factor authentication is required" },
	[-A0_ERR_PENDING] = { "PENDING", "the sign-in request has not been answered yet" },
	[-A0_ERR_SLOW_DOWN] = { "SLOW_DOWN", "polling too fast" },
	[-A0_ERR_EXPIRED] = { "EXPIRED", "the sign-in took too long" },
	[-A0_ERR_REJECTED] = { "REJECTED", "the sign-in request was rejected" },
	[-A0_ERR_NOT_ENROLLED] = { "NOT_ENROLLED", "no multi-factor authenticator is enrolled" },
	[-A0_ERR_CLIENT] = { "CLIENT", "the Auth0 application is not set up for this" },
	[-A0_ERR_AUTH0] = { "AUTH0", "the Auth0 tenant refused the request" },
	[-A0_ERR_SYSTEM] = { "SYSTEM", "system error" },
	[-A0_ERR_CONV] = { "CONV", "the conversation with the user failed" },
	[-A0_ERR_TOKEN_INVALID] = { "TOKEN_INVALID", "the ID token failed verification" },
	[-A0_ERR_UNKNOWN_KID] = { "UNKNOWN_KID", "the ID token is signed by an unknown key" },
	[-A0_ERR_POLICY] = { "POLICY", "this identity may not use this account" },
	[-A0_ERR_STORE] = { "STORE", "the credentials could not be stored (keyring quota?)" },
	[-A0_ERR_NOT_FOUND] = { "NOT_FOUND", "no such credentials" },
	[-A0_ERR_VERSION] = { "VERSION", "stored credentials have an unknown format version" },
	[-A0_ERR_DELAYED] = { "DELAYED", "too many failed sign-ins from there: try again later" },
	[-A0_ERR_LOCKED] = { "LOCKED",
			     "offline sign-in locked after too many failures: sign in online" },
	[-A0_ERR_NOT_APPROVED] = { "NOT_APPROVED", "the sign-in was not approved in time" },
};

static int index_of(int err)
{
	int i = -err;

	if (i < 0 || i >= (int)A0_ARRAY_SIZE(errors) || !errors[i].name)
		return -A0_ERR_AUTH0;
	return i;
}

const char *a0_err_name(int err)
{
	return errors[index_of(err)].name;
}

const char *a0_strerror(int err)
{
	return errors[index_of(err)].message;
}
