/* test_osport.c - the OS layer's contracts (fsx and process) as the rest of
 * airpack relies on them, on POSIX and on Windows (run under wine in CI):
 * UTF-8 names, atomic replacement, file identity across renames, the
 * exchange fallback, links, absolute paths, writing a tree relative to its folder,
 * locks, and running a program with awkward arguments and exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airpack/fsx.h"
#include "airpack/process.h"
#include "tap.h"

#ifdef _WIN32
#define WINDOWS 1
#else
#define WINDOWS 0
#endif

/* "café-ü €.txt" */
#define UNAME "caf\xc3\xa9-\xc3\xbc \xe2\x82\xac.txt"

static char *base;

static char *at(const char *rel)
{
	static char *slots[8];
	static int next;
	char *p = ap_fsx_path_join(base, rel);

	free(slots[next]);
	slots[next] = p;
	next = (next + 1) % 8;
	return p;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (ap_fsx_read_file(path, 1 << 20, &buf, &len, NULL) != 0)
		return NULL;
	return buf;
}

static int make_base(void)
{
	const char *tmp = getenv(WINDOWS ? "TEMP" : "TMPDIR");
	char name[64];
	char *abs = NULL;

	if (!tmp || !*tmp)
		tmp = WINDOWS ? "." : "/tmp";
	for (int i = 0; i < 1000; i++) {
		struct ap_stat st;

		snprintf(name, sizeof(name), "ap-osport-%ld-%d", (long)time(NULL) % 100000, i);
		free(base);
		base = ap_fsx_path_join(tmp, name);
		if (ap_fsx_stat(base, &st, NULL) == 0 && st.type == AP_FT_NONE)
			break;
	}
	if (ap_fsx_mkdir_p(base, 0755, NULL) != 0)
		return -1;
	if (ap_fsx_abspath(base, &abs, NULL) != 0)
		return -1;
	free(base);
	base = abs;
	return 0;
}

static void test_names(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_stat st;
	char **names = NULL;
	size_t n = 0;
	char *s;

	is_int(ap_fsx_write_atomic(at(UNAME), "one", 3, 0644, &err), 0,
	       "write a file with a non-ASCII name (%s)", err.msg);
	s = slurp(at(UNAME));
	is_str(s, "one", "read it back by the same UTF-8 name");
	free(s);
	is_int(ap_fsx_write_atomic(at(UNAME), "second", 6, 0644, &err), 0,
	       "replace it atomically (%s)", err.msg);
	s = slurp(at(UNAME));
	is_str(s, "second", "the new bytes replaced the old");
	free(s);
	is_int(ap_fsx_stat(at(UNAME), &st, &err), 0, "stat it");
	is_int(st.type, AP_FT_FILE, "it is a file");
	is_int(st.size, 6, "its size is 6");
	is_int(ap_fsx_list_dir(base, &names, &n, &err), 0, "list the folder (%s)", err.msg);
	is_int(n, 1, "exactly one entry: no temporary file left behind");
	if (n == 1)
		is_str(names[0], UNAME, "the listed name is the same UTF-8");
	ap_fsx_strv_free(names, n);
	ok(ap_fsx_is_file(at(UNAME)) && !ap_fsx_is_dir(at(UNAME)), "is_file, not is_dir");
	is_int(ap_fsx_set_mtime(at(UNAME), 1700000000, &err), 0, "set its mtime (%s)", err.msg);
	ap_fsx_stat(at(UNAME), &st, NULL);
	is_int(st.mtime, 1700000000, "the mtime reads back");
	is_int(ap_fsx_has_modes(), !WINDOWS, "permission bits exist exactly where the OS has them");
	if (WINDOWS) {
		is_int(st.mode, 0644, "Windows: a writable file reads as 0644");
		ap_fsx_stat(base, &st, NULL);
		is_int(st.mode, 0755, "Windows: a folder reads as 0755");
	}
}

