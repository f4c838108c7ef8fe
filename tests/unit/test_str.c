/* test_str.c - the string and array helpers: strbuf, strvec, vec, hex. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/str.h"
#include "tap.h"

static void test_strings(void)
{
	char *s;

	s = ap_strdup("abc");
	is_str(s, "abc", "strdup copies");
	free(s);
	ok(ap_strdup(NULL) == NULL, "strdup(NULL) is NULL");
	s = ap_strndup("abcdef", 3);
	is_str(s, "abc", "strndup stops at n");
	free(s);
	s = ap_strcat2("ab", "cd");
	is_str(s, "abcd", "strcat2 joins");
	free(s);
}

static void test_hex(void)
{
	unsigned char bytes[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[9];
	char q[16];

	is_int(ap_str_hex_digit('0'), 0, "hex digit 0");
	is_int(ap_str_hex_digit('a'), 10, "hex digit a");
	is_int(ap_str_hex_digit('F'), 15, "hex digit F");
	is_int(ap_str_hex_digit('g'), -1, "not a hex digit");
	is_int(ap_str_hex_digit('\0'), -1, "NUL is not a hex digit");
	ap_str_hex_encode(bytes, sizeof(bytes), out);
	is_str(out, "000fa5ff", "hex encode");
	ok(ap_str_is_lower_hex("00ff", 4), "lowercase hex");
	ok(!ap_str_is_lower_hex("00FF", 4), "uppercase is not lowercase hex");
	ok(!ap_str_is_lower_hex("00ff", 3), "length counts");
	is_str(ap_str_quoted("a\nb\x7f", q, sizeof(q)), "a\\x0ab\\x7f", "quoted escapes controls");
	is_str(ap_str_quoted("abcdefghijklmnopqrstuvwxyz", q, sizeof(q)), "abcdefghijk",
	       "quoted cuts to fit");
}

static void test_strbuf(void)
{
	struct ap_strbuf sb = AP_STRBUF_INIT;
	char *s;
	size_t len = 0;

	is_str(sb.buf, "", "a new strbuf is the empty string");
	is_int(sb.len, 0, "and has no length");
	is_int(ap_strbuf_addstr(&sb, "abc"), 0, "addstr");
	is_int(ap_strbuf_addch(&sb, '-'), 0, "addch");
	is_int(ap_strbuf_addf(&sb, "%d/%s", 42, "x"), 0, "addf");
	is_str(sb.buf, "abc-42/x", "the contents");
	is_int(sb.len, 8, "the length");
	for (int i = 0; i < 1000; i++)
		ap_strbuf_addf(&sb, "%04d", i);
	is_int(sb.len, 8 + 4000, "grows past its first allocation");
	ok(strncmp(sb.buf + sb.len - 4, "0999", 4) == 0, "and keeps what was added last");
	ap_strbuf_reset(&sb);
	is_str(sb.buf, "", "reset empties");
	ap_strbuf_add(&sb, "a\0b", 3);
	is_int(sb.len, 3, "add takes bytes, NUL included");
	s = ap_strbuf_detach(&sb, &len);
	ok(s && len == 3 && memcmp(s, "a\0b", 4) == 0, "detach gives the bytes and a NUL");
	free(s);
	is_str(sb.buf, "", "detach leaves an empty strbuf");
	s = ap_strbuf_detach(&sb, NULL);
	is_str(s, "", "detaching an empty strbuf gives a malloc'd empty string");
	free(s);

	/* Sticky failure: a run of appends is checked once. */
	sb.failed = true;
	is_int(ap_strbuf_addstr(&sb, "x"), AP_E_NOMEM, "a failed strbuf refuses appends");
	ok(ap_strbuf_detach(&sb, NULL) == NULL, "and detach gives NULL");
	ok(!sb.failed && sb.len == 0, "and leaves an empty strbuf");
	is_int(ap_strbuf_grow(&sb, SIZE_MAX), AP_E_NOMEM, "an impossible size fails");
	ok(sb.failed, "and is remembered");
	ap_strbuf_release(&sb);
	ok(!sb.failed && sb.buf[0] == '\0', "release forgets it");
}

