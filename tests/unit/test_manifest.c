/* test_manifest.c - the manifest model: samples, round trips, and every
 * rejection naming its JSON path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/bounds.h"
#include "airpack/manifest.h"
#include "manifest_dup.h"
#include "tap.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		/* exact size, no NUL: the parser must not read past len */
		buf = malloc(n ? (size_t)n : 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static struct ap_manifest *load(const char *path, enum ap_manifest_kind kind, struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	size_t len = 0;
	char *buf = slurp(path, &len);

	if (!buf) {
		ap_err_set(err, AP_E_IO, "cannot read '%s'", path);
		return NULL;
	}
	if (ap_manifest_parse(buf, len, kind, &m, err) != 0)
		m = NULL;
	free(buf);
	return m;
}

static bool str_eq(const char *a, const char *b)
{
	return (a && b) ? strcmp(a, b) == 0 : a == b;
}

static bool strv_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

static bool component_eq(const struct ap_component *a, const struct ap_component *b)
{
	if (!str_eq(a->name, b->name) || !str_eq(a->file, b->file) ||
	    !strv_eq(a->aliases, a->n_aliases, b->aliases, b->n_aliases) ||
	    !strv_eq(a->urls, a->n_urls, b->urls, b->n_urls) || a->has_size != b->has_size ||
	    a->size != b->size || a->has_sha256 != b->has_sha256 ||
	    (a->has_sha256 && strcmp(a->sha256, b->sha256) != 0) || a->action != b->action ||
	    !str_eq(a->to, b->to) || a->mode != b->mode ||
	    !strv_eq(a->args, a->n_args, b->args, b->n_args) || a->n_ok_codes != b->n_ok_codes)
		return false;
	for (size_t i = 0; i < a->n_ok_codes; i++)
		if (a->ok_codes[i] != b->ok_codes[i])
			return false;
	if (a->n_reboot_codes != b->n_reboot_codes)
		return false;
	for (size_t i = 0; i < a->n_reboot_codes; i++)
		if (a->reboot_codes[i] != b->reboot_codes[i])
			return false;
	if (!a->service || !b->service)
		return !a->service && !b->service;
	return str_eq(a->service->name, b->service->name) &&
	       str_eq(a->service->program, b->service->program) &&
	       str_eq(a->service->description, b->service->description) &&
	       strv_eq(a->service->args, a->service->n_args, b->service->args, b->service->n_args);
}

static bool manifest_eq(const struct ap_manifest *a, const struct ap_manifest *b)
{
	if (!str_eq(a->format, b->format) || !str_eq(a->product, b->product) ||
	    !str_eq(a->version, b->version) || !str_eq(a->channel, b->channel) ||
	    !str_eq(a->platform, b->platform) || !str_eq(a->prefix, b->prefix) ||
	    !str_eq(a->description, b->description) || !str_eq(a->key_id, b->key_id) ||
	    !strv_eq(a->data_dirs, a->n_data_dirs, b->data_dirs, b->n_data_dirs) ||
	    a->has_config != b->has_config || a->n_components != b->n_components)
		return false;
	if (a->has_config &&
	    (!str_eq(a->config.path, b->config.path) ||
	     !str_eq(a->config.template, b->config.template) || a->config.mode != b->config.mode))
		return false;
	for (size_t i = 0; i < a->n_components; i++)
		if (!component_eq(&a->components[i], &b->components[i]))
			return false;
	return true;
}

/* emit m, check the bytes are stable, parse them back and compare. */
static void round_trip(const struct ap_manifest *m, enum ap_manifest_kind kind, const char *what)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *back = NULL, *copy = NULL;
	char *j1 = NULL, *j2 = NULL, *j3 = NULL;
	size_t l1 = 0, l2 = 0, l3 = 0;

	is_int(ap_manifest_emit(m, &j1, &l1, &err), 0, "%s: emit", what);
	is_int(ap_manifest_emit(m, &j2, &l2, &err), 0, "%s: emit again", what);
	ok(j1 && j2 && l1 == l2 && memcmp(j1, j2, l1) == 0, "%s: emit is deterministic", what);
	ok(j1 && l1 == strlen(j1), "%s: length excludes the NUL", what);
	ok(j1 && l1 >= 2 && j1[l1 - 1] == '\n' && j1[l1 - 2] != '\n',
	   "%s: ends with a single newline", what);
	ok(j1 && !strchr(j1, '\t'), "%s: no tabs (2-space indent)", what);
	if (j1) {
		int rc = ap_manifest_parse(j1, l1, kind, &back, &err);
		is_int(rc, 0, "%s: emitted JSON parses back (%s)", what, rc ? err.msg : "ok");
	}
	ok(back && manifest_eq(m, back), "%s: parse(emit(m)) == m", what);
	is_int(tu_manifest_dup(m, &copy, &err), 0, "%s: dup", what);
	ok(copy && manifest_eq(m, copy), "%s: dup is equal", what);
	if (copy)
		is_int(ap_manifest_emit(copy, &j3, &l3, &err), 0, "%s: emit the copy", what);
	ok(j1 && j3 && l1 == l3 && memcmp(j1, j3, l1) == 0, "%s: the copy emits the same bytes",
	   what);
	ap_manifest_free(back);
	ap_manifest_free(copy);
	free(j1);
	free(j2);
	free(j3);
}

/* A canonical manifest file: emit(parse(file)) reproduces the file exactly. */
static void canonical_file(const char *path, const char *what)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m = NULL;
	char *file, *json = NULL;
	size_t flen = 0, jlen = 0;

	file = slurp(path, &flen);
	ok(file != NULL, "%s: read", what);
	if (!file)
		return;
	if (ap_manifest_parse(file, flen, AP_MANIFEST_SOURCE, &m, &err) == 0 &&
	    ap_manifest_emit(m, &json, &jlen, &err) == 0) {
		ok(jlen == flen && memcmp(json, file, flen) == 0,
		   "%s: the committed file is in canonical form", what);
		if (jlen != flen || memcmp(json, file, flen) != 0)
			printf("# emitted:\n%s", json);
	} else {
		ok(0, "%s: parse and emit: %s", what, err.msg);
	}
	ap_manifest_free(m);
	free(json);
	free(file);
}

