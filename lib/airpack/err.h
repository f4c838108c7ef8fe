/* err.h - error codes and the error context every library call reports into.
 *
 * Every libairpack function that can fail returns 0 or a negative AP_E_* code
 * and takes a last `struct ap_err *err` (may be NULL).  On failure the message
 * says what failed first, quotes the subject, and is lowercase without a
 * trailing period.  Callers add context on the way up with ap_err_prefix().
 * The library never prints and never exits.
 */
#ifndef AP_ERR_H
#define AP_ERR_H

#include <stddef.h>

enum ap_errcode {
	AP_OK = 0,
	AP_E_NOMEM = -1,      /* out of memory */
	AP_E_IO = -2,	      /* a file system call failed */
	AP_E_USAGE = -3,      /* bad arguments from the caller or the user */
	AP_E_MANIFEST = -4,   /* a manifest is malformed or invalid */
	AP_E_DIGEST = -5,     /* size or sha256 differs from what was expected */
	AP_E_SIGNATURE = -6,  /* a signature does not verify */
	AP_E_UNTRUSTED = -7,  /* signed by a key the trust store does not hold */
	AP_E_BUNDLE = -8,     /* a bundle or archive is malformed or unsafe */
	AP_E_FETCH = -9,      /* a download failed */
	AP_E_NOTFOUND = -10,  /* a file, component or release does not exist */
	AP_E_UNSAFE = -11,    /* a name or path would escape its folder */
	AP_E_EXISTS = -12,    /* refusing to overwrite */
	AP_E_STATE = -13,     /* installed state forbids it (downgrade, no receipt) */
	AP_E_OFFLINE = -14,   /* components are missing and the network is off */
	AP_E_CRYPTO = -15,    /* the crypto library failed */
	AP_E_TOOBIG = -16,    /* more bytes than allowed */
	AP_E_DIFFERS = -17,   /* a verification found differences */
	AP_E_RUN = -18,	      /* a run action failed */
	AP_E_TRUNCATED = -19, /* a self-extracting file is truncated or extended */
	AP_E_EXPIRED = -20,   /* signed metadata (root, index) is past its expiry */
	AP_E_AUTH = -21,      /* a registry refused the credentials, or wants some */
	AP_E_INPUT = -22,     /* an input's content is invalid (a connection string) */
};

#define AP_ERR_MSG_MAX 1024

struct ap_err {
	int code;
	char msg[AP_ERR_MSG_MAX];
};

/* clang-format off */
#define AP_ERR_INIT { 0, { 0 } }
/* clang-format on */

#if defined(__MINGW32__)
/* mingw's own stdio (__USE_MINGW_ANSI_STDIO) is C99: check against that,
 * not against msvcrt's printf, which lacks %zu. */
#define AP_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define AP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AP_PRINTF(f, a)
#endif

/* Record `code` and a formatted message in err (if not NULL); returns code. */
int ap_err_set(struct ap_err *err, int code, const char *fmt, ...) AP_PRINTF(3, 4);

/* Like ap_err_set, appending ": strerror(errno)" (errno read on entry). */
int ap_err_sys(struct ap_err *err, int code, const char *fmt, ...) AP_PRINTF(3, 4);

/* Prepend context: "CONTEXT: previous message", keeping err->code.  Returns
 * nothing, so a caller returns its own code, the same whether err is NULL
 * or not:
 *
 *         if (rc) {
 *                 ap_err_prefix(err, "component '%s'", name);
 *                 return rc;
 *         }
 *
 * The context takes at most half of AP_ERR_MSG_MAX (cut with "...");
 * when the whole does not fit, the middle of the previous message is cut
 * (" ... ") and its end, the first cause, is kept.  err NULL: nothing. */
void ap_err_prefix(struct ap_err *err, const char *fmt, ...) AP_PRINTF(2, 3);

/* Forget a recorded error. */
void ap_err_clear(struct ap_err *err);

/* Short name of a code ("digest", "signature", ...), for --json output. */
const char *ap_err_name(int code);

/* The process exit code documented in docs/exit-codes.md for an error code. */
int ap_err_exit_code(int code);

/* Not an error: the install succeeded, and a run action exited with one of
 * its reboot_exit_codes, so the device must restart to finish it
 * (docs/exit-codes.md). */
#define AP_EXIT_RESTART_REQUIRED 13

#endif
