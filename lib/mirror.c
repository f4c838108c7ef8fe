/* mirror.c - the signed index of a mirror tree; see airpack/mirror.h.
 *
 * An index is its own small JSON document (read with jsonx.h), and keeping
 * its parser here keeps the manifest module about manifests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "airpack/mirror.h"
#include "airpack/manifest.h"
#include "airpack/bundle.h"
#include "airpack/root.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define PATH_BUF AP_JSONX_PATH_MAX
#define QUOTE_BUF 96
/* Sizes must round-trip through a JSON number exactly (as in manifests). */
#define MAX_SIZE ((uint64_t)AP_JSONX_INT_MAX)

static const struct ap_jsonx_doc doc = { AP_E_MANIFEST, "the mirror index", AP_JSONX_QUOTE_SINGLE };

/* The value rules shared by parsing, put and new; path names the field. */
static int check_version(int code, const char *path, const char *v, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!ap_manifest_version_valid(v))
		return ap_jsonx_fail(err, code, path, "expected a version like 1.1.13, got '%s'",
				     ap_jsonx_shown(v, q, sizeof(q)));
	return 0;
}

static int check_name(int code, const char *path, const char *v, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!ap_manifest_safe_name(v))
		return ap_jsonx_fail(
			err, code, path,
			"expected a name (no '/', '\\', '..', control characters), got '%s'",
			ap_jsonx_shown(v, q, sizeof(q)));
	return 0;
}

static int check_hex(int code, const char *path, const char *v, size_t digits, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!ap_str_is_lower_hex(v, digits))
		return ap_jsonx_fail(err, code, path, "expected %zu lowercase hex digits, got '%s'",
				     digits, ap_jsonx_shown(v, q, sizeof(q)));
	return 0;
}

static void release_release(struct ap_mirror_release *r)
{
	free(r->version);
	free(r->channel);
}

void ap_mirror_index_free(struct ap_mirror_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n_releases; i++)
		release_release(&ix->releases[i]);
	free(ix->releases);
	free(ix->product);
	free(ix->key_id);
	free(ix->min_version);
	free(ix);
}

void ap_mirror_index_set_manifest_size(struct ap_mirror_index *ix, const char *version,
				       uint64_t manifest_size)
{
	for (size_t i = 0; i < ix->n_releases; i++)
		if (strcmp(ix->releases[i].version, version) == 0)
			ix->releases[i].manifest_size = manifest_size;
}

int ap_mirror_index_set_floor(struct ap_mirror_index *ix, const char *min_version,
			      struct ap_err *err)
{
	char *v = NULL;
	int rc;

	if (min_version) {
		if ((rc = check_version(AP_E_USAGE, "min_version", min_version, err)))
			return rc;
		v = ap_strdup(min_version);
		if (!v)
			return ap_jsonx_nomem(&doc, err);
	}
	free(ix->min_version);
	ix->min_version = v;
	return 0;
}

int ap_mirror_index_new(const char *product, const char *key_id, struct ap_mirror_index **out,
			struct ap_err *err)
{
	struct ap_mirror_index *ix;
	int rc;

	if ((rc = check_name(AP_E_USAGE, "product", product, err)))
		return rc;
	if ((rc = check_hex(AP_E_USAGE, "key_id", key_id, 16, err)))
		return rc;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return ap_jsonx_nomem(&doc, err);
	ix->product = ap_strdup(product);
	ix->key_id = ap_strdup(key_id);
	if (!ix->product || !ix->key_id) {
		ap_mirror_index_free(ix);
		return ap_jsonx_nomem(&doc, err);
	}
	*out = ix;
	return 0;
}

static int cmp_release(const void *a, const void *b)
{
	const struct ap_mirror_release *x = a, *y = b;

	return ap_manifest_version_cmp(x->version, y->version);
}

const struct ap_mirror_release *ap_mirror_index_find(const struct ap_mirror_index *ix,
						     const char *version)
{
	if (!ix || !version)
		return NULL;
	for (size_t i = 0; i < ix->n_releases; i++)
		if (strcmp(ix->releases[i].version, version) == 0)
			return &ix->releases[i];
	return NULL;
}

