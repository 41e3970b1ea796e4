/* json.c: typed, checked access to JSON from GitHub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/gh.h"
#include "github/json.h"

int gh_json_parse(const struct hs_buf *body, int want, json_t **out, char *err)
{
	json_error_t je;
	json_t *v;

	*out = NULL;
	v = json_loadb(body->data ? body->data : "", body->len,
		       JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		hs_seterr(err, "response is not JSON: %s at line %d", je.text, je.line);
		return GH_EBADRESP;
	}
	if ((want == GH_JSON_OBJECT && !json_is_object(v)) ||
	    (want == GH_JSON_ARRAY && !json_is_array(v)) ||
	    (want == GH_JSON_ANY && !json_is_object(v) && !json_is_array(v))) {
		hs_seterr(err, "response is JSON of the wrong type");
		json_decref(v);
		return GH_EBADRESP;
	}
	*out = v;
	return GH_OK;
}

const char *gh_json_str(const json_t *obj, const char *key, size_t max)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > max || strlen(s) != n)
		return NULL;
	return s;
}

const char *gh_json_sha(const json_t *obj, const char *key)
{
	const char *s = gh_json_str(obj, key, GH_SHA_HEX);

	return gh_sha_valid(s) ? s : NULL;
}

int gh_json_int(const json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!json_is_integer(v))
		return GH_EBADRESP;
	*out = (int64_t)json_integer_value(v);
	return GH_OK;
}

json_t *gh_json_obj(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_object(v) ? v : NULL;
}

json_t *gh_json_arr(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_array(v) ? v : NULL;
}

int gh_json_true(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_true(v);
}

json_t *gh_json_person(const struct gh_person *p)
{
	json_t *o;

	if (!p || !p->name || !*p->name || !p->email || !*p->email)
		return NULL;
	o = json_pack("{s:s, s:s}", "name", p->name, "email", p->email);
	if (o && p->date && *p->date)
		json_object_set_new(o, "date", json_string(p->date));
	return o;
}

char *gh_json_dump(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s) { /* jansson fails here only when out of memory */
		fprintf(stderr, "hedgesync: out of memory serializing JSON\n");
		abort();
	}
	if (len)
		*len = strlen(s);
	return s;
}
