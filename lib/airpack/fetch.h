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
 *
 * Beside the downloads, single requests (ap_http_request, below) for a
 * protocol spoken over HTTP (an OCI registry's): any method, header lines,
 * a body sent from memory or a reader, the answer in memory.  This module is
 * the only one that includes libcurl.
 */
#ifndef AP_FETCH_H
#define AP_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/digest.h"

/* Every field's zero value means "the default", so a struct that was only
 * zeroed (memset, "= {0}", a member of a zeroed struct) downloads exactly
 * like one made with AP_FETCH_OPTS_INIT or ap_fetch_opts_init(): there is
 * no way to get "no retries" by forgetting to initialise a field. */
struct ap_fetch_opts {
	const char *proxy;    /* NULL: libcurl's usual proxy environment variables */
	const char *cacert;   /* extra CA bundle file; NULL: system store */
	long connect_timeout; /* seconds; 0 = 15 */
	long low_speed_time;  /* abort when below 1 KiB/s for this many seconds; 0 = 30 */
	int retries;	      /* retries on transient errors after the first try;
				     0 = AP_FETCH_RETRIES_DEFAULT, AP_FETCH_NO_RETRY = none */
	long retry_delay_ms;  /* first backoff delay, doubled each retry; 0 = the
				     default (500, or AP_FETCH_RETRY_MS, see below) */
	/* progress (may be NULL): bytes now in the file and the total expected */
	void (*progress)(void *ctx, uint64_t have, uint64_t total);
	void *progress_ctx;
	/* one more request header line ("Authorization: Bearer ..." for an OCI
	 * registry, oci.h), or NULL.  A secret: never printed, and libcurl does
	 * not send it on to another host a redirect points at */
	const char *header;
};
#define AP_FETCH_RETRIES_DEFAULT 3
#define AP_FETCH_NO_RETRY (-1)
/* clang-format off */
#define AP_FETCH_OPTS_INIT { .proxy = NULL, .retries = 0, .retry_delay_ms = 0 }
/* clang-format on */

/* Set *o to the defaults (the same as AP_FETCH_OPTS_INIT). */
void ap_fetch_opts_init(struct ap_fetch_opts *o);

/* Test hook: when retry_delay_ms is 0 and the environment variable
 * AP_FETCH_RETRY_MS holds a number of milliseconds (1..60000), it is the
 * first backoff delay instead of 500, so tests of real retries stay short.
 * It changes no other behaviour and is meant for tests only: only a build
 * with meson -Dtest_hooks=true reads it (airpack/testhook.h). */

struct ap_fetch_result {
	uint64_t bytes_received; /* payload bytes transferred in this call */
	bool resumed;		 /* a Range request continued a .partial */
	bool restarted;		 /* a resume was abandoned and started from zero */
	int attempts;
	long http_status; /* last HTTP status (0 for file://) */
};

/* One-time global init/cleanup (call from main). */
int ap_fetch_global_init(struct ap_err *err);
void ap_fetch_global_cleanup(void);

/* Download url to dest, expecting exactly size bytes with sha256 (one job
 * of ap_fetch_many).
 * Errors: AP_E_NOTFOUND (404/410, missing file://), AP_E_TOOBIG (over size),
 * AP_E_DIGEST (complete but wrong bytes; the file is removed), AP_E_FETCH
 * (everything else, after retries). */
int ap_fetch_file(const struct ap_fetch_opts *o, const char *url, const char *dest, uint64_t size,
		  const char sha256[AP_SHA256_HEX], struct ap_fetch_result *res,
		  struct ap_err *err);

/* Several files at once (libcurl's multi interface), each with every
 * guarantee of ap_fetch_file: DEST.partial resumed, the size cap, hashed
 * while written, verified before the rename, retries with backoff.  Each
 * file has its own urls, tried in order: a file whose url fails (not
 * found, wrong bytes, retries used up) moves on to its next url, unless
 * writing here failed (AP_E_IO), which no other source helps.  At most
 * `parallel` files are in flight, each on its own connection; one file
 * goes first and the others start once a body has come (a file received
 * bytes or finished), so a mirror that fails is asked once, not N times. */
#define AP_FETCH_PARALLEL_DEFAULT 4
#define AP_FETCH_PARALLEL_MAX 64

struct ap_fetch_job {
	/* in (the caller's, read only) */
	const char *const *urls; /* tried in order */
	size_t n_urls;
	const char *dest;
	uint64_t size;
	const char *sha256;
	bool stop_on_failure; /* when this file fails, start no other (those
					not started end with AP_E_FETCH, "not
					downloaded"); those in flight finish */
	/* out */
	int rc;			    /* 0, or the last url's error code */
	struct ap_err err;	    /* the last url's error when rc != 0 */
	size_t url;		    /* the url that served it (or failed last) */
	struct ap_fetch_result res; /* of that url */
};

/* What ap_fetch_many reports, by file index (every member may be NULL).
 * on_start: a url is being tried for the file; on_progress: bytes now in
 * its .partial of total; on_url_failed: a url failed (e says how), the
 * next one (if any) follows; on_done: the file is finished (its rc set). */
struct ap_fetch_many_ops {
	void (*on_start)(void *ctx, size_t job, const char *url);
	void (*on_progress)(void *ctx, size_t job, uint64_t have, uint64_t total);
	void (*on_url_failed)(void *ctx, size_t job, const char *url, const struct ap_err *e);
	void (*on_done)(void *ctx, size_t job);
	void *ctx;
};

/* Download jobs[0..n) with at most parallel (1..AP_FETCH_PARALLEL_MAX; 0:
 * AP_FETCH_PARALLEL_DEFAULT) at once.  Every job's outcome is in its rc and
 * err; one failing does not stop the others.  ops may be NULL: o->progress
 * then reports (without saying which file).  Returns 0 when every job ran
 * to its outcome, or an error of the driver itself (AP_E_NOMEM, AP_E_FETCH)
 * after which the jobs' outcomes are not to be used. */
int ap_fetch_many(const struct ap_fetch_opts *o, struct ap_fetch_job *jobs, size_t n, int parallel,
		  const struct ap_fetch_many_ops *ops, struct ap_err *err);

/* Download a small document (index, manifest, signature) of at most max
 * bytes into memory (*buf malloc'd, NUL-terminated). */
int ap_fetch_mem(const struct ap_fetch_opts *o, const char *url, size_t max, char **buf,
		 size_t *len, struct ap_err *err);

/* ---- single requests (the OCI distribution API, oci.h) ----
 *
 * One HTTP(S) request with its answer in memory, over a session that keeps
 * its connection from one request to the next.  The session takes the
 * download options' proxy, cacert, connect_timeout and low_speed_time, the
 * same user agent and the same TLS checks (peers always verified); header,
 * retries and progress are not used.  A request is tried once: its status,
 * whatever it is, is the caller's to judge.  Only http:// and https://. */
struct ap_http; /* a session: one connection kept between requests */

#define AP_HTTP_BODY_MAX (1u << 20) /* the default cap on an answer's body */

struct ap_http_req {
	const char *method; /* "GET", "HEAD", "PUT", "POST", or another */
	const char *url;
	/* request header lines ("Accept: ...", "Authorization: Bearer ..."),
	 * NULL-terminated, or NULL.  An Authorization line is a secret: never
	 * in a message, and not sent on to another host a redirect names */
	const char *const *headers;
	/* the body (PUT, POST): body_len bytes from body, or, body NULL, from
	 * read, which puts up to n bytes in buf and says how many in *got (0:
	 * the end).  read is called until it ends, not cut at body_len: a
	 * source longer than it said is for read to notice.  A nonzero return
	 * (an AP_E_* code with err set) aborts the request, which returns that
	 * code and err as read left it.  Neither body nor read: no body */
	const char *body;
	uint64_t body_len;
	int (*read)(void *ctx, unsigned char *buf, size_t n, size_t *got, struct ap_err *err);
	void *read_ctx;
	bool follow; /* follow redirects (at most 5, to http and https only) */
	size_t max;  /* most body bytes kept; 0: AP_HTTP_BODY_MAX */
};

/* The answer.  A header longer than its room is left out ("").  Headers
 * are those of the last response (the one a redirect led to). */
struct ap_http_resp {
	long status;
	char *body; /* malloc'd and NUL-terminated, or NULL when empty */
	size_t body_len;
	char location[2048];	 /* Location */
	char digest[128];	 /* Docker-Content-Digest */
	char authenticate[1024]; /* WWW-Authenticate */
	char content_type[256];	 /* Content-Type */
	uint64_t sent;		 /* body bytes sent */
};

/* A session with the options o (NULL: the defaults); o is copied, its
 * strings are not and must outlive the session.  Free with ap_http_free. */
int ap_http_new(const struct ap_fetch_opts *o, struct ap_http **out, struct ap_err *err);
void ap_http_free(struct ap_http *s);

/* Send q and fill *r, which is released first (so it is zeroed before its
 * first use, and one resp serves several requests) and is left empty on an
 * error; release it with ap_http_resp_release.  Returns 0 whatever the
 * status.
 * Errors: AP_E_TOOBIG ("the answer to METHOD 'URL' is over MAX bytes"),
 * AP_E_NOMEM, read's code, AP_E_FETCH (not sent or no answer: "METHOD
 * 'URL' failed: why", or a url that is not http(s)). */
int ap_http_request(struct ap_http *s, const struct ap_http_req *q, struct ap_http_resp *r,
		    struct ap_err *err);
void ap_http_resp_release(struct ap_http_resp *r);

/* s percent-encoded for a query or path segment (malloc'd, NULL when out of
 * memory): every byte outside A-Z a-z 0-9 - . _ ~ becomes %XX. */
char *ap_fetch_url_escape(const char *s);

/* True for URLs this module accepts: http://, https://, file://. */
bool ap_fetch_url_ok(const char *url);

/* base + "/" + name with name percent-encoded as needed (malloc'd): every
 * byte outside A-Z a-z 0-9 - . _ ~ becomes %XX, except '/', which is kept so
 * a name may hold path segments.  No second '/' when base ends with one. */
char *ap_fetch_url_join(const char *base, const char *name);

#endif
