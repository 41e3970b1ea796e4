/* t-yaml.c: the YAML loader: resolution, positions, documents, keys, aliases, JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "sync/emit.h"
#include "sync/yaml.h"
#include "tests/unit/unit.h"

static struct hy_stream *load(const char *s, struct fnd_list *fl)
{
	struct hy_stream *st = NULL;
	char err[HS_ERRBUF];

	if (hy_load(&st, s, strlen(s), "t.yaml", NULL, NULL, fl, err) != HS_OK)
		return NULL;
	return st;
}

/* The single value of "v: <text>". */
static struct hy_node resolved(const char *text)
{
	struct hy_node n;

	memset(&n, 0, sizeof(n));
	hy_resolve_plain(text, strlen(text), &n);
	return n;
}

static void test_resolve_booleans(void)
{
	static const char *const t[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					 "on", "On", "ON", NULL };
	static const char *const f[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					 "off", "Off", "OFF", NULL };

	for (int i = 0; t[i]; i++) {
		struct hy_node n = resolved(t[i]);

		T_EQ_INT(n.type, HY_BOOL);
		T_EQ_INT(n.v.b, 1);
	}
	for (int i = 0; f[i]; i++) {
		struct hy_node n = resolved(f[i]);

		T_EQ_INT(n.type, HY_BOOL);
		T_EQ_INT(n.v.b, 0);
	}
	T_EQ_INT(resolved("yess").type, HY_STR);
	T_EQ_INT(resolved("tRUE").type, HY_STR);
	T_EQ_INT(resolved("oN").type, HY_STR);
}

static void test_resolve_null(void)
{
	T_EQ_INT(resolved("").type, HY_NULL);
	T_EQ_INT(resolved("~").type, HY_NULL);
	T_EQ_INT(resolved("null").type, HY_NULL);
	T_EQ_INT(resolved("Null").type, HY_NULL);
	T_EQ_INT(resolved("NULL").type, HY_NULL);
	T_EQ_INT(resolved("nULL").type, HY_STR);
	T_EQ_INT(resolved("none").type, HY_STR);
}

static void test_resolve_numbers(void)
{
	struct hy_node n;

	n = resolved("1000");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 1000);
	n = resolved("0755");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 493);
	n = resolved("0x1F");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 31);
	n = resolved("0o17");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 15);
	n = resolved("0b101");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 5);
	n = resolved("-0b101");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, -5);
	n = resolved("1_000");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 1000);
	n = resolved("+12");
	T_EQ_INT(n.type, HY_INT);
	T_EQ_INT(n.v.i, 12);
	n = resolved("-9223372036854775808");
	T_EQ_INT(n.type, HY_INT);
	T_ASSERT(n.v.i == INT64_MIN);
	n = resolved("18446744073709551615");
	T_EQ_INT(n.type, HY_INT);
	T_ASSERT(n.flags & HY_F_UNSIGNED);
	T_ASSERT(n.v.u == UINT64_MAX);
	/* past uint64: a float, as go-yaml gives */
	n = resolved("18446744073709551616");
	T_EQ_INT(n.type, HY_FLOAT);
	/* 08 is not octal: go-yaml reads the float 8 */
	n = resolved("08");
	T_EQ_INT(n.type, HY_FLOAT);
	T_ASSERT(n.v.f == 8.0);
	n = resolved("1e3");
	T_EQ_INT(n.type, HY_FLOAT);
	T_ASSERT(n.v.f == 1000.0);
	n = resolved("1.");
	T_EQ_INT(n.type, HY_FLOAT);
	n = resolved(".5");
	T_EQ_INT(n.type, HY_FLOAT);
	T_ASSERT(n.v.f == 0.5);
	n = resolved("-.5e1");
	T_EQ_INT(n.type, HY_FLOAT);
	T_ASSERT(n.v.f == -5.0);
	n = resolved(".inf");
	T_EQ_INT(n.type, HY_FLOAT);
	T_ASSERT(isinf(n.v.f) && n.v.f > 0);
	n = resolved("-.Inf");
	T_ASSERT(isinf(n.v.f) && n.v.f < 0);
	n = resolved(".NaN");
	T_ASSERT(isnan(n.v.f));
	/* overflowing floats stay strings (Go reports ErrRange) */
	T_EQ_INT(resolved("1e400").type, HY_STR);
	/* strings that look a little like numbers */
	T_EQ_INT(resolved("10.0.0.0/16").type, HY_STR);
	T_EQ_INT(resolved("1:20").type, HY_STR);
	T_EQ_INT(resolved("2024-01-02").type, HY_STR);
	T_EQ_INT(resolved("0x").type, HY_STR);
	T_EQ_INT(resolved("+").type, HY_STR);
	T_EQ_INT(resolved("-").type, HY_STR);
	T_EQ_INT(resolved(".").type, HY_STR);
	T_EQ_INT(resolved("1.2.3").type, HY_STR);
	T_EQ_INT(resolved("E1/1").type, HY_STR);
	T_EQ_INT(resolved("4x25G").type, HY_STR);
	T_EQ_INT(resolved("<<").type, HY_STR);
}

