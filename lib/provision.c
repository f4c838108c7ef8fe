/* provision.c - device connection strings and the device configuration file;
 * see airpack/provision.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "airpack/provision.h"
#include "airpack/digest.h"
#include "airpack/str.h"
#include "airpack/banned.h"

/* ---- secrets ------------------------------------------------------------ */

/* Calling memset through a volatile pointer keeps the compiler from proving
 * the store dead and dropping it (no OpenSSL outside digest.c/sign.c). */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void ap_wipe(void *p, size_t n)
{
	if (p && n)
		wipe_memset(p, 0, n);
}

void ap_secret_free(char *buf, size_t len)
{
	if (!buf)
		return;
	ap_wipe(buf, len);
	free(buf);
}

static void secret_str_free(char *s)
{
	if (s)
		ap_secret_free(s, strlen(s));
}

/* ---- small character helpers -------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A printable rendering of one character for messages: "'x'" or "byte 0x0a". */
static const char *char_desc(char c, char buf[16])
{
	unsigned char u = (unsigned char)c;

	if (u > 0x20 && u < 0x7f && c != '\'')
		snprintf(buf, 16, "'%c'", c);
	else if (c == ' ')
		snprintf(buf, 16, "a space");
	else if (c == '\'')
		snprintf(buf, 16, "a quote");
	else
		snprintf(buf, 16, "byte 0x%02x", u);
	return buf;
}

/* ---- connection strings -------------------------------------------------- */

#define CONNSTR_MAX 4096
#define CONNSTR_MAX_PARTS 32
/* Text the user typed is quoted in a message only when it is short and shares
 * no 4-character run with the SharedAccessKey, so a key pasted in the wrong
 * place (or without its label) never reaches an error message. */
#define QUOTE_MAX 20

enum ckey { K_HOST, K_DEVICE, K_KEY, K_GATEWAY, K_COUNT };

static const char *const key_names[K_COUNT] = {
	"HostName",
	"DeviceId",
	"SharedAccessKey",
	"GatewayHostName",
};

struct part {
	const char *p; /* the whole part */
	size_t n;
	const char *v; /* value after the first '=' */
	size_t vn;
	size_t kn; /* key length (the key starts at p) */
};

static bool shares_run(const char *text, size_t n, const char *key, size_t kn)
{
	if (!key || kn < 4 || n < 4)
		return false;
	for (size_t i = 0; i + 4 <= n; i++)
		for (size_t j = 0; j + 4 <= kn; j++)
			if (memcmp(text + i, key + j, 4) == 0)
				return true;
	return false;
}

static bool quotable(const char *text, size_t n, const char *key, size_t kn)
{
	if (n == 0 || n > QUOTE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)text[i];

		if (u <= 0x20 || u >= 0x7f || u == '\'' || u == '"' || u == '\\')
			return false;
	}
	return !shares_run(text, n, key, kn);
}

static bool ascii_ieq(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);

	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static bool exact_eq(const char *a, size_t an, const char *b)
{
	return an == strlen(b) && memcmp(a, b, an) == 0;
}

/* Validate a DNS name: labels of 1-63 letters, digits and '-', not starting
 * or ending with '-', at most 253 characters, at least min_labels labels. */
static int check_dns(const char *s, size_t n, int min_labels, const char *what,
		     struct ap_err *err)
{
	size_t start = 0;
	int label = 0;
	char cb[16];

	if (n == 0)
		return ap_err_set(err, AP_E_USAGE, "%s: empty", what);
	if (n > AP_HOST_NAME_MAX)
		return ap_err_set(err, AP_E_USAGE, "%s: %zu characters, at most %d allowed", what,
				  n, AP_HOST_NAME_MAX);
	while (start <= n) {
		size_t end = start;

		while (end < n && s[end] != '.')
			end++;
		label++;
		if (end == start)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: label %d is empty (a dot at the start or end, or "
					  "two dots in a row)",
					  what, label);
		if (end - start > 63)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: label %d is %zu characters, at most 63 allowed",
					  what, label, end - start);
		for (size_t i = start; i < end; i++)
			if (!is_alnum(s[i]) && s[i] != '-')
				return ap_err_set(err, AP_E_USAGE,
						  "%s: label %d has %s; DNS labels use only "
						  "letters, digits and '-'",
						  what, label, char_desc(s[i], cb));
		if (s[start] == '-' || s[end - 1] == '-')
			return ap_err_set(err, AP_E_USAGE,
					  "%s: label %d starts or ends with '-'", what, label);
		start = end + 1;
	}
	if (label < min_labels)
		return ap_err_set(err, AP_E_USAGE,
				  "%s: a single label, expected a DNS name such as "
				  "{hub}.azure-devices.net",
				  what);
	return 0;
}

static bool device_id_char(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("-.%_*?!(),:=@$'", c) != NULL);
}

