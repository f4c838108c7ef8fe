/* testutil.h - temporary folders, the environment and the working folder for
 * the unit tests, the same on POSIX and on Windows (where they run under
 * wine).  Test code only: the library keeps every OS call in fsx and process.
 *
 *   char *d = tu_mkdtemp("ap-test-x");  a new empty folder in the temp folder
 *                                       (/tmp on POSIX; GetTempPath, that is
 *                                       %TEMP%, on Windows, written with '/'),
 *                                       malloc'd; NULL on failure
 *   tu_rm_rf(d)                         remove a tree (ap_fsx_rm_rf), 0 or < 0
 *   tu_join(d, name)                    d/name, malloc'd (exits 2 when out
 *                                       of memory)
 *   tu_setenv(name, value)              0 or -1 (Windows: an empty value
 *   tu_unsetenv(name)                   removes the variable)
 *   tu_mkdir(path)                      one new folder, -1 when it exists
 *   tu_chdir(path), tu_getcwd()         tu_getcwd is malloc'd (Windows: with '/')
 *   tu_exists(path)                     anything there, symlinks not followed
 *   tu_copy(src, dst)                   copy a file with stdio, 0 or -1
 *   tu_write(path, data, len)           write a whole file, 0 or -1
 *   tu_has_modes()                      permission bits exist (ap_fsx_has_modes)
 *   is_mode(got, want, "name", ...)     is_int where the OS keeps permission
 *                                       bits, a TAP skip elsewhere (include
 *                                       tap.h first)
 *   TU_WINDOWS                          1 on Windows, else 0
 *   TU_EXE                              ".exe" on Windows, else ""
 *
 * A check that needs what Windows lacks (a POSIX tool, fork, symlinks,
 * modes) stays on POSIX and prints a TAP skip elsewhere (tap.h skip()).
 */
#ifndef AP_TESTUTIL_H
#define AP_TESTUTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"

#ifdef _WIN32
#include <direct.h>
#include <windows.h>
#define TU_WINDOWS 1
#define TU_EXE ".exe"
#else
#include <sys/stat.h>
#include <unistd.h>
#define TU_WINDOWS 0
#define TU_EXE ""
#endif

#define TU_UNUSED __attribute__((unused))

static char *tu_mkdtemp(const char *prefix) TU_UNUSED;
static int tu_rm_rf(const char *path) TU_UNUSED;
static char *tu_join(const char *dir, const char *name) TU_UNUSED;
static int tu_setenv(const char *name, const char *value) TU_UNUSED;
static int tu_unsetenv(const char *name) TU_UNUSED;
static int tu_mkdir(const char *path) TU_UNUSED;
static int tu_chdir(const char *path) TU_UNUSED;
static char *tu_getcwd(void) TU_UNUSED;
static bool tu_exists(const char *path) TU_UNUSED;
static int tu_copy(const char *src, const char *dst) TU_UNUSED;
static int tu_write(const char *path, const void *data, size_t len) TU_UNUSED;
static bool tu_has_modes(void) TU_UNUSED;

#ifdef _WIN32

/* The temporary folder, long form, '/' separators, no trailing slash. */
static char *tu_temp_dir(void)
{
	wchar_t w[MAX_PATH + 1], l[MAX_PATH + 1];
	DWORD n = GetTempPathW(MAX_PATH + 1, w);
	char *s;
	size_t len;

	if (n == 0 || n > MAX_PATH)
		return NULL;
	n = GetLongPathNameW(w, l, MAX_PATH + 1);
	s = ap_fsx_wide_to_utf8(n > 0 && n <= MAX_PATH ? l : w);
	if (!s)
		return NULL;
	for (char *p = s; *p; p++)
		if (*p == '\\')
			*p = '/';
	len = strlen(s);
	while (len > 3 && s[len - 1] == '/')
		s[--len] = '\0';
	return s;
}

