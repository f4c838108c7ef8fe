/* freshness.c - the device's record of the newest root, index and release it
 * accepted; see airpack/freshness.h and docs/trust.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonx.h"
#include "airpack/freshness.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/banned.h"

static const struct ap_jsonx_doc doc = { AP_E_STATE, "the version record", AP_JSONX_QUOTE_SINGLE };

struct prod {
	char *product;
	char *release; /* may be NULL */
	int64_t index;
};

struct record {
	int64_t root;
	struct prod *p;
	size_t n;
};

static void record_release(struct record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->p[i].product);
		free(r->p[i].release);
	}
	free(r->p);
	memset(r, 0, sizeof(*r));
}

static char *trust_path(const char *root, const char *name)
{
	return ap_fsx_path_join3(root ? root : "/", AP_STATE_TRUST_DIR, name);
}

static int parse_record(const char *json, size_t len, struct record *rec, struct ap_err *err)
{
	static const char *const names[] = { "format", "root", "products" };
	static const char *const pnames[] = { "product", "release", "index" };
	const cJSON *v[3];
	char *fmt = NULL;
	size_t n = 0, i = 0;
	bool trailing;
	size_t off;
	cJSON *root;
	int rc;

	root = ap_jsonx_parse(json, len, &off, &trailing);
	if (!root)
		return ap_err_set(err, AP_E_STATE, "not valid JSON (at byte %zu)", off);
	rc = ap_jsonx_fields(&doc, root, "", names, 3, v, err);
	if (rc == 0)
		rc = ap_jsonx_string(&doc, v[0], "format", AP_JSONX_REQUIRED, &fmt, err);
	if (rc == 0 && strcmp(fmt, AP_FRESH_FORMAT) != 0)
		rc = ap_jsonx_fail(err, AP_E_STATE, "format", "expected \"%s\"", AP_FRESH_FORMAT);
	free(fmt);
	if (rc == 0)
		rc = ap_jsonx_integer(&doc, v[1], "root", AP_JSONX_REQUIRED, 0, AP_JSONX_INT_MAX,
				      &rec->root, err);
	if (rc == 0)
		rc = ap_jsonx_array(&doc, v[2], "products", AP_JSONX_REQUIRED, &n, err);
	if (rc == 0 && n) {
		rec->p = calloc(n, sizeof(*rec->p));
		if (!rec->p)
			rc = ap_jsonx_nomem(&doc, err);
	}
	for (const cJSON *e = rc == 0 && n ? v[2]->child : NULL; e && rc == 0; e = e->next, i++) {
		const cJSON *pv[3];
		char p[AP_JSONX_PATH_MAX], q[AP_JSONX_PATH_MAX];
		struct prod *pr = &rec->p[rec->n++];

		ap_jsonx_index(p, "products", i);
		rc = ap_jsonx_fields(&doc, e, p, pnames, 3, pv, err);
		ap_jsonx_join(q, p, "product");
		if (rc == 0)
			rc = ap_jsonx_string(&doc, pv[0], q, AP_JSONX_REQUIRED | AP_JSONX_NONEMPTY,
					     &pr->product, err);
		ap_jsonx_join(q, p, "release");
		if (rc == 0)
			rc = ap_jsonx_string(&doc, pv[1], q, AP_JSONX_NONEMPTY, &pr->release, err);
		if (rc == 0 && pr->release && !ap_manifest_version_valid(pr->release))
			rc = ap_jsonx_fail(err, AP_E_STATE, q, "not a version");
		ap_jsonx_join(q, p, "index");
		if (rc == 0)
			rc = ap_jsonx_integer(&doc, pv[2], q, 0, 0, AP_JSONX_INT_MAX, &pr->index,
					      err);
	}
	cJSON_Delete(root);
	return rc;
}

static int load_record(const char *root, struct record *rec, struct ap_err *err)
{
	char *path = trust_path(root, "versions.json");
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	if (ap_fsx_is_file(path)) {
		rc = ap_fsx_read_file(path, AP_FRESH_MAX, &buf, &len, err);
		if (rc == 0)
			rc = parse_record(buf, len, rec, err);
		if (rc < 0) {
			ap_err_prefix(err, "version record '%s'", path);
			record_release(rec);
		}
	}
	free(buf);
	free(path);
	return rc;
}

static int cmp_prod(const void *a, const void *b)
{
	return strcmp(((const struct prod *)a)->product, ((const struct prod *)b)->product);
}

