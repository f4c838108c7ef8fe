/* jsonx.c - reading and writing JSON documents with cJSON; see jsonx.h. */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "airpack/str.h"
#include "airpack/banned.h"

/* ------------------------------------------------------------- messages */

const char *ap_jsonx_type_name(const cJSON *j)
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

const char *ap_jsonx_quote(const char *s, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!s)
		return "null";
	buf[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t k = 0;

		if (c == '"' || c == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			esc[k++] = '\\';
			esc[k++] = 'u';
			esc[k++] = '0';
			esc[k++] = '0';
			esc[k++] = hex[c >> 4];
			esc[k++] = hex[c & 15];
		} else {
			esc[k++] = (char)c;
		}
		/* keep room for "...", the closing quote and the NUL */
		if (o + k + 5 > n) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, k);
		o += k;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *ap_jsonx_shown(const char *s, char *buf, size_t n)
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

void ap_jsonx_path(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(out, AP_JSONX_PATH_MAX, fmt, ap) < 0)
		out[0] = '\0';
	va_end(ap);
}

void ap_jsonx_join(char *out, const char *base, const char *field)
{
	if (base && *base)
		ap_jsonx_path(out, "%s.%s", base, field);
	else
		ap_jsonx_path(out, "%s", field);
}

void ap_jsonx_index(char *out, const char *base, size_t i)
{
	ap_jsonx_path(out, "%s[%zu]", base, i);
}

int ap_jsonx_failv(struct ap_err *err, int code, const char *path, const char *fmt, va_list ap)
{
	char msg[AP_ERR_MSG_MAX];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	if (path && *path)
		return ap_err_set(err, code, "%s: %s", path, msg);
	return ap_err_set(err, code, "%s", msg);
}

int ap_jsonx_fail(struct ap_err *err, int code, const char *path, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ap_jsonx_failv(err, code, path, fmt, ap);
	va_end(ap);
	return rc;
}

int ap_jsonx_nomem(const struct ap_jsonx_doc *d, struct ap_err *err)
{
	return ap_err_set(err, AP_E_NOMEM, "out of memory handling %s", d->what);
}

/* -------------------------------------------------------------- reading */

cJSON *ap_jsonx_parse(const char *json, size_t len, size_t *off, bool *trailing)
{
	const char *end = NULL;
	cJSON *root = json ? cJSON_ParseWithLengthOpts(json, len, &end, false) : NULL;

	if (trailing)
		*trailing = false;
	if (!root) {
		if (off)
			*off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
		return NULL;
	}
	for (size_t i = (size_t)(end - json); i < len; i++) {
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') {
			cJSON_Delete(root);
			if (off)
				*off = i;
			if (trailing)
				*trailing = true;
			return NULL;
		}
	}
	return root;
}

