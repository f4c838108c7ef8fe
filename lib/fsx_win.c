/* fsx_win.c - the OS calls of fsx on Windows; see airpack/fsx.h.
 *
 * Paths arrive as UTF-8 and go to the wide (UTF-16) Win32 calls, with '/'
 * turned into '\'; the ANSI calls would read them in the ANSI code page and
 * lose every character outside it.  Every path is made absolute with the
 * "\\?\" prefix (wpath): MAX_PATH does not apply, and names Windows
 * otherwise treats specially (a user's "nul" or "notes.") can be handled.
 * Files are always binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <shellapi.h>

#include "airpack/fsx.h"
#include "fsx_os.h"
#include "airpack/banned.h"

/* 100-ns ticks between 1601-01-01 and 1970-01-01. */
#define EPOCH_DIFF 116444736000000000LL

bool ap_fsx_os_is_sep(char c)
{
	return c == '/' || c == '\\';
}

bool ap_fsx_wide_names(void)
{
	return true;
}

bool ap_fsx_has_modes(void)
{
	return false;
}

/* ---- conversions ---- */

/* UTF-8 <-> UTF-16 is ap_fsx_utf8_to_wide / ap_fsx_wide_to_utf8 (fsx.c),
 * the one conversion every part of airpack uses. */

/* The length of the root of the absolute wide path w: "C:\" (3) or
 * "\\server\share\" (up to the share's end); 0 when w is not absolute in
 * one of these forms. */
static size_t root_len(const wchar_t *w)
{
	const wchar_t *p;

	if (((w[0] >= L'A' && w[0] <= L'Z') || (w[0] >= L'a' && w[0] <= L'z')) && w[1] == L':' &&
	    w[2] == L'\\')
		return 3;
	if (w[0] != L'\\' || w[1] != L'\\' || w[2] == L'\\' || w[2] == L'\0')
		return 0;
	p = wcschr(w + 2, L'\\');
	if (!p || p[1] == L'\\' || p[1] == L'\0')
		return 0;
	p = wcschr(p + 1, L'\\');
	return p ? (size_t)(p - w) + 1 : wcslen(w);
}

/* w (absolute, root_len(w) > 0) with "\\?\" (or "\\?\UNC\") before it and
 * its '.' and '..' parts resolved here, since "\\?\" turns Windows' own
 * resolution off; every other part is kept exactly, so "nul", "notes." and
 * "x " reach the file system as they are (malloc'd; NULL: out of memory). */
static wchar_t *verbatim(const wchar_t *w)
{
	size_t root = root_len(w), n = wcslen(w), o, base;
	bool unc = w[0] == L'\\';
	wchar_t *out = malloc((n + 9) * sizeof(*out));
	const wchar_t *p = w + root;

	if (!out)
		return NULL;
	if (unc) {
		memcpy(out, L"\\\\?\\UNC\\", 8 * sizeof(*out));
		memcpy(out + 8, w + 2, (root - 2) * sizeof(*out));
		o = 8 + root - 2;
	} else {
		memcpy(out, L"\\\\?\\", 4 * sizeof(*out));
		memcpy(out + 4, w, root * sizeof(*out));
		o = 4 + root;
	}
	if (out[o - 1] != L'\\')
		out[o++] = L'\\';
	base = o;
	while (*p) {
		const wchar_t *end = wcschr(p, L'\\');
		size_t len = end ? (size_t)(end - p) : wcslen(p);

		if (len == 2 && p[0] == L'.' && p[1] == L'.') {
			if (o > base) {
				o--; /* the separator after the last part */
				while (o > base && out[o - 1] != L'\\')
					o--;
			}
		} else if (len > 0 && !(len == 1 && p[0] == L'.')) {
			memcpy(out + o, p, len * sizeof(*out));
			o += len;
			out[o++] = L'\\';
		}
		p += len;
		while (*p == L'\\')
			p++;
	}
	/* No trailing separator, except right after the root. */
	if (o > base)
		o--;
	out[o] = L'\0';
	return out;
}

/* A UTF-8 path as the wide path the Win32 calls get (malloc'd), or NULL
 * (invalid UTF-8, out of memory).  Every path is made absolute and given
 * the "\\?\" prefix (see verbatim): files a user left in a root with names
 * Windows otherwise treats specially can then be stat'ed, moved and
 * deleted, and long paths need no policy.  Drive-relative ("C:x") and
 * rooted ("\x") paths are resolved by GetFullPathNameW first. */
static wchar_t *wpath(const char *path)
{
	wchar_t *w = ap_fsx_utf8_to_wide(path);
	wchar_t *full = NULL, *out;
	DWORD n;

	if (!w)
		return NULL;
	for (wchar_t *p = w; *p; p++) {
		if (*p == L'/')
			*p = L'\\';
	}
	if (wcsncmp(w, L"\\\\?\\", 4) == 0 || wcsncmp(w, L"\\\\.\\", 4) == 0 || !*w)
		return w;
	if (root_len(w) > 0)
		goto absolute;
	if (w[0] != L'\\' && !(w[0] && w[1] == L':')) {
		/* Relative to the working folder. */
		n = GetCurrentDirectoryW(0, NULL);
		full = n ? malloc(((size_t)n + wcslen(w) + 1) * sizeof(*full)) : NULL;
		if (full && GetCurrentDirectoryW(n, full) < n) {
			wcscat(full, L"\\");
			wcscat(full, w);
		} else {
			free(full);
			full = NULL;
		}
	} else {
		n = GetFullPathNameW(w, 0, NULL, NULL);
		full = n ? malloc((size_t)n * sizeof(*full)) : NULL;
		if (full && GetFullPathNameW(w, n, full, NULL) >= n) {
			free(full);
			full = NULL;
		}
	}
	if (!full || root_len(full) == 0) {
		free(full);
		return w;
	}
	free(w);
	w = full;
absolute:
	out = verbatim(w);
	free(w);
	return out;
}

/* ---- errors ---- */

static const char *win_reason(DWORD e, char *buf, size_t bufsz)
{
	wchar_t wbuf[256];
	char *s;
	size_t n;

	switch (e) {
	case ERROR_FILE_NOT_FOUND:
		return "file not found";
	case ERROR_PATH_NOT_FOUND:
		return "folder not found";
	case ERROR_ACCESS_DENIED:
		return "access denied";
	case ERROR_SHARING_VIOLATION:
		return "in use by another process";
	case ERROR_LOCK_VIOLATION:
		return "locked by another process";
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return "already exists";
	case ERROR_DIR_NOT_EMPTY:
		return "folder not empty";
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return "disk full";
	case ERROR_NOT_SAME_DEVICE:
		return "on another drive";
	case ERROR_NO_UNICODE_TRANSLATION:
		return "not valid UTF-8";
	default:
		break;
	}
	if (FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0,
			   wbuf, sizeof(wbuf) / sizeof(wbuf[0]), NULL) == 0) {
		snprintf(buf, bufsz, "Windows error %lu", (unsigned long)e);
		return buf;
	}
	s = ap_fsx_wide_to_utf8(wbuf);
	if (!s) {
		snprintf(buf, bufsz, "Windows error %lu", (unsigned long)e);
		return buf;
	}
	n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '.'))
		s[--n] = '\0';
	snprintf(buf, bufsz, "%s (Windows error %lu)", s, (unsigned long)e);
	free(s);
	return buf;
}

static bool not_found(DWORD e)
{
	return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND || e == ERROR_INVALID_NAME ||
	       e == ERROR_BAD_NETPATH;
}

