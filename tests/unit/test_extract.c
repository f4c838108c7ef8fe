/* test_extract.c - extracting cab, zip and tar.gz payloads made at test time
 * (by gcab, zip and tar on POSIX, and by testarc.h everywhere), and refusing
 * the committed hostile archives in tests/data/archives. */
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airpack/digest.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "tap.h"
#include "testarc.h"
#include "testutil.h"

#define MTIME 1234567890
#define SRC_MTIME 1111111111
#define NFILES 5
#define MAXSEEN 32

static char *tmp;
static char *cwd;      /* an empty folder the tests run in */
static char *archives; /* TEST_DATA/archives, absolute */
/* The tar.gz the relative-path tests use: tar's, or testarc's without tar. */
static const char *tgz_name = TU_WINDOWS ? "t-tu.tgz" : "t.tgz";

struct srcfile {
	const char *rel;
	unsigned src_mode;
	unsigned want_mode; /* after extraction from zip/tar */
	char hex[AP_SHA256_HEX];
	uint64_t size;
};

static struct srcfile files[NFILES] = {
	{ "a.txt", 0644, 0644, "", 0 },	    { "run.sh", 0755, 0755, "", 0 },
	{ "sub/b.bin", 0666, 0644, "", 0 }, { "sub/deeper/c.txt", 0600, 0644, "", 0 },
	{ "empty", 0644, 0644, "", 0 },
};

struct seen {
	int n;
	int wrong_cwd;
	int stop_after; /* return AP_E_DIGEST after this many files (0: never) */
	struct {
		char rel[256];
		unsigned mode;
		uint64_t size;
		char hex[AP_SHA256_HEX];
	} f[MAXSEEN];
};

/* True while the working folder is still the tests' own. */
static bool in_cwd(void)
{
	char *here = tu_getcwd();
	bool same = here && strcmp(here, cwd) == 0;

	free(here);
	return same;
}

static int on_file(void *ctx, const char *relpath, unsigned mode, uint64_t size,
		   const char sha256[AP_SHA256_HEX], struct ap_err *err)
{
	struct seen *s = ctx;

	if (!in_cwd())
		s->wrong_cwd++;
	if (s->n < MAXSEEN) {
		snprintf(s->f[s->n].rel, sizeof(s->f[s->n].rel), "%s", relpath);
		s->f[s->n].mode = mode;
		s->f[s->n].size = size;
		memcpy(s->f[s->n].hex, sha256, AP_SHA256_HEX);
	}
	s->n++;
	if (s->stop_after && s->n >= s->stop_after)
		return ap_err_set(err, AP_E_DIGEST, "test callback stops at '%s'", relpath);
	return 0;
}

static int find_seen(const struct seen *s, const char *rel)
{
	int i;

	for (i = 0; i < s->n && i < MAXSEEN; i++)
		if (strcmp(s->f[i].rel, rel) == 0)
			return i;
	return -1;
}

static char *tpath(const char *name)
{
	char *p = ap_fsx_path_join(tmp, name);

	if (!p)
		abort();
	return p;
}

static void write_bytes(const char *path, const void *data, size_t len, unsigned mode)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		abort();
#ifdef _WIN32
	(void)mode;
#else
	if (chmod(path, mode) != 0)
		abort();
#endif
}

#ifndef _WIN32
static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}
#endif

/* Number of entries in a folder (-1 when it cannot be listed). */
static long count_entries(const char *dir)
{
	struct ap_err err = AP_ERR_INIT;
	char **names = NULL;
	size_t n = 0;

	if (ap_fsx_list_dir(dir, &names, &n, &err) < 0)
		return -1;
	ap_fsx_strv_free(names, n);
	return (long)n;
}

