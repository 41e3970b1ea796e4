/* emit.c: canonical YAML printer with a resolver-checked quoting decision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/emit.h"
#include "sync/kinds.h"

/* Long implicit keys are not allowed in YAML (1024 characters); past this
 * we write the explicit "? key" form. */
#define EMIT_KEY_MAX 1000

struct em {
	struct hs_buf *b;
	int rc;
};

static void put(struct em *e, const char *s, size_t n)
{
	if (e->rc == HS_OK && n)
		e->rc = hs_buf_add(e->b, s, n);
}

static void puts_(struct em *e, const char *s)
{
	put(e, s, strlen(s));
}

static void putc_(struct em *e, char c)
{
	if (e->rc == HS_OK)
		e->rc = hs_buf_addch(e->b, c);
}

static void indent(struct em *e, int n)
{
	static const char spaces[] = "                                ";

	while (n > 0 && e->rc == HS_OK) {
		int k = n < 32 ? n : 32;

		put(e, spaces, (size_t)k);
		n -= k;
	}
}

/* --- characters ----------------------------------------------------------- */

/* Decode one UTF-8 character at s[i] (input is valid UTF-8); returns its
 * length and sets *cp. */
static size_t utf8_next(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
	unsigned char c = s[i];

	if (c < 0x80 || i + 1 >= n) {
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0) {
		*cp = ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
		return 2;
	}
	if ((c & 0xF0) == 0xE0 && i + 2 < n) {
		*cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) |
		      (s[i + 2] & 0x3F);
		return 3;
	}
	if (i + 3 < n) {
		*cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
		      ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
		return 4;
	}
	*cp = 0xFFFD;
	return 1;
}

/* Printable the way libyaml means it, excluding line breaks and tab. */
static int printable(uint32_t cp)
{
	if (cp >= 0x20 && cp <= 0x7E)
		return 1;
	if (cp == 0x2028 || cp == 0x2029) /* line and paragraph separators break lines */
		return 0;
	if (cp >= 0xA0 && cp <= 0xD7FF)
		return 1;
	if (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF)
		return 1;
	return cp >= 0x10000 && cp <= 0x10FFFF;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ : YAML 1.1 base 60 */
static int base60(const char *s, size_t n)
{
	size_t i = 0, groups = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
		i++;
	while (i < n && s[i] == ':') {
		size_t d = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9' && i - d < 2)
			i++;
		if (i == d || (i - d == 2 && s[d] > '5'))
			return 0;
		groups++;
	}
	if (!groups)
		return 0;
	if (i < n && s[i] == '.')
		for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
			;
	return i == n;
}

static int looks_like_date(const char *s, size_t n)
{
	return n >= 6 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	       s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9' && s[4] == '-' &&
	       s[5] >= '0' && s[5] <= '9';
}

static int plain_first_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '/' || c == '.' || c >= 0x80;
}

static int plain_ok(const char *s, size_t n, int is_key)
{
	const unsigned char *u = (const unsigned char *)s;
	struct hy_node probe;

	if (!n || !plain_first_ok(u[0]))
		return 0;
	if (is_key && n > EMIT_KEY_MAX)
		return 0;
	if (s[n - 1] == ' ' || s[n - 1] == ':')
		return 0;
	if (n >= 3 && (!memcmp(s, "...", 3) || !memcmp(s, "---", 3)))
		return 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_next(u, n, i, &cp);

		if (!printable(cp))
			return 0;
		if (cp == ':' && i + 1 < n && s[i + 1] == ' ')
			return 0;
		if (cp == '#' && i > 0 && s[i - 1] == ' ')
			return 0;
		i += k;
	}
	memset(&probe, 0, sizeof(probe));
	hy_resolve_plain(s, n, &probe);
	if (probe.type != HY_STR)
		return 0;
	if (base60(s, n) || looks_like_date(s, n))
		return 0;
	if ((n == 1 && s[0] == '=') || (n == 2 && !memcmp(s, "<<", 2)))
		return 0;
	return 1;
}

static int single_ok(const char *s, size_t n, int is_key)
{
	const unsigned char *u = (const unsigned char *)s;

	(void)is_key;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_next(u, n, i, &cp);

		if (!printable(cp))
			return 0;
		i += k;
	}
	return 1;
}

/* A literal block reproduces s exactly: no control characters but LF, no
 * leading space or break, at most one trailing break, no line made only of
 * spaces that could be read as indentation. */