int ap_mirror_index_put(struct ap_mirror_index *ix, const char *version, const char *channel,
			const char *manifest_sha256, uint64_t size, struct ap_err *err)
{
	struct ap_mirror_release nr, *slot = NULL, *grown;
	int rc;

	if ((rc = check_version(AP_E_USAGE, "version", version, err)))
		return rc;
	if (channel && (rc = check_name(AP_E_USAGE, "channel", channel, err)))
		return rc;
	if ((rc = check_hex(AP_E_USAGE, "manifest_sha256", manifest_sha256, 64, err)))
		return rc;
	if (size > MAX_SIZE)
		return ap_err_set(err, AP_E_USAGE, "size: %llu is too large",
				  (unsigned long long)size);
	memset(&nr, 0, sizeof(nr));
	nr.version = ap_strdup(version);
	nr.channel = ap_strdup(channel);
	if (!nr.version || (channel && !nr.channel)) {
		release_release(&nr);
		return ap_jsonx_nomem(&doc, err);
	}
	memcpy(nr.manifest_sha256, manifest_sha256, AP_SHA256_HEX);
	nr.size = size;
	for (size_t i = 0; i < ix->n_releases; i++) {
		if (ap_manifest_version_cmp(ix->releases[i].version, version) != 0)
			continue;
		if (strcmp(ix->releases[i].version, version) != 0) {
			release_release(&nr);
			return ap_err_set(err, AP_E_EXISTS,
					  "version %s equals version %s already in the index: "
					  "publish it under one spelling",
					  version, ix->releases[i].version);
		}
		slot = &ix->releases[i];
	}
	if (slot) {
		release_release(slot);
		*slot = nr;
	} else {
		grown = ap_vec_grow(ix->releases, NULL, ix->n_releases + 1, sizeof(*grown));
		if (!grown) {
			release_release(&nr);
			return ap_jsonx_nomem(&doc, err);
		}
		ix->releases = grown;
		ix->releases[ix->n_releases++] = nr;
	}
	qsort(ix->releases, ix->n_releases, sizeof(*ix->releases), cmp_release);
	return 0;
}

/* ------------------------------------------------------------- parsing */

static int get_str(const cJSON *j, const char *path, bool required, char **out, struct ap_err *err)
{
	return ap_jsonx_string(&doc, j, path,
			       AP_JSONX_NONEMPTY | (required ? AP_JSONX_REQUIRED : 0), out, err);
}

static int get_size(const cJSON *j, const char *path, uint64_t *out, struct ap_err *err)
{
	int64_t v;

	if (!j)
		return ap_jsonx_fail(err, AP_E_MANIFEST, path, "required field is missing");
	if (!cJSON_IsNumber(j))
		return ap_jsonx_fail(err, AP_E_MANIFEST, path,
				     "expected a non-negative integer, got %s",
				     ap_jsonx_type_name(j));
	if (!ap_jsonx_int(j, 0, AP_JSONX_INT_MAX, &v))
		return ap_jsonx_fail(err, AP_E_MANIFEST, path,
				     "expected a non-negative integer at most %llu, got %.17g",
				     (unsigned long long)MAX_SIZE, j->valuedouble);
	*out = (uint64_t)v;
	return 0;
}

static int parse_release(const cJSON *j, const char *path, struct ap_mirror_release *r,
			 struct ap_err *err)
{
	static const char *const names[] = { "version", "channel", "manifest_sha256", "size",
					     "manifest_size" };
	const cJSON *v[5];
	char p[PATH_BUF];
	char *sha = NULL;
	int rc;

