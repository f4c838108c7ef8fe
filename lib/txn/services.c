/* txn/services.c - a release's services through install, upgrade, firstboot
 * and uninstall; the OS side is airpack/service.h, the rules
 * docs/services.md.
 *
 * An install records the release's services in its receipt (registered
 * false), stops the old release's on the host before the switch (and starts
 * them again when the install is undone), and after the switch and the run
 * actions removes the ones the new release dropped and registers (starts)
 * its own.  Each registration is written to the receipt at once, so a
 * failure or a kill leaves the receipt saying which are registered, and
 * firstboot or a repair finishes the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/service.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/txn.h"
#include "airpack/winname.h"
#include "txn/internal.h"
#include "airpack/banned.h"

/* Where r's services go; a release for another OS (a Windows release in
 * a Linux image root) registers none here: firstboot does on the device. */
static void where_of(const struct ap_state *p, const struct ap_receipt *r,
		     struct ap_service_where *w)
{
	w->root = p->aroot;
	w->host = txn_is_host_root(p);
	w->product = r->product;
	w->foreign = ap_winname_platform_is_foreign(r->platform);
}

static void emit(const struct ap_txn_opts *o, enum ap_txn_verdict v, const char *product,
		 const struct ap_receipt_service *s, const char *what)
{
	txn_emit_simple(o, AP_TXN_PH_SERVICE, v, product, s->component, s->name, what);
}

/* The program as the receipt names it: relative to the root. */
static char *program_of(const struct ap_manifest *m, const struct ap_component *c)
{
	const struct ap_manifest_service *sv = c->service;

	if (c->action == AP_ACTION_EXTRACT)
		return c->to ? ap_fsx_path_join3(m->prefix, c->to, sv->program)
			     : ap_fsx_path_join(m->prefix, sv->program);
	return ap_fsx_path_join(m->prefix, ap_manifest_component_dest(c));
}

int txn_services_record(struct ap_receipt *r, const struct ap_manifest *m, struct ap_err *err)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_components; i++)
		n += m->components[i].service != NULL;
	if (n == 0)
		return 0;
	r->services = calloc(n, sizeof(*r->services));
	if (!r->services)
		return txn_nomem(err, "recording services");
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		const struct ap_manifest_service *sv = c->service;
		struct ap_receipt_service *s;

		if (!sv)
			continue;
		s = &r->services[r->n_services++];
		s->name = ap_strdup(sv->name);
		s->component = ap_strdup(c->name);
		s->program = program_of(m, c);
		s->description = sv->description ? ap_strdup(sv->description) : NULL;
		if (sv->n_args)
			s->args = calloc(sv->n_args, sizeof(*s->args));
		if (!s->name || !s->component || !s->program ||
		    (sv->description && !s->description) || (sv->n_args && !s->args))
			return txn_nomem(err, "recording services");
		for (size_t k = 0; k < sv->n_args; k++) {
			s->args[k] = ap_strdup(sv->args[k]);
			if (!s->args[k])
				return txn_nomem(err, "recording services");
			s->n_args++;
		}
	}
	return 0;
}

int txn_services_prepare(const struct ap_state *p, const struct ap_receipt *old,
			 const struct ap_receipt *r, const struct ap_txn_opts *o,
			 struct ap_err *err)
{
	struct ap_service_where w;
	int rc = 0;

	where_of(p, r, &w);
	for (size_t i = 0; i < r->n_services && rc == 0; i++)
		if (ap_service_can_register(&w))
			rc = ap_service_check(&w, &r->services[i], err);
	if (rc < 0) {
		ap_err_prefix(err, "services of '%s'", r->product);
		return rc;
	}
	if (!old || !w.host)
		return 0;
	for (size_t i = 0; i < old->n_services && rc == 0; i++) {
		const struct ap_receipt_service *s = &old->services[i];

		if (!s->registered)
			continue;
		rc = ap_service_stop(&w, s->name, err);
		if (rc == 0)
			emit(o, AP_TXN_V_OK, old->product, s, "stopped");
	}
	return rc;
}

