/* mirror.h - the signed index of a mirror tree.
 *
 * A mirror tree is plain static files, so any web server, object store or
 * CDN serves it (docs/mirrors.md):
 *
 *   MIRROR/index.json            the releases of one product (this model)
 *   MIRROR/index.json.sig        raw signature over the exact index bytes
 *   MIRROR/<version>/            one offline folder per release:
 *                                manifest.json, manifest.json.sig, payloads
 *
 * index.json:
 *   { "format": "airpack-index/1", "product": "...", "key_id": "...",
 *     "version": 7, "expires": "2026-12-19T00:00:00Z", "min_version": "1.0.0",
 *     "releases": [ { "version": "1.0.0", "channel": "lts",
 *                     "manifest_sha256": "...", "manifest_size": 2345,
 *                     "size": 123 }, ... ] }
 * releases are sorted by version (ap_manifest_version_cmp), each version once;
 * channel may be absent; size is the total of the release's payload bytes.
 * version (the index's own, raised at every publish), expires, min_version
 * (the signed floor, docs/trust.md) and manifest_size (the manifest's
 * length, pinned with its sha256) may be absent in indexes written before
 * them; a device holding a root of trust requires version, expires and
 * manifest_size.
 * Parse errors name the JSON path, e.g. "releases[1].manifest_sha256:
 * expected 64 lowercase hex digits, got 63".  Emitting is canonical (fixed
 * key order, 2-space indent, trailing newline): the same index gives the
 * same bytes, so a signature over them is reproducible.
 */
#ifndef AP_MIRROR_H
#define AP_MIRROR_H

#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/digest.h"

#define AP_INDEX_FORMAT "airpack-index/1"
#define AP_INDEX_FILE "index.json"
#define AP_INDEX_SIG "index.json.sig"
#define AP_INDEX_MAX (4u << 20) /* largest index accepted */

struct ap_mirror_release {
	char *version;			     /* a valid version (ap_manifest_version_valid) */
	char *channel;			     /* a safe name, or NULL */
	char manifest_sha256[AP_SHA256_HEX]; /* of the release's manifest.json bytes */
	uint64_t size;			     /* total payload bytes */
	uint64_t manifest_size;		     /* manifest.json's length; 0: not pinned */
};

struct ap_mirror_index {
	char *product;	   /* a safe name */
	char *key_id;	   /* 16 lowercase hex digits: the key that signs the index */
	int64_t version;   /* the index's version (>= 1); 0: absent */
	int64_t expires;   /* seconds since the epoch; 0: absent (never) */
	char *min_version; /* the signed floor; NULL: none */
	struct ap_mirror_release *releases; /* ascending by version, unique */
	size_t n_releases;
};

/* A new index with no releases (strings copied).  product must be a safe
 * name and key_id 16 lowercase hex digits (else AP_E_USAGE). */
int ap_mirror_index_new(const char *product, const char *key_id, struct ap_mirror_index **out,
			struct ap_err *err);

/* Parse and validate index JSON (need not be NUL-terminated).  Unknown or
 * duplicate fields, a duplicate version and any invalid value are
 * AP_E_MANIFEST naming the JSON path.  Releases come out sorted.  *out is
 * freed with ap_mirror_index_free. */
int ap_mirror_index_parse(const char *json, size_t len, struct ap_mirror_index **out,
			  struct ap_err *err);

/* Emit canonical JSON.  *json is malloc'd and NUL-terminated (*len excludes
 * the NUL). */
int ap_mirror_index_emit(const struct ap_mirror_index *ix, char **json, size_t *len,
			 struct ap_err *err);

/* Add a release, or replace the one with the same version; keeps the
 * releases sorted.  channel may be NULL.  Values are checked as parsing
 * checks them (AP_E_USAGE). */
int ap_mirror_index_put(struct ap_mirror_index *ix, const char *version, const char *channel,
			const char *manifest_sha256, uint64_t size, struct ap_err *err);

/* Pin the manifest length of an entry put before (0 unpins). */
void ap_mirror_index_set_manifest_size(struct ap_mirror_index *ix, const char *version,
				       uint64_t manifest_size);

/* Set the floor (a valid version, or NULL for none): AP_E_USAGE otherwise. */
int ap_mirror_index_set_floor(struct ap_mirror_index *ix, const char *min_version,
			      struct ap_err *err);

/* The release with exactly this version, or NULL. */
const struct ap_mirror_release *ap_mirror_index_find(const struct ap_mirror_index *ix,
						     const char *version);

/* Resolve what the user asked for: version is a version or "latest" (the
 * highest version, within channel when channel is not NULL); with a
 * concrete version and a channel, the release must be in that channel.
 * *out points into ix.  AP_E_NOTFOUND names what was looked for and what
 * the index holds. */
int ap_mirror_resolve(const struct ap_mirror_index *ix, const char *version, const char *channel,
		      const struct ap_mirror_release **out, struct ap_err *err);

void ap_mirror_index_free(struct ap_mirror_index *ix);

#endif
