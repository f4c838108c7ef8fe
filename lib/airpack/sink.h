/* sink.h - stream a payload into its final name, hashing it and checking
 * its size and sha256 on the way.
 *
 * A sink writes to a temporary name beside PATH (an ap_fsx_afile) and hashes
 * every byte once, as it is written.  ap_sink_commit gives the file its
 * final name only when the bytes are what was expected, so a payload that
 * is short, too long or different never appears under its final name, and
 * a failed sink leaves no temporary file behind.
 */
#ifndef AP_SINK_H
#define AP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "airpack/digest.h"
#include "airpack/err.h"
#include "airpack/fsx.h"

/* What the bytes must be.  A mismatch is AP_E_DIGEST, worded
 *   "'WHAT' is larger than the SIZE bytes SAYS"   (a write past the size)
 *   "'WHAT' is N bytes, SAYS SIZE"                (short, at commit)
 *   "'WHAT' has sha256 HEX, SAYS SHA256"          (at commit)
 * e.g. "'app.zip' has sha256 ab12..., the signed manifest says 9f00...".
 * Callers add the component as context (ap_err_prefix). */
struct ap_sink_expect {
	const char *what; /* where the bytes come from (a path, an entry name);
	                     NULL: the destination path */
	bool has_size;
	uint64_t size;	    /* with has_size: the exact size, and a hard cap that
	                       every write enforces */
	const char *sha256; /* expected hex digest (either case); NULL: only compute it */
	const char *says;   /* who expects it, put before each expected value
	                       ("the signed manifest says"); NULL: "expected" */
};

/* A sink being written.  The expectation's strings are borrowed: they must
 * outlive the sink.  done and hex stay readable after commit and abort. */
struct ap_sink {
	struct ap_fsx_afile f;
	struct ap_digest *h;
	struct ap_sink_expect x;
	int rc;			 /* the first failure; it sticks */
	uint64_t done;		 /* bytes written so far */
	char hex[AP_SHA256_HEX]; /* the bytes' sha256 once commit has hashed them
	                            all, also when it then finds a mismatch;
	                            "" before */
};
/* clang-format off */
#define AP_SINK_INIT { AP_AFILE_INIT, NULL, { 0 }, 0, 0, { 0 } }
/* clang-format on */

/* Start writing PATH through a temporary sibling created with mode.  x may
 * be NULL (no expectation: the sink only hashes). */
int ap_sink_open(struct ap_sink *s, const char *path, unsigned mode, const struct ap_sink_expect *x,
		 struct ap_err *err);

/* Hash and write len bytes.  Going past the expected size is AP_E_DIGEST
 * and writes none of them.  A failure sticks: every later write and the
 * commit return it without doing anything. */
int ap_sink_write(struct ap_sink *s, const void *data, size_t len, struct ap_err *err);

/* Write the whole of file src into the sink through a fixed buffer.
 * progress (may be NULL) is called with s->done after each write. */
int ap_sink_write_file(struct ap_sink *s, const char *src,
		       void (*progress)(void *ctx, uint64_t done), void *ctx, struct ap_err *err);

/* Finish the hash, check the size and then the sha256 against the
 * expectation, and on a match fsync and rename the file to PATH (see
 * ap_fsx_afile_commit).  hex (may be NULL) gets the sha256 on success.  The
 * sink is released either way; on failure nothing is left under PATH's
 * temporary name and PATH is untouched. */
int ap_sink_commit(struct ap_sink *s, char hex[AP_SHA256_HEX], struct ap_err *err);

/* Remove the temporary file and release s.  Safe on an unopened or
 * released sink. */
void ap_sink_abort(struct ap_sink *s);

/* Copy file src to dst (atomically, with mode) while hashing and checking
 * it: ap_sink_open, ap_sink_write_file, ap_sink_commit.  x may be NULL;
 * its what defaults to src.  hex (may be NULL) gets the sha256 on
 * success. */
int ap_sink_copy_file(const char *src, const char *dst, unsigned mode,
		      const struct ap_sink_expect *x, void (*progress)(void *ctx, uint64_t done),
		      void *ctx, char hex[AP_SHA256_HEX], struct ap_err *err);

#endif
