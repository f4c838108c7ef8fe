/* lifecycle.c - the history events of every command that changes or checks
 * an install, and what provision wrote, as status and uninstall see it;
 * see airpack/lifecycle.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/lifecycle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/secret.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

/* ap_fsx_afile_open names a temporary file NAME.tmp- and 6 random characters. */
#define TMP_MARK ".tmp-"
#define TMP_RANDOM 6
/* The largest configuration hashed when no reader says otherwise. */
#define CONFIG_MAX (1024 * 1024)
#define INSTALLED_MANIFEST_MAX (16u * 1024 * 1024)

struct ap_receipt *ap_lifecycle_receipt(const char *root, const char *product)
{
	struct ap_receipt *r = NULL;

	if (ap_txn_status_head(root, product, &r, NULL) != 0)
		return NULL;
	return r;
}

int ap_lifecycle_log_verify(const char *root, const char *product,
			    const struct ap_txn_verify_stats *st, int rc,
			    const struct ap_err *result, struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_receipt *r;
	char msg[AP_ERR_MSG_MAX + 128], sz[32];
	int lrc;

	if (rc && rc != AP_E_DIFFERS)
		return 0;
	r = ap_lifecycle_receipt(root, product);
	if (!r)
		return 0;
	if (rc == 0)
		snprintf(msg, sizeof(msg), "%zu file%s (%s) match%s the receipt", st->n_checked,
			 st->n_checked == 1 ? "" : "s", st->n_checked == 1 ? "es" : "",
			 ap_ui_human_size(st->n_bytes, sz, sizeof(sz)));
	else
		snprintf(msg, sizeof(msg), "%s", result->msg);
	ev.type = "verify";
	ev.product = r->product;
	ev.version = r->version;
	ev.key_id = r->key_id;
	ev.ok = rc == 0;
	ev.message = msg;
	ev.files = (int64_t)st->n_checked;
	lrc = ap_history_append(root, &ev, err);
	ap_receipt_free(r);
	return lrc;
}

int ap_lifecycle_log_firstboot(const char *root, const char *product, size_t ran, int rc,
			       const struct ap_err *result, struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_receipt *r = NULL;
	char **names = NULL;
	size_t n = 0;
	char msg[AP_ERR_MSG_MAX + 64];
	int lrc;

	if (rc == 0 && ran == 0)
		return 0;
	/* Without a product every product's actions ran: name it when it is one. */
	if (product || (ap_txn_list_products(root, &names, &n, NULL) == 0 && n == 1))
		r = ap_lifecycle_receipt(root, product ? product : names[0]);
	ap_fsx_strv_free(names, n);
	if (rc == 0)
		snprintf(msg, sizeof(msg), "ran %zu pending action%s", ran, ran == 1 ? "" : "s");
	else
		snprintf(msg, sizeof(msg), "ran %zu pending action%s; %s", ran, ran == 1 ? "" : "s",
			 result->msg);
	ev.type = "firstboot";
	ev.product = r ? r->product : product;
	ev.version = r ? r->version : NULL;
	ev.key_id = r ? r->key_id : NULL;
	ev.ok = rc == 0;
	ev.message = msg;
	lrc = ap_history_append(root, &ev, err);
	ap_receipt_free(r);
	return lrc;
}

/* ---- install ---- */

void ap_lifecycle_downloads_note(struct ap_lifecycle_downloads *d,
				 const struct ap_source_check *chk)
{
	const struct ap_component **comp;
	char **url;
	char *u;

	if (strcmp(chk->verdict, "downloaded") != 0)
		return;
	comp = ap_vec_grow(d->comp, NULL, d->n + 1, sizeof(*comp));
	if (!comp)
		return;
	d->comp = comp;
	url = ap_vec_grow(d->url, NULL, d->n + 1, sizeof(*url));
	if (!url)
		return;
	d->url = url;
	u = ap_strdup(chk->source);
	if (!u)
		return;
	d->comp[d->n] = chk->c;
	d->url[d->n] = u;
	d->n++;
}

void ap_lifecycle_downloads_release(struct ap_lifecycle_downloads *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->url[i]);
	free(d->url);
	free(d->comp);
	d->url = NULL;
	d->comp = NULL;
	d->n = 0;
}

