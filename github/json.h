/* json.h: field-by-field reading of GitHub's untrusted JSON with jansson.
 *
 * Nothing GitHub sends is trusted to have a field or a type: each getter
 * checks both and returns NULL or an error when they are wrong.  Returned
 * json_t and strings are borrowed from the object passed in.
 */
#ifndef GH_JSON_H
#define GH_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "github/base/buf.h"

/* What a caller wants a body to be (jansson's JSON_OBJECT is 0: not used). */
enum gh_json_want { GH_JSON_NONE, GH_JSON_OBJECT, GH_JSON_ARRAY, GH_JSON_ANY };

/* Parse a response body; GH_EBADRESP (message in err) when it is not JSON
 * or not what want asks (GH_JSON_OBJECT, GH_JSON_ARRAY, GH_JSON_ANY: either).
 * *out is new (json_decref). */
int gh_json_parse(const struct hs_buf *body, int want, json_t **out, char *err);

/* A string member of at most max bytes with no NUL, or NULL. */
const char *gh_json_str(const json_t *obj, const char *key, size_t max);
/* A string member that is a 40-hex sha, or NULL. */
const char *gh_json_sha(const json_t *obj, const char *key);
/* An integer member; GH_EBADRESP when missing or not an integer. */
int gh_json_int(const json_t *obj, const char *key, int64_t *out);
/* An object or array member, or NULL. */
json_t *gh_json_obj(const json_t *obj, const char *key);
json_t *gh_json_arr(const json_t *obj, const char *key);
/* 1 for true, 0 for false or missing/other. */
int gh_json_true(const json_t *obj, const char *key);

/* {"name","email"[,"date"]} for an author or committer, new; NULL when
 * name or email is missing (GitHub answers 422 to that). */
struct gh_person;
json_t *gh_json_person(const struct gh_person *p);

/* Serialize compactly into a new string (free()); never NULL. */
char *gh_json_dump(const json_t *v, size_t *len);

#endif