/* Like ap_err_sys, with the reason taken from GetLastError() (read on entry). */
static int AP_PRINTF(3, 4) win_err(struct ap_err *err, int code, const char *fmt, ...)
{
	DWORD e = GetLastError();
	char what[AP_ERR_MSG_MAX];
	char rbuf[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ap_err_set(err, code, "%s: %s", what, win_reason(e, rbuf, sizeof(rbuf)));
}

static int bad_path(struct ap_err *err, const char *path)
{
	return ap_err_set(err, AP_E_USAGE,
			  "cannot use path '%s': not valid UTF-8 (or out of memory)", path);
}

/* ---- atomic files ---- */

static void remove_file_w(const wchar_t *w)
{
	if (!DeleteFileW(w) && GetLastError() == ERROR_ACCESS_DENIED) {
		SetFileAttributesW(w, FILE_ATTRIBUTE_NORMAL);
		DeleteFileW(w);
	}
}

static void remove_file(const char *path)
{
	wchar_t *w = wpath(path);

	if (w)
		remove_file_w(w);
	free(w);
}

/* The DACL of a private file (a mode with no group or other bits): full
 * control for SYSTEM and the Administrators group, nobody else, nothing
 * inherited from the folder ("P"). */
#define PRIVATE_SDDL L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"

static bool private_mode(unsigned mode)
{
	return mode != 0 && (mode & 077) == 0;
}

int ap_fsx_afile_open(struct ap_fsx_afile *f, const char *path, unsigned mode, struct ap_err *err)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static unsigned long counter;
	size_t n = strlen(path);
	char *tmp = NULL;
	char *final = NULL;
	wchar_t *w = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	FILE *fp = NULL;
	int fd = -1;
	int rc = 0;

	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };

	if (private_mode(mode) &&
	    !ConvertStringSecurityDescriptorToSecurityDescriptorW(PRIVATE_SDDL, SDDL_REVISION_1,
								  &sa.lpSecurityDescriptor, NULL))
		return win_err(err, AP_E_IO, "cannot make the access list of private '%s'", path);
	tmp = malloc(n + sizeof(".tmp-XXXXXX"));
	final = ap_strdup(path);
	if (!tmp || !final) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", path);
		goto out;
	}
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned long long v = ((unsigned long long)GetCurrentProcessId() << 32) ^
				       GetTickCount64() ^ (++counter * 2654435761u);

		memcpy(tmp, path, n);
		memcpy(tmp + n, ".tmp-", 5);
		for (int i = 0; i < 6; i++) {
			tmp[n + 5 + i] = digits[v % 36];
			v /= 36;
		}
		tmp[n + 11] = '\0';
		free(w);
		w = wpath(tmp);
		if (!w) {
			rc = bad_path(err, path);
			goto out;
		}
		h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0,
				sa.lpSecurityDescriptor ? &sa : NULL, CREATE_NEW,
				FILE_ATTRIBUTE_NORMAL, NULL);
		if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_FILE_EXISTS)
			break;
	}
	if (h == INVALID_HANDLE_VALUE) {
		rc = win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			     "cannot create a temporary file for '%s'", path);
		goto out;
	}
	fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		remove_file_w(w);
		rc = ap_err_set(err, AP_E_IO, "cannot open '%s' for writing", tmp);
		goto out;
	}
	fp = _fdopen(fd, "w+b");
	if (!fp) {
		rc = ap_err_sys(err, AP_E_IO, "cannot open '%s' for writing", tmp);
		_close(fd);
		remove_file_w(w);
		goto out;
	}
	f->path = final;
	f->tmp = tmp;
	f->flush = NULL;
	f->fp = fp;
	free(w);
	LocalFree(sa.lpSecurityDescriptor);
	return 0;
out:
	LocalFree(sa.lpSecurityDescriptor);
	free(w);
	free(tmp);
	free(final);
	return rc;
}

static int move_replace(const char *from, const char *to, struct ap_err *err)
{
	wchar_t *wf = wpath(from);
	wchar_t *wt = wpath(to);
	int rc = 0;

	if (!wf || !wt) {
		rc = bad_path(err, wf ? to : from);
		goto out;
	}
	if (!MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
		rc = win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			     "cannot rename '%s' to '%s'", from, to);
out:
	free(wf);
	free(wt);
	return rc;
}

int ap_fsx_os_replace_temp(const char *tmp, const char *path, struct ap_err *err)
{
	int rc = move_replace(tmp, path, err);

	if (rc < 0)
		remove_file(tmp);
	return rc;
}

void ap_fsx_os_remove_temp(const char *tmp)
{
	remove_file(tmp);
}

/* ---- durability ---- */

int ap_fsx_fsync_fp(FILE *fp, const char *what, struct ap_err *err)
{
	HANDLE h;

	if (fflush(fp) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot write '%s'", what);
	h = (HANDLE)_get_osfhandle(_fileno(fp));
	if (h == INVALID_HANDLE_VALUE)
		return ap_err_set(err, AP_E_IO, "cannot fsync '%s': no file handle", what);
	if (!FlushFileBuffers(h))
		return win_err(err, AP_E_IO, "cannot fsync '%s'", what);
	return 0;
}

int ap_fsx_fsync_path(const char *path, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	HANDLE h;
	int rc = 0;

	if (!w)
		return bad_path(err, path);
	/* FlushFileBuffers needs write access. */
	h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		rc = win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			     "cannot open file '%s' to fsync it", path);
		goto out;
	}
	if (!FlushFileBuffers(h))
		rc = win_err(err, AP_E_IO, "cannot fsync file '%s'", path);
	CloseHandle(h);
out:
	free(w);
	return rc;
}

/* No flush thread here: the commit's FlushFileBuffers does the work. */
void ap_fsx_os_flush_start(FILE *fp, struct ap_fsx_flush **out)
{
	(void)fp;
	*out = NULL;
}

int ap_fsx_os_flush_wait(struct ap_fsx_flush *fl)
{
	(void)fl;
	return 0;
}

int ap_fsx_os_sync_fs(const char *path, bool *done, struct ap_err *err)
{
	/* Flushing a whole volume needs administrator rights: the caller
	 * flushes the tree file by file. */
	(void)path;
	(void)err;
	*done = false;
	return 0;
}

int ap_fsx_fsync_dir(const char *path, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	DWORD a;

	if (!w)
		return bad_path(err, path);
	a = GetFileAttributesW(w);
	free(w);
	if (a == INVALID_FILE_ATTRIBUTES)
		return win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			       "cannot open folder '%s' to fsync it", path);
	if (!(a & FILE_ATTRIBUTE_DIRECTORY))
		return ap_err_set(err, AP_E_IO, "cannot fsync folder '%s': not a folder", path);
	return 0;
}

int ap_fsx_rename(const char *from, const char *to, struct ap_err *err)
{
	return move_replace(from, to, err);
}

/* ---- folders and removal ---- */

int ap_fsx_os_mkdir_one(const char *path, unsigned mode, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	DWORD a;
	int rc = 0;

	(void)mode;
	if (!w)
		return bad_path(err, path);
	if (!CreateDirectoryW(w, NULL)) {
		DWORD e = GetLastError();

		a = GetFileAttributesW(w);
		if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) {
			rc = 0;
		} else if (a != INVALID_FILE_ATTRIBUTES) {
			rc = ap_err_set(err, AP_E_EXISTS,
					"cannot create folder '%s': a file with that name exists",
					path);
		} else {
			SetLastError(e);
			rc = win_err(err, AP_E_IO, "cannot create folder '%s'", path);
		}
	}
	free(w);
	return rc;
}

/* True when another handle has path open (a share-nothing open fails). */
static bool in_use(const wchar_t *w)
{
	HANDLE h = CreateFileW(w, DELETE, 0, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);

	if (h == INVALID_HANDLE_VALUE)
		return GetLastError() == ERROR_SHARING_VIOLATION;
	CloseHandle(h);
	return false;
}

bool ap_fsx_in_use(const char *path)
{
	wchar_t *w = wpath(path);
	bool busy = w && in_use(w);

	free(w);
	return busy;
}

