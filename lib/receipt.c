/* receipt.c - the receipt and the transaction journal; see airpack/receipt.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define RECEIPT_MAX (64u * 1024 * 1024)

static const struct ap_jsonx_doc receipt_doc = { AP_E_STATE, "the receipt", AP_JSONX_QUOTE_SINGLE };
static const struct ap_jsonx_doc journal_doc = { AP_E_STATE, "the journal", AP_JSONX_QUOTE_SINGLE };

/* ---- model ---- */

struct ap_receipt *ap_receipt_new(void)
{
	struct ap_receipt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->format = ap_strdup(AP_RECEIPT_FORMAT);
	if (!r->format) {
		free(r);
		return NULL;
	}
	return r;
}

void ap_receipt_action_release(struct ap_receipt_action *a)
{
	if (!a)
		return;
	free(a->component);
	free(a->program);
	for (size_t i = 0; i < a->n_args; i++)
		free(a->args[i]);
	free(a->args);
	free(a->ok_codes);
	free(a->reboot_codes);
	free(a->output);
	memset(a, 0, sizeof(*a));
}

static void free_actions(struct ap_receipt_action *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		ap_receipt_action_release(&v[i]);
	free(v);
}

void ap_receipt_service_release(struct ap_receipt_service *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->component);
	free(s->program);
	for (size_t i = 0; i < s->n_args; i++)
		free(s->args[i]);
	free(s->args);
	free(s->description);
	memset(s, 0, sizeof(*s));
}

void ap_receipt_free(struct ap_receipt *r)
{
	if (!r)
		return;
	free(r->format);
	free(r->product);
	free(r->version);
	free(r->channel);
	free(r->platform);
	free(r->prefix);
	free(r->key_id);
	free(r->pinned_version);
	free(r->freshness);
	for (size_t i = 0; i < r->n_data_dirs; i++)
		free(r->data_dirs[i]);
	free(r->data_dirs);
	for (size_t i = 0; i < r->n_created_data_dirs; i++)
		free(r->created_data_dirs[i]);
	free(r->created_data_dirs);
	for (size_t i = 0; i < r->n_dirs; i++)
		free(r->dirs[i]);
	free(r->dirs);
	for (size_t i = 0; i < r->n_files && !r->file_strings.blocks; i++) {
		free(r->files[i].path);
		free(r->files[i].component);
	}
	ap_strpool_release(&r->file_strings);
	free(r->files);
	free_actions(r->pending, r->n_pending);
	free_actions(r->actions, r->n_actions);
	for (size_t i = 0; i < r->n_services; i++)
		ap_receipt_service_release(&r->services[i]);
	free(r->services);
	free(r);
}

