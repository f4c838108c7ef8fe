/* fetch.c - downloads over http(s) and file:// with libcurl; see airpack/fetch.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ap_config.h"
#include "airpack/fetch.h"
#include "airpack/fsx.h"
#include "airpack/str.h"
#include "airpack/testhook.h"
#include "airpack/banned.h"

#define FETCH_BUFFER_SIZE (512L * 1024L) /* twice the loopback throughput of the default */
#define HASH_READ_SIZE (1024 * 1024)
#define FETCH_MAX_REDIRS 5L
#define FETCH_LOW_SPEED_LIMIT 1024L
#define FETCH_MAX_DELAY_MS 60000L
#define MEM_START_SIZE 16384

/* Why a transfer stopped early, decided inside the callbacks. */
enum xfer_stop {
	STOP_NONE,
	STOP_HTTP,     /* a status we do not take a body from */
	STOP_TOOBIG,   /* more bytes than allowed */
	STOP_BADRANGE, /* a 206 that does not continue where the file ends */
	STOP_IO,       /* writing the file failed (details in ioerr) */
};

/* What one attempt came to, for the retry loops. */
enum xfer_outcome {
	OUT_DONE,      /* the body is complete */
	OUT_RANGE_END, /* 416: nothing left after the .partial's bytes */
	OUT_BADRANGE,  /* the .partial cannot be continued */
	OUT_TRANSIENT, /* worth another try (err set) */
	OUT_FATAL,     /* give up (err set, return code in rc) */
};

struct xfer {
	CURL *h;
	struct curl_slist *headers; /* o->header, when there is one */
	const struct ap_fetch_opts *o;
	const struct ap_fetch_many_ops *ops; /* ap_fetch_many's, or NULL */
	size_t index;			     /* the file's index there */
	const char *url;
	bool is_http;
	uint64_t limit; /* most bytes the result may hold */

	/* file mode (partial != NULL) */
	const char *partial;
	FILE *fp;
	uint64_t base; /* bytes in the .partial when the attempt started */
	uint64_t have; /* bytes in the .partial (or the buffer) now */
	/* The sha256 of the .partial, taken as its bytes are written.  synced:
	 * hash has taken the file's bytes, `hashed` of them, and nothing else.
	 * When that cannot be known (a failed write, a finished hash) it is
	 * false, and the file is read again before its hash is used. */
	struct ap_digest *hash;
	uint64_t hashed;
	bool synced;

	/* memory mode */
	char *mem;
	size_t mem_cap;

	/* the response being received */
	bool decided;
	bool discard;
	long status;
	int64_t range_start;
	char reason[64];

	/* results of the attempt */
	int attempt; /* counted from 1 over the whole call */
	enum xfer_stop stop;
	bool resumed;
	bool restarted;
	uint64_t written;
	struct ap_err ioerr;
	char errbuf[CURL_ERROR_SIZE];
};

int ap_fetch_global_init(struct ap_err *err)
{
	CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (cc != CURLE_OK)
		return ap_err_set(err, AP_E_FETCH, "initializing libcurl failed: %s",
				  curl_easy_strerror(cc));
	return 0;
}

void ap_fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

static bool prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *prefix)
			return false;
	}
	return true;
}

bool ap_fetch_url_ok(const char *url)
{
	static const char *const schemes[] = { "http://", "https://", "file://" };

	if (!url)
		return false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (prefix_nocase(url, schemes[i]) && url[strlen(schemes[i])] != '\0')
			return true;
	return false;
}

static bool url_is_http(const char *url)
{
	return prefix_nocase(url, "http://") || prefix_nocase(url, "https://");
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* The room s takes percent-encoded (bytes outside the unreserved ones, and
 * '/' unless keep_slash, become %XX), and the encoding itself into out. */
static size_t encoded_len(const char *s, bool keep_slash)
{
	size_t n = 0;

	for (const char *p = s; *p; p++)
		n += (unreserved((unsigned char)*p) || (keep_slash && *p == '/')) ? 1 : 3;
	return n;
}

static size_t encode_into(char *out, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t pos = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			out[pos++] = (char)*p;
		} else {
			out[pos++] = '%';
			out[pos++] = hex[*p >> 4];
			out[pos++] = hex[*p & 15];
		}
	}
	return pos;
}

char *ap_fetch_url_join(const char *base, const char *name)
{
	size_t blen, pos;
	bool slash;
	char *out;

	if (!base || !name)
		return NULL;
	blen = strlen(base);
	slash = blen > 0 && base[blen - 1] == '/';
	while (*name == '/')
		name++;
	out = malloc(blen + 2 + encoded_len(name, true));
	if (!out)
		return NULL;
	memcpy(out, base, blen);
	pos = blen;
	if (!slash)
		out[pos++] = '/';
	pos += encode_into(out + pos, name, true);
	out[pos] = '\0';
	return out;
}

char *ap_fetch_url_escape(const char *s)
{
	char *out;

	if (!s)
		return NULL;
	out = malloc(encoded_len(s, false) + 1);
	if (!out)
		return NULL;
	out[encode_into(out, s, false)] = '\0';
	return out;
}

void ap_fetch_opts_init(struct ap_fetch_opts *o)
{
	static const struct ap_fetch_opts init = AP_FETCH_OPTS_INIT;

	*o = init;
}

static int retries_of(const struct ap_fetch_opts *o)
{
	if (o->retries == 0)
		return AP_FETCH_RETRIES_DEFAULT;
	return o->retries < 0 ? 0 : o->retries;
}

/* The first backoff delay: the caller's, else the test hook documented in
 * fetch.h (AP_FETCH_RETRY_MS), else 500 ms. */
static long first_delay_ms(const struct ap_fetch_opts *o)
{
	const char *env;
	char *end = NULL;
	long v;

	if (o->retry_delay_ms > 0)
		return o->retry_delay_ms;
	env = ap_testhook("AP_FETCH_RETRY_MS");
	if (env && *env) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (errno == 0 && end && *end == '\0' && v >= 1 && v <= FETCH_MAX_DELAY_MS)
			return v;
	}
	return 500;
}

/* A pause between retries.  curl_multi_poll with nothing to watch waits the
 * whole timeout on every platform libcurl runs on, which keeps a sleep call
 * out of this module.  Should it fail, the retry merely comes sooner. */
