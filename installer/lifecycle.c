/* lifecycle.c - the history events of every command that changes or checks
 * an install, and what provision wrote, as status and uninstall see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/banned.h"

/* ap_afile_open names a temporary file NAME.tmp- and 6 random characters. */
#define TMP_MARK ".tmp-"
#define TMP_RANDOM 6

void lifecycle_log(const struct setup_opts *o, const struct ap_history_event *ev)
{
	struct ap_err err = AP_ERR_INIT;

	if (ap_history_append(setup_root(o), ev, &err) != 0)
		setup_warn("%s", err.msg);
}

struct ap_receipt *lifecycle_receipt(const char *root, const char *product)
{
	struct ap_receipt *r = NULL;

	if (ap_txn_status(root, product, &r, NULL) != 0)
		return NULL;
	return r;
}

void lifecycle_log_verify(const struct setup_opts *o, const char *product,
			  const struct ap_txn_verify_stats *st, int rc, const struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_receipt *r;
	char msg[AP_ERR_MSG_MAX + 128], sz[32];

	if (rc && rc != AP_E_DIFFERS)
		return;
	r = lifecycle_receipt(setup_root(o), product);
	if (!r)
		return;
	if (rc == 0)
		snprintf(msg, sizeof(msg), "%zu files (%s) match the receipt", st->n_checked,
			 ap_human_size(st->n_bytes, sz, sizeof(sz)));
	else
		snprintf(msg, sizeof(msg), "%s", err->msg);
	ev.type = "verify";
	ev.product = r->product;
	ev.version = r->version;
	ev.key_id = r->key_id;
	ev.ok = rc == 0;
	ev.message = msg;
	ev.files = (int64_t)st->n_checked;
	lifecycle_log(o, &ev);
	ap_receipt_free(r);
}

void lifecycle_log_firstboot(const struct setup_opts *o, const char *product, size_t ran, int rc,
			     const struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_receipt *r = NULL;
	char **names = NULL;
	size_t n = 0;
	char msg[AP_ERR_MSG_MAX + 64];

	if (rc == 0 && ran == 0)
		return;
	/* Without --product every product's actions ran: name it when it is one. */
	if (product || (ap_txn_list_products(setup_root(o), &names, &n, NULL) == 0 && n == 1))
		r = lifecycle_receipt(setup_root(o), product ? product : names[0]);
	ap_strv_free(names, n);
	if (rc == 0)
		snprintf(msg, sizeof(msg), "ran %zu pending action%s", ran, ran == 1 ? "" : "s");
	else
		snprintf(msg, sizeof(msg), "ran %zu pending action%s; %s", ran,
			 ran == 1 ? "" : "s", err->msg);
	ev.type = "firstboot";
	ev.product = r ? r->product : product;
	ev.version = r ? r->version : NULL;
	ev.key_id = r ? r->key_id : NULL;
	ev.ok = rc == 0;
	ev.message = msg;
	lifecycle_log(o, &ev);
	ap_receipt_free(r);
}

/* ---- install ---- */

void lifecycle_on_check(void *ctx, const struct ap_src_check *chk)
{
	struct setup_src *s = ctx;
	/* s->ev is the first member of an lc_install (see setup_install). */
	struct lc_install *li = (struct lc_install *)(void *)s->ev;
	const struct ap_component **comp;
	char **url;
	char *u;

	if (!li)
		return;
	events_on_check(&li->ev, chk);
	if (strcmp(chk->verdict, "downloaded") != 0)
		return;
	comp = realloc(li->dl_comp, (li->n_dl + 1) * sizeof(*comp));
	if (!comp)
		return;
	li->dl_comp = comp;
	url = realloc(li->dl_url, (li->n_dl + 1) * sizeof(*url));
	if (!url)
		return;
	li->dl_url = url;
	u = strdup(chk->source);
	if (!u)
		return;
	li->dl_comp[li->n_dl] = chk->c;
	li->dl_url[li->n_dl] = u;
	li->n_dl++;
}

