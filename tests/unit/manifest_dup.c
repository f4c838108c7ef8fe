/* manifest_dup.c - see manifest_dup.h. */
#include <stdlib.h>
#include <string.h>

#include "airpack/str.h"
#include "manifest_dup.h"

static int copy_str(const char *s, char **out)
{
	*out = ap_strdup(s);
	return s && !*out ? -1 : 0;
}

static int copy_strv(char *const *v, size_t n, char ***out, size_t *nout)
{
	char **c;

	*out = NULL;
	*nout = 0;
	if (n == 0 || !v)
		return 0;
	c = calloc(n, sizeof(*c));
	if (!c)
		return -1;
	*out = c;
	*nout = n;
	for (size_t i = 0; i < n; i++)
		if (copy_str(v[i], &c[i]))
			return -1;
	return 0;
}

static int copy_component(const struct ap_component *s, struct ap_component *d)
{
	*d = *s;
	d->name = d->file = d->to = NULL;
	d->aliases = d->urls = d->args = NULL;
	d->n_aliases = d->n_urls = d->n_args = d->n_ok_codes = 0;
	d->ok_codes = NULL;
	d->reboot_codes = NULL;
	d->n_reboot_codes = 0;
	d->service = NULL;
	d->version = d->supplier = d->license = NULL;
	if (copy_str(s->name, &d->name) || copy_str(s->file, &d->file) || copy_str(s->to, &d->to) ||
	    copy_str(s->version, &d->version) || copy_str(s->supplier, &d->supplier) ||
	    copy_str(s->license, &d->license) ||
	    copy_strv(s->aliases, s->n_aliases, &d->aliases, &d->n_aliases) ||
	    copy_strv(s->urls, s->n_urls, &d->urls, &d->n_urls) ||
	    copy_strv(s->args, s->n_args, &d->args, &d->n_args))
		return -1;
	if (s->n_ok_codes && s->ok_codes) {
		d->ok_codes = calloc(s->n_ok_codes, sizeof(*d->ok_codes));
		if (!d->ok_codes)
			return -1;
		memcpy(d->ok_codes, s->ok_codes, s->n_ok_codes * sizeof(*d->ok_codes));
		d->n_ok_codes = s->n_ok_codes;
	}
	if (s->n_reboot_codes && s->reboot_codes) {
		d->reboot_codes = calloc(s->n_reboot_codes, sizeof(*d->reboot_codes));
		if (!d->reboot_codes)
			return -1;
		memcpy(d->reboot_codes, s->reboot_codes,
		       s->n_reboot_codes * sizeof(*d->reboot_codes));
		d->n_reboot_codes = s->n_reboot_codes;
	}
	if (s->service) {
		const struct ap_manifest_service *ss = s->service;
		struct ap_manifest_service *ds = calloc(1, sizeof(*ds));

		if (!ds)
			return -1;
		d->service = ds;
		if (copy_str(ss->name, &ds->name) || copy_str(ss->program, &ds->program) ||
		    copy_str(ss->description, &ds->description) ||
		    copy_strv(ss->args, ss->n_args, &ds->args, &ds->n_args))
			return -1;
	}
	return 0;
}

int tu_manifest_dup(const struct ap_manifest *m, struct ap_manifest **out, struct ap_err *err)
{
	struct ap_manifest *d;

	if (!m || !out)
		return ap_err_set(err, AP_E_USAGE, "no manifest to copy");
	d = calloc(1, sizeof(*d));
	if (!d)
		return ap_err_set(err, AP_E_NOMEM, "out of memory copying the manifest");
	d->has_config = m->has_config;
	d->config.mode = m->config.mode;
	if (copy_str(m->format, &d->format) || copy_str(m->product, &d->product) ||
	    copy_str(m->version, &d->version) || copy_str(m->channel, &d->channel) ||
	    copy_str(m->platform, &d->platform) || copy_str(m->prefix, &d->prefix) ||
	    copy_str(m->description, &d->description) || copy_str(m->key_id, &d->key_id) ||
	    copy_str(m->sbom, &d->sbom) ||
	    copy_strv(m->data_dirs, m->n_data_dirs, &d->data_dirs, &d->n_data_dirs) ||
	    copy_str(m->config.path, &d->config.path) ||
	    copy_str(m->config.template, &d->config.template))
		goto fail;
	if (m->n_components && m->components) {
		d->components = calloc(m->n_components, sizeof(*d->components));
		if (!d->components)
			goto fail;
		d->n_components = m->n_components;
		for (size_t i = 0; i < m->n_components; i++)
			if (copy_component(&m->components[i], &d->components[i]))
				goto fail;
	}
	*out = d;
	return 0;
fail:
	ap_manifest_free(d);
	return ap_err_set(err, AP_E_NOMEM, "out of memory copying the manifest");
}
