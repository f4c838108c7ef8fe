/* root.c - the root of trust, signature sets and the chain of roots; see
 * airpack/root.h and docs/trust.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "airpack/root.h"
#include "airpack/bundle.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/str.h"
#include "airpack/banned.h"

static const struct ap_jsonx_doc doc = { AP_E_MANIFEST, "the root", AP_JSONX_QUOTE_SINGLE };
static const char *const role_names[AP_ROLE_N] = { "root", "release", "index" };

const char *ap_root_role_name(enum ap_role role)
{
	return role < AP_ROLE_N ? role_names[role] : "?";
}

int ap_root_role_parse(const char *name)
{
	for (int i = 0; i < AP_ROLE_N; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------- time */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

int ap_root_time_parse(const char *s, int64_t *out)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, se;

	if (!s || strlen(s) != AP_TIME_LEN - 1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    se > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

void ap_root_time_format(int64_t t, char out[AP_TIME_LEN])
{
	int64_t days = t >= 0 ? t / 86400 : 0, secs = t >= 0 ? t % 86400 : 0;
	int64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

	char buf[64];

	snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)(y % 10000),
		 m % 100, d % 100, (unsigned)(secs / 3600) % 100, (unsigned)(secs / 60 % 60),
		 (unsigned)(secs % 60));
	memcpy(out, buf, AP_TIME_LEN - 1);
	out[AP_TIME_LEN - 1] = '\0';
}

/* ------------------------------------------------------------- model */

struct ap_root *ap_root_new(void)
{
	struct ap_root *r = calloc(1, sizeof(*r));

	if (r)
		r->version = 1;
	return r;
}

void ap_root_free(struct ap_root *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_keys; i++) {
		free(r->keys[i].pem);
		ap_sign_key_free(r->keys[i].key);
	}
	free(r->keys);
	for (int i = 0; i < AP_ROLE_N; i++)
		free(r->roles[i].keys);
	for (size_t i = 0; i < r->n_floors; i++) {
		free(r->floors[i].product);
		free(r->floors[i].min_version);
	}
	free(r->floors);
	free(r);
}

static ssize_t find_key(const struct ap_root *r, const char *id)
{
	for (size_t i = 0; i < r->n_keys; i++)
		if (strcmp(r->keys[i].id, id) == 0)
			return (ssize_t)i;
	return -1;
}

static bool role_has(const struct ap_root_role *ro, size_t k)
{
	for (size_t i = 0; i < ro->n_keys; i++)
		if (ro->keys[i] == k)
			return true;
	return false;
}

/* Append a key from its PEM (copied); *idx is its index. */
static int key_append(struct ap_root *r, const char *pem, size_t *idx, struct ap_err *err)
{
	struct ap_root_key *grown, *k;
	struct ap_sign_key *key = NULL;
	char id[AP_KEY_ID_LEN];
	ssize_t have;
	int rc;

	rc = ap_sign_key_load_public_mem(pem, strlen(pem), &key, err);
	if (rc < 0)
		return rc;
	ap_sign_key_id(key, id);
	have = find_key(r, id);
	if (have >= 0) {
		ap_sign_key_free(key);
		*idx = (size_t)have;
		return 0;
	}
	if (r->n_keys >= AP_ROOT_MAX_KEYS) {
		ap_sign_key_free(key);
		return ap_err_set(err, AP_E_TOOBIG, "a root holds at most %d keys",
				  AP_ROOT_MAX_KEYS);
	}
	grown = ap_vec_grow(r->keys, NULL, r->n_keys + 1, sizeof(*grown));
	if (!grown) {
		ap_sign_key_free(key);
		return ap_jsonx_nomem(&doc, err);
	}
	r->keys = grown;
	k = &r->keys[r->n_keys];
	memset(k, 0, sizeof(*k));
	k->pem = ap_strdup(pem);
	if (!k->pem) {
		ap_sign_key_free(key);
		return ap_jsonx_nomem(&doc, err);
	}
	k->key = key;
	memcpy(k->id, id, AP_KEY_ID_LEN);
	ap_sign_key_fingerprint(key, k->fpr);
	*idx = r->n_keys++;
	return 0;
}

