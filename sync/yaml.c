/* yaml.c: libyaml events into an arena tree with positions, K8s scalar resolution, JSON. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/yaml.h"

/* --- scalar resolution (go-yaml v2, resolve.go) ------------------------- */

static int str_eq(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	return n == m && !memcmp(s, lit, n);
}

static int is_one_of(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (str_eq(s, n, *list))
			return 1;
	return 0;
}

static const char *const yaml_true[] = { "y", "Y", "yes", "Yes", "YES", "true", "True",
					  "TRUE", "on", "On", "ON", NULL };
static const char *const yaml_false[] = { "n", "N", "no", "No", "NO", "false", "False",
					   "FALSE", "off", "Off", "OFF", NULL };
static const char *const yaml_null[] = { "~", "null", "Null", "NULL", NULL };
static const char *const yaml_nan[] = { ".nan", ".NaN", ".NAN", NULL };
static const char *const yaml_pinf[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
static const char *const yaml_ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };

/* The fixed table lookups; 1 when s is one of them. */
static int resolve_map(const char *s, size_t n, struct hy_node *out)
{
	if (n > 6)
		return 0; /* every entry of the table is shorter */
	if (is_one_of(s, n, yaml_true)) {
		out->type = HY_BOOL;
		out->v.b = 1;
	} else if (is_one_of(s, n, yaml_false)) {
		out->type = HY_BOOL;
		out->v.b = 0;
	} else if (is_one_of(s, n, yaml_null)) {
		out->type = HY_NULL;
	} else if (is_one_of(s, n, yaml_nan)) {
		out->type = HY_FLOAT;
		out->v.f = NAN;
	} else if (is_one_of(s, n, yaml_pinf)) {
		out->type = HY_FLOAT;
		out->v.f = INFINITY;
	} else if (is_one_of(s, n, yaml_ninf)) {
		out->type = HY_FLOAT;
		out->v.f = -INFINITY;
	} else {
		return 0;
	}
	return 1;
}

static int digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Go's strconv.ParseUint(s, base, 64) on s[0..n) without sign; base 0 picks
 * the base from a 0x, 0o, 0b or 0 prefix.  0 on success. */
static int parse_uint_go(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;

	if (base == 0) {
		base = 10;
		if (n >= 1 && s[0] == '0') {
			if (n >= 3 && (s[1] == 'x' || s[1] == 'X')) {
				base = 16;
				s += 2;
				n -= 2;
			} else if (n >= 3 && (s[1] == 'o' || s[1] == 'O')) {
				base = 8;
				s += 2;
				n -= 2;
			} else if (n >= 3 && (s[1] == 'b' || s[1] == 'B')) {
				base = 2;
				s += 2;
				n -= 2;
			} else if (n >= 2) {
				base = 8;
				s += 1;
				n -= 1;
			}
		}
	}
	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = digit_val(s[i]);

		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* Go's strconv.ParseInt(s, base, 64): optional sign, then parse_uint_go. */
static int parse_int_go(const char *s, size_t n, int base, int64_t *out)
{
	int neg = 0;
	uint64_t u;

	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	if (parse_uint_go(s, n, base, &u))
		return -1;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = (int64_t)(0 - u);
	} else {
		if (u > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)u;
	}
	return 0;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int yaml_style_float(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	} else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
		if (i < n && s[i] == '.')
			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* strtod on s[0..n) that matched a float syntax; 0 when finite or
 * underflowing, -1 when it overflows (Go then reports ErrRange). */
static int parse_float(const char *s, size_t n, double *out)
{
	char buf[128];
	char *tmp = n < sizeof(buf) ? buf : hs_malloc(n + 1);
	char *end;
	double d;
	int rc = 0;

	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	d = strtod(tmp, &end);
	if (end != tmp + n || (errno == ERANGE && isinf(d)))
		rc = -1;
	if (tmp != buf)
		free(tmp);
	*out = d;
	return rc;
}

void hy_resolve_plain(const char *text, size_t len, struct hy_node *n)
{
	char c;

	n->flags &= (uint16_t)~HY_F_UNSIGNED;
	n->type = HY_STR;
	if (!len) {
		n->type = HY_NULL;
		return;
	}
	c = text[0];
	if (c == 'y' || c == 'Y' || c == 'n' || c == 'N' || c == 't' || c == 'T' ||
	    c == 'f' || c == 'F' || c == 'o' || c == 'O' || c == '~') {
		resolve_map(text, len, n);
		return;
	}
	if (c == '.') {
		double d;

		if (resolve_map(text, len, n))
			return;
		/* strconv.ParseFloat on the whole text; with a leading dot only
		 * \.[0-9]+([eE][-+]?[0-9]+)? can parse */
		if (yaml_style_float(text, len) && !parse_float(text, len, &d)) {
			n->type = HY_FLOAT;
			n->v.f = d;
		}
		return;
	}
	if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
		char buf[128];
		char *plain = len < sizeof(buf) ? buf : hs_malloc(len + 1);
		size_t m = 0;
		int64_t iv;
		uint64_t uv;
		double d;

		if (resolve_map(text, len, n))
			goto out_free;
		/* timestamps (YYYY-...) resolve to strings for interface{} */
		for (size_t i = 0; i < len; i++)
			if (text[i] != '_')
				plain[m++] = text[i];
		if (!parse_int_go(plain, m, 0, &iv)) {
			n->type = HY_INT;
			n->v.i = iv;
		} else if (!parse_uint_go(plain, m, 0, &uv) && plain[0] != '+' && plain[0] != '-') {
			n->type = HY_INT;
			n->v.u = uv;
			n->flags |= HY_F_UNSIGNED;
		} else if (yaml_style_float(plain, m) && !parse_float(plain, m, &d)) {
			n->type = HY_FLOAT;
			n->v.f = d;
		} else if (m > 2 && plain[0] == '0' && plain[1] == 'b' &&
			   !parse_int_go(plain + 2, m - 2, 2, &iv)) {
			n->type = HY_INT;
			n->v.i = iv;
		} else if (m > 3 && plain[0] == '-' && plain[1] == '0' && plain[2] == 'b' &&
			   !parse_int_go(plain + 3, m - 3, 2, &iv)) {
			n->type = HY_INT;
			n->v.i = -iv;
		}
out_free:
		if (plain != buf)
			free(plain);
		return;
	}
}

