/* cmd_uninstall.c - airpack-setup uninstall: remove exactly what the
 * receipt lists. */
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

int cmd_uninstall(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ "purge", no_argument, NULL, OPT_PURGE },
		{ "product", required_argument, NULL, OPT_PRODUCT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	struct events ev;
	struct ap_err err = AP_ERR_INIT;
	struct ap_txn_opts to = AP_TXN_OPTS_INIT;
	struct ap_txn_uninstall_stats st;
	struct ap_lifecycle_uninstall lu;
	int rc;

	rc = setup_parse(&o, "uninstall", argc, argv, "qv", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	memset(&st, 0, sizeof(st));
	events_txn_init(&ev, &o, &to);
	/* Also what provision wrote: the device configuration and its record. */
	rc = lifecycle_uninstall_begin(to.root, o.product, &lu, &err);
	if (rc)
		return setup_die(&err);
	rc = ap_txn_uninstall(&to, o.product, o.purge, (const char *const *)lu.extra, &st, &err);
	lifecycle_uninstall_end(&o, &lu, &st, rc, &err);
	if (rc) {
		ap_lifecycle_uninstall_release(&lu);
		return setup_die(&err);
	}
	if (o.json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "result");
		ap_json_bool(&j, "was_installed", st.was_installed);
		ap_json_u64(&j, "removed", st.n_removed);
		ap_json_u64(&j, "modified", st.n_modified);
		ap_json_u64(&j, "missing", st.n_missing);
		ap_json_u64(&j, "left", st.n_left);
		ap_json_u64(&j, "purged", st.n_purged);
		ap_json_u64(&j, "data_kept", st.n_data_kept);
		ap_json_str(&j, "config_removed", lu.config_removed ? lu.rec->config_path : NULL);
		ap_json_end(&j);
	} else if (!st.was_installed) {
		setup_note(&o, "nothing installed under %s", to.root);
	} else {
		setup_note(&o,
			   "removed %zu file%s (%zu had been modified, %zu were already gone); "
			   "left %zu file%s you added%s",
			   st.n_removed, st.n_removed == 1 ? "" : "s", st.n_modified, st.n_missing,
			   st.n_left, st.n_left == 1 ? "" : "s",
			   o.purge ? "" : "; data folders kept (use --purge to remove them)");
		if (o.purge)
			setup_note(&o, "purged %zu data folder%s", st.n_purged,
				   st.n_purged == 1 ? "" : "s");
		if (o.purge && st.n_data_kept)
			setup_note(&o,
				   "kept %zu data folder%s this install did not create or "
				   "another product uses (listed above)",
				   st.n_data_kept, st.n_data_kept == 1 ? "" : "s");
	}
	ap_lifecycle_uninstall_release(&lu);
	return 0;
}
