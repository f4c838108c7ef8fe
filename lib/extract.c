/* extract.c - unpack payload archives safely; see airpack/extract.h.
 *
 * Every entry is judged here before libarchive sees it: its name is
 * normalised to a relative '/'-separated path with no '.', '..' or empty
 * components, and only files and folders pass.  The entry handed to the
 * disk writer is a fresh one carrying just name, type, mode, size and
 * time, so nothing else from the archive (owners, ACLs, xattrs, flags)
 * reaches the disk.  Parent folders are written as folder entries too, so
 * their mode is 0755 whatever the umask.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/banned.h"

#define READ_BLOCK (256 * 1024)
#define DIR_MODE 0755u
#define FILE_MODE 0644u
/* The SECURE_* flags are the second line behind our own checks; PERM makes
 * the modes chosen here exact whatever the umask; TIME applies mtimes. */
#define DISK_FLAGS                                                                                 \
	(ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |                       \
	 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME)

struct extractor {
	const char *archive_path;
	struct archive *in;
	struct archive *disk; /* NULL when only listing */
	int64_t mtime;
	ap_extract_cb cb;
	void *ctx;
	struct ap_sha256 *hash;

	/* The archive, read through fsx so its name may be any UTF-8 path. */
	FILE *fp;
	unsigned char *block;

	/* The working folder is switched between the caller's and dest's;
	 * see enter_dest(). */
	struct ap_fsx_cwd *cwd;

	/* Folders made so far, to make each parent once and fsync each at
	 * the end. */
	char **dirs;
	size_t ndirs, capdirs;
};