static void test_samples(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m;
	const struct ap_component *c;

	m = load(SRCDIR "/manifests/sample-release.json", AP_MANIFEST_SOURCE, &err);
	ok(m != NULL, "sample-release.json parses as a source manifest (%s)", m ? "ok" : err.msg);
	if (m) {
		is_str(m->format, "airpack/1", "sample: format");
		is_str(m->product, "sample-edge", "sample: product");
		is_str(m->version, "1.1.0", "sample: version");
		is_str(m->channel, "lts", "sample: channel");
		is_str(m->platform, "linux-amd64", "sample: platform");
		is_str(m->prefix, "opt/sample-edge", "sample: prefix");
		is_int(m->n_data_dirs, 1, "sample: one data dir");
		is_str(m->n_data_dirs ? m->data_dirs[0] : NULL, "var/lib/sample-edge/moby",
		       "sample: data dir");
		ok(m->has_config, "sample: has config");
		is_str(m->config.path, "etc/sample-edge/config.yaml", "sample: config path");
		is_str(m->config.template, "config-template", "sample: config template");
		is_int(m->config.mode, 0600, "sample: config mode");
		is_int(m->n_components, 4, "sample: four components");

		c = ap_manifest_find(m, "security-daemon");
		ok(c && c == &m->components[0], "sample: find security-daemon");
		if (c) {
			is_str(c->file, "iotedge-daemon.cab", "sample: daemon file");
			is_int(c->n_aliases, 1, "sample: daemon has one alias");
			is_str(c->aliases[0], "iotedge-daemon-amd64.cab", "sample: daemon alias");
			is_int(c->action, AP_ACTION_EXTRACT, "sample: daemon is extracted");
			is_str(ap_manifest_component_dest(c), "daemon",
			       "sample: daemon goes to daemon/");
			ok(!c->has_size && !c->has_sha256,
			   "sample: daemon has no pinned size/hash");
		}
		c = ap_manifest_find(m, "config-template");
		ok(c != NULL, "sample: find config-template");
		if (c) {
			is_int(c->action, AP_ACTION_COPY, "sample: template is copied");
			is_int(c->mode, 0644, "sample: template mode 0644");
			is_str(ap_manifest_component_dest(c), "templates/config.template.yaml",
			       "sample: template destination");
		}
		c = ap_manifest_find(m, "install-check");
		ok(c != NULL, "sample: find install-check");
		if (c) {
			is_int(c->action, AP_ACTION_RUN, "sample: install-check runs");
			is_int(c->mode, 0755, "sample: run mode 0755");
			is_str(ap_manifest_component_dest(c), "install-check.sh",
			       "sample: run destination defaults to the file name");
			is_int(c->n_args, 4, "sample: four args");
			if (c->n_args == 4) {
				is_str(c->args[0], "--require", "sample: arg 0");
				is_str(c->args[1], "daemon/iotedged.exe", "sample: arg 1");
			}
			is_int(c->n_ok_codes, 1, "sample: one ok code");
			is_int(c->n_ok_codes ? c->ok_codes[0] : -1, 0, "sample: ok code 0");
		}
		ok(ap_manifest_find(m, "nope") == NULL, "sample: find unknown gives NULL");
		is_int(ap_manifest_total_size(m), 0, "sample: total size of unsized components");
		round_trip(m, AP_MANIFEST_SOURCE, "sample");
		ap_manifest_free(m);
	}

	m = load(SRCDIR "/manifests/sample-release.json", AP_MANIFEST_RELEASE, &err);
	ok(m == NULL, "sample-release.json is not a release manifest");
	is_int(err.code, AP_E_MANIFEST, "sample as release: manifest error");
	is_str(err.msg, "components[0].size: required in a release manifest",
	       "sample as release: names the first missing size");
	ap_manifest_free(m);

	m = load(SRCDIR "/manifests/azure-iot-edge-1.1.json", AP_MANIFEST_SOURCE, &err);
	ok(m != NULL, "azure-iot-edge-1.1.json parses as a source manifest (%s)",
	   m ? "ok" : err.msg);
	if (m) {
		is_str(m->product, "azure-iot-edge", "azure: product");
		is_str(m->platform, "windows-amd64", "azure: platform");
		is_str(m->prefix, "Program Files/iotedge", "azure: prefix with a space");
		c = ap_manifest_find(m, "vc-runtime");
		ok(c != NULL, "azure: find vc-runtime");
		if (c) {
			is_int(c->action, AP_ACTION_RUN, "azure: vc-runtime runs");
			is_int(c->n_args, 3, "azure: vc-runtime args");
			is_int(c->n_ok_codes, 2, "azure: vc-runtime ok codes");
			if (c->n_ok_codes == 2)
				ok(c->ok_codes[0] == 0 && c->ok_codes[1] == 1638,
				   "azure: vc-runtime ok codes are 0 and 1638");
			is_int(c->n_reboot_codes, 2, "azure: vc-runtime reboot codes");
			if (c->n_reboot_codes == 2)
				ok(c->reboot_codes[0] == 3010 && c->reboot_codes[1] == 1641,
				   "azure: vc-runtime reboot codes are 3010 and 1641");
		}
		c = ap_manifest_find(m, "security-daemon");
		ok(c && c->n_urls == 1 && strstr(c->urls[0], "/1.1.13/"),
		   "azure: daemon url is pinned to the release");
		is_str(c ? ap_manifest_component_dest(c) : NULL, "",
		       "azure: daemon extracts to the prefix");
		ok(c && !c->optional && c->service && strcmp(c->service->name, "iotedge") == 0 &&
			   strcmp(c->service->program, "iotedged.exe") == 0,
		   "azure: the daemon is required and registers the iotedge service");
		c = ap_manifest_find(m, "deploy-script");
		ok(c && strcmp(c->file, "IoTEdgeSecurityDaemon.ps1") == 0 &&
			   c->action == AP_ACTION_COPY && !c->optional,
		   "azure: IoTEdgeSecurityDaemon.ps1 is a required copy component");
		c = ap_manifest_find(m, "moby-engine");
		ok(c && c->optional, "azure: moby-engine is optional");
		c = ap_manifest_find(m, "moby-cli");
		ok(c && c->optional, "azure: moby-cli is optional");
		is_str(m->config.template, "config-template",
		       "azure: the config template component");
		c = ap_manifest_find(m, "config-template");
		is_str(c ? c->file : NULL, "config.template.yaml", "azure: the template's file");
		round_trip(m, AP_MANIFEST_SOURCE, "azure");
		ap_manifest_free(m);
	}

	canonical_file(SRCDIR "/manifests/sample-release.json", "sample-release.json");
	canonical_file(SRCDIR "/manifests/azure-iot-edge-1.1.json", "azure-iot-edge-1.1.json");
}

