/* iotedge.c - Azure IoT Edge as a device runtime of the configure step; see
 * iotedge/iotedge.h. */
#include <string.h>

#include "iotedge/iotedge.h"
#include "iotedge/setting.h"
#include "airpack/banned.h"

/* ap_history_kv holds char *: the record only reads these when saving. */
static char *fact(const char *s)
{
	return (char *)s;
}

void ap_iotedge_init(struct ap_iotedge *ie, const struct ap_devconfig_settings *set,
		     const struct ap_connstr *c)
{
	static const char *const names[AP_IOTEDGE_N_IDENTITY] = {
		"host_name",  "device_id",        "gateway_host_name", "key_fingerprint",
		"agent_image", "registry_address", "registry_user",     "proxy",
	};
	const char *values[AP_IOTEDGE_N_IDENTITY];

	memset(ie, 0, sizeof(*ie));
	ie->set = *set;
	ie->c = c;
	ap_connstr_redacted(c, ie->redacted, sizeof(ie->redacted));
	ap_connstr_key_fingerprint(c, ie->fingerprint);
	if (set->proxy_url)
		ap_setting_proxy_url_redacted(set->proxy_url, ie->proxy, sizeof(ie->proxy));
	values[0] = c->host_name;
	values[1] = c->device_id;
	values[2] = c->gateway_host_name;
	values[3] = ie->fingerprint;
	values[4] = set->agent_image;
	values[5] = set->registry_address;
	values[6] = set->registry_user;
	values[7] = set->proxy_url ? ie->proxy : NULL;
	for (size_t i = 0; i < AP_IOTEDGE_N_IDENTITY; i++) {
		ie->identity[i].key = fact(names[i]);
		ie->identity[i].value = fact(values[i]);
	}
}

static int render(void *ctx, const char *tmpl, size_t tlen, const char *existing, size_t elen,
		  char **out, size_t *out_len, struct ap_err *err)
{
	struct ap_iotedge *ie = ctx;

	return ap_devconfig_apply(tmpl, tlen, existing, existing ? elen : 0, &ie->set, out,
				  out_len, err);
}

void ap_iotedge_hook(struct ap_iotedge *ie, struct ap_configure_hook *hook)
{
	memset(hook, 0, sizeof(*hook));
	hook->ctx = ie;
	hook->max_bytes = AP_DEVCONFIG_MAX_YAML;
	hook->render = render;
	hook->identity = ie->identity;
	hook->n_identity = AP_IOTEDGE_N_IDENTITY;
}
