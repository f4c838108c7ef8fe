/* cmd_root.c - airpack root: create, rotate, sign and show roots of trust
 * (airpack-root.json, docs/trust.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack.h"
#include "airpack/fsx.h"
#include "airpack/root.h"
#include "airpack/sign.h"
#include "airpack/str.h"
#include "airpack/ui.h"
#include "airpack/banned.h"

#define DEFAULT_ROOT_DAYS 365
#define MAX_EDITS 64

enum {
	OPT_EXPIRES = 3000,
	OPT_EXPIRES_IN,
	OPT_FLOOR,
	OPT_THRESHOLD,
	OPT_ADD_KEY,
	OPT_REMOVE_KEY,
	OPT_ROOT_KEY,
	OPT_RELEASE_KEY,
	OPT_INDEX_KEY,
	OPT_KEY,
	OPT_FORCE,
	OPT_JSON,
	OPT_OUTPUT,
	OPT_HELP
};

struct edit {
	int opt;
	const char *arg;
};

struct root_opts {
	const char *output;
	const char *key;
	const char *expires;
	const char *expires_in;
	bool force, json;
	struct edit edits[MAX_EDITS];
	size_t n_edits;
};

/* "ROLE=VALUE": the role, and *value pointing after '='. */
static int split_role(const char *opt, const char *arg, const char **value, struct ap_err *err)
{
	const char *eq = strchr(arg, '=');
	char role[16];
	int r;

	if (!eq || (size_t)(eq - arg) >= sizeof(role))
		return ap_err_set(err, AP_E_USAGE,
				  "%s '%s': expected ROLE=VALUE with ROLE root, release or index",
				  opt, arg);
	memcpy(role, arg, (size_t)(eq - arg));
	role[eq - arg] = '\0';
	r = ap_root_role_parse(role);
	if (r < 0)
		return ap_err_set(err, AP_E_USAGE,
				  "%s '%s': unknown role '%s' (root, release or index)", opt, arg,
				  role);
	*value = eq + 1;
	return r;
}

static int add_key_file(struct ap_root *r, int role, const char *path, struct ap_err *err)
{
	struct ap_sign_key *k = NULL;
	int rc;

	rc = ap_sign_key_load_public(path, &k, err);
	if (rc == 0)
		rc = ap_root_add_key(r, (enum ap_role)role, k, err);
	ap_sign_key_free(k);
	return rc;
}

static int apply_edits(struct ap_root *r, const struct root_opts *o, struct ap_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < o->n_edits && rc >= 0; i++) {
		const struct edit *e = &o->edits[i];
		const char *v = NULL;
		char *end = NULL, *prod;
		const char *eq;
		long long n;
		int role;

		switch (e->opt) {
		case OPT_ROOT_KEY:
			rc = add_key_file(r, AP_ROLE_ROOT, e->arg, err);
			break;
		case OPT_RELEASE_KEY:
			rc = add_key_file(r, AP_ROLE_RELEASE, e->arg, err);
			break;
		case OPT_INDEX_KEY:
			rc = add_key_file(r, AP_ROLE_INDEX, e->arg, err);
			break;
		case OPT_ADD_KEY:
			role = rc = split_role("--add-key", e->arg, &v, err);
			if (rc >= 0)
				rc = add_key_file(r, role, v, err);
			break;
		case OPT_REMOVE_KEY:
			role = rc = split_role("--remove-key", e->arg, &v, err);
			if (rc >= 0)
				rc = ap_root_remove_key(r, (enum ap_role)role, v, err);
			break;
		case OPT_THRESHOLD:
			role = rc = split_role("--threshold", e->arg, &v, err);
			if (rc < 0)
				break;
			n = strtoll(v, &end, 10);
			if (!*v || *end || n < 1 || n > AP_ROOT_MAX_KEYS) {
				rc = ap_err_set(err, AP_E_USAGE,
						"--threshold '%s': expected ROLE=N with N from 1 "
						"to %d",
						e->arg, AP_ROOT_MAX_KEYS);
				break;
			}
			r->roles[role].threshold = n;
			break;
		case OPT_FLOOR:
			eq = strchr(e->arg, '=');
			if (!eq) {
				rc = ap_err_set(err, AP_E_USAGE,
						"--floor '%s': expected PRODUCT=VERSION", e->arg);
				break;
			}
			prod = ap_strndup(e->arg, (size_t)(eq - e->arg));
			rc = prod ? ap_root_set_floor(r, prod, eq + 1, err)
				  : ap_err_set(err, AP_E_NOMEM, "out of memory");
			free(prod);
			break;
		}
	}
	/* A role left without a threshold takes 1. */
	for (int i = 0; i < AP_ROLE_N; i++)
		if (r->roles[i].threshold == 0)
			r->roles[i].threshold = 1;
	return rc < 0 ? rc : 0;
}

