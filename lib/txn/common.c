/* txn/common.c - helpers every part uses: strings, events, names, the test hooks, walking a tree; see airpack/txn.h and docs/install-transaction.md. */
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
#include "airpack/testhook.h"
#include "airpack/banned.h"

/* a/b where an empty a gives b and an empty b gives a. */
char *txn_join(const char *a, const char *b)
{
	if (!b || !*b)
		return ap_strdup(a);
	return ap_fsx_path_join(a, b);
}

int txn_nomem(struct ap_err *err, const char *what)
{
	return ap_err_set(err, AP_E_NOMEM, "out of memory %s", what);
}

/* Test-only: simulate kill -9 at a named point (docs/install-transaction.md). */
void txn_crash_point(const char *name)
{
	if (ap_testhook_is("AP_TXN_CRASH_AT", name))
		_Exit(137);
}

/* Test-only: stop at a named point until SIGCONT, for tests that change a
 * payload between the plan and the stage (docs/install-transaction.md). */
void txn_stop_point(const char *name)
{
	if (ap_testhook_is("AP_TXN_STOP_AT", name))
		ap_process_stop_self();
}

/* ---- names ---- */

const char *ap_txn_phase_name(enum ap_txn_phase p)
{
	switch (p) {
	case AP_TXN_PH_RECOVER:
		return "recover";
	case AP_TXN_PH_STAGE:
		return "stage";
	case AP_TXN_PH_FILE:
		return "file";
	case AP_TXN_PH_CHECK:
		return "check";
	case AP_TXN_PH_KEEP:
		return "keep";
	case AP_TXN_PH_SWITCH:
		return "switch";
	case AP_TXN_PH_RUN:
		return "run";
	case AP_TXN_PH_PENDING:
		return "pending";
	case AP_TXN_PH_VERIFY:
		return "verify";
	case AP_TXN_PH_REMOVE:
		return "remove";
	case AP_TXN_PH_SERVICE:
		return "service";
	}
	return "unknown";
}

const char *ap_txn_verdict_name(enum ap_txn_verdict v)
{
	switch (v) {
	case AP_TXN_V_OK:
		return "ok";
	case AP_TXN_V_MISMATCH:
		return "mismatch";
	case AP_TXN_V_FAILED:
		return "failed";
	case AP_TXN_V_PENDING:
		return "pending";
	case AP_TXN_V_KEPT:
		return "kept";
	case AP_TXN_V_CONFLICT:
		return "conflict";
	case AP_TXN_V_MODIFIED:
		return "modified";
	case AP_TXN_V_MISSING:
		return "missing";
	case AP_TXN_V_UNEXPECTED:
		return "unexpected";
	case AP_TXN_V_MODE:
		return "mode";
	case AP_TXN_V_REMOVED:
		return "removed";
	case AP_TXN_V_LEFT:
		return "left";
	case AP_TXN_V_PURGED:
		return "purged";
	case AP_TXN_V_ROLLED_FORWARD:
		return "rolled-forward";
	case AP_TXN_V_ROLLED_BACK:
		return "rolled-back";
	}
	return "unknown";
}

void txn_emit(const struct ap_txn_opts *o, const struct ap_txn_event *ev)
{
	if (o && o->on_event)
		o->on_event(o->ctx, ev);
}

void txn_emit_simple(const struct ap_txn_opts *o, enum ap_txn_phase ph, enum ap_txn_verdict v,
		     const char *product, const char *component, const char *path,
		     const char *detail)
{
	struct ap_txn_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.phase = ph;
	ev.verdict = v;
	ev.product = product;
	ev.component = component;
	ev.path = path;
	ev.detail = detail;
	txn_emit(o, &ev);
}

void ap_txn_result_release(struct ap_txn_result *r)
{
	if (!r)
		return;
	free(r->product);
	free(r->old_version);
	free(r->new_version);
	free(r->freshness);
	free(r->restart_required);
	free(r->run_output);
	ap_fsx_strv_free(r->conflicts, r->n_conflicts);
	memset(r, 0, sizeof(*r));
}

/* ---- string lists ---- */

int txn_strvec_push(struct ap_strvec *l, const char *s, struct ap_err *err)
{
	if (ap_strvec_push(l, s))
		return txn_nomem(err, "collecting paths");
	return 0;
}

int txn_cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool txn_strv_has(char *const *v, size_t n, const char *s)
{
	if (n == 0)
		return false;
	return bsearch(&s, v, n, sizeof(*v), txn_cmp_strp) != NULL;
}

/* path is dir or inside it. */
bool txn_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- walking a tree ---- */

/* Visit everything under base/dir (dir "" is base itself), names sorted,
 * a folder before its contents, symlinks not followed (neither in dir:
 * the OS layer's *_under functions). */
int txn_walk(const char *base, const char *dir, walk_fn fn, void *ctx, struct ap_err *err)
{
	struct ap_stat *sts = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc;

	/* Each entry's type from the folder's own listing: one open per
	 * folder, not one per entry. */
	rc = ap_fsx_list_dir_under_stat(base, dir, &names, &sts, &n, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		const struct ap_stat *st = &sts[i];
		char *rel;

		if (st->type == AP_FT_NONE)
			continue;
		rel = txn_join(dir, names[i]);
		if (!rel) {
			rc = txn_nomem(err, "walking a folder");
		} else {
			rc = fn(ctx, rel, st, err);
			if (rc == 0 && st->type == AP_FT_DIR)
				rc = txn_walk(base, rel, fn, ctx, err);
			else if (rc == WALK_SKIP)
				rc = 0;
		}
		free(rel);
	}
out:
	ap_fsx_strv_free(names, n);
	free(sts);
	return rc < 0 ? rc : 0;
}

/* Every folder under base/dir into out, a folder before its contents:
 * only folders are listed (from the listing's entry types), so a stage of
 * many files costs one read per folder, not one stat per file. */
static int collect_dirs(const char *base, const char *dir, struct ap_strvec *out,
			struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc = ap_fsx_list_subdirs_under(base, dir, &names, &n, err);

	for (size_t i = 0; i < n && rc == 0; i++) {
		char *rel = txn_join(dir, names[i]);

		if (!rel)
			rc = txn_nomem(err, "walking a folder");
		else if (ap_strvec_push_nodup(out, rel))
			rc = txn_nomem(err, "collecting paths");
		else
			rc = collect_dirs(base, rel, out, err);
	}
	ap_fsx_strv_free(names, n);
	return rc;
}

int txn_collect_dirs(const char *base, struct ap_strvec *out, struct ap_err *err)
{
	return collect_dirs(base, "", out, err);
}

void txn_file_event(struct ap_txn_event *ev, enum ap_txn_phase phase, const char *product,
		    const struct ap_receipt_file *f)
{
	memset(ev, 0, sizeof(*ev));
	ev->phase = phase;
	ev->product = product;
	ev->component = f->component;
	ev->path = f->path;
	ev->expected_sha256 = f->sha256;
	ev->expected_mode = f->mode;
	ev->size = f->size;
}
