/* fsx_posix.c - the OS calls of fsx on POSIX systems; see airpack/fsx.h. */
#define _GNU_SOURCE /* renameat2 and RENAME_EXCHANGE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "ap_config.h"
#if AP_HASH_THREAD
#include <pthread.h>
#endif
#ifdef __linux__
#include <sys/auxv.h>
#include <sys/syscall.h>
#if defined(SYS_openat2) && __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define AP_HAVE_OPENAT2 1
#endif
#endif
#ifndef AP_HAVE_OPENAT2
#define AP_HAVE_OPENAT2 0
#endif

#include "airpack/fsx.h"
#include "airpack/testhook.h"
#include "fsx_os.h"
#include "airpack/banned.h"

bool ap_fsx_os_is_sep(char c)
{
	return c == '/';
}

bool ap_fsx_wide_names(void)
{
	return false;
}

bool ap_fsx_has_modes(void)
{
	return true;
}

int ap_fsx_afile_open(struct ap_fsx_afile *f, const char *path, unsigned mode, struct ap_err *err)
{
	static const char suffix[] = ".tmp-XXXXXX";
	size_t n = strlen(path);
	char *tmp = NULL;
	char *final = NULL;
	FILE *fp = NULL;
	int fd = -1;
	int rc = 0;

	tmp = malloc(n + sizeof(suffix));
	final = ap_strdup(path);
	if (!tmp || !final) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", path);
		goto out;
	}
	memcpy(tmp, path, n);
	memcpy(tmp + n, suffix, sizeof(suffix));
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				"cannot create a temporary file for '%s'", path);
		goto out;
	}
	if (fchmod(fd, (mode_t)(mode & 07777)) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot set mode %04o on '%s'", mode, tmp);
		goto out;
	}
	fp = fdopen(fd, "w+b");
	if (!fp) {
		rc = ap_err_sys(err, AP_E_IO, "cannot open '%s' for writing", tmp);
		goto out;
	}
	fd = -1;
	f->path = final;
	f->tmp = tmp;
	f->flush = NULL;
	f->fp = fp;
	return 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(final);
	return rc;
}

int ap_fsx_os_replace_temp(const char *tmp, const char *path, struct ap_err *err)
{
	if (rename(tmp, path) != 0) {
		int rc = ap_err_sys(err, AP_E_IO, "cannot rename '%s' to '%s'", tmp, path);

		unlink(tmp);
		return rc;
	}
	return ap_fsx_fsync_parent(path, err);
}

void ap_fsx_os_remove_temp(const char *tmp)
{
	unlink(tmp);
}

int ap_fsx_fsync_fp(FILE *fp, const char *what, struct ap_err *err)
{
	if (fflush(fp) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot write '%s'", what);
	if (fsync(fileno(fp)) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot fsync '%s'", what);
	return 0;
}

static int fsync_open(const char *path, int flags, const char *what, struct ap_err *err)
{
	int fd = open(path, flags | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot open %s '%s' to fsync it", what, path);
	/* Some file systems refuse fsync on folders; nothing more can be done there. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		rc = ap_err_sys(err, AP_E_IO, "cannot fsync %s '%s'", what, path);
	close(fd);
	return rc;
}

int ap_fsx_fsync_path(const char *path, struct ap_err *err)
{
	return fsync_open(path, O_RDONLY, "file", err);
}

int ap_fsx_fsync_dir(const char *path, struct ap_err *err)
{
	return fsync_open(path, O_RDONLY | O_DIRECTORY, "folder", err);
}

#if AP_HASH_THREAD
struct ap_fsx_flush {
	pthread_t thread;
	int fd;
	int error; /* errno of a failed sync, else 0 */
};

static void *flush_main(void *arg)
{
	struct ap_fsx_flush *fl = arg;

	fl->error = fdatasync(fl->fd) == 0 ? 0 : errno;
	return NULL;
}
#endif

void ap_fsx_os_flush_start(FILE *fp, struct ap_fsx_flush **out)
{
#if AP_HASH_THREAD
	struct ap_fsx_flush *fl = calloc(1, sizeof(*fl));

	*out = NULL;
	if (!fl)
		return;
	fl->fd = fileno(fp);
	if (pthread_create(&fl->thread, NULL, flush_main, fl) != 0) {
		free(fl);
		return;
	}
	*out = fl;
#else
	(void)fp;
	*out = NULL;
#endif
}

int ap_fsx_os_flush_wait(struct ap_fsx_flush *fl)
{
#if AP_HASH_THREAD
	int e;

	if (!fl)
		return 0;
	pthread_join(fl->thread, NULL);
	e = fl->error;
	free(fl);
	return e;
#else
	(void)fl;
	return 0;
#endif
}

int ap_fsx_os_sync_fs(const char *path, bool *done, struct ap_err *err)
{
#ifdef __linux__
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	*done = false;
	if (fd < 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot open folder '%s' to sync it", path);
	if (syncfs(fd) != 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot sync the file system of '%s'", path);
	else
		*done = true;
	close(fd);
	return rc;
#else
	(void)path;
	(void)err;
	*done = false;
	return 0;
#endif
}

int ap_fsx_rename(const char *from, const char *to, struct ap_err *err)
{
	char *dto = NULL;
	char *dfrom = NULL;
	int rc = 0;

	if (rename(from, to) != 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot rename '%s' to '%s'", from, to);
	dto = ap_fsx_path_dirname(to);
	dfrom = ap_fsx_path_dirname(from);
	if (!dto || !dfrom) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory renaming '%s'", from);
		goto out;
	}
	rc = ap_fsx_fsync_dir(dto, err);
	if (rc == 0 && strcmp(dto, dfrom) != 0)
		rc = ap_fsx_fsync_dir(dfrom, err);
out:
	free(dto);
	free(dfrom);
	return rc;
}

int ap_fsx_os_mkdir_one(const char *path, unsigned mode, struct ap_err *err)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno != EEXIST)
		return ap_err_sys(err, AP_E_IO, "cannot create folder '%s'", path);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return ap_err_set(err, AP_E_EXISTS,
				  "cannot create folder '%s': a file with that name exists", path);
	return 0;
}

int ap_fsx_unlink(const char *path, struct ap_err *err)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return ap_err_sys(err, AP_E_IO, "cannot remove '%s'", path);
	return 0;
}

int ap_fsx_rmdir(const char *path, struct ap_err *err)
{
	if (rmdir(path) != 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTEMPTY || errno == EEXIST)
			return ap_err_set(err, AP_E_EXISTS, "cannot remove folder '%s': not empty",
					  path);
		return ap_err_sys(err, AP_E_IO, "cannot remove folder '%s'", path);
	}
	return 0;
}

/* Empty the folder open as dfd (named path, for messages) and close it.
 * Entries are removed relative to dfd, never through a symlink. */
static int rm_tree_fd(int dfd, const char *path, struct ap_err *err)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = ap_err_sys(err, AP_E_IO, "cannot list folder '%s'", path);
		close(dfd);
		return rc;
	}
	for (;;) {
		struct stat st;
		char *child;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				rc = ap_err_sys(err, AP_E_IO, "cannot list folder '%s'", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = ap_fsx_path_join(path, de->d_name);
		if (!child) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory removing '%s'", path);
			break;
		}
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				rc = ap_err_sys(err, AP_E_IO, "cannot stat '%s'", child);
		} else if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0)
				rc = ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", child);
			else
				rc = rm_tree_fd(cfd, child, err);
			if (rc == 0 && unlinkat(dfd, de->d_name, AT_REMOVEDIR) != 0 &&
			    errno != ENOENT)
				rc = ap_err_sys(err, AP_E_IO, "cannot remove folder '%s'", child);
		} else if (unlinkat(dfd, de->d_name, 0) != 0 && errno != ENOENT) {
			rc = ap_err_sys(err, AP_E_IO, "cannot remove '%s'", child);
		}
		free(child);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

