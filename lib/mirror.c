/* mirror.c - the signed index of a mirror tree; see airpack/mirror.h.
 *
 * Besides manifest.c and receipt.c, the one other user of cJSON: an index
 * is its own small document, and keeping its parser here keeps the
 * manifest module about manifests.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

#include "airpack/mirror.h"
#include "airpack/manifest.h"
#include "airpack/banned.h"

#define PATH_BUF 64
#define QUOTE_BUF 96
/* Sizes must round-trip through a double exactly (as in manifests). */
#define MAX_SIZE 9007199254740991ULL

static int fail(struct ap_err *err, int code, const char *path, const char *fmt, ...)
    AP_PRINTF(4, 5);
static int fail(struct ap_err *err, int code, const char *path, const char *fmt, ...)
{
	char msg[AP_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	if (path && *path)
		return ap_err_set(err, code, "%s: %s", path, msg);
	return ap_err_set(err, code, "%s", msg);
}

static int nomem(struct ap_err *err)
{
	return ap_err_set(err, AP_E_NOMEM, "out of memory handling the mirror index");
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

/* s for a message: cut, with control characters shown as '?'. */
static const char *shown(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	if (!s)
		return "(null)";
	for (; *s && o + 4 < n; s++)
		buf[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool lower_hex(const char *s, size_t want)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == want;
}

/* The value rules shared by parsing, put and new; path names the field. */
static int check_version(int code, const char *path, const char *v, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!ap_version_valid(v))
		return fail(err, code, path, "expected a version like 1.1.13, got '%s'",
		            shown(v, q, sizeof(q)));
	return 0;
}

static int check_name(int code, const char *path, const char *v, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!ap_manifest_safe_name(v))
		return fail(err, code, path,
		            "expected a name (no '/', '\\', '..', control characters), got '%s'",
		            shown(v, q, sizeof(q)));
	return 0;
}

static int check_hex(int code, const char *path, const char *v, size_t digits, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!lower_hex(v, digits))
		return fail(err, code, path, "expected %zu lowercase hex digits, got '%s'", digits,
		            shown(v, q, sizeof(q)));
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
	free(ix);
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
		return nomem(err);
	ix->product = xstrdup(product);
	ix->key_id = xstrdup(key_id);
	if (!ix->product || !ix->key_id) {
		ap_mirror_index_free(ix);
		return nomem(err);
	}
	*out = ix;
	return 0;
}

static int cmp_release(const void *a, const void *b)
{
	const struct ap_mirror_release *x = a, *y = b;

	return ap_version_cmp(x->version, y->version);
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
	nr.version = xstrdup(version);
	nr.channel = channel ? xstrdup(channel) : NULL;
	if (!nr.version || (channel && !nr.channel)) {
		release_release(&nr);
		return nomem(err);
	}
	memcpy(nr.manifest_sha256, manifest_sha256, AP_SHA256_HEX);
	nr.size = size;
	for (size_t i = 0; i < ix->n_releases; i++) {
		if (ap_version_cmp(ix->releases[i].version, version) != 0)
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
		grown = realloc(ix->releases, (ix->n_releases + 1) * sizeof(*grown));
		if (!grown) {
			release_release(&nr);
			return nomem(err);
		}
		ix->releases = grown;
		ix->releases[ix->n_releases++] = nr;
	}
	qsort(ix->releases, ix->n_releases, sizeof(*ix->releases), cmp_release);
	return 0;
}

/* ------------------------------------------------------------- parsing */

static const char *type_name(const cJSON *j)
{
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsObject(j))
		return "an object";
	if (cJSON_IsArray(j))
		return "an array";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	return "an invalid value";
}

/* Known fields only, each at most once; vals[] follows names[]. */
static int take_fields(const cJSON *obj, const char *path, const char *const *names, size_t n,
                       const cJSON **vals, struct ap_err *err)
{
	char q[QUOTE_BUF];

	if (!cJSON_IsObject(obj))
		return fail(err, AP_E_MANIFEST, path, "expected an object, got %s", type_name(obj));
	for (size_t k = 0; k < n; k++)
		vals[k] = NULL;
	for (const cJSON *f = obj->child; f; f = f->next) {
		size_t k;

		for (k = 0; k < n; k++)
			if (strcmp(f->string, names[k]) == 0)
				break;
		if (k == n)
			return fail(err, AP_E_MANIFEST, path, "unknown field '%s'",
			            shown(f->string, q, sizeof(q)));
		if (vals[k])
			return fail(err, AP_E_MANIFEST, path, "duplicate field '%s'",
			            shown(f->string, q, sizeof(q)));
		vals[k] = f;
	}
	return 0;
}

