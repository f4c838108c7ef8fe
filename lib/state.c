/* state.c - airpack's on-disk state, its lock and recovery; see airpack/state.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/bounds.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define JOURNAL_MAX (1024 * 1024)
#define OWNER_MAX 4096
#define OWNER_FILE "lock.owner"

const char *const ap_state_files[] = { "receipt.json", "manifest.json", "manifest.json.sig" };
const size_t ap_state_n_files = sizeof(ap_state_files) / sizeof(ap_state_files[0]);

static char command[128] = "airpack";

static int nomem(struct ap_err *err, const char *what)
{
	return ap_err_set(err, AP_E_NOMEM, "out of memory %s", what);
}

void ap_state_set_command(const char *cmd)
{
	snprintf(command, sizeof(command), "%s", cmd ? cmd : "airpack");
	/* One line in lock.owner. */
	for (char *c = command; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

const char *ap_state_reserved_overlap(const char *rel)
{
	return ap_bounds_airpack_overlap(rel);
}

static char *under(const char *root, const char *base, const char *product)
{
	return root ? ap_fsx_path_join3(root, base, product) : ap_fsx_path_join(base, product);
}

char *ap_state_dir(const char *root, const char *product)
{
	return under(root, AP_STATE_BASE, product);
}

char *ap_state_cache_dir(const char *root, const char *product)
{
	return under(root, AP_STATE_CACHE_BASE, product);
}

int ap_state_init(struct ap_state *st, const char *root, const char *product, struct ap_err *err)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->lock = -1;
	st->root_lock = -1;
	st->mtime = -1;
	if (!ap_manifest_safe_name(product))
		return ap_err_set(err, AP_E_USAGE, "'%s' is not a valid product name", product);
	st->root = ap_strdup(root ? root : ap_fsx_default_root());
	st->name = ap_strdup(product);
	st->state_rel = ap_state_dir(NULL, product);
	if (!st->root || !st->name || !st->state_rel) {
		ap_state_release(st);
		return nomem(err, "opening the state folder");
	}
	st->state = ap_fsx_path_join(st->root, st->state_rel);
	if (!st->state) {
		ap_state_release(st);
		return nomem(err, "opening the state folder");
	}
	rc = ap_fsx_abspath(st->root, &st->aroot, err);
	if (rc < 0)
		ap_state_release(st);
	return rc;
}

/* ROOT/var/lib/airpack/.install.lock and the holder it records. */
#define ROOT_LOCK ".install.lock"
#define ROOT_OWNER ".install.owner"

static void root_paths(const struct ap_state *st, char **lock, char **owner)
{
	char *base = ap_fsx_path_join(st->root, AP_STATE_BASE);

	*lock = base ? ap_fsx_path_join(base, ROOT_LOCK) : NULL;
	*owner = base ? ap_fsx_path_join(base, ROOT_OWNER) : NULL;
	free(base);
}

static void unlock_root(struct ap_state *st)
{
	char *lock, *owner;
	struct ap_err ignore = AP_ERR_INIT;

	/* A struct only zeroed (never ap_state_init'ed) holds nothing. */
	if (st->root_lock < 0 || !st->root)
		return;
	root_paths(st, &lock, &owner);
	/* The lock file stays (removing a locked file races with the next
	 * holder, and Windows moves a file in use aside); the last uninstall
	 * removes it (ap_state_remove_base). */
	if (owner)
		ap_fsx_unlink(owner, &ignore);
	ap_fsx_unlock(st->root_lock);
	st->root_lock = -1;
	if (st->mtime >= 0) {
		/* An image build's time stays on airpack's folder, which the
		 * lock's files changed, and on every folder above it this
		 * transaction created (the last writes are done now). */
		char *base = ap_fsx_path_join(st->root, AP_STATE_BASE);

		if (lock)
			ap_fsx_set_mtime(lock, st->mtime, &ignore);
		if (base)
			ap_fsx_set_mtime(base, st->mtime, &ignore);
		free(base);
		for (size_t i = st->n_created; i > 0; i--) {
			char *abs = ap_fsx_path_join(st->root, st->created[i - 1]);

			if (abs && ap_fsx_is_dir(abs))
				ap_fsx_set_mtime(abs, st->mtime, &ignore);
			free(abs);
		}
	}
	free(lock);
	free(owner);
}

