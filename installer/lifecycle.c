/* lifecycle.c - the installer's side of the lifecycle (airpack/lifecycle.h):
 * history failures shown as warnings, the source checks of an install,
 * the IoT Edge reading of the device configuration for status, and how
 * status and uninstall print what provision wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "airpack/banned.h"

/* A history that cannot be written never changes a command's result. */
static void warn_unless_ok(int rc, const struct ap_err *err)
{
	if (rc)
		setup_warn("%s", err->msg);
}

void lifecycle_log_verify(const struct setup_opts *o, const char *product,
			  const struct ap_txn_verify_stats *st, int rc, const struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;

	warn_unless_ok(ap_lifecycle_log_verify(setup_root(o), product, st, rc, err, &e), &e);
}

void lifecycle_log_firstboot(const struct setup_opts *o, const char *product, size_t ran, int rc,
			     const struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;

	warn_unless_ok(ap_lifecycle_log_firstboot(setup_root(o), product, ran, rc, err, &e), &e);
}

void lifecycle_log_configure(const struct setup_opts *o, const struct ap_receipt *r, int rc,
			     const char *message, const struct ap_history_field *details,
			     size_t n_details, const struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;

	warn_unless_ok(ap_lifecycle_log_configure(setup_root(o), r, rc, message, details, n_details,
						  err, &e),
		       &e);
}

/* ---- install ---- */

void lifecycle_on_check(void *ctx, const struct ap_source_check *chk)
{
	struct setup_src *s = ctx;
	/* s->ev is the first member of an lc_install (see setup_install). */
	struct lc_install *li = (struct lc_install *)(void *)s->ev;

	if (!li)
		return;
	events_on_check(&li->ev, chk);
	ap_lifecycle_downloads_note(&li->dl, chk);
}

void lc_install_release(struct lc_install *li)
{
	ap_lifecycle_downloads_release(&li->dl);
}

void lifecycle_log_install(const struct setup_opts *o, const struct lc_install *li,
			   const struct ap_release *r, const struct ap_source_plan *p,
			   const struct ap_txn_result *res, int rc, const struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;

	warn_unless_ok(ap_lifecycle_log_install(setup_root(o), &li->dl, r, p, res, rc, err, &e),
		       &e);
}

/* ---- status ---- */

/* The IoT Edge layer reads the device configuration for status. */
static int read_devconfig(void *ctx, const char *buf, size_t len, struct ap_err *err)
{
	return ap_devconfig_read(buf, len, ctx, err);
}

int lifecycle_provisioning(const char *root, const struct ap_receipt *r, struct lc_provisioning *ps,
			   struct ap_err *err)
{
	struct ap_lifecycle_reader rd = { AP_DEVCONFIG_MAX_YAML, read_devconfig, NULL };

	memset(&ps->info, 0, sizeof(ps->info));
	rd.ctx = &ps->info;
	return ap_lifecycle_config_status(root, r, &rd, &ps->cfg, err);
}

void lifecycle_provisioning_release(struct lc_provisioning *ps)
{
	if (ps->cfg.read)
		ap_devconfig_info_release(&ps->info);
	ap_lifecycle_config_release(&ps->cfg);
}

/* The identity to show: the file's when it is provisioned, else what
 * provision recorded. */
struct identity {
	const char *host, *device, *gateway, *fingerprint, *image, *reg_addr, *reg_user, *proxy;
};

static bool provisioned(const struct lc_provisioning *ps)
{
	return ps->cfg.read && ps->info.provisioned;
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
	if (ps->cfg.rec) {
		id->host = ap_history_record_get(ps->cfg.rec, "host_name");
		id->device = ap_history_record_get(ps->cfg.rec, "device_id");
		id->gateway = ap_history_record_get(ps->cfg.rec, "gateway_host_name");
		id->fingerprint = ap_history_record_get(ps->cfg.rec, "key_fingerprint");
		id->image = ap_history_record_get(ps->cfg.rec, "agent_image");
		id->reg_addr = ap_history_record_get(ps->cfg.rec, "registry_address");
		id->reg_user = ap_history_record_get(ps->cfg.rec, "registry_user");
		id->proxy = ap_history_record_get(ps->cfg.rec, "proxy");
		return true;
	}
	return false;
}

