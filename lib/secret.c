/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/secret.h"

void a0_wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

void a0_secret_free(char *s)
{
	if (s)
		a0_wipe_free(s, strlen(s));
}

void a0_secret_clear(char **p)
{
	a0_secret_free(*p);
	*p = NULL;
}

char *a0_secret_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int a0_buf_append(struct a0_buf *b, const void *data, size_t len)
{
	size_t need, cap;
	char *n;

	if (len > SIZE_MAX / 2 - b->len - 1)
		return A0_ERR_TOO_LARGE;
	need = b->len + len + 1;
	if (b->max && b->len + len > b->max)
		return A0_ERR_TOO_LARGE;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < need)
			cap *= 2;
		/* Not realloc: it may leave the old contents behind unwiped. */
		n = malloc(cap);
		if (!n)
			return A0_ERR_NOMEM;
		if (b->data) {
			memcpy(n, b->data, b->len);
			a0_wipe_free(b->data, b->cap);
		}
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return A0_OK;
}

void a0_buf_free(struct a0_buf *b)
{
	a0_wipe_free(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *a0_buf_steal(struct a0_buf *b)
{
	char *d = b->data;

	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}