static void backoff(long ms)
{
	CURLM *m = curl_multi_init();

	if (!m)
		return;
	(void)curl_multi_poll(m, NULL, 0, (int)ms, NULL);
	curl_multi_cleanup(m);
}

static bool http_transient(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static bool curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* "HTTP/1.1 404 Not Found" starts every response (redirects and proxy
 * CONNECT replies included): forget what the previous one decided. */
static void header_status_line(struct xfer *x, const char *line, size_t len)
{
	size_t i = 0, r = 0;

	x->decided = false;
	x->discard = false;
	x->range_start = -1;
	while (i < len && line[i] != ' ')
		i++;
	while (i < len && line[i] == ' ')
		i++;
	while (i < len && line[i] != ' ' && line[i] != '\r' && line[i] != '\n')
		i++;
	while (i < len && line[i] == ' ')
		i++;
	while (i < len && line[i] != '\r' && line[i] != '\n' && r + 1 < sizeof(x->reason)) {
		char c = line[i++];

		x->reason[r++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	x->reason[r] = '\0';
}

/* "Content-Range: bytes 1000-1999/2000": keep the first byte's offset. */
static void header_content_range(struct xfer *x, const char *v, size_t len)
{
	uint64_t start = 0;
	size_t i = 0;
	bool digits = false;

	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (len - i < 6 || !prefix_nocase(v + i, "bytes "))
		return;
	i += 6;
	while (i < len && v[i] == ' ')
		i++;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (start > (UINT64_MAX - 9) / 10)
			return;
		start = start * 10 + (uint64_t)(v[i] - '0');
		digits = true;
	}
	if (digits && i < len && v[i] == '-' && start <= INT64_MAX)
		x->range_start = (int64_t)start;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	static const char cr[] = "content-range:";

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
		header_status_line(x, data, len);
	else if (len > sizeof(cr) - 1 && prefix_nocase(data, cr))
		header_content_range(x, data + sizeof(cr) - 1, len - (sizeof(cr) - 1));
	return len;
}

/* Called once a response's headers are in (at its first body byte, or at
 * the end for an empty body): take the body, skip it, or stop. */
static bool decide(struct xfer *x)
{
	long code = 0;
	curl_off_t clen = -1;
	uint64_t start = 0;

	x->decided = true;
	if (curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	x->status = code;
	if (x->is_http) {
		if (code >= 300 && code < 400) {
			/* the body of a redirect libcurl is about to follow */
			x->discard = true;
			return true;
		}
		if (code != 200 && !(code == 206 && x->partial && x->base > 0)) {
			x->stop = STOP_HTTP;
			return false;
		}
		if (code == 206) {
			if (x->range_start < 0 || (uint64_t)x->range_start != x->base) {
				x->stop = STOP_BADRANGE;
				return false;
			}
			start = x->base;
		}
	} else if (x->partial) {
		start = x->base; /* file:// honours the resume offset */
	}
	if (curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen) != CURLE_OK)
		clen = -1;
	if (clen >= 0 && (uint64_t)clen > x->limit - start) {
		x->stop = STOP_TOOBIG;
		return false;
	}
	x->have = start;
	if (!x->partial)
		return true;
	if (ap_fsx_fopen(x->partial, start > 0 ? "ab" : "wb", &x->fp, &x->ioerr) != 0) {
		x->synced = false;
		x->stop = STOP_IO;
		return false;
	}
	if (start == 0) {
		/* a new or emptied file: its hash starts over with it */
		ap_digest_reset(x->hash);
		x->hashed = 0;
		x->synced = true;
	}
	if (start > 0)
		x->resumed = true;
	else if (x->base > 0)
		x->restarted = true; /* the server ignored the range: the file starts over */
	return true;
}

static bool mem_append(struct xfer *x, const char *data, size_t len)
{
	if (x->have + len + 1 > x->mem_cap) {
		size_t cap = x->mem_cap ? x->mem_cap : MEM_START_SIZE;
		char *p;

		while (cap < x->have + len + 1)
			cap *= 2;
		if (x->limit < SIZE_MAX && cap > x->limit + 1)
			cap = (size_t)x->limit + 1;
		p = realloc(x->mem, cap);
		if (!p) {
			ap_err_set(&x->ioerr, AP_E_NOMEM, "out of memory downloading '%s'", x->url);
			return false;
		}
		x->mem = p;
		x->mem_cap = cap;
	}
	memcpy(x->mem + x->have, data, len);
	return true;
}

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	if (!x->decided && !decide(x))
		return 0;
	if (x->discard)
		return len;
	if (len > x->limit - x->have) {
		x->stop = STOP_TOOBIG;
		return 0;
	}
	if (x->fp) {
		/* Flushed at once: bytes that reached the .partial survive a
		 * killed process and are resumed from, not fetched again. */
		if (fwrite(data, 1, len, x->fp) != len || fflush(x->fp) != 0) {
			ap_err_sys(&x->ioerr, AP_E_IO, "writing '%s' failed", x->partial);
			x->synced = false; /* some of these bytes may be in the file */
			x->stop = STOP_IO;
			return 0;
		}
		ap_digest_update(x->hash, data, len);
		x->hashed += len;
	} else if (!mem_append(x, data, len)) {
		x->stop = STOP_IO;
		return 0;
	}
	x->have += len;
	x->written += len;
	if (x->fp && x->ops && x->ops->on_progress)
		x->ops->on_progress(x->ops->ctx, x->index, x->have, x->limit);
	else if (x->fp && x->o->progress)
		x->o->progress(x->o->progress_ctx, x->have, x->limit);
	return len;
}

/* Sets one option unless one before it failed (cc and h in scope). */
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (cc == CURLE_OK)                                                                \
			cc = curl_easy_setopt(h, opt, val);                                        \
	} while (0)

/* What every handle of this module shares, downloads and single requests
 * alike: the user agent, TLS checks, CA, proxy, timeouts, buffer, error
 * buffer and the request header lines (headers may be NULL). */
