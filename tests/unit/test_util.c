/* SPDX-License-Identifier: MIT */
/*
 * lib/util.h: the array size, whole reads and writes (interrupted by signals, short, on
 * non-blocking pipes), the text kinds against the checks they replace, message buffers cut at
 * UTF-8 boundaries, copies, and the domain check against what both of its callers took.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/util.h"

/* ---- A0_ARRAY_SIZE (a pointer is refused at build time: tests/unit.mk) ---- */

static const int file_scope[] = { 1, 2, 3 };
_Static_assert(A0_ARRAY_SIZE(file_scope) == 3, "a constant expression");

static void test_array_size(void **state)
{
	struct {
		char c;
		double d;
	} s[5];
	int m[4][6];
	const char lit[] = "abc";

	assert_int_equal(A0_ARRAY_SIZE(s), 5);
	assert_int_equal(A0_ARRAY_SIZE(m), 4);
	assert_int_equal(A0_ARRAY_SIZE(m[0]), 6);
	assert_int_equal(A0_ARRAY_SIZE(lit), 4);
	assert_int_equal(A0_ARRAY_SIZE(((const unsigned[]){ 7, 8 })), 2);
	assert_int_equal(A0_ARRAY_SIZE(file_scope), 3);
}

/* ---- whole reads and writes ---- */

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	signals++;
}

