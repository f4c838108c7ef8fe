/* test_layout.c - the offline-folder writer (airpack/layout.h) and the
 * temporaries a killed writer leaves (ap_fsx_is_temp_name,
 * ap_fsx_remove_temps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/build.h"
#include "airpack/bundle.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/manifest.h"
#include "airpack/release.h"
#include "airpack/source.h"
#include "tap.h"
#include "testutil.h"

#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ZERO_SHA256 "0000000000000000000000000000000000000000000000000000000000000000"

static char *dir;

static char *at(const char *name)
{
	static char buf[4][1024];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void put(const char *name, const char *text)
{
	if (tu_write(at(name), text, strlen(text)) != 0)
		fprintf(stderr, "# cannot write %s\n", at(name));
}

static char *slurp(const char *name)
{
	char *buf = NULL;
	size_t len = 0;

	if (ap_fsx_read_file(at(name), 1 << 20, &buf, &len, NULL) != 0)
		return strdup("");
	return buf;
}

/* Names in the folder joined by spaces. */
static const char *listing(void)
{
	static char out[4096];
	char **names = NULL;
	size_t n = 0;

	out[0] = '\0';
	if (ap_fsx_list_dir(dir, &names, &n, NULL) != 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, sizeof(out) - used, "%s%s", used ? " " : "", names[i]);
	}
	ap_fsx_strv_free(names, n);
	return out;
}

