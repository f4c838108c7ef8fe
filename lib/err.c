/* err.c - error recording; see airpack/err.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "airpack/err.h"
#include "airpack/banned.h"

static void vset(struct ap_err *err, int code, const char *fmt, va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);

	err->code = code;
	if (n < 0)
		err->msg[0] = '\0';
}

int ap_err_set(struct ap_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err)
		vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int ap_err_sys(struct ap_err *err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t used;

	if (!err)
		return code;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	/* The one cause a user meets most, in the house's lowercase. */
	snprintf(err->msg + used, sizeof(err->msg) - used, ": %s",
		 saved == ENOSPC ? "no space left on device" : strerror(saved));
	return code;
}

/* The room a prefix may take: enough to say where, while the message it
 * prefixes (the cause, which says what failed) always keeps its tail. */
#define PREFIX_MAX (AP_ERR_MSG_MAX / 2)

void ap_err_prefix(struct ap_err *err, const char *fmt, ...)
{
	char ctx[PREFIX_MAX];
	char old[AP_ERR_MSG_MAX];
	size_t nctx, nold, keep, o = 0;
	va_list ap;
	int n;

	if (!err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	nctx = strlen(ctx);
	if ((size_t)n > nctx && nctx >= 3)
		memcpy(ctx + nctx - 3, "...", 3); /* the prefix itself was cut */
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	nold = strlen(old);
	/* ctx ": " old must fit; when it does not, cut the middle of old and
	 * keep its end, where the first cause of the failure is. */
	keep = sizeof(err->msg) - 1 - nctx - 2;
	memcpy(err->msg, ctx, nctx);
	o = nctx;
	memcpy(err->msg + o, ": ", 2);
	o += 2;
	if (nold <= keep) {
		memcpy(err->msg + o, old, nold);
		o += nold;
	} else {
		size_t head = (keep - 5) / 2;
		size_t tail = keep - 5 - head;

		memcpy(err->msg + o, old, head);
		o += head;
		memcpy(err->msg + o, " ... ", 5);
		o += 5;
		memcpy(err->msg + o, old + nold - tail, tail);
		o += tail;
	}
	err->msg[o] = '\0';
}

void ap_err_clear(struct ap_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

static const struct {
	int code;
	const char *name;
	int exit_code;
} codes[] = {
	{ AP_OK, "ok", 0 },
	{ AP_E_NOMEM, "nomem", 1 },
	{ AP_E_IO, "io", 1 },
	{ AP_E_USAGE, "usage", 2 },
	{ AP_E_MANIFEST, "manifest", 3 },
	{ AP_E_DIGEST, "digest", 4 },
	{ AP_E_SIGNATURE, "signature", 5 },
	{ AP_E_UNTRUSTED, "untrusted", 6 },
	{ AP_E_BUNDLE, "bundle", 3 },
	{ AP_E_FETCH, "fetch", 7 },
	{ AP_E_NOTFOUND, "notfound", 8 },
	{ AP_E_UNSAFE, "unsafe", 3 },
	{ AP_E_EXISTS, "exists", 1 },
	{ AP_E_STATE, "state", 9 },
	{ AP_E_OFFLINE, "offline", 8 },
	{ AP_E_CRYPTO, "crypto", 1 },
	{ AP_E_TOOBIG, "toobig", 4 },
	{ AP_E_DIFFERS, "differs", 10 },
	{ AP_E_RUN, "run", 11 },
	{ AP_E_TRUNCATED, "truncated", 4 },
	{ AP_E_EXPIRED, "expired", 12 },
	{ AP_E_AUTH, "auth", 14 },
	{ AP_E_INPUT, "input", 3 },
};

const char *ap_err_name(int code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	return "error";
}

int ap_err_exit_code(int code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].exit_code;
	return 1;
}
