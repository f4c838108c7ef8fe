/* test_fsx.c - durable file operations and ap_process_run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "airpack/fsx.h"
#include "airpack/process.h"
#include "airpack/testhook.h"
#include "tap.h"
#include "testutil.h"

static char *dir;

static char *in_dir(const char *name)
{
	return tu_join(dir, name);
}

static unsigned file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0xffffffffu;
	return (unsigned)(st.st_mode & 07777);
}

static int write_plain(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");

	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

/* Number of entries in a folder, -1 on error. */
static long count_entries(const char *path)
{
	struct ap_err err = AP_ERR_INIT;
	char **names = NULL;
	size_t n = 0;

	if (ap_fsx_list_dir(path, &names, &n, &err) != 0)
		return -1;
	ap_fsx_strv_free(names, n);
	return (long)n;
}

static void test_write_atomic(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *sub = in_dir("atomic");
	char *path = ap_fsx_path_join(sub, "receipt.json");
	char *buf = NULL;
	size_t len = 0;
	char **names = NULL;
	size_t n = 0;
	int rc;

	ok(ap_fsx_mkdir_p(sub, 0755, &err) == 0, "mkdir atomic folder");
	rc = ap_fsx_write_atomic(path, "first\n", 6, 0640, &err);
	is_int(rc, 0, "write_atomic creates the file: %s", err.msg);
	is_mode(file_mode(path), 0640, "write_atomic sets mode 0640");
	rc = ap_fsx_read_file(path, 100, &buf, &len, &err);
	is_int(rc, 0, "read back");
	is_str(buf, "first\n", "content of the first write");
	is_int(len, 6, "length of the first write");
	free(buf);
	buf = NULL;

	rc = ap_fsx_write_atomic(path, "second, longer\n", 15, 0600, &err);
	is_int(rc, 0, "second write_atomic replaces the file: %s", err.msg);
	is_mode(file_mode(path), 0600, "the replacement has the new mode 0600");
	rc = ap_fsx_read_file(path, 100, &buf, &len, &err);
	is_str(buf, "second, longer\n", "content of the second write");
	free(buf);
	buf = NULL;

	rc = ap_fsx_write_atomic(path, "", 0, 0644, &err);
	is_int(rc, 0, "an empty write_atomic");
	rc = ap_fsx_read_file(path, 100, &buf, &len, &err);
	is_int(len, 0, "empty content");
	is_str(buf, "", "empty content is NUL-terminated");
	free(buf);

	rc = ap_fsx_list_dir(sub, &names, &n, &err);
	is_int(n, 1, "no temporary files left behind in the folder");
	if (n >= 1)
		is_str(names[0], "receipt.json", "only the final name remains");
	ap_fsx_strv_free(names, n);

	{
		char *nodir = in_dir("no-such-folder/x.json");

		rc = ap_fsx_write_atomic(nodir, "x", 1, 0644, &err);
		ok(rc < 0, "write_atomic into a missing folder fails");
		contains(err.msg, nodir, "the error names the path");
		free(nodir);
	}
	free(path);
	free(sub);
}

static void test_afile(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_fsx_afile f = AP_AFILE_INIT;
	char *sub = in_dir("afile");
	char *path = ap_fsx_path_join(sub, "payload.cab");
	char *buf = NULL;
	size_t len = 0;
	int rc;

	ap_fsx_mkdir_p(sub, 0755, &err);
	rc = ap_fsx_afile_open(&f, path, 0644, &err);
	is_int(rc, 0, "afile open: %s", err.msg);
	ok(f.tmp && strstr(f.tmp, "payload.cab.tmp-") != NULL, "temp name is PATH.tmp-XXXXXX (%s)",
	   f.tmp ? f.tmp : "(null)");
	ap_fsx_afile_write(&f, "partial", 7, &err);
	ok(!ap_fsx_is_file(path), "final name not visible before commit");
	ap_fsx_afile_abort(&f);
	ok(f.fp == NULL && f.tmp == NULL && f.path == NULL, "abort releases the struct");
	is_int(count_entries(sub), 0, "abort leaves nothing in the folder");
	ap_fsx_afile_abort(&f);
	ok(1, "a second abort is safe");

	rc = ap_fsx_afile_open(&f, path, 0755, &err);
	ap_fsx_afile_write(&f, "one ", 4, &err);
	ap_fsx_afile_write(&f, "two", 3, &err);
	rc = ap_fsx_afile_commit(&f, &err);
	is_int(rc, 0, "afile commit: %s", err.msg);
	ok(f.fp == NULL && f.tmp == NULL, "commit releases the struct");
	ap_fsx_read_file(path, 100, &buf, &len, &err);
	is_str(buf, "one two", "committed content");
	is_mode(file_mode(path), 0755, "committed mode 0755");
	is_int(count_entries(sub), 1, "commit leaves only the final file");
	free(buf);

	rc = ap_fsx_afile_commit(&f, &err);
	is_int(rc, AP_E_USAGE, "commit of a released afile is a usage error");

	/* A sync started early (on a second thread where there is one): the
	 * writes after it, read-backs and a second start all end in the
	 * whole file; an abort after a start waits for it and removes all. */
	rc = ap_fsx_afile_sync_start(&f, &err);
	is_int(rc, AP_E_USAGE, "sync_start of an unopened afile is a usage error");
	rc = ap_fsx_afile_open(&f, path, 0644, &err);
	ap_fsx_afile_write(&f, "head ", 5, &err);
	rc = ap_fsx_afile_sync_start(&f, &err);
	is_int(rc, 0, "sync_start: %s", err.msg);
	ap_fsx_afile_write(&f, "middle ", 7, &err);
	rc = ap_fsx_afile_sync_start(&f, &err);
	is_int(rc, 0, "a second sync_start waits for the first: %s", err.msg);
	{
		char back[6] = { 0 };

		ok(fseek(f.fp, 0, SEEK_SET) == 0 && fread(back, 1, 5, f.fp) == 5 &&
			   strcmp(back, "head ") == 0 && fseek(f.fp, 0, SEEK_END) == 0,
		   "the file reads back while its sync runs");
	}
	ap_fsx_afile_write(&f, "tail", 4, &err);
	rc = ap_fsx_afile_commit(&f, &err);
	is_int(rc, 0, "commit after sync_start: %s", err.msg);
	ok(f.flush == NULL && f.fp == NULL, "commit waited for the sync and released it");
	buf = NULL;
	ap_fsx_read_file(path, 100, &buf, &len, &err);
	is_str(buf, "head middle tail", "every byte, before and after the starts");
	free(buf);
	rc = ap_fsx_afile_open(&f, path, 0644, &err);
	ap_fsx_afile_write(&f, "dropped", 7, &err);
	ap_fsx_afile_sync_start(&f, &err);
	ap_fsx_afile_abort(&f);
	ok(f.flush == NULL && f.tmp == NULL, "abort after sync_start waits and releases");
	is_int(count_entries(sub), 1, "and leaves only the committed file");
	buf = NULL;
	ap_fsx_read_file(path, 100, &buf, &len, &err);
	is_str(buf, "head middle tail", "which is unchanged");
	free(buf);
	free(path);
	free(sub);
}

