/* fuzz-merge.c: any three JSON values merged: merge3 holds its promises.
 *
 * The input is cut at its first two NUL or newline bytes into base, ours
 * and theirs; each is parsed as JSON (any value) and is absent when it does
 * not parse.  Invariants: the result is a conflict count or HS_ETOOBIG; the
 * count is the number of paths appended, each a non-empty string; swapping
 * ours and theirs gives as many conflicts; merging a side with itself or
 * with an unchanged side is clean and gives that side; a clean merge merged
 * again with theirs gives itself; the inputs are not changed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/err.h"
#include "sync/merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	fprintf(stderr, "fuzz-merge: %s\n%s\n", what, s ? s : "");
	free(s);
	abort();
}

static int same(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

/* The next chunk of [*p, end): up to a NUL or newline, parsed, or NULL. */
static json_t *chunk(const char **p, const char *end)
{
	const char *s = *p, *e = s;
	json_t *v;

	while (e < end && *e != '\0' && *e != '\n')
		e++;
	v = json_loadb(s, (size_t)(e - s), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	*p = e < end ? e + 1 : end;
	return v;
}

/* merge3 with its invariants; *out as merge3's (the caller releases it). */
static int merge(const json_t *b, const json_t *o, const json_t *t, json_t **out)
{
	json_t *conf = json_array();
	int rc = merge3(b, o, t, out, conf);

	if (rc < 0) {
		if (rc != HS_ETOOBIG || *out || json_array_size(conf))
			fail("an error other than HS_ETOOBIG, or output with it", conf);
	} else {
		if ((size_t)rc != json_array_size(conf))
			fail("the count is not the number of paths", conf);
		for (size_t i = 0; i < json_array_size(conf); i++) {
			const json_t *s = json_array_get(conf, i);

			if (!json_is_string(s) || !json_string_length(s))
				fail("a conflict path is not a non-empty string", conf);
		}
	}
	json_decref(conf);
	return rc;
}

/* merge3 must be clean and give want */
static void clean_to(const json_t *b, const json_t *o, const json_t *t, const json_t *want,
		     const char *what)
{
	json_t *out = NULL;

	if (merge(b, o, t, &out) != 0 || !same(out, want))
		fail(what, out);
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	json_t *b = chunk(&p, end), *o = chunk(&p, end), *t = p < end ? chunk(&p, end) : NULL;
	json_t *b0 = b ? json_deep_copy(b) : NULL, *o0 = o ? json_deep_copy(o) : NULL,
	       *t0 = t ? json_deep_copy(t) : NULL;
	json_t *out = NULL, *out2 = NULL;
	int rc, rc2;

	rc = merge(b, o, t, &out);
	rc2 = merge(b, t, o, &out2);
	if (rc != rc2)
		fail("swapping ours and theirs changes the number of conflicts", NULL);
	json_decref(out2);
	out2 = NULL;
	if (rc >= 0) {
		clean_to(b, o, o, o, "merging ours with itself");
		clean_to(b, o, b, o, "merging ours with an unchanged theirs");
		clean_to(b, b, t, t, "merging an unchanged ours with theirs");
	}
	if (rc == 0)
		clean_to(b, out, t, out, "a clean merge merged again with theirs");
	if (!same(b, b0) || !same(o, o0) || !same(t, t0))
		fail("an input changed", NULL);
	json_decref(out);
	json_decref(b);
	json_decref(o);
	json_decref(t);
	json_decref(b0);
	json_decref(o0);
	json_decref(t0);
	return 0;
}
