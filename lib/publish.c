/* publish.c - add a signed release to a mirror tree (MIRROR/<version>/ as
 * an offline folder) and rewrite the signed index; see airpack/publish.h.
 * The tree's layout and the write order are in docs/mirrors.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/publish.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/mirror.h"
#include "airpack/oci.h"
#include "airpack/manifest.h"
#include "airpack/release.h"
#include "airpack/sign.h"
#include "airpack/sink.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define COPY_BUF (1u << 20)
#define PUBLISH_LOCK ".airpack-publish.lock"

struct publish_state {
	const struct ap_publish_opts *o;
	struct ap_release *r;
	struct ap_sign_key *key;
	char key_id[AP_KEY_ID_LEN];
	struct ap_sign_key *ikey; /* signs the index: key, or o->index_key */
	char ikey_id[AP_KEY_ID_LEN];
	char *vdir;		  /* MIRROR/<version> */
	struct ap_layout *layout; /* the writer of vdir */
	bool same_manifest;	  /* vdir already holds exactly this signed manifest */
	size_t copied, kept, removed;
	struct ap_mirror_index *ix;
	char *old_index; /* the index.json bytes found, or NULL */
	size_t old_index_len;
	bool index_written;
	unsigned char *buf;
};

/* Copy one payload into the mirror through a sink, from the file `from` or
 * from the bundle's current entry (br, then `from` names the entry): the
 * file gets its final name only when its size and sha256 are the
 * manifest's. */
static int copy_verified(struct publish_state *ps, const char *from, struct ap_bundle_reader *br,
			 const struct ap_component *c, const char *dst, struct ap_err *err)
{
	struct ap_sink_expect x = { from, true, c->size, c->sha256, "the signed manifest says" };
	struct ap_sink s = AP_SINK_INIT;
	const struct ap_progress_ops *p = ps->o->progress;
	size_t got = 0;
	int rc;

	ap_progress_ops_start(p, c->file, c->size);
	rc = ap_layout_sink_open(ps->layout, dst, &x, &s, err);
	if (rc == 0 && !br)
		rc = ap_sink_write_file(&s, from, AP_PROGRESS_STEP(p), AP_PROGRESS_CTX(p), err);
	while (rc == 0 && br) {
		rc = ap_bundle_reader_read(br, ps->buf, COPY_BUF, &got, err);
		if (rc || got == 0)
			break;
		rc = ap_sink_write(&s, ps->buf, got, err);
		if (p && p->step)
			p->step(p->ctx, s.done);
	}
	if (rc == 0)
		rc = ap_sink_commit(&s, NULL, err);
	ap_sink_abort(&s);
	ap_progress_ops_end(p);
	if (rc) {
		ap_err_prefix(err, "component '%s'", c->name);
		return rc;
	}
	ps->copied++;
	return 0;
}

/* Payloads from a folder (offline folder, manifest file, detached setup):
 * the file name first, then the aliases. */
static int copy_from_dir(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_manifest *m = ps->r->manifest;
	int rc = 0;

	if (!ps->r->dir)
		return ap_err_set(err, AP_E_USAGE, "release '%s' has no payload folder",
				  ps->r->path);
	for (size_t i = 0; i < m->n_components && rc == 0; i++) {
		const struct ap_component *c = &m->components[i];
		char *from = NULL;

		if (ap_layout_has(ps->layout, c->file, c->size, c->sha256)) {
			ps->kept++;
			continue;
		}
		for (size_t a = 0; a <= c->n_aliases && !from; a++) {
			from = ap_fsx_path_join(ps->r->dir, a == 0 ? c->file : c->aliases[a - 1]);
			if (from && !ap_fsx_is_file(from)) {
				free(from);
				from = NULL;
			}
		}
		if (!from) {
			rc = ap_err_set(err, AP_E_NOTFOUND, "component '%s': '%s' is not in '%s'",
					c->name, c->file, ps->r->dir);
		} else {
			rc = copy_verified(ps, from, NULL, c, c->file, err);
		}
		free(from);
	}
	return rc;
}

