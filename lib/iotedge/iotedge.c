/* iotedge.c - Azure IoT Edge as a device runtime of the configure step; see
 * iotedge/iotedge.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotedge/iotedge.h"
#include "iotedge/setting.h"
#include "airpack/secret.h"
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
		"host_name",   "device_id",	   "gateway_host_name", "key_fingerprint",
		"agent_image", "registry_address", "registry_user",	"proxy",
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

	return ap_devconfig_apply(tmpl, tlen, existing, existing ? elen : 0, &ie->set, out, out_len,
				  err);
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

size_t ap_iotedge_event(const struct ap_iotedge *ie, const struct ap_configure_result *res,
			char msg[AP_IOTEDGE_MESSAGE_MAX],
			struct ap_history_field det[AP_IOTEDGE_N_DETAILS])
{
	size_t n = 0;

	snprintf(msg, AP_IOTEDGE_MESSAGE_MAX,
		 "device '%s' on hub '%s' (key sha256 %s...): wrote %s", ie->c->device_id,
		 ie->c->host_name, ie->fingerprint, res->config_path);
	det[n].key = "config_path";
	det[n++].value = res->config_path;
	det[n].key = "config_sha256";
	det[n++].value = res->config_sha256;
	det[n].key = "connection_string";
	det[n++].value = ie->redacted;
	det[n].key = "key_fingerprint";
	det[n++].value = ie->fingerprint;
	if (ie->c->quotes_stripped) {
		det[n].key = "quotes_stripped";
		det[n++].value = "yes";
	}
	if (ie->set.agent_image) {
		det[n].key = "agent_image";
		det[n++].value = ie->set.agent_image;
	}
	if (ie->set.registry_user) {
		det[n].key = "registry_user";
		det[n++].value = ie->set.registry_user;
	}
	if (ie->set.proxy_url) {
		det[n].key = "proxy";
		det[n++].value = ie->proxy;
	}
	return n;
}

/* A password file ends with a line break; the password does not. */
static int read_password(const char *path, struct ap_iotedge_secrets *s, struct ap_err *err)
{
	int rc = ap_secret_read(path, AP_IOTEDGE_SECRET_INPUT_MAX, &s->pw, &s->pw_len, err);

	if (rc) {
		ap_err_prefix(err, "reading the registry password");
		return rc;
	}
	for (size_t n = strlen(s->pw); n > 0 && (s->pw[n - 1] == '\n' || s->pw[n - 1] == '\r'); n--)
		s->pw[n - 1] = '\0';
	if (!s->pw[0])
		return ap_err_set(err, AP_E_USAGE, "the registry password is empty");
	return 0;
}

int ap_iotedge_read_inputs(const struct ap_iotedge_inputs *in, struct ap_iotedge_secrets *s,
			   struct ap_err *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (in->proxy && !ap_setting_proxy_url_valid(in->proxy, err)) {
		ap_err_prefix(err, "--proxy");
		return err ? err->code : AP_E_USAGE;
	}
	if (in->agent_image && !ap_setting_image_ref_valid(in->agent_image, err)) {
		ap_err_prefix(err, "--agent-image");
		return err ? err->code : AP_E_USAGE;
	}
	if (in->hostname && (rc = ap_devconfig_hostname_check(in->hostname, "--hostname", err)))
		return rc;
	if (in->cs_text) {
		s->cs_len = strlen(in->cs_text);
		s->cs = malloc(s->cs_len + 1);
		if (!s->cs) {
			s->cs_len = 0;
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		}
		memcpy(s->cs, in->cs_text, s->cs_len + 1);
		s->cs_copied = true;
	} else {
		if (in->cs_line)
			rc = ap_secret_read_line(AP_IOTEDGE_SECRET_INPUT_MAX, &s->cs, &s->cs_len,
						 err);
		else
			rc = ap_secret_read(in->cs_file, AP_IOTEDGE_SECRET_INPUT_MAX, &s->cs,
					    &s->cs_len, err);
		if (rc == 0)
			rc = ap_connstr_decode(&s->cs, &s->cs_len, err);
		if (rc) {
			ap_err_prefix(err, "reading the connection string");
			return rc;
		}
	}
	rc = ap_connstr_parse(s->cs, &s->c, err);
	if (rc) {
		ap_err_prefix(err, "connection string");
		return rc;
	}
	if (in->registry_password_file)
		return read_password(in->registry_password_file, s, err);
	return 0;
}

void ap_iotedge_secrets_release(struct ap_iotedge_secrets *s)
{
	ap_secret_free(s->cs, s->cs_len);
	ap_secret_free(s->pw, s->pw_len);
	ap_connstr_release(&s->c);
	memset(s, 0, sizeof(*s));
}
