/* SPDX-License-Identifier: MIT */
/*
 * Compiled by tests/unit.mk, never linked: A0_ARRAY_SIZE of an array builds (A0_ARRAY_OK), and
 * of a pointer must not, with the macro's own message.
 */
#include "config.h"

#include "lib/util.h"

size_t a0_array_size_check(void);

size_t a0_array_size_check(void)
{
	static const int a[3] = { 1, 2, 3 };
#ifdef A0_ARRAY_OK
	return A0_ARRAY_SIZE(a);
#else
	const int *p = a;

	return A0_ARRAY_SIZE(p);
#endif
}
