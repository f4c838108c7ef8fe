/* sfx.c - self-extracting setup trailer; see airpack/sfx.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/sfx.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/platform.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define COPY_BUF (1u << 20)
/* How far before the end a stray trailer is looked for when the last 64
 * bytes are not one: enough to catch a few appended bytes or lines. */
#define SCAN_BACK 4096u

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The magic is kept shifted by one so the stub's own bytes never contain it
 * verbatim (a scan for a stray trailer must not find the program itself). */
static const unsigned char magic_plus1[6] = {
	'A' + 1, 'P' + 1, 'S' + 1, 'F' + 1, 'X' + 1, '1' + 1
};

static void put_magic(unsigned char *p)
{
	for (int i = 0; i < 6; i++)
		p[i] = (unsigned char)(magic_plus1[i] - 1);
}

static bool is_magic(const unsigned char *p, size_t avail)
{
	for (int i = 0; i < 6; i++)
		if (p[i] != (unsigned char)(magic_plus1[i] - 1))
			return false;
	return avail < 8 || ((p[6] & ~AP_SFX_DETACHED) == 0 && p[7] == 0);
}

/* A trailer-looking block somewhere in the last SCAN_BACK bytes (but not at
 * the very end) means bytes were appended after a real trailer. */
static int64_t find_stray_trailer(FILE *fp, uint64_t fsize)
{
	unsigned char *buf;
	uint64_t start = fsize > SCAN_BACK ? fsize - SCAN_BACK : 0;
	size_t n = (size_t)(fsize - start);
	int64_t found = -1;

	buf = malloc(n ? n : 1);
	if (!buf)
		return -1;
	if (fseeko(fp, (off_t)start, SEEK_SET) == 0 && fread(buf, 1, n, fp) == n) {
		for (size_t i = 0; i + 6 <= n; i++) {
			if (is_magic(buf + i, n - i)) {
				found = (int64_t)(start + i);
				break;
			}
		}
	}
	free(buf);
	return found;
}

int ap_sfx_probe(const char *path, struct ap_sfx_info *info, struct ap_err *err)
{
	unsigned char t[AP_SFX_TRAILER_LEN];
	struct ap_sfx_info in;
	FILE *fp = NULL;
	uint64_t fsize, want;
	int64_t stray;
	int rc;

	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc)
		return rc;
	if (fseeko(fp, 0, SEEK_END) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot seek in '%s'", path);
		goto out;
	}
	fsize = (uint64_t)ftello(fp);
	if (fsize < AP_SFX_TRAILER_LEN) {
		rc = ap_err_set(err, AP_E_NOTFOUND, "'%s' is not a self-extracting setup", path);
		goto out;
	}
	if (fseeko(fp, (off_t)(fsize - AP_SFX_TRAILER_LEN), SEEK_SET) != 0 ||
	    fread(t, 1, sizeof(t), fp) != sizeof(t)) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read the end of '%s'", path);
		goto out;
	}
	if (!is_magic(t, sizeof(t))) {
		stray = find_stray_trailer(fp, fsize);
		if (stray >= 0 && (uint64_t)stray + AP_SFX_TRAILER_LEN > fsize) {
			uint64_t cut = (uint64_t)stray + AP_SFX_TRAILER_LEN - fsize;
			rc = ap_err_set(err, AP_E_TRUNCATED,
					"setup '%s' is truncated: its last %llu bytes are missing",
					path, (unsigned long long)cut);
		} else if (stray >= 0) {
			uint64_t extra = fsize - (uint64_t)stray - AP_SFX_TRAILER_LEN;
			rc = ap_err_set(err, AP_E_TRUNCATED,
					"setup '%s' has %llu unexpected bytes appended after its "
					"trailer: refusing to use it",
					path, (unsigned long long)extra);
		} else {
			rc = ap_err_set(err, AP_E_NOTFOUND,
					"'%s' is not a self-extracting setup (no trailer)", path);
		}
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.detached = (t[6] & AP_SFX_DETACHED) != 0;
	in.stub_len = get_u64(t + 8);
	in.key_len = get_u64(t + 16);
	in.bundle_len = get_u64(t + 24);
	memcpy(in.sha256, t + 32, 32);
	in.key_off = in.stub_len;
	in.bundle_off = in.stub_len + in.key_len;
	want = in.stub_len + in.key_len + in.bundle_len + AP_SFX_TRAILER_LEN;
	if (in.stub_len > fsize || in.key_len > fsize || in.bundle_len > fsize || want != fsize) {
		if (want > fsize)
			rc = ap_err_set(
				err, AP_E_TRUNCATED,
				"setup '%s' is truncated: %llu bytes missing (expected %llu "
				"bytes, found %llu)",
				path, (unsigned long long)(want - fsize), (unsigned long long)want,
				(unsigned long long)fsize);
		else
			rc = ap_err_set(err, AP_E_TRUNCATED,
					"setup '%s' has %llu bytes more than its trailer records "
					"(expected %llu bytes, found %llu)",
					path, (unsigned long long)(fsize - want),
					(unsigned long long)want, (unsigned long long)fsize);
		goto out;
	}
	*info = in;
	rc = 0;
out:
	fclose(fp);
	return rc;
}

