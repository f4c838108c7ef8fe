/* str.h - small string and array helpers every module may use.
 *
 * Three growable containers, after git's strbuf.h and strvec.h:
 *
 *   struct ap_strbuf   a byte string that grows, always NUL-terminated
 *   struct ap_strvec   a NULL-terminated vector of strings it owns
 *   ap_vec_grow()      room for one more element in any array
 *
 * They never exit on out of memory: a strbuf remembers that it failed
 * ("sticky", like apk-tools' streams) so a run of appends is checked once at
 * the end; the other calls return AP_E_NOMEM.  None of them records into a
 * struct ap_err: the caller knows what it was doing and says so.
 */
#ifndef AP_STR_H
#define AP_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "airpack/err.h"

/* ---- strings ---- */

/* A malloc'd copy of s; NULL when s is NULL or out of memory. */
char *ap_strdup(const char *s);

/* A malloc'd copy of the n bytes at s with a NUL after them (s need not be
 * NUL-terminated); NULL when out of memory. */
char *ap_strndup(const char *s, size_t n);

/* A malloc'd a followed by b; NULL when out of memory. */
char *ap_strcat2(const char *a, const char *b);

/* True when s is exactly n lowercase hex digits (false for NULL). */
bool ap_str_is_lower_hex(const char *s, size_t n);

/* The value 0-15 of the hex digit c (either case), or -1. */
int ap_str_hex_digit(int c);

/* The n bytes at in as 2*n lowercase hex digits and a NUL in out (which
 * holds 2*n + 1 bytes). */
void ap_str_hex_encode(const unsigned char *in, size_t n, char *out);

/* in as it is, each control byte (below 0x20, 0x7f) shown as \xNN, cut to
 * fit out of outsz bytes (outsz >= 6): a name safe to put in a message.
 * Returns out. */
const char *ap_str_quoted(const char *in, char *out, size_t outsz);

/* ---- strbuf ---- */

struct ap_strbuf {
	char *buf;    /* NUL-terminated; never NULL (a shared "" until grown) */
	size_t len;   /* bytes before the NUL */
	size_t alloc; /* bytes malloc'd at buf; 0 while buf is the shared "" */
	bool failed;  /* an append ran out of memory: the contents are incomplete */
};

/* The shared empty string of an unused strbuf; never written. */
extern char ap_strbuf_slopbuf[];

/* clang-format off */
#define AP_STRBUF_INIT { ap_strbuf_slopbuf, 0, 0, false }
/* clang-format on */

void ap_strbuf_init(struct ap_strbuf *sb);

/* Free the contents; sb is empty (AP_STRBUF_INIT) again. */
void ap_strbuf_release(struct ap_strbuf *sb);

/* Empty sb, keeping its memory and forgetting a failure. */
void ap_strbuf_reset(struct ap_strbuf *sb);

/* Room for extra more bytes (and the NUL).  Returns 0 or AP_E_NOMEM (sb
 * marked failed). */
int ap_strbuf_grow(struct ap_strbuf *sb, size_t extra);

/* Append n bytes / a string / one byte / printf output.  Each returns 0 or
 * AP_E_NOMEM; once sb failed, every append is a no-op returning AP_E_NOMEM. */
int ap_strbuf_add(struct ap_strbuf *sb, const void *data, size_t n);
int ap_strbuf_addstr(struct ap_strbuf *sb, const char *s);
int ap_strbuf_addch(struct ap_strbuf *sb, char c);
int ap_strbuf_addf(struct ap_strbuf *sb, const char *fmt, ...) AP_PRINTF(2, 3);
int ap_strbuf_vaddf(struct ap_strbuf *sb, const char *fmt, va_list ap) AP_PRINTF(2, 0);

/* Give the contents to the caller: a malloc'd NUL-terminated string (free
 * it) with its length in *len (len may be NULL); sb is empty again.  NULL
 * when sb failed or out of memory (the contents are freed then). */
char *ap_strbuf_detach(struct ap_strbuf *sb, size_t *len);

/* ---- strvec ---- */

struct ap_strvec {
	char **v; /* n strings then NULL; NULL itself while nothing was pushed */
	size_t n;
	size_t alloc;
};

/* clang-format off */
#define AP_STRVEC_INIT { NULL, 0, 0 }
/* clang-format on */

void ap_strvec_init(struct ap_strvec *sv);

/* Free every string and the vector; sv is empty again. */
void ap_strvec_release(struct ap_strvec *sv);

/* Append a copy of s.  Returns 0 or AP_E_NOMEM (sv unchanged). */
int ap_strvec_push(struct ap_strvec *sv, const char *s);

/* Append s itself, taking ownership: on AP_E_NOMEM (also for s NULL, the
 * failed allocation of a caller's string) s is freed and sv unchanged. */
int ap_strvec_push_nodup(struct ap_strvec *sv, char *s);

/* True when sv holds a string equal to s. */
bool ap_strvec_has(const struct ap_strvec *sv, const char *s);

/* Give the vector to the caller (NULL-terminated, NULL when empty), with
 * its length in *n (n may be NULL); sv is empty again. */
char **ap_strvec_detach(struct ap_strvec *sv, size_t *n);

/* ---- strpool ---- */

/* Many small strings that live and die together (the paths of a release's
 * files): each copy costs its bytes and a NUL inside big blocks, not a
 * malloc'd chunk and its header; they are all freed at once.
 *
 *   struct ap_strpool pool = AP_STRPOOL_INIT;
 *   char *p = ap_strpool_dup(&pool, path);   // NULL: out of memory
 *   ...
 *   ap_strpool_release(&pool);               // every copy is gone
 */
struct ap_strpool_block;
struct ap_strpool {
	struct ap_strpool_block *blocks; /* the newest first */
	char *next;			 /* free bytes in the newest block */
	size_t left;
};

#define AP_STRPOOL_INIT                                                                            \
	{                                                                                          \
		NULL, NULL, 0                                                                      \
	}

/* A copy of s kept in the pool until ap_strpool_release; NULL when s is
 * NULL or out of memory (the pool is still whole). */
char *ap_strpool_dup(struct ap_strpool *pool, const char *s);
/* n bytes (at least one, not aligned, not initialised) kept in the pool
 * until ap_strpool_release, for a string the caller builds in place; NULL
 * when out of memory. */
char *ap_strpool_alloc(struct ap_strpool *pool, size_t n);
/* Free every copy; the pool is empty again and may be reused. */
void ap_strpool_release(struct ap_strpool *pool);

/* ---- vec ---- */

/* Room for need elements of elem bytes in the array p, which has room for
 * *alloc (or, alloc NULL, exactly need - 1: an array kept at its length).
 * Returns p when it is large enough, else p realloc'd with *alloc raised
 * (doubling, at least 8); NULL when out of memory or need * elem overflows,
 * and then p is untouched and still the caller's.  need must be at least 1.
 *
 *   struct rec *p = ap_vec_grow(s->recs, &s->alloc, s->n + 1, sizeof(*p));
 *   if (!p)
 *           return nomem(...);
 *   s->recs = p;
 */
void *ap_vec_grow(void *p, size_t *alloc, size_t need, size_t elem);

#endif
