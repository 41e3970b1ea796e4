/* merge.c: three-way merge of JSON values by field, with conflict paths. */
#include <stdint.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "sync/merge.h"

struct mctx {
	struct hs_buf path; /* of the value being merged; "" at the root */
	json_t *conflicts;  /* borrowed; NULL: only count */
	int n;              /* conflicts so far */
};

/* 1 when a and b are the same value; absent equals only absent. */
static int same(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return a == b || json_equal(a, b);
}

static json_t *ref(const json_t *v)
{
	return json_incref((json_t *)v);
}

/* 1 when v holds a container nested deeper than max (v itself at depth). */
static int too_deep(const json_t *v, int depth, int max)
{
	const char *key;
	size_t i;
	json_t *c;
	void *tmp;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (depth > max)
		return 1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if (too_deep(c, depth + 1, max))
				return 1;
		return 0;
	}
	json_object_foreach_safe((json_t *)v, tmp, key, c)
		if (too_deep(c, depth + 1, max))
			return 1;
	return 0;
}

/* Whether s must be written ["..."] in a path. */
static int needs_quotes(const char *s, size_t n)
{
	if (!n)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '.' || c == '[' || c == ']' || c == '"' ||
		    c == '\\')
			return 1;
	}
	return 0;
}

/* Append s as a JSON string literal. */
static void add_quoted(struct hs_buf *b, const char *s, size_t n)
{
	hs_buf_addch(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			hs_buf_addch(b, '\\');
			hs_buf_addch(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			hs_buf_addf(b, "\\u%04x", c);
		} else {
			hs_buf_addch(b, (char)c);
		}
	}
	hs_buf_addch(b, '"');
}

/* Append one step to the path: an object key (elem 0) or a keyed-array
 * element name (elem 1).  Returns the length to cut back to. */
static size_t path_push(struct mctx *m, const char *s, size_t n, int elem)
{
	size_t old = m->path.len;

	if (!elem && !needs_quotes(s, n)) {
		if (old)
			hs_buf_addch(&m->path, '.');
		hs_buf_add(&m->path, s, n);
	} else if (elem && !needs_quotes(s, n)) {
		hs_buf_addch(&m->path, '[');
		hs_buf_add(&m->path, s, n);
		hs_buf_addch(&m->path, ']');
	} else {
		hs_buf_addch(&m->path, '[');
		add_quoted(&m->path, s, n);
		hs_buf_addch(&m->path, ']');
	}
	return old;
}

static void path_pop(struct mctx *m, size_t old)
{
	m->path.len = old;
	if (m->path.data)
		m->path.data[old] = '\0';
}

static void conflict(struct mctx *m)
{
	json_t *s;

	m->n++;
	if (!m->conflicts)
		return;
	if (!m->path.len)
		s = json_string(".");
	else
		s = json_stringn(m->path.data, m->path.len);
	if (!s) /* not UTF-8: only from keys built with jansson's _nocheck calls */
		s = json_string("(unprintable path)");
	json_array_append_new(m->conflicts, s);
}

/* A new object indexing the elements of keyed array a by name (values are
 * references to the elements), or NULL when a is not keyed. */
static json_t *keyed_index(const json_t *a)
{
	json_t *idx = json_object();
	json_t *e, *name;
	size_t i;

	json_array_foreach(a, i, e) {
		name = json_object_get(e, "name");
		if (!json_is_string(name) ||
		    json_object_getn(idx, json_string_value(name), json_string_length(name)) ||
		    json_object_setn_nocheck(idx, json_string_value(name),
					     json_string_length(name), e)) {
			json_decref(idx);
			return NULL;
		}
	}
	return idx;
}

static int merge_val(struct mctx *m, const json_t *b, const json_t *o, const json_t *t,
		     json_t **out);

