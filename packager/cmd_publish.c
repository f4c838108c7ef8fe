/* cmd_publish.c - airpack publish: parse the options, add the release to
 * the mirror tree (airpack/publish.h), print the summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/progress.h"
#include "airpack/publish.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

struct publish_opts {
	struct ap_publish_opts p;
	bool json;
	bool quiet;
};

static void print_result(const struct publish_opts *o, const struct ap_publish_result *res)
{
	const struct ap_manifest *m = res->release->manifest;
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", m->product);
		ap_json_str(&j, "version", m->version);
		ap_json_str(&j, "channel", m->channel);
		ap_json_str(&j, "mirror", o->p.mirror);
		ap_json_str(&j, "folder", res->folder);
		ap_json_str(&j, "manifest_sha256", res->release->manifest_sha256);
		ap_json_str(&j, "key_id", res->key_id);
		ap_json_u64(&j, "size", ap_manifest_total_size(m));
		ap_json_u64(&j, "copied", res->copied);
		ap_json_u64(&j, "kept", res->kept);
		ap_json_u64(&j, "removed", res->removed);
		ap_json_bool(&j, "index_written", res->index_written);
		ap_json_bool(&j, "unchanged", res->unchanged);
		ap_json_u64(&j, "releases", res->n_releases);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	if (res->unchanged) {
		printf("%s %s is already published in %s: nothing to do\n", m->product, m->version,
		       o->p.mirror);
		return;
	}
	printf("published %s %s%s%s%s into %s: %zu payload%s copied, %zu already there, %s\n",
	       m->product, m->version, m->channel ? " (" : "", m->channel ? m->channel : "",
	       m->channel ? ")" : "", res->folder, res->copied, res->copied == 1 ? "" : "s",
	       res->kept, ap_ui_human_size(ap_manifest_total_size(m), sz, sizeof(sz)));
	printf("  index: %zu release%s, signed by key %s\n", res->n_releases,
	       res->n_releases == 1 ? "" : "s", res->key_id);
}

/* Progress bars for the payloads copied (ui.h). */
static void bar_start(void *ctx, const char *label, uint64_t total)
{
	ap_ui_progress_start(ctx, label, total, true);
}

static void bar_end(void *ctx)
{
	ap_ui_progress_end(ctx);
}

static void print_oci(const struct publish_opts *o, const struct ap_publish_oci_result *res)
{
	const struct ap_manifest *m = res->release->manifest;
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", m->product);
		ap_json_str(&j, "version", m->version);
		ap_json_str(&j, "channel", m->channel);
		ap_json_str(&j, "registry", res->name);
		ap_json_str(&j, "digest", res->push.digest);
		ap_json_arr_begin(&j, "tags");
		for (size_t i = 0; i < res->n_tags; i++)
			ap_json_arr_str(&j, res->tags[i]);
		ap_json_arr_end(&j);
		ap_json_str(&j, "manifest_sha256", res->release->manifest_sha256);
		ap_json_str(&j, "key_id", res->key_id);
		ap_json_u64(&j, "size", ap_manifest_total_size(m));
		ap_json_u64(&j, "blobs_uploaded", res->push.uploaded);
		ap_json_u64(&j, "blobs_existing", res->push.existed);
		ap_json_u64(&j, "blobs_mounted", res->push.mounted);
		ap_json_u64(&j, "bytes_uploaded", res->push.bytes_uploaded);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	printf("published %s %s to %s@%s: %zu blob%s uploaded (%s), %zu already there", m->product,
	       m->version, res->name, res->push.digest, res->push.uploaded,
	       res->push.uploaded == 1 ? "" : "s",
	       ap_ui_human_size(res->push.bytes_uploaded, sz, sizeof(sz)), res->push.existed);
	if (res->push.mounted)
		printf(", %zu mounted", res->push.mounted);
	printf("\n");
	printf("  tags:");
	for (size_t i = 0; i < res->n_tags; i++)
		printf(" %s", res->tags[i]);
	printf("\n");
}

static int run_publish_oci(struct publish_opts *o, struct ap_publish_oci_opts *po,
			   struct ap_err *err)
{
	struct ap_ui_progress bar;
	struct ap_progress_ops ops = { bar_start, ap_ui_progress_cb, bar_end, &bar };
	struct ap_publish_oci_result res;
	int rc;

	po->key = o->p.key;
	po->source = o->p.source;
	if (!o->quiet && !o->json)
		po->progress = &ops;
	rc = ap_publish_oci(po, &res, err);
	po->progress = NULL;
	if (rc)
		return rc;
	print_oci(o, &res);
	ap_publish_oci_result_release(&res);
	return 0;
}

