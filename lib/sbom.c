/* sbom.c - the release's software bill of materials: SPDX 2.3 and
 * CycloneDX 1.5 JSON (see airpack/sbom.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ap_config.h"
#include "jsonx.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/sbom.h"
#include "airpack/str.h"
#include "airpack/banned.h"

static const struct ap_jsonx_doc doc = { AP_E_MANIFEST, "the SBOM", AP_JSONX_QUOTE_SINGLE };

int ap_sbom_format_parse(const char *s, enum ap_sbom_format *out)
{
	if (s && strcmp(s, "spdx") == 0) {
		*out = AP_SBOM_SPDX;
		return 0;
	}
	if (s && strcmp(s, "cyclonedx") == 0) {
		*out = AP_SBOM_CYCLONEDX;
		return 0;
	}
	return -1;
}

void ap_sbom_files_release(struct ap_sbom_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int scan_cb(void *ctx, const char *relpath, unsigned mode, uint64_t size,
		   const char sha256[AP_SHA256_HEX], struct ap_err *err)
{
	struct ap_sbom_files *f = ctx;
	struct ap_sbom_file *v;

	(void)mode;
	v = ap_vec_grow(f->v, &f->cap, f->n + 1, sizeof(*v));
	if (!v)
		return ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", relpath);
	f->v = v;
	f->v[f->n].path = ap_strdup(relpath);
	if (!f->v[f->n].path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory listing '%s'", relpath);
	f->v[f->n].size = size;
	memcpy(f->v[f->n].sha256, sha256, AP_SHA256_HEX);
	f->n++;
	return 0;
}

int ap_sbom_scan_archive(const char *path, struct ap_sbom_files *out, struct ap_err *err)
{
	int rc = ap_extract_list(path, scan_cb, out, err);

	if (rc < 0)
		ap_sbom_files_release(out);
	return rc;
}

/* ---- shared pieces ---- */

/* 1970-01-01T00:00:00Z; always 20 characters for years 1970..9999. */
static void iso_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)(t < 0 ? 0 : t);
	struct tm tm;

#ifdef _WIN32
	gmtime_s(&tm, &tt);
#else
	gmtime_r(&tt, &tm);
#endif
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The document's identity: SHA-256 over the product, version and every
 * component's name and sha256, so the same release always gets the same id
 * and another release another one. */
static int release_digest(const struct ap_manifest *m, char hex[AP_SHA256_HEX])
{
	struct ap_digest *h = ap_digest_new();

	if (!h)
		return -1;
	ap_digest_update(h, m->product, strlen(m->product) + 1);
	ap_digest_update(h, m->version, strlen(m->version) + 1);
	for (size_t i = 0; i < m->n_components; i++) {
		ap_digest_update(h, m->components[i].name, strlen(m->components[i].name) + 1);
		ap_digest_update(h, m->components[i].sha256, AP_SHA256_HEX - 1);
	}
	ap_digest_final_hex(h, hex);
	ap_digest_free(h);
	return 0;
}

