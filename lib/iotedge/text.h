/* text.h - character classes, DNS names and safe descriptions of a character
 * for messages, shared by the IoT Edge layer's validators (private to
 * lib/iotedge/).
 */
#ifndef AP_IOTEDGE_TEXT_H
#define AP_IOTEDGE_TEXT_H

#include <stddef.h>
#include <stdbool.h>
#include "airpack/err.h"

#define AP_TEXT_DNS_NAME_MAX 253

static inline bool ap_text_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static inline bool ap_text_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool ap_text_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || ap_text_is_digit(c);
}

static inline bool ap_text_is_hex(char c)
{
	return ap_text_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A printable rendering of one character for messages: "'x'", "a space",
 * "a quote" or "byte 0x0a" (written to buf, which is returned). */
const char *ap_text_char_desc(char c, char buf[16]);

/* a[0..an) equals the string b, ignoring ASCII case / exactly. */
bool ap_text_ieq(const char *a, size_t an, const char *b);
bool ap_text_eq(const char *a, size_t an, const char *b);

/* s[0..n) is a DNS name: labels of 1-63 letters, digits and '-', not
 * starting or ending with '-', at most AP_TEXT_DNS_NAME_MAX characters and
 * at least min_labels labels.  AP_E_USAGE naming what and the label. */
int ap_text_dns_check(const char *s, size_t n, int min_labels, const char *what,
		      struct ap_err *err);

/* text[0..n) may be quoted in a message: 1..20 printable ASCII characters
 * without quotes or backslashes that share no 4-character run with
 * key[0..kn) (key may be NULL), so a secret pasted in the wrong place never
 * reaches a message. */
bool ap_text_quotable(const char *text, size_t n, const char *key, size_t kn);

#endif
