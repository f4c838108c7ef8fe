/* fsx.h - durable, portable file operations.
 *
 * Every OS-specific file call airpack makes lives behind this header (and
 * process.h): fsx.c holds the portable part, fsx_posix.c and fsx_win.c the
 * OS calls.  Paths are UTF-8 everywhere; on Windows they are converted to
 * UTF-16 at the OS call, and both '/' and '\\' separate components.
 * "Atomic" means: written to a temporary name in the same folder, fsynced,
 * renamed over the final name, and the folder fsynced, so the final name
 * holds either the old bytes or the complete new ones.  (Windows has no
 * folder fsync: the rename is made with MOVEFILE_WRITE_THROUGH instead.)
 */
#ifndef AP_FSX_H
#define AP_FSX_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <wchar.h>
#include "airpack/err.h"

/* Write a whole buffer atomically with the given mode. */
int ap_fsx_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
			struct ap_err *err);

/* A file being written under a temporary name, made visible by commit. */
struct ap_fsx_flush;
struct ap_fsx_afile {
	char *path;		    /* final name */
	char *tmp;		    /* temporary name in the same folder */
	FILE *fp;		    /* open for writing and reading back (binary, "w+b") */
	struct ap_fsx_flush *flush; /* a sync started by ap_fsx_afile_sync_start */
};
/* clang-format off */
#define AP_AFILE_INIT { NULL, NULL, NULL, NULL }
/* clang-format on */

/* Create PATH's temporary sibling (PATH.tmp-XXXXXX) with mode.  On Windows,
 * where modes do not exist, a mode with no group or other bits (0600) makes
 * the file private: its access list gives SYSTEM and Administrators full
 * control and nobody else anything, with nothing inherited; any other mode
 * leaves the access the folder passes on. */
int ap_fsx_afile_open(struct ap_fsx_afile *f, const char *path, unsigned mode, struct ap_err *err);
int ap_fsx_afile_write(struct ap_fsx_afile *f, const void *data, size_t len, struct ap_err *err);
/* Flush, fsync, rename over PATH, fsync the folder.  Releases f either way
 * (on failure the temporary file is removed). */
int ap_fsx_afile_commit(struct ap_fsx_afile *f, struct ap_err *err);
/* Start making what f holds so far durable while the caller goes on (reads
 * it back to hash it, say): the data is flushed from the stream and an
 * fdatasync runs on a second thread (builds with the hashing thread,
 * AP_HASH_THREAD); commit waits for it, reports its error, and still
 * fsyncs what was written after.  Elsewhere, or when no thread can be
 * started, it only flushes the stream and commit does all the syncing.
 * A second call waits for the first sync before starting its own. */
int ap_fsx_afile_sync_start(struct ap_fsx_afile *f, struct ap_err *err);
/* Remove the temporary file and release f.  Safe on an unopened/released f. */
void ap_fsx_afile_abort(struct ap_fsx_afile *f);

/* True when name (a bare file name) is a temporary name ap_fsx_afile_open
 * makes: BASE ".tmp-" and exactly 6 letters or digits, with a non-empty
 * BASE.  With base non-NULL, BASE must be exactly base. */
bool ap_fsx_is_temp_name(const char *name, const char *base);

/* Remove from folder dir every regular file that ap_fsx_is_temp_name
 * (name, base) calls a temporary: what a killed writer left behind.  Only
 * that fixed pattern is touched; folders, links and every other name stay.
 * A missing dir is not an error.  *removed (may be NULL) gets the count.
 * Run it only where no other writer of those names can be at work (under
 * the caller's lock, or for names only this run writes). */
int ap_fsx_remove_temps(const char *dir, const char *base, size_t *removed, struct ap_err *err);

/* Remove from folder dir every regular file whose name pick(ctx, name)
 * says true for (folders, links and other names stay), telling each one
 * to on_removed (may be NULL), then fsync dir if any went.  *removed (may
 * be NULL) gets the count.  The one loop under ap_fsx_remove_temps and
 * an offline folder's clean-up (ap_layout_clean). */
int ap_fsx_remove_files(const char *dir, bool (*pick)(void *ctx, const char *name),
			void (*on_removed)(void *ctx, const char *name), void *ctx, size_t *removed,
			struct ap_err *err);