static int literal_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t line_start = 0;
	int has_break = 0;

	if (!n || s[0] == ' ' || s[0] == '\n')
		return 0;
	if (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n')
		return 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_next(u, n, i, &cp);

		if (cp == '\n') {
			/* a line of only spaces, or trailing spaces, is kept by a literal
			 * block but is easy to break; leave such text double-quoted */
			if (i > line_start && s[i - 1] == ' ')
				return 0;
			has_break = 1;
			line_start = i + 1;
		} else if (!printable(cp)) {
			return 0;
		}
		i += k;
	}
	if (n > line_start && s[n - 1] == ' ')
		return 0;
	return has_break;
}

enum emit_style emit_string_style(const char *s, size_t len, int is_key)
{
	if (plain_ok(s, len, is_key))
		return EMIT_PLAIN;
	if (!is_key && literal_ok(s, len))
		return EMIT_LITERAL;
	if (single_ok(s, len, is_key))
		return EMIT_SINGLE;
	return EMIT_DOUBLE;
}

void emit_float_text(double f, char *buf, size_t size)
{
	char tmp[64];
	char *e;

	if (isnan(f)) {
		snprintf(buf, size, ".nan");
		return;
	}
	if (isinf(f)) {
		snprintf(buf, size, "%s", f > 0 ? ".inf" : "-.inf");
		return;
	}
	tmp[0] = '\0';
	if (fabs(f) >= 1e-4 && fabs(f) < 1e16) {
		/* plain decimals when they are short enough: 1000.0, 0.25 */
		for (int d = 0; d <= 20; d++) {
			snprintf(tmp, sizeof(tmp), "%.*f", d, f);
			if (strtod(tmp, NULL) == f)
				break;
			tmp[0] = '\0';
		}
	}
	if (!tmp[0] || f == 0) {
		for (int p = 1; p <= 17; p++) {
			snprintf(tmp, sizeof(tmp), "%.*g", p, f);
			if (strtod(tmp, NULL) == f)
				break;
		}
	}
	e = strpbrk(tmp, "eE");
	if (!strchr(tmp, '.')) {
		if (e) {
			char exp[32];

			snprintf(exp, sizeof(exp), "%s", e);
			*e = '\0';
			snprintf(buf, size, "%s.0%s", tmp, exp);
			return;
		}
		snprintf(buf, size, "%s.0", tmp);
		return;
	}
	snprintf(buf, size, "%s", tmp);
}

/* --- scalars --------------------------------------------------------------- */

static void put_single(struct em *e, const char *s, size_t n)
{
	putc_(e, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			putc_(e, '\'');
		putc_(e, s[i]);
	}
	putc_(e, '\'');
}

static void put_double(struct em *e, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[16];

	putc_(e, '"');
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_next(u, n, i, &cp);

		switch (cp) {
		case '"':
			puts_(e, "\\\"");
			break;
		case '\\':
			puts_(e, "\\\\");
			break;
		case 0:
			puts_(e, "\\0");
			break;
		case '\a':
			puts_(e, "\\a");
			break;
		case '\b':
			puts_(e, "\\b");
			break;
		case '\t':
			puts_(e, "\\t");
			break;
		case '\n':
			puts_(e, "\\n");
			break;
		case '\v':
			puts_(e, "\\v");
			break;
		case '\f':
			puts_(e, "\\f");
			break;
		case '\r':
			puts_(e, "\\r");
			break;
		case 0x1B:
			puts_(e, "\\e");
			break;
		case 0x85:
			puts_(e, "\\N");
			break;
		case 0x2028:
			puts_(e, "\\L");
			break;
		case 0x2029:
			puts_(e, "\\P");
			break;
		default:
			if (printable(cp)) {
				put(e, s + i, k);
			} else {
				if (cp <= 0xFF)
					snprintf(esc, sizeof(esc), "\\x%02X", (unsigned)cp);
				else if (cp <= 0xFFFF)
					snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)cp);
				else
					snprintf(esc, sizeof(esc), "\\U%08X", (unsigned)cp);
				puts_(e, esc);
			}
		}
		i += k;
	}
	putc_(e, '"');
}

static void put_literal(struct em *e, const char *s, size_t n, int ind)
{
	size_t start = 0;

	if (s[n - 1] == '\n') {
		puts_(e, "|\n");
		n--; /* the one trailing break is the clip chomping's */
	} else {
		puts_(e, "|-\n");
	}
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '\n') {
			if (i > start) {
				indent(e, ind);
				put(e, s + start, i - start);
			}
			putc_(e, '\n');
			start = i + 1;
		}
	}
}