static void test_temp_names(void)
{
	static const struct {
		const char *name, *base;
		bool want;
	} cases[] = {
		{ "a.bin.tmp-Ab12Cd", NULL, true },
		{ "a.bin.tmp-Ab12Cd", "a.bin", true },
		{ "a.bin.tmp-Ab12Cd", "a", false },
		{ "a.bin.tmp-Ab12C", NULL, false },
		{ "a.bin.tmp-Ab12Cde", NULL, false },
		{ "a.bin.tmp-Ab12C!", NULL, false },
		{ ".tmp-Ab12Cd", NULL, false },
		{ "a.bin", NULL, false },
		{ "notes.tmp-abc", NULL, false },
		{ "a.bin.tmpXAb12Cd", NULL, false },
		{ "index.json.tmp-000000", "index.json", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(ap_fsx_is_temp_name(cases[i].name, cases[i].base), cases[i].want,
		       "is_temp_name('%s', %s)", cases[i].name,
		       cases[i].base ? cases[i].base : "any");
}

static void test_open_drops_old_manifest(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_layout *l = NULL;
	size_t removed = 99;

	put("manifest.json", "{old}");
	put("manifest.json.sig", "oldsig");
	put("a.bin", "old a");
	put("a.bin.tmp-Ab12Cd", "a killed run's temp");
	put("b.bin.tmp-000000", "another");
	put("notes.tmp-abc", "a user's file");
	tu_mkdir(at("keep.tmp-abcdef"));

	is_int(ap_fsx_remove_temps(dir, "b.bin", &removed, &err), 0, "remove_temps for one base");
	is_int((int)removed, 1, "one temp of base b.bin removed");
	ok(tu_exists(at("a.bin.tmp-Ab12Cd")), "other bases' temps stay");

	is_int(ap_layout_open(dir, "{new}", 5, &l, &err), 0, "open (%s)", err.msg);
	ok(l && !ap_layout_kept_manifest(l), "another manifest is not kept");
	is_int(l ? (int)ap_layout_temps_removed(l) : -1, 1, "the stale temp is counted");
	ok(!tu_exists(at("manifest.json")), "the old manifest is gone before any payload");
	ok(!tu_exists(at("manifest.json.sig")), "the old signature is gone too");
	ok(!tu_exists(at("a.bin.tmp-Ab12Cd")), "the stale temporary is gone");
	ok(tu_exists(at("notes.tmp-abc")), "a name outside the pattern stays");
	ok(tu_exists(at("keep.tmp-abcdef")), "a folder matching the pattern stays");
	ok(tu_exists(at("a.bin")), "payloads stay until replaced");
	ap_layout_free(l);
	l = NULL;

	/* The same manifest bytes: kept. */
	put("manifest.json", "{same}");
	put("manifest.json.sig", "sig");
	is_int(ap_layout_open(dir, "{same}", 6, &l, &err), 0, "open with the same manifest");
	ok(l && ap_layout_kept_manifest(l), "the same manifest is kept");
	ok(tu_exists(at("manifest.json")) && tu_exists(at("manifest.json.sig")), "both files stay");
	ap_layout_free(l);
	l = NULL;

	/* No keep bytes (build): always dropped. */
	is_int(ap_layout_open(dir, NULL, 0, &l, &err), 0, "open without keep bytes");
	ok(!tu_exists(at("manifest.json")), "dropped when the new manifest is not known yet");
	ap_layout_free(l);
	ap_layout_free(NULL);
}

static void test_payloads_and_commit(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_layout *l = NULL;
	struct ap_manifest m;
	struct ap_component comps[1];
	struct ap_sink s = AP_SINK_INIT;
	struct ap_sink_expect good = { "src", true, 3, ABC_SHA256, "the signed manifest says" };
	struct ap_sink_expect bad = { "src", true, 3, ZERO_SHA256, "the signed manifest says" };
	static const char *const reserved[] = { "manifest.json", "MANIFEST.JSON.SIG",
						"index.json",	 "x.tmp-abcdef",
						"../up",	 "" };
	char hex[AP_SHA256_HEX];
	char *txt;

	put("src", "abc");
	is_int(ap_layout_open(dir, NULL, 0, &l, &err), 0, "open");
	if (!l)
		return;
	ok(strcmp(ap_layout_dir(l), dir) == 0, "dir is kept");
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		is_int(ap_layout_sink_open(l, reserved[i], NULL, &s, &err), AP_E_UNSAFE,
		       "payload name '%s' refused", reserved[i]);
		ap_sink_abort(&s);
	}
	is_int(ap_layout_copy_file(l, "p.bin", at("src"), &bad, NULL, NULL, NULL, &err),
	       AP_E_DIGEST, "a payload that differs fails");
	ok(!tu_exists(at("p.bin")), "and never gets its name");
	ok(strstr(listing(), ".tmp-") == NULL, "nor leaves a temporary (%s)", listing());
	is_int(ap_layout_copy_file(l, "p.bin", at("src"), &good, NULL, NULL, hex, &err), 0,
	       "a payload that holds is copied (%s)", err.msg);
	is_str(hex, ABC_SHA256, "its hash comes from the copy");
	ok(ap_layout_has(l, "p.bin", 3, ABC_SHA256), "has() sees it");
	ok(!ap_layout_has(l, "p.bin", 3, ZERO_SHA256), "has() checks the hash");
	ok(!ap_layout_has(l, "p.bin", 4, ABC_SHA256), "has() checks the size");
	ok(!ap_layout_has(l, "none.bin", 3, ABC_SHA256), "has() on a missing file");

	is_int(ap_layout_sink_open(l, "q.bin", &good, &s, &err), 0, "sink_open");
	is_int(ap_sink_write(&s, "abc", 3, &err), 0, "sink write");
	is_int(ap_sink_commit(&s, NULL, &err), 0, "sink commit");
	ok(tu_exists(at("q.bin")), "the sink's payload is in the folder");

	memset(&m, 0, sizeof(m));
	memset(comps, 0, sizeof(comps));
	comps[0].file = "p.bin";
	m.components = comps;
	m.n_components = 1;
	put("stray.bin", "not in the manifest");
	put("manifest.json", "{x}");
	put("manifest.json.sig", "s");
	{
		size_t removed = 0;
		is_int(ap_layout_clean(l, &m, NULL, NULL, &removed, &err), 0, "clean");
		is_int((int)removed, 3, "src, q.bin and stray.bin removed (%s)", listing());
	}
	ok(tu_exists(at("p.bin")), "a named payload stays");
	ok(tu_exists(at("manifest.json")), "clean never takes the manifest");

	is_int(ap_layout_commit(l, "{\"m\":1}", 7, (const unsigned char *)"SIG", 3, NULL, &err), 0,
	       "commit");
	txt = slurp("manifest.json");
	is_str(txt, "{\"m\":1}", "the manifest is written");
	free(txt);
	txt = slurp("manifest.json.sig");
	is_str(txt, "SIG", "the signature is written");
	free(txt);
	ok(strstr(listing(), ".tmp-") == NULL, "no temporaries left (%s)", listing());
	ap_layout_free(l);
}

static void test_open_refusals(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_layout *l = NULL;

	put("afile", "x");
	ok(ap_layout_open(at("afile"), NULL, 0, &l, &err) != 0, "a file is not a folder");
	ok(l == NULL, "no writer on failure");
	tu_mkdir(at("d"));
	tu_mkdir(at("d/manifest.json"));
	is_int(ap_layout_open(at("d"), NULL, 0, &l, &err), AP_E_EXISTS,
	       "a folder named manifest.json is refused");
	contains(err.msg, "manifest.json", "and named (%s)", err.msg);
	ap_layout_free(l);
	l = NULL;
	is_int(ap_layout_open(at("new/deep"), NULL, 0, &l, &err), 0, "a missing folder is made");
	ok(tu_exists(at("new/deep")), "with its parents");
	ap_layout_free(l);
}

/* ---- a release's folder from a source plan (ap_layout_check, ap_layout_fill) ---- */

/* Build release 1.0.0 (two payloads) as an offline folder in "src". */
static struct ap_release *build_release(void)
{
	struct ap_build_opts o;
	struct ap_build_result res;
	struct ap_err err = AP_ERR_INIT;
	struct ap_release *r = NULL;

	tu_mkdir(at("payloads"));
	put("payloads/a.bin", "aaa");
	put("payloads/b.bin", "bbbb");
	put("source.json",
	    "{\"format\": \"airpack/1\", \"product\": \"demo\", "
	    "\"version\": \"1.0.0\", \"prefix\": \"opt/demo\", \"components\": ["
	    "{\"name\": \"a\", \"file\": \"a.bin\", \"install\": {\"action\": \"copy\"}},"
	    "{\"name\": \"b\", \"file\": \"b.bin\", \"install\": {\"action\": \"copy\"}}]}");
	memset(&o, 0, sizeof(o));
	o.source = at("source.json");
	o.payloads = at("payloads");
	o.key = TEST_DATA "/keys/test.pem";
	o.layout = at("src");
	o.level = 6;
	if (ap_build(&o, &res, &err) != 0) {
		printf("# build: %s\n", err.msg);
		return NULL;
	}
	ap_build_result_release(&res);
	if (ap_release_open(at("src"), &r, &err) != 0)
		printf("# open: %s\n", err.msg);
	return r;
}

/* Plan r with folder first (and only, when checking), as setup does. */
static struct ap_source_plan *plan(const struct ap_release *r, const char *folder, bool check,
				   struct ap_source_opts *so, struct ap_fetch_opts *fo)
{
	static const char *dirs[3];
	struct ap_source_plan *p = NULL;
	struct ap_err err = AP_ERR_INIT;
	size_t n = 0;

	if (!check)
		dirs[n++] = r->dir;
	dirs[n++] = folder;
	memset(so, 0, sizeof(*so));
	ap_fetch_opts_init(fo);
	so->offline_dirs = dirs;
	so->n_offline_dirs = n;
	so->cache_dir = folder;
	so->offline = true;
	so->fetch = fo;
	if (ap_source_plan(r, so, &p, &err) != 0)
		printf("# plan: %s\n", err.msg);
	return p;
}

static int n_bad;

static void count_bad(void *ctx, const char *file, const char *why)
{
	(void)ctx;
	(void)why;
	printf("# bad: %s\n", file);
	n_bad++;
}

static void test_fill_and_check(void)
{
	struct ap_release *r = build_release();
	struct ap_source_opts so;
	struct ap_fetch_opts fo;
	struct ap_source_plan *p;
	struct ap_layout_fill f;
	struct ap_err err = AP_ERR_INIT;
	size_t copied = 0, removed = 0, bad = 0;

	if (!r) {
		ok(0, "a release to lay out");
		return;
	}
	tu_mkdir(at("dst"));
	p = plan(r, at("dst"), true, &so, &fo);
	n_bad = 0;
	is_int(p ? ap_layout_check(at("dst"), r, p, count_bad, NULL, &bad, &err) : -1, AP_E_DIFFERS,
	       "an empty folder does not hold the release");
	ok(bad == 3 && n_bad == 3, "two payloads and the manifest are reported");
	contains(err.msg, "3 files missing or invalid", "the error counts them");
	ap_source_plan_free(p);

	put("dst/stray.txt", "not in the manifest");
	p = plan(r, at("dst"), false, &so, &fo);
	memset(&f, 0, sizeof(f));
	f.dir = at("dst");
	f.r = r;
	f.plan = p;
	f.src = &so;
	f.clean = true;
	is_int(p ? ap_layout_fill(&f, &copied, &removed, &err) : -1, 0, "fill the folder (%s)",
	       err.msg);
	ok(copied == 2 && removed == 1, "two payloads copied, the stray file removed");
	ok(so.work_dir == NULL && so.work_mode == 0, "the caller's source options are unchanged");
	ok(!tu_exists(at("dst/stray.txt")), "the stray file is gone");
	ap_source_plan_free(p);

	p = plan(r, at("dst"), true, &so, &fo);
	is_int(p ? ap_layout_check(at("dst"), r, p, count_bad, NULL, &bad, &err) : -1, 0,
	       "the filled folder holds the release (%s)", err.msg);
	ap_source_plan_free(p);

	/* Planned from the folder alone: every payload is already there. */
	p = plan(r, at("dst"), true, &so, &fo);
	f.plan = p;
	is_int(p ? ap_layout_fill(&f, &copied, &removed, &err) : -1, 0, "fill it again");
	ok(copied == 0 && removed == 0, "nothing to copy the second time");
	ap_source_plan_free(p);
	ap_release_free(r);
}

int main(void)
{
	dir = tu_mkdtemp("ap-test-layout");
	if (!dir) {
		printf("Bail out! no temp folder\n");
		return 1;
	}
	test_temp_names();
	test_open_drops_old_manifest();
	tu_rm_rf(dir);
	tu_mkdir(dir);
	test_payloads_and_commit();
	tu_rm_rf(dir);
	tu_mkdir(dir);
	test_open_refusals();
	tu_rm_rf(dir);
	tu_mkdir(dir);
	test_fill_and_check();
	tu_rm_rf(dir);
	free(dir);
	return tap_done();
}
