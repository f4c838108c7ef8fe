/* cmd_layout.c - airpack-setup layout (and a setup's --extract): write or
 * repair an offline folder holding a release, downloading only what the
 * folder lacks. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "setup.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/manifest.h"
#include "airpack/sink.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

enum { OPT_DIR = 2000, OPT_VERIFY, OPT_FIX, OPT_CLEAN };

/* True when the folder already holds exactly this signed manifest. */
static bool same_manifest(const char *dir, const struct ap_release *r)
{
	char *path = ap_path_join(dir, AP_BUNDLE_MANIFEST);
	char *buf = NULL;
	size_t len = 0;
	bool same = false;

	if (path && ap_fsx_read_file(path, AP_MANIFEST_MAX, &buf, &len, NULL) == 0)
		same = len == r->manifest_len && memcmp(buf, r->manifest_json, len) == 0;
	free(buf);
	free(path);
	return same;
}

static void note_removed(void *ctx, const char *name)
{
	setup_note(ctx, "  removed    %s (not in the manifest)", name);
}

int setup_layout(struct setup_opts *o, const char *dir, bool verify_only, bool clean)
{
	struct setup_src s;
	struct events ev;
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	struct ap_src_plan *p = NULL;
	struct ap_layout *l = NULL;
	struct ap_progress bar;
	char *path = NULL;
	size_t removed = 0, copied = 0, bad = 0;
	char sz[32];
	int rc;

	memset(&s, 0, sizeof(s));
	ev.o = o;
	ev.bar = &bar;
	ev.verbose = false;
	ap_progress_start(&bar, "", 0, !o->quiet && !o->json);
	rc = setup_open_release(o, &r, &err);
	if (rc)
		goto fail;
	if (!verify_only) {
		rc = ap_fsx_mkdir_p(dir, 0755, &err);
		if (rc)
			goto fail;
	} else if (!ap_fsx_is_dir(dir)) {
		rc = ap_err_set(&err, AP_E_NOTFOUND, "layout folder '%s' does not exist", dir);
		goto fail;
	}
	/* The folder itself is searched first, then the release's own folder
	 * and the other offline folders; everything new lands in the folder. */
	if (o->n_offline_dirs >= MAX_LIST) {
		rc = ap_err_set(&err, AP_E_USAGE, "too many --offline-dir");
		goto fail;
	}
	if (verify_only) {
		o->n_offline_dirs = 0;
		o->offline = true;
	}
	memmove(o->offline_dirs + 1, o->offline_dirs, o->n_offline_dirs * sizeof(char *));
	o->offline_dirs[0] = dir;
	o->n_offline_dirs++;
	o->cache = dir;
	s.bar = &bar;
	s.ev = &ev;
	rc = setup_plan(o, r, &s, &p, &err);
	if (rc)
		goto fail;
	if (verify_only) {
		for (size_t i = 0; i < p->n_items; i++) {
			const struct ap_src_item *it = &p->items[i];
			char *want = ap_path_join(dir, it->c->file);
			bool ok = it->kind == AP_SRC_LOCAL && want && strcmp(it->path, want) == 0;
			if (!ok) {
				bad++;
				if (!o->json)
					printf("  missing or invalid: %s (%s)\n", it->c->file,
					       it->why);
			}
			free(want);
		}
		if (!same_manifest(dir, r)) {
			bad++;
			if (!o->json)
				printf("  missing or different: %s\n", AP_BUNDLE_MANIFEST);
		}
		if (bad) {
			rc = ap_err_set(&err, AP_E_DIFFERS,
					"layout '%s': %zu file%s missing or invalid: run with "
					"--fix to repair", dir, bad, bad == 1 ? "" : "s");
			goto fail;
		}
		setup_note(o, "layout %s holds %s %s completely", dir, r->manifest->product,
			   r->manifest->version);
		goto out;
	}
	/* Another release's manifest must not describe payloads being
	 * replaced: the writer drops it now, the new one goes in last. */
	rc = ap_layout_open(dir, r->manifest_json, r->manifest_len, &l, &err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < p->n_items; i++) {
		struct ap_src_item *it = &p->items[i];
		struct ap_sink_expect x = { it->path, true, it->c->size, it->c->sha256,
					    "the signed manifest says" };

		if (it->kind != AP_SRC_LOCAL)
			continue;
		free(path);
		path = ap_path_join(dir, it->c->file);
		if (!path) {
			rc = ap_err_set(&err, AP_E_NOMEM, "out of memory");
			goto fail;
		}
		if (strcmp(path, it->path) == 0)
			continue;
		/* Checked again while copying: the planned file may have changed. */
		rc = ap_layout_copy_file(l, it->c->file, it->path, &x, NULL, NULL, NULL, &err);
		if (rc) {
			ap_err_prefix(&err, "component '%s'", it->c->name);
			goto fail;
		}
		copied++;
		setup_note(o, "  copied     %s from %s", it->c->file, it->path);
	}
	s.fo.progress = ap_progress_fetch_cb;
	s.fo.progress_ctx = &bar;
	s.so.work_dir = dir;
	s.so.work_mode = 0644; /* the mode every payload of an offline folder gets */
	rc = ap_src_fetch(r, p, &s.so, &err);
	ap_progress_end(&bar);
	if (rc)
		goto fail;
	if (clean) {
		rc = ap_layout_clean(l, r->manifest, note_removed, o, &removed, &err);
		if (rc)
			goto fail;
	}
	rc = ap_layout_commit(l, r->manifest_json, r->manifest_len, r->sig, r->sig_len, &err);
	if (rc)
		goto fail;
	if (o->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "result");
		ap_json_str(&j, "layout", dir);
		ap_json_str(&j, "product", r->manifest->product);
		ap_json_str(&j, "version", r->manifest->version);
		ap_json_u64(&j, "downloaded_bytes", p->download_bytes);
		ap_json_u64(&j, "copied", copied);
		ap_json_u64(&j, "removed", removed);
		ap_json_end(&j);
	} else {
		setup_note(o, "layout %s holds %s %s (downloaded %s, copied %zu file%s%s)", dir,
			   r->manifest->product, r->manifest->version,
			   ap_human_size(p->download_bytes, sz, sizeof(sz)), copied,
			   copied == 1 ? "" : "s", clean ? ", cleaned" : "");
	}
	goto out;