static int set_expiry(struct ap_root *r, const struct root_opts *o, struct ap_err *err)
{
	char *end = NULL;
	long long days;

	if (o->expires) {
		if (ap_root_time_parse(o->expires, &r->expires) < 0)
			return ap_err_set(err, AP_E_USAGE,
					  "--expires '%s': expected a UTC time like "
					  "2027-01-31T00:00:00Z",
					  o->expires);
		return 0;
	}
	days = DEFAULT_ROOT_DAYS;
	if (o->expires_in) {
		days = strtoll(o->expires_in, &end, 10);
		if (!*o->expires_in || *end || days < 0 || days > 36600)
			return ap_err_set(err, AP_E_USAGE,
					  "--expires-in '%s': expected a number of days",
					  o->expires_in);
	}
	r->expires = ap_fsx_now() + (int64_t)days * 86400;
	return 0;
}

static int write_root(const struct ap_root *r, const struct root_opts *o, struct ap_err *err)
{
	char *json = NULL;
	size_t len = 0;
	struct ap_stat st;
	int rc;

	rc = ap_root_emit(r, &json, &len, err);
	if (rc == 0 && !o->force) {
		rc = ap_fsx_stat(o->output, &st, err);
		if (rc == 0 && st.type != AP_FT_NONE)
			rc = ap_err_set(err, AP_E_EXISTS, "'%s' exists: use --force to overwrite",
					o->output);
	}
	if (rc == 0)
		rc = ap_fsx_write_atomic(o->output, json, len, 0644, err);
	free(json);
	return rc;
}

static int load_root(const char *path, struct ap_root **r, char **json, size_t *len,
		     struct ap_err *err)
{
	int rc = ap_fsx_read_file(path, AP_ROOT_MAX, json, len, err);

	if (rc == 0)
		rc = ap_root_parse(*json, *len, r, err);
	if (rc < 0)
		ap_err_prefix(err, "root '%s'", path);
	return rc;
}

static void print_written(const struct ap_root *r, const struct root_opts *o)
{
	char t[AP_TIME_LEN];

	ap_root_time_format(r->expires, t);
	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "root", o->output);
		ap_json_int(&j, "version", r->version);
		ap_json_str(&j, "expires", t);
		ap_json_bool(&j, "signed", false);
		ap_json_end(&j);
		return;
	}
	printf("wrote root version %lld to %s (expires %s); sign it: airpack root sign %s "
	       "--key KEY.pem\n",
	       (long long)r->version, o->output, t, o->output);
}

/* A new root's edits, expiry and file, then the line that says so (init
 * and rotate). */
static int edit_and_write(struct ap_root *r, const struct root_opts *o, struct ap_err *err)
{
	int rc = apply_edits(r, o, err);

	if (rc == 0)
		rc = set_expiry(r, o, err);
	if (rc == 0)
		rc = write_root(r, o, err);
	if (rc == 0)
		print_written(r, o);
	return rc;
}

static int do_init(const struct root_opts *o, struct ap_err *err)
{
	struct ap_root *r = ap_root_new();
	int rc;

	if (!r)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = edit_and_write(r, o, err);
	ap_root_free(r);
	return rc;
}

static int do_rotate(const char *from, const struct root_opts *o, struct ap_err *err)
{
	struct ap_root *r = NULL;
	char *json = NULL;
	size_t len = 0;
	int rc;

	rc = load_root(from, &r, &json, &len, err);
	if (rc == 0) {
		r->version++;
		rc = edit_and_write(r, o, err);
	}
	ap_root_free(r);
	free(json);
	return rc;
}

