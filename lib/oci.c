/* oci.c - the OCI distribution API calls airpack makes (push a release,
 * pull its signed manifest, list tags) and registry auth; see airpack/oci.h
 * and docs/mirrors.md.  Payload downloads go through fetch.c: this module
 * only says where a blob is and which header the registry wants. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_config.h"
#include "jsonx.h"
#include "airpack/oci.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/fetch.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/secret.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define OCI_DOC_MAX (1u << 20) /* a token or tag list answer */
#define OCI_BUF (1u << 20)
#define OCI_EMPTY_JSON "{}"
#define OCI_EMPTY_SHA "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

struct ap_oci {
	struct ap_oci_opts o;
	char *registry; /* HOST[:PORT] */
	char *repo;
	char *tag;	 /* from the reference, or NULL */
	char *name;	 /* HOST[:PORT]/REPO */
	char *origin;	 /* http(s)://HOST[:PORT] */
	char *base;	 /* origin/v2/REPO */
	char *blob_base; /* base/blobs/ */
	char *basic;	 /* "Authorization: Basic ..." from the credentials, or NULL */
	char *auth;	 /* the header in use, or NULL (anonymous) */
	struct ap_http *http;
};

/* A formatted string (malloc'd), or NULL when out of memory. */
static char *fmt(const char *f, ...) AP_PRINTF(1, 2);
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* ---- one request ---- */

/* A registry request (fetch.h's ap_http_request underneath) and its answer. */
struct req {
	const char *method; /* "GET", "HEAD", "PUT", "POST" */
	const char *url;
	const char *accept;
	const char *content_type;
	const char *auth; /* header line, or NULL; sent only to the
				     registry's own origin unless auth_any */
	bool auth_any;	  /* the token endpoint: another host by design */
	/* request body: from memory, or from read() */
	const char *body;
	uint64_t body_len;
	int (*read)(void *ctx, unsigned char *buf, size_t n, size_t *got, struct ap_err *err);
	void *read_ctx;
	bool read_failed;
	size_t max;	       /* most body bytes kept; 0: AP_HTTP_BODY_MAX */
	struct ap_http_resp r; /* the answer */
};

static void req_release(struct req *q)
{
	ap_http_resp_release(&q->r);
}

/* The body's reader, noting a failure: its error is its own, unprefixed. */
static int req_read(void *ctx, unsigned char *buf, size_t n, size_t *got, struct ap_err *err)
{
	struct req *q = ctx;
	int rc = q->read(q->read_ctx, buf, n, got, err);

	if (rc != 0)
		q->read_failed = true;
	return rc;
}

static bool same_origin(const struct ap_oci *c, const char *url)
{
	size_t n = strlen(c->origin);

	return strncmp(url, c->origin, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

/* One registry request: which headers go (credentials to our own origin
 * only), redirects for GET, and the registry named in a failure. */
static int perform(struct ap_oci *c, struct req *q, struct ap_err *err)
{
	struct ap_http_req hq;
	char accept[512], ctype[512];
	const char *lines[4];
	size_t n = 0;
	int rc;

	memset(&hq, 0, sizeof(hq));
	if (q->accept) {
		snprintf(accept, sizeof(accept), "Accept: %s", q->accept);
		lines[n++] = accept;
	}
	if (q->content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", q->content_type);
		lines[n++] = ctype;
	}
	/* An upload Location is the registry's to choose: credentials never
	 * follow it to another host. */
	if (q->auth && (q->auth_any || same_origin(c, q->url)))
		lines[n++] = q->auth;
	lines[n] = NULL;
	hq.method = q->method;
	hq.url = q->url;
	hq.headers = lines;
	hq.body = q->body;
	hq.body_len = q->body_len;
	if (q->read) {
		hq.read = req_read;
		hq.read_ctx = q;
	}
	/* a blob may live behind a redirect (a storage backend) */
	hq.follow = strcmp(q->method, "GET") == 0;
	hq.max = q->max;
	q->read_failed = false;
	rc = ap_http_request(c->http, &hq, &q->r, err);
	if (rc != 0 && !q->read_failed)
		ap_err_prefix(err, "registry '%s'", c->registry);
	return rc;
}

/* The registry's error message ({"errors":[{"code":..,"message":..}]}), for
 * our own; "" when there is none. */
static void registry_says(const struct req *q, char *out, size_t n)
{
	cJSON *root = ap_jsonx_parse(q->r.body, q->r.body_len, NULL, NULL);
	const cJSON *errs = ap_jsonx_member(root, "errors");
	const cJSON *e = cJSON_IsArray(errs) ? errs->child : NULL;
	const char *code = ap_jsonx_member_string(e, "code");
	const char *msg = ap_jsonx_member_string(e, "message");

	out[0] = '\0';
	if (code && msg)
		snprintf(out, n, " (%s: %s)", code, msg);
	cJSON_Delete(root);
}

/* An answer that is not the one wanted, as an error naming the call. */
static int status_error(const struct ap_oci *c, const struct req *q, const char *what,
			struct ap_err *err)
{
	char says[300];

	registry_says(q, says, sizeof(says));
	if (q->r.status == 401 || q->r.status == 403)
		return ap_err_set(err, AP_E_AUTH,
				  "registry '%s' refused %s (HTTP %ld)%s: check the credentials "
				  "for '%s' (--registry-auth FILE or ~/.docker/config.json)",
				  c->registry, what, q->r.status, says, c->registry);
	if (q->r.status == 404)
		return ap_err_set(err, AP_E_NOTFOUND, "registry '%s': %s: not found (HTTP 404)%s",
				  c->registry, what, says);
	return ap_err_set(err, AP_E_FETCH, "registry '%s': %s failed: HTTP %ld%s", c->registry,
			  what, q->r.status, says);
}

/* ---- references and credentials ---- */

static bool repo_alnum(char ch)
{
	return islower((unsigned char)ch) || isdigit((unsigned char)ch);
}

/* The distribution grammar, simplified: components separated by '/', each
 * of [a-z0-9._-] starting and ending with a letter or digit. */
static bool repo_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool edge = i == 0 || i + 1 == n || s[i - 1] == '/' || s[i + 1] == '/';

		if (s[i] == '/')
			continue;
		if (edge ? !repo_alnum(s[i]) : !(repo_alnum(s[i]) || strchr("._-", s[i])))
			return false;
	}
	return s[0] != '/' && s[n - 1] != '/' && strstr(s, "//") == NULL;
}

