/* receipt.h - the installed-state files under ROOT/var/lib/airpack/<product>/:
 * the receipt (what is installed) and the transaction journal (txn.json,
 * present only while a transaction is switching).
 *
 * Both are JSON; this module and manifest.c are the only users of cJSON.
 * Emitting is deterministic: fixed key order, files and folders sorted by
 * path, integers printed exactly, a trailing newline, so installing the same
 * release into two roots (with SOURCE_DATE_EPOCH set) gives identical bytes.
 * Parse errors name the field, e.g. "files[3].sha256: expected 64 hex
 * digits, got 'xyz'".  Format: docs/install-transaction.md.
 */
#ifndef AP_RECEIPT_H
#define AP_RECEIPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/digest.h"
#include "airpack/str.h"

#define AP_RECEIPT_FORMAT "airpack-receipt/1"
#define AP_JOURNAL_FORMAT "airpack-txn/1"

/* One installed file.  Paths are relative to the install root, '/'-separated.
 * The members are ordered so that the struct has no padding to speak of
 * (96 bytes on LP64): an install keeps one per file until its receipt is
 * written. */
struct ap_receipt_file {
	char *path;
	char *component; /* the component that installed it */
	uint64_t size;
	unsigned mode; /* permission bits; emitted as an octal string "0755" */
	char sha256[AP_SHA256_HEX];
};

/* A `run` action: pending (not yet run) or done (ran, with its result). */
struct ap_receipt_action {
	char *component;
	char *program; /* relative to the root, e.g. "opt/demo/setup.sh" */
	char **args;
	size_t n_args;
	int *ok_codes; /* exit codes that mean success */
	size_t n_ok_codes;
	int *reboot_codes; /* exit codes that mean success once the device restarts */
	size_t n_reboot_codes;
	/* Only for done actions: */
	int exit_code;
	bool ok;
	bool restart_required; /* exit_code was one of reboot_codes */
	int64_t ran_at;
	char *output; /* the end of what it wrote (stdout and stderr, at most
			 AP_PROCESS_TAIL_MAX bytes, bytes that are not printable
			 ASCII shown as '?'), or NULL ("output", absent when none) */
};

/* A service the release registered with the OS (docs/services.md). */
struct ap_receipt_service {
	char *name;
	char *component;
	char *program; /* relative to the root */
	char **args;
	size_t n_args;
	char *description; /* may be NULL */
	bool registered;   /* false: waits for firstboot (a Windows image root) */
};

struct ap_receipt {
	char *format; /* AP_RECEIPT_FORMAT */
	char *product;
	char *version;
	char *channel;	/* may be NULL */
	char *platform; /* the release's platform ("windows-amd64"); NULL when it
			   names none, and in receipts older than the field */
	char *prefix;	/* relative to the root */
	char *key_id;	/* may be NULL (an --insecure install) */
	bool insecure;	/* installed without a verified signature (--insecure);
			   "insecure": true, absent when false */
	char manifest_sha256[AP_SHA256_HEX]; /* of the stored manifest.json bytes */
	int64_t installed_at;
	char *pinned_version; /* the version the user asked for; may be NULL */
	char *freshness;      /* an expiry override the install used ("expired-ok: the
				 mirror index expired ...", "at-time ..."); may be NULL */
	char **data_dirs;     /* relative to the root: the release's data folders */
	size_t n_data_dirs;
	/* The data folders that did not exist before this product was first
	 * installed with them: the only ones uninstall --purge removes.  Absent
	 * (has_created_data_dirs false) in receipts older than the record. */
	bool has_created_data_dirs;
	char **created_data_dirs;
	size_t n_created_data_dirs;
	char **dirs; /* folders the install created (relative to the root), sorted */
	size_t n_dirs;
	struct ap_receipt_file *files; /* sorted by path, unique */
	size_t n_files;
	/* When it holds anything (an install's records, taken as they were
	 * made), every files[i].path and .component is a copy kept here and
	 * freed with it rather than one by one. */
	struct ap_strpool file_strings;
	struct ap_receipt_action *pending; /* in manifest order */
	size_t n_pending;
	struct ap_receipt_action *actions; /* done, in the order they ran */
	size_t n_actions;
	struct ap_receipt_service *services; /* in manifest order; written only when
						 there are some */
	size_t n_services;
};

void ap_receipt_service_release(struct ap_receipt_service *s);

