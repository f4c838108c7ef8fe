/* trust_bench.c - time the trust checks a device makes (bench/trust.sh):
 *
 *   ap-trust-bench STEPS RELEASES ROUNDS
 *
 * builds in memory a chain of STEPS root rotations (each root signed by its
 * predecessor's root key and its own) and a mirror index of RELEASES
 * releases signed by an index key, then times, ROUNDS times each (median):
 *   chain  ap_freshness_walk from root 1 over the whole chain (parse, two
 *          signature checks per step)
 *   index  parse the index, count the index role's signatures, resolve
 *          "latest"
 *   verify one in-process Ed25519 verify of a small message
 * and prints "chain MS", "index MS", "verify MS" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/freshness.h"
#include "airpack/fsx.h"
#include "airpack/mirror.h"
#include "airpack/root.h"
#include "airpack/sign.h"

struct chain {
	char **json;
	size_t *len;
	struct ap_sigset *sigs;
	int64_t n; /* roots 1..n */
};

static int get(void *ctx, int64_t version, char **json, size_t *len, struct ap_sigset *sigs,
	       struct ap_err *err)
{
	struct chain *c = ctx;

	if (version > c->n)
		return AP_E_NOTFOUND;
	*json = malloc(c->len[version] + 1);
	if (!*json)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	memcpy(*json, c->json[version], c->len[version] + 1);
	*len = c->len[version];
	for (size_t i = 0; i < c->sigs[version].n; i++)
		ap_root_sigset_add(sigs, c->sigs[version].v[i].key_id, c->sigs[version].v[i].sig,
				   c->sigs[version].v[i].len, err);
	return 0;
}