/* A file that is open (with FILE_SHARE_DELETE, like the lock) is only
 * marked for deletion by DeleteFileW and keeps its folder from being
 * removed until closed.  POSIX removes the name at once, and uninstall
 * relies on that; so such a file is first renamed out of its folder, into
 * the folder above (same volume), and deleted there. */
static void move_out_of_the_way(wchar_t **w, const char *path)
{
	static unsigned long counter;
	char *dir = ap_fsx_path_dirname(path);
	char *up = dir ? ap_fsx_path_dirname(dir) : NULL;
	char name[64];
	char *target;
	wchar_t *wt;

	snprintf(name, sizeof(name), ".airpack-deleted-%lx-%lx",
		 (unsigned long)GetCurrentProcessId(), ++counter);
	target = up ? ap_fsx_path_join(up, name) : NULL;
	wt = target ? wpath(target) : NULL;
	if (wt && MoveFileExW(*w, wt, 0)) {
		free(*w);
		*w = wt;
		wt = NULL;
	}
	free(wt);
	free(target);
	free(up);
	free(dir);
}

int ap_fsx_unlink(const char *path, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	int rc = 0;

	if (!w)
		return bad_path(err, path);
	if (in_use(w))
		move_out_of_the_way(&w, path);
	if (!DeleteFileW(w)) {
		DWORD e = GetLastError();

		/* POSIX removes read-only files; so does this. */
		if (e == ERROR_ACCESS_DENIED && SetFileAttributesW(w, FILE_ATTRIBUTE_NORMAL) &&
		    DeleteFileW(w))
			e = 0;
		if (e != 0 && !not_found(e)) {
			SetLastError(e);
			rc = win_err(err, AP_E_IO, "cannot remove '%s'", path);
		}
	}
	free(w);
	return rc;
}

int ap_fsx_rmdir(const char *path, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	int rc = 0;

	if (!w)
		return bad_path(err, path);
	if (!RemoveDirectoryW(w)) {
		DWORD e = GetLastError();

		if (e == ERROR_DIR_NOT_EMPTY)
			rc = ap_err_set(err, AP_E_EXISTS, "cannot remove folder '%s': not empty",
					path);
		else if (!not_found(e))
			rc = win_err(err, AP_E_IO, "cannot remove folder '%s'", path);
	}
	free(w);
	return rc;
}

/* Start listing folder path: *h is the search (INVALID_HANDLE_VALUE with
 * GetLastError's code in *e when there is none); < 0 only for a path that
 * cannot be made wide.  rm_tree and ap_fsx_list_dir list through it. */
static int find_first(const char *path, WIN32_FIND_DATAW *fd, HANDLE *h, DWORD *e,
		      struct ap_err *err)
{
	char *pattern = ap_fsx_path_join(path, "*");
	wchar_t *wp = pattern ? wpath(pattern) : NULL;

	free(pattern);
	if (!wp)
		return bad_path(err, path);
	*h = FindFirstFileW(wp, fd);
	*e = *h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
	free(wp);
	return 0;
}

static bool is_dot(const wchar_t *name)
{
	return wcscmp(name, L".") == 0 || wcscmp(name, L"..") == 0;
}

/* Remove the folder at path and everything in it.  A reparse point
 * (symlink, junction) is removed itself, never followed. */
static int rm_tree(const char *path, struct ap_err *err)
{
	WIN32_FIND_DATAW fd;
	HANDLE h;
	DWORD e;
	int rc = find_first(path, &fd, &h, &e, err);

	if (rc < 0)
		return rc;
	if (h == INVALID_HANDLE_VALUE) {
		if (!not_found(e))
			return win_err(err, AP_E_IO, "cannot list folder '%s'", path);
	} else {
		do {
			char *name;
			char *child;

			if (is_dot(fd.cFileName))
				continue;
			name = ap_fsx_wide_to_utf8(fd.cFileName);
			child = name ? ap_fsx_path_join(path, name) : NULL;
			free(name);
			if (!child) {
				rc = ap_err_set(err, AP_E_NOMEM, "out of memory removing '%s'",
						path);
				break;
			}
			if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
			    !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))
				rc = rm_tree(child, err);
			else if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
				rc = ap_fsx_rmdir(child, err);
			else
				rc = ap_fsx_unlink(child, err);
			free(child);
		} while (rc == 0 && FindNextFileW(h, &fd));
		FindClose(h);
	}
	if (rc == 0)
		rc = ap_fsx_rmdir(path, err);
	return rc;
}

int ap_fsx_rm_rf(const char *path, struct ap_err *err)
{
	struct ap_stat st;
	int rc;

	rc = ap_fsx_stat(path, &st, err);
	if (rc < 0 || st.type == AP_FT_NONE)
		return rc;
	if (st.type == AP_FT_DIR)
		return rm_tree(path, err);
	if (st.type == AP_FT_LINK) {
		wchar_t *w = wpath(path);
		DWORD a = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;

		free(w);
		if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY))
			return ap_fsx_rmdir(path, err);
	}
	return ap_fsx_unlink(path, err);
}

/* ---- information ---- */