static int cmp_file(const void *a, const void *b)
{
	const struct ap_receipt_file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static int cmp_file_ptr(const void *a, const void *b)
{
	const struct ap_receipt_file *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ap_receipt_sort(struct ap_receipt *r)
{
	if (r->n_files > 1)
		qsort(r->files, r->n_files, sizeof(*r->files), cmp_file);
	if (r->n_dirs > 1)
		qsort(r->dirs, r->n_dirs, sizeof(*r->dirs), cmp_str);
}

const struct ap_receipt_file *ap_receipt_find_file(const struct ap_receipt *r, const char *path)
{
	struct ap_receipt_file key;

	if (!r->files || r->n_files == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.path = (char *)path;
	return bsearch(&key, r->files, r->n_files, sizeof(*r->files), cmp_file);
}

/* ---- emit ---- */

/* Each add_* returns false when out of memory. */
static bool add_str(cJSON *obj, const char *key, const char *s)
{
	return ap_jsonx_add(obj, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static bool add_strv(cJSON *obj, const char *key, char *const *v, size_t n)
{
	return ap_jsonx_add(obj, key, ap_jsonx_strings(v, n));
}

static bool add_intv(cJSON *obj, const char *key, const int *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	if (!ap_jsonx_add(obj, key, arr))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ap_jsonx_push(arr, ap_jsonx_i64(v[i])))
			return false;
	return true;
}

static bool add_action(cJSON *arr, const struct ap_receipt_action *a, bool done)
{
	cJSON *o = cJSON_CreateObject();

	if (!ap_jsonx_push(arr, o))
		return false;
	if (!add_str(o, "component", a->component) || !add_str(o, "program", a->program) ||
	    !add_strv(o, "args", a->args, a->n_args) ||
	    !add_intv(o, "ok_exit_codes", a->ok_codes, a->n_ok_codes))
		return false;
	/* Written only when the release declares them, so receipts of releases
	 * without them stay as they were. */
	if (a->n_reboot_codes &&
	    !add_intv(o, "reboot_exit_codes", a->reboot_codes, a->n_reboot_codes))
		return false;
	if (!done)
		return true;
	if (a->restart_required && !ap_jsonx_add(o, "restart_required", cJSON_CreateBool(true)))
		return false;
	return ap_jsonx_add(o, "exit_code", ap_jsonx_i64(a->exit_code)) &&
	       ap_jsonx_add(o, "ok", cJSON_CreateBool(a->ok)) &&
	       ap_jsonx_add(o, "ran_at", ap_jsonx_i64(a->ran_at)) &&
	       (!a->output || add_str(o, "output", a->output));
}

static bool strv_sorted_unique(char *const *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) >= 0)
			return false;
	return true;
}

/* One file's object as compact text, appended to sb. */
static bool add_file_text(struct ap_strbuf *sb, const struct ap_receipt_file *f)
{
	cJSON *o = cJSON_CreateObject();
	char mode[8];
	char *text = NULL;
	bool ok;

	snprintf(mode, sizeof(mode), "%04o", f->mode & 07777);
	ok = o && add_str(o, "path", f->path) && add_str(o, "mode", mode) &&
	     ap_jsonx_add(o, "size", ap_jsonx_u64(f->size)) && add_str(o, "sha256", f->sha256) &&
	     add_str(o, "component", f->component) && (text = cJSON_PrintUnformatted(o)) != NULL &&
	     ap_strbuf_addstr(sb, text) == 0;
	cJSON_free(text);
	cJSON_Delete(o);
	return ok;
}

/* The receipt laid out as ap_jsonx_print would, but with the files (the
 * part that grows: 100,000 of them in a big release) printed one object at
 * a time into root's empty "files" array and written out as they are made:
 * neither a cJSON tree of them nor the receipt's text is ever held whole. */
static int print_streamed(const cJSON *root, const struct ap_receipt_file *const *files, size_t n,
			  struct ap_jsonx_stream *out, struct ap_err *err)
{
	static const char key[] = "\"files\":[]";
	struct ap_strbuf one = AP_STRBUF_INIT;
	char *compact = cJSON_PrintUnformatted(root);
	char *at;
	int rc = 0;

	/* Structure quotes are never escaped, those inside strings always
	 * are: the root's one "files" key is the only match. */
	at = compact ? strstr(compact, key) : NULL;
	if (!at) {
		cJSON_free(compact);
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
	}
	if (n == 0) {
		rc = ap_jsonx_stream_add(out, compact);
		goto out;
	}
	at += sizeof(key) - 2; /* the array's ']' */
	*at = '\0';
	rc = ap_jsonx_stream_add(out, compact);
	*at = ']';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ap_strbuf_reset(&one);
		if ((i > 0 && ap_strbuf_addch(&one, ',') < 0) || !add_file_text(&one, files[i]) ||
		    one.failed)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
		else
			rc = ap_jsonx_stream_add(out, one.buf);
	}
	if (rc == 0)
		rc = ap_jsonx_stream_add(out, at);
out:
	if (rc == 0)
		rc = ap_jsonx_stream_finish(out);
	ap_strbuf_release(&one);
	cJSON_free(compact);
	return rc;
}

/* A format writer: field by field in the documented order; long, but a flat list. */
static int emit(const struct ap_receipt *r, struct ap_jsonx_stream *out, struct ap_err *err)
{
	const struct ap_receipt_file **files = NULL;
	char **dirs = NULL;
	cJSON *root = NULL;
	cJSON *arr;
	int rc = 0;

	/* Sort views, not the caller's receipt (it is const). */
	if (r->n_files > 0) {
		files = calloc(r->n_files, sizeof(*files));
		if (!files)
			goto nomem;
		for (size_t i = 0; i < r->n_files; i++)
			files[i] = &r->files[i];
		qsort(files, r->n_files, sizeof(*files), cmp_file_ptr);
	}
	if (r->n_dirs > 0) {
		dirs = calloc(r->n_dirs, sizeof(*dirs));
		if (!dirs)
			goto nomem;
		memcpy(dirs, r->dirs, r->n_dirs * sizeof(*dirs));
		qsort(dirs, r->n_dirs, sizeof(*dirs), cmp_str);
	}

	root = cJSON_CreateObject();
	if (!root)
		goto nomem;
	if (!add_str(root, "format", AP_RECEIPT_FORMAT) || !add_str(root, "product", r->product) ||
	    !add_str(root, "version", r->version) || !add_str(root, "channel", r->channel) ||
	    (r->platform && !add_str(root, "platform", r->platform)) ||
	    !add_str(root, "prefix", r->prefix) || !add_str(root, "key_id", r->key_id) ||
	    (r->insecure && !ap_jsonx_add(root, "insecure", cJSON_CreateTrue())) ||
	    !add_str(root, "manifest_sha256", r->manifest_sha256) ||
	    !ap_jsonx_add(root, "installed_at", ap_jsonx_i64(r->installed_at)) ||
	    !add_str(root, "pinned_version", r->pinned_version) ||
	    (r->freshness && !add_str(root, "freshness", r->freshness)) ||
	    !add_strv(root, "data_dirs", r->data_dirs, r->n_data_dirs) ||
	    (r->has_created_data_dirs &&
	     !add_strv(root, "created_data_dirs", r->created_data_dirs, r->n_created_data_dirs)) ||
	    !add_strv(root, "dirs", dirs, r->n_dirs))
		goto nomem;
	/* The files are spliced in as text below: an empty array here. */
	if (!ap_jsonx_add(root, "files", cJSON_CreateArray()))
		goto nomem;
	arr = cJSON_CreateArray();
	if (!ap_jsonx_add(root, "pending", arr))
		goto nomem;
	for (size_t i = 0; i < r->n_pending; i++)
		if (!add_action(arr, &r->pending[i], false))
			goto nomem;
	arr = cJSON_CreateArray();
	if (!ap_jsonx_add(root, "actions", arr))
		goto nomem;
	for (size_t i = 0; i < r->n_actions; i++)
		if (!add_action(arr, &r->actions[i], true))
			goto nomem;
	if (r->n_services) {
		arr = cJSON_CreateArray();
		if (!ap_jsonx_add(root, "services", arr))
			goto nomem;
	}
	for (size_t i = 0; i < r->n_services; i++) {
		const struct ap_receipt_service *s = &r->services[i];
		cJSON *o = cJSON_CreateObject();

		if (!ap_jsonx_push(arr, o) || !add_str(o, "name", s->name) ||
		    !add_str(o, "component", s->component) || !add_str(o, "program", s->program) ||
		    !add_strv(o, "args", s->args, s->n_args) ||
		    (s->description && !add_str(o, "description", s->description)) ||
		    !ap_jsonx_add(o, "registered", cJSON_CreateBool(s->registered)))
			goto nomem;
	}
	rc = print_streamed(root, files, r->n_files, out, err);
	goto out;
nomem:
	rc = ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
out:
	cJSON_Delete(root);
	free(files);
	free(dirs);
	return rc;
}

static int to_strbuf(void *ctx, const void *data, size_t len, struct ap_err *err)
{
	if (ap_strbuf_add(ctx, data, len) < 0)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
	return 0;
}

int ap_receipt_emit(const struct ap_receipt *r, char **json, size_t *len, struct ap_err *err)
{
	struct ap_strbuf sb = AP_STRBUF_INIT;
	struct ap_jsonx_stream *out = malloc(sizeof(*out));
	char *text;
	size_t n;
	int rc;

	if (!out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
	ap_jsonx_stream_init(out, to_strbuf, &sb, err);
	rc = emit(r, out, err);
	free(out);
	if (rc < 0) {
		ap_strbuf_release(&sb);
		return rc;
	}
	text = ap_strbuf_detach(&sb, &n);
	if (!text)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
	*json = text;
	*len = n;
	return 0;
}

static int to_afile(void *ctx, const void *data, size_t len, struct ap_err *err)
{
	return ap_fsx_afile_write(ctx, data, len, err);
}

int ap_receipt_write(const struct ap_receipt *r, struct ap_fsx_afile *f, struct ap_err *err)
{
	struct ap_jsonx_stream *out = malloc(sizeof(*out));
	int rc;

	if (!out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the receipt");
	ap_jsonx_stream_init(out, to_afile, f, err);
	rc = emit(r, out, err);
	free(out);
	return rc;
}

/* ---- parse ---- */

/* Field readers for one object of a document: a field key is named
 * where.key in messages ("files[2].path"), and every field is required. */
struct fields {
	const struct ap_jsonx_doc *d;
	const cJSON *obj;
	const char *where;
	char path[AP_JSONX_PATH_MAX];
};

/* Check that f's object holds only the n fields keys. */
static int check_keys(struct fields *f, const char *const *keys, size_t n, struct ap_err *err)
{
	return ap_jsonx_fields(f->d, f->obj, f->where, keys, n, NULL, err);
}

/* The field key, with its path in f->path. */
static const cJSON *field(struct fields *f, const char *key)
{
	ap_jsonx_join(f->path, f->where, key);
	return cJSON_GetObjectItemCaseSensitive(f->obj, key);
}

static int get_str(struct fields *f, const char *key, bool nullable, char **out, struct ap_err *err)
{
	const cJSON *v = field(f, key);

	return ap_jsonx_string(f->d, v, f->path,
			       AP_JSONX_REQUIRED | (nullable ? AP_JSONX_NULLABLE : 0), out, err);
}

static int get_i64(struct fields *f, const char *key, int64_t min, int64_t max, int64_t *out,
		   struct ap_err *err)
{
	const cJSON *v = field(f, key);

	return ap_jsonx_integer(f->d, v, f->path, AP_JSONX_REQUIRED, min, max, out, err);
}

static int get_strv(struct fields *f, const char *key, char ***out, size_t *n, struct ap_err *err)
{
	const cJSON *v = field(f, key);

	return ap_jsonx_strv(f->d, v, f->path, AP_JSONX_REQUIRED, out, n, err);
}

static int get_ints(struct fields *f, const char *key, int **out, size_t *n, struct ap_err *err)
{
	const cJSON *v = field(f, key);

	return ap_jsonx_ints(f->d, v, f->path, AP_JSONX_REQUIRED, out, n, err);
}

static int get_bool(struct fields *f, const char *key, bool *out, struct ap_err *err)
{
	const cJSON *v = field(f, key);

	if (!cJSON_IsBool(v))
		return ap_err_set(err, f->d->code, "%s: expected true or false", f->path);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_array(struct fields *f, const char *key, const cJSON **out, size_t *n,
		     struct ap_err *err)
{
	const cJSON *v = field(f, key);
	int rc = ap_jsonx_array(f->d, v, f->path, AP_JSONX_REQUIRED, n, err);

	if (rc == 0)
		*out = v;
	return rc;
}

/* An array of safe relative paths (for data_dirs, dirs). */
static int get_paths(struct fields *f, const char *key, char ***out, size_t *n_out,
		     struct ap_err *err)
{
	char **v;
	size_t n;
	int rc;

	rc = get_strv(f, key, &v, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (!ap_manifest_safe_relpath(v[i], false)) {
			rc = ap_err_set(err, AP_E_STATE, "%s[%zu]: expected a safe relative path",
					f->path, i);
			ap_fsx_strv_free(v, n);
			return rc;
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int parse_action(const cJSON *o, const char *where, bool done, struct ap_receipt_action *out,
			struct ap_err *err)
{
	static const char *const keys[] = {
		"component", "program", "args",	  "ok_exit_codes",    "reboot_exit_codes",
		"exit_code", "ok",	"ran_at", "restart_required", "output"
	};
	struct fields f = { &receipt_doc, o, where, "" };
	struct ap_receipt_action a;
	int64_t v;
	int rc;

	memset(&a, 0, sizeof(a));
	/* A pending action has not run: it holds only the first five. */
	rc = check_keys(&f, keys, done ? 10 : 5, err);
	if (rc < 0)
		return rc;
	rc = get_str(&f, "component", false, &a.component, err);
	if (rc == 0)
		rc = get_str(&f, "program", false, &a.program, err);
	if (rc < 0)
		goto fail;
	if (!ap_manifest_safe_relpath(a.program, false)) {
		rc = ap_err_set(err, AP_E_STATE, "%s.program: expected a safe relative path",
				where);
		goto fail;
	}
	rc = get_strv(&f, "args", &a.args, &a.n_args, err);
	if (rc == 0)
		rc = get_ints(&f, "ok_exit_codes", &a.ok_codes, &a.n_ok_codes, err);
	if (rc == 0 && field(&f, "reboot_exit_codes"))
		rc = get_ints(&f, "reboot_exit_codes", &a.reboot_codes, &a.n_reboot_codes, err);
	if (rc == 0 && done && field(&f, "restart_required"))
		rc = get_bool(&f, "restart_required", &a.restart_required, err);
	if (rc == 0 && done) {
		rc = get_i64(&f, "exit_code", INT32_MIN, INT32_MAX, &v, err);
		if (rc == 0) {
			a.exit_code = (int)v;
			rc = get_bool(&f, "ok", &a.ok, err);
		}
		if (rc == 0)
			rc = get_i64(&f, "ran_at", INT64_MIN / 2, INT64_MAX / 2, &a.ran_at, err);
		if (rc == 0 && cJSON_GetObjectItemCaseSensitive(o, "output"))
			rc = get_str(&f, "output", true, &a.output, err);
	}
	if (rc < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	ap_receipt_action_release(&a);
	return rc;
}

static int parse_actions(struct fields *rf, const char *key, bool done,
			 struct ap_receipt_action **out, size_t *n_out, struct ap_err *err)
{
	struct ap_receipt_action *v = NULL;
	const cJSON *arr = NULL, *it;
	char where[AP_JSONX_PATH_MAX];
	size_t n, i = 0;
	int rc;

	rc = get_array(rf, key, &arr, &n, err);
	if (rc < 0)
		return rc;
	if (n > 0) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return ap_jsonx_nomem(rf->d, err);
	}
	cJSON_ArrayForEach(it, arr)
	{
		ap_jsonx_index(where, key, i);
		rc = parse_action(it, where, done, &v[i], err);
		if (rc < 0) {
			free_actions(v, i);
			return rc;
		}
		i++;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int parse_mode(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n < 1 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v > 07777)
		return -1;
	*out = v;
	return 0;
}

static int parse_file(const cJSON *o, const char *where, struct ap_receipt_file *file,
		      struct ap_err *err)
{
	static const char *const keys[] = { "path", "mode", "size", "sha256", "component" };
	struct fields f = { &receipt_doc, o, where, "" };
	char *mode = NULL;
	char *sha = NULL;
	int64_t size;
	int rc;

	rc = check_keys(&f, keys, sizeof(keys) / sizeof(keys[0]), err);
	if (rc == 0)
		rc = get_str(&f, "path", false, &file->path, err);
	if (rc == 0)
		rc = get_str(&f, "component", false, &file->component, err);
	if (rc == 0)
		rc = get_str(&f, "mode", false, &mode, err);
	if (rc == 0)
		rc = get_str(&f, "sha256", false, &sha, err);
	if (rc == 0)
		rc = get_i64(&f, "size", 0, INT64_MAX, &size, err);
	if (rc < 0)
		goto out;
	if (!ap_manifest_safe_relpath(file->path, false)) {
		rc = ap_err_set(err, AP_E_STATE, "%s.path: expected a safe relative path, got '%s'",
				where, file->path);
		goto out;
	}
	if (parse_mode(mode, &file->mode) < 0) {
		rc = ap_err_set(err, AP_E_STATE,
				"%s.mode: expected an octal mode like \"0644\", got '%s'", where,
				mode);
		goto out;
	}
	if (!ap_digest_is_hex(sha)) {
		rc = ap_err_set(err, AP_E_STATE, "%s.sha256: expected 64 hex digits, got '%s'",
				where, sha);
		goto out;
	}
	for (size_t i = 0; i < AP_SHA256_HEX - 1; i++)
		file->sha256[i] =
			(char)(sha[i] >= 'A' && sha[i] <= 'F' ? sha[i] - 'A' + 'a' : sha[i]);
	file->sha256[AP_SHA256_HEX - 1] = '\0';
	file->size = (uint64_t)size;
out:
	free(mode);
	free(sha);
	return rc;
}

static int parse_service(const cJSON *o, const char *where, struct ap_receipt_service *s,
			 struct ap_err *err)
{
	static const char *const keys[] = { "name", "component",   "program",
					    "args", "description", "registered" };
	struct fields f = { &receipt_doc, o, where, "" };
	int rc = check_keys(&f, keys, sizeof(keys) / sizeof(keys[0]), err);

	if (rc == 0)
		rc = get_str(&f, "name", false, &s->name, err);
	if (rc == 0 && !ap_manifest_safe_name(s->name))
		rc = ap_err_set(err, AP_E_STATE, "%s.name: expected a safe name", where);
	if (rc == 0)
		rc = get_str(&f, "component", false, &s->component, err);
	if (rc == 0)
		rc = get_str(&f, "program", false, &s->program, err);
	if (rc == 0 && !ap_manifest_safe_relpath(s->program, false))
		rc = ap_err_set(err, AP_E_STATE, "%s.program: expected a safe relative path",
				where);
	if (rc == 0)
		rc = get_strv(&f, "args", &s->args, &s->n_args, err);
	if (rc == 0 && field(&f, "description"))
		rc = get_str(&f, "description", false, &s->description, err);
	if (rc == 0)
		rc = get_bool(&f, "registered", &s->registered, err);
	return rc;
}

static int parse_services(struct fields *rf, struct ap_receipt *r, struct ap_err *err)
{
	const cJSON *arr = NULL, *it;
	char where[AP_JSONX_PATH_MAX];
	size_t n, i = 0;
	int rc = get_array(rf, "services", &arr, &n, err);

	if (rc < 0 || n == 0)
		return rc;
	r->services = calloc(n, sizeof(*r->services));
	if (!r->services)
		return ap_jsonx_nomem(rf->d, err);
	cJSON_ArrayForEach(it, arr)
	{
		ap_jsonx_index(where, "services", i);
		r->n_services = i + 1;
		rc = parse_service(it, where, &r->services[i], err);
		if (rc < 0)
			return rc;
		i++;
	}
	return 0;
}

/* A format parser: one checked field after another, each error naming its field; long by
 * design. */
int ap_receipt_parse(const char *json, size_t len, struct ap_receipt **out, struct ap_err *err)
{
	static const char *const keys[] = {
		"format",	  "product",   "version",   "channel",		 "platform",
		"prefix",	  "key_id",    "insecure",  "manifest_sha256",	 "installed_at",
		"pinned_version", "freshness", "data_dirs", "created_data_dirs", "dirs",
		"files",	  "pending",   "actions",   "services"
	};
	struct fields f = { &receipt_doc, NULL, "receipt", "" };
	struct ap_receipt *r = NULL;
	const cJSON *arr = NULL, *it;
	cJSON *root;
	char *sha = NULL;
	char where[AP_JSONX_PATH_MAX];
	size_t n, i = 0;
	int rc;

	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return ap_err_set(err, AP_E_STATE, "receipt: not valid JSON");
	f.obj = root;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = ap_jsonx_nomem(f.d, err);
		goto out;
	}
	rc = check_keys(&f, keys, sizeof(keys) / sizeof(keys[0]), err);
	if (rc == 0)
		rc = get_str(&f, "format", false, &r->format, err);
	if (rc < 0)
		goto out;
	if (strcmp(r->format, AP_RECEIPT_FORMAT) != 0) {
		rc = ap_err_set(err, AP_E_STATE, "receipt.format: expected '%s', got '%s'",
				AP_RECEIPT_FORMAT, r->format);
		goto out;
	}
	rc = get_str(&f, "product", false, &r->product, err);
	if (rc == 0)
		rc = get_str(&f, "version", false, &r->version, err);
	if (rc == 0)
		rc = get_str(&f, "channel", true, &r->channel, err);
	if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "platform"))
		rc = get_str(&f, "platform", false, &r->platform, err);
	if (rc == 0)
		rc = get_str(&f, "prefix", false, &r->prefix, err);
	if (rc == 0)
		rc = get_str(&f, "key_id", true, &r->key_id, err);
	if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "insecure"))
		rc = get_bool(&f, "insecure", &r->insecure, err);
	if (rc == 0)
		rc = get_str(&f, "manifest_sha256", false, &sha, err);
	if (rc == 0)
		rc = get_i64(&f, "installed_at", INT64_MIN / 2, INT64_MAX / 2, &r->installed_at,
			     err);
	if (rc == 0)
		rc = get_str(&f, "pinned_version", true, &r->pinned_version, err);
	if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "freshness"))
		rc = get_str(&f, "freshness", true, &r->freshness, err);
	if (rc == 0)
		rc = get_paths(&f, "data_dirs", &r->data_dirs, &r->n_data_dirs, err);
	if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "created_data_dirs")) {
		r->has_created_data_dirs = true;
		rc = get_paths(&f, "created_data_dirs", &r->created_data_dirs,
			       &r->n_created_data_dirs, err);
	}
	if (rc == 0)
		rc = get_paths(&f, "dirs", &r->dirs, &r->n_dirs, err);
	if (rc < 0)
		goto out;
	if (!ap_manifest_safe_name(r->product)) {
		rc = ap_err_set(err, AP_E_STATE, "receipt.product: expected a safe name, got '%s'",
				r->product);
		goto out;
	}
	if (!ap_manifest_safe_relpath(r->prefix, false)) {
		rc = ap_err_set(err, AP_E_STATE,
				"receipt.prefix: expected a safe relative path, got '%s'",
				r->prefix);
		goto out;
	}
	if (!ap_digest_is_hex(sha)) {
		rc = ap_err_set(err, AP_E_STATE,
				"receipt.manifest_sha256: expected 64 hex digits, got '%s'", sha);
		goto out;
	}
	memcpy(r->manifest_sha256, sha, AP_SHA256_HEX);

	rc = get_array(&f, "files", &arr, &n, err);
	if (rc < 0)
		goto out;
	if (n > 0) {
		r->files = calloc(n, sizeof(*r->files));
		if (!r->files) {
			rc = ap_jsonx_nomem(f.d, err);
			goto out;
		}
	}
	cJSON_ArrayForEach(it, arr)
	{
		ap_jsonx_index(where, "files", i);
		r->n_files = i + 1;
		rc = parse_file(it, where, &r->files[i], err);
		if (rc < 0)
			goto out;
		i++;
	}
	rc = parse_actions(&f, "pending", false, &r->pending, &r->n_pending, err);
	if (rc == 0)
		rc = parse_actions(&f, "actions", true, &r->actions, &r->n_actions, err);
	if (rc == 0 && field(&f, "services"))
		rc = parse_services(&f, r, err);
	if (rc < 0)
		goto out;
	ap_receipt_sort(r);
	for (i = 1; i < r->n_files; i++) {
		if (strcmp(r->files[i - 1].path, r->files[i].path) == 0) {
			rc = ap_err_set(err, AP_E_STATE, "receipt.files: '%s' is listed twice",
					r->files[i].path);
			goto out;
		}
	}
	if (!strv_sorted_unique(r->dirs, r->n_dirs)) {
		rc = ap_err_set(err, AP_E_STATE, "receipt.dirs: a folder is listed twice");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	free(sha);
	ap_receipt_free(r);
	cJSON_Delete(root);
	return rc;
}