static char *tu_mkdtemp(const char *prefix)
{
	char *tmp = tu_temp_dir();
	char name[128];
	char *path = NULL;

	if (!tmp)
		return NULL;
	for (unsigned i = 0; i < 1000; i++) {
		wchar_t *w;
		int rc;

		snprintf(name, sizeof(name), "%s-%lx-%lx-%u", prefix,
			 (unsigned long)GetCurrentProcessId(), (unsigned long)GetTickCount(), i);
		path = ap_fsx_path_join(tmp, name);
		w = path ? ap_fsx_utf8_to_wide(path) : NULL;
		rc = w ? _wmkdir(w) : -1;
		free(w);
		if (rc == 0)
			break;
		free(path);
		path = NULL;
		if (errno != EEXIST)
			break;
	}
	free(tmp);
	return path;
}

static int tu_setenv(const char *name, const char *value)
{
	return _putenv_s(name, value) == 0 ? 0 : -1;
}

static int tu_unsetenv(const char *name)
{
	return _putenv_s(name, "") == 0 ? 0 : -1;
}

static int tu_mkdir(const char *path)
{
	wchar_t *w = ap_fsx_utf8_to_wide(path);
	int rc = w ? _wmkdir(w) : -1;

	free(w);
	return rc == 0 ? 0 : -1;
}

static int tu_chdir(const char *path)
{
	wchar_t *w = ap_fsx_utf8_to_wide(path);
	int rc = w ? _wchdir(w) : -1;

	free(w);
	return rc == 0 ? 0 : -1;
}

static char *tu_getcwd(void)
{
	char *cwd = NULL;

	if (ap_fsx_abspath(".", &cwd, NULL) != 0)
		return NULL;
	return cwd;
}

static bool tu_exists(const char *path)
{
	struct ap_stat st;

	return ap_fsx_stat(path, &st, NULL) == 0 && st.type != AP_FT_NONE;
}

#else

static char *tu_mkdtemp(const char *prefix)
{
	char tmpl[256];
	char *dir;

	snprintf(tmpl, sizeof(tmpl), "/tmp/%s-XXXXXX", prefix);
	dir = mkdtemp(tmpl);
	return dir ? strdup(dir) : NULL;
}

static int tu_setenv(const char *name, const char *value)
{
	return setenv(name, value, 1);
}

static int tu_unsetenv(const char *name)
{
	return unsetenv(name);
}

static int tu_mkdir(const char *path)
{
	return mkdir(path, 0700);
}

static int tu_chdir(const char *path)
{
	return chdir(path);
}

static char *tu_getcwd(void)
{
	char buf[4096];

	return getcwd(buf, sizeof(buf)) ? strdup(buf) : NULL;
}

static bool tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

#endif

static int tu_rm_rf(const char *path)
{
	return ap_fsx_rm_rf(path, NULL);
}

static char *tu_join(const char *dir, const char *name)
{
	char *p = ap_fsx_path_join(dir, name);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static int tu_write(const char *path, const void *data, size_t len)
{
	FILE *fp = NULL;
	int rc = 0;

	if (ap_fsx_fopen(path, "wb", &fp, NULL) != 0)
		return -1;
	if (len > 0 && fwrite(data, 1, len, fp) != len)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

static int tu_copy(const char *src, const char *dst)
{
	FILE *in = NULL, *out = NULL;
	char buf[65536];
	size_t n;
	int rc = 0;

	if (ap_fsx_fopen(src, "rb", &in, NULL) != 0)
		return -1;
	if (ap_fsx_fopen(dst, "wb", &out, NULL) != 0) {
		fclose(in);
		return -1;
	}
	for (;;) {
		n = fread(buf, 1, sizeof(buf), in);
		if (n == 0)
			break;
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	}
	if (ferror(in))
		rc = -1;
	fclose(in);
	if (fclose(out) != 0)
		rc = -1;
	return rc;
}

static bool tu_has_modes(void)
{
	return ap_fsx_has_modes();
}

#define is_mode(got, want, ...)                                                                    \
	do {                                                                                       \
		if (tu_has_modes())                                                                \
			is_int(got, want, __VA_ARGS__);                                            \
		else                                                                               \
			skip("no permission bits on this OS: " __VA_ARGS__);                       \
	} while (0)

#endif
