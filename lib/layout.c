/* layout.c - the one writer of offline folders; see airpack/layout.h. */
#include <stdlib.h>
#include <string.h>

#include "airpack/bundle.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/root.h"
#include "airpack/str.h"
#include "airpack/banned.h"

struct ap_layout {
	char *dir;
	bool kept;
	size_t temps_removed;
};

/* True when dir/manifest.json holds exactly json. */
static bool holds_manifest(const char *dir, const char *json, size_t len)
{
	char *path = ap_fsx_path_join(dir, AP_BUNDLE_MANIFEST);
	char *buf = NULL;
	size_t got = 0;
	bool same = false;

	if (path && ap_fsx_is_file(path) &&
	    ap_fsx_read_file(path, AP_MANIFEST_MAX, &buf, &got, NULL) == 0)
		same = got == len && memcmp(buf, json, len) == 0;
	free(buf);
	free(path);
	return same;
}

/* The manifest first: without it the folder no longer claims anything,
 * whatever happens to the signature or the payloads next. */
static int drop_manifest(const char *dir, struct ap_err *err)
{
	static const char *const names[] = { AP_BUNDLE_MANIFEST, AP_BUNDLE_SIG };
	bool any = false;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = ap_fsx_path_join(dir, names[i]);
		struct ap_stat st;

		if (!path)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		rc = ap_fsx_stat(path, &st, err);
		if (rc == 0 && st.type == AP_FT_DIR)
			rc = ap_err_set(err, AP_E_EXISTS,
					"'%s' is a folder: an offline folder's '%s' must be a file",
					path, names[i]);
		if (rc == 0 && st.type != AP_FT_NONE) {
			rc = ap_fsx_unlink(path, err);
			any = true;
		}
		free(path);
	}
	if (rc == 0 && any)
		rc = ap_fsx_fsync_dir(dir, err);
	return rc;
}

int ap_layout_open(const char *dir, const char *keep_json, size_t keep_len, struct ap_layout **out,
		   struct ap_err *err)
{
	struct ap_layout *l;
	int rc;

	if (ap_fsx_is_file(dir))
		return ap_err_set(err, AP_E_EXISTS, "offline folder '%s' is a file, not a folder",
				  dir);
	l = calloc(1, sizeof(*l));
	if (!l)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	l->dir = ap_strdup(dir);
	if (!l->dir) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto fail;
	}
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = ap_fsx_remove_temps(dir, NULL, &l->temps_removed, err);
	if (rc)
		goto fail;
	if (keep_json && holds_manifest(dir, keep_json, keep_len)) {
		l->kept = true;
	} else {
		rc = drop_manifest(dir, err);
		if (rc)
			goto fail;
	}
	*out = l;
	return 0;
fail:
	ap_err_prefix(err, "offline folder '%s'", dir);
	ap_layout_free(l);
	return rc;
}

const char *ap_layout_dir(const struct ap_layout *l)
{
	return l->dir;
}

bool ap_layout_kept_manifest(const struct ap_layout *l)
{
	return l->kept;
}

size_t ap_layout_temps_removed(const struct ap_layout *l)
{
	return l->temps_removed;
}

