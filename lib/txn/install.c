/* txn/install.c - the install transaction: checks, the receipt, other products, the switch; see airpack/txn.h and docs/install-transaction.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/bounds.h"
#include "airpack/digest.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/platform.h"
#include "airpack/process.h"
#include "airpack/receipt.h"
#include "airpack/sink.h"
#include "airpack/state.h"
#include "airpack/txn.h"
#include "airpack/winname.h"
#include "airpack/bundle.h"
#include "txn/internal.h"
#include "airpack/testhook.h"
#include "airpack/banned.h"

static int cmp_rec(const void *a, const void *b)
{
	const struct ap_receipt_file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static int add_action(struct ap_receipt *r, const struct ap_manifest *m,
		      const struct ap_component *c, struct ap_err *err)
{
	struct ap_receipt_action *grown, *a;

	grown = ap_vec_grow(r->pending, NULL, r->n_pending + 1, sizeof(*grown));
	if (!grown)
		return txn_nomem(err, "recording actions");
	r->pending = grown;
	a = &r->pending[r->n_pending];
	memset(a, 0, sizeof(*a));
	r->n_pending++;
	a->component = ap_strdup(c->name);
	a->program = ap_fsx_path_join(m->prefix, ap_manifest_component_dest(c));
	a->n_ok_codes = c->n_ok_codes ? c->n_ok_codes : 1;
	a->ok_codes = calloc(a->n_ok_codes, sizeof(*a->ok_codes));
	if (c->n_args > 0)
		a->args = calloc(c->n_args, sizeof(*a->args));
	if (!a->component || !a->program || !a->ok_codes || (c->n_args > 0 && !a->args))
		return txn_nomem(err, "recording actions");
	if (c->n_ok_codes)
		memcpy(a->ok_codes, c->ok_codes, c->n_ok_codes * sizeof(*a->ok_codes));
	if (c->n_reboot_codes) {
		a->reboot_codes = calloc(c->n_reboot_codes, sizeof(*a->reboot_codes));
		if (!a->reboot_codes)
			return txn_nomem(err, "recording actions");
		memcpy(a->reboot_codes, c->reboot_codes,
		       c->n_reboot_codes * sizeof(*a->reboot_codes));
		a->n_reboot_codes = c->n_reboot_codes;
	}
	for (size_t i = 0; i < c->n_args; i++) {
		a->args[i] = ap_strdup(c->args[i]);
		if (!a->args[i])
			return txn_nomem(err, "recording actions");
		a->n_args++;
	}
	return 0;
}

static int dup_strv(char **src, size_t n, char ***out, struct ap_err *err)
{
	char **v;

	*out = NULL;
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return txn_nomem(err, "building the receipt");
	*out = v;
	for (size_t i = 0; i < n; i++) {
		v[i] = ap_strdup(src[i]);
		if (!v[i])
			return txn_nomem(err, "building the receipt");
	}
	return 0;
}

static bool skipped(const struct inst *s, const char *name)
{
	for (size_t i = 0; i < s->skipped.n; i++)
		if (strcmp(s->skipped.v[i], name) == 0)
			return true;
	return false;
}

/* The receipt's release fields and data folders. */
static int receipt_head(struct inst *s, const char *manifest_sha, struct ap_receipt *r,
			struct ap_err *err)
{
	const struct ap_manifest *m = s->m;
	int rc;

	r->product = ap_strdup(m->product);
	r->version = ap_strdup(m->version);
	r->channel = ap_strdup(m->channel);
	r->platform = ap_strdup(m->platform);
	r->prefix = ap_strdup(m->prefix);
	r->key_id = ap_strdup(m->key_id);
	r->insecure = s->insecure;
	r->pinned_version = ap_strdup(s->o->pin);
	if (s->fresh_note) {
		r->freshness = ap_strdup(s->fresh_note);
		if (!r->freshness)
			return txn_nomem(err, "building the receipt");
	}
	if (!r->product || !r->version || !r->prefix || (m->channel && !r->channel) ||
	    (m->platform && !r->platform) || (m->key_id && !r->key_id) ||
	    (s->o->pin && !r->pinned_version))
		return txn_nomem(err, "building the receipt");
	memcpy(r->manifest_sha256, manifest_sha, AP_SHA256_HEX);
	r->installed_at = ap_fsx_now();
	rc = dup_strv(m->data_dirs, m->n_data_dirs, &r->data_dirs, err);
	if (rc < 0)
		return rc;
	r->n_data_dirs = m->n_data_dirs;
	if (s->created_data.n > 1)
		qsort(s->created_data.v, s->created_data.n, sizeof(*s->created_data.v),
		      txn_cmp_strp);
	rc = dup_strv(s->created_data.v, s->created_data.n, &r->created_data_dirs, err);
	if (rc < 0)
		return rc;
	r->n_created_data_dirs = s->created_data.n;
	r->has_created_data_dirs = true;
	return 0;
}

/* Folders: the prefix and the release's folders in it, those made outside
 * it now, and those an earlier install made outside it; sorted, once. */
