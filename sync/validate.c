/* validate.c: document rules (header, metadata, schema walk) and validation of file sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/emit.h"
#include "sync/layout.h"
#include "sync/validate_int.h"

/* --- findings and facts --------------------------------------------------------- */

void vfind(struct vctx *c, enum fnd_code code, const struct hy_node *at, const char *field,
	   const char *fmt, ...)
{
	va_list ap;
	enum fnd_sev sev = fnd_code_severity(code);

	if (sev == FND_ERROR)
		c->errors++;
	else if (sev == FND_WARNING)
		c->warnings++;
	va_start(ap, fmt);
	fnd_atv(c->fl, code, FND_SEV_DEFAULT, c->file, c->doc, c->root, at ? at : c->root,
		field, fmt, ap);
	va_end(ap);
}

#define GROW(c, arr, n, alloc)                                                       \
	do {                                                                         \
		if ((c)->n == (c)->alloc) {                                          \
			(c)->alloc = (c)->alloc ? (c)->alloc * 2 : 8;                \
			(c)->arr = hs_realloc((c)->arr, (c)->alloc * sizeof(*(c)->arr)); \
		}                                                                    \
	} while (0)

void vctx_ref(struct vctx *c, enum kind_id kind, const char *name, const char *sub,
	      const struct hy_node *at, unsigned flags)
{
	struct v_ref *r;

	if (!name || !*name)
		return;
	GROW(c, refs, nrefs, arefs);
	r = &c->refs[c->nrefs++];
	r->kind = (uint8_t)kind;
	r->flags = (uint8_t)flags;
	r->name = name;
	r->sub = sub;
	r->at = at;
}

struct v_port *vctx_port(struct vctx *c)
{
	GROW(c, ports, nports, aports);
	memset(&c->ports[c->nports], 0, sizeof(c->ports[0]));
	return &c->ports[c->nports++];
}

struct v_subnet *vctx_subnet(struct vctx *c)
{
	GROW(c, subnets, nsubnets, asubnets);
	memset(&c->subnets[c->nsubnets], 0, sizeof(c->subnets[0]));
	return &c->subnets[c->nsubnets++];
}

struct v_prefix *vctx_prefix(struct vctx *c)
{
	GROW(c, prefixes, nprefixes, aprefixes);
	memset(&c->prefixes[c->nprefixes], 0, sizeof(c->prefixes[0]));
	return &c->prefixes[c->nprefixes++];
}

struct v_range *vctx_range(struct vctx *c)
{
	GROW(c, ranges, nranges, aranges);
	memset(&c->ranges[c->nranges], 0, sizeof(c->ranges[0]));
	return &c->ranges[c->nranges++];
}

static void *arena_copy(struct arena *a, const void *p, size_t n)
{
	void *q;

	if (!n)
		return NULL;
	q = arena_alloc_raw(a, n);
	memcpy(q, p, n);
	return q;
}

/* --- helpers for rules ---------------------------------------------------------------- */

