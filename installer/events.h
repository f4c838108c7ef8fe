/* events.h - printing source checks and transaction events (text or JSON). */
#ifndef AIRPACK_SETUP_EVENTS_H
#define AIRPACK_SETUP_EVENTS_H

#include <stdbool.h>
#include "setup.h"
#include "airpack/source.h"
#include "airpack/txn.h"
#include "airpack/ui.h"

struct events {
	const struct setup_opts *o;
	struct ap_ui_progress *bar; /* cleared before a line is printed; may be NULL */
	bool verbose;		    /* also print every file */
	char restart_by[256];	    /* set by events_on_txn: the last run action that
				    asked for a restart (its component name), or "" */
	/* downloads: zero until the first (events_on_download) */
	bool dls_started;
	struct ap_ui_downloads dls;
	int64_t json_last_ms[AP_UI_DL_MAX]; /* last progress event per line of dls */
	const void *json_of[AP_UI_DL_MAX];
};

void events_on_check(void *ctx, const struct ap_source_check *chk);
/* A download started, moved on or ended: JSON events (start, progress at
 * most once a second per file, done) with --json, else ui.h's lines. */
void events_on_download(void *ctx, const struct ap_source_dl *dl);
void events_on_txn(void *ctx, const struct ap_txn_event *e);

/* The opening step of the commands on an installed product (verify,
 * uninstall, firstboot): ev cleared and set from o (its --verbose), and
 * to's root and event callback (events_on_txn with ev). */
void events_txn_init(struct events *ev, const struct setup_opts *o, struct ap_txn_opts *to);

#endif
