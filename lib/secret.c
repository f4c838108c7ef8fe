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
