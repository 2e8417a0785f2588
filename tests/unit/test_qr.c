/* SPDX-License-Identifier: MIT */
/*
 * lib/qr.h: a known address drawn to known bytes (the snapshots in tests/unit/qr/, both
 * styles), and drawings that decode: each is read back into modules, written as a PBM image in a
 * temporary directory and decoded with zbarimg (zbar-tools), which must give the address back.
 * Without zbarimg the decoding tests cannot run: the program then exits 77 (skipped) after the
 * others passed. `test_qr --write-snapshots` rewrites the snapshots (then check them by eye and
 * with this test).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "lib/qr.h"
#include "tests/common/assert.h"

#ifndef A0_QR_SNAPSHOTS
#error "A0_QR_SNAPSHOTS: the folder of the snapshots (tests/unit.mk)"
#endif

#define ADDRESS "https://fake-tenant.example.com/activate?user_code=WDJB-MJHT"
#define MAX_SIDE 200 /* modules of a drawing, quiet zone included */
#define PIXELS 4     /* pixels per module in the image */
#define ZBARIMG "/usr/bin/zbarimg"

static const struct {
	enum a0_qr_style style;
	const char *file;
} snapshots[] = {
	{ A0_QR_UTF8, A0_QR_SNAPSHOTS "/utf8.txt" },
	{ A0_QR_ASCII, A0_QR_SNAPSHOTS "/ascii.txt" },
};

