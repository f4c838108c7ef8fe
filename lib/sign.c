/* sign.c - keys, raw signatures and trust stores over OpenSSL EVP; see airpack/sign.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "airpack/sign.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/str.h"
#include "airpack/banned.h"

/* Key files are tiny; anything larger is not a key. */
#define KEY_FILE_MAX (1024 * 1024)

struct ap_sign_key {
	EVP_PKEY *pkey;
	bool priv;
	char id[AP_KEY_ID_LEN];
	char fpr[AP_KEY_FPR_LEN];
};

struct ap_sign_trust {
	struct ap_sign_key **keys;
	size_t n;
	size_t cap;
};

/* ap_err_set with OpenSSL's first queued reason appended; empties the queue. */
static int crypto_err(struct ap_err *err, int code, const char *fmt, ...) AP_PRINTF(3, 4);
static int crypto_err(struct ap_err *err, int code, const char *fmt, ...)
{
	char what[AP_ERR_MSG_MAX];
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		what[0] = '\0';
	if (reason)
		code = ap_err_set(err, code, "%s (openssl: %s)", what, reason);
	else
		code = ap_err_set(err, code, "%s", what);
	ERR_clear_error();
	return code;
}

/* Wrap pkey (taking ownership) in a new ap_sign_key with its id computed. */
static int key_wrap(EVP_PKEY *pkey, bool priv, struct ap_sign_key **out, struct ap_err *err)
{
	unsigned char *der = NULL;
	char hex[AP_SHA256_HEX];
	struct ap_sign_key *k;
	int len;

	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0) {
		EVP_PKEY_free(pkey);
		return crypto_err(err, AP_E_CRYPTO, "cannot encode the public key");
	}
	ap_digest_hex(der, (size_t)len, hex);
	OPENSSL_free(der);
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return ap_err_set(err, AP_E_NOMEM, "out of memory loading a key");
	}
	k->pkey = pkey;
	k->priv = priv;
	memcpy(k->id, hex, AP_KEY_ID_LEN - 1);
	k->id[AP_KEY_ID_LEN - 1] = '\0';
	memcpy(k->fpr, hex, AP_KEY_FPR_LEN);
	*out = k;
	return 0;
}

int ap_sign_key_generate(struct ap_sign_key **out, struct ap_err *err)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int rc;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
	if (!ctx)
		return crypto_err(err, AP_E_CRYPTO, "cannot generate an ed25519 key");
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return crypto_err(err, AP_E_CRYPTO, "cannot generate an ed25519 key");
	}
	EVP_PKEY_CTX_free(ctx);
	rc = key_wrap(pkey, true, out, err);
	return rc;
}

/* Never prompt on the terminal for a passphrase: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static bool has_marker(const char *pem, size_t len, const char *marker)
{
	size_t m = strlen(marker);

	for (size_t i = 0; i + m <= len; i++)
		if (memcmp(pem + i, marker, m) == 0)
			return true;
	return false;
}

static int parse_private(const void *pem, size_t len, const char *what, struct ap_sign_key **out,
			 struct ap_err *err)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (len > KEY_FILE_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "cannot load private key %s: too big", what);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return crypto_err(err, AP_E_NOMEM, "cannot load private key %s", what);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey) {
		if (has_marker(pem, len, "ENCRYPTED PRIVATE KEY-----") ||
		    has_marker(pem, len, "Proc-Type: 4,ENCRYPTED"))
			return crypto_err(err, AP_E_USAGE,
					  "cannot load private key %s: it is encrypted; "
					  "airpack needs an unencrypted PEM private key",
					  what);
		if (has_marker(pem, len, "PUBLIC KEY-----"))
			return crypto_err(err, AP_E_USAGE,
					  "cannot load private key %s: it holds a public key, "
					  "expected a PEM private key (BEGIN PRIVATE KEY)",
					  what);
		return crypto_err(err, AP_E_USAGE,
				  "cannot load private key %s: expected a PEM private key "
				  "(BEGIN PRIVATE KEY), found none",
				  what);
	}
	return key_wrap(pkey, true, out, err);
}

typedef int (*key_parse_fn)(const void *pem, size_t len, const char *what, struct ap_sign_key **out,
			    struct ap_err *err);

/* Read a key file and parse it; the bytes are wiped either way (a public
 * key file may hold a private key by mistake). */
static int load_key_file(const char *path, const char *kind, key_parse_fn parse,
			 struct ap_sign_key **out, struct ap_err *err)
{
	char quoted[AP_ERR_MSG_MAX];
	char *pem = NULL;
	size_t len = 0;
	int rc;