static void test_mkdir_rm(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *nested = in_dir("m/a/b/c/");
	char *deep = in_dir("m/a/b/c");
	char *outside = in_dir("outside");
	char *outside_file = in_dir("outside/keep.txt");
	char *tree = in_dir("tree");
	char *tree_sub = in_dir("tree/sub/deeper");
	char *link_dir = in_dir("tree/sub/link-to-outside");
	char *link_file = in_dir("tree/link-to-file");
	char *file = in_dir("tree/sub/deeper/f.txt");
	char *blocker = in_dir("m/a/file");
	char *through = in_dir("m/a/file/x");
	struct ap_stat st;
	int rc;

	rc = ap_fsx_mkdir_p(nested, 0750, &err);
	is_int(rc, 0, "mkdir_p nested with a trailing slash: %s", err.msg);
	ok(ap_fsx_is_dir(deep), "nested folder exists");
	is_mode(file_mode(deep), 0750, "nested folder mode (umask 022 keeps 0750)");
	rc = ap_fsx_mkdir_p(deep, 0750, &err);
	is_int(rc, 0, "mkdir_p on an existing folder is fine");
	write_plain(blocker, "x");
	rc = ap_fsx_mkdir_p(through, 0755, &err);
	is_int(rc, AP_E_EXISTS, "mkdir_p through a file is AP_E_EXISTS");
	contains(err.msg, blocker, "the error names the file in the way");
	rc = ap_fsx_mkdir_p("", 0755, &err);
	is_int(rc, AP_E_USAGE, "mkdir_p of an empty path");

	ap_fsx_mkdir_p(outside, 0755, &err);
	write_plain(outside_file, "survive");
	ap_fsx_mkdir_p(tree_sub, 0755, &err);
	write_plain(file, "gone");
#ifdef _WIN32
	skip("symlinks in the tree: making them needs a privilege on Windows");
	skip("symlinks in the tree: making them needs a privilege on Windows");
#else
	ok(symlink(outside, link_dir) == 0, "symlink to a folder outside the tree");
	ok(symlink(outside_file, link_file) == 0, "symlink to a file outside the tree");
#endif
	rc = ap_fsx_rm_rf(tree, &err);
	is_int(rc, 0, "rm_rf the tree: %s", err.msg);
	ok(!ap_fsx_is_dir(tree), "the tree is gone");
	ok(ap_fsx_is_file(outside_file), "the symlink's target outside the tree survives");
	ok(ap_fsx_is_dir(outside), "the linked folder outside survives");
	rc = ap_fsx_rm_rf(tree, &err);
	is_int(rc, 0, "rm_rf of a missing path is not an error");

#ifdef _WIN32
	(void)st;
	skip("a symlink as the rm_rf root: no symlinks without a privilege on Windows");
#else
	ok(symlink(outside, tree) == 0, "a symlink as the rm_rf root");
	rc = ap_fsx_rm_rf(tree, &err);
	is_int(rc, 0, "rm_rf of a symlink removes the link");
	ap_fsx_stat(tree, &st, &err);
	is_int(st.type, AP_FT_NONE, "the link is gone");
	ok(ap_fsx_is_file(outside_file), "the link's target survives");
#endif

	rc = ap_fsx_rmdir(outside, &err);
	is_int(rc, AP_E_EXISTS, "rmdir of a non-empty folder is AP_E_EXISTS");
	contains(err.msg, "not empty", "rmdir error says not empty");
	is_int(ap_fsx_unlink(outside_file, &err), 0, "unlink a file");
	is_int(ap_fsx_unlink(outside_file, &err), 0, "unlink a missing file is fine");
	is_int(ap_fsx_rmdir(outside, &err), 0, "rmdir an empty folder");
	is_int(ap_fsx_rmdir(outside, &err), 0, "rmdir a missing folder is fine");

	free(nested);
	free(deep);
	free(outside);
	free(outside_file);
	free(tree);
	free(tree_sub);
	free(link_dir);
	free(link_file);
	free(file);
	free(blocker);
	free(through);
}

static void test_read_file(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *path = in_dir("ten.txt");
	char *big = in_dir("big.bin");
	char *missing = in_dir("missing.json");
	char *buf = (char *)"untouched";
	size_t len = 99;
	FILE *fp;
	int rc;

	write_plain(path, "0123456789");
	rc = ap_fsx_read_file(path, 10, &buf, &len, &err);
	is_int(rc, 0, "read exactly max bytes");
	is_str(buf, "0123456789", "content");
	is_int(len, 10, "length");
	free(buf);

	buf = (char *)"untouched";
	len = 99;
	rc = ap_fsx_read_file(path, 9, &buf, &len, &err);
	is_int(rc, AP_E_TOOBIG, "one byte over max is AP_E_TOOBIG");
	contains(err.msg, path, "toobig error names the file");
	contains(err.msg, "at most 9 bytes", "toobig error says the limit");
	is_str(buf, "untouched", "buf not written on failure");
	is_int(len, 99, "len not written on failure");

	rc = ap_fsx_read_file(path, 0, &buf, &len, &err);
	is_int(rc, AP_E_TOOBIG, "max 0 with a non-empty file");

	fp = fopen(big, "wb");
	for (int i = 0; i < 300000; i++)
		fputc('a' + i % 26, fp);
	fclose(fp);
	rc = ap_fsx_read_file(big, 300000, &buf, &len, &err);
	is_int(rc, 0, "read a 300000-byte file over several chunks");
	is_int(len, 300000, "its length");
	ok(rc == 0 && buf[299999] == 'a' + 299999 % 26 && buf[300000] == '\0', "last byte and NUL");
	if (rc == 0)
		free(buf);
	rc = ap_fsx_read_file(big, 299999, &buf, &len, &err);
	is_int(rc, AP_E_TOOBIG, "300000 bytes with max 299999");

	rc = ap_fsx_read_file(missing, 100, &buf, &len, &err);
	is_int(rc, AP_E_NOTFOUND, "missing file is AP_E_NOTFOUND");
	contains(err.msg, missing, "missing error names the path");

	free(path);
	free(big);
	free(missing);
}