static char *read_file(const char *path)
{
	char *buf = malloc(A0_QR_MAX_TEXT + 2);
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(buf);
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	n = fread(buf, 1, A0_QR_MAX_TEXT + 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The file ends with a line end; the drawing does not. */
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

static void test_snapshots(void **state)
{
	for (size_t i = 0; i < A0_ARRAY_SIZE(snapshots); i++) {
		char *drawn = NULL, *want = read_file(snapshots[i].file);

		assert_a0(a0_qr_render(ADDRESS, snapshots[i].style, &drawn), A0_OK);
		if (strcmp(drawn, want) != 0)
			fail_msg("%s: the drawing differs from the snapshot:\n%s",
				 snapshots[i].file, drawn);
		free(drawn);
		free(want);
	}
}

/* A drawing read back: ink[y][x] for each module, quiet zone included. */
struct modules {
	bool ink[MAX_SIDE][MAX_SIDE];
	int width, height;
};

/* One UTF-8 cell of a half-block drawing: its upper and lower module. */
static size_t half_block(const char *p, bool *upper, bool *lower)
{
	static const struct {
		const char *s;
		bool upper, lower;
	} cells[] = {
		{ " ", false, false },
		{ "\xe2\x96\x84", false, true },
		{ "\xe2\x96\x80", true, false },
		{ "\xe2\x96\x88", true, true },
	};

	for (size_t i = 0; i < A0_ARRAY_SIZE(cells); i++) {
		size_t n = strlen(cells[i].s);

		if (strncmp(p, cells[i].s, n) == 0) {
			*upper = cells[i].upper;
			*lower = cells[i].lower;
			return n;
		}
	}
	fail_msg("not a half block at '%.8s'", p);
	return 0;
}

static void read_back(const char *drawn, enum a0_qr_style style, struct modules *m)
{
	int x = 0, y = 0, step = style == A0_QR_UTF8 ? 2 : 1;

	memset(m, 0, sizeof(*m));
	for (const char *p = drawn; *p;) {
		if (*p == '\n') {
			assert_true(m->width == 0 || x == m->width);
			m->width = x;
			x = 0;
			y += step;
			p++;
			continue;
		}
		assert_true(x < MAX_SIDE && y + 1 < MAX_SIDE);
		if (style == A0_QR_UTF8) {
			p += half_block(p, &m->ink[y][x], &m->ink[y + 1][x]);
		} else {
			/* Two columns a module, both the same. */
			assert_true(p[0] == p[1] && (p[0] == '#' || p[0] == ' '));
			m->ink[y][x] = p[0] == '#';
			p += 2;
		}
		x++;
	}
	assert_int_equal(x, m->width);
	m->height = y + step;
	/* A square with its quiet zone: the drawing of a side of odd length ends half-way
	 * through its last line of half blocks. */
	if (style == A0_QR_UTF8 && m->height == m->width + 1)
		m->height--;
	assert_int_equal(m->height, m->width);
}

/* Ink is a light module (white, 0 in PBM); blank a dark one (black, 1). */
static void write_pbm(const char *path, const struct modules *m)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "P1\n%d %d\n", m->width * PIXELS, m->height * PIXELS);
	for (int y = 0; y < m->height * PIXELS; y++) {
		for (int x = 0; x < m->width * PIXELS; x++)
			fputs(m->ink[y / PIXELS][x / PIXELS] ? "0 " : "1 ", f);
		fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
}

/* zbarimg's one decoded text of the image at path (its trailing line end dropped). */
static void zbar_decode(const char *path, char *out, size_t size)
{
	int fds[2];
	pid_t pid;
	ssize_t n;
	size_t len = 0;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(ZBARIMG, "zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (len + 1 < size && (n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	out[len] = '\0';
	if (len > 0 && out[len - 1] == '\n')
		out[len - 1] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("zbarimg found no QR code in %s (status %d)", path, status);
}

static void round_trip(const char *text, enum a0_qr_style style)
{
	char dir[] = "/tmp/test_qr.XXXXXX", path[64], decoded[1024];
	struct modules *m = malloc(sizeof(*m));
	char *drawn = NULL;

	assert_non_null(m);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qr.pbm", dir);
	assert_a0(a0_qr_render(text, style, &drawn), A0_OK);
	read_back(drawn, style, m);
	write_pbm(path, m);
	zbar_decode(path, decoded, sizeof(decoded));
	assert_string_equal(decoded, text);
	unlink(path);
	rmdir(dir);
	free(drawn);
	free(m);
}

static void test_decodes_utf8(void **state)
{
	round_trip(ADDRESS, A0_QR_UTF8);
	round_trip("https://login.example.org/activate?user_code=BCDF-GHJK", A0_QR_UTF8);
}

static void test_decodes_ascii(void **state)
{
	round_trip(ADDRESS, A0_QR_ASCII);
}

/* The longest address the device flow accepts (lib/device.h) still draws in both styles. */
static void test_decodes_long(void **state)
{
	char text[257];

	memset(text, 'a', sizeof(text) - 1);
	memcpy(text, "https://", 8);
	text[sizeof(text) - 1] = '\0';
	round_trip(text, A0_QR_UTF8);
}

static void test_bounds(void **state)
{
	char untouched[] = "untouched", *drawn = untouched, big[A0_QR_MAX_INPUT + 2];

	assert_a0(a0_qr_render("", A0_QR_UTF8, &drawn), A0_ERR_INVALID);
	assert_a0(a0_qr_render(ADDRESS, A0_QR_NONE, &drawn), A0_ERR_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_a0(a0_qr_render(big, A0_QR_UTF8, &drawn), A0_ERR_INVALID);
	/* Encodable, but too big a drawing for one message. */
	big[A0_QR_MAX_INPUT] = '\0';
	assert_a0(a0_qr_render(big, A0_QR_ASCII, &drawn), A0_ERR_TOO_LARGE);
	assert_string_equal(drawn, "untouched");
	assert_string_equal(a0_qr_style_name(A0_QR_UTF8), "utf8");
	assert_string_equal(a0_qr_style_name(A0_QR_ASCII), "ascii");
	assert_string_equal(a0_qr_style_name(A0_QR_NONE), "no");
}

static int write_snapshots(void)
{
	for (size_t i = 0; i < A0_ARRAY_SIZE(snapshots); i++) {
		char *drawn = NULL;
		FILE *f;

		if (a0_qr_render(ADDRESS, snapshots[i].style, &drawn) < 0 ||
		    !(f = fopen(snapshots[i].file, "w")))
			return 1;
		fprintf(f, "%s\n", drawn);
		free(drawn);
		if (fclose(f) != 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest local[] = {
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_bounds),
	};
	const struct CMUnitTest decoding[] = {
		cmocka_unit_test(test_decodes_utf8),
		cmocka_unit_test(test_decodes_ascii),
		cmocka_unit_test(test_decodes_long),
	};
	int r;

	if (argc == 2 && strcmp(argv[1], "--write-snapshots") == 0)
		return write_snapshots();
	r = cmocka_run_group_tests_name("qr", local, NULL, NULL);
	if (r != 0)
		return r;
	if (access(ZBARIMG, X_OK) != 0) {
		printf("SKIP: %s is missing (Debian's zbar-tools): the drawings were not decoded\n",
		       ZBARIMG);
		return 77;
	}
	return cmocka_run_group_tests_name("qr decoding", decoding, NULL, NULL);
}