	if ((rc = ap_jsonx_fields(&doc, j, path, names, 5, v, err)))
		return rc;
	ap_jsonx_join(p, path, "version");
	if ((rc = get_str(v[0], p, true, &r->version, err)) ||
	    (rc = check_version(AP_E_MANIFEST, p, r->version, err)))
		return rc;
	ap_jsonx_join(p, path, "channel");
	if ((rc = get_str(v[1], p, false, &r->channel, err)))
		return rc;
	if (r->channel && (rc = check_name(AP_E_MANIFEST, p, r->channel, err)))
		return rc;
	ap_jsonx_join(p, path, "manifest_sha256");
	if ((rc = get_str(v[2], p, true, &sha, err)))
		return rc;
	rc = check_hex(AP_E_MANIFEST, p, sha, 64, err);
	if (rc == 0)
		memcpy(r->manifest_sha256, sha, AP_SHA256_HEX);
	free(sha);
	if (rc)
		return rc;
	ap_jsonx_join(p, path, "size");
	if ((rc = get_size(v[3], p, &r->size, err)))
		return rc;
	if (!v[4])
		return 0;
	ap_jsonx_join(p, path, "manifest_size");
	if ((rc = get_size(v[4], p, &r->manifest_size, err)))
		return rc;
	if (r->manifest_size == 0 || r->manifest_size > AP_MANIFEST_MAX)
		return ap_jsonx_fail(err, AP_E_MANIFEST, p, "expected 1 to %u, got %llu",
				     AP_MANIFEST_MAX, (unsigned long long)r->manifest_size);
	return 0;
}

static int build(const cJSON *root, struct ap_mirror_index *ix, struct ap_err *err)
{
	static const char *const names[] = { "format",	"product", "key_id",	 "releases",
					     "version", "expires", "min_version" };
	const cJSON *v[7];
	char p[PATH_BUF], q[QUOTE_BUF];
	char *format = NULL, *t = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ap_jsonx_fields(&doc, root, "", names, 7, v, err)))
		return rc;
	if ((rc = get_str(v[0], "format", true, &format, err)))
		return rc;
	if (strcmp(format, AP_INDEX_FORMAT) != 0) {
		rc = ap_jsonx_fail(err, AP_E_MANIFEST, "format", "expected \"%s\", got '%s'",
				   AP_INDEX_FORMAT, ap_jsonx_shown(format, q, sizeof(q)));
		free(format);
		return rc;
	}
	free(format);
	if ((rc = get_str(v[1], "product", true, &ix->product, err)) ||
	    (rc = check_name(AP_E_MANIFEST, "product", ix->product, err)))
		return rc;
	if ((rc = get_str(v[2], "key_id", true, &ix->key_id, err)) ||
	    (rc = check_hex(AP_E_MANIFEST, "key_id", ix->key_id, 16, err)))
		return rc;
	if ((rc = ap_jsonx_integer(&doc, v[4], "version", 0, 1, AP_JSONX_INT_MAX, &ix->version,
				   err)))
		return rc;
	if ((rc = get_str(v[5], "expires", false, &t, err)))
		return rc;
	if (t && ap_root_time_parse(t, &ix->expires) < 0)
		rc = ap_jsonx_fail(err, AP_E_MANIFEST, "expires",
				   "expected a UTC time like 2027-01-31T00:00:00Z, got '%s'",
				   ap_jsonx_shown(t, q, sizeof(q)));
	free(t);
	if (rc)
		return rc;
	if ((rc = get_str(v[6], "min_version", false, &ix->min_version, err)))
		return rc;
	if (ix->min_version &&
	    (rc = check_version(AP_E_MANIFEST, "min_version", ix->min_version, err)))
		return rc;
	if ((rc = ap_jsonx_array(&doc, v[3], "releases", AP_JSONX_REQUIRED, &n, err)))
		return rc;
	if (n == 0)
		return 0;
	ix->releases = calloc(n, sizeof(*ix->releases));
	if (!ix->releases)
		return ap_jsonx_nomem(&doc, err);
	for (const cJSON *e = v[3]->child; e; e = e->next) {
		ap_jsonx_index(p, "releases", ix->n_releases);
		/* Counted first so a half-parsed entry is freed with the rest. */
		ix->n_releases++;
		if ((rc = parse_release(e, p, &ix->releases[ix->n_releases - 1], err)))
			return rc;
		/* 1.0 and 1.0.0 compare equal: one of them would be unreachable. */
		for (size_t k = 0; k + 1 < ix->n_releases; k++)
			if (ap_manifest_version_cmp(ix->releases[k].version,
						    ix->releases[ix->n_releases - 1].version) == 0)
				return ap_jsonx_fail(
					err, AP_E_MANIFEST, p,
					"version %s is listed twice (also releases[%zu])",
					ix->releases[ix->n_releases - 1].version, k);
	}
	qsort(ix->releases, ix->n_releases, sizeof(*ix->releases), cmp_release);
	return 0;
}

