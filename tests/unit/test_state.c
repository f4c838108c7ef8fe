/* test_state.c - the state module: paths, airpack's own folders, the lock
 * (shared and exclusive, its holder named), work folders, recovery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"
#include "airpack/state.h"
#include "tap.h"
#include "testutil.h"

static char *dir;

static char *in_root(const char *rel)
{
	return tu_join(dir, rel);
}

static void test_paths(void)
{
	char *p = ap_state_dir(NULL, "demo");

	is_str(p, AP_STATE_BASE "/demo", "the state folder, relative");
	free(p);
	p = ap_state_cache_dir(NULL, "demo");
	is_str(p, AP_STATE_CACHE_BASE "/demo", "the cache folder, relative");
	free(p);
	is_str(ap_state_reserved_overlap(AP_STATE_BASE), AP_STATE_BASE, "the state folder itself");
#ifdef _WIN32
	is_str(ap_state_reserved_overlap("ProgramData/airpack"), AP_STATE_BASE,
	       "a folder above it");
#else
	is_str(ap_state_reserved_overlap("var"), AP_STATE_BASE, "a folder above it");
#endif
	is_str(ap_state_reserved_overlap(AP_STATE_LOG_BASE "/x"), AP_STATE_LOG_BASE,
	       "a folder inside the log folder");
#ifndef _WIN32
	is_str(ap_state_reserved_overlap("var/cache"), AP_STATE_CACHE_BASE,
	       "a folder above the cache");
#endif
#ifdef _WIN32
	ok(ap_state_reserved_overlap("ProgramData/airpackx") == NULL,
	   "a sibling name is not airpack's");
#else
	ok(ap_state_reserved_overlap(AP_STATE_BASE "x") == NULL, "a sibling name is not airpack's");
#endif
	ok(ap_state_reserved_overlap("opt/demo") == NULL, "opt/demo is not airpack's");
}

static void test_lock(void)
{
	struct ap_state a, b;
	struct ap_err err = AP_ERR_INIT;
	char pid[64];
	char *owner;
	int rc;

	rc = ap_state_init(&a, dir, "../x", &err);
	is_int(rc, AP_E_USAGE, "an unsafe product name is refused");
	ap_state_set_command("test-state writer");
	is_int(ap_state_init(&a, dir, "demo", &err), 0, "init");
	is_int(ap_state_lock(&a, AP_STATE_READ, NULL, NULL, NULL, &err), 0,
	       "reading a product never installed succeeds");
	ok(a.lock < 0, "without taking a lock");
	ok(!tu_exists(a.state), "and without creating anything");
	is_int(ap_state_lock(&a, AP_STATE_WRITE, NULL, NULL, NULL, &err), 0, "write lock");
	ok(a.exclusive, "held exclusively");
	is_int(a.n_created, 4, "it made var, var/lib, " AP_STATE_BASE " and the product's folder");
	owner = in_root(AP_STATE_BASE "/demo/lock.owner");
	ok(tu_exists(owner), "the holder is recorded");
	if (TU_WINDOWS) {
		/* LockFileEx ranges are per handle; the contract between processes
		 * is what tests/integration/state.sh checks. */
		skip("a second lock in one process (POSIX flock semantics)");
	} else {
		snprintf(pid, sizeof(pid), "pid %ld (test-state writer)", ap_fsx_pid());
		is_int(ap_state_init(&b, dir, "demo", &err), 0, "second handle");
		rc = ap_state_lock(&b, AP_STATE_WRITE, NULL, NULL, NULL, &err);
		is_int(rc, AP_E_STATE, "a second writer is refused");
		contains(err.msg, "busy: '", "saying busy");
		contains(err.msg, pid, "naming the holder's pid and command");
		ap_err_clear(&err);
		rc = ap_state_lock(&b, AP_STATE_READ, NULL, NULL, NULL, &err);
		is_int(rc, AP_E_STATE, "a reader is refused during a write");
		contains(err.msg, pid, "naming the holder too");
		ap_state_release(&b);
	}
	ap_state_release(&a);
	ok(!tu_exists(owner), "the record goes with the lock");
	if (!TU_WINDOWS) {
		struct ap_state c;

		ap_state_init(&a, dir, "demo", &err);
		ap_state_init(&b, dir, "demo", &err);
		is_int(ap_state_lock(&a, AP_STATE_READ, NULL, NULL, NULL, &err), 0, "a reader");
		is_int(ap_state_lock(&b, AP_STATE_READ, NULL, NULL, NULL, &err), 0,
		       "and a second reader at once");
		/* A stale record a killed writer left is not taken for a holder. */
		tu_write(owner, "1\nairpack-setup install\n", 24);
		ap_state_release(&b);
		ap_state_init(&b, dir, "demo", &err);
		is_int(ap_state_lock(&b, AP_STATE_READ, NULL, NULL, NULL, &err), 0,
		       "a third reader");
		ok(!tu_exists(owner), "removes a writer's record no writer can hold");
		ap_state_release(&b);
		ap_state_init(&c, dir, "demo", &err);
		ap_err_clear(&err);
		rc = ap_state_lock(&c, AP_STATE_WRITE, NULL, NULL, NULL, &err);
		is_int(rc, AP_E_STATE, "a writer gives up after waiting for a reader that stays");
		contains(err.msg, "being read by another airpack-setup",
			 "saying a reader holds it");
		ap_state_release(&c);
		ap_state_release(&a);
	}
	free(owner);
}

