/* manifest.c - parse, validate and emit manifests; see airpack/manifest.h.
 *
 * Parsing has two stages: the JSON tree is checked for shape (known fields,
 * types, formats that the model cannot hold, such as a 63-digit sha256) while
 * the model is built, then ap_manifest_validate checks every value rule on the
 * model.  Both stages name the JSON path in every message.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "airpack/bounds.h"
#include "airpack/bundle.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/str.h"
#include "airpack/winname.h"
#include "airpack/banned.h"

/* Sizes must round-trip through a JSON number exactly. */
#define MAX_SIZE ((uint64_t)AP_JSONX_INT_MAX)
#define VERSION_MAX 64
#define NAME_MAX_BYTES 255
#define PATH_BUF AP_JSONX_PATH_MAX
#define QUOTE_BUF AP_JSONX_QUOTE_MAX
#define NAME_RULES "(no '/', '\\', '..', control characters)"

/* ------------------------------------------------------------------ errors */

static const struct ap_jsonx_doc doc = { AP_E_MANIFEST, "the manifest", AP_JSONX_QUOTE_JSON };

static int fail(struct ap_err *err, const char *path, const char *fmt, ...) AP_PRINTF(3, 4);
static int fail(struct ap_err *err, const char *path, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ap_jsonx_failv(err, AP_E_MANIFEST, path, fmt, ap);
	va_end(ap);
	return rc;
}

/* ------------------------------------------------------------- name rules */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Why a name is unsafe, or NULL when it is safe. */
static const char *name_problem(const char *name, size_t len)
{
	if (len == 0)
		return "(must not be empty)";
	if (len > NAME_MAX_BYTES)
		return "(longer than 255 bytes)";
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return NAME_RULES;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
			return NAME_RULES;
	}
	return NULL;
}

bool ap_manifest_safe_name(const char *name)
{
	return name && name_problem(name, strlen(name)) == NULL;
}

static const char *relpath_problem(const char *path, bool allow_empty)
{
	const char *p = path;

	if (*p == '\0')
		return allow_empty ? NULL : "(must not be empty)";
	if (*p == '/')
		return "(must be relative: no leading '/')";
	if (strchr(p, '\\'))
		return "(no '\\')";
	if (has_control(p))
		return "(no control characters)";
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0)
			return "(no empty parts: no '//' or trailing '/')";
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return "(no '.' or '..' parts)";
		if (len > NAME_MAX_BYTES)
			return "(a part is longer than 255 bytes)";
		if (!slash)
			return NULL;
		p = slash + 1;
	}
}

bool ap_manifest_safe_relpath(const char *path, bool allow_empty)
{
	return path && relpath_problem(path, allow_empty) == NULL;
}

static int check_name(const char *path, const char *what, const char *name, struct ap_err *err)
{
	char q[QUOTE_BUF];
	const char *why;

	if (!name)
		return fail(err, path, "required field is missing");
	why = name_problem(name, strlen(name));
	if (why)
		return fail(err, path, "unsafe %s %s %s", what, ap_jsonx_quote(name, q, sizeof(q)),
			    why);
	return 0;
}

/* Names an offline folder or a mirror tree keeps for itself.  A payload so
 * named would be overwritten by (or overwrite) the folder's own files, so
 * no component may take one, in any letter case (offline folders may live
 * on case-insensitive file systems). */
static const char *const reserved_names[] = {
	"manifest.json",
	"manifest.json.sig",
	"index.json",
	"index.json.sig",
};

/* a and b are the same ASCII letters in any case. */
static bool same_ci(const char *a, const char *b)
{
	while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
		a++;
		b++;
	}
	return !*a && !*b;
}

static bool reserved_name(const char *name)
{
	for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
		if (same_ci(reserved_names[i], name))
			return true;
	return false;
}

bool ap_manifest_reserved_name(const char *name)
{
	return name && reserved_name(name);
}

static int check_file_name(const char *path, const char *name, struct ap_err *err)
{
	char q[QUOTE_BUF];
	int rc = check_name(path, "file name", name, err);

	if (rc)
		return rc;
	if (reserved_name(name))
		return fail(err, path,
			    "file name %s is reserved for the release's own files "
			    "(manifest.json, manifest.json.sig, index.json, index.json.sig): "
			    "rename the payload",
			    ap_jsonx_quote(name, q, sizeof(q)));
	if (ap_fsx_is_temp_name(name, NULL))
		return fail(err, path,
			    "file name %s has the form of airpack's temporary files "
			    "(NAME.tmp-XXXXXX), which a later run removes: rename the payload",
			    ap_jsonx_quote(name, q, sizeof(q)));
	return 0;
}