static void sign_add(struct ap_sigset *s, const struct ap_sign_key *k, const char *msg, size_t len)
{
	unsigned char *sig = NULL;
	size_t slen = 0;
	char id[AP_KEY_ID_LEN];

	ap_sign_key_id(k, id);
	ap_sign(k, msg, len, &sig, &slen, NULL);
	ap_root_sigset_add(s, id, sig, slen, NULL);
	free(sig);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	struct ap_err err = AP_ERR_INIT;
	int steps = argc > 1 ? atoi(argv[1]) : 100;
	int releases = argc > 2 ? atoi(argv[2]) : 1000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	struct ap_sign_key **rk = calloc((size_t)steps + 2, sizeof(*rk));
	struct ap_sign_key *rel = NULL, *idx = NULL;
	struct chain c;
	struct ap_mirror_index *ix = NULL;
	char *ijson = NULL;
	size_t ilen = 0;
	struct ap_sigset isigs = AP_SIGSET_INIT;
	double *t = calloc((size_t)rounds, sizeof(*t));

	if (!rk || !t || steps < 1 || releases < 1 || rounds < 1)
		return 2;
	c.n = steps + 1;
	c.json = calloc((size_t)c.n + 1, sizeof(*c.json));
	c.len = calloc((size_t)c.n + 1, sizeof(*c.len));
	c.sigs = calloc((size_t)c.n + 1, sizeof(*c.sigs));
	ap_sign_key_generate(&rel, &err);
	ap_sign_key_generate(&idx, &err);
	for (int64_t v = 1; v <= c.n; v++) {
		struct ap_root *r = ap_root_new();

		ap_sign_key_generate(&rk[v], &err);
		r->version = v;
		r->expires = 4102444800LL;
		ap_root_add_key(r, AP_ROLE_ROOT, rk[v], &err);
		ap_root_add_key(r, AP_ROLE_RELEASE, rel, &err);
		ap_root_add_key(r, AP_ROLE_INDEX, idx, &err);
		for (int k = 0; k < AP_ROLE_N; k++)
			r->roles[k].threshold = 1;
		if (ap_root_emit(r, &c.json[v], &c.len[v], &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		if (v > 1)
			sign_add(&c.sigs[v], rk[v - 1], c.json[v], c.len[v]);
		sign_add(&c.sigs[v], rk[v], c.json[v], c.len[v]);
		ap_root_free(r);
	}
	for (int round = 0; round < rounds; round++) {
		struct ap_freshness_root fr;
		int64_t t0;

		memset(&fr, 0, sizeof(fr));
		ap_root_parse(c.json[1], c.len[1], &fr.root, &err);
		t0 = ap_fsx_monotonic_ms();
		if (ap_freshness_walk(&fr, get, &c, &err) != 0 || fr.root->version != c.n) {
			fprintf(stderr, "chain: %s\n", err.msg);
			return 1;
		}
		t[round] = (double)(ap_fsx_monotonic_ms() - t0);
		ap_freshness_root_release(&fr);
	}
	printf("chain %.1f\n", median(t, rounds));

	{
		char id[AP_KEY_ID_LEN];

		ap_sign_key_id(idx, id);
		ap_mirror_index_new("bench", id, &ix, &err);
		for (int i = 0; i < releases; i++) {
			char v[32], sha[AP_SHA256_HEX];

			snprintf(v, sizeof(v), "1.%d.%d", i / 100, i % 100);
			snprintf(sha, sizeof(sha), "%064x", i);
			ap_mirror_index_put(ix, v, "lts", sha, 1000000, &err);
			ap_mirror_index_set_manifest_size(ix, v, 12345);
		}
		ix->version = 7;
		ix->expires = 4102444800LL;
		ap_mirror_index_emit(ix, &ijson, &ilen, &err);
		sign_add(&isigs, idx, ijson, ilen);
		ap_mirror_index_free(ix);
	}
	{
		struct ap_root *r = NULL;

		ap_root_parse(c.json[c.n], c.len[c.n], &r, &err);
		for (int round = 0; round < rounds; round++) {
			const struct ap_mirror_release *mr = NULL;
			struct ap_mirror_index *px = NULL;
			int64_t t0 = ap_fsx_monotonic_ms();

			/* The real order: the signature first, then the parse. */
			for (int rep = 0; rep < 10; rep++) {
				if (ap_root_verify(r, AP_ROLE_INDEX, "index", ijson, ilen, &isigs,
						   NULL, NULL, &err) != 0 ||
				    ap_mirror_index_parse(ijson, ilen, &px, &err) != 0 ||
				    ap_mirror_resolve(px, "latest", NULL, &mr, &err) != 0) {
					fprintf(stderr, "index: %s\n", err.msg);
					return 1;
				}
				ap_mirror_index_free(px);
				px = NULL;
			}
			t[round] = (double)(ap_fsx_monotonic_ms() - t0) / 10.0;
		}
		printf("index %.2f (%zu bytes)\n", median(t, rounds), ilen);
		ap_root_free(r);
	}
	{
		const char msg[] = "{\"a small manifest\": true}\n";
		unsigned char *sig = NULL;
		size_t slen = 0;

		ap_sign(rel, msg, sizeof(msg) - 1, &sig, &slen, &err);
		for (int round = 0; round < rounds; round++) {
			int64_t t0 = ap_fsx_monotonic_ms();

			for (int rep = 0; rep < 1000; rep++)
				ap_sign_verify(rel, msg, sizeof(msg) - 1, sig, slen, &err);
			t[round] = (double)(ap_fsx_monotonic_ms() - t0) / 1000.0;
		}
		printf("verify %.3f\n", median(t, rounds));
		free(sig);
	}
	for (int64_t v = 1; v <= c.n; v++) {
		free(c.json[v]);
		ap_root_sigset_release(&c.sigs[v]);
		ap_sign_key_free(rk[v]);
	}
	ap_root_sigset_release(&isigs);
	free(ijson);
	free(c.json);
	free(c.len);
	free(c.sigs);
	free(rk);
	free(t);
	ap_sign_key_free(rel);
	ap_sign_key_free(idx);
	return 0;
}
