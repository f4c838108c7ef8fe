/* state.h - the one owner of airpack's on-disk state under an install root:
 * where it lives, the product lock, and recovery of an interrupted
 * transaction.
 *
 * Layout under ROOT (every other module asks this one for these paths):
 *   ROOT/var/lib/airpack/<product>/   state: receipt.json, manifest.json,
 *                                     manifest.json.sig, txn.json (the
 *                                     journal), provision.json, lock, and
 *                                     lock.owner (who holds the lock)
 *   ROOT/var/log/airpack/             the history (history.h)
 *   ROOT/var/cache/airpack/<product>/ the default download cache; each
 *                                     transaction's private work folder
 *                                     .unpack-<pid> (0700) lives here
 *
 * Every command opens a product's state with ap_state_init and then takes
 * its lock with ap_state_lock before reading or writing anything there:
 * AP_STATE_WRITE (install, uninstall, provision, firstboot) takes the lock
 * exclusively, records the holder in lock.owner, and recovers an
 * interrupted transaction; AP_STATE_READ (verify, status) takes it shared,
 * so a reader never gives a verdict across an install's switch.  Both fail
 * at once (AP_E_STATE, "busy: ...", naming the holder when one is recorded)
 * when the lock is held in a conflicting way.
 */
#ifndef AP_STATE_H
#define AP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"

/* airpack's folders, relative to the root (ap_fsx_default_root() when no
 * root is given): on Windows under ProgramData, which with the default
 * root C:\ is %ProgramData%\airpack (docs/windows.md). */
#ifdef _WIN32
#define AP_STATE_BASE "ProgramData/airpack/state"
#define AP_STATE_LOG_BASE "ProgramData/airpack/log"
#define AP_STATE_CACHE_BASE "ProgramData/airpack/cache"
#else
#define AP_STATE_BASE "var/lib/airpack"
#define AP_STATE_LOG_BASE "var/log/airpack"
#define AP_STATE_CACHE_BASE "var/cache/airpack"
#endif
/* One marker file per product with pending run actions (airpack-firstboot.service). */
#define AP_STATE_FIRSTBOOT_DIR AP_STATE_BASE "/firstboot.d"
/* The device's trust record (freshness.h): survives uninstall. */
#define AP_STATE_TRUST_DIR AP_STATE_BASE "/.trust"
#define AP_STATE_WORK_PREFIX ".unpack" /* work folders: .unpack-<pid> */

enum ap_state_mode {
	AP_STATE_READ,	/* shared: verify, status */
	AP_STATE_WRITE, /* exclusive: install, uninstall, provision, firstboot */
};

/* Told when recovery finished (forward) or undid (!forward) an interrupted
 * transaction of product into prefix (relative to the root). */
typedef void (*ap_state_recover_fn)(void *ctx, const char *product, bool forward,
				    const char *prefix, const char *version);

struct ap_state {
	char *root;	 /* as given ("/" for NULL) */
	char *aroot;	 /* absolute */
	char *name;	 /* the product */
	char *state_rel; /* var/lib/airpack/<product> */
	char *state;	 /* root/state_rel */
	int lock;	 /* >= 0 while locked */
	int root_lock;	 /* >= 0 while the root's install lock is held */
	bool exclusive;	 /* the lock held is exclusive */
	bool recovered;	 /* ap_state_lock recovered an interrupted transaction */
	char **created;	 /* folders (relative to the root) ap_state_lock created */
	size_t n_created;
	int64_t mtime; /* >= 0: the state folder's time to restore on release */
};

/* Name the running command ("airpack-setup install") for lock.owner.  The
 * string is copied; the default is "airpack". */
void ap_state_set_command(const char *command);

/* Fill st with product's paths under root (NULL: "/"); takes no lock and
 * touches nothing.  AP_E_USAGE for a product name that is not safe. */
int ap_state_init(struct ap_state *st, const char *root, const char *product, struct ap_err *err);

