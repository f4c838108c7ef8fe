/* cmd_build.c - airpack build: parse the options, build the release
 * (airpack/build.h: bundle, offline folder, self-extracting setup), print
 * the summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/build.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/progress.h"
#include "airpack/sbom.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

struct build_opts {
	struct ap_build_opts b;
	bool json;
	bool quiet;
	const char **more; /* the second and later --payloads, NULL-terminated */
	size_t n_more;
};

static int parse_compress(const char *s, struct ap_build_opts *o)
{
	o->compress_auto = false;
	o->level = 6;
	if (strcmp(s, "auto") == 0) {
		o->compress_auto = true;
		return 0;
	}
	if (strcmp(s, "none") == 0) {
		o->compress = AP_COMPRESS_NONE;
		return 0;
	}
	if (strcmp(s, "gzip") == 0) {
		o->compress = AP_COMPRESS_GZIP;
		return 0;
	}
	if (strncmp(s, "gzip:", 5) == 0 && s[5] >= '1' && s[5] <= '9' && s[6] == '\0') {
		o->compress = AP_COMPRESS_GZIP;
		o->level = s[5] - '0';
		return 0;
	}
	return -1;
}

/* Where a stub may be, relative to this executable's folder, in the order
 * tried: an installed package's stubs (the static Linux setup, setup.exe),
 * then beside the executable, then the build tree.  The library takes the
 * first whose header matches the manifest's platform. */
static const char *const stub_rel[] = {
	"../lib/airpack/stubs/airpack-setup",
	"../lib/airpack/stubs/airpack-setup.exe",
	"airpack-setup",
	"airpack-setup.exe",
	"../installer/airpack-setup",
};
#define N_STUBS (sizeof(stub_rel) / sizeof(stub_rel[0]))