static int64_t filetime_to_unix(FILETIME ft)
{
	int64_t t = ((int64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;

	return (t - EPOCH_DIFF) / 10000000;
}

int ap_fsx_stat(const char *path, struct ap_stat *st, struct ap_err *err)
{
	WIN32_FILE_ATTRIBUTE_DATA d;
	wchar_t *w = wpath(path);

	if (!w)
		return bad_path(err, path);
	if (!GetFileAttributesExW(w, GetFileExInfoStandard, &d)) {
		DWORD e = GetLastError();

		free(w);
		if (not_found(e) || e == ERROR_DIRECTORY) {
			memset(st, 0, sizeof(*st));
			st->type = AP_FT_NONE;
			return 0;
		}
		SetLastError(e);
		return win_err(err, AP_E_IO, "cannot stat '%s'", path);
	}
	free(w);
	if (d.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
		st->type = AP_FT_LINK;
	else if (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		st->type = AP_FT_DIR;
	else if (d.dwFileAttributes & FILE_ATTRIBUTE_DEVICE)
		st->type = AP_FT_OTHER;
	else
		st->type = AP_FT_FILE;
	st->size = st->type == AP_FT_FILE ? ((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow : 0;
	if (st->type == AP_FT_DIR)
		st->mode = 0755;
	else
		st->mode = (d.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0644;
	st->mtime = filetime_to_unix(d.ftLastWriteTime);
	return 0;
}

static DWORD attributes(const char *path)
{
	wchar_t *w = wpath(path);
	DWORD a = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;

	free(w);
	return a;
}

bool ap_fsx_is_dir(const char *path)
{
	DWORD a = attributes(path);

	return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

bool ap_fsx_is_file(const char *path)
{
	DWORD a = attributes(path);

	return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY) &&
	       !(a & FILE_ATTRIBUTE_DEVICE);
}

bool ap_fsx_dir_writable(const char *path)
{
	/* The read-only attribute means nothing on folders and ACLs are not
	 * worth reading: try to create a file that removes itself. */
	char *probe = ap_fsx_path_join(path, ".airpack-probe");
	wchar_t *w = probe ? wpath(probe) : NULL;
	HANDLE h;

	free(probe);
	if (!w)
		return false;
	h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_NEW,
			FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return false;
	CloseHandle(h);
	return true;
}

int ap_fsx_chmod(const char *path, unsigned mode, struct ap_err *err)
{
	(void)mode;
	if (attributes(path) == INVALID_FILE_ATTRIBUTES)
		return win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			       "cannot set mode %04o on '%s'", mode, path);
	return 0;
}

int ap_fsx_set_mtime(const char *path, int64_t mtime, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	int64_t t = mtime * 10000000 + EPOCH_DIFF;
	FILETIME ft;
	HANDLE h;
	int rc = 0;

	if (!w)
		return bad_path(err, path);
	ft.dwLowDateTime = (DWORD)(t & 0xffffffff);
	ft.dwHighDateTime = (DWORD)((uint64_t)t >> 32);
	/* BACKUP_SEMANTICS lets a folder be opened too. */
	h = CreateFileW(w, FILE_WRITE_ATTRIBUTES,
			FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
			FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		rc = win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			     "cannot set the modification time of '%s'", path);
		goto out;
	}
	if (!SetFileTime(h, NULL, NULL, &ft))
		rc = win_err(err, AP_E_IO, "cannot set the modification time of '%s'", path);
	CloseHandle(h);
out:
	free(w);
	return rc;
}

int ap_fsx_fopen(const char *path, const char *mode, FILE **out, struct ap_err *err)
{
	wchar_t wmode[8];
	wchar_t *w = wpath(path);
	bool reading = mode[0] == 'r';
	size_t i = 0;
	FILE *fp;

	if (!w)
		return bad_path(err, path);
	for (const char *m = mode; *m && i < 5; m++)
		wmode[i++] = (wchar_t)(unsigned char)*m;
	if (!strchr(mode, 'b'))
		wmode[i++] = L'b';
	/* Not inherited by run actions (process_win.c). */
	wmode[i++] = L'N';
	wmode[i] = L'\0';
	fp = _wfopen(w, wmode);
	if (!fp) {
		int e = errno;
		int rc;

		free(w);
		errno = e;
		rc = ap_err_sys(err, reading && e == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				"cannot open '%s' for %s", path, reading ? "reading" : "writing");
		errno = e;
		return rc;
	}
	free(w);
	*out = fp;
	return 0;
}

/* The names in folder path, or only its folders (not reparse points) when
 * dirs_only: the attributes come with the listing. */
static int list_names(const char *path, bool dirs_only, char ***names, size_t *n,
		      struct ap_err *err)
{
	struct ap_strvec l = AP_STRVEC_INIT;
	WIN32_FIND_DATAW fd;
	HANDLE h;
	DWORD e;
	int rc = find_first(path, &fd, &h, &e, err);

	if (rc < 0)
		return rc;
	if (h == INVALID_HANDLE_VALUE) {
		/* An empty folder still lists "." and "..", so this is a missing one. */
		return win_err(err, not_found(e) || e == ERROR_DIRECTORY ? AP_E_NOTFOUND : AP_E_IO,
			       "cannot list folder '%s'", path);
	}
	do {
		if (is_dot(fd.cFileName))
			continue;
		if (dirs_only && (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
				  (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)))
			continue;
		rc = ap_fsx_names_add(&l, ap_fsx_wide_to_utf8(fd.cFileName), path, err);
		if (rc)
			break;
	} while (FindNextFileW(h, &fd));
	if (rc == 0 && GetLastError() != ERROR_NO_MORE_FILES)
		rc = win_err(err, AP_E_IO, "cannot list folder '%s'", path);
	if (rc == 0)
		rc = ap_fsx_names_finish(&l, names, n, path, err);
	ap_strvec_release(&l);
	FindClose(h);
	return rc;
}

int ap_fsx_list_dir(const char *path, char ***names, size_t *n, struct ap_err *err)
{
	return list_names(path, false, names, n, err);
}

int ap_fsx_self_exe(char **path, struct ap_err *err)
{
	DWORD cap = 512;
	wchar_t *buf = NULL;

	for (;;) {
		wchar_t *p = realloc(buf, cap * sizeof(*buf));
		DWORD n;

		if (!p) {
			free(buf);
			return ap_err_set(err, AP_E_NOMEM, "out of memory finding the executable");
		}
		buf = p;
		n = GetModuleFileNameW(NULL, buf, cap);
		if (n == 0) {
			free(buf);
			return win_err(err, AP_E_IO, "cannot find the running executable");
		}
		if (n < cap) {
			char *s = ap_fsx_wide_to_utf8(buf);

			free(buf);
			if (!s)
				return ap_err_set(err, AP_E_NOMEM,
						  "out of memory finding the executable");
			*path = s;
			return 0;
		}
		if (cap >= 32768) {
			free(buf);
			return ap_err_set(err, AP_E_TOOBIG,
					  "the executable's path is longer than %lu characters",
					  (unsigned long)cap);
		}
		cap *= 2;
	}
}

int64_t ap_fsx_monotonic_ms(void)
{
	return (int64_t)GetTickCount64();
}

bool ap_fsx_isatty(FILE *fp)
{
	int fd = fp ? _fileno(fp) : -1;

	return fd >= 0 && _isatty(fd) != 0;
}

int ap_fsx_tty_echo(FILE *fp, bool on, struct ap_err *err)
{
	int fd = fp ? _fileno(fp) : -1;
	HANDLE h = fd >= 0 ? (HANDLE)_get_osfhandle(fd) : INVALID_HANDLE_VALUE;
	DWORD mode;

	if (h == INVALID_HANDLE_VALUE || !GetConsoleMode(h, &mode))
		return ap_err_set(err, AP_E_IO, "cannot read the console's mode (error %lu)",
				  (unsigned long)GetLastError());
	if (on)
		mode |= ENABLE_ECHO_INPUT;
	else
		mode &= ~(DWORD)ENABLE_ECHO_INPUT;
	if (!SetConsoleMode(h, mode))
		return ap_err_set(err, AP_E_IO, "cannot turn the console's echo %s (error %lu)",
				  on ? "on" : "off", (unsigned long)GetLastError());
	return 0;
}

int ap_fsx_lock(const char *path, int *handle, struct ap_err *err)
{
	return ap_fsx_lock_mode(path, false, handle, err);
}

int ap_fsx_lock_mode(const char *path, bool shared, int *handle, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	OVERLAPPED ov;
	HANDLE h;
	int fd;

	if (!w)
		return bad_path(err, path);
	/* SHARE_DELETE: the holder may remove the lock file (uninstall does),
	 * as POSIX allows. */
	h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE,
			FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_ALWAYS,
			FILE_ATTRIBUTE_NORMAL, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return win_err(err, AP_E_IO, "cannot open lock file '%s'", path);
	memset(&ov, 0, sizeof(ov));
	if (!LockFileEx(h, (shared ? 0 : LOCKFILE_EXCLUSIVE_LOCK) | LOCKFILE_FAIL_IMMEDIATELY, 0, 1,
			0, &ov)) {
		DWORD e = GetLastError();

		CloseHandle(h);
		if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING)
			return ap_err_set(err, AP_E_STATE,
					  "another airpack-setup holds the lock '%s'", path);
		SetLastError(e);
		return win_err(err, AP_E_IO, "cannot lock '%s'", path);
	}
	fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		UnlockFileEx(h, 0, 1, 0, &ov);
		CloseHandle(h);
		return ap_err_set(err, AP_E_IO, "cannot lock '%s': no descriptor for it", path);
	}
	*handle = fd;
	return fd;
}

void ap_fsx_unlock(int handle)
{
	OVERLAPPED ov;
	HANDLE h;

	if (handle < 0)
		return;
	h = (HANDLE)_get_osfhandle(handle);
	memset(&ov, 0, sizeof(ov));
	if (h != INVALID_HANDLE_VALUE)
		UnlockFileEx(h, 0, 1, 0, &ov);
	_close(handle);
}

long ap_fsx_pid(void)
{
	return (long)GetCurrentProcessId();
}

void ap_fsx_sleep_ms(unsigned ms)
{
	Sleep(ms);
}

/* ---- identity, exchange, links ---- */

int ap_fsx_file_id(const char *path, struct ap_file_id *id, struct ap_err *err)
{
	BY_HANDLE_FILE_INFORMATION info;
	wchar_t *w = wpath(path);
	HANDLE h;
	int rc = 0;

	if (!w)
		return bad_path(err, path);
	h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
			NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		if (not_found(GetLastError())) {
			id->exists = false;
			id->dev = 0;
			id->ino = 0;
			return 0;
		}
		return win_err(err, AP_E_IO, "cannot stat '%s'", path);
	}
	if (!GetFileInformationByHandle(h, &info)) {
		rc = win_err(err, AP_E_IO, "cannot stat '%s'", path);
	} else {
		id->exists = true;
		id->dev = info.dwVolumeSerialNumber;
		id->ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
	}
	CloseHandle(h);
	return rc;
}

int ap_fsx_exchange(const char *a, const char *b, bool *unsupported, struct ap_err *err)
{
	(void)a;
	(void)b;
	(void)err;
	*unsupported = true;
	return 0;
}

int ap_fsx_link(const char *from, const char *to, bool *fallback, struct ap_err *err)
{
	wchar_t *wf = wpath(from);
	wchar_t *wt = wpath(to);
	int rc = 0;

	*fallback = false;
	if (!wf || !wt) {
		rc = bad_path(err, wf ? to : from);
		goto out;
	}
	if (!CreateHardLinkW(wt, wf, NULL)) {
		DWORD e = GetLastError();

		if (e == ERROR_NOT_SAME_DEVICE || e == ERROR_INVALID_FUNCTION ||
		    e == ERROR_NOT_SUPPORTED || e == ERROR_TOO_MANY_LINKS ||
		    e == ERROR_ACCESS_DENIED || e == ERROR_CALL_NOT_IMPLEMENTED)
			*fallback = true;
		else
			rc = win_err(err, AP_E_IO, "cannot link '%s' to '%s'", from, to);
	}
out:
	free(wf);
	free(wt);
	return rc;
}

/* ---- paths ---- */

bool ap_fsx_path_is_abs(const char *path)
{
	if (ap_fsx_os_is_sep(path[0]) && ap_fsx_os_is_sep(path[1]))
		return true;
	return ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z')) &&
	       path[1] == ':' && ap_fsx_os_is_sep(path[2]);
}

int ap_fsx_abspath(const char *path, char **out, struct ap_err *err)
{
	wchar_t *w;
	wchar_t *full = NULL;
	char *abs = NULL;
	DWORD n;
	int rc = 0;

	if (ap_fsx_path_is_abs(path)) {
		abs = ap_strdup(path);
		if (!abs)
			return ap_err_set(err, AP_E_NOMEM, "out of memory resolving '%s'", path);
		*out = abs;
		return 0;
	}
	w = ap_fsx_utf8_to_wide(*path ? path : ".");
	if (!w)
		return bad_path(err, path);
	n = GetFullPathNameW(w, 0, NULL, NULL);
	full = n ? malloc((size_t)n * sizeof(*full)) : NULL;
	if (!full || GetFullPathNameW(w, n, full, NULL) >= n) {
		rc = win_err(err, AP_E_IO, "cannot make '%s' absolute", path);
		goto out;
	}
	abs = ap_fsx_wide_to_utf8(full);
	if (!abs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory resolving '%s'", path);
		goto out;
	}
	for (char *p = abs; *p; p++) {
		if (*p == '\\')
			*p = '/';
	}
	*out = abs;
out:
	free(w);
	free(full);
	return rc;
}

/* ---- memory streams ---- */

int ap_fsx_tmpfile_in(const char *dir, FILE **out, struct ap_err *err)
{
	static unsigned long seq;
	HANDLE h = INVALID_HANDLE_VALUE;
	FILE *fp;
	int fd;

	/* A name of our own (GetTempFileNameW takes no long paths), created
	 * new, shared with nobody, deleted when closed. */
	for (int tries = 0; tries < 16 && h == INVALID_HANDLE_VALUE; tries++) {
		char name[64];
		char *path;
		wchar_t *w;

		snprintf(name, sizeof(name), ".airpack-spool-%lu-%lu-%lu",
			 (unsigned long)GetCurrentProcessId(), ++seq,
			 (unsigned long)GetTickCount());
		path = ap_fsx_path_join(dir, name);
		w = path ? wpath(path) : NULL;
		free(path);
		if (!w)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW,
				FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
		free(w);
		if (h == INVALID_HANDLE_VALUE && GetLastError() != ERROR_FILE_EXISTS)
			break;
	}
	if (h == INVALID_HANDLE_VALUE)
		return win_err(err, AP_E_IO, "cannot create a private file in '%s'", dir);
	fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		return ap_err_set(err, AP_E_IO,
				  "cannot create a private file in '%s': no descriptor", dir);
	}
	fp = _fdopen(fd, "w+b");
	if (!fp) {
		_close(fd);
		return ap_err_sys(err, AP_E_IO, "cannot create a private file in '%s'", dir);
	}
	*out = fp;
	return 0;
}

int ap_fsx_free_space(const char *path, uint64_t *avail, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	ULARGE_INTEGER free_bytes;
	BOOL ok;

	if (!w)
		return bad_path(err, path);
	ok = GetDiskFreeSpaceExW(w, &free_bytes, NULL, NULL);
	free(w);
	if (!ok)
		return win_err(err, AP_E_IO, "cannot query the free space of '%s'", path);
	*avail = (uint64_t)free_bytes.QuadPart;
	return 0;
}

int ap_fsx_memstream(FILE **out, struct ap_err *err)
{
	wchar_t dir[MAX_PATH + 1];
	wchar_t name[MAX_PATH + 1];
	HANDLE h;
	FILE *fp;
	int fd;

	/* msvcrt's tmpfile() writes to the root of the drive, which only an
	 * administrator may; the user's temp folder it is. */
	if (GetTempPathW(MAX_PATH + 1, dir) == 0 || GetTempFileNameW(dir, L"apm", 0, name) == 0)
		return win_err(err, AP_E_IO, "cannot open a memory stream (a temporary file)");
	h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		DeleteFileW(name);
		return win_err(err, AP_E_IO, "cannot open a memory stream (a temporary file)");
	}
	fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		return ap_err_set(err, AP_E_IO, "cannot open a memory stream: no descriptor");
	}
	fp = _fdopen(fd, "w+b");
	if (!fp) {
		_close(fd);
		return ap_err_sys(err, AP_E_IO, "cannot open a memory stream");
	}
	*out = fp;
	return 0;
}