static void test_release_fixture(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m;
	char *json = NULL;
	size_t len = 0;

	m = load(TEST_DATA "/manifests/good/release.json", AP_MANIFEST_RELEASE, &err);
	ok(m != NULL, "good/release.json parses as a release manifest (%s)", m ? "ok" : err.msg);
	if (!m)
		return;
	is_str(m->version, "10.2.0-rc.1", "release: version with suffix");
	is_str(m->key_id, "0123456789abcdef", "release: key id");
	is_str(m->description,
	       "\xc3\x9cn\xc3\xaf"
	       "code\nand \"escapes\" \\ and / slashes",
	       "release: description unescaped");
	is_str(m->components[0].sha256,
	       "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
	       "release: sha256 stored lowercase");
	ok(m->components[0].size == 1000000000000000ULL, "release: size 1e15 exact");
	ok(m->components[1].size == 9007199254740991ULL, "release: size 2^53-1 exact");
	ok(m->components[2].has_size && m->components[2].size == 0, "release: size 0 kept");
	ok(ap_manifest_total_size(m) == 1000000000000000ULL + 9007199254740991ULL,
	   "release: total size");
	is_int(m->components[0].n_ok_codes, 3, "release: three ok codes");
	is_int(m->components[0].ok_codes[1], -1073741819, "release: negative ok code");
	is_str(m->components[0].args[2], "tab\there", "release: arg with a tab");
	ok(m->components[1].to == NULL, "release: extract to \"\" is stored as NULL");
	is_str(ap_manifest_component_dest(&m->components[1]), "",
	       "release: extract dest is the prefix");
	is_int(m->components[2].mode, 0640, "release: three-digit mode 640");
	is_str(ap_manifest_component_dest(&m->components[2]), "empty.txt",
	       "release: copy dest defaults to the file name");
	is_str(m->components[1].file,
	       "donn\xc3\xa9"
	       "es.tar.gz",
	       "release: UTF-8 file name");
	is_int(m->config.mode, 0600, "release: config mode defaults to 0600");
	is_str(ap_manifest_action_name(AP_ACTION_EXTRACT), "extract", "action name extract");
	is_str(ap_manifest_action_name(AP_ACTION_COPY), "copy", "action name copy");
	is_str(ap_manifest_action_name(AP_ACTION_RUN), "run", "action name run");

	if (ap_manifest_emit(m, &json, &len, &err) == 0) {
		const char *fmt = strstr(json, "\"format\"");
		const char *comp = strstr(json, "\"components\"");
		const char *key = strstr(json, "\"key_id\"");
		const char *prefix = strstr(json, "\"prefix\"");

		contains(json, "\"size\": 1000000000000000,", "emit: 1e15 as an integer");
		contains(json, "\"size\": 9007199254740991,", "emit: 2^53-1 as an integer");
		contains(json, "\"size\": 0,", "emit: size 0");
		contains(json, "\"mode\": \"0640\"", "emit: mode as 4 octal digits");
		contains(json, "\"ok_exit_codes\": [\n", "emit: arrays indented");
		contains(json, "-1073741819", "emit: negative exit code");
		contains(json, "\"sha256\": \"abcdef", "emit: lowercase sha256");
		ok(strncmp(json, "{\n  \"format\": \"airpack/1\",\n  \"product\": \"x\",\n", 44) ==
			   0,
		   "emit: starts with format then product, 2-space indent");
		ok(fmt && prefix && key && comp && fmt < prefix && prefix < key && key < comp,
		   "emit: fixed key order format < prefix < key_id < components");
		ok(!strstr(json, "\"to\": \"\""), "emit: empty extract destination omitted");
		contains(json, "\"tab\\there\"", "emit: tab escaped inside a string");
	} else {
		ok(0, "emit release: %s", err.msg);
	}
	free(json);
	round_trip(m, AP_MANIFEST_RELEASE, "release");
	ap_manifest_free(m);
}

struct bad_case {
	const char *file;
	enum ap_manifest_kind kind;
	const char *prefix;   /* the message starts with this (the JSON path) */
	const char *fragment; /* and contains this */
};

