/* testhook.h - the test-only environment hooks (AP_TXN_CRASH_AT,
 * AP_TXN_STOP_AT, AP_TXN_NO_EXCHANGE, AP_FETCH_RETRY_MS,
 * AP_PROVISION_CRASH_AT, AP_FSX_NO_OPENAT2; each documented where it is
 * read).
 *
 * They are read only by a build configured with meson -Dtest_hooks=true
 * (tools/test.sh, its --asan run and CI do so).  A release or Debian build
 * (the default, false) never reads them: ap_testhook returns NULL whatever
 * the environment says. */
#ifndef AP_TESTHOOK_H
#define AP_TESTHOOK_H

#include <stdbool.h>

/* The value of the environment variable name when this build reads test
 * hooks, else NULL. */
const char *ap_testhook(const char *name);

/* ap_testhook(name) is set and equal to value. */
bool ap_testhook_is(const char *name, const char *value);

/* Whether this build reads test hooks (tests that need them skip when not). */
bool ap_testhook_built(void);

#endif
