/* txn/stage.c - building the stage beside the prefix: extraction, hashing, carried files, space; see airpack/txn.h and docs/install-transaction.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/bounds.h"
#include "airpack/digest.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/process.h"
#include "airpack/receipt.h"
#include "airpack/sink.h"
#include "airpack/state.h"
#include "airpack/txn.h"
#include "airpack/bundle.h"
#include "txn/internal.h"
#include "airpack/banned.h"

#define SAVE_SUFFIX ".airpack-save"

/* ---- install ---- */

void txn_inst_release(struct inst *s)
{
	free(s->prefix_abs);
	free(s->parent_rel);
	free(s->parent_abs);
	free(s->stage_rel);
	free(s->stage_abs);
	free(s->old_rel);
	free(s->old_abs);
	free(s->recs);
	ap_strpool_release(&s->rec_strings);
	ap_strvec_release(&s->created);
	ap_strvec_release(&s->rel_dirs);
	ap_strvec_release(&s->conflicts);
	ap_strvec_release(&s->created_data);
	ap_strvec_release(&s->skipped);
}

static int add_rec(struct inst *s, const char *rel_prefix, unsigned mode, uint64_t size,
		   const char sha256[AP_SHA256_HEX], const struct ap_component *c,
		   const char *expected, struct ap_err *err)
{
	struct ap_txn_event ev;
	struct ap_receipt_file *r;
	char *path;

	r = ap_vec_grow(s->recs, &s->cap_recs, s->n_recs + 1, sizeof(*r));
	if (!r)
		return txn_nomem(err, "recording installed files");
	s->recs = r;
	r = &s->recs[s->n_recs];
	memset(r, 0, sizeof(*r));
	if (s->rec_component_of != c) {
		s->rec_component = ap_strpool_dup(&s->rec_strings, c->name);
		s->rec_component_of = s->rec_component ? c : NULL;
	}
	path = ap_fsx_path_join(s->m->prefix, rel_prefix);
	r->path = ap_strpool_dup(&s->rec_strings, path);
	free(path);
	r->component = (char *)s->rec_component;
	if (!r->path || !r->component)
		return txn_nomem(err, "recording installed files");
	r->mode = mode & 07777;
	r->size = size;
	memcpy(r->sha256, sha256, AP_SHA256_HEX);
	s->n_recs++;
	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_FILE;
	ev.verdict = AP_TXN_V_OK;
	ev.product = s->m->product;
	ev.component = c->name;
	ev.path = r->path;
	ev.expected_sha256 = expected;
	ev.actual_sha256 = r->sha256;
	ev.expected_mode = r->mode;
	ev.actual_mode = r->mode;
	ev.size = size;
	txn_emit(s->o, &ev);
	return 0;
}

static int extract_cb(void *ctx, const char *relpath, unsigned mode, uint64_t size,
		      const char sha256[AP_SHA256_HEX], struct ap_err *err)
{
	struct inst *s = ctx;
	char *rel = txn_join(s->cur_to, relpath);
	int rc;

	if (!rel)
		return txn_nomem(err, "recording installed files");
	rc = add_rec(s, rel, mode, size, sha256, s->cur, NULL, err);
	free(rel);
	return rc;
}

#define STAGE_BLOCK (256 * 1024)

/* Hash the file at path (opened once) and compare it with c's size and
 * sha256; what names it in messages. */
static int hash_staged(const char *path, const char *what, const struct ap_component *c,
		       struct ap_err *err)
{
	struct ap_digest *h = ap_digest_new();
	unsigned char *buf = malloc(STAGE_BLOCK);
	char hex[AP_SHA256_HEX];
	uint64_t done = 0;
	FILE *fp = NULL;
	size_t n;
	int rc;