int ap_receipt_load(const char *path, struct ap_receipt **out, struct ap_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = ap_fsx_read_file(path, RECEIPT_MAX, &buf, &len, err);
	if (rc < 0)
		return rc;
	rc = ap_receipt_parse(buf, len, out, err);
	if (rc < 0)
		ap_err_prefix(err, "'%s'", path);
	free(buf);
	return rc;
}

/* ---- reading a receipt as a stream ----
 * The files array is the part that grows (100,000 objects in a big
 * release; the rest is a few KiB).  The reader copies the document without
 * that array's contents into a head, parsed whole by ap_receipt_parse, and
 * reads the files one object at a time from the file it keeps open, with a
 * scanner of JSON's structure (strings, escapes, nesting) that only finds
 * where each object ends; cJSON parses the object itself. */

#define FILE_OBJ_MAX (64u * 1024) /* one file's object, far above any real one */
#define PATH_ID_LEN 16		  /* bytes of a path's SHA-256 kept for lookups */

struct ap_receipt_reader {
	FILE *fp;
	char *name;	      /* the receipt's path, for messages */
	long files_at;	      /* offset just after the files array's '[' */
	size_t i;	      /* the index of the next file */
	bool need_comma;      /* a file was read: ',' or ']' comes next */
	struct ap_strbuf obj; /* the current object's text */
	struct ap_receipt_file cur;
	char *prev;	    /* the previous file's path (order check) */
	unsigned char *ids; /* every path's id (PATH_ID_LEN bytes each), sorted */
	size_t n_ids, ids_alloc;
	struct ap_digest *h;
	unsigned char buf[16384];
	size_t pos, len;
	uint64_t read; /* bytes taken from fp since the last seek */
};

