/* txn.c - the install transaction; see airpack/txn.h and docs/install-transaction.md. */
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
#include "airpack/banned.h"

#define SAVE_SUFFIX ".airpack-save"
#define WALK_SKIP 1


static char *xstrdup(const char *s)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* a/b where an empty a gives b and an empty b gives a. */
static char *join(const char *a, const char *b)
{
	if (!b || !*b)
		return xstrdup(a);
	return ap_path_join(a, b);
}

static int nomem(struct ap_err *err, const char *what)
{
	return ap_err_set(err, AP_E_NOMEM, "out of memory %s", what);
}

/* Test-only: simulate kill -9 at a named point (docs/install-transaction.md). */
static void crash_point(const char *name)
{
	const char *at = getenv("AP_TXN_CRASH_AT");

	if (at && strcmp(at, name) == 0)
		_Exit(137);
}

/* Test-only: stop at a named point until SIGCONT, for tests that change a
 * payload between the plan and the stage (docs/install-transaction.md). */
static void stop_point(const char *name)
{
	const char *at = getenv("AP_TXN_STOP_AT");

	if (at && strcmp(at, name) == 0)
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

static void emit(const struct ap_txn_opts *o, const struct ap_txn_event *ev)
{
	if (o && o->on_event)
		o->on_event(o->ctx, ev);
}

static void emit_simple(const struct ap_txn_opts *o, enum ap_txn_phase ph, enum ap_txn_verdict v,
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
	emit(o, &ev);
}

void ap_txn_result_release(struct ap_txn_result *r)
{
	if (!r)
		return;
	free(r->product);
	free(r->old_version);
	free(r->new_version);
	ap_strv_free(r->conflicts, r->n_conflicts);
	memset(r, 0, sizeof(*r));
}

/* ---- string lists ---- */

struct strlist {
	char **v;
	size_t n, cap;
};

static int strlist_add(struct strlist *l, const char *s, struct ap_err *err)
{
	if (l->n + 2 > l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->v, ncap * sizeof(*p));

		if (!p)
			return nomem(err, "collecting paths");
		l->v = p;
		l->cap = ncap;
	}
	l->v[l->n] = xstrdup(s);
	if (!l->v[l->n])
		return nomem(err, "collecting paths");
	l->n++;
	l->v[l->n] = NULL;
	return 0;
}

static void strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	if (n == 0)
		return false;
	return bsearch(&s, v, n, sizeof(*v), cmp_strp) != NULL;
}

/* path is dir or inside it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- walking a tree ---- */

/* Called for each entry; rel is relative to the walk's base.  Return
 * WALK_SKIP to not descend into a folder, < 0 to stop. */
typedef int (*walk_fn)(void *ctx, const char *rel, const struct ap_stat *st, struct ap_err *err);

/* Visit everything under base/dir (dir "" is base itself), names sorted,
 * a folder before its contents, symlinks not followed. */
static int walk(const char *base, const char *dir, walk_fn fn, void *ctx, struct ap_err *err)
{
	char *abs = join(base, dir);
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!abs)
		return nomem(err, "walking a folder");
	rc = ap_fsx_list_dir(abs, &names, &n, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		struct ap_stat st;
		char *rel = join(dir, names[i]);
		char *cabs = ap_path_join(abs, names[i]);

		if (!rel || !cabs) {
			rc = nomem(err, "walking a folder");
		} else {
			rc = ap_fsx_stat(cabs, &st, err);
			if (rc == 0 && st.type != AP_FT_NONE) {
				rc = fn(ctx, rel, &st, err);
				if (rc == 0 && st.type == AP_FT_DIR)
					rc = walk(base, rel, fn, ctx, err);
				else if (rc == WALK_SKIP)
					rc = 0;
			}
		}
		free(rel);
		free(cabs);
	}
out:
	ap_strv_free(names, n);
	free(abs);
	return rc < 0 ? rc : 0;
}

static int collect_dirs_cb(void *ctx, const char *rel, const struct ap_stat *st,
			   struct ap_err *err)
{
	if (st->type != AP_FT_DIR)
		return 0;
	return strlist_add(ctx, rel, err);
}

/* ---- the product's state (lib/state.c owns it) ---- */

static void on_recover(void *ctx, const char *product, bool forward, const char *prefix,
		       const char *version)
{
	emit_simple(ctx, AP_TXN_PH_RECOVER,
		    forward ? AP_TXN_V_ROLLED_FORWARD : AP_TXN_V_ROLLED_BACK, product, NULL,
		    prefix, version);
}

/* Finish or undo an interrupted transaction (the lock must be held). */
static int recover(struct ap_state *p, const struct ap_txn_opts *o, bool *recovered,
		   struct ap_err *err)
{
	return ap_state_recover(p, on_recover, (void *)o, recovered, err);
}

/* Take the product's lock: readers shared, writers exclusive (recovering
 * an interrupted transaction first). */
static int state_lock(struct ap_state *p, enum ap_state_mode mode, const struct ap_txn_opts *o,
		      bool *recovered, struct ap_err *err)
{
	return ap_state_lock(p, mode, on_recover, (void *)o, recovered, err);
}

int ap_txn_lock(struct ap_state *st, enum ap_state_mode mode, const struct ap_txn_opts *o,
		struct ap_err *err)
{
	return state_lock(st, mode, o, NULL, err);
}

/* ---- products ---- */

int ap_txn_list_products(const char *root, char ***names, size_t *n, struct ap_err *err)
{
	char **cand = NULL;
	size_t ncand = 0;
	struct strlist got = { NULL, 0, 0 };
	int rc;

	rc = ap_state_candidates(root, &cand, &ncand, err);
	for (size_t i = 0; i < ncand && rc == 0; i++) {
		struct ap_state p;

		rc = ap_state_init(&p, root, cand[i], err);
		if (rc < 0)
			break;
		rc = state_lock(&p, AP_STATE_READ, NULL, NULL, err);
		if (rc == 0 && ap_state_has(&p, "receipt.json"))
			rc = strlist_add(&got, cand[i], err);
		ap_state_release(&p);
	}
	if (rc == 0 && !got.v) {
		got.v = calloc(1, sizeof(*got.v));
		if (!got.v)
			rc = nomem(err, "listing products");
	}
	if (rc == 0) {
		*names = got.v;
		*n = got.n;
		got.v = NULL;
		got.n = 0;
	}
	ap_strv_free(cand, ncand);
	strlist_release(&got);
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
		*name = xstrdup(product);
		return *name ? 0 : nomem(err, "naming the product");
	}
	rc = ap_txn_list_products(root, &names, &n, err);
	if (rc < 0)
		return rc;
	if (n == 1) {
		*name = names[0];
		names[0] = NULL;
	} else if (n == 0 && !allow_none) {
		rc = ap_err_set(err, AP_E_NOTFOUND, "no product is installed under '%s'",
				root ? root : "/");
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
				root ? root : "/", list);
	}
	ap_strv_free(names, n);
	return rc;
}

static int load_receipt(const struct ap_state *p, struct ap_receipt **out, struct ap_err *err)
{
	char *path = ap_state_file(p, "receipt.json", NULL);
	int rc;

	if (!path)
		return nomem(err, "reading the receipt");
	if (!ap_fsx_is_file(path))
		rc = ap_err_set(err, AP_E_NOTFOUND, "'%s' is not installed under '%s'", p->name,
				p->root);
	else
		rc = ap_receipt_load(path, out, err);
	free(path);
	return rc;
}

int ap_txn_status(const char *root, const char *product, struct ap_receipt **out,
		  struct ap_err *err)
{
	struct ap_state p;
	char *name = NULL;
	int rc;

	rc = resolve_product(root, product, false, &name, err);
	if (rc < 0)
		return rc;
	rc = ap_state_init(&p, root, name, err);
	free(name);
	if (rc < 0)
		return rc;
	rc = state_lock(&p, AP_STATE_READ, NULL, NULL, err);
	if (rc == 0)
		rc = load_receipt(&p, out, err);
	ap_state_release(&p);
	return rc;
}

/* ---- checking installed files against a receipt ---- */

struct check {
	const struct ap_txn_opts *o; /* events; may be NULL */
	const char *root;
	const struct ap_receipt *r;
	struct ap_txn_verify_stats st;
	char first[AP_ERR_MSG_MAX / 2]; /* the first difference, for the message */
};

static void note_diff(struct check *c, enum ap_txn_verdict v, const char *path)
{
	if (!c->first[0])
		snprintf(c->first, sizeof(c->first), "%s '%s'", ap_txn_verdict_name(v), path);
}

/* How the file at abs compares with its receipt entry: MISSING, MODIFIED
 * (another type, size or sha256), MODE (the same bytes with other
 * permission bits, where the OS has them) or OK.  st gets what lstat said,
 * hex the actual sha256 when the file was hashed ("" otherwise), *hashed
 * the bytes read. */
static int compare_installed(const char *abs, const struct ap_receipt_file *f,
			     struct ap_stat *st, char hex[AP_SHA256_HEX], uint64_t *hashed,
			     enum ap_txn_verdict *v, struct ap_err *err)
{
	int rc;