	if (!h || !buf) {
		rc = txn_nomem(err, "hashing a staged file");
		goto out;
	}
	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc < 0)
		goto out;
	while ((n = fread(buf, 1, STAGE_BLOCK, fp)) > 0) {
		ap_digest_update(h, buf, n);
		done += n;
	}
	if (ferror(fp)) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
		goto out;
	}
	ap_digest_final_hex(h, hex);
	if (done != c->size || !ap_digest_eq(hex, c->sha256))
		rc = ap_err_set(err, AP_E_DIGEST,
				"'%s' is %llu bytes with sha256 %s, the signed "
				"manifest says %llu bytes with sha256 %s",
				what, (unsigned long long)done, hex, (unsigned long long)c->size,
				c->sha256);
out:
	if (fp)
		fclose(fp);
	free(buf);
	ap_digest_free(h);
	return rc;
}

/* The check event of a payload hashed in the read that staged it. */
static void emit_check(struct inst *s, const struct ap_component *c, const char *path, bool ok,
		       const char *expected, const char *actual, uint64_t size)
{
	struct ap_txn_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.phase = AP_TXN_PH_CHECK;
	ev.verdict = ok ? AP_TXN_V_OK : AP_TXN_V_MISMATCH;
	ev.product = s->m->product;
	ev.component = c->name;
	ev.path = path;
	ev.expected_sha256 = expected;
	ev.actual_sha256 = actual;
	ev.size = size;
	txn_emit(s->o, &ev);
}

/* Rename a movable copy/run payload (airpack's own verified copy, see
 * ap_txn_payload_fn) to dst in the stage and give it its mode.  *moved
 * false: the file is still at src, to be copied instead. */
static int stage_move(struct inst *s, const struct ap_component *c, const char *src,
		      const char *dst, bool *moved, struct ap_err *err)
{
	struct ap_err e = AP_ERR_INIT;
	struct ap_stat st;
	int rc;

	*moved = false;
	if (!c->has_size || !c->has_sha256)
		return 0;
	if (ap_fsx_rename(src, dst, &e) != 0) {
		/* Still there: refused (another file system, an OS that
		 * cannot), so it is copied.  Gone: it was renamed, and what
		 * failed after that (a folder's fsync) is the error. */
		if (ap_fsx_stat(src, &st, NULL) == 0 && st.type == AP_FT_FILE)
			return 0;
		return ap_err_set(err, e.code, "%s", e.msg);
	}
	*moved = true;
	/* The rename moved whatever was at src when it ran, which need not be
	 * the file airpack checked while writing it: the moved file is hashed
	 * where it now is, in the stage, and must still be the manifest's. */
	rc = ap_fsx_stat(dst, &st, err);
	if (rc == 0 && (st.type != AP_FT_FILE || st.size != c->size))
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' is %llu bytes, expected %llu", src,
				(unsigned long long)st.size, (unsigned long long)c->size);
	if (rc == 0)
		rc = hash_staged(dst, src, c, err);
	if (rc == 0)
		rc = ap_fsx_chmod(dst, c->mode, err);
	if (rc == 0 && s->o->mtime >= 0)
		rc = ap_fsx_set_mtime(dst, s->o->mtime, err);
	if (rc == 0)
		rc = ap_fsx_fsync_path(dst, err);
	return rc;
}

/* Copy a copy/run payload into the stage, hashing it on the way and
 * comparing with the manifest: this read is the one that counts (a local
 * file may be handed out unchecked, and one checked before may have
 * changed since).  A movable one is renamed instead when it can be. */
static int stage_copy(struct inst *s, const struct ap_component *c, const char *src, bool movable,
		      struct ap_err *err)
{
	const char *dest = ap_manifest_component_dest(c);
	struct ap_sink_expect x = { src, c->has_size, c->size, c->has_sha256 ? c->sha256 : NULL,
				    NULL };
	struct ap_sink sink = AP_SINK_INIT;
	char *dst = ap_fsx_path_join(s->stage_abs, dest);
	char *dir = NULL;
	char *rel = NULL;
	bool moved = false;
	int rc;

