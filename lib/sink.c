/* sink.c - hash and check a payload while writing it; see airpack/sink.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/sink.h"
#include "airpack/banned.h"

#define COPY_BUF (1u << 20)

static const char *sink_what(const struct ap_sink *s)
{
	return s->x.what ? s->x.what : s->f.path;
}

static const char *sink_says(const struct ap_sink *s)
{
	return s->x.says ? s->x.says : "expected";
}

/* Remember the first failure: a sink that lost bytes must never commit. */
static int sink_fail(struct ap_sink *s, int rc)
{
	s->rc = rc;
	return rc;
}

int ap_sink_open(struct ap_sink *s, const char *path, unsigned mode, const struct ap_sink_expect *x,
		 struct ap_err *err)
{
	static const struct ap_sink_expect none = { NULL, false, 0, NULL, NULL };
	int rc;

	s->f = (struct ap_fsx_afile)AP_AFILE_INIT;
	s->h = NULL;
	s->x = x ? *x : none;
	s->rc = 0;
	s->done = 0;
	s->hex[0] = '\0';
	if (s->x.sha256 && !ap_digest_is_hex(s->x.sha256))
		return sink_fail(s,
				 ap_err_set(err, AP_E_USAGE,
					    "expected sha256 for '%s' is not 64 hex digits: '%s'",
					    path, s->x.sha256));
	s->h = ap_digest_new();
	if (!s->h)
		return sink_fail(s,
				 ap_err_set(err, AP_E_NOMEM, "out of memory opening '%s'", path));
	rc = ap_fsx_afile_open(&s->f, path, mode, err);
	if (rc) {
		ap_digest_free(s->h);
		s->h = NULL;
		return sink_fail(s, rc);
	}
	return 0;
}

int ap_sink_write(struct ap_sink *s, const void *data, size_t len, struct ap_err *err)
{
	int rc;

	if (s->rc)
		return s->rc;
	if (!s->h)
		return ap_err_set(err, AP_E_USAGE, "write to a sink that is not open");
	if (s->x.has_size && len > s->x.size - s->done)
		return sink_fail(s, ap_err_set(err, AP_E_DIGEST,
					       "'%s' is larger than the %" PRIu64 " bytes %s",
					       sink_what(s), s->x.size, sink_says(s)));
	rc = ap_fsx_afile_write(&s->f, data, len, err);
	if (rc)
		return sink_fail(s, rc);
	ap_digest_update(s->h, data, len);
	s->done += len;
	return 0;
}

int ap_sink_write_file(struct ap_sink *s, const char *src,
		       void (*progress)(void *ctx, uint64_t done), void *ctx, struct ap_err *err)
{
	unsigned char *buf = NULL;
	FILE *in = NULL;
	int rc;

	if (s->rc)
		return s->rc;
	rc = ap_fsx_fopen(src, "rb", &in, err);
	if (rc)
		return sink_fail(s, rc);
	buf = malloc(COPY_BUF);
	if (!buf) {
		rc = sink_fail(s, ap_err_set(err, AP_E_NOMEM, "out of memory copying '%s'", src));
		goto out;
	}
	for (;;) {
		size_t n = fread(buf, 1, COPY_BUF, in);

		if (n > 0) {
			rc = ap_sink_write(s, buf, n, err);
			if (rc)
				goto out;
			if (progress)
				progress(ctx, s->done);
		}
		if (n < COPY_BUF)
			break;
	}
	if (ferror(in))
		rc = sink_fail(s, ap_err_sys(err, AP_E_IO, "cannot read '%s'", src));
out:
	free(buf);
	fclose(in);
	return rc;
}

int ap_sink_commit(struct ap_sink *s, char hex[AP_SHA256_HEX], struct ap_err *err)
{
	int rc = s->rc;

	if (rc)
		goto fail;
	if (!s->h) {
		rc = ap_err_set(err, AP_E_USAGE, "commit of a sink that is not open");
		goto fail;
	}
	ap_digest_final_hex(s->h, s->hex);
	if (s->x.has_size && s->done != s->x.size) {
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' is %" PRIu64 " bytes, %s %" PRIu64,
				sink_what(s), s->done, sink_says(s), s->x.size);
		goto fail;
	}
	if (s->x.sha256 && !ap_digest_eq(s->hex, s->x.sha256)) {
		rc = ap_err_set(err, AP_E_DIGEST, "'%s' has sha256 %s, %s %s", sink_what(s), s->hex,
				sink_says(s), s->x.sha256);
		goto fail;
	}
	rc = ap_fsx_afile_commit(&s->f, err);
	ap_digest_free(s->h);
	s->h = NULL;
	if (rc)
		return sink_fail(s, rc);
	if (hex)
		memcpy(hex, s->hex, AP_SHA256_HEX);
	return 0;
fail:
	ap_sink_abort(s);
	return sink_fail(s, rc);
}

void ap_sink_abort(struct ap_sink *s)
{
	if (!s)
		return;
	ap_fsx_afile_abort(&s->f);
	ap_digest_free(s->h);
	s->h = NULL;
}

int ap_sink_copy_file(const char *src, const char *dst, unsigned mode,
		      const struct ap_sink_expect *x, void (*progress)(void *ctx, uint64_t done),
		      void *ctx, char hex[AP_SHA256_HEX], struct ap_err *err)
{
	struct ap_sink s = AP_SINK_INIT;
	struct ap_sink_expect e = { NULL, false, 0, NULL, NULL };
	int rc;

	if (x)
		e = *x;
	if (!e.what)
		e.what = src;
	rc = ap_sink_open(&s, dst, mode, &e, err);
	if (rc == 0)
		rc = ap_sink_write_file(&s, src, progress, ctx, err);
	if (rc == 0)
		return ap_sink_commit(&s, hex, err);
	ap_sink_abort(&s);
	return rc;
}
