/* source.c - offline first, then bundle, then download; see airpack/source.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/source.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/process.h"
#include "airpack/sink.h"
#include "airpack/str.h"
#include "airpack/winname.h"
#include "airpack/banned.h"

#define READ_BUF (1u << 20)
#define WHY_MAX 1024

struct hash_progress {
	const struct ap_source_opts *o;
	const char *label;
	uint64_t total;
};

static void hash_cb(void *ctx, uint64_t done)
{
	struct hash_progress *hp = ctx;

	if (hp->o->on_hash)
		hp->o->on_hash(hp->o->ctx, hp->label, done, hp->total);
}

static void emit(const struct ap_source_opts *o, const struct ap_component *c, const char *source,
		 const char *verdict, uint64_t size, const char *sha256, const char *detail)
{
	struct ap_source_check chk;

	if (!o->on_check)
		return;
	chk.c = c;
	chk.source = source;
	chk.verdict = verdict;
	chk.size = size;
	chk.sha256 = sha256 ? sha256 : "";
	chk.detail = detail;
	o->on_check(o->ctx, &chk);
}

/* Check one candidate file, opened once: 1 when it is a regular file of c's
 * size and (unless o->defer_local_hash) its sha256 matches c, read through
 * that open file; 0 when not (the first reason is written to why).  A file
 * an install already found wrong (rejected) is not taken again.  path is
 * consumed. */
static int check_candidate(const struct ap_source_opts *o, const char *dir,
			   const struct ap_component *c, const char *name, char *path,
			   const struct ap_strvec *rejected, char **path_out, char *why,
			   size_t why_len)
{
	char hex[AP_SHA256_HEX];
	struct hash_progress hp = { o, name, c->size };
	struct ap_err e = AP_ERR_INIT;
	struct ap_stat st;
	char detail[WHY_MAX];
	FILE *fp = NULL;
	int rc;

	if (ap_strvec_has(rejected, path)) {
		snprintf(detail, sizeof(detail),
			 "'%s' in %s did not match the signed sha256 when read to install it", name,
			 dir);
		emit(o, c, path, "sha256-mismatch", c->size, NULL, detail);
		if (!why[0])
			snprintf(why, why_len, "%s", detail);
		free(path);
		return 0;
	}
	if (ap_fsx_open_under(dir, name, &fp, &st, &e) != 0 || !fp) {
		free(path);
		return 0;
	}
	if (st.size != c->size) {
		snprintf(detail, sizeof(detail),
			 "'%s' in %s is %llu bytes, expected %llu (from another release?)", name,
			 dir, (unsigned long long)st.size, (unsigned long long)c->size);
		emit(o, c, path, "size-mismatch", st.size, NULL, detail);
		if (!why[0])
			snprintf(why, why_len, "%s", detail);
		fclose(fp);
		free(path);
		return 0;
	}
	if (o->defer_local_hash) {
		/* The reader that installs it hashes it (ap_source_retry). */
		fclose(fp);
		emit(o, c, path, "found", st.size, NULL,
		     "size matches; sha256 checked when installed");
		*path_out = path;
		return 1;
	}
	rc = ap_digest_fp(fp, path, hex, NULL, hash_cb, &hp, &e);
	fclose(fp);
	if (rc != 0) {
		emit(o, c, path, "unreadable", st.size, NULL, e.msg);
		if (!why[0])
			snprintf(why, why_len, "%s", e.msg);
		free(path);
		return 0;
	}
	if (!ap_digest_eq(hex, c->sha256)) {
		snprintf(detail, sizeof(detail),
			 "'%s' in %s has another sha256 (from another release?)", name, dir);
		emit(o, c, path, "sha256-mismatch", st.size, hex, detail);
		if (!why[0])
			snprintf(why, why_len, "%s", detail);
		free(path);
		return 0;
	}
	emit(o, c, path, "ok", st.size, hex, "size and sha256 match");
	*path_out = path;
	return 1;
}

/* An entry of dir whose name differs from name only in letter case (as
 * Windows folds it), or NULL.  Points into names. */
static const char *case_variant(char **names, size_t n, const char *name)
{
	char *want = ap_winname_fold(name);
	const char *found = NULL;

	for (size_t i = 0; want && i < n && !found; i++) {
		char *f;

		if (strcmp(names[i], name) == 0)
			continue;
		f = ap_winname_fold(names[i]);
		if (f && strcmp(f, want) == 0)
			found = names[i];
		free(f);
	}
	free(want);
	return found;
}