const char *v_q(struct vctx *c, const char *s)
{
	char buf[96];
	size_t o = 0, i = 0;

	if (!s)
		return "''";
	buf[o++] = '\'';
	while (s[i] && o < 70) {
		unsigned char ch = (unsigned char)s[i];
		size_t k = ch < 0x80 ? 1 : (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3 : 4;

		if (ch < 0x20 || ch == 0x7F) {
			buf[o++] = '?';
			i++;
			continue;
		}
		for (size_t j = 0; j < k && s[i]; j++)
			buf[o++] = s[i++];
	}
	if (s[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	return arena_strndup(c->a, buf, o);
}

int v_int(const struct hy_node *n, int64_t *out)
{
	if (!n)
		return 0;
	if (n->type == HY_INT) {
		if (n->flags & HY_F_UNSIGNED)
			*out = INT64_MAX;
		else
			*out = n->v.i;
		return 1;
	}
	/* the range first: converting a NaN or a double past int64 is undefined */
	if (n->type == HY_FLOAT && n->v.f > -9.2e18 && n->v.f < 9.2e18 &&
	    n->v.f == (double)(int64_t)n->v.f) {
		*out = (int64_t)n->v.f;
		return 1;
	}
	return 0;
}

int v_bool(const struct hy_node *n)
{
	return n && n->type == HY_BOOL && n->v.b;
}

const char *v_str(const struct hy_node *n)
{
	return n && n->type == HY_STR && n->len ? n->text : NULL;
}

int v_addr(struct vctx *c, const struct hy_node *n, uint32_t *out, const char *what)
{
	const char *s = v_str(n);
	int rc;

	if (!s)
		return 1;
	rc = ip4_parse(s, out);
	if (rc == -2)
		vfind(c, FND_IP_INVALID, n, NULL, "%s %s is IPv6; only IPv4 is supported here",
		      what, v_q(c, s));
	else if (rc)
		vfind(c, FND_IP_INVALID, n, NULL, "%s %s is not an IPv4 address", what, v_q(c, s));
	return rc ? -1 : 0;
}

int v_prefix(struct vctx *c, const struct hy_node *n, struct ip4_prefix *out, const char *what)
{
	const char *s = v_str(n);
	int rc;

	if (!s)
		return 1;
	rc = ip4_parse_prefix(s, out);
	if (rc == -2)
		vfind(c, FND_CIDR_INVALID, n, NULL, "%s %s is IPv6; only IPv4 is supported here",
		      what, v_q(c, s));
	else if (rc)
		vfind(c, FND_CIDR_INVALID, n, NULL,
		      "%s %s is not an IPv4 prefix like 10.0.0.0/24", what, v_q(c, s));
	return rc ? -1 : 0;
}

/* --- schema walk --------------------------------------------------------------------- */

static const char *article_type(enum hy_type t)
{
	switch (t) {
	case HY_NULL:
		return "null";
	case HY_BOOL:
		return "a boolean";
	case HY_INT:
		return "an integer";
	case HY_FLOAT:
		return "a float";
	case HY_STR:
		return "a string";
	case HY_MAP:
		return "a mapping";
	case HY_SEQ:
		return "a sequence";
	}
	return "a value";
}

static const char *want_name(enum sch_type t)
{
	switch (t) {
	case T_STR:
		return "a string";
	case T_INT:
		return "an integer";
	case T_BOOL:
		return "a boolean (true or false)";
	case T_OBJ:
	case T_MAP:
		return "a mapping";
	case T_LIST:
		return "a sequence";
	default:
		return "a value";
	}
}

static void type_error(struct vctx *c, const struct hy_node *n, enum sch_type want)
{
	const char *hint = "";

	if (want == T_STR && n->style == HY_STYLE_PLAIN &&
	    (n->type == HY_BOOL || n->type == HY_INT || n->type == HY_FLOAT || n->type == HY_NULL))
		hint = n->type == HY_BOOL ?
			       " (YAML 1.1 reads unquoted yes/no/on/off/y/n as booleans; quote it)" :
			       " (quote it to make it a string)";
	else if ((want == T_INT || want == T_BOOL) && n->type == HY_STR &&
		 n->style != HY_STYLE_PLAIN)
		hint = " (a quoted value is a string; remove the quotes)";
	vfind(c, FND_FIELD_TYPE, n, NULL, "expected %s, found %s %s%s", want_name(want),
	      article_type(n->type), v_q(c, n->type == HY_MAP || n->type == HY_SEQ ? "" : n->text),
	      hint);
}

static const struct sch *sch_field(const struct sch *fields, const struct hy_node *k)
{
	for (const struct sch *f = fields; f && f->type != T_END; f++)
		if (f->nlen == k->len && f->name[0] == k->text[0] && !memcmp(f->name, k->text, k->len))
			return f;
	return NULL;
}

void sch_check(struct vctx *c, const struct hy_node *n, const struct sch *s)
{
	int64_t v;

	if (!n || n->type == HY_NULL || !s)
		return;
	switch (s->type) {
	case T_ANY:
	case T_END:
		return;
	case T_STR:
		if (n->type != HY_STR) {
			type_error(c, n, T_STR);
		} else if (s->values) {
			const char *const *p;

			for (p = s->values; *p; p++)
				if (!strcmp(*p, n->text))
					break;
			if (!*p) {
				char allowed[256];
				size_t o = 0;

				allowed[0] = '\0';
				for (p = s->values; *p && o + 40 < sizeof(allowed); p++)
					if (**p)
						o += (size_t)snprintf(allowed + o, sizeof(allowed) - o,
								      "%s%s", o ? ", " : "", *p);
				vfind(c, FND_FIELD_ENUM, n, NULL, "%s is not one of: %s",
				      v_q(c, n->text), allowed);
			}
		}
		return;
	case T_INT:
		if (!v_int(n, &v))
			type_error(c, n, T_INT);
		else if (s->min < s->max && (v < s->min || v > s->max))
			vfind(c, FND_FIELD_RANGE, n, NULL, "%lld is outside %lld..%lld", (long long)v,
			      (long long)s->min, (long long)s->max);
		return;
	case T_BOOL:
		if (n->type != HY_BOOL)
			type_error(c, n, T_BOOL);
		return;
	case T_OBJ:
		if (n->type != HY_MAP) {
			type_error(c, n, T_OBJ);
			return;
		}
		for (uint32_t i = 0; i < n->len; i++) {
			const struct hy_node *k = n->v.pairs[i].key;
			const struct sch *f = sch_field(s->sub, k);

			if (!f) {
				vfind(c, FND_FIELD_UNKNOWN, k, NULL, "unknown field %s",
				      v_q(c, k->text));
				continue;
			}
			if (f->flags & SCH_VOLATILE)
				vfind(c, FND_FIELD_VOLATILE, k, NULL,
				      "%s is set by the cluster and is not kept in Git",
				      v_q(c, k->text));
			if (f->flags & SCH_DEPRECATED)
				vfind(c, FND_FIELD_DEPRECATED, k, NULL, "%s is deprecated",
				      v_q(c, k->text));
			sch_check(c, n->v.pairs[i].val, f);
		}
		return;
	case T_LIST:
		if (n->type != HY_SEQ) {
			type_error(c, n, T_LIST);
			return;
		}
		for (uint32_t i = 0; i < n->len; i++)
			sch_check(c, n->v.items[i], s->sub);
		return;
	case T_MAP:
		if (n->type != HY_MAP) {
			type_error(c, n, T_MAP);
			return;
		}
		for (uint32_t i = 0; i < n->len; i++)
			sch_check(c, n->v.pairs[i].val, s->sub);
		return;
	}
}

/* --- the document header -------------------------------------------------------------- */

static const struct sch SCH_STR[] = { { NULL, T_STR, 0, 0, NULL, 0, 0, NULL } };

static const struct sch META[] = {
	{ "name", T_STR, 0, 4, NULL, 0, 0, NULL },
	{ "namespace", T_STR, 0, 9, NULL, 0, 0, NULL },
	{ "labels", T_MAP, 0, 6, SCH_STR, 0, 0, NULL },
	{ "annotations", T_MAP, 0, 11, SCH_STR, 0, 0, NULL },
	{ "generateName", T_STR, 0, 12, NULL, 0, 0, NULL },
	{ "finalizers", T_LIST, 0, 10, SCH_STR, 0, 0, NULL },
	{ "ownerReferences", T_ANY, 0, 15, NULL, 0, 0, NULL },
	{ "uid", T_ANY, SCH_VOLATILE, 3, NULL, 0, 0, NULL },
	{ "resourceVersion", T_ANY, SCH_VOLATILE, 15, NULL, 0, 0, NULL },
	{ "creationTimestamp", T_ANY, SCH_VOLATILE, 17, NULL, 0, 0, NULL },
	{ "generation", T_ANY, SCH_VOLATILE, 10, NULL, 0, 0, NULL },
	{ "managedFields", T_ANY, SCH_VOLATILE, 13, NULL, 0, 0, NULL },
	{ "selfLink", T_ANY, SCH_VOLATILE, 8, NULL, 0, 0, NULL },
	{ "deletionTimestamp", T_ANY, SCH_VOLATILE, 17, NULL, 0, 0, NULL },
	{ "deletionGracePeriodSeconds", T_ANY, SCH_VOLATILE, 26, NULL, 0, 0, NULL },
	{ NULL, T_END, 0, 0, NULL, 0, 0, NULL },
};
static const struct sch META_FIELD = { "metadata", T_OBJ, 0, 8, META, 0, 0, NULL };

int val_name_ok(const char *name)
{
	const char *p = name;

	if (!name || !*name)
		return 0;
	for (;;) {
		const char *start = p;

		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')
			p++;
		if (p == start || *start == '-' || p[-1] == '-')
			return 0;
		if (*p == '\0')
			return 1;
		if (*p != '.')
			return 0;
		p++;
	}
}

static void check_name(struct vctx *c, const struct hy_node *md, const struct kind_info *k)
{
	const struct hy_node *n = hy_get(md, "name");
	const char *name = hy_str(n);
	size_t len;

	if (n && n->type != HY_STR && n->type != HY_NULL)
		return; /* a type error already */
	if (!name || !*name) {
		vfind(c, FND_NAME_MISSING, n ? n : md, n ? NULL : "name",
		      "metadata.name is required");
		return;
	}
	c->res->name = name;
	len = strlen(name);
	if (len != n->len || !val_name_ok(name))
		vfind(c, FND_NAME_INVALID, n, NULL,
		      "%s is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
		      v_q(c, name));
	if (len > 253)
		vfind(c, FND_NAME_TOO_LONG, n, NULL, "name is %zu characters, over 253", len);
	else if (k && len > k->name_max)
		vfind(c, FND_NAME_TOO_LONG, n, NULL, "%s names are at most %zu characters; %s has %zu",
		      k->name, k->name_max, v_q(c, name), len);
}

static void check_namespace(struct vctx *c, const struct hy_node *md)
{
	const struct hy_node *n = hy_get(md, "namespace");
	const char *ns = hy_str(n);

	if (ns && *ns && strcmp(ns, "default"))
		vfind(c, FND_NAMESPACE_INVALID, n, NULL,
		      "namespace %s is not supported: Hedgehog resources live in 'default'",
		      v_q(c, ns));
}

static void check_meta_maps(struct vctx *c, const struct hy_node *md)
{
	static const char *const which[] = { "labels", "annotations" };

	for (int w = 0; w < 2; w++) {
		const struct hy_node *m = hy_get(md, which[w]);

		if (!m || m->type != HY_MAP)
			continue;
		for (uint32_t i = 0; i < m->len; i++) {
			const struct hy_node *k = m->v.pairs[i].key;

			if (emit_is_volatile(which[w], k->text, k->len))
				vfind(c, FND_FIELD_VOLATILE, k, NULL,
				      "%s %s is written by %s and is dropped when the file is written",
				      w ? "annotation" : "label", v_q(c, k->text),
				      w ? "tools, not people," : "the fabric controller");
		}
	}
}

static void finish_facts(struct vctx *c)
{
	struct val_facts *f = c->f;

	if (!f)
		return;
	f->refs = arena_copy(c->a, c->refs, c->nrefs * sizeof(*c->refs));
	f->nrefs = (uint32_t)c->nrefs;
	f->ports = arena_copy(c->a, c->ports, c->nports * sizeof(*c->ports));
	f->nports = (uint32_t)c->nports;
	f->subnets = arena_copy(c->a, c->subnets, c->nsubnets * sizeof(*c->subnets));
	f->nsubnets = (uint32_t)c->nsubnets;
	f->prefixes = arena_copy(c->a, c->prefixes, c->nprefixes * sizeof(*c->prefixes));
	f->nprefixes = (uint32_t)c->nprefixes;
	f->ranges = arena_copy(c->a, c->ranges, c->nranges * sizeof(*c->ranges));
	f->nranges = (uint32_t)c->nranges;
}

static void vctx_release(struct vctx *c)
{
	free(c->refs);
	free(c->ports);
	free(c->subnets);
	free(c->prefixes);
	free(c->ranges);
}

static void check_header(struct vctx *c, const struct hy_node *root)
{
	struct val_res *r = c->res;
	const struct hy_node *api = hy_get(root, "apiVersion");
	const struct hy_node *kind = hy_get(root, "kind");
	const struct hy_node *md = hy_get(root, "metadata");
	const struct kind_info *k;

	r->api_version = v_str(api);
	r->kind_name = v_str(kind);
	r->name = v_str(hy_get(md, "name")); /* checked below for managed kinds */
	if (!r->kind_name) {
		vfind(c, FND_KIND_MISSING, kind ? kind : root, kind ? NULL : "kind",
		      kind ? "kind must be a non-empty string" : "kind is missing");
		return;
	}
	k = kind_by_name(r->kind_name);
	if (!k) {
		const struct kind_info *near = kind_by_name_nocase(r->kind_name);

		if (near)
			vfind(c, FND_KIND_UNKNOWN, kind, NULL,
			      "kind %s is not a Hedgehog kind; did you mean '%s'? (kinds are case-sensitive)",
			      v_q(c, r->kind_name), near->name);
		else
			vfind(c, FND_KIND_UNKNOWN, kind, NULL, "kind %s is not a Hedgehog kind",
			      v_q(c, r->kind_name));
		return;
	}
	r->kind = k;
	if (!k->managed) {
		vfind(c, FND_KIND_UNMANAGED, kind, NULL,
		      "%s is a Hedgehog kind that hedgesync does not manage; it is left out of managed/",
		      k->name);
		return;
	}
	if (!r->api_version) {
		vfind(c, FND_API_VERSION_MISSING, api ? api : root, api ? NULL : "apiVersion",
		      "apiVersion is required (%s/%s for %s)", k->group, k->version, k->name);
	} else {
		switch (kind_check_api(k, r->api_version)) {
		case KIND_API_OK:
			break;
		case KIND_API_OLD:
			vfind(c, FND_API_VERSION_DEPRECATED, api, NULL,
			      "%s is the old API version; it is read and written as %s/%s",
			      v_q(c, r->api_version), k->group, k->version);
			break;
		case KIND_API_VERSION:
			vfind(c, FND_API_VERSION_UNKNOWN, api, NULL,
			      "%s is not a known version of %s (use %s/%s)", v_q(c, r->api_version),
			      k->name, k->group, k->version);
			break;
		case KIND_API_GROUP:
			vfind(c, FND_API_VERSION_MISMATCH, api, NULL,
			      "%s is in API group %s, not %s", k->name, k->group,
			      v_q(c, r->api_version));
			break;
		}
	}
	if (!md || md->type != HY_MAP) {
		vfind(c, FND_METADATA_MISSING, md ? md : root, md ? NULL : "metadata",
		      md ? "metadata must be a mapping" : "metadata is missing");
		return;
	}
	sch_check(c, md, &META_FIELD);
	check_name(c, md, k);
	check_namespace(c, md);
	check_meta_maps(c, md);
}

static int key_eq(const struct hy_node *k, const char *s)
{
	return k->len == strlen(s) && !memcmp(k->text, s, k->len);
}

struct val_res *val_doc(struct arena *a, const struct hy_doc *d, const char *file,
			struct fnd_list *fl)
{
	struct val_res *r = arena_alloc(a, sizeof(*r));
	struct vctx c;
	const struct hy_node *root = d->root;

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.fl = fl;
	c.file = file;
	c.doc = (int)d->index;
	c.root = root;
	c.res = r;
	r->file = file;
	r->doc = d;
	r->root = root;
	if (d->flags & HY_DOC_INVALID)
		c.errors++;
	if (!root || root->type != HY_MAP) {
		vfind(&c, FND_DOC_NOT_MAPPING, root, NULL,
		      "a document must be a mapping with apiVersion, kind, metadata and spec, not %s",
		      root ? article_type(root->type) : "empty");
		goto out;
	}
	check_header(&c, root);
	if (!r->kind || !r->kind->managed)
		goto out;
	c.f = r->facts = arena_alloc(a, sizeof(*r->facts));
	for (uint32_t i = 0; i < root->len; i++) {
		const struct hy_node *k = root->v.pairs[i].key;

		if (k->len == 6 && !memcmp(k->text, "status", 6))
			vfind(&c, FND_FIELD_VOLATILE, k, NULL,
			      "status is written by the cluster and is dropped when the file is written");
		else if (!key_eq(k, "apiVersion") && !key_eq(k, "kind") &&
			 !key_eq(k, "metadata") && !key_eq(k, "spec"))
			vfind(&c, FND_FIELD_UNKNOWN, k, NULL, "unknown top-level field %s",
			      v_q(&c, k->text));
	}
	{
		const struct hy_node *spec = hy_get(root, "spec");
		struct sch top = { "spec", T_OBJ, 0, 4, kind_spec_schema(r->kind->id), 0, 0, NULL };

		sch_check(&c, spec, &top);
		kind_check_spec(&c, r->kind->id, spec && spec->type == HY_MAP ? spec : NULL);
	}
	finish_facts(&c);
out:
	r->errors = c.errors;
	r->warnings = c.warnings;
	vctx_release(&c);
	return r;
}

struct val_res *val_tree(struct arena *a, const struct hy_node *root, const char *file,
			 struct fnd_list *fl)
{
	struct hy_doc *d = arena_alloc(a, sizeof(*d));

	d->root = (struct hy_node *)root;
	d->line = 0;
	return val_doc(a, d, file, fl);
}

/* --- file sets ------------------------------------------------------------------------ */

struct val_set {
	struct arena *a;
	struct val_opts opts;
	struct hy_limits lim;
	struct fnd_list fl;
	struct val_res **res; /* taking part in the fabric rules */
	size_t nres, ares;
	struct val_stats st;
	int finished;
};

struct val_set *val_set_new(const struct val_opts *o, const struct hy_limits *lim,
			    size_t max_findings)
{
	static const struct val_opts defo = VAL_OPTS_DEFAULT;
	static const struct hy_limits defl = HY_LIMITS_DEFAULT;
	struct val_set *s = hs_calloc(1, sizeof(*s));

	s->a = arena_new();
	s->opts = o ? *o : defo;
	s->lim = lim ? *lim : defl;
	fnd_list_init(&s->fl, max_findings);
	return s;
}

void val_set_free(struct val_set *s)
{
	if (!s)
		return;
	fnd_list_release(&s->fl);
	free(s->res);
	arena_free(s->a);
	free(s);
}

int val_set_add(struct val_set *s, const char *file, const char *rel, const char *data,
		size_t len, unsigned flags)
{
	struct hy_stream *st = NULL;
	struct val_res *small[8];
	struct val_res **docs;
	const char *fname = arena_strdup(s->a, file ? file : "<input>");
	int rc;

	s->st.files++;
	s->st.bytes += len;
	rc = hy_load(&st, data, len, fname, &s->lim, s->a, &s->fl, NULL);
	if (rc != HS_OK)
		return rc;
	s->st.docs += st->ndocs;
	s->st.nodes += st->nodes;
	docs = st->ndocs <= 8 ? small : hs_malloc(st->ndocs * sizeof(*docs));
	for (uint32_t i = 0; i < st->ndocs; i++) {
		struct val_res *r = val_doc(s->a, &st->docs[i], fname, &s->fl);

		docs[i] = r;
		if (flags & VAL_DOC_ONLY)
			continue;
		if (s->nres == s->ares) {
			s->ares = s->ares ? s->ares * 2 : 1024;
			s->res = hs_realloc(s->res, s->ares * sizeof(*s->res));
		}
		s->res[s->nres++] = r;
	}
	if ((flags & VAL_MANAGED) && rel)
		lay_check_managed(fname, rel, docs, st->ndocs, data, len, &s->fl);
	if (docs != small)
		free(docs);
	return (int)st->ndocs;
}

void val_set_finish(struct val_set *s)
{
	if (s->finished)
		return;
	s->finished = 1;
	val_fabric(s->res, s->nres, &s->opts, &s->fl);
	fnd_sort(&s->fl);
}

struct fnd_list *val_set_findings(struct val_set *s)
{
	return &s->fl;
}

void val_set_stats(const struct val_set *s, struct val_stats *st)
{
	*st = s->st;
	st->arena_bytes = arena_used(s->a);
}