const cJSON *ap_jsonx_member(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *ap_jsonx_member_string(const cJSON *obj, const char *key)
{
	const cJSON *v = ap_jsonx_member(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int field_error(const struct ap_jsonx_doc *d, const char *path, const char *what,
		       const char *name, struct ap_err *err)
{
	char q[AP_JSONX_QUOTE_MAX];

	if (d->quoting == AP_JSONX_QUOTE_JSON)
		return ap_jsonx_fail(err, d->code, path, "%s field %s", what,
				     ap_jsonx_quote(name, q, sizeof(q)));
	return ap_jsonx_fail(err, d->code, path, "%s field '%s'", what,
			     ap_jsonx_shown(name, q, sizeof(q)));
}

int ap_jsonx_fields(const struct ap_jsonx_doc *d, const cJSON *obj, const char *path,
		    const char *const *names, size_t n, const cJSON **vals, struct ap_err *err)
{
	if (!cJSON_IsObject(obj))
		return ap_jsonx_fail(err, d->code, path, "expected an object, got %s",
				     ap_jsonx_type_name(obj));
	for (size_t k = 0; vals && k < n; k++)
		vals[k] = NULL;
	for (const cJSON *f = obj->child; f; f = f->next) {
		size_t k = 0;

		while (k < n && strcmp(f->string, names[k]) != 0)
			k++;
		if (k == n)
			return field_error(d, path, "unknown", f->string, err);
		/* Only known names get here, so this scan stays short. */
		for (const cJSON *e = obj->child; e != f; e = e->next)
			if (strcmp(e->string, f->string) == 0)
				return field_error(d, path, "duplicate", f->string, err);
		if (vals)
			vals[k] = f;
	}
	return 0;
}

/* True when j stands for no value: absent, or null where null is allowed.
 * *rc is then the getter's result: 0, or the error for a required field. */
static bool absent(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		   int *rc, struct ap_err *err)
{
	*rc = 0;
	if (j && !((flags & AP_JSONX_NULLABLE) && cJSON_IsNull(j)))
		return false;
	if (!j && (flags & AP_JSONX_REQUIRED))
		*rc = ap_jsonx_fail(err, d->code, path, "required field is missing");
	return true;
}

int ap_jsonx_string(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		    char **out, struct ap_err *err)
{
	char *s;
	int rc;

	if (absent(d, j, path, flags, &rc, err)) {
		if (rc == 0)
			*out = NULL;
		return rc;
	}
	if (!cJSON_IsString(j) || !j->valuestring)
		return ap_jsonx_fail(err, d->code, path, "expected a string%s, got %s",
				     flags & AP_JSONX_NULLABLE ? " or null" : "",
				     ap_jsonx_type_name(j));
	if ((flags & AP_JSONX_NONEMPTY) && !*j->valuestring)
		return ap_jsonx_fail(err, d->code, path, "expected a non-empty string");
	s = ap_strdup(j->valuestring);
	if (!s)
		return ap_jsonx_nomem(d, err);
	*out = s;
	return 0;
}

/* An array (what names it in messages) and its element count; absent
 * gives 0 elements. */
static int array_of(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		    const char *what, size_t *n, struct ap_err *err)
{
	size_t count = 0;
	int rc;

	if (absent(d, j, path, flags, &rc, err)) {
		if (rc == 0)
			*n = 0;
		return rc;
	}
	if (!cJSON_IsArray(j))
		return ap_jsonx_fail(err, d->code, path, "expected %s, got %s", what,
				     ap_jsonx_type_name(j));
	for (const cJSON *e = j->child; e; e = e->next)
		count++;
	*n = count;
	return 0;
}

int ap_jsonx_array(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		   size_t *n, struct ap_err *err)
{
	return array_of(d, j, path, flags, "an array", n, err);
}

/* Reads array element e (at path) into slot. */
typedef int (*elem_fn)(const struct ap_jsonx_doc *d, const cJSON *e, const char *path, void *slot,
		       struct ap_err *err);

/* The array at j (what it must be, for the error) as a new vector of
 * elements of size bytes, each read by elem; on failure the elements read
 * are released with drop (NULL: nothing to release).  NULL for none. */
static int read_array(const struct ap_jsonx_doc *d, const cJSON *j, const char *path,
		      unsigned flags, const char *what, size_t size, elem_fn elem,
		      void (*drop)(void *slot), void **out, size_t *n, struct ap_err *err)
{
	char p[AP_JSONX_PATH_MAX];
	unsigned char *v = NULL;
	size_t count = 0, i = 0;
	int rc;

	rc = array_of(d, j, path, flags, what, &count, err);
	if (rc)
		return rc;
	if (count > 0) {
		v = calloc(count, size);
		if (!v)
			return ap_jsonx_nomem(d, err);
		for (const cJSON *e = j->child; e; e = e->next, i++) {
			ap_jsonx_index(p, path, i);
			rc = elem(d, e, p, v + i * size, err);
			if (rc) {
				while (drop && i > 0)
					drop(v + --i * size);
				free(v);
				return rc;
			}
		}
	}
	*out = v;
	*n = count;
	return 0;
}

static int string_elem(const struct ap_jsonx_doc *d, const cJSON *e, const char *path, void *slot,
		       struct ap_err *err)
{
	return ap_jsonx_string(d, e, path, 0, slot, err);
}

static void string_drop(void *slot)
{
	free(*(char **)slot);
}

int ap_jsonx_strv(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		  char ***out, size_t *n, struct ap_err *err)
{
	void *v;
	int rc = read_array(d, j, path, flags, "an array of strings", sizeof(char *), string_elem,
			    string_drop, &v, n, err);

	if (rc == 0)
		*out = v;
	return rc;
}

static void clamp_range(int64_t *min, int64_t *max)
{
	if (*min < -AP_JSONX_INT_MAX)
		*min = -AP_JSONX_INT_MAX;
	if (*max > AP_JSONX_INT_MAX)
		*max = AP_JSONX_INT_MAX;
}

bool ap_jsonx_int(const cJSON *j, int64_t min, int64_t max, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(j))
		return false;
	clamp_range(&min, &max);
	d = j->valuedouble;
	/* In range first: converting a double outside int64_t is undefined. */
	if (!(d >= (double)min && d <= (double)max) || (double)(int64_t)d != d)
		return false;
	*out = (int64_t)d;
	return true;
}

int ap_jsonx_integer(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		     int64_t min, int64_t max, int64_t *out, struct ap_err *err)
{
	int rc;

	if (absent(d, j, path, flags, &rc, err)) {
		if (rc == 0)
			*out = 0;
		return rc;
	}
	if (!cJSON_IsNumber(j))
		return ap_jsonx_fail(err, d->code, path, "expected an integer, got %s",
				     ap_jsonx_type_name(j));
	if (!ap_jsonx_int(j, min, max, out)) {
		clamp_range(&min, &max);
		return ap_jsonx_fail(err, d->code, path,
				     "expected an integer from %" PRId64 " to %" PRId64
				     ", got %.17g",
				     min, max, j->valuedouble);
	}
	return 0;
}

static int int_elem(const struct ap_jsonx_doc *d, const cJSON *e, const char *path, void *slot,
		    struct ap_err *err)
{
	int64_t x;
	int rc = ap_jsonx_integer(d, e, path, 0, INT_MIN, INT_MAX, &x, err);

	if (rc == 0)
		*(int *)slot = (int)x;
	return rc;
}

int ap_jsonx_ints(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		  int **out, size_t *n, struct ap_err *err)
{
	void *v;
	int rc = read_array(d, j, path, flags, "an array of integers", sizeof(int), int_elem, NULL,
			    &v, n, err);

	if (rc == 0)
		*out = v;
	return rc;
}

/* -------------------------------------------------------------- writing */

bool ap_jsonx_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

bool ap_jsonx_push(cJSON *arr, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

cJSON *ap_jsonx_strings(char *const *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!ap_jsonx_push(arr, cJSON_CreateString(v[i]))) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

cJSON *ap_jsonx_u64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_CreateRaw(buf);
}

cJSON *ap_jsonx_i64(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

static void out_flush(struct ap_jsonx_stream *o)
{
	if (o->rc == 0 && o->fill > 0)
		o->rc = o->write(o->ctx, o->chunk, o->fill, o->err);
	o->fill = 0;
}

/* To the stream's write function through its chunk, or (no function) into
 * buf, only counting while buf is NULL. */
static void out_c(struct ap_jsonx_stream *o, char c)
{
	if (o->write) {
		o->chunk[o->fill++] = c;
		if (o->fill == sizeof(o->chunk))
			out_flush(o);
		return;
	}
	if (o->buf)
		o->buf[o->n] = c;
	o->n++;
}

static void out_nl(struct ap_jsonx_stream *o, size_t depth)
{
	out_c(o, '\n');
	for (size_t i = 0; i < 2 * depth; i++)
		out_c(o, ' ');
}

/* Lay out cJSON's compact text.  Outside strings it holds no whitespace,
 * so only the structure characters need looking at.  The depth carries
 * over from the piece before. */
static void layout(const char *in, struct ap_jsonx_stream *o)
{
	for (const char *p = in; *p; p++) {
		char c = *p;

		if (o->in_str) {
			out_c(o, c);
			if (c == '\\' && p[1])
				out_c(o, *++p);
			else if (c == '"')
				o->in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			o->in_str = true;
			out_c(o, c);
			break;
		case '{':
		case '[':
			out_c(o, c);
			if (p[1] == (c == '{' ? '}' : ']')) {
				out_c(o, *++p);
				break;
			}
			out_nl(o, ++o->depth);
			break;
		case '}':
		case ']':
			out_nl(o, --o->depth);
			out_c(o, c);
			break;
		case ',':
			out_c(o, c);
			out_nl(o, o->depth);
			break;
		case ':':
			out_c(o, c);
			out_c(o, ' ');
			break;
		default:
			out_c(o, c);
			break;
		}
	}
}

void ap_jsonx_stream_init(struct ap_jsonx_stream *s, ap_jsonx_write_fn write, void *ctx,
			  struct ap_err *err)
{
	memset(s, 0, sizeof(*s));
	s->write = write;
	s->ctx = ctx;
	s->err = err;
}

int ap_jsonx_stream_add(struct ap_jsonx_stream *s, const char *compact)
{
	layout(compact, s);
	return s->rc;
}

int ap_jsonx_stream_finish(struct ap_jsonx_stream *s)
{
	out_c(s, '\n');
	out_flush(s);
	return s->rc;
}

int ap_jsonx_layout(const struct ap_jsonx_doc *d, const char *compact, char **out, size_t *len,
		    struct ap_err *err)
{
	struct ap_jsonx_stream o;
	char *buf;

	ap_jsonx_stream_init(&o, NULL, NULL, err);
	layout(compact, &o);
	out_c(&o, '\n');
	buf = malloc(o.n + 1);
	if (!buf)
		return ap_jsonx_nomem(d, err);
	ap_jsonx_stream_init(&o, NULL, NULL, err);
	o.buf = buf;
	layout(compact, &o);
	out_c(&o, '\n');
	buf[o.n] = '\0';
	*out = buf;
	*len = o.n;
	return 0;
}

int ap_jsonx_print(const struct ap_jsonx_doc *d, const cJSON *root, char **out, size_t *len,
		   struct ap_err *err)
{
	char *compact = cJSON_PrintUnformatted(root);
	int rc;

	if (!compact)
		return ap_jsonx_nomem(d, err);
	rc = ap_jsonx_layout(d, compact, out, len, err);
	cJSON_free(compact);
	return rc;
}
