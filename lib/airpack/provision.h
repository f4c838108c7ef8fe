/* provision.h - device provisioning: the IoT Hub device connection string and
 * the device configuration file (IoT Edge 1.1 config.yaml, edited with libyaml).
 *
 * Secrets.  The SharedAccessKey, the normalized connection string that holds
 * it, the registry password and the YAML produced for the device all live in
 * buffers that are wiped before they are freed.  No error message, redacted
 * form or returned status ever contains the key (nor any run of more than 3
 * of its characters) or the password.  libyaml keeps transient copies of the
 * scalars it parses and emits; airpack scrubs every libyaml buffer and node it
 * can reach before releasing it (see docs/provisioning.md for what remains).
 *
 * Error codes: a bad connection string or setting is AP_E_USAGE; a broken
 * existing configuration file is AP_E_STATE; a broken template (it comes from
 * the release) is AP_E_MANIFEST; memory is AP_E_NOMEM; a YAML input above
 * AP_DEVCONFIG_MAX_YAML bytes is AP_E_TOOBIG.
 */
#ifndef AP_PROVISION_H
#define AP_PROVISION_H

#include <stddef.h>
#include <stdbool.h>
#include "airpack/err.h"

/* ---- secrets ------------------------------------------------------------ */

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop.
 * p may be NULL when n is 0. */
void ap_wipe(void *p, size_t n);

/* Wipe the first len bytes of buf, then free it.  NULL is a no-op.  Use it for
 * every buffer this module returns that holds a secret. */
void ap_secret_free(char *buf, size_t len);

/* ---- connection strings -------------------------------------------------- */

#define AP_DEVICE_ID_MAX 128
#define AP_HOST_NAME_MAX 253
#define AP_KEY_MIN_BYTES 16 /* decoded SharedAccessKey length bounds */
#define AP_KEY_MAX_BYTES 64
#define AP_KEY_FINGERPRINT_LEN 9 /* 8 hex digits and a NUL */
#define AP_CONNSTR_REDACTED_MAX 768

/* A parsed device connection string.  Every string is malloc'd and owned by
 * the struct; release with ap_connstr_release (the key is wiped). */
