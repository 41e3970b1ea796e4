/* finding.c: finding lists, the rule table, field paths and output formats. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/finding.h"
#include "sync/yaml.h"

struct fnd_rule {
	const char *name;
	enum fnd_sev sev;
	const char *summary;
};

static const struct fnd_rule fnd_rules[FND_CODE_COUNT] = {
#define FND_ROW_(e, c, s, d) [FND_##e] = { c, s, d },
	FND_RULES(FND_ROW_)
#undef FND_ROW_
};

#define PATH_MAX_LEN 400

const char *fnd_code_name(enum fnd_code code)
{
	if ((int)code < 0 || code >= FND_CODE_COUNT)
		return "unknown";
	return fnd_rules[code].name;
}

enum fnd_sev fnd_code_severity(enum fnd_code code)
{
	if ((int)code < 0 || code >= FND_CODE_COUNT)
		return FND_ERROR;
	return fnd_rules[code].sev;
}

const char *fnd_code_summary(enum fnd_code code)
{
	if ((int)code < 0 || code >= FND_CODE_COUNT)
		return "";
	return fnd_rules[code].summary;
}

int fnd_code_lookup(const char *name)
{
	for (int i = 0; i < FND_CODE_COUNT; i++)
		if (name && !strcmp(fnd_rules[i].name, name))
			return i;
	return -1;
}

const char *fnd_sev_name(enum fnd_sev sev)
{
	switch (sev) {
	case FND_ERROR:
		return "error";
	case FND_WARNING:
		return "warning";
	case FND_NOTICE:
		return "notice";
	default:
		return "error";
	}
}

void fnd_list_init(struct fnd_list *l, size_t limit)
{
	memset(l, 0, sizeof(*l));
	l->limit = limit ? limit : FND_DEFAULT_LIMIT;
}

static void finding_release(struct finding *f)
{
	free(f->file);
	free(f->path);
	free(f->msg);
}

void fnd_list_release(struct fnd_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		finding_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void fnd_truncate(struct fnd_list *l, size_t from)
{
	if (!l || from >= l->n)
		return;
	for (size_t i = from; i < l->n; i++) {
		if (l->v[i].root || l->v[i].at)
			l->pending--;
		finding_release(&l->v[i]);
	}
	l->n = from;
}

/* Room for one more finding, or NULL (and the truncation notice) when full. */
static struct finding *fnd_slot(struct fnd_list *l, enum fnd_code code)
{
	struct finding *f;

	if (!l)
		return NULL;
	if (l->n >= l->limit && code != FND_FINDINGS_TRUNCATED) {
		l->dropped++;
		if (l->dropped == 1) {
			/* the notice gets the one slot kept free for it */
			f = fnd_slot(l, FND_FINDINGS_TRUNCATED);
			if (f) {
				f->code = FND_FINDINGS_TRUNCATED;
				f->sev = FND_NOTICE;
				f->doc = -1;
				f->path = hs_strdup("");
				f->msg = hs_asprintf("more than %zu findings; the rest are not shown",
						     l->limit);
			}
		}
		return NULL;
	}
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->v = hs_realloc(l->v, l->alloc * sizeof(*l->v));
	}
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *s;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return hs_strdup("(unprintable message)");
	s = hs_malloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

struct finding *fnd_add(struct fnd_list *l, enum fnd_code code, int sev,
			const char *file, int doc, uint32_t line, uint32_t col,
			const char *path, const char *fmt, ...)
{
	struct finding *f = fnd_slot(l, code);
	va_list ap;

	if (!f)
		return NULL;
	f->code = code;
	f->sev = sev == FND_SEV_DEFAULT ? fnd_code_severity(code) : (enum fnd_sev)sev;
	f->file = hs_strdup(file);
	f->doc = doc;
	f->line = line;
	f->col = col;
	f->path = hs_strdup(path ? path : "");
	va_start(ap, fmt);
	f->msg = vformat(fmt, ap);
	va_end(ap);
	return f;
}

