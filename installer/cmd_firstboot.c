/* cmd_firstboot.c - airpack-setup firstboot: run the actions an image
 * install (--no-run) left pending, once. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "lifecycle.h"
#include "setup.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

static void print_result(const struct setup_opts *o, const char *product, size_t ran,
			 const char *restart_by, int rc, const struct ap_err *err)
{
	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "result");
		ap_json_str(&j, "root", setup_root(o));
		ap_json_str(&j, "product", product);
		ap_json_u64(&j, "ran", ran);
		ap_json_str(&j, "restart_required", *restart_by ? restart_by : NULL);
		ap_json_bool(&j, "ok", rc == 0);
		if (rc)
			ap_json_str(&j, "error", err->msg);
		ap_json_end(&j);
		return;
	}
	if (o->quiet || rc)
		return;
	if (ran == 0)
		printf("nothing pending under %s\n", setup_root(o));
	else
		printf("ran %zu pending action%s under %s\n", ran, ran == 1 ? "" : "s",
		       setup_root(o));
	if (*restart_by)
		printf("restart required: run action '%s' asked for it; restart the device to "
		       "finish\n",
		       restart_by);
}

int cmd_firstboot(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ "product", required_argument, NULL, OPT_PRODUCT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		SETUP_RUN_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	struct events ev;
	struct ap_err err = AP_ERR_INIT;
	struct ap_txn_opts to = AP_TXN_OPTS_INIT;
	size_t ran = 0;
	int rc;

	rc = setup_parse(&o, "firstboot", argc, argv, "qv", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	if (o.run_in_root && o.run_on_host)
		return setup_usage_error("firstboot", "--run-in-root and --run-on-host exclude "
						      "each other");
	to.run_in = o.run_in_root   ? AP_TXN_RUN_ROOT
		    : o.run_on_host ? AP_TXN_RUN_HOST
				    : AP_TXN_RUN_AUTO;
	events_txn_init(&ev, &o, &to);
	rc = ap_txn_firstboot(&to, o.product, &ran, &err);
	lifecycle_log_firstboot(&o, o.product, ran, rc, &err);
	print_result(&o, o.product, ran, ev.restart_by, rc, &err);
	if (rc)
		return setup_die(&err);
	return *ev.restart_by ? AP_EXIT_RESTART_REQUIRED : 0;
}
