/* ui.c - progress bars; see airpack/ui.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "airpack/ui.h"
#include "airpack/fsx.h"
#include "airpack/banned.h"

#define BAR_WIDTH 20
#define LABEL_WIDTH 24 /* a bar line stays within 79 columns */
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
	p->drawn = true;
	fprintf(stderr, "\r%-*.*s [%s] %3d%% %s / %s ", LABEL_WIDTH, LABEL_WIDTH, p->label, bar,
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
	/* Only a bar drawn is erased: a line of blanks wider than the
	 * terminal would move the cursor under other lines' feet. */
	if (!p->enabled || !p->drawn)
		return;
	p->drawn = false;
	fprintf(stderr, "\r%*s\r", 79, "");
	fflush(stderr);
}

/* ---- several downloads at once ---------------------------------------- */

#define DL_REDRAW_MS 200
#define DL_PLAIN_MS 5000
#define DL_NAME_WIDTH 22
#define DL_LINE_MAX 80 /* a line and its NUL: 79 columns at most */

void ap_ui_downloads_init(struct ap_ui_downloads *d, bool allow)
{
	memset(d, 0, sizeof(*d));
	d->enabled = allow;
#ifdef _WIN32
	/* A Windows console shows the cursor movements only once virtual
	 * terminal processing is turned on, which nothing here does: plain
	 * lines there. */
	d->tty = false;
#else
	d->tty = allow && ap_fsx_isatty(stderr);
#endif
	d->last_ms = now_ms();
}

static struct ap_ui_dl_slot *dl_slot(struct ap_ui_downloads *d, const char *name, bool add)
{
	struct ap_ui_dl_slot *free_slot = NULL;

