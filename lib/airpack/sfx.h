/* sfx.h - the trailer of a self-extracting setup.
 *
 * A setup is the airpack-setup executable, then an optional PEM public key
 * (the signer's), then a bundle, then a 64-byte trailer at the very end:
 *
 *   offset size  field
 *   0      6     magic "APSFX1"
 *   6      1     flags: bit 0 set for a detached setup (bundle holds no payloads)
 *   7      1     zero
 *   8      8     stub length (u64 LE): where the appended data starts
 *   16     8     key length (u64 LE): PEM bytes right after the stub (may be 0)
 *   24     8     bundle length (u64 LE): bundle bytes right after the key
 *   32     32    SHA-256 of the appended bytes (key + bundle)
 *
 * File size must equal stub + key + bundle + 64, so a truncated or extended
 * setup is detected before any hashing; the hash then catches changed bytes.
 */
#ifndef AP_SFX_H
#define AP_SFX_H

#include <stdbool.h>
#include <stdint.h>
#include "airpack/err.h"

#define AP_SFX_MAGIC "APSFX1" /* documentation; sfx.c never stores it verbatim */
#define AP_SFX_DETACHED 0x01
#define AP_SFX_TRAILER_LEN 64

struct ap_sfx_info {
	uint64_t stub_len;
	uint64_t key_off, key_len;
	uint64_t bundle_off, bundle_len;
	unsigned char sha256[32];
	bool detached;
};

/* Read the trailer of path.  Returns 0 and fills info when it is a setup;
 * AP_E_NOTFOUND when the file carries no trailer (not a setup); AP_E_TRUNCATED
 * when the trailer is there but the sizes do not add up (says truncated or
 * extended, by how many bytes) or when a trailer magic sits near the end but
 * not at it (bytes appended after the trailer). */
int ap_sfx_probe(const char *path, struct ap_sfx_info *info, struct ap_err *err);

/* Hash the appended bytes and compare with the trailer (AP_E_TRUNCATED
 * "setup 'PATH' is damaged: ..." on mismatch). */
int ap_sfx_check(const char *path, const struct ap_sfx_info *info, struct ap_err *err);

/* Write a setup: copy stub, append key_pem (may be NULL) and the bundle
 * file, then the trailer; atomically, mode 0755.  The stub's platform is
 * read from the bytes copied (platform.h): when it is not stub_platform
 * (a NULL there: a header platform.h does not know) the stub changed since
 * it was chosen, and nothing is written (AP_E_USAGE). */
int ap_sfx_write(const char *out_path, const char *stub_path, const char *stub_platform,
		 const char *key_pem, size_t key_len, const char *bundle_path, bool detached,
		 struct ap_err *err);

#endif
