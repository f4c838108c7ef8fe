/* extract.c - unpack payload archives safely; see airpack/extract.h.
 *
 * Every entry is judged here: its name is normalised to a relative
 * '/'-separated path with no '.', '..' or empty components, and only files
 * and folders pass.  libarchive only reads; the files are written here
 * through an fsx tree (airpack/fsx.h) held on the destination folder, so
 * nothing is resolved from the working folder and no symlink is followed
 * or replaced.  Only name, mode, size, data and
 * time reach the disk, nothing else from the archive (owners, ACLs, xattrs,
 * flags).  Parent folders are made as folders of mode 0755 too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive_name.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/str.h"
#include "airpack/winname.h"
#include "airpack/banned.h"

#define READ_BLOCK (256 * 1024)
#define DIR_MODE 0755u
#define FILE_MODE 0644u

/* Every name the archive has made so far, as a file or a folder (parents
 * included), to refuse entries that conflict; open addressing. */
enum {
	NAME_FILE = 1,
	NAME_DIR = 2
};
/* A set of names, each with its type: an open-addressed table of one
 * pointer per slot (8 bytes), each name copied into a pool with its type
 * in the byte before it ("\1a/b"), so a release of many files costs its
 * names' bytes and a slot each, not a malloc per name. */
struct nameset {
	char **v;
	size_t used, cap; /* cap is 0 or a power of two */
	struct ap_strpool pool;
};

struct extractor {
	const char *archive_path;
	const struct ap_extract_expect *x; /* NULL: the archive is not checked */
	struct archive *in;
	struct ap_fsx_tree *tree; /* NULL when only listing */
	int64_t mtime;
	ap_extract_cb cb;
	void *ctx;
	struct ap_digest *hash;

	/* The archive, read through fsx so its name may be any UTF-8 path. */
	FILE *fp;
	unsigned char *block;

	/* Checked reading (x set): every byte taken from fp is hashed and
	 * counted as it is read.  Streamed, libarchive reads fp through
	 * read_cb (pending bytes of the first block first); spooled, fp was
	 * copied whole into spool, and libarchive reads only that. */
	struct ap_digest *src_hash;
	uint64_t src_done;
	FILE *spool;
	bool streamed;
	size_t pending;
	int src_rc; /* a failure inside read_cb, kept for the caller */
	struct ap_err src_err;
	bool src_checked; /* src_check ran */

	/* What has been extracted: bytes of regular files, files. */
	uint64_t total, n_files;
	struct nameset names;
	/* With windows_names: the names Windows sees (airpack/winname.h). */
	bool windows_names;
	struct nameset folded;

	/* Folders made so far, to make each parent once, and to set each
	 * one's time (dir_mtime[i], -1 for none) and fsync it at the end. */
	struct ap_strvec dirs;
	int64_t *dir_mtime;
	size_t dir_cap;
};

static int refuse(struct extractor *ex, const char *name, const char *why, struct ap_err *err)
{
	char qn[512];

	return ap_err_set(err, AP_E_UNSAFE, "refusing entry '%s' of '%s': %s",
			  ap_str_quoted(name ? name : "", qn, sizeof(qn)), ex->archive_path, why);
}

static int archive_fail(struct extractor *ex, struct archive *a, const char *what, const char *name,
			struct ap_err *err)
{
	const char *msg = archive_error_string(a);

	/* libarchive says "Write failed"; the cause is what the user can fix. */
	if (archive_errno(a) == ENOSPC)
		return ap_err_set(err, AP_E_IO, "%s '%s' of '%s': no space left on device", what,
				  name ? name : "", ex->archive_path);
	if (ex->src_rc < 0)
		return ap_err_set(err, ex->src_rc, "%s", ex->src_err.msg);
	return ap_err_set(err, AP_E_BUNDLE, "%s '%s' of '%s': %s", what, name ? name : "",
			  ex->archive_path, msg ? msg : "unknown libarchive error");
}

