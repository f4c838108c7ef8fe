/* test_build.c - building a release (airpack/build.h): the three outputs,
 * one hash per payload, pinned values, determinism, and what a failed
 * build leaves behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/build.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/release.h"
#include "airpack/sign.h"
#include "tap.h"
#include "testarc.h"
#include "testutil.h"

#define KEY TEST_DATA "/keys/test.pem"
#define PUB TEST_DATA "/keys/test.pub.pem"
#define HELLO_SHA256 "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

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

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;

	if (ap_fsx_read_file(path, 1 << 24, &buf, &n, NULL) != 0)
		return NULL;
	if (len)
		*len = n;
	return buf;
}

/* A source manifest with a copy component (found by its alias) and an
 * extract component; pin: a sha256 pinned for the copy component. */
static void write_source(const char *pin)
{
	char text[2048];
	struct tu_arc *a = tu_arc_new(TU_ARC_TAR);

	tu_arc_file(a, "bin/x", "xx", 2, 0755, 0);
	tu_arc_file(a, "bin/y", "yyy", 3, 0644, 0);
	if (tu_arc_write(a, at("payloads/arc.tar")) != 0)
		fprintf(stderr, "# cannot write arc.tar\n");
	put("payloads/hello-amd64.txt", "hello\n");
	snprintf(
		text, sizeof(text),
		"{\"format\": \"airpack/1\", \"product\": \"demo\", \"version\": \"1.0.0\","
		" \"prefix\": \"opt/demo\", \"components\": ["
		"{\"name\": \"hello\", \"file\": \"hello.txt\", \"aliases\": [\"hello-amd64.txt\"]%s%s%s,"
		" \"install\": {\"action\": \"copy\"}},"
		"{\"name\": \"arc\", \"file\": \"arc.tar\", \"install\": {\"action\": \"extract\"}}]}",
		pin ? ", \"sha256\": \"" : "", pin ? pin : "", pin ? "\"" : "");
	put("source.json", text);
}

static void opts_init(struct ap_build_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->source = at("source.json");
	o->payloads = at("payloads");
	o->key = KEY;
	o->compress = AP_COMPRESS_NONE;
	o->level = 6;
	o->mtime = 1700000000;
}

/* Open what was built and check its signature against the test key. */
static struct ap_release *open_checked(const char *path)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;
	struct ap_sign_trust *t = NULL;

	if (ap_release_open(path, &r, &err) != 0 || ap_sign_trust_load(PUB, &t, &err) != 0 ||
	    ap_release_check_sig(r, t, false, &err) != 0) {
		printf("# %s: %s\n", path, err.msg);
		ap_release_free(r);
		r = NULL;
	}
	ap_sign_trust_free(t);
	return r;
}

struct counts {
	int started, ended;
	uint64_t last;
};

static void c_start(void *ctx, const char *label, uint64_t total)
{
	struct counts *c = ctx;

	(void)label;
	(void)total;
	c->started++;
}

static void c_step(void *ctx, uint64_t done)
{
	((struct counts *)ctx)->last = done;
}

static void c_end(void *ctx)
{
	((struct counts *)ctx)->ended++;
}

static void test_bundle_and_layout(void)
{
	struct ap_build_opts o;
	struct ap_build_result res;
	struct ap_err err = AP_ERR_INIT;
	struct counts n = { 0, 0, 0 };
	struct ap_progress_ops ops = { c_start, c_step, c_end, &n };
	struct ap_release *r;

	write_source(NULL);
	opts_init(&o);
	o.bundle = at("out/demo.tar");
	o.layout = at("folder");
	o.progress = &ops;
	is_int(ap_build(&o, &res, &err), 0, "bundle and folder build (%s)", err.msg);
	if (!res.manifest)
		return;
	is_str(res.manifest->components[0].sha256, HELLO_SHA256, "the alias's bytes are hashed");
	is_int((int)res.manifest->components[0].size, 6, "its size is filled in");
	ok(res.manifest->components[1].has_expanded &&
		   res.manifest->components[1].expanded_files == 2 &&
		   res.manifest->components[1].expanded_size == 5,
	   "the archive's expansion is measured");
	is_str(res.manifest->key_id, res.key_id, "the manifest names the signing key");
	is_int(res.compress, AP_COMPRESS_NONE, "compression as asked");
	is_int(n.started, 4, "two passes of two payloads: the bundle's and the folder's");
	is_int(n.ended, n.started, "every started payload ends");
	ap_build_result_release(&res);

	r = open_checked(at("out/demo.tar"));
	ok(r != NULL, "the bundle opens and verifies");
	if (r)
		is_str(r->manifest->components[0].sha256, HELLO_SHA256, "the bundle's manifest");
	ap_release_free(r);
	r = open_checked(at("folder"));
	ok(r != NULL, "the offline folder opens and verifies");
	ap_release_free(r);
	ok(tu_exists(at("folder/hello.txt")), "the folder holds the payload by its file name");
	ok(!tu_exists(at("folder/hello-amd64.txt")), "not by its alias");
}

static void test_deterministic(void)
{
	struct ap_build_opts o;
	struct ap_build_result res;
	struct ap_err err = AP_ERR_INIT;
	char *a, *b;
	size_t alen = 0, blen = 0;

	write_source(NULL);
	opts_init(&o);
	o.compress = AP_COMPRESS_GZIP;
	o.bundle = at("det1.tar.gz");
	is_int(ap_build(&o, &res, &err), 0, "first build (%s)", err.msg);
	ap_build_result_release(&res);
	o.bundle = at("det2.tar.gz");
	is_int(ap_build(&o, &res, &err), 0, "second build (%s)", err.msg);
	ap_build_result_release(&res);
	a = slurp(at("det1.tar.gz"), &alen);
	b = slurp(at("det2.tar.gz"), &blen);
	ok(a && b && alen == blen && memcmp(a, b, alen) == 0, "same inputs, same bytes");
	free(a);
	free(b);
}