	rc = ap_fsx_read_file(path, KEY_FILE_MAX, &pem, &len, err);
	if (rc < 0) {
		ap_err_prefix(err, "cannot load %s key", kind);
		return rc;
	}
	snprintf(quoted, sizeof(quoted), "'%s'", path);
	rc = parse(pem, len, quoted, out, err);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

int ap_sign_key_load_private(const char *path, struct ap_sign_key **out, struct ap_err *err)
{
	return load_key_file(path, "private", parse_private, out, err);
}

static int parse_public(const void *pem, size_t len, const char *what, struct ap_sign_key **out,
			struct ap_err *err)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (len > KEY_FILE_MAX)
		return ap_err_set(err, AP_E_TOOBIG, "cannot load public key %s: too big", what);
	/* A trust store or a verifying key must never carry private material. */
	if (has_marker(pem, len, "PRIVATE KEY-----"))
		return ap_err_set(err, AP_E_USAGE,
				  "cannot load public key %s: it holds a private key, expected a "
				  "public key (BEGIN PUBLIC KEY); use the .pub.pem file",
				  what);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return crypto_err(err, AP_E_NOMEM, "cannot load public key %s", what);
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return crypto_err(err, AP_E_USAGE,
				  "cannot load public key %s: expected a PEM public key "
				  "(BEGIN PUBLIC KEY), found none",
				  what);
	return key_wrap(pkey, false, out, err);
}

int ap_sign_key_load_public(const char *path, struct ap_sign_key **out, struct ap_err *err)
{
	return load_key_file(path, "public", parse_public, out, err);
}

int ap_sign_key_load_public_mem(const void *pem, size_t len, struct ap_sign_key **out,
				struct ap_err *err)
{
	return parse_public(pem, len, "from memory", out, err);
}

static int refuse_existing(const char *path, bool force, struct ap_err *err)
{
	struct ap_stat st;
	int rc;

	if (force)
		return 0;
	rc = ap_fsx_stat(path, &st, err);
	if (rc < 0)
		return rc;
	if (st.type != AP_FT_NONE)
		return ap_err_set(err, AP_E_EXISTS, "'%s' exists: use --force to overwrite", path);
	return 0;
}

int ap_sign_key_write_private(const struct ap_sign_key *key, const char *path, bool force,
			      struct ap_err *err)
{
	char *data = NULL;
	long len;
	BIO *bio;
	int rc;

	if (!key->priv)
		return ap_err_set(err, AP_E_USAGE,
				  "cannot write private key '%s': the key has no private half",
				  path);
	rc = refuse_existing(path, force, err);
	if (rc < 0)
		return rc;
	/* secmem: the buffer is wiped on every reallocation and on free. */
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return crypto_err(err, AP_E_NOMEM, "cannot write private key '%s'", path);
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		rc = crypto_err(err, AP_E_CRYPTO, "cannot encode private key for '%s'", path);
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !data) {
		rc = crypto_err(err, AP_E_CRYPTO, "cannot encode private key for '%s'", path);
		goto out;
	}
	rc = ap_fsx_write_atomic(path, data, (size_t)len, 0600, err);
	OPENSSL_cleanse(data, (size_t)len);
out:
	BIO_free(bio);
	return rc;
}

int ap_sign_key_public_pem(const struct ap_sign_key *key, char **pem, size_t *len,
			   struct ap_err *err)
{
	char *data = NULL;
	char *copy;
	long n;
	BIO *bio;
	int rc = 0;

	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return crypto_err(err, AP_E_NOMEM, "cannot encode the public key");
	if (PEM_write_bio_PUBKEY(bio, key->pkey) != 1) {
		rc = crypto_err(err, AP_E_CRYPTO, "cannot encode the public key (key id %s)",
				key->id);
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || !data) {
		rc = crypto_err(err, AP_E_CRYPTO, "cannot encode the public key (key id %s)",
				key->id);
		goto out;
	}
	copy = malloc((size_t)n + 1);
	if (!copy) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory encoding the public key");
		goto out;
	}
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem = copy;
	*len = (size_t)n;
out:
	BIO_free(bio);
	return rc;
}

int ap_sign_key_write_public(const struct ap_sign_key *key, const char *path, bool force,
			     struct ap_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	rc = refuse_existing(path, force, err);
	if (rc < 0)
		return rc;
	rc = ap_sign_key_public_pem(key, &pem, &len, err);
	if (rc < 0) {
		ap_err_prefix(err, "cannot write public key '%s'", path);
		return rc;
	}
	rc = ap_fsx_write_atomic(path, pem, len, 0644, err);
	free(pem);
	return rc;
}

void ap_sign_key_id(const struct ap_sign_key *key, char id[AP_KEY_ID_LEN])
{
	memcpy(id, key->id, AP_KEY_ID_LEN);
}

void ap_sign_key_fingerprint(const struct ap_sign_key *key, char fpr[AP_KEY_FPR_LEN])
{
	memcpy(fpr, key->fpr, AP_KEY_FPR_LEN);
}

