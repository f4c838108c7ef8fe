/* devconfig.c - the IoT Edge device configuration (config.yaml), edited
 * with libyaml; see iotedge/devconfig.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "iotedge/devconfig.h"
#include "iotedge/connstr.h"
#include "iotedge/setting.h"
#include "iotedge/text.h"
#include "airpack/secret.h"
#include "airpack/str.h"
#include "airpack/banned.h"

/* ---- YAML documents -------------------------------------------------------- */

#define YAML_MAX_DEPTH 64

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "scalar";
	case YAML_SEQUENCE_NODE:
		return "sequence";
	case YAML_MAPPING_NODE:
		return "mapping";
	default:
		return "empty node";
	}
}

static int node_count(const yaml_document_t *d)
{
	return (int)(d->nodes.top - d->nodes.start);
}

static size_t node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* Zero every scalar value in the document, then free it: configuration
 * documents hold the connection string and passwords. */
static void doc_destroy(yaml_document_t *d)
{
	for (yaml_node_t *n = d->nodes.start; n && n < d->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE)
			ap_secret_wipe(n->data.scalar.value, n->data.scalar.length);
	yaml_document_delete(d);
}

/* One of libyaml's working buffers, start to end (start NULL: none). */
static void wipe_span(unsigned char *start, const unsigned char *end)
{
	if (start)
		ap_secret_wipe(start, (size_t)(end - start));
}

/* libyaml keeps the input text in its working buffers; scrub them before the
 * parser frees them. */
static void parser_destroy(yaml_parser_t *p)
{
	wipe_span(p->buffer.start, p->buffer.end);
	wipe_span(p->raw_buffer.start, p->raw_buffer.end);
	yaml_parser_delete(p);
}

static void emitter_destroy(yaml_emitter_t *em)
{
	wipe_span(em->buffer.start, em->buffer.end);
	wipe_span(em->raw_buffer.start, em->raw_buffer.end);
	yaml_emitter_delete(em);
}

static int parse_error(yaml_parser_t *p, int code, struct ap_err *err)
{
	const char *problem = p->problem ? p->problem : "unknown problem";

	if (p->error == YAML_MEMORY_ERROR)
		return ap_err_set(err, AP_E_NOMEM, "out of memory parsing YAML");
	if (p->error == YAML_READER_ERROR)
		return ap_err_set(err, code, "invalid YAML at byte %zu: %s", p->problem_offset,
				  problem);
	if (p->context)
		return ap_err_set(err, code,
				  "invalid YAML at line %zu, column %zu: %s (%s at line %zu)",
				  p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
				  p->context, p->context_mark.line + 1);
	return ap_err_set(err, code, "invalid YAML at line %zu, column %zu: %s",
			  p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

/* Mark the nodes reachable from id in the order libyaml's emitter walks them.
 * Returns false (having stopped early) past a depth load_doc never lets in. */
static bool walk_nodes(yaml_document_t *d, int id, int depth, unsigned char *seen)
{
	yaml_node_t *n = yaml_document_get_node(d, id);

	if (!n || seen[id - 1])
		return true;
	seen[id - 1] = 1;
	if (depth > 2 * YAML_MAX_DEPTH)
		return false;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++)
			if (!walk_nodes(d, pr->key, depth + 1, seen) ||
			    !walk_nodes(d, pr->value, depth + 1, seen))
				return false;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			if (!walk_nodes(d, *it, depth + 1, seen))
				return false;
	}
	return true;
}

/* Wipe scalars no longer reachable from the root (values that were replaced
 * or removed): the dumper frees them without looking at them. */
static int scrub_unreachable(yaml_document_t *d, struct ap_err *err)
{
	int count = node_count(d);
	unsigned char *seen = calloc((size_t)count + 1, 1);

	if (!seen)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing YAML");
	if (walk_nodes(d, 1, 0, seen)) {
		for (int i = 0; i < count; i++) {
			yaml_node_t *n = d->nodes.start + i;

			if (!seen[i] && n->type == YAML_SCALAR_NODE)
				ap_secret_wipe(n->data.scalar.value, n->data.scalar.length);
		}
	}
	free(seen);
	return 0;
}