	hex[0] = '\0';
	*hashed = 0;
	rc = ap_fsx_stat(abs, st, err);
	if (rc < 0)
		return rc;
	if (st->type == AP_FT_NONE) {
		*v = AP_TXN_V_MISSING;
		return 0;
	}
	if (st->type != AP_FT_FILE || st->size != f->size) {
		*v = AP_TXN_V_MODIFIED;
		return 0;
	}
	rc = ap_sha256_file(abs, hex, hashed, NULL, NULL, err);
	if (rc < 0)
		return rc;
	if (!ap_sha256_eq(hex, f->sha256) || *hashed != f->size)
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
	char *abs = ap_path_join(c->root, f->path);
	int rc;

	if (!abs)
		return nomem(err, "verifying");
	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_VERIFY;
	ev.product = c->r->product;
	ev.component = f->component;
	ev.path = f->path;
	ev.expected_sha256 = f->sha256;
	ev.expected_mode = f->mode;
	ev.size = f->size;
	rc = compare_installed(abs, f, &st, hex, &size, &ev.verdict, err);
	if (rc < 0)
		goto out;
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
	emit(c->o, &ev);
out:
	free(abs);
	return rc;
}

static int unexpected_cb(void *ctx, const char *rel, const struct ap_stat *st, struct ap_err *err)
{
	struct check *c = ctx;
	struct ap_txn_event ev;

	(void)err;
	if (st->type == AP_FT_DIR || ap_receipt_find_file(c->r, rel))
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
	emit(c->o, &ev);
	return 0;
}

/* Check every receipt file, and with unexpected also list what else is
 * under the prefix. */
static int check_tree(struct check *c, bool unexpected, struct ap_err *err)
{
	char *prefix;
	int rc = 0;

	for (size_t i = 0; i < c->r->n_files && rc == 0; i++)
		rc = check_file(c, &c->r->files[i], err);
	if (rc < 0 || !unexpected)
		return rc;
	prefix = ap_path_join(c->root, c->r->prefix);
	if (!prefix)
		return nomem(err, "verifying");
	if (ap_fsx_is_dir(prefix))
		rc = walk(c->root, c->r->prefix, unexpected_cb, c, err);
	free(prefix);
	return rc;
}

int ap_txn_verify(const struct ap_txn_opts *o, const char *product,
		  struct ap_txn_verify_stats *stats, struct ap_err *err)
{
	struct ap_receipt *r = NULL;
	struct check c;
	struct ap_state p;
	char *name = NULL;
	const char *root = o ? o->root : NULL;
	size_t ndiff;
	int rc;

	rc = resolve_product(root, product, false, &name, err);
	if (rc < 0)
		return rc;
	rc = ap_state_init(&p, root, name, err);
	free(name);
	if (rc < 0)
		return rc;
	/* Held until the verdict: an install waits, or we say busy. */
	rc = state_lock(&p, AP_STATE_READ, NULL, NULL, err);
	if (rc == 0)
		rc = load_receipt(&p, &r, err);
	if (rc < 0)
		goto out;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.root = p.root;
	c.r = r;
	rc = check_tree(&c, true, err);
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
	ap_receipt_free(r);
	ap_state_release(&p);
	return rc;
}

/* ---- run actions ---- */

static int write_state_file(const struct ap_state *p, const char *name, const char *suffix,
			    const void *data, size_t len, int64_t mtime, struct ap_err *err)
{
	char *path = ap_state_file(p, name, suffix);
	int rc;

	if (!path)
		return nomem(err, "writing the state");
	rc = ap_fsx_write_atomic(path, data, len, 0644, err);
	if (rc == 0 && mtime >= 0)
		rc = ap_fsx_set_mtime(path, mtime, err);
	free(path);
	return rc;
}

static int write_receipt(const struct ap_state *p, const struct ap_receipt *r, const char *suffix,
			 int64_t mtime, struct ap_err *err)
{
	char *json = NULL;
	size_t len = 0;
	int rc;

	rc = ap_receipt_emit(r, &json, &len, err);
	if (rc == 0)
		rc = write_state_file(p, "receipt.json", suffix, json, len, mtime, err);
	free(json);
	return rc;
}

/* ---- the first-boot marker ---- */

/* ROOT/var/lib/airpack/firstboot.d/PRODUCT exists while the product's receipt
 * may hold pending run actions; airpack-firstboot.service runs only while the
 * folder is not empty.  It is created before a receipt with pending actions is
 * written and removed only after one without them is committed, so a crash in
 * between leaves at worst a stale marker, which the next firstboot removes.
 * One file per product, written under that product's lock. */
static int set_pending_marker(const struct ap_state *p, bool pending, int64_t mtime,
			      struct ap_err *err)
{
	char *dir = ap_path_join(p->root, AP_STATE_FIRSTBOOT_DIR);
	char *path = dir ? ap_path_join(dir, p->name) : NULL;
	int rc = 0;

	if (!path) {
		rc = nomem(err, "writing the first-boot marker");
		goto out;
	}
	if (!pending) {
		rc = ap_fsx_unlink(path, err);
		goto out;
	}
	if (ap_fsx_is_file(path))
		goto out;
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = ap_fsx_write_atomic(path, "pending\n", 8, 0644, err);
	if (rc == 0 && mtime >= 0)
		rc = ap_fsx_set_mtime(path, mtime, err);
	if (rc == 0 && mtime >= 0)
		rc = ap_fsx_set_mtime(dir, mtime, err);
out:
	if (rc < 0)
		ap_err_prefix(err, "first-boot marker of '%s'", p->name ? p->name : "");
	free(path);
	free(dir);
	return rc;
}

static bool code_ok(const struct ap_receipt_action *a, int code)
{
	if (a->n_ok_codes == 0)
		return code == 0;
	for (size_t i = 0; i < a->n_ok_codes; i++)
		if (a->ok_codes[i] == code)
			return true;
	return false;
}

static void format_codes(const struct ap_receipt_action *a, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	if (a->n_ok_codes == 0) {
		snprintf(buf, size, "0");
		return;
	}
	for (size_t i = 0; i < a->n_ok_codes && used < size; i++) {
		int k = snprintf(buf + used, size - used, "%s%d", i ? ", " : "", a->ok_codes[i]);

		if (k < 0)
			return;
		used += (size_t)k;
	}
}

/* Where run actions run now (ap_txn_run_in). */
enum run_where { RUN_PENDING, RUN_HOST, RUN_CHROOT };

/* root is this host's "/" (the same folder, however it is spelt).  When
 * that cannot be told, it is not: the actions stay pending. */
static bool is_host_root(const struct ap_state *p)
{
	struct ap_file_id a, b;

	if (strcmp(p->root, "/") == 0)
		return true;
	if (ap_fsx_file_id(p->aroot, &a, NULL) < 0 || ap_fsx_file_id("/", &b, NULL) < 0)
		return false;
	return a.exists && b.exists && a.dev == b.dev && a.ino == b.ino;
}

static enum run_where run_where(const struct ap_state *p, const struct ap_txn_opts *o)
{
	if (o && o->no_run)
		return RUN_PENDING;
	if (!o || !o->root || is_host_root(p) || o->run_in == AP_TXN_RUN_HOST)
		return RUN_HOST;
	return o->run_in == AP_TXN_RUN_ROOT ? RUN_CHROOT : RUN_PENDING;
}

/* Run r's pending actions in order, moving each to r->actions with its
 * result and rewriting the receipt after each so a kill never runs one
 * twice.  Stops at the first failure. */
static int run_pending(const struct ap_state *p, struct ap_receipt *r, const struct ap_txn_opts *o,
		       enum run_where where, size_t *n_ran, struct ap_err *err)
{
	int64_t mtime = o ? o->mtime : -1;
	char *cwd = where == RUN_CHROOT ? ap_path_join("/", r->prefix)
					: ap_path_join(p->aroot, r->prefix);
	int rc = 0;

	if (!cwd)
		return nomem(err, "running actions");
	while (r->n_pending > 0 && rc == 0) {
		struct ap_receipt_action *a = &r->pending[0];
		struct ap_receipt_action *grown;
		struct ap_txn_event ev;
		struct ap_err run_err = AP_ERR_INIT;
		char *program = ap_path_join(where == RUN_CHROOT ? "/" : p->aroot, a->program);
		char codes[128];
		int code = 127;
		int run_rc;

		if (!program) {
			rc = nomem(err, "running actions");
			break;
		}
		if (where == RUN_CHROOT)
			run_rc = ap_process_run_in_root(p->aroot, program, a->args, a->n_args, cwd,
							&code, &run_err);
		else
			run_rc = ap_process_run(program, a->args, a->n_args, cwd, &code, &run_err);
		free(program);
		if (run_rc < 0)
			code = 127;
		a->exit_code = code;
		a->ok = run_rc == 0 && code_ok(a, code);
		a->ran_at = ap_fsx_now();
		grown = realloc(r->actions, (r->n_actions + 1) * sizeof(*grown));
		if (!grown) {
			rc = nomem(err, "recording an action");
			break;
		}
		r->actions = grown;
		r->actions[r->n_actions++] = *a;
		memmove(&r->pending[0], &r->pending[1], (r->n_pending - 1) * sizeof(*a));
		r->n_pending--;
		a = &r->actions[r->n_actions - 1];
		if (n_ran)
			(*n_ran)++;
		memset(&ev, 0, sizeof(ev));
		ev.phase = AP_TXN_PH_RUN;
		ev.verdict = a->ok ? AP_TXN_V_OK : AP_TXN_V_FAILED;
		ev.product = r->product;
		ev.component = a->component;
		ev.path = a->program;
		ev.exit_code = code;
		ev.detail = run_rc < 0 ? run_err.msg : NULL;
		emit(o, &ev);
		rc = write_receipt(p, r, NULL, mtime, err);
		if (rc < 0)
			break;
		format_codes(a, codes, sizeof(codes));
		if (run_rc < 0) {
			rc = ap_err_set(err, AP_E_RUN,
					"run action '%s' of '%s' could not start: %s", a->component,
					r->product, run_err.msg);
		} else if (!a->ok) {
			rc = ap_err_set(err, AP_E_RUN,
					"run action '%s' of '%s' failed: '%s' exited with %d, "
					"expected %s%s",
					a->component, r->product, a->program, code,
					a->n_ok_codes > 1 ? "one of " : "", codes);
		}
	}
	free(cwd);
	return rc;
}

