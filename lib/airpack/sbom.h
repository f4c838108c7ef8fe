/* sbom.h - the software bill of materials of a release.
 *
 * airpack build describes what a release carries in SPDX 2.3 JSON (the
 * default) or CycloneDX 1.5 JSON: one package per component (file name,
 * size, SHA-256, download locations, and version, supplier and license when
 * the source manifest states them) and, for extract components, every file
 * the archive holds with its size and SHA-256.  The document is stored in the
 * signed release manifest (its "sbom" field), so the signature covers it and
 * every form of the release (bundle, offline folder, mirror, setup) and the
 * installer's state carry it.
 *
 * The output is reproducible: the creation time is the build's time
 * (SOURCE_DATE_EPOCH), element ids are positional, and the document's
 * namespace / serial number is derived from the release's name, version and
 * payload hashes.
 */
#ifndef AP_SBOM_H
#define AP_SBOM_H

#include <stddef.h>
#include <stdint.h>

#include "airpack/digest.h"
#include "airpack/err.h"
#include "airpack/manifest.h"

enum ap_sbom_format {
	AP_SBOM_SPDX,	   /* SPDX 2.3 JSON */
	AP_SBOM_CYCLONEDX, /* CycloneDX 1.5 JSON */
};

/* "spdx" or "cyclonedx" -> *out; -1 for anything else. */
int ap_sbom_format_parse(const char *s, enum ap_sbom_format *out);

struct ap_sbom_file {
	char *path; /* '/'-separated, relative to where the archive is extracted */
	uint64_t size;
	char sha256[AP_SHA256_HEX];
};

/* The files of one archive component. */
struct ap_sbom_files {
	struct ap_sbom_file *v;
	size_t n, cap;
};
/* clang-format off */
#define AP_SBOM_FILES_INIT { NULL, 0, 0 }
/* clang-format on */

void ap_sbom_files_release(struct ap_sbom_files *f);

/* List the regular files of the archive at path (through extract.h, with
 * its safety checks) into *out, which must be empty. */
int ap_sbom_scan_archive(const char *path, struct ap_sbom_files *out, struct ap_err *err);

/* The SBOM of release manifest m (its components' size and sha256 set) as
 * compact JSON text: *json malloc'd and NUL-terminated, *len without the NUL.
 * files is NULL or has m->n_components entries (empty for components that
 * are not archives).  created is the document's time in seconds since the
 * epoch.  The text's length depends only on its inputs' lengths, so a
 * manifest emitted with placeholder hashes has the final length. */
int ap_sbom_emit(const struct ap_manifest *m, const struct ap_sbom_files *files,
		 enum ap_sbom_format format, int64_t created, char **json, size_t *len,
		 struct ap_err *err);

/* Lay out an SBOM's compact text the way airpack writes JSON files (two
 * spaces per level, a final newline) for printing. */
int ap_sbom_pretty(const char *sbom, char **out, size_t *len, struct ap_err *err);

#endif
