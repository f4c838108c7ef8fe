/* test_sink.c - streaming a payload into its final name while hashing and
 * checking it (airpack/sink.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"
#include "airpack/sink.h"
#include "tap.h"
#include "testutil.h"

#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ZERO_SHA256 "0000000000000000000000000000000000000000000000000000000000000000"
#define SAYS "the signed manifest says"

static char *dir;

/* The file's content as a string ("" when missing). */
static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;

	if (ap_fsx_read_file(path, 1 << 20, &buf, &len, NULL) != 0)
		return strdup("");
	return buf;
}

/* Names in a folder joined by spaces: shows a left-over temp file. */
static char *listing(const char *path)
{
	static char out[4096];
	char **names = NULL;
	size_t n = 0;

	out[0] = '\0';
	if (ap_fsx_list_dir(path, &names, &n, NULL) != 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, sizeof(out) - used, "%s%s", i ? " " : "", names[i]);
	}
	ap_fsx_strv_free(names, n);
	return out;
}

static unsigned file_mode(const char *path)
{
	struct ap_stat st;

	if (ap_fsx_stat(path, &st, NULL) != 0 || st.type == AP_FT_NONE)
		return 0xffffffffu;
	return st.mode;
}

static void test_right_hash(void)
{
	struct ap_sink_expect x = { "abc.src", true, 3, ABC_SHA256, SAYS };
	struct ap_sink s = AP_SINK_INIT;
	struct ap_err err = AP_ERR_INIT;
	char *sub = ap_fsx_path_join(dir, "right");
	char *path = ap_fsx_path_join(sub, "abc.bin");
	char hex[AP_SHA256_HEX] = "";
	char *got;
	int rc;

	ap_fsx_mkdir_p(sub, 0755, NULL);
	rc = ap_sink_open(&s, path, 0640, &x, &err);
	is_int(rc, 0, "open a sink: %s", err.msg);
	is_int(ap_sink_write(&s, "a", 1, &err), 0, "write 1 byte");
	is_int(ap_sink_write(&s, "bc", 2, &err), 0, "write up to the size exactly");
	is_int(ap_sink_write(&s, "", 0, &err), 0, "an empty write at the cap is fine");
	ok(!ap_fsx_is_file(path), "nothing under the final name before commit");
	rc = ap_sink_commit(&s, hex, &err);
	is_int(rc, 0, "commit with the right size and sha256: %s", err.msg);
	is_str(hex, ABC_SHA256, "commit hands back the sha256");
	is_str(s.hex, ABC_SHA256, "the sink keeps the sha256 readable");
	is_int(s.done, 3, "the sink counted 3 bytes");
	got = slurp(path);
	is_str(got, "abc", "the final name holds the bytes");
	free(got);
	is_mode(file_mode(path), 0640, "the file has the mode asked for");
	is_str(listing(sub), "abc.bin", "no temporary file is left");
	ap_sink_abort(&s);
	ok(1, "abort after commit is safe");

	/* Case of the expected hex does not matter. */
	x.sha256 = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
	rc = ap_sink_open(&s, path, 0644, &x, &err);
	if (rc == 0)
		rc = ap_sink_write(&s, "abc", 3, &err);
	if (rc == 0)
		rc = ap_sink_commit(&s, NULL, &err);
	is_int(rc, 0, "an uppercase expected sha256 matches: %s", err.msg);
	free(path);
	free(sub);
}