static int check_device_id(const char *s, size_t n, struct ap_err *err)
{
	char cb[16];

	if (n > AP_DEVICE_ID_MAX)
		return ap_err_set(err, AP_E_USAGE, "DeviceId: %zu characters, at most %d allowed",
				  n, AP_DEVICE_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if (!device_id_char(s[i]))
			return ap_err_set(err, AP_E_USAGE,
					  "DeviceId: character %zu is %s, which IoT Hub does not "
					  "allow; device ids use letters, digits and "
					  "- . %% _ * ? ! ( ) , : = @ $ '",
					  i + 1, char_desc(s[i], cb));
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Check canonical standard base64 and return the decoded length.  Messages
 * give positions, never the text. */
static int check_key(const char *s, size_t n, size_t *bytes, struct ap_err *err)
{
	size_t pad = 0;
	int last;

	if (n % 4 != 0)
		return ap_err_set(err, AP_E_USAGE,
				  "SharedAccessKey: not valid base64: %zu characters is not a "
				  "multiple of 4 (is the key cut short?)",
				  n);
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++) {
		if (b64_value(s[i]) >= 0)
			continue;
		if (s[i] == '=')
			return ap_err_set(err, AP_E_USAGE,
					  "SharedAccessKey: not valid base64: '=' padding at "
					  "character %zu, padding may only end the key",
					  i + 1);
		if (s[i] == '-' || s[i] == '_')
			return ap_err_set(err, AP_E_USAGE,
					  "SharedAccessKey: not valid base64: character %zu is "
					  "'%c' (URL-safe base64 is not accepted; copy the key "
					  "from IoT Hub as shown)",
					  i + 1, s[i]);
		return ap_err_set(err, AP_E_USAGE,
				  "SharedAccessKey: not valid base64: character %zu is not in "
				  "the base64 alphabet",
				  i + 1);
	}
	/* Unused low bits of the last symbol must be zero in canonical base64. */
	last = b64_value(s[n - pad - 1]);
	if ((pad == 1 && (last & 0x3)) || (pad == 2 && (last & 0xf)))
		return ap_err_set(err, AP_E_USAGE,
				  "SharedAccessKey: not valid base64: bad padding (the bits "
				  "before '=' are not zero)");
	*bytes = n / 4 * 3 - pad;
	if (*bytes < AP_KEY_MIN_BYTES || *bytes > AP_KEY_MAX_BYTES)
		return ap_err_set(err, AP_E_USAGE,
				  "SharedAccessKey: decodes to %zu bytes, expected %d to %d "
				  "(IoT Hub keys are 32)",
				  *bytes, AP_KEY_MIN_BYTES, AP_KEY_MAX_BYTES);
	return 0;
}

/* The label for a part in messages: its key when it names a known one. */
static void part_label(const struct part *pt, int idx, char *buf, size_t n)
{
	const char *k = pt->p;
	size_t kn = pt->kn;

	while (kn > 0 && is_space(k[kn - 1]))
		kn--;
	while (kn > 0 && is_space(*k)) {
		k++;
		kn--;
	}
	for (int i = 0; i < K_COUNT; i++)
		if (exact_eq(k, kn, key_names[i])) {
			snprintf(buf, n, "%s", key_names[i]);
			return;
		}
	snprintf(buf, n, "part %d", idx + 1);
}

static int split_parts(const char *s, size_t n, struct part *parts, int *count,
		       struct ap_err *err)
{
	int np = 0;
	size_t start = 0;

	/* One trailing ';' is what some tools append; tolerate exactly one. */
	if (n > 0 && s[n - 1] == ';')
		n--;
	for (;;) {
		size_t end = start;
		const char *eq;

		while (end < n && s[end] != ';')
			end++;
		if (np == CONNSTR_MAX_PARTS)
			return ap_err_set(err, AP_E_USAGE,
					  "connection string has more than %d parts; expected "
					  "HostName, DeviceId and SharedAccessKey",
					  CONNSTR_MAX_PARTS);
		parts[np].p = s + start;
		parts[np].n = end - start;
		eq = memchr(s + start, '=', end - start);
		parts[np].kn = eq ? (size_t)(eq - (s + start)) : end - start;
		parts[np].v = eq ? eq + 1 : NULL;
		parts[np].vn = eq ? (size_t)(s + end - (eq + 1)) : 0;
		np++;
		if (end >= n)
			break;
		start = end + 1;
	}
	*count = np;
	return 0;
}

int ap_connstr_parse(const char *in, struct ap_connstr *out, struct ap_err *err)
{
	struct part parts[CONNSTR_MAX_PARTS];
	int where[K_COUNT] = { -1, -1, -1, -1 };
	struct ap_connstr c = AP_CONNSTR_INIT;
	const char *b, *e, *keytext = NULL;
	size_t len, keylen = 0;
	char label[32], missing[64] = "";
	int np = 0, rc;

	if (!in)
		return ap_err_set(err, AP_E_USAGE, "no connection string given");
	len = strlen(in);
	if (len > CONNSTR_MAX)
		return ap_err_set(err, AP_E_USAGE,
				  "connection string is %zu characters, at most %d allowed", len,
				  CONNSTR_MAX);
	b = in;
	e = in + len;
	while (b < e && is_space(*b))
		b++;
	while (e > b && is_space(e[-1]))
		e--;
	if (b < e && (*b == '"' || *b == '\'')) {
		if (e - b < 2 || e[-1] != *b)
			return ap_err_set(err, AP_E_USAGE,
					  "mismatched quotes: the connection string starts with "
					  "%s but does not end with it; give it without quotes",
					  *b == '"' ? "'\"'" : "\"'\"");
		b++;
		e--;
		c.quotes_stripped = true;
		while (b < e && is_space(*b))
			b++;
		while (e > b && is_space(e[-1]))
			e--;
	} else if (b < e && e[-1] == '"') {
		return ap_err_set(err, AP_E_USAGE,
				  "mismatched quotes: the connection string ends with '\"' but "
				  "does not start with it; give it without quotes");
	}
	if (b == e)
		return ap_err_set(err, AP_E_USAGE,
				  "connection string is empty; expected "
				  "HostName=...;DeviceId=...;SharedAccessKey=...");

	rc = split_parts(b, (size_t)(e - b), parts, &np, err);
	if (rc < 0)
		return rc;
	/* Find the key first so every message below can avoid quoting it. */
	for (int i = 0; i < np; i++)
		if (parts[i].v && exact_eq(parts[i].p, parts[i].kn, "SharedAccessKey")) {
			keytext = parts[i].v;
			keylen = parts[i].vn;
			break;
		}

	for (int i = 0; i < np; i++) {
		const struct part *pt = &parts[i];
		int k = -1;

		if (pt->n == 0)
			return ap_err_set(err, AP_E_USAGE,
					  "part %d is empty (%s); parts are separated by one ';'",
					  i + 1,
					  i == 0 ? "the string starts with ';'" : "';;'");
		for (size_t j = 0; j < pt->n; j++)
			if (is_space(pt->p[j])) {
				part_label(pt, i, label, sizeof(label));
				return ap_err_set(err, AP_E_USAGE,
						  "%s: contains whitespace; a connection string "
						  "has no spaces or line breaks inside",
						  label);
			}
		if (!pt->v) {
			if (quotable(pt->p, pt->n, keytext, keylen))
				return ap_err_set(err, AP_E_USAGE,
						  "part %d '%.*s' has no '='; expected Key=Value",
						  i + 1, (int)pt->n, pt->p);
			return ap_err_set(err, AP_E_USAGE,
					  "part %d (%zu characters, not shown) has no '='; "
					  "expected Key=Value",
					  i + 1, pt->n);
		}
		if (pt->kn == 0)
			return ap_err_set(err, AP_E_USAGE,
					  "part %d has no key before '='; expected Key=Value",
					  i + 1);
		for (int j = 0; j < K_COUNT; j++)
			if (exact_eq(pt->p, pt->kn, key_names[j]))
				k = j;
		if (k < 0) {
			for (int j = 0; j < K_COUNT; j++)
				if (ascii_ieq(pt->p, pt->kn, key_names[j]))
					return ap_err_set(err, AP_E_USAGE,
							  "wrong case key '%.*s' in part %d: "
							  "write '%s' (keys are case-sensitive)",
							  (int)pt->kn, pt->p, i + 1,
							  key_names[j]);
			if (ascii_ieq(pt->p, pt->kn, "ModuleId"))
				return ap_err_set(err, AP_E_USAGE,
						  "ModuleId: module identities are not edge "
						  "devices; use the connection string of the "
						  "IoT Edge device (HostName, DeviceId, "
						  "SharedAccessKey)");
			if (ascii_ieq(pt->p, pt->kn, "SharedAccessKeyName"))
				return ap_err_set(err, AP_E_USAGE,
						  "SharedAccessKeyName: this is an IoT hub "
						  "(service) connection string, not a device "
						  "connection string; copy the device's primary "
						  "connection string");
			if (quotable(pt->p, pt->kn, keytext, keylen))
				return ap_err_set(err, AP_E_USAGE,
						  "unknown key '%.*s' in part %d; expected "
						  "HostName, DeviceId, SharedAccessKey and "
						  "optionally GatewayHostName",
						  (int)pt->kn, pt->p, i + 1);
			return ap_err_set(err, AP_E_USAGE,
					  "unknown key in part %d (%zu characters, not shown); "
					  "expected HostName, DeviceId, SharedAccessKey and "
					  "optionally GatewayHostName",
					  i + 1, pt->kn);
		}
		if (where[k] >= 0)
			return ap_err_set(err, AP_E_USAGE, "duplicate %s (parts %d and %d)",
					  key_names[k], where[k] + 1, i + 1);
		where[k] = i;
		if (pt->vn == 0)
			return ap_err_set(err, AP_E_USAGE, "%s: empty value", key_names[k]);
	}
	for (int k = K_HOST; k <= K_KEY; k++)
		if (where[k] < 0) {
			size_t used = strlen(missing);

			snprintf(missing + used, sizeof(missing) - used, "%s%s",
				 used ? ", " : "", key_names[k]);
		}
	if (missing[0])
		return ap_err_set(err, AP_E_USAGE,
				  "missing %s; a device connection string is "
				  "HostName=...;DeviceId=...;SharedAccessKey=...",
				  missing);

	rc = check_dns(parts[where[K_HOST]].v, parts[where[K_HOST]].vn, 2, "HostName", err);
	if (rc < 0)
		return rc;
	rc = check_device_id(parts[where[K_DEVICE]].v, parts[where[K_DEVICE]].vn, err);
	if (rc < 0)
		return rc;
	rc = check_key(keytext, keylen, &c.key_bytes, err);
	if (rc < 0)
		return rc;
	if (where[K_GATEWAY] >= 0) {
		rc = check_dns(parts[where[K_GATEWAY]].v, parts[where[K_GATEWAY]].vn, 1,
			       "GatewayHostName", err);
		if (rc < 0)
			return rc;
	}

	c.host_name = ap_strndup(parts[where[K_HOST]].v, parts[where[K_HOST]].vn);
	c.device_id = ap_strndup(parts[where[K_DEVICE]].v, parts[where[K_DEVICE]].vn);
	c.shared_access_key = ap_strndup(keytext, keylen);
	if (where[K_GATEWAY] >= 0)
		c.gateway_host_name =
			ap_strndup(parts[where[K_GATEWAY]].v, parts[where[K_GATEWAY]].vn);
	if (!c.host_name || !c.device_id || !c.shared_access_key ||
	    (where[K_GATEWAY] >= 0 && !c.gateway_host_name)) {
		ap_connstr_release(&c);
		return ap_err_set(err, AP_E_NOMEM, "out of memory parsing a connection string");
	}
	*out = c;
	return 0;
}

void ap_connstr_release(struct ap_connstr *c)
{
	if (!c)
		return;
	free(c->host_name);
	free(c->device_id);
	secret_str_free(c->shared_access_key);
	free(c->gateway_host_name);
	c->host_name = NULL;
	c->device_id = NULL;
	c->shared_access_key = NULL;
	c->gateway_host_name = NULL;
	c->key_bytes = 0;
	c->quotes_stripped = false;
}

int ap_connstr_format(const struct ap_connstr *c, char **out, size_t *len, struct ap_err *err)
{
	size_t n;
	char *buf;
	int w;

	if (!c || !c->host_name || !c->device_id || !c->shared_access_key)
		return ap_err_set(err, AP_E_USAGE, "formatting an unparsed connection string");
	n = strlen("HostName=;DeviceId=;SharedAccessKey=;GatewayHostName=") +
	    strlen(c->host_name) + strlen(c->device_id) + strlen(c->shared_access_key) +
	    (c->gateway_host_name ? strlen(c->gateway_host_name) : 0) + 1;
	buf = malloc(n);
	if (!buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory formatting a connection string");
	w = snprintf(buf, n, "HostName=%s;DeviceId=%s;SharedAccessKey=%s%s%s", c->host_name,
		     c->device_id, c->shared_access_key,
		     c->gateway_host_name ? ";GatewayHostName=" : "",
		     c->gateway_host_name ? c->gateway_host_name : "");
	if (w < 0 || (size_t)w >= n) {
		ap_secret_free(buf, n);
		return ap_err_set(err, AP_E_USAGE, "formatting a connection string failed");
	}
	*out = buf;
	*len = (size_t)w;
	return 0;
}

int ap_connstr_redacted(const struct ap_connstr *c, char *buf, size_t n)
{
	int w;

	if (!buf || n == 0)
		return AP_E_TOOBIG;
	if (!c || !c->host_name || !c->device_id) {
		buf[0] = '\0';
		return AP_E_USAGE;
	}
	w = snprintf(buf, n, "HostName=%s;DeviceId=%s;SharedAccessKey=****%s%s", c->host_name,
		     c->device_id, c->gateway_host_name ? ";GatewayHostName=" : "",
		     c->gateway_host_name ? c->gateway_host_name : "");
	if (w < 0) {
		buf[0] = '\0';
		return AP_E_TOOBIG;
	}
	return (size_t)w >= n ? AP_E_TOOBIG : 0;
}

void ap_connstr_key_fingerprint(const struct ap_connstr *c, char out[AP_KEY_FINGERPRINT_LEN])
{
	char hex[AP_SHA256_HEX];

	out[0] = '\0';
	if (!c || !c->shared_access_key)
		return;
	ap_sha256_hex(c->shared_access_key, strlen(c->shared_access_key), hex);
	memcpy(out, hex, AP_KEY_FINGERPRINT_LEN - 1);
	out[AP_KEY_FINGERPRINT_LEN - 1] = '\0';
	ap_wipe(hex, sizeof(hex));
}

/* ---- settings validation -------------------------------------------------- */

#define PROXY_URL_MAX 2048
#define IMAGE_REF_MAX 512

/* host[:port] with host a DNS name (one label allowed), an IPv4 address, or
 * (when brackets are allowed) an [IPv6] address. */
static int check_hostport(const char *s, size_t n, const char *what, struct ap_err *err)
{
	size_t hn = n;
	const char *colon;
	int rc;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: '[' without an IPv6 address and ']'", what);
		for (const char *p = s + 1; p < close; p++)
			if (!is_hex(*p) && *p != ':' && *p != '.')
				return ap_err_set(err, AP_E_USAGE,
						  "%s: the IPv6 address in brackets has a "
						  "character that is not hex, ':' or '.'",
						  what);
		hn = (size_t)(close + 1 - s);
		if (hn < n && s[hn] != ':')
			return ap_err_set(err, AP_E_USAGE, "%s: unexpected text after ']'", what);
	} else {
		colon = memchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
		if (hn == 0)
			return ap_err_set(err, AP_E_USAGE, "%s: no host name", what);
		rc = check_dns(s, hn, 1, what, err);
		if (rc < 0)
			return rc;
	}
	if (hn < n) {
		const char *port = s + hn + 1;
		size_t pn = n - hn - 1;
		unsigned long v = 0;

		if (pn == 0 || pn > 5)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: the port is not a number from 1 to 65535", what);
		for (size_t i = 0; i < pn; i++) {
			if (!is_digit(port[i]))
				return ap_err_set(err, AP_E_USAGE,
						  "%s: the port is not a number from 1 to 65535",
						  what);
			v = v * 10 + (unsigned long)(port[i] - '0');
		}
		if (v < 1 || v > 65535)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: port %lu is not a number from 1 to 65535", what, v);
	}
	return 0;
}

static bool url_char_ok(char c)
{
	unsigned char u = (unsigned char)c;

	return u > 0x20 && u < 0x7f && !strchr("\"'\\<>`{}|^", c);
}

/* Where the authority of a proxy URL starts (after "scheme://"), or NULL. */
static const char *proxy_authority(const char *url)
{
	if (ascii_ieq(url, 7, "http://"))
		return url + 7;
	if (strlen(url) >= 8 && ascii_ieq(url, 8, "https://"))
		return url + 8;
	return NULL;
}

bool ap_proxy_url_valid(const char *url, struct ap_err *err)
{
	const char *auth, *end, *at = NULL, *hp;
	size_t n;
	char cb[16];

	if (!url || !*url) {
		ap_err_set(err, AP_E_USAGE, "proxy URL is empty");
		return false;
	}
	n = strlen(url);
	if (n > PROXY_URL_MAX) {
		ap_err_set(err, AP_E_USAGE, "proxy URL is %zu characters, at most %d allowed", n,
			   PROXY_URL_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!url_char_ok(url[i])) {
			ap_err_set(err, AP_E_USAGE,
				   "proxy URL: character %zu is %s; a URL has no spaces, quotes "
				   "or control characters",
				   i + 1, char_desc(url[i], cb));
			return false;
		}
	auth = strlen(url) >= 7 ? proxy_authority(url) : NULL;
	if (!auth) {
		ap_err_set(err, AP_E_USAGE,
			   "proxy URL: expected it to start with http:// or https://, as in "
			   "http://proxy.example.com:3128");
		return false;
	}
	end = auth;
	while (*end && *end != '/' && *end != '?' && *end != '#')
		end++;
	if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0')) {
		ap_err_set(err, AP_E_USAGE,
			   "proxy URL: a path, query or fragment is not allowed; give only "
			   "scheme://host:port");
		return false;
	}
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	hp = auth;
	if (at) {
		if (at == auth || *auth == ':') {
			ap_err_set(err, AP_E_USAGE, "proxy URL: empty user name before '@'");
			return false;
		}
		hp = at + 1;
	}
	if (hp == end) {
		ap_err_set(err, AP_E_USAGE, "proxy URL: no host name");
		return false;
	}
	if (check_hostport(hp, (size_t)(end - hp), "proxy URL", err) < 0)
		return false;
	return true;
}

int ap_proxy_url_redacted(const char *url, char *buf, size_t n)
{
	const char *auth, *end, *at = NULL;
	int w;

	if (!buf || n == 0)
		return AP_E_TOOBIG;
	if (!url) {
		buf[0] = '\0';
		return 0;
	}
	auth = strstr(url, "://");
	if (auth) {
		auth += 3;
		end = auth;
		while (*end && *end != '/' && *end != '?' && *end != '#')
			end++;
		for (const char *p = auth; p < end; p++)
			if (*p == '@')
				at = p;
	}
	if (at)
		w = snprintf(buf, n, "%.*s****%s", (int)(auth - url), url, at);
	else
		w = snprintf(buf, n, "%s", url);
	if (w < 0) {
		buf[0] = '\0';
		return AP_E_TOOBIG;
	}
	return (size_t)w >= n ? AP_E_TOOBIG : 0;
}

static bool image_char(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || (c != '\0' && strchr("._/:@-", c));
}

bool ap_image_ref_valid(const char *ref, struct ap_err *err)
{
	const char *at, *name_end, *tag = NULL;
	size_t n;
	char cb[16];

	if (!ref || !*ref) {
		ap_err_set(err, AP_E_USAGE, "image reference is empty");
		return false;
	}
	n = strlen(ref);
	if (n > IMAGE_REF_MAX) {
		ap_err_set(err, AP_E_USAGE, "image reference is %zu characters, at most %d allowed",
			   n, IMAGE_REF_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!image_char(ref[i])) {
			ap_err_set(err, AP_E_USAGE,
				   "image reference: character %zu is %s; use lowercase letters, "
				   "digits and . _ / : @ -",
				   i + 1, char_desc(ref[i], cb));
			return false;
		}
	at = strchr(ref, '@');
	name_end = at ? at : ref + n;
	if (at) {
		if (strncmp(at, "@sha256:", 8) != 0 || strlen(at + 8) != 64) {
			ap_err_set(err, AP_E_USAGE,
				   "image reference: a digest must be '@sha256:' and 64 hex "
				   "digits");
			return false;
		}
		for (const char *p = at + 8; *p; p++)
			if (!is_hex(*p)) {
				ap_err_set(err, AP_E_USAGE,
					   "image reference: a digest must be '@sha256:' and 64 "
					   "hex digits");
				return false;
			}
	}
	/* Path components: none empty; ':' only as the first component's port
	 * or the last component's tag. */
	for (const char *p = ref; p <= name_end;) {
		const char *q = p;
		bool first = p == ref, last;
		const char *colon = NULL;

		while (q < name_end && *q != '/')
			q++;
		last = q == name_end;
		if (q == p) {
			ap_err_set(err, AP_E_USAGE,
				   "image reference: an empty path component (a '/' at the start "
				   "or end, or two in a row)");
			return false;
		}
		for (const char *r = p; r < q; r++)
			if (*r == ':') {
				if (colon) {
					ap_err_set(err, AP_E_USAGE,
						   "image reference: more than one ':' in a "
						   "component");
					return false;
				}
				colon = r;
			}
		if (colon && last)
			tag = colon + 1;
		else if (colon && !(first && !last)) {
			ap_err_set(err, AP_E_USAGE,
				   "image reference: ':' is only allowed for a registry port or "
				   "a tag");
			return false;
		}
		if (colon && first && !last) {
			for (const char *r = colon + 1; r < q; r++)
				if (!is_digit(*r)) {
					ap_err_set(err, AP_E_USAGE,
						   "image reference: the registry port is not a "
						   "number");
					return false;
				}
		}
		{
			const char *ce = colon ? colon : q;

			if (ce == p || !is_alnum(*p) || !is_alnum(ce[-1])) {
				ap_err_set(err, AP_E_USAGE,
					   "image reference: a path component must start and "
					   "end with a letter or digit");
				return false;
			}
		}
		if (q == name_end)
			break;
		p = q + 1;
	}
	if (tag && (tag == name_end || *tag == '.' || *tag == '-' || name_end - tag > 128)) {
		ap_err_set(err, AP_E_USAGE,
			   "image reference: the tag after ':' must be 1-128 characters and not "
			   "start with '.' or '-'");
		return false;
	}
	return true;
}

/* The registry host of an image reference ("myreg.azurecr.io" in
 * "myreg.azurecr.io/agent:1"), or NULL when it names Docker Hub. */
static char *image_registry(const char *ref)
{
	const char *slash = strchr(ref, '/');
	size_t n;

	if (!slash)
		return NULL;
	n = (size_t)(slash - ref);
	if (!memchr(ref, '.', n) && !memchr(ref, ':', n) && !exact_eq(ref, n, "localhost"))
		return NULL;
	return ap_strndup(ref, n);
}

static int check_printable(const char *s, bool allow_space, size_t max, const char *what,
			   struct ap_err *err)
{
	size_t n = strlen(s);

	if (n == 0)
		return ap_err_set(err, AP_E_USAGE, "%s is empty", what);
	if (n > max)
		return ap_err_set(err, AP_E_USAGE, "%s is %zu characters, at most %zu allowed",
				  what, n, max);
	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)s[i];

		if (u == ' ' && allow_space)
			continue;
		if (u <= 0x20 || u >= 0x7f)
			return ap_err_set(err, AP_E_USAGE,
					  "%s: character %zu is %s; only printable ASCII%s is "
					  "accepted (no line breaks)",
					  what, i + 1,
					  u == ' ' ? "a space"
					  : u >= 0x7f ? "not ASCII"
						      : "a control character",
					  allow_space ? " and spaces" : "");
	}
	return 0;
}

