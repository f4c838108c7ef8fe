/* ui.h - progress bars and error lines for the two programs.
 *
 * Progress bars draw on stderr only when it is a terminal and are silent
 * otherwise (the commands print their own one-line summaries).  The JSON
 * Lines writer the programs print with is airpack/json.h, included here
 * for them.
 */
#ifndef AP_UI_H
#define AP_UI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "airpack/err.h"
#include "airpack/json.h"

struct ap_ui_progress {
	const char *label;
	uint64_t total;
	uint64_t done;
	bool enabled;
	bool drawn; /* a bar is on the terminal */
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

/* Several downloads at once.  On a terminal (stderr) one line per file in
 * flight, redrawn in place: name (cut to fit), bytes, percent, rate and
 * time left, 79 columns at most.  Not on a terminal (a log, the journal):
 * every 5 seconds a plain line per file in flight.  Files are known by
 * name (copied, up to 63 bytes); AP_UI_DL_MAX at once. */
#define AP_UI_DL_MAX 64
struct ap_ui_dl_slot {
	bool used;
	char name[64];
	uint64_t have, total;
	uint64_t first_have; /* bytes it had when first seen moving (a resume) */
	bool moved;
	int64_t start_ms;
};
struct ap_ui_downloads {
	bool enabled;
	bool tty;
	int drawn;	 /* lines on the terminal now */
	int64_t last_ms; /* last redraw (terminal) or last lines (log) */
	struct ap_ui_dl_slot slots[AP_UI_DL_MAX];
};

/* Start showing downloads; nothing at all unless allow. */
void ap_ui_downloads_init(struct ap_ui_downloads *d, bool allow);
/* File name has have of total bytes (added when new). */
void ap_ui_downloads_update(struct ap_ui_downloads *d, const char *name, uint64_t have,
			    uint64_t total);
/* File name is finished: its line goes. */
void ap_ui_downloads_done(struct ap_ui_downloads *d, const char *name);
/* Erase the lines drawn (before other output); the next update redraws. */
void ap_ui_downloads_clear(struct ap_ui_downloads *d);

/* Human size: "1.5 MiB", "512 B" into buf. */
const char *ap_ui_human_size(uint64_t n, char *buf, size_t len);

/* The programs' error lines on stderr.  ap_ui_die: "PROG: error: MSG" (err's
 * message), returning err's exit code (ap_err_exit_code).
 * ap_ui_usage_error: "PROG CMD: error: MSG" and "run 'PROG CMD --help' for
 * usage", returning 2 (a usage error). */
int ap_ui_die(const char *prog, const struct ap_err *err);
int ap_ui_usage_error(const char *prog, const char *cmd, const char *fmt, va_list ap)
	AP_PRINTF(3, 0);

#endif