void ap_state_remove_base(const char *root)
{
	char *base = ap_fsx_path_join(root ? root : ap_fsx_default_root(), AP_STATE_BASE);
	char *lock = base ? ap_fsx_path_join(base, ROOT_LOCK) : NULL;
	char **names = NULL;
	size_t n = 0;
	struct ap_err ignore = AP_ERR_INIT;

	if (lock && ap_fsx_list_dir(base, &names, &n, &ignore) == 0) {
		/* Only when nothing else is left: an install of another product
		 * has its state folder here while it holds the lock. */
		if (n == 1 && strcmp(names[0], ROOT_LOCK) == 0)
			ap_fsx_unlink(lock, &ignore);
		ap_fsx_strv_free(names, n);
		ap_fsx_rmdir(base, &ignore);
	}
	free(lock);
	free(base);
}

int ap_state_lock_root(struct ap_state *st, struct ap_err *err)
{
	char *lock, *owner, *buf = NULL;
	struct ap_err e = AP_ERR_INIT;
	size_t len = 0;
	char rec[192];
	int n, rc;

	if (st->root_lock >= 0)
		return 0;
	root_paths(st, &lock, &owner);
	if (!lock || !owner) {
		rc = nomem(err, "locking the root");
		goto out;
	}
	rc = ap_fsx_lock_mode(lock, false, &st->root_lock, &e);
	if (rc == AP_E_STATE) {
		long pid = 0;
		char product[128] = "another product";

		if (ap_fsx_read_file(owner, OWNER_MAX, &buf, &len, NULL) == 0) {
			char *nl = memchr(buf, '\n', len);

			pid = strtol(buf, NULL, 10);
			if (nl && nl + 1 < buf + len)
				snprintf(product, sizeof(product), "'%.*s'",
					 (int)strcspn(nl + 1, "\n"), nl + 1);
		}
		rc = ap_err_set(err, AP_E_STATE,
				"busy: %s is being installed into '%s' (pid %ld, lock '%s'); one "
				"install into a root at a time, so no release can take another's "
				"folders: try again when it has finished",
				product, st->root, pid, lock);
		st->root_lock = -1;
		goto out;
	}
	if (rc < 0) {
		ap_err_set(err, e.code, "%s", e.msg);
		st->root_lock = -1;
		goto out;
	}
	n = snprintf(rec, sizeof(rec), "%ld\n%s\n", ap_fsx_pid(), st->name);
	rc = ap_fsx_write_atomic(owner, rec, (size_t)n, 0644, err);
	if (rc < 0)
		unlock_root(st);
out:
	free(buf);
	free(lock);
	free(owner);
	return rc;
}

static void unlock(struct ap_state *st)
{
	unlock_root(st);
	if (st->lock < 0)
		return;
	if (st->exclusive) {
		/* Ours: the holder is gone once the lock is. */
		char *owner = ap_state_file(st, OWNER_FILE, NULL);
		struct ap_err ignore = AP_ERR_INIT;

		if (owner)
			ap_fsx_unlink(owner, &ignore);
		free(owner);
		if (st->mtime >= 0)
			ap_fsx_set_mtime(st->state, st->mtime, &ignore);
	}
	ap_fsx_unlock(st->lock);
	st->lock = -1;
	st->exclusive = false;
}

void ap_state_release(struct ap_state *st)
{
	unlock(st);
	free(st->root);
	free(st->aroot);
	free(st->name);
	free(st->state_rel);
	free(st->state);
	ap_fsx_strv_free(st->created, st->n_created);
	memset(st, 0, sizeof(*st));
	st->lock = -1;
	st->root_lock = -1;
	st->mtime = -1;
}

char *ap_state_file(const struct ap_state *st, const char *name, const char *suffix)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%s", name, suffix ? suffix : "");
	return ap_fsx_path_join(st->state, buf);
}