static void put_string(struct em *e, const struct hy_node *n, enum emit_style st)
{
	switch (st) {
	case EMIT_PLAIN:
		put(e, n->text, n->len);
		break;
	case EMIT_SINGLE:
		put_single(e, n->text, n->len);
		break;
	default:
		put_double(e, n->text, n->len);
	}
}

/* A scalar on the current line (strings never as literal blocks here). */
static void put_inline_scalar(struct em *e, const struct hy_node *n, int is_key)
{
	char buf[64];

	switch (n->type) {
	case HY_NULL:
		puts_(e, "null");
		break;
	case HY_BOOL:
		puts_(e, n->v.b ? "true" : "false");
		break;
	case HY_INT:
		if (n->flags & HY_F_UNSIGNED)
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n->v.u);
		else
			snprintf(buf, sizeof(buf), "%lld", (long long)n->v.i);
		puts_(e, buf);
		break;
	case HY_FLOAT:
		emit_float_text(n->v.f, buf, sizeof(buf));
		puts_(e, buf);
		break;
	case HY_STR:
		put_string(e, n, emit_string_style(n->text, n->len, is_key));
		break;
	case HY_MAP:
		puts_(e, "{}");
		break;
	case HY_SEQ:
		puts_(e, "[]");
		break;
	}
}

/* --- collections ------------------------------------------------------------ */

/* Natural order: runs of digits compare as numbers (E1/2 before E1/17),
 * everything else bytewise; equal-looking keys ("1" and "01") fall back to
 * plain byte order, so this is a total order. */
static int key_cmp(const struct hy_node *a, const struct hy_node *b)
{
	const unsigned char *x = (const unsigned char *)a->text, *y = (const unsigned char *)b->text;
	size_t i = 0, j = 0, n = a->len, m = b->len, k;
	int c;

	while (i < n && j < m) {
		if (x[i] >= '0' && x[i] <= '9' && y[j] >= '0' && y[j] <= '9') {
			size_t si = i, sj = j, li, lj;

			while (si < n && x[si] == '0')
				si++;
			while (sj < m && y[sj] == '0')
				sj++;
			for (li = si; li < n && x[li] >= '0' && x[li] <= '9'; li++)
				;
			for (lj = sj; lj < m && y[lj] >= '0' && y[lj] <= '9'; lj++)
				;
			if (li - si != lj - sj)
				return li - si < lj - sj ? -1 : 1;
			c = memcmp(x + si, y + sj, li - si);
			if (c)
				return c;
			i = li;
			j = lj;
			continue;
		}
		if (x[i] != y[j])
			return x[i] < y[j] ? -1 : 1;
		i++;
		j++;
	}
	if ((i < n) != (j < m))
		return i < n ? 1 : -1;
	k = n < m ? n : m;
	c = memcmp(x, y, k);
	if (c)
		return c;
	return n < m ? -1 : n > m;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct hy_pair *a = *(const struct hy_pair *const *)x;
	const struct hy_pair *b = *(const struct hy_pair *const *)y;

	return key_cmp(a->key, b->key);
}

static void emit_value(struct em *e, const struct hy_node *v, int ind);
static void emit_seq(struct em *e, const struct hy_node *s, int ind, int first_inline);

/* "key:" (or "? key\n<ind>:" for a key too long to be implicit). */
static void emit_key(struct em *e, const struct hy_node *k, int ind)
{
	if (k->len > EMIT_KEY_MAX) {
		puts_(e, "? ");
		put_inline_scalar(e, k, 0);
		putc_(e, '\n');
		indent(e, ind);
		putc_(e, ':');
		return;
	}
	put_inline_scalar(e, k, 1);
	putc_(e, ':');
}

/* The pairs of a map in the given order, at indent ind; the first on the
 * current line when first_inline. */
static void emit_pairs(struct em *e, const struct hy_pair *const *pairs, uint32_t n,
		       int ind, int first_inline)
{
	for (uint32_t i = 0; i < n && e->rc == HS_OK; i++) {
		if (i || !first_inline)
			indent(e, ind);
		emit_key(e, pairs[i]->key, ind);
		emit_value(e, pairs[i]->val, ind);
	}
}

static void emit_map(struct em *e, const struct hy_node *m, int ind, int first_inline)
{
	const struct hy_pair *small[32];
	const struct hy_pair **v = m->len <= 32 ? small : hs_malloc(m->len * sizeof(*v));

	for (uint32_t i = 0; i < m->len; i++)
		v[i] = &m->v.pairs[i];
	if (m->len > 1)
		qsort(v, m->len, sizeof(*v), pair_cmp);
	emit_pairs(e, v, m->len, ind, first_inline);
	if (v != small)
		free(v);
}