/* ---- YAML documents -------------------------------------------------------- */

#define YAML_MAX_DEPTH 64

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "scalar";
	case YAML_SEQUENCE_NODE:
		return "sequence";
	case YAML_MAPPING_NODE:
		return "mapping";
	default:
		return "empty node";
	}
}

static int node_count(const yaml_document_t *d)
{
	return (int)(d->nodes.top - d->nodes.start);
}

static size_t node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* Zero every scalar value in the document, then free it: configuration
 * documents hold the connection string and passwords. */
static void doc_destroy(yaml_document_t *d)
{
	for (yaml_node_t *n = d->nodes.start; n && n < d->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE)
			ap_wipe(n->data.scalar.value, n->data.scalar.length);
	yaml_document_delete(d);
}

/* libyaml keeps the input text in its working buffers; scrub them before the
 * parser frees them. */
static void parser_destroy(yaml_parser_t *p)
{
	if (p->buffer.start)
		ap_wipe(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		ap_wipe(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	yaml_parser_delete(p);
}

static void emitter_destroy(yaml_emitter_t *em)
{
	if (em->buffer.start)
		ap_wipe(em->buffer.start, (size_t)(em->buffer.end - em->buffer.start));
	if (em->raw_buffer.start)
		ap_wipe(em->raw_buffer.start, (size_t)(em->raw_buffer.end - em->raw_buffer.start));
	yaml_emitter_delete(em);
}

static int parse_error(yaml_parser_t *p, int code, struct ap_err *err)
{
	const char *problem = p->problem ? p->problem : "unknown problem";

	if (p->error == YAML_MEMORY_ERROR)
		return ap_err_set(err, AP_E_NOMEM, "out of memory parsing YAML");
	if (p->error == YAML_READER_ERROR)
		return ap_err_set(err, code, "invalid YAML at byte %zu: %s", p->problem_offset,
				  problem);
	if (p->context)
		return ap_err_set(err, code,
				  "invalid YAML at line %zu, column %zu: %s (%s at line %zu)",
				  p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
				  p->context, p->context_mark.line + 1);
	return ap_err_set(err, code, "invalid YAML at line %zu, column %zu: %s",
			  p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

/* Mark the nodes reachable from id in the order libyaml's emitter walks them.
 * Returns false (having stopped early) past a depth load_doc never lets in. */
static bool walk_nodes(yaml_document_t *d, int id, int depth, unsigned char *seen)
{
	yaml_node_t *n = yaml_document_get_node(d, id);

	if (!n || seen[id - 1])
		return true;
	seen[id - 1] = 1;
	if (depth > 2 * YAML_MAX_DEPTH)
		return false;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++)
			if (!walk_nodes(d, pr->key, depth + 1, seen) ||
			    !walk_nodes(d, pr->value, depth + 1, seen))
				return false;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			if (!walk_nodes(d, *it, depth + 1, seen))
				return false;
	}
	return true;
}

/* Wipe scalars no longer reachable from the root (values that were replaced
 * or removed): the dumper frees them without looking at them. */
static int scrub_unreachable(yaml_document_t *d, struct ap_err *err)
{
	int count = node_count(d);
	unsigned char *seen = calloc((size_t)count + 1, 1);

	if (!seen)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing YAML");
	if (walk_nodes(d, 1, 0, seen)) {
		for (int i = 0; i < count; i++) {
			yaml_node_t *n = d->nodes.start + i;

			if (!seen[i] && n->type == YAML_SCALAR_NODE)
				ap_wipe(n->data.scalar.value, n->data.scalar.length);
		}
	}
	free(seen);
	return 0;
}

/* A first pass over the event stream, before libyaml's loader (which
 * recurses once per nesting level) sees the text: refuse deep nesting and a
 * second document, and report syntax errors with their line. */
static int precheck(const char *yaml, size_t len, int code, struct ap_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parse_error(&parser, code, err);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = ap_err_set(err, code,
						"more than one YAML document (the second starts "
						"at line %zu); expected one",
						ev.start_mark.line + 1);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > YAML_MAX_DEPTH)
				rc = ap_err_set(err, code,
						"YAML nested deeper than %d levels at line %zu",
						YAML_MAX_DEPTH, ev.start_mark.line + 1);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			ap_wipe(ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	parser_destroy(&parser);
	return rc;
}

/* Load exactly one YAML document whose root is a mapping.  Empty input (or
 * only comments) gives an empty mapping.  Errors are prefixed by the caller. */
static int load_doc(const char *yaml, size_t len, int code, yaml_document_t *doc,
		    struct ap_err *err)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	int rc;

	if (len > AP_DEVCONFIG_MAX_YAML)
		return ap_err_set(err, AP_E_TOOBIG, "%zu bytes of YAML, at most %d allowed", len,
				  AP_DEVCONFIG_MAX_YAML);
	rc = precheck(yaml, len, code, err);
	if (rc < 0)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, doc)) {
		rc = parse_error(&parser, code, err);
		parser_destroy(&parser);
		return rc;
	}
	parser_destroy(&parser);
	root = yaml_document_get_root_node(doc);
	if (!root) {
		yaml_document_delete(doc);
		if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
			return ap_err_set(err, AP_E_NOMEM, "out of memory creating YAML");
		if (!yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE)) {
			yaml_document_delete(doc);
			return ap_err_set(err, AP_E_NOMEM, "out of memory creating YAML");
		}
		return 0;
	}
	if (root->type != YAML_MAPPING_NODE) {
		rc = ap_err_set(err, code, "the top level is a %s (line %zu), expected a mapping",
				node_kind(root), node_line(root));
		doc_destroy(doc);
		return rc;
	}
	return 0;
}

