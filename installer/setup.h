/* setup.h - shared pieces of airpack-setup's commands. */
#ifndef AIRPACK_SETUP_H
#define AIRPACK_SETUP_H

#include <stdbool.h>
#include <stdio.h>
#include "airpack/err.h"
#include "airpack/fetch.h"
#include "airpack/freshness.h"
#include "airpack/mirror.h"
#include "airpack/release.h"
#include "airpack/sign.h"
#include "airpack/source.h"

#define MAX_LIST 32

/* Options shared by the commands that act on a release. */
struct setup_opts {
	const char *bundle;
	const char *from;
	const char *manifest;
	const char *trust;
	const char *trust_key_id;
	bool insecure;
	const char *offline_dirs[MAX_LIST];
	size_t n_offline_dirs;
	const char *mirrors[MAX_LIST];
	size_t n_mirrors;
	const char *version; /* --version V with a versioned mirror */
	const char *channel;
	const char *cache;
	bool offline;
	const char *proxy;
	const char *cacert;
	int parallel;		   /* --parallel N: files downloaded at once; 0: the default */
	const char *registry_auth; /* --registry-auth FILE (oci:// mirrors) */
	bool insecure_registry;	   /* --insecure-registry: oci:// over plain HTTP */
	const char *root;
	bool json;
	bool quiet;
	bool no_run;
	bool run_in_root; /* --run-in-root: run actions through chroot into the root */
	bool run_on_host; /* --run-on-host: run actions on this host whatever the root */
	bool allow_downgrade;
	bool force_platform; /* install: a release for another platform into this host */
	bool purge;
	const char *product; /* --product NAME (the commands on an installed product) */
	bool verbose;	     /* --verbose, -v */
	bool self;	     /* the release is this executable (setup) */
	const char *roots;   /* --roots DIR: newer roots of trust, N.root.json */
	bool expired_ok;     /* --expired-ok (offline only) */
	int64_t at_time;     /* --at-time T (offline only); 0: now */
	/* Set by setup_open_release (docs/trust.md): the root of trust walked
	 * to, the index version and signed floor seen, the expiry choice.
	 * keep_fresh: the caller releases fresh (setup_fresh_release). */
	bool keep_fresh;
	struct ap_freshness_root fresh;
	int64_t index_version;
	char floor[64];
	char note[320];
	struct ap_freshness_claim claim;
};

/* getopt_long ids for the shared options (above the ASCII range). */
enum {
	OPT_BUNDLE = 1000,
	OPT_FROM,
	OPT_MANIFEST,
	OPT_TRUST,
	OPT_TRUST_KEY_ID,
	OPT_INSECURE,
	OPT_OFFLINE_DIR,
	OPT_MIRROR,
	OPT_VERSION,
	OPT_CHANNEL,
	OPT_CACHE,
	OPT_OFFLINE,
	OPT_PROXY,
	OPT_CACERT,
	OPT_ROOT,
	OPT_JSON,
	OPT_QUIET,
	OPT_NO_RUN,
	OPT_ALLOW_DOWNGRADE,
	OPT_PURGE,
	OPT_HELP,
	OPT_RUN_IN_ROOT,
	OPT_RUN_ON_HOST,
	OPT_ROOTS,
	OPT_EXPIRED_OK,
	OPT_AT_TIME,
	OPT_REGISTRY_AUTH,
	OPT_INSECURE_REGISTRY,
	OPT_PARALLEL,
	OPT_PRODUCT,
	OPT_VERBOSE,
	OPT_FORCE_PLATFORM,
};

/* The run-action options install and firstboot take; SETUP_RUN_HELP is
 * their help text. */
#define SETUP_RUN_OPTIONS                                                                          \
	{ "run-in-root", no_argument, NULL, OPT_RUN_IN_ROOT },                                     \
	{                                                                                          \
		"run-on-host", no_argument, NULL, OPT_RUN_ON_HOST                                  \
	}
#define SETUP_RUN_HELP                                                                             \
	"      --run-in-root       with --root: run the run actions inside the root\n"             \
	"                          (chroot; POSIX, needs root privilege)\n"                        \
	"      --run-on-host       with --root: run the run actions on this host\n"                \
	"                          (by default an image root's actions stay pending\n"             \
	"                          for firstboot on the device)\n"


/* The long options every release command takes; put inside a command's
 * struct option array. */