static void make_source(void)
{
	char *src = tpath("src"), *p;
	unsigned char *big;
	size_t i, bigsz = 200 * 1024 + 7;
	uint32_t x = 99;
	struct ap_err err = AP_ERR_INIT;

	big = malloc(bigsz);
	if (!big)
		abort();
	for (i = 0; i < bigsz; i++) {
		x = x * 1664525u + 1013904223u;
		big[i] = (unsigned char)(x >> 24);
	}
	p = ap_fsx_path_join(src, "sub/deeper");
	if (ap_fsx_mkdir_p(p, 0755, &err) < 0)
		abort();
	free(p);
	for (i = 0; i < NFILES; i++) {
		p = ap_fsx_path_join(src, files[i].rel);
		if (i == 2)
			write_bytes(p, big, bigsz, files[i].src_mode);
		else if (i == 4)
			write_bytes(p, "", 0, files[i].src_mode);
		else
			write_bytes(p, files[i].rel, strlen(files[i].rel), files[i].src_mode);
		if (ap_digest_file(p, files[i].hex, &files[i].size, NULL, NULL, &err) < 0)
			abort();
		if (i == 0 && ap_fsx_set_mtime(p, SRC_MTIME, &err) < 0)
			abort();
		free(p);
	}
#ifdef _WIN32
	skip("gcab made a cab: no gcab on Windows");
	skip("zip made a zip: no zip program on Windows");
	skip("tar made a tar.gz: no tar program on Windows");
#else
	p = ap_fsx_path_join(src, "sub");
	if (chmod(p, 0777) != 0)
		abort();
	free(p);

	ok(sh("cd '%s' && gcab -c -z ../t.cab a.txt run.sh sub/b.bin sub/deeper/c.txt empty", src,
	      "") == 0,
	   "gcab made a cab");
	ok(sh("cd '%s' && zip -qrX ../t.zip .", src, "") == 0, "zip made a zip");
	ok(sh("cd '%s' && tar czf ../t.tgz .", src, "") == 0, "tar made a tar.gz");
#endif
	free(big);

	/* The same tree through testarc.h: a zip and a tar.gz with the
	 * source modes, a.txt dated SRC_MTIME, sub 0777 as above; a cab. */
	for (int k = 0; k < 3; k++) {
		static const enum tu_arc_kind kinds[] = { TU_ARC_ZIP, TU_ARC_TGZ, TU_ARC_CAB };
		static const char *names[] = { "t-tu.zip", "t-tu.tgz", "t-tu.cab" };
		struct tu_arc *a = tu_arc_new(kinds[k]);
		char *arch = tpath(names[k]);

		if (!a)
			abort();
		for (i = 0; i < NFILES; i++) {
			char *data = NULL;
			size_t len = 0;

			if (i == 2)
				tu_arc_dir(a, "sub", 0777, SRC_MTIME);
			if (i == 3)
				tu_arc_dir(a, "sub/deeper", 0755, SRC_MTIME);
			p = ap_fsx_path_join(src, files[i].rel);
			if (ap_fsx_read_file(p, 1 << 20, &data, &len, &err) < 0)
				abort();
			tu_arc_file(a, files[i].rel, data, len, files[i].src_mode,
				    i == 0 ? SRC_MTIME : MTIME);
			free(data);
			free(p);
		}
		ok(tu_arc_write(a, arch) == 0, "testarc made %s", names[k]);
		free(arch);
	}
	free(src);
}

static void check_seen(const char *label, const struct seen *s, int cab)
{
	size_t i;

	is_int(s->n, NFILES, "%s: callback saw every file once", label);
	is_int(s->wrong_cwd, 0, "%s: callback runs in the caller's working folder", label);
	for (i = 0; i < NFILES; i++) {
		int k = find_seen(s, files[i].rel);
		unsigned want = cab ? 0644 : files[i].want_mode;

		ok(k >= 0, "%s: callback saw %s", label, files[i].rel);
		if (k < 0)
			continue;
		is_str(s->f[k].hex, files[i].hex, "%s: callback hash of %s", label, files[i].rel);
		is_int(s->f[k].size, files[i].size, "%s: callback size of %s", label, files[i].rel);
		is_int(s->f[k].mode, want, "%s: callback mode of %s is %03o", label, files[i].rel,
		       want);
	}
}

