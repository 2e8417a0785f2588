/* SPDX-License-Identifier: MIT */
#ifndef A0_QR_H
#define A0_QR_H

/*
 * A QR code drawn as text for a terminal (the device flow's verification address), with
 * Debian's libqrencode. Light modules are drawn in ink and dark ones left blank, so that the
 * code reads right on the usual light-on-dark terminal, with the quiet zone of 4 modules (in
 * ink) the standard asks for around it.
 */

#include <stddef.h>

/* How the conversation can show it (the device_qr setting). */
enum a0_qr_style {
	A0_QR_UTF8,  /* UTF-8 half blocks: two module rows per line, one column per module */
	A0_QR_ASCII, /* '#' for ink, ' ' for blank: one module row per line, two columns each */
	A0_QR_NONE,  /* no QR code */
};

#define A0_QR_QUIET 4         /* modules of quiet zone on each side */
#define A0_QR_MAX_INPUT 512   /* longest text encoded */
#define A0_QR_MAX_TEXT 8000   /* longest drawing: it must fit one conversation message */

/*
 * Draw text (1 to A0_QR_MAX_INPUT bytes, no NUL) as a QR code (error correction level L, 8-bit
 * mode, the smallest version that holds it): lines separated by '\n', none at the end.
 * 0 and a new string to free; A0_ERR_INVALID for empty or over-long text or A0_QR_NONE;
 * A0_ERR_TOO_LARGE when the drawing would be over A0_QR_MAX_TEXT bytes; A0_ERR_NOMEM.
 */
int a0_qr_render(const char *text, enum a0_qr_style style, char **ret);

/* The setting's names: "utf8", "ascii", "no". */
const char *a0_qr_style_name(enum a0_qr_style s);

#endif
