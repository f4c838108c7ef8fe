/* test_bundle.c - bundle writer and reader: round trips, determinism, interop
 * with GNU tar, and every refusal. */
#include <inttypes.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "tap.h"
#include "testarc.h"
#include "testutil.h"

#define MTIME 1000000000 /* 2001-09-09 01:46:40 UTC */
#define NPAY 3

static char *tmp;

static char *tpath(const char *name)
{
	char *p = ap_fsx_path_join(tmp, name);

	if (!p)
		abort();
	return p;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		abort();
}

static long file_size(const char *path)
{
	FILE *fp = fopen(path, "rb");
	long n;

	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fclose(fp);
	return n;
}

/* 1 when both files hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int ca, cb, same = fa && fb;

	while (same) {
		ca = getc(fa);
		cb = getc(fb);
		if (ca != cb)
			same = 0;
		if (ca == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

#ifndef _WIN32
/* Run a shell command, return its whole stdout (malloc'd) or NULL. */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];

	if (!p)
		return NULL;
	for (;;) {
		n = fread(buf, 1, sizeof(buf), p);
		if (n == 0)
			break;
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	if (pclose(p) != 0) {
		free(out);
		return NULL;
	}
	if (!out)
		out = calloc(1, 1);
	else
		out[len] = 0;
	return out;
}
#endif

static const char *pay_names[NPAY] = { "daemon.cab", "empty.txt", "big.bin" };
static char *pay_paths[NPAY];
static uint64_t pay_sizes[NPAY];
static char pay_hex[NPAY][AP_SHA256_HEX];

static void make_payloads(void)
{
	/* Over AP_HASHRING_MIN_THREADED: hashed on the writer's second thread. */
	size_t big = 5 * 1024 * 1024 + 123, i;
	unsigned char *b = malloc(big);
	uint32_t x = 12345;
	const char *small = "MSCF pretend cab bytes\n";

	if (!b)
		abort();
	for (i = 0; i < big; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
	for (i = 0; i < NPAY; i++)
		pay_paths[i] = tpath(pay_names[i]);
	write_bytes(pay_paths[0], small, strlen(small));
	write_bytes(pay_paths[1], "", 0);
	write_bytes(pay_paths[2], b, big);
	free(b);
	for (i = 0; i < NPAY; i++) {
		struct ap_err err = AP_ERR_INIT;

		if (ap_digest_file(pay_paths[i], pay_hex[i], &pay_sizes[i], NULL, NULL, &err) < 0)
			abort();
	}
}

static char *make_text(size_t len, char fill)
{
	char *m = malloc(len + 1);

	if (!m)
		abort();
	memset(m, fill, len);
	m[0] = '{';
	m[len - 1] = '}';
	m[len] = 0;
	return m;
}

static uint64_t last_progress;

static void on_progress(void *ctx, uint64_t done)
{
	(void)ctx;
	last_progress = done;
}

/* Write a bundle with the three payloads; hexes out. Returns rc. */
static int write_bundle(const char *path, enum ap_compress c, const char *manifest,
			const unsigned char *sig, size_t sig_len, char hex[NPAY][AP_SHA256_HEX],
			struct ap_err *err)
{
	struct ap_bundle_writer *w = NULL;
	FILE *fp = fopen(path, "wb");
	size_t ml = strlen(manifest), i;
	int rc;

	if (!fp)
		abort();
	rc = ap_bundle_writer_open(fp, c, 6, MTIME, ml, sig_len, &w, err);
	for (i = 0; rc == 0 && i < NPAY; i++)
		rc = ap_bundle_writer_add_file(w, pay_names[i], pay_paths[i], pay_sizes[i], hex[i],
					       on_progress, NULL, err);
	if (rc == 0)
		rc = ap_bundle_writer_finish(w, manifest, ml, sig, sig_len, err);
	ap_bundle_writer_free(w);
	if (fclose(fp) != 0)
		abort();
	return rc;
}

/* Read a bundle back and check everything against the sources. */
static void check_read(const char *label, const char *path, uint64_t off, uint64_t len,
		       const char *manifest, const unsigned char *sig, size_t sig_len)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_bundle_reader *r = NULL;
	const char *m, *name;
	const unsigned char *s;
	size_t ml = 0, sl = 0, got;
	uint64_t size, total;
	unsigned char buf[70000];
	char hex[AP_SHA256_HEX];
	int i, rc;

	rc = ap_bundle_reader_open(path, off, len, &r, &err);
	is_int(rc, 0, "%s: reader opens (%s)", label, err.msg);
	if (rc < 0)
		return;
	m = ap_bundle_reader_manifest(r, &ml);
	s = ap_bundle_reader_sig(r, &sl);
	ok(ml == strlen(manifest) && memcmp(m, manifest, ml) == 0, "%s: manifest bytes equal",
	   label);
	ok(m[ml] == 0, "%s: manifest is NUL-terminated", label);
	ok(sl == sig_len && memcmp(s, sig, sl) == 0, "%s: signature bytes equal", label);
	for (i = 0; i < NPAY; i++) {
		struct ap_digest *h = ap_digest_new();

		rc = ap_bundle_reader_next(r, &name, &size, &err);
		is_int(rc, 1, "%s: entry %d present (%s)", label, i, err.msg);
		if (rc != 1) {
			ap_digest_free(h);
			break;
		}
		is_str(name, pay_names[i], "%s: entry %d name", label, i);
		is_int(size, pay_sizes[i], "%s: entry %d size", label, i);
		total = 0;
		/* Odd-sized reads cross libarchive's block boundaries. */
		for (;;) {
			rc = ap_bundle_reader_read(r, buf, 65521, &got, &err);
			if (rc < 0 || got == 0)
				break;
			ap_digest_update(h, buf, got);
			total += got;
		}
		is_int(rc, 0, "%s: entry %d reads (%s)", label, i, err.msg);
		ap_digest_final_hex(h, hex);
		ap_digest_free(h);
		is_int(total, pay_sizes[i], "%s: entry %d byte count", label, i);
		is_str(hex, pay_hex[i], "%s: entry %d sha256 equals the source's", label, i);
	}
	rc = ap_bundle_reader_next(r, &name, &size, &err);
	is_int(rc, 0, "%s: no more entries (%s)", label, err.msg);
	ap_bundle_reader_free(r);
}