static void test_cap_exceeded(void)
{
	struct ap_sink_expect x = { "entry.bin", true, 2, ABC_SHA256, SAYS };
	struct ap_sink s = AP_SINK_INIT;
	struct ap_err err = AP_ERR_INIT;
	char *sub = ap_fsx_path_join(dir, "cap");
	char *path = ap_fsx_path_join(sub, "entry.bin");
	int rc;

	ap_fsx_mkdir_p(sub, 0755, NULL);
	rc = ap_sink_open(&s, path, 0644, &x, &err);
	is_int(rc, 0, "open a sink capped at 2 bytes");
	is_int(ap_sink_write(&s, "a", 1, &err), 0, "1 byte is under the cap");
	rc = ap_sink_write(&s, "bc", 2, &err);
	is_int(rc, AP_E_DIGEST, "a write past the cap is a digest error");
	is_str(err.msg, "'entry.bin' is larger than the 2 bytes the signed manifest says",
	       "the message names the subject, the size and who expects it");
	is_int(s.done, 1, "none of the refused write's bytes were taken");
	ap_err_clear(&err);
	rc = ap_sink_write(&s, "", 0, &err);
	is_int(rc, AP_E_DIGEST, "the failure sticks: a later write returns it");
	rc = ap_sink_commit(&s, NULL, &err);
	is_int(rc, AP_E_DIGEST, "and so does commit");
	ok(!ap_fsx_is_file(path), "nothing under the final name");
	is_str(listing(sub), "", "no temporary file is left");

	/* Without a says phrase the message reads "expected". */
	x.says = NULL;
	x.size = 0;
	rc = ap_sink_open(&s, path, 0644, &x, &err);
	if (rc == 0)
		rc = ap_sink_write(&s, "a", 1, &err);
	is_int(rc, AP_E_DIGEST, "one byte into a sink expecting 0 is refused");
	is_str(err.msg, "'entry.bin' is larger than the 0 bytes expected", "the default wording");
	ap_sink_abort(&s);
	is_str(listing(sub), "", "abort leaves no temporary file");
	free(path);
	free(sub);
}

static void test_short_input(void)
{
	struct ap_sink_expect x = { NULL, true, 5, NULL, NULL };
	struct ap_sink s = AP_SINK_INIT;
	struct ap_err err = AP_ERR_INIT;
	char *sub = ap_fsx_path_join(dir, "short");
	char *path = ap_fsx_path_join(sub, "short.bin");
	char *want = NULL;
	char hex[AP_SHA256_HEX] = "untouched";
	int rc;

	ap_fsx_mkdir_p(sub, 0755, NULL);
	rc = ap_sink_open(&s, path, 0644, &x, &err);
	if (rc == 0)
		rc = ap_sink_write(&s, "abc", 3, &err);
	is_int(rc, 0, "3 of 5 bytes written");
	rc = ap_sink_commit(&s, hex, &err);
	is_int(rc, AP_E_DIGEST, "commit of a short payload is a digest error");
	want = malloc(strlen(path) + 64);
	snprintf(want, strlen(path) + 64, "'%s' is 3 bytes, expected 5", path);
	is_str(err.msg, want, "the message names the destination (no what) and both sizes");
	is_str(hex, "untouched", "hex is not written on failure");
	is_str(s.hex, ABC_SHA256, "the sink still tells what it hashed");
	ok(!ap_fsx_is_file(path), "nothing under the final name");
	is_str(listing(sub), "", "no temporary file is left");
	free(want);
	free(path);
	free(sub);
}

static void test_wrong_hash(void)
{
	struct ap_sink_expect x = { NULL, true, 3, ZERO_SHA256, SAYS };
	struct ap_err err = AP_ERR_INIT;
	char *sub = ap_fsx_path_join(dir, "wrong");
	char *src = ap_fsx_path_join(dir, "abc.src");
	char *path = ap_fsx_path_join(sub, "app.zip");
	size_t wlen = strlen(src) + 256;
	char *want = malloc(wlen);
	char *got;
	int rc;

	ap_fsx_mkdir_p(sub, 0755, NULL);
	ok(tu_write(src, "abc", 3) == 0 && tu_write(path, "old bytes", 9) == 0,
	   "a source and an old destination");
	rc = ap_sink_copy_file(src, path, 0644, &x, NULL, NULL, NULL, &err);
	is_int(rc, AP_E_DIGEST, "copy with the wrong sha256 is a digest error");
	snprintf(want, wlen, "'%s' has sha256 %s, the signed manifest says %s", src, ABC_SHA256,
		 ZERO_SHA256);
	is_str(err.msg, want, "the message names the source and both hashes");
	got = slurp(path);
	is_str(got, "old bytes", "the final name keeps its old bytes");
	free(got);
	is_str(listing(sub), "app.zip", "no temporary file is left");

	/* A payload shorter than the signed size: the size is named first. */
	x.size = 4;
	rc = ap_sink_copy_file(src, path, 0644, &x, NULL, NULL, NULL, &err);
	is_int(rc, AP_E_DIGEST, "copy of a short file fails");
	snprintf(want, wlen, "'%s' is 3 bytes, the signed manifest says 4", src);
	is_str(err.msg, want, "the message names both sizes");
	is_str(listing(sub), "app.zip", "still no temporary file");

	x.sha256 = "abc";
	rc = ap_sink_copy_file(src, path, 0644, &x, NULL, NULL, NULL, &err);
	is_int(rc, AP_E_USAGE, "an expected sha256 that is not 64 hex digits is refused");
	contains(err.msg, "not 64 hex digits", "the message says why");
	is_str(listing(sub), "app.zip", "nothing was created");
	free(want);
	free(path);
	free(src);
	free(sub);
}