/* Nodes that more than one place refers to (YAML anchors and aliases). */
static int ref_count(yaml_document_t *d, int id)
{
	int count = id == 1;

	for (yaml_node_t *n = d->nodes.start; n < d->nodes.top; n++) {
		if (n->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
			     pr < n->data.mapping.pairs.top; pr++)
				count += (pr->key == id) + (pr->value == id);
		} else if (n->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top; it++)
				count += *it == id;
		}
	}
	return count;
}

static bool key_is(yaml_document_t *d, int key_id, const char *key)
{
	yaml_node_t *k = yaml_document_get_node(d, key_id);

	return k && k->type == YAML_SCALAR_NODE &&
	       exact_eq((const char *)k->data.scalar.value, k->data.scalar.length, key);
}

/* Find `key` in mapping `map` (named `path` in messages, "" for the top
 * level): *idx is the pair index or -1.  A key present twice is an error. */
static int map_find(yaml_document_t *d, int map, const char *key, const char *path, int code,
		    int *idx, struct ap_err *err)
{
	yaml_node_t *m = yaml_document_get_node(d, map);
	int found = -1, n = (int)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);

	for (int i = 0; i < n; i++) {
		if (!key_is(d, m->data.mapping.pairs.start[i].key, key))
			continue;
		if (found >= 0) {
			yaml_node_t *k1 =
				yaml_document_get_node(d, m->data.mapping.pairs.start[found].key);
			yaml_node_t *k2 =
				yaml_document_get_node(d, m->data.mapping.pairs.start[i].key);

			return ap_err_set(err, code,
					  "duplicate key '%s%s%s' (lines %zu and %zu); remove one",
					  path, *path ? "." : "", key, node_line(k1),
					  node_line(k2));
		}
		found = i;
	}
	*idx = found;
	return 0;
}

