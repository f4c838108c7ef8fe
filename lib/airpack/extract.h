/* extract.h - unpack a payload archive (cab, zip, tar, tar.gz/xz/bz2, ...)
 * safely into a folder, hashing every file while it is written.
 *
 * Only regular files and folders are accepted: absolute names, ".."
 * components, backslashes, control characters, symlinks, hard links and
 * device nodes are refused (AP_E_UNSAFE, naming the entry) before anything
 * of that entry is written.  libarchive's SECURE_* flags are on as a second
 * line.  Files are created with mode (entry mode & 0755) | 0644 for files
 * with no mode (cab), folders 0755; each file and folder is fsynced
 * (unless the caller syncs the tree itself: defer_sync below).
 */
#ifndef AP_EXTRACT_H
#define AP_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/digest.h"

/* Called after each regular file is completely written. relpath is relative
 * to dest, '/'-separated. Return non-zero (an AP_E_* code) to abort. */
typedef int (*ap_extract_cb)(void *ctx, const char *relpath, unsigned mode, uint64_t size,
			     const char sha256[AP_SHA256_HEX], struct ap_err *err);

/* What the archive and its contents must be (ap_extract_checked).
 *
 * The archive is opened once and every byte libarchive reads from it is
 * hashed in that same read: a streamed format (tar, tar.*, cab) is read
 * straight from the file and, after the last entry, read to its end so the
 * whole file is hashed; a format that needs seeking (zip, 7z) is first
 * copied into an unnamed private file in spool_dir through the hash and
 * compared, then read from that copy only.  A size or sha256 that differs
 * is AP_E_DIGEST naming the archive (after x->changed); what was extracted
 * until then is the caller's to discard.
 *
 * Expanded limits: with has_expanded, the files' total size and count must
 * be exactly expanded_size and expanded_files: the first byte past the size
 * or the first file past the count stops the extraction (AP_E_TOOBIG), and
 * fewer is AP_E_DIGEST.  Without it, max_expanded > 0 caps the total size
 * (AP_E_TOOBIG).  Sparse holes count as the zeros they stand for. */
struct ap_extract_expect {
	bool has_size;
	uint64_t size;	     /* the archive's exact size */
	const char *sha256;  /* the archive's sha256 (hex); NULL: not checked */
	const char *says;    /* who expects it ("the signed manifest says"); NULL:
	                           "expected" */
	const char *changed; /* put before a size or sha256 mismatch of the
	                           archive ("payload changed after it was
	                           verified"); NULL: nothing */
	bool has_expanded;
	uint64_t expanded_size;	 /* total bytes of the regular files */
	uint64_t expanded_files; /* number of regular files */
	uint64_t max_expanded;	 /* without has_expanded: a cap on the total, 0: none */
	const char *spool_dir;	 /* where a zip's private copy goes (unnamed, gone
	                            when closed); NULL: the OS temporary folder */
	bool windows_names;	 /* refuse names unsafe for Windows and names Windows
	                            sees as the same (airpack/winname.h): AP_E_UNSAFE
	                            "unsafe name for Windows", naming the entry */
	const char *dest_root;	 /* set: dest_dir is relative to this folder and
	                            none of its components is followed when it is
	                            a symlink (ap_fsx_tree_open_under) */
	bool defer_sync;	 /* files and folders are not fsynced one by one
	                            (a big file's writeback is started when it is
	                            written, ap_fsx_tree_finish) and the caller
	                            makes dest durable (ap_fsx_sync_tree) before
	                            anything depends on it */
};

/* Extract the archive at archive_path into dest_dir (which must exist).
 * mtime >= 0 sets every extracted file's mtime (for reproducible trees);
 * -1 keeps the archive's times.
 *
 * Entries that conflict are refused (AP_E_UNSAFE, naming the entry) before
 * that entry is written: the same file twice, a file where an earlier
 * entry made a folder, and an entry below an earlier file.  A full disk is
 * AP_E_IO saying "no space left on device". */
int ap_extract_archive(const char *archive_path, const char *dest_dir, int64_t mtime,
		       ap_extract_cb cb, void *ctx, struct ap_err *err);

/* ap_extract_archive checking the archive and its contents against x (see
 * struct ap_extract_expect); x NULL is ap_extract_archive. */
int ap_extract_checked(const char *archive_path, const char *dest_dir, int64_t mtime,
		       const struct ap_extract_expect *x, ap_extract_cb cb, void *ctx,
		       struct ap_err *err);

/* List the regular files of an archive without writing anything (cb gets
 * every file with its sha256).  Same safety checks as extraction. */
int ap_extract_list(const char *archive_path, ap_extract_cb cb, void *ctx, struct ap_err *err);

/* What an archive expands to: the total size and the number of its regular
 * files, as ap_extract_checked counts them (for install.expanded).  Same
 * safety checks as extraction, conflicting entries included. */
int ap_extract_measure(const char *archive_path, uint64_t *size, uint64_t *files,
		       struct ap_err *err);

/* ap_extract_measure that also refuses, with windows_names, what
 * struct ap_extract_expect's windows_names refuses. */
int ap_extract_measure_names(const char *archive_path, bool windows_names, uint64_t *size,
			     uint64_t *files, struct ap_err *err);

#endif