#ifdef _WIN32
static void check_tar_cli(const char *label, const char *path, int gz)
{
	(void)path;
	skip("%s: GNU tar -t%sf, -tv and -x of the bundle: no tar program on Windows", label,
	     gz ? "z" : "");
}
#else
static const char *expect_list =
	"manifest.json\nmanifest.json.sig\ndaemon.cab\nempty.txt\nbig.bin\n";

static void check_tar_cli(const char *label, const char *path, int gz)
{
	char cmd[1024];
	char *out;
	char *dir, *x;
	int i;

	snprintf(cmd, sizeof(cmd), "tar -t%sf '%s'", gz ? "z" : "", path);
	out = run(cmd);
	is_str(out, expect_list, "%s: tar -t%sf lists the entries in order", label, gz ? "z" : "");
	free(out);

	snprintf(cmd, sizeof(cmd), "TZ=UTC tar --numeric-owner --full-time -tv%sf '%s'",
		 gz ? "z" : "", path);
	out = run(cmd);
	{
		char *line = out, *nl;
		int lines = 0, good = 0;

		while (line && (nl = strchr(line, '\n')) != NULL) {
			*nl = 0;
			lines++;
			if (strncmp(line, "-rw-r--r-- 0/0 ", 15) == 0 &&
			    strstr(line, " 2001-09-09 01:46:40 "))
				good++;
			else
				printf("# unexpected: %s\n", line);
			line = nl + 1;
		}
		is_int(lines, 2 + NPAY, "%s: tar -tv lists %d entries", label, 2 + NPAY);
		is_int(good, lines, "%s: every entry has mode 0644, owner 0/0, the fixed mtime",
		       label);
	}
	free(out);

	dir = tpath(gz ? "xz" : "x");
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tar -x%sf '%s' -C '%s'", dir, gz ? "z" : "",
		 path, dir);
	ok(system(cmd) == 0, "%s: tar -x%sf extracts", label, gz ? "z" : "");
	for (i = 0; i < NPAY; i++) {
		x = ap_fsx_path_join(dir, pay_names[i]);
		ok(same_bytes(x, pay_paths[i]), "%s: tar extracted %s equal to its source", label,
		   pay_names[i]);
		free(x);
	}
	free(dir);
}
#endif