static bool is_null_scalar(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (len == 0 || exact_eq(v, len, "~") || exact_eq(v, len, "null") ||
		exact_eq(v, len, "Null") || exact_eq(v, len, "NULL"));
}

static int add_scalar(yaml_document_t *d, const char *v, yaml_scalar_style_t style,
		      struct ap_err *err)
{
	size_t n = strlen(v);
	int id;

	if (n > INT_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "a YAML value is too long");
	id = yaml_document_add_scalar(d, NULL, (const yaml_char_t *)v, (int)n, style);
	if (!id)
		return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
	return id;
}

/* Give mapping `map` the pair key: value_id, replacing an existing value. */
static int map_put(yaml_document_t *d, int map, const char *key, int value_id, const char *path,
		   int code, struct ap_err *err)
{
	int idx, kid, rc;

	rc = map_find(d, map, key, path, code, &idx, err);
	if (rc < 0)
		return rc;
	if (idx >= 0) {
		yaml_node_t *m = yaml_document_get_node(d, map);

		m->data.mapping.pairs.start[idx].value = value_id;
		return 0;
	}
	kid = add_scalar(d, key, YAML_PLAIN_SCALAR_STYLE, err);
	if (kid < 0)
		return kid;
	if (!yaml_document_append_mapping_pair(d, map, kid, value_id))
		return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
	return 0;
}

