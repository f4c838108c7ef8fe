/* mirror.c - releases from mirror trees: fetch and verify the signed index,
 * resolve --version/--channel, fetch the release's manifest and hold it to
 * the index's hash (docs/mirrors.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_config.h"
#include "setup.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/oci.h"
#include "airpack/root.h"
#include "airpack/banned.h"

/* A reader racing a publisher can fetch a new index with the old
 * signature (or the reverse): a pair that does not verify is fetched again
 * this many times before it counts as a bad signature. */
#define INDEX_ATTEMPTS 3

bool setup_mirror_tree(const struct setup_opts *o)
{
	return o->version && o->n_mirrors > 0 && !o->bundle && !o->from && !o->manifest;
}

void setup_index_release(struct setup_index *si)
{
	ap_mirror_index_free(si->ix);
	free(si->url);
	memset(si, 0, sizeof(*si));
}

/* Fetch base/name into memory; errors name the URL. */
static int fetch_doc(const struct ap_fetch_opts *fo, const char *base, const char *name, size_t max,
		     char **url_out, char **buf, size_t *len, struct ap_err *err)
{
	char *url = ap_fetch_url_join(base, name);
	int rc;

	if (!url)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fetch_mem(fo, url, max, buf, len, err);
	if (rc == 0 && url_out) {
		*url_out = url;
		return 0;
	}
	free(url);
	return rc;
}

static bool url_online(const char *url)
{
	return strncmp(url, "file:", 5) != 0;
}

/* base/name.sig.<id> for every key id of role in root: those found join
 * sigs (a missing one is no error: the threshold decides). */
static int fetch_sigs(const struct ap_fetch_opts *fo, const char *base, const char *name,
		      const struct ap_root *root, enum ap_role role, struct ap_sigset *sigs,
		      struct ap_err *err)
{
	const struct ap_root_role *ro = &root->roles[role];
	int rc = 0;

	for (size_t i = 0; i < ro->n_keys && rc == 0; i++) {
		char sname[512];
		char *buf = NULL;
		size_t len = 0;

		snprintf(sname, sizeof(sname), "%s.sig.%s", name, root->keys[ro->keys[i]].id);
		rc = fetch_doc(fo, base, sname, AP_SIG_MAX, NULL, &buf, &len, err);
		if (rc == AP_E_NOTFOUND) {
			ap_err_clear(err);
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = ap_root_sigset_add(sigs, root->keys[ro->keys[i]].id, buf, len, err);
		free(buf);
	}
	return rc;
}

/* Root N+1 from MIRROR/roots/: the file (capped), then the signatures of
 * the current root's root keys and of its own (read from it unverified:
 * ap_root_next decides). */
struct root_fetch {
	const struct ap_fetch_opts *fo;
	const char *mirror;
	const struct ap_freshness_root *fr;
};

static int get_root(void *ctx, int64_t version, char **json, size_t *len, struct ap_sigset *sigs,
		    struct ap_err *err)
{
	struct root_fetch *rf = ctx;
	struct ap_root *next = NULL;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "roots/%lld.root.json", (long long)version);
	rc = fetch_doc(rf->fo, rf->mirror, name, AP_ROOT_MAX, NULL, json, len, err);
	if (rc)
		return rc;
	rc = fetch_sigs(rf->fo, rf->mirror, name, rf->fr->root, AP_ROLE_ROOT, sigs, err);
	if (rc == 0 && ap_root_parse(*json, *len, &next, NULL) == 0)
		rc = fetch_sigs(rf->fo, rf->mirror, name, next, AP_ROLE_ROOT, sigs, err);
	ap_root_free(next);
	if (rc) {
		free(*json);
		*json = NULL;
	}
	return rc;
}

/* With a root of trust: walk the mirror's chain, then hold the index to
 * the index role's threshold, its version and its expiry. */
