/* SPDX-License-Identifier: MIT */
/*
 * What a login leaves in the memory of the process that ran PAM (sshd, login, sudo): after a
 * password + one-time-code login of a confidential application through pam_wrapper and
 * pam_end, the process's heap and anonymous writable mappings (read from /proc/self/mem, the
 * pages /proc/self/pagemap shows present) hold none of the login's secrets: the password, the
 * one-time code, the client secret, the opaque tokens the fake issued (A0_FAKE_ISSUED, which
 * tests/with-fake-tenant sets) and nothing shaped like a JWT (the access and ID tokens). And
 * the process calls no libcurl function during the login: the network part runs in a child
 * (pam/netchild.c). Run under tests/with-fake-tenant.
 *
 * The scan must not find what the test itself holds: the issued tokens are read into, and the
 * memory is read through, buffers of their own mappings that the scan skips; the secrets are
 * written to files with write(2), never through stdio's heap buffers; the code is on the stack,
 * which the scan skips too.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "tests/common/fake.h"
#include "tests/common/pamwrap.h"
#include "tests/common/util.h"

#define SERVICE "pam_auth0_heap"
#define TIMEOUT 2
#define PASSWORD "Secret-a0otp-1"
#define OTP_SECRET "JBSWY3DPEHPK3PXP"
#define CLIENT_SECRET "test-client-secret-123" /* pam-confidential's, in tenant.json */
#define MAX_MSGS 8

#define BUF_SIZE (1024 * 1024)   /* bytes read from /proc/self/mem at a time */
#define OVERLAP 4096             /* kept between reads: longer than any needle */
#define MAX_MAPPING (1ULL << 30) /* larger ones are sanitizer shadow, not heap */
#define MAX_NEEDLES 64
#define ISSUED_SIZE (256 * 1024)

static struct fake fake;
static char run_dir[64];
static pid_t test_pid;

/* ---- libcurl calls of this process during a login: these definitions interpose the library's
 * for the module (the program is linked with -rdynamic; the build hides symbols by default) ---- */

#define EXPORTED __attribute__((visibility("default")))

static bool counting;
static int curl_calls;

static void count_call(void)
{
	if (counting && getpid() == test_pid)
		curl_calls++;
}

EXPORTED CURLcode curl_global_init(long flags)
{
	CURLcode (*real)(long) = (CURLcode(*)(long))dlsym(RTLD_NEXT, "curl_global_init");

	count_call();
	return real(flags);
}

EXPORTED CURL *curl_easy_init(void)
{
	CURL *(*real)(void) = (CURL * (*)(void)) dlsym(RTLD_NEXT, "curl_easy_init");

	count_call();
	return real();
}

/* ---- the scan ---- */

struct needle {
	const char *what;
	const char *p;
	size_t len;
	bool digits; /* a number: only where no digit is next to it */
	size_t tail; /* a secret's tail from this offset: not where the whole one is */
};

struct scan {
	struct needle needles[MAX_NEEDLES];
	size_t n;
	/* Memory of the test's own, skipped: [start, end) pairs. */
	uintptr_t skip[4][2];
	size_t n_skip;
	unsigned char *buf; /* BUF_SIZE, its own mapping */
	int mem, pagemap;
	unsigned findings;
	size_t bytes; /* scanned */
};

static void add_needle(struct scan *s, const char *what, const char *p, size_t len, bool digits)
{
	assert_true(s->n < MAX_NEEDLES);
	s->needles[s->n++] = (struct needle){ .what = what, .p = p, .len = len, .digits = digits };
}

/*
 * A secret, and for a long one also its tail past the first 16 bytes: a freed heap chunk loses
 * its first 16 bytes to the allocator's list pointers, and the rest is as good a finding.
 */
static void add_secret(struct scan *s, const char *what, const char *p, size_t len)
{
	add_needle(s, what, p, len, false);
	if (len >= 32) {
		add_needle(s, what, p + 16, len - 16, false);
		s->needles[s->n - 1].tail = 16;
	}
}