/* Unlock (removing lock.owner when it is ours) and free everything. */
void ap_state_release(struct ap_state *st);

/* Take the lock in mode.  AP_STATE_WRITE creates the state folder first
 * (st->created lists the folders it made), writes lock.owner, and
 * recovers an interrupted transaction (fn may be NULL; *recovered, may be
 * NULL, is set when something was recovered).  AP_STATE_READ on a product
 * without a state folder succeeds without a lock (nothing is installed);
 * when a journal shows an interrupted transaction, it takes the lock
 * exclusively and recovers like a writer.  AP_E_STATE "busy: ..." when the
 * lock is held in a conflicting way. */
int ap_state_lock(struct ap_state *st, enum ap_state_mode mode, ap_state_recover_fn fn, void *ctx,
		  bool *recovered, struct ap_err *err);

/* Take the root's install lock (ROOT/var/lib/airpack/.install.lock),
 * exclusive, without waiting; held until ap_state_release.  An install
 * holds it from the check that its release takes no other product's
 * folders until its receipt is committed, so two products installing at
 * once cannot both pass that check.  The product's lock must be held (its
 * state folder exists).  AP_E_STATE "busy: ..." naming the product being
 * installed when another process holds it. */
int ap_state_lock_root(struct ap_state *st, struct ap_err *err);

/* Remove ROOT/var/lib/airpack when nothing of airpack's is left in it but
 * the root's install lock file (after the last uninstall).  Errors are
 * ignored: another product may still be there. */
void ap_state_remove_base(const char *root);

/* Finish or undo an interrupted transaction (the exclusive lock must be
 * held): forward when the prefix already is the journal's stage tree,
 * back otherwise.  Without a journal it removes *.new and temporary state
 * files.  *recovered (may be NULL) is set when a journal was acted on. */
int ap_state_recover(struct ap_state *st, ap_state_recover_fn fn, void *ctx, bool *recovered,
		     struct ap_err *err);

/* Remove *.new state files and temporaries an atomic write left. */
int ap_state_clean_new(const struct ap_state *st, struct ap_err *err);

/* STATE/name (+ suffix, may be NULL); malloc'd, NULL when out of memory. */
char *ap_state_file(const struct ap_state *st, const char *name, const char *suffix);

/* STATE/name is a regular file. */
bool ap_state_has(const struct ap_state *st, const char *name);

/* The state files an install writes as *.new and commits, in order. */
extern const char *const ap_state_files[];
extern const size_t ap_state_n_files;

/* This transaction's private work folder (the exclusive lock must be
 * held): ROOT/var/cache/airpack/<product>/.unpack-<pid>, made fresh with
 * mode 0700 after removing every work folder a killed run left.  *out is
 * the caller's. */
int ap_state_work_dir(struct ap_state *st, char **out, struct ap_err *err);

/* Remove work (may be NULL) and the cache folders above it when that
 * leaves them empty.  Errors are ignored: the next run removes leftovers. */
void ap_state_drop_work_dir(const struct ap_state *st, const char *work);

/* Remove every work folder of the product (the exclusive lock must be
 * held), and the cache folders above when empty.  *n (may be NULL) counts
 * the folders removed. */
int ap_state_purge_work(const struct ap_state *st, size_t *n, struct ap_err *err);

/* Paths (malloc'd; NULL when out of memory).  root NULL gives a path
 * relative to the root. */
char *ap_state_dir(const char *root, const char *product);	 /* var/lib/airpack/<p> */
char *ap_state_cache_dir(const char *root, const char *product); /* var/cache/airpack/<p> */

/* airpack's own folder that rel (relative to the root) equals, lies in or
 * holds; NULL when none. */
const char *ap_state_reserved_overlap(const char *rel);

/* Names (sorted, safe) that have a receipt, a journal or a lock holder
 * (a first install in progress) under root;
 * *names is freed with ap_fsx_strv_free(*names, *n).  May be empty (NULL). */
int ap_state_candidates(const char *root, char ***names, size_t *n, struct ap_err *err);

#endif
