/* t-validate.c: document and fabric rules on the real corpus and on targeted inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "github/base/err.h"
#include "sync/layout.h"
#include "sync/validate.h"
#include "tests/unit/unit.h"

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

static size_t count_code(const struct fnd_list *fl, enum fnd_code code)
{
	size_t n = 0;

	for (size_t i = 0; i < fl->n; i++)
		n += fl->v[i].code == code;
	return n;
}

static void dump(const struct fnd_list *fl)
{
	struct hs_buf b = HS_BUF_INIT(1 << 20);

	fnd_format_list(fl, FND_FMT_TEXT, &b);
	printf("%s", hs_buf_str(&b));
	hs_buf_release(&b);
}

/* Validate one in-memory file on its own; the caller frees the set. */
static struct val_set *check(const char *yaml, const struct val_opts *o)
{
	struct val_set *s = val_set_new(o, NULL, 0);

	val_set_add(s, "t.yaml", NULL, yaml, strlen(yaml), 0);
	val_set_finish(s);
	return s;
}

static void test_lab_wiring_is_clean(void)
{
	size_t len;
	char *data = read_all("tests/data/corpus/lab-ci_env-ci-1_wiring.yaml", &len);
	struct val_set *s = val_set_new(NULL, NULL, 0);
	struct val_stats st;
	struct fnd_list *fl;

	T_ASSERT(data);
	T_EQ_INT(val_set_add(s, "lab.yaml", NULL, data, len, 0), 51);
	val_set_finish(s);
	fl = val_set_findings(s);
	val_set_stats(s, &st);
	if (fl->n)
		dump(fl);
	T_EQ_INT(st.docs, 51);
	/* no ASN, IP, VTEP or protocol IP on any switch, and still no error */
	T_EQ_INT(fnd_count(fl, FND_ERROR), 0);
	T_EQ_INT(fnd_count(fl, FND_WARNING), 0);
	val_set_free(s);
	free(data);
}

static void test_docs_sample_gateway_unmanaged(void)
{
	size_t len;
	char *data = read_all("tests/data/corpus/docs_build-wiring_sample_wiring_diagram.yaml", &len);
	struct val_set *s = val_set_new(NULL, NULL, 0);
	struct fnd_list *fl;

	T_ASSERT(data);
	T_EQ_INT(val_set_add(s, "docs.yaml", NULL, data, len, 0), 20);
	val_set_finish(s);
	fl = val_set_findings(s);
	T_EQ_INT(fnd_count(fl, FND_ERROR), 0);
	T_EQ_INT(count_code(fl, FND_KIND_UNMANAGED), 1);
	for (size_t i = 0; i < fl->n; i++)
		if (fl->v[i].code == FND_KIND_UNMANAGED) {
			T_ASSERT(strstr(fl->v[i].msg, "Gateway"));
			T_EQ_INT(fl->v[i].line, 118);
			T_EQ_INT(fl->v[i].doc, 9);
		}
	val_set_free(s);
	free(data);
}

static void test_every_corpus_file_loads(void)
{
	static const char *const files[] = {
		"tests/data/corpus/lab-ci_env-ci-1_wiring.yaml",
		"tests/data/corpus/docs_build-wiring_sample_wiring_diagram.yaml",
		"tests/data/corpus/demo-gitops_env-1_demo.yaml",
		"tests/data/corpus/demo-gitops_env-1_pre-demo.yaml",
		"tests/data/corpus/demo-gitops_env-1_vpc-test.yaml",
	};
	static const int docs[] = { 51, 20, 4, 4, 1 };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *data = read_all(files[i], &len);
		struct val_set *s = val_set_new(NULL, NULL, 0);

		T_ASSERT(data);
		T_EQ_INT(val_set_add(s, files[i], NULL, data, len, 0), docs[i]);
		val_set_finish(s);
		/* only references to things outside the file may be missing */
		for (size_t k = 0; k < val_set_findings(s)->n; k++) {
			const struct finding *f = &val_set_findings(s)->v[k];

			if (f->sev == FND_ERROR)
				T_EQ_INT(f->code, FND_REF_UNRESOLVED);
		}
		val_set_free(s);
		free(data);
	}
}

