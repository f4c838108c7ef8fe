/* fuzz_manifest.c - ap_manifest_parse from memory, as a source and as a
 * release manifest.  Whatever parses must validate, emit, parse back, and
 * emit the very same bytes again (the canonical form is a fixed point); a
 * deep copy must emit them too.  Whatever does not parse must say why and
 * leave the out-parameter alone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/manifest.h"
#include "fuzz.h"
#include "manifest_dup.h"

static const char *kind_name(enum ap_manifest_kind kind)
{
	return kind == AP_MANIFEST_SOURCE ? "source" : "release";
}

static void check_model(const struct ap_manifest *m)
{
	for (size_t i = 0; i < m->n_components; i++) {
		const struct ap_component *c = &m->components[i];

		FUZZ_CHECK(ap_manifest_find(m, c->name) == c, "component '%s' not found by name",
			   c->name);
		FUZZ_CHECK(ap_manifest_safe_name(c->file), "unsafe file name accepted");
		FUZZ_CHECK(c->action == AP_ACTION_EXTRACT || ap_manifest_component_dest(c) != NULL,
			   "component '%s' has no destination", c->name);
	}
	(void)ap_manifest_total_size(m);
}

static void roundtrip(const uint8_t *data, size_t size, enum ap_manifest_kind kind)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_manifest *m = NULL, *back = NULL, *copy = NULL;
	char *j1 = NULL, *j2 = NULL, *j3 = NULL;
	size_t l1 = 0, l2 = 0, l3 = 0;
	int rc;

	rc = ap_manifest_parse((const char *)data, size, kind, &m, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0, "parse returned %d", rc);
		FUZZ_CHECK(m == NULL, "a failed %s parse wrote its result", kind_name(kind));
		FUZZ_CHECK(err.code == rc, "error code %d, returned %d", err.code, rc);
		FUZZ_CHECK(err.msg[0] != '\0', "a failed %s parse gave no message",
			   kind_name(kind));
		return;
	}
	FUZZ_CHECK(m != NULL, "parse succeeded without a manifest");
	check_model(m);
	rc = ap_manifest_validate(m, kind, &err);
	FUZZ_CHECK(rc == 0, "parsed %s manifest does not validate: %s", kind_name(kind), err.msg);
	rc = ap_manifest_emit(m, &j1, &l1, &err);
	FUZZ_CHECK(rc == 0, "emit failed: %s", err.msg);
	rc = ap_manifest_parse(j1, l1, kind, &back, &err);
	FUZZ_CHECK(rc == 0, "emitted %s manifest does not parse back: %s\n%.*s", kind_name(kind),
		   err.msg, (int)l1, j1);
	rc = ap_manifest_emit(back, &j2, &l2, &err);
	FUZZ_CHECK(rc == 0, "second emit failed: %s", err.msg);
	FUZZ_CHECK(l1 == l2 && memcmp(j1, j2, l1) == 0,
		   "emit is not stable:\n--- first\n%.*s\n--- second\n%.*s", (int)l1, j1, (int)l2,
		   j2);
	rc = tu_manifest_dup(m, &copy, &err);
	FUZZ_CHECK(rc == 0, "dup failed: %s", err.msg);
	rc = ap_manifest_emit(copy, &j3, &l3, &err);
	FUZZ_CHECK(rc == 0 && l1 == l3 && memcmp(j1, j3, l1) == 0, "a copy emits other bytes");
	ap_manifest_free(m);
	ap_manifest_free(back);
	ap_manifest_free(copy);
	free(j1);
	free(j2);
	free(j3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	roundtrip(data, size, AP_MANIFEST_SOURCE);
	roundtrip(data, size, AP_MANIFEST_RELEASE);
	return 0;
}