static void test_rename_and_id(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_file_id a, b, gone;
	bool unsupported = false;
	char *s;

	ap_fsx_write_atomic(at("r1"), "r1", 2, 0644, NULL);
	ap_fsx_write_atomic(at("r2"), "r2", 2, 0644, NULL);
	is_int(ap_fsx_rename(at("r1"), at("r2"), &err), 0, "rename over an existing file (%s)",
	       err.msg);
	s = slurp(at("r2"));
	is_str(s, "r1", "the target now holds the source's bytes");
	free(s);
	ok(!ap_fsx_is_file(at("r1")), "the source name is gone");
	is_int(ap_fsx_rename(at("no-such"), at("r3"), &err), AP_E_NOTFOUND,
	       "renaming a missing file is AP_E_NOTFOUND");
	contains(err.msg, "no-such", "and names it");

	ap_fsx_mkdir_p(at("d1/sub"), 0755, NULL);
	is_int(ap_fsx_file_id(at("d1"), &a, &err), 0, "id of a folder (%s)", err.msg);
	ok(a.exists, "it exists");
	is_int(ap_fsx_rename(at("d1"), at("d2"), &err), 0, "rename the folder (%s)", err.msg);
	ap_fsx_file_id(at("d2"), &b, NULL);
	ok(b.exists && a.dev == b.dev && a.ino == b.ino, "its id survives the rename");
	ap_fsx_file_id(at("d1"), &gone, NULL);
	ok(!gone.exists && gone.dev == 0 && gone.ino == 0, "the old name has no id");

	ap_fsx_mkdir_p(at("x1"), 0755, NULL);
	ap_fsx_write_atomic(at("x1/mark"), "x1", 2, 0644, NULL);
	is_int(ap_fsx_exchange(at("x1"), at("d2"), &unsupported, &err), 0,
	       "exchange returns 0 (%s)", err.msg);
	if (WINDOWS) {
		ok(unsupported, "Windows: exchange is unsupported (the txn renames twice)");
	} else if (!unsupported) {
		ok(ap_fsx_is_file(at("d2/mark")) && ap_fsx_is_dir(at("x1/sub")),
		   "the two folders traded places");
	} else {
		ok(ap_fsx_is_file(at("x1/mark")), "unsupported here: nothing moved");
	}
}

static void test_links(void)
{
	struct ap_err err = AP_ERR_INIT;
	bool fallback = true;
	char *s;

	ap_fsx_write_atomic(at("src.txt"), "linked", 6, 0644, NULL);
	is_int(ap_fsx_link(at("src.txt"), at("lnk.txt"), &fallback, &err), 0, "link (%s)", err.msg);
	ok(!fallback, "the file system here takes hard links");
	s = slurp(at("lnk.txt"));
	is_str(s, "linked", "the link has the bytes");
	free(s);
	is_int(ap_fsx_link(at("src.txt"), at("lnk.txt"), &fallback, &err), AP_E_IO,
	       "linking onto an existing name fails");
	contains(err.msg, "lnk.txt", "and names it");
}

static void test_paths(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *abs = NULL;
	char *d;

	ok(ap_fsx_path_is_abs(base), "the temp base is absolute");
	ok(!ap_fsx_path_is_abs("rel/x"), "rel/x is relative");
	is_int(ap_fsx_abspath("rel/x", &abs, &err), 0, "abspath of rel/x (%s)", err.msg);
	ok(abs && ap_fsx_path_is_abs(abs), "gives an absolute path: %s", abs ? abs : "");
	ok(abs && strlen(abs) > 6 && strcmp(abs + strlen(abs) - 6, "/rel/x") == 0,
	   "ending in /rel/x");
	free(abs);
	abs = NULL;
	is_int(ap_fsx_abspath(base, &abs, &err), 0, "abspath of an absolute path");
	is_str(abs, base, "is the path itself");
	free(abs);
	if (WINDOWS) {
		ok(ap_fsx_path_is_abs("C:/x") && ap_fsx_path_is_abs("c:\\x") &&
			   ap_fsx_path_is_abs("\\\\srv\\s"),
		   "Windows: drive and UNC paths are absolute");
		ok(!ap_fsx_path_is_abs("C:x") && !ap_fsx_path_is_abs("/x"),
		   "Windows: drive-relative and rooted paths are not");
		d = ap_fsx_path_dirname("C:\\a\\b.txt");
		is_str(d, "C:\\a", "Windows: dirname splits at a backslash");
		free(d);
		is_str(ap_fsx_path_basename("C:\\a\\b.txt"), "b.txt", "Windows: basename too");
		is_int(ap_fsx_mkdir_p(at("m1\\m2/m3"), 0755, &err), 0,
		       "Windows: mkdir_p takes both separators (%s)", err.msg);
		ok(ap_fsx_is_dir(at("m1/m2/m3")), "Windows: all three made");
	} else {
		ok(ap_fsx_path_is_abs("/x") && !ap_fsx_path_is_abs("C:/x"),
		   "POSIX: only /x is absolute");
	}
}

/* A tree written relative to its folder's handle (what extraction uses):
 * folders, a new file with a hole and a time, refusals naming the name. */