int ap_mirror_index_parse(const char *json, size_t len, struct ap_mirror_index **out,
			  struct ap_err *err)
{
	struct ap_mirror_index *ix = NULL;
	cJSON *root = NULL;
	bool trailing;
	size_t off;
	int rc;

	if (!json || !out)
		return ap_err_set(err, AP_E_USAGE, "no index bytes to parse");
	if (memchr(json, '\0', len))
		return ap_err_set(err, AP_E_MANIFEST, "not valid JSON: it holds a NUL byte");
	root = ap_jsonx_parse(json, len, &off, &trailing);
	if (!root && trailing)
		return ap_err_set(err, AP_E_MANIFEST,
				  "unexpected data after the JSON object (at byte %zu)", off);
	if (!root)
		return ap_err_set(err, AP_E_MANIFEST, "not valid JSON (at byte %zu)", off);
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		rc = ap_jsonx_nomem(&doc, err);
		goto out;
	}
	rc = build(root, ix, err);
	if (rc == 0) {
		*out = ix;
		ix = NULL;
	}
out:
	ap_mirror_index_free(ix);
	cJSON_Delete(root);
	return rc;
}

/* ------------------------------------------------------------- emitting */

/* The index as a tree for the one JSON writer (ap_jsonx_print). */
static cJSON *index_json(const struct ap_mirror_index *ix)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_CreateArray();
	bool ok = root && arr;

	ok = ok && ap_jsonx_add(root, "format", cJSON_CreateString(AP_INDEX_FORMAT)) &&
	     ap_jsonx_add(root, "product", cJSON_CreateString(ix->product)) &&
	     ap_jsonx_add(root, "key_id", cJSON_CreateString(ix->key_id));
	if (ok && ix->version > 0)
		ok = ap_jsonx_add(root, "version", ap_jsonx_i64(ix->version));
	if (ok && ix->expires > 0) {
		char t[AP_TIME_LEN];

		ap_root_time_format(ix->expires, t);
		ok = ap_jsonx_add(root, "expires", cJSON_CreateString(t));
	}
	if (ok && ix->min_version)
		ok = ap_jsonx_add(root, "min_version", cJSON_CreateString(ix->min_version));
	for (size_t i = 0; ok && i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];
		cJSON *o = cJSON_CreateObject();

		ok = ap_jsonx_push(arr, o) &&
		     ap_jsonx_add(o, "version", cJSON_CreateString(r->version)) &&
		     (!r->channel || ap_jsonx_add(o, "channel", cJSON_CreateString(r->channel))) &&
		     ap_jsonx_add(o, "manifest_sha256", cJSON_CreateString(r->manifest_sha256)) &&
		     (!r->manifest_size ||
		      ap_jsonx_add(o, "manifest_size", ap_jsonx_u64(r->manifest_size))) &&
		     ap_jsonx_add(o, "size", ap_jsonx_u64(r->size));
	}
	if (ok) {
		ok = ap_jsonx_add(root, "releases", arr);
		arr = NULL;
	}
	cJSON_Delete(arr);
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int ap_mirror_index_emit(const struct ap_mirror_index *ix, char **json, size_t *len,
			 struct ap_err *err)
{
	cJSON *root;
	size_t n;
	int rc;

