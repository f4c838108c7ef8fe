/* manifest.h - the release manifest model: parse from memory, validate, emit.
 *
 * One schema serves the source manifest (written by people, in manifests/)
 * and the release manifest (written by `airpack build`, signed).  A release
 * manifest has every component's size and sha256; a source one may leave
 * them out (or pin them).  Validation errors name the JSON path and what was
 * expected, e.g. "components[2].sha256: expected 64 hex digits, got 63".
 * Unknown fields, duplicate component names or file names (aliases
 * included), and unsafe names are errors.  Schema: docs/manifest.md and
 * manifests/schema/manifest.schema.json.
 */
#ifndef AP_MANIFEST_H
#define AP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/digest.h"

#define AP_FORMAT "airpack/1"

enum ap_manifest_kind {
	AP_MANIFEST_SOURCE,  /* size/sha256 optional */
	AP_MANIFEST_RELEASE, /* size/sha256 required on every component */
};

enum ap_action {
	AP_ACTION_EXTRACT, /* unpack an archive (cab, zip, tar.*) into prefix/to */
	AP_ACTION_COPY,	   /* copy the file to prefix/to (default: its file name) */
	AP_ACTION_RUN,	   /* copy to prefix/to, then execute it with args */
};

/* install.service: the component holds a long-running program the install
 * registers with the OS's service manager (docs/services.md). */
struct ap_manifest_service {
	char *name;    /* the service's name: a safe name, at most 64 bytes */
	char *program; /* extract: the program, relative to the component's `to`;
			      NULL for copy (the file it installs) */
	char **args;   /* its arguments */
	size_t n_args;
	char *description; /* may be NULL */
};

struct ap_component {
	char *name;	/* unique; a safe name (see ap_manifest_safe_name) */
	char *file;	/* the payload's file name; a safe name */
	char **aliases; /* other file names it may be found under (safe names) */
	size_t n_aliases;
	char **urls; /* http(s):// or file:// download locations */
	size_t n_urls;
	bool has_size;
	uint64_t size;
	bool has_sha256;
	char sha256[AP_SHA256_HEX]; /* lowercase */
	enum ap_action action;
	char *to;		 /* relative path under the prefix; NULL means "" (extract)
			   or the file name (copy, run) */
	bool has_expanded;	 /* extract: install.expanded is present */
	uint64_t expanded_size;	 /* extract: total bytes of the archive's files */
	uint64_t expanded_files; /* extract: number of the archive's files */
	unsigned mode;		 /* copy/run: file mode, default 0644 (copy) 0755 (run) */
	char **args;		 /* run: arguments (not including the program) */
	size_t n_args;
	int *ok_codes; /* run: exit codes that mean success; default {0} */
	size_t n_ok_codes;
	int *reboot_codes; /* run: exit codes that mean "succeeded, restart required";
			      none by default (vc_redist's 3010, 1641) */
	size_t n_reboot_codes;
	struct ap_manifest_service *service; /* extract/copy: NULL when it has none */
	/* Optional, for the release's SBOM (lib/sbom.h); NULL when not stated. */
	char *version;	/* the payload's own version, e.g. "20.10.13" */
	char *supplier; /* who supplies it, e.g. "Microsoft" */
	char *license;	/* an SPDX license expression, e.g. "MIT OR Apache-2.0" */
	/* "optional": true: installed when present locally or reachable,
	 * skipped (and named as skipped) otherwise; never the config template.
	 * airpack build leaves an optional component out of the release when
	 * its payload is missing and its size and sha256 are not pinned. */
	bool optional;
};

/* Optional device configuration: the file the configure step writes
 * (airpack/configure.h, `airpack-setup provision`) through a device runtime. */
struct ap_config_spec {
	char *path;	/* relative to the install root, e.g. "etc/iotedge/config.yaml" */
	char *template; /* component name whose payload is the template; may be NULL */
	unsigned mode;	/* default 0600 */
};

