/* fetch_tool.c - a small command line over ap_fetch_* for the integration tests.
 *
 *   ap-fetch-tool get URL DEST SIZE SHA256
 *       prints "ok bytes=N resumed=0|1 restarted=0|1 attempts=N status=N"
 *       and, with AP_FETCH_PROGRESS=1, a first line
 *       "progress calls=N first=HAVE last=HAVE/TOTAL"
 *   ap-fetch-tool mem URL MAX
 *       prints the body
 *   ap-fetch-tool join BASE NAME
 *       prints ap_fetch_url_join(BASE, NAME)
 *   ap-fetch-tool escape TEXT
 *       prints ap_fetch_url_escape(TEXT)
 *   ap-fetch-tool req METHOD URL MAX [--follow] [--header LINE]...
 *                 [--data TEXT | --file PATH]
 *       one ap_http_request (the body from memory, or from PATH through a
 *       reader, its length the file's size); prints "status=N sent=N", the
 *       captured headers one a line (location=, digest=, authenticate=,
 *       content-type=), then "body=" and the body
 *
 * On failure it prints "error <name>: <message>" and exits with
 * ap_err_exit_code.  Options come from the environment:
 * AP_FETCH_RETRY_MS (first retry delay), AP_FETCH_RETRIES (0: none),
 * AP_FETCH_LOW_SPEED_TIME, AP_FETCH_CONNECT_TIMEOUT (seconds),
 * AP_FETCH_CACERT (CA file) and AP_FETCH_PROXY.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airpack/err.h"
#include "airpack/fetch.h"
#include "airpack/fsx.h"
#include "airpack/banned.h"

struct progress_seen {
	unsigned long calls;
	uint64_t first, last, total;
};

static void on_progress(void *ctx, uint64_t have, uint64_t total)
{
	struct progress_seen *p = ctx;

	if (p->calls++ == 0)
		p->first = have;
	p->last = have;
	p->total = total;
}

static int usage(void)
{
	fprintf(stderr, "usage: ap-fetch-tool get URL DEST SIZE SHA256\n"
			"       ap-fetch-tool mem URL MAX\n"
			"       ap-fetch-tool join BASE NAME\n"
			"       ap-fetch-tool escape TEXT\n"
			"       ap-fetch-tool req METHOD URL MAX [--follow] [--header LINE]... "
			"[--data TEXT | --file PATH]\n");
	return 2;
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void env_long(const char *name, long *out)
{
	unsigned long long v;

	if (parse_u64(getenv(name), &v) == 0)
		*out = (long)v;
}

static int fail(const struct ap_err *err)
{
	printf("error %s: %s\n", ap_err_name(err->code), err->msg);
	return ap_err_exit_code(err->code);
}

/* The request body's reader: the upload file, read as the request goes. */
static int read_file(void *ctx, unsigned char *buf, size_t n, size_t *got, struct ap_err *err)
{
	FILE *fp = ctx;

	*got = fread(buf, 1, n, fp);
	if (*got == 0 && ferror(fp))
		return ap_err_sys(err, AP_E_IO, "reading the upload failed");
	return 0;
}

static void print_resp(const struct ap_http_resp *r)
{
	printf("status=%ld sent=%llu\n", r->status, (unsigned long long)r->sent);
	printf("location=%s\ndigest=%s\nauthenticate=%s\ncontent-type=%s\nbody=", r->location,
	       r->digest, r->authenticate, r->content_type);
	if (r->body)
		fwrite(r->body, 1, r->body_len, stdout);
}

