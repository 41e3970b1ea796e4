/* t-netbox.c: NetBox webhook bodies of each version read as changes; hostile bodies refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/err.h"
#include "sync/kinds.h"
#include "sync/netbox.h"
#include "tests/unit/unit.h"

/* JSON written with ' for " (the tests hold no apostrophes); new. */
static json_t *J(const char *s)
{
	char *d = strdup(s);
	json_t *v;
	json_error_t e;

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(d, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v)
		unit_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", e.text, d);
	free(d);
	return v;
}

/* nb_parse of body (the ' form); err gets the message. */
static int parse(const char *body, const char *hint, struct nb_change *c, char *err)
{
	json_t *b = J(body);
	int rc;

	err[0] = '\0';
	rc = nb_parse(b, hint, c, err);
	json_decref(b);
	return rc;
}

/* 1 when v is the JSON of want (the ' form); prints both when not. */
static int json_is(const json_t *v, const char *want)
{
	json_t *w = J(want);
	int ok = v && json_equal(v, w);

	if (!ok) {
		char *got = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		char *exp = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);

		printf("#   got  %s\n#   want %s\n", got ? got : "NULL", exp);
		free(got);
		free(exp);
	}
	json_decref(w);
	return ok;
}

/* Check a refused body: HS_EINVAL, the message starting with msg, c empty. */
static void refused(int line, const char *body, const char *hint, const char *msg)
{
	struct nb_change c;
	char err[HS_ERRBUF];
	int rc = parse(body, hint, &c, err);

	if (rc != HS_EINVAL)
		unit_fail(__FILE__, line, "rc %d, want HS_EINVAL for %s", rc, body);
	if (strncmp(err, msg, strlen(msg)))
		unit_fail(__FILE__, line, "err \"%s\", want \"%s...\"", err, msg);
	if (c.action != NB_IGNORE || c.kind || c.user || c.fabric || c.name || c.resource || c.base)
		unit_fail(__FILE__, line, "the change is not empty after HS_EINVAL");
	nb_change_release(&c);
}

#define REFUSED(body, hint, msg) refused(__LINE__, body, hint, msg)

/* Check an ignored body: HS_OK, NB_IGNORE, reason holding why. */
static void ignored(int line, const char *body, const char *why)
{
	struct nb_change c;
	char err[HS_ERRBUF];
	int rc = parse(body, "f1", &c, err);

	if (rc != HS_OK)
		unit_fail(__FILE__, line, "rc %d (%s), want HS_OK", rc, err);
	if (c.action != NB_IGNORE || c.kind || c.user || c.resource)
		unit_fail(__FILE__, line, "not ignored");
	if (!strstr(c.reason, why))
		unit_fail(__FILE__, line, "reason \"%s\", want \"...%s...\"", c.reason, why);
	nb_change_release(&c);
}

#define IGNORED(body, why) ignored(__LINE__, body, why)

#define VPC_DATA(vlan) "{'id':7,'url':'http://nb/api/plugins/hedgehog/vpcs/7/','display':'vpc-1'," \
	"'name':'vpc-1','namespace':'default','fabric':{'id':1,'url':'http://nb/api/plugins/hedgehog/fabrics/1/'," \
	"'display':'lab','name':'lab'},'spec':{'ipv4Namespace':'default','vlanNamespace':'default'," \
	"'subnets':{'subnet-1':{'subnet':'10.0.1.0/24','vlan':" vlan "}}},'labels':{},'annotations':{}," \
	"'tags':[],'custom_fields':{},'created':'2025-01-02T03:04:05Z','last_updated':'2025-01-02T03:04:05Z'}"

#define VPC_SNAP(vlan) "{'name':'vpc-1','namespace':'default','fabric':1,'spec':{'ipv4Namespace':'default'," \
	"'vlanNamespace':'default','subnets':{'subnet-1':{'subnet':'10.0.1.0/24','vlan':" vlan "}}}," \
	"'labels':{},'annotations':{},'custom_fields':{},'tags':[]}"

#define VPC_RES(vlan) "{'apiVersion':'vpc.githedgehog.com/v1beta1','kind':'VPC'," \
	"'metadata':{'name':'vpc-1','namespace':'default'},'spec':{'ipv4Namespace':'default'," \
	"'vlanNamespace':'default','subnets':{'subnet-1':{'subnet':'10.0.1.0/24','vlan':" vlan "}}}}"