/* ---- the command line ---- */

int ap_fsx_hostname(char *buf, size_t size, struct ap_err *err)
{
	wchar_t w[256];
	DWORD n = sizeof(w) / sizeof(w[0]);
	char *u;
	size_t len;

	if (!GetComputerNameExW(ComputerNameDnsHostname, w, &n))
		return ap_err_set(err, AP_E_IO, "host name: GetComputerNameExW failed (error %lu)",
				  (unsigned long)GetLastError());
	u = ap_fsx_wide_to_utf8(w);
	if (!u)
		return ap_err_set(err, AP_E_NOMEM, "host name: out of memory");
	len = strlen(u);
	if (len + 1 > size) {
		free(u);
		return ap_err_set(err, AP_E_TOOBIG, "host name: longer than %zu bytes", size - 1);
	}
	memcpy(buf, u, len + 1);
	free(u);
	return 0;
}

const char *ap_fsx_default_root(void)
{
	static char root[8];
	wchar_t w[8];
	DWORD n;

	if (root[0])
		return root;
	n = GetEnvironmentVariableW(L"SystemDrive", w, 8);
	if (n == 2 && w[1] == L':' &&
	    ((w[0] >= L'A' && w[0] <= L'Z') || (w[0] >= L'a' && w[0] <= L'z'))) {
		root[0] = (char)w[0];
	} else {
		root[0] = 'C';
	}
	root[1] = ':';
	root[2] = '\\';
	root[3] = '\0';
	return root;
}

