/* test_lifecycle.c - what the commands record and what status sees of the
 * device configuration (airpack/lifecycle.h), with a toy configuration
 * reader: no device runtime is linked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/history.h"
#include "airpack/lifecycle.h"
#include "airpack/manifest.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "tap.h"
#include "testutil.h"

#define SHA_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char *root;

static char *at(const char *name)
{
	static char buf[8][1024];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", root, name);
	return buf[k];
}

static void put(const char *name, const char *text)
{
	if (tu_write(at(name), text, strlen(text)) != 0)
		fprintf(stderr, "# cannot write %s\n", at(name));
}

static void test_config_temps(void)
{
	struct ap_err err = AP_ERR_INIT;
	char **v = NULL;

	tu_mkdir(at("etc"));
	tu_mkdir(at("etc/demo"));
	put("etc/demo/config.txt", "x");
	put("etc/demo/config.txt.tmp-Ab12Cd", "a killed write");
	put("etc/demo/config.txt.tmp-Ab12", "too short");
	put("etc/demo/other.txt.tmp-Ab12Cd", "another file's");
	is_int(ap_lifecycle_config_temps(root, "etc/demo/config.txt", &v, &err), 0,
	       "config temps (%s)", err.msg);
	ok(v && v[0] && strcmp(v[0], "etc/demo/config.txt.tmp-Ab12Cd") == 0 && !v[1],
	   "only the file's own temporary, relative to the root");
	ap_fsx_strv_free(v, 0);
	v = NULL;
	is_int(ap_lifecycle_config_temps(root, "nowhere/config.txt", &v, &err), 0,
	       "a folder that does not exist");
	ok(v && !v[0], "has no temporaries");
	ap_fsx_strv_free(v, 0);
}

/* The last history line's entry, copied out. */
struct last {
	char message[1024];
	char src_a[512], src_b[512];
	char files[32];
	bool ok;
	int n;
};

static void keep_last(void *ctx, const struct ap_history_entry *e)
{
	struct last *l = ctx;
	const char *a = ap_history_kv_get(e->sources, e->n_sources, "a");
	const char *b = ap_history_kv_get(e->sources, e->n_sources, "b");

	l->n++;
	l->ok = e->ok;
	snprintf(l->message, sizeof(l->message), "%s", e->message ? e->message : "");
	snprintf(l->src_a, sizeof(l->src_a), "%s", a ? a : "");
	snprintf(l->src_b, sizeof(l->src_b), "%s", b ? b : "");
	snprintf(l->files, sizeof(l->files), "%lld", (long long)e->files);
}

static struct ap_manifest *demo_manifest(void)
{
	static const char json[] =
		"{\"format\": \"airpack/1\", \"product\": \"demo\", \"version\": \"1.0.0\","
		" \"prefix\": \"opt/demo\", \"config\": {\"path\": \"etc/demo/config.txt\"},"
		" \"components\": ["
		"{\"name\": \"a\", \"file\": \"a.bin\", \"size\": 3, \"sha256\": \"" SHA_A "\","
		" \"install\": {\"action\": \"copy\"}},"
		"{\"name\": \"b\", \"file\": \"b.bin\", \"size\": 3, \"sha256\": \"" SHA_A "\","
		" \"install\": {\"action\": \"copy\"}}]}";
	struct ap_manifest *m = NULL;
	struct ap_err err = AP_ERR_INIT;

	if (ap_manifest_parse(json, sizeof(json) - 1, AP_MANIFEST_RELEASE, &m, &err) != 0)
		printf("# manifest: %s\n", err.msg);
	return m;
}

