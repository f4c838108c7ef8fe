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

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ap_config.h"
#include "jsonx.h"
#include "airpack/oci.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
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
	CURL *h;
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
	struct ap_err *read_err;
	bool read_failed;
	/* answer */
	size_t max; /* most body bytes kept (more: too big) */
	bool too_big;
	char *resp;
	size_t resp_len;
	long status;
	char location[2048];
	char digest[128];
	char challenge[1024];
	uint64_t sent;
};

static void req_release(struct req *q)
{
	free(q->resp);
	q->resp = NULL;
	q->resp_len = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct req *q = ctx;
	size_t len = size * nmemb;
	char *p;

	if (q->resp_len + len > q->max) {
		q->too_big = true;
		return 0;
	}
	p = realloc(q->resp, q->resp_len + len + 1);
	if (!p)
		return 0;
	memcpy(p + q->resp_len, data, len);
	q->resp = p;
	q->resp_len += len;
	q->resp[q->resp_len] = '\0';
	return len;
}

/* Copy the value of header "name:" from line into out, trimmed. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	size_t i, end;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	i = nl + 1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	end = len;
	while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
		end--;
	if (end - i >= n)
		return;
	memcpy(out, line + i, end - i);
	out[end - i] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct req *q = ctx;
	size_t len = size * nmemb;

	header_value(data, len, "location", q->location, sizeof(q->location));
	header_value(data, len, "docker-content-digest", q->digest, sizeof(q->digest));
	header_value(data, len, "www-authenticate", q->challenge, sizeof(q->challenge));
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct req *q = ctx;
	size_t want = size * nmemb;
	size_t got = 0;

	if (q->body) {
		uint64_t left = q->body_len - q->sent;

		got = want < left ? want : (size_t)left;
		memcpy(buf, q->body + q->sent, got);
	} else if (q->read) {
		if (q->read(q->read_ctx, (unsigned char *)buf, want, &got, q->read_err) != 0) {
			q->read_failed = true;
			return CURL_READFUNC_ABORT;
		}
	}
	q->sent += got;
	return got;
}

static bool same_origin(const struct ap_oci *c, const char *url)
{
	size_t n = strlen(c->origin);

	return strncmp(url, c->origin, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

/* One registry request: token auth, redirects without credentials, and the error body share the
 * request state. */
static int perform(struct ap_oci *c, struct req *q, struct ap_err *err)
{
	struct curl_slist *hd = NULL;
	char line[512];
	CURLcode cc = CURLE_OK;
	char ebuf[CURL_ERROR_SIZE];
	int rc = 0;

	q->status = 0;
	q->location[0] = q->digest[0] = q->challenge[0] = '\0';
	q->too_big = false;
	q->sent = 0;
	req_release(q);
	if (!q->max)
		q->max = OCI_DOC_MAX;
	ebuf[0] = '\0';
	curl_easy_reset(c->h);
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (cc == CURLE_OK)                                                                \
			cc = curl_easy_setopt(c->h, opt, val);                                     \
	} while (0)
	if (q->accept) {
		snprintf(line, sizeof(line), "Accept: %s", q->accept);
		hd = curl_slist_append(hd, line);
	}
	if (q->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", q->content_type);
		hd = curl_slist_append(hd, line);
	}
	/* An upload Location is the registry's to choose: credentials never
	 * follow it to another host. */
	if (q->auth && (q->auth_any || same_origin(c, q->url)))
		hd = curl_slist_append(hd, q->auth);
	SET(CURLOPT_URL, q->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "airpack/" AP_VERSION);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CONNECTTIMEOUT, 15L);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
	SET(CURLOPT_LOW_SPEED_TIME, 30L);
	SET(CURLOPT_ERRORBUFFER, ebuf);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, q);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, q);
	if (c->o.cacert)
		SET(CURLOPT_CAINFO, c->o.cacert);
	if (c->o.proxy)
		SET(CURLOPT_PROXY, c->o.proxy);
	if (hd)
		SET(CURLOPT_HTTPHEADER, hd);
	if (strcmp(q->method, "GET") == 0) {
		/* a blob may live behind a redirect (a storage backend) */
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, 5L);
	} else if (strcmp(q->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		SET(CURLOPT_READFUNCTION, on_read);
		SET(CURLOPT_READDATA, q);
	} else if (strcmp(q->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, "");
		SET(CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, q->method);
	}
#undef SET
	if (cc == CURLE_OK)
		cc = curl_easy_perform(c->h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &q->status);
	curl_slist_free_all(hd);
	if (q->read_failed)
		return q->read_err && q->read_err->code ? q->read_err->code : AP_E_IO;
	if (q->too_big)
		return ap_err_set(err, AP_E_TOOBIG,
				  "registry '%s': the answer to %s '%s' is over %zu bytes",
				  c->registry, q->method, q->url, q->max);
	if (cc != CURLE_OK)
		rc = ap_err_set(err, cc == CURLE_OUT_OF_MEMORY ? AP_E_NOMEM : AP_E_FETCH,
				"registry '%s': %s '%s' failed: %s", c->registry, q->method, q->url,
				ebuf[0] ? ebuf : curl_easy_strerror(cc));
	return rc;
}

