/* txn/internal.h - what the transaction's files share (the .c files beside it); not
 * installed, not used outside lib/txn.  The public interface is
 * airpack/txn.h; the split is described in docs/architecture.md. */
#ifndef AIRPACK_TXN_INTERNAL_H
#define AIRPACK_TXN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airpack/digest.h"
#include "airpack/err.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/receipt.h"
#include "airpack/state.h"
#include "airpack/str.h"
#include "airpack/txn.h"

#define WALK_SKIP 1

/* Called for each entry; rel is relative to the txn_walk's base.  Return
 * WALK_SKIP to not descend into a folder, < 0 to stop. */
typedef int (*walk_fn)(void *ctx, const char *rel, const struct ap_stat *st, struct ap_err *err);

struct check {
	const struct ap_txn_opts *o; /* events; may be NULL */
	const char *root;
	struct ap_fsx_tree *tree; /* root, while txn_check_tree checks the files */
	const struct ap_receipt *r;
	struct ap_receipt_reader *rd; /* r's files, when r is read as a stream (else r->files) */
	struct ap_txn_verify_stats st;
	char first[AP_ERR_MSG_MAX / 2]; /* the first difference, for the message */
};

/* Where run actions run now (ap_txn_run_in). */
enum run_where {
	RUN_PENDING,
	RUN_HOST,
	RUN_CHROOT
};

struct inst {
	const struct ap_manifest *m;
	const struct ap_txn_opts *o;
	struct ap_state *p;
	const struct ap_receipt *old; /* may be NULL */
	char *prefix_abs;
	char *parent_rel; /* the prefix's folder, "" for the root */
	char *parent_abs;
	char *stage_rel, *stage_abs;
	char *old_rel, *old_abs;
	/* every staged file in staging order, kept as the receipt will hold
	 * it (paths relative to the root) so that the receipt can take the
	 * array itself: 100,000 files are not held twice */
	struct ap_receipt_file *recs;
	size_t n_recs, cap_recs;
	/* The records' paths and component names, each name copied once
	 * (rec_component, the copy of rec_component_of's); the receipt takes
	 * the pool with the records. */
	struct ap_strpool rec_strings;
	const struct ap_component *rec_component_of;
	const char *rec_component;
	/* the component being extracted */
	const struct ap_component *cur;
	const char *cur_to;	       /* relative to the prefix, "" for the prefix */
	struct ap_strvec created;      /* folders outside the prefix this install made */
	struct ap_strvec rel_dirs;     /* release folders in the stage (relative to the prefix) */
	struct ap_strvec conflicts;    /* relative to the root */
	struct ap_strvec created_data; /* data folders that did not exist before */
	size_t n_kept;
	enum run_where run;	  /* where this install's run actions run */
	const char *fresh_note;	  /* the expiry choice recorded in the receipt, or NULL */
	bool insecure;		  /* no verified signature (rel->sig NULL): recorded */
	struct ap_strvec skipped; /* optional components get_payload had no file for */
};

/* Another installed product: its receipt (prefix, data folders) and, when
 * its stored manifest reads, that manifest (the configuration path). */
struct other {
	struct ap_receipt *r;
	struct ap_manifest *m; /* may be NULL */
};

struct others {
	struct other *v;
	size_t n;
};
/* actions.c: whether p's root is this host's own (the running system). */
bool txn_is_host_root(const struct ap_state *p);

/* services.c (airpack/service.h) */
int txn_services_record(struct ap_receipt *r, const struct ap_manifest *m, struct ap_err *err);
/* Before the switch: every service of r can be registered (none of its
 * names taken by what airpack did not write), then the old release's stop
 * (the host only). */
int txn_services_prepare(const struct ap_state *p, const struct ap_receipt *old,
			 const struct ap_receipt *r, const struct ap_txn_opts *o,
			 struct ap_err *err);
void txn_services_restart(const struct ap_state *p, const struct ap_receipt *old,
			  const struct ap_txn_opts *o);
int txn_services_apply(const struct ap_state *p, const struct ap_receipt *old, struct ap_receipt *r,
		       const struct ap_txn_opts *o, struct ap_err *err);
int txn_services_remove(const struct ap_state *p, const struct ap_receipt *r,
			const struct ap_txn_opts *o, struct ap_err *err);

/* common.c */
char *txn_join(const char *a, const char *b);
int txn_nomem(struct ap_err *err, const char *what);
void txn_crash_point(const char *name);
void txn_stop_point(const char *name);
void txn_emit(const struct ap_txn_opts *o, const struct ap_txn_event *ev);
void txn_emit_simple(const struct ap_txn_opts *o, enum ap_txn_phase ph, enum ap_txn_verdict v,
		     const char *product, const char *component, const char *path,
		     const char *detail);
