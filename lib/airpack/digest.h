/* digest.h - streaming SHA-256 and hex helpers (OpenSSL EVP underneath). */
#ifndef AP_DIGEST_H
#define AP_DIGEST_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"

#define AP_SHA256_LEN 32
#define AP_SHA256_HEX 65 /* 64 hex digits and a NUL */

struct ap_digest; /* opaque */

/* Start a hash.  Returns NULL only when out of memory.  Free with ap_digest_free. */
struct ap_digest *ap_digest_new(void);
void ap_digest_update(struct ap_digest *h, const void *data, size_t len);
/* Finish: writes 64 lowercase hex digits + NUL into hex.  The context may be
 * reused after ap_digest_reset. */
void ap_digest_final_hex(struct ap_digest *h, char hex[AP_SHA256_HEX]);
void ap_digest_final(struct ap_digest *h, unsigned char out[AP_SHA256_LEN]);
void ap_digest_reset(struct ap_digest *h);
void ap_digest_free(struct ap_digest *h);

/* One-shot hash of a buffer into hex. */
void ap_digest_hex(const void *data, size_t len, char hex[AP_SHA256_HEX]);

/* Hash a whole file in a streaming pass with a fixed buffer.  `progress`
 * (may be NULL) is called with bytes done so far.  Writes hex and, if
 * size_out is not NULL, the byte count, only on success. */
int ap_digest_file(const char *path, char hex[AP_SHA256_HEX], uint64_t *size_out,
		   void (*progress)(void *ctx, uint64_t done), void *ctx, struct ap_err *err);

/* ap_digest_file on a file the caller opened (and closes): the bytes hashed
 * are the ones that open file gives, whatever the name says now.  path only
 * names it in messages. */
int ap_digest_fp(FILE *fp, const char *path, char hex[AP_SHA256_HEX], uint64_t *size_out,
		 void (*progress)(void *ctx, uint64_t done), void *ctx, struct ap_err *err);


/* True when s is exactly 64 lowercase-or-uppercase hex digits. */
bool ap_digest_is_hex(const char *s);

/* Compare two hex digests ignoring case. */
bool ap_digest_eq(const char *a, const char *b);

#endif
