/* testhook.c - the test-only hooks, read only when built with them; see
 * airpack/testhook.h.  Compiled once per variant with AP_TEST_HOOKS 0 or 1
 * (lib/meson.build), so nothing else in lib/ depends on the option. */
#include <stdlib.h>
#include <string.h>

#include "airpack/testhook.h"
#include "airpack/banned.h"

#ifndef AP_TEST_HOOKS
#error "lib/meson.build defines AP_TEST_HOOKS (0 or 1) for this file"
#endif

const char *ap_testhook(const char *name)
{
#if AP_TEST_HOOKS
	return getenv(name);
#else
	(void)name;
	return NULL;
#endif
}

bool ap_testhook_is(const char *name, const char *value)
{
	const char *at = ap_testhook(name);

	return at && strcmp(at, value) == 0;
}

bool ap_testhook_built(void)
{
	return AP_TEST_HOOKS != 0;
}
