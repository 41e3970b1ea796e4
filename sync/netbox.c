/* netbox.c: NetBox event-rule webhook bodies, every version's shape, read as changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/netbox.h"

#define NB_APP "netbox_hedgehog"

/* get_str flags */
enum {
	S_SAFE = 1,     /* a name part: no space, '/', '\', not "." or ".." */
	S_EMPTY_OK = 2, /* "" reads as absent */
};

/* s with bytes outside printable ASCII as '?', at most size-1 bytes, for
 * messages about untrusted text. */
static const char *clean(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void field_name(char *buf, size_t size, const char *where, const char *key)
{
	snprintf(buf, size, "%s%s%s", where, *where ? "." : "", key);
}

/* Check string v of field f.  *out: borrowed from v, or NULL when v is
 * absent or null (or "" with S_EMPTY_OK). */
static int check_str(const json_t *v, const char *f, size_t max, int flags, const char **out,
		     char *err)
{
	const char *s;
	size_t n;

	*out = NULL;
	if (!v || json_is_null(v))
		return HS_OK;
	if (!json_is_string(v)) {
		hs_seterr(err, "%s: expected a string", f);
		return HS_EINVAL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (!n && (flags & S_EMPTY_OK))
		return HS_OK;
	if (!n) {
		hs_seterr(err, "%s: empty", f);
		return HS_EINVAL;
	}
	if (n > max) {
		hs_seterr(err, "%s: longer than %zu bytes", f, max);
		return HS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			hs_seterr(err, "%s: holds a control character", f);
			return HS_EINVAL;
		}
		if ((flags & S_SAFE) && (ch == ' ' || ch == '/' || ch == '\\')) {
			hs_seterr(err, "%s: may not hold spaces, '/' or '\\'", f);
			return HS_EINVAL;
		}
	}
	if ((flags & S_SAFE) && (!strcmp(s, ".") || !strcmp(s, ".."))) {
		hs_seterr(err, "%s: may not be \".\" or \"..\"", f);
		return HS_EINVAL;
	}
	*out = s;
	return HS_OK;
}

static int get_str(const json_t *obj, const char *where, const char *key, size_t max, int flags,
		   const char **out, char *err)
{
	char f[64];

	field_name(f, sizeof(f), where, key);
	return check_str(json_object_get(obj, key), f, max, flags, out, err);
}

/* obj[key] as a map of strings: *out a new copy, or NULL when absent, null
 * or empty. */
static int get_map(const json_t *obj, const char *where, const char *key, json_t **out,
		   char *err)
{
	const json_t *m = json_object_get(obj, key);
	const char *k;
	json_t *v;
	char f[64], kb[64];

	*out = NULL;
	if (!m || json_is_null(m))
		return HS_OK;
	field_name(f, sizeof(f), where, key);
	if (!json_is_object(m)) {
		hs_seterr(err, "%s: expected an object", f);
		return HS_EINVAL;
	}
	json_object_foreach((json_t *)m, k, v) {
		if (!json_is_string(v)) {
			hs_seterr(err, "%s.%s: expected a string", f, clean(kb, sizeof(kb), k));
			return HS_EINVAL;
		}
	}
	if (json_object_size(m))
		*out = json_deep_copy(m);
	return HS_OK;
}

/* A resource of kind k from the NetBox object obj (data or a snapshot);
 * where names obj in messages.  *res new; *name new when name is not NULL. */
static int build(const struct kind_info *k, const json_t *obj, const char *where, json_t **res,
		 char **name, char *err)
{
	const char *nm, *ns;
	json_t *spec, *md, *r = NULL, *labels = NULL, *ann = NULL;
	char api[64], f[64];
	int rc;

	*res = NULL;
	rc = get_str(obj, where, "name", NB_NAME_MAX, S_SAFE, &nm, err);
	if (rc)
		goto out;
	if (!nm) {
		field_name(f, sizeof(f), where, "name");
		hs_seterr(err, "%s: expected a string", f);
		rc = HS_EINVAL;
		goto out;
	}
	rc = get_str(obj, where, "namespace", NB_NAMESPACE_MAX, S_SAFE, &ns, err);
	if (rc)
		goto out;
	spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec) && !json_is_object(spec)) {
		field_name(f, sizeof(f), where, "spec");
		hs_seterr(err, "%s: expected an object", f);
		rc = HS_EINVAL;
		goto out;
	}
	rc = get_map(obj, where, "labels", &labels, err);
	if (rc)
		goto out;
	rc = get_map(obj, where, "annotations", &ann, err);
	if (rc)
		goto out;

	md = json_object();
	json_object_set_new(md, "name", json_string(nm));
	json_object_set_new(md, "namespace", json_string(ns ? ns : "default"));
	if (labels)
		json_object_set_new(md, "labels", labels);
	if (ann)
		json_object_set_new(md, "annotations", ann);
	labels = ann = NULL;
	r = json_object();
	json_object_set_new(r, "apiVersion", json_string(kind_api_version(k, api, sizeof(api))));
	json_object_set_new(r, "kind", json_string(k->name));
	json_object_set_new(r, "metadata", md);
	json_object_set_new(r, "spec", json_is_object(spec) ? json_deep_copy(spec) : json_object());
	if (name)
		*name = hs_strdup(nm);
	*res = r;
	rc = HS_OK;