bool ap_state_has(const struct ap_state *st, const char *name)
{
	char *path = ap_state_file(st, name, NULL);
	bool has = path && ap_fsx_is_file(path);

	free(path);
	return has;
}

/* Create the state folder and each missing folder above it (up to the
 * root), noting those made in st->created, outermost first. */
static int note_made(void *ctx, const char *rel, struct ap_err *err)
{
	struct ap_state *st = ctx;
	char **v = ap_vec_grow(st->created, NULL, st->n_created + 1, sizeof(*v));

	if (!v)
		return nomem(err, "creating the state folder");
	st->created = v;
	v[st->n_created] = ap_strdup(rel);
	if (!v[st->n_created])
		return nomem(err, "creating the state folder");
	st->n_created++;
	return 0;
}

static int make_state_dir(struct ap_state *st, struct ap_err *err)
{
	return ap_fsx_mkdirs_noted(st->root, st->state_rel, note_made, st, err);
}

/* The "busy" error, naming the holder recorded in lock.owner when there
 * is one.  A holder without a record is a reader (readers record none). */
static int busy(const struct ap_state *st, bool shared, const char *lock, struct ap_err *err)
{
	char *owner = ap_state_file(st, OWNER_FILE, NULL);
	char *buf = NULL;
	size_t len = 0;
	long pid = 0;
	char cmd[128] = "";
	int rc;

	if (owner && ap_fsx_read_file(owner, OWNER_MAX, &buf, &len, NULL) == 0) {
		char *nl = memchr(buf, '\n', len);

		pid = strtol(buf, NULL, 10);
		if (nl)
			snprintf(cmd, sizeof(cmd), "%.*s", (int)(len - (size_t)(nl + 1 - buf)),
				 nl + 1);
		len = strlen(cmd);
		if (len && cmd[len - 1] == '\n')
			cmd[len - 1] = '\0';
	}
	if (pid > 0) {
		size_t cl = strlen(cmd);
		bool install = cl >= 8 && strcmp(cmd + cl - 8, " install") == 0;

		if (install)
			rc = ap_err_set(
				err, AP_E_STATE,
				"busy: an install is in progress: '%s' is locked by pid %ld "
				"(%s) through '%s'; try again when it has finished",
				st->name, pid, cmd, lock);
		else
			rc = ap_err_set(err, AP_E_STATE,
					"busy: '%s' is locked by pid %ld (%s) through '%s'; try "
					"again when it has finished",
					st->name, pid, cmd[0] ? cmd : "airpack", lock);
	} else if (shared) {
		/* Only a writer keeps a reader out; it has not said who yet. */
		rc = ap_err_set(err, AP_E_STATE,
				"busy: an install is in progress, or another change of '%s' "
				"(lock '%s'); try again when it has finished",
				st->name, lock);
	} else {
		rc = ap_err_set(err, AP_E_STATE,
				"busy: '%s' is being read by another airpack-setup (verify or "
				"status) holding '%s'; try again in a moment",
				st->name, lock);
	}
	free(buf);
	free(owner);
	return rc;
}

static int write_owner(const struct ap_state *st, struct ap_err *err)
{
	char *owner = ap_state_file(st, OWNER_FILE, NULL);
	char buf[192];
	int n, rc;

	if (!owner)
		return nomem(err, "locking");
	n = snprintf(buf, sizeof(buf), "%ld\n%s\n", ap_fsx_pid(), command);
	rc = ap_fsx_write_atomic(owner, buf, (size_t)n, 0644, err);
	free(owner);
	return rc;
}

/* A writer held off only by readers (no holder recorded) waits for them,
 * this long at most: a verify never makes an install fail, but an install
 * never waits for another writer. */
#define READER_WAIT_MS 10000
#define READER_POLL_MS 50