static int check_index_rooted(struct setup_opts *o, const struct ap_fetch_opts *fo,
			      const char *mirror, const char *url, const char *buf, size_t len,
			      struct setup_index *si, struct ap_err *err)
{
	struct ap_sigset sigs = AP_SIGSET_INIT;
	struct root_fetch rf = { fo, mirror, &o->fresh };
	char what[AP_ERR_MSG_MAX / 2];
	char *plain = NULL;
	size_t plen = 0;
	int rc;

	rc = ap_freshness_walk(&o->fresh, get_root, &rf, err);
	if (rc) {
		ap_err_prefix(err, "mirror '%s'", mirror);
		return rc;
	}
	snprintf(what, sizeof(what), "the root of trust (version %lld)",
		 (long long)o->fresh.root->version);
	rc = setup_expiry(o, o->fresh.root->expires, url_online(url), what, err);
	if (rc)
		return rc;
	rc = fetch_doc(fo, mirror, AP_INDEX_SIG, AP_SIG_MAX, NULL, &plain, &plen, err);
	if (rc == AP_E_NOTFOUND) {
		ap_err_clear(err);
		rc = 0;
	} else if (rc == 0) {
		rc = ap_root_sigset_add(&sigs, si->ix->key_id, plain, plen, err);
	}
	if (rc == 0)
		rc = fetch_sigs(fo, mirror, AP_INDEX_FILE, o->fresh.root, AP_ROLE_INDEX, &sigs,
				err);
	snprintf(what, sizeof(what), "mirror index '%s'", url);
	if (rc == 0)
		rc = ap_root_verify(o->fresh.root, AP_ROLE_INDEX, what, buf, len, &sigs,
				    si->signer_id, NULL, err);
	if (rc == 0 && (si->ix->version == 0 || si->ix->expires == 0))
		rc = ap_err_set(err, AP_E_MANIFEST,
				"%s has no version or no expires: a device holding a root of trust "
				"needs both (republish it with this airpack)",
				what);
	if (rc == 0)
		rc = setup_expiry(o, si->ix->expires, url_online(url), what, err);
	if (rc == 0) {
		o->index_version = si->ix->version;
		if (si->ix->min_version &&
		    (!o->floor[0] || ap_manifest_version_cmp(si->ix->min_version, o->floor) > 0))
			snprintf(o->floor, sizeof(o->floor), "%s", si->ix->min_version);
	}
	free(plain);
	ap_root_sigset_release(&sigs);
	return rc;
}

/* One try at one mirror: index.json and its signature, parsed and
 * checked.  AP_E_NOTFOUND/AP_E_FETCH on the index itself let the caller
 * try the next mirror. */
/* One mirror's index: fetch, verify, parse, freshness; each failure decides whether the next
 * mirror is tried. */
