/* cmd_build.c - airpack build: source manifest + payloads -> signed release
 * (bundle, offline folder, self-extracting setup). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/bundle.h"
#include "airpack/digest.h"
#include "airpack/extract.h"
#include "airpack/fsx.h"
#include "airpack/layout.h"
#include "airpack/manifest.h"
#include "airpack/probe.h"
#include "airpack/sbom.h"
#include "airpack/sfx.h"
#include "airpack/sign.h"
#include "airpack/sink.h"
#include "airpack/ui.h"
#include "airpack/winname.h"
#include "airpack/banned.h"

#define SOURCE_MAX (4u << 20)

struct build_opts {
	const char *source;
	const char *payloads;
	const char *key;
	const char *output;
	const char *layout;
	const char *sfx;
	const char *sfx_stub;
	bool sfx_detached;
	bool compress_auto;
	enum ap_compress compress;
	int level;
	enum ap_sbom_format sbom;
	bool json;
	bool quiet;
};

/* Where each component's payload was found in --payloads. */
struct found {
	char *path;
	uint64_t size;
	bool pinned; /* the source manifest pins this component's sha256 */
};

static int parse_compress(const char *s, struct build_opts *o)
{
	o->compress_auto = false;
	o->level = 6;
	if (strcmp(s, "auto") == 0) {
		o->compress_auto = true;
		return 0;
	}
	if (strcmp(s, "none") == 0) {
		o->compress = AP_COMPRESS_NONE;
		return 0;
	}
	if (strcmp(s, "gzip") == 0) {
		o->compress = AP_COMPRESS_GZIP;
		return 0;
	}
	if (strncmp(s, "gzip:", 5) == 0 && s[5] >= '1' && s[5] <= '9' && s[6] == '\0') {
		o->compress = AP_COMPRESS_GZIP;
		o->level = s[5] - '0';
		return 0;
	}
	return -1;
}

/* SOURCE_DATE_EPOCH when set, else 0: a bundle records no wall-clock time. */
static int source_date(int64_t *out)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	*out = 0;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int find_payloads(const struct ap_manifest *m, const char *dir, struct found *found,
			 struct ap_err *err)
{
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		struct ap_stat st;

		for (size_t a = 0; a <= c->n_aliases && !found[i].path; a++) {
			const char *name = a == 0 ? c->file : c->aliases[a - 1];
			char *path = ap_path_join(dir, name);

			if (!path)
				return ap_err_set(err, AP_E_NOMEM, "out of memory");
			if (ap_fsx_stat(path, &st, err) != 0) {
				free(path);
				return err ? err->code : AP_E_IO;
			}
			if (st.type != AP_FT_FILE) {
				free(path);
				continue;
			}
			found[i].path = path;
			found[i].size = st.size;
		}
		if (!found[i].path)
			return ap_err_set(err, AP_E_NOTFOUND,
					  "component '%s': no '%s'%s in '%s'", c->name, c->file,
					  c->n_aliases ? " (or its aliases)" : "", dir);
		if (c->has_size && c->size != found[i].size)
			return ap_err_set(err, AP_E_DIGEST,
					  "component '%s': '%s' is %llu bytes, the source manifest "
					  "pins %llu", c->name, found[i].path,
					  (unsigned long long)found[i].size,
					  (unsigned long long)c->size);
	}
	return 0;
}

static int check_pinned(const struct ap_component *c, const struct found *f, const char *hex,
			struct ap_err *err)
{
	if (f->pinned && !ap_sha256_eq(c->sha256, hex))
		return ap_err_set(err, AP_E_DIGEST,
				  "component '%s': '%s' has sha256 %s, the source manifest pins %s",
				  c->name, f->path, hex, c->sha256);
	return 0;
}

/* Names Windows treats specially (airpack/winname.h): refused in a release
 * for Windows, a warning in any other. */