static void test_hash_only_setup(void)
{
	struct ap_build_opts o;
	struct ap_build_result res;
	struct ap_err err = AP_ERR_INIT;
	struct counts n = { 0, 0, 0 };
	struct ap_progress_ops ops = { c_start, c_step, c_end, &n };
	struct ap_release *r;

	if (TU_WINDOWS) {
		/* The setup is copied from its bundle's temporary while that is
		 * still open, which Windows does not share: building a setup
		 * happens on POSIX build hosts (as before the move to lib/). */
		skip("building a setup on Windows");
		return;
	}
	write_source(NULL);
	put("stub", "#!/bin/sh\nexit 0\n");
	opts_init(&o);
	o.sfx = at("setup-detached");
	o.sfx_stub = at("stub");
	o.sfx_detached = true;
	o.progress = &ops;
	is_int(ap_build(&o, &res, &err), 0, "a detached setup alone (%s)", err.msg);
	is_int(n.started, 2, "each payload read once, to hash it");
	if (res.manifest)
		is_str(res.manifest->components[0].sha256, HELLO_SHA256, "hashed all the same");
	ap_build_result_release(&res);
	r = open_checked(at("setup-detached"));
	ok(r && r->kind == AP_RELEASE_SFX && r->sfx_detached, "the setup is detached");
	ap_release_free(r);
	ok(!tu_exists(at("setup-detached.bundle")), "its manifest bundle has no final name");

	o.sfx = at("setup-full");
	o.sfx_detached = false;
	is_int(ap_build(&o, &res, &err), 0, "a setup that carries the release (%s)", err.msg);
	ap_build_result_release(&res);
	r = open_checked(at("setup-full"));
	ok(r && r->kind == AP_RELEASE_SFX && !r->sfx_detached, "the setup carries payloads");
	ap_release_free(r);
	ok(!tu_exists(at("setup-full.bundle")), "its intermediate bundle is gone");
}

static void test_refusals(void)
{
	struct ap_build_opts o;
	struct ap_build_result res;
	struct ap_err err = AP_ERR_INIT;
	char **names = NULL;
	size_t n = 0;
	bool temps = false;

	write_source("0000000000000000000000000000000000000000000000000000000000000001");
	opts_init(&o);
	o.bundle = at("pinned/demo.tar");
	is_int(ap_build(&o, &res, &err), AP_E_DIGEST, "a pinned sha256 that differs");
	contains(err.msg, "component 'hello'", "the error names the component");
	contains(err.msg, "the source manifest pins", "and says what was pinned");
	ok(!tu_exists(at("pinned/demo.tar")), "no bundle is left");
	if (ap_fsx_list_dir(at("pinned"), &names, &n, NULL) == 0)
		for (size_t i = 0; i < n; i++)
			temps = temps || strstr(names[i], ".tmp-") != NULL;
	ok(!temps, "and no temporary");
	ap_fsx_strv_free(names, n);

	write_source(HELLO_SHA256);
	opts_init(&o);
	o.bundle = at("pinned/demo.tar");
	is_int(ap_build(&o, &res, &err), 0, "a pinned sha256 that holds (%s)", err.msg);
	ap_build_result_release(&res);

	opts_init(&o);
	is_int(ap_build(&o, &res, &err), AP_E_USAGE, "no output named");
	o.bundle = at("x.tar");
	o.payloads = at("nowhere");
	tu_mkdir(at("nowhere"));
	is_int(ap_build(&o, &res, &err), AP_E_NOTFOUND, "a payload that is not there");
	contains(err.msg, "2 payloads are missing in", "the error counts them");
	contains(err.msg, "'arc.tar' (component 'arc')", "and names the second");
	contains(err.msg, "'hello.txt' (component", "and names the file");
	{
		/* A second folder is searched after the first: the payloads
		 * come from it, and a missing one names both folders.  (at()'s
		 * buffers rotate: keep copies.) */
		char *nowhere = ap_strdup(at("nowhere")), *pay = ap_strdup(at("payloads"));
		char *nowhere2 = ap_strdup(at("nowhere2")), *src = ap_strdup(at("source.json"));
		char *out1 = ap_strdup(at("more.tar")), *out2 = ap_strdup(at("more2.tar"));
		const char *more[] = { pay, NULL };

		tu_mkdir(nowhere2);
		o.source = src;
		o.payloads = nowhere;
		o.more_payloads = more;
		o.bundle = out1;
		is_int(ap_build(&o, &res, &err), 0, "payloads from a second folder (%s)", err.msg);
		ap_build_result_release(&res);
		more[0] = nowhere2;
		o.bundle = out2;
		is_int(ap_build(&o, &res, &err), AP_E_NOTFOUND, "missing from both folders");
		contains(err.msg, "nowhere', '", "the error names both folders");
		free(nowhere);
		free(pay);
		free(nowhere2);
		free(src);
		free(out1);
		free(out2);
	}
	opts_init(&o);
	o.sfx = at("s");
	o.sfx_stub = at("no-stub");
	is_int(ap_build(&o, &res, &err), AP_E_NOTFOUND, "a stub that is not there");
	contains(err.msg, "setup stub", "the error names the stub");
}

int main(void)
{
	dir = tu_mkdtemp("ap-test-build");
	if (!dir || tu_mkdir(at("payloads")) != 0) {
		printf("Bail out! cannot make a temporary folder\n");
		return 1;
	}
	test_bundle_and_layout();
	test_deterministic();
	test_hash_only_setup();
	test_refusals();
	tu_rm_rf(dir);
	free(dir);
	return tap_done();
}