bool ap_oci_tag_valid(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;

	if (n == 0 || n > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)tag[i]) || strchr("_.-", tag[i])))
			return false;
	return true;
}

static int parse_ref(struct ap_oci *c, const char *ref, struct ap_err *err)
{
	const char *s = ref, *slash, *colon;

	if (strncmp(s, AP_OCI_SCHEME, strlen(AP_OCI_SCHEME)) == 0)
		s += strlen(AP_OCI_SCHEME);
	slash = strchr(s, '/');
	if (!slash || slash == s)
		return ap_err_set(err, AP_E_USAGE,
				  "registry reference '%s': expected HOST[:PORT]/REPOSITORY[:TAG]",
				  ref);
	c->registry = ap_strndup(s, (size_t)(slash - s));
	colon = strrchr(slash + 1, ':');
	if (colon && strchr(colon, '/'))
		colon = NULL;
	c->repo = colon ? ap_strndup(slash + 1, (size_t)(colon - slash - 1)) : ap_strdup(slash + 1);
	c->tag = colon ? ap_strdup(colon + 1) : NULL;
	if (!c->registry || !c->repo || (colon && !c->tag))
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	for (const char *p = c->registry; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr(".-:[]", *p)))
			return ap_err_set(err, AP_E_USAGE, "registry reference '%s': bad host '%s'",
					  ref, c->registry);
	if (!repo_valid(c->repo))
		return ap_err_set(err, AP_E_USAGE,
				  "registry reference '%s': bad repository '%s' (lowercase "
				  "letters, "
				  "digits, '.', '_', '-', '/')",
				  ref, c->repo);
	if (c->tag && !ap_oci_tag_valid(c->tag))
		return ap_err_set(err, AP_E_USAGE, "registry reference '%s': bad tag '%s'", ref,
				  c->tag);
	c->name = fmt("%s/%s", c->registry, c->repo);
	c->origin = fmt("%s://%s", c->o.plain_http ? "http" : "https", c->registry);
	c->base = fmt("%s/v2/%s", c->origin, c->repo);
	c->blob_base = fmt("%s/blobs/", c->base);
	if (!c->name || !c->origin || !c->base || !c->blob_base)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of n bytes (malloc'd). */
static char *b64(const char *in, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* The credentials file to read: the option, else the docker one if any. */
static char *auth_path(const struct ap_oci_opts *o)
{
	const char *dc = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	char *p;

	if (o->auth_file)
		return ap_strdup(o->auth_file);
	if (dc && *dc) {
		p = fmt("%s/config.json", dc);
		if (p && ap_fsx_is_file(p))
			return p;
		free(p);
	}
	if (home && *home) {
		p = fmt("%s/.docker/config.json", home);
		if (p && ap_fsx_is_file(p))
			return p;
		free(p);
	}
	return NULL;
}

/* The entry of auths for our registry: "HOST[:PORT]", or with a scheme. */
static const cJSON *auth_entry(const struct ap_oci *c, const cJSON *auths)
{
	const cJSON *e;

	if (!cJSON_IsObject(auths))
		return NULL;
	cJSON_ArrayForEach(e, auths)
	{
		const char *k = e->string;

		if (strncmp(k, "https://", 8) == 0)
			k += 8;
		else if (strncmp(k, "http://", 7) == 0)
			k += 7;
		if (strncmp(k, c->registry, strlen(c->registry)) == 0 &&
		    (k[strlen(c->registry)] == '\0' || k[strlen(c->registry)] == '/'))
			return e;
	}
	return NULL;
}

static int load_creds(struct ap_oci *c, struct ap_err *err)
{
	char *path = auth_path(&c->o);
	char *buf = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	const cJSON *e;
	const char *a, *u, *pw;
	int rc = 0;

	if (!path)
		return 0;
	rc = ap_secret_read(path, OCI_DOC_MAX, &buf, &len, err);
	if (rc) {
		if (!c->o.auth_file && rc == AP_E_NOTFOUND) {
			ap_err_clear(err);
			rc = 0;
		}
		goto out;
	}
	root = ap_jsonx_parse(buf, len, NULL, NULL);
	if (!cJSON_IsObject(root)) {
		rc = ap_err_set(err, AP_E_USAGE, "registry credentials '%s': not a JSON object",
				path);
		goto out;
	}
	e = auth_entry(c, ap_jsonx_member(root, "auths"));
	if (!e)
		goto out;
	a = ap_jsonx_member_string(e, "auth");
	u = ap_jsonx_member_string(e, "username");
	pw = ap_jsonx_member_string(e, "password");
	if (a && a[0]) {
		c->basic = fmt("Authorization: Basic %s", a);
	} else if (u && pw) {
		char *up = fmt("%s:%s", u, pw);
		char *enc = up ? b64(up, strlen(up)) : NULL;

		c->basic = enc ? fmt("Authorization: Basic %s", enc) : NULL;
		if (up)
			ap_secret_wipe(up, strlen(up));
		if (enc)
			ap_secret_wipe(enc, strlen(enc));
		free(up);
		free(enc);
	} else {
		rc = ap_err_set(err, AP_E_USAGE,
				"registry credentials '%s': the entry for '%s' has neither "
				"\"auth\" "
				"nor \"username\" and \"password\"",
				path, c->registry);
		goto out;
	}
	if (!c->basic)
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
out:
	if (root)
		cJSON_Delete(root);
	if (buf)
		ap_secret_free(buf, len);
	free(path);
	return rc;
}

/* key="value" from a challenge ("Bearer realm=\"..\",service=\"..\""). */
static bool challenge_param(const char *ch, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	const char *p = ch;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=' && p[kl + 1] == '"') {
			const char *v = p + kl + 2, *end = strchr(v, '"');

			if (!end || (size_t)(end - v) >= n)
				return false;
			memcpy(out, v, (size_t)(end - v));
			out[end - v] = '\0';
			return true;
		}
		p += kl;
	}
	return false;
}