static const char *why_not(const struct lc_provisioning *ps)
{
	if (ps->cfg.problem[0])
		return ps->cfg.problem;
	switch (ps->cfg.state) {
	case AP_LIFECYCLE_CONFIG_NONE:
		return "the release declares no device configuration";
	case AP_LIFECYCLE_CONFIG_ABSENT:
		return "no device configuration yet: run 'airpack-setup provision'";
	case AP_LIFECYCLE_CONFIG_MISSING:
		return "the configuration provision wrote is missing";
	default:
		break;
	}
	if (ps->cfg.read && ps->info.problem[0])
		return ps->info.problem;
	return "unknown";
}

static const char *state_text(const struct lc_provisioning *ps)
{
	switch (ps->cfg.state) {
	case AP_LIFECYCLE_CONFIG_MATCHES:
		return "matches what provision wrote";
	case AP_LIFECYCLE_CONFIG_CHANGED:
		return "changed since provisioning";
	case AP_LIFECYCLE_CONFIG_MISSING:
		return "missing (provision wrote it)";
	case AP_LIFECYCLE_CONFIG_UNRECORDED:
		return "not written by airpack-setup provision";
	case AP_LIFECYCLE_CONFIG_ABSENT:
		return "absent";
	case AP_LIFECYCLE_CONFIG_NONE:
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
	if (ps->cfg.state == AP_LIFECYCLE_CONFIG_NONE)
		return;
	if (identity(ps, &id)) {
		printf("  %-13s%s\n", "hub:", id.host ? id.host : "-");
		printf("  %-13s%s\n", "device id:", id.device ? id.device : "-");
		if (id.gateway)
			printf("  %-13s%s\n", "gateway:", id.gateway);
		if (id.fingerprint && id.fingerprint[0])
			printf("  %-13sSharedAccessKey=**** (sha256 %s...)\n",
			       "key:", id.fingerprint);
		if (id.image)
			printf("  %-13s%s\n", "agent image:", id.image);
		if (id.reg_user)
			printf("  %-13s%s at %s\n", "registry:", id.reg_user,
			       id.reg_addr ? id.reg_addr : "-");
		if (id.proxy)
			printf("  %-13s%s\n", "proxy:", id.proxy);
	}
	printf("  %-13s/%s\n", "config:", ps->cfg.config_path);
	printf("  %-13s%s", "file:", state_text(ps));
	if (ps->cfg.rec) {
		ap_history_format_time(ps->cfg.rec->provisioned_at, when);
		printf(" (provisioned at %s)", when);
	}
	printf("\n");
	if (ps->cfg.exposed)
		printf("  %-13sholds secrets but is not private (expected %s)\n",
		       "access:", ps->cfg.access);
}

void lifecycle_provisioning_json(struct ap_json *j, const struct lc_provisioning *ps)
{
	struct identity id;
	char when[AP_HISTORY_TIME_LEN];
	bool have = identity(ps, &id);

	ap_json_obj_begin(j, "provisioning");
	ap_json_bool(j, "provisioned", provisioned(ps));
	ap_json_str(j, "problem", provisioned(ps) ? NULL : why_not(ps));
	ap_json_str(j, "config_path", ps->cfg.config_path);
	ap_json_str(j, "config_state", ap_lifecycle_config_state_name(ps->cfg.state));
	ap_json_bool(j, "config_private", !ps->cfg.exposed);
	if (ps->cfg.rec)
		ap_history_format_time(ps->cfg.rec->provisioned_at, when);
	ap_json_str(j, "provisioned_at", ps->cfg.rec ? when : NULL);
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

int lifecycle_uninstall_begin(const char *root, const char *product,
			      struct ap_lifecycle_uninstall *u, struct ap_err *err)
{
	struct ap_lifecycle_reader rd = { AP_DEVCONFIG_MAX_YAML, NULL, NULL };
	int rc = ap_lifecycle_uninstall_begin(root, product, &rd, u, err);

	if (u->warning[0])
		setup_warn("%s", u->warning);
	return rc;
}

void lifecycle_uninstall_end(const struct setup_opts *o, struct ap_lifecycle_uninstall *u,
			     const struct ap_txn_uninstall_stats *st, int rc,
			     const struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;
	int lrc = ap_lifecycle_uninstall_end(setup_root(o), o->purge, u, st, rc, err, &e);

	if (u->config_removed)
		setup_note(o, "removed the device configuration /%s written by provision%s",
			   u->rec->config_path, u->config_changed ? " (it had changed since)" : "");
	warn_unless_ok(lrc, &e);
}