/* Set key to a double-quoted string: whatever the value holds, it stays one
 * scalar (the emitter escapes quotes, backslashes and line breaks). */
static int map_put_str(yaml_document_t *d, int map, const char *key, const char *value,
		       const char *path, int code, struct ap_err *err)
{
	int vid = add_scalar(d, value, YAML_DOUBLE_QUOTED_SCALAR_STYLE, err);

	if (vid < 0)
		return vid;
	return map_put(d, map, key, vid, path, code, err);
}

static int map_remove(yaml_document_t *d, int map, const char *key, const char *path, int code,
		      struct ap_err *err)
{
	yaml_node_t *m;
	int idx, rc, n;

	rc = map_find(d, map, key, path, code, &idx, err);
	if (rc < 0 || idx < 0)
		return rc;
	m = yaml_document_get_node(d, map);
	n = (int)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	memmove(m->data.mapping.pairs.start + idx, m->data.mapping.pairs.start + idx + 1,
		(size_t)(n - idx - 1) * sizeof(yaml_node_pair_t));
	m->data.mapping.pairs.top--;
	return 0;
}

static int check_editable(yaml_document_t *d, int id, const char *path, int code,
			  struct ap_err *err)
{
	if (ref_count(d, id) > 1) {
		yaml_node_t *n = yaml_document_get_node(d, id);

		return ap_err_set(err, code,
				  "'%s' (line %zu) is shared with other keys through a YAML "
				  "alias; write it out in full so provisioning changes only it",
				  *path ? path : "the top level", node_line(n));
	}
	return 0;
}

/* The mapping at parent.key, created when missing or null.  `path` is the
 * child's full dotted name. */
static int ensure_map(yaml_document_t *d, int parent, const char *key, const char *path,
		      int code, int *child, struct ap_err *err)
{
	const char *dot = strrchr(path, '.');
	char ppath[64];
	yaml_node_t *n;
	int idx, rc, id;

	snprintf(ppath, sizeof(ppath), "%.*s", dot ? (int)(dot - path) : 0, path);
	rc = map_find(d, parent, key, ppath, code, &idx, err);
	if (rc < 0)
		return rc;
	if (idx >= 0) {
		id = yaml_document_get_node(d, parent)->data.mapping.pairs.start[idx].value;
		n = yaml_document_get_node(d, id);
		if (n->type == YAML_MAPPING_NODE) {
			rc = check_editable(d, id, path, code, err);
			if (rc < 0)
				return rc;
			n->data.mapping.style = YAML_BLOCK_MAPPING_STYLE;
			*child = id;
			return 0;
		}
		if (!is_null_scalar(n))
			return ap_err_set(err, code, "'%s' is a %s (line %zu), expected a mapping",
					  path, node_kind(n), node_line(n));
	}
	id = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
	if (!id)
		return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
	rc = map_put(d, parent, key, id, ppath, code, err);
	if (rc < 0)
		return rc;
	*child = id;
	return 0;
}

struct outbuf {
	char *p;
	size_t len, cap;
	bool nomem, toobig;
};

