/* winname.c - names Windows treats specially; see airpack/winname.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/winname.h"
#include "airpack/banned.h"

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

size_t ap_winname_trimmed_len(const char *name, size_t len)
{
	while (len > 0 && (name[len - 1] == '.' || name[len - 1] == ' '))
		len--;
	return len;
}

/* base[0..n) equals the ASCII word w, ignoring case. */
static bool word_is(const char *base, size_t n, const char *w)
{
	size_t wl = strlen(w);

	if (n != wl)
		return false;
	for (size_t i = 0; i < n; i++)
		if (upper(base[i]) != w[i])
			return false;
	return true;
}

/* COM or LPT followed by 1-9 or a superscript 1, 2 or 3 (UTF-8 C2 B9,
 * C2 B2, C2 B3). */
static bool numbered_device(const char *base, size_t n)
{
	if (n < 4 || !(word_is(base, 3, "COM") || word_is(base, 3, "LPT")))
		return false;
	if (n == 4)
		return base[3] >= '1' && base[3] <= '9';
	return n == 5 && (unsigned char)base[3] == 0xc2 &&
	       ((unsigned char)base[4] == 0xb9 || (unsigned char)base[4] == 0xb2 ||
		(unsigned char)base[4] == 0xb3);
}

/* The name without its extension and the spaces before it is a device. */
static bool reserved_device(const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len);
	size_t n = dot ? (size_t)(dot - name) : len;

	while (n > 0 && name[n - 1] == ' ')
		n--;
	return word_is(name, n, "CON") || word_is(name, n, "PRN") || word_is(name, n, "AUX") ||
	       word_is(name, n, "NUL") || word_is(name, n, "CONIN$") ||
	       word_is(name, n, "CONOUT$") || numbered_device(name, n);
}

const char *ap_winname_part_problem(const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (name[i]) {
		case ':':
			return i == 1 && len >= 2 ? "a drive or a data stream (':')"
						  : "an alternate data stream (':')";
		case '<':
		case '>':
		case '"':
		case '|':
		case '?':
		case '*':
			return "a character Windows refuses in names (< > : \" | ? *)";
		default:
			break;
		}
	}
	if (len > 0 && (name[len - 1] == '.' || name[len - 1] == ' '))
		return "a name ending in a dot or a space (Windows drops them)";
	if (reserved_device(name, len))
		return "a reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)";
	return NULL;
}

const char *ap_winname_path_problem(const char *path, size_t *bad_off, size_t *bad_len)
{
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		const char *why = ap_winname_part_problem(p, len);

		if (why) {
			if (bad_off)
				*bad_off = (size_t)(p - path);
			if (bad_len)
				*bad_len = len;
			return why;
		}
		if (!slash)
			return NULL;
		p = slash + 1;
	}
}

bool ap_winname_platform_is_windows(const char *platform)
{
	return platform && strlen(platform) >= 7 && word_is(platform, 7, "WINDOWS");
}

bool ap_winname_platform_is_foreign(const char *platform)
{
	if (!platform)
		return false;
#ifdef _WIN32
	return !ap_winname_platform_is_windows(platform);
#else
	return ap_winname_platform_is_windows(platform);
#endif
}

/* Decode one UTF-8 sequence at s (len bytes left); *n gets its length.
 * Malformed bytes decode as themselves, one at a time. */
static uint32_t decode(const unsigned char *s, size_t len, size_t *n)
{
	if (s[0] >= 0xc2 && s[0] <= 0xdf && len >= 2 && (s[1] & 0xc0) == 0x80) {
		*n = 2;
		return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	}
	*n = 1;
	return s[0];
}

/* Upper case as Windows' table has it, for the two-byte letters it folds
 * most often: Latin-1, Latin Extended-A, Greek and Cyrillic. */
static uint32_t fold_cp(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 32;
	if ((c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) ||
	    (c >= 0x430 && c <= 0x44f))
		return c - 32;
	if (c == 0xff)
		return 0x178;
	if (c >= 0x450 && c <= 0x45f)
		return c - 80;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177) ||
	    (c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) || (c >= 0x4d0 && c <= 0x52f))
		return c & ~1u;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1u) ? c : c - 1;
	return c;
}

static size_t encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = (char)(0xc0 | (c >> 6));
	out[1] = (char)(0x80 | (c & 0x3f));
	return 2;
}

char *ap_winname_fold(const char *path)
{
	size_t len = strlen(path);
	char *out = malloc(len + 1);
	size_t o = 0;
	const char *p = path;

	if (!out)
		return NULL;
	/* Folding never lengthens: every folded letter keeps its byte count
	 * (U+00FF folds to U+0178, both two bytes). */
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		size_t keep = ap_winname_trimmed_len(p, n);

		for (size_t i = 0; i < keep;) {
			size_t step;
			uint32_t c = decode((const unsigned char *)p + i, keep - i, &step);

			if (step == 1 && c >= 0x80)
				out[o++] = (char)c;
			else
				o += encode(fold_cp(c), out + o);
			i += step;
		}
		if (!slash)
			break;
		out[o++] = '/';
		p = slash + 1;
	}
	out[o] = '\0';
	return out;
}
