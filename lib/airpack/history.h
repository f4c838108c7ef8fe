/* history.h - what happened under an install root, and what the configure
 * step (provision) wrote.
 *
 * The history is an append-only file of JSON Lines,
 *   ROOT/var/log/airpack/history.jsonl
 * one object per install, verify, provision, uninstall or firstboot.  It is
 * not part of any receipt, so it survives uninstall.  Each line is written
 * with one write in append mode and fsynced; a line torn by a crash is
 * skipped by the reader (and the next append starts on a fresh line).
 *
 * The configuration record is ROOT/var/lib/airpack/<product>/provision.json:
 * where the configure step wrote the device configuration, the sha256 of
 * what it wrote, and the identity facts the device runtime gave (for IoT
 * Edge: hub, device, key fingerprint).  It lets status tell whether the file
 * changed since, and uninstall remove it.
 *
 * Secrets never go into either file: ap_history_append and
 * ap_history_record_save refuse (AP_E_USAGE) any string holding a
 * "SharedAccessKey=" that is not followed by "****".  Formats:
 * docs/provisioning.md.  This module, manifest.c and receipt.c are the only
 * users of cJSON (for reading).
 */
#ifndef AP_HISTORY_H
#define AP_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/state.h"
#include "airpack/digest.h"

#define AP_HISTORY_PATH AP_STATE_LOG_BASE "/history.jsonl" /* relative to the root */
#define AP_HISTORY_LINE_MAX (1024 * 1024)		   /* longer lines are refused / skipped */
#define AP_HISTORY_TIME_LEN 32

/* A name and a string value: a component and where it came from
 * ("local:/media/usb/x.cab", "bundle", "download:https://..."), or a detail
 * ("config_path" -> "etc/x/config.yaml"). */
struct ap_history_field {
	const char *key;
	const char *value;
};

/* One event to append.  Pointers are borrowed. */
struct ap_history_event {
	const char *type;    /* install, verify, provision, uninstall, firstboot */
	const char *product; /* may be NULL when unknown */
	const char *version; /* may be NULL */
	const char *key_id;  /* the release's signer; may be NULL */
	bool ok;	     /* recorded as "result": "ok" or "failed" */
	const char *message; /* one human line, e.g. "4 components (3 local, 1 download)" */
	int64_t files;	     /* file count; < 0 when it does not apply */
	const struct ap_history_field *sources; /* per component; may be NULL */
	size_t n_sources;
	const struct ap_history_field *details; /* other facts; may be NULL */
	size_t n_details;
};
/* clang-format off */
#define AP_HISTORY_EVENT_INIT { NULL, NULL, NULL, NULL, false, NULL, -1, NULL, 0, NULL, 0 }
/* clang-format on */

/* Append ev as one line
 *   {"time":"2026-11-28T10:00:00Z","event":"install","product":..,"version":..,
 *    "key_id":..,"result":"ok","message":..,"files":9,"sources":{..},"details":{..}}
 * to ROOT/AP_HISTORY_PATH (root NULL means "/"), creating the folders, then
 * fsync it (and its folder when the file was created).  The time is
 * ap_fsx_now().  ev->type must be one of the five names (AP_E_USAGE). */
int ap_history_append(const char *root, const struct ap_history_event *ev, struct ap_err *err);

/* A line read back.  Strings are malloc'd (NULL when absent); release with
 * ap_history_entry_release (the reader does it after the callback). */
struct ap_history_kv {
	char *key;
	char *value;
};
struct ap_history_entry {
	size_t line;	 /* 1-based line number in the file */
	const char *raw; /* the line as stored, without its newline (valid in the callback) */
	char *time;
	char *type;
	char *product;
	char *version;
	char *key_id;
	bool ok;
	char *message;
	int64_t files; /* -1 when absent */
	struct ap_history_kv *sources;
	size_t n_sources;
	struct ap_history_kv *details;
	size_t n_details;
};

typedef void (*ap_history_entry_fn)(void *ctx, const struct ap_history_entry *e);

/* Call fn for every well-formed line of ROOT/AP_HISTORY_PATH, oldest first.
 * Lines that are not a JSON object with string "time", "event" and
 * "result" (a torn write, an edit) are skipped and counted in *n_bad (may
 * be NULL).  No history file is not an error: fn is never called. */
int ap_history_read(const char *root, ap_history_entry_fn fn, void *ctx, size_t *n_bad,
		    struct ap_err *err);

/* Parse one line (need not be NUL-terminated) into *e (written only on
 * success; release with ap_history_entry_release).  AP_E_STATE naming what
 * is wrong when it is not an event line. */
int ap_history_parse_line(const char *line, size_t len, struct ap_history_entry *e,
			  struct ap_err *err);
void ap_history_entry_release(struct ap_history_entry *e);

/* The value of a detail or source by key, or NULL. */
const char *ap_history_kv_get(const struct ap_history_kv *kv, size_t n, const char *key);

/* "2026-11-28T10:00:00Z" for t (seconds since the epoch, UTC). */
void ap_history_format_time(int64_t t, char buf[AP_HISTORY_TIME_LEN]);

/* ---- the configuration record --------------------------------------------- */

/* The record of the configure step (airpack/configure.h): the file name and
 * format are provision's, the command that writes it. */
#define AP_HISTORY_RECORD_FORMAT "airpack-provision/1"
#define AP_HISTORY_RECORD_FILE "provision.json" /* in ROOT/var/lib/airpack/<product>/ */

/* Strings are malloc'd when loaded (NULL when absent); when saving they are
 * only read.  No secret: the device runtime's identity facts (for IoT Edge
 * host_name, device_id, gateway_host_name, key_fingerprint, agent_image,
 * registry_address, registry_user, proxy) are names and fingerprints. */
struct ap_history_record {
	char *product;
	char *version;			   /* the release installed when configuring */
	char *config_path;		   /* relative to the root */
	char config_sha256[AP_SHA256_HEX]; /* of the bytes the configure step wrote */
	unsigned config_mode;
	/* The runtime's identity facts, written as top-level string members in
	 * this order (a NULL value as null); loaded back as every string member
	 * the record format does not define itself, in file order. */
	struct ap_history_kv *identity;
	size_t n_identity;
	char **created_dirs; /* folders created for the file (relative to the
				root, deepest last); uninstall removes them when empty */
	size_t n_created_dirs;
	int64_t provisioned_at;
};

/* Write the record atomically (mode 0644) to
 * ROOT/var/lib/airpack/<rec->product>/provision.json.  A value holding a
 * key (see above), an unsafe product or path, or a bad sha256 or mode is
 * refused. */
int ap_history_record_save(const char *root, const struct ap_history_record *rec,
			   struct ap_err *err);

/* Read the record of product; AP_E_NOTFOUND when there is none, AP_E_STATE
 * naming the field when it is malformed.  *out is the caller's
 * (ap_history_record_free). */
int ap_history_record_load(const char *root, const char *product, struct ap_history_record **out,
			   struct ap_err *err);

/* An identity fact of rec by name, or NULL when absent. */
const char *ap_history_record_get(const struct ap_history_record *rec, const char *key);

/* The record's path relative to the root (malloc'd; NULL when out of memory). */
char *ap_history_record_relpath(const char *product);

void ap_history_record_free(struct ap_history_record *rec);

#endif