static int role_append(struct ap_root_role *ro, size_t k, struct ap_err *err)
{
	size_t *grown;

	if (role_has(ro, k))
		return 0;
	grown = ap_vec_grow(ro->keys, NULL, ro->n_keys + 1, sizeof(*grown));
	if (!grown)
		return ap_jsonx_nomem(&doc, err);
	ro->keys = grown;
	ro->keys[ro->n_keys++] = k;
	return 0;
}

int ap_root_add_key(struct ap_root *r, enum ap_role role, const struct ap_sign_key *pub,
		    struct ap_err *err)
{
	char *pem = NULL;
	size_t len = 0, idx = 0;
	int rc;

	rc = ap_sign_key_public_pem(pub, &pem, &len, err);
	if (rc == 0)
		rc = key_append(r, pem, &idx, err);
	free(pem);
	if (rc == 0)
		rc = role_append(&r->roles[role], idx, err);
	return rc;
}

int ap_root_remove_key(struct ap_root *r, enum ap_role role, const char *key_id, struct ap_err *err)
{
	struct ap_root_role *ro = &r->roles[role];
	ssize_t k = find_key(r, key_id);
	bool used = false;

	if (k < 0 || !role_has(ro, (size_t)k))
		return ap_err_set(err, AP_E_NOTFOUND, "key id %s is not a %s key of root %lld",
				  key_id, ap_root_role_name(role), (long long)r->version);
	for (size_t i = 0, o = 0; i < ro->n_keys; i++)
		if (ro->keys[i] != (size_t)k)
			ro->keys[o++] = ro->keys[i];
	ro->n_keys--;
	for (int i = 0; i < AP_ROLE_N; i++)
		used = used || role_has(&r->roles[i], (size_t)k);
	if (used)
		return 0;
	/* Drop it from the list and renumber the roles. */
	free(r->keys[k].pem);
	ap_sign_key_free(r->keys[k].key);
	memmove(&r->keys[k], &r->keys[k + 1], (r->n_keys - (size_t)k - 1) * sizeof(*r->keys));
	r->n_keys--;
	for (int i = 0; i < AP_ROLE_N; i++)
		for (size_t j = 0; j < r->roles[i].n_keys; j++)
			if (r->roles[i].keys[j] > (size_t)k)
				r->roles[i].keys[j]--;
	return 0;
}

int ap_root_set_floor(struct ap_root *r, const char *product, const char *min_version,
		      struct ap_err *err)
{
	struct ap_root_floor *grown;
	char *p, *v;

	if (!ap_manifest_safe_name(product))
		return ap_err_set(err, AP_E_USAGE, "floor: '%s' is not a product name", product);
	if (!ap_manifest_version_valid(min_version))
		return ap_err_set(err, AP_E_USAGE,
				  "floor of '%s': expected a version like 1.1.13, got '%s'",
				  product, min_version);
	for (size_t i = 0; i < r->n_floors; i++) {
		if (strcmp(r->floors[i].product, product) != 0)
			continue;
		v = ap_strdup(min_version);
		if (!v)
			return ap_jsonx_nomem(&doc, err);
		free(r->floors[i].min_version);
		r->floors[i].min_version = v;
		return 0;
	}
	grown = ap_vec_grow(r->floors, NULL, r->n_floors + 1, sizeof(*grown));
	if (!grown)
		return ap_jsonx_nomem(&doc, err);
	r->floors = grown;
	p = ap_strdup(product);
	v = ap_strdup(min_version);
	if (!p || !v) {
		free(p);
		free(v);
		return ap_jsonx_nomem(&doc, err);
	}
	r->floors[r->n_floors].product = p;
	r->floors[r->n_floors].min_version = v;
	r->n_floors++;
	return 0;
}

const char *ap_root_floor(const struct ap_root *r, const char *product)
{
	for (size_t i = 0; r && product && i < r->n_floors; i++)
		if (strcmp(r->floors[i].product, product) == 0)
			return r->floors[i].min_version;
	return NULL;
}