struct ap_connstr {
	char *host_name;         /* HostName: a DNS name, e.g. hub.azure-devices.net */
	char *device_id;         /* DeviceId: 1..128 chars of IoT Hub's device id set */
	char *shared_access_key; /* SharedAccessKey: base64 text exactly as given */
	char *gateway_host_name; /* GatewayHostName or NULL when absent */
	size_t key_bytes;        /* decoded length of the key */
	bool quotes_stripped;    /* the input was wrapped in matching quotes: warn */
};
#define AP_CONNSTR_INIT { NULL, NULL, NULL, NULL, 0, false }

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
 *   padding) decoding to AP_KEY_MIN_BYTES..AP_KEY_MAX_BYTES bytes.
 * Every error (AP_E_USAGE) names the part ("DeviceId: ...", "missing
 * SharedAccessKey", "duplicate HostName", "unknown key 'Foo'", "part 3 ...")
 * and never contains the key.  *out is written only on success (it need not
 * be initialized); AP_E_NOMEM when out of memory. */
int ap_connstr_parse(const char *in, struct ap_connstr *out, struct ap_err *err);

/* Free the strings (wiping the key) and reset c to AP_CONNSTR_INIT.
 * NULL and already-released structs are fine. */
void ap_connstr_release(struct ap_connstr *c);

/* The normalized string "HostName=..;DeviceId=..;SharedAccessKey=..[;GatewayHostName=..]"
 * in a new NUL-terminated buffer (*len excludes the NUL).  It holds the key:
 * free it with ap_secret_free(*out, *len). */
int ap_connstr_format(const struct ap_connstr *c, char **out, size_t *len, struct ap_err *err);

/* The same string with the key shown as "****", for output and logs.  Always
 * NUL-terminates buf when n > 0; returns 0, or AP_E_TOOBIG when it was cut
 * (AP_CONNSTR_REDACTED_MAX always suffices for a parsed string). */
int ap_connstr_redacted(const struct ap_connstr *c, char *buf, size_t n);

/* The first 8 hex digits of SHA-256 over the key's base64 text as given, so
 * an operator can compare keys without showing them:
 *   printf %s "$KEY" | sha256sum | cut -c1-8 */
void ap_connstr_key_fingerprint(const struct ap_connstr *c, char out[AP_KEY_FINGERPRINT_LEN]);

/* ---- settings validation -------------------------------------------------- */

/* A proxy URL: http:// or https:// (scheme in any case), optional
 * user[:password]@, a host (DNS name, IPv4 address or [IPv6]), an optional
 * :port 1-65535 and at most a trailing '/'.  No whitespace, quotes, control
 * characters or backslashes.  On failure err (AP_E_USAGE) says why and never
 * shows the credentials. */
bool ap_proxy_url_valid(const char *url, struct ap_err *err);

/* The proxy URL with any user:password replaced by "****@".  Always
 * NUL-terminates buf when n > 0; returns 0 or AP_E_TOOBIG when cut. */
int ap_proxy_url_redacted(const char *url, char *buf, size_t n);

/* A container image reference: [registry/]repo[:tag][@sha256:<64 hex>] using
 * only a-z 0-9 . _ / : @ -, at most 512 characters, no empty path component,
 * a non-empty tag.  AP_E_USAGE in err when not. */
bool ap_image_ref_valid(const char *ref, struct ap_err *err);

/* ---- device configuration (config.yaml) ---------------------------------- */

#define AP_DEVCONFIG_MAX_YAML (1024 * 1024)

/* What provision writes.  Pointers are borrowed; the caller owns (and wipes)
 * the password.  NULL fields leave the configuration as it is. */
struct ap_devconfig_settings {
	/* A device connection string; it is parsed and written normalized to
	 * provisioning.device_connection_string with provisioning.source
	 * "manual". */
	const char *connection_string;
	/* agent.config.image */
	const char *agent_image;
	/* agent.config.auth.serveraddress: host[:port].  When NULL and a user is
	 * given, the registry part of agent_image is used. */
	const char *registry_address;
	/* agent.config.auth.username / .password: both or neither; printable
	 * ASCII, the user without spaces. */
	const char *registry_user;
	const char *registry_password;
	/* agent.env.https_proxy (IoT Edge 1.1 hands it to edgeAgent) */
	const char *proxy_url;
};
#define AP_DEVCONFIG_SETTINGS_INIT { NULL, NULL, NULL, NULL, NULL, NULL }

/* Produce the device configuration.  The base document is existing_yaml when
 * not NULL (the file on the device; empty means an empty mapping), else
 * template_yaml when not NULL (from the release), else an empty mapping.  It
 * is loaded with libyaml, the settings are applied, and it is dumped again:
 * - provisioning becomes a mapping with source "manual" and
 *   device_connection_string; keys that belong to other provisioning methods
 *   (authentication, iothub_hostname, device_id, global_endpoint, scope_id,
 *   attestation, registration_id) are removed, other keys stay;
 * - agent.config.image, agent.config.auth (replaced as a whole by
 *   serveraddress/username/password) and agent.env.https_proxy are set when
 *   given; missing or null mappings on the way are created;
 * - every other key and value survives; comments do not (libyaml drops them);
 * - every value written is a double-quoted scalar, so no input can add keys.
 * A root that is not a mapping, a path component that is not a mapping (named
 * as "agent.config"), duplicate keys on the edited paths, an aliased node on
 * an edited path, more than one document, nesting deeper than 64 levels,
 * and YAML syntax errors (with line and column) are errors.  At least one setting must be given (AP_E_USAGE).
 * *out_yaml is a new NUL-terminated buffer (*out_len excludes the NUL) that
 * holds secrets: write it mode 0600 and free it with ap_secret_free.  The
 * outputs are written only on success. */
int ap_devconfig_apply(const char *template_yaml, size_t tlen, const char *existing_yaml,
		       size_t elen, const struct ap_devconfig_settings *s, char **out_yaml,
		       size_t *out_len, struct ap_err *err);

/* What status shows about a configuration file.  Strings are malloc'd or NULL
 * when absent; release with ap_devconfig_info_release.  No secret is kept. */
struct ap_devconfig_info {
	bool provisioned;        /* source is "manual" and the string parses */
	char *source;            /* provisioning.source */
	char *host_name;         /* from the connection string, when it parses */
	char *device_id;
	char *gateway_host_name;
	char key_fingerprint[AP_KEY_FINGERPRINT_LEN]; /* "" when not provisioned */
	char *agent_image;       /* agent.config.image */
	char *registry_address;  /* agent.config.auth.serveraddress */
	char *registry_user;     /* agent.config.auth.username */
	char *proxy_redacted;    /* agent.env.https_proxy, credentials as "****" */
	char problem[AP_ERR_MSG_MAX + 64]; /* why not provisioned ("" when provisioned) */
};
#define AP_DEVCONFIG_INFO_INIT \
	{ false, NULL, NULL, NULL, NULL, { 0 }, NULL, NULL, NULL, NULL, { 0 } }

/* Read a configuration for status.  Not being provisioned is not an error
 * (info->provisioned false and info->problem says why); unparsable YAML or a
 * root that is not a mapping is AP_E_STATE.  *info is written only on
 * success. */
int ap_devconfig_read(const char *yaml, size_t len, struct ap_devconfig_info *info,
		      struct ap_err *err);

void ap_devconfig_info_release(struct ap_devconfig_info *info);

/* The scalar at a dotted path ("moby_runtime.uri") as a new string, or
 * *value NULL when some part of the path is absent.  A path naming a mapping
 * or sequence is AP_E_USAGE; bad YAML is AP_E_STATE.  The value may be a
 * secret (provisioning.device_connection_string): free with ap_secret_free. */
int ap_devconfig_get(const char *yaml, size_t len, const char *path, char **value,
		     struct ap_err *err);

/* The number of keys of the mapping at a dotted path ("" is the top level);
 * AP_E_NOTFOUND when absent, AP_E_USAGE when it is not a mapping. */
int ap_devconfig_count_keys(const char *yaml, size_t len, const char *path, size_t *count,
			    struct ap_err *err);

#endif
