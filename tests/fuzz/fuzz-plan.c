/* fuzz-plan.c: any bytes dropped into raw/ next to a small fabric: the ingestion plan holds.
 *
 * The input is split at the first NUL byte into a raw file and a managed
 * file.  Invariants: every managed file the plan writes is valid and
 * canonical (reloads, validates without errors, writes back identically),
 * every raw file is deleted, and planning twice gives the same plan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "sync/emit.h"
#include "sync/ingest_plan.h"
#include "sync/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct hy_limits lim = { 1 << 20, 64, 32, 20000, 200 };

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-plan: %s\n%s\n", what, detail ? detail : "");
	abort();
}

static void check_managed_write(const struct plan_write *w)
{
	struct hy_stream *st = NULL;
	struct arena *a = arena_new();
	struct fnd_list fl;
	struct hs_buf b = HS_BUF_INIT(8 << 20);
	struct val_res *r;

	fnd_list_init(&fl, 0);
	if (hy_load(&st, w->data, w->len, w->path, NULL, a, &fl, NULL) != HS_OK || st->ndocs != 1)
		fail("a managed file the plan writes does not load as one document", w->data);
	r = val_doc(a, &st->docs[0], w->path, &fl);
	if (r->errors)
		fail("a managed file the plan writes has errors", w->data);
	if (emit_managed(&b, st->docs[0].root) != HS_OK || b.len != w->len ||
	    memcmp(b.data, w->data, w->len))
		fail("a managed file the plan writes is not canonical", w->data);
	fnd_resolve_paths(&fl);
	fnd_list_release(&fl);
	hs_buf_release(&b);
	arena_free(a);
}

static void text_of(const struct plan *p, struct hs_buf *b)
{
	plan_format_text(p, b);
	for (size_t i = 0; i < p->nwrites; i++)
		hs_buf_add(b, p->writes[i].data, p->writes[i].len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, 0, size);
	size_t rlen = nul ? (size_t)(nul - (const char *)data) : size;
	struct plan_file raw[2], man[1];
	const char *unm[] = { "unmanaged/raw.yaml" };
	struct plan *p = NULL, *q = NULL;
	struct hs_buf t1 = HS_BUF_INIT(64 << 20), t2 = HS_BUF_INIT(64 << 20);
	int deleted = 0;

	raw[0].path = "raw/in.yaml";
	raw[0].data = (const char *)data;
	raw[0].len = rlen;
	raw[0].sha = "0000000000000000000000000000000000000000";
	raw[1].path = "raw/.gitkeep";
	raw[1].data = "";
	raw[1].len = 0;
	raw[1].sha = NULL;
	man[0].path = "managed/vpcs/v1.yaml";
	man[0].data = nul ? nul + 1 : "";
	man[0].len = nul ? size - rlen - 1 : 0;
	man[0].sha = NULL;
	if (plan_build(&p, raw, 2, man, 1, unm, 1, &lim, NULL) != HS_OK)
		fail("plan_build failed", NULL);
	for (size_t i = 0; i < p->nwrites; i++)
		if (p->writes[i].kind == PLAN_W_MANAGED)
			check_managed_write(&p->writes[i]);
	for (size_t i = 0; i < p->ndeletes; i++)
		deleted |= !strcmp(p->deletes[i], "raw/in.yaml");
	if (!deleted)
		fail("the raw file is not deleted", NULL);
	plan_build(&q, raw, 2, man, 1, unm, 1, &lim, NULL);
	text_of(p, &t1);
	text_of(q, &t2);
	if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len))
		fail("two plans of the same input differ", NULL);
	{
		json_t *j = plan_to_json(p);
		char *msg = plan_commit_message(p);

		json_decref(j);
		free(msg);
	}
	hs_buf_release(&t1);
	hs_buf_release(&t2);
	plan_free(p);
	plan_free(q);
	return 0;
}
