/* secret.h - buffers that hold secrets (a device key, a password, a
 * configuration file that holds them): wiped before they are freed.
 */
#ifndef AP_SECRET_H
#define AP_SECRET_H

#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop.
 * p may be NULL when n is 0. */
void ap_secret_wipe(void *p, size_t n);

/* Wipe the first len bytes of buf, then free it.  NULL is a no-op.  Use it for
 * every buffer that holds a secret. */
void ap_secret_free(char *buf, size_t len);

/* ap_secret_free(s, strlen(s)); NULL is a no-op. */
void ap_secret_free_str(char *s);

#endif
