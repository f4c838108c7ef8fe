/* test_provision.c - the IoT Edge layer (lib/iotedge/): connection strings,
 * settings validation, config.yaml editing, and a provisioning's inputs and
 * recorded facts. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/secret.h"
#include "iotedge/connstr.h"
#include "iotedge/devconfig.h"
#include "iotedge/iotedge.h"
#include "iotedge/setting.h"
#include "tap.h"
#include "testutil.h"

#define HOST "contoso-hub.azure-devices.net"
#define DEV "edge-01"
#define KEY "5D+cIU6CPdB4fMncAKelzTd3Bl+LHZFh7fTVGlSvkO0=" /* 32 bytes */
#define KEY_FP "83032470" /* printf %s KEY | sha256sum | cut -c1-8 */
#define KEY2 "M5ADVTCU9Ax6uRbM2hFXURPbyasjW8ZP0EkCbNfVp8U="
#define KEY16 "rOMsbf4Enuo+oLMHwZxI0w=="
#define KEY64                                                                                      \
	"xu7uHvrYYAZlMcKSZo5C7CvJhr2+mpO7Plh2pgMJMFyJVesf20fyTmy5A8tAoxh5sKpEf6xFwvJWzZsxKUHrAw=="
#define KEY8 "DofqrBLbZiY="
#define KEY65                                                                                      \
	"VFRvb/6Shuwv8cFXhAfFRniYizzv7+zEzvyM5mmgXwIPBRjkVxaF+5FYLqOEumLR3/hBkO9MyMRhXA7GnXXRE0c="

#define H "HostName=" HOST
#define D "DeviceId=" DEV
#define K "SharedAccessKey=" KEY
#define CANON H ";" D ";" K

/* True when msg holds any run of 4 characters of the secret. */
static bool leaks(const char *msg, const char *secret)
{
	size_t n = strlen(secret);
	char win[5];

	for (size_t i = 0; i + 4 <= n; i++) {
		memcpy(win, secret + i, 4);
		win[4] = '\0';
		if (strstr(msg, win))
			return true;
	}
	return false;
}

