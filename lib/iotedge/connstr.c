/* connstr.c - IoT Hub device connection strings; see iotedge/connstr.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotedge/connstr.h"
#include "iotedge/text.h"
#include "airpack/digest.h"
#include "airpack/secret.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define CONNSTR_MAX 4096
#define CONNSTR_MAX_PARTS 32

enum ckey {
	K_HOST,
	K_DEVICE,
	K_KEY,
	K_GATEWAY,
	K_COUNT
};

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


static bool device_id_char(char c)
{
	return ap_text_is_alnum(c) || (c != '\0' && strchr("-.%_*?!(),:=@$'", c) != NULL);
}

static int check_device_id(const char *s, size_t n, struct ap_err *err)
{
	char cb[16];

	if (n > AP_CONNSTR_DEVICE_ID_MAX)
		return ap_err_set(err, AP_E_USAGE, "DeviceId: %zu characters, at most %d allowed",
				  n, AP_CONNSTR_DEVICE_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if (!device_id_char(s[i]))
			return ap_err_set(err, AP_E_USAGE,
					  "DeviceId: character %zu is %s, which IoT Hub does not "
					  "allow; device ids use letters, digits and "
					  "- . %% _ * ? ! ( ) , : = @ $ '",
					  i + 1, ap_text_char_desc(s[i], cb));
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
	if (*bytes < AP_CONNSTR_KEY_MIN_BYTES || *bytes > AP_CONNSTR_KEY_MAX_BYTES)
		return ap_err_set(err, AP_E_USAGE,
				  "SharedAccessKey: decodes to %zu bytes, expected %d to %d "
				  "(IoT Hub keys are 32)",
				  *bytes, AP_CONNSTR_KEY_MIN_BYTES, AP_CONNSTR_KEY_MAX_BYTES);
	return 0;
}

/* The label for a part in messages: its key when it names a known one. */
static void part_label(const struct part *pt, int idx, char *buf, size_t n)
{
	const char *k = pt->p;
	size_t kn = pt->kn;

	while (kn > 0 && ap_text_is_space(k[kn - 1]))
		kn--;
	while (kn > 0 && ap_text_is_space(*k)) {
		k++;
		kn--;
	}
	for (int i = 0; i < K_COUNT; i++)
		if (ap_text_eq(k, kn, key_names[i])) {
			snprintf(buf, n, "%s", key_names[i]);
			return;
		}
	snprintf(buf, n, "part %d", idx + 1);
}

static int split_parts(const char *s, size_t n, struct part *parts, int *count, struct ap_err *err)
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

/* The string without surrounding whitespace and one pair of matching
 * quotes: [*b, *e). */
static int unwrap(const char *in, size_t len, const char **b, const char **e, bool *quoted,
		  struct ap_err *err)
{
	const char *p = in, *q = in + len;

	while (p < q && ap_text_is_space(*p))
		p++;
	while (q > p && ap_text_is_space(q[-1]))
		q--;
	if (p < q && (*p == '"' || *p == '\'')) {
		if (q - p < 2 || q[-1] != *p)
			return ap_err_set(err, AP_E_USAGE,
					  "mismatched quotes: the connection string starts with "
					  "%s but does not end with it; give it without quotes",
					  *p == '"' ? "'\"'" : "\"'\"");
		p++;
		q--;
		*quoted = true;
		while (p < q && ap_text_is_space(*p))
			p++;
		while (q > p && ap_text_is_space(q[-1]))
			q--;
	} else if (p < q && q[-1] == '"') {
		return ap_err_set(err, AP_E_USAGE,
				  "mismatched quotes: the connection string ends with '\"' but "
				  "does not start with it; give it without quotes");
	}
	if (p == q)
		return ap_err_set(err, AP_E_USAGE,
				  "connection string is empty; expected "
				  "HostName=...;DeviceId=...;SharedAccessKey=...");
	*b = p;
	*e = q;
	return 0;
}

