/* extract.h - unpack a payload archive (cab, zip, tar, tar.gz/xz/bz2, ...)
 * safely into a folder, hashing every file while it is written.
 *
 * Only regular files and folders are accepted: absolute names, ".."
 * components, backslashes, control characters, symlinks, hard links and
 * device nodes are refused (AP_E_UNSAFE, naming the entry) before anything
 * of that entry is written.  libarchive's SECURE_* flags are on as a second
 * line.  Files are created with mode (entry mode & 0755) | 0644 for files
 * with no mode (cab), folders 0755; each file is fsynced.
 */
#ifndef AP_EXTRACT_H
#define AP_EXTRACT_H

#include <stdint.h>
#include "airpack/err.h"
#include "airpack/digest.h"

/* Called after each regular file is completely written. relpath is relative
 * to dest, '/'-separated. Return non-zero (an AP_E_* code) to abort. */
typedef int (*ap_extract_cb)(void *ctx, const char *relpath, unsigned mode, uint64_t size,
			     const char sha256[AP_SHA256_HEX], struct ap_err *err);

/* Extract the archive at archive_path into dest_dir (which must exist).
 * mtime >= 0 sets every extracted file's mtime (for reproducible trees);
 * -1 keeps the archive's times. */
int ap_extract_archive(const char *archive_path, const char *dest_dir, int64_t mtime,
		       ap_extract_cb cb, void *ctx, struct ap_err *err);

/* List the regular files of an archive without writing anything (cb gets
 * every file with its sha256).  Same safety checks as extraction. */
int ap_extract_list(const char *archive_path, ap_extract_cb cb, void *ctx, struct ap_err *err);

#endif
