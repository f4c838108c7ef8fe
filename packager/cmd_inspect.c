/* cmd_inspect.c - airpack inspect: what a release holds (nothing verified). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/release.h"
#include "airpack/sign.h"
#include "airpack/sbom.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

static const char *kind_name(enum ap_release_kind k)
{
	switch (k) {
	case AP_RELEASE_DIR:
		return "offline folder";
	case AP_RELEASE_MANIFEST:
		return "manifest";
	case AP_RELEASE_BUNDLE:
		return "bundle";
	case AP_RELEASE_SFX:
		return "self-extracting setup";
	}
	return "?";
}

/* A setup carries its signer's public key: its full fingerprint is what an
 * operator compares and passes to --trust-key-id.  "" when there is none. */
static void embedded_fingerprint(const struct ap_release *r, char fpr[AP_KEY_FPR_LEN])
{
	struct ap_sign_key *k = NULL;

	fpr[0] = '\0';
	if (!r->embedded_pub ||
	    ap_sign_key_load_public_mem(r->embedded_pub, r->embedded_pub_len, &k, NULL) != 0)
		return;
	ap_sign_key_fingerprint(k, fpr);
	ap_sign_key_free(k);
}

static void print_json(const struct ap_release *r)
{
	char fpr[AP_KEY_FPR_LEN];

	const struct ap_manifest *m = r->manifest;
	struct ap_json j;

	ap_json_begin(&j, stdout);
	ap_json_str(&j, "path", r->path);
	ap_json_str(&j, "kind", kind_name(r->kind));
	if (r->kind == AP_RELEASE_SFX)
		ap_json_bool(&j, "detached", r->sfx_detached);
	ap_json_str(&j, "product", m->product);
	ap_json_str(&j, "version", m->version);
	ap_json_str(&j, "channel", m->channel);
	ap_json_str(&j, "platform", m->platform);
	ap_json_str(&j, "prefix", m->prefix);
	ap_json_str(&j, "key_id", m->key_id);
	embedded_fingerprint(r, fpr);
	if (fpr[0])
		ap_json_str(&j, "key_fingerprint", fpr);
	ap_json_str(&j, "manifest_sha256", r->manifest_sha256);
	ap_json_u64(&j, "total_size", ap_manifest_total_size(m));
	print_json_components(&j, m, true);
	ap_json_end(&j);
}

static void print_text(const struct ap_release *r)
{
	const struct ap_manifest *m = r->manifest;
	char fpr[AP_KEY_FPR_LEN];
	char sz[32];

	printf("%s: %s%s\n", r->path, kind_name(r->kind),
	       r->kind == AP_RELEASE_SFX && r->sfx_detached ? " (detached: payloads not inside)"
							    : "");
	printf("product:   %s\n", m->product);
	printf("version:   %s\n", m->version);
	printf("channel:   %s\n", m->channel ? m->channel : "-");
	printf("platform:  %s\n", m->platform ? m->platform : "-");
	printf("prefix:    %s\n", m->prefix);
	printf("key id:    %s\n", m->key_id ? m->key_id : "(not recorded)");
	embedded_fingerprint(r, fpr);
	if (fpr[0])
		printf("key:       fingerprint %s (the key this setup carries; publish it "
		       "for --trust-key-id)\n",
		       fpr);
	printf("manifest:  sha256 %s\n", r->manifest_sha256);
	printf("total:     %s in %zu components\n",
	       ap_ui_human_size(ap_manifest_total_size(m), sz, sizeof(sz)), m->n_components);
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		printf("\n  %s\n", c->name);
		printf("    file:    %s\n", c->file);
		printf("    size:    %llu\n", (unsigned long long)c->size);
		printf("    sha256:  %s\n", c->sha256);
		if (c->action == AP_ACTION_EXTRACT)
			printf("    install: extract to %s/%s\n", m->prefix, c->to ? c->to : "");
		else
			printf("    install: %s to %s/%s\n", ap_manifest_action_name(c->action),
			       m->prefix, ap_manifest_component_dest(c));
	}
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sbom", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	bool json = false, sbom = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'B':
			sbom = true;
			break;
		case 'h':
			return print_usage("inspect");
		default:
			return usage_error("inspect", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("inspect", "expected one BUNDLE, DIR, SETUP or MANIFEST");
	if (json && sbom)
		return usage_error("inspect", "--json and --sbom: give one (the SBOM is JSON)");
	if (ap_release_open(argv[optind], &r, &err) != 0)
		return die_err(&err);
	if (sbom) {
		char *text = NULL;
		size_t len = 0;
		int rc = ap_sbom_pretty(r->manifest->sbom, &text, &len, &err);

		if (rc == 0)
			fwrite(text, 1, len, stdout);
		free(text);
		if (rc != 0) {
			ap_err_prefix(&err, "'%s'", argv[optind]);
			ap_release_free(r);
			return die_err(&err);
		}
	} else if (json)
		print_json(r);
	else
		print_text(r);
	ap_release_free(r);
	return 0;
}
