/* testarc.h - small tar, tar.gz, zip and cab archives written by the tests
 * themselves, for where no tar, zip or gcab program exists (Windows) and
 * for entries those programs will not make.  Test code only.
 *
 *   struct tu_arc *a = tu_arc_new(TU_ARC_TGZ);
 *   tu_arc_dir(a, "sub", 0755, mtime);
 *   tu_arc_file(a, "sub/x", data, len, 0644, mtime);
 *   tu_arc_symlink(a, "link", "/etc", mtime);      (tar and tar.gz only)
 *   tu_arc_write(a, path);                          0 or -1; frees a
 *
 * tar: ustar headers (owner 0/0, names up to 100 bytes), the two zero
 * blocks at the end.  tar.gz: that tar in one gzip member whose deflate
 * stream is stored blocks (gzip -t and libarchive read it like any other).
 * zip: stored entries, Unix modes in the external attributes (made by
 * "Unix"), every time 1980-01-01 00:00.  cab: one uncompressed folder,
 * backslashes between name parts, no modes, no folder entries
 * (tu_arc_dir does nothing), every time 1980-01-01 00:00.  The archive is
 * built in memory.
 */
#ifndef AP_TESTARC_H
#define AP_TESTARC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"

enum tu_arc_kind {
	TU_ARC_TAR,
	TU_ARC_TGZ,
	TU_ARC_ZIP,
	TU_ARC_CAB
};

struct tu_buf {
	unsigned char *p;
	size_t len, cap;
};

struct tu_arc {
	enum tu_arc_kind kind;
	struct tu_buf body; /* tar stream, zip local entries, or cab folder data */
	struct tu_buf cdir; /* zip central directory, or cab file entries */
	unsigned n;	    /* zip or cab entries */
	bool failed;
};

#define TU_ARC_UNUSED __attribute__((unused))

static struct tu_arc *tu_arc_new(enum tu_arc_kind kind) TU_ARC_UNUSED;
static void tu_arc_dir(struct tu_arc *a, const char *name, unsigned mode,
		       int64_t mtime) TU_ARC_UNUSED;
static void tu_arc_file(struct tu_arc *a, const char *name, const void *data, size_t len,
			unsigned mode, int64_t mtime) TU_ARC_UNUSED;
static void tu_arc_symlink(struct tu_arc *a, const char *name, const char *target,
			   int64_t mtime) TU_ARC_UNUSED;
static int tu_arc_write(struct tu_arc *a, const char *path) TU_ARC_UNUSED;

static void tu_buf_put(struct tu_arc *a, struct tu_buf *b, const void *data, size_t len)
{
	if (a->failed || len == 0)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			a->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void tu_buf_zero(struct tu_arc *a, struct tu_buf *b, size_t len)
{
	static const unsigned char z[512];

	while (len > 0) {
		size_t n = len < sizeof(z) ? len : sizeof(z);

		tu_buf_put(a, b, z, n);
		len -= n;
	}
}

static void tu_buf_le(struct tu_arc *a, struct tu_buf *b, uint32_t v, int bytes)
{
	unsigned char x[4];

	for (int i = 0; i < bytes; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	tu_buf_put(a, b, x, (size_t)bytes);
}

static uint32_t tu_crc32(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static struct tu_arc *tu_arc_new(enum tu_arc_kind kind)
{
	struct tu_arc *a = calloc(1, sizeof(*a));

	if (a)
		a->kind = kind;
	return a;
}

static void tu_tar_entry(struct tu_arc *a, const char *name, char type, unsigned mode,
			 const void *data, size_t len, int64_t mtime, const char *link)
{
	unsigned char h[512];
	unsigned sum = 0;

	if (strlen(name) > 100 || (link && strlen(link) > 100)) {
		a->failed = true;
		return;
	}
	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", mode & 07777u);
	snprintf((char *)h + 108, 8, "%07o", 0u);
	snprintf((char *)h + 116, 8, "%07o", 0u);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)len);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)mtime);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	tu_buf_put(a, &a->body, h, sizeof(h));
	tu_buf_put(a, &a->body, data, len);
	tu_buf_zero(a, &a->body, (512 - len % 512) % 512);
}

