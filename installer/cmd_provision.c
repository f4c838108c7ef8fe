/* cmd_provision.c - airpack-setup provision: give the installed device its
 * cloud identity (an IoT Hub device connection string) by writing the
 * device configuration the release declares, atomically, mode 0600.
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
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/provision.h"
#include "airpack/receipt.h"
#include "airpack/state.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "airpack/testhook.h"
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
	char *existing; /* the current configuration file */
	size_t existing_len;
	char *yaml;     /* what is written */
	size_t yaml_len;
	struct ap_connstr c;
};

static void secrets_release(struct secrets *s)
{
	ap_secret_free(s->cs, s->cs_len);
	ap_secret_free(s->pw, s->pw_len);
	ap_secret_free(s->existing, s->existing_len);
	ap_secret_free(s->yaml, s->yaml_len);
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
				ap_wipe(a->cs_arg, strlen(a->cs_arg));
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

	if (a->proxy && !ap_proxy_url_valid(a->proxy, err))
		return ap_err_prefix(err, "--proxy");
	if (a->agent_image && !ap_image_ref_valid(a->agent_image, err))
		return ap_err_prefix(err, "--agent-image");
	if (a->cs_arg) {
		size_t n = strlen(a->cs_arg);

		s->cs = malloc(n + 1);
		if (!s->cs)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		memcpy(s->cs, a->cs_arg, n + 1);
		s->cs_len = n;
		/* Take it out of the process's argument list (ps, /proc). */
		ap_wipe(a->cs_arg, n);
		a->cs_arg = NULL;
		if (!o->quiet)
			setup_warn("a connection string given as an argument can be seen by other "
				   "users and kept in shell history; prefer --connection-string - "
				   "or --connection-string-file FILE");
	} else {
		rc = lifecycle_read_secret(a->cs_stdin ? "-" : a->cs_file, SECRET_INPUT_MAX, &s->cs,
					   &s->cs_len, err);
		if (rc)
			return ap_err_prefix(err, "reading the connection string");
	}
	rc = ap_connstr_parse(s->cs, &s->c, err);
	if (rc)
		return ap_err_prefix(err, "connection string");
	if (s->c.quotes_stripped)
		setup_warn("the connection string was wrapped in quotes: they were removed (the "
			   "runtime expects it without quotes)");
	if (a->reg_password_file) {
		rc = lifecycle_read_secret(a->reg_password_file, SECRET_INPUT_MAX, &s->pw,
					   &s->pw_len, err);
		if (rc)
			return ap_err_prefix(err, "reading the registry password");
		/* A password file ends with a line break; the password does not. */
		for (size_t n = strlen(s->pw); n > 0 && (s->pw[n - 1] == '\n' ||
							  s->pw[n - 1] == '\r'); n--)
			s->pw[n - 1] = '\0';
		if (!s->pw[0])
			return ap_err_set(err, AP_E_USAGE, "the registry password is empty");
	}
	return 0;
}

/* Where the template component's payload was installed (relative to the
 * root), as the receipt lists it. */
static int template_file(const struct ap_manifest *m, const struct ap_receipt *r,
			 const struct ap_receipt_file **out, struct ap_err *err)
{
	const struct ap_component *c = ap_manifest_find(m, m->config.template);
	const struct ap_receipt_file *f = NULL;
	char *rel;

	if (!c)
		return ap_err_set(err, AP_E_MANIFEST,
				  "config.template names '%s', which is not a component of the "
				  "release", m->config.template);
	if (c->action == AP_ACTION_EXTRACT) {
		size_t n = 0;

		for (size_t i = 0; i < r->n_files; i++) {
			if (strcmp(r->files[i].component, c->name) == 0) {
				f = &r->files[i];
				n++;
			}
		}
		if (n != 1)
			return ap_err_set(err, AP_E_MANIFEST,
					  "config.template '%s' is an extract component with %zu "
					  "files: expected exactly one", c->name, n);
	} else {
		rel = ap_path_join(r->prefix, ap_component_dest(c));
		if (!rel)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		f = ap_receipt_find_file(r, rel);
		free(rel);
	}
	if (!f)
		return ap_err_set(err, AP_E_STATE,
				  "the receipt lists no installed file for the template component "
				  "'%s': run 'airpack-setup install --repair'", c->name);
	*out = f;
	return 0;
}