static int check_relpath(const char *path, const char *rel, bool allow_empty, struct ap_err *err)
{
	char q[QUOTE_BUF];
	const char *why;

	if (!rel)
		return fail(err, path, "required field is missing");
	why = relpath_problem(rel, allow_empty);
	if (why)
		return fail(err, path, "unsafe relative path %s %s",
			    ap_jsonx_quote(rel, q, sizeof(q)), why);
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool ap_manifest_version_valid(const char *v)
{
	size_t i = 0, len;

	if (!v)
		return false;
	len = strlen(v);
	if (len == 0 || len > VERSION_MAX)
		return false;
	for (;;) {
		if (!is_digit(v[i]))
			return false;
		while (is_digit(v[i]))
			i++;
		if (v[i] != '.')
			break;
		i++;
	}
	if (v[i] == '\0')
		return true;
	if (v[i] != '-' || v[i + 1] == '\0')
		return false;
	for (i++; v[i]; i++)
		if (!is_alnum(v[i]) && v[i] != '.')
			return false;
	return true;
}

/* Compare one identifier of each version: all-digit identifiers compare as
 * numbers of any length, and sort before alphanumeric ones. */
static int cmp_ident(const char *a, size_t an, const char *b, size_t bn)
{
	bool ad = an > 0, bd = bn > 0;
	int c;

	for (size_t i = 0; i < an; i++)
		ad = ad && is_digit(a[i]);
	for (size_t i = 0; i < bn; i++)
		bd = bd && is_digit(b[i]);
	if (ad && bd) {
		while (an > 1 && *a == '0') {
			a++;
			an--;
		}
		while (bn > 1 && *b == '0') {
			b++;
			bn--;
		}
		if (an != bn)
			return an < bn ? -1 : 1;
		c = memcmp(a, b, an);
		return c < 0 ? -1 : c > 0;
	}
	if (ad != bd)
		return ad ? -1 : 1;
	c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c < 0 ? -1 : 1;
	return an == bn ? 0 : (an < bn ? -1 : 1);
}

/* Compare dot-separated lists; missing numeric parts count as 0 when
 * zero_fill (the release part), otherwise the shorter list sorts first. */
static int cmp_dotted(const char *a, size_t an, const char *b, size_t bn, bool zero_fill)
{
	size_t ia = 0, ib = 0;

	while (ia < an || ib < bn) {
		const char *pa = a + ia, *pb = b + ib;
		size_t la = 0, lb = 0;
		int c;

		if (ia >= an || ib >= bn) {
			if (!zero_fill)
				return ia >= an ? -1 : 1;
		}
		while (ia + la < an && a[ia + la] != '.')
			la++;
		while (ib + lb < bn && b[ib + lb] != '.')
			lb++;
		if (ia >= an) {
			pa = "0";
			la = 1;
		}
		if (ib >= bn) {
			pb = "0";
			lb = 1;
		}
		c = cmp_ident(pa, la, pb, lb);
		if (c)
			return c;
		if (ia < an)
			ia += la + 1;
		if (ib < bn)
			ib += lb + 1;
	}
	return 0;
}

int ap_manifest_version_cmp(const char *a, const char *b)
{
	const char *da, *db;
	size_t ra, rb;
	int c;

	if (!a || !b)
		return a == b ? 0 : (a ? 1 : -1);
	da = strchr(a, '-');
	db = strchr(b, '-');
	ra = da ? (size_t)(da - a) : strlen(a);
	rb = db ? (size_t)(db - b) : strlen(b);
	c = cmp_dotted(a, ra, b, rb, true);
	if (c)
		return c;
	if (!da || !db)
		return da ? -1 : (db ? 1 : 0);
	return cmp_dotted(da + 1, strlen(da + 1), db + 1, strlen(db + 1), false);
}

static bool url_ok(const char *u)
{
	static const char *const schemes[] = { "http://", "https://", "file://" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		size_t k;

		for (k = 0; k < n; k++) {
			char c = u[k];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != schemes[i][k])
				break;
		}
		if (k < n)
			continue;
		if (u[n] == '\0')
			return false;
		for (const char *p = u + n; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				return false;
		return true;
	}
	return false;
}

/* --------------------------------------------------------------- model */

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void component_release(struct ap_component *c);

void ap_manifest_remove_component(struct ap_manifest *m, size_t i)
{
	if (i >= m->n_components)
		return;
	component_release(&m->components[i]);
	memmove(&m->components[i], &m->components[i + 1],
		(m->n_components - i - 1) * sizeof(*m->components));
	m->n_components--;
}

static void component_release(struct ap_component *c)
{
	free(c->name);
	free(c->file);
	free_strv(c->aliases, c->n_aliases);
	free_strv(c->urls, c->n_urls);
	free(c->to);
	free_strv(c->args, c->n_args);
	free(c->ok_codes);
	free(c->reboot_codes);
	if (c->service) {
		free(c->service->name);
		free(c->service->program);
		free_strv(c->service->args, c->service->n_args);
		free(c->service->description);
		free(c->service);
	}
	free(c->version);
	free(c->supplier);
	free(c->license);
}

void ap_manifest_free(struct ap_manifest *m)
{
	if (!m)
		return;
	free(m->format);
	free(m->product);
	free(m->version);
	free(m->channel);
	free(m->platform);
	free(m->prefix);
	free(m->description);
	free(m->key_id);
	free(m->sbom);
	free_strv(m->data_dirs, m->n_data_dirs);
	free(m->config.path);
	free(m->config.template);
	if (m->components)
		for (size_t i = 0; i < m->n_components; i++)
			component_release(&m->components[i]);
	free(m->components);
	free(m);
}

const struct ap_component *ap_manifest_find(const struct ap_manifest *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (size_t i = 0; i < m->n_components; i++)
		if (m->components[i].name && strcmp(m->components[i].name, name) == 0)
			return &m->components[i];
	return NULL;
}

bool ap_manifest_names_file(const struct ap_manifest *m, const char *name)
{
	if (strcmp(name, AP_BUNDLE_MANIFEST) == 0 || strcmp(name, AP_BUNDLE_SIG) == 0)
		return true;
	for (size_t i = 0; i < m->n_components; i++)
		if (strcmp(m->components[i].file, name) == 0)
			return true;
	return false;
}

uint64_t ap_manifest_total_size(const struct ap_manifest *m)
{
	uint64_t total = 0;

	if (!m)
		return 0;
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		if (!c->has_size)
			continue;
		if (total > UINT64_MAX - c->size)
			return UINT64_MAX;
		total += c->size;
	}
	return total;
}

const char *ap_manifest_action_name(enum ap_action a)
{
	switch (a) {
	case AP_ACTION_EXTRACT:
		return "extract";
	case AP_ACTION_COPY:
		return "copy";
	case AP_ACTION_RUN:
		return "run";
	}
	return "unknown";
}

const char *ap_manifest_component_dest(const struct ap_component *c)
{
	if (c->action == AP_ACTION_EXTRACT)
		return c->to ? c->to : "";
	return c->to && *c->to ? c->to : c->file;
}

/* ------------------------------------------------------------ validation */

struct name_ref {
	const char *s;
	size_t comp;  /* component index */
	size_t alias; /* 0: the name or file field, j + 1: aliases[j] */
};

static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

static int ref_order(const struct name_ref *a, const struct name_ref *b)
{
	if (a->comp != b->comp)
		return a->comp < b->comp ? -1 : 1;
	if (a->alias != b->alias)
		return a->alias < b->alias ? -1 : 1;
	return 0;
}

static int cmp_ref_exact(const void *pa, const void *pb)
{
	const struct name_ref *a = pa, *b = pb;
	int c = strcmp(a->s, b->s);
	return c ? c : ref_order(a, b);
}

static int cmp_ref_fold(const void *pa, const void *pb)
{
	const struct name_ref *a = pa, *b = pb;
	int c = ascii_casecmp(a->s, b->s);
	return c ? c : ref_order(a, b);
}

static void ref_path(char *out, const struct name_ref *r, const char *field)
{
	if (r->alias == 0)
		ap_jsonx_path(out, "components[%zu].%s", r->comp, field);
	else
		ap_jsonx_path(out, "components[%zu].aliases[%zu]", r->comp, r->alias - 1);
}

/* Sort the references and report the duplicate that comes first in the
 * document, naming the occurrence it repeats. */
static int report_duplicates(struct name_ref *refs, size_t n, bool fold, const char *field,
			     struct ap_err *err)
{
	const struct name_ref *dup = NULL, *orig = NULL;
	char p1[PATH_BUF], p2[PATH_BUF], q[QUOTE_BUF];

	qsort(refs, n, sizeof(*refs), fold ? cmp_ref_fold : cmp_ref_exact);
	for (size_t i = 1, g = 0; i < n; i++) {
		int diff =
			fold ? ascii_casecmp(refs[g].s, refs[i].s) : strcmp(refs[g].s, refs[i].s);

		if (diff != 0) {
			g = i;
			continue;
		}
		/* within a group the first repeat is the earliest one */
		if (i == g + 1 && (!dup || ref_order(&refs[i], dup) < 0)) {
			dup = &refs[i];
			orig = &refs[g];
		}
	}
	if (!dup)
		return 0;
	ref_path(p1, dup, field);
	ref_path(p2, orig, field);
	return fail(err, p1, "duplicate of %s %s", p2, ap_jsonx_quote(orig->s, q, sizeof(q)));
}