static void test_v37_created(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	T_EQ_INT(parse("{'event':'created','timestamp':'2025-01-02T03:04:05.123456+00:00','model':'vpc',"
		       "'username':'alice','request_id':'0b5c6c1e-2c55-4d52-9a1f-1b2c3d4e5f60','data':"
		       VPC_DATA("1001") ",'snapshots':{'prechange':null,'postchange':" VPC_SNAP("1001") "}}",
		       NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_APPLY);
	T_ASSERT(c.kind == kind_by_id(KIND_VPC));
	T_EQ_STR(c.user, "alice");
	T_EQ_STR(c.fabric, "lab");
	T_EQ_STR(c.name, "vpc-1");
	T_ASSERT(json_is(c.resource, VPC_RES("1001")));
	T_ASSERT(!c.base);
	T_EQ_STR(c.reason, "");
	/* key order: apiVersion, kind, metadata, spec */
	{
		static const char head[] = "{\"apiVersion\":\"vpc.githedgehog.com/v1beta1\","
			"\"kind\":\"VPC\",\"metadata\":{\"name\":\"vpc-1\",\"namespace\":\"default\"},"
			"\"spec\":";
		char *s = json_dumps(c.resource, JSON_COMPACT);

		T_ASSERT(!strncmp(s, head, strlen(head)));
		free(s);
	}
	nb_change_release(&c);
	/* idempotent, and NULL */
	nb_change_release(&c);
	nb_change_release(NULL);
	T_ASSERT(!c.resource && !c.user);
}

static void test_v44_updated(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	T_EQ_INT(parse("{'event':'updated','timestamp':'2025-06-01T00:00:00+00:00',"
		       "'object_type':'netbox_hedgehog.vpc','model':'vpc','username':'bob',"
		       "'request_id':'1b5c6c1e-2c55-4d52-9a1f-1b2c3d4e5f60','data':" VPC_DATA("1002") ","
		       "'snapshots':{'prechange':" VPC_SNAP("1001") ",'postchange':" VPC_SNAP("1002") "}}",
		       NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_APPLY);
	T_ASSERT(c.kind == kind_by_id(KIND_VPC));
	T_EQ_STR(c.user, "bob");
	T_EQ_STR(c.fabric, "lab");
	T_ASSERT(json_is(c.resource, VPC_RES("1002")));
	/* the merge base: NetBox's version before the edit */
	T_ASSERT(json_is(c.base, VPC_RES("1001")));
	nb_change_release(&c);
}

static void test_v45_v46(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	/* 4.5: no model */
	T_EQ_INT(parse("{'event':'created','timestamp':'t','object_type':'netbox_hedgehog.vpc',"
		       "'username':'carol','request_id':'r','data':" VPC_DATA("1001") "}",
		       NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_APPLY);
	T_EQ_STR(c.user, "carol");
	nb_change_release(&c);
	/* 4.6: request.user before username */
	T_EQ_INT(parse("{'event':'updated','timestamp':'t','object_type':'netbox_hedgehog.vpc',"
		       "'username':'carol','request_id':'r','request':{'id':'r','method':'PATCH',"
		       "'path':'/api/plugins/hedgehog/vpcs/7/','user':'dave'},'data':" VPC_DATA("1001") "}",
		       NULL, &c, err), HS_OK);
	T_EQ_STR(c.user, "dave");
	nb_change_release(&c);
}

static void test_v47_deleted(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	T_EQ_INT(parse("{'event':'deleted','timestamp':'2026-01-01T00:00:00+00:00',"
		       "'object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1001") ","
		       "'request':{'id':'r','method':'DELETE','path':'/plugins/hedgehog/vpcs/7/delete/',"
		       "'user':'erin'},'snapshots':{'prechange':" VPC_SNAP("1001") ",'postchange':null},"
		       "'context':{}}", NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_DELETE);
	T_ASSERT(c.kind == kind_by_id(KIND_VPC));
	T_EQ_STR(c.user, "erin");
	T_EQ_STR(c.name, "vpc-1");
	T_ASSERT(json_is(c.resource, VPC_RES("1001")));
	T_ASSERT(json_is(c.base, VPC_RES("1001")));
	nb_change_release(&c);
	/* 4.7 created and updated */
	T_EQ_INT(parse("{'event':'created','timestamp':'t','object_type':'netbox_hedgehog.vpc',"
		       "'data':" VPC_DATA("1001") ",'request':{'user':'erin'}}", NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_APPLY);
	T_EQ_STR(c.user, "erin");
	nb_change_release(&c);
	T_EQ_INT(parse("{'event':'updated','timestamp':'t','object_type':'netbox_hedgehog.vpc',"
		       "'data':" VPC_DATA("1003") ",'request':{'user':'erin'},'snapshots':{'prechange':"
		       VPC_SNAP("1001") ",'postchange':" VPC_SNAP("1003") "}}", NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_APPLY);
	T_ASSERT(json_is(c.resource, VPC_RES("1003")));
	T_ASSERT(json_is(c.base, VPC_RES("1001")));
	nb_change_release(&c);
	/* no request at all (a background job): the user is netbox */
	T_EQ_INT(parse("{'event':'deleted','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		       "}", NULL, &c, err), HS_OK);
	T_EQ_STR(c.user, "netbox");
	nb_change_release(&c);
	/* a serialized user object, and an empty user */
	T_EQ_INT(parse("{'event':'deleted','object_type':'netbox_hedgehog.vpc','request':{'user':"
		       "{'id':3,'username':'frank'}},'data':" VPC_DATA("1") "}", NULL, &c, err), HS_OK);
	T_EQ_STR(c.user, "frank");
	nb_change_release(&c);
	T_EQ_INT(parse("{'event':'deleted','object_type':'netbox_hedgehog.vpc','username':'',"
		       "'data':" VPC_DATA("1") "}", NULL, &c, err), HS_OK);
	T_EQ_STR(c.user, "netbox");
	nb_change_release(&c);
}

static void test_connection(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	T_EQ_INT(parse("{'event':'created','timestamp':'t','object_type':'netbox_hedgehog.connection',"
		       "'model':'connection','username':'admin','request_id':'r','data':{'id':12,"
		       "'name':'server-01--mclag--leaf-01--leaf-02','namespace':'default','fabric':"
		       "{'id':1,'name':'lab','display':'lab','url':'u'},'spec':{'mclag':{'links':["
		       "{'server':{'port':'server-01/enp2s1'},'switch':{'port':'leaf-01/E1/1'}},"
		       "{'server':{'port':'server-01/enp2s2'},'switch':{'port':'leaf-02/E1/1'}}]}},"
		       "'labels':{'fabric.githedgehog.com/rack':'r1'}}}", NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_APPLY);
	T_ASSERT(c.kind == kind_by_id(KIND_CONNECTION));
	T_ASSERT(json_is(c.resource, "{'apiVersion':'wiring.githedgehog.com/v1beta1','kind':'Connection',"
			 "'metadata':{'name':'server-01--mclag--leaf-01--leaf-02','namespace':'default',"
			 "'labels':{'fabric.githedgehog.com/rack':'r1'}},'spec':{'mclag':{'links':["
			 "{'server':{'port':'server-01/enp2s1'},'switch':{'port':'leaf-01/E1/1'}},"
			 "{'server':{'port':'server-01/enp2s2'},'switch':{'port':'leaf-02/E1/1'}}]}}}"));
	nb_change_release(&c);
}

static void test_every_managed_model(void)
{
	static const char *const models[] = { "vpc", "vpcattachment", "vpcpeering", "ipv4namespace",
					      "external", "externalattachment", "externalpeering",
					      "connection", "server", "switch", "switchgroup",
					      "vlannamespace" };

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		struct nb_change c;
		char err[HS_ERRBUF], body[512];

		/* the <= 4.3 shape (model only) and the 4.5 shape */
		snprintf(body, sizeof(body), "{'event':'created','model':'%s','data':{'name':'x',"
			 "'fabric':'lab','spec':{}}}", models[i]);
		T_EQ_INT(parse(body, NULL, &c, err), HS_OK);
		T_ASSERT(c.kind == kind_by_id((enum kind_id)i));
		nb_change_release(&c);
		snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.%s',"
			 "'data':{'name':'x','fabric':'lab'}}", models[i]);
		T_EQ_INT(parse(body, NULL, &c, err), HS_OK);
		T_ASSERT(c.kind == kind_by_id((enum kind_id)i));
		/* spec {} when missing */
		T_ASSERT(json_is(json_object_get(c.resource, "spec"), "{}"));
		nb_change_release(&c);
	}
}

static void test_fabric(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	/* an id with the URL's hint */
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':3,'spec':{}}}", "from-url", &c, err), HS_OK);
	T_EQ_STR(c.fabric, "from-url");
	nb_change_release(&c);
	/* a name */
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':'named','spec':{}}}", NULL, &c, err), HS_OK);
	T_EQ_STR(c.fabric, "named");
	nb_change_release(&c);
	/* the body's name wins over the hint */
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':{'id':1,'name':'lab'},'spec':{}}}", "other", &c, err), HS_OK);
	T_EQ_STR(c.fabric, "lab");
	nb_change_release(&c);
	/* a nested object without a name, or null: the hint */
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':{'id':1,'url':'u'},'spec':{}}}", "hint", &c, err), HS_OK);
	T_EQ_STR(c.fabric, "hint");
	nb_change_release(&c);
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':null}}", "hint", &c, err), HS_OK);
	T_EQ_STR(c.fabric, "hint");
	nb_change_release(&c);
	/* an id and no hint: no fabric known */
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':3,'spec':{}}}", NULL, "data.fabric: names no fabric");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v'}}", NULL,
		"data.fabric: names no fabric");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':{'id':3}}}", NULL, "data.fabric: names no fabric");
	/* wrong types and sizes */
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':{'id':3,'name':5}}}", "hint", "data.fabric.name: expected a string");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':[1]}}", "hint", "data.fabric: expected an object, an id or a name");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':1.5}}", "hint", "data.fabric: expected an object, an id or a name");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}", NULL,
		"data.fabric: longer than 63 bytes");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':'../x'}}", NULL, "data.fabric: may not hold");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':''}}", "hint", "data.fabric: empty");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':3}}", "a/b", "fabric (from the webhook URL): may not hold");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		"'fabric':3}}", "\xff", "fabric (from the webhook URL): not UTF-8");
	/* 63 bytes: fine */
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}",
		       NULL, &c, err), HS_OK);
	T_EQ_INT(strlen(c.fabric), 63);
	nb_change_release(&c);
}

