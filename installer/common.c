/* common.c - release sources, trust and planning shared by the commands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_config.h"
#include "setup.h"
#include "airpack/oci.h"
#include "events.h"
#include "airpack/fsx.h"
#include "airpack/sfx.h"
#include "airpack/ui.h"
#include "airpack/process.h"
#include "airpack/root.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/banned.h"

const char setup_source_help[] =
	"Where the release comes from (one of; a setup uses itself by default):\n"
	"      --bundle FILE       a bundle (or a self-extracting setup)\n"
	"      --from DIR          an offline folder: manifest.json, .sig and payloads\n"
	"      --manifest FILE     a release manifest with FILE.sig beside it\n"
	"Trust:\n"
	"      --trust KEY|DIR     trusted public key(s) (default: " AP_TRUST_DIR ")\n"
	"      --trust-key-id FPR  trust the key embedded in this setup if its full\n"
	"                          fingerprint (64 hex, from 'airpack inspect') is FPR\n"
	"      --insecure          go on even when the signature does not verify\n"
	"      --roots DIR         newer roots of trust (N.root.json and signatures)\n"
	"                          to rotate to; an offline folder's roots/ and a\n"
	"                          mirror's roots/ are read too (docs/trust.md)\n"
	"      --expired-ok        offline: install although the root or index has\n"
	"                          expired (recorded in the receipt and history)\n"
	"      --at-time T         offline: judge expiries as of T (UTC, e.g.\n"
	"                          2026-12-01T00:00:00Z), recorded likewise\n"
	"Payloads:\n"
	"      --offline-dir DIR   also look here for payloads (repeatable; the\n"
	"                          release's own folder is always searched first)\n"
	"      --mirror URL        download missing payloads from URL/FILE (repeatable)\n"
	"      --version V|latest  with --mirror: URL is a mirror tree; install exactly\n"
	"                          V (or the newest) as its signed index lists it, with\n"
	"                          payloads from URL/V/; V is pinned in the receipt\n"
	"      --channel C         with --version latest: the newest release of C\n"
	"      --cache DIR         keep verified downloads here, and take payloads from\n"
	"                          it by size and sha256 (default: ROOT/" AP_STATE_CACHE_BASE "/\n"
	"                          PRODUCT; never an offline folder)\n"
	"      --offline           never use the network\n"
	"      --proxy URL         HTTP(S) proxy (default: the usual environment vars)\n"
	"      --cacert FILE       extra CA certificates for HTTPS\n"
	"      --parallel N        download up to N files at once, each on its own\n"
	"                          connection (1-64, default 4; plan downloads\n"
	"                          nothing and accepts it)\n"
	"OCI registries (--mirror oci://HOST[:PORT]/REPO with --version V|latest):\n"
	"      --registry-auth FILE  registry credentials, docker config.json style\n"
	"                          (default ~/.docker/config.json when it exists)\n"
	"      --insecure-registry plain HTTP to the registry, no TLS (a lab network)\n"
	"      --from oci://...    the same as --mirror oci://...\n";

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "airpack-setup: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void setup_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void setup_note(const struct setup_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet || o->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int setup_die(const struct ap_err *err)
{
	return ap_ui_die("airpack-setup", err);
}

int setup_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ap_ui_usage_error("airpack-setup", cmd, fmt, ap);
	va_end(ap);
	return rc;
}

static int add_list(const char **list, size_t *n, const char *cmd, const char *opt, const char *arg)
{
	if (*n >= MAX_LIST) {
		setup_usage_error(cmd, "%s given more than %d times", opt, MAX_LIST);
		return -1;
	}
	list[(*n)++] = arg;
	return 1;
}

/* The shared option switch: one flat case per option. */
int setup_opt(struct setup_opts *o, const char *cmd, int id, const char *arg)
{
	switch (id) {
	case OPT_BUNDLE:
		o->bundle = arg;
		return 1;
	case OPT_FROM:
		/* --from oci://... reads like --from USB: the registry is where
		 * the release comes from (as --mirror oci://..., with --version) */
		if (setup_mirror_is_oci(arg))
			return add_list(o->mirrors, &o->n_mirrors, cmd, "--from", arg);
		o->from = arg;
		return 1;
	case OPT_MANIFEST:
		o->manifest = arg;
		return 1;
	case OPT_TRUST:
		o->trust = arg;
		return 1;
	case OPT_TRUST_KEY_ID:
		o->trust_key_id = arg;
		return 1;
	case OPT_INSECURE:
		o->insecure = true;
		return 1;
	case OPT_ROOTS:
		o->roots = arg;
		return 1;
	case OPT_EXPIRED_OK:
		o->expired_ok = true;
		return 1;
	case OPT_AT_TIME:
		if (ap_root_time_parse(arg, &o->at_time) < 0 || o->at_time == 0) {
			setup_usage_error(cmd,
					  "--at-time: expected a UTC time like "
					  "2026-12-01T00:00:00Z, got '%s'",
					  arg);
			return -1;
		}
		return 1;
	case OPT_OFFLINE_DIR:
		return add_list(o->offline_dirs, &o->n_offline_dirs, cmd, "--offline-dir", arg);
	case OPT_MIRROR:
		if (!ap_fetch_url_ok(arg) && !setup_mirror_is_oci(arg)) {
			setup_usage_error(cmd,
					  "--mirror: expected an http://, https://, oci:// or "
					  "file:// URL, got '%s'",
					  arg);
			return -1;
		}
		return add_list(o->mirrors, &o->n_mirrors, cmd, "--mirror", arg);
	case OPT_VERSION:
		o->version = arg;
		return 1;
	case OPT_CHANNEL:
		o->channel = arg;
		return 1;
	case OPT_CACHE:
		o->cache = arg;
		return 1;
	case OPT_OFFLINE:
		o->offline = true;
		return 1;
	case OPT_PROXY:
		o->proxy = arg;
		return 1;
	case OPT_CACERT:
		o->cacert = arg;
		return 1;
	case OPT_PARALLEL: {
		char *end = NULL;
		long v;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno != 0 || !end || end == arg || *end != '\0' || v < 1 ||
		    v > AP_FETCH_PARALLEL_MAX) {
			setup_usage_error(cmd,
					  "--parallel: expected a number of files from 1 to %d, "
					  "got '%s'",
					  AP_FETCH_PARALLEL_MAX, arg);
			return -1;
		}
		o->parallel = (int)v;
		return 1;
	}
	case OPT_REGISTRY_AUTH:
		o->registry_auth = arg;
		return 1;
	case OPT_INSECURE_REGISTRY:
		o->insecure_registry = true;
		return 1;
	case OPT_ROOT:
		o->root = arg;
		return 1;
	case OPT_JSON:
		o->json = true;
		/* Standard output carries only JSON: run actions write to stderr. */
		ap_process_stdout_to_stderr(true);
		return 1;
	case OPT_QUIET:
	case 'q':
		o->quiet = true;
		return 1;
	case OPT_PRODUCT:
		o->product = arg;
		return 1;
	case OPT_VERBOSE:
	case 'v':
		o->verbose = true;
		return 1;
	case OPT_PURGE:
		o->purge = true;
		return 1;
	case OPT_NO_RUN:
		o->no_run = true;
		return 1;
	case OPT_RUN_IN_ROOT:
		o->run_in_root = true;
		return 1;
	case OPT_RUN_ON_HOST:
		o->run_on_host = true;
		return 1;
	case OPT_ALLOW_DOWNGRADE:
		o->allow_downgrade = true;
		return 1;
	case OPT_FORCE_PLATFORM:
		o->force_platform = true;
		return 1;
	}
	return 0;
}