static int check_unique(const struct ap_manifest *m, struct ap_err *err)
{
	struct name_ref *refs = NULL;
	size_t n = 0, cap = m->n_components;
	int rc;

	for (size_t i = 0; i < m->n_components; i++) {
		if (m->components[i].n_aliases > SIZE_MAX / 2 - cap)
			return ap_jsonx_nomem(&doc, err);
		cap += m->components[i].n_aliases + 1;
	}
	refs = calloc(cap ? cap : 1, sizeof(*refs));
	if (!refs)
		return ap_jsonx_nomem(&doc, err);

	for (size_t i = 0; i < m->n_components; i++)
		refs[n++] = (struct name_ref){ m->components[i].name, i, 0 };
	rc = report_duplicates(refs, n, false, "name", err);
	if (rc)
		goto out;

	n = 0;
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];
		refs[n++] = (struct name_ref){ c->file, i, 0 };
		for (size_t j = 0; j < c->n_aliases; j++)
			refs[n++] = (struct name_ref){ c->aliases[j], i, j + 1 };
	}
	/* Offline folders may live on case-insensitive file systems, so
	 * "A.cab" and "a.cab" are the same file. */
	rc = report_duplicates(refs, n, true, "file", err);
out:
	free(refs);
	return rc;
}

static int check_mode(const char *path, unsigned mode, struct ap_err *err)
{
	if (mode > 0777)
		return fail(err, path, "expected a mode of at most 0777, got %04o", mode);
	return 0;
}

/* A component's optional free-text label (version, supplier): non-empty,
 * at most LABEL_MAX bytes, no control characters. */
#define LABEL_MAX 256

static int check_label(const char *base, const char *field, const char *s, struct ap_err *err)
{
	char p[PATH_BUF], q[QUOTE_BUF];

	if (!s)
		return 0;
	ap_jsonx_join(p, base, field);
	if (!*s || strlen(s) > LABEL_MAX || has_control(s))
		return fail(err, p,
			    "expected a non-empty string of at most %d bytes without control "
			    "characters, got %s",
			    LABEL_MAX, ap_jsonx_quote(s, q, sizeof(q)));
	return 0;
}

/* The characters of an SPDX license expression (ids, LicenseRef-, AND, OR,
 * WITH, +, parentheses); the SPDX tools judge the ids themselves. */
static bool license_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LABEL_MAX || s[0] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' ||
		      ch == ':' || ch == '(' || ch == ')' || ch == ' '))
			return false;
	}
	return true;
}


/* A run action's reboot_exit_codes: each code at most once, and none also
 * in ok_exit_codes (a code means one thing). */
static int check_reboot_codes(const struct ap_component *c, const char *inst, struct ap_err *err)
{
	char p[PATH_BUF];

	for (size_t k = 0; k < c->n_reboot_codes; k++) {
		ap_jsonx_path(p, "%s.reboot_exit_codes[%zu]", inst, k);
		for (size_t l = 0; l < k; l++)
			if (c->reboot_codes[l] == c->reboot_codes[k])
				return fail(err, p, "%d is listed twice", c->reboot_codes[k]);
		for (size_t l = 0; l < c->n_ok_codes; l++)
			if (c->ok_codes[l] == c->reboot_codes[k])
				return fail(err, p,
					    "%d is also in ok_exit_codes: a code means either "
					    "success or success with a restart required",
					    c->reboot_codes[k]);
	}
	return 0;
}

/* install.service: a safe name of at most 64 bytes, a program (extract
 * only) that is a safe relative path, no description left empty. */
static int check_service(const struct ap_component *c, const char *inst, struct ap_err *err)
{
	const struct ap_manifest_service *sv = c->service;
	char p[PATH_BUF], q[QUOTE_BUF];
	int rc;

	if (!sv)
		return 0;
	ap_jsonx_path(p, "%s.service", inst);
	if (c->action == AP_ACTION_RUN)
		return fail(err, p,
			    "only allowed with action \"extract\" or \"copy\", got \"run\"");
	ap_jsonx_path(p, "%s.service.name", inst);
	if ((rc = check_name(p, "service name", sv->name, err)))
		return rc;
	if (strlen(sv->name) > 64)
		return fail(err, p, "expected at most 64 bytes, got %zu", strlen(sv->name));
	ap_jsonx_path(p, "%s.service.program", inst);
	if (c->action == AP_ACTION_COPY && sv->program)
		return fail(err, p,
			    "only allowed with action \"extract\" (a copied file is the "
			    "program)");
	if (c->action == AP_ACTION_EXTRACT && (rc = check_relpath(p, sv->program, false, err)))
		return rc;
	for (size_t j = 0; j < sv->n_args; j++) {
		ap_jsonx_path(p, "%s.service.args[%zu]", inst, j);
		if (!sv->args[j])
			return fail(err, p, "required field is missing");
		if (has_control(sv->args[j]))
			return fail(err, p, "expected no control characters, got %s",
				    ap_jsonx_quote(sv->args[j], q, sizeof(q)));
	}
	ap_jsonx_path(p, "%s.service.description", inst);
	if (sv->description && (!*sv->description || has_control(sv->description)))
		return fail(err, p, "expected a non-empty string without control characters");
	return 0;
}

/* Two components may not register services of one name (the OS knows
 * names case-insensitively on Windows, so compare so everywhere). */
static int check_service_names(const struct ap_manifest *m, struct ap_err *err)
{
	char p[PATH_BUF], q[QUOTE_BUF];

	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_manifest_service *a = m->components[i].service;

		for (size_t k = 0; a && k < i; k++) {
			const struct ap_manifest_service *b = m->components[k].service;

			if (b && same_ci(a->name, b->name)) {
				ap_jsonx_path(p, "components[%zu].install.service.name", i);
				return fail(err, p, "service %s is also registered by component %s",
					    ap_jsonx_quote(a->name, q, sizeof(q)),
					    m->components[k].name);
			}
		}
	}
	return 0;
}

/* Validation of one component: one rule per field, each error naming it; long by design. */
static int validate_component(const struct ap_manifest *m, size_t i, enum ap_manifest_kind kind,
			      struct ap_err *err)
{
	const struct ap_component *c = &m->components[i];
	char base[PATH_BUF], p[PATH_BUF], inst[PATH_BUF], q[QUOTE_BUF];
	int rc;

	ap_jsonx_path(base, "components[%zu]", i);
	ap_jsonx_join(inst, base, "install");
	if ((rc = check_service(c, inst, err)))
		return rc;

	ap_jsonx_join(p, base, "name");
	if ((rc = check_name(p, "name", c->name, err)))
		return rc;
	ap_jsonx_join(p, base, "file");
	if ((rc = check_file_name(p, c->file, err)))
		return rc;
	for (size_t j = 0; j < c->n_aliases; j++) {
		ap_jsonx_path(p, "%s.aliases[%zu]", base, j);
		if ((rc = check_file_name(p, c->aliases[j], err)))
			return rc;
	}
	for (size_t j = 0; j < c->n_urls; j++) {
		ap_jsonx_path(p, "%s.urls[%zu]", base, j);
		if (!c->urls[j])
			return fail(err, p, "required field is missing");
		if (!url_ok(c->urls[j]))
			return fail(err, p, "expected an http://, https:// or file:// url, got %s",
				    ap_jsonx_quote(c->urls[j], q, sizeof(q)));
	}
	ap_jsonx_join(p, base, "size");
	if (c->has_size && c->size > MAX_SIZE)
		return fail(err, p, "expected an integer at most %llu, got %llu",
			    (unsigned long long)MAX_SIZE, (unsigned long long)c->size);
	if (!c->has_size && kind == AP_MANIFEST_RELEASE)
		return fail(err, p, "required in a release manifest");
	ap_jsonx_join(p, base, "sha256");
	if (c->has_sha256 && !ap_str_is_lower_hex(c->sha256, 64))
		return fail(err, p, "expected 64 lowercase hex digits, got %s",
			    ap_jsonx_quote(c->sha256, q, sizeof(q)));
	if (!c->has_sha256 && kind == AP_MANIFEST_RELEASE)
		return fail(err, p, "required in a release manifest");
	if ((rc = check_label(base, "version", c->version, err)) ||
	    (rc = check_label(base, "supplier", c->supplier, err)))
		return rc;
	ap_jsonx_join(p, base, "license");
	if (c->license && !license_ok(c->license))
		return fail(err, p,
			    "expected an SPDX license expression like \"MIT OR Apache-2.0\" "
			    "(letters, digits, '.', '-', '+', ':', parentheses and spaces), got %s",
			    ap_jsonx_quote(c->license, q, sizeof(q)));

