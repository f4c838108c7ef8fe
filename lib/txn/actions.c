/* txn/actions.c - run actions and the first-boot marker; firstboot; see airpack/txn.h and docs/install-transaction.md. */
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
#include "airpack/winname.h"
#include "txn/internal.h"
#include "airpack/banned.h"

/* ---- run actions ---- */

/* Fills an open state file; one per kind of content. */
typedef int (*fill_fn)(struct ap_fsx_afile *f, const void *arg, size_t len, struct ap_err *err);

/* ROOT's state file NAME (+suffix) written atomically (temporary, fsync,
 * rename, the folder's fsync) by fill, then given mtime when >= 0. */
static int write_state(const struct ap_state *p, const char *name, const char *suffix, fill_fn fill,
		       const void *arg, size_t len, int64_t mtime, struct ap_err *err)
{
	struct ap_fsx_afile f = AP_AFILE_INIT;
	char *path = ap_state_file(p, name, suffix);
	int rc;

	if (!path)
		return txn_nomem(err, "writing the state");
	rc = ap_fsx_afile_open(&f, path, 0644, err);
	if (rc == 0) {
		rc = fill(&f, arg, len, err);
		if (rc < 0)
			ap_fsx_afile_abort(&f);
		else
			rc = ap_fsx_afile_commit(&f, err);
	}
	if (rc == 0 && mtime >= 0)
		rc = ap_fsx_set_mtime(path, mtime, err);
	free(path);
	return rc;
}

static int fill_bytes(struct ap_fsx_afile *f, const void *data, size_t len, struct ap_err *err)
{
	return ap_fsx_afile_write(f, data, len, err);
}

static int fill_receipt(struct ap_fsx_afile *f, const void *r, size_t len, struct ap_err *err)
{
	(void)len;
	return ap_receipt_write(r, f, err);
}

int txn_write_state_file(const struct ap_state *p, const char *name, const char *suffix,
			 const void *data, size_t len, int64_t mtime, struct ap_err *err)
{
	return write_state(p, name, suffix, fill_bytes, data, len, mtime, err);
}

/* Written as it is made (ap_receipt_write): a big release's receipt is
 * never held whole in memory. */
int txn_write_receipt(const struct ap_state *p, const struct ap_receipt *r, const char *suffix,
		      int64_t mtime, struct ap_err *err)
{
	return write_state(p, "receipt.json", suffix, fill_receipt, r, 0, mtime, err);
}

/* ---- the first-boot marker ---- */

/* ROOT/var/lib/airpack/firstboot.d/PRODUCT exists while the product's receipt
 * may hold pending run actions; airpack-firstboot.service runs only while the
 * folder is not empty.  It is created before a receipt with pending actions is
 * written and removed only after one without them is committed, so a crash in
 * between leaves at worst a stale marker, which the next firstboot removes.
 * One file per product, written under that product's lock. */
int txn_set_pending_marker(const struct ap_state *p, bool pending, int64_t mtime,
			   struct ap_err *err)
{
	char *dir = ap_fsx_path_join(p->root, AP_STATE_FIRSTBOOT_DIR);
	char *path = dir ? ap_fsx_path_join(dir, p->name) : NULL;
	int rc = 0;