/* ---- names seen, for conflicting entries ---- */

static size_t name_hash(const char *s, size_t len)
{
	size_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The slot holding name[0..len), or the empty one where it would go. */
static char **names_slot(char **v, size_t cap, const char *name, size_t len)
{
	size_t i = name_hash(name, len) & (cap - 1);

	while (v[i] && !(strncmp(v[i] + 1, name, len) == 0 && v[i][1 + len] == '\0'))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* The type name[0..len) was made as, 0 for none. */
static int names_find(struct nameset *ns, const char *name, size_t len)
{
	char **slot;

	if (!ns->cap)
		return 0;
	slot = names_slot(ns->v, ns->cap, name, len);
	return *slot ? (unsigned char)**slot : 0;
}

static int names_add(struct nameset *ns, const char *name, size_t len, int type, struct ap_err *err)
{
	char **slot;
	char *copy;

	if (2 * (ns->used + 1) > ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		char **v = calloc(cap, sizeof(*v));

		if (!v)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		for (size_t i = 0; i < ns->cap; i++) {
			if (ns->v[i])
				*names_slot(v, cap, ns->v[i] + 1, strlen(ns->v[i] + 1)) = ns->v[i];
		}
		free(ns->v);
		ns->v = v;
		ns->cap = cap;
	}
	slot = names_slot(ns->v, ns->cap, name, len);
	if (*slot) {
		**slot = (char)type;
		return 0;
	}
	copy = len < SIZE_MAX - 2 ? ap_strpool_alloc(&ns->pool, len + 2) : NULL;
	if (!copy)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	copy[0] = (char)type;
	memcpy(copy + 1, name, len);
	copy[1 + len] = '\0';
	*slot = copy;
	ns->used++;
	return 0;
}

static void names_release(struct nameset *ns)
{
	free(ns->v);
	ap_strpool_release(&ns->pool);
}

/* For a release Windows installs: refuse a name Windows treats specially,
 * and a new name (the path or one of its folders) that Windows sees as the
 * same as an earlier one ("A.txt" after "a.txt", "x." after "x"). */
static int check_windows(struct extractor *ex, const char *raw, const char *relpath,
			 struct ap_err *err)
{
	char why[1024], qp[512];
	size_t off = 0, len = 0;
	const char *problem = ap_winname_path_problem(relpath, &off, &len);

	if (problem) {
		snprintf(why, sizeof(why), "unsafe name for Windows: '%.*s' is %s", (int)len,
			 relpath + off, problem);
		return refuse(ex, raw, why, err);
	}
	for (size_t n = 0;; n++) {
		bool last = relpath[n] == '\0';
		char *key;
		int rc;

		if (!last && relpath[n] != '/')
			continue;
		if (names_find(&ex->names, relpath, n)) {
			if (last)
				return 0;
			continue;
		}
		key = ap_strndup(relpath, n);
		if (key) {
			char *folded = ap_winname_fold(key);

			free(key);
			key = folded;
		}
		if (!key)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		if (names_find(&ex->folded, key, strlen(key))) {
			free(key);
			snprintf(why, sizeof(why),
				 "unsafe name for Windows: '%s' is the same name on Windows as an "
				 "earlier entry (they differ only in letter case or trailing dots "
				 "and spaces)",
				 ap_str_quoted(relpath, qp, sizeof(qp)));
			return refuse(ex, raw, why, err);
		}
		rc = names_add(&ex->folded, key, strlen(key), NAME_FILE, err);
		free(key);
		if (rc < 0 || last)
			return rc;
	}
}

/* Refuse an entry that would replace or go below what an earlier entry
 * made: the receipt would then name a file that is not on disk.  The same
 * folder twice is harmless. */
static int check_conflict(struct extractor *ex, const char *raw, const char *relpath, int type,
			  struct ap_err *err)
{
	char why[1024], qp[512];
	const char *slash;
	int rc, had;

	if (ex->windows_names) {
		rc = check_windows(ex, raw, relpath, err);
		if (rc < 0)
			return rc;
	}

	for (slash = strchr(relpath, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t len = (size_t)(slash - relpath);

		had = names_find(&ex->names, relpath, len);
		if (had == NAME_FILE) {
			char parent[512];

			snprintf(parent, sizeof(parent), "%.*s", (int)len, relpath);
			snprintf(why, sizeof(why), "'%s' is a file earlier in the archive",
				 ap_str_quoted(parent, qp, sizeof(qp)));
			return refuse(ex, raw, why, err);
		}
		if (had == 0) {
			rc = names_add(&ex->names, relpath, len, NAME_DIR, err);
			if (rc < 0)
				return rc;
		}
	}
	had = names_find(&ex->names, relpath, strlen(relpath));
	if (had == NAME_FILE)
		return refuse(ex, raw,
			      type == NAME_FILE ? "the same file is earlier in the archive"
						: "it is a file earlier in the archive",
			      err);
	if (had == NAME_DIR && type == NAME_FILE)
		return refuse(ex, raw, "it is a folder earlier in the archive", err);
	if (had)
		return 0;
	return names_add(&ex->names, relpath, strlen(relpath), type, err);
}

/* archive_name.h */
char *ap_archive_entry_name(struct archive_entry *e)
{
	const char *s;

	if (ap_fsx_wide_names()) {
		const wchar_t *w = archive_entry_pathname_w(e);

		return w ? ap_fsx_wide_to_utf8(w) : NULL;
	}
	s = archive_entry_pathname(e);
	if (!s)
		return NULL;
	return ap_strdup(s);
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
			 ap_str_quoted(link, qt, sizeof(qt)));
		return refuse(ex, raw, why, err);
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
		return 0;
	case AE_IFLNK:
		link = archive_entry_symlink(e);
		snprintf(why, sizeof(why), "it is a symlink to '%s'",
			 ap_str_quoted(link ? link : "", qt, sizeof(qt)));
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

static bool dir_made(struct extractor *ex, const char *path, size_t len)
{
	size_t i;

	for (i = ex->dirs.n; i-- > 0;) {
		if (strlen(ex->dirs.v[i]) == len && memcmp(ex->dirs.v[i], path, len) == 0)
			return true;
	}
	return false;
}

static int remember_dir(struct extractor *ex, const char *path, size_t len, int64_t mtime,
			struct ap_err *err)
{
	if (ex->dirs.n == ex->dir_cap) {
		size_t cap = ex->dir_cap ? ex->dir_cap * 2 : 16;
		int64_t *v = realloc(ex->dir_mtime, cap * sizeof(*v));

		if (!v)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		ex->dir_mtime = v;
		ex->dir_cap = cap;
	}
	if (ap_strvec_push_nodup(&ex->dirs, ap_strndup(path, len)))
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	ex->dir_mtime[ex->dirs.n - 1] = mtime;
	return 0;
}

/* Make the folder path[0..len) of mode 0755; its time is set at the end
 * (finish_disk), after the files made in it. */
static int write_dir(struct extractor *ex, const char *path, size_t len, int64_t mtime,
		     struct ap_err *err)
{
	int rc = remember_dir(ex, path, len, mtime, err);

	if (rc < 0)
		return rc;
	rc = ap_fsx_tree_mkdir(ex->tree, ex->dirs.v[ex->dirs.n - 1], DIR_MODE, err);
	if (rc < 0)
		ap_err_prefix(err, "extracting '%s'", ex->archive_path);
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

static void hash_zeros(struct ap_digest *h, uint64_t n)
{
	static const unsigned char zeros[4096];

	while (n > 0) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);

		ap_digest_update(h, zeros, k);
		n -= k;
	}
}

/* Stream the current entry's data: hash it and, when extracting, write it.
 * Sparse holes count as zeros. */
/* The total a signed manifest allows, 0 for no limit. */
static uint64_t expanded_cap(const struct extractor *ex)
{
	if (!ex->x)
		return 0;
	return ex->x->has_expanded ? ex->x->expanded_size : ex->x->max_expanded;
}

/* May the current file grow to end bytes?  Checked before the bytes are
 * hashed or written, so a bomb stops at its first byte past the limit. */
static int check_growth(struct extractor *ex, const char *relpath, uint64_t end, struct ap_err *err)
{
	uint64_t cap = expanded_cap(ex);

	if (cap == 0 && !(ex->x && ex->x->has_expanded))
		return 0;
	if (end > cap || ex->total > cap - end)
		return ap_err_set(
			err, AP_E_TOOBIG,
			"'%s' expands past %llu bytes at '%s': %s %llu bytes in all",
			ex->archive_path, (unsigned long long)cap, relpath,
			ex->x->has_expanded
				? (ex->x->says ? ex->x->says : "expected")
				: "a release manifest without \"expanded\" allows at most",
			(unsigned long long)cap);
	return 0;
}

static int copy_data(struct extractor *ex, struct archive_entry *e, const char *relpath,
		     struct ap_fsx_tree_file *out, uint64_t *size_out, struct ap_err *err)
{
	uint64_t pos = 0;
	int rc;

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
		if ((uint64_t)off + len < (uint64_t)off)
			return ap_err_set(err, AP_E_BUNDLE, "reading '%s' of '%s': bad offset",
					  relpath, ex->archive_path);
		rc = check_growth(ex, relpath, (uint64_t)off + len, err);
		if (rc < 0)
			return rc;
		hash_zeros(ex->hash, (uint64_t)off - pos);
		ap_digest_update(ex->hash, buf, len);
		pos = (uint64_t)off + len;
		if (out) {
			rc = ap_fsx_tree_write(out, buf, len, (uint64_t)off, err);
			if (rc < 0) {
				ap_err_prefix(err, "extracting '%s'", ex->archive_path);
				return rc;
			}
		}
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (uint64_t)archive_entry_size(e) > pos) {
		rc = check_growth(ex, relpath, (uint64_t)archive_entry_size(e), err);
		if (rc < 0)
			return rc;
		hash_zeros(ex->hash, (uint64_t)archive_entry_size(e) - pos);
		pos = (uint64_t)archive_entry_size(e);
	}
	ex->total += pos;
	*size_out = pos;
	return 0;
}

/* The caller makes the tree durable in one go (x->defer_sync). */
static bool deferred_sync(const struct extractor *ex)
{
	return ex->x && ex->x->defer_sync;
}

/* Create relpath's file (after its parents) for the current entry. */
static int create_file(struct extractor *ex, const char *relpath, unsigned mode,
		       struct ap_fsx_tree_file **out, struct ap_err *err)
{
	int rc = make_parents(ex, relpath, err);

	if (rc < 0)
		return rc;
	rc = ap_fsx_tree_create(ex->tree, relpath, mode, out, err);
	if (rc < 0)
		ap_err_prefix(err, "extracting '%s'", ex->archive_path);
	return rc;
}

/* Size, time and start (or finish) the durability of a written file. */
static int finish_file(struct extractor *ex, struct archive_entry *e, const char *relpath,
		       struct ap_fsx_tree_file *out, uint64_t size, struct ap_err *err)
{
	bool set_time = true;
	int64_t sec = ex->mtime;
	long nsec = 0;
	int rc;

	if (ex->mtime < 0) {
		set_time = archive_entry_mtime_is_set(e) != 0;
		sec = (int64_t)archive_entry_mtime(e);
		nsec = archive_entry_mtime_nsec(e);
	}
	rc = ap_fsx_tree_finish(out, size, set_time, sec, nsec, !deferred_sync(ex), err);
	if (rc < 0)
		ap_err_prefix(err, "extracting '%s' of '%s'", relpath, ex->archive_path);
	return rc;
}

static int do_file(struct extractor *ex, struct archive_entry *e, const char *relpath,
		   struct ap_err *err)
{
	struct ap_fsx_tree_file *out = NULL;
	char hex[AP_SHA256_HEX];
	unsigned mode = file_mode(ex, e);
	uint64_t size = 0;
	int rc;

	rc = check_conflict(ex, relpath, relpath, NAME_FILE, err);
	if (rc < 0)
		return rc;
	if (ex->x && ex->x->has_expanded && ex->n_files >= ex->x->expanded_files)
		return ap_err_set(err, AP_E_TOOBIG, "'%s' has more files than %s: %llu (at '%s')",
				  ex->archive_path, ex->x->says ? ex->x->says : "expected",
				  (unsigned long long)ex->x->expanded_files, relpath);
	ex->n_files++;
	ap_digest_reset(ex->hash);
	if (ex->tree) {
		rc = create_file(ex, relpath, mode, &out, err);
		if (rc < 0)
			return rc;
	}
	/* Every byte is hashed in the read that writes it. */
	rc = copy_data(ex, e, relpath, out, &size, err);
	if (rc < 0) {
		ap_fsx_tree_abort(out);
		return rc;
	}
	if (out) {
		rc = finish_file(ex, e, relpath, out, size, err);
		if (rc < 0)
			return rc;
	}
	ap_digest_final_hex(ex->hash, hex);
	if (!ex->cb)
		return 0;
	rc = ex->cb(ex->ctx, relpath, mode, size, hex, err);
	if (rc != 0 && (rc > 0 || (err && err->code == 0)))
		rc = ap_err_set(err, rc < 0 ? rc : AP_E_USAGE,
				"extracting '%s' of '%s': stopped by the caller", relpath,
				ex->archive_path);
	return rc;
}

static int do_dir(struct extractor *ex, struct archive_entry *e, const char *relpath,
		  struct ap_err *err)
{
	int64_t mtime = ex->mtime;
	int rc;

	rc = check_conflict(ex, relpath, relpath, NAME_DIR, err);
	if (rc < 0)
		return rc;
	if (!ex->tree)
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
		raw = ap_archive_entry_name(e);
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

/* ---- checked reading of the archive file ---- */

static const char *says(const struct extractor *ex)
{
	return ex->x->says ? ex->x->says : "expected";
}

/* Hash and count n bytes just read from the archive file; past the
 * expected size is AP_E_DIGEST at once. */
static int src_take(struct extractor *ex, const void *buf, size_t n, struct ap_err *err)
{
	if (ex->x->has_size && (n > ex->x->size || ex->src_done > ex->x->size - n)) {
		ap_err_set(err, AP_E_DIGEST, "'%s' is larger than the %llu bytes %s",
			   ex->archive_path, (unsigned long long)ex->x->size, says(ex));
		if (ex->x->changed)
			ap_err_prefix(err, "%s", ex->x->changed);
		return AP_E_DIGEST;
	}
	ap_digest_update(ex->src_hash, buf, n);
	ex->src_done += n;
	return 0;
}

/* Read up to READ_BLOCK bytes of the archive file into ex->block, hashed. */
static int src_read(struct extractor *ex, size_t *got, struct ap_err *err)
{
	size_t n = fread(ex->block, 1, READ_BLOCK, ex->fp);

	if (n == 0 && ferror(ex->fp))
		return ap_err_sys(err, AP_E_IO, "cannot read archive '%s'", ex->archive_path);
	*got = n;
	return src_take(ex, ex->block, n, err);
}

/* All bytes read: compare the size and the sha256 with the expectation. */
static int src_check(struct extractor *ex, struct ap_err *err)
{
	char hex[AP_SHA256_HEX];

	int rc = 0;

	ex->src_checked = true;
	ap_digest_final_hex(ex->src_hash, hex);
	if (ex->x->has_size && ex->src_done != ex->x->size)
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' is %llu bytes, %s %llu", ex->archive_path,
				(unsigned long long)ex->src_done, says(ex),
				(unsigned long long)ex->x->size);
	else if (ex->x->sha256 && !ap_digest_eq(hex, ex->x->sha256))
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' has sha256 %s, %s %s", ex->archive_path,
				hex, says(ex), ex->x->sha256);
	if (rc < 0 && ex->x->changed)
		ap_err_prefix(err, "%s", ex->x->changed);
	return rc;
}

