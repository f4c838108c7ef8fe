/* lifecycle.h - what the commands that change or check an install share:
 * the events they record in the root's history (history.h), and what the
 * configure step wrote (configure.h: the device configuration and its
 * record) as status and uninstall see it.
 *
 * The configuration's format belongs to a device runtime, not to the core:
 * where its content matters (status shows what it says), the caller hands
 * in an ap_lifecycle_reader that reads the bytes.  The core only hashes the
 * file, compares it with the record and wipes the bytes.
 *
 * Recording an event never changes a command's result: the log functions
 * return the history's error for the caller to show as a warning.
 */
#ifndef AP_LIFECYCLE_H
#define AP_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/err.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/release.h"
#include "airpack/source.h"
#include "airpack/txn.h"

/* The installed receipt of product (NULL: the only one), or NULL when it
 * cannot be read; for naming the product and version in events (its
 * files are not read into it: ap_txn_status_head).  Free it
 * with ap_receipt_free. */
struct ap_receipt *ap_lifecycle_receipt(const char *root, const char *product);

/* The installed release manifest of product
 * (ROOT/var/lib/airpack/<product>/manifest.json); errors name the file. */
int ap_lifecycle_manifest(const char *root, const char *product, struct ap_manifest **out,
			  struct ap_err *err);

/* Names (relative to the root) of temporary files an interrupted write of
 * config_rel left beside it (CONFIG.tmp- and 6 random characters).
 * NULL-terminated; free with ap_fsx_strv_free(v, 0). */
int ap_lifecycle_config_temps(const char *root, const char *config_rel, char ***out,
			      struct ap_err *err);

/* ---- events --------------------------------------------------------------- */

/* verify's event, after ap_txn_verify returned rc (result: its error).
 * Nothing is recorded for an error other than AP_E_DIFFERS, or when no
 * receipt can be read. */
int ap_lifecycle_log_verify(const char *root, const char *product,
			    const struct ap_txn_verify_stats *st, int rc,
			    const struct ap_err *result, struct ap_err *err);

/* firstboot's event, after ap_txn_firstboot ran `ran` actions and returned
 * rc; nothing is recorded when nothing was pending. */
int ap_lifecycle_log_firstboot(const char *root, const char *product, size_t ran, int rc,
			       const struct ap_err *result, struct ap_err *err);

/* Which URL served each download, noted from the source checks
 * (ap_source_opts.on_check) for the install event. */
struct ap_lifecycle_downloads {
	const struct ap_component **comp; /* components downloaded ... */
	char **url;			  /* ... and the URL that served each */
	size_t n;
};
/* clang-format off */
#define AP_LIFECYCLE_DOWNLOADS_INIT { NULL, NULL, 0 }
/* clang-format on */
/* Note chk when it is a download (running out of memory only loses the
 * note: the event then says "download"). */
void ap_lifecycle_downloads_note(struct ap_lifecycle_downloads *d,
				 const struct ap_source_check *chk);
void ap_lifecycle_downloads_release(struct ap_lifecycle_downloads *d);

/* install's event: where each component of plan p (may be NULL) came from,
 * what was installed (res), or why it failed (rc, result). */
int ap_lifecycle_log_install(const char *root, const struct ap_lifecycle_downloads *d,
			     const struct ap_release *r, const struct ap_source_plan *p,
			     const struct ap_txn_result *res, int rc, const struct ap_err *result,
			     struct ap_err *err);

/* The configure step's event for the receipt r: message and details (the
 * runtime's facts, no secrets) on success, result's message on failure. */
int ap_lifecycle_log_configure(const char *root, const struct ap_receipt *r, int rc,
			       const char *message, const struct ap_history_field *details,
			       size_t n_details, const struct ap_err *result, struct ap_err *err);

/* ---- the device configuration ------------------------------------------- */

