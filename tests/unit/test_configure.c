/* test_configure.c - the core's configure step with a device runtime of the
 * test's own (a "key = value" file), linked without the IoT Edge layer: the
 * base document the hook is given, the file and the record written, folders
 * noted, what a killed write left removed, and the refusals. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/configure.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/txn.h"
#include "tap.h"
#include "testutil.h"

#define TEMPLATE "# toy runtime\nname = TEMPLATE\n"

static char *tmp;

static char *P(const char *a, const char *b)
{
	static char buf[4][1024];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", a, b);
	return buf[k];
}

/* The toy runtime: appends "secret = ..." to its base, remembers which base
 * it was given, fails on request. */
struct toy {
	const char *base_kind; /* "template", "existing", "none" */
	char base[256];
	int fail_with;
};

static int toy_render(void *ctx, const char *tmpl, size_t tlen, const char *existing, size_t elen,
		      char **out, size_t *out_len, struct ap_err *err)
{
	struct toy *t = ctx;
	const char *base = existing ? existing : tmpl ? tmpl : "";
	size_t blen = existing ? elen : tmpl ? tlen : 0;
	static const char line[] = "secret = s3cret\n";
	char *buf;

	t->base_kind = existing ? "existing" : tmpl ? "template" : "none";
	snprintf(t->base, sizeof(t->base), "%.*s", (int)blen, base);
	if (t->fail_with)
		return ap_err_set(err, t->fail_with, "line 1: not a toy file");
	buf = malloc(blen + sizeof(line));
	if (!buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	memcpy(buf, base, blen);
	memcpy(buf + blen, line, sizeof(line));
	*out = buf;
	*out_len = blen + sizeof(line) - 1;
	return 0;
}

static int get_payload(void *ctx, const struct ap_component *c, char **path_out, bool *movable,
		       struct ap_err *err)
{
	(void)c;
	(void)movable;
	(void)err;
	*path_out = strdup((const char *)ctx);
	return *path_out ? 0 : AP_E_NOMEM;
}

/* Install release "toy" 1.0 under root: its template component copied to
 * opt/toy/templates/device.conf.in; with_config adds the config section. */
static struct ap_manifest *install(const char *root, bool with_config)
{
	struct ap_txn_opts o = AP_TXN_OPTS_INIT;
	struct ap_txn_release rel = { 0 };
	struct ap_txn_result res = AP_TXN_RESULT_INIT;
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m = NULL;
	char sha[AP_SHA256_HEX], json[2048];
	const char *payload = P(tmp, "device.conf.in");
	int n, rc;

	ap_digest_hex(TEMPLATE, strlen(TEMPLATE), sha);
	n = snprintf(json, sizeof(json),
		     "{\"format\":\"airpack/1\",\"product\":\"toy\",\"version\":\"1.0\","
		     "\"prefix\":\"opt/toy\",%s\"components\":[{\"name\":\"tmpl\",\"file\":"
		     "\"device.conf.in\",\"size\":%zu,\"sha256\":\"%s\",\"install\":{\"action\":"
		     "\"copy\",\"to\":\"templates/device.conf.in\",\"mode\":\"0644\"}}]}\n",
		     with_config ? "\"config\":{\"path\":\"etc/toy/device.conf\",\"template\":"
				   "\"tmpl\"},"
				 : "",
		     strlen(TEMPLATE), sha);
	if (tu_write(payload, TEMPLATE, strlen(TEMPLATE)) != 0 ||
	    ap_manifest_parse(json, (size_t)n, AP_MANIFEST_RELEASE, &m, &err) != 0) {
		printf("Bail out! release: %s\n", err.msg);
		exit(1);
	}
	o.root = root;
	o.run_in = AP_TXN_RUN_HOST;
	rel.m = m;
	rel.manifest_json = json;
	rel.mlen = (size_t)n;
	rel.get_payload = get_payload;
	rel.payload_ctx = (void *)payload;
	rc = ap_txn_install(&rel, &o, &res, &err);
	ap_txn_result_release(&res);
	if (rc != 0) {
		printf("Bail out! install: %s\n", err.msg);
		exit(1);
	}
	return m;
}

static int run(const char *root, const struct ap_manifest *m, struct toy *t,
	       struct ap_configure_result *res, struct ap_err *err)
{
	struct ap_history_kv facts[] = { { "device", "toy-1" }, { "site", NULL } };
	struct ap_configure_hook hook;
	struct ap_receipt *r = NULL;
	int rc;

	memset(&hook, 0, sizeof(hook));
	hook.ctx = t;
	hook.max_bytes = 4096;
	hook.render = toy_render;
	hook.identity = facts;
	hook.n_identity = 2;
	rc = ap_txn_status(root, "toy", &r, err);
	if (rc == 0)
		rc = ap_configure_run(root, m, &r, &hook, res, err);
	ap_receipt_free(r);
	return rc;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;

	return ap_fsx_read_file(path, 1 << 16, &buf, &len, NULL) == 0 ? buf : NULL;
}

static void test_configure(void)
{
	char *root = strdup(P(tmp, "root"));
	struct ap_manifest *m = install(root, true);
	struct ap_configure_result res;
	struct ap_history_record *rec = NULL;
	struct ap_err err = AP_ERR_INIT;
	struct toy t = { NULL, { 0 }, 0 };
	char *conf = strdup(P(root, "etc/toy/device.conf"));
	char sha[AP_SHA256_HEX];
	struct ap_stat st;
	char *text;

	is_int(run(root, m, &t, &res, &err), 0, "configure a fresh install (%s)", err.msg);
	is_str(t.base_kind, "template", "the hook gets the installed template");
	is_str(t.base, TEMPLATE, "as the release shipped it");
	text = slurp(conf);
	is_str(text, TEMPLATE "secret = s3cret\n", "the file is what the hook made");
	ok(ap_fsx_stat(conf, &st, NULL) == 0 && st.type == AP_FT_FILE, "a regular file");
	is_mode(st.mode, 0600, "with the manifest's default mode 0600");
	is_str(res.config_path, "etc/toy/device.conf", "the result names the path");
	ap_digest_hex(text ? text : "", text ? strlen(text) : 0, sha);
	is_str(res.config_sha256, sha, "and the sha256 of the bytes written");
	free(text);
	is_int(ap_history_record_load(root, "toy", &rec, &err), 0, "a record (%s)", err.msg);
	if (rec) {
		is_str(rec->config_sha256, sha, "recording that sha256");
		is_str(ap_history_record_get(rec, "device"), "toy-1", "and the runtime's facts");
		is_int(rec->n_identity, 1, "a fact without a value is not read back");
		is_int(rec->n_created_dirs, 2, "the two folders it made");
		if (rec->n_created_dirs == 2) {
			is_str(rec->created_dirs[0], "etc", "outermost first");
			is_str(rec->created_dirs[1], "etc/toy", "then the file's own");
		}
		ap_history_record_free(rec);
		rec = NULL;
	}

	/* Again, over what a killed write left. */
	tu_write(P(root, "etc/toy/device.conf.tmp-k1LLed"), "secret = old\n", 13);
	tu_write(P(root, "etc/toy/device.conf.tmp-kept"), "x", 1);
	t.base_kind = NULL;
	is_int(run(root, m, &t, &res, &err), 0, "configure again (%s)", err.msg);
	is_str(t.base_kind, "existing", "the hook gets the file that is there");
	is_str(t.base, TEMPLATE "secret = s3cret\n", "as it was");
	ok(!tu_exists(P(root, "etc/toy/device.conf.tmp-k1LLed")),
	   "the temporary file a killed write left is removed");
	ok(tu_exists(P(root, "etc/toy/device.conf.tmp-kept")),
	   "a name that is not such a temporary stays");
	is_int(ap_history_record_load(root, "toy", &rec, &err), 0, "the record again");
	if (rec) {
		is_int(rec->n_created_dirs, 2, "still naming the folders the first run made");
		ap_history_record_free(rec);
		rec = NULL;
	}

	/* The hook blames the file: the message names it, nothing changes. */
	text = slurp(conf);
	t.fail_with = AP_E_STATE;
	is_int(run(root, m, &t, &res, &err), AP_E_STATE, "a hook's AP_E_STATE is passed on");
	contains(err.msg, "etc/toy/device.conf': line 1: not a toy file", "naming the file");
	{
		char *after = slurp(conf);

		is_str(after, text, "the file is left as it was");
		free(after);
	}
	free(text);
	t.fail_with = 0;

	/* No file: the template, which must be the one installed. */
	ap_fsx_unlink(conf, NULL);
	tu_write(P(root, "opt/toy/templates/device.conf.in"), "name = CHANGED\n", 14);
	is_int(run(root, m, &t, &res, &err), AP_E_DIGEST, "a changed template is refused");
	contains(err.msg, "the installed template", "saying so");
	ok(!tu_exists(conf), "and nothing is written");

	/* A folder where the file goes. */
	tu_mkdir(conf);
	is_int(run(root, m, &t, &res, &err), AP_E_STATE, "a folder at the path is refused");
	contains(err.msg, "is not a regular file", "saying so");
	ap_manifest_free(m);
	free(conf);
	free(root);
}

static void test_no_config(void)
{
	char *root = strdup(P(tmp, "bare"));
	struct ap_manifest *m = install(root, false);
	struct ap_configure_result res;
	struct ap_err err = AP_ERR_INIT;
	struct toy t = { NULL, { 0 }, 0 };

	is_int(run(root, m, &t, &res, &err), AP_E_MANIFEST,
	       "a release without a config section is refused");
	contains(err.msg, "declares no device configuration", "saying so");
	ok(t.base_kind == NULL, "before the hook is asked");
	ap_manifest_free(m);
	free(root);
}

int main(void)
{
	tmp = tu_mkdtemp("ap-configure");
	if (!tmp) {
		perror("mkdtemp");
		return 2;
	}
	test_configure();
	test_no_config();
	tu_rm_rf(tmp);
	free(tmp);
	return tap_done();
}