static const struct bad_case bad_cases[] = {
	{ "01-wrong-format", AP_MANIFEST_SOURCE,
	  "format: ", "expected \"airpack/1\", got \"airpack/2\"" },
	{ "02-missing-product", AP_MANIFEST_SOURCE, "product: ", "required field is missing" },
	{ "03-unsafe-product", AP_MANIFEST_SOURCE, "product: ", "unsafe name \"../evil\"" },
	{ "04-bad-version", AP_MANIFEST_SOURCE,
	  "version: ", "expected a version like 1.1.13, got \"latest!\"" },
	{ "05-prefix-absolute", AP_MANIFEST_SOURCE,
	  "prefix: ", "unsafe relative path \"/opt/fixture\" (must be relative" },
	{ "06-prefix-dotdot", AP_MANIFEST_SOURCE,
	  "prefix: ", "unsafe relative path \"opt/../etc\" (no '.' or '..' parts)" },
	{ "07-empty-components", AP_MANIFEST_SOURCE, "components: ", "expected a non-empty array" },
	{ "08-component-missing-name", AP_MANIFEST_SOURCE,
	  "components[1].name: ", "required field is missing" },
	{ "09-duplicate-names", AP_MANIFEST_SOURCE,
	  "components[1].name: ", "duplicate of components[0].name \"moby-cli\"" },
	{ "10-duplicate-files", AP_MANIFEST_SOURCE,
	  "components[1].file: ", "duplicate of components[0].file \"a.zip\"" },
	{ "11-alias-collides-file", AP_MANIFEST_SOURCE,
	  "components[1].aliases[0]: ", "duplicate of components[0].file \"a.zip\"" },
	{ "12-file-collides-alias", AP_MANIFEST_SOURCE,
	  "components[1].file: ", "duplicate of components[0].aliases[0] \"a-amd64.zip\"" },
	{ "13-file-with-slash", AP_MANIFEST_SOURCE, "components[0].file: ",
	  "unsafe file name \"../x.cab\" (no '/', '\\', '..', control characters)" },
	{ "14-file-with-backslash", AP_MANIFEST_SOURCE,
	  "components[0].file: ", "unsafe file name \"..\\\\x.cab\"" },
	{ "15-file-with-control-char", AP_MANIFEST_SOURCE,
	  "components[0].file: ", "unsafe file name \"a\\u0001b.cab\"" },
	{ "16-file-dotdot", AP_MANIFEST_SOURCE, "components[0].file: ", "unsafe file name \"..\"" },
	{ "17-sha256-63-digits", AP_MANIFEST_SOURCE,
	  "components[2].sha256: ", "expected 64 hex digits, got 63" },
	{ "18-sha256-non-hex", AP_MANIFEST_SOURCE, "components[2].sha256: ",
	  "expected 64 hex digits, got a non-hex character at position 64" },
	{ "19-size-negative", AP_MANIFEST_SOURCE,
	  "components[2].size: ", "expected a non-negative integer, got -1" },
	{ "20-size-fractional", AP_MANIFEST_SOURCE,
	  "components[2].size: ", "expected a non-negative integer, got 1.5" },
	{ "21-unknown-top-field", AP_MANIFEST_SOURCE, "unknown field \"signature\"", "" },
	{ "22-unknown-component-field", AP_MANIFEST_SOURCE,
	  "components[3]: ", "unknown field \"sha1\"" },
	{ "23-unknown-install-field", AP_MANIFEST_SOURCE,
	  "components[0].install: ", "unknown field \"dest\"" },
	{ "24-bad-action", AP_MANIFEST_SOURCE,
	  "components[0].install.action: ", "expected one of extract, copy, run, got \"unpack\"" },
	{ "25-args-on-extract", AP_MANIFEST_SOURCE,
	  "components[0].install.args: ", "only allowed with action \"run\", got \"extract\"" },
	{ "26-mode-not-octal", AP_MANIFEST_SOURCE, "components[2].install.mode: ",
	  "expected an octal mode like \"0755\" (at most 0777), got \"0789\"" },
	{ "27-url-ftp", AP_MANIFEST_SOURCE, "components[0].urls[0]: ",
	  "expected an http://, https:// or file:// url, got \"ftp://example.com/a.zip\"" },
	{ "28-release-missing-sha256", AP_MANIFEST_RELEASE,
	  "components[1].sha256: ", "required in a release manifest" },
	{ "29-config-template-unknown", AP_MANIFEST_SOURCE,
	  "config.template: ", "got \"nope\" (no component has that name)" },
	{ "30-syntax-error", AP_MANIFEST_SOURCE,
	  "syntax error at line 4, column 23 (byte 73) near ", "2.0.1\\\",,\": not valid JSON" },
	{ "31-trailing-data", AP_MANIFEST_SOURCE, "syntax error at line 2, column 1",
	  "unexpected data after the JSON object" },
	{ "32-duplicate-key", AP_MANIFEST_SOURCE, "components[1]: ", "duplicate field \"name\"" },
	{ "33-nul-escape", AP_MANIFEST_SOURCE, "syntax error at line 1",
	  "\\u0000 is not allowed in strings" },
	{ "34-mode-setuid", AP_MANIFEST_SOURCE,
	  "components[2].install.mode: ", "(at most 0777), got \"4755\"" },
	{ "35-size-too-big", AP_MANIFEST_SOURCE, "components[2].size: ",
	  "expected an integer at most 9007199254740991, got 9007199254740992" },
	{ "36-product-not-string", AP_MANIFEST_SOURCE,
	  "product: ", "expected a string, got a number" },
	{ "37-top-level-array", AP_MANIFEST_SOURCE,
	  "expected a JSON object at the top level, got an array", "" },
	{ "38-key-id-uppercase", AP_MANIFEST_SOURCE,
	  "key_id: ", "expected 16 lowercase hex digits, got \"ABCDEF0123456789\"" },
	{ "39-run-empty-ok-codes", AP_MANIFEST_SOURCE,
	  "components[3].install.ok_exit_codes: ", "expected a non-empty array of integers" },
	{ "40-copy-empty-to", AP_MANIFEST_SOURCE,
	  "components[2].install.to: ", "unsafe relative path \"\" (must not be empty)" },
	{ "41-file-case-duplicate", AP_MANIFEST_SOURCE,
	  "components[1].file: ", "duplicate of components[0].file \"a.zip\"" },
	{ "42-invalid-utf8", AP_MANIFEST_SOURCE, "syntax error at line 1", "invalid UTF-8" },
	{ "43-data-dir-trailing-slash", AP_MANIFEST_SOURCE,
	  "data_dirs[0]: ", "unsafe relative path \"var/lib/fixture/\" (no empty parts" },
	{ "44-mode-on-extract", AP_MANIFEST_SOURCE, "components[1].install.mode: ",
	  "only allowed with action \"copy\" or \"run\", got \"extract\"" },
	{ "45-ok-code-fractional", AP_MANIFEST_SOURCE,
	  "components[3].install.ok_exit_codes[1]: ", "got 2.5" },
	{ "46-missing-install", AP_MANIFEST_SOURCE,
	  "components[1].install: ", "required field is missing" },
	{ "47-component-not-object", AP_MANIFEST_SOURCE,
	  "components[4]: ", "expected an object, got a string" },
	{ "48-control-char-raw", AP_MANIFEST_SOURCE, "syntax error at line 1",
	  "control character inside a string" },
	{ "49-version-too-long", AP_MANIFEST_SOURCE,
	  "version: ", "expected a version like 1.1.13, got \"1.000" },
	{ "50-channel-unsafe", AP_MANIFEST_SOURCE, "channel: ", "unsafe name \"lts/edge\"" },
	{ "51-ok-codes-on-copy", AP_MANIFEST_SOURCE, "components[2].install.ok_exit_codes: ",
	  "only allowed with action \"run\", got \"copy\"" },
	{ "52-aliases-not-array", AP_MANIFEST_SOURCE,
	  "components[0].aliases: ", "expected an array of strings, got a string" },
	{ "53-config-missing-path", AP_MANIFEST_SOURCE,
	  "config.path: ", "required field is missing" },
	{ "54-empty-document", AP_MANIFEST_SOURCE, "expected a JSON object, got an empty document",
	  "" },
	{ "55-truncated", AP_MANIFEST_SOURCE, "syntax error at line", "not valid JSON" },
	{ "56-url-with-space", AP_MANIFEST_SOURCE,
	  "components[0].urls[0]: ", "got \"https://example.com/a b.zip\"" },
	{ "57-size-huge", AP_MANIFEST_SOURCE, "components[2].size: ",
	  "expected an integer at most 9007199254740991, got 1.0000000000000001e+300" },
	{ "70-data-dir-etc", AP_MANIFEST_SOURCE,
	  "data_dirs[1]: ", "\"etc\" is a top-level folder: uninstall --purge would remove it" },
	{ "71-data-dir-opt", AP_MANIFEST_SOURCE,
	  "data_dirs[1]: ", "\"opt\" is a top-level folder" },
	{ "72-data-dir-airpack-log", AP_MANIFEST_SOURCE, "data_dirs[1]: ",
	  "\"var/log/airpack\" is, holds or lies in one of airpack's own folders" },
	{ "73-data-dir-var-lib", AP_MANIFEST_SOURCE,
	  "data_dirs[1]: ", "\"var/lib\" is a system folder" },
	{ "74-data-dir-windows-case", AP_MANIFEST_SOURCE,
	  "data_dirs[1]: ", "\"programdata/Microsoft.\" is a system folder" },
	{ "75-data-dir-holds-prefix", AP_MANIFEST_SOURCE,
	  "data_dirs[1]: ", "\"opt/fixture\" is or holds the release's prefix" },
	{ "76-data-dir-in-airpack-state", AP_MANIFEST_SOURCE,
	  "data_dirs[1]: ", "one of airpack's own folders" },
	{ "77-config-etc-passwd", AP_MANIFEST_SOURCE,
	  "config.path: ", "\"etc/passwd\" is a file directly in a system folder" },
	{ "78-config-airpack-state", AP_MANIFEST_SOURCE,
	  "config.path: ", "one of airpack's own folders" },
	{ "79-config-top-level", AP_MANIFEST_SOURCE,
	  "config.path: ", "\"config.yaml\" is a file at the top of the root" },
	{ "80-config-usr-bin", AP_MANIFEST_SOURCE,
	  "config.path: ", "\"usr/bin/fixture\" is a file directly in a system folder" },
};

