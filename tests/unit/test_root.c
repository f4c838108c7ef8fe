/* test_root.c - roots of trust: parse, emit, thresholds, the chain, times;
 * the device's version record (freshness.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testutil.h"
#include "airpack/freshness.h"
#include "airpack/fsx.h"
#include "airpack/root.h"
#include "airpack/sign.h"

#define NK 5

static struct ap_sign_key *keys[NK];
static char ids[NK][AP_KEY_ID_LEN];

/* A root of version v: root role keys[r], release role keys[0..2] with
 * threshold t, index role keys[3]. */
static struct ap_root *make_root(int64_t v, int r, int64_t t)
{
	struct ap_root *rt = ap_root_new();
	struct ap_err err = AP_ERR_INIT;

	rt->version = v;
	rt->expires = 2000000000;
	ap_root_add_key(rt, AP_ROLE_ROOT, keys[r], &err);
	for (int i = 0; i < 3; i++)
		ap_root_add_key(rt, AP_ROLE_RELEASE, keys[i], &err);
	ap_root_add_key(rt, AP_ROLE_INDEX, keys[3], &err);
	rt->roles[AP_ROLE_ROOT].threshold = 1;
	rt->roles[AP_ROLE_RELEASE].threshold = t;
	rt->roles[AP_ROLE_INDEX].threshold = 1;
	return rt;
}

static void sign_into(struct ap_sigset *s, int k, const char *msg, size_t len, bool with_id)
{
	unsigned char *sig = NULL;
	size_t slen = 0;

	ap_sign(keys[k], msg, len, &sig, &slen, NULL);
	ap_root_sigset_add(s, with_id ? ids[k] : NULL, sig, slen, NULL);
	free(sig);
}

static void test_time(void)
{
	int64_t t = 0;
	char buf[AP_TIME_LEN];

	is_int(ap_root_time_parse("1970-01-01T00:00:00Z", &t), 0, "the epoch parses");
	is_int((int)t, 0, "as 0");
	is_int(ap_root_time_parse("2024-02-29T12:34:56Z", &t), 0, "a leap day parses");
	ap_root_time_format(t, buf);
	is_str(buf, "2024-02-29T12:34:56Z", "and formats back");
	ok(ap_root_time_parse("2023-02-29T00:00:00Z", &t) < 0, "no leap day in 2023");
	ok(ap_root_time_parse("2024-01-01 00:00:00Z", &t) < 0, "a space is not a T");
	ok(ap_root_time_parse("2024-01-01T00:00:00+01:00", &t) < 0, "only UTC (Z)");
	ap_root_time_format(4102444800LL, buf);
	is_str(buf, "2100-01-01T00:00:00Z", "2100 formats");
}

static void test_roundtrip(void)
{
	struct ap_root *rt = make_root(3, 4, 2), *back = NULL;
	struct ap_err err = AP_ERR_INIT;
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0;

	ap_root_set_floor(rt, "demo", "1.2.0", &err);
	is_int(ap_root_emit(rt, &json, &len, &err), 0, "a root emits: %s", err.msg);
	is_int(ap_root_parse(json, len, &back, &err), 0, "and parses back: %s", err.msg);
	is_int(ap_root_emit(back, &json2, &len2, &err), 0, "and emits again");
	ok(len == len2 && memcmp(json, json2, len) == 0, "byte for byte (canonical)");
	is_str(ap_root_floor(back, "demo"), "1.2.0", "the floor is kept");
	ok(ap_root_floor(back, "other") == NULL, "and names one product");
	contains(json, "\"format\": \"airpack-root/1\"", "the format is named");
	free(json2);
	ap_root_free(back);
	back = NULL;

	/* Hostile edits, each named by its JSON path. */
	{
		char *bad = strdup(json), *p = strstr(bad, ids[4]);

		/* The root role's id no longer matches its public key. */
		memcpy(p, ids[0], AP_KEY_ID_LEN - 1);
		ok(ap_root_parse(bad, len, &back, &err) < 0,
		   "a key id that is not its key's is refused");
		contains(err.msg, "keys[", "naming the key");
		free(bad);
	}
	{
		char *bad = strdup(json), *p = strstr(bad, "\"threshold\": 2");

		p[13] = '9';
		ok(ap_root_parse(bad, len, &back, &err) < 0,
		   "a threshold above the role's keys is refused");
		contains(err.msg, "roles.release.threshold", "naming the field");
		free(bad);
	}
	{
		char *bad = strdup(json), *p = strstr(bad, "\"expires\": \"");

		p[12] = 'x';
		ok(ap_root_parse(bad, len, &back, &err) < 0, "a bad expiry is refused");
		contains(err.msg, "expires", "naming the field");
		free(bad);
	}
	ok(ap_root_parse(json, AP_ROOT_MAX + 1, &back, &err) == AP_E_TOOBIG,
	   "more than the cap is refused before parsing");
	free(json);
	ap_root_free(rt);
}

