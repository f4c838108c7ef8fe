/* fsx.c - the portable part of the file operations (paths, whole-file reads,
 * copies); the OS calls are in fsx_posix.c and fsx_win.c.  See airpack/fsx.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airpack/fsx.h"
#include "airpack/str.h"
#include "fsx_os.h"
#include "airpack/banned.h"

#define COPY_BUF (256 * 1024)
#define READ_CHUNK (64 * 1024)

int ap_fsx_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
			struct ap_err *err)
{
	struct ap_fsx_afile f = AP_AFILE_INIT;
	int rc;

	rc = ap_fsx_afile_open(&f, path, mode, err);
	if (rc < 0)
		return rc;
	rc = ap_fsx_afile_write(&f, data, len, err);
	if (rc < 0) {
		ap_fsx_afile_abort(&f);
		return rc;
	}
	return ap_fsx_afile_commit(&f, err);
}

/* Wait for a sync ap_fsx_afile_sync_start began: 0, or its error. */
static int afile_flush_wait(struct ap_fsx_afile *f, struct ap_err *err)
{
	int e;

	if (!f->flush)
		return 0;
	e = ap_fsx_os_flush_wait(f->flush);
	f->flush = NULL;
	if (e == 0)
		return 0;
	errno = e;
	return ap_err_sys(err, AP_E_IO, "cannot fsync '%s'", f->tmp);
}