int setup_parse(struct setup_opts *o, const char *cmd, int argc, char **argv, const char *shortopts,
		const struct option *opts, setup_own_opt_fn own, void *ctx)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == OPT_HELP)
			return setup_print_usage(cmd);
		rc = own ? own(ctx, c, optarg) : 0;
		if (rc == 0)
			rc = setup_opt(o, cmd, c, optarg);
		if (rc < 0)
			return 2;
		if (rc == 0)
			return setup_usage_error(cmd, "bad option");
	}
	if (optind < argc)
		return setup_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

const char *setup_root(const struct setup_opts *o)
{
	return o->root ? o->root : ap_fsx_default_root();
}

bool setup_is_sfx(char **self_path)
{
	struct ap_sfx_info info;
	struct ap_err err = AP_ERR_INIT;
	char *self = NULL;
	int rc;

	if (ap_fsx_self_exe(&self, NULL) != 0)
		return false;
	rc = ap_sfx_probe(self, &info, &err);
	/* A damaged setup is still a setup: opening it reports the damage. */
	if (rc == 0 || rc == AP_E_TRUNCATED) {
		*self_path = self;
		return true;
	}
	free(self);
	return false;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ap_str_hex_digit(s[i]) < 0)
			return false;
	return true;
}

/* given (hex, any case) equals the first n digits of hex want */
static bool hex_eq(const char *given, const char *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ap_str_hex_digit(given[i]) != ap_str_hex_digit(want[i]))
			return false;
	return true;
}