/* Streamed: after the last entry, read (and hash) what libarchive left. */
static int src_drain(struct extractor *ex, struct ap_err *err)
{
	size_t n;
	int rc;

	ex->pending = 0;
	do {
		rc = src_read(ex, &n, err);
	} while (rc == 0 && n > 0);
	return rc == 0 ? src_check(ex, err) : rc;
}

/* Zip and 7z are read from their central directory, by seeking: they are
 * copied into an unnamed private file first (hashed on the way) and read
 * from there, so every byte libarchive sees is one that was hashed. */
static bool needs_seeking(const unsigned char *p, size_t n)
{
	static const unsigned char seven_z[6] = { '7', 'z', 0xbc, 0xaf, 0x27, 0x1c };

	if (n >= 4 && p[0] == 'P' && p[1] == 'K' &&
	    ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6) || (p[2] == 7 && p[3] == 8)))
		return true;
	return n >= sizeof(seven_z) && memcmp(p, seven_z, sizeof(seven_z)) == 0;
}

static int spool_write(struct extractor *ex, size_t n, struct ap_err *err)
{
	if (n > 0 && fwrite(ex->block, 1, n, ex->spool) != n) {
		if (errno == ENOSPC)
			return ap_err_set(err, AP_E_IO,
					  "copying '%s' to a private file: no space left on device",
					  ex->archive_path);
		return ap_err_sys(err, AP_E_IO, "copying '%s' to a private file", ex->archive_path);
	}
	return 0;
}