static int save_record(const char *root, struct record *rec, struct ap_err *err)
{
	char *dir = trust_path(root, "");
	char *path = trust_path(root, "versions.json");
	char *json = NULL;
	size_t len = 0;
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	int rc;

	if (!dir || !path || !o || !arr) {
		cJSON_Delete(arr);
		rc = ap_jsonx_nomem(&doc, err);
		goto out;
	}
	if (rec->n > 1)
		qsort(rec->p, rec->n, sizeof(*rec->p), cmp_prod);
	if (!ap_jsonx_add(o, "format", cJSON_CreateString(AP_FRESH_FORMAT)) ||
	    !ap_jsonx_add(o, "root", ap_jsonx_i64(rec->root)) ||
	    !ap_jsonx_add(o, "products", arr)) {
		rc = ap_jsonx_nomem(&doc, err);
		goto out;
	}
	for (size_t i = 0; i < rec->n; i++) {
		cJSON *e = cJSON_CreateObject();

		if (!ap_jsonx_push(arr, e) ||
		    !ap_jsonx_add(e, "product", cJSON_CreateString(rec->p[i].product)) ||
		    (rec->p[i].release &&
		     !ap_jsonx_add(e, "release", cJSON_CreateString(rec->p[i].release))) ||
		    !ap_jsonx_add(e, "index", ap_jsonx_i64(rec->p[i].index))) {
			rc = ap_jsonx_nomem(&doc, err);
			goto out;
		}
	}
	rc = ap_jsonx_print(&doc, o, &json, &len, err);
	if (rc == 0)
		rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = ap_fsx_write_atomic(path, json, len, 0644, err);
out:
	cJSON_Delete(o);
	free(json);
	free(dir);
	free(path);
	return rc;
}

static struct prod *find_prod(struct record *rec, const char *product, bool add)
{
	struct prod *grown;

	for (size_t i = 0; i < rec->n; i++)
		if (strcmp(rec->p[i].product, product) == 0)
			return &rec->p[i];
	if (!add)
		return NULL;
	grown = ap_vec_grow(rec->p, NULL, rec->n + 1, sizeof(*grown));
	if (!grown)
		return NULL;
	rec->p = grown;
	memset(&rec->p[rec->n], 0, sizeof(*rec->p));
	rec->p[rec->n].product = ap_strdup(product);
	if (!rec->p[rec->n].product)
		return NULL;
	return &rec->p[rec->n++];
}

/* ------------------------------------------------------------- roots */

void ap_freshness_root_release(struct ap_freshness_root *fr)
{
	ap_root_free(fr->root);
	free(fr->json);
	ap_root_sigset_release(&fr->sigs);
	memset(fr, 0, sizeof(*fr));
}

/* Read dir/name as a root signed by a threshold of its own root keys. */
static int read_root_file(const char *dir, const char *name, struct ap_root **out, char **json,
			  size_t *len, struct ap_sigset *sigs, struct ap_err *err)
{
	char *path = ap_fsx_path_join(dir, name);
	char what[64];
	int rc;

	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_read_file(path, AP_ROOT_MAX, json, len, err);
	if (rc == 0)
		rc = ap_root_sigset_load(dir, name, sigs, err);
	if (rc == 0)
		rc = ap_root_parse(*json, *len, out, err);
	if (rc == 0) {
		snprintf(what, sizeof(what), "root %lld", (long long)(*out)->version);
		rc = ap_root_verify(*out, AP_ROLE_ROOT, what, *json, *len, sigs, NULL, NULL, err);
		if (rc < 0) {
			ap_root_free(*out);
			*out = NULL;
		}
	}
	if (rc < 0)
		ap_err_prefix(err, "root of trust '%s'", path);
	free(path);
	return rc;
}

static bool ends_with(const char *s, const char *x)
{
	size_t a = strlen(s), b = strlen(x);

	return a >= b && strcmp(s + a - b, x) == 0;
}

/* A format reader: the root-of-trust file field by field, each error naming its field. */
int ap_freshness_load(const char *install_root, const char *trust, struct ap_freshness_root *fr,
		      struct ap_err *err)
{
	struct ap_root *stored = NULL;
	char *sjson = NULL, *sdir = NULL, *anchor_dir = NULL, *spath = NULL;
	struct ap_sigset ssigs = AP_SIGSET_INIT;
	char sname[48];
	size_t slen = 0;
	int rc = 0;

