/* text.c - character classes, DNS names and safe character descriptions for
 * the IoT Edge layer's validators; see iotedge/text.h. */
#include <stdio.h>
#include <string.h>

#include "iotedge/text.h"
#include "airpack/banned.h"

/* A printable rendering of one character for messages: "'x'" or "byte 0x0a". */
const char *ap_text_char_desc(char c, char buf[16])
{
	unsigned char u = (unsigned char)c;

	if (u > 0x20 && u < 0x7f && c != '\'')
		snprintf(buf, 16, "'%c'", c);
	else if (c == ' ')
		snprintf(buf, 16, "a space");
	else if (c == '\'')
		snprintf(buf, 16, "a quote");
	else
		snprintf(buf, 16, "byte 0x%02x", u);
	return buf;
}

bool ap_text_ieq(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);

	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

bool ap_text_eq(const char *a, size_t an, const char *b)
{
	return an == strlen(b) && memcmp(a, b, an) == 0;
}

/* Validate a DNS name: labels of 1-63 letters, digits and '-', not starting
 * or ending with '-', at most 253 characters, at least min_labels labels. */
int ap_text_dns_check(const char *s, size_t n, int min_labels, const char *what, struct ap_err *err)
{
	size_t start = 0;
	int label = 0;
	char cb[16];

	if (n == 0)
		return ap_err_set(err, AP_E_USAGE, "%s: empty", what);
	if (n > AP_TEXT_DNS_NAME_MAX)
		return ap_err_set(err, AP_E_USAGE, "%s: %zu characters, at most %d allowed", what,
				  n, AP_TEXT_DNS_NAME_MAX);
	while (start <= n) {
		size_t end = start;

		while (end < n && s[end] != '.')
			end++;
		label++;
		if (end == start)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: label %d is empty (a dot at the start or end, or "
					  "two dots in a row)",
					  what, label);
		if (end - start > 63)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: label %d is %zu characters, at most 63 allowed",
					  what, label, end - start);
		for (size_t i = start; i < end; i++)
			if (!ap_text_is_alnum(s[i]) && s[i] != '-')
				return ap_err_set(err, AP_E_USAGE,
						  "%s: label %d has %s; DNS labels use only "
						  "letters, digits and '-'",
						  what, label, ap_text_char_desc(s[i], cb));
		if (s[start] == '-' || s[end - 1] == '-')
			return ap_err_set(err, AP_E_USAGE, "%s: label %d starts or ends with '-'",
					  what, label);
		start = end + 1;
	}
	if (label < min_labels)
		return ap_err_set(err, AP_E_USAGE,
				  "%s: a single label, expected a DNS name such as "
				  "{hub}.azure-devices.net",
				  what);
	return 0;
}

/* Text the user typed is quoted in a message only when it is short and shares
 * no 4-character run with the SharedAccessKey, so a key pasted in the wrong
 * place (or without its label) never reaches an error message. */
#define QUOTE_MAX 20

static bool shares_run(const char *text, size_t n, const char *key, size_t kn)
{
	if (!key || kn < 4 || n < 4)
		return false;
	for (size_t i = 0; i + 4 <= n; i++)
		for (size_t j = 0; j + 4 <= kn; j++)
			if (memcmp(text + i, key + j, 4) == 0)
				return true;
	return false;
}

bool ap_text_quotable(const char *text, size_t n, const char *key, size_t kn)
{
	if (n == 0 || n > QUOTE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)text[i];

		if (u <= 0x20 || u >= 0x7f || u == '\'' || u == '"' || u == '\\')
			return false;
	}
	return !shares_run(text, n, key, kn);
}