static const char *downloaded_from(const struct ap_lifecycle_downloads *d,
				   const struct ap_component *c)
{
	for (size_t i = d ? d->n : 0; i-- > 0;)
		if (d->comp[i] == c)
			return d->url[i];
	return NULL;
}

/* path as the history keeps it: absolute, so a line means the same
 * whatever folder the command ran in; a URL as it is.  NULL when out of
 * memory. */
static char *history_path(const char *path)
{
	char *abs = NULL;

	if (strstr(path, "://"))
		return ap_strdup(path);
	if (ap_fsx_abspath(path, &abs, NULL) != 0)
		return NULL;
	return abs;
}

/* Where each component came from: one field per plan item (owned[i] holds
 * the value's memory when it is built); counts[] gets how many came from
 * local folders, the bundle, and downloads. */
static void install_sources(const struct ap_lifecycle_downloads *d, const struct ap_source_plan *p,
			    struct ap_history_field *src, char **owned, size_t counts[3])
{
	for (size_t i = 0; i < p->n_items; i++) {
		const struct ap_source_item *it = &p->items[i];
		const char *url;

		src[i].key = it->c->name;
		switch (it->kind) {
		case AP_SOURCE_LOCAL:
			counts[0]++;
			if (it->path) {
				char *abs = history_path(it->path);

				owned[i] = abs ? ap_strcat2("local:", abs) : NULL;
				free(abs);
			}
			src[i].value = owned[i] ? owned[i] : "local";
			break;
		case AP_SOURCE_BUNDLE:
			counts[1]++;
			src[i].value = "bundle";
			break;
		case AP_SOURCE_DOWNLOAD:
			counts[2]++;
			url = downloaded_from(d, it->c);
			owned[i] = url ? ap_strcat2("download:", url) : NULL;
			src[i].value = owned[i] ? owned[i] : "download (not completed)";
			break;
		case AP_SOURCE_MISSING:
			src[i].value = "missing";
			break;
		case AP_SOURCE_SKIPPED:
			src[i].value = "skipped (optional)";
			break;
		}
	}
}

/* True when the install went in (a failed run action still installed). */
static bool installed(int rc, const struct ap_err *result)
{
	return rc == 0 || (result && result->code == AP_E_RUN);
}

static void install_message(char *msg, size_t len, const struct ap_source_plan *p,
			    const size_t counts[3], const struct ap_txn_result *res, int rc,
			    const struct ap_err *result)
{
	static const char *const kinds[3] = { "local", "bundle", "download" };
	char from[96] = "", sz[32];
	size_t used = 0;

	if (rc == 0 && res->unchanged) {
		snprintf(msg, len, "already installed and verifies: nothing to do");
		return;
	}
	if (!installed(rc, result)) {
		snprintf(msg, len, "%s", result && result->msg[0] ? result->msg : "failed");
		return;
	}
	for (size_t k = 0; k < 3; k++) {
		int w;

		if (!counts[k])
			continue;
		w = snprintf(from + used, sizeof(from) - used, "%s%zu %s", used ? ", " : "",
			     counts[k], kinds[k]);
		if (w > 0 && (size_t)w < sizeof(from) - used)
			used += (size_t)w;
	}
	snprintf(msg, len, "%zu component%s (%s), %zu file%s, %s%s%s", p ? p->n_items : 0,
		 p && p->n_items == 1 ? "" : "s", from, res->n_files, res->n_files == 1 ? "" : "s",
		 ap_ui_human_size(res->n_bytes, sz, sizeof(sz)), rc ? "; " : "",
		 rc ? result->msg : "");
}

/* The install's other facts into det (room for 8); ran and pending hold
 * the action counts' text.  Returns how many. */