static int do_sign(const char *file, const struct root_opts *o, struct ap_err *err)
{
	struct ap_sigset s = AP_SIGSET_INIT;
	struct ap_sign_key *key = NULL;
	unsigned char *sig = NULL;
	char *msg = NULL, *out = NULL;
	size_t len = 0, slen = 0;
	char id[AP_KEY_ID_LEN], suffix[AP_KEY_ID_LEN + 8];
	int rc;

	rc = ap_sign_key_load_private(o->key, &key, err);
	if (rc == 0)
		rc = ap_sign_key_check_signing(key, o->key, err);
	/* The largest metadata any reader accepts: a manifest. */
	if (rc == 0)
		rc = ap_fsx_read_file(file, 16u << 20, &msg, &len, err);
	if (rc == 0)
		rc = ap_sign(key, msg, len, &sig, &slen, err);
	if (rc < 0)
		goto out;
	ap_sign_key_id(key, id);
	rc = ap_root_sigset_add(&s, id, sig, slen, err);
	if (rc == 0)
		rc = ap_root_sigset_write(&s, file, err);
	if (rc < 0)
		goto out;
	snprintf(suffix, sizeof(suffix), ".sig.%s", id);
	out = ap_strcat2(file, suffix);
	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "file", file);
		ap_json_str(&j, "signature", out);
		ap_json_str(&j, "key_id", id);
		ap_json_end(&j);
	} else {
		printf("signed %s with key %s: %s\n", file, id, out ? out : "");
	}
out:
	free(out);
	free(msg);
	free(sig);
	ap_root_sigset_release(&s);
	ap_sign_key_free(key);
	return rc;
}

