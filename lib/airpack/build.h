/* build.h - build a signed release from a source manifest and its payloads:
 * a bundle, an offline folder, a self-extracting setup, any of them at once.
 *
 * Each component's file is found in the payload folder by its file name,
 * then its aliases; size, sha256 and (for extract components) the expanded
 * size and file count are filled in, checked against what the source
 * manifest pins.  Every payload byte is read once for its hash: by the
 * bundle writer when a bundle is written (the offline folder's copies are
 * then checked against that hash), else by the offline folder's copy, else
 * by hashing alone (a setup written with --sfx-detached and nothing else).
 * The manifest goes first in a bundle but needs those hashes: its exact
 * length is learnt from a placeholder before the payloads are streamed.
 *
 * Outputs keep their writers' guarantees: the bundle and the setup are
 * written to temporaries and renamed, the offline folder through ap_layout
 * (layout.h).  A setup is written in one pass (sfx.h): its stub, then the
 * bundle streamed straight after it (or, with a bundle file too, copied
 * from the stream that wrote that file), then its trailer.  What a
 * killed earlier run left beside the bundle or setup is removed first.
 * The same inputs, key and mtime give byte-identical outputs.
 */
#ifndef AP_BUILD_H
#define AP_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include "airpack/bundle.h"
#include "airpack/err.h"
#include "airpack/manifest.h"
#include "airpack/progress.h"
#include "airpack/sbom.h"
#include "airpack/sign.h"
#include "airpack/str.h"

struct ap_build_opts {
	const char *source;   /* the source manifest file */
	const char *payloads; /* the folder holding the payload files */
	/* Further folders, searched in order after payloads for a component
	 * it does not hold (NULL-terminated; may be NULL). */
	const char *const *more_payloads;
	const char *key; /* the private signing key (Ed25519 PEM) */
	/* The outputs: at least one is needed (else AP_E_USAGE). */
	const char *bundle; /* bundle file, or NULL */
	const char *layout; /* offline folder, or NULL */
	const char *sfx;    /* self-extracting setup, or NULL */
	/* With sfx: the airpack-setup executable it starts from, refused
	 * (AP_E_USAGE, naming --sfx-stub and both platforms) when its header
	 * says another platform than the manifest's (platform.h).  When NULL,
	 * the first of sfx_stubs (n_sfx_stubs paths; missing ones are skipped)
	 * whose platform matches is used (AP_E_NOTFOUND when none does). */
	const char *sfx_stub;
	const char *const *sfx_stubs;
	size_t n_sfx_stubs;
	bool sfx_detached;	   /* with sfx: the setup carries only the signed manifest */
	bool compress_auto;	   /* gzip only when a sample of the payloads shows it pays */
	enum ap_compress compress; /* without compress_auto */
	int level;		   /* gzip level, 1..9 */
	enum ap_sbom_format sbom;
	bool sbom_no_files; /* the SBOM lists components, not each archived file */
	int64_t mtime;	    /* the time recorded in the bundle's entries and the SBOM (>= 0) */
	const struct ap_progress_ops *progress; /* each payload read; may be NULL */
};

struct ap_build_result {
	struct ap_manifest *manifest; /* the signed release manifest */
	char key_id[AP_KEY_ID_LEN];   /* of the signing key */
	enum ap_compress compress;    /* what the bundle used (compress_auto decided) */
	int level;
	/* What the user should hear about a release that was built all the
	 * same: names unsafe for Windows in a release for another platform
	 * (a Windows release with them is refused, AP_E_UNSAFE). */
	struct ap_strvec warnings;
	/* With sfx: the stub the setup started from and its platform
	 * (NULL when its header is not one platform.h knows). */
	char *sfx_stub;
	const char *sfx_stub_platform;
};

/* Build what o names.  res is written only on success; release it with
 * ap_build_result_release.  Errors name the component, file or option:
 * AP_E_NOTFOUND for a payload or stub that is not there, AP_E_DIGEST when
 * a payload differs from a pinned size, hash or expansion (or changed
 * while it was read), AP_E_MANIFEST for the source manifest, the key's,
 * the writers' and the file system's errors as they come; AP_E_INPUT for a
 * release manifest that would exceed AP_MANIFEST_MAX (what every reader
 * accepts), found before anything is written. */
int ap_build(const struct ap_build_opts *o, struct ap_build_result *res, struct ap_err *err);

void ap_build_result_release(struct ap_build_result *res);

#endif
