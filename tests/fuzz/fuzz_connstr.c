/* fuzz_connstr.c - ap_connstr_parse (and the setting validators beside it in
 * provision.h) from memory.  A string that parses must format to a
 * canonical string that parses to the same parts and formats to the same
 * bytes; its redacted form must not hold the key and its fingerprint must be
 * the key text's SHA-256.  A string that does not parse must say why without
 * quoting the key, and leave the out-parameter alone. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/digest.h"
#include "airpack/provision.h"
#include "fuzz.h"

#define MAX_INPUT 4096

static bool same(const char *a, const char *b)
{
	return (a && b) ? strcmp(a, b) == 0 : a == b;
}

/* The value of the first "SharedAccessKey=" part when it occurs once in s. */
static char *key_in(const char *s)
{
	const char *p = strstr(s, "SharedAccessKey=");
	size_t n;
	char *key;

	if (!p)
		return NULL;
	p += strlen("SharedAccessKey=");
	n = strcspn(p, ";\"' \t\r\n");
	if (n < 8)
		return NULL;
	key = malloc(n + 1);
	if (!key)
		return NULL;
	memcpy(key, p, n);
	key[n] = '\0';
	/* Another occurrence may legitimately be quoted (as a device id, say). */
	if (strstr(s, key) != p || strstr(p + 1, key)) {
		free(key);
		return NULL;
	}
	return key;
}

static void check_parsed(const char *in, const struct ap_connstr *c)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_connstr back;
	char redacted[AP_CONNSTR_REDACTED_MAX];
	char fp[AP_KEY_FINGERPRINT_LEN], hex[AP_SHA256_HEX];
	char *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	int rc;

	FUZZ_CHECK(c->host_name && c->device_id && c->shared_access_key,
		   "a parsed string lacks a required part: '%s'", in);
	FUZZ_CHECK(c->key_bytes >= AP_KEY_MIN_BYTES && c->key_bytes <= AP_KEY_MAX_BYTES,
		   "key of %zu bytes accepted", c->key_bytes);
	FUZZ_CHECK(strlen(c->device_id) <= AP_DEVICE_ID_MAX, "DeviceId too long accepted");
	FUZZ_CHECK(strlen(c->host_name) <= AP_HOST_NAME_MAX, "HostName too long accepted");

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

	rc = ap_connstr_redacted(c, redacted, sizeof(redacted));
	FUZZ_CHECK(rc == 0, "redacted form cut at AP_CONNSTR_REDACTED_MAX");
	FUZZ_CHECK(!strstr(redacted, c->shared_access_key), "the redacted form shows the key");

	ap_connstr_key_fingerprint(c, fp);
	ap_sha256_hex(c->shared_access_key, strlen(c->shared_access_key), hex);
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

	if (ap_proxy_url_valid(in, &err)) {
		int rc = ap_proxy_url_redacted(in, buf, sizeof(buf));

		FUZZ_CHECK(rc == 0 || rc == AP_E_TOOBIG, "proxy redaction returned %d", rc);
		FUZZ_CHECK(strlen(buf) < sizeof(buf), "proxy redaction not terminated");
	} else {
		FUZZ_CHECK(err.msg[0] != '\0', "an invalid proxy URL gave no message");
	}
	err.msg[0] = '\0';
	if (!ap_image_ref_valid(in, &err))
		FUZZ_CHECK(err.msg[0] != '\0', "an invalid image reference gave no message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_connstr c, untouched;
	char *in, *key;
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
		key = key_in(in);
		if (key)
			FUZZ_CHECK(!strstr(err.msg, key), "the error shows the key: %s", err.msg);
		free(key);
	}
	settings(in);
	free(in);
	return 0;
}