static CURLcode setup_common(CURL *h, const struct ap_fetch_opts *o, char *errbuf,
			     struct curl_slist *headers)
{
	CURLcode cc = CURLE_OK;

	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "airpack/" AP_VERSION);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_MAXREDIRS, FETCH_MAX_REDIRS);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CONNECTTIMEOUT, o->connect_timeout > 0 ? o->connect_timeout : 15L);
	SET(CURLOPT_LOW_SPEED_LIMIT, FETCH_LOW_SPEED_LIMIT);
	SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time > 0 ? o->low_speed_time : 30L);
	SET(CURLOPT_BUFFERSIZE, FETCH_BUFFER_SIZE);
	SET(CURLOPT_FAILONERROR, 0L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	/* Without --cacert: the system's trust.  The Windows build has no CA
	 * path compiled in and reads the certificate store (NATIVE_CA); curl
	 * ignores NATIVE_CA with OpenSSL elsewhere and uses its default paths. */
	if (o->cacert)
		SET(CURLOPT_CAINFO, o->cacert);
	else
		SET(CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NATIVE_CA);
	if (o->proxy)
		SET(CURLOPT_PROXY, o->proxy);
	if (headers)
		SET(CURLOPT_HTTPHEADER, headers);
	return cc;
}

static CURLcode setup_handle(CURL *h, const struct ap_fetch_opts *o, struct xfer *x)
{
	CURLcode cc = CURLE_OK;

	if (o->header) {
		x->headers = curl_slist_append(NULL, o->header);
		if (!x->headers)
			return CURLE_OUT_OF_MEMORY;
	}
	cc = setup_common(h, o, x->errbuf, x->headers);
	SET(CURLOPT_PROTOCOLS_STR, "http,https,file");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, x);
	return cc;
}

/* " after N attempts" once there was more than one. */
static const char *attempts_note(const struct xfer *x, char *buf, size_t len)
{
	if (x->attempt <= 1)
		return "";
	snprintf(buf, len, " after %d attempts", x->attempt);
	return buf;
}

/* TLS could not start because the CA certificates are not there: say so in
 * words an operator can act on, instead of libcurl's "error setting
 * certificate file". */
static int cacert_failure(struct ap_err *err, const struct xfer *x)
{
	char *builtin = NULL;

	if (x->o->cacert)
		return ap_err_set(err, AP_E_FETCH,
				  "downloading '%s' failed: --cacert '%s' cannot be read or holds "
				  "no PEM certificate",
				  x->url, x->o->cacert);
	if (curl_easy_getinfo(x->h, CURLINFO_CAINFO, &builtin) != CURLE_OK)
		builtin = NULL;
	return ap_err_set(err, AP_E_FETCH,
			  "downloading '%s' failed: no CA certificates are installed (%s%s%s), so "
			  "the server cannot be verified: install them (Debian: apt-get install "
			  "ca-certificates) or pass --cacert FILE with the CA that signed the "
			  "server's certificate",
			  x->url, builtin ? "'" : "", builtin ? builtin : "no CA file is known",
			  builtin ? "' is missing" : "");
}

static int curl_failure(struct ap_err *err, int code, const struct xfer *x, CURLcode cc)
{
	char note[32];

	if (cc == CURLE_SSL_CACERT_BADFILE)
		return cacert_failure(err, x);

	/* libcurl's error buffer has the detail (host, port, path) when it has any */
	return ap_err_set(err, code, "downloading '%s' failed%s: %s", x->url,
			  attempts_note(x, note, sizeof(note)),
			  x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
}

static int http_failure(struct ap_err *err, int code, const struct xfer *x)
{
	char note[32];

	return ap_err_set(err, code, "downloading '%s' failed%s: HTTP %ld%s%s", x->url,
			  attempts_note(x, note, sizeof(note)), x->status, x->reason[0] ? " " : "",
			  x->reason);
}

/* The start of one attempt: reset what the last one decided and point the
 * handle at x->url, from x->base when the .partial is continued.  The
 * transfer itself is driven by curl_easy_perform (ap_fetch_mem) or by a
 * multi handle (ap_fetch_many); attempt_end judges it either way. */
static int attempt_begin(struct xfer *x, struct ap_err *err)
{
	CURLcode cc;
	char range[32];

	x->decided = false;
	x->discard = false;
	x->status = 0;
	x->range_start = -1;
	x->reason[0] = '\0';
	x->stop = STOP_NONE;
	x->resumed = false;
	x->restarted = false;
	x->written = 0;
	x->have = 0;
	x->errbuf[0] = '\0';
	ap_err_clear(&x->ioerr);

	/* A plain Range header rather than CURLOPT_RESUME_FROM_LARGE over http:
	 * libcurl fails a 200 answer to a resume before the body, where we want
	 * to take that body as the file from zero in the same transfer. */
	cc = curl_easy_setopt(x->h, CURLOPT_URL, x->url);
	range[0] = '\0';
	if (x->base > 0 && x->is_http)
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->base);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(x->h, CURLOPT_RANGE, range[0] ? range : NULL);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(x->h, CURLOPT_RESUME_FROM_LARGE,
				      (curl_off_t)(x->is_http ? 0 : x->base));
	if (cc != CURLE_OK)
		return curl_failure(err, AP_E_FETCH, x, cc);
	return 0;
}

/* The end of one attempt that finished with cc.  In file mode x->base bytes
 * were already in the .partial and were continued; the file is flushed,
 * fsynced and closed before returning. */
static enum xfer_outcome attempt_end(struct xfer *x, CURLcode cc, int *rc, struct ap_err *err)
{
	long code = 0;

	if (cc == CURLE_OK && x->stop == STOP_NONE && !x->decided)
		decide(x); /* an empty body */
	if (cc == CURLE_OK && x->stop == STOP_NONE && x->discard)
		x->stop = STOP_HTTP; /* a redirect that went nowhere */
	if (curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code != 0)
		x->status = code;

	if (x->fp) {
		int frc = 0;

		if (cc == CURLE_OK && x->stop == STOP_NONE)
			frc = ap_fsx_fsync_fp(x->fp, x->partial, &x->ioerr);
		else if (fflush(x->fp) != 0)
			frc = ap_err_sys(&x->ioerr, AP_E_IO, "writing '%s' failed", x->partial);
		if (fclose(x->fp) != 0 && frc == 0)
			frc = ap_err_sys(&x->ioerr, AP_E_IO, "closing '%s' failed", x->partial);
		x->fp = NULL;
		if (frc != 0 && x->stop == STOP_NONE)
			x->stop = STOP_IO;
	}

