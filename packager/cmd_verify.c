/* cmd_verify.c - airpack verify: the signature, then every payload. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "airpack.h"
#include "airpack/freshness.h"
#include "airpack/release.h"
#include "airpack/root.h"
#include "airpack/sign.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

struct verify_ctx {
	bool json;
	size_t ok, bad;
};

static void on_check(void *ctx, const struct ap_payload_check *chk)
{
	struct verify_ctx *v = ctx;

	if (chk->ok)
		v->ok++;
	else
		v->bad++;
	if (v->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "check", "payload");
		ap_json_str(&j, "component", chk->c->name);
		ap_json_str(&j, "file", chk->c->file);
		ap_json_str(&j, "where", chk->where);
		ap_json_u64(&j, "expected_size", chk->c->size);
		if (chk->found)
			ap_json_u64(&j, "size", chk->size);
		ap_json_str(&j, "expected_sha256", chk->c->sha256);
		ap_json_str(&j, "sha256", chk->sha256[0] ? chk->sha256 : NULL);
		ap_json_str(&j, "verdict", chk->ok ? "ok" : "fail");
		if (!chk->ok)
			ap_json_str(&j, "problem", chk->problem);
		ap_json_end(&j);
		return;
	}
	if (chk->ok)
		printf("ok      %s (%s)\n", chk->c->name, chk->c->file);
	else
		printf("FAILED  %s (%s): %s\n", chk->c->name, chk->c->file, chk->problem);
}

/* The JSON line of a check that failed: which, the error's name and text. */
static void json_fail(const char *check, const struct ap_err *err)
{
	struct ap_json j;

	ap_json_begin(&j, stdout);
	ap_json_str(&j, "check", check);
	ap_json_str(&j, "verdict", "fail");
	ap_json_str(&j, "error", ap_err_name(err->code));
	ap_json_str(&j, "problem", err->msg);
	ap_json_end(&j);
}

/* Option parsing and its rules only, one flat case per option: long, and clearer flat. */
int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	struct ap_sign_trust *trust = NULL;
	struct ap_root *root = NULL;
	struct verify_ctx v = { false, 0, 0 };
	const char *trust_path = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			trust_path = optarg;
			break;
		case 'j':
			v.json = true;
			break;
		case 'h':
			return print_usage("verify");
		default:
			return usage_error("verify", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("verify", "expected one BUNDLE, DIR, SETUP or MANIFEST");
	if (!trust_path)
		return usage_error("verify", "--trust KEY.pub.pem|DIR is required");
	/* A root of trust (docs/trust.md): the release role's threshold. */
	rc = ap_freshness_load_file(trust_path, &root, &err);
	if (rc == AP_E_NOTFOUND) {
		ap_err_clear(&err);
		rc = ap_sign_trust_load(trust_path, &trust, &err);
	}
	if (rc != 0 || ap_release_open(argv[optind], &r, &err) != 0 ||
	    (root ? ap_release_check_root(r, root, NULL, false, &err)
		  : ap_release_check_sig(r, trust, false, &err)) != 0) {
		if (v.json)
			json_fail("signature", &err);
		rc = die_err(&err);
		goto out;
	}
	if (v.json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "check", "signature");
		ap_json_str(&j, "key_id", r->signer_id);
		ap_json_str(&j, "manifest_sha256", r->manifest_sha256);
		ap_json_str(&j, "verdict", "ok");
		ap_json_end(&j);
	} else {
		printf("ok      signature of %s %s (key id %s)\n", r->manifest->product,
		       r->manifest->version, r->signer_id);
	}
	rc = ap_release_check_payloads(r, on_check, &v, &err);
	if (rc && err.code != AP_E_DIFFERS) {
		/* The release itself is malformed (a bundle that is truncated,
		 * holds extra, unsafe or out-of-order entries, lacks a payload):
		 * that is the verdict, whatever the payloads read so far said. */
		if (v.json)
			json_fail("bundle", &err);
		rc = die_err(&err);
		goto out;
	}
	if (rc) {
		if (!v.json)
			fprintf(stderr, "airpack: error: %s: %zu of %zu components failed\n",
				r->path, v.bad, v.ok + v.bad);
		rc = ap_err_exit_code(err.code);
		goto out;
	}
	if (!v.json)
		printf("verified %s: signature and %zu payloads hold\n", r->path, v.ok);
out:
	ap_release_free(r);
	ap_sign_trust_free(trust);
	ap_root_free(root);
	return rc;
}
