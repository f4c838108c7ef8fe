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

#define SECRET_INPUT_MAX (16 * 1024)

enum {
	OPT_PRODUCT = 2000, OPT_CS, OPT_CS_FILE, OPT_RUNTIME_PROXY, OPT_AGENT_IMAGE,
	OPT_REG_ADDRESS, OPT_REG_USER, OPT_REG_PASSWORD_FILE,
};

struct prov_args {
	char *product;
	char *cs_file;             /* --connection-string-file, or "-" */
	char *cs_arg;              /* --connection-string's text in argv (wiped) */
	bool cs_stdin;             /* --connection-string - */
	char *proxy;
	char *agent_image;
	char *reg_address;
	char *reg_user;
	char *reg_password_file;
};

/* Secrets read for this run; wiped and freed by secrets_release. */
struct secrets {
	char *cs;
	size_t cs_len;
	char *pw;
	size_t pw_len;
	struct ap_connstr c;
};

static void secrets_release(struct secrets *s)
{
	ap_secret_free(s->cs, s->cs_len);
	ap_secret_free(s->pw, s->pw_len);
	ap_connstr_release(&s->c);
	memset(s, 0, sizeof(*s));
}

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
		{ NULL, 0, NULL, 0 },
	};
	int c, rc, n_cs = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
		return -setup_usage_error("provision",
					  "--registry-address needs --registry-user");
	if (a->cs_stdin && a->reg_password_file && strcmp(a->reg_password_file, "-") == 0)
		return -setup_usage_error("provision",
					  "the connection string and the registry password cannot "
					  "both come from standard input: put one in a file");
	return 0;
}

/* Validate the settings and read the secrets, before touching anything. */
static int read_inputs(const struct setup_opts *o, struct prov_args *a, struct secrets *s,
		       struct ap_err *err)
{
	int rc;

	if (a->proxy && !ap_setting_proxy_url_valid(a->proxy, err)) {
		ap_err_prefix(err, "--proxy");
		return AP_E_USAGE;
	}
	if (a->agent_image && !ap_setting_image_ref_valid(a->agent_image, err)) {
		ap_err_prefix(err, "--agent-image");
		return AP_E_USAGE;
	}
	if (a->cs_arg) {
		size_t n = strlen(a->cs_arg);

		s->cs = malloc(n + 1);
		if (!s->cs)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		memcpy(s->cs, a->cs_arg, n + 1);
		s->cs_len = n;
		/* Take it out of the process's argument list (ps, /proc). */
		ap_secret_wipe(a->cs_arg, n);
		a->cs_arg = NULL;
		if (!o->quiet)
			setup_warn("a connection string given as an argument can be seen by other "
				   "users and kept in shell history; prefer --connection-string - "
				   "or --connection-string-file FILE");
	} else {
		rc = ap_secret_read(a->cs_stdin ? "-" : a->cs_file, SECRET_INPUT_MAX, &s->cs,
				    &s->cs_len, err);
		if (rc) {
			ap_err_prefix(err, "reading the connection string");
			return rc;
		}
	}
	rc = ap_connstr_parse(s->cs, &s->c, err);
	if (rc) {
		ap_err_prefix(err, "connection string");
		return rc;
	}
	if (s->c.quotes_stripped)
		setup_warn("the connection string was wrapped in quotes: they were removed (the "
			   "runtime expects it without quotes)");
	if (a->reg_password_file) {
		rc = ap_secret_read(a->reg_password_file, SECRET_INPUT_MAX, &s->pw, &s->pw_len,
				    err);
		if (rc) {
			ap_err_prefix(err, "reading the registry password");
			return rc;
		}
		/* A password file ends with a line break; the password does not. */
		for (size_t n = strlen(s->pw); n > 0 && (s->pw[n - 1] == '\n' ||
							  s->pw[n - 1] == '\r'); n--)
			s->pw[n - 1] = '\0';
		if (!s->pw[0])
			return ap_err_set(err, AP_E_USAGE, "the registry password is empty");
	}
	return 0;
}

struct provision_run {
	struct setup_opts *o;
	struct prov_args *a;
	struct secrets *s;
	struct ap_receipt *r;
	struct ap_manifest *m;
	struct ap_iotedge ie;
	struct ap_configure_result res;
};

static void print_result(const struct provision_run *pr)
{
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
	printf("  %-13s/%s (%s)\n", "config:", pr->res.config_path,
	       ap_fsx_access_said(pr->res.config_mode, said, sizeof(said)));
}

static void log_event(const struct provision_run *pr, int rc, const struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field det[10];
	char msg[AP_ERR_MSG_MAX + 256];
	size_t n = 0;

	if (rc == 0) {
		snprintf(msg, sizeof(msg), "device '%s' on hub '%s' (key sha256 %s...): wrote %s",
			 pr->s->c.device_id, pr->s->c.host_name, pr->ie.fingerprint,
			 pr->res.config_path);
		det[n].key = "config_path";
		det[n++].value = pr->res.config_path;
		det[n].key = "config_sha256";
		det[n++].value = pr->res.config_sha256;
		det[n].key = "connection_string";
		det[n++].value = pr->ie.redacted;
		det[n].key = "key_fingerprint";
		det[n++].value = pr->ie.fingerprint;
		if (pr->s->c.quotes_stripped) {
			det[n].key = "quotes_stripped";
			det[n++].value = "yes";
		}
		if (pr->ie.set.agent_image) {
			det[n].key = "agent_image";
			det[n++].value = pr->ie.set.agent_image;
		}
		if (pr->ie.set.registry_user) {
			det[n].key = "registry_user";
			det[n++].value = pr->ie.set.registry_user;
		}
		if (pr->a->proxy) {
			det[n].key = "proxy";
			det[n++].value = pr->ie.proxy;
		}
	} else {
		snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg : "failed");
	}
	ev.type = "provision";
	ev.product = pr->r->product;
	ev.version = pr->r->version;
	ev.key_id = pr->r->key_id;
	ev.ok = rc == 0;
	ev.message = msg;
	ev.files = rc == 0 ? 1 : -1;
	ev.details = det;
	ev.n_details = n;
	lifecycle_log(pr->o, &ev);
}

int cmd_provision(int argc, char **argv)
{
	struct setup_opts o;
	struct prov_args a;
	struct secrets s;
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
	ap_iotedge_init(&pr.ie, &set, &s.c);
	ap_iotedge_hook(&pr.ie, &hook);
	rc = ap_txn_status(root, a.product, &pr.r, &err);
	if (rc == AP_E_NOTFOUND && !a.product)
		ap_err_set(&err, rc, "no product is installed under '%s': install a release, then "
				     "provision it", root);
	if (rc)
		goto fail;
	rc = lifecycle_manifest(root, pr.r->product, &pr.m, &err);
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
	secrets_release(&s);
	ap_manifest_free(pr.m);
	ap_receipt_free(pr.r);
	return rc;
}
