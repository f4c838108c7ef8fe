/* hashring.h - SHA-256 of a stream hashed on a second thread while the
 * caller writes the same bytes elsewhere.
 *
 * The ring is a few fixed buffers.  The caller takes the next free one
 * (ap_hashring_buf), reads into it, hands it to the hashing thread
 * (ap_hashring_submit) and goes on using it (writing it out) while it is
 * hashed; the buffer comes back round once both are done.  So each byte is
 * still read once, and hashed from the very buffer the read filled: the
 * hash and the write overlap instead of taking turns.  Memory stays
 * AP_HASHRING_SLOTS * buf_len whatever the stream's size.
 *
 * Single-threaded (every submit hashes at once, on the caller's thread)
 * when asked to, when the build has no threads (meson -Dhash_thread=false;
 * Windows builds), or when the thread cannot be started: the same bytes
 * give the same hash either way.
 */
#ifndef AP_HASHRING_H
#define AP_HASHRING_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/digest.h"
#include "airpack/err.h"

#define AP_HASHRING_SLOTS 4

/* Streams shorter than this are hashed on the caller's thread: a thread's
 * start costs more than it saves on a few buffers. */
#define AP_HASHRING_MIN_THREADED (4u << 20)

struct ap_hashring;

/* A ring of AP_HASHRING_SLOTS buffers of buf_len bytes; threaded asks for
 * the hashing thread (see above for when there is none).  *r is written
 * only on success (AP_E_NOMEM otherwise); free it with ap_hashring_free. */
int ap_hashring_new(size_t buf_len, bool threaded, struct ap_hashring **r, struct ap_err *err);

/* Whether a hashing thread runs (false: single-threaded). */
bool ap_hashring_threaded(const struct ap_hashring *r);

/* The next buffer to fill (buf_len bytes), waiting until the hashing
 * thread is done with it.  The buffer got before is no longer the
 * caller's: take the next one only when done with the last. */
unsigned char *ap_hashring_buf(struct ap_hashring *r);

/* Hash the first n bytes of the buffer ap_hashring_buf gave last.  The
 * caller may go on reading that buffer (never writing it) until it asks
 * for the next one. */
void ap_hashring_submit(struct ap_hashring *r, size_t n);

/* Wait for every buffer submitted, then write the hash of all of them,
 * in order, as hex and start again from an empty stream. */
void ap_hashring_final_hex(struct ap_hashring *r, char hex[AP_SHA256_HEX]);

/* Stop the thread (what is still queued is dropped) and free r.  NULL is
 * a no-op. */
void ap_hashring_free(struct ap_hashring *r);

#endif