static void test_ignored(void)
{
	IGNORED("{'event':'created','timestamp':'t','object_type':'dcim.site','model':'site',"
		"'username':'u','request_id':'r','data':{'id':1,'name':'Site 1','slug':'site-1'}}",
		"dcim.site is not a NetBox Hedgehog object");
	/* another app, even with a Hedgehog-like model name */
	IGNORED("{'event':'created','object_type':'myplugin.vpc','data':{}}",
		"myplugin.vpc is not a NetBox Hedgehog object");
	IGNORED("{'event':'updated','object_type':'netbox_hedgehog.hedgehogfabric',"
		"'model':'hedgehogfabric','data':{'id':1,'name':'lab'}}",
		"netbox_hedgehog.hedgehogfabric is not a kind hedgesync manages");
	IGNORED("{'event':'updated','object_type':'netbox_hedgehog.topologyplan','data':{}}",
		"netbox_hedgehog.topologyplan is not a kind hedgesync manages");
	/* Hedgehog kinds hedgesync knows but does not manage */
	IGNORED("{'event':'updated','object_type':'netbox_hedgehog.switchprofile','data':{}}",
		"netbox_hedgehog.switchprofile is not");
	/* <= 4.3: a model that is not one of ours */
	IGNORED("{'event':'created','model':'site','username':'u','data':{'name':'Site 1'}}",
		"model site is not a kind hedgesync manages");
	IGNORED("{'event':'job_started','timestamp':'t','object_type':'core.job','data':{'id':5}}",
		"event job_started is not a change");
	IGNORED("{'event':'job_ended','data':null}", "event job_ended is not a change");
	/* untrusted text in a reason is made printable */
	IGNORED("{'event':'x\\ny','object_type':'netbox_hedgehog.vpc'}", "event x?y is not");
}

