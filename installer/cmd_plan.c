/* cmd_plan.c - airpack-setup plan: where each component will come from. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "setup.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

static const char *kind_word(enum ap_source_kind k)
{
	switch (k) {
	case AP_SOURCE_LOCAL:
		return "local";
	case AP_SOURCE_BUNDLE:
		return "bundle";
	case AP_SOURCE_DOWNLOAD:
		return "download";
	case AP_SOURCE_MISSING:
		return "missing";
	case AP_SOURCE_SKIPPED:
		return "skipped";
	}
	return "?";
}

static void print_plan(const struct setup_opts *o, const struct ap_release *r,
		       const struct ap_source_plan *p)
{
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", r->manifest->product);
		ap_json_str(&j, "version", r->manifest->version);
		ap_json_str(&j, "key_id", r->sig_checked ? r->signer_id : NULL);
		ap_json_bool(&j, "signature_ok", r->sig_checked);
		ap_json_u64(&j, "download_bytes", p->download_bytes);
		ap_json_u64(&j, "missing", p->n_missing);
		ap_json_arr_begin(&j, "components");
		for (size_t i = 0; i < p->n_items; i++) {
			const struct ap_source_item *it = &p->items[i];
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "component", it->c->name);
			ap_json_str(&j, "file", it->c->file);
			ap_json_u64(&j, "size", it->c->size);
			ap_json_str(&j, "sha256", it->c->sha256);
			ap_json_str(&j, "source", kind_word(it->kind));
			if (it->kind == AP_SOURCE_LOCAL)
				ap_json_str(&j, "path", it->path);
			if (it->kind == AP_SOURCE_DOWNLOAD)
				ap_json_str(&j, "url", it->urls[0]);
			ap_json_str(&j, "why", it->why);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		ap_json_end(&j);
		return;
	}
	printf("%s %s (key id %s%s)\n", r->manifest->product, r->manifest->version,
	       r->sig_checked ? r->signer_id : (r->manifest->key_id ? r->manifest->key_id : "?"),
	       r->sig_checked ? ", signature ok" : ", SIGNATURE NOT CHECKED");
	for (size_t i = 0; i < p->n_items; i++) {
		const struct ap_source_item *it = &p->items[i];
		printf("  %-9s %s: %s\n", kind_word(it->kind), it->c->name, it->why);
	}
	printf("to download: %s", ap_ui_human_size(p->download_bytes, sz, sizeof(sz)));
	if (p->n_missing)
		printf(", %zu component%s missing", p->n_missing, p->n_missing == 1 ? "" : "s");
	printf("\n");
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_SOURCE_OPTIONS,
		SETUP_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	struct setup_src s;
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	struct ap_source_plan *p = NULL;
	struct ap_ui_progress bar;
	int rc;

	rc = setup_parse(&o, "plan", argc, argv, "q", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	memset(&s, 0, sizeof(s));
	rc = setup_open_release(&o, &r, &err);
	if (rc)
		return setup_die(&err);
	ap_ui_progress_start(&bar, "", 0, !o.quiet && !o.json);
	s.bar = &bar;
	rc = setup_plan(&o, r, &s, &p, &err);
	ap_ui_progress_end(&bar);
	if (rc) {
		rc = setup_die(&err);
		goto out;
	}
	print_plan(&o, r, p);
	rc = p->n_missing ? ap_err_exit_code(AP_E_OFFLINE) : 0;
out:
	ap_source_plan_free(p);
	setup_src_release(&s);
	ap_release_free(r);
	return rc;
}