	switch (x->stop) {
	case STOP_IO:
		*rc = ap_err_set(err, x->ioerr.code, "%s", x->ioerr.msg);
		return OUT_FATAL;
	case STOP_TOOBIG:
		*rc = ap_err_set(err, AP_E_TOOBIG, "'%s' sent more than the expected %llu bytes",
				 x->url, (unsigned long long)x->limit);
		return OUT_FATAL;
	case STOP_BADRANGE:
		*rc = ap_err_set(err, AP_E_FETCH,
				 "downloading '%s' failed: the server answered a request for bytes "
				 "from %llu with a range starting at %lld",
				 x->url, (unsigned long long)x->base, (long long)x->range_start);
		return OUT_BADRANGE;
	case STOP_HTTP:
		if (x->status == 416 && x->partial && x->base > 0)
			return OUT_RANGE_END;
		if (x->status == 404 || x->status == 410) {
			*rc = http_failure(err, AP_E_NOTFOUND, x);
			return OUT_FATAL;
		}
		*rc = http_failure(err, AP_E_FETCH, x);
		return http_transient(x->status) ? OUT_TRANSIENT : OUT_FATAL;
	case STOP_NONE:
		break;
	}
	if (cc == CURLE_OK)
		return OUT_DONE;
	if (cc == CURLE_BAD_DOWNLOAD_RESUME && x->partial && x->base > 0)
		return OUT_RANGE_END; /* file:// shorter than the .partial */
	if (cc == CURLE_FILE_COULDNT_READ_FILE) {
		*rc = curl_failure(err, AP_E_NOTFOUND, x, cc);
		return OUT_FATAL;
	}
	*rc = curl_failure(err, AP_E_FETCH, x, cc);
	return curl_transient(cc) ? OUT_TRANSIENT : OUT_FATAL;
}

/* One attempt on this thread (ap_fetch_mem). */
static enum xfer_outcome run_attempt(struct xfer *x, int *rc, struct ap_err *err)
{
	*rc = attempt_begin(x, err);
	if (*rc != 0)
		return OUT_FATAL;
	return attempt_end(x, curl_easy_perform(x->h), rc, err);
}

static int check_url(const char *url, struct ap_err *err)
{
	if (!ap_fetch_url_ok(url))
		return ap_err_set(err, AP_E_FETCH,
				  "refusing to download '%s': only http://, https:// and file:// "
				  "urls are supported",
				  url ? url : "(null)");
	return 0;
}

static int open_handle(const struct ap_fetch_opts *o, struct xfer *x, struct ap_err *err)
{
	CURLcode cc;

	x->h = curl_easy_init();
	if (!x->h)
		return ap_err_set(err, AP_E_NOMEM, "starting a download of '%s' failed", x->url);
	cc = setup_handle(x->h, o, x);
	if (cc != CURLE_OK)
		return curl_failure(err, AP_E_FETCH, x, cc);
	return 0;
}

/* Resuming: hash the bytes already in the .partial, once, so that the
 * hash can continue with the new ones as they are written. */
static int hash_partial(struct xfer *x, struct ap_err *err)
{
	unsigned char *buf = NULL;
	FILE *fp = NULL;
	uint64_t done = 0;
	int rc = 0;

	x->synced = false;
	ap_digest_reset(x->hash);
	x->hashed = 0;
	buf = malloc(HASH_READ_SIZE);
	if (!buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory hashing '%s'", x->partial);
	rc = ap_fsx_fopen(x->partial, "rb", &fp, err);
	if (rc != 0)
		goto out;
	for (;;) {
		size_t n = fread(buf, 1, HASH_READ_SIZE, fp);

		ap_digest_update(x->hash, buf, n);
		done += n;
		if (n < HASH_READ_SIZE)
			break;
	}
	if (ferror(fp)) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", x->partial);
		goto out;
	}
	x->hashed = done;
	/* A file that changed since it was measured is read again at the end. */
	x->synced = done == x->base;
out:
	if (fp)
		fclose(fp);
	free(buf);
	return rc;
}

/* The .partial's size and sha256: from the running hash when it has taken
 * exactly the file's bytes, else by reading the file once more.  Either way
 * the running hash is finished and starts over before it is used again. */
static int partial_digest(struct xfer *x, char actual[AP_SHA256_HEX], uint64_t *actual_size,
			  struct ap_err *err)
{
	struct ap_stat st;
	bool synced = x->synced;
	int rc;

	x->synced = false;
	rc = ap_fsx_stat(x->partial, &st, err);
	if (rc != 0)
		return rc;
	if (synced && st.type == AP_FT_FILE && st.size == x->hashed) {
		ap_digest_final_hex(x->hash, actual);
		*actual_size = x->hashed;
		return 0;
	}
	return ap_digest_file(x->partial, actual, actual_size, NULL, NULL, err);
}

/* Compare the .partial with the expected size and sha256; *match tells the
 * verdict. */
static int check_partial(struct xfer *x, uint64_t size, const char *sha256, bool *match,
			 char actual[AP_SHA256_HEX], uint64_t *actual_size, struct ap_err *err)
{
	int rc = partial_digest(x, actual, actual_size, err);

	if (rc != 0)
		return rc;
	*match = *actual_size == size && ap_digest_eq(actual, sha256);
	return 0;
}

/* ---- files: one state machine per file, all driven by one multi handle ----
 *
 * ap_fetch_file is ap_fetch_many with one file, so a single download and a
 * parallel one share every step: the .partial looked at before each
 * attempt, the hash kept while writing, the verdict before the rename, the
 * retries and the move to the next url. */

enum job_state {
	JOB_QUEUED,  /* not started */
	JOB_PREPARE, /* about to try (again): the .partial is looked at first */
	JOB_ACTIVE,  /* its handle is in the multi handle */
	JOB_WAIT,    /* backing off until wake_ms */
	JOB_DONE,    /* pub->rc tells */
};

struct job {
	struct xfer x;
	struct ap_fetch_job *pub;
	enum job_state state;
	bool reaped;
	size_t url; /* the one of pub->urls being tried */
	char *partial;
	int retries_left;
	long delay;
	bool restart_used;
	int64_t wake_ms;
	struct ap_fetch_result r;
};

