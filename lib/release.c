/* release.c - open a release from a folder, manifest, bundle or setup, and
 * check its signature and payloads; see airpack/release.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/release.h"
#include "airpack/root.h"
#include "airpack/str.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/sfx.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define READ_BUF (1u << 20)

static int finish_open(struct ap_release *r, struct ap_err *err)
{
	int rc;

	ap_digest_hex(r->manifest_json, r->manifest_len, r->manifest_sha256);
	rc = ap_manifest_parse(r->manifest_json, r->manifest_len, AP_MANIFEST_RELEASE, &r->manifest,
			       err);
	if (rc) {
		ap_err_prefix(err, "release manifest in '%s'", r->path);
		return rc;
	}
	return 0;
}

static int open_files(struct ap_release *r, const char *manifest_path, struct ap_err *err)
{
	char *sig_path = NULL;
	char *sig = NULL;
	size_t sig_len = 0;
	int rc;

	rc = ap_fsx_read_file(manifest_path, AP_MANIFEST_MAX, &r->manifest_json, &r->manifest_len,
			      err);
	if (rc)
		goto out;
	sig_path = malloc(strlen(manifest_path) + 5);
	if (!sig_path) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(sig_path, strlen(manifest_path) + 5, "%s.sig", manifest_path);
	if (!ap_fsx_is_file(sig_path)) {
		rc = ap_err_set(err, AP_E_SIGNATURE, "release '%s' is not signed: '%s' is missing",
				r->path, sig_path);
		goto out;
	}
	rc = ap_fsx_read_file(sig_path, AP_SIG_MAX, &sig, &sig_len, err);
	if (rc)
		goto out;
	r->sig = (unsigned char *)sig;
	r->sig_len = sig_len;
	sig = NULL;
	rc = finish_open(r, err);
out:
	free(sig);
	free(sig_path);
	return rc;
}

/* Keep copies of the manifest and signature bytes (the manifest
 * NUL-terminated), then parse. */
static int open_copies(struct ap_release *r, const char *m, size_t mlen, const unsigned char *s,
		       size_t slen, struct ap_err *err)
{
	r->manifest_json = ap_strndup(m, mlen);
	r->sig = (unsigned char *)ap_strndup((const char *)s, slen);
	if (!r->manifest_json || !r->sig)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	r->manifest_len = mlen;
	r->sig_len = slen;
	return finish_open(r, err);
}

static int open_bundle(struct ap_release *r, struct ap_err *err)
{
	struct ap_bundle_reader *br = NULL;
	const char *m;
	const unsigned char *s;
	size_t mlen, slen;
	int rc;

	rc = ap_bundle_reader_open(r->path, r->offset, r->length, &br, err);
	if (rc)
		return rc;
	m = ap_bundle_reader_manifest(br, &mlen);
	s = ap_bundle_reader_sig(br, &slen);
	rc = open_copies(r, m, mlen, s, slen, err);
	ap_bundle_reader_free(br);
	return rc;
}

static int read_range(const char *path, uint64_t off, uint64_t len, char **out, struct ap_err *err)
{
	FILE *fp = NULL;
	char *buf;
	int rc;

	if (len > AP_SIG_MAX * 4)
		return ap_err_set(err, AP_E_TOOBIG, "embedded key in '%s' is too large", path);
	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc)
		return rc;
	buf = malloc((size_t)len + 1);
	if (!buf) {
		fclose(fp);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (fseeko(fp, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, (size_t)len, fp) != len) {
		free(buf);
		fclose(fp);
		return ap_err_set(err, AP_E_TRUNCATED, "cannot read the embedded key of '%s'",
				  path);
	}
	buf[len] = '\0';
	fclose(fp);
	*out = buf;
	return 0;
}

int ap_release_add_sigs(struct ap_release *r, const struct ap_sigset *s, struct ap_err *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->n; i++)
		if (s->v[i].key_id[0])
			rc = ap_root_sigset_add(&r->sigs, s->v[i].key_id, s->v[i].sig, s->v[i].len,
						err);
	return rc;
}

/* The per-key signatures beside the manifest file base in r->dir. */
static int load_sigs(struct ap_release *r, const char *base, struct ap_err *err)
{
	struct ap_sigset all = AP_SIGSET_INIT;
	int rc;

	rc = ap_root_sigset_load(r->dir, base, &all, err);
	if (rc == 0)
		rc = ap_release_add_sigs(r, &all, err);
	ap_root_sigset_release(&all);
	return rc;
}

/* Detects and opens each release form (bundle, setup, folder, manifest) in one documented
 * order. */