static void test_extract_kind(const char *label, const char *archive, int cab)
{
	struct ap_err err = AP_ERR_INIT;
	struct seen *s = calloc(1, sizeof(*s));
	char name[64];
	char *arch = tpath(archive), *dest, *p;
	struct ap_stat st;
	size_t i;
	int rc;

	snprintf(name, sizeof(name), "dest-%s", label);
	dest = tpath(name);
	if (!s || tu_mkdir(dest) != 0)
		abort();

	rc = ap_extract_archive(arch, dest, MTIME, on_file, s, &err);
	is_int(rc, 0, "%s: extracts (%s)", label, err.msg);
	ok(in_cwd(), "%s: working folder restored", label);
	is_int(count_entries(cwd), 0, "%s: nothing written to the working folder", label);
	check_seen(label, s, cab);
	for (i = 0; i < NFILES; i++) {
		char hex[AP_SHA256_HEX] = "";
		unsigned want = cab ? 0644 : files[i].want_mode;

		p = ap_fsx_path_join(dest, files[i].rel);
		ap_digest_file(p, hex, NULL, NULL, NULL, &err);
		is_str(hex, files[i].hex, "%s: %s extracted byte for byte", label, files[i].rel);
		ap_fsx_stat(p, &st, &err);
		is_int(st.type, AP_FT_FILE, "%s: %s is a file", label, files[i].rel);
		is_mode(st.mode, want, "%s: %s has mode %03o", label, files[i].rel, want);
		is_int(st.mtime, MTIME, "%s: %s has the requested mtime", label, files[i].rel);
		free(p);
	}
	{
		static const char *dirs[] = { "sub", "sub/deeper" };

		for (i = 0; i < 2; i++) {
			p = ap_fsx_path_join(dest, dirs[i]);
			ap_fsx_stat(p, &st, &err);
			is_int(st.type, AP_FT_DIR, "%s: %s is a folder", label, dirs[i]);
			is_mode(st.mode, 0755, "%s: %s has mode 755 (umask is 0)", label, dirs[i]);
			is_int(st.mtime, MTIME, "%s: %s has the requested mtime", label, dirs[i]);
			free(p);
		}
	}
	p = ap_fsx_path_join(dest, "sub");
	is_int(count_entries(p), 2, "%s: sub holds exactly b.bin and deeper", label);
	free(p);
	is_int(count_entries(dest), 4, "%s: dest holds exactly a.txt, run.sh, empty, sub", label);

	memset(s, 0, sizeof(*s));
	rc = ap_extract_list(arch, on_file, s, &err);
	is_int(rc, 0, "%s: lists (%s)", label, err.msg);
	check_seen("list", s, cab);
	is_int(count_entries(cwd), 0, "%s: listing wrote nothing", label);

	free(s);
	free(dest);
	free(arch);
}

static void test_keep_times_and_relative(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct seen *s = calloc(1, sizeof(*s));
	char *dest = tpath("dest-rel"), *p;
	char tgz[64];
	struct ap_stat st;
	int rc;

	if (!s || tu_mkdir(dest) != 0)
		abort();
	snprintf(tgz, sizeof(tgz), "../%s", tgz_name);
	/* Relative names resolve against the caller's folder. */
	rc = ap_extract_archive(tgz, "../dest-rel", -1, on_file, s, &err);
	is_int(rc, 0, "relative archive and dest paths work (%s)", err.msg);
	p = ap_fsx_path_join(dest, "a.txt");
	ap_fsx_stat(p, &st, &err);
	is_int(st.mtime, SRC_MTIME, "mtime -1 keeps the archive's time");
	free(p);
	is_int(count_entries(cwd), 0, "nothing written to the working folder");

	memset(s, 0, sizeof(*s));
	s->stop_after = 2;
	p = tpath("dest-stop");
	if (tu_mkdir(p) != 0)
		abort();
	rc = ap_extract_archive(tgz, p, MTIME, on_file, s, &err);
	is_int(rc, AP_E_DIGEST, "a callback error stops extraction with its code");
	contains(err.msg, "test callback stops", "the callback's message is kept");
	is_int(s->n, 2, "no file after the failing callback");
	ok(in_cwd(), "working folder restored after a callback error");
	free(p);

	p = tpath("no-such-dest");
	rc = ap_extract_archive(tgz, p, MTIME, NULL, NULL, &err);
	is_int(rc, AP_E_NOTFOUND, "missing dest is AP_E_NOTFOUND");
	contains(err.msg, p, "message names the folder");
	free(p);

	rc = ap_extract_archive("../no-such.zip", dest, MTIME, NULL, NULL, &err);
	is_int(rc, AP_E_BUNDLE, "missing archive is an error");
	contains(err.msg, "no-such.zip", "message names the archive");

	p = tpath("not-an-archive.bin");
	write_bytes(p, "MZ this is no archive\n", 22, 0644);
	rc = ap_extract_list(p, NULL, NULL, &err);
	is_int(rc, AP_E_BUNDLE, "a file no reader knows is AP_E_BUNDLE");
	contains(err.msg, "not-an-archive.bin", "message names it");
	free(p);

	ok(in_cwd(), "working folder still ours");
	free(dest);
	free(s);
}