/* req METHOD URL MAX [options]: argv starts at METHOD. */
static int cmd_req(const struct ap_fetch_opts *o, int argc, char **argv, struct ap_err *err)
{
	struct ap_http_req q;
	struct ap_http_resp r;
	struct ap_http *s = NULL;
	const char *headers[16];
	unsigned long long max;
	size_t nh = 0;
	FILE *fp = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	if (argc < 3 || parse_u64(argv[2], &max) != 0)
		return ap_err_set(err, AP_E_USAGE, "req: METHOD URL MAX expected");
	q.method = argv[0];
	q.url = argv[1];
	q.max = (size_t)max;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0) {
			q.follow = true;
		} else if (strcmp(argv[i], "--header") == 0 && i + 1 < argc && nh + 1 < 16) {
			headers[nh++] = argv[++i];
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			q.body = argv[++i];
			q.body_len = strlen(q.body);
		} else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc && !fp) {
			struct stat st;

			/* the length from the file that is read, not its path */
			rc = ap_fsx_fopen(argv[++i], "rb", &fp, err);
			if (rc != 0)
				goto out;
			if (fstat(fileno(fp), &st) != 0) {
				rc = ap_err_sys(err, AP_E_IO, "cannot stat '%s'", argv[i]);
				goto out;
			}
			q.body_len = (uint64_t)st.st_size;
			q.read = read_file;
			q.read_ctx = fp;
		} else {
			rc = ap_err_set(err, AP_E_USAGE, "req: unknown option '%s'", argv[i]);
			goto out;
		}
	}
	headers[nh] = NULL;
	q.headers = headers;
	rc = ap_http_new(o, &s, err);
	if (rc == 0)
		rc = ap_http_request(s, &q, &r, err);
	if (rc == 0)
		print_resp(&r);
out:
	ap_http_resp_release(&r);
	ap_http_free(s);
	if (fp)
		fclose(fp);
	return rc;
}

int main(int argc, char **argv)
{
	struct ap_fetch_opts o = AP_FETCH_OPTS_INIT;
	struct ap_err err = AP_ERR_INIT;
	struct progress_seen seen = { 0, 0, 0, 0 };
	const char *show_progress = getenv("AP_FETCH_PROGRESS");
	unsigned long long n;
	long retries = -1; /* unset: the library's default */
	int rc;

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "join") == 0) {
		char *u;

		if (argc != 4)
			return usage();
		u = ap_fetch_url_join(argv[2], argv[3]);
		if (!u)
			return 1;
		printf("%s\n", u);
		free(u);
		return 0;
	}

	env_long("AP_FETCH_RETRY_MS", &o.retry_delay_ms);
	env_long("AP_FETCH_RETRIES", &retries);
	env_long("AP_FETCH_LOW_SPEED_TIME", &o.low_speed_time);
	env_long("AP_FETCH_CONNECT_TIMEOUT", &o.connect_timeout);
	if (retries == 0)
		o.retries = AP_FETCH_NO_RETRY;
	else if (retries > 0)
		o.retries = (int)retries;
	o.cacert = getenv("AP_FETCH_CACERT");
	o.proxy = getenv("AP_FETCH_PROXY");
	if (show_progress && strcmp(show_progress, "1") == 0) {
		o.progress = on_progress;
		o.progress_ctx = &seen;
	}
	if (ap_fetch_global_init(&err) != 0)
		return fail(&err);

	if (strcmp(argv[1], "get") == 0 && argc == 6 && parse_u64(argv[4], &n) == 0) {
		struct ap_fetch_result res;

		rc = ap_fetch_file(&o, argv[2], argv[3], n, argv[5], &res, &err);
		if (o.progress)
			printf("progress calls=%lu first=%llu last=%llu/%llu\n", seen.calls,
			       (unsigned long long)seen.first, (unsigned long long)seen.last,
			       (unsigned long long)seen.total);
		if (rc == 0)
			printf("ok bytes=%llu resumed=%d restarted=%d attempts=%d status=%ld\n",
			       (unsigned long long)res.bytes_received, res.resumed ? 1 : 0,
			       res.restarted ? 1 : 0, res.attempts, res.http_status);
	} else if (strcmp(argv[1], "req") == 0) {
		rc = cmd_req(&o, argc - 2, argv + 2, &err);
	} else if (strcmp(argv[1], "escape") == 0 && argc == 3) {
		char *e = ap_fetch_url_escape(argv[2]);

		rc = e ? 0 : ap_err_set(&err, AP_E_NOMEM, "out of memory");
		if (e)
			printf("%s\n", e);
		free(e);
	} else if (strcmp(argv[1], "mem") == 0 && argc == 4 && parse_u64(argv[3], &n) == 0) {
		char *buf = NULL;
		size_t len = 0;

		rc = ap_fetch_mem(&o, argv[2], (size_t)n, &buf, &len, &err);
		if (rc == 0) {
			if (fwrite(buf, 1, len, stdout) != len)
				rc = ap_err_set(&err, AP_E_IO, "writing to stdout failed");
			free(buf);
		}
	} else {
		ap_fetch_global_cleanup();
		return usage();
	}
	ap_fetch_global_cleanup();
	if (rc != 0)
		return fail(&err);
	return 0;
}
