/* configure.h - the configure step: give an installed release's device its
 * configuration, a file that holds secrets (a device key, a password), in
 * the format of whichever device runtime the release installs.
 *
 * A release declares the file in its manifest's `config` section (a path,
 * a mode, optionally the component whose installed file is the template).
 * This module does what every runtime needs done the same way: it takes
 * the product's lock (finishing or undoing an interrupted install first),
 * reads the file already there into a wiped buffer, or else the installed
 * template (used only when its sha256 matches the receipt), asks the
 * runtime's hook for the new bytes, creates the folders on the way (noting
 * those it made), removes what a killed earlier write left beside the file,
 * writes the configuration record (airpack/history.h) and then the file,
 * atomically, with the declared mode.
 *
 * A device runtime is an ap_configure_hook: it turns a base document and
 * its own settings into the new document, and names the identity facts to
 * record (no secrets).  Azure IoT Edge is lib/iotedge/ (iotedge/iotedge.h);
 * another runtime is another such layer, linked by the installer beside it.
 *
 * Test hook: AP_PROVISION_CRASH_AT=write exits (137, as a kill -9 would)
 * with half the file in its temporary sibling; =record right after the
 * record is written; =config right after the file is.
 */
#ifndef AP_CONFIGURE_H
#define AP_CONFIGURE_H

#include <stddef.h>
#include "airpack/digest.h"
#include "airpack/err.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"

/* A device runtime's part of the configure step. */
struct ap_configure_hook {
	void *ctx;
	/* Largest base document (existing file or template) read, in bytes;
	 * a larger one is AP_E_TOOBIG. */
	size_t max_bytes;
	/* The new configuration, from existing (the file on the device, when
	 * there is one: elen may be 0) else tmpl (the release's template,
	 * when it declares one) else nothing (both NULL).  *out is a new
	 * NUL-terminated buffer (*out_len excludes the NUL) that holds secrets:
	 * the caller frees it with ap_secret_free.  Errors: AP_E_STATE blames
	 * the existing file and AP_E_MANIFEST the template (the caller names
	 * the file); anything else is passed on as it is. */
	int (*render)(void *ctx, const char *tmpl, size_t tlen, const char *existing, size_t elen,
		      char **out, size_t *out_len, struct ap_err *err);
	/* Facts recorded beside the file's sha256, in this order (a NULL value
	 * is recorded as null); none may hold a secret. */
	struct ap_history_kv *identity;
	size_t n_identity;
};

/* What was written. */
struct ap_configure_result {
	const char *config_path; /* relative to the root (borrowed from the manifest) */
	unsigned config_mode;
	char config_sha256[AP_SHA256_HEX]; /* of the bytes written */
};

/* Configure the installed release m (its manifest, from the state folder)
 * under root ("/" when NULL), whose receipt is *r: *r is replaced by the
 * receipt read again under the lock (the caller frees whichever *r holds
 * at the end).  AP_E_MANIFEST when m declares no configuration or its
 * template is not an installed file of one component; AP_E_UNSAFE for an
 * unsafe config.path; AP_E_STATE when the path is not a regular file or
 * the receipt names no template file; AP_E_DIGEST when the installed
 * template changed; the lock's and the hook's errors as they come.  *res
 * is written only on success. */
int ap_configure_run(const char *root, const struct ap_manifest *m, struct ap_receipt **r,
		     const struct ap_configure_hook *hook, struct ap_configure_result *res,
		     struct ap_err *err);

#endif