struct driver {
	CURLM *m;
	const struct ap_fetch_opts *o;
	const struct ap_fetch_many_ops *ops;
	size_t live;  /* started and not yet reaped */
	bool opened;  /* a file's body has come: the other slots may open */
	bool stopped; /* a file marked stop_on_failure failed: start no more */
};

static void job_finish(struct driver *d, struct job *j, int rc)
{
	if (rc != 0 && j->pub->stop_on_failure)
		d->stopped = true;
	if (rc == 0)
		d->opened = true;
	j->pub->rc = rc;
	j->pub->url = j->url;
	j->pub->res = j->r;
	j->state = JOB_DONE;
	if (d->ops && d->ops->on_done)
		d->ops->on_done(d->ops->ctx, j->x.index);
}

static void job_url_begin(struct driver *d, struct job *j);

/* The url being tried failed with rc (j->pub->err says how): the next url,
 * unless writing here failed (a full disk), which no other source helps. */
static void job_url_failed(struct driver *d, struct job *j, int rc)
{
	if (d->ops && d->ops->on_url_failed)
		d->ops->on_url_failed(d->ops->ctx, j->x.index, j->pub->urls[j->url], &j->pub->err);
	if (rc == AP_E_IO || rc == AP_E_NOMEM || j->url + 1 >= j->pub->n_urls) {
		job_finish(d, j, rc);
		return;
	}
	j->url++;
	job_url_begin(d, j);
}

static void job_url_begin(struct driver *d, struct job *j)
{
	const char *url = j->pub->urls[j->url];
	int rc;

	memset(&j->r, 0, sizeof(j->r));
	j->retries_left = retries_of(d->o);
	j->delay = first_delay_ms(d->o);
	j->restart_used = false;
	j->x.url = url;
	rc = check_url(url, &j->pub->err);
	if (rc != 0) {
		job_url_failed(d, j, rc);
		return;
	}
	j->x.is_http = url_is_http(url);
	j->state = JOB_PREPARE;
	if (d->ops && d->ops->on_start)
		d->ops->on_start(d->ops->ctx, j->x.index, url);
}

static void job_commit(struct driver *d, struct job *j)
{
	int rc = ap_fsx_rename(j->partial, j->pub->dest, &j->pub->err);

	if (rc != 0) {
		job_finish(d, j, rc);
		return;
	}
	ap_err_clear(&j->pub->err);
	job_finish(d, j, 0);
}

/* Before each attempt: a complete .partial needs no network at all; a
 * longer or wrong one goes; the bytes of one that is continued are hashed
 * (once).  Then the transfer is handed to the multi handle. */
static void job_prepare(struct driver *d, struct job *j)
{
	struct ap_err *err = &j->pub->err;
	struct xfer *x = &j->x;
	char actual[AP_SHA256_HEX];
	uint64_t actual_size = 0;
	struct ap_stat st;
	CURLMcode mc;
	bool match = false;
	int rc;

	rc = ap_fsx_stat(j->partial, &st, err);
	if (rc != 0)
		goto fail;
	if (st.type != AP_FT_NONE && st.type != AP_FT_FILE) {
		rc = ap_err_set(err, AP_E_IO, "'%s' is in the way: it is not a regular file",
				j->partial);
		goto fail;
	}
	x->base = st.type == AP_FT_FILE ? st.size : 0;
	if (st.type == AP_FT_FILE && st.size >= j->pub->size) {
		if (st.size == j->pub->size) {
			rc = check_partial(x, j->pub->size, j->pub->sha256, &match, actual,
					   &actual_size, err);
			if (rc != 0)
				goto fail;
			if (match) {
				job_commit(d, j);
				return;
			}
		}
		rc = ap_fsx_unlink(j->partial, err);
		if (rc != 0)
			goto fail;
		j->r.restarted = true;
		x->base = 0;
	}
	if (x->base > 0 && !(x->synced && x->hashed == x->base)) {
		rc = hash_partial(x, err);
		if (rc != 0)
			goto fail;
	}
	j->r.attempts++;
	x->attempt = j->r.attempts;
	rc = attempt_begin(x, err);
	if (rc != 0)
		goto fail;
	mc = curl_multi_add_handle(d->m, x->h);
	if (mc != CURLM_OK) {
		rc = ap_err_set(err, AP_E_FETCH, "downloading '%s' failed: %s", x->url,
				curl_multi_strerror(mc));
		goto fail;
	}
	j->state = JOB_ACTIVE;
	return;
fail:
	job_url_failed(d, j, rc);
}

/* An attempt ended with cc: judge it and decide what comes next. */
static void job_transfer_done(struct driver *d, struct job *j, CURLcode cc)
{
	struct ap_err *err = &j->pub->err;
	struct xfer *x = &j->x;
	char actual[AP_SHA256_HEX];
	uint64_t actual_size = 0;
	enum xfer_outcome outcome;
	bool match = false;
	bool continued;
	int rc = 0;

	(void)curl_multi_remove_handle(d->m, x->h);
	outcome = attempt_end(x, cc, &rc, err);
	j->r.bytes_received += x->written;
	j->r.http_status = x->status;
	if (x->resumed)
		j->r.resumed = true;
	if (x->restarted)
		j->r.restarted = true;
	continued = x->resumed || outcome == OUT_RANGE_END;
	j->state = JOB_PREPARE;

	switch (outcome) {
	case OUT_DONE:
	case OUT_RANGE_END:
		rc = check_partial(x, j->pub->size, j->pub->sha256, &match, actual, &actual_size,
				   err);
		if (rc != 0)
			break;
		if (match) {
			job_commit(d, j);
			return;
		}
		rc = ap_fsx_unlink(j->partial, err);
		if (rc != 0)
			break;
		if (continued && !j->restart_used) {
			/* the old bytes were wrong: once more, from zero */
			j->restart_used = true;
			j->r.restarted = true;
			return;
		}
		rc = ap_err_set(err, AP_E_DIGEST,
				"sha256 mismatch for '%s': expected %s (%llu bytes), got %s "
				"(%llu bytes)",
				x->url, j->pub->sha256, (unsigned long long)j->pub->size, actual,
				(unsigned long long)actual_size);
		break;
	case OUT_BADRANGE:
		if (j->restart_used)
			break;
		rc = ap_fsx_unlink(j->partial, err);
		if (rc != 0)
			break;
		j->restart_used = true;
		j->r.restarted = true;
		return;
	case OUT_TRANSIENT:
		if (j->retries_left <= 0)
			break;
		j->retries_left--;
		j->wake_ms = ap_fsx_monotonic_ms() + j->delay;
		if (j->delay < FETCH_MAX_DELAY_MS)
			j->delay *= 2;
		j->state = JOB_WAIT;
		return;
	case OUT_FATAL:
		/* should this unlink fail, the next try still refuses the
		 * leftover: it cannot hash to the expected value */
		if (rc == AP_E_TOOBIG)
			(void)ap_fsx_unlink(j->partial, NULL);
		break;
	}
	job_url_failed(d, j, rc);
}

