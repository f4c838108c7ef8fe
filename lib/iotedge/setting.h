/* setting.h - the device runtime's settings besides its identity: a proxy
 * URL, a container image reference, a registry address and credentials (the
 * IoT Edge layer).  Every check returns AP_E_USAGE in err saying why, and
 * never shows a password.
 */
#ifndef AP_IOTEDGE_SETTING_H
#define AP_IOTEDGE_SETTING_H

#include <stddef.h>
#include <stdbool.h>
#include "airpack/err.h"

/* A proxy URL: http:// or https:// (scheme in any case), optional
 * user[:password]@, a host (DNS name, IPv4 address or [IPv6]), an optional
 * :port 1-65535 and at most a trailing '/'.  No whitespace, quotes, control
 * characters or backslashes.  On failure err (AP_E_USAGE) says why and never
 * shows the credentials. */
bool ap_setting_proxy_url_valid(const char *url, struct ap_err *err);

/* The proxy URL with any user:password replaced by "****@".  Always
 * NUL-terminates buf when n > 0; returns 0 or AP_E_TOOBIG when cut. */
int ap_setting_proxy_url_redacted(const char *url, char *buf, size_t n);

/* A container image reference: [registry/]repo[:tag][@sha256:<64 hex>] using
 * only a-z 0-9 . _ / : @ -, at most 512 characters, no empty path component,
 * a non-empty tag.  AP_E_USAGE in err when not. */
bool ap_setting_image_ref_valid(const char *ref, struct ap_err *err);

/* host[:port]: host a DNS name (one label allowed), an IPv4 address or an
 * [IPv6] address, port 1-65535.  what names the setting in messages. */
int ap_setting_hostport_check(const char *s, size_t n, const char *what, struct ap_err *err);

/* The registry host of an image reference ("myreg.azurecr.io" in
 * "myreg.azurecr.io/agent:1") as a new string, or NULL when it names Docker
 * Hub (or when out of memory). */
char *ap_setting_image_registry(const char *ref);

/* s is 1..max printable ASCII characters (spaces only with allow_space). */
int ap_setting_printable_check(const char *s, bool allow_space, size_t max, const char *what,
			       struct ap_err *err);

#endif
