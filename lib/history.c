/* history.c - the install history (JSON Lines) and the configuration record;
 * see airpack/history.h.  Lines are written with the json.h JSON writer into
 * a memory stream and read back with cJSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jsonx.h"
#include "airpack/fsx.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/str.h"
#include "airpack/ui.h"
#include "airpack/state.h"
#include "airpack/json.h"
#include "airpack/banned.h"

#define RECORD_MAX (1024 * 1024)
#define KEY_LABEL "SharedAccessKey="

static const struct ap_jsonx_doc record_doc = { AP_E_STATE, "the provision record",
						AP_JSONX_QUOTE_SINGLE };

static const char *const event_types[] = { "install", "verify", "provision", "uninstall",
					   "firstboot" };

void ap_history_format_time(int64_t t, char buf[AP_HISTORY_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, AP_HISTORY_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, AP_HISTORY_TIME_LEN, "%" PRId64, t);
}

/* True when s holds "SharedAccessKey=" followed by anything but "****" and
 * the end of the value: the one secret these files must never hold. */
static bool holds_key(const char *s)
{
	size_t n = sizeof(KEY_LABEL) - 1;

	for (const char *p = s; p && *p; p++) {
		const char *v;

		if (strncasecmp(p, KEY_LABEL, n) != 0)
			continue;
		v = p + n;
		if (strncmp(v, "****", 4) != 0)
			return true;
		if (v[4] != '\0' && v[4] != ';' && v[4] != '"' && v[4] != ' ' && v[4] != ')')
			return true;
	}
	return false;
}

static int refuse_key(const char *what, const char *s, struct ap_err *err)
{
	if (holds_key(s))
		return ap_err_set(err, AP_E_USAGE,
				  "%s holds a SharedAccessKey value: refusing to record a secret "
				  "(show it as SharedAccessKey=****)",
				  what);
	return 0;
}

static int check_event(const struct ap_history_event *ev, struct ap_err *err)
{
	bool known = false;
	int rc = 0;

	for (size_t i = 0; ev->type && i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strcmp(ev->type, event_types[i]) == 0)
			known = true;
	if (!known)
		return ap_err_set(err, AP_E_USAGE,
				  "history event type '%s': expected install, verify, provision, "
				  "uninstall or firstboot",
				  ev->type ? ev->type : "(none)");
	if (ev->n_sources && !ev->sources)
		return ap_err_set(err, AP_E_USAGE, "history event: sources missing");
	if (ev->n_details && !ev->details)
		return ap_err_set(err, AP_E_USAGE, "history event: details missing");
	if (rc == 0)
		rc = refuse_key("history event 'product'", ev->product, err);
	if (rc == 0)
		rc = refuse_key("history event 'version'", ev->version, err);
	if (rc == 0)
		rc = refuse_key("history event 'key_id'", ev->key_id, err);
	if (rc == 0)
		rc = refuse_key("history event 'message'", ev->message, err);
	for (size_t i = 0; rc == 0 && i < ev->n_sources; i++) {
		if (!ev->sources[i].key || !ev->sources[i].value)
			return ap_err_set(err, AP_E_USAGE, "history event: source %zu is empty",
					  i + 1);
		rc = refuse_key("history event source", ev->sources[i].key, err);
		if (rc == 0)
			rc = refuse_key("history event source", ev->sources[i].value, err);
	}
	for (size_t i = 0; rc == 0 && i < ev->n_details; i++) {
		if (!ev->details[i].key)
			return ap_err_set(err, AP_E_USAGE, "history event: detail %zu has no name",
					  i + 1);
		rc = refuse_key("history event detail", ev->details[i].key, err);
		if (rc == 0)
			rc = refuse_key("history event detail", ev->details[i].value, err);
	}
	return rc;
}

/* The event as one JSON line (with its newline) in a new buffer. */
static int format_event(const struct ap_history_event *ev, char **out, size_t *len,
			struct ap_err *err)
{
	char when[AP_HISTORY_TIME_LEN];
	struct ap_json j;
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = NULL;
	bool bad;