#define SETUP_SOURCE_OPTIONS                                                                       \
	{ "bundle", required_argument, NULL, OPT_BUNDLE },                                         \
		{ "from", required_argument, NULL, OPT_FROM },                                     \
		{ "manifest", required_argument, NULL, OPT_MANIFEST },                             \
		{ "trust", required_argument, NULL, OPT_TRUST },                                   \
		{ "trust-key-id", required_argument, NULL, OPT_TRUST_KEY_ID },                     \
		{ "insecure", no_argument, NULL, OPT_INSECURE },                                   \
		{ "offline-dir", required_argument, NULL, OPT_OFFLINE_DIR },                       \
		{ "mirror", required_argument, NULL, OPT_MIRROR },                                 \
		{ "version", required_argument, NULL, OPT_VERSION },                               \
		{ "channel", required_argument, NULL, OPT_CHANNEL },                               \
		{ "cache", required_argument, NULL, OPT_CACHE },                                   \
		{ "offline", no_argument, NULL, OPT_OFFLINE },                                     \
		{ "proxy", required_argument, NULL, OPT_PROXY },                                   \
		{ "cacert", required_argument, NULL, OPT_CACERT },                                 \
		{ "parallel", required_argument, NULL, OPT_PARALLEL },                             \
		{ "registry-auth", required_argument, NULL, OPT_REGISTRY_AUTH },                   \
		{ "insecure-registry", no_argument, NULL, OPT_INSECURE_REGISTRY },                 \
		{ "roots", required_argument, NULL, OPT_ROOTS },                                   \
		{ "expired-ok", no_argument, NULL, OPT_EXPIRED_OK },                               \
	{                                                                                          \
		"at-time", required_argument, NULL, OPT_AT_TIME                                    \
	}

/* The common options every command takes. */
#define SETUP_COMMON_OPTIONS                                                                       \
	{ "root", required_argument, NULL, OPT_ROOT }, { "json", no_argument, NULL, OPT_JSON },    \
		{ "quiet", no_argument, NULL, OPT_QUIET },                                         \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}

/* Help text for SETUP_SOURCE_OPTIONS. */
extern const char setup_source_help[];

/* Handle one shared option; returns 1 when consumed, 0 when not ours,
 * -1 on a usage error (printed). */
int setup_opt(struct setup_opts *o, const char *cmd, int id, const char *arg);

/* A command's own options, asked before the shared ones: 1 when consumed,
 * 0 when not its own, -1 on a usage error (printed). */
typedef int (*setup_own_opt_fn)(void *ctx, int id, const char *arg);

/* A command's argument parsing: o is cleared, then each option of opts
 * (getopt_long with shortopts) goes to own (may be NULL), else to
 * setup_opt; --help prints cmd's usage; an operand is a usage error.
 * Returns -1 when the command goes on, else the exit code to return (0
 * after --help, 2 on a usage error, printed). */
struct option;
int setup_parse(struct setup_opts *o, const char *cmd, int argc, char **argv, const char *shortopts,
		const struct option *opts, setup_own_opt_fn own, void *ctx);

/* airpack-setup list: every product installed under o's root, printed;
 * returns the exit code (8 when none). */
int setup_list_products(const struct setup_opts *o);

/* Print "airpack-setup: error: MSG" and return its exit code. */
int setup_die(const struct ap_err *err);
int setup_usage_error(const char *cmd, const char *fmt, ...) AP_PRINTF(2, 3);
int setup_print_usage(const char *cmd);
void setup_warn(const char *fmt, ...) AP_PRINTF(1, 2);
void setup_note(const struct setup_opts *o, const char *fmt, ...) AP_PRINTF(2, 3);

/* Open the release named by the options (or this setup) and check its
 * signature; prints a warning when --insecure let a bad one through.  With
 * a root of trust (docs/trust.md) the chain is walked first (--roots, the
 * release folder's roots/, a mirror's roots/), expiries are judged, and
 * the release role's threshold decides. */
int setup_open_release(struct setup_opts *o, struct ap_release **out, struct ap_err *err);

/* The claim an install hands the transaction (freshness.h). */
const struct ap_freshness_claim *setup_claim(struct setup_opts *o);
void setup_fresh_release(struct setup_opts *o);

/* The root of trust the options name (a trust folder with airpack-root.json,
 * or the one stored under the install root), walked through --roots: into
 * o->fresh.  0 with o->fresh.root NULL when there is none (bare keys). */
int setup_load_root(struct setup_opts *o, const struct ap_release *r, struct ap_err *err);

/* The device's root of trust is a real one (version >= 1). */
bool setup_rooted(const struct setup_opts *o);

