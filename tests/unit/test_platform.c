/* test_platform.c - executable headers and platform names (airpack/platform.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"
#include "airpack/platform.h"
#include "tap.h"

/* The smallest header each format is recognised by: ELF's ident and
 * e_machine, PE's "MZ", e_lfanew and the COFF machine. */
static size_t elf(unsigned char *h, unsigned cls, unsigned machine)
{
	memset(h, 0, 64);
	memcpy(h, "\177ELF", 4);
	h[4] = (unsigned char)cls;
	h[5] = 1;
	h[18] = (unsigned char)(machine & 0xff);
	h[19] = (unsigned char)(machine >> 8);
	return 64;
}

static size_t pe(unsigned char *h, unsigned lfanew, unsigned machine)
{
	memset(h, 0, 512);
	h[0] = 'M';
	h[1] = 'Z';
	h[0x3c] = (unsigned char)(lfanew & 0xff);
	h[0x3d] = (unsigned char)(lfanew >> 8);
	memcpy(h + lfanew, "PE\0\0", 4);
	h[lfanew + 4] = (unsigned char)(machine & 0xff);
	h[lfanew + 5] = (unsigned char)(machine >> 8);
	return 512;
}

static void is_plat(const char *got, const char *want, const char *what)
{
	if (!want)
		ok(got == NULL, "%s: unknown (got %s)", what, got ? got : "NULL");
	else
		ok(got && strcmp(got, want) == 0, "%s: %s (got %s)", what, want,
		   got ? got : "NULL");
}

static void test_headers(void)
{
	unsigned char h[512];
	size_t n;

	n = elf(h, 2, 62);
	is_plat(ap_platform_of_header(h, n), "linux-amd64", "ELF64 x86-64");
	n = elf(h, 2, 183);
	is_plat(ap_platform_of_header(h, n), "linux-arm64", "ELF64 AArch64");
	n = elf(h, 1, 3);
	is_plat(ap_platform_of_header(h, n), NULL, "ELF32 i386");
	n = elf(h, 2, 62);
	is_plat(ap_platform_of_header(h, 19), NULL, "ELF cut before e_machine");
	n = pe(h, 0x80, 0x8664);
	is_plat(ap_platform_of_header(h, n), "windows-amd64", "PE x86-64");
	n = pe(h, 0x80, 0xaa64);
	is_plat(ap_platform_of_header(h, n), "windows-arm64", "PE ARM64");
	n = pe(h, 0x80, 0x14c);
	is_plat(ap_platform_of_header(h, n), NULL, "PE i386");
	n = pe(h, 0x80, 0x8664);
	is_plat(ap_platform_of_header(h, 0x82), NULL, "PE signature past the bytes read");
	h[0x3c] = 0xff;
	h[0x3d] = 0xff;
	h[0x3e] = 0xff;
	h[0x3f] = 0xff;
	is_plat(ap_platform_of_header(h, n), NULL, "e_lfanew far past the end");
	memcpy(h, "#!/bin/sh\n", 10);
	is_plat(ap_platform_of_header(h, 10), NULL, "a shell script");
	is_plat(ap_platform_of_header(h, 0), NULL, "no bytes");
}

static void test_files(void)
{
	const char *p = "unset";
	struct ap_err err = AP_ERR_INIT;
	char *self = NULL;
	int rc;

	/* This test program is an executable for the host (an ELF file, or a
	 * PE one under wine). */
	rc = ap_fsx_self_exe(&self, &err);
	if (rc == 0)
		rc = ap_platform_of_file(self, &p, &err);
	ok(rc == 0, "this test program's header is read (%s)", rc ? err.msg : self);
	is_plat(p, ap_platform_host(), "this test program is for the host's platform");
	free(self);
	rc = ap_platform_of_file(TEST_DATA "/no-such-file", &p, &err);
	ok(rc == AP_E_NOTFOUND, "a missing file is AP_E_NOTFOUND (%d: %s)", rc, err.msg);
}

static void test_matches(void)
{
	ok(ap_platform_matches(NULL, "linux-amd64"), "no platform runs anywhere");
	ok(ap_platform_matches("linux-amd64", "linux-amd64"), "same platform");
	ok(ap_platform_matches("Linux-AMD64", "linux-amd64"), "case does not count");
	ok(!ap_platform_matches("windows-amd64", "linux-amd64"), "windows is not linux");
	ok(!ap_platform_matches("linux-arm64", "linux-amd64"), "arm64 is not amd64");
	ok(!ap_platform_matches("linux-amd64", NULL), "an unknown executable matches nothing");
	ok(ap_platform_matches("Windows", "windows-amd64"), "a system alone matches its platforms");
	ok(ap_platform_matches("linux", "linux-arm64"), "linux matches linux-arm64");
	ok(!ap_platform_matches("lin", "linux-amd64"), "a prefix of the system is not it");
	ok(!ap_platform_matches("linux-amd6", "linux-amd64"), "a prefix of the platform is not it");
	ok(!ap_platform_matches("linux-amd64x", "linux-amd64"), "nor a longer one");
}

int main(void)
{
	test_headers();
	test_files();
	test_matches();
	return tap_done();
}