/* What follows "key:" for a key at indent ind. */
static void emit_value(struct em *e, const struct hy_node *v, int ind)
{
	if (v->type == HY_MAP && v->len) {
		putc_(e, '\n');
		emit_map(e, v, ind + 2, 0);
	} else if (v->type == HY_SEQ && v->len) {
		putc_(e, '\n');
		emit_seq(e, v, ind, 0);
	} else if (v->type == HY_STR) {
		enum emit_style st = emit_string_style(v->text, v->len, 0);

		putc_(e, ' ');
		if (st == EMIT_LITERAL) {
			put_literal(e, v->text, v->len, ind + 2);
		} else {
			put_string(e, v, st);
			putc_(e, '\n');
		}
	} else {
		putc_(e, ' ');
		put_inline_scalar(e, v, 0);
		putc_(e, '\n');
	}
}

static void emit_seq(struct em *e, const struct hy_node *s, int ind, int first_inline)
{
	for (uint32_t i = 0; i < s->len && e->rc == HS_OK; i++) {
		const struct hy_node *it = s->v.items[i];

		if (i || !first_inline)
			indent(e, ind);
		puts_(e, "- ");
		if (it->type == HY_MAP && it->len) {
			emit_map(e, it, ind + 2, 1);
		} else if (it->type == HY_SEQ && it->len) {
			emit_seq(e, it, ind + 2, 1);
		} else if (it->type == HY_STR) {
			enum emit_style st = emit_string_style(it->text, it->len, 0);

			if (st == EMIT_LITERAL) {
				put_literal(e, it->text, it->len, ind + 2);
			} else {
				put_string(e, it, st);
				putc_(e, '\n');
			}
		} else {
			put_inline_scalar(e, it, 0);
			putc_(e, '\n');
		}
	}
}

static void emit_root(struct em *e, const struct hy_node *n)
{
	if (n->type == HY_MAP && n->len) {
		emit_map(e, n, 0, 0);
	} else if (n->type == HY_SEQ && n->len) {
		emit_seq(e, n, 0, 0);
	} else if (n->type == HY_STR) {
		/* a top-level string: never plain-ambiguous with document markers */
		if (emit_string_style(n->text, n->len, 1) == EMIT_PLAIN)
			put(e, n->text, n->len);
		else if (single_ok(n->text, n->len, 0))
			put_single(e, n->text, n->len);
		else
			put_double(e, n->text, n->len);
		putc_(e, '\n');
	} else {
		put_inline_scalar(e, n, 0);
		putc_(e, '\n');
	}
}

int emit_doc(struct hs_buf *out, const struct hy_node *n)
{
	struct em e = { out, HS_OK };

	if (!n)
		return HS_EINVAL;
	emit_root(&e, n);
	return e.rc;
}

/* --- managed files ------------------------------------------------------------ */

static int key_is(const struct hy_node *k, const char *s)
{
	size_t n = strlen(s);

	return k->len == n && !memcmp(k->text, s, n);
}

static int has_prefix(const char *s, size_t n, const char *p)
{
	size_t m = strlen(p);

	return n >= m && !memcmp(s, p, m);
}

static int contains(const char *s, size_t n, const char *p)
{
	size_t m = strlen(p);

	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(s + i, p, m))
			return 1;
	return 0;
}

int emit_is_volatile(const char *where, const char *key, size_t n)
{
	static const char *const meta[] = {
		"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", NULL
	};

	if (!strcmp(where, "metadata")) {
		for (int i = 0; meta[i]; i++)
			if (strlen(meta[i]) == n && !memcmp(meta[i], key, n))
				return 1;
		return 0;
	}
	if (!strcmp(where, "annotations"))
		return has_prefix(key, n, "hnp.githedgehog.com/") ||
		       (n == 48 && !memcmp(key, "kubectl.kubernetes.io/last-applied-configuration", 48));
	if (!strcmp(where, "labels"))
		return contains(key, n, "fabric.githedgehog.com/");
	return 0;
}

/* A map with the volatile keys of `where` left out, sorted; returns the
 * number kept in *v (allocated). */
static uint32_t filtered_pairs(const struct hy_node *m, const char *where,
			       const struct hy_pair ***v)
{
	uint32_t k = 0;

	*v = hs_malloc((m->len ? m->len : 1) * sizeof(**v));
	for (uint32_t i = 0; i < m->len; i++) {
		const struct hy_node *key = m->v.pairs[i].key;

		if (where && emit_is_volatile(where, key->text, key->len))
			continue;
		(*v)[k++] = &m->v.pairs[i];
	}
	if (k > 1)
		qsort(*v, k, sizeof(**v), pair_cmp);
	return k;
}

