/* t-merge.c: three-way merge of resources: clean merges, conflicts and their paths, limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/err.h"
#include "sync/merge.h"
#include "tests/unit/unit.h"

/* JSON text to a new value; NULL stays NULL (absent). */
static json_t *J(const char *s)
{
	json_t *v;
	json_error_t e;

	if (!s)
		return NULL;
	v = json_loads(s, JSON_DECODE_ANY, &e);
	if (!v)
		unit_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", e.text, s);
	return v;
}

/* The compact text of v (insertion order kept), "absent" for NULL; new. */
static char *text(const json_t *v)
{
	if (!v)
		return strdup("absent");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Merge the three texts; check the return, the merged text (NULL: absent)
 * and the conflict paths (a JSON array text). */
static void check(int line, const char *b, const char *o, const char *t, int want_rc,
		  const char *want_out, const char *want_conflicts)
{
	json_t *jb = J(b), *jo = J(o), *jt = J(t), *out = NULL, *conf = json_array();
	json_t *wout = J(want_out), *wconf = J(want_conflicts);
	char *got_out = NULL, *got_conf = NULL, *w = NULL;
	int rc = merge3(jb, jo, jt, &out, conf);

	got_out = text(out);
	got_conf = text(conf);
	if (rc != want_rc) {
		printf("#   line %d: rc %d, want %d; conflicts %s\n", line, rc, want_rc, got_conf);
		goto fail;
	}
	if (want_out) {
		w = text(wout);
		/* the text, so that key order counts too */
		if (strcmp(got_out, w)) {
			printf("#   line %d: merged %s\n#   want %s\n", line, got_out, w);
			goto fail;
		}
	} else if (!want_rc && out) {
		printf("#   line %d: merged %s, want absent\n", line, got_out);
		goto fail;
	}
	if (want_conflicts && !json_equal(conf, wconf)) {
		printf("#   line %d: conflicts %s, want %s\n", line, got_conf, want_conflicts);
		goto fail;
	}
	/* the inputs are untouched */
	{
		json_t *b2 = J(b), *o2 = J(o), *t2 = J(t);
		int same = (!b2 || json_equal(b2, jb)) && (!o2 || json_equal(o2, jo)) &&
			   (!t2 || json_equal(t2, jt));

		json_decref(b2);
		json_decref(o2);
		json_decref(t2);
		if (!same) {
			printf("#   line %d: an input changed\n", line);
			goto fail;
		}
	}
	free(got_out);
	free(got_conf);
	free(w);
	json_decref(jb);
	json_decref(jo);
	json_decref(jt);
	json_decref(out);
	json_decref(conf);
	json_decref(wout);
	json_decref(wconf);
	return;
fail:
	free(got_out);
	free(got_conf);
	free(w);
	json_decref(jb);
	json_decref(jo);
	json_decref(jt);
	json_decref(out);
	json_decref(conf);
	json_decref(wout);
	json_decref(wconf);
	unit_fail(__FILE__, line, "merge differs");
}

#define CHECK(b, o, t, rc, out, conf) check(__LINE__, b, o, t, rc, out, conf)

#define VPC_HEAD "\"apiVersion\":\"vpc.githedgehog.com/v1beta1\",\"kind\":\"VPC\"," \
	"\"metadata\":{\"name\":\"vpc-1\",\"namespace\":\"default\"},"

static const char vpc_base[] = "{" VPC_HEAD "\"spec\":{\"ipv4Namespace\":\"default\","
	"\"vlanNamespace\":\"default\",\"subnets\":{"
	"\"subnet-1\":{\"subnet\":\"10.0.1.0/24\",\"vlan\":1001},"
	"\"subnet-2\":{\"subnet\":\"10.0.2.0/24\",\"vlan\":1002}}}}";

static void test_identical(void)
{
	CHECK(vpc_base, vpc_base, vpc_base, 0, vpc_base, "[]");
	/* and all three scalars */
	CHECK("1", "1", "1", 0, "1", "[]");
	CHECK("null", "null", "null", 0, "null", "[]");
}

static const char vpc_git[] = "{" VPC_HEAD "\"spec\":{\"ipv4Namespace\":\"default\","
	"\"vlanNamespace\":\"default\",\"subnets\":{"
	"\"subnet-1\":{\"subnet\":\"10.0.1.0/24\",\"vlan\":1101},"
	"\"subnet-2\":{\"subnet\":\"10.0.2.0/24\",\"vlan\":1002}}}}";

static const char vpc_nb[] = "{" VPC_HEAD "\"spec\":{\"ipv4Namespace\":\"default\","
	"\"vlanNamespace\":\"default\",\"subnets\":{"
	"\"subnet-1\":{\"subnet\":\"10.0.1.0/24\",\"vlan\":1001},"
	"\"subnet-2\":{\"subnet\":\"10.0.2.0/24\",\"vlan\":1202,\"dhcp\":{\"enable\":true}}}}}";

static void test_only_git_changed(void)
{
	CHECK(vpc_base, vpc_git, vpc_base, 0, vpc_git, "[]");
}

static void test_only_netbox_changed(void)
{
	CHECK(vpc_base, vpc_base, vpc_nb, 0, vpc_nb, "[]");
}

static void test_different_subnets(void)
{
	static const char want[] = "{" VPC_HEAD "\"spec\":{\"ipv4Namespace\":\"default\","
		"\"vlanNamespace\":\"default\",\"subnets\":{"
		"\"subnet-1\":{\"subnet\":\"10.0.1.0/24\",\"vlan\":1101},"
		"\"subnet-2\":{\"subnet\":\"10.0.2.0/24\",\"vlan\":1202,\"dhcp\":{\"enable\":true}}}}}";

	CHECK(vpc_base, vpc_git, vpc_nb, 0, want, "[]");
	/* the other way round: the same fields, the same result */
	CHECK(vpc_base, vpc_nb, vpc_git, 0, want, "[]");
	/* each side adds its own subnet: both kept, ours' first */
	CHECK("{\"spec\":{\"subnets\":{\"a\":{\"vlan\":1}}}}",
	      "{\"spec\":{\"subnets\":{\"a\":{\"vlan\":1},\"git\":{\"vlan\":2}}}}",
	      "{\"spec\":{\"subnets\":{\"nb\":{\"vlan\":3},\"a\":{\"vlan\":1}}}}", 0,
	      "{\"spec\":{\"subnets\":{\"a\":{\"vlan\":1},\"git\":{\"vlan\":2},\"nb\":{\"vlan\":3}}}}",
	      "[]");
}

static void test_same_field_differently(void)
{
	static const char nb[] = "{" VPC_HEAD "\"spec\":{\"ipv4Namespace\":\"default\","
		"\"vlanNamespace\":\"default\",\"subnets\":{"
		"\"subnet-1\":{\"subnet\":\"10.0.1.0/24\",\"vlan\":1301},"
		"\"subnet-2\":{\"subnet\":\"10.0.2.0/24\",\"vlan\":1202}}}}";
	static const char best[] = "{" VPC_HEAD "\"spec\":{\"ipv4Namespace\":\"default\","
		"\"vlanNamespace\":\"default\",\"subnets\":{"
		"\"subnet-1\":{\"subnet\":\"10.0.1.0/24\",\"vlan\":1101},"
		"\"subnet-2\":{\"subnet\":\"10.0.2.0/24\",\"vlan\":1202}}}}";

	/* subnet-1.vlan conflicts; subnet-2.vlan (only NetBox) still merges */
	CHECK(vpc_base, vpc_git, nb, 1, best, "[\"spec.subnets.subnet-1.vlan\"]");
	/* two conflicts, in document order */
	CHECK("{\"a\":1,\"b\":{\"c\":1}}", "{\"a\":2,\"b\":{\"c\":2}}", "{\"a\":3,\"b\":{\"c\":3}}", 2,
	      "{\"a\":2,\"b\":{\"c\":2}}", "[\"a\",\"b.c\"]");
	/* an object against a scalar */
	CHECK("{\"s\":{\"x\":1}}", "{\"s\":{\"x\":2}}", "{\"s\":\"text\"}", 1, "{\"s\":{\"x\":2}}",
	      "[\"s\"]");
	/* a changed type at the root */
	CHECK("{\"a\":1}", "[1]", "{\"a\":2}", 1, "[1]", "[\".\"]");
}

static void test_same_field_identically(void)
{
	CHECK(vpc_base, vpc_git, vpc_git, 0, vpc_git, "[]");
	CHECK("{\"a\":1,\"b\":1}", "{\"a\":2,\"b\":1}", "{\"a\":2,\"b\":3}", 0, "{\"a\":2,\"b\":3}",
	      "[]");
}

static void test_netbox_deletes_key(void)
{
	CHECK("{\"spec\":{\"a\":1,\"b\":2},\"x\":1}", "{\"spec\":{\"a\":1,\"b\":2},\"x\":2}",
	      "{\"spec\":{\"a\":1},\"x\":1}", 0, "{\"spec\":{\"a\":1},\"x\":2}", "[]");
	/* deleted on one side, changed on the other: a conflict, ours kept */
	CHECK("{\"spec\":{\"a\":1,\"b\":2}}", "{\"spec\":{\"a\":1,\"b\":3}}", "{\"spec\":{\"a\":1}}",
	      1, "{\"spec\":{\"a\":1,\"b\":3}}", "[\"spec.b\"]");
	CHECK("{\"spec\":{\"a\":1,\"b\":2}}", "{\"spec\":{\"a\":1}}", "{\"spec\":{\"a\":1,\"b\":3}}",
	      1, "{\"spec\":{\"a\":1}}", "[\"spec.b\"]");
	/* both delete different keys */
	CHECK("{\"a\":1,\"b\":2,\"c\":3}", "{\"a\":1,\"c\":3}", "{\"a\":1,\"b\":2}", 0, "{\"a\":1}",
	      "[]");
}

static void test_resource_deleted(void)
{
	/* Git deletes, NetBox modifies: a root conflict */
	CHECK(vpc_base, NULL, vpc_nb, 1, NULL, "[\".\"]");
	/* and the other way round; best effort keeps ours */
	CHECK(vpc_base, vpc_git, NULL, 1, vpc_git, "[\".\"]");
	/* deleted on one side, unchanged on the other: deleted */
	CHECK(vpc_base, NULL, vpc_base, 0, NULL, "[]");
	CHECK(vpc_base, vpc_base, NULL, 0, NULL, "[]");
}

static void test_both_delete(void)
{
	CHECK(vpc_base, NULL, NULL, 0, NULL, "[]");
	CHECK(NULL, NULL, NULL, 0, NULL, "[]");
}

static void test_base_absent(void)
{
	/* created on both sides alike */
	CHECK(NULL, vpc_base, vpc_base, 0, vpc_base, "[]");
	/* created on one side only */
	CHECK(NULL, NULL, vpc_nb, 0, vpc_nb, "[]");
	CHECK(NULL, vpc_git, NULL, 0, vpc_git, "[]");
	/* created on both sides differently: a conflict per differing field;
	 * fields only one side has are merged */
	CHECK(NULL, "{\"kind\":\"VPC\",\"spec\":{\"vlan\":1,\"mode\":\"l2\",\"g\":1}}",
	      "{\"kind\":\"VPC\",\"spec\":{\"vlan\":2,\"mode\":\"l3\",\"n\":1}}", 2,
	      "{\"kind\":\"VPC\",\"spec\":{\"vlan\":1,\"mode\":\"l2\",\"g\":1,\"n\":1}}",
	      "[\"spec.vlan\",\"spec.mode\"]");
	/* a base that is not an object counts as an empty one */
	CHECK("5", "{\"a\":1,\"b\":1}", "{\"a\":1,\"c\":1}", 0, "{\"a\":1,\"b\":1,\"c\":1}", "[]");
}

static void test_whole_array_conflict(void)
{
	/* VPC spec.permit is a list of lists: a whole value */
	CHECK("{\"spec\":{\"permit\":[[\"s1\",\"s2\"]]}}",
	      "{\"spec\":{\"permit\":[[\"s1\",\"s2\"],[\"s3\"]]}}",
	      "{\"spec\":{\"permit\":[[\"s1\"]]}}", 1,
	      "{\"spec\":{\"permit\":[[\"s1\",\"s2\"],[\"s3\"]]}}", "[\"spec.permit\"]");
	/* one side only: taken */
	CHECK("{\"l\":[1,2]}", "{\"l\":[1,2]}", "{\"l\":[2,1]}", 0, "{\"l\":[2,1]}", "[]");
	/* objects with a name, but a duplicate: not keyed */
	CHECK("{\"l\":[]}", "{\"l\":[{\"name\":\"a\",\"v\":1},{\"name\":\"a\",\"v\":2}]}",
	      "{\"l\":[{\"name\":\"b\"}]}", 1, NULL, "[\"l\"]");
	/* a name that is not a string: not keyed */
	CHECK("{\"l\":[]}", "{\"l\":[{\"name\":1}]}", "{\"l\":[{\"name\":\"b\"}]}", 1, NULL,
	      "[\"l\"]");
	/* keyed sides over an unkeyed base array: whole values */
	CHECK("{\"l\":[1]}", "{\"l\":[{\"name\":\"a\"}]}", "{\"l\":[{\"name\":\"b\"}]}", 1, NULL,
	      "[\"l\"]");
}

static void test_keyed_array(void)
{
	static const char base[] = "{\"spec\":{\"links\":["
		"{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"25G\"},"
		"{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"}]}}";

	/* each side adds an element: ours' order, then theirs' additions */
	CHECK(base,
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"25G\"},"
	      "{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"},{\"name\":\"g1\"}]}}",
	      "{\"spec\":{\"links\":[{\"name\":\"n1\"},{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"25G\"},"
	      "{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"},{\"name\":\"n2\"}]}}", 0,
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"25G\"},"
	      "{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"},{\"name\":\"g1\"},"
	      "{\"name\":\"n1\"},{\"name\":\"n2\"}]}}", "[]");
	/* the same element changed on different fields; one deleted by NetBox */
	CHECK(base,
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/9\",\"speed\":\"25G\"},"
	      "{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"}]}}",
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"100G\"}]}}", 0,
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/9\",\"speed\":\"100G\"}]}}", "[]");
	/* the same field: a conflict at the element's path */
	CHECK(base,
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/9\",\"speed\":\"25G\"},"
	      "{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"}]}}",
	      "{\"spec\":{\"links\":[{\"name\":\"l2\",\"port\":\"E1/2\",\"speed\":\"25G\"},"
	      "{\"name\":\"l1\",\"port\":\"E1/8\",\"speed\":\"25G\"}]}}", 1, NULL,
	      "[\"spec.links[l1].port\"]");
	/* deleted by Git, changed by NetBox */
	CHECK(base, "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"25G\"}]}}",
	      "{\"spec\":{\"links\":[{\"name\":\"l1\",\"port\":\"E1/1\",\"speed\":\"25G\"},"
	      "{\"name\":\"l2\",\"port\":\"E1/7\",\"speed\":\"25G\"}]}}", 1, NULL,
	      "[\"spec.links[l2]\"]");
	/* both add the same name differently, no base */
	CHECK(NULL, "{\"l\":[{\"name\":\"x\",\"v\":1}]}", "{\"l\":[{\"name\":\"x\",\"v\":2}]}", 1,
	      "{\"l\":[{\"name\":\"x\",\"v\":1}]}", "[\"l[x].v\"]");
}