	if (!ix || !json)
		return ap_err_set(err, AP_E_USAGE, "no index to emit");
	if ((rc = check_name(AP_E_USAGE, "product", ix->product, err)) ||
	    (rc = check_hex(AP_E_USAGE, "key_id", ix->key_id, 16, err))) {
		ap_err_prefix(err, "refusing to emit an invalid index");
		return rc;
	}
	for (size_t i = 0; i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];
		char p[PATH_BUF];

		ap_jsonx_index(p, "releases", i);
		if ((rc = check_version(AP_E_USAGE, p, r->version, err)) ||
		    (r->channel && (rc = check_name(AP_E_USAGE, p, r->channel, err))) ||
		    (rc = check_hex(AP_E_USAGE, p, r->manifest_sha256, 64, err))) {
			ap_err_prefix(err, "refusing to emit an invalid index");
			return rc;
		}
		if (i > 0 && ap_manifest_version_cmp(ix->releases[i - 1].version, r->version) >= 0)
			return ap_err_set(err, AP_E_USAGE,
					  "refusing to emit an invalid index: %s: versions not in "
					  "ascending order",
					  p);
	}
	root = index_json(ix);
	if (!root)
		return ap_jsonx_nomem(&doc, err);
	rc = ap_jsonx_print(&doc, root, json, &n, err);
	cJSON_Delete(root);
	if (rc)
		return rc;
	if (len)
		*len = n;
	return 0;
}

/* ------------------------------------------------------------- resolving */

/* "1.0.0, 1.1.0 (lts)" for messages, cut to fit. */
static void list_versions(const struct ap_mirror_index *ix, char *out, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ix->n_releases && o + 1 < n; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];
		int k = snprintf(out + o, n - o, "%s%s%s%s%s", i ? ", " : "", r->version,
				 r->channel ? " (" : "", r->channel ? r->channel : "",
				 r->channel ? ")" : "");
		if (k < 0 || (size_t)k >= n - o) {
			out[o] = '\0';
			break;
		}
		o += (size_t)k;
	}
	if (ix->n_releases == 0)
		snprintf(out, n, "none");
}

int ap_mirror_resolve(const struct ap_mirror_index *ix, const char *version, const char *channel,
		      const struct ap_mirror_release **out, struct ap_err *err)
{
	const struct ap_mirror_release *best = NULL;
	char have[512];

	if (!ix || !version || !out)
		return ap_err_set(err, AP_E_USAGE, "no index or version to resolve");
	list_versions(ix, have, sizeof(have));
	if (strcmp(version, "latest") != 0) {
		const struct ap_mirror_release *r = ap_mirror_index_find(ix, version);

		if (!ap_manifest_version_valid(version))
			return ap_err_set(err, AP_E_USAGE,
					  "--version: expected a version like 1.1.13 or 'latest', "
					  "got '%s'",
					  version);
		if (!r)
			return ap_err_set(
				err, AP_E_NOTFOUND,
				"version %s of '%s' is not in the mirror index (it lists: "
				"%s)",
				version, ix->product, have);
		if (channel && (!r->channel || strcmp(r->channel, channel) != 0))
			return ap_err_set(err, AP_E_NOTFOUND,
					  "version %s of '%s' is in channel '%s', not '%s'",
					  version, ix->product, r->channel ? r->channel : "(none)",
					  channel);
		*out = r;
		return 0;
	}
	for (size_t i = 0; i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];

		if (channel && (!r->channel || strcmp(r->channel, channel) != 0))
			continue;
		if (!best || ap_manifest_version_cmp(r->version, best->version) > 0)
			best = r;
	}
	if (!best) {
		if (channel)
			return ap_err_set(
				err, AP_E_NOTFOUND,
				"no release of '%s' in channel '%s' (the index lists: %s)",
				ix->product, channel, have);
		return ap_err_set(err, AP_E_NOTFOUND, "the mirror index of '%s' lists no releases",
				  ix->product);
	}
	*out = best;
	return 0;
}
