/* fuzz-netbox.c: any bytes as a NetBox webhook body: nb_parse holds its promises.
 *
 * The input is parsed as JSON (any value, NUL bytes allowed in strings) and
 * read with and without a fabric hint.  Invariants: HS_OK or HS_EINVAL with
 * a message; after HS_EINVAL the change is empty; an ignored change holds
 * only a reason; a taken change has a managed kind, a user, a fabric and a
 * name within their caps, and a resource whose kind, apiVersion and
 * metadata.name match; releasing twice is safe.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/err.h"
#include "sync/kinds.h"
#include "sync/netbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-netbox: %s\n%s\n", what, detail ? detail : "");
	abort();
}

/* s is a string of 1..max bytes without control characters */
static void check_str(const char *s, size_t max, const char *what)
{
	size_t n;

	if (!s)
		fail("a change lacks a string", what);
	n = strlen(s);
	if (!n || n > max)
		fail("a string of a change is empty or over its cap", what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			fail("a string of a change holds a control character", what);
}

static void check_resource(const struct nb_change *c, const json_t *r, const char *name)
{
	const json_t *md = json_object_get(r, "metadata");
	char api[64];

	if (!json_is_object(r) || !json_is_object(md) ||
	    !json_is_object(json_object_get(r, "spec")))
		fail("a resource is not an object with metadata and spec", NULL);
	if (!json_is_string(json_object_get(r, "kind")) ||
	    strcmp(json_string_value(json_object_get(r, "kind")), c->kind->name))
		fail("a resource's kind is not the change's", NULL);
	kind_api_version(c->kind, api, sizeof(api));
	if (!json_is_string(json_object_get(r, "apiVersion")) ||
	    strcmp(json_string_value(json_object_get(r, "apiVersion")), api))
		fail("a resource's apiVersion is not the kind's", NULL);
	if (!json_is_string(json_object_get(md, "name")) ||
	    !json_is_string(json_object_get(md, "namespace")))
		fail("a resource lacks metadata.name or namespace", NULL);
	if (name && strcmp(json_string_value(json_object_get(md, "name")), name))
		fail("metadata.name is not the change's name", name);
	check_str(json_string_value(json_object_get(md, "name")), NB_NAME_MAX, "metadata.name");
	check_str(json_string_value(json_object_get(md, "namespace")), NB_NAMESPACE_MAX,
		  "metadata.namespace");
	if (json_object_get(md, "labels") && !json_object_size(json_object_get(md, "labels")))
		fail("empty labels are kept", NULL);
	if (json_object_get(md, "annotations") &&
	    !json_object_size(json_object_get(md, "annotations")))
		fail("empty annotations are kept", NULL);
}

static void run(const json_t *body, const char *hint)
{
	struct nb_change c;
	char err[HS_ERRBUF] = "";
	const json_t *fv;
	int rc = nb_parse(body, hint, &c, err);

	if (rc != HS_OK && rc != HS_EINVAL)
		fail("nb_parse returned neither HS_OK nor HS_EINVAL", NULL);
	if (rc == HS_EINVAL && !err[0])
		fail("HS_EINVAL without a message", NULL);
	if (rc == HS_EINVAL || c.action == NB_IGNORE) {
		if (c.kind || c.user || c.fabric || c.name || c.resource || c.base)
			fail("a refused or ignored change holds something", err);
		if (rc == HS_OK && !c.reason[0])
			fail("an ignored change has no reason", NULL);
	} else {
		if (c.action != NB_APPLY && c.action != NB_DELETE)
			fail("an unknown action", NULL);
		if (!c.kind || !c.kind->managed)
			fail("a change of a kind that is not managed", NULL);
		check_str(c.user, NB_USER_MAX, "user");
		check_str(c.fabric, NB_FABRIC_MAX, "fabric");
		check_str(c.name, NB_NAME_MAX, "name");
		check_resource(&c, c.resource, c.name);
		if (c.base)
			check_resource(&c, c.base, NULL);
		fv = json_object_get(json_object_get(body, "data"), "fabric");
		if (hint && !json_is_object(fv) && !json_is_string(fv) && strcmp(c.fabric, hint))
			fail("the hint is not the fabric when data.fabric names none", c.fabric);
	}
	nb_change_release(&c);
	nb_change_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	run(body, NULL);
	run(body, "hint-fabric");
	json_decref(body);
	return 0;
}
