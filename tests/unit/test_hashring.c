/* test_hashring.c - the hash ring gives ap_digest's hash of the same
 * bytes, threaded or not, whatever the chunking, and can be reused. */
#include <stdlib.h>
#include <string.h>

#include "ap_config.h"
#include "airpack/digest.h"
#include "airpack/hashring.h"
#include "tap.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define BUF_LEN 4096u
#define STREAM_LEN (3u * 1024u * 1024u + 77u)

/* A stream whose bytes depend on their offset, so order matters. */
static unsigned char byte_at(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/* Feed STREAM_LEN bytes through r in chunks of at most step (varying), and
 * overwrite each buffer only after taking the next, as the contract says. */
static void feed(struct ap_hashring *r, size_t step, char hex[AP_SHA256_HEX])
{
	size_t done = 0, turn = 0;

	while (done < STREAM_LEN) {
		unsigned char *buf = ap_hashring_buf(r);
		size_t n = step - (turn++ % 3);

		if (n > BUF_LEN)
			n = BUF_LEN;
		if (n > STREAM_LEN - done)
			n = STREAM_LEN - done;
		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(done + i);
		ap_hashring_submit(r, n);
		done += n;
	}
	ap_hashring_final_hex(r, hex);
}

int main(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_digest *h = ap_digest_new();
	unsigned char *all = malloc(STREAM_LEN);
	char want[AP_SHA256_HEX], got[AP_SHA256_HEX];

	if (!h || !all)
		return 1;
	for (size_t i = 0; i < STREAM_LEN; i++)
		all[i] = byte_at(i);
	ap_digest_update(h, all, STREAM_LEN);
	ap_digest_final_hex(h, want);

	for (int threaded = 0; threaded <= 1; threaded++) {
		struct ap_hashring *r = NULL;

		ok(ap_hashring_new(BUF_LEN, threaded, &r, &err) == 0, "new (threaded %d): %s",
		   threaded, err.msg);
		if (!r)
			continue;
		if (threaded && AP_HASH_THREAD)
			ok(ap_hashring_threaded(r), "a hashing thread runs");
		else
			ok(!ap_hashring_threaded(r),
			   "no hashing thread when not asked or not built");
		feed(r, BUF_LEN, got);
		is_str(got, want, "full buffers hash as one stream (threaded %d)", threaded);
		feed(r, 1000, got);
		is_str(got, want, "again after final, odd chunks (threaded %d)", threaded);
		ap_hashring_final_hex(r, got);
		is_str(got, EMPTY_SHA, "nothing submitted: the empty hash (threaded %d)", threaded);
		/* Freed with buffers still queued: the thread stops, nothing leaks. */
		for (int i = 0; i < AP_HASHRING_SLOTS; i++) {
			memset(ap_hashring_buf(r), 'x', BUF_LEN);
			ap_hashring_submit(r, BUF_LEN);
		}
		ap_hashring_free(r);
	}
	ap_hashring_free(NULL);
	ap_digest_free(h);
	free(all);
	return tap_done();
}