int ap_fsx_afile_sync_start(struct ap_fsx_afile *f, struct ap_err *err)
{
	int rc;

	if (!f->fp)
		return ap_err_set(err, AP_E_USAGE, "sync of a file that is not open");
	if (fflush(f->fp) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot write '%s'", f->tmp);
	/* One sync at a time: the first one's error must not be lost. */
	rc = afile_flush_wait(f, err);
	if (rc == 0)
		ap_fsx_os_flush_start(f->fp, &f->flush);
	return rc;
}

static void afile_release(struct ap_fsx_afile *f)
{
	free(f->path);
	free(f->tmp);
	f->path = NULL;
	f->tmp = NULL;
	f->fp = NULL;
}

int ap_fsx_afile_commit(struct ap_fsx_afile *f, struct ap_err *err)
{
	FILE *fp = f->fp;
	int rc;

	if (!fp) {
		afile_release(f);
		return ap_err_set(err, AP_E_USAGE, "commit of a file that is not open");
	}
	f->fp = NULL;
	rc = afile_flush_wait(f, err);
	if (rc == 0)
		rc = ap_fsx_fsync_fp(fp, f->tmp, err);
	if (fclose(fp) != 0 && rc == 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot close '%s'", f->tmp);
	if (rc < 0)
		ap_fsx_os_remove_temp(f->tmp);
	else
		rc = ap_fsx_os_replace_temp(f->tmp, f->path, err);
	afile_release(f);
	return rc;
}

void ap_fsx_afile_abort(struct ap_fsx_afile *f)
{
	if (!f)
		return;
	(void)afile_flush_wait(f, NULL); /* the thread's fd is closed next */
	if (f->fp)
		fclose(f->fp);
	if (f->tmp)
		ap_fsx_os_remove_temp(f->tmp);
	afile_release(f);
}

int ap_fsx_afile_write(struct ap_fsx_afile *f, const void *data, size_t len, struct ap_err *err)
{
	if (!f->fp)
		return ap_err_set(err, AP_E_USAGE, "write to a file that is not open");
	if (len > 0 && fwrite(data, 1, len, f->fp) != len)
		return ap_err_sys(err, AP_E_IO, "cannot write '%s'", f->tmp);
	return 0;
}

int ap_fsx_mkdir_p(const char *path, unsigned mode, struct ap_err *err)
{
	char *p;
	size_t n;
	int rc = 0;

	if (!path || !*path)
		return ap_err_set(err, AP_E_USAGE, "cannot create a folder with an empty name");
	p = ap_strdup(path);
	if (!p)
		return ap_err_set(err, AP_E_NOMEM, "out of memory creating '%s'", path);
	n = strlen(p);
	while (n > 1 && ap_fsx_os_is_sep(p[n - 1]))
		p[--n] = '\0';
	/* Walk the components left to right; each prefix is made in turn. */
	for (size_t i = 1; i <= n; i++) {
		char sep = p[i];

		if (i < n && !ap_fsx_os_is_sep(sep))
			continue;
		if (i < n && ap_fsx_os_is_sep(p[i - 1]))
			continue;
		p[i] = '\0';
		rc = ap_fsx_os_mkdir_one(p, mode, err);
		if (rc < 0)
			goto out;
		p[i] = sep;
	}
out:
	free(p);
	return rc;
}

int ap_fsx_mkdirs_noted(const char *root, const char *rel, ap_fsx_made_fn made, void *ctx,
			struct ap_err *err)
{
	return ap_fsx_os_mkdirs_under(root, rel, 0755, made, ctx, err);
}

int ap_fsx_mkdirs_under(const char *root, const char *rel, unsigned mode, struct ap_err *err)
{
	return ap_fsx_os_mkdirs_under(root, rel, mode, NULL, NULL, err);
}

int ap_fsx_fsync_parent(const char *path, struct ap_err *err)
{
	char *dir = ap_fsx_path_dirname(path);
	int rc;

	if (!dir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory syncing '%s'", path);
	rc = ap_fsx_fsync_dir(dir, err);
	free(dir);
	return rc;
}

/* ap_fsx_sync_tree without a file-system-wide sync: every file under
 * path, then path itself (a folder's fsync after its entries'). */
static int sync_walk(const char *path, struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc = ap_fsx_list_dir(path, &names, &n, err);

	for (size_t i = 0; i < n && rc == 0; i++) {
		char *child = ap_fsx_path_join(path, names[i]);
		struct ap_stat st;

		if (!child) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory syncing '%s'", path);
			break;
		}
		rc = ap_fsx_stat(child, &st, err);
		if (rc == 0 && st.type == AP_FT_DIR)
			rc = sync_walk(child, err);
		else if (rc == 0 && st.type == AP_FT_FILE)
			rc = ap_fsx_fsync_path(child, err);
		free(child);
	}
	ap_fsx_strv_free(names, n);
	if (rc == 0)
		rc = ap_fsx_fsync_dir(path, err);
	return rc;
}

int ap_fsx_sync_tree(const char *path, struct ap_err *err)
{
	bool done = false;
	int rc = ap_fsx_os_sync_fs(path, &done, err);

	if (rc < 0 || done)
		return rc;
	return sync_walk(path, err);
}

int ap_fsx_read_file(const char *path, size_t max, char **buf, size_t *len, struct ap_err *err)
{
	FILE *fp = NULL;
	char *data = NULL;
	size_t cap = 0;
	size_t used = 0;
	int rc;

	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc < 0)
		return rc;
	for (;;) {
		size_t want;
		size_t n;

		if (cap - used < READ_CHUNK + 1) {
			size_t ncap = cap ? cap * 2 : READ_CHUNK + 1;
			char *p;

			/* Never hold more than max + 1 bytes plus the NUL. */
			if (max < SIZE_MAX - 2 && ncap > max + 2)
				ncap = max + 2;
			if (ncap <= cap)
				ncap = cap;
			p = realloc(data, ncap);
			if (!p) {
				rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading '%s'",
						path);
				goto out;
			}
			data = p;
			cap = ncap;
		}
		/* No room left (want 0) is also more than max. */
		want = cap - used - 1;
		n = want ? fread(data + used, 1, want, fp) : 0;
		used += n;
		if (want == 0 || used > max) {
			rc = ap_err_set(err, AP_E_TOOBIG,
					"'%s' is too big: expected at most %zu bytes, got more",
					path, max);
			goto out;
		}
		if (n < want) {
			if (ferror(fp)) {
				rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
				goto out;
			}
			break;
		}
	}
	data[used] = '\0';
	*buf = data;
	*len = used;
	data = NULL;
out:
	free(data);
	fclose(fp);
	return rc;
}

int ap_fsx_copy_file(const char *src, const char *dst, unsigned mode, struct ap_err *err)
{
	struct ap_fsx_afile f = AP_AFILE_INIT;
	unsigned char *buf = NULL;
	FILE *in = NULL;
	int rc;

	rc = ap_fsx_fopen(src, "rb", &in, err);
	if (rc < 0)
		return rc;
	buf = malloc(COPY_BUF);
	if (!buf) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory copying '%s'", src);
		goto out;
	}
	rc = ap_fsx_afile_open(&f, dst, mode, err);
	if (rc < 0)
		goto out;
	for (;;) {
		size_t n = fread(buf, 1, COPY_BUF, in);

		if (n > 0) {
			rc = ap_fsx_afile_write(&f, buf, n, err);
			if (rc < 0)
				goto out;
		}
		if (n < COPY_BUF) {
			if (ferror(in)) {
				rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", src);
				goto out;
			}
			break;
		}
	}
	rc = ap_fsx_afile_commit(&f, err);
