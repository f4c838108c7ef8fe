/* build.c - source manifest + payloads -> signed release (bundle, offline
 * folder, self-extracting setup); see airpack/build.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/build.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/manifest.h"
#include "airpack/platform.h"
#include "airpack/probe.h"
#include "airpack/sbom.h"
#include "airpack/sfx.h"
#include "airpack/sign.h"
#include "airpack/sink.h"
#include "airpack/str.h"
#include "airpack/winname.h"
#include "airpack/banned.h"

#define SOURCE_MAX (4u << 20)

/* Where each component's payload was found in the payload folder. */
struct found {
	char *path;
	uint64_t size;
	bool pinned; /* the source manifest pins this component's sha256 */
};

/* One build's state; every output has its own small step below. */
struct build {
	const struct ap_build_opts *o;
	struct ap_manifest *m;
	struct ap_sign_key *key;
	char key_id[AP_KEY_ID_LEN];
	struct found *found;	     /* one per component ... */
	struct ap_sbom_files *files; /* ... each */
	size_t n;		     /* of them */
	enum ap_compress comp;
	size_t plen, slen; /* the placeholder manifest's and signature's lengths */
	char *json;	   /* the final signed manifest */
	size_t jlen;
	unsigned char *sig;
	size_t sig_len;
	/* The bundle is written: to -o, or straight into the setup after its
	 * stub (in_setup: a setup that carries its payloads, without -o). */
	bool has_bundle, in_setup;
	struct ap_bundle_writer *w;
	struct ap_fsx_afile bundle;
	struct ap_sfx_writer *sfx;
	struct ap_layout *layout;
	struct ap_strvec warnings; /* for the result */
	char *stub;		   /* with sfx: the stub chosen (choose_stub) */
	const char *stub_platform; /* its platform, or NULL */
};

/* The f-th payload folder in search order, NULL past the last. */
static const char *payload_dir(const struct ap_build_opts *o, size_t f)
{
	if (f == 0)
		return o->payloads;
	if (!o->more_payloads)
		return NULL;
	for (size_t d = 0; d < f; d++)
		if (!o->more_payloads[d])
			return NULL;
	return o->more_payloads[f - 1];
}

/* The payload folders, for messages: 'a', 'b'. */
static void dirs_said(const struct ap_build_opts *o, struct ap_strbuf *sb)
{
	const char *dir;

	for (size_t f = 0; (dir = payload_dir(o, f)) != NULL; f++)
		ap_strbuf_addf(sb, "%s'%s'", f ? ", " : "", dir);
}

/* Every component's payload in the payload folders (each folder in turn:
 * by name, then aliases); all the missing ones are named in one error, so
 * one look at the folders is enough to fill them. */
static int find_payloads(struct build *b, struct ap_manifest *m, struct found *found,
			 struct ap_err *err)
{
	struct ap_strbuf missing = AP_STRBUF_INIT, dirs = AP_STRBUF_INIT;
	size_t n_missing = 0;
	const char *dir;
	int rc = 0;

	dirs_said(b->o, &dirs);
	if (dirs.failed) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		struct ap_stat st;

