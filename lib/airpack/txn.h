/* txn.h - the install transaction: stage, switch, receipt, recovery, run
 * actions, verify, uninstall, first boot.
 *
 * Layout under an install root ROOT (docs/install-transaction.md):
 *   ROOT/<prefix>/                        the installed files
 *   ROOT/<prefix-parent>/.<name>.airpack-stage   the new tree while staging
 *   ROOT/<prefix-parent>/.<name>.airpack-old     the old tree (fallback switch only)
 *   ROOT/var/lib/airpack/<product>/       state: receipt.json, manifest.json,
 *                                         manifest.json.sig, lock, txn.json
 *                                         (owned by state.h: paths, lock, recovery)
 *
 * An install stages the complete new prefix tree next to the prefix, fsyncs
 * every file and folder, writes the new state files as *.new and a journal
 * (txn.json), then switches the trees with one atomic exchange (or two
 * renames where the OS has no exchange) and renames the state files into
 * place.  Every operation first takes the product's lock and recovers an
 * interrupted transaction: forward when the prefix already is the new tree
 * (decided by the inode recorded in the journal), back otherwise.  A kill at
 * any point therefore leaves either the old install or the new one, never a
 * mix, and a rerun completes.
 *
 * Test-only hooks (environment): AP_TXN_CRASH_AT=stage|before-switch|
 * after-exchange|mid-fallback makes ap_txn_install call _exit(137) at that
 * point; AP_TXN_NO_EXCHANGE=1 forces the two-rename switch;
 * AP_TXN_STOP_AT=stage stops the process (SIGSTOP) just before the first
 * component is staged.  Read only by a build with meson -Dtest_hooks=true
 * (airpack/testhook.h).
 */
#ifndef AP_TXN_H
#define AP_TXN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/freshness.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/state.h"

enum ap_txn_phase {
	AP_TXN_PH_RECOVER, /* an interrupted transaction was completed or undone */
	AP_TXN_PH_STAGE,   /* a component is about to be staged */
	AP_TXN_PH_FILE,	   /* a file was written into the stage (actual sha256) */
	AP_TXN_PH_CHECK,   /* a copy/run payload was re-hashed while copied (not when moved) */
	AP_TXN_PH_KEEP,	   /* a file the user added to the prefix was carried over */
	AP_TXN_PH_SWITCH,  /* the new tree replaced the old one */
	AP_TXN_PH_RUN,	   /* a run action finished (exit_code) */
	AP_TXN_PH_PENDING, /* a run action was recorded as pending */
	AP_TXN_PH_VERIFY,  /* verify checked a file */
	AP_TXN_PH_REMOVE,  /* uninstall handled a path */
	AP_TXN_PH_SERVICE, /* a service was stopped, registered, started or removed
			      (component: its component; path: its name; detail: what) */
};

enum ap_txn_verdict {
	AP_TXN_V_OK,		 /* as expected */
	AP_TXN_V_MISMATCH,	 /* a payload's sha256 or size differs (install fails) */
	AP_TXN_V_FAILED,	 /* a run action exited with a code not in its list */
	AP_TXN_V_PENDING,	 /* a run action is left for firstboot */
	AP_TXN_V_KEPT,		 /* a user file carried into the new tree */
	AP_TXN_V_CONFLICT,	 /* a user file was in a release file's way (saved aside) */
	AP_TXN_V_MODIFIED,	 /* verify/uninstall: content differs from the receipt */
	AP_TXN_V_MISSING,	 /* verify/uninstall: a receipt file is gone */
	AP_TXN_V_UNEXPECTED,	 /* verify: a file under the prefix not in the receipt */
	AP_TXN_V_MODE,		 /* verify: permission bits differ */
	AP_TXN_V_REMOVED,	 /* uninstall: removed */
	AP_TXN_V_LEFT,		 /* uninstall: a user file left in place */
	AP_TXN_V_PURGED,	 /* uninstall --purge: a data folder removed */
	AP_TXN_V_ROLLED_FORWARD, /* recovery: the switch had happened; finished it */
	AP_TXN_V_ROLLED_BACK,	 /* recovery: the switch had not happened; undone */
};

/* One progress/audit event.  Every pointer is valid during the callback
 * only and may be NULL when it does not apply. */
struct ap_txn_event {
	enum ap_txn_phase phase;
	enum ap_txn_verdict verdict;
	const char *product;
	const char *component;
	const char *path; /* relative to the root */
	const char *expected_sha256;
	const char *actual_sha256;
	unsigned expected_mode; /* AP_TXN_V_MODE */
	unsigned actual_mode;
	uint64_t size;
	int exit_code;	       /* AP_TXN_PH_RUN */
	bool restart_required; /* AP_TXN_PH_RUN: exit_code is a reboot_exit_code */
	const char *detail;    /* free text, e.g. where a conflicting file was saved */
};