static const struct {
	const char *file;
	const char *entry; /* as quoted in the message */
	const char *why;
} evil[] = {
	{ "dotdot.tar", "'../evil'", "'..' component" },
	{ "absolute.tar", "'/abs/evil'", "absolute path" },
	{ "nested-dotdot.tar", "'a/../../evil'", "'..' component" },
	{ "symlink.tar", "'etc'", "symlink to '/etc'" },
	{ "hardlink.tar", "'passwd'", "hard link to '/etc/passwd'" },
	{ "symlink-then-file.tar", "'sub'", "symlink to '../outside'" },
	{ "device.tar", "'null'", "device node" },
	{ "fifo.tar", "'pipe'", "fifo" },
	{ "backslash.tar", "'..\\evil'", "backslash" },
	{ "zip-slip.zip", "'../evil'", "'..' component" },
	{ "zip-symlink.zip", "'etc'", "symlink to '/etc'" },
	{ "cab-dotdot.cab", "'../evil'", "'..' component" },
};

static void test_evil(void)
{
	size_t i;

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		struct ap_err err = AP_ERR_INIT;
		struct seen *s = calloc(1, sizeof(*s));
		char name[64];
		char *arch, *base, *dest, *outside, *p;
		const char *f = evil[i].file;
		int rc;

		arch = ap_fsx_path_join(archives, f);
		snprintf(name, sizeof(name), "evil-%zu", i);
		base = tpath(name);
		dest = ap_fsx_path_join(base, "dest");
		outside = ap_fsx_path_join(base, "outside");
		if (!s || ap_fsx_mkdir_p(dest, 0700, &err) < 0 || tu_mkdir(outside) != 0)
			abort();

		rc = ap_extract_archive(arch, dest, MTIME, on_file, s, &err);
		is_int(rc, AP_E_UNSAFE, "%s: refused with AP_E_UNSAFE", f);
		contains(err.msg, evil[i].entry, "%s: message names the entry", f);
		contains(err.msg, evil[i].why, "%s: message says why", f);
		contains(err.msg, f, "%s: message names the archive", f);
		is_int(s->n, 1, "%s: only ok.txt completed", f);
		is_int(count_entries(dest), 1, "%s: dest holds only ok.txt, nothing of the entry",
		       f);
		is_int(count_entries(outside), 0, "%s: nothing in the sibling folder", f);
		is_int(count_entries(base), 2, "%s: nothing next to dest", f);
		p = ap_fsx_path_join(tmp, "evil");
		ok(!tu_exists(p), "%s: nothing two levels up", f);
		free(p);
		ok(!tu_exists("/abs/evil"), "%s: nothing at /abs/evil", f);
		is_int(count_entries(cwd), 0, "%s: nothing in the working folder", f);
		ok(in_cwd(), "%s: working folder restored", f);

		memset(s, 0, sizeof(*s));
		ap_err_clear(&err);
		rc = ap_extract_list(arch, on_file, s, &err);
		is_int(rc, AP_E_UNSAFE, "%s: listing refuses it too", f);
		contains(err.msg, evil[i].entry, "%s: listing names the entry", f);

		free(s);
		free(arch);
		free(base);
		free(dest);
		free(outside);
	}
}

/* A symlink already in dest (not from the archive) is never followed:
 * libarchive's SECURE_SYMLINKS is the second line. */
