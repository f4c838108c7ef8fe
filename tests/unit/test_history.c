/* test_history.c - the append-only history and the provision record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airpack/state.h"
#include "airpack/fsx.h"
#include "airpack/history.h"
#include "tap.h"
#include "testutil.h"

#define KEY "q8cN0v2m6Yk1Jt9sWZ3xRb4hLp7aDf5GeU0iOw2yTnc="

static char *dir;

static char *in_dir(const char *name)
{
	return tu_join(dir, name);
}

/* The whole history file of a root ("" when absent). */
static char *history_text(const char *root)
{
	char *path = ap_fsx_path_join(root, AP_HISTORY_PATH);
	char *buf = NULL;
	size_t len = 0;

	if (ap_fsx_read_file(path, 1 << 20, &buf, &len, NULL) != 0)
		buf = strdup("");
	free(path);
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

struct seen {
	size_t n;
	char types[8][16];
	char messages[8][256];
	char sources[8][256];
	long long files[8];
	bool ok[8];
	size_t lines[8];
};

static void collect(void *ctx, const struct ap_history_entry *e)
{
	struct seen *s = ctx;

	if (s->n >= 8)
		return;
	snprintf(s->types[s->n], sizeof(s->types[0]), "%s", e->type);
	snprintf(s->messages[s->n], sizeof(s->messages[0]), "%s", e->message ? e->message : "");
	snprintf(s->sources[s->n], sizeof(s->sources[0]), "%s",
		 e->n_sources ? ap_history_kv_get(e->sources, e->n_sources, "daemon") : "");
	s->files[s->n] = e->files;
	s->ok[s->n] = e->ok;
	s->lines[s->n] = e->line;
	s->n++;
}

static void test_append_exact(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("exact");
	struct ap_history_field src[] = { { "daemon", "local:/media/usb/d.cab" },
					  { "engine", "download:http://127.0.0.1/e.zip" } };
	struct ap_history_field det[] = { { "previous_version", "1.0.0" } };
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct stat st;
	char *text, *path;
	int rc;

	tu_setenv("SOURCE_DATE_EPOCH", "1795910400");
	ev.type = "install";
	ev.product = "sample-edge";
	ev.version = "1.1.0";
	ev.key_id = "0123456789abcdef";
	ev.ok = true;
	ev.message = "2 components (1 local, 1 download)";
	ev.files = 9;
	ev.sources = src;
	ev.n_sources = 2;
	ev.details = det;
	ev.n_details = 1;
	rc = ap_history_append(root, &ev, &err);
	is_int(rc, 0, "append to a fresh root works (%s)", err.msg);
	text = history_text(root);
	is_str(text,
	       "{\"time\":\"2026-11-29T00:00:00Z\",\"event\":\"install\","
	       "\"product\":\"sample-edge\","
	       "\"version\":\"1.1.0\",\"key_id\":\"0123456789abcdef\",\"result\":\"ok\","
	       "\"message\":\"2 components (1 local, 1 download)\",\"files\":9,"
	       "\"sources\":{\"daemon\":\"local:/media/usb/d.cab\","
	       "\"engine\":\"download:http://127.0.0.1/e.zip\"},"
	       "\"details\":{\"previous_version\":\"1.0.0\"}}\n",
	       "the line is exactly one JSON object with the time from SOURCE_DATE_EPOCH");
	free(text);
	path = ap_fsx_path_join(root, AP_HISTORY_PATH);
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode), "the file is %s under the root",
	   AP_HISTORY_PATH);
	free(path);
	tu_unsetenv("SOURCE_DATE_EPOCH");
	free(root);
}