static int try_index(struct setup_opts *o, const struct ap_fetch_opts *fo, const char *mirror,
		     const struct ap_sign_trust *trust, struct setup_index *si, struct ap_err *err)
{
	char *buf = NULL, *sig = NULL, *url = NULL;
	size_t len = 0, slen = 0;
	int rc = AP_E_SIGNATURE;

	if (setup_rooted(o) && !o->insecure) {
		rc = fetch_doc(fo, mirror, AP_INDEX_FILE, AP_INDEX_MAX, &url, &buf, &len, err);
		if (rc == 0) {
			rc = ap_mirror_index_parse(buf, len, &si->ix, err);
			if (rc)
				ap_err_prefix(err, "mirror index '%s'", url);
		}
		if (rc == 0)
			rc = check_index_rooted(o, fo, mirror, url, buf, len, si, err);
		if (rc == 0) {
			si->url = url;
			url = NULL;
			si->mirror = mirror;
			si->sig_checked = true;
		}
		goto out;
	}

	for (int attempt = 0; attempt < INDEX_ATTEMPTS && rc == AP_E_SIGNATURE; attempt++) {
		free(buf);
		free(sig);
		free(url);
		buf = sig = url = NULL;
		ap_mirror_index_free(si->ix);
		si->ix = NULL;
		rc = fetch_doc(fo, mirror, AP_INDEX_FILE, AP_INDEX_MAX, &url, &buf, &len, err);
		if (rc)
			goto out;
		rc = ap_mirror_index_parse(buf, len, &si->ix, err);
		if (rc) {
			ap_err_prefix(err, "mirror index '%s'", url);
			goto out;
		}
		rc = fetch_doc(fo, mirror, AP_INDEX_SIG, AP_SIG_MAX, NULL, &sig, &slen, err);
		if (rc == AP_E_NOTFOUND) {
			rc = ap_err_set(err, AP_E_SIGNATURE,
					"mirror index '%s' is not signed: "
					"'%s.sig' is missing",
					url, url);
			break;
		}
		if (rc) {
			ap_err_prefix(err, "mirror index '%s'", url);
			goto out;
		}
		if (!trust) {
			rc = ap_err_set(
				err, AP_E_UNTRUSTED,
				"no trusted key to check mirror index '%s' (signed by key id "
				"%s): install its public key in %s or pass --trust KEY",
				url, si->ix->key_id, AP_TRUST_DIR);
			break;
		}
		rc = ap_sign_trust_verify(trust, si->ix->key_id, buf, len, (unsigned char *)sig,
					  slen, si->signer_id, err);
		if (rc && rc != AP_E_SIGNATURE)
			ap_err_prefix(err, "mirror index '%s'", url);
	}
	if (rc == AP_E_SIGNATURE && err && !strstr(err->msg, url))
		ap_err_prefix(err, "mirror index '%s'", url);
	si->url = url;
	url = NULL;
	si->mirror = mirror;
	if (rc == 0) {
		si->sig_checked = true;
		/* Bare keys: an index that says when it expires or what its
		 * version and floor are is held to them too. */
		char what[AP_ERR_MSG_MAX / 2];

		snprintf(what, sizeof(what), "mirror index '%s'", si->url);
		rc = setup_expiry(o, si->ix->expires, url_online(si->url), what, err);
		if (rc == 0) {
			o->index_version = si->ix->version;
			if (si->ix->min_version &&
			    (!o->floor[0] ||
			     ap_manifest_version_cmp(si->ix->min_version, o->floor) > 0))
				snprintf(o->floor, sizeof(o->floor), "%s", si->ix->min_version);
		}
	} else if (o->insecure && (rc == AP_E_SIGNATURE || rc == AP_E_UNTRUSTED)) {
		setup_warn("--insecure: going on although %s",
			   err ? err->msg : "the mirror index is not verified");
		ap_err_clear(err);
		rc = 0;
	}
out:
	free(url);
	free(buf);
	free(sig);
	return rc;
}

/* The failures of the mirrors tried so far, for the final error. */
struct mirror_failures {
	char msg[AP_ERR_MSG_MAX];
	size_t used;
	size_t n;
};

static void failure_add(struct mirror_failures *f, const char *mirror, const struct ap_err *err)
{
	int w;

	f->n++;
	if (f->used >= sizeof(f->msg))
		return;
	w = snprintf(f->msg + f->used, sizeof(f->msg) - f->used, "%s'%s': %s", f->used ? "; " : "",
		     mirror, err && err->msg[0] ? err->msg : "failed");
	if (w > 0)
		f->used += (size_t)w;
}

/* After every mirror failed: one mirror keeps its own message, several
 * are named one by one.  The code is the last mirror's. */
static int failures_report(const struct mirror_failures *f, int rc, struct ap_err *err)
{
	if (f->n <= 1)
		return rc;
	return ap_err_set(err, rc, "every mirror failed: %s", f->msg);
}

