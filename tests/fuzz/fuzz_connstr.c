/* fuzz_connstr.c - ap_connstr_parse (and the IoT Edge layer's setting
 * validators, iotedge/setting.h) from memory.  A string that parses must format to a
 * canonical string that parses to the same parts and formats to the same
 * bytes; its redacted form must be that string with the key shown as "****"
 * and its fingerprint must be the key text's SHA-256.  A string that does
 * not parse must say why without quoting the key, and leave the
 * out-parameter alone. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/digest.h"
#include "airpack/secret.h"
#include "iotedge/connstr.h"
#include "iotedge/setting.h"
#include "fuzz.h"

#define MAX_INPUT 4096

static bool same(const char *a, const char *b)
{
	return (a && b) ? strcmp(a, b) == 0 : a == b;
}

/* Where the first "SharedAccessKey=" value starts in s and its length, when
 * that value is at least 8 characters and occurs once in s. */
static bool key_in(const char *s, size_t *off, size_t *len)
{
	const char *p = strstr(s, "SharedAccessKey=");
	char *key;
	bool once;
	size_t n;

	if (!p)
		return false;
	p += strlen("SharedAccessKey=");
	n = strcspn(p, ";\"' \t\r\n");
	if (n < 8)
		return false;
	key = malloc(n + 1);
	if (!key)
		return false;
	memcpy(key, p, n);
	key[n] = '\0';
	once = strstr(s, key) == p && !strstr(p + 1, key);
	free(key);
	*off = (size_t)(p - s);
	*len = n;
	return once;
}

/* Change every letter and digit to another of its kind. */
static char rotate(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return (char)('A' + (ch - 'A' + 7) % 26);
	if (ch >= 'a' && ch <= 'z')
		return (char)('a' + (ch - 'a' + 7) % 26);
	if (ch >= '0' && ch <= '9')
		return (char)('0' + (ch - '0' + 3) % 10);
	return ch;
}

/* A failed parse must not show the key.  The key's text may also be part of
 * the message for other reasons (a key value "DeviceId" matches the list of
 * expected keys), so the input is parsed again with the key's letters and
 * digits changed: text that was in the first message only because of the key
 * is then gone from the second. */
static void check_no_key_in_error(const char *in, const struct ap_err *err)
{
	struct ap_err err2 = AP_ERR_INIT;
	struct ap_connstr c2 = AP_CONNSTR_INIT;
	size_t off, len;
	char *key, *in2;

	if (!key_in(in, &off, &len))
		return;
	key = malloc(len + 1);
	in2 = strdup(in);
	if (!key || !in2) {
		free(key);
		free(in2);
		return;
	}
	memcpy(key, in + off, len);
	key[len] = '\0';
	for (size_t i = 0; i < len; i++)
		in2[off + i] = rotate(in2[off + i]);
	if (strstr(err->msg, key)) {
		if (ap_connstr_parse(in2, &c2, &err2) == 0)
			ap_connstr_release(&c2); /* no second message to compare with */
		else
			FUZZ_CHECK(strstr(err2.msg, key) != NULL, "the error shows the key: %s",
				   err->msg);
	}
	free(key);
	free(in2);
}

