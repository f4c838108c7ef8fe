/* main.c - the airpack packager: command table, help, exit codes. */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ap_config.h"
#include "airpack.h"
#include "airpack/fetch.h"
#include "airpack/fsx.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "create an Ed25519 signing key pair",
	  "usage: airpack keygen -o KEY.pem [--force] [--json]\n"
	  "\n"
	  "Writes KEY.pem (private, mode 0600) and KEY.pub.pem (public) and prints the\n"
	  "key id (first 16 hex digits of the SHA-256 of the public key's DER).\n"
	  "\n"
	  "  -o, --output FILE   private key file to write\n"
	  "      --force         overwrite existing files\n"
	  "      --json          print the files and the key id as one JSON object\n" },
	{ "root", cmd_root, "create, rotate, sign and show roots of trust (airpack-root.json)",
	  "usage: airpack root init -o ROOT.json --root-key PUB --release-key PUB --index-key PUB\n"
	  "                         [--threshold ROLE=N] [--floor PRODUCT=V]\n"
	  "                         [--expires TIME | --expires-in DAYS] [--force] [--json]\n"
	  "       airpack root rotate OLD.json -o NEW.json [--add-key ROLE=PUB]\n"
	  "                         [--remove-key ROLE=KEYID] [--threshold ROLE=N]\n"
	  "                         [--floor PRODUCT=V] [--expires TIME | --expires-in DAYS]\n"
	  "                         [--force] [--json]\n"
	  "       airpack root sign FILE --key KEY.pem [--json]\n"
	  "       airpack root show ROOT.json [--json]\n"
	  "\n"
	  "A root of trust names the keys of each role (root: signs the next root;\n"
	  "release: signs manifests; index: signs mirror indexes), how many of them\n"
	  "must sign (the threshold), a version and an expiry. init writes version 1,\n"
	  "rotate the next version from OLD (keys, thresholds and floors carried over).\n"
	  "Both write an unsigned file: sign writes FILE.sig.KEYID, a raw signature\n"
	  "over FILE that 'openssl pkeyutl -verify -rawin' checks; sign also adds\n"
	  "signatures to a manifest.json or index.json. A device accepts root N+1 only\n"
	  "when a threshold of root N's root keys AND of its own signed it. A key left\n"
	  "out of the next root is revoked. See docs/trust.md.\n"
	  "\n"
	  "  -o, --output FILE        root file to write\n"
	  "      --root-key PUB       (init) a public key of the root role (repeatable)\n"
	  "      --release-key PUB    (init) a public key of the release role (repeatable)\n"
	  "      --index-key PUB      (init) a public key of the index role (repeatable)\n"
	  "      --add-key ROLE=PUB   add a public key to ROLE (repeatable)\n"
	  "      --remove-key ROLE=KEYID  take key KEYID out of ROLE (repeatable)\n"
	  "      --threshold ROLE=N   N distinct keys of ROLE must sign (default 1)\n"
	  "      --floor PRODUCT=V    devices never install PRODUCT below V (signed floor;\n"
	  "                           also what --allow-downgrade may go down to)\n"
	  "      --expires TIME       expiry, UTC, e.g. 2027-12-31T00:00:00Z\n"
	  "      --expires-in DAYS    expiry DAYS from now (default 365)\n"
	  "  -k, --key FILE           (sign) the private key to sign with\n"
	  "      --force              overwrite an existing output\n"
	  "      --json               print the result as one JSON object\n" },
	{ "build", cmd_build, "build a signed release: bundle, offline folder, setup",
	  "usage: airpack build SOURCE-MANIFEST --payloads DIR --key KEY.pem\n"
	  "                     [-o BUNDLE] [--layout DIR] [--sfx SETUP [--sfx-detached]]\n"
	  "                     [--compress none|gzip[:1-9]|auto] [--sbom-format F]\n"
	  "                     [--sbom-files all|none]\n"
	  "                     [--json] [--quiet]\n"
	  "\n"
	  "Finds each component's file in DIR by its file name or aliases, fills in size\n"
	  "and sha256 (a pinned value that differs is an error), signs the release\n"
	  "manifest and writes it with the payloads. At least one output is needed.\n"
	  "Every missing payload is named in one error (exit 8).\n"
	  "\n"
	  "  -p, --payloads DIR    folder holding the payload files; repeat it to search\n"
	  "                        several folders in order\n"
	  "  -k, --key FILE        private signing key (Ed25519, from airpack keygen)\n"
	  "  -o, --output FILE     bundle to write (tar, or tar.gz with gzip)\n"
	  "      --layout DIR      offline folder to write: manifest.json, .sig, payloads\n"
	  "      --sfx FILE        self-extracting setup to write (airpack-setup + bundle)\n"
	  "      --sfx-detached    the setup carries only the signed manifest\n"
	  "      --sfx-stub FILE   airpack-setup executable to use as the setup's stub\n"
	  "                        for the manifest's platform (default: the one for\n"
	  "                        it in ../lib/airpack/stubs/ or beside this airpack)\n"
	  "      --compress MODE   none, gzip, gzip:1..9, or auto (default: auto, gzip\n"
	  "                        only when a sample of the payloads shows it pays)\n"
	  "      --sbom-format F   spdx (SPDX 2.3, the default) or cyclonedx (1.5): the\n"
	  "                        SBOM written into the signed manifest\n"
	  "      --sbom-files W    all (the default): the SBOM lists every file of each\n"
	  "                        archive; none: the components only\n"
	  "      --json            print the result as one JSON object\n"
	  "  -q, --quiet           no progress or summary\n"
	  "\n"
	  "SOURCE_DATE_EPOCH, when set, is the time recorded in the bundle's entries\n"
	  "(otherwise 0): the same inputs always give the same bytes.\n" },
	{ "inspect", cmd_inspect, "show what a bundle, folder or setup holds",
	  "usage: airpack inspect BUNDLE|DIR|SETUP|MANIFEST [--json | --sbom]\n"
	  "\n"
	  "Shows product, version, channel, signer key id and each component's file,\n"
	  "size, sha256 and install action. Nothing is verified: use airpack verify.\n"
	  "\n"
	  "      --json     print the release as one JSON object\n"
	  "      --sbom     print only the release's SBOM (SPDX or CycloneDX JSON)\n" },
	{ "verify", cmd_verify, "check a release's signature and every payload",
	  "usage: airpack verify BUNDLE|DIR|SETUP|MANIFEST --trust KEY.pub.pem|DIR [--json]\n"
	  "\n"
	  "Checks the manifest signature against the trusted key(s), then every\n"
	  "payload's size and sha256. Exits 0 only when all hold; otherwise prints one\n"
	  "line per failure naming the component and what differed.\n"
	  "\n"
	  "  -t, --trust PATH   a PEM public key or a folder of them, or a root of trust\n"
	  "                     (airpack-root.json, or a folder holding it): then its\n"
	  "                     release role's threshold of distinct keys must sign\n"
	  "      --json         one JSON object per check\n" },
	{ "publish", cmd_publish, "add a release to a mirror tree and re-sign its index",
	  "usage: airpack publish --mirror DIR (BUNDLE | SETUP | --layout DIR) --key KEY.pem\n"
	  "                       [--index-key KEY.pem] [--expires-in DAYS]\n"
	  "                       [--min-version V] [--force] [--json] [--quiet]\n"
	  "       airpack publish --oci HOST[:PORT]/REPO[:TAG] (BUNDLE | SETUP | --layout DIR)\n"
	  "                       --key KEY.pem [--channel TAG]... [--insecure-registry]\n"
	  "                       [--registry-auth FILE] [--cacert FILE] [--mount-from REPO]\n"
	  "                       [--json] [--quiet]\n"
	  "\n"
	  "Checks that the release is signed by KEY, copies it into DIR/<version>/ as an\n"
	  "offline folder (payloads hash-checked while copied, the manifest last), then\n"
	  "rewrites DIR/index.json and index.json.sig, signed by KEY. A mirror tree holds\n"
	  "one product. Publishing the same release again does nothing; a version is\n"
	  "immutable: publishing it with another manifest is refused. See docs/mirrors.md.\n"
	  "\n"
	  "  -m, --mirror DIR      the mirror tree (created if needed)\n"
	  "      --layout DIR      publish the offline folder DIR\n"
	  "  -k, --key FILE        the private key the release is signed with; it also\n"
	  "                        signs the index unless --index-key is given\n"
	  "      --index-key FILE  the private key that signs the index (the index role\n"
	  "                        of a root of trust, docs/trust.md)\n"
	  "      --expires-in DAYS the index expires DAYS from now (default 14); a new\n"
	  "                        index version is written whenever the index changes\n"
	  "                        or this is given (re-sign weekly from CI)\n"
	  "      --min-version V   the signed floor: devices never go below V\n"
	  "      --force           replace a version published with another manifest, or\n"
	  "                        re-sign an index signed by another key\n"
	  "      --oci REF         push the release to an OCI registry instead: one image\n"
	  "                        manifest (artifactType application/vnd.airpack.\n"
	  "                        release.v1+json), each payload one blob, uploaded only\n"
	  "                        when the registry lacks it; tagged with the version,\n"
	  "                        the release's channel and REF's TAG\n"
	  "      --channel TAG     with --oci: also move TAG (e.g. latest) to this release\n"
	  "      --insecure-registry\n"
	  "                        with --oci: plain HTTP, no TLS (a lab registry)\n"
	  "      --registry-auth FILE\n"
	  "                        with --oci: credentials, docker config.json style\n"
	  "                        (default ~/.docker/config.json when it exists)\n"
	  "      --cacert FILE     with --oci: trust the registry's TLS certificate from FILE\n"
	  "      --mount-from REPO with --oci: take blobs REPO of the same registry holds\n"
	  "                        by a cross-repository mount instead of uploading them\n"
	  "      --json            print the result as one JSON object\n"
	  "  -q, --quiet           no progress or summary\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *fp)
{
	fprintf(fp, "usage: airpack [--version] [-h|--help] COMMAND [ARGS]\n\n"
		    "Builds signed, reproducible offline-install releases.\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\nRun 'airpack COMMAND --help' for a command's options.\n"
		    "Options, formats and exit codes: man airpack (airpack(1)).\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int print_usage(const char *command)
{
	const struct command *c = find_command(command);

	if (c)
		fputs(c->usage, stdout);
	return 0;
}

void print_json_components(struct ap_json *j, const struct ap_manifest *m, bool actions)
{
	ap_json_arr_begin(j, "components");
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];

		ap_json_arr_item_begin(j);
		ap_json_str(j, "name", c->name);
		ap_json_str(j, "file", c->file);
		ap_json_u64(j, "size", c->size);
		ap_json_str(j, "sha256", c->sha256);
		if (actions) {
			ap_json_str(j, "action", ap_manifest_action_name(c->action));
			ap_json_str(j, "to",
				    c->action == AP_ACTION_EXTRACT ? (c->to ? c->to : "")
								   : ap_manifest_component_dest(c));
		}
		ap_json_arr_item_end(j);
	}
	ap_json_arr_end(j);
}

int usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ap_ui_usage_error("airpack", command, fmt, ap);
	va_end(ap);
	return rc;
}

int die_err(const struct ap_err *err)
{
	return ap_ui_die("airpack", err);
}

int main(int argc, char **argv)
{
	const struct command *c;
	struct ap_err err = AP_ERR_INIT;
	int rc;

	/* libarchive needs a UTF-8 locale for non-ASCII entry names. */
	if (!setlocale(LC_ALL, "C.UTF-8"))
		setlocale(LC_ALL, "");
	/* Windows: argv again from the wide command line, as UTF-8. */
	if (ap_fsx_utf8_args(&argc, &argv, &err) != 0)
		return die_err(&err);
	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2 && find_command(argv[2]))
			return print_usage(argv[2]);
		print_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("airpack %s\n", AP_VERSION);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "airpack: error: unknown command '%s'\n", argv[1]);
		print_help(stderr);
		return 2;
	}
	if (ap_fetch_global_init(&err) != 0)
		return die_err(&err);
	rc = c->fn(argc - 1, argv + 1);
	ap_fetch_global_cleanup();
	return rc;
}