/* --- the loader ---------------------------------------------------------- */

struct frame {
	struct hy_node *node;
	size_t base; /* first child in the scratch stack */
};

struct anchor {
	const char *name; /* arena copy; NULL = empty slot */
	struct hy_node *node;
};

struct loader {
	yaml_parser_t parser;
	struct arena *a;
	struct hy_limits lim;
	struct fnd_list *fl;
	const char *file;
	const char *data;
	size_t len;
	char *err;

	struct frame *stack;
	uint32_t depth;
	uint32_t stack_alloc;
	struct hy_node **scratch;
	size_t nscratch;
	size_t scratch_alloc;

	struct anchor *anchors; /* open addressing, power-of-two size */
	uint32_t anchors_size;
	uint32_t nanchors;

	struct hy_doc *docs;
	uint32_t ndocs;
	uint32_t docs_alloc;
	uint64_t nodes;

	/* the document being read */
	struct hy_node *root;
	uint32_t doc_line;
	int doc_invalid;
	int hard; /* a hard error stopped the load */
	int rc;
};

static void load_fail(struct loader *L, int rc, enum fnd_code code, uint32_t line,
		      uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void load_fail(struct loader *L, int rc, enum fnd_code code, uint32_t line,
		      uint32_t col, const char *fmt, ...)
{
	char msg[HS_ERRBUF];
	va_list ap;

	if (L->hard)
		return;
	L->hard = 1;
	L->rc = rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		hs_seterr(L->err, "%s:%u:%u: %s", L->file ? L->file : "<input>", line, col, msg);
	else
		hs_seterr(L->err, "%s: %s", L->file ? L->file : "<input>", msg);
	fnd_add(L->fl, code, FND_SEV_DEFAULT, L->file, -1, line, col, NULL, "%s", msg);
}

/* A finding on the current document, which becomes invalid.  The path is
 * that of `at` (a node that stays in the tree) plus `field`; the position is
 * that of `pos`. */
static void doc_finding_at(struct loader *L, enum fnd_code code, const struct hy_node *at,
			   const char *field, const struct hy_node *pos, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void doc_finding_at(struct loader *L, enum fnd_code code, const struct hy_node *at,
			   const char *field, const struct hy_node *pos, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	L->doc_invalid = 1;
	va_start(ap, fmt);
	/* root is set when the document ends (see doc_end) */
	f = fnd_atv(L->fl, code, FND_SEV_DEFAULT, L->file, (int)L->ndocs, NULL, at, field, fmt, ap);
	va_end(ap);
	if (f && pos) {
		f->line = pos->line;
		f->col = pos->col;
	}
}

#define doc_finding(L, code, at, ...) doc_finding_at(L, code, at, NULL, NULL, __VA_ARGS__)

static int count_node(struct loader *L, uint64_t n, const yaml_mark_t *m)
{
	L->nodes += n;
	if (L->nodes > L->lim.max_nodes) {
		load_fail(L, HS_ETOOBIG, FND_YAML_TOO_MANY_NODES, (uint32_t)m->line + 1,
			  (uint32_t)m->column + 1,
			  "the file has more than %llu nodes (aliases counted as what they expand to)",
			  (unsigned long long)L->lim.max_nodes);
		return -1;
	}
	return 0;
}

static struct hy_node *new_node(struct loader *L, enum hy_type t, const yaml_mark_t *m)
{
	struct hy_node *n = arena_alloc_raw(L->a, sizeof(*n));

	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)t;
	n->line = (uint32_t)m->line + 1;
	n->col = (uint32_t)m->column + 1;
	n->text = "";
	return n;
}

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct anchor *anchor_find(struct loader *L, const char *name)
{
	uint32_t mask, i;

	if (!L->anchors_size)
		return NULL;
	mask = L->anchors_size - 1;
	for (i = hash_name(name) & mask; L->anchors[i].name; i = (i + 1) & mask)
		if (!strcmp(L->anchors[i].name, name))
			return &L->anchors[i];
	return &L->anchors[i]; /* the empty slot where it would go */
}

static int anchor_set(struct loader *L, const char *name, struct hy_node *node,
		      const yaml_mark_t *m)
{
	struct anchor *a;

	if (L->nanchors + 1 > L->lim.max_anchors) {
		load_fail(L, HS_ETOOBIG, FND_YAML_ALIAS, (uint32_t)m->line + 1,
			  (uint32_t)m->column + 1, "a document defines more than %u anchors",
			  L->lim.max_anchors);
		return -1;
	}
	if ((L->nanchors + 1) * 2 > L->anchors_size) {
		struct anchor *old = L->anchors;
		uint32_t oldsize = L->anchors_size;

		L->anchors_size = oldsize ? oldsize * 2 : 64;
		L->anchors = hs_calloc(L->anchors_size, sizeof(*L->anchors));
		for (uint32_t i = 0; i < oldsize; i++)
			if (old[i].name)
				*anchor_find(L, old[i].name) = old[i];
		free(old);
	}
	a = anchor_find(L, name);
	if (!a->name) {
		a->name = arena_strdup(L->a, name);
		L->nanchors++;
	}
	a->node = node;
	node->flags |= HY_F_ANCHORED;
	return 0;
}

static void scratch_push(struct loader *L, struct hy_node *n)
{
	if (L->nscratch == L->scratch_alloc) {
		L->scratch_alloc = L->scratch_alloc ? L->scratch_alloc * 2 : 256;
		L->scratch = hs_realloc(L->scratch, L->scratch_alloc * sizeof(*L->scratch));
	}
	L->scratch[L->nscratch++] = n;
}

/* Attach a finished node to its parent (or make it the document root). */
static void add_child(struct loader *L, struct hy_node *n)
{
	if (!L->depth)
		L->root = n;
	else
		scratch_push(L, n);
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static const char TAG_PREFIX[] = "tag:yaml.org,2002:";

/* Apply an explicit tag to a scalar; 0 when fine. */
static void scalar_tag(struct loader *L, struct hy_node *n, const char *tag, int plain)
{
	const char *t;

	if (!strcmp(tag, "!")) {
		n->type = HY_STR;
		return;
	}
	if (strncmp(tag, TAG_PREFIX, sizeof(TAG_PREFIX) - 1)) {
		doc_finding(L, FND_YAML_TAG, n, "tag '%.80s' is not supported (only the standard !!str, !!int, !!float, !!bool, !!null)", tag);
		n->type = HY_STR;
		return;
	}
	t = tag + sizeof(TAG_PREFIX) - 1;
	n->flags |= HY_F_TAGGED;
	if (!strcmp(t, "str") || !strcmp(t, "binary") || !strcmp(t, "timestamp")) {
		n->type = HY_STR;
		return;
	}
	hy_resolve_plain(n->text, n->len, n);
	if (!strcmp(t, "int") && n->type == HY_INT)
		return;
	if (!strcmp(t, "float") && (n->type == HY_FLOAT || n->type == HY_INT)) {
		if (n->type == HY_INT)
			n->v.f = (n->flags & HY_F_UNSIGNED) ? (double)n->v.u : (double)n->v.i;
		n->flags &= (uint16_t)~HY_F_UNSIGNED;
		n->type = HY_FLOAT;
		return;
	}
	if (!strcmp(t, "bool") && n->type == HY_BOOL)
		return;
	if (!strcmp(t, "null") && n->type == HY_NULL)
		return;
	if (!strcmp(t, "merge") && plain && str_eq(n->text, n->len, "<<")) {
		n->type = HY_STR;
		return;
	}
	if (!strcmp(t, "int") || !strcmp(t, "float") || !strcmp(t, "bool") || !strcmp(t, "null"))
		doc_finding(L, FND_YAML_TAG, n, "'%.80s' cannot be read as !!%s", n->text, t);
	else
		doc_finding(L, FND_YAML_TAG, n, "tag '!!%.60s' is not supported on a scalar", t);
	n->type = HY_STR;
	n->flags &= (uint16_t)~HY_F_UNSIGNED;
}

static void on_scalar(struct loader *L, yaml_event_t *e)
{
	struct hy_node *n;
	const yaml_mark_t *m = &e->start_mark;
	size_t len = e->data.scalar.length;

	if (count_node(L, 1, m))
		return;
	n = new_node(L, HY_STR, m);
	if (len > UINT32_MAX) {
		load_fail(L, HS_ETOOBIG, FND_YAML_FILE_TOO_LARGE, n->line, n->col, "a scalar is too long");
		return;
	}
	n->text = arena_strndup(L->a, (const char *)e->data.scalar.value, len);
	n->len = (uint32_t)len;
	n->size = 1;
	switch (e->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		n->style = HY_STYLE_SINGLE;
		break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = HY_STYLE_DOUBLE;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
		n->style = HY_STYLE_LITERAL;
		break;
	case YAML_FOLDED_SCALAR_STYLE:
		n->style = HY_STYLE_FOLDED;
		break;
	default:
		n->style = HY_STYLE_PLAIN;
	}
	if (e->data.scalar.tag)
		scalar_tag(L, n, (const char *)e->data.scalar.tag, n->style == HY_STYLE_PLAIN);
	else if (n->style == HY_STYLE_PLAIN)
		hy_resolve_plain(n->text, n->len, n);
	if (n->type == HY_FLOAT && !isfinite(n->v.f))
		doc_finding(L, FND_YAML_NOT_JSON, n,
			    "'%.40s' is %s, which JSON (and so Kubernetes) cannot represent; quote it if it is text",
			    n->text, isnan(n->v.f) ? "not a number" : "infinite");
	if (e->data.scalar.anchor &&
	    anchor_set(L, (const char *)e->data.scalar.anchor, n, m))
		return;
	add_child(L, n);
}

static void on_start(struct loader *L, yaml_event_t *e, enum hy_type t)
{
	const yaml_mark_t *m = &e->start_mark;
	struct hy_node *n;
	const yaml_char_t *tag, *anchor;
	int flow;

	if (L->depth + 1 > L->lim.max_depth) {
		load_fail(L, HS_ETOOBIG, FND_YAML_TOO_DEEP, (uint32_t)m->line + 1,
			  (uint32_t)m->column + 1, "collections are nested more than %u deep",
			  L->lim.max_depth);
		return;
	}
	if (count_node(L, 1, m))
		return;
	n = new_node(L, t, m);
	if (t == HY_MAP) {
		tag = e->data.mapping_start.tag;
		anchor = e->data.mapping_start.anchor;
		flow = e->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
	} else {
		tag = e->data.sequence_start.tag;
		anchor = e->data.sequence_start.anchor;
		flow = e->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
	}
	n->style = flow ? HY_STYLE_FLOW : HY_STYLE_BLOCK;
	if (tag) {
		const char *want = t == HY_MAP ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq";

		if (strcmp((const char *)tag, want) && strcmp((const char *)tag, "!"))
			doc_finding(L, FND_YAML_TAG, n, "tag '%.80s' is not supported on a %s",
				    (const char *)tag, t == HY_MAP ? "mapping" : "sequence");
		else
			n->flags |= HY_F_TAGGED;
	}
	if (anchor && anchor_set(L, (const char *)anchor, n, m))
		return;
	if (L->depth == L->stack_alloc) {
		L->stack_alloc = L->stack_alloc ? L->stack_alloc * 2 : 16;
		L->stack = hs_realloc(L->stack, L->stack_alloc * sizeof(*L->stack));
	}
	L->stack[L->depth].node = n;
	L->stack[L->depth].base = L->nscratch;
	L->depth++;
}

static void on_seq_end(struct loader *L)
{
	struct frame *f = &L->stack[--L->depth];
	struct hy_node *n = f->node;
	size_t cnt = L->nscratch - f->base;
	uint32_t size = 1;

	n->len = (uint32_t)cnt;
	n->v.items = arena_alloc_raw(L->a, (cnt ? cnt : 1) * sizeof(*n->v.items));
	if (cnt)
		memcpy(n->v.items, L->scratch + f->base, cnt * sizeof(*n->v.items));
	for (size_t i = 0; i < cnt; i++)
		size = sat_add(size, n->v.items[i]->size);
	n->size = size;
	L->nscratch = f->base;
	add_child(L, n);
}

/* --- mapping keys: conversion, merges, duplicates ------------------------- */

/* Turn a scalar key into the string sigs.k8s.io/yaml would use; -1 for a
 * key JSON cannot have (null, unsigned 64-bit). */
static int key_to_string(struct loader *L, struct hy_node *k)
{
	char buf[64];

	switch (k->type) {
	case HY_STR:
		return 0;
	case HY_BOOL:
		snprintf(buf, sizeof(buf), "%s", k->v.b ? "true" : "false");
		break;
	case HY_INT:
		if (k->flags & HY_F_UNSIGNED)
			return -1;
		snprintf(buf, sizeof(buf), "%lld", (long long)k->v.i);
		break;
	case HY_FLOAT:
		if (isnan(k->v.f))
			snprintf(buf, sizeof(buf), ".nan");
		else if (isinf(k->v.f) || fabs(k->v.f) > FLT_MAX)
			/* past float's range the float key is infinite (and converting it
			 * would be undefined) */
			snprintf(buf, sizeof(buf), "%s", k->v.f > 0 ? ".inf" : "-.inf");
		else
			snprintf(buf, sizeof(buf), "%.9g", (double)(float)k->v.f);
		break;
	default:
		return -1;
	}
	k->v.orig = k->text;
	k->text = arena_strdup(L->a, buf);
	k->len = (uint32_t)strlen(buf);
	k->type = HY_STR;
	k->flags |= HY_F_KEY_CONVERTED;
	k->flags &= (uint16_t)~HY_F_UNSIGNED;
	return 0;
}

struct kv {
	struct hy_node *key;
	struct hy_node *val;
	uint32_t prio; /* 0 = written in the mapping, k = k-th merge source */
	uint32_t pos;  /* order of appearance */
	int drop;
};

static int kv_key_cmp(const struct kv *x, const struct kv *y)
{
	uint32_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
	int c = memcmp(x->key->text, y->key->text, n);

	if (c)
		return c;
	return x->key->len < y->key->len ? -1 : x->key->len > y->key->len;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = kv_key_cmp(x, y);

	if (c)
		return c;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int kv_pos_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void dup_key(struct loader *L, const struct hy_node *first, const struct hy_node *again)
{
	if ((again->flags | first->flags) & HY_F_KEY_CONVERTED)
		doc_finding_at(L, FND_YAML_DUPLICATE_KEY, first, NULL, again,
			       "key '%.80s' (line %u) and key '%.80s' (line %u) are the same key '%.80s' for Kubernetes (YAML 1.1 reads yes/no/on/off/y/n as booleans; quote keys meant as text)",
			       first->flags & HY_F_KEY_CONVERTED ? first->v.orig : first->text, first->line,
			       again->flags & HY_F_KEY_CONVERTED ? again->v.orig : again->text, again->line,
			       again->text);
	else
		doc_finding_at(L, FND_YAML_DUPLICATE_KEY, first, NULL, again,
			       "key '%.80s' appears twice in this mapping (first on line %u)", again->text,
			       first->line);
}

static int is_merge_key(const struct hy_node *k)
{
	return k->type == HY_STR && k->style == HY_STYLE_PLAIN && str_eq(k->text, k->len, "<<");
}

static void kv_push(struct kv **v, size_t *n, size_t *alloc, struct hy_node *k,
		    struct hy_node *val, uint32_t prio)
{
	if (*n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		*v = hs_realloc(*v, *alloc * sizeof(**v));
	}
	(*v)[*n].key = k;
	(*v)[*n].val = val;
	(*v)[*n].prio = prio;
	(*v)[*n].pos = (uint32_t)*n;
	(*v)[*n].drop = 0;
	(*n)++;
}

static void on_map_end(struct loader *L)
{
	struct frame *f = &L->stack[--L->depth];
	struct hy_node *n = f->node;
	size_t cnt = L->nscratch - f->base;
	struct hy_node **items = L->scratch ? L->scratch + f->base : NULL;
	struct kv *kv = NULL;
	size_t nkv = 0, alloc = 0, kept = 0;
	uint32_t size = 1, prio = 0;

	/* explicit pairs first, merge sources after (earlier sources win) */
	for (size_t i = 0; i + 1 < cnt; i += 2) {
		struct hy_node *k = items[i], *v = items[i + 1];

		size = sat_add(size, k->size);
		size = sat_add(size, v->size);
		if (is_merge_key(k) && !(k->flags & HY_F_TAGGED))
			continue;
		if (k->type == HY_MAP || k->type == HY_SEQ) {
			doc_finding_at(L, FND_YAML_COMPLEX_KEY, n, NULL, k,
				    "a mapping key is a %s; Kubernetes keys are strings",
				    k->type == HY_MAP ? "mapping" : "sequence");
			continue;
		}
		if (k->type != HY_STR && (k->flags & HY_F_ANCHORED)) {
			/* an alias used as a key: convert a copy, not the shared node */
			struct hy_node *copy = arena_alloc_raw(L->a, sizeof(*copy));

			*copy = *k;
			copy->flags &= (uint16_t)~HY_F_ANCHORED;
			k = copy;
		}
		if (key_to_string(L, k)) {
			doc_finding_at(L, FND_YAML_COMPLEX_KEY, n, NULL, k,
				    "a mapping key is %s, which has no JSON form; quote it",
				    k->type == HY_NULL ? "null" : "a number too large for a signed 64-bit key");
			continue;
		}
		kv_push(&kv, &nkv, &alloc, k, v, 0);
	}
	for (size_t i = 0; i + 1 < cnt; i += 2) {
		struct hy_node *k = items[i], *v = items[i + 1];

		if (!is_merge_key(k) || (k->flags & HY_F_TAGGED))
			continue;
		if (v->type == HY_MAP) {
			prio++;
			for (uint32_t j = 0; j < v->len; j++)
				kv_push(&kv, &nkv, &alloc, v->v.pairs[j].key, v->v.pairs[j].val, prio);
		} else if (v->type == HY_SEQ) {
			for (uint32_t s = 0; s < v->len; s++) {
				struct hy_node *m = v->v.items[s];

				if (m->type != HY_MAP) {
					doc_finding_at(L, FND_YAML_MERGE, n, "<<", m,
						    "a merge (<<) list may only hold mappings, not a %s",
						    hy_type_name(m->type));
					continue;
				}
				prio++;
				for (uint32_t j = 0; j < m->len; j++)
					kv_push(&kv, &nkv, &alloc, m->v.pairs[j].key,
						m->v.pairs[j].val, prio);
			}
		} else {
			doc_finding_at(L, FND_YAML_MERGE, n, "<<", v,
				    "a merge (<<) takes a mapping or a list of mappings, not a %s",
				    hy_type_name(v->type));
		}
	}
	/* duplicates: sort by key then priority; the first of each key wins */
	if (nkv > 1) {
		if (nkv <= 8) {
			for (size_t i = 1; i < nkv; i++) {
				for (size_t j = 0; j < i; j++) {
					if (kv[j].drop || kv_key_cmp(&kv[i], &kv[j]))
						continue;
					/* kv is in priority order already */
					if (kv[i].prio == 0)
						dup_key(L, kv[j].key, kv[i].key);
					kv[i].drop = 1;
					break;
				}
			}
		} else {
			size_t j = 0; /* the last entry kept */

			qsort(kv, nkv, sizeof(*kv), kv_cmp);
			for (size_t i = 1; i < nkv; i++) {
				if (kv_key_cmp(&kv[i], &kv[j])) {
					j = i;
					continue;
				}
				if (kv[i].prio == 0)
					dup_key(L, kv[j].key, kv[i].key);
				kv[i].drop = 1;
			}
			qsort(kv, nkv, sizeof(*kv), kv_pos_cmp);
		}
	}
	for (size_t i = 0; i < nkv; i++)
		kept += !kv[i].drop;
	n->len = (uint32_t)kept;
	n->v.pairs = arena_alloc_raw(L->a, (kept ? kept : 1) * sizeof(*n->v.pairs));
	kept = 0;
	for (size_t i = 0; i < nkv; i++) {
		if (kv[i].drop)
			continue;
		n->v.pairs[kept].key = kv[i].key;
		n->v.pairs[kept].val = kv[i].val;
		kept++;
	}
	free(kv);
	n->size = size;
	L->nscratch = f->base;
	add_child(L, n);
}

static void on_alias(struct loader *L, yaml_event_t *e)
{
	const char *name = (const char *)e->data.alias.anchor;
	struct anchor *a = anchor_find(L, name);
	struct hy_node *n;

	if (!a || !a->name) {
		n = new_node(L, HY_NULL, &e->start_mark);
		n->size = 1;
		doc_finding(L, FND_YAML_ALIAS, n, "alias *%.80s has no anchor &%.80s before it",
			    name, name);
		add_child(L, n);
		return;
	}
	n = a->node;
	if (!n->size) {
		struct hy_node *null = new_node(L, HY_NULL, &e->start_mark);

		null->size = 1;
		doc_finding(L, FND_YAML_ALIAS, null,
			    "alias *%.80s refers to a collection that contains it", name);
		add_child(L, null);
		return;
	}
	if (L->nodes + n->size > L->lim.max_nodes) {
		load_fail(L, HS_ETOOBIG, FND_YAML_ALIAS, (uint32_t)e->start_mark.line + 1,
			  (uint32_t)e->start_mark.column + 1,
			  "aliases expand to more than %llu nodes (a billion-laughs file?)",
			  (unsigned long long)L->lim.max_nodes);
		return;
	}
	L->nodes += n->size;
	add_child(L, n);
}

static void doc_start(struct loader *L, yaml_event_t *e)
{
	L->root = NULL;
	L->doc_invalid = 0;
	L->doc_line = (uint32_t)e->start_mark.line + 1;
	if (L->ndocs && !L->docs[L->ndocs - 1].end_line)
		L->docs[L->ndocs - 1].end_line = L->doc_line;
	for (uint32_t i = 0; i < L->anchors_size; i++)
		L->anchors[i].name = NULL;
	L->nanchors = 0;
}

static void doc_end(struct loader *L, size_t fnd_first)
{
	struct hy_node *r = L->root;
	struct hy_doc *d;

	if (!r)
		return;
	/* an empty document (nothing, or only comments, between ---) */
	if (r->type == HY_NULL && r->style == HY_STYLE_PLAIN && !r->len &&
	    !(r->flags & (HY_F_TAGGED | HY_F_ANCHORED)))
		return;
	if (L->ndocs >= L->lim.max_docs) {
		load_fail(L, HS_ETOOBIG, FND_YAML_TOO_MANY_DOCUMENTS, L->doc_line, 1,
			  "the file has more than %u documents", L->lim.max_docs);
		return;
	}
	if (L->ndocs == L->docs_alloc) {
		L->docs_alloc = L->docs_alloc ? L->docs_alloc * 2 : 8;
		L->docs = hs_realloc(L->docs, L->docs_alloc * sizeof(*L->docs));
	}
	d = &L->docs[L->ndocs];
	d->root = r;
	d->index = L->ndocs;
	d->line = L->doc_line;
	d->end_line = 0;
	d->flags = L->doc_invalid ? HY_DOC_INVALID : 0;
	if (L->fl) {
		for (size_t i = fnd_first; i < L->fl->n; i++)
			if (L->fl->v[i].at && !L->fl->v[i].root)
				L->fl->v[i].root = r;
		fnd_resolve_paths(L->fl);
	}
	L->ndocs++;
}

/* Byte offset of the first invalid UTF-8 sequence, or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			/* fast path over ASCII, 8 bytes at a time */
			while (i + 8 <= len) {
				uint64_t w;

				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			if (i < len && s[i] < 0x80)
				i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			k = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			k = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			k = 4;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (i + k > len)
			return i;
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += k;
	}
	return len;
}

/* Line and column (1-based, columns in characters) of byte offset off. */
static void offset_position(const char *s, size_t off, uint32_t *line, uint32_t *col)
{
	uint32_t l = 1, c = 1;

	for (size_t i = 0; i < off; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b == '\n' || (b == '\r' && (i + 1 >= off || s[i + 1] != '\n'))) {
			l++;
			c = 1;
		} else if ((b & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* The byte at libyaml's (0-based) line and column, or -1. */
static int char_at(const char *s, size_t len, size_t line, size_t col)
{
	size_t i = 0, l = 0, c = 0;

	while (i < len && l < line) {
		if (s[i] == '\n')
			l++;
		else if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
			l++;
		i++;
	}
	while (i < len && c < col) {
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
	}
	return i < len ? (unsigned char)s[i] : -1;
}

static void parser_failed(struct loader *L)
{
	yaml_parser_t *p = &L->parser;
	uint32_t line, col;
	const char *problem = p->problem ? p->problem : "unknown error";

	if (p->error == YAML_READER_ERROR) {
		offset_position(L->data, p->problem_offset < L->len ? p->problem_offset : L->len,
				&line, &col);
		load_fail(L, HS_EINVAL, FND_YAML_ENCODING, line, col, "%s", problem);
		return;
	}
	if (p->error == YAML_MEMORY_ERROR) {
		load_fail(L, HS_ETOOBIG, FND_YAML_SYNTAX, 0, 0, "the YAML parser ran out of memory");
		return;
	}
	line = (uint32_t)p->problem_mark.line + 1;
	col = (uint32_t)p->problem_mark.column + 1;
	if (char_at(L->data, L->len, p->problem_mark.line, p->problem_mark.column) == '\t') {
		load_fail(L, HS_EINVAL, FND_YAML_SYNTAX, line, col,
			  "a tab character where YAML needs spaces (indent with spaces, not tabs)");
		return;
	}
	if (p->context)
		load_fail(L, HS_EINVAL, FND_YAML_SYNTAX, line, col, "%s %s (line %u)", problem,
			  p->context, (unsigned)p->context_mark.line + 1);
	else
		load_fail(L, HS_EINVAL, FND_YAML_SYNTAX, line, col, "%s", problem);
}

int hy_load(struct hy_stream **out, const char *data, size_t len,
	    const char *file, const struct hy_limits *lim, struct arena *arena,
	    struct fnd_list *findings, char *err)
{
	static const struct hy_limits deflim = HY_LIMITS_DEFAULT;
	struct loader L;
	struct hy_stream *s = NULL;
	struct arena *own = NULL;
	size_t bad, fnd_first = 0;
	int done = 0;

	*out = NULL;
	memset(&L, 0, sizeof(L));
	L.lim = lim ? *lim : deflim;
	L.fl = findings;
	L.file = file;
	L.data = data;
	L.len = len;
	L.err = err;
	if (len > L.lim.max_bytes) {
		load_fail(&L, HS_ETOOBIG, FND_YAML_FILE_TOO_LARGE, 0, 0,
			  "the file is %zu bytes, over the limit of %zu", len, L.lim.max_bytes);
		return L.rc;
	}
	bad = utf8_invalid_at((const unsigned char *)data, len);
	if (bad < len) {
		uint32_t line, col;

		offset_position(data, bad, &line, &col);
		load_fail(&L, HS_EINVAL, FND_YAML_ENCODING, line, col,
			  "invalid UTF-8 (byte 0x%02x at offset %zu); YAML files must be UTF-8",
			  (unsigned char)data[bad], bad);
		return L.rc;
	}
	if (!arena)
		arena = own = arena_new();
	L.a = arena;
	if (!yaml_parser_initialize(&L.parser)) {
		arena_free(own);
		hs_seterr(err, "cannot initialize the YAML parser");
		return HS_EINVAL;
	}
	yaml_parser_set_input_string(&L.parser, (const unsigned char *)data, len);
	while (!done && !L.hard) {
		yaml_event_t e;

		if (!yaml_parser_parse(&L.parser, &e)) {
			parser_failed(&L);
			break;
		}
		switch (e.type) {
		case YAML_DOCUMENT_START_EVENT:
			fnd_first = findings ? findings->n : 0;
			doc_start(&L, &e);
			break;
		case YAML_DOCUMENT_END_EVENT:
			doc_end(&L, fnd_first);
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(&L, &e);
			break;
		case YAML_SEQUENCE_START_EVENT:
			on_start(&L, &e, HY_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			on_start(&L, &e, HY_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
			on_seq_end(&L);
			break;
		case YAML_MAPPING_END_EVENT:
			on_map_end(&L);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(&L, &e);
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&L.parser);
	if (!L.hard) {
		s = arena_alloc(arena, sizeof(*s));
		s->arena = arena;
		s->own_arena = own != NULL;
		s->ndocs = L.ndocs;
		s->docs = arena_alloc_raw(arena, (L.ndocs ? L.ndocs : 1) * sizeof(*s->docs));
		if (L.ndocs)
			memcpy(s->docs, L.docs, L.ndocs * sizeof(*s->docs));
		s->nodes = L.nodes;
		s->bytes = len;
	} else if (findings) {
		/* findings of this load point into a tree that is going away */
		for (size_t i = 0; i < findings->n; i++) {
			if (findings->v[i].at && !findings->v[i].root) {
				findings->v[i].at = NULL;
				findings->pending--;
				if (!findings->v[i].path)
					findings->v[i].path = hs_strdup("");
			}
		}
	}
	free(L.stack);
	free(L.scratch);
	free(L.anchors);
	free(L.docs);
	if (L.hard) {
		arena_free(own);
		return L.rc;
	}
	*out = s;
	return HS_OK;
}

void hy_stream_free(struct hy_stream *s)
{
	if (s && s->own_arena)
		arena_free(s->arena);
}

/* --- accessors ------------------------------------------------------------ */

const struct hy_node *hy_get(const struct hy_node *n, const char *key)
{
	size_t klen;

	if (!n || n->type != HY_MAP)
		return NULL;
	klen = strlen(key);
	for (uint32_t i = 0; i < n->len; i++) {
		const struct hy_node *k = n->v.pairs[i].key;

		if (k->len == klen && !memcmp(k->text, key, klen))
			return n->v.pairs[i].val;
	}
	return NULL;
}

const char *hy_str(const struct hy_node *n)
{
	return n && n->type == HY_STR ? n->text : NULL;
}

const char *hy_get_str(const struct hy_node *n, const char *key)
{
	return hy_str(hy_get(n, key));
}

int hy_is(const struct hy_node *n, enum hy_type t)
{
	return n && n->type == t;
}

const char *hy_type_name(enum hy_type t)
{
	switch (t) {
	case HY_NULL:
		return "null";
	case HY_BOOL:
		return "boolean";
	case HY_INT:
		return "integer";
	case HY_FLOAT:
		return "float";
	case HY_STR:
		return "string";
	case HY_MAP:
		return "mapping";
	case HY_SEQ:
		return "sequence";
	}
	return "value";
}

struct hy_node *hy_new_scalar(struct arena *a, enum hy_type t)
{
	struct hy_node *n = arena_alloc(a, sizeof(*n));

	n->type = (uint8_t)t;
	n->text = "";
	n->size = 1;
	return n;
}

struct hy_node *hy_new_str(struct arena *a, const char *s, size_t len)
{
	struct hy_node *n = hy_new_scalar(a, HY_STR);

	n->text = arena_strndup(a, s, len);
	n->len = (uint32_t)len;
	return n;
}

/* --- JSON ---------------------------------------------------------------- */

json_t *hy_to_json(const struct hy_node *n, char *err)
{
	json_t *j = NULL;

	if (!n)
		return json_null();
	switch (n->type) {
	case HY_NULL:
		return json_null();
	case HY_BOOL:
		return json_boolean(n->v.b);
	case HY_INT:
		if (n->flags & HY_F_UNSIGNED)
			return json_real((double)n->v.u);
		return json_integer((json_int_t)n->v.i);
	case HY_FLOAT:
		if (!isfinite(n->v.f)) {
			hs_seterr(err, "line %u: %s has no JSON form", n->line,
				  isnan(n->v.f) ? "NaN" : "infinity");
			return NULL;
		}
		return json_real(n->v.f);
	case HY_STR:
		j = json_stringn(n->text, n->len);
		if (!j)
			hs_seterr(err, "line %u: a string is not valid UTF-8", n->line);
		return j;
	case HY_SEQ:
		j = json_array();
		for (uint32_t i = 0; i < n->len; i++) {
			json_t *c = hy_to_json(n->v.items[i], err);

			if (!c) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, c);
		}
		return j;
	case HY_MAP:
		j = json_object();
		for (uint32_t i = 0; i < n->len; i++) {
			const struct hy_node *k = n->v.pairs[i].key;
			json_t *c = hy_to_json(n->v.pairs[i].val, err);

			if (!c || json_object_setn_new(j, k->text, k->len, c)) {
				if (c)
					hs_seterr(err, "line %u: key is not valid UTF-8", k->line);
				json_decref(j);
				return NULL;
			}
		}
		return j;
	}
	return json_null();
}

static struct hy_node *from_json(struct arena *a, const json_t *j, uint32_t depth,
				 uint32_t max_depth, char *err)
{
	struct hy_node *n;

	if (depth > max_depth) {
		hs_seterr(err, "JSON nests deeper than %u", max_depth);
		return NULL;
	}
	switch (json_typeof(j)) {
	case JSON_NULL:
		return hy_new_scalar(a, HY_NULL);
	case JSON_TRUE:
	case JSON_FALSE:
		n = hy_new_scalar(a, HY_BOOL);
		n->v.b = json_is_true(j);
		return n;
	case JSON_INTEGER:
		n = hy_new_scalar(a, HY_INT);
		n->v.i = (int64_t)json_integer_value(j);
		return n;
	case JSON_REAL:
		n = hy_new_scalar(a, HY_FLOAT);
		n->v.f = json_real_value(j);
		if (!isfinite(n->v.f)) {
			hs_seterr(err, "JSON holds a non-finite number");
			return NULL;
		}
		return n;
	case JSON_STRING:
		return hy_new_str(a, json_string_value(j), json_string_length(j));
	case JSON_ARRAY: {
		size_t cnt = json_array_size(j);
		uint32_t size = 1;

		n = hy_new_scalar(a, HY_SEQ);
		n->len = (uint32_t)cnt;
		n->v.items = arena_alloc(a, (cnt ? cnt : 1) * sizeof(*n->v.items));
		for (size_t i = 0; i < cnt; i++) {
			n->v.items[i] = from_json(a, json_array_get(j, i), depth + 1, max_depth, err);
			if (!n->v.items[i])
				return NULL;
			size = sat_add(size, n->v.items[i]->size);
		}
		n->size = size;
		return n;
	}
	case JSON_OBJECT: {
		size_t cnt = json_object_size(j), i = 0;
		uint32_t size = 1;
		const char *key;
		size_t klen;
		json_t *v;
		void *tmp;

		n = hy_new_scalar(a, HY_MAP);
		n->len = (uint32_t)cnt;
		n->v.pairs = arena_alloc(a, (cnt ? cnt : 1) * sizeof(*n->v.pairs));
		json_object_keylen_foreach_safe((json_t *)j, tmp, key, klen, v) {
			n->v.pairs[i].key = hy_new_str(a, key, klen);
			n->v.pairs[i].val = from_json(a, v, depth + 1, max_depth, err);
			if (!n->v.pairs[i].val)
				return NULL;
			size = sat_add(size, n->v.pairs[i].val->size + 1);
			i++;
		}
		n->size = size;
		return n;
	}
	}
	return hy_new_scalar(a, HY_NULL);
}

struct hy_node *hy_from_json(struct arena *a, const json_t *j, uint32_t max_depth, char *err)
{
	if (!j) {
		hs_seterr(err, "no JSON value");
		return NULL;
	}
	return from_json(a, j, 0, max_depth ? max_depth : HY_MAX_DEPTH, err);
}

int hy_equal(const struct hy_node *a, const struct hy_node *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case HY_NULL:
		return 1;
	case HY_BOOL:
		return !a->v.b == !b->v.b;
	case HY_INT:
		return (a->flags & HY_F_UNSIGNED) == (b->flags & HY_F_UNSIGNED) && a->v.u == b->v.u;
	case HY_FLOAT:
		return a->v.f == b->v.f || (isnan(a->v.f) && isnan(b->v.f));
	case HY_STR:
		return a->len == b->len && !memcmp(a->text, b->text, a->len);
	case HY_SEQ:
		if (a->len != b->len)
			return 0;
		for (uint32_t i = 0; i < a->len; i++)
			if (!hy_equal(a->v.items[i], b->v.items[i]))
				return 0;
		return 1;
	case HY_MAP:
		if (a->len != b->len)
			return 0;
		for (uint32_t i = 0; i < a->len; i++) {
			const struct hy_node *k = a->v.pairs[i].key, *bv = NULL;

			for (uint32_t j = 0; j < b->len; j++) {
				const struct hy_node *bk = b->v.pairs[j].key;

				if (bk->len == k->len && !memcmp(bk->text, k->text, k->len)) {
					bv = b->v.pairs[j].val;
					break;
				}
			}
			if (!bv || !hy_equal(a->v.pairs[i].val, bv))
				return 0;
		}
		return 1;
	}
	return 0;
}