struct finding *fnd_atv(struct fnd_list *l, enum fnd_code code, int sev,
			const char *file, int doc, const struct hy_node *root,
			const struct hy_node *at, const char *field,
			const char *fmt, va_list ap)
{
	struct finding *f = fnd_slot(l, code);

	if (!f)
		return NULL;
	f->code = code;
	f->sev = sev == FND_SEV_DEFAULT ? fnd_code_severity(code) : (enum fnd_sev)sev;
	f->file = hs_strdup(file);
	f->doc = doc;
	if (at) {
		f->line = at->line;
		f->col = at->col;
	}
	f->msg = vformat(fmt, ap);
	f->root = root;
	f->at = at;
	f->at_field = field;
	if (root || at) {
		l->pending++;
	} else {
		f->path = hs_strdup(field ? field : "");
	}
	return f;
}

struct finding *fnd_at(struct fnd_list *l, enum fnd_code code, int sev,
		       const char *file, int doc, const struct hy_node *root,
		       const struct hy_node *at, const char *field,
		       const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	va_start(ap, fmt);
	f = fnd_atv(l, code, sev, file, doc, root, at, field, fmt, ap);
	va_end(ap);
	return f;
}

/* --- field paths ------------------------------------------------------- */

struct path_seg {
	const struct hy_node *key; /* NULL for a sequence index */
	uint32_t idx;
};

struct path_walk {
	struct fnd_list *l;
	size_t *idx;    /* pending findings of this root, sorted by `at` */
	size_t nidx;
	size_t left;    /* not yet resolved */
	struct path_seg seg[HY_MAX_DEPTH + 2];
	uint32_t depth;
};

static int simple_key(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void path_add_key(struct hs_buf *b, const char *s, size_t n, int first)
{
	if (simple_key(s, n)) {
		if (!first)
			(void)hs_buf_addch(b, '.');
		(void)hs_buf_add(b, s, n);
		return;
	}
	(void)hs_buf_addstr(b, "[\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			(void)hs_buf_addch(b, '\\');
		if (c < 0x20)
			c = '?';
		if (hs_buf_addch(b, (char)c) != HS_OK)
			break;
	}
	(void)hs_buf_addstr(b, "\"]");
}

static char *path_render(const struct path_walk *w, const char *field)
{
	struct hs_buf b = HS_BUF_INIT(PATH_MAX_LEN);
	size_t len;

	for (uint32_t i = 0; i < w->depth; i++) {
		const struct path_seg *s = &w->seg[i];

		if (s->key)
			path_add_key(&b, s->key->text, s->key->len, b.len == 0);
		else
			(void)hs_buf_addf(&b, "[%u]", s->idx);
	}
	if (field)
		path_add_key(&b, field, strlen(field), b.len == 0);
	return hs_buf_steal(&b, &len);
}

/* Pending findings sorted by tree, then by node. */
struct sort_item {
	const struct hy_node *root;
	const struct hy_node *at;
	size_t idx;
};

static int cmp_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;

	if (x->root != y->root)
		return (uintptr_t)x->root < (uintptr_t)y->root ? -1 : 1;
	if (x->at != y->at)
		return (uintptr_t)x->at < (uintptr_t)y->at ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static void path_visit(struct path_walk *w, const struct hy_node *n)
{
	/* binary search the targets of this root for n */
	size_t lo = 0, hi = w->nidx;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((uintptr_t)w->l->v[w->idx[mid]].at < (uintptr_t)n)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < w->nidx && w->l->v[w->idx[lo]].at == n; lo++) {
		struct finding *f = &w->l->v[w->idx[lo]];

		if (f->path)
			continue;
		f->path = path_render(w, f->at_field);
		w->left--;
	}
	if (!w->left || w->depth >= HY_MAX_DEPTH + 1)
		return;
	if (n->type == HY_MAP) {
		for (uint32_t i = 0; i < n->len && w->left; i++) {
			w->seg[w->depth].key = n->v.pairs[i].key;
			w->depth++;
			path_visit(w, n->v.pairs[i].key);
			path_visit(w, n->v.pairs[i].val);
			w->depth--;
		}
	} else if (n->type == HY_SEQ) {
		for (uint32_t i = 0; i < n->len && w->left; i++) {
			w->seg[w->depth].key = NULL;
			w->seg[w->depth].idx = i;
			w->depth++;
			path_visit(w, n->v.items[i]);
			w->depth--;
		}
	}
}