	if (ap_fsx_memstream(&fp, err) != 0)
		return err ? err->code : AP_E_IO;
	ap_history_format_time(ap_fsx_now(), when);
	ap_json_begin(&j, fp);
	ap_json_str(&j, "time", when);
	ap_json_str(&j, "event", ev->type);
	ap_json_str(&j, "product", ev->product);
	ap_json_str(&j, "version", ev->version);
	ap_json_str(&j, "key_id", ev->key_id);
	ap_json_str(&j, "result", ev->ok ? "ok" : "failed");
	ap_json_str(&j, "message", ev->message);
	if (ev->files >= 0)
		ap_json_int(&j, "files", (long long)ev->files);
	if (ev->n_sources) {
		ap_json_obj_begin(&j, "sources");
		for (size_t i = 0; i < ev->n_sources; i++)
			ap_json_str(&j, ev->sources[i].key, ev->sources[i].value);
		ap_json_obj_end(&j);
	}
	if (ev->n_details) {
		ap_json_obj_begin(&j, "details");
		for (size_t i = 0; i < ev->n_details; i++)
			ap_json_str(&j, ev->details[i].key, ev->details[i].value);
		ap_json_obj_end(&j);
	}
	ap_json_end(&j);
	bad = ferror(fp) != 0;
	if (ap_fsx_memstream_take(fp, &buf, &n, NULL) != 0 || bad || !buf) {
		free(buf);
		return ap_err_set(err, AP_E_NOMEM, "out of memory formatting a history event");
	}
	if (n > AP_HISTORY_LINE_MAX) {
		free(buf);
		return ap_err_set(err, AP_E_TOOBIG,
				  "history event '%s' is %zu bytes, more than the %d allowed",
				  ev->type, n, AP_HISTORY_LINE_MAX);
	}
	*out = buf;
	*len = n;
	return 0;
}

static char *history_path(const char *root)
{
	return ap_fsx_path_join(root ? root : ap_fsx_default_root(), AP_HISTORY_PATH);
}

/* The line is built and written in one buffer and one write, so concurrent writers never
 * interleave. */
int ap_history_append(const char *root, const struct ap_history_event *ev, struct ap_err *err)
{
	struct ap_stat st;
	char *path = NULL, *dir = NULL, *line = NULL;
	size_t len = 0;
	FILE *fp = NULL;
	bool created;
	int rc;

	rc = check_event(ev, err);
	if (rc)
		return rc;
	rc = format_event(ev, &line, &len, err);
	if (rc)
		return rc;
	path = history_path(root);
	dir = path ? ap_fsx_path_dirname(path) : NULL;
	if (!dir) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	if (rc)
		goto out;
	rc = ap_fsx_stat(path, &st, err);
	if (rc)
		goto out;
	if (st.type != AP_FT_NONE && st.type != AP_FT_FILE) {
		rc = ap_err_set(err, AP_E_IO, "history '%s' is not a regular file", path);
		goto out;
	}
	created = st.type == AP_FT_NONE;
	rc = ap_fsx_fopen(path, "a+b", &fp, err);
	if (rc)
		goto out;
	/* One buffer larger than the line: the whole line goes out in one
	 * write to a file opened for appending, so concurrent writers never
	 * interleave inside a line. */
	if (setvbuf(fp, NULL, _IOFBF, len + 2) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot set up writing '%s'", path);
		goto out;
	}
	if (!created && st.size > 0) {
		/* A line torn by a crash must not swallow this one. */
		int last;

		if (fseeko(fp, -1, SEEK_END) != 0) {
			rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
			goto out;
		}
		last = fgetc(fp);
		if (fseeko(fp, 0, SEEK_END) != 0) {
			rc = ap_err_sys(err, AP_E_IO, "cannot seek in '%s'", path);
			goto out;
		}
		if (last != '\n' && fputc('\n', fp) == EOF) {
			rc = ap_err_sys(err, AP_E_IO, "cannot write '%s'", path);
			goto out;
		}
	}
	if (fwrite(line, 1, len, fp) != len) {
		rc = ap_err_sys(err, AP_E_IO, "cannot write '%s'", path);
		goto out;
	}
	rc = ap_fsx_fsync_fp(fp, path, err);
	if (rc)
		goto out;
	if (fclose(fp) != 0) {
		fp = NULL;
		rc = ap_err_sys(err, AP_E_IO, "cannot close '%s'", path);
		goto out;
	}
	fp = NULL;
	if (created)
		rc = ap_fsx_fsync_parent(path, err);
out:
	if (fp)
		fclose(fp);
	if (rc)
		ap_err_prefix(err, "recording the %s in the history", ev->type);
	free(line);
	free(dir);
	free(path);
	return rc;
}

