/* fetch.h - downloads over http(s) and file:// (libcurl underneath).
 *
 * A download goes to DEST.partial and becomes DEST only when its size and
 * SHA-256 match.  The bytes are hashed as they arrive, not read back from
 * the file.  An existing .partial is resumed with a Range request: its
 * bytes are hashed first and the new ones continue that hash, so the
 * verdict covers the whole file; the download restarts from zero when the
 * server ignores the range or the result does not match.  More
 * bytes than expected abort the transfer at the cap.  Error bodies (any
 * non-2xx status) never reach the .partial file.  Redirects are limited to
 * http and https; TLS peers are always verified.
 */
#ifndef AP_FETCH_H
#define AP_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/digest.h"

struct ap_fetch_opts {
	const char *proxy;        /* NULL: libcurl's usual proxy environment variables */
	const char *cacert;       /* extra CA bundle file; NULL: system store */
	long connect_timeout;     /* seconds; 0 = 15 */
	long low_speed_time;      /* abort when below 1 KiB/s for this many seconds; 0 = 30 */
	int retries;              /* retries on transient errors; < 0 = 3 */
	long retry_delay_ms;      /* first backoff delay; 0 = 500, doubled each retry */
	/* progress (may be NULL): bytes now in the file and the total expected */
	void (*progress)(void *ctx, uint64_t have, uint64_t total);
	void *progress_ctx;
};
#define AP_FETCH_OPTS_INIT { NULL, NULL, 0, 0, -1, 0, NULL, NULL }

struct ap_fetch_result {
	uint64_t bytes_received; /* payload bytes transferred in this call */
	bool resumed;            /* a Range request continued a .partial */
	bool restarted;          /* a resume was abandoned and started from zero */
	int attempts;
	long http_status;        /* last HTTP status (0 for file://) */
};

/* One-time global init/cleanup (call from main). */
int ap_fetch_global_init(struct ap_err *err);
void ap_fetch_global_cleanup(void);

/* Download url to dest, expecting exactly size bytes with sha256.
 * Errors: AP_E_NOTFOUND (404/410, missing file://), AP_E_TOOBIG (over size),
 * AP_E_DIGEST (complete but wrong bytes; the file is removed), AP_E_FETCH
 * (everything else, after retries). */
int ap_fetch_file(const struct ap_fetch_opts *o, const char *url, const char *dest,
		  uint64_t size, const char sha256[AP_SHA256_HEX],
		  struct ap_fetch_result *res, struct ap_err *err);

/* Download a small document (index, manifest, signature) of at most max
 * bytes into memory (*buf malloc'd, NUL-terminated). */
int ap_fetch_mem(const struct ap_fetch_opts *o, const char *url, size_t max,
		 char **buf, size_t *len, struct ap_err *err);

/* True for URLs this module accepts: http://, https://, file://. */
bool ap_fetch_url_ok(const char *url);

/* base + "/" + name with name percent-encoded as needed (malloc'd): every
 * byte outside A-Z a-z 0-9 - . _ ~ becomes %XX, except '/', which is kept so
 * a name may hold path segments.  No second '/' when base ends with one. */
char *ap_fetch_url_join(const char *base, const char *name);

#endif