/* The error for a key that is none of key_names; quoted only when it is
 * safe to show (keytext is the SharedAccessKey, if any). */
static int unknown_key(const struct part *pt, int i, const char *keytext, size_t keylen,
		       struct ap_err *err)
{
	for (int j = 0; j < K_COUNT; j++)
		if (ap_text_ieq(pt->p, pt->kn, key_names[j]))
			return ap_err_set(err, AP_E_USAGE,
					  "wrong case key '%.*s' in part %d: write '%s' (keys are "
					  "case-sensitive)",
					  (int)pt->kn, pt->p, i + 1, key_names[j]);
	if (ap_text_ieq(pt->p, pt->kn, "ModuleId"))
		return ap_err_set(err, AP_E_USAGE,
				  "ModuleId: module identities are not edge devices; use the "
				  "connection string of the IoT Edge device (HostName, DeviceId, "
				  "SharedAccessKey)");
	if (ap_text_ieq(pt->p, pt->kn, "SharedAccessKeyName"))
		return ap_err_set(err, AP_E_USAGE,
				  "SharedAccessKeyName: this is an IoT hub (service) connection "
				  "string, not a device connection string; copy the device's "
				  "primary connection string");
	if (ap_text_quotable(pt->p, pt->kn, keytext, keylen))
		return ap_err_set(err, AP_E_USAGE,
				  "unknown key '%.*s' in part %d; expected HostName, DeviceId, "
				  "SharedAccessKey and optionally GatewayHostName",
				  (int)pt->kn, pt->p, i + 1);
	return ap_err_set(err, AP_E_USAGE,
			  "unknown key in part %d (%zu characters, not shown); expected "
			  "HostName, DeviceId, SharedAccessKey and optionally GatewayHostName",
			  i + 1, pt->kn);
}

/* Check part i (Key=Value, no whitespace) and say which key it is in *k. */
static int check_part(const struct part *pt, int i, const char *keytext, size_t keylen, int *k,
		      struct ap_err *err)
{
	char label[32];

	if (pt->n == 0)
		return ap_err_set(err, AP_E_USAGE,
				  "part %d is empty (%s); parts are separated by one ';'", i + 1,
				  i == 0 ? "the string starts with ';'" : "';;'");
	for (size_t j = 0; j < pt->n; j++)
		if (ap_text_is_space(pt->p[j])) {
			part_label(pt, i, label, sizeof(label));
			return ap_err_set(err, AP_E_USAGE,
					  "%s: contains whitespace; a connection string has no "
					  "spaces or line breaks inside",
					  label);
		}
	if (!pt->v) {
		if (ap_text_quotable(pt->p, pt->n, keytext, keylen))
			return ap_err_set(err, AP_E_USAGE,
					  "part %d '%.*s' has no '='; expected Key=Value", i + 1,
					  (int)pt->n, pt->p);
		return ap_err_set(err, AP_E_USAGE,
				  "part %d (%zu characters, not shown) has no '='; expected "
				  "Key=Value",
				  i + 1, pt->n);
	}
	if (pt->kn == 0)
		return ap_err_set(err, AP_E_USAGE,
				  "part %d has no key before '='; expected Key=Value", i + 1);
	*k = -1;
	for (int j = 0; j < K_COUNT; j++)
		if (ap_text_eq(pt->p, pt->kn, key_names[j]))
			*k = j;
	if (*k < 0)
		return unknown_key(pt, i, keytext, keylen, err);
	return 0;
}

