/* jsonx.h - reading and writing JSON documents with cJSON.  Private to lib/.
 *
 * Only the modules that parse or emit JSON with cJSON include this header:
 * manifest.c, mirror.c, receipt.c, history.c, sbom.c, root.c, freshness.c,
 * oci.c and json.c (the JSON Lines writer of airpack/json.h).  It exposes cJSON types, so
 * it lives here and never under lib/airpack/; nothing outside lib/ sees it.
 *
 * It holds what those documents share: field checks that name the JSON path
 * in every message ("components[2].size: expected ..."), getters that copy
 * values into a model, the safe integer range, and the parse and print
 * steps.  Each module keeps its own rules (names, versions, formats) and
 * says, with a struct ap_jsonx_doc, which error code and quoting its
 * messages use.
 */
#ifndef AP_JSONX_H
#define AP_JSONX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"

#include "airpack/err.h"

/* Room for a JSON path; a longer path is cut, which only shortens a message. */
#define AP_JSONX_PATH_MAX 160
/* Room for a string quoted into a message by ap_jsonx_quote / ap_jsonx_shown. */
#define AP_JSONX_QUOTE_MAX 200
/* 2^53 - 1: the largest integer a JSON number (a double) cannot confuse with
 * another.  Integers read from documents are kept within +-AP_JSONX_INT_MAX. */
#define AP_JSONX_INT_MAX 9007199254740991LL

/* How a module quotes field names in its messages. */
enum ap_jsonx_quoting {
	AP_JSONX_QUOTE_JSON,   /* as a JSON string: unknown field "x" */
	AP_JSONX_QUOTE_SINGLE, /* in single quotes, as shown: unknown field 'x' */
};

/* The conventions of one kind of document. */
struct ap_jsonx_doc {
	int code;		       /* AP_E_* for a document that breaks a rule */
	const char *what;	       /* "the manifest": for out-of-memory messages */
	enum ap_jsonx_quoting quoting; /* how unknown and duplicate fields are named */
};

/* Flags for the getters. */
enum {
	AP_JSONX_OPTIONAL = 0,
	AP_JSONX_REQUIRED = 1 << 0, /* absent: "required field is missing" */
	AP_JSONX_NULLABLE = 1 << 1, /* null is allowed and reads as absent */
	AP_JSONX_NONEMPTY = 1 << 2, /* a string must not be "" */
};

/* ---- messages ---- */

/* "a string", "an object", ... for "expected X, got <type>". */
const char *ap_jsonx_type_name(const cJSON *j);

/* s as a double-quoted JSON string literal, cut with "..." to fit buf of n
 * bytes (n >= 8); "null" for NULL.  Returns buf or a constant. */
const char *ap_jsonx_quote(const char *s, char *buf, size_t n);

/* s as it is, control characters shown as '?', cut with "..." to fit buf of
 * n bytes (n >= 5); "(null)" for NULL.  Returns buf or a constant. */
const char *ap_jsonx_shown(const char *s, char *buf, size_t n);

/* Paths: out has AP_JSONX_PATH_MAX bytes.  join gives "base.field" (just
 * "field" when base is empty), index gives "base[i]". */
void ap_jsonx_path(char *out, const char *fmt, ...) AP_PRINTF(2, 3);
void ap_jsonx_join(char *out, const char *base, const char *field);
void ap_jsonx_index(char *out, const char *base, size_t i);

/* Record "path: message" (just the message when path is NULL or empty)
 * with code; returns code. */
int ap_jsonx_fail(struct ap_err *err, int code, const char *path, const char *fmt, ...)
	AP_PRINTF(4, 5);
int ap_jsonx_failv(struct ap_err *err, int code, const char *path, const char *fmt, va_list ap)
	AP_PRINTF(4, 0);

/* AP_E_NOMEM, "out of memory handling <d->what>". */
int ap_jsonx_nomem(const struct ap_jsonx_doc *d, struct ap_err *err);

/* ---- reading ---- */

/* Parse exactly one JSON value from the len bytes at json; only whitespace
 * may follow it.  Returns the tree (free with cJSON_Delete), or NULL with
 * *off the byte where reading stopped and *trailing true when a whole value
 * was read but other data follows it (off and trailing may be NULL; json
 * NULL reads as nothing, which is not JSON). */
cJSON *ap_jsonx_parse(const char *json, size_t len, size_t *off, bool *trailing);

/* For lenient readers of other programs' documents (an OCI registry's): obj's
 * member key, or NULL when obj is not an object (or NULL) or has no such
 * member; member_string: its string, or NULL when it is not a string. */
const cJSON *ap_jsonx_member(const cJSON *obj, const char *key);
const char *ap_jsonx_member_string(const cJSON *obj, const char *key);

