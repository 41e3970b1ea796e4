/* t-emit.c: the canonical writer: quoting, floats, blocks, managed files, idempotence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "sync/emit.h"
#include "sync/yaml.h"
#include "tests/unit/unit.h"

/* emit_doc of the first document of s, as a new string */
static char *emit_str(const char *s, int managed)
{
	struct hy_stream *st = NULL;
	struct hs_buf b = HS_BUF_INIT(1 << 24);
	size_t len;

	if (hy_load(&st, s, strlen(s), "t.yaml", NULL, NULL, NULL, NULL) != HS_OK || !st->ndocs)
		return NULL;
	if (managed)
		emit_managed(&b, st->docs[0].root);
	else
		emit_doc(&b, st->docs[0].root);
	hy_stream_free(st);
	return hs_buf_steal(&b, &len);
}

/* The value of key v after emitting and reloading a one-string tree. */
static int string_round_trips(const char *s, size_t n)
{
	struct arena *a = arena_new();
	struct hy_node *root = hy_new_scalar(a, HY_MAP);
	struct hy_pair pair;
	struct hs_buf b = HS_BUF_INIT(1 << 20);
	struct hy_stream *st = NULL;
	int ok = 0;

	pair.key = hy_new_str(a, s, n); /* as a key too */
	pair.val = hy_new_str(a, s, n);
	root->v.pairs = &pair;
	root->len = 1;
	if (emit_doc(&b, root) == HS_OK &&
	    hy_load(&st, b.data, b.len, "rt", NULL, NULL, NULL, NULL) == HS_OK && st->ndocs == 1) {
		ok = hy_equal(root, st->docs[0].root);
		if (!ok)
			printf("#   no round trip for [%.*s]: %s", (int)n, s, hs_buf_str(&b));
		else {
			/* and again: idempotent */
			struct hs_buf b2 = HS_BUF_INIT(1 << 20);

			emit_doc(&b2, st->docs[0].root);
			ok = b2.len == b.len && !memcmp(b2.data, b.data, b.len);
			hs_buf_release(&b2);
		}
	} else {
		printf("#   emitted YAML does not load for [%.*s]: %s", (int)n, s, hs_buf_str(&b));
	}
	hy_stream_free(st);
	hs_buf_release(&b);
	arena_free(a);
	return ok;
}