void lc_install_release(struct lc_install *li)
{
	for (size_t i = 0; i < li->n_dl; i++)
		free(li->dl_url[i]);
	free(li->dl_url);
	free(li->dl_comp);
	li->dl_url = NULL;
	li->dl_comp = NULL;
	li->n_dl = 0;
}

static const char *downloaded_from(const struct lc_install *li, const struct ap_component *c)
{
	for (size_t i = li->n_dl; i-- > 0;)
		if (li->dl_comp[i] == c)
			return li->dl_url[i];
	return NULL;
}

void lifecycle_log_install(const struct setup_opts *o, const struct lc_install *li,
			   const struct ap_release *r, const struct ap_src_plan *p,
			   const struct ap_txn_result *res, int rc, const struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field *src = NULL;
	struct ap_history_field det[6];
	char **owned = NULL;
	char msg[AP_ERR_MSG_MAX + 256], sz[32], pending[24], ran[24];
	size_t n_local = 0, n_bundle = 0, n_dl = 0, n_det = 0;

	if (!r)
		return;
	if (p && p->n_items) {
		src = calloc(p->n_items, sizeof(*src));
		owned = calloc(p->n_items, sizeof(*owned));
	}
	for (size_t i = 0; src && owned && i < p->n_items; i++) {
		const struct ap_src_item *it = &p->items[i];
		const char *url;

		src[i].key = it->c->name;
		switch (it->kind) {
		case AP_SRC_LOCAL:
			n_local++;
			owned[i] = it->path ? ap_strcat2("local:", it->path) : NULL;
			src[i].value = owned[i] ? owned[i] : "local";
			break;
		case AP_SRC_BUNDLE:
			n_bundle++;
			src[i].value = "bundle";
			break;
		case AP_SRC_DOWNLOAD:
			n_dl++;
			url = downloaded_from(li, it->c);
			owned[i] = url ? ap_strcat2("download:", url) : NULL;
			src[i].value = owned[i] ? owned[i] : "download (not completed)";
			break;
		case AP_SRC_MISSING:
			src[i].value = "missing";
			break;
		}
	}
	if (rc == 0 && res->unchanged) {
		snprintf(msg, sizeof(msg), "already installed and verifies: nothing to do");
	} else if (rc == 0 || (err && err->code == AP_E_RUN)) {
		char from[96] = "";
		size_t used = 0;
		const size_t counts[3] = { n_local, n_bundle, n_dl };
		const char *kinds[3] = { "local", "bundle", "download" };

		for (size_t k = 0; k < 3; k++) {
			int w;

			if (!counts[k])
				continue;
			w = snprintf(from + used, sizeof(from) - used, "%s%zu %s", used ? ", " : "",
				     counts[k], kinds[k]);
			if (w > 0 && (size_t)w < sizeof(from) - used)
				used += (size_t)w;
		}
		snprintf(msg, sizeof(msg), "%zu component%s (%s), %zu files, %s%s%s",
			 p ? p->n_items : 0, p && p->n_items == 1 ? "" : "s", from, res->n_files,
			 ap_human_size(res->n_bytes, sz, sizeof(sz)), rc ? "; " : "",
			 rc ? err->msg : "");
	} else {
		snprintf(msg, sizeof(msg), "%s", err && err->msg[0] ? err->msg : "failed");
	}
	ev.type = "install";
	ev.product = r->manifest->product;
	ev.version = r->manifest->version;
	ev.key_id = r->sig_checked ? r->signer_id : NULL;
	ev.ok = rc == 0;
	ev.message = msg;
	if (rc == 0 || (err && err->code == AP_E_RUN))
		ev.files = (int64_t)res->n_files;
	if (src && owned) {
		ev.sources = src;
		ev.n_sources = p->n_items;
	}
	det[n_det].key = "release";
	det[n_det++].value = r->path;
	det[n_det].key = "manifest_sha256";
	det[n_det++].value = r->manifest_sha256;
	if (!r->sig_checked) {
		det[n_det].key = "signature";
		det[n_det++].value = "not checked (--insecure)";
	}
	if (rc == 0 || (err && err->code == AP_E_RUN)) {
		if (res->old_version) {
			det[n_det].key = "previous_version";
			det[n_det++].value = res->old_version;
		}
		snprintf(ran, sizeof(ran), "%zu", res->n_ran);
		det[n_det].key = "actions_ran";
		det[n_det++].value = ran;
		snprintf(pending, sizeof(pending), "%zu", res->n_pending);
		det[n_det].key = "actions_pending";
		det[n_det++].value = pending;
	}
	ev.details = det;
	ev.n_details = n_det;
	lifecycle_log(o, &ev);
	for (size_t i = 0; owned && i < p->n_items; i++)
		free(owned[i]);
	free(owned);
	free(src);
}

