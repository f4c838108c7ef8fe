/* lifecycle.h - what install, verify, provision, status, uninstall and
 * firstboot share: recording events in the root's history, and what
 * provision wrote (the device configuration and its record). */
#ifndef AIRPACK_SETUP_LIFECYCLE_H
#define AIRPACK_SETUP_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include "setup.h"
#include "events.h"
#include "airpack/history.h"
#include "airpack/manifest.h"
#include "airpack/secret.h"
#include "iotedge/devconfig.h"
#include "airpack/receipt.h"
#include "airpack/source.h"
#include "airpack/txn.h"
#include "airpack/ui.h"

/* Append ev to the history under o's root.  A failure is printed as a
 * warning and never changes the command's result. */
void lifecycle_log(const struct setup_opts *o, const struct ap_history_event *ev);

/* The installed receipt of product (NULL: the only one), or NULL when it
 * cannot be read; for naming the product and version in history events. */
struct ap_receipt *lifecycle_receipt(const char *root, const char *product);

/* The install command's event: where each component came from, what was
 * installed, or why it failed. */
struct lc_install {
	struct events ev;  /* first: the source checks arrive with it */
	const struct ap_component **dl_comp; /* components downloaded ... */
	char **dl_url;                       /* ... and the URL that served each */
	size_t n_dl;
};
/* The verify command's event (after ap_txn_verify returned rc). */
void lifecycle_log_verify(const struct setup_opts *o, const char *product,
			  const struct ap_txn_verify_stats *st, int rc, const struct ap_err *err);

/* The firstboot command's event (after ap_txn_firstboot); nothing is
 * recorded when nothing was pending. */
void lifecycle_log_firstboot(const struct setup_opts *o, const char *product, size_t ran, int rc,
			     const struct ap_err *err);

/* Source-check callback for ap_src_opts.on_check (ctx: the struct
 * setup_src whose ev is an lc_install's ev): shows the check and notes
 * downloads. */
void lifecycle_on_check(void *ctx, const struct ap_src_check *chk);
void lifecycle_log_install(const struct setup_opts *o, const struct lc_install *li,
			   const struct ap_release *r, const struct ap_src_plan *p,
			   const struct ap_txn_result *res, int rc, const struct ap_err *err);
void lc_install_release(struct lc_install *li);

/* The installed release manifest of product (ROOT/var/lib/airpack/<product>/manifest.json). */
int lifecycle_manifest(const char *root, const char *product, struct ap_manifest **out,
		       struct ap_err *err);

/* Names (relative to the root) of temporary files an interrupted write of
 * config_rel left beside it (CONFIG.tmp- and 6 random characters).  NULL-terminated; free
 * with ap_strv_free(v, 0). */
int lifecycle_config_temps(const char *root, const char *config_rel, char ***out,
			   struct ap_err *err);

/* ---- status --------------------------------------------------------------- */

enum lc_config_state {
	LC_CONFIG_NONE,       /* the release declares no device configuration */
	LC_CONFIG_ABSENT,     /* no file, never provisioned */
	LC_CONFIG_MATCHES,    /* the file is what provision wrote */
	LC_CONFIG_CHANGED,    /* it changed since provision wrote it */
	LC_CONFIG_MISSING,    /* provision wrote it; it is gone */
	LC_CONFIG_UNRECORDED, /* a file is there, not written by provision */
};

struct lc_provisioning {
	enum lc_config_state state;
	char *config_path;                 /* relative to the root; NULL with NONE */
	struct ap_history_record *rec;     /* NULL: provision never ran */
	bool have_info;                    /* info was read from the file */
	struct ap_devconfig_info info;
	char problem[AP_ERR_MSG_MAX + 64]; /* why the file could not be read */
	bool exposed;                      /* it holds secrets but others can read it */
	char access[64];                   /* with exposed: the protection expected */
};

/* What status shows about provisioning for the installed receipt r.
 * Only running out of memory is an error; unreadable files are described
 * in ps->problem. */
int lifecycle_provisioning(const char *root, const struct ap_receipt *r,
			   struct lc_provisioning *ps, struct ap_err *err);
void lifecycle_provisioning_release(struct lc_provisioning *ps);
const char *lifecycle_config_state_name(enum lc_config_state s);
void lifecycle_provisioning_print(const struct lc_provisioning *ps);
/* A "provisioning" object inside j. */
void lifecycle_provisioning_json(struct ap_json *j, const struct lc_provisioning *ps);

/* ---- uninstall ------------------------------------------------------------ */

struct lc_uninstall {
	struct ap_receipt *r;              /* NULL when nothing (readable) is installed */
	struct ap_history_record *rec;     /* NULL: never provisioned */
	char **extra;                      /* NULL-terminated paths for ap_txn_uninstall */
	bool config_present;               /* the configuration provision wrote is there */
	bool config_changed;               /* ... and changed since provisioning */
	bool config_removed;               /* set by lifecycle_uninstall_end */
};

/* Before ap_txn_uninstall: the receipt, the provision record and the paths
 * provision wrote (the configuration, any temporary file an interrupted
 * write left, the record). */
int lifecycle_uninstall_begin(const char *root, const char *product, struct lc_uninstall *u,
			      struct ap_err *err);
/* After it (rc is its result): remove the folders provision created when
 * they are empty, print what happened to the configuration, and record
 * the event. */
void lifecycle_uninstall_end(const struct setup_opts *o, struct lc_uninstall *u,
			     const struct ap_txn_uninstall_stats *st, int rc,
			     const struct ap_err *err);
void lifecycle_uninstall_release(struct lc_uninstall *u);

#endif
