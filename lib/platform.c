/* platform.c - executable headers and platform names (platform.h). */
#include "airpack/platform.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "airpack/fsx.h"

static unsigned get_u16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ELF: 64-bit, little-endian, e_machine at offset 18. */
static const char *elf_platform(const unsigned char *h, size_t n)
{
	if (n < 20 || memcmp(h, "\177ELF", 4) != 0 || h[4] != 2 || h[5] != 1)
		return NULL;
	switch (get_u16(h + 18)) {
	case 62:
		return "linux-amd64";
	case 183:
		return "linux-arm64";
	default:
		return NULL;
	}
}

/* PE: "MZ", e_lfanew at 0x3c, "PE\0\0" there and the machine after it. */
static const char *pe_platform(const unsigned char *h, size_t n)
{
	uint32_t pe;

	if (n < 0x40 || h[0] != 'M' || h[1] != 'Z')
		return NULL;
	pe = get_u32(h + 0x3c);
	if (pe > n || n - pe < 6 || memcmp(h + pe, "PE\0\0", 4) != 0)
		return NULL;
	switch (get_u16(h + pe + 4)) {
	case 0x8664:
		return "windows-amd64";
	case 0xaa64:
		return "windows-arm64";
	default:
		return NULL;
	}
}

const char *ap_platform_of_header(const unsigned char *head, size_t n)
{
	const char *p = elf_platform(head, n);

	return p ? p : pe_platform(head, n);
}

int ap_platform_of_file(const char *path, const char **platform, struct ap_err *err)
{
	unsigned char head[AP_PLATFORM_HEAD];
	FILE *fp = NULL;
	size_t n;
	int rc;

	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc)
		return rc;
	n = fread(head, 1, sizeof(head), fp);
	if (ferror(fp))
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
	else
		*platform = ap_platform_of_header(head, n);
	fclose(fp);
	return rc;
}

const char *ap_platform_host(void)
{
#if defined(_WIN32) && (defined(__aarch64__) || defined(_M_ARM64))
	return "windows-arm64";
#elif defined(_WIN32)
	return "windows-amd64";
#elif defined(__aarch64__)
	return "linux-arm64";
#else
	return "linux-amd64";
#endif
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* a and b equal ignoring ASCII case over their first n bytes, a's of
 * length n exactly */
static bool eq_nocase(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!b[i] || lower(a[i]) != lower(b[i]))
			return false;
	return b[i] == '\0' || b[i] == '-';
}

bool ap_platform_matches(const char *release_platform, const char *platform)
{
	if (!release_platform)
		return true;
	if (!platform)
		return false;
	if (strchr(release_platform, '-'))
		return strlen(release_platform) == strlen(platform) &&
		       eq_nocase(release_platform, strlen(release_platform), platform);
	return eq_nocase(release_platform, strlen(release_platform), platform);
}