static int check_windows_names(const struct ap_manifest *m, struct ap_err *err)
{
	struct ap_err why = AP_ERR_INIT;
	bool windows = ap_winname_platform_is_windows(m->platform);
	int rc = ap_manifest_windows_check(m, windows ? err : &why);

	if (rc && !windows) {
		fprintf(stderr, "airpack: warning: %s (fine on this release's platform '%s', "
		        "not on Windows)\n", why.msg, m->platform ? m->platform : "unset");
		rc = 0;
	}
	return rc;
}

/* ap_extract_measure, with Windows' names as check_windows_names says. */
static int measure_one(const struct ap_manifest *m, const struct ap_component *c,
                       const char *path, uint64_t *size, uint64_t *files, struct ap_err *err)
{
	struct ap_err why = AP_ERR_INIT;
	int rc;

	if (ap_winname_platform_is_windows(m->platform))
		return ap_extract_measure_names(path, true, size, files, err);
	rc = ap_extract_measure_names(path, true, size, files, &why);
	if (rc == 0)
		return 0;
	if (rc == AP_E_UNSAFE && strstr(why.msg, "unsafe name for Windows"))
		fprintf(stderr, "airpack: warning: component '%s': %s (fine on this release's "
		        "platform '%s', not on Windows)\n", c->name, why.msg,
		        m->platform ? m->platform : "unset");
	return ap_extract_measure(path, size, files, err);
}

/* Every extract component's expanded size and file count, signed with the
 * release so the installer holds the archive to them.  A source manifest
 * that pins them must agree. */
static int measure_extracts(struct ap_manifest *m, const struct found *found, struct ap_err *err)
{
	for (size_t i = 0; i < m->n_components; i++) {
		struct ap_component *c = &m->components[i];
		uint64_t size = 0, files = 0;
		int rc;

		if (c->action != AP_ACTION_EXTRACT)
			continue;
		rc = measure_one(m, c, found[i].path, &size, &files, err);
		if (rc) {
			ap_err_prefix(err, "component '%s'", c->name);
			return rc;
		}
		if (c->has_expanded && (c->expanded_size != size || c->expanded_files != files))
			return ap_err_set(err, AP_E_DIGEST,
					  "component '%s': '%s' expands to %llu bytes in %llu "
					  "files, the source manifest pins %llu bytes in %llu files",
					  c->name, found[i].path, (unsigned long long)size,
					  (unsigned long long)files,
					  (unsigned long long)c->expanded_size,
					  (unsigned long long)c->expanded_files);
		c->has_expanded = true;
		c->expanded_size = size;
		c->expanded_files = files;
	}
	return 0;
}

static char *default_stub(void)
{
	static const char *const rel[] = { "airpack-setup", "../installer/airpack-setup" };
	char *self = NULL, *dir, *cand;

	if (ap_fsx_self_exe(&self, NULL) != 0)
		return NULL;
	dir = ap_path_dirname(self);
	free(self);
	if (!dir)
		return NULL;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		cand = ap_path_join(dir, rel[i]);
		if (cand && ap_fsx_is_file(cand)) {
			free(dir);
			return cand;
		}
		free(cand);
	}
	free(dir);
	return NULL;
}

static void print_result(const struct build_opts *o, const struct ap_manifest *m,
			 const char *key_id, enum ap_compress comp, int level)
{
	char sz[32];

	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "product", m->product);
		ap_json_str(&j, "version", m->version);
		ap_json_str(&j, "key_id", key_id);
		ap_json_str(&j, "compress", comp == AP_COMPRESS_GZIP ? "gzip" : "none");
		if (comp == AP_COMPRESS_GZIP)
			ap_json_int(&j, "level", level);
		ap_json_str(&j, "bundle", o->output);
		ap_json_str(&j, "layout", o->layout);
		ap_json_str(&j, "sfx", o->sfx);
		ap_json_arr_begin(&j, "components");
		for (size_t i = 0; i < m->n_components; i++) {
			const struct ap_component *c = &m->components[i];
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "name", c->name);
			ap_json_str(&j, "file", c->file);
			ap_json_u64(&j, "size", c->size);
			ap_json_str(&j, "sha256", c->sha256);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		ap_json_end(&j);
		return;
	}
	if (o->quiet)
		return;
	printf("built %s %s: %zu components, %s, compression %s, signed by key %s\n",
	       m->product, m->version, m->n_components,
	       ap_human_size(ap_manifest_total_size(m), sz, sizeof(sz)),
	       comp == AP_COMPRESS_GZIP ? "gzip" : "none", key_id);
	if (o->output)
		printf("  bundle: %s\n", o->output);
	if (o->layout)
		printf("  offline folder: %s\n", o->layout);
	if (o->sfx)
		printf("  setup: %s%s\n", o->sfx, o->sfx_detached ? " (detached)" : "");
}

