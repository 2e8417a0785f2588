/* SPDX-License-Identifier: MIT */
/*
 * Passwordless sign-in (passwordless.h): /passwordless/start, the Passwordless OTP grant, and
 * the flow that joins them at a prompt.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/passwordless.h"
#include "lib/secret.h"
#include "lib/util.h"

/* How many characters of an email's local part stay visible. */
#define SHOWN_LOCAL 1
/* How many last digits of a phone number stay visible. */
#define SHOWN_DIGITS 2

const char *a0_passwordless_connection(int channel)
{
	switch (channel) {
	case A0_PWL_EMAIL:
		return "email";
	case A0_PWL_SMS:
		return "sms";
	}
	return NULL;
}

bool a0_passwordless_address_ok(int channel, const char *address)
{
	if (!address)
		return false;
	if (channel == A0_PWL_EMAIL)
		return a0_email_address_ok(address);
	return channel == A0_PWL_SMS && a0_phone_number_ok(address);
}

/* Append c to buf (of len bytes so far) if it is printable ASCII and there is room. */
static void put(char *buf, size_t *len, size_t max, char c)
{
	if (c >= 0x20 && c < 0x7f && *len < max)
		buf[(*len)++] = c;
}

static void put_text(char *buf, size_t *len, size_t max, const char *s)
{
	for (; *s; s++)
		put(buf, len, max, *s);
}

const char *a0_passwordless_mask(int channel, const char *address, char buf[A0_PWL_MAX_SHOWN + 1])
{
	size_t len = 0, digits = 0, seen = 0, shown = 0;
	const char *at, *s;

	if (!address)
		address = "";
	if (channel == A0_PWL_SMS) {
		for (s = address; *s; s++)
			digits += isdigit((unsigned char)*s) != 0;
		put(buf, &len, A0_PWL_MAX_SHOWN, '+');
		for (s = address; *s; s++) {
			if (!isdigit((unsigned char)*s))
				continue;
			seen++;
			/* The last SHOWN_DIGITS digits, when the number is long enough to hide
			 * the rest; a bound on stars keeps an oversize value short. */
			if (digits > 2 * SHOWN_DIGITS && seen > digits - SHOWN_DIGITS)
				put(buf, &len, A0_PWL_MAX_SHOWN, *s);
			else if (shown++ < A0_PWL_MAX_SHOWN - 1 - SHOWN_DIGITS)
				put(buf, &len, A0_PWL_MAX_SHOWN, '*');
		}
		buf[len] = '\0';
		return buf;
	}
	at = strrchr(address, '@');
	/* The first visible character of the local part, then stars for the rest. */
	for (s = address; *s && s != at && shown < SHOWN_LOCAL; s++) {
		size_t before = len;

		put(buf, &len, A0_PWL_MAX_SHOWN, *s);
		shown += len != before;
	}
	put_text(buf, &len, A0_PWL_MAX_SHOWN, "***");
	if (at) {
		/* Room for the domain: what is left, less "..." should it not fit. */
		size_t room = A0_PWL_MAX_SHOWN - len, need = 0;

		for (s = at; *s; s++)
			need += *s >= 0x20 && *s < 0x7f;
		if (need <= room) {
			put_text(buf, &len, A0_PWL_MAX_SHOWN, at);
		} else {
			for (s = at; *s && len < A0_PWL_MAX_SHOWN - 3; s++)
				put(buf, &len, A0_PWL_MAX_SHOWN - 3, *s);
			put_text(buf, &len, A0_PWL_MAX_SHOWN, "...");
		}
	}
	buf[len] = '\0';
	return buf;
}

/* Is the login name the username template makes for user an email address? Then return it. */
static int login_email(const struct a0_config *cfg, const char *user, char **ret)
{
	char *login = NULL;
	int r;

	r = a0_config_username(cfg, user, &login);
	if (r < 0)
		return r;
	if (!a0_email_address_ok(login)) {
		free(login);
		return A0_ERR_NOT_FOUND;
	}
	*ret = login;
	return 0;
}