#ifdef _WIN32
static void test_existing_symlink(void)
{
	skip("a symlink already in dest: no symlinks without a privilege on Windows");
}
#else
static void test_existing_symlink(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *base = tpath("pre-link"), *dest, *outside, *link, *p;
	struct ap_stat st;
	int rc;

	dest = ap_fsx_path_join(base, "dest");
	outside = ap_fsx_path_join(base, "outside");
	link = ap_fsx_path_join(dest, "sub");
	if (ap_fsx_mkdir_p(dest, 0700, &err) < 0 || mkdir(outside, 0700) != 0 ||
	    symlink("../outside", link) != 0)
		abort();
	p = tpath("t.zip");
	rc = ap_extract_archive(p, dest, MTIME, NULL, NULL, &err);
	free(p);
	is_int(count_entries(outside), 0, "pre-existing symlink: nothing written through it (%s)",
	       err.msg);
	ap_fsx_stat(link, &st, &err);
	ok(rc < 0 || st.type == AP_FT_DIR, "pre-existing symlink: replaced by a folder or refused");
	free(base);
	free(dest);
	free(outside);
	free(link);
}
#endif

/* A fresh empty folder under tmp (removed first). */
static char *fresh_dir(const char *name)
{
	char *d = tpath(name);

	tu_rm_rf(d);
	if (tu_mkdir(d) != 0)
		abort();
	return d;
}

/* Extract archive (under tmp) with expectation x; the error code. */
static int checked(const char *archive, const struct ap_extract_expect *x, struct seen *s,
		   struct ap_err *err)
{
	char *arch = tpath(archive);
	char *dest = fresh_dir("chk");
	int rc;

	memset(s, 0, sizeof(*s));
	*err = (struct ap_err)AP_ERR_INIT;
	rc = ap_extract_checked(arch, dest, MTIME, x, on_file, s, err);
	free(arch);
	free(dest);
	return rc;
}

/* The archive checked against its size, sha256 and expanded figures, and
 * every figure off by one: each is caught, named, with the right code. */
static void test_checked_kind(const char *archive)
{
	struct ap_extract_expect x = { 0 };
	struct ap_err err = AP_ERR_INIT;
	char hex[AP_SHA256_HEX], bad[AP_SHA256_HEX];
	char *arch = tpath(archive), *spool = fresh_dir("spool");
	uint64_t size = 0, total = 0, nfiles = 0, msize = 0, mfiles = 0;
	struct seen s;
	int rc;

	if (ap_digest_file(arch, hex, &size, NULL, NULL, &err) < 0)
		abort();
	for (int i = 0; i < NFILES; i++)
		total += files[i].size;
	nfiles = NFILES;
	rc = ap_extract_measure(arch, &msize, &mfiles, &err);
	is_int(rc, 0, "%s: measured", archive);
	is_int(msize, total, "%s: measure gives the total size of its files", archive);
	is_int(mfiles, nfiles, "%s: and their number", archive);

	x.has_size = true;
	x.size = size;
	x.sha256 = hex;
	x.says = "the test says";
	x.has_expanded = true;
	x.expanded_size = total;
	x.expanded_files = nfiles;
	x.spool_dir = spool;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, 0, "%s: extracts when everything matches (%s)", archive, err.msg);
	is_int(s.n, NFILES, "%s: every file seen", archive);
	is_int(count_entries(spool), 0, "%s: the private copy left no name behind", archive);

	memcpy(bad, hex, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	x.sha256 = bad;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_DIGEST, "%s: another sha256 is a digest error", archive);
	contains(err.msg, "has sha256", "%s: the message says sha256", archive);
	contains(err.msg, "the test says", "%s: and who expected it", archive);
	contains(err.msg, archive, "%s: and names the archive", archive);
	x.sha256 = hex;

	x.size = size + 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_DIGEST, "%s: one byte short is a digest error", archive);
	contains(err.msg, "bytes, the test says", "%s: naming both sizes", archive);
	x.size = size - 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_DIGEST, "%s: one byte more is a digest error", archive);
	contains(err.msg, "is larger than", "%s: said as larger", archive);
	x.size = size;

	x.expanded_size = total - 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_TOOBIG, "%s: one byte past the expanded size stops it", archive);
	contains(err.msg, "expands past", "%s: said as expanding past", archive);
	x.expanded_size = total + 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_DIGEST, "%s: one byte less than the expanded size is refused", archive);
	contains(err.msg, "expands to", "%s: said with both figures", archive);
	x.expanded_size = total;
	x.expanded_files = nfiles - 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_TOOBIG, "%s: a file more than signed stops it", archive);
	is_int(s.n, NFILES - 1, "%s: before that file is handed on", archive);
	x.expanded_files = nfiles + 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_DIGEST, "%s: a file fewer than signed is refused", archive);
	x.expanded_files = nfiles;

	x.has_expanded = false;
	x.max_expanded = total - 1;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, AP_E_TOOBIG, "%s: without expanded figures the cap holds", archive);
	x.max_expanded = total;
	rc = checked(archive, &x, &s, &err);
	is_int(rc, 0, "%s: and the total itself passes", archive);

	free(arch);
	free(spool);
}