static void test_install_event(void)
{
	struct ap_lifecycle_downloads d = AP_LIFECYCLE_DOWNLOADS_INIT;
	struct ap_manifest *m = demo_manifest();
	struct ap_release r;
	struct ap_source_item items[2];
	struct ap_source_plan p;
	struct ap_source_check chk;
	struct ap_txn_result res;
	struct ap_err err = AP_ERR_INIT, failed = AP_ERR_INIT;
	struct last l;

	if (!m) {
		ok(0, "a manifest to record");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.path = "/media/usb/demo.tar";
	r.manifest = m;
	memcpy(r.manifest_sha256, SHA_A, sizeof(r.manifest_sha256));
	memset(items, 0, sizeof(items));
	items[0].c = &m->components[0];
	items[0].kind = AP_SOURCE_LOCAL;
	items[0].path = "/media/usb/a.bin";
	items[1].c = &m->components[1];
	items[1].kind = AP_SOURCE_DOWNLOAD;
	memset(&p, 0, sizeof(p));
	p.items = items;
	p.n_items = 2;
	memset(&chk, 0, sizeof(chk));
	chk.c = &m->components[1];
	chk.verdict = "sha256-mismatch";
	chk.source = "http://mirror-1/b.bin";
	ap_lifecycle_downloads_note(&d, &chk);
	chk.verdict = "downloaded";
	chk.source = "http://mirror-2/b.bin";
	ap_lifecycle_downloads_note(&d, &chk);
	is_int((int)d.n, 1, "only a download is noted");

	memset(&res, 0, sizeof(res));
	res.n_files = 2;
	res.n_bytes = 6;
	is_int(ap_lifecycle_log_install(root, &d, &r, &p, &res, 0, NULL, &err), 0,
	       "install event (%s)", err.msg);
	memset(&l, 0, sizeof(l));
	ap_history_read(root, keep_last, &l, NULL, NULL);
	ok(l.n == 1 && l.ok, "one line, ok");
	is_str(l.message, "2 components (1 local, 1 download), 2 files, 6 B", "its message");
	{
		/* Absolute as the OS spells it: on Windows with the current drive. */
		char *abs = NULL, *want;

		ap_fsx_abspath("/media/usb/a.bin", &abs, NULL);
		want = ap_strcat2("local:", abs ? abs : "/media/usb/a.bin");
		is_str(l.src_a, want, "a local component names its file (absolute)");
		free(want);
		free(abs);
	}
	is_str(l.src_b, "download:http://mirror-2/b.bin", "a download names the URL that served");
	is_str(l.files, "2", "the file count");

	ap_err_set(&failed, AP_E_DIGEST, "sha256 mismatch for 'b.bin'");
	is_int(ap_lifecycle_log_install(root, &d, &r, &p, &res, AP_E_DIGEST, &failed, &err), 0,
	       "a failed install's event");
	memset(&l, 0, sizeof(l));
	ap_history_read(root, keep_last, &l, NULL, NULL);
	ok(l.n == 2 && !l.ok, "recorded as failed");
	is_str(l.message, "sha256 mismatch for 'b.bin'", "with the error as its message");
	is_str(l.files, "-1", "and no file count");

	is_int(ap_lifecycle_log_verify(root, "demo", NULL, AP_E_IO, &failed, &err), 0,
	       "verify's event after another error");
	memset(&l, 0, sizeof(l));
	ap_history_read(root, keep_last, &l, NULL, NULL);
	is_int(l.n, 2, "records nothing");
	ap_lifecycle_downloads_release(&d);
	ap_manifest_free(m);
}

/* A toy runtime's reader: the file must start with "ok". */
struct toy {
	int calls;
	size_t len;
};

static int toy_read(void *ctx, const char *buf, size_t len, struct ap_err *err)
{
	struct toy *t = ctx;

	t->calls++;
	t->len = len;
	if (len < 2 || memcmp(buf, "ok", 2) != 0)
		return ap_err_set(err, AP_E_STATE, "toy: the file does not start with 'ok'");
	return 0;
}

static void write_installed_manifest(void)
{
	static const char json[] =
		"{\"format\": \"airpack/1\", \"product\": \"demo\", \"version\": \"1.0.0\","
		" \"prefix\": \"opt/demo\", \"config\": {\"path\": \"etc/demo/config.txt\"},"
		" \"components\": [{\"name\": \"a\", \"file\": \"a.bin\", \"size\": 3,"
		" \"sha256\": \"" SHA_A "\", \"install\": {\"action\": \"copy\"}}]}";
	char *state = ap_state_dir(root, "demo");
	char *path = state ? ap_fsx_path_join(state, "manifest.json") : NULL;

	if (!path || ap_fsx_mkdir_p(state, 0755, NULL) != 0 ||
	    tu_write(path, json, sizeof(json) - 1) != 0)
		printf("# cannot write the installed manifest\n");
	free(path);
	free(state);
}

static enum ap_lifecycle_config_state status(struct toy *t, char *problem, size_t plen, bool *read)
{
	struct ap_lifecycle_reader rd = { 1024, toy_read, t };
	struct ap_lifecycle_config cfg;
	struct ap_receipt r;
	struct ap_err err = AP_ERR_INIT;
	enum ap_lifecycle_config_state s;

	memset(&r, 0, sizeof(r));
	r.product = "demo";
	if (ap_lifecycle_config_status(root, &r, &rd, &cfg, &err) != 0) {
		printf("# status: %s\n", err.msg);
		return AP_LIFECYCLE_CONFIG_NONE;
	}
	s = cfg.state;
	snprintf(problem, plen, "%s", cfg.problem);
	*read = cfg.read;
	ap_lifecycle_config_release(&cfg);
	return s;
}

static void test_config_status(void)
{
	struct toy t = { 0, 0 };
	struct ap_history_record rec;
	struct ap_err err = AP_ERR_INIT;
	char problem[2048];
	bool read = false;

	write_installed_manifest();
	tu_rm_rf(at("etc/demo"));
	is_int(status(&t, problem, sizeof(problem), &read), AP_LIFECYCLE_CONFIG_ABSENT,
	       "declared, not written: absent");
	is_int(t.calls, 0, "nothing to read");

	tu_mkdir(at("etc/demo"));
	put("etc/demo/config.txt", "ok: by hand");
	is_int(status(&t, problem, sizeof(problem), &read), AP_LIFECYCLE_CONFIG_UNRECORDED,
	       "a file provision did not write: unrecorded");
	ok(t.calls == 1 && t.len == 11 && read, "the reader read it");

	put("etc/demo/config.txt", "broken");
	is_int(status(&t, problem, sizeof(problem), &read), AP_LIFECYCLE_CONFIG_UNRECORDED,
	       "a file the reader refuses");
	ok(!read, "is not read");
	contains(problem, "toy: the file does not start", "its problem is the reader's");

	put("etc/demo/config.txt", "ok");
	memset(&rec, 0, sizeof(rec));
	rec.product = "demo";
	rec.version = "1.0.0";
	rec.config_path = "etc/demo/config.txt";
	ap_digest_hex("ok", 2, rec.config_sha256);
	rec.config_mode = 0600;
	is_int(ap_history_record_save(root, &rec, &err), 0, "save a record (%s)", err.msg);
	is_int(status(&t, problem, sizeof(problem), &read), AP_LIFECYCLE_CONFIG_MATCHES,
	       "the file provision wrote: matches");
	put("etc/demo/config.txt", "ok, edited");
	is_int(status(&t, problem, sizeof(problem), &read), AP_LIFECYCLE_CONFIG_CHANGED,
	       "edited since: changed");
	tu_rm_rf(at("etc/demo/config.txt"));
	is_int(status(&t, problem, sizeof(problem), &read), AP_LIFECYCLE_CONFIG_MISSING,
	       "gone since: missing");
	is_str(ap_lifecycle_config_state_name(AP_LIFECYCLE_CONFIG_MISSING), "missing",
	       "state names");
}

static void test_nothing_installed(void)
{
	struct ap_lifecycle_uninstall u;
	struct ap_err err = AP_ERR_INIT;
	char *empty = ap_fsx_path_join(root, "empty-root");

	tu_mkdir(empty);
	is_int(ap_lifecycle_uninstall_begin(empty, NULL, NULL, &u, &err), 0,
	       "uninstall with nothing installed");
	ok(!u.r && !u.extra, "has nothing to add");
	is_int(ap_lifecycle_uninstall_end(empty, false, &u, NULL, 0, NULL, &err), 0,
	       "and records nothing");
	ap_lifecycle_uninstall_release(&u);
	is_int(ap_lifecycle_log_firstboot(empty, NULL, 0, 0, NULL, &err), 0,
	       "firstboot with nothing pending");
	ok(!tu_exists(at("empty-root/var")), "writes no history");
	free(empty);
}

int main(void)
{
	root = tu_mkdtemp("ap-test-lifecycle");
	if (!root) {
		printf("Bail out! cannot make a temporary folder\n");
		return 1;
	}
	test_config_temps();
	test_install_event();
	test_config_status();
	test_nothing_installed();
	tu_rm_rf(root);
	free(root);
	return tap_done();
}