/* Start file j: its names, hash and handle, then its first url. */
static void job_start(struct driver *d, struct job *j)
{
	struct ap_fetch_job *p = j->pub;
	const char *url0 = p->n_urls ? p->urls[0] : NULL;
	struct ap_err *err = &p->err;
	int rc;

	d->live++;
	j->x.o = d->o;
	j->x.ops = d->ops;
	j->x.limit = p->size;
	if (!url0) {
		rc = ap_err_set(err, AP_E_USAGE, "downloading '%s': no url given",
				p->dest ? p->dest : "(null)");
		goto fail;
	}
	rc = check_url(url0, err);
	if (rc != 0)
		goto fail;
	if (!p->dest || !*p->dest) {
		rc = ap_err_set(err, AP_E_USAGE, "downloading '%s': no destination given", url0);
		goto fail;
	}
	if (!p->sha256 || !ap_digest_is_hex(p->sha256)) {
		rc = ap_err_set(err, AP_E_USAGE,
				"downloading '%s': expected sha256 '%s' is not 64 hex digits", url0,
				p->sha256 ? p->sha256 : "(null)");
		goto fail;
	}
	j->partial = ap_strcat2(p->dest, ".partial");
	j->x.hash = ap_digest_new();
	if (!j->partial || !j->x.hash) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory downloading '%s'", url0);
		goto fail;
	}
	j->x.partial = j->partial;
	j->x.url = url0;
	rc = open_handle(d->o, &j->x, err);
	if (rc == 0 && curl_easy_setopt(j->x.h, CURLOPT_PRIVATE, (void *)j) != CURLE_OK)
		rc = ap_err_set(err, AP_E_FETCH, "starting a download of '%s' failed", url0);
	if (rc != 0)
		goto fail;
	job_url_begin(d, j);
	return;
fail:
	job_finish(d, j, rc);
}

static void job_release(struct job *j)
{
	if (j->x.fp)
		fclose(j->x.fp);
	j->x.fp = NULL;
	if (j->x.h)
		curl_easy_cleanup(j->x.h);
	j->x.h = NULL;
	curl_slist_free_all(j->x.headers);
	j->x.headers = NULL;
	ap_digest_free(j->x.hash);
	j->x.hash = NULL;
	free(j->partial);
	j->partial = NULL;
}

/* Done files give their slot (and handle) back. */
static void reap(struct driver *d, struct job *js, size_t n, size_t *done)
{
	for (size_t i = 0; i < n; i++) {
		if (js[i].state != JOB_DONE || js[i].reaped)
			continue;
		js[i].reaped = true;
		job_release(&js[i]);
		d->live--;
		(*done)++;
	}
}

/* One file first, the others once a body has come: a mirror that fails is
 * not asked N times over. */
static size_t open_slots(struct driver *d, struct job *js, size_t next, int parallel)
{
	for (size_t i = 0; i < next && !d->opened; i++)
		if (js[i].state == JOB_ACTIVE && js[i].x.written > 0)
			d->opened = true;
	return d->opened ? (size_t)parallel : 1;
}

/* Start what the slots allow; after a failure that ends the whole download,
 * the files not started are finished as not downloaded.  Then wake the
 * files whose retry wait is over and prepare them. */
static void start_jobs(struct driver *d, struct job *js, size_t n, size_t *next, int parallel)
{
	size_t slots = open_slots(d, js, *next, parallel);
	int64_t now;

	while (d->live < slots && *next < n && !d->stopped)
		job_start(d, &js[(*next)++]);
	while (d->stopped && *next < n) {
		struct job *j = &js[(*next)++];

		d->live++;
		ap_err_set(&j->pub->err, AP_E_FETCH, "not downloaded: another download failed");
		job_finish(d, j, AP_E_FETCH);
	}
	now = ap_fsx_monotonic_ms();
	for (size_t i = 0; i < *next; i++) {
		if (js[i].state == JOB_WAIT && now >= js[i].wake_ms)
			js[i].state = JOB_PREPARE;
		while (js[i].state == JOB_PREPARE)
			job_prepare(d, &js[i]);
	}
}