/* --trust-key-id VALUE against the setup's embedded key k.  Only the full
 * SHA-256 fingerprint (64 hex) trusts it: a 16-hex key id still names the
 * key, but 64 bits are too few to decide trust on (docs/threat-model.md). */
static int trust_key_id_check(const struct ap_sign_key *k, const char *given, struct ap_err *err)
{
	char id[AP_KEY_ID_LEN], fpr[AP_KEY_FPR_LEN];
	size_t n = strlen(given);

	ap_sign_key_id(k, id);
	ap_sign_key_fingerprint(k, fpr);
	if (n == AP_KEY_FPR_LEN - 1 && all_hex(given, n)) {
		if (hex_eq(given, fpr, n))
			return 0;
		return ap_err_set(
			err, AP_E_UNTRUSTED,
			"the setup's embedded key has fingerprint %s, not %s as given with "
			"--trust-key-id: refusing it",
			fpr, given);
	}
	if (n == AP_KEY_ID_LEN - 1 && all_hex(given, n)) {
		if (!hex_eq(given, id, n))
			return ap_err_set(
				err, AP_E_UNTRUSTED,
				"the setup's embedded key has id %s, not %s as given with "
				"--trust-key-id: refusing it",
				id, given);
		return ap_err_set(
			err, AP_E_UNTRUSTED,
			"--trust-key-id %s: a 16-digit key id is too short to trust a key "
			"on (another key with the same id can be made); compare the full "
			"fingerprint of the setup's key, %s, with the one published with the "
			"release and pass that",
			given, fpr);
	}
	return ap_err_set(
		err, AP_E_USAGE,
		"--trust-key-id '%s': expected the signer key's fingerprint, 64 hex digits "
		"(the setup's key has %s)",
		given, fpr);
}

/* Trust: --trust, else the build's trust folder (when it exists and holds
 * keys), plus the setup's own key when --trust-key-id names it.  *out may
 * be NULL on success: nothing is trusted. */
/* The trust sources in their documented precedence (--trust, trust folder, --trust-key-id), one
 * flat path. */
int setup_load_trust(struct setup_opts *o, const struct ap_release *r, struct ap_sign_trust **out,
		     struct ap_err *err)
{
	struct ap_sign_trust *t = NULL;
	struct ap_sign_key *k = NULL;
	int rc;

