/* cmd_publish.c - airpack publish: add a signed release to a mirror tree
 * (MIRROR/<version>/ as an offline folder) and rewrite the signed index.
 * The tree's layout and the write order are in docs/mirrors.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/mirror.h"
#include "airpack/manifest.h"
#include "airpack/release.h"
#include "airpack/sign.h"
#include "airpack/sink.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

#define COPY_BUF (1u << 20)
#define PUBLISH_LOCK ".airpack-publish.lock"

struct publish_opts {
	const char *mirror;
	const char *source;
	const char *key;
	bool force;
	bool json;
	bool quiet;
};

struct publish_state {
	const struct publish_opts *o;
	struct ap_release *r;
	struct ap_key *key;
	char key_id[AP_KEY_ID_LEN];
	char *vdir;         /* MIRROR/<version> */
	struct ap_layout *layout; /* the writer of vdir */
	bool same_manifest; /* vdir already holds exactly this signed manifest */
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
	struct ap_sink_expect x = {from, true, c->size, c->sha256, "the signed manifest says"};
	struct ap_sink s = AP_SINK_INIT;
	struct ap_progress bar;
	size_t got = 0;
	int rc;

	ap_progress_start(&bar, c->file, c->size, !ps->o->quiet && !ps->o->json);
	rc = ap_layout_sink_open(ps->layout, dst, &x, &s, err);
	if (rc == 0 && !br)
		rc = ap_sink_write_file(&s, from, ap_progress_cb, &bar, err);
	while (rc == 0 && br) {
		rc = ap_bundle_reader_read(br, ps->buf, COPY_BUF, &got, err);
		if (rc || got == 0)
			break;
		rc = ap_sink_write(&s, ps->buf, got, err);
		ap_progress_cb(&bar, s.done);
	}
	if (rc == 0)
		rc = ap_sink_commit(&s, NULL, err);
	ap_sink_abort(&s);
	ap_progress_end(&bar);
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
			from = ap_path_join(ps->r->dir, a == 0 ? c->file : c->aliases[a - 1]);
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
	struct ap_trust *t = NULL;
	struct ap_key *pub = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	int rc;

	rc = ap_key_public_pem(ps->key, &pem, &pem_len, err);
	if (rc == 0)
		rc = ap_key_load_public_mem(pem, pem_len, &pub, err);
	free(pem);
	if (rc)
		return rc;
	t = ap_trust_new();
	if (!t) {
		ap_key_free(pub);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	rc = ap_trust_add(t, pub, err);
	if (rc == 0)
		rc = ap_release_check_sig(ps->r, t, false, err);
	ap_trust_free(t);
	if (rc)
		ap_err_prefix(err, "refusing to publish with key %s (%s)", ps->key_id, ps->o->key);
	return rc;
}

/* Read the mirror's index when there is one and check that it may be
 * extended: signed by our key (or --force), for the same product, and not
 * holding this version with another manifest (or --force). */