static void test_list_copy_stat(void)
{
	static const char *order[] = { "C", "_x", "a", "a1", "b" };
	struct ap_err err = AP_ERR_INIT;
	char *sub = in_dir("list");
	char *src = in_dir("copy-src.bin");
	char *dst = in_dir("copy-dst.bin");
	char *link = in_dir("copy-link");
	char **names = NULL;
	size_t n = 0;
	struct ap_stat st;
	char *a = NULL;
	char *b = NULL;
	size_t la = 0, lb = 0;
	FILE *fp;
	int rc;

	ap_fsx_mkdir_p(sub, 0755, &err);
	for (int i = 4; i >= 0; i--) {
		char *p = ap_fsx_path_join(sub, order[(i * 3) % 5]);

		write_plain(p, "x");
		free(p);
	}
	rc = ap_fsx_list_dir(sub, &names, &n, &err);
	is_int(rc, 0, "list_dir");
	is_int(n, 5, "five entries, no . or ..");
	for (size_t i = 0; i < 5 && i < n; i++)
		is_str(names[i], order[i], "entry %zu sorted bytewise", i);
	ok(n == 5 && names[5] == NULL, "the vector is NULL-terminated too");
	ap_fsx_strv_free(names, n);
	names = NULL;
	rc = ap_fsx_list_dir(src, &names, &n, &err);
	is_int(rc, AP_E_NOTFOUND, "list_dir of a missing folder");
	contains(err.msg, src, "its error names the folder");
	ap_fsx_strv_free(NULL, 0);

	fp = fopen(src, "wb");
	for (int i = 0; i < 200000; i++)
		fputc(i * 7 % 251, fp);
	fclose(fp);
	rc = ap_fsx_copy_file(src, dst, 0755, &err);
	is_int(rc, 0, "copy_file: %s", err.msg);
	ap_fsx_read_file(src, 1 << 20, &a, &la, &err);
	ap_fsx_read_file(dst, 1 << 20, &b, &lb, &err);
	ok(a && b && la == 200000 && la == lb && memcmp(a, b, la) == 0,
	   "copied bytes are identical");
	is_mode(file_mode(dst), 0755, "copy has mode 0755");
	free(a);
	free(b);
	rc = ap_fsx_copy_file(sub, dst, 0644, &err);
	ok(rc < 0, "copying a folder fails");
	rc = ap_fsx_copy_file(link, dst, 0644, &err);
	is_int(rc, AP_E_NOTFOUND, "copying a missing file");
	contains(err.msg, link, "its error names the source");

	rc = ap_fsx_stat(dst, &st, &err);
	is_int(rc, 0, "stat a file");
	is_int(st.type, AP_FT_FILE, "type file");
	is_int(st.size, 200000, "size");
	is_mode(st.mode, 0755, "mode");
	is_int(ap_fsx_set_mtime(dst, 1234567890, &err), 0, "set_mtime");
	ap_fsx_stat(dst, &st, &err);
	is_int(st.mtime, 1234567890, "mtime was set");
	is_int(ap_fsx_chmod(dst, 0600, &err), 0, "chmod");
	is_mode(file_mode(dst), 0600, "chmod took effect");
#ifdef _WIN32
	skip("stat of a symlink: no symlinks without a privilege on Windows");
#else
	symlink(dst, link);
	ap_fsx_stat(link, &st, &err);
	is_int(st.type, AP_FT_LINK, "stat does not follow symlinks");
#endif
	ap_fsx_stat(sub, &st, &err);
	is_int(st.type, AP_FT_DIR, "type dir");
	remove(src);
	rc = ap_fsx_stat(src, &st, &err);
	is_int(rc, 0, "stat of a missing path returns 0");
	is_int(st.type, AP_FT_NONE, "and type none");
	ok(ap_fsx_is_file(dst) && !ap_fsx_is_file(sub), "is_file");
	ok(ap_fsx_is_dir(sub) && !ap_fsx_is_dir(dst), "is_dir");
	ok(ap_fsx_dir_writable(sub), "dir_writable on our folder");
	ok(!ap_fsx_dir_writable(dst), "dir_writable on a file is false");
	is_int(ap_fsx_fsync_dir(sub, &err), 0, "fsync_dir");
	is_int(ap_fsx_fsync_path(dst, &err), 0, "fsync_path");
	is_int(ap_fsx_fsync_parent(dst, &err), 0, "fsync_parent");

	rc = ap_fsx_rename(dst, src, &err);
	is_int(rc, 0, "rename");
	ok(ap_fsx_is_file(src) && !ap_fsx_is_file(dst), "rename moved the file");
	rc = ap_fsx_rename(dst, src, &err);
	is_int(rc, AP_E_NOTFOUND, "rename of a missing file");
	contains(err.msg, dst, "rename error names the source");

	free(sub);
	free(src);
	free(dst);
	free(link);
}

/* Only the folders of a folder, for walking a tree of many files: files and
 * symlinks (to folders too) are left out, the result is sorted and
 * NULL-terminated even when empty. */