int ap_root_check(const struct ap_root *r, struct ap_err *err)
{
	for (int i = 0; i < AP_ROLE_N; i++) {
		const struct ap_root_role *ro = &r->roles[i];

		if (ro->n_keys == 0)
			return ap_err_set(err, AP_E_USAGE,
					  "roles.%s: names no key (every role needs one)",
					  role_names[i]);
		if (ro->threshold < 1 || (size_t)ro->threshold > ro->n_keys)
			return ap_err_set(err, AP_E_USAGE,
					  "roles.%s.threshold: %lld, but the role has %zu key%s",
					  role_names[i], (long long)ro->threshold, ro->n_keys,
					  ro->n_keys == 1 ? "" : "s");
	}
	if (r->version < 1)
		return ap_err_set(err, AP_E_USAGE, "version: expected 1 or more, got %lld",
				  (long long)r->version);
	return 0;
}

int ap_root_from_trust(const struct ap_sign_trust *t, struct ap_root **out, struct ap_err *err)
{
	struct ap_root *r = ap_root_new();
	int rc = 0;

	if (!r)
		return ap_jsonx_nomem(&doc, err);
	r->version = 0;
	for (size_t i = 0; i < ap_sign_trust_count(t) && rc == 0; i++)
		for (int k = 0; k < AP_ROLE_N && rc == 0; k++)
			rc = ap_root_add_key(r, (enum ap_role)k, ap_sign_trust_key(t, i), err);
	for (int k = 0; k < AP_ROLE_N; k++)
		r->roles[k].threshold = 1;
	if (rc < 0) {
		ap_root_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* ------------------------------------------------------------- parsing */

static int parse_keys(struct ap_root *r, const cJSON *arr, struct ap_err *err)
{
	static const char *const names[] = { "id", "public_key" };
	char p[AP_JSONX_PATH_MAX];
	size_t n = 0, i = 0;
	int rc;

	if ((rc = ap_jsonx_array(&doc, arr, "keys", AP_JSONX_REQUIRED, &n, err)))
		return rc;
	if (n > AP_ROOT_MAX_KEYS)
		return ap_jsonx_fail(err, AP_E_MANIFEST, "keys", "at most %d keys, got %zu",
				     AP_ROOT_MAX_KEYS, n);
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		const cJSON *v[2];
		char *id = NULL, *pem = NULL, q[AP_JSONX_QUOTE_MAX];
		size_t idx = 0, before = r->n_keys;

		ap_jsonx_index(p, "keys", i);
		if ((rc = ap_jsonx_fields(&doc, e, p, names, 2, v, err)))
			return rc;
		ap_jsonx_join(q, p, "id");
		rc = ap_jsonx_string(&doc, v[0], q, AP_JSONX_REQUIRED | AP_JSONX_NONEMPTY, &id,
				     err);
		if (rc == 0) {
			ap_jsonx_join(q, p, "public_key");
			rc = ap_jsonx_string(&doc, v[1], q, AP_JSONX_REQUIRED | AP_JSONX_NONEMPTY,
					     &pem, err);
		}
		if (rc == 0 && (rc = key_append(r, pem, &idx, err)) < 0)
			ap_err_prefix(err, "%s", q);
		if (rc == 0 && r->n_keys == before)
			rc = ap_jsonx_fail(err, AP_E_MANIFEST, p, "key id %s is listed twice",
					   r->keys[idx].id);
		if (rc == 0 && strcmp(r->keys[idx].id, id) != 0)
			rc = ap_jsonx_fail(err, AP_E_MANIFEST, p,
					   "id '%s' is not the id of its public key (%s)",
					   ap_jsonx_shown(id, q, sizeof(q)), r->keys[idx].id);
		free(id);
		free(pem);
		if (rc)
			return rc == AP_E_USAGE ? AP_E_MANIFEST : rc;
	}
	return 0;
}

static int parse_role(struct ap_root *r, int role, const cJSON *j, struct ap_err *err)
{
	static const char *const names[] = { "threshold", "keys" };
	const cJSON *v[2];
	char path[AP_JSONX_PATH_MAX], p[AP_JSONX_PATH_MAX];
	char **ids = NULL;
	size_t n = 0;
	int rc;

	ap_jsonx_path(path, "roles.%s", role_names[role]);
	if (!j)
		return ap_jsonx_fail(err, AP_E_MANIFEST, path, "required field is missing");
	if ((rc = ap_jsonx_fields(&doc, j, path, names, 2, v, err)))
		return rc;
	ap_jsonx_join(p, path, "threshold");
	if ((rc = ap_jsonx_integer(&doc, v[0], p, AP_JSONX_REQUIRED, 1, AP_ROOT_MAX_KEYS,
				   &r->roles[role].threshold, err)))
		return rc;
	ap_jsonx_join(p, path, "keys");
	if ((rc = ap_jsonx_strv(&doc, v[1], p, AP_JSONX_REQUIRED, &ids, &n, err)))
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		ssize_t k = find_key(r, ids[i]);

		ap_jsonx_index(p, path, i);
		ap_jsonx_path(p, "%s.keys[%zu]", path, i);
		if (k < 0)
			rc = ap_jsonx_fail(err, AP_E_MANIFEST, p, "key id '%s' is not in keys",
					   ids[i]);
		else if (role_has(&r->roles[role], (size_t)k))
			rc = ap_jsonx_fail(err, AP_E_MANIFEST, p, "key id %s is named twice",
					   ids[i]);
		else
			rc = role_append(&r->roles[role], (size_t)k, err);
	}
	ap_fsx_strv_free(ids, n);
	if (rc == 0 && (size_t)r->roles[role].threshold > r->roles[role].n_keys) {
		ap_jsonx_join(p, path, "threshold");
		rc = ap_jsonx_fail(err, AP_E_MANIFEST, p, "%lld, but the role has %zu key%s",
				   (long long)r->roles[role].threshold, r->roles[role].n_keys,
				   r->roles[role].n_keys == 1 ? "" : "s");
	}
	return rc;
}

