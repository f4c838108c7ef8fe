/* lifecycle.h - the installer's side of what install, verify, provision,
 * status, uninstall and firstboot share (the work is airpack/lifecycle.h):
 * history events whose failure is a warning, the download notes of an
 * install, and what provision wrote as status and uninstall show it, read
 * with the IoT Edge layer. */
#ifndef AIRPACK_SETUP_LIFECYCLE_H
#define AIRPACK_SETUP_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include "setup.h"
#include "events.h"
#include "airpack/history.h"
#include "airpack/lifecycle.h"
#include "airpack/receipt.h"
#include "airpack/source.h"
#include "airpack/txn.h"
#include "airpack/ui.h"
#include "iotedge/devconfig.h"

/* Each records its command's event in the history under o's root (see
 * airpack/lifecycle.h); a failure to record is printed as a warning and
 * never changes the command's result. */
void lifecycle_log_verify(const struct setup_opts *o, const char *product,
			  const struct ap_txn_verify_stats *st, int rc, const struct ap_err *err);
void lifecycle_log_firstboot(const struct setup_opts *o, const char *product, size_t ran, int rc,
			     const struct ap_err *err);
void lifecycle_log_configure(const struct setup_opts *o, const struct ap_receipt *r, int rc,
			     const char *message, const struct ap_history_field *details,
			     size_t n_details, const struct ap_err *err);

/* The install command's event: where each component came from, what was
 * installed, or why it failed. */
struct lc_install {
	struct events ev;		  /* first: the source checks arrive with it */
	struct ap_lifecycle_downloads dl; /* which URL served each download */
};
/* Source-check callback for ap_source_opts.on_check (ctx: the struct
 * setup_src whose ev is an lc_install's ev): shows the check and notes
 * downloads. */
void lifecycle_on_check(void *ctx, const struct ap_source_check *chk);
void lifecycle_log_install(const struct setup_opts *o, const struct lc_install *li,
			   const struct ap_release *r, const struct ap_source_plan *p,
			   const struct ap_txn_result *res, int rc, const struct ap_err *err);
void lc_install_release(struct lc_install *li);

/* ---- status --------------------------------------------------------------- */

struct lc_provisioning {
	struct ap_lifecycle_config cfg;
	struct ap_devconfig_info info; /* read from the file when cfg.read */
};

/* What status shows about provisioning for the installed receipt r
 * (ap_lifecycle_config_status with the IoT Edge reader).  Only running out
 * of memory is an error. */
int lifecycle_provisioning(const char *root, const struct ap_receipt *r, struct lc_provisioning *ps,
			   struct ap_err *err);
void lifecycle_provisioning_release(struct lc_provisioning *ps);
void lifecycle_provisioning_print(const struct lc_provisioning *ps);
/* A "provisioning" object inside j. */
void lifecycle_provisioning_json(struct ap_json *j, const struct lc_provisioning *ps);

/* ---- uninstall ------------------------------------------------------------ */

/* ap_lifecycle_uninstall_begin, its warning printed. */
int lifecycle_uninstall_begin(const char *root, const char *product,
			      struct ap_lifecycle_uninstall *u, struct ap_err *err);
/* ap_lifecycle_uninstall_end, then what happened to the configuration
 * printed. */
void lifecycle_uninstall_end(const struct setup_opts *o, struct ap_lifecycle_uninstall *u,
			     const struct ap_txn_uninstall_stats *st, int rc,
			     const struct ap_err *err);

#endif