/* Judge an expiry by --expired-ok / --at-time; online for http(s). */
int setup_expiry(struct setup_opts *o, int64_t expires, bool online, const char *what,
		 struct ap_err *err);

/* The root to install into ("/" by default). */
const char *setup_root(const struct setup_opts *o);

struct events;

/* The download options every command uses: the library's defaults
 * (retries, backoff, timeouts) with --proxy and --cacert. */
void setup_fetch_opts(const struct setup_opts *o, struct ap_fetch_opts *fo);

/* Fill source options (offline folders: the release's own first) and plan. */
struct setup_src {
	const char *dirs[MAX_LIST + 1];
	struct ap_source_opts so;
	struct ap_fetch_opts fo;
	struct ap_ui_progress *bar;
	struct events *ev; /* source checks are reported here; may be NULL */
	char *cache_default;
	char *work_dir;
	char *mirror_urls[MAX_LIST]; /* mirror trees: each --mirror's URL/<version> */
};
int setup_plan(struct setup_opts *o, const struct ap_release *r, struct setup_src *s,
	       struct ap_source_plan **plan, struct ap_err *err);
void setup_src_release(struct setup_src *s);

/* The install command's work (also what a setup run without a command does). */
int setup_install(struct setup_opts *o, bool repair, bool verbose);

/* Write or check an offline folder (layout, --extract). */
int setup_layout(const struct setup_opts *o, const char *dir, bool verify_only, bool clean);

/* Detect whether this executable carries a release (a setup). */
bool setup_is_sfx(char **self_path);

/* Trust: --trust, else the build's trust folder, plus the embedded key of
 * the setup r (may be NULL) when --trust-key-id names it.  *out may be NULL
 * on success: nothing is trusted. */
int setup_load_trust(struct setup_opts *o, const struct ap_release *r, struct ap_sign_trust **out,
		     struct ap_err *err);

/* mirror.c: mirror trees (docs/mirrors.md).  With --version, --mirror and
 * no other source, every --mirror is a mirror tree: MIRROR/index.json and
 * one offline folder per version.  Without --version a mirror holds one
 * release's payloads flat. */
bool setup_mirror_tree(const struct setup_opts *o);

/* An oci:// mirror (docs/mirrors.md, "OCI registries"). */
bool setup_mirror_is_oci(const char *mirror);

/* The registry that served the release setup_mirror_open opened, or NULL:
 * its blobs are where payloads are downloaded from first.  Owned by
 * mirror.c (freed at exit). */
struct ap_oci;
const struct ap_oci *setup_oci_served(void);

/* One tag of a registry, as `versions` lists it: what it points at (the
 * release fields are NULL when it is not a readable airpack release) and
 * whether the signature verified (problem says why not). */
struct setup_oci_tag {
	const char *name; /* HOST[:PORT]/REPO */
	const char *tag;
	const char *digest; /* of the OCI manifest, "" when unread */
	const char *product, *version, *channel, *key_id;
	uint64_t size;
	bool sig_ok;
	const char *problem;
};
typedef void (*setup_oci_tag_fn)(void *ctx, const struct setup_oci_tag *t);

/* Every tag of the oci:// mirror, each pulled and checked against trust. */
int setup_oci_list(struct setup_opts *o, const char *mirror, const struct ap_sign_trust *trust,
		   setup_oci_tag_fn fn, void *ctx, struct ap_err *err);

/* The signed index of the first mirror that serves one. */
struct setup_index {
	struct ap_mirror_index *ix;
	char *url;	    /* of index.json */
	const char *mirror; /* the --mirror it came from */
	bool sig_checked;   /* false only with --insecure */
	char signer_id[AP_KEY_ID_LEN];
};
/* Fetch and verify (against trust; NULL trusts nothing) the index.  A
 * mirror whose index cannot be fetched is skipped for the next one; a bad
 * or untrusted signature is an error (a warning with --insecure). */
int setup_index_fetch(struct setup_opts *o, const struct ap_sign_trust *trust,
		      struct setup_index *si, struct ap_err *err);
void setup_index_release(struct setup_index *si);

/* Resolve --version (a version or "latest") and --channel in the index,
 * fetch MIRROR/<version>/manifest.json and its signature, and refuse a
 * manifest whose sha256 is not the index's.  The mirror the index came from
 * is moved to o->mirrors[0].  The caller checks the manifest's signature. */
int setup_mirror_open(struct setup_opts *o, const struct ap_sign_trust *trust,
		      struct ap_release **out, struct ap_err *err);

#endif
