/* test_oci.c - the OCI client's checks that need no registry: tags,
 * references, credentials files, and a registry that is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fetch.h"
#include "airpack/fsx.h"
#include "airpack/oci.h"
#include "tap.h"
#include "testutil.h"

static void test_tags(void)
{
	ok(ap_oci_tag_valid("1.1.0"), "a version is a tag");
	ok(ap_oci_tag_valid("1.0.0-rc1"), "a pre-release is a tag");
	ok(ap_oci_tag_valid("latest"), "latest is a tag");
	ok(ap_oci_tag_valid("_x"), "a tag may start with '_'");
	ok(!ap_oci_tag_valid("1.0.0+build5"), "'+' is not in a tag");
	ok(!ap_oci_tag_valid(".hidden"), "a tag does not start with '.'");
	ok(!ap_oci_tag_valid("-x"), "nor with '-'");
	ok(!ap_oci_tag_valid(""), "an empty tag is refused");
	ok(!ap_oci_tag_valid(NULL), "NULL is no tag");
	{
		char t[130];

		memset(t, 'a', 128);
		t[128] = '\0';
		ok(ap_oci_tag_valid(t), "128 characters are a tag");
		t[128] = 'a';
		t[129] = '\0';
		ok(!ap_oci_tag_valid(t), "129 are not");
	}
}

static int open_err(const char *ref, const struct ap_oci_opts *o, struct ap_err *err)
{
	struct ap_oci *c = NULL;
	int rc;

	ap_err_clear(err);
	rc = ap_oci_open(ref, o, &c, err);
	ap_oci_free(c);
	return rc;
}

static void test_refs(void)
{
	struct ap_oci_opts o;
	struct ap_err err = AP_ERR_INIT;

	memset(&o, 0, sizeof(o));
	o.plain_http = true;
	is_int(open_err("registry-without-repo", &o, &err), AP_E_USAGE, "no repository: usage");
	contains(err.msg, "expected HOST[:PORT]/REPOSITORY[:TAG]", "saying what is expected");
	is_int(open_err("oci:///repo", &o, &err), AP_E_USAGE, "no host: usage");
	is_int(open_err("127.0.0.1:1/Airpack/x", &o, &err), AP_E_USAGE, "upper case: usage");
	contains(err.msg, "bad repository 'Airpack/x'", "naming the repository");
	is_int(open_err("127.0.0.1:1/a//b", &o, &err), AP_E_USAGE, "'//' in a repository: usage");
	is_int(open_err("127.0.0.1:1/a/b/", &o, &err), AP_E_USAGE, "a trailing '/': usage");
	is_int(open_err("127.0.0.1:1/a/b:1.0+x", &o, &err), AP_E_USAGE, "a bad tag: usage");
	contains(err.msg, "bad tag '1.0+x'", "naming the tag");
	is_int(open_err("host$x/a", &o, &err), AP_E_USAGE, "a bad host: usage");
	o.mount_from = "../x";
	is_int(open_err("127.0.0.1:1/a/b", &o, &err), AP_E_USAGE, "a bad --mount-from: usage");
	o.mount_from = NULL;
	/* port 1 on loopback: nothing listens there */
	is_int(open_err("oci://127.0.0.1:1/airpack/x:1.0.0", &o, &err), AP_E_FETCH,
	       "a registry that is not there: fetch error");
	contains(err.msg, "registry '127.0.0.1:1'", "naming the registry");
	contains(err.msg, "http://127.0.0.1:1/v2/", "and the request");
}

static void test_creds(void)
{
	char *d = tu_mkdtemp("ap-test-oci");
	char *bad = ap_fsx_path_join(d, "bad.json");
	char *none = ap_fsx_path_join(d, "none.json");
	char *empty = ap_fsx_path_join(d, "empty.json");
	char *missing = ap_fsx_path_join(d, "missing.json");
	static const char entry_empty[] = "{\"auths\": {\"127.0.0.1:1\": {}}}";
	struct ap_oci_opts o;
	struct ap_err err = AP_ERR_INIT;

	memset(&o, 0, sizeof(o));
	o.plain_http = true;
	tu_write(bad, "not json", 8);
	tu_write(none, "{\"auths\": {}}", 13);
	tu_write(empty, entry_empty, sizeof(entry_empty) - 1);
	o.auth_file = bad;
	is_int(open_err("127.0.0.1:1/a/b", &o, &err), AP_E_USAGE,
	       "a credentials file that is not JSON: usage");
	contains(err.msg, "not a JSON object", "saying so");
	o.auth_file = empty;
	is_int(open_err("127.0.0.1:1/a/b", &o, &err), AP_E_USAGE,
	       "an entry without credentials: usage");
	contains(err.msg, "neither \"auth\" nor \"username\" and \"password\"",
		 "saying what is missing");
	o.auth_file = missing;
	ok(open_err("127.0.0.1:1/a/b", &o, &err) != 0,
	   "a --registry-auth file that is missing fails");
	contains(err.msg, "missing.json", "naming it");
	o.auth_file = none;
	is_int(open_err("127.0.0.1:1/a/b", &o, &err), AP_E_FETCH,
	       "no entry for the registry: anonymous (then: not there)");
	tu_rm_rf(d);
	free(bad);
	free(none);
	free(empty);
	free(missing);
	free(d);
}

int main(void)
{
	if (ap_fetch_global_init(NULL) != 0)
		return 1;
	test_tags();
	test_refs();
	test_creds();
	ap_fetch_global_cleanup();
	return tap_done();
}