static void test_list_subdirs(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("subdirs");
	char *files_only = in_dir("subdirs/d1/only-files");
	char **names = NULL;
	size_t n = 99;
	int rc;

	ap_fsx_mkdir_p(files_only, 0755, &err);
	for (const char *const *d = (const char *const[]){ "b", "a", "d1/x", NULL }; *d; d++) {
		char *p = ap_fsx_path_join(root, *d);

		ap_fsx_mkdir_p(p, 0755, &err);
		free(p);
	}
	for (const char *const *f = (const char *const[]){ "f.txt", "c", "d1/only-files/g", NULL };
	     *f; f++) {
		char *p = ap_fsx_path_join(root, *f);

		write_plain(p, "x");
		free(p);
	}
#ifndef _WIN32
	{
		char *link = in_dir("subdirs/link-to-a");

		ok(symlink("a", link) == 0, "a symlink to a folder");
		free(link);
	}
#endif
	rc = ap_fsx_list_subdirs_under(root, "", &names, &n, &err);
	is_int(rc, 0, "list_subdirs_under: %s", err.msg);
	is_int(n, 3, "three folders: no files, no symlink");
	ok(n == 3 && strcmp(names[0], "a") == 0 && strcmp(names[1], "b") == 0 &&
		   strcmp(names[2], "d1") == 0,
	   "sorted: a b d1");
	ok(n == 3 && names[3] == NULL, "NULL-terminated");
	ap_fsx_strv_free(names, n);
	names = NULL;
	rc = ap_fsx_list_subdirs_under(root, "d1", &names, &n, &err);
	ok(rc == 0 && n == 2 && strcmp(names[0], "only-files") == 0 && strcmp(names[1], "x") == 0,
	   "a folder under the root");
	ap_fsx_strv_free(names, n);
	names = NULL;
	rc = ap_fsx_list_subdirs_under(root, "d1/only-files", &names, &n, &err);
	ok(rc == 0 && n == 0 && names && names[0] == NULL,
	   "a folder of files only: an empty, NULL-terminated list");
	ap_fsx_strv_free(names, n);
	names = NULL;
	rc = ap_fsx_list_subdirs_under(root, "missing", &names, &n, &err);
	is_int(rc, AP_E_NOTFOUND, "a missing folder is not found");
	contains(err.msg, "missing", "and the error names it");
	free(root);
	free(files_only);
}

static void test_paths(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *p;
	char *exe = NULL;

	p = ap_fsx_path_join("a", "b");
	is_str(p, "a/b", "join a b");
	free(p);
	p = ap_fsx_path_join("a/", "b");
	is_str(p, "a/b", "join a/ b keeps one slash");
	free(p);
	p = ap_fsx_path_join("", "b");
	is_str(p, "b", "join with an empty first part");
	free(p);
	p = ap_fsx_path_join("/", "etc");
	is_str(p, "/etc", "join / etc");
	free(p);
	p = ap_fsx_path_join3("root", "opt/iotedge", "daemon");
	is_str(p, "root/opt/iotedge/daemon", "join3");
	free(p);

	p = ap_fsx_path_dirname("a/b/c");
	is_str(p, "a/b", "dirname a/b/c");
	free(p);
	p = ap_fsx_path_dirname("c");
	is_str(p, ".", "dirname of a bare name");
	free(p);
	p = ap_fsx_path_dirname("/c");
	is_str(p, "/", "dirname /c");
	free(p);
	p = ap_fsx_path_dirname("/");
	is_str(p, "/", "dirname /");
	free(p);
	p = ap_fsx_path_dirname("a/b/");
	is_str(p, "a", "dirname ignores a trailing slash");
	free(p);
	p = ap_fsx_path_dirname("a//b");
	is_str(p, "a", "dirname drops repeated slashes");
	free(p);

	is_str(ap_fsx_path_basename("a/b/c.cab"), "c.cab", "basename a/b/c.cab");
	is_str(ap_fsx_path_basename("c.cab"), "c.cab", "basename of a bare name");
	is_str(ap_fsx_path_basename("/c"), "c", "basename /c");

	is_int(ap_fsx_self_exe(&exe, &err), 0, "self_exe");
#ifdef _WIN32
	ok(exe && ap_fsx_path_is_abs(exe), "self_exe is absolute (%s)", exe ? exe : "(null)");
#else
	ok(exe && exe[0] == '/', "self_exe is absolute (%s)", exe ? exe : "(null)");
#endif
	is_str(exe ? ap_fsx_path_basename(exe) : NULL, "test_fsx" TU_EXE,
	       "self_exe names this test");
	free(exe);
}

static void test_now(void)
{
	int64_t t0 = (int64_t)time(NULL);
	int64_t got;

	struct ap_err err = AP_ERR_INIT;
	int64_t sde = -1;

	tu_setenv("SOURCE_DATE_EPOCH", "1700000000");
	is_int(ap_fsx_source_date_epoch(&sde, &err), 1, "SOURCE_DATE_EPOCH read");
	is_int(sde, 1700000000, "SOURCE_DATE_EPOCH value");
	tu_setenv("SOURCE_DATE_EPOCH", "17x");
	sde = -1;
	is_int(ap_fsx_source_date_epoch(&sde, &err), AP_E_USAGE,
	       "invalid SOURCE_DATE_EPOCH refused");
	is_int(sde, -1, "and *out untouched");
	contains(err.msg, "SOURCE_DATE_EPOCH: expected a non-negative number of seconds, got '17x'",
		 "naming the value");
	tu_setenv("SOURCE_DATE_EPOCH", "+5");
	is_int(ap_fsx_source_date_epoch(&sde, NULL), AP_E_USAGE, "a sign is refused");
	tu_unsetenv("SOURCE_DATE_EPOCH");
	is_int(ap_fsx_source_date_epoch(&sde, &err), 0, "unset SOURCE_DATE_EPOCH is 0");

	tu_setenv("SOURCE_DATE_EPOCH", "1700000000");
	is_int(ap_fsx_now(), 1700000000, "SOURCE_DATE_EPOCH respected");
	tu_setenv("SOURCE_DATE_EPOCH", "0");
	is_int(ap_fsx_now(), 0, "SOURCE_DATE_EPOCH 0 respected");
	tu_setenv("SOURCE_DATE_EPOCH", "17x");
	got = ap_fsx_now();
	ok(got >= t0 && got <= t0 + 60, "invalid SOURCE_DATE_EPOCH gives the current time");
	tu_setenv("SOURCE_DATE_EPOCH", "-5");
	got = ap_fsx_now();
	ok(got >= t0 && got <= t0 + 60, "negative SOURCE_DATE_EPOCH gives the current time");
	tu_setenv("SOURCE_DATE_EPOCH", "99999999999999999999999");
	got = ap_fsx_now();
	ok(got >= t0 && got <= t0 + 60, "overflowing SOURCE_DATE_EPOCH gives the current time");
	/* (Windows cannot hold an empty variable: this unsets it.) */
	tu_setenv("SOURCE_DATE_EPOCH", "");
	got = ap_fsx_now();
	ok(got >= t0 && got <= t0 + 60, "empty SOURCE_DATE_EPOCH gives the current time");
	tu_unsetenv("SOURCE_DATE_EPOCH");
	got = ap_fsx_now();
	ok(got >= t0 && got <= t0 + 60, "unset SOURCE_DATE_EPOCH gives the current time");
}