/* n objects nested: {"a":{"a":...{"a":1}}} */
static json_t *nested(int n, int leaf)
{
	json_t *v = json_integer(leaf);

	for (int i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "a", v);
		v = o;
	}
	return v;
}

static void test_too_deep(void)
{
	json_t *b = nested(MERGE_MAX_DEPTH, 0), *o = nested(MERGE_MAX_DEPTH, 1),
	       *t = nested(MERGE_MAX_DEPTH, 2), *conf = json_array(), *out = NULL;
	json_t *deep = nested(MERGE_MAX_DEPTH + 1, 0), *arr = json_array();

	/* 64 levels: merged, the conflict at the bottom */
	T_EQ_INT(merge3(b, o, t, &out, conf), 1);
	T_EQ_INT(json_array_size(conf), 1);
	T_ASSERT(strlen(json_string_value(json_array_get(conf, 0))) == 64 * 2 - 1);
	json_decref(out);
	json_array_clear(conf);
	/* 65: too deep, whichever side holds it, even when nothing changed */
	T_EQ_INT(merge3(deep, o, t, &out, conf), HS_ETOOBIG);
	T_ASSERT(!out);
	T_EQ_INT(merge3(b, deep, t, &out, conf), HS_ETOOBIG);
	T_EQ_INT(merge3(b, o, deep, &out, conf), HS_ETOOBIG);
	T_EQ_INT(merge3(deep, deep, deep, &out, conf), HS_ETOOBIG);
	T_EQ_INT(json_array_size(conf), 0);
	/* arrays count too */
	json_array_append_new(arr, nested(MERGE_MAX_DEPTH, 0));
	T_EQ_INT(merge3(NULL, arr, NULL, &out, conf), HS_ETOOBIG);
	json_decref(arr);
	arr = json_array();
	json_array_append_new(arr, nested(MERGE_MAX_DEPTH - 1, 0));
	T_EQ_INT(merge3(NULL, arr, NULL, &out, conf), 0);
	T_ASSERT(out == arr);
	json_decref(out);
	json_decref(arr);
	json_decref(deep);
	json_decref(b);
	json_decref(o);
	json_decref(t);
	json_decref(conf);
}

