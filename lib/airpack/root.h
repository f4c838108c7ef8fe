/* root.h - the root of trust (airpack-root.json): keys per role, thresholds,
 * a version and an expiry; detached signature sets; the chain of roots.
 *
 * airpack-root.json (canonical: fixed key order, 2-space indent, newline):
 *   { "format": "airpack-root/1", "version": 3,
 *     "expires": "2027-12-01T00:00:00Z",
 *     "keys": [ { "id": "<16 hex>", "public_key": "-----BEGIN PUBLIC KEY-----\n..." } ],
 *     "roles": { "root":    { "threshold": 2, "keys": ["<id>", ...] },
 *                "release": { "threshold": 1, "keys": [...] },
 *                "index":   { "threshold": 1, "keys": [...] } },
 *     "floors": [ { "product": "demo", "min_version": "1.2.0" } ] }
 * A key's id must be the id of its public key (sign.h); ids are unique, and
 * every role names keys of the list (at least threshold of them).  floors
 * may be absent.
 *
 * Signatures are detached, one file per key: FILE.sig.<key id> holds the
 * raw signature (sign.h) over the exact bytes of FILE, so each one verifies
 * with `openssl pkeyutl -verify -rawin`.  The plain FILE.sig (what airpack
 * build and publish write) is one more signature whose key is found by
 * trying the role's keys.  A role's threshold counts DISTINCT keys of the
 * role whose signature verifies: the same key's signature twice counts once.
 *
 * Rotation: root N+1 is accepted from root N when its version is N+1 and it
 * is signed by a threshold of N's root keys and a threshold of its own.  A
 * key absent from the newer root is revoked.  A chain is walked at most
 * AP_ROOT_CHAIN_MAX steps, each file at most AP_ROOT_MAX bytes.
 *
 * A bare trust store (a PEM key or a folder of them, sign.h) is a root of
 * version 0 that never expires, with every key in every role, threshold 1.
 */
#ifndef AP_ROOT_H
#define AP_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/err.h"
#include "airpack/sign.h"

#define AP_ROOT_FORMAT "airpack-root/1"
#define AP_ROOT_FILE "airpack-root.json"
#define AP_ROOT_MAX (256u << 10) /* largest root file read or downloaded */
#define AP_ROOT_CHAIN_MAX 1024	 /* most rotation steps walked at once */
#define AP_ROOT_MAX_KEYS 64	 /* keys in one root */
#define AP_SIGSET_MAX 64	 /* signature files read for one document */
#define AP_TIME_LEN 21		 /* "2026-12-05T00:00:00Z" and a NUL */

enum ap_role {
	AP_ROLE_ROOT,	 /* signs the next root */
	AP_ROLE_RELEASE, /* signs release manifests */
	AP_ROLE_INDEX,	 /* signs mirror indexes */
	AP_ROLE_N,
};

/* "root", "release", "index"; ap_root_role_parse gives -1 for another name. */
const char *ap_root_role_name(enum ap_role role);
int ap_root_role_parse(const char *name);

struct ap_root_key {
	char id[AP_KEY_ID_LEN];
	char fpr[AP_KEY_FPR_LEN];
	char *pem;		 /* the public key as PEM */
	struct ap_sign_key *key; /* parsed from pem */
};

struct ap_root_role {
	size_t *keys; /* indexes into ap_root.keys */
	size_t n_keys;
	int64_t threshold; /* >= 1, <= n_keys */
};

struct ap_root_floor {
	char *product;
	char *min_version;
};

struct ap_root {
	int64_t version; /* >= 1; 0 for a bare trust store */
	int64_t expires; /* seconds since the epoch; 0: never (bare store) */
	struct ap_root_key *keys;
	size_t n_keys;
	struct ap_root_role roles[AP_ROLE_N];
	struct ap_root_floor *floors;
	size_t n_floors;
};