void ap_sign_key_type(const struct ap_sign_key *key, char *buf, size_t len)
{
	char group[64];
	const char *name;
	int id = EVP_PKEY_get_base_id(key->pkey);

	switch (id) {
	case EVP_PKEY_ED25519:
		snprintf(buf, len, "Ed25519");
		return;
	case EVP_PKEY_ED448:
		snprintf(buf, len, "Ed448");
		return;
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		snprintf(buf, len, "%s %d-bit", id == EVP_PKEY_RSA ? "RSA" : "RSA-PSS",
			 EVP_PKEY_get_bits(key->pkey));
		return;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(key->pkey, group, sizeof(group), NULL) == 1) {
			/* the NIST names operators know these curves by */
			if (strcmp(group, "prime256v1") == 0)
				snprintf(group, sizeof(group), "P-256");
			else if (strcmp(group, "secp384r1") == 0)
				snprintf(group, sizeof(group), "P-384");
			else if (strcmp(group, "secp521r1") == 0)
				snprintf(group, sizeof(group), "P-521");
			snprintf(buf, len, "ECDSA %s", group);
			return;
		}
		snprintf(buf, len, "ECDSA");
		return;
	default:
		name = EVP_PKEY_get0_type_name(key->pkey);
		snprintf(buf, len, "%s", name ? name : "unknown");
		return;
	}
}

int ap_sign_key_check_signing(const struct ap_sign_key *key, const char *path, struct ap_err *err)
{
	char type[96];

	if (EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519)
		return 0;
	ap_sign_key_type(key, type, sizeof(type));
	return ap_err_set(err, AP_E_USAGE,
			  "key '%s' is an %s key: airpack signs releases and mirror indexes with "
			  "Ed25519 keys only (one fixed-length, deterministic signature keeps "
			  "bundles one-pass and byte-identical); make one with 'airpack keygen -o "
			  "KEY' or 'openssl genpkey -algorithm ed25519'",
			  path ? path : "(key)", type);
}

void ap_sign_key_free(struct ap_sign_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* Ed25519 and Ed448 hash internally (md NULL); every other key signs SHA-256,
 * the same as `openssl pkeyutl -rawin -digest sha256`. */
static const EVP_MD *key_md(const struct ap_sign_key *key)
{
	int id = EVP_PKEY_get_id(key->pkey);

	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		return NULL;
	return EVP_sha256();
}

int ap_sign(const struct ap_sign_key *key, const void *msg, size_t len, unsigned char **sig,
	    size_t *sig_len, struct ap_err *err)
{
	static const unsigned char empty[1];
	unsigned char *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t n = 0;
	int rc = 0;

	if (!key->priv)
		return ap_err_set(err, AP_E_USAGE,
				  "cannot sign with key id %s: it is a public key, expected a "
				  "private key",
				  key->id);
	if (!msg)
		msg = empty;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return crypto_err(err, AP_E_NOMEM, "cannot sign with key id %s", key->id);
	if (EVP_DigestSignInit(ctx, NULL, key_md(key), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, msg, len) != 1) {
		rc = crypto_err(err, AP_E_CRYPTO, "cannot sign with key id %s", key->id);
		goto out;
	}
	buf = malloc(n ? n : 1);
	if (!buf) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory signing");
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &n, msg, len) != 1) {
		rc = crypto_err(err, AP_E_CRYPTO, "cannot sign with key id %s", key->id);
		goto out;
	}
	*sig = buf;
	*sig_len = n;
	buf = NULL;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* 1 valid, 0 invalid, or a negative code when the crypto library failed. */
static int verify_one(const struct ap_sign_key *pub, const void *msg, size_t len,
		      const unsigned char *sig, size_t sig_len, struct ap_err *err)
{
	static const unsigned char empty[1];
	EVP_MD_CTX *ctx;
	int ok;

	if (!msg)
		msg = empty;
	if (!sig || sig_len == 0)
		return 0;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return crypto_err(err, AP_E_NOMEM, "cannot verify with key id %s", pub->id);
	if (EVP_DigestVerifyInit(ctx, NULL, key_md(pub), NULL, pub->pkey) != 1) {
		EVP_MD_CTX_free(ctx);
		return crypto_err(err, AP_E_CRYPTO, "cannot verify with key id %s", pub->id);
	}
	/* A malformed signature makes OpenSSL report an error rather than 0:
	 * both mean the signature does not verify. */
	ok = EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return ok ? 1 : 0;
}

int ap_sign_verify(const struct ap_sign_key *pub, const void *msg, size_t len,
		   const unsigned char *sig, size_t sig_len, struct ap_err *err)
{
	int v = verify_one(pub, msg, len, sig, sig_len, err);

	if (v < 0)
		return v;
	if (v == 0)
		return ap_err_set(err, AP_E_SIGNATURE,
				  "bad signature for key id %s: the message or the signature "
				  "was altered, or another key signed it",
				  pub->id);
	return 0;
}

