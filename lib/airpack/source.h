/* source.h - where each component of a release comes from.
 *
 * Offline first: each component is looked up in the offline folders, in
 * order (the release's own folder first), by file name then aliases, and a
 * candidate counts only when its size and then its SHA-256 match (an
 * install takes it on its size and hashes it in the read that installs it:
 * ap_source_opts.defer_local_hash, ap_source_retry).  A
 * component still missing is taken from the bundle when the release is one,
 * else downloaded: from each mirror (URL/FILE) in order, then from the
 * manifest's urls.  With every component local, no network call is made.
 */
#ifndef AP_SOURCE_H
#define AP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/fetch.h"
#include "airpack/release.h"
#include "airpack/str.h"

enum ap_source_kind {
	AP_SOURCE_LOCAL,    /* a verified file in an offline folder or the cache */
	AP_SOURCE_BUNDLE,   /* inside the release's bundle or setup */
	AP_SOURCE_DOWNLOAD, /* to be downloaded */
	AP_SOURCE_MISSING,  /* nowhere: no local copy and no URL (or --offline) */
	AP_SOURCE_SKIPPED,  /* an optional component that is nowhere (or whose
			       downloads failed): not installed, not an error */
};

/* One look at a candidate, for reports and --json audit events. */
struct ap_source_check {
	const struct ap_component *c;
	const char *source;  /* a path, "bundle", or a URL */
	const char *verdict; /* "ok", "found" (size matches, not hashed:
				defer_local_hash), "missing", "size-mismatch",
				"sha256-mismatch", "unreadable", "downloaded",
				"download-failed" */
	uint64_t size;	     /* found size (0 when missing) */
	const char *sha256;  /* found hash, "" when not hashed */
	const char *detail;  /* human text */
};
typedef void (*ap_source_check_fn)(void *ctx, const struct ap_source_check *chk);

/* A download's progress, for the programs to show (ui.h draws it). */
enum ap_source_dl_phase {
	AP_SOURCE_DL_START,    /* a url is being tried (have: bytes resumed, else 0) */
	AP_SOURCE_DL_PROGRESS, /* have of total bytes are in the file */
	AP_SOURCE_DL_DONE,     /* finished: rc 0 (verified, in the cache) or not */
};
struct ap_source_dl {
	enum ap_source_dl_phase phase;
	const struct ap_component *c;
	const char *url;
	uint64_t have;
	uint64_t total;
	int rc;
};
typedef void (*ap_source_dl_fn)(void *ctx, const struct ap_source_dl *dl);

struct ap_source_opts {
	const char *const *offline_dirs; /* searched in order */
	size_t n_offline_dirs;
	const char *const *mirrors; /* base URLs holding FILE flat */
	size_t n_mirrors;
	const char *blob_base; /* a content-addressed store (an OCI
					    registry's blobs, oci.h): base +
					    "sha256:" + the component's sha256,
					    tried before the mirrors; NULL: none */
	const char *cache_dir; /* where downloads and bundle payloads go,
					    and a folder searched (by name, size and
					    sha256) after the offline folders; NULL:
					    none (a download is then an error).  Never
					    chosen among offline_dirs by itself */
	const char *work_dir;  /* where bundle payloads are unpacked; NULL:
					    cache_dir.  The caller removes it after use */
	unsigned work_mode;    /* mode of payloads unpacked from a bundle;
					    0: 0600 (a private work folder).  An
					    offline folder's writer asks 0644 */
	bool windows_names;    /* match local file names as Windows does
					    (letter case ignored): a release for
					    Windows (ap_manifest_for_windows) */
	bool offline;	       /* no network at all */
	bool defer_local_hash; /* a local candidate (offline folder, cache) is
				  taken when it opens as a regular file of the
				  signed size, without reading it: for a caller
				  whose next read of it hashes and checks every
				  byte (an install's staging), and calls
				  ap_source_retry when they differ.  false: each
				  candidate is hashed here (plan, layout) */
	const struct ap_fetch_opts *fetch;
	ap_source_check_fn on_check; /* may be NULL */
	void *ctx;
	ap_source_dl_fn on_download; /* may be NULL: o->fetch's progress then */
	int parallel;		     /* files downloaded at once, 1..64;
					       0: AP_FETCH_PARALLEL_DEFAULT */
	/* hashing progress (may be NULL): label, done, total */
	void (*on_hash)(void *ctx, const char *label, uint64_t done, uint64_t total);
};

struct ap_source_item {
	const struct ap_component *c;
	enum ap_source_kind kind;
	char *path;  /* LOCAL: the verified file; after ap_source_fetch also the
			 downloaded or unpacked file */
	char **urls; /* DOWNLOAD: candidates in order */
	size_t n_urls;
	char *why;		   /* one line: where from and why */
	bool fetched;		   /* the file at path was produced by ap_source_fetch */
	bool unchecked;		   /* LOCAL, taken on its size (defer_local_hash):
				      its sha256 is still to be checked */
	struct ap_strvec rejected; /* local files an install found wrong
				      (ap_source_retry): never taken again */
};

struct ap_source_plan {
	struct ap_source_item *items;
	size_t n_items;
	uint64_t download_bytes; /* total of DOWNLOAD items */
	uint64_t bundle_bytes;
	size_t n_missing; /* MISSING items (optional ones are SKIPPED) */
	size_t n_skipped;
	char *cache_dir; /* resolved cache folder (may be NULL) */
};

/* Decide a source for every component.  Local candidates are opened once
 * and their size checked on that open file, then hashed through it unless
 * o->defer_local_hash.  *out is freed with ap_source_plan_free. */
int ap_source_plan(const struct ap_release *r, const struct ap_source_opts *o,
		   struct ap_source_plan **out, struct ap_err *err);

/* Make every component available as a verified local file: unpack BUNDLE
 * items into the cache (hashing on the way), download DOWNLOAD items into
 * the cache; an optional component whose every download failed becomes
 * SKIPPED (its why says what failed) instead of an error.  MISSING items, or --offline with anything to download, give
 * AP_E_OFFLINE naming each missing component with its file, size, sha256
 * and a URL to fetch it from.  Up to o->parallel components download at
 * once (ap_fetch_many), each from its urls in order; one failing does not
 * stop the others, whose verified files stay in the cache, and the first
 * failed required component (in manifest order) is the error, naming it.
 * Progress goes through o->on_download (else o->fetch's). */
int ap_source_fetch(const struct ap_release *r, struct ap_source_plan *p,
		    const struct ap_source_opts *o, struct ap_err *err);

/* Component c's unchecked local file (ap_source_item.unchecked) was read to
 * install it and is not what the manifest says (why: that read's error,
 * naming the file).  The file is rejected and c planned again past it,
 * exactly as when the plan itself finds a mismatch: the next offline folder,
 * the cache, the bundle, then a download (fetched here, like
 * ap_source_fetch); the caller then installs again.  Returns 0 when c has a
 * new source (or, optional and nowhere else, is SKIPPED); why's code and
 * text when there is none, or when c's item was not an unchecked local file
 * (the error was not the plan's to mend); AP_E_FETCH and the like when the
 * download fails. */
int ap_source_retry(const struct ap_release *r, struct ap_source_plan *p,
		    const struct ap_source_opts *o, const struct ap_component *c,
		    const struct ap_err *why, struct ap_err *err);

/* The item of a component (NULL if none). */
const struct ap_source_item *ap_source_find(const struct ap_source_plan *p,
					    const struct ap_component *c);

void ap_source_plan_free(struct ap_source_plan *p);

#endif