static void test_quoted_stay_strings(void)
{
	struct fnd_list fl;
	struct hy_stream *st;
	const struct hy_node *r;

	fnd_list_init(&fl, 0);
	st = load("a: \"1\"\nb: 'yes'\nc: !!str 12\nd: !!int \"12\"\ne: 1\nf: |\n  x\n", &fl);
	T_ASSERT(st);
	r = st->docs[0].root;
	T_EQ_INT(hy_get(r, "a")->type, HY_STR);
	T_EQ_INT(hy_get(r, "a")->style, HY_STYLE_DOUBLE);
	T_EQ_INT(hy_get(r, "b")->type, HY_STR);
	T_EQ_INT(hy_get(r, "b")->style, HY_STYLE_SINGLE);
	T_EQ_INT(hy_get(r, "c")->type, HY_STR);
	T_EQ_INT(hy_get(r, "d")->type, HY_INT);
	T_EQ_INT(hy_get(r, "d")->v.i, 12);
	T_EQ_INT(hy_get(r, "e")->type, HY_INT);
	T_EQ_STR(hy_get_str(r, "f"), "x\n");
	T_EQ_INT(hy_get(r, "f")->style, HY_STYLE_LITERAL);
	T_EQ_INT(fl.n, 0);
	hy_stream_free(st);
	fnd_list_release(&fl);
}

static void test_positions(void)
{
	struct fnd_list fl;
	struct hy_stream *st;
	const struct hy_node *spec, *v;

	fnd_list_init(&fl, 0);
	st = load("kind: VPC\nspec:\n  subnets:\n    default:\n      vlan: 1001\n", &fl);
	T_ASSERT(st);
	spec = hy_get(st->docs[0].root, "spec");
	v = hy_get(hy_get(hy_get(spec, "subnets"), "default"), "vlan");
	T_EQ_INT(v->line, 5);
	T_EQ_INT(v->col, 13);
	T_EQ_INT(hy_get(st->docs[0].root, "kind")->col, 7);
	hy_stream_free(st);
	fnd_list_release(&fl);
}