static int rd_getc(struct ap_receipt_reader *rd)
{
	if (rd->pos == rd->len) {
		rd->len = fread(rd->buf, 1, sizeof(rd->buf), rd->fp);
		rd->pos = 0;
		if (rd->len == 0)
			return EOF;
	}
	rd->read++;
	return rd->buf[rd->pos++];
}

static bool rd_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int rd_bad(struct ap_receipt_reader *rd, const char *what, struct ap_err *err)
{
	if (ferror(rd->fp))
		return ap_err_set(err, AP_E_IO, "cannot read the receipt");
	return ap_err_set(err, AP_E_STATE, "receipt.files[%zu]: %s", rd->i, what);
}

/* The next object of the files array into rd->obj: 1, or 0 at the
 * array's ']'. */
static int rd_object(struct ap_receipt_reader *rd, struct ap_err *err)
{
	bool in_str = false, esc = false;
	int depth = 1;
	int c;

	do
		c = rd_getc(rd);
	while (rd_space(c));
	if (c == ']')
		return 0;
	if (rd->need_comma) {
		if (c != ',')
			return rd_bad(rd, "expected ',' or ']' after a file", err);
		do
			c = rd_getc(rd);
		while (rd_space(c));
	}
	if (c != '{')
		return rd_bad(rd, "expected an object", err);
	ap_strbuf_reset(&rd->obj);
	ap_strbuf_addch(&rd->obj, '{');
	while (depth > 0) {
		c = rd_getc(rd);
		if (c == EOF)
			return rd_bad(rd, "the receipt ends inside it", err);
		ap_strbuf_addch(&rd->obj, (char)c);
		if (rd->obj.len > FILE_OBJ_MAX)
			return rd_bad(rd, "the object is too big", err);
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	if (rd->obj.failed)
		return ap_jsonx_nomem(&receipt_doc, err);
	rd->need_comma = true;
	return 1;
}

static void rd_path_id(struct ap_receipt_reader *rd, const char *path, unsigned char *id)
{
	unsigned char md[AP_SHA256_LEN];

	ap_digest_reset(rd->h);
	ap_digest_update(rd->h, path, strlen(path));
	ap_digest_final(rd->h, md);
	memcpy(id, md, PATH_ID_LEN);
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, PATH_ID_LEN);
}