static char *read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/config/%s", TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		printf("# cannot read %s\n", path);
		exit(2);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		printf("# cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- connection strings -------------------------------------------------- */

static void valid(const char *in, const char *host, const char *dev, const char *key,
		  const char *gw, bool quotes, const char *name)
{
	struct ap_connstr c = AP_CONNSTR_INIT;
	struct ap_err err = AP_ERR_INIT;
	int rc = ap_connstr_parse(in, &c, &err);

	is_int(rc, 0, "valid %s: parses", name);
	if (rc < 0) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	is_str(c.host_name, host, "valid %s: HostName", name);
	is_str(c.device_id, dev, "valid %s: DeviceId", name);
	is_str(c.shared_access_key, key, "valid %s: SharedAccessKey", name);
	is_str(c.gateway_host_name, gw, "valid %s: GatewayHostName", name);
	is_int(c.quotes_stripped, quotes, "valid %s: quotes flag", name);
	ap_connstr_release(&c);
}

static int n_invalid;

static void invalid(const char *in, const char *want, const char *secret, const char *name)
{
	char sentinel[] = "untouched";
	struct ap_connstr c = { sentinel, sentinel, sentinel, NULL, 7, true };
	struct ap_err err = AP_ERR_INIT;
	int rc = ap_connstr_parse(in, &c, &err);

	n_invalid++;
	is_int(rc, AP_E_INPUT, "invalid %s: refused", name);
	contains(err.msg, want, "invalid %s: message names the part", name);
	ok(!leaks(err.msg, secret), "invalid %s: message does not contain the key", name);
	ok(c.host_name == sentinel && c.key_bytes == 7, "invalid %s: out untouched", name);
	if (rc == 0)
		ap_connstr_release(&c);
}

static void test_valid(void)
{
	static const char *const p[3] = { H, D, K };
	static const int perm[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
					{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	char id128[129], in[1024];
	struct ap_connstr c = AP_CONNSTR_INIT;

	valid(CANON, HOST, DEV, KEY, NULL, false, "canonical");
	for (int i = 0; i < 6; i++) {
		char name[32];

		snprintf(in, sizeof(in), "%s;%s;%s", p[perm[i][0]], p[perm[i][1]], p[perm[i][2]]);
		snprintf(name, sizeof(name), "order %d%d%d", perm[i][0], perm[i][1], perm[i][2]);
		valid(in, HOST, DEV, KEY, NULL, false, name);
	}
	valid("\"" CANON "\"", HOST, DEV, KEY, NULL, true, "double quotes");
	valid("'" CANON "'", HOST, DEV, KEY, NULL, true, "single quotes");
	valid("  " CANON "  \r\n", HOST, DEV, KEY, NULL, false, "spaces and CRLF");
	valid("\t\"" CANON "\"\n", HOST, DEV, KEY, NULL, true, "tab, quotes and LF");
	valid(CANON ";", HOST, DEV, KEY, NULL, false, "one trailing ';'");
	valid(H ";" D ";SharedAccessKey=" KEY16, HOST, DEV, KEY16, NULL, false,
	      "'==' padded 16-byte key");
	valid(H ";" D ";SharedAccessKey=" KEY64, HOST, DEV, KEY64, NULL, false, "64-byte key");
	valid(CANON ";GatewayHostName=gateway.contoso.local", HOST, DEV, KEY,
	      "gateway.contoso.local", false, "GatewayHostName");
	valid("GatewayHostName=edgegw;" CANON, HOST, DEV, KEY, "edgegw", false,
	      "single-label GatewayHostName first");
	valid(H ";DeviceId=a-b.c%d_e*f?g!h(i)j,k:l=m@n$o'p;" K, HOST,
	      "a-b.c%d_e*f?g!h(i)j,k:l=m@n$o'p", KEY, NULL, false, "every special DeviceId char");
	memset(id128, 'd', 128);
	id128[128] = '\0';
	snprintf(in, sizeof(in), H ";DeviceId=%s;" K, id128);
	valid(in, HOST, id128, KEY, NULL, false, "128-character DeviceId");
	valid("HostName=a.b;DeviceId=x;" K, "a.b", "x", KEY, NULL, false, "shortest names");

	is_int(ap_connstr_parse(CANON, &c, NULL), 0, "parse with a NULL err");
	is_int((int)c.key_bytes, 32, "key_bytes is the decoded length");
	ap_connstr_release(&c);
	ok(!c.host_name && !c.device_id && !c.shared_access_key, "release clears the fields");
	ap_connstr_release(&c);
	ap_connstr_release(NULL);
	ok(1, "release twice and release(NULL) are fine");
}

static void test_invalid(void)
{
	char in[1024], id129[130], label64[65], longhost[300];

	invalid(D ";" K, "missing HostName", KEY, "missing HostName");
	invalid(H ";" K, "missing DeviceId", KEY, "missing DeviceId");
	invalid(H ";" D, "missing SharedAccessKey", KEY, "missing SharedAccessKey");
	invalid("GatewayHostName=gw.local", "missing HostName, DeviceId, SharedAccessKey", KEY,
		"only a gateway");
	invalid(CANON ";HostName=other.azure-devices.net", "duplicate HostName (parts 1 and 4)",
		KEY, "duplicate HostName");
	invalid(K ";" H ";" D ";" K, "duplicate SharedAccessKey (parts 1 and 4)", KEY,
		"duplicate SharedAccessKey");
	invalid(H ";DeviceId=;" K, "DeviceId: empty value", KEY, "empty DeviceId");
	invalid(H ";" D ";SharedAccessKey=", "SharedAccessKey: empty value", KEY, "empty key");
	invalid(H ";" D ";SharedAccessKey=5D+cIU6CPdB4fMncAKelzTd3Bl-LHZFh7fTVGlSvkO0=",
		"SharedAccessKey: not valid base64",
		"5D+cIU6CPdB4fMncAKelzTd3Bl-LHZFh7fTVGlSvkO0=", "base64 with '-'");
	invalid(H ";" D ";SharedAccessKey=5D+cIU6CPdB4fMnc*KelzTd3Bl+LHZFh7fTVGlSvkO0=",
		"SharedAccessKey: not valid base64",
		"5D+cIU6CPdB4fMnc*KelzTd3Bl+LHZFh7fTVGlSvkO0=", "base64 with '*'");
	invalid(H ";" D ";SharedAccessKey=5D+cIU6CPdB4fMncAKelzTd3Bl+LHZFh7fTVGlSvkO0",
		"SharedAccessKey: not valid base64", "5D+cIU6CPdB4fMncAKelzTd3Bl+LHZFh7fTVGlSvkO0",
		"base64 missing its padding");
	invalid(H ";" D ";SharedAccessKey=5D+cIU6CPdB4fMncAKe=zTd3Bl+LHZFh7fTVGlSvkO0=",
		"SharedAccessKey: not valid base64",
		"5D+cIU6CPdB4fMncAKe=zTd3Bl+LHZFh7fTVGlSvkO0=", "base64 with '=' inside");
	invalid(H ";" D ";SharedAccessKey=5D+cIU6CPdB4fMncAKelzTd3Bl+LHZFh7fTVGlSvkO1=",
		"SharedAccessKey: not valid base64: bad padding",
		"5D+cIU6CPdB4fMncAKelzTd3Bl+LHZFh7fTVGlSvkO1=", "base64 non-zero pad bits");
	invalid(H ";" D ";SharedAccessKey=" KEY8, "SharedAccessKey: decodes to 8 bytes", KEY8,
		"8-byte key");
	invalid(H ";" D ";SharedAccessKey=" KEY65, "SharedAccessKey: decodes to 65 bytes", KEY65,
		"65-byte key");
	memset(id129, 'd', 129);
	id129[129] = '\0';
	snprintf(in, sizeof(in), H ";DeviceId=%s;" K, id129);
	invalid(in, "DeviceId: 129 characters, at most 128 allowed", KEY, "129-character DeviceId");
	invalid(H ";DeviceId=edge#1;" K, "DeviceId: character 5 is '#'", KEY, "DeviceId with '#'");
	invalid(H ";DeviceId=edge 1;" K, "DeviceId: contains whitespace", KEY,
		"DeviceId with a space");
	invalid(H ";DeviceId=site/edge;" K, "DeviceId: character 5 is '/'", KEY,
		"DeviceId with '/'");
	invalid(H ";DeviceId=edge+1;" K, "DeviceId: character 5 is '+'", KEY, "DeviceId with '+'");
	invalid(H ";DeviceId=edge\xc3\xa9;" K, "DeviceId: character 5 is byte 0xc3", KEY,
		"DeviceId not ASCII");
	invalid("HostName=contoso_hub.azure-devices.net;" D ";" K, "HostName: label 1 has '_'", KEY,
		"HostName with '_'");
	invalid("HostName=localhost;" D ";" K, "HostName: a single label", KEY,
		"single-label HostName");
	memset(label64, 'a', 64);
	label64[64] = '\0';
	snprintf(in, sizeof(in), "HostName=%s.azure-devices.net;" D ";" K, label64);
	invalid(in, "HostName: label 1 is 64 characters, at most 63 allowed", KEY,
		"HostName label of 64");
	invalid("HostName=-hub.azure-devices.net;" D ";" K, "HostName: label 1 starts or ends", KEY,
		"HostName label starting with '-'");
	invalid("HostName=hub..azure-devices.net;" D ";" K, "HostName: label 2 is empty", KEY,
		"HostName with '..'");
	invalid("HostName=hub.azure-devices.net.;" D ";" K, "HostName: label 4 is empty", KEY,
		"HostName with a trailing dot");
	memset(longhost, 'a', sizeof(longhost));
	for (int i = 60; i < 290; i += 61)
		longhost[i] = '.';
	longhost[290] = '\0';
	snprintf(in, sizeof(in), "HostName=%s;" D ";" K, longhost);
	invalid(in, "HostName: 290 characters, at most 253 allowed", KEY, "HostName too long");
	invalid(CANON ";GatewayHostName=gw_1", "GatewayHostName: label 1 has '_'", KEY,
		"bad GatewayHostName");
	invalid(H ";" D ";" K ";garbage", "part 4 'garbage' has no '='", KEY,
		"trailing ';garbage'");
	invalid(H ";garbage;" D ";" K, "part 2 'garbage' has no '='", KEY, "part without '='");
	invalid(H ";" D ";;" K, "part 3 is empty", KEY, "';;' in the middle");
	invalid(CANON ";;", "part 4 is empty", KEY, "';;' at the end");
	invalid(";" CANON, "part 1 is empty (the string starts with ';')", KEY, "leading ';'");
	invalid(CANON ";Foo=bar", "unknown key 'Foo'", KEY, "unknown key");
	invalid(CANON ";=bar", "part 4 has no key before '='", KEY, "empty key");
	invalid("hostname=" HOST ";" D ";" K,
		"wrong case key 'hostname' in part 1: write 'HostName'", KEY, "lowercase hostname");
	invalid(H ";DEVICEID=" DEV ";" K, "write 'DeviceId'", KEY, "uppercase DeviceId");
	invalid(CANON ";ModuleId=tempSensor", "ModuleId: module identities are not edge devices",
		KEY, "ModuleId");
	invalid("HostName=" HOST ";SharedAccessKeyName=iothubowner;" K,
		"SharedAccessKeyName: this is an IoT hub (service) connection string", KEY,
		"hub connection string");
	invalid("\"" CANON "'", "mismatched quotes", KEY, "mismatched quotes");
	invalid("\"" CANON, "mismatched quotes", KEY, "opening quote only");
	invalid(CANON "\"", "mismatched quotes", KEY, "closing quote only");
	invalid(H "; " D ";" K, "DeviceId: contains whitespace", KEY, "space after ';'");
	invalid(H ";" D ";SharedAccessKey=5D+cIU6CPdB4fMnc AKelzTd3Bl+LHZFh7fTVGlSvkO0=",
		"SharedAccessKey: contains whitespace",
		"5D+cIU6CPdB4fMncAKelzTd3Bl+LHZFh7fTVGlSvkO0=", "space inside the key");
	invalid(H ";" D "\r\n;" K, "DeviceId: contains whitespace", KEY, "line break inside");
	invalid("", "connection string is empty", KEY, "empty string");
	invalid(" \r\n\t", "connection string is empty", KEY, "only whitespace");
	invalid("\"\"", "connection string is empty", KEY, "only quotes");
	invalid(H ";" D ";" KEY, "unknown key in part 3 (43 characters, not shown)", KEY,
		"key without its label");
	invalid(K ";" H ";" D ";5D+cIU6CPdB=x", "unknown key in part 4", KEY,
		"unknown key that is a piece of the key");
	invalid(K ";" H ";" D ";5D+cIU6C", "part 4 (8 characters, not shown) has no '='", KEY,
		"part without '=' that is a piece of the key");
	invalid(NULL, "no connection string", KEY, "NULL");
	ok(n_invalid >= 25, "at least 25 invalid strings (%d)", n_invalid);
}

static void test_format(void)
{
	struct ap_connstr c = AP_CONNSTR_INIT;
	char buf[AP_CONNSTR_REDACTED_MAX], small[20], fp[AP_CONNSTR_FINGERPRINT_LEN];
	char *s = NULL;
	size_t len = 0;

	is_int(ap_connstr_parse("  '" K ";GatewayHostName=gw.local;" D ";" H "'\n", &c, NULL), 0,
	       "parse a permuted string with a gateway");
	is_int(ap_connstr_format(&c, &s, &len, NULL), 0, "format");
	is_str(s, CANON ";GatewayHostName=gw.local", "format gives the canonical order");
	is_int((int)len, (int)strlen(CANON ";GatewayHostName=gw.local"), "format length");
	ap_secret_free(s, len);
	is_int(ap_connstr_redacted(&c, buf, sizeof(buf)), 0, "redacted");
	is_str(buf, H ";" D ";SharedAccessKey=****;GatewayHostName=gw.local", "redacted text");
	is_int(ap_connstr_redacted(&c, small, sizeof(small)), AP_E_TOOBIG,
	       "redacted into 20 bytes");
	is_int((int)strlen(small), 19, "a cut redacted string is still terminated");
	ap_connstr_key_fingerprint(&c, fp);
	is_str(fp, KEY_FP, "fingerprint is sha256(key text)[0:8]");
	ok(!leaks(buf, KEY) && !leaks(fp, KEY), "redacted forms hold no key");
	ap_connstr_release(&c);
	ap_connstr_key_fingerprint(&c, fp);
	is_str(fp, "", "no fingerprint after release");
	is_int(ap_connstr_format(&c, &s, &len, NULL), AP_E_USAGE, "format after release refused");
}

static void test_secrets(void)
{
	char buf[32];
	char *heap = malloc(16);
	bool zero = true;

	memset(buf, 'x', sizeof(buf));
	ap_secret_wipe(buf, 16);
	for (int i = 0; i < 16; i++)
		zero = zero && buf[i] == 0;
	ok(zero && buf[16] == 'x', "ap_secret_wipe zeroes exactly n bytes");
	ap_secret_wipe(NULL, 0);
	memcpy(heap, "secret-password", 16);
	ap_secret_free(heap, 16);
	ap_secret_free(NULL, 5);
	ok(1, "ap_secret_free on a buffer and on NULL");
}

/* ---- proxy and image ------------------------------------------------------ */

static void proxy_ok(const char *url)
{
	struct ap_err err = AP_ERR_INIT;
	bool v = ap_setting_proxy_url_valid(url, &err);

	ok(v, "proxy '%s' accepted", url);
	if (!v)
		printf("#   error: %s\n", err.msg);
}

static void proxy_bad(const char *url, const char *want, const char *secret, const char *name)
{
	struct ap_err err = AP_ERR_INIT;

	ok(!ap_setting_proxy_url_valid(url, &err), "proxy %s refused", name);
	is_int(err.code, AP_E_USAGE, "proxy %s: usage error", name);
	contains(err.msg, want, "proxy %s: message", name);
	if (secret)
		ok(!strstr(err.msg, secret), "proxy %s: message hides the password", name);
}

static void test_proxy(void)
{
	char buf[256];

	proxy_ok("http://proxy.example.com:3128");
	proxy_ok("https://10.0.0.1:8080/");
	proxy_ok("HTTP://proxy");
	proxy_ok("http://user:pa%40ss@proxy.example.com:3128");
	proxy_ok("http://[fe80::1]:3128");
	proxy_bad("ftp://proxy:21", "start with http:// or https://", NULL, "ftp");
	proxy_bad("proxy.example.com:3128", "start with http:// or https://", NULL, "no scheme");
	proxy_bad("http://", "no host name", NULL, "no host");
	proxy_bad("http://proxy:0", "port 0 is not a number from 1 to 65535", NULL, "port 0");
	proxy_bad("http://proxy:65536", "port 65536", NULL, "port 65536");
	proxy_bad("http://proxy:31a", "the port is not a number", NULL, "port not a number");
	proxy_bad("http://proxy:", "the port is not a number", NULL, "empty port");
	proxy_bad("http://pro xy:3128", "character 11 is a space", NULL, "space");
	proxy_bad("http://proxy:3128\n  evil: true", "character 18 is byte 0x0a", NULL, "newline");
	proxy_bad("http://\"proxy\":3128", "character 8 is '\"'", NULL, "quotes");
	proxy_bad("http://proxy:3128/path", "a path, query or fragment is not allowed", NULL,
		  "path");
	proxy_bad("http://pro_xy:3128", "label 1 has '_'", NULL, "bad host");
	proxy_bad("http://:pw@proxy:3128", "empty user name", NULL, "empty user");
	proxy_bad("http://bob:Sup3rS3cret@proxy:99999", "not a number from 1 to 65535",
		  "Sup3rS3cret", "bad port with credentials");
	proxy_bad("http://bob:Sup3rS3cret@-proxy-:3128", "label 1 starts or ends with '-'",
		  "Sup3rS3cret", "bad host with credentials");
	proxy_bad("http://bob:Sup3r S3cret@proxy:3128", "character 17 is a space", "Sup3r",
		  "space in the password");
	proxy_bad("", "proxy URL is empty", NULL, "empty");

	is_int(ap_setting_proxy_url_redacted("http://bob:Sup3rS3cret@proxy:3128", buf, sizeof(buf)),
	       0, "redact a proxy");
	is_str(buf, "http://****@proxy:3128", "redacted proxy hides user and password");
	ap_setting_proxy_url_redacted("https://proxy:3128/", buf, sizeof(buf));
	is_str(buf, "https://proxy:3128/", "a proxy without credentials is unchanged");
}

static void image_ok(const char *ref)
{
	struct ap_err err = AP_ERR_INIT;
	bool v = ap_setting_image_ref_valid(ref, &err);

	ok(v, "image '%s' accepted", ref);
	if (!v)
		printf("#   error: %s\n", err.msg);
}

static void image_bad(const char *ref, const char *want, const char *name)
{
	struct ap_err err = AP_ERR_INIT;

	ok(!ap_setting_image_ref_valid(ref, &err), "image %s refused", name);
	contains(err.msg, want, "image %s: message", name);
}

static void test_image(void)
{
	image_ok("mcr.microsoft.com/azureiotedge-agent:1.1");
	image_ok("myregistry.azurecr.io:5000/team/edge-agent:1.1.13");
	image_ok("localhost/agent");
	image_ok("agent");
	image_ok("mcr.microsoft.com/azureiotedge-agent@sha256:"
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	image_ok("mcr.microsoft.com/azureiotedge-agent:1.1@sha256:"
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	image_bad("", "image reference is empty", "empty");
	image_bad("MCR.microsoft.com/agent:1", "character 1 is 'M'", "uppercase");
	image_bad("mcr.microsoft.com/agent:1 ", "is a space", "trailing space");
	image_bad("agent:1\n  evil: true", "byte 0x0a", "newline injection");
	image_bad("agent: evil", "is a space", "': ' injection");
	image_bad("agent#1", "character 6 is '#'", "'#'");
	image_bad("/agent:1", "empty path component", "leading '/'");
	image_bad("reg.io//agent", "empty path component", "'//'");
	image_bad("agent:", "the tag after ':' must be 1-128 characters", "empty tag");
	image_bad("agent:1:2", "more than one ':'", "two colons");
	image_bad("reg.io/team:x/agent", "':' is only allowed", "colon in the middle");
	image_bad("agent@sha256:abc", "a digest must be", "short digest");
	image_bad("agent@md5:0123", "a digest must be", "md5 digest");
	image_bad("-agent", "start and end with a letter or digit", "leading '-'");
	image_bad("reg.io/agent-:1", "start and end with a letter or digit",
		  "tagged, trailing '-'");
	image_bad("reg.io/:1", "start and end with a letter or digit", "only a tag");
	image_bad("reg.io:5x/agent", "the registry port is not a number", "bad registry port");
}

/* ---- device configuration -------------------------------------------------- */

static char *get(const char *yaml, const char *path)
{
	struct ap_err err = AP_ERR_INIT;
	char *v = (char *)"(unset)";
	int rc = ap_devconfig_get(yaml, strlen(yaml), path, &v, &err);

	if (rc < 0) {
		printf("#   get %s: %s\n", path, err.msg);
		return NULL;
	}
	return v;
}

static void is_get(const char *yaml, const char *path, const char *want, const char *name)
{
	char *v = get(yaml, path);

	is_str(v, want, "%s: %s", name, path);
	if (v)
		ap_secret_free(v, strlen(v));
}

static long count_keys(const char *yaml, const char *path)
{
	struct ap_err err = AP_ERR_INIT;
	size_t n = 0;

	if (ap_devconfig_count_keys(yaml, strlen(yaml), path, &n, &err) < 0) {
		printf("#   count %s: %s\n", path, err.msg);
		return -1;
	}
	return (long)n;
}

static char *apply(const char *tmpl, const char *existing, const struct ap_devconfig_settings *s,
		   size_t *len, const char *name)
{
	struct ap_err err = AP_ERR_INIT;
	char *out = NULL;
	int rc = ap_devconfig_apply(tmpl, tmpl ? strlen(tmpl) : 0, existing,
				    existing ? strlen(existing) : 0, s, &out, len, &err);

	is_int(rc, 0, "%s: applied", name);
	if (rc < 0) {
		printf("#   error: %s\n", err.msg);
		return NULL;
	}
	is_int((int)strlen(out), (int)*len, "%s: length matches", name);
	return out;
}

static void apply_bad(const char *tmpl, const char *existing, const struct ap_devconfig_settings *s,
		      int code, const char *want, const char *name)
{
	struct ap_err err = AP_ERR_INIT;
	char *out = (char *)"untouched";
	size_t len = 12345;
	int rc = ap_devconfig_apply(tmpl, tmpl ? strlen(tmpl) : 0, existing,
				    existing ? strlen(existing) : 0, s, &out, &len, &err);

	is_int(rc, code, "%s: refused", name);
	contains(err.msg, want, "%s: message", name);
	ok(!leaks(err.msg, KEY), "%s: message holds no key", name);
	ok(strcmp(out, "untouched") == 0 && len == 12345, "%s: outputs untouched", name);
}

/* The hostname: --hostname replaces whatever the file holds; the device's
 * name fills only a hostname that is absent, empty or a placeholder. */
static void test_apply_hostname(void)
{
	struct ap_devconfig_settings s = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_err err = AP_ERR_INIT;
	const char *placeholder = "hostname: \"<ADD HOSTNAME HERE>\"\nhomedir: \"C:\\\\x\"\n";
	const char *named = "hostname: \"set-by-hand\"\n";
	char *out;
	size_t len = 0;

	s.device_hostname = "edge-01";
	out = apply(placeholder, NULL, &s, &len, "device name over a placeholder");
	if (out) {
		is_get(out, "hostname", "edge-01", "device name over a placeholder");
		is_get(out, "homedir", "C:\\x", "device name over a placeholder");
		ap_secret_free(out, len);
	}
	out = apply(NULL, named, &s, &len, "device name over a set name");
	if (out) {
		is_get(out, "hostname", "set-by-hand", "device name keeps a set name");
		ap_secret_free(out, len);
	}
	out = apply(NULL, "homedir: x\n", &s, &len, "device name where there is none");
	if (out) {
		is_get(out, "hostname", "edge-01", "device name where there is none");
		ap_secret_free(out, len);
	}
	out = apply(NULL, "hostname: ~\n", &s, &len, "device name over null");
	if (out) {
		is_get(out, "hostname", "edge-01", "device name over null");
		ap_secret_free(out, len);
	}
	s.hostname = "given.example";
	out = apply(NULL, named, &s, &len, "--hostname over a set name");
	if (out) {
		is_get(out, "hostname", "given.example", "--hostname replaces a set name");
		ap_secret_free(out, len);
	}
	is_int(ap_devconfig_hostname_check("bad_name", "--hostname", &err), AP_E_USAGE,
	       "a name with '_' is refused");
	contains(err.msg, "--hostname", "the message names the option");
	is_int(ap_devconfig_hostname_check("a2345678901234567890123456789012345678901234567890"
					   "12345678901234.x",
					   "--hostname", &err),
	       AP_E_USAGE, "a name over 64 characters is refused");
	is_int(ap_devconfig_hostname_check("EDGE-01", "--hostname", &err), 0,
	       "a computer name in capitals is taken");
}

static void test_apply_template(void)
{
	struct ap_devconfig_settings s = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_devconfig_info info = AP_DEVCONFIG_INFO_INIT;
	struct ap_err err = AP_ERR_INIT;
	size_t tlen, len1 = 0, len2 = 0;
	char *tmpl = read_fixture("config.template.yaml", &tlen);
	char *out1, *out2;

	is_int(ap_devconfig_read(tmpl, tlen, &info, &err), 0, "read the template");
	ok(!info.provisioned, "the template is not provisioned");
	contains(info.problem, "provisioning.device_connection_string:",
		 "the problem names device_connection_string");
	is_str(info.source, "manual", "template source");
	is_str(info.agent_image, "mcr.microsoft.com/azureiotedge-agent:1.1", "template image");
	ap_devconfig_info_release(&info);

	s.connection_string = "\"" K ";" D ";" H "\"\r\n";
	out1 = apply(tmpl, NULL, &s, &len1, "first provision");
	if (!out1)
		return;
	is_get(out1, "provisioning.source", "manual", "first");
	is_get(out1, "provisioning.device_connection_string", CANON, "first");
	contains(out1, "device_connection_string: \"" CANON "\"",
		 "the connection string is a double-quoted scalar");
	is_get(out1, "provisioning.dynamic_reprovisioning", "false", "first");
	is_get(out1, "hostname", "airpack-test-device", "first");
	is_get(out1, "homedir", "/var/lib/iotedge", "first");
	is_get(out1, "moby_runtime.uri", "unix:///var/run/docker.sock", "first");
	is_get(out1, "moby_runtime.network", "azure-iot-edge", "first");
	is_get(out1, "connect.workload_uri", "unix:///var/run/iotedge/workload.sock", "first");
	is_get(out1, "listen.management_uri", "fd://iotedge.mgmt.socket", "first");
	is_get(out1, "agent.name", "edgeAgent", "first");
	is_get(out1, "agent.config.image", "mcr.microsoft.com/azureiotedge-agent:1.1", "first");
	is_get(out1, "airpack_test.keep", "kept value", "first");
	is_get(out1, "airpack_test.flag", "true", "first");
	is_get(out1, "airpack_test.multi", "line one\nline two\n", "first");
	is_int(count_keys(out1, "airpack_test"), 4, "custom mapping keeps its 4 keys");
	is_int(count_keys(out1, ""), 8, "top level still has 8 keys");
	is_int(count_keys(out1, "provisioning"), 3, "provisioning has 3 keys");
	ok(!strstr(out1, "# airpack test fixture"), "comments are dropped (documented)");
	ok(!strstr(out1, "ADD DEVICE CONNECTION STRING"), "the placeholder is gone");

	is_int(ap_devconfig_read(out1, len1, &info, &err), 0, "read the first result");
	ok(info.provisioned, "provisioned after the first apply");
	is_str(info.host_name, HOST, "status host name");
	is_str(info.device_id, DEV, "status device id");
	is_str(info.key_fingerprint, KEY_FP, "status key fingerprint");
	is_str(info.problem, "", "no problem");
	ap_devconfig_info_release(&info);

	/* The second string replaces the first; the template is ignored when a
	 * file exists. */
	s.connection_string = "HostName=fabrikam.azure-devices.net;DeviceId=line-7:press;"
			      "SharedAccessKey=" KEY2;
	out2 = apply(tmpl, out1, &s, &len2, "second provision");
	if (out2) {
		is_get(out2, "provisioning.device_connection_string",
		       "HostName=fabrikam.azure-devices.net;DeviceId=line-7:press;"
		       "SharedAccessKey=" KEY2,
		       "second");
		ok(!strstr(out2, KEY) && !strstr(out2, HOST) && !strstr(out2, DEV),
		   "nothing of the first identity is left");
		is_get(out2, "hostname", "airpack-test-device", "second");
		is_get(out2, "homedir", "/var/lib/iotedge", "second");
		is_get(out2, "moby_runtime.uri", "unix:///var/run/docker.sock", "second");
		is_get(out2, "airpack_test.keep", "kept value", "second");
		{
			char *v = (char *)"untouched";

			is_int(ap_devconfig_get(out2, len2, "airpack_test.numbers", &v, &err),
			       AP_E_USAGE, "get on a sequence is refused");
			contains(err.msg, "'airpack_test.numbers' is a sequence (line",
				 "and says so");
			ok(strcmp(v, "untouched") == 0, "get leaves its output alone on failure");
		}
		is_int(count_keys(out2, "airpack_test.numbers"), -1,
		       "count_keys on a sequence fails");
		is_int(count_keys(out2, ""), 8, "second: top level still has 8 keys");
		is_int(count_keys(out2, "provisioning"), 3, "second: provisioning has 3 keys");
		is_int(ap_devconfig_read(out2, len2, &info, &err), 0, "read the second result");
		is_str(info.device_id, "line-7:press", "status shows the second device");
		is_str(info.host_name, "fabrikam.azure-devices.net", "status shows the second hub");
		ap_devconfig_info_release(&info);
		ap_secret_free(out2, len2);
	}
	ap_secret_free(out1, len1);
	free(tmpl);
}

static void test_apply_agent(void)
{
	struct ap_devconfig_settings s = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_devconfig_info info = AP_DEVCONFIG_INFO_INIT;
	struct ap_err err = AP_ERR_INIT;
	const char *tricky = "p: w #c \"q\" 'r' \\ {evil: true} [x] &a *a !t |>%@`";
	size_t tlen, len = 0;
	char *tmpl = read_fixture("config.template.yaml", &tlen);
	char *out;

	s.connection_string = CANON;
	s.agent_image = "myregistry.azurecr.io/edge/azureiotedge-agent:1.1.13";
	s.registry_user = "myregistry";
	s.registry_password = tricky;
	s.proxy_url = "http://bob:Sup3rS3cret@proxy.example.com:3128";
	out = apply(tmpl, NULL, &s, &len, "agent settings");
	if (!out)
		return;
	is_get(out, "agent.config.image", s.agent_image, "agent");
	is_get(out, "agent.config.auth.serveraddress", "myregistry.azurecr.io",
	       "agent (address from the image)");
	is_get(out, "agent.config.auth.username", "myregistry", "agent");
	is_get(out, "agent.config.auth.password", tricky, "agent (password intact)");
	is_get(out, "agent.env.https_proxy", s.proxy_url, "agent");
	is_get(out, "agent.name", "edgeAgent", "agent");
	is_get(out, "evil", NULL, "agent (no injected key)");
	is_int(count_keys(out, ""), 8, "agent: top level still has 8 keys");
	is_int(count_keys(out, "agent.config.auth"), 3, "auth has exactly 3 keys");
	is_int(count_keys(out, "agent.env"), 1, "env has exactly 1 key");
	is_int(count_keys(out, "agent"), 4, "agent has its 4 keys");

	is_int(ap_devconfig_read(out, len, &info, &err), 0, "read agent settings");
	is_str(info.agent_image, s.agent_image, "status image");
	is_str(info.registry_address, "myregistry.azurecr.io", "status registry");
	is_str(info.registry_user, "myregistry", "status user");
	is_str(info.proxy_redacted, "http://****@proxy.example.com:3128", "status proxy redacted");
	ap_devconfig_info_release(&info);
	ap_devconfig_info_release(&info);

	/* Only a proxy: provisioning stays as it is, the proxy is replaced. */
	{
		struct ap_devconfig_settings p = AP_DEVCONFIG_SETTINGS_INIT;
		size_t len2 = 0;
		char *out2;

		p.proxy_url = "https://proxy2:8443";
		p.registry_address = NULL;
		out2 = apply(NULL, out, &p, &len2, "proxy only");
		if (out2) {
			is_get(out2, "agent.env.https_proxy", "https://proxy2:8443", "proxy only");
			is_get(out2, "provisioning.device_connection_string", CANON, "proxy only");
			is_get(out2, "agent.config.auth.password", tricky, "proxy only");
			ap_secret_free(out2, len2);
		}
	}
	/* An explicit registry address wins over the image's. */
	{
		struct ap_devconfig_settings r = AP_DEVCONFIG_SETTINGS_INIT;
		size_t len3 = 0;
		char *out3;

		r.registry_address = "registry.local:5000";
		r.registry_user = "u";
		r.registry_password = "pw";
		out3 = apply(NULL, out, &r, &len3, "registry address");
		if (out3) {
			is_get(out3, "agent.config.auth.serveraddress", "registry.local:5000",
			       "registry address");
			is_get(out3, "agent.config.auth.password", "pw", "registry address");
			is_get(out3, "agent.config.image", s.agent_image, "registry address");
			ap_secret_free(out3, len3);
		}
	}
	ap_secret_free(out, len);
	free(tmpl);
}

static void test_apply_injection(void)
{
	struct ap_devconfig_settings s = AP_DEVCONFIG_SETTINGS_INIT;
	const char *yamlish = "a:b=c@d$e'f!g*h?i(j)k,l%m.n_o-p";
	char conn[512];
	size_t len = 0;
	char *out;

	/* YAML indicators that DeviceId allows stay inside the scalar. */
	snprintf(conn, sizeof(conn), H ";DeviceId=%s;" K, yamlish);
	s.connection_string = conn;
	out = apply(NULL, NULL, &s, &len, "YAML indicators in DeviceId");
	if (out) {
		is_get(out, "provisioning.device_connection_string", conn, "indicators");
		is_int(count_keys(out, ""), 1, "indicators: only provisioning at the top");
		is_int(count_keys(out, "provisioning"), 2, "indicators: provisioning has 2 keys");
		ap_secret_free(out, len);
	}
	/* Line breaks, ': ' and '#' never get that far. */
	s.connection_string = H ";DeviceId=dev\n  evil: true;" K;
	apply_bad(NULL, NULL, &s, AP_E_INPUT, "DeviceId: contains whitespace",
		  "newline in DeviceId");
	s.connection_string = H ";DeviceId=dev: evil;" K;
	apply_bad(NULL, NULL, &s, AP_E_INPUT, "DeviceId: contains whitespace", "': ' in DeviceId");
	s.connection_string = H ";DeviceId=dev#evil;" K;
	apply_bad(NULL, NULL, &s, AP_E_INPUT, "DeviceId: character 4 is '#'", "'#' in DeviceId");
	s.connection_string = NULL;
	s.agent_image = "agent:1\n  evil: true";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "agent image", "newline in the image");
	s.agent_image = "agent: evil";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "is a space", "': ' in the image");
	s.agent_image = NULL;
	s.registry_address = "reg.io";
	s.registry_user = "u";
	s.registry_password = "pw\n  evil: true";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "registry password: character 3 is a control",
		  "newline in the password");
	s.registry_password = "pw";
	s.registry_user = "u ser";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "registry user: character 2 is a space",
		  "space in the user");
	s.registry_user = NULL;
	s.registry_password = NULL;
	s.registry_address = NULL;
	s.proxy_url = "http://proxy:3128\n  evil: true";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "proxy URL: character 18", "newline in the proxy");
	s.proxy_url = "http://bob:Sup3rS3cret@proxy:0";
	{
		struct ap_err err = AP_ERR_INIT;
		char *o = NULL;
		size_t l = 0;

		ap_devconfig_apply(NULL, 0, NULL, 0, &s, &o, &l, &err);
		ok(!strstr(err.msg, "Sup3rS3cret"), "proxy error hides the password: %s", err.msg);
	}
}