/* fsync an open stdio stream's file (after fflush). */
int ap_fsx_fsync_fp(FILE *fp, const char *what, struct ap_err *err);
/* fsync a file by path (opened read-only). */
int ap_fsx_fsync_path(const char *path, struct ap_err *err);
/* fsync a folder so renames and creations in it are durable (Windows: checks
 * that the folder exists and does nothing more; see above). */
int ap_fsx_fsync_dir(const char *path, struct ap_err *err);
/* fsync the folder holding path. */
int ap_fsx_fsync_parent(const char *path, struct ap_err *err);

/* Durability in batches (the way dpkg makes an unpacked tree durable):
 * write many files without an fsync each (ap_fsx_tree_finish starts a big
 * one's writeback at once), then make the whole tree durable once
 * (ap_fsx_sync_tree) before anything depends on it.
 *
 * ap_fsx_sync_tree: make every file and folder under the folder path (and
 * path itself) durable.  Linux: one syncfs of path's file system (which
 * also reports a writeback error of any file written on it since path was
 * opened); elsewhere: each file and folder under path fsynced (Windows:
 * each file flushed), deepest first.  Symlinks are not followed.  Errors
 * name the file. */
int ap_fsx_sync_tree(const char *path, struct ap_err *err);

/* Rename, replacing the target; then fsync the target's folder (and the
 * source's when it differs). */
int ap_fsx_rename(const char *from, const char *to, struct ap_err *err);

/* mkdir -p with mode for created folders. */
int ap_fsx_mkdir_p(const char *path, unsigned mode, struct ap_err *err);

/* Called by ap_fsx_mkdirs_noted for each folder it made (relative to the
 * root, outermost first); a negative return stops it. */
typedef int (*ap_fsx_made_fn)(void *ctx, const char *rel, struct ap_err *err);

/* mkdir -p ROOT/rel (mode 0755), telling made about every folder that did
 * not exist before, so a caller can later restore or remove exactly those.
 * A component of rel that is a symlink (even to a folder) is refused
 * (AP_E_UNSAFE naming it), as by the *_under functions below. */
int ap_fsx_mkdirs_noted(const char *root, const char *rel, ap_fsx_made_fn made, void *ctx,
			struct ap_err *err);

/* mkdir -p ROOT/rel with mode for the folders it makes, refusing a
 * symlinked component of rel as ap_fsx_mkdirs_noted does. */
int ap_fsx_mkdirs_under(const char *root, const char *rel, unsigned mode, struct ap_err *err);

/* Under a root: rel (relative, '/'-separated) inside the folder root, which
 * is the caller's and is opened as given.  No component of rel is followed
 * when it is a symlink (a reparse point on Windows): one in rel's folder
 * part is AP_E_UNSAFE naming it ("'opt/x' under the root 'R' is a
 * symlink"), so nothing outside the root is read, changed or removed
 * through a symlink planted inside it.  The last component is never
 * followed either.  POSIX works from the root's folder fd (openat2 with
 * RESOLVE_BENEATH where the kernel has it, else openat O_NOFOLLOW per
 * component); Windows checks each component before the call.  A missing
 * component (or a file where a folder should be) is "not there". */

struct ap_stat;

/* lstat of root/rel: AP_FT_NONE (and 0) when not there. */
int ap_fsx_stat_under(const char *root, const char *rel, struct ap_stat *st, struct ap_err *err);
/* Open root/rel for reading when it is a regular file (*out, the caller's
 * to fclose), with *st from that open file; otherwise *out is NULL and *st
 * says what is there (AP_FT_NONE, AP_FT_LINK, ...). */
int ap_fsx_open_under(const char *root, const char *rel, FILE **out, struct ap_stat *st,
		      struct ap_err *err);
/* Remove root/rel (not a folder); not there is not an error. */
int ap_fsx_unlink_under(const char *root, const char *rel, struct ap_err *err);
/* Remove the empty folder root/rel; AP_E_EXISTS when not empty; not there
 * is not an error. */
int ap_fsx_rmdir_under(const char *root, const char *rel, struct ap_err *err);
/* Remove root/rel and everything in it (a symlink is removed, not followed). */
int ap_fsx_rm_rf_under(const char *root, const char *rel, struct ap_err *err);
/* The names in folder root/rel ("" for the root), sorted as ap_fsx_list_dir. */
int ap_fsx_list_dir_under(const char *root, const char *rel, char ***names, size_t *n,
			  struct ap_err *err);
