/* SPDX-License-Identifier: MIT */
/*
 * The breakglass window (lib/offline.h, lib/breakglass.c) on a real directory: open, state
 * while open and after its end, close, replace; the bounds of a window and its reason; and
 * files and directories that are not trusted (a planted symbolic link, another owner, mode 0644,
 * a FIFO, malformed lines), which keep the window closed and are never followed. Needs root
 * (only root keeps the window) and skips otherwise, except the check that others are refused.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/offline.h"
#include "tests/common/assert.h"
#include "tests/common/util.h"

#define T0 ((time_t)1800000000) /* 2027-01-15 */

static char base[64];     /* the private temporary directory */
static char dir[128];     /* base/offline: the offline_dir */
static char file[192];    /* dir/breakglass */
static char reason[1024]; /* the last call's reason */

static void need_root(void)
{
	if (geteuid() != 0)
		skip(); /* the window is root's */
}

static int state(time_t now, struct a0_breakglass *w)
{
	memset(w, 0x55, sizeof(*w));
	reason[0] = '\0';
	return a0_breakglass_state(dir, now, w, reason, sizeof(reason));
}

static int open_window(time_t now, unsigned seconds, uid_t by, const char *text)
{
	reason[0] = '\0';
	return a0_breakglass_open(dir, now, seconds, by, text, reason, sizeof(reason));
}