	ap_jsonx_join(p, inst, "action");
	if (c->action != AP_ACTION_EXTRACT && c->action != AP_ACTION_COPY &&
	    c->action != AP_ACTION_RUN)
		return fail(err, p, "expected one of extract, copy, run, got %d", (int)c->action);
	ap_jsonx_join(p, inst, "to");
	if (c->to && (rc = check_relpath(p, c->to, c->action == AP_ACTION_EXTRACT, err)))
		return rc;
	ap_jsonx_join(p, inst, "expanded");
	if (c->has_expanded && c->action != AP_ACTION_EXTRACT)
		return fail(err, p, "only allowed with action \"extract\"");
	if (c->has_expanded && (c->expanded_size > MAX_SIZE || c->expanded_files > MAX_SIZE))
		return fail(err, p, "expected integers at most %llu", (unsigned long long)MAX_SIZE);
	if (c->action == AP_ACTION_EXTRACT)
		return 0;
	ap_jsonx_join(p, inst, "mode");
	if ((rc = check_mode(p, c->mode, err)))
		return rc;
	if (c->action == AP_ACTION_COPY) {
		if (c->n_args) {
			ap_jsonx_join(p, inst, "args");
			return fail(err, p, "only allowed with action \"run\", got \"copy\"");
		}
		if (c->n_ok_codes) {
			ap_jsonx_join(p, inst, "ok_exit_codes");
			return fail(err, p, "only allowed with action \"run\", got \"copy\"");
		}
		if (c->n_reboot_codes) {
			ap_jsonx_join(p, inst, "reboot_exit_codes");
			return fail(err, p, "only allowed with action \"run\", got \"copy\"");
		}
		return 0;
	}
	for (size_t j = 0; j < c->n_args; j++) {
		if (!c->args[j]) {
			ap_jsonx_path(p, "%s.args[%zu]", inst, j);
			return fail(err, p, "required field is missing");
		}
	}
	ap_jsonx_join(p, inst, "ok_exit_codes");
	if (c->n_ok_codes == 0 || !c->ok_codes)
		return fail(err, p, "expected a non-empty array of integers");
	return check_reboot_codes(c, inst, err);
}

/* ------------------------------------------------------- Windows' names */

static int windows_fail(struct ap_err *err, const char *path, const char *rel)
{
	char q[QUOTE_BUF], part[QUOTE_BUF];
	size_t off = 0, len = 0;
	const char *why = ap_winname_path_problem(rel, &off, &len);

	if (!why)
		return 0;
	snprintf(part, sizeof(part), "'%.*s'", (int)len, rel + off);
	return ap_jsonx_fail(err, AP_E_UNSAFE, path, "unsafe name for Windows %s: %s is %s",
			     ap_jsonx_quote(rel, q, sizeof(q)), part, why);
}

/* Where component i puts its files under the prefix, and the field that
 * says so. */
static const char *component_place(const struct ap_component *c, size_t i, char *p, size_t psz)
{
	if (c->to && *c->to) {
		snprintf(p, psz, "components[%zu].install.to", i);
		return c->to;
	}
	if (c->action == AP_ACTION_EXTRACT)
		return NULL;
	snprintf(p, psz, "components[%zu].file", i);
	return c->file;
}

/* Two copied or run files that Windows sees as one. */
static int windows_collisions(const struct ap_manifest *m, struct ap_err *err)
{
	char p[PATH_BUF], o[PATH_BUF], q[QUOTE_BUF];
	int rc = 0;

	for (size_t i = 0; i < m->n_components && rc == 0; i++) {
		const char *a = component_place(&m->components[i], i, p, sizeof(p));
		char *fa = a && m->components[i].action != AP_ACTION_EXTRACT ? ap_winname_fold(a)
									     : NULL;

		for (size_t j = 0; fa && j < i && rc == 0; j++) {
			const char *b = component_place(&m->components[j], j, o, sizeof(o));
			char *fb = b && m->components[j].action != AP_ACTION_EXTRACT
					   ? ap_winname_fold(b)
					   : NULL;

			if (fb && strcmp(fa, fb) == 0 && strcmp(a, b) != 0)
				rc = ap_jsonx_fail(
					err, AP_E_UNSAFE, p,
					"unsafe name for Windows %s: the same name on Windows "
					"as %s (they differ only in letter case or trailing "
					"dots and spaces)",
					ap_jsonx_quote(a, q, sizeof(q)), o);
			free(fb);
		}
		free(fa);
	}
	return rc;
}

int ap_manifest_windows_check(const struct ap_manifest *m, struct ap_err *err)
{
	char p[PATH_BUF];
	int rc;

	if ((rc = windows_fail(err, "prefix", m->prefix)))
		return rc;
	for (size_t i = 0; i < m->n_data_dirs; i++) {
		ap_jsonx_path(p, "data_dirs[%zu]", i);
		if ((rc = windows_fail(err, p, m->data_dirs[i])))
			return rc;
	}
	if (m->has_config && (rc = windows_fail(err, "config.path", m->config.path)))
		return rc;
	for (size_t i = 0; i < m->n_components; i++) {
		const char *place = component_place(&m->components[i], i, p, sizeof(p));

		if (place && (rc = windows_fail(err, p, place)))
			return rc;
	}
	return windows_collisions(m, err);
}

bool ap_manifest_for_windows(const struct ap_manifest *m)
{
#ifdef _WIN32
	(void)m;
	return true;
#else
	return m && ap_winname_platform_is_windows(m->platform);
#endif
}

int ap_manifest_validate(const struct ap_manifest *m, enum ap_manifest_kind kind,
			 struct ap_err *err)
{
	char q[QUOTE_BUF], p[PATH_BUF];
	int rc;