	if (!dst)
		return txn_nomem(err, "staging");
	rel = ap_fsx_path_join(s->stage_rel, dest);
	dir = rel ? ap_fsx_path_dirname(rel) : NULL;
	free(rel);
	rel = ap_fsx_path_join(s->m->prefix, dest);
	if (!dir || !rel) {
		rc = txn_nomem(err, "staging");
		goto out;
	}
	/* The file's folder, made under the root through no symlink. */
	rc = ap_fsx_mkdirs_noted(s->p->root, dir, NULL, NULL, err);
	if (rc == 0 && movable)
		rc = stage_move(s, c, src, dst, &moved, err);
	if (rc == 0 && moved) {
		rc = add_rec(s, dest, c->mode, c->size, c->sha256, c, c->sha256, err);
		goto out;
	}
	if (rc == 0)
		rc = ap_sink_open(&sink, dst, c->mode, &x, err);
	if (rc == 0)
		rc = ap_sink_write_file(&sink, src, NULL, NULL, err);
	if (rc == 0)
		rc = ap_sink_commit(&sink, NULL, err);
	/* A mismatch found after hashing it all is reported with both hashes. */
	if (rc == 0 || (rc == AP_E_DIGEST && sink.hex[0]))
		emit_check(s, c, rel, rc == 0, x.sha256, sink.hex, sink.done);
	if (rc == AP_E_DIGEST)
		ap_err_prefix(err, "payload read to install it differs from the signed manifest");
	if (rc)
		goto out;
	if (s->o->mtime >= 0)
		rc = ap_fsx_set_mtime(dst, s->o->mtime, err);
	if (rc == 0)
		rc = add_rec(s, dest, c->mode, sink.done, sink.hex, c, x.sha256, err);
out:
	ap_sink_abort(&sink);
	free(dst);
	free(dir);
	free(rel);
	return rc;
}

/* An extract payload whose release manifest predates "expanded" may
 * expand to LEGACY_RATIO times its size, and at least LEGACY_FLOOR bytes
 * (docs/manifest.md). */
#define LEGACY_RATIO 64u
#define LEGACY_FLOOR (16ull << 20)

static uint64_t legacy_cap(const struct ap_component *c)
{
	uint64_t cap;

	if (c->has_expanded)
		return 0;
	cap = c->size > UINT64_MAX / LEGACY_RATIO ? UINT64_MAX : c->size * LEGACY_RATIO;
	return cap < LEGACY_FLOOR ? LEGACY_FLOOR : cap;
}

int txn_stage_component(struct inst *s, const struct ap_component *c, const char *src, bool movable,
			struct ap_err *err)
{
	char *dest = NULL;
	int rc;

	if (c->action != AP_ACTION_EXTRACT)
		return stage_copy(s, c, src, movable, err);
	s->cur = c;
	s->cur_to = c->to ? c->to : "";
	/* Under the root, through no symlink planted there since the plan. */
	dest = txn_join(s->stage_rel, s->cur_to);
	if (!dest)
		return txn_nomem(err, "staging");
	rc = ap_fsx_mkdirs_noted(s->p->root, dest, NULL, NULL, err);
	if (rc == 0) {
		struct ap_extract_expect x = { 0 };

		x.has_size = c->has_size;
		x.size = c->size;
		x.sha256 = c->has_sha256 ? c->sha256 : NULL;
		x.says = "the signed manifest says";
		x.has_expanded = c->has_expanded;
		x.expanded_size = c->expanded_size;
		x.expanded_files = c->expanded_files;
		x.max_expanded = legacy_cap(c);
		x.changed = "payload read to install it differs from the signed manifest";
		x.spool_dir = s->stage_abs;
		x.dest_root = s->p->root;
		x.windows_names = ap_manifest_for_windows(s->m);
		x.defer_sync = true; /* the whole stage is synced once: txn_finish_stage */
		rc = ap_extract_checked(src, dest, s->o->mtime, &x, extract_cb, s, err);
	}
	/* The archive was hashed in the read that extracted it (a mismatch
	 * is the error): the audit says so, as for a copied payload. */
	if (rc == 0 && c->has_sha256)
		emit_check(s, c, c->file, true, c->sha256, c->sha256, c->size);
	free(dest);
	s->cur = NULL;
	return rc;
}

