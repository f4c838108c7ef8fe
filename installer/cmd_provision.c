/* cmd_provision.c - airpack-setup provision: give the installed device its
 * cloud identity (an IoT Hub device connection string) by writing the
 * device configuration the release declares.  This file reads the options
 * and the secret inputs and prints; the IoT Edge layer (iotedge/iotedge.h)
 * makes the configuration and the core's configure step
 * (airpack/configure.h) writes it, atomically, under the product's lock.
 *
 * The key and the registry password only ever live in buffers that are
 * wiped before they are freed; output, errors, the history and the
 * provision record show SharedAccessKey=**** and the key's fingerprint. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lifecycle.h"
#include "setup.h"
#include "airpack/fsx.h"
#include "airpack/configure.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/secret.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "iotedge/connstr.h"
#include "iotedge/devconfig.h"
#include "iotedge/iotedge.h"
#include "iotedge/setting.h"
#include "airpack/banned.h"

enum {
	OPT_CS = 2000,
	OPT_CS_FILE,
	OPT_RUNTIME_PROXY,
	OPT_AGENT_IMAGE,
	OPT_REG_ADDRESS,
	OPT_REG_USER,
	OPT_REG_PASSWORD_FILE,
	OPT_HOSTNAME,
};

struct prov_args {
	char *product;
	char *cs_file; /* --connection-string-file, or "-" */
	char *cs_arg;  /* --connection-string's text in argv (wiped) */
	bool cs_stdin; /* --connection-string - */
	char *proxy;
	char *agent_image;
	char *reg_address;
	char *reg_user;
	char *reg_password_file;
	char *hostname;	       /* --hostname */
	char device_name[256]; /* this host's name, on the host's own root */
};

/* Option parsing only (one flat case per option, one check per rule, which
 * is why it is this long): 0, 1 after --help, < 0 (printed) on a usage
 * error. */
static int parse_args(int argc, char **argv, struct setup_opts *o, struct prov_args *a)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ "product", required_argument, NULL, OPT_PRODUCT },
		{ "connection-string", required_argument, NULL, OPT_CS },
		{ "connection-string-file", required_argument, NULL, OPT_CS_FILE },
		{ "proxy", required_argument, NULL, OPT_RUNTIME_PROXY },
		{ "agent-image", required_argument, NULL, OPT_AGENT_IMAGE },
		{ "registry-address", required_argument, NULL, OPT_REG_ADDRESS },
		{ "registry-user", required_argument, NULL, OPT_REG_USER },
		{ "registry-password-file", required_argument, NULL, OPT_REG_PASSWORD_FILE },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc, n_cs = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			setup_print_usage("provision");
			return 1;
		case OPT_PRODUCT:
			a->product = optarg;
			continue;
		case OPT_CS:
			n_cs++;
			if (a->cs_arg)
				ap_secret_wipe(a->cs_arg, strlen(a->cs_arg));
			if (strcmp(optarg, "-") == 0)
				a->cs_stdin = true;
			else
				a->cs_arg = optarg;
			continue;
		case OPT_CS_FILE:
			n_cs++;
			a->cs_file = optarg;
			continue;
		case OPT_RUNTIME_PROXY:
			a->proxy = optarg;
			continue;
		case OPT_AGENT_IMAGE:
			a->agent_image = optarg;
			continue;
		case OPT_REG_ADDRESS:
			a->reg_address = optarg;
			continue;
		case OPT_REG_USER:
			a->reg_user = optarg;
			continue;
		case OPT_REG_PASSWORD_FILE:
			a->reg_password_file = optarg;
			continue;
		case OPT_HOSTNAME:
			a->hostname = optarg;
			continue;
		}
		rc = setup_opt(o, "provision", c, optarg);
		if (rc <= 0)
			return rc < 0 ? -1 : -setup_usage_error("provision", "bad option");
	}
	if (optind < argc)
		return -setup_usage_error("provision", "unexpected argument (arguments are not "
						       "shown: they may hold secrets)");
	if (n_cs != 1)
		return -setup_usage_error("provision", n_cs ? "give the connection string once"
							    : "no connection string: use "
							      "--connection-string - (standard "
							      "input), --connection-string-file "
							      "FILE or --connection-string STR");
	if (a->cs_file && strcmp(a->cs_file, "-") == 0)
		a->cs_stdin = true;
	if ((a->reg_user != NULL) != (a->reg_password_file != NULL))
		return -setup_usage_error("provision", "--registry-user and "
						       "--registry-password-file go together");
	if (a->reg_address && !a->reg_user)
		return -setup_usage_error("provision", "--registry-address needs --registry-user");
	if (a->cs_stdin && a->reg_password_file && strcmp(a->reg_password_file, "-") == 0)
		return -setup_usage_error("provision",
					  "the connection string and the registry password cannot "
					  "both come from standard input: put one in a file");
	return 0;
}

