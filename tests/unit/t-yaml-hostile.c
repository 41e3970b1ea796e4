/* t-yaml-hostile.c: hostile inputs end in a clear error, fast and in bounded memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/emit.h"
#include "sync/validate.h"
#include "sync/yaml.h"
#include "tests/unit/unit.h"

/* Generous bounds: the real numbers are milliseconds and a few MB, the
 * bounds hold under ASan on a loaded machine too. */
#define MAX_SECONDS 5.0
#define MAX_GROWTH_KIB (256 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

struct outcome {
	int rc;
	enum fnd_code code;
	char err[HS_ERRBUF];
	double seconds;
	long growth_kib;
	uint32_t docs;
};

/* Load (and, when it loads, validate and write back) data; record how. */
static struct outcome attack(const char *data, size_t len)
{
	struct outcome o;
	struct hy_stream *st = NULL;
	struct fnd_list fl;
	long before = peak_kib();
	double t0 = now();

	memset(&o, 0, sizeof(o));
	fnd_list_init(&fl, 0);
	o.code = FND_CODE_COUNT;
	o.rc = hy_load(&st, data, len, "attack.yaml", NULL, NULL, &fl, o.err);
	if (o.rc == HS_OK) {
		struct arena *a = arena_new();

		o.docs = st->ndocs;
		for (uint32_t i = 0; i < st->ndocs; i++) {
			struct hs_buf b = HS_BUF_INIT((size_t)64 << 20);

			(void)val_doc(a, &st->docs[i], "attack.yaml", &fl);
			(void)emit_doc(&b, st->docs[i].root);
			hs_buf_release(&b);
		}
		arena_free(a);
	}
	fnd_resolve_paths(&fl);
	for (size_t i = 0; i < fl.n; i++)
		if (fl.v[i].sev == FND_ERROR) {
			o.code = fl.v[i].code;
			break;
		}
	hy_stream_free(st);
	fnd_list_release(&fl);
	o.seconds = now() - t0;
	o.growth_kib = peak_kib() - before;
	printf("#   rc %d, %s, %.3f s, +%ld KiB: %s\n", o.rc,
	       o.code < FND_CODE_COUNT ? fnd_code_name(o.code) : "no error", o.seconds, o.growth_kib,
	       o.err);
	return o;
}

static void bounded(const struct outcome *o)
{
	T_ASSERT(o->seconds < MAX_SECONDS);
	T_ASSERT(o->growth_kib < MAX_GROWTH_KIB);
}

static void test_billion_laughs(void)
{
	static const char lol[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct outcome o = attack(lol, strlen(lol));

	T_EQ_INT(o.rc, HS_ETOOBIG);
	T_EQ_INT(o.code, FND_YAML_ALIAS);
	T_ASSERT(strstr(o.err, "billion"));
	bounded(&o);
}

static void test_quadratic_aliases(void)
{
	/* one anchor, a million aliases to a large node: the count stops it */
	size_t n = 200000, len = 0;
	char *s = hs_malloc(n * 4 + 4096);

	len += (size_t)sprintf(s, "a: &x [");
	for (int i = 0; i < 1000; i++)
		len += (size_t)sprintf(s + len, "%d,", i);
	len += (size_t)sprintf(s + len, "0]\nb: [");
	for (size_t i = 0; i < n; i++) {
		memcpy(s + len, "*x,", 3);
		len += 3;
	}
	memcpy(s + len, "*x]\n", 4);
	len += 4;
	{
		struct outcome o = attack(s, len);

		T_EQ_INT(o.rc, HS_ETOOBIG);
		T_EQ_INT(o.code, FND_YAML_ALIAS);
		bounded(&o);
	}
	free(s);
}

static void test_deep_nesting(void)
{
	size_t depth = 10000;
	char *flow = hs_malloc(depth * 2 + 2), *block = hs_malloc(depth * (depth < 20000 ? 4 : 4) + 16);
	size_t len = 0;

	memset(flow, '[', depth);
	memset(flow + depth, ']', depth);
	flow[depth * 2] = '\n';
	{
		struct outcome o = attack(flow, depth * 2 + 1);

		T_EQ_INT(o.rc, HS_ETOOBIG);
		T_EQ_INT(o.code, FND_YAML_TOO_DEEP);
		bounded(&o);
	}
	/* block style: "- " repeated on one line nests sequences */
	for (size_t i = 0; i < depth; i++) {
		memcpy(block + len, "- ", 2);
		len += 2;
	}
	memcpy(block + len, "x\n", 2);
	len += 2;
	{
		struct outcome o = attack(block, len);

		T_EQ_INT(o.rc, HS_ETOOBIG);
		T_EQ_INT(o.code, FND_YAML_TOO_DEEP);
		bounded(&o);
	}
	/* mappings: "{a: " repeated */
	len = 0;
	for (size_t i = 0; i < depth / 4; i++) {
		memcpy(block + len, "{a: ", 4);
		len += 4;
	}
	memcpy(block + len, "1", 1);
	len++;
	{
		struct outcome o = attack(block, len);

		T_EQ_INT(o.rc, HS_ETOOBIG);
		T_EQ_INT(o.code, FND_YAML_TOO_DEEP);
		bounded(&o);
	}
	free(flow);
	free(block);
}

static void test_fifty_megabytes(void)
{
	size_t len = (size_t)50 << 20;
	char *s = hs_malloc(len);
	struct outcome o;

	/* a plausible file: the same VPC over and over */
	for (size_t i = 0; i < len; i++)
		s[i] = "apiVersion: vpc.githedgehog.com/v1beta1\n---\n"[i % 44];
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_ETOOBIG);
	T_EQ_INT(o.code, FND_YAML_FILE_TOO_LARGE);
	T_ASSERT(strstr(o.err, "52428800 bytes"));
	T_ASSERT(o.seconds < 0.5); /* refused before parsing */
	free(s);
}

