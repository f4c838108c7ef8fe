/* setting.c - the device runtime's settings: proxy URLs, container image
 * references, registry addresses and credentials; see iotedge/setting.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotedge/setting.h"
#include "iotedge/text.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define PROXY_URL_MAX 2048
#define IMAGE_REF_MAX 512

/* host[:port] with host a DNS name (one label allowed), an IPv4 address, or
 * (when brackets are allowed) an [IPv6] address. */
int ap_setting_hostport_check(const char *s, size_t n, const char *what, struct ap_err *err)
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
			if (!ap_text_is_hex(*p) && *p != ':' && *p != '.')
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
		rc = ap_text_dns_check(s, hn, 1, what, err);
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
			if (!ap_text_is_digit(port[i]))
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
	if (ap_text_ieq(url, 7, "http://"))
		return url + 7;
	if (strlen(url) >= 8 && ap_text_ieq(url, 8, "https://"))
		return url + 8;
	return NULL;
}

bool ap_setting_proxy_url_valid(const char *url, struct ap_err *err)
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
				   i + 1, ap_text_char_desc(url[i], cb));
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
	if (ap_setting_hostport_check(hp, (size_t)(end - hp), "proxy URL", err) < 0)
		return false;
	return true;
}

int ap_setting_proxy_url_redacted(const char *url, char *buf, size_t n)
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
	return (c >= 'a' && c <= 'z') || ap_text_is_digit(c) || (c != '\0' && strchr("._/:@-", c));
}

/* The name part of an image reference, ref..name_end, as path components:
 * none empty, each starting and ending with a letter or digit, ':' only as
 * the first component's port or the last component's tag (*tag then
 * points after it). */
static bool image_path_ok(const char *ref, const char *name_end, const char **tag,
			  struct ap_err *err)
{
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
			*tag = colon + 1;
		else if (colon && !(first && !last)) {
			ap_err_set(err, AP_E_USAGE,
				   "image reference: ':' is only allowed for a registry port or "
				   "a tag");
			return false;
		}
		if (colon && first && !last) {
			for (const char *r = colon + 1; r < q; r++)
				if (!ap_text_is_digit(*r)) {
					ap_err_set(err, AP_E_USAGE,
						   "image reference: the registry port is not a "
						   "number");
					return false;
				}
		}
		{
			const char *ce = colon ? colon : q;

			if (ce == p || !ap_text_is_alnum(*p) || !ap_text_is_alnum(ce[-1])) {
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
	return true;
}

bool ap_setting_image_ref_valid(const char *ref, struct ap_err *err)
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
				   i + 1, ap_text_char_desc(ref[i], cb));
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
			if (!ap_text_is_hex(*p)) {
				ap_err_set(err, AP_E_USAGE,
					   "image reference: a digest must be '@sha256:' and 64 "
					   "hex digits");
				return false;
			}
	}
	if (!image_path_ok(ref, name_end, &tag, err))
		return false;
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
char *ap_setting_image_registry(const char *ref)
{
	const char *slash = strchr(ref, '/');
	size_t n;

	if (!slash)
		return NULL;
	n = (size_t)(slash - ref);
	if (!memchr(ref, '.', n) && !memchr(ref, ':', n) && !ap_text_eq(ref, n, "localhost"))
		return NULL;
	return ap_strndup(ref, n);
}

int ap_setting_printable_check(const char *s, bool allow_space, size_t max, const char *what,
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
					  u == ' '    ? "a space"
					  : u >= 0x7f ? "not ASCII"
						      : "a control character",
					  allow_space ? " and spaces" : "");
	}
	return 0;
}