int ap_fsx_rm_rf(const char *path, struct ap_err *err)
{
	struct stat st;
	int fd;
	int rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return ap_err_sys(err, AP_E_IO, "cannot stat '%s'", path);
	}
	if (!S_ISDIR(st.st_mode))
		return ap_fsx_unlink(path, err);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", path);
	rc = rm_tree_fd(fd, path, err);
	if (rc < 0)
		return rc;
	if (rmdir(path) != 0 && errno != ENOENT)
		return ap_err_sys(err, AP_E_IO, "cannot remove folder '%s'", path);
	return 0;
}

int ap_fsx_stat(const char *path, struct ap_stat *st, struct ap_err *err)
{
	struct stat s;

	if (lstat(path, &s) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			memset(st, 0, sizeof(*st));
			st->type = AP_FT_NONE;
			return 0;
		}
		return ap_err_sys(err, AP_E_IO, "cannot stat '%s'", path);
	}
	if (S_ISREG(s.st_mode))
		st->type = AP_FT_FILE;
	else if (S_ISDIR(s.st_mode))
		st->type = AP_FT_DIR;
	else if (S_ISLNK(s.st_mode))
		st->type = AP_FT_LINK;
	else
		st->type = AP_FT_OTHER;
	st->size = (uint64_t)s.st_size;
	st->mode = (unsigned)(s.st_mode & 07777);
	st->mtime = (int64_t)s.st_mtime;
	return 0;
}

bool ap_fsx_is_dir(const char *path)
{
	struct stat s;

	return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

bool ap_fsx_is_file(const char *path)
{
	struct stat s;

	return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

bool ap_fsx_dir_writable(const char *path)
{
	return ap_fsx_is_dir(path) && access(path, W_OK | X_OK) == 0;
}

int ap_fsx_chmod(const char *path, unsigned mode, struct ap_err *err)
{
	if (chmod(path, (mode_t)(mode & 07777)) != 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot set mode %04o on '%s'", mode, path);
	return 0;
}

int ap_fsx_set_mtime(const char *path, int64_t mtime, struct ap_err *err)
{
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)mtime;
	ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, path, ts, 0) != 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot set the modification time of '%s'", path);
	return 0;
}

int ap_fsx_fopen(const char *path, const char *mode, FILE **out, struct ap_err *err)
{
	FILE *fp = fopen(path, mode);

	if (!fp) {
		bool reading = mode[0] == 'r';

		int e = errno;
		int rc = ap_err_sys(err, reading && e == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				    "cannot open '%s' for %s", path,
				    reading ? "reading" : "writing");

		errno = e;
		return rc;
	}
	*out = fp;
	return 0;
}

/* True when entry de of the open folder d is a folder (not a symlink to
 * one): the listing's own type where the file system gives it, one lstat
 * from the folder's fd only where it does not (DT_UNKNOWN). */
static bool entry_is_dir(DIR *d, const struct dirent *de)
{
	struct stat s;

#ifdef DT_DIR
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
#endif
	return fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(s.st_mode);
}

/* Every name in the open folder d but "." and "..", sorted (ap_fsx_names_*),
 * or only its folders when dirs_only; errors name the folder path, and root
 * when it is not NULL. */
static int read_names(DIR *d, const char *path, const char *root, bool dirs_only, char ***names,
		      size_t *n, struct ap_err *err)
{
	struct ap_strvec l = AP_STRVEC_INIT;
	struct dirent *de;
	int rc = 0;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0 && root)
				rc = ap_err_sys(err, AP_E_IO, "cannot list folder '%s' under '%s'",
						path, root);
			else if (errno != 0)
				rc = ap_err_sys(err, AP_E_IO, "cannot list folder '%s'", path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (dirs_only && !entry_is_dir(d, de))
			continue;
		rc = ap_fsx_names_add(&l, ap_strdup(de->d_name), path, err);
		if (rc)
			break;
	}
	if (rc == 0)
		rc = ap_fsx_names_finish(&l, names, n, path, err);
	ap_strvec_release(&l);
	return rc;
}

int ap_fsx_list_dir(const char *path, char ***names, size_t *n, struct ap_err *err)
{
	DIR *d;
	int rc;

	d = opendir(path);
	if (!d)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot list folder '%s'", path);
	rc = read_names(d, path, NULL, false, names, n, err);
	closedir(d);
	return rc;
}

/* Without /proc (a chroot holding nothing but the setup, docs/static.md):
 * the path the kernel was given at exec (AT_EXECFN), made absolute against
 * the folder the program started in.  This runs before any chdir. */