/* ---- reading ---- */

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int dup_opt(char **dst, const cJSON *o, const char *key)
{
	const char *s = json_str(o, key);

	*dst = NULL;
	if (!s)
		return 0;
	*dst = ap_strdup(s);
	return *dst ? 0 : AP_E_NOMEM;
}

static void kv_free(struct ap_history_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* The string members of obj as key/value pairs, but those named in skip
 * (NULL-terminated; may be NULL); other values are skipped. */
static int members_kv(const cJSON *obj, const char *const *skip, struct ap_history_kv **out,
		      size_t *n)
{
	const cJSON *it;
	struct ap_history_kv *kv;
	size_t count = 0, k = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsObject(obj))
		return 0;
	cJSON_ArrayForEach(it, obj) count++;
	if (!count)
		return 0;
	kv = calloc(count, sizeof(*kv));
	if (!kv)
		return AP_E_NOMEM;
	cJSON_ArrayForEach(it, obj)
	{
		if (!cJSON_IsString(it) || !it->string || in_list(it->string, skip))
			continue;
		kv[k].key = ap_strdup(it->string);
		kv[k].value = ap_strdup(it->valuestring);
		if (!kv[k].key || !kv[k].value) {
			k++;
			kv_free(kv, k);
			return AP_E_NOMEM;
		}
		k++;
	}
	*out = kv;
	*n = k;
	return 0;
}

/* An object of strings as key/value pairs; other values are skipped. */
static int read_kv(const cJSON *o, const char *key, struct ap_history_kv **out, size_t *n)
{
	return members_kv(cJSON_GetObjectItemCaseSensitive(o, key), NULL, out, n);
}

void ap_history_entry_release(struct ap_history_entry *e)
{
	if (!e)
		return;
	free(e->time);
	free(e->type);
	free(e->product);
	free(e->version);
	free(e->key_id);
	free(e->message);
	kv_free(e->sources, e->n_sources);
	kv_free(e->details, e->n_details);
	memset(e, 0, sizeof(*e));
	e->files = -1;
}

int ap_history_parse_line(const char *line, size_t len, struct ap_history_entry *out,
			  struct ap_err *err)
{
	struct ap_history_entry e;
	const char *result;
	cJSON *o;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	e.files = -1;
	o = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return ap_err_set(err, AP_E_STATE, "not a JSON object");
	}
	result = json_str(o, "result");
	if (!json_str(o, "time") || !json_str(o, "event") || !result) {
		rc = ap_err_set(err, AP_E_STATE, "%s: expected a string",
				!json_str(o, "time")	? "time"
				: !json_str(o, "event") ? "event"
							: "result");
		goto out;
	}
	if (strcmp(result, "ok") != 0 && strcmp(result, "failed") != 0) {
		rc = ap_err_set(err, AP_E_STATE, "result: expected \"ok\" or \"failed\"");
		goto out;
	}
	e.ok = strcmp(result, "ok") == 0;
	/* A count when one is there; anything else reads as not recorded. */
	ap_jsonx_int(cJSON_GetObjectItemCaseSensitive(o, "files"), 0, AP_JSONX_INT_MAX, &e.files);
	if (dup_opt(&e.time, o, "time") || dup_opt(&e.type, o, "event") ||
	    dup_opt(&e.product, o, "product") || dup_opt(&e.version, o, "version") ||
	    dup_opt(&e.key_id, o, "key_id") || dup_opt(&e.message, o, "message") ||
	    read_kv(o, "sources", &e.sources, &e.n_sources) ||
	    read_kv(o, "details", &e.details, &e.n_details))
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading the history");
out:
	cJSON_Delete(o);
	if (rc) {
		ap_history_entry_release(&e);
		return rc;
	}
	*out = e;
	return 0;
}

int ap_history_read(const char *root, ap_history_entry_fn fn, void *ctx, size_t *n_bad,
		    struct ap_err *err)
{
	char *path = history_path(root);
	char *line = NULL;
	size_t cap = 0, bad = 0, lineno = 0;
	FILE *fp = NULL;
	ssize_t got;
	int rc;

	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc == AP_E_NOTFOUND) {
		ap_err_clear(err);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	while ((got = ap_fsx_getline(&line, &cap, fp)) != -1) {
		struct ap_history_entry e;
		size_t n = (size_t)got;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		line[n] = '\0';
		if (n == 0)
			continue;
		if (n > AP_HISTORY_LINE_MAX) {
			bad++;
			continue;
		}
		rc = ap_history_parse_line(line, n, &e, NULL);
		if (rc == AP_E_NOMEM) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading '%s'", path);
			goto out;
		}
		if (rc) {
			rc = 0;
			bad++;
			continue;
		}
		e.line = lineno;
		e.raw = line;
		fn(ctx, &e);
		ap_history_entry_release(&e);
	}
	if (ferror(fp))
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
out:
	if (fp)
		fclose(fp);
	free(line);
	free(path);
	if (rc == 0 && n_bad)
		*n_bad = bad;
	return rc;
}