static void test_work(void)
{
	struct ap_state a;
	struct ap_err err = AP_ERR_INIT;
	char *work = NULL, *stale, *cache;
	size_t n = 0;

	stale = in_root(AP_STATE_CACHE_BASE "/demo/.unpack-1");
	cache = in_root(AP_STATE_CACHE_BASE);
	ap_fsx_mkdir_p(stale, 0755, NULL);
	ap_state_init(&a, dir, "demo", &err);
	is_int(ap_state_work_dir(&a, &work, &err), AP_E_USAGE, "a work folder needs the lock");
	ap_state_lock(&a, AP_STATE_WRITE, NULL, NULL, NULL, &err);
	is_int(ap_state_work_dir(&a, &work, &err), 0, "work folder under the lock");
	ok(work && strstr(work, ".unpack-") != NULL, "named .unpack-<pid>");
	ok(!tu_exists(stale), "a killed run's work folder is removed first");
	if (tu_has_modes()) {
		struct ap_stat st;

		ap_fsx_stat(work, &st, NULL);
		is_int(st.mode & 0777, 0700, "private (0700)");
	}
	ap_state_drop_work_dir(&a, work);
	ok(!tu_exists(cache), "dropping it removes the empty cache folders");
	ap_fsx_mkdir_p(stale, 0755, NULL);
	is_int(ap_state_purge_work(&a, &n, &err), 0, "purge");
	is_int(n, 1, "one work folder purged");
	ok(!tu_exists(cache), "and the empty cache folders");
	ap_state_release(&a);
	free(work);
	free(stale);
	free(cache);
}

static void test_candidates(void)
{
	char **names = NULL;
	size_t n = 9;
	char *r = in_root(AP_STATE_BASE "/beta/receipt.json");
	char *j = in_root(AP_STATE_BASE "/alpha/txn.json");
	char *e = in_root(AP_STATE_BASE "/empty");

	ap_fsx_mkdir_p(e, 0755, NULL);
	{
		char *a = in_root(AP_STATE_BASE "/alpha");
		char *b = in_root(AP_STATE_BASE "/beta");

		ap_fsx_mkdir_p(a, 0755, NULL);
		ap_fsx_mkdir_p(b, 0755, NULL);
		free(a);
		free(b);
	}
	ap_fsx_write_atomic(r, "{}", 2, 0644, NULL);
	ap_fsx_write_atomic(j, "{}", 2, 0644, NULL);
	is_int(ap_state_candidates(dir, &names, &n, NULL), 0, "candidates");
	is_int(n, 2, "a receipt or a journal makes a candidate; an empty folder does not");
	if (n == 2) {
		is_str(names[0], "alpha", "sorted");
		is_str(names[1], "beta", "sorted");
	}
	ap_fsx_strv_free(names, n);
	free(r);
	free(j);
	free(e);
}

int main(void)
{
	dir = tu_mkdtemp("state");
	if (!dir)
		return 2;
	test_paths();
	test_lock();
	test_work();
	test_candidates();
	tu_rm_rf(dir);
	free(dir);
	return tap_done();
}