out:
	json_decref(labels);
	json_decref(ann);
	return rc;
}

/* The fabric's name: data.fabric's name when it has one, else the hint. */
static int get_fabric(const json_t *data, const char *hint, char **fabric, char *err)
{
	const json_t *fv = json_object_get(data, "fabric");
	const char *s = NULL;
	json_t *h = NULL;
	int rc = HS_OK;

	if (json_is_object(fv))
		rc = get_str(fv, "data.fabric", "name", NB_FABRIC_MAX, S_SAFE, &s, err);
	else if (json_is_string(fv))
		rc = check_str(fv, "data.fabric", NB_FABRIC_MAX, S_SAFE, &s, err);
	else if (fv && !json_is_null(fv) && !json_is_integer(fv)) {
		hs_seterr(err, "data.fabric: expected an object, an id or a name");
		rc = HS_EINVAL;
	}
	if (rc)
		return rc;
	if (!s && hint) {
		h = json_string(hint); /* NULL when not UTF-8 */
		if (!h) {
			hs_seterr(err, "fabric (from the webhook URL): not UTF-8");
			return HS_EINVAL;
		}
		rc = check_str(h, "fabric (from the webhook URL)", NB_FABRIC_MAX, S_SAFE, &s, err);
	}
	if (!rc && !s) {
		hs_seterr(err, "data.fabric: names no fabric and the webhook URL has no ?fabric=");
		rc = HS_EINVAL;
	}
	if (!rc)
		*fabric = hs_strdup(s);
	json_decref(h);
	return rc;
}

static int get_user(const json_t *body, char **user, char *err)
{
	const json_t *req = json_object_get(body, "request");
	const json_t *u = NULL;
	const char *s = NULL;
	int rc;

	if (req && !json_is_null(req) && !json_is_object(req)) {
		hs_seterr(err, "request: expected an object");
		return HS_EINVAL;
	}
	u = json_object_get(req, "user");
	if (json_is_object(u)) /* a serialized user */
		rc = get_str(u, "request.user", "username", NB_USER_MAX, S_EMPTY_OK, &s, err);
	else
		rc = check_str(u, "request.user", NB_USER_MAX, S_EMPTY_OK, &s, err);
	if (rc)
		return rc;
	if (!s) {
		rc = get_str(body, "", "username", NB_USER_MAX, S_EMPTY_OK, &s, err);
		if (rc)
			return rc;
	}
	*user = hs_strdup(s ? s : "netbox");
	return HS_OK;
}

