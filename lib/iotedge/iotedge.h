/* iotedge.h - Azure IoT Edge as a device runtime of the configure step
 * (airpack/configure.h): the hook that writes a device's identity and
 * settings into its config.yaml, and what to show and record about them.
 *
 * The layer: connstr.h (IoT Hub device connection strings), setting.h (the
 * proxy, agent image and registry settings), devconfig.h (config.yaml with
 * libyaml) and this module, which ties them to the core.  libairpack does
 * not link it; airpack-setup does.  A second runtime would be a second
 * folder like this one with its own hook.
 */
#ifndef AP_IOTEDGE_H
#define AP_IOTEDGE_H

#include "airpack/configure.h"
#include "airpack/history.h"
#include "iotedge/connstr.h"
#include "iotedge/devconfig.h"

#define AP_IOTEDGE_PROXY_REDACTED_MAX 1024
#define AP_IOTEDGE_N_IDENTITY 8
#define AP_IOTEDGE_N_DETAILS 8
#define AP_IOTEDGE_MESSAGE_MAX 1024

/* One provisioning of an IoT Edge device.  Fill with ap_iotedge_init; the
 * strings are borrowed from the caller's settings and connection string,
 * which must outlive it (and hold the secrets: the caller wipes them). */
struct ap_iotedge {
	struct ap_devconfig_settings set;
	const struct ap_connstr *c;
	char redacted[AP_CONNSTR_REDACTED_MAX];	      /* the string with SharedAccessKey=**** */
	char fingerprint[AP_CONNSTR_FINGERPRINT_LEN]; /* of the key */
	char proxy
		[AP_IOTEDGE_PROXY_REDACTED_MAX]; /* the proxy, credentials as ****; "" without one */
	/* What the record keeps: host_name, device_id, gateway_host_name,
	 * key_fingerprint, agent_image, registry_address, registry_user,
	 * proxy (redacted), each NULL when not given. */
	struct ap_history_kv identity[AP_IOTEDGE_N_IDENTITY];
};

/* ---- the inputs of one provisioning ---- */

/* Where the inputs come from; the settings are checked, the secrets read. */
struct ap_iotedge_inputs {
	const char *cs_text;		    /* the connection string itself (copied), or NULL ... */
	const char *cs_file;		    /* ... a file holding it, "-" for standard input */
	bool cs_line;			    /* cs_file "-" is a terminal: read one line */
	const char *proxy;		    /* the runtime's proxy URL, or NULL */
	const char *agent_image;	    /* or NULL */
	const char *hostname;		    /* the device's hostname, or NULL */
	const char *registry_password_file; /* "-" for standard input, or NULL */
};

/* The secrets of one provisioning, in buffers wiped when released. */
struct ap_iotedge_secrets {
	char *cs; /* the connection string's text */
	size_t cs_len;
	char *pw; /* the registry password (line break removed), or NULL */
	size_t pw_len;
	struct ap_connstr c; /* cs parsed */
	bool cs_copied;	     /* cs was copied from in->cs_text */
};

#define AP_IOTEDGE_SECRET_INPUT_MAX (16 * 1024)

/* Check the settings (errors prefixed "--proxy" and "--agent-image", the
 * options that give them), then read the connection string (at most
 * AP_IOTEDGE_SECRET_INPUT_MAX bytes; one line when in->cs_line), make it
 * UTF-8 (a byte order mark, UTF-16LE: ap_connstr_decode) and parse it
 * (AP_E_INPUT when it is invalid), then read the registry
 * password, refusing an empty one (AP_E_USAGE) -- before anything on the
 * device is touched.  s is filled as far as it got; release it with
 * ap_iotedge_secrets_release whatever the result. */
int ap_iotedge_read_inputs(const struct ap_iotedge_inputs *in, struct ap_iotedge_secrets *s,
			   struct ap_err *err);
void ap_iotedge_secrets_release(struct ap_iotedge_secrets *s);

/* ---- the configure hook ---- */

/* Set ie up for settings set (set->connection_string is c's text) and the
 * parsed connection string c (ap_connstr_parse succeeded on it). */
void ap_iotedge_init(struct ap_iotedge *ie, const struct ap_devconfig_settings *set,
		     const struct ap_connstr *c);

/* The configure hook for ie: render is ap_devconfig_apply with ie's
 * settings, at most AP_DEVCONFIG_MAX_YAML bytes read, ie's identity
 * recorded.  The hook borrows ie. */
void ap_iotedge_hook(struct ap_iotedge *ie, struct ap_configure_hook *hook);

/* What the history records of the provisioning ie that wrote res (see
 * airpack/lifecycle.h ap_lifecycle_log_configure): msg gets the one line
 * (device, hub, key fingerprint, file), det the facts, none a secret:
 * config_path, config_sha256, connection_string (redacted),
 * key_fingerprint, then quotes_stripped, agent_image, registry_user and
 * proxy (redacted) when they apply.  The strings are borrowed from ie and
 * res.  Returns how many facts. */
size_t ap_iotedge_event(const struct ap_iotedge *ie, const struct ap_configure_result *res,
			char msg[AP_IOTEDGE_MESSAGE_MAX],
			struct ap_history_field det[AP_IOTEDGE_N_DETAILS]);

#endif