/* Copy the payloads into the offline folder (ap_layout writes it), each
 * checked against the size found and against the bundle's hash when the
 * bundle already hashed it (hashed); otherwise the copy is the one pass
 * that hashes it (and checks a pinned sha256).  A payload that differs
 * never gets its final name. */
static int layout_payloads(const struct build_opts *o, struct ap_layout *l,
			   struct ap_manifest *m, struct found *found, bool hashed,
			   struct ap_err *err)
{
	int rc;

	for (size_t i = 0; i < m->n_components; i++) {
		struct ap_component *c = &m->components[i];
		struct ap_sink_expect x = { found[i].path, true, c->size, NULL, NULL };
		char hex[AP_SHA256_HEX];
		struct ap_progress bar;

		if (hashed || found[i].pinned)
			x.sha256 = c->sha256;
		ap_progress_start(&bar, c->file, c->size, !o->quiet && !o->json);
		rc = ap_layout_copy_file(l, c->file, found[i].path, &x, ap_progress_cb, &bar, hex,
					 err);
		ap_progress_end(&bar);
		if (rc == AP_E_DIGEST && hashed) {
			ap_err_prefix(err, "component '%s' changed while building", c->name);
			return rc;
		}
		if (rc) {
			ap_err_prefix(err, "component '%s'", c->name);
			return rc;
		}
		memcpy(c->sha256, hex, AP_SHA256_HEX);
	}
	return 0;
}

/* Create the folder an output file goes into. */
static int make_parent(const char *path, struct ap_err *err)
{
	char *dir;
	int rc;

	if (!path)
		return 0;
	dir = ap_path_dirname(path);
	if (!dir)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = ap_fsx_mkdir_p(dir, 0755, err);
	free(dir);
	return rc;
}

/* A bundle holding only the signed manifest, for a detached setup: written
 * to f's temporary name and left there (flushed) for the setup to copy. */
static int write_head_bundle(struct ap_afile *f, const char *path, int64_t mtime,
			     const char *json, size_t jlen, const unsigned char *sig, size_t slen,
			     struct ap_err *err)
{
	struct ap_bundle_writer *w = NULL;
	int rc;

	rc = ap_afile_open(f, path, 0644, err);
	if (rc)
		return rc;
	rc = ap_bundle_writer_open(f->fp, AP_COMPRESS_NONE, 0, mtime, jlen, slen, &w, err);
	if (rc == 0)
		rc = ap_bundle_writer_finish(w, json, jlen, sig, slen, err);
	ap_bundle_writer_free(w);
	if (rc == 0 && fflush(f->fp) != 0)
		rc = ap_err_sys(err, AP_E_IO, "cannot write '%s'", f->tmp);
	return rc;
}

/* What a killed earlier run left beside an output: PATH.tmp-XXXXXX from
 * ap_afile (the bundle, the setup) and, for a setup, the temporaries of
 * its intermediate bundle (SETUP.bundle.tmp-XXXXXX). */