/* A tar read as a stream is hashed to its very end: bytes after its
 * end-of-archive blocks count too. */
static void test_checked_trailer(void)
{
	struct ap_extract_expect x = { 0 };
	struct ap_err err = AP_ERR_INIT;
	struct tu_arc *a = tu_arc_new(TU_ARC_TAR);
	char *arch = tpath("trail.tar");
	char hex[AP_SHA256_HEX], hex2[AP_SHA256_HEX];
	uint64_t size = 0, size2 = 0;
	struct seen s;
	FILE *fp;

	tu_arc_file(a, "f", "data", 4, 0644, MTIME);
	if (tu_arc_write(a, arch) != 0 || ap_digest_file(arch, hex, &size, NULL, NULL, &err) < 0)
		abort();
	fp = fopen(arch, "ab");
	if (!fp || fputs("ATTACKER TRAILER", fp) < 0 || fclose(fp) != 0)
		abort();
	if (ap_digest_file(arch, hex2, &size2, NULL, NULL, &err) < 0)
		abort();
	x.has_size = true;
	x.size = size;
	x.sha256 = hex;
	is_int(checked("trail.tar", &x, &s, &err), AP_E_DIGEST,
	       "bytes appended after a tar's end are hashed: refused");
	x.size = size2;
	x.sha256 = hex2;
	is_int(checked("trail.tar", &x, &s, &err), 0,
	       "and with the whole file's size and sha256 it extracts");

	/* Replaced by bytes libarchive cannot read, or by an archive with an
	 * unsafe entry: the cause reported is that they are not the expected
	 * bytes. */
	write_bytes(arch, "not an archive at all", 21, 0644);
	is_int(checked("trail.tar", &x, &s, &err), AP_E_DIGEST,
	       "garbage in place of the archive is a digest error");
	a = tu_arc_new(TU_ARC_TAR);
	tu_arc_symlink(a, "etc", "/etc", MTIME);
	if (tu_arc_write(a, arch) != 0)
		abort();
	is_int(checked("trail.tar", &x, &s, &err), AP_E_DIGEST,
	       "an unsafe archive in its place is a digest error");
	contains(err.msg, "bytes, expected", "said as not the expected bytes");
	free(arch);
}

/* Entries that conflict are refused before they are written, naming the
 * entry; the same folder twice is harmless. */