static int merge_obj(struct mctx *m, const json_t *b, const json_t *o, const json_t *t,
		     json_t **out)
{
	json_t *res = json_object();
	const json_t *bo = json_is_object(b) ? b : NULL;
	const char *key;
	size_t klen, old;
	json_t *v, *r;
	void *tmp;
	int rc = 0;

	json_object_keylen_foreach_safe((json_t *)o, tmp, key, klen, v) {
		old = path_push(m, key, klen, 0);
		rc = merge_val(m, bo ? json_object_getn(bo, key, klen) : NULL, v,
			       json_object_getn(t, key, klen), &r);
		path_pop(m, old);
		if (rc < 0)
			goto out;
		if (r)
			json_object_setn_new_nocheck(res, key, klen, r);
	}
	json_object_keylen_foreach_safe((json_t *)t, tmp, key, klen, v) {
		if (json_object_getn(o, key, klen))
			continue;
		old = path_push(m, key, klen, 0);
		rc = merge_val(m, bo ? json_object_getn(bo, key, klen) : NULL, NULL, v, &r);
		path_pop(m, old);
		if (rc < 0)
			goto out;
		if (r)
			json_object_setn_new_nocheck(res, key, klen, r);
	}
	rc = 0;
out:
	if (rc < 0) {
		json_decref(res);
		res = NULL;
	}
	*out = res;
	return rc;
}

/* Merge keyed arrays; the three indexes are those of keyed_index (bi may
 * be NULL for an absent or non-array base). */
static int merge_keyed(struct mctx *m, const json_t *bi, const json_t *o, const json_t *oi,
		       const json_t *t, const json_t *ti, json_t **out)
{
	json_t *res = json_array();
	json_t *e, *name, *r;
	size_t i, old;
	int rc = 0;

	json_array_foreach(o, i, e) {
		const char *s;
		size_t n;

		name = json_object_get(e, "name");
		s = json_string_value(name);
		n = json_string_length(name);
		old = path_push(m, s, n, 1);
		rc = merge_val(m, bi ? json_object_getn(bi, s, n) : NULL, e,
			       json_object_getn(ti, s, n), &r);
		path_pop(m, old);
		if (rc < 0)
			goto out;
		if (r)
			json_array_append_new(res, r);
	}
	json_array_foreach(t, i, e) {
		const char *s;
		size_t n;

		name = json_object_get(e, "name");
		s = json_string_value(name);
		n = json_string_length(name);
		if (json_object_getn(oi, s, n))
			continue;
		old = path_push(m, s, n, 1);
		rc = merge_val(m, bi ? json_object_getn(bi, s, n) : NULL, NULL, e, &r);
		path_pop(m, old);
		if (rc < 0)
			goto out;
		if (r)
			json_array_append_new(res, r);
	}
	rc = 0;
out:
	if (rc < 0) {
		json_decref(res);
		res = NULL;
	}
	*out = res;
	return rc;
}

/* Returns the conflicts found under this value (their paths recorded) or a
 * negative code; *out as merge3's. */
static int merge_val(struct mctx *m, const json_t *b, const json_t *o, const json_t *t,
		     json_t **out)
{
	json_t *oi = NULL, *ti = NULL, *bi = NULL;
	int before = m->n, rc;

	*out = NULL;
	if (same(o, t)) {
		*out = ref(o);
		return 0;
	}
	if (same(o, b)) {
		*out = ref(t);
		return 0;
	}
	if (same(t, b)) {
		*out = ref(o);
		return 0;
	}
	if (json_is_object(o) && json_is_object(t)) {
		rc = merge_obj(m, b, o, t, out);
		return rc < 0 ? rc : m->n - before;
	}
	if (json_is_array(o) && json_is_array(t) && (oi = keyed_index(o)) &&
	    (ti = keyed_index(t)) && (!json_is_array(b) || (bi = keyed_index(b)))) {
		rc = merge_keyed(m, bi, o, oi, t, ti, out);
		json_decref(oi);
		json_decref(ti);
		json_decref(bi);
		return rc < 0 ? rc : m->n - before;
	}
	json_decref(oi);
	json_decref(ti);
	json_decref(bi);
	conflict(m);
	*out = ref(o);
	return 1;
}

int merge3(const json_t *base, const json_t *ours, const json_t *theirs,
	   json_t **out, json_t *conflicts)
{
	struct mctx m = { HS_BUF_INIT(SIZE_MAX - 1), conflicts, 0 };
	int rc;

	if (!out)
		return HS_EINVAL;
	*out = NULL;
	if (conflicts && !json_is_array(conflicts))
		return HS_EINVAL;
	if (too_deep(base, 1, MERGE_MAX_DEPTH) || too_deep(ours, 1, MERGE_MAX_DEPTH) ||
	    too_deep(theirs, 1, MERGE_MAX_DEPTH))
		return HS_ETOOBIG;
	rc = merge_val(&m, base, ours, theirs, out);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	} else {
		rc = m.n;
	}
	hs_buf_release(&m.path);
	return rc;
}
