/* configure.c - the configure step: the device configuration a release
 * declares, written under the product's lock by a device runtime's hook;
 * see airpack/configure.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/configure.h"
#include "airpack/fsx.h"
#include "airpack/secret.h"
#include "airpack/state.h"
#include "airpack/testhook.h"
#include "airpack/str.h"
#include "airpack/txn.h"
#include "airpack/banned.h"

/* Test hook (AP_PROVISION_CRASH_AT, see configure.h): true when the run
 * should die, as a kill -9 would, at the point called name. */
static bool crash_point(const char *name)
{
	return ap_testhook_is("AP_PROVISION_CRASH_AT", name);
}

/* Where the template component's payload was installed (relative to the
 * root), as the receipt lists it. */
static int template_file(const struct ap_manifest *m, const struct ap_receipt *r,
			 const struct ap_receipt_file **out, struct ap_err *err)
{
	const struct ap_component *c = ap_manifest_find(m, m->config.template);
	const struct ap_receipt_file *f = NULL;
	char *rel;

	if (!c)
		return ap_err_set(err, AP_E_MANIFEST,
				  "config.template names '%s', which is not a component of the "
				  "release",
				  m->config.template);
	if (c->action == AP_ACTION_EXTRACT) {
		size_t n = 0;

		for (size_t i = 0; i < r->n_files; i++) {
			if (strcmp(r->files[i].component, c->name) == 0) {
				f = &r->files[i];
				n++;
			}
		}
		if (n != 1)
			return ap_err_set(err, AP_E_MANIFEST,
					  "config.template '%s' is an extract component with %zu "
					  "files: expected exactly one",
					  c->name, n);
	} else {
		rel = ap_fsx_path_join(r->prefix, ap_manifest_component_dest(c));
		if (!rel)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		f = ap_receipt_find_file(r, rel);
		free(rel);
	}
	if (!f)
		return ap_err_set(err, AP_E_STATE,
				  "the receipt lists no installed file for the template component "
				  "'%s': run 'airpack-setup install --repair'",
				  c->name);
	*out = f;
	return 0;
}

static int read_template(const char *root, const struct ap_manifest *m, const struct ap_receipt *r,
			 size_t max, char **buf, size_t *len, struct ap_err *err)
{
	const struct ap_receipt_file *f = NULL;
	char hex[AP_SHA256_HEX];
	char *abs;
	int rc;

	rc = template_file(m, r, &f, err);
	if (rc)
		return rc;
	abs = ap_fsx_path_join(root, f->path);
	if (!abs)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_read_file(abs, max, buf, len, err);
	if (rc == 0) {
		/* The template comes from the signed release: use it only as installed. */
		ap_digest_hex(*buf, *len, hex);
		if (!ap_digest_eq(hex, f->sha256)) {
			rc = ap_err_set(err, AP_E_DIGEST,
					"the installed template '%s' has sha256 %s, the receipt "
					"says %s: run 'airpack-setup install --repair' to restore "
					"it",
					abs, hex, f->sha256);
			free(*buf);
			*buf = NULL;
		}
	}
	free(abs);
	return rc;
}

/* The folders created for the configuration, relative to the root,
 * outermost first, each once (NULL-terminated). */