		for (size_t f = 0; !found[i].path && (dir = payload_dir(b->o, f)) != NULL; f++) {
			for (size_t a = 0; a <= c->n_aliases && !found[i].path; a++) {
				const char *name = a == 0 ? c->file : c->aliases[a - 1];
				char *path = ap_fsx_path_join(dir, name);

				if (!path) {
					rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
					goto out;
				}
				if (ap_fsx_stat(path, &st, err) != 0) {
					free(path);
					rc = err ? err->code : AP_E_IO;
					goto out;
				}
				if (st.type != AP_FT_FILE) {
					free(path);
					continue;
				}
				found[i].path = path;
				found[i].size = st.size;
			}
		}
		if (!found[i].path && c->optional)
			continue;
		if (!found[i].path) {
			ap_strbuf_addf(&missing, "%s'%s' (component '%s'%s)", n_missing ? ", " : "",
				       c->file, c->name, c->n_aliases ? ", or its aliases" : "");
			n_missing++;
			continue;
		}
		if (c->has_size && c->size != found[i].size) {
			rc = ap_err_set(err, AP_E_DIGEST,
					"component '%s': '%s' is %llu bytes, the source manifest "
					"pins %llu",
					c->name, found[i].path, (unsigned long long)found[i].size,
					(unsigned long long)c->size);
			goto out;
		}
	}
	if (n_missing) {
		rc = ap_err_set(err, AP_E_NOTFOUND, "%zu payload%s missing in %s: %s", n_missing,
				n_missing == 1 ? " is" : "s are", dirs.buf, missing.buf);
		goto out;
	}
	/* An optional component without its payload is left out of the
	 * release: a release names only what it can prove (size, sha256). */
	for (size_t i = m->n_components; i-- > 0;) {
		struct ap_strbuf w = AP_STRBUF_INIT;

		if (found[i].path)
			continue;
		ap_strbuf_addf(&w,
			       "optional component '%s': no '%s' in %s: left out of the "
			       "release",
			       m->components[i].name, m->components[i].file, dirs.buf);
		if (ap_strvec_push_nodup(&b->warnings, ap_strbuf_detach(&w, NULL)) != 0) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		ap_manifest_remove_component(m, i);
		memmove(&found[i], &found[i + 1], (b->n - i - 1) * sizeof(*found));
		memset(&found[b->n - 1], 0, sizeof(*found));
		b->n--;
	}
	if (m->n_components == 0)
		rc = ap_err_set(err, AP_E_NOTFOUND,
				"no payload in %s: every component is optional and missing",
				dirs.buf);
out:
	ap_strbuf_release(&missing);
	ap_strbuf_release(&dirs);
	return rc;
}

static int check_pinned(const struct ap_component *c, const struct found *f, const char *hex,
			struct ap_err *err)
{
	if (f->pinned && !ap_digest_eq(c->sha256, hex))
		return ap_err_set(err, AP_E_DIGEST,
				  "component '%s': '%s' has sha256 %s, the source manifest pins %s",
				  c->name, f->path, hex, c->sha256);
	return 0;
}

/* A warning for the result: what would be refused for Windows in a
 * release for another platform. */
static int warn_windows(struct build *b, const char *what, const struct ap_err *why,
			struct ap_err *err)
{
	struct ap_strbuf sb = AP_STRBUF_INIT;
	const char *platform = b->m->platform ? b->m->platform : "unset";

