/* layout.h - the one writer of offline folders (a layout, a mirror's
 * version folder): manifest.json, manifest.json.sig and the payloads side
 * by side.
 *
 * The folder's signed manifest is its claim to be complete, so the writer
 * keeps one order whatever fails or is killed:
 *   1. open: remove the temporaries a killed writer left (NAME.tmp-XXXXXX),
 *      then, unless the folder already holds exactly the manifest being
 *      written, remove manifest.json, then manifest.json.sig, and fsync
 *      the folder: from here on no old signed manifest stands beside the
 *      payloads about to change;
 *   2. payloads: each streamed through a sink (hashed in the read that
 *      writes it, checked, fsynced, renamed into place);
 *   3. commit: the signature, then the manifest, each atomically, last.
 * A run that stops anywhere before 3 leaves a folder with no manifest,
 * which every reader treats as "not a release"; a rerun finishes it.
 * Temporaries are removed on open: give one folder one writer at a time
 * (publish holds its mirror lock; build and layout are the user's runs).
 */
#ifndef AP_LAYOUT_H
#define AP_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/digest.h"
#include "airpack/err.h"
#include "airpack/manifest.h"
#include "airpack/sink.h"
#include "airpack/source.h"

struct ap_layout;

/* Open folder dir (created with its parents when missing) for writing a
 * release, doing step 1 above.  keep_json (may be NULL): the exact signed
 * manifest bytes about to be written, when already known; a folder whose
 * manifest.json holds exactly those bytes keeps it (the payloads written
 * are then the ones it describes).  *out is freed with ap_layout_free. */
int ap_layout_open(const char *dir, const char *keep_json, size_t keep_len, struct ap_layout **out,
		   struct ap_err *err);

/* The folder's path (owned by l). */
const char *ap_layout_dir(const struct ap_layout *l);
/* True when open found the same manifest and kept it. */
bool ap_layout_kept_manifest(const struct ap_layout *l);
/* How many temporaries open removed. */
size_t ap_layout_temps_removed(const struct ap_layout *l);

/* Start payload `name` (a safe single file name that is not reserved, see
 * ap_manifest_reserved_name) through sink s, with expectation x (may be
 * NULL; x's strings must outlive the sink).  Finish it with
 * ap_sink_commit / ap_sink_abort. */
int ap_layout_sink_open(struct ap_layout *l, const char *name, const struct ap_sink_expect *x,
			struct ap_sink *s, struct ap_err *err);

/* Copy file src into the folder as payload `name` through a sink
 * (ap_sink_copy_file); hex (may be NULL) gets its sha256. */
int ap_layout_copy_file(struct ap_layout *l, const char *name, const char *src,
			const struct ap_sink_expect *x, void (*progress)(void *ctx, uint64_t done),
			void *ctx, char hex[AP_SHA256_HEX], struct ap_err *err);

/* True when the folder's file `name` is a regular file of exactly size
 * bytes whose sha256 is sha256 (one read). */
bool ap_layout_has(const struct ap_layout *l, const char *name, uint64_t size, const char *sha256);

/* Remove every regular file of the folder that m does not name (file or
 * alias) and that is not the folder's manifest or signature.  on_removed
 * (may be NULL) is called with each name removed; *removed (may be NULL)
 * gets the count. */
int ap_layout_clean(struct ap_layout *l, const struct ap_manifest *m,
		    void (*on_removed)(void *ctx, const char *name), void *ctx, size_t *removed,
		    struct ap_err *err);

/* Step 3: write the signature, the per-key signatures of sigs (may be
 * NULL; manifest.json.sig.<key id>, root.h), then the manifest, each
 * atomically (after every payload is in place). */
struct ap_sigset;
int ap_layout_commit(struct ap_layout *l, const char *json, size_t jlen, const unsigned char *sig,
		     size_t slen, const struct ap_sigset *sigs, struct ap_err *err);
/* Only the per-key signatures, beside a manifest the folder keeps: a
 * signature added to a release after it was laid out joins it. */
int ap_layout_put_sigs(struct ap_layout *l, const struct ap_sigset *sigs, struct ap_err *err);

/* ---- a release's offline folder, from a source plan (setup layout) ---- */

/* Report of one file a folder lacks: its name, and why (the plan's
 * reason; NULL for the manifest, which is missing or different). */
typedef void (*ap_layout_bad_fn)(void *ctx, const char *file, const char *why);

/* Check that folder dir holds release r completely: every item of plan p
 * (made with dir as the only offline folder, and offline) is dir's own file
 * by its file name, and dir's manifest.json is r's exact signed bytes.
 * on_bad (may be NULL) is called for each file that is not; *bad (may be
 * NULL) gets their count.  AP_E_DIFFERS "layout 'DIR': N files missing or
 * invalid: run with --fix to repair" when any is. */
int ap_layout_check(const char *dir, const struct ap_release *r, const struct ap_source_plan *p,
		    ap_layout_bad_fn on_bad, void *ctx, size_t *bad, struct ap_err *err);

/* Write or repair folder dir so that it holds release r (signature
 * checked by the caller): the writer opens it (another manifest goes first),
 * every LOCAL item of plan p found elsewhere is copied in and checked again
 * while copied, the rest is unpacked or downloaded into dir (ap_source_fetch
 * with src, work_dir dir, mode 0644), with clean the files r does not name
 * go, and the signature and manifest go in last.  p is planned by the
 * caller with dir as an offline folder and cache (so what dir holds is
 * kept).  The options are read, never changed. */
struct ap_layout_fill {
	const char *dir;
	const struct ap_release *r;
	struct ap_source_plan *plan;	  /* fetched into dir */
	const struct ap_source_opts *src; /* how the plan fetches */
	bool clean;
	/* Each payload copied from another folder, and each file clean
	 * removed (may be NULL). */
	void (*on_copied)(void *ctx, const char *file, const char *from);
	void (*on_removed)(void *ctx, const char *name);
	void *ctx;
};
/* *copied and *removed (may be NULL) get the counts. */
int ap_layout_fill(const struct ap_layout_fill *f, size_t *copied, size_t *removed,
		   struct ap_err *err);

/* Release l (the folder stays as it is).  NULL is a no-op. */
void ap_layout_free(struct ap_layout *l);

#endif