/* firstboot runs what is pending, but an image's actions not on this host
 * unless asked. */
static int firstboot_where(const struct ap_state *p, const struct ap_txn_opts *o,
			   enum run_where *where, struct ap_err *err)
{
	struct ap_txn_opts run = AP_TXN_OPTS_INIT;
	int rc = 0;

	if (o)
		run = *o;
	run.no_run = false;
	*where = run_where(p, &run);
	if (*where == RUN_CHROOT)
		rc = ap_process_can_run_in_root(p->aroot, err);
	if (*where == RUN_PENDING)
		rc = ap_err_set(err, AP_E_USAGE,
				"'%s' has actions pending in the image root '%s': they are not "
				"run on this host unless asked; run 'airpack-setup firstboot' on "
				"the device, or pass --run-in-root (chroot into the root) or "
				"--run-on-host",
				p->name, p->root);
	return rc;
}

int ap_txn_firstboot(const struct ap_txn_opts *o, const char *product, size_t *n_ran,
		     struct ap_err *err)
{
	const char *root = o ? o->root : NULL;
	char **names = NULL;
	size_t n = 0;
	size_t ran = 0;
	int rc;

	if (product) {
		names = calloc(2, sizeof(*names));
		if (!names)
			return nomem(err, "running pending actions");
		names[0] = xstrdup(product);
		if (!names[0]) {
			free(names);
			return nomem(err, "running pending actions");
		}
		n = 1;
	} else {
		rc = ap_txn_list_products(root, &names, &n, err);
		if (rc < 0)
			return rc;
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ap_receipt *r = NULL;
		enum run_where where = RUN_PENDING;
		struct ap_state p;

		rc = ap_state_init(&p, root, names[i], err);
		if (rc < 0)
			break;
		if (!ap_fsx_is_dir(p.state))
			rc = ap_err_set(err, AP_E_NOTFOUND, "'%s' is not installed under '%s'",
					p.name, p.root);
		if (rc == 0)
			rc = state_lock(&p, AP_STATE_WRITE, o, NULL, err);
		if (rc == 0)
			rc = load_receipt(&p, &r, err);
		if (rc == 0 && r->n_pending > 0)
			rc = firstboot_where(&p, o, &where, err);
		if (rc == 0 && r->n_pending > 0)
			rc = run_pending(&p, r, o, where, &ran, err);
		if (r && (rc == 0 || rc == AP_E_RUN)) {
			struct ap_err e2 = AP_ERR_INIT;
			int mrc = set_pending_marker(&p, r->n_pending > 0, -1, rc == 0 ? err : &e2);

			if (rc == 0)
				rc = mrc;
		}
		ap_receipt_free(r);
		ap_state_release(&p);
	}
	ap_strv_free(names, n);
	if (rc == 0 && n_ran)
		*n_ran = ran;
	return rc;
}

/* ---- install ---- */

struct rec {
	char *path; /* relative to the root */
	unsigned mode;
	uint64_t size;
	char sha256[AP_SHA256_HEX];
	const char *component;
	size_t seq;
};

struct inst {
	const struct ap_manifest *m;
	const struct ap_txn_opts *o;
	struct ap_state *p;
	const struct ap_receipt *old; /* may be NULL */
	char *prefix_abs;
	char *parent_rel; /* the prefix's folder, "" for the root */
	char *parent_abs;
	char *stage_rel, *stage_abs;
	char *old_rel, *old_abs;
	struct rec *recs;
	size_t n_recs, cap_recs;
	/* the component being extracted */
	const struct ap_component *cur;
	const char *cur_to; /* relative to the prefix, "" for the prefix */
	struct strlist created;   /* folders outside the prefix this install made */
	struct strlist rel_dirs;  /* release folders in the stage (relative to the prefix) */
	struct strlist conflicts; /* relative to the root */
	struct strlist created_data; /* data folders that did not exist before */
	size_t n_kept;
	enum run_where run;       /* where this install's run actions run */
};

static void inst_release(struct inst *s)
{
	free(s->prefix_abs);
	free(s->parent_rel);
	free(s->parent_abs);
	free(s->stage_rel);
	free(s->stage_abs);
	free(s->old_rel);
	free(s->old_abs);
	for (size_t i = 0; i < s->n_recs; i++)
		free(s->recs[i].path);
	free(s->recs);
	strlist_release(&s->created);
	strlist_release(&s->rel_dirs);
	strlist_release(&s->conflicts);
	strlist_release(&s->created_data);
}

static int add_rec(struct inst *s, const char *rel_prefix, unsigned mode, uint64_t size,
		   const char sha256[AP_SHA256_HEX], const struct ap_component *c,
		   const char *expected, struct ap_err *err)
{
	struct ap_txn_event ev;
	struct rec *r;

	if (s->n_recs == s->cap_recs) {
		size_t ncap = s->cap_recs ? s->cap_recs * 2 : 64;
		struct rec *p = realloc(s->recs, ncap * sizeof(*p));

		if (!p)
			return nomem(err, "recording installed files");
		s->recs = p;
		s->cap_recs = ncap;
	}
	r = &s->recs[s->n_recs];
	memset(r, 0, sizeof(*r));
	r->path = ap_path_join(s->m->prefix, rel_prefix);
	if (!r->path)
		return nomem(err, "recording installed files");
	r->mode = mode & 07777;
	r->size = size;
	memcpy(r->sha256, sha256, AP_SHA256_HEX);
	r->component = c->name;
	r->seq = s->n_recs;
	s->n_recs++;
	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_FILE;
	ev.verdict = AP_TXN_V_OK;
	ev.product = s->m->product;
	ev.component = c->name;
	ev.path = r->path;
	ev.expected_sha256 = expected;
	ev.actual_sha256 = r->sha256;
	ev.expected_mode = r->mode;
	ev.actual_mode = r->mode;
	ev.size = size;
	emit(s->o, &ev);
	return 0;
}

static int extract_cb(void *ctx, const char *relpath, unsigned mode, uint64_t size,
		      const char sha256[AP_SHA256_HEX], struct ap_err *err)
{
	struct inst *s = ctx;
	char *rel = join(s->cur_to, relpath);
	int rc;

	if (!rel)
		return nomem(err, "recording installed files");
	rc = add_rec(s, rel, mode, size, sha256, s->cur, NULL, err);
	free(rel);
	return rc;
}

#define STAGE_BLOCK (256 * 1024)

/* Hash the file at path (opened once) and compare it with c's size and
 * sha256; what names it in messages. */
static int hash_staged(const char *path, const char *what, const struct ap_component *c,
		       struct ap_err *err)
{
	struct ap_sha256 *h = ap_sha256_new();
	unsigned char *buf = malloc(STAGE_BLOCK);
	char hex[AP_SHA256_HEX];
	uint64_t done = 0;
	FILE *fp = NULL;
	size_t n;
	int rc;

	if (!h || !buf) {
		rc = nomem(err, "hashing a staged file");
		goto out;
	}
	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc < 0)
		goto out;
	while ((n = fread(buf, 1, STAGE_BLOCK, fp)) > 0) {
		ap_sha256_update(h, buf, n);
		done += n;
	}
	if (ferror(fp)) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
		goto out;
	}
	ap_sha256_final_hex(h, hex);
	if (done != c->size || !ap_sha256_eq(hex, c->sha256))
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' is %llu bytes with sha256 %s, the signed "
				"manifest says %llu bytes with sha256 %s",
				what, (unsigned long long)done, hex, (unsigned long long)c->size,
				c->sha256);
out:
	if (fp)
		fclose(fp);
	free(buf);
	ap_sha256_free(h);
	return rc;
}

/* Rename a movable copy/run payload (airpack's own verified copy, see
 * ap_txn_payload_fn) to dst in the stage and give it its mode.  *moved
 * false: the file is still at src, to be copied instead. */
static int stage_move(struct inst *s, const struct ap_component *c, const char *src,
		      const char *dst, bool *moved, struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;
	struct ap_stat st;
	int rc;

	*moved = false;
	if (!c->has_size || !c->has_sha256)
		return 0;
	if (ap_fsx_rename(src, dst, &e) != 0) {
		/* Still there: refused (another file system, an OS that
		 * cannot), so it is copied.  Gone: it was renamed, and what
		 * failed after that (a folder's fsync) is the error. */
		if (ap_fsx_stat(src, &st, NULL) == 0 && st.type == AP_FT_FILE)
			return 0;
		return ap_err_set(err, e.code, "%s", e.msg);
	}
	*moved = true;
	/* The rename moved whatever was at src when it ran, which need not be
	 * the file airpack checked while writing it: the moved file is hashed
	 * where it now is, in the stage, and must still be the manifest's. */
	rc = ap_fsx_stat(dst, &st, err);
	if (rc == 0 && (st.type != AP_FT_FILE || st.size != c->size))
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' is %llu bytes, expected %llu", src,
				(unsigned long long)st.size, (unsigned long long)c->size);
	if (rc == 0)
		rc = hash_staged(dst, src, c, err);
	if (rc == 0)
		rc = ap_fsx_chmod(dst, c->mode, err);
	if (rc == 0 && s->o->mtime >= 0)
		rc = ap_fsx_set_mtime(dst, s->o->mtime, err);
	if (rc == 0)
		rc = ap_fsx_fsync_path(dst, err);
	return rc;
}

