/* manifest_dup.h - a deep copy of a manifest model, for the tests (the
 * manifest unit test and the manifest fuzz target check that a copy emits
 * the same bytes).  Test code only: the library never copies a manifest.
 *
 *   tu_manifest_dup(m, &copy, &err)   0, AP_E_USAGE (m or out NULL) or
 *                                     AP_E_NOMEM; free with ap_manifest_free
 */
#ifndef AP_TEST_MANIFEST_DUP_H
#define AP_TEST_MANIFEST_DUP_H

#include "airpack/err.h"
#include "airpack/manifest.h"

int tu_manifest_dup(const struct ap_manifest *m, struct ap_manifest **out, struct ap_err *err);

#endif
