/* SPDX-License-Identifier: MIT */
/*
 * admin/testlogin.c: auth0-pam test-login USER [--service S] [--session] (auth0-pam(8)): a
 * sign-in through the service's real PAM stack, with a conversation on the terminal (stdin and
 * stdout; answers to hidden prompts not echoed) and a transcript of every prompt and message,
 * never an answer, and each step's result.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "admin/host.h"
#include "lib/util.h"

#define MAX_ANSWER 1024  /* bytes of an answer read from the terminal */
#define MAX_SHOWN 4096   /* bytes of a prompt or message shown and kept */
#define MAX_MESSAGES 256 /* prompts and messages in one conversation */

struct conv_ctx {
	struct a0_report *r;
	FILE *out; /* where prompts are shown: stdout, or stderr when stdout is JSON */
	unsigned messages;
};

/* msg shown safely: control characters but the line end replaced, bounded. */
static void shown(const char *msg, char *buf, size_t size, bool keep_lines)
{
	a0_format(buf, size, "%s", msg ? msg : "");
	for (char *p = buf; *p; p++)
		if (((unsigned char)*p < 0x20 && !(keep_lines && *p == '\n')) || *p == 0x7f)
			*p = keep_lines ? '?' : ' ';
}

/* One line from fd 0 (its end dropped), read a byte at a time so that nothing stays buffered:
 * 0, or -1 at the end of input or when longer than MAX_ANSWER. */
static int read_answer(char *buf, size_t size, bool hide)
{
	struct termios old, quiet;
	bool tty = hide && isatty(0) && tcgetattr(0, &old) == 0;
	size_t n = 0;
	int r = -1;
	char c;

	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		(void)tcsetattr(0, TCSAFLUSH, &quiet);
	}
	for (;;) {
		ssize_t got = read(0, &c, 1);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (c == '\n') {
			r = 0;
			break;
		}
		if (n + 1 >= size) {
			r = -1;
			break;
		}
		buf[n++] = c;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	c = 0;
	if (tty)
		(void)tcsetattr(0, TCSAFLUSH, &old);
	return r;
}

static void free_replies(struct pam_response *rep, int n)
{
	for (int i = 0; rep && i < n; i++)
		if (rep[i].resp) {
			explicit_bzero(rep[i].resp, strlen(rep[i].resp));
			free(rep[i].resp);
		}
	free(rep);
}

static int conversation(int n, const struct pam_message **msg, struct pam_response **ret,
			void *data)
{
	struct conv_ctx *c = data;
	struct pam_response *rep;
	char text[MAX_SHOWN], answer[MAX_ANSWER + 2];

	if (n <= 0 || n > PAM_MAX_NUM_MSG || !(rep = calloc((size_t)n, sizeof(*rep))))
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;
		bool prompt = style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON;

		if (++c->messages > MAX_MESSAGES) {
			a0_report_add(c->r, A0_SEV_FAILURE, "conv-limit", NULL,
				      "more than %d prompts and messages: the conversation ends",
				      MAX_MESSAGES);
			goto fail;
		}
		shown(msg[i]->msg, text, sizeof(text), true);
		fprintf(c->out, "%s%s", text, prompt ? "" : "\n");
		fflush(c->out);
		shown(msg[i]->msg, text, sizeof(text), false);
		a0_report_add(c->r, A0_SEV_INFO,
			      style == PAM_PROMPT_ECHO_OFF  ? "conv-prompt-hidden"
			      : style == PAM_PROMPT_ECHO_ON ? "conv-prompt"
			      : style == PAM_ERROR_MSG      ? "conv-error"
							    : "conv-info",
			      NULL, "%s", text);
		if (!prompt)
			continue;
		if (read_answer(answer, sizeof(answer), style == PAM_PROMPT_ECHO_OFF) < 0) {
			explicit_bzero(answer, sizeof(answer));
			a0_report_add(c->r, A0_SEV_INFO, "conv-end", NULL,
				      "no answer (end of input, or longer than %d bytes)",
				      MAX_ANSWER);
			goto fail;
		}
		rep[i].resp = strdup(answer);
		explicit_bzero(answer, sizeof(answer));
		if (!rep[i].resp)
			goto fail;
	}
	*ret = rep;
	return PAM_SUCCESS;
fail:
	free_replies(rep, n);
	return PAM_CONV_ERR;
}

/* One step's result as a finding: ok, or failure with PAM's words. */
static bool step(struct a0_report *r, pam_handle_t *h, const char *id, int rc)
{
	if (rc == PAM_SUCCESS)
		a0_report_add(r, A0_SEV_OK, id, NULL, "PAM_SUCCESS");
	else
		a0_report_add(r, A0_SEV_FAILURE, id, NULL, "%s", pam_strerror(h, rc));
	return rc == PAM_SUCCESS;
}

int a0_test_login(const char *service, const char *user, bool session, bool json,
		  struct a0_report *r)
{
	struct conv_ctx c = { .r = r, .out = json ? stderr : stdout };
	struct pam_conv conv = { conversation, &c };
	pam_handle_t *h = NULL;
	int rc;

	a0_report_set(r, "service", "%s", service);
	a0_report_set(r, "user", "%s", user);
	if ((rc = pam_start(service, user, &conv, &h)) != PAM_SUCCESS) {
		a0_report_add(r, A0_SEV_FAILURE, "pam-start", service, "pam_start: %s",
			      pam_strerror(h, rc));
		return 0;
	}
	if (step(r, h, "pam-authenticate", pam_authenticate(h, 0)) &&
	    step(r, h, "pam-acct-mgmt", pam_acct_mgmt(h, 0)) && session &&
	    step(r, h, "pam-setcred", pam_setcred(h, PAM_ESTABLISH_CRED)) &&
	    step(r, h, "pam-open-session", pam_open_session(h, 0))) {
		(void)step(r, h, "pam-close-session", pam_close_session(h, 0));
		(void)pam_setcred(h, PAM_DELETE_CRED);
	}
	(void)pam_end(h, PAM_SUCCESS);
	return 0;
}