/* Try the lock once: 0 when it was busy with the expected error, 1 when it
 * was taken, 2 on anything else (a child's exit code). */
static int try_lock(const char *path)
{
	struct ap_err err = AP_ERR_INIT;
	int h = -1;
	int rc = ap_fsx_lock(path, &h, &err);

	if (rc == AP_E_STATE && strstr(err.msg, "another airpack-setup holds the lock") &&
	    strstr(err.msg, path) && h == -1)
		return 0;
	if (rc >= 0 && h >= 0)
		return 1;
	return 2;
}

#ifndef _WIN32
/* try_lock in a fork()ed child. */
static int lock_in_child(const char *path)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(try_lock(path));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
#endif

/* try_lock in this program started again by ap_process_run (see main). */
static int lock_in_self(const char *path)
{
	char *args[] = { (char *)"--child", (char *)"lock", (char *)path };
	char *self = NULL;
	int code = -1;

	if (ap_fsx_self_exe(&self, NULL) != 0 ||
	    ap_process_run(self, args, 3, NULL, &code, NULL) != 0)
		code = -1;
	free(self);
	return code;
}

static void test_lock(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *path = in_dir("setup.lock");
	int h = -1;
	int rc;

	rc = ap_fsx_lock(path, &h, &err);
	ok(rc >= 0 && h >= 0, "first lock taken (rc %d): %s", rc, err.msg);
#ifdef _WIN32
	skip("a second lock from a fork()ed child: no fork on Windows (started child below)");
#else
	is_int(lock_in_child(path), 0, "a second lock from another process is AP_E_STATE");
#endif
	is_int(lock_in_self(path), 0,
	       "a second lock from a started child process is AP_E_STATE and names the file");
	ap_fsx_unlock(h);
#ifdef _WIN32
	skip("after unlock a fork()ed child takes the lock: no fork on Windows");
#else
	is_int(lock_in_child(path), 1, "after unlock another process takes the lock");
#endif
	is_int(lock_in_self(path), 1, "after unlock a started child process takes the lock");
	ap_fsx_unlock(-1);
	free(path);
}

#ifdef _WIN32
static void test_process(void)
{
	skip("ap_process_run of /bin/sh and /bin/true (signals, shell arguments): POSIX only");
}
#else
static void test_process(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *script_out = in_dir("pwd.txt");
	char *missing = in_dir("no-such-program");
	char *nodir = in_dir("no-such-folder");
	char *buf = NULL;
	size_t len = 0;
	int code = -1;
	int rc;

	{
		char *args[] = { (char *)"-c", (char *)"exit 3" };

		rc = ap_process_run("/bin/sh", args, 2, NULL, &code, &err);
		is_int(rc, 0, "run /bin/sh -c 'exit 3': %s", err.msg);
		is_int(code, 3, "its exit code is 3");
	}
	{
		char *args[] = { (char *)"-c", (char *)"kill -TERM $$" };

		code = -1;
		rc = ap_process_run("/bin/sh", args, 2, NULL, &code, &err);
		is_int(rc, 0, "run a program killed by SIGTERM");
		is_int(code, 128 + 15, "its exit code is 128+15");
	}
	{
		/* Arguments reach the program verbatim: no shell in between. */
		char *args[] = { (char *)"-c", (char *)"test \"$1\" = 'a b;$(c)' && test $# = 1",
				 (char *)"sh", (char *)"a b;$(c)" };

		code = -1;
		rc = ap_process_run("/bin/sh", args, 4, NULL, &code, &err);
		is_int(rc, 0, "run with a tricky argument");
		is_int(code, 0, "the argument arrived verbatim");
	}
	{
		char *args[] = { (char *)"-c", (char *)"pwd > pwd.txt" };

		code = -1;
		rc = ap_process_run("/bin/sh", args, 2, dir, &code, &err);
		is_int(rc, 0, "run in a given folder");
		is_int(code, 0, "pwd succeeded");
		ap_fsx_read_file(script_out, 4096, &buf, &len, &err);
		contains(buf, dir, "the program ran in cwd");
		free(buf);
	}
	{
		char *args[] = { (char *)"x" };

		code = -1;
		rc = ap_process_run(missing, args, 1, NULL, &code, &err);
		is_int(rc, AP_E_RUN, "a missing program is AP_E_RUN");
		contains(err.msg, missing, "the error names the program");
		contains(err.msg, "No such file", "the error says why");
		is_int(code, -1, "exit code not written on failure");

		rc = ap_process_run("/bin/true", NULL, 0, nodir, &code, &err);
		is_int(rc, AP_E_RUN, "a missing cwd is AP_E_RUN");
		contains(err.msg, nodir, "the error names the folder");

		rc = ap_process_run("true", NULL, 0, NULL, &code, &err);
		is_int(rc, AP_E_RUN, "a bare name is not searched in PATH");
	}
	{
		code = -1;
		rc = ap_process_run("/bin/true", NULL, 0, NULL, &code, &err);
		is_int(rc, 0, "run with no arguments");
		is_int(code, 0, "/bin/true exits 0");
	}
	free(script_out);
	free(missing);
	free(nodir);
}
#endif

