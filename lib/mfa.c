/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/jwt.h"
#include "lib/mfa.h"
#include "lib/qr.h"
#include "lib/secret.h"
#include "lib/util.h"

/* The state of one MFA completion. */
struct flow {
	struct a0_client *c;
	const struct a0_config *cfg;
	const char *mfa_token;
	const struct a0_prompter *p;
	struct a0_result *res;
	/* The first active, allowed authenticator of each method, or NULL. */
	const struct a0_authenticator *by_method[A0_MFA_N];
};

static const char *const method_labels[A0_MFA_N] = {
	[A0_MFA_OTP] = "One-time code from your authenticator app",
	[A0_MFA_PUSH] = "Push notification",
	[A0_MFA_SMS] = "Code by SMS",
	[A0_MFA_VOICE] = "Code by voice call",
	[A0_MFA_EMAIL] = "Code by email",
	[A0_MFA_RECOVERY] = "Recovery code",
};

bool a0_mfa_is_recovery_code(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	/* Auth0 recovery codes are 24 letters and digits; one-time codes are digits. */
	if (n < 16 || n > 64)
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s))
			return false;
		letter |= isalpha((unsigned char)*s) != 0;
	}
	return letter;
}

static bool is_code(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 10)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void tell(const struct flow *f, bool error, const char *text)
{
	f->p->tell(f->p->ctx, error, text);
}

static int ask(const struct flow *f, bool echo, const char *prompt, char **ret)
{
	int r = f->p->ask(f->p->ctx, echo, prompt, ret);

	if (r == 0 && !*ret)
		r = A0_ERR_CONV;
	return r;
}

/* Wait for an acknowledgement so that the messages before it are shown (bug 2876). */
static void acknowledge(const struct flow *f)
{
	char *reply = NULL;

	if (f->p->ack_messages && ask(f, false, "Press Enter to continue: ", &reply) == 0)
		a0_secret_free(reply);
}

/*
 * Show a recovery code once, then wait for the acknowledgement where messages need one: after a
 * recovery-code login (the new code, as the used one is spent) and after a first enrolment.
 * The code came from the tenant: printable ASCII without blanks, bounded, or it is not shown.
 */
static bool recovery_code_ok(const char *code)
{
	size_t n = strnlen(code, A0_MAX_RECOVERY_CODE + 1);

	return n > 0 && n <= A0_MAX_RECOVERY_CODE && a0_text_ok(code, n, A0_TEXT_TOKEN);
}

static void show_recovery_code(const struct flow *f, const char *code, bool enrolled)
{
	char msg[256];

	if (!recovery_code_ok(code))
		return;
	snprintf(msg, sizeof(msg), "%s%s\nWrite it down and keep it safe: %s",
		 enrolled ? "Your recovery code is: " : "Your new recovery code is: ", code,
		 enrolled ? "it signs you in if you lose your authenticator."
			  : "the code you used no longer works.");
	tell(f, false, msg);
	explicit_bzero(msg, sizeof(msg));
	acknowledge(f);
}

static int recovery_grant(struct flow *f, const char *code, struct a0_tokens **ret)
{
	int r;

	r = a0_grant_mfa_recovery(f->c, f->mfa_token, code, ret, f->res);
	if (r == 0 && (*ret)->recovery_code)
		show_recovery_code(f, (*ret)->recovery_code, false);
	return r;
}

/*
 * Ask for a code up to mfa_retries times and send it with the grant of `method` (oob_code for
 * the SMS/voice/email ones). A reply that looks like a recovery code uses that grant instead,
 * when the user has one: the way out for a lost device.
 */