/* Only the folders in root/rel (symlinks to folders are not), sorted: from
 * the listing's entry types, no stat per entry where the file system gives
 * them (a tree of many files is walked for its folders in one read of each
 * folder). */
int ap_fsx_list_subdirs_under(const char *root, const char *rel, char ***names, size_t *n,
			      struct ap_err *err);
/* ap_fsx_list_dir_under with each entry's lstat (*sts, n of them, the
 * caller's to free; AP_FT_NONE for one gone meanwhile), taken from the one
 * folder opened for the listing: what a walk needs without opening the
 * path again per entry. */
int ap_fsx_list_dir_under_stat(const char *root, const char *rel, char ***names,
			       struct ap_stat **sts, size_t *n, struct ap_err *err);

/* Remove a file; a missing file is not an error. */
int ap_fsx_unlink(const char *path, struct ap_err *err);
/* Remove an empty folder; missing is not an error; AP_E_EXISTS if not empty. */
int ap_fsx_rmdir(const char *path, struct ap_err *err);
/* Remove a tree (no symlinks followed); missing is not an error. */
int ap_fsx_rm_rf(const char *path, struct ap_err *err);

enum ap_ftype {
	AP_FT_NONE,
	AP_FT_FILE,
	AP_FT_DIR,
	AP_FT_LINK,
	AP_FT_OTHER
};

struct ap_stat {
	enum ap_ftype type;
	uint64_t size;
	unsigned mode; /* permission bits */
	int64_t mtime;
};

/* lstat; a missing path gives type AP_FT_NONE and returns 0. */
int ap_fsx_stat(const char *path, struct ap_stat *st, struct ap_err *err);
bool ap_fsx_is_dir(const char *path);
bool ap_fsx_is_file(const char *path);
/* True when the folder exists and the process may create files in it. */
bool ap_fsx_dir_writable(const char *path);

/* False where the OS keeps no permission bits (Windows): ap_stat.mode is
 * then made up (folders 0755, files 0644, 0444 when read-only) and must
 * not be compared with a recorded mode. */
bool ap_fsx_has_modes(void);

/* Set permission bits (no-op where the OS has none). */
int ap_fsx_chmod(const char *path, unsigned mode, struct ap_err *err);
/* Set the modification time (seconds since the epoch). */
int ap_fsx_set_mtime(const char *path, int64_t mtime, struct ap_err *err);

/* Read a whole file, at most max bytes (more is AP_E_TOOBIG).  *buf is
 * malloc'd and NUL-terminated (the NUL is not counted in *len). */
int ap_fsx_read_file(const char *path, size_t max, char **buf, size_t *len, struct ap_err *err);

/* Open for reading/writing in binary mode; errors name the path.  On
 * failure errno is still the open's, for callers with their own message. */
int ap_fsx_fopen(const char *path, const char *mode, FILE **out, struct ap_err *err);

/* Copy a file (streaming) to dst atomically with mode. */
int ap_fsx_copy_file(const char *src, const char *dst, unsigned mode, struct ap_err *err);

/* List a folder's entry names (not . or ..), sorted bytewise.  *names is a
 * malloc'd array of malloc'd strings; free with ap_fsx_strv_free. */
int ap_fsx_list_dir(const char *path, char ***names, size_t *n, struct ap_err *err);

/* The running executable's path (malloc'd). */
int ap_fsx_self_exe(char **path, struct ap_err *err);

/* a + "/" + b (malloc'd; NULL when out of memory).  An empty a gives b. */
char *ap_fsx_path_join(const char *a, const char *b);
/* Three-part join. */
char *ap_fsx_path_join3(const char *a, const char *b, const char *c);
/* The folder part of path ("." when none), malloc'd. */
char *ap_fsx_path_dirname(const char *path);
/* Pointer to the last component of path (inside path). */
const char *ap_fsx_path_basename(const char *path);

/* Free a NULL-terminated or counted string vector. */
void ap_fsx_strv_free(char **v, size_t n);