static void test_many_small_nodes(void)
{
	/* just under the byte limit but over the node limit: stops at the limit */
	size_t len = (size_t)15 << 20, i;
	char *s = hs_malloc(len);
	struct outcome o;

	memcpy(s, "a: [", 4);
	for (i = 4; i + 2 < len; i += 2)
		memcpy(s + i, "1,", 2);
	memcpy(s + i - 2, "1]", 2);
	len = i;
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_ETOOBIG);
	T_EQ_INT(o.code, FND_YAML_TOO_MANY_NODES);
	bounded(&o);
	free(s);
}

static void test_invalid_utf8(void)
{
	static const char *const cases[] = {
		"name: \xff\n",                /* invalid lead byte */
		"name: \xc3\n",                /* truncated sequence */
		"name: \xe0\x80\x80\n",        /* overlong */
		"name: \xed\xb0\x80\n",        /* UTF-16 surrogate */
		"name: \xf4\x90\x80\x80\n",    /* above U+10FFFF */
		"\xff\xfen\x00a\x00m\x00e\x00", /* UTF-16 LE with BOM */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o = attack(cases[i], i == 5 ? 10 : strlen(cases[i]));

		T_EQ_INT(o.rc, HS_EINVAL);
		T_EQ_INT(o.code, FND_YAML_ENCODING);
		T_ASSERT(strstr(o.err, "UTF-8"));
		bounded(&o);
	}
}

static void test_tabs_and_nul(void)
{
	struct outcome o = attack("metadata:\n\tname: x\n", 19);

	T_EQ_INT(o.rc, HS_EINVAL);
	T_EQ_INT(o.code, FND_YAML_SYNTAX);
	T_ASSERT(strstr(o.err, "tab"));
	T_ASSERT(strstr(o.err, "attack.yaml:2:1"));
	o = attack("a: b\0c\n", 7);
	T_EQ_INT(o.rc, HS_EINVAL);
	T_ASSERT(o.code == FND_YAML_ENCODING || o.code == FND_YAML_SYNTAX);
}

static void test_duplicate_key_flood(void)
{
	/* 100 000 copies of one key: one pass, sorted, bounded findings */
	size_t n = 100000, len = 0;
	char *s = hs_malloc(n * 8 + 16);
	struct outcome o;

	for (size_t i = 0; i < n; i++) {
		memcpy(s + len, "k: v\n", 5);
		len += 5;
	}
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_OK);
	T_EQ_INT(o.code, FND_YAML_DUPLICATE_KEY);
	bounded(&o);
	free(s);
}

static void test_many_documents_and_anchors(void)
{
	size_t n = 200000, len = 0;
	char *s = hs_malloc(n * 16 + 16);
	struct outcome o;

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "--- {a: %zu}\n", i);
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_ETOOBIG);
	T_EQ_INT(o.code, FND_YAML_TOO_MANY_DOCUMENTS);
	bounded(&o);
	len = 0;
	len += (size_t)sprintf(s, "a:\n");
	for (size_t i = 0; i < 20000; i++)
		len += (size_t)sprintf(s + len, "- &a%zu x\n", i);
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_ETOOBIG);
	T_EQ_INT(o.code, FND_YAML_ALIAS);
	bounded(&o);
	free(s);
}

