/* str.h - small string helpers every module may use. */
#ifndef AP_STR_H
#define AP_STR_H

#include <stdbool.h>
#include <stddef.h>

/* A malloc'd copy of s; NULL when s is NULL or out of memory. */
char *ap_strdup(const char *s);

/* A malloc'd copy of the n bytes at s with a NUL after them (s need not be
 * NUL-terminated); NULL when out of memory. */
char *ap_strndup(const char *s, size_t n);

/* A malloc'd a followed by b; NULL when out of memory. */
char *ap_strcat2(const char *a, const char *b);

/* True when s is exactly n lowercase hex digits (false for NULL). */
bool ap_is_lower_hex(const char *s, size_t n);

#endif