	memset(fr, 0, sizeof(*fr));
	{
		/* The stored root is the one the record names: written before
		 * the record, so a crash in between leaves the older pair. */
		struct record rec;

		rc = load_record(install_root, &rec, err);
		if (rc < 0)
			return rc;
		snprintf(sname, sizeof(sname), "root-%lld.json", (long long)rec.root);
		record_release(&rec);
	}
	sdir = trust_path(install_root, "");
	spath = trust_path(install_root, sname);
	if (!sdir || !spath) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (trust && ap_fsx_is_dir(trust)) {
		anchor_dir = ap_fsx_path_join(trust, AP_ROOT_FILE);
		if (!anchor_dir) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		if (ap_fsx_is_file(anchor_dir))
			rc = read_root_file(trust, AP_ROOT_FILE, &fr->root, &fr->json, &fr->len,
					    &fr->sigs, err);
		free(anchor_dir);
		anchor_dir = NULL;
	} else if (trust && ap_fsx_is_file(trust) && ends_with(trust, ".json")) {
		anchor_dir = ap_fsx_path_dirname(trust);
		rc = anchor_dir ? read_root_file(anchor_dir, ap_fsx_path_basename(trust), &fr->root,
						 &fr->json, &fr->len, &fr->sigs, err)
				: ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (rc < 0)
		goto out;
	if (!fr->root && trust) {
		struct ap_sign_trust *t = NULL;

		rc = ap_sign_trust_load(trust, &t, err);
		if (rc == 0)
			rc = ap_root_from_trust(t, &fr->root, err);
		ap_sign_trust_free(t);
		if (rc < 0)
			goto out;
	}
	fr->anchor_version = fr->root ? fr->root->version : 0;
	if (ap_fsx_is_file(spath)) {
		rc = read_root_file(sdir, sname, &stored, &sjson, &slen, &ssigs, err);
		if (rc < 0)
			goto out;
		fr->stored_version = stored->version;
		if (!fr->root || stored->version > fr->root->version) {
			ap_root_free(fr->root);
			fr->root = stored;
			stored = NULL;
			/* Stored already: nothing new to store. */
			free(fr->json);
			fr->json = NULL;
			fr->len = 0;
			ap_root_sigset_release(&fr->sigs);
		}
	}
	if (!fr->root)
		rc = ap_err_set(err, AP_E_NOTFOUND,
				"no root of trust: trust store '%s' does not "
				"exist",
				trust ? trust : "(none)");
out:
	if (rc < 0)
		ap_freshness_root_release(fr);
	ap_root_free(stored);
	ap_root_sigset_release(&ssigs);
	free(sjson);
	free(sdir);
	free(spath);
	free(anchor_dir);
	return rc;
}

int ap_freshness_load_file(const char *trust, struct ap_root **out, struct ap_err *err)
{
	struct ap_sigset sigs = AP_SIGSET_INIT;
	char *json = NULL, *dir = NULL;
	size_t len = 0;
	int rc;

	if (ap_fsx_is_dir(trust)) {
		char *f = ap_fsx_path_join(trust, AP_ROOT_FILE);
		bool has = f && ap_fsx_is_file(f);

		free(f);
		if (!has)
			return AP_E_NOTFOUND;
		rc = read_root_file(trust, AP_ROOT_FILE, out, &json, &len, &sigs, err);
	} else if (ap_fsx_is_file(trust) && ends_with(trust, ".json")) {
		dir = ap_fsx_path_dirname(trust);
		rc = dir ? read_root_file(dir, ap_fsx_path_basename(trust), out, &json, &len, &sigs,
					  err)
			 : ap_err_set(err, AP_E_NOMEM, "out of memory");
	} else {
		return AP_E_NOTFOUND;
	}
	free(json);
	free(dir);
	ap_root_sigset_release(&sigs);
	return rc;
}

int ap_freshness_walk(struct ap_freshness_root *fr, ap_freshness_get_fn get, void *ctx,
		      struct ap_err *err)
{
	for (size_t step = 0; step < AP_ROOT_CHAIN_MAX; step++) {
		struct ap_sigset sigs = AP_SIGSET_INIT;
		struct ap_root *next = NULL;
		char *json = NULL;
		size_t len = 0;
		int rc;

		rc = get(ctx, fr->root->version + 1, &json, &len, &sigs, err);
		if (rc == AP_E_NOTFOUND) {
			ap_err_clear(err);
			return 0;
		}
		if (rc == 0 && len > AP_ROOT_MAX)
			rc = ap_err_set(err, AP_E_TOOBIG,
					"root %lld: %zu bytes, over the cap of %u",
					(long long)fr->root->version + 1, len, AP_ROOT_MAX);
		if (rc == 0)
			rc = ap_root_next(fr->root, json, len, &sigs, &next, err);
		if (rc < 0) {
			free(json);
			ap_root_sigset_release(&sigs);
			ap_err_prefix(err, "rotating from root %lld", (long long)fr->root->version);
			return rc;
		}
		ap_root_free(fr->root);
		fr->root = next;
		free(fr->json);
		ap_root_sigset_release(&fr->sigs);
		fr->json = json;
		fr->len = len;
		fr->sigs = sigs;
		fr->steps++;
	}
	return ap_err_set(err, AP_E_TOOBIG, "the chain of roots is longer than %d steps",
			  AP_ROOT_CHAIN_MAX);
}

int ap_freshness_get_dir(void *ctx, int64_t version, char **json, size_t *len,
			 struct ap_sigset *sigs, struct ap_err *err)
{
	const char *dir = ctx;
	char name[40];
	char *path;
	int rc;