/* The transfers curl has finished, each judged by its own job. */
static void collect_done(struct driver *d)
{
	CURLMsg *msg;
	int left = 0;
	char *priv = NULL;

	while ((msg = curl_multi_info_read(d->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
		    !priv)
			continue;
		job_transfer_done(d, (struct job *)(void *)priv, msg->data.result);
	}
}

/* How long to wait in curl_multi_poll: -1 when there is work to do now,
 * else until the next retry wakes (at most a second; 50 ms while the other
 * slots wait for a first body). */
static long wait_ms(struct driver *d, struct job *js, size_t n, size_t next, size_t done,
		    int parallel)
{
	long timeout = 1000;
	int64_t now = ap_fsx_monotonic_ms();
	bool pending = false;

	for (size_t i = 0; i < next; i++) {
		if (js[i].state == JOB_PREPARE)
			pending = true;
		if (js[i].state == JOB_WAIT) {
			int64_t left = js[i].wake_ms - now;

			if (left < 0)
				left = 0;
			if (left < timeout)
				timeout = (long)left;
		}
	}
	if (pending || (d->live < open_slots(d, js, next, parallel) && next < n) || done == n)
		return -1;
	if (!d->opened && next < n && timeout > 50)
		timeout = 50;
	return timeout;
}

static int drive(struct driver *d, struct job *js, size_t n, int parallel, struct ap_err *err)
{
	size_t next = 0, done = 0;

	while (done < n) {
		int running = 0;
		long timeout;
		CURLMcode mc;

		start_jobs(d, js, n, &next, parallel);
		reap(d, js, n, &done);
		if (done == n)
			break;
		mc = curl_multi_perform(d->m, &running);
		if (mc != CURLM_OK)
			return ap_err_set(err, AP_E_FETCH, "downloading failed: %s",
					  curl_multi_strerror(mc));
		collect_done(d);
		reap(d, js, n, &done);
		timeout = wait_ms(d, js, n, next, done, parallel);
		if (timeout < 0)
			continue;
		mc = curl_multi_poll(d->m, NULL, 0, (int)timeout, NULL);
		if (mc != CURLM_OK)
			return ap_err_set(err, AP_E_FETCH, "downloading failed: %s",
					  curl_multi_strerror(mc));
	}
	return 0;
}

int ap_fetch_many(const struct ap_fetch_opts *opts, struct ap_fetch_job *jobs, size_t n,
		  int parallel, const struct ap_fetch_many_ops *ops, struct ap_err *err)
{
	static const struct ap_fetch_opts defaults = AP_FETCH_OPTS_INIT;
	struct driver d;
	struct job *js;
	int rc;

	if (parallel <= 0)
		parallel = AP_FETCH_PARALLEL_DEFAULT;
	if (parallel > AP_FETCH_PARALLEL_MAX)
		parallel = AP_FETCH_PARALLEL_MAX;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		jobs[i].rc = AP_E_FETCH;
		ap_err_clear(&jobs[i].err);
		jobs[i].url = 0;
		memset(&jobs[i].res, 0, sizeof(jobs[i].res));
	}
	js = calloc(n, sizeof(*js));
	if (!js)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	memset(&d, 0, sizeof(d));
	d.o = opts ? opts : &defaults;
	d.ops = ops;
	d.m = curl_multi_init();
	if (!d.m) {
		free(js);
		return ap_err_set(err, AP_E_NOMEM, "starting the downloads failed");
	}
	/* One connection per file: a server or CDN that caps each connection's
	 * rate is what several files at once are for, so no multiplexing. */
	(void)curl_multi_setopt(d.m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	for (size_t i = 0; i < n; i++) {
		js[i].pub = &jobs[i];
		js[i].x.index = i;
	}
	rc = drive(&d, js, n, parallel, err);
	for (size_t i = 0; i < n; i++) {
		if (js[i].state == JOB_ACTIVE)
			(void)curl_multi_remove_handle(d.m, js[i].x.h);
		job_release(&js[i]);
	}
	curl_multi_cleanup(d.m);
	free(js);
	return rc;
}

int ap_fetch_file(const struct ap_fetch_opts *opts, const char *url, const char *dest,
		  uint64_t size, const char sha256[AP_SHA256_HEX], struct ap_fetch_result *res,
		  struct ap_err *err)
{
	struct ap_fetch_job job;
	const char *urls[1];
	int rc;

	memset(&job, 0, sizeof(job));
	urls[0] = url;
	job.urls = urls;
	job.n_urls = 1;
	job.dest = dest;
	job.size = size;
	job.sha256 = sha256;
	rc = ap_fetch_many(opts, &job, 1, 1, NULL, err);
	if (rc != 0)
		return rc;
	if (job.rc != 0)
		return ap_err_set(err, job.rc, "%s", job.err.msg);
	if (res)
		*res = job.res;
	return 0;
}

int ap_fetch_mem(const struct ap_fetch_opts *opts, const char *url, size_t max, char **buf,
		 size_t *len, struct ap_err *err)
{
	static const struct ap_fetch_opts defaults = AP_FETCH_OPTS_INIT;
	const struct ap_fetch_opts *o = opts ? opts : &defaults;
	struct xfer x;
	int retries_left = retries_of(o);
	long delay = first_delay_ms(o);
	int attempts = 0;
	int rc;

	memset(&x, 0, sizeof(x));
	rc = check_url(url, err);
	if (rc != 0)
		return rc;
	if (!buf || !len)
		return ap_err_set(err, AP_E_USAGE, "downloading '%s': no place for the result",
				  url);
	x.o = o;
	x.url = url;
	x.is_http = url_is_http(url);
	x.limit = max;
	rc = open_handle(o, &x, err);
	if (rc != 0)
		goto out;

	for (;;) {
		enum xfer_outcome outcome;

		x.attempt = ++attempts;
		outcome = run_attempt(&x, &rc, err);
		if (outcome == OUT_DONE)
			break;
		if (outcome != OUT_TRANSIENT || retries_left <= 0)
			goto out;
		retries_left--;
		backoff(delay);
		if (delay < FETCH_MAX_DELAY_MS)
			delay *= 2;
	}
	if (!x.mem) {
		x.mem = malloc(1);
		if (!x.mem) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory downloading '%s'", url);
			goto out;
		}
	}
	x.mem[x.have] = '\0';
	*buf = x.mem;
	*len = (size_t)x.have;
	x.mem = NULL;
	rc = 0;
out:
	if (x.h)
		curl_easy_cleanup(x.h);
	curl_slist_free_all(x.headers);
	free(x.mem);
	return rc;
}

/* ---- single requests: one easy handle per session, reset per request ---- */

struct ap_http {
	CURL *h;
	struct ap_fetch_opts o;
	char errbuf[CURL_ERROR_SIZE]; /* the handle keeps pointing at it */
};

/* One request under way: what it sends and what has come back. */
struct http_call {
	const struct ap_http_req *q;
	struct ap_http_resp *r;
	struct ap_err *err;
	struct ap_strbuf body;
	size_t max;
	bool too_big;
	int read_rc; /* the read callback's failure */
};

int ap_http_new(const struct ap_fetch_opts *o, struct ap_http **out, struct ap_err *err)
{
	static const struct ap_fetch_opts defaults = AP_FETCH_OPTS_INIT;
	struct ap_http *s = calloc(1, sizeof(*s));

	if (s)
		s->h = curl_easy_init();
	if (!s || !s->h) {
		free(s);
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting an http session");
	}
	s->o = o ? *o : defaults;
	*out = s;
	return 0;
}