static void test_threshold(void)
{
	struct ap_root *rt = make_root(1, 4, 2);
	struct ap_sigset s = AP_SIGSET_INIT;
	struct ap_err err = AP_ERR_INIT;
	const char msg[] = "{\"a manifest\": true}\n";
	size_t n = 0;
	char signer[AP_KEY_ID_LEN] = "";

	sign_into(&s, 0, msg, sizeof(msg) - 1, false);
	is_int(ap_root_verify(rt, AP_ROLE_RELEASE, "m", msg, sizeof(msg) - 1, &s, signer, &n, &err),
	       AP_E_SIGNATURE, "one signature of a 2-of-3 role is not enough");
	contains(err.msg, "1 of the 2 required signatures", "counting them");
	sign_into(&s, 0, msg, sizeof(msg) - 1, true);
	is_int(ap_root_verify(rt, AP_ROLE_RELEASE, "m", msg, sizeof(msg) - 1, &s, signer, &n, &err),
	       AP_E_SIGNATURE, "the same key twice counts once");
	is_int((int)n, 1, "one key counted");
	sign_into(&s, 4, msg, sizeof(msg) - 1, true);
	is_int(ap_root_verify(rt, AP_ROLE_RELEASE, "m", msg, sizeof(msg) - 1, &s, signer, &n, &err),
	       AP_E_SIGNATURE, "a key of another role does not count");
	sign_into(&s, 2, msg, sizeof(msg) - 1, true);
	is_int(ap_root_verify(rt, AP_ROLE_RELEASE, "m", msg, sizeof(msg) - 1, &s, signer, &n, &err),
	       0, "two distinct keys of the role pass: %s", err.msg);
	is_str(signer, ids[0], "the first signer is named");
	is_int(ap_root_verify(rt, AP_ROLE_RELEASE, "m", "x", 1, &s, NULL, NULL, &err),
	       AP_E_SIGNATURE, "another message does not verify");
	ap_root_sigset_release(&s);
	sign_into(&s, 3, msg, sizeof(msg) - 1, true);
	is_int(ap_root_verify(rt, AP_ROLE_RELEASE, "m", msg, sizeof(msg) - 1, &s, NULL, NULL, &err),
	       AP_E_UNTRUSTED, "only a foreign key's signature: untrusted");
	contains(err.msg, ids[3], "naming its key id");
	ap_root_sigset_release(&s);
	ap_root_free(rt);
}

static int get_mem(void *ctx, int64_t version, char **json, size_t *len, struct ap_sigset *sigs,
		   struct ap_err *err)
{
	char **chain = ctx;
	struct ap_root *rt;

	(void)err;
	if (version > 3)
		return AP_E_NOTFOUND;
	*json = strdup(chain[version]);
	*len = strlen(*json);
	/* root N+1 is signed by root N's key and its own */
	rt = NULL;
	ap_root_parse(*json, *len, &rt, NULL);
	sign_into(sigs, version == 2 ? 4 : (int)version - 1, *json, *len, true);
	sign_into(sigs, (int)version, *json, *len, true);
	ap_root_free(rt);
	return 0;
}

