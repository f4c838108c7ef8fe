/* oci.h - airpack releases in OCI registries (the distribution API).
 *
 * A release is stored as one OCI image manifest (docs/mirrors.md, "OCI
 * registries"): artifactType AP_OCI_ARTIFACT_TYPE, the empty config, then
 * the layers manifest.json, manifest.json.sig and one layer per distinct
 * payload, each named by an org.opencontainers.image.title annotation.
 * Tags: the version, and channel tags moved on every publish.
 *
 * The registry is never trusted: a tag and a digest only say where bytes
 * are.  What was pulled is a signed manifest the caller verifies like any
 * other, and payload blobs are fetched through fetch.h, held to the signed
 * size and sha256.
 *
 * Auth as registries do it: anonymous, Basic, or a Bearer token from the
 * realm a WWW-Authenticate challenge names, with credentials from a docker
 * config file ({"auths": {"HOST[:PORT]": {"auth": base64(user:pass)}}}).
 * Credentials and tokens are never put in a message or a URL.
 */
#ifndef AP_OCI_H
#define AP_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/progress.h"
#include "airpack/release.h"
#include "airpack/root.h"

#define AP_OCI_ARTIFACT_TYPE "application/vnd.airpack.release.v1+json"
#define AP_OCI_MT_MANIFEST "application/vnd.airpack.manifest.v1+json"
#define AP_OCI_MT_SIGNATURE "application/vnd.airpack.signature.v1"
#define AP_OCI_MT_PAYLOAD "application/vnd.airpack.payload.v1"
#define AP_OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define AP_OCI_MT_IMAGE "application/vnd.oci.image.manifest.v1+json"
#define AP_OCI_SCHEME "oci://"
#define AP_OCI_MANIFEST_MAX (4u << 20) /* largest OCI manifest read */

struct ap_oci_opts {
	bool plain_http;	/* http:// instead of https:// (--insecure-registry) */
	const char *cacert;	/* extra CA bundle; NULL: the system's */
	const char *proxy;	/* NULL: libcurl's environment variables */
	const char *auth_file;	/* docker config.json style credentials; NULL: the
				   first of $DOCKER_CONFIG/config.json and
				   $HOME/.docker/config.json that exists */
	bool push;		/* ask for push rights as well as pull */
	const char *mount_from; /* push: a repository of the same registry whose
				   blobs are mounted rather than uploaded
				   (cross-repository mount); NULL: none */
};

struct ap_oci; /* a client for one repository of one registry */

/* Parse REF ("[oci://]HOST[:PORT]/REPO[:TAG]"), read the credentials, and
 * ask the registry how it wants to be authenticated (GET /v2/).  *out is
 * freed with ap_oci_free.  Errors: AP_E_USAGE (a malformed reference or
 * credentials file), AP_E_AUTH (credentials missing or refused), AP_E_FETCH
 * (the registry cannot be reached). */
int ap_oci_open(const char *ref, const struct ap_oci_opts *o, struct ap_oci **out,
		struct ap_err *err);
void ap_oci_free(struct ap_oci *c);

/* "HOST[:PORT]/REPO", and the tag the reference named (NULL when none). */
const char *ap_oci_name(const struct ap_oci *c);
const char *ap_oci_ref_tag(const struct ap_oci *c);

/* The base of the repository's blob URLs: base + "sha256:<hex>" is a blob. */
const char *ap_oci_blob_base(const struct ap_oci *c);

/* The request header the registry wants ("Authorization: ..."), or NULL
 * when anonymous.  A secret: for ap_fetch_opts.header only. */
const char *ap_oci_auth_header(const struct ap_oci *c);

/* True for "tag" names the registry accepts ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool ap_oci_tag_valid(const char *tag);

struct ap_oci_push_result {
	size_t uploaded; /* blobs uploaded */
	size_t existed;	 /* blobs the registry already held */
	size_t mounted;	 /* blobs mounted from mount_from */
	uint64_t bytes_uploaded;
	char digest[80]; /* "sha256:..." of the OCI manifest */
};

/* Push release r (checked by the caller) and point every tag at it.  The
 * manifest.json.sig.<key id> files beside an offline folder's or a manifest
 * file's manifest are pushed as signature layers too.
 * Every blob is looked up first (HEAD) and uploaded only when missing, its
 * bytes hashed while sent and held to the signed manifest.  Errors name the
 * blob or tag; AP_E_AUTH when the registry refuses us. */
int ap_oci_push(struct ap_oci *c, const struct ap_release *r, const char *const *tags,
		size_t n_tags, const struct ap_progress_ops *progress,
		struct ap_oci_push_result *res, struct ap_err *err);

/* What a tag points at: the release's manifest.json and manifest.json.sig
 * bytes (malloc'd), the other signatures (manifest.json.sig.<key id>
 * layers, at most AP_SIGSET_MAX, for a root of trust's threshold), and the
 * OCI manifest's digest. */
struct ap_oci_pulled {
	char *manifest;
	size_t manifest_len;
	unsigned char *sig;
	size_t sig_len;
	struct ap_sigset extra;
	char digest[80];
};

/* Resolve tag and fetch what it points at.  Errors: AP_E_NOTFOUND (no such
 * tag), AP_E_MANIFEST (not an airpack release), AP_E_DIGEST (a blob that is
 * not the bytes its digest names), AP_E_AUTH, AP_E_FETCH. */
int ap_oci_pull(struct ap_oci *c, const char *tag, struct ap_oci_pulled *out, struct ap_err *err);
void ap_oci_pulled_release(struct ap_oci_pulled *p);

/* The repository's tags (*tags: n malloc'd strings in a malloc'd array,
 * freed by ap_oci_tags_free). */
int ap_oci_tags(struct ap_oci *c, char ***tags, size_t *n, struct ap_err *err);
void ap_oci_tags_free(char **tags, size_t n);

#endif