static void check_parsed(const char *in, const struct ap_connstr *c)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_connstr back;
	char redacted[AP_CONNSTR_REDACTED_MAX], want[AP_CONNSTR_REDACTED_MAX];
	char fp[AP_CONNSTR_FINGERPRINT_LEN], hex[AP_SHA256_HEX];
	char *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	int rc;

	FUZZ_CHECK(c->host_name && c->device_id && c->shared_access_key,
		   "a parsed string lacks a required part: '%s'", in);
	FUZZ_CHECK(c->key_bytes >= AP_CONNSTR_KEY_MIN_BYTES &&
			   c->key_bytes <= AP_CONNSTR_KEY_MAX_BYTES,
		   "key of %zu bytes accepted", c->key_bytes);
	FUZZ_CHECK(strlen(c->device_id) <= AP_CONNSTR_DEVICE_ID_MAX, "DeviceId too long accepted");
	FUZZ_CHECK(strlen(c->host_name) <= AP_CONNSTR_HOST_NAME_MAX, "HostName too long accepted");

	rc = ap_connstr_format(c, &s1, &l1, &err);
	FUZZ_CHECK(rc == 0, "format failed: %s", err.msg);
	FUZZ_CHECK(strlen(s1) == l1, "format length %zu, string %zu", l1, strlen(s1));
	rc = ap_connstr_parse(s1, &back, &err);
	FUZZ_CHECK(rc == 0, "the formatted string does not parse back: %s", err.msg);
	FUZZ_CHECK(same(back.host_name, c->host_name) && same(back.device_id, c->device_id) &&
			   same(back.shared_access_key, c->shared_access_key) &&
			   same(back.gateway_host_name, c->gateway_host_name) &&
			   back.key_bytes == c->key_bytes && !back.quotes_stripped,
		   "the formatted string parses to other parts");
	rc = ap_connstr_format(&back, &s2, &l2, &err);
	FUZZ_CHECK(rc == 0 && l1 == l2 && memcmp(s1, s2, l1) == 0, "format is not stable");

	/* The key may legitimately appear inside another part (a DeviceId may
	 * hold '=' and base64 letters), so compare with the exact redacted form
	 * rather than searching for the key. */
	rc = ap_connstr_redacted(c, redacted, sizeof(redacted));
	FUZZ_CHECK(rc == 0, "redacted form cut at AP_CONNSTR_REDACTED_MAX");
	snprintf(want, sizeof(want), "HostName=%s;DeviceId=%s;SharedAccessKey=****%s%s",
		 c->host_name, c->device_id, c->gateway_host_name ? ";GatewayHostName=" : "",
		 c->gateway_host_name ? c->gateway_host_name : "");
	FUZZ_CHECK(strcmp(redacted, want) == 0, "redacted form '%s', expected '%s'", redacted,
		   want);

	ap_connstr_key_fingerprint(c, fp);
	ap_digest_hex(c->shared_access_key, strlen(c->shared_access_key), hex);
	FUZZ_CHECK(strlen(fp) == 8 && memcmp(fp, hex, 8) == 0, "fingerprint %s, sha256 %s", fp,
		   hex);

	ap_connstr_release(&back);
	FUZZ_CHECK(!back.host_name && !back.device_id && !back.shared_access_key &&
			   !back.gateway_host_name,
		   "release left fields set");
	ap_secret_free(s1, l1);
	ap_secret_free(s2, l2);
}

static void settings(const char *in)
{
	struct ap_err err = AP_ERR_INIT;
	char buf[1024];

	if (ap_setting_proxy_url_valid(in, &err)) {
		int rc = ap_setting_proxy_url_redacted(in, buf, sizeof(buf));

		FUZZ_CHECK(rc == 0 || rc == AP_E_TOOBIG, "proxy redaction returned %d", rc);
		FUZZ_CHECK(strlen(buf) < sizeof(buf), "proxy redaction not terminated");
	} else {
		FUZZ_CHECK(err.msg[0] != '\0', "an invalid proxy URL gave no message");
	}
	err.msg[0] = '\0';
	if (!ap_setting_image_ref_valid(in, &err))
		FUZZ_CHECK(err.msg[0] != '\0', "an invalid image reference gave no message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_connstr c, untouched;
	char *in;
	int rc;

	if (size > MAX_INPUT)
		return 0;
	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	memset(&c, 0xa5, sizeof(c));
	memcpy(&untouched, &c, sizeof(c));
	rc = ap_connstr_parse(in, &c, &err);
	if (rc == 0) {
		check_parsed(in, &c);
		ap_connstr_release(&c);
	} else {
		FUZZ_CHECK(rc < 0 && err.code == rc, "parse returned %d, error code %d", rc,
			   err.code);
		FUZZ_CHECK(err.msg[0] != '\0', "a failed parse gave no message");
		FUZZ_CHECK(memcmp(&c, &untouched, sizeof(c)) == 0, "a failed parse wrote *out");
		check_no_key_in_error(in, &err);
	}
	settings(in);
	free(in);
	return 0;
}