static int take(struct ap_state *st, bool shared, struct ap_err *err)
{
	char *path = ap_state_file(st, "lock", NULL);
	char *owner = ap_state_file(st, OWNER_FILE, NULL);
	struct ap_err e = AP_ERR_INIT;
	int rc;

	if (!path || !owner) {
		free(path);
		free(owner);
		return nomem(err, "locking");
	}
	rc = ap_fsx_lock_mode(path, shared, &st->lock, &e);
	for (unsigned waited = 0;
	     rc == AP_E_STATE && !shared && !ap_fsx_is_file(owner) && waited < READER_WAIT_MS;
	     waited += READER_POLL_MS) {
		ap_fsx_sleep_ms(READER_POLL_MS);
		ap_err_clear(&e);
		rc = ap_fsx_lock_mode(path, shared, &st->lock, &e);
	}
	free(owner);
	if (rc == AP_E_STATE) {
		rc = busy(st, shared, path, err);
	} else if (rc < 0) {
		ap_err_set(err, e.code, "%s", e.msg);
		ap_err_prefix(err, "'%s'", st->name);
	}
	free(path);
	if (rc < 0) {
		st->lock = -1;
		return rc;
	}
	st->exclusive = !shared;
	return 0;
}

int ap_state_lock(struct ap_state *st, enum ap_state_mode mode, ap_state_recover_fn fn, void *ctx,
		  bool *recovered, struct ap_err *err)
{
	int rc;

	if (st->lock >= 0)
		return ap_err_set(err, AP_E_USAGE, "'%s' is already locked", st->name);
	if (mode == AP_STATE_READ) {
		if (!ap_fsx_is_dir(st->state))
			return 0;
		rc = take(st, true, err);
		if (rc < 0)
			return rc;
		if (ap_state_has(st, OWNER_FILE)) {
			/* No writer can hold the lock now: a killed one left it,
			 * and it would name a gone process to the next writer
			 * waiting for readers. */
			char *owner = ap_state_file(st, OWNER_FILE, NULL);
			struct ap_err ignore = AP_ERR_INIT;

			if (owner)
				ap_fsx_unlink(owner, &ignore);
			free(owner);
		}
		if (!ap_state_has(st, "txn.json"))
			return 0;
		/* Cut short: recover, which needs the lock to ourselves. */
		unlock(st);
	} else {
		rc = make_state_dir(st, err);
		if (rc < 0)
			return rc;
	}
	rc = take(st, false, err);
	if (rc == 0)
		rc = write_owner(st, err);
	if (rc == 0)
		rc = ap_state_recover(st, fn, ctx, recovered, err);
	if (rc < 0)
		unlock(st);
	return rc;
}

static int load_journal(const char *path, struct ap_receipt_journal **out, struct ap_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = ap_fsx_read_file(path, JOURNAL_MAX, &buf, &len, err);
	if (rc < 0)
		return rc;
	rc = ap_receipt_journal_parse(buf, len, out, err);
	if (rc < 0)
		ap_err_prefix(err, "'%s'", path);
	free(buf);
	return rc;
}

/* Rename the *.new state files over the current ones (a missing .new was
 * already renamed).  Without a signature the old one goes. */
static int commit_state_files(const struct ap_state *st, bool has_sig, struct ap_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < ap_state_n_files && rc == 0; i++) {
		char *cur = ap_state_file(st, ap_state_files[i], NULL);
		char *neu = ap_state_file(st, ap_state_files[i], ".new");

		if (!cur || !neu)
			rc = nomem(err, "committing the state");
		else if (ap_fsx_is_file(neu))
			rc = ap_fsx_rename(neu, cur, err);
		else if (!has_sig && strcmp(ap_state_files[i], "manifest.json.sig") == 0)
			rc = ap_fsx_unlink(cur, err);
		free(cur);
		free(neu);
	}
	return rc;
}

int ap_state_clean_new(const struct ap_state *st, struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!ap_fsx_is_dir(st->state))
		return 0;
	rc = ap_fsx_list_dir(st->state, &names, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t len = strlen(names[i]);
		bool is_new = len > 4 && strcmp(names[i] + len - 4, ".new") == 0;

		if (is_new || strstr(names[i], ".tmp-")) {
			char *path = ap_fsx_path_join(st->state, names[i]);

			rc = path ? ap_fsx_unlink(path, err) : nomem(err, "cleaning the state");
			free(path);
		}
	}
	ap_fsx_strv_free(names, n);
	return rc;
}