static void test_round_trip(const char *label, enum ap_compress c, size_t mlen)
{
	struct ap_err err = AP_ERR_INIT;
	char hex[NPAY][AP_SHA256_HEX];
	unsigned char sig[64];
	char *manifest = make_text(mlen, ' ');
	char name1[64], name2[64];
	char *p1, *p2;
	int i, rc;

	for (i = 0; i < 64; i++)
		sig[i] = (unsigned char)(i * 7 + 1);
	snprintf(name1, sizeof(name1), "%s-1.bundle", label);
	snprintf(name2, sizeof(name2), "%s-2.bundle", label);
	p1 = tpath(name1);
	p2 = tpath(name2);

	last_progress = 0;
	rc = write_bundle(p1, c, manifest, sig, sizeof(sig), hex, &err);
	is_int(rc, 0, "%s: bundle written (%s)", label, err.msg);
	for (i = 0; i < NPAY; i++)
		is_str(hex[i], pay_hex[i], "%s: add_file reports the sha256 of %s", label,
		       pay_names[i]);
	is_int(last_progress, pay_sizes[2], "%s: progress reaches the payload size", label);
	rc = write_bundle(p2, c, manifest, sig, sizeof(sig), hex, &err);
	is_int(rc, 0, "%s: second bundle written (%s)", label, err.msg);
	ok(same_bytes(p1, p2), "%s: two writes of the same input are byte-identical", label);

	check_read(label, p1, 0, 0, manifest, sig, sizeof(sig));
	check_tar_cli(label, p1, c == AP_COMPRESS_GZIP);

	if (c == AP_COMPRESS_GZIP) {
		/* Two gzip members: the stored head (header written here) and the
		 * deflated payloads (zlib's header: mtime 0, no name). */
		static const unsigned char h1[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
		static const unsigned char h2[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
		unsigned char b[10];
		size_t raw = 512 + (mlen + 511) / 512 * 512 + 512 + 512;
		long head = (long)(10 + 5 * ((raw + 65534) / 65535) + raw + 8);
		FILE *fp = fopen(p1, "rb");

		ok(fp && fread(b, 1, 10, fp) == 10 && memcmp(b, h1, 10) == 0,
		   "%s: head member header is 1f 8b 08 00, mtime 0, os 255", label);
		ok(fp && fseek(fp, head, SEEK_SET) == 0 && fread(b, 1, 10, fp) == 10 &&
			   memcmp(b, h2, 10) == 0,
		   "%s: payload member right after the %ld-byte head: mtime 0, os 255", label,
		   head);
		if (fp)
			fclose(fp);
#ifdef _WIN32
		skip("%s: gzip -t of the two members: no gzip program on Windows", label);
#else
		snprintf(name1, sizeof(name1), "gzip -t '%s'", p1);
		ok(system(name1) == 0, "%s: gzip -t accepts the two members", label);
#endif
	} else {
		/* head: 2 headers, manifest, 64-byte sig; payloads: 3 headers,
		 * the small one, the big one; end marker. */
		long want = 512 + (long)(mlen + 511) / 512 * 512 + 512 + 512 + 3 * 512 + 512 +
			    (long)(pay_sizes[2] + 511) / 512 * 512 + 1024;
		is_int(file_size(p1), want, "%s: tar size has no padding beyond the end marker",
		       label);
	}
	free(manifest);
	free(p1);
	free(p2);
}

static void test_size_mismatch(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_bundle_writer *w = NULL;
	char hex[AP_SHA256_HEX] = "untouched";
	char *p = tpath("mismatch.bundle");
	FILE *fp = fopen(p, "wb");
	int rc;

	rc = ap_bundle_writer_open(fp, AP_COMPRESS_GZIP, 6, MTIME, 10, 64, &w, &err);
	is_int(rc, 0, "mismatch: writer opens");
	rc = ap_bundle_writer_add_file(w, "a.cab", pay_paths[0], pay_sizes[0] + 5, hex, NULL, NULL,
				       &err);
	is_int(rc, AP_E_DIGEST, "shorter payload than declared is AP_E_DIGEST");
	contains(err.msg, pay_paths[0], "message names the file");
	contains(err.msg, "expected 28 bytes", "message names the declared size");
	contains(err.msg, "found 23", "message names the found size");
	is_str(hex, "untouched", "hex untouched on failure");
	rc = ap_bundle_writer_add_file(w, "b.cab", pay_paths[0], pay_sizes[0], hex, NULL, NULL,
				       &err);
	is_int(rc, AP_E_USAGE, "writer refuses to go on after a failure");
	ap_bundle_writer_free(w);
	fclose(fp);

	fp = fopen(p, "wb");
	rc = ap_bundle_writer_open(fp, AP_COMPRESS_NONE, 6, MTIME, 10, 64, &w, &err);
	is_int(rc, 0, "mismatch: writer opens again");
	rc = ap_bundle_writer_add_file(w, "big.bin", pay_paths[2], 1000, hex, NULL, NULL, &err);
	is_int(rc, AP_E_DIGEST, "longer payload than declared is AP_E_DIGEST");
	contains(err.msg, "expected 1000 bytes", "message names the declared size");
	contains(err.msg, "found 5243003", "message names the real size");
	ap_bundle_writer_free(w);
	fclose(fp);

	/* The same two refusals with a size the hashing thread reads for. */
	fp = fopen(p, "wb");
	rc = ap_bundle_writer_open(fp, AP_COMPRESS_NONE, 6, MTIME, 10, 64, &w, &err);
	rc = rc ? rc
		: ap_bundle_writer_add_file(w, "big.bin", pay_paths[2], pay_sizes[2] + 7, hex, NULL,
					    NULL, &err);
	is_int(rc, AP_E_DIGEST, "threaded: shorter payload than declared is AP_E_DIGEST");
	contains(err.msg, "found 5243003", "threaded: message names the found size");
	is_str(hex, "untouched", "threaded: hex untouched on failure");
	ap_bundle_writer_free(w);
	fclose(fp);
	fp = fopen(p, "wb");
	rc = ap_bundle_writer_open(fp, AP_COMPRESS_NONE, 6, MTIME, 10, 64, &w, &err);
	rc = rc ? rc
		: ap_bundle_writer_add_file(w, "big.bin", pay_paths[2], pay_sizes[2] - 1, hex, NULL,
					    NULL, &err);
	is_int(rc, AP_E_DIGEST, "threaded: longer payload than declared is AP_E_DIGEST");
	contains(err.msg, "found 5243003", "threaded: message names the real size");
	ap_bundle_writer_free(w);
	fclose(fp);

	fp = fopen(p, "wb");
	rc = ap_bundle_writer_open(fp, AP_COMPRESS_NONE, 6, MTIME, 10, 64, &w, &err);
	is_int(rc, 0, "refusals: writer opens");
	rc = ap_bundle_writer_add_file(w, "../x", pay_paths[0], pay_sizes[0], hex, NULL, NULL,
				       &err);
	is_int(rc, AP_E_UNSAFE, "writer refuses an unsafe entry name");
	contains(err.msg, "'../x'", "message names it");
	rc = ap_bundle_writer_add_file(w, "manifest.json", pay_paths[0], pay_sizes[0], hex, NULL,
				       NULL, &err);
	is_int(rc, AP_E_USAGE, "writer refuses a payload named manifest.json");
	rc = ap_bundle_writer_add_file(w, "nope", "/nonexistent/x", 1, hex, NULL, NULL, &err);
	is_int(rc, AP_E_IO, "missing payload is AP_E_IO");
	contains(err.msg, "/nonexistent/x", "message names the missing payload");
	rc = ap_bundle_writer_finish(w, "0123456789x", 11, hex, 64, &err);
	is_int(rc, AP_E_USAGE, "finish with another manifest length is AP_E_USAGE");
	contains(err.msg, "manifest 10", "message names the declared length");
	contains(err.msg, "finished with 11", "message names the given length");
	ap_bundle_writer_free(w);
	fclose(fp);

	rc = ap_bundle_writer_open(stdout, AP_COMPRESS_GZIP, 0, MTIME, 10, 64, &w, &err);
	is_int(rc, AP_E_USAGE, "gzip level 0 refused");
	rc = ap_bundle_writer_open(stdout, AP_COMPRESS_NONE, 6, -1, 10, 64, &w, &err);
	is_int(rc, AP_E_USAGE, "negative mtime refused");
	rc = ap_bundle_writer_open(stdout, AP_COMPRESS_NONE, 6, 0, 10, AP_SIG_MAX + 1, &w, &err);
	is_int(rc, AP_E_TOOBIG, "oversized signature refused");
	free(p);
}

/* Write a tar with python's tarfile (Windows: testarc.h, the same entries):
 * each spec is "name" (regular file with a few bytes), "name=>target"
 * (symlink) or "name:N" (N zero bytes); specs are separated by spaces and
 * may be in single quotes. */
#ifdef _WIN32
static char *craft_tar(const char *file, const char *specs)
{
	struct tu_arc *a = tu_arc_new(TU_ARC_TAR);
	char *p = tpath(file);
	const char *s = specs;

	if (!a)
		abort();
	while (*s) {
		char spec[256], data[300];
		const char *end, *arrow, *colon;
		size_t n;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == '\'') {
			end = strchr(s + 1, '\'');
			if (!end)
				abort();
			n = (size_t)(end - s - 1);
			memcpy(spec, s + 1, n);
			s = end + 1;
		} else {
			end = strchr(s, ' ');
			n = end ? (size_t)(end - s) : strlen(s);
			memcpy(spec, s, n);
			s += n;
		}
		spec[n] = '\0';
		arrow = strstr(spec, "=>");
		colon = strchr(spec, ':');
		if (arrow) {
			spec[arrow - spec] = '\0';
			tu_arc_symlink(a, spec, arrow + 2, 0);
		} else if (colon) {
			size_t size = (size_t)strtoul(colon + 1, NULL, 10);
			char *zeros = calloc(1, size + 1);

			if (!zeros)
				abort();
			spec[colon - spec] = '\0';
			tu_arc_file(a, spec, zeros, size, 0644, 0);
			free(zeros);
		} else {
			snprintf(data, sizeof(data), "data of %s", spec);
			tu_arc_file(a, spec, data, strlen(data), 0644, 0);
		}
	}
	if (tu_arc_write(a, p) != 0)
		abort();
	return p;
}
#else
static char *craft_tar(const char *file, const char *specs)
{
	char *p = tpath(file);
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "python3 - '%s' %s <<'EOF'\n"
		 "import io, sys, tarfile\n"
		 "t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)\n"
		 "for s in sys.argv[2:]:\n"
		 "    if '=>' in s:\n"
		 "        n, tgt = s.split('=>')\n"
		 "        ti = tarfile.TarInfo(n); ti.type = tarfile.SYMTYPE; ti.linkname = tgt\n"
		 "        t.addfile(ti); continue\n"
		 "    n, _, sz = s.partition(':')\n"
		 "    data = bytes(int(sz)) if sz else b'data of ' + n.encode()\n"
		 "    ti = tarfile.TarInfo(n); ti.size = len(data)\n"
		 "    t.addfile(ti, io.BytesIO(data))\n"
		 "t.close()\n"
		 "EOF",
		 p, specs);
	if (system(cmd) != 0)
		abort();
	return p;
}
#endif