	if (!path) {
		rc = txn_nomem(err, "writing the first-boot marker");
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

static bool code_restart(const struct ap_receipt_action *a, int code)
{
	for (size_t i = 0; i < a->n_reboot_codes; i++)
		if (a->reboot_codes[i] == code)
			return true;
	return false;
}

static bool code_ok(const struct ap_receipt_action *a, int code)
{
	if (code_restart(a, code))
		return true;
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

/* root is this host's root (ap_fsx_default_root: "/", or the system drive
 * on Windows; the same folder, however it is spelt).  When that cannot be
 * told, it is not: the actions stay pending. */
bool txn_is_host_root(const struct ap_state *p)
{
	const char *host = ap_fsx_default_root();
	struct ap_file_id a, b;

	if (strcmp(p->root, host) == 0)
		return true;
	if (ap_fsx_file_id(p->aroot, &a, NULL) < 0 || ap_fsx_file_id(host, &b, NULL) < 0)
		return false;
	return a.exists && b.exists && a.dev == b.dev && a.ino == b.ino;
}

bool ap_txn_root_is_host(const char *root)
{
	struct ap_state p;
	char *aroot = NULL;
	bool host;

	memset(&p, 0, sizeof(p));
	p.root = (char *)(root ? root : ap_fsx_default_root());
	if (ap_fsx_abspath(p.root, &aroot, NULL) < 0)
		return false;
	p.aroot = aroot;
	host = txn_is_host_root(&p);
	free(aroot);
	return host;
}

enum run_where txn_run_where(const struct ap_state *p, const struct ap_txn_opts *o,
			     const char *platform)
{
	if ((o && o->no_run) || ap_winname_platform_is_foreign(platform))
		return RUN_PENDING;
	if (!o || !o->root || txn_is_host_root(p) || o->run_in == AP_TXN_RUN_HOST)
		return RUN_HOST;
	return o->run_in == AP_TXN_RUN_ROOT ? RUN_CHROOT : RUN_PENDING;
}

/* The end of a program's output as the receipt and history keep it:
 * printable ASCII, line breaks and tabs; anything else is '?' (the JSON
 * stays valid whatever the program wrote).  NULL when it wrote nothing. */
static char *printable_tail(const struct ap_process_output *out)
{
	char *s;

	if (out->len == 0)
		return NULL;
	s = ap_strndup(out->tail, out->len);
	for (size_t i = 0; s && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(ch >= 0x20 && ch < 0x7f) && ch != '\n' && ch != '\t')
			s[i] = '?';
	}
	return s;
}

/* The last non-empty line of output (cut to size), "" when none. */
static void last_line(const char *output, char *buf, size_t size)
{
	const char *e, *b;

	buf[0] = '\0';
	if (!output)
		return;
	e = output + strlen(output);
	while (e > output && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	b = e;
	while (b > output && b[-1] != '\n')
		b--;
	if (e > b)
		snprintf(buf, size, "%.*s", (int)(e - b), b);
}

/* Run r's pending actions in order, moving each to r->actions with its
 * result and rewriting the receipt after each so a kill never runs one
 * twice.  Stops at the first failure. */
/* Each action's run and its receipt rewrite must stay in one loop, so a kill never runs an
 * action twice. */
int txn_run_pending(const struct ap_state *p, struct ap_receipt *r, const struct ap_txn_opts *o,
		    enum run_where where, size_t *n_ran, struct ap_err *err)
{
	int64_t mtime = o ? o->mtime : -1;
	char *cwd = where == RUN_CHROOT ? ap_fsx_path_join("/", r->prefix)
					: ap_fsx_path_join(p->aroot, r->prefix);
	int rc = 0;

	if (!cwd)
		return txn_nomem(err, "running actions");
	while (r->n_pending > 0 && rc == 0) {
		struct ap_receipt_action *a = &r->pending[0];
		struct ap_receipt_action *grown;
		struct ap_txn_event ev;
		struct ap_err run_err = AP_ERR_INIT;
		struct ap_process_output output;
		char *program = ap_fsx_path_join(where == RUN_CHROOT ? "/" : p->aroot, a->program);
		char codes[128];
		int code = 127;
		int run_rc;

		if (!program) {
			rc = txn_nomem(err, "running actions");
			break;
		}
		/* Captured: a run action's output never reaches the command's
		 * own (a --json stream, a --quiet run); its end is kept. */
		if (where == RUN_CHROOT)
			run_rc = ap_process_run_in_root_captured(p->aroot, program, a->args,
								 a->n_args, cwd, &output, &code,
								 &run_err);
		else
			run_rc = ap_process_run_captured(program, a->args, a->n_args, cwd, &output,
							 &code, &run_err);
		free(program);
		free(a->output);
		a->output = run_rc == 0 ? printable_tail(&output) : NULL;
		if (run_rc < 0)
			code = 127;
		a->exit_code = code;
		a->ok = run_rc == 0 && code_ok(a, code);
		a->restart_required = run_rc == 0 && code_restart(a, code);
		a->ran_at = ap_fsx_now();
		grown = ap_vec_grow(r->actions, NULL, r->n_actions + 1, sizeof(*grown));
		if (!grown) {
			rc = txn_nomem(err, "recording an action");
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
		ev.restart_required = a->restart_required;
		ev.detail = run_rc < 0 ? run_err.msg : NULL;
		txn_emit(o, &ev);
		rc = txn_write_receipt(p, r, NULL, mtime, err);
		if (rc < 0)
			break;
		format_codes(a, codes, sizeof(codes));
		if (run_rc < 0) {
			rc = ap_err_set(err, AP_E_RUN,
					"run action '%s' of '%s' could not start: %s", a->component,
					r->product, run_err.msg);
		} else if (!a->ok) {
			char last[256];

			last_line(a->output, last, sizeof(last));
			rc = ap_err_set(err, AP_E_RUN,
					"run action '%s' of '%s' failed: '%s' exited with %d, "
					"expected %s%s%s%s%s",
					a->component, r->product, a->program, code,
					a->n_ok_codes > 1 ? "one of " : "", codes,
					last[0] ? "; its output ended with '" : "", last,
					last[0] ? "' (the receipt keeps more)" : "");
		}
	}
	free(cwd);
	return rc;
}

/* firstboot runs what is pending, but an image's actions not on this host
 * unless asked. */
static int firstboot_where(const struct ap_state *p, const struct ap_txn_opts *o,
			   const struct ap_receipt *r, enum run_where *where, struct ap_err *err)
{
	struct ap_txn_opts run = AP_TXN_OPTS_INIT;
	int rc = 0;

	if (o)
		run = *o;
	run.no_run = false;
	*where = txn_run_where(p, &run, r->platform);
	if (*where == RUN_CHROOT)
		rc = ap_process_can_run_in_root(p->aroot, err);
	if (*where == RUN_PENDING && ap_winname_platform_is_foreign(r->platform))
		rc = ap_err_set(err, AP_E_USAGE,
				"'%s' is a release for '%s': its pending actions run on such a "
				"device only ('airpack-setup firstboot' there)",
				p->name, r->platform);
	else if (*where == RUN_PENDING)
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
			return txn_nomem(err, "running pending actions");
		names[0] = ap_strdup(product);
		if (!names[0]) {
			free(names);
			return txn_nomem(err, "running pending actions");
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

		rc = txn_open(root, names[i], TXN_OPEN_WRITE, o, &p, err);
		if (rc == 0)
			rc = txn_load_receipt(&p, &r, err);
		if (rc == 0 && r->n_pending > 0)
			rc = firstboot_where(&p, o, r, &where, err);
		if (rc == 0 && r->n_pending > 0)
			rc = txn_run_pending(&p, r, o, where, &ran, err);
		/* Services an image install could not register (Windows). */
		if (rc == 0)
			rc = txn_services_apply(&p, NULL, r, o, err);
		if (r && (rc == 0 || rc == AP_E_RUN)) {
			struct ap_err e2 = AP_ERR_INIT;
			int mrc = txn_set_pending_marker(&p, r->n_pending > 0, -1,
							 rc == 0 ? err : &e2);

			if (rc == 0)
				rc = mrc;
		}
		ap_receipt_free(r);
		ap_state_release(&p);
	}
	ap_fsx_strv_free(names, n);
	if (rc == 0 && n_ran)
		*n_ran = ran;
	return rc;
}