static void test_bad(void)
{
	char path[512];
	size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);

	ok(n >= 20, "at least 20 invalid manifests (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		const struct bad_case *b = &bad_cases[i];
		struct ap_err err = AP_ERR_INIT;
		struct ap_manifest *m = (struct ap_manifest *)&err; /* must stay untouched */
		size_t len = 0;
		char *buf;
		int rc;

		snprintf(path, sizeof(path), "%s/manifests/bad/%s.json", TEST_DATA, b->file);
		buf = slurp(path, &len);
		ok(buf != NULL, "%s: read fixture", b->file);
		if (!buf)
			continue;
		rc = ap_manifest_parse(buf, len, b->kind, &m, &err);
		is_int(rc, AP_E_MANIFEST, "%s: rejected as a manifest error", b->file);
		ok(m == (struct ap_manifest *)&err, "%s: out not written on failure", b->file);
		if (!ok(strncmp(err.msg, b->prefix, strlen(b->prefix)) == 0,
			"%s: message starts with '%s'", b->file, b->prefix))
			printf("#   got '%s'\n", err.msg);
		contains(err.msg, b->fragment, "%s: message says '%s'", b->file, b->fragment);
		if (rc == 0 && m != (struct ap_manifest *)&err)
			ap_manifest_free(m);
		free(buf);
	}
}