static void test_partial_refs_are_warnings(void)
{
	static const char doc[] =
		"apiVersion: vpc.githedgehog.com/v1beta1\n"
		"kind: VPCAttachment\n"
		"metadata:\n"
		"  name: a1\n"
		"spec:\n"
		"  connection: server-1--unbundled--leaf-1\n"
		"  subnet: vpc-1/default\n";
	struct val_opts partial = { FND_SEV_DEFAULT, FND_WARNING };
	struct val_set *s = check(doc, NULL);

	T_EQ_INT(fnd_count(val_set_findings(s), FND_ERROR), 2);
	T_EQ_INT(count_code(val_set_findings(s), FND_REF_UNRESOLVED), 2);
	val_set_free(s);
	s = check(doc, &partial);
	T_EQ_INT(fnd_count(val_set_findings(s), FND_ERROR), 0);
	T_EQ_INT(fnd_count(val_set_findings(s), FND_WARNING), 2);
	val_set_free(s);
}

static void test_default_namespaces_resolve(void)
{
	struct val_set *s = check("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\n"
				  "metadata:\n  name: v1\nspec:\n  subnets:\n    default:\n"
				  "      subnet: 10.0.1.0/24\n      vlan: 1001\n", NULL);

	T_EQ_INT(val_set_findings(s)->n, 0);
	val_set_free(s);
	s = check("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\n"
		  "metadata:\n  name: v1\nspec:\n  ipv4Namespace: other\n  subnets:\n    default:\n"
		  "      subnet: 10.0.1.0/24\n      vlan: 1001\n", NULL);
	T_EQ_INT(count_code(val_set_findings(s), FND_REF_UNRESOLVED), 1);
	T_EQ_STR(val_set_findings(s)->v[0].path, "spec.ipv4Namespace");
	val_set_free(s);
}

static void test_old_api_version_warns(void)
{
	struct val_set *s = check("apiVersion: wiring.githedgehog.com/v1alpha2\nkind: SwitchGroup\n"
				  "metadata:\n  name: g\nspec: {}\n", NULL);
	struct fnd_list *fl = val_set_findings(s);

	T_EQ_INT(fl->n, 1);
	T_EQ_INT(fl->v[0].code, FND_API_VERSION_DEPRECATED);
	T_EQ_INT(fl->v[0].sev, FND_WARNING);
	val_set_free(s);
}

static void test_name_rules(void)
{
	T_ASSERT(val_name_ok("a"));
	T_ASSERT(val_name_ok("leaf-01"));
	T_ASSERT(val_name_ok("a.b-c.d"));
	T_ASSERT(val_name_ok("0"));
	T_ASSERT(!val_name_ok(""));
	T_ASSERT(!val_name_ok("-a"));
	T_ASSERT(!val_name_ok("a-"));
	T_ASSERT(!val_name_ok("A"));
	T_ASSERT(!val_name_ok("a..b"));
	T_ASSERT(!val_name_ok(".a"));
	T_ASSERT(!val_name_ok("a."));
	T_ASSERT(!val_name_ok("a_b"));
	T_ASSERT(!val_name_ok("a b"));
}

static void test_vpc_name_length(void)
{
	struct val_set *s = check("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\n"
				  "metadata:\n  name: twelve-char\nspec:\n  subnets:\n    default:\n"
				  "      subnet: 10.0.1.0/24\n      vlan: 1001\n", NULL);

	T_EQ_INT(val_set_findings(s)->n, 0); /* 11 characters */
	val_set_free(s);
	s = check("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\n"
		  "metadata:\n  name: twelve-chars\nspec:\n  subnets:\n    default:\n"
		  "      subnet: 10.0.1.0/24\n      vlan: 1001\n", NULL);
	T_EQ_INT(count_code(val_set_findings(s), FND_NAME_TOO_LONG), 1);
	val_set_free(s);
}

