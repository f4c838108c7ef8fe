/* main.c - airpack-setup: command table, help, and the setup's default
 * action (install from itself). */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_config.h"
#include "commands.h"
#include "setup.h"
#include "airpack/fetch.h"
#include "airpack/fsx.h"
#include "airpack/history.h"
#include "airpack/release.h"
#include "airpack/state.h"
#include "airpack/banned.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage; /* options specific to the command */
	bool source;	   /* takes the release-source options */
};

#define COMMON_HELP                                                                                \
	"      --root DIR          install root (default: /)\n"                                    \
	"      --json              one JSON object per event\n"                                    \
	"  -q, --quiet             only errors\n"

static const struct command commands[] = {
	{ "plan", cmd_plan, "show where each component will come from",
	  "usage: airpack-setup plan [SOURCE] [OPTIONS]\n\n"
	  "Checks the release's signature, then looks for every component in the\n"
	  "offline folders (by name and aliases, confirmed by size and sha256) and says\n"
	  "where each will come from and why, and how much must be downloaded.\n"
	  "Exit code 8 when a component is missing and cannot be downloaded.\n",
	  true },
	{ "install", cmd_install, "verify, fetch what is missing, install atomically",
	  "usage: airpack-setup install [SOURCE] [OPTIONS]\n\n"
	  "Installs the release into ROOT/<prefix> as one transaction: everything is\n"
	  "staged and fsynced, then switched in atomically; a failure or kill leaves the\n"
	  "previous install as it was, and a rerun completes. The receipt goes to\n"
	  "ROOT/" AP_STATE_BASE "/<product>/.\n\n"
	  "Run actions run after the switch when the root is this host's (/). With any\n"
	  "other root (an image) they are recorded as pending for firstboot on the\n"
	  "device unless --run-in-root or --run-on-host says otherwise.\n\n"
	  "      --no-run            record run actions as pending (for images; see\n"
	  "                          firstboot) instead of running them\n" SETUP_RUN_HELP
	  "      --allow-downgrade   allow installing an older version\n"
	  "      --force-platform    install a release whose platform is not this\n"
	  "                          host's into this host's root (into any other root\n"
	  "                          it is a warning; without it, exit code 2)\n"
	  "      --repair            reinstall even when the same release verifies\n"
	  "  -v, --verbose           print every file\n",
	  true },
	{ "layout", cmd_layout, "write, check or repair an offline folder of a release",
	  "usage: airpack-setup layout --dir DIR [SOURCE] [--verify | --fix] [--clean]\n\n"
	  "Writes the release into DIR (manifest.json, its signature and the payloads),\n"
	  "downloading only what DIR lacks; a rerun downloads nothing. The folder is\n"
	  "updated so that a half-written release is never under the final names.\n\n"
	  "      --dir DIR           the offline folder\n"
	  "      --verify            only report missing or invalid files (exit code 10)\n"
	  "      --fix               repair missing or invalid files (the default action)\n"
	  "      --clean             remove files the manifest does not name\n",
	  true },
	{ "list", cmd_list, "list every product installed under the root",
	  "usage: airpack-setup list [--root DIR] [--json]\n\n"
	  "One line per installed product: version, channel, install time and where it\n"
	  "is; a release installed without a verified signature says so. Exit code 8\n"
	  "when nothing is installed.\n",
	  false },
	{ "status", cmd_status, "show the installed release",
	  "usage: airpack-setup status [--root DIR] [--product NAME] [--json | --sbom]\n\n"
	  "Product, version, key id, install time, pending actions, components. With\n"
	  "several products installed and no --product, the list of them ('list').\n\n"
	  "      --sbom              print only the installed release's SBOM (SPDX or\n"
	  "                          CycloneDX JSON, kept in the signed manifest)\n",
	  false },
	{ "verify", cmd_verify, "re-hash every installed file against the receipt",
	  "usage: airpack-setup verify [--root DIR] [--product NAME] [--json] [-v]\n\n"
	  "Lists modified, missing and unexpected files and mode changes; exit code 10\n"
	  "when anything differs.\n",
	  false },
	{ "uninstall", cmd_uninstall, "remove exactly what the receipt lists",
	  "usage: airpack-setup uninstall [--root DIR] [--product NAME] [--purge] [--json]\n\n"
	  "Removes the receipt's files and the folders the install created; files you\n"
	  "added are left in place and reported.\n\n"
	  "      --purge             also remove the release's data folders\n",
	  false },
	{ "provision", cmd_provision, "give the installed device its IoT Hub identity",
	  "usage: airpack-setup provision (--connection-string STR|- |\n"
	  "                               --connection-string-file FILE)\n"
	  "                               [--root DIR] [--product NAME] [--proxy URL]\n"
	  "                               [--agent-image IMAGE] [--registry-user USER\n"
	  "                               --registry-password-file FILE|-]\n"
	  "                               [--hostname NAME] [--json]\n\n"
	  "Validates a device connection string (HostName=...;DeviceId=...;\n"
	  "SharedAccessKey=...) and writes the device configuration the installed release\n"
	  "declares (its manifest's 'config' section), atomically, mode 0600, keeping every\n"
	  "other setting of an existing file (or filling the release's template). The\n"
	  "hostname is --hostname, else, on this host's own root, the device's name where\n"
	  "the file has none yet. The key and the password are never shown,\n"
	  "logged or recorded: output shows SharedAccessKey=**** and the key's sha256\n"
	  "prefix. Use '-' to read the string (or the password) from standard input.\n\n"
	  "      --connection-string STR|-     the string, or '-' for standard input (on a\n"
	  "                                    terminal: a prompt, no echo, ends at Enter)\n"
	  "      --connection-string-file FILE read it from FILE (quotes, whitespace and\n"
	  "                                    line endings around it, a UTF-8 byte order\n"
	  "                                    mark and UTF-16LE with one are tolerated)\n"
	  "      --product NAME                the installed product (default: the only one)\n"
	  "      --proxy URL                   the runtime's HTTPS proxy (agent.env.https_proxy)\n"
	  "      --agent-image IMAGE           the edgeAgent image (agent.config.image)\n"
	  "      --registry-user USER          credentials for the agent image's registry\n"
	  "      --registry-password-file FILE|-  the password, from a file or standard input\n"
	  "      --registry-address HOST       the registry (default: the image's registry)\n"
	  "      --hostname NAME               the device's hostname (default: this host's\n"
	  "                                    name where the file has none; an image root\n"
	  "                                    keeps the file's)\n",
	  false },
	{ "log", cmd_log, "show the install and provision history",
	  "usage: airpack-setup log [--root DIR] [--product NAME] [--json] [-v]\n\n"
	  "One line per install, verify, provision, uninstall and firstboot under the root\n"
	  "(ROOT/" AP_HISTORY_PATH ", kept across uninstalls): time, event,\n"
	  "product, version, result and what happened. --json prints the stored JSON\n"
	  "lines; -v adds where each component came from and the other details.\n\n"
	  "      --product NAME      only this product's events\n"
	  "  -v, --verbose           sources and details under each line\n",
	  false },
	{ "versions", cmd_versions, "list the releases a mirror tree offers",
	  "usage: airpack-setup versions --mirror URL [--channel C] [--trust KEY|DIR] [--json]\n\n"
	  "Fetches URL/index.json and its signature, checks the signature against the\n"
	  "trust store (an index signed by a key you do not trust is refused, naming the\n"
	  "key id) and lists each release with its channel, size and manifest sha256.\n\n"
	  "      --mirror URL        a mirror tree (repeatable: the first that answers)\n"
	  "      --channel C         only the releases of channel C\n"
	  "      --trust KEY|DIR     trusted public key(s) (default: " AP_TRUST_DIR ")\n"
	  "      --insecure          list even when the index's signature does not verify\n"
	  "      --proxy URL         HTTP(S) proxy (default: the usual environment vars)\n"
	  "      --cacert FILE       extra CA certificates for HTTPS\n"
	  "      --registry-auth FILE  with --mirror oci://...: registry credentials\n"
	  "                          (docker config.json style)\n"
	  "      --insecure-registry with --mirror oci://...: plain HTTP, no TLS\n\n"
	  "With --mirror oci://HOST[:PORT]/REPO: every tag, with the release it points\n"
	  "at and whether its signature verifies.\n",
	  false },
	{ "firstboot", cmd_firstboot, "run the actions an image install left pending",
	  "usage: airpack-setup firstboot [--root DIR] [--product NAME] [--json]\n\n"
	  "Runs every pending run action (install --no-run, or install --root into an\n"
	  "image, records them) once, in order, and records each result in the receipt.\n"
	  "With nothing pending it says so and exits 0. Exit code 11 when an action fails\n"
	  "(it and the ones after it stay pending). With a --root other than / it runs\n"
	  "nothing unless --run-in-root or --run-on-host is given (exit code 2).\n\n"
	  "      --product NAME      only this product (default: every installed one)\n"
	  "  -v, --verbose           print every event\n" SETUP_RUN_HELP,
	  false },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int setup_print_usage(const char *cmd)
{
	const struct command *c = find_command(cmd);

	if (!c)
		return 0;
	fputs(c->usage, stdout);
	printf("\nShared options:\n");
	if (c->source)
		fputs(setup_source_help, stdout);
	fputs(COMMON_HELP, stdout);
	return 0;
}

static void print_help(FILE *fp, bool sfx)
{
	fprintf(fp, "usage: airpack-setup [--version] [-h|--help] COMMAND [OPTIONS]\n");
	if (sfx)
		fprintf(fp,
			"       %s [OPTIONS]   install the release this setup carries\n"
			"       %s --extract DIR   write it out as an offline folder\n",
			"setup", "setup");
	fprintf(fp, "\nInstalls signed airpack releases: verifies, uses what is local, downloads\n"
		    "only the difference, installs atomically.\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\nRun 'airpack-setup COMMAND --help' for a command's options.\n"
		    "Options, files and exit codes: man airpack-setup (airpack-setup(1)).\n");
}

static void print_version(void)
{
	char *self = NULL;
	bool sfx = setup_is_sfx(&self);

	struct ap_release *r = NULL;
	struct ap_err err = AP_ERR_INIT;

	printf("airpack-setup %s\ntrust folder: %s\n", AP_VERSION, AP_TRUST_DIR);
	if (sfx && ap_release_open(self, &r, &err) == 0) {
		const struct ap_manifest *m = r->manifest;

		/* Named from the manifest it carries; 'plan' checks the signature. */
		printf("carries: %s %s%s%s%s for %s%s (signature not checked here: "
		       "'airpack-setup plan' checks it)\n",
		       m->product, m->version, m->channel ? " (" : "", m->channel ? m->channel : "",
		       m->channel ? ")" : "", m->platform ? m->platform : "any platform",
		       r->sfx_detached ? ", manifest only (payloads beside it or downloaded)" : "");
	} else if (sfx) {
		printf("carries a release it cannot read: %s\n", err.msg);
	}
	ap_release_free(r);
	free(self);
}

int main(int argc, char **argv)
{
	const struct command *c;
	struct ap_err err = AP_ERR_INIT;
	char *self = NULL;
	bool sfx;
	int rc;

	/* libarchive needs a UTF-8 locale for non-ASCII entry names. */
	if (!setlocale(LC_ALL, "C.UTF-8"))
		setlocale(LC_ALL, "");
	/* Windows: argv again from the wide command line, as UTF-8. */
	if (ap_fsx_utf8_args(&argc, &argv, &err) != 0)
		return setup_die(&err);
	sfx = setup_is_sfx(&self);
	free(self);
	if (ap_fetch_global_init(&err) != 0)
		return setup_die(&err);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0 || strcmp(argv[1], "/?") == 0)) {
		if (argc > 2 && find_command(argv[2]))
			rc = setup_print_usage(argv[2]);
		else
			print_help(stdout, sfx);
		rc = 0;
	} else if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		print_version();
		rc = 0;
	} else if (sfx && (argc < 2 || argv[1][0] == '-')) {
		/* A setup run without a command installs (or extracts) itself. */
		if (argc >= 2 && strcmp(argv[1], "--extract") == 0) {
			rc = cmd_extract(argc, argv);
		} else {
			ap_state_set_command("airpack-setup install");
			rc = cmd_install(argc, argv);
		}
	} else if (argc < 2) {
		print_help(stderr, false);
		rc = 2;
	} else {
		c = find_command(argv[1]);
		if (!c) {
			fprintf(stderr, "airpack-setup: error: unknown command '%s'\n", argv[1]);
			print_help(stderr, sfx);
			rc = 2;
		} else {
			char who[96];

			snprintf(who, sizeof(who), "airpack-setup %s", c->name);
			ap_state_set_command(who);
			rc = c->fn(argc - 1, argv + 1);
		}
	}
	ap_fetch_global_cleanup();
	return rc;
}