static void test_path_quoting(void)
{
	static const char base[] = "{\"metadata\":{\"name\":\"v\",\"labels\":"
		"{\"app.kubernetes.io/name\":\"x\",\"team\":\"a\"}}}";

	CHECK(base,
	      "{\"metadata\":{\"name\":\"v\",\"labels\":{\"app.kubernetes.io/name\":\"y\",\"team\":\"b\"}}}",
	      "{\"metadata\":{\"name\":\"v\",\"labels\":{\"app.kubernetes.io/name\":\"z\",\"team\":\"c\"}}}",
	      2, NULL, "[\"metadata.labels[\\\"app.kubernetes.io/name\\\"]\",\"metadata.labels.team\"]");
	/* empty keys, brackets, quotes, control characters; at the root too */
	CHECK("{}", "{\"\":1,\"a[0]\":1,\"q\\\"\":1,\"t\\tb\":1,\"x.y\":{\"z\":1}}",
	      "{\"\":2,\"a[0]\":2,\"q\\\"\":2,\"t\\tb\":2,\"x.y\":{\"z\":2}}", 5, NULL,
	      "[\"[\\\"\\\"]\",\"[\\\"a[0]\\\"]\",\"[\\\"q\\\\\\\"\\\"]\",\"[\\\"t\\\\u0009b\\\"]\","
	      "\"[\\\"x.y\\\"].z\"]");
	/* element names are quoted the same way */
	CHECK(NULL, "{\"l\":[{\"name\":\"a.b\",\"v\":1},{\"name\":\"\",\"v\":1}]}",
	      "{\"l\":[{\"name\":\"a.b\",\"v\":2},{\"name\":\"\",\"v\":2}]}", 2, NULL,
	      "[\"l[\\\"a.b\\\"].v\",\"l[\\\"\\\"].v\"]");
	/* other characters (UTF-8, '/', ':', '-') are written as they are */
	CHECK("{}", "{\"k\\u00e9/x:y-z\":1}", "{\"k\\u00e9/x:y-z\":2}", 1, NULL,
	      "[\"k\\u00e9/x:y-z\"]");
}