static size_t install_details(struct ap_history_field *det, const struct ap_release *r,
			      const char *release_path, const struct ap_txn_result *res, bool done,
			      char ran[24], char pending[24])
{
	size_t n = 0;

	det[n].key = "release";
	det[n++].value = release_path ? release_path : r->path;
	det[n].key = "manifest_sha256";
	det[n++].value = r->manifest_sha256;
	if (!r->sig_checked) {
		det[n].key = "signature";
		det[n++].value = "not checked (--insecure)";
	}
	if (!done)
		return n;
	if (res->old_version) {
		det[n].key = "previous_version";
		det[n++].value = res->old_version;
	}
	snprintf(ran, 24, "%zu", res->n_ran);
	det[n].key = "actions_ran";
	det[n++].value = ran;
	snprintf(pending, 24, "%zu", res->n_pending);
	det[n].key = "actions_pending";
	det[n++].value = pending;
	if (res->freshness) {
		det[n].key = "freshness";
		det[n++].value = res->freshness;
	}
	if (res->restart_required) {
		det[n].key = "restart_required_by";
		det[n++].value = res->restart_required;
	}
	if (res->run_output && res->run_output[0]) {
		det[n].key = "run_output";
		det[n++].value = res->run_output;
	}
	return n;
}

int ap_lifecycle_log_install(const char *root, const struct ap_lifecycle_downloads *d,
			     const struct ap_release *r, const struct ap_source_plan *p,
			     const struct ap_txn_result *res, int rc, const struct ap_err *result,
			     struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field *src = NULL;
	struct ap_history_field det[12];
	char **owned = NULL, *release_path;
	char msg[AP_ERR_MSG_MAX + 256], pending[24], ran[24];
	size_t counts[3] = { 0, 0, 0 };
	int lrc;

	if (!r)
		return 0;
	if (p && p->n_items) {
		src = calloc(p->n_items, sizeof(*src));
		owned = calloc(p->n_items, sizeof(*owned));
	}
	if (src && owned)
		install_sources(d, p, src, owned, counts);
	install_message(msg, sizeof(msg), p, counts, res, rc, result);
	ev.type = "install";
	ev.product = r->manifest->product;
	ev.version = r->manifest->version;
	ev.key_id = r->sig_checked ? r->signer_id : NULL;
	ev.ok = rc == 0;
	ev.message = msg;
	if (installed(rc, result))
		ev.files = (int64_t)res->n_files;
	if (src && owned) {
		ev.sources = src;
		ev.n_sources = p->n_items;
	}
	ev.details = det;
	release_path = history_path(r->path);
	ev.n_details =
		install_details(det, r, release_path, res, installed(rc, result), ran, pending);
	lrc = ap_history_append(root, &ev, err);
	free(release_path);
	for (size_t i = 0; owned && i < p->n_items; i++)
		free(owned[i]);
	free(owned);
	free(src);
	return lrc;
}

int ap_lifecycle_log_configure(const char *root, const struct ap_receipt *r, int rc,
			       const char *message, const struct ap_history_field *details,
			       size_t n_details, const struct ap_err *result, struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	char msg[AP_ERR_MSG_MAX + 256];

	if (rc == 0)
		snprintf(msg, sizeof(msg), "%s", message);
	else
		snprintf(msg, sizeof(msg), "%s", result->msg[0] ? result->msg : "failed");
	ev.type = "provision";
	ev.product = r->product;
	ev.version = r->version;
	ev.key_id = r->key_id;
	ev.ok = rc == 0;
	ev.message = msg;
	ev.files = rc == 0 ? 1 : -1;
	ev.details = rc == 0 ? details : NULL;
	ev.n_details = rc == 0 ? n_details : 0;
	return ap_history_append(root, &ev, err);
}

/* ---- files ---- */

int ap_lifecycle_manifest(const char *root, const char *product, struct ap_manifest **out,
			  struct ap_err *err)
{
	char *state = ap_state_dir(root, product);
	char *path = state ? ap_fsx_path_join(state, "manifest.json") : NULL;
	char *json = NULL;
	size_t len = 0;
	int rc;

	if (!path) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_read_file(path, INSTALLED_MANIFEST_MAX, &json, &len, err);
	if (rc == 0)
		rc = ap_manifest_parse(json, len, AP_MANIFEST_RELEASE, out, err);
	if (rc)
		ap_err_prefix(err, "the installed manifest '%s'", path);
out:
	free(json);
	free(path);
	free(state);
	return rc;
}