static int open_checked(struct extractor *ex, struct ap_err *err)
{
	size_t n;
	int rc;

	ex->src_hash = ap_digest_new();
	if (!ex->src_hash)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = src_read(ex, &n, err);
	if (rc < 0)
		return rc;
	if (!needs_seeking(ex->block, n)) {
		ex->streamed = true;
		ex->pending = n;
		return 0;
	}
	if (ex->x->spool_dir)
		rc = ap_fsx_tmpfile_in(ex->x->spool_dir, &ex->spool, err);
	else
		rc = ap_fsx_memstream(&ex->spool, err);
	while (rc == 0 && n > 0) {
		rc = spool_write(ex, n, err);
		if (rc == 0)
			rc = src_read(ex, &n, err);
	}
	if (rc == 0)
		rc = src_check(ex, err);
	if (rc == 0 && (fflush(ex->spool) != 0 || fseeko(ex->spool, 0, SEEK_SET) != 0))
		rc = errno == ENOSPC ? ap_err_set(err, AP_E_IO,
						  "copying '%s' to a private file: no space left "
						  "on device",
						  ex->archive_path)
				     : ap_err_sys(err, AP_E_IO, "copying '%s' to a private file",
						  ex->archive_path);
	return rc;
}

/* The file libarchive reads with seeking: the archive itself when it is
 * not checked, else the private copy. */
