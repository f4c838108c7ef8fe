/* txn/uninstall.c - removing a product's files, folders and (with purge) data; see airpack/txn.h and docs/install-transaction.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/bounds.h"
#include "airpack/digest.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/process.h"
#include "airpack/receipt.h"
#include "airpack/sink.h"
#include "airpack/state.h"
#include "airpack/txn.h"
#include "airpack/bundle.h"
#include "txn/internal.h"
#include "airpack/banned.h"

/* ---- uninstall ---- */

struct uninst {
	const struct ap_txn_opts *o;
	const struct ap_receipt *r;
	struct ap_fsx_tree *tree;     /* the root, while the files are removed */
	struct ap_receipt_reader *rd; /* r's files, one at a time */
	struct ap_txn_uninstall_stats st;
};

static int left_cb(void *ctx, const char *rel, const struct ap_stat *st, struct ap_err *err)
{
	struct uninst *u = ctx;

	(void)err;
	if (st->type == AP_FT_DIR)
		return 0;
	u->st.n_left++;
	txn_emit_simple(u->o, AP_TXN_PH_REMOVE, AP_TXN_V_LEFT, u->r->product, NULL, rel,
			"not installed by airpack");
	return 0;
}

/* Remove f: opened once relative to its folder's kept handle (the files
 * come in path order, so those of one folder share it), hashed and judged
 * on that open file, closed, then unlinked from the same folder. */
static int remove_file(struct uninst *u, const struct ap_receipt_file *f, struct ap_err *err)
{
	struct ap_txn_event ev;
	struct ap_stat st;
	enum ap_txn_verdict v;
	char hex[AP_SHA256_HEX];
	uint64_t size = 0;
	int rc;

	txn_file_event(&ev, AP_TXN_PH_REMOVE, u->r->product, f);
	/* Never through a symlinked folder: that is AP_E_UNSAFE, naming it. */
	rc = txn_compare_installed(u->tree, f, &st, hex, &size, &v, err);
	if (rc < 0)
		return rc;
	if (v == AP_TXN_V_MISSING) {
		ev.verdict = AP_TXN_V_MISSING;
		u->st.n_missing++;
		txn_emit(u->o, &ev);
		return 0;
	}
	if (st.type == AP_FT_DIR)
		return 0; /* the user put a folder there: it is reported as left */
	if (hex[0])
		ev.actual_sha256 = hex;
	/* Another mode is not another file: it goes like an intact one. */
	ev.verdict = v == AP_TXN_V_MODIFIED ? AP_TXN_V_MODIFIED : AP_TXN_V_REMOVED;
	rc = ap_fsx_tree_unlink(u->tree, f->path, err);
	if (rc < 0)
		return rc;
	u->st.n_removed++;
	if (ev.verdict == AP_TXN_V_MODIFIED) {
		u->st.n_modified++;
		ev.detail = "modified since it was installed; removed anyway";
	}
	txn_emit(u->o, &ev);
	return 0;
}

/* Remove the receipt's folders that are empty, deepest first. */
static int remove_dirs(const char *root, const struct ap_receipt *r, struct ap_err *err)
{
	int rc = 0;

	for (size_t i = r->n_dirs; i > 0 && rc == 0; i--) {
		struct ap_stat st;

		rc = ap_fsx_stat_under(root, r->dirs[i - 1], &st, err);
		if (rc == 0 && st.type == AP_FT_DIR) {
			rc = ap_fsx_rmdir_under(root, r->dirs[i - 1], err);
			if (rc == AP_E_EXISTS)
				rc = 0;
		}
	}
	return rc;
}

static int remove_path(struct uninst *u, const char *root, const char *rel, enum ap_txn_verdict v,
		       struct ap_err *err)
{
	struct ap_stat st;
	int rc;

	if (!ap_manifest_safe_relpath(rel, false))
		return ap_err_set(err, AP_E_UNSAFE,
				  "refusing to remove '%s': not a safe relative path", rel);
	rc = ap_fsx_stat_under(root, rel, &st, err);
	if (rc == 0 && st.type != AP_FT_NONE) {
		rc = ap_fsx_rm_rf_under(root, rel, err);
		if (rc == 0) {
			if (v == AP_TXN_V_PURGED)
				u->st.n_purged++;
			txn_emit_simple(u->o, AP_TXN_PH_REMOVE, v, u->r->product, NULL, rel, NULL);
		}
	}
	return rc;
}

static void keep_data(struct uninst *u, const char *rel, const char *why)
{
	u->st.n_data_kept++;
	txn_emit_simple(u->o, AP_TXN_PH_REMOVE, AP_TXN_V_LEFT, u->r->product, NULL, rel, why);
}

/* uninstall --purge: remove the data folders the receipt records as
 * created by this product, unless another installed product names one (or
 * something in or above it), and say which ones are kept and why. */
