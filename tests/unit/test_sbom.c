/* test_sbom.c - the release's SBOM (airpack/sbom.h): both formats, stated
 * fields, archive files, reproducibility and stable length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/manifest.h"
#include "airpack/sbom.h"
#include "tap.h"
#include "testutil.h"

#define H1 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define H2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static const char release[] =
	"{\"format\":\"airpack/1\",\"product\":\"demo app\",\"version\":\"2.0.1\","
	"\"prefix\":\"opt/demo\",\"components\":["
	"{\"name\":\"engine\",\"file\":\"engine.zip\","
	"\"urls\":[\"https://a.example/engine.zip\",\"https://b.example/engine.zip\"],"
	"\"size\":3,\"sha256\":\"" H1 "\",\"version\":\"20.10.13\","
	"\"supplier\":\"Example Corp\",\"license\":\"Apache-2.0 OR MIT\","
	"\"install\":{\"action\":\"extract\",\"to\":\"engine\"}},"
	"{\"name\":\"tool\",\"file\":\"tool.sh\",\"size\":0,\"sha256\":\"" H2 "\","
	"\"install\":{\"action\":\"copy\"}}]}";

static struct ap_manifest *load(void)
{
	struct ap_manifest *m = NULL;
	struct ap_err err = AP_ERR_INIT;

	if (ap_manifest_parse(release, strlen(release), AP_MANIFEST_RELEASE, &m, &err) != 0)
		printf("# %s\n", err.msg);
	return m;
}

static struct ap_sbom_files *two_files(void)
{
	struct ap_sbom_files *f = calloc(2, sizeof(*f));

	f[0].v = calloc(2, sizeof(*f[0].v));
	f[0].n = f[0].cap = 2;
	f[0].v[0].path = strdup("bin/dockerd");
	f[0].v[0].size = 3;
	memcpy(f[0].v[0].sha256, H1, sizeof(H1));
	f[0].v[1].path = strdup("docs/read me.txt");
	f[0].v[1].size = 0;
	memcpy(f[0].v[1].sha256, H2, sizeof(H2));
	return f;
}

static void free_files(struct ap_sbom_files *f)
{
	ap_sbom_files_release(&f[0]);
	ap_sbom_files_release(&f[1]);
	free(f);
}

static char *emit(struct ap_manifest *m, struct ap_sbom_files *f, enum ap_sbom_format fmt,
		  int64_t t)
{
	char *json = NULL;
	size_t len = 0;
	struct ap_err err = AP_ERR_INIT;

	if (ap_sbom_emit(m, f, fmt, t, &json, &len, &err) != 0) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	if (strlen(json) != len)
		printf("# length %zu != strlen %zu\n", len, strlen(json));
	return json;
}

static void test_spdx(void)
{
	struct ap_manifest *m = load();
	struct ap_sbom_files *f = two_files();
	char *a, *b, *c, *d;

	if (!ok(m != NULL, "the release manifest with version, supplier and license parses"))
		return;
	a = emit(m, f, AP_SBOM_SPDX, 1700000000);
	b = emit(m, f, AP_SBOM_SPDX, 1700000000);
	if (!ok(a && b, "SPDX emits"))
		goto out;
	is_str(a, b, "the same release and time give the same bytes");
	contains(a, "\"spdxVersion\":\"SPDX-2.3\"", "SPDX 2.3");
	contains(a, "\"dataLicense\":\"CC0-1.0\"", "data license CC0-1.0");
	contains(a, "\"created\":\"2023-11-14T22:13:20Z\"", "creation time from the build's time");
	contains(a, "\"documentNamespace\":\"https://spdx.org/spdxdocs/airpack/demo%20app-2.0.1-",
		 "a namespace URI with the product percent-encoded");
	contains(
		a,
		"\"SPDXID\":\"SPDXRef-Component-1\",\"name\":\"engine\",\"packageFileName\":\"engine.zip\"",
		"one package per component, with its file name");
	contains(a, "\"versionInfo\":\"20.10.13\"", "the component's version");
	contains(a, "\"supplier\":\"Organization: Example Corp\"", "its supplier, typed");
	contains(a, "\"licenseDeclared\":\"Apache-2.0 OR MIT\"", "its license");
	contains(a, "\"downloadLocation\":\"https://a.example/engine.zip\"", "its first url");
	contains(a, "\"referenceLocator\":\"https://b.example/engine.zip\"", "the other urls");
	contains(a, "\"checksumValue\":\"" H1 "\"", "its sha256");
	contains(a, "size 3 bytes", "its size");
	contains(a, "\"fileName\":\"./docs/read me.txt\"", "the archive's files");
	contains(a,
		 "{\"spdxElementId\":\"SPDXRef-Component-1\",\"relationshipType\":\"CONTAINS\","
		 "\"relatedSpdxElement\":\"SPDXRef-File-1-2\"}",
		 "contained by their component");
	contains(a, "\"relationshipType\":\"DESCRIBES\"", "the document describes the release");
	ok(!strstr(strstr(a, "SPDXRef-Component-2") ? strstr(a, "SPDXRef-Component-2") : a,
		   "Organization:"),
	   "no supplier where the manifest states none");

	c = emit(m, f, AP_SBOM_SPDX, 0);
	ok(c && strstr(c, "\"created\":\"1970-01-01T00:00:00Z\""),
	   "time 0 without SOURCE_DATE_EPOCH");
	free(c);
	/* The build emits the manifest with placeholder hashes first. */
	memcpy(m->components[0].sha256, ZEROS, sizeof(ZEROS));
	d = emit(m, f, AP_SBOM_SPDX, 1700000000);
	ok(d && strlen(d) == strlen(a), "placeholder hashes give the final length (%zu, %zu)",
	   d ? strlen(d) : 0, strlen(a));
	ok(d && strncmp(strstr(d, "spdxdocs"), strstr(a, "spdxdocs"), 60) != 0,
	   "another payload hash gives another namespace");
	free(d);
