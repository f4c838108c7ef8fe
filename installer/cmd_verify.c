/* cmd_verify.c - airpack-setup verify: re-hash every installed file. */
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

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ "product", required_argument, NULL, OPT_PRODUCT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	struct events ev;
	struct ap_err err = AP_ERR_INIT;
	struct ap_txn_opts to = AP_TXN_OPTS_INIT;
	struct ap_txn_verify_stats st;
	char sz[32];
	int rc;

	rc = setup_parse(&o, "verify", argc, argv, "qv", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	memset(&st, 0, sizeof(st));
	events_txn_init(&ev, &o, &to);
	rc = ap_txn_verify(&to, o.product, &st, &err);
	lifecycle_log_verify(&o, o.product, &st, rc, &err);
	if (rc && rc != AP_E_DIFFERS)
		return setup_die(&err);
	if (o.json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "result");
		ap_json_u64(&j, "checked", st.n_checked);
		ap_json_u64(&j, "bytes", st.n_bytes);
		ap_json_u64(&j, "modified", st.n_modified);
		ap_json_u64(&j, "missing", st.n_missing);
		ap_json_u64(&j, "unexpected", st.n_unexpected);
		ap_json_u64(&j, "mode", st.n_mode);
		ap_json_bool(&j, "ok", rc == 0);
		ap_json_end(&j);
	} else if (rc == 0) {
		setup_note(&o, "verified %zu file%s (%s) under %s: all match the receipt",
			   st.n_checked, st.n_checked == 1 ? "" : "s",
			   ap_ui_human_size(st.n_bytes, sz, sizeof(sz)), to.root);
	}
	if (rc)
		return setup_die(&err);
	return 0;
}