static int get_str(const cJSON *j, const char *path, bool required, char **out, struct ap_err *err)
{
	*out = NULL;
	if (!j)
		return required ? fail(err, AP_E_MANIFEST, path, "required field is missing") : 0;
	if (!cJSON_IsString(j) || !j->valuestring)
		return fail(err, AP_E_MANIFEST, path, "expected a string, got %s", type_name(j));
	if (strlen(j->valuestring) == 0)
		return fail(err, AP_E_MANIFEST, path, "expected a non-empty string");
	*out = xstrdup(j->valuestring);
	return *out ? 0 : nomem(err);
}

static int get_size(const cJSON *j, const char *path, uint64_t *out, struct ap_err *err)
{
	double d;

	if (!j)
		return fail(err, AP_E_MANIFEST, path, "required field is missing");
	if (!cJSON_IsNumber(j))
		return fail(err, AP_E_MANIFEST, path, "expected a non-negative integer, got %s",
		            type_name(j));
	d = j->valuedouble;
	if (!(d >= 0) || d > (double)MAX_SIZE || (double)(uint64_t)d != d)
		return fail(err, AP_E_MANIFEST, path,
		            "expected a non-negative integer at most %llu, got %.17g",
		            (unsigned long long)MAX_SIZE, d);
	*out = (uint64_t)d;
	return 0;
}

static int parse_release(const cJSON *j, const char *path, struct ap_mirror_release *r,
                         struct ap_err *err)
{
	static const char *const names[] = {"version", "channel", "manifest_sha256", "size"};
	const cJSON *v[4];
	char p[PATH_BUF + 32];
	char *sha = NULL;
	int rc;

	if ((rc = take_fields(j, path, names, 4, v, err)))
		return rc;
	snprintf(p, sizeof(p), "%s.version", path);
	if ((rc = get_str(v[0], p, true, &r->version, err)) ||
	    (rc = check_version(AP_E_MANIFEST, p, r->version, err)))
		return rc;
	snprintf(p, sizeof(p), "%s.channel", path);
	if ((rc = get_str(v[1], p, false, &r->channel, err)))
		return rc;
	if (r->channel && (rc = check_name(AP_E_MANIFEST, p, r->channel, err)))
		return rc;
	snprintf(p, sizeof(p), "%s.manifest_sha256", path);
	if ((rc = get_str(v[2], p, true, &sha, err)))
		return rc;
	rc = check_hex(AP_E_MANIFEST, p, sha, 64, err);
	if (rc == 0)
		memcpy(r->manifest_sha256, sha, AP_SHA256_HEX);
	free(sha);
	if (rc)
		return rc;
	snprintf(p, sizeof(p), "%s.size", path);
	return get_size(v[3], p, &r->size, err);
}

static int build(const cJSON *root, struct ap_mirror_index *ix, struct ap_err *err)
{
	static const char *const names[] = {"format", "product", "key_id", "releases"};
	const cJSON *v[4];
	char p[PATH_BUF], q[QUOTE_BUF];
	char *format = NULL;
	size_t n = 0;
	int rc;

	if ((rc = take_fields(root, "", names, 4, v, err)))
		return rc;
	if ((rc = get_str(v[0], "format", true, &format, err)))
		return rc;
	if (strcmp(format, AP_INDEX_FORMAT) != 0) {
		rc = fail(err, AP_E_MANIFEST, "format", "expected \"%s\", got '%s'",
		          AP_INDEX_FORMAT, shown(format, q, sizeof(q)));
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
	if (!v[3])
		return fail(err, AP_E_MANIFEST, "releases", "required field is missing");
	if (!cJSON_IsArray(v[3]))
		return fail(err, AP_E_MANIFEST, "releases", "expected an array, got %s",
		            type_name(v[3]));
	for (const cJSON *e = v[3]->child; e; e = e->next)
		n++;
	if (n == 0)
		return 0;
	ix->releases = calloc(n, sizeof(*ix->releases));
	if (!ix->releases)
		return nomem(err);
	for (const cJSON *e = v[3]->child; e; e = e->next) {
		snprintf(p, sizeof(p), "releases[%zu]", ix->n_releases);
		/* Counted first so a half-parsed entry is freed with the rest. */
		ix->n_releases++;
		if ((rc = parse_release(e, p, &ix->releases[ix->n_releases - 1], err)))
			return rc;
		/* 1.0 and 1.0.0 compare equal: one of them would be unreachable. */
		for (size_t k = 0; k + 1 < ix->n_releases; k++)
			if (ap_version_cmp(ix->releases[k].version,
			                   ix->releases[ix->n_releases - 1].version) == 0)
				return fail(err, AP_E_MANIFEST, p,
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
	const char *end = NULL;
	size_t off;
	int rc;

	if (!json || !out)
		return ap_err_set(err, AP_E_USAGE, "no index bytes to parse");
	if (memchr(json, '\0', len))
		return ap_err_set(err, AP_E_MANIFEST, "not valid JSON: it holds a NUL byte");
	root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root) {
		off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
		return ap_err_set(err, AP_E_MANIFEST, "not valid JSON (at byte %zu)", off);
	}
	for (off = (size_t)(end - json); off < len; off++) {
		if (json[off] != ' ' && json[off] != '\t' && json[off] != '\n' &&
		    json[off] != '\r') {
			rc = ap_err_set(err, AP_E_MANIFEST,
			                "unexpected data after the JSON object (at byte %zu)", off);
			goto out;
		}
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		rc = nomem(err);
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

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A JSON string literal.  Validated values hold no control characters,
 * but quotes and backslashes are allowed in names. */
static void put_str(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			put(b, "\\", 1);
			put(b, s, 1);
		} else if ((unsigned char)*s < 0x20) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)(unsigned char)*s);
			puts_(b, esc);
		} else {
			put(b, s, 1);
		}
	}
	put(b, "\"", 1);
}