/* Copy a copy/run payload into the stage, hashing it on the way and
 * comparing with the manifest once more: it was verified when planned, and
 * may have changed since.  A movable one is renamed instead when it can
 * be. */
static int stage_copy(struct inst *s, const struct ap_component *c, const char *src,
		      bool movable, struct ap_err *err)
{
	const char *dest = ap_component_dest(c);
	struct ap_sink_expect x = { src, c->has_size, c->size,
				    c->has_sha256 ? c->sha256 : NULL, NULL };
	struct ap_sink sink = AP_SINK_INIT;
	struct ap_txn_event ev;
	char *dst = ap_path_join(s->stage_abs, dest);
	char *dir = NULL;
	char *rel = NULL;
	bool moved = false;
	int rc;

	if (!dst)
		return nomem(err, "staging");
	dir = ap_path_dirname(dst);
	rel = ap_path_join(s->m->prefix, dest);
	if (!dir || !rel) {
		rc = nomem(err, "staging");
		goto out;
	}
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc == 0 && movable)
		rc = stage_move(s, c, src, dst, &moved, err);
	if (rc == 0 && moved) {
		rc = add_rec(s, dest, c->mode, c->size, c->sha256, c, c->sha256, err);
		goto out;
	}
	if (rc == 0)
		rc = ap_sink_open(&sink, dst, c->mode, &x, err);
	if (rc == 0)
		rc = ap_sink_write_file(&sink, src, NULL, NULL, err);
	if (rc == 0)
		rc = ap_sink_commit(&sink, NULL, err);
	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_CHECK;
	ev.verdict = rc ? AP_TXN_V_MISMATCH : AP_TXN_V_OK;
	ev.product = s->m->product;
	ev.component = c->name;
	ev.path = rel;
	ev.expected_sha256 = x.sha256;
	ev.actual_sha256 = sink.hex;
	ev.size = sink.done;
	/* A mismatch found after hashing it all is reported with both hashes. */
	if (rc == 0 || (rc == AP_E_DIGEST && sink.hex[0]))
		emit(s->o, &ev);
	if (rc == AP_E_DIGEST)
		ap_err_prefix(err, "payload changed after it was verified");
	if (rc)
		goto out;
	if (s->o->mtime >= 0)
		rc = ap_fsx_set_mtime(dst, s->o->mtime, err);
	if (rc == 0)
		rc = add_rec(s, dest, c->mode, sink.done, sink.hex, c, x.sha256, err);
out:
	ap_sink_abort(&sink);
	free(dst);
	free(dir);
	free(rel);
	return rc;
}

/* An extract payload whose release manifest predates "expanded" may
 * expand to LEGACY_RATIO times its size, and at least LEGACY_FLOOR bytes
 * (docs/manifest.md). */
#define LEGACY_RATIO 64u
#define LEGACY_FLOOR (16ull << 20)

static uint64_t legacy_cap(const struct ap_component *c)
{
	uint64_t cap;

	if (c->has_expanded)
		return 0;
	cap = c->size > UINT64_MAX / LEGACY_RATIO ? UINT64_MAX : c->size * LEGACY_RATIO;
	return cap < LEGACY_FLOOR ? LEGACY_FLOOR : cap;
}

static int stage_component(struct inst *s, const struct ap_component *c, const char *src,
			   bool movable, struct ap_err *err)
{
	char *dest = NULL;
	int rc;

	if (c->action != AP_ACTION_EXTRACT)
		return stage_copy(s, c, src, movable, err);
	s->cur = c;
	s->cur_to = c->to ? c->to : "";
	dest = join(s->stage_abs, s->cur_to);
	if (!dest)
		return nomem(err, "staging");
	rc = ap_fsx_mkdir_p(dest, 0755, err);
	if (rc == 0) {
		struct ap_extract_expect x = {0};

		x.has_size = c->has_size;
		x.size = c->size;
		x.sha256 = c->has_sha256 ? c->sha256 : NULL;
		x.says = "the signed manifest says";
		x.has_expanded = c->has_expanded;
		x.expanded_size = c->expanded_size;
		x.expanded_files = c->expanded_files;
		x.max_expanded = legacy_cap(c);
		x.changed = "payload changed after it was verified";
		x.spool_dir = s->stage_abs;
		rc = ap_extract_checked(src, dest, s->o->mtime, &x, extract_cb, s, err);
	}
	free(dest);
	s->cur = NULL;
	return rc;
}

static int cmp_recp(const void *a, const void *b)
{
	return strcmp((*(struct rec *const *)a)->path, (*(struct rec *const *)b)->path);
}

/* Two components writing the same path, or one writing below a file (or
 * a file where a folder is) of another: the later one replaced what the
 * earlier one staged, and the receipt would name a file that is not on
 * disk.  Refused, naming both. */
static int check_overlaps(struct inst *s, struct ap_err *err)
{
	size_t plen = strlen(s->m->prefix);
	struct rec **v = NULL;
	int rc = 0;

	if (s->n_recs == 0)
		return 0;
	v = malloc(s->n_recs * sizeof(*v));
	if (!v)
		return nomem(err, "checking staged files");
	for (size_t i = 0; i < s->n_recs; i++)
		v[i] = &s->recs[i];
	qsort(v, s->n_recs, sizeof(*v), cmp_recp);
	for (size_t i = 0; i < s->n_recs && rc == 0; i++) {
		char *path = v[i]->path, *parent;
		const char *in = path + plen + (path[plen] == '/');

		if (i > 0 && strcmp(v[i - 1]->path, path) == 0) {
			rc = ap_err_set(err, AP_E_UNSAFE,
					"components '%s' and '%s' both install '%s': refusing "
					"the release",
					v[i - 1]->component, v[i]->component, path);
			break;
		}
		if (!strchr(in, '/'))
			continue;
		parent = xstrdup(path);
		if (!parent) {
			rc = nomem(err, "checking staged files");
			break;
		}
		for (char *sl = strchr(parent + (in - path), '/'); sl && rc == 0;
		     sl = strchr(sl + 1, '/')) {
			struct rec key, *kp = &key, **hit;

			/* The parent's name is the path cut at this '/'. */
			*sl = '\0';
			key.path = parent;
			hit = bsearch(&kp, v, s->n_recs, sizeof(*v), cmp_recp);
			*sl = '/';
			if (hit) {
				rc = ap_err_set(err, AP_E_UNSAFE,
						"'%s' of component '%s' is below '%s', a file of "
						"component '%s': refusing the release",
						path, v[i]->component, (*hit)->path,
						(*hit)->component);
			}
		}
		free(parent);
	}
	/* A file that is a folder on disk: a later component made it one with
	 * an empty folder entry. */
	for (size_t i = 0; i < s->n_recs && rc == 0; i++) {
		const char *path = v[i]->path;
		const char *in = path + plen + (path[plen] == '/');

		if (strv_has(s->rel_dirs.v, s->rel_dirs.n, in))
			rc = ap_err_set(err, AP_E_UNSAFE,
					"'%s' of component '%s' is a folder in the staged tree "
					"(another component made it one): refusing the release",
					path, v[i]->component);
	}
	free(v);
	return rc;
}

#define MIB(n) (((n) + (1u << 20) - 1) >> 20)
/* Allowance per file for the blocks and metadata it takes beyond its
 * bytes. */
#define FILE_OVERHEAD 4096u

/* Room for the whole new tree on the file system of the stage, checked
 * before anything is staged: every component's bytes (an extract
 * component's signed expanded size, or its archive size for a release
 * without it), a block per file, and the largest archive once more for the
 * private copy a zip is read from.  Carried user files are hard links and
 * cost nothing. */
static int check_space(struct inst *s, struct ap_err *err)
{
	uint64_t need = 0, spool = 0, avail = 0;
	int rc;

	for (size_t i = 0; i < s->m->n_components; i++) {
		const struct ap_component *c = &s->m->components[i];
		uint64_t bytes = c->size + FILE_OVERHEAD;

		if (c->action == AP_ACTION_EXTRACT) {
			if (c->has_expanded)
				bytes = c->expanded_size + c->expanded_files * FILE_OVERHEAD;
			if (c->size > spool)
				spool = c->size;
		}
		need = need + bytes < need ? UINT64_MAX : need + bytes;
	}
	need = need + spool < need ? UINT64_MAX : need + spool;
	rc = ap_fsx_free_space(s->parent_abs, &avail, err);
	if (rc < 0)
		return rc;
	if (need > avail)
		return ap_err_set(err, AP_E_IO,
				  "not enough space to install '%s' %s: needs %llu MiB, %llu MiB "
				  "free on the file system of '%s'",
				  s->m->product, s->m->version, (unsigned long long)MIB(need),
				  (unsigned long long)(avail >> 20), s->parent_abs);
	return 0;
}