	snprintf(name, sizeof(name), "%lld.root.json", (long long)version);
	path = ap_fsx_path_join(dir, name);
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	if (!ap_fsx_is_file(path)) {
		free(path);
		return AP_E_NOTFOUND;
	}
	rc = ap_fsx_read_file(path, AP_ROOT_MAX, json, len, err);
	if (rc == 0)
		rc = ap_root_sigset_load(dir, name, sigs, err);
	if (rc < 0)
		ap_err_prefix(err, "'%s'", path);
	free(path);
	return rc;
}

/* ------------------------------------------------------------- checks */

/* The version record under install_root and product's entry in it (*p
 * NULL: none; with add, a new entry, NULL when out of memory). */
static int load_prod(const char *install_root, const char *product, bool add, struct record *rec,
		     struct prod **p, struct ap_err *err)
{
	int rc = load_record(install_root, rec, err);

	if (rc < 0)
		return rc;
	*p = find_prod(rec, product, add);
	return 0;
}

int ap_freshness_check(const char *install_root, const struct ap_freshness_claim *c,
		       const char *product, const char *version, bool allow_downgrade,
		       struct ap_err *err)
{
	struct record rec;
	struct prod *p;
	const char *floor = c ? c->floor : NULL;
	bool rooted = c && c->root && c->root->root && c->root->root->version >= 1;
	int rc;

	rc = load_prod(install_root, product, false, &rec, &p, err);
	if (rc < 0)
		return rc;
	if (c && c->root && c->root->root && c->root->root->version < rec.root) {
		rc = ap_err_set(err, AP_E_STATE,
				"refusing root of trust version %lld: this device accepted root "
				"%lld before",
				(long long)c->root->root->version, (long long)rec.root);
		goto out;
	}
	if (c && c->index_version > 0 && p && c->index_version < p->index) {
		rc = ap_err_set(err, AP_E_STATE,
				"refusing mirror index version %lld of '%s': this device accepted "
				"index version %lld before (a mirror serving an old index?)",
				(long long)c->index_version, product, (long long)p->index);
		goto out;
	}
	if (floor && ap_manifest_version_cmp(version, floor) < 0) {
		rc = ap_err_set(err, AP_E_STATE,
				"refusing '%s' %s: below the signed floor %s (min_version of the "
				"%s)",
				product, version, floor,
				c->index_version > 0 ? "index or root" : "root");
		goto out;
	}
	if (p && p->release && ap_manifest_version_cmp(version, p->release) < 0) {
		if (!allow_downgrade) {
			rc = ap_err_set(err, AP_E_STATE,
					"refusing to downgrade '%s' to %s: this device accepted %s "
					"before (recorded in %s, kept across uninstall): use "
					"--allow-downgrade",
					product, version, p->release, AP_STATE_TRUST_DIR);
			goto out;
		}
		if (rooted && !floor) {
			rc = ap_err_set(err, AP_E_STATE,
					"refusing to downgrade '%s' to %s (this device accepted "
					"%s): "
					"--allow-downgrade needs a signed floor at or below %s "
					"(min_version in the root or the mirror index)",
					product, version, p->release, version);
			goto out;
		}
	}
out:
	record_release(&rec);
	return rc;
}

static int store_root(const char *install_root, const struct ap_freshness_root *fr,
		      struct ap_err *err)
{
	char name[48];
	char *dir = trust_path(install_root, "");
	char *path;
	int rc;