	if (!m)
		return ap_err_set(err, AP_E_USAGE, "no manifest to validate");
	if (!m->format)
		return fail(err, "format", "required field is missing");
	if (strcmp(m->format, AP_FORMAT) != 0)
		return fail(err, "format", "expected \"%s\", got %s", AP_FORMAT,
			    ap_jsonx_quote(m->format, q, sizeof(q)));
	if ((rc = check_name("product", "name", m->product, err)))
		return rc;
	if (!m->version)
		return fail(err, "version", "required field is missing");
	if (!ap_manifest_version_valid(m->version))
		return fail(err, "version", "expected a version like 1.1.13, got %s",
			    ap_jsonx_quote(m->version, q, sizeof(q)));
	if (m->channel && (rc = check_name("channel", "name", m->channel, err)))
		return rc;
	if (m->platform && (!*m->platform || has_control(m->platform)))
		return fail(err, "platform",
			    "expected a non-empty string without control "
			    "characters, got %s",
			    ap_jsonx_quote(m->platform, q, sizeof(q)));
	if (m->description && !*m->description)
		return fail(err, "description", "expected a non-empty string");
	if ((rc = check_relpath("prefix", m->prefix, false, err)))
		return rc;
	if (m->key_id && !ap_str_is_lower_hex(m->key_id, 16))
		return fail(err, "key_id", "expected 16 lowercase hex digits, got %s",
			    ap_jsonx_quote(m->key_id, q, sizeof(q)));
	for (size_t i = 0; i < m->n_data_dirs; i++) {
		const char *why;

		ap_jsonx_path(p, "data_dirs[%zu]", i);
		if ((rc = check_relpath(p, m->data_dirs[i], false, err)))
			return rc;
		why = ap_bounds_data_dir_problem(m->data_dirs[i], m->prefix);
		if (why)
			return fail(err, p, "%s %s: uninstall --purge would remove it",
				    ap_jsonx_quote(m->data_dirs[i], q, sizeof(q)), why);
	}
	if (m->has_config) {
		const char *why;

		if ((rc = check_relpath("config.path", m->config.path, false, err)))
			return rc;
		why = ap_bounds_config_path_problem(m->config.path);
		if (why)
			return fail(err, "config.path", "%s %s",
				    ap_jsonx_quote(m->config.path, q, sizeof(q)), why);
		if (m->config.template && !ap_manifest_find(m, m->config.template))
			return fail(err, "config.template",
				    "expected the name of a component, "
				    "got %s (no component has that name)",
				    ap_jsonx_quote(m->config.template, q, sizeof(q)));
		if (m->config.template && ap_manifest_find(m, m->config.template)->optional)
			return fail(err, "config.template",
				    "%s is an optional component: the configuration's "
				    "template must always be installed",
				    ap_jsonx_quote(m->config.template, q, sizeof(q)));
		if ((rc = check_mode("config.mode", m->config.mode, err)))
			return rc;
	}
	if (m->n_components == 0 || !m->components)
		return fail(err, "components", "expected a non-empty array");
	for (size_t i = 0; i < m->n_components; i++)
		if ((rc = validate_component(m, i, kind, err)))
			return rc;
	if ((rc = check_service_names(m, err)))
		return rc;
	return check_unique(m, err);
}

/* ------------------------------------------------------------- JSON input */

static size_t line_of(const char *buf, size_t off, size_t *col)
{
	size_t line = 1, start = 0;

	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			line++;
			start = i + 1;
		}
	}
	*col = off - start + 1;
	return line;
}

/* Report a problem at byte off, quoting the printable text around it on
 * its line (cJSON's positions can be a byte past the culprit). */
static int text_error(struct ap_err *err, const char *buf, size_t len, size_t off, const char *what)
{
	char near[24], q[QUOTE_BUF];
	size_t col, line = line_of(buf, off, &col);
	size_t from = off, to = off, n = 0;

	while (from > 0 && off - from < 10 && buf[from - 1] >= 0x20 && buf[from - 1] < 0x7f)
		from--;
	while (to < len && to - off < 10 && buf[to] >= 0x20 && buf[to] < 0x7f)
		to++;
	for (size_t i = from; i < to; i++)
		near[n++] = buf[i];
	near[n] = '\0';
	if (n == 0)
		return fail(err, NULL, "syntax error at line %zu, column %zu (byte %zu): %s", line,
			    col, off, what);
	return fail(err, NULL, "syntax error at line %zu, column %zu (byte %zu) near %s: %s", line,
		    col, off, ap_jsonx_quote(near, q, sizeof(q)), what);
}

/* Length of the UTF-8 sequence at s (at most avail bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* What cJSON lets through but a signed manifest must not hold: invalid
 * UTF-8, raw control characters in strings, and "\u0000", which cJSON would
 * turn into a string silently cut short. */
static int check_text(const char *buf, size_t len, struct ap_err *err)
{
	const unsigned char *s = (const unsigned char *)buf;
	bool in_str = false, escaped = false;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_len(s + i, len - i);

		if (n == 0)
			return text_error(err, buf, len, i, "invalid UTF-8");
		if (in_str && s[i] < 0x20)
			return text_error(err, buf, len, i, "control character inside a string");
		if (escaped) {
			escaped = false;
		} else if (in_str && s[i] == '\\') {
			if (len - i >= 6 && memcmp(buf + i + 1, "u0000", 5) == 0)
				return text_error(err, buf, len, i,
						  "\\u0000 is not allowed in strings");
			escaped = true;
		} else if (s[i] == '"') {
			in_str = !in_str;
		}
		i += n;
	}
	return 0;
}

/* A string field; absent leaves *out NULL (or fails when required). */
static int get_string(const cJSON *j, const char *path, bool required, char **out,
		      struct ap_err *err)
{
	return ap_jsonx_string(&doc, j, path, required ? AP_JSONX_REQUIRED : AP_JSONX_OPTIONAL, out,
			       err);
}

static int get_strv(const cJSON *j, const char *path, char ***out, size_t *n, struct ap_err *err)
{
	return ap_jsonx_strv(&doc, j, path, AP_JSONX_OPTIONAL, out, n, err);
}

static int parse_mode(const cJSON *j, const char *path, unsigned *out, struct ap_err *err)
{
	char q[QUOTE_BUF];
	const char *s;
	size_t len;
	unsigned v = 0;

	if (!cJSON_IsString(j) || !j->valuestring)
		return fail(err, path, "expected an octal mode string like \"0755\", got %s",
			    ap_jsonx_type_name(j));
	s = j->valuestring;
	len = strlen(s);
	if (len < 3 || len > 4)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			goto bad;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v > 0777)
		goto bad;
	*out = v;
	return 0;
bad:
	return fail(err, path, "expected an octal mode like \"0755\" (at most 0777), got %s",
		    ap_jsonx_quote(s, q, sizeof(q)));
}

static int parse_size(const cJSON *j, const char *path, uint64_t *out, struct ap_err *err)
{
	int64_t v;

	if (!cJSON_IsNumber(j))
		return fail(err, path, "expected a non-negative integer, got %s",
			    ap_jsonx_type_name(j));
	if (ap_jsonx_int(j, 0, AP_JSONX_INT_MAX, &v)) {
		*out = (uint64_t)v;
		return 0;
	}
	if (j->valuedouble > (double)MAX_SIZE)
		return fail(err, path, "expected an integer at most %llu, got %.17g",
			    (unsigned long long)MAX_SIZE, j->valuedouble);
	return fail(err, path, "expected a non-negative integer, got %.15g", j->valuedouble);
}

static int parse_sha256(const cJSON *j, const char *path, char out[AP_SHA256_HEX],
			struct ap_err *err)
{
	const char *s;
	size_t len;

