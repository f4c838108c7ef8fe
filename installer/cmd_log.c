/* cmd_log.c - airpack-setup log: the install/provision history of a root,
 * as readable lines or as the stored JSON lines (--json). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "setup.h"
#include "airpack/history.h"
#include "airpack/banned.h"

struct log_ctx {
	const struct setup_opts *o;
	const char *product; /* only this product's events; NULL: all */
	bool verbose;
	size_t n_shown;
};

static void show(void *ctx, const struct ap_history_entry *e)
{
	struct log_ctx *lc = ctx;

	if (lc->product && (!e->product || strcmp(e->product, lc->product) != 0))
		return;
	lc->n_shown++;
	if (lc->o->json) {
		printf("%s\n", e->raw);
		return;
	}
	printf("%s %s %s %s %s: %s\n", e->time, e->type, e->product ? e->product : "-",
	       e->version ? e->version : "-", e->ok ? "ok" : "failed",
	       e->message ? e->message : "");
	if (!lc->verbose)
		return;
	if (e->key_id)
		printf("    key id: %s\n", e->key_id);
	for (size_t i = 0; i < e->n_sources; i++)
		printf("    %s: %s\n", e->sources[i].key, e->sources[i].value);
	for (size_t i = 0; i < e->n_details; i++)
		printf("    %s: %s\n", e->details[i].key, e->details[i].value);
}

int cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		SETUP_COMMON_OPTIONS,
		{ "product", required_argument, NULL, OPT_PRODUCT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_opts o;
	struct log_ctx lc;
	struct ap_err err = AP_ERR_INIT;
	size_t n_bad = 0;
	int rc;

	rc = setup_parse(&o, "log", argc, argv, "qv", opts, NULL, NULL);
	if (rc >= 0)
		return rc;
	memset(&lc, 0, sizeof(lc));
	lc.o = &o;
	lc.product = o.product;
	lc.verbose = o.verbose;
	rc = ap_history_read(setup_root(&o), show, &lc, &n_bad, &err);
	if (rc)
		return setup_die(&err);
	if (n_bad)
		setup_warn("skipped %zu malformed line%s in %s/%s", n_bad, n_bad == 1 ? "" : "s",
			   strcmp(setup_root(&o), "/") == 0 ? "" : setup_root(&o), AP_HISTORY_PATH);
	if (!lc.n_shown && !o.json && !o.quiet)
		printf("no history%s%s under %s\n", lc.product ? " for " : "",
		       lc.product ? lc.product : "", setup_root(&o));
	return 0;
}