static int read_template(const char *root, const struct ap_manifest *m,
			 const struct ap_receipt *r, char **buf, size_t *len, struct ap_err *err)
{
	const struct ap_receipt_file *f = NULL;
	char hex[AP_SHA256_HEX];
	char *abs;
	int rc;

	rc = template_file(m, r, &f, err);
	if (rc)
		return rc;
	abs = ap_path_join(root, f->path);
	if (!abs)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_read_file(abs, AP_DEVCONFIG_MAX_YAML, buf, len, err);
	if (rc == 0) {
		/* The template comes from the signed release: use it only as installed. */
		ap_sha256_hex(*buf, *len, hex);
		if (!ap_sha256_eq(hex, f->sha256)) {
			rc = ap_err_set(err, AP_E_DIGEST,
					"the installed template '%s' has sha256 %s, the receipt "
					"says %s: run 'airpack-setup install --repair' to restore "
					"it",
					abs, hex, f->sha256);
			free(*buf);
			*buf = NULL;
		}
	}
	free(abs);
	return rc;
}

static int add_dir(char ***dirs, size_t *n, const char *d, struct ap_err *err)
{
	char **nd;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*dirs)[i], d) == 0)
			return 0;
	nd = realloc(*dirs, (*n + 2) * sizeof(*nd));
	if (!nd)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	*dirs = nd;
	nd[*n] = strdup(d);
	if (!nd[*n])
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	nd[++(*n)] = NULL;
	return 0;
}

/* Create the configuration's folder, noting which folders did not exist
 * (outermost first) so uninstall can remove them.  Folders an earlier
 * provision created stay on the list. */
static int make_config_dir(const char *root, const char *rel,
			   const struct ap_provision_record *prev, char ***dirs, size_t *n,
			   struct ap_err *err)
{
	char *d = ap_path_dirname(rel);
	int rc = 0;

	*dirs = NULL;
	*n = 0;
	if (!d)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	for (size_t i = 0; prev && strcmp(prev->config_path, rel) == 0 &&
			   i < prev->n_created_dirs && rc == 0; i++)
		rc = add_dir(dirs, n, prev->created_dirs[i], err);
	for (char *p = d; rc == 0 && strcmp(d, ".") != 0; p++) {
		char save = *p;
		char *sub;

		if (save != '/' && save != '\0')
			continue;
		*p = '\0';
		sub = ap_path_join(root, d);
		if (!sub) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		} else if (!ap_fsx_is_dir(sub)) {
			rc = ap_fsx_mkdir_p(sub, 0755, err);
			if (rc == 0)
				rc = add_dir(dirs, n, d, err);
		}
		free(sub);
		*p = save;
		if (save == '\0')
			break;
	}
	if (rc) {
		ap_strv_free(*dirs, *n);
		*dirs = NULL;
		*n = 0;
	}
	free(d);
	return rc;
}

/* Test hook: AP_PROVISION_CRASH_AT=record|config dies (as a kill -9 would)
 * right after the provision record, or the configuration, was written. */
static void crash_at(const char *name)
{
	if (ap_testhook_is("AP_PROVISION_CRASH_AT", name))
		_Exit(137);
}

/* Test hook: AP_PROVISION_CRASH_AT=write dies (as a kill -9 would) with half
 * the configuration in the temporary file, before the rename. */
static int write_config(const char *abs, const char *data, size_t len, unsigned mode,
			struct ap_err *err)
{
	const char *at = ap_testhook("AP_PROVISION_CRASH_AT");
	struct ap_afile f = AP_AFILE_INIT;
	int rc;

	if (!at || strcmp(at, "write") != 0)
		return ap_fsx_write_atomic(abs, data, len, mode, err);
	rc = ap_afile_open(&f, abs, mode, err);
	if (rc == 0)
		rc = ap_afile_write(&f, data, len / 2, err);
	if (rc == 0) {
		fflush(f.fp);
		_Exit(137);
	}
	ap_afile_abort(&f);
	return rc;
}

struct provision_run {
	struct setup_opts *o;
	struct prov_args *a;
	struct secrets *s;
	struct ap_receipt *r;
	struct ap_manifest *m;
	struct ap_provision_record rec;
	char redacted[AP_CONNSTR_REDACTED_MAX];
	char fingerprint[AP_KEY_FINGERPRINT_LEN];
	char proxy[1024];
	char *config_abs;
};