/* One detached signature; key_id is "" for a plain FILE.sig. */
struct ap_sig {
	char key_id[AP_KEY_ID_LEN];
	unsigned char *sig;
	size_t len;
};

struct ap_sigset {
	struct ap_sig *v;
	size_t n;
};
#define AP_SIGSET_INIT                                                                             \
	{                                                                                          \
		NULL, 0                                                                            \
	}

/* Parse and validate root JSON (errors AP_E_MANIFEST naming the JSON path).
 * *out is freed with ap_root_free. */
int ap_root_parse(const char *json, size_t len, struct ap_root **out, struct ap_err *err);

/* Canonical JSON (malloc'd, NUL-terminated). */
int ap_root_emit(const struct ap_root *r, char **json, size_t *len, struct ap_err *err);

/* A bare root of the keys in t (copied), version 0, no expiry. */
int ap_root_from_trust(const struct ap_sign_trust *t, struct ap_root **out, struct ap_err *err);

/* An empty root of version 1 (no keys; add them before emitting). */
struct ap_root *ap_root_new(void);
void ap_root_free(struct ap_root *r);

/* Editing (airpack root): add pub (copied) to role, adding it to the key
 * list when new; remove key id from role (and from the list when no role
 * names it any more); set a threshold; set or clear a product's floor. */
int ap_root_add_key(struct ap_root *r, enum ap_role role, const struct ap_sign_key *pub,
		    struct ap_err *err);
int ap_root_remove_key(struct ap_root *r, enum ap_role role, const char *key_id,
		       struct ap_err *err);
int ap_root_set_floor(struct ap_root *r, const char *product, const char *min_version,
		      struct ap_err *err);
/* Every role has keys and 1 <= threshold <= its keys: AP_E_USAGE otherwise. */
int ap_root_check(const struct ap_root *r, struct ap_err *err);

/* The floor the root sets for product, or NULL. */
const char *ap_root_floor(const struct ap_root *r, const char *product);

/* Count the distinct keys of role whose signature in sigs verifies msg.
 * 0 when at least the threshold do; otherwise AP_E_UNTRUSTED when no
 * signature is by a key of the role ("signed by a key you do not trust (key
 * id ...)"), else AP_E_SIGNATURE ("N of M required signatures"), what
 * naming the document.  signer_id (may be NULL) gets the first verifying
 * key's id; n_ok (may be NULL) the count. */
int ap_root_verify(const struct ap_root *r, enum ap_role role, const char *what, const void *msg,
		   size_t len, const struct ap_sigset *sigs, char signer_id[AP_KEY_ID_LEN],
		   size_t *n_ok, struct ap_err *err);

/* Accept the root json (len bytes, signatures sigs) as the successor of cur:
 * its version must be cur->version + 1, and a threshold of cur's root keys
 * and of its own must sign it.  *next is the caller's. */
int ap_root_next(const struct ap_root *cur, const char *json, size_t len,
		 const struct ap_sigset *sigs, struct ap_root **next, struct ap_err *err);

/* Signature sets.  ap_root_sigset_load reads dir/base.sig (when present) and
 * every dir/base.sig.<16 hex> (each at most AP_SIG_MAX bytes, at most
 * AP_SIGSET_MAX files).  Finding none is not an error (n is 0). */
int ap_root_sigset_add(struct ap_sigset *s, const char *key_id, const void *sig, size_t len,
		       struct ap_err *err);
int ap_root_sigset_load(const char *dir, const char *base, struct ap_sigset *s, struct ap_err *err);
/* Write every signature of s beside path as path.sig.<id> (atomically, 0644);
 * a signature without an id is written as path.sig. */
int ap_root_sigset_write(const struct ap_sigset *s, const char *path, struct ap_err *err);
void ap_root_sigset_release(struct ap_sigset *s);

/* RFC 3339 UTC times, "2026-12-05T00:00:00Z" only. */
int ap_root_time_parse(const char *s, int64_t *out);
void ap_root_time_format(int64_t t, char out[AP_TIME_LEN]);

#endif