static void test_huge_scalar_and_key(void)
{
	size_t len = (size_t)15 << 20;
	char *s = hs_malloc(len + 16);
	struct outcome o;

	memcpy(s, "k: ", 3);
	memset(s + 3, 'x', len - 4);
	s[len - 1] = '\n';
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_OK); /* legal, if silly: it loads and writes back */
	bounded(&o);
	/* a 2 KB key needs the explicit "? key" form when written */
	memset(s, 'k', 2048);
	memcpy(s + 2048, ": v\n", 4);
	o = attack(s, 2052);
	T_ASSERT(o.rc != HS_OK); /* implicit keys are limited to 1024 characters */
	free(s);
}

/* Rules over lists must stay near-linear: build big, legal-looking lists. */
static void test_validation_stays_linear(void)
{
	size_t cap = (size_t)12 << 20, len = 0;
	char *s = hs_malloc(cap);
	struct outcome o;

	/* an ESLAG connection with 40,000 links (a device check per link) */
	len = (size_t)sprintf(s, "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\n"
				 "metadata: {name: c}\nspec:\n  eslag:\n    links:\n");
	for (int i = 0; i < 40000; i++)
		len += (size_t)sprintf(s + len, "    - {server: {port: s%d/e}, switch: {port: l%d/E1/1}}\n",
				       i, i);
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_OK);
	bounded(&o);
	/* an ACL of 40,000 statements with one seq */
	len = (size_t)sprintf(s, "apiVersion: vpc.githedgehog.com/v1beta1\nkind: ExternalAttachment\n"
				 "metadata: {name: a}\nspec:\n  inboundACL:\n    statements:\n");
	for (int i = 0; i < 40000; i++)
		len += (size_t)sprintf(s + len, "    - {seq: 10, action: permit, protocol: ip, srcPrefix: any,"
						" dstPrefix: any}\n");
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_OK);
	bounded(&o);
	/* a VPC of 30,000 subnets and 1,000 permit lists of 100 names */
	len = (size_t)sprintf(s, "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\n"
				 "metadata: {name: v}\nspec:\n  subnets:\n");
	for (int i = 0; i < 30000; i++)
		len += (size_t)sprintf(s + len, "    s%d: {subnet: 10.%d.%d.0/24, vlan: %d}\n", i,
				       i / 256 % 256, i % 256, 1000 + i % 2000);
	len += (size_t)sprintf(s + len, "  permit:\n");
	for (int i = 0; i < 1000; i++) {
		len += (size_t)sprintf(s + len, "  - [");
		for (int k = 0; k < 100; k++)
			len += (size_t)sprintf(s + len, "%ss%d", k ? "," : "", k);
		len += (size_t)sprintf(s + len, "]\n");
	}
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_OK);
	bounded(&o);
	/* a switch in 40,000 groups */
	len = (size_t)sprintf(s, "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\n"
				 "metadata: {name: w}\nspec:\n  role: spine\n  profile: p\n  groups:\n");
	for (int i = 0; i < 40000; i++)
		len += (size_t)sprintf(s + len, "  - g%d\n", i % 7);
	o = attack(s, len);
	T_EQ_INT(o.rc, HS_OK);
	bounded(&o);
	{
		/* and the fabric rules over such a document */
		struct val_set *set = val_set_new(NULL, NULL, 0);
		double t0 = now();

		val_set_add(set, "w.yaml", NULL, s, len, 0);
		val_set_finish(set);
		printf("#   fabric rules over 40,000 references: %.3f s\n", now() - t0);
		T_ASSERT(now() - t0 < MAX_SECONDS);
		val_set_free(set);
	}
	free(s);
}

const struct unit_test unit_tests[] = {
	UNIT(test_billion_laughs),
	UNIT(test_quadratic_aliases),
	UNIT(test_deep_nesting),
	UNIT(test_fifty_megabytes),
	UNIT(test_many_small_nodes),
	UNIT(test_invalid_utf8),
	UNIT(test_tabs_and_nul),
	UNIT(test_duplicate_key_flood),
	UNIT(test_many_documents_and_anchors),
	UNIT(test_huge_scalar_and_key),
	UNIT(test_validation_stays_linear),
	{ NULL, NULL },
};