int ap_fsx_is_private(const char *path, bool *is_private, struct ap_err *err)
{
	wchar_t *w = wpath(path);
	PSECURITY_DESCRIPTOR sd = NULL;
	SECURITY_DESCRIPTOR_CONTROL ctl = 0;
	DWORD rev = 0, e;
	PACL dacl = NULL;
	bool ok;

	if (!w)
		return bad_path(err, path);
	e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
				  NULL, &sd);
	free(w);
	if (e != ERROR_SUCCESS) {
		SetLastError(e);
		return win_err(err, not_found(e) ? AP_E_NOTFOUND : AP_E_IO,
			       "cannot read the access list of '%s'", path);
	}
	/* Protected, and every allowing entry for SYSTEM or Administrators. */
	ok = dacl && GetSecurityDescriptorControl(sd, &ctl, &rev) && (ctl & SE_DACL_PROTECTED);
	for (DWORD i = 0; ok && i < dacl->AceCount; i++) {
		ACE_HEADER *ace = NULL;

		if (!GetAce(dacl, i, (void **)&ace)) {
			ok = false;
		} else if (ace->AceType == ACCESS_ALLOWED_ACE_TYPE) {
			PSID sid = &((ACCESS_ALLOWED_ACE *)ace)->SidStart;

			ok = IsWellKnownSid(sid, WinLocalSystemSid) ||
			     IsWellKnownSid(sid, WinBuiltinAdministratorsSid);
		}
	}
	LocalFree(sd);
	*is_private = ok;
	return 0;
}

const char *ap_fsx_access_said(unsigned mode, char *buf, size_t n)
{
	if (private_mode(mode))
		snprintf(buf, n, "SYSTEM and Administrators only");
	else
		snprintf(buf, n, "access inherited from its folder");
	return buf;
}

static UINT console_out_cp, console_in_cp;

static void console_restore(void)
{
	if (console_out_cp)
		SetConsoleOutputCP(console_out_cp);
	if (console_in_cp)
		SetConsoleCP(console_in_cp);
}

/* airpack writes UTF-8: the console shows it as such while the program
 * runs (non-ASCII paths in cmd.exe), and gets its code pages back at exit. */
static void console_utf8(void)
{
	UINT out = GetConsoleOutputCP(), in = GetConsoleCP();

	if (out == 0 && in == 0)
		return; /* no console */
	if (out != CP_UTF8 && SetConsoleOutputCP(CP_UTF8))
		console_out_cp = out;
	if (in != CP_UTF8 && SetConsoleCP(CP_UTF8))
		console_in_cp = in;
	if (console_out_cp || console_in_cp)
		atexit(console_restore);
}

int ap_fsx_utf8_args(int *argc, char ***argv, struct ap_err *err)
{
	wchar_t **wargv;
	char **v;
	int n = 0;

	console_utf8();

	wargv = CommandLineToArgvW(GetCommandLineW(), &n);
	if (!wargv)
		return win_err(err, AP_E_USAGE, "cannot read the command line");
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		LocalFree(wargv);
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading the command line");
	}
	for (int i = 0; i < n; i++) {
		v[i] = ap_fsx_wide_to_utf8(wargv[i]);
		if (!v[i]) {
			ap_fsx_strv_free(v, (size_t)i);
			LocalFree(wargv);
			return ap_err_set(err, AP_E_NOMEM,
					  "out of memory reading the command line");
		}
	}
	LocalFree(wargv);
	/* Kept until exit: main's argv must outlive every use of it. */
	*argc = n;
	*argv = v;
	return 0;
}

/* ---- under a root (airpack/fsx.h) ----
 * Windows has no openat: each component of rel below the root is checked
 * not to be a reparse point (a symlink or junction) before the path call,
 * so one planted inside a root is refused, naming it, as on POSIX. */

/* Check rel[0..len) component by component; *abs = root/rel when each is
 * a folder, NULL (and 0) when one is missing or a file; a reparse point is
 * AP_E_UNSAFE. */
static int win_under(const char *root, const char *rel, size_t len, char **abs, struct ap_err *err)
{
	char *p = ap_strdup(rel ? rel : "");
	int rc = 0;

	*abs = NULL;
	if (!p)
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", root);
	for (size_t i = 0; i < len && rc == 0;) {
		size_t j = i;
		struct ap_stat st;
		char *cabs;

		while (j < len && p[j] != '/')
			j++;
		p[j] = '\0';
		if (strcmp(p + i, "..") == 0) {
			rc = ap_err_set(err, AP_E_UNSAFE, "refusing '%s' under the root '%s': '..'",
					rel, root);
			break;
		}
		cabs = ap_fsx_path_join(root, p);
		if (!cabs) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", root);
			break;
		}
		rc = ap_fsx_stat(cabs, &st, err);
		free(cabs);
		if (rc == 0 && st.type == AP_FT_LINK)
			rc = ap_err_set(err, AP_E_UNSAFE,
					"'%s' under the root '%s' is a symlink: airpack does not "
					"follow symlinks inside an install root",
					p, root);
		else if (rc == 0 && st.type != AP_FT_DIR)
			rc = 1;
		if (j < len)
			p[j] = '/';
		i = j + 1;
	}
	free(p);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	*abs = rel && *rel ? ap_fsx_path_join(root, rel) : ap_strdup(root);
	if (!*abs)
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", root);
	return 0;
}

static size_t win_dirlen(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? (size_t)(slash - rel) : 0;
}

int ap_fsx_open_under(const char *root, const char *rel, FILE **out, struct ap_stat *st,
		      struct ap_err *err)
{
	char *abs;
	int rc;

	if (out)
		*out = NULL;
	memset(st, 0, sizeof(*st));
	st->type = AP_FT_NONE;
	rc = win_under(root, rel, win_dirlen(rel), &abs, err);
	if (rc < 0 || !abs)
		return rc;
	rc = ap_fsx_stat(abs, st, err);
	if (rc == 0 && out && st->type == AP_FT_FILE)
		rc = ap_fsx_fopen(abs, "rb", out, err);
	free(abs);
	return rc;
}

int ap_fsx_stat_under(const char *root, const char *rel, struct ap_stat *st, struct ap_err *err)
{
	return ap_fsx_open_under(root, rel, NULL, st, err);
}

/* A removal under root: op on rel's path once its folders are checked
 * (nothing to do when one of them is missing). */
static int remove_under(const char *root, const char *rel, int (*op)(const char *, struct ap_err *),
			struct ap_err *err)
{
	char *abs;
	int rc = win_under(root, rel, win_dirlen(rel), &abs, err);

	if (rc < 0 || !abs)
		return rc;
	rc = op(abs, err);
	free(abs);
	return rc;
}

int ap_fsx_unlink_under(const char *root, const char *rel, struct ap_err *err)
{
	return remove_under(root, rel, ap_fsx_unlink, err);
}

int ap_fsx_rmdir_under(const char *root, const char *rel, struct ap_err *err)
{
	return remove_under(root, rel, ap_fsx_rmdir, err);
}

int ap_fsx_rm_rf_under(const char *root, const char *rel, struct ap_err *err)
{
	return remove_under(root, rel, ap_fsx_rm_rf, err);
}

static int list_under(const char *root, const char *rel, bool dirs_only, char ***names, size_t *n,
		      struct ap_err *err)
{
	char *abs;
	int rc = win_under(root, rel, strlen(rel), &abs, err);

	if (rc < 0)
		return rc;
	if (!abs)
		return ap_err_set(err, AP_E_NOTFOUND,
				  "cannot list folder '%s' under '%s': "
				  "not found",
				  rel, root);
	rc = list_names(abs, dirs_only, names, n, err);
	free(abs);
	return rc;
}

int ap_fsx_list_dir_under(const char *root, const char *rel, char ***names, size_t *n,
			  struct ap_err *err)
{
	return list_under(root, rel, false, names, n, err);
}

int ap_fsx_list_subdirs_under(const char *root, const char *rel, char ***names, size_t *n,
			      struct ap_err *err)
{
	return list_under(root, rel, true, names, n, err);
}