int ap_sfx_check(const char *path, const struct ap_sfx_info *info, struct ap_err *err)
{
	unsigned char *buf = NULL;
	struct ap_digest *h = NULL;
	unsigned char got[32];
	uint64_t left = info->key_len + info->bundle_len;
	FILE *fp = NULL;
	int rc;

	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc)
		return rc;
	buf = malloc(COPY_BUF);
	h = ap_digest_new();
	if (!buf || !h) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	if (fseeko(fp, (off_t)info->key_off, SEEK_SET) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot seek in '%s'", path);
		goto out;
	}
	while (left > 0) {
		size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
		size_t n = fread(buf, 1, want, fp);
		if (n == 0) {
			rc = ap_err_set(err, AP_E_TRUNCATED, "setup '%s' is truncated", path);
			goto out;
		}
		ap_digest_update(h, buf, n);
		left -= n;
	}
	ap_digest_final(h, got);
	if (memcmp(got, info->sha256, 32) != 0) {
		char want_hex[AP_SHA256_HEX], got_hex[AP_SHA256_HEX];
		ap_str_hex_encode(info->sha256, 32, want_hex);
		ap_str_hex_encode(got, 32, got_hex);
		rc = ap_err_set(err, AP_E_TRUNCATED,
				"setup '%s' is damaged: its embedded release hashes to %s, the "
				"trailer records %s",
				path, got_hex, want_hex);
		goto out;
	}
	rc = 0;
out:
	ap_digest_free(h);
	free(buf);
	fclose(fp);
	return rc;
}

struct ap_sfx_writer {
	struct ap_fsx_afile f;
	struct ap_digest *h; /* over key + bundle, up to hashed_end */
	unsigned char *buf;
	uint64_t stub_len, key_len;
	/* Where the bytes hashed so far end: what was written on the stream
	 * directly, from there to the end, is read back at commit. */
	uint64_t hashed_end;
	bool detached;
};

/* Copy in to the setup (through w->h when hash), from in's current
 * position to its end; *len gets the bytes copied.  With platform,
 * *platform is what the first bytes read say (platform.h). */
static int copy_in(struct ap_sfx_writer *w, FILE *in, const char *name, bool hash, uint64_t *len,
		   const char **platform, struct ap_err *err)
{
	size_t n;
	int rc = 0;

	*len = 0;
	while ((n = fread(w->buf, 1, COPY_BUF, in)) > 0) {
		if (platform && *len == 0)
			*platform = ap_platform_of_header(w->buf, n);
		if (hash)
			ap_digest_update(w->h, w->buf, n);
		rc = ap_fsx_afile_write(&w->f, w->buf, n, err);
		if (rc)
			return rc;
		*len += n;
	}
	if (ferror(in))
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", name);
	return rc;
}

/* The stub, as copied: the platform chosen, and not a setup already. */
static int copy_stub(struct ap_sfx_writer *w, const char *stub_path, const char *stub_platform,
		     struct ap_err *err)
{
	const char *copied = NULL;
	FILE *in = NULL;
	int rc;

	rc = ap_fsx_fopen(stub_path, "rb", &in, err);
	if (rc)
		return rc;
	rc = copy_in(w, in, stub_path, false, &w->stub_len, &copied, err);
	fclose(in);
	if (rc)
		return rc;
	if (copied != stub_platform && (!copied || !stub_platform || strcmp(copied, stub_platform)))
		return ap_err_set(err, AP_E_USAGE,
				  "stub '%s' changed while the setup was written: it is now for "
				  "platform '%s', it was for '%s'",
				  stub_path, copied ? copied : "unknown",
				  stub_platform ? stub_platform : "unknown");
	if (w->stub_len >= AP_SFX_TRAILER_LEN) {
		struct ap_sfx_info dummy;
		struct ap_err e2 = AP_ERR_INIT;
		if (ap_sfx_probe(stub_path, &dummy, &e2) != AP_E_NOTFOUND)
			return ap_err_set(
				err, AP_E_USAGE,
				"stub '%s' is already a self-extracting setup: use the plain "
				"airpack-setup executable",
				stub_path);
	}
	return 0;
}

