/* probe.c - sample payloads to decide whether gzip pays; see airpack/probe.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "airpack/probe.h"
#include "airpack/fsx.h"
#include "airpack/banned.h"

#define SAMPLE (256u << 10)

static bool magic_compressed(const unsigned char *b, size_t n)
{
	static const struct {
		const char *m;
		size_t len;
	} magics[] = {
		{ "MSCF", 4 },		     /* cab */
		{ "PK\003\004", 4 },	     /* zip */
		{ "\037\213", 2 },	     /* gzip */
		{ "\3757zXZ\0", 6 },	     /* xz */
		{ "BZh", 3 },		     /* bzip2 */
		{ "\050\265\057\375", 4 },   /* zstd */
		{ "7z\274\257\047\034", 6 }, /* 7z */
		{ "\211PNG", 4 },	     /* png */
		{ "\377\330\377", 3 },	     /* jpeg */
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].len && memcmp(b, magics[i].m, magics[i].len) == 0)
			return true;
	return false;
}

int ap_probe_add(struct ap_probe *p, const char *path, uint64_t size, struct ap_err *err)
{
	unsigned char *in = NULL, *out = NULL;
	uLongf out_len;
	FILE *fp = NULL;
	size_t n;
	int rc;

	p->total += size;
	rc = ap_fsx_fopen(path, "rb", &fp, err);
	if (rc)
		return rc;
	in = malloc(SAMPLE);
	out_len = compressBound(SAMPLE);
	out = malloc(out_len);
	if (!in || !out) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	n = fread(in, 1, SAMPLE, fp);
	if (ferror(fp)) {
		rc = ap_err_sys(err, AP_E_IO, "cannot read '%s'", path);
		goto out;
	}
	if (magic_compressed(in, n)) {
		p->skipped += size;
		goto out;
	}
	if (n == 0)
		goto out;
	if (compress2(out, &out_len, in, n, 1) != Z_OK) {
		rc = ap_err_set(err, AP_E_IO, "cannot deflate a sample of '%s'", path);
		goto out;
	}
	/* Scale the sample's ratio to the whole payload. */
	p->sampled += size;
	p->deflated += (uint64_t)((double)size * (double)out_len / (double)n);
out:
	free(in);
	free(out);
	fclose(fp);
	return rc;
}

bool ap_probe_worth_it(const struct ap_probe *p)
{
	uint64_t saved;

	if (p->total == 0 || p->sampled == 0 || p->deflated >= p->sampled)
		return false;
	saved = p->sampled - p->deflated;
	return saved * 10 >= p->total;
}