/* An RFC 4122 name-based (version 5 layout) UUID from the digest. */
static void uuid_from(const char hex[AP_SHA256_HEX], char out[37])
{
	static const char variant[] = "89ab";
	char d[33];

	memcpy(d, hex, 32);
	d[32] = '\0';
	d[12] = '5';
	d[16] = variant[(d[16] >= 'a' ? d[16] - 'a' + 10 : d[16] - '0') & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", d, d + 8, d + 12, d + 16, d + 20);
}

/* s with every byte outside [A-Za-z0-9-._~] percent-encoded (for a URI). */
static char *uri_part(const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hexd[*p >> 4];
			*o++ = hexd[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static bool add_s(cJSON *o, const char *key, const char *val)
{
	return cJSON_AddStringToObject(o, key, val) != NULL;
}

static cJSON *checksum(const char *alg_key, const char *alg, const char *val_key, const char *hex)
{
	cJSON *arr = cJSON_CreateArray(), *c = cJSON_CreateObject();

	if (!arr || !c || !add_s(c, alg_key, alg) || !add_s(c, val_key, hex) ||
	    !ap_jsonx_push(arr, c)) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

static bool add_rel(cJSON *rels, const char *a, const char *type, const char *b)
{
	cJSON *r = cJSON_CreateObject();

	if (!r || !add_s(r, "spdxElementId", a) || !add_s(r, "relationshipType", type) ||
	    !add_s(r, "relatedSpdxElement", b)) {
		cJSON_Delete(r);
		return false;
	}
	return ap_jsonx_push(rels, r);
}

/* ---- SPDX 2.3 ---- */

/* Writes the SPDX document field by field in the order the spec lists them; long, but a flat
 * list. */
static cJSON *spdx(const struct ap_manifest *m, const struct ap_sbom_files *files,
		   const char *created, const char *digest)
{
	cJSON *d = cJSON_CreateObject(), *ci, *pkgs, *fls = NULL, *rels, *p;
	char *prod = uri_part(m->product), *ver = uri_part(m->version);
	char id[64], fid[96], ns[1300], name[600], comment[128], supplier[300];
	bool ok = d && prod && ver;

	snprintf(name, sizeof(name), "%s %s", m->product, m->version);
	snprintf(ns, sizeof(ns), "https://spdx.org/spdxdocs/airpack/%s-%s-%.32s", prod ? prod : "",
		 ver ? ver : "", digest);
	ok = ok && add_s(d, "spdxVersion", "SPDX-2.3") && add_s(d, "dataLicense", "CC0-1.0") &&
	     add_s(d, "SPDXID", "SPDXRef-DOCUMENT") && add_s(d, "name", name) &&
	     add_s(d, "documentNamespace", ns);
	ci = ok ? cJSON_AddObjectToObject(d, "creationInfo") : NULL;
	ok = ci && add_s(ci, "created", created) &&
	     ap_jsonx_add(ci, "creators",
			  cJSON_CreateStringArray((const char
							   *const[]){ "Tool: airpack-" AP_VERSION },
						  1));
	pkgs = ok ? cJSON_AddArrayToObject(d, "packages") : NULL;
	ok = pkgs != NULL;
	/* The release itself, then one package per component. */
	p = ok ? cJSON_CreateObject() : NULL;
	ok = p && ap_jsonx_push(pkgs, p) && add_s(p, "SPDXID", "SPDXRef-Release") &&
	     add_s(p, "name", m->product) && add_s(p, "versionInfo", m->version) &&
	     add_s(p, "downloadLocation", "NOASSERTION") &&
	     cJSON_AddFalseToObject(p, "filesAnalyzed") &&
	     add_s(p, "licenseConcluded", "NOASSERTION") &&
	     add_s(p, "licenseDeclared", "NOASSERTION") &&
	     add_s(p, "copyrightText", "NOASSERTION") &&
	     add_s(p, "primaryPackagePurpose", "INSTALL");
	if (ok && m->description)
		ok = add_s(p, "description", m->description);
	for (size_t i = 0; ok && i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];

		snprintf(id, sizeof(id), "SPDXRef-Component-%zu", i + 1);
		p = cJSON_CreateObject();
		ok = p && ap_jsonx_push(pkgs, p) && add_s(p, "SPDXID", id) &&
		     add_s(p, "name", c->name) && add_s(p, "packageFileName", c->file);
		if (ok && c->version)
			ok = add_s(p, "versionInfo", c->version);
		if (ok && c->supplier) {
			/* SPDX wants "Organization: NAME" or "Person: NAME". */
			bool typed = strncmp(c->supplier, "Organization:", 13) == 0 ||
				     strncmp(c->supplier, "Person:", 7) == 0;
			snprintf(supplier, sizeof(supplier), "%s%s",
				 typed ? "" : "Organization: ", c->supplier);
			ok = add_s(p, "supplier", supplier);
		}
		ok = ok && add_s(p, "downloadLocation", c->n_urls ? c->urls[0] : "NOASSERTION") &&
		     cJSON_AddFalseToObject(p, "filesAnalyzed") &&
		     ap_jsonx_add(p, "checksums",
				  checksum("algorithm", "SHA256", "checksumValue", c->sha256)) &&
		     add_s(p, "licenseConcluded", "NOASSERTION") &&
		     add_s(p, "licenseDeclared", c->license ? c->license : "NOASSERTION") &&
		     add_s(p, "copyrightText", "NOASSERTION") &&
		     add_s(p, "primaryPackagePurpose",
			   c->action == AP_ACTION_EXTRACT ? "ARCHIVE" : "FILE");
		snprintf(comment, sizeof(comment), "size %llu bytes; installed by action %s",
			 (unsigned long long)c->size, ap_manifest_action_name(c->action));
		ok = ok && add_s(p, "comment", comment);
		if (ok && c->n_urls > 1) {
			cJSON *refs = cJSON_AddArrayToObject(p, "externalRefs");

			ok = refs != NULL;
			for (size_t u = 1; ok && u < c->n_urls; u++) {
				cJSON *r = cJSON_CreateObject();

				ok = r && ap_jsonx_push(refs, r) &&
				     add_s(r, "referenceCategory", "OTHER") &&
				     add_s(r, "referenceType", "download-location") &&
				     add_s(r, "referenceLocator", c->urls[u]);
			}
		}
	}
	for (size_t i = 0; ok && files && i < m->n_components; i++) {
		for (size_t k = 0; ok && k < files[i].n; k++) {
			const struct ap_sbom_file *f = &files[i].v[k];
			cJSON *fo = cJSON_CreateObject();

			if (!fls)
				fls = cJSON_AddArrayToObject(d, "files");
			snprintf(fid, sizeof(fid), "SPDXRef-File-%zu-%zu", i + 1, k + 1);
			char *fname = ap_fsx_path_join(".", f->path);

			snprintf(comment, sizeof(comment), "size %llu bytes",
				 (unsigned long long)f->size);
			ok = fls && fo && fname && ap_jsonx_push(fls, fo) &&
			     add_s(fo, "SPDXID", fid) && add_s(fo, "fileName", fname) &&
			     ap_jsonx_add(fo, "checksums",
					  checksum("algorithm", "SHA256", "checksumValue",
						   f->sha256)) &&
			     add_s(fo, "licenseConcluded", "NOASSERTION") &&
			     add_s(fo, "copyrightText", "NOASSERTION") &&
			     add_s(fo, "comment", comment);
			free(fname);
		}
	}
	rels = ok ? cJSON_AddArrayToObject(d, "relationships") : NULL;
	ok = rels && add_rel(rels, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Release");
	for (size_t i = 0; ok && i < m->n_components; i++) {
		snprintf(id, sizeof(id), "SPDXRef-Component-%zu", i + 1);
		ok = add_rel(rels, "SPDXRef-Release", "CONTAINS", id);
		for (size_t k = 0; ok && files && k < files[i].n; k++) {
			snprintf(fid, sizeof(fid), "SPDXRef-File-%zu-%zu", i + 1, k + 1);
			ok = add_rel(rels, id, "CONTAINS", fid);
		}
	}
	free(prod);
	free(ver);
	if (!ok) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

/* ---- CycloneDX 1.5 ---- */

static cJSON *prop(const char *name, const char *value)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !add_s(o, "name", name) || !add_s(o, "value", value)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Writes the CycloneDX document field by field in the order the spec lists them; long, but a
 * flat list. */
static cJSON *cdx(const struct ap_manifest *m, const struct ap_sbom_files *files,
		  const char *created, const char *digest)
{
	cJSON *d = cJSON_CreateObject(), *md, *tools, *tool, *mc, *comps;
	char serial[64], uuid[37], ref[64], fref[96], num[32];
	bool ok = d != NULL;

	uuid_from(digest, uuid);
	snprintf(serial, sizeof(serial), "urn:uuid:%s", uuid);
	ok = ok && add_s(d, "bomFormat", "CycloneDX") && add_s(d, "specVersion", "1.5") &&
	     add_s(d, "serialNumber", serial) && cJSON_AddNumberToObject(d, "version", 1);
	md = ok ? cJSON_AddObjectToObject(d, "metadata") : NULL;
	ok = md && add_s(md, "timestamp", created);
	tools = ok ? cJSON_AddObjectToObject(md, "tools") : NULL;
	tool = tools ? cJSON_CreateObject() : NULL;
	ok = tool && ap_jsonx_add(tools, "components", cJSON_CreateArray()) &&
	     ap_jsonx_push(cJSON_GetObjectItemCaseSensitive(tools, "components"), tool) &&
	     add_s(tool, "type", "application") && add_s(tool, "name", "airpack") &&
	     add_s(tool, "version", AP_VERSION);
	mc = ok ? cJSON_AddObjectToObject(md, "component") : NULL;
	ok = mc && add_s(mc, "type", "application") && add_s(mc, "bom-ref", "release") &&
	     add_s(mc, "name", m->product) && add_s(mc, "version", m->version);
	if (ok && m->description)
		ok = add_s(mc, "description", m->description);
	comps = ok ? cJSON_AddArrayToObject(d, "components") : NULL;
	ok = comps != NULL;
	for (size_t i = 0; ok && i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		cJSON *o = cJSON_CreateObject(), *props, *hashes;

		snprintf(ref, sizeof(ref), "component-%zu", i + 1);
		ok = o && ap_jsonx_push(comps, o) && add_s(o, "type", "file") &&
		     add_s(o, "bom-ref", ref) && add_s(o, "name", c->name);
		if (ok && c->supplier) {
			cJSON *s = cJSON_AddObjectToObject(o, "supplier");
			ok = s && add_s(s, "name", c->supplier);
		}
		if (ok && c->version)
			ok = add_s(o, "version", c->version);
		hashes = ok ? checksum("alg", "SHA-256", "content", c->sha256) : NULL;
		ok = ok && ap_jsonx_add(o, "hashes", hashes);
		if (ok && c->license) {
			cJSON *ls = cJSON_AddArrayToObject(o, "licenses"),
			      *l = cJSON_CreateObject();

			ok = ls && l && ap_jsonx_push(ls, l) && add_s(l, "expression", c->license);
		}
		if (ok && c->n_urls) {
			cJSON *refs = cJSON_AddArrayToObject(o, "externalReferences");

			ok = refs != NULL;
			for (size_t u = 0; ok && u < c->n_urls; u++) {
				cJSON *r = cJSON_CreateObject();

				ok = r && ap_jsonx_push(refs, r) &&
				     add_s(r, "type", "distribution") &&
				     add_s(r, "url", c->urls[u]);
			}
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)c->size);
		props = ok ? cJSON_AddArrayToObject(o, "properties") : NULL;
		ok = props && ap_jsonx_push(props, prop("airpack:file", c->file)) &&
		     ap_jsonx_push(props, prop("airpack:size", num)) &&
		     ap_jsonx_push(props, prop("airpack:install-action",
					       ap_manifest_action_name(c->action)));
		if (ok && files && files[i].n) {
			cJSON *sub = cJSON_AddArrayToObject(o, "components");

			ok = sub != NULL;
			for (size_t k = 0; ok && k < files[i].n; k++) {
				const struct ap_sbom_file *f = &files[i].v[k];
				cJSON *fo = cJSON_CreateObject(), *fp;

				snprintf(fref, sizeof(fref), "component-%zu-file-%zu", i + 1,
					 k + 1);
				snprintf(num, sizeof(num), "%llu", (unsigned long long)f->size);
				ok = fo && ap_jsonx_push(sub, fo) && add_s(fo, "type", "file") &&
				     add_s(fo, "bom-ref", fref) && add_s(fo, "name", f->path) &&
				     ap_jsonx_add(fo, "hashes",
						  checksum("alg", "SHA-256", "content", f->sha256));
				fp = ok ? cJSON_AddArrayToObject(fo, "properties") : NULL;
				ok = fp && ap_jsonx_push(fp, prop("airpack:size", num));
			}
		}
	}
	if (!ok) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

int ap_sbom_emit(const struct ap_manifest *m, const struct ap_sbom_files *files,
		 enum ap_sbom_format format, int64_t created, char **json, size_t *len,
		 struct ap_err *err)
{
	char when[32], digest[AP_SHA256_HEX];
	cJSON *d;
	char *text;

	if (!m || !json)
		return ap_err_set(err, AP_E_USAGE, "no release to describe");
	for (size_t i = 0; i < m->n_components; i++)
		if (!m->components[i].has_sha256 || !m->components[i].has_size)
			return ap_err_set(err, AP_E_USAGE,
					  "component '%s' has no size or sha256 for the SBOM",
					  m->components[i].name);
	iso_time(created, when);
	if (release_digest(m, digest) < 0)
		return ap_jsonx_nomem(&doc, err);
	d = format == AP_SBOM_CYCLONEDX ? cdx(m, files, when, digest)
					: spdx(m, files, when, digest);
	if (!d)
		return ap_jsonx_nomem(&doc, err);
	text = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	if (!text)
		return ap_jsonx_nomem(&doc, err);
	*json = text;
	if (len)
		*len = strlen(text);
	return 0;
}

int ap_sbom_pretty(const char *sbom, char **out, size_t *len, struct ap_err *err)
{
	cJSON *d;
	int rc;

	if (!sbom)
		return ap_err_set(err, AP_E_NOTFOUND, "the release carries no SBOM");
	d = cJSON_Parse(sbom);
	if (!d)
		return ap_err_set(err, AP_E_MANIFEST, "the release's SBOM is not valid JSON");
	rc = ap_jsonx_print(&doc, d, out, len, err);
	cJSON_Delete(d);
	return rc;
}