static bool b64url(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Never the secret itself: the test's log is swept for secrets too. */
static void report(struct scan *s, const char *what, uintptr_t addr, const char *mapping)
{
	if (s->findings++ < 20)
		print_message("found %s at %#" PRIxPTR " in %s\n", what, addr, mapping);
}

static void search(struct scan *s, const unsigned char *b, size_t len, uintptr_t base, size_t from,
		   const char *mapping)
{
	for (size_t k = 0; k < s->n; k++) {
		const struct needle *nd = &s->needles[k];
		const unsigned char *p = b, *end = b + len;

		while ((p = memmem(p, (size_t)(end - p), nd->p, nd->len))) {
			size_t at = (size_t)(p - b);
			bool ok = at >= from;

			if (ok && nd->digits)
				ok = (at == 0 || !is_digit(b[at - 1])) &&
				     (at + nd->len >= len || !is_digit(b[at + nd->len]));
			if (ok && nd->tail && at >= nd->tail)
				ok = memcmp(b + at - nd->tail, nd->p - nd->tail, nd->tail) != 0;
			if (ok)
				report(s, nd->what, base + at, mapping);
			p++;
		}
	}
	/* JWTs (the access and ID tokens): "eyJ" and at least 20 base64url characters. */
	for (size_t i = from; i + 23 <= len; i++) {
		size_t j;

		if (b[i] != 'e' || b[i + 1] != 'y' || b[i + 2] != 'J')
			continue;
		for (j = i + 3; j < len && b64url(b[j]); j++)
			;
		if (j - i >= 23) {
			report(s, "something shaped like a JWT", base + i, mapping);
			i = j;
		}
	}
}

static bool skipped(const struct scan *s, uintptr_t page)
{
	for (size_t i = 0; i < s->n_skip; i++)
		if (page + 4096 > s->skip[i][0] && page < s->skip[i][1])
			return true;
	return false;
}

/* The present (or swapped) pages of [start, end), read and searched in runs. */
static void scan_mapping(struct scan *s, uintptr_t start, uintptr_t end, const char *mapping)
{
	const size_t page = 4096;
	uintptr_t a = start;

	while (a < end) {
		uint64_t entry = 0;
		uintptr_t run_end;

		if (pread(s->pagemap, &entry, sizeof(entry), (off_t)(a / page * 8)) !=
		    sizeof(entry))
			fail_msg("cannot read /proc/self/pagemap");
		if (!(entry & (3ULL << 62)) || skipped(s, a)) {
			a += page;
			continue;
		}
		/* A run of pages to read, at most what the buffer holds. */
		for (run_end = a + page; run_end < end && run_end - a < BUF_SIZE; run_end += page) {
			if (pread(s->pagemap, &entry, sizeof(entry), (off_t)(run_end / page * 8)) !=
			    sizeof(entry))
				fail_msg("cannot read /proc/self/pagemap");
			if (!(entry & (3ULL << 62)) || skipped(s, run_end))
				break;
		}
		for (uintptr_t off = a; off < run_end;) {
			size_t want = run_end - off < BUF_SIZE ? run_end - off : BUF_SIZE;
			ssize_t got = pread(s->mem, s->buf, want, (off_t)off);

			if (got <= 0)
				break; /* a page that went away: nothing to find there */
			search(s, s->buf, (size_t)got, off, 0, mapping);
			s->bytes += (size_t)got;
			if (off + (size_t)got >= run_end)
				break;
			/* The next read starts OVERLAP bytes back, so that nothing straddles. */
			off += (size_t)got > OVERLAP ? (size_t)got - OVERLAP : (size_t)got;
		}
		a = run_end;
	}
}

/* Every [heap] and anonymous writable private mapping of this process but its stack. */
static void scan_process(struct scan *s)
{
	static char maps[256 * 1024];
	/* The stack holds the test's own copies; valgrind's shows as an anonymous mapping. */
	uintptr_t stack = (uintptr_t)__builtin_frame_address(0);
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	while ((n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps[len] = '\0';
	s->mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	s->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(s->mem >= 0 && s->pagemap >= 0);
	for (char *line = maps, *next; *line; line = next) {
		uintptr_t start, end;
		char perms[8] = "", path[256] = "";
		unsigned long long offset;
		unsigned dev_major, dev_minor;
		unsigned long inode;
		int fields;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0'; /* else %s would read on into the next line */
		else
			next = line + strlen(line);
		fields = sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %x:%x %lu %255s", &start,
				&end, perms, &offset, &dev_major, &dev_minor, &inode, path);
		if (fields < 7 || perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p')
			continue;
		if (fields == 8 && strcmp(path, "[heap]") != 0)
			continue; /* a file, the stack, vvar... */
		if (inode != 0 || end - start > MAX_MAPPING || (stack >= start && stack < end))
			continue;
		scan_mapping(s, start, end, fields == 8 ? path : "an anonymous mapping");
	}
	close(s->mem);
	close(s->pagemap);
}

static struct scan *scan_new(void)
{
	struct scan *s =
		mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(s != MAP_FAILED);
	memset(s, 0, sizeof(*s));
	s->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(s->buf != MAP_FAILED);
	s->skip[s->n_skip][0] = (uintptr_t)s->buf;
	s->skip[s->n_skip++][1] = (uintptr_t)s->buf + BUF_SIZE;
	return s;
}

static void scan_free(struct scan *s)
{
	munmap(s->buf, BUF_SIZE);
	munmap(s, sizeof(*s));
}

/*
 * The opaque tokens and codes the fake issued ("KIND VALUE" lines), read into a mapping of
 * their own (skipped by the scan; its address returned for munmap).
 */
static char *add_issued(struct scan *s)
{
	const char *path = getenv("A0_FAKE_ISSUED");
	char *text =
		mmap(NULL, ISSUED_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!path)
		fail_msg("A0_FAKE_ISSUED is not set (tests/with-fake-tenant sets it)");
	assert_true(text != MAP_FAILED);
	s->skip[s->n_skip][0] = (uintptr_t)text;
	s->skip[s->n_skip++][1] = (uintptr_t)text + ISSUED_SIZE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	while ((n = read(fd, text + len, ISSUED_SIZE - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	for (char *line = text, *sp, *nl; (nl = memchr(line, '\n', len - (size_t)(line - text)));
	     line = nl + 1) {
		sp = memchr(line, ' ', (size_t)(nl - line));
		if (!sp || nl - sp < 9)
			continue;
		*sp = '\0'; /* the kind names the needle */
		add_secret(s, line, sp + 1, (size_t)(nl - sp - 1));
	}
	return text;
}

/* Write a secret file without stdio, whose buffer would stay in this process's heap. */
static void write_secret_file(const char *path, const char *secret)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
	assert_int_equal(write(fd, "\n", 1), 1);
	assert_int_equal(close(fd), 0);
}

static void configure_confidential(void)
{
	char secret[128], extra[512];

	snprintf(secret, sizeof(secret), "%s/client_secret", run_dir);
	write_secret_file(secret, CLIENT_SECRET);
	snprintf(extra, sizeof(extra), "client_id = pam-confidential\nclient_secret_file = %s",
		 secret);
	write_module_conf(run_dir, &fake, TIMEOUT, "mfa_poll_interval = 1\nmfa_timeout = 8\n",
			  extra);
}

static int login_otp(const char *code)
{
	const char *off[] = { PASSWORD, NULL };
	const char *on[] = { code, NULL };
	char *info[MAX_MSGS + 1] = { 0 }, *err[MAX_MSGS + 1] = { 0 };
	struct pamtest_conv_data conv = {
		.in_echo_off = off, .in_echo_on = on, .out_info = info, .out_err = err
	};
	struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
	enum pamtest_err perr;

	for (int i = 0; i < MAX_MSGS; i++) {
		info[i] = calloc(1, PAM_MAX_MSG_SIZE);
		err[i] = calloc(1, PAM_MAX_MSG_SIZE);
	}
	/* pam_start, pam_authenticate, pam_end. */
	perr = run_pamtest(SERVICE, "a0otp", &conv, tests, NULL);
	for (int i = 0; i < MAX_MSGS; i++) {
		free(info[i]);
		free(err[i]);
	}
	assert_true(perr == PAMTEST_ERR_OK || perr == PAMTEST_ERR_CASE);
	return tests[0].op_rv;
}

/* The scan finds a secret in freed, unwiped heap memory: else its silence proves nothing. */
static void test_scan_finds_freed_secret(void **state)
{
	static const char canary[] = "canary-0123456789-abcdefghijklmnopqrstuvwxyz-9876543210";
	struct scan *s = scan_new();
	char *p = malloc(256);

	assert_non_null(p);
	memcpy(p + 64, canary, sizeof(canary));
	__asm__ volatile("" : : "r"(p) : "memory"); /* the copy is not optimised away */
	free(p);
	add_secret(s, "the canary", canary, strlen(canary));
	scan_process(s);
	print_message("scanned %zu KiB\n", s->bytes / 1024);
	assert_true(s->bytes > 0);
	assert_true(s->findings > 0);
	scan_free(s);
}

static void test_login_leaves_no_secrets(void **state)
{
	char code[7]; /* on the stack, which the scan skips */
	struct scan *s;
	char *issued;

	configure_confidential();
	totp(OTP_SECRET, (long long)time(NULL), code);
	counting = true;
	curl_calls = 0;
	assert_int_equal(login_otp(code), PAM_SUCCESS);
	counting = false;
	/* A real login: the grants, the MFA call and the JWKS on one connection. */
	assert_int_equal(fake_count(&fake, "/oauth/token",
				    "http://auth0.com/oauth/grant-type/mfa-otp"),
			 1);
	assert_int_equal(fake_stat(&fake, "connections"), 1);

	s = scan_new();
	issued = add_issued(s);
	assert_true(s->n >= 2); /* the mfa_token and the refresh token at least */
	add_needle(s, "the password", PASSWORD, strlen(PASSWORD), false);
	add_needle(s, "the one-time code", code, strlen(code), true);
	add_needle(s, "the client secret", CLIENT_SECRET, strlen(CLIENT_SECRET), false);
	scan_process(s);
	print_message("scanned %zu KiB for %zu needles\n", s->bytes / 1024, s->n);
	assert_true(s->bytes > 0);
	if (s->findings || curl_calls)
		fail_msg("after pam_end: %u secrets of the login in this process's memory; during "
			 "the login: %d calls of libcurl in this process",
			 s->findings, curl_calls);
	munmap(issued, ISSUED_SIZE);
	scan_free(s);
	explicit_bzero(code, sizeof(code));
}

static void write_services(const char *dir, const char *services)
{
	const char *module = getenv("A0_MODULE");
	char path[192], text[512];

	snprintf(path, sizeof(path), "%s/" SERVICE, services);
	snprintf(text, sizeof(text), "auth     required %s config=%s/pam_auth0.conf\n", module,
		 dir);
	write_text(path, text);
}

int main(int argc, char **argv)
{
	if (!pamwrap_is_child())
		return pamwrap_run(argv, "a0-heap", write_services, NULL);
	snprintf(run_dir, sizeof(run_dir), "%s", pamwrap_run_dir());
	test_pid = getpid();
	fake_init(&fake);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_finds_freed_secret),
		cmocka_unit_test(test_login_leaves_no_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