static int parse_floors(struct ap_root *r, const cJSON *arr, struct ap_err *err)
{
	static const char *const names[] = { "product", "min_version" };
	char p[AP_JSONX_PATH_MAX], q[AP_JSONX_PATH_MAX];
	size_t n = 0, i = 0;
	int rc;

	if ((rc = ap_jsonx_array(&doc, arr, "floors", AP_JSONX_OPTIONAL, &n, err)) || n == 0)
		return rc;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		const cJSON *v[2];
		char *prod = NULL, *ver = NULL;

		ap_jsonx_index(p, "floors", i);
		if ((rc = ap_jsonx_fields(&doc, e, p, names, 2, v, err)))
			return rc;
		ap_jsonx_join(q, p, "product");
		rc = ap_jsonx_string(&doc, v[0], q, AP_JSONX_REQUIRED | AP_JSONX_NONEMPTY, &prod,
				     err);
		if (rc == 0) {
			ap_jsonx_join(q, p, "min_version");
			rc = ap_jsonx_string(&doc, v[1], q, AP_JSONX_REQUIRED | AP_JSONX_NONEMPTY,
					     &ver, err);
		}
		if (rc == 0 && ap_root_floor(r, prod))
			rc = ap_jsonx_fail(err, AP_E_MANIFEST, p, "product '%s' is listed twice",
					   prod);
		if (rc == 0 && ap_root_set_floor(r, prod, ver, err) < 0)
			rc = ap_jsonx_fail(err, AP_E_MANIFEST, p, "%s", err ? err->msg : "invalid");
		free(prod);
		free(ver);
		if (rc)
			return rc;
	}
	return 0;
}