/* ap_strvec_push, saying "out of memory collecting paths" in err. */
int txn_strvec_push(struct ap_strvec *l, const char *s, struct ap_err *err);
int txn_cmp_strp(const void *a, const void *b);
bool txn_strv_has(char *const *v, size_t n, const char *s);
bool txn_path_within(const char *path, const char *dir);
int txn_walk(const char *base, const char *dir, walk_fn fn, void *ctx, struct ap_err *err);
/* Every folder under base (not base itself), a folder before its contents,
 * appended to out; symlinks are not followed. */
int txn_collect_dirs(const char *base, struct ap_strvec *out, struct ap_err *err);

/* open.c */
int txn_recover(struct ap_state *p, const struct ap_txn_opts *o, bool *recovered,
		struct ap_err *err);
int txn_state_lock(struct ap_state *p, enum ap_state_mode mode, const struct ap_txn_opts *o,
		   bool *recovered, struct ap_err *err);
/* txn_open's how: a writer (else a reader), and whether a product not
 * installed is an answer (TXN_ABSENT) rather than AP_E_NOTFOUND. */
#define TXN_OPEN_WRITE 1u
#define TXN_OPEN_ABSENT_OK 2u
#define TXN_ABSENT 1

/* The one opening step of status, verify, firstboot and uninstall: which
 * product (product, or the only one installed under root), its state,
 * and its lock (readers shared; a writer exclusive, recovering an
 * interrupted transaction first and telling o's on_event).  0 when
 * locked; TXN_ABSENT (with TXN_OPEN_ABSENT_OK) when it is not installed.
 * p can be given to ap_state_release whatever is returned. */
int txn_open(const char *root, const char *product, unsigned how, const struct ap_txn_opts *o,
	     struct ap_state *p, struct ap_err *err);
int txn_load_receipt(const struct ap_state *p, struct ap_receipt **out, struct ap_err *err);
/* The receipt as a stream: *out without its files, which *rd hands out
 * (ap_receipt_reader_open); what verify and uninstall read. */
int txn_stream_receipt(const struct ap_state *p, struct ap_receipt_reader **rd,
		       struct ap_receipt **out, struct ap_err *err);

/* verify.c */
/* An event about one receipt file: phase, product, and the file's
 * component, path, recorded sha256, mode and size; the rest zero. */
void txn_file_event(struct ap_txn_event *ev, enum ap_txn_phase phase, const char *product,
		    const struct ap_receipt_file *f);

int txn_compare_installed(struct ap_fsx_tree *root, const struct ap_receipt_file *f,
			  struct ap_stat *st, char hex[AP_SHA256_HEX], uint64_t *hashed,
			  enum ap_txn_verdict *v, struct ap_err *err);
int txn_check_tree(struct check *c, bool unexpected, struct ap_err *err);

/* actions.c */
int txn_write_state_file(const struct ap_state *p, const char *name, const char *suffix,
			 const void *data, size_t len, int64_t mtime, struct ap_err *err);
int txn_write_receipt(const struct ap_state *p, const struct ap_receipt *r, const char *suffix,
		      int64_t mtime, struct ap_err *err);
int txn_set_pending_marker(const struct ap_state *p, bool pending, int64_t mtime,
			   struct ap_err *err);
/* Where a release's run actions go: a release for another OS
 * (ap_winname_platform_is_foreign(platform)) always leaves them pending. */
enum run_where txn_run_where(const struct ap_state *p, const struct ap_txn_opts *o,
			     const char *platform);
int txn_run_pending(const struct ap_state *p, struct ap_receipt *r, const struct ap_txn_opts *o,
		    enum run_where where, size_t *n_ran, struct ap_err *err);

/* stage.c */
void txn_inst_release(struct inst *s);
int txn_stage_component(struct inst *s, const struct ap_component *c, const char *src, bool movable,
			struct ap_err *err);
int txn_check_overlaps(struct inst *s, struct ap_err *err);
int txn_check_space(struct inst *s, struct ap_err *err);
int txn_mkdirs_noted(struct inst *s, const char *rel, struct ap_err *err);
int txn_carry_dir(struct inst *s, const char *src, const char *dst, struct ap_err *err);
int txn_finish_stage(struct inst *s, struct ap_err *err);

/* install.c */
int txn_inst_paths(struct inst *s, const char *root, const char *prefix, struct ap_err *err);
void txn_others_release(struct others *os);
int txn_load_others(const char *root, const char *self, struct others *os, struct ap_err *err);
const char *txn_other_claim(const struct other *x, const char *rel, bool with_prefix,
			    const char **what);
int txn_clean_leftovers(struct inst *s, struct ap_err *err);

/* uninstall.c */

#endif
