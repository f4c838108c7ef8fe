/* cmd_list.c - airpack-setup list: every product installed under a root,
 * one line each (status without --product prints the same when there are
 * several). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "setup.h"
#include "airpack/fsx.h"
#include "airpack/receipt.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

static void iso_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%lld", (long long)t);
}

static void print_one(const struct setup_opts *o, struct ap_json *j, const struct ap_receipt *r,
		      const char *path)
{
	char when[64];

	iso_time(r->installed_at, when, sizeof(when));
	if (o->json) {
		ap_json_arr_item_begin(j);
		ap_json_str(j, "product", r->product);
		ap_json_str(j, "version", r->version);
		ap_json_str(j, "channel", r->channel);
		ap_json_str(j, "pinned_version", r->pinned_version);
		ap_json_str(j, "prefix", r->prefix);
		ap_json_str(j, "path", path);
		ap_json_str(j, "installed_at", when);
		ap_json_str(j, "key_id", r->key_id);
		ap_json_bool(j, "signature_verified", !r->insecure);
		ap_json_u64(j, "files", r->n_files);
		ap_json_u64(j, "pending", r->n_pending);
		ap_json_arr_item_end(j);
		return;
	}
	printf("%-20s %-12s %-8s %s  %s%s%s\n", r->product, r->version,
	       r->channel ? r->channel : "-", when, path ? path : r->prefix,
	       r->n_pending ? "  (actions pending)" : "",
	       r->insecure ? "  (signature not verified: --insecure)" : "");
}

int setup_list_products(const struct setup_opts *o)
{
	const char *root = setup_root(o);
	struct ap_err err = AP_ERR_INIT;
	struct ap_json j;
	char **names = NULL, *aroot = NULL;
	size_t n = 0;
	int rc;

	rc = ap_txn_list_products(root, &names, &n, &err);
	if (rc)
		return setup_die(&err);
	if (ap_fsx_abspath(root, &aroot, &err) != 0) {
		ap_fsx_strv_free(names, n);
		return setup_die(&err);
	}
	if (o->json) {
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "root", aroot);
		ap_json_arr_begin(&j, "products");
	} else if (n == 0) {
		printf("nothing installed under %s\n", root);
	} else {
		printf("%-20s %-12s %-8s %-20s  %s\n", "PRODUCT", "VERSION", "CHANNEL",
		       "INSTALLED AT", "PATH");
	}
	for (size_t i = 0; i < n; i++) {
		struct ap_receipt *r = NULL;
		char *path;

		/* One that cannot be read is named, the others still listed. */
		if (ap_txn_status(root, names[i], &r, &err) != 0) {
			setup_warn("'%s': %s", names[i], err.msg);
			ap_err_clear(&err);
			rc = AP_E_STATE;
			continue;
		}
		path = ap_fsx_path_join(aroot, r->prefix);
		print_one(o, &j, r, path);
		free(path);
		ap_receipt_free(r);
	}
	if (o->json) {
		ap_json_arr_end(&j);
		ap_json_end(&j);
	}
	free(aroot);
	ap_fsx_strv_free(names, n);
	if (rc)
		return ap_err_exit_code(rc);
	return n ? 0 : ap_err_exit_code(AP_E_NOTFOUND);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	int rc;

	rc = setup_parse(&o, "list", argc, argv, "q", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	return setup_list_products(&o);
}