void ap_http_free(struct ap_http *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->h);
	free(s);
}

void ap_http_resp_release(struct ap_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The value of header `name` (lowercase, colon included) when line is that
 * header, trimmed, into out; a value longer than out is left out. */
static void http_capture(const char *line, size_t len, const char *name, char *out, size_t n)
{
	size_t i = strlen(name), end = len;

	if (len <= i || !prefix_nocase(line, name))
		return;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
		end--;
	if (end - i >= n)
		return;
	memcpy(out, line + i, end - i);
	out[end - i] = '\0';
}

static size_t http_on_header(char *data, size_t size, size_t n, void *ud)
{
	struct http_call *c = ud;
	struct ap_http_resp *r = c->r;
	size_t len = size * n;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): only its headers count */
		r->location[0] = r->digest[0] = r->authenticate[0] = r->content_type[0] = '\0';
		return len;
	}
	http_capture(data, len, "location:", r->location, sizeof(r->location));
	http_capture(data, len, "docker-content-digest:", r->digest, sizeof(r->digest));
	http_capture(data, len, "www-authenticate:", r->authenticate, sizeof(r->authenticate));
	http_capture(data, len, "content-type:", r->content_type, sizeof(r->content_type));
	return len;
}

static size_t http_on_body(char *data, size_t size, size_t n, void *ud)
{
	struct http_call *c = ud;
	size_t len = size * n;

	if (len > c->max - c->body.len) {
		c->too_big = true;
		return 0;
	}
	if (ap_strbuf_add(&c->body, data, len) != 0)
		return 0;
	return len;
}

static size_t http_on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct http_call *c = ud;
	const struct ap_http_req *q = c->q;
	uint64_t left = q->body_len - c->r->sent;
	size_t want = size * n, got = 0;

	if (q->body) {
		got = want < left ? want : (size_t)left;
		memcpy(buf, q->body + c->r->sent, got);
	} else {
		/* not held to body_len here: a source longer than it said is
		 * read on, so its reader sees (and counts) the extra bytes */
		c->read_rc = q->read(q->read_ctx, (unsigned char *)buf, want, &got, c->err);
		if (c->read_rc != 0)
			return CURL_READFUNC_ABORT;
	}
	c->r->sent += got;
	return got;
}

/* The method's options: HEAD without a body, PUT and POST sending one. */
static CURLcode http_method(CURL *h, struct http_call *c)
{
	const struct ap_http_req *q = c->q;
	bool has_body = q->body || q->read;
	CURLcode cc = CURLE_OK;

	if (strcmp(q->method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(q->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)(has_body ? q->body_len : 0));
	} else if (strcmp(q->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		if (has_body) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		} else {
			SET(CURLOPT_POSTFIELDS, "");
			SET(CURLOPT_POSTFIELDSIZE, 0L);
		}
	} else {
		SET(CURLOPT_CUSTOMREQUEST, q->method);
	}
	if (has_body) {
		SET(CURLOPT_READFUNCTION, http_on_read);
		SET(CURLOPT_READDATA, c);
	}
	return cc;
}

/* What a finished request comes to: the answer in r, or the error. */
static int http_outcome(struct ap_http *s, struct http_call *c, CURLcode cc, struct ap_err *err)
{
	const struct ap_http_req *q = c->q;

	if (c->read_rc != 0)
		return c->read_rc;
	if (c->too_big)
		return ap_err_set(err, AP_E_TOOBIG, "the answer to %s '%s' is over %zu bytes",
				  q->method, q->url, c->max);
	if (c->body.failed)
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading the answer to %s '%s'",
				  q->method, q->url);
	if (cc != CURLE_OK)
		return ap_err_set(err, cc == CURLE_OUT_OF_MEMORY ? AP_E_NOMEM : AP_E_FETCH,
				  "%s '%s' failed: %s", q->method, q->url,
				  s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
	if (curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &c->r->status) != CURLE_OK)
		c->r->status = 0;
	/* grown, so never the shared empty string: detach cannot fail */
	if (c->body.len > 0)
		c->r->body = ap_strbuf_detach(&c->body, &c->r->body_len);
	return 0;
}

int ap_http_request(struct ap_http *s, const struct ap_http_req *q, struct ap_http_resp *r,
		    struct ap_err *err)
{
	struct http_call call;
	struct curl_slist *hd = NULL;
	CURL *h = s->h;
	CURLcode cc = CURLE_OK;
	int rc;

	ap_http_resp_release(r);
	if (!q->method || !q->url || !url_is_http(q->url))
		return ap_err_set(err, AP_E_FETCH,
				  "refusing %s '%s': only http:// and https:// urls are supported",
				  q->method ? q->method : "(null)", q->url ? q->url : "(null)");
	memset(&call, 0, sizeof(call));
	call.q = q;
	call.r = r;
	call.err = err;
	call.max = q->max ? q->max : AP_HTTP_BODY_MAX;
	ap_strbuf_init(&call.body);
	for (const char *const *l = q->headers; l && *l && cc == CURLE_OK; l++) {
		struct curl_slist *more = curl_slist_append(hd, *l);

		if (!more)
			cc = CURLE_OUT_OF_MEMORY;
		else
			hd = more;
	}
	s->errbuf[0] = '\0';
	curl_easy_reset(h);
	if (cc == CURLE_OK)
		cc = setup_common(h, &s->o, s->errbuf, hd);
	SET(CURLOPT_URL, q->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, q->follow ? 1L : 0L);
	SET(CURLOPT_HEADERFUNCTION, http_on_header);
	SET(CURLOPT_HEADERDATA, &call);
	SET(CURLOPT_WRITEFUNCTION, http_on_body);
	SET(CURLOPT_WRITEDATA, &call);
	if (cc == CURLE_OK)
		cc = http_method(h, &call);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(h);
	rc = http_outcome(s, &call, cc, err);
	/* the handle must not keep pointers into this call */
	curl_easy_reset(h);
	curl_slist_free_all(hd);
	ap_strbuf_release(&call.body);
	if (rc != 0)
		ap_http_resp_release(r);
	return rc;
}
#undef SET
