/* bundle.c - write and stream-read release bundles; see airpack/bundle.h.
 *
 * Writer layout (offsets relative to where the bundle starts):
 *
 *   [head]     tar entries manifest.json + manifest.json.sig, no end marker;
 *              for gzip a gzip member of stored blocks framed here
 *   [payloads] tar entries of the payloads + end marker; for gzip one
 *              deflated gzip member
 *
 * Both parts have lengths that do not depend on the compressor for the
 * head, so the head's room is reserved by seeking past it, the payloads are
 * streamed once, and the head is written into its room at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "archive_name.h"
#include "airpack/bundle.h"
#include "airpack/fsx.h"
#include "airpack/hashring.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define TAR_BLOCK 512u
#define TAR_END (2 * TAR_BLOCK)
#define WRITE_BLOCK (64 * 1024)
#define STORED_MAX 65535u
#define GZ_HEADER_LEN 10u
#define GZ_TRAILER_LEN 8u
#define STORED_HDR_LEN 5u
#define CHUNK (1024u * 1024u)
#define RING_CHUNK (512u * 1024u) /* a slot of the threaded ring (hashring.h) */
#define ZBUF (256u * 1024u)
#define RBUF (256u * 1024u)
#define USTAR_MTIME_MAX 077777777777LL /* 11 octal digits: no pax header needed */

/* A bundle entry is one plain file name: nothing that could name another
 * folder on any system we target. */
static const char *unsafe_name_reason(const char *name)
{
	const unsigned char *p;

	if (!name || !*name)
		return "empty name";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "names a folder";
	for (p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p == '\\')
			return "contains a path separator";
		if (*p < 0x20 || *p == 0x7f)
			return "contains a control character";
	}
	if (strstr(name, ".."))
		return "contains '..'";
	return NULL;
}