static void test_apply_shapes(void)
{
	struct ap_devconfig_settings s = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_devconfig_info info = AP_DEVCONFIG_INFO_INIT;
	struct ap_err err = AP_ERR_INIT;
	size_t n, len = 0;
	char *fx, *out, *big;

	s.connection_string = CANON;

	/* Another provisioning method is replaced, its keys removed. */
	fx = read_fixture("provisioning-dps.yaml", &n);
	is_int(ap_devconfig_read(fx, n, &info, &err), 0, "read a dps configuration");
	ok(!info.provisioned, "dps is not manual provisioning");
	contains(info.problem, "provisioning.source is 'dps', not 'manual'", "dps problem");
	ap_devconfig_info_release(&info);
	out = apply(NULL, fx, &s, &len, "over dps");
	if (out) {
		is_get(out, "provisioning.source", "manual", "over dps");
		is_get(out, "provisioning.global_endpoint", NULL, "over dps");
		is_get(out, "provisioning.scope_id", NULL, "over dps");
		is_get(out, "provisioning.dynamic_reprovisioning", "true", "over dps");
		is_get(out, "hostname", "dps-device", "over dps");
		ok(!strstr(out, "attestation") && !strstr(out, "dGhpcyBpcyBub3Qg"),
		   "the dps attestation and its key are gone");
		ap_secret_free(out, len);
	}
	free(fx);

	out = apply(NULL, NULL, &s, &len, "no template, no file");
	if (out) {
		is_int(count_keys(out, ""), 1, "an empty mapping gets provisioning only");
		is_get(out, "provisioning.device_connection_string", CANON, "empty base");
		ap_secret_free(out, len);
	}
	out = apply(NULL, "", &s, &len, "empty existing file");
	if (out) {
		is_int(count_keys(out, ""), 1, "an empty file is an empty mapping");
		ap_secret_free(out, len);
	}
	out = apply("hostname: from-template\n", "# only a comment\n", &s, &len,
		    "comment-only existing file");
	if (out) {
		is_get(out, "hostname", NULL, "existing file wins over the template");
		ap_secret_free(out, len);
	}
	out = apply(NULL, "provisioning:\nhostname: h\nagent:\n  env: ~\n", &s, &len,
		    "null provisioning");
	if (out) {
		is_get(out, "provisioning.source", "manual", "null provisioning becomes a mapping");
		is_get(out, "hostname", "h", "null provisioning");
		ap_secret_free(out, len);
	}
	{
		struct ap_devconfig_settings p = AP_DEVCONFIG_SETTINGS_INIT;

		p.proxy_url = "http://proxy:3128";
		out = apply(NULL, "agent:\n  env: ~\n  name: edgeAgent\n", &p, &len, "null env");
		if (out) {
			is_get(out, "agent.env.https_proxy", "http://proxy:3128", "null env");
			is_get(out, "agent.name", "edgeAgent", "null env");
			ap_secret_free(out, len);
		}
		p.proxy_url = NULL;
		p.agent_image = "agent:2";
		apply_bad(NULL, "agent: \"x\"\n", &p, AP_E_STATE,
			  "existing configuration: 'agent' is a scalar (line 1), expected a "
			  "mapping",
			  "agent is a scalar");
		apply_bad(NULL, "agent:\n  config: [1, 2]\n", &p, AP_E_STATE,
			  "'agent.config' is a sequence (line 2), expected a mapping",
			  "agent.config is a sequence");
	}

	fx = read_fixture("invalid-syntax.yaml", &n);
	apply_bad(NULL, fx, &s, AP_E_STATE, "existing configuration: invalid YAML at line 3",
		  "invalid existing YAML");
	apply_bad(fx, NULL, &s, AP_E_MANIFEST, "configuration template: invalid YAML at line 3",
		  "invalid template YAML");
	is_int(ap_devconfig_read(fx, n, &info, &err), AP_E_STATE, "read invalid YAML");
	contains(err.msg, "configuration: invalid YAML at line 3", "read names the line");
	free(fx);
	fx = read_fixture("root-sequence.yaml", &n);
	apply_bad(NULL, fx, &s, AP_E_STATE,
		  "the top level is a sequence (line 1), expected a mapping", "root is a sequence");
	free(fx);
	apply_bad(NULL, "just a scalar\n", &s, AP_E_STATE, "the top level is a scalar",
		  "root is a scalar");
	fx = read_fixture("provisioning-scalar.yaml", &n);
	apply_bad(NULL, fx, &s, AP_E_STATE,
		  "'provisioning' is a scalar (line 1), expected a mapping",
		  "provisioning is a scalar");
	free(fx);
	apply_bad(NULL, "provisioning: [a]\n", &s, AP_E_STATE, "'provisioning' is a sequence",
		  "provisioning is a sequence");
	apply_bad(NULL, "provisioning:\n  source: a\nhostname: h\nprovisioning:\n  source: b\n", &s,
		  AP_E_STATE, "duplicate key 'provisioning' (lines 1 and 4)", "duplicate top key");
	apply_bad(NULL, "provisioning:\n  source: a\n  source: b\n", &s, AP_E_STATE,
		  "duplicate key 'provisioning.source' (lines 2 and 3)", "duplicate inner key");
	apply_bad(NULL, "base: &b\n  source: dps\nprovisioning: *b\n", &s, AP_E_STATE,
		  "'provisioning' (line 1) is shared with other keys through a YAML alias",
		  "aliased provisioning");
	apply_bad(NULL, "a: 1\n---\nb: 2\n", &s, AP_E_STATE,
		  "more than one YAML document (the second starts at line 2)", "two documents");
	apply_bad(NULL, "a: *nope\n", &s, AP_E_STATE, "found undefined alias", "undefined alias");
	apply_bad(NULL, "a: \"\xff\"\n", &s, AP_E_STATE, "invalid YAML", "invalid UTF-8");
	{
		char deep[256];

		snprintf(deep, sizeof(deep), "a: %.*s%.*s\n", 100,
			 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
			 100,
			 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
			 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
		apply_bad(NULL, deep, &s, AP_E_STATE, "nested deeper than 64 levels",
			  "deep nesting");
	}
	big = malloc(AP_DEVCONFIG_MAX_YAML + 2);
	if (big) {
		memset(big, ' ', AP_DEVCONFIG_MAX_YAML + 1);
		big[AP_DEVCONFIG_MAX_YAML + 1] = '\0';
		apply_bad(NULL, big, &s, AP_E_TOOBIG, "bytes of YAML, at most", "too large");
		free(big);
	}
	out = apply("a: 1\n", NULL, &s, &len, "template alone");
	if (out) {
		is_get(out, "a", "1", "template alone");
		ap_secret_free(out, len);
	}

	s.connection_string = H ";" D;
	apply_bad(NULL, NULL, &s, AP_E_INPUT, "device connection string: missing SharedAccessKey",
		  "bad connection string");
	s.connection_string = NULL;
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "nothing to configure", "no settings");
	apply_bad(NULL, NULL, NULL, AP_E_USAGE, "nothing to configure", "NULL settings");
	s.registry_user = "u";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "give both or neither", "user without password");
	s.registry_password = "p";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "registry credentials need the registry address",
		  "credentials without a registry");
	s.agent_image = "edgeagent/agent:1";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "registry credentials need the registry address",
		  "credentials with a Docker Hub image");
	s.registry_user = NULL;
	s.registry_password = NULL;
	s.agent_image = NULL;
	s.registry_address = "reg.io";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "a registry address needs a registry user",
		  "address alone");
	s.registry_user = "u";
	s.registry_password = "p";
	s.registry_address = "reg_io:5000";
	apply_bad(NULL, NULL, &s, AP_E_USAGE, "registry address: label 1 has '_'",
		  "bad registry address");

	is_int(ap_devconfig_read("hostname: h\n", 12, &info, &err), 0, "read without provisioning");
	ok(!info.provisioned, "not provisioned without a section");
	is_str(info.problem, "no provisioning section", "problem without a section");
	ap_devconfig_info_release(&info);
	is_int(ap_devconfig_read("- a\n", 4, &info, &err), AP_E_STATE, "read a sequence root");
	contains(err.msg, "configuration: the top level is a sequence", "read root message");
	{
		const char *y = "provisioning:\n  source: manual\n  device_connection_string: "
				"\"HostName=h.io;DeviceId=d;SharedAccessKey=" KEY8 "\"\n";

		is_int(ap_devconfig_read(y, strlen(y), &info, &err), 0, "read a bad stored string");
		ok(!info.provisioned, "a stored string that does not parse is not provisioned");
		contains(info.problem, "SharedAccessKey: decodes to 8 bytes", "its problem");
		ok(!leaks(info.problem, KEY8), "the problem holds no key");
		ok(!info.host_name && !info.device_id, "no identity shown");
		ap_devconfig_info_release(&info);
	}
}