	if (!cJSON_IsString(j) || !j->valuestring)
		return fail(err, path, "expected 64 hex digits, got %s", ap_jsonx_type_name(j));
	s = j->valuestring;
	len = strlen(s);
	if (len != 64)
		return fail(err, path, "expected 64 hex digits, got %zu", len);
	for (size_t i = 0; i < 64; i++) {
		int v = ap_str_hex_digit(s[i]);
		if (v < 0)
			return fail(err, path,
				    "expected 64 hex digits, got a non-hex character "
				    "at position %zu",
				    i + 1);
		out[i] = "0123456789abcdef"[v];
	}
	out[64] = '\0';
	return 0;
}

static int parse_ok_codes(const cJSON *j, const char *path, struct ap_component *c,
			  struct ap_err *err)
{
	int rc = ap_jsonx_ints(&doc, j, path, AP_JSONX_REQUIRED, &c->ok_codes, &c->n_ok_codes, err);

	if (rc == 0 && c->n_ok_codes == 0)
		return fail(err, path, "expected a non-empty array of integers");
	return rc;
}

static int parse_reboot_codes(const cJSON *j, const char *path, struct ap_component *c,
			      struct ap_err *err)
{
	int rc = ap_jsonx_ints(&doc, j, path, AP_JSONX_REQUIRED, &c->reboot_codes,
			       &c->n_reboot_codes, err);

	if (rc == 0 && c->n_reboot_codes == 0)
		return fail(err, path, "expected a non-empty array of integers");
	return rc;
}

enum {
	I_ACTION,
	I_TO,
	I_MODE,
	I_ARGS,
	I_OK,
	I_REBOOT,
	I_EXPANDED,
	I_SERVICE,
	I_COUNT
};
static const char *const install_fields[I_COUNT] = {
	"action", "to", "mode", "args", "ok_exit_codes", "reboot_exit_codes", "expanded", "service"
};

enum {
	SV_NAME,
	SV_PROGRAM,
	SV_ARGS,
	SV_DESCRIPTION,
	SV_COUNT
};
static const char *const service_fields[SV_COUNT] = { "name", "program", "args", "description" };

/* install.service; what each field may hold is checked by validate. */
static int parse_service(const cJSON *j, const char *path, struct ap_component *c,
			 struct ap_err *err)
{
	const cJSON *v[SV_COUNT];
	char p[PATH_BUF];
	struct ap_manifest_service *sv;
	int rc;

	if (!cJSON_IsObject(j))
		return fail(err, path, "expected an object with a name, got %s",
			    ap_jsonx_type_name(j));
	if ((rc = ap_jsonx_fields(&doc, j, path, service_fields, SV_COUNT, v, err)))
		return rc;
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return ap_jsonx_nomem(&doc, err);
	c->service = sv;
	ap_jsonx_join(p, path, "name");
	if ((rc = get_string(v[SV_NAME], p, true, &sv->name, err)))
		return rc;
	ap_jsonx_join(p, path, "program");
	if ((rc = get_string(v[SV_PROGRAM], p, false, &sv->program, err)))
		return rc;
	ap_jsonx_join(p, path, "args");
	if ((rc = get_strv(v[SV_ARGS], p, &sv->args, &sv->n_args, err)))
		return rc;
	ap_jsonx_join(p, path, "description");
	return get_string(v[SV_DESCRIPTION], p, false, &sv->description, err);
}

enum {
	X_SIZE,
	X_FILES,
	X_COUNT
};
static const char *const expanded_fields[X_COUNT] = { "size", "files" };

/* install.expanded: what an extract payload expands to, both required. */
static int parse_expanded(const cJSON *j, const char *path, struct ap_component *c,
			  struct ap_err *err)
{
	const cJSON *v[X_COUNT];
	char p[PATH_BUF];
	int rc;

	if (!cJSON_IsObject(j))
		return fail(err, path, "expected an object with size and files, got %s",
			    ap_jsonx_type_name(j));
	if ((rc = ap_jsonx_fields(&doc, j, path, expanded_fields, X_COUNT, v, err)))
		return rc;
	ap_jsonx_join(p, path, "size");
	if (!v[X_SIZE])
		return fail(err, p, "required field is missing");
	if ((rc = parse_size(v[X_SIZE], p, &c->expanded_size, err)))
		return rc;
	ap_jsonx_join(p, path, "files");
	if (!v[X_FILES])
		return fail(err, p, "required field is missing");
	if ((rc = parse_size(v[X_FILES], p, &c->expanded_files, err)))
		return rc;
	c->has_expanded = true;
	return 0;
}

static int parse_install(const cJSON *j, const char *path, struct ap_component *c,
			 struct ap_err *err)
{
	const cJSON *v[I_COUNT];
	char p[PATH_BUF], q[QUOTE_BUF];
	const char *act;
	int rc;

	if (!j)
		return fail(err, path, "required field is missing");
	if ((rc = ap_jsonx_fields(&doc, j, path, install_fields, I_COUNT, v, err)))
		return rc;
	ap_jsonx_join(p, path, "action");
	if (!v[I_ACTION])
		return fail(err, p, "required field is missing");
	if (!cJSON_IsString(v[I_ACTION]) || !v[I_ACTION]->valuestring)
		return fail(err, p, "expected one of extract, copy, run, got %s",
			    ap_jsonx_type_name(v[I_ACTION]));
	act = v[I_ACTION]->valuestring;
	if (strcmp(act, "extract") == 0)
		c->action = AP_ACTION_EXTRACT;
	else if (strcmp(act, "copy") == 0)
		c->action = AP_ACTION_COPY;
	else if (strcmp(act, "run") == 0)
		c->action = AP_ACTION_RUN;
	else
		return fail(err, p, "expected one of extract, copy, run, got %s",
			    ap_jsonx_quote(act, q, sizeof(q)));

	ap_jsonx_join(p, path, "to");
	if ((rc = get_string(v[I_TO], p, false, &c->to, err)))
		return rc;
	if (c->action == AP_ACTION_EXTRACT && c->to && !*c->to) {
		free(c->to);
		c->to = NULL;
	}

	ap_jsonx_join(p, path, "mode");
	if (v[I_MODE] && c->action == AP_ACTION_EXTRACT)
		return fail(err, p, "only allowed with action \"copy\" or \"run\", got \"%s\"",
			    act);
	c->mode = c->action == AP_ACTION_RUN ? 0755 : c->action == AP_ACTION_COPY ? 0644 : 0;
	if (v[I_MODE] && (rc = parse_mode(v[I_MODE], p, &c->mode, err)))
		return rc;

	ap_jsonx_join(p, path, "expanded");
	if (v[I_EXPANDED] && c->action != AP_ACTION_EXTRACT)
		return fail(err, p, "only allowed with action \"extract\", got \"%s\"", act);
	if (v[I_EXPANDED] && (rc = parse_expanded(v[I_EXPANDED], p, c, err)))
		return rc;

	ap_jsonx_join(p, path, "args");
	if (v[I_ARGS] && c->action != AP_ACTION_RUN)
		return fail(err, p, "only allowed with action \"run\", got \"%s\"", act);
	if ((rc = get_strv(v[I_ARGS], p, &c->args, &c->n_args, err)))
		return rc;

	ap_jsonx_join(p, path, "service");
	if (v[I_SERVICE] && (rc = parse_service(v[I_SERVICE], p, c, err)))
		return rc;

