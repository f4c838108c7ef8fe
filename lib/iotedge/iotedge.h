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

/* One provisioning of an IoT Edge device.  Fill with ap_iotedge_init; the
 * strings are borrowed from the caller's settings and connection string,
 * which must outlive it (and hold the secrets: the caller wipes them). */
struct ap_iotedge {
	struct ap_devconfig_settings set;
	const struct ap_connstr *c;
	char redacted[AP_CONNSTR_REDACTED_MAX];  /* the string with SharedAccessKey=**** */
	char fingerprint[AP_CONNSTR_FINGERPRINT_LEN]; /* of the key */
	char proxy[AP_IOTEDGE_PROXY_REDACTED_MAX]; /* the proxy, credentials as ****; "" without one */
	/* What the record keeps: host_name, device_id, gateway_host_name,
	 * key_fingerprint, agent_image, registry_address, registry_user,
	 * proxy (redacted), each NULL when not given. */
	struct ap_history_kv identity[AP_IOTEDGE_N_IDENTITY];
};

/* Set ie up for settings set (set->connection_string is c's text) and the
 * parsed connection string c (ap_connstr_parse succeeded on it). */
void ap_iotedge_init(struct ap_iotedge *ie, const struct ap_devconfig_settings *set,
		     const struct ap_connstr *c);

/* The configure hook for ie: render is ap_devconfig_apply with ie's
 * settings, at most AP_DEVCONFIG_MAX_YAML bytes read, ie's identity
 * recorded.  The hook borrows ie. */
void ap_iotedge_hook(struct ap_iotedge *ie, struct ap_configure_hook *hook);

#endif