static void tu_zip_entry(struct tu_arc *a, const char *name, const void *data, size_t len,
			 uint32_t attr)
{
	uint32_t crc = tu_crc32(0, data, len);
	uint32_t offset = (uint32_t)a->body.len;
	uint16_t nlen = (uint16_t)strlen(name);
	struct tu_buf *b = &a->body, *c = &a->cdir;

	tu_buf_le(a, b, 0x04034b50u, 4);
	tu_buf_le(a, b, 10, 2);	  /* version needed: stored */
	tu_buf_le(a, b, 0, 2);	  /* flags */
	tu_buf_le(a, b, 0, 2);	  /* method: stored */
	tu_buf_le(a, b, 0, 2);	  /* time 00:00 */
	tu_buf_le(a, b, 0x21, 2); /* date 1980-01-01 */
	tu_buf_le(a, b, crc, 4);
	tu_buf_le(a, b, (uint32_t)len, 4);
	tu_buf_le(a, b, (uint32_t)len, 4);
	tu_buf_le(a, b, nlen, 2);
	tu_buf_le(a, b, 0, 2);
	tu_buf_put(a, b, name, nlen);
	tu_buf_put(a, b, data, len);

	tu_buf_le(a, c, 0x02014b50u, 4);
	tu_buf_le(a, c, 0x031e, 2); /* made by Unix, zip 3.0 */
	tu_buf_le(a, c, 10, 2);
	tu_buf_le(a, c, 0, 2);
	tu_buf_le(a, c, 0, 2);
	tu_buf_le(a, c, 0, 2);
	tu_buf_le(a, c, 0x21, 2);
	tu_buf_le(a, c, crc, 4);
	tu_buf_le(a, c, (uint32_t)len, 4);
	tu_buf_le(a, c, (uint32_t)len, 4);
	tu_buf_le(a, c, nlen, 2);
	tu_buf_le(a, c, 0, 2); /* extra */
	tu_buf_le(a, c, 0, 2); /* comment */
	tu_buf_le(a, c, 0, 2); /* disk */
	tu_buf_le(a, c, 0, 2); /* internal attributes */
	tu_buf_le(a, c, attr, 4);
	tu_buf_le(a, c, offset, 4);
	tu_buf_put(a, c, name, nlen);
	a->n++;
}

static void tu_cab_entry(struct tu_arc *a, const char *name, const void *data, size_t len)
{
	struct tu_buf *c = &a->cdir;
	bool ascii = true;

	for (const char *p = name; *p; p++)
		if ((unsigned char)*p >= 0x80)
			ascii = false;
	tu_buf_le(a, c, (uint32_t)len, 4);
	tu_buf_le(a, c, (uint32_t)a->body.len, 4); /* offset in the folder */
	tu_buf_le(a, c, 0, 2);			   /* folder 0 */
	tu_buf_le(a, c, 0x21, 2);		   /* date 1980-01-01 */
	tu_buf_le(a, c, 0, 2);			   /* time 00:00 */
	tu_buf_le(a, c, ascii ? 0x20 : 0xa0, 2);   /* archive, UTF-8 name */
	for (const char *p = name; *p; p++) {
		char ch = *p == '/' ? '\\' : *p;

		tu_buf_put(a, c, &ch, 1);
	}
	tu_buf_zero(a, c, 1);
	tu_buf_put(a, &a->body, data, len);
	a->n++;
}

static void tu_arc_dir(struct tu_arc *a, const char *name, unsigned mode, int64_t mtime)
{
	char *slash;

	if (a->kind == TU_ARC_CAB)
		return;
	slash = malloc(strlen(name) + 2);

	if (!slash) {
		a->failed = true;
		return;
	}
	snprintf(slash, strlen(name) + 2, "%s/", name);
	if (a->kind == TU_ARC_ZIP)
		tu_zip_entry(a, slash, NULL, 0, ((040000u | (mode & 07777u)) << 16) | 0x10u);
	else
		tu_tar_entry(a, slash, '5', mode, NULL, 0, mtime, NULL);
	free(slash);
}

static void tu_arc_file(struct tu_arc *a, const char *name, const void *data, size_t len,
			unsigned mode, int64_t mtime)
{
	if (a->kind == TU_ARC_ZIP)
		tu_zip_entry(a, name, data, len, (0100000u | (mode & 07777u)) << 16);
	else if (a->kind == TU_ARC_CAB)
		tu_cab_entry(a, name, data, len);
	else
		tu_tar_entry(a, name, '0', mode, data, len, mtime, NULL);
}

static void tu_arc_symlink(struct tu_arc *a, const char *name, const char *target, int64_t mtime)
{
	if (a->kind == TU_ARC_ZIP || a->kind == TU_ARC_CAB)
		a->failed = true;
	else
		tu_tar_entry(a, name, '2', 0777, NULL, 0, mtime, target);
}

/* The gzip member around the tar: stored deflate blocks of at most 65535
 * bytes, the last one marked final. */