	ap_jsonx_join(p, path, "reboot_exit_codes");
	if (v[I_REBOOT] && c->action != AP_ACTION_RUN)
		return fail(err, p, "only allowed with action \"run\", got \"%s\"", act);
	if (v[I_REBOOT] && (rc = parse_reboot_codes(v[I_REBOOT], p, c, err)))
		return rc;

	ap_jsonx_join(p, path, "ok_exit_codes");
	if (v[I_OK] && c->action != AP_ACTION_RUN)
		return fail(err, p, "only allowed with action \"run\", got \"%s\"", act);
	if (v[I_OK])
		return parse_ok_codes(v[I_OK], p, c, err);
	if (c->action == AP_ACTION_RUN) {
		c->ok_codes = calloc(1, sizeof(*c->ok_codes));
		if (!c->ok_codes)
			return ap_jsonx_nomem(&doc, err);
		c->n_ok_codes = 1;
	}
	return 0;
}

enum {
	C_NAME,
	C_FILE,
	C_ALIASES,
	C_URLS,
	C_SIZE,
	C_SHA256,
	C_VERSION,
	C_SUPPLIER,
	C_LICENSE,
	C_OPTIONAL,
	C_INSTALL,
	C_COUNT
};
static const char *const component_fields[C_COUNT] = { "name",	  "file",     "aliases", "urls",
						       "size",	  "sha256",   "version", "supplier",
						       "license", "optional", "install" };

static int parse_component(const cJSON *j, const char *path, struct ap_component *c,
			   struct ap_err *err)
{
	const cJSON *v[C_COUNT];
	char p[PATH_BUF];
	int rc;

	if ((rc = ap_jsonx_fields(&doc, j, path, component_fields, C_COUNT, v, err)))
		return rc;
	ap_jsonx_join(p, path, "name");
	if ((rc = get_string(v[C_NAME], p, true, &c->name, err)))
		return rc;
	ap_jsonx_join(p, path, "file");
	if ((rc = get_string(v[C_FILE], p, true, &c->file, err)))
		return rc;
	ap_jsonx_join(p, path, "aliases");
	if ((rc = get_strv(v[C_ALIASES], p, &c->aliases, &c->n_aliases, err)))
		return rc;
	ap_jsonx_join(p, path, "urls");
	if ((rc = get_strv(v[C_URLS], p, &c->urls, &c->n_urls, err)))
		return rc;
	if (v[C_SIZE]) {
		ap_jsonx_join(p, path, "size");
		if ((rc = parse_size(v[C_SIZE], p, &c->size, err)))
			return rc;
		c->has_size = true;
	}
	if (v[C_SHA256]) {
		ap_jsonx_join(p, path, "sha256");
		if ((rc = parse_sha256(v[C_SHA256], p, c->sha256, err)))
			return rc;
		c->has_sha256 = true;
	}
	ap_jsonx_join(p, path, "version");
	if ((rc = get_string(v[C_VERSION], p, false, &c->version, err)))
		return rc;
	ap_jsonx_join(p, path, "supplier");
	if ((rc = get_string(v[C_SUPPLIER], p, false, &c->supplier, err)))
		return rc;
	ap_jsonx_join(p, path, "license");
	if ((rc = get_string(v[C_LICENSE], p, false, &c->license, err)))
		return rc;
	if (v[C_OPTIONAL]) {
		ap_jsonx_join(p, path, "optional");
		if (!cJSON_IsBool(v[C_OPTIONAL]))
			return fail(err, p, "expected true or false");
		c->optional = cJSON_IsTrue(v[C_OPTIONAL]);
	}
	ap_jsonx_join(p, path, "install");
	return parse_install(v[C_INSTALL], p, c, err);
}

enum {
	G_PATH,
	G_TEMPLATE,
	G_MODE,
	G_COUNT
};
static const char *const config_fields[G_COUNT] = { "path", "template", "mode" };

static int parse_config(const cJSON *j, struct ap_manifest *m, struct ap_err *err)
{
	const cJSON *v[G_COUNT];
	int rc;

	if ((rc = ap_jsonx_fields(&doc, j, "config", config_fields, G_COUNT, v, err)))
		return rc;
	m->has_config = true;
	m->config.mode = 0600;
	if ((rc = get_string(v[G_PATH], "config.path", true, &m->config.path, err)))
		return rc;
	if ((rc = get_string(v[G_TEMPLATE], "config.template", false, &m->config.template, err)))
		return rc;
	if (v[G_MODE])
		return parse_mode(v[G_MODE], "config.mode", &m->config.mode, err);
	return 0;
}

enum {
	T_FORMAT,
	T_PRODUCT,
	T_VERSION,
	T_CHANNEL,
	T_PLATFORM,
	T_DESCRIPTION,
	T_PREFIX,
	T_KEY_ID,
	T_DATA_DIRS,
	T_CONFIG,
	T_COMPONENTS,
	T_SBOM,
	T_COUNT
};
static const char *const top_fields[T_COUNT] = { "format",  "product",	  "version",
						 "channel", "platform",	  "description",
						 "prefix",  "key_id",	  "data_dirs",
						 "config",  "components", "sbom" };

static int build(const cJSON *root, struct ap_manifest *m, struct ap_err *err)
{
	const cJSON *v[T_COUNT];
	char p[PATH_BUF];
	size_t n = 0;
	int rc;

	if ((rc = ap_jsonx_fields(&doc, root, "", top_fields, T_COUNT, v, err)))
		return rc;
	if ((rc = get_string(v[T_FORMAT], "format", true, &m->format, err)) ||
	    (rc = get_string(v[T_PRODUCT], "product", true, &m->product, err)) ||
	    (rc = get_string(v[T_VERSION], "version", true, &m->version, err)) ||
	    (rc = get_string(v[T_CHANNEL], "channel", false, &m->channel, err)) ||
	    (rc = get_string(v[T_PLATFORM], "platform", false, &m->platform, err)) ||
	    (rc = get_string(v[T_DESCRIPTION], "description", false, &m->description, err)) ||
	    (rc = get_string(v[T_PREFIX], "prefix", true, &m->prefix, err)) ||
	    (rc = get_string(v[T_KEY_ID], "key_id", false, &m->key_id, err)) ||
	    (rc = get_strv(v[T_DATA_DIRS], "data_dirs", &m->data_dirs, &m->n_data_dirs, err)))
		return rc;
	if (v[T_CONFIG] && (rc = parse_config(v[T_CONFIG], m, err)))
		return rc;
	if (v[T_SBOM]) {
		/* Kept as compact text: emitting it again through the canonical
		 * printer gives back the same bytes. */
		if (!cJSON_IsObject(v[T_SBOM]))
			return fail(err, "sbom", "expected an object, got %s",
				    ap_jsonx_type_name(v[T_SBOM]));
		m->sbom = cJSON_PrintUnformatted(v[T_SBOM]);
		if (!m->sbom)
			return ap_jsonx_nomem(&doc, err);
	}

	if (!v[T_COMPONENTS])
		return fail(err, "components", "required field is missing");
	if (!cJSON_IsArray(v[T_COMPONENTS]))
		return fail(err, "components", "expected a non-empty array, got %s",
			    ap_jsonx_type_name(v[T_COMPONENTS]));
	for (const cJSON *e = v[T_COMPONENTS]->child; e; e = e->next)
		n++;
	if (n == 0)
		return fail(err, "components", "expected a non-empty array");
	m->components = calloc(n, sizeof(*m->components));
	if (!m->components)
		return ap_jsonx_nomem(&doc, err);
	m->n_components = n;
	n = 0;
	for (const cJSON *e = v[T_COMPONENTS]->child; e; e = e->next, n++) {
		ap_jsonx_index(p, "components", n);
		if ((rc = parse_component(e, p, &m->components[n], err)))
			return rc;
	}
	return 0;
}

