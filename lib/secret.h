/* SPDX-License-Identifier: MIT */
#ifndef A0_SECRET_H
#define A0_SECRET_H

#include <stddef.h>

/*
 * Secrets (passwords, codes, tokens) are ordinary NUL-terminated strings whose memory is wiped
 * before it is freed. Every owner of a secret frees it with a0_secret_free(); buffers that grow
 * (HTTP bodies) use struct a0_buf, which wipes what it drops when it grows.
 */

/* Wipe then free a NUL-terminated string; NULL is fine. */
void a0_secret_free(char *s);
/* Replace *p with NULL after wiping and freeing it. */
void a0_secret_clear(char **p);
/* strdup that the caller frees with a0_secret_free; NULL on NULL or no memory. */
char *a0_secret_dup(const char *s);
/* Wipe and free memory of a known size. */
void a0_wipe_free(void *p, size_t len);

/* A growable byte buffer, always NUL-terminated, wiped when grown or freed. */
struct a0_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = unbounded; appending past it fails with A0_ERR_TOO_LARGE */
};

int a0_buf_append(struct a0_buf *b, const void *data, size_t len);
void a0_buf_free(struct a0_buf *b);
/* Hand the contents to the caller (free with a0_secret_free) and reset the buffer. */
char *a0_buf_steal(struct a0_buf *b);

#endif