static int ask_code(struct flow *f, enum a0_mfa_method method, const char *prompt,
		    const char *oob_code, struct a0_tokens **ret)
{
	bool recovery_ok = f->by_method[A0_MFA_RECOVERY] != NULL;
	int r = A0_ERR_DENIED;

	for (unsigned attempt = 1; attempt <= f->cfg->mfa_retries; attempt++) {
		char *code = NULL;

		/* One-time codes are echoed, as OpenSSH and google-authenticator do; a recovery
		 * code stays valid until used, so its own prompt does not show it. */
		r = ask(f, method != A0_MFA_RECOVERY, prompt, &code);
		if (r < 0)
			return r;
		if (method == A0_MFA_RECOVERY || (recovery_ok && a0_mfa_is_recovery_code(code))) {
			r = recovery_grant(f, code, ret);
		} else if (!is_code(code)) {
			r = A0_ERR_DENIED;
			a0_result_clear(f->res);
			a0_format(f->res->description, sizeof(f->res->description),
				  "reply is not a one-time code");
		} else if (method == A0_MFA_OTP) {
			r = a0_grant_mfa_otp(f->c, f->mfa_token, code, ret, f->res);
		} else {
			r = a0_grant_mfa_oob(f->c, f->mfa_token, oob_code, code, ret, f->res);
		}
		a0_secret_free(code);
		if (r != A0_ERR_DENIED)
			return r;
		if (attempt < f->cfg->mfa_retries)
			tell(f, true, "That code is not right. Try again.");
	}
	return r;
}

static int challenge(struct flow *f, enum a0_mfa_method method, struct a0_challenge *ch)
{
	return a0_mfa_challenge(f->c, f->mfa_token, f->by_method[method], ch, f->res);
}

static int run_oob_code(struct flow *f, enum a0_mfa_method method, struct a0_tokens **ret)
{
	static const char *const prompts[A0_MFA_N] = {
		[A0_MFA_SMS] = "Code sent by SMS: ",
		[A0_MFA_VOICE] = "Code from the voice call: ",
		[A0_MFA_EMAIL] = "Code sent by email: ",
	};
	struct a0_challenge ch = { 0 };
	int r;

	r = challenge(f, method, &ch);
	if (r == 0 && !ch.binding_prompt) {
		r = A0_ERR_MALFORMED;
		a0_format(f->res->description, sizeof(f->res->description),
			  "%s challenge without binding_method prompt", a0_mfa_method_name(method));
	}
	if (r == 0)
		r = ask_code(f, method, prompts[method], ch.oob_code, ret);
	a0_challenge_clear(&ch);
	return r;
}

/*
 * An authenticator's name for the terminal: the user who enrolled the device chose it, and the
 * tenant passes it on as is. Printable ASCII only (no escape sequence, no newline that would
 * start a line of its own), at most A0_SHOW_MAX bytes.
 */
static const char *shown_name(const struct a0_authenticator *a, char buf[A0_SHOW_MAX + 1])
{
	return a0_show(a->name, buf);
}

static bool push_enter(const struct flow *f)
{
	return f->p->ack_messages;
}

static int poll_push(struct flow *f, const char *oob_code, struct a0_tokens **ret)
{
	time_t deadline = time(NULL) + f->cfg->mfa_timeout;
	unsigned interval = f->cfg->mfa_poll_interval;
	int r;

	for (;;) {
		r = a0_grant_mfa_oob(f->c, f->mfa_token, oob_code, NULL, ret, f->res);
		if (r == A0_ERR_SLOW_DOWN)
			interval += 5; /* RFC 8628 section 3.5 */
		else if (r != A0_ERR_PENDING)
			return r;
		if (time(NULL) + (time_t)interval > deadline) {
			a0_format(f->res->description, sizeof(f->res->description),
				  "push not approved within %u seconds", f->cfg->mfa_timeout);
			return A0_ERR_EXPIRED;
		}
		sleep(interval);
	}
}

static int run_push(struct flow *f, struct a0_tokens **ret)
{
	const struct a0_authenticator *a = f->by_method[A0_MFA_PUSH];
	struct a0_challenge ch = { 0 };
	char msg[256], name[A0_SHOW_MAX + 1];
	int r;

	r = challenge(f, A0_MFA_PUSH, &ch);
	if (r < 0)
		return r;
	snprintf(msg, sizeof(msg), "Approve the sign-in request on your phone%s%s%s.",
		 a->name[0] ? " (" : "", shown_name(a, name), a->name[0] ? ")" : "");
	if (push_enter(f)) {
		char *reply = NULL;
		bool recovery_ok = f->by_method[A0_MFA_RECOVERY] != NULL;

		tell(f, false, msg);
		r = ask(f, false,
			recovery_ok
				? "Press Enter once you have approved (or type a recovery code): "
				: "Press Enter once you have approved: ",
			&reply);
		if (r == 0 && recovery_ok && a0_mfa_is_recovery_code(reply))
			r = 1;
		if (r == 1)
			r = recovery_grant(f, reply, ret);
		else if (r == 0)
			r = poll_push(f, ch.oob_code, ret);
		a0_secret_free(reply);
	} else {
		tell(f, false, msg);
		r = poll_push(f, ch.oob_code, ret);
	}
	a0_challenge_clear(&ch);
	return r;
}

