/* str.c - small string and array helpers; see airpack/str.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/str.h"
#include "airpack/banned.h"

char *ap_strdup(const char *s)
{
	if (!s)
		return NULL;
	return ap_strndup(s, strlen(s));
}

char *ap_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *ap_strcat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

bool ap_str_is_lower_hex(const char *s, size_t n)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == n;
}

int ap_str_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void ap_str_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

const char *ap_str_quoted(const char *in, char *out, size_t outsz)
{
	static const char hexd[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in && o + 5 < outsz; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hexd[c >> 4];
			out[o++] = hexd[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

/* ------------------------------------------------------------- strbuf */

char ap_strbuf_slopbuf[1];

void ap_strbuf_init(struct ap_strbuf *sb)
{
	sb->buf = ap_strbuf_slopbuf;
	sb->len = 0;
	sb->alloc = 0;
	sb->failed = false;
}

void ap_strbuf_release(struct ap_strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	ap_strbuf_init(sb);
}

void ap_strbuf_reset(struct ap_strbuf *sb)
{
	sb->len = 0;
	sb->failed = false;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

int ap_strbuf_grow(struct ap_strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->failed)
		return AP_E_NOMEM;
	if (extra > SIZE_MAX - sb->len - 1)
		goto fail;
	need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return 0;
	cap = sb->alloc ? sb->alloc : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(sb->alloc ? sb->buf : NULL, cap);
	if (!p)
		goto fail;
	if (!sb->alloc)
		p[0] = '\0';
	sb->buf = p;
	sb->alloc = cap;
	return 0;
fail:
	sb->failed = true;
	return AP_E_NOMEM;
}

int ap_strbuf_add(struct ap_strbuf *sb, const void *data, size_t n)
{
	if (ap_strbuf_grow(sb, n))
		return AP_E_NOMEM;
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int ap_strbuf_addstr(struct ap_strbuf *sb, const char *s)
{
	return ap_strbuf_add(sb, s, strlen(s));
}

int ap_strbuf_addch(struct ap_strbuf *sb, char c)
{
	return ap_strbuf_add(sb, &c, 1);
}

int ap_strbuf_vaddf(struct ap_strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (sb->failed)
		return AP_E_NOMEM;
	va_copy(cp, ap);
	n = vsnprintf(sb->alloc ? sb->buf + sb->len : NULL, sb->alloc ? sb->alloc - sb->len : 0,
		      fmt, cp);
	va_end(cp);
	if (n < 0)
		goto fail;
	if (sb->alloc && (size_t)n < sb->alloc - sb->len) {
		sb->len += (size_t)n;
		return 0;
	}
	if (ap_strbuf_grow(sb, (size_t)n))
		return AP_E_NOMEM;
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		goto fail;
	sb->len += (size_t)n;
	return 0;
fail:
	/* An encoding error: what was there stays, the failure is remembered. */
	if (sb->alloc)
		sb->buf[sb->len] = '\0';
	sb->failed = true;
	return AP_E_NOMEM;
}

int ap_strbuf_addf(struct ap_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ap_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

char *ap_strbuf_detach(struct ap_strbuf *sb, size_t *len)
{
	char *s;

	if (sb->failed) {
		ap_strbuf_release(sb);
		return NULL;
	}
	if (!sb->alloc && ap_strbuf_grow(sb, 0)) {
		ap_strbuf_release(sb);
		return NULL;
	}
	s = sb->buf;
	if (len)
		*len = sb->len;
	ap_strbuf_init(sb);
	return s;
}

/* ------------------------------------------------------------- strvec */

void ap_strvec_init(struct ap_strvec *sv)
{
	sv->v = NULL;
	sv->n = 0;
	sv->alloc = 0;
}

void ap_strvec_release(struct ap_strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	ap_strvec_init(sv);
}

int ap_strvec_push_nodup(struct ap_strvec *sv, char *s)
{
	char **v;

	if (!s)
		return AP_E_NOMEM;
	/* One spare slot keeps the vector NULL-terminated. */
	v = ap_vec_grow(sv->v, &sv->alloc, sv->n + 2, sizeof(*v));
	if (!v) {
		free(s);
		return AP_E_NOMEM;
	}
	sv->v = v;
	v[sv->n++] = s;
	v[sv->n] = NULL;
	return 0;
}

int ap_strvec_push(struct ap_strvec *sv, const char *s)
{
	return ap_strvec_push_nodup(sv, ap_strdup(s));
}

bool ap_strvec_has(const struct ap_strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

char **ap_strvec_detach(struct ap_strvec *sv, size_t *n)
{
	char **v = sv->v;

	if (n)
		*n = sv->n;
	ap_strvec_init(sv);
	return v;
}

/* ------------------------------------------------------------- vec */

void *ap_vec_grow(void *p, size_t *alloc, size_t need, size_t elem)
{
	size_t cap;

	if (alloc && need <= *alloc)
		return p;
	if (alloc) {
		cap = *alloc ? *alloc : 8;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	} else {
		cap = need;
	}
	if (elem && cap > SIZE_MAX / elem)
		return NULL;
	p = realloc(p, cap * elem);
	if (p && alloc)
		*alloc = cap;
	return p;
}

/* ---- strpool ---- */

#define STRPOOL_BLOCK (64 * 1024 - 64) /* a malloc'd chunk of 64 KiB with its header */

struct ap_strpool_block {
	struct ap_strpool_block *next;
	char data[];
};

char *ap_strpool_alloc(struct ap_strpool *pool, size_t n)
{
	char *out;

	if (n == 0)
		n = 1;
	if (n > pool->left) {
		/* A long string gets a block of its own (the current block's
		 * free space stays in use); a short one starts a new block. */
		size_t room = n > STRPOOL_BLOCK / 4 ? n : STRPOOL_BLOCK;
		struct ap_strpool_block *b;

		if (room > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + room);
		if (!b)
			return NULL;
		if (room == n && pool->blocks) {
			b->next = pool->blocks->next;
			pool->blocks->next = b;
			return b->data;
		}
		b->next = pool->blocks;
		pool->blocks = b;
		pool->next = b->data;
		pool->left = room;
	}
	out = pool->next;
	pool->next += n;
	pool->left -= n;
	return out;
}

char *ap_strpool_dup(struct ap_strpool *pool, const char *s)
{
	size_t n;
	char *out;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	out = ap_strpool_alloc(pool, n);
	if (out)
		memcpy(out, s, n);
	return out;
}

void ap_strpool_release(struct ap_strpool *pool)
{
	struct ap_strpool_block *b = pool->blocks;

	while (b) {
		struct ap_strpool_block *next = b->next;

		free(b);
		b = next;
	}
	pool->blocks = NULL;
	pool->next = NULL;
	pool->left = 0;
}
