/* test_publish.c - publishing into a mirror tree (airpack/publish.h): the
 * version folder and the signed index, a rerun that changes nothing,
 * immutable versions, the signer check and one product per mirror. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/build.h"
#include "airpack/fsx.h"
#include "airpack/mirror.h"
#include "airpack/publish.h"
#include "airpack/sign.h"
#include "tap.h"
#include "testutil.h"

#define KEY TEST_DATA "/keys/test.pem"

static char *dir;

static char *at(const char *name)
{
	static char buf[8][1024];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void put(const char *name, const char *text)
{
	if (tu_write(at(name), text, strlen(text)) != 0)
		fprintf(stderr, "# cannot write %s\n", at(name));
}

/* Build product's version into bundle (the test key) with payload text. */
static int build(const char *product, const char *version, const char *text, const char *bundle,
		 const char *key)
{
	struct ap_build_opts o;
	struct ap_build_result res;
	struct ap_err err = AP_ERR_INIT;
	char src[1024];
	int rc;

	put("payloads/a.bin", text);
	snprintf(src, sizeof(src),
		 "{\"format\": \"airpack/1\", \"product\": \"%s\", \"version\": \"%s\","
		 " \"channel\": \"stable\", \"prefix\": \"opt/%s\", \"components\": ["
		 "{\"name\": \"a\", \"file\": \"a.bin\", \"install\": {\"action\": \"copy\"}}]}",
		 product, version, product);
	put("source.json", src);
	memset(&o, 0, sizeof(o));
	o.source = at("source.json");
	o.payloads = at("payloads");
	o.key = key;
	o.bundle = bundle;
	o.level = 6;
	rc = ap_build(&o, &res, &err);
	if (rc)
		printf("# build: %s\n", err.msg);
	else
		ap_build_result_release(&res);
	return rc;
}

static int publish(const char *source, const char *key, bool force, struct ap_publish_result *res,
		   struct ap_err *err)
{
	struct ap_publish_opts o;

	memset(&o, 0, sizeof(o));
	o.mirror = at("mirror");
	o.source = source;
	o.key = key;
	o.force = force;
	memset(res, 0, sizeof(*res));
	ap_err_clear(err);
	return ap_publish(&o, res, err);
}

static struct ap_mirror_index *read_index(void)
{
	struct ap_mirror_index *ix = NULL;
	char *json = NULL;
	size_t len = 0;

	if (ap_fsx_read_file(at("mirror/index.json"), AP_INDEX_MAX, &json, &len, NULL) == 0)
		ap_mirror_index_parse(json, len, &ix, NULL);
	free(json);
	return ix;
}

static void test_publish_and_rerun(void)
{
	struct ap_publish_result res;
	struct ap_err err = AP_ERR_INIT;
	struct ap_mirror_index *ix;

	if (build("demo", "1.0.0", "one\n", at("demo-1.tar"), KEY) != 0)
		return;
	is_int(publish(at("demo-1.tar"), KEY, false, &res, &err), 0, "publish a bundle (%s)",
	       err.msg);
	is_int((int)res.copied, 1, "its payload is copied");
	ok(res.index_written && !res.unchanged, "the index is written");
	is_int((int)res.n_releases, 1, "the index holds one release");
	ok(res.folder && strstr(res.folder, "mirror/1.0.0") != NULL, "into MIRROR/<version>");
	ap_publish_result_release(&res);
	ok(tu_exists(at("mirror/1.0.0/manifest.json")) && tu_exists(at("mirror/1.0.0/a.bin")),
	   "the version folder holds the manifest and the payload");
	ok(tu_exists(at("mirror/index.json.sig")), "the index is signed");
	ix = read_index();
	ok(ix && ix->n_releases == 1 && strcmp(ix->releases[0].version, "1.0.0") == 0 &&
		   ix->releases[0].channel && strcmp(ix->releases[0].channel, "stable") == 0,
	   "the index names the version and its channel");
	ap_mirror_index_free(ix);

	is_int(publish(at("demo-1.tar"), KEY, false, &res, &err), 0, "publish it again (%s)",
	       err.msg);
	ok(res.unchanged && res.copied == 0 && res.kept == 1, "nothing to do the second time");
	ap_publish_result_release(&res);

	is_int(publish(at("mirror/1.0.0"), KEY, false, &res, &err), 0,
	       "an offline folder publishes too (%s)", err.msg);
	ok(res.unchanged, "the same release from a folder changes nothing");
	ap_publish_result_release(&res);

	if (build("demo", "1.1.0", "two\n", at("demo-2.tar"), KEY) != 0)
		return;
	is_int(publish(at("demo-2.tar"), KEY, false, &res, &err), 0, "a second version (%s)",
	       err.msg);
	is_int((int)res.n_releases, 2, "the index holds both");
	ap_publish_result_release(&res);
}

static void test_refusals(void)
{
	struct ap_publish_result res;
	struct ap_err err = AP_ERR_INIT;
	struct ap_sign_key *k = NULL;

	/* Another manifest for a published version. */
	if (build("demo", "1.0.0", "changed\n", at("demo-1b.tar"), KEY) != 0)
		return;
	is_int(publish(at("demo-1b.tar"), KEY, false, &res, &err), AP_E_EXISTS,
	       "a published version is immutable");
	contains(err.msg, "already published", "the error says so");
	is_int(publish(at("demo-1b.tar"), KEY, true, &res, &err), 0, "force replaces it (%s)",
	       err.msg);
	ok(res.copied == 1 && res.index_written, "the new payload and index are written");
	ap_publish_result_release(&res);

	/* Another product. */
	if (build("other", "1.0.0", "x\n", at("other.tar"), KEY) != 0)
		return;
	is_int(publish(at("other.tar"), KEY, false, &res, &err), AP_E_USAGE,
	       "one product per mirror");
	contains(err.msg, "holds product 'demo', not 'other'", "the error names both");

	/* A key that did not sign the release. */
	if (ap_sign_key_generate(&k, NULL) == 0 &&
	    ap_sign_key_write_private(k, at("other.pem"), false, NULL) == 0) {
		is_int(publish(at("demo-2.tar"), at("other.pem"), false, &res, &err),
		       AP_E_UNTRUSTED, "a release signed by another key is refused");
		contains(err.msg, "refusing to publish with key", "the error says why");
	} else {
		ok(0, "cannot make a second key");
		ok(0, "cannot make a second key");
	}
	ap_sign_key_free(k);

	put("mirror-file", "x");
	{
		struct ap_publish_opts o;

		memset(&o, 0, sizeof(o));
		o.mirror = at("mirror-file");
		o.source = at("demo-2.tar");
		o.key = KEY;
		is_int(ap_publish(&o, &res, &err), AP_E_USAGE, "a mirror path that is a file");
	}
}

int main(void)
{
	dir = tu_mkdtemp("ap-test-publish");
	if (!dir || tu_mkdir(at("payloads")) != 0) {
		printf("Bail out! cannot make a temporary folder\n");
		return 1;
	}
	test_publish_and_rerun();
	test_refusals();
	tu_rm_rf(dir);
	free(dir);
	return tap_done();
}
