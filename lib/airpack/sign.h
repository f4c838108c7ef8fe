/* sign.h - keys, signatures, key ids and trust stores (OpenSSL EVP underneath).
 *
 * Signatures are raw: the bytes EVP_DigestSign produces over the exact message
 * bytes (Ed25519 by default; for non-Ed25519 keys SHA-256 is the digest), so
 * `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in MSG -sigfile SIG`
 * verifies them.  A key id is the first 16 hex digits of SHA-256 over the
 * public key's DER (SubjectPublicKeyInfo); the key's fingerprint is all 64
 * hex digits of that SHA-256.  The id names a key (manifests, messages); only
 * the fingerprint is long enough to decide trust on (docs/threat-model.md).
 *
 * Verifying accepts any key OpenSSL's EVP verifies with; signing releases
 * and mirror indexes (airpack build, publish) takes Ed25519 keys only:
 * ap_sign_key_check_signing.
 */
#ifndef AP_SIGN_H
#define AP_SIGN_H

#include <stddef.h>
#include <stdbool.h>
#include "airpack/err.h"

#define AP_KEY_ID_LEN 17  /* 16 hex digits and a NUL */
#define AP_KEY_FPR_LEN 65 /* 64 hex digits and a NUL */

struct ap_sign_key;   /* a private or public key; opaque */
struct ap_sign_trust; /* a set of trusted public keys; opaque */

/* Generate a new Ed25519 private key.  *out is written only on success. */
int ap_sign_key_generate(struct ap_sign_key **out, struct ap_err *err);

/* Load a PEM private key (PKCS#8 or traditional) from a file. */
int ap_sign_key_load_private(const char *path, struct ap_sign_key **out, struct ap_err *err);

/* Load a PEM public key from a file or from memory. */
int ap_sign_key_load_public(const char *path, struct ap_sign_key **out, struct ap_err *err);
int ap_sign_key_load_public_mem(const void *pem, size_t len, struct ap_sign_key **out,
				struct ap_err *err);

/* Write the private key as PKCS#8 PEM, mode 0600, atomically; refuses an
 * existing file with AP_E_EXISTS unless force.  The in-memory PEM is wiped. */
int ap_sign_key_write_private(const struct ap_sign_key *key, const char *path, bool force,
			      struct ap_err *err);

/* Write the public half as PEM (mode 0644), atomically; same force rule. */
int ap_sign_key_write_public(const struct ap_sign_key *key, const char *path, bool force,
			     struct ap_err *err);

/* The public half as PEM in a new NUL-terminated buffer (caller frees). */
int ap_sign_key_public_pem(const struct ap_sign_key *key, char **pem, size_t *len,
			   struct ap_err *err);

/* The key id (works on private keys too: it is the id of the public half). */
void ap_sign_key_id(const struct ap_sign_key *key, char id[AP_KEY_ID_LEN]);

/* The full fingerprint: SHA-256 of the public key's DER, 64 lowercase hex
 * digits (its first 16 are the key id). */
void ap_sign_key_fingerprint(const struct ap_sign_key *key, char fpr[AP_KEY_FPR_LEN]);

/* The key's algorithm in words, e.g. "Ed25519", "RSA 2048-bit", "ECDSA P-256". */
void ap_sign_key_type(const struct ap_sign_key *key, char *buf, size_t len);

/* 0 when key may sign releases and indexes (Ed25519); otherwise AP_E_USAGE
 * naming path and the key's type.  Ed25519 alone: its signatures have one
 * length (the one-pass bundle writer reserves room for it) and are
 * deterministic (the same inputs give the same bundle). */
int ap_sign_key_check_signing(const struct ap_sign_key *key, const char *path, struct ap_err *err);

void ap_sign_key_free(struct ap_sign_key *key);

/* Sign msg with a private key; *sig is malloc'd (caller frees). */
int ap_sign(const struct ap_sign_key *key, const void *msg, size_t len, unsigned char **sig,
	    size_t *sig_len, struct ap_err *err);

/* Verify; 0 when valid, AP_E_SIGNATURE when not. */
int ap_sign_verify(const struct ap_sign_key *pub, const void *msg, size_t len,
		   const unsigned char *sig, size_t sig_len, struct ap_err *err);

/* Trust store: `path` is a PEM public key file or a folder whose *.pem files
 * are public keys (other files are ignored; an unreadable *.pem is an error).
 * An empty folder or a missing path is AP_E_NOTFOUND. */
int ap_sign_trust_load(const char *path, struct ap_sign_trust **out, struct ap_err *err);

/* An empty store to add keys to. */
struct ap_sign_trust *ap_sign_trust_new(void);

/* Add a key; the store takes ownership (also on failure). */
int ap_sign_trust_add(struct ap_sign_trust *t, struct ap_sign_key *pub, struct ap_err *err);

size_t ap_sign_trust_count(const struct ap_sign_trust *t);

/* The i-th key of the store (i < ap_sign_trust_count), still the store's. */
const struct ap_sign_key *ap_sign_trust_key(const struct ap_sign_trust *t, size_t i);

/* Verify msg against the store.
 * - key_id (may be NULL) is the signer id the message claims.  When given and
 *   no trusted key has it: AP_E_UNTRUSTED, "signed by a key you do not trust
 *   (key id ...)".  When a trusted key has it but the signature fails:
 *   AP_E_SIGNATURE ("bad signature").
 * - When key_id is NULL every key is tried; none verifying is AP_E_SIGNATURE.
 * On success the signer's id is written to signer_id (may be NULL). */
int ap_sign_trust_verify(const struct ap_sign_trust *t, const char *key_id, const void *msg,
			 size_t len, const unsigned char *sig, size_t sig_len,
			 char signer_id[AP_KEY_ID_LEN], struct ap_err *err);

void ap_sign_trust_free(struct ap_sign_trust *t);

#endif