static void tu_gzip(struct tu_arc *a, struct tu_buf *out)
{
	static const unsigned char head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
	size_t off = 0;

	tu_buf_put(a, out, head, sizeof(head));
	do {
		size_t n = a->body.len - off > 65535 ? 65535 : a->body.len - off;
		unsigned char final = off + n == a->body.len ? 1 : 0;

		tu_buf_put(a, out, &final, 1);
		tu_buf_le(a, out, (uint32_t)n, 2);
		tu_buf_le(a, out, (uint32_t)(~n & 0xffffu), 2);
		tu_buf_put(a, out, a->body.p + off, n);
		off += n;
	} while (off < a->body.len);
	tu_buf_le(a, out, tu_crc32(0, a->body.p, a->body.len), 4);
	tu_buf_le(a, out, (uint32_t)a->body.len, 4);
}

/* The cab checksum (MS-CAB): little-endian 32-bit words XORed, a short
 * tail taken big-end first. */
static uint32_t tu_cab_sum(const unsigned char *p, size_t len, uint32_t sum)
{
	uint32_t tail = 0;
	size_t i = 0;

	for (; i + 4 <= len; i += 4)
		sum ^= (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
		       (uint32_t)p[i + 3] << 24;
	for (; i < len; i++)
		tail = tail << 8 | p[i];
	return sum ^ tail;
}

/* Header, the one folder, the file entries, then the folder's data in
 * blocks of at most 32768 bytes, each with its checksum. */
static void tu_cab(struct tu_arc *a, struct tu_buf *out)
{
	size_t blocks = (a->body.len + 32767) / 32768;
	uint32_t data_off = 36 + 8 + (uint32_t)a->cdir.len;

	tu_buf_put(a, out, "MSCF", 4);
	tu_buf_le(a, out, 0, 4);
	tu_buf_le(a, out, data_off + (uint32_t)(blocks * 8 + a->body.len), 4);
	tu_buf_le(a, out, 0, 4);
	tu_buf_le(a, out, 36 + 8, 4); /* first file entry */
	tu_buf_le(a, out, 0, 4);
	tu_buf_le(a, out, 0x0103, 2); /* version 1.3 */
	tu_buf_le(a, out, 1, 2);      /* folders */
	tu_buf_le(a, out, a->n, 2);   /* files */
	tu_buf_le(a, out, 0, 2);      /* flags */
	tu_buf_le(a, out, 0, 2);      /* set id */
	tu_buf_le(a, out, 0, 2);      /* cabinet number */
	tu_buf_le(a, out, data_off, 4);
	tu_buf_le(a, out, (uint32_t)blocks, 2);
	tu_buf_le(a, out, 0, 2); /* no compression */
	tu_buf_put(a, out, a->cdir.p, a->cdir.len);
	for (size_t off = 0; off < a->body.len; off += 32768) {
		size_t n = a->body.len - off > 32768 ? 32768 : a->body.len - off;
		unsigned char sizes[4] = { (unsigned char)n, (unsigned char)(n >> 8),
					   (unsigned char)n, (unsigned char)(n >> 8) };

		tu_buf_le(a, out, tu_cab_sum(sizes, 4, tu_cab_sum(a->body.p + off, n, 0)), 4);
		tu_buf_le(a, out, (uint32_t)n, 2);
		tu_buf_le(a, out, (uint32_t)n, 2);
		tu_buf_put(a, out, a->body.p + off, n);
	}
}

static int tu_arc_write(struct tu_arc *a, const char *path)
{
	struct tu_buf gz = { NULL, 0, 0 }; /* the gzip or cab form */
	const struct tu_buf *out = &a->body;
	FILE *fp = NULL;
	int rc = -1;

	if (a->kind == TU_ARC_ZIP) {
		uint32_t cd_off = (uint32_t)a->body.len;

		tu_buf_put(a, &a->body, a->cdir.p, a->cdir.len);
		tu_buf_le(a, &a->body, 0x06054b50u, 4);
		tu_buf_le(a, &a->body, 0, 2);
		tu_buf_le(a, &a->body, 0, 2);
		tu_buf_le(a, &a->body, a->n, 2);
		tu_buf_le(a, &a->body, a->n, 2);
		tu_buf_le(a, &a->body, (uint32_t)a->cdir.len, 4);
		tu_buf_le(a, &a->body, cd_off, 4);
		tu_buf_le(a, &a->body, 0, 2);
	} else if (a->kind == TU_ARC_CAB) {
		tu_cab(a, &gz);
		out = &gz;
	} else {
		tu_buf_zero(a, &a->body, 1024);
		if (a->kind == TU_ARC_TGZ) {
			tu_gzip(a, &gz);
			out = &gz;
		}
	}
	if (!a->failed && ap_fsx_fopen(path, "wb", &fp, NULL) == 0) {
		rc = fwrite(out->p, 1, out->len, fp) == out->len ? 0 : -1;
		if (fclose(fp) != 0)
			rc = -1;
	}
	free(gz.p);
	free(a->body.p);
	free(a->cdir.p);
	free(a);
	return rc;
}

#endif
