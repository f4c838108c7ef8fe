/* ui.h - progress bars and JSON output helpers for the two programs.
 *
 * Progress bars draw on stderr only when it is a terminal and are silent
 * otherwise (the commands print their own one-line summaries).  The JSON
 * writer emits one object per line (JSON Lines) with correctly escaped
 * strings; it never needs a parser.
 */
#ifndef AP_UI_H
#define AP_UI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ap_progress {
	const char *label;
	uint64_t total;
	uint64_t done;
	bool enabled;
	int64_t last_ms;
	int64_t start_ms;
};

/* Start a bar for total bytes; enabled only when `allow` and stderr is a TTY. */
void ap_progress_start(struct ap_progress *p, const char *label, uint64_t total, bool allow);
/* Callback shapes used by digest/bundle (done) and fetch (have, total). */
void ap_progress_cb(void *p, uint64_t done);
void ap_progress_fetch_cb(void *p, uint64_t have, uint64_t total);
/* Clear the bar's line. */
void ap_progress_end(struct ap_progress *p);

/* Human size: "1.5 MiB", "512 B" into buf. */
const char *ap_human_size(uint64_t n, char *buf, size_t len);

/* JSON Lines writer: ap_json_begin(fp) "{", then fields, then ap_json_end
 * "}\n".  Strings are escaped (quotes, backslash, control characters). */
struct ap_json {
	FILE *fp;
	int n;       /* fields written at the current level */
	int depth;
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
void ap_json_end(struct ap_json *j);

/* Write s as a JSON string literal. */
void ap_json_quote(FILE *fp, const char *s);

#endif