/* SOURCE_DATE_EPOCH (reproducible-builds.org/specs/source-date-epoch), read
 * here and nowhere else.  It has one meaning: when set, it is the time
 * airpack records instead of the current one, in everything it writes
 * (bundle entries, installed files, receipts, history, SBOMs), so two runs
 * over the same inputs give the same bytes.
 * Returns 1 with *out the value when it is a decimal integer from 0 to
 * INT64_MAX (digits only), 0 when it is unset or empty (*out untouched),
 * AP_E_USAGE naming the value when it is set to anything else: the
 * programs check it so before doing any work (docs/architecture.md). */
int ap_fsx_source_date_epoch(int64_t *out, struct ap_err *err);

/* Seconds since the epoch for recorded times: SOURCE_DATE_EPOCH when set
 * and valid (ap_fsx_source_date_epoch), otherwise the current time. */
int64_t ap_fsx_now(void);

/* Milliseconds from a monotonic clock (for measuring intervals only);
 * 0 if the OS has none. */
int64_t ap_fsx_monotonic_ms(void);

/* True when stream is a terminal. */
bool ap_fsx_isatty(FILE *fp);

/* Turn a terminal's echo of typed input on or off (a secret is read with
 * it off; line editing stays on, so Enter ends a line).  fp must be a
 * terminal (ap_fsx_isatty); AP_E_IO otherwise or when the OS refuses.  Only
 * the echo setting is changed, so turning it back on restores the terminal;
 * safe to call from a signal handler on POSIX (tcgetattr/tcsetattr). */
int ap_fsx_tty_echo(FILE *fp, bool on, struct ap_err *err);

/* Advisory exclusive lock on a lock file (created if needed).  Returns a
 * handle >= 0 or an error; AP_E_STATE when another process holds it. */
int ap_fsx_lock(const char *path, int *handle, struct ap_err *err);

/* Like ap_fsx_lock; shared locks may be held by several processes at once
 * and exclude an exclusive one.  A shared lock opens an existing lock file
 * read-only when it cannot be opened for writing.  On POSIX the lock is
 * taken again when the file was replaced or removed while waiting for it,
 * so the lock held always is the one at path. */
int ap_fsx_lock_mode(const char *path, bool shared, int *handle, struct ap_err *err);
void ap_fsx_unlock(int handle);

/* The calling process's id (for naming a lock's holder). */
long ap_fsx_pid(void);

/* Pause the calling thread for about ms milliseconds. */
void ap_fsx_sleep_ms(unsigned ms);

/* Identity of a file system object, not following a symlink: device and
 * inode on POSIX, volume serial number and file index on Windows.  It
 * survives a rename within the volume. */
struct ap_file_id {
	bool exists; /* false: nothing at the path (dev and ino are 0) */
	uint64_t dev;
	uint64_t ino;
};
int ap_fsx_file_id(const char *path, struct ap_file_id *id, struct ap_err *err);

/* Swap two existing paths atomically (Linux: renameat2 RENAME_EXCHANGE).
 * Where the OS or the file system cannot (Windows, older kernels, some
 * file systems), *unsupported is set, nothing happens and 0 is returned:
 * the caller falls back to two renames it can recover from. */
int ap_fsx_exchange(const char *a, const char *b, bool *unsupported, struct ap_err *err);

/* Hard-link `from` to the new name `to` (a symlink is linked, not
 * followed).  When the file system refuses links (another device or
 * volume, protected links, no link support, too many links) *fallback is
 * set and 0 returned, so the caller can copy instead. */
int ap_fsx_link(const char *from, const char *to, bool *fallback, struct ap_err *err);

/* True when path is absolute: "/x" on POSIX; "C:/x", "C:\\x", "//server/x"
 * or "\\\\server\\x" on Windows. */
bool ap_fsx_path_is_abs(const char *path);

/* path made absolute against the working folder (malloc'd).  An absolute
 * path is returned as it is; a relative one is joined to the working
 * folder ("." gives the working folder itself).  Nothing is resolved
 * through symlinks and the path need not exist.  Windows: a drive-relative
 * or rooted path ("\\x") gets the working folder's drive; separators in
 * the working folder part come back as '/'. */
int ap_fsx_abspath(const char *path, char **out, struct ap_err *err);