static int remove_stale_temps(const char *path, const char *suffix, struct ap_err *err)
{
	char *dir, *base;
	size_t n;
	int rc;

	if (!path)
		return 0;
	n = strlen(ap_path_basename(path)) + strlen(suffix) + 1;
	dir = ap_path_dirname(path);
	base = malloc(n);
	if (!dir || !base) {
		free(dir);
		free(base);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	snprintf(base, n, "%s%s", ap_path_basename(path), suffix);
	rc = ap_fsx_remove_temps(dir, base, NULL, err);
	free(dir);
	free(base);
	return rc;
}

static int run_build(const struct build_opts *o, struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	struct ap_key *key = NULL;
	struct found *found = NULL;
	struct ap_sbom_files *files = NULL;
	struct ap_bundle_writer *w = NULL;
	struct ap_afile bundle = AP_AFILE_INIT, head = AP_AFILE_INIT;
	struct ap_layout *layout = NULL;
	char *src = NULL, *json = NULL, *pem = NULL, *tmp_bundle = NULL, *stub = NULL;
	unsigned char *sig = NULL;
	size_t src_len, jlen = 0, slen = 0, pem_len = 0, plen;
	char key_id[AP_KEY_ID_LEN];
	enum ap_compress comp = o->compress;
	const char *bundle_path = o->output;
	bool hashed = false, intermediate = false;
	int64_t mtime;
	int rc;

	if (source_date(&mtime) != 0)
		return ap_err_set(err, AP_E_USAGE,
				  "SOURCE_DATE_EPOCH: expected a non-negative number of seconds, "
				  "got '%s'", getenv("SOURCE_DATE_EPOCH"));
	if (o->sfx) {
		stub = o->sfx_stub ? strdup(o->sfx_stub) : default_stub();
		if (!stub)
			return ap_err_set(err, AP_E_NOTFOUND,
					  "cannot find the airpack-setup executable for the setup's "
					  "stub: pass --sfx-stub PATH");
		if (!ap_fsx_is_file(stub)) {
			rc = ap_err_set(err, AP_E_NOTFOUND, "setup stub '%s' does not exist", stub);
			goto out;
		}
	}
	rc = ap_fsx_read_file(o->source, SOURCE_MAX, &src, &src_len, err);
	if (rc)
		goto out;
	rc = make_parent(o->output, err);
	if (rc == 0)
		rc = make_parent(o->sfx, err);
	if (rc == 0)
		rc = remove_stale_temps(o->output, "", err);
	if (rc == 0)
		rc = remove_stale_temps(o->sfx, "", err);
	if (rc == 0)
		rc = remove_stale_temps(o->sfx, ".bundle", err);
	if (rc)
		goto out;
	rc = ap_manifest_parse(src, src_len, AP_MANIFEST_SOURCE, &m, err);
	if (rc) {
		ap_err_prefix(err, "source manifest '%s'", o->source);
		goto out;
	}
	rc = ap_key_load_private(o->key, &key, err);
	if (rc == 0)
		rc = ap_key_check_signing(key, o->key, err);
	if (rc)
		goto out;
	ap_key_id(key, key_id);
	free(m->key_id);
	m->key_id = strdup(key_id);
	found = calloc(m->n_components, sizeof(*found));
	if (!m->key_id || !found) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = find_payloads(m, o->payloads, found, err);
	if (rc)
		goto out;
	if (o->compress_auto) {
		struct ap_probe p = { 0, 0, 0, 0 };
		for (size_t i = 0; i < m->n_components; i++) {
			rc = ap_probe_add(&p, found[i].path, found[i].size, err);
			if (rc)
				goto out;
		}
		comp = ap_probe_worth_it(&p) ? AP_COMPRESS_GZIP : AP_COMPRESS_NONE;
	}

	rc = check_windows_names(m, err);
	if (rc == 0)
		rc = measure_extracts(m, found, err);
	if (rc)
		goto out;

	/* The manifest goes first in the bundle but needs the payloads' hashes:
	 * emit it with placeholder hashes to learn its exact length, stream the
	 * payloads once, then write the real one into the reserved room. */
	for (size_t i = 0; i < m->n_components; i++) {
		struct ap_component *c = &m->components[i];
		c->size = found[i].size;
		c->has_size = true;
		found[i].pinned = c->has_sha256;
		if (!c->has_sha256)
			memset(c->sha256, '0', AP_SHA256_HEX - 1);
		c->sha256[AP_SHA256_HEX - 1] = '\0';
		c->has_sha256 = true;
	}
	/* The SBOM lists the files of every archive: read them before the
	 * payloads are streamed, so the placeholder manifest, SBOM included,
	 * has its final length. */
	files = calloc(m->n_components, sizeof(*files));
	if (!files) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_components; i++) {
		if (m->components[i].action != AP_ACTION_EXTRACT)
			continue;
		rc = ap_sbom_scan_archive(found[i].path, &files[i], err);
		if (rc) {
			ap_err_prefix(err, "component '%s'", m->components[i].name);
			goto out;
		}
	}
	rc = ap_sbom_emit(m, files, o->sbom, mtime, &m->sbom, NULL, err);
	if (rc)
		goto out;
	rc = ap_manifest_emit(m, &json, &plen, err);
	if (rc)
		goto out;
	rc = ap_sign(key, json, plen, &sig, &slen, err);
	if (rc)
		goto out;
	free(json);
	json = NULL;
	free(sig);
	sig = NULL;

	if (o->sfx && (o->sfx_detached || !bundle_path)) {
		size_t n = strlen(o->sfx) + sizeof(".bundle");
		tmp_bundle = malloc(n);
		if (!tmp_bundle) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto out;
		}
		snprintf(tmp_bundle, n, "%s.bundle", o->sfx);
		/* The setup's bundle is never given its final name: the setup
		 * copies it from the temporary, which is then removed. */
		if (!o->sfx_detached) {
			bundle_path = tmp_bundle;
			intermediate = true;
		}
	}
	if (bundle_path) {
		rc = ap_afile_open(&bundle, bundle_path, 0644, err);
		if (rc)
			goto out;
		rc = ap_bundle_writer_open(bundle.fp, comp, o->level, mtime, plen, slen, &w, err);
		if (rc)
			goto out;
		for (size_t i = 0; i < m->n_components; i++) {
			struct ap_component *c = &m->components[i];
			struct ap_progress bar;
			char hex[AP_SHA256_HEX];

			ap_progress_start(&bar, c->file, c->size, !o->quiet && !o->json);
			rc = ap_bundle_writer_add_file(w, c->file, found[i].path, c->size, hex,
						       ap_progress_cb, &bar, err);
			ap_progress_end(&bar);
			if (rc) {
				ap_err_prefix(err, "component '%s'", c->name);
				goto out;
			}
			rc = check_pinned(c, &found[i], hex, err);
			if (rc)
				goto out;
			memcpy(c->sha256, hex, AP_SHA256_HEX);
		}
		hashed = true;
	}
	if (o->layout) {
		rc = ap_layout_open(o->layout, NULL, 0, &layout, err);
		if (rc == 0)
			rc = layout_payloads(o, layout, m, found, hashed, err);
		if (rc)
			goto out;
		hashed = true;
	}
	if (!hashed) {
		for (size_t i = 0; i < m->n_components; i++) {
			struct ap_component *c = &m->components[i];
			struct ap_progress bar;
			char hex[AP_SHA256_HEX];

			ap_progress_start(&bar, c->file, c->size, !o->quiet && !o->json);
			rc = ap_sha256_file(found[i].path, hex, NULL, ap_progress_cb, &bar, err);
			ap_progress_end(&bar);
			if (rc)
				goto out;
			rc = check_pinned(c, &found[i], hex, err);
			if (rc)
				goto out;
			memcpy(c->sha256, hex, AP_SHA256_HEX);
		}
	}
	free(m->sbom);
	m->sbom = NULL;
	rc = ap_sbom_emit(m, files, o->sbom, mtime, &m->sbom, NULL, err);
	if (rc)
		goto out;
	rc = ap_manifest_emit(m, &json, &jlen, err);
	if (rc)
		goto out;
	rc = ap_sign(key, json, jlen, &sig, &slen, err);
	if (rc)
		goto out;
	if (w) {
		rc = ap_bundle_writer_finish(w, json, jlen, sig, slen, err);
		if (rc)
			goto out;
		if (intermediate) {
			if (fflush(bundle.fp) != 0) {
				rc = ap_err_sys(err, AP_E_IO, "cannot write '%s'", bundle.tmp);
				goto out;
			}
		} else {
			rc = ap_afile_commit(&bundle, err);
			if (rc)
				goto out;
		}
	}
	if (layout) {
		rc = ap_layout_commit(layout, json, jlen, sig, slen, err);
		if (rc)
			goto out;
	}
	if (o->sfx) {
		const char *from = bundle_path;

		if (o->sfx_detached) {
			rc = write_head_bundle(&head, tmp_bundle, mtime, json, jlen, sig, slen, err);
			if (rc)
				goto out;
			from = head.tmp;
		} else if (intermediate) {
			from = bundle.tmp;
		}
		rc = ap_key_public_pem(key, &pem, &pem_len, err);
		if (rc)
			goto out;
		rc = ap_sfx_write(o->sfx, stub, pem, pem_len, from, o->sfx_detached, err);
		if (rc)
			goto out;
	}
	print_result(o, m, key_id, comp, o->level);