/* annotations or labels with volatile keys dropped; nothing if none left */
static void emit_filtered_map_pair(struct em *e, const struct hy_pair *p, const char *where,
				   int ind)
{
	const struct hy_pair **v;
	uint32_t k;

	if (p->val->type != HY_MAP) {
		indent(e, ind);
		emit_key(e, p->key, ind);
		emit_value(e, p->val, ind);
		return;
	}
	k = filtered_pairs(p->val, where, &v);
	if (k || !p->val->len) {
		indent(e, ind);
		emit_key(e, p->key, ind);
		if (!k) {
			puts_(e, " {}\n");
		} else {
			putc_(e, '\n');
			emit_pairs(e, v, k, ind + 2, 0);
		}
	}
	free(v);
}

static void emit_metadata(struct em *e, const struct hy_node *md)
{
	const struct hy_node *name = hy_get(md, "name");
	const struct hy_node *ns = hy_get(md, "namespace");
	const struct hy_pair **v;
	uint32_t k;

	puts_(e, "metadata:");
	if (md->type != HY_MAP) {
		emit_value(e, md, 0);
		return;
	}
	putc_(e, '\n');
	if (name) {
		indent(e, 2);
		puts_(e, "name:");
		emit_value(e, name, 2);
	}
	indent(e, 2);
	puts_(e, "namespace:");
	if (ns && ns->type != HY_NULL && !(ns->type == HY_STR && !ns->len)) {
		emit_value(e, ns, 2);
	} else {
		puts_(e, " default\n");
	}
	k = filtered_pairs(md, "metadata", &v);
	for (uint32_t i = 0; i < k && e->rc == HS_OK; i++) {
		const struct hy_node *key = v[i]->key;

		if (key_is(key, "name") || key_is(key, "namespace"))
			continue;
		if (key_is(key, "annotations") || key_is(key, "labels")) {
			emit_filtered_map_pair(e, v[i], key_is(key, "labels") ? "labels" : "annotations",
					       2);
			continue;
		}
		indent(e, 2);
		emit_key(e, key, 2);
		emit_value(e, v[i]->val, 2);
	}
	free(v);
}

int emit_managed(struct hs_buf *out, const struct hy_node *root)
{
	struct em e = { out, HS_OK };
	const struct hy_node *api, *kind, *md, *spec;
	const struct hy_pair **v;
	uint32_t k;
	size_t start;

	if (!root || root->type != HY_MAP)
		return HS_EINVAL;
	start = out->len;
	api = hy_get(root, "apiVersion");
	kind = hy_get(root, "kind");
	md = hy_get(root, "metadata");
	spec = hy_get(root, "spec");
	if (api) {
		const struct kind_info *ki = kind_by_name(hy_str(kind));
		char buf[128];

		puts_(&e, "apiVersion:");
		if (ki && kind_check_api(ki, hy_str(api)) == KIND_API_OLD) {
			putc_(&e, ' ');
			puts_(&e, kind_api_version(ki, buf, sizeof(buf)));
			putc_(&e, '\n');
		} else {
			emit_value(&e, api, 0);
		}
	}
	if (kind) {
		puts_(&e, "kind:");
		emit_value(&e, kind, 0);
	}
	if (md)
		emit_metadata(&e, md);
	if (spec) {
		puts_(&e, "spec:");
		emit_value(&e, spec, 0);
	}
	k = filtered_pairs(root, NULL, &v);
	for (uint32_t i = 0; i < k && e.rc == HS_OK; i++) {
		const struct hy_node *key = v[i]->key;

		if (key_is(key, "apiVersion") || key_is(key, "kind") || key_is(key, "metadata") ||
		    key_is(key, "spec") || key_is(key, "status"))
			continue;
		emit_key(&e, key, 0);
		emit_value(&e, v[i]->val, 0);
	}
	free(v);
	if (e.rc == HS_OK && out->len == start)
		puts_(&e, "{}\n"); /* nothing (or only status) to write: still one document */
	return e.rc;
}

int emit_managed_json(struct hs_buf *out, const json_t *resource, char *err)
{
	struct arena *a;
	struct hy_node *root;
	int rc;

	if (!json_is_object(resource)) {
		hs_seterr(err, "a resource must be a JSON object");
		return HS_EINVAL;
	}
	a = arena_new();
	root = hy_from_json(a, resource, HY_MAX_DEPTH, err);
	rc = root ? emit_managed(out, root) : HS_EINVAL;
	arena_free(a);
	return rc;
}
