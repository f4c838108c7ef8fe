/* freshness.h - what a device remembers so that it never goes back: the
 * newest root of trust it accepted, the highest index version and release
 * version per product, and the checks made against them (docs/trust.md).
 *
 * The record lives in the state area (state.h: AP_STATE_TRUST_DIR, outside
 * every prefix; uninstall leaves it):
 *   root-<N>.json, root-<N>.json.sig.<key id>  the newest root accepted
 *                  (written before versions.json names it: the commit point)
 *   versions.json  { "format": "airpack-versions/1", "root": 3,
 *                    "products": [ { "product": "demo", "release": "1.2.0",
 *                                    "index": 7 } ] }
 * Both are read with caps (AP_ROOT_MAX, AP_FRESH_MAX) and written
 * atomically, only under the root's install lock (ap_state_lock_root).
 */
#ifndef AP_FRESHNESS_H
#define AP_FRESHNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/root.h"

#define AP_FRESH_FORMAT "airpack-versions/1"
#define AP_FRESH_MAX (1u << 20) /* largest versions.json read */

/* The trusted root a command starts from, and how it got there. */
struct ap_freshness_root {
	struct ap_root *root; /* the newest trusted root (version 0: bare keys) */
	char *json;	      /* its bytes (NULL for bare keys or the stored root) */
	size_t len;
	struct ap_sigset sigs;	/* and its signatures */
	int64_t anchor_version; /* the trust folder's root */
	int64_t stored_version; /* the state's root (0: none) */
	size_t steps;		/* rotations walked */
};

/* Gives root `version`'s bytes and signatures; AP_E_NOTFOUND when there
 * is none (the chain ends).  *json is malloc'd, at most AP_ROOT_MAX bytes. */
typedef int (*ap_freshness_get_fn)(void *ctx, int64_t version, char **json, size_t *len,
				   struct ap_sigset *sigs, struct ap_err *err);

/* Load the root to start from: the trust path (a folder holding
 * AP_ROOT_FILE and its signatures, such a file, or bare PEM keys) or the
 * root stored under install_root when that is newer.  A root file must be
 * signed by a threshold of its own root keys.  AP_E_NOTFOUND when trust
 * does not exist.  fr is released with ap_freshness_root_release. */
int ap_freshness_load(const char *install_root, const char *trust, struct ap_freshness_root *fr,
		      struct ap_err *err);

/* Only the root file of trust (a folder holding AP_ROOT_FILE, or a *.json
 * file), signed by a threshold of its own root keys; AP_E_NOTFOUND when
 * trust holds none (bare keys).  For a build host's checks (airpack
 * verify): no device record is read. */
int ap_freshness_load_file(const char *trust, struct ap_root **out, struct ap_err *err);

/* Walk the chain from fr->root: get(version + 1), ... until AP_E_NOTFOUND,
 * at most AP_ROOT_CHAIN_MAX steps, each step checked by ap_root_next. */
int ap_freshness_walk(struct ap_freshness_root *fr, ap_freshness_get_fn get, void *ctx,
		      struct ap_err *err);

/* A getter reading DIR/<version>.root.json and its signatures. */
int ap_freshness_get_dir(void *ctx, int64_t version, char **json, size_t *len,
			 struct ap_sigset *sigs, struct ap_err *err);

void ap_freshness_root_release(struct ap_freshness_root *fr);

/* What an install claims; pointers are borrowed. */
struct ap_freshness_claim {
	const struct ap_freshness_root *root; /* NULL: an --insecure install */
	int64_t index_version;		      /* 0: not from a mirror index */
	const char *floor;		      /* the signed floor (root or index), or NULL */
	const char *note;		      /* the expiry choice to record, or NULL */
};

/* Under the root's install lock: refuse (AP_E_STATE) a root or index older
 * than the device accepted, a release below the signed floor, and a release
 * older than the highest ever accepted for product unless allow_downgrade
 * and, with a root of trust (version >= 1), a signed floor at or below it
 * permits it.  c may be NULL (no claims beyond the release version). */
int ap_freshness_check(const char *install_root, const struct ap_freshness_claim *c,
		       const char *product, const char *version, bool allow_downgrade,
		       struct ap_err *err);

/* After the switch, still under the lock: raise the record to what was
 * accepted, and store the walked root when it is newer.  mtime >= 0 gives
 * the files written and their folder that time (image builds). */
int ap_freshness_commit(const char *install_root, const struct ap_freshness_claim *c,
			const char *product, const char *version, int64_t mtime,
			struct ap_err *err);

/* When signed metadata is evaluated and what an expiry may be overridden by. */
struct ap_freshness_policy {
	bool online;	 /* the metadata came over the network (http, https) */
	bool expired_ok; /* --expired-ok: only offline */
	int64_t at_time; /* --at-time: evaluate as of this time (offline only); 0: now */
};

/* 0 when expires (0: never) is after the policy's time (the real clock,
 * never SOURCE_DATE_EPOCH, or at_time).  Past it:
 * AP_E_EXPIRED naming what and when, unless the policy is offline and
 * expired_ok; at_time only applies offline (AP_E_USAGE online).  When an
 * override decided, note (n bytes) says which, for the receipt and history:
 * "expired-ok: the mirror index expired 2026-01-01T00:00:00Z"; otherwise
 * note is left alone. */
int ap_freshness_expiry(int64_t expires, const char *what, const struct ap_freshness_policy *p,
			char *note, size_t n, struct ap_err *err);

/* The highest release version accepted for product (malloc'd; NULL when
 * none) and the stored root's version; for status. */
int ap_freshness_get(const char *install_root, const char *product, char **release, int64_t *root,
		     struct ap_err *err);

#endif