static void test_templated_event_names(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	T_EQ_INT(parse("{'event':'object_deleted','object_type':'netbox_hedgehog.vpc','data':"
		       VPC_DATA("1") "}", NULL, &c, err), HS_OK);
	T_EQ_INT(c.action, NB_DELETE);
	nb_change_release(&c);
}

static void test_base(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	/* a prechange without a name (or null, or missing): no base */
	T_EQ_INT(parse("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		       ",'snapshots':{'prechange':{'id':7},'postchange':null}}", NULL, &c, err), HS_OK);
	T_ASSERT(!c.base);
	nb_change_release(&c);
	T_EQ_INT(parse("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		       ",'snapshots':null}", NULL, &c, err), HS_OK);
	T_ASSERT(!c.base);
	nb_change_release(&c);
	/* a renamed object: the base carries the old name */
	T_EQ_INT(parse("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		       ",'snapshots':{'prechange':{'name':'old','namespace':'ns1','spec':{'a':1},"
		       "'labels':{'k':'v'}}}}", NULL, &c, err), HS_OK);
	T_ASSERT(json_is(c.base, "{'apiVersion':'vpc.githedgehog.com/v1beta1','kind':'VPC',"
			 "'metadata':{'name':'old','namespace':'ns1','labels':{'k':'v'}},'spec':{'a':1}}"));
	nb_change_release(&c);
	/* a broken prechange is refused */
	REFUSED("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		",'snapshots':{'prechange':{'name':'v','spec':'x'}}}", NULL,
		"snapshots.prechange.spec: expected an object");
	REFUSED("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		",'snapshots':{'prechange':{'name':7}}}", NULL,
		"snapshots.prechange.name: expected a string");
	REFUSED("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		",'snapshots':{'prechange':[]}}", NULL, "snapshots.prechange: expected an object");
	REFUSED("{'event':'updated','object_type':'netbox_hedgehog.vpc','data':" VPC_DATA("1")
		",'snapshots':'x'}", NULL, "snapshots: expected an object");
}

static void test_labels(void)
{
	struct nb_change c;
	char err[HS_ERRBUF];

	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'namespace':'team-a','fabric':'lab','spec':{'x':1},'labels':{'app.kubernetes.io/name':"
		       "'web','tier':'1'},'annotations':{'note':'hello'}}}", NULL, &c, err), HS_OK);
	T_ASSERT(json_is(c.resource, "{'apiVersion':'vpc.githedgehog.com/v1beta1','kind':'VPC',"
			 "'metadata':{'name':'v','namespace':'team-a','labels':{'app.kubernetes.io/name':"
			 "'web','tier':'1'},'annotations':{'note':'hello'}},'spec':{'x':1}}"));
	nb_change_release(&c);
	/* empty and null maps are dropped */
	T_EQ_INT(parse("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		       "'fabric':'lab','spec':{},'labels':{},'annotations':null}}", NULL, &c, err), HS_OK);
	T_ASSERT(json_is(c.resource, "{'apiVersion':'vpc.githedgehog.com/v1beta1','kind':'VPC',"
			 "'metadata':{'name':'v','namespace':'default'},'spec':{}}"));
	nb_change_release(&c);
}

static void test_wrong_types(void)
{
	static const char h[] = "'event':'created','object_type':'netbox_hedgehog.vpc'";

	REFUSED("[]", NULL, "body: expected an object");
	REFUSED("'created'", NULL, "body: expected an object");
	REFUSED("{'object_type':'netbox_hedgehog.vpc','data':{}}", NULL, "event: missing");
	REFUSED("{'event':1,'object_type':'netbox_hedgehog.vpc','data':{}}", NULL,
		"event: expected a string");
	REFUSED("{'event':'created','data':{'name':'v','fabric':'f'}}", NULL,
		"object_type: missing (and no model)");
	REFUSED("{'event':'created','object_type':5,'data':{}}", NULL,
		"object_type: expected a string");
	REFUSED("{'event':'created','object_type':'vpc','data':{}}", NULL,
		"object_type: expected app_label.model");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.','data':{}}", NULL,
		"object_type: expected app_label.model");
	REFUSED("{'event':'created','object_type':'a.b.c','data':{}}", NULL,
		"object_type: expected app_label.model");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc\\u0000x','data':{}}", NULL,
		"object_type: holds a control character");
	REFUSED("{'event':'created','model':['vpc'],'data':{}}", NULL, "model: expected a string");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','model':'server','data':{}}",
		NULL, "model: \"server\" does not match object_type");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc'}", NULL, "data: missing");
	REFUSED("{'event':'created','object_type':'netbox_hedgehog.vpc','data':[]}", NULL,
		"data: expected an object");
	{
		char b[1024];

#define R(data, msg) do { snprintf(b, sizeof(b), "{%s,'data':%s}", h, data); \
		REFUSED(b, "lab", msg); } while (0)
		R("{'fabric':'lab'}", "data.name: expected a string");
		R("{'name':7}", "data.name: expected a string");
		R("{'name':null}", "data.name: expected a string");
		R("{'name':''}", "data.name: empty");
		R("{'name':'a/b'}", "data.name: may not hold spaces, '/' or '\\'");
		R("{'name':'a b'}", "data.name: may not hold");
		R("{'name':'..'}", "data.name: may not be \".\" or \"..\"");
		R("{'name':'a\\u0000b'}", "data.name: holds a control character");
		R("{'name':'a\\nb'}", "data.name: holds a control character");
		R("{'name':'v','namespace':1}", "data.namespace: expected a string");
		R("{'name':'v','spec':'x'}", "data.spec: expected an object");
		R("{'name':'v','spec':[]}", "data.spec: expected an object");
		R("{'name':'v','labels':['a']}", "data.labels: expected an object");
		R("{'name':'v','labels':{'a':1}}", "data.labels.a: expected a string");
		R("{'name':'v','annotations':{'n':{'x':1}}}", "data.annotations.n: expected a string");