/* mkdir -p ROOT/rel, remembering which folders did not exist before. */
static int note_made(void *ctx, const char *rel, struct ap_err *err)
{
	struct inst *s = ctx;

	return strlist_add(&s->created, rel, err);
}

static int mkdirs_noted(struct inst *s, const char *rel, struct ap_err *err)
{
	return ap_fsx_mkdirs_noted(s->p->root, rel, note_made, s, err);
}

/* Was rel (relative to the root) a file or a folder of the old release? */
static bool old_has_file(const struct inst *s, const char *rel)
{
	return s->old && ap_receipt_find_file(s->old, rel);
}

static bool old_has_dir(const struct inst *s, const char *rel)
{
	return s->old && strv_has(s->old->dirs, s->old->n_dirs, rel);
}

static int carry_dir(struct inst *s, const char *src, const char *dst, struct ap_err *err);

/* Put the old tree's src (relative to the prefix) at dst in the stage. */
static int carry_entry(struct inst *s, const char *src, const char *dst, struct ap_err *err)
{
	struct ap_stat st, dt, sv;
	char *from = join(s->prefix_abs, src);
	char *to = join(s->stage_abs, dst);
	char *rel = ap_path_join(s->m->prefix, src);
	char *save = NULL, *save_abs = NULL, *save_rel = NULL, *dir = NULL;
	char detail[512];
	bool fallback;
	int rc;

	if (!from || !to || !rel) {
		rc = nomem(err, "keeping user files");
		goto out;
	}
	rc = ap_fsx_stat(from, &st, err);
	if (rc == 0)
		rc = ap_fsx_stat(to, &dt, err);
	if (rc < 0 || st.type == AP_FT_NONE)
		goto out;
	if (st.type != AP_FT_DIR && old_has_file(s, rel))
		goto out; /* the old release's own file: replaced by the new tree */
	if (st.type == AP_FT_DIR && dt.type == AP_FT_DIR) {
		rc = carry_dir(s, src, dst, err);
		goto out;
	}
	if (dt.type != AP_FT_NONE) {
		/* A release file or folder is in the way: the release wins, the
		 * user's entry is kept beside it when that name is free. */
		size_t len = strlen(dst) + sizeof(SAVE_SUFFIX);

		save = malloc(len);
		if (!save) {
			rc = nomem(err, "keeping user files");
			goto out;
		}
		snprintf(save, len, "%s%s", dst, SAVE_SUFFIX);
		save_abs = ap_path_join(s->stage_abs, save);
		save_rel = ap_path_join(s->m->prefix, save);
		if (!save_abs || !save_rel) {
			rc = nomem(err, "keeping user files");
			goto out;
		}
		rc = ap_fsx_stat(save_abs, &sv, err);
		if (rc < 0)
			goto out;
		rc = strlist_add(&s->conflicts, rel, err);
		if (rc < 0)
			goto out;
		if (sv.type != AP_FT_NONE) {
			snprintf(detail, sizeof(detail),
				 "replaced by the release; not saved: '%s' exists", save_rel);
			emit_simple(s->o, AP_TXN_PH_KEEP, AP_TXN_V_CONFLICT, s->m->product, NULL,
				    rel, detail);
			goto out;
		}
		snprintf(detail, sizeof(detail), "replaced by the release; saved as '%s'",
			 save_rel);
		emit_simple(s->o, AP_TXN_PH_KEEP, AP_TXN_V_CONFLICT, s->m->product, NULL, rel,
			    detail);
		free(to);
		to = save_abs;
		save_abs = NULL;
		dst = save;
	}
	if (st.type == AP_FT_DIR) {
		/* A folder the user made is kept even when empty; an old
		 * release folder only when something in it is kept. */
		if (!old_has_dir(s, rel)) {
			rc = ap_fsx_mkdir_p(to, st.mode ? st.mode : 0755, err);
			if (rc < 0)
				goto out;
		}
		rc = carry_dir(s, src, dst, err);
		goto out;
	}
	dir = ap_path_dirname(to);
	if (!dir) {
		rc = nomem(err, "keeping user files");
		goto out;
	}
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = ap_fsx_link(from, to, &fallback, err);
	if (rc == 0 && fallback) {
		if (st.type != AP_FT_FILE) {
			rc = ap_err_set(err, AP_E_IO,
					"cannot keep '%s' across the upgrade: it cannot be linked "
					"and is not a regular file",
					from);
			goto out;
		}
		rc = ap_fsx_copy_file(from, to, st.mode, err);
	}
	if (rc < 0)
		goto out;
	s->n_kept++;
	emit_simple(s->o, AP_TXN_PH_KEEP, AP_TXN_V_KEPT, s->m->product, NULL, rel, NULL);
out:
	free(from);
	free(to);
	free(rel);
	free(save);
	free(save_abs);
	free(save_rel);
	free(dir);
	return rc;
}

static int carry_dir(struct inst *s, const char *src, const char *dst, struct ap_err *err)
{
	char *abs = join(s->prefix_abs, src);
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!abs)
		return nomem(err, "keeping user files");
	rc = ap_fsx_list_dir(abs, &names, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *csrc = join(src, names[i]);
		char *cdst = join(dst, names[i]);

		if (csrc && cdst)
			rc = carry_entry(s, csrc, cdst, err);
		else
			rc = nomem(err, "keeping user files");
		free(csrc);
		free(cdst);
	}
	ap_strv_free(names, n);
	free(abs);
	return rc;
}

static int set_dir_meta(struct inst *s, const char *rel_prefix, bool chmod_it, struct ap_err *err)
{
	char *abs = join(s->stage_abs, rel_prefix);
	int rc = 0;

	if (!abs)
		return nomem(err, "finishing the stage");
	if (chmod_it)
		rc = ap_fsx_chmod(abs, 0755, err);
	if (rc == 0 && s->o->mtime >= 0)
		rc = ap_fsx_set_mtime(abs, s->o->mtime, err);
	free(abs);
	return rc;
}

static int fsync_dir_rel(struct inst *s, const char *rel_prefix, struct ap_err *err)
{
	char *abs = join(s->stage_abs, rel_prefix);
	int rc;

	if (!abs)
		return nomem(err, "finishing the stage");
	rc = ap_fsx_fsync_dir(abs, err);
	free(abs);
	return rc;
}

/* Every stage folder gets its mode (release folders) and time, then is
 * fsynced, deepest first, and the stage's own folder last. */
static int finish_stage(struct inst *s, struct ap_err *err)
{
	struct strlist all = { NULL, 0, 0 };
	int rc;

	rc = walk(s->stage_abs, "", collect_dirs_cb, &all, err);
	for (size_t i = all.n; i > 0 && rc == 0; i--) {
		bool release = strv_has(s->rel_dirs.v, s->rel_dirs.n, all.v[i - 1]);

		rc = set_dir_meta(s, all.v[i - 1], release, err);
		if (rc == 0)
			rc = fsync_dir_rel(s, all.v[i - 1], err);
	}
	if (rc == 0)
		rc = set_dir_meta(s, "", true, err);
	if (rc == 0)
		rc = ap_fsx_fsync_dir(s->stage_abs, err);
	if (rc == 0)
		rc = ap_fsx_fsync_dir(s->parent_abs, err);
	strlist_release(&all);
	return rc;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	/* Same path: the later component wins, so it sorts first. */
	return x->seq < y->seq ? 1 : (x->seq > y->seq ? -1 : 0);
}