	{
		/* A root of trust: its keys, for the commands that list
		 * (versions); installs count thresholds instead. */
		struct ap_freshness_root tmp;
		struct ap_err e2 = AP_ERR_INIT;
		const struct ap_root *rt = o->fresh.root;
		const char *path = o->trust;

		memset(&tmp, 0, sizeof(tmp));
		if (!path && (ap_fsx_is_dir(AP_TRUST_DIR) || ap_fsx_is_file(AP_TRUST_DIR)))
			path = AP_TRUST_DIR;
		if (!rt && ap_freshness_load(setup_root(o), path, &tmp, &e2) == 0)
			rt = tmp.root;
		if (rt && rt->version >= 1) {
			t = ap_sign_trust_new();
			rc = t ? 0 : ap_err_set(err, AP_E_NOMEM, "out of memory");
			for (size_t i = 0; rc == 0 && i < rt->n_keys; i++) {
				struct ap_sign_key *rk = NULL;

				rc = ap_sign_key_load_public_mem(rt->keys[i].pem,
								 strlen(rt->keys[i].pem), &rk, err);
				if (rc == 0)
					rc = ap_sign_trust_add(t, rk, err);
			}
			ap_freshness_root_release(&tmp);
			if (rc)
				goto fail;
			goto embedded;
		}
		ap_freshness_root_release(&tmp);
	}
	if (o->trust) {
		rc = ap_sign_trust_load(o->trust, &t, err);
		if (rc)
			return rc;
	} else if (ap_fsx_is_dir(AP_TRUST_DIR) || ap_fsx_is_file(AP_TRUST_DIR)) {
		rc = ap_sign_trust_load(AP_TRUST_DIR, &t, err);
		if (rc && rc != AP_E_NOTFOUND)
			return rc;
		ap_err_clear(err);
	}
embedded:
	if (o->trust_key_id) {
		if (!r || !r->embedded_pub) {
			rc = ap_err_set(err, AP_E_USAGE,
					"--trust-key-id works only in a self-extracting setup "
					"that carries its signer's key (run ./setup, or give the "
					"key with --trust KEY)");
			goto fail;
		}
		rc = ap_sign_key_load_public_mem(r->embedded_pub, r->embedded_pub_len, &k, err);
		if (rc)
			goto fail;
		rc = trust_key_id_check(k, o->trust_key_id, err);
		if (rc)
			goto fail;
		if (!t)
			t = ap_sign_trust_new();
		if (!t) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
			goto fail;
		}
		rc = ap_sign_trust_add(t, k, err);
		k = NULL;
		if (rc)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	ap_sign_key_free(k);
	ap_sign_trust_free(t);
	return rc;
}

bool setup_rooted(const struct setup_opts *o)
{
	return o->fresh.root && o->fresh.root->version >= 1;
}

const struct ap_freshness_claim *setup_claim(struct setup_opts *o)
{
	o->claim.root = o->fresh.root ? &o->fresh : NULL;
	o->claim.index_version = o->index_version;
	o->claim.floor = o->floor[0] ? o->floor : NULL;
	o->claim.note = o->note[0] ? o->note : NULL;
	return &o->claim;
}

void setup_fresh_release(struct setup_opts *o)
{
	ap_freshness_root_release(&o->fresh);
}

int setup_expiry(struct setup_opts *o, int64_t expires, bool online, const char *what,
		 struct ap_err *err)
{
	struct ap_freshness_policy p = { online, o->expired_ok, o->at_time };

	if (online && o->expired_ok && expires && expires <= ap_fsx_now())
		setup_warn("--expired-ok applies offline only: %s comes over the network", what);
	return ap_freshness_expiry(expires, what, &p, o->note, sizeof(o->note), err);
}

/* The signed floor: the higher of the root's and (later) the index's. */
static void raise_floor(struct setup_opts *o, const char *v)
{
	if (v && (!o->floor[0] || ap_manifest_version_cmp(v, o->floor) > 0))
		snprintf(o->floor, sizeof(o->floor), "%s", v);
}

