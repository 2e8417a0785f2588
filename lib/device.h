/* SPDX-License-Identifier: MIT */
#ifndef A0_DEVICE_H
#define A0_DEVICE_H

/*
 * Sign-in with the device authorization flow (RFC 8628, Auth0's /oauth/device/code and the
 * device code grant): the person opens an address on another device (or scans its QR code),
 * signs in there with whatever their connection offers (social, enterprise, passkey), and this
 * host polls until the tenant hands over the tokens.
 */

#include "lib/auth0.h"
#include "lib/conf.h"
#include "lib/mfa.h"

/* Bounds on the tenant's answer: longer is refused, not cut. */
#define A0_DEVICE_MAX_USER_CODE 64 /* bytes as sent; Auth0's are at most 20 characters */
#define A0_DEVICE_MAX_URI 256      /* bytes of verification_uri(_complete) */
#define A0_DEVICE_MAX_INTERVAL 60  /* seconds between polls a tenant may ask for */
#define A0_DEVICE_MAX_EXPIRES 3600 /* seconds a device code may live (Auth0: 900) */
#define A0_DEVICE_DEFAULT_INTERVAL 5 /* RFC 8628 §3.2, when the answer has none */
#define A0_DEVICE_SLOW_DOWN 5        /* seconds added to the interval per slow_down (§3.5) */

/* A device code answer, checked: the text members are safe to show on a terminal. */
struct a0_device_code {
	char *device_code; /* a secret */
	char user_code[A0_DEVICE_MAX_USER_CODE + 1];       /* control characters stripped */
	char verification_uri[A0_DEVICE_MAX_URI + 1];      /* https on the tenant's domain */
	char verification_uri_complete[A0_DEVICE_MAX_URI + 1]; /* the same, or "" when none */
	unsigned expires_in, interval;                     /* seconds; interval at least 1 */
};

/*
 * Read and check an answer of /oauth/device/code for the tenant of cfg (its domain, or its
 * custom_domain): 0 and *ret (clear with a0_device_code_clear); A0_ERR_MALFORMED with the
 * reason in why (never the tenant's text unfiltered) for a member missing, of the wrong type
 * or over its bound, an address that is not https on the tenant's domain or holds anything but
 * printable ASCII, or a user code with nothing printable.
 */
int a0_device_parse_code(const char *body, size_t len, const struct a0_config *cfg,
			 struct a0_device_code *ret, char *why, size_t whylen);
void a0_device_code_clear(struct a0_device_code *d);

/*
 * Sign in with the device flow: start it (the configuration's scope and audience), check the
 * answer (as a0_device_parse_code; a refusal is told to the person in words), tell the person
 * through p the host's name, the user code, the address, a QR code of the complete address
 * (cfg->device_qr) and to go on only if they started this sign-in on this host, then poll,
 * honouring the interval and slow_down (+5 s each), for at most cfg->device_timeout seconds
 * (and the code's own lifetime), sleeping between polls. With p->ack_messages the text is
 * followed by a prompt to press Enter once approved (sshd shows messages only with a prompt),
 * and polling starts after it. The polls carry DPoP proofs when c->dpop.
 * 0 and the tokens; A0_ERR_REJECTED when the person denied it (access_denied),
 * A0_ERR_EXPIRED when the tenant let the code expire (expired_token, or invalid_grant for a
 * code it no longer knows), A0_ERR_NOT_APPROVED when device_timeout passed, A0_ERR_MALFORMED for
 * a refused answer, A0_ERR_CONV when the prompt failed, or a request's error; res describes
 * the last answer (or the reason) for the log.
 */
int a0_device_sign_in(struct a0_client *c, const struct a0_config *cfg, const char *host,
		      const struct a0_prompter *p, struct a0_tokens **ret, struct a0_result *res);

#endif
