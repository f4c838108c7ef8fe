/* events.c - how source checks and transaction events are shown: readable
 * lines on a terminal or in a log, or one JSON object per event (--json) so
 * an auditor has a record of every hash that was checked. */
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "airpack/fsx.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

void events_on_check(void *ctx, const struct ap_source_check *chk)
{
	struct events *ev = ctx;

	if (ev->bar)
		ap_ui_progress_end(ev->bar);
	if (ev->dls_started)
		ap_ui_downloads_clear(&ev->dls);
	if (ev->o->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "check");
		ap_json_str(&j, "component", chk->c->name);
		ap_json_str(&j, "file", chk->c->file);
		ap_json_str(&j, "source", chk->source);
		ap_json_u64(&j, "expected_size", chk->c->size);
		ap_json_u64(&j, "size", chk->size);
		ap_json_str(&j, "expected_sha256", chk->c->sha256);
		ap_json_str(&j, "sha256", chk->sha256[0] ? chk->sha256 : NULL);
		ap_json_str(&j, "verdict", chk->verdict);
		ap_json_str(&j, "detail", chk->detail);
		ap_json_end(&j);
		return;
	}
	if (ev->o->quiet)
		return;
	if (strcmp(chk->verdict, "ok") == 0 || strcmp(chk->verdict, "downloaded") == 0)
		printf("  %-10s %s: %s (sha256 %.16s... ok)\n", chk->verdict, chk->c->name,
		       chk->source, chk->sha256);
	else
		printf("  %-10s %s: %s\n", chk->verdict, chk->c->name, chk->detail);
	fflush(stdout);
}

#define JSON_PROGRESS_MS 1000

/* The slot keeping file c's last progress event time (NULL: all taken). */
static int64_t *json_last(struct events *ev, const void *c, bool reset)
{
	size_t free_i = AP_UI_DL_MAX;

	for (size_t i = 0; i < AP_UI_DL_MAX; i++) {
		if (ev->json_of[i] == c) {
			if (reset)
				ev->json_last_ms[i] = ap_fsx_monotonic_ms();
			return &ev->json_last_ms[i];
		}
		if (!ev->json_of[i] && free_i == AP_UI_DL_MAX)
			free_i = i;
	}
	if (free_i == AP_UI_DL_MAX)
		return NULL;
	ev->json_of[free_i] = c;
	ev->json_last_ms[free_i] = ap_fsx_monotonic_ms();
	return &ev->json_last_ms[free_i];
}

static void json_forget(struct events *ev, const void *c)
{
	for (size_t i = 0; i < AP_UI_DL_MAX; i++)
		if (ev->json_of[i] == c)
			ev->json_of[i] = NULL;
}

void events_on_download(void *ctx, const struct ap_source_dl *dl)
{
	static const char *const phases[] = { "start", "progress", "done" };
	struct events *ev = ctx;

	if (!ev->dls_started) {
		ev->dls_started = true;
		ap_ui_downloads_init(&ev->dls, !ev->o->quiet && !ev->o->json);
	}
	if (ev->o->json) {
		struct ap_json j;

		if (dl->phase == AP_SOURCE_DL_PROGRESS) {
			int64_t *last = json_last(ev, dl->c, false);
			int64_t t = ap_fsx_monotonic_ms();

			if (!last || (t - *last < JSON_PROGRESS_MS && dl->have < dl->total))
				return;
			*last = t;
		} else if (dl->phase == AP_SOURCE_DL_START) {
			(void)json_last(ev, dl->c, true);
		} else {
			json_forget(ev, dl->c);
		}
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", "download");
		ap_json_str(&j, "phase", phases[dl->phase]);
		ap_json_str(&j, "component", dl->c->name);
		ap_json_str(&j, "file", dl->c->file);
		if (dl->url)
			ap_json_str(&j, "url", dl->url);
		ap_json_u64(&j, "bytes", dl->have);
		ap_json_u64(&j, "size", dl->total);
		if (dl->phase == AP_SOURCE_DL_DONE)
			ap_json_bool(&j, "ok", dl->rc == 0);
		ap_json_end(&j);
		return;
	}
	if (ev->bar && dl->phase == AP_SOURCE_DL_START)
		ap_ui_progress_end(ev->bar);
	if (dl->phase == AP_SOURCE_DL_DONE)
		ap_ui_downloads_done(&ev->dls, dl->c->name);
	else
		ap_ui_downloads_update(&ev->dls, dl->c->name, dl->have, dl->total);
}

void events_on_txn(void *ctx, const struct ap_txn_event *e)
{
	struct events *ev = ctx;

	/* A copy: the component name is the receipt's, freed before the
	 * command prints its result. */
	if (e->phase == AP_TXN_PH_RUN && e->restart_required)
		snprintf(ev->restart_by, sizeof(ev->restart_by), "%s",
			 e->component ? e->component : "");
	if (ev->o->json) {
		struct ap_json j;
		ap_json_begin(&j, stdout);
		ap_json_str(&j, "event", ap_txn_phase_name(e->phase));
		ap_json_str(&j, "verdict", ap_txn_verdict_name(e->verdict));
		if (e->component)
			ap_json_str(&j, "component", e->component);
		if (e->path)
			ap_json_str(&j, "path", e->path);
		if (e->expected_sha256)
			ap_json_str(&j, "expected_sha256", e->expected_sha256);
		if (e->actual_sha256)
			ap_json_str(&j, "sha256", e->actual_sha256);
		if (e->phase == AP_TXN_PH_FILE || e->phase == AP_TXN_PH_CHECK)
			ap_json_u64(&j, "size", e->size);
		if (e->phase == AP_TXN_PH_RUN)
			ap_json_int(&j, "exit_code", e->exit_code);
		if (e->phase == AP_TXN_PH_RUN && e->restart_required)
			ap_json_bool(&j, "restart_required", true);
		if (e->verdict == AP_TXN_V_MODE) {
			char m[16];
			snprintf(m, sizeof(m), "%04o", e->expected_mode);
			ap_json_str(&j, "expected_mode", m);
			snprintf(m, sizeof(m), "%04o", e->actual_mode);
			ap_json_str(&j, "mode", m);
		}
		if (e->detail)
			ap_json_str(&j, "detail", e->detail);
		ap_json_end(&j);
		return;
	}
	if (ev->o->quiet)
		return;
	if (!ev->verbose && e->phase != AP_TXN_PH_SWITCH && e->phase != AP_TXN_PH_RUN &&
	    e->phase != AP_TXN_PH_SERVICE &&
	    (e->verdict == AP_TXN_V_OK || e->verdict == AP_TXN_V_REMOVED))
		return;
	printf("  %-10s %s%s%s%s%s", ap_txn_verdict_name(e->verdict), ap_txn_phase_name(e->phase),
	       e->component ? " " : "", e->component ? e->component : "", e->path ? ": " : "",
	       e->path ? e->path : "");
	if (e->phase == AP_TXN_PH_RUN)
		printf(" (exit code %d%s)", e->exit_code,
		       e->restart_required ? ": restart required" : "");
	if (e->verdict == AP_TXN_V_MODE)
		printf(" (mode %04o, expected %04o)", e->actual_mode, e->expected_mode);
	if (e->detail)
		printf(" (%s)", e->detail);
	printf("\n");
	fflush(stdout);
}

void events_txn_init(struct events *ev, const struct setup_opts *o, struct ap_txn_opts *to)
{
	memset(ev, 0, sizeof(*ev));
	ev->o = o;
	ev->verbose = o->verbose;
	to->root = setup_root(o);
	to->on_event = events_on_txn;
	to->ctx = ev;
}