static void test_append_read(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("rw");
	struct ap_history_field src[] = { { "daemon", "bundle" } };
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct seen s;
	size_t bad = 99;
	char *text;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = ap_history_read(root, collect, &s, &bad, &err);
	is_int(rc, 0, "reading a root without history is not an error");
	is_int(s.n, 0, "and gives no entries");
	is_int(bad, 0, "and no bad lines");

	ev.type = "install";
	ev.product = "p";
	ev.version = "1.0.0";
	ev.ok = true;
	ev.message = "quote \" backslash \\ newline \n tab \t done";
	ev.files = 3;
	ev.sources = src;
	ev.n_sources = 1;
	is_int(ap_history_append(root, &ev, &err), 0, "first append");
	memset(&ev, 0, sizeof(ev));
	ev.type = "provision";
	ev.product = "p";
	ev.ok = false;
	ev.message = "DeviceId: empty value";
	ev.files = -1;
	is_int(ap_history_append(root, &ev, &err), 0, "second append");
	text = history_text(root);
	is_int(count_lines(text), 2, "two events give two lines");
	free(text);

	rc = ap_history_read(root, collect, &s, &bad, &err);
	is_int(rc, 0, "read back (%s)", err.msg);
	is_int(s.n, 2, "both entries come back");
	is_str(s.types[0], "install", "oldest first");
	is_str(s.messages[0], "quote \" backslash \\ newline \n tab \t done",
	       "escaped characters survive the round trip");
	is_str(s.sources[0], "bundle", "sources come back by component");
	is_int(s.files[0], 3, "files count");
	ok(s.ok[0], "result ok");
	is_str(s.types[1], "provision", "second entry");
	ok(!s.ok[1], "result failed");
	is_int(s.files[1], -1, "no files count when not recorded");
	is_int(s.lines[1], 2, "line numbers are 1-based");
	free(root);
}