static int self_exe_execfn(char **path, struct ap_err *err)
{
#ifdef AT_EXECFN
	const char *fn = (const char *)getauxval(AT_EXECFN);
#else
	const char *fn = NULL;
#endif
	char *abs;

	if (!fn || !*fn)
		return ap_err_set(err, AP_E_IO,
				  "cannot find the running executable: no "
				  "'/proc/self/exe' and no exec path");
	abs = realpath(fn, NULL);
	if (!abs)
		return ap_err_sys(err, AP_E_IO,
				  "cannot find the running executable: no "
				  "'/proc/self/exe' and '%s' does not resolve",
				  fn);
	*path = abs;
	return 0;
}

int ap_fsx_self_exe(char **path, struct ap_err *err)
{
	size_t cap = 256;
	char *buf = NULL;

	for (;;) {
		char *p = realloc(buf, cap);
		ssize_t n;

		if (!p) {
			free(buf);
			return ap_err_set(err, AP_E_NOMEM, "out of memory finding the executable");
		}
		buf = p;
		n = readlink("/proc/self/exe", buf, cap);
		if (n < 0 && (errno == ENOENT || errno == ENOTDIR)) {
			free(buf);
			return self_exe_execfn(path, err);
		}
		if (n < 0) {
			free(buf);
			return ap_err_sys(err, AP_E_IO, "cannot read '/proc/self/exe'");
		}
		if ((size_t)n < cap) {
			buf[n] = '\0';
			*path = buf;
			return 0;
		}
		if (cap >= 1024 * 1024) {
			free(buf);
			return ap_err_set(err, AP_E_TOOBIG,
					  "the executable's path is longer than %zu bytes", cap);
		}
		cap *= 2;
	}
}

int64_t ap_fsx_monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ap_fsx_isatty(FILE *fp)
{
	int fd = fp ? fileno(fp) : -1;

	return fd >= 0 && isatty(fd) == 1;
}

int ap_fsx_tty_echo(FILE *fp, bool on, struct ap_err *err)
{
	int fd = fp ? fileno(fp) : -1;
	struct termios t;

	if (fd < 0 || tcgetattr(fd, &t) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot read the terminal's settings");
	if (on)
		t.c_lflag |= ECHO;
	else
		t.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(fd, TCSAFLUSH, &t) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot turn the terminal's echo %s",
				  on ? "on" : "off");
	return 0;
}

int ap_fsx_lock(const char *path, int *handle, struct ap_err *err)
{
	return ap_fsx_lock_mode(path, false, handle, err);
}

int ap_fsx_lock_mode(const char *path, bool shared, int *handle, struct ap_err *err)
{
	/* A holder may remove the lock file (uninstall removes the state
	 * folder): a lock taken on a file no longer at path protects nothing,
	 * so it is taken again on the file that is there now. */
	for (int attempt = 0; attempt < 8; attempt++) {
		struct stat fst, pst;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0 && shared && (errno == EACCES || errno == EROFS))
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ap_err_sys(err, AP_E_IO, "cannot open lock file '%s'", path);
		if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
			int e = errno;

			close(fd);
			if (e == EWOULDBLOCK)
				return ap_err_set(err, AP_E_STATE,
						  "another airpack-setup holds the lock '%s'",
						  path);
			errno = e;
			return ap_err_sys(err, AP_E_IO, "cannot lock '%s'", path);
		}
		if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 && fst.st_dev == pst.st_dev &&
		    fst.st_ino == pst.st_ino) {
			*handle = fd;
			return fd;
		}
		flock(fd, LOCK_UN);
		close(fd);
	}
	return ap_err_set(err, AP_E_STATE, "the lock file '%s' keeps being replaced", path);
}

void ap_fsx_unlock(int handle)
{
	if (handle < 0)
		return;
	flock(handle, LOCK_UN);
	close(handle);
}

long ap_fsx_pid(void)
{
	return (long)getpid();
}

void ap_fsx_sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int ap_fsx_file_id(const char *path, struct ap_file_id *id, struct ap_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			id->exists = false;
			id->dev = 0;
			id->ino = 0;
			return 0;
		}
		return ap_err_sys(err, AP_E_IO, "cannot stat '%s'", path);
	}
	id->exists = true;
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	return 0;
}

int ap_fsx_exchange(const char *a, const char *b, bool *unsupported, struct ap_err *err)
{
	*unsupported = false;
#if defined(__linux__) && defined(RENAME_EXCHANGE)
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return ap_err_sys(err, AP_E_IO, "cannot exchange '%s' and '%s'", a, b);
#else
	(void)a;
	(void)b;
	(void)err;
#endif
	*unsupported = true;
	return 0;
}

int ap_fsx_link(const char *from, const char *to, bool *fallback, struct ap_err *err)
{
	*fallback = false;
	if (linkat(AT_FDCWD, from, AT_FDCWD, to, 0) == 0)
		return 0;
	if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
		*fallback = true;
		return 0;
	}
	return ap_err_sys(err, AP_E_IO, "cannot link '%s' to '%s'", from, to);
}

bool ap_fsx_path_is_abs(const char *path)
{
	return path[0] == '/';
}

int ap_fsx_abspath(const char *path, char **out, struct ap_err *err)
{
	size_t cap = 256;
	char *cwd = NULL;
	char *abs;

	if (ap_fsx_path_is_abs(path)) {
		abs = ap_strdup(path);
		goto done;
	}
	for (;;) {
		char *p = realloc(cwd, cap);

		if (!p) {
			free(cwd);
			return ap_err_set(err, AP_E_NOMEM, "out of memory resolving '%s'", path);
		}
		cwd = p;
		if (getcwd(cwd, cap))
			break;
		if (errno != ERANGE || cap >= 1024 * 1024) {
			free(cwd);
			return ap_err_sys(err, AP_E_IO, "cannot find the current folder");
		}
		cap *= 2;
	}
	abs = strcmp(path, ".") == 0 ? ap_strdup(cwd) : ap_fsx_path_join(cwd, path);
	free(cwd);
done:
	if (!abs)
		return ap_err_set(err, AP_E_NOMEM, "out of memory resolving '%s'", path);
	*out = abs;
	return 0;
}

