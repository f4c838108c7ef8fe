/* cmd_install.c - airpack-setup install: verify, resolve, fetch, install. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "lifecycle.h"
#include "setup.h"
#include "airpack/fsx.h"
#include "airpack/state.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "airpack/str.h"
#include "airpack/banned.h"

enum {
	OPT_REPAIR = 2000
};

/* The plan the transaction takes payloads from, and the component it was
 * last given: the one being staged when staging fails. */
struct payloads {
	const struct ap_source_plan *p;
	const struct ap_component *last;
};

static int get_payload(void *ctx, const struct ap_component *c, char **path_out, bool *movable,
		       struct ap_err *err)
{
	struct payloads *pl = ctx;
	const struct ap_source_item *it = ap_source_find(pl->p, c);

	if (it && it->kind == AP_SOURCE_SKIPPED && c->optional) {
		*path_out = NULL; /* not installed */
		*movable = false;
		return 0;
	}
	if (!it || !it->path)
		return ap_err_set(err, AP_E_NOTFOUND, "component '%s' has no local copy", c->name);
	*path_out = ap_strdup(it->path);
	if (!*path_out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	pl->last = c;
	/* A bundle payload was unpacked and verified into this install's own
	 * work folder (0700, under the root, removed afterwards): the
	 * transaction may move it.  A download stays: the cache is kept for
	 * reruns. */
	*movable = it->kind == AP_SOURCE_BUNDLE && it->fetched;
	return 0;
}

static void print_summary(const struct setup_opts *o, const struct ap_txn_result *res,
			  const char *root, int rc)
{
	char sz[32];

	if (o->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "result");
		ap_json_str(&j, "product", res->product);
		ap_json_str(&j, "version", res->new_version);
		ap_json_str(&j, "previous_version", res->old_version);
		ap_json_str(&j, "root", root);
		ap_json_bool(&j, "unchanged", res->unchanged);
		ap_json_u64(&j, "files", res->n_files);
		ap_json_u64(&j, "bytes", res->n_bytes);
		ap_json_u64(&j, "kept_user_files", res->n_kept);
		ap_json_u64(&j, "ran", res->n_ran);
		ap_json_u64(&j, "pending", res->n_pending);
		ap_json_str(&j, "restart_required", res->restart_required);
		ap_json_bool(&j, "ok", rc == 0);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	if (res->unchanged) {
		printf("%s %s is already installed in %s and verifies: nothing to do\n",
		       res->product, res->new_version, root);
		return;
	}
	printf("installed %s %s into %s: %zu file%s, %s", res->product, res->new_version, root,
	       res->n_files, res->n_files == 1 ? "" : "s",
	       ap_ui_human_size(res->n_bytes, sz, sizeof(sz)));
	if (res->old_version)
		printf(" (was %s)", res->old_version);
	printf("\n");
	if (res->n_kept)
		printf("  kept %zu file%s you added\n", res->n_kept, res->n_kept == 1 ? "" : "s");
	for (size_t i = 0; i < res->n_conflicts; i++)
		printf("  replaced your %s (saved as %s.airpack-save)\n", res->conflicts[i],
		       res->conflicts[i]);
	if (res->n_pending && res->foreign)
		printf("  %zu action%s pending: a release for another OS; 'airpack-setup "
		       "firstboot' runs %s on the device\n",
		       res->n_pending, res->n_pending == 1 ? "" : "s",
		       res->n_pending == 1 ? "it" : "them");
	else if (res->n_pending && o->root)
		printf("  %zu action%s pending: 'airpack-setup firstboot' runs %s on the device "
		       "(or here: firstboot --root %s --run-in-root)\n",
		       res->n_pending, res->n_pending == 1 ? "" : "s",
		       res->n_pending == 1 ? "it" : "them", o->root);
	else if (res->n_pending)
		printf("  %zu action%s pending: run 'airpack-setup firstboot'\n", res->n_pending,
		       res->n_pending == 1 ? "" : "s");
	if (res->restart_required)
		printf("restart required: run action '%s' asked for it; restart the device to "
		       "finish installing %s %s\n",
		       res->restart_required, res->product, res->new_version);
}

/* The transaction, again after each local payload its staging read found
 * wrong (a failed transaction left the root as it was): the plan takes
 * that component from its next source, and an install with no unchecked
 * payload left either succeeds or fails for good. */
static int install_retrying(const struct ap_release *r, struct ap_source_plan *p,
			    struct setup_src *s, struct ap_state *st,
			    const struct ap_txn_release *rel, const struct ap_txn_opts *to,
			    struct ap_txn_result *res, struct ap_err *err)
{
	struct payloads *pl = rel->payload_ctx;
	int rc;

