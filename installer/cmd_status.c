/* cmd_status.c - airpack-setup status: what is installed under a root. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "setup.h"
#include "airpack/freshness.h"
#include "airpack/fsx.h"
#include "lifecycle.h"
#include "airpack/receipt.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "airpack/sbom.h"
#include "airpack/banned.h"

enum {
	OPT_SBOM = 2000
};

static void iso_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%lld", (long long)t);
}

/* Files of one component, and the state of its run action if any. */
static size_t count_files(const struct ap_receipt *r, const char *component, uint64_t *bytes)
{
	size_t n = 0;

	*bytes = 0;
	for (size_t i = 0; i < r->n_files; i++) {
		if (strcmp(r->files[i].component, component) == 0) {
			n++;
			*bytes += r->files[i].size;
		}
	}
	return n;
}

static const char *run_state(const struct ap_receipt *r, const char *component, int *code)
{
	for (size_t i = 0; i < r->n_pending; i++)
		if (strcmp(r->pending[i].component, component) == 0)
			return "pending";
	for (size_t i = r->n_actions; i-- > 0;) {
		if (strcmp(r->actions[i].component, component) == 0) {
			*code = r->actions[i].exit_code;
			if (r->actions[i].restart_required)
				return "restart_required";
			return r->actions[i].ok ? "ran" : "failed";
		}
	}
	return NULL;
}

/* Component names in manifest order when the installed manifest can be
 * read, else in the order their files first appear in the receipt. */
static size_t components(const struct ap_receipt *r, const struct ap_manifest *m,
			 const char **names, size_t max)
{
	size_t n = 0;

	if (m) {
		for (size_t i = 0; i < m->n_components && n < max; i++)
			names[n++] = m->components[i].name;
		return n;
	}
	for (size_t i = 0; i < r->n_files; i++) {
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			if (strcmp(names[k], r->files[i].component) == 0)
				seen = true;
		if (!seen && n < max)
			names[n++] = r->files[i].component;
	}
	return n;
}

/* Where the prefix is on this machine: under the root, made absolute. */
static char *installed_path(const char *root, const char *prefix)
{
	char *aroot = NULL, *path;

	if (ap_fsx_abspath(root, &aroot, NULL) != 0)
		return NULL;
	path = ap_fsx_path_join(aroot, prefix);
	free(aroot);
	return path;
}

/* Prints the status report field by field in the documented order; long, but a flat list. */
static void print_status(const struct setup_opts *o, const struct ap_receipt *r,
			 const struct ap_manifest *m, const struct lc_provisioning *ps)
{
	const char *names[256];
	size_t n = components(r, m, names, 256);
	char when[64], sz[32];

	char *highest = NULL, *where;
	int64_t root_version = 0;
	struct ap_err ferr = AP_ERR_INIT;

	iso_time(r->installed_at, when, sizeof(when));
	where = installed_path(setup_root(o), r->prefix);
	/* What this device will not go below (freshness.h). */
	if (ap_freshness_get(setup_root(o), r->product, &highest, &root_version, &ferr) < 0)
		highest = NULL;
	if (o->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", r->product);
		ap_json_str(&j, "version", r->version);
		ap_json_str(&j, "channel", r->channel);
		ap_json_str(&j, "pinned_version", r->pinned_version);
		ap_json_str(&j, "key_id", r->key_id);
		ap_json_bool(&j, "signature_verified", !r->insecure);
		ap_json_str(&j, "manifest_sha256", r->manifest_sha256);
		ap_json_str(&j, "prefix", r->prefix);
		ap_json_str(&j, "path", where);
		ap_json_str(&j, "installed_at", when);
		ap_json_str(&j, "freshness", r->freshness);
		ap_json_str(&j, "highest_accepted", highest);
		ap_json_int(&j, "root_version", root_version);
		ap_json_u64(&j, "files", r->n_files);
		ap_json_arr_begin(&j, "components");
		for (size_t i = 0; i < n; i++) {
			uint64_t bytes;
			int code = 0;
			const char *st = run_state(r, names[i], &code);
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "name", names[i]);
			ap_json_u64(&j, "files", count_files(r, names[i], &bytes));
			ap_json_u64(&j, "bytes", bytes);
			ap_json_str(&j, "state", st ? st : "installed");
			if (st && strcmp(st, "pending") != 0)
				ap_json_int(&j, "exit_code", code);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		ap_json_arr_begin(&j, "pending");
		for (size_t i = 0; i < r->n_pending; i++)
			ap_json_arr_str(&j, r->pending[i].component);
		ap_json_arr_end(&j);
		ap_json_arr_begin(&j, "services");
		for (size_t i = 0; i < r->n_services; i++) {
			char state[64];

			ap_txn_service_state(setup_root(o), r, &r->services[i], state,
					     sizeof(state));
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "name", r->services[i].name);
			ap_json_str(&j, "component", r->services[i].component);
			ap_json_bool(&j, "registered", r->services[i].registered);
			ap_json_str(&j, "state", state);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		lifecycle_provisioning_json(&j, ps);
		ap_json_end(&j);
		free(highest);
		free(where);
		return;
	}
	printf("product:      %s\n", r->product);
	printf("version:      %s%s%s%s\n", r->version, r->channel ? " (" : "",
	       r->channel ? r->channel : "", r->channel ? ")" : "");
	if (r->pinned_version)
		printf("pinned:       %s\n", r->pinned_version);
	printf("key id:       %s\n", r->key_id ? r->key_id : "(none)");
	if (r->insecure)
		printf("signature:    not verified: the release was installed with --insecure "
		       "without a verified signature\n");
	printf("installed at: %s\n", when);
	if (r->freshness)
		printf("freshness:    %s\n", r->freshness);
	if (highest)
		printf("highest:      %s (the highest version this device accepted)\n", highest);
	if (root_version)
		printf("trust:        root of trust version %lld\n", (long long)root_version);
	free(highest);
	printf("prefix:       %s\n", where ? where : r->prefix);
	free(where);
	printf("files:        %zu\n", r->n_files);
	printf("components:\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes;
		int code = 0;
		size_t nf = count_files(r, names[i], &bytes);
		const char *st = run_state(r, names[i], &code);
		printf("  %-20s %zu file%s, %s", names[i], nf, nf == 1 ? "" : "s",
		       ap_ui_human_size(bytes, sz, sizeof(sz)));
		if (st && strcmp(st, "pending") == 0)
			printf(", run action pending");
		else if (st && strcmp(st, "restart_required") == 0)
			printf(", run action ran (exit code %d): restart required", code);
		else if (st)
			printf(", run action %s (exit code %d)", st, code);
		printf("\n");
	}
	if (r->n_pending) {
		printf("pending first-boot actions:");
		for (size_t i = 0; i < r->n_pending; i++)
			printf(" %s", r->pending[i].component);
		printf("\n");
	}
	if (r->n_services)
		printf("services:\n");
	for (size_t i = 0; i < r->n_services; i++) {
		char state[64];

		ap_txn_service_state(setup_root(o), r, &r->services[i], state, sizeof(state));
		printf("  %-20s %s (%s)\n", r->services[i].name, state, r->services[i].component);
	}
	lifecycle_provisioning_print(ps);
}