/* True when name is base's temporary: BASE.tmp- and TMP_RANDOM characters. */
static bool config_temp(const char *name, const char *base, size_t nb)
{
	return strlen(name) == nb + sizeof(TMP_MARK) - 1 + TMP_RANDOM &&
	       memcmp(name, base, nb) == 0 &&
	       memcmp(name + nb, TMP_MARK, sizeof(TMP_MARK) - 1) == 0;
}

int ap_lifecycle_config_temps(const char *root, const char *config_rel, char ***out,
			      struct ap_err *err)
{
	char *abs = ap_fsx_path_join(root, config_rel);
	char *dir = abs ? ap_fsx_path_dirname(abs) : NULL;
	char *rdir = ap_fsx_path_dirname(config_rel);
	const char *base = ap_fsx_path_basename(config_rel);
	char **names = NULL, **v = NULL;
	size_t n = 0, k = 0;
	int rc = 0;

	if (!abs || !dir || !rdir) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (ap_fsx_is_dir(dir)) {
		rc = ap_fsx_list_dir(dir, &names, &n, err);
		if (rc)
			goto out;
	}
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!config_temp(names[i], base, strlen(base)))
			continue;
		v[k] = strcmp(rdir, ".") == 0 ? ap_strdup(names[i])
					      : ap_fsx_path_join(rdir, names[i]);
		if (!v[k]) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		k++;
	}
	*out = v;
	v = NULL;
out:
	ap_fsx_strv_free(v, 0);
	ap_fsx_strv_free(names, n);
	free(rdir);
	free(dir);
	free(abs);
	return rc;
}

/* sha256 of a configuration file that holds secrets, read into a buffer
 * that is wiped; with a reader, the bytes are also handed to it (its
 * failure goes into problem, and *read says whether it succeeded). */
static int hash_config(const char *abs, const struct ap_lifecycle_reader *rd,
		       char hex[AP_SHA256_HEX], bool *read, char *problem, size_t plen,
		       struct ap_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = ap_secret_read(abs, rd ? rd->max_bytes : CONFIG_MAX, &buf, &len, err);
	if (rc)
		return rc;
	ap_digest_hex(buf, len, hex);
	if (rd && rd->read && read) {
		struct ap_err e = AP_ERR_INIT;

		if (rd->read(rd->ctx, buf, len, &e) == 0)
			*read = true;
		else
			snprintf(problem, plen, "%s", e.msg);
	}
	ap_secret_free(buf, len);
	return 0;
}

/* ---- status ---- */

const char *ap_lifecycle_config_state_name(enum ap_lifecycle_config_state s)
{
	switch (s) {
	case AP_LIFECYCLE_CONFIG_NONE:
		return "none";
	case AP_LIFECYCLE_CONFIG_ABSENT:
		return "absent";
	case AP_LIFECYCLE_CONFIG_MATCHES:
		return "matches";
	case AP_LIFECYCLE_CONFIG_CHANGED:
		return "changed";
	case AP_LIFECYCLE_CONFIG_MISSING:
		return "missing";
	case AP_LIFECYCLE_CONFIG_UNRECORDED:
		return "unrecorded";
	}
	return "?";
}

/* *rel: the file the record names, else the one the installed manifest
 * declares (NULL: none).  A record or manifest that cannot be read is a
 * problem; only running out of memory for the record is an error. */
static int config_rel(const char *root, const struct ap_receipt *r, struct ap_lifecycle_config *cfg,
		      struct ap_manifest **m, const char **rel, struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;
	int rc;

	*rel = NULL;
	rc = ap_history_record_load(root, r->product, &cfg->rec, &e);
	if (rc == AP_E_NOMEM)
		return ap_err_set(err, rc, "%s", e.msg);
	if (rc && rc != AP_E_NOTFOUND)
		snprintf(cfg->problem, sizeof(cfg->problem), "%s", e.msg);
	if (cfg->rec)
		*rel = cfg->rec->config_path;
	else if (ap_lifecycle_manifest(root, r->product, m, &e) == 0)
		*rel = (*m)->has_config ? (*m)->config.path : NULL;
	else if (!cfg->problem[0])
		snprintf(cfg->problem, sizeof(cfg->problem), "%s", e.msg);
	return 0;
}

