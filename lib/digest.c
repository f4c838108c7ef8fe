/* digest.c - streaming SHA-256 over OpenSSL EVP; see airpack/digest.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define FILE_BUF (1024 * 1024)

struct ap_digest {
	EVP_MD_CTX *ctx;
	/* A failed EVP call cannot be reported through the void API, so it
	 * is remembered and the final digest is poisoned instead. */
	bool failed;
};

struct ap_digest *ap_digest_new(void)
{
	struct ap_digest *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx) {
		free(h);
		return NULL;
	}
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		h->failed = true;
	return h;
}

void ap_digest_update(struct ap_digest *h, const void *data, size_t len)
{
	if (h->failed || len == 0)
		return;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		h->failed = true;
}

void ap_digest_final(struct ap_digest *h, unsigned char out[AP_SHA256_LEN])
{
	unsigned int n = 0;

	if (h->failed || EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != AP_SHA256_LEN) {
		/* All zeroes never matches a real expected digest. */
		memset(out, 0, AP_SHA256_LEN);
		h->failed = true;
	}
}

void ap_digest_final_hex(struct ap_digest *h, char hex[AP_SHA256_HEX])
{
	unsigned char md[AP_SHA256_LEN];

	ap_digest_final(h, md);
	ap_str_hex_encode(md, sizeof(md), hex);
}

void ap_digest_reset(struct ap_digest *h)
{
	h->failed = EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1;
}

void ap_digest_free(struct ap_digest *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void ap_digest_hex(const void *data, size_t len, char hex[AP_SHA256_HEX])
{
	unsigned char md[AP_SHA256_LEN];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != AP_SHA256_LEN)
		memset(md, 0, sizeof(md));
	ap_str_hex_encode(md, sizeof(md), hex);
}

int ap_digest_fp(FILE *fp, const char *path, char hex[AP_SHA256_HEX], uint64_t *size_out,
		 void (*progress)(void *ctx, uint64_t done), void *ctx, struct ap_err *err)
{
	struct ap_digest *h = NULL;
	unsigned char *buf = NULL;
	uint64_t done = 0;
	int rc = 0;

	buf = malloc(FILE_BUF);
	h = ap_digest_new();
	if (!buf || !h) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory hashing '%s'", path);
		goto out;
	}
	for (;;) {
		size_t n = fread(buf, 1, FILE_BUF, fp);

		if (n > 0) {
			ap_digest_update(h, buf, n);
			done += n;
			if (progress)
				progress(ctx, done);
		}
		if (n < FILE_BUF) {
			if (ferror(fp)) {
				rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
				goto out;
			}
			break;
		}
	}
	if (h->failed) {
		rc = ap_err_set(err, AP_E_CRYPTO, "sha256 of '%s' failed in the crypto library",
				path);
		goto out;
	}
	{
		char tmp[AP_SHA256_HEX];

		ap_digest_final_hex(h, tmp);
		if (h->failed) {
			rc = ap_err_set(err, AP_E_CRYPTO,
					"sha256 of '%s' failed in the crypto library", path);
			goto out;
		}
		memcpy(hex, tmp, AP_SHA256_HEX);
	}
	if (size_out)
		*size_out = done;
out:
	ap_digest_free(h);
	free(buf);
	return rc;
}

int ap_digest_file(const char *path, char hex[AP_SHA256_HEX], uint64_t *size_out,
		   void (*progress)(void *ctx, uint64_t done), void *ctx, struct ap_err *err)
{
	FILE *fp = NULL;
	int rc;

	if (ap_fsx_fopen(path, "rb", &fp, NULL) != 0)
		return ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				  "cannot open '%s' to hash it", path);
	rc = ap_digest_fp(fp, path, hex, size_out, progress, ctx, err);
	fclose(fp);
	return rc;
}

bool ap_digest_is_hex(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++) {
		if (i >= 64 || ap_str_hex_digit(s[i]) < 0)
			return false;
	}
	return i == 64;
}

bool ap_digest_eq(const char *a, const char *b)
{
	if (!ap_digest_is_hex(a) || !ap_digest_is_hex(b))
		return false;
	for (size_t i = 0; i < 64; i++)
		if (ap_str_hex_digit(a[i]) != ap_str_hex_digit(b[i]))
			return false;
	return true;
}