/* SIGUSR1 interrupts a blocking system call: no SA_RESTART. */
static void catch_usr1(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	signals = 0;
}

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* In the child: wait until pid sleeps (blocked in read or write), then signal it. */
static void interrupt(pid_t pid)
{
	char path[64], text[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 5000; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		const char *end;

		if (f)
			fclose(f);
		text[n] = '\0';
		end = strrchr(text, ')');
		if (end && end[1] == ' ' && end[2] == 'S')
			break;
		pause_ms(1);
	}
	if (kill(pid, SIGUSR1) < 0)
		_exit(3);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static void wait_child(pid_t pid)
{
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	assert_int_equal(r, pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_read_full_short_and_eof(void **state)
{
	char buf[100];
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "hello world", 11), 11);
	/* Exactly n: no need to wait for the end of the input. */
	assert_int_equal(a0_read_full(fds[0], buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(close(fds[1]), 0);
	/* Less than n only at the end of the input; then 0. */
	assert_int_equal(a0_read_full(fds[0], buf, sizeof(buf)), 6);
	assert_memory_equal(buf, " world", 6);
	assert_int_equal(a0_read_full(fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(a0_read_full(fds[0], buf, 0), 0);
	assert_int_equal(close(fds[0]), 0);
	errno = 0;
	assert_int_equal(a0_read_full(fds[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
}

enum { PIECES = 4, PIECE = 1000 };

/*
 * A child writes the pattern in PIECES pieces, each after a pause or after interrupting this
 * process, which reads all of them with one a0_read_full (pipe2 flags for its pipe).
 */
static void read_pattern(int flags, bool interrupt_reader)
{
	unsigned char buf[PIECES * PIECE];
	pid_t parent = getpid(), pid;
	int fds[2];

	assert_int_equal(pipe2(fds, flags), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char piece[PIECE];

		close(fds[0]);
		for (size_t p = 0; p < PIECES; p++) {
			if (interrupt_reader)
				interrupt(parent);
			else
				pause_ms(20);
			for (size_t i = 0; i < PIECE; i++)
				piece[i] = pattern(p * PIECE + i);
			if (write(fds[1], piece, PIECE) != PIECE)
				_exit(2);
		}
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(a0_read_full(fds[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fds[0]);
	wait_child(pid);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], pattern(i));
}

/* A read interrupted by signals while it waits, and fed in pieces: all of it arrives. */
static void test_read_full_interrupted(void **state)
{
	catch_usr1();
	read_pattern(0, true);
	assert_int_equal(signals, PIECES);
}

/* A non-blocking descriptor with nothing to read yet (EAGAIN): it waits for the data. */
static void test_read_full_nonblocking(void **state)
{
	read_pattern(O_NONBLOCK, false);
}

/* The child reads the pattern in small pieces (signalling the writer first when asked). */
static void reader(int fd, size_t total, pid_t writer)
{
	unsigned char piece[700];
	size_t got = 0;
	ssize_t n;

	do {
		if (writer > 0)
			interrupt(writer);
		else
			pause_ms(1);
		n = read(fd, piece, sizeof(piece));
		for (ssize_t i = 0; i < n; i++)
			if (piece[i] != pattern(got + (size_t)i))
				_exit(4);
		if (n > 0)
			got += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	_exit(n == 0 && got == total ? 0 : 5);
}

/* Write total bytes of the pattern to a reader child, whose pid is returned. */
static pid_t write_pattern(size_t total, bool interrupt_writer)
{
	pid_t parent = getpid(), pid;
	unsigned char *buf = malloc(total);
	int fds[2];

	assert_non_null(buf);
	for (size_t i = 0; i < total; i++)
		buf[i] = pattern(i);
	assert_int_equal(pipe(fds), 0);
	/* A small pipe: the writer fills it again and again. */
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		reader(fds[0], total, interrupt_writer ? parent : 0);
	}
	close(fds[0]);
	if (!interrupt_writer)
		assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(a0_write_full(fds[1], buf, total), 0);
	close(fds[1]);
	free(buf);
	return pid;
}

/* Writes cut short and interrupted by signals: all of it arrives, in order. */
static void test_write_full_interrupted(void **state)
{
	pid_t pid;

	catch_usr1();
	pid = write_pattern(64 * 1024, true);
	wait_child(pid);
	assert_true(signals > 0);
}

/* A non-blocking descriptor whose pipe is full (EAGAIN): it waits for room. */
static void test_write_full_nonblocking(void **state)
{
	wait_child(write_pattern(64 * 1024, false));
}

static void test_write_full_errors(void **state)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(a0_write_full(fds[1], "", 0), 0);
	close(fds[0]);
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	errno = 0;
	assert_int_equal(a0_write_full(fds[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	close(fds[1]);
}

/* ---- text ---- */

/* The checks these kinds replace, byte by byte as they were written. */
static bool was_ok(enum a0_text kind, unsigned char c)
{
	switch (kind) {
	case A0_TEXT_ASCII: /* keyring/store.c's record values, jwt.c's a0_show */
		return c >= 0x20 && c <= 0x7e;
	case A0_TEXT_TOKEN: /* credentials/manager.c's a0_cm_token_ok */
		return c >= 0x21 && c <= 0x7e;
	case A0_TEXT_LINE: /* lib/conf.c's values, lib/response.c's error text */
		return !(c < 0x20 || c == 0x7f);
	case A0_TEXT_NAME: /* pam/pam_auth0.c's user names */
		return !(c <= 0x20 || c == 0x7f);
	}
	return false;
}

static const enum a0_text kinds[] = { A0_TEXT_ASCII, A0_TEXT_TOKEN, A0_TEXT_LINE, A0_TEXT_NAME };

/* Every byte value at every place of texts of 1 to 24 bytes (three words) of fill bytes. */
static void every_byte(enum a0_text kind, unsigned char fill)
{
	char buf[24];

	for (size_t len = 1; len <= sizeof(buf); len++) {
		memset(buf, fill, len);
		assert_true(a0_text_ok(buf, len, kind));
		for (size_t at = 0; at < len; at++) {
			for (unsigned b = 0; b < 256; b++) {
				buf[at] = (char)b;
				if (a0_text_ok(buf, len, kind) != was_ok(kind, (unsigned char)b))
					fail_msg("kind %d fill 0x%02x len %zu at %zu byte 0x%02x",
						 (int)kind, fill, len, at, b);
			}
			buf[at] = (char)fill;
		}
	}
}

/* Among neighbours at the edges of what the kind allows, where a borrow or carry between the
 * bytes of a word would show. */
static void test_text_ok_every_byte(void **state)
{
	static const unsigned char fills[] = { 'a', 0x20, 0x21, 0x7e, 0x80, 0xff };

	for (size_t k = 0; k < A0_ARRAY_SIZE(kinds); k++) {
		assert_true(a0_text_ok("", 0, kinds[k]));
		for (size_t f = 0; f < A0_ARRAY_SIZE(fills); f++)
			if (was_ok(kinds[k], fills[f]))
				every_byte(kinds[k], fills[f]);
	}
}

/* Random texts of allowed bytes pass; one bad byte anywhere fails them. */
static void test_text_ok_random(void **state)
{
	unsigned seed = 12345;
	char buf[64];

	for (size_t k = 0; k < A0_ARRAY_SIZE(kinds); k++) {
		unsigned char good[256], bad[256];
		size_t ng = 0, nb = 0;

		for (unsigned b = 0; b < 256; b++) {
			if (was_ok(kinds[k], (unsigned char)b))
				good[ng++] = (unsigned char)b;
			else
				bad[nb++] = (unsigned char)b;
		}
		for (int round = 0; round < 20000; round++) {
			size_t len = 1 + (size_t)rand_r(&seed) % sizeof(buf);

			for (size_t i = 0; i < len; i++)
				buf[i] = (char)good[(size_t)rand_r(&seed) % ng];
			assert_true(a0_text_ok(buf, len, kinds[k]));
			buf[(size_t)rand_r(&seed) % len] = (char)bad[(size_t)rand_r(&seed) % nb];
			assert_false(a0_text_ok(buf, len, kinds[k]));
		}
	}
}

static void test_text_scrub(void **state)
{
	char buf[256];

	for (size_t k = 0; k < A0_ARRAY_SIZE(kinds); k++) {
		for (unsigned b = 0; b < 256; b++)
			buf[b] = (char)b;
		a0_text_scrub(buf, sizeof(buf), kinds[k]);
		for (unsigned b = 0; b < 256; b++)
			assert_int_equal((unsigned char)buf[b],
					 was_ok(kinds[k], (unsigned char)b) ? b : '?');
		assert_true(a0_text_ok(buf, sizeof(buf), kinds[k]));
	}
}

/* ---- message buffers ---- */

static void vformat(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vformat(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a0_vformat(buf, size, fmt, ap);
	va_end(ap);
}

static void test_format(void **state)
{
	char buf[16];

	a0_format(NULL, 10, "nothing %d", 1);
	memset(buf, 'Z', sizeof(buf));
	a0_format(buf, 0, "nothing %d", 1);
	assert_int_equal(buf[0], 'Z');
	a0_format(buf, sizeof(buf), "%s-%d", "key", 42);
	assert_string_equal(buf, "key-42");
	vformat(buf, sizeof(buf), "%s:%u", "line", 7u);
	assert_string_equal(buf, "line:7");
	vformat(buf, 4, "%s", "abcdef");
	assert_string_equal(buf, "abc");
}

/* Cut to fit and terminated; a cut inside a UTF-8 sequence drops the sequence. */
static void test_format_cut(void **state)
{
	static const struct {
		size_t size;
		const char *text, *expect;
	} cases[] = {
		{ 4, "abcdef", "abc" },
		{ 1, "abcdef", "" },
		{ 3, "a\xc3\xa9", "a" },         /* a, e-acute: 1 of its 2 bytes fits */
		{ 4, "a\xc3\xa9", "a\xc3\xa9" }, /* all of it */
		{ 3, "\xc3\xa9z", "\xc3\xa9" },  /* the cut right after it */
		{ 5, "ab\xe2\x82\xac", "ab" },   /* the euro sign, 2 of 3 */
		{ 4, "ab\xe2\x82\xac", "ab" },   /* 1 of 3 */
		{ 5, "x\xf0\x9f\x98\x80", "x" }, /* 3 of 4 */
		{ 6, "x\xf0\x9f\x98\x80y", "x\xf0\x9f\x98\x80" },
		{ 4, "\x80\x80\x80\x80x", "\x80\x80\x80" }, /* not UTF-8: cut as it is */
		{ 4, "ab\xffz", "ab\xff" },
	};
	char buf[16];

	for (size_t i = 0; i < A0_ARRAY_SIZE(cases); i++) {
		a0_format(buf, cases[i].size, "%s", cases[i].text);
		if (strcmp(buf, cases[i].expect) != 0)
			fail_msg("case %zu: cut to %zu bytes", i, strlen(buf));
	}
}

/* ---- copies ---- */

static void test_str_copy(void **state)
{
	char buf[4];

	assert_int_equal(a0_str_copy(buf, sizeof(buf), "abc"), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(a0_str_copy(buf, sizeof(buf), ""), 0);
	assert_string_equal(buf, "");
	memcpy(buf, "xyz", 4);
	assert_int_equal(a0_str_copy(buf, sizeof(buf), "abcd"), A0_ERR_TOO_LARGE);
	assert_string_equal(buf, ""); /* never a cut value */
	memcpy(buf, "xyz", 4);
	assert_int_equal(a0_str_copy(buf, 0, "a"), A0_ERR_TOO_LARGE);
	assert_string_equal(buf, "xyz");
}

static void test_strdup_into(void **state)
{
	char *s = NULL;
	const char *src = "first";

	assert_int_equal(a0_strdup_into(&s, src), 0);
	assert_string_equal(s, "first");
	assert_ptr_not_equal(s, src);
	/* The old value is freed (the sanitizers' leak check would say otherwise). */
	assert_int_equal(a0_strdup_into(&s, "second"), 0);
	assert_string_equal(s, "second");
	assert_int_equal(a0_strdup_into(&s, NULL), 0);
	assert_null(s);
	assert_int_equal(a0_strdup_into(&s, NULL), 0);
	assert_null(s);
}

/* ---- domains ---- */

/* The units of sshd_config(5)'s TIME FORMATS and of auth0-pam's DURATION. */
static void test_time_unit(void **state)
{
	(void)state;
	assert_int_equal(a0_time_unit('\0'), 1);
	assert_int_equal(a0_time_unit('s'), 1);
	assert_int_equal(a0_time_unit('m'), 60);
	assert_int_equal(a0_time_unit('h'), 3600);
	assert_int_equal(a0_time_unit('d'), 86400);
	assert_int_equal(a0_time_unit('w'), 604800);
	assert_int_equal(a0_time_unit('M'), -1); /* the callers fold sshd's case themselves */
	assert_int_equal(a0_time_unit('y'), -1);
	assert_int_equal(a0_time_unit(' '), -1);
}

static void test_domain_valid(void **state)
{
	static const char *const good[] = {
		/* what lib/conf.c's and credentials/manager.c's tests and suites used */
		"example.auth0.com",
		"tenant.example.com:8443",
		"a.com",
		"b.example.com",
		"tenant.example.com",
		"localhost:8443",
		"localhost:1",
		"h",
		"example.eu.auth0.com",
		/* DNS names */
		"Tenant.Example.COM",
		"xn--bcher-kva.example",
		"a-b.c-d.e",
		"1.2.3.com",
		"a.1b",
		"0a.example",
		"localhost:65535",
		/* IPv4 */
		"127.0.0.1",
		"127.0.0.1:8443",
		"10.0.0.255",
		"0.0.0.0",
		/* IPv6, bracketed */
		"[::1]",
		"[::1]:8443",
		"[2001:db8::1]",
		"[fe80::1:2:3:4]:443",
		"[::ffff:127.0.0.1]",
		"[2001:DB8:0:0:0:0:0:1]:65535",
	};
	static const char *const bad[] = {
		/* what lib/conf.c's tests refused */
		"a.com:0",
		"a.com:99999",
		"a.com:",
		"a b.com",
		"a.com/path",
		"https://a.com",
		"",
		/* what credentials/manager.c's tests refused */
		"bad host/",
		/* what manager.c's check let through and now fails */
		"a:b:c",
		"host]",
		"a[b",
		"x:1:2",
		"[::1",
		"fe80::1",
		"a.com:+443",
		/* DNS names that are not */
		"-a.com",
		"a-.com",
		"a..com",
		".a.com",
		"a.com.",
		".",
		"a_b.com",
		"a.com ",
		" a.com",
		"user@a.com",
		"user:pass@a.com",
		"a.com?x",
		"a.com#x",
		"a.com\n",
		"\xc3\xa9.com",
		/* IPv4 that is not */
		"256.1.1.1",
		"1.2.3",
		"1.2.3.4.5",
		"01.2.3.4",
		"1.2.3.4:0",
		"999",
		/* IPv6 that is not */
		"[]",
		"[::1]x",
		"[::1]:",
		"[::1]:0",
		"[::1]:65536",
		"[fe80::1%eth0]",
		"[fe80::1%25eth0]",
		"[1.2.3.4]",
		"[::g]",
		"[::1]]",
		"::1",
		"[a.com]",
		/* ports */
		"a.com:65536",
		"a.com:00443",
		"a.com:0443",
		"a.com:443x",
		"a.com:-1",
		"a.com: 443",
		"a.com:1234567",
	};
	char label[80], name[300];

	for (size_t i = 0; i < A0_ARRAY_SIZE(good); i++)
		if (!a0_domain_valid(good[i]))
			fail_msg("refused '%s'", good[i]);
	for (size_t i = 0; i < A0_ARRAY_SIZE(bad); i++)
		if (a0_domain_valid(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(a0_domain_valid(NULL));

	/* Labels of at most 63 bytes. */
	memset(label, 'a', 64);
	label[63] = '\0';
	assert_true(a0_domain_valid(label));
	label[63] = 'a';
	label[64] = '\0';
	assert_false(a0_domain_valid(label));
	/* Names of at most 253 bytes: three labels of 63, then one of 61 or 62. */
	memset(name, 'a', 254);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	assert_true(a0_domain_valid(name));
	memcpy(name + 253, ":443", 5);
	assert_true(a0_domain_valid(name));
	name[253] = 'a';
	name[254] = '\0';
	assert_false(a0_domain_valid(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_array_size),
		cmocka_unit_test(test_read_full_short_and_eof),
		cmocka_unit_test(test_read_full_interrupted),
		cmocka_unit_test(test_read_full_nonblocking),
		cmocka_unit_test(test_write_full_interrupted),
		cmocka_unit_test(test_write_full_nonblocking),
		cmocka_unit_test(test_write_full_errors),
		cmocka_unit_test(test_text_ok_every_byte),
		cmocka_unit_test(test_text_ok_random),
		cmocka_unit_test(test_text_scrub),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_cut),
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_strdup_into),
		cmocka_unit_test(test_time_unit),
		cmocka_unit_test(test_domain_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