/* Failures that are not the mirror's: trying another cannot help. */
static bool stops_failover(int rc, const struct ap_sign_trust *trust)
{
	return rc == AP_E_NOMEM || rc == AP_E_USAGE || (rc == AP_E_UNTRUSTED && !trust);
}

/* What reading a mirror tree needs before the first request: a mirror, the
 * network, and the download options. */
static int mirror_start(struct setup_opts *o, struct ap_fetch_opts *fo, struct ap_err *err)
{
	if (o->n_mirrors == 0)
		return ap_err_set(err, AP_E_USAGE, "no mirror given: use --mirror URL");
	if (o->offline)
		return ap_err_set(err, AP_E_USAGE,
				  "--offline: a mirror tree's index cannot be read without the "
				  "network; install from a bundle or an offline folder instead");
	setup_fetch_opts(o, fo);
	return 0;
}

int setup_index_fetch(struct setup_opts *o, const struct ap_sign_trust *trust,
		      struct setup_index *si, struct ap_err *err)
{
	struct ap_fetch_opts fo;
	struct mirror_failures f;
	int rc = AP_E_USAGE;
	bool own_root = false;

	memset(si, 0, sizeof(*si));
	memset(&f, 0, sizeof(f));
	rc = mirror_start(o, &fo, err);
	if (rc < 0)
		return rc;
	/* A root of trust holds the index to its role's threshold here too. */
	if (!o->fresh.root) {
		rc = setup_load_root(o, NULL, err);
		if (rc < 0)
			return rc;
		own_root = true;
	}
	for (size_t i = 0; i < o->n_mirrors; i++) {
		rc = try_index(o, &fo, o->mirrors[i], trust, si, err);
		if (rc == 0)
			goto out;
		setup_index_release(si);
		if (stops_failover(rc, trust))
			goto out;
		failure_add(&f, o->mirrors[i], err);
		if (i + 1 < o->n_mirrors)
			setup_warn("%s: trying the next mirror", err ? err->msg : "no index");
	}
	rc = failures_report(&f, rc, err);
out:
	if (own_root)
		setup_fresh_release(o);
	return rc;
}

/* One mirror tree: its index, the version in it, that version's manifest
 * held to the index's hash, and (with a trust store) its signature. */
/* "<version>/manifest.json" into *name (replacing it). */
static const char *name_manifest_sig_base(const char *version, char **name)
{
	free(*name);
	*name = ap_fsx_path_join(version, AP_BUNDLE_MANIFEST);
	return *name ? *name : AP_BUNDLE_MANIFEST;
}

/* One try at one mirror's release (manifest, signature, payload list): each check decides
 * whether the next mirror is tried. */
static int try_release(struct setup_opts *o, const struct ap_fetch_opts *fo, const char *mirror,
		       const struct ap_sign_trust *trust, struct ap_release **out,
		       struct ap_err *err)
{
	struct setup_index si;
	const struct ap_mirror_release *mr = NULL;
	struct ap_release *r = NULL;
	char *mbuf = NULL, *sbuf = NULL, *murl = NULL, *name = NULL;
	size_t mlen = 0, slen = 0;
	char sha[AP_SHA256_HEX];
	int rc;