static void test_tree(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_fsx_tree *t = NULL;
	struct ap_fsx_tree_file *f = NULL;
	struct ap_stat st;
	char *before = NULL, *after = NULL, *got = NULL;
	size_t len = 0;

	ap_fsx_mkdir_p(at("tree"), 0755, NULL);
	ap_fsx_abspath(".", &before, NULL);
	is_int(ap_fsx_tree_open(at("missing"), &t, &err), AP_E_NOTFOUND,
	       "opening a missing folder is AP_E_NOTFOUND");
	contains(err.msg, "missing", "and names it");
	if (ap_fsx_tree_open(at("tree"), &t, &err) != 0) {
		ok(0, "open the tree's folder: %s", err.msg);
		free(before);
		return;
	}
	is_int(ap_fsx_tree_mkdir(t, "d", 0755, &err), 0, "make a folder (%s)", err.msg);
	is_int(ap_fsx_tree_mkdir(t, "d/" UNAME, 0700, &err), 0, "and one in it with a UTF-8 name");
	is_int(ap_fsx_tree_mkdir(t, "d", 0755, &err), 0, "an existing folder is accepted");
	is_int(ap_fsx_tree_create(t, "d/" UNAME "/f", 0755, &f, &err), 0, "create a file (%s)",
	       err.msg);
	if (f) {
		is_int(ap_fsx_tree_write(f, "head", 4, 0, &err), 0, "write at 0");
		is_int(ap_fsx_tree_write(f, "tail", 4, 8, &err), 0, "write past a hole");
		is_int(ap_fsx_tree_finish(f, 16, true, 1000000000, 0, true, &err), 0,
		       "finish it: sized, timed, synced (%s)", err.msg);
	}
	ap_fsx_read_file(at("tree/d/" UNAME "/f"), 1024, &got, &len, NULL);
	ok(got && len == 16 && memcmp(got, "head\0\0\0\0tail\0\0\0\0", 16) == 0,
	   "the file holds the bytes, the hole as zeros and the trailing hole");
	free(got);
	ap_fsx_stat(at("tree/d/" UNAME "/f"), &st, NULL);
	ok(st.mtime == 1000000000, "and has the time");
	ok(!ap_fsx_has_modes() || st.mode == 0755, "and the mode (where there are modes)");
	ap_fsx_stat(at("tree/d/" UNAME), &st, NULL);
	ok(!ap_fsx_has_modes() || st.mode == 0700, "the folder has its mode");
	is_int(ap_fsx_tree_create(t, "d", 0644, &f, &err), AP_E_EXISTS,
	       "a folder is not replaced by a file");
	contains(err.msg, "'d'", "the error names it");
	f = NULL;
	is_int(ap_fsx_tree_create(t, "d/" UNAME "/f", 0644, &f, &err), 0,
	       "an existing file is replaced, as tar does (%s)", err.msg);
	if (f)
		ap_fsx_tree_finish(f, 0, false, 0, 0, true, &err);
	ap_fsx_stat(at("tree/d/" UNAME "/f"), &st, NULL);
	ok(st.type == AP_FT_FILE && st.size == 0, "by the new one");
	is_int(ap_fsx_tree_mkdir(t, "d/" UNAME "/f", 0755, &err), 0, "so is one made a folder");
	ok(ap_fsx_is_dir(at("tree/d/" UNAME "/f")), "which is then a folder");
	ok(ap_fsx_tree_create(t, "nothing/f", 0644, &f, &err) < 0,
	   "a file whose folder is not there is refused");
	contains(err.msg, "nothing", "naming the folder");
	is_int(ap_fsx_tree_dir_done(t, "d", 1100000000, true, &err), 0, "set a folder's time (%s)",
	       err.msg);
	is_int(ap_fsx_tree_dir_done(t, "", -1, true, &err), 0, "sync the tree's folder (%s)",
	       err.msg);
	ap_fsx_stat(at("tree/d"), &st, NULL);
	ok(st.mtime == 1100000000, "the folder has the time");
	ap_fsx_tree_close(t);
	ap_fsx_tree_close(NULL);
	ap_fsx_tree_abort(NULL);
	ap_fsx_abspath(".", &after, NULL);
	is_str(after, before, "the working folder never changed");
	free(before);
	free(after);
}

static void test_lock(void)
{
	struct ap_err err = AP_ERR_INIT;
	int h1 = -1, h2 = -1;

	ok(ap_fsx_lock(at("lock"), &h1, &err) >= 0, "take the lock (%s)", err.msg);
	is_int(ap_fsx_lock(at("lock"), &h2, &err), AP_E_STATE, "a second taker is refused");
	contains(err.msg, "holds the lock", "saying another holds it");
	ap_fsx_unlock(h1);
	ok(ap_fsx_lock(at("lock"), &h2, &err) >= 0, "free again after unlock (%s)", err.msg);
	ap_fsx_unlock(h2);
	ap_fsx_mkdir_p(at("held"), 0755, NULL);
	ok(ap_fsx_lock(at("held/lock"), &h1, &err) >= 0, "lock a file in a folder (%s)", err.msg);
	is_int(ap_fsx_rm_rf(at("held"), &err), 0,
	       "the folder is removed while its lock is held, as uninstall does (%s)", err.msg);
	ok(!ap_fsx_is_dir(at("held")), "the folder is gone");
	ap_fsx_unlock(h1);
}