int ap_sfx_writer_open(const char *out_path, const char *stub_path, const char *stub_platform,
		       const char *key_pem, size_t key_len, bool detached,
		       struct ap_sfx_writer **wp, struct ap_err *err)
{
	struct ap_sfx_writer *w;
	int rc;

	w = calloc(1, sizeof(*w));
	if (!w)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	w->f = (struct ap_fsx_afile)AP_AFILE_INIT;
	w->detached = detached;
	w->buf = malloc(COPY_BUF);
	w->h = ap_digest_new();
	if (!w->buf || !w->h) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto fail;
	}
	rc = ap_fsx_afile_open(&w->f, out_path, 0755, err);
	if (rc == 0)
		rc = copy_stub(w, stub_path, stub_platform, err);
	if (rc == 0 && key_pem && key_len) {
		ap_digest_update(w->h, key_pem, key_len);
		rc = ap_fsx_afile_write(&w->f, key_pem, key_len, err);
		w->key_len = key_len;
	}
	if (rc)
		goto fail;
	w->hashed_end = w->stub_len + w->key_len;
	*wp = w;
	return 0;
fail:
	ap_sfx_writer_free(w);
	return rc;
}

FILE *ap_sfx_writer_stream(struct ap_sfx_writer *w)
{
	return w->f.fp;
}

int ap_sfx_writer_append(struct ap_sfx_writer *w, FILE *in, const char *name, struct ap_err *err)
{
	uint64_t len = 0;
	int rc;

	if (fseeko(w->f.fp, 0, SEEK_END) != 0 || ftello(w->f.fp) != (off_t)w->hashed_end)
		return ap_err_set(err, AP_E_USAGE,
				  "setup '%s': appending '%s' after bytes not hashed yet",
				  w->f.path, name);
	if (fseeko(in, 0, SEEK_SET) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot seek in '%s'", name);
	rc = copy_in(w, in, name, true, &len, NULL, err);
	if (rc == 0)
		w->hashed_end += len;
	return rc;
}

/* Hash [hashed_end, end) of the setup: what was written on its stream
 * directly, read back now that it is final. */
static int hash_written(struct ap_sfx_writer *w, uint64_t end, struct ap_err *err)
{
	uint64_t left = end - w->hashed_end;

	if (fflush(w->f.fp) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot write '%s'", w->f.tmp);
	if (left == 0)
		return 0;
	if (fseeko(w->f.fp, (off_t)w->hashed_end, SEEK_SET) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot seek in '%s'", w->f.tmp);
	while (left > 0) {
		size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
		size_t n = fread(w->buf, 1, want, w->f.fp);

		if (n == 0)
			return ap_err_sys(err, AP_E_IO, "cannot read back '%s'", w->f.tmp);
		ap_digest_update(w->h, w->buf, n);
		left -= n;
	}
	w->hashed_end = end;
	return 0;
}

int ap_sfx_writer_commit(struct ap_sfx_writer *w, struct ap_err *err)
{
	unsigned char t[AP_SFX_TRAILER_LEN];
	off_t end;
	int rc;

	if (fflush(w->f.fp) != 0 || fseeko(w->f.fp, 0, SEEK_END) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot write '%s'", w->f.tmp);
		goto out;
	}
	end = ftello(w->f.fp);
	if (end < 0 || (uint64_t)end < w->hashed_end) {
		rc = ap_err_sys(err, AP_E_IO, "cannot find the end of '%s'", w->f.tmp);
		goto out;
	}
	/* The disk writes the setup while it is read back from the page
	 * cache and hashed; commit then syncs only the trailer. */
	rc = ap_fsx_afile_sync_start(&w->f, err);
	if (rc == 0)
		rc = hash_written(w, (uint64_t)end, err);
	if (rc)
		goto out;
	if (fseeko(w->f.fp, 0, SEEK_END) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot seek in '%s'", w->f.tmp);
		goto out;
	}
	memset(t, 0, sizeof(t));
	put_magic(t);
	t[6] = w->detached ? AP_SFX_DETACHED : 0;
	put_u64(t + 8, w->stub_len);
	put_u64(t + 16, w->key_len);
	put_u64(t + 24, (uint64_t)end - w->stub_len - w->key_len);
	ap_digest_final(w->h, t + 32);
	rc = ap_fsx_afile_write(&w->f, t, sizeof(t), err);
	if (rc == 0)
		rc = ap_fsx_afile_commit(&w->f, err);
out:
	if (rc)
		ap_fsx_afile_abort(&w->f);
	return rc;
}

void ap_sfx_writer_free(struct ap_sfx_writer *w)
{
	if (!w)
		return;
	ap_fsx_afile_abort(&w->f);
	ap_digest_free(w->h);
	free(w->buf);
	free(w);
}