struct ap_sign_trust *ap_sign_trust_new(void)
{
	return calloc(1, sizeof(struct ap_sign_trust));
}

int ap_sign_trust_add(struct ap_sign_trust *t, struct ap_sign_key *pub, struct ap_err *err)
{
	struct ap_sign_key **p;

	if (!pub)
		return ap_err_set(err, AP_E_USAGE, "no key to add to the trust store");
	p = ap_vec_grow(t->keys, &t->cap, t->n + 1, sizeof(*p));
	if (!p) {
		ap_sign_key_free(pub);
		return ap_err_set(err, AP_E_NOMEM, "out of memory adding a trusted key");
	}
	t->keys = p;
	t->keys[t->n++] = pub;
	return 0;
}

size_t ap_sign_trust_count(const struct ap_sign_trust *t)
{
	return t ? t->n : 0;
}

const struct ap_sign_key *ap_sign_trust_key(const struct ap_sign_trust *t, size_t i)
{
	return t && i < t->n ? t->keys[i] : NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s);
	size_t lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

static int trust_load_dir(struct ap_sign_trust *t, const char *path, struct ap_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	rc = ap_fsx_list_dir(path, &names, &n, err);
	if (rc < 0) {
		ap_err_prefix(err, "cannot load trust store");
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct ap_sign_key *k = NULL;
		char *file;

		if (!ends_with(names[i], ".pem"))
			continue;
		file = ap_fsx_path_join(path, names[i]);
		if (!file) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory loading trust store '%s'",
					path);
			goto out;
		}
		rc = ap_sign_key_load_public(file, &k, err);
		free(file);
		if (rc < 0) {
			ap_err_prefix(err, "trust store '%s'", path);
			goto out;
		}
		rc = ap_sign_trust_add(t, k, err);
		if (rc < 0)
			goto out;
	}
	if (t->n == 0)
		rc = ap_err_set(err, AP_E_NOTFOUND,
				"trust store folder '%s' holds no *.pem public keys", path);
out:
	ap_fsx_strv_free(names, n);
	return rc;
}

int ap_sign_trust_load(const char *path, struct ap_sign_trust **out, struct ap_err *err)
{
	struct ap_sign_trust *t = NULL;
	struct ap_sign_key *k = NULL;
	struct ap_stat st;
	int rc;

	rc = ap_fsx_stat(path, &st, err);
	if (rc < 0) {
		ap_err_prefix(err, "cannot load trust store");
		return rc;
	}
	if (st.type == AP_FT_NONE)
		return ap_err_set(err, AP_E_NOTFOUND, "trust store '%s' does not exist", path);
	t = ap_sign_trust_new();
	if (!t)
		return ap_err_set(err, AP_E_NOMEM, "out of memory loading trust store '%s'", path);
	if (ap_fsx_is_dir(path)) {
		rc = trust_load_dir(t, path, err);
	} else {
		rc = ap_sign_key_load_public(path, &k, err);
		if (rc == 0)
			rc = ap_sign_trust_add(t, k, err);
	}
	if (rc < 0) {
		ap_sign_trust_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int ap_sign_trust_verify(const struct ap_sign_trust *t, const char *key_id, const void *msg,
			 size_t len, const unsigned char *sig, size_t sig_len,
			 char signer_id[AP_KEY_ID_LEN], struct ap_err *err)
{
	size_t tried = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct ap_sign_key *k = t->keys[i];
		int v;

		if (key_id && strcasecmp(key_id, k->id) != 0)
			continue;
		tried++;
		v = verify_one(k, msg, len, sig, sig_len, err);
		if (v < 0)
			return v;
		if (v == 1) {
			if (signer_id)
				memcpy(signer_id, k->id, AP_KEY_ID_LEN);
			return 0;
		}
	}
	if (key_id && tried == 0)
		return ap_err_set(err, AP_E_UNTRUSTED,
				  "signed by a key you do not trust (key id %s)", key_id);
	if (key_id)
		return ap_err_set(err, AP_E_SIGNATURE,
				  "bad signature for trusted key id %s: the message or the "
				  "signature was altered",
				  key_id);
	if (t->n == 0)
		return ap_err_set(err, AP_E_SIGNATURE,
				  "bad signature: the trust store holds no keys to verify it");
	return ap_err_set(err, AP_E_SIGNATURE,
			  "bad signature: none of the %zu trusted keys verifies it", t->n);
}

void ap_sign_trust_free(struct ap_sign_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		ap_sign_key_free(t->keys[i]);
	free(t->keys);
	free(t);
}