static int run_publish(struct publish_opts *o, struct ap_err *err)
{
	struct ap_ui_progress bar;
	struct ap_progress_ops ops = { bar_start, ap_ui_progress_cb, bar_end, &bar };
	struct ap_publish_result res;
	int rc;

	if (!o->quiet && !o->json)
		o->p.progress = &ops;
	rc = ap_publish(&o->p, &res, err);
	o->p.progress = NULL;
	if (rc)
		return rc;
	print_result(o, &res);
	ap_publish_result_release(&res);
	return 0;
}

/* Option parsing and its rules only, one flat case per option: long, and clearer flat. */
int cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mirror", required_argument, NULL, 'm' },
		{ "layout", required_argument, NULL, 'L' },
		{ "key", required_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "index-key", required_argument, NULL, 'I' },
		{ "expires-in", required_argument, NULL, 'E' },
		{ "min-version", required_argument, NULL, 'V' },
		{ "oci", required_argument, NULL, 'O' },
		{ "channel", required_argument, NULL, 'C' },
		{ "insecure-registry", no_argument, NULL, 'N' },
		{ "registry-auth", required_argument, NULL, 'A' },
		{ "cacert", required_argument, NULL, 'T' },
		{ "mount-from", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tags[AP_PUBLISH_TAGS_MAX];
	struct ap_publish_oci_opts po;
	const char *expires_in = NULL;
	struct publish_opts o;
	struct ap_err err = AP_ERR_INIT;
	const char *layout = NULL;
	int c;

	memset(&o, 0, sizeof(o));
	memset(&po, 0, sizeof(po));
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:k:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.p.mirror = optarg;
			break;
		case 'L':
			layout = optarg;
			break;
		case 'k':
			o.p.key = optarg;
			break;
		case 'f':
			o.p.force = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'I':
			o.p.index_key = optarg;
			break;
		case 'E':
			expires_in = optarg;
			break;
		case 'V':
			o.p.min_version = optarg;
			break;
		case 'O':
			po.ref = optarg;
			break;
		case 'C':
			if (po.n_tags >= AP_PUBLISH_TAGS_MAX)
				return usage_error("publish", "at most %d --channel",
						   AP_PUBLISH_TAGS_MAX);
			tags[po.n_tags++] = optarg;
			break;
		case 'N':
			po.oci.plain_http = true;
			break;
		case 'A':
			po.oci.auth_file = optarg;
			break;
		case 'T':
			po.oci.cacert = optarg;
			break;
		case 'F':
			po.oci.mount_from = optarg;
			break;
		case 'h':
			return print_usage("publish");
		default:
			return usage_error("publish", "bad option");
		}
	}
	po.tags = tags;
	if (po.ref && o.p.mirror)
		return usage_error("publish", "give either --mirror DIR or --oci REF, not both");
	if (po.ref && (o.p.index_key || expires_in || o.p.min_version || o.p.force))
		return usage_error("publish",
				   "--index-key, --expires-in, --min-version and --force "
				   "are for a mirror tree's index, not --oci");
	if (!po.ref && (po.n_tags || po.oci.plain_http || po.oci.auth_file || po.oci.cacert ||
			po.oci.mount_from))
		return usage_error("publish", "--channel, --insecure-registry, --registry-auth, "
					      "--cacert and --mount-from need --oci REF");
	if (!o.p.mirror && !po.ref)
		return usage_error("publish", "--mirror DIR or --oci REF is required");
	if (!o.p.key)
		return usage_error("publish", "--key KEY.pem is required");
	if (expires_in) {
		char *end = NULL;
		long d = strtol(expires_in, &end, 10);

		if (!*expires_in || *end || d < 1 || d > 3660)
			return usage_error("publish", "--expires-in '%s': expected 1 to 3660 days",
					   expires_in);
		o.p.expires_days = (int)d;
		o.p.refresh = true;
	}
	if (o.p.min_version && !ap_manifest_version_valid(o.p.min_version))
		return usage_error("publish", "--min-version '%s': expected a version like 1.1.13",
				   o.p.min_version);
	if (layout && optind < argc)
		return usage_error("publish", "give either --layout DIR or a BUNDLE/SETUP, not "
					      "both");
	if (!layout && optind >= argc)
		return usage_error("publish", "nothing to publish: give a BUNDLE, a SETUP or "
					      "--layout DIR");
	if (!layout && optind + 1 < argc)
		return usage_error("publish", "unexpected argument '%s'", argv[optind + 1]);
	if (layout && !ap_fsx_is_dir(layout))
		return usage_error("publish", "--layout: '%s' is not a folder", layout);
	o.p.source = layout ? layout : argv[optind];
	if (po.ref) {
		if (run_publish_oci(&o, &po, &err) != 0)
			return die_err(&err);
		return 0;
	}
	if (run_publish(&o, &err) != 0)
		return die_err(&err);
	return 0;
}
