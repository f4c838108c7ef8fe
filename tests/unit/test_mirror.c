/* test_mirror.c - the mirror index: parse, emit, put, resolve. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "airpack/mirror.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define KEY "0123456789abcdef"

static const char good[] = "{\n"
			   "  \"format\": \"airpack-index/1\",\n"
			   "  \"product\": \"sample-edge\",\n"
			   "  \"key_id\": \"" KEY "\",\n"
			   "  \"releases\": [\n"
			   "    {\n"
			   "      \"version\": \"1.0.0\",\n"
			   "      \"channel\": \"lts\",\n"
			   "      \"manifest_sha256\": \"" SHA_A "\",\n"
			   "      \"size\": 100\n"
			   "    },\n"
			   "    {\n"
			   "      \"version\": \"1.1.0\",\n"
			   "      \"channel\": \"lts\",\n"
			   "      \"manifest_sha256\": \"" SHA_B "\",\n"
			   "      \"size\": 200\n"
			   "    },\n"
			   "    {\n"
			   "      \"version\": \"1.10.0-rc1\",\n"
			   "      \"manifest_sha256\": \"" SHA_C "\",\n"
			   "      \"size\": 9007199254740991\n"
			   "    }\n"
			   "  ]\n"
			   "}\n";

/* Parse text expecting an error; return its message (static buffer). */
static const char *parse_error(const char *text)
{
	static struct ap_err err;
	struct ap_mirror_index *ix = NULL;
	int rc;

	ap_err_clear(&err);
	rc = ap_mirror_index_parse(text, strlen(text), &ix, &err);
	if (rc == 0) {
		ap_mirror_index_free(ix);
		return "(parsed)";
	}
	if (ix)
		return "(out-parameter written on failure)";
	return err.msg;
}

static void test_parse_emit(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_mirror_index *ix = NULL;
	char *json = NULL;
	size_t len = 0;

	is_int(ap_mirror_index_parse(good, strlen(good), &ix, &err), 0, "a good index parses");
	if (!ix)
		return;
	is_str(ix->product, "sample-edge", "product");
	is_str(ix->key_id, KEY, "key_id");
	is_int(ix->n_releases, 3, "three releases");
	is_str(ix->releases[2].version, "1.10.0-rc1", "sorted by version, not bytes");
	ok(ix->releases[2].channel == NULL, "absent channel is NULL");
	ok(ix->releases[2].size == 9007199254740991ULL, "2^53-1 size round-trips");
	is_int(ap_mirror_index_emit(ix, &json, &len, &err), 0, "emit");
	is_str(json, good, "emit gives the canonical bytes back");
	is_int(len, strlen(good), "emit length");
	free(json);
	ap_mirror_index_free(ix);
	ap_mirror_index_free(NULL);
	ok(1, "ap_mirror_index_free(NULL) is a no-op");
}