static void test_bounds(void)
{
	static const struct {
		const char *rel;
		bool system;
	} dirs[] = {
		{ "etc", true },
		{ "ETC", true },
		{ "opt", true },
		{ "usr/lib64", true },
		{ "usr/local/lib", true },
		{ "var/lib", true },
		{ "var/log", true },
		{ "etc/ssh", true },
		{ "home/alice", true },
		{ "Windows/System32", true },
		{ "windows. /system32", true },
		{ "Users/Public", true },
		{ "ProgramData/Microsoft", true },
		{ "var/lib/sample-edge", false },
		{ "var/lib/sample-edge/moby", false },
		{ "ProgramData/iotedge-moby", false },
		{ "opt/other-vendor/data", false },
		{ "usr/library-data/x", false },
		{ "srv/www/app", false },
	};
	static const struct {
		const char *rel;
		bool ok;
	} configs[] = {
		{ "etc/sample-edge/config.yaml", true },
		{ "ProgramData/iotedge/config.yaml", true },
		{ "etc/x/config.yaml", true },
		{ "opt/app/etc/config.yaml", true },
		{ "etc/passwd", false },
		{ "etc/shadow", false },
		{ "config.yaml", false },
		{ "usr/lib/x.conf", false },
		{ "var/log/airpack/history.jsonl", false },
		{ "VAR/Cache/AirPack/x/y", false },
		{ "home/alice/.profile", false },
		{ "etc/ssh", false },
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		ok(ap_bounds_is_system_dir(dirs[i].rel) == dirs[i].system,
		   "'%s' is %sa system folder", dirs[i].rel, dirs[i].system ? "" : "not ");
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		ok((ap_bounds_config_path_problem(configs[i].rel) == NULL) == configs[i].ok,
		   "config.path '%s' is %s", configs[i].rel, configs[i].ok ? "allowed" : "refused");
	ok(ap_bounds_overlap("var/lib/x", "var/lib/x/y") && ap_bounds_overlap("a/b", "A/B.") &&
		   !ap_bounds_overlap("var/lib/x", "var/lib/xy") &&
		   ap_bounds_within("a/b/c", "a/b") && !ap_bounds_within("a/b", "a/b/c") &&
		   ap_bounds_same("Opt/X ", "opt/x"),
	   "overlap, within and same compare parts, ignoring case and trailing dots and spaces");
	ok(ap_bounds_data_dir_problem("opt/demo/data", "opt/demo") == NULL,
	   "a data folder inside the release's own prefix is allowed");
	ok(ap_bounds_data_dir_problem("opt/demo", "opt/demo/app") != NULL,
	   "a data folder holding the prefix is refused");
	ok(ap_bounds_airpack_overlap("var/cache/airpack/x") != NULL &&
		   ap_bounds_airpack_overlap("var/cache/airpackx") == NULL,
	   "airpack's own folders and what is in them");
}

static void test_base_is_valid(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m;

	/* every bad fixture is this file with one defect */
	m = load(TEST_DATA "/manifests/good/base.json", AP_MANIFEST_SOURCE, &err);
	ok(m != NULL, "good/base.json parses (%s)", m ? "ok" : err.msg);
	if (m) {
		is_int(m->components[3].n_ok_codes, 2, "base: two ok codes");
		round_trip(m, AP_MANIFEST_SOURCE, "base");
	}
	ap_manifest_free(m);
}

/* Every prefix of a valid manifest must fail cleanly (ASan watches). */
static void test_truncations(void)
{
	struct ap_err err = AP_ERR_INIT;
	size_t len = 0, failed = 0, syntax = 0;
	char *buf = slurp(TEST_DATA "/manifests/good/release.json", &len);

	ok(buf != NULL, "read release.json for truncation");
	if (!buf)
		return;
	for (size_t n = 0; n < len - 1; n++) {
		struct ap_manifest *m = NULL;
		char *cut = malloc(n ? n : 1);

		if (!cut)
			break;
		memcpy(cut, buf, n);
		if (ap_manifest_parse(cut, n, AP_MANIFEST_RELEASE, &m, &err) != 0)
			failed++;
		else
			ap_manifest_free(m);
		if (strstr(err.msg, "syntax error") || strstr(err.msg, "empty document") ||
		    strstr(err.msg, "invalid UTF-8"))
			syntax++;
		free(cut);
	}
	is_int(failed, len - 1, "every truncation of release.json is rejected");
	is_int(syntax, len - 1, "every truncation is reported as a syntax problem");
	free(buf);
}

static void test_validate_model(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m, *c = NULL;
	char *json = (char *)"untouched";
	char *saved;

	m = load(TEST_DATA "/manifests/good/release.json", AP_MANIFEST_RELEASE, &err);
	if (!ok(m != NULL, "validate: load release.json"))
		return;
	is_int(ap_manifest_validate(m, AP_MANIFEST_RELEASE, &err), 0, "validate: valid model");

	tu_manifest_dup(m, &c, &err);
	c->components[0].sha256[3] = 'D';
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: uppercase sha256 in the model");
	contains(err.msg, "components[0].sha256: expected 64 lowercase hex digits",
		 "validate: names the sha256");
	is_int(ap_manifest_emit(c, &json, NULL, &err), AP_E_MANIFEST,
	       "emit refuses an invalid model");
	contains(err.msg, "refusing to emit an invalid manifest: components[0].sha256",
		 "emit says why");
	is_str(json, "untouched", "emit leaves *json alone on failure");
	c->components[0].sha256[3] = 'd';

	c->components[2].mode = 04755;
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: setuid mode");
	is_str(err.msg, "components[2].install.mode: expected a mode of at most 0777, got 4755",
	       "validate: mode message");
	c->components[2].mode = 0640;

	c->components[2].has_size = false;
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), 0,
	       "validate: source may leave size out");
	is_int(ap_manifest_validate(c, AP_MANIFEST_RELEASE, &err), AP_E_MANIFEST,
	       "validate: release may not");
	is_str(err.msg, "components[2].size: required in a release manifest",
	       "validate: release size message");
	c->components[2].has_size = true;

	c->components[2].size = 9007199254740992ULL;
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: size above 2^53-1");
	c->components[2].size = 0;

	c->components[0].action = AP_ACTION_COPY;
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: args on a copy");
	is_str(err.msg,
	       "components[0].install.args: only allowed with action \"run\", got \"copy\"",
	       "validate: args message");
	c->components[0].action = AP_ACTION_RUN;

	saved = c->components[1].aliases[1];
	c->components[1].aliases[1] = (char *)"Setup Tool.EXE";
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: alias equal to another file ignoring case");
	is_str(err.msg,
	       "components[1].aliases[1]: duplicate of components[0].file "
	       "\"Setup Tool.exe\"",
	       "validate: duplicate alias message");
	c->components[1].aliases[1] = saved;

	saved = c->config.template;
	c->config.template = (char *)"gone";
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: config template must exist");
	c->config.template = saved;

	saved = c->version;
	c->version = (char *)"1..2";
	is_int(ap_manifest_validate(c, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
	       "validate: version 1..2");
	is_str(err.msg, "version: expected a version like 1.1.13, got \"1..2\"",
	       "validate: version message");
	c->version = saved;

	is_int(ap_manifest_validate(c, AP_MANIFEST_RELEASE, &err), 0,
	       "validate: restored copy is valid again");
	ok(manifest_eq(m, c), "validate: restored copy equals the original");
	is_int(ap_manifest_validate(NULL, AP_MANIFEST_SOURCE, &err), AP_E_USAGE,
	       "validate: NULL is a usage error");
	ap_manifest_free(c);
	ap_manifest_free(m);
	ap_manifest_free(NULL);
}

