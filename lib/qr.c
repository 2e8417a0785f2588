/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "lib/error.h"
#include "lib/qr.h"

/* The half blocks: what a character cell shows of its upper and lower module. */
static const char *const half_blocks[2][2] = {
	/* [upper in ink][lower in ink] */
	[0][0] = " ",
	[0][1] = "\xe2\x96\x84", /* U+2584 LOWER HALF BLOCK */
	[1][0] = "\xe2\x96\x80", /* U+2580 UPPER HALF BLOCK */
	[1][1] = "\xe2\x96\x88", /* U+2588 FULL BLOCK */
};

const char *a0_qr_style_name(enum a0_qr_style s)
{
	switch (s) {
	case A0_QR_UTF8:
		return "utf8";
	case A0_QR_ASCII:
		return "ascii";
	case A0_QR_NONE:
		break;
	}
	return "no";
}

/* Is the module at (x, y) of the drawing, quiet zone included, in ink (a light module)? */
static bool ink(const QRcode *q, int x, int y)
{
	int w = q->width;

	x -= A0_QR_QUIET;
	y -= A0_QR_QUIET;
	if (x < 0 || y < 0 || x >= w || y >= w)
		return true;
	return !(q->data[(size_t)y * (size_t)w + (size_t)x] & 1);
}

static int append(char **p, char *end, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(end - *p) < n + 1)
		return A0_ERR_TOO_LARGE;
	memcpy(*p, s, n);
	*p += n;
	**p = '\0';
	return 0;
}

int a0_qr_render(const char *text, enum a0_qr_style style, char **ret)
{
	QRcode *q = NULL;
	char *out = NULL, *p, *end;
	size_t len = text ? strnlen(text, A0_QR_MAX_INPUT + 1) : 0;
	int side, r = 0;

	if (len == 0 || len > A0_QR_MAX_INPUT || style == A0_QR_NONE)
		return A0_ERR_INVALID;
	errno = 0;
	q = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_L);
	if (!q)
		return errno == ENOMEM ? A0_ERR_NOMEM : A0_ERR_INVALID;
	side = q->width + 2 * A0_QR_QUIET;
	out = malloc(A0_QR_MAX_TEXT + 1);
	if (!out) {
		r = A0_ERR_NOMEM;
		goto out;
	}
	p = out;
	end = out + A0_QR_MAX_TEXT + 1;
	*p = '\0';
	for (int y = 0; r == 0 && y < side; y += style == A0_QR_UTF8 ? 2 : 1) {
		if (y > 0)
			r = append(&p, end, "\n");
		for (int x = 0; r == 0 && x < side; x++) {
			if (style == A0_QR_UTF8)
				/* Below the last row (side is odd): blank, outside the drawing. */
				r = append(&p, end,
					   half_blocks[ink(q, x, y)][y + 1 < side && ink(q, x, y + 1)]);
			else
				r = append(&p, end, ink(q, x, y) ? "##" : "  ");
		}
	}
	if (r == 0) {
		*ret = out;
		out = NULL;
	}
out:
	free(out);
	QRcode_free(q);
	return r;
}