int a0_passwordless_address(const struct a0_config *cfg, const char *user, int channel, char **ret,
			    char *err, size_t errlen)
{
	char *email = NULL, *phone = NULL, *found;
	int r;

	if (!a0_passwordless_connection(channel))
		return A0_ERR_INVALID;
	r = a0_config_user_contact(cfg, user, &email, &phone, err, errlen);
	if (r < 0 && r != A0_ERR_NOT_FOUND)
		return r;
	found = channel == A0_PWL_EMAIL ? email : phone;
	if (found) {
		*ret = found;
		free(channel == A0_PWL_EMAIL ? phone : email);
		return 0;
	}
	free(email);
	free(phone);
	if (channel == A0_PWL_EMAIL) {
		r = login_email(cfg, user, ret);
		if (r != A0_ERR_NOT_FOUND)
			return r;
	}
	a0_format(err, errlen,
		  channel == A0_PWL_EMAIL
			  ? "no email address for %s: give email= on its users_file line, or a "
			    "username template that makes an email address"
			  : "no phone number for %s: give phone= on its users_file line",
		  user);
	return A0_ERR_NOT_FOUND;
}

int a0_passwordless_start(struct a0_client *c, int channel, const char *address,
			  struct a0_result *res)
{
	const char *connection = a0_passwordless_connection(channel);
	const char *kv[] = {
		"connection", connection, channel == A0_PWL_EMAIL ? "email" : "phone_number",
		address,      "send",     "code",
		NULL
	};
	struct a0_http_response resp;
	int r;

	a0_result_clear(res);
	if (!a0_passwordless_address_ok(channel, address))
		return A0_ERR_INVALID;
	r = a0_post_json(c, "/passwordless/start", kv, &resp, res);
	if (r < 0)
		return r;
	res->status = resp.status;
	a0_http_response_clear(&resp);
	return 0;
}

int a0_grant_passwordless(struct a0_client *c, const struct a0_config *cfg, int channel,
			  const char *address, const char *otp, struct a0_tokens **ret,
			  struct a0_result *res)
{
	const char *kv[] = { "grant_type", A0_GRANT_PASSWORDLESS_OTP,
			     "username",   address,
			     "otp",        otp,
			     "realm",      a0_passwordless_connection(channel),
			     "scope",      cfg->scope,
			     "audience",   cfg->audience,
			     NULL };

	a0_result_clear(res);
	if (!a0_passwordless_address_ok(channel, address) || !otp || !*otp)
		return A0_ERR_INVALID;
	return a0_token_request(c, kv, ret, res);
}

/* A reply that can be a code: A0_PWL_MIN_CODE to A0_PWL_MAX_CODE digits. */
static bool is_code(const char *s)
{
	size_t n = strlen(s);

	return n >= A0_PWL_MIN_CODE && n <= A0_PWL_MAX_CODE && strspn(s, "0123456789") == n;
}

int a0_passwordless_sign_in(struct a0_client *c, const struct a0_config *cfg, int channel,
			    const char *address, const struct a0_prompter *p,
			    struct a0_tokens **ret, struct a0_result *res)
{
	char shown[A0_PWL_MAX_SHOWN + 1], msg[160];
	const char *prompt = channel == A0_PWL_EMAIL ? "Code sent by email: "
						     : "Code sent by SMS: ";
	unsigned tries = cfg->mfa_retries ? cfg->mfa_retries : 1;
	int r;

	r = a0_passwordless_start(c, channel, address, res);
	if (r < 0)
		return r;
	a0_format(msg, sizeof(msg), "A sign-in code was sent %s %s.",
		  channel == A0_PWL_EMAIL ? "by email to" : "by SMS to",
		  a0_passwordless_mask(channel, address, shown));
	p->tell(p->ctx, false, msg);
	for (unsigned attempt = 1; attempt <= tries; attempt++) {
		char *code = NULL;

		r = p->ask(p->ctx, false, prompt, &code);
		if (r == 0 && !code)
			r = A0_ERR_CONV;
		if (r < 0)
			return r;
		if (!is_code(code)) {
			r = A0_ERR_DENIED;
			a0_result_clear(res);
			a0_format(res->description, sizeof(res->description),
				  "reply is not a one-time code");
		} else {
			r = a0_grant_passwordless(c, cfg, channel, address, code, ret, res);
		}
		a0_secret_free(code);
		if (r != A0_ERR_DENIED)
			break;
		if (attempt < tries)
			p->tell(p->ctx, true, "That code is not right. Try again.");
	}
	return r;
}

const char *a0_passwordless_why(int err)
{
	switch (err) {
	case A0_ERR_EXPIRED:
		return "The code has expired. Sign in again for a new one.";
	case A0_ERR_TOO_MANY_ATTEMPTS:
		return "Too many wrong codes. Sign in again for a new one.";
	case A0_ERR_DENIED:
		return "The code was not right.";
	}
	return NULL;
}
