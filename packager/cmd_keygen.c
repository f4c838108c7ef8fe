/* cmd_keygen.c - airpack keygen: a new Ed25519 signing key pair. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/fsx.h"
#include "airpack/sign.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

/* KEY.pem -> KEY.pub.pem; anything else -> NAME.pub.pem. */
static char *public_name(const char *priv)
{
	size_t n = strlen(priv);
	size_t base = (n > 4 && strcmp(priv + n - 4, ".pem") == 0) ? n - 4 : n;
	char *p = malloc(base + sizeof(".pub.pem"));

	if (!p)
		return NULL;
	memcpy(p, priv, base);
	memcpy(p + base, ".pub.pem", sizeof(".pub.pem"));
	return p;
}

/* Option parsing and its rules only, one flat case per option: long, and clearer flat. */
int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ap_err err = AP_ERR_INIT;
	struct ap_sign_key *key = NULL;
	const char *out = NULL;
	char *pub = NULL;
	char id[AP_KEY_ID_LEN];
	char fpr[AP_KEY_FPR_LEN];
	struct ap_stat st;
	bool force = false, json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return print_usage("keygen");
		default:
			return usage_error("keygen", "bad option");
		}
	}
	if (optind < argc)
		return usage_error("keygen", "unexpected argument '%s'", argv[optind]);
	if (!out)
		return usage_error("keygen", "-o KEY.pem is required");
	pub = public_name(out);
	if (!pub) {
		ap_err_set(&err, AP_E_NOMEM, "out of memory");
		goto fail;
	}
	/* Refuse before writing anything when either file is in the way. */
	if (!force) {
		const char *paths[2] = { out, pub };
		for (int i = 0; i < 2; i++) {
			if (ap_fsx_stat(paths[i], &st, &err) != 0)
				goto fail;
			if (st.type != AP_FT_NONE) {
				ap_err_set(&err, AP_E_EXISTS,
					   "'%s' exists: use --force to overwrite", paths[i]);
				goto fail;
			}
		}
	}
	if (ap_sign_key_generate(&key, &err) != 0 ||
	    ap_sign_key_write_private(key, out, force, &err) != 0 ||
	    ap_sign_key_write_public(key, pub, force, &err) != 0)
		goto fail;
	ap_sign_key_id(key, id);
	ap_sign_key_fingerprint(key, fpr);
	if (json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "private_key", out);
		ap_json_str(&j, "public_key", pub);
		ap_json_str(&j, "key_id", id);
		ap_json_str(&j, "fingerprint", fpr);
		ap_json_end(&j);
	} else {
		printf("private key: %s\npublic key:  %s\nkey id:      %s\nfingerprint: %s\n", out,
		       pub, id, fpr);
	}
	ap_sign_key_free(key);
	free(pub);
	return 0;
fail:
	rc = die_err(&err);
	ap_sign_key_free(key);
	free(pub);
	return rc;
}