static void test_doc_facts(void)
{
	static const char doc[] =
		"apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\n"
		"metadata:\n  name: c\nspec:\n  unbundled:\n    link:\n"
		"      server: {port: s1/eth0}\n      switch: {port: leaf-1/E1/1}\n";
	struct hy_stream *st = NULL;
	struct arena *a = arena_new();
	struct fnd_list fl;
	struct val_res *r;

	fnd_list_init(&fl, 0);
	T_EQ_INT(hy_load(&st, doc, strlen(doc), "c.yaml", NULL, a, &fl, NULL), HS_OK);
	r = val_doc(a, &st->docs[0], "c.yaml", &fl);
	T_ASSERT(r->kind && r->kind->id == KIND_CONNECTION);
	T_EQ_STR(r->name, "c");
	T_EQ_INT(r->errors, 0);
	T_ASSERT(r->facts != NULL);
	val_fabric(&r, 1, NULL, &fl);
	T_EQ_INT(count_code(&fl, FND_REF_UNRESOLVED), 2); /* the switch and the server */
	fnd_list_release(&fl);
	arena_free(a);
}

static void test_layout_classes(void)
{
	T_EQ_INT(lay_classify(".hnp/manifest.yaml"), LAY_MANIFEST);
	T_EQ_INT(lay_classify(".hnp/archive-log.yaml"), LAY_ARCHIVE_LOG);
	T_EQ_INT(lay_classify("raw/a/b.yml"), LAY_RAW);
	T_EQ_INT(lay_classify("raw/.gitkeep"), LAY_GITKEEP);
	T_EQ_INT(lay_classify("managed/vpcs/v1.yaml"), LAY_MANAGED);
	T_EQ_INT(lay_classify("managed/vpcs/v1.yml"), LAY_MANAGED);
	T_EQ_INT(lay_classify("managed/vpcs/sub/v1.yaml"), LAY_STRAY);
	T_EQ_INT(lay_classify("managed/vpc/v1.yaml"), LAY_STRAY);
	T_EQ_INT(lay_classify("managed/v1.yaml"), LAY_STRAY);
	T_EQ_INT(lay_classify("managed/vpcs/README.md"), LAY_STRAY);
	T_EQ_INT(lay_classify("unmanaged/x.yaml"), LAY_UNMANAGED);
	T_EQ_INT(lay_classify("wiring.yaml"), LAY_LOOSE_YAML);
	T_EQ_INT(lay_classify("README.md"), LAY_OTHER);
	{
		char *p = lay_managed_path(kind_by_name("VPCAttachment"), "a");

		T_EQ_STR(p, "managed/vpcattachments/a.yaml");
		free(p);
	}
	T_ASSERT(lay_managed_path(kind_by_name("Gateway"), "g") == NULL);
}

static void test_kind_catalog(void)
{
	int managed = 0;

	for (int i = 0; i < KIND_COUNT; i++) {
		const struct kind_info *k = kind_by_id((enum kind_id)i);

		T_ASSERT(k && k->id == (enum kind_id)i);
		T_ASSERT(kind_by_name(k->name) == k);
		if (k->managed) {
			managed++;
			T_ASSERT(kind_by_plural(k->plural) == k);
			T_EQ_STR(k->version, "v1beta1");
		}
	}
	T_EQ_INT(managed, 12);
	T_EQ_INT(kind_by_name("VPC")->name_max, 11);
	T_EQ_INT(kind_by_name("IPv4Namespace")->name_max, 11);
	T_EQ_INT(kind_by_name("External")->name_max, 11);
	T_EQ_INT(kind_by_name("Switch")->name_max, 253);
	T_ASSERT(kind_by_name("vpc") == NULL);
	T_ASSERT(kind_by_name_nocase("vpc") == kind_by_name("VPC"));
	T_EQ_INT(kind_check_api(kind_by_name("VPC"), "vpc.githedgehog.com/v1beta1"), KIND_API_OK);
	T_EQ_INT(kind_check_api(kind_by_name("VPC"), "vpc.githedgehog.com/v1alpha2"), KIND_API_OLD);
	T_EQ_INT(kind_check_api(kind_by_name("VPC"), "vpc.githedgehog.com/v2"), KIND_API_VERSION);
	T_EQ_INT(kind_check_api(kind_by_name("VPC"), "wiring.githedgehog.com/v1beta1"), KIND_API_GROUP);
	T_EQ_INT(kind_check_api(kind_by_name("VPC"), "v1"), KIND_API_GROUP);
	T_EQ_INT(kind_check_api(kind_by_name("Gateway"), "gateway.githedgehog.com/v1alpha1"), KIND_API_OK);
}