static int default_stubs(char **cand, struct ap_err *err)
{
	char *self = NULL, *dir;
	int rc;

	rc = ap_fsx_self_exe(&self, err);
	if (rc)
		return rc;
	dir = ap_fsx_path_dirname(self);
	free(self);
	if (!dir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	for (size_t i = 0; i < N_STUBS; i++) {
		cand[i] = ap_fsx_path_join(dir, stub_rel[i]);
		if (!cand[i]) {
			free(dir);
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		}
	}
	free(dir);
	return 0;
}

static void print_result(const struct build_opts *o, const struct ap_build_result *res)
{
	const struct ap_manifest *m = res->manifest;
	const char *comp = res->compress == AP_COMPRESS_GZIP ? "gzip" : "none";
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", m->product);
		ap_json_str(&j, "version", m->version);
		ap_json_str(&j, "key_id", res->key_id);
		ap_json_str(&j, "compress", comp);
		if (res->compress == AP_COMPRESS_GZIP)
			ap_json_int(&j, "level", res->level);
		ap_json_str(&j, "bundle", o->b.bundle);
		ap_json_str(&j, "layout", o->b.layout);
		ap_json_str(&j, "sfx", o->b.sfx);
		ap_json_str(&j, "sfx_stub", res->sfx_stub);
		ap_json_str(&j, "sfx_stub_platform", res->sfx_stub_platform);
		print_json_components(&j, m, false);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	printf("built %s %s: %zu component%s, %s, compression %s, signed by key %s\n", m->product,
	       m->version, m->n_components, m->n_components == 1 ? "" : "s",
	       ap_ui_human_size(ap_manifest_total_size(m), sz, sizeof(sz)), comp, res->key_id);
	if (o->b.bundle)
		printf("  bundle: %s\n", o->b.bundle);
	if (o->b.layout)
		printf("  offline folder: %s\n", o->b.layout);
	if (o->b.sfx)
		printf("  setup: %s%s (stub %s, %s)\n", o->b.sfx,
		       o->b.sfx_detached ? ", detached" : "", res->sfx_stub,
		       res->sfx_stub_platform ? res->sfx_stub_platform : "unknown platform");
}

/* Progress bars for the payloads the build reads (ui.h). */
static void bar_start(void *ctx, const char *label, uint64_t total)
{
	ap_ui_progress_start(ctx, label, total, true);
}

static void bar_end(void *ctx)
{
	ap_ui_progress_end(ctx);
}

/* The environment and the defaults the library does not look up, then the
 * build, then the summary. */
static int run_build(struct build_opts *o, struct ap_err *err)
{
	struct ap_ui_progress bar;
	struct ap_progress_ops ops = { bar_start, ap_ui_progress_cb, bar_end, &bar };
	struct ap_build_result res;
	char *cand[N_STUBS] = { NULL };
	int rc;

	/* SOURCE_DATE_EPOCH when set, else 0: a bundle records no wall-clock time. */
	o->b.mtime = 0;
	rc = ap_fsx_source_date_epoch(&o->b.mtime, err);
	if (rc < 0)
		return rc;
	if (o->b.sfx && !o->b.sfx_stub) {
		rc = default_stubs(cand, err);
		if (rc) {
			for (size_t i = 0; i < N_STUBS; i++)
				free(cand[i]);
			ap_err_prefix(err, "cannot find the setup's stub (pass --sfx-stub PATH)");
			return rc;
		}
		o->b.sfx_stubs = (const char *const *)cand;
		o->b.n_sfx_stubs = N_STUBS;
	}
	if (!o->quiet && !o->json)
		o->b.progress = &ops;
	rc = ap_build(&o->b, &res, err);
	if (rc == 0) {
		for (size_t i = 0; i < res.warnings.n; i++)
			fprintf(stderr, "airpack: warning: %s\n", res.warnings.v[i]);
		print_result(o, &res);
		ap_build_result_release(&res);
	}
	o->b.progress = NULL;
	o->b.sfx_stubs = NULL;
	o->b.n_sfx_stubs = 0;
	for (size_t i = 0; i < N_STUBS; i++)
		free(cand[i]);
	return rc;
}

/* Option parsing only: one flat case per option and one check per rule
 * between them, which is why it runs past 80 lines. */
int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "payloads", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "layout", required_argument, NULL, 'L' },
		{ "sfx", required_argument, NULL, 'S' },
		{ "sfx-detached", no_argument, NULL, 'D' },
		{ "sfx-stub", required_argument, NULL, 'T' },
		{ "compress", required_argument, NULL, 'c' },
		{ "sbom-format", required_argument, NULL, 'B' },
		{ "sbom-files", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct build_opts o;
	struct ap_err err = AP_ERR_INIT;
	int c;

	memset(&o, 0, sizeof(o));
	o.b.compress_auto = true;
	o.b.level = 6;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:k:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!o.b.payloads) {
				o.b.payloads = optarg;
				break;
			}
			if (!o.more)
				o.more = calloc((size_t)argc + 1, sizeof(*o.more));
			if (!o.more) {
				fprintf(stderr, "airpack: error: out of memory\n");
				return 1;
			}
			o.more[o.n_more++] = optarg;
			break;
		case 'k':
			o.b.key = optarg;
			break;
		case 'o':
			o.b.bundle = optarg;
			break;
		case 'L':
			o.b.layout = optarg;
			break;
		case 'S':
			o.b.sfx = optarg;
			break;
		case 'D':
			o.b.sfx_detached = true;
			break;
		case 'T':
			o.b.sfx_stub = optarg;
			break;
		case 'c':
			if (parse_compress(optarg, &o.b) != 0)
				return usage_error("build",
						   "--compress: expected none, gzip, gzip:1..9 or "
						   "auto, got '%s'",
						   optarg);
			break;
		case 'B':
			if (ap_sbom_format_parse(optarg, &o.b.sbom) != 0)
				return usage_error(
					"build",
					"--sbom-format: expected spdx or cyclonedx, got '%s'",
					optarg);
			break;
		case 'F':
			if (strcmp(optarg, "all") == 0)
				o.b.sbom_no_files = false;
			else if (strcmp(optarg, "none") == 0)
				o.b.sbom_no_files = true;
			else
				return usage_error("build",
						   "--sbom-files: expected all or none, got '%s'",
						   optarg);
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			return print_usage("build");
		default:
			return usage_error("build", "bad option");
		}
	}
	if (optind >= argc)
		return usage_error("build", "SOURCE-MANIFEST is required");
	o.b.source = argv[optind++];
	if (optind < argc)
		return usage_error("build", "unexpected argument '%s'", argv[optind]);
	if (!o.b.payloads)
		return usage_error("build", "--payloads DIR is required");
	if (!o.b.key)
		return usage_error("build", "--key KEY.pem is required");
	if (!o.b.bundle && !o.b.layout && !o.b.sfx)
		return usage_error("build", "nothing to write: give -o BUNDLE, --layout DIR "
					    "or --sfx SETUP");
	if (o.b.sfx_detached && !o.b.sfx)
		return usage_error("build", "--sfx-detached needs --sfx SETUP");
	if (o.b.sfx_stub && !o.b.sfx)
		return usage_error("build", "--sfx-stub needs --sfx SETUP");
	for (size_t i = 0; i <= o.n_more; i++) {
		const char *dir = i == 0 ? o.b.payloads : o.more[i - 1];

		if (!ap_fsx_is_dir(dir)) {
			free(o.more);
			return usage_error("build", "--payloads: '%s' is not a folder", dir);
		}
	}
	o.b.more_payloads = o.more;
	c = run_build(&o, &err);
	free(o.more);
	if (c != 0)
		return die_err(&err);
	return 0;
}