static void test_torn_line(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("torn");
	char *path = ap_fsx_path_join(root, AP_HISTORY_PATH);
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct seen s;
	size_t bad = 0;
	FILE *fp;
	char *text;

	is_int(ap_fsx_mkdir_p(root, 0755, NULL), 0, "make root");
	ev.type = "verify";
	ev.product = "p";
	ev.ok = true;
	ev.message = "ok";
	is_int(ap_history_append(root, &ev, &err), 0, "append before the crash");
	fp = fopen(path, "ab");
	ok(fp != NULL, "open to tear");
	if (fp) {
		fputs("{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"ins", fp);
		fclose(fp);
	}
	ev.type = "uninstall";
	is_int(ap_history_append(root, &ev, &err), 0, "append after a torn line");
	text = history_text(root);
	is_int(count_lines(text), 3, "the new event starts on its own line");
	free(text);
	memset(&s, 0, sizeof(s));
	is_int(ap_history_read(root, collect, &s, &bad, &err), 0, "read");
	is_int(bad, 1, "the torn line is skipped and counted");
	is_int(s.n, 2, "the events around it are read");
	is_str(s.types[1], "uninstall", "the one after the tear is intact");
	is_int(s.lines[1], 3, "on line 3");
	free(path);
	free(root);
}

static void test_refuses_secrets(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("secret");
	struct ap_history_event ev = AP_HISTORY_EVENT_INIT;
	struct ap_history_field det[1];
	struct ap_history_field src[1];
	char *text;
	int rc;

	ev.type = "provision";
	ev.product = "p";
	ev.ok = true;
	ev.message = "HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=" KEY;
	rc = ap_history_append(root, &ev, &err);
	is_int(rc, AP_E_USAGE, "a message holding a key is refused");
	contains(err.msg, "holds a SharedAccessKey value", "the error says why");
	ok(strstr(err.msg, "q8cN") == NULL, "and does not show the key");
	ok(!ap_fsx_is_file(root) && !ap_fsx_is_dir(root), "nothing was written");

	ev.message = "sharedaccesskey=" KEY;
	is_int(ap_history_append(root, &ev, &err), AP_E_USAGE, "in any case");
	ev.message = "SharedAccessKey=****x";
	is_int(ap_history_append(root, &ev, &err), AP_E_USAGE,
	       "stars followed by more key text are refused");

	ev.message = "ok";
	det[0].key = "connection_string";
	det[0].value = "SharedAccessKey=" KEY ";HostName=x";
	ev.details = det;
	ev.n_details = 1;
	is_int(ap_history_append(root, &ev, &err), AP_E_USAGE, "a detail holding a key is refused");
	ev.n_details = 0;
	src[0].key = "daemon";
	src[0].value = "download:http://h/x?SharedAccessKey=" KEY;
	ev.sources = src;
	ev.n_sources = 1;
	is_int(ap_history_append(root, &ev, &err), AP_E_USAGE, "a source holding a key is refused");
	ev.n_sources = 0;

	det[0].value = "HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=****";
	ev.details = det;
	ev.n_details = 1;
	rc = ap_history_append(root, &ev, &err);
	is_int(rc, 0, "the redacted form is recorded (%s)", err.msg);
	text = history_text(root);
	contains(text, "SharedAccessKey=****\"", "as ****");
	ok(strstr(text, "q8cN") == NULL, "no key text reached the file");
	free(text);

	ev.type = "reboot";
	is_int(ap_history_append(root, &ev, &err), AP_E_USAGE, "an unknown event type is refused");
	contains(err.msg, "'reboot'", "naming it");
	free(root);
}

static void test_parse_line(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_history_entry e;
	const char *good = "{\"time\":\"t\",\"event\":\"install\",\"result\":\"ok\",\"files\":4,"
			   "\"details\":{\"a\":\"b\",\"n\":5}}";
	const char *no_result = "{\"time\":\"t\",\"event\":\"install\"}";
	const char *bad_result = "{\"time\":\"t\",\"event\":\"install\",\"result\":\"maybe\"}";

	is_int(ap_history_parse_line(good, strlen(good), &e, &err), 0, "a minimal line parses");
	is_int(e.files, 4, "files");
	is_int(e.n_details, 1, "non-string details are skipped");
	is_str(ap_history_kv_get(e.details, e.n_details, "a"), "b", "detail a");
	ok(e.product == NULL, "absent product is NULL");
	ap_history_entry_release(&e);
	is_int(ap_history_parse_line(no_result, strlen(no_result), &e, &err), AP_E_STATE,
	       "a line without result is refused");
	contains(err.msg, "result", "naming the field");
	is_int(ap_history_parse_line(bad_result, strlen(bad_result), &e, &err), AP_E_STATE,
	       "result must be ok or failed");
	is_int(ap_history_parse_line("[1]", 3, &e, &err), AP_E_STATE, "an array is refused");
	is_int(ap_history_parse_line("{\"time\":", 8, &e, &err), AP_E_STATE,
	       "a torn object is refused");
}

static void test_format_time(void)
{
	char buf[AP_HISTORY_TIME_LEN];

	ap_history_format_time(0, buf);
	is_str(buf, "1970-01-01T00:00:00Z", "epoch");
	ap_history_format_time(1795910400, buf);
	is_str(buf, "2026-11-29T00:00:00Z", "a 2026 time in UTC");
}

static void test_provision_record(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *root = in_dir("rec");
	char *dirs[] = { "etc", "etc/x" };
	struct ap_history_kv ident[] = {
		{ "host_name", "hub.azure-devices.net" },
		{ "device_id", "dev:1@site" },
		{ "gateway_host_name", NULL },
		{ "key_fingerprint", "0123abcd" },
		{ "proxy", "http://****@proxy:3128" },
	};
	struct ap_history_record rec;
	struct ap_history_record *got = NULL;
	char *path, *text = NULL, *rel;
	size_t len = 0;
	FILE *fp;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rc = ap_history_record_load(root, "x", &got, &err);
	is_int(rc, AP_E_NOTFOUND, "no record is AP_E_NOTFOUND");
	contains(err.msg, "'x' has no provision record", "saying so");

	rec.product = "x";
	rec.version = "1.2.3";
	rec.config_path = "etc/x/config.yaml";
	memset(rec.config_sha256, 'a', 64);
	rec.config_mode = 0600;
	rec.identity = ident;
	rec.n_identity = sizeof(ident) / sizeof(ident[0]);
	rec.created_dirs = dirs;
	rec.n_created_dirs = 2;
	rec.provisioned_at = 1795910400;
	rc = ap_history_record_save(root, &rec, &err);
	is_int(rc, AP_E_NOTFOUND, "no state folder (nothing installed): not saved");
	path = in_dir("rec/" AP_STATE_BASE "/x");
	is_int(ap_fsx_mkdir_p(path, 0755, NULL), 0, "state folder");
	free(path);
	rc = ap_history_record_save(root, &rec, &err);
	is_int(rc, 0, "save (%s)", err.msg);
	rel = ap_history_record_relpath("x");
	is_str(rel, AP_STATE_BASE "/x/provision.json", "the record's path");
	path = ap_fsx_path_join(root, rel);
	free(rel);
	is_int(ap_fsx_read_file(path, 1 << 16, &text, &len, NULL), 0, "the record is written");
	contains(text, "\"format\":\"airpack-provision/1\"", "with its format");
	contains(text, "\"config_mode\":\"0600\"", "the mode as octal text");
	contains(text,
		 "\"config_mode\":\"0600\",\"host_name\":\"hub.azure-devices.net\","
		 "\"device_id\":\"dev:1@site\",\"gateway_host_name\":null,",
		 "identity facts follow the mode, in order, a missing one as null");
	free(text);

	rc = ap_history_record_load(root, "x", &got, &err);
	is_int(rc, 0, "load it back (%s)", err.msg);
	if (got) {
		is_str(got->config_path, "etc/x/config.yaml", "config_path");
		is_str(ap_history_record_get(got, "device_id"), "dev:1@site", "device_id");
		is_str(ap_history_record_get(got, "key_fingerprint"), "0123abcd", "fingerprint");
		is_int(got->n_identity, 4, "the identity facts that have a value");
		is_str(got->identity[3].key, "proxy", "in file order");
		is_int(got->config_mode, 0600, "mode");
		is_int(got->n_created_dirs, 2, "created dirs");
		is_str(got->created_dirs[1], "etc/x", "in order");
		ok(ap_history_record_get(got, "gateway_host_name") == NULL,
		   "null gateway stays NULL");
		is_int(got->provisioned_at, 1795910400, "time");
		ap_history_record_free(got);
		got = NULL;
	}

	ident[0].value = "x;SharedAccessKey=" KEY;
	is_int(ap_history_record_save(root, &rec, &err), AP_E_USAGE,
	       "a record holding a key is refused");
	ok(strstr(err.msg, "q8cN") == NULL, "without showing it");
	ident[0].value = "hub.azure-devices.net";
	ident[1].key = "config_path";
	is_int(ap_history_record_save(root, &rec, &err), AP_E_USAGE,
	       "an identity fact named like a member of the record is refused");
	ident[1].key = "device_id";
	rec.config_path = "../etc/passwd";
	is_int(ap_history_record_save(root, &rec, &err), AP_E_STATE,
	       "an unsafe config path is refused");
	contains(err.msg, "config_path", "naming the field");
	rec.config_path = "etc/x/config.yaml";

	fp = fopen(path, "wb");
	if (fp) {
		fputs("{\"format\":\"airpack-provision/1\",\"product\":\"x\",\"config_path\":"
		      "\"etc/x/config.yaml\",\"config_sha256\":\"abc\",\"provisioned_at\":1}\n",
		      fp);
		fclose(fp);
	}
	rc = ap_history_record_load(root, "x", &got, &err);
	is_int(rc, AP_E_STATE, "a malformed record is AP_E_STATE");
	contains(err.msg, "config_sha256: expected 64 hex digits", "naming the field");
	contains(err.msg, "provision.json", "and the file");
	fp = fopen(path, "wb");
	if (fp) {
		fputs("{\"format\":\"airpack-provision/1\",\"product\":\"y\",\"config_path\":"
		      "\"etc/x/config.yaml\",\"config_sha256\":\"",
		      fp);
		for (int i = 0; i < 64; i++)
			fputc('b', fp);
		fputs("\",\"provisioned_at\":1}\n", fp);
		fclose(fp);
	}
	rc = ap_history_record_load(root, "x", &got, &err);
	is_int(rc, AP_E_STATE, "a record of another product is refused");
	contains(err.msg, "product: expected 'x', got 'y'", "saying whose it is");
	free(path);
	free(root);
}

int main(void)
{
	dir = tu_mkdtemp("ap-history");
	if (!dir) {
		perror("mkdtemp");
		return 2;
	}
	test_format_time();
	test_append_exact();
	test_append_read();
	test_torn_line();
	test_refuses_secrets();
	test_parse_line();
	test_provision_record();
	ap_fsx_rm_rf(dir, NULL);
	free(dir);
	return tap_done();
}