/* The SBOM of the installed release, from the signed manifest the install
 * keeps in its state folder; takes r. */
static int print_sbom(const struct setup_opts *o, struct ap_receipt *r)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = ap_lifecycle_manifest(setup_root(o), r->product, &m, &err);
	if (rc == 0) {
		rc = ap_sbom_pretty(m->sbom, &text, &len, &err);
		if (rc)
			ap_err_prefix(&err, "installed release of '%s'", r->product);
	}
	if (rc == 0)
		fwrite(text, 1, len, stdout);
	free(text);
	ap_manifest_free(m);
	ap_receipt_free(r);
	return rc ? setup_die(&err) : 0;
}

static int status_opt(void *ctx, int id, const char *arg)
{
	(void)arg;
	if (id != OPT_SBOM)
		return 0;
	*(bool *)ctx = true;
	return 1;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ "product", required_argument, NULL, OPT_PRODUCT },
		{ "sbom", no_argument, NULL, OPT_SBOM },
		{ NULL, 0, NULL, 0 },
	};
	bool sbom = false;
	struct setup_opts o;
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r = NULL;
	struct ap_manifest *m = NULL;
	struct lc_provisioning ps;
	const char *product;
	int rc;

	rc = setup_parse(&o, "status", argc, argv, "q", opts, status_opt, &sbom);
	if (rc >= 0)
		return rc;
	product = o.product;
	if (sbom && o.json)
		return setup_usage_error("status",
					 "--json and --sbom: give one (the SBOM is JSON)");
	if (!product && !sbom) {
		char **names = NULL;
		size_t n = 0;

		if (ap_txn_list_products(setup_root(&o), &names, &n, &err) == 0 && n > 1) {
			ap_fsx_strv_free(names, n);
			return setup_list_products(&o);
		}
		ap_fsx_strv_free(names, n);
		ap_err_clear(&err);
	}
	rc = ap_txn_status(setup_root(&o), product, &r, &err);
	if (rc) {
		if (rc == AP_E_NOTFOUND && !product) {
			if (o.json) {
				struct ap_json j;

				ap_json_begin(&j, stdout);
				ap_json_bool(&j, "installed", false);
				ap_json_end(&j);
			} else {
				printf("nothing installed under %s\n", setup_root(&o));
			}
			return ap_err_exit_code(AP_E_NOTFOUND);
		}
		return setup_die(&err);
	}
	if (sbom)
		return print_sbom(&o, r);
	rc = lifecycle_provisioning(setup_root(&o), r, &ps, &err);
	if (rc) {
		ap_receipt_free(r);
		return setup_die(&err);
	}
	/* The installed manifest only orders the components: without it the
	 * receipt alone still tells the status. */
	if (ap_lifecycle_manifest(setup_root(&o), r->product, &m, NULL) != 0)
		m = NULL;
	print_status(&o, r, m, &ps);
	ap_manifest_free(m);
	lifecycle_provisioning_release(&ps);
	ap_receipt_free(r);
	return 0;
}