/* Decode bytes in a secret buffer as ap_connstr_decode gets them from a file. */
static int decode(const void *bytes, size_t n, char **out, size_t *outlen, struct ap_err *err)
{
	char *b = malloc(n + 1);
	int rc;

	if (!b)
		return AP_E_NOMEM;
	memcpy(b, bytes, n);
	b[n] = '\0';
	*outlen = n;
	rc = ap_connstr_decode(&b, outlen, err);
	if (rc) {
		ap_secret_free(b, n);
		return rc;
	}
	*out = b;
	return 0;
}

/* UTF-16LE of an ASCII string, with the byte order mark when bom. */
static size_t utf16le(const char *s, bool bom, unsigned char *o)
{
	size_t w = 0;

	if (bom) {
		o[w++] = 0xff;
		o[w++] = 0xfe;
	}
	for (; *s; s++) {
		o[w++] = (unsigned char)*s;
		o[w++] = 0;
	}
	return w;
}

/* ap_connstr_decode: what Windows tools save (a UTF-8 byte order mark,
 * UTF-16LE with one) becomes the text; other encodings are named. */
static void test_decode(void)
{
	static const char latin1[] = "HostName=h\xe9.net;" D ";" K;
	unsigned char u16[512];
	struct ap_connstr c;
	struct ap_err err = AP_ERR_INIT;
	char *out = NULL;
	size_t n, len;

	n = (size_t)snprintf((char *)u16, sizeof(u16), "\xef\xbb\xbf%s\r\n", CANON);
	if (ok(decode(u16, n, &out, &len, &err) == 0, "a UTF-8 BOM: decoded (%s)", err.msg)) {
		is_str(out, CANON "\r\n", "the BOM is gone");
		is_int((int)len, (int)strlen(CANON "\r\n"), "and the length is the text's");
		is_int(ap_connstr_parse(out, &c, &err), 0, "a UTF-8 BOM: parses (%s)", err.msg);
		ap_connstr_release(&c);
		ap_secret_free(out, len);
	}
	n = utf16le(CANON "\r\n", true, u16);
	if (ok(decode(u16, n, &out, &len, &err) == 0, "UTF-16LE with BOM: decoded (%s)", err.msg)) {
		is_str(out, CANON "\r\n", "UTF-16LE: the text");
		is_int(ap_connstr_parse(out, &c, &err), 0, "UTF-16LE: parses (%s)", err.msg);
		is_str(c.device_id, DEV, "UTF-16LE: the device id");
		ap_connstr_release(&c);
		ap_secret_free(out, len);
	}
	/* A non-ASCII character survives decoding (and the parser names it). */
	n = utf16le("DeviceId=d", true, u16);
	u16[n++] = 0xe9; /* U+00E9 */
	u16[n++] = 0x00;
	u16[n++] = 0x3d; /* U+D83D U+DE00, a surrogate pair */
	u16[n++] = 0xd8;
	u16[n++] = 0x00;
	u16[n++] = 0xde;
	if (ok(decode(u16, n, &out, &len, &err) == 0, "UTF-16LE, non-ASCII: decoded")) {
		is_str(out, "DeviceId=d\xc3\xa9\xf0\x9f\x98\x80", "UTF-8 of U+00E9 and U+1F600");
		ap_secret_free(out, len);
	}

	n = utf16le(CANON, false, u16);
	is_int(decode(u16, n, &out, &len, &err), AP_E_INPUT, "UTF-16LE without BOM: refused");
	contains(err.msg, "UTF-16 without a byte order mark", "named as UTF-16 without BOM");
	ok(!leaks(err.msg, KEY), "without BOM: the message does not hold the key");
	u16[0] = 0xfe;
	u16[1] = 0xff;
	is_int(decode(u16, n, &out, &len, &err), AP_E_INPUT, "UTF-16BE: refused");
	contains(err.msg, "UTF-16 big-endian", "named as UTF-16 big-endian");
	n = utf16le(CANON, true, u16);
	is_int(decode(u16, n - 1, &out, &len, &err), AP_E_INPUT, "odd UTF-16LE: refused");
	contains(err.msg, "odd number of bytes", "named as cut short");
	u16[2] = 0x00;
	u16[3] = 0xdc;
	is_int(decode(u16, n, &out, &len, &err), AP_E_INPUT, "unpaired surrogate: refused");
	contains(err.msg, "unpaired surrogate (unit 1)", "the unit is named");
	is_int(decode(latin1, sizeof(latin1) - 1, &out, &len, &err), AP_E_INPUT,
	       "Latin-1: refused");
	contains(err.msg, "not UTF-8 (byte 11 is 0xe9)", "the byte and its value are named");
	is_int(decode("Host\0Name", 9, &out, &len, &err), AP_E_INPUT, "a NUL byte: refused");
	contains(err.msg, "a NUL byte (byte 5)", "the NUL byte is named");
	if (ok(decode(CANON, strlen(CANON), &out, &len, &err) == 0, "plain UTF-8: kept")) {
		is_str(out, CANON, "plain text is unchanged");
		ap_secret_free(out, len);
	}
}

