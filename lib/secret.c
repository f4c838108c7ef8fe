/* secret.c - wiping and freeing buffers that hold secrets; see
 * airpack/secret.h. */
#include <stdlib.h>
#include <string.h>

#include "airpack/secret.h"
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