void fnd_resolve_paths(struct fnd_list *l)
{
	struct sort_item *items;
	size_t *idx;
	size_t n = 0;

	if (!l || !l->pending)
		return;
	items = hs_malloc(l->pending * sizeof(*items));
	idx = hs_malloc(l->pending * sizeof(*idx));
	for (size_t i = 0; i < l->n && n < l->pending; i++) {
		struct finding *f = &l->v[i];

		if (!f->root && !f->at)
			continue;
		items[n].root = f->root;
		items[n].at = f->at;
		items[n].idx = i;
		n++;
	}
	if (n > 1)
		qsort(items, n, sizeof(*items), cmp_item);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct path_walk w;

		while (j < n && items[j].root == items[i].root)
			j++;
		memset(&w, 0, sizeof(w));
		w.l = l;
		w.idx = idx;
		w.nidx = j - i;
		for (size_t k = i; k < j; k++)
			idx[k - i] = items[k].idx;
		w.left = w.nidx;
		if (items[i].root)
			path_visit(&w, items[i].root);
		for (size_t k = 0; k < w.nidx; k++) {
			struct finding *f = &l->v[idx[k]];

			if (!f->path) {
				struct path_walk empty = { 0 };

				f->path = path_render(&empty, f->at_field);
			}
			f->root = NULL;
			f->at = NULL;
			f->at_field = NULL;
		}
		i = j;
	}
	l->pending = 0;
	free(items);
	free(idx);
}

/* --- queries ------------------------------------------------------------ */

size_t fnd_count(const struct fnd_list *l, enum fnd_sev sev)
{
	size_t c = 0;

	if (!l)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].sev == sev)
			c++;
	return c;
}

static int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c = strcmp_null(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->code != y->code)
		return x->code < y->code ? -1 : 1;
	c = strcmp_null(x->path, y->path);
	if (c)
		return c;
	c = strcmp_null(x->msg, y->msg);
	if (c)
		return c;
	return x->doc - y->doc;
}

void fnd_sort(struct fnd_list *l)
{
	if (!l || l->n < 2)
		return;
	fnd_resolve_paths(l);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_finding);
}

/* --- output -------------------------------------------------------------- */

int fnd_parse_format(const char *s, enum fnd_format *out)
{
	if (!s)
		return HS_EINVAL;
	if (!strcmp(s, "text"))
		*out = FND_FMT_TEXT;
	else if (!strcmp(s, "github"))
		*out = FND_FMT_GITHUB;
	else if (!strcmp(s, "json"))
		*out = FND_FMT_JSON;
	else
		return HS_EINVAL;
	return HS_OK;
}

/* GitHub workflow commands: data escapes %, CR, LF; properties also : and ,. */
static int gh_escape(struct hs_buf *b, const char *s, int prop)
{
	int rc = HS_OK;

	for (; s && *s && rc == HS_OK; s++) {
		switch (*s) {
		case '%':
			rc = hs_buf_addstr(b, "%25");
			break;
		case '\r':
			rc = hs_buf_addstr(b, "%0D");
			break;
		case '\n':
			rc = hs_buf_addstr(b, "%0A");
			break;
		case ':':
			rc = prop ? hs_buf_addstr(b, "%3A") : hs_buf_addch(b, ':');
			break;
		case ',':
			rc = prop ? hs_buf_addstr(b, "%2C") : hs_buf_addch(b, ',');
			break;
		default:
			rc = hs_buf_addch(b, *s);
		}
	}
	return rc;
}

