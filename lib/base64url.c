/* SPDX-License-Identifier: MIT */
/* base64url without padding (base64url.h). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "lib/base64url.h"
#include "lib/error.h"
#include "lib/secret.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t a0_b64url_encode_to(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t len = 0, i = 0;

	for (; n - i >= 3; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
				  p[i + 2];

		out[len++] = alphabet[v >> 18 & 63];
		out[len++] = alphabet[v >> 12 & 63];
		out[len++] = alphabet[v >> 6 & 63];
		out[len++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[len++] = alphabet[p[i] >> 2];
		out[len++] = alphabet[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		out[len++] = alphabet[p[i] >> 2];
		out[len++] = alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4];
		out[len++] = alphabet[(p[i + 1] & 15) << 2];
	}
	out[len] = '\0';
	return len;
}

int a0_b64url_encode(const void *in, size_t n, char **ret)
{
	char *out;

	if (n > (SIZE_MAX - 3) / 4)
		return A0_ERR_NOMEM;
	out = malloc(A0_B64URL_LEN(n) + 1);
	if (!out)
		return A0_ERR_NOMEM;
	a0_b64url_encode_to(in, n, out);
	*ret = out;
	return 0;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int a0_b64url_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len)
{
	size_t size, n = 0;
	unsigned acc = 0, bits = 0;
	unsigned char *out;

	if (len % 4 == 1 || len > SIZE_MAX / 3)
		return A0_ERR_MALFORMED;
	size = len / 4 * 3 + 3;
	out = malloc(size);
	if (!out)
		return A0_ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)in[i]);

		if (v < 0) {
			a0_wipe_free(out, size);
			return A0_ERR_MALFORMED;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Nonzero leftover bits would give one byte string several encodings. */
	if (acc != 0) {
		a0_wipe_free(out, size);
		return A0_ERR_MALFORMED;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}
