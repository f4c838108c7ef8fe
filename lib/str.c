/* str.c - small string helpers; see airpack/str.h. */
#include <stdlib.h>
#include <string.h>

#include "airpack/str.h"
#include "airpack/banned.h"

char *ap_strdup(const char *s)
{
	if (!s)
		return NULL;
	return ap_strndup(s, strlen(s));
}

char *ap_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *ap_strcat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

bool ap_is_lower_hex(const char *s, size_t n)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == n;
}