	snprintf(name, sizeof(name), "root-%lld.json", (long long)fr->root->version);
	path = trust_path(install_root, name);
	if (!dir || !path) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = ap_root_sigset_write(&fr->sigs, path, err);
	if (rc == 0)
		rc = ap_fsx_write_atomic(path, fr->json, fr->len, 0644, err);
out:
	free(dir);
	free(path);
	return rc;
}

/* After the record names root `keep`: the older roots' files go (errors
 * ignored: they are never read again). */
static void drop_old_roots(const char *install_root, int64_t keep)
{
	struct ap_err ignore = AP_ERR_INIT;
	char *dir = trust_path(install_root, "");
	char **names = NULL;
	size_t n = 0;

	if (dir && ap_fsx_list_dir(dir, &names, &n, &ignore) == 0) {
		for (size_t i = 0; i < n; i++) {
			long long v = 0;
			char *f;

			if (sscanf(names[i], "root-%lld.json", &v) != 1 || v >= keep)
				continue;
			f = ap_fsx_path_join(dir, names[i]);
			if (f)
				ap_fsx_unlink(f, &ignore);
			free(f);
		}
	}
	ap_fsx_strv_free(names, n);
	free(dir);
}

/* Image builds: every file of the record and its folder get mtime. */
static int set_times(const char *install_root, int64_t mtime, struct ap_err *err)
{
	char *dir = trust_path(install_root, "");
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!dir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_list_dir(dir, &names, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *f = ap_fsx_path_join(dir, names[i]);

		rc = f ? ap_fsx_set_mtime(f, mtime, err)
		       : ap_err_set(err, AP_E_NOMEM, "out of memory");
		free(f);
	}
	if (rc == 0)
		rc = ap_fsx_set_mtime(dir, mtime, err);
	ap_fsx_strv_free(names, n);
	free(dir);
	return rc;
}

int ap_freshness_commit(const char *install_root, const struct ap_freshness_claim *c,
			const char *product, const char *version, int64_t mtime, struct ap_err *err)
{
	struct record rec;
	struct prod *p;
	int rc;

	rc = load_prod(install_root, product, true, &rec, &p, err);
	if (rc < 0)
		return rc;
	if (!p) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (!p->release || ap_manifest_version_cmp(version, p->release) > 0) {
		char *v = ap_strdup(version);

		if (!v) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		free(p->release);
		p->release = v;
	}
	if (c && c->index_version > p->index)
		p->index = c->index_version;
	if (c && c->root && c->root->root && c->root->root->version > rec.root) {
		if (c->root->json && c->root->root->version > c->root->stored_version)
			rc = store_root(install_root, c->root, err);
		rec.root = c->root->root->version;
	}
	if (rc == 0)
		rc = save_record(install_root, &rec, err);
	if (rc == 0)
		drop_old_roots(install_root, rec.root);
	if (rc == 0 && mtime >= 0)
		rc = set_times(install_root, mtime, err);
out:
	if (rc < 0)
		ap_err_prefix(err, "recording the versions accepted");
	record_release(&rec);
	return rc;
}

int ap_freshness_get(const char *install_root, const char *product, char **release, int64_t *root,
		     struct ap_err *err)
{
	struct record rec;
	struct prod *p;
	int rc;

	rc = load_prod(install_root, product, false, &rec, &p, err);
	if (rc < 0)
		return rc;
	*release = p && p->release ? ap_strdup(p->release) : NULL;
	*root = rec.root;
	record_release(&rec);
	return 0;
}

int ap_freshness_expiry(int64_t expires, const char *what, const struct ap_freshness_policy *p,
			char *note, size_t n, struct ap_err *err)
{
	char t[AP_TIME_LEN], at[AP_TIME_LEN];
	/* The real clock: SOURCE_DATE_EPOCH fixes recorded times for
	 * reproducible images, it must not make expired metadata fresh. */
	int64_t now = (int64_t)time(NULL);

	if (p->at_time && p->online)
		return ap_err_set(err, AP_E_USAGE,
				  "--at-time works only offline (a file:// mirror, a bundle or "
				  "a folder): an online install is judged by this clock");
	if (p->at_time)
		now = p->at_time;
	if (expires == 0 || expires > now) {
		if (p->at_time && note && n && !note[0]) {
			ap_root_time_format(p->at_time, at);
			snprintf(note, n, "at-time %s", at);
		}
		return 0;
	}
	ap_root_time_format(expires, t);
	if (p->online)
		return ap_err_set(err, AP_E_EXPIRED,
				  "%s expired %s: refusing it online (a frozen or stale mirror?); "
				  "the publisher must re-sign it",
				  what, t);
	if (!p->expired_ok)
		return ap_err_set(err, AP_E_EXPIRED,
				  "%s expired %s: refusing it; offline, --expired-ok installs it "
				  "anyway (recorded in the receipt and history), or --at-time T "
				  "judges it as of time T",
				  what, t);
	if (note && n) {
		size_t used = strlen(note);

		snprintf(note + used, n - used, "%sexpired-ok: %s expired %s", used ? "; " : "",
			 what, t);
	}
	return 0;
}