static int do_provision(struct provision_run *pr, struct ap_err *err)
{
	const char *root = setup_root(pr->o);
	struct ap_devconfig_settings set = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_provision_record *prev = NULL;
	struct ap_txn_opts to = AP_TXN_OPTS_INIT;
	struct ap_receipt *locked = NULL;
	struct secrets *s = pr->s;
	struct ap_state state;
	struct ap_stat st;
	char *receipt = NULL, *tmpl = NULL;
	char **temps = NULL;
	size_t tlen = 0;
	int rc;

	if (!pr->m->has_config)
		return ap_err_set(err, AP_E_MANIFEST,
				  "%s %s declares no device configuration (its manifest has no "
				  "'config' section): there is nothing to provision",
				  pr->m->product, pr->m->version);
	if (!ap_manifest_safe_relpath(pr->m->config.path, false))
		return ap_err_set(err, AP_E_UNSAFE, "config.path '%s' is not a safe relative path",
				  pr->m->config.path);
	rc = ap_state_init(&state, root, pr->r->product, err);
	if (rc)
		return rc;
	receipt = ap_state_file(&state, "receipt.json", NULL);
	pr->config_abs = ap_path_join(root, pr->m->config.path);
	if (!receipt || !pr->config_abs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	/* The product's lock keeps install and uninstall out while we write;
	 * taking it finishes or undoes an interrupted install first. */
	to.root = root;
	rc = ap_txn_lock(&state, AP_STATE_WRITE, &to, err);
	if (rc < 0)
		goto out;
	rc = ap_receipt_load(receipt, &locked, err);
	if (rc)
		goto out;
	ap_receipt_free(pr->r);
	pr->r = locked;
	rc = ap_fsx_stat(pr->config_abs, &st, err);
	if (rc)
		goto out;
	if (st.type != AP_FT_NONE && st.type != AP_FT_FILE) {
		rc = ap_err_set(err, AP_E_STATE,
				"'%s' is not a regular file: refusing to replace it with the "
				"device configuration", pr->config_abs);
		goto out;
	}
	if (st.type == AP_FT_FILE) {
		rc = lifecycle_read_secret(pr->config_abs, AP_DEVCONFIG_MAX_YAML, &s->existing,
					   &s->existing_len, err);
		if (rc)
			goto out;
	} else if (pr->m->config.template) {
		rc = read_template(root, pr->m, pr->r, &tmpl, &tlen, err);
		if (rc)
			goto out;
	}
	set.connection_string = s->cs;
	set.agent_image = pr->a->agent_image;
	set.registry_address = pr->a->reg_address;
	set.registry_user = pr->a->reg_user;
	set.registry_password = s->pw;
	set.proxy_url = pr->a->proxy;
	rc = ap_devconfig_apply(tmpl, tlen, s->existing, s->existing ? s->existing_len : 0, &set,
				&s->yaml, &s->yaml_len, err);
	if (rc) {
		if (rc == AP_E_STATE)
			ap_err_prefix(err, "'%s'", pr->config_abs);
		else if (rc == AP_E_MANIFEST)
			ap_err_prefix(err, "the release's template '%s'", pr->m->config.template);
		goto out;
	}
	rc = ap_history_load_provision(root, pr->r->product, &prev, err);
	if (rc && rc != AP_E_NOTFOUND)
		goto out;
	ap_err_clear(err);
	rc = make_config_dir(root, pr->m->config.path, prev, &pr->rec.created_dirs,
			     &pr->rec.n_created_dirs, err);
	if (rc)
		goto out;
	/* What an earlier, interrupted provision left may hold a key. */
	rc = lifecycle_config_temps(root, pr->m->config.path, &temps, err);
	for (size_t i = 0; rc == 0 && temps[i]; i++) {
		char *t = ap_path_join(root, temps[i]);

		rc = t ? ap_fsx_unlink(t, err) : ap_err_set(err, AP_E_NOMEM, "out of memory");
		free(t);
	}
	if (rc)
		goto out;
	ap_sha256_hex(s->yaml, s->yaml_len, pr->rec.config_sha256);
	pr->rec.product = pr->r->product;
	pr->rec.version = pr->r->version;
	pr->rec.config_path = pr->m->config.path;
	pr->rec.config_mode = pr->m->config.mode;
	pr->rec.host_name = s->c.host_name;
	pr->rec.device_id = s->c.device_id;
	pr->rec.gateway_host_name = s->c.gateway_host_name;
	pr->rec.key_fingerprint = pr->fingerprint;
	pr->rec.agent_image = pr->a->agent_image;
	pr->rec.registry_address = pr->a->reg_address;
	pr->rec.registry_user = pr->a->reg_user;
	pr->rec.proxy = pr->a->proxy ? pr->proxy : NULL;
	pr->rec.provisioned_at = ap_fsx_now();
	/* The record first, then the file holding the key: whatever moment a
	 * kill comes, a key airpack wrote is named by a record, so uninstall
	 * removes it (with its temporary files).  A record whose file was
	 * never written shows as a changed configuration, and a rerun
	 * writes both again. */
	rc = ap_history_save_provision(root, &pr->rec, err);
	if (rc == 0)
		crash_at("record");
	if (rc == 0)
		rc = write_config(pr->config_abs, s->yaml, s->yaml_len, pr->m->config.mode, err);
	if (rc == 0)
		crash_at("config");
out:
	ap_provision_record_free(prev);
	ap_strv_free(temps, 0);
	free(tmpl);
	free(receipt);
	ap_state_release(&state);
	return rc;
}

static void print_result(const struct provision_run *pr)
{
	const struct setup_opts *o = pr->o;
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
		ap_json_str(&j, "connection_string", pr->redacted);
		ap_json_str(&j, "key_fingerprint", pr->fingerprint);
		ap_json_bool(&j, "quotes_stripped", c->quotes_stripped);
		ap_json_str(&j, "config_path", pr->rec.config_path);
		ap_json_str(&j, "config_sha256", pr->rec.config_sha256);
		ap_json_str(&j, "agent_image", pr->rec.agent_image);
		ap_json_str(&j, "registry_address", pr->rec.registry_address);
		ap_json_str(&j, "registry_user", pr->rec.registry_user);
		ap_json_str(&j, "proxy", pr->rec.proxy);
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
	printf("  %-13sSharedAccessKey=**** (sha256 %s...)\n", "key:", pr->fingerprint);
	printf("  %-13s%s\n", "connection:", pr->redacted);
	if (pr->rec.agent_image)
		printf("  %-13s%s\n", "agent image:", pr->rec.agent_image);
	if (pr->rec.registry_user)
		printf("  %-13s%s (password set)\n", "registry:", pr->rec.registry_user);
	if (pr->rec.proxy)
		printf("  %-13s%s\n", "proxy:", pr->rec.proxy);
	printf("  %-13s/%s (mode %04o)\n", "config:", pr->rec.config_path, pr->rec.config_mode);
}

static void log_event(const struct provision_run *pr, int rc, const struct ap_err *err)
{
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field det[10];
	char msg[AP_ERR_MSG_MAX + 256];
	size_t n = 0;

	if (rc == 0) {
		snprintf(msg, sizeof(msg), "device '%s' on hub '%s' (key sha256 %s...): wrote %s",
			 pr->s->c.device_id, pr->s->c.host_name, pr->fingerprint,
			 pr->rec.config_path);
		det[n].key = "config_path";
		det[n++].value = pr->rec.config_path;
		det[n].key = "config_sha256";
		det[n++].value = pr->rec.config_sha256;
		det[n].key = "connection_string";
		det[n++].value = pr->redacted;
		det[n].key = "key_fingerprint";
		det[n++].value = pr->fingerprint;
		if (pr->s->c.quotes_stripped) {
			det[n].key = "quotes_stripped";
			det[n++].value = "yes";
		}
		if (pr->rec.agent_image) {
			det[n].key = "agent_image";
			det[n++].value = pr->rec.agent_image;
		}
		if (pr->rec.registry_user) {
			det[n].key = "registry_user";
			det[n++].value = pr->rec.registry_user;
		}
		if (pr->rec.proxy) {
			det[n].key = "proxy";
			det[n++].value = pr->rec.proxy;
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
			ap_wipe(a.cs_arg, strlen(a.cs_arg));
		return 2;
	}
	root = setup_root(&o);
	pr.o = &o;
	pr.a = &a;
	pr.s = &s;
	rc = read_inputs(&o, &a, &s, &err);
	if (rc)
		goto fail;
	ap_connstr_redacted(&s.c, pr.redacted, sizeof(pr.redacted));
	ap_connstr_key_fingerprint(&s.c, pr.fingerprint);
	if (a.proxy)
		ap_proxy_url_redacted(a.proxy, pr.proxy, sizeof(pr.proxy));
	rc = ap_txn_status(root, a.product, &pr.r, &err);
	if (rc == AP_E_NOTFOUND && !a.product)
		ap_err_set(&err, rc, "no product is installed under '%s': install a release, then "
				     "provision it", root);
	if (rc)
		goto fail;
	rc = lifecycle_manifest(root, pr.r->product, &pr.m, &err);
	if (rc == 0)
		rc = do_provision(&pr, &err);
	log_event(&pr, rc, &err);
	if (rc)
		goto fail;
	print_result(&pr);
	goto out;
fail:
	rc = setup_die(&err);
out:
	secrets_release(&s);
	ap_strv_free(pr.rec.created_dirs, pr.rec.n_created_dirs);
	free(pr.config_abs);
	ap_manifest_free(pr.m);
	ap_receipt_free(pr.r);
	return rc;
}