/* The file's bytes, as a string ("" when it is missing). */
static const char *contents(void)
{
	static char buf[1024];
	ssize_t n;
	int fd = open(file, O_RDONLY | O_NOFOLLOW);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* Put len bytes at path, owned by uid, with mode: what a careless or hostile hand left. */
static void plant_bytes(const char *path, const char *text, size_t len, uid_t uid, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chown(path, uid, 0), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void plant(const char *text, uid_t uid, mode_t mode)
{
	plant_bytes(file, text, strlen(text), uid, mode);
}

/* The names in dir, other than . and .., joined by blanks. */
static const char *listing(void)
{
	static char names[1024];
	struct dirent *e;
	DIR *d = opendir(dir);

	names[0] = '\0';
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (names[0])
			strncat(names, " ", sizeof(names) - strlen(names) - 1);
		strncat(names, e->d_name, sizeof(names) - strlen(names) - 1);
	}
	closedir(d);
	return names;
}

static void test_open_state_close(void **unused)
{
	struct a0_breakglass w;
	struct stat st;

	need_root();
	/* Nothing yet: closed, and the directory is made root's 0700 when it is first used. */
	assert_int_equal(lstat(dir, &st), -1);
	assert_a0(state(T0, &w), A0_ERR_NOT_FOUND);
	assert_a0(open_window(T0, 3600, 1234, "incident 42: Auth0 down"), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* The file: root's 0600, the one line of the format, and nothing else left behind. */
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(contents(), "v1 1800000000 1800003600 1234 incident 42: Auth0 down\n");
	assert_string_equal(listing(), "breakglass");
	/* Open from its start to just before its end. */
	assert_a0(state(T0, &w), 0);
	assert_int_equal(w.opened, T0);
	assert_int_equal(w.until, T0 + 3600);
	assert_int_equal(w.by, 1234);
	assert_string_equal(w.reason, "incident 42: Auth0 down");
	assert_a0(state(T0 + 3599, &w), 0);
	/* Past its end: closed, and what was read is still told. */
	assert_a0(state(T0 + 3600, &w), A0_ERR_NOT_FOUND);
	assert_int_equal(w.until, T0 + 3600);
	assert_int_equal(w.by, 1234);
	assert_string_equal(w.reason, "incident 42: Auth0 down");
	assert_a0(state(T0 + 86400, &w), A0_ERR_NOT_FOUND);
	/* NULL for the window is fine. */
	assert_a0(a0_breakglass_state(dir, T0, NULL, NULL, 0), 0);
	/* Closed: the file is gone; closing again is no error. */
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
	assert_int_equal(lstat(file, &st), -1);
	assert_a0(state(T0 + 1, &w), A0_ERR_NOT_FOUND);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
	assert_string_equal(listing(), "");
}

static void test_replace(void **unused)
{
	struct a0_breakglass w;

	need_root();
	assert_a0(open_window(T0, 60, 0, "first"), 0);
	/* A new window replaces the open one: longer, shorter, by someone else. */
	assert_a0(open_window(T0 + 30, 7200, 1000, "second, longer"), 0);
	assert_a0(state(T0 + 100, &w), 0);
	assert_int_equal(w.opened, T0 + 30);
	assert_int_equal(w.until, T0 + 30 + 7200);
	assert_int_equal(w.by, 1000);
	assert_string_equal(w.reason, "second, longer");
	assert_a0(open_window(T0 + 40, 10, 0, ""), 0);
	assert_a0(state(T0 + 45, &w), 0);
	assert_int_equal(w.until, T0 + 50);
	assert_string_equal(w.reason, "");
	assert_a0(state(T0 + 100, &w), A0_ERR_NOT_FOUND);
	/* No reason at all is an empty one; blanks are kept as they are. */
	assert_a0(open_window(T0, 10, 0, NULL), 0);
	assert_string_equal(contents(), "v1 1800000000 1800000010 0 \n");
	assert_a0(open_window(T0, 10, 0, "  two  blanks  "), 0);
	assert_a0(state(T0, &w), 0);
	assert_string_equal(w.reason, "  two  blanks  ");
	/* One file, however often it is replaced: no temporary file stays. */
	assert_string_equal(listing(), "breakglass");
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
}

static void test_invalid_durations_and_reasons(void **unused)
{
	static const char *const bad[] = {
		"line\nbreak", "tab\there",   "carriage\rreturn",
		"del\x7f",     "\x1b[31mred", "caf\xc3\xa9", /* UTF-8: printable ASCII only */
	};
	char longest[A0_BREAKGLASS_REASON_MAX + 2];
	char *before;
	struct a0_breakglass w;

	need_root();
	assert_a0(open_window(T0, 600, 0, "the one in place"), 0);
	before = strdup(contents());
	assert_non_null(before);
	/* Durations: 1 s to A0_BREAKGLASS_MAX. */
	assert_a0(open_window(T0, 0, 0, "x"), A0_ERR_INVALID);
	assert_non_null(strstr(reason, "seconds"));
	assert_a0(open_window(T0, A0_BREAKGLASS_MAX + 1, 0, "x"), A0_ERR_INVALID);
	assert_a0(open_window(T0, UINT32_MAX, 0, "x"), A0_ERR_INVALID);
	/* Reasons: printable ASCII on one line, at most A0_BREAKGLASS_REASON_MAX bytes. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (open_window(T0, 60, 0, bad[i]) != A0_ERR_INVALID)
			fail_msg("reason #%zu was taken", i);
	memset(longest, 'r', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0'; /* one byte too many */
	assert_a0(open_window(T0, 60, 0, longest), A0_ERR_INVALID);
	assert_non_null(strstr(reason, "200"));
	/* A uid that is none. */
	assert_a0(open_window(T0, 60, (uid_t)-1, "x"), A0_ERR_INVALID);
	/* Nothing of it was written. */
	assert_string_equal(contents(), before);
	free(before);
	/* The bounds themselves are fine. */
	longest[A0_BREAKGLASS_REASON_MAX] = '\0';
	assert_a0(open_window(T0, A0_BREAKGLASS_MAX, 0, longest), 0);
	assert_a0(state(T0 + A0_BREAKGLASS_MAX - 1, &w), 0);
	assert_string_equal(w.reason, longest);
	assert_a0(open_window(T0, 1, 0, "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./ 0123456789"), 0);
	assert_a0(state(T0, &w), 0);
	assert_string_equal(w.reason, "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./ 0123456789");
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
}

/* What a window that would be open at T0 looks like. */
#define GOOD "v1 1800000000 1800003600 0 planted\n"

static void test_untrusted_files_keep_it_closed(void **unused)
{
	static const char *const malformed[] = {
		"v2 1800000000 1800003600 0 x\n",
		"v1 1800000000 1800003600 0 no line end",
		"v1 1800000000 1800003600 0\n",    /* no blank before the reason */
		"v1  1800000000 1800003600 0 x\n", /* two blanks */
		"v1 01800000000 1800003600 0 x\n", /* a leading zero */
		"v1 +1800000000 1800003600 0 x\n",
		"v1 -1 1800003600 0 x\n",
		"v1 1800000000 1800000000 0 x\n",          /* empty */
		"v1 1800003600 1800000000 0 x\n",          /* backwards */
		"v1 1800000000 1800259201 0 x\n",          /* longer than A0_BREAKGLASS_MAX */
		"v1 1800000000 1800003600 4294967295 x\n", /* (uid_t)-1 */
		"v1 1800000000 1800003600 99999999999999999999999 x\n",
		"v1 1800000000 1800003600 0 x\n\n", /* more after the line */
		"v1 1800000000 1800003600 0 x\ny\n",
		"v1 1800000000 1800003600 0 tab\there\n",
		"v1 1800000000 1800003600 0 esc\x1b[0m\n",
		"v1 1800000000 1800003600 0 caf\xc3\xa9\n",
		"V1 1800000000 1800003600 0 x\n",
		"",
		"\n",
	};
	static const char nul[] = "v1 1800000000 1800003600 0 a\0b\n";
	char target[192], big[400];
	struct a0_breakglass w;
	struct stat st;

	need_root();
	assert_a0(open_window(T0, 60, 0, "make the directory"), 0);
	/* As written by the command: open. */
	plant(GOOD, 0, 0600);
	assert_a0(state(T0, &w), 0);
	assert_string_equal(w.reason, "planted");
	/* Another owner, or other modes: closed, and said so. */
	plant(GOOD, 1000, 0600);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "not root's with mode 0600"));
	assert_non_null(strstr(reason, "uid 1000"));
	plant(GOOD, 0, 0644);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "mode 0644"));
	plant(GOOD, 0, 0400);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	plant(GOOD, 0, 0660);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	plant(GOOD, 0, 04600);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	/* A symbolic link to a good file is not followed: closed. */
	snprintf(target, sizeof(target), "%s/elsewhere", base);
	plant_bytes(target, GOOD, strlen(GOOD), 0, 0600);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(symlink(target, file), 0);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "symbolic link"));
	/* Opening replaces the link itself; the file it pointed to is untouched. */
	assert_a0(open_window(T0, 60, 0, "over the link"), 0);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_a0(state(T0, &w), 0);
	assert_string_equal(w.reason, "over the link");
	assert_int_equal(lstat(target, &st), 0);
	assert_int_equal(st.st_size, (off_t)strlen(GOOD));
	/* Closing removes a link, never its target. */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(symlink(target, file), 0);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
	assert_int_equal(lstat(file, &st), -1);
	assert_int_equal(lstat(target, &st), 0);
	/* A FIFO or a directory: closed, and no reader hangs. */
	assert_int_equal(mkfifo(file, 0600), 0);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "not a regular file"));
	assert_int_equal(unlink(file), 0);
	assert_int_equal(mkdir(file, 0700), 0);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), A0_ERR_CONFIG);
	assert_int_equal(rmdir(file), 0);
	/* Malformed lines: closed. */
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		plant(malformed[i], 0, 0600);
		if (state(T0 + 1, &w) != A0_ERR_CONFIG)
			fail_msg("malformed #%zu was taken: %s", i, malformed[i]);
		assert_non_null(strstr(reason, "malformed"));
	}
	/* A NUL inside, and a file larger than any window's. */
	plant_bytes(file, nul, sizeof(nul) - 1, 0, 0600);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	snprintf(big, sizeof(big), "v1 1800000000 1800003600 0 %0300d\n", 0);
	plant(big, 0, 0600);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "larger than"));
	/* The longest line the format allows is read. */
	snprintf(big, sizeof(big), "v1 %lld %lld 4294967294 %0200d\n", (long long)T0,
		 (long long)T0 + A0_BREAKGLASS_MAX, 0);
	plant(big, 0, 0600);
	assert_a0(state(T0, &w), 0);
	assert_int_equal(w.by, 4294967294U);
	assert_int_equal(strlen(w.reason), A0_BREAKGLASS_REASON_MAX);
	assert_int_equal(unlink(target), 0);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
}