	ap_strbuf_addf(&sb, "%s%s (fine on this release's platform '%s', not on Windows)", what,
		       why->msg, platform);
	if (ap_strvec_push_nodup(&b->warnings, ap_strbuf_detach(&sb, NULL)) != 0)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

/* Names Windows treats specially (airpack/winname.h) in the manifest:
 * refused in a release for Windows, a warning in any other. */
static int check_windows_names(struct build *b, struct ap_err *err)
{
	struct ap_err why = AP_ERR_INIT;

	if (ap_winname_platform_is_windows(b->m->platform))
		return ap_manifest_windows_check(b->m, err);
	if (ap_manifest_windows_check(b->m, &why) == 0)
		return 0;
	return warn_windows(b, "", &why, err);
}

/* ap_extract_measure, with Windows' names as check_windows_names says. */
static int measure_one(struct build *b, const struct ap_component *c, const char *path,
		       uint64_t *size, uint64_t *files, struct ap_err *err)
{
	struct ap_err why = AP_ERR_INIT;
	char what[AP_ERR_MSG_MAX];
	int rc;

	if (ap_winname_platform_is_windows(b->m->platform))
		return ap_extract_measure_names(path, true, size, files, err);
	rc = ap_extract_measure_names(path, true, size, files, &why);
	if (rc == 0)
		return 0;
	if (rc == AP_E_UNSAFE && strstr(why.msg, "unsafe name for Windows")) {
		snprintf(what, sizeof(what), "component '%s': ", c->name);
		rc = warn_windows(b, what, &why, err);
		if (rc)
			return rc;
	}
	return ap_extract_measure(path, size, files, err);
}

/* Every extract component's expanded size and file count, signed with the
 * release so the installer holds the archive to them.  A source manifest
 * that pins them must agree. */
static int measure_extracts(struct build *b, struct ap_err *err)
{
	struct ap_manifest *m = b->m;
	const struct found *found = b->found;

	for (size_t i = 0; i < m->n_components; i++) {
		struct ap_component *c = &m->components[i];
		uint64_t size = 0, files = 0;
		int rc;

		if (c->action != AP_ACTION_EXTRACT)
			continue;
		rc = measure_one(b, c, found[i].path, &size, &files, err);
		if (rc) {
			ap_err_prefix(err, "component '%s'", c->name);
			return rc;
		}
		if (c->has_expanded && (c->expanded_size != size || c->expanded_files != files))
			return ap_err_set(
				err, AP_E_DIGEST,
				"component '%s': '%s' expands to %llu bytes in %llu "
				"file%s, the source manifest pins %llu bytes in %llu file%s",
				c->name, found[i].path, (unsigned long long)size,
				(unsigned long long)files, files == 1 ? "" : "s",
				(unsigned long long)c->expanded_size,
				(unsigned long long)c->expanded_files,
				c->expanded_files == 1 ? "" : "s");
		c->has_expanded = true;
		c->expanded_size = size;
		c->expanded_files = files;
	}
	return 0;
}

/* Create the folder an output file goes into. */
static int make_parent(const char *path, struct ap_err *err)
{
	char *dir;
	int rc;

	if (!path)
		return 0;
	dir = ap_fsx_path_dirname(path);
	if (!dir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	free(dir);
	return rc;
}

/* What a killed earlier run left beside an output: PATH.tmp-XXXXXX from
 * ap_fsx_afile (the bundle, the setup) and, for a setup, the temporaries of
 * the intermediate bundle earlier versions wrote (SETUP.bundle.tmp-XXXXXX). */
static int remove_stale_temps(const char *path, const char *suffix, struct ap_err *err)
{
	char *dir, *base;
	size_t n;
	int rc;

	if (!path)
		return 0;
	n = strlen(ap_fsx_path_basename(path)) + strlen(suffix) + 1;
	dir = ap_fsx_path_dirname(path);
	base = malloc(n);
	if (!dir || !base) {
		free(dir);
		free(base);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	snprintf(base, n, "%s%s", ap_fsx_path_basename(path), suffix);
	rc = ap_fsx_remove_temps(dir, base, NULL, err);
	free(dir);
	free(base);
	return rc;
}

/* The outputs' folders, and what a killed earlier run left beside them. */
static int prepare_outputs(const struct ap_build_opts *o, struct ap_err *err)
{
	int rc = make_parent(o->bundle, err);

	if (rc == 0)
		rc = make_parent(o->sfx, err);
	if (rc == 0)
		rc = remove_stale_temps(o->bundle, "", err);
	if (rc == 0)
		rc = remove_stale_temps(o->sfx, "", err);
	if (rc == 0)
		rc = remove_stale_temps(o->sfx, ".bundle", err);
	return rc;
}

/* Read and parse the source manifest, load the key and find the payloads. */
static int load_inputs(struct build *b, struct ap_err *err)
{
	const struct ap_build_opts *o = b->o;
	char *src = NULL;
	size_t src_len = 0;
	int rc;

	rc = ap_fsx_read_file(o->source, SOURCE_MAX, &src, &src_len, err);
	if (rc == 0)
		rc = prepare_outputs(o, err);
	if (rc)
		goto out;
	rc = ap_manifest_parse(src, src_len, AP_MANIFEST_SOURCE, &b->m, err);
	if (rc) {
		ap_err_prefix(err, "source manifest '%s'", o->source);
		goto out;
	}
	rc = ap_sign_key_load_private(o->key, &b->key, err);
	if (rc == 0)
		rc = ap_sign_key_check_signing(b->key, o->key, err);
	if (rc)
		goto out;
	ap_sign_key_id(b->key, b->key_id);
	free(b->m->key_id);
	b->m->key_id = ap_strdup(b->key_id);
	b->n = b->m->n_components;
	b->found = calloc(b->n, sizeof(*b->found));
	b->files = calloc(b->n, sizeof(*b->files));
	if (!b->m->key_id || !b->found || !b->files) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = find_payloads(b, b->m, b->found, err);
out:
	free(src);
	return rc;
}

/* --compress auto: gzip only when a sample of the payloads shows it pays. */
static int choose_compression(struct build *b, struct ap_err *err)
{
	struct ap_probe p = { 0, 0, 0, 0 };
	int rc;

	b->comp = b->o->compress;
	if (!b->o->compress_auto)
		return 0;
	for (size_t i = 0; i < b->m->n_components; i++) {
		rc = ap_probe_add(&p, b->found[i].path, b->found[i].size, err);
		if (rc)
			return rc;
	}
	b->comp = ap_probe_worth_it(&p) ? AP_COMPRESS_GZIP : AP_COMPRESS_NONE;
	return 0;
}

/* A release no reader would accept is refused before anything is written;
 * the per-file SBOM is what grows with an archive's file count. */
static int too_big(const struct build *b, struct ap_err *err)
{
	size_t listed = 0;

	for (size_t i = 0; i < b->m->n_components; i++)
		listed += b->files[i].n;
	if (listed == 0)
		return ap_err_set(err, AP_E_INPUT,
				  "the release manifest would be %zu bytes, over the %u bytes an "
				  "installer accepts",
				  b->plen, AP_MANIFEST_MAX);
	return ap_err_set(err, AP_E_INPUT,
			  "the release manifest would be %zu bytes, over the %u bytes an installer "
			  "accepts: its SBOM lists %zu archived files (--sbom-files none lists "
			  "components only)",
			  b->plen, AP_MANIFEST_MAX, listed);
}

/* The manifest goes first in the bundle but needs the payloads' hashes:
 * emit it with placeholder hashes (and its SBOM, which lists every
 * archive's files, read now) to learn the exact lengths the bundle
 * reserves for the manifest and its signature. */
static int reserve_manifest(struct build *b, struct ap_err *err)
{
	struct ap_manifest *m = b->m;
	char *json = NULL;
	unsigned char *sig = NULL;
	int rc;

	for (size_t i = 0; i < m->n_components; i++) {
		struct ap_component *c = &m->components[i];

		c->size = b->found[i].size;
		c->has_size = true;
		b->found[i].pinned = c->has_sha256;
		if (!c->has_sha256)
			memset(c->sha256, '0', AP_SHA256_HEX - 1);
		c->sha256[AP_SHA256_HEX - 1] = '\0';
		c->has_sha256 = true;
	}
	for (size_t i = 0; i < m->n_components; i++) {
		if (m->components[i].action != AP_ACTION_EXTRACT || b->o->sbom_no_files)
			continue;
		rc = ap_sbom_scan_archive(b->found[i].path, &b->files[i], err);
		if (rc) {
			ap_err_prefix(err, "component '%s'", m->components[i].name);
			return rc;
		}
	}
	rc = ap_sbom_emit(m, b->files, b->o->sbom, b->o->mtime, &m->sbom, NULL, err);
	if (rc == 0)
		rc = ap_manifest_emit(m, &json, &b->plen, err);
	if (rc == 0 && b->plen > AP_MANIFEST_MAX)
		rc = too_big(b, err);
	if (rc == 0)
		rc = ap_sign(b->key, json, b->plen, &sig, &b->slen, err);
	free(json);
	free(sig);
	return rc;
}

/* Where the bundle goes: -o, else (a setup that carries its payloads)
 * straight into the setup, after its stub and key.  The setup is started
 * here, before the payloads are read; a detached one gets its
 * manifest-only bundle at the end (write_setup). */
static int plan_bundle(struct build *b, struct ap_err *err)
{
	const struct ap_build_opts *o = b->o;
	char *pem = NULL;
	size_t pem_len = 0;
	int rc;

	b->in_setup = o->sfx && !o->sfx_detached && !o->bundle;
	b->has_bundle = o->bundle || b->in_setup;
	if (!o->sfx)
		return 0;
	rc = ap_sign_key_public_pem(b->key, &pem, &pem_len, err);
	if (rc == 0)
		rc = ap_sfx_writer_open(o->sfx, b->stub, b->stub_platform, pem, pem_len,
					o->sfx_detached, &b->sfx, err);
	free(pem);
	return rc;
}

/* Output 1, the bundle: stream every payload into it once, hashing it. */
static int bundle_payloads(struct build *b, struct ap_err *err)
{
	const struct ap_progress_ops *p = b->o->progress;
	FILE *out = NULL;
	int rc = 0;

	if (b->in_setup)
		out = ap_sfx_writer_stream(b->sfx);
	else
		rc = ap_fsx_afile_open(&b->bundle, b->o->bundle, 0644, err);
	if (rc == 0 && !out)
		out = b->bundle.fp;
	if (rc == 0)
		rc = ap_bundle_writer_open(out, b->comp, b->o->level, b->o->mtime, b->plen, b->slen,
					   &b->w, err);
	for (size_t i = 0; rc == 0 && i < b->m->n_components; i++) {
		struct ap_component *c = &b->m->components[i];
		char hex[AP_SHA256_HEX];

		ap_progress_ops_start(p, c->file, c->size);
		rc = ap_bundle_writer_add_file(b->w, c->file, b->found[i].path, c->size, hex,
					       AP_PROGRESS_STEP(p), AP_PROGRESS_CTX(p), err);
		ap_progress_ops_end(p);
		if (rc) {
			ap_err_prefix(err, "component '%s'", c->name);
			return rc;
		}
		rc = check_pinned(c, &b->found[i], hex, err);
		if (rc == 0)
			memcpy(c->sha256, hex, AP_SHA256_HEX);
	}
	return rc;
}

/* Output 2, the offline folder: copy the payloads in (ap_layout writes
 * it), each checked against the size found and, when the bundle already
 * hashed them (checked), against that hash; otherwise the copy is the one
 * pass that hashes it (and checks a pinned sha256).  A payload that
 * differs never gets its final name. */
static int layout_payloads(struct build *b, bool checked, struct ap_err *err)
{
	const struct ap_progress_ops *p = b->o->progress;
	int rc;

	rc = ap_layout_open(b->o->layout, NULL, 0, &b->layout, err);
	for (size_t i = 0; rc == 0 && i < b->m->n_components; i++) {
		struct ap_component *c = &b->m->components[i];
		struct ap_sink_expect x = { b->found[i].path, true, c->size, NULL, NULL };
		char hex[AP_SHA256_HEX];

		if (checked || b->found[i].pinned)
			x.sha256 = c->sha256;
		ap_progress_ops_start(p, c->file, c->size);
		rc = ap_layout_copy_file(b->layout, c->file, b->found[i].path, &x,
					 AP_PROGRESS_STEP(p), AP_PROGRESS_CTX(p), hex, err);
		ap_progress_ops_end(p);
		if (rc == AP_E_DIGEST && checked) {
			ap_err_prefix(err, "component '%s' changed while building", c->name);
			return rc;
		}
		if (rc) {
			ap_err_prefix(err, "component '%s'", c->name);
			return rc;
		}
		memcpy(c->sha256, hex, AP_SHA256_HEX);
	}
	return rc;
}

/* Neither a bundle nor a folder reads the payloads (a detached setup
 * alone): hash them. */
static int hash_payloads(struct build *b, struct ap_err *err)
{
	const struct ap_progress_ops *p = b->o->progress;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < b->m->n_components; i++) {
		struct ap_component *c = &b->m->components[i];
		char hex[AP_SHA256_HEX];

		ap_progress_ops_start(p, c->file, c->size);
		rc = ap_digest_file(b->found[i].path, hex, NULL, AP_PROGRESS_STEP(p),
				    AP_PROGRESS_CTX(p), err);
		ap_progress_ops_end(p);
		if (rc == 0)
			rc = check_pinned(c, &b->found[i], hex, err);
		if (rc == 0)
			memcpy(c->sha256, hex, AP_SHA256_HEX);
	}
	return rc;
}

/* Read every payload once: the first writer that streams them hashes
 * them, the next checks its copies against that hash. */
static int stream_payloads(struct build *b, struct ap_err *err)
{
	int rc = 0;

	if (b->has_bundle)
		rc = bundle_payloads(b, err);
	if (rc == 0 && b->o->layout)
		rc = layout_payloads(b, b->has_bundle, err);
	if (rc == 0 && !b->has_bundle && !b->o->layout)
		rc = hash_payloads(b, err);
	return rc;
}

/* The release manifest with the real hashes (and SBOM), signed. */
static int sign_manifest(struct build *b, struct ap_err *err)
{
	int rc;

	free(b->m->sbom);
	b->m->sbom = NULL;
	rc = ap_sbom_emit(b->m, b->files, b->o->sbom, b->o->mtime, &b->m->sbom, NULL, err);
	if (rc == 0)
		rc = ap_manifest_emit(b->m, &b->json, &b->jlen, err);
	if (rc == 0)
		rc = ap_sign(b->key, b->json, b->jlen, &b->sig, &b->sig_len, err);
	return rc;
}

/* Finish the bundle.  One written into the setup is done (the setup is
 * committed last); a bundle of its own is copied into the setup, when
 * there is one that carries its payloads, from the stream it was written
 * on, then renamed into place. */
static int commit_bundle(struct build *b, struct ap_err *err)
{
	int rc = ap_bundle_writer_finish(b->w, b->json, b->jlen, b->sig, b->sig_len, err);

	if (rc || b->in_setup)
		return rc;
	if (b->sfx && !b->o->sfx_detached)
		rc = ap_sfx_writer_append(b->sfx, b->bundle.fp, b->bundle.tmp, err);
	if (rc == 0)
		rc = ap_fsx_afile_commit(&b->bundle, err);
	return rc;
}

/* Output 3, the setup, begun by plan_bundle (the stub and the signer's
 * public key) and holding the bundle already unless it is detached: then
 * a bundle of the signed manifest alone goes in now. */
static int write_setup(struct build *b, struct ap_err *err)
{
	struct ap_bundle_writer *w = NULL;
	int rc = 0;

	if (b->o->sfx_detached) {
		rc = ap_bundle_writer_open(ap_sfx_writer_stream(b->sfx), AP_COMPRESS_NONE, 0,
					   b->o->mtime, b->jlen, b->sig_len, &w, err);
		if (rc == 0)
			rc = ap_bundle_writer_finish(w, b->json, b->jlen, b->sig, b->sig_len, err);
		ap_bundle_writer_free(w);
	}
	if (rc == 0)
		rc = ap_sfx_writer_commit(b->sfx, err);
	return rc;
}

/* The signed manifest and signature go in last, in every output. */
static int commit_outputs(struct build *b, struct ap_err *err)
{
	int rc = 0;

	if (b->w)
		rc = commit_bundle(b, err);
	if (rc == 0 && b->layout)
		rc = ap_layout_commit(b->layout, b->json, b->jlen, b->sig, b->sig_len, NULL, err);
	if (rc == 0 && b->o->sfx)
		rc = write_setup(b, err);
	return rc;
}

static int check_opts(const struct ap_build_opts *o, struct ap_err *err)
{
	if (!o->source || !o->payloads || !o->key)
		return ap_err_set(err, AP_E_USAGE,
				  "building needs a source manifest, a payload folder and a key");
	if (!o->bundle && !o->layout && !o->sfx)
		return ap_err_set(err, AP_E_USAGE,
				  "nothing to write: no bundle, offline folder "
				  "or setup named");
	if (o->sfx && !o->sfx_stub && o->n_sfx_stubs == 0)
		return ap_err_set(err, AP_E_USAGE,
				  "a setup needs the airpack-setup stub to "
				  "start from");
	if (o->mtime < 0)
		return ap_err_set(err, AP_E_USAGE, "the build time must not be negative");
	if (o->sfx && o->sfx_stub && !ap_fsx_is_file(o->sfx_stub))
		return ap_err_set(err, AP_E_NOTFOUND, "setup stub '%s' does not exist",
				  o->sfx_stub);
	return 0;
}

/* The setup's stub: the one given, checked against the manifest's platform,
 * or the first candidate for that platform.  Before any output is written. */
static int choose_stub(struct build *b, struct ap_err *err)
{
	const struct ap_build_opts *o = b->o;
	const char *want = b->m->platform;
	const char *plat = NULL;
	struct ap_strbuf seen = AP_STRBUF_INIT;
	int rc;

	if (!o->sfx)
		return 0;
	if (o->sfx_stub) {
		rc = ap_platform_of_file(o->sfx_stub, &plat, err);
		if (rc)
			return rc;
		if (want && !ap_platform_matches(want, plat))
			return ap_err_set(err, AP_E_USAGE,
					  "--sfx-stub '%s' is %s%s, the release's platform is "
					  "'%s': give the airpack-setup built for '%s'",
					  o->sfx_stub, plat ? "for platform " : "not an executable",
					  plat ? plat : " this knows", want, want);
		b->stub = ap_strdup(o->sfx_stub);
		b->stub_platform = plat;
		return b->stub ? 0 : ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < o->n_sfx_stubs; i++) {
		struct ap_err e2 = AP_ERR_INIT;

		plat = NULL;
		if (!ap_fsx_is_file(o->sfx_stubs[i]) ||
		    ap_platform_of_file(o->sfx_stubs[i], &plat, &e2) != 0)
			continue;
		if (ap_platform_matches(want, plat)) {
			ap_strbuf_release(&seen);
			b->stub = ap_strdup(o->sfx_stubs[i]);
			b->stub_platform = plat;
			return b->stub ? 0 : ap_err_set(err, AP_E_NOMEM, "out of memory");
		}
		ap_strbuf_addf(&seen, "%s'%s' (%s)", seen.len ? ", " : "", o->sfx_stubs[i],
			       plat ? plat : "unknown");
	}
	rc = ap_err_set(err, AP_E_NOTFOUND,
			"no airpack-setup stub for platform '%s'%s%s: pass --sfx-stub PATH",
			want ? want : "any", seen.len ? "; found " : "", seen.len ? seen.buf : "");
	ap_strbuf_release(&seen);
	return rc;
}

static void build_release(struct build *b, bool ok)
{
	if (!ok)
		ap_fsx_afile_abort(&b->bundle);
	ap_bundle_writer_free(b->w);
	ap_sfx_writer_free(b->sfx);
	ap_layout_free(b->layout);
	for (size_t i = 0; b->found && i < b->n; i++)
		free(b->found[i].path);
	free(b->found);
	for (size_t i = 0; b->files && i < b->n; i++)
		ap_sbom_files_release(&b->files[i]);
	free(b->files);
	ap_manifest_free(b->m);
	ap_sign_key_free(b->key);
	free(b->json);
	free(b->sig);
	free(b->stub);
	ap_strvec_release(&b->warnings);
}

int ap_build(const struct ap_build_opts *o, struct ap_build_result *res, struct ap_err *err)
{
	struct build b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.bundle = (struct ap_fsx_afile)AP_AFILE_INIT;
	rc = check_opts(o, err);
	if (rc == 0)
		rc = load_inputs(&b, err);
	if (rc == 0)
		rc = choose_stub(&b, err);
	if (rc == 0)
		rc = choose_compression(&b, err);
	if (rc == 0)
		rc = check_windows_names(&b, err);
	if (rc == 0)
		rc = measure_extracts(&b, err);
	if (rc == 0)
		rc = reserve_manifest(&b, err);
	if (rc == 0)
		rc = plan_bundle(&b, err);
	if (rc == 0)
		rc = stream_payloads(&b, err);
	if (rc == 0)
		rc = sign_manifest(&b, err);
	if (rc == 0)
		rc = commit_outputs(&b, err);
	if (rc == 0) {
		res->manifest = b.m;
		b.m = NULL;
		memcpy(res->key_id, b.key_id, sizeof(res->key_id));
		res->compress = b.comp;
		res->level = o->level;
		res->warnings = b.warnings;
		ap_strvec_init(&b.warnings);
		res->sfx_stub = b.stub;
		res->sfx_stub_platform = b.stub_platform;
		b.stub = NULL;
	}
	build_release(&b, rc == 0);
	return rc;
}

void ap_build_result_release(struct ap_build_result *res)
{
	ap_manifest_free(res->manifest);
	res->manifest = NULL;
	ap_strvec_release(&res->warnings);
	free(res->sfx_stub);
	res->sfx_stub = NULL;
}
