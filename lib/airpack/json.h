/* json.h - the JSON Lines writer for command output and line records.
 *
 * airpack has one JSON writer: cJSON's printer, reached through lib/jsonx.h.
 * Documents (manifest, receipt, index, SBOM) build a cJSON tree there and
 * print it with ap_jsonx_print; this header is the same writer for code that
 * must not see cJSON (the programs, the history log): fields are added one
 * by one and ap_json_end prints the whole object as one compact line.
 *
 *   struct ap_json j;
 *   ap_json_begin(&j, stdout);          {
 *   ap_json_str(&j, "event", "done");     "event":"done"
 *   ap_json_end(&j);                    }\n, then fflush
 *
 * Keys keep the order they were added in.  A value that is NULL prints as
 * null.  Out of memory, the line is not printed at all (never half of it).
 */
#ifndef AP_JSON_H
#define AP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* How deep objects and arrays may nest below the line's object. */
#define AP_JSON_DEPTH_MAX 8

struct ap_json {
	FILE *fp;
	void *stack[AP_JSON_DEPTH_MAX + 1]; /* the open containers (private) */
	int depth;			    /* stack[depth] is the innermost */
	bool failed;			    /* out of memory or nested too deep */
};

void ap_json_begin(struct ap_json *j, FILE *fp);
void ap_json_str(struct ap_json *j, const char *key, const char *val); /* NULL -> null */
void ap_json_u64(struct ap_json *j, const char *key, uint64_t val);
void ap_json_int(struct ap_json *j, const char *key, long long val);
void ap_json_bool(struct ap_json *j, const char *key, bool val);
/* Nested object / array of objects / array of strings. */
void ap_json_obj_begin(struct ap_json *j, const char *key);
void ap_json_obj_end(struct ap_json *j);
void ap_json_arr_begin(struct ap_json *j, const char *key);
void ap_json_arr_item_begin(struct ap_json *j); /* an object inside an array */
void ap_json_arr_item_end(struct ap_json *j);
void ap_json_arr_str(struct ap_json *j, const char *val);
void ap_json_arr_end(struct ap_json *j);
/* Print the line ("}\n" closes whatever is still open) and flush; frees
 * what begin made.  Every begin needs its end. */
void ap_json_end(struct ap_json *j);

#endif
