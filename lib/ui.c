/* ui.c - progress bars; see airpack/ui.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "airpack/ui.h"
#include "airpack/fsx.h"
#include "airpack/banned.h"

#define BAR_WIDTH 28
#define REDRAW_MS 100

static int64_t now_ms(void)
{
	return ap_fsx_monotonic_ms();
}

const char *ap_ui_human_size(uint64_t n, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

void ap_ui_progress_start(struct ap_ui_progress *p, const char *label, uint64_t total, bool allow)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->enabled = allow && ap_fsx_isatty(stderr);
	p->start_ms = now_ms();
}

static void draw(struct ap_ui_progress *p)
{
	char a[32], b[32];
	int fill = p->total ? (int)((double)p->done / (double)p->total * BAR_WIDTH) : BAR_WIDTH;
	char bar[BAR_WIDTH + 1];

	if (fill > BAR_WIDTH)
		fill = BAR_WIDTH;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%-32.32s [%s] %3d%% %s / %s ", p->label, bar,
		p->total ? (int)(100.0 * (double)p->done / (double)p->total) : 100,
		ap_ui_human_size(p->done, a, sizeof(a)), ap_ui_human_size(p->total, b, sizeof(b)));
	fflush(stderr);
}

void ap_ui_progress_cb(void *ctx, uint64_t done)
{
	struct ap_ui_progress *p = ctx;
	int64_t t;

	if (!p || !p->enabled)
		return;
	p->done = done;
	t = now_ms();
	if (t - p->last_ms < REDRAW_MS && done < p->total)
		return;
	p->last_ms = t;
	draw(p);
}

void ap_ui_progress_fetch_cb(void *ctx, uint64_t have, uint64_t total)
{
	struct ap_ui_progress *p = ctx;

	if (p && total)
		p->total = total;
	ap_ui_progress_cb(ctx, have);
}

void ap_ui_progress_end(struct ap_ui_progress *p)
{
	if (!p->enabled)
		return;
	fprintf(stderr, "\r%*s\r", 32 + BAR_WIDTH + 40, "");
	fflush(stderr);
}