int ap_manifest_parse(const char *json, size_t len, enum ap_manifest_kind kind,
		      struct ap_manifest **out, struct ap_err *err)
{
	struct ap_manifest *m = NULL;
	cJSON *root = NULL;
	bool trailing;
	size_t off;
	int rc;

	if (!json || !out)
		return ap_err_set(err, AP_E_USAGE, "no manifest bytes to parse");
	off = 0;
	while (off < len &&
	       (json[off] == ' ' || json[off] == '\t' || json[off] == '\n' || json[off] == '\r'))
		off++;
	if (off == len)
		return fail(err, NULL, "expected a JSON object, got an empty document");
	if ((rc = check_text(json, len, err)))
		return rc;
	root = ap_jsonx_parse(json, len, &off, &trailing);
	if (!root)
		return text_error(err, json, len, off,
				  trailing ? "unexpected data after the JSON object"
					   : "not valid JSON");
	if (!cJSON_IsObject(root)) {
		rc = fail(err, NULL, "expected a JSON object at the top level, got %s",
			  ap_jsonx_type_name(root));
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = ap_jsonx_nomem(&doc, err);
		goto out;
	}
	rc = build(root, m, err);
	if (rc == 0)
		rc = ap_manifest_validate(m, kind, err);
	if (rc == 0) {
		*out = m;
		m = NULL;
	}
out:
	ap_manifest_free(m);
	cJSON_Delete(root);
	return rc;
}

/* ------------------------------------------------------------ JSON output */

static bool add_str(cJSON *obj, const char *key, const char *val)
{
	return !val || cJSON_AddStringToObject(obj, key, val) != NULL;
}

static bool add_strv(cJSON *obj, const char *key, char *const *v, size_t n)
{
	return n == 0 || ap_jsonx_add(obj, key, ap_jsonx_strings(v, n));
}

static bool add_mode(cJSON *obj, const char *key, unsigned mode)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04o", mode & 07777);
	return cJSON_AddStringToObject(obj, key, buf) != NULL;
}

static cJSON *component_json(const struct ap_component *c)
{
	cJSON *o = cJSON_CreateObject(), *inst;

	if (!o)
		return NULL;
	if (!add_str(o, "name", c->name) || !add_str(o, "file", c->file) ||
	    !add_strv(o, "aliases", c->aliases, c->n_aliases) ||
	    !add_strv(o, "urls", c->urls, c->n_urls))
		goto fail;
	if (c->has_size && !ap_jsonx_add(o, "size", ap_jsonx_u64(c->size)))
		goto fail;
	if (c->has_sha256 && !add_str(o, "sha256", c->sha256))
		goto fail;
	if (!add_str(o, "version", c->version) || !add_str(o, "supplier", c->supplier) ||
	    !add_str(o, "license", c->license))
		goto fail;
	if (c->optional && !ap_jsonx_add(o, "optional", cJSON_CreateTrue()))
		goto fail;
	inst = cJSON_AddObjectToObject(o, "install");
	if (!inst || !add_str(inst, "action", ap_manifest_action_name(c->action)))
		goto fail;
	if (c->to && *c->to && !add_str(inst, "to", c->to))
		goto fail;
	if (c->action == AP_ACTION_EXTRACT && c->has_expanded) {
		cJSON *x = cJSON_AddObjectToObject(inst, "expanded");

		if (!x || !ap_jsonx_add(x, "size", ap_jsonx_u64(c->expanded_size)) ||
		    !ap_jsonx_add(x, "files", ap_jsonx_u64(c->expanded_files)))
			goto fail;
	}
	if (c->service) {
		const struct ap_manifest_service *sv = c->service;
		cJSON *x = cJSON_AddObjectToObject(inst, "service");

		if (!x || !add_str(x, "name", sv->name) || !add_str(x, "program", sv->program) ||
		    !add_strv(x, "args", sv->args, sv->n_args) ||
		    !add_str(x, "description", sv->description))
			goto fail;
	}
	if (c->action == AP_ACTION_EXTRACT)
		return o;
	if (!add_mode(inst, "mode", c->mode))
		goto fail;
	if (c->action == AP_ACTION_RUN) {
		cJSON *codes;

		if (!add_strv(inst, "args", c->args, c->n_args))
			goto fail;
		codes = cJSON_CreateIntArray(c->ok_codes, (int)c->n_ok_codes);
		if (!ap_jsonx_add(inst, "ok_exit_codes", codes))
			goto fail;
		if (c->n_reboot_codes) {
			codes = cJSON_CreateIntArray(c->reboot_codes, (int)c->n_reboot_codes);
			if (!ap_jsonx_add(inst, "reboot_exit_codes", codes))
				goto fail;
		}
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *manifest_json(const struct ap_manifest *m)
{
	cJSON *o = cJSON_CreateObject(), *arr;

	if (!o)
		return NULL;
	if (!add_str(o, "format", m->format) || !add_str(o, "product", m->product) ||
	    !add_str(o, "version", m->version) || !add_str(o, "channel", m->channel) ||
	    !add_str(o, "platform", m->platform) || !add_str(o, "description", m->description) ||
	    !add_str(o, "prefix", m->prefix) || !add_str(o, "key_id", m->key_id) ||
	    !add_strv(o, "data_dirs", m->data_dirs, m->n_data_dirs))
		goto fail;
	if (m->has_config) {
		cJSON *cfg = cJSON_AddObjectToObject(o, "config");
		if (!cfg || !add_str(cfg, "path", m->config.path) ||
		    !add_str(cfg, "template", m->config.template) ||
		    !add_mode(cfg, "mode", m->config.mode))
			goto fail;
	}
	arr = cJSON_AddArrayToObject(o, "components");
	if (!arr)
		goto fail;
	for (size_t i = 0; i < m->n_components; i++)
		if (!ap_jsonx_push(arr, component_json(&m->components[i])))
			goto fail;
	if (m->sbom && !ap_jsonx_add(o, "sbom", cJSON_Parse(m->sbom)))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

int ap_manifest_emit(const struct ap_manifest *m, char **json, size_t *len, struct ap_err *err)
{
	cJSON *root;
	char *buf;
	size_t n;
	int rc;

	if (!json)
		return ap_err_set(err, AP_E_USAGE, "no place to put the emitted manifest");
	rc = ap_manifest_validate(m, AP_MANIFEST_SOURCE, err);
	if (rc) {
		ap_err_prefix(err, "refusing to emit an invalid manifest");
		return rc;
	}
	root = manifest_json(m);
	if (!root)
		return ap_jsonx_nomem(&doc, err);
	rc = ap_jsonx_print(&doc, root, &buf, &n, err);
	cJSON_Delete(root);
	if (rc)
		return rc;
	*json = buf;
	if (len)
		*len = n;
	return 0;
}