static int build(const cJSON *root, struct ap_root *r, struct ap_err *err)
{
	static const char *const names[] = { "format", "version", "expires",
					     "keys",   "roles",	  "floors" };
	static const char *const rnames[] = { "root", "release", "index" };
	const cJSON *v[6], *rv[3];
	char *s = NULL, q[AP_JSONX_QUOTE_MAX];
	int rc;

	if ((rc = ap_jsonx_fields(&doc, root, "", names, 6, v, err)))
		return rc;
	if ((rc = ap_jsonx_string(&doc, v[0], "format", AP_JSONX_REQUIRED, &s, err)))
		return rc;
	if (strcmp(s, AP_ROOT_FORMAT) != 0)
		rc = ap_jsonx_fail(err, AP_E_MANIFEST, "format", "expected \"%s\", got '%s'",
				   AP_ROOT_FORMAT, ap_jsonx_shown(s, q, sizeof(q)));
	free(s);
	s = NULL;
	if (rc)
		return rc;
	if ((rc = ap_jsonx_integer(&doc, v[1], "version", AP_JSONX_REQUIRED, 1, AP_JSONX_INT_MAX,
				   &r->version, err)))
		return rc;
	if ((rc = ap_jsonx_string(&doc, v[2], "expires", AP_JSONX_REQUIRED, &s, err)))
		return rc;
	if (ap_root_time_parse(s, &r->expires) < 0)
		rc = ap_jsonx_fail(err, AP_E_MANIFEST, "expires",
				   "expected a UTC time like 2027-01-31T00:00:00Z, got '%s'",
				   ap_jsonx_shown(s, q, sizeof(q)));
	free(s);
	if (rc)
		return rc;
	if ((rc = parse_keys(r, v[3], err)))
		return rc;
	if (!v[4])
		return ap_jsonx_fail(err, AP_E_MANIFEST, "roles", "required field is missing");
	if ((rc = ap_jsonx_fields(&doc, v[4], "roles", rnames, 3, rv, err)))
		return rc;
	for (int i = 0; i < AP_ROLE_N; i++)
		if ((rc = parse_role(r, i, rv[i], err)))
			return rc;
	return parse_floors(r, v[5], err);
}

int ap_root_parse(const char *json, size_t len, struct ap_root **out, struct ap_err *err)
{
	struct ap_root *r = NULL;
	cJSON *root;
	bool trailing;
	size_t off;
	int rc;

	if (len > AP_ROOT_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "root: %zu bytes, more than the cap of %u", len,
				  AP_ROOT_MAX);
	if (memchr(json, '\0', len))
		return ap_err_set(err, AP_E_MANIFEST, "root: not valid JSON: it holds a NUL byte");
	root = ap_jsonx_parse(json, len, &off, &trailing);
	if (!root)
		return ap_err_set(err, AP_E_MANIFEST, "root: not valid JSON (at byte %zu)", off);
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = ap_jsonx_nomem(&doc, err);
		goto out;
	}
	rc = build(root, r, err);
	if (rc == 0) {
		*out = r;
		r = NULL;
	}
out:
	ap_root_free(r);
	cJSON_Delete(root);
	return rc;
}

/* ------------------------------------------------------------- emitting */

static bool add_s(cJSON *o, const char *k, const char *v)
{
	return ap_jsonx_add(o, k, cJSON_CreateString(v));
}

