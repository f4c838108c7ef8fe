/* cmd_layout.c - airpack-setup layout (and a setup's --extract): parse the
 * options, plan the release's sources with the folder searched first, let
 * the offline-folder writer check or fill it (airpack/layout.h), print. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "setup.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

enum {
	OPT_DIR = 2000,
	OPT_VERIFY,
	OPT_FIX,
	OPT_CLEAN
};

/* What the commands print as the folder is checked or filled. */
struct layout_out {
	const struct setup_opts *o;
	struct ap_ui_progress *bar;
};

static void note_bad(void *ctx, const char *file, const char *why)
{
	const struct layout_out *lo = ctx;

	if (lo->o->json)
		return;
	if (why)
		printf("  missing or invalid: %s (%s)\n", file, why);
	else
		printf("  missing or different: %s\n", file);
}

static void note_copied(void *ctx, const char *file, const char *from)
{
	const struct layout_out *lo = ctx;

	setup_note(lo->o, "  copied     %s from %s", file, from);
}

static void note_removed(void *ctx, const char *name)
{
	const struct layout_out *lo = ctx;

	ap_ui_progress_end(lo->bar);
	setup_note(lo->o, "  removed    %s (not in the manifest)", name);
}

static void print_result(const struct setup_opts *o, const char *dir, const struct ap_release *r,
			 const struct ap_source_plan *p, size_t copied, size_t removed, bool clean)
{
	char sz[32];

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
		return;
	}
	setup_note(o, "layout %s holds %s %s (downloaded %s, copied %zu file%s%s)", dir,
		   r->manifest->product, r->manifest->version,
		   ap_ui_human_size(p->download_bytes, sz, sizeof(sz)), copied,
		   copied == 1 ? "" : "s", clean ? ", cleaned" : "");
}

/* The folder becomes the first offline folder and the cache of o (when
 * checking, the only folder, and no network).  o is setup_layout's own
 * copy of the caller's options. */
static int add_folder(struct setup_opts *o, const char *dir, bool verify_only, struct ap_err *err)
{
	if (o->n_offline_dirs >= MAX_LIST)
		return ap_err_set(err, AP_E_USAGE, "too many --offline-dir");
	if (verify_only) {
		o->n_offline_dirs = 0;
		o->offline = true;
	}
	memmove(o->offline_dirs + 1, o->offline_dirs, o->n_offline_dirs * sizeof(char *));
	o->offline_dirs[0] = dir;
	o->n_offline_dirs++;
	o->cache = dir;
	return 0;
}

int setup_layout(const struct setup_opts *given, const char *dir, bool verify_only, bool clean)
{
	struct setup_opts o;
	struct setup_src s;
	struct events ev;
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	struct ap_source_plan *p = NULL;
	struct ap_ui_progress bar;
	struct layout_out out = { &o, &bar };
	struct ap_layout_fill f;
	size_t removed = 0, copied = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&ev, 0, sizeof(ev));
	o = *given; /* the caller's options stay as they are */
	ev.o = &o;
	ev.bar = &bar;
	ev.verbose = false;
	ap_ui_progress_start(&bar, "", 0, !o.quiet && !o.json);
	rc = setup_open_release(&o, &r, &err);
	if (rc)
		goto fail;
	if (!verify_only)
		rc = ap_fsx_mkdir_p(dir, 0755, &err);
	else if (!ap_fsx_is_dir(dir))
		rc = ap_err_set(&err, AP_E_NOTFOUND, "layout folder '%s' does not exist", dir);
	/* The release's own folder and the folder itself are searched first,
	 * then the other offline folders; everything new lands in the folder. */
	if (rc == 0)
		rc = add_folder(&o, dir, verify_only, &err);
	if (rc)
		goto fail;
	s.bar = &bar;
	s.ev = &ev;
	rc = setup_plan(&o, r, &s, &p, &err);
	if (rc)
		goto fail;
	if (verify_only) {
		rc = ap_layout_check(dir, r, p, note_bad, &out, NULL, &err);
		if (rc)
			goto fail;
		setup_note(&o, "layout %s holds %s %s completely", dir, r->manifest->product,
			   r->manifest->version);
		goto out;
	}
	s.fo.progress = ap_ui_progress_fetch_cb;
	s.fo.progress_ctx = &bar;
	memset(&f, 0, sizeof(f));
	f.dir = dir;
	f.r = r;
	f.plan = p;
	f.src = &s.so;
	f.clean = clean;
	f.on_copied = note_copied;
	f.on_removed = note_removed;
	f.ctx = &out;
	rc = ap_layout_fill(&f, &copied, &removed, &err);
	ap_ui_progress_end(&bar);
	if (rc)
		goto fail;
	print_result(&o, dir, r, p, copied, removed, clean);
	goto out;
fail:
	ap_ui_progress_end(&bar);
	rc = setup_die(&err);
out:
	ap_source_plan_free(p);
	setup_src_release(&s);
	ap_release_free(r);
	return rc;
}

struct layout_args {
	const char *dir;
	bool verify, clean;
};

static int layout_opt(void *ctx, int id, const char *arg)
{
	struct layout_args *a = ctx;

	switch (id) {
	case OPT_DIR:
		a->dir = arg;
		return 1;
	case OPT_VERIFY:
		a->verify = true;
		return 1;
	case OPT_FIX:
		return 1;
	case OPT_CLEAN:
		a->clean = true;
		return 1;
	}
	return 0;
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
	struct layout_args a = { NULL, false, false };
	int rc;

	rc = setup_parse(&o, "layout", argc, argv, "q", opts, layout_opt, &a);
	if (rc >= 0)
		return rc;
	if (!a.dir)
		return setup_usage_error("layout", "--dir DIR is required");
	if (a.verify && a.clean)
		return setup_usage_error("layout", "--verify only reports: drop --clean");
	return setup_layout(&o, a.dir, a.verify, a.clean);
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
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
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
