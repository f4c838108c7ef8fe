/* release.h - open a signed release from wherever it is stored, check its
 * signature, and check its payloads.
 *
 * A release is found at:
 *   - a folder holding manifest.json and manifest.json.sig (an offline folder);
 *   - a manifest file FILE with FILE.sig beside it (payloads beside it too);
 *   - a bundle file (tar or tar.gz);
 *   - a self-extracting setup (an executable with a bundle appended, see sfx.h).
 * Opening parses the manifest as a RELEASE manifest but trusts nothing:
 * callers must call ap_release_check_sig before acting on it.
 */
#ifndef AP_RELEASE_H
#define AP_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/manifest.h"
#include "airpack/root.h"
#include "airpack/sign.h"

enum ap_release_kind {
	AP_RELEASE_DIR,	     /* offline folder */
	AP_RELEASE_MANIFEST, /* manifest file + .sig; payloads in its folder */
	AP_RELEASE_BUNDLE,   /* bundle file */
	AP_RELEASE_SFX,	     /* bundle embedded in a self-extracting setup */
};

struct ap_release {
	enum ap_release_kind kind;
	char *path;	    /* what was opened */
	char *dir;	    /* the folder payloads may sit in (DIR, MANIFEST, and
			       the folder holding a bundle or setup) */
	uint64_t offset;    /* BUNDLE/SFX: where the bundle starts in path */
	uint64_t length;    /* BUNDLE/SFX: its length */
	bool sfx_detached;  /* SFX: carries only the manifest, no payloads */
	char *embedded_pub; /* SFX: the signer's public key PEM, or NULL */
	size_t embedded_pub_len;
	char *manifest_json; /* the exact signed bytes */
	size_t manifest_len;
	unsigned char *sig;
	size_t sig_len;
	char manifest_sha256[AP_SHA256_HEX];
	struct ap_manifest *manifest;
	bool sig_checked;
	struct ap_sigset sigs;	       /* the per-key signatures (manifest.json.sig.<key id>)
				  that travel with the release: read beside an
				  offline folder's or a manifest file's manifest
				  by ap_release_open, or added from a mirror or a
				  registry (ap_release_add_sigs); every folder
				  writer puts them beside the manifest (layout.h) */
	char signer_id[AP_KEY_ID_LEN]; /* set by ap_release_check_sig */
};

/* Open and parse; *out is freed with ap_release_free. */
int ap_release_open(const char *path, struct ap_release **out, struct ap_err *err);

/* Open from manifest and signature bytes (copied) with payloads in dir
 * (may be NULL); used for mirrors. */
int ap_release_from_mem(const char *manifest, size_t mlen, const unsigned char *sig, size_t slen,
			const char *dir, struct ap_release **out, struct ap_err *err);

/* Verify the manifest signature against trust (may be NULL only when
 * insecure).  With insecure, a failure is reported in err but 0 is returned
 * and sig_checked stays false. */
int ap_release_check_sig(struct ap_release *r, const struct ap_sign_trust *trust, bool insecure,
			 struct ap_err *err);

/* Add the signatures of s that name a key id to r->sigs (copied; a plain
 * .sig is r->sig and is not added). */
int ap_release_add_sigs(struct ap_release *r, const struct ap_sigset *s, struct ap_err *err);

/* Verify the manifest against a root of trust's release role: the
 * signatures counted are the release's own (r->sig, its key named by the
 * manifest's key_id), r->sigs, and extra (may be NULL).  Distinct keys are
 * counted against the role's threshold (root.h).  insecure as for
 * ap_release_check_sig. */
int ap_release_check_root(struct ap_release *r, const struct ap_root *root,
			  const struct ap_sigset *extra, bool insecure, struct ap_err *err);

/* What a bundle is, for every reader (verify, install, layout, publish):
 * one definition, applied in one streaming pass.
 *   - its structure (bundle.c): manifest.json and manifest.json.sig first,
 *     then only regular files with safe single names, no second manifest,
 *     not truncated;
 *   - its payload entries are exactly the manifest's components, in
 *     manifest order, each once (a detached setup's bundle holds none).
 * A violation is AP_E_BUNDLE (AP_E_UNSAFE for an unsafe entry), naming the
 * bundle, the entry and what is wrong: the whole bundle is refused, not
 * one component. */
struct ap_bundle_reader;
struct ap_release_entry {
	size_t index;		      /* the component's index in the manifest */
	const struct ap_component *c; /* the component the entry holds */
	uint64_t size;		      /* the entry's size from its header */
	struct ap_bundle_reader *br;  /* read the data with ap_bundle_reader_read */
};
/* Called for each payload entry; it may read the entry's data or leave it
 * (it is then skipped).  A non-zero return stops the walk and is returned. */
typedef int (*ap_release_entry_fn)(void *ctx, const struct ap_release_entry *e, struct ap_err *err);

/* Walk the payload entries of a BUNDLE or (embedded) SFX release, checking
 * the rules above; fn is called for each entry in order.  Returns 0 when
 * the bundle is well formed and fn never failed. */
int ap_release_walk_bundle(const struct ap_release *r, ap_release_entry_fn fn, void *ctx,
			   struct ap_err *err);

/* One payload check, reported to a callback. */
struct ap_payload_check {
	const struct ap_component *c;
	const char *where; /* path or "bundle" */
	bool found;
	bool ok;
	uint64_t size;		    /* found size */
	char sha256[AP_SHA256_HEX]; /* found hash ("" when not hashed) */
	const char *problem;	    /* human text when !ok */
};
typedef void (*ap_payload_check_fn)(void *ctx, const struct ap_payload_check *chk);

/* Check every payload of the release where it is stored (bundle entries in
 * one streaming pass; folder files by file name, then aliases).  Calls fn
 * for every component.  Returns 0 when all hold, AP_E_DIFFERS otherwise. */
int ap_release_check_payloads(const struct ap_release *r, ap_payload_check_fn fn, void *ctx,
			      struct ap_err *err);

void ap_release_free(struct ap_release *r);

#endif