/* The device runtime's reader of its configuration file. */
struct ap_lifecycle_reader {
	size_t max_bytes; /* the largest file read; a larger one is a problem */
	/* Read the file's bytes (a wiped buffer, valid during the call).  A
	 * non-zero return, with err set, is shown as the file's problem.
	 * May be NULL: the file is only hashed. */
	int (*read)(void *ctx, const char *buf, size_t len, struct ap_err *err);
	void *ctx;
};

enum ap_lifecycle_config_state {
	AP_LIFECYCLE_CONFIG_NONE,	/* the release declares no device configuration */
	AP_LIFECYCLE_CONFIG_ABSENT,	/* no file, never provisioned */
	AP_LIFECYCLE_CONFIG_MATCHES,	/* the file is what provision wrote */
	AP_LIFECYCLE_CONFIG_CHANGED,	/* it changed since provision wrote it */
	AP_LIFECYCLE_CONFIG_MISSING,	/* provision wrote it; it is gone */
	AP_LIFECYCLE_CONFIG_UNRECORDED, /* a file is there, not written by provision */
};

/* "none", "absent", "matches", "changed", "missing", "unrecorded". */
const char *ap_lifecycle_config_state_name(enum ap_lifecycle_config_state s);

struct ap_lifecycle_config {
	enum ap_lifecycle_config_state state;
	char *config_path;		   /* relative to the root; NULL with NONE */
	struct ap_history_record *rec;	   /* NULL: provision never ran */
	bool read;			   /* the reader read the file */
	char problem[AP_ERR_MSG_MAX + 64]; /* why the file could not be read */
	bool exposed;			   /* provision wrote it private (it holds secrets), but
	                     others can read it now (ap_fsx_is_private) */
	char access[64];		   /* with exposed: the protection expected, in words */
};

/* What status shows about the configuration of the installed receipt r:
 * the record, else the installed manifest, names the file; it is hashed and
 * compared with the record, and handed to rd (may be NULL).  Only running
 * out of memory is an error; unreadable files are described in
 * cfg->problem.  Release cfg with ap_lifecycle_config_release. */
int ap_lifecycle_config_status(const char *root, const struct ap_receipt *r,
			       const struct ap_lifecycle_reader *rd,
			       struct ap_lifecycle_config *cfg, struct ap_err *err);
void ap_lifecycle_config_release(struct ap_lifecycle_config *cfg);

/* ---- uninstall ------------------------------------------------------------ */

struct ap_lifecycle_uninstall {
	struct ap_receipt *r;	       /* NULL when nothing (readable) is installed */
	struct ap_history_record *rec; /* NULL: never provisioned */
	char **extra;		       /* NULL-terminated paths for ap_txn_uninstall */
	bool config_present;	       /* the configuration provision wrote is there */
	bool config_changed;	       /* ... and changed since provisioning */
	bool config_removed;	       /* set by ap_lifecycle_uninstall_end */
	/* Set when the record could not be read: the configuration it names
	 * is left in place (for the caller to warn about). */
	char warning[AP_ERR_MSG_MAX + 64];
};

/* Before ap_txn_uninstall: the receipt, the provision record and the paths
 * provision wrote (the configuration, any temporary file an interrupted
 * write left, the record).  rd's max_bytes bounds the file hashed (rd may
 * be NULL). */
int ap_lifecycle_uninstall_begin(const char *root, const char *product,
				 const struct ap_lifecycle_reader *rd,
				 struct ap_lifecycle_uninstall *u, struct ap_err *err);
/* After it (rc, result: its outcome): remove the folders provision created
 * when they are empty, note whether the configuration went, and record the
 * event (purge: whether --purge was asked). */
int ap_lifecycle_uninstall_end(const char *root, bool purge, struct ap_lifecycle_uninstall *u,
			       const struct ap_txn_uninstall_stats *st, int rc,
			       const struct ap_err *result, struct ap_err *err);
void ap_lifecycle_uninstall_release(struct ap_lifecycle_uninstall *u);

#endif
