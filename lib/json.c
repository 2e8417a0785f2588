/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64url.h"
#include "lib/error.h"
#include "lib/json.h"
#include "lib/secret.h"

/* cJSON's own limit is 1000 levels of recursion; refuse deep input before it recurses. */
static bool depth_ok(const char *s, size_t len)
{
	bool in_string = false, escaped = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > A0_JSON_MAX_DEPTH)
				return false;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return true;
}

int a0_json_parse(const char *text, size_t len, cJSON **ret)
{
	const char *end = NULL;
	cJSON *root;

	if (!text || len == 0 || !depth_ok(text, len))
		return A0_ERR_MALFORMED;
	if (memchr(text, '\0', len))
		return A0_ERR_MALFORMED;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root)
		return A0_ERR_MALFORMED;
	while (end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (end != text + len) {
		a0_json_free(root);
		return A0_ERR_MALFORMED;
	}
	*ret = root;
	return A0_OK;
}

const char *a0_json_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int a0_json_uint(const cJSON *obj, const char *name, long long max, long long *ret)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	long long v;

	if (!item || cJSON_IsNull(item))
		return 1;
	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;

		if (!(d >= 0 && d <= (double)max) || floor(d) != d)
			return A0_ERR_MALFORMED;
		v = (long long)d;
	} else if (cJSON_IsString(item)) {
		const char *s = item->valuestring;
		char *e;

		if (*s < '0' || *s > '9')
			return A0_ERR_MALFORMED;
		errno = 0;
		v = strtoll(s, &e, 10);
		if (errno || *e || v > max)
			return A0_ERR_MALFORMED;
	} else {
		return A0_ERR_MALFORMED;
	}
	*ret = v;
	return A0_OK;
}

static void wipe_tree(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring)
			explicit_bzero(item->valuestring, strlen(item->valuestring));
		if (item->string)
			explicit_bzero(item->string, strlen(item->string));
		wipe_tree(item->child); /* depth is bounded by a0_json_parse and by our builders */
	}
}

void a0_json_free(cJSON *root)
{
	if (!root)
		return;
	wipe_tree(root);
	cJSON_Delete(root);
}

char *a0_json_print(cJSON *root)
{
	for (size_t size = 4096; size <= 1024 * 1024; size *= 2) {
		char *buf = malloc(size);

		if (!buf)
			return NULL;
		/* cJSON wants 5 bytes of slack to be sure the text fits. */
		if (cJSON_PrintPreallocated(root, buf, (int)size - 5, false))
			return buf;
		a0_wipe_free(buf, size);
	}
	return NULL;
}

int a0_json_jwt_claims(const char *token, cJSON **ret)
{
	const char *dot = token ? strchr(token, '.') : NULL,
		   *end = dot ? strchr(dot + 1, '.') : NULL;
	unsigned char *payload = NULL;
	size_t len = 0;
	cJSON *claims = NULL;
	int r;

	if (!end || strchr(end + 1, '.'))
		return A0_ERR_MALFORMED;
	if ((r = a0_b64url_decode(dot + 1, (size_t)(end - dot - 1), &payload, &len)) < 0)
		return r == A0_ERR_NOMEM ? r : A0_ERR_MALFORMED;
	r = a0_json_parse((const char *)payload, len, &claims);
	a0_wipe_free(payload, len);
	if (r == 0 && !cJSON_IsObject(claims)) {
		a0_json_free(claims);
		r = A0_ERR_MALFORMED;
	}
	if (r == 0)
		*ret = claims;
	return r;
}