struct ap_manifest {
	char *format;	   /* always AP_FORMAT */
	char *product;	   /* a safe name */
	char *version;	   /* dotted numbers with an optional -suffix, e.g. 1.1.13 */
	char *channel;	   /* may be NULL */
	char *platform;	   /* may be NULL */
	char *prefix;	   /* relative path under the root where files go */
	char *description; /* may be NULL */
	char *key_id;	   /* release only: the signer's key id; may be NULL */
	char *sbom;	   /* release only: the software bill of materials airpack build
			   writes (a JSON object, compact text; lib/sbom.h); may be NULL */
	char **data_dirs;  /* relative to the root; removed by uninstall --purge */
	size_t n_data_dirs;
	bool has_config;
	struct ap_config_spec config;
	struct ap_component *components;
	size_t n_components;
};

/* Parse and validate JSON bytes (need not be NUL-terminated).  On success
 * *out is a new manifest the caller frees with ap_manifest_free. */
int ap_manifest_parse(const char *json, size_t len, enum ap_manifest_kind kind,
		      struct ap_manifest **out, struct ap_err *err);

/* Validate an in-memory manifest with the same rules as parsing. */
int ap_manifest_validate(const struct ap_manifest *m, enum ap_manifest_kind kind,
			 struct ap_err *err);

/* Emit canonical JSON (fixed key order, 2-space indent, trailing newline).
 * The same manifest always gives the same bytes.  *json is malloc'd. */
int ap_manifest_emit(const struct ap_manifest *m, char **json, size_t *len, struct ap_err *err);


void ap_manifest_free(struct ap_manifest *m);

/* Find a component by name; NULL if none. */
const struct ap_component *ap_manifest_find(const struct ap_manifest *m, const char *name);

/* Remove component i (< m->n_components) from m, keeping the others'
 * order: how a build leaves out an optional component it has no payload
 * for. */
void ap_manifest_remove_component(struct ap_manifest *m, size_t i);

/* True when a release folder's file name belongs to the release:
 * manifest.json, manifest.json.sig, or a component's file. */
bool ap_manifest_names_file(const struct ap_manifest *m, const char *name);

/* Total of all component sizes. */
uint64_t ap_manifest_total_size(const struct ap_manifest *m);

/* "extract", "copy", "run". */
const char *ap_manifest_action_name(enum ap_action a);

/* The path (relative to the prefix) a copy/run component is installed to. */
const char *ap_manifest_component_dest(const struct ap_component *c);

/* A safe single file name: non-empty, at most 255 bytes, no '/', '\\',
 * control characters, not "." or "..". */
bool ap_manifest_safe_name(const char *name);

/* True when name, in any letter case, is one of the names a release folder
 * keeps for itself (manifest.json, manifest.json.sig, index.json,
 * index.json.sig).  The validator refuses such component file names and
 * aliases for every kind of manifest. */
bool ap_manifest_reserved_name(const char *name);

/* A safe relative path: components separated by '/', each a safe name;
 * no leading '/', no empty components, no '\\'.  "" is allowed when
 * allow_empty. */
bool ap_manifest_safe_relpath(const char *path, bool allow_empty);

/* The paths m would create, checked against Windows' rules
 * (airpack/winname.h): prefix, data_dirs, config.path, every component's
 * place (install.to, or the file name of a copy or run component), and
 * copied files Windows sees as the same.  AP_E_UNSAFE "unsafe name for
 * Windows", naming the field.  Archive entries are checked while they are
 * read (struct ap_extract_expect's windows_names). */
int ap_manifest_windows_check(const struct ap_manifest *m, struct ap_err *err);

/* True when m's files must follow Windows' rules where it is installed:
 * always on Windows, elsewhere when its platform names Windows. */
bool ap_manifest_for_windows(const struct ap_manifest *m);

/* Compare versions: numeric dot-separated parts compared as numbers, a
 * "-suffix" sorts before the plain release (1.0.0-rc1 < 1.0.0).
 * Returns <0, 0, >0. */
int ap_manifest_version_cmp(const char *a, const char *b);

/* True for a well-formed version string (as validated in manifests). */
bool ap_manifest_version_valid(const char *v);

#endif