static int run_method(struct flow *f, enum a0_mfa_method m, struct a0_tokens **ret)
{
	switch (m) {
	case A0_MFA_OTP:
		if (f->by_method[A0_MFA_RECOVERY])
			tell(f, false, "Lost your device? Enter your recovery code instead.");
		return ask_code(f, A0_MFA_OTP, "One-time code: ", NULL, ret);
	case A0_MFA_PUSH:
		return run_push(f, ret);
	case A0_MFA_SMS:
	case A0_MFA_VOICE:
	case A0_MFA_EMAIL:
		return run_oob_code(f, m, ret);
	case A0_MFA_RECOVERY:
	case A0_MFA_N:
		break;
	}
	return ask_code(f, A0_MFA_RECOVERY, "Recovery code: ", NULL, ret);
}

/* Let the person pick among the enrolled methods; 0 and the method, or an error. */
static int menu(struct flow *f, enum a0_mfa_method *ret)
{
	enum a0_mfa_method options[A0_MFA_N];
	char text[1024], name[A0_SHOW_MAX + 1];
	size_t n = 0, len;

	len = (size_t)snprintf(text, sizeof(text), "Choose how to finish signing in:\n");
	for (size_t i = 0; i < f->cfg->n_mfa_methods; i++) {
		enum a0_mfa_method m = f->cfg->mfa_methods[i];
		const struct a0_authenticator *a = f->by_method[m];

		if (!a)
			continue;
		options[n++] = m;
		len += (size_t)snprintf(text + len, sizeof(text) - len, "  %zu) %s%s%s%s\n", n,
					method_labels[m], a->name[0] ? " (" : "",
					shown_name(a, name), a->name[0] ? ")" : "");
	}
	snprintf(text + len, sizeof(text) - len, "Option: ");

	for (unsigned attempt = 1; attempt <= f->cfg->mfa_retries; attempt++) {
		char *reply = NULL, *end;
		unsigned long choice;
		int r;

		r = ask(f, true, text, &reply);
		if (r < 0)
			return r;
		choice = strtoul(reply, &end, 10);
		if (end != reply && *end == '\0' && choice >= 1 && choice <= n) {
			a0_secret_free(reply);
			*ret = options[choice - 1];
			return 0;
		}
		a0_secret_free(reply);
		tell(f, true, "Please enter one of the numbers shown.");
	}
	a0_result_clear(f->res);
	a0_format(f->res->description, sizeof(f->res->description), "no method chosen");
	return A0_ERR_DENIED;
}

static bool allowed(const struct a0_config *cfg, int m)
{
	for (size_t i = 0; i < cfg->n_mfa_methods; i++)
		if ((int)cfg->mfa_methods[i] == m)
			return true;
	return false;
}

/* ---- Enrolment at login (mfa_enroll): /mfa/associate, then the first code confirms it ---- */

#define MAX_PHONE_REPLY 64 /* bytes of a typed phone number, blanks and dashes included */
#define OTPAUTH_SCHEME "otpauth://"

/*
 * The one place the authenticator app's QR code is drawn. Until the terminal renderer is in
 * (lib/qr.h, issue 17's device flow), the URI the app takes by hand, as text.
 */
/* The app's setup: a QR code of the otpauth URI (as device_qr draws codes), and the URI. Both
 * hold the secret: wiped after. */
static void show_barcode(const struct flow *f, const char *uri)
{
	char msg[A0_MAX_BARCODE_URI + 64], *qr = NULL;

	if (f->cfg->device_qr != A0_QR_NONE && a0_qr_render(uri, f->cfg->device_qr, &qr) == 0) {
		tell(f, false, "Scan this QR code with your authenticator app:");
		tell(f, false, qr);
	}
	a0_secret_free(qr);
	snprintf(msg, sizeof(msg), "Setup address (otpauth URI): %s", uri);
	tell(f, false, msg);
	explicit_bzero(msg, sizeof(msg));
}