int ap_fsx_list_dir_under_stat(const char *root, const char *rel, char ***names,
			       struct ap_stat **sts, size_t *n, struct ap_err *err)
{
	int rc = ap_fsx_list_dir_under(root, rel, names, n, err);

	if (rc < 0)
		return rc;
	*sts = calloc(*n ? *n : 1, sizeof(**sts));
	if (!*sts)
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", rel);
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		char *child = ap_fsx_path_join(rel, (*names)[i]);

		if (!child) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", rel);
			break;
		}
		rc = ap_fsx_stat_under(root, child, &(*sts)[i], err);
		free(child);
	}
	if (rc < 0) {
		ap_fsx_strv_free(*names, *n);
		free(*sts);
		*names = NULL;
		*sts = NULL;
		*n = 0;
	}
	return rc;
}

int ap_fsx_os_mkdirs_under(const char *root, const char *rel, unsigned mode, ap_fsx_made_fn made,
			   void *ctx, struct ap_err *err)
{
	char *p;
	size_t len = strlen(rel);
	int rc = 0;

	if (!ap_fsx_is_dir(root)) {
		rc = ap_fsx_mkdir_p(root, mode, err);
		if (rc < 0)
			return rc;
	}
	p = ap_strdup(rel);
	if (!p)
		return ap_err_set(err, AP_E_NOMEM, "out of memory creating folders");
	for (size_t i = 0; i < len && rc == 0;) {
		size_t j = i;
		struct ap_stat st;
		char *cabs;

		while (j < len && p[j] != '/')
			j++;
		p[j] = '\0';
		if (strcmp(p + i, "..") == 0) {
			rc = ap_err_set(err, AP_E_UNSAFE,
					"refusing to create '%s' under the root '%s': '..'", rel,
					root);
			break;
		}
		cabs = ap_fsx_path_join(root, p);
		if (!cabs) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory creating folders");
			break;
		}
		rc = ap_fsx_stat(cabs, &st, err);
		if (rc == 0 && st.type == AP_FT_LINK)
			rc = ap_err_set(err, AP_E_UNSAFE,
					"'%s' under the root '%s' is a symlink: airpack does not "
					"follow symlinks inside an install root",
					p, root);
		else if (rc == 0 && st.type == AP_FT_NONE) {
			rc = ap_fsx_os_mkdir_one(cabs, mode, err);
			if (rc == 0 && made)
				rc = made(ctx, p, err);
		} else if (rc == 0 && st.type != AP_FT_DIR)
			rc = ap_err_set(
				err, AP_E_EXISTS,
				"cannot create folder '%s' under '%s': a file with that name "
				"exists",
				p, root);
		free(cabs);
		if (j < len)
			p[j] = '/';
		i = j + 1;
	}
	free(p);
	return rc;
}

/* ---- a new tree inside a folder (airpack/fsx.h) ----
 * Windows has no openat: each entry's path is the tree's folder joined
 * with rel; the folders of rel are checked not to be reparse points
 * (win_under) before the call, the last one checked is remembered, and a
 * file is created with CREATE_NEW and FILE_FLAG_OPEN_REPARSE_POINT, so a
 * link planted at its name is neither followed nor replaced. */

struct ap_fsx_tree {
	char *dir;
	char *prel; /* the folder of rel last checked, NULL for none */
};

struct ap_fsx_tree_file {
	struct ap_fsx_tree *t;
	HANDLE h;
	char *rel;
	uint64_t end;
};

int ap_fsx_tree_open(const char *dir, struct ap_fsx_tree **out, struct ap_err *err)
{
	struct ap_fsx_tree *t;
	DWORD a = attributes(dir);

	if (a == INVALID_FILE_ATTRIBUTES)
		return win_err(err, not_found(GetLastError()) ? AP_E_NOTFOUND : AP_E_IO,
			       "cannot open folder '%s'", dir);
	if (!(a & FILE_ATTRIBUTE_DIRECTORY))
		return ap_err_set(err, AP_E_IO, "cannot open folder '%s': not a folder", dir);
	t = calloc(1, sizeof(*t));
	if (t)
		t->dir = ap_strdup(dir);
	if (!t || !t->dir) {
		free(t);
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", dir);
	}
	*out = t;
	return 0;
}

int ap_fsx_tree_open_under(const char *root, const char *rel, struct ap_fsx_tree **out,
			   struct ap_err *err)
{
	char *abs = NULL;
	int rc = win_under(root, rel, strlen(rel), &abs, err);

	if (rc < 0)
		return rc;
	if (!abs)
		return ap_err_set(err, AP_E_NOTFOUND,
				  "cannot open folder '%s' under '%s': it is "
				  "not there",
				  rel, root);
	rc = ap_fsx_tree_open(abs, out, err);
	free(abs);
	return rc;
}

void ap_fsx_tree_close(struct ap_fsx_tree *t)
{
	if (!t)
		return;
	free(t->prel);
	free(t->dir);
	free(t);
}

/* Check the folders of rel[0..len) (once per folder in a row) and give
 * *abs, the tree's folder joined with all of rel (malloc'd).  With
 * missing_ok, a folder that is not there gives *abs NULL and 0. */
