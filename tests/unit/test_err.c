/* test_err.c - error recording: codes, prefixes that keep the cause. */
#include <string.h>

#include "airpack/err.h"
#include "tap.h"

static void test_set(void)
{
	struct ap_err err = AP_ERR_INIT;

	is_int(ap_err_set(&err, AP_E_DIGEST, "sha256 mismatch for '%s'", "a"), AP_E_DIGEST,
	       "set returns the code");
	is_int(err.code, AP_E_DIGEST, "set records the code");
	is_str(err.msg, "sha256 mismatch for 'a'", "set records the message");
	is_int(ap_err_set(NULL, AP_E_IO, "x"), AP_E_IO, "set without err returns the code");
	ap_err_clear(&err);
	is_int(err.code, 0, "clear forgets the code");
	is_str(err.msg, "", "clear forgets the message");
}

static void test_prefix(void)
{
	struct ap_err err = AP_ERR_INIT;

	ap_err_set(&err, AP_E_NOTFOUND, "no such file");
	ap_err_prefix(&err, "component '%s'", "moby");
	is_str(err.msg, "component 'moby': no such file", "prefix prepends context");
	is_int(err.code, AP_E_NOTFOUND, "prefix keeps the code");
	ap_err_prefix(&err, "installing");
	is_str(err.msg, "installing: component 'moby': no such file", "prefixes stack");
	ap_err_prefix(NULL, "nothing to prefix %d", 1);
	ok(1, "prefix without err does nothing");
}

/* A long cause keeps its end; a long prefix is cut, never the cause. */
static void test_prefix_keeps_cause(void)
{
	struct ap_err err = AP_ERR_INIT;
	char cause[AP_ERR_MSG_MAX];
	char ctx[2 * AP_ERR_MSG_MAX];
	size_t n;

	memset(cause, 'c', sizeof(cause) - 1);
	cause[sizeof(cause) - 1] = '\0';
	memcpy(cause, "head", 4);
	memcpy(cause + sizeof(cause) - 1 - 9, "THE CAUSE", 9);
	ap_err_set(&err, AP_E_IO, "%s", cause);
	n = strlen(err.msg);
	is_int(n, AP_ERR_MSG_MAX - 1, "a cause fills the message");
	ap_err_prefix(&err, "component '%s'", "moby");
	n = strlen(err.msg);
	ok(n <= AP_ERR_MSG_MAX - 1, "the prefixed message fits");
	ok(strncmp(err.msg, "component 'moby': head", 22) == 0, "the context and the start stay");
	ok(n >= 9 && strcmp(err.msg + n - 9, "THE CAUSE") == 0, "the end of the cause stays");
	contains(err.msg, " ... ", "the middle is marked as cut");

	memset(ctx, 'p', sizeof(ctx) - 1);
	ctx[sizeof(ctx) - 1] = '\0';
	ap_err_set(&err, AP_E_IO, "disk full");
	ap_err_prefix(&err, "%s", ctx);
	n = strlen(err.msg);
	ok(n < AP_ERR_MSG_MAX, "a long prefix fits");
	ok(n >= 9 && strcmp(err.msg + n - 9, "disk full") == 0, "a long prefix keeps the cause");
	contains(err.msg, "...: disk full", "a long prefix is cut with ...");

	/* Many levels of context: the cause survives all of them. */
	ap_err_set(&err, AP_E_DIGEST, "sha256 mismatch");
	for (int i = 0; i < 200; i++)
		ap_err_prefix(&err, "level %d", i);
	n = strlen(err.msg);
	ok(n >= 15 && strcmp(err.msg + n - 15, "sha256 mismatch") == 0,
	   "200 levels of context keep the cause");
	ok(strncmp(err.msg, "level 199: ", 11) == 0, "and the last context");
	is_int(err.code, AP_E_DIGEST, "and the code");
}

static void test_codes(void)
{
	is_str(ap_err_name(AP_E_DIGEST), "digest", "name of a code");
	is_str(ap_err_name(12345), "error", "name of an unknown code");
	is_int(ap_err_exit_code(AP_OK), 0, "ok exits 0");
	is_int(ap_err_exit_code(AP_E_USAGE), 2, "usage exits 2");
}

int main(void)
{
	test_set();
	test_prefix();
	test_prefix_keeps_cause();
	test_codes();
	return tap_done();
}
