/* fuzz-yaml.c: load + validate + write back any bytes; the canonical writer must round-trip.
 *
 * Beyond "does not crash" the target checks the engine's promises on every
 * input that loads: each document written canonically reloads to the same
 * value and writes back to the same bytes, in the generic and in the
 * managed form; the JSON form converts back to an equal tree.  A broken
 * promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "sync/emit.h"
#include "sync/finding.h"
#include "sync/validate.h"
#include "sync/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits keep each run fast; the code paths are the same. */
static const struct hy_limits lim = { 1 << 20, 64, 32, 20000, 200 };

static void fail(const char *what, const struct hs_buf *b)
{
	fprintf(stderr, "fuzz-yaml: %s\n--- output:\n%s\n", what, b ? hs_buf_str(b) : "");
	abort();
}

static void check_round_trip(const struct hy_node *root, int managed)
{
	struct hs_buf b1 = HS_BUF_INIT(8 << 20), b2 = HS_BUF_INIT(8 << 20);
	struct hy_stream *st = NULL;
	struct hy_limits big = lim;
	int rc;

	big.max_bytes = 8 << 20;
	big.max_nodes = 1 << 22;
	rc = managed ? emit_managed(&b1, root) : emit_doc(&b1, root);
	if (rc == HS_EINVAL && managed && root->type != HY_MAP)
		goto out;
	if (rc != HS_OK)
		goto out; /* over the output cap: an alias-heavy tree, fine */
	if (hy_load(&st, b1.data ? b1.data : "", b1.len, "emitted", &big, NULL, NULL, NULL) != HS_OK)
		fail("the canonical output does not load", &b1);
	if (st->ndocs != 1)
		fail("the canonical output is not one document", &b1);
	if (!managed && !hy_equal(root, st->docs[0].root))
		fail("the canonical output reads back as another value", &b1);
	if (managed && !hy_equal(hy_get(root, "spec"), hy_get(st->docs[0].root, "spec")))
		fail("the managed output changes spec", &b1);
	rc = managed ? emit_managed(&b2, st->docs[0].root) : emit_doc(&b2, st->docs[0].root);
	if (rc != HS_OK || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len))
		fail("writing the canonical output again changes it", &b2);
out:
	hy_stream_free(st);
	hs_buf_release(&b1);
	hs_buf_release(&b2);
}

static void check_json(const struct hy_node *root)
{
	json_t *j = hy_to_json(root, NULL);
	struct arena *a;
	struct hy_node *back;

	if (!j)
		return; /* NaN or infinity: reported as yaml-not-json */
	a = arena_new();
	back = hy_from_json(a, j, 64, NULL);
	if (!back || !hy_equal(root, back)) {
		/* uint64 values become reals in JSON: only then may they differ */
		json_t *j2 = back ? hy_to_json(back, NULL) : NULL;

		if (!j2 || !json_equal(j, j2))
			fail("JSON does not convert back", NULL);
		json_decref(j2);
	}
	json_decref(j);
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct val_set *set = val_set_new(NULL, &lim, 500);
	struct hs_buf out = HS_BUF_INIT(1 << 24);
	struct hy_stream *st = NULL;
	json_t *j;

	/* as a managed file of a fabric: document, layout and fabric rules */
	val_set_add(set, "fuzz.yaml", "managed/vpcs/fuzz.yaml", (const char *)data, size, VAL_MANAGED);
	val_set_add(set, "again.yaml", NULL, (const char *)data, size, 0);
	val_set_finish(set);
	fnd_format_list(val_set_findings(set), FND_FMT_TEXT, &out);
	fnd_format_list(val_set_findings(set), FND_FMT_GITHUB, &out);
	j = fnd_list_to_json(val_set_findings(set));
	json_decref(j);
	val_set_free(set);
	hs_buf_release(&out);

	if (hy_load(&st, (const char *)data, size, "fuzz.yaml", &lim, NULL, NULL, NULL) == HS_OK) {
		for (uint32_t i = 0; i < st->ndocs; i++) {
			check_round_trip(st->docs[i].root, 0);
			check_round_trip(st->docs[i].root, 1);
			check_json(st->docs[i].root);
		}
	}
	hy_stream_free(st);
	return 0;
}