static int add_action(struct ap_receipt *r, const struct ap_manifest *m,
		      const struct ap_component *c, struct ap_err *err)
{
	struct ap_receipt_action *grown, *a;

	grown = realloc(r->pending, (r->n_pending + 1) * sizeof(*grown));
	if (!grown)
		return nomem(err, "recording actions");
	r->pending = grown;
	a = &r->pending[r->n_pending];
	memset(a, 0, sizeof(*a));
	r->n_pending++;
	a->component = xstrdup(c->name);
	a->program = ap_path_join(m->prefix, ap_component_dest(c));
	a->n_ok_codes = c->n_ok_codes ? c->n_ok_codes : 1;
	a->ok_codes = calloc(a->n_ok_codes, sizeof(*a->ok_codes));
	if (c->n_args > 0)
		a->args = calloc(c->n_args, sizeof(*a->args));
	if (!a->component || !a->program || !a->ok_codes || (c->n_args > 0 && !a->args))
		return nomem(err, "recording actions");
	if (c->n_ok_codes)
		memcpy(a->ok_codes, c->ok_codes, c->n_ok_codes * sizeof(*a->ok_codes));
	for (size_t i = 0; i < c->n_args; i++) {
		a->args[i] = xstrdup(c->args[i]);
		if (!a->args[i])
			return nomem(err, "recording actions");
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
		return nomem(err, "building the receipt");
	*out = v;
	for (size_t i = 0; i < n; i++) {
		v[i] = xstrdup(src[i]);
		if (!v[i])
			return nomem(err, "building the receipt");
	}
	return 0;
}

static int build_receipt(struct inst *s, const char *manifest_sha, struct ap_receipt **out,
			 struct ap_err *err)
{
	const struct ap_manifest *m = s->m;
	struct strlist dirs = { NULL, 0, 0 };
	struct ap_receipt *r = ap_receipt_new();
	size_t k = 0;
	int rc = 0;

	if (!r)
		return nomem(err, "building the receipt");
	r->product = xstrdup(m->product);
	r->version = xstrdup(m->version);
	r->channel = xstrdup(m->channel);
	r->prefix = xstrdup(m->prefix);
	r->key_id = xstrdup(m->key_id);
	r->pinned_version = xstrdup(s->o->pin);
	if (!r->product || !r->version || !r->prefix || (m->channel && !r->channel) ||
	    (m->key_id && !r->key_id) || (s->o->pin && !r->pinned_version)) {
		rc = nomem(err, "building the receipt");
		goto out;
	}
	memcpy(r->manifest_sha256, manifest_sha, AP_SHA256_HEX);
	r->installed_at = ap_fsx_now();
	rc = dup_strv(m->data_dirs, m->n_data_dirs, &r->data_dirs, err);
	if (rc < 0)
		goto out;
	r->n_data_dirs = m->n_data_dirs;
	if (s->created_data.n > 1)
		qsort(s->created_data.v, s->created_data.n, sizeof(*s->created_data.v), cmp_strp);
	rc = dup_strv(s->created_data.v, s->created_data.n, &r->created_data_dirs, err);
	if (rc < 0)
		goto out;
	r->n_created_data_dirs = s->created_data.n;
	r->has_created_data_dirs = true;

	/* Folders: the prefix and the release's folders in it, those made
	 * outside it now, and those an earlier install made outside it. */
	rc = strlist_add(&dirs, m->prefix, err);
	for (size_t i = 0; i < s->rel_dirs.n && rc == 0; i++) {
		char *d = ap_path_join(m->prefix, s->rel_dirs.v[i]);

		rc = d ? strlist_add(&dirs, d, err) : nomem(err, "building the receipt");
		free(d);
	}
	for (size_t i = 0; i < s->created.n && rc == 0; i++)
		rc = strlist_add(&dirs, s->created.v[i], err);
	for (size_t i = 0; s->old && i < s->old->n_dirs && rc == 0; i++) {
		char *abs = ap_path_join(s->p->root, s->old->dirs[i]);

		if (!abs)
			rc = nomem(err, "building the receipt");
		else if (!path_within(s->old->dirs[i], m->prefix) && ap_fsx_is_dir(abs))
			rc = strlist_add(&dirs, s->old->dirs[i], err);
		free(abs);
	}
	if (rc < 0)
		goto out;
	qsort(dirs.v, dirs.n, sizeof(*dirs.v), cmp_strp);
	r->dirs = dirs.v;
	r->n_dirs = 0;
	for (size_t i = 0; i < dirs.n; i++) {
		if (r->n_dirs > 0 && strcmp(r->dirs[r->n_dirs - 1], dirs.v[i]) == 0)
			free(dirs.v[i]);
		else
			r->dirs[r->n_dirs++] = dirs.v[i];
	}
	dirs.v = NULL;
	dirs.n = 0;

	if (s->n_recs > 0) {
		qsort(s->recs, s->n_recs, sizeof(*s->recs), cmp_rec);
		r->files = calloc(s->n_recs, sizeof(*r->files));
		if (!r->files) {
			rc = nomem(err, "building the receipt");
			goto out;
		}
	}
	for (size_t i = 0; i < s->n_recs; i++) {
		struct ap_receipt_file *f;

		if (k > 0 && strcmp(r->files[k - 1].path, s->recs[i].path) == 0)
			continue;
		f = &r->files[k++];
		r->n_files = k;
		f->path = xstrdup(s->recs[i].path);
		f->component = xstrdup(s->recs[i].component);
		if (!f->path || !f->component) {
			rc = nomem(err, "building the receipt");
			goto out;
		}
		f->mode = s->recs[i].mode;
		f->size = s->recs[i].size;
		memcpy(f->sha256, s->recs[i].sha256, AP_SHA256_HEX);
	}
	for (size_t i = 0; i < m->n_components && rc == 0; i++)
		if (m->components[i].action == AP_ACTION_RUN)
			rc = add_action(r, m, &m->components[i], err);
	if (rc < 0)
		goto out;
	*out = r;
	r = NULL;
out:
	strlist_release(&dirs);
	ap_receipt_free(r);
	return rc;
}

/* Stage paths: ROOT/<parent>/.<name>.airpack-stage and -old. */
static int inst_paths(struct inst *s, const char *root, const char *prefix,
		      struct ap_err *err)
{
	const char *name = ap_path_basename(prefix);
	size_t plen = (size_t)(name - prefix);
	char buf[300];

	s->parent_rel = malloc(plen + 1);
	if (!s->parent_rel)
		return nomem(err, "staging");
	memcpy(s->parent_rel, prefix, plen);
	s->parent_rel[plen] = '\0';
	if (plen > 0)
		s->parent_rel[plen - 1] = '\0';
	snprintf(buf, sizeof(buf), ".%s.airpack-stage", name);
	s->stage_rel = join(s->parent_rel, buf);
	snprintf(buf, sizeof(buf), ".%s.airpack-old", name);
	s->old_rel = join(s->parent_rel, buf);
	s->prefix_abs = ap_path_join(root, prefix);
	s->parent_abs = join(root, s->parent_rel);
	if (!s->stage_rel || !s->old_rel || !s->prefix_abs || !s->parent_abs)
		return nomem(err, "staging");
	s->stage_abs = ap_path_join(root, s->stage_rel);
	s->old_abs = ap_path_join(root, s->old_rel);
	if (!s->stage_abs || !s->old_abs)
		return nomem(err, "staging");
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
	if (strlen(ap_path_basename(m->prefix)) > 200)
		return ap_err_set(err, AP_E_MANIFEST, "prefix '%s': last part too long",
				  m->prefix);
	for (size_t i = 0; i < m->n_data_dirs; i++) {
		const char *why = ap_bounds_data_dir_problem(m->data_dirs[i], m->prefix);

		if (why)
			return ap_err_set(err, AP_E_MANIFEST,
					  "data_dirs[%zu]: '%s' %s: uninstall --purge would remove it",
					  i, m->data_dirs[i], why);
	}
	if (m->has_config && m->config.path) {
		const char *why = ap_bounds_config_path_problem(m->config.path);

		if (why)
			return ap_err_set(err, AP_E_MANIFEST, "config.path: '%s' %s",
					  m->config.path, why);
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
			rc = load_receipt(&op, &other, err);
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
	ap_strv_free(names, n);
	return rc;
}

/* ---- what other installed products hold ---- */

/* Another installed product: its receipt (prefix, data folders) and, when
 * its stored manifest reads, that manifest (the configuration path). */
struct other {
	struct ap_receipt *r;
	struct ap_manifest *m; /* may be NULL */
};

struct others {
	struct other *v;
	size_t n;
};

static void others_release(struct others *os)
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
static int load_others(const char *root, const char *self, struct others *os,
		       struct ap_err *err)
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
			rc = nomem(err, "reading the installed products");
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
		rc = load_receipt(&p, &x->r, err);
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
	ap_strv_free(names, n);
	if (rc < 0)
		others_release(os);
	return rc;
}

/* The path of x's (its prefix, a data folder or its configuration) that
 * rel equals, lies in or holds; NULL when none.  *what names the kind. */
static const char *other_claim(const struct other *x, const char *rel, bool with_prefix,
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
			hit = other_claim(x, m->data_dirs[i], true, &what);
			if (hit)
				return ap_err_set(err, AP_E_MANIFEST,
						  "data_dirs[%zu]: '%s' overlaps %s '%s' of the "
						  "installed '%s': a release may not take another "
						  "product's files",
						  i, m->data_dirs[i], what, hit, x->r->product);
		}
		if (m->has_config && m->config.path) {
			hit = other_claim(x, m->config.path, true, &what);
			if (hit)
				return ap_err_set(err, AP_E_MANIFEST,
						  "config.path: '%s' overlaps %s '%s' of the "
						  "installed '%s': a release may not take another "
						  "product's files",
						  m->config.path, what, hit, x->r->product);
		}
		hit = other_claim(x, m->prefix, false, &what);
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
		rc = strlist_add(&s->created_data, old->created_data_dirs[i], err);
	for (size_t i = 0; i < s->m->n_data_dirs && rc == 0; i++) {
		const char *d = s->m->data_dirs[i];
		struct ap_stat st;
		char *abs;

		if (strv_has(s->created_data.v, s->created_data.n, d))
			continue;
		abs = ap_path_join(s->p->root, d);
		if (!abs)
			return nomem(err, "checking data folders");
		rc = ap_fsx_stat(abs, &st, err);
		free(abs);
		if (rc == 0 && st.type == AP_FT_NONE)
			rc = strlist_add(&s->created_data, d, err);
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
	rc = check_tree(&c, false, err);
	if (rc < 0)
		return rc;
	*same = c.st.n_modified + c.st.n_missing + c.st.n_mode == 0;
	return 0;
}

/* Remove what an earlier, unjournaled attempt left beside the prefix. */
static int clean_leftovers(struct inst *s, struct ap_err *err)
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

static int do_switch(struct inst *s, bool had_prefix, struct ap_err *err)
{
	bool unsupported = true;
	int rc = 0;

	if (!had_prefix) {
		rc = ap_fsx_rename(s->stage_abs, s->prefix_abs, err);
	} else {
		if (!getenv("AP_TXN_NO_EXCHANGE"))
			rc = ap_fsx_exchange(s->stage_abs, s->prefix_abs, &unsupported, err);
		if (rc == 0 && unsupported) {
			rc = ap_fsx_rename(s->prefix_abs, s->old_abs, err);
			if (rc == 0) {
				crash_point("mid-fallback");
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
	res->product = xstrdup(s->m->product);
	res->old_version = s->old ? xstrdup(s->old->version) : NULL;
	res->new_version = xstrdup(s->m->version);
	res->unchanged = unchanged;
	res->recovered = recovered;
	if (r) {
		res->n_files = r->n_files;
		for (size_t i = 0; i < r->n_files; i++)
			res->n_bytes += r->files[i].size;
		res->n_pending = r->n_pending;
	}
	res->n_kept = s->n_kept;
	res->n_ran = n_ran;
	res->conflicts = s->conflicts.v;
	res->n_conflicts = s->conflicts.n;
	s->conflicts.v = NULL;
	s->conflicts.n = 0;
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
			rc = nomem(err, "setting times");
		else if (ap_fsx_is_file(path))
			rc = ap_fsx_set_mtime(path, t, err);
		free(path);
	}
	if (rc == 0) {
		char *lock = ap_state_file(s->p, "lock", NULL);

		rc = lock ? ap_fsx_set_mtime(lock, t, err) : nomem(err, "setting times");
		free(lock);
	}
	if (rc == 0)
		rc = ap_fsx_set_mtime(s->p->state, t, err);
	for (size_t i = r->n_dirs; i > 0 && rc == 0; i--) {
		char *abs;

		if (path_within(r->dirs[i - 1], r->prefix))
			continue;
		abs = ap_path_join(s->p->root, r->dirs[i - 1]);
		if (!abs)
			rc = nomem(err, "setting times");
		else if (ap_fsx_is_dir(abs))
			rc = ap_fsx_set_mtime(abs, t, err);
		free(abs);
	}
	return rc;
}

int ap_txn_install(const struct ap_manifest *m, const char *manifest_json, size_t mlen,
		   const unsigned char *sig, size_t siglen, ap_txn_payload_fn get_payload,
		   void *payload_ctx, const struct ap_txn_opts *o, struct ap_txn_result *res,
		   struct ap_err *err)
{
	struct ap_state p;
	int rc;

	rc = check_release(m, o, err);
	if (rc < 0)
		return rc;
	rc = ap_state_init(&p, o ? o->root : NULL, m->product, err);
	if (rc == 0)
		rc = state_lock(&p, AP_STATE_WRITE, o, NULL, err);
	if (rc == 0)
		rc = ap_txn_install_locked(&p, m, manifest_json, mlen, sig, siglen, get_payload,
					   payload_ctx, o, res, err);
	ap_state_release(&p);
	return rc;
}

int ap_txn_install_locked(struct ap_state *p, const struct ap_manifest *m,
			  const char *manifest_json, size_t mlen, const unsigned char *sig,
			  size_t siglen, ap_txn_payload_fn get_payload, void *payload_ctx,
			  const struct ap_txn_opts *o, struct ap_txn_result *res,
			  struct ap_err *err)
{
	static const struct ap_txn_opts defaults = AP_TXN_OPTS_INIT;
	struct ap_receipt_journal j;
	struct ap_receipt *old = NULL, *r = NULL;
	struct inst s;
	char msha[AP_SHA256_HEX];
	char *json = NULL;
	size_t json_len = 0;
	size_t n_ran = 0;
	bool recovered = false, had_prefix = false, same = false;
	struct ap_file_id stage_id;
	bool journaled = false, switched = false;
	int rc;

	if (!o)
		o = &defaults;
	memset(&s, 0, sizeof(s));
	memset(&j, 0, sizeof(j));
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
	ap_sha256_hex(manifest_json, mlen, msha);
	s.run = run_where(p, o);
	for (size_t i = 0; s.run == RUN_CHROOT && i < m->n_components; i++) {
		if (m->components[i].action == AP_ACTION_RUN) {
			rc = ap_process_can_run_in_root(p->aroot, err);
			break;
		}
	}
	if (rc < 0)
		return rc;

	/* The folders taking the lock created are this install's too. */
	for (size_t i = 0; i < p->n_created && rc == 0; i++)
		rc = strlist_add(&s.created, p->created[i], err);
	if (rc == 0)
		rc = ap_state_lock_root(p, err);
	if (rc == 0)
		rc = check_other_prefixes(p, m, err);
	if (rc < 0)
		goto out;
	if (ap_state_has(p, "receipt.json")) {
		rc = load_receipt(p, &old, err);
		if (rc < 0)
			goto out;
		s.old = old;
		if (strcmp(old->prefix, m->prefix) != 0) {
			rc = ap_err_set(err, AP_E_STATE,
					"'%s' %s is installed in '%s', but %s installs to "
					"'%s': uninstall it first",
					m->product, old->version, old->prefix, m->version,
					m->prefix);
			goto out;
		}
		if (ap_version_cmp(m->version, old->version) < 0 && !o->allow_downgrade) {
			rc = ap_err_set(err, AP_E_STATE,
					"refusing to downgrade '%s' from %s to %s: use "
					"--allow-downgrade",
					m->product, old->version, m->version);
			goto out;
		}
	}
	{
		struct others os;

		rc = load_others(p->root, m->product, &os, err);
		if (rc == 0)
			rc = check_others(m, &os, err);
		others_release(&os);
	}
	if (rc == 0)
		rc = note_created_data(&s, err);
	if (rc == 0)
		rc = inst_paths(&s, p->root, m->prefix, err);
	if (rc == 0)
		rc = clean_leftovers(&s, err);
	if (rc == 0)
		rc = already_installed(&s, msha, &same, err);
	if (rc < 0)
		goto out;
	if (same) {
		if (res)
			fill_result(res, &s, recovered, old, 0, true);
		goto out;
	}

	/* Stage the complete new tree beside the prefix. */
	if (s.parent_rel[0])
		rc = mkdirs_noted(&s, s.parent_rel, err);
	if (rc < 0)
		goto out;
	{
		struct ap_stat pst;

		rc = ap_fsx_stat(s.prefix_abs, &pst, err);
		if (rc < 0)
			goto out;
		if (pst.type != AP_FT_NONE && pst.type != AP_FT_DIR) {
			rc = ap_err_set(err, AP_E_EXISTS,
					"cannot install '%s' to '%s': it exists and is not a "
					"folder",
					m->product, s.prefix_abs);
			goto out;
		}
		had_prefix = pst.type == AP_FT_DIR;
	}
	rc = check_space(&s, err);
	if (rc == 0)
		rc = ap_fsx_mkdir_p(s.stage_abs, 0755, err);
	if (rc == 0)
		stop_point("stage");
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		char *src = NULL;
		bool movable = false;

		emit_simple(o, AP_TXN_PH_STAGE, AP_TXN_V_OK, m->product, c->name, NULL,
			    ap_action_name(c->action));
		rc = get_payload(payload_ctx, c, &src, &movable, err);
		if (rc == 0)
			rc = stage_component(&s, c, src, movable, err);
		free(src);
		if (rc < 0) {
			ap_err_prefix(err, "installing '%s'", c->name);
			goto out;
		}
		if (i == 0)
			crash_point("stage");
	}
	rc = walk(s.stage_abs, "", collect_dirs_cb, &s.rel_dirs, err);
	if (rc == 0 && s.rel_dirs.n > 1)
		qsort(s.rel_dirs.v, s.rel_dirs.n, sizeof(*s.rel_dirs.v), cmp_strp);
	if (rc == 0)
		rc = check_overlaps(&s, err);
	if (rc == 0 && had_prefix)
		rc = carry_dir(&s, "", "", err);
	if (rc == 0)
		rc = finish_stage(&s, err);
	if (rc == 0)
		rc = build_receipt(&s, msha, &r, err);
	if (rc < 0)
		goto out;

	/* New state files, then the journal that makes the switch recoverable. */
	rc = r->n_pending > 0 ? set_pending_marker(p, true, o->mtime, err) : 0;
	if (rc == 0)
		rc = write_receipt(p, r, ".new", o->mtime, err);
	if (rc == 0)
		rc = write_state_file(p, "manifest.json", ".new", manifest_json, mlen, o->mtime,
				      err);
	if (rc == 0 && sig)
		rc = write_state_file(p, "manifest.json.sig", ".new", sig, siglen, o->mtime,
				      err);
	if (rc == 0)
		rc = ap_fsx_file_id(s.stage_abs, &stage_id, err);
	if (rc < 0)
		goto out;
	j.stage_dev = stage_id.dev;
	j.stage_ino = stage_id.ino;
	j.product = m->product;
	j.version = m->version;
	j.prefix = m->prefix;
	j.stage = s.stage_rel;
	j.old = s.old_rel;
	j.has_sig = sig != NULL;
	rc = ap_receipt_journal_emit(&j, &json, &json_len, err);
	if (rc == 0)
		rc = write_state_file(p, "txn.json", NULL, json, json_len, -1, err);
	if (rc < 0)
		goto out;
	journaled = true;
	crash_point("before-switch");

	rc = do_switch(&s, had_prefix, err);
	if (rc < 0)
		goto out;
	switched = true;
	crash_point("after-exchange");
	emit_simple(o, AP_TXN_PH_SWITCH, AP_TXN_V_OK, m->product, NULL, m->prefix, m->version);
	/* Roll forward: the same steps recovery takes. */
	rc = recover(p, NULL, NULL, err);
	if (rc < 0)
		goto out;

	if (s.run == RUN_PENDING) {
		for (size_t i = 0; i < r->n_pending; i++)
			emit_simple(o, AP_TXN_PH_PENDING, AP_TXN_V_PENDING, m->product,
				    r->pending[i].component, r->pending[i].program,
				    o->no_run ? NULL
					      : "image root: firstboot runs it on the device");
	} else if (r->n_pending > 0) {
		rc = run_pending(p, r, o, s.run, &n_ran, err);
	}
	if (rc == 0 || rc == AP_E_RUN) {
		struct ap_err e2 = AP_ERR_INIT;
		int trc = fix_state_times(&s, r, rc == 0 ? err : &e2);

		if (trc == 0)
			trc = set_pending_marker(p, r->n_pending > 0, o->mtime,
						 rc == 0 ? err : &e2);
		if (rc == 0)
			rc = trc;
	}
	if ((rc == 0 || rc == AP_E_RUN) && res)
		fill_result(res, &s, recovered, r, n_ran, false);
out:
	if (rc < 0 && rc != AP_E_RUN && !switched && p->lock >= 0) {
		/* Undo: the old install was never touched. */
		struct ap_err undo = AP_ERR_INIT;

		if (journaled)
			recover(p, NULL, NULL, &undo);
		else if (s.stage_abs)
			ap_fsx_rm_rf(s.stage_abs, &undo);
		ap_state_clean_new(p, &undo);
	}
	free(json);
	ap_receipt_free(old);
	ap_receipt_free(r);
	inst_release(&s);
	return rc;
}

/* ---- uninstall ---- */

struct uninst {
	const struct ap_txn_opts *o;
	const struct ap_receipt *r;
	struct ap_txn_uninstall_stats st;
};

static int left_cb(void *ctx, const char *rel, const struct ap_stat *st, struct ap_err *err)
{
	struct uninst *u = ctx;

	(void)err;
	if (st->type == AP_FT_DIR)
		return 0;
	u->st.n_left++;
	emit_simple(u->o, AP_TXN_PH_REMOVE, AP_TXN_V_LEFT, u->r->product, NULL, rel,
		    "not installed by airpack");
	return 0;
}

static int remove_file(struct uninst *u, const char *root, const struct ap_receipt_file *f,
		       struct ap_err *err)
{
	struct ap_txn_event ev;
	struct ap_stat st;
	enum ap_txn_verdict v;
	char hex[AP_SHA256_HEX];
	uint64_t size = 0;
	char *abs = ap_path_join(root, f->path);
	int rc;

	if (!abs)
		return nomem(err, "uninstalling");
	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_REMOVE;
	ev.product = u->r->product;
	ev.component = f->component;
	ev.path = f->path;
	ev.expected_sha256 = f->sha256;
	ev.size = f->size;
	rc = compare_installed(abs, f, &st, hex, &size, &v, err);
	if (rc < 0)
		goto out;
	if (v == AP_TXN_V_MISSING) {
		ev.verdict = AP_TXN_V_MISSING;
		u->st.n_missing++;
		emit(u->o, &ev);
		goto out;
	}
	if (st.type == AP_FT_DIR)
		goto out; /* the user put a folder there: it is reported as left */
	if (hex[0])
		ev.actual_sha256 = hex;
	/* Another mode is not another file: it goes like an intact one. */
	ev.verdict = v == AP_TXN_V_MODIFIED ? AP_TXN_V_MODIFIED : AP_TXN_V_REMOVED;
	rc = ap_fsx_unlink(abs, err);
	if (rc < 0)
		goto out;
	u->st.n_removed++;
	if (ev.verdict == AP_TXN_V_MODIFIED) {
		u->st.n_modified++;
		ev.detail = "modified since it was installed; removed anyway";
	}
	emit(u->o, &ev);
out:
	free(abs);
	return rc;
}

/* Remove the receipt's folders that are empty, deepest first. */
static int remove_dirs(const char *root, const struct ap_receipt *r, struct ap_err *err)
{
	int rc = 0;

	for (size_t i = r->n_dirs; i > 0 && rc == 0; i--) {
		char *abs = ap_path_join(root, r->dirs[i - 1]);

		if (!abs)
			return nomem(err, "uninstalling");
		if (ap_fsx_is_dir(abs)) {
			rc = ap_fsx_rmdir(abs, err);
			if (rc == AP_E_EXISTS)
				rc = 0;
		}
		free(abs);
	}
	return rc;
}

static int remove_path(struct uninst *u, const char *root, const char *rel,
		       enum ap_txn_verdict v, struct ap_err *err)
{
	struct ap_stat st;
	char *abs;
	int rc;

	if (!ap_manifest_safe_relpath(rel, false))
		return ap_err_set(err, AP_E_UNSAFE,
				  "refusing to remove '%s': not a safe relative path", rel);
	abs = ap_path_join(root, rel);
	if (!abs)
		return nomem(err, "uninstalling");
	rc = ap_fsx_stat(abs, &st, err);
	if (rc == 0 && st.type != AP_FT_NONE) {
		rc = ap_fsx_rm_rf(abs, err);
		if (rc == 0) {
			if (v == AP_TXN_V_PURGED)
				u->st.n_purged++;
			emit_simple(u->o, AP_TXN_PH_REMOVE, v, u->r->product, NULL, rel, NULL);
		}
	}
	free(abs);
	return rc;
}

static void keep_data(struct uninst *u, const char *rel, const char *why)
{
	u->st.n_data_kept++;
	emit_simple(u->o, AP_TXN_PH_REMOVE, AP_TXN_V_LEFT, u->r->product, NULL, rel, why);
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
		if (!strv_has(r->created_data_dirs, r->n_created_data_dirs, r->data_dirs[i]))
			keep_data(u, r->data_dirs[i], "kept: it existed before the install");
	rc = load_others(p->root, r->product, &os, err);
	for (size_t i = 0; i < r->n_created_data_dirs && rc == 0; i++) {
		const char *d = r->created_data_dirs[i];
		const char *problem = ap_bounds_data_dir_problem(d, r->prefix);
		const char *what = NULL, *hit = NULL;
		size_t k;

		for (k = 0; !problem && !hit && k < os.n; k++)
			hit = other_claim(&os.v[k], d, true, &what);
		if (problem) {
			snprintf(why, sizeof(why), "kept: it %s", problem);
			keep_data(u, d, why);
		} else if (hit) {
			snprintf(why, sizeof(why), "kept: it overlaps %s '%s' of the installed '%s'",
				 what, hit, os.v[k - 1].r->product);
			keep_data(u, d, why);
		} else {
			rc = remove_path(u, p->root, d, AP_TXN_V_PURGED, err);
		}
	}
	others_release(&os);
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
	char *name = NULL;
	char *prefix = NULL, *base = NULL, *marker_dir = NULL;
	int rc;

	memset(&u, 0, sizeof(u));
	u.o = o;
	p.lock = -1;
	p.root_lock = -1;
	rc = resolve_product(root, product, true, &name, err);
	if (rc < 0)
		return rc;
	if (!name)
		goto done;
	rc = ap_state_init(&p, root, name, err);
	free(name);
	if (rc < 0)
		return rc;
	if (!ap_fsx_is_dir(p.state))
		goto out;
	rc = state_lock(&p, AP_STATE_WRITE, o, NULL, err);
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
	rc = load_receipt(&p, &r, err);
	if (rc < 0)
		goto out;
	u.r = r;
	u.st.was_installed = true;
	{
		/* A stage an install killed while staging left beside the prefix. */
		struct inst side;

		memset(&side, 0, sizeof(side));
		rc = inst_paths(&side, p.root, r->prefix, err);
		if (rc == 0)
			rc = clean_leftovers(&side, err);
		inst_release(&side);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < r->n_files && rc == 0; i++)
		rc = remove_file(&u, p.root, &r->files[i], err);
	prefix = ap_path_join(p.root, r->prefix);
	if (rc == 0 && !prefix)
		rc = nomem(err, "uninstalling");
	if (rc == 0 && ap_fsx_is_dir(prefix))
		rc = walk(p.root, r->prefix, left_cb, &u, err);
	if (rc == 0)
		rc = remove_dirs(p.root, r, err);
	if (rc == 0 && purge)
		rc = purge_data(&u, &p, err);
	for (size_t i = 0; extra_paths && extra_paths[i] && rc == 0; i++)
		rc = remove_path(&u, p.root, extra_paths[i], AP_TXN_V_REMOVED, err);
	if (rc < 0)
		goto out;
	/* The state folder last, so an interrupted uninstall can be rerun. */
	rc = set_pending_marker(&p, false, -1, err);
	if (rc == 0)
		rc = ap_fsx_rm_rf(p.state, err);
	if (rc == 0)
		rc = remove_dirs(p.root, r, err);
	if (rc == 0) {
		base = ap_path_join(p.root, AP_STATE_BASE);
		marker_dir = ap_path_join(p.root, AP_STATE_FIRSTBOOT_DIR);
	}
out:
	if (rc < 0)
		ap_err_prefix(err, "uninstalling '%s'", p.name);
	free(prefix);
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
done:
	if (stats)
		*stats = u.st;
	return 0;
}