static void test_multi_documents(void)
{
	struct fnd_list fl;
	struct hy_stream *st;

	fnd_list_init(&fl, 0);
	/* comment-only first chunk as hhfab exports, empty documents in between */
	st = load("#\n# VPCList\n#\n---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n---\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(st->ndocs, 2);
	T_EQ_INT(st->docs[0].index, 0);
	T_EQ_INT(st->docs[0].line, 4);
	T_EQ_INT(st->docs[1].index, 1);
	T_EQ_INT(st->docs[1].line, 9);
	T_EQ_INT(st->docs[0].end_line, 6);
	T_EQ_INT(hy_get(st->docs[1].root, "b")->v.i, 2);
	hy_stream_free(st);
	st = load("", &fl);
	T_ASSERT(st);
	T_EQ_INT(st->ndocs, 0);
	hy_stream_free(st);
	st = load("# nothing but comments\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(st->ndocs, 0);
	hy_stream_free(st);
	T_EQ_INT(fl.n, 0);
	fnd_list_release(&fl);
}

static void test_duplicate_keys(void)
{
	struct fnd_list fl;
	struct hy_stream *st;

	fnd_list_init(&fl, 0);
	st = load("a: 1\nb: 2\na: 3\n", &fl);
	T_ASSERT(st);
	T_ASSERT(st->docs[0].flags & HY_DOC_INVALID);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_YAML_DUPLICATE_KEY);
	T_EQ_INT(fl.v[0].line, 3);
	T_EQ_STR(fl.v[0].path, "a");
	/* the first value is kept */
	T_EQ_INT(hy_get(st->docs[0].root, "a")->v.i, 1);
	hy_stream_free(st);
	fnd_list_release(&fl);

	/* keys that become the same string for Kubernetes: 1 and "1" */
	fnd_list_init(&fl, 0);
	st = load("m:\n  1: x\n  \"1\": y\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_YAML_DUPLICATE_KEY);
	T_EQ_STR(fl.v[0].path, "m.1");
	hy_stream_free(st);
	fnd_list_release(&fl);

	/* many keys, one duplicate: the sorted path */
	{
		char buf[8192];
		size_t o = 0;

		for (int i = 0; i < 200; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "k%d: %d\n", i, i);
		snprintf(buf + o, sizeof(buf) - o, "k77: dup\n");
		fnd_list_init(&fl, 0);
		st = load(buf, &fl);
		T_ASSERT(st);
		T_EQ_INT(fl.n, 1);
		T_EQ_INT(fl.v[0].line, 201);
		T_EQ_INT(st->docs[0].root->len, 200);
		hy_stream_free(st);
		fnd_list_release(&fl);
	}
}

static void test_keys_become_strings(void)
{
	struct fnd_list fl;
	struct hy_stream *st;
	const struct hy_node *r;

	fnd_list_init(&fl, 0);
	/* YAML 1.1: the key y is the boolean true, and so the string "true" */
	st = load("1: a\non: b\n0x10: c\ny: d\n", &fl);
	T_ASSERT(st);
	r = st->docs[0].root;
	T_EQ_STR(hy_get_str(r, "1"), "a");
	T_EQ_STR(hy_get_str(r, "true"), "b");
	T_EQ_STR(hy_get_str(r, "16"), "c");
	T_EQ_INT(fl.n, 1); /* on and y are both "true" */
	T_EQ_INT(fl.v[0].code, FND_YAML_DUPLICATE_KEY);
	fnd_list_release(&fl);
	fnd_list_init(&fl, 0);
	T_ASSERT(r->v.pairs[0].key->flags & HY_F_KEY_CONVERTED);
	hy_stream_free(st);
	/* an anchored number used as a key elsewhere stays a number as a value */
	st = load("a: &n 5\nm: {*n: x}\n", &fl);
	T_ASSERT(st);
	r = st->docs[0].root;
	T_EQ_INT(hy_get(r, "a")->type, HY_INT);
	T_EQ_STR(hy_get_str(hy_get(r, "m"), "5"), "x");
	hy_stream_free(st);
	st = load("~: a\n? [x]\n: b\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 2);
	T_EQ_INT(fl.v[0].code, FND_YAML_COMPLEX_KEY);
	T_EQ_INT(fl.v[1].code, FND_YAML_COMPLEX_KEY);
	hy_stream_free(st);
	fnd_list_release(&fl);
}

static void test_aliases_and_merges(void)
{
	struct fnd_list fl;
	struct hy_stream *st;
	const struct hy_node *r, *m;

	fnd_list_init(&fl, 0);
	st = load("base: &b {x: 1, w: 2}\nuse: *b\nm:\n  <<: *b\n  w: 3\n  z: 4\n"
		  "mm:\n  <<: [{p: 1}, {p: 2, q: 2}]\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 0);
	r = st->docs[0].root;
	T_ASSERT(hy_get(r, "use") == hy_get(r, "base"));
	m = hy_get(r, "m");
	T_EQ_INT(m->len, 3);
	T_EQ_INT(hy_get(m, "x")->v.i, 1);
	T_EQ_INT(hy_get(m, "w")->v.i, 3); /* written keys beat merged ones */
	T_EQ_INT(hy_get(m, "z")->v.i, 4);
	m = hy_get(r, "mm");
	T_EQ_INT(hy_get(m, "p")->v.i, 1); /* earlier merge sources win */
	T_EQ_INT(hy_get(m, "q")->v.i, 2);
	hy_stream_free(st);

	st = load("a: *nope\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_YAML_ALIAS);
	hy_stream_free(st);
	fnd_list_release(&fl);

	fnd_list_init(&fl, 0);
	st = load("a: &x [1, *x]\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_YAML_ALIAS);
	hy_stream_free(st);
	st = load("a:\n  <<: 5\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.v[fl.n - 1].code, FND_YAML_MERGE);
	hy_stream_free(st);
	fnd_list_release(&fl);
}

static void test_tags(void)
{
	struct fnd_list fl;
	struct hy_stream *st;

	fnd_list_init(&fl, 0);
	st = load("a: !custom x\nb: !!int abc\nc: !!float 3\nd: !!bool yes\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 2);
	T_EQ_INT(fl.v[0].code, FND_YAML_TAG);
	T_EQ_INT(fl.v[1].code, FND_YAML_TAG);
	T_EQ_INT(hy_get(st->docs[0].root, "c")->type, HY_FLOAT);
	T_EQ_INT(hy_get(st->docs[0].root, "d")->type, HY_BOOL);
	hy_stream_free(st);
	fnd_list_release(&fl);
}

static void test_syntax_errors(void)
{
	struct fnd_list fl;
	struct hy_stream *st = (struct hy_stream *)1;
	char err[HS_ERRBUF];
	static const char bad[] = "a: 1\n\tb: 2\n";

	fnd_list_init(&fl, 0);
	T_EQ_INT(hy_load(&st, bad, strlen(bad), "t.yaml", NULL, NULL, &fl, err), HS_EINVAL);
	T_ASSERT(st == NULL);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_YAML_SYNTAX);
	T_EQ_INT(fl.v[0].line, 2);
	T_ASSERT(strstr(fl.v[0].msg, "tab"));
	T_ASSERT(strstr(err, "t.yaml:2:"));
	fnd_list_release(&fl);

	fnd_list_init(&fl, 0);
	T_EQ_INT(hy_load(&st, "a: [1, 2\n", 9, "t.yaml", NULL, NULL, &fl, err), HS_EINVAL);
	T_EQ_INT(fl.v[0].code, FND_YAML_SYNTAX);
	fnd_list_release(&fl);

	fnd_list_init(&fl, 0);
	T_EQ_INT(hy_load(&st, "a: \xff\xfe\n", 6, "t.yaml", NULL, NULL, &fl, err), HS_EINVAL);
	T_EQ_INT(fl.v[0].code, FND_YAML_ENCODING);
	T_EQ_INT(fl.v[0].line, 1);
	T_EQ_INT(fl.v[0].col, 4);
	fnd_list_release(&fl);

	/* overlong encodings and surrogates are not UTF-8 either */
	fnd_list_init(&fl, 0);
	T_EQ_INT(hy_load(&st, "a: \xc0\xaf\n", 6, "t.yaml", NULL, NULL, &fl, err), HS_EINVAL);
	T_EQ_INT(hy_load(&st, "a: \xed\xa0\x80\n", 7, "t.yaml", NULL, NULL, &fl, err), HS_EINVAL);
	T_EQ_INT(fl.n, 2);
	fnd_list_release(&fl);
}

static void test_nonfinite_is_not_json(void)
{
	struct fnd_list fl;
	struct hy_stream *st;
	char err[HS_ERRBUF];

	fnd_list_init(&fl, 0);
	st = load("a: .nan\nb: '.nan'\n", &fl);
	T_ASSERT(st);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_YAML_NOT_JSON);
	T_ASSERT(hy_to_json(st->docs[0].root, err) == NULL);
	hy_stream_free(st);
	fnd_list_release(&fl);
}

static void test_json_round_trip(void)
{
	struct fnd_list fl;
	struct hy_stream *st;
	struct arena *a = arena_new();
	json_t *j, *j2;
	struct hy_node *back;
	char err[HS_ERRBUF];
	char *s;

	fnd_list_init(&fl, 0);
	st = load("s: text\ni: -3\nu: 18446744073709551615\nf: 1.5\nb: no\nz: ~\n"
		  "l: [1, a, {k: v}]\nm: {}\nq: \"nul\\0byte\"\n", &fl);
	T_ASSERT(st);
	j = hy_to_json(st->docs[0].root, err);
	T_ASSERT(j);
	T_ASSERT(json_is_string(json_object_get(j, "s")));
	T_EQ_INT(json_integer_value(json_object_get(j, "i")), -3);
	T_ASSERT(json_is_real(json_object_get(j, "u")));
	T_ASSERT(json_is_false(json_object_get(j, "b")));
	T_ASSERT(json_is_null(json_object_get(j, "z")));
	T_EQ_INT(json_string_length(json_object_get(j, "q")), 8);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	T_EQ_STR(s, "{\"b\":false,\"f\":1.5,\"i\":-3,\"l\":[1,\"a\",{\"k\":\"v\"}],\"m\":{},"
		    "\"q\":\"nul\\u0000byte\",\"s\":\"text\",\"u\":1.8446744073709552e19,\"z\":null}");
	free(s);
	back = hy_from_json(a, j, 0, err);
	T_ASSERT(back);
	j2 = hy_to_json(back, err);
	T_ASSERT(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	hy_stream_free(st);
	fnd_list_release(&fl);
	arena_free(a);
}

static void test_arena_shared_by_loads(void)
{
	struct arena *a = arena_new();
	struct hy_stream *s1 = NULL, *s2 = NULL;

	T_EQ_INT(hy_load(&s1, "a: 1\n", 5, "a", NULL, a, NULL, NULL), HS_OK);
	T_EQ_INT(hy_load(&s2, "b: 2\n", 5, "b", NULL, a, NULL, NULL), HS_OK);
	T_ASSERT(s1->arena == a && s2->arena == a);
	hy_stream_free(s1); /* does not free the shared arena */
	T_EQ_INT(hy_get(s2->docs[0].root, "b")->v.i, 2);
	T_ASSERT(arena_used(a) > 0);
	arena_free(a);
}

const struct unit_test unit_tests[] = {
	UNIT(test_resolve_booleans),
	UNIT(test_resolve_null),
	UNIT(test_resolve_numbers),
	UNIT(test_quoted_stay_strings),
	UNIT(test_positions),
	UNIT(test_multi_documents),
	UNIT(test_duplicate_keys),
	UNIT(test_keys_become_strings),
	UNIT(test_aliases_and_merges),
	UNIT(test_tags),
	UNIT(test_syntax_errors),
	UNIT(test_nonfinite_is_not_json),
	UNIT(test_json_round_trip),
	UNIT(test_arena_shared_by_loads),
	{ NULL, NULL },
};