out:
	if (rc || intermediate)
		ap_afile_abort(&bundle);
	ap_afile_abort(&head);
	ap_bundle_writer_free(w);
	ap_layout_free(layout);
	if (found)
		for (size_t i = 0; m && i < m->n_components; i++)
			free(found[i].path);
	free(found);
	if (files)
		for (size_t i = 0; m && i < m->n_components; i++)
			ap_sbom_files_release(&files[i]);
	free(files);
	ap_manifest_free(m);
	ap_key_free(key);
	free(src);
	free(json);
	free(sig);
	free(pem);
	free(tmp_bundle);
	free(stub);
	return rc;
}

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "payloads", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "layout", required_argument, NULL, 'L' },
		{ "sfx", required_argument, NULL, 'S' },
		{ "sfx-detached", no_argument, NULL, 'D' },
		{ "sfx-stub", required_argument, NULL, 'T' },
		{ "compress", required_argument, NULL, 'c' },
		{ "sbom-format", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct build_opts o;
	struct ap_err err = AP_ERR_INIT;
	int c;

	memset(&o, 0, sizeof(o));
	o.compress_auto = true;
	o.level = 6;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:k:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.payloads = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'L':
			o.layout = optarg;
			break;
		case 'S':
			o.sfx = optarg;
			break;
		case 'D':
			o.sfx_detached = true;
			break;
		case 'T':
			o.sfx_stub = optarg;
			break;
		case 'c':
			if (parse_compress(optarg, &o) != 0)
				return usage_error("build",
						   "--compress: expected none, gzip, gzip:1..9 or "
						   "auto, got '%s'", optarg);
			break;
		case 'B':
			if (ap_sbom_format_parse(optarg, &o.sbom) != 0)
				return usage_error("build",
						   "--sbom-format: expected spdx or cyclonedx, got '%s'",
						   optarg);
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			return print_usage("build");
		default:
			return usage_error("build", "bad option");
		}
	}
	if (optind >= argc)
		return usage_error("build", "SOURCE-MANIFEST is required");
	o.source = argv[optind++];
	if (optind < argc)
		return usage_error("build", "unexpected argument '%s'", argv[optind]);
	if (!o.payloads)
		return usage_error("build", "--payloads DIR is required");
	if (!o.key)
		return usage_error("build", "--key KEY.pem is required");
	if (!o.output && !o.layout && !o.sfx)
		return usage_error("build", "nothing to write: give -o BUNDLE, --layout DIR "
					    "or --sfx SETUP");
	if (o.sfx_detached && !o.sfx)
		return usage_error("build", "--sfx-detached needs --sfx SETUP");
	if (o.sfx_stub && !o.sfx)
		return usage_error("build", "--sfx-stub needs --sfx SETUP");
	if (!ap_fsx_is_dir(o.payloads))
		return usage_error("build", "--payloads: '%s' is not a folder", o.payloads);
	if (run_build(&o, &err) != 0)
		return die_err(&err);
	return 0;
}
