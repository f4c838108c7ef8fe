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
	bool verbose;            /* also print every file */
	char restart_by[256];    /* set by events_on_txn: the last run action that
				    asked for a restart (its component name), or "" */
};

void events_on_check(void *ctx, const struct ap_source_check *chk);
void events_on_txn(void *ctx, const struct ap_txn_event *e);

#endif
