/* test_digest.c - SHA-256 known vectors, streaming, files, hex helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/str.h"
#include "tap.h"
#include "testutil.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* head -c 1048576 /dev/zero | tr '\0' a | openssl dgst -sha256 */
#define MIB_A_SHA "9bc1b2a288b26af7257a36277ae3816a7d4f16e89c1e7e77d0a5c48bad62b360"
#define MIB (1024 * 1024)

struct progress_log {
	int calls;
	uint64_t last;
	int decreasing;
};

static void on_progress(void *ctx, uint64_t done)
{
	struct progress_log *p = ctx;

	if (done < p->last)
		p->decreasing++;
	p->last = done;
	p->calls++;
}

static void test_vectors(unsigned char *mib)
{
	struct ap_digest *h;
	unsigned char raw[AP_SHA256_LEN];
	char hex[AP_SHA256_HEX];
	char raw_hex[AP_SHA256_HEX];

	ap_digest_hex("", 0, hex);
	is_str(hex, EMPTY_SHA, "sha256 of the empty string");
	ap_digest_hex("abc", 3, hex);
	is_str(hex, ABC_SHA, "sha256 of 'abc'");
	ap_digest_hex(mib, MIB, hex);
	is_str(hex, MIB_A_SHA, "sha256 of 1 MiB of 'a'");

	h = ap_digest_new();
	ok(h != NULL, "ap_digest_new");
	ap_digest_final_hex(h, hex);
	is_str(hex, EMPTY_SHA, "streaming hash with no update is the empty-string hash");

	ap_digest_reset(h);
	ap_digest_update(h, "a", 1);
	ap_digest_update(h, "", 0);
	ap_digest_update(h, "bc", 2);
	ap_digest_final_hex(h, hex);
	is_str(hex, ABC_SHA, "streaming 'a' + '' + 'bc' after reset");

	ap_digest_reset(h);
	ap_digest_update(h, "abc", 3);
	ap_digest_final(h, raw);
	ap_str_hex_encode(raw, sizeof(raw), raw_hex);
	is_str(raw_hex, ABC_SHA, "ap_digest_final raw bytes encode to the same hex");
	is_int(raw[0], 0xba, "first raw byte");
	is_int(raw[31], 0xad, "last raw byte");

	/* Odd chunk sizes that straddle the 64-byte block boundary. */
	{
		static const size_t chunks[] = { 1, 3, 63, 64, 65, 127, 4093, 65537, 7 };
		size_t off = 0;
		size_t i = 0;

		ap_digest_reset(h);
		while (off < MIB) {
			size_t c = chunks[i++ % (sizeof(chunks) / sizeof(chunks[0]))];

			if (c > MIB - off)
				c = MIB - off;
			ap_digest_update(h, mib + off, c);
			off += c;
		}
		ap_digest_final_hex(h, hex);
		is_str(hex, MIB_A_SHA, "1 MiB in odd chunk sizes equals the one-shot hash");
	}

	/* A different last byte must change the hash. */
	mib[MIB - 1] = 'b';
	ap_digest_hex(mib, MIB, hex);
	ok(strcmp(hex, MIB_A_SHA) != 0, "one changed byte changes the hash");
	mib[MIB - 1] = 'a';

	ap_digest_free(h);
	ap_digest_free(NULL);
	ok(1, "ap_digest_free(NULL) is a no-op");
}