/* The token endpoint a Bearer challenge names: GET it (with our Basic
 * credentials when we have some) for a token scoped to this repository. */
static int bearer_token(struct ap_oci *c, const char *challenge, struct ap_err *err)
{
	char realm[512], service[256], url[1400];
	struct req q;
	cJSON *root = NULL;
	char *tok = NULL;
	char *esc_service = NULL, *esc_scope = NULL, *scope = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	if (!challenge_param(challenge, "realm", realm, sizeof(realm)))
		return ap_err_set(err, AP_E_AUTH,
				  "registry '%s' asks for a token but names no realm", c->registry);
	/* Credentials go to the realm: over TLS, unless the registry itself
	 * is plain HTTP (--insecure-registry). */
	if (strncmp(realm, "https://", 8) != 0 &&
	    !(c->o.plain_http && strncmp(realm, "http://", 7) == 0))
		return ap_err_set(err, AP_E_AUTH,
				  "registry '%s': refusing token realm '%s' (not https)",
				  c->registry, realm);
	if (!challenge_param(challenge, "service", service, sizeof(service)))
		service[0] = '\0';
	scope = fmt("repository:%s:%s", c->repo, c->o.push ? "pull,push" : "pull");
	esc_scope = scope ? ap_fetch_url_escape(scope) : NULL;
	esc_service = ap_fetch_url_escape(service);
	if (!esc_scope || !esc_service) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
		 esc_service, esc_scope);
	if (c->o.push && c->o.mount_from && repo_valid(c->o.mount_from)) {
		size_t used = strlen(url);

		snprintf(url + used, sizeof(url) - used, "&scope=repository%%3A%s%%3Apull",
			 c->o.mount_from);
	}
	q.method = "GET";
	q.url = url;
	q.auth = c->basic;
	q.auth_any = true;
	rc = perform(c, &q, err);
	if (rc)
		goto out;
	if (q.r.status != 200) {
		rc = status_error(c, &q, "a token", err);
		goto out;
	}
	root = ap_jsonx_parse(q.r.body, q.r.body_len, NULL, NULL);
	tok = (char *)ap_jsonx_member_string(root, "token");
	if (!tok)
		tok = (char *)ap_jsonx_member_string(root, "access_token");
	if (!tok || !tok[0]) {
		rc = ap_err_set(err, AP_E_AUTH,
				"registry '%s': the token endpoint answered no token", c->registry);
		goto out;
	}
	c->auth = fmt("Authorization: Bearer %s", tok);
	rc = c->auth ? 0 : ap_err_set(err, AP_E_NOMEM, "out of memory");
out:
	if (tok)
		ap_secret_wipe(tok, strlen(tok));
	cJSON_Delete(root);
	if (q.r.body)
		ap_secret_wipe(q.r.body, q.r.body_len);
	req_release(&q);
	free(esc_scope);
	free(esc_service);
	free(scope);
	return rc;
}