static void test_inline(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m = NULL;
	static const char good[] = "{\"format\":\"airpack/1\",\"product\":\"p\",\"version\":\"1\","
				   "\"prefix\":\"p\",\"components\":[{\"name\":\"n\",\"file\":"
				   "\"f\",\"install\":{\"action\":\"copy\"}}]}GARBAGE";
	size_t len = strlen(good) - strlen("GARBAGE");

	/* only the first len bytes count: the rest is never looked at */
	is_int(ap_manifest_parse(good, len, AP_MANIFEST_SOURCE, &m, &err), 0,
	       "parse honours len (%s)", err.msg);
	if (m) {
		is_int(m->components[0].mode, 0644, "copy mode defaults to 0644");
		is_str(ap_manifest_component_dest(&m->components[0]), "f",
		       "copy dest defaults to file");
		ok(!m->has_config, "no config");
	}
	ap_manifest_free(m);
	m = NULL;
	is_int(ap_manifest_parse(good, len + 1, AP_MANIFEST_SOURCE, &m, &err), AP_E_MANIFEST,
	       "one byte more is trailing data");
	contains(err.msg, "(byte 130) near \"\\\"copy\\\"}}]}G\": unexpected data",
		 "trailing data is quoted");
	is_int(ap_manifest_parse(NULL, 0, AP_MANIFEST_SOURCE, &m, &err), AP_E_USAGE,
	       "NULL bytes are a usage error");
	is_int(ap_manifest_parse(good, len, AP_MANIFEST_SOURCE, &m, NULL), 0, "err may be NULL");
	ap_manifest_free(m);
	m = NULL;
	is_int(ap_manifest_parse("[]", 2, AP_MANIFEST_SOURCE, &m, NULL), AP_E_MANIFEST,
	       "err may be NULL on failure");
}

/* install.expanded: parsed, emitted, copied; only for extract; both
 * fields required, non-negative integers. */
static void test_expanded(void)
{
	static const char head[] = "{\"format\":\"airpack/1\",\"product\":\"p\",\"version\":\"1\","
				   "\"prefix\":\"p\",\"components\":[{\"name\":\"n\",\"file\":"
				   "\"f\",\"install\":";
	static const struct {
		const char *install;
		const char *fragment; /* NULL: valid */
	} cases[] = {
		{ "{\"action\":\"extract\",\"expanded\":{\"size\":3221225472,\"files\":7}}", NULL },
		{ "{\"action\":\"copy\",\"expanded\":{\"size\":1,\"files\":1}}",
		  "components[0].install.expanded: only allowed with action \"extract\"" },
		{ "{\"action\":\"extract\",\"expanded\":{\"size\":1}}",
		  "components[0].install.expanded.files: required field is missing" },
		{ "{\"action\":\"extract\",\"expanded\":{\"files\":1}}",
		  "components[0].install.expanded.size: required field is missing" },
		{ "{\"action\":\"extract\",\"expanded\":{\"size\":-1,\"files\":1}}",
		  "expected a non-negative integer" },
		{ "{\"action\":\"extract\",\"expanded\":{\"size\":1,\"files\":1,\"ratio\":2}}",
		  "ratio" },
		{ "{\"action\":\"extract\",\"expanded\":7}",
		  "expected an object with size and files" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ap_err err = AP_ERR_INIT;
		struct ap_manifest *m = NULL, *back = NULL, *dup = NULL;
		char buf[1024], *json = NULL;
		size_t len = 0;
		int rc;

		snprintf(buf, sizeof(buf), "%s%s}]}", head, cases[i].install);
		rc = ap_manifest_parse(buf, strlen(buf), AP_MANIFEST_SOURCE, &m, &err);
		if (cases[i].fragment) {
			is_int(rc, AP_E_MANIFEST, "expanded case %zu refused", i);
			contains(err.msg, cases[i].fragment, "expanded case %zu names it", i);
			continue;
		}
		is_int(rc, 0, "expanded parses (%s)", err.msg);
		if (rc)
			continue;
		ok(m->components[0].has_expanded, "expanded: present");
		ok(m->components[0].expanded_size == 3221225472ull, "expanded: size past 32 bits");
		ok(m->components[0].expanded_files == 7, "expanded: files");
		is_int(ap_manifest_emit(m, &json, &len, &err), 0, "expanded: emitted");
		contains(json, "\"expanded\": {", "expanded: in the emitted manifest");
		is_int(ap_manifest_parse(json, len, AP_MANIFEST_SOURCE, &back, &err), 0,
		       "expanded: the emitted manifest parses back");
		ok(back && back->components[0].has_expanded &&
			   back->components[0].expanded_size == 3221225472ull &&
			   back->components[0].expanded_files == 7,
		   "expanded: round trip keeps both figures");
		is_int(tu_manifest_dup(m, &dup, &err), 0, "expanded: duplicated");
		ok(dup && dup->components[0].expanded_files == 7, "expanded: the copy keeps it");
		m->components[0].action = AP_ACTION_COPY;
		is_int(ap_manifest_validate(m, AP_MANIFEST_SOURCE, &err), AP_E_MANIFEST,
		       "expanded: the validator refuses it on a copy component");
		free(json);
		ap_manifest_free(m);
		ap_manifest_free(back);
		ap_manifest_free(dup);
	}
}

static void test_versions(void)
{
	static const struct {
		const char *a, *b;
		int want;
	} cmp[] = {
		{ "1.0.0", "1.1.0", -1 },
		{ "1.10.0", "1.9.9", 1 },
		{ "1.0.0-rc1", "1.0.0", -1 },
		{ "1.1.13", "1.1.13", 0 },
		{ "2", "1.9", 1 },
		{ "1.0", "1.0.0", 0 },
		{ "1.0.0-rc.2", "1.0.0-rc.10", -1 },
		{ "1.0.0-alpha", "1.0.0-beta", -1 },
		{ "1.0.0-1", "1.0.0-alpha", -1 },
		{ "1.0.0-rc1", "1.0.0-rc1.1", -1 },
		{ "010.0", "9.0", 1 },
		{ "1.1.13", "1.1.9", 1 },
		{ "99999999999999999999999.1", "99999999999999999999998.9", 1 },
		{ "1.1.0", "1.1.0-rc1", 1 },
	};
	static const struct {
		const char *v;
		bool valid;
	} valid[] = {
		{ "1.1.13", true },	{ "1", true },	       { "1.0.0-rc1", true },
		{ "2.0-rc.1.2", true }, { "latest!", false },  { "", false },
		{ "1.", false },	{ ".1", false },       { "1..2", false },
		{ "1.0-", false },	{ "1.0-rc_1", false }, { "v1.0", false },
		{ "1.0 ", false },	{ "1.0-rc-1", false },
	};
	char longv[80];

	for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++) {
		int got = ap_manifest_version_cmp(cmp[i].a, cmp[i].b);
		int back = ap_manifest_version_cmp(cmp[i].b, cmp[i].a);
		got = got < 0 ? -1 : got > 0;
		back = back < 0 ? -1 : back > 0;
		is_int(got, cmp[i].want, "version_cmp(%s, %s)", cmp[i].a, cmp[i].b);
		is_int(back, -cmp[i].want, "version_cmp(%s, %s) is antisymmetric", cmp[i].b,
		       cmp[i].a);
	}
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		is_int(ap_manifest_version_valid(valid[i].v), valid[i].valid,
		       "version_valid(\"%s\")", valid[i].v);
	memset(longv, '1', 64);
	longv[64] = '\0';
	ok(ap_manifest_version_valid(longv), "a 64-character version is valid");
	longv[64] = '1';
	longv[65] = '\0';
	ok(!ap_manifest_version_valid(longv), "a 65-character version is not");
	ok(!ap_manifest_version_valid(NULL), "NULL version is not valid");
}

