/* t-routes.c: which path goes where, and which methods each takes. */
#include "fcgi/routes.h"
#include "tests/unit/unit.h"

static const char *match(const char *method, const char *path, int *allowed, char *allow)
{
	return routes_match("/hooks/gh", method, path, allowed, allow, 64);
}

static void test_webhook_path_is_configurable(void)
{
	int ok;
	char allow[64];

	T_EQ_STR(match("POST", "/hooks/gh", &ok, allow), "/hooks/gh");
	T_ASSERT(ok);
	T_ASSERT(match("POST", "/api/github/webhooks", &ok, allow) == NULL);
	T_ASSERT(match("POST", "/hooks/gh/", &ok, allow) == NULL);
	T_ASSERT(match("POST", "/hooks/g", &ok, allow) == NULL);
}

static void test_methods_and_allow(void)
{
	int ok;
	char allow[64];

	T_EQ_STR(match("GET", "/hooks/gh", &ok, allow), "/hooks/gh");
	T_ASSERT(!ok);
	T_EQ_STR(allow, "POST");
	T_EQ_STR(match("HEAD", "/healthz", &ok, allow), "/healthz");
	T_ASSERT(ok);
	T_EQ_STR(match("DELETE", "/metrics", &ok, allow), "/metrics");
	T_ASSERT(!ok);
	T_EQ_STR(allow, "GET, HEAD");
	/* "GE" is not GET: methods match whole words */
	match("GE", "/healthz", &ok, allow);
	T_ASSERT(!ok);
	match("ET", "/healthz", &ok, allow);
	T_ASSERT(!ok);
}

static void test_api_prefix_and_unknown(void)
{
	int ok;
	char allow[64];

	T_EQ_STR(match("DELETE", "/api/v1/fabrics/x", &ok, allow), "/api/v1/");
	T_ASSERT(ok); /* the API decides its own methods */
	T_ASSERT(match("GET", "/api/v1", &ok, allow) == NULL);
	T_EQ_STR(match("POST", "/api/netbox/webhooks", &ok, allow), "/api/netbox/webhooks");
	T_ASSERT(match("GET", "/", &ok, allow) == NULL);
	T_ASSERT(match("GET", "/healthz/../metrics", &ok, allow) == NULL);
}

const struct unit_test unit_tests[] = {
	UNIT(test_webhook_path_is_configurable),
	UNIT(test_methods_and_allow),
	UNIT(test_api_prefix_and_unknown),
	{ NULL, NULL },
};
