/* txn/verify.c - checking installed files against the receipt (verify, and install's idempotence check); see airpack/txn.h and docs/install-transaction.md. */
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

#define VERIFY_BLOCK (64 * 1024)

/* ---- checking installed files against a receipt ---- */

static void note_diff(struct check *c, enum ap_txn_verdict v, const char *path)
{
	if (!c->first[0])
		snprintf(c->first, sizeof(c->first), "%s '%s'", ap_txn_verdict_name(v), path);
}

/* Hash the open file f into hex; size is what its fstat said. */
static int hash_open(struct ap_fsx_tree_file *f, uint64_t size, char hex[AP_SHA256_HEX],
		     uint64_t *hashed, struct ap_err *err)
{
	struct ap_digest *h = ap_digest_new();
	unsigned char *buf = malloc(VERIFY_BLOCK);
	size_t got = 0;
	int rc = 0;

	if (!h || !buf) {
		rc = txn_nomem(err, "hashing an installed file");
		goto out;
	}
	do {
		rc = ap_fsx_tree_read(f, buf, VERIFY_BLOCK, &got, err);
		if (rc < 0)
			goto out;
		ap_digest_update(h, buf, got);
		*hashed += got;
		/* A short read that reached the size the open file has is
		 * its end: no further read to be told so. */
	} while (got > 0 && !(got < VERIFY_BLOCK && *hashed == size));
	ap_digest_final_hex(h, hex);
out:
	ap_digest_free(h);
	free(buf);
	return rc;
}

/* How the file at f's path in the tree root compares with its receipt
 * entry f: MISSING, MODIFIED (another type, size or sha256), MODE (the
 * same bytes with other permission bits, where the OS has them) or OK.
 * The file is opened once relative to its folder's kept handle, without
 * following a symlink anywhere under root (a symlinked folder is
 * AP_E_UNSAFE naming it), and what is decided comes from that open file.
 * st gets what it is, hex the actual sha256 when the file was hashed (""
 * otherwise), *hashed the bytes read. */
int txn_compare_installed(struct ap_fsx_tree *root, const struct ap_receipt_file *f,
			  struct ap_stat *st, char hex[AP_SHA256_HEX], uint64_t *hashed,
			  enum ap_txn_verdict *v, struct ap_err *err)
{
	struct ap_fsx_tree_file *fh = NULL;
	int rc;

	hex[0] = '\0';
	*hashed = 0;
	rc = ap_fsx_tree_open_file(root, f->path, &fh, st, err);
	if (rc < 0)
		return rc;
	if (st->type == AP_FT_NONE) {
		*v = AP_TXN_V_MISSING;
		return 0;
	}
	if (!fh || st->type != AP_FT_FILE || st->size != f->size) {
		ap_fsx_tree_abort(fh);
		*v = AP_TXN_V_MODIFIED;
		return 0;
	}
	rc = hash_open(fh, st->size, hex, hashed, err);
	ap_fsx_tree_abort(fh);
	if (rc < 0) {
		hex[0] = '\0';
		return rc;
	}
	if (!ap_digest_eq(hex, f->sha256) || *hashed != f->size)
		*v = AP_TXN_V_MODIFIED;
	else if (ap_fsx_has_modes() && st->mode != f->mode)
		*v = AP_TXN_V_MODE;
	else
		*v = AP_TXN_V_OK;
	return 0;
}

static int check_file(struct check *c, const struct ap_receipt_file *f, struct ap_err *err)
{
	struct ap_txn_event ev;
	struct ap_stat st;
	char hex[AP_SHA256_HEX];
	uint64_t size = 0;
	int rc;

	txn_file_event(&ev, AP_TXN_PH_VERIFY, c->r->product, f);
	rc = txn_compare_installed(c->tree, f, &st, hex, &size, &ev.verdict, err);
	if (rc < 0)
		return rc;
	c->st.n_checked++;
	c->st.n_bytes += size;
	if (hex[0])
		ev.actual_sha256 = hex;
	if (ev.verdict != AP_TXN_V_MISSING)
		ev.actual_mode = st.mode;
	switch (ev.verdict) {
	case AP_TXN_V_MISSING:
		c->st.n_missing++;
		break;
	case AP_TXN_V_MODIFIED:
		c->st.n_modified++;
		break;
	case AP_TXN_V_MODE:
		c->st.n_mode++;
		break;
	default:
		break;
	}
	if (ev.verdict != AP_TXN_V_OK)
		note_diff(c, ev.verdict, f->path);
	txn_emit(c->o, &ev);
	return 0;
}