/* A first pass over the event stream, before libyaml's loader (which
 * recurses once per nesting level) sees the text: refuse deep nesting and a
 * second document, and report syntax errors with their line. */
static int precheck(const char *yaml, size_t len, int code, struct ap_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parse_error(&parser, code, err);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = ap_err_set(err, code,
						"more than one YAML document (the second starts "
						"at line %zu); expected one",
						ev.start_mark.line + 1);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > YAML_MAX_DEPTH)
				rc = ap_err_set(err, code,
						"YAML nested deeper than %d levels at line %zu",
						YAML_MAX_DEPTH, ev.start_mark.line + 1);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			ap_secret_wipe(ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	parser_destroy(&parser);
	return rc;
}

/* Load exactly one YAML document whose root is a mapping.  Empty input (or
 * only comments) gives an empty mapping.  Errors are prefixed by the caller. */
static int load_doc(const char *yaml, size_t len, int code, yaml_document_t *doc,
		    struct ap_err *err)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	int rc;

	if (len > AP_DEVCONFIG_MAX_YAML)
		return ap_err_set(err, AP_E_TOOBIG, "%zu bytes of YAML, at most %d allowed", len,
				  AP_DEVCONFIG_MAX_YAML);
	rc = precheck(yaml, len, code, err);
	if (rc < 0)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, doc)) {
		rc = parse_error(&parser, code, err);
		parser_destroy(&parser);
		return rc;
	}
	parser_destroy(&parser);
	root = yaml_document_get_root_node(doc);
	if (!root) {
		yaml_document_delete(doc);
		if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
			return ap_err_set(err, AP_E_NOMEM, "out of memory creating YAML");
		if (!yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE)) {
			yaml_document_delete(doc);
			return ap_err_set(err, AP_E_NOMEM, "out of memory creating YAML");
		}
		return 0;
	}
	if (root->type != YAML_MAPPING_NODE) {
		rc = ap_err_set(err, code, "the top level is a %s (line %zu), expected a mapping",
				node_kind(root), node_line(root));
		doc_destroy(doc);
		return rc;
	}
	return 0;
}

/* Nodes that more than one place refers to (YAML anchors and aliases). */
static int ref_count(yaml_document_t *d, int id)
{
	int count = id == 1;

	for (yaml_node_t *n = d->nodes.start; n < d->nodes.top; n++) {
		if (n->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
			     pr < n->data.mapping.pairs.top; pr++)
				count += (pr->key == id) + (pr->value == id);
		} else if (n->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top; it++)
				count += *it == id;
		}
	}
	return count;
}

static bool key_is(yaml_document_t *d, int key_id, const char *key)
{
	yaml_node_t *k = yaml_document_get_node(d, key_id);

	return k && k->type == YAML_SCALAR_NODE &&
	       ap_text_eq((const char *)k->data.scalar.value, k->data.scalar.length, key);
}

/* Find `key` in mapping `map` (named `path` in messages, "" for the top
 * level): *idx is the pair index or -1.  A key present twice is an error. */
static int map_find(yaml_document_t *d, int map, const char *key, const char *path, int code,
		    int *idx, struct ap_err *err)
{
	yaml_node_t *m = yaml_document_get_node(d, map);
	int found = -1, n = (int)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);

	for (int i = 0; i < n; i++) {
		if (!key_is(d, m->data.mapping.pairs.start[i].key, key))
			continue;
		if (found >= 0) {
			yaml_node_t *k1 =
				yaml_document_get_node(d, m->data.mapping.pairs.start[found].key);
			yaml_node_t *k2 =
				yaml_document_get_node(d, m->data.mapping.pairs.start[i].key);

			return ap_err_set(err, code,
					  "duplicate key '%s%s%s' (lines %zu and %zu); remove one",
					  path, *path ? "." : "", key, node_line(k1),
					  node_line(k2));
		}
		found = i;
	}
	*idx = found;
	return 0;
}