const char *ap_history_kv_get(const struct ap_history_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

/* ---- the configuration record ---- */

/* The members the record format defines; every other string member is an
 * identity fact of the device runtime. */
static const char *const record_members[] = { "format",	      "product",	"version",
					      "config_path",  "config_sha256",	"config_mode",
					      "created_dirs", "provisioned_at", NULL };

char *ap_history_record_relpath(const char *product)
{
	char *state = ap_state_dir(NULL, product);
	char *rel = state ? ap_fsx_path_join(state, AP_HISTORY_RECORD_FILE) : NULL;

	free(state);
	return rel;
}

static int check_record(const struct ap_history_record *r, struct ap_err *err)
{
	int rc;

	if (!r->product || !ap_manifest_safe_name(r->product))
		return ap_err_set(err, AP_E_STATE, "product: expected a safe name, got '%s'",
				  r->product ? r->product : "(none)");
	if (!r->config_path || !ap_manifest_safe_relpath(r->config_path, false))
		return ap_err_set(err, AP_E_STATE,
				  "config_path: expected a safe relative path, got '%s'",
				  r->config_path ? r->config_path : "(none)");
	if (!ap_str_is_lower_hex(r->config_sha256, 64))
		return ap_err_set(err, AP_E_STATE, "config_sha256: expected 64 hex digits");
	if (r->config_mode > 07777)
		return ap_err_set(err, AP_E_STATE, "config_mode: expected 0 to 07777, got %o",
				  r->config_mode);
	for (size_t i = 0; i < r->n_created_dirs; i++)
		if (!r->created_dirs[i] || !ap_manifest_safe_relpath(r->created_dirs[i], false))
			return ap_err_set(err, AP_E_STATE,
					  "created_dirs[%zu]: expected a safe relative path", i);
	rc = refuse_key("the provision record", r->version, err);
	for (size_t i = 0; rc == 0 && i < r->n_identity; i++) {
		if (!r->identity[i].key || in_list(r->identity[i].key, record_members))
			return ap_err_set(err, AP_E_USAGE,
					  "identity fact %zu: expected a name the record does "
					  "not use itself",
					  i + 1);
		rc = refuse_key("the provision record", r->identity[i].value, err);
	}
	return rc;
}

static char *record_path(const char *root, const char *product)
{
	char *rel = ap_history_record_relpath(product);
	char *abs = rel ? ap_fsx_path_join(root ? root : ap_fsx_default_root(), rel) : NULL;

	free(rel);
	return abs;
}

int ap_history_record_save(const char *root, const struct ap_history_record *rec,
			   struct ap_err *err)
{
	struct ap_json j;
	char mode[16];
	char *buf = NULL, *path = NULL;
	size_t n = 0;
	FILE *fp;
	bool bad;
	int rc;

	rc = check_record(rec, err);
	if (rc) {
		ap_err_prefix(err, "provision record");
		return rc;
	}
	if (ap_fsx_memstream(&fp, err) != 0)
		return err ? err->code : AP_E_IO;
	snprintf(mode, sizeof(mode), "%04o", rec->config_mode);
	ap_json_begin(&j, fp);
	ap_json_str(&j, "format", AP_HISTORY_RECORD_FORMAT);
	ap_json_str(&j, "product", rec->product);
	ap_json_str(&j, "version", rec->version);
	ap_json_str(&j, "config_path", rec->config_path);
	ap_json_str(&j, "config_sha256", rec->config_sha256);
	ap_json_str(&j, "config_mode", mode);
	for (size_t i = 0; i < rec->n_identity; i++)
		ap_json_str(&j, rec->identity[i].key, rec->identity[i].value);
	ap_json_arr_begin(&j, "created_dirs");
	for (size_t i = 0; i < rec->n_created_dirs; i++)
		ap_json_arr_str(&j, rec->created_dirs[i]);
	ap_json_arr_end(&j);
	ap_json_int(&j, "provisioned_at", (long long)rec->provisioned_at);
	ap_json_end(&j);
	bad = ferror(fp) != 0;
	if (ap_fsx_memstream_take(fp, &buf, &n, NULL) != 0 || bad || !buf) {
		free(buf);
		return ap_err_set(err, AP_E_NOMEM, "out of memory formatting the provision record");
	}
	path = record_path(root, rec->product);
	if (!path)
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
	else
		rc = ap_fsx_write_atomic(path, buf, n, 0644, err);
	free(path);
	free(buf);
	return rc;
}

void ap_history_record_free(struct ap_history_record *r)
{
	if (!r)
		return;
	free(r->product);
	free(r->version);
	free(r->config_path);
	kv_free(r->identity, r->n_identity);
	ap_fsx_strv_free(r->created_dirs, r->n_created_dirs);
	free(r);
}

static int parse_record(const char *json, size_t len, struct ap_history_record **out,
			struct ap_err *err)
{
	struct ap_history_record *r = NULL;
	const char *fmt, *sha, *mode;
	cJSON *o = cJSON_ParseWithLength(json, len);
	char *end = NULL;
	int rc = 0;

	if (!cJSON_IsObject(o)) {
		rc = ap_err_set(err, AP_E_STATE, "not a JSON object");
		goto out;
	}
	fmt = json_str(o, "format");
	if (!fmt || strcmp(fmt, AP_HISTORY_RECORD_FORMAT) != 0) {
		rc = ap_err_set(err, AP_E_STATE, "format: expected \"%s\", got '%s'",
				AP_HISTORY_RECORD_FORMAT, fmt ? fmt : "(none)");
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	sha = json_str(o, "config_sha256");
	if (!sha || !ap_str_is_lower_hex(sha, 64)) {
		rc = ap_err_set(err, AP_E_STATE, "config_sha256: expected 64 hex digits");
		goto out;
	}
	memcpy(r->config_sha256, sha, AP_SHA256_HEX);
	mode = json_str(o, "config_mode");
	if (mode) {
		unsigned long m = strtoul(mode, &end, 8);
		if (!*mode || *end || m > 07777) {
			rc = ap_err_set(err, AP_E_STATE,
					"config_mode: expected an octal mode such as \"0600\"");
			goto out;
		}
		r->config_mode = (unsigned)m;
	}
	rc = ap_jsonx_integer(&record_doc, cJSON_GetObjectItemCaseSensitive(o, "provisioned_at"),
			      "provisioned_at", AP_JSONX_REQUIRED, INT64_MIN, INT64_MAX,
			      &r->provisioned_at, err);
	if (rc)
		goto out;
	if (dup_opt(&r->product, o, "product") || dup_opt(&r->version, o, "version") ||
	    dup_opt(&r->config_path, o, "config_path") ||
	    members_kv(o, record_members, &r->identity, &r->n_identity)) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_jsonx_strv(&record_doc, cJSON_GetObjectItemCaseSensitive(o, "created_dirs"),
			   "created_dirs", AP_JSONX_OPTIONAL, &r->created_dirs, &r->n_created_dirs,
			   err);
	if (rc == 0)
		rc = check_record(r, err);
out:
	cJSON_Delete(o);
	if (rc) {
		ap_history_record_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int ap_history_record_load(const char *root, const char *product, struct ap_history_record **out,
			   struct ap_err *err)
{
	struct ap_history_record *r = NULL;
	char *path, *json = NULL;
	size_t len = 0;
	int rc;

	if (!product || !ap_manifest_safe_name(product))
		return ap_err_set(err, AP_E_USAGE, "provision record: bad product name");
	path = record_path(root, product);
	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_read_file(path, RECORD_MAX, &json, &len, err);
	if (rc == AP_E_NOTFOUND) {
		rc = ap_err_set(err, AP_E_NOTFOUND, "'%s' has no provision record", product);
		goto out;
	}
	if (rc)
		goto out;
	rc = parse_record(json, len, &r, err);
	if (rc == 0 && strcmp(r->product, product) != 0)
		rc = ap_err_set(err, AP_E_STATE, "product: expected '%s', got '%s'", product,
				r->product);
	if (rc) {
		ap_err_prefix(err, "'%s'", path);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	ap_history_record_free(r);
	free(json);
	free(path);
	return rc;
}

const char *ap_history_record_get(const struct ap_history_record *rec, const char *key)
{
	return rec ? ap_history_kv_get(rec->identity, rec->n_identity, key) : NULL;
}