typedef void (*ap_txn_event_fn)(void *ctx, const struct ap_txn_event *ev);

/* "recover", "stage", "file", ... and "ok", "mismatch", ... for --json. */
const char *ap_txn_phase_name(enum ap_txn_phase p);
const char *ap_txn_verdict_name(enum ap_txn_verdict v);

/* Where run actions run once their files are in place.  The root is "this
 * host's" when it is NULL or the same folder as "/". */
enum ap_txn_run_in {
	AP_TXN_RUN_AUTO, /* on this host when the root is this host's; for any
			    other root (an image) they stay pending, for
			    firstboot on the device */
	AP_TXN_RUN_HOST, /* on this host, whatever the root (--run-on-host) */
	AP_TXN_RUN_ROOT, /* inside the root through chroot (--run-in-root):
			    POSIX and root privilege, else AP_E_USAGE */
};

struct ap_txn_opts {
	const char *root;     /* install root; NULL means "/" */
	bool no_run;	      /* record run actions as pending, whatever run_in says */
	bool allow_downgrade; /* permit installing an older version than installed */
	bool repair;	      /* same version installed: reinstall even when it verifies clean */
	const char *pin;      /* the version the user asked for (recorded); NULL for none */
	int64_t mtime;	      /* >= 0: every installed file and folder gets this mtime
				 (image builds); -1: archive times / now */
	ap_txn_event_fn on_event; /* may be NULL */
	void *ctx;
	enum ap_txn_run_in run_in; /* where run actions run (unless no_run) */
};
/* clang-format off */
#define AP_TXN_OPTS_INIT { NULL, false, false, false, NULL, -1, NULL, NULL, AP_TXN_RUN_AUTO }
/* clang-format on */

/* Gives the path of a verified local copy of component c's payload (size and
 * sha256 already checked by the caller).  *path_out is malloc'd; the
 * transaction frees the string.  Returns 0 or an AP_E_* code with err set.
 *
 * *movable is false on entry.  The callback sets it to true only for
 * airpack's own verified copy: a file airpack wrote itself for this install
 * and checked against the manifest while writing it (size and sha256), in a
 * private folder (0700) under the install root that nobody else writes to,
 * and that nobody needs after the install (a payload unpacked from the
 * bundle, never a file in an offline folder or in a download cache kept for
 * reruns).  A movable copy or run payload is renamed into the stage instead
 * of copied, then hashed where it landed and compared with the manifest (no
 * AP_TXN_PH_CHECK event); once staged it is gone from that path, also when
 * the install fails later.  When the rename fails and the file is still where
 * it was (another file system, an OS that refuses), it is copied and hashed
 * like any other.  Extract payloads are read either way.  Without
 * *movable, the file stays the caller's. */
/* A payload function may return 0 with *path_out NULL for an optional
 * component (ap_component.optional) it has no file for: that component is
 * left out of the install (no files, no run action). */
typedef int (*ap_txn_payload_fn)(void *ctx, const struct ap_component *c, char **path_out,
				 bool *movable, struct ap_err *err);

struct ap_txn_result {
	char *product;
	char *old_version; /* NULL on a fresh install */
	char *new_version;
	bool unchanged; /* the same release was installed and intact: nothing done */
	bool recovered; /* an interrupted transaction was finished or undone first */
	size_t n_files; /* release files installed */
	uint64_t n_bytes;
	size_t n_kept;	  /* user files carried over */
	char **conflicts; /* user files a release file replaced (relative to the
				root); each was saved as <path>.airpack-save when free */
	size_t n_conflicts;
	size_t n_ran;		/* run actions run (ok or not) */
	size_t n_pending;	/* run actions left pending */
	bool foreign;		/* the release is for another OS: they wait for the device */
	char *freshness;	/* the expiry override recorded in the receipt, or NULL */
	char *restart_required; /* the run action that ran now and exited with one of its
				   reboot_exit_codes (the last such), or NULL */
	char *run_output;	/* the end of each run action's output this install ran,
				"COMPONENT: ..." lines (the receipt keeps each), or NULL */
};
/* clang-format off */
#define AP_TXN_RESULT_INIT { NULL, NULL, NULL, false, false, 0, 0, 0, NULL, 0, 0, 0, false, NULL, NULL, NULL }
/* clang-format on */
void ap_txn_result_release(struct ap_txn_result *r);

/* What the OS says of the service s of receipt r installed in root (NULL:
 * this host's root), for status: "running", "stopped", "enabled (starts at
 * boot)", "waits for firstboot", ... (airpack/service.h). */
void ap_txn_service_state(const char *root, const struct ap_receipt *r,
			  const struct ap_receipt_service *s, char *out, size_t size);

