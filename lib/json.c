/* json.c - the JSON Lines writer on cJSON's printer; see airpack/json.h. */
#include <inttypes.h>
#include <stdio.h>

#include "jsonx.h"

#include "airpack/json.h"
#include "airpack/banned.h"

void ap_json_begin(struct ap_json *j, FILE *fp)
{
	j->fp = fp;
	j->depth = 0;
	j->stack[0] = cJSON_CreateObject();
	j->failed = j->stack[0] == NULL;
}

/* Add item under key to the innermost container (key NULL in an array). */
static void put(struct ap_json *j, const char *key, cJSON *item)
{
	cJSON *top;
	bool added;

	if (j->failed) {
		cJSON_Delete(item);
		return;
	}
	top = j->stack[j->depth];
	if (cJSON_IsArray(top))
		added = ap_jsonx_push(top, item);
	else
		added = ap_jsonx_add(top, key ? key : "", item);
	if (!added)
		j->failed = true;
}

/* put() a new container and make it the innermost. */
static void open_container(struct ap_json *j, const char *key, cJSON *c)
{
	put(j, key, c);
	if (j->failed)
		return;
	if (j->depth == AP_JSON_DEPTH_MAX) {
		j->failed = true;
		return;
	}
	j->stack[++j->depth] = c;
}

static void close_container(struct ap_json *j)
{
	if (j->depth > 0)
		j->depth--;
}

void ap_json_str(struct ap_json *j, const char *key, const char *val)
{
	put(j, key, val ? cJSON_CreateString(val) : cJSON_CreateNull());
}

void ap_json_u64(struct ap_json *j, const char *key, uint64_t val)
{
	put(j, key, ap_jsonx_u64(val));
}

void ap_json_int(struct ap_json *j, const char *key, long long val)
{
	put(j, key, ap_jsonx_i64((int64_t)val));
}

void ap_json_bool(struct ap_json *j, const char *key, bool val)
{
	put(j, key, cJSON_CreateBool(val));
}

void ap_json_obj_begin(struct ap_json *j, const char *key)
{
	open_container(j, key, cJSON_CreateObject());
}

void ap_json_obj_end(struct ap_json *j)
{
	close_container(j);
}

void ap_json_arr_begin(struct ap_json *j, const char *key)
{
	open_container(j, key, cJSON_CreateArray());
}

void ap_json_arr_item_begin(struct ap_json *j)
{
	open_container(j, NULL, cJSON_CreateObject());
}

void ap_json_arr_item_end(struct ap_json *j)
{
	close_container(j);
}

void ap_json_arr_str(struct ap_json *j, const char *val)
{
	put(j, NULL, cJSON_CreateString(val));
}

void ap_json_arr_end(struct ap_json *j)
{
	close_container(j);
}

void ap_json_end(struct ap_json *j)
{
	char *line = NULL;

	if (!j->failed)
		line = cJSON_PrintUnformatted(j->stack[0]);
	if (line) {
		fputs(line, j->fp);
		fputc('\n', j->fp);
		cJSON_free(line);
	}
	fflush(j->fp);
	cJSON_Delete(j->stack[0]);
	j->stack[0] = NULL;
	j->depth = 0;
}