static void test_untrusted_directory(void **unused)
{
	char other[192];
	struct a0_breakglass w;

	need_root();
	assert_a0(open_window(T0, 600, 0, "in place"), 0);
	/* A directory the group or others may write, or not root's: refused for every call. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_non_null(strstr(reason, "not root's, or the group or others may write it"));
	assert_a0(open_window(T0, 600, 0, "x"), A0_ERR_CONFIG);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), A0_ERR_CONFIG);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(chown(dir, 1000, 0), 0);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_a0(open_window(T0, 600, 0, "x"), A0_ERR_CONFIG);
	assert_int_equal(chown(dir, 0, 0), 0);
	/* Untouched by all that. */
	assert_a0(state(T0, &w), 0);
	assert_string_equal(w.reason, "in place");
	/* A directory that is a symbolic link is not followed. */
	snprintf(other, sizeof(other), "%s/other", base);
	assert_int_equal(rename(dir, other), 0);
	assert_int_equal(symlink(other, dir), 0);
	assert_a0(state(T0, &w), A0_ERR_CONFIG);
	assert_a0(open_window(T0, 600, 0, "x"), A0_ERR_CONFIG);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), A0_ERR_CONFIG);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(rename(other, dir), 0);
	/* A directory whose parent is missing: closed; opening fails. */
	assert_a0(a0_breakglass_state("/nonexistent-a0/offline", T0, &w, reason, sizeof(reason)),
		  A0_ERR_NOT_FOUND);
	assert_a0(a0_breakglass_close("/nonexistent-a0/offline", reason, sizeof(reason)), 0);
	assert_a0(a0_breakglass_open("/nonexistent-a0/offline", T0, 60, 0, "x", reason,
				     sizeof(reason)),
		  A0_ERR_SYSTEM);
	assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
}

