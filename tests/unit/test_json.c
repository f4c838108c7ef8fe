/* test_json.c - the JSON Lines writer (airpack/json.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"
#include "airpack/json.h"
#include "tap.h"

/* The line j printed, malloc'd. */
static char *line_of(void (*write)(struct ap_json *j))
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_json j;
	FILE *fp = NULL;
	char *buf = NULL;
	size_t len = 0;

	if (ap_fsx_memstream(&fp, &err) != 0)
		return NULL;
	ap_json_begin(&j, fp);
	write(&j);
	ap_json_end(&j);
	if (ap_fsx_memstream_take(fp, &buf, &len, &err) != 0)
		return NULL;
	return buf;
}

static void flat(struct ap_json *j)
{
	ap_json_str(j, "event", "done");
	ap_json_str(j, "none", NULL);
	ap_json_u64(j, "big", UINT64_MAX);
	ap_json_int(j, "neg", -42);
	ap_json_bool(j, "ok", true);
	ap_json_str(j, "esc", "a\"b\\c\nd\x01");
}

static void nested(struct ap_json *j)
{
	ap_json_str(j, "event", "plan");
	ap_json_obj_begin(j, "sources");
	ap_json_str(j, "a", "b");
	ap_json_obj_end(j);
	ap_json_arr_begin(j, "items");
	ap_json_arr_item_begin(j);
	ap_json_u64(j, "n", 1);
	ap_json_arr_item_end(j);
	ap_json_arr_item_begin(j);
	ap_json_arr_item_end(j);
	ap_json_arr_end(j);
	ap_json_arr_begin(j, "names");
	ap_json_arr_str(j, "x");
	ap_json_arr_str(j, "y");
	ap_json_arr_end(j);
	ap_json_arr_begin(j, "empty");
	ap_json_arr_end(j);
	ap_json_bool(j, "after", false);
}

static void too_deep(struct ap_json *j)
{
	for (int i = 0; i < AP_JSON_DEPTH_MAX + 2; i++)
		ap_json_obj_begin(j, "o");
	ap_json_str(j, "k", "v");
}

int main(void)
{
	char *s;

	s = line_of(flat);
	is_str(s,
	       "{\"event\":\"done\",\"none\":null,\"big\":18446744073709551615,\"neg\":-42,"
	       "\"ok\":true,\"esc\":\"a\\\"b\\\\c\\nd\\u0001\"}\n",
	       "one compact line, values in order, strings escaped");
	free(s);
	s = line_of(nested);
	is_str(s,
	       "{\"event\":\"plan\",\"sources\":{\"a\":\"b\"},\"items\":[{\"n\":1},{}],"
	       "\"names\":[\"x\",\"y\"],\"empty\":[],\"after\":false}\n",
	       "nested objects and arrays");
	free(s);
	s = line_of(too_deep);
	is_str(s, "", "nested too deep: nothing printed, never half a line");
	free(s);
	return tap_done();
}