static void test_strvec(void)
{
	struct ap_strvec sv = AP_STRVEC_INIT;
	char **v;
	size_t n = 0;

	ok(sv.v == NULL && sv.n == 0, "a new strvec is empty");
	is_int(ap_strvec_push(&sv, "a"), 0, "push");
	is_int(ap_strvec_push_nodup(&sv, ap_strdup("b")), 0, "push_nodup");
	is_int(ap_strvec_push_nodup(&sv, NULL), AP_E_NOMEM, "push_nodup(NULL) is out of memory");
	is_int(sv.n, 2, "two strings");
	ok(sv.v[2] == NULL, "NULL-terminated");
	ok(ap_strvec_has(&sv, "b") && !ap_strvec_has(&sv, "c"), "has");
	for (int i = 0; i < 100; i++)
		ap_strvec_push(&sv, "x");
	is_int(sv.n, 102, "grows");
	ok(sv.v[102] == NULL, "and stays NULL-terminated");
	v = ap_strvec_detach(&sv, &n);
	ok(v && n == 102 && strcmp(v[1], "b") == 0, "detach gives the vector");
	ok(sv.v == NULL && sv.n == 0, "and leaves an empty strvec");
	sv.v = v;
	sv.n = n;
	sv.alloc = n + 1;
	ap_strvec_release(&sv);
	ok(sv.v == NULL && sv.n == 0, "release empties");
}

static void test_vec(void)
{
	int *a = NULL, *p;
	size_t alloc = 0, n = 0;

	for (int i = 0; i < 100; i++) {
		p = ap_vec_grow(a, &alloc, n + 1, sizeof(*a));
		if (!p)
			break;
		a = p;
		a[n++] = i;
	}
	is_int(n, 100, "grow as elements are added");
	ok(alloc >= 100 && alloc < 200, "capacity doubles");
	ok(a[99] == 99 && a[0] == 0, "elements kept");
	p = ap_vec_grow(a, &alloc, 50, sizeof(*a));
	ok(p == a, "no change when there is room");
	ok(ap_vec_grow(a, &alloc, SIZE_MAX / 2, sizeof(*a)) == NULL,
	   "an overflowing size is out of memory");
	ok(a[99] == 99, "and the array is untouched");
	free(a);

	a = NULL;
	p = ap_vec_grow(a, NULL, 3, sizeof(*a));
	ok(p != NULL, "without a capacity: exactly the size asked");
	free(p);
}

static void test_strpool(void)
{
	struct ap_strpool pool = AP_STRPOOL_INIT;
	char *first, *p = NULL, *big, *after;
	char *longs;
	size_t n_ok = 0;
	char name[32];

	ok(ap_strpool_dup(&pool, NULL) == NULL, "strpool_dup(NULL) is NULL");
	first = ap_strpool_dup(&pool, "opt/a/b.txt");
	is_str(first, "opt/a/b.txt", "a copy in the pool");
	/* Many copies span several blocks; each stays where it was put. */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "opt/f%05d", i);
		p = ap_strpool_dup(&pool, name);
		if (p && strcmp(p, name) == 0)
			n_ok++;
	}
	is_int(n_ok, 20000, "20000 copies, each equal to its source");
	is_str(p, "opt/f19999", "the last copy");
	is_str(first, "opt/a/b.txt", "the first copy survives the later blocks");
	/* A string longer than a block gets a block of its own, and the
	 * current block goes on being used after it. */
	longs = malloc(200001);
	memset(longs, 'x', 200000);
	longs[200000] = '\0';
	big = ap_strpool_dup(&pool, longs);
	ok(big && strlen(big) == 200000 && big[0] == 'x', "a string longer than a block");
	after = ap_strpool_dup(&pool, "after");
	is_str(after, "after", "a short one after it");
	ok(after == p + strlen(p) + 1, "goes in the block in use, next to the last one");
	free(longs);
	p = ap_strpool_alloc(&pool, 4);
	ok(p != NULL, "alloc gives room to build a string in place");
	memcpy(p, "abc", 4);
	is_str(p, "abc", "and it holds what was written");
	ap_strpool_release(&pool);
	ok(pool.blocks == NULL && pool.left == 0, "release empties the pool");
	is_str(ap_strpool_dup(&pool, "again"), "again", "a released pool is reused");
	ap_strpool_release(&pool);
}

int main(void)
{
	test_strings();
	test_hex();
	test_strbuf();
	test_strvec();
	test_vec();
	test_strpool();
	return tap_done();
}