static void test_string_quoting(void)
{
	static const struct {
		const char *s;
		enum emit_style want;
	} cases[] = {
		{ "server-1", EMIT_PLAIN },   { "E1/55", EMIT_PLAIN },
		{ "10.0.0.0/24", EMIT_PLAIN }, { "4x25G", EMIT_PLAIN },
		{ "http://x/y", EMIT_PLAIN }, { "a b", EMIT_PLAIN },
		{ "yes", EMIT_SINGLE },       { "No", EMIT_SINGLE },
		{ "on", EMIT_SINGLE },        { "y", EMIT_SINGLE },
		{ "true", EMIT_SINGLE },      { "null", EMIT_SINGLE },
		{ "~", EMIT_SINGLE },         { "", EMIT_SINGLE },
		{ "1", EMIT_SINGLE },         { "0755", EMIT_SINGLE },
		{ "0x1F", EMIT_SINGLE },      { "1e3", EMIT_SINGLE },
		{ ".inf", EMIT_SINGLE },      { "1_000", EMIT_SINGLE },
		{ "08", EMIT_SINGLE },        { "1:20", EMIT_SINGLE },
		{ "2024-01-02", EMIT_SINGLE }, { "=", EMIT_SINGLE },
		{ "<<", EMIT_SINGLE },        { "-x", EMIT_SINGLE },
		{ "a: b", EMIT_SINGLE },      { "a #b", EMIT_SINGLE },
		{ " lead", EMIT_SINGLE },     { "trail ", EMIT_SINGLE },
		{ "key:", EMIT_SINGLE },      { "*alias", EMIT_SINGLE },
		{ "&a", EMIT_SINGLE },        { "!tag", EMIT_SINGLE },
		{ "[x]", EMIT_SINGLE },       { "{x}", EMIT_SINGLE },
		{ "'q'", EMIT_SINGLE },       { "\"q\"", EMIT_SINGLE },
		{ "---", EMIT_SINGLE },       { "...", EMIT_SINGLE },
		{ "%x", EMIT_SINGLE },        { "@x", EMIT_SINGLE },
		{ "tab\there", EMIT_DOUBLE }, { "bell\a", EMIT_DOUBLE },
		{ "two\nlines", EMIT_LITERAL }, { "one line\n", EMIT_LITERAL },
		{ "\nlead", EMIT_DOUBLE },    { "x\n\n", EMIT_DOUBLE },
		{ "sp \nx", EMIT_DOUBLE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum emit_style got = emit_string_style(cases[i].s, strlen(cases[i].s), 0);

		if (got != cases[i].want)
			unit_fail(__FILE__, __LINE__, "[%s]: style %d, want %d", cases[i].s, got,
				  cases[i].want);
		T_ASSERT(string_round_trips(cases[i].s, strlen(cases[i].s)));
	}
	/* keys never become literal blocks */
	T_EQ_INT(emit_string_style("two\nlines", 9, 1), EMIT_DOUBLE);
}

static void test_string_round_trip_fuzz(void)
{
	/* every short string over an alphabet of troublemakers */
	static const char *const alpha[] = { "a", "1", "0", ".", "-", ":", " ", "#", "'", "\"",
					     "\n", "\t", "\\", "e", "_", "y", "~", "\xc3\xa9",
					     "\xc2\x85", "\xe2\x80\xa8", "\xef\xbb\xbf", "\x7f", "\x00" };
	size_t na = sizeof(alpha) / sizeof(alpha[0]);
	unsigned seed = 12345;

	for (int round = 0; round < 4000; round++) {
		char s[64];
		size_t n = 0;
		int parts = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 6;

		for (int p = 0; p < parts; p++) {
			const char *c = alpha[((seed = seed * 1103515245 + 12345) >> 16) % na];
			size_t cl = c[0] ? strlen(c) : 1;

			memcpy(s + n, c, cl);
			n += cl;
		}
		T_ASSERT(string_round_trips(s, n));
	}
}

static void test_long_key(void)
{
	char k[2100];

	memset(k, 'k', sizeof(k) - 1);
	k[sizeof(k) - 1] = '\0';
	T_ASSERT(string_round_trips(k, strlen(k)));
}

static void test_scalars(void)
{
	char *s = emit_str("i: 0x10\nf: 1e3\ng: 0.1\nh: -0.0\nb: yes\nn: ~\nu: 18446744073709551615\n"
			   "big: 1e300\nneg: -7\nstr: \"1\"\n", 0);

	/* the key n reads as false and b stays b */
	T_EQ_STR(s, "b: true\nbig: 1.0e+300\nf: 1000.0\n'false': null\ng: 0.1\nh: -0.0\ni: 16\nneg: -7\n"
		    "str: '1'\nu: 18446744073709551615\n");
	free(s);
}

static void test_collections(void)
{
	char *s = emit_str("b: [1, [2, 3], {x: 1, y2: [a]}]\na: {}\nc: []\n"
			   "d: {k10: 1, k9: 2, k1: 3}\ne: [[], {}, [[x]]]\n", 0);

	T_EQ_STR(s, "a: {}\n"
		    "b:\n"
		    "- 1\n"
		    "- - 2\n"
		    "  - 3\n"
		    "- x: 1\n"
		    "  y2:\n"
		    "  - a\n"
		    "c: []\n"
		    "d:\n"
		    "  k1: 3\n"
		    "  k9: 2\n"
		    "  k10: 1\n"
		    "e:\n"
		    "- []\n"
		    "- {}\n"
		    "- - - x\n");
	free(s);
}

static void test_literal_blocks(void)
{
	char *s = emit_str("a: \"line one\\n  indented\\nlast\"\nb: [\"x\\ny\\n\"]\nc: {d: \"p\\nq\"}\n", 0);
	char *again;

	T_EQ_STR(s, "a: |-\n  line one\n    indented\n  last\nb:\n- |\n  x\n  y\nc:\n  d: |-\n    p\n    q\n");
	again = emit_str(s, 0);
	T_EQ_STR(again, s);
	free(again);
	free(s);
}

static void test_managed_order_and_cleanup(void)
{
	static const char in[] =
		"# a header comment\n"
		"---\n"
		"spec:\n"
		"  role: spine\n"
		"  profile: p\n"
		"status: {x: 1}\n"
		"metadata:\n"
		"  labels: {fabric.githedgehog.com/x: y, app: z}\n"
		"  uid: 1234\n"
		"  creationTimestamp: 2024-01-01T00:00:00Z\n"
		"  annotations:\n"
		"    hnp.githedgehog.com/ingested-at: '2025-08-06T09:04:35Z'\n"
		"    type.hhfab.githedgehog.com: hw\n"
		"  name: spine-1\n"
		"kind: Switch\n"
		"apiVersion: wiring.githedgehog.com/v1alpha2\n";
	char *s = emit_str(in, 1), *again;

	T_EQ_STR(s, "apiVersion: wiring.githedgehog.com/v1beta1\n"
		    "kind: Switch\n"
		    "metadata:\n"
		    "  name: spine-1\n"
		    "  namespace: default\n"
		    "  annotations:\n"
		    "    type.hhfab.githedgehog.com: hw\n"
		    "  labels:\n"
		    "    app: z\n"
		    "spec:\n"
		    "  profile: p\n"
		    "  role: spine\n");
	again = emit_str(s, 1);
	T_EQ_STR(again, s);
	free(again);
	free(s);
	/* all annotations volatile: the key goes */
	s = emit_str("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n"
		     "  namespace: default\n  annotations:\n    hnp.githedgehog.com/fabric: f\nspec: {}\n", 1);
	T_EQ_STR(s, "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n"
		    "  namespace: default\nspec: {}\n");
	free(s);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(1 << 22);
	*len = fread(buf, 1, (1 << 22) - 1, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

/* Every document of the real corpus: emitted twice gives the same bytes and
 * reloads to the same value. */
static void test_corpus_idempotent(void)
{
	static const char *const files[] = {
		"tests/data/corpus/lab-ci_env-ci-1_wiring.yaml",
		"tests/data/corpus/docs_build-wiring_sample_wiring_diagram.yaml",
		"tests/data/corpus/demo-gitops_env-1_demo.yaml",
		"tests/data/corpus/demo-gitops_env-1_pre-demo.yaml",
		"tests/data/corpus/demo-gitops_env-1_vpc-test.yaml",
	};

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		char *data = read_all(files[f], &len);
		struct hy_stream *st = NULL;

		T_ASSERT(data);
		T_EQ_INT(hy_load(&st, data, len, files[f], NULL, NULL, NULL, NULL), HS_OK);
		for (uint32_t d = 0; d < st->ndocs; d++) {
			for (int managed = 0; managed < 2; managed++) {
				struct hs_buf b1 = HS_BUF_INIT(1 << 22), b2 = HS_BUF_INIT(1 << 22);
				struct hy_stream *s1 = NULL;

				if (managed)
					T_EQ_INT(emit_managed(&b1, st->docs[d].root), HS_OK);
				else
					T_EQ_INT(emit_doc(&b1, st->docs[d].root), HS_OK);
				T_EQ_INT(hy_load(&s1, b1.data, b1.len, "e", NULL, NULL, NULL, NULL), HS_OK);
				T_EQ_INT(s1->ndocs, 1);
				if (!managed)
					T_ASSERT(hy_equal(st->docs[d].root, s1->docs[0].root));
				else
					T_ASSERT(hy_equal(hy_get(st->docs[d].root, "spec"),
							  hy_get(s1->docs[0].root, "spec")));
				if (managed)
					emit_managed(&b2, s1->docs[0].root);
				else
					emit_doc(&b2, s1->docs[0].root);
				T_EQ_INT(b2.len, b1.len);
				T_ASSERT(!memcmp(b1.data, b2.data, b1.len));
				hy_stream_free(s1);
				hs_buf_release(&b1);
				hs_buf_release(&b2);
			}
		}
		hy_stream_free(st);
		free(data);
	}
}

static void test_float_text(void)
{
	char buf[64];

	emit_float_text(0.1, buf, sizeof(buf));
	T_EQ_STR(buf, "0.1");
	emit_float_text(3.0, buf, sizeof(buf));
	T_EQ_STR(buf, "3.0");
	emit_float_text(1e21, buf, sizeof(buf));
	T_EQ_STR(buf, "1.0e+21");
	emit_float_text(1.0 / 3.0, buf, sizeof(buf));
	T_EQ_STR(buf, "0.3333333333333333");
	emit_float_text(-2.5e-7, buf, sizeof(buf));
	T_EQ_STR(buf, "-2.5e-07");
}

static void test_buffer_cap(void)
{
	struct hs_buf b = HS_BUF_INIT(10);
	struct hy_stream *st = NULL;

	T_EQ_INT(hy_load(&st, "a: a long enough value\n", 23, "t", NULL, NULL, NULL, NULL), HS_OK);
	T_EQ_INT(emit_doc(&b, st->docs[0].root), HS_ETOOBIG);
	hs_buf_release(&b);
	hy_stream_free(st);
}

/* A NetBox payload and the same resource as YAML write the same bytes. */
static void test_json_and_yaml_agree(void)
{
	static const char yaml[] =
		"kind: VPC\napiVersion: vpc.githedgehog.com/v1beta1\nmetadata: {name: v1}\n"
		"spec:\n  subnets:\n    default: {vlan: 1001, subnet: 10.0.1.0/24, dhcp: {enable: yes}}\n";
	static const char json[] =
		"{\"apiVersion\": \"vpc.githedgehog.com/v1beta1\", \"kind\": \"VPC\","
		" \"metadata\": {\"name\": \"v1\", \"namespace\": \"default\"},"
		" \"spec\": {\"subnets\": {\"default\": {\"subnet\": \"10.0.1.0/24\","
		" \"dhcp\": {\"enable\": true}, \"vlan\": 1001}}}}";
	char *from_yaml = emit_str(yaml, 1);
	struct hs_buf b = HS_BUF_INIT(1 << 20);
	json_error_t e;
	json_t *j = json_loads(json, 0, &e);
	char err[HS_ERRBUF];

	T_ASSERT(j);
	T_EQ_INT(emit_managed_json(&b, j, err), HS_OK);
	T_EQ_STR(hs_buf_str(&b), from_yaml);
	hs_buf_reset(&b);
	json_decref(j);
	j = json_loads("[1]", 0, &e);
	T_EQ_INT(emit_managed_json(&b, j, err), HS_EINVAL);
	json_decref(j);
	hs_buf_release(&b);
	free(from_yaml);
}

const struct unit_test unit_tests[] = {
	UNIT(test_string_quoting),
	UNIT(test_string_round_trip_fuzz),
	UNIT(test_long_key),
	UNIT(test_scalars),
	UNIT(test_collections),
	UNIT(test_literal_blocks),
	UNIT(test_managed_order_and_cleanup),
	UNIT(test_corpus_idempotent),
	UNIT(test_float_text),
	UNIT(test_buffer_cap),
	UNIT(test_json_and_yaml_agree),
	{ NULL, NULL },
};