/* Look for c in dir under each of its names.  Returns 1 with *path when a
 * candidate matched, 0 when none did; a mismatching candidate's reason is
 * written to why (only the first).  A name differing only in letter case
 * (vc_redist.x64.EXE, common on Windows media) is a candidate when the
 * release is for Windows, whose file systems ignore case; otherwise it is
 * named in why so the operator sees the near match. */
static int find_in_dir(const struct ap_source_opts *o, const char *dir,
		       const struct ap_component *c, const struct ap_strvec *rejected,
		       char **path_out, char *why, size_t why_len, struct ap_err *err)
{
	char **names = NULL;
	size_t n_names = 0;
	bool listed = false;
	int rc = 0;

	for (size_t i = 0; i <= c->n_aliases && rc == 0; i++) {
		const char *name = i == 0 ? c->file : c->aliases[i - 1];
		const char *variant;
		char *path = ap_fsx_path_join(dir, name);
		struct ap_stat st;

		if (!path)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		if (ap_fsx_stat(path, &st, NULL) == 0 && st.type != AP_FT_NONE) {
			rc = check_candidate(o, dir, c, name, path, rejected, path_out, why,
					     why_len);
			continue;
		}
		free(path);
		if (!listed) {
			listed = true;
			if (ap_fsx_list_dir(dir, &names, &n_names, NULL) != 0) {
				names = NULL;
				n_names = 0;
			}
		}
		variant = case_variant(names, n_names, name);
		if (!variant)
			continue;
		if (o->windows_names) {
			path = ap_fsx_path_join(dir, variant);
			if (!path) {
				rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
				break;
			}
			rc = check_candidate(o, dir, c, variant, path, rejected, path_out, why,
					     why_len);
		} else if (!why[0]) {
			snprintf(why, why_len,
				 "'%s' in %s differs from '%s' only in letter case, and names "
				 "match exactly for a release that is not for Windows: rename it",
				 variant, dir, name);
		}
	}
	ap_fsx_strv_free(names, n_names);
	return rc;
}

static bool is_bundled(const struct ap_release *r)
{
	return r->kind == AP_RELEASE_BUNDLE || (r->kind == AP_RELEASE_SFX && !r->sfx_detached);
}