struct progress_log {
	unsigned calls;
	uint64_t last;
};

static void on_progress(void *ctx, uint64_t done)
{
	struct progress_log *p = ctx;

	p->calls++;
	p->last = done;
}

static void test_no_expectation(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct progress_log pl = { 0, 0 };
	struct ap_sink s = AP_SINK_INIT;
	char *src = ap_fsx_path_join(dir, "big.src");
	char *dst = ap_fsx_path_join(dir, "big.copy");
	char *missing = ap_fsx_path_join(dir, "no-such-file");
	char *abc = ap_fsx_path_join(dir, "abc.src");
	char *out = ap_fsx_path_join(dir, "abc.copy");
	char want[AP_SHA256_HEX], hex[AP_SHA256_HEX] = "";
	size_t big = (5u << 19) + 7; /* 2.5 MiB + 7: three reads of the 1 MiB buffer */
	unsigned char *data = malloc(big);
	uint64_t size = 0;
	int rc;

	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 31 + (i >> 9));
	ok(tu_write(src, data, big) == 0, "a 2.5 MiB source");
	free(data);
	rc = ap_sink_copy_file(src, dst, 0600, NULL, on_progress, &pl, hex, &err);
	is_int(rc, 0, "copy without an expectation: %s", err.msg);
	ap_digest_file(src, want, &size, NULL, NULL, NULL);
	is_str(hex, want, "it returns the payload's sha256");
	ap_digest_file(dst, want, &size, NULL, NULL, NULL);
	is_str(hex, want, "the copy has the same bytes");
	is_int(size, big, "the copy has the same size");
	is_int(pl.calls, 3, "progress is called once per buffer");
	is_int(pl.last, big, "progress ends at the full size");
	is_mode(file_mode(dst), 0600, "the copy has the mode asked for");

	rc = ap_sink_copy_file(abc, out, 0644, NULL, NULL, NULL, hex, &err);
	is_int(rc, 0, "copy of a small file");
	is_str(hex, ABC_SHA256, "sha256 of 'abc'");

	rc = ap_sink_copy_file(missing, out, 0644, NULL, NULL, NULL, hex, &err);
	is_int(rc, AP_E_NOTFOUND, "a missing source is not found");
	contains(err.msg, missing, "the message names the source");
	ok(strstr(listing(dir), ".tmp-") == NULL, "no temporary file is left (%s)", listing(dir));

	/* Misuse is reported, not crashed on. */
	rc = ap_sink_write(&s, "x", 1, &err);
	is_int(rc, AP_E_USAGE, "a write to an unopened sink is refused");
	rc = ap_sink_commit(&s, NULL, &err);
	is_int(rc, AP_E_USAGE, "a commit of an unopened sink is refused");
	ap_sink_abort(&s);
	ap_sink_abort(NULL);
	ok(1, "abort of an unopened sink and of NULL is safe");
	free(src);
	free(dst);
	free(missing);
	free(abc);
	free(out);
}

int main(void)
{
	dir = tu_mkdtemp("airpack-test-sink");
	if (!ok(dir != NULL, "a temporary folder"))
		return tap_done();
	test_right_hash();
	test_cap_exceeded();
	test_short_input();
	test_wrong_hash();
	test_no_expectation();
	ok(tu_rm_rf(dir) == 0, "remove the temporary folder");
	free(dir);
	return tap_done();
}
