/* secret.c - wiping and freeing buffers that hold secrets; see
 * airpack/secret.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/secret.h"
#include "airpack/err.h"
#include "airpack/fsx.h"
#include "airpack/banned.h"

/* Calling memset through a volatile pointer keeps the compiler from proving
 * the store dead and dropping it (no OpenSSL outside digest.c/sign.c). */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void ap_secret_wipe(void *p, size_t n)
{
	if (p && n)
		wipe_memset(p, 0, n);
}

void ap_secret_free(char *buf, size_t len)
{
	if (!buf)
		return;
	ap_secret_wipe(buf, len);
	free(buf);
}

void ap_secret_free_str(char *s)
{
	if (s)
		ap_secret_free(s, strlen(s));
}

int ap_secret_read(const char *path, size_t max, char **buf, size_t *len, struct ap_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	FILE *fp = stdin;
	char *b;
	size_t n = 0, got;
	int rc = 0;

	if (!is_stdin) {
		rc = ap_fsx_fopen(path, "rb", &fp, err);
		if (rc)
			return rc;
	}
	/* One allocation for the largest allowed input: growing a buffer would
	 * leave unwiped copies of the secret in freed memory. */
	b = malloc(max + 2);
	if (!b) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading '%s'", name);
		goto out;
	}
	while (n <= max && (got = fread(b + n, 1, max + 1 - n, fp)) > 0)
		n += got;
	if (ferror(fp)) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", name);
	} else if (n > max) {
		rc = ap_err_set(err, AP_E_TOOBIG, "'%s' is larger than %zu bytes", name, max);
	}
	if (rc) {
		ap_secret_free(b, n);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
out:
	if (!is_stdin)
		fclose(fp);
	return rc;
}

int ap_secret_read_line(size_t max, char **buf, size_t *len, struct ap_err *err)
{
	char *b;
	size_t n = 0;
	bool ended = false;
	int c, rc = 0;

	b = malloc(max + 2);
	if (!b)
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading standard input");
	while ((c = getchar()) != EOF) {
		if (c == '\n') {
			ended = true;
			break;
		}
		if (n == max) {
			rc = ap_err_set(err, AP_E_TOOBIG,
					"the line on standard input is longer "
					"than %zu bytes",
					max);
			break;
		}
		b[n++] = (char)c;
	}
	if (rc == 0 && ferror(stdin))
		rc = ap_err_sys(err, AP_E_IO, "cannot read standard input");
	else if (rc == 0 && n == 0 && !ended)
		rc = ap_err_set(err, AP_E_USAGE, "no input: standard input ended before a line");
	if (rc) {
		ap_secret_free(b, n);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