#undef R
		snprintf(b, sizeof(b), "{%s,'request':'x','data':{'name':'v'}}", h);
		REFUSED(b, "lab", "request: expected an object");
		snprintf(b, sizeof(b), "{%s,'request':{'user':5},'data':{'name':'v'}}", h);
		REFUSED(b, "lab", "request.user: expected a string");
		snprintf(b, sizeof(b), "{%s,'request':{'user':{'username':5}},'data':{'name':'v'}}", h);
		REFUSED(b, "lab", "request.user.username: expected a string");
		snprintf(b, sizeof(b), "{%s,'username':false,'data':{'name':'v'}}", h);
		REFUSED(b, "lab", "username: expected a string");
		snprintf(b, sizeof(b), "{%s,'username':'a\\u001bb','data':{'name':'v'}}", h);
		REFUSED(b, "lab", "username: holds a control character");
	}
}

static void test_lengths(void)
{
	struct nb_change c;
	char err[HS_ERRBUF], body[2048], s[300];

	memset(s, 'n', 253);
	s[253] = '\0';
	snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.connection',"
		 "'data':{'name':'%s','fabric':'lab'}}", s);
	T_EQ_INT(parse(body, NULL, &c, err), HS_OK);
	T_EQ_INT(strlen(c.name), 253);
	nb_change_release(&c);
	strcpy(s + 253, "n");
	snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.connection',"
		 "'data':{'name':'%s','fabric':'lab'}}", s);
	REFUSED(body, NULL, "data.name: longer than 253 bytes");

	memset(s, 'u', 150);
	s[150] = '\0';
	snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.vpc',"
		 "'username':'%s','data':{'name':'v','fabric':'lab'}}", s);
	T_EQ_INT(parse(body, NULL, &c, err), HS_OK);
	T_EQ_INT(strlen(c.user), 150);
	nb_change_release(&c);
	strcpy(s + 150, "u");
	snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.vpc',"
		 "'username':'%s','data':{'name':'v','fabric':'lab'}}", s);
	REFUSED(body, NULL, "username: longer than 150 bytes");
	snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.vpc',"
		 "'request':{'user':'%s'},'data':{'name':'v','fabric':'lab'}}", s);
	REFUSED(body, NULL, "request.user: longer than 150 bytes");

	memset(s, 's', 64);
	s[64] = '\0';
	snprintf(body, sizeof(body), "{'event':'created','object_type':'netbox_hedgehog.vpc',"
		 "'data':{'name':'v','namespace':'%s','fabric':'lab'}}", s);
	REFUSED(body, NULL, "data.namespace: longer than 63 bytes");
}

static void test_arguments(void)
{
	json_t *b = J("{'event':'created','object_type':'netbox_hedgehog.vpc','data':{'name':'v',"
		      "'fabric':'lab'}}");
	struct nb_change c;

	T_EQ_INT(nb_parse(b, NULL, NULL, NULL), HS_EINVAL);
	T_EQ_INT(nb_parse(NULL, NULL, &c, NULL), HS_EINVAL);
	/* err may be NULL */
	T_EQ_INT(nb_parse(b, NULL, &c, NULL), HS_OK);
	nb_change_release(&c);
	json_decref(b);
}

const struct unit_test unit_tests[] = {
	UNIT(test_v37_created),
	UNIT(test_v44_updated),
	UNIT(test_v45_v46),
	UNIT(test_v47_deleted),
	UNIT(test_connection),
	UNIT(test_every_managed_model),
	UNIT(test_fabric),
	UNIT(test_ignored),
	UNIT(test_templated_event_names),
	UNIT(test_base),
	UNIT(test_labels),
	UNIT(test_wrong_types),
	UNIT(test_lengths),
	UNIT(test_arguments),
	{ NULL, NULL },
};
