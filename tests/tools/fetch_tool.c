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

#include "airpack/err.h"
#include "airpack/fetch.h"
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
			"       ap-fetch-tool join BASE NAME\n");
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