/* ap_process_run with this program as the child (see child_main), on every
 * OS: exit codes, arguments byte for byte, the folder it runs in, no
 * arguments at all, and the refusals. */
static void test_process_self(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *missing = in_dir("no-such-program" TU_EXE);
	char *nodir = in_dir("no-such-folder");
	char *out = in_dir("args.txt");
	char *self = NULL;
	char *buf = NULL;
	size_t len = 0;
	int code = -1;
	int rc;

	rc = ap_fsx_self_exe(&self, &err);
	is_int(rc, 0, "self_exe for the child runs: %s", err.msg);
	if (rc != 0)
		goto out;
	{
		char *args[] = { (char *)"--child", (char *)"exit", (char *)"3" };

		rc = ap_process_run(self, args, 3, NULL, &code, &err);
		is_int(rc, 0, "run this test as a child: %s", err.msg);
		is_int(code, 3, "the child's exit code 3 is returned");
	}
	{
		char *args[] = { (char *)"--child",  (char *)"args",	(char *)"args.txt",
				 (char *)"a b;$(c)", (char *)"",	(char *)"q\"uo\\te\\",
				 (char *)"%PATH%",   (char *)"tab\tend" };

		code = -1;
		rc = ap_process_run(self, args, 8, dir, &code, &err);
		is_int(rc, 0, "run the child with awkward arguments in a folder: %s", err.msg);
		is_int(code, 0, "the child exits 0");
		buf = NULL;
		ap_fsx_read_file(out, 4096, &buf, &len, &err);
		is_str(buf, "a b;$(c)\n\nq\"uo\\te\\\n%PATH%\ntab\tend\n",
		       "every argument arrived verbatim, no shell in between");
		free(buf);
	}
	{
		char *args[] = { (char *)"--child", (char *)"pwd", (char *)"pwd.txt" };
		char *pwd = in_dir("pwd.txt");

		code = -1;
		rc = ap_process_run(self, args, 3, dir, &code, &err);
		is_int(rc, 0, "run the child in a given folder: %s", err.msg);
		is_int(code, 0, "it wrote its working folder");
		buf = NULL;
		ap_fsx_read_file(pwd, 4096, &buf, &len, &err);
		contains(buf, dir, "the child ran in cwd");
		free(buf);
		free(pwd);
	}
	tu_setenv("AP_TEST_FSX_CHILD_EXIT", "7");
	code = -1;
	rc = ap_process_run(self, NULL, 0, NULL, &code, &err);
	tu_unsetenv("AP_TEST_FSX_CHILD_EXIT");
	is_int(rc, 0, "run the child with no arguments: %s", err.msg);
	is_int(code, 7, "it exits with the code its environment names");
	{
		char *args[] = { (char *)"x" };

		code = -1;
		rc = ap_process_run(missing, args, 1, NULL, &code, &err);
		is_int(rc, AP_E_RUN, "a missing program is AP_E_RUN");
		contains(err.msg, missing, "the error names the program");
		contains(err.msg, "No such file", "the error says why");
		is_int(code, -1, "exit code not written on failure");
	}
	{
		char *args[] = { (char *)"--child", (char *)"exit", (char *)"0" };

		rc = ap_process_run(self, args, 3, nodir, &code, &err);
		is_int(rc, AP_E_RUN, "a missing cwd is AP_E_RUN");
		contains(err.msg, nodir, "the error names the folder");
		/* Found on the search path, were there one. */
		rc = ap_process_run(TU_WINDOWS ? "cmd.exe" : "sh", NULL, 0, NULL, &code, &err);
		is_int(rc, AP_E_RUN, "a bare name is not searched in PATH");
	}
out:
	free(self);
	free(missing);
	free(nodir);
	free(out);
}

/* This program as its own child process (test_process_self, lock_in_self):
 *   --child exit N          exit with N
 *   --child args FILE A...  write each A and a newline to FILE, exit 0
 *   --child pwd FILE        write the working folder to FILE, exit 0
 *   --child lock PATH       exit with try_lock(PATH) */
static int child_main(int argc, char **argv)
{
	FILE *fp = NULL;
	char *cwd;
	int rc = 0;

	if (argc >= 2 && strcmp(argv[0], "exit") == 0)
		return (int)strtol(argv[1], NULL, 10);
	if (argc >= 2 && strcmp(argv[0], "lock") == 0)
		return try_lock(argv[1]);
	if (argc < 2 || ap_fsx_fopen(argv[1], "wb", &fp, NULL) != 0)
		return 20;
	if (strcmp(argv[0], "args") == 0) {
		for (int i = 2; i < argc; i++)
			fprintf(fp, "%s\n", argv[i]);
	} else if (strcmp(argv[0], "pwd") == 0) {
		cwd = tu_getcwd();
		if (cwd)
			fputs(cwd, fp);
		else
			rc = 21;
		free(cwd);
	} else {
		rc = 22;
	}
	if (fclose(fp) != 0)
		rc = 23;
	return rc;
}

/* An unnamed private file: written and read back through one stream, and
 * no name of it in its folder at any time. */