static void test_arguments(void)
{
	json_t *v = J("{\"a\":1}"), *w = J("{\"a\":2}"), *out = v, *notarr = json_object();

	T_EQ_INT(merge3(v, v, v, NULL, NULL), HS_EINVAL);
	T_EQ_INT(merge3(v, v, w, &out, notarr), HS_EINVAL);
	T_ASSERT(!out);
	/* conflicts may be NULL: only the count */
	T_EQ_INT(merge3(v, w, v, &out, NULL), 0);
	T_ASSERT(json_equal(out, w));
	json_decref(out);
	T_EQ_INT(merge3(NULL, v, w, &out, NULL), 1);
	json_decref(out);
	json_decref(v);
	json_decref(w);
	json_decref(notarr);
}

const struct unit_test unit_tests[] = {
	UNIT(test_identical),
	UNIT(test_only_git_changed),
	UNIT(test_only_netbox_changed),
	UNIT(test_different_subnets),
	UNIT(test_same_field_differently),
	UNIT(test_same_field_identically),
	UNIT(test_netbox_deletes_key),
	UNIT(test_resource_deleted),
	UNIT(test_both_delete),
	UNIT(test_base_absent),
	UNIT(test_whole_array_conflict),
	UNIT(test_keyed_array),
	UNIT(test_too_deep),
	UNIT(test_path_quoting),
	UNIT(test_arguments),
	{ NULL, NULL },
};