/* Not root: every call is refused with A0_ERR_CONFIG, and nothing is read or written. */
static void test_not_root_is_refused(void **unused)
{
	struct a0_breakglass w;
	int status = 0;
	pid_t pid;

	if (geteuid() == 0) {
		assert_a0(open_window(T0, 600, 0, "root's"), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int bad = 0;

			if (seteuid(65534) < 0)
				_exit(99);
			bad |= a0_breakglass_state(dir, T0, &w, reason, sizeof(reason)) !=
			       A0_ERR_CONFIG;
			bad |= strstr(reason, "root") == NULL;
			bad |= a0_breakglass_open(dir, T0, 60, 65534, "x", reason,
						  sizeof(reason)) != A0_ERR_CONFIG;
			bad |= a0_breakglass_close(dir, reason, sizeof(reason)) != A0_ERR_CONFIG;
			_exit(bad);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_a0(state(T0, &w), 0);
		assert_string_equal(w.reason, "root's");
		assert_a0(a0_breakglass_close(dir, reason, sizeof(reason)), 0);
		return;
	}
	assert_a0(a0_breakglass_state("/tmp", T0, &w, reason, sizeof(reason)), A0_ERR_CONFIG);
	assert_a0(a0_breakglass_open("/tmp", T0, 60, getuid(), "x", reason, sizeof(reason)),
		  A0_ERR_CONFIG);
	assert_a0(a0_breakglass_close("/tmp", reason, sizeof(reason)), A0_ERR_CONFIG);
}

static int setup(void **unused)
{
	temp_dir(base, sizeof(base), "a0-breakglass");
	snprintf(dir, sizeof(dir), "%s/offline", base);
	snprintf(file, sizeof(file), "%s/%s", dir, A0_BREAKGLASS_FILE);
	return chmod(base, 0755);
}

static int teardown(void **unused)
{
	return remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_state_close),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_invalid_durations_and_reasons),
		cmocka_unit_test(test_untrusted_files_keep_it_closed),
		cmocka_unit_test(test_untrusted_directory),
		cmocka_unit_test(test_not_root_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