fail:
	ap_progress_end(&bar);
	rc = setup_die(&err);
out:
	free(path);
	ap_src_plan_free(p);
	ap_layout_free(l);
	setup_src_release(&s);
	ap_release_free(r);
	return rc;
}

int cmd_layout(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_SOURCE_OPTIONS,
		SETUP_COMMON_OPTIONS,
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "fix", no_argument, NULL, OPT_FIX },
		{ "clean", no_argument, NULL, OPT_CLEAN },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	const char *dir = NULL;
	bool verify = false, clean = false;
	int c, rc;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			return setup_print_usage("layout");
		case OPT_DIR:
			dir = optarg;
			continue;
		case OPT_VERIFY:
			verify = true;
			continue;
		case OPT_FIX:
			continue;
		case OPT_CLEAN:
			clean = true;
			continue;
		}
		rc = setup_opt(&o, "layout", c, optarg);
		if (rc <= 0)
			return rc < 0 ? 2 : setup_usage_error("layout", "bad option");
	}
	if (optind < argc)
		return setup_usage_error("layout", "unexpected argument '%s'", argv[optind]);
	if (!dir)
		return setup_usage_error("layout", "--dir DIR is required");
	if (verify && clean)
		return setup_usage_error("layout", "--verify only reports: drop --clean");
	return setup_layout(&o, dir, verify, clean);
}

int cmd_extract(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_SOURCE_OPTIONS,
		SETUP_COMMON_OPTIONS,
		{ "extract", required_argument, NULL, OPT_DIR },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	const char *dir = NULL;
	int c, rc;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_HELP)
			return setup_print_usage("layout");
		if (c == OPT_DIR) {
			dir = optarg;
			continue;
		}
		rc = setup_opt(&o, "--extract", c, optarg);
		if (rc <= 0)
			return rc < 0 ? 2 : setup_usage_error("layout", "bad option");
	}
	if (!dir)
		return setup_usage_error("layout", "--extract DIR: the folder is required");
	return setup_layout(&o, dir, false, false);
}