static void test_reader_refusals(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_bundle_reader *r = NULL;
	const char *name;
	uint64_t size;
	char *p;
	int rc;

	p = craft_tar("other.tar", "README manifest.json manifest.json.sig");
	rc = ap_bundle_reader_open(p, 0, 0, &r, &err);
	is_int(rc, AP_E_BUNDLE, "tar whose first entry is another file is AP_E_BUNDLE");
	contains(err.msg,
		 "is not an airpack bundle: first entry is 'README', expected "
		 "'manifest.json'",
		 "message names the entry found");
	contains(err.msg, p, "message names the file");
	ok(r == NULL, "reader not returned on failure");
	free(p);

	p = craft_tar("nosig.tar", "manifest.json other");
	rc = ap_bundle_reader_open(p, 0, 0, &r, &err);
	is_int(rc, AP_E_BUNDLE, "second entry other than the signature is AP_E_BUNDLE");
	contains(err.msg, "second entry is 'other', expected 'manifest.json.sig'",
		 "message names it");
	free(p);

	p = craft_tar("bigsig.tar", "manifest.json manifest.json.sig:5000");
	rc = ap_bundle_reader_open(p, 0, 0, &r, &err);
	is_int(rc, AP_E_TOOBIG, "oversized signature entry is AP_E_TOOBIG");
	contains(err.msg, "5000 bytes", "message says how big");
	free(p);

	p = tpath("notatar");
	write_bytes(p, "hello, this is not an archive at all\n", 37);
	rc = ap_bundle_reader_open(p, 0, 0, &r, &err);
	is_int(rc, AP_E_BUNDLE, "random bytes are AP_E_BUNDLE");
	contains(err.msg, p, "message names the file");
	free(p);

	{
		static const char *evil[] = { "../x",	     "a/b",	 "/abs",
					      "back\\slash", "ctl\001x", "link=>/etc/passwd" };
		static const char *shown[] = { "'../x'",	"'a/b'",       "'/abs'",
					       "'back\\slash'", "'ctl\\x01x'", "'link'" };
		size_t i;

		for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
			char specs[256];

			snprintf(specs, sizeof(specs),
				 "manifest.json manifest.json.sig ok.bin '%s'", evil[i]);
			p = craft_tar("evil.tar", specs);
			ap_err_clear(&err);
			rc = ap_bundle_reader_open(p, 0, 0, &r, &err);
			is_int(rc, 0, "evil %zu: head still reads (%s)", i, err.msg);
			if (rc < 0) {
				free(p);
				continue;
			}
			rc = ap_bundle_reader_next(r, &name, &size, &err);
			is_int(rc, 1, "evil %zu: the safe entry before it is returned", i);
			rc = ap_bundle_reader_next(r, &name, &size, &err);
			is_int(rc, AP_E_UNSAFE, "evil %zu: unsafe entry is AP_E_UNSAFE", i);
			contains(err.msg, shown[i], "evil %zu: message names the entry", i);
			ap_bundle_reader_free(r);
			r = NULL;
			free(p);
		}
	}
}