/* Check that obj is an object holding only the fields names[0..n), each at
 * most once; fill vals[k] with field names[k] or NULL when absent (vals may
 * be NULL to check only).  Errors: "path: expected an object, got <type>",
 * "path: unknown field <name>", "path: duplicate field <name>" for the first
 * field that breaks the rule, quoted as d->quoting says. */
int ap_jsonx_fields(const struct ap_jsonx_doc *d, const cJSON *obj, const char *path,
		    const char *const *names, size_t n, const cJSON **vals, struct ap_err *err);

/* The getters read one value j (NULL when the field is absent) whose path
 * is path.  When j is absent (or null with AP_JSONX_NULLABLE) and not
 * required they write the empty value: NULL, 0, no elements.  On an error
 * the out-parameters are not written.  Errors carry d->code and read
 * "path: required field is missing" or "path: expected <what>, got <type>"
 * (got the value, for numbers out of range). */

/* A string, copied (malloc'd) into *out. */
int ap_jsonx_string(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		    char **out, struct ap_err *err);

/* An array of strings, copied into *out (a malloc'd array of malloc'd
 * strings; NULL when empty) and *n.  An element error names "path[i]". */
int ap_jsonx_strv(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		  char ***out, size_t *n, struct ap_err *err);

/* An array: its element count in *n (walk j->child for the elements). */
int ap_jsonx_array(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		   size_t *n, struct ap_err *err);

/* An integer from min to max (narrowed to +-AP_JSONX_INT_MAX): "expected an
 * integer from MIN to MAX, got 1.5". */
int ap_jsonx_integer(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		     int64_t min, int64_t max, int64_t *out, struct ap_err *err);

/* An array of integers that fit an int, copied into *out (malloc'd; NULL
 * when empty) and *n. */
int ap_jsonx_ints(const struct ap_jsonx_doc *d, const cJSON *j, const char *path, unsigned flags,
		  int **out, size_t *n, struct ap_err *err);

/* True, with *out, when j is a number holding an integer from min to max
 * (and within +-AP_JSONX_INT_MAX) exactly; for lenient readers. */
bool ap_jsonx_int(const cJSON *j, int64_t min, int64_t max, int64_t *out);

/* ---- writing ---- */

/* Add item to obj under key / append it to arr; false when item is NULL or
 * cannot be added (item is freed then). */
bool ap_jsonx_add(cJSON *obj, const char *key, cJSON *item);
bool ap_jsonx_push(cJSON *arr, cJSON *item);

/* A new array of the n strings v; NULL when out of memory. */
cJSON *ap_jsonx_strings(char *const *v, size_t n);

/* An integer as exact raw number text (cJSON would print 1e15 as "1e+15");
 * NULL when out of memory. */
cJSON *ap_jsonx_u64(uint64_t v);
cJSON *ap_jsonx_i64(int64_t v);

/* The tree as text laid out the one way airpack writes JSON files: two
 * spaces per level, one element per line, ": " after keys, empty containers
 * as {} and [], a final newline.  *out is malloc'd and NUL-terminated; *len
 * leaves the NUL out. */
int ap_jsonx_print(const struct ap_jsonx_doc *d, const cJSON *root, char **out, size_t *len,
		   struct ap_err *err);

/* The same layout of compact JSON text (cJSON_PrintUnformatted's, or text
 * spliced from such pieces), for a writer that prints a big array one
 * element at a time instead of holding it as a tree. */
int ap_jsonx_layout(const struct ap_jsonx_doc *d, const char *compact, char **out, size_t *len,
		    struct ap_err *err);

/* The same layout written as it is made, for a document too big to hold
 * twice: init, then add the compact text in pieces (each piece whole
 * values, keys, or the ',' and brackets between them; an empty container
 * never split), then finish, which adds the final newline and writes what
 * is left.  Output goes to write in chunks of up to sizeof(chunk) bytes;
 * the first error write returns (it sets err) sticks and is what add and
 * finish return from then on.  Nothing to release. */
typedef int (*ap_jsonx_write_fn)(void *ctx, const void *data, size_t len, struct ap_err *err);
struct ap_jsonx_stream {
	ap_jsonx_write_fn write; /* NULL: ap_jsonx_layout's in-memory passes */
	void *ctx;
	struct ap_err *err;
	int rc; /* the first error, sticky */
	size_t depth;
	bool in_str;
	char *buf; /* in memory: the text, or NULL while counting it */
	size_t n;
	size_t fill; /* bytes waiting in chunk */
	char chunk[16384];
};
void ap_jsonx_stream_init(struct ap_jsonx_stream *s, ap_jsonx_write_fn write, void *ctx,
			  struct ap_err *err);
int ap_jsonx_stream_add(struct ap_jsonx_stream *s, const char *compact);
int ap_jsonx_stream_finish(struct ap_jsonx_stream *s);

#endif
