/* test_winname.c - names Windows treats specially (airpack/winname.h) and
 * the manifest's check of the paths a release creates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/manifest.h"
#include "airpack/winname.h"
#include "tap.h"

static void test_parts(void)
{
	static const struct {
		const char *name;
		const char *why; /* a word of the reason; NULL: safe */
	} cases[] = {
		{ "CON", "device" },	    { "con", "device" },
		{ "Con.txt", "device" },    { "NUL", "device" },
		{ "nul.tar.gz", "device" }, { "aux", "device" },
		{ "PRN.x", "device" },	    { "COM1", "device" },
		{ "lpt9.log", "device" },   { "COM\xc2\xb9", "device" },
		{ "CONIN$", "device" },	    { "conout$.txt", "device" },
		{ "nul .txt", "device" },   { "notes.", "dot" },
		{ "notes ", "space" },	    { "x..", "dot" },
		{ "a:b", "data stream" },   { "C:", "drive" },
		{ "a<b", "refuses" },	    { "a>b", "refuses" },
		{ "a\"b", "refuses" },	    { "a|b", "refuses" },
		{ "a?b", "refuses" },	    { "a*b", "refuses" },
		{ "CONSOLE", NULL },	    { "COM0", NULL },
		{ "COM10", NULL },	    { "LPT", NULL },
		{ "nulled.txt", NULL },	    { "auxiliary", NULL },
		{ ".hidden", NULL },	    { "a.b.c", NULL },
		{ "caf\xc3\xa9", NULL },    { "x.con", NULL },
		{ "Program Files", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = ap_winname_part_problem(cases[i].name, strlen(cases[i].name));

		if (!cases[i].why)
			ok(why == NULL, "'%s' is safe (%s)", cases[i].name, why ? why : "");
		else
			ok(why && strstr(why, cases[i].why), "'%s' is unsafe: %s", cases[i].name,
			   why ? why : "(safe)");
	}
}

static void test_paths(void)
{
	size_t off = 99, len = 99;
	const char *why;

	ok(ap_winname_path_problem("Program Files/app/bin", NULL, NULL) == NULL,
	   "a plain path is safe");
	why = ap_winname_path_problem("app/aux/x.txt", &off, &len);
	ok(why && off == 4 && len == 3, "the offending part is located (off %zu len %zu)", off,
	   len);
	why = ap_winname_path_problem("app/dir./x", &off, &len);
	ok(why && off == 4 && len == 4, "a folder ending in a dot is located");
	ok(ap_winname_platform_is_windows("windows-amd64"), "windows-amd64 is Windows");
	ok(ap_winname_platform_is_windows("Windows"), "Windows is Windows");
	ok(!ap_winname_platform_is_windows("linux-amd64"), "linux-amd64 is not");
	ok(!ap_winname_platform_is_windows(NULL), "no platform is not");
	ok(!ap_winname_platform_is_windows("win"), "win alone is not");
	ok(!ap_winname_platform_is_foreign(NULL), "a release for any platform is never foreign");
#ifdef _WIN32
	ok(!ap_winname_platform_is_foreign("windows-amd64"), "windows-amd64 runs here");
	ok(ap_winname_platform_is_foreign("linux-amd64"), "linux-amd64 is foreign on Windows");
#else
	ok(ap_winname_platform_is_foreign("windows-amd64"), "windows-amd64 is foreign here");
	ok(!ap_winname_platform_is_foreign("linux-amd64"), "linux-amd64 runs here");
#endif
}

static void fold_is(const char *a, const char *b, bool same)
{
	char *fa = ap_winname_fold(a), *fb = ap_winname_fold(b);

	ok(fa && fb && (strcmp(fa, fb) == 0) == same, "'%s' and '%s' are %s on Windows (%s, %s)", a,
	   b, same ? "the same" : "different", fa ? fa : "-", fb ? fb : "-");
	free(fa);
	free(fb);
}

static void test_fold(void)
{
	fold_is("A.txt", "a.txt", true);
	fold_is("same.txt", "same.txt.", true);
	fold_is("dir /x", "DIR/X", true);
	fold_is("x", "x. . ", true);
	fold_is("\xc3\x89t\xc3\xa9", "\xc3\xa9T\xc3\x89", true);	       /* Été */
	fold_is("\xd0\x9c\xd0\xb8\xd1\x80", "\xd0\xbc\xd0\x98\xd0\xa0", true); /* Мир */
	fold_is("\xce\xb1", "\xce\x91", true);				       /* alpha */
	fold_is("\xc4\x81", "\xc4\x80", true);				       /* a macron */
	fold_is("\xc5\xbe", "\xc5\xbd", true);				       /* z caron */
	fold_is("\xc3\xbf", "\xc5\xb8", true);				       /* y diaeresis */
	fold_is("a.txt", "b.txt", false);
	fold_is("a/b", "a-b", false);
	fold_is(".x", "x", false);
	fold_is("\xe2\x82\xac", "\xe2\x82\xac", true); /* three-byte: exact */
	fold_is("\xff", "\xff", true);		       /* malformed: exact */
}