static int add_url(struct ap_source_item *it, char *url, struct ap_err *err)
{
	char **v;

	if (!url)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	v = ap_vec_grow(it->urls, NULL, it->n_urls + 1, sizeof(*v));
	if (!v) {
		free(url);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	it->urls = v;
	it->urls[it->n_urls++] = url;
	return 0;
}

/* What a local candidate taken by the plan was checked for. */
static const char *local_verdict(const struct ap_source_opts *o)
{
	return o->defer_local_hash ? "found locally, size matches (sha256 checked at install)"
				   : "size and sha256 match";
}

/* The component from the local folder dir (label: "" or " (cache)"): 1 and
 * it, why filled when a copy is taken, 0 when none is, < 0 on an error. */
static int take_local(const struct ap_source_opts *o, const char *dir, const char *label,
		      struct ap_source_item *it, char mismatch[WHY_MAX], char *why, size_t why_size,
		      struct ap_err *err)
{
	int rc = find_in_dir(o, dir, it->c, &it->rejected, &it->path, mismatch, WHY_MAX, err);

	if (rc != 1)
		return rc;
	it->kind = AP_SOURCE_LOCAL;
	it->unchecked = o->defer_local_hash;
	snprintf(why, why_size, "%s%s: %s", it->path, label, local_verdict(o));
	return 1;
}

/* Where one component comes from, in the documented order (offline folders, bundle, cache,
 * mirrors, urls): one flat search. */
static int plan_item(const struct ap_release *r, const struct ap_source_opts *o,
		     struct ap_source_plan *p, struct ap_source_item *it, struct ap_err *err)
{
	const struct ap_component *c = it->c;
	char mismatch[WHY_MAX] = "";
	char why[WHY_MAX * 2];
	int rc;

	for (size_t d = 0; d < o->n_offline_dirs; d++) {
		rc = take_local(o, o->offline_dirs[d], "", it, mismatch, why, sizeof(why), err);
		if (rc < 0)
			return rc;
		if (rc == 1)
			goto done;
	}
	if (o->cache_dir) {
		bool listed = false;
		for (size_t d = 0; d < o->n_offline_dirs; d++)
			if (strcmp(o->offline_dirs[d], o->cache_dir) == 0)
				listed = true;
		rc = listed ? 0
			    : take_local(o, o->cache_dir, " (cache)", it, mismatch, why,
					 sizeof(why), err);
		if (rc < 0)
			return rc;
		if (rc == 1)
			goto done;
	}
	if (is_bundled(r)) {
		it->kind = AP_SOURCE_BUNDLE;
		p->bundle_bytes += c->size;
		snprintf(why, sizeof(why), "%s%sin the %s %s", mismatch,
			 mismatch[0] ? ": using the copy " : "",
			 r->kind == AP_RELEASE_SFX ? "setup" : "bundle", r->path);
		goto done;
	}
	if (o->blob_base) {
		size_t n = strlen(o->blob_base) + sizeof("sha256:") + AP_SHA256_HEX;
		char *u = malloc(n);

		if (u)
			snprintf(u, n, "%ssha256:%s", o->blob_base, c->sha256);
		rc = add_url(it, u, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < o->n_mirrors; i++) {
		rc = add_url(it, ap_fetch_url_join(o->mirrors[i], c->file), err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < c->n_urls; i++) {
		rc = add_url(it, ap_strdup(c->urls[i]), err);
		if (rc)
			return rc;
	}
	if ((o->offline || it->n_urls == 0) && c->optional) {
		it->kind = AP_SOURCE_SKIPPED;
		p->n_skipped++;
		snprintf(why, sizeof(why), "%s%s: optional, not installed",
			 mismatch[0] ? mismatch : "not in any offline folder",
			 o->offline ? " and --offline forbids downloads"
				    : ", and no mirror or url to download it from");
		emit(o, c, o->n_offline_dirs ? o->offline_dirs[0] : "-", "missing", 0, NULL, why);
		goto done;
	}
	if (o->offline || it->n_urls == 0) {
		it->kind = AP_SOURCE_MISSING;
		p->n_missing++;
		snprintf(why, sizeof(why), "%s%s%s",
			 mismatch[0] ? mismatch : "not in any offline folder",
			 o->offline ? ": missing (--offline: no download)"
				    : ": missing, and no mirror or url to download it from",
			 "");
		emit(o, c, o->n_offline_dirs ? o->offline_dirs[0] : "-", "missing", 0, NULL, why);
		goto done;
	}
	it->kind = AP_SOURCE_DOWNLOAD;
	p->download_bytes += c->size;
	snprintf(why, sizeof(why), "%s: will download from %s%s",
		 mismatch[0] ? mismatch : "not in any offline folder", it->urls[0],
		 c->optional ? " (optional: skipped if that fails)" : "");
done:
	it->why = ap_strdup(why);
	if (!it->why)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

int ap_source_plan(const struct ap_release *r, const struct ap_source_opts *o,
		   struct ap_source_plan **out, struct ap_err *err)
{
	const struct ap_manifest *m = r->manifest;
	struct ap_source_plan *p;
	int rc = 0;

	p = calloc(1, sizeof(*p));
	if (!p)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	p->items = calloc(m->n_components, sizeof(*p->items));
	if (!p->items) {
		free(p);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	p->n_items = m->n_components;
	/* Never an offline folder unless the caller names it: an operator's
	 * folder (a USB stick) holds what they put there, nothing else. */
	if (o->cache_dir) {
		p->cache_dir = ap_strdup(o->cache_dir);
		if (!p->cache_dir) {
			free(p->items);
			free(p);
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < m->n_components; i++) {
		p->items[i].c = &m->components[i];
		rc = plan_item(r, o, p, &p->items[i], err);
		if (rc)
			break;
	}
	if (rc) {
		ap_source_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

struct unpack_ctx {
	const struct ap_release *r;
	struct ap_source_plan *p;
	const char *dir;
	const struct ap_source_opts *o;
	unsigned char *buf;
};

/* One payload entry of the bundle: copied out when the plan takes that
 * component from the bundle, else left (skipped). */
static int unpack_entry(void *ctx, const struct ap_release_entry *e, struct ap_err *err)
{
	struct unpack_ctx *u = ctx;
	struct ap_sink_expect x = { NULL, true, 0, NULL, "the signed manifest says" };
	struct ap_sink sink = AP_SINK_INIT;
	const struct ap_source_opts *o = u->o;
	struct ap_source_item *it = NULL;
	const char *name = e->c->file;
	size_t got;
	char *path;
	int rc;

	for (size_t i = 0; i < u->p->n_items; i++)
		if (u->p->items[i].kind == AP_SOURCE_BUNDLE && !u->p->items[i].path &&
		    u->p->items[i].c == e->c)
			it = &u->p->items[i];
	if (!it)
		return 0;
	if (e->size != it->c->size)
		return ap_err_set(err, AP_E_DIGEST,
				  "component '%s': the bundle's '%s' is %llu bytes, the "
				  "manifest says %llu",
				  it->c->name, name, (unsigned long long)e->size,
				  (unsigned long long)it->c->size);
	path = ap_fsx_path_join(u->dir, name);
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	x.what = name;
	x.size = it->c->size;
	x.sha256 = it->c->sha256;
	rc = ap_sink_open(&sink, path, o->work_mode ? o->work_mode : 0600, &x, err);
	do {
		if (rc == 0)
			rc = ap_bundle_reader_read(e->br, u->buf, READ_BUF, &got, err);
		if (rc == 0)
			rc = ap_sink_write(&sink, u->buf, got, err);
		if (rc == 0 && got > 0 && o->on_hash)
			o->on_hash(o->ctx, name, sink.done, e->size);
	} while (rc == 0 && got > 0);
	if (rc == 0)
		rc = ap_sink_commit(&sink, NULL, err);
	ap_sink_abort(&sink);
	if (rc == AP_E_DIGEST) {
		emit(o, it->c, "bundle", "sha256-mismatch", sink.done, sink.hex,
		     "the bundle's copy differs from the signed manifest");
		ap_err_prefix(err, "component '%s': bundle '%s'", it->c->name, u->r->path);
	}
	if (rc) {
		free(path);
		return rc;
	}
	emit(o, it->c, "bundle", "ok", sink.done, sink.hex, "size and sha256 match");
	it->path = path;
	it->fetched = true;
	return 0;
}

/* Stream the bundle once (ap_release_walk_bundle: the one definition of a
 * bundle), copying out the entries the plan takes from it. */
static int unpack_bundle(const struct ap_release *r, struct ap_source_plan *p, const char *dir,
			 const struct ap_source_opts *o, struct ap_err *err)
{
	struct unpack_ctx u = { r, p, dir, o, NULL };
	int rc;

	u.buf = malloc(READ_BUF);
	if (!u.buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_mkdir_p(dir, 0700, err);
	if (rc == 0)
		rc = ap_release_walk_bundle(r, unpack_entry, &u, err);
	for (size_t i = 0; rc == 0 && i < p->n_items; i++)
		if (p->items[i].kind == AP_SOURCE_BUNDLE && !p->items[i].path)
			rc = ap_err_set(err, AP_E_BUNDLE, "component '%s': '%s' is not in '%s'",
					p->items[i].c->name, p->items[i].c->file, r->path);
	free(u.buf);
	return rc;
}

/* Remove what a killed process downloading dest under a name of its own
 * (dest.<pid>.download, .partial) left, once that process is gone.  Run by
 * the holder of dest's lock; nothing else matches the pattern. */
static void sweep_private(const char *dest)
{
	char *dir = ap_fsx_path_dirname(dest);
	const char *base = ap_fsx_path_basename(dest);
	size_t bl = strlen(base);
	char **names = NULL;
	size_t n = 0;
	struct ap_err ignore = AP_ERR_INIT;

	if (!dir || ap_fsx_list_dir(dir, &names, &n, &ignore) < 0) {
		free(dir);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *nm = names[i], *d = nm + bl + 1;
		char *end = NULL, *path;
		long pid;

		if (strncmp(nm, base, bl) != 0 || nm[bl] != '.' || *d < '0' || *d > '9')
			continue;
		pid = strtol(d, &end, 10);
		if (!end ||
		    (strcmp(end, ".download") != 0 && strcmp(end, ".download.partial") != 0))
			continue;
		if (ap_process_alive(pid))
			continue;
		path = ap_fsx_path_join(dir, nm);
		if (path)
			ap_fsx_unlink(path, &ignore);
		free(path);
	}
	ap_fsx_strv_free(names, n);
	free(dir);
}

/* Claim cache file dest for downloading: *target is dest itself when its
 * lock (dest.lock) is ours, else a name of this process's own beside it. */
static int cache_claim(char *dest, char **lock, int *handle, char **target, struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;
	char suffix[48];
	int rc;

	*lock = ap_strcat2(dest, ".lock");
	if (!*lock)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_lock(*lock, handle, &e);
	if (rc >= 0) {
		sweep_private(dest);
		*target = dest;
		return 0;
	}
	free(*lock);
	*lock = NULL;
	*handle = -1;
	if (rc != AP_E_STATE)
		return ap_err_set(err, e.code, "%s", e.msg);
	snprintf(suffix, sizeof(suffix), ".%ld.download", ap_fsx_pid());
	*target = ap_strcat2(dest, suffix);
	return *target ? 0 : ap_err_set(err, AP_E_NOMEM, "out of memory");
}

/* Undo cache_claim: drop a private name's leftovers, remove the lock file
 * (while still holding it) and unlock. */
static void cache_release(char *lock, int handle, char *target, const char *dest)
{
	struct ap_err ignore = AP_ERR_INIT;

	if (target && target != dest) {
		char *partial = ap_strcat2(target, ".partial");

		ap_fsx_unlink(target, &ignore);
		if (partial)
			ap_fsx_unlink(partial, &ignore);
		free(partial);
		free(target);
	}
	if (lock) {
		ap_fsx_unlink(lock, &ignore);
		ap_fsx_unlock(handle);
		free(lock);
	}
}

/* One component being downloaded: its cache file, the lock on it, and the
 * name the download writes (dest itself, or one of this process's own). */
struct dl {
	struct ap_source_item *it;
	char *dest;
	char *lock;
	int lock_handle;
	char *target;
};

struct dl_ctx {
	const struct ap_source_opts *o;
	struct dl *dls;
	struct ap_fetch_job *jobs;
};

static void dl_report(const struct dl_ctx *d, size_t j, enum ap_source_dl_phase phase,
		      const char *url, uint64_t have, int rc)
{
	struct ap_source_dl ev;

	if (!d->o->on_download)
		return;
	ev.phase = phase;
	ev.c = d->dls[j].it->c;
	ev.url = url;
	ev.have = have;
	ev.total = d->dls[j].it->c->size;
	ev.rc = rc;
	d->o->on_download(d->o->ctx, &ev);
}

static void dl_on_start(void *ctx, size_t j, const char *url)
{
	dl_report(ctx, j, AP_SOURCE_DL_START, url, 0, 0);
}

static void dl_on_progress(void *ctx, size_t j, uint64_t have, uint64_t total)
{
	struct dl_ctx *d = ctx;

	(void)total;
	dl_report(d, j, AP_SOURCE_DL_PROGRESS, NULL, have, 0);
}

static void dl_on_url_failed(void *ctx, size_t j, const char *url, const struct ap_err *e)
{
	struct dl_ctx *d = ctx;

	emit(d->o, d->dls[j].it->c, url, "download-failed", 0, NULL, e->msg);
}

/* A file is finished: the verified file takes the cache name, the lock
 * goes at once (another process waiting for it need not wait for the
 * rest), and the check is reported. */
static void dl_on_done(void *ctx, size_t j)
{
	struct dl_ctx *d = ctx;
	struct dl *dl = &d->dls[j];
	struct ap_fetch_job *job = &d->jobs[j];
	const char *url = job->urls[job->url];

	if (job->rc == 0 && dl->target != dl->dest)
		job->rc = ap_fsx_rename(dl->target, dl->dest, &job->err);
	cache_release(dl->lock, dl->lock_handle, dl->target, dl->dest);
	dl->lock = NULL;
	dl->target = NULL;
	if (job->rc == 0) {
		emit(d->o, dl->it->c, url, "downloaded", dl->it->c->size, dl->it->c->sha256,
		     job->res.resumed ? "resumed; size and sha256 match" : "size and sha256 match");
		dl->it->path = dl->dest;
		dl->it->fetched = true;
		dl->dest = NULL;
	}
	dl_report(d, j, AP_SOURCE_DL_DONE, url, job->rc == 0 ? dl->it->c->size : 0, job->rc);
}

/* The error of a component whose download failed. */
static int dl_error(const struct dl *dl, const struct ap_fetch_job *job, struct ap_err *err)
{
	const char *name = dl->it->c->name;

	if (job->rc == AP_E_IO || job->rc == AP_E_NOMEM || job->rc == AP_E_USAGE ||
	    job->rc == AP_E_STATE)
		return ap_err_set(err, job->rc, "component '%s': %s", name, job->err.msg);
	return ap_err_set(err, job->rc == AP_E_DIGEST ? AP_E_DIGEST : AP_E_FETCH,
			  "component '%s': every source failed; last: %s", name, job->err.msg);
}

/* Each DOWNLOAD item's cache file claimed (its lock, or a private name)
 * and its fetch job filled; *k counts the claimed ones, to release. */
static int claim_downloads(struct ap_source_plan *p, struct dl_ctx *d, size_t *k,
			   struct ap_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < p->n_items && rc == 0; i++) {
		struct ap_source_item *it = &p->items[i];
		struct dl *dl = &d->dls[*k];
		struct ap_fetch_job *job = &d->jobs[*k];

		if (it->kind != AP_SOURCE_DOWNLOAD || it->path)
			continue;
		dl->it = it;
		dl->lock_handle = -1;
		dl->dest = ap_fsx_path_join(p->cache_dir, it->c->file);
		if (!dl->dest)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		(*k)++;
		rc = cache_claim(dl->dest, &dl->lock, &dl->lock_handle, &dl->target, err);
		if (rc)
			break;
		job->urls = (const char *const *)it->urls;
		job->n_urls = it->n_urls;
		job->dest = dl->target;
		job->size = it->c->size;
		job->sha256 = it->c->sha256;
		job->stop_on_failure = !it->c->optional;
	}
	return rc;
}

/* The first failed required component is the error; an optional one that
 * failed is skipped, with why. */
static int judge_downloads(struct ap_source_plan *p, struct dl_ctx *d, size_t n, struct ap_err *err)
{
	for (size_t j = 0; j < n; j++) {
		struct ap_source_item *it = d->dls[j].it;
		struct ap_err e = AP_ERR_INIT;
		char *why;
		int rc;

		if (d->jobs[j].rc == 0)
			continue;
		rc = dl_error(&d->dls[j], &d->jobs[j], &e);
		if (!it->c->optional || rc == AP_E_NOMEM)
			return ap_err_set(err, e.code, "%s", e.msg);
		why = ap_strcat2("optional, not installed: ", e.msg);
		if (!why)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		free(it->why);
		it->why = why;
		it->kind = AP_SOURCE_SKIPPED;
		p->download_bytes -= it->c->size;
		p->n_skipped++;
	}
	return 0;
}

/* Download every DOWNLOAD item of p into the cache, o->parallel at once.
 * A cache may be shared (one --cache for several roots): a file's lock
 * gives one process its .partial (and resuming it); another downloads
 * under a name of its own and renames the verified file over the name,
 * replacing, if anything, the same bytes. */
static int download_all(struct ap_source_plan *p, const struct ap_source_opts *o,
			struct ap_err *err)
{
	struct ap_fetch_opts def = AP_FETCH_OPTS_INIT;
	const struct ap_fetch_opts *fo = o->fetch ? o->fetch : &def;
	static const struct ap_fetch_many_ops no_ops = { NULL, NULL, NULL, NULL, NULL };
	struct ap_fetch_many_ops ops = no_ops;
	struct dl_ctx d = { o, NULL, NULL };
	size_t n = 0, k = 0;
	int rc = 0;

	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].kind == AP_SOURCE_DOWNLOAD && !p->items[i].path)
			n++;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < p->n_items && !p->cache_dir; i++)
		if (p->items[i].kind == AP_SOURCE_DOWNLOAD)
			return ap_err_set(err, AP_E_USAGE,
					  "component '%s' must be downloaded but no offline folder "
					  "is writable: pass --cache DIR",
					  p->items[i].c->name);
	rc = ap_fsx_mkdir_p(p->cache_dir, 0755, err);
	if (rc)
		return rc;
	d.dls = calloc(n, sizeof(*d.dls));
	d.jobs = calloc(n, sizeof(*d.jobs));
	if (!d.dls || !d.jobs) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = claim_downloads(p, &d, &k, err);
	if (rc)
		goto out;
	ops.on_start = dl_on_start;
	ops.on_progress = o->on_download ? dl_on_progress : NULL;
	ops.on_url_failed = dl_on_url_failed;
	ops.on_done = dl_on_done;
	ops.ctx = &d;
	rc = ap_fetch_many(fo, d.jobs, n, o->parallel, &ops, err);
	if (rc == 0)
		rc = judge_downloads(p, &d, n, err);
out:
	for (size_t j = 0; d.dls && j < k; j++) {
		cache_release(d.dls[j].lock, d.dls[j].lock_handle, d.dls[j].target, d.dls[j].dest);
		free(d.dls[j].dest);
	}
	free(d.dls);
	free(d.jobs);
	return rc;
}

int ap_source_fetch(const struct ap_release *r, struct ap_source_plan *p,
		    const struct ap_source_opts *o, struct ap_err *err)
{
	bool need_bundle = false;
	int rc;

	if (p->n_missing) {
		char msg[AP_ERR_MSG_MAX];
		size_t used = 0;

		used += (size_t)snprintf(msg, sizeof(msg),
					 "%zu component%s missing%s:", p->n_missing,
					 p->n_missing == 1 ? " is" : "s are",
					 o->offline ? " and --offline forbids downloads" : "");
		for (size_t i = 0; i < p->n_items && used < sizeof(msg); i++) {
			const struct ap_component *c = p->items[i].c;
			if (p->items[i].kind != AP_SOURCE_MISSING)
				continue;
			used += (size_t)snprintf(msg + used, sizeof(msg) - used,
						 " '%s' (file %s, %llu bytes, sha256 %s%s%s);",
						 c->name, c->file, (unsigned long long)c->size,
						 c->sha256, c->n_urls ? ", get it from " : "",
						 c->n_urls ? c->urls[0] : "");
		}
		if (used < sizeof(msg) && used > 0 && msg[used - 1] == ';')
			msg[used - 1] = '\0';
		return ap_err_set(err, AP_E_OFFLINE,
				  "%s; copy them into an offline folder (--offline-dir) and rerun",
				  msg);
	}
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].kind == AP_SOURCE_BUNDLE && !p->items[i].path)
			need_bundle = true;
	if (need_bundle) {
		const char *dir = o->work_dir ? o->work_dir : p->cache_dir;
		if (!dir)
			return ap_err_set(err, AP_E_USAGE, "no folder to unpack the bundle into");
		rc = unpack_bundle(r, p, dir, o, err);
		if (rc)
			return rc;
	}
	return download_all(p, o, err);
}

int ap_source_retry(const struct ap_release *r, struct ap_source_plan *p,
		    const struct ap_source_opts *o, const struct ap_component *c,
		    const struct ap_err *why, struct ap_err *err)
{
	struct ap_source_item *it = NULL;
	int rc;

	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].c == c)
			it = &p->items[i];
	if (!it || it->kind != AP_SOURCE_LOCAL || !it->unchecked || !it->path)
		return ap_err_set(err, why->code, "%s", why->msg);
	/* The plan again for this one component, past every file found wrong:
	 * the same order and the same reasons as a mismatch found planning. */
	if (ap_strvec_push_nodup(&it->rejected, it->path) != 0) {
		it->path = NULL;
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	it->path = NULL;
	it->unchecked = false;
	free(it->why);
	it->why = NULL;
	rc = plan_item(r, o, p, it, err);
	if (rc)
		return rc;
	if (it->kind == AP_SOURCE_MISSING) {
		/* Nowhere else: the error is the wrong file's, as found. */
		p->n_missing--;
		return ap_err_set(err, why->code, "%s", why->msg);
	}
	if (it->kind == AP_SOURCE_LOCAL)
		return 0;
	return ap_source_fetch(r, p, o, err);
}

const struct ap_source_item *ap_source_find(const struct ap_source_plan *p,
					    const struct ap_component *c)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].c == c)
			return &p->items[i];
	return NULL;
}

void ap_source_plan_free(struct ap_source_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_items; i++) {
		free(p->items[i].path);
		ap_fsx_strv_free(p->items[i].urls, p->items[i].n_urls);
		free(p->items[i].why);
		ap_strvec_release(&p->items[i].rejected);
	}
	free(p->items);
	free(p->cache_dir);
	free(p);
}
