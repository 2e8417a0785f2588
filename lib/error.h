/* SPDX-License-Identifier: MIT */
#ifndef A0_ERROR_H
#define A0_ERROR_H

/*
 * One error convention for the whole project: functions return 0 or one of these (negative).
 * Each has one name and one readable message in error.c; the PAM layer and the helper map
 * them to their own result codes in one table each.
 */
enum a0_err {
	A0_OK = 0,
	A0_ERR_NOMEM = -1,              /* out of memory */
	A0_ERR_INVALID = -2,            /* bad argument or input from our side */
	A0_ERR_CONFIG = -3,             /* configuration unusable */
	A0_ERR_NETWORK = -4,            /* could not reach the tenant (DNS, refused, reset) */
	A0_ERR_TLS = -5,                /* TLS handshake or certificate verification failed */
	A0_ERR_TIMEOUT = -6,            /* the request took longer than the configured timeout */
	A0_ERR_TOO_LARGE = -7,          /* response body over the cap */
	A0_ERR_MALFORMED = -8,          /* response is not what Auth0 sends */
	A0_ERR_SERVER = -9,             /* 5xx from the tenant */
	A0_ERR_RATE_LIMITED = -10,      /* 429 too_many_requests */
	A0_ERR_DENIED = -11,            /* invalid_grant: wrong password, code, or token */
	A0_ERR_BLOCKED = -12,           /* blocked_user / "user is blocked" */
	A0_ERR_TOO_MANY_ATTEMPTS = -13, /* too_many_attempts: brute-force protection */
	A0_ERR_MFA_REQUIRED = -14,      /* mfa_required: the caller continues with the mfa_token */
	A0_ERR_PENDING = -15,           /* authorization_pending: push not answered yet */
	A0_ERR_SLOW_DOWN = -16,         /* slow_down: poll less often */
	A0_ERR_EXPIRED = -17,           /* expired_token: the mfa_token is too old */
	A0_ERR_REJECTED = -18,          /* the user rejected the push or the device sign-in */
	A0_ERR_NOT_ENROLLED = -19,      /* MFA required but no usable authenticator */
	A0_ERR_CLIENT = -20,        /* the tenant refused this client (unauthorized_client, ...) */
	A0_ERR_AUTH0 = -21,         /* another error answered by Auth0 (see a0_result) */
	A0_ERR_SYSTEM = -22,        /* a system call failed (errno) */
	A0_ERR_CONV = -23,          /* the PAM conversation failed or was cancelled */
	A0_ERR_TOKEN_INVALID = -24, /* an ID token failed verification */
	A0_ERR_UNKNOWN_KID = -25,   /* an ID token names a key the JWKS does not have */
	A0_ERR_POLICY = -26,        /* the verified identity may not use this account */
	A0_ERR_STORE = -27,         /* the keyring refused to store (quota, size) */
	A0_ERR_NOT_FOUND = -28,     /* no such record */
	A0_ERR_VERSION = -29,       /* a stored record of another format version */
	A0_ERR_DELAYED = -30,       /* too many failed sign-ins here: wait (lib/guard.h) */
	A0_ERR_LOCKED = -31,        /* offline login locked: too many failures (lib/offline.h) */
	A0_ERR_NOT_APPROVED = -32,  /* a device sign-in not approved within device_timeout */
};

/* Stable upper-case name, e.g. "NETWORK"; for logs and tests. */
const char *a0_err_name(int err);
/* One-line message for a person, e.g. "could not reach the Auth0 tenant". */
const char *a0_strerror(int err);

#endif