static void test_conflicts(void)
{
	static const struct {
		const char *label;
		const char *entries; /* "f:NAME" or "d:NAME", space-separated */
		const char *entry;
		const char *why;
	} cases[] = {
		{ "same file twice", "f:x f:x", "'x'", "the same file is earlier in the archive" },
		{ "a file below a file", "f:x f:x/y", "'x/y'", "'x' is a file earlier" },
		{ "a file deep below a file", "f:a/x f:a/x/b/c", "'a/x/b/c'", "'a/x' is a file" },
		{ "a file where a folder was", "d:x f:x", "'x'", "it is a folder earlier" },
		{ "a file where a parent folder was", "f:x/y f:x", "'x'",
		  "it is a folder earlier" },
		{ "a folder where a file was", "f:x d:x", "'x'", "it is a file earlier" },
		{ "harmless: a folder twice", "d:x d:x f:x/y", NULL, NULL },
	};
	static const enum tu_arc_kind kinds[] = { TU_ARC_TAR, TU_ARC_ZIP };

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct tu_arc *a = tu_arc_new(kinds[k]);
			char *arch = tpath(k ? "conflict.zip" : "conflict.tar");
			char *dest = fresh_dir("conflict");
			char buf[128], *tok, *end;
			struct ap_err err = AP_ERR_INIT;
			uint64_t ms, mf;
			struct seen s;
			int rc;

			memset(&s, 0, sizeof(s));
			snprintf(buf, sizeof(buf), "%s", cases[i].entries);
			for (tok = buf; tok; tok = end ? end + 1 : NULL) {
				end = strchr(tok, ' ');
				if (end)
					*end = '\0';
				if (tok[0] == 'd')
					tu_arc_dir(a, tok + 2, 0755, MTIME);
				else
					tu_arc_file(a, tok + 2, tok, strlen(tok), 0644, MTIME);
			}
			if (tu_arc_write(a, arch) != 0)
				abort();
			rc = ap_extract_archive(arch, dest, MTIME, on_file, &s, &err);
			if (!cases[i].why) {
				is_int(rc, 0, "%s %s: extracts", k ? "zip" : "tar", cases[i].label);
			} else {
				is_int(rc, AP_E_UNSAFE, "%s %s: refused", k ? "zip" : "tar",
				       cases[i].label);
				contains(err.msg, cases[i].entry, "%s %s: names the entry",
					 k ? "zip" : "tar", cases[i].label);
				contains(err.msg, cases[i].why, "%s %s: says why",
					 k ? "zip" : "tar", cases[i].label);
				is_int(ap_extract_measure(arch, &ms, &mf, &err), AP_E_UNSAFE,
				       "%s %s: measuring refuses it too", k ? "zip" : "tar",
				       cases[i].label);
			}
			free(arch);
			free(dest);
		}
	}
}

/* A release Windows installs (windows_names): names Windows treats
 * specially and names Windows sees as one are refused before they are
 * written, naming the entry; without it they extract. */