static void test_errors(void)
{
	contains(parse_error("[]"), "expected an object, got an array", "top level not object");
	contains(parse_error("{\"format\":\"airpack-index/2\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[]}"),
		 "format: expected \"airpack-index/1\", got 'airpack-index/2'", "wrong format");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"a/b\",\"key_id\":\"" KEY
			     "\",\"releases\":[]}"),
		 "product: expected a name", "unsafe product");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"ABC\","
			     "\"releases\":[]}"),
		 "key_id: expected 16 lowercase hex digits, got 'ABC'", "bad key id");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\"}"),
		 "releases: required field is missing", "no releases");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[],\"extra\":1}"),
		 "unknown field 'extra'", "unknown top-level field");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[{\"version\":\"1.0\",\"manifest_sha256\":\"" SHA_A
			     "\",\"size\":1},{\"version\":\"1.x\",\"manifest_sha256\":\"" SHA_A
			     "\",\"size\":1}]}"),
		 "releases[1].version: expected a version like 1.1.13, got '1.x'", "bad version");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[{\"version\":\"1.0\",\"manifest_sha256\":\"abc\","
			     "\"size\":1}]}"),
		 "releases[0].manifest_sha256: expected 64 lowercase hex digits, got 'abc'",
		 "short sha256");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[{\"version\":\"1.0\",\"manifest_sha256\":\"" SHA_A
			     "\",\"size\":-1}]}"),
		 "releases[0].size: expected a non-negative integer", "negative size");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[{\"version\":\"1.0\",\"manifest_sha256\":\"" SHA_A
			     "\"}]}"),
		 "releases[0].size: required field is missing", "missing size");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[{\"version\":\"1.0\",\"manifest_sha256\":\"" SHA_A
			     "\",\"size\":1,\"channel\":\"a/b\"}]}"),
		 "releases[0].channel: expected a name", "unsafe channel");
	contains(parse_error("{\"format\":\"airpack-index/1\",\"product\":\"p\",\"key_id\":\"" KEY
			     "\",\"releases\":[{\"version\":\"1.0\",\"manifest_sha256\":\"" SHA_A
			     "\",\"size\":1},{\"version\":\"1.0.0\",\"manifest_sha256\":\"" SHA_B
			     "\",\"size\":1}]}"),
		 "releases[1]: version 1.0.0 is listed twice (also releases[0])",
		 "duplicate version");
	contains(parse_error(
			 "{\"format\":\"airpack-index/1\",\"product\":\"p\",\"product\":\"q\"}"),
		 "duplicate field 'product'", "duplicate field");
	contains(parse_error("{\"format\":\"airpack-index/1\"} x"), "unexpected data after",
		 "trailing data");
	contains(parse_error("{\"format\":"), "not valid JSON", "truncated JSON");
	contains(parse_error(""), "not valid JSON", "empty document");
}

static void test_put_resolve(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_mirror_index *ix = NULL;
	const struct ap_mirror_release *r = NULL;
	char *json = NULL;

	is_int(ap_mirror_index_new("a/b", KEY, &ix, &err), AP_E_USAGE, "new refuses a bad product");
	ok(ix == NULL, "no index on failure");
	is_int(ap_mirror_index_new("sample-edge", KEY, &ix, &err), 0, "new");
	if (!ix)
		return;
	is_int(ap_mirror_index_emit(ix, &json, NULL, &err), 0, "an empty index emits");
	contains(json, "\"releases\": []\n", "as an empty array");
	free(json);
	is_int(ap_mirror_resolve(ix, "latest", NULL, &r, &err), AP_E_NOTFOUND,
	       "latest of an empty index");
	contains(err.msg, "lists no releases", "says the index is empty");
	is_int(ap_mirror_index_put(ix, "1.1.0", "lts", SHA_B, 200, &err), 0, "put 1.1.0");
	is_int(ap_mirror_index_put(ix, "1.0.0", "lts", SHA_A, 100, &err), 0, "put 1.0.0");
	is_int(ap_mirror_index_put(ix, "2.0.0-beta.1", "beta", SHA_C, 300, &err), 0, "put beta");
	is_int(ix->n_releases, 3, "three releases");
	is_str(ix->releases[0].version, "1.0.0", "kept sorted");
	is_int(ap_mirror_index_put(ix, "1.0.0", "stable", SHA_C, 101, &err), 0, "replace 1.0.0");
	is_int(ix->n_releases, 3, "replacing does not add");
	is_str(ix->releases[0].channel, "stable", "replaced channel");
	is_int(ap_mirror_index_put(ix, "1.0", "lts", SHA_A, 1, &err), AP_E_EXISTS,
	       "1.0 next to 1.0.0 is refused");
	contains(err.msg, "equals version 1.0.0", "naming the other spelling");
	is_int(ap_mirror_index_put(ix, "1.0.0", "lts", "xyz", 1, &err), AP_E_USAGE,
	       "put checks the sha256");

	is_int(ap_mirror_resolve(ix, "latest", NULL, &r, &err), 0, "latest");
	is_str(r ? r->version : NULL, "2.0.0-beta.1", "latest is the highest version");
	is_int(ap_mirror_resolve(ix, "latest", "lts", &r, &err), 0, "latest in lts");
	is_str(r ? r->version : NULL, "1.1.0", "latest lts is 1.1.0");
	is_int(ap_mirror_resolve(ix, "1.0.0", NULL, &r, &err), 0, "a concrete version");
	is_str(r ? r->version : NULL, "1.0.0", "resolves to itself");
	is_int(ap_mirror_resolve(ix, "1.0.0", "lts", &r, &err), AP_E_NOTFOUND,
	       "a version outside the channel asked for");
	contains(err.msg, "version 1.0.0 of 'sample-edge' is in channel 'stable', not 'lts'",
		 "says which channel it is in");
	is_int(ap_mirror_resolve(ix, "1.2.0", NULL, &r, &err), AP_E_NOTFOUND, "unknown version");
	contains(err.msg,
		 "1.2.0 of 'sample-edge' is not in the mirror index (it lists: 1.0.0 "
		 "(stable), 1.1.0 (lts), 2.0.0-beta.1 (beta))",
		 "lists what there is");
	is_int(ap_mirror_resolve(ix, "latest", "edge", &r, &err), AP_E_NOTFOUND, "unknown channel");
	contains(err.msg, "no release of 'sample-edge' in channel 'edge'", "names the channel");
	is_int(ap_mirror_resolve(ix, "one", NULL, &r, &err), AP_E_USAGE, "a malformed version");
	ok(ap_mirror_index_find(ix, "1.1.0") != NULL, "find");
	ok(ap_mirror_index_find(ix, "1.1") == NULL, "find is exact");
	ap_mirror_index_free(ix);
}

