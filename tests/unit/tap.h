/* tap.h - a tiny TAP producer for airpack's unit tests.
 *
 *   ok(cond, "name %d", i);          one assertion
 *   is_int(got, want, "name");       compare ints, print both on failure
 *   is_str(got, want, "name");       compare strings (NULL-safe)
 *   contains(haystack, needle, "name")
 *   skip("reason %s", x);            one skipped assertion ("ok N - # SKIP reason"),
 *                                    for a check this OS cannot make
 *   todo_ok(cond, "bug", "name");    an assertion a known, reported bug fails:
 *                                    "not ok N - name # TODO bug" does not fail
 *                                    the run; once it passes meson reports an
 *                                    unexpected pass, and the todo must go
 *   return tap_done();               plan at the end, exit status = failures
 */
#ifndef AP_TAP_H
#define AP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__MINGW32__)
#define AP_TAP_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define AP_TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

static int tap_n, tap_failed;

static int tap_ok(int cond, const char *file, int line, const char *fmt, ...) AP_TAP_PRINTF(4, 5)
	__attribute__((unused));
static int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			printf("#   got %lld, want %lld\n", g_, w_);                               \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;                           \
		if (!ok(same_, __VA_ARGS__))                                                       \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)",                    \
			       w_ ? w_ : "(null)");                                                \
	} while (0)

#define contains(hay, needle, ...)                                                                 \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!ok(h_ && strstr(h_, n_) != NULL, __VA_ARGS__))                                \
			printf("#   '%s' does not contain '%s'\n", h_ ? h_ : "(null)", n_);        \
	} while (0)

static void tap_skip(const char *fmt, ...) AP_TAP_PRINTF(1, 2) __attribute__((unused));
static void tap_skip(const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("ok %d - # SKIP ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define skip(...) tap_skip(__VA_ARGS__)

static int tap_todo(int cond, const char *why, const char *file, int line, const char *fmt, ...)
	AP_TAP_PRINTF(5, 6) __attribute__((unused));
static int tap_todo(int cond, const char *why, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # TODO %s\n", why);
	if (!cond)
		printf("#   failed (known) at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

#define todo_ok(cond, why, ...) tap_todo(!!(cond), why, __FILE__, __LINE__, __VA_ARGS__)

static int tap_done(void) __attribute__((unused));
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