static void put_field(struct buf *b, const char *indent, const char *key, const char *val,
                      bool last)
{
	puts_(b, indent);
	put_str(b, key);
	puts_(b, ": ");
	put_str(b, val);
	puts_(b, last ? "\n" : ",\n");
}

int ap_mirror_index_emit(const struct ap_mirror_index *ix, char **json, size_t *len,
                         struct ap_err *err)
{
	struct buf b = {NULL, 0, 0, false};
	char num[32];
	int rc;

	if (!ix || !json)
		return ap_err_set(err, AP_E_USAGE, "no index to emit");
	if ((rc = check_name(AP_E_USAGE, "product", ix->product, err)) ||
	    (rc = check_hex(AP_E_USAGE, "key_id", ix->key_id, 16, err)))
		return ap_err_prefix(err, "refusing to emit an invalid index");
	for (size_t i = 0; i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];
		char p[PATH_BUF];

		snprintf(p, sizeof(p), "releases[%zu]", i);
		if ((rc = check_version(AP_E_USAGE, p, r->version, err)) ||
		    (r->channel && (rc = check_name(AP_E_USAGE, p, r->channel, err))) ||
		    (rc = check_hex(AP_E_USAGE, p, r->manifest_sha256, 64, err)))
			return ap_err_prefix(err, "refusing to emit an invalid index");
		if (i > 0 && ap_version_cmp(ix->releases[i - 1].version, r->version) >= 0)
			return ap_err_set(err, AP_E_USAGE,
			                  "refusing to emit an invalid index: %s: versions not in "
			                  "ascending order",
			                  p);
	}
	puts_(&b, "{\n");
	put_field(&b, "  ", "format", AP_INDEX_FORMAT, false);
	put_field(&b, "  ", "product", ix->product, false);
	put_field(&b, "  ", "key_id", ix->key_id, false);
	puts_(&b, ix->n_releases ? "  \"releases\": [\n" : "  \"releases\": []\n");
	for (size_t i = 0; i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];

		puts_(&b, "    {\n");
		put_field(&b, "      ", "version", r->version, false);
		if (r->channel)
			put_field(&b, "      ", "channel", r->channel, false);
		put_field(&b, "      ", "manifest_sha256", r->manifest_sha256, false);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r->size);
		puts_(&b, "      \"size\": ");
		puts_(&b, num);
		puts_(&b, "\n");
		puts_(&b, i + 1 < ix->n_releases ? "    },\n" : "    }\n");
	}
	if (ix->n_releases)
		puts_(&b, "  ]\n");
	puts_(&b, "}\n");
	if (b.failed) {
		free(b.p);
		return nomem(err);
	}
	*json = b.p;
	if (len)
		*len = b.len;
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

		if (!ap_version_valid(version))
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
			return ap_err_set(
			    err, AP_E_NOTFOUND, "version %s of '%s' is in channel '%s', not '%s'",
			    version, ix->product, r->channel ? r->channel : "(none)", channel);
		*out = r;
		return 0;
	}
	for (size_t i = 0; i < ix->n_releases; i++) {
		const struct ap_mirror_release *r = &ix->releases[i];

		if (channel && (!r->channel || strcmp(r->channel, channel) != 0))
			continue;
		if (!best || ap_version_cmp(r->version, best->version) > 0)
			best = r;
	}
	if (!best) {
		if (channel)
			return ap_err_set(
			    err, AP_E_NOTFOUND,
			    "no release of '%s' in channel '%s' (the index lists: %s)", ix->product,
			    channel, have);
		return ap_err_set(err, AP_E_NOTFOUND, "the mirror index of '%s' lists no releases",
		                  ix->product);
	}
	*out = best;
	return 0;
}
