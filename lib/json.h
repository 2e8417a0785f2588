/* SPDX-License-Identifier: MIT */
#ifndef A0_JSON_H
#define A0_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Deepest nesting accepted from outside; Auth0's answers need 3. */
#define A0_JSON_MAX_DEPTH 16

/*
 * Parse text from outside: at most len bytes, nesting at most A0_JSON_MAX_DEPTH, nothing but
 * whitespace after the value. Returns 0 and the tree in *ret (free with a0_json_free), or
 * A0_ERR_MALFORMED.
 */
int a0_json_parse(const char *text, size_t len, cJSON **ret);

/*
 * The claims of a compact JWS (header.payload.signature), NOT verified: only for a token some
 * party that checks signatures has already accepted (a log line after the tenant took it, the
 * cnf.jkt of a token compared with a key this process holds). 0 and *ret (free with
 * a0_json_free); A0_ERR_MALFORMED; A0_ERR_NOMEM. The decoded payload is wiped.
 */
int a0_json_jwt_claims(const char *token, cJSON **ret);

/*
 * cJSON's allocator hooks are global to the process and would outlive this module after
 * pam_end() unloads it, so secrets in JSON are wiped by walking the tree instead.
 */
/* Wipe every string in the tree, then free it; NULL is fine. */
void a0_json_free(cJSON *root);
/* Print without formatting into memory the caller frees with a0_secret_free; NULL on failure. */
char *a0_json_print(cJSON *root);

/* The string member `name`, or NULL when absent or not a string. */
const char *a0_json_string(const cJSON *obj, const char *name);

/*
 * A whole number member that Auth0 may send as a number or a decimal string (expires_in):
 * 0 and the value in *ret, A0_ERR_MALFORMED when present but not a non-negative integer within
 * [0, max], 1 when absent.
 */
int a0_json_uint(const cJSON *obj, const char *name, long long max, long long *ret);

#endif