static void (*saved_int)(int), (*saved_term)(int);

/* Interrupted while the echo is off: turn it back on, then die of the
 * signal as before (tcsetattr is async-signal-safe). */
static void restore_echo_and_raise(int sig)
{
	ap_fsx_tty_echo(stdin, true, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* --connection-string - on a terminal: nothing echoes the key, and the
 * prompt says what to type and how to end it. */
static int prompt_begin(struct ap_err *err)
{
	int rc = ap_fsx_tty_echo(stdin, false, err);

	if (rc) {
		ap_err_prefix(err, "reading the connection string from the terminal");
		return rc;
	}
	saved_int = signal(SIGINT, restore_echo_and_raise);
	saved_term = signal(SIGTERM, restore_echo_and_raise);
	fputs("device connection string (HostName=...;DeviceId=...;SharedAccessKey=...),\n"
	      "not shown as you type or paste it; end with Enter: ",
	      stderr);
	fflush(stderr);
	return 0;
}

static void prompt_end(void)
{
	ap_fsx_tty_echo(stdin, true, NULL);
	signal(SIGINT, saved_int == SIG_ERR ? SIG_DFL : saved_int);
	signal(SIGTERM, saved_term == SIG_ERR ? SIG_DFL : saved_term);
	fputc('\n', stderr);
}

/* Check the settings and read the secrets (iotedge/iotedge.h), before
 * touching anything; take a connection string given as an argument out of
 * the process's argument list (ps, /proc) and warn about it. */
static int read_inputs(const struct setup_opts *o, struct prov_args *a,
		       struct ap_iotedge_secrets *s, struct ap_err *err)
{
	struct ap_iotedge_inputs in;
	int rc;

	memset(&in, 0, sizeof(in));
	in.cs_text = a->cs_arg;
	in.cs_file = a->cs_stdin ? "-" : a->cs_file;
	in.proxy = a->proxy;
	in.agent_image = a->agent_image;
	in.hostname = a->hostname;
	in.registry_password_file = a->reg_password_file;
	if (a->cs_stdin && ap_fsx_isatty(stdin)) {
		rc = prompt_begin(err);
		if (rc)
			return rc;
		in.cs_line = true;
	}
	rc = ap_iotedge_read_inputs(&in, s, err);
	if (in.cs_line)
		prompt_end();
	if (a->cs_arg) {
		ap_secret_wipe(a->cs_arg, strlen(a->cs_arg));
		a->cs_arg = NULL;
	}
	if (s->cs_copied && !o->quiet)
		setup_warn("a connection string given as an argument can be seen by other "
			   "users and kept in shell history; prefer --connection-string - "
			   "or --connection-string-file FILE");
	if (s->c.quotes_stripped)
		setup_warn("the connection string was wrapped in quotes: they were removed (the "
			   "runtime expects it without quotes)");
	return rc;
}

struct provision_run {
	struct setup_opts *o;
	struct prov_args *a;
	struct ap_iotedge_secrets *s;
	struct ap_receipt *r;
	struct ap_manifest *m;
	struct ap_iotedge ie;
	struct ap_configure_result res;
};

/* The hostname Initialize-IoTEdge writes: this device's own name, on the
 * host's own root only (an image root is not the device).  A name IoT Edge
 * would refuse is a warning, and the file's hostname stays as it is. */
static const char *device_name(const struct setup_opts *o, struct prov_args *a)
{
	struct ap_err e = AP_ERR_INIT;

	if (ap_fsx_hostname(a->device_name, sizeof(a->device_name), &e) == 0 &&
	    ap_devconfig_hostname_check(a->device_name, "this device's name", &e) == 0)
		return a->device_name;
	a->device_name[0] = '\0';
	if (!o->quiet)
		setup_warn("hostname not set from %s: give --hostname NAME", e.msg);
	return NULL;
}

/* What the result says of the hostname. */
static const char *hostname_said(const struct provision_run *pr, char *buf, size_t size)
{
	if (pr->a->hostname)
		return pr->a->hostname;
	if (pr->ie.set.device_hostname) {
		snprintf(buf, size, "%s, this device's name (a name the file already had is kept)",
			 pr->ie.set.device_hostname);
		return buf;
	}
	return "as the file has it (not the device's own root: give --hostname NAME, or "
	       "provision on the device)";
}

static void print_result(const struct provision_run *pr)
{
	char host[AP_DEVCONFIG_HOSTNAME_MAX + 80];
	const struct setup_opts *o = pr->o;
	char said[64];
	const struct ap_connstr *c = &pr->s->c;

	if (o->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "result");
		ap_json_str(&j, "product", pr->r->product);
		ap_json_str(&j, "version", pr->r->version);
		ap_json_str(&j, "host_name", c->host_name);
		ap_json_str(&j, "device_id", c->device_id);
		ap_json_str(&j, "gateway_host_name", c->gateway_host_name);
		ap_json_str(&j, "connection_string", pr->ie.redacted);
		ap_json_str(&j, "key_fingerprint", pr->ie.fingerprint);
		ap_json_bool(&j, "quotes_stripped", c->quotes_stripped);
		ap_json_str(&j, "config_path", pr->res.config_path);
		ap_json_str(&j, "config_sha256", pr->res.config_sha256);
		ap_json_str(&j, "agent_image", pr->ie.set.agent_image);
		ap_json_str(&j, "registry_address", pr->ie.set.registry_address);
		ap_json_str(&j, "registry_user", pr->ie.set.registry_user);
		ap_json_str(&j, "proxy", pr->a->proxy ? pr->ie.proxy : NULL);
		ap_json_str(&j, "hostname",
			    pr->a->hostname ? pr->a->hostname : pr->ie.set.device_hostname);
		ap_json_bool(&j, "ok", true);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	printf("provisioned %s %s under %s\n", pr->r->product, pr->r->version, setup_root(o));
	printf("  %-13s%s\n", "hub:", c->host_name);
	printf("  %-13s%s\n", "device id:", c->device_id);
	if (c->gateway_host_name)
		printf("  %-13s%s\n", "gateway:", c->gateway_host_name);
	printf("  %-13sSharedAccessKey=**** (sha256 %s...)\n", "key:", pr->ie.fingerprint);
	printf("  %-13s%s\n", "connection:", pr->ie.redacted);
	if (pr->ie.set.agent_image)
		printf("  %-13s%s\n", "agent image:", pr->ie.set.agent_image);
	if (pr->ie.set.registry_user)
		printf("  %-13s%s (password set)\n", "registry:", pr->ie.set.registry_user);
	if (pr->a->proxy)
		printf("  %-13s%s\n", "proxy:", pr->ie.proxy);
	printf("  %-13s%s\n", "hostname:", hostname_said(pr, host, sizeof(host)));
	printf("  %-13s/%s (%s)\n", "config:", pr->res.config_path,
	       ap_fsx_access_said(pr->res.config_mode, said, sizeof(said)));
}

static void log_event(const struct provision_run *pr, int rc, const struct ap_err *err)
{
	struct ap_history_field det[AP_IOTEDGE_N_DETAILS];
	char msg[AP_IOTEDGE_MESSAGE_MAX] = "";
	size_t n = 0;

	if (rc == 0)
		n = ap_iotedge_event(&pr->ie, &pr->res, msg, det);
	lifecycle_log_configure(pr->o, pr->r, rc, msg, det, n, err);
}

int cmd_provision(int argc, char **argv)
{
	struct setup_opts o;
	struct prov_args a;
	struct ap_iotedge_secrets s;
	struct provision_run pr;
	struct ap_devconfig_settings set = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_configure_hook hook;
	struct ap_err err = AP_ERR_INIT;
	const char *root;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	memset(&pr, 0, sizeof(pr));
	rc = parse_args(argc, argv, &o, &a);
	if (rc > 0)
		return 0;
	if (rc < 0) {
		if (a.cs_arg)
			ap_secret_wipe(a.cs_arg, strlen(a.cs_arg));
		return 2;
	}
	root = setup_root(&o);
	pr.o = &o;
	pr.a = &a;
	pr.s = &s;
	rc = read_inputs(&o, &a, &s, &err);
	if (rc)
		goto fail;
	set.connection_string = s.cs;
	set.agent_image = a.agent_image;
	set.registry_address = a.reg_address;
	set.registry_user = a.reg_user;
	set.registry_password = s.pw;
	set.proxy_url = a.proxy;
	set.hostname = a.hostname;
	if (!a.hostname && ap_txn_root_is_host(root))
		set.device_hostname = device_name(&o, &a);
	ap_iotedge_init(&pr.ie, &set, &s.c);
	ap_iotedge_hook(&pr.ie, &hook);
	rc = ap_txn_status(root, a.product, &pr.r, &err);
	if (rc == AP_E_NOTFOUND && !a.product)
		ap_err_set(&err, rc,
			   "no product is installed under '%s': install a release, then "
			   "provision it",
			   root);
	if (rc)
		goto fail;
	rc = ap_lifecycle_manifest(root, pr.r->product, &pr.m, &err);
	if (rc == 0)
		rc = ap_configure_run(root, pr.m, &pr.r, &hook, &pr.res, &err);
	log_event(&pr, rc, &err);
	if (rc)
		goto fail;
	print_result(&pr);
	goto out;
fail:
	rc = setup_die(&err);
out:
	ap_iotedge_secrets_release(&s);
	ap_manifest_free(pr.m);
	ap_receipt_free(pr.r);
	return rc;
}
