/* bundle.h - write and stream-read release bundles.
 *
 * A bundle is a tar archive (pax_restricted, every entry a regular file with
 * mode 0644, uid/gid 0, empty owner names and one fixed mtime) whose first
 * entries are manifest.json and manifest.json.sig, then the payloads in
 * manifest order.  Compressed bundles are gzip (no name, mtime 0): the head
 * (manifest and signature) is one gzip member of stored blocks and the
 * payloads a second deflated member, so `tar -xzf` and libarchive read them
 * as one stream.
 *
 * The writer reads each payload once: it reserves room for the head,
 * streams the payloads (hashing them on the way: a big payload's buffers
 * on a second thread while they are written, hashring.h), and writes the
 * manifest and signature into the reserved room at the end.  The bundle
 * starts where `out` stands when it is opened (a setup's, after its stub),
 * and the head is rewritten there.  For that the caller
 * declares the manifest and signature lengths up front (emit the manifest
 * with placeholder digests of the same length; Ed25519 signatures are
 * always 64 bytes).
 */
#ifndef AP_BUNDLE_H
#define AP_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "airpack/err.h"
#include "airpack/digest.h"

#define AP_BUNDLE_MANIFEST "manifest.json"
#define AP_BUNDLE_SIG "manifest.json.sig"
#define AP_MANIFEST_MAX (16u << 20) /* largest manifest accepted */
#define AP_SIG_MAX 4096u	    /* largest signature accepted */

enum ap_compress {
	AP_COMPRESS_NONE,
	AP_COMPRESS_GZIP
};

struct ap_bundle_writer;

/* Start a bundle on `out` (binary, seekable) at its current position.
 * level: 1-9 for gzip (ignored for none).  mtime: the time stored in every
 * entry.  manifest_len and sig_len: the exact lengths finish() will get. */
int ap_bundle_writer_open(FILE *out, enum ap_compress compress, int level, int64_t mtime,
			  size_t manifest_len, size_t sig_len, struct ap_bundle_writer **w,
			  struct ap_err *err);

/* Append a payload entry `name` streamed from the file at path.  The file
 * must be exactly `size` bytes (else AP_E_DIGEST naming both sizes).  Its
 * SHA-256 is written to hex.  progress (may be NULL) gets bytes done. */
int ap_bundle_writer_add_file(struct ap_bundle_writer *w, const char *name, const char *path,
			      uint64_t size, char hex[AP_SHA256_HEX],
			      void (*progress)(void *ctx, uint64_t done), void *ctx,
			      struct ap_err *err);

/* Write the end of the archive and the head into its reserved room.  The
 * lengths must equal the ones given to open (else AP_E_USAGE).  Leaves
 * `out` positioned at the end of the bundle; does not close or fsync it. */
int ap_bundle_writer_finish(struct ap_bundle_writer *w, const void *manifest, size_t manifest_len,
			    const void *sig, size_t sig_len, struct ap_err *err);

void ap_bundle_writer_free(struct ap_bundle_writer *w);

struct ap_bundle_reader;

/* Open a bundle stored at [offset, offset+length) of the file at path
 * (length 0: to the end of the file).  Reads the first two entries, which
 * must be manifest.json and manifest.json.sig (bounded by AP_MANIFEST_MAX
 * and AP_SIG_MAX), into memory.  Nothing is verified here. */
int ap_bundle_reader_open(const char *path, uint64_t offset, uint64_t length,
			  struct ap_bundle_reader **r, struct ap_err *err);

/* The manifest and signature bytes (owned by the reader). */
const char *ap_bundle_reader_manifest(const struct ap_bundle_reader *r, size_t *len);
const unsigned char *ap_bundle_reader_sig(const struct ap_bundle_reader *r, size_t *len);

/* Advance to the next payload entry.  Returns 1 with *name (owned by the
 * reader, valid until the next call) and *size, 0 at the end, or an error.
 * Entries that are not regular files, or whose names are not safe single
 * file names, are AP_E_UNSAFE. */
int ap_bundle_reader_next(struct ap_bundle_reader *r, const char **name, uint64_t *size,
			  struct ap_err *err);

/* Read up to len bytes of the current entry; *got is 0 at its end. */
int ap_bundle_reader_read(struct ap_bundle_reader *r, void *buf, size_t len, size_t *got,
			  struct ap_err *err);

void ap_bundle_reader_free(struct ap_bundle_reader *r);

#endif