/* ---- files ---- */

int lifecycle_manifest(const char *root, const char *product, struct ap_manifest **out,
		       struct ap_err *err)
{
	char *state = ap_state_dir(root, product);
	char *path = state ? ap_path_join(state, "manifest.json") : NULL;
	char *json = NULL;
	size_t len = 0;
	int rc;

	if (!path) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_read_file(path, 16u * 1024 * 1024, &json, &len, err);
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

int lifecycle_config_temps(const char *root, const char *config_rel, char ***out,
			   struct ap_err *err)
{
	char *abs = ap_path_join(root, config_rel);
	char *dir = abs ? ap_path_dirname(abs) : NULL;
	char *rdir = ap_path_dirname(config_rel);
	const char *base = ap_path_basename(config_rel);
	size_t nb = strlen(base), tl = sizeof(TMP_MARK) - 1 + TMP_RANDOM;
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
		const char *s = names[i];

		if (strlen(s) != nb + tl || memcmp(s, base, nb) != 0 ||
		    memcmp(s + nb, TMP_MARK, sizeof(TMP_MARK) - 1) != 0)
			continue;
		v[k] = strcmp(rdir, ".") == 0 ? strdup(s) : ap_path_join(rdir, s);
		if (!v[k]) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		k++;
	}
	*out = v;
	v = NULL;
out:
	ap_strv_free(v, 0);
	ap_strv_free(names, n);
	free(rdir);
	free(dir);
	free(abs);
	return rc;
}

/* sha256 of a configuration file that holds secrets; the bytes are wiped.
 * With info, the file is also read as a device configuration. */
static int hash_config(const char *abs, char hex[AP_SHA256_HEX], struct ap_devconfig_info *info,
		       bool *have_info, char *problem, size_t plen, struct ap_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = ap_secret_read(abs, AP_DEVCONFIG_MAX_YAML, &buf, &len, err);
	if (rc)
		return rc;
	ap_sha256_hex(buf, len, hex);
	if (info) {
		struct ap_err e = AP_ERR_INIT;

		if (ap_devconfig_read(buf, len, info, &e) == 0)
			*have_info = true;
		else
			snprintf(problem, plen, "%s", e.msg);
	}
	ap_secret_free(buf, len);
	return 0;
}

/* ---- status ---- */

const char *lifecycle_config_state_name(enum lc_config_state s)
{
	switch (s) {
	case LC_CONFIG_NONE:
		return "none";
	case LC_CONFIG_ABSENT:
		return "absent";
	case LC_CONFIG_MATCHES:
		return "matches";
	case LC_CONFIG_CHANGED:
		return "changed";
	case LC_CONFIG_MISSING:
		return "missing";
	case LC_CONFIG_UNRECORDED:
		return "unrecorded";
	}
	return "?";
}

