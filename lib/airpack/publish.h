/* publish.h - add a signed release to a mirror tree and re-sign its index
 * (the tree: mirror.h and docs/mirrors.md).
 *
 * The release (a bundle, a self-extracting setup, an offline folder or a
 * manifest file) must be signed by the key that publishes it.  Under the
 * mirror's lock (MIRROR/.airpack-publish.lock: one publisher at a time),
 * its payloads are copied into MIRROR/<version>/ through the offline-folder
 * writer (layout.h: each hash-checked while copied, one already there and
 * whole kept, the manifest last), then index.json and index.json.sig are
 * rewritten: both written and fsynced under temporary names, the signature
 * renamed into place first, then the index.  An index whose bytes do not
 * change, with a signature that verifies, is left alone.
 *
 * A published version is immutable: another manifest for it (in the index
 * or the folder) is refused unless force; an index signed by another key,
 * or one whose signature does not verify, is refused unless force (which
 * re-signs it with this key).  A mirror holds one product.
 */
#ifndef AP_PUBLISH_H
#define AP_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/err.h"
#include "airpack/oci.h"
#include "airpack/progress.h"
#include "airpack/release.h"
#include "airpack/sign.h"

/* The index's default validity: re-signed weekly from CI (docs/trust.md).
 * Whenever the index changes, or refresh, it gets the next version and a
 * fresh expiry; each release's manifest length is pinned beside its sha256. */
#define AP_PUBLISH_INDEX_DAYS 14

struct ap_publish_opts {
	const char *mirror;	 /* the mirror tree's folder (created when missing) */
	const char *source;	 /* the release: bundle, setup, offline folder, manifest */
	const char *key;	 /* the private signing key (Ed25519 PEM) */
	const char *index_key;	 /* signs the index (the index role of a root of
				    trust, docs/trust.md); NULL: key */
	int expires_days;	 /* the index expires this many days from now;
				    0: AP_PUBLISH_INDEX_DAYS */
	bool refresh;		 /* a new index version and expiry even when
				    nothing else changed (expires_days given) */
	const char *min_version; /* the signed floor to set, or NULL */
	bool force;		 /* replace a version, re-sign another key's index */
	const struct ap_progress_ops *progress; /* each payload copied; may be NULL */
};

struct ap_publish_result {
	struct ap_release *release; /* what was published */
	char *folder;		    /* MIRROR/<version> */
	char key_id[AP_KEY_ID_LEN]; /* of the key that signs the index */
	size_t copied;		    /* payloads copied into the folder */
	size_t kept;		    /* payloads already there */
	size_t removed;		    /* files the new manifest does not name */
	bool index_written;	    /* index.json and its signature were rewritten */
	bool unchanged;		    /* the release was already published as it is */
	size_t n_releases;	    /* in the index now */
};

/* Publish o->source into o->mirror.  res is written only on success; release
 * it with ap_publish_result_release.  Errors: AP_E_SIGNATURE /
 * AP_E_UNTRUSTED when the key did not sign the release ("refusing to
 * publish with key ..."), AP_E_USAGE for a mirror of another product or a
 * mirror path that is a file, AP_E_EXISTS for a published version with
 * another manifest, AP_E_UNTRUSTED for an index signed by another key, the
 * release's, the writer's and the file system's errors as they come; each
 * names the file or component. */
int ap_publish(const struct ap_publish_opts *o, struct ap_publish_result *res, struct ap_err *err);

void ap_publish_result_release(struct ap_publish_result *res);

/* Publishing into an OCI registry (oci.h, docs/mirrors.md): the release,
 * checked to be signed by key, pushed to ref ("HOST[:PORT]/REPO[:TAG]"),
 * tagged with its version, its channel (when it has one), ref's tag and
 * every extra tag.  Shared payloads are uploaded once: the registry is
 * asked first. */
#define AP_PUBLISH_TAGS_MAX 16

struct ap_publish_oci_opts {
	const char *ref;
	const char *source;	 /* bundle, setup, offline folder, manifest */
	const char *key;	 /* the private key that signed the release */
	const char *const *tags; /* extra tags (channels such as latest) */
	size_t n_tags;
	struct ap_oci_opts oci;
	const struct ap_progress_ops *progress; /* each blob uploaded; may be NULL */
};

struct ap_publish_oci_result {
	struct ap_release *release;
	char *name; /* HOST[:PORT]/REPO */
	char key_id[AP_KEY_ID_LEN];
	char *tags[AP_PUBLISH_TAGS_MAX + 3]; /* the tags pushed (owned) */
	size_t n_tags;
	struct ap_oci_push_result push;
};

/* Errors: as ap_publish's for the release and key; AP_E_USAGE for a
 * version or tag a registry cannot take; oci.h's for the registry. */
int ap_publish_oci(const struct ap_publish_oci_opts *o, struct ap_publish_oci_result *res,
		   struct ap_err *err);
void ap_publish_oci_result_release(struct ap_publish_oci_result *res);

#endif