int ap_fsx_memstream(FILE **out, struct ap_err *err)
{
	FILE *fp = tmpfile();

	if (!fp)
		return ap_err_sys(err, AP_E_IO, "cannot open a memory stream (a temporary file)");
	*out = fp;
	return 0;
}

int ap_fsx_tmpfile_in(const char *dir, FILE **out, struct ap_err *err)
{
	FILE *fp;
	int fd = -1;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (fd < 0) {
		char *tmpl = ap_fsx_path_join(dir, ".airpack-spool-XXXXXX");

		if (!tmpl)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		fd = mkstemp(tmpl);
		if (fd >= 0 && unlink(tmpl) != 0) {
			int e = errno;

			close(fd);
			(void)unlink(tmpl);
			errno = e;
			fd = -1;
		}
		free(tmpl);
		if (fd < 0)
			return ap_err_sys(err, AP_E_IO, "cannot create a private file in '%s'",
					  dir);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	fp = fdopen(fd, "w+b");
	if (!fp) {
		close(fd);
		return ap_err_sys(err, AP_E_IO, "cannot create a private file in '%s'", dir);
	}
	*out = fp;
	return 0;
}

int ap_fsx_free_space(const char *path, uint64_t *avail, struct ap_err *err)
{
	struct statvfs sv;

	if (statvfs(path, &sv) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot query the free space of '%s'", path);
	*avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

int ap_fsx_is_private(const char *path, bool *is_private, struct ap_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot stat '%s'", path);
	*is_private = (st.st_mode & 077) == 0;
	return 0;
}

const char *ap_fsx_access_said(unsigned mode, char *buf, size_t n)
{
	snprintf(buf, n, "mode %04o", mode);
	return buf;
}

bool ap_fsx_in_use(const char *path)
{
	(void)path;
	return false;
}

const char *ap_fsx_default_root(void)
{
	return "/";
}

int ap_fsx_hostname(char *buf, size_t size, struct ap_err *err)
{
	if (!buf || size < 2)
		return ap_err_set(err, AP_E_TOOBIG, "host name: no room");
	buf[size - 1] = '\0';
	if (gethostname(buf, size - 1) != 0)
		return ap_err_set(err, errno == ENAMETOOLONG ? AP_E_TOOBIG : AP_E_IO,
				  "host name: %s", strerror(errno));
	if (strlen(buf) == size - 1)
		return ap_err_set(err, AP_E_TOOBIG, "host name: longer than %zu bytes", size - 2);
	return 0;
}

int ap_fsx_utf8_args(int *argc, char ***argv, struct ap_err *err)
{
	(void)argc;
	(void)argv;
	(void)err;
	return 0;
}

/* ---- under a root: relative to a folder fd, never through a symlink ----
 *
 * The root itself is the caller's and is opened as given (a symlink above
 * or at the root is followed); every component of rel below it is opened
 * with O_NOFOLLOW relative to its parent's fd (openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS first where the kernel has it; the
 * walk is the fallback and says which component is the symlink). */

static int under_symlink(const char *root, const char *rel, size_t len, struct ap_err *err)
{
	return ap_err_set(err, AP_E_UNSAFE,
			  "'%.*s' under the root '%s' is a symlink: airpack does not follow "
			  "symlinks inside an install root",
			  (int)len, rel, root);
}

/* The length of rel's folder part ("a/b" of "a/b/c", 0 for "c"). */
static size_t under_dirlen(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? (size_t)(slash - rel) : 0;
}

static const char *under_base(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? slash + 1 : rel;
}

/* Open the folder root/rel[0..len) as *fd.  A component that is missing
 * or not a folder gives *fd = -1 and 0; one that is a symlink AP_E_UNSAFE
 * naming it. */
/* The openat2 fast path and the O_NOFOLLOW walk that names the symlink share the fd handover;
 * kept together. */
static int beneath(int dfd, const char *root, const char *rel, size_t len, int *fd,
		   struct ap_err *err);

static int open_dir_under(const char *root, const char *rel, size_t len, int *fd,
			  struct ap_err *err)
{
	int dfd;

	*fd = -1;
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", root);
	}
	return beneath(dfd, root, rel, len, fd, err);
}

/* open_dir_under's walk from dfd, the open root folder, which it takes
 * over (closed, or handed out as *fd when len is 0). */
static int beneath(int dfd, const char *root, const char *rel, size_t len, int *fd,
		   struct ap_err *err)
{
	char *p = NULL;
	int rc = 0;

	*fd = -1;
	if (len == 0) {
		*fd = dfd;
		return 0;
	}
	p = malloc(len + 1);
	if (!p) {
		close(dfd);
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", root);
	}
	memcpy(p, rel, len);
	p[len] = '\0';
	for (const char *c = p; *c; c += strcspn(c, "/"), c += *c == '/') {
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0')) {
			free(p);
			close(dfd);
			return ap_err_set(err, AP_E_UNSAFE,
					  "refusing '%s' under the root '%s': '..'", rel, root);
		}
	}
#if AP_HAVE_OPENAT2
	/* Test hook AP_FSX_NO_OPENAT2: take the walk, as on an older kernel. */
	if (!ap_testhook("AP_FSX_NO_OPENAT2")) {
		struct open_how how;
		long r;

		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
		r = syscall(SYS_openat2, dfd, p, &how, sizeof(how));
		if (r >= 0) {
			close(dfd);
			free(p);
			*fd = (int)r;
			return 0;
		}
		/* ENOSYS (an older kernel), a symlink, a missing folder: the
		 * walk below decides and names the component. */
	}
#endif
	for (size_t i = 0; i < len && rc == 0;) {
		size_t j = i;
		int cfd;

		while (j < len && p[j] != '/')
			j++;
		p[j] = '\0';
		if (j == i || strcmp(p + i, ".") == 0) {
			if (j < len)
				p[j] = '/';
			i = j + 1;
			continue;
		}
		if (strcmp(p + i, "..") == 0) {
			rc = ap_err_set(err, AP_E_UNSAFE, "refusing '%s' under the root '%s': '..'",
					rel, root);
			break;
		}
		cfd = openat(dfd, p + i, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			int e = errno;
			struct stat st;

			if (fstatat(dfd, p + i, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				rc = under_symlink(root, rel, j, err);
			else if (e == ENOENT || e == ENOTDIR)
				rc = 1; /* missing, or a file: no folder there */
			else {
				errno = e;
				rc = ap_err_sys(err, AP_E_IO, "cannot open folder '%s' under '%s'",
						p, root);
			}
			break;
		}
		close(dfd);
		dfd = cfd;
		if (j < len)
			p[j] = '/';
		i = j + 1;
	}
	free(p);
	if (rc != 0) {
		close(dfd);
		return rc < 0 ? rc : 0;
	}
	*fd = dfd;
	return 0;
}

static void fill_stat(const struct stat *s, struct ap_stat *st)
{
	memset(st, 0, sizeof(*st));
	if (S_ISREG(s->st_mode))
		st->type = AP_FT_FILE;
	else if (S_ISDIR(s->st_mode))
		st->type = AP_FT_DIR;
	else if (S_ISLNK(s->st_mode))
		st->type = AP_FT_LINK;
	else
		st->type = AP_FT_OTHER;
	st->size = (uint64_t)s->st_size;
	st->mode = (unsigned)(s->st_mode & 07777);
	st->mtime = (int64_t)s->st_mtime;
}

/* *st from the open fd: 1 when it is a regular file (fd kept), 0 when it
 * is something else, or an error naming rel "under"/"in" dir (fd closed
 * in both). */
static int fd_regular(int fd, struct ap_stat *st, const char *rel, const char *where,
		      const char *dir, struct ap_err *err)
{
	struct stat s;

	if (fstat(fd, &s) != 0) {
		int rc = ap_err_sys(err, AP_E_IO, "cannot stat '%s' %s '%s'", rel, where, dir);

		close(fd);
		return rc;
	}
	fill_stat(&s, st);
	if (!S_ISREG(s.st_mode)) {
		close(fd);
		return 0;
	}
	return 1;
}

/* The folder fd holding rel's last component (-1: none there). */
static int parent_under(const char *root, const char *rel, int *dfd, struct ap_err *err)
{
	if (!rel || !*rel || strcmp(under_base(rel), "..") == 0 ||
	    strcmp(under_base(rel), ".") == 0)
		return ap_err_set(err, AP_E_UNSAFE, "refusing '%s' under the root '%s'",
				  rel ? rel : "", root);
	return open_dir_under(root, rel, under_dirlen(rel), dfd, err);
}

int ap_fsx_open_under(const char *root, const char *rel, FILE **out, struct ap_stat *st,
		      struct ap_err *err)
{
	struct stat s;
	int dfd, fd;
	int rc;

	if (out)
		*out = NULL;
	memset(st, 0, sizeof(*st));
	st->type = AP_FT_NONE;
	rc = parent_under(root, rel, &dfd, err);
	if (rc < 0 || dfd < 0)
		return rc;
	if (fstatat(dfd, under_base(rel), &s, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = 0;
		if (errno != ENOENT && errno != ENOTDIR)
			rc = ap_err_sys(err, AP_E_IO, "cannot stat '%s' under '%s'", rel, root);
		close(dfd);
		return rc;
	}
	fill_stat(&s, st);
	if (!out || !S_ISREG(s.st_mode)) {
		close(dfd);
		return 0;
	}
	/* O_NONBLOCK: a FIFO swapped in meanwhile must not hang the open. */
	fd = openat(dfd, under_base(rel), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0) {
		if (errno == ENOENT) {
			st->type = AP_FT_NONE;
			return 0;
		}
		if (errno == ELOOP) {
			st->type = AP_FT_LINK;
			return 0;
		}
		return ap_err_sys(err, AP_E_IO, "cannot open '%s' under '%s'", rel, root);
	}
	/* What is read is what this fd says, not what the name said before. */
	rc = fd_regular(fd, st, rel, "under", root, err);
	if (rc <= 0)
		return rc;
	rc = 0;
	*out = fdopen(fd, "rb");
	if (!*out) {
		rc = ap_err_sys(err, AP_E_IO, "cannot open '%s' under '%s'", rel, root);
		close(fd);
	}
	return rc;
}

int ap_fsx_stat_under(const char *root, const char *rel, struct ap_stat *st, struct ap_err *err)
{
	return ap_fsx_open_under(root, rel, NULL, st, err);
}

int ap_fsx_unlink_under(const char *root, const char *rel, struct ap_err *err)
{
	int dfd;
	int rc = parent_under(root, rel, &dfd, err);

	if (rc < 0 || dfd < 0)
		return rc;
	if (unlinkat(dfd, under_base(rel), 0) != 0 && errno != ENOENT)
		rc = ap_err_sys(err, AP_E_IO, "cannot remove '%s' under '%s'", rel, root);
	close(dfd);
	return rc;
}

int ap_fsx_rmdir_under(const char *root, const char *rel, struct ap_err *err)
{
	int dfd;
	int rc = parent_under(root, rel, &dfd, err);

	if (rc < 0 || dfd < 0)
		return rc;
	if (unlinkat(dfd, under_base(rel), AT_REMOVEDIR) != 0 && errno != ENOENT) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			rc = ap_err_set(err, AP_E_EXISTS,
					"cannot remove folder '%s' under '%s': not empty", rel,
					root);
		else
			rc = ap_err_sys(err, AP_E_IO, "cannot remove folder '%s' under '%s'", rel,
					root);
	}
	close(dfd);
	return rc;
}

int ap_fsx_rm_rf_under(const char *root, const char *rel, struct ap_err *err)
{
	const char *base = under_base(rel);
	struct stat s;
	char *abs = NULL;
	int dfd, cfd;
	int rc = parent_under(root, rel, &dfd, err);

	if (rc < 0 || dfd < 0)
		return rc;
	if (fstatat(dfd, base, &s, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = ap_err_sys(err, AP_E_IO, "cannot stat '%s' under '%s'", rel, root);
		goto out;
	}
	if (!S_ISDIR(s.st_mode)) {
		if (unlinkat(dfd, base, 0) != 0 && errno != ENOENT)
			rc = ap_err_sys(err, AP_E_IO, "cannot remove '%s' under '%s'", rel, root);
		goto out;
	}
	abs = ap_fsx_path_join(root, rel);
	if (!abs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory removing '%s'", rel);
		goto out;
	}
	cfd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", abs);
		goto out;
	}
	rc = rm_tree_fd(cfd, abs, err);
	if (rc == 0 && unlinkat(dfd, base, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = ap_err_sys(err, AP_E_IO, "cannot remove folder '%s'", abs);
out:
	free(abs);
	close(dfd);
	return rc;
}

static int list_under(const char *root, const char *rel, bool dirs_only, char ***names,
		      struct ap_stat **sts, size_t *n, struct ap_err *err)
{
	DIR *d;
	int dfd;
	int rc = open_dir_under(root, rel, strlen(rel), &dfd, err);

	if (rc < 0)
		return rc;
	if (dfd < 0)
		return ap_err_set(err, AP_E_NOTFOUND,
				  "cannot list folder '%s' under '%s': "
				  "not found",
				  rel, root);
	d = fdopendir(dfd);
	if (!d) {
		rc = ap_err_sys(err, AP_E_IO, "cannot list folder '%s' under '%s'", rel, root);
		close(dfd);
		return rc;
	}
	rc = read_names(d, rel, root, dirs_only, names, n, err);
	if (rc == 0 && sts) {
		/* From the folder just listed: nothing is looked up by path. */
		*sts = calloc(*n ? *n : 1, sizeof(**sts));
		if (!*sts) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", rel);
			ap_fsx_strv_free(*names, *n);
			*names = NULL;
			*n = 0;
		}
		for (size_t i = 0; rc == 0 && i < *n; i++) {
			struct stat s;

			if (fstatat(dirfd(d), (*names)[i], &s, AT_SYMLINK_NOFOLLOW) == 0) {
				fill_stat(&s, &(*sts)[i]);
			} else if (errno == ENOENT) {
				(*sts)[i].type = AP_FT_NONE;
			} else {
				rc = ap_err_sys(err, AP_E_IO, "cannot stat '%s' in '%s' under '%s'",
						(*names)[i], rel, root);
				ap_fsx_strv_free(*names, *n);
				free(*sts);
				*names = NULL;
				*sts = NULL;
				*n = 0;
			}
		}
	}
	closedir(d);
	return rc;
}

int ap_fsx_list_dir_under(const char *root, const char *rel, char ***names, size_t *n,
			  struct ap_err *err)
{
	return list_under(root, rel, false, names, NULL, n, err);
}

int ap_fsx_list_subdirs_under(const char *root, const char *rel, char ***names, size_t *n,
			      struct ap_err *err)
{
	return list_under(root, rel, true, names, NULL, n, err);
}

int ap_fsx_list_dir_under_stat(const char *root, const char *rel, char ***names,
			       struct ap_stat **sts, size_t *n, struct ap_err *err)
{
	return list_under(root, rel, false, names, sts, n, err);
}

int ap_fsx_os_mkdirs_under(const char *root, const char *rel, unsigned mode, ap_fsx_made_fn made,
			   void *ctx, struct ap_err *err)
{
	char *p = NULL;
	size_t len = strlen(rel);
	int dfd;
	int rc = 0;

	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		/* The root is the caller's: made as given (not noted). */
		rc = ap_fsx_mkdir_p(root, mode, err);
		if (rc < 0)
			return rc;
		dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", root);
	p = ap_strdup(rel);
	if (!p) {
		close(dfd);
		return ap_err_set(err, AP_E_NOMEM, "out of memory creating folders");
	}
	for (size_t i = 0; i < len && rc == 0;) {
		size_t j = i;
		bool created = false;
		int cfd;

		while (j < len && p[j] != '/')
			j++;
		p[j] = '\0';
		if (strcmp(p + i, "..") == 0) {
			rc = ap_err_set(err, AP_E_UNSAFE,
					"refusing to create '%s' under the root '%s': '..'", rel,
					root);
			break;
		}
		if (j == i || strcmp(p + i, ".") == 0) {
			if (j < len)
				p[j] = '/';
			i = j + 1;
			continue;
		}
		if (mkdirat(dfd, p + i, (mode_t)mode) == 0)
			created = true;
		else if (errno != EEXIST)
			rc = ap_err_sys(err, AP_E_IO, "cannot create folder '%s' under '%s'", p,
					root);
		if (rc == 0) {
			cfd = openat(dfd, p + i, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				struct stat st;

				if (fstatat(dfd, p + i, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISLNK(st.st_mode))
					rc = under_symlink(root, rel, j, err);
				else
					rc = ap_err_set(
						err, AP_E_EXISTS,
						"cannot create folder '%s' under '%s': a file "
						"with that name exists",
						p, root);
			} else {
				close(dfd);
				dfd = cfd;
			}
		}
		if (rc == 0 && created && made)
			rc = made(ctx, p, err);
		if (j < len)
			p[j] = '/';
		i = j + 1;
	}
	free(p);
	close(dfd);
	return rc;
}

/* ---- a new tree inside a folder (airpack/fsx.h) ----
 * Everything is relative to the tree folder's fd: the parent of each entry
 * is reached with beneath() (openat2, or the O_NOFOLLOW walk), and the
 * last parent reached is kept, so the files of one folder cost one open
 * each and no path is ever resolved from the working folder. */

struct ap_fsx_tree {
	int fd;
	char *name;
	mode_t umask;
	int pfd;    /* the last parent folder reached, -1 for none */
	char *prel; /* its rel, "" for the tree's folder */
};

/* A finished file's writeback is started at once only from this size up:
 * a big file's data then goes to disk while the next ones are written, but
 * starting it for each small file submits one tiny write per file (and on
 * ext4 forces each one's block allocation there and then), which made an
 * install of 40,000 files of 512 B several times slower than leaving them
 * all to the stage's one syncfs, where the kernel writes them in big merged
 * runs. */
#define WRITEBACK_EARLY_MIN (1024 * 1024)

struct ap_fsx_tree_file {
	struct ap_fsx_tree *t;
	int fd;
	char *rel;
	uint64_t end; /* how far writes reached */
};

int ap_fsx_tree_open(const char *dir, struct ap_fsx_tree **out, struct ap_err *err)
{
	struct ap_fsx_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", dir);
	t->pfd = -1;
	t->name = ap_strdup(dir);
	if (!t->name) {
		free(t);
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", dir);
	}
	t->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->fd < 0) {
		int rc = ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				    "cannot open folder '%s'", dir);

		free(t->name);
		free(t);
		return rc;
	}
	/* Read once: a mode the umask would narrow gets an fchmod. */
	t->umask = umask(022);
	umask(t->umask);
	*out = t;
	return 0;
}

int ap_fsx_tree_open_under(const char *root, const char *rel, struct ap_fsx_tree **out,
			   struct ap_err *err)
{
	struct ap_fsx_tree *t = NULL;
	int fd = -1;
	int rc;

	rc = open_dir_under(root, rel, strlen(rel), &fd, err);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return ap_err_set(err, AP_E_NOTFOUND,
				  "cannot open folder '%s' under '%s': it is "
				  "not there",
				  rel, root);
	t = calloc(1, sizeof(*t));
	if (t)
		t->name = ap_fsx_path_join(root, rel);
	if (!t || !t->name) {
		free(t);
		close(fd);
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", rel);
	}
	t->fd = fd;
	t->pfd = -1;
	t->umask = umask(022);
	umask(t->umask);
	*out = t;
	return 0;
}

void ap_fsx_tree_close(struct ap_fsx_tree *t)
{
	if (!t)
		return;
	if (t->pfd >= 0)
		close(t->pfd);
	close(t->fd);
	free(t->prel);
	free(t->name);
	free(t);
}

/* Keep fd (owned) as the folder rel[0..len). */
static int tree_keep(struct ap_fsx_tree *t, int fd, const char *rel, size_t len, struct ap_err *err)
{
	char *prel = ap_strndup(rel, len);

	if (!prel) {
		close(fd);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (t->pfd >= 0)
		close(t->pfd);
	free(t->prel);
	t->pfd = fd;
	t->prel = prel;
	return 0;
}

/* The fd of the folder rel[0..len), kept for the next entry.  With
 * missing_ok, a folder that is not there (or a file) gives *dfd = -1 and
 * 0 (reading or removing what is there) instead of AP_E_NOTFOUND. */
static int tree_dir(struct ap_fsx_tree *t, const char *rel, size_t len, bool missing_ok, int *dfd,
		    struct ap_err *err)
{
	int fd = -1;
	int rc;

	if (t->pfd >= 0 && strlen(t->prel) == len && memcmp(t->prel, rel, len) == 0) {
		*dfd = t->pfd;
		return 0;
	}
	fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", t->name);
	rc = beneath(fd, t->name, rel, len, &fd, err);
	if (rc < 0)
		return rc;
	if (fd < 0 && missing_ok) {
		*dfd = -1;
		return 0;
	}
	if (fd < 0)
		return ap_err_set(err, AP_E_NOTFOUND,
				  "cannot write '%s' in '%s': its folder '%.*s' "
				  "is not there",
				  rel, t->name, (int)len, rel);
	rc = tree_keep(t, fd, rel, len, err);
	if (rc < 0)
		return rc;
	*dfd = fd;
	return 0;
}

/* Something is at rel's name in dfd where a new what should go: a
 * regular file is removed (as tar replaces it) and 1 returned, to try
 * again; a symlink is AP_E_UNSAFE, anything else AP_E_EXISTS. */
static int tree_taken(struct ap_fsx_tree *t, int dfd, const char *rel, const char *what,
		      struct ap_err *err)
{
	struct stat st;

	if (fstatat(dfd, under_base(rel), &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return under_symlink(t->name, rel, strlen(rel), err);
		if (S_ISREG(st.st_mode)) {
			if (unlinkat(dfd, under_base(rel), 0) != 0 && errno != ENOENT)
				return ap_err_sys(err, AP_E_IO, "cannot replace '%s' in '%s'", rel,
						  t->name);
			return 1;
		}
	}
	return ap_err_set(err, AP_E_EXISTS,
			  "cannot create %s '%s' in '%s': something else with "
			  "that name exists",
			  what, rel, t->name);
}

int ap_fsx_tree_mkdir(struct ap_fsx_tree *t, const char *rel, unsigned mode, struct ap_err *err)
{
	const char *base = under_base(rel);
	int dfd, fd;
	int rc;

	rc = tree_dir(t, rel, under_dirlen(rel), false, &dfd, err);
	if (rc < 0)
		return rc;
	for (int tries = 0;; tries++) {
		if (mkdirat(dfd, base, (mode_t)mode) != 0 && errno != EEXIST)
			return ap_err_sys(err, AP_E_IO, "cannot create folder '%s' in '%s'", rel,
					  t->name);
		fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			break;
		if ((errno != ENOTDIR && errno != ELOOP) || tries > 0)
			return ap_err_sys(err, AP_E_IO, "cannot open folder '%s' in '%s'", rel,
					  t->name);
		rc = tree_taken(t, dfd, rel, "folder", err);
		if (rc < 0)
			return rc;
	}
	/* Exact whatever the umask, and also for a folder already there. */
	if (fchmod(fd, (mode_t)mode) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot set mode %04o on folder '%s' in '%s'", mode,
				rel, t->name);
		close(fd);
		return rc;
	}
	/* Its files most likely come next. */
	return tree_keep(t, fd, rel, strlen(rel), err);
}

int ap_fsx_tree_dir_done(struct ap_fsx_tree *t, const char *rel, int64_t mtime, bool sync,
			 struct ap_err *err)
{
	int fd;
	int rc = 0;

	fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return ap_err_sys(err, AP_E_IO, "cannot open folder '%s'", t->name);
	rc = beneath(fd, t->name, rel, strlen(rel), &fd, err);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return ap_err_set(err, AP_E_NOTFOUND, "folder '%s' in '%s' is not there", rel,
				  t->name);
	if (mtime >= 0) {
		struct timespec ts[2];

		ts[0].tv_sec = (time_t)mtime;
		ts[0].tv_nsec = 0;
		ts[1] = ts[0];
		if (futimens(fd, ts) != 0)
			rc = ap_err_sys(err, AP_E_IO, "cannot set the time of folder '%s' in '%s'",
					rel, t->name);
	}
	if (rc == 0 && sync && fsync(fd) != 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot fsync folder '%s' in '%s'", *rel ? rel : ".",
				t->name);
	close(fd);
	return rc;
}

/* The open file fd (owned) of tree t as *out. */
static int tree_file_new(struct ap_fsx_tree *t, int fd, const char *rel,
			 struct ap_fsx_tree_file **out, struct ap_err *err)
{
	struct ap_fsx_tree_file *f = calloc(1, sizeof(*f));

	if (f)
		f->rel = ap_strdup(rel);
	if (!f || !f->rel) {
		free(f);
		close(fd);
		return ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", rel);
	}
	f->t = t;
	f->fd = fd;
	*out = f;
	return 0;
}

int ap_fsx_tree_create(struct ap_fsx_tree *t, const char *rel, unsigned mode,
		       struct ap_fsx_tree_file **out, struct ap_err *err)
{
	int dfd, fd;
	int rc;

	rc = tree_dir(t, rel, under_dirlen(rel), false, &dfd, err);
	if (rc < 0)
		return rc;
	for (int tries = 0;; tries++) {
		fd = openat(dfd, under_base(rel),
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 0)
			return ap_err_sys(err, AP_E_IO, "cannot create '%s' in '%s'", rel, t->name);
		rc = tree_taken(t, dfd, rel, "file", err);
		if (rc < 0)
			return rc;
	}
	if (((mode_t)mode & t->umask) != 0 && fchmod(fd, (mode_t)mode) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot set mode %04o on '%s' in '%s'", mode, rel,
				t->name);
		close(fd);
		return rc;
	}
	return tree_file_new(t, fd, rel, out, err);
}

int ap_fsx_tree_write(struct ap_fsx_tree_file *f, const void *buf, size_t n, uint64_t off,
		      struct ap_err *err)
{
	const char *p = buf;

	if (off > (uint64_t)INT64_MAX - n)
		return ap_err_set(err, AP_E_IO, "cannot write '%s' in '%s': offset too large",
				  f->rel, f->t->name);
	while (n > 0) {
		ssize_t w = pwrite(f->fd, p, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return ap_err_sys(err, AP_E_IO, "cannot write '%s' in '%s'", f->rel,
					  f->t->name);
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	if (off > f->end)
		f->end = off;
	return 0;
}

int ap_fsx_tree_finish(struct ap_fsx_tree_file *f, uint64_t size, bool set_time, int64_t sec,
		       long nsec, bool sync, struct ap_err *err)
{
	int rc = 0;

	if (size > f->end && ftruncate(f->fd, (off_t)size) != 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot size '%s' in '%s'", f->rel, f->t->name);
	if (rc == 0 && set_time) {
		struct timespec ts[2];

		ts[0].tv_sec = (time_t)sec;
		ts[0].tv_nsec = nsec;
		ts[1] = ts[0];
		if (futimens(f->fd, ts) != 0)
			rc = ap_err_sys(err, AP_E_IO, "cannot set the time of '%s' in '%s'", f->rel,
					f->t->name);
	}
	if (rc == 0 && sync && fsync(f->fd) != 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot fsync '%s' in '%s'", f->rel, f->t->name);
#ifdef __linux__
	if (rc == 0 && !sync && (size > f->end ? size : f->end) >= WRITEBACK_EARLY_MIN)
		(void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
	/* A delayed write error (NFS, a full disk) can surface only here. */
	if (close(f->fd) != 0 && rc == 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot write '%s' in '%s'", f->rel, f->t->name);
	free(f->rel);
	free(f);
	return rc;
}

void ap_fsx_tree_abort(struct ap_fsx_tree_file *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f->rel);
	free(f);
}

/* rel names an entry, not "", "." or "..": what the *_under calls refuse. */
static int tree_entry_ok(struct ap_fsx_tree *t, const char *rel, struct ap_err *err)
{
	const char *base = under_base(rel);

	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return ap_err_set(err, AP_E_UNSAFE, "refusing '%s' in '%s'", rel, t->name);
	return 0;
}

int ap_fsx_tree_open_file(struct ap_fsx_tree *t, const char *rel, struct ap_fsx_tree_file **out,
			  struct ap_stat *st, struct ap_err *err)
{
	const char *base = under_base(rel);
	struct stat s;
	int dfd = -1, fd;
	int rc;

	*out = NULL;
	memset(st, 0, sizeof(*st));
	st->type = AP_FT_NONE;
	rc = tree_entry_ok(t, rel, err);
	if (rc == 0)
		rc = tree_dir(t, rel, under_dirlen(rel), true, &dfd, err);
	if (rc < 0 || dfd < 0)
		return rc;
	/* No lstat first: the open itself decides (O_NOFOLLOW: a symlink is
	 * ELOOP; O_NONBLOCK: a FIFO does not hang it), then fstat on the fd. */
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR)
			return 0;
		if (e == ELOOP) {
			st->type = AP_FT_LINK;
			return 0;
		}
		/* A socket (ENXIO), or what this process may not read: say
		 * what it is when it is no regular file. */
		if (fstatat(dfd, base, &s, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(s.st_mode)) {
			fill_stat(&s, st);
			return 0;
		}
		errno = e;
		return ap_err_sys(err, AP_E_IO, "cannot open '%s' in '%s'", rel, t->name);
	}
	rc = fd_regular(fd, st, rel, "in", t->name, err);
	if (rc <= 0)
		return rc;
	return tree_file_new(t, fd, rel, out, err);
}

int ap_fsx_tree_read(struct ap_fsx_tree_file *f, void *buf, size_t n, size_t *got,
		     struct ap_err *err)
{
	ssize_t r;

	do
		r = read(f->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return ap_err_sys(err, AP_E_IO, "cannot read '%s' in '%s'", f->rel, f->t->name);
	*got = (size_t)r;
	return 0;
}

int ap_fsx_tree_unlink(struct ap_fsx_tree *t, const char *rel, struct ap_err *err)
{
	int dfd = -1;
	int rc = tree_entry_ok(t, rel, err);

	if (rc == 0)
		rc = tree_dir(t, rel, under_dirlen(rel), true, &dfd, err);
	if (rc < 0 || dfd < 0)
		return rc;
	if (unlinkat(dfd, under_base(rel), 0) != 0 && errno != ENOENT)
		return ap_err_sys(err, AP_E_IO, "cannot remove '%s' in '%s'", rel, t->name);
	return 0;
}