	memset(&si, 0, sizeof(si));
	rc = try_index(o, fo, mirror, trust, &si, err);
	if (rc)
		goto out;
	rc = ap_mirror_resolve(si.ix, o->version, o->channel, &mr, err);
	if (rc) {
		ap_err_prefix(err, "mirror '%s'", si.mirror);
		goto out;
	}
	name = ap_fsx_path_join(mr->version, AP_BUNDLE_MANIFEST);
	if (!name) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	/* A pinned length caps the download: a longer answer stops there. */
	if (setup_rooted(o) && !o->insecure && mr->manifest_size == 0) {
		rc = ap_err_set(err, AP_E_MANIFEST,
				"mirror index of '%s' does not pin the length of %s's manifest "
				"(manifest_size): republish it with this airpack",
				si.ix->product, mr->version);
		goto out;
	}
	rc = fetch_doc(fo, si.mirror, name, mr->manifest_size ? mr->manifest_size : AP_MANIFEST_MAX,
		       &murl, &mbuf, &mlen, err);
	if (rc == AP_E_TOOBIG)
		ap_err_prefix(err,
			      "manifest of %s does not match the signed index (longer than "
			      "the %llu bytes it pins)",
			      mr->version, (unsigned long long)mr->manifest_size);
	if (rc)
		goto out;
	if (mr->manifest_size && mlen != mr->manifest_size) {
		rc = ap_err_set(
			err, AP_E_DIGEST,
			"manifest of %s does not match the signed index: '%s' is %zu bytes, "
			"the index says %llu",
			mr->version, murl, mlen, (unsigned long long)mr->manifest_size);
		goto out;
	}
	ap_digest_hex(mbuf, mlen, sha);
	if (!ap_digest_eq(sha, mr->manifest_sha256)) {
		rc = ap_err_set(err, AP_E_DIGEST,
				"manifest of %s does not match the signed index: '%s' has sha256 "
				"%s, the index says %s (a tampered or half-published mirror?)",
				mr->version, murl, sha, mr->manifest_sha256);
		goto out;
	}
	free(name);
	name = ap_fsx_path_join(mr->version, AP_BUNDLE_SIG);
	if (!name) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = fetch_doc(fo, si.mirror, name, AP_SIG_MAX, NULL, &sbuf, &slen, err);
	if (rc == AP_E_NOTFOUND)
		rc = ap_err_set(err, AP_E_SIGNATURE,
				"release '%s' is not signed: '%s.sig' is "
				"missing",
				murl, murl);
	if (rc)
		goto out;
	rc = ap_release_from_mem(mbuf, mlen, (unsigned char *)sbuf, slen, NULL, &r, err);
	if (rc) {
		ap_err_prefix(err, "release '%s'", murl);
		goto out;
	}
	free(r->path);
	r->path = murl;
	murl = NULL;
	if (strcmp(r->manifest->product, si.ix->product) != 0 ||
	    strcmp(r->manifest->version, mr->version) != 0) {
		rc = ap_err_set(err, AP_E_MANIFEST,
				"release '%s' is %s %s, but the mirror index lists it as %s %s",
				r->path, r->manifest->product, r->manifest->version, si.ix->product,
				mr->version);
		goto out;
	}
	/* A signature that does not verify is this mirror's fault: the next
	 * may serve the genuine release.  The caller checks it once more. */
	if (setup_rooted(o) && !o->insecure) {
		struct ap_sigset extra = AP_SIGSET_INIT;

		rc = fetch_sigs(fo, si.mirror, name_manifest_sig_base(mr->version, &name),
				o->fresh.root, AP_ROLE_RELEASE, &extra, err);
		if (rc == 0)
			rc = ap_release_add_sigs(r, &extra, err);
		if (rc == 0)
			rc = ap_release_check_root(r, o->fresh.root, NULL, false, err);
		ap_root_sigset_release(&extra);
		if (rc)
			goto out;
	} else if (trust && !o->insecure) {
		rc = ap_release_check_sig(r, trust, false, err);
		if (rc)
			goto out;
	}
	*out = r;
	r = NULL;
out:
	ap_release_free(r);
	free(name);
	free(murl);
	free(mbuf);
	free(sbuf);
	setup_index_release(&si);
	return rc;
}

/* ---- OCI registries (docs/mirrors.md, "OCI registries") ---- */

static struct ap_oci *oci_served;

static void oci_served_free(void)
{
	ap_oci_free(oci_served);
	oci_served = NULL;
}

const struct ap_oci *setup_oci_served(void)
{
	return oci_served;
}

bool setup_mirror_is_oci(const char *mirror)
{
	return strncmp(mirror, AP_OCI_SCHEME, strlen(AP_OCI_SCHEME)) == 0;
}