/* A TOTP secret as Auth0 hands it out: base32 (RFC 4648 letters and digits 2-7, '=' padding). */
static bool otp_secret_ok(const char *s)
{
	size_t n = strlen(s), letters = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");

	return n >= 16 && n <= A0_MAX_OTP_SECRET && letters >= 16 &&
	       strspn(s + letters, "=") == n - letters;
}

/*
 * A barcode_uri fit for the terminal and the app: otpauth:// (nothing an app or terminal would
 * open elsewhere), printable ASCII without a blank or control character, bounded by the parser.
 */
static bool barcode_uri_ok(const char *uri)
{
	size_t n = strlen(uri);

	return n > strlen(OTPAUTH_SCHEME) && n <= A0_MAX_BARCODE_URI &&
	       strncasecmp(uri, OTPAUTH_SCHEME, strlen(OTPAUTH_SCHEME)) == 0 &&
	       a0_text_ok(uri, n, A0_TEXT_TOKEN);
}

static int refuse_association(struct flow *f, const char *what)
{
	a0_result_clear(f->res);
	a0_format(f->res->description, sizeof(f->res->description),
		  "the tenant's enrolment answer has %s", what);
	return A0_ERR_MALFORMED;
}

static int enrol_otp(struct flow *f, struct a0_tokens **ret)
{
	struct a0_association a = { 0 };
	char msg[A0_MAX_OTP_SECRET * 2 + 64];
	size_t len;
	int r;

	r = a0_mfa_associate(f->c, f->mfa_token, A0_MFA_OTP, NULL, &a, f->res);
	if (r == 0 && !barcode_uri_ok(a.barcode_uri))
		r = refuse_association(f, "a barcode_uri that is not a plain otpauth:// URI");
	if (r == 0 && !otp_secret_ok(a.secret))
		r = refuse_association(f, "a secret that is not base32");
	/* Enrolled, the user must see the recovery code: one unfit to show is refused before. */
	if (r == 0 && a.recovery_code && !recovery_code_ok(a.recovery_code))
		r = refuse_association(f, "a recovery code unfit for the terminal");
	if (r < 0)
		goto out;
	tell(f, false,
	     "Your account needs a second factor. Add it to an authenticator app (Google "
	     "Authenticator, Authy, FreeOTP, ...) with the QR code or the secret key below, then "
	     "type the code the app shows.");
	show_barcode(f, a.barcode_uri);
	/* The key in groups of four, as the apps show it and take it typed. */
	len = (size_t)snprintf(msg, sizeof(msg), "Secret key: ");
	for (const char *p = a.secret; *p && *p != '=' && len + 2 < sizeof(msg); p++) {
		if (p != a.secret && (p - a.secret) % 4 == 0)
			msg[len++] = ' ';
		msg[len++] = *p;
	}
	msg[len] = '\0';
	tell(f, false, msg);
	explicit_bzero(msg, sizeof(msg));
	r = ask_code(f, A0_MFA_OTP, "One-time code from the app: ", NULL, ret);
	if (r == 0 && a.recovery_code)
		show_recovery_code(f, a.recovery_code, true);
out:
	a0_association_clear(&a);
	return r;
}