/* The kind of the body's object; NULL (reason set) when it is not one we take. */
static int get_kind(const json_t *body, struct nb_change *c, const struct kind_info **kind,
		    char *err)
{
	const char *ot, *model, *m, *dot;
	const struct kind_info *k;
	char b1[64], b2[64];
	int rc;

	*kind = NULL;
	rc = get_str(body, "", "object_type", 200, 0, &ot, err);
	if (!rc)
		rc = get_str(body, "", "model", 100, 0, &model, err);
	if (rc)
		return rc;
	if (!ot && !model) {
		hs_seterr(err, "object_type: missing (and no model)");
		return HS_EINVAL;
	}
	m = model;
	if (ot) {
		dot = strchr(ot, '.');
		if (!dot || dot == ot || !dot[1] || strchr(dot + 1, '.')) {
			hs_seterr(err, "object_type: expected app_label.model");
			return HS_EINVAL;
		}
		m = dot + 1;
		if (model && strcmp(model, m)) {
			hs_seterr(err, "model: \"%s\" does not match object_type",
				  clean(b1, sizeof(b1), model));
			return HS_EINVAL;
		}
		if ((size_t)(dot - ot) != strlen(NB_APP) || strncmp(ot, NB_APP, strlen(NB_APP))) {
			snprintf(c->reason, sizeof(c->reason), "%s is not a NetBox Hedgehog object",
				 clean(b1, sizeof(b1), ot));
			return HS_OK;
		}
	}
	k = kind_by_name_nocase(m);
	if (!k || !k->managed) {
		snprintf(c->reason, sizeof(c->reason), "%s%s is not a kind hedgesync manages",
			 ot ? NB_APP "." : "model ", clean(b2, sizeof(b2), m));
		return HS_OK;
	}
	*kind = k;
	return HS_OK;
}

int nb_parse(const json_t *body, const char *fabric_hint, struct nb_change *c, char *err)
{
	const json_t *ev, *data, *snap, *pre;
	const struct kind_info *k = NULL;
	const char *e;
	char b[48];
	int rc = HS_EINVAL;

	if (!c)
		return HS_EINVAL;
	memset(c, 0, sizeof(*c));
	if (!json_is_object(body)) {
		hs_seterr(err, "body: expected an object");
		goto out;
	}
	ev = json_object_get(body, "event");
	if (!json_is_string(ev)) {
		hs_seterr(err, "event: %s", ev ? "expected a string" : "missing");
		goto out;
	}
	e = json_string_value(ev);
	if (!strncmp(e, "object_", 7))
		e += 7;
	if (!strcmp(e, "created") || !strcmp(e, "updated")) {
		c->action = NB_APPLY;
	} else if (!strcmp(e, "deleted")) {
		c->action = NB_DELETE;
	} else {
		snprintf(c->reason, sizeof(c->reason), "event %s is not a change of an object",
			 clean(b, sizeof(b), json_string_value(ev)));
		rc = HS_OK;
		goto out;
	}

	rc = get_kind(body, c, &k, err);
	if (rc || !k) {
		c->action = NB_IGNORE;
		goto out;
	}
	data = json_object_get(body, "data");
	if (!json_is_object(data)) {
		hs_seterr(err, "data: %s", data ? "expected an object" : "missing");
		rc = HS_EINVAL;
		goto out;
	}
	rc = build(k, data, "data", &c->resource, &c->name, err);
	if (!rc)
		rc = get_fabric(data, fabric_hint, &c->fabric, err);
	if (!rc)
		rc = get_user(body, &c->user, err);
	if (rc)
		goto out;

	snap = json_object_get(body, "snapshots");
	if (snap && !json_is_null(snap) && !json_is_object(snap)) {
		hs_seterr(err, "snapshots: expected an object");
		rc = HS_EINVAL;
		goto out;
	}
	pre = json_object_get(snap, "prechange");
	if (pre && !json_is_null(pre) && !json_is_object(pre)) {
		hs_seterr(err, "snapshots.prechange: expected an object");
		rc = HS_EINVAL;
		goto out;
	}
	if (json_is_object(pre) && json_object_get(pre, "name") &&
	    !json_is_null(json_object_get(pre, "name")))
		rc = build(k, pre, "snapshots.prechange", &c->base, NULL, err);
	if (rc)
		goto out;
	c->kind = k;
	rc = HS_OK;
out:
	if (rc != HS_OK)
		nb_change_release(c);
	return rc;
}

void nb_change_release(struct nb_change *c)
{
	if (!c)
		return;
	free(c->user);
	free(c->fabric);
	free(c->name);
	json_decref(c->resource);
	json_decref(c->base);
	memset(c, 0, sizeof(*c));
}