static int oci_open(const struct setup_opts *o, const char *mirror, struct ap_oci **c,
		    struct ap_err *err)
{
	struct ap_oci_opts oo;
	int rc;

	memset(&oo, 0, sizeof(oo));
	oo.plain_http = o->insecure_registry;
	oo.cacert = o->cacert;
	oo.proxy = o->proxy;
	oo.auth_file = o->registry_auth;
	rc = ap_oci_open(mirror, &oo, c, err);
	if (rc == 0 && ap_oci_ref_tag(*c)) {
		rc = ap_err_set(err, AP_E_USAGE,
				"--mirror %s: name the repository without a tag (--version picks "
				"the release)",
				mirror);
		ap_oci_free(*c);
		*c = NULL;
	}
	return rc;
}

/* The tag --version names: V itself, or latest (the channel's tag with
 * --channel).  The tag only locates a release: the signed manifest it
 * points at must be that version, and in that channel. */
/* One registry's release: tag, manifest, version and channel checks decide whether the next
 * mirror is tried. */
static int try_oci_release(struct setup_opts *o, const char *mirror,
			   const struct ap_sign_trust *trust, struct ap_release **out,
			   struct ap_err *err)
{
	bool latest = strcmp(o->version, "latest") == 0;
	const char *tag = latest ? (o->channel ? o->channel : "latest") : o->version;
	struct ap_oci_pulled p;
	struct ap_oci *c = NULL;
	struct ap_release *r = NULL;
	char *where = NULL;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = oci_open(o, mirror, &c, err);
	if (rc)
		goto out;
	rc = ap_oci_pull(c, tag, &p, err);
	if (rc == AP_E_NOTFOUND)
		ap_err_prefix(err,
			      "no release tagged '%s' in '%s' (airpack-setup versions "
			      "--mirror %s lists the tags)",
			      tag, ap_oci_name(c), mirror);
	if (rc)
		goto out;
	where = malloc(strlen(mirror) + strlen(p.digest) + 2);
	if (where)
		snprintf(where, strlen(mirror) + strlen(p.digest) + 2, "%s@%s", mirror, p.digest);
	rc = where ? ap_release_from_mem(p.manifest, p.manifest_len, p.sig, p.sig_len, NULL, &r,
					 err)
		   : ap_err_set(err, AP_E_NOMEM, "out of memory");
	if (rc) {
		ap_err_prefix(err, "release '%s'", where ? where : mirror);
		goto out;
	}
	free(r->path);
	r->path = where;
	where = NULL;
	/* The per-key signatures travel with the release (into a layout). */
	rc = ap_release_add_sigs(r, &p.extra, err);
	if (rc)
		goto out;
	if (!latest && strcmp(r->manifest->version, o->version) != 0) {
		rc = ap_err_set(err, AP_E_MANIFEST,
				"tag '%s' of '%s' points at %s %s, not at version %s (the registry "
				"is not trusted: only the signed manifest names a version)",
				tag, ap_oci_name(c), r->manifest->product, r->manifest->version,
				o->version);
		goto out;
	}
	if (o->channel &&
	    (!r->manifest->channel || strcmp(r->manifest->channel, o->channel) != 0)) {
		rc = ap_err_set(
			err, AP_E_MANIFEST,
			"tag '%s' of '%s' points at %s %s of channel '%s', not of channel '%s'",
			tag, ap_oci_name(c), r->manifest->product, r->manifest->version,
			r->manifest->channel ? r->manifest->channel : "(none)", o->channel);
		goto out;
	}
	if (setup_rooted(o) && !o->insecure) {
		/* Online, as for a mirror tree: an expired root of trust is refused
		 * (a registry carries no newer roots: --roots DIR brings them). */
		char what[AP_ERR_MSG_MAX / 2];

		snprintf(what, sizeof(what), "the root of trust (version %lld)",
			 (long long)o->fresh.root->version);
		rc = setup_expiry(o, o->fresh.root->expires, true, what, err);
		if (rc == 0)
			rc = ap_release_check_root(r, o->fresh.root, NULL, false, err);
	} else if (trust && !o->insecure)
		rc = ap_release_check_sig(r, trust, false, err);
	if (rc)
		goto out;
	if (!oci_served)
		atexit(oci_served_free);
	ap_oci_free(oci_served);
	oci_served = c;
	c = NULL;
	*out = r;
	r = NULL;
out:
	ap_release_free(r);
	ap_oci_pulled_release(&p);
	ap_oci_free(c);
	free(where);
	return rc;
}