/* A format parser: one key after another, each error naming its key; long by design. */
static int parse(const char *in, struct ap_connstr *out, struct ap_err *err)
{
	struct part parts[CONNSTR_MAX_PARTS];
	int where[K_COUNT] = { -1, -1, -1, -1 };
	struct ap_connstr c = AP_CONNSTR_INIT;
	const char *b = NULL, *e = NULL, *keytext = NULL;
	size_t len, keylen = 0;
	char missing[64] = "";
	int np = 0, rc;

	if (!in)
		return ap_err_set(err, AP_E_USAGE, "no connection string given");
	len = strlen(in);
	if (len > CONNSTR_MAX)
		return ap_err_set(err, AP_E_USAGE,
				  "connection string is %zu characters, at most %d allowed", len,
				  CONNSTR_MAX);
	rc = unwrap(in, len, &b, &e, &c.quotes_stripped, err);
	if (rc == 0)
		rc = split_parts(b, (size_t)(e - b), parts, &np, err);
	if (rc < 0)
		return rc;
	/* Find the key first so every message below can avoid quoting it. */
	for (int i = 0; i < np; i++)
		if (parts[i].v && ap_text_eq(parts[i].p, parts[i].kn, "SharedAccessKey")) {
			keytext = parts[i].v;
			keylen = parts[i].vn;
			break;
		}
	for (int i = 0; i < np; i++) {
		int k;

		rc = check_part(&parts[i], i, keytext, keylen, &k, err);
		if (rc < 0)
			return rc;
		if (where[k] >= 0)
			return ap_err_set(err, AP_E_USAGE, "duplicate %s (parts %d and %d)",
					  key_names[k], where[k] + 1, i + 1);
		where[k] = i;
		if (parts[i].vn == 0)
			return ap_err_set(err, AP_E_USAGE, "%s: empty value", key_names[k]);
	}
	for (int k = K_HOST; k <= K_KEY; k++)
		if (where[k] < 0) {
			size_t used = strlen(missing);

			snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "",
				 key_names[k]);
		}
	if (missing[0])
		return ap_err_set(err, AP_E_USAGE,
				  "missing %s; a device connection string is "
				  "HostName=...;DeviceId=...;SharedAccessKey=...",
				  missing);

	rc = ap_text_dns_check(parts[where[K_HOST]].v, parts[where[K_HOST]].vn, 2, "HostName", err);
	if (rc < 0)
		return rc;
	rc = check_device_id(parts[where[K_DEVICE]].v, parts[where[K_DEVICE]].vn, err);
	if (rc < 0)
		return rc;
	rc = check_key(keytext, keylen, &c.key_bytes, err);
	if (rc < 0)
		return rc;
	if (where[K_GATEWAY] >= 0) {
		rc = ap_text_dns_check(parts[where[K_GATEWAY]].v, parts[where[K_GATEWAY]].vn, 1,
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

/* The checks above share the text helpers with the other settings, which
 * report AP_E_USAGE (an option's value); a connection string is an input
 * whose content is wrong: AP_E_INPUT, exit 3. */
int ap_connstr_parse(const char *in, struct ap_connstr *out, struct ap_err *err)
{
	int rc = parse(in, out, err);

	if (rc == AP_E_USAGE) {
		rc = AP_E_INPUT;
		if (err)
			err->code = rc;
	}
	return rc;
}

/* The length of the UTF-8 sequence at p (at most n bytes), 0 when invalid
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned cp;
	size_t k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

/* Append code point cp to o as UTF-8; returns the bytes written. */
static size_t utf8_put(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* UTF-16LE after its byte order mark into a new secret buffer: each 2-byte
 * unit gives at most 3 bytes of UTF-8, a surrogate pair 4 for 4. */
static int decode_utf16le(const unsigned char *p, size_t n, char **out, size_t *outlen,
			  struct ap_err *err)
{
	char *o;
	size_t w = 0;
	int rc = 0;

	if (n % 2)
		return ap_err_set(err, AP_E_INPUT,
				  "the text is UTF-16LE (it starts with the byte order mark FF FE) "
				  "but has an odd number of bytes: the file is cut short");
	o = malloc(n / 2 * 3 + 1);
	if (!o)
		return ap_err_set(err, AP_E_NOMEM, "out of memory decoding UTF-16");
	for (size_t i = 0; i < n; i += 2) {
		unsigned u = p[i] | (unsigned)p[i + 1] << 8;

		if (u == 0) {
			rc = ap_err_set(err, AP_E_INPUT,
					"the UTF-16LE text holds a NUL character (unit %zu)",
					i / 2 + 1);
			break;
		}
		if (u >= 0xd800 && u <= 0xdbff && i + 3 < n) {
			unsigned lo = p[i + 2] | (unsigned)p[i + 3] << 8;

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				w += utf8_put(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00),
					      o + w);
				i += 2;
				continue;
			}
		}
		if (u >= 0xd800 && u <= 0xdfff) {
			rc = ap_err_set(err, AP_E_INPUT,
					"the UTF-16LE text holds an unpaired surrogate (unit %zu): "
					"the file is damaged",
					i / 2 + 1);
			break;
		}
		w += utf8_put(u, o + w);
	}
	if (rc) {
		ap_secret_free(o, w);
		return rc;
	}
	o[w] = '\0';
	*out = o;
	*outlen = w;
	return 0;
}

int ap_connstr_decode(char **buf, size_t *len, struct ap_err *err)
{
	unsigned char *p = (unsigned char *)*buf;
	size_t n = *len;
	char *o = NULL;
	size_t olen = 0;
	int rc;

	if (n >= 2 && p[0] == 0xff && p[1] == 0xfe) {
		rc = decode_utf16le(p + 2, n - 2, &o, &olen, err);
		if (rc)
			return rc;
		ap_secret_free(*buf, *len);
		*buf = o;
		*len = olen;
		return 0;
	}
	if (n >= 2 && p[0] == 0xfe && p[1] == 0xff)
		return ap_err_set(err, AP_E_INPUT,
				  "the text is UTF-16 big-endian (byte order mark FE FF): save it "
				  "as UTF-8 or UTF-16LE");
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		memmove(p, p + 3, n - 3);
		ap_secret_wipe(p + n - 3, 3);
		n -= 3;
		p[n] = '\0';
		*len = n;
	}
	for (size_t i = 0; i < n;) {
		size_t k;

		if (p[i] == 0) {
			bool utf16 = n >= 4 && (p[1] == 0 || p[0] == 0);

			if (utf16)
				return ap_err_set(err, AP_E_INPUT,
						  "the text holds NUL bytes (byte %zu): it looks "
						  "like UTF-16 without a byte order mark; save it "
						  "as UTF-8",
						  i + 1);
			return ap_err_set(err, AP_E_INPUT, "the text holds a NUL byte (byte %zu)",
					  i + 1);
		}
		k = utf8_seq(p + i, n - i);
		if (k == 0)
			return ap_err_set(err, AP_E_INPUT,
					  "the text is not UTF-8 (byte %zu is 0x%02x): save it as "
					  "UTF-8 (or UTF-16LE with a byte order mark)",
					  i + 1, p[i]);
		i += k;
	}
	return 0;
}

void ap_connstr_release(struct ap_connstr *c)
{
	if (!c)
		return;
	free(c->host_name);
	free(c->device_id);
	ap_secret_free_str(c->shared_access_key);
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
	n = strlen("HostName=;DeviceId=;SharedAccessKey=;GatewayHostName=") + strlen(c->host_name) +
	    strlen(c->device_id) + strlen(c->shared_access_key) +
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

void ap_connstr_key_fingerprint(const struct ap_connstr *c, char out[AP_CONNSTR_FINGERPRINT_LEN])
{
	char hex[AP_SHA256_HEX];

	out[0] = '\0';
	if (!c || !c->shared_access_key)
		return;
	ap_digest_hex(c->shared_access_key, strlen(c->shared_access_key), hex);
	memcpy(out, hex, AP_CONNSTR_FINGERPRINT_LEN - 1);
	out[AP_CONNSTR_FINGERPRINT_LEN - 1] = '\0';
	ap_secret_wipe(hex, sizeof(hex));
}