/* Writing a new tree of files inside a folder (what extraction does),
 * relative to that folder's handle, never through a symlink and never by
 * the process's working folder.  POSIX holds the folder's fd and creates
 * each entry with mkdirat / openat(O_CREAT|O_EXCL|O_NOFOLLOW) relative to
 * its parent's fd (reached with openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * where the kernel has it, else openat O_NOFOLLOW per component; the last
 * parent's fd is kept, so files of one folder cost one open each); Windows
 * joins the paths and refuses reparse points.  rel is relative and
 * '/'-separated with no '.', '..' or empty components (the caller cleans
 * names).  A symlink met anywhere is AP_E_UNSAFE naming it, never followed
 * nor replaced; errors name rel and the folder.  Single-threaded per tree. */
struct ap_fsx_tree;
/* Open the existing folder dir (missing: AP_E_NOTFOUND naming it). */
int ap_fsx_tree_open(const char *dir, struct ap_fsx_tree **out, struct ap_err *err);
/* Open the existing folder root/rel, as the *_under functions reach it:
 * root as given, no component of rel followed when it is a symlink
 * (AP_E_UNSAFE naming it); missing is AP_E_NOTFOUND. */
int ap_fsx_tree_open_under(const char *root, const char *rel, struct ap_fsx_tree **out,
			   struct ap_err *err);
/* Make folder rel (its parent must exist) with exactly mode; an existing
 * folder is accepted and gets mode, a regular file there is replaced (as
 * tar does), anything else there is AP_E_EXISTS. */
int ap_fsx_tree_mkdir(struct ap_fsx_tree *t, const char *rel, unsigned mode, struct ap_err *err);
/* After the last entry: set folder rel's times to mtime (mtime < 0: leave
 * them) and, with sync, fsync it ("" is the tree's folder itself). */
int ap_fsx_tree_dir_done(struct ap_fsx_tree *t, const char *rel, int64_t mtime, bool sync,
			 struct ap_err *err);
/* Release t (NULL is a no-op). */
void ap_fsx_tree_close(struct ap_fsx_tree *t);

/* A new file of a tree, open for writing. */
struct ap_fsx_tree_file;
/* Create the new file rel (its parent must exist) with exactly mode, by
 * O_EXCL: a regular file already there is removed first (as tar does), a
 * symlink is AP_E_UNSAFE, anything else (a folder) AP_E_EXISTS. */
int ap_fsx_tree_create(struct ap_fsx_tree *t, const char *rel, unsigned mode,
		       struct ap_fsx_tree_file **out, struct ap_err *err);
/* Write n bytes at offset off (offsets may skip ahead: a hole). */
int ap_fsx_tree_write(struct ap_fsx_tree_file *f, const void *buf, size_t n, uint64_t off,
		      struct ap_err *err);
/* Finish the file: size it to size bytes when shorter (a trailing hole),
 * set its access and modification times to sec.nsec when set_time, then
 * with sync fsync it, else, for a file of 1 MiB or more, start its
 * writeback (Linux: sync_file_range; ap_fsx_sync_tree makes it durable
 * later, and writes the small ones in merged runs).  Releases f either way. */
int ap_fsx_tree_finish(struct ap_fsx_tree_file *f, uint64_t size, bool set_time, int64_t sec,
		       long nsec, bool sync, struct ap_err *err);
/* Close f without finishing it (the partial file stays); NULL is a no-op.
 * It also closes a file opened by ap_fsx_tree_open_file. */
void ap_fsx_tree_abort(struct ap_fsx_tree_file *f);

/* Reading and removing the existing files of a tree (what verify and
 * uninstall do with an install root's files), relative to the kept
 * parent's fd like the calls above: a file costs one open, and what is
 * decided about it comes from that open file, never from its name again.
 *
 * ap_fsx_tree_open_file: open rel for reading without following it; *st
 * from the open file (fstat).  Only when it is a regular file is *out set
 * (read it with ap_fsx_tree_read, close it with ap_fsx_tree_abort).  Not
 * there, or its folder not there (or a file), is AP_FT_NONE and 0; a
 * symlink at rel is AP_FT_LINK; a symlink among rel's folders is
 * AP_E_UNSAFE naming it, as for the *_under calls.
 * ap_fsx_tree_read: up to n bytes from the current offset into buf; *got
 * 0 at the end of the file.
 * ap_fsx_tree_unlink: remove rel (not a folder) from its kept parent;
 * not there is not an error.  On Windows close the file first. */
int ap_fsx_tree_open_file(struct ap_fsx_tree *t, const char *rel, struct ap_fsx_tree_file **out,
			  struct ap_stat *st, struct ap_err *err);