static struct ap_manifest *parse(const char *json, struct ap_err *err)
{
	struct ap_manifest *m = NULL;

	if (ap_manifest_parse(json, strlen(json), AP_MANIFEST_SOURCE, &m, err) != 0)
		return NULL;
	return m;
}

#define HEAD                                                                                       \
	"{\"format\":\"airpack/1\",\"product\":\"p\",\"version\":\"1.0.0\","                       \
	"\"platform\":\"windows-amd64\","

static void manifest_case(const char *label, const char *json, const char *field, const char *why)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m = parse(json, &err);
	int rc;

	ok(m != NULL, "%s: parses (%s)", label, err.msg);
	if (!m)
		return;
	ok(ap_manifest_for_windows(m), "%s: a Windows release", label);
	rc = ap_manifest_windows_check(m, &err);
	if (!field) {
		is_int(rc, 0, "%s: fine for Windows (%s)", label, err.msg);
	} else {
		is_int(rc, AP_E_UNSAFE, "%s: unsafe for Windows", label);
		contains(err.msg, "unsafe name for Windows", "%s: says so", label);
		contains(err.msg, field, "%s: names the field", label);
		contains(err.msg, why, "%s: says why", label);
	}
	ap_manifest_free(m);
}

static void test_manifest(void)
{
	manifest_case("plain",
		      HEAD "\"prefix\":\"Program Files/p\",\"data_dirs\":[\"ProgramData/p\"],"
			   "\"components\":[{\"name\":\"a\",\"file\":\"a.zip\",\"install\":"
			   "{\"action\":\"extract\",\"to\":\"bin\"}},{\"name\":\"b\",\"file\":"
			   "\"b.exe\",\"install\":{\"action\":\"copy\"}}]}",
		      NULL, NULL);
	manifest_case("prefix",
		      HEAD "\"prefix\":\"Program Files/CON\",\"components\":[{\"name\":\"a\","
			   "\"file\":\"a.zip\",\"install\":{\"action\":\"extract\"}}]}",
		      "prefix", "'CON' is a reserved device name");
	manifest_case("data_dirs",
		      HEAD "\"prefix\":\"p\",\"data_dirs\":[\"ProgramData/p/logs.\"],"
			   "\"components\":[{\"name\":\"a\",\"file\":\"a.zip\",\"install\":"
			   "{\"action\":\"extract\"}}]}",
		      "data_dirs[0]", "ending in a dot");
	manifest_case("config.path",
		      HEAD "\"prefix\":\"p\",\"config\":{\"path\":\"ProgramData/p/c:fg\"},"
			   "\"components\":[{\"name\":\"a\",\"file\":\"a.zip\",\"install\":"
			   "{\"action\":\"extract\"}}]}",
		      "config.path", "data stream");
	manifest_case("install.to",
		      HEAD "\"prefix\":\"p\",\"components\":[{\"name\":\"a\",\"file\":\"a.zip\","
			   "\"install\":{\"action\":\"extract\",\"to\":\"bin/aux\"}}]}",
		      "components[0].install.to", "reserved device name");
	manifest_case("a copied file's name",
		      HEAD "\"prefix\":\"p\",\"components\":[{\"name\":\"a\",\"file\":\"nul.exe\","
			   "\"install\":{\"action\":\"copy\"}}]}",
		      "components[0].file", "reserved device name");
	manifest_case("two copies the same on Windows",
		      HEAD "\"prefix\":\"p\",\"components\":[{\"name\":\"a\",\"file\":\"a.exe\","
			   "\"install\":{\"action\":\"copy\",\"to\":\"bin/Tool.exe\"}},{\"name\":"
			   "\"b\",\"file\":\"b.exe\",\"install\":{\"action\":\"copy\",\"to\":"
			   "\"BIN/tool.EXE\"}}]}",
		      "components[1]", "same name on Windows as components[0].install.to");
}

int main(void)
{
	test_parts();
	test_paths();
	test_fold();
	test_manifest();
	return tap_done();
}