out:
	ap_fsx_afile_abort(&f);
	free(buf);
	fclose(in);
	return rc;
}

#define TEMP_MARK ".tmp-"
#define TEMP_RANDOM 6

bool ap_fsx_is_temp_name(const char *name, const char *base)
{
	size_t n = strlen(name), tail = sizeof(TEMP_MARK) - 1 + TEMP_RANDOM, nb;

	if (n <= tail)
		return false;
	nb = n - tail;
	if (base && (strlen(base) != nb || memcmp(name, base, nb) != 0))
		return false;
	if (memcmp(name + nb, TEMP_MARK, sizeof(TEMP_MARK) - 1) != 0)
		return false;
	for (size_t i = n - TEMP_RANDOM; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

int ap_fsx_remove_files(const char *dir, bool (*pick)(void *ctx, const char *name),
			void (*on_removed)(void *ctx, const char *name), void *ctx, size_t *removed,
			struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0, count = 0;
	int rc;

	rc = ap_fsx_list_dir(dir, &names, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct ap_stat st;
		char *path;

		if (!pick(ctx, names[i]))
			continue;
		path = ap_fsx_path_join(dir, names[i]);
		if (!path) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			break;
		}
		rc = ap_fsx_stat(path, &st, err);
		if (rc == 0 && st.type == AP_FT_FILE) {
			rc = ap_fsx_unlink(path, err);
			if (rc == 0) {
				count++;
				if (on_removed)
					on_removed(ctx, names[i]);
			}
		}
		free(path);
	}
	ap_fsx_strv_free(names, n);
	if (rc == 0 && count)
		rc = ap_fsx_fsync_dir(dir, err);
	if (rc == 0 && removed)
		*removed = count;
	return rc;
}

static bool pick_temp(void *base, const char *name)
{
	return ap_fsx_is_temp_name(name, base);
}

int ap_fsx_remove_temps(const char *dir, const char *base, size_t *removed, struct ap_err *err)
{
	if (!ap_fsx_is_dir(dir)) {
		if (removed)
			*removed = 0;
		return 0;
	}
	return ap_fsx_remove_files(dir, pick_temp, NULL, (void *)base, removed, err);
}

char *ap_fsx_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	bool slash = la > 0 && !ap_fsx_os_is_sep(a[la - 1]);
	char *p;

	if (la == 0)
		return ap_strdup(b);
	p = malloc(la + (slash ? 1 : 0) + lb + 1);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	if (slash)
		p[la++] = '/';
	memcpy(p + la, b, lb + 1);
	return p;
}

char *ap_fsx_path_join3(const char *a, const char *b, const char *c)
{
	char *ab = ap_fsx_path_join(a, b);
	char *abc;

	if (!ab)
		return NULL;
	abc = ap_fsx_path_join(ab, c);
	free(ab);
	return abc;
}

char *ap_fsx_path_dirname(const char *path)
{
	size_t n = strlen(path);
	char *p;

	/* Ignore trailing slashes, then drop the last component and its slashes. */
	while (n > 1 && ap_fsx_os_is_sep(path[n - 1]))
		n--;
	while (n > 0 && !ap_fsx_os_is_sep(path[n - 1]))
		n--;
	if (n == 0)
		return ap_strdup(".");
	while (n > 1 && ap_fsx_os_is_sep(path[n - 1]))
		n--;
	p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, path, n);
	p[n] = '\0';
	return p;
}

const char *ap_fsx_path_basename(const char *path)
{
	const char *base = path;

	for (const char *p = path; *p; p++) {
		if (ap_fsx_os_is_sep(*p))
			base = p + 1;
	}
	return base;
}

void ap_fsx_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	if (n > 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
	} else {
		for (size_t i = 0; v[i]; i++)
			free(v[i]);
	}
	free(v);
}

int ap_fsx_source_date_epoch(int64_t *out, struct ap_err *err)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	int64_t v = 0;
	const char *p;

	if (!s || !*s)
		return 0;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		if (v > (INT64_MAX - d) / 10)
			break;
		v = v * 10 + d;
	}
	if (*p != '\0')
		return ap_err_set(err, AP_E_USAGE,
				  "SOURCE_DATE_EPOCH: expected a non-negative number of seconds, "
				  "got '%.64s'",
				  s);
	*out = v;
	return 1;
}