int ap_release_open(const char *path, struct ap_release **out, struct ap_err *err)
{
	struct ap_release *r;
	struct ap_stat st;
	struct ap_sfx_info sfx;
	char *mpath = NULL;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	r->path = ap_strdup(path);
	if (!r->path) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_stat(path, &st, err);
	if (rc)
		goto out;
	if (st.type == AP_FT_NONE) {
		rc = ap_err_set(err, AP_E_NOTFOUND, "'%s' does not exist", path);
		goto out;
	}
	if (st.type == AP_FT_DIR) {
		r->kind = AP_RELEASE_DIR;
		r->dir = ap_strdup(path);
		mpath = ap_fsx_path_join(path, AP_BUNDLE_MANIFEST);
		if (!r->dir || !mpath) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		if (!ap_fsx_is_file(mpath)) {
			rc = ap_err_set(err, AP_E_NOTFOUND,
					"'%s' is not an offline folder: it has no manifest.json",
					path);
			goto out;
		}
		rc = open_files(r, mpath, err);
		if (rc == 0)
			rc = load_sigs(r, AP_BUNDLE_MANIFEST, err);
		goto out;
	}
	r->dir = ap_fsx_path_dirname(path);
	if (!r->dir) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_sfx_probe(path, &sfx, err);
	if (rc == 0) {
		r->kind = AP_RELEASE_SFX;
		rc = ap_sfx_check(path, &sfx, err);
		if (rc)
			goto out;
		r->offset = sfx.bundle_off;
		r->length = sfx.bundle_len;
		r->sfx_detached = sfx.detached;
		if (sfx.key_len) {
			rc = read_range(path, sfx.key_off, sfx.key_len, &r->embedded_pub, err);
			if (rc)
				goto out;
			r->embedded_pub_len = (size_t)sfx.key_len;
		}
		rc = open_bundle(r, err);
		goto out;
	}
	if (rc != AP_E_NOTFOUND)
		goto out;
	ap_err_clear(err);
	{
		size_t n = strlen(path);
		if (n > 5 && strcmp(path + n - 5, ".json") == 0) {
			r->kind = AP_RELEASE_MANIFEST;
			rc = open_files(r, path, err);
			if (rc == 0)
				rc = load_sigs(r, ap_fsx_path_basename(path), err);
			goto out;
		}
	}
	r->kind = AP_RELEASE_BUNDLE;
	r->offset = 0;
	r->length = st.size;
	rc = open_bundle(r, err);
out:
	free(mpath);
	if (rc) {
		ap_release_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int ap_release_from_mem(const char *manifest, size_t mlen, const unsigned char *sig, size_t slen,
			const char *dir, struct ap_release **out, struct ap_err *err)
{
	struct ap_release *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	r->kind = AP_RELEASE_MANIFEST;
	r->path = ap_strdup(dir ? dir : "(downloaded)");
	r->dir = ap_strdup(dir);
	if (!r->path || (dir && !r->dir)) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = open_copies(r, manifest, mlen, sig, slen, err);
out:
	if (rc) {
		ap_release_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int ap_release_check_root(struct ap_release *r, const struct ap_root *root,
			  const struct ap_sigset *extra, bool insecure, struct ap_err *err)
{
	struct ap_sigset s = AP_SIGSET_INIT;
	char what[AP_ERR_MSG_MAX / 2];
	const char *id = r->manifest->key_id;
	int rc = 0;

	if (r->sig && r->sig_len)
		rc = ap_root_sigset_add(&s,
					id && ap_str_is_lower_hex(id, AP_KEY_ID_LEN - 1) ? id
											 : NULL,
					r->sig, r->sig_len, err);
	for (size_t i = 0; rc == 0 && i < r->sigs.n; i++)
		rc = ap_root_sigset_add(&s, r->sigs.v[i].key_id, r->sigs.v[i].sig, r->sigs.v[i].len,
					err);
	for (size_t i = 0; rc == 0 && extra && i < extra->n; i++)
		rc = ap_root_sigset_add(&s, extra->v[i].key_id, extra->v[i].sig, extra->v[i].len,
					err);
	if (rc == 0) {
		snprintf(what, sizeof(what), "release '%s'", r->path);
		rc = ap_root_verify(root, AP_ROLE_RELEASE, what, r->manifest_json, r->manifest_len,
				    &s, r->signer_id, NULL, err);
	}
	ap_root_sigset_release(&s);
	if (rc == 0) {
		r->sig_checked = true;
		return 0;
	}
	if (insecure)
		return 0;
	return rc;
}

int ap_release_check_sig(struct ap_release *r, const struct ap_sign_trust *trust, bool insecure,
			 struct ap_err *err)
{
	int rc;

	if (!trust) {
		rc = ap_err_set(err, AP_E_UNTRUSTED,
				"no trusted keys to check release '%s' against", r->path);
	} else {
		rc = ap_sign_trust_verify(trust, r->manifest->key_id, r->manifest_json,
					  r->manifest_len, r->sig, r->sig_len, r->signer_id, err);
	}
	if (rc == 0) {
		r->sig_checked = true;
		return 0;
	}
	ap_err_prefix(err, "release '%s'", r->path);
	if (insecure)
		return 0;
	return rc;
}

static void report(ap_payload_check_fn fn, void *ctx, struct ap_payload_check *chk, bool *all_ok)
{
	if (!chk->ok)
		*all_ok = false;
	if (fn)
		fn(ctx, chk);
}

/* Look a component up in a folder by file name then aliases; the first
 * candidate that holds the right bytes wins.  When none does, the first
 * mismatch found is what gets reported. */
static void check_in_dir(const struct ap_release *r, const struct ap_component *c,
			 ap_payload_check_fn fn, void *ctx, bool *all_ok)
{
	struct ap_payload_check chk, bad;
	char problem[AP_ERR_MSG_MAX] = "";
	char *bad_path = NULL;

	memset(&bad, 0, sizeof(bad));
	for (size_t i = 0; i <= c->n_aliases; i++) {
		const char *name = i == 0 ? c->file : c->aliases[i - 1];
		char *path = ap_fsx_path_join(r->dir, name);
		struct ap_err e = AP_ERR_INIT;
		uint64_t size = 0;
		struct ap_stat st;

		if (!path)
			break;
		if (ap_fsx_stat(path, &st, &e) != 0 || st.type != AP_FT_FILE) {
			free(path);
			continue;
		}
		memset(&chk, 0, sizeof(chk));
		chk.c = c;
		chk.found = true;
		chk.size = st.size;
		if (st.size == c->size &&
		    ap_digest_file(path, chk.sha256, &size, NULL, NULL, &e) == 0 &&
		    ap_digest_eq(chk.sha256, c->sha256)) {
			chk.where = path;
			chk.ok = true;
			report(fn, ctx, &chk, all_ok);
			free(path);
			free(bad_path);
			return;
		}
		if (bad_path) {
			free(path);
			continue;
		}
		if (st.size != c->size)
			snprintf(problem, sizeof(problem), "'%s' has size %llu, expected %llu",
				 name, (unsigned long long)st.size, (unsigned long long)c->size);
		else if (e.code)
			snprintf(problem, sizeof(problem), "%s", e.msg);
		else
			snprintf(problem, sizeof(problem), "'%s' has sha256 %s, expected %s", name,
				 chk.sha256, c->sha256);
		bad = chk;
		bad_path = path;
	}
	if (bad_path) {
		bad.where = bad_path;
		bad.problem = problem;
		report(fn, ctx, &bad, all_ok);
		free(bad_path);
		return;
	}
	memset(&chk, 0, sizeof(chk));
	chk.c = c;
	chk.where = r->dir;
	snprintf(problem, sizeof(problem), "'%s' is missing", c->file);
	chk.problem = problem;
	report(fn, ctx, &chk, all_ok);
}

int ap_release_walk_bundle(const struct ap_release *r, ap_release_entry_fn fn, void *ctx,
			   struct ap_err *err)
{
	const struct ap_manifest *m = r->manifest;
	struct ap_bundle_reader *br = NULL;
	size_t next = 0;
	int rc;

	if (r->kind != AP_RELEASE_BUNDLE && r->kind != AP_RELEASE_SFX)
		return ap_err_set(err, AP_E_USAGE, "release '%s' is not a bundle", r->path);
	rc = ap_bundle_reader_open(r->path, r->offset, r->length, &br, err);
	if (rc)
		return rc;
	for (;;) {
		struct ap_release_entry e;
		const char *name;
		uint64_t size;
		size_t idx = m->n_components;

		rc = ap_bundle_reader_next(br, &name, &size, err);
		if (rc <= 0)
			break;
		for (size_t i = 0; i < m->n_components; i++) {
			if (strcmp(m->components[i].file, name) == 0) {
				idx = i;
				break;
			}
		}
		if (idx == m->n_components) {
			rc = ap_err_set(err, AP_E_BUNDLE,
					"bundle '%s' holds '%s', which the manifest does not name",
					r->path, name);
			break;
		}
		if (r->sfx_detached) {
			rc = ap_err_set(
				err, AP_E_BUNDLE,
				"bundle '%s' of a detached setup holds payload '%s': it must "
				"hold only the manifest and its signature",
				r->path, name);
			break;
		}
		if (idx < next) {
			rc = ap_err_set(err, AP_E_BUNDLE, "bundle '%s' holds '%s' twice", r->path,
					name);
			break;
		}
		if (idx > next) {
			rc = ap_err_set(err, AP_E_BUNDLE,
					"bundle '%s' holds '%s' where '%s' (component '%s') should "
					"be: a bundle holds the payloads in manifest order",
					r->path, name, m->components[next].file,
					m->components[next].name);
			break;
		}
		next++;
		e.index = idx;
		e.c = &m->components[idx];
		e.size = size;
		e.br = br;
		rc = fn ? fn(ctx, &e, err) : 0;
		if (rc)
			break;
	}
	if (rc == 0 && !r->sfx_detached && next < m->n_components)
		rc = ap_err_set(err, AP_E_BUNDLE, "bundle '%s' lacks '%s' (component '%s')",
				r->path, m->components[next].file, m->components[next].name);
	ap_bundle_reader_free(br);
	return rc < 0 ? rc : 0;
}

struct check_ctx {
	ap_payload_check_fn fn;
	void *ctx;
	bool *all_ok;
	struct ap_digest *h;
	unsigned char *buf;
};

static int check_entry(void *ctx, const struct ap_release_entry *e, struct ap_err *err)
{
	struct check_ctx *k = ctx;
	char problem[AP_ERR_MSG_MAX];
	struct ap_payload_check chk;
	uint64_t total = 0;
	size_t got;
	int rc;

	ap_digest_reset(k->h);
	do {
		rc = ap_bundle_reader_read(e->br, k->buf, READ_BUF, &got, err);
		if (rc)
			return rc;
		ap_digest_update(k->h, k->buf, got);
		total += got;
	} while (got > 0);
	memset(&chk, 0, sizeof(chk));
	chk.c = e->c;
	chk.where = "bundle";
	chk.found = true;
	chk.size = total;
	ap_digest_final_hex(k->h, chk.sha256);
	if (total != e->c->size) {
		snprintf(problem, sizeof(problem), "size %llu, expected %llu",
			 (unsigned long long)total, (unsigned long long)e->c->size);
		chk.problem = problem;
	} else if (!ap_digest_eq(chk.sha256, e->c->sha256)) {
		snprintf(problem, sizeof(problem), "sha256 %s, expected %s", chk.sha256,
			 e->c->sha256);
		chk.problem = problem;
	} else {
		chk.ok = true;
	}
	report(k->fn, k->ctx, &chk, k->all_ok);
	return 0;
}

static int check_in_bundle(const struct ap_release *r, ap_payload_check_fn fn, void *ctx,
			   bool *all_ok, struct ap_err *err)
{
	struct check_ctx k = { fn, ctx, all_ok, NULL, NULL };
	int rc;

	k.buf = malloc(READ_BUF);
	k.h = ap_digest_new();
	if (!k.buf || !k.h)
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
	else
		rc = ap_release_walk_bundle(r, check_entry, &k, err);
	ap_digest_free(k.h);
	free(k.buf);
	return rc;
}

int ap_release_check_payloads(const struct ap_release *r, ap_payload_check_fn fn, void *ctx,
			      struct ap_err *err)
{
	bool all_ok = true;
	int rc;

	if (r->kind == AP_RELEASE_BUNDLE || (r->kind == AP_RELEASE_SFX && !r->sfx_detached)) {
		rc = check_in_bundle(r, fn, ctx, &all_ok, err);
		if (rc)
			return rc;
	} else {
		if (!r->dir)
			return ap_err_set(err, AP_E_USAGE, "release '%s' has no payload folder",
					  r->path);
		for (size_t i = 0; i < r->manifest->n_components; i++)
			check_in_dir(r, &r->manifest->components[i], fn, ctx, &all_ok);
	}
	if (!all_ok)
		return ap_err_set(err, AP_E_DIFFERS, "release '%s' has missing or invalid payloads",
				  r->path);
	return 0;
}

void ap_release_free(struct ap_release *r)
{
	if (!r)
		return;
	ap_manifest_free(r->manifest);
	free(r->manifest_json);
	free(r->sig);
	free(r->embedded_pub);
	ap_root_sigset_release(&r->sigs);
	free(r->path);
	free(r->dir);
	free(r);
}