static bool is_null_scalar(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (len == 0 || ap_text_eq(v, len, "~") || ap_text_eq(v, len, "null") ||
		ap_text_eq(v, len, "Null") || ap_text_eq(v, len, "NULL"));
}

static int add_scalar(yaml_document_t *d, const char *v, yaml_scalar_style_t style,
		      struct ap_err *err)
{
	size_t n = strlen(v);
	int id;

	if (n > INT_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "a YAML value is too long");
	id = yaml_document_add_scalar(d, NULL, (const yaml_char_t *)v, (int)n, style);
	if (!id)
		return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
	return id;
}

/* Give mapping `map` the pair key: value_id, replacing an existing value. */
static int map_put(yaml_document_t *d, int map, const char *key, int value_id, const char *path,
		   int code, struct ap_err *err)
{
	int idx, kid, rc;

	rc = map_find(d, map, key, path, code, &idx, err);
	if (rc < 0)
		return rc;
	if (idx >= 0) {
		yaml_node_t *m = yaml_document_get_node(d, map);

		m->data.mapping.pairs.start[idx].value = value_id;
		return 0;
	}
	kid = add_scalar(d, key, YAML_PLAIN_SCALAR_STYLE, err);
	if (kid < 0)
		return kid;
	if (!yaml_document_append_mapping_pair(d, map, kid, value_id))
		return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
	return 0;
}

/* Set key to a double-quoted string: whatever the value holds, it stays one
 * scalar (the emitter escapes quotes, backslashes and line breaks). */
static int map_put_str(yaml_document_t *d, int map, const char *key, const char *value,
		       const char *path, int code, struct ap_err *err)
{
	int vid = add_scalar(d, value, YAML_DOUBLE_QUOTED_SCALAR_STYLE, err);

	if (vid < 0)
		return vid;
	return map_put(d, map, key, vid, path, code, err);
}

static int map_remove(yaml_document_t *d, int map, const char *key, const char *path, int code,
		      struct ap_err *err)
{
	yaml_node_t *m;
	int idx, rc, n;

	rc = map_find(d, map, key, path, code, &idx, err);
	if (rc < 0 || idx < 0)
		return rc;
	m = yaml_document_get_node(d, map);
	n = (int)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	memmove(m->data.mapping.pairs.start + idx, m->data.mapping.pairs.start + idx + 1,
		(size_t)(n - idx - 1) * sizeof(yaml_node_pair_t));
	m->data.mapping.pairs.top--;
	return 0;
}

static int check_editable(yaml_document_t *d, int id, const char *path, int code,
			  struct ap_err *err)
{
	if (ref_count(d, id) > 1) {
		yaml_node_t *n = yaml_document_get_node(d, id);

		return ap_err_set(err, code,
				  "'%s' (line %zu) is shared with other keys through a YAML "
				  "alias; write it out in full so provisioning changes only it",
				  *path ? path : "the top level", node_line(n));
	}
	return 0;
}

/* The mapping at parent.key, created when missing or null.  `path` is the
 * child's full dotted name. */
static int ensure_map(yaml_document_t *d, int parent, const char *key, const char *path, int code,
		      int *child, struct ap_err *err)
{
	const char *dot = strrchr(path, '.');
	char ppath[64];
	yaml_node_t *n;
	int idx, rc, id;

	snprintf(ppath, sizeof(ppath), "%.*s", dot ? (int)(dot - path) : 0, path);
	rc = map_find(d, parent, key, ppath, code, &idx, err);
	if (rc < 0)
		return rc;
	if (idx >= 0) {
		id = yaml_document_get_node(d, parent)->data.mapping.pairs.start[idx].value;
		n = yaml_document_get_node(d, id);
		if (n->type == YAML_MAPPING_NODE) {
			rc = check_editable(d, id, path, code, err);
			if (rc < 0)
				return rc;
			n->data.mapping.style = YAML_BLOCK_MAPPING_STYLE;
			*child = id;
			return 0;
		}
		if (!is_null_scalar(n))
			return ap_err_set(err, code, "'%s' is a %s (line %zu), expected a mapping",
					  path, node_kind(n), node_line(n));
	}
	id = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
	if (!id)
		return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
	rc = map_put(d, parent, key, id, ppath, code, err);
	if (rc < 0)
		return rc;
	*child = id;
	return 0;
}