/* A name we print: control bytes escaped, cut to fit an error message. */
static const char *quoted(const char *in, char *out, size_t outsz)
{
	static const char hexd[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in && o + 5 < outsz; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hexd[c >> 4];
			out[o++] = hexd[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

static int refuse(struct extractor *ex, const char *name, const char *why, struct ap_err *err)
{
	char qn[512];

	return ap_err_set(err, AP_E_UNSAFE, "refusing entry '%s' of '%s': %s",
	                  quoted(name ? name : "", qn, sizeof(qn)), ex->archive_path, why);
}

static int archive_fail(struct extractor *ex, struct archive *a, const char *what, const char *name,
                        struct ap_err *err)
{
	const char *msg = archive_error_string(a);

	return ap_err_set(err, AP_E_BUNDLE, "%s '%s' of '%s': %s", what, name ? name : "",
	                  ex->archive_path, msg ? msg : "unknown libarchive error");
}

/* The entry's name as UTF-8, malloc'd; NULL when it cannot be read (or
 * out of memory).  See ap_fsx_wide_names: on Windows only libarchive's wide
 * form is exact, in both directions. */
static char *entry_name(struct archive_entry *e)
{
	const char *s;
	char *copy;

	if (ap_fsx_wide_names()) {
		const wchar_t *w = archive_entry_pathname_w(e);

		return w ? ap_fsx_wide_to_utf8(w) : NULL;
	}
	s = archive_entry_pathname(e);
	if (!s)
		return NULL;
	copy = malloc(strlen(s) + 1);
	if (copy)
		memcpy(copy, s, strlen(s) + 1);
	return copy;
}

static int set_entry_name(struct archive_entry *e, const char *name, struct ap_err *err)
{
	wchar_t *w;

	if (!ap_fsx_wide_names()) {
		archive_entry_copy_pathname(e, name);
		return 0;
	}
	w = ap_fsx_utf8_to_wide(name);
	if (!w)
		return ap_err_set(err, AP_E_NOMEM, "out of memory naming '%s'", name);
	archive_entry_copy_pathname_w(e, w);
	free(w);
	return 0;
}

/* Normalise an entry name into *out (malloc'd): strip leading "./" and a
 * trailing '/', refuse everything that is not a plain relative path.
 * Returns 0, 1 when the name is the archive's root folder itself (skip
 * it), or an error. */
static int clean_name(struct extractor *ex, const char *raw, char **out, struct ap_err *err)
{
	const char *p, *comp;
	size_t len;
	char *s;

	if (!raw)
		return refuse(ex, "", "its name cannot be read in this locale", err);
	if (raw[0] == '/')
		return refuse(ex, raw, "it is an absolute path", err);
	for (p = raw; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\')
			return refuse(ex, raw, "it contains a backslash", err);
		if (c < 0x20 || c == 0x7f)
			return refuse(ex, raw, "it contains a control character", err);
	}
	p = raw;
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	len = strlen(p);
	if (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0 || (len == 1 && p[0] == '.'))
		return 1;

	s = malloc(len + 1);
	if (!s)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	memcpy(s, p, len);
	s[len] = '\0';
	for (comp = s;; comp++) {
		const char *end = strchr(comp, '/');
		size_t n = end ? (size_t)(end - comp) : strlen(comp);
		const char *why = NULL;

		if (n == 0)
			why = "it has an empty path component";
		else if (n == 1 && comp[0] == '.')
			why = "it has a '.' component";
		else if (n == 2 && comp[0] == '.' && comp[1] == '.')
			why = "it has a '..' component";
		if (why) {
			free(s);
			return refuse(ex, raw, why, err);
		}
		if (!end)
			break;
		comp = end;
	}
	*out = s;
	return 0;
}

/* Only regular files and folders. */
static int check_type(struct extractor *ex, struct archive_entry *e, const char *raw,
                      struct ap_err *err)
{
	char why[1024], qt[512];
	const char *link = archive_entry_hardlink(e);

	if (link) {
		snprintf(why, sizeof(why), "it is a hard link to '%s'",
		         quoted(link, qt, sizeof(qt)));
		return refuse(ex, raw, why, err);
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
		return 0;
	case AE_IFLNK:
		link = archive_entry_symlink(e);
		snprintf(why, sizeof(why), "it is a symlink to '%s'",
		         quoted(link ? link : "", qt, sizeof(qt)));
		return refuse(ex, raw, why, err);
	case AE_IFCHR:
	case AE_IFBLK:
		return refuse(ex, raw, "it is a device node", err);
	case AE_IFIFO:
		return refuse(ex, raw, "it is a fifo", err);
	case AE_IFSOCK:
		return refuse(ex, raw, "it is a socket", err);
	default:
		return refuse(ex, raw, "it is neither a file nor a folder", err);
	}
}

/* CAB keeps no permissions (libarchive reports 0666, or 0555 for
 * read-only), so every cab file is 0644; elsewhere the execute bits are
 * kept and nothing is writable beyond the owner. */
static unsigned file_mode(struct extractor *ex, struct archive_entry *e)
{
	unsigned perm = (unsigned)archive_entry_perm(e);

	if ((archive_format(ex->in) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_CAB || perm == 0)
		return FILE_MODE;
	return (perm & 0755u) | FILE_MODE;
}

/* libarchive refuses absolute names (SECURE_NOABSOLUTEPATHS), so entries
 * are written by relative name with the process inside dest; the caller's
 * folder is back in place whenever control leaves this file (callbacks,
 * return).  The process-wide working folder makes this single-threaded. */
static int enter_dest(struct extractor *ex, struct ap_err *err)
{
	return ap_fsx_cwd_enter(ex->cwd, err);
}

static int leave_dest(struct extractor *ex, struct ap_err *err)
{
	return ap_fsx_cwd_leave(ex->cwd, err);
}

static bool dir_made(struct extractor *ex, const char *path, size_t len)
{
	size_t i;

	for (i = ex->ndirs; i-- > 0;) {
		if (strlen(ex->dirs[i]) == len && memcmp(ex->dirs[i], path, len) == 0)
			return true;
	}
	return false;
}

static int remember_dir(struct extractor *ex, const char *path, size_t len, struct ap_err *err)
{
	char *s;

	if (ex->ndirs == ex->capdirs) {
		size_t cap = ex->capdirs ? ex->capdirs * 2 : 16;
		char **d = realloc(ex->dirs, cap * sizeof(*d));

		if (!d)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		ex->dirs = d;
		ex->capdirs = cap;
	}
	s = malloc(len + 1);
	if (!s)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	memcpy(s, path, len);
	s[len] = '\0';
	ex->dirs[ex->ndirs++] = s;
	return 0;
}

/* Write one folder entry of mode 0755: path[0..len). */
static int write_dir(struct extractor *ex, const char *path, size_t len, int64_t mtime,
                     struct ap_err *err)
{
	struct archive_entry *d = archive_entry_new();
	int rc = 0;

	if (!d)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = remember_dir(ex, path, len, err);
	if (rc < 0)
		goto out;
	rc = set_entry_name(d, ex->dirs[ex->ndirs - 1], err);
	if (rc < 0)
		goto out;
	archive_entry_set_filetype(d, AE_IFDIR);
	archive_entry_set_perm(d, DIR_MODE);
	if (mtime >= 0) {
		archive_entry_set_mtime(d, (time_t)mtime, 0);
		archive_entry_set_atime(d, (time_t)mtime, 0);
	}
	if (archive_write_header(ex->disk, d) != ARCHIVE_OK ||
	    archive_write_finish_entry(ex->disk) != ARCHIVE_OK)
		rc = archive_fail(ex, ex->disk, "creating folder", ex->dirs[ex->ndirs - 1], err);
out:
	archive_entry_free(d);
	return rc;
}

/* Make every parent folder of relpath not made yet. */
static int make_parents(struct extractor *ex, const char *relpath, struct ap_err *err)
{
	const char *slash;
	int rc;

	for (slash = strchr(relpath, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t len = (size_t)(slash - relpath);

		if (dir_made(ex, relpath, len))
			continue;
		rc = write_dir(ex, relpath, len, ex->mtime, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void hash_zeros(struct ap_sha256 *h, uint64_t n)
{
	static const unsigned char zeros[4096];

	while (n > 0) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);

		ap_sha256_update(h, zeros, k);
		n -= k;
	}
}

/* Stream the current entry's data: hash it and, when extracting, write it.
 * Sparse holes count as zeros. */
static int copy_data(struct extractor *ex, struct archive_entry *e, const char *relpath,
                     uint64_t *size_out, struct ap_err *err)
{
	uint64_t pos = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(ex->in, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return archive_fail(ex, ex->in, "reading", relpath, err);
		if (off < 0 || (uint64_t)off < pos)
			return ap_err_set(err, AP_E_BUNDLE,
			                  "reading '%s' of '%s': data blocks out of order", relpath,
			                  ex->archive_path);
		hash_zeros(ex->hash, (uint64_t)off - pos);
		ap_sha256_update(ex->hash, buf, len);
		pos = (uint64_t)off + len;
		if (ex->disk && archive_write_data_block(ex->disk, buf, len, off) != ARCHIVE_OK)
			return archive_fail(ex, ex->disk, "writing", relpath, err);
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (uint64_t)archive_entry_size(e) > pos) {
		hash_zeros(ex->hash, (uint64_t)archive_entry_size(e) - pos);
		pos = (uint64_t)archive_entry_size(e);
	}
	*size_out = pos;
	return 0;
}

static int do_file(struct extractor *ex, struct archive_entry *e, const char *relpath,
                   struct ap_err *err)
{
	struct archive_entry *f = NULL;
	char hex[AP_SHA256_HEX];
	unsigned mode = file_mode(ex, e);
	uint64_t size = 0;
	int rc;

	ap_sha256_reset(ex->hash);
	if (ex->disk) {
		rc = make_parents(ex, relpath, err);
		if (rc < 0)
			return rc;
		f = archive_entry_new();
		if (!f)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		rc = set_entry_name(f, relpath, err);
		if (rc < 0)
			goto out;
		archive_entry_set_filetype(f, AE_IFREG);
		archive_entry_set_perm(f, mode);
		if (archive_entry_size_is_set(e))
			archive_entry_set_size(f, archive_entry_size(e));
		if (ex->mtime >= 0) {
			archive_entry_set_mtime(f, (time_t)ex->mtime, 0);
			archive_entry_set_atime(f, (time_t)ex->mtime, 0);
		} else if (archive_entry_mtime_is_set(e)) {
			archive_entry_set_mtime(f, archive_entry_mtime(e),
			                        archive_entry_mtime_nsec(e));
		}
		if (archive_write_header(ex->disk, f) != ARCHIVE_OK) {
			rc = archive_fail(ex, ex->disk, "creating", relpath, err);
			goto out;
		}
	}
	rc = copy_data(ex, e, relpath, &size, err);
	if (rc < 0)
		goto out;
	if (ex->disk) {
		if (archive_write_finish_entry(ex->disk) != ARCHIVE_OK) {
			rc = archive_fail(ex, ex->disk, "finishing", relpath, err);
			goto out;
		}
		rc = ap_fsx_fsync_path(relpath, err);
		if (rc < 0) {
			ap_err_prefix(err, "extracting '%s'", ex->archive_path);
			goto out;
		}
	}
	ap_sha256_final_hex(ex->hash, hex);
	if (ex->cb) {
		if (ex->disk) {
			rc = leave_dest(ex, err);
			if (rc < 0)
				goto out;
		}
		rc = ex->cb(ex->ctx, relpath, mode, size, hex, err);
		if (rc != 0) {
			if (rc > 0 || (err && err->code == 0))
				rc = ap_err_set(err, rc < 0 ? rc : AP_E_USAGE,
				                "extracting '%s' of '%s': stopped by the caller",
				                relpath, ex->archive_path);
			goto out;
		}
		if (ex->disk)
			rc = enter_dest(ex, err);
	}
out:
	archive_entry_free(f);
	return rc;
}

static int do_dir(struct extractor *ex, struct archive_entry *e, const char *relpath,
                  struct ap_err *err)
{
	int64_t mtime = ex->mtime;
	int rc;

	if (!ex->disk)
		return 0;
	rc = make_parents(ex, relpath, err);
	if (rc < 0)
		return rc;
	if (mtime < 0 && archive_entry_mtime_is_set(e))
		mtime = (int64_t)archive_entry_mtime(e);
	return write_dir(ex, relpath, strlen(relpath), mtime, err);
}

static int run(struct extractor *ex, struct ap_err *err)
{
	struct archive_entry *e;
	char *relpath = NULL;
	char *raw = NULL;
	int r, rc = 0;

	for (;;) {
		r = archive_read_next_header(ex->in, &e);
		if (r == ARCHIVE_EOF)
			break;
		/* A warning means a name or attribute could not be read as
		 * stored: do not guess. */
		if (r != ARCHIVE_OK) {
			const char *msg = archive_error_string(ex->in);

			rc = ap_err_set(err, AP_E_BUNDLE, "reading the entry %s%s%s of '%s': %s",
			                relpath ? "after '" : "", relpath ? relpath : "",
			                relpath ? "'" : "", ex->archive_path,
			                msg ? msg : "unknown libarchive error");
			break;
		}
		free(relpath);
		relpath = NULL;
		free(raw);
		raw = entry_name(e);
		rc = check_type(ex, e, raw, err);
		if (rc < 0)
			break;
		rc = clean_name(ex, raw, &relpath, err);
		if (rc < 0)
			break;
		if (rc == 1) {
			if (archive_entry_filetype(e) == AE_IFDIR) {
				rc = 0;
				continue;
			}
			rc = refuse(ex, raw, "it names no file", err);
			break;
		}
		if (archive_entry_filetype(e) == AE_IFDIR)
			rc = do_dir(ex, e, relpath, err);
		else
			rc = do_file(ex, e, relpath, err);
		if (rc < 0)
			break;
	}
	free(relpath);
	free(raw);
	return rc;
}

static la_ssize_t read_cb(struct archive *a, void *data, const void **buf)
{
	struct extractor *ex = data;
	size_t n = fread(ex->block, 1, READ_BLOCK, ex->fp);

	if (n == 0 && ferror(ex->fp)) {
		archive_set_error(a, errno ? errno : EIO, "read error");
		return -1;
	}
	*buf = ex->block;
	return (la_ssize_t)n;
}

static la_int64_t seek_cb(struct archive *a, void *data, la_int64_t offset, int whence)
{
	struct extractor *ex = data;
	off_t pos;

	if (fseeko(ex->fp, (off_t)offset, whence) != 0 || (pos = ftello(ex->fp)) < 0) {
		archive_set_error(a, errno ? errno : EIO, "seek error");
		return ARCHIVE_FATAL;
	}
	return (la_int64_t)pos;
}

static la_int64_t skip_cb(struct archive *a, void *data, la_int64_t request)
{
	struct extractor *ex = data;

	if (fseeko(ex->fp, (off_t)request, SEEK_CUR) != 0) {
		archive_set_error(a, errno ? errno : EIO, "seek error");
		return ARCHIVE_FATAL;
	}
	return request;
}

static int open_reader(struct extractor *ex, struct ap_err *err)
{
	struct ap_err why = AP_ERR_INIT;

	ex->in = archive_read_new();
	ex->block = malloc(READ_BLOCK);
	if (!ex->in || !ex->block)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	if (archive_read_support_format_all(ex->in) != ARCHIVE_OK ||
	    archive_read_support_filter_all(ex->in) != ARCHIVE_OK)
		return archive_fail(ex, ex->in, "setting up the reader for", "", err);
	if (ap_fsx_fopen(ex->archive_path, "rb", &ex->fp, &why) < 0)
		return ap_err_set(err, AP_E_BUNDLE, "cannot read archive '%s': %s",
		                  ex->archive_path, why.msg);
	if (archive_read_set_read_callback(ex->in, read_cb) != ARCHIVE_OK ||
	    archive_read_set_seek_callback(ex->in, seek_cb) != ARCHIVE_OK ||
	    archive_read_set_skip_callback(ex->in, skip_cb) != ARCHIVE_OK ||
	    archive_read_set_callback_data(ex->in, ex) != ARCHIVE_OK ||
	    archive_read_open1(ex->in) != ARCHIVE_OK) {
		const char *msg = archive_error_string(ex->in);

		return ap_err_set(err, AP_E_BUNDLE, "cannot read archive '%s': %s",
		                  ex->archive_path, msg ? msg : "unknown libarchive error");
	}
	ex->hash = ap_sha256_new();
	if (!ex->hash)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

static void release(struct extractor *ex)
{
	size_t i;

	if (ex->in)
		archive_read_free(ex->in);
	if (ex->fp)
		fclose(ex->fp);
	free(ex->block);
	ap_sha256_free(ex->hash);
	for (i = 0; i < ex->ndirs; i++)
		free(ex->dirs[i]);
	free(ex->dirs);
}

/* Close the disk writer (it sets folder modes and times now) and fsync
 * every folder made, then dest itself.  Runs inside dest. */
static int finish_disk(struct extractor *ex, struct ap_err *err)
{
	size_t i;
	int rc;

	if (archive_write_close(ex->disk) != ARCHIVE_OK)
		return archive_fail(ex, ex->disk, "finishing folders from", "", err);
	for (i = 0; i < ex->ndirs; i++) {
		rc = ap_fsx_fsync_dir(ex->dirs[i], err);
		if (rc < 0)
			return rc;
	}
	return ap_fsx_fsync_dir(".", err);
}

int ap_extract_archive(const char *archive_path, const char *dest_dir, int64_t mtime,
                       ap_extract_cb cb, void *ctx, struct ap_err *err)
{
	struct extractor ex = {0};
	struct ap_err scratch = AP_ERR_INIT;
	bool inside = false;
	int rc;

	ex.archive_path = archive_path;
	ex.mtime = mtime;
	ex.cb = cb;
	ex.ctx = ctx;

	/* Opened before the folder changes, so a relative path still works. */
	rc = open_reader(&ex, err);
	if (rc < 0)
		goto out;
	rc = ap_fsx_cwd_open(dest_dir, &ex.cwd, err);
	if (rc < 0) {
		ap_err_prefix(err, "extracting '%s'", archive_path);
		goto out;
	}
	ex.disk = archive_write_disk_new();
	if (!ex.disk) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (archive_write_disk_set_options(ex.disk, DISK_FLAGS) != ARCHIVE_OK) {
		rc = archive_fail(&ex, ex.disk, "setting up extraction of", "", err);
		goto out;
	}
	rc = enter_dest(&ex, err);
	if (rc < 0)
		goto out;
	inside = true;
	rc = run(&ex, err);
	/* The callback may have left us outside dest. */
	if (enter_dest(&ex, rc < 0 ? &scratch : err) < 0 && rc == 0)
		rc = err ? err->code : AP_E_IO;
	if (rc == 0) {
		rc = finish_disk(&ex, err);
		if (rc < 0)
			ap_err_prefix(err, "extracting '%s' into '%s'", archive_path, dest_dir);
	}
out:
	if (ex.disk) {
		/* Freeing applies pending folder fixups, by relative name. */
		archive_write_free(ex.disk);
	}
	if (inside && leave_dest(&ex, rc < 0 ? &scratch : err) < 0 && rc == 0)
		rc = err ? err->code : AP_E_IO;
	ap_fsx_cwd_close(ex.cwd);
	release(&ex);
	return rc;
}

int ap_extract_list(const char *archive_path, ap_extract_cb cb, void *ctx, struct ap_err *err)
{
	struct extractor ex = {0};
	int rc;

	ex.archive_path = archive_path;
	ex.mtime = -1;
	ex.cb = cb;
	ex.ctx = ctx;
	rc = open_reader(&ex, err);
	if (rc == 0)
		rc = run(&ex, err);
	release(&ex);
	return rc;
}