static void test_findings_cap(void)
{
	struct fnd_list fl;

	fnd_list_init(&fl, 3);
	for (int i = 0; i < 10; i++)
		fnd_add(&fl, FND_FIELD_UNKNOWN, FND_SEV_DEFAULT, "f", 0, (uint32_t)i + 1, 1, "x", "n%d", i);
	T_EQ_INT(fl.n, 4);
	T_EQ_INT(fl.dropped, 7);
	T_EQ_INT(fl.v[3].code, FND_FINDINGS_TRUNCATED);
	fnd_list_release(&fl);
}

static void test_output_formats(void)
{
	struct fnd_list fl;
	struct hs_buf b = HS_BUF_INIT(4096);
	json_t *j;

	fnd_list_init(&fl, 0);
	fnd_add(&fl, FND_VPC_VLAN, FND_SEV_DEFAULT, "a,b.yaml", 0, 3, 7, "spec.x", "50%% off\nnext");
	fnd_format_list(&fl, FND_FMT_TEXT, &b);
	T_EQ_STR(hs_buf_str(&b), "a,b.yaml:3:7: error [vpc-vlan] spec.x: 50% off\nnext\n");
	hs_buf_reset(&b);
	fnd_format_list(&fl, FND_FMT_GITHUB, &b);
	T_EQ_STR(hs_buf_str(&b), "::error file=a%2Cb.yaml,line=3,col=7,title=vpc-vlan::spec.x: 50%25 off%0Anext\n");
	j = fnd_to_json(&fl.v[0]);
	T_EQ_STR(json_string_value(json_object_get(j, "code")), "vpc-vlan");
	T_EQ_INT(json_integer_value(json_object_get(j, "line")), 3);
	json_decref(j);
	hs_buf_release(&b);
	fnd_list_release(&fl);
	T_EQ_INT(fnd_code_lookup("vpc-vlan"), FND_VPC_VLAN);
	T_EQ_INT(fnd_code_lookup("nope"), -1);
}

/* A NetBox change: JSON in, findings with field paths out. */
static void test_validate_json_tree(void)
{
	json_error_t e;
	json_t *j = json_loads("{\"apiVersion\": \"vpc.githedgehog.com/v1beta1\", \"kind\": \"VPC\","
			       " \"metadata\": {\"name\": \"v1\"}, \"spec\": {\"subnets\":"
			       " {\"default\": {\"subnet\": \"10.0.1.0/24\", \"vlan\": 0}}}}",
			       0, &e);
	struct arena *a = arena_new();
	struct fnd_list fl;
	struct hy_node *root = hy_from_json(a, j, 0, NULL);
	struct val_res *r;

	fnd_list_init(&fl, 0);
	T_ASSERT(root);
	r = val_tree(a, root, "netbox", &fl);
	fnd_resolve_paths(&fl);
	T_EQ_INT(r->errors, 1);
	T_EQ_INT(fl.n, 1);
	T_EQ_INT(fl.v[0].code, FND_VPC_VLAN);
	T_EQ_STR(fl.v[0].path, "spec.subnets.default.vlan");
	T_EQ_INT(fl.v[0].line, 0);
	fnd_list_release(&fl);
	arena_free(a);
	json_decref(j);
}

const struct unit_test unit_tests[] = {
	UNIT(test_lab_wiring_is_clean),
	UNIT(test_docs_sample_gateway_unmanaged),
	UNIT(test_every_corpus_file_loads),
	UNIT(test_partial_refs_are_warnings),
	UNIT(test_default_namespaces_resolve),
	UNIT(test_old_api_version_warns),
	UNIT(test_name_rules),
	UNIT(test_vpc_name_length),
	UNIT(test_doc_facts),
	UNIT(test_layout_classes),
	UNIT(test_kind_catalog),
	UNIT(test_findings_cap),
	UNIT(test_output_formats),
	UNIT(test_validate_json_tree),
	{ NULL, NULL },
};