/* The next file into rd->cur, checked as ap_receipt_parse checks it and
 * in path order: 1, or 0 after the last. */
static int rd_file(struct ap_receipt_reader *rd, struct ap_err *err)
{
	char where[AP_JSONX_PATH_MAX];
	cJSON *o;
	int rc = rd_object(rd, err);

	if (rc <= 0)
		return rc;
	free(rd->prev);
	rd->prev = rd->cur.path;
	rd->cur.path = NULL;
	free(rd->cur.component);
	memset(&rd->cur, 0, sizeof(rd->cur));
	o = cJSON_ParseWithLength(rd->obj.buf, rd->obj.len);
	if (!o)
		return rd_bad(rd, "not valid JSON", err);
	ap_jsonx_index(where, "files", rd->i);
	rc = parse_file(o, where, &rd->cur, err);
	cJSON_Delete(o);
	if (rc == 0 && rd->prev && strcmp(rd->prev, rd->cur.path) >= 0)
		rc = ap_err_set(err, AP_E_STATE,
				strcmp(rd->prev, rd->cur.path) == 0
					? "receipt.files: '%s' is listed twice"
					: "receipt.files: '%s' is out of path order",
				rd->cur.path);
	if (rc < 0)
		return rc;
	rd->i++;
	return 1;
}