int ap_root_emit(const struct ap_root *r, char **json, size_t *len, struct ap_err *err)
{
	cJSON *root = NULL, *keys, *roles, *floors;
	char t[AP_TIME_LEN];
	int rc;

	if ((rc = ap_root_check(r, err)) < 0) {
		ap_err_prefix(err, "refusing to write an invalid root");
		return rc;
	}
	ap_root_time_format(r->expires, t);
	root = cJSON_CreateObject();
	keys = cJSON_CreateArray();
	roles = cJSON_CreateObject();
	if (!root || !add_s(root, "format", AP_ROOT_FORMAT) ||
	    !ap_jsonx_add(root, "version", ap_jsonx_i64(r->version)) ||
	    !add_s(root, "expires", t) || !ap_jsonx_add(root, "keys", keys))
		goto nomem;
	for (size_t i = 0; i < r->n_keys; i++) {
		cJSON *k = cJSON_CreateObject();

		if (!ap_jsonx_push(keys, k) || !add_s(k, "id", r->keys[i].id) ||
		    !add_s(k, "public_key", r->keys[i].pem))
			goto nomem;
	}
	if (!ap_jsonx_add(root, "roles", roles))
		goto nomem;
	for (int i = 0; i < AP_ROLE_N; i++) {
		cJSON *ro = cJSON_CreateObject(), *ids = cJSON_CreateArray();

		if (!ap_jsonx_add(roles, role_names[i], ro)) {
			cJSON_Delete(ids);
			goto nomem;
		}
		if (!ap_jsonx_add(ro, "threshold", ap_jsonx_i64(r->roles[i].threshold)) ||
		    !ap_jsonx_add(ro, "keys", ids))
			goto nomem;
		for (size_t j = 0; j < r->roles[i].n_keys; j++)
			if (!ap_jsonx_push(ids,
					   cJSON_CreateString(r->keys[r->roles[i].keys[j]].id)))
				goto nomem;
	}
	if (r->n_floors) {
		floors = cJSON_CreateArray();
		if (!ap_jsonx_add(root, "floors", floors))
			goto nomem;
		for (size_t i = 0; i < r->n_floors; i++) {
			cJSON *f = cJSON_CreateObject();

			if (!ap_jsonx_push(floors, f) ||
			    !add_s(f, "product", r->floors[i].product) ||
			    !add_s(f, "min_version", r->floors[i].min_version))
				goto nomem;
		}
	}
	rc = ap_jsonx_print(&doc, root, json, len, err);
	cJSON_Delete(root);
	return rc;
nomem:
	cJSON_Delete(root);
	return ap_jsonx_nomem(&doc, err);
}

/* ------------------------------------------------------------- verifying */

int ap_root_verify(const struct ap_root *r, enum ap_role role, const char *what, const void *msg,
		   size_t len, const struct ap_sigset *sigs, char signer_id[AP_KEY_ID_LEN],
		   size_t *n_ok, struct ap_err *err)
{
	const struct ap_root_role *ro = &r->roles[role];
	bool counted[AP_ROOT_MAX_KEYS];
	const char *foreign = NULL;
	size_t ok = 0;
	bool first = true, any_known = false;

	memset(counted, 0, sizeof(counted));
	for (size_t s = 0; s < sigs->n; s++) {
		const struct ap_sig *sg = &sigs->v[s];
		bool known = false;

		for (size_t i = 0; i < ro->n_keys; i++) {
			size_t k = ro->keys[i];
			const struct ap_root_key *key = &r->keys[k];
			struct ap_err e2 = AP_ERR_INIT;

			if (sg->key_id[0] && strcmp(sg->key_id, key->id) != 0)
				continue;
			known = true;
			if (counted[k] || k >= AP_ROOT_MAX_KEYS)
				continue;
			if (ap_sign_verify(key->key, msg, len, sg->sig, sg->len, &e2) == 0) {
				counted[k] = true;
				ok++;
				if (first && signer_id)
					memcpy(signer_id, key->id, AP_KEY_ID_LEN);
				first = false;
				break;
			}
		}
		if (!known && sg->key_id[0] && !foreign)
			foreign = sg->key_id;
		any_known = any_known || known;
	}
	if (n_ok)
		*n_ok = ok;
	if (ok >= (size_t)ro->threshold && ok > 0)
		return 0;
	if (ok == 0 && foreign && !any_known)
		return ap_err_set(err, AP_E_UNTRUSTED,
				  "%s: signed by a key you do not trust (key id %s; root %lld "
				  "names no such %s key)",
				  what, foreign, (long long)r->version, role_names[role]);
	if (sigs->n == 0)
		return ap_err_set(err, AP_E_SIGNATURE, "%s: no signature found", what);
	if (ro->threshold <= 1)
		return ap_err_set(err, AP_E_SIGNATURE,
				  "%s: bad signature: none of the %zu trusted %s key%s of root "
				  "%lld "
				  "verifies it",
				  what, ro->n_keys, role_names[role], ro->n_keys == 1 ? "" : "s",
				  (long long)r->version);
	return ap_err_set(err, AP_E_SIGNATURE,
			  "%s: %zu of the %lld required signatures verify (role %s of root %lld; "
			  "each key counts once)",
			  what, ok, (long long)ro->threshold, role_names[role],
			  (long long)r->version);
}

