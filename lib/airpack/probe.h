/* probe.h - decide whether deflating payloads pays (for --compress auto). */
#ifndef AP_PROBE_H
#define AP_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include "airpack/err.h"

/* Formats that are already compressed, told by their first bytes. */
enum ap_probe_kind {
	AP_PROBE_UNKNOWN,
	AP_PROBE_COMPRESSED, /* cab, zip, gzip, xz, bzip2, zstd, 7z, png, jpeg */
};

struct ap_probe {
	uint64_t sampled;  /* bytes deflated from samples */
	uint64_t deflated; /* their deflated size */
	uint64_t skipped;  /* bytes of payloads known to be compressed already */
	uint64_t total;	   /* all payload bytes */
};

/* Add one payload: if its magic says compressed, count it as skipped;
 * otherwise deflate (level 1) up to 256 KiB from its start. */
int ap_probe_add(struct ap_probe *p, const char *path, uint64_t size, struct ap_err *err);

/* True when gzip is expected to save at least 10% of the bundle. */
bool ap_probe_worth_it(const struct ap_probe *p);

#endif