/* Recovery's decision table (switched or not, old tree left or not) reads best as one function. */
int ap_state_recover(struct ap_state *st, ap_state_recover_fn fn, void *ctx, bool *recovered,
		     struct ap_err *err)
{
	struct ap_receipt_journal *j = NULL;
	char *jpath = ap_state_file(st, "txn.json", NULL);
	char *prefix = NULL, *stage = NULL, *old = NULL, *parent = NULL;
	struct ap_file_id id;
	int rc;

	if (!jpath)
		return nomem(err, "recovering");
	if (!ap_fsx_is_file(jpath)) {
		rc = ap_state_clean_new(st, err);
		goto out;
	}
	rc = load_journal(jpath, &j, err);
	if (rc < 0)
		goto out;
	prefix = ap_fsx_path_join(st->root, j->prefix);
	stage = ap_fsx_path_join(st->root, j->stage);
	old = ap_fsx_path_join(st->root, j->old);
	parent = prefix ? ap_fsx_path_dirname(prefix) : NULL;
	if (!prefix || !stage || !old || !parent) {
		rc = nomem(err, "recovering");
		goto out;
	}
	rc = ap_fsx_file_id(prefix, &id, err);
	if (rc < 0)
		goto out;
	if (id.exists && id.dev == j->stage_dev && id.ino == j->stage_ino) {
		/* The switch happened: the new tree is live; finish the commit. */
		rc = commit_state_files(st, j->has_sig, err);
		if (rc == 0)
			rc = ap_fsx_rm_rf(stage, err);
		if (rc == 0) {
			/* The old tree is only left over now: a file another
			 * program still holds open (Windows) keeps it, and the
			 * next install removes it; the commit is done either way,
			 * so readers and uninstall are not stopped by it. */
			struct ap_err kept = AP_ERR_INIT;

			(void)ap_fsx_rm_rf(old, &kept);
			rc = ap_fsx_fsync_dir(parent, err);
		}
		if (rc < 0)
			goto out;
		if (fn)
			fn(ctx, st->name, true, j->prefix, j->version);
	} else {
		/* No switch: the old tree is intact (or parked at old by a
		 * two-rename switch cut in the middle). */
		if (!id.exists && ap_fsx_is_dir(old))
			rc = ap_fsx_rename(old, prefix, err);
		if (rc == 0)
			rc = ap_fsx_rm_rf(stage, err);
		if (rc == 0)
			rc = ap_fsx_fsync_dir(parent, err);
		if (rc == 0)
			rc = ap_state_clean_new(st, err);
		if (rc < 0)
			goto out;
		if (fn)
			fn(ctx, st->name, false, j->prefix, j->version);
	}
	rc = ap_fsx_unlink(jpath, err);
	if (rc == 0)
		rc = ap_fsx_fsync_dir(st->state, err);
	if (rc == 0) {
		st->recovered = true;
		if (recovered)
			*recovered = true;
	}
out:
	if (rc < 0)
		ap_err_prefix(err, "recovering the interrupted transaction of '%s'", st->name);
	ap_receipt_journal_free(j);
	free(jpath);
	free(prefix);
	free(stage);
	free(old);
	free(parent);
	return rc;
}

/* ---- work folders ---- */

static bool is_work_name(const char *name)
{
	size_t n = strlen(AP_STATE_WORK_PREFIX);

	return strncmp(name, AP_STATE_WORK_PREFIX, n) == 0 && (name[n] == '\0' || name[n] == '-');
}

static int purge_work(const struct ap_state *st, const char *cache, size_t *count,
		      struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!ap_fsx_is_dir(cache))
		return 0;
	rc = ap_fsx_list_dir(cache, &names, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path;

		if (!is_work_name(names[i]))
			continue;
		path = ap_fsx_path_join(cache, names[i]);
		rc = path ? ap_fsx_rm_rf(path, err) : nomem(err, "removing work folders");
		free(path);
		if (rc == 0 && count)
			(*count)++;
	}
	ap_fsx_strv_free(names, n);
	if (rc < 0)
		ap_err_prefix(err, "removing the work folders of '%s'", st->name);
	return rc;
}

