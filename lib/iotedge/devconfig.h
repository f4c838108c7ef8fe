/* devconfig.h - the IoT Edge 1.1 device configuration (config.yaml), edited
 * with libyaml (the IoT Edge layer; the only user of libyaml).
 *
 * The YAML produced for the device holds the key and the registry password:
 * it lives in buffers wiped before they are freed.  libyaml keeps transient
 * copies of the scalars it parses and emits; every libyaml buffer and node
 * that can be reached is scrubbed before it is released (see
 * docs/provisioning.md for what remains).
 *
 * Error codes: a bad setting is AP_E_USAGE; a broken existing configuration
 * file is AP_E_STATE; a broken template (it comes from the release) is
 * AP_E_MANIFEST; memory is AP_E_NOMEM; a YAML input above
 * AP_DEVCONFIG_MAX_YAML bytes is AP_E_TOOBIG.
 */
#ifndef AP_IOTEDGE_DEVCONFIG_H
#define AP_IOTEDGE_DEVCONFIG_H

#include <stddef.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "iotedge/connstr.h"

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
	/* hostname, written whatever the file holds (provision --hostname) */
	const char *hostname;
	/* hostname, written only where the file has none yet: the key absent,
	 * null, empty or a template's placeholder ("<ADD HOSTNAME HERE>", any
	 * value in <>).  The device's own name, as Initialize-IoTEdge writes
	 * it; a name set since is kept.  Ignored when hostname is given. */
	const char *device_hostname;
};
/* clang-format off */
#define AP_DEVCONFIG_SETTINGS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }
/* clang-format on */

/* The longest hostname IoT Edge 1.1 takes: edgeHub's certificate carries it
 * as its common name, which holds at most 64 characters. */
#define AP_DEVCONFIG_HOSTNAME_MAX 64

/* name is a hostname IoT Edge takes: a DNS name (labels of letters, digits
 * and '-'; one label is enough) of at most AP_DEVCONFIG_HOSTNAME_MAX
 * characters.  AP_E_USAGE naming what. */
int ap_devconfig_hostname_check(const char *name, const char *what, struct ap_err *err);

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
 * - hostname is set to s->hostname, or to s->device_hostname where the base
 *   has none yet or a placeholder;
 * - every other key and value survives; comments do not (libyaml drops them);
 * - every value written is a double-quoted scalar, so no input can add keys.
 * A root that is not a mapping, a path component that is not a mapping (named
 * as "agent.config"), duplicate keys on the edited paths, an aliased node on
 * an edited path, more than one document, nesting deeper than 64 levels,
 * and YAML syntax errors (with line and column) are errors.  At least one
 * setting must be given (AP_E_USAGE).
 * *out_yaml is a new NUL-terminated buffer (*out_len excludes the NUL) that
 * holds secrets: write it mode 0600 and free it with ap_secret_free.  The
 * outputs are written only on success. */
int ap_devconfig_apply(const char *template_yaml, size_t tlen, const char *existing_yaml,
		       size_t elen, const struct ap_devconfig_settings *s, char **out_yaml,
		       size_t *out_len, struct ap_err *err);

/* What status shows about a configuration file.  Strings are malloc'd or NULL
 * when absent; release with ap_devconfig_info_release.  No secret is kept. */
struct ap_devconfig_info {
	bool provisioned; /* source is "manual" and the string parses */
	char *source;	  /* provisioning.source */
	char *host_name;  /* from the connection string, when it parses */
	char *device_id;
	char *gateway_host_name;
	char key_fingerprint[AP_CONNSTR_FINGERPRINT_LEN]; /* "" when not provisioned */
	char *agent_image;				  /* agent.config.image */
	char *registry_address;				  /* agent.config.auth.serveraddress */
	char *registry_user;				  /* agent.config.auth.username */
	char *proxy_redacted;		   /* agent.env.https_proxy, credentials as "****" */
	char problem[AP_ERR_MSG_MAX + 64]; /* why not provisioned ("" when provisioned) */
};
#define AP_DEVCONFIG_INFO_INIT                                                                     \
	{                                                                                          \
		false, NULL, NULL, NULL, NULL, { 0 }, NULL, NULL, NULL, NULL,                      \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}

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