out:
	free(a);
	free(b);
	free_files(f);
	ap_manifest_free(m);
}

static void test_cyclonedx(void)
{
	struct ap_manifest *m = load();
	struct ap_sbom_files *f = two_files();
	char *a = m ? emit(m, f, AP_SBOM_CYCLONEDX, 1700000000) : NULL;
	char *b = m ? emit(m, f, AP_SBOM_CYCLONEDX, 1700000000) : NULL;
	const char *u;

	if (!ok(a && b, "CycloneDX emits"))
		goto out;
	is_str(a, b, "the same release and time give the same bytes");
	contains(a, "\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"", "CycloneDX 1.5");
	u = strstr(a, "urn:uuid:");
	ok(u && u[9 + 14] == '5' && strchr("89ab", u[9 + 19]), "a version-5 layout serial number");
	contains(a, "\"timestamp\":\"2023-11-14T22:13:20Z\"", "the build's time");
	contains(a, "\"supplier\":{\"name\":\"Example Corp\"}", "the supplier");
	contains(a, "\"licenses\":[{\"expression\":\"Apache-2.0 OR MIT\"}]", "the license");
	contains(a, "{\"alg\":\"SHA-256\",\"content\":\"" H1 "\"}", "the sha256");
	contains(a, "{\"type\":\"distribution\",\"url\":\"https://b.example/engine.zip\"}",
		 "the urls");
	contains(a, "{\"name\":\"airpack:size\",\"value\":\"3\"}", "the size");
	contains(a, "\"bom-ref\":\"component-1-file-2\",\"name\":\"docs/read me.txt\"",
		 "the archive's files, nested");
out:
	free(a);
	free(b);
	free_files(f);
	ap_manifest_free(m);
}

static void test_pretty_and_formats(void)
{
	enum ap_sbom_format fmt = AP_SBOM_SPDX;
	struct ap_err err = AP_ERR_INIT;
	char *out = NULL;
	size_t len = 0;

	ok(ap_sbom_format_parse("cyclonedx", &fmt) == 0 && fmt == AP_SBOM_CYCLONEDX, "cyclonedx");
	ok(ap_sbom_format_parse("spdx", &fmt) == 0 && fmt == AP_SBOM_SPDX, "spdx");
	ok(ap_sbom_format_parse("SPDX-2.3", &fmt) == -1, "anything else is refused");
	ok(ap_sbom_pretty("{\"a\":[1]}", &out, &len, &err) == 0 && out &&
		   strcmp(out, "{\n  \"a\": [\n    1\n  ]\n}\n") == 0,
	   "pretty printing lays the document out");
	free(out);
	out = NULL;
	is_int(ap_sbom_pretty(NULL, &out, &len, &err), AP_E_NOTFOUND, "no SBOM: not found");
	contains(err.msg, "carries no SBOM", "and says so");
}

static void test_scan(void)
{
	struct ap_sbom_files f = AP_SBOM_FILES_INIT;
	struct ap_err err = AP_ERR_INIT;

	is_int(ap_sbom_scan_archive(TEST_DATA "/archives/dotdot.tar", &f, &err), AP_E_UNSAFE,
	       "an unsafe archive is refused while listing");
	is_int((int)f.n, 0, "and lists nothing");
	ok(ap_sbom_scan_archive(SRCDIR "/payloads/sample/moby-engine.zip", &f, &err) == 0,
	   "the sample zip lists (%s)", err.msg);
	ok(f.n > 0 && f.v[0].path && strlen(f.v[0].sha256) == 64, "its files with their hashes");
	ap_sbom_files_release(&f);
}

int main(void)
{
	test_spdx();
	test_cyclonedx();
	test_pretty_and_formats();
	test_scan();
	return tap_done();
}