static void test_tmpfile_space(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *sub = in_dir("spool");
	char *missing = in_dir("no-such-folder");
	char **names = NULL, back[16] = "";
	size_t n = 9;
	uint64_t avail = 0;
	FILE *fp = NULL;

	ok(ap_fsx_mkdir_p(sub, 0755, &err) == 0, "mkdir spool folder");
	is_int(ap_fsx_tmpfile_in(sub, &fp, &err), 0, "private file made (%s)", err.msg);
	if (fp) {
		ok(fwrite("spooled", 1, 7, fp) == 7 && fflush(fp) == 0, "written");
		/* Windows names it until it is closed, and lets nobody open it. */
		if (TU_WINDOWS) {
			skip("Windows lists a delete-on-close file while it is open");
		} else {
			ok(ap_fsx_list_dir(sub, &names, &n, &err) == 0 && n == 0,
			   "the folder lists no name while it is open");
			ap_fsx_strv_free(names, n);
		}
		rewind(fp);
		ok(fread(back, 1, 7, fp) == 7 && strcmp(back, "spooled") == 0, "read back");
		fclose(fp);
	}
	ok(ap_fsx_list_dir(sub, &names, &n, &err) == 0 && n == 0, "nor after it is closed");
	ap_fsx_strv_free(names, n);
	fp = NULL;
	ok(ap_fsx_tmpfile_in(missing, &fp, &err) < 0 && fp == NULL,
	   "a private file in a missing folder fails");
	contains(err.msg, "no-such-folder", "naming the folder");

	is_int(ap_fsx_free_space(sub, &avail, &err), 0, "free space queried (%s)", err.msg);
	ok(avail > 0, "some bytes are free (%llu)", (unsigned long long)avail);
	ok(ap_fsx_free_space(missing, &avail, &err) < 0, "free space of a missing folder fails");
	contains(err.msg, "no-such-folder", "naming it");
	free(sub);
	free(missing);
}

#ifndef _WIN32
static int note_made(void *ctx, const char *rel, struct ap_err *err)
{
	FILE *f = ctx;

	(void)err;
	fprintf(f, "%s;", rel);
	return 0;
}

/* The *_under functions: nothing below the root is followed when it is a
 * symlink; how says which way the folders were opened. */
static void test_under(const char *how)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("under-root"), *out = in_dir("under-out");
	char cmd[2048], *made = NULL;
	size_t made_len = 0;
	struct ap_stat st;
	char **names = NULL;
	size_t n = 0;
	FILE *fp = NULL, *mf;
	char line[16] = "";
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' '%s' && mkdir -p '%s/a/b' '%s' && echo in > '%s/a/b/f' && "
		 "echo out > '%s/f' && ln -s '%s' '%s/l' && ln -s '%s' '%s/a/lnk'",
		 root, out, root, out, root, out, out, root, out, root);
	if (system(cmd) != 0) {
		ok(0, "%s: set up the symlinks", how);
		goto out;
	}
	rc = ap_fsx_stat_under(root, "a/b/f", &st, &err);
	ok(rc == 0 && st.type == AP_FT_FILE && st.size == 3, "%s: stat_under of a file: %s", how,
	   err.msg);
	rc = ap_fsx_stat_under(root, "l", &st, &err);
	ok(rc == 0 && st.type == AP_FT_LINK, "%s: the last component is not followed", how);
	rc = ap_fsx_stat_under(root, "a/nothing/f", &st, &err);
	ok(rc == 0 && st.type == AP_FT_NONE, "%s: a missing folder is 'not there'", how);
	rc = ap_fsx_stat_under(root, "a/b/f/x", &st, &err);
	ok(rc == 0 && st.type == AP_FT_NONE, "%s: a file where a folder should be too", how);
	rc = ap_fsx_stat_under(root, "l/f", &st, &err);
	is_int(rc, AP_E_UNSAFE, "%s: stat through a symlinked folder is refused", how);
	contains(err.msg, "'l' under the root", "%s: naming the symlink", how);
	rc = ap_fsx_stat_under(root, "a/../l", &st, &err);
	is_int(rc, AP_E_UNSAFE, "%s: '..' is refused", how);

	rc = ap_fsx_open_under(root, "a/b/f", &fp, &st, &err);
	ok(rc == 0 && fp && fgets(line, sizeof(line), fp) && strcmp(line, "in\n") == 0,
	   "%s: open_under reads the file: %s", how, err.msg);
	if (fp)
		fclose(fp);
	fp = NULL;
	rc = ap_fsx_open_under(root, "l", &fp, &st, &err);
	ok(rc == 0 && !fp && st.type == AP_FT_LINK, "%s: open_under does not open a symlink", how);
	rc = ap_fsx_open_under(root, "a/lnk/f", &fp, &st, &err);
	ok(rc == AP_E_UNSAFE && !fp, "%s: nor a file in a symlinked folder", how);
	contains(err.msg, "'a/lnk' under the root", "%s: naming the whole path to it", how);

	is_int(ap_fsx_unlink_under(root, "l/f", &err), AP_E_UNSAFE,
	       "%s: unlink through a symlinked folder is refused", how);
	is_int(ap_fsx_rmdir_under(root, "a/lnk/x", &err), AP_E_UNSAFE, "%s: so is rmdir", how);
	is_int(ap_fsx_rm_rf_under(root, "a/lnk/f", &err), AP_E_UNSAFE, "%s: and rm -rf", how);
	is_int(ap_fsx_list_dir_under(root, "a/lnk", &names, &n, &err), AP_E_UNSAFE,
	       "%s: and listing it", how);
	rc = ap_fsx_list_dir_under(root, "a", &names, &n, &err);
	ok(rc == 0 && n == 2 && strcmp(names[0], "b") == 0 && strcmp(names[1], "lnk") == 0,
	   "%s: list_dir_under lists a real folder", how);
	ap_fsx_strv_free(names, rc == 0 ? n : 0);

	mf = open_memstream(&made, &made_len);
	rc = ap_fsx_mkdirs_noted(root, "a/lnk/new", note_made, mf, &err);
	is_int(rc, AP_E_UNSAFE, "%s: mkdir -p through a symlink to a folder is refused", how);
	contains(err.msg, "'a/lnk' under the root", "%s: naming it", how);
	rc = ap_fsx_mkdirs_noted(root, "a/c/d", note_made, mf, &err);
	is_int(rc, 0, "%s: mkdirs_noted makes real folders: %s", how, err.msg);
	fclose(mf);
	is_str(made, "a/c;a/c/d;", "%s: and notes exactly the ones it made", how);
	free(made);

	{
		struct ap_fsx_tree *t = NULL;
		struct ap_fsx_tree_file *f = NULL;

		rc = ap_fsx_tree_open(root, &t, &err);
		is_int(rc, 0, "%s: a tree on the root: %s", how, err.msg);
		if (rc == 0) {
			is_int(ap_fsx_tree_create(t, "a/lnk/g", 0644, &f, &err), AP_E_UNSAFE,
			       "%s: tree: a file in a symlinked folder is refused", how);
			contains(err.msg, "'a/lnk' under the root", "%s: naming the link", how);
			is_int(ap_fsx_tree_mkdir(t, "a/lnk/x", 0755, &err), AP_E_UNSAFE,
			       "%s: tree: so is a folder in it", how);
			is_int(ap_fsx_tree_mkdir(t, "a/lnk", 0755, &err), AP_E_UNSAFE,
			       "%s: tree: a symlink to a folder is not taken as the folder", how);
			contains(err.msg, "'a/lnk' under the root", "%s: naming it", how);
			is_int(ap_fsx_tree_create(t, "l", 0644, &f, &err), AP_E_UNSAFE,
			       "%s: tree: a file is not created through a symlink", how);
			is_int(ap_fsx_tree_dir_done(t, "a/lnk", 1, false, &err), AP_E_UNSAFE,
			       "%s: tree: nor a folder's time set through one", how);
			is_int(ap_fsx_tree_create(t, "a/b/new", 0644, &f, &err), 0,
			       "%s: tree: a real folder takes a new file: %s", how, err.msg);
			if (f)
				ap_fsx_tree_finish(f, 0, false, 0, 0, false, &err);
			f = NULL;
			rc = ap_fsx_tree_open_file(t, "a/b/f", &f, &st, &err);
			ok(rc == 0 && f && st.type == AP_FT_FILE && st.size == 3,
			   "%s: tree: open_file opens a file: %s", how, err.msg);
			if (f) {
				size_t got = 0;

				rc = ap_fsx_tree_read(f, line, sizeof(line), &got, &err);
				ok(rc == 0 && got == 3 && memcmp(line, "in\n", 3) == 0,
				   "%s: tree: and reads it", how);
				rc = ap_fsx_tree_read(f, line, sizeof(line), &got, &err);
				ok(rc == 0 && got == 0, "%s: tree: to its end", how);
				ap_fsx_tree_abort(f);
				f = NULL;
			}
			rc = ap_fsx_tree_open_file(t, "l", &f, &st, &err);
			ok(rc == 0 && !f && st.type == AP_FT_LINK,
			   "%s: tree: open_file does not open a symlink", how);
			rc = ap_fsx_tree_open_file(t, "a", &f, &st, &err);
			ok(rc == 0 && !f && st.type == AP_FT_DIR, "%s: tree: nor a folder", how);
			rc = ap_fsx_tree_open_file(t, "a/nothing/f", &f, &st, &err);
			ok(rc == 0 && !f && st.type == AP_FT_NONE,
			   "%s: tree: a missing folder is 'not there'", how);
			rc = ap_fsx_tree_open_file(t, "a/lnk/f", &f, &st, &err);
			ok(rc == AP_E_UNSAFE && !f,
			   "%s: tree: a file in a symlinked folder is refused", how);
			contains(err.msg, "'a/lnk' under the root", "%s: naming the link", how);
			is_int(ap_fsx_tree_unlink(t, "a/lnk/f", &err), AP_E_UNSAFE,
			       "%s: tree: unlink through a symlinked folder is refused", how);
			is_int(ap_fsx_tree_unlink(t, "a/b/new", &err), 0,
			       "%s: tree: unlink removes a file: %s", how, err.msg);
			is_int(ap_fsx_tree_unlink(t, "a/b/new", &err), 0,
			       "%s: tree: not there is no error", how);
			rc = ap_fsx_stat_under(root, "a/b/new", &st, &err);
			ok(rc == 0 && st.type == AP_FT_NONE, "%s: tree: the file is gone", how);
			ap_fsx_tree_close(t);
		}
		is_int(count_entries(out), 1, "%s: tree: nothing was made outside the root", how);
	}

	rc = ap_fsx_rm_rf_under(root, "l", &err);
	is_int(rc, 0, "%s: rm_rf_under of a symlink removes the link: %s", how, err.msg);
	rc = ap_fsx_unlink_under(root, "a/lnk", &err);
	is_int(rc, 0, "%s: unlink_under of a symlink removes the link", how);
	{
		char *outf = in_dir("under-out/f");

		ok(ap_fsx_is_file(outf) && count_entries(out) == 1,
		   "%s: the folder outside the root is untouched", how);
		free(outf);
	}
	rc = ap_fsx_rm_rf_under(root, "a", &err);
	ok(rc == 0 && count_entries(root) == 0, "%s: rm_rf_under removes a tree: %s", how, err.msg);