static void test_process(const char *tool)
{
	static char *const args[] = {
		"plain",
		"with space",
		"quote\"inside",
		"trail\\",
		"back\\\\slash\\\"q",
		"",
		"\xc3\xbcn\xc3\xaf \xe2\x82\xac",
		"%PATH%",
		"a\tb",
	};
	const char *want = "plain\nwith space\nquote\"inside\ntrail\\\nback\\\\slash\\\"q\n\n"
			   "\xc3\xbc"
			   "n\xc3\xaf \xe2\x82\xac\n%PATH%\na\tb\n";
	size_t n = sizeof(args) / sizeof(args[0]);
	struct ap_err err = AP_ERR_INIT;
	char **full = calloc(n + 2, sizeof(*full));
	int code = -1;
	char *s;

	if (!full)
		return;
	full[0] = "args.txt";
	full[1] = "1638";
	for (size_t i = 0; i < n; i++)
		full[i + 2] = args[i];
	ap_fsx_mkdir_p(at("run " UNAME), 0755, NULL);
	is_int(ap_process_run(tool, full, n + 2, at("run " UNAME), &code, &err), 0,
	       "run the tool in a folder with a non-ASCII name (%s)", err.msg);
	is_int(code, WINDOWS ? 1638 : 1638 % 256, "its exit code is recorded as is");
	s = slurp(at("run " UNAME "/args.txt"));
	is_str(s, want, "every argument arrived byte for byte (quotes, backslashes, UTF-8)");
	free(s);
	full[1] = "0";
	is_int(ap_process_run(tool, full, 2, NULL, &code, &err), 0, "no folder: runs here");
	is_int(code, 0, "exit code 0");
	ok(ap_fsx_is_file("args.txt"), "wrote into the working folder");
	ap_fsx_unlink("args.txt", NULL);
	is_int(ap_process_run(at("no-such-program"), full, 2, NULL, &code, &err), AP_E_RUN,
	       "a missing program is AP_E_RUN");
	contains(err.msg, "no-such-program", "and named");
	free(full);
}

static void test_streams(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *line = NULL, *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *fp = NULL;
	long n;

	is_int(ap_fsx_memstream(&fp, &err), 0, "open a memory stream (%s)", err.msg);
	if (fp) {
		fputs("l1\nl2\r\n", fp);
		for (int i = 0; i < 70000; i++)
			putc('x', fp);
	}
	is_int(fp ? ap_fsx_memstream_take(fp, &buf, &len, &err) : -1, 0,
	       "take what was written (%s)", err.msg);
	is_int(len, 70007, "every byte came back");
	ok(buf && strncmp(buf, "l1\nl2\r\nxxx", 10) == 0 && buf[len] == '\0',
	   "in order, NUL-terminated");
	if (buf)
		ap_fsx_write_atomic(at("lines"), buf, len, 0644, NULL);
	free(buf);
	fp = NULL;
	ap_fsx_fopen(at("lines"), "rb", &fp, NULL);
	if (!fp)
		return;
	n = ap_fsx_getline(&line, &cap, fp);
	ok(n == 3 && strcmp(line, "l1\n") == 0, "getline: the first line with its newline");
	n = ap_fsx_getline(&line, &cap, fp);
	ok(n == 4 && strcmp(line, "l2\r\n") == 0, "getline: CR LF kept as is");
	n = ap_fsx_getline(&line, &cap, fp);
	is_int(n, 70000, "getline: a long last line without a newline");
	is_int(ap_fsx_getline(&line, &cap, fp), -1, "getline: -1 at the end");
	free(line);
	fclose(fp);
}

static void test_self(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *self = NULL;
	const char *b;

	is_int(ap_fsx_self_exe(&self, &err), 0, "find the running executable (%s)", err.msg);
	b = self ? ap_fsx_path_basename(self) : "";
	ok(strncmp(b, "test_osport", 11) == 0, "it is this test: %s", b);
	ok(self && ap_fsx_is_file(self), "and it exists");
	free(self);
}

int main(int argc, char **argv)
{
	struct ap_err err = AP_ERR_INIT;

	is_int(ap_fsx_utf8_args(&argc, &argv, &err), 0, "argv as UTF-8 (%s)", err.msg);
	ok(argc >= 1, "argv has the program");
	if (make_base() != 0) {
		ok(0, "cannot make a temporary folder");
		return tap_done();
	}
	test_names();
	test_rename_and_id();
	test_links();
	test_paths();
	test_tree();
	test_lock();
	test_process(AP_ARGV_TOOL);
	test_streams();
	test_self();
	is_int(ap_fsx_rm_rf(base, &err), 0, "remove the whole tree (%s)", err.msg);
	ok(!ap_fsx_is_dir(base), "it is gone");
	free(base);
	return tap_done();
}