static int publish_entry(void *ctx, const struct ap_release_entry *e, struct ap_err *err)
{
	struct publish_state *ps = ctx;

	if (ap_layout_has(ps->layout, e->c->file, e->c->size, e->c->sha256)) {
		ps->kept++;
		return 0;
	}
	return copy_verified(ps, e->c->file, e->br, e->c, e->c->file, err);
}

/* Payloads from a bundle or setup, in one streaming pass that checks the
 * bundle as every reader does (ap_release_walk_bundle). */
static int copy_from_bundle(struct publish_state *ps, struct ap_err *err)
{
	int rc = ap_release_walk_bundle(ps->r, publish_entry, ps, err);

	if (rc && rc != AP_E_BUNDLE && rc != AP_E_UNSAFE)
		ap_err_prefix(err, "bundle '%s'", ps->r->path);
	return rc;
}

/* The release must be signed by the key we publish with. */
static int check_release(struct publish_state *ps, struct ap_err *err)
{
	struct ap_sign_trust *t = NULL;
	struct ap_sign_key *pub = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	int rc;

	rc = ap_sign_key_public_pem(ps->key, &pem, &pem_len, err);
	if (rc == 0)
		rc = ap_sign_key_load_public_mem(pem, pem_len, &pub, err);
	free(pem);
	if (rc)
		return rc;
	t = ap_sign_trust_new();
	if (!t) {
		ap_sign_key_free(pub);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	rc = ap_sign_trust_add(t, pub, err);
	if (rc == 0)
		rc = ap_release_check_sig(ps->r, t, false, err);
	ap_sign_trust_free(t);
	if (rc)
		ap_err_prefix(err, "refusing to publish with key %s (%s)", ps->key_id, ps->o->key);
	return rc;
}

/* The index found must be signed by our key, and verify with it: another
 * key's index is re-signed with ours, a bad signature rewritten, only with
 * --force. */
static int check_index_key(struct publish_state *ps, const char *ipath, const char *spath,
			   struct ap_err *err)
{
	char *sig = NULL;
	size_t slen = 0;
	int rc;

	if (strcmp(ps->ix->key_id, ps->ikey_id) != 0) {
		if (!ps->o->force)
			return ap_err_set(
				err, AP_E_UNTRUSTED,
				"mirror index '%s' is signed by key id %s, not %s (%s): use "
				"--force to re-sign it with this key",
				ipath, ps->ix->key_id, ps->ikey_id,
				ps->o->index_key ? ps->o->index_key : ps->o->key);
		free(ps->ix->key_id);
		ps->ix->key_id = ap_strdup(ps->ikey_id);
		if (!ps->ix->key_id)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		return 0;
	}
	rc = ap_fsx_is_file(spath) ? ap_fsx_read_file(spath, AP_SIG_MAX, &sig, &slen, err)
				   : ap_err_set(err, AP_E_SIGNATURE, "'%s' is missing", spath);
	if (rc == 0)
		rc = ap_sign_verify(ps->ikey, ps->old_index, ps->old_index_len,
				    (const unsigned char *)sig, slen, err);
	free(sig);
	if (rc && !ps->o->force) {
		ap_err_prefix(err,
			      "mirror index '%s' does not verify with key %s: use --force to "
			      "rewrite it",
			      ipath, ps->ikey_id);
		return rc;
	}
	ap_err_clear(err);
	return 0;
}

/* Read the mirror's index when there is one and check that it may be
 * extended: signed by our key (or --force), for the same product, and not
 * holding this version with another manifest (or --force). */
static int load_index(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_manifest *m = ps->r->manifest;
	const struct ap_mirror_release *old;
	char *ipath = ap_fsx_path_join(ps->o->mirror, AP_INDEX_FILE);
	char *spath = ap_fsx_path_join(ps->o->mirror, AP_INDEX_SIG);
	int rc;

	if (!ipath || !spath) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (!ap_fsx_is_file(ipath)) {
		rc = ap_mirror_index_new(m->product, ps->ikey_id, &ps->ix, err);
		goto out;
	}
	rc = ap_fsx_read_file(ipath, AP_INDEX_MAX, &ps->old_index, &ps->old_index_len, err);
	if (rc)
		goto out;
	rc = ap_mirror_index_parse(ps->old_index, ps->old_index_len, &ps->ix, err);
	if (rc) {
		ap_err_prefix(err, "mirror index '%s'", ipath);
		goto out;
	}
	if (strcmp(ps->ix->product, m->product) != 0) {
		rc = ap_err_set(err, AP_E_USAGE,
				"mirror '%s' holds product '%s', not '%s': a mirror tree holds one "
				"product; publish '%s' into a mirror of its own",
				ps->o->mirror, ps->ix->product, m->product, m->product);
		goto out;
	}
	rc = check_index_key(ps, ipath, spath, err);
	if (rc)
		goto out;
	old = ap_mirror_index_find(ps->ix, m->version);
	if (old && strcmp(old->manifest_sha256, ps->r->manifest_sha256) != 0 && !ps->o->force) {
		rc = ap_err_set(err, AP_E_EXISTS,
				"%s %s is already published in '%s' with another manifest (sha256 "
				"%s, this one %s): a published version is immutable; publish a "
				"new version, or use --force to replace it",
				m->product, m->version, ps->o->mirror, old->manifest_sha256,
				ps->r->manifest_sha256);
		goto out;
	}
out:
	free(ipath);
	free(spath);
	return rc;
}

/* The version folder: refuse another manifest unless --force, in which
 * case the old manifest goes first (so the folder no longer claims to be
 * complete) and later the files the new manifest does not name. */
static int prepare_vdir(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_release *r = ps->r;
	char *mpath = ap_fsx_path_join(ps->vdir, AP_BUNDLE_MANIFEST);
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!mpath) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (!ap_fsx_is_file(mpath))
		goto open;
	rc = ap_fsx_read_file(mpath, AP_MANIFEST_MAX, &buf, &len, err);
	if (rc)
		goto out;
	if (len == r->manifest_len && memcmp(buf, r->manifest_json, len) == 0)
		goto open;
	if (!ps->o->force) {
		char hex[AP_SHA256_HEX];

		ap_digest_hex(buf, len, hex);
		rc = ap_err_set(err, AP_E_EXISTS,
				"'%s' already holds another manifest of %s %s (sha256 %s, this one "
				"%s): a published version is immutable; publish a new version, or "
				"use --force to replace it",
				ps->vdir, r->manifest->product, r->manifest->version, hex,
				r->manifest_sha256);
		goto out;
	}
open:
	/* The writer keeps the same manifest, or drops another one first. */
	rc = ap_layout_open(ps->vdir, r->manifest_json, r->manifest_len, &ps->layout, err);
	if (rc == 0)
		ps->same_manifest = ap_layout_kept_manifest(ps->layout);
out:
	free(buf);
	free(mpath);
	return rc;
}

