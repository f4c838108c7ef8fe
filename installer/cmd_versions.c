/* cmd_versions.c - airpack-setup versions: the releases a mirror tree's
 * signed index lists. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "setup.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

static bool in_channel(const struct ap_mirror_release *r, const char *channel)
{
	return !channel || (r->channel && strcmp(r->channel, channel) == 0);
}

static void print_versions(const struct setup_opts *o, const struct setup_index *si,
			   const struct ap_mirror_release *latest)
{
	const struct ap_mirror_index *ix = si->ix;
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", ix->product);
		ap_json_str(&j, "mirror", si->mirror);
		ap_json_str(&j, "index", si->url);
		ap_json_str(&j, "key_id", ix->key_id);
		ap_json_bool(&j, "signature_ok", si->sig_checked);
		ap_json_str(&j, "channel", o->channel);
		ap_json_str(&j, "latest", latest ? latest->version : NULL);
		ap_json_arr_begin(&j, "releases");
		for (size_t i = 0; i < ix->n_releases; i++) {
			const struct ap_mirror_release *r = &ix->releases[i];

			if (!in_channel(r, o->channel))
				continue;
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "version", r->version);
			ap_json_str(&j, "channel", r->channel);
			ap_json_u64(&j, "size", r->size);
			ap_json_str(&j, "manifest_sha256", r->manifest_sha256);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		ap_json_end(&j);
		return;
	}
	printf("%s at %s (index signed by key id %s%s)\n", ix->product, si->mirror, ix->key_id,
	       si->sig_checked ? ", signature ok" : ", SIGNATURE NOT CHECKED");
	printf("  %-16s %-10s %10s  %s\n", "VERSION", "CHANNEL", "SIZE", "MANIFEST SHA256");
	for (size_t i = 0; i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];

		if (!in_channel(r, o->channel))
			continue;
		printf("  %-16s %-10s %10s  %s%s\n", r->version, r->channel ? r->channel : "-",
		       ap_ui_human_size(r->size, sz, sizeof(sz)), r->manifest_sha256,
		       r == latest ? "  (latest)" : "");
	}
}

struct oci_print {
	const struct setup_opts *o;
	struct ap_json j;
	size_t n;
};

static void print_oci_tag(void *ctx, const struct setup_oci_tag *t)
{
	struct oci_print *pp = ctx;
	char sz[32];

	if (pp->o->quiet && !pp->o->json)
		return;
	if (pp->o->channel && (!t->channel || strcmp(t->channel, pp->o->channel) != 0))
		return;
	if (pp->o->json) {
		ap_json_arr_item_begin(&pp->j);
		ap_json_str(&pp->j, "tag", t->tag);
		ap_json_str(&pp->j, "digest", t->digest);
		ap_json_str(&pp->j, "product", t->product);
		ap_json_str(&pp->j, "version", t->version);
		ap_json_str(&pp->j, "channel", t->channel);
		ap_json_u64(&pp->j, "size", t->size);
		ap_json_str(&pp->j, "key_id", t->key_id);
		ap_json_bool(&pp->j, "signature_ok", t->sig_ok);
		ap_json_str(&pp->j, "problem", t->problem);
		ap_json_arr_item_end(&pp->j);
		return;
	}
	if (pp->n++ == 0)
		printf("  %-16s %-16s %-10s %10s  %s\n", "TAG", "VERSION", "CHANNEL", "SIZE",
		       "SIGNATURE");
	printf("  %-16s %-16s %-10s %10s  %s\n", t->tag, t->version ? t->version : "-",
	       t->channel ? t->channel : "-",
	       t->version ? ap_ui_human_size(t->size, sz, sizeof(sz)) : "-",
	       t->sig_ok    ? "ok"
	       : t->problem ? t->problem
			    : "not checked");
}

static int list_oci(struct setup_opts *o, const struct ap_sign_trust *trust)
{
	struct ap_err err = AP_ERR_INIT;
	struct oci_print pp;
	int rc;

	memset(&pp, 0, sizeof(pp));
	pp.o = o;
	if (o->json) {
		ap_json_begin(&pp.j, stdout);
		ap_json_str(&pp.j, "mirror", o->mirrors[0]);
		ap_json_str(&pp.j, "channel", o->channel);
		ap_json_arr_begin(&pp.j, "tags");
	} else if (!o->quiet) {
		printf("tags of %s (each verified: the registry itself is not trusted)\n",
		       o->mirrors[0]);
	}
	rc = setup_oci_list(o, o->mirrors[0], trust, print_oci_tag, &pp, &err);
	if (o->json) {
		ap_json_arr_end(&pp.j);
		if (rc)
			pp.j.failed = true; /* no half a listing: the error says it */
		ap_json_end(&pp.j);
	}
	if (rc)
		return setup_die(&err);
	return 0;
}

int cmd_versions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "trust", required_argument, NULL, OPT_TRUST },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ "proxy", required_argument, NULL, OPT_PROXY },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "registry-auth", required_argument, NULL, OPT_REGISTRY_AUTH },
		{ "insecure-registry", no_argument, NULL, OPT_INSECURE_REGISTRY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	struct setup_index si;
	struct ap_err err = AP_ERR_INIT;
	struct ap_sign_trust *trust = NULL;
	const struct ap_mirror_release *latest = NULL;
	int rc;

	rc = setup_parse(&o, "versions", argc, argv, "q", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	memset(&si, 0, sizeof(si));
	if (o.n_mirrors == 0)
		return setup_usage_error("versions", "--mirror URL is required");
	rc = setup_load_trust(&o, NULL, &trust, &err);
	if (rc && !o.insecure)
		return setup_die(&err);
	ap_err_clear(&err);
	if (setup_mirror_is_oci(o.mirrors[0])) {
		if (o.n_mirrors > 1)
			rc = setup_usage_error("versions", "give one --mirror oci://... at a time");
		else
			rc = list_oci(&o, trust);
		ap_sign_trust_free(trust);
		return rc;
	}
	rc = setup_index_fetch(&o, trust, &si, &err);
	if (rc)
		goto fail;
	rc = ap_mirror_resolve(si.ix, "latest", o.channel, &latest, &err);
	if (rc && !(rc == AP_E_NOTFOUND && !o.channel))
		goto fail;
	rc = 0;
	if (!o.quiet || o.json)
		print_versions(&o, &si, latest);
	goto out;
fail:
	rc = setup_die(&err);
out:
	setup_index_release(&si);
	ap_sign_trust_free(trust);
	return rc;
}