static FILE *seekable(struct extractor *ex)
{
	return ex->spool ? ex->spool : ex->fp;
}

static la_ssize_t stream_read_cb(struct archive *a, void *data, const void **buf)
{
	struct extractor *ex = data;
	size_t n;

	if (ex->pending) {
		n = ex->pending;
		ex->pending = 0;
		*buf = ex->block;
		return (la_ssize_t)n;
	}
	ex->src_rc = src_read(ex, &n, &ex->src_err);
	if (ex->src_rc < 0) {
		archive_set_error(a, EIO, "%s", ex->src_err.msg);
		return -1;
	}
	*buf = ex->block;
	return (la_ssize_t)n;
}

static la_ssize_t read_cb(struct archive *a, void *data, const void **buf)
{
	struct extractor *ex = data;
	size_t n = fread(ex->block, 1, READ_BLOCK, seekable(ex));

	if (n == 0 && ferror(seekable(ex))) {
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

	if (fseeko(seekable(ex), (off_t)offset, whence) != 0 || (pos = ftello(seekable(ex))) < 0) {
		archive_set_error(a, errno ? errno : EIO, "seek error");
		return ARCHIVE_FATAL;
	}
	return (la_int64_t)pos;
}

static la_int64_t skip_cb(struct archive *a, void *data, la_int64_t request)
{
	struct extractor *ex = data;

	if (fseeko(seekable(ex), (off_t)request, SEEK_CUR) != 0) {
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
	if (ex->x) {
		int rc = open_checked(ex, err);

		if (rc < 0)
			return rc;
	}
	/* Streamed, libarchive gets no seek or skip: it skips by reading,
	 * so every byte passes through the hash once, in order. */
	if (ex->streamed) {
		if (archive_read_set_read_callback(ex->in, stream_read_cb) != ARCHIVE_OK ||
		    archive_read_set_callback_data(ex->in, ex) != ARCHIVE_OK ||
		    archive_read_open1(ex->in) != ARCHIVE_OK) {
			const char *msg = archive_error_string(ex->in);

			if (ex->src_rc < 0)
				return ap_err_set(err, ex->src_rc, "%s", ex->src_err.msg);
			return ap_err_set(err, AP_E_BUNDLE, "cannot read archive '%s': %s",
					  ex->archive_path, msg ? msg : "unknown libarchive error");
		}
	} else if (archive_read_set_read_callback(ex->in, read_cb) != ARCHIVE_OK ||
		   archive_read_set_seek_callback(ex->in, seek_cb) != ARCHIVE_OK ||
		   archive_read_set_skip_callback(ex->in, skip_cb) != ARCHIVE_OK ||
		   archive_read_set_callback_data(ex->in, ex) != ARCHIVE_OK ||
		   archive_read_open1(ex->in) != ARCHIVE_OK) {
		const char *msg = archive_error_string(ex->in);

		return ap_err_set(err, AP_E_BUNDLE, "cannot read archive '%s': %s",
				  ex->archive_path, msg ? msg : "unknown libarchive error");
	}
	ex->hash = ap_digest_new();
	if (!ex->hash)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

static void release(struct extractor *ex)
{
	if (ex->in)
		archive_read_free(ex->in);
	if (ex->fp)
		fclose(ex->fp);
	if (ex->spool)
		fclose(ex->spool);
	free(ex->block);
	ap_digest_free(ex->hash);
	ap_digest_free(ex->src_hash);
	names_release(&ex->names);
	names_release(&ex->folded);
	ap_strvec_release(&ex->dirs);
	free(ex->dir_mtime);
	ap_fsx_tree_close(ex->tree);
}

/* Set the time of every folder made (now that nothing more is made in
 * them) and, unless the caller syncs the tree, fsync each, then dest. */
static int finish_disk(struct extractor *ex, struct ap_err *err)
{
	bool sync = !deferred_sync(ex);
	size_t i;
	int rc;

	for (i = 0; i < ex->dirs.n; i++) {
		if (ex->dir_mtime[i] < 0 && !sync)
			continue;
		rc = ap_fsx_tree_dir_done(ex->tree, ex->dirs.v[i], ex->dir_mtime[i], sync, err);
		if (rc < 0)
			return rc;
	}
	return sync ? ap_fsx_tree_dir_done(ex->tree, "", -1, true, err) : 0;
}

/* After the last entry: the whole archive file was what was expected, and
 * it expanded to exactly what was expected. */
static int check_end(struct extractor *ex, struct ap_err *err)
{
	int rc = 0;

	if (ex->streamed)
		rc = src_drain(ex, err);
	if (rc == 0 && ex->x && ex->x->has_expanded &&
	    (ex->total != ex->x->expanded_size || ex->n_files != ex->x->expanded_files))
		rc = ap_err_set(err, AP_E_DIGEST,
				"'%s' expands to %llu bytes in %llu file%s, %s "
				"%llu bytes in %llu file%s",
				ex->archive_path, (unsigned long long)ex->total,
				(unsigned long long)ex->n_files, ex->n_files == 1 ? "" : "s",
				says(ex), (unsigned long long)ex->x->expanded_size,
				(unsigned long long)ex->x->expanded_files,
				ex->x->expanded_files == 1 ? "" : "s");
	return rc;
}

int ap_extract_archive(const char *archive_path, const char *dest_dir, int64_t mtime,
		       ap_extract_cb cb, void *ctx, struct ap_err *err)
{
	return ap_extract_checked(archive_path, dest_dir, mtime, NULL, cb, ctx, err);
}

int ap_extract_checked(const char *archive_path, const char *dest_dir, int64_t mtime,
		       const struct ap_extract_expect *x, ap_extract_cb cb, void *ctx,
		       struct ap_err *err)
{
	struct extractor ex = { 0 };
	int rc;

	ex.x = x;
	ex.windows_names = x && x->windows_names;
	ex.archive_path = archive_path;
	ex.mtime = mtime;
	ex.cb = cb;
	ex.ctx = ctx;

	rc = open_reader(&ex, err);
	if (rc < 0)
		goto out;
	if (x && x->dest_root)
		rc = ap_fsx_tree_open_under(x->dest_root, dest_dir, &ex.tree, err);
	else
		rc = ap_fsx_tree_open(dest_dir, &ex.tree, err);
	if (rc < 0) {
		ap_err_prefix(err, "extracting '%s'", archive_path);
		goto out;
	}
	rc = run(&ex, err);
	if (rc < 0 && ex.src_rc < 0 && err)
		*err = ex.src_err;
	if (rc == 0)
		rc = check_end(&ex, err);
	if (rc == 0) {
		rc = finish_disk(&ex, err);
		if (rc < 0)
			ap_err_prefix(err, "extracting '%s' into '%s'", archive_path, dest_dir);
	}
out:
	/* A streamed archive that failed half way (unreadable, unsafe entry):
	 * when its bytes are not the expected ones either, that is the cause
	 * to report, whatever the bytes made libarchive say. */
	if (rc < 0 && rc != AP_E_DIGEST && rc != AP_E_NOMEM && ex.streamed && ex.src_rc == 0 &&
	    !ex.src_checked) {
		struct ap_err why = AP_ERR_INIT;

		if (src_drain(&ex, &why) == AP_E_DIGEST)
			rc = ap_err_set(err, AP_E_DIGEST, "%s", why.msg);
	}
	release(&ex);
	return rc;
}

int ap_extract_list(const char *archive_path, ap_extract_cb cb, void *ctx, struct ap_err *err)
{
	struct extractor ex = { 0 };
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

int ap_extract_measure(const char *archive_path, uint64_t *size, uint64_t *files,
		       struct ap_err *err)
{
	return ap_extract_measure_names(archive_path, false, size, files, err);
}

int ap_extract_measure_names(const char *archive_path, bool windows_names, uint64_t *size,
			     uint64_t *files, struct ap_err *err)
{
	struct extractor ex = { 0 };
	int rc;

	ex.windows_names = windows_names;
	ex.archive_path = archive_path;
	ex.mtime = -1;
	rc = open_reader(&ex, err);
	if (rc == 0)
		rc = run(&ex, err);
	if (rc == 0) {
		*size = ex.total;
		*files = ex.n_files;
	}
	release(&ex);
	return rc;
}