/* Version, expiry, floor and manifest length (docs/trust.md). */
static void test_freshness_fields(void)
{
	static const char fresh[] = "{\n"
				    "  \"format\": \"airpack-index/1\",\n"
				    "  \"product\": \"sample-edge\",\n"
				    "  \"key_id\": \"" KEY "\",\n"
				    "  \"version\": 7,\n"
				    "  \"expires\": \"2026-12-19T08:00:00Z\",\n"
				    "  \"min_version\": \"1.0.0\",\n"
				    "  \"releases\": [\n"
				    "    {\n"
				    "      \"version\": \"1.0.0\",\n"
				    "      \"manifest_sha256\": \"" SHA_A "\",\n"
				    "      \"manifest_size\": 1234,\n"
				    "      \"size\": 100\n"
				    "    }\n"
				    "  ]\n"
				    "}\n";
	struct ap_err err = AP_ERR_INIT;
	struct ap_mirror_index *ix = NULL;
	char *json = NULL, *bad;
	size_t len = 0;

	is_int(ap_mirror_index_parse(fresh, strlen(fresh), &ix, &err), 0,
	       "a versioned index parses: %s", err.msg);
	is_int((int)ix->version, 7, "its version");
	is_int((int)(ix->expires % 86400), 8 * 3600, "its expiry");
	is_str(ix->min_version, "1.0.0", "its floor");
	is_int((int)ix->releases[0].manifest_size, 1234, "the pinned manifest length");
	is_int(ap_mirror_index_emit(ix, &json, &len, &err), 0, "and emits");
	is_str(json, fresh, "byte for byte");
	free(json);
	ap_mirror_index_free(ix);

	bad = strdup(fresh);
	memcpy(strstr(bad, "2026-12-19"), "2026-13-19", 10);
	contains(parse_error(bad), "expires: expected a UTC time", "a bad expiry is named");
	free(bad);
	bad = strdup(fresh);
	memcpy(strstr(bad, "\"manifest_size\": 1234"), "\"manifest_size\": 0   ", 21);
	contains(parse_error(bad), "releases[0].manifest_size", "a zero manifest length is named");
	free(bad);
	bad = strdup(fresh);
	memcpy(strstr(bad, "\"version\": 7"), "\"version\": 0", 12);
	contains(parse_error(bad), "version", "an index version of 0 is refused");
	free(bad);
}

int main(void)
{
	test_freshness_fields();
	test_parse_emit();
	test_errors();
	test_put_resolve();
	return tap_done();
}