/* Collect emitter output; grown buffers are wiped before they are freed. */
static int out_write(void *data, unsigned char *buf, size_t size)
{
	struct outbuf *o = data;

	if (size > 4 * (size_t)AP_DEVCONFIG_MAX_YAML - o->len) {
		o->toobig = true;
		return 0;
	}
	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		char *np;

		while (cap < o->len + size + 1)
			cap *= 2;
		np = malloc(cap);
		if (!np) {
			o->nomem = true;
			return 0;
		}
		if (o->p) {
			memcpy(np, o->p, o->len);
			ap_secret_free(o->p, o->cap);
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buf, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 1;
}

/* Dump the document (libyaml consumes it either way) into a new buffer. */
static int dump_doc(yaml_document_t *d, char **out, size_t *out_len, struct ap_err *err)
{
	yaml_emitter_t em;
	struct outbuf o = { NULL, 0, 0, false, false };
	int ok, rc = 0;

	if (!yaml_emitter_initialize(&em)) {
		doc_destroy(d);
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting the YAML emitter");
	}
	yaml_emitter_set_output(&em, out_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	ok = yaml_emitter_open(&em);
	if (ok)
		ok = yaml_emitter_dump(&em, d);
	else
		doc_destroy(d);
	if (ok)
		ok = yaml_emitter_close(&em);
	if (ok)
		ok = yaml_emitter_flush(&em);
	if (!ok || !o.p) {
		if (o.nomem || em.error == YAML_MEMORY_ERROR)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory writing YAML");
		else if (o.toobig)
			rc = ap_err_set(err, AP_E_TOOBIG, "the YAML written is too large");
		else
			rc = ap_err_set(err, AP_E_USAGE, "writing YAML failed: %s",
					em.problem ? em.problem : "no output");
		ap_secret_free(o.p, o.cap);
	} else {
		*out = o.p;
		*out_len = o.len;
	}
	emitter_destroy(&em);
	return rc;
}

/* Keys of provisioning methods other than a manual connection string; left
 * in place they would make iotedged see two identities. */
static const char *const other_method_keys[] = {
	"authentication", "iothub_hostname", "device_id",       "global_endpoint",
	"scope_id",       "attestation",     "registration_id",
};

static int validate_settings(const struct ap_devconfig_settings *s, struct ap_connstr *cs,
			     char **registry, struct ap_err *err)
{
	int rc;

	if (!s || (!s->connection_string && !s->agent_image && !s->registry_address &&
		   !s->registry_user && !s->registry_password && !s->proxy_url))
		return ap_err_set(err, AP_E_USAGE,
				  "nothing to configure: give a connection string, an agent "
				  "image, registry credentials or a proxy");
	if (s->connection_string) {
		rc = ap_connstr_parse(s->connection_string, cs, err);
		if (rc < 0)
			return ap_err_prefix(err, "device connection string");
	}
	if (s->agent_image && !ap_image_ref_valid(s->agent_image, err))
		return ap_err_prefix(err, "agent image '%s'",
				     strlen(s->agent_image) <= 128 ? s->agent_image : "(long)");
	if (!s->registry_user != !s->registry_password)
		return ap_err_set(err, AP_E_USAGE,
				  "a registry user needs a registry password and the other way "
				  "round; give both or neither");
	if (s->registry_address && !s->registry_user)
		return ap_err_set(err, AP_E_USAGE,
				  "a registry address needs a registry user and password");
	if (s->registry_user) {
		rc = check_printable(s->registry_user, false, 256, "registry user", err);
		if (rc < 0)
			return rc;
		rc = check_printable(s->registry_password, true, 1024, "registry password", err);
		if (rc < 0)
			return rc;
		if (s->registry_address) {
			rc = check_hostport(s->registry_address, strlen(s->registry_address),
					    "registry address", err);
			if (rc < 0)
				return rc;
			*registry = ap_strdup(s->registry_address);
		} else {
			if (s->agent_image)
				*registry = image_registry(s->agent_image);
			if (!*registry)
				return ap_err_set(err, AP_E_USAGE,
						  "registry credentials need the registry address: "
						  "give it, or an agent image that names its "
						  "registry (myregistry.azurecr.io/agent:1.1)");
		}
		if (!*registry)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (s->proxy_url && !ap_proxy_url_valid(s->proxy_url, err))
		return AP_E_USAGE;
	return 0;
}

static int apply_edits(yaml_document_t *d, const struct ap_devconfig_settings *s,
		       const char *conn, const char *registry, int code, struct ap_err *err)
{
	int rc, prov, agent, config, env, auth;

	rc = check_editable(d, 1, "", code, err);
	if (rc < 0)
		return rc;
	if (conn) {
		rc = ensure_map(d, 1, "provisioning", "provisioning", code, &prov, err);
		if (rc < 0)
			return rc;
		rc = map_put_str(d, prov, "source", "manual", "provisioning", code, err);
		if (rc < 0)
			return rc;
		rc = map_put_str(d, prov, "device_connection_string", conn, "provisioning", code,
				 err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < sizeof(other_method_keys) / sizeof(other_method_keys[0]);
		     i++) {
			rc = map_remove(d, prov, other_method_keys[i], "provisioning", code, err);
			if (rc < 0)
				return rc;
		}
	}
	if (!s->agent_image && !s->registry_user && !s->proxy_url)
		return 0;
	rc = ensure_map(d, 1, "agent", "agent", code, &agent, err);
	if (rc < 0)
		return rc;
	if (s->agent_image || s->registry_user) {
		rc = ensure_map(d, agent, "config", "agent.config", code, &config, err);
		if (rc < 0)
			return rc;
		if (s->agent_image) {
			rc = map_put_str(d, config, "image", s->agent_image, "agent.config", code,
					 err);
			if (rc < 0)
				return rc;
		}
		if (s->registry_user) {
			auth = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
			if (!auth)
				return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
			rc = map_put_str(d, auth, "serveraddress", registry, "agent.config.auth",
					 code, err);
			if (rc >= 0)
				rc = map_put_str(d, auth, "username", s->registry_user,
						 "agent.config.auth", code, err);
			if (rc >= 0)
				rc = map_put_str(d, auth, "password", s->registry_password,
						 "agent.config.auth", code, err);
			if (rc >= 0)
				rc = map_put(d, config, "auth", auth, "agent.config", code, err);
			if (rc < 0)
				return rc;
		}
	}
	if (s->proxy_url) {
		rc = ensure_map(d, agent, "env", "agent.env", code, &env, err);
		if (rc < 0)
			return rc;
		rc = map_put_str(d, env, "https_proxy", s->proxy_url, "agent.env", code, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ap_devconfig_apply(const char *template_yaml, size_t tlen, const char *existing_yaml,
		       size_t elen, const struct ap_devconfig_settings *s, char **out_yaml,
		       size_t *out_len, struct ap_err *err)
{
	struct ap_connstr cs = AP_CONNSTR_INIT;
	yaml_document_t doc;
	bool doc_live = false;
	char *conn = NULL, *registry = NULL, *out = NULL;
	size_t conn_len = 0, olen = 0;
	const char *what = "new configuration";
	int code = AP_E_USAGE, rc;

	rc = validate_settings(s, &cs, &registry, err);
	if (rc < 0)
		goto out;
	if (cs.shared_access_key) {
		rc = ap_connstr_format(&cs, &conn, &conn_len, err);
		if (rc < 0)
			goto out;
	}
	if (existing_yaml) {
		what = "existing configuration";
		code = AP_E_STATE;
		rc = load_doc(existing_yaml, elen, code, &doc, err);
	} else if (template_yaml) {
		what = "configuration template";
		code = AP_E_MANIFEST;
		rc = load_doc(template_yaml, tlen, code, &doc, err);
	} else {
		rc = load_doc("", 0, code, &doc, err);
	}
	if (rc < 0) {
		ap_err_prefix(err, "%s", what);
		goto out;
	}
	doc_live = true;
	rc = apply_edits(&doc, s, conn, registry, code, err);
	if (rc < 0) {
		ap_err_prefix(err, "%s", what);
		goto out;
	}
	rc = scrub_unreachable(&doc, err);
	if (rc < 0)
		goto out;
	doc_live = false;
	rc = dump_doc(&doc, &out, &olen, err);
	if (rc < 0)
		goto out;
	*out_yaml = out;
	*out_len = olen;
out:
	if (doc_live)
		doc_destroy(&doc);
	ap_secret_free(conn, conn_len);
	free(registry);
	ap_connstr_release(&cs);
	return rc;
}

/* ---- reading ------------------------------------------------------------- */

/* The node at a dotted path below the root, or 0 when some part is absent or
 * not a mapping.  Duplicate keys on the way are an error. */
static int lookup(yaml_document_t *d, const char *path, int *id, struct ap_err *err)
{
	int cur = 1, idx, rc;
	char prefix[256];
	const char *p = path;

	prefix[0] = '\0';
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];
		yaml_node_t *m = yaml_document_get_node(d, cur);

		if (!m || m->type != YAML_MAPPING_NODE || n == 0 || n >= sizeof(key)) {
			*id = 0;
			return 0;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		rc = map_find(d, cur, key, prefix, AP_E_STATE, &idx, err);
		if (rc < 0)
			return rc;
		if (idx < 0) {
			*id = 0;
			return 0;
		}
		cur = m->data.mapping.pairs.start[idx].value;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(p + n - path), path);
		p += n;
		if (*p == '.')
			p++;
	}
	*id = cur;
	return 0;
}

/* A copy of the scalar at path; *out NULL when absent, not a scalar, or
 * holding a NUL byte. */
static int lookup_str(yaml_document_t *d, const char *path, char **out, struct ap_err *err)
{
	yaml_node_t *n;
	int id, rc;

	*out = NULL;
	rc = lookup(d, path, &id, err);
	if (rc < 0 || !id)
		return rc;
	n = yaml_document_get_node(d, id);
	if (n->type != YAML_SCALAR_NODE ||
	    memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return 0;
	*out = ap_strndup((const char *)n->data.scalar.value, n->data.scalar.length);
	if (!*out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading YAML");
	return 0;
}

void ap_devconfig_info_release(struct ap_devconfig_info *info)
{
	if (!info)
		return;
	free(info->source);
	free(info->host_name);
	free(info->device_id);
	free(info->gateway_host_name);
	free(info->agent_image);
	free(info->registry_address);
	free(info->registry_user);
	free(info->proxy_redacted);
	*info = (struct ap_devconfig_info)AP_DEVCONFIG_INFO_INIT;
}

static int read_provisioning(yaml_document_t *d, struct ap_devconfig_info *in,
			     struct ap_err *err)
{
	struct ap_connstr cs = AP_CONNSTR_INIT;
	struct ap_err perr = AP_ERR_INIT;
	char *conn = NULL;
	yaml_node_t *n;
	int id, rc;

	rc = lookup(d, "provisioning", &id, err);
	if (rc < 0)
		return rc;
	if (!id) {
		snprintf(in->problem, sizeof(in->problem), "no provisioning section");
		return 0;
	}
	n = yaml_document_get_node(d, id);
	if (n->type != YAML_MAPPING_NODE) {
		snprintf(in->problem, sizeof(in->problem),
			 "provisioning is a %s (line %zu), not a mapping", node_kind(n),
			 node_line(n));
		return 0;
	}
	rc = lookup_str(d, "provisioning.source", &in->source, err);
	if (rc < 0)
		return rc;
	if (!in->source || strcmp(in->source, "manual") != 0) {
		if (in->source && quotable(in->source, strlen(in->source), NULL, 0))
			snprintf(in->problem, sizeof(in->problem),
				 "provisioning.source is '%s', not 'manual'", in->source);
		else
			snprintf(in->problem, sizeof(in->problem),
				 "provisioning.source is %s, not 'manual'",
				 in->source ? "not shown" : "missing");
		return 0;
	}
	rc = lookup_str(d, "provisioning.device_connection_string", &conn, err);
	if (rc < 0)
		return rc;
	if (!conn) {
		snprintf(in->problem, sizeof(in->problem),
			 "no provisioning.device_connection_string");
	} else if (ap_connstr_parse(conn, &cs, &perr) < 0) {
		snprintf(in->problem, sizeof(in->problem),
			 "provisioning.device_connection_string: %s", perr.msg);
	} else {
		in->host_name = ap_strdup(cs.host_name);
		in->device_id = ap_strdup(cs.device_id);
		if (cs.gateway_host_name)
			in->gateway_host_name = ap_strdup(cs.gateway_host_name);
		ap_connstr_key_fingerprint(&cs, in->key_fingerprint);
		if (!in->host_name || !in->device_id ||
		    (cs.gateway_host_name && !in->gateway_host_name))
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading YAML");
		else
			in->provisioned = true;
	}
	secret_str_free(conn);
	ap_connstr_release(&cs);
	ap_wipe(perr.msg, sizeof(perr.msg));
	return rc;
}

int ap_devconfig_read(const char *yaml, size_t len, struct ap_devconfig_info *info,
		      struct ap_err *err)
{
	struct ap_devconfig_info in = AP_DEVCONFIG_INFO_INIT;
	yaml_document_t doc;
	char *proxy = NULL;
	int rc;

	if (!yaml)
		return ap_err_set(err, AP_E_USAGE, "no configuration to read");
	rc = load_doc(yaml, len, AP_E_STATE, &doc, err);
	if (rc < 0)
		return ap_err_prefix(err, "configuration");
	rc = read_provisioning(&doc, &in, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.config.image", &in.agent_image, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.config.auth.serveraddress", &in.registry_address, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.config.auth.username", &in.registry_user, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.env.https_proxy", &proxy, err);
	if (rc >= 0 && proxy) {
		size_t n = strlen(proxy) + 1;

		in.proxy_redacted = malloc(n);
		if (!in.proxy_redacted)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading YAML");
		else
			ap_proxy_url_redacted(proxy, in.proxy_redacted, n);
	}
	secret_str_free(proxy);
	doc_destroy(&doc);
	if (rc < 0) {
		ap_devconfig_info_release(&in);
		return ap_err_prefix(err, "configuration");
	}
	*info = in;
	return 0;
}

int ap_devconfig_get(const char *yaml, size_t len, const char *path, char **value,
		     struct ap_err *err)
{
	yaml_document_t doc;
	yaml_node_t *n;
	char *v = NULL;
	int rc, id;

	if (!yaml || !path)
		return ap_err_set(err, AP_E_USAGE, "no configuration or path given");
	rc = load_doc(yaml, len, AP_E_STATE, &doc, err);
	if (rc < 0)
		return ap_err_prefix(err, "configuration");
	rc = lookup(&doc, path, &id, err);
	if (rc >= 0 && id) {
		n = yaml_document_get_node(&doc, id);
		if (n->type != YAML_SCALAR_NODE)
			rc = ap_err_set(err, AP_E_USAGE, "'%s' is a %s (line %zu), not a value",
					path, node_kind(n), node_line(n));
		else
			rc = lookup_str(&doc, path, &v, err);
	}
	doc_destroy(&doc);
	if (rc < 0)
		return ap_err_prefix(err, "configuration");
	*value = v;
	return 0;
}

int ap_devconfig_count_keys(const char *yaml, size_t len, const char *path, size_t *count,
			    struct ap_err *err)
{
	yaml_document_t doc;
	yaml_node_t *n = NULL;
	int rc, id = 1;

	if (!yaml || !path)
		return ap_err_set(err, AP_E_USAGE, "no configuration or path given");
	rc = load_doc(yaml, len, AP_E_STATE, &doc, err);
	if (rc < 0)
		return ap_err_prefix(err, "configuration");
	if (*path)
		rc = lookup(&doc, path, &id, err);
	if (rc >= 0) {
		n = id ? yaml_document_get_node(&doc, id) : NULL;
		if (!n)
			rc = ap_err_set(err, AP_E_NOTFOUND, "no '%s'", path);
		else if (n->type != YAML_MAPPING_NODE)
			rc = ap_err_set(err, AP_E_USAGE, "'%s' is a %s (line %zu), not a mapping",
					path, node_kind(n), node_line(n));
		else
			*count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	}
	doc_destroy(&doc);
	if (rc < 0)
		return ap_err_prefix(err, "configuration");
	return 0;
}