static int note_dir(void *ctx, const char *d, struct ap_err *err)
{
	struct ap_strvec *ds = ctx;

	if (ap_strvec_has(ds, d))
		return 0;
	if (ap_strvec_push(ds, d))
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

/* Create the configuration's folder, noting which folders did not exist so
 * uninstall can remove them.  Folders an earlier run created for the same
 * path stay on the list. */
static int make_config_dir(const char *root, const char *rel, const struct ap_history_record *prev,
			   struct ap_strvec *ds, struct ap_err *err)
{
	char *d = ap_fsx_path_dirname(rel);
	int rc = 0;

	if (!d)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	for (size_t i = 0;
	     prev && strcmp(prev->config_path, rel) == 0 && i < prev->n_created_dirs && rc == 0;
	     i++)
		rc = note_dir(ds, prev->created_dirs[i], err);
	if (rc == 0 && strcmp(d, ".") != 0)
		rc = ap_fsx_mkdirs_noted(root, d, note_dir, ds, err);
	free(d);
	return rc;
}

/* What an earlier, interrupted write left beside the file may hold a key. */
static int remove_temps(const char *config_abs, struct ap_err *err)
{
	char *dir = ap_fsx_path_dirname(config_abs);
	int rc;

	if (!dir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_remove_temps(dir, ap_fsx_path_basename(config_abs), NULL, err);
	free(dir);
	return rc;
}

/* The one write of the file that holds the secrets: atomic, with mode. */
static int write_config(const char *abs, const char *data, size_t len, unsigned mode,
			struct ap_err *err)
{
	struct ap_fsx_afile f = AP_AFILE_INIT;
	int rc;

	if (!crash_point("write"))
		return ap_fsx_write_atomic(abs, data, len, mode, err);
	rc = ap_fsx_afile_open(&f, abs, mode, err);
	if (rc == 0)
		rc = ap_fsx_afile_write(&f, data, len / 2, err);
	if (rc == 0) {
		fflush(f.fp);
		_Exit(137);
	}
	ap_fsx_afile_abort(&f);
	return rc;
}

/* The base document (the file there, else the template) and the hook's
 * new one, in out (secrets: the caller frees with ap_secret_free). */
static int render(const char *root, const char *abs, const struct ap_manifest *m,
		  const struct ap_receipt *r, const struct ap_configure_hook *hook, char **out,
		  size_t *out_len, struct ap_err *err)
{
	struct ap_stat st;
	char *existing = NULL, *tmpl = NULL;
	size_t elen = 0, tlen = 0;
	int rc;

	rc = ap_fsx_stat(abs, &st, err);
	if (rc)
		return rc;
	if (st.type != AP_FT_NONE && st.type != AP_FT_FILE)
		return ap_err_set(err, AP_E_STATE,
				  "'%s' is not a regular file: refusing to replace it with the "
				  "device configuration",
				  abs);
	if (st.type == AP_FT_FILE)
		rc = ap_secret_read(abs, hook->max_bytes, &existing, &elen, err);
	else if (m->config.template)
		rc = read_template(root, m, r, hook->max_bytes, &tmpl, &tlen, err);
	if (rc)
		return rc;
	rc = hook->render(hook->ctx, tmpl, tlen, existing, elen, out, out_len, err);
	if (rc == AP_E_STATE)
		ap_err_prefix(err, "'%s'", abs);
	else if (rc == AP_E_MANIFEST)
		ap_err_prefix(err, "the release's template '%s'", m->config.template);
	ap_secret_free(existing, elen);
	free(tmpl);
	return rc;
}

/* Under the lock: the new document, the folders, the record, the file. */
static int configure_locked(const char *root, const char *abs, const struct ap_manifest *m,
			    const struct ap_receipt *r, const struct ap_configure_hook *hook,
			    struct ap_configure_result *res, struct ap_err *err)
{
	struct ap_history_record rec, *prev = NULL;
	struct ap_strvec ds = AP_STRVEC_INIT;
	char *yaml = NULL;
	size_t ylen = 0;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rc = render(root, abs, m, r, hook, &yaml, &ylen, err);
	if (rc)
		goto out;
	rc = ap_history_record_load(root, r->product, &prev, err);
	if (rc && rc != AP_E_NOTFOUND)
		goto out;
	ap_err_clear(err);
	rc = make_config_dir(root, m->config.path, prev, &ds, err);
	if (rc == 0)
		rc = remove_temps(abs, err);
	if (rc)
		goto out;
	ap_digest_hex(yaml, ylen, rec.config_sha256);
	rec.product = r->product;
	rec.version = r->version;
	rec.config_path = m->config.path;
	rec.config_mode = m->config.mode;
	rec.identity = hook->identity;
	rec.n_identity = hook->n_identity;
	rec.created_dirs = ds.v;
	rec.n_created_dirs = ds.n;
	rec.provisioned_at = ap_fsx_now();
	/* The record first, then the file holding the key: whatever moment a
	 * kill comes, a key airpack wrote is named by a record, so uninstall
	 * removes it (with its temporary files).  A record whose file was
	 * never written shows as a changed configuration, and a rerun
	 * writes both again. */
	rc = ap_history_record_save(root, &rec, err);
	if (rc == 0 && crash_point("record"))
		_Exit(137);
	if (rc == 0)
		rc = write_config(abs, yaml, ylen, m->config.mode, err);
	if (rc == 0 && crash_point("config"))
		_Exit(137);
	if (rc == 0) {
		res->config_path = m->config.path;
		res->config_mode = m->config.mode;
		memcpy(res->config_sha256, rec.config_sha256, sizeof(res->config_sha256));
	}
out:
	ap_secret_free(yaml, ylen);
	ap_history_record_free(prev);
	ap_strvec_release(&ds);
	return rc;
}

int ap_configure_run(const char *root, const struct ap_manifest *m, struct ap_receipt **r,
		     const struct ap_configure_hook *hook, struct ap_configure_result *res,
		     struct ap_err *err)
{
	struct ap_txn_opts to = AP_TXN_OPTS_INIT;
	struct ap_receipt *locked = NULL;
	struct ap_state state;
	char *receipt = NULL, *abs = NULL;
	int rc;

	if (!root)
		root = ap_fsx_default_root();
	if (!m->has_config)
		return ap_err_set(err, AP_E_MANIFEST,
				  "%s %s declares no device configuration (its manifest has no "
				  "'config' section): there is nothing to provision",
				  m->product, m->version);
	if (!ap_manifest_safe_relpath(m->config.path, false))
		return ap_err_set(err, AP_E_UNSAFE, "config.path '%s' is not a safe relative path",
				  m->config.path);
	rc = ap_state_init(&state, root, (*r)->product, err);
	if (rc)
		return rc;
	receipt = ap_state_file(&state, "receipt.json", NULL);
	abs = ap_fsx_path_join(root, m->config.path);
	if (!receipt || !abs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	/* The product's lock keeps install and uninstall out while we write;
	 * taking it finishes or undoes an interrupted install first. */
	to.root = root;
	rc = ap_txn_lock(&state, AP_STATE_WRITE, &to, err);
	if (rc < 0)
		goto out;
	rc = ap_receipt_load(receipt, &locked, err);
	if (rc)
		goto out;
	ap_receipt_free(*r);
	*r = locked;
	rc = configure_locked(root, abs, m, *r, hook, res, err);
out:
	free(abs);
	free(receipt);
	ap_state_release(&state);
	return rc;
}