void txn_services_restart(const struct ap_state *p, const struct ap_receipt *old,
			  const struct ap_txn_opts *o)
{
	struct ap_service_where w;

	if (!old)
		return;
	where_of(p, old, &w);
	for (size_t i = 0; w.host && i < old->n_services; i++) {
		const struct ap_receipt_service *s = &old->services[i];
		struct ap_err e = AP_ERR_INIT;

		if (!s->registered)
			continue;
		if (ap_service_start(&w, s->name, &e) == 0)
			emit(o, AP_TXN_V_OK, old->product, s, "started again (install undone)");
		else
			emit(o, AP_TXN_V_FAILED, old->product, s, e.msg);
	}
}

static bool has_service(const struct ap_receipt *r, const char *name)
{
	for (size_t i = 0; r && i < r->n_services; i++)
		if (strcmp(r->services[i].name, name) == 0)
			return true;
	return false;
}

int txn_services_apply(const struct ap_state *p, const struct ap_receipt *old, struct ap_receipt *r,
		       const struct ap_txn_opts *o, struct ap_err *err)
{
	struct ap_service_where w;
	int64_t mtime = o ? o->mtime : -1;
	int rc = 0;

	where_of(p, r, &w);
	for (size_t i = 0; old && i < old->n_services && rc == 0; i++) {
		const struct ap_receipt_service *s = &old->services[i];

		if (has_service(r, s->name))
			continue;
		rc = ap_service_remove(&w, s->name, err);
		if (rc == 0)
			emit(o, AP_TXN_V_REMOVED, r->product, s, "removed (not in this release)");
	}
	for (size_t i = 0; i < r->n_services && rc == 0; i++) {
		struct ap_receipt_service *s = &r->services[i];
		char note[160];

		if (s->registered)
			continue;
		if (!ap_service_can_register(&w)) {
			emit(o, AP_TXN_V_PENDING, r->product, s,
			     w.foreign ? "a release for another OS: firstboot registers it "
					 "on the device"
				       : "image root: firstboot registers it on the device");
			continue;
		}
		note[0] = '\0';
		rc = ap_service_register(&w, s, note, sizeof(note), err);
		if (rc < 0)
			break;
		s->registered = true;
		emit(o, AP_TXN_V_OK, r->product, s, note);
		rc = txn_write_receipt(p, r, NULL, mtime, err);
	}
	if (rc < 0 && rc != AP_E_NOMEM)
		ap_err_prefix(err, "services of '%s'", r->product);
	return rc;
}

void ap_txn_service_state(const char *root, const struct ap_receipt *r,
			  const struct ap_receipt_service *s, char *out, size_t size)
{
	struct ap_service_where w;
	struct ap_state p;
	char *aroot = NULL;

	memset(&p, 0, sizeof(p));
	p.root = (char *)(root ? root : ap_fsx_default_root());
	if (ap_fsx_abspath(p.root, &aroot, NULL) < 0) {
		snprintf(out, size, "unknown");
		return;
	}
	p.aroot = aroot;
	where_of(&p, r, &w);
	if (!s->registered && !ap_service_can_register(&w))
		snprintf(out, size, "waits for firstboot");
	else
		ap_service_state(&w, s->name, out, size);
	free(aroot);
}

int txn_services_remove(const struct ap_state *p, const struct ap_receipt *r,
			const struct ap_txn_opts *o, struct ap_err *err)
{
	struct ap_service_where w;
	int rc = 0;

	where_of(p, r, &w);
	for (size_t i = 0; i < r->n_services && rc == 0; i++) {
		const struct ap_receipt_service *s = &r->services[i];

		if (w.foreign && !s->registered)
			continue; /* never registered here: nothing of it to remove */
		rc = ap_service_remove(&w, s->name, err);
		if (rc == 0)
			emit(o, AP_TXN_V_REMOVED, r->product, s, "stopped and removed");
	}
	return rc;
}