/* How the file at abs stands against the record. */
static int config_file_state(const char *abs, const struct ap_lifecycle_reader *rd,
			     struct ap_lifecycle_config *cfg, struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;
	struct ap_stat st;
	char hex[AP_SHA256_HEX];

	if (ap_fsx_stat(abs, &st, &e) != 0) {
		snprintf(cfg->problem, sizeof(cfg->problem), "%s", e.msg);
		st.type = AP_FT_OTHER;
	}
	if (st.type == AP_FT_NONE) {
		cfg->state = cfg->rec ? AP_LIFECYCLE_CONFIG_MISSING : AP_LIFECYCLE_CONFIG_ABSENT;
		return 0;
	}
	cfg->state = cfg->rec ? AP_LIFECYCLE_CONFIG_CHANGED : AP_LIFECYCLE_CONFIG_UNRECORDED;
	if (st.type != AP_FT_FILE) {
		if (!cfg->problem[0])
			snprintf(cfg->problem, sizeof(cfg->problem), "'%s' is not a regular file",
				 abs);
		return 0;
	}
	if (hash_config(abs, rd, hex, &cfg->read, cfg->problem, sizeof(cfg->problem), &e) != 0) {
		if (e.code == AP_E_NOMEM)
			return ap_err_set(err, AP_E_NOMEM, "%s", e.msg);
		snprintf(cfg->problem, sizeof(cfg->problem), "%s", e.msg);
		return 0;
	}
	if (cfg->rec && cfg->rec->config_mode && (cfg->rec->config_mode & 077) == 0) {
		bool priv = true;

		if (ap_fsx_is_private(abs, &priv, &e) == 0 && !priv) {
			cfg->exposed = true;
			ap_fsx_access_said(cfg->rec->config_mode, cfg->access, sizeof(cfg->access));
		}
	}
	if (cfg->rec && ap_digest_eq(hex, cfg->rec->config_sha256))
		cfg->state = AP_LIFECYCLE_CONFIG_MATCHES;
	return 0;
}