static int load_index(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_manifest *m = ps->r->manifest;
	const struct ap_mirror_release *old;
	char *ipath = ap_path_join(ps->o->mirror, AP_INDEX_FILE);
	char *spath = ap_path_join(ps->o->mirror, AP_INDEX_SIG);
	char *sig = NULL;
	size_t slen = 0;
	int rc;

	if (!ipath || !spath) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (!ap_fsx_is_file(ipath)) {
		rc = ap_mirror_index_new(m->product, ps->key_id, &ps->ix, err);
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
	if (strcmp(ps->ix->key_id, ps->key_id) != 0) {
		if (!ps->o->force) {
			rc =
			    ap_err_set(err, AP_E_UNTRUSTED,
			               "mirror index '%s' is signed by key id %s, not %s (%s): use "
			               "--force to re-sign it with this key",
			               ipath, ps->ix->key_id, ps->key_id, ps->o->key);
			goto out;
		}
		free(ps->ix->key_id);
		ps->ix->key_id = strdup(ps->key_id);
		if (!ps->ix->key_id) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
	} else {
		rc = ap_fsx_is_file(spath)
		         ? ap_fsx_read_file(spath, AP_SIG_MAX, &sig, &slen, err)
		         : ap_err_set(err, AP_E_SIGNATURE, "'%s' is missing", spath);
		if (rc == 0)
			rc = ap_verify(ps->key, ps->old_index, ps->old_index_len,
			               (const unsigned char *)sig, slen, err);
		if (rc && !ps->o->force) {
			ap_err_prefix(err,
			              "mirror index '%s' does not verify with key %s: use "
			              "--force to rewrite it",
			              ipath, ps->key_id);
			goto out;
		}
		rc = 0;
		ap_err_clear(err);
	}
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
	free(sig);
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
	char *mpath = ap_path_join(ps->vdir, AP_BUNDLE_MANIFEST);
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

		ap_sha256_hex(buf, len, hex);
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
static int write_index(struct publish_state *ps, struct ap_err *err)
{
	const struct ap_manifest *m = ps->r->manifest;
	struct ap_afile fi = AP_AFILE_INIT, fs = AP_AFILE_INIT;
	char *json = NULL, *ipath = NULL, *spath = NULL;
	unsigned char *sig = NULL;
	size_t len = 0, slen = 0;
	int rc;

	rc = ap_mirror_index_put(ps->ix, m->version, m->channel, ps->r->manifest_sha256,
	                         ap_manifest_total_size(m), err);
	if (rc == 0)
		rc = ap_mirror_index_emit(ps->ix, &json, &len, err);
	if (rc)
		goto out;
	if (ps->old_index && len == ps->old_index_len && memcmp(json, ps->old_index, len) == 0) {
		char *sp = ap_path_join(ps->o->mirror, AP_INDEX_SIG);
		bool sig_ok = false;

		/* Same bytes: keep the files unless the signature needs repair. */
		if (sp && ap_fsx_is_file(sp)) {
			char *old = NULL;
			size_t olen = 0;
			if (ap_fsx_read_file(sp, AP_SIG_MAX, &old, &olen, NULL) == 0)
				sig_ok = ap_verify(ps->key, json, len, (unsigned char *)old, olen,
				                   NULL) == 0;
			free(old);
		}
		free(sp);
		if (sig_ok)
			goto out;
	}
	rc = ap_sign(ps->key, json, len, &sig, &slen, err);
	if (rc)
		goto out;
	ipath = ap_path_join(ps->o->mirror, AP_INDEX_FILE);
	spath = ap_path_join(ps->o->mirror, AP_INDEX_SIG);
	if (!ipath || !spath) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_afile_open(&fs, spath, 0644, err);
	if (rc == 0)
		rc = ap_afile_write(&fs, sig, slen, err);
	if (rc == 0)
		rc = ap_afile_open(&fi, ipath, 0644, err);
	if (rc == 0)
		rc = ap_afile_write(&fi, json, len, err);
	if (rc == 0)
		rc = ap_fsx_fsync_fp(fi.fp, ipath, err);
	if (rc == 0)
		rc = ap_afile_commit(&fs, err);
	if (rc == 0)
		rc = ap_afile_commit(&fi, err);
	if (rc == 0)
		ps->index_written = true;
out:
	ap_afile_abort(&fs);
	ap_afile_abort(&fi);
	free(json);
	free(sig);
	free(ipath);
	free(spath);
	return rc;
}

static void print_result(const struct publish_state *ps)
{
	const struct publish_opts *o = ps->o;
	const struct ap_manifest *m = ps->r->manifest;
	bool unchanged = ps->same_manifest && ps->copied == 0 && !ps->index_written;
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", m->product);
		ap_json_str(&j, "version", m->version);
		ap_json_str(&j, "channel", m->channel);
		ap_json_str(&j, "mirror", o->mirror);
		ap_json_str(&j, "folder", ps->vdir);
		ap_json_str(&j, "manifest_sha256", ps->r->manifest_sha256);
		ap_json_str(&j, "key_id", ps->key_id);
		ap_json_u64(&j, "size", ap_manifest_total_size(m));
		ap_json_u64(&j, "copied", ps->copied);
		ap_json_u64(&j, "kept", ps->kept);
		ap_json_u64(&j, "removed", ps->removed);
		ap_json_bool(&j, "index_written", ps->index_written);
		ap_json_bool(&j, "unchanged", unchanged);
		ap_json_u64(&j, "releases", ps->ix->n_releases);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	if (unchanged) {
		printf("%s %s is already published in %s: nothing to do\n", m->product, m->version,
		       o->mirror);
		return;
	}
	printf("published %s %s%s%s%s into %s: %zu payload%s copied, %zu already there, %s\n",
	       m->product, m->version, m->channel ? " (" : "", m->channel ? m->channel : "",
	       m->channel ? ")" : "", ps->vdir, ps->copied, ps->copied == 1 ? "" : "s", ps->kept,
	       ap_human_size(ap_manifest_total_size(m), sz, sizeof(sz)));
	printf("  index: %zu release%s, signed by key %s\n", ps->ix->n_releases,
	       ps->ix->n_releases == 1 ? "" : "s", ps->key_id);
}

static int run_publish(const struct publish_opts *o, struct ap_err *err)
{
	struct publish_state ps;
	char *lock_path = NULL;
	int lock = -1;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.o = o;
	ps.buf = malloc(COPY_BUF);
	if (!ps.buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_key_load_private(o->key, &ps.key, err);
	if (rc == 0)
		rc = ap_key_check_signing(ps.key, o->key, err);
	if (rc)
		goto out;
	ap_key_id(ps.key, ps.key_id);
	rc = ap_release_open(o->source, &ps.r, err);
	if (rc)
		goto out;
	rc = check_release(&ps, err);
	if (rc)
		goto out;
	if (ap_fsx_is_file(o->mirror)) {
		rc = ap_err_set(err, AP_E_USAGE, "--mirror: '%s' is a file, not a folder",
		                o->mirror);
		goto out;
	}
	rc = ap_fsx_mkdir_p(o->mirror, 0755, err);
	if (rc)
		goto out;
	/* One publisher at a time: each rewrites the whole index. */
	lock_path = ap_path_join(o->mirror, PUBLISH_LOCK);
	if (!lock_path) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_lock(lock_path, &lock, err);
	if (rc < 0) {
		ap_err_prefix(err, "publishing into '%s'", o->mirror);
		goto out;
	}
	/* Under the lock: what a killed publisher left of the index. */
	rc = ap_fsx_remove_temps(o->mirror, AP_INDEX_FILE, NULL, err);
	if (rc == 0)
		rc = ap_fsx_remove_temps(o->mirror, AP_INDEX_SIG, NULL, err);
	if (rc == 0)
		rc = load_index(&ps, err);
	if (rc)
		goto out;
	ps.vdir = ap_path_join(o->mirror, ps.r->manifest->version);
	if (!ps.vdir) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = prepare_vdir(&ps, err);
	if (rc)
		goto out;
	if (ps.r->kind == AP_RELEASE_BUNDLE ||
	    (ps.r->kind == AP_RELEASE_SFX && !ps.r->sfx_detached))
		rc = copy_from_bundle(&ps, err);
	else
		rc = copy_from_dir(&ps, err);
	if (rc)
		goto out;
	if (!ps.same_manifest) {
		rc = ap_layout_clean(ps.layout, ps.r->manifest, NULL, NULL, &ps.removed, err);
		if (rc == 0)
			rc = ap_layout_commit(ps.layout, ps.r->manifest_json, ps.r->manifest_len,
			                      ps.r->sig, ps.r->sig_len, err);
		if (rc)
			goto out;
	}
	rc = write_index(&ps, err);
	if (rc)
		goto out;
	print_result(&ps);
out:
	ap_fsx_unlock(lock);
	free(lock_path);
	ap_mirror_index_free(ps.ix);
	ap_layout_free(ps.layout);
	ap_release_free(ps.r);
	ap_key_free(ps.key);
	free(ps.old_index);
	free(ps.vdir);
	free(ps.buf);
	return rc;
}

int cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"mirror", required_argument, NULL, 'm'}, {"layout", required_argument, NULL, 'L'},
	    {"key", required_argument, NULL, 'k'},    {"force", no_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},         {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct publish_opts o;
	struct ap_err err = AP_ERR_INIT;
	const char *layout = NULL;
	int c;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:k:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.mirror = optarg;
			break;
		case 'L':
			layout = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			return print_usage("publish");
		default:
			return usage_error("publish", "bad option");
		}
	}
	if (!o.mirror)
		return usage_error("publish", "--mirror DIR is required");
	if (!o.key)
		return usage_error("publish", "--key KEY.pem is required");
	if (layout && optind < argc)
		return usage_error("publish", "give either --layout DIR or a BUNDLE/SETUP, not "
		                              "both");
	if (!layout && optind >= argc)
		return usage_error("publish", "nothing to publish: give a BUNDLE, a SETUP or "
		                              "--layout DIR");
	if (!layout && optind + 1 < argc)
		return usage_error("publish", "unexpected argument '%s'", argv[optind + 1]);
	if (layout && !ap_fsx_is_dir(layout))
		return usage_error("publish", "--layout: '%s' is not a folder", layout);
	o.source = layout ? layout : argv[optind];
	if (run_publish(&o, &err) != 0)
		return die_err(&err);
	return 0;
}