struct outbuf {
	char *p;
	size_t len, cap;
	bool nomem, toobig;
};

/* Collect emitter output; grown buffers are wiped before they are freed. */
static int out_write(void *data, unsigned char *buf, size_t size)
{
	struct outbuf *o = data;

	if (size > 4 * (size_t)AP_DEVCONFIG_MAX_YAML - o->len) {
		o->toobig = true;
		return 0;
	}
	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		char *np;

		while (cap < o->len + size + 1)
			cap *= 2;
		np = malloc(cap);
		if (!np) {
			o->nomem = true;
			return 0;
		}
		if (o->p) {
			memcpy(np, o->p, o->len);
			ap_secret_free(o->p, o->cap);
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buf, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 1;
}

/* Dump the document (libyaml consumes it either way) into a new buffer. */
static int dump_doc(yaml_document_t *d, char **out, size_t *out_len, struct ap_err *err)
{
	yaml_emitter_t em;
	struct outbuf o = { NULL, 0, 0, false, false };
	int ok, rc = 0;

	if (!yaml_emitter_initialize(&em)) {
		doc_destroy(d);
		return ap_err_set(err, AP_E_NOMEM, "out of memory starting the YAML emitter");
	}
	yaml_emitter_set_output(&em, out_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	ok = yaml_emitter_open(&em);
	if (ok)
		ok = yaml_emitter_dump(&em, d);
	else
		doc_destroy(d);
	if (ok)
		ok = yaml_emitter_close(&em);
	if (ok)
		ok = yaml_emitter_flush(&em);
	if (!ok || !o.p) {
		if (o.nomem || em.error == YAML_MEMORY_ERROR)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory writing YAML");
		else if (o.toobig)
			rc = ap_err_set(err, AP_E_TOOBIG, "the YAML written is too large");
		else
			rc = ap_err_set(err, AP_E_USAGE, "writing YAML failed: %s",
					em.problem ? em.problem : "no output");
		ap_secret_free(o.p, o.cap);
	} else {
		*out = o.p;
		*out_len = o.len;
	}
	emitter_destroy(&em);
	return rc;
}

/* Keys of provisioning methods other than a manual connection string; left
 * in place they would make iotedged see two identities. */
static const char *const other_method_keys[] = {
	"authentication", "iothub_hostname", "device_id",	"global_endpoint",
	"scope_id",	  "attestation",     "registration_id",
};

static int validate_settings(const struct ap_devconfig_settings *s, struct ap_connstr *cs,
			     char **registry, struct ap_err *err)
{
	int rc;

	if (!s || (!s->connection_string && !s->agent_image && !s->registry_address &&
		   !s->registry_user && !s->registry_password && !s->proxy_url && !s->hostname &&
		   !s->device_hostname))
		return ap_err_set(err, AP_E_USAGE,
				  "nothing to configure: give a connection string, an agent "
				  "image, registry credentials or a proxy");
	if (s->connection_string) {
		rc = ap_connstr_parse(s->connection_string, cs, err);
		if (rc < 0) {
			ap_err_prefix(err, "device connection string");
			return rc;
		}
	}
	if (s->agent_image && !ap_setting_image_ref_valid(s->agent_image, err)) {
		ap_err_prefix(err, "agent image '%s'",
			      strlen(s->agent_image) <= 128 ? s->agent_image : "(long)");
		return AP_E_USAGE;
	}
	if (!s->registry_user != !s->registry_password)
		return ap_err_set(err, AP_E_USAGE,
				  "a registry user needs a registry password and the other way "
				  "round; give both or neither");
	if (s->registry_address && !s->registry_user)
		return ap_err_set(err, AP_E_USAGE,
				  "a registry address needs a registry user and password");
	if (s->registry_user) {
		rc = ap_setting_printable_check(s->registry_user, false, 256, "registry user", err);
		if (rc < 0)
			return rc;
		rc = ap_setting_printable_check(s->registry_password, true, 1024,
						"registry password", err);
		if (rc < 0)
			return rc;
		if (s->registry_address) {
			rc = ap_setting_hostport_check(s->registry_address,
						       strlen(s->registry_address),
						       "registry address", err);
			if (rc < 0)
				return rc;
			*registry = ap_strdup(s->registry_address);
		} else {
			if (s->agent_image)
				*registry = ap_setting_image_registry(s->agent_image);
			if (!*registry)
				return ap_err_set(err, AP_E_USAGE,
						  "registry credentials need the registry address: "
						  "give it, or an agent image that names its "
						  "registry (myregistry.azurecr.io/agent:1.1)");
		}
		if (!*registry)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (s->proxy_url && !ap_setting_proxy_url_valid(s->proxy_url, err))
		return AP_E_USAGE;
	if (s->hostname && (rc = ap_devconfig_hostname_check(s->hostname, "hostname", err)) < 0)
		return rc;
	if (!s->hostname && s->device_hostname &&
	    (rc = ap_devconfig_hostname_check(s->device_hostname, "the device's name", err)) < 0)
		return rc;
	return 0;
}

int ap_devconfig_hostname_check(const char *name, const char *what, struct ap_err *err)
{
	size_t n = strlen(name);

	if (n > AP_DEVCONFIG_HOSTNAME_MAX)
		return ap_err_set(err, AP_E_USAGE,
				  "%s: %zu characters, at most %d (edgeHub's certificate carries "
				  "it as its common name)",
				  what, n, AP_DEVCONFIG_HOSTNAME_MAX);
	return ap_text_dns_check(name, n, 1, what, err);
}

/* The top-level hostname is still to be filled: absent, null, empty or a
 * template's placeholder in <>. */
static int hostname_unset(yaml_document_t *d, int code, bool *unset, struct ap_err *err)
{
	yaml_node_t *m = yaml_document_get_node(d, 1), *v;
	const char *s;
	size_t len;
	int idx, rc;

	rc = map_find(d, 1, "hostname", "", code, &idx, err);
	if (rc < 0)
		return rc;
	*unset = idx < 0;
	if (idx < 0)
		return 0;
	v = yaml_document_get_node(d, m->data.mapping.pairs.start[idx].value);
	if (!v || v->type != YAML_SCALAR_NODE)
		return 0;
	s = (const char *)v->data.scalar.value;
	len = v->data.scalar.length;
	*unset = is_null_scalar(v) || len == 0 || (s[0] == '<' && s[len - 1] == '>');
	return 0;
}

/* The device's identity: manual provisioning with its connection string
 * (other methods' keys removed) and the hostname. */
static int edit_identity(yaml_document_t *d, const struct ap_devconfig_settings *s,
			 const char *conn, int code, struct ap_err *err)
{
	int rc, prov;

	rc = check_editable(d, 1, "", code, err);
	if (rc < 0)
		return rc;
	if (conn) {
		rc = ensure_map(d, 1, "provisioning", "provisioning", code, &prov, err);
		if (rc < 0)
			return rc;
		rc = map_put_str(d, prov, "source", "manual", "provisioning", code, err);
		if (rc < 0)
			return rc;
		rc = map_put_str(d, prov, "device_connection_string", conn, "provisioning", code,
				 err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < sizeof(other_method_keys) / sizeof(other_method_keys[0]);
		     i++) {
			rc = map_remove(d, prov, other_method_keys[i], "provisioning", code, err);
			if (rc < 0)
				return rc;
		}
	}
	if (s->hostname) {
		rc = map_put_str(d, 1, "hostname", s->hostname, "", code, err);
		if (rc < 0)
			return rc;
	} else if (s->device_hostname) {
		bool unset = false;

		rc = hostname_unset(d, code, &unset, err);
		if (rc == 0 && unset)
			rc = map_put_str(d, 1, "hostname", s->device_hostname, "", code, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The edge agent's settings: its image, the registry's credentials, the
 * proxy it reaches the hub through. */
static int edit_agent(yaml_document_t *d, const struct ap_devconfig_settings *s,
		      const char *registry, int code, struct ap_err *err)
{
	int rc, agent, config, env, auth;

	if (!s->agent_image && !s->registry_user && !s->proxy_url)
		return 0;
	rc = ensure_map(d, 1, "agent", "agent", code, &agent, err);
	if (rc < 0)
		return rc;
	if (s->agent_image || s->registry_user) {
		rc = ensure_map(d, agent, "config", "agent.config", code, &config, err);
		if (rc < 0)
			return rc;
		if (s->agent_image) {
			rc = map_put_str(d, config, "image", s->agent_image, "agent.config", code,
					 err);
			if (rc < 0)
				return rc;
		}
		if (s->registry_user) {
			auth = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
			if (!auth)
				return ap_err_set(err, AP_E_NOMEM, "out of memory building YAML");
			rc = map_put_str(d, auth, "serveraddress", registry, "agent.config.auth",
					 code, err);
			if (rc >= 0)
				rc = map_put_str(d, auth, "username", s->registry_user,
						 "agent.config.auth", code, err);
			if (rc >= 0)
				rc = map_put_str(d, auth, "password", s->registry_password,
						 "agent.config.auth", code, err);
			if (rc >= 0)
				rc = map_put(d, config, "auth", auth, "agent.config", code, err);
			if (rc < 0)
				return rc;
		}
	}
	if (s->proxy_url) {
		rc = ensure_map(d, agent, "env", "agent.env", code, &env, err);
		if (rc < 0)
			return rc;
		rc = map_put_str(d, env, "https_proxy", s->proxy_url, "agent.env", code, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int apply_edits(yaml_document_t *d, const struct ap_devconfig_settings *s, const char *conn,
		       const char *registry, int code, struct ap_err *err)
{
	int rc = edit_identity(d, s, conn, code, err);

	return rc < 0 ? rc : edit_agent(d, s, registry, code, err);
}

int ap_devconfig_apply(const char *template_yaml, size_t tlen, const char *existing_yaml,
		       size_t elen, const struct ap_devconfig_settings *s, char **out_yaml,
		       size_t *out_len, struct ap_err *err)
{
	struct ap_connstr cs = AP_CONNSTR_INIT;
	yaml_document_t doc;
	bool doc_live = false;
	char *conn = NULL, *registry = NULL, *out = NULL;
	size_t conn_len = 0, olen = 0;
	const char *what = "new configuration";
	int code = AP_E_USAGE, rc;

	rc = validate_settings(s, &cs, &registry, err);
	if (rc < 0)
		goto out;
	if (cs.shared_access_key) {
		rc = ap_connstr_format(&cs, &conn, &conn_len, err);
		if (rc < 0)
			goto out;
	}
	if (existing_yaml) {
		what = "existing configuration";
		code = AP_E_STATE;
		rc = load_doc(existing_yaml, elen, code, &doc, err);
	} else if (template_yaml) {
		what = "configuration template";
		code = AP_E_MANIFEST;
		rc = load_doc(template_yaml, tlen, code, &doc, err);
	} else {
		rc = load_doc("", 0, code, &doc, err);
	}
	if (rc < 0) {
		ap_err_prefix(err, "%s", what);
		goto out;
	}
	doc_live = true;
	rc = apply_edits(&doc, s, conn, registry, code, err);
	if (rc < 0) {
		ap_err_prefix(err, "%s", what);
		goto out;
	}
	rc = scrub_unreachable(&doc, err);
	if (rc < 0)
		goto out;
	doc_live = false;
	rc = dump_doc(&doc, &out, &olen, err);
	if (rc < 0)
		goto out;
	*out_yaml = out;
	*out_len = olen;
out:
	if (doc_live)
		doc_destroy(&doc);
	ap_secret_free(conn, conn_len);
	free(registry);
	ap_connstr_release(&cs);
	return rc;
}

/* ---- reading ------------------------------------------------------------- */

/* The node at a dotted path below the root, or 0 when some part is absent or
 * not a mapping.  Duplicate keys on the way are an error. */
static int lookup(yaml_document_t *d, const char *path, int *id, struct ap_err *err)
{
	int cur = 1, idx, rc;
	char prefix[256];
	const char *p = path;

	prefix[0] = '\0';
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];
		yaml_node_t *m = yaml_document_get_node(d, cur);

		if (!m || m->type != YAML_MAPPING_NODE || n == 0 || n >= sizeof(key)) {
			*id = 0;
			return 0;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		rc = map_find(d, cur, key, prefix, AP_E_STATE, &idx, err);
		if (rc < 0)
			return rc;
		if (idx < 0) {
			*id = 0;
			return 0;
		}
		cur = m->data.mapping.pairs.start[idx].value;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(p + n - path), path);
		p += n;
		if (*p == '.')
			p++;
	}
	*id = cur;
	return 0;
}

/* A copy of the scalar at path; *out NULL when absent, not a scalar, or
 * holding a NUL byte. */
static int lookup_str(yaml_document_t *d, const char *path, char **out, struct ap_err *err)
{
	yaml_node_t *n;
	int id, rc;

	*out = NULL;
	rc = lookup(d, path, &id, err);
	if (rc < 0 || !id)
		return rc;
	n = yaml_document_get_node(d, id);
	if (n->type != YAML_SCALAR_NODE ||
	    memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return 0;
	*out = ap_strndup((const char *)n->data.scalar.value, n->data.scalar.length);
	if (!*out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading YAML");
	return 0;
}

void ap_devconfig_info_release(struct ap_devconfig_info *info)
{
	if (!info)
		return;
	free(info->source);
	free(info->host_name);
	free(info->device_id);
	free(info->gateway_host_name);
	free(info->agent_image);
	free(info->registry_address);
	free(info->registry_user);
	free(info->proxy_redacted);
	*info = (struct ap_devconfig_info)AP_DEVCONFIG_INFO_INIT;
}

static int read_provisioning(yaml_document_t *d, struct ap_devconfig_info *in, struct ap_err *err)
{
	struct ap_connstr cs = AP_CONNSTR_INIT;
	struct ap_err perr = AP_ERR_INIT;
	char *conn = NULL;
	yaml_node_t *n;
	int id, rc;

	rc = lookup(d, "provisioning", &id, err);
	if (rc < 0)
		return rc;
	if (!id) {
		snprintf(in->problem, sizeof(in->problem), "no provisioning section");
		return 0;
	}
	n = yaml_document_get_node(d, id);
	if (n->type != YAML_MAPPING_NODE) {
		snprintf(in->problem, sizeof(in->problem),
			 "provisioning is a %s (line %zu), not a mapping", node_kind(n),
			 node_line(n));
		return 0;
	}
	rc = lookup_str(d, "provisioning.source", &in->source, err);
	if (rc < 0)
		return rc;
	if (!in->source || strcmp(in->source, "manual") != 0) {
		if (in->source && ap_text_quotable(in->source, strlen(in->source), NULL, 0))
			snprintf(in->problem, sizeof(in->problem),
				 "provisioning.source is '%s', not 'manual'", in->source);
		else
			snprintf(in->problem, sizeof(in->problem),
				 "provisioning.source is %s, not 'manual'",
				 in->source ? "not shown" : "missing");
		return 0;
	}
	rc = lookup_str(d, "provisioning.device_connection_string", &conn, err);
	if (rc < 0)
		return rc;
	if (!conn) {
		snprintf(in->problem, sizeof(in->problem),
			 "no provisioning.device_connection_string");
	} else if (ap_connstr_parse(conn, &cs, &perr) < 0) {
		snprintf(in->problem, sizeof(in->problem),
			 "provisioning.device_connection_string: %s", perr.msg);
	} else {
		in->host_name = ap_strdup(cs.host_name);
		in->device_id = ap_strdup(cs.device_id);
		if (cs.gateway_host_name)
			in->gateway_host_name = ap_strdup(cs.gateway_host_name);
		ap_connstr_key_fingerprint(&cs, in->key_fingerprint);
		if (!in->host_name || !in->device_id ||
		    (cs.gateway_host_name && !in->gateway_host_name))
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading YAML");
		else
			in->provisioned = true;
	}
	ap_secret_free_str(conn);
	ap_connstr_release(&cs);
	ap_secret_wipe(perr.msg, sizeof(perr.msg));
	return rc;
}

int ap_devconfig_read(const char *yaml, size_t len, struct ap_devconfig_info *info,
		      struct ap_err *err)
{
	struct ap_devconfig_info in = AP_DEVCONFIG_INFO_INIT;
	yaml_document_t doc;
	char *proxy = NULL;
	int rc;

	if (!yaml)
		return ap_err_set(err, AP_E_USAGE, "no configuration to read");
	rc = load_doc(yaml, len, AP_E_STATE, &doc, err);
	if (rc < 0) {
		ap_err_prefix(err, "configuration");
		return rc;
	}
	rc = read_provisioning(&doc, &in, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.config.image", &in.agent_image, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.config.auth.serveraddress", &in.registry_address, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.config.auth.username", &in.registry_user, err);
	if (rc >= 0)
		rc = lookup_str(&doc, "agent.env.https_proxy", &proxy, err);
	if (rc >= 0 && proxy) {
		size_t n = strlen(proxy) + 1;

		in.proxy_redacted = malloc(n);
		if (!in.proxy_redacted)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory reading YAML");
		else
			ap_setting_proxy_url_redacted(proxy, in.proxy_redacted, n);
	}
	ap_secret_free_str(proxy);
	doc_destroy(&doc);
	if (rc < 0) {
		ap_devconfig_info_release(&in);
		ap_err_prefix(err, "configuration");
		return rc;
	}
	*info = in;
	return 0;
}

int ap_devconfig_get(const char *yaml, size_t len, const char *path, char **value,
		     struct ap_err *err)
{
	yaml_document_t doc;
	yaml_node_t *n;
	char *v = NULL;
	int rc, id;

	if (!yaml || !path)
		return ap_err_set(err, AP_E_USAGE, "no configuration or path given");
	rc = load_doc(yaml, len, AP_E_STATE, &doc, err);
	if (rc < 0) {
		ap_err_prefix(err, "configuration");
		return rc;
	}
	rc = lookup(&doc, path, &id, err);
	if (rc >= 0 && id) {
		n = yaml_document_get_node(&doc, id);
		if (n->type != YAML_SCALAR_NODE)
			rc = ap_err_set(err, AP_E_USAGE, "'%s' is a %s (line %zu), not a value",
					path, node_kind(n), node_line(n));
		else
			rc = lookup_str(&doc, path, &v, err);
	}
	doc_destroy(&doc);
	if (rc < 0) {
		ap_err_prefix(err, "configuration");
		return rc;
	}
	*value = v;
	return 0;
}

int ap_devconfig_count_keys(const char *yaml, size_t len, const char *path, size_t *count,
			    struct ap_err *err)
{
	yaml_document_t doc;
	yaml_node_t *n = NULL;
	int rc, id = 1;

	if (!yaml || !path)
		return ap_err_set(err, AP_E_USAGE, "no configuration or path given");
	rc = load_doc(yaml, len, AP_E_STATE, &doc, err);
	if (rc < 0) {
		ap_err_prefix(err, "configuration");
		return rc;
	}
	if (*path)
		rc = lookup(&doc, path, &id, err);
	if (rc >= 0) {
		n = id ? yaml_document_get_node(&doc, id) : NULL;
		if (!n)
			rc = ap_err_set(err, AP_E_NOTFOUND, "no '%s'", path);
		else if (n->type != YAML_MAPPING_NODE)
			rc = ap_err_set(err, AP_E_USAGE, "'%s' is a %s (line %zu), not a mapping",
					path, node_kind(n), node_line(n));
		else
			*count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	}
	doc_destroy(&doc);
	if (rc < 0) {
		ap_err_prefix(err, "configuration");
		return rc;
	}
	return 0;
}
