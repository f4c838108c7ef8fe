/* connstr.h - IoT Hub device connection strings (the IoT Edge layer).
 *
 * The SharedAccessKey and the normalized string that holds it live in
 * buffers wiped before they are freed (airpack/secret.h).  No error message
 * or redacted form ever contains the key, nor any run of more than 3 of its
 * characters.  A bad connection string is AP_E_USAGE; memory is AP_E_NOMEM.
 */
#ifndef AP_IOTEDGE_CONNSTR_H
#define AP_IOTEDGE_CONNSTR_H

#include <stddef.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "iotedge/text.h"

#define AP_CONNSTR_DEVICE_ID_MAX 128
#define AP_CONNSTR_HOST_NAME_MAX AP_TEXT_DNS_NAME_MAX
#define AP_CONNSTR_KEY_MIN_BYTES 16 /* decoded SharedAccessKey length bounds */
#define AP_CONNSTR_KEY_MAX_BYTES 64
#define AP_CONNSTR_FINGERPRINT_LEN 9 /* 8 hex digits and a NUL */
#define AP_CONNSTR_REDACTED_MAX 768

/* A parsed device connection string.  Every string is malloc'd and owned by
 * the struct; release with ap_connstr_release (the key is wiped). */
struct ap_connstr {
	char *host_name;	 /* HostName: a DNS name, e.g. hub.azure-devices.net */
	char *device_id;	 /* DeviceId: 1..128 chars of IoT Hub's device id set */
	char *shared_access_key; /* SharedAccessKey: base64 text exactly as given */
	char *gateway_host_name; /* GatewayHostName or NULL when absent */
	size_t key_bytes;	 /* decoded length of the key */
	bool quotes_stripped;	 /* the input was wrapped in matching quotes: warn */
};
/* clang-format off */
#define AP_CONNSTR_INIT { NULL, NULL, NULL, NULL, 0, false }
/* clang-format on */

/* Parse and validate a device connection string
 *   HostName=<hub>.azure-devices.net;DeviceId=<id>;SharedAccessKey=<base64>
 * Rules:
 * - leading/trailing whitespace (spaces, tabs, CR, LF) is ignored; one pair of
 *   matching surrounding quotes (" or ') is stripped and sets quotes_stripped;
 *   whitespace anywhere else is an error;
 * - parts are separated by ';' and split at their FIRST '=' (base64 padding
 *   keeps its '='); one trailing ';' is tolerated, an empty part is an error;
 * - keys are exactly HostName, DeviceId, SharedAccessKey (all required) and
 *   the optional GatewayHostName, in any order, each at most once, with a
 *   non-empty value.  A key in the wrong case is an error suggesting the right
 *   spelling; ModuleId is refused (a module identity is not an edge device);
 *   SharedAccessKeyName is refused (that is a hub, not a device, string);
 * - HostName is a DNS name of at least two labels (labels of 1-63 letters,
 *   digits and '-', not starting or ending with '-'; at most 253 characters);
 *   GatewayHostName follows the same rules but may be a single label;
 * - DeviceId is 1..128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ '
 *   (the IoT Hub identity registry set; '+' and '#' are not supported there);
 * - SharedAccessKey is canonical standard base64 (A-Z a-z 0-9 + /, '='
 *   padding) decoding to AP_CONNSTR_KEY_MIN_BYTES..AP_CONNSTR_KEY_MAX_BYTES bytes.
 * Every error (AP_E_INPUT) names the part ("DeviceId: ...", "missing
 * SharedAccessKey", "duplicate HostName", "unknown key 'Foo'", "part 3 ...")
 * and never contains the key.  *out is written only on success (it need not
 * be initialized); AP_E_NOMEM when out of memory. */
int ap_connstr_parse(const char *in, struct ap_connstr *out, struct ap_err *err);

/* Make the bytes of a connection string read from a file (*buf, *len, a
 * secret buffer from ap_secret_read) plain UTF-8 text, as Windows tools
 * save it: a UTF-8 byte order mark is removed; UTF-16LE with its byte order
 * mark (PowerShell 5.1's '>' and Out-File) is decoded into a new buffer
 * (the old one is wiped and freed).  Whatever else is not UTF-8 text is
 * AP_E_INPUT naming the encoding problem: UTF-16 big-endian, UTF-16
 * without a byte order mark (NUL bytes), a NUL byte, bytes that are not
 * UTF-8 (the offset and value are named; the text is never quoted).  On
 * success *buf and *len may have changed (free with ap_secret_free); on
 * failure they are unchanged. */
int ap_connstr_decode(char **buf, size_t *len, struct ap_err *err);

/* Free the strings (wiping the key) and reset c to AP_CONNSTR_INIT.
 * NULL and already-released structs are fine. */
void ap_connstr_release(struct ap_connstr *c);

/* The normalized string "HostName=..;DeviceId=..;SharedAccessKey=..[;GatewayHostName=..]"
 * in a new NUL-terminated buffer (*len excludes the NUL).  It holds the key:
 * free it with ap_secret_free(*out, *len) (airpack/secret.h). */
int ap_connstr_format(const struct ap_connstr *c, char **out, size_t *len, struct ap_err *err);

/* The same string with the key shown as "****", for output and logs.  Always
 * NUL-terminates buf when n > 0; returns 0, or AP_E_TOOBIG when it was cut
 * (AP_CONNSTR_REDACTED_MAX always suffices for a parsed string). */
int ap_connstr_redacted(const struct ap_connstr *c, char *buf, size_t n);

/* The first 8 hex digits of SHA-256 over the key's base64 text as given, so
 * an operator can compare keys without showing them:
 *   printf %s "$KEY" | sha256sum | cut -c1-8 */
void ap_connstr_key_fingerprint(const struct ap_connstr *c, char out[AP_CONNSTR_FINGERPRINT_LEN]);

#endif
