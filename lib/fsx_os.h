/* fsx_os.h - what the portable fsx.c needs from the OS part (fsx_posix.c or
 * fsx_win.c), and what they share.  Private to lib/. */
#ifndef AP_FSX_OS_H
#define AP_FSX_OS_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include "airpack/err.h"
#include "airpack/fsx.h"
#include "airpack/str.h"

/* True for a path separator: '/' (and '\\' on Windows). */
bool ap_fsx_os_is_sep(char c);
/* mkdir that accepts an existing folder (but not an existing file). */
int ap_fsx_os_mkdir_one(const char *path, unsigned mode, struct ap_err *err);
/* The vector ap_fsx_list_dir hands out, built by both OS parts: names are
 * added one by one (the list takes ownership, also on failure; a NULL name
 * means the copy ran out of memory), then finish sorts them bytewise and
 * hands over a NULL-terminated vector (empty when nothing was added). */
int ap_fsx_names_add(struct ap_strvec *l, char *name, const char *path, struct ap_err *err);
int ap_fsx_names_finish(struct ap_strvec *l, char ***names, size_t *n, const char *path,
			struct ap_err *err);
/* ap_fsx_mkdirs_noted's work: make each missing component of rel under
 * root (mode), calling made (may be NULL) for each one made; a component
 * that is a symlink is AP_E_UNSAFE (POSIX: mkdirat/openat O_NOFOLLOW from
 * the root's fd; Windows: a reparse point is refused). */
int ap_fsx_os_mkdirs_under(const char *root, const char *rel, unsigned mode, ap_fsx_made_fn made,
			   void *ctx, struct ap_err *err);

/* ap_fsx_afile_commit's last step: tmp (closed and synced) takes path's
 * place durably (POSIX: rename, then the folder's fsync; Windows: MoveFileEx
 * with write-through); when the switch fails tmp is removed. */
int ap_fsx_os_replace_temp(const char *tmp, const char *path, struct ap_err *err);
/* Remove an atomic file's temporary (no error: it may be gone already). */
void ap_fsx_os_remove_temp(const char *tmp);

/* ap_fsx_sync_tree's fast way: one call that makes the whole file system
 * holding path durable (Linux: syncfs).  *done false (and 0): the OS has
 * none, the caller fsyncs the tree file by file. */
int ap_fsx_os_sync_fs(const char *path, bool *done, struct ap_err *err);

/* ap_fsx_afile_sync_start's thread: start an fdatasync of fp's file
 * (already flushed) on a second thread, *out its handle; *out NULL (and 0)
 * where there is no such thread (Windows, a build without the hashing
 * thread) or none could be started: the caller's own fsync does the work.
 * flush_wait joins it and frees it: 0, or the errno of a failed sync. */
void ap_fsx_os_flush_start(FILE *fp, struct ap_fsx_flush **out);
int ap_fsx_os_flush_wait(struct ap_fsx_flush *fl);

#endif