/* GET /v2/: anonymous when it answers 200; else what the challenge asks. */
static int handshake(struct ap_oci *c, struct ap_err *err)
{
	char url[1024];
	struct req q;
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(url, sizeof(url), "%s/v2/", c->origin);
	q.method = "GET";
	q.url = url;
	rc = perform(c, &q, err);
	if (rc)
		goto out;
	if (q.r.status == 200)
		goto out;
	if (q.r.status != 401) {
		rc = status_error(c, &q, "the API check (GET /v2/)", err);
		goto out;
	}
	if (strncasecmp(q.r.authenticate, "Bearer ", 7) == 0) {
		rc = bearer_token(c, q.r.authenticate, err);
		goto out;
	}
	if (!c->basic) {
		rc = ap_err_set(err, AP_E_AUTH,
				"registry '%s' wants credentials and there are none for it: give "
				"--registry-auth FILE (docker config.json style) or log in with "
				"docker/skopeo",
				c->registry);
		goto out;
	}
	q.auth = c->basic;
	rc = perform(c, &q, err);
	if (rc == 0 && q.r.status != 200)
		rc = status_error(c, &q, "the credentials (GET /v2/)", err);
	if (rc == 0) {
		c->auth = ap_strdup(c->basic);
		if (!c->auth)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
out:
	req_release(&q);
	return rc;
}

int ap_oci_open(const char *ref, const struct ap_oci_opts *o, struct ap_oci **out,
		struct ap_err *err)
{
	struct ap_oci *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	if (o)
		c->o = *o;
	rc = parse_ref(c, ref, err);
	if (rc == 0 && c->o.mount_from && !repo_valid(c->o.mount_from))
		rc = ap_err_set(err, AP_E_USAGE, "--mount-from '%s': not a repository name",
				c->o.mount_from);
	if (rc == 0)
		rc = load_creds(c, err);
	if (rc == 0) {
		struct ap_fetch_opts fo = AP_FETCH_OPTS_INIT;

		fo.cacert = c->o.cacert;
		fo.proxy = c->o.proxy;
		rc = ap_http_new(&fo, &c->http, err);
	}
	if (rc == 0)
		rc = handshake(c, err);
	if (rc) {
		ap_oci_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void ap_oci_free(struct ap_oci *c)
{
	if (!c)
		return;
	ap_http_free(c->http);
	if (c->basic)
		ap_secret_wipe(c->basic, strlen(c->basic));
	if (c->auth)
		ap_secret_wipe(c->auth, strlen(c->auth));
	free(c->basic);
	free(c->auth);
	free(c->registry);
	free(c->repo);
	free(c->tag);
	free(c->name);
	free(c->origin);
	free(c->base);
	free(c->blob_base);
	free(c);
}

const char *ap_oci_name(const struct ap_oci *c)
{
	return c->name;
}

const char *ap_oci_ref_tag(const struct ap_oci *c)
{
	return c->tag;
}

const char *ap_oci_blob_base(const struct ap_oci *c)
{
	return c->blob_base;
}

const char *ap_oci_auth_header(const struct ap_oci *c)
{
	return c->auth;
}

/* ---- push ---- */

/* Where a blob's bytes come from while it is uploaded. */
struct blob_src {
	const char *mem; /* a small document */
	size_t mem_len;
	FILE *fp;		     /* a payload file */
	struct ap_bundle_reader *br; /* a bundle entry */
	struct ap_digest *hash;	     /* of the bytes sent */
	const struct ap_progress_ops *progress;
	uint64_t done;
};

static int blob_read(void *ctx, unsigned char *buf, size_t n, size_t *got, struct ap_err *err)
{
	struct blob_src *s = ctx;

	*got = 0;
	if (s->mem) {
		*got = n < s->mem_len - s->done ? n : s->mem_len - (size_t)s->done;
		memcpy(buf, s->mem + s->done, *got);
	} else if (s->fp) {
		*got = fread(buf, 1, n, s->fp);
		if (*got == 0 && ferror(s->fp))
			return ap_err_sys(err, AP_E_IO, "reading a payload failed");
	} else if (s->br) {
		int rc = ap_bundle_reader_read(s->br, buf, n, got, err);

		if (rc)
			return rc;
	}
	ap_digest_update(s->hash, buf, *got);
	s->done += *got;
	if (s->progress && s->progress->step)
		s->progress->step(s->progress->ctx, s->done);
	return 0;
}

/* The absolute URL of an upload Location (registries answer a path). */
static char *upload_url(const struct ap_oci *c, const char *loc, const char *sha)
{
	const char *sep = strchr(loc, '?') ? "&" : "?";

	if (loc[0] == '/')
		return fmt("%s%s%sdigest=sha256:%s", c->origin, loc, sep, sha);
	return fmt("%s%sdigest=sha256:%s", loc, sep, sha);
}

struct push_state {
	struct ap_oci *c;
	const struct ap_progress_ops *progress;
	struct ap_oci_push_result *res;
	struct ap_digest *hash;
};

/* HEAD the blob; when missing, upload it in one PUT (POST for a session,
 * then PUT with ?digest=), hashing the bytes as they go.  The three share
 * the request, the hash and the upload location. */
static int push_blob(struct push_state *ps, const char *what, const char *sha, uint64_t size,
		     struct blob_src *src, struct ap_err *err)
{
	struct ap_oci *c = ps->c;
	char url[1400], got[AP_SHA256_HEX];
	struct req q;
	char *put = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(url, sizeof(url), "%ssha256:%s", c->blob_base, sha);
	q.method = "HEAD";
	q.url = url;
	q.auth = c->auth;
	rc = perform(c, &q, err);
	if (rc)
		goto out;
	if (q.r.status == 200) {
		ps->res->existed++;
		goto out;
	}
	if (q.r.status != 404) {
		rc = status_error(c, &q, what, err);
		goto out;
	}
	if (c->o.mount_from)
		snprintf(url, sizeof(url), "%s/blobs/uploads/?mount=sha256:%s&from=%s", c->base,
			 sha, c->o.mount_from);
	else
		snprintf(url, sizeof(url), "%s/blobs/uploads/", c->base);
	q.method = "POST";
	q.url = url;
	rc = perform(c, &q, err);
	if (rc)
		goto out;
	/* 201: mounted; 202: the registry opened an upload session instead */
	if (c->o.mount_from && q.r.status == 201) {
		ps->res->mounted++;
		goto out;
	}
	if (q.r.status != 202 || !q.r.location[0]) {
		rc = status_error(c, &q, "starting an upload", err);
		goto out;
	}
	put = upload_url(c, q.r.location, sha);
	if (!put) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	ap_digest_reset(ps->hash);
	src->hash = ps->hash;
	src->progress = ps->progress;
	src->done = 0;
	q.method = "PUT";
	q.url = put;
	q.content_type = "application/octet-stream";
	q.body_len = size;
	q.read = blob_read;
	q.read_ctx = src;
	ap_progress_ops_start(ps->progress, what, size);
	rc = perform(c, &q, err);
	ap_progress_ops_end(ps->progress);
	if (rc)
		goto out;
	ap_digest_final_hex(ps->hash, got);
	if (src->done != size || !ap_digest_eq(got, sha)) {
		rc = ap_err_set(err, AP_E_DIGEST,
				"%s: sent %llu bytes with sha256 %s, the signed manifest says %llu "
				"bytes with %s",
				what, (unsigned long long)src->done, got, (unsigned long long)size,
				sha);
		goto out;
	}
	if (q.r.status != 201) {
		rc = status_error(c, &q, what, err);
		goto out;
	}
	ps->res->uploaded++;
	ps->res->bytes_uploaded += size;
out:
	free(put);
	req_release(&q);
	return rc;
}

static int push_mem(struct push_state *ps, const char *what, const char *data, size_t len,
		    struct ap_err *err)
{
	struct blob_src src;
	char sha[AP_SHA256_HEX];
	int rc;

	memset(&src, 0, sizeof(src));
	ap_digest_hex(data, len, sha);
	src.mem = data;
	src.mem_len = len;
	rc = push_blob(ps, what, sha, len, &src, err);
	return rc;
}

/* The payload file of c in dir: its name, then its aliases. */
static FILE *open_payload(const struct ap_release *r, const struct ap_component *comp)
{
	for (size_t a = 0; a <= comp->n_aliases; a++) {
		char *p = ap_fsx_path_join(r->dir, a == 0 ? comp->file : comp->aliases[a - 1]);
		FILE *fp = p && ap_fsx_is_file(p) ? fopen(p, "rb") : NULL;

		free(p);
		if (fp)
			return fp;
	}
	return NULL;
}

static int push_entry(void *ctx, const struct ap_release_entry *e, struct ap_err *err)
{
	struct push_state *ps = ctx;
	struct blob_src src;
	char what[300];
	int rc;

	memset(&src, 0, sizeof(src));
	src.br = e->br;
	snprintf(what, sizeof(what), "payload '%s'", e->c->file);
	rc = push_blob(ps, what, e->c->sha256, e->c->size, &src, err);
	return rc;
}

static cJSON *descriptor(const char *mt, const char *sha, uint64_t size, const char *title,
			 const char *component)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *ann = NULL;
	char digest[80];
	bool ok;

	snprintf(digest, sizeof(digest), "sha256:%s", sha);
	ok = d && ap_jsonx_add(d, "mediaType", cJSON_CreateString(mt)) &&
	     ap_jsonx_add(d, "digest", cJSON_CreateString(digest)) &&
	     ap_jsonx_add(d, "size", ap_jsonx_u64(size));
	if (ok && title) {
		ann = cJSON_CreateObject();
		ok = ann &&
		     ap_jsonx_add(ann, "org.opencontainers.image.title", cJSON_CreateString(title));
		if (ok && component)
			ok = ap_jsonx_add(ann, "vnd.airpack.component",
					  cJSON_CreateString(component));
		ok = ap_jsonx_add(d, "annotations", ann) && ok;
	}
	if (!ok) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

static const struct ap_jsonx_doc oci_doc = { AP_E_MANIFEST, "the OCI manifest",
					     AP_JSONX_QUOTE_JSON };

/* The OCI image manifest of r (canonical text, malloc'd). */
static int build_manifest(const struct ap_release *r, const struct ap_sigset *extra, char **out,
			  size_t *len, struct ap_err *err)
{
	const struct ap_manifest *m = r->manifest;
	char msha[AP_SHA256_HEX], ssha[AP_SHA256_HEX];
	cJSON *root = cJSON_CreateObject(), *layers = cJSON_CreateArray(),
	      *ann = cJSON_CreateObject();
	bool ok;
	int rc;

	ap_digest_hex(r->manifest_json, r->manifest_len, msha);
	ap_digest_hex(r->sig, r->sig_len, ssha);
	ok = root && layers && ann && ap_jsonx_add(root, "schemaVersion", cJSON_CreateNumber(2)) &&
	     ap_jsonx_add(root, "mediaType", cJSON_CreateString(AP_OCI_MT_IMAGE)) &&
	     ap_jsonx_add(root, "artifactType", cJSON_CreateString(AP_OCI_ARTIFACT_TYPE)) &&
	     ap_jsonx_add(root, "config",
			  descriptor(AP_OCI_MT_EMPTY, OCI_EMPTY_SHA, 2, NULL, NULL)) &&
	     ap_jsonx_push(layers, descriptor(AP_OCI_MT_MANIFEST, msha, r->manifest_len,
					      AP_BUNDLE_MANIFEST, NULL)) &&
	     ap_jsonx_push(layers,
			   descriptor(AP_OCI_MT_SIGNATURE, ssha, r->sig_len, AP_BUNDLE_SIG, NULL));
	for (size_t i = 0; ok && i < extra->n; i++) {
		char title[64];

		ap_digest_hex(extra->v[i].sig, extra->v[i].len, ssha);
		snprintf(title, sizeof(title), "%s.%s", AP_BUNDLE_SIG, extra->v[i].key_id);
		ok = ap_jsonx_push(layers, descriptor(AP_OCI_MT_SIGNATURE, ssha, extra->v[i].len,
						      title, NULL));
	}
	for (size_t i = 0; ok && i < m->n_components; i++) {
		const struct ap_component *comp = &m->components[i];

		ok = ap_jsonx_push(layers, descriptor(AP_OCI_MT_PAYLOAD, comp->sha256, comp->size,
						      comp->file, comp->name));
	}
	if (ok) {
		ok = ap_jsonx_add(root, "layers", layers);
		layers = NULL;
	}
	ok = ok && ap_jsonx_add(ann, "vnd.airpack.product", cJSON_CreateString(m->product)) &&
	     ap_jsonx_add(ann, "org.opencontainers.image.version", cJSON_CreateString(m->version));
	if (ok && m->channel)
		ok = ap_jsonx_add(ann, "vnd.airpack.channel", cJSON_CreateString(m->channel));
	if (ok) {
		ok = ap_jsonx_add(root, "annotations", ann);
		ann = NULL;
	}
	if (!ok)
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory building the OCI manifest");
	else
		rc = ap_jsonx_print(&oci_doc, root, out, len, err);
	cJSON_Delete(root);
	cJSON_Delete(layers);
	cJSON_Delete(ann);
	return rc;
}

/* Point tag at the OCI manifest doc (digest: its "sha256:..."); the
 * registry must store it as those bytes. */
static int put_tag(struct ap_oci *c, const char *tag, const char *doc, size_t len,
		   const char *digest, struct ap_err *err)
{
	char url[1400], what[300];
	struct req q;
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(url, sizeof(url), "%s/manifests/%s", c->base, tag);
	snprintf(what, sizeof(what), "tag '%s'", tag);
	q.method = "PUT";
	q.url = url;
	q.auth = c->auth;
	q.content_type = AP_OCI_MT_IMAGE;
	q.body = doc;
	q.body_len = len;
	rc = perform(c, &q, err);
	if (rc == 0 && q.r.status != 201)
		rc = status_error(c, &q, what, err);
	if (rc == 0 && q.r.digest[0] && strcmp(q.r.digest, digest) != 0)
		rc = ap_err_set(err, AP_E_DIGEST,
				"registry '%s' stored %s as %s, but its bytes are %s", c->registry,
				what, q.r.digest, digest);
	req_release(&q);
	return rc;
}

/* The push sequence (blobs, config, manifest, tags) in the order the OCI spec requires. */
int ap_oci_push(struct ap_oci *c, const struct ap_release *r, const char *const *tags,
		size_t n_tags, const struct ap_progress_ops *progress,
		struct ap_oci_push_result *res, struct ap_err *err)
{
	const struct ap_manifest *m = r->manifest;
	struct ap_oci_push_result out;
	struct push_state ps = { c, progress, &out, NULL };
	char *doc = NULL;
	size_t len = 0;
	char sha[AP_SHA256_HEX];
	int rc;

	memset(&out, 0, sizeof(out));
	ps.hash = ap_digest_new();
	if (!ps.hash)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = push_mem(&ps, "the empty config", OCI_EMPTY_JSON, 2, err);
	if (rc == 0)
		rc = push_mem(&ps, AP_BUNDLE_MANIFEST, r->manifest_json, r->manifest_len, err);
	if (rc == 0)
		rc = push_mem(&ps, AP_BUNDLE_SIG, (const char *)r->sig, r->sig_len, err);
	for (size_t i = 0; rc == 0 && i < r->sigs.n; i++)
		rc = push_mem(&ps, "a signature", (const char *)r->sigs.v[i].sig, r->sigs.v[i].len,
			      err);
	if (rc)
		goto out;
	if (r->kind == AP_RELEASE_BUNDLE || (r->kind == AP_RELEASE_SFX && !r->sfx_detached)) {
		rc = ap_release_walk_bundle(r, push_entry, &ps, err);
	} else {
		for (size_t i = 0; i < m->n_components && rc == 0; i++) {
			const struct ap_component *comp = &m->components[i];
			struct blob_src src;
			char what[300];

			memset(&src, 0, sizeof(src));
			snprintf(what, sizeof(what), "payload '%s'", comp->file);
			src.fp = r->dir ? open_payload(r, comp) : NULL;
			if (!src.fp) {
				rc = ap_err_set(err, AP_E_NOTFOUND,
						"component '%s': '%s' is not in '%s'", comp->name,
						comp->file, r->dir ? r->dir : r->path);
				break;
			}
			rc = push_blob(&ps, what, comp->sha256, comp->size, &src, err);
			fclose(src.fp);
		}
	}
	if (rc)
		goto out;
	rc = build_manifest(r, &r->sigs, &doc, &len, err);
	if (rc)
		goto out;
	ap_digest_hex(doc, len, sha);
	snprintf(out.digest, sizeof(out.digest), "sha256:%s", sha);
	for (size_t i = 0; i < n_tags && rc == 0; i++)
		rc = put_tag(c, tags[i], doc, len, out.digest, err);
	if (rc == 0 && res)
		*res = out;
out:
	free(doc);
	ap_digest_free(ps.hash);
	return rc;
}

/* ---- pull ---- */

/* GET url with our credentials, keeping at most max bytes of the answer
 * (0: AP_HTTP_BODY_MAX); anything but 200 is an error naming what. */
static int registry_get(struct ap_oci *c, struct req *q, const char *url, const char *accept,
			size_t max, const char *what, struct ap_err *err)
{
	int rc;

	memset(q, 0, sizeof(*q));
	q->method = "GET";
	q->url = url;
	q->auth = c->auth;
	q->accept = accept;
	q->max = max;
	rc = perform(c, q, err);
	if (rc == 0 && q->r.status != 200)
		rc = status_error(c, q, what, err);
	return rc;
}

/* GET a small blob into memory, at most max bytes, held to its digest. */
static int get_blob(struct ap_oci *c, const char *digest, size_t max, char **buf, size_t *len,
		    struct ap_err *err)
{
	char url[1400], got[AP_SHA256_HEX];
	struct req q;
	int rc;

	snprintf(url, sizeof(url), "%s%s", c->blob_base, digest);
	rc = registry_get(c, &q, url, NULL, max, digest, err);
	if (rc == 0) {
		ap_digest_hex(q.r.body ? q.r.body : "", q.r.body_len, got);
		if (strncmp(digest, "sha256:", 7) != 0 || !ap_digest_eq(got, digest + 7))
			rc = ap_err_set(err, AP_E_DIGEST,
					"registry '%s' answered blob %s with bytes of sha256:%s",
					c->registry, digest, got);
	}
	if (rc == 0) {
		if (!q.r.body)
			q.r.body = ap_strdup("");
		if (!q.r.body)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (rc == 0) {
		*buf = q.r.body;
		*len = q.r.body_len;
		q.r.body = NULL;
	}
	req_release(&q);
	return rc;
}

/* The layer of media type mt: its digest and size. */
static const cJSON *find_layer(const cJSON *layers, const char *mt)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, layers)
	{
		const char *t = ap_jsonx_member_string(l, "mediaType");

		if (t && strcmp(t, mt) == 0)
			return l;
	}
	return NULL;
}

static int layer_blob(struct ap_oci *c, const char *tag, const cJSON *layers, const char *mt,
		      size_t max, char **buf, size_t *len, struct ap_err *err)
{
	const char *d = ap_jsonx_member_string(find_layer(layers, mt), "digest");
	int rc;

	if (!d)
		return ap_err_set(err, AP_E_MANIFEST,
				  "'%s:%s' is not an airpack release: no %s layer", c->name, tag,
				  mt);
	rc = get_blob(c, d, max, buf, len, err);
	if (rc == AP_E_TOOBIG)
		ap_err_prefix(err, "'%s:%s'", c->name, tag);
	return rc;
}

/* The signature layers titled manifest.json.sig.<key id>: each fetched
 * (capped, held to its digest) into extra; a root of trust counts them. */
static int pull_extra_sigs(struct ap_oci *c, const char *tag, const cJSON *layers,
			   struct ap_sigset *extra, struct ap_err *err)
{
	const size_t plen = strlen(AP_BUNDLE_SIG ".");
	const cJSON *l;
	int rc = 0;

	cJSON_ArrayForEach(l, layers)
	{
		const char *t = ap_jsonx_member_string(l, "mediaType");
		const char *d = ap_jsonx_member_string(l, "digest");
		const char *title = ap_jsonx_member_string(ap_jsonx_member(l, "annotations"),
							   "org.opencontainers.image.title");
		const char *id;
		char *buf = NULL;
		size_t len = 0;

		if (!t || strcmp(t, AP_OCI_MT_SIGNATURE) != 0 || !d || !title ||
		    strncmp(title, AP_BUNDLE_SIG ".", plen) != 0)
			continue;
		id = title + plen;
		if (strlen(id) != AP_KEY_ID_LEN - 1 || !ap_str_is_lower_hex(id, AP_KEY_ID_LEN - 1))
			continue;
		if (extra->n >= AP_SIGSET_MAX)
			return ap_err_set(err, AP_E_MANIFEST, "'%s:%s': more than %d signatures",
					  c->name, tag, AP_SIGSET_MAX);
		rc = get_blob(c, d, AP_SIG_MAX, &buf, &len, err);
		if (rc == 0)
			rc = ap_root_sigset_add(extra, id, buf, len, err);
		free(buf);
		if (rc) {
			ap_err_prefix(err, "'%s:%s'", c->name, tag);
			return rc;
		}
	}
	return 0;
}

int ap_oci_pull(struct ap_oci *c, const char *tag, struct ap_oci_pulled *out, struct ap_err *err)
{
	struct ap_oci_pulled p;
	char url[1400], what[300], sha[AP_SHA256_HEX];
	struct req q;
	cJSON *root = NULL;
	const char *at;
	const cJSON *layers;
	char *sig = NULL;
	size_t slen = 0;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	if (!ap_oci_tag_valid(tag))
		return ap_err_set(err, AP_E_USAGE, "'%s': bad tag", tag);
	snprintf(url, sizeof(url), "%s/manifests/%s", c->base, tag);
	snprintf(what, sizeof(what), "tag '%s' of '%s'", tag, c->repo);
	rc = registry_get(c, &q, url, AP_OCI_MT_IMAGE, AP_OCI_MANIFEST_MAX, what, err);
	if (rc)
		goto out;
	ap_digest_hex(q.r.body ? q.r.body : "", q.r.body_len, sha);
	snprintf(p.digest, sizeof(p.digest), "sha256:%s", sha);
	root = ap_jsonx_parse(q.r.body, q.r.body_len, NULL, NULL);
	at = ap_jsonx_member_string(root, "artifactType");
	layers = ap_jsonx_member(root, "layers");
	if (!at || strcmp(at, AP_OCI_ARTIFACT_TYPE) != 0 || !cJSON_IsArray(layers)) {
		rc = ap_err_set(err, AP_E_MANIFEST,
				"'%s:%s' is not an airpack release (no artifactType %s)", c->name,
				tag, AP_OCI_ARTIFACT_TYPE);
		goto out;
	}
	rc = layer_blob(c, tag, layers, AP_OCI_MT_MANIFEST, AP_MANIFEST_MAX, &p.manifest,
			&p.manifest_len, err);
	if (rc == 0)
		rc = layer_blob(c, tag, layers, AP_OCI_MT_SIGNATURE, AP_SIG_MAX, &sig, &slen, err);
	if (rc)
		goto out;
	p.sig = (unsigned char *)sig;
	p.sig_len = slen;
	sig = NULL;
	rc = pull_extra_sigs(c, tag, layers, &p.extra, err);
	if (rc)
		goto out;
	*out = p;
	memset(&p, 0, sizeof(p));
out:
	cJSON_Delete(root);
	req_release(&q);
	free(sig);
	ap_oci_pulled_release(&p);
	return rc;
}

void ap_oci_pulled_release(struct ap_oci_pulled *p)
{
	free(p->manifest);
	free(p->sig);
	ap_root_sigset_release(&p->extra);
	memset(p, 0, sizeof(*p));
}

int ap_oci_tags(struct ap_oci *c, char ***tags, size_t *n, struct ap_err *err)
{
	char url[1400];
	struct req q;
	struct ap_strvec v = AP_STRVEC_INIT;
	char **list;
	size_t k = 0;
	cJSON *root = NULL;
	const cJSON *arr, *t;
	int rc;

	snprintf(url, sizeof(url), "%s/tags/list?n=10000", c->base);
	rc = registry_get(c, &q, url, NULL, 0, "the tag list", err);
	if (rc)
		goto out;
	root = ap_jsonx_parse(q.r.body, q.r.body_len, NULL, NULL);
	arr = ap_jsonx_member(root, "tags");
	if (arr && !cJSON_IsNull(arr) && !cJSON_IsArray(arr)) {
		rc = ap_err_set(err, AP_E_FETCH, "registry '%s': the tag list is not a list",
				c->registry);
		goto out;
	}
	cJSON_ArrayForEach(t, arr)
	{
		if (!cJSON_IsString(t) || !ap_oci_tag_valid(t->valuestring))
			continue;
		rc = ap_strvec_push(&v, t->valuestring);
		if (rc) {
			rc = ap_err_set(err, rc, "out of memory");
			goto out;
		}
	}
	list = ap_strvec_detach(&v, &k);
	if (!list) /* none: an empty list the caller frees like any other */
		list = calloc(1, sizeof(*list));
	if (!list) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	*tags = list;
	*n = k;
out:
	ap_strvec_release(&v);
	cJSON_Delete(root);
	req_release(&q);
	return rc;
}

void ap_oci_tags_free(char **tags, size_t n)
{
	ap_fsx_strv_free(tags, n);
}
