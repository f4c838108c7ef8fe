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
#include "airpack/sign.h"

enum ap_release_kind {
	AP_RELEASE_DIR,      /* offline folder */
	AP_RELEASE_MANIFEST, /* manifest file + .sig; payloads in its folder */
	AP_RELEASE_BUNDLE,   /* bundle file */
	AP_RELEASE_SFX,      /* bundle embedded in a self-extracting setup */
};

struct ap_release {
	enum ap_release_kind kind;
	char *path;         /* what was opened */
	char *dir;          /* the folder payloads may sit in (DIR, MANIFEST, and
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
	char signer_id[AP_KEY_ID_LEN]; /* set by ap_release_check_sig */
};

/* Open and parse; *out is freed with ap_release_free. */
int ap_release_open(const char *path, struct ap_release **out, struct ap_err *err);

/* Open from manifest and signature bytes (copied) with payloads in dir
 * (may be NULL); used for mirrors. */
int ap_release_from_mem(const char *manifest, size_t mlen, const unsigned char *sig,
			size_t slen, const char *dir, struct ap_release **out, struct ap_err *err);

/* Verify the manifest signature against trust (may be NULL only when
 * insecure).  With insecure, a failure is reported in err but 0 is returned
 * and sig_checked stays false. */
int ap_release_check_sig(struct ap_release *r, const struct ap_trust *trust, bool insecure,
			 struct ap_err *err);

/* One payload check, reported to a callback. */
struct ap_payload_check {
	const struct ap_component *c;
	const char *where;      /* path or "bundle" */
	bool found;
	bool ok;
	uint64_t size;          /* found size */
	char sha256[AP_SHA256_HEX]; /* found hash ("" when not hashed) */
	const char *problem;    /* human text when !ok */
};
typedef void (*ap_payload_check_fn)(void *ctx, const struct ap_payload_check *chk);

/* Check every payload of the release where it is stored (bundle entries in
 * one streaming pass; folder files by file name, then aliases).  Calls fn
 * for every component.  Returns 0 when all hold, AP_E_DIFFERS otherwise. */
int ap_release_check_payloads(const struct ap_release *r, ap_payload_check_fn fn, void *ctx,
			      struct ap_err *err);

void ap_release_free(struct ap_release *r);

#endif