int fnd_format_one(const struct finding *f, enum fnd_format fmt, struct hs_buf *out)
{
	int rc = HS_OK;
	const char *path = f->path ? f->path : "";

	if (fmt == FND_FMT_TEXT) {
		if (f->file)
			rc = hs_buf_addstr(out, f->file);
		if (rc == HS_OK && f->file && f->line)
			rc = hs_buf_addf(out, ":%u:%u", f->line, f->col);
		if (rc == HS_OK)
			rc = hs_buf_addf(out, "%s%s [%s] ", f->file ? ": " : "",
					 fnd_sev_name(f->sev), fnd_code_name(f->code));
		if (rc == HS_OK && *path)
			rc = hs_buf_addf(out, "%s: ", path);
		if (rc == HS_OK)
			rc = hs_buf_addf(out, "%s\n", f->msg ? f->msg : "");
		return rc;
	}
	if (fmt == FND_FMT_GITHUB) {
		rc = hs_buf_addf(out, "::%s ", fnd_sev_name(f->sev));
		if (rc == HS_OK && f->file) {
			rc = hs_buf_addstr(out, "file=");
			if (rc == HS_OK)
				rc = gh_escape(out, f->file, 1);
			if (rc == HS_OK && f->line)
				rc = hs_buf_addf(out, ",line=%u,col=%u", f->line, f->col);
			if (rc == HS_OK)
				rc = hs_buf_addch(out, ',');
		}
		if (rc == HS_OK)
			rc = hs_buf_addf(out, "title=%s::", fnd_code_name(f->code));
		if (rc == HS_OK && *path) {
			rc = gh_escape(out, path, 0);
			if (rc == HS_OK)
				rc = hs_buf_addstr(out, ": ");
		}
		if (rc == HS_OK)
			rc = gh_escape(out, f->msg, 0);
		if (rc == HS_OK)
			rc = hs_buf_addch(out, '\n');
		return rc;
	}
	return HS_OK;
}

int fnd_format_list(const struct fnd_list *l, enum fnd_format fmt, struct hs_buf *out)
{
	int rc = HS_OK;

	for (size_t i = 0; l && i < l->n && rc == HS_OK; i++)
		rc = fnd_format_one(&l->v[i], fmt, out);
	return rc;
}

/* A JSON string of s with any invalid UTF-8 replaced by '?' (a path or a
 * message may have been cut inside a character). */
json_t *fnd_json_string(const char *s)
{
	json_t *j;
	char *c;
	size_t n;

	if (!s)
		s = "";
	j = json_string(s);
	if (j)
		return j;
	n = strlen(s);
	c = hs_strdup(s);
	for (size_t i = 0; i < n;) {
		unsigned char b = (unsigned char)c[i];
		size_t k = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 :
			   (b & 0xF8) == 0xF0 ? 4 : 0;
		int ok = k && i + k <= n;

		for (size_t m = 1; ok && m < k; m++)
			ok = ((unsigned char)c[i + m] & 0xC0) == 0x80;
		if (ok && k > 1) {
			char tmp[5];

			memcpy(tmp, c + i, k);
			tmp[k] = 0;
			j = json_string(tmp);
			ok = j != NULL;
			json_decref(j);
		}
		if (!ok) {
			c[i] = '?';
			k = 1;
		}
		i += k;
	}
	j = json_string(c);
	free(c);
	return j ? j : json_string("");
}

json_t *fnd_to_json(const struct finding *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "severity", json_string(fnd_sev_name(f->sev)));
	json_object_set_new(o, "code", json_string(fnd_code_name(f->code)));
	json_object_set_new(o, "message", fnd_json_string(f->msg));
	json_object_set_new(o, "file", f->file ? fnd_json_string(f->file) : json_null());
	json_object_set_new(o, "document", f->doc >= 0 ? json_integer(f->doc) : json_null());
	json_object_set_new(o, "line", f->line ? json_integer(f->line) : json_null());
	json_object_set_new(o, "column", f->line ? json_integer(f->col) : json_null());
	json_object_set_new(o, "path", fnd_json_string(f->path));
	return o;
}

json_t *fnd_list_to_json(const struct fnd_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; l && i < l->n; i++)
		json_array_append_new(a, fnd_to_json(&l->v[i]));
	return a;
}