/* Both new files are written and fsynced under temporary names first;
 * then the signature is renamed into place, then the index.  A reader that
 * fetches the two between those renames sees a pair that does not verify
 * and retries (docs/mirrors.md); it never sees a torn file. */
/* The index and its signature are written and renamed in one order readers rely on; kept
 * together. */
static int write_index(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_manifest *m = ps->r->manifest;
	struct ap_fsx_afile fi = AP_AFILE_INIT, fs = AP_AFILE_INIT;
	char *json = NULL, *ipath = NULL, *spath = NULL;
	unsigned char *sig = NULL;
	size_t len = 0, slen = 0;
	int rc;

	rc = ap_mirror_index_put(ps->ix, m->version, m->channel, ps->r->manifest_sha256,
				 ap_manifest_total_size(m), err);
	if (rc == 0)
		ap_mirror_index_set_manifest_size(ps->ix, m->version, ps->r->manifest_len);
	if (rc == 0 && ps->o->min_version)
		rc = ap_mirror_index_set_floor(ps->ix, ps->o->min_version, err);
	if (rc == 0)
		rc = ap_mirror_index_emit(ps->ix, &json, &len, err);
	if (rc)
		goto out;
	/* Anything new (or asked for) is a new index version with a fresh expiry. */
	if (!ps->old_index || len != ps->old_index_len || memcmp(json, ps->old_index, len) != 0 ||
	    ps->o->refresh || ps->ix->version == 0 || ps->ix->expires == 0) {
		int days = ps->o->expires_days > 0 ? ps->o->expires_days : AP_PUBLISH_INDEX_DAYS;

		ps->ix->version++;
		ps->ix->expires = ap_fsx_now() + (int64_t)days * 86400;
		free(json);
		json = NULL;
		rc = ap_mirror_index_emit(ps->ix, &json, &len, err);
		if (rc)
			goto out;
	}
	if (ps->old_index && len == ps->old_index_len && memcmp(json, ps->old_index, len) == 0) {
		char *sp = ap_fsx_path_join(ps->o->mirror, AP_INDEX_SIG);
		bool sig_ok = false;

		/* Same bytes: keep the files unless the signature needs repair. */
		if (sp && ap_fsx_is_file(sp)) {
			char *old = NULL;
			size_t olen = 0;
			if (ap_fsx_read_file(sp, AP_SIG_MAX, &old, &olen, NULL) == 0)
				sig_ok = ap_sign_verify(ps->ikey, json, len, (unsigned char *)old,
							olen, NULL) == 0;
			free(old);
		}
		free(sp);
		if (sig_ok)
			goto out;
	}
	rc = ap_sign(ps->ikey, json, len, &sig, &slen, err);
	if (rc)
		goto out;
	ipath = ap_fsx_path_join(ps->o->mirror, AP_INDEX_FILE);
	spath = ap_fsx_path_join(ps->o->mirror, AP_INDEX_SIG);
	if (!ipath || !spath) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_afile_open(&fs, spath, 0644, err);
	if (rc == 0)
		rc = ap_fsx_afile_write(&fs, sig, slen, err);
	if (rc == 0)
		rc = ap_fsx_afile_open(&fi, ipath, 0644, err);
	if (rc == 0)
		rc = ap_fsx_afile_write(&fi, json, len, err);
	if (rc == 0)
		rc = ap_fsx_fsync_fp(fi.fp, ipath, err);
	if (rc == 0)
		rc = ap_fsx_afile_commit(&fs, err);
	if (rc == 0)
		rc = ap_fsx_afile_commit(&fi, err);
	if (rc == 0)
		ps->index_written = true;
out:
	ap_fsx_afile_abort(&fs);
	ap_fsx_afile_abort(&fi);
	free(json);
	free(sig);
	free(ipath);
	free(spath);
	return rc;
}