int lifecycle_provisioning(const char *root, const struct ap_receipt *r,
			   struct lc_provisioning *ps, struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	struct ap_err e = AP_ERR_INIT;
	struct ap_stat st;
	char hex[AP_SHA256_HEX];
	char *abs = NULL;
	const char *rel = NULL;
	int rc = 0;

	memset(ps, 0, sizeof(*ps));
	ps->state = LC_CONFIG_NONE;
	rc = ap_history_record_load(root, r->product, &ps->rec, &e);
	if (rc == AP_E_NOMEM)
		return ap_err_set(err, rc, "%s", e.msg);
	if (rc && rc != AP_E_NOTFOUND)
		snprintf(ps->problem, sizeof(ps->problem), "%s", e.msg);
	rc = 0;
	if (ps->rec) {
		rel = ps->rec->config_path;
	} else if (lifecycle_manifest(root, r->product, &m, &e) == 0) {
		if (m->has_config)
			rel = m->config.path;
	} else if (!ps->problem[0]) {
		snprintf(ps->problem, sizeof(ps->problem), "%s", e.msg);
	}
	if (!rel)
		goto out;
	ps->config_path = strdup(rel);
	abs = ap_path_join(root, rel);
	if (!ps->config_path || !abs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (ap_fsx_stat(abs, &st, &e) != 0) {
		snprintf(ps->problem, sizeof(ps->problem), "%s", e.msg);
		st.type = AP_FT_OTHER;
	}
	if (st.type == AP_FT_NONE) {
		ps->state = ps->rec ? LC_CONFIG_MISSING : LC_CONFIG_ABSENT;
		goto out;
	}
	ps->state = ps->rec ? LC_CONFIG_CHANGED : LC_CONFIG_UNRECORDED;
	if (st.type != AP_FT_FILE) {
		if (!ps->problem[0])
			snprintf(ps->problem, sizeof(ps->problem), "'%s' is not a regular file",
				 abs);
		goto out;
	}
	if (hash_config(abs, hex, &ps->info, &ps->have_info, ps->problem, sizeof(ps->problem),
			&e) != 0) {
		if (e.code == AP_E_NOMEM) {
			rc = ap_err_set(err, AP_E_NOMEM, "%s", e.msg);
			goto out;
		}
		snprintf(ps->problem, sizeof(ps->problem), "%s", e.msg);
		goto out;
	}
	if (ps->rec && ps->rec->config_mode && (ps->rec->config_mode & 077) == 0) {
		bool priv = true;

		if (ap_fsx_is_private(abs, &priv, &e) == 0 && !priv) {
			ps->exposed = true;
			ap_fsx_access_said(ps->rec->config_mode, ps->access, sizeof(ps->access));
		}
	}
	if (ps->rec && ap_sha256_eq(hex, ps->rec->config_sha256))
		ps->state = LC_CONFIG_MATCHES;
out:
	free(abs);
	ap_manifest_free(m);
	if (rc)
		lifecycle_provisioning_release(ps);
	return rc;
}

void lifecycle_provisioning_release(struct lc_provisioning *ps)
{
	if (ps->have_info)
		ap_devconfig_info_release(&ps->info);
	ap_history_record_free(ps->rec);
	free(ps->config_path);
	memset(ps, 0, sizeof(*ps));
}

/* The identity to show: the file's when it is provisioned, else what
 * provision recorded. */
struct identity {
	const char *host, *device, *gateway, *fingerprint, *image, *reg_addr, *reg_user,
		*proxy;
};

static bool provisioned(const struct lc_provisioning *ps)
{
	return ps->have_info && ps->info.provisioned;
}

static bool identity(const struct lc_provisioning *ps, struct identity *id)
{
	memset(id, 0, sizeof(*id));
	if (provisioned(ps)) {
		id->host = ps->info.host_name;
		id->device = ps->info.device_id;
		id->gateway = ps->info.gateway_host_name;
		id->fingerprint = ps->info.key_fingerprint;
		id->image = ps->info.agent_image;
		id->reg_addr = ps->info.registry_address;
		id->reg_user = ps->info.registry_user;
		id->proxy = ps->info.proxy_redacted;
		return true;
	}
	if (ps->rec) {
		id->host = ap_history_record_get(ps->rec, "host_name");
		id->device = ap_history_record_get(ps->rec, "device_id");
		id->gateway = ap_history_record_get(ps->rec, "gateway_host_name");
		id->fingerprint = ap_history_record_get(ps->rec, "key_fingerprint");
		id->image = ap_history_record_get(ps->rec, "agent_image");
		id->reg_addr = ap_history_record_get(ps->rec, "registry_address");
		id->reg_user = ap_history_record_get(ps->rec, "registry_user");
		id->proxy = ap_history_record_get(ps->rec, "proxy");
		return true;
	}
	return false;
}

static const char *why_not(const struct lc_provisioning *ps)
{
	if (ps->problem[0])
		return ps->problem;
	switch (ps->state) {
	case LC_CONFIG_NONE:
		return "the release declares no device configuration";
	case LC_CONFIG_ABSENT:
		return "no device configuration yet: run 'airpack-setup provision'";
	case LC_CONFIG_MISSING:
		return "the configuration provision wrote is missing";
	default:
		break;
	}
	if (ps->have_info && ps->info.problem[0])
		return ps->info.problem;
	return "unknown";
}

static const char *state_text(const struct lc_provisioning *ps)
{
	switch (ps->state) {
	case LC_CONFIG_MATCHES:
		return "matches what provision wrote";
	case LC_CONFIG_CHANGED:
		return "changed since provisioning";
	case LC_CONFIG_MISSING:
		return "missing (provision wrote it)";
	case LC_CONFIG_UNRECORDED:
		return "not written by airpack-setup provision";
	case LC_CONFIG_ABSENT:
		return "absent";
	case LC_CONFIG_NONE:
		break;
	}
	return "-";
}

void lifecycle_provisioning_print(const struct lc_provisioning *ps)
{
	struct identity id;
	char when[AP_HISTORY_TIME_LEN];

	if (provisioned(ps))
		printf("provisioning: yes\n");
	else
		printf("provisioning: no (%s)\n", why_not(ps));
	if (ps->state == LC_CONFIG_NONE)
		return;
	if (identity(ps, &id)) {
		printf("  %-13s%s\n", "hub:", id.host ? id.host : "-");
		printf("  %-13s%s\n", "device id:", id.device ? id.device : "-");
		if (id.gateway)
			printf("  %-13s%s\n", "gateway:", id.gateway);
		if (id.fingerprint && id.fingerprint[0])
			printf("  %-13sSharedAccessKey=**** (sha256 %s...)\n", "key:",
			       id.fingerprint);
		if (id.image)
			printf("  %-13s%s\n", "agent image:", id.image);
		if (id.reg_user)
			printf("  %-13s%s at %s\n", "registry:", id.reg_user,
			       id.reg_addr ? id.reg_addr : "-");
		if (id.proxy)
			printf("  %-13s%s\n", "proxy:", id.proxy);
	}
	printf("  %-13s/%s\n", "config:", ps->config_path);
	printf("  %-13s%s", "file:", state_text(ps));
	if (ps->rec) {
		ap_history_format_time(ps->rec->provisioned_at, when);
		printf(" (provisioned at %s)", when);
	}
	printf("\n");
	if (ps->exposed)
		printf("  %-13sholds secrets but is not private (expected %s)\n", "access:",
		       ps->access);
}

void lifecycle_provisioning_json(struct ap_json *j, const struct lc_provisioning *ps)
{
	struct identity id;
	char when[AP_HISTORY_TIME_LEN];
	bool have = identity(ps, &id);

	ap_json_obj_begin(j, "provisioning");
	ap_json_bool(j, "provisioned", provisioned(ps));
	ap_json_str(j, "problem", provisioned(ps) ? NULL : why_not(ps));
	ap_json_str(j, "config_path", ps->config_path);
	ap_json_str(j, "config_state", lifecycle_config_state_name(ps->state));
	ap_json_bool(j, "config_private", !ps->exposed);
	if (ps->rec)
		ap_history_format_time(ps->rec->provisioned_at, when);
	ap_json_str(j, "provisioned_at", ps->rec ? when : NULL);
	ap_json_str(j, "host_name", have ? id.host : NULL);
	ap_json_str(j, "device_id", have ? id.device : NULL);
	ap_json_str(j, "gateway_host_name", have ? id.gateway : NULL);
	ap_json_str(j, "key_fingerprint",
		    have && id.fingerprint && id.fingerprint[0] ? id.fingerprint : NULL);
	ap_json_str(j, "agent_image", have ? id.image : NULL);
	ap_json_str(j, "registry_address", have ? id.reg_addr : NULL);
	ap_json_str(j, "registry_user", have ? id.reg_user : NULL);
	ap_json_str(j, "proxy", have ? id.proxy : NULL);
	ap_json_obj_end(j);
}

/* ---- uninstall ---- */

static int push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return AP_E_NOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return AP_E_NOMEM;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

int lifecycle_uninstall_begin(const char *root, const char *product, struct lc_uninstall *u,
			      struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	struct ap_err e = AP_ERR_INIT;
	char **temps = NULL;
	const char *rel = NULL;
	char *abs = NULL;
	size_t n = 0;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	u->r = lifecycle_receipt(root, product);
	if (!u->r)
		return 0;
	rc = ap_history_record_load(root, u->r->product, &u->rec, &e);
	if (rc && rc != AP_E_NOTFOUND)
		setup_warn("%s: the device configuration it names is left in place", e.msg);
	rc = 0;
	if (u->rec)
		rel = u->rec->config_path;
	else if (lifecycle_manifest(root, u->r->product, &m, NULL) == 0 && m->has_config)
		rel = m->config.path;
	if (rel) {
		rc = lifecycle_config_temps(root, rel, &temps, err);
		if (rc)
			goto out;
		for (size_t i = 0; temps[i] && rc == 0; i++) {
			rc = push(&u->extra, &n, temps[i]);
			temps[i] = NULL;
		}
	}
	if (rc == 0 && u->rec) {
		struct ap_stat st;
		char hex[AP_SHA256_HEX];

		abs = ap_path_join(root, rel);
		if (!abs)
			rc = AP_E_NOMEM;
		if (rc == 0 && ap_fsx_stat(abs, &st, NULL) == 0 && st.type == AP_FT_FILE) {
			u->config_present = true;
			if (hash_config(abs, hex, NULL, NULL, NULL, 0, NULL) == 0)
				u->config_changed = !ap_sha256_eq(hex, u->rec->config_sha256);
			rc = push(&u->extra, &n, strdup(rel));
		}
		if (rc == 0)
			rc = push(&u->extra, &n, ap_history_record_relpath(u->r->product));
	}
	if (rc == AP_E_NOMEM)
		ap_err_set(err, rc, "out of memory");
out:
	ap_strv_free(temps, 0);
	ap_manifest_free(m);
	free(abs);
	if (rc)
		lifecycle_uninstall_release(u);
	return rc;
}

void lifecycle_uninstall_end(const struct setup_opts *o, struct lc_uninstall *u,
			     const struct ap_txn_uninstall_stats *st, int rc,
			     const struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field det[3];
	char msg[AP_ERR_MSG_MAX + 256];
	size_t n_det = 0;

	if (!u->r)
		return;
	if (rc == 0 && u->rec) {
		/* Deepest first; a folder that holds anything else stays. */
		for (size_t i = u->rec->n_created_dirs; i-- > 0;) {
			char *abs = ap_path_join(setup_root(o), u->rec->created_dirs[i]);

			if (abs && ap_fsx_is_dir(abs))
				ap_fsx_rmdir(abs, NULL);
			free(abs);
		}
		u->config_removed = u->config_present;
		if (u->config_removed)
			setup_note(o, "removed the device configuration /%s written by provision%s",
				   u->rec->config_path,
				   u->config_changed ? " (it had changed since)" : "");
	}
	if (rc == 0)
		snprintf(msg, sizeof(msg),
			 "removed %zu files (%zu modified, %zu already gone), left %zu you added, "
			 "purged %zu data folder%s%s",
			 st->n_removed, st->n_modified, st->n_missing, st->n_left, st->n_purged,
			 st->n_purged == 1 ? "" : "s",
			 u->config_removed ? ", removed the device configuration" : "");
	else
		snprintf(msg, sizeof(msg), "%s", err && err->msg[0] ? err->msg : "failed");
	det[n_det].key = "purge";
	det[n_det++].value = o->purge ? "yes" : "no";
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
	lifecycle_log(o, &ev);
}

void lifecycle_uninstall_release(struct lc_uninstall *u)
{
	ap_receipt_free(u->r);
	ap_history_record_free(u->rec);
	ap_strv_free(u->extra, 0);
	memset(u, 0, sizeof(*u));
}