	for (size_t i = 0; i < AP_UI_DL_MAX; i++) {
		if (d->slots[i].used && strcmp(d->slots[i].name, name) == 0)
			return &d->slots[i];
		if (!d->slots[i].used && !free_slot)
			free_slot = &d->slots[i];
	}
	if (!add || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	free_slot->start_ms = now_ms();
	return free_slot;
}

/* "1:05" or "1:02:05"; "--:--" when the rate is not known yet */
static const char *eta_text(const struct ap_ui_dl_slot *s, double rate, char *buf, size_t len)
{
	uint64_t left, secs;

	if (rate <= 0.0 || s->have > s->total) {
		snprintf(buf, len, "--:--");
		return buf;
	}
	left = s->total - s->have;
	secs = (uint64_t)((double)left / rate + 0.5);
	if (secs >= 3600)
		snprintf(buf, len, "%llu:%02u:%02u", (unsigned long long)(secs / 3600),
			 (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	else
		snprintf(buf, len, "%u:%02u", (unsigned)(secs / 60), (unsigned)(secs % 60));
	return buf;
}

/* Bytes a second since the file's download started (resumed bytes not
 * counted), 0 while too early to say. */
static double dl_rate(const struct ap_ui_dl_slot *s, int64_t t)
{
	int64_t ms = t - s->start_ms;

	if (ms < 200 || s->have < s->first_have)
		return 0.0;
	return (double)(s->have - s->first_have) * 1000.0 / (double)ms;
}

/* One file's line, at most 79 columns: name (cut to fit), bytes, percent,
 * rate, time left. */
static void dl_line(const struct ap_ui_dl_slot *s, int64_t t, char *out, size_t len)
{
	char name[DL_NAME_WIDTH + 1], have[32], total[32], rate_s[32], eta[32], full[256];
	double rate = dl_rate(s, t);
	int pct = s->total ? (int)(100.0 * (double)s->have / (double)s->total) : 100;
	size_t n = strlen(s->name);

	if (n > DL_NAME_WIDTH)
		snprintf(name, sizeof(name), "%.*s...", DL_NAME_WIDTH - 3, s->name);
	else {
		memcpy(name, s->name, n);
		name[n] = '\0';
	}
	if (pct > 100)
		pct = 100;
	ap_ui_human_size(s->have, have, sizeof(have));
	ap_ui_human_size(s->total, total, sizeof(total));
	if (rate > 0.0)
		ap_ui_human_size((uint64_t)rate, rate_s, sizeof(rate_s));
	else
		snprintf(rate_s, sizeof(rate_s), "-");
	snprintf(full, sizeof(full), "%-*s %10s / %-10s %3d%% %10s/s  ETA %s", DL_NAME_WIDTH, name,
		 have, total, pct, rate_s, eta_text(s, rate, eta, sizeof(eta)));
	n = strlen(full);
	if (len > DL_LINE_MAX)
		len = DL_LINE_MAX;
	if (n > len - 1)
		n = len - 1;
	memcpy(out, full, n);
	out[n] = '\0';
}

void ap_ui_downloads_clear(struct ap_ui_downloads *d)
{
	if (!d->tty || d->drawn == 0)
		return;
	fprintf(stderr, "\033[%dA\033[J", d->drawn);
	fflush(stderr);
	d->drawn = 0;
}

static void dl_draw(struct ap_ui_downloads *d, int64_t t)
{
	char line[DL_LINE_MAX];
	int n = 0;

	if (d->drawn > 0)
		fprintf(stderr, "\033[%dA", d->drawn);
	for (size_t i = 0; i < AP_UI_DL_MAX; i++) {
		if (!d->slots[i].used)
			continue;
		dl_line(&d->slots[i], t, line, sizeof(line));
		fprintf(stderr, "\r\033[K%s\n", line);
		n++;
	}
	if (n < d->drawn)
		fprintf(stderr, "\033[J");
	fflush(stderr);
	d->drawn = n;
}

/* Not a terminal (a log, the journal): every few seconds a plain line for
 * each file in flight. */
static void dl_plain(struct ap_ui_downloads *d, int64_t t)
{
	char line[DL_LINE_MAX];

	for (size_t i = 0; i < AP_UI_DL_MAX; i++) {
		if (!d->slots[i].used)
			continue;
		dl_line(&d->slots[i], t, line, sizeof(line));
		fprintf(stderr, "  downloading %s\n", line);
	}
	fflush(stderr);
}

static void dl_show(struct ap_ui_downloads *d, bool force)
{
	int64_t t = now_ms();

	if (d->tty) {
		if (!force && t - d->last_ms < DL_REDRAW_MS)
			return;
		d->last_ms = t;
		dl_draw(d, t);
		return;
	}
	if (t - d->last_ms < DL_PLAIN_MS)
		return;
	d->last_ms = t;
	dl_plain(d, t);
}

void ap_ui_downloads_update(struct ap_ui_downloads *d, const char *name, uint64_t have,
			    uint64_t total)
{
	struct ap_ui_dl_slot *s;
	bool fresh;

	if (!d->enabled || !name)
		return;
	fresh = dl_slot(d, name, false) == NULL;
	s = dl_slot(d, name, true);
	if (!s)
		return;
	/* the rate counts from the first bytes this run received: a resumed
	 * file's earlier bytes are not this connection's */
	if (fresh || (!s->moved && have > 0)) {
		s->first_have = have;
		s->start_ms = now_ms();
		s->moved = have > 0;
	}
	s->have = have;
	s->total = total;
	dl_show(d, fresh);
}

void ap_ui_downloads_done(struct ap_ui_downloads *d, const char *name)
{
	struct ap_ui_dl_slot *s;

	if (!d->enabled || !name)
		return;
	s = dl_slot(d, name, false);
	if (!s)
		return;
	s->used = false;
	if (d->tty)
		dl_show(d, true);
}

int ap_ui_die(const char *prog, const struct ap_err *err)
{
	fprintf(stderr, "%s: error: %s\n", prog, err->msg[0] ? err->msg : "unknown error");
	return ap_err_exit_code(err->code);
}

int ap_ui_usage_error(const char *prog, const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s %s: error: ", prog, cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nrun '%s %s --help' for usage\n", prog, cmd);
	return 2;
}