int ap_fsx_tree_read(struct ap_fsx_tree_file *f, void *buf, size_t n, size_t *got,
		     struct ap_err *err);
int ap_fsx_tree_unlink(struct ap_fsx_tree *t, const char *rel, struct ap_err *err);

/* A stream that collects what is written to it, read back whole by
 * ap_fsx_memstream_take: what POSIX open_memstream does, which Windows'
 * C runtime lacks (there: a delete-on-close file in the temp folder). */
int ap_fsx_memstream(FILE **out, struct ap_err *err);
/* An unnamed private file (0600) in folder dir, open for reading and
 * writing: nothing can open it by name, and it is gone when fp is closed or
 * the process dies (Linux O_TMPFILE, else a random name removed at once;
 * Windows: a delete-on-close file nobody else may open). */
int ap_fsx_tmpfile_in(const char *dir, FILE **out, struct ap_err *err);

/* Bytes an unprivileged writer may still use on the file system holding
 * path (statvfs f_bavail, GetDiskFreeSpaceExW). */
int ap_fsx_free_space(const char *path, uint64_t *avail, struct ap_err *err);

/* Close fp (from ap_fsx_memstream) and hand over everything written to it:
 * *buf malloc'd and NUL-terminated, *len without the NUL.  fp is closed
 * whatever happens. */
int ap_fsx_memstream_take(FILE *fp, char **buf, size_t *len, struct ap_err *err);

/* Read one line (with its newline, if any) into *line, growing it as
 * needed (*line may start NULL, *cap 0): POSIX getline, which Windows'
 * C runtime lacks.  Returns the length, or -1 at end of file or on a read
 * error (ferror tells which) or when out of memory (errno ENOMEM). */
long ap_fsx_getline(char **line, size_t *cap, FILE *fp);

/* Names inside archives (libarchive) are exact here only in libarchive's
 * wide-character form: true on Windows, whose C runtime has no UTF-8
 * locale, so libarchive's char names pass through the ANSI code page and
 * lose characters.  Elsewhere the char form is used (main() sets a UTF-8
 * locale).  bundle.c and extract.c ask this instead of testing the OS. */
bool ap_fsx_wide_names(void);
/* wchar_t string (UTF-16 where wchar_t has 16 bits, else UTF-32) to UTF-8
 * and back, malloc'd; NULL when the input is not valid or out of memory. */
char *ap_fsx_wide_to_utf8(const wchar_t *w);
wchar_t *ap_fsx_utf8_to_wide(const char *s);

/* Make *argv UTF-8 for main(): on Windows the command line is read again
 * with GetCommandLineW and converted (the C runtime's argv is in the ANSI
 * code page and loses characters); *argc and *argv then point to a vector
 * that lives until exit.  A no-op returning 0 on POSIX, where argv is
 * taken as it is.  On Windows it also sets the console to UTF-8
 * (input and output code pages) until exit. */
int ap_fsx_utf8_args(int *argc, char ***argv, struct ap_err *err);

/* The root an install goes into when none is given: "/" on POSIX; on
 * Windows the system drive's root, "%SystemDrive%\" ("C:\" when the
 * variable is unset), whatever drive the program was started from. */
const char *ap_fsx_default_root(void);

/* This host's name as the network knows it (gethostname; on Windows the
 * computer's DNS host name), into buf (size bytes, NUL-terminated).
 * AP_E_IO when the OS cannot say, AP_E_TOOBIG when it does not fit. */
int ap_fsx_hostname(char *buf, size_t size, struct ap_err *err);

/* True when another program holds path open so that it cannot be moved or
 * deleted (Windows: opening it for DELETE with no sharing is a sharing
 * violation; a running exe, a service's log).  Always false on POSIX, where
 * a file in use can be replaced. */
bool ap_fsx_in_use(const char *path);

/* *is_private: only its owner can read path (POSIX: no group or other
 * bits; Windows: a protected access list allowing only SYSTEM and
 * Administrators, as ap_fsx_afile_open makes it). */
int ap_fsx_is_private(const char *path, bool *is_private, struct ap_err *err);

/* How a file written with mode is protected, in words for messages ("mode
 * 0600"; on Windows "SYSTEM and Administrators only" or "access inherited
 * from its folder"). */
const char *ap_fsx_access_said(unsigned mode, char *buf, size_t n);

#endif