/* Open and read every entry to the end; the first error or 0. */
static int read_all(const char *path, uint64_t off, uint64_t len, struct ap_err *err)
{
	struct ap_bundle_reader *r = NULL;
	static unsigned char buf[65536];
	const char *name;
	uint64_t size;
	size_t got;
	int rc;

	ap_err_clear(err);
	rc = ap_bundle_reader_open(path, off, len, &r, err);
	while (rc == 0) {
		rc = ap_bundle_reader_next(r, &name, &size, err);
		if (rc != 1)
			break;
		do
			rc = ap_bundle_reader_read(r, buf, sizeof(buf), &got, err);
		while (rc == 0 && got);
	}
	ap_bundle_reader_free(r);
	return rc;
}

static void test_embedded_and_truncated(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_bundle_writer *w = NULL;
	struct ap_bundle_reader *r = NULL;
	char hex[AP_SHA256_HEX];
	unsigned char sig[64], junk[1000];
	const char *manifest = "{\"embedded\": true}";
	char *p = tpath("embedded.bin");
	long start, end;
	size_t i;
	FILE *fp;
	int rc, c;

	memset(sig, 0x5a, sizeof(sig));
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 31);

	for (c = 0; c < 2; c++) {
		enum ap_compress comp = c ? AP_COMPRESS_GZIP : AP_COMPRESS_NONE;

		fp = fopen(p, "wb");
		fwrite(junk, 1, sizeof(junk), fp);
		start = ftell(fp);
		rc = ap_bundle_writer_open(fp, comp, 1, MTIME, strlen(manifest), sizeof(sig), &w,
					   &err);
		for (i = 0; rc == 0 && i < NPAY; i++)
			rc = ap_bundle_writer_add_file(w, pay_names[i], pay_paths[i], pay_sizes[i],
						       hex, NULL, NULL, &err);
		if (rc == 0)
			rc = ap_bundle_writer_finish(w, manifest, strlen(manifest), sig,
						     sizeof(sig), &err);
		ap_bundle_writer_free(w);
		is_int(rc, 0, "embedded %d: written after 1000 junk bytes (%s)", c, err.msg);
		end = ftell(fp);
		is_int(start, 1000, "embedded %d: writer started at the current position", c);
		fwrite(junk, 1, 100, fp); /* a trailer after the bundle */
		fclose(fp);
		check_read(c ? "embedded gzip" : "embedded none", p, 1000, (uint64_t)(end - start),
			   manifest, sig, sizeof(sig));

		ap_err_clear(&err);
		rc = ap_bundle_reader_open(p, 0, 0, &r, &err);
		ok(rc < 0, "embedded %d: reading from offset 0 fails (%s)", c, err.msg);

		if (!c) {
			/* Cut at entry boundaries: libarchive alone reads these as
			 * complete archives with fewer entries. */
			long at_end = end - start - 1024;
			long after_cab = (long)(512 + 512 + 512 + 512 + 512 + 512);

			rc = read_all(p, 1000, (uint64_t)at_end, &err);
			is_int(rc, AP_E_BUNDLE, "bundle without its end marker fails");
			contains(err.msg,
				 "is truncated: it ends after 'big.bin' without the "
				 "end-of-archive marker",
				 "message says truncated after the last entry");
			rc = read_all(p, 1000, (uint64_t)after_cab, &err);
			is_int(rc, AP_E_BUNDLE, "bundle cut after the first payload fails");
			contains(err.msg, "ends after 'daemon.cab'",
				 "message names the last complete entry");
			rc = read_all(p, 1000, (uint64_t)(1024 + 1024), &err);
			is_int(rc, AP_E_BUNDLE, "bundle cut after the signature fails");
			contains(err.msg, "ends after 'manifest.json.sig'",
				 "message names the signature");
			rc = read_all(p, 1000, (uint64_t)(end - start), &err);
			is_int(rc, 0, "the whole range still reads (%s)", err.msg);
		} else {
			/* Only the head member: a complete gzip stream whose tar
			 * stops after the signature. */
			rc = read_all(p, 1000, 10 + 5 + 2048 + 8, &err);
			is_int(rc, AP_E_BUNDLE, "gzip bundle holding only the head member fails");
			contains(err.msg,
				 "ends after 'manifest.json.sig' without the end-of-archive",
				 "message says truncated after the signature");
		}
		rc = ap_bundle_reader_open(p, 1000, (uint64_t)file_size(p), &r, &err);
		is_int(rc, AP_E_BUNDLE, "embedded %d: range beyond the file is AP_E_BUNDLE", c);
		contains(err.msg, "truncated", "embedded %d: message says truncated", c);

		/* Cut the bundle at several points: every one must fail cleanly. */
		{
			long cuts[] = {
				100, 700, 2000, 3000, (end - start) / 2, (end - start) - 1500
			};
			size_t k;

			for (k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
				rc = read_all(p, 1000, (uint64_t)cuts[k], &err);
				is_int(rc, AP_E_BUNDLE,
				       "embedded %d: bundle cut at %ld bytes fails (%s)", c,
				       cuts[k], err.msg);
			}
		}
	}
	free(p);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	tmp = tu_mkdtemp("ap-test-bundle");
	if (!tmp)
		return 1;
	make_payloads();

	test_round_trip("none", AP_COMPRESS_NONE, 300);
	test_round_trip("gzip", AP_COMPRESS_GZIP, 300);
	test_round_trip("gzip-bighead", AP_COMPRESS_GZIP, 140001);
	test_round_trip("none-bighead", AP_COMPRESS_NONE, 140001);
	test_size_mismatch();
	test_reader_refusals();
	test_embedded_and_truncated();

	for (int i = 0; i < NPAY; i++)
		free(pay_paths[i]);
	if (tu_rm_rf(tmp) != 0)
		printf("# could not remove %s\n", tmp);
	free(tmp);
	return tap_done();
}