/* The release ap_txn_install installs and where its payloads come from. */
struct ap_txn_release {
	const struct ap_manifest *m; /* parsed from manifest_json */
	const char *manifest_json;   /* stored verbatim, mlen bytes */
	size_t mlen;
	const unsigned char *sig; /* stored beside it; NULL for an insecure install */
	size_t siglen;
	ap_txn_payload_fn get_payload; /* asked for each component's payload */
	void *payload_ctx;
	/* What the release's trust claims (freshness.h): checked under the
	 * root's install lock before staging (ap_freshness_check), recorded after
	 * the switch (ap_freshness_commit).  NULL checks only the release version
	 * against the highest this device accepted.  Its note, when set, is
	 * recorded in the receipt (freshness). */
	const struct ap_freshness_claim *fresh;
};

/* Install release rel->m (parsed from manifest_json, mlen bytes, which are
 * stored verbatim with their signature sig/siglen; sig may be NULL for an
 * insecure install).  get_payload is asked for each component in manifest
 * order while staging.  Every payload is hashed again in the read that stages it
 * and must still match the manifest (AP_E_DIGEST, "payload changed after it
 * was verified"): copy/run payloads while copied, extract payloads while
 * extracted (ap_extract_checked, held to install.expanded too); one
 * get_payload marks movable is renamed into the stage and hashed there (see
 * ap_txn_payload_fn).  Before staging, the stage's file system must have
 * room for the new tree (AP_E_IO naming MiB needed and free); components
 * installing the same path are AP_E_UNSAFE.
 *
 * Refuses (AP_E_STATE) a version older than the installed one unless
 * allow_downgrade, what ap_freshness_check refuses (a version older than the
 * highest this device ever accepted, below a signed floor, an older index
 * or root), a pin that differs from m->version, a prefix that differs
 * from the installed release's; and (AP_E_MANIFEST, naming the field) a
 * prefix overlapping the state folder, data_dirs or config.path that
 * airpack/bounds.h refuses, and data_dirs, config.path or a prefix
 * overlapping another installed product's prefix, data folders or
 * configuration.  The receipt records which data_dirs did not exist before
 * (created_data_dirs; kept from the installed receipt on an upgrade).
 * With the same release (manifest sha256 and pin) installed, verifying clean,
 * nothing pending (or no_run) and no failed action, it does nothing
 * (res->unchanged) unless repair; otherwise reinstalling repairs.
 *
 * Files under the old prefix that the old receipt does not list are carried
 * into the new tree as hard links; where a release file has the same path,
 * the release wins and the user's file is kept as <path>.airpack-save
 * (res->conflicts).  The lock held by another process is AP_E_STATE
 * ("busy: ...", naming the holder); a prefix equal to, inside or above
 * another installed product's is AP_E_MANIFEST.
 *
 * After the switch, each run action runs (cwd = the prefix) where run_in
 * says: on this host, inside the root (chroot; checked before anything is
 * staged), or, with no_run or an image root under AP_TXN_RUN_AUTO, not at
 * all: it is recorded as pending (AP_TXN_PH_PENDING) for firstboot.  Actions run in order; the first
 * one exiting with a code not in its ok list stops the rest (left pending)
 * and returns AP_E_RUN naming the component and the exit code.  The
 * receipt records every result.
 *
 * res (may be NULL) is filled on success and on AP_E_RUN (the new release
 * is installed then); release it with ap_txn_result_release.  On any other
 * error the previous install is unchanged. */
int ap_txn_install(const struct ap_txn_release *rel, const struct ap_txn_opts *o,
		   struct ap_txn_result *res, struct ap_err *err);

/* The checks ap_txn_install makes on m before touching anything: a safe
 * prefix outside airpack's own folders (AP_E_MANIFEST), data_dirs likewise,
 * the pin (AP_E_STATE).  Lets a caller refuse before taking the lock. */
int ap_txn_check(const struct ap_manifest *m, const struct ap_txn_opts *o, struct ap_err *err);

/* The release's platform against this host's (platform.h), for the root st
 * was opened on.  0 when they match or m names no platform.  Into this
 * host's root a mismatch is refused (AP_E_USAGE, naming --force-platform)
 * unless force; into any other root (an image built for the release's
 * platform), or forced, it is 0 and *warning says what was let through
 * (malloc'd; NULL when there is nothing to say). */
int ap_txn_check_platform(const struct ap_state *st, const struct ap_manifest *m, bool force,
			  char **warning, struct ap_err *err);

/* ap_state_lock(st, mode, ...) reporting a recovery through o->on_event
 * (AP_TXN_PH_RECOVER), as the transaction's own functions do. */
int ap_txn_lock(struct ap_state *st, enum ap_state_mode mode, const struct ap_txn_opts *o,
		struct ap_err *err);

