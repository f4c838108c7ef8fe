/* fuzz_receipt.c - ap_receipt_parse (and the journal parser beside it) from
 * memory.  A receipt that parses must have its files sorted and unique, be
 * found by path, emit, parse back and emit the same bytes again; what does
 * not parse must say why and leave the out-parameter alone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/receipt.h"
#include "fuzz.h"

static void check_failure(int rc, const void *out, const struct ap_err *err, const char *what)
{
	FUZZ_CHECK(rc < 0, "%s parse returned %d", what, rc);
	FUZZ_CHECK(out == NULL, "a failed %s parse wrote its result", what);
	FUZZ_CHECK(err->code == rc, "%s: error code %d, returned %d", what, err->code, rc);
	FUZZ_CHECK(err->msg[0] != '\0', "a failed %s parse gave no message", what);
}

static void receipt(const uint8_t *data, size_t size)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r = NULL, *back = NULL;
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;
	int rc;

	rc = ap_receipt_parse((const char *)data, size, &r, &err);
	if (rc != 0) {
		check_failure(rc, r, &err, "receipt");
		return;
	}
	FUZZ_CHECK(r != NULL, "parse succeeded without a receipt");
	for (size_t i = 0; i < r->n_files; i++) {
		FUZZ_CHECK(r->files[i].path != NULL, "files[%zu] has no path", i);
		FUZZ_CHECK(i == 0 || strcmp(r->files[i - 1].path, r->files[i].path) < 0,
			   "files are not sorted and unique at %zu", i);
		FUZZ_CHECK(ap_receipt_find_file(r, r->files[i].path) == &r->files[i],
			   "files[%zu] '%s' is not found by path", i, r->files[i].path);
	}
	for (size_t i = 1; i < r->n_dirs; i++)
		FUZZ_CHECK(strcmp(r->dirs[i - 1], r->dirs[i]) < 0,
			   "dirs are not sorted and unique at %zu", i);
	rc = ap_receipt_emit(r, &j1, &l1, &err);
	FUZZ_CHECK(rc == 0, "emit failed: %s", err.msg);
	FUZZ_CHECK(j1[l1] == '\0', "emitted receipt is not NUL-terminated");
	rc = ap_receipt_parse(j1, l1, &back, &err);
	FUZZ_CHECK(rc == 0, "emitted receipt does not parse back: %s\n%s", err.msg, j1);
	rc = ap_receipt_emit(back, &j2, &l2, &err);
	FUZZ_CHECK(rc == 0, "second emit failed: %s", err.msg);
	FUZZ_CHECK(l1 == l2 && memcmp(j1, j2, l1) == 0,
		   "emit is not stable:\n--- first\n%s\n--- second\n%s", j1, j2);
	ap_receipt_free(r);
	ap_receipt_free(back);
	free(j1);
	free(j2);
}

static void journal(const uint8_t *data, size_t size)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt_journal *j = NULL, *back = NULL;
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;
	int rc;

	rc = ap_receipt_journal_parse((const char *)data, size, &j, &err);
	if (rc != 0) {
		check_failure(rc, j, &err, "journal");
		return;
	}
	rc = ap_receipt_journal_emit(j, &j1, &l1, &err);
	FUZZ_CHECK(rc == 0, "journal emit failed: %s", err.msg);
	rc = ap_receipt_journal_parse(j1, l1, &back, &err);
	FUZZ_CHECK(rc == 0, "emitted journal does not parse back: %s\n%.*s", err.msg, (int)l1, j1);
	rc = ap_receipt_journal_emit(back, &j2, &l2, &err);
	FUZZ_CHECK(rc == 0 && l1 == l2 && memcmp(j1, j2, l1) == 0, "journal emit is not stable");
	ap_receipt_journal_free(j);
	ap_receipt_journal_free(back);
	free(j1);
	free(j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	receipt(data, size);
	journal(data, size);
	return 0;
}