/* An E.164 number: '+', a first digit 1-9, 8 to 15 digits in all; blanks and dashes dropped. */
static bool phone_from_reply(const char *reply, char out[A0_MAX_PHONE + 1])
{
	size_t n = 0;

	if (strlen(reply) > MAX_PHONE_REPLY || *reply != '+')
		return false;
	out[n++] = '+';
	for (const char *p = reply + 1; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (!isdigit((unsigned char)*p) || n == A0_MAX_PHONE)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n >= 9 && out[1] != '0';
}

static int ask_phone(struct flow *f, char phone[A0_MAX_PHONE + 1])
{
	for (unsigned attempt = 1; attempt <= f->cfg->mfa_retries; attempt++) {
		char *reply = NULL;
		bool ok;
		int r;

		r = ask(f, true,
			"Mobile number for sign-in codes, in international format (+4915112345678): ",
			&reply);
		if (r < 0)
			return r;
		ok = phone_from_reply(reply, phone);
		a0_secret_free(reply);
		if (ok)
			return 0;
		tell(f, true,
		     "That is not a phone number in international format: a + and the "
		     "country code, then the number.");
	}
	a0_result_clear(f->res);
	a0_format(f->res->description, sizeof(f->res->description),
		  "no phone number in E.164 format given");
	return A0_ERR_DENIED;
}

static int enrol_sms(struct flow *f, struct a0_tokens **ret)
{
	struct a0_association a = { 0 };
	char phone[A0_MAX_PHONE + 1];
	int r;

	tell(f, false,
	     "Your account needs a second factor: sign-in codes sent by SMS to your mobile phone.");
	if ((r = ask_phone(f, phone)) < 0)
		return r;
	r = a0_mfa_associate(f->c, f->mfa_token, A0_MFA_SMS, phone, &a, f->res);
	if (r == 0 && !a.binding_prompt)
		r = refuse_association(f, "no binding_method prompt for an SMS code");
	if (r == 0 && a.recovery_code && !recovery_code_ok(a.recovery_code))
		r = refuse_association(f, "a recovery code unfit for the terminal");
	if (r == 0) {
		tell(f, false, "A code was sent by SMS to the number you entered.");
		r = ask_code(f, A0_MFA_SMS, "Code sent by SMS: ", a.oob_code, ret);
	}
	if (r == 0 && a.recovery_code)
		show_recovery_code(f, a.recovery_code, true);
	explicit_bzero(phone, sizeof(phone));
	a0_association_clear(&a);
	return r;
}

/* A user without an active authenticator, where mfa_enroll allows one: enrol it, and sign in. */
static int enrol(struct flow *f, struct a0_tokens **ret)
{
	enum a0_mfa_method m = f->cfg->mfa_enroll == A0_MFA_ENROLL_SMS ? A0_MFA_SMS : A0_MFA_OTP;

	if (!allowed(f->cfg, m)) {
		a0_result_clear(f->res);
		a0_format(f->res->description, sizeof(f->res->description),
			  "mfa_enroll = %s, but mfa_methods does not allow it",
			  a0_mfa_method_name(m));
		return A0_ERR_NOT_ENROLLED;
	}
	return m == A0_MFA_SMS ? enrol_sms(f, ret) : enrol_otp(f, ret);
}

int a0_mfa_complete(struct a0_client *c, const struct a0_config *cfg, const char *mfa_token,
		    const struct a0_prompter *p, struct a0_tokens **ret, struct a0_result *res)
{
	struct a0_authenticator list[A0_MAX_AUTHENTICATORS];
	struct flow f = { .c = c, .cfg = cfg, .mfa_token = mfa_token, .p = p, .res = res };
	enum a0_mfa_method chosen = A0_MFA_N;
	size_t n = 0, kinds = 0, active = 0;
	int r;

	r = a0_mfa_list_authenticators(c, mfa_token, list, A0_MAX_AUTHENTICATORS, &n, res);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int m = a0_authenticator_method(&list[i]);

		active += list[i].active;
		if (list[i].active && m >= 0 && allowed(cfg, m) && !f.by_method[m]) {
			f.by_method[m] = &list[i];
			kinds += m != A0_MFA_RECOVERY;
		}
	}
	/* The admin's order picks the first enrolled method; recovery alone is last resort. */
	for (size_t i = 0; i < cfg->n_mfa_methods && chosen == A0_MFA_N; i++)
		if (f.by_method[cfg->mfa_methods[i]])
			chosen = cfg->mfa_methods[i];
	/* Nothing active at all: Auth0 takes this mfa_token to enrol one (/mfa/associate). */
	if (chosen == A0_MFA_N && active == 0 && cfg->mfa_enroll != A0_MFA_ENROLL_NO)
		return enrol(&f, ret);
	if (chosen == A0_MFA_N) {
		a0_result_clear(res);
		a0_format(res->description, sizeof(res->description),
			  "no active authenticator among the allowed methods");
		return A0_ERR_NOT_ENROLLED;
	}
	if (kinds > 1 && !cfg->mfa_methods_set) {
		r = menu(&f, &chosen);
		if (r < 0)
			return r;
	}
	return run_method(&f, chosen, ret);
}