/* ap_txn_install with product's state already locked by the caller
 * (ap_state_lock with AP_STATE_WRITE on st; st->name is rel->m->product), so
 * the caller can write under the lock first (a bundle's payloads into the
 * transaction's work folder).  The lock stays held; AP_E_USAGE when st is
 * not locked exclusively. */
int ap_txn_install_locked(struct ap_state *st, const struct ap_txn_release *rel,
			  const struct ap_txn_opts *o, struct ap_txn_result *res,
			  struct ap_err *err);

/* Whether root (NULL: the default) is this host's own root, the running
 * system, however it is spelt; false when that cannot be told. */
bool ap_txn_root_is_host(const char *root);

/* The receipt of product (NULL: the only installed product; none is
 * AP_E_NOTFOUND, several is AP_E_USAGE listing them).  Recovers an
 * interrupted transaction first.  Reads under the shared lock: AP_E_STATE
 * ("busy: ...") while an install holds it.  *out is the caller's
 * (ap_receipt_free). */
int ap_txn_status(const char *root, const char *product, struct ap_receipt **out,
		  struct ap_err *err);
/* ap_txn_status without the files (files NULL, n_files 0; every file is
 * still read and checked): what is recorded about an install, in memory
 * that does not grow with its files. */
int ap_txn_status_head(const char *root, const char *product, struct ap_receipt **out,
		       struct ap_err *err);

/* Names of the installed products under root (sorted); *names is freed with
 * ap_fsx_strv_free(*names, 0).  None installed gives an empty vector. */
int ap_txn_list_products(const char *root, char ***names, size_t *n, struct ap_err *err);

struct ap_txn_verify_stats {
	size_t n_checked; /* receipt files checked */
	uint64_t n_bytes; /* bytes hashed */
	size_t n_modified, n_missing, n_unexpected, n_mode;
};

/* Re-hash every receipt file (o->root; product as for ap_txn_status) and
 * list files under the prefix the receipt does not name, holding the
 * shared lock throughout (AP_E_STATE "busy: ..." while an install or
 * uninstall holds it, never a verdict across a switch).  Reports every
 * receipt file (AP_TXN_PH_VERIFY: ok, modified, missing, mode) and every
 * unexpected file through o->on_event.  stats (may be NULL) is filled on
 * success and on AP_E_DIFFERS.  Returns AP_E_DIFFERS when anything
 * differs, the message counting each kind. */
int ap_txn_verify(const struct ap_txn_opts *o, const char *product,
		  struct ap_txn_verify_stats *stats, struct ap_err *err);

struct ap_txn_uninstall_stats {
	bool was_installed; /* false: nothing to do (uninstall is idempotent) */
	size_t n_removed;   /* receipt files removed (modified ones included) */
	size_t n_modified;  /* of those, how many had been modified */
	size_t n_missing;   /* receipt files already gone */
	size_t n_left;	    /* user files left in place */
	size_t n_purged;    /* data folders removed (purge) */
	size_t n_data_kept; /* data folders purge left (not created by this
			       product, or another installed product's) */
};

/* Remove exactly the receipt's files (modified ones too, reported as
 * AP_TXN_V_MODIFIED), then the folders the install created when they are
 * empty; files the user added are left and reported (AP_TXN_V_LEFT).  With
 * purge, also the data folders the receipt records as created by this
 * product (created_data_dirs), except one another installed product's
 * prefix, data folders or configuration overlaps; every data folder kept
 * is reported (AP_TXN_V_LEFT with the reason, stats->n_data_kept).  A
 * receipt without that record purges no data folder.  extra_paths (NULL-terminated,
 * relative to the root, may be NULL) are removed as well (files or folders;
 * e.g. a provisioned config).  Finally the state folder.  product as for
 * ap_txn_status, except that nothing installed is success with
 * stats->was_installed false.  Work folders a killed install left
 * (state.h) are removed too.  stats may be NULL. */
int ap_txn_uninstall(const struct ap_txn_opts *o, const char *product, bool purge,
		     const char *const *extra_paths, struct ap_txn_uninstall_stats *stats,
		     struct ap_err *err);

/* Run the pending actions of product (NULL: of every installed product, by
 * name) once each, in order, recording each result in the receipt and
 * taking it off the pending list.  Where: as for ap_txn_install, except
 * that pending actions of an image root under AP_TXN_RUN_AUTO are refused
 * (AP_E_USAGE: run firstboot on the device, or choose --run-in-root or
 * --run-on-host) instead of run on this host.  The first failing action stops its
 * product's remaining ones (they stay pending) and gives AP_E_RUN.  *n_ran
 * (may be NULL) is the number of actions run: 0 means nothing was pending. */
int ap_txn_firstboot(const struct ap_txn_opts *o, const char *product, size_t *n_ran,
		     struct ap_err *err);

#endif