/* The registry's error message ({"errors":[{"code":..,"message":..}]}), for
 * our own; "" when there is none. */
static void registry_says(const struct req *q, char *out, size_t n)
{
	cJSON *root, *errs, *e;
	const cJSON *code, *msg;

	out[0] = '\0';
	if (!q->resp)
		return;
	root = cJSON_ParseWithLength(q->resp, q->resp_len);
	errs = root ? cJSON_GetObjectItemCaseSensitive(root, "errors") : NULL;
	e = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	code = e ? cJSON_GetObjectItemCaseSensitive(e, "code") : NULL;
	msg = e ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
	if (cJSON_IsString(code) && cJSON_IsString(msg))
		snprintf(out, n, " (%s: %s)", code->valuestring, msg->valuestring);
	cJSON_Delete(root);
}

/* An answer that is not the one wanted, as an error naming the call. */
static int status_error(const struct ap_oci *c, const struct req *q, const char *what,
			struct ap_err *err)
{
	char says[300];

	registry_says(q, says, sizeof(says));
	if (q->status == 401 || q->status == 403)
		return ap_err_set(err, AP_E_AUTH,
				  "registry '%s' refused %s (HTTP %ld)%s: check the credentials "
				  "for '%s' (--registry-auth FILE or ~/.docker/config.json)",
				  c->registry, what, q->status, says, c->registry);
	if (q->status == 404)
		return ap_err_set(err, AP_E_NOTFOUND, "registry '%s': %s: not found (HTTP 404)%s",
				  c->registry, what, says);
	return ap_err_set(err, AP_E_FETCH, "registry '%s': %s failed: HTTP %ld%s", c->registry,
			  what, q->status, says);
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
	const cJSON *e, *a, *u, *pw;
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
	root = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(root)) {
		rc = ap_err_set(err, AP_E_USAGE, "registry credentials '%s': not a JSON object",
				path);
		goto out;
	}
	e = auth_entry(c, cJSON_GetObjectItemCaseSensitive(root, "auths"));
	if (!e)
		goto out;
	a = cJSON_GetObjectItemCaseSensitive(e, "auth");
	u = cJSON_GetObjectItemCaseSensitive(e, "username");
	pw = cJSON_GetObjectItemCaseSensitive(e, "password");
	if (cJSON_IsString(a) && a->valuestring[0]) {
		c->basic = fmt("Authorization: Basic %s", a->valuestring);
	} else if (cJSON_IsString(u) && cJSON_IsString(pw)) {
		char *up = fmt("%s:%s", u->valuestring, pw->valuestring);
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
	const cJSON *t;
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
	esc_scope = scope ? curl_easy_escape(c->h, scope, 0) : NULL;
	esc_service = curl_easy_escape(c->h, service, 0);
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
	if (q.status != 200) {
		rc = status_error(c, &q, "a token", err);
		goto out;
	}
	root = cJSON_ParseWithLength(q.resp, q.resp_len);
	t = root ? cJSON_GetObjectItemCaseSensitive(root, "token") : NULL;
	if (!cJSON_IsString(t))
		t = root ? cJSON_GetObjectItemCaseSensitive(root, "access_token") : NULL;
	if (!cJSON_IsString(t) || !t->valuestring[0]) {
		rc = ap_err_set(err, AP_E_AUTH,
				"registry '%s': the token endpoint answered no token", c->registry);
		goto out;
	}
	c->auth = fmt("Authorization: Bearer %s", t->valuestring);
	rc = c->auth ? 0 : ap_err_set(err, AP_E_NOMEM, "out of memory");
out:
	if (root) {
		char *tok = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "token"))
				    ? cJSON_GetObjectItemCaseSensitive(root, "token")->valuestring
				    : NULL;
		if (tok)
			ap_secret_wipe(tok, strlen(tok));
		cJSON_Delete(root);
	}
	if (q.resp)
		ap_secret_wipe(q.resp, q.resp_len);
	req_release(&q);
	curl_free(esc_scope);
	curl_free(esc_service);
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
	if (q.status == 200)
		goto out;
	if (q.status != 401) {
		rc = status_error(c, &q, "the API check (GET /v2/)", err);
		goto out;
	}
	if (strncasecmp(q.challenge, "Bearer ", 7) == 0) {
		rc = bearer_token(c, q.challenge, err);
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
	if (rc == 0 && q.status != 200)
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
		c->h = curl_easy_init();
		if (!c->h)
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
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
	if (c->h)
		curl_easy_cleanup(c->h);
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
 * then PUT with ?digest=), hashing the bytes as they go. */
