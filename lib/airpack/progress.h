/* progress.h - how a library operation reports the progress of the payloads
 * it reads, to whoever draws it (the programs use ui.h's bars).  An
 * interface only: the library never draws.
 */
#ifndef AP_PROGRESS_H
#define AP_PROGRESS_H

#include <stdint.h>

/* For each payload: start (label borrowed for the payload's duration,
 * total bytes), step with the bytes done so far, end.  Any member may be
 * NULL. */
struct ap_progress_ops {
	void (*start)(void *ctx, const char *label, uint64_t total);
	void (*step)(void *ctx, uint64_t done);
	void (*end)(void *ctx);
	void *ctx;
};

/* The calls with a NULL ops (or member) left out. */
static inline void ap_progress_ops_start(const struct ap_progress_ops *p, const char *label,
					 uint64_t total)
{
	if (p && p->start)
		p->start(p->ctx, label, total);
}

static inline void ap_progress_ops_end(const struct ap_progress_ops *p)
{
	if (p && p->end)
		p->end(p->ctx);
}

/* The step callback and its context, for the (ctx, done) callbacks of
 * digest.h, bundle.h and sink.h. */
#define AP_PROGRESS_STEP(p) ((p) ? (p)->step : NULL)
#define AP_PROGRESS_CTX(p) ((p) ? (p)->ctx : NULL)

#endif