static int unexpected_cb(void *ctx, const char *rel, const struct ap_stat *st, struct ap_err *err)
{
	struct check *c = ctx;
	struct ap_txn_event ev;

	(void)err;
	if (st->type == AP_FT_DIR)
		return 0;
	if (c->rd ? ap_receipt_reader_has(c->rd, rel) : ap_receipt_find_file(c->r, rel) != NULL)
		return 0;
	c->st.n_unexpected++;
	note_diff(c, AP_TXN_V_UNEXPECTED, rel);
	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_VERIFY;
	ev.verdict = AP_TXN_V_UNEXPECTED;
	ev.product = c->r->product;
	ev.path = rel;
	ev.actual_mode = st->mode;
	ev.size = st->size;
	txn_emit(c->o, &ev);
	return 0;
}

/* Check every receipt file, and with unexpected also list what else is
 * under the prefix. */
int txn_check_tree(struct check *c, bool unexpected, struct ap_err *err)
{
	struct ap_stat pst;
	int rc;

	/* The files in path order: those of one folder come together, each
	 * opened from the folder's kept handle. */
	rc = ap_fsx_tree_open(c->root, &c->tree, err);
	if (rc == 0 && c->rd) {
		const struct ap_receipt_file *f;

		while ((rc = ap_receipt_reader_next(c->rd, &f, err)) > 0) {
			rc = check_file(c, f, err);
			if (rc < 0)
				break;
		}
	}
	for (size_t i = 0; !c->rd && i < c->r->n_files && rc == 0; i++)
		rc = check_file(c, &c->r->files[i], err);
	ap_fsx_tree_close(c->tree);
	c->tree = NULL;
	if (rc < 0 || !unexpected)
		return rc;
	rc = ap_fsx_stat_under(c->root, c->r->prefix, &pst, err);
	if (rc == 0 && pst.type == AP_FT_DIR)
		rc = txn_walk(c->root, c->r->prefix, unexpected_cb, c, err);
	return rc;
}

int ap_txn_verify(const struct ap_txn_opts *o, const char *product,
		  struct ap_txn_verify_stats *stats, struct ap_err *err)
{
	struct ap_receipt_reader *rd = NULL;
	struct ap_receipt *r = NULL;
	struct check c;
	struct ap_state p;
	size_t ndiff;
	int rc;

	/* Held until the verdict: an install waits, or we say busy. */
	rc = txn_open(o ? o->root : NULL, product, 0, NULL, &p, err);
	if (rc == 0)
		rc = txn_stream_receipt(&p, &rd, &r, err);
	if (rc < 0)
		goto out;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.root = p.root;
	c.r = r;
	c.rd = rd;
	rc = txn_check_tree(&c, true, err);
	if (rc < 0)
		goto out;
	ndiff = c.st.n_modified + c.st.n_missing + c.st.n_unexpected + c.st.n_mode;
	if (ndiff > 0)
		rc = ap_err_set(err, AP_E_DIFFERS,
				"'%s' %s under '%s' differs from its receipt: %zu modified, "
				"%zu missing, %zu unexpected, %zu with another mode (first: %s)",
				r->product, r->version, p.root, c.st.n_modified, c.st.n_missing,
				c.st.n_unexpected, c.st.n_mode, c.first);
	if (stats)
		*stats = c.st;
out:
	ap_receipt_reader_close(rd);
	ap_receipt_free(r);
	ap_state_release(&p);
	return rc;
}