static int do_show(const char *file, const struct root_opts *o, struct ap_err *err)
{
	struct ap_sigset s = AP_SIGSET_INIT;
	struct ap_root *r = NULL;
	char *json = NULL, *dir = NULL;
	size_t len = 0, n_ok = 0;
	char t[AP_TIME_LEN];
	bool self_ok;
	int rc;

	rc = load_root(file, &r, &json, &len, err);
	if (rc == 0) {
		dir = ap_fsx_path_dirname(file);
		rc = dir ? ap_root_sigset_load(dir, ap_fsx_path_basename(file), &s, err)
			 : ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	if (rc < 0)
		goto out;
	{
		struct ap_err e2 = AP_ERR_INIT;

		self_ok = ap_root_verify(r, AP_ROLE_ROOT, "root", json, len, &s, NULL, &n_ok,
					 &e2) == 0;
	}
	ap_root_time_format(r->expires, t);
	if (o->json) {
		struct ap_json j;

		ap_json_begin(&j, stdout);
		ap_json_str(&j, "root", file);
		ap_json_int(&j, "version", r->version);
		ap_json_str(&j, "expires", t);
		ap_json_bool(&j, "expired", r->expires <= ap_fsx_now());
		ap_json_u64(&j, "signatures", s.n);
		ap_json_u64(&j, "root_keys_signed", n_ok);
		ap_json_bool(&j, "self_signed", self_ok);
		ap_json_arr_begin(&j, "roles");
		for (int i = 0; i < AP_ROLE_N; i++) {
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "role", ap_root_role_name((enum ap_role)i));
			ap_json_int(&j, "threshold", r->roles[i].threshold);
			ap_json_arr_begin(&j, "keys");
			for (size_t k = 0; k < r->roles[i].n_keys; k++)
				ap_json_arr_str(&j, r->keys[r->roles[i].keys[k]].id);
			ap_json_arr_end(&j);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		ap_json_arr_begin(&j, "floors");
		for (size_t i = 0; i < r->n_floors; i++) {
			ap_json_arr_item_begin(&j);
			ap_json_str(&j, "product", r->floors[i].product);
			ap_json_str(&j, "min_version", r->floors[i].min_version);
			ap_json_arr_item_end(&j);
		}
		ap_json_arr_end(&j);
		ap_json_end(&j);
		goto out;
	}
	printf("root %s: version %lld, expires %s%s\n", file, (long long)r->version, t,
	       r->expires <= ap_fsx_now() ? " (EXPIRED)" : "");
	for (int i = 0; i < AP_ROLE_N; i++) {
		printf("  %-8s threshold %lld of", ap_root_role_name((enum ap_role)i),
		       (long long)r->roles[i].threshold);
		for (size_t k = 0; k < r->roles[i].n_keys; k++)
			printf(" %s", r->keys[r->roles[i].keys[k]].id);
		printf("\n");
	}
	for (size_t i = 0; i < r->n_floors; i++)
		printf("  floor    %s >= %s\n", r->floors[i].product, r->floors[i].min_version);
	printf("  signed by %zu of its root keys (threshold %lld): %s\n", n_ok,
	       (long long)r->roles[AP_ROLE_ROOT].threshold,
	       self_ok ? "ok" : "NOT ENOUGH (a device refuses it)");
out:
	free(dir);
	free(json);
	ap_root_sigset_release(&s);
	ap_root_free(r);
	return rc;
}

/* Option parsing and dispatch of the root subcommands only: long, and clearer flat. */
int cmd_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "root-key", required_argument, NULL, OPT_ROOT_KEY },
		{ "release-key", required_argument, NULL, OPT_RELEASE_KEY },
		{ "index-key", required_argument, NULL, OPT_INDEX_KEY },
		{ "add-key", required_argument, NULL, OPT_ADD_KEY },
		{ "remove-key", required_argument, NULL, OPT_REMOVE_KEY },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "floor", required_argument, NULL, OPT_FLOOR },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "expires-in", required_argument, NULL, OPT_EXPIRES_IN },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct ap_err err = AP_ERR_INIT;
	struct root_opts o;
	const char *sub, *arg = NULL;
	int c, rc;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return argc < 2 ? (print_usage("root"), 2) : print_usage("root");
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "o:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case OPT_OUTPUT:
			o.output = optarg;
			break;
		case 'k':
		case OPT_KEY:
			o.key = optarg;
			break;
		case OPT_EXPIRES:
			o.expires = optarg;
			break;
		case OPT_EXPIRES_IN:
			o.expires_in = optarg;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
		case OPT_HELP:
			return print_usage("root");
		case OPT_ROOT_KEY:
		case OPT_RELEASE_KEY:
		case OPT_INDEX_KEY:
		case OPT_ADD_KEY:
		case OPT_REMOVE_KEY:
		case OPT_THRESHOLD:
		case OPT_FLOOR:
			if (o.n_edits >= MAX_EDITS)
				return usage_error("root",
						   "more than %d key, threshold and floor "
						   "options",
						   MAX_EDITS);
			o.edits[o.n_edits].opt = c;
			o.edits[o.n_edits++].arg = optarg;
			break;
		default:
			return usage_error("root", "bad option");
		}
	}
	if (optind + 1 < argc - 1)
		return usage_error("root", "unexpected argument '%s'", argv[optind + 2]);
	if (optind < argc - 1)
		arg = argv[optind + 1];
	/* Conflicts first, before any work. */
	if (o.expires && o.expires_in)
		return usage_error("root", "give --expires or --expires-in, not both");
	if (strcmp(sub, "init") == 0 || strcmp(sub, "rotate") == 0) {
		bool init = sub[0] == 'i';

		if (!o.output)
			return usage_error("root", "%s needs -o FILE", sub);
		if (init && arg)
			return usage_error("root", "init takes no FILE: it starts a new chain");
		if (!init && !arg)
			return usage_error("root", "rotate needs the current root: airpack root "
						   "rotate OLD.json -o NEW.json");
		if (o.key)
			return usage_error("root",
					   "%s writes an unsigned root: sign it with "
					   "'airpack root sign FILE --key KEY'",
					   sub);
		rc = init ? do_init(&o, &err) : do_rotate(arg, &o, &err);
	} else if (strcmp(sub, "sign") == 0) {
		if (!arg || !o.key)
			return usage_error("root", "sign needs FILE and --key KEY.pem");
		if (o.output || o.n_edits || o.expires || o.expires_in)
			return usage_error("root", "sign takes only FILE, --key and --json");
		rc = do_sign(arg, &o, &err);
	} else if (strcmp(sub, "show") == 0) {
		if (!arg)
			return usage_error("root", "show needs FILE");
		if (o.output || o.key || o.n_edits || o.expires || o.expires_in)
			return usage_error("root", "show takes only FILE and --json");
		rc = do_show(arg, &o, &err);
	} else {
		return usage_error("root", "unknown subcommand '%s' (init, rotate, sign, show)",
				   sub);
	}
	return rc < 0 ? die_err(&err) : 0;
}