static int payload_path(const struct ap_layout *l, const char *name, char **out, struct ap_err *err)
{
	if (!ap_manifest_safe_name(name) || ap_manifest_reserved_name(name) ||
	    ap_fsx_is_temp_name(name, NULL))
		return ap_err_set(err, AP_E_UNSAFE,
				  "offline folder '%s': '%s' cannot be a payload's name there",
				  l->dir, name ? name : "");
	*out = ap_fsx_path_join(l->dir, name);
	if (!*out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

int ap_layout_sink_open(struct ap_layout *l, const char *name, const struct ap_sink_expect *x,
			struct ap_sink *s, struct ap_err *err)
{
	char *path = NULL;
	int rc;

	rc = payload_path(l, name, &path, err);
	if (rc == 0)
		rc = ap_sink_open(s, path, 0644, x, err);
	free(path);
	return rc;
}

int ap_layout_copy_file(struct ap_layout *l, const char *name, const char *src,
			const struct ap_sink_expect *x, void (*progress)(void *ctx, uint64_t done),
			void *ctx, char hex[AP_SHA256_HEX], struct ap_err *err)
{
	char *path = NULL;
	int rc;

	rc = payload_path(l, name, &path, err);
	if (rc == 0)
		rc = ap_sink_copy_file(src, path, 0644, x, progress, ctx, hex, err);
	free(path);
	return rc;
}

bool ap_layout_has(const struct ap_layout *l, const char *name, uint64_t size, const char *sha256)
{
	char *path = ap_fsx_path_join(l->dir, name);
	char hex[AP_SHA256_HEX];
	struct ap_stat st;
	uint64_t got = 0;
	bool same = false;

	if (path && ap_fsx_stat(path, &st, NULL) == 0 && st.type == AP_FT_FILE && st.size == size &&
	    ap_digest_file(path, hex, &got, NULL, NULL, NULL) == 0)
		same = got == size && ap_digest_eq(hex, sha256);
	free(path);
	return same;
}

struct clean_ctx {
	const struct ap_manifest *m;
	void (*on_removed)(void *ctx, const char *name);
	void *ctx;
};

/* A name the release does not own: not a payload, manifest or signature. */
static bool pick_stale(void *ctx, const char *name)
{
	const struct clean_ctx *c = ctx;

	return !ap_manifest_names_file(c->m, name) && strcmp(name, AP_BUNDLE_MANIFEST) != 0 &&
	       strcmp(name, AP_BUNDLE_SIG) != 0;
}

static void tell_removed(void *ctx, const char *name)
{
	const struct clean_ctx *c = ctx;

	if (c->on_removed)
		c->on_removed(c->ctx, name);
}

int ap_layout_clean(struct ap_layout *l, const struct ap_manifest *m,
		    void (*on_removed)(void *ctx, const char *name), void *ctx, size_t *removed,
		    struct ap_err *err)
{
	struct clean_ctx c = { m, on_removed, ctx };

	return ap_fsx_remove_files(l->dir, pick_stale, tell_removed, &c, removed, err);
}

int ap_layout_put_sigs(struct ap_layout *l, const struct ap_sigset *sigs, struct ap_err *err)
{
	char *path;
	int rc = 0;

	if (!sigs || sigs->n == 0)
		return 0;
	path = ap_fsx_path_join(l->dir, AP_BUNDLE_MANIFEST);
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	/* Only keyed ones: the plain .sig is the release's own, written by
	 * ap_layout_commit. */
	for (size_t i = 0; rc == 0 && i < sigs->n; i++)
		if (sigs->v[i].key_id[0]) {
			struct ap_sigset one = { &sigs->v[i], 1 };

			rc = ap_root_sigset_write(&one, path, err);
		}
	free(path);
	return rc;
}

int ap_layout_commit(struct ap_layout *l, const char *json, size_t jlen, const unsigned char *sig,
		     size_t slen, const struct ap_sigset *sigs, struct ap_err *err)
{
	char *path;
	int rc;

	path = ap_fsx_path_join(l->dir, AP_BUNDLE_SIG);
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_write_atomic(path, sig, slen, 0644, err);
	free(path);
	if (rc == 0)
		rc = ap_layout_put_sigs(l, sigs, err);
	if (rc)
		return rc;
	path = ap_fsx_path_join(l->dir, AP_BUNDLE_MANIFEST);
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_write_atomic(path, json, jlen, 0644, err);
	free(path);
	if (rc == 0)
		l->kept = true;
	return rc;
}

void ap_layout_free(struct ap_layout *l)
{
	if (!l)
		return;
	free(l->dir);
	free(l);
}

int ap_layout_check(const char *dir, const struct ap_release *r, const struct ap_source_plan *p,
		    ap_layout_bad_fn on_bad, void *ctx, size_t *bad, struct ap_err *err)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_items; i++) {
		const struct ap_source_item *it = &p->items[i];
		char *want = ap_fsx_path_join(dir, it->c->file);
		bool ok;

		if (!want)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		ok = (it->kind == AP_SOURCE_LOCAL && strcmp(it->path, want) == 0) ||
		     it->kind == AP_SOURCE_SKIPPED;
		free(want);
		if (ok)
			continue;
		n++;
		if (on_bad)
			on_bad(ctx, it->c->file, it->why);
	}
	if (!holds_manifest(dir, r->manifest_json, r->manifest_len)) {
		n++;
		if (on_bad)
			on_bad(ctx, AP_BUNDLE_MANIFEST, NULL);
	}
	if (bad)
		*bad = n;
	if (n)
		return ap_err_set(err, AP_E_DIFFERS,
				  "layout '%s': %zu file%s missing or invalid: run with --fix to "
				  "repair",
				  dir, n, n == 1 ? "" : "s");
	return 0;
}

/* The plan's local payloads that sit in another folder, copied in. */
static int copy_local(struct ap_layout *l, const struct ap_layout_fill *f, size_t *copied,
		      struct ap_err *err)
{
	const struct ap_source_plan *p = f->plan;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < p->n_items; i++) {
		const struct ap_source_item *it = &p->items[i];
		struct ap_sink_expect x = { it->path, true, it->c->size, it->c->sha256,
					    "the signed manifest says" };
		char *path;
		bool here;

		if (it->kind != AP_SOURCE_LOCAL)
			continue;
		path = ap_fsx_path_join(l->dir, it->c->file);
		if (!path)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		here = strcmp(path, it->path) == 0;
		free(path);
		if (here)
			continue;
		/* Checked again while copying: the planned file may have changed. */
		rc = ap_layout_copy_file(l, it->c->file, it->path, &x, NULL, NULL, NULL, err);
		if (rc) {
			ap_err_prefix(err, "component '%s'", it->c->name);
			return rc;
		}
		(*copied)++;
		if (f->on_copied)
			f->on_copied(f->ctx, it->c->file, it->path);
	}
	return rc;
}

int ap_layout_fill(const struct ap_layout_fill *f, size_t *copied, size_t *removed,
		   struct ap_err *err)
{
	const struct ap_release *r = f->r;
	struct ap_source_opts so = *f->src;
	struct ap_layout *l = NULL;
	size_t n_copied = 0, n_removed = 0;
	int rc;

	/* Another release's manifest must not describe payloads being
	 * replaced: the writer drops it now, the new one goes in last. */
	rc = ap_layout_open(f->dir, r->manifest_json, r->manifest_len, &l, err);
	if (rc == 0)
		rc = copy_local(l, f, &n_copied, err);
	so.work_dir = f->dir;
	so.work_mode = 0644; /* the mode every payload of an offline folder gets */
	if (rc == 0)
		rc = ap_source_fetch(r, f->plan, &so, err);
	if (rc == 0 && f->clean)
		rc = ap_layout_clean(l, r->manifest, f->on_removed, f->ctx, &n_removed, err);
	if (rc == 0)
		rc = ap_layout_commit(l, r->manifest_json, r->manifest_len, r->sig, r->sig_len,
				      &r->sigs, err);
	ap_layout_free(l);
	if (rc == 0 && copied)
		*copied = n_copied;
	if (rc == 0 && removed)
		*removed = n_removed;
	return rc;
}