out:
	free(root);
	free(out);
}
#endif

int main(int argc, char **argv)
{
	struct ap_err err = AP_ERR_INIT;
	const char *child_exit = getenv("AP_TEST_FSX_CHILD_EXIT");

	if (child_exit)
		return (int)strtol(child_exit, NULL, 10);
	if (ap_fsx_utf8_args(&argc, &argv, NULL) != 0)
		return 24;
	if (argc >= 2 && strcmp(argv[1], "--child") == 0)
		return child_main(argc - 2, argv + 2);
#ifndef _WIN32
	umask(022);
#endif
	dir = tu_mkdtemp("ap-test-fsx");
	ok(dir != NULL, "mkdtemp");
	if (!dir)
		return tap_done();

	test_write_atomic();
	test_afile();
	test_mkdir_rm();
	test_read_file();
	test_list_copy_stat();
	test_list_subdirs();
	test_paths();
	test_now();
	test_lock();
	test_process();
	test_process_self();
	test_tmpfile_space();
#ifndef _WIN32
	test_under("openat2 where the kernel has it");
	if (ap_testhook_built()) {
		tu_setenv("AP_FSX_NO_OPENAT2", "1");
		test_under("the openat walk");
		tu_unsetenv("AP_FSX_NO_OPENAT2");
	} else {
		skip("the openat walk: this build has no test hooks (meson -Dtest_hooks=true)");
	}
#else
	skip("under a root: the symlink checks need POSIX symlinks");
#endif

	is_int(ap_fsx_rm_rf(dir, &err), 0, "remove the temp folder: %s", err.msg);
	ok(!ap_fsx_is_dir(dir), "the temp folder is gone");
	free(dir);
	return tap_done();
}