/* ap_iotedge_read_inputs and ap_iotedge_event: the settings checked before
 * any secret is read, the password's line break dropped, and facts that
 * hold no secret. */
static void test_inputs_and_event(void)
{
	struct ap_iotedge_inputs in;
	struct ap_iotedge_secrets s;
	struct ap_devconfig_settings set = AP_DEVCONFIG_SETTINGS_INIT;
	struct ap_configure_result res;
	struct ap_history_field det[AP_IOTEDGE_N_DETAILS];
	struct ap_iotedge ie;
	struct ap_err err = AP_ERR_INIT;
	char msg[AP_IOTEDGE_MESSAGE_MAX];
	char *dir = tu_mkdtemp("ap-test-provision");
	char *pwfile = dir ? ap_fsx_path_join(dir, "pw") : NULL;
	size_t n;
	bool leaked = false;

	memset(&in, 0, sizeof(in));
	in.cs_text = "'" CANON "'";
	in.proxy = "not a url";
	is_int(ap_iotedge_read_inputs(&in, &s, &err), AP_E_USAGE, "a bad proxy is refused");
	contains(err.msg, "--proxy", "the error names the option");
	ok(!s.cs, "before the connection string is read");
	ap_iotedge_secrets_release(&s);

	if (!pwfile || tu_write(pwfile, "s3cret\r\n", 8) != 0)
		printf("# cannot write the password file\n");
	in.proxy = NULL;
	in.registry_password_file = pwfile;
	is_int(ap_iotedge_read_inputs(&in, &s, &err), 0, "inputs read (%s)", err.msg);
	ok(s.cs_copied && s.c.quotes_stripped, "the text was copied and its quotes noted");
	is_str(s.pw, "s3cret", "the password loses its line break");

	set.connection_string = s.cs;
	set.registry_user = "me";
	set.registry_password = s.pw;
	ap_iotedge_init(&ie, &set, &s.c);
	memset(&res, 0, sizeof(res));
	res.config_path = "etc/aziot/config.yaml";
	memset(res.config_sha256, 'a', AP_SHA256_HEX - 1);
	n = ap_iotedge_event(&ie, &res, msg, det);
	is_int((int)n, 6, "path, sha256, connection, fingerprint, quotes, registry user");
	contains(msg, "device '" DEV "' on hub '" HOST "'", "the message names device and hub");
	for (size_t i = 0; i < n; i++)
		leaked = leaked || leaks(det[i].value, KEY) || leaks(det[i].value, "s3cret");
	ok(!leaked && !leaks(msg, KEY), "no fact holds the key or the password");
	ap_iotedge_secrets_release(&s);

	/* A file PowerShell 5.1 wrote with '>': UTF-16LE with a BOM and CRLF. */
	{
		unsigned char u16[512];
		size_t m = utf16le(CANON "\r\n", true, u16);
		char *csfile = dir ? ap_fsx_path_join(dir, "cs.txt") : NULL;

		if (!csfile || tu_write(csfile, (const char *)u16, m) != 0)
			printf("# cannot write the connection string file\n");
		memset(&in, 0, sizeof(in));
		in.cs_file = csfile;
		is_int(ap_iotedge_read_inputs(&in, &s, &err), 0, "a UTF-16LE file is read (%s)",
		       err.msg);
		is_str(s.c.device_id, DEV, "and parsed");
		ap_iotedge_secrets_release(&s);
		if (csfile && tu_write(csfile, (const char *)u16 + 2, m - 2) != 0)
			printf("# cannot write the connection string file\n");
		is_int(ap_iotedge_read_inputs(&in, &s, &err), AP_E_INPUT,
		       "without its BOM: invalid input");
		contains(err.msg, "reading the connection string: the text holds NUL bytes",
			 "the encoding is named");
		ap_iotedge_secrets_release(&s);
		free(csfile);
	}

	in.cs_file = NULL;
	in.cs_text = CANON;
	in.registry_password_file = "/nonexistent/pw";
	is_int(ap_iotedge_read_inputs(&in, &s, &err) != 0, 1, "an unreadable password file");
	contains(err.msg, "reading the registry password", "says what it was reading");
	ap_iotedge_secrets_release(&s);
	if (dir)
		tu_rm_rf(dir);
	free(pwfile);
	free(dir);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_format();
	test_secrets();
	test_proxy();
	test_image();
	test_apply_template();
	test_apply_hostname();
	test_apply_agent();
	test_apply_injection();
	test_apply_shapes();
	test_decode();
	test_inputs_and_event();
	return tap_done();
}