/* Parse receipt JSON (need not be NUL-terminated).  Checks every field,
 * sorts files and dirs and refuses duplicate or unsafe paths.  On success
 * *out is a new receipt the caller frees with ap_receipt_free.  Errors are
 * AP_E_STATE naming the field. */
int ap_receipt_parse(const char *json, size_t len, struct ap_receipt **out, struct ap_err *err);

/* Read and parse a receipt file; errors are prefixed with the path.  A
 * missing file is AP_E_NOTFOUND. */
int ap_receipt_load(const char *path, struct ap_receipt **out, struct ap_err *err);

/* A receipt read as a stream (verify, uninstall): memory does not grow
 * with its files.  ap_receipt_reader_open reads and checks the whole
 * receipt at path (every file as ap_receipt_parse checks it; the files
 * must be in path order, as ap_receipt_emit writes them) and keeps it
 * open: *head (the caller's to ap_receipt_free) has every field but the
 * files (files NULL, n_files 0).  ap_receipt_reader_next then hands out
 * the files in order from that open file: 1 with *f valid until the next
 * call, 0 after the last.  ap_receipt_reader_rewind starts them again.
 * ap_receipt_reader_has says whether path is one of the files (by a
 * 128-bit digest of each path kept at open).  Errors are as
 * ap_receipt_load's.  Close it (NULL is a no-op) before the receipt's
 * folder is removed. */
struct ap_receipt_reader;
int ap_receipt_reader_open(const char *path, struct ap_receipt_reader **out,
			   struct ap_receipt **head, struct ap_err *err);
int ap_receipt_reader_next(struct ap_receipt_reader *rd, const struct ap_receipt_file **f,
			   struct ap_err *err);
int ap_receipt_reader_rewind(struct ap_receipt_reader *rd, struct ap_err *err);
bool ap_receipt_reader_has(struct ap_receipt_reader *rd, const char *path);
void ap_receipt_reader_close(struct ap_receipt_reader *rd);

/* Emit canonical JSON (fixed key order, files and dirs sorted by path, a
 * trailing newline).  *json is malloc'd (NUL-terminated, *len excludes it). */
int ap_receipt_emit(const struct ap_receipt *r, char **json, size_t *len, struct ap_err *err);

/* The same bytes written into f (open, from ap_fsx_afile_open) as they are
 * made, in pieces: the receipt's text is never held whole, so a receipt of
 * 100,000 files costs no more memory than one of ten.  The caller commits
 * f (or aborts it on an error). */
struct ap_fsx_afile;
int ap_receipt_write(const struct ap_receipt *r, struct ap_fsx_afile *f, struct ap_err *err);

/* A new, empty receipt (all fields zero/NULL, format set). NULL on no memory. */
struct ap_receipt *ap_receipt_new(void);
void ap_receipt_free(struct ap_receipt *r);

/* Sort files and dirs by path (bytewise) as parse and emit expect. */
void ap_receipt_sort(struct ap_receipt *r);

/* Find a file by path (relative to the root) in a sorted receipt; NULL if
 * none. */
const struct ap_receipt_file *ap_receipt_find_file(const struct ap_receipt *r, const char *path);

/* Release the strings and arrays an action holds (not the action itself). */
void ap_receipt_action_release(struct ap_receipt_action *a);

/* The transaction journal (txn.json): written atomically just before the
 * switch, removed when the transaction is complete.  Paths are relative to
 * the root.  The stage folder's device and inode decide at recovery whether
 * the switch happened (the prefix then is the stage folder). */
struct ap_receipt_journal {
	char *format; /* AP_JOURNAL_FORMAT */
	char *product;
	char *version; /* the version being installed */
	char *prefix;
	char *stage;  /* the new tree before the switch (the old one after an exchange) */
	char *old;    /* where the old tree is moved when an exchange is not possible */
	bool has_sig; /* the new release comes with manifest.json.sig */
	uint64_t stage_dev;
	uint64_t stage_ino;
};

/* Parse / emit a journal (same conventions as the receipt; device and inode
 * are emitted as decimal strings so no precision is lost). */
int ap_receipt_journal_parse(const char *json, size_t len, struct ap_receipt_journal **out,
			     struct ap_err *err);
int ap_receipt_journal_emit(const struct ap_receipt_journal *j, char **json, size_t *len,
			    struct ap_err *err);
void ap_receipt_journal_free(struct ap_receipt_journal *j);

#endif