int ap_state_work_dir(struct ap_state *st, char **out, struct ap_err *err)
{
	char *cache = ap_state_cache_dir(st->root, st->name);
	char name[64];
	char *work = NULL;
	int rc;

	if (!cache)
		return nomem(err, "making a work folder");
	if (st->lock < 0 || !st->exclusive) {
		rc = ap_err_set(err, AP_E_USAGE, "'%s' must be locked to make a work folder",
				st->name);
		goto out;
	}
	/* Under the lock nobody else uses a work folder of this product:
	 * any there was left by a killed run. */
	rc = purge_work(st, cache, NULL, err);
	if (rc < 0)
		goto out;
	snprintf(name, sizeof(name), "%s-%ld", AP_STATE_WORK_PREFIX, ap_fsx_pid());
	work = ap_fsx_path_join(cache, name);
	if (!work) {
		rc = nomem(err, "making a work folder");
		goto out;
	}
	rc = ap_fsx_mkdir_p(work, 0700, err);
	if (rc == 0)
		rc = ap_fsx_chmod(work, 0700, err);
	if (rc == 0) {
		*out = work;
		work = NULL;
	}
out:
	free(work);
	free(cache);
	return rc;
}

/* Remove the product's cache folder and airpack's cache folder when empty. */
static void drop_empty_cache(const struct ap_state *st)
{
	struct ap_err ignore = AP_ERR_INIT;
	char *cache = ap_state_cache_dir(st->root, st->name);
	char *top = ap_fsx_path_join(st->root, AP_STATE_CACHE_BASE);

	if (cache && ap_fsx_is_dir(cache))
		ap_fsx_rmdir(cache, &ignore);
	if (top && ap_fsx_is_dir(top))
		ap_fsx_rmdir(top, &ignore);
	free(cache);
	free(top);
}

void ap_state_drop_work_dir(const struct ap_state *st, const char *work)
{
	struct ap_err ignore = AP_ERR_INIT;

	if (!work)
		return;
	ap_fsx_rm_rf(work, &ignore);
	drop_empty_cache(st);
}

int ap_state_purge_work(const struct ap_state *st, size_t *n, struct ap_err *err)
{
	char *cache = ap_state_cache_dir(st->root, st->name);
	int rc;

	if (!cache)
		return nomem(err, "removing work folders");
	rc = purge_work(st, cache, n, err);
	if (rc == 0)
		drop_empty_cache(st);
	free(cache);
	return rc;
}

/* ---- products ---- */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ap_state_candidates(const char *root, char ***out, size_t *nout, struct ap_err *err)
{
	char *base = ap_fsx_path_join(root ? root : ap_fsx_default_root(), AP_STATE_BASE);
	char **names = NULL, **got = NULL;
	size_t n = 0, ngot = 0;
	int rc = 0;

	if (!base)
		return nomem(err, "listing products");
	if (ap_fsx_is_dir(base))
		rc = ap_fsx_list_dir(base, &names, &n, err);
	if (rc == 0 && n) {
		got = calloc(n, sizeof(*got));
		if (!got)
			rc = nomem(err, "listing products");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *r = ap_fsx_path_join3(base, names[i], "receipt.json");
		char *t = ap_fsx_path_join3(base, names[i], "txn.json");
		char *w = ap_fsx_path_join3(base, names[i], OWNER_FILE);

		if (!r || !t || !w) {
			rc = nomem(err, "listing products");
		} else if (ap_manifest_safe_name(names[i]) &&
			   (ap_fsx_is_file(r) || ap_fsx_is_file(t) || ap_fsx_is_file(w))) {
			got[ngot++] = names[i];
			names[i] = NULL;
		}
		free(r);
		free(t);
		free(w);
	}
	if (rc == 0) {
		if (ngot > 1)
			qsort(got, ngot, sizeof(*got), cmp_strp);
		*out = got;
		*nout = ngot;
		got = NULL;
		ngot = 0;
	}
	ap_fsx_strv_free(got, ngot);
	ap_fsx_strv_free(names, n);
	free(base);
	return rc;
}