static void test_file(const char *dir, const unsigned char *mib)
{
	struct progress_log log = { 0, 0, 0 };
	struct ap_err err = AP_ERR_INIT;
	char path[4096];
	char missing[4096];
	char hex[AP_SHA256_HEX] = "untouched";
	uint64_t size = 12345;
	FILE *fp;
	int rc;

	/* 3 MiB + 5 bytes: more than one buffer and a short last read.
	 * (head -c 3145733 of 'a' bytes | openssl dgst -sha256) */
	snprintf(path, sizeof(path), "%s/payload.bin", dir);
	fp = fopen(path, "wb");
	ok(fp != NULL, "create payload file");
	if (!fp)
		return;
	for (int i = 0; i < 3; i++)
		fwrite(mib, 1, MIB, fp);
	fwrite("aaaaa", 1, 5, fp);
	fclose(fp);

	rc = ap_digest_file(path, hex, &size, on_progress, &log, &err);
	is_int(rc, 0, "ap_digest_file on a 3 MiB + 5 file: %s", err.msg);
	is_int(size, 3 * MIB + 5, "ap_digest_file reports the size");
	is_str(hex, "aff2c7498aae939dfb2fb1dc6c0c83fa3708b069428e51338801af7f5dc2bf0f",
	       "ap_digest_file hash of 3 MiB + 5 'a' bytes");
	ok(log.calls >= 4, "progress called for every buffer (%d calls)", log.calls);
	is_int(log.last, 3 * MIB + 5, "last progress value is the file size");
	is_int(log.decreasing, 0, "progress never goes backwards");

	/* Exactly 1 MiB: the size of the buffer. */
	fp = fopen(path, "wb");
	fwrite(mib, 1, MIB, fp);
	fclose(fp);
	rc = ap_digest_file(path, hex, NULL, NULL, NULL, &err);
	is_int(rc, 0, "ap_digest_file with NULL size and progress");
	is_str(hex, MIB_A_SHA, "ap_digest_file of 1 MiB equals the one-shot value");

	fp = fopen(path, "wb");
	fclose(fp);
	rc = ap_digest_file(path, hex, &size, NULL, NULL, &err);
	is_int(rc, 0, "ap_digest_file on an empty file");
	is_str(hex, EMPTY_SHA, "empty file hash");
	is_int(size, 0, "empty file size");

	snprintf(missing, sizeof(missing), "%s/no-such-file.cab", dir);
	memcpy(hex, "untouched", 10);
	size = 777;
	rc = ap_digest_file(missing, hex, &size, NULL, NULL, &err);
	is_int(rc, AP_E_NOTFOUND, "missing file gives AP_E_NOTFOUND");
	is_int(err.code, AP_E_NOTFOUND, "err.code recorded");
	contains(err.msg, missing, "missing-file error names the path");
	is_str(hex, "untouched", "hex not written on failure");
	is_int(size, 777, "size not written on failure");

	rc = ap_digest_file(dir, hex, &size, NULL, NULL, &err);
	ok(rc < 0, "hashing a folder fails (rc %d)", rc);
	contains(err.msg, dir, "folder error names the path");

	ap_fsx_unlink(path, NULL);
}

static void test_hex(void)
{
	const char *sixty_four = ABC_SHA;
	char buf[80];
	char out[9];
	static const unsigned char bytes[] = { 0x00, 0x0f, 0xa5, 0xff };

	ap_str_hex_encode(bytes, sizeof(bytes), out);
	is_str(out, "000fa5ff", "ap_str_hex_encode lowercase, leading zeroes");
	ap_str_hex_encode(bytes, 0, out);
	is_str(out, "", "ap_str_hex_encode of nothing");

	ok(ap_digest_is_hex(sixty_four), "64 hex digits accepted");
	memcpy(buf, sixty_four, 63);
	buf[63] = '\0';
	ok(!ap_digest_is_hex(buf), "63 hex digits rejected");
	memcpy(buf, sixty_four, 64);
	buf[64] = '0';
	buf[65] = '\0';
	ok(!ap_digest_is_hex(buf), "65 hex digits rejected");
	memcpy(buf, sixty_four, 65);
	buf[10] = 'g';
	ok(!ap_digest_is_hex(buf), "a non-hex 'g' rejected");
	buf[10] = ' ';
	ok(!ap_digest_is_hex(buf), "a space rejected");
	memcpy(buf, sixty_four, 65);
	for (int i = 0; i < 64; i++)
		if (buf[i] >= 'a' && buf[i] <= 'f')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	ok(ap_digest_is_hex(buf), "uppercase hex accepted");
	ok(ap_digest_eq(buf, sixty_four), "ap_digest_eq ignores case");
	ok(!ap_digest_eq(EMPTY_SHA, ABC_SHA), "different digests differ");
	ok(!ap_digest_is_hex(""), "empty string rejected");
	ok(!ap_digest_is_hex(NULL), "NULL rejected");
	ok(!ap_digest_eq("abc", "ABC"), "non-digests never compare equal");
}

int main(void)
{
	struct ap_err err = AP_ERR_INIT;
	unsigned char *mib = malloc(MIB);
	char *dir;

	if (!mib)
		return 1;
	memset(mib, 'a', MIB);
	dir = tu_mkdtemp("ap-test-digest");
	ok(dir != NULL, "mkdtemp");
	if (!dir)
		return tap_done();

	test_vectors(mib);
	test_file(dir, mib);
	test_hex();

	ok(ap_fsx_rm_rf(dir, &err) == 0, "remove temp folder: %s", err.msg);
	free(dir);
	free(mib);
	return tap_done();
}