static int receipt_dirs(struct inst *s, struct ap_receipt *r, struct ap_err *err)
{
	const struct ap_manifest *m = s->m;
	struct ap_strvec dirs = AP_STRVEC_INIT;
	int rc;

	rc = txn_strvec_push(&dirs, m->prefix, err);
	for (size_t i = 0; i < s->rel_dirs.n && rc == 0; i++) {
		char *d = ap_fsx_path_join(m->prefix, s->rel_dirs.v[i]);

		rc = d ? txn_strvec_push(&dirs, d, err) : txn_nomem(err, "building the receipt");
		free(d);
	}
	for (size_t i = 0; i < s->created.n && rc == 0; i++)
		rc = txn_strvec_push(&dirs, s->created.v[i], err);
	for (size_t i = 0; s->old && i < s->old->n_dirs && rc == 0; i++) {
		char *abs = ap_fsx_path_join(s->p->root, s->old->dirs[i]);

		if (!abs)
			rc = txn_nomem(err, "building the receipt");
		else if (!txn_path_within(s->old->dirs[i], m->prefix) && ap_fsx_is_dir(abs))
			rc = txn_strvec_push(&dirs, s->old->dirs[i], err);
		free(abs);
	}
	if (rc < 0) {
		ap_strvec_release(&dirs);
		return rc;
	}
	qsort(dirs.v, dirs.n, sizeof(*dirs.v), txn_cmp_strp);
	r->dirs = dirs.v;
	r->n_dirs = 0;
	for (size_t i = 0; i < dirs.n; i++) {
		if (r->n_dirs > 0 && strcmp(r->dirs[r->n_dirs - 1], dirs.v[i]) == 0)
			free(dirs.v[i]);
		else
			r->dirs[r->n_dirs++] = dirs.v[i];
	}
	return 0;
}

/* Every staged file, sorted by path: the receipt takes the records' array
 * itself (they are kept as receipt files for this), so a big release's
 * files are never held twice.  txn_check_overlaps refused a path staged
 * twice, so there is nothing to merge. */
static int receipt_files(struct inst *s, struct ap_receipt *r, struct ap_err *err)
{
	if (s->n_recs == 0)
		return 0;
	qsort(s->recs, s->n_recs, sizeof(*s->recs), cmp_rec);
	for (size_t i = 1; i < s->n_recs; i++)
		if (strcmp(s->recs[i - 1].path, s->recs[i].path) == 0)
			return ap_err_set(err, AP_E_STATE, "receipt: '%s' is staged twice",
					  s->recs[i].path);
	r->files = s->recs;
	r->n_files = s->n_recs;
	r->file_strings = s->rec_strings;
	memset(&s->rec_strings, 0, sizeof(s->rec_strings));
	s->rec_component_of = NULL;
	s->rec_component = NULL;
	s->recs = NULL;
	s->n_recs = 0;
	s->cap_recs = 0;
	return 0;
}

static int build_receipt(struct inst *s, const char *manifest_sha, struct ap_receipt **out,
			 struct ap_err *err)
{
	const struct ap_manifest *m = s->m;
	struct ap_receipt *r = ap_receipt_new();
	int rc;