static void test_names(void)
{
	static const struct {
		const char *s;
		bool name, rel;
	} cases[] = {
		{ "a.cab", true, true },   { "Program Files", true, true },
		{ "..", false, false },	   { ".", false, false },
		{ "...", true, true },	   { "a/b", false, true },
		{ "a\\b", false, false },  { "/a", false, false },
		{ "a//b", false, false },  { "a/", false, false },
		{ "a/./b", false, false }, { "a/../b", false, false },
		{ "a\x01", false, false }, { "a\x7f", false, false },
		{ "", false, false },	   { "d\xc3\xa9j\xc3\xa0", true, true },
		{ "..a", true, true },	   { "a..", true, true },
	};
	char big[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		is_int(ap_manifest_safe_name(cases[i].s), cases[i].name, "safe_name case %zu", i);
		is_int(ap_manifest_safe_relpath(cases[i].s, false), cases[i].rel,
		       "safe_relpath case %zu", i);
	}
	ok(ap_manifest_safe_relpath("", true), "empty relpath allowed when asked");
	ok(!ap_manifest_safe_name(NULL), "NULL name is unsafe");
	memset(big, 'x', 255);
	big[255] = '\0';
	ok(ap_manifest_safe_name(big), "255-byte name is safe");
	big[255] = 'x';
	big[256] = '\0';
	ok(!ap_manifest_safe_name(big), "256-byte name is not");
	ok(!ap_manifest_safe_relpath(big, false), "256-byte path part is not");
}

/* A component may not take a name the release folder keeps for itself, as
 * its file or as an alias, in any letter case and for every manifest kind:
 * exit 3 (AP_E_MANIFEST) naming the JSON path. */
static void test_reserved_names(void)
{
	static const char *const names[] = {
		"manifest.json", "manifest.json.sig", "MANIFEST.JSON", "Manifest.Json.Sig",
		"index.json",	 "index.json.sig",    "INDEX.json",    "app.zip.tmp-a1B2c3",
	};
	static const char *const fine[] = { "manifest.json2", "xmanifest.json", "index.jsonx",
					    "manifest.jso" };
	static const enum ap_manifest_kind kinds[] = { AP_MANIFEST_SOURCE, AP_MANIFEST_RELEASE };
	static const char sha[] =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char buf[1024];

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			for (int alias = 0; alias < 2; alias++) {
				struct ap_err err = AP_ERR_INIT;
				struct ap_manifest *m = NULL;
				int n = snprintf(
					buf, sizeof(buf),
					"{\"format\":\"airpack/1\",\"product\":\"p\","
					"\"version\":\"1\",\"prefix\":\"opt/p\",\"components\":"
					"[{\"name\":\"a\",\"file\":\"ok.bin\",\"size\":0,"
					"\"sha256\":\"%s\",\"install\":{\"action\":\"copy\"}},"
					"{\"name\":\"b\",\"file\":\"%s\",\"aliases\":[\"%s\"],"
					"\"size\":0,\"sha256\":\"%s\",\"install\":"
					"{\"action\":\"copy\",\"to\":\"b\"}}]}",
					sha, alias ? "b.bin" : names[i],
					alias ? names[i] : "b2.bin", sha);
				int rc = ap_manifest_parse(buf, (size_t)n, kinds[k], &m, &err);

				is_int(rc, AP_E_MANIFEST, "kind %zu: %s '%s' refused", k,
				       alias ? "alias" : "file", names[i]);
				is_int(ap_err_exit_code(rc), 3, "exit code 3");
				contains(err.msg,
					 alias ? "components[1].aliases[0]" : "components[1].file",
					 "the message names the JSON path");
				ap_manifest_free(m);
			}
		}
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		ok(!ap_manifest_reserved_name(fine[i]), "'%s' is not reserved", fine[i]);
	ok(ap_manifest_reserved_name("Index.JSON.sig"), "reserved in any case");
	ok(!ap_manifest_reserved_name(NULL), "NULL is not reserved");
}

int main(void)
{
	test_samples();
	test_release_fixture();
	test_base_is_valid();
	test_bad();
	test_bounds();
	test_truncations();
	test_validate_model();
	test_inline();
	test_expanded();
	test_versions();
	test_names();
	test_reserved_names();
	return tap_done();
}