int ap_lifecycle_config_status(const char *root, const struct ap_receipt *r,
			       const struct ap_lifecycle_reader *rd,
			       struct ap_lifecycle_config *cfg, struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	const char *rel = NULL;
	char *abs = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->state = AP_LIFECYCLE_CONFIG_NONE;
	rc = config_rel(root, r, cfg, &m, &rel, err);
	if (rc || !rel)
		goto out;
	cfg->config_path = ap_strdup(rel);
	abs = ap_fsx_path_join(root, rel);
	if (!cfg->config_path || !abs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = config_file_state(abs, rd, cfg, err);
out:
	free(abs);
	ap_manifest_free(m);
	if (rc)
		ap_lifecycle_config_release(cfg);
	return rc;
}

void ap_lifecycle_config_release(struct ap_lifecycle_config *cfg)
{
	ap_history_record_free(cfg->rec);
	free(cfg->config_path);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- uninstall ---- */

/* What provision wrote and uninstall removes with the install: the
 * configuration (noting whether it changed) and the record. */
static int provisioned_files(const char *root, const char *rel,
			     const struct ap_lifecycle_reader *rd, struct ap_lifecycle_uninstall *u,
			     struct ap_strvec *extra)
{
	struct ap_stat st;
	char hex[AP_SHA256_HEX];
	char *abs = ap_fsx_path_join(root, rel);
	int rc = 0;

	if (!abs)
		return AP_E_NOMEM;
	if (ap_fsx_stat(abs, &st, NULL) == 0 && st.type == AP_FT_FILE) {
		u->config_present = true;
		if (hash_config(abs, rd, hex, NULL, NULL, 0, NULL) == 0)
			u->config_changed = !ap_digest_eq(hex, u->rec->config_sha256);
		rc = ap_strvec_push(extra, rel);
	}
	if (rc == 0)
		rc = ap_strvec_push_nodup(extra, ap_history_record_relpath(u->r->product));
	free(abs);
	return rc;
}

int ap_lifecycle_uninstall_begin(const char *root, const char *product,
				 const struct ap_lifecycle_reader *rd,
				 struct ap_lifecycle_uninstall *u, struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	struct ap_err e = AP_ERR_INIT;
	struct ap_strvec extra = AP_STRVEC_INIT;
	char **temps = NULL;
	const char *rel = NULL;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	u->r = ap_lifecycle_receipt(root, product);
	if (!u->r)
		return 0;
	rc = ap_history_record_load(root, u->r->product, &u->rec, &e);
	if (rc && rc != AP_E_NOTFOUND)
		snprintf(u->warning, sizeof(u->warning),
			 "%s: the device configuration it names is left in place", e.msg);
	rc = 0;
	if (u->rec)
		rel = u->rec->config_path;
	else if (ap_lifecycle_manifest(root, u->r->product, &m, NULL) == 0 && m->has_config)
		rel = m->config.path;
	if (rel) {
		rc = ap_lifecycle_config_temps(root, rel, &temps, err);
		if (rc)
			goto out;
		for (size_t i = 0; temps[i] && rc == 0; i++) {
			rc = ap_strvec_push_nodup(&extra, temps[i]);
			temps[i] = NULL;
		}
	}
	if (rc == 0 && u->rec)
		rc = provisioned_files(root, rel, rd, u, &extra);
	if (rc == AP_E_NOMEM)
		ap_err_set(err, rc, "out of memory");
	if (rc == 0)
		u->extra = ap_strvec_detach(&extra, NULL);
out:
	ap_strvec_release(&extra);
	ap_fsx_strv_free(temps, 0);
	ap_manifest_free(m);
	if (rc) {
		char warning[sizeof(u->warning)];

		/* The warning still stands beside the error. */
		memcpy(warning, u->warning, sizeof(warning));
		ap_lifecycle_uninstall_release(u);
		memcpy(u->warning, warning, sizeof(warning));
	}
	return rc;
}

int ap_lifecycle_uninstall_end(const char *root, bool purge, struct ap_lifecycle_uninstall *u,
			       const struct ap_txn_uninstall_stats *st, int rc,
			       const struct ap_err *result, struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field det[3];
	char msg[AP_ERR_MSG_MAX + 256];
	size_t n_det = 0;

	if (!u->r)
		return 0;
	if (rc == 0 && u->rec) {
		/* Deepest first; a folder that holds anything else stays. */
		for (size_t i = u->rec->n_created_dirs; i-- > 0;) {
			char *abs = ap_fsx_path_join(root, u->rec->created_dirs[i]);

			if (abs && ap_fsx_is_dir(abs))
				ap_fsx_rmdir(abs, NULL);
			free(abs);
		}
		u->config_removed = u->config_present;
	}
	if (rc == 0)
		snprintf(msg, sizeof(msg),
			 "removed %zu file%s (%zu modified, %zu already gone), left %zu you added, "
			 "purged %zu data folder%s%s",
			 st->n_removed, st->n_removed == 1 ? "" : "s", st->n_modified,
			 st->n_missing, st->n_left, st->n_purged, st->n_purged == 1 ? "" : "s",
			 u->config_removed ? ", removed the device configuration" : "");
	else
		snprintf(msg, sizeof(msg), "%s", result && result->msg[0] ? result->msg : "failed");
	det[n_det].key = "purge";
	det[n_det++].value = purge ? "yes" : "no";
	if (u->config_removed) {
		det[n_det].key = "config_removed";
		det[n_det++].value = u->rec->config_path;
	}
	ev.type = "uninstall";
	ev.product = u->r->product;
	ev.version = u->r->version;
	ev.key_id = u->r->key_id;
	ev.ok = rc == 0;
	ev.message = msg;
	if (rc == 0)
		ev.files = (int64_t)st->n_removed;
	ev.details = det;
	ev.n_details = n_det;
	return ap_history_append(root, &ev, err);
}

void ap_lifecycle_uninstall_release(struct ap_lifecycle_uninstall *u)
{
	ap_receipt_free(u->r);
	ap_history_record_free(u->rec);
	ap_fsx_strv_free(u->extra, 0);
	memset(u, 0, sizeof(*u));
}