static void test_chain(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_root *r1 = make_root(1, 4, 1), *r2 = make_root(2, 2, 1), *r3 = make_root(3, 3, 1);
	struct ap_root *next = NULL;
	struct ap_sigset s = AP_SIGSET_INIT;
	struct ap_freshness_root fr;
	char *chain[4] = { NULL, NULL, NULL, NULL };
	size_t len;

	ap_root_emit(r1, &chain[1], &len, &err);
	ap_root_emit(r2, &chain[2], &len, &err);
	ap_root_emit(r3, &chain[3], &len, &err);
	/* root 2 signed only by its own new key */
	sign_into(&s, 2, chain[2], strlen(chain[2]), true);
	ok(ap_root_next(r1, chain[2], strlen(chain[2]), &s, &next, &err) < 0,
	   "a rotation signed only by the new key is refused");
	contains(err.msg, "by the keys of root 1", "naming the missing keys");
	sign_into(&s, 4, chain[2], strlen(chain[2]), true);
	is_int(ap_root_next(r1, chain[2], strlen(chain[2]), &s, &next, &err), 0,
	       "signed by the old and the new root key it is accepted: %s", err.msg);
	ap_root_free(next);
	next = NULL;
	ok(ap_root_next(r2, chain[2], strlen(chain[2]), &s, &next, &err) < 0,
	   "a root that does not follow its predecessor's version is refused");
	ap_root_sigset_release(&s);

	memset(&fr, 0, sizeof(fr));
	fr.root = make_root(1, 4, 1);
	is_int(ap_freshness_walk(&fr, get_mem, chain, &err), 0, "the chain 1 -> 2 -> 3 walks: %s",
	       err.msg);
	is_int((int)fr.root->version, 3, "to root 3");
	is_int((int)fr.steps, 2, "in two steps");
	ap_freshness_root_release(&fr);
	for (int i = 1; i < 4; i++)
		free(chain[i]);
	ap_root_free(r1);
	ap_root_free(r2);
	ap_root_free(r3);
}

static void test_record(void)
{
	struct ap_err err = AP_ERR_INIT;
	char *dir = tu_mkdtemp("ap-root");
	struct ap_freshness_root fr;
	struct ap_freshness_claim c;
	char *hi = NULL;
	int64_t rv = 0;

	memset(&fr, 0, sizeof(fr));
	fr.root = make_root(2, 4, 1);
	memset(&c, 0, sizeof(c));
	c.root = &fr;
	c.index_version = 5;
	is_int(ap_freshness_check(dir, &c, "demo", "1.0.0", false, &err), 0,
	       "a fresh device accepts");
	is_int(ap_freshness_commit(dir, &c, "demo", "1.1.0", -1, &err), 0, "and records: %s",
	       err.msg);
	is_int(ap_freshness_get(dir, "demo", &hi, &rv, &err), 0, "the record reads");
	is_str(hi, "1.1.0", "the highest release");
	is_int((int)rv, 2, "the root version");
	free(hi);
	is_int(ap_freshness_check(dir, &c, "demo", "1.0.0", false, &err), AP_E_STATE,
	       "an older release is refused");
	is_int(ap_freshness_check(dir, &c, "demo", "1.0.0", true, &err), AP_E_STATE,
	       "--allow-downgrade without a signed floor is refused with a root");
	c.floor = "1.0.0";
	is_int(ap_freshness_check(dir, &c, "demo", "1.0.0", true, &err), 0,
	       "a signed floor at the version permits it");
	is_int(ap_freshness_check(dir, &c, "demo", "0.9.0", true, &err), AP_E_STATE,
	       "never below the floor");
	c.index_version = 4;
	is_int(ap_freshness_check(dir, &c, "demo", "1.2.0", false, &err), AP_E_STATE,
	       "an older index is refused");
	fr.root->version = 1;
	c.index_version = 6;
	is_int(ap_freshness_check(dir, &c, "demo", "1.2.0", false, &err), AP_E_STATE,
	       "an older root is refused");
	ap_freshness_root_release(&fr);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	struct ap_err err = AP_ERR_INIT;

	for (int i = 0; i < NK; i++) {
		if (ap_sign_key_generate(&keys[i], &err) != 0) {
			printf("Bail out! %s\n", err.msg);
			return 1;
		}
		ap_sign_key_id(keys[i], ids[i]);
	}
	test_time();
	test_roundtrip();
	test_threshold();
	test_chain();
	test_record();
	for (int i = 0; i < NK; i++)
		ap_sign_key_free(keys[i]);
	return tap_done();
}