int64_t ap_fsx_now(void)
{
	int64_t t;

	if (ap_fsx_source_date_epoch(&t, NULL) == 1)
		return t;
	return (int64_t)time(NULL);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ap_fsx_names_add(struct ap_strvec *l, char *name, const char *path, struct ap_err *err)
{
	if (ap_strvec_push_nodup(l, name))
		return ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", path);
	return 0;
}

int ap_fsx_names_finish(struct ap_strvec *l, char ***names, size_t *n, const char *path,
			struct ap_err *err)
{
	if (!l->v) {
		l->v = calloc(1, sizeof(*l->v));
		if (!l->v)
			return ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", path);
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_names);
	*names = ap_strvec_detach(l, n);
	return 0;
}

int ap_fsx_memstream_take(FILE *fp, char **buf, size_t *len, struct ap_err *err)
{
	char *data = NULL;
	off_t end;
	size_t n;
	int rc = 0;

	if (fflush(fp) != 0 || ferror(fp) || fseeko(fp, 0, SEEK_END) != 0 ||
	    (end = ftello(fp)) < 0 || fseeko(fp, 0, SEEK_SET) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read back a memory stream");
		goto out;
	}
	data = malloc((size_t)end + 1);
	if (!data) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading back %lld bytes",
				(long long)end);
		goto out;
	}
	n = fread(data, 1, (size_t)end, fp);
	if (n != (size_t)end) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read back a memory stream");
		goto out;
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	data = NULL;
out:
	free(data);
	fclose(fp);
	return rc;
}

long ap_fsx_getline(char **line, size_t *cap, FILE *fp)
{
	size_t n = 0;
	int c;

	for (;;) {
		c = getc(fp);
		if (c == EOF)
			break;
		if (n + 2 > *cap) {
			char *p = ap_vec_grow(*line, cap, n + 2, 1);

			if (!p) {
				errno = ENOMEM;
				return -1;
			}
			*line = p;
		}
		(*line)[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (n == 0)
		return -1;
	(*line)[n] = '\0';
	return (long)n;
}

/* One code point from UTF-8 at *p (advanced); -1 when not valid UTF-8
 * (overlong forms, surrogates and values above U+10FFFF included). */
static long utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	long cp;
	int extra;

	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		cp = s[0] & 0x1f;
		extra = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		cp = s[0] & 0x0f;
		extra = 2;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		cp = s[0] & 0x07;
		extra = 3;
	} else {
		return -1;
	}
	for (int i = 1; i <= extra; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*p = s + extra + 1;
	return cp;
}

wchar_t *ap_fsx_utf8_to_wide(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	wchar_t *w = malloc((n + 1) * sizeof(*w));
	size_t o = 0;

	if (!w)
		return NULL;
	while (*p) {
		long cp = utf8_next(&p);

		if (cp < 0) {
			free(w);
			return NULL;
		}
		if (sizeof(wchar_t) == 2 && cp >= 0x10000) {
			cp -= 0x10000;
			w[o++] = (wchar_t)(0xd800 + (cp >> 10));
			w[o++] = (wchar_t)(0xdc00 + (cp & 0x3ff));
		} else {
			w[o++] = (wchar_t)cp;
		}
	}
	w[o] = L'\0';
	return w;
}

char *ap_fsx_wide_to_utf8(const wchar_t *w)
{
	size_t n = wcslen(w);
	char *s = malloc(n * 4 + 1);
	size_t o = 0;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned long cp = (unsigned long)w[i];

		if (sizeof(wchar_t) == 2 && cp >= 0xd800 && cp <= 0xdbff && i + 1 < n &&
		    (unsigned long)w[i + 1] >= 0xdc00 && (unsigned long)w[i + 1] <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned long)w[i + 1] - 0xdc00);
			i++;
		} else if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
			free(s);
			return NULL;
		}
		if (cp < 0x80) {
			s[o++] = (char)cp;
		} else if (cp < 0x800) {
			s[o++] = (char)(0xc0 | (cp >> 6));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			s[o++] = (char)(0xe0 | (cp >> 12));
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			s[o++] = (char)(0xf0 | (cp >> 18));
			s[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	s[o] = '\0';
	return s;
}