/* The key, the release, and the check that the key signed it. */
static int open_inputs(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_publish_opts *o = ps->o;
	int rc;

	rc = ap_sign_key_load_private(o->key, &ps->key, err);
	if (rc == 0)
		rc = ap_sign_key_check_signing(ps->key, o->key, err);
	if (rc)
		return rc;
	ap_sign_key_id(ps->key, ps->key_id);
	ps->ikey = ps->key;
	if (o->index_key) {
		rc = ap_sign_key_load_private(o->index_key, &ps->ikey, err);
		if (rc == 0)
			rc = ap_sign_key_check_signing(ps->ikey, o->index_key, err);
		if (rc)
			return rc;
	}
	ap_sign_key_id(ps->ikey, ps->ikey_id);
	rc = ap_release_open(o->source, &ps->r, err);
	if (rc == 0)
		rc = check_release(ps, err);
	return rc;
}

/* The mirror folder, its lock (one publisher at a time: each rewrites the
 * whole index), and under it what a killed publisher left of the index. */
static int lock_mirror(struct publish_state *ps, int *lock, struct ap_err *err)
{
	const char *mirror = ps->o->mirror;
	char *lock_path;
	int rc;

	if (ap_fsx_is_file(mirror))
		return ap_err_set(err, AP_E_USAGE, "--mirror: '%s' is a file, not a folder",
				  mirror);
	rc = ap_fsx_mkdir_p(mirror, 0755, err);
	if (rc)
		return rc;
	lock_path = ap_fsx_path_join(mirror, PUBLISH_LOCK);
	if (!lock_path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_lock(lock_path, lock, err);
	free(lock_path);
	if (rc < 0) {
		ap_err_prefix(err, "publishing into '%s'", mirror);
		return rc;
	}
	rc = ap_fsx_remove_temps(mirror, AP_INDEX_FILE, NULL, err);
	if (rc == 0)
		rc = ap_fsx_remove_temps(mirror, AP_INDEX_SIG, NULL, err);
	return rc;
}

/* The version folder: the payloads (kept when already there), then, for
 * a new manifest, the files it does not name out and the manifest in. */
static int publish_folder(struct publish_state *ps, struct ap_err *err)
{
	struct ap_release *r = ps->r;
	int rc;

	ps->vdir = ap_fsx_path_join(ps->o->mirror, r->manifest->version);
	if (!ps->vdir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = prepare_vdir(ps, err);
	if (rc)
		return rc;
	if (r->kind == AP_RELEASE_BUNDLE || (r->kind == AP_RELEASE_SFX && !r->sfx_detached))
		rc = copy_from_bundle(ps, err);
	else
		rc = copy_from_dir(ps, err);
	if (rc)
		return rc;
	if (ps->same_manifest)
		return ap_layout_put_sigs(ps->layout, &r->sigs, err);
	rc = ap_layout_clean(ps->layout, r->manifest, NULL, NULL, &ps->removed, err);
	if (rc == 0)
		rc = ap_layout_commit(ps->layout, r->manifest_json, r->manifest_len, r->sig,
				      r->sig_len, &r->sigs, err);
	return rc;
}

int ap_publish(const struct ap_publish_opts *o, struct ap_publish_result *res, struct ap_err *err)
{
	struct publish_state ps;
	int lock = -1;
	int rc;

	if (!o->mirror || !o->source || !o->key)
		return ap_err_set(err, AP_E_USAGE,
				  "publishing needs a mirror folder, a release and a key");
	memset(&ps, 0, sizeof(ps));
	ps.o = o;
	ps.buf = malloc(COPY_BUF);
	if (!ps.buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = open_inputs(&ps, err);
	if (rc == 0)
		rc = lock_mirror(&ps, &lock, err);
	if (rc == 0)
		rc = load_index(&ps, err);
	if (rc == 0)
		rc = publish_folder(&ps, err);
	if (rc == 0)
		rc = write_index(&ps, err);
	if (rc == 0) {
		res->release = ps.r;
		ps.r = NULL;
		res->folder = ps.vdir;
		ps.vdir = NULL;
		memcpy(res->key_id, ps.ikey_id, sizeof(res->key_id));
		res->copied = ps.copied;
		res->kept = ps.kept;
		res->removed = ps.removed;
		res->index_written = ps.index_written;
		res->unchanged = ps.same_manifest && ps.copied == 0 && !ps.index_written;
		res->n_releases = ps.ix->n_releases;
	}
	ap_fsx_unlock(lock);
	ap_mirror_index_free(ps.ix);
	ap_layout_free(ps.layout);
	ap_release_free(ps.r);
	if (ps.ikey != ps.key)
		ap_sign_key_free(ps.ikey);
	ap_sign_key_free(ps.key);
	free(ps.old_index);
	free(ps.vdir);
	free(ps.buf);
	return rc;
}

void ap_publish_result_release(struct ap_publish_result *res)
{
	ap_release_free(res->release);
	free(res->folder);
	memset(res, 0, sizeof(*res));
}

/* The tags a push points at: each once, each one a registry accepts. */
static int oci_tags(const struct ap_publish_oci_opts *o, const struct ap_manifest *m,
		    const char *ref_tag, struct ap_publish_oci_result *res, struct ap_err *err)
{
	const char *want[AP_PUBLISH_TAGS_MAX + 3];
	size_t n = 0;

	if (o->n_tags > AP_PUBLISH_TAGS_MAX)
		return ap_err_set(err, AP_E_USAGE, "at most %d tags", AP_PUBLISH_TAGS_MAX);
	want[n++] = m->version;
	if (m->channel)
		want[n++] = m->channel;
	if (ref_tag)
		want[n++] = ref_tag;
	for (size_t i = 0; i < o->n_tags; i++)
		want[n++] = o->tags[i];
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (!ap_oci_tag_valid(want[i]))
			return ap_err_set(
				err, AP_E_USAGE,
				"'%s' cannot be a registry tag (letters, digits, '_', '.', "
				"'-', at most 128)",
				want[i]);
		for (size_t k = 0; k < res->n_tags; k++)
			if (strcmp(res->tags[k], want[i]) == 0)
				seen = true;
		if (seen)
			continue;
		res->tags[res->n_tags] = ap_strdup(want[i]);
		if (!res->tags[res->n_tags])
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		res->n_tags++;
	}
	return 0;
}

int ap_publish_oci(const struct ap_publish_oci_opts *o, struct ap_publish_oci_result *res,
		   struct ap_err *err)
{
	struct ap_publish_opts po;
	struct publish_state ps;
	struct ap_publish_oci_result out;
	struct ap_oci *c = NULL;
	struct ap_oci_opts oo;
	int rc;

	if (!o->ref || !o->source || !o->key)
		return ap_err_set(err, AP_E_USAGE,
				  "publishing needs a registry reference, a release and a key");
	memset(&po, 0, sizeof(po));
	memset(&ps, 0, sizeof(ps));
	memset(&out, 0, sizeof(out));
	po.key = o->key;
	po.source = o->source;
	ps.o = &po;
	rc = ap_sign_key_load_private(o->key, &ps.key, err);
	if (rc == 0)
		rc = ap_sign_key_check_signing(ps.key, o->key, err);
	if (rc)
		goto out;
	ap_sign_key_id(ps.key, ps.key_id);
	rc = ap_release_open(o->source, &ps.r, err);
	if (rc == 0)
		rc = check_release(&ps, err);
	if (rc)
		goto out;
	oo = o->oci;
	oo.push = true;
	rc = ap_oci_open(o->ref, &oo, &c, err);
	if (rc == 0)
		rc = oci_tags(o, ps.r->manifest, ap_oci_ref_tag(c), &out, err);
	if (rc == 0)
		rc = ap_oci_push(c, ps.r, (const char *const *)out.tags, out.n_tags, o->progress,
				 &out.push, err);
	if (rc) {
		ap_err_prefix(err, "publishing %s %s to '%s'", ps.r->manifest->product,
			      ps.r->manifest->version, c ? ap_oci_name(c) : o->ref);
		goto out;
	}
	out.name = ap_strdup(ap_oci_name(c));
	if (!out.name) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	out.release = ps.r;
	ps.r = NULL;
	memcpy(out.key_id, ps.key_id, sizeof(out.key_id));
	*res = out;
	memset(&out, 0, sizeof(out));
out:
	ap_publish_oci_result_release(&out);
	ap_oci_free(c);
	ap_release_free(ps.r);
	ap_sign_key_free(ps.key);
	return rc;
}

void ap_publish_oci_result_release(struct ap_publish_oci_result *res)
{
	ap_release_free(res->release);
	free(res->name);
	for (size_t i = 0; i < res->n_tags; i++)
		free(res->tags[i]);
	memset(res, 0, sizeof(*res));
}