static int purge_data(struct uninst *u, const struct ap_state *p, struct ap_err *err)
{
	const struct ap_receipt *r = u->r;
	struct others os;
	char why[AP_ERR_MSG_MAX];
	int rc;

	if (!r->has_created_data_dirs) {
		for (size_t i = 0; i < r->n_data_dirs; i++)
			keep_data(u, r->data_dirs[i],
				  "kept: the receipt (from an older airpack-setup) does not record "
				  "whether this install created it; remove it yourself if it holds "
				  "only this product's data");
		return 0;
	}
	for (size_t i = 0; i < r->n_data_dirs; i++)
		if (!txn_strv_has(r->created_data_dirs, r->n_created_data_dirs, r->data_dirs[i]))
			keep_data(u, r->data_dirs[i], "kept: it existed before the install");
	rc = txn_load_others(p->root, r->product, &os, err);
	for (size_t i = 0; i < r->n_created_data_dirs && rc == 0; i++) {
		const char *d = r->created_data_dirs[i];
		const char *problem = ap_bounds_data_dir_problem(d, r->prefix);
		const char *what = NULL, *hit = NULL;
		size_t k;

		for (k = 0; !problem && !hit && k < os.n; k++)
			hit = txn_other_claim(&os.v[k], d, true, &what);
		if (problem) {
			snprintf(why, sizeof(why), "kept: it %s", problem);
			keep_data(u, d, why);
		} else if (hit) {
			snprintf(why, sizeof(why),
				 "kept: it overlaps %s '%s' of the installed '%s'", what, hit,
				 os.v[k - 1].r->product);
			keep_data(u, d, why);
		} else {
			rc = remove_path(u, p->root, d, AP_TXN_V_PURGED, err);
		}
	}
	txn_others_release(&os);
	return rc;
}

/* Everything u->r installed, in the order a rerun can finish: a stage a
 * killed install left, the services, the files, what is left in the
 * prefix, the folders, the data (purge), then extra_paths. */
static int remove_installed(struct uninst *u, struct ap_state *p, bool purge,
			    const char *const *extra_paths, struct ap_err *err)
{
	const struct ap_receipt *r = u->r;
	struct ap_stat pst;
	struct inst side;
	int rc;

	/* A stage an install killed while staging left beside the prefix. */
	memset(&side, 0, sizeof(side));
	rc = txn_inst_paths(&side, p->root, r->prefix, err);
	if (rc == 0)
		rc = txn_clean_leftovers(&side, err);
	txn_inst_release(&side);
	if (rc < 0)
		return rc;
	/* Its services first: stopped, so their files can go. */
	rc = txn_services_remove(p, r, u->o, err);
	if (rc == 0)
		rc = ap_fsx_tree_open(p->root, &u->tree, err);
	while (rc == 0) {
		const struct ap_receipt_file *f;

		rc = ap_receipt_reader_next(u->rd, &f, err);
		if (rc <= 0)
			break;
		rc = remove_file(u, f, err);
	}
	ap_fsx_tree_close(u->tree);
	u->tree = NULL;
	/* Closed before the state folder holding it goes (Windows). */
	ap_receipt_reader_close(u->rd);
	u->rd = NULL;
	if (rc == 0)
		rc = ap_fsx_stat_under(p->root, r->prefix, &pst, err);
	if (rc == 0 && pst.type == AP_FT_DIR)
		rc = txn_walk(p->root, r->prefix, left_cb, u, err);
	if (rc == 0)
		rc = remove_dirs(p->root, r, err);
	if (rc == 0 && purge)
		rc = purge_data(u, p, err);
	for (size_t i = 0; extra_paths && extra_paths[i] && rc == 0; i++)
		rc = remove_path(u, p->root, extra_paths[i], AP_TXN_V_REMOVED, err);
	return rc;
}

int ap_txn_uninstall(const struct ap_txn_opts *o, const char *product, bool purge,
		     const char *const *extra_paths, struct ap_txn_uninstall_stats *stats,
		     struct ap_err *err)
{
	const char *root = o ? o->root : NULL;
	struct ap_receipt *r = NULL;
	struct uninst u;
	struct ap_state p;
	char *base = NULL, *marker_dir = NULL;
	int rc;

	memset(&u, 0, sizeof(u));
	u.o = o;
	rc = txn_open(root, product, TXN_OPEN_WRITE | TXN_OPEN_ABSENT_OK, o, &p, err);
	if (rc < 0 && !p.name)
		return rc; /* before naming a product: nothing to prefix or release */
	if (rc == TXN_ABSENT) {
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	/* Work folders a killed install left (they may hold payloads). */
	rc = ap_state_purge_work(&p, NULL, err);
	if (rc < 0)
		goto out;
	if (!ap_state_has(&p, "receipt.json")) {
		/* Only what an install that never switched left: no files. */
		rc = ap_fsx_rm_rf(p.state, err);
		goto out;
	}
	rc = txn_stream_receipt(&p, &u.rd, &r, err);
	if (rc < 0)
		goto out;
	u.r = r;
	u.st.was_installed = true;
	rc = remove_installed(&u, &p, purge, extra_paths, err);
	if (rc < 0)
		goto out;
	/* The state folder last, so an interrupted uninstall can be rerun. */
	rc = txn_set_pending_marker(&p, false, -1, err);
	if (rc == 0)
		rc = ap_fsx_rm_rf_under(p.root, p.state_rel, err);
	if (rc == 0)
		rc = remove_dirs(p.root, r, err);
	if (rc == 0) {
		base = ap_fsx_path_join(p.root, AP_STATE_BASE);
		marker_dir = ap_fsx_path_join(p.root, AP_STATE_FIRSTBOOT_DIR);
	}
out:
	if (rc < 0)
		ap_err_prefix(err, "uninstalling '%s'", p.name);
	ap_receipt_reader_close(u.rd);
	ap_receipt_free(r);
	ap_state_release(&p);
	/* After the lock is released: on Windows the open lock file keeps the
	 * folder holding it from being removed until then. */
	if (base) {
		struct ap_err ignore = AP_ERR_INIT;

		/* Both only when empty: another product may still use them. */
		if (marker_dir)
			ap_fsx_rmdir(marker_dir, &ignore);
		ap_state_remove_base(root);
		free(base);
	}
	free(marker_dir);
	if (rc < 0)
		return rc;
	if (stats)
		*stats = u.st;
	return 0;
}