int setup_oci_list(struct setup_opts *o, const char *mirror, const struct ap_sign_trust *trust,
		   setup_oci_tag_fn fn, void *ctx, struct ap_err *err)
{
	struct ap_oci *c = NULL;
	char **tags = NULL;
	size_t n = 0;
	int rc;

	if (o->offline)
		return ap_err_set(err, AP_E_USAGE,
				  "--offline: a registry cannot be read without "
				  "the network");
	rc = oci_open(o, mirror, &c, err);
	if (rc == 0)
		rc = ap_oci_tags(c, &tags, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct setup_oci_tag t;
		struct ap_oci_pulled p;
		struct ap_release *r = NULL;
		struct ap_err e = AP_ERR_INIT;
		int prc;

		memset(&t, 0, sizeof(t));
		memset(&p, 0, sizeof(p));
		t.name = ap_oci_name(c);
		t.tag = tags[i];
		prc = ap_oci_pull(c, tags[i], &p, &e);
		if (prc == AP_E_AUTH || prc == AP_E_NOMEM) {
			*err = e;
			rc = prc;
			break;
		}
		if (prc == 0)
			prc = ap_release_from_mem(p.manifest, p.manifest_len, p.sig, p.sig_len,
						  NULL, &r, &e);
		if (prc == 0 && trust)
			prc = ap_release_check_sig(r, trust, false, &e);
		else if (prc == 0)
			prc = ap_err_set(&e, AP_E_UNTRUSTED, "no trusted key (--trust KEY)");
		t.digest = p.digest;
		if (r) {
			t.product = r->manifest->product;
			t.version = r->manifest->version;
			t.channel = r->manifest->channel;
			t.size = ap_manifest_total_size(r->manifest);
			t.key_id = r->manifest->key_id;
		}
		t.sig_ok = prc == 0;
		t.problem = prc ? e.msg : NULL;
		fn(ctx, &t);
		ap_release_free(r);
		ap_oci_pulled_release(&p);
	}
	ap_oci_tags_free(tags, n);
	ap_oci_free(c);
	return rc;
}

int setup_mirror_open(struct setup_opts *o, const struct ap_sign_trust *trust,
		      struct ap_release **out, struct ap_err *err)
{
	struct ap_fetch_opts fo;
	struct mirror_failures f;
	int rc = AP_E_USAGE;

	memset(&f, 0, sizeof(f));
	rc = mirror_start(o, &fo, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < o->n_mirrors; i++) {
		const char *mirror = o->mirrors[i];

		if (setup_mirror_is_oci(mirror))
			rc = try_oci_release(o, mirror, trust, out, err);
		else
			rc = try_release(o, &fo, mirror, trust, out, err);
		if (rc == 0) {
			/* The tree that served the release serves its payloads first. */
			memmove(o->mirrors + 1, o->mirrors, i * sizeof(*o->mirrors));
			o->mirrors[0] = mirror;
			return 0;
		}
		if (stops_failover(rc, trust))
			return rc;
		failure_add(&f, mirror, err);
		if (i + 1 < o->n_mirrors)
			setup_warn("%s: trying the next mirror", err ? err->msg : "no release");
	}
	return failures_report(&f, rc, err);
}