/* HEAD, POST and PUT of one blob share the request, the hash and the upload location. */
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
	if (q.status == 200) {
		ps->res->existed++;
		goto out;
	}
	if (q.status != 404) {
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
	if (c->o.mount_from && q.status == 201) {
		ps->res->mounted++;
		goto out;
	}
	if (q.status != 202 || !q.location[0]) {
		rc = status_error(c, &q, "starting an upload", err);
		goto out;
	}
	put = upload_url(c, q.location, sha);
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
	q.read_err = err;
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
	if (q.status != 201) {
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
	for (size_t i = 0; i < n_tags && rc == 0; i++) {
		char url[1400], what[300];
		struct req q;

		memset(&q, 0, sizeof(q));
		snprintf(url, sizeof(url), "%s/manifests/%s", c->base, tags[i]);
		snprintf(what, sizeof(what), "tag '%s'", tags[i]);
		q.method = "PUT";
		q.url = url;
		q.auth = c->auth;
		q.content_type = AP_OCI_MT_IMAGE;
		q.body = doc;
		q.body_len = len;
		rc = perform(c, &q, err);
		if (rc == 0 && q.status != 201)
			rc = status_error(c, &q, what, err);
		if (rc == 0 && q.digest[0] && strcmp(q.digest, out.digest) != 0)
			rc = ap_err_set(err, AP_E_DIGEST,
					"registry '%s' stored %s as %s, but its bytes are %s",
					c->registry, what, q.digest, out.digest);
		req_release(&q);
	}
	if (rc == 0 && res)
		*res = out;
out:
	free(doc);
	ap_digest_free(ps.hash);
	return rc;
}

/* ---- pull ---- */

/* GET a small blob into memory, at most max bytes, held to its digest. */
static int get_blob(struct ap_oci *c, const char *digest, size_t max, char **buf, size_t *len,
		    struct ap_err *err)
{
	char url[1400], got[AP_SHA256_HEX];
	struct req q;
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(url, sizeof(url), "%s%s", c->blob_base, digest);
	q.method = "GET";
	q.url = url;
	q.auth = c->auth;
	q.max = max;
	rc = perform(c, &q, err);
	if (rc == 0 && q.status != 200)
		rc = status_error(c, &q, digest, err);
	if (rc == 0) {
		ap_digest_hex(q.resp ? q.resp : "", q.resp_len, got);
		if (strncmp(digest, "sha256:", 7) != 0 || !ap_digest_eq(got, digest + 7))
			rc = ap_err_set(err, AP_E_DIGEST,
					"registry '%s' answered blob %s with bytes of sha256:%s",
					c->registry, digest, got);
	}
	if (rc == 0) {
		if (!q.resp) {
			q.resp = ap_strdup("");
			if (!q.resp)
				rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		}
		*buf = q.resp;
		*len = q.resp_len;
		q.resp = NULL;
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
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(l, "mediaType");

		if (cJSON_IsString(t) && strcmp(t->valuestring, mt) == 0)
			return l;
	}
	return NULL;
}

static int layer_blob(struct ap_oci *c, const char *tag, const cJSON *layers, const char *mt,
		      size_t max, char **buf, size_t *len, struct ap_err *err)
{
	const cJSON *l = find_layer(layers, mt);
	const cJSON *d = l ? cJSON_GetObjectItemCaseSensitive(l, "digest") : NULL;
	int rc;

	if (!cJSON_IsString(d))
		return ap_err_set(err, AP_E_MANIFEST,
				  "'%s:%s' is not an airpack release: no %s layer", c->name, tag,
				  mt);
	rc = get_blob(c, d->valuestring, max, buf, len, err);
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
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(l, "mediaType");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(l, "digest");
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(l, "annotations");
		const cJSON *title =
			a ? cJSON_GetObjectItemCaseSensitive(a, "org.opencontainers.image.title")
			  : NULL;
		const char *id;
		char *buf = NULL;
		size_t len = 0;

		if (!cJSON_IsString(t) || strcmp(t->valuestring, AP_OCI_MT_SIGNATURE) != 0 ||
		    !cJSON_IsString(d) || !cJSON_IsString(title) ||
		    strncmp(title->valuestring, AP_BUNDLE_SIG ".", plen) != 0)
			continue;
		id = title->valuestring + plen;
		if (strlen(id) != AP_KEY_ID_LEN - 1 || !ap_str_is_lower_hex(id, AP_KEY_ID_LEN - 1))
			continue;
		if (extra->n >= AP_SIGSET_MAX)
			return ap_err_set(err, AP_E_MANIFEST, "'%s:%s': more than %d signatures",
					  c->name, tag, AP_SIGSET_MAX);
		rc = get_blob(c, d->valuestring, AP_SIG_MAX, &buf, &len, err);
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
	const cJSON *at, *layers;
	char *sig = NULL;
	size_t slen = 0;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	if (!ap_oci_tag_valid(tag))
		return ap_err_set(err, AP_E_USAGE, "'%s': bad tag", tag);
	snprintf(url, sizeof(url), "%s/manifests/%s", c->base, tag);
	snprintf(what, sizeof(what), "tag '%s' of '%s'", tag, c->repo);
	q.method = "GET";
	q.url = url;
	q.auth = c->auth;
	q.accept = AP_OCI_MT_IMAGE;
	q.max = AP_OCI_MANIFEST_MAX;
	rc = perform(c, &q, err);
	if (rc == 0 && q.status != 200)
		rc = status_error(c, &q, what, err);
	if (rc)
		goto out;
	ap_digest_hex(q.resp ? q.resp : "", q.resp_len, sha);
	snprintf(p.digest, sizeof(p.digest), "sha256:%s", sha);
	root = cJSON_ParseWithLength(q.resp ? q.resp : "", q.resp_len);
	at = root ? cJSON_GetObjectItemCaseSensitive(root, "artifactType") : NULL;
	layers = root ? cJSON_GetObjectItemCaseSensitive(root, "layers") : NULL;
	if (!cJSON_IsString(at) || strcmp(at->valuestring, AP_OCI_ARTIFACT_TYPE) != 0 ||
	    !cJSON_IsArray(layers)) {
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
	cJSON *root = NULL;
	const cJSON *arr, *t;
	char **v = NULL;
	size_t k = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	snprintf(url, sizeof(url), "%s/tags/list?n=10000", c->base);
	q.method = "GET";
	q.url = url;
	q.auth = c->auth;
	rc = perform(c, &q, err);
	if (rc == 0 && q.status != 200)
		rc = status_error(c, &q, "the tag list", err);
	if (rc)
		goto out;
	root = cJSON_ParseWithLength(q.resp ? q.resp : "", q.resp_len);
	arr = root ? cJSON_GetObjectItemCaseSensitive(root, "tags") : NULL;
	if (arr && !cJSON_IsNull(arr) && !cJSON_IsArray(arr)) {
		rc = ap_err_set(err, AP_E_FETCH, "registry '%s': the tag list is not a list",
				c->registry);
		goto out;
	}
	v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*v));
	if (!v) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(t, arr)
	{
		if (!cJSON_IsString(t) || !ap_oci_tag_valid(t->valuestring))
			continue;
		v[k] = ap_strdup(t->valuestring);
		if (!v[k]) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		k++;
	}
	*tags = v;
	*n = k;
	v = NULL;
out:
	ap_oci_tags_free(v, k);
	cJSON_Delete(root);
	req_release(&q);
	return rc;
}

void ap_oci_tags_free(char **tags, size_t n)
{
	if (!tags)
		return;
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
}