	if (!r)
		return txn_nomem(err, "building the receipt");
	rc = receipt_head(s, manifest_sha, r, err);
	if (rc == 0)
		rc = receipt_dirs(s, r, err);
	if (rc == 0)
		rc = receipt_files(s, r, err);
	for (size_t i = 0; i < m->n_components && rc == 0; i++)
		if (m->components[i].action == AP_ACTION_RUN && !skipped(s, m->components[i].name))
			rc = add_action(r, m, &m->components[i], err);
	if (rc == 0)
		rc = txn_services_record(r, m, err);
	if (rc < 0) {
		ap_receipt_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* Stage paths: ROOT/<parent>/.<name>.airpack-stage and -old. */
int txn_inst_paths(struct inst *s, const char *root, const char *prefix, struct ap_err *err)
{
	const char *name = ap_fsx_path_basename(prefix);
	size_t plen = (size_t)(name - prefix);
	char buf[300];

	s->parent_rel = malloc(plen + 1);
	if (!s->parent_rel)
		return txn_nomem(err, "staging");
	memcpy(s->parent_rel, prefix, plen);
	s->parent_rel[plen] = '\0';
	if (plen > 0)
		s->parent_rel[plen - 1] = '\0';
	snprintf(buf, sizeof(buf), ".%s.airpack-stage", name);
	s->stage_rel = txn_join(s->parent_rel, buf);
	snprintf(buf, sizeof(buf), ".%s.airpack-old", name);
	s->old_rel = txn_join(s->parent_rel, buf);
	s->prefix_abs = ap_fsx_path_join(root, prefix);
	s->parent_abs = txn_join(root, s->parent_rel);
	if (!s->stage_rel || !s->old_rel || !s->prefix_abs || !s->parent_abs)
		return txn_nomem(err, "staging");
	s->stage_abs = ap_fsx_path_join(root, s->stage_rel);
	s->old_abs = ap_fsx_path_join(root, s->old_rel);
	if (!s->stage_abs || !s->old_abs)
		return txn_nomem(err, "staging");
	return 0;
}

static int check_release(const struct ap_manifest *m, const struct ap_txn_opts *o,
			 struct ap_err *err)
{
	const char *reserved;

	if (!m->prefix || !ap_manifest_safe_relpath(m->prefix, false))
		return ap_err_set(err, AP_E_MANIFEST,
				  "prefix: expected a non-empty safe relative path, got '%s'",
				  m->prefix ? m->prefix : "");
	reserved = ap_state_reserved_overlap(m->prefix);
	if (reserved)
		return ap_err_set(err, AP_E_MANIFEST,
				  "prefix '%s' overlaps airpack's own folder '%s'", m->prefix,
				  reserved);
	if (strlen(ap_fsx_path_basename(m->prefix)) > 200)
		return ap_err_set(err, AP_E_MANIFEST, "prefix '%s': last part too long", m->prefix);
	for (size_t i = 0; i < m->n_data_dirs; i++) {
		const char *why = ap_bounds_data_dir_problem(m->data_dirs[i], m->prefix);

		if (why)
			return ap_err_set(
				err, AP_E_MANIFEST,
				"data_dirs[%zu]: '%s' %s: uninstall --purge would remove it", i,
				m->data_dirs[i], why);
	}
	if (m->has_config && m->config.path) {
		const char *why = ap_bounds_config_path_problem(m->config.path);

		if (why)
			return ap_err_set(err, AP_E_MANIFEST, "config.path: '%s' %s",
					  m->config.path, why);
	}
	if (ap_manifest_for_windows(m)) {
		int rc = ap_manifest_windows_check(m, err);

		if (rc)
			return rc;
	}
	if (o->pin && strcmp(o->pin, m->version) != 0)
		return ap_err_set(err, AP_E_STATE,
				  "release '%s' is version %s, but version %s was asked for",
				  m->product, m->version, o->pin);
	return 0;
}

int ap_txn_check(const struct ap_manifest *m, const struct ap_txn_opts *o, struct ap_err *err)
{
	static const struct ap_txn_opts defaults = AP_TXN_OPTS_INIT;

	return check_release(m, o ? o : &defaults, err);
}

int ap_txn_check_platform(const struct ap_state *st, const struct ap_manifest *m, bool force,
			  char **warning, struct ap_err *err)
{
	const char *host = ap_platform_host();
	bool host_root = txn_is_host_root(st);
	struct ap_strbuf sb = AP_STRBUF_INIT;

	*warning = NULL;
	if (ap_platform_matches(m->platform, host))
		return 0;
	if (host_root && !force)
		return ap_err_set(err, AP_E_USAGE,
				  "platform: %s %s is for '%s', this host is '%s': refusing to "
				  "install it into this host's root '%s' (--force-platform "
				  "installs it all the same)",
				  m->product, m->version, m->platform, host, st->root);
	ap_strbuf_addf(&sb,
		       "%s %s is for platform '%s', this host is '%s'; installing into %s "
		       "'%s' all the same",
		       m->product, m->version, m->platform, host,
		       host_root ? "this host's root" : "the image root", st->root);
	*warning = ap_strbuf_detach(&sb, NULL);
	if (!*warning)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

/* Refuse a prefix equal to, inside or above another installed product's:
 * the two would count each other's files as "added by the user", and one
 * uninstall would delete the other's files. */
static int check_other_prefixes(const struct ap_state *p, const struct ap_manifest *m,
				struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	rc = ap_state_candidates(p->root, &names, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ap_receipt *other = NULL;
		struct ap_state op;

		if (strcmp(names[i], m->product) == 0)
			continue;
		rc = ap_state_init(&op, p->root, names[i], err);
		if (rc < 0)
			break;
		if (ap_state_has(&op, "receipt.json"))
			rc = txn_load_receipt(&op, &other, err);
		if (rc == 0 && other && ap_bounds_overlap(other->prefix, m->prefix))
			rc = ap_err_set(err, AP_E_MANIFEST,
					"prefix: '%s' overlaps '%s', the prefix of '%s' %s "
					"installed under '%s': a release may not take another "
					"product's folder",
					m->prefix, other->prefix, other->product, other->version,
					p->root);
		ap_receipt_free(other);
		ap_state_release(&op);
	}
	ap_fsx_strv_free(names, n);
	return rc;
}

/* ---- what other installed products hold ---- */

void txn_others_release(struct others *os)
{
	for (size_t i = 0; i < os->n; i++) {
		ap_receipt_free(os->v[i].r);
		ap_manifest_free(os->v[i].m);
	}
	free(os->v);
	os->v = NULL;
	os->n = 0;
}

/* Every installed product under root but self.  Their receipts and
 * manifests are replaced atomically, so reading them without their locks
 * gives one whole version or the other. */
int txn_load_others(const char *root, const char *self, struct others *os, struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	os->v = NULL;
	os->n = 0;
	/* Listed without their locks (the caller holds its own product's). */
	rc = ap_state_candidates(root, &names, &n, err);
	if (rc < 0)
		return rc;
	if (n > 0) {
		os->v = calloc(n, sizeof(*os->v));
		if (!os->v)
			rc = txn_nomem(err, "reading the installed products");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct other *x = &os->v[os->n];
		struct ap_state p;
		char *path, *json = NULL;
		size_t len = 0;

		if (strcmp(names[i], self) == 0)
			continue;
		rc = ap_state_init(&p, root, names[i], err);
		if (rc < 0)
			break;
		rc = txn_load_receipt(&p, &x->r, err);
		if (rc == AP_E_NOTFOUND) {
			/* Uninstalled meanwhile. */
			ap_err_clear(err);
			ap_state_release(&p);
			rc = 0;
			continue;
		}
		path = rc == 0 ? ap_state_file(&p, "manifest.json", NULL) : NULL;
		if (path && ap_fsx_read_file(path, AP_MANIFEST_MAX, &json, &len, NULL) == 0 &&
		    ap_manifest_parse(json, len, AP_MANIFEST_SOURCE, &x->m, NULL) < 0)
			x->m = NULL;
		free(json);
		free(path);
		ap_state_release(&p);
		if (rc == 0)
			os->n++;
	}
	ap_fsx_strv_free(names, n);
	if (rc < 0)
		txn_others_release(os);
	return rc;
}

/* The path of x's (its prefix, a data folder or its configuration) that
 * rel equals, lies in or holds; NULL when none.  *what names the kind. */
const char *txn_other_claim(const struct other *x, const char *rel, bool with_prefix,
			    const char **what)
{
	if (with_prefix && ap_bounds_overlap(rel, x->r->prefix)) {
		*what = "prefix";
		return x->r->prefix;
	}
	for (size_t i = 0; i < x->r->n_data_dirs; i++) {
		if (ap_bounds_overlap(rel, x->r->data_dirs[i])) {
			*what = "data folder";
			return x->r->data_dirs[i];
		}
	}
	for (size_t i = 0; i < x->r->n_created_data_dirs; i++) {
		if (ap_bounds_overlap(rel, x->r->created_data_dirs[i])) {
			*what = "data folder";
			return x->r->created_data_dirs[i];
		}
	}
	if (x->m && x->m->has_config && ap_bounds_overlap(rel, x->m->config.path)) {
		*what = "configuration";
		return x->m->config.path;
	}
	return NULL;
}

/* A release may not name another product's files as its data folders or
 * configuration, nor put its prefix over another's data or configuration
 * (prefix against prefix is the state check's). */
static int check_others(const struct ap_manifest *m, const struct others *os, struct ap_err *err)
{
	const char *what = NULL, *hit;

	for (size_t k = 0; k < os->n; k++) {
		const struct other *x = &os->v[k];

		for (size_t i = 0; i < m->n_data_dirs; i++) {
			hit = txn_other_claim(x, m->data_dirs[i], true, &what);
			if (hit)
				return ap_err_set(err, AP_E_MANIFEST,
						  "data_dirs[%zu]: '%s' overlaps %s '%s' of the "
						  "installed '%s': a release may not take another "
						  "product's files",
						  i, m->data_dirs[i], what, hit, x->r->product);
		}
		if (m->has_config && m->config.path) {
			hit = txn_other_claim(x, m->config.path, true, &what);
			if (hit)
				return ap_err_set(err, AP_E_MANIFEST,
						  "config.path: '%s' overlaps %s '%s' of the "
						  "installed '%s': a release may not take another "
						  "product's files",
						  m->config.path, what, hit, x->r->product);
		}
		hit = txn_other_claim(x, m->prefix, false, &what);
		if (hit)
			return ap_err_set(err, AP_E_MANIFEST,
					  "prefix: '%s' overlaps %s '%s' of the installed '%s': a "
					  "release may not take another product's files",
					  m->prefix, what, hit, x->r->product);
	}
	return 0;
}

/* The data folders this install can call its own: those an earlier
 * install recorded, and those that do not exist now (before anything of
 * this install is written). */
static int note_created_data(struct inst *s, struct ap_err *err)
{
	const struct ap_receipt *old = s->old;
	int rc = 0;

	for (size_t i = 0; old && i < old->n_created_data_dirs && rc == 0; i++)
		rc = txn_strvec_push(&s->created_data, old->created_data_dirs[i], err);
	for (size_t i = 0; i < s->m->n_data_dirs && rc == 0; i++) {
		const char *d = s->m->data_dirs[i];
		struct ap_stat st;

		if (txn_strv_has(s->created_data.v, s->created_data.n, d))
			continue;
		rc = ap_fsx_stat_under(s->p->root, d, &st, err);
		if (rc == 0 && st.type == AP_FT_NONE)
			rc = txn_strvec_push(&s->created_data, d, err);
	}
	return rc;
}

/* Same release, still intact, nothing to run: nothing to do. */
static int already_installed(struct inst *s, const char *manifest_sha, bool *same,
			     struct ap_err *err)
{
	const struct ap_receipt *old = s->old;
	struct check c;
	int rc;

	*same = false;
	if (!old || s->o->repair || strcmp(old->manifest_sha256, manifest_sha) != 0)
		return 0;
	if (old->insecure != s->insecure)
		return 0; /* the receipt says whether the signature was verified */
	if ((old->pinned_version == NULL) != (s->o->pin == NULL) ||
	    (s->o->pin && strcmp(old->pinned_version, s->o->pin) != 0))
		return 0;
	if (old->n_pending > 0 && s->run != RUN_PENDING)
		return 0;
	for (size_t i = 0; i < old->n_actions; i++)
		if (!old->actions[i].ok)
			return 0; /* a failed action is retried by reinstalling */
	memset(&c, 0, sizeof(c));
	c.root = s->p->root;
	c.r = old;
	rc = txn_check_tree(&c, false, err);
	if (rc < 0)
		return rc;
	*same = c.st.n_modified + c.st.n_missing + c.st.n_mode == 0;
	return 0;
}

/* Remove what an earlier, unjournaled attempt left beside the prefix. */
int txn_clean_leftovers(struct inst *s, struct ap_err *err)
{
	int rc = ap_fsx_rm_rf(s->stage_abs, err);

	if (rc == 0 && ap_fsx_is_dir(s->old_abs)) {
		if (ap_fsx_is_dir(s->prefix_abs))
			rc = ap_fsx_rm_rf(s->old_abs, err);
		else
			rc = ap_fsx_rename(s->old_abs, s->prefix_abs, err);
	}
	return rc;
}

/* A file of the installed release another program holds open (on Windows
 * a running service's exe, whose folder cannot then be moved) is refused
 * before anything is switched: the old release stays whole and in use, and
 * the state says so (exit 9, naming the file). */
static int check_old_in_use(const struct inst *s, struct ap_err *err)
{
	for (size_t i = 0; s->old && i < s->old->n_files; i++) {
		char *abs = ap_fsx_path_join(s->p->root, s->old->files[i].path);
		bool busy = abs && ap_fsx_in_use(abs);

		free(abs);
		if (!abs)
			return txn_nomem(err, "checking files in use");
		if (busy)
			return ap_err_set(err, AP_E_STATE,
					  "busy: '%s' of the installed %s %s is in use by another "
					  "program (a running service?): stop it and run again; "
					  "nothing was changed",
					  s->old->files[i].path, s->old->product, s->old->version);
	}
	return 0;
}

static int do_switch(struct inst *s, bool had_prefix, struct ap_err *err)
{
	bool unsupported = true;
	int rc = 0;

	if (!had_prefix) {
		rc = ap_fsx_rename(s->stage_abs, s->prefix_abs, err);
	} else {
		if (!ap_testhook("AP_TXN_NO_EXCHANGE"))
			rc = ap_fsx_exchange(s->stage_abs, s->prefix_abs, &unsupported, err);
		if (rc == 0 && unsupported) {
			rc = ap_fsx_rename(s->prefix_abs, s->old_abs, err);
			if (rc == 0) {
				txn_crash_point("mid-fallback");
				rc = ap_fsx_rename(s->stage_abs, s->prefix_abs, err);
				if (rc < 0) {
					struct ap_err undo = AP_ERR_INIT;

					ap_fsx_rename(s->old_abs, s->prefix_abs, &undo);
				}
			}
		}
	}
	if (rc == 0)
		rc = ap_fsx_fsync_dir(s->parent_abs, err);
	return rc;
}

static void fill_result(struct ap_txn_result *res, struct inst *s, bool recovered,
			const struct ap_receipt *r, size_t n_ran, bool unchanged)
{
	memset(res, 0, sizeof(*res));
	res->product = ap_strdup(s->m->product);
	res->old_version = s->old ? ap_strdup(s->old->version) : NULL;
	res->new_version = ap_strdup(s->m->version);
	res->freshness = ap_strdup(s->fresh_note);
	res->unchanged = unchanged;
	res->recovered = recovered;
	if (r) {
		res->n_files = r->n_files;
		for (size_t i = 0; i < r->n_files; i++)
			res->n_bytes += r->files[i].size;
		res->n_pending = r->n_pending;
		res->foreign = ap_winname_platform_is_foreign(r->platform);
		/* The actions this transaction ran are the last n_ran done. */
		for (size_t i = r->n_actions - (n_ran < r->n_actions ? n_ran : r->n_actions);
		     i < r->n_actions; i++)
			if (r->actions[i].restart_required) {
				free(res->restart_required);
				res->restart_required = ap_strdup(r->actions[i].component);
			}
	}
	res->n_kept = s->n_kept;
	res->n_ran = n_ran;
	if (r && n_ran <= r->n_actions) {
		struct ap_strbuf sb = AP_STRBUF_INIT;

		for (size_t i = r->n_actions - n_ran; i < r->n_actions; i++)
			if (r->actions[i].output)
				ap_strbuf_addf(&sb, "%s%s: %s", sb.len ? "\n" : "",
					       r->actions[i].component, r->actions[i].output);
		res->run_output = ap_strbuf_detach(&sb, NULL);
	}
	res->conflicts = ap_strvec_detach(&s->conflicts, &res->n_conflicts);
}

/* Give files outside the prefix the fixed time too (image builds). */
static int fix_state_times(struct inst *s, const struct ap_receipt *r, struct ap_err *err)
{
	int64_t t = s->o->mtime;
	int rc = 0;

	if (t < 0)
		return 0;
	for (size_t i = 0; i < ap_state_n_files && rc == 0; i++) {
		char *path = ap_state_file(s->p, ap_state_files[i], NULL);

		if (!path)
			rc = txn_nomem(err, "setting times");
		else if (ap_fsx_is_file(path))
			rc = ap_fsx_set_mtime(path, t, err);
		free(path);
	}
	if (rc == 0) {
		char *lock = ap_state_file(s->p, "lock", NULL);

		rc = lock ? ap_fsx_set_mtime(lock, t, err) : txn_nomem(err, "setting times");
		free(lock);
	}
	if (rc == 0)
		rc = ap_fsx_set_mtime(s->p->state, t, err);
	for (size_t i = r->n_dirs; i > 0 && rc == 0; i--) {
		char *abs;

		if (txn_path_within(r->dirs[i - 1], r->prefix))
			continue;
		abs = ap_fsx_path_join(s->p->root, r->dirs[i - 1]);
		if (!abs)
			rc = txn_nomem(err, "setting times");
		else if (ap_fsx_is_dir(abs))
			rc = ap_fsx_set_mtime(abs, t, err);
		free(abs);
	}
	return rc;
}

int ap_txn_install(const struct ap_txn_release *rel, const struct ap_txn_opts *o,
		   struct ap_txn_result *res, struct ap_err *err)
{
	struct ap_state p;
	int rc;

	rc = check_release(rel->m, o, err);
	if (rc < 0)
		return rc;
	rc = ap_state_init(&p, o ? o->root : NULL, rel->m->product, err);
	if (rc == 0)
		rc = txn_state_lock(&p, AP_STATE_WRITE, o, NULL, err);
	if (rc == 0)
		rc = ap_txn_install_locked(&p, rel, o, res, err);
	ap_state_release(&p);
	return rc;
}

/* The checks before anything is written: the lock, the release against
 * what is installed (*old, the caller's to free), freshness, the other
 * products, the paths; *same when this exact release is installed. */
static int install_prepare(struct inst *s, const struct ap_txn_release *rel, const char *msha,
			   struct ap_receipt **old, bool *same, struct ap_err *err)
{
	const struct ap_manifest *m = rel->m;
	struct ap_state *p = s->p;
	const struct ap_txn_opts *o = s->o;
	int rc = 0;

	s->run = txn_run_where(p, o, m->platform);
	for (size_t i = 0; s->run == RUN_CHROOT && i < m->n_components; i++) {
		if (m->components[i].action == AP_ACTION_RUN) {
			rc = ap_process_can_run_in_root(p->aroot, err);
			break;
		}
	}
	/* The folders taking the lock created are this install's too. */
	for (size_t i = 0; i < p->n_created && rc == 0; i++)
		rc = txn_strvec_push(&s->created, p->created[i], err);
	if (rc == 0)
		rc = ap_state_lock_root(p, err);
	if (rc == 0)
		rc = check_other_prefixes(p, m, err);
	if (rc == 0 && ap_state_has(p, "receipt.json")) {
		rc = txn_load_receipt(p, old, err);
		if (rc < 0)
			return rc;
		s->old = *old;
		if (strcmp((*old)->prefix, m->prefix) != 0)
			return ap_err_set(err, AP_E_STATE,
					  "'%s' %s is installed in '%s', but %s installs to "
					  "'%s': uninstall it first",
					  m->product, (*old)->version, (*old)->prefix, m->version,
					  m->prefix);
		if (ap_manifest_version_cmp(m->version, (*old)->version) < 0 && !o->allow_downgrade)
			return ap_err_set(err, AP_E_STATE,
					  "refusing to downgrade '%s' from %s to %s: use "
					  "--allow-downgrade",
					  m->product, (*old)->version, m->version);
	}
	if (rc < 0)
		return rc;
	/* Never below what this device accepted before, whatever is installed
	 * now; under the root's lock, so no other install moves the record. */
	rc = ap_freshness_check(p->root, rel->fresh, m->product, m->version, o->allow_downgrade,
				err);
	if (rc < 0)
		return rc;
	s->fresh_note = rel->fresh ? rel->fresh->note : NULL;
	s->insecure = rel->sig == NULL;
	{
		struct others os;

		rc = txn_load_others(p->root, m->product, &os, err);
		if (rc == 0)
			rc = check_others(m, &os, err);
		txn_others_release(&os);
	}
	if (rc == 0)
		rc = note_created_data(s, err);
	if (rc == 0)
		rc = txn_inst_paths(s, p->root, m->prefix, err);
	if (rc == 0)
		rc = txn_clean_leftovers(s, err);
	if (rc == 0)
		rc = already_installed(s, msha, same, err);
	return rc;
}

/* Stage the complete new tree beside the prefix (*had_prefix: the prefix
 * exists, and what users keep in it was carried over) and build its
 * receipt (*r, the caller's). */
static int install_stage(struct inst *s, const struct ap_txn_release *rel, const char *msha,
			 bool *had_prefix, struct ap_receipt **r, struct ap_err *err)
{
	const struct ap_manifest *m = rel->m;
	struct ap_stat pst;
	int rc = 0;

	if (s->parent_rel[0])
		rc = txn_mkdirs_noted(s, s->parent_rel, err);
	/* Not through a symlinked folder (AP_E_UNSAFE naming it). */
	if (rc == 0)
		rc = ap_fsx_stat_under(s->p->root, m->prefix, &pst, err);
	if (rc < 0)
		return rc;
	if (pst.type != AP_FT_NONE && pst.type != AP_FT_DIR)
		return ap_err_set(err, AP_E_EXISTS,
				  "cannot install '%s' to '%s': it exists and is not a folder",
				  m->product, s->prefix_abs);
	*had_prefix = pst.type == AP_FT_DIR;
	rc = txn_check_space(s, err);
	if (rc == 0)
		rc = ap_fsx_mkdirs_noted(s->p->root, s->stage_rel, NULL, NULL, err);
	if (rc < 0)
		return rc;
	txn_stop_point("stage");
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		char *src = NULL;
		bool movable = false;

		txn_emit_simple(s->o, AP_TXN_PH_STAGE, AP_TXN_V_OK, m->product, c->name, NULL,
				ap_manifest_action_name(c->action));
		rc = rel->get_payload(rel->payload_ctx, c, &src, &movable, err);
		if (rc == 0 && !src) {
			/* An optional component nowhere to be had is left out. */
			if (c->optional)
				rc = txn_strvec_push(&s->skipped, c->name, err);
			else
				rc = ap_err_set(err, AP_E_NOTFOUND, "no payload for '%s'", c->name);
		} else if (rc == 0) {
			rc = txn_stage_component(s, c, src, movable, err);
		}
		free(src);
		if (rc < 0) {
			ap_err_prefix(err, "installing '%s'", c->name);
			return rc;
		}
		if (i == 0)
			txn_crash_point("stage");
	}
	rc = txn_collect_dirs(s->stage_abs, &s->rel_dirs, err);
	if (rc == 0 && s->rel_dirs.n > 1)
		qsort(s->rel_dirs.v, s->rel_dirs.n, sizeof(*s->rel_dirs.v), txn_cmp_strp);
	if (rc == 0)
		rc = txn_check_overlaps(s, err);
	if (rc == 0 && *had_prefix)
		rc = txn_carry_dir(s, "", "", err);
	if (rc == 0)
		rc = txn_finish_stage(s, err);
	if (rc == 0)
		rc = build_receipt(s, msha, r, err);
	return rc;
}

/* The new state files (".new"), then the journal that makes the switch
 * recoverable. */
static int install_journal(struct inst *s, const struct ap_txn_release *rel,
			   const struct ap_receipt *r, struct ap_err *err)
{
	const struct ap_manifest *m = rel->m;
	struct ap_state *p = s->p;
	int64_t mtime = s->o->mtime;
	struct ap_receipt_journal j;
	struct ap_file_id stage_id;
	char *json = NULL;
	size_t json_len = 0;
	int rc;

	rc = r->n_pending > 0 ? txn_set_pending_marker(p, true, mtime, err) : 0;
	if (rc == 0)
		rc = txn_write_receipt(p, r, ".new", mtime, err);
	if (rc == 0)
		rc = txn_write_state_file(p, "manifest.json", ".new", rel->manifest_json, rel->mlen,
					  mtime, err);
	if (rc == 0 && rel->sig)
		rc = txn_write_state_file(p, "manifest.json.sig", ".new", rel->sig, rel->siglen,
					  mtime, err);
	if (rc == 0)
		rc = ap_fsx_file_id(s->stage_abs, &stage_id, err);
	if (rc < 0)
		return rc;
	memset(&j, 0, sizeof(j));
	j.stage_dev = stage_id.dev;
	j.stage_ino = stage_id.ino;
	j.product = m->product;
	j.version = m->version;
	j.prefix = m->prefix;
	j.stage = s->stage_rel;
	j.old = s->old_rel;
	j.has_sig = rel->sig != NULL;
	rc = ap_receipt_journal_emit(&j, &json, &json_len, err);
	if (rc == 0)
		rc = txn_write_state_file(p, "txn.json", NULL, json, json_len, -1, err);
	free(json);
	return rc;
}

/* After the switch: roll forward as recovery would, then the run actions
 * (or their pending notes), the services, the state files' times. */
static int install_finish(struct inst *s, const struct ap_txn_release *rel, struct ap_receipt *r,
			  bool recovered, struct ap_txn_result *res, struct ap_err *err)
{
	const struct ap_manifest *m = rel->m;
	const struct ap_txn_opts *o = s->o;
	struct ap_state *p = s->p;
	size_t n_ran = 0;
	int rc;

	rc = txn_recover(p, NULL, NULL, err);
	if (rc == 0)
		rc = ap_freshness_commit(p->root, rel->fresh, m->product, m->version, o->mtime,
					 err);
	if (rc < 0)
		return rc;
	if (s->run == RUN_PENDING) {
		for (size_t i = 0; i < r->n_pending; i++)
			txn_emit_simple(o, AP_TXN_PH_PENDING, AP_TXN_V_PENDING, m->product,
					r->pending[i].component, r->pending[i].program,
					o->no_run ? NULL
						  : "image root: firstboot runs it on the device");
	} else if (r->n_pending > 0) {
		rc = txn_run_pending(p, r, o, s->run, &n_ran, err);
	}
	/* Services once every file is in place and the run actions (such as
	 * a runtime the service needs) succeeded. */
	if (rc == 0)
		rc = txn_services_apply(p, s->old, r, o, err);
	if (rc == 0 || rc == AP_E_RUN) {
		struct ap_err e2 = AP_ERR_INIT;
		int trc = fix_state_times(s, r, rc == 0 ? err : &e2);

		if (trc == 0)
			trc = txn_set_pending_marker(p, r->n_pending > 0, o->mtime,
						     rc == 0 ? err : &e2);
		if (rc == 0)
			rc = trc;
	}
	if ((rc == 0 || rc == AP_E_RUN) && res)
		fill_result(res, s, recovered, r, n_ran, false);
	return rc;
}

int ap_txn_install_locked(struct ap_state *p, const struct ap_txn_release *rel,
			  const struct ap_txn_opts *o, struct ap_txn_result *res,
			  struct ap_err *err)
{
	static const struct ap_txn_opts defaults = AP_TXN_OPTS_INIT;
	const struct ap_manifest *m = rel->m;
	struct ap_receipt *old = NULL, *r = NULL;
	struct inst s;
	char msha[AP_SHA256_HEX];
	bool recovered, had_prefix = false, same = false;
	bool journaled = false, switched = false, stopped = false;
	int rc;

	if (!o)
		o = &defaults;
	memset(&s, 0, sizeof(s));
	rc = check_release(m, o, err);
	if (rc < 0)
		return rc;
	if (p->lock < 0 || !p->exclusive || strcmp(p->name, m->product) != 0)
		return ap_err_set(err, AP_E_USAGE, "installing '%s' needs its state locked",
				  m->product);
	recovered = p->recovered;
	if (o->mtime >= 0)
		p->mtime = o->mtime; /* restored when the lock goes */
	s.m = m;
	s.o = o;
	s.p = p;
	ap_digest_hex(rel->manifest_json, rel->mlen, msha);
	rc = install_prepare(&s, rel, msha, &old, &same, err);
	if (rc < 0)
		goto out;
	if (same) {
		if (res)
			fill_result(res, &s, recovered, old, 0, true);
		goto out;
	}
	rc = install_stage(&s, rel, msha, &had_prefix, &r, err);
	if (rc < 0)
		goto out;

	/* The old release's services stop before their files are checked and
	 * replaced (started again if this install is undone). */
	rc = txn_services_prepare(p, s.old, r, o, err);
	stopped = true;
	if (rc == 0)
		rc = check_old_in_use(&s, err);
	if (rc == 0)
		rc = install_journal(&s, rel, r, err);
	if (rc < 0)
		goto out;
	journaled = true;
	txn_crash_point("before-switch");

	rc = do_switch(&s, had_prefix, err);
	if (rc < 0)
		goto out;
	switched = true;
	txn_crash_point("after-exchange");
	txn_emit_simple(o, AP_TXN_PH_SWITCH, AP_TXN_V_OK, m->product, NULL, m->prefix, m->version);
	rc = install_finish(&s, rel, r, recovered, res, err);
out:
	if (rc < 0 && rc != AP_E_RUN && !switched && p->lock >= 0) {
		/* Undo: the old install was never touched. */
		struct ap_err undo = AP_ERR_INIT;

		if (journaled)
			txn_recover(p, NULL, NULL, &undo);
		else if (s.stage_abs)
			ap_fsx_rm_rf(s.stage_abs, &undo);
		ap_state_clean_new(p, &undo);
		if (stopped)
			txn_services_restart(p, s.old, o);
	}
	ap_receipt_free(old);
	ap_receipt_free(r);
	txn_inst_release(&s);
	return rc;
}