/* Check every file once, noting each path's id, with the document minus
 * the files array's contents copied to head. */
static int rd_scan(struct ap_receipt_reader *rd, struct ap_strbuf *head, struct ap_err *err)
{
	bool in_str = false, esc = false, files_key = false, files_next = false;
	size_t key_at = 0;
	int depth = 0;
	int c, rc;

	while ((c = rd_getc(rd)) != EOF) {
		ap_strbuf_addch(head, (char)c);
		if (head->len > RECEIPT_MAX)
			return ap_err_set(
				err, AP_E_TOOBIG,
				"the receipt without its files is too big (over %u bytes)",
				RECEIPT_MAX);
		if (in_str) {
			if (esc) {
				esc = false;
			} else if (c == '\\') {
				esc = true;
			} else if (c == '"') {
				in_str = false;
				/* A key of the root object names the files? */
				files_key = depth == 1 && head->len - key_at == 7 &&
					    memcmp(head->buf + key_at, "\"files\"", 7) == 0;
			}
			continue;
		}
		if (rd_space(c))
			continue;
		if (c == '"') {
			in_str = true;
			files_next = false;
			key_at = head->len - 1;
			continue;
		}
		if (c == ':' && files_key) {
			files_key = false;
			files_next = true;
			continue;
		}
		files_key = false;
		if (c == '[' && files_next && depth == 1 && rd->files_at < 0) {
			rd->files_at = (long)rd->read;
			rd->need_comma = false;
			while ((rc = rd_file(rd, err)) > 0) {
				unsigned char *ids = ap_vec_grow(rd->ids, &rd->ids_alloc,
								 rd->n_ids + 1, PATH_ID_LEN);

				if (!ids)
					return ap_jsonx_nomem(&receipt_doc, err);
				rd->ids = ids;
				rd_path_id(rd, rd->cur.path, rd->ids + PATH_ID_LEN * rd->n_ids++);
			}
			if (rc < 0)
				return rc;
			ap_strbuf_addch(head, ']');
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
		files_next = false;
	}
	if (ferror(rd->fp))
		return ap_err_set(err, AP_E_IO, "cannot read the receipt");
	if (head->failed)
		return ap_jsonx_nomem(&receipt_doc, err);
	return 0;
}

void ap_receipt_reader_close(struct ap_receipt_reader *rd)
{
	if (!rd)
		return;
	if (rd->fp)
		fclose(rd->fp);
	free(rd->name);
	ap_strbuf_release(&rd->obj);
	free(rd->cur.path);
	free(rd->cur.component);
	free(rd->prev);
	free(rd->ids);
	ap_digest_free(rd->h);
	free(rd);
}

int ap_receipt_reader_open(const char *path, struct ap_receipt_reader **out,
			   struct ap_receipt **head, struct ap_err *err)
{
	struct ap_receipt_reader *rd = calloc(1, sizeof(*rd));
	struct ap_strbuf text = AP_STRBUF_INIT;
	struct ap_receipt *r = NULL;
	int rc;

	if (rd) {
		rd->name = ap_strdup(path);
		rd->h = ap_digest_new();
		ap_strbuf_init(&rd->obj);
		rd->files_at = -1;
	}
	if (!rd || !rd->name || !rd->h) {
		rc = ap_jsonx_nomem(&receipt_doc, err);
		goto out;
	}
	rc = ap_fsx_fopen(path, "rb", &rd->fp, err);
	if (rc < 0) {
		ap_receipt_reader_close(rd);
		return rc; /* the message names path */
	}
	rc = rd_scan(rd, &text, err);
	if (rc == 0)
		rc = ap_receipt_parse(text.buf, text.len, &r, err);
	if (rc < 0)
		goto out;
	if (rd->files_at < 0) {
		rc = ap_err_set(err, AP_E_STATE, "receipt: no files array");
		goto out;
	}
	if (rd->n_ids > 0)
		qsort(rd->ids, rd->n_ids, PATH_ID_LEN, cmp_id);
	rc = ap_receipt_reader_rewind(rd, err);
	if (rc < 0)
		goto out;
	*out = rd;
	*head = r;
	rd = NULL;
	r = NULL;
out:
	if (rc < 0)
		ap_err_prefix(err, "'%s'", path);
	ap_strbuf_release(&text);
	ap_receipt_free(r);
	ap_receipt_reader_close(rd);
	return rc;
}

int ap_receipt_reader_rewind(struct ap_receipt_reader *rd, struct ap_err *err)
{
	if (fseek(rd->fp, rd->files_at, SEEK_SET) != 0)
		return ap_err_set(err, AP_E_IO, "cannot read the receipt");
	rd->pos = rd->len = 0;
	rd->read = (uint64_t)rd->files_at;
	rd->i = 0;
	rd->need_comma = false;
	free(rd->prev);
	rd->prev = NULL;
	free(rd->cur.path);
	free(rd->cur.component);
	memset(&rd->cur, 0, sizeof(rd->cur));
	return 0;
}

int ap_receipt_reader_next(struct ap_receipt_reader *rd, const struct ap_receipt_file **f,
			   struct ap_err *err)
{
	int rc = rd_file(rd, err);

	if (rc < 0)
		ap_err_prefix(err, "'%s'", rd->name);
	if (rc > 0)
		*f = &rd->cur;
	return rc;
}

bool ap_receipt_reader_has(struct ap_receipt_reader *rd, const char *path)
{
	unsigned char id[PATH_ID_LEN];

	if (rd->n_ids == 0)
		return false;
	rd_path_id(rd, path, id);
	return bsearch(id, rd->ids, rd->n_ids, PATH_ID_LEN, cmp_id) != NULL;
}

/* ---- journal ---- */

void ap_receipt_journal_free(struct ap_receipt_journal *j)
{
	if (!j)
		return;
	free(j->format);
	free(j->product);
	free(j->version);
	free(j->prefix);
	free(j->stage);
	free(j->old);
	free(j);
}

int ap_receipt_journal_emit(const struct ap_receipt_journal *j, char **json, size_t *len,
			    struct ap_err *err)
{
	char dev[32], ino[32];
	cJSON *root = cJSON_CreateObject();
	int rc;

	snprintf(dev, sizeof(dev), "%" PRIu64, j->stage_dev);
	snprintf(ino, sizeof(ino), "%" PRIu64, j->stage_ino);
	if (!root || !add_str(root, "format", AP_JOURNAL_FORMAT) ||
	    !add_str(root, "product", j->product) || !add_str(root, "version", j->version) ||
	    !add_str(root, "prefix", j->prefix) || !add_str(root, "stage", j->stage) ||
	    !add_str(root, "old", j->old) ||
	    !ap_jsonx_add(root, "signed", cJSON_CreateBool(j->has_sig)) ||
	    !add_str(root, "stage_dev", dev) || !add_str(root, "stage_ino", ino)) {
		cJSON_Delete(root);
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the journal");
	}
	rc = ap_jsonx_print(&journal_doc, root, json, len, err);
	cJSON_Delete(root);
	return rc;
}

static int parse_u64_str(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int ap_receipt_journal_parse(const char *json, size_t len, struct ap_receipt_journal **out,
			     struct ap_err *err)
{
	static const char *const keys[] = { "format", "product", "version",   "prefix",	  "stage",
					    "old",    "signed",	 "stage_dev", "stage_ino" };
	struct fields f = { &journal_doc, NULL, "journal", "" };
	struct ap_receipt_journal *j = NULL;
	char *dev = NULL, *ino = NULL;
	cJSON *root;
	int rc;

	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return ap_err_set(err, AP_E_STATE, "journal: not valid JSON");
	f.obj = root;
	j = calloc(1, sizeof(*j));
	if (!j) {
		rc = ap_jsonx_nomem(f.d, err);
		goto out;
	}
	rc = check_keys(&f, keys, sizeof(keys) / sizeof(keys[0]), err);
	if (rc == 0)
		rc = get_str(&f, "format", false, &j->format, err);
	if (rc == 0 && strcmp(j->format, AP_JOURNAL_FORMAT) != 0)
		rc = ap_err_set(err, AP_E_STATE, "journal.format: expected '%s', got '%s'",
				AP_JOURNAL_FORMAT, j->format);
	if (rc == 0)
		rc = get_str(&f, "product", false, &j->product, err);
	if (rc == 0)
		rc = get_str(&f, "version", false, &j->version, err);
	if (rc == 0)
		rc = get_str(&f, "prefix", false, &j->prefix, err);
	if (rc == 0)
		rc = get_str(&f, "stage", false, &j->stage, err);
	if (rc == 0)
		rc = get_str(&f, "old", false, &j->old, err);
	if (rc == 0)
		rc = get_str(&f, "stage_dev", false, &dev, err);
	if (rc == 0)
		rc = get_str(&f, "stage_ino", false, &ino, err);
	if (rc < 0)
		goto out;
	if (!ap_manifest_safe_relpath(j->prefix, false) ||
	    !ap_manifest_safe_relpath(j->stage, false) ||
	    !ap_manifest_safe_relpath(j->old, false)) {
		rc = ap_err_set(err, AP_E_STATE,
				"journal: prefix, stage and old must be safe relative paths");
		goto out;
	}
	rc = get_bool(&f, "signed", &j->has_sig, err);
	if (rc < 0)
		goto out;
	if (parse_u64_str(dev, &j->stage_dev) < 0 || parse_u64_str(ino, &j->stage_ino) < 0) {
		rc = ap_err_set(err, AP_E_STATE,
				"journal: stage_dev and stage_ino must be decimal strings");
		goto out;
	}
	*out = j;
	j = NULL;
out:
	free(dev);
	free(ino);
	ap_receipt_journal_free(j);
	cJSON_Delete(root);
	return rc;
}