static int cmp_recp(const void *a, const void *b)
{
	const struct ap_receipt_file *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/* Two components writing the same path, or one writing below a file (or
 * a file where a folder is) of another: the later one replaced what the
 * earlier one staged, and the receipt would name a file that is not on
 * disk.  Refused, naming both. */
int txn_check_overlaps(struct inst *s, struct ap_err *err)
{
	size_t plen = strlen(s->m->prefix);
	struct ap_receipt_file **v = NULL;
	int rc = 0;

	if (s->n_recs == 0)
		return 0;
	v = malloc(s->n_recs * sizeof(*v));
	if (!v)
		return txn_nomem(err, "checking staged files");
	for (size_t i = 0; i < s->n_recs; i++)
		v[i] = &s->recs[i];
	qsort(v, s->n_recs, sizeof(*v), cmp_recp);
	for (size_t i = 0; i < s->n_recs && rc == 0; i++) {
		char *path = v[i]->path, *parent;
		const char *in = path + plen + (path[plen] == '/');

		if (i > 0 && strcmp(v[i - 1]->path, path) == 0) {
			rc = ap_err_set(err, AP_E_UNSAFE,
					"components '%s' and '%s' both install '%s': refusing "
					"the release",
					v[i - 1]->component, v[i]->component, path);
			break;
		}
		if (!strchr(in, '/'))
			continue;
		parent = ap_strdup(path);
		if (!parent) {
			rc = txn_nomem(err, "checking staged files");
			break;
		}
		for (char *sl = strchr(parent + (in - path), '/'); sl && rc == 0;
		     sl = strchr(sl + 1, '/')) {
			struct ap_receipt_file key, *kp = &key, **hit;

			/* The parent's name is the path cut at this '/'. */
			*sl = '\0';
			key.path = parent;
			hit = bsearch(&kp, v, s->n_recs, sizeof(*v), cmp_recp);
			*sl = '/';
			if (hit) {
				rc = ap_err_set(err, AP_E_UNSAFE,
						"'%s' of component '%s' is below '%s', a file of "
						"component '%s': refusing the release",
						path, v[i]->component, (*hit)->path,
						(*hit)->component);
			}
		}
		free(parent);
	}
	/* A file that is a folder on disk: a later component made it one with
	 * an empty folder entry. */
	for (size_t i = 0; i < s->n_recs && rc == 0; i++) {
		const char *path = v[i]->path;
		const char *in = path + plen + (path[plen] == '/');

		if (txn_strv_has(s->rel_dirs.v, s->rel_dirs.n, in))
			rc = ap_err_set(err, AP_E_UNSAFE,
					"'%s' of component '%s' is a folder in the staged tree "
					"(another component made it one): refusing the release",
					path, v[i]->component);
	}
	free(v);
	return rc;
}

#define MIB(n) (((n) + (1u << 20) - 1) >> 20)
/* Allowance per file for the blocks and metadata it takes beyond its
 * bytes. */
#define FILE_OVERHEAD 4096u

/* Room for the whole new tree on the file system of the stage, checked
 * before anything is staged: every component's bytes (an extract
 * component's signed expanded size, or its archive size for a release
 * without it), a block per file, and the largest archive once more for the
 * private copy a zip is read from.  Carried user files are hard links and
 * cost nothing. */
int txn_check_space(struct inst *s, struct ap_err *err)
{
	uint64_t need = 0, spool = 0, avail = 0;
	int rc;

	for (size_t i = 0; i < s->m->n_components; i++) {
		const struct ap_component *c = &s->m->components[i];
		uint64_t bytes = c->size + FILE_OVERHEAD;

		if (c->action == AP_ACTION_EXTRACT) {
			if (c->has_expanded)
				bytes = c->expanded_size + c->expanded_files * FILE_OVERHEAD;
			if (c->size > spool)
				spool = c->size;
		}
		need = need + bytes < need ? UINT64_MAX : need + bytes;
	}
	need = need + spool < need ? UINT64_MAX : need + spool;
	rc = ap_fsx_free_space(s->parent_abs, &avail, err);
	if (rc < 0)
		return rc;
	if (need > avail)
		return ap_err_set(err, AP_E_IO,
				  "not enough space to install '%s' %s: needs %llu MiB, %llu MiB "
				  "free on the file system of '%s'",
				  s->m->product, s->m->version, (unsigned long long)MIB(need),
				  (unsigned long long)(avail >> 20), s->parent_abs);
	return 0;
}

/* mkdir -p ROOT/rel, remembering which folders did not exist before. */
static int note_made(void *ctx, const char *rel, struct ap_err *err)
{
	struct inst *s = ctx;

	return txn_strvec_push(&s->created, rel, err);
}

int txn_mkdirs_noted(struct inst *s, const char *rel, struct ap_err *err)
{
	return ap_fsx_mkdirs_noted(s->p->root, rel, note_made, s, err);
}

/* Was rel (relative to the root) a file or a folder of the old release? */
static bool old_has_file(const struct inst *s, const char *rel)
{
	return s->old && ap_receipt_find_file(s->old, rel);
}

static bool old_has_dir(const struct inst *s, const char *rel)
{
	return s->old && txn_strv_has(s->old->dirs, s->old->n_dirs, rel);
}

/* Put the old tree's src (relative to the prefix) at dst in the stage. */
/* One old-tree entry carried into the stage: the cases (release wins, kept beside, folder,
 * file, link fallback) share one cleanup. */
static int carry_entry(struct inst *s, const char *src, const char *dst, struct ap_err *err)
{
	struct ap_stat st, dt, sv;
	char *from = txn_join(s->prefix_abs, src);
	char *to = txn_join(s->stage_abs, dst);
	char *rel = ap_fsx_path_join(s->m->prefix, src);
	char *save = NULL, *save_abs = NULL, *save_rel = NULL, *dir = NULL;
	char detail[512];
	bool fallback;
	int rc;

	if (!from || !to || !rel) {
		rc = txn_nomem(err, "keeping user files");
		goto out;
	}
	rc = ap_fsx_stat(from, &st, err);
	if (rc == 0)
		rc = ap_fsx_stat(to, &dt, err);
	if (rc < 0 || st.type == AP_FT_NONE)
		goto out;
	if (st.type != AP_FT_DIR && old_has_file(s, rel))
		goto out; /* the old release's own file: replaced by the new tree */
	if (st.type == AP_FT_DIR && dt.type == AP_FT_DIR) {
		rc = txn_carry_dir(s, src, dst, err);
		goto out;
	}
	if (dt.type != AP_FT_NONE) {
		/* A release file or folder is in the way: the release wins, the
		 * user's entry is kept beside it when that name is free. */
		size_t len = strlen(dst) + sizeof(SAVE_SUFFIX);

		save = malloc(len);
		if (!save) {
			rc = txn_nomem(err, "keeping user files");
			goto out;
		}
		snprintf(save, len, "%s%s", dst, SAVE_SUFFIX);
		save_abs = ap_fsx_path_join(s->stage_abs, save);
		save_rel = ap_fsx_path_join(s->m->prefix, save);
		if (!save_abs || !save_rel) {
			rc = txn_nomem(err, "keeping user files");
			goto out;
		}
		rc = ap_fsx_stat(save_abs, &sv, err);
		if (rc < 0)
			goto out;
		rc = txn_strvec_push(&s->conflicts, rel, err);
		if (rc < 0)
			goto out;
		if (sv.type != AP_FT_NONE) {
			snprintf(detail, sizeof(detail),
				 "replaced by the release; not saved: '%s' exists", save_rel);
			txn_emit_simple(s->o, AP_TXN_PH_KEEP, AP_TXN_V_CONFLICT, s->m->product,
					NULL, rel, detail);
			goto out;
		}
		snprintf(detail, sizeof(detail), "replaced by the release; saved as '%s'",
			 save_rel);
		txn_emit_simple(s->o, AP_TXN_PH_KEEP, AP_TXN_V_CONFLICT, s->m->product, NULL, rel,
				detail);
		free(to);
		to = save_abs;
		save_abs = NULL;
		dst = save;
	}
	if (st.type == AP_FT_DIR) {
		/* A folder the user made is kept even when empty; an old
		 * release folder only when something in it is kept. */
		if (!old_has_dir(s, rel)) {
			rc = ap_fsx_mkdirs_under(s->stage_abs, dst, st.mode ? st.mode : 0755, err);
			if (rc < 0)
				goto out;
		}
		rc = txn_carry_dir(s, src, dst, err);
		goto out;
	}
	/* The folders above it are made in the stage, never through a
	 * symlink the new release put there. */
	dir = ap_fsx_path_dirname(dst);
	if (!dir) {
		rc = txn_nomem(err, "keeping user files");
		goto out;
	}
	rc = ap_fsx_mkdirs_under(s->stage_abs, dir, 0755, err);
	if (rc == 0)
		rc = ap_fsx_link(from, to, &fallback, err);
	if (rc == 0 && fallback) {
		if (st.type != AP_FT_FILE) {
			rc = ap_err_set(err, AP_E_IO,
					"cannot keep '%s' across the upgrade: it cannot be linked "
					"and is not a regular file",
					from);
			goto out;
		}
		rc = ap_fsx_copy_file(from, to, st.mode, err);
	}
	if (rc < 0)
		goto out;
	s->n_kept++;
	txn_emit_simple(s->o, AP_TXN_PH_KEEP, AP_TXN_V_KEPT, s->m->product, NULL, rel, NULL);
out:
	free(from);
	free(to);
	free(rel);
	free(save);
	free(save_abs);
	free(save_rel);
	free(dir);
	return rc;
}

int txn_carry_dir(struct inst *s, const char *src, const char *dst, struct ap_err *err)
{
	char *abs = txn_join(s->prefix_abs, src);
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!abs)
		return txn_nomem(err, "keeping user files");
	rc = ap_fsx_list_dir(abs, &names, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *csrc = txn_join(src, names[i]);
		char *cdst = txn_join(dst, names[i]);

		if (csrc && cdst)
			rc = carry_entry(s, csrc, cdst, err);
		else
			rc = txn_nomem(err, "keeping user files");
		free(csrc);
		free(cdst);
	}
	ap_fsx_strv_free(names, n);
	free(abs);
	return rc;
}