static int tree_path(struct ap_fsx_tree *t, const char *rel, size_t len, bool missing_ok,
		     char **abs, struct ap_err *err)
{
	char *dir = NULL;
	int rc;

	*abs = NULL;
	if (!(t->prel && strlen(t->prel) == len && strncmp(t->prel, rel, len) == 0)) {
		rc = win_under(t->dir, rel, len, &dir, err);
		if (rc < 0)
			return rc;
		if (!dir && missing_ok)
			return 0;
		if (!dir)
			return ap_err_set(err, AP_E_NOTFOUND,
					  "cannot write '%s' in '%s': its folder "
					  "'%.*s' is not there",
					  rel, t->dir, (int)len, rel);
		free(dir);
		free(t->prel);
		t->prel = ap_strndup(rel, len);
		if (!t->prel)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	*abs = ap_fsx_path_join(t->dir, rel);
	if (!*abs)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

/* Something is at abs where a new what should go: a regular file is
 * removed (as tar replaces it) and 1 returned, to try again; a reparse
 * point is AP_E_UNSAFE, anything else AP_E_EXISTS. */
static int tree_taken(struct ap_fsx_tree *t, const char *abs, const char *rel, const char *what,
		      struct ap_err *err)
{
	struct ap_stat st;
	int rc = ap_fsx_stat(abs, &st, err);

	if (rc < 0)
		return rc;
	if (st.type == AP_FT_LINK)
		return ap_err_set(err, AP_E_UNSAFE,
				  "'%s' under the root '%s' is a symlink: airpack does not follow "
				  "symlinks inside an install root",
				  rel, t->dir);
	if (st.type == AP_FT_FILE) {
		rc = ap_fsx_unlink(abs, err);
		return rc < 0 ? rc : 1;
	}
	return ap_err_set(err, AP_E_EXISTS,
			  "cannot create %s '%s' in '%s': something else with "
			  "that name exists",
			  what, rel, t->dir);
}

int ap_fsx_tree_mkdir(struct ap_fsx_tree *t, const char *rel, unsigned mode, struct ap_err *err)
{
	char *abs = NULL;
	struct ap_stat st;
	int rc;

	(void)mode;
	rc = tree_path(t, rel, win_dirlen(rel), false, &abs, err);
	if (rc < 0)
		return rc;
	rc = ap_fsx_stat(abs, &st, err);
	if (rc == 0 && st.type != AP_FT_DIR && st.type != AP_FT_NONE) {
		rc = tree_taken(t, abs, rel, "folder", err);
		if (rc == 1)
			rc = 0;
	}
	if (rc == 0)
		rc = ap_fsx_os_mkdir_one(abs, mode, err);
	free(abs);
	return rc;
}

int ap_fsx_tree_dir_done(struct ap_fsx_tree *t, const char *rel, int64_t mtime, bool sync,
			 struct ap_err *err)
{
	char *abs = NULL;
	int rc = win_under(t->dir, rel, strlen(rel), &abs, err);

	if (rc < 0)
		return rc;
	if (!abs)
		return ap_err_set(err, AP_E_NOTFOUND, "folder '%s' in '%s' is not there", rel,
				  t->dir);
	if (mtime >= 0)
		rc = ap_fsx_set_mtime(abs, mtime, err);
	if (rc == 0 && sync)
		rc = ap_fsx_fsync_dir(abs, err);
	free(abs);
	return rc;
}

int ap_fsx_tree_create(struct ap_fsx_tree *t, const char *rel, unsigned mode,
		       struct ap_fsx_tree_file **out, struct ap_err *err)
{
	struct ap_fsx_tree_file *f = NULL;
	char *abs = NULL;
	wchar_t *w = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	int rc;

	(void)mode;
	rc = tree_path(t, rel, win_dirlen(rel), false, &abs, err);
	if (rc < 0)
		return rc;
	w = wpath(abs);
	if (!w) {
		rc = bad_path(err, abs);
		goto out;
	}
	for (int tries = 0; rc == 0; tries++) {
		DWORD e;
		struct ap_stat st;

		h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_NEW,
				FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
		if (h != INVALID_HANDLE_VALUE)
			break;
		e = GetLastError();
		/* A folder there may answer "access denied" rather than "exists". */
		if (tries > 0 || ap_fsx_stat(abs, &st, NULL) != 0 || st.type == AP_FT_NONE) {
			SetLastError(e);
			rc = win_err(err, AP_E_IO, "cannot create '%s' in '%s'", rel, t->dir);
			break;
		}
		rc = tree_taken(t, abs, rel, "file", err);
		if (rc == 1)
			rc = 0;
	}
	if (rc < 0)
		goto out;
	f = calloc(1, sizeof(*f));
	if (f)
		f->rel = ap_strdup(rel);
	if (!f || !f->rel) {
		free(f);
		f = NULL;
		CloseHandle(h);
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory creating '%s'", rel);
		goto out;
	}
	f->t = t;
	f->h = h;
	*out = f;
out:
	free(w);
	free(abs);
	return rc;
}

int ap_fsx_tree_write(struct ap_fsx_tree_file *f, const void *buf, size_t n, uint64_t off,
		      struct ap_err *err)
{
	const char *p = buf;
	LARGE_INTEGER at;

	if (off > (uint64_t)INT64_MAX - n)
		return ap_err_set(err, AP_E_IO, "cannot write '%s' in '%s': offset too large",
				  f->rel, f->t->dir);
	at.QuadPart = (LONGLONG)off;
	if (!SetFilePointerEx(f->h, at, NULL, FILE_BEGIN))
		return win_err(err, AP_E_IO, "cannot write '%s' in '%s'", f->rel, f->t->dir);
	while (n > 0) {
		DWORD chunk = n > (1u << 30) ? (1u << 30) : (DWORD)n;
		DWORD w = 0;

		if (!WriteFile(f->h, p, chunk, &w, NULL) || w == 0)
			return win_err(err, AP_E_IO, "cannot write '%s' in '%s'", f->rel,
				       f->t->dir);
		p += w;
		n -= w;
		off += w;
	}
	if (off > f->end)
		f->end = off;
	return 0;
}

int ap_fsx_tree_finish(struct ap_fsx_tree_file *f, uint64_t size, bool set_time, int64_t sec,
		       long nsec, bool sync, struct ap_err *err)
{
	int rc = 0;

	if (size > f->end) {
		LARGE_INTEGER at;

		at.QuadPart = (LONGLONG)size;
		if (!SetFilePointerEx(f->h, at, NULL, FILE_BEGIN) || !SetEndOfFile(f->h))
			rc = win_err(err, AP_E_IO, "cannot size '%s' in '%s'", f->rel, f->t->dir);
	}
	if (rc == 0 && set_time) {
		int64_t ticks = sec * 10000000 + nsec / 100 + EPOCH_DIFF;
		FILETIME ft;

		ft.dwLowDateTime = (DWORD)(ticks & 0xffffffff);
		ft.dwHighDateTime = (DWORD)((uint64_t)ticks >> 32);
		if (!SetFileTime(f->h, NULL, &ft, &ft))
			rc = win_err(err, AP_E_IO, "cannot set the time of '%s' in '%s'", f->rel,
				     f->t->dir);
	}
	if (rc == 0 && sync && !FlushFileBuffers(f->h))
		rc = win_err(err, AP_E_IO, "cannot fsync '%s' in '%s'", f->rel, f->t->dir);
	CloseHandle(f->h);
	free(f->rel);
	free(f);
	return rc;
}

void ap_fsx_tree_abort(struct ap_fsx_tree_file *f)
{
	if (!f)
		return;
	CloseHandle(f->h);
	free(f->rel);
	free(f);
}

int ap_fsx_tree_open_file(struct ap_fsx_tree *t, const char *rel, struct ap_fsx_tree_file **out,
			  struct ap_stat *st, struct ap_err *err)
{
	BY_HANDLE_FILE_INFORMATION bi;
	struct ap_fsx_tree_file *f = NULL;
	char *abs = NULL;
	wchar_t *w = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	int rc;

	*out = NULL;
	memset(st, 0, sizeof(*st));
	st->type = AP_FT_NONE;
	rc = tree_path(t, rel, win_dirlen(rel), true, &abs, err);
	if (rc < 0 || !abs)
		return rc;
	rc = ap_fsx_stat(abs, st, err);
	if (rc < 0 || st->type != AP_FT_FILE)
		goto out;
	w = wpath(abs);
	if (!w) {
		rc = bad_path(err, abs);
		goto out;
	}
	/* A link swapped in meanwhile is opened as itself, not followed. */
	h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			NULL, OPEN_EXISTING,
			FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		if (not_found(GetLastError()))
			st->type = AP_FT_NONE;
		else
			rc = win_err(err, AP_E_IO, "cannot open '%s' in '%s'", rel, t->dir);
		goto out;
	}
	/* What is read is what this handle says. */
	if (!GetFileInformationByHandle(h, &bi)) {
		rc = win_err(err, AP_E_IO, "cannot stat '%s' in '%s'", rel, t->dir);
		goto out;
	}
	if (bi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
		st->type = AP_FT_LINK;
		goto out;
	}
	if (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
		st->type = AP_FT_DIR;
		goto out;
	}
	st->size = ((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow;
	st->mode = (bi.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0644;
	f = calloc(1, sizeof(*f));
	if (f)
		f->rel = ap_strdup(rel);
	if (!f || !f->rel) {
		free(f);
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", rel);
		goto out;
	}
	f->t = t;
	f->h = h;
	h = INVALID_HANDLE_VALUE;
	*out = f;
out:
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	free(w);
	free(abs);
	return rc;
}

int ap_fsx_tree_read(struct ap_fsx_tree_file *f, void *buf, size_t n, size_t *got,
		     struct ap_err *err)
{
	DWORD r = 0;

	if (!ReadFile(f->h, buf, n > (1u << 30) ? (1u << 30) : (DWORD)n, &r, NULL))
		return win_err(err, AP_E_IO, "cannot read '%s' in '%s'", f->rel, f->t->dir);
	*got = r;
	return 0;
}

int ap_fsx_tree_unlink(struct ap_fsx_tree *t, const char *rel, struct ap_err *err)
{
	char *abs = NULL;
	int rc = tree_path(t, rel, win_dirlen(rel), true, &abs, err);

	if (rc < 0 || !abs)
		return rc;
	rc = ap_fsx_unlink(abs, err);
	free(abs);
	return rc;
}