static void test_windows_names(void)
{
	static const struct {
		const char *entries; /* as in test_conflicts */
		const char *entry;
		const char *why;
	} cases[] = {
		{ "f:CON", "'CON'", "reserved device name" },
		{ "f:sub/nul", "'sub/nul'", "reserved device name" },
		{ "f:aux.txt", "'aux.txt'", "reserved device name" },
		{ "f:Com1.log", "'Com1.log'", "reserved device name" },
		{ "f:lpt9", "'lpt9'", "reserved device name" },
		{ "f:notes.", "'notes.'", "ending in a dot or a space" },
		{ "f:dir /x", "'dir /x'", "ending in a dot or a space" },
		{ "f:ab:stream", "'ab:stream'", "alternate data stream" },
		{ "f:C:/x", "'C:/x'", "drive" },
		{ "f:what?", "'what?'", "refuses in names" },
		{ "f:A.txt f:a.txt", "'a.txt'", "same name on Windows" },
		{ "f:same.txt f:same.txt.", "'same.txt.'", "ending in a dot" },
		{ "f:Dir/x f:dir/y", "'dir/y'", "same name on Windows" },
		{ "f:\xc3\x89t\xc3\xa9 f:\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9",
		  "same name on Windows" },
		{ "f:x.txt d:X.TXT", "'X.TXT'", "same name on Windows" },
	};
	static const enum tu_arc_kind kinds[] = { TU_ARC_TAR, TU_ARC_ZIP };

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct tu_arc *a = tu_arc_new(kinds[k]);
			char *arch = tpath(k ? "win.zip" : "win.tar");
			char *dest = fresh_dir("win");
			struct ap_extract_expect x = { 0 };
			char buf[128], *tok, *end;
			struct ap_err err = AP_ERR_INIT;
			uint64_t ms, mf;
			struct seen s;
			int rc;

#ifdef _WIN32
			/* testarc.h marks no name as UTF-8, and Windows reads such
			 * names in the ANSI code page; test_winname folds these. */
			if ((unsigned char)cases[i].entries[2] >= 0x80) {
				skip("%s %s: non-ASCII names of testarc.h", k ? "zip" : "tar",
				     cases[i].entries);
				free(arch);
				free(dest);
				continue;
			}
#endif
			memset(&s, 0, sizeof(s));
			snprintf(buf, sizeof(buf), "%s", cases[i].entries);
			for (tok = buf; tok; tok = end ? end + 1 : NULL) {
				end = strchr(tok, ' ');
				/* "dir /x" holds a space of its own */
				if (end && end[1] == '/')
					end = strchr(end + 1, ' ');
				if (end)
					*end = '\0';
				if (tok[0] == 'd')
					tu_arc_dir(a, tok + 2, 0755, MTIME);
				else
					tu_arc_file(a, tok + 2, tok, strlen(tok), 0644, MTIME);
			}
			if (tu_arc_write(a, arch) != 0)
				abort();
			x.windows_names = true;
			rc = ap_extract_checked(arch, dest, MTIME, &x, on_file, &s, &err);
			is_int(rc, AP_E_UNSAFE, "%s %s: refused for Windows", k ? "zip" : "tar",
			       cases[i].entries);
			contains(err.msg, "unsafe name for Windows", "%s %s: says so",
				 k ? "zip" : "tar", cases[i].entries);
			contains(err.msg, cases[i].entry, "%s %s: names the entry",
				 k ? "zip" : "tar", cases[i].entries);
			contains(err.msg, cases[i].why, "%s %s: says why", k ? "zip" : "tar",
				 cases[i].entries);
			is_int(ap_extract_measure_names(arch, true, &ms, &mf, &err), AP_E_UNSAFE,
			       "%s %s: measuring for Windows refuses it too", k ? "zip" : "tar",
			       cases[i].entries);
#ifndef _WIN32
			/* Elsewhere the names are fine (case collisions are two
			 * files on a case-sensitive file system). */
			if (!strstr(cases[i].entries, "C:/"))
				is_int(ap_extract_measure(arch, &ms, &mf, &err), 0,
				       "%s %s: fine without windows_names", k ? "zip" : "tar",
				       cases[i].entries);
#endif
			free(arch);
			free(dest);
		}
	}
}

int main(void)
{
	char *p;

	setlocale(LC_ALL, "C.UTF-8");
#ifndef _WIN32
	/* With no umask every mode below is the one extraction chose. */
	umask(0);
#endif
	/* Absolute before leaving the folder we were started in. */
	if (ap_fsx_abspath(TEST_DATA "/archives", &archives, NULL) != 0)
		return 1;
	tmp = tu_mkdtemp("ap-test-extract");
	if (!tmp)
		return 1;
	p = tpath("cwd");
	if (tu_mkdir(p) != 0 || tu_chdir(p) != 0)
		return 1;
	free(p);
	/* getcwd may resolve symlinks in TMPDIR: compare against its form. */
	cwd = tu_getcwd();
	if (!cwd)
		return 1;

	make_source();
	if (TU_WINDOWS) {
		skip("extract the cab gcab made: no gcab on Windows");
		skip("extract the zip zip made: no zip program on Windows");
		skip("extract the tar.gz tar made: no tar program on Windows");
	} else {
		test_extract_kind("cab", "t.cab", 1);
		test_extract_kind("zip", "t.zip", 0);
		test_extract_kind("tgz", "t.tgz", 0);
	}
	test_extract_kind("tu-zip", "t-tu.zip", 0);
	test_extract_kind("tu-tgz", "t-tu.tgz", 0);
	test_extract_kind("tu-cab", "t-tu.cab", 1);
	test_keep_times_and_relative();
	test_evil();
	test_existing_symlink();
	test_checked_kind("t-tu.zip");
	test_checked_kind("t-tu.tgz");
	test_checked_kind("t-tu.cab");
	if (!TU_WINDOWS) {
		test_checked_kind("t.zip");
		test_checked_kind("t.cab");
	}
	test_checked_trailer();
	test_conflicts();
	test_windows_names();

	if (tu_chdir("/") != 0 || tu_rm_rf(tmp) != 0)
		printf("# could not remove %s\n", tmp);
	free(tmp);
	free(cwd);
	free(archives);
	return tap_done();
}
