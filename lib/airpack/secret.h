/* secret.h - buffers that hold secrets (a device key, a password, a
 * configuration file that holds them): wiped before they are freed.
 */
#ifndef AP_SECRET_H
#define AP_SECRET_H

#include <stddef.h>
#include "airpack/err.h"

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop.
 * p may be NULL when n is 0. */
void ap_secret_wipe(void *p, size_t n);

/* Wipe the first len bytes of buf, then free it.  NULL is a no-op.  Use it for
 * every buffer that holds a secret. */
void ap_secret_free(char *buf, size_t len);

/* ap_secret_free(s, strlen(s)); NULL is a no-op. */
void ap_secret_free_str(char *s);

/* Read a file that may hold secrets (path "-": standard input) into one
 * buffer of max + 2 bytes allocated up front, so no reallocation leaves
 * copies behind; NUL-terminated (*len excludes the NUL).  More than max
 * bytes is AP_E_TOOBIG.  Free with ap_secret_free(*buf, *len).  The outputs
 * are written only on success. */
int ap_secret_read(const char *path, size_t max, char **buf, size_t *len, struct ap_err *err);

/* Like ap_secret_read on standard input, but stop at the first line break
 * (which is not kept) or the end of input: what someone types at a terminal,
 * ended with Enter.  The end of input before any byte is AP_E_USAGE ("no
 * input"); a line longer than max bytes is AP_E_TOOBIG. */
int ap_secret_read_line(size_t max, char **buf, size_t *len, struct ap_err *err);

#endif
