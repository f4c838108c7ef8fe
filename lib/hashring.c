/* hashring.c - SHA-256 on a second thread over a ring of buffers; see
 * airpack/hashring.h.
 *
 * The caller fills and submits slots in order; the thread hashes them in
 * the same order.  Two counters, guarded by one mutex, say where each side
 * is: slot k % AP_HASHRING_SLOTS is the caller's to fill again once the
 * thread has hashed k.  The mutex is also what orders a buffer's bytes
 * between the two threads (filled before the submit that publishes it,
 * hashed before the count that gives it back).
 */
#include <stdint.h>
#include <stdlib.h>

#include "ap_config.h"
#include "airpack/hashring.h"

#if AP_HASH_THREAD
#include <pthread.h>
#endif

#include "airpack/banned.h"

struct ap_hashring {
	unsigned char *buf[AP_HASHRING_SLOTS];
	size_t len[AP_HASHRING_SLOTS];
	struct ap_digest *h;
	uint64_t submitted; /* slots handed to the hash, ever */
	bool threaded;
#if AP_HASH_THREAD
	uint64_t hashed; /* slots the thread is done with, ever */
	bool stop;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* either counter moved, or stop */
#endif
};

#if AP_HASH_THREAD
static void *hash_thread(void *arg)
{
	struct ap_hashring *r = arg;
	size_t k;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && r->hashed == r->submitted)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		k = (size_t)(r->hashed % AP_HASHRING_SLOTS);
		pthread_mutex_unlock(&r->mu);
		ap_digest_update(r->h, r->buf[k], r->len[k]);
		pthread_mutex_lock(&r->mu);
		r->hashed++;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Start the thread; false (and nothing to undo) when it cannot run. */
static bool start_thread(struct ap_hashring *r)
{
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		return false;
	if (pthread_cond_init(&r->cv, NULL) != 0) {
		pthread_mutex_destroy(&r->mu);
		return false;
	}
	if (pthread_create(&r->thread, NULL, hash_thread, r) != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		return false;
	}
	return true;
}
#endif

int ap_hashring_new(size_t buf_len, bool threaded, struct ap_hashring **rp, struct ap_err *err)
{
	struct ap_hashring *r;
	size_t slots;

	r = calloc(1, sizeof(*r));
	if (!r)
		return ap_err_set(err, AP_E_NOMEM, "out of memory for the hash ring");
	r->h = ap_digest_new();
#if AP_HASH_THREAD
	r->threaded = threaded;
#else
	(void)threaded;
#endif
	/* Single-threaded, the one buffer is filled and hashed in turn. */
	slots = r->threaded ? AP_HASHRING_SLOTS : 1;
	for (size_t i = 0; i < slots; i++) {
		r->buf[i] = malloc(buf_len ? buf_len : 1);
		if (!r->buf[i])
			r->threaded = false;
	}
	if (!r->h || !r->buf[0]) {
		ap_hashring_free(r);
		return ap_err_set(err, AP_E_NOMEM, "out of memory for the hash ring");
	}
#if AP_HASH_THREAD
	if (r->threaded)
		r->threaded = start_thread(r);
#endif
	*rp = r;
	return 0;
}

bool ap_hashring_threaded(const struct ap_hashring *r)
{
	return r->threaded;
}

unsigned char *ap_hashring_buf(struct ap_hashring *r)
{
	size_t k;

	if (!r->threaded)
		return r->buf[0];
	k = (size_t)(r->submitted % AP_HASHRING_SLOTS);
#if AP_HASH_THREAD
	pthread_mutex_lock(&r->mu);
	while (r->submitted - r->hashed >= AP_HASHRING_SLOTS)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
#endif
	return r->buf[k];
}

void ap_hashring_submit(struct ap_hashring *r, size_t n)
{
	size_t k;

	if (!r->threaded) {
		ap_digest_update(r->h, r->buf[0], n);
		r->submitted++;
		return;
	}
	k = (size_t)(r->submitted % AP_HASHRING_SLOTS);
	r->len[k] = n;
#if AP_HASH_THREAD
	pthread_mutex_lock(&r->mu);
	r->submitted++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
#endif
}

void ap_hashring_final_hex(struct ap_hashring *r, char hex[AP_SHA256_HEX])
{
#if AP_HASH_THREAD
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		while (r->hashed != r->submitted)
			pthread_cond_wait(&r->cv, &r->mu);
		pthread_mutex_unlock(&r->mu);
	}
#endif
	ap_digest_final_hex(r->h, hex);
	ap_digest_reset(r->h);
}

void ap_hashring_free(struct ap_hashring *r)
{
	if (!r)
		return;
#if AP_HASH_THREAD
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
	}
#endif
	for (size_t i = 0; i < AP_HASHRING_SLOTS; i++)
		free(r->buf[i]);
	ap_digest_free(r->h);
	free(r);
}
