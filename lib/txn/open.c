/* txn/open.c - opening a product: its state and lock, recovery, which product, the receipt; status; see airpack/txn.h and docs/install-transaction.md. */
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

/* ---- the product's state (lib/state.c owns it) ---- */

static void on_recover(void *ctx, const char *product, bool forward, const char *prefix,
		       const char *version)
{
	txn_emit_simple(ctx, AP_TXN_PH_RECOVER,
			forward ? AP_TXN_V_ROLLED_FORWARD : AP_TXN_V_ROLLED_BACK, product, NULL,
			prefix, version);
}

/* Finish or undo an interrupted transaction (the lock must be held). */
int txn_recover(struct ap_state *p, const struct ap_txn_opts *o, bool *recovered,
		struct ap_err *err)
{
	return ap_state_recover(p, on_recover, (void *)o, recovered, err);
}

/* Take the product's lock: readers shared, writers exclusive (recovering
 * an interrupted transaction first). */
int txn_state_lock(struct ap_state *p, enum ap_state_mode mode, const struct ap_txn_opts *o,
		   bool *recovered, struct ap_err *err)
{
	return ap_state_lock(p, mode, on_recover, (void *)o, recovered, err);
}

int ap_txn_lock(struct ap_state *st, enum ap_state_mode mode, const struct ap_txn_opts *o,
		struct ap_err *err)
{
	return txn_state_lock(st, mode, o, NULL, err);
}

/* ---- products ---- */

int ap_txn_list_products(const char *root, char ***names, size_t *n, struct ap_err *err)
{
	char **cand = NULL;
	size_t ncand = 0;
	struct ap_strvec got = AP_STRVEC_INIT;
	int rc;

	rc = ap_state_candidates(root, &cand, &ncand, err);
	for (size_t i = 0; i < ncand && rc == 0; i++) {
		struct ap_state p;

		rc = ap_state_init(&p, root, cand[i], err);
		if (rc < 0)
			break;
		rc = txn_state_lock(&p, AP_STATE_READ, NULL, NULL, err);
		if (rc == 0 && ap_state_has(&p, "receipt.json"))
			rc = txn_strvec_push(&got, cand[i], err);
		ap_state_release(&p);
	}
	if (rc == 0 && !got.v) {
		got.v = calloc(1, sizeof(*got.v));
		if (!got.v)
			rc = txn_nomem(err, "listing products");
	}
	if (rc == 0) {
		*names = got.v;
		*n = got.n;
		got.v = NULL;
		got.n = 0;
	}
	ap_fsx_strv_free(cand, ncand);
	ap_strvec_release(&got);
	return rc;
}

/* The product to act on: the one named, or the only one installed.
 * *name is NULL (and 0 returned) when none is installed and allow_none. */
static int resolve_product(const char *root, const char *product, bool allow_none, char **name,
			   struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	*name = NULL;
	if (product) {
		*name = ap_strdup(product);
		return *name ? 0 : txn_nomem(err, "naming the product");
	}
	rc = ap_txn_list_products(root, &names, &n, err);
	if (rc < 0)
		return rc;
	if (n == 1) {
		*name = names[0];
		names[0] = NULL;
	} else if (n == 0 && !allow_none) {
		rc = ap_err_set(err, AP_E_NOTFOUND, "no product is installed under '%s'",
				root ? root : ap_fsx_default_root());
	} else if (n > 1) {
		char list[512];
		size_t used = 0;

		list[0] = '\0';
		for (size_t i = 0; i < n && used < sizeof(list); i++) {
			int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 names[i]);
			if (k < 0)
				break;
			used += (size_t)k;
		}
		rc = ap_err_set(err, AP_E_USAGE,
				"several products are installed under '%s' (%s): name one",
				root ? root : ap_fsx_default_root(), list);
	}
	ap_fsx_strv_free(names, n);
	return rc;
}

/* The receipt whole (rd NULL) or as a stream (ap_receipt_reader_open). */
static int read_receipt(const struct ap_state *p, struct ap_receipt_reader **rd,
			struct ap_receipt **out, struct ap_err *err)
{
	char *path = ap_state_file(p, "receipt.json", NULL);
	int rc;

	if (!path)
		return txn_nomem(err, "reading the receipt");
	if (!ap_fsx_is_file(path))
		rc = ap_err_set(err, AP_E_NOTFOUND, "'%s' is not installed under '%s'", p->name,
				p->root);
	else if (rd)
		rc = ap_receipt_reader_open(path, rd, out, err);
	else
		rc = ap_receipt_load(path, out, err);
	free(path);
	return rc;
}

int txn_load_receipt(const struct ap_state *p, struct ap_receipt **out, struct ap_err *err)
{
	return read_receipt(p, NULL, out, err);
}

int txn_stream_receipt(const struct ap_state *p, struct ap_receipt_reader **rd,
		       struct ap_receipt **out, struct ap_err *err)
{
	return read_receipt(p, rd, out, err);
}

int txn_open(const char *root, const char *product, unsigned how, const struct ap_txn_opts *o,
	     struct ap_state *p, struct ap_err *err)
{
	char *name = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	p->lock = -1;
	p->root_lock = -1;
	p->mtime = -1;
	rc = resolve_product(root, product, how & TXN_OPEN_ABSENT_OK, &name, err);
	if (rc < 0)
		return rc;
	if (!name)
		return TXN_ABSENT;
	rc = ap_state_init(p, root, name, err);
	free(name);
	if (rc < 0)
		return rc;
	if (!ap_fsx_is_dir(p->state)) {
		if (how & TXN_OPEN_ABSENT_OK)
			return TXN_ABSENT;
		return ap_err_set(err, AP_E_NOTFOUND, "'%s' is not installed under '%s'", p->name,
				  p->root);
	}
	if (how & TXN_OPEN_WRITE)
		return txn_state_lock(p, AP_STATE_WRITE, o, NULL, err);
	return txn_state_lock(p, AP_STATE_READ, NULL, NULL, err);
}

int ap_txn_status(const char *root, const char *product, struct ap_receipt **out,
		  struct ap_err *err)
{
	struct ap_state p;
	int rc;

	rc = txn_open(root, product, 0, NULL, &p, err);
	if (rc == 0)
		rc = txn_load_receipt(&p, out, err);
	ap_state_release(&p);
	return rc;
}

int ap_txn_status_head(const char *root, const char *product, struct ap_receipt **out,
		       struct ap_err *err)
{
	struct ap_receipt_reader *rd = NULL;
	struct ap_state p;
	int rc;

	rc = txn_open(root, product, 0, NULL, &p, err);
	if (rc == 0)
		rc = txn_stream_receipt(&p, &rd, out, err);
	ap_receipt_reader_close(rd);
	ap_state_release(&p);
	return rc;
}