static uint64_t pad512(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

static uint64_t head_tar_len(size_t manifest_len, size_t sig_len)
{
	return TAR_BLOCK + pad512(manifest_len) + TAR_BLOCK + pad512(sig_len);
}

static uint64_t stored_blocks(uint64_t raw)
{
	return raw == 0 ? 1 : (raw + STORED_MAX - 1) / STORED_MAX;
}

static uint64_t head_len(enum ap_compress compress, size_t manifest_len, size_t sig_len)
{
	uint64_t raw = head_tar_len(manifest_len, sig_len);

	if (compress == AP_COMPRESS_NONE)
		return raw;
	return GZ_HEADER_LEN + STORED_HDR_LEN * stored_blocks(raw) + raw + GZ_TRAILER_LEN;
}

/* Every tar writer here makes the same byte layout: pax_restricted (plain
 * ustar headers for the names and sizes we write) and no padding after the
 * end marker (bytes_in_last_block 1).  With that, the block size only sets
 * how libarchive batches its output: 64 KiB blocks give the same bytes as
 * 512-byte ones with far fewer callback calls (measured ~8% faster). */
static int tar_writer_new(struct archive **out, struct ap_err *err)
{
	struct archive *a = archive_write_new();

	if (!a)
		return ap_err_set(err, AP_E_NOMEM, "out of memory creating a tar writer");
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, WRITE_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		int rc = ap_err_set(err, AP_E_BUNDLE, "setting up the tar writer: %s",
				    archive_error_string(a));
		archive_write_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

static int write_entry_header(struct archive *a, const char *name, uint64_t size, int64_t mtime,
			      struct ap_err *err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return ap_err_set(err, AP_E_NOMEM, "out of memory for entry '%s'", name);
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	archive_entry_set_size(e, (la_int64_t)size);
	r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return ap_err_set(err, AP_E_BUNDLE, "writing the tar header of '%s': %s", name,
				  archive_error_string(a));
	return 0;
}

static int write_entry_data(struct archive *a, const char *name, const void *data, size_t len,
			    struct ap_err *err)
{
	la_ssize_t n;

	if (len == 0)
		return 0;
	n = archive_write_data(a, data, len);
	if (n < 0 || (size_t)n != len)
		return ap_err_set(err, AP_E_BUNDLE, "writing the data of '%s': %s", name,
				  n < 0 ? archive_error_string(a) : "short write");
	return 0;
}

/* ---- writer ---- */

struct ap_bundle_writer {
	FILE *out;
	enum ap_compress compress;
	int64_t mtime;
	size_t manifest_len, sig_len;
	off_t start;
	uint64_t head_len;

	struct archive *a; /* the payload tar writer */
	bool z_live;
	z_stream zs;
	gz_header gzhead; /* zlib keeps a pointer to it until the header is out */
	unsigned char *zbuf;
	/* Payloads are read and hashed through a ring: one buffer hashed on
	 * this thread for small payloads, and (made at the first big one)
	 * a few hashed on a second thread while libarchive writes them. */
	struct ap_hashring *ring, *ring_mt;

	int io_errno; /* first failed write to out, for the message */
	bool discard; /* drop bytes libarchive still emits after a failure */
	bool failed;  /* an earlier call failed: the output is unusable */
	bool finished;
};

static int out_write(struct ap_bundle_writer *w, const void *data, size_t len)
{
	errno = 0;
	if (len && fwrite(data, 1, len, w->out) != len) {
		w->io_errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* Feed the deflate stream and write what it produces. */
static int z_feed(struct ap_bundle_writer *w, const void *data, size_t len, int flush)
{
	int zr;

	w->zs.next_in = (Bytef *)(uintptr_t)data;
	w->zs.avail_in = (uInt)len;
	do {
		w->zs.next_out = w->zbuf;
		w->zs.avail_out = ZBUF;
		zr = deflate(&w->zs, flush);
		if (zr == Z_STREAM_ERROR)
			return -1;
		if (out_write(w, w->zbuf, ZBUF - w->zs.avail_out) < 0)
			return -1;
	} while (w->zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static la_ssize_t payload_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct ap_bundle_writer *w = ctx;
	int r;

	if (w->discard)
		return (la_ssize_t)len;
	if (w->compress == AP_COMPRESS_GZIP)
		r = z_feed(w, buf, len, Z_NO_FLUSH);
	else
		r = out_write(w, buf, len);
	if (r < 0) {
		if (w->io_errno)
			archive_set_error(a, w->io_errno, "writing the bundle: %s",
					  strerror(w->io_errno));
		else
			archive_set_error(a, EINVAL, "deflating the bundle failed");
		return -1;
	}
	return (la_ssize_t)len;
}

/* Sets up libarchive's writer option by option, each return checked: long, and clearer flat. */
int ap_bundle_writer_open(FILE *out, enum ap_compress compress, int level, int64_t mtime,
			  size_t manifest_len, size_t sig_len, struct ap_bundle_writer **wp,
			  struct ap_err *err)
{
	struct ap_bundle_writer *w = NULL;
	int rc;

	if (!out || !wp)
		return ap_err_set(err, AP_E_USAGE, "bundle writer: no output stream");
	if (compress != AP_COMPRESS_NONE && compress != AP_COMPRESS_GZIP)
		return ap_err_set(err, AP_E_USAGE, "bundle writer: unknown compression %d",
				  (int)compress);
	if (compress == AP_COMPRESS_GZIP && (level < 1 || level > 9))
		return ap_err_set(err, AP_E_USAGE, "bundle writer: gzip level must be 1-9, got %d",
				  level);
	if (mtime < 0 || mtime > USTAR_MTIME_MAX)
		return ap_err_set(err, AP_E_USAGE,
				  "bundle writer: mtime must be 0..%lld, got %" PRId64,
				  USTAR_MTIME_MAX, mtime);
	if (manifest_len > AP_MANIFEST_MAX)
		return ap_err_set(err, AP_E_TOOBIG,
				  "bundle manifest is too big: %zu bytes, at most %u", manifest_len,
				  AP_MANIFEST_MAX);
	if (sig_len > AP_SIG_MAX)
		return ap_err_set(err, AP_E_TOOBIG,
				  "bundle signature is too big: %zu bytes, at most %u", sig_len,
				  AP_SIG_MAX);

	w = calloc(1, sizeof(*w));
	if (!w)
		return ap_err_set(err, AP_E_NOMEM, "out of memory for the bundle writer");
	w->out = out;
	w->compress = compress;
	w->mtime = mtime;
	w->manifest_len = manifest_len;
	w->sig_len = sig_len;
	w->head_len = head_len(compress, manifest_len, sig_len);
	rc = ap_hashring_new(CHUNK, false, &w->ring, err);
	if (rc < 0)
		goto fail;
	if (compress == AP_COMPRESS_GZIP) {
		w->zbuf = malloc(ZBUF);
		if (!w->zbuf) {
			rc = ap_err_set(err, AP_E_NOMEM, "out of memory for the bundle writer");
			goto fail;
		}
		if (deflateInit2(&w->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK) {
			rc = ap_err_set(err, AP_E_NOMEM, "starting the gzip compressor failed");
			goto fail;
		}
		w->z_live = true;
		/* 15+16 gives a gzip wrapper with mtime 0 and no name, but with
		 * the build's OS code (3 here, 10 from a Windows zlib): name OS
		 * "unknown" like the head member so every build makes the same
		 * bytes. */
		w->gzhead.os = 255;
		if (deflateSetHeader(&w->zs, &w->gzhead) != Z_OK) {
			rc = ap_err_set(err, AP_E_BUNDLE, "setting the gzip header failed");
			goto fail;
		}
	}

	w->start = ftello(out);
	if (w->start < 0) {
		rc = ap_err_sys(err, AP_E_IO, "bundle output is not seekable");
		goto fail;
	}
	if (fseeko(out, w->start + (off_t)w->head_len, SEEK_SET) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "reserving %" PRIu64 " bytes for the bundle head",
				w->head_len);
		goto fail;
	}

	rc = tar_writer_new(&w->a, err);
	if (rc < 0)
		goto fail;
	if (archive_write_open(w->a, w, NULL, payload_write_cb, NULL) != ARCHIVE_OK) {
		rc = ap_err_set(err, AP_E_BUNDLE, "starting the bundle archive: %s",
				archive_error_string(w->a));
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	ap_bundle_writer_free(w);
	return rc;
}

static int writer_usable(struct ap_bundle_writer *w, struct ap_err *err)
{
	if (!w)
		return ap_err_set(err, AP_E_USAGE, "bundle writer: not open");
	if (w->finished)
		return ap_err_set(err, AP_E_USAGE, "bundle writer: already finished");
	if (w->failed)
		return ap_err_set(err, AP_E_USAGE, "bundle writer: an earlier write failed");
	return 0;
}

/* The file behind fp holds more than `size` bytes: find out how many, for
 * the message. */
static uint64_t actual_size(FILE *fp, uint64_t fallback)
{
	off_t end;

	if (fseeko(fp, 0, SEEK_END) != 0)
		return fallback;
	end = ftello(fp);
	return end < 0 ? fallback : (uint64_t)end;
}

/* The ring a payload of size bytes is read through: the threaded one for
 * a big payload (made once; the one-thread ring when it cannot be). */
static struct ap_hashring *payload_ring(struct ap_bundle_writer *w, uint64_t size)
{
	if (size < AP_HASHRING_MIN_THREADED)
		return w->ring;
	if (!w->ring_mt && ap_hashring_new(RING_CHUNK, true, &w->ring_mt, NULL) != 0)
		return w->ring;
	return w->ring_mt;
}

/* The payload's bytes from fp into the current entry, each buffer hashed
 * (on the ring's thread) while libarchive writes it; exactly size bytes,
 * else AP_E_DIGEST naming both sizes. */
static int copy_payload(struct ap_bundle_writer *w, struct ap_hashring *ring, FILE *fp,
			const char *name, const char *path, uint64_t size,
			void (*progress)(void *ctx, uint64_t done), void *ctx,
			char hex[AP_SHA256_HEX], struct ap_err *err)
{
	size_t cap = ring == w->ring ? CHUNK : RING_CHUNK;
	unsigned char extra;
	uint64_t done = 0;
	int rc;

	while (done < size) {
		unsigned char *buf = ap_hashring_buf(ring);
		size_t want = size - done < cap ? (size_t)(size - done) : cap;
		size_t n = fread(buf, 1, want, fp);

		if (n == 0 && ferror(fp))
			return ap_err_sys(err, AP_E_IO, "reading payload '%s'", path);
		if (n == 0)
			return ap_err_set(err, AP_E_DIGEST,
					  "payload '%s' has the wrong size: expected %" PRIu64
					  " bytes, found %" PRIu64,
					  path, size, done);
		ap_hashring_submit(ring, n);
		rc = write_entry_data(w->a, name, buf, n, err);
		if (rc < 0)
			return rc;
		done += n;
		if (progress)
			progress(ctx, done);
	}
	if (fread(&extra, 1, 1, fp) != 0)
		return ap_err_set(err, AP_E_DIGEST,
				  "payload '%s' has the wrong size: expected %" PRIu64
				  " bytes, found %" PRIu64,
				  path, size, actual_size(fp, size + 1));
	if (ferror(fp))
		return ap_err_sys(err, AP_E_IO, "reading payload '%s'", path);
	ap_hashring_final_hex(ring, hex);
	return 0;
}

int ap_bundle_writer_add_file(struct ap_bundle_writer *w, const char *name, const char *path,
			      uint64_t size, char hex[AP_SHA256_HEX],
			      void (*progress)(void *ctx, uint64_t done), void *ctx,
			      struct ap_err *err)
{
	char qn[256];
	const char *why;
	FILE *fp = NULL;
	int rc;

	rc = writer_usable(w, err);
	if (rc < 0)
		return rc;
	why = unsafe_name_reason(name);
	if (why)
		return ap_err_set(err, AP_E_UNSAFE, "bundle entry name '%s' is not safe: %s",
				  ap_str_quoted(name ? name : "", qn, sizeof(qn)), why);
	if (strcmp(name, AP_BUNDLE_MANIFEST) == 0 || strcmp(name, AP_BUNDLE_SIG) == 0)
		return ap_err_set(err, AP_E_USAGE,
				  "bundle entry name '%s' is reserved for the bundle head", name);

	if (ap_fsx_fopen(path, "rb", &fp, NULL) != 0)
		return ap_err_sys(err, AP_E_IO, "cannot open payload '%s'", path);

	/* From here on the archive may hold part of this entry. */
	w->failed = true;
	rc = write_entry_header(w->a, name, size, w->mtime, err);
	if (rc == 0)
		rc = copy_payload(w, payload_ring(w, size), fp, name, path, size, progress, ctx,
				  hex, err);
	if (rc == 0)
		w->failed = false;
	fclose(fp);
	return rc;
}

/* The two head entries as raw tar bytes (no end marker). */
static int build_head_tar(const struct ap_bundle_writer *w, const void *manifest, const void *sig,
			  unsigned char **out, size_t *out_len, struct ap_err *err)
{
	struct archive *a = NULL;
	size_t want = (size_t)head_tar_len(w->manifest_len, w->sig_len);
	size_t cap = want + TAR_END + TAR_BLOCK;
	size_t used = 0, i;
	unsigned char *buf;
	int rc;

	buf = calloc(1, cap);
	if (!buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory for the bundle head");
	rc = tar_writer_new(&a, err);
	if (rc < 0)
		goto out;
	if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK) {
		rc = ap_err_set(err, AP_E_BUNDLE, "starting the bundle head: %s",
				archive_error_string(a));
		goto out;
	}
	rc = write_entry_header(a, AP_BUNDLE_MANIFEST, w->manifest_len, w->mtime, err);
	if (rc == 0)
		rc = write_entry_data(a, AP_BUNDLE_MANIFEST, manifest, w->manifest_len, err);
	if (rc == 0)
		rc = write_entry_header(a, AP_BUNDLE_SIG, w->sig_len, w->mtime, err);
	if (rc == 0)
		rc = write_entry_data(a, AP_BUNDLE_SIG, sig, w->sig_len, err);
	if (rc < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		rc = ap_err_set(err, AP_E_BUNDLE, "finishing the bundle head: %s",
				archive_error_string(a));
		goto out;
	}
	/* The layout the reserved room was computed from must be what
	 * libarchive made, or the bundle would be corrupt. */
	if (used != want + TAR_END) {
		rc = ap_err_set(err, AP_E_BUNDLE,
				"bundle head layout differs from the reserved room: expected %zu "
				"bytes, libarchive wrote %zu",
				want + TAR_END, used);
		goto out;
	}
	for (i = want; i < used; i++) {
		if (buf[i] != 0) {
			rc = ap_err_set(err, AP_E_BUNDLE,
					"bundle head layout differs from the reserved room: no "
					"end marker at byte %zu",
					want);
			goto out;
		}
	}
	*out = buf;
	*out_len = want;
	buf = NULL;
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	free(buf);
	return rc;
}

static void le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void le32(unsigned char *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

/* The head as a gzip member of stored deflate blocks, framed by hand so
 * its length is known before the bytes are. */
static int write_stored_member(struct ap_bundle_writer *w, const unsigned char *raw, size_t len)
{
	static const unsigned char hdr[GZ_HEADER_LEN] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
	unsigned char b[STORED_HDR_LEN], tr[GZ_TRAILER_LEN];
	size_t off = 0;
	uLong crc = crc32(0L, Z_NULL, 0);

	if (out_write(w, hdr, sizeof(hdr)) < 0)
		return -1;
	do {
		size_t n = len - off < STORED_MAX ? len - off : STORED_MAX;

		b[0] = off + n == len ? 1 : 0; /* BFINAL, BTYPE 00 (stored) */
		le16(b + 1, (unsigned)n);
		le16(b + 3, (unsigned)n ^ 0xffffu);
		if (out_write(w, b, sizeof(b)) < 0 || out_write(w, raw + off, n) < 0)
			return -1;
		crc = crc32(crc, raw + off, (uInt)n);
		off += n;
	} while (off < len);
	le32(tr, (uint32_t)crc);
	le32(tr + 4, (uint32_t)(len & 0xffffffffu));
	return out_write(w, tr, sizeof(tr));
}

/* Manifest, signature and the reserved-room rewrite must happen in one order on one stream. */
int ap_bundle_writer_finish(struct ap_bundle_writer *w, const void *manifest, size_t manifest_len,
			    const void *sig, size_t sig_len, struct ap_err *err)
{
	unsigned char *head = NULL;
	size_t raw_len = 0;
	off_t end, pos;
	int rc;

	rc = writer_usable(w, err);
	if (rc < 0)
		return rc;
	if (manifest_len != w->manifest_len || sig_len != w->sig_len)
		return ap_err_set(err, AP_E_USAGE,
				  "bundle head lengths changed: opened with manifest %zu and "
				  "signature %zu bytes, finished with %zu and %zu",
				  w->manifest_len, w->sig_len, manifest_len, sig_len);
	if ((manifest_len && !manifest) || (sig_len && !sig))
		return ap_err_set(err, AP_E_USAGE, "bundle writer: no manifest or signature bytes");

	w->failed = true;
	if (archive_write_close(w->a) != ARCHIVE_OK) {
		rc = ap_err_set(err, AP_E_BUNDLE, "finishing the bundle archive: %s",
				archive_error_string(w->a));
		goto out;
	}
	if (w->z_live) {
		if (z_feed(w, NULL, 0, Z_FINISH) < 0) {
			rc = w->io_errno ? ap_err_set(err, AP_E_IO, "writing the bundle: %s",
						      strerror(w->io_errno))
					 : ap_err_set(err, AP_E_BUNDLE,
						      "finishing the gzip stream failed");
			goto out;
		}
		deflateEnd(&w->zs);
		w->z_live = false;
	}
	end = ftello(w->out);
	if (end < 0) {
		rc = ap_err_sys(err, AP_E_IO, "finding the end of the bundle");
		goto out;
	}

	rc = build_head_tar(w, manifest, sig, &head, &raw_len, err);
	if (rc < 0)
		goto out;
	if (fseeko(w->out, w->start, SEEK_SET) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "seeking back to the bundle head");
		goto out;
	}
	if (w->compress == AP_COMPRESS_GZIP)
		rc = write_stored_member(w, head, raw_len);
	else
		rc = out_write(w, head, raw_len);
	if (rc < 0) {
		errno = w->io_errno;
		rc = ap_err_sys(err, AP_E_IO, "writing the bundle head");
		goto out;
	}
	pos = ftello(w->out);
	if (pos != w->start + (off_t)w->head_len) {
		rc = ap_err_set(
			err, AP_E_BUNDLE,
			"bundle head length differs from the reserved room: expected %" PRIu64
			" bytes, wrote %lld",
			w->head_len, (long long)(pos - w->start));
		goto out;
	}
	if (fseeko(w->out, end, SEEK_SET) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "seeking to the end of the bundle");
		goto out;
	}
	if (fflush(w->out) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "writing the bundle");
		goto out;
	}
	w->failed = false;
	w->finished = true;
	rc = 0;
out:
	free(head);
	return rc;
}

void ap_bundle_writer_free(struct ap_bundle_writer *w)
{
	if (!w)
		return;
	if (w->a) {
		/* An unfinished archive would write its end marker on free. */
		w->discard = true;
		archive_write_free(w->a);
	}
	if (w->z_live)
		deflateEnd(&w->zs);
	ap_hashring_free(w->ring_mt);
	ap_hashring_free(w->ring);
	free(w->zbuf);
	free(w);
}

/* ---- reader ---- */

struct ap_bundle_reader {
	char *path;
	FILE *fp;
	uint64_t offset, length, pos; /* pos: bytes consumed of [offset, offset+length) */
	struct archive *a;
	unsigned char *rbuf;
	char *manifest;
	size_t manifest_len;
	unsigned char *sig;
	size_t sig_len;
	char *name;
	bool in_entry;
	/* Uncompressed offset where the current entry's data (with its
	 * padding) ends: the end-of-archive marker must follow the last. */
	int64_t entry_end;
	const char *last; /* name of the last entry, for messages */
};

static void note_entry_end(struct ap_bundle_reader *r, la_int64_t size)
{
	r->entry_end = (int64_t)archive_filter_bytes(r->a, 0) + (int64_t)pad512((uint64_t)size);
}

static la_ssize_t reader_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct ap_bundle_reader *r = ctx;
	uint64_t left = r->length - r->pos;
	size_t want = left < RBUF ? (size_t)left : RBUF;
	size_t n;

	*buf = r->rbuf;
	if (want == 0)
		return 0;
	n = fread(r->rbuf, 1, want, r->fp);
	if (n == 0 && ferror(r->fp)) {
		archive_set_error(a, errno ? errno : EIO, "reading '%s': %s", r->path,
				  strerror(errno ? errno : EIO));
		return -1;
	}
	r->pos += n;
	return (la_ssize_t)n;
}

static la_int64_t reader_skip_cb(struct archive *a, void *ctx, la_int64_t request)
{
	struct ap_bundle_reader *r = ctx;
	uint64_t left = r->length - r->pos;
	uint64_t n = (uint64_t)request < left ? (uint64_t)request : left;

	if (request <= 0 || n == 0)
		return 0;
	if (fseeko(r->fp, (off_t)(r->offset + r->pos + n), SEEK_SET) != 0) {
		archive_set_error(a, errno, "seeking in '%s': %s", r->path, strerror(errno));
		return ARCHIVE_FATAL;
	}
	r->pos += n;
	return (la_int64_t)n;
}

static int bundle_err(struct ap_bundle_reader *r, struct ap_err *err, const char *what)
{
	return ap_err_set(err, AP_E_BUNDLE, "reading bundle '%s': %s: %s", r->path, what,
			  archive_error_string(r->a) ? archive_error_string(r->a)
						     : "unknown libarchive error");
}

/* Read one of the two head entries into a malloc'd, NUL-terminated buffer. */
static int read_head_entry(struct ap_bundle_reader *r, const char *want, size_t max,
			   unsigned char **out, size_t *out_len, struct ap_err *err)
{
	struct archive_entry *e;
	char qn[256];
	const char *got;
	la_int64_t size;
	unsigned char *buf;
	size_t done = 0;
	int ar;

	ar = archive_read_next_header(r->a, &e);
	if (ar == ARCHIVE_EOF)
		return ap_err_set(err, AP_E_BUNDLE,
				  "'%s' is not an airpack bundle: it ends before '%s'", r->path,
				  want);
	if (ar != ARCHIVE_OK)
		return bundle_err(r, err, "reading the bundle head");
	got = archive_entry_pathname(e);
	if (!got || strcmp(got, want) != 0)
		return ap_err_set(err, AP_E_BUNDLE,
				  "'%s' is not an airpack bundle: %s entry is '%s', expected '%s'",
				  r->path, max == AP_MANIFEST_MAX ? "first" : "second",
				  ap_str_quoted(got ? got : "", qn, sizeof(qn)), want);
	if (archive_entry_filetype(e) != AE_IFREG)
		return ap_err_set(err, AP_E_BUNDLE, "bundle '%s': '%s' is not a regular file",
				  r->path, want);
	size = archive_entry_size(e);
	if (size < 0)
		return ap_err_set(err, AP_E_BUNDLE, "bundle '%s': '%s' has no size", r->path, want);
	if ((uint64_t)size > max)
		return ap_err_set(err, AP_E_TOOBIG,
				  "bundle '%s': '%s' is too big: %lld bytes, at most %zu", r->path,
				  want, (long long)size, max);
	note_entry_end(r, size);
	r->last = want;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return ap_err_set(err, AP_E_NOMEM, "out of memory reading '%s'", want);
	while (done < (size_t)size) {
		la_ssize_t n = archive_read_data(r->a, buf + done, (size_t)size - done);

		if (n < 0) {
			free(buf);
			return bundle_err(r, err, want);
		}
		if (n == 0) {
			free(buf);
			return ap_err_set(err, AP_E_BUNDLE,
					  "bundle '%s': '%s' is truncated: expected %lld bytes, "
					  "got %zu",
					  r->path, want, (long long)size, done);
		}
		done += (size_t)n;
	}
	buf[done] = 0;
	*out = buf;
	*out_len = done;
	return 0;
}

int ap_bundle_reader_open(const char *path, uint64_t offset, uint64_t length,
			  struct ap_bundle_reader **rp, struct ap_err *err)
{
	struct ap_bundle_reader *r;
	unsigned char *m = NULL;
	off_t fsize;
	int rc;

	if (!path || !rp)
		return ap_err_set(err, AP_E_USAGE, "bundle reader: no path");
	r = calloc(1, sizeof(*r));
	if (!r)
		return ap_err_set(err, AP_E_NOMEM, "out of memory for the bundle reader");
	r->path = ap_strdup(path);
	r->rbuf = malloc(RBUF);
	if (!r->path || !r->rbuf) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory for the bundle reader");
		goto fail;
	}
	if (ap_fsx_fopen(path, "rb", &r->fp, NULL) != 0) {
		rc = ap_err_sys(err, errno == ENOENT ? AP_E_NOTFOUND : AP_E_IO,
				"cannot open bundle '%s'", path);
		goto fail;
	}
	fsize = fseeko(r->fp, 0, SEEK_END) == 0 ? ftello(r->fp) : -1;
	if (fsize < 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot find the size of '%s'", path);
		goto fail;
	}
	if (offset > (uint64_t)fsize ||
	    (length && (length > (uint64_t)fsize || offset > (uint64_t)fsize - length))) {
		rc = ap_err_set(err, AP_E_BUNDLE,
				"bundle '%s' is truncated: expected %" PRIu64
				" bytes at offset %" PRIu64 ", the file has %lld",
				path, length, offset, (long long)fsize);
		goto fail;
	}
	r->offset = offset;
	r->length = length ? length : (uint64_t)fsize - offset;
	if (fseeko(r->fp, (off_t)offset, SEEK_SET) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "seeking in '%s'", path);
		goto fail;
	}

	r->a = archive_read_new();
	if (!r->a) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory for the bundle reader");
		goto fail;
	}
	if (archive_read_support_filter_none(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(r->a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(r->a) != ARCHIVE_OK) {
		rc = bundle_err(r, err, "setting up the reader");
		goto fail;
	}
	if (archive_read_open2(r->a, r, NULL, reader_read_cb, reader_skip_cb, NULL) != ARCHIVE_OK) {
		rc = ap_err_set(err, AP_E_BUNDLE, "cannot read bundle '%s' (a tar or tar.gz): %s",
				path,
				archive_error_string(r->a) ? archive_error_string(r->a)
							   : "unknown libarchive error");
		goto fail;
	}
	rc = read_head_entry(r, AP_BUNDLE_MANIFEST, AP_MANIFEST_MAX, &m, &r->manifest_len, err);
	if (rc < 0)
		goto fail;
	r->manifest = (char *)m;
	rc = read_head_entry(r, AP_BUNDLE_SIG, AP_SIG_MAX, &r->sig, &r->sig_len, err);
	if (rc < 0)
		goto fail;
	*rp = r;
	return 0;
fail:
	ap_bundle_reader_free(r);
	return rc;
}

const char *ap_bundle_reader_manifest(const struct ap_bundle_reader *r, size_t *len)
{
	if (len)
		*len = r->manifest_len;
	return r->manifest;
}

const unsigned char *ap_bundle_reader_sig(const struct ap_bundle_reader *r, size_t *len)
{
	if (len)
		*len = r->sig_len;
	return r->sig;
}

int ap_bundle_reader_next(struct ap_bundle_reader *r, const char **name, uint64_t *size,
			  struct ap_err *err)
{
	struct archive_entry *e;
	const char *why;
	char qn[256], *got;
	la_int64_t sz;
	int ar;
	int rc;

	r->in_entry = false;
	ar = archive_read_next_header(r->a, &e);
	/* libarchive takes a tar that stops at an entry boundary as complete;
	 * a bundle cut there would look like one with fewer payloads. */
	if (ar == ARCHIVE_EOF && archive_filter_bytes(r->a, 0) < r->entry_end + (int64_t)TAR_END)
		return ap_err_set(err, AP_E_BUNDLE,
				  "bundle '%s' is truncated: it ends after '%s' without the "
				  "end-of-archive marker",
				  r->path, r->last);
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar != ARCHIVE_OK)
		return bundle_err(r, err, "reading the next entry");
	got = ap_archive_entry_name(e);
	why = unsafe_name_reason(got);
	if (why) {
		rc = ap_err_set(err, AP_E_UNSAFE, "bundle '%s': unsafe entry '%s': %s", r->path,
				ap_str_quoted(got ? got : "", qn, sizeof(qn)), why);
		goto fail;
	}
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
		rc = ap_err_set(err, AP_E_UNSAFE,
				"bundle '%s': unsafe entry '%s': not a regular file", r->path, got);
		goto fail;
	}
	if (strcmp(got, AP_BUNDLE_MANIFEST) == 0 || strcmp(got, AP_BUNDLE_SIG) == 0) {
		rc = ap_err_set(err, AP_E_BUNDLE, "bundle '%s': second '%s' entry", r->path, got);
		goto fail;
	}
	sz = archive_entry_size(e);
	if (sz < 0) {
		rc = ap_err_set(err, AP_E_BUNDLE, "bundle '%s': entry '%s' has no size", r->path,
				got);
		goto fail;
	}
	free(r->name);
	r->name = got;
	note_entry_end(r, sz);
	r->last = r->name;
	r->in_entry = true;
	*name = r->name;
	*size = (uint64_t)sz;
	return 1;
fail:
	free(got);
	return rc;
}

int ap_bundle_reader_read(struct ap_bundle_reader *r, void *buf, size_t len, size_t *got,
			  struct ap_err *err)
{
	la_ssize_t n;

	if (!r->in_entry)
		return ap_err_set(err, AP_E_USAGE, "bundle '%s': no current entry", r->path);
	n = archive_read_data(r->a, buf, len);
	if (n < 0)
		return bundle_err(r, err, r->name);
	*got = (size_t)n;
	return 0;
}

void ap_bundle_reader_free(struct ap_bundle_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	if (r->fp)
		fclose(r->fp);
	free(r->manifest);
	free(r->sig);
	free(r->name);
	free(r->rbuf);
	free(r->path);
	free(r);
}