	for (;;) {
		struct ap_err why = AP_ERR_INIT;
		const struct ap_source_item *it;

		pl->last = NULL;
		rc = ap_txn_install_locked(st, rel, to, res, err);
		it = pl->last ? ap_source_find(p, pl->last) : NULL;
		if (rc != AP_E_DIGEST || !it || !it->unchecked)
			return rc;
		why = *err;
		ap_txn_result_release(res);
		/* The next source may be the bundle: its work folder. */
		if (!s->work_dir && (r->kind == AP_RELEASE_BUNDLE || r->kind == AP_RELEASE_SFX)) {
			rc = ap_state_work_dir(st, &s->work_dir, err);
			if (rc)
				return rc;
			s->so.work_dir = s->work_dir;
		}
		rc = ap_source_retry(r, p, &s->so, pl->last, &why, err);
		if (rc)
			return rc;
	}
}

/* The install command's sequence (lock, pin, sources, transaction, report) in the order the man
 * page gives; each step is a call. */
int setup_install(struct setup_opts *o, bool repair, bool verbose)
{
	struct setup_src s;
	struct lc_install li;
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	struct ap_source_plan *p = NULL;
	struct ap_ui_progress bar;
	struct ap_txn_opts to = AP_TXN_OPTS_INIT;
	struct ap_txn_result res = AP_TXN_RESULT_INIT;
	struct ap_txn_release rel;
	struct ap_state st;
	struct payloads pl = { NULL, NULL };
	const char *root = setup_root(o);
	char *warning = NULL;
	char sz[32];
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&li, 0, sizeof(li));
	memset(&st, 0, sizeof(st));
	st.lock = -1;
	st.root_lock = -1;
	li.ev.o = o;
	li.ev.bar = &bar;
	li.ev.verbose = verbose;
	ap_ui_progress_start(&bar, "", 0, !o->quiet && !o->json);
	o->keep_fresh = true;
	/* Set, it is every installed file's time; set wrong, nothing starts. */
	rc = ap_fsx_source_date_epoch(&to.mtime, &err);
	if (rc < 0)
		goto fail;
	rc = setup_open_release(o, &r, &err);
	if (rc)
		goto fail;
	setup_note(o, "%s %s: signature %s (key id %s)", r->manifest->product, r->manifest->version,
		   r->sig_checked ? "ok" : "NOT CHECKED", r->sig_checked ? r->signer_id : "-");
	s.bar = &bar;
	s.ev = &li.ev;
	/* A local payload is hashed once, in the staging read that installs
	 * it; one found wrong there is replaced as the plan would have. */
	s.so.defer_local_hash = true;
	rc = setup_plan(o, r, &s, &p, &err);
	if (rc)
		goto fail;
	s.so.on_check = lifecycle_on_check; /* notes which URL served each download */
	if (p->download_bytes)
		setup_note(o, "downloading %s",
			   ap_ui_human_size(p->download_bytes, sz, sizeof(sz)));
	s.fo.progress = ap_ui_progress_fetch_cb;
	s.fo.progress_ctx = &bar;
	/* The product's lock before anything is written under the root's
	 * state or cache: a second install of the product waits for nothing
	 * and touches nothing (busy, exit 9).  Recovery runs here too. */
	to.root = root;
	to.no_run = o->no_run;
	to.run_in = o->run_in_root   ? AP_TXN_RUN_ROOT
		    : o->run_on_host ? AP_TXN_RUN_HOST
				     : AP_TXN_RUN_AUTO;
	to.allow_downgrade = o->allow_downgrade;
	to.repair = repair;
	/* The concrete version is pinned ("latest" resolved to it); the release
	 * opened is that version (setup_open_release refuses another). */
	to.pin = o->version ? r->manifest->version : NULL;
	to.on_event = events_on_txn;
	to.ctx = &li.ev;
	rc = ap_txn_check(r->manifest, &to, &err);
	if (rc == 0)
		rc = ap_state_init(&st, root, r->manifest->product, &err);
	if (rc == 0)
		rc = ap_txn_check_platform(&st, r->manifest, o->force_platform, &warning, &err);
	if (warning)
		setup_warn("%s", warning);
	if (rc == 0)
		rc = ap_txn_lock(&st, AP_STATE_WRITE, &to, &err);
	if (rc)
		goto fail;
	/* This transaction's own private folder (0700, made fresh under the
	 * lock): payloads unpacked here are moved into the install without a
	 * second hash. */
	for (size_t i = 0; i < p->n_items && rc == 0; i++) {
		if (p->items[i].kind != AP_SOURCE_BUNDLE)
			continue;
		rc = ap_state_work_dir(&st, &s.work_dir, &err);
		break;
	}
	if (rc)
		goto fail;
	s.so.work_dir = s.work_dir;
	rc = ap_source_fetch(r, p, &s.so, &err);
	ap_ui_progress_end(&bar);
	if (rc)
		goto fail;
	memset(&rel, 0, sizeof(rel));
	rel.fresh = setup_claim(o);
	rel.m = r->manifest;
	rel.manifest_json = r->manifest_json;
	rel.mlen = r->manifest_len;
	rel.sig = r->sig_checked ? r->sig : NULL;
	rel.siglen = r->sig_checked ? r->sig_len : 0;
	rel.get_payload = get_payload;
	pl.p = p;
	rel.payload_ctx = &pl;
	rc = install_retrying(r, p, &s, &st, &rel, &to, &res, &err);
	if (rc && rc != AP_E_RUN)
		goto fail;
	print_summary(o, &res, root, rc);
	if (rc)
		goto fail;
	lifecycle_log_install(o, &li, r, p, &res, 0, &err);
	if (res.restart_required)
		rc = AP_EXIT_RESTART_REQUIRED;
	goto out;
fail:
	ap_ui_progress_end(&bar);
	lifecycle_log_install(o, &li, r, p, &res, rc, &err);
	rc = setup_die(&err);
out:
	free(warning);
	lc_install_release(&li);
	if (st.lock >= 0)
		ap_state_drop_work_dir(&st, s.work_dir);
	ap_state_release(&st);
	ap_txn_result_release(&res);
	ap_source_plan_free(p);
	setup_src_release(&s);
	ap_release_free(r);
	setup_fresh_release(o);
	return rc;
}

static int install_opt(void *ctx, int id, const char *arg)
{
	(void)arg;
	if (id != OPT_REPAIR)
		return 0;
	*(bool *)ctx = true;
	return 1;
}

int cmd_install(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_SOURCE_OPTIONS,
		SETUP_COMMON_OPTIONS,
		{ "no-run", no_argument, NULL, OPT_NO_RUN },
		SETUP_RUN_OPTIONS,
		{ "allow-downgrade", no_argument, NULL, OPT_ALLOW_DOWNGRADE },
		{ "force-platform", no_argument, NULL, OPT_FORCE_PLATFORM },
		{ "repair", no_argument, NULL, OPT_REPAIR },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	bool repair = false;
	int rc;

	rc = setup_parse(&o, "install", argc, argv, "qv", opts, install_opt, &repair);
	if (rc >= 0)
		return rc;
	if (o.no_run + o.run_in_root + o.run_on_host > 1)
		return setup_usage_error("install", "--no-run, --run-in-root and --run-on-host "
						    "exclude each other");
	return setup_install(&o, repair, o.verbose);
}