static int set_dir_meta(struct inst *s, const char *rel_prefix, bool chmod_it, struct ap_err *err)
{
	char *abs = txn_join(s->stage_abs, rel_prefix);
	int rc = 0;

	if (!abs)
		return txn_nomem(err, "finishing the stage");
	if (chmod_it)
		rc = ap_fsx_chmod(abs, 0755, err);
	if (rc == 0 && s->o->mtime >= 0)
		rc = ap_fsx_set_mtime(abs, s->o->mtime, err);
	free(abs);
	return rc;
}

/* Every stage folder gets its mode (release folders) and time, deepest
 * first, and the stage's own folder last; then the whole stage is made
 * durable in one step (extracted files were written without an fsync
 * each, their writeback started as they were written), and its parent. */
int txn_finish_stage(struct inst *s, struct ap_err *err)
{
	struct ap_strvec all = AP_STRVEC_INIT;
	int rc;

	rc = txn_collect_dirs(s->stage_abs, &all, err);
	for (size_t i = all.n; i > 0 && rc == 0; i--) {
		bool release = txn_strv_has(s->rel_dirs.v, s->rel_dirs.n, all.v[i - 1]);

		rc = set_dir_meta(s, all.v[i - 1], release, err);
	}
	if (rc == 0)
		rc = set_dir_meta(s, "", true, err);
	if (rc == 0)
		rc = ap_fsx_sync_tree(s->stage_abs, err);
	if (rc == 0)
		rc = ap_fsx_fsync_dir(s->parent_abs, err);
	ap_strvec_release(&all);
	return rc;
}