int setup_load_root(struct setup_opts *o, const struct ap_release *r, struct ap_err *err)
{
	const char *trust = o->trust;
	char *dir = NULL;
	int rc;

	if (o->fresh.root)
		goto walk;
	if (!trust && (ap_fsx_is_dir(AP_TRUST_DIR) || ap_fsx_is_file(AP_TRUST_DIR)))
		trust = AP_TRUST_DIR;
	rc = ap_freshness_load(setup_root(o), trust, &o->fresh, err);
	if (rc == AP_E_NOTFOUND) {
		ap_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
walk:
	if (o->roots) {
		if (!ap_fsx_is_dir(o->roots))
			return ap_err_set(err, AP_E_NOTFOUND, "--roots: '%s' is not a folder",
					  o->roots);
		rc = ap_freshness_walk(&o->fresh, ap_freshness_get_dir, (void *)o->roots, err);
		if (rc) {
			ap_err_prefix(err, "--roots '%s'", o->roots);
			return rc;
		}
	}
	if (r && r->dir) {
		dir = ap_fsx_path_join(r->dir, "roots");
		if (!dir)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
		rc = ap_fsx_is_dir(dir)
			     ? ap_freshness_walk(&o->fresh, ap_freshness_get_dir, dir, err)
			     : 0;
		if (rc)
			ap_err_prefix(err, "'%s'", dir);
		free(dir);
		if (rc)
			return rc;
	}
	raise_floor(o, r ? ap_root_floor(o->fresh.root, r->manifest->product) : NULL);
	return 0;
}

/* Offline: the root's own expiry (a bare key never expires). */
static int check_root_expiry(struct setup_opts *o, bool online, struct ap_err *err)
{
	char what[64];

	if (!setup_rooted(o))
		return 0;
	snprintf(what, sizeof(what), "the root of trust (version %lld)",
		 (long long)o->fresh.root->version);
	return setup_expiry(o, o->fresh.root->expires, online, what, err);
}

/* Options that cannot go together, refused before any work. */
static int check_release_args(const struct setup_opts *o, int n, struct ap_err *err)
{
	if (n > 1)
		return ap_err_set(err, AP_E_USAGE,
				  "give only one of --bundle, --from and --manifest");
	if (o->channel && !o->version)
		return ap_err_set(err, AP_E_USAGE,
				  "--channel %s needs --version: --version latest --channel %s "
				  "installs the newest release of that channel",
				  o->channel, o->channel);
	for (size_t i = 0; i < o->n_mirrors; i++)
		if (setup_mirror_is_oci(o->mirrors[i]) && !setup_mirror_tree(o))
			return ap_err_set(
				err, AP_E_USAGE,
				"--mirror %s is an OCI registry: give --version V (or latest) "
				"and no --bundle, --from or --manifest",
				o->mirrors[i]);
	return 0;
}

/* Open the release given by --bundle, --from or --manifest (n of them),
 * else this setup's own (*self); *src names it.  A --version or --channel
 * asked for pins it. */
static int open_local_release(struct setup_opts *o, int n, char **self, const char **src,
			      struct ap_release **out, struct ap_err *err)
{
	struct ap_release *r = NULL;
	int rc;

	if (o->version && strcmp(o->version, "latest") == 0)
		return ap_err_set(
			err, AP_E_USAGE,
			"--version latest resolves through a mirror's index: add --mirror "
			"URL (and no --bundle, --from or --manifest)");
	if (n == 1) {
		*src = o->bundle ? o->bundle : o->from ? o->from : o->manifest;
	} else if (setup_is_sfx(self)) {
		*src = *self;
		o->self = true;
	} else {
		return ap_err_set(err, AP_E_USAGE,
				  "no release given: use --bundle FILE, --from DIR or --manifest "
				  "FILE");
	}
	if (o->from && !ap_fsx_is_dir(o->from))
		return ap_err_set(err, AP_E_NOTFOUND, "--from: offline folder '%s' does not exist",
				  o->from);
	rc = ap_release_open(*src, &r, err);
	if (rc)
		return rc;
	/* Asking for a version pins it: another one is not installed. */
	if (o->version && strcmp(o->version, r->manifest->version) != 0)
		rc = ap_err_set(err, AP_E_STATE, "'%s' is %s %s, but --version %s was asked for",
				*src, r->manifest->product, r->manifest->version, o->version);
	else if (o->channel && (!r->manifest->channel || strcmp(o->channel, r->manifest->channel)))
		rc = ap_err_set(err, AP_E_STATE,
				"'%s' is in channel '%s', but --channel %s was "
				"asked for",
				*src, r->manifest->channel ? r->manifest->channel : "(none)",
				o->channel);
	if (rc) {
		ap_release_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* No trusted key and no --insecure: say which key signed src and how to
 * trust it (with the fingerprint of a key the release carries). */
static int untrusted(const struct ap_release *r, const char *src, struct ap_err *err)
{
	const char *id = r->manifest->key_id;
	struct ap_sign_key *k = NULL;
	char fpr[AP_KEY_FPR_LEN];
	int rc;

	if (!r->embedded_pub)
		return ap_err_set(
			err, AP_E_UNTRUSTED,
			"no trusted key to check '%s' (signed by key id %s): install its "
			"public key in %s, pass --trust KEY, or, for a setup that carries "
			"its key, --trust-key-id FINGERPRINT after comparing the key's "
			"fingerprint with the one published with the release",
			src, id ? id : "(not recorded)", AP_TRUST_DIR);
	rc = ap_sign_key_load_public_mem(r->embedded_pub, r->embedded_pub_len, &k, err);
	if (rc)
		return rc;
	ap_sign_key_fingerprint(k, fpr);
	ap_sign_key_free(k);
	return ap_err_set(err, AP_E_UNTRUSTED,
			  "no trusted key to check '%s' (signed by key id %s, key fingerprint "
			  "%s): install its public key in %s, pass --trust KEY, or compare "
			  "that fingerprint with the one published with the release and pass "
			  "--trust-key-id FINGERPRINT",
			  src, id ? id : "(not recorded)", fpr, AP_TRUST_DIR);
}

/* The release's trust decision (mirror, root of trust, keys) reads as one path through the
 * documented precedence. */
int setup_open_release(struct setup_opts *o, struct ap_release **out, struct ap_err *err)
{
	struct ap_release *r = NULL;
	struct ap_sign_trust *trust = NULL;
	const char *src = NULL;
	char *self = NULL;
	int n = (o->bundle != NULL) + (o->from != NULL) + (o->manifest != NULL);
	int rc;

	rc = check_release_args(o, n, err);
	if (rc)
		return rc;
	if (setup_mirror_tree(o)) {
		rc = setup_load_root(o, NULL, err);
		if (rc)
			goto out;
		if (!setup_rooted(o)) {
			struct ap_release *carrier = NULL;

			/* --trust-key-id names the key this setup carries: it
			 * checks the mirror's index and release as it would the
			 * setup's own. */
			if (o->trust_key_id && setup_is_sfx(&self)) {
				rc = ap_release_open(self, &carrier, err);
				if (rc) {
					ap_err_prefix(err, "--trust-key-id: reading this setup");
					goto out;
				}
			}
			rc = setup_load_trust(o, carrier, &trust, err);
			ap_release_free(carrier);
			if (rc && !o->insecure)
				goto out;
		}
		ap_err_clear(err);
		rc = setup_mirror_open(o, trust, &r, err);
		if (rc)
			goto out;
		src = r->path;
		if (setup_rooted(o)) {
			raise_floor(o, ap_root_floor(o->fresh.root, r->manifest->product));
			goto rooted;
		}
		goto check;
	}
	rc = open_local_release(o, n, &self, &src, &r, err);
	if (rc)
		goto out;
	rc = setup_load_root(o, r, err);
	if (rc)
		goto out;
	if (setup_rooted(o)) {
		if (o->trust_key_id) {
			rc = ap_err_set(
				err, AP_E_USAGE,
				"--trust-key-id: this device holds a root of trust (version "
				"%lld); a setup's embedded key is not trusted beside it",
				(long long)o->fresh.root->version);
			goto out;
		}
		rc = check_root_expiry(o, false, err);
		if (rc == 0)
			rc = ap_release_check_root(r, o->fresh.root, NULL, o->insecure, err);
		if (rc)
			goto out;
		goto rooted;
	}
	rc = setup_load_trust(o, r, &trust, err);
	if (rc && !o->insecure)
		goto out;
check:
	if (!trust && !o->insecure) {
		rc = untrusted(r, src, err);
		goto out;
	}
	rc = ap_release_check_sig(r, trust, o->insecure, err);
	if (rc)
		goto out;
rooted:
	if (!r->sig_checked) {
		setup_warn("--insecure: using '%s' although %s", src,
			   err->msg[0] ? err->msg : "its signature was not checked");
		ap_err_clear(err);
	}
	*out = r;
	r = NULL;
out:
	if (rc || !o->keep_fresh)
		setup_fresh_release(o);
	ap_release_free(r);
	ap_sign_trust_free(trust);
	free(self);
	return rc;
}

static void hash_progress(void *ctx, const char *label, uint64_t done, uint64_t total)
{
	struct setup_src *s = ctx;

	if (!s->bar)
		return;
	if (s->bar->label != label) {
		ap_ui_progress_end(s->bar);
		ap_ui_progress_start(s->bar, label, total, true);
	}
	ap_ui_progress_cb(s->bar, done);
}

static void download_cb(void *ctx, const struct ap_source_dl *dl)
{
	struct setup_src *s = ctx;

	if (s->ev)
		events_on_download(s->ev, dl);
}

static void check_cb(void *ctx, const struct ap_source_check *chk)
{
	struct setup_src *s = ctx;

	if (s->ev)
		events_on_check(s->ev, chk);
}

void setup_fetch_opts(const struct setup_opts *o, struct ap_fetch_opts *fo)
{
	ap_fetch_opts_init(fo);
	fo->proxy = o->proxy;
	fo->cacert = o->cacert;
}

int setup_plan(struct setup_opts *o, const struct ap_release *r, struct setup_src *s,
	       struct ap_source_plan **plan, struct ap_err *err)
{
	size_t n = 0;

	if (r->dir)
		s->dirs[n++] = r->dir;
	for (size_t i = 0; i < o->n_offline_dirs; i++) {
		if (!ap_fsx_is_dir(o->offline_dirs[i]))
			return ap_err_set(err, AP_E_NOTFOUND,
					  "--offline-dir: '%s' does not exist or is not a folder "
					  "(refusing to fall back to downloading)",
					  o->offline_dirs[i]);
		s->dirs[n++] = o->offline_dirs[i];
	}
	setup_fetch_opts(o, &s->fo);
	s->so.offline_dirs = s->dirs;
	s->so.n_offline_dirs = n;
	s->so.mirrors = o->mirrors;
	s->so.n_mirrors = o->n_mirrors;
	if (setup_mirror_tree(o)) {
		/* A mirror tree serves a release's payloads from its version's
		 * folder; a registry from its blobs, by hash. */
		size_t k = 0;

		for (size_t i = 0; i < o->n_mirrors; i++) {
			if (setup_mirror_is_oci(o->mirrors[i]))
				continue;
			s->mirror_urls[k] = ap_fetch_url_join(o->mirrors[i], r->manifest->version);
			if (!s->mirror_urls[k])
				return ap_err_set(err, AP_E_NOMEM, "out of memory");
			k++;
		}
		s->so.mirrors = (const char *const *)s->mirror_urls;
		s->so.n_mirrors = k;
		if (setup_oci_served()) {
			s->so.blob_base = ap_oci_blob_base(setup_oci_served());
			s->fo.header = ap_oci_auth_header(setup_oci_served());
		}
	}
	/* The default cache is planned from too: a version switch takes the
	 * payloads it shares with the last download from there. */
	if (!o->cache) {
		s->cache_default = ap_state_cache_dir(setup_root(o), r->manifest->product);
		if (!s->cache_default)
			return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	s->so.cache_dir = o->cache ? o->cache : s->cache_default;
	s->so.windows_names = ap_manifest_for_windows(r->manifest);
	s->so.offline = o->offline;
	s->so.fetch = &s->fo;
	s->so.on_hash = hash_progress;
	s->so.on_download = download_cb;
	s->so.parallel = o->parallel;
	s->so.on_check = check_cb;
	s->so.ctx = s;
	return ap_source_plan(r, &s->so, plan, err);
}

void setup_src_release(struct setup_src *s)
{
	free(s->cache_default);
	free(s->work_dir);
	for (size_t i = 0; i < MAX_LIST; i++)
		free(s->mirror_urls[i]);
}
