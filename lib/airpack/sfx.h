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
#include <stdio.h>
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

/* Writing a setup in one pass: the stub and the key first, then whatever
 * the caller streams into the setup (a bundle written on
 * ap_sfx_writer_stream, or a bundle file's bytes through
 * ap_sfx_writer_append), then the trailer.  The setup is written to a
 * temporary name beside out_path and only renamed there, complete and
 * durable, by ap_sfx_writer_commit.
 *
 * ap_sfx_writer_open: create the temporary (mode 0755), copy stub_path
 * and append key_pem (may be NULL).  The stub's platform is read from the
 * bytes copied (platform.h): when it is not stub_platform (a NULL there: a
 * header platform.h does not know) the stub changed since it was chosen
 * (AP_E_USAGE); a stub that is itself a setup is AP_E_USAGE too.  detached
 * is recorded in the trailer (the bundle holds no payloads).  *w is
 * written only on success; free it with ap_sfx_writer_free. */
struct ap_sfx_writer;
int ap_sfx_writer_open(const char *out_path, const char *stub_path, const char *stub_platform,
		       const char *key_pem, size_t key_len, bool detached, struct ap_sfx_writer **w,
		       struct ap_err *err);

/* The setup's stream (binary, seekable, positioned where the bundle
 * starts), for ap_bundle_writer_open; owned by the writer.  What is
 * written on it directly is read back once, for the trailer's hash, when
 * the setup is committed (a bundle writer rewrites its head at the end, so
 * its bytes are only final then). */
FILE *ap_sfx_writer_stream(struct ap_sfx_writer *w);

/* Append the whole of `in` (binary, readable, seekable; rewound first)
 * after what the setup holds, hashing it on the way; name is for
 * messages. */
int ap_sfx_writer_append(struct ap_sfx_writer *w, FILE *in, const char *name, struct ap_err *err);

/* Hash what the trailer covers that is not hashed yet, write the trailer,
 * then flush, fsync and rename the setup into place.  On failure the
 * temporary is removed.  Either way w is done with (free it). */
int ap_sfx_writer_commit(struct ap_sfx_writer *w, struct ap_err *err);

/* Remove an uncommitted setup's temporary and free w.  NULL is a no-op. */
void ap_sfx_writer_free(struct ap_sfx_writer *w);

#endif