int ap_root_next(const struct ap_root *cur, const char *json, size_t len,
		 const struct ap_sigset *sigs, struct ap_root **next, struct ap_err *err)
{
	struct ap_root *n = NULL;
	char what[128];
	int rc;

	rc = ap_root_parse(json, len, &n, err);
	if (rc < 0)
		return rc;
	if (n->version != cur->version + 1) {
		rc = ap_err_set(err, AP_E_MANIFEST, "root version %lld does not follow %lld",
				(long long)n->version, (long long)cur->version);
		goto out;
	}
	snprintf(what, sizeof(what), "root %lld (by the keys of root %lld)", (long long)n->version,
		 (long long)cur->version);
	rc = ap_root_verify(cur, AP_ROLE_ROOT, what, json, len, sigs, NULL, NULL, err);
	if (rc < 0)
		goto out;
	snprintf(what, sizeof(what), "root %lld (by its own keys)", (long long)n->version);
	rc = ap_root_verify(n, AP_ROLE_ROOT, what, json, len, sigs, NULL, NULL, err);
	if (rc < 0)
		goto out;
	*next = n;
	n = NULL;
out:
	ap_root_free(n);
	return rc;
}

/* ------------------------------------------------------------- signature sets */

int ap_root_sigset_add(struct ap_sigset *s, const char *key_id, const void *sig, size_t len,
		       struct ap_err *err)
{
	struct ap_sig *grown;
	unsigned char *copy;

	if (s->n >= AP_SIGSET_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "more than %d signatures for one document",
				  AP_SIGSET_MAX);
	if (len > AP_SIG_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "a signature of %zu bytes (the cap is %u)", len,
				  AP_SIG_MAX);
	copy = malloc(len ? len : 1);
	grown = ap_vec_grow(s->v, NULL, s->n + 1, sizeof(*grown));
	if (!copy || !grown) {
		free(copy);
		if (grown)
			s->v = grown;
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading signatures");
	}
	s->v = grown;
	memcpy(copy, sig, len);
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	if (key_id)
		snprintf(s->v[s->n].key_id, AP_KEY_ID_LEN, "%s", key_id);
	s->v[s->n].sig = copy;
	s->v[s->n].len = len;
	s->n++;
	return 0;
}

int ap_root_sigset_load(const char *dir, const char *base, struct ap_sigset *s, struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0, bl = strlen(base);
	int rc;

	rc = ap_fsx_list_dir(dir, &names, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *nm = names[i];
		const char *id = NULL;
		char *path, *buf = NULL;
		size_t len = 0;

		if (strncmp(nm, base, bl) != 0 || strncmp(nm + bl, ".sig", 4) != 0)
			continue;
		if (nm[bl + 4] == '.') {
			id = nm + bl + 5;
			if (!ap_str_is_lower_hex(id, AP_KEY_ID_LEN - 1) || id[AP_KEY_ID_LEN - 1])
				continue;
		} else if (nm[bl + 4] != '\0') {
			continue;
		}
		path = ap_fsx_path_join(dir, nm);
		if (!path) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading signatures");
			break;
		}
		rc = ap_fsx_read_file(path, AP_SIG_MAX, &buf, &len, err);
		if (rc == 0)
			rc = ap_root_sigset_add(s, id, buf, len, err);
		if (rc < 0)
			ap_err_prefix(err, "signature '%s'", path);
		free(buf);
		free(path);
	}
	ap_fsx_strv_free(names, n);
	return rc;
}

int ap_root_sigset_write(const struct ap_sigset *s, const char *path, struct ap_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < s->n && rc == 0; i++) {
		char name[AP_KEY_ID_LEN + 8];
		char *p;

		snprintf(name, sizeof(name), s->v[i].key_id[0] ? ".sig.%s" : ".sig",
			 s->v[i].key_id);
		p = ap_strcat2(path, name);
		if (!p)
			return ap_err_set(err, AP_E_NOMEM, "out of memory writing signatures");
		rc = ap_fsx_write_atomic(p, s->v[i].sig, s->v[i].len, 0644, err);
		free(p);
	}
	return rc;
}

void ap_root_sigset_release(struct ap_sigset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].sig);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
