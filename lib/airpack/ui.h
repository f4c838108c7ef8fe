/* ui.h - progress bars for the two programs.
 *
 * Progress bars draw on stderr only when it is a terminal and are silent
 * otherwise (the commands print their own one-line summaries).  The JSON
 * Lines writer the programs print with is airpack/json.h, included here
 * for them.
 */
#ifndef AP_UI_H
#define AP_UI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "airpack/json.h"

struct ap_ui_progress {
	const char *label;
	uint64_t total;
	uint64_t done;
	bool enabled;
	int64_t last_ms;
	int64_t start_ms;
};

/* Start a bar for total bytes; enabled only when `allow` and stderr is a TTY. */
void ap_ui_progress_start(struct ap_ui_progress *p, const char *label, uint64_t total, bool allow);
/* Callback shapes used by digest/bundle (done) and fetch (have, total). */
void ap_ui_progress_cb(void *p, uint64_t done);
void ap_ui_progress_fetch_cb(void *p, uint64_t have, uint64_t total);
/* Clear the bar's line. */
void ap_ui_progress_end(struct ap_ui_progress *p);

/* Human size: "1.5 MiB", "512 B" into buf. */
const char *ap_ui_human_size(uint64_t n, char *buf, size_t len);

#endif
