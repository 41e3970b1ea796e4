/* ingest_plan.c: decide what ingesting raw/ writes, moves, refuses and deletes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/err.h"
#include "github/base/mem.h"
#include "sync/emit.h"
#include "sync/ingest_plan.h"
#include "sync/layout.h"
#include "sync/validate.h"

#define PLAN_MAX_FILE (64u * 1024 * 1024)

struct mres {
	const struct val_res *res;
	const struct plan_file *f;
	int deleted; /* the plan deletes this path already */
};

struct cand {
	struct val_res *res;
	size_t raw;      /* index into the sorted raw files */
	size_t slot;     /* index into p->docs */
	char *bytes;     /* canonical managed file */
	size_t len;
	size_t order;
	int refused;
	int duplicate;
};

struct rawinfo {
	const struct plan_file *f;
	struct hy_stream *st;
	size_t first_slot;
	size_t nslots;
	int ingested;   /* some document made it to managed/ */
	int refused;    /* some document goes to unmanaged/ */
	int whole;      /* the whole file goes to unmanaged/ */
};

struct builder {
	struct plan *p;
	struct arena *a;
	struct rawinfo *raws;
	size_t nraws;
	struct mres *man;
	size_t nman;
	struct cand *cands;
	size_t ncands, acands;
	const char *const *unmanaged;
	size_t nunmanaged;
	size_t aw, ad, adocs;
};

/* --- small helpers ------------------------------------------------------------------ */

static void add_write(struct builder *B, char *path, char *data, size_t len,
		      enum plan_write_kind kind)
{
	struct plan *p = B->p;

	if (p->nwrites == B->aw) {
		B->aw = B->aw ? B->aw * 2 : 16;
		p->writes = hs_realloc(p->writes, B->aw * sizeof(*p->writes));
	}
	p->writes[p->nwrites].path = path;
	p->writes[p->nwrites].data = data;
	p->writes[p->nwrites].len = len;
	p->writes[p->nwrites].kind = kind;
	p->nwrites++;
}

static void add_delete(struct builder *B, const char *path)
{
	struct plan *p = B->p;

	for (size_t i = 0; i < p->ndeletes; i++)
		if (!strcmp(p->deletes[i], path))
			return;
	if (p->ndeletes == B->ad) {
		B->ad = B->ad ? B->ad * 2 : 16;
		p->deletes = hs_realloc(p->deletes, B->ad * sizeof(*p->deletes));
	}
	p->deletes[p->ndeletes++] = hs_strdup(path);
}

static size_t add_doc(struct builder *B, const char *raw, int index, unsigned line)
{
	struct plan *p = B->p;
	struct plan_doc *d;

	if (p->ndocs == B->adocs) {
		B->adocs = B->adocs ? B->adocs * 2 : 64;
		p->docs = hs_realloc(p->docs, B->adocs * sizeof(*p->docs));
	}
	d = &p->docs[p->ndocs];
	memset(d, 0, sizeof(*d));
	d->raw_path = hs_strdup(raw);
	d->index = index;
	d->line = line;
	return p->ndocs++;
}

static int path_taken(struct builder *B, const char *path)
{
	for (size_t i = 0; i < B->nunmanaged; i++)
		if (!strcmp(B->unmanaged[i], path))
			return 1;
	for (size_t i = 0; i < B->p->nwrites; i++)
		if (!strcmp(B->p->writes[i].path, path))
			return 1;
	return 0;
}

/* "unmanaged/<stem><tag><ext>", with -2, -3 ... before the extension when taken. */
static char *unique_unmanaged(struct builder *B, const char *rel_in_raw, const char *tag)
{
	const char *dot = strrchr(rel_in_raw, '.');
	const char *slash = strrchr(rel_in_raw, '/');
	size_t stem;
	char *path;

	if (!dot || (slash && dot < slash) || dot == rel_in_raw)
		dot = rel_in_raw + strlen(rel_in_raw);
	stem = (size_t)(dot - rel_in_raw);
	path = hs_asprintf("unmanaged/%.*s%s%s", (int)stem, rel_in_raw, tag, dot);
	for (int n = 2; path_taken(B, path) && n < 10000; n++) {
		free(path);
		path = hs_asprintf("unmanaged/%.*s%s-%d%s", (int)stem, rel_in_raw, tag, n, dot);
	}
	return path;
}

static const char *after_raw(const char *path)
{
	return !strncmp(path, "raw/", 4) ? path + 4 : path;
}

/* Byte offset where 1-based line `line` starts (libyaml's line breaks). */
static size_t line_offset(const char *s, size_t len, unsigned line)
{
	unsigned l = 1;
	size_t i = 0;

	while (i < len && l < line) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			l++;
		} else if (c == '\r') {
			if (i + 1 < len && s[i + 1] == '\n')
				i++;
			l++;
		} else if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85) {
			i++;
			l++;
		} else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
			i += 2;
			l++;
		}
		i++;
	}
	return i;
}

static const char *first_error(const struct fnd_list *fl, const char *file, int doc,
			       enum fnd_code *code)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < fl->n; i++) {
			const struct finding *f = &fl->v[i];

			if (!f->file || strcmp(f->file, file) || (doc >= 0 && f->doc != doc))
				continue;
			if (pass == 0 && f->sev != FND_ERROR)
				continue;
			*code = f->code;
			return f->msg;
		}
	return NULL;
}

/* --- reasons files ------------------------------------------------------------------- */

static json_t *finding_json(const struct finding *f, unsigned line_shift)
{
	json_t *o = json_object();

	json_object_set_new(o, "severity", json_string(fnd_sev_name(f->sev)));
	json_object_set_new(o, "code", json_string(fnd_code_name(f->code)));
	if (f->line) {
		json_object_set_new(o, "line", json_integer(f->line > line_shift ? f->line - line_shift : f->line));
		json_object_set_new(o, "column", json_integer(f->col));
	}
	if (f->path && *f->path)
		json_object_set_new(o, "path", fnd_json_string(f->path));
	json_object_set_new(o, "message", fnd_json_string(f->msg));
	return o;
}

/* The reasons file for raw file r: its findings (doc -1: all of them). */
static char *reasons_yaml(struct builder *B, const struct rawinfo *r, int doc,
			  unsigned line_shift, const char *target, size_t *len)
{
	json_t *o = json_object(), *list = json_array();
	struct arena *a = arena_new();
	struct hy_node *n;
	struct hs_buf b = HS_BUF_INIT(PLAN_MAX_FILE);
	char *out;

	json_object_set_new(o, "file", json_string(target));
	json_object_set_new(o, "source", json_string(r->f->path));
	if (r->f->sha)
		json_object_set_new(o, "blob", json_string(r->f->sha));
	if (doc >= 0) {
		json_object_set_new(o, "document", json_integer(doc + 1));
		json_object_set_new(o, "source_first_line", json_integer(line_shift + 1));
	}
	for (size_t i = 0; i < B->p->findings.n; i++) {
		const struct finding *f = &B->p->findings.v[i];

		if (!f->file || strcmp(f->file, r->f->path))
			continue;
		if (doc >= 0 && f->doc != doc)
			continue;
		if (f->code == FND_LAYOUT_RAW_PENDING)
			continue;
		json_array_append_new(list, finding_json(f, doc >= 0 ? line_shift : 0));
	}
	json_object_set_new(o, "findings", list);
	json_object_set_new(o, "what", json_string(
		"hedgesync could not ingest this into managed/; fix it and move it back to raw/"));
	n = hy_from_json(a, o, 0, NULL);
	(void)hs_buf_addstr(&b, "# Why hedgesync left this file unmanaged.\n");
	if (n)
		(void)emit_doc(&b, n);
	out = hs_buf_steal(&b, len);
	json_decref(o);
	arena_free(a);
	return out;
}

/* --- candidates ------------------------------------------------------------------------ */

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	int c;

	if (a->res->kind->id != b->res->kind->id)
		return a->res->kind->id < b->res->kind->id ? -1 : 1;
	c = strcmp(a->res->name, b->res->name);
	if (c)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

static const struct mres *find_managed(struct builder *B, const struct kind_info *k,
				       const char *name)
{
	for (size_t i = 0; i < B->nman; i++)
		if (B->man[i].res->kind == k && !strcmp(B->man[i].res->name, name))
			return &B->man[i];
	return NULL;
}

static const struct plan_file *managed_at(const struct plan_file *managed, size_t n,
					  const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(managed[i].path, path))
			return &managed[i];
	return NULL;
}

static void set_doc(struct plan_doc *d, const struct val_res *r)
{
	if (r->kind_name)
		d->kind = hs_strdup(r->kind_name);
	if (r->name)
		d->name = hs_strdup(r->name);
}

static void refuse(struct builder *B, size_t slot, struct rawinfo *ri, char *reason)
{
	struct plan_doc *d = &B->p->docs[slot];

	d->outcome = PLAN_UNMANAGED;
	free(d->reason);
	d->reason = reason;
	ri->refused = 1;
	B->p->unmanaged++;
}

static int load_managed(struct builder *B, const struct plan_file *managed, size_t nmanaged,
			const struct hy_limits *lim, struct fnd_list *scratch)
{
	size_t alloc = 0;

	for (size_t i = 0; i < nmanaged; i++) {
		struct hy_stream *st;

		if (!lay_is_yaml_name(managed[i].path))
			continue;
		if (hy_load(&st, managed[i].data, managed[i].len, managed[i].path, lim, B->a, scratch,
			    NULL) != HS_OK)
			continue;
		for (uint32_t d = 0; d < st->ndocs; d++) {
			struct val_res *r = val_doc(B->a, &st->docs[d], managed[i].path, scratch);

			if (!r->kind || !r->kind->managed || !r->name)
				continue;
			if (B->nman == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				B->man = hs_realloc(B->man, alloc * sizeof(*B->man));
			}
			B->man[B->nman].res = r;
			B->man[B->nman].f = &managed[i];
			B->man[B->nman].deleted = 0;
			B->nman++;
		}
	}
	return 0;
}

static int raw_cmp(const void *x, const void *y)
{
	const struct rawinfo *a = x, *b = y;

	return strcmp(a->f->path, b->f->path);
}

static void read_raw(struct builder *B, struct rawinfo *ri, const struct hy_limits *lim)
{
	struct plan *p = B->p;
	const struct plan_file *f = ri->f;
	char err[HS_ERRBUF];
	size_t slot;
	int rc;

	add_delete(B, f->path);
	ri->first_slot = p->ndocs;
	if (!lay_is_yaml_name(f->path)) {
		fnd_add(&p->findings, FND_INGEST_NOT_YAML, FND_SEV_DEFAULT, f->path, -1, 0, 0, NULL,
			"raw/ takes .yaml and .yml files");
		slot = add_doc(B, f->path, -1, 0);
		refuse(B, slot, ri, hs_strdup("not a .yaml or .yml file"));
		ri->whole = 1;
		ri->nslots = 1;
		return;
	}
	err[0] = '\0';
	rc = hy_load(&ri->st, f->data, f->len, f->path, lim, B->a, &p->findings, err);
	if (rc != HS_OK) {
		slot = add_doc(B, f->path, -1, 0);
		refuse(B, slot, ri, hs_asprintf("not valid YAML: %s", err));
		ri->whole = 1;
		ri->nslots = 1;
		return;
	}
	if (!ri->st->ndocs) {
		slot = add_doc(B, f->path, -1, 0);
		p->docs[slot].outcome = PLAN_EMPTY;
		p->docs[slot].reason = hs_strdup("no documents");
		ri->nslots = 1;
		return;
	}
	for (uint32_t i = 0; i < ri->st->ndocs; i++) {
		const struct hy_doc *d = &ri->st->docs[i];
		struct val_res *r = val_doc(B->a, d, f->path, &p->findings);
		enum fnd_code code;
		const char *msg;

		slot = add_doc(B, f->path, (int)i, d->line);
		set_doc(&p->docs[slot], r);
		if (!r->kind || !r->kind->managed || r->errors) {
			msg = first_error(&p->findings, f->path, (int)i, &code);
			if (r->kind && !r->kind->managed)
				refuse(B, slot, ri, hs_asprintf("%s is not a kind hedgesync manages",
								r->kind->name));
			else
				refuse(B, slot, ri,
				       hs_asprintf("%u error%s; first: %s: %s", r->errors ? r->errors : 1,
						   r->errors == 1 ? "" : "s",
						   msg ? fnd_code_name(code) : "invalid",
						   msg ? msg : "the document is invalid"));
			continue;
		}
		if (B->ncands == B->acands) {
			B->acands = B->acands ? B->acands * 2 : 64;
			B->cands = hs_realloc(B->cands, B->acands * sizeof(*B->cands));
		}
		memset(&B->cands[B->ncands], 0, sizeof(B->cands[0]));
		B->cands[B->ncands].res = r;
		B->cands[B->ncands].raw = (size_t)(ri - B->raws);
		B->cands[B->ncands].slot = slot;
		B->cands[B->ncands].order = B->ncands;
		B->ncands++;
	}
	ri->nslots = p->ndocs - ri->first_slot;
}

static void resolve_ambiguity(struct builder *B)
{
	struct plan *p = B->p;

	for (size_t i = 0; i < B->ncands; i++) {
		struct hs_buf b = HS_BUF_INIT(PLAN_MAX_FILE);

		(void)emit_managed(&b, B->cands[i].res->root);
		B->cands[i].bytes = hs_buf_steal(&b, &B->cands[i].len);
	}
	if (B->ncands > 1)
		qsort(B->cands, B->ncands, sizeof(*B->cands), cand_cmp);
	for (size_t i = 0; i < B->ncands;) {
		size_t j = i + 1;
		int differ = 0;

		while (j < B->ncands && B->cands[j].res->kind == B->cands[i].res->kind &&
		       !strcmp(B->cands[j].res->name, B->cands[i].res->name))
			j++;
		for (size_t k = i + 1; k < j; k++)
			differ |= B->cands[k].len != B->cands[i].len ||
				  memcmp(B->cands[k].bytes, B->cands[i].bytes, B->cands[i].len);
		for (size_t k = i; k < j && j - i > 1; k++) {
			struct cand *c = &B->cands[k];
			const struct val_res *r = c->res;
			const struct hy_node *at = hy_get(hy_get(r->root, "metadata"), "name");

			if (differ) {
				fnd_at(&p->findings, FND_INGEST_AMBIGUOUS, FND_SEV_DEFAULT, r->file,
				       (int)r->doc->index, r->root, at, NULL,
				       "%s %s appears %zu times in this push with different content; none is ingested",
				       r->kind->name, r->name, j - i);
				c->refused = 1;
				refuse(B, c->slot, &B->raws[c->raw],
				       hs_asprintf("ambiguous: %s %s appears %zu times with different content",
						   r->kind->name, r->name, j - i));
			} else if (k > i) {
				fnd_at(&p->findings, FND_INGEST_DUPLICATE, FND_SEV_DEFAULT, r->file,
				       (int)r->doc->index, r->root, at, NULL,
				       "%s %s appears again, identically; it is ingested once", r->kind->name,
				       r->name);
				c->duplicate = 1;
				p->docs[c->slot].outcome = PLAN_DUPLICATE;
				p->docs[c->slot].reason = hs_strdup("identical to an earlier document");
				B->raws[c->raw].ingested = 1;
				p->duplicates++;
			}
		}
		i = j;
	}
}

static int cand_key_cmp(const struct cand *c, const struct val_res *r)
{
	if (c->res->kind->id != r->kind->id)
		return c->res->kind->id < r->kind->id ? -1 : 1;
	return strcmp(c->res->name, r->name);
}

/* Fabric rules over the managed files as they will be: warnings only. */
static void fabric_warnings(struct builder *B)
{
	struct val_opts o = { FND_WARNING, FND_WARNING };
	struct val_res **set = hs_malloc((B->ncands + B->nman + 1) * sizeof(*set));
	struct fnd_list tmp;
	size_t n = 0;

	fnd_list_init(&tmp, 0);
	for (size_t i = 0; i < B->ncands; i++)
		if (!B->cands[i].refused && !B->cands[i].duplicate)
			set[n++] = B->cands[i].res;
	for (size_t i = 0; i < B->nman; i++) {
		size_t lo = 0, hi = B->ncands;
		int replaced = 0;

		/* cands are sorted by (kind, name): binary search */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = cand_key_cmp(&B->cands[mid], B->man[i].res);

			if (!c) {
				/* replaced unless every such document was refused */
				size_t k = mid;

				while (k > 0 && !cand_key_cmp(&B->cands[k - 1], B->man[i].res))
					k--;
				for (; k < B->ncands && !cand_key_cmp(&B->cands[k], B->man[i].res); k++)
					replaced |= !B->cands[k].refused;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!replaced)
			set[n++] = (struct val_res *)B->man[i].res;
	}
	val_fabric(set, n, &o, &tmp);
	for (size_t i = 0; i < tmp.n; i++) {
		const struct finding *f = &tmp.v[i];

		if (!f->file || strncmp(f->file, "raw/", 4))
			continue;
		fnd_add(&B->p->findings, f->code, f->sev, f->file, f->doc, f->line, f->col, f->path,
			"%s", f->msg);
	}
	fnd_list_release(&tmp);
	free(set);
}

static void place_candidates(struct builder *B, const struct plan_file *managed, size_t nmanaged)
{
	struct plan *p = B->p;

	for (size_t i = 0; i < B->ncands; i++) {
		struct cand *c = &B->cands[i];
		const struct val_res *r = c->res;
		struct plan_doc *d = &p->docs[c->slot];
		char *target;
		const struct mres *old;
		const struct plan_file *occupant;

		if (c->refused || c->duplicate)
			continue;
		target = lay_managed_path(r->kind, r->name);
		d->target = hs_strdup(target);
		B->raws[c->raw].ingested = 1;
		old = find_managed(B, r->kind, r->name);
		occupant = managed_at(managed, nmanaged, target);
		if (old && !strcmp(old->f->path, target)) {
			if (old->f->len == c->len && !memcmp(old->f->data, c->bytes, c->len)) {
				d->outcome = PLAN_UNCHANGED;
				p->unchanged++;
				free(target);
				continue;
			}
			d->outcome = PLAN_UPDATED;
		} else if (old) {
			d->outcome = PLAN_UPDATED;
			d->reason = hs_asprintf("moved from %s", old->f->path);
			add_delete(B, old->f->path);
		} else if (occupant) {
			d->outcome = PLAN_UPDATED;
			d->reason = hs_strdup("replaces a file at that path that did not hold this resource");
		} else {
			d->outcome = PLAN_CREATED;
		}
		if (d->outcome == PLAN_CREATED)
			p->created++;
		else
			p->updated++;
		add_write(B, target, c->bytes, c->len, PLAN_W_MANAGED);
		c->bytes = NULL;
	}
}

static void place_unmanaged(struct builder *B)
{
	struct plan *p = B->p;

	for (size_t i = 0; i < B->nraws; i++) {
		struct rawinfo *ri = &B->raws[i];

		if (!ri->refused)
			continue;
		if (ri->whole || !ri->ingested) {
			char *target = unique_unmanaged(B, after_raw(ri->f->path), "");
			char *copy = hs_malloc(ri->f->len + 1);
			size_t rlen;
			char *reasons;

			memcpy(copy, ri->f->data, ri->f->len);
			copy[ri->f->len] = '\0';
			for (size_t s = ri->first_slot; s < ri->first_slot + ri->nslots; s++)
				if (p->docs[s].outcome == PLAN_UNMANAGED)
					p->docs[s].target = hs_strdup(target);
			add_write(B, hs_strdup(target), copy, ri->f->len, PLAN_W_UNMANAGED);
			reasons = reasons_yaml(B, ri, -1, 0, target, &rlen);
			add_write(B, hs_asprintf("%s.reasons.yaml", target), reasons, rlen, PLAN_W_REASONS);
			free(target);
			continue;
		}
		for (size_t s = ri->first_slot; s < ri->first_slot + ri->nslots; s++) {
			struct plan_doc *d = &p->docs[s];
			const struct hy_doc *hd;
			size_t from, to, rlen;
			unsigned start_line;
			char tag[32], *target, *copy, *reasons;

			if (d->outcome != PLAN_UNMANAGED || d->index < 0)
				continue;
			hd = &ri->st->docs[d->index];
			start_line = d->index == 0 ? 1 : hd->line;
			from = line_offset(ri->f->data, ri->f->len, start_line);
			to = hd->end_line ? line_offset(ri->f->data, ri->f->len, hd->end_line) : ri->f->len;
			if (to < from)
				to = from;
			snprintf(tag, sizeof(tag), ".doc%d", d->index + 1);
			target = unique_unmanaged(B, after_raw(ri->f->path), tag);
			copy = hs_malloc(to - from + 1);
			memcpy(copy, ri->f->data + from, to - from);
			copy[to - from] = '\0';
			d->target = hs_strdup(target);
			add_write(B, hs_strdup(target), copy, to - from, PLAN_W_UNMANAGED);
			reasons = reasons_yaml(B, ri, d->index, start_line - 1, target, &rlen);
			add_write(B, hs_asprintf("%s.reasons.yaml", target), reasons, rlen, PLAN_W_REASONS);
			free(target);
		}
	}
}

int plan_build(struct plan **out, const struct plan_file *raw, size_t nraw,
	       const struct plan_file *managed, size_t nmanaged,
	       const char *const *unmanaged_paths, size_t nunmanaged,
	       const struct hy_limits *lim, char *err)
{
	struct builder B;
	struct fnd_list scratch;
	int has_keep = 0, deleted_raw = 0;

	(void)err;
	*out = NULL;
	memset(&B, 0, sizeof(B));
	B.p = hs_calloc(1, sizeof(*B.p));
	fnd_list_init(&B.p->findings, 0);
	fnd_list_init(&scratch, 0);
	B.a = arena_new();
	B.unmanaged = unmanaged_paths;
	B.nunmanaged = unmanaged_paths ? nunmanaged : 0;
	load_managed(&B, managed, nmanaged, lim, &scratch);

	B.raws = hs_calloc(nraw ? nraw : 1, sizeof(*B.raws));
	for (size_t i = 0; i < nraw; i++)
		B.raws[i].f = &raw[i];
	B.nraws = nraw;
	if (B.nraws > 1)
		qsort(B.raws, B.nraws, sizeof(*B.raws), raw_cmp);
	B.p->raws = hs_calloc(nraw ? nraw : 1, sizeof(*B.p->raws));
	for (size_t i = 0; i < B.nraws; i++) {
		const char *base = strrchr(B.raws[i].f->path, '/');

		base = base ? base + 1 : B.raws[i].f->path;
		if (!strcmp(base, ".gitkeep")) {
			has_keep = 1;
			continue;
		}
		read_raw(&B, &B.raws[i], lim);
		deleted_raw = 1;
		B.p->raws[B.p->nraws].path = hs_strdup(B.raws[i].f->path);
		B.p->raws[B.p->nraws].sha = hs_strdup(B.raws[i].f->sha ? B.raws[i].f->sha : "");
		B.p->raws[B.p->nraws].documents = B.raws[i].st ? B.raws[i].st->ndocs : 0;
		B.p->nraws++;
	}
	resolve_ambiguity(&B);
	fnd_resolve_paths(&B.p->findings);
	fabric_warnings(&B);
	place_candidates(&B, managed, nmanaged);
	fnd_sort(&B.p->findings);
	place_unmanaged(&B);
	if (deleted_raw && !has_keep)
		add_write(&B, hs_strdup("raw/.gitkeep"), hs_strdup(""), 0, PLAN_W_KEEP);

	for (size_t i = 0; i < B.ncands; i++)
		free(B.cands[i].bytes);
	free(B.cands);
	free(B.man);
	free(B.raws);
	fnd_list_release(&scratch);
	arena_free(B.a);
	*out = B.p;
	return HS_OK;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nwrites; i++) {
		free(p->writes[i].path);
		free(p->writes[i].data);
	}
	free(p->writes);
	for (size_t i = 0; i < p->ndeletes; i++)
		free(p->deletes[i]);
	free(p->deletes);
	for (size_t i = 0; i < p->ndocs; i++) {
		free(p->docs[i].raw_path);
		free(p->docs[i].kind);
		free(p->docs[i].name);
		free(p->docs[i].target);
		free(p->docs[i].reason);
	}
	free(p->docs);
	for (size_t i = 0; i < p->nraws; i++) {
		free(p->raws[i].path);
		free(p->raws[i].sha);
	}
	free(p->raws);
	fnd_list_release(&p->findings);
	free(p);
}

int plan_is_noop(const struct plan *p)
{
	return !p || (!p->nwrites && !p->ndeletes);
}

const char *plan_outcome_name(enum plan_outcome o)
{
	switch (o) {
	case PLAN_CREATED:
		return "created";
	case PLAN_UPDATED:
		return "updated";
	case PLAN_UNCHANGED:
		return "unchanged";
	case PLAN_DUPLICATE:
		return "duplicate";
	case PLAN_UNMANAGED:
		return "unmanaged";
	case PLAN_EMPTY:
		return "empty";
	}
	return "unknown";
}

/* --- output ------------------------------------------------------------------------------ */

int plan_format_text(const struct plan *p, struct hs_buf *out)
{
	int rc = HS_OK;
	const char *cur = NULL;

	for (size_t i = 0; i < p->ndocs && rc == HS_OK; i++) {
		const struct plan_doc *d = &p->docs[i];

		if (!cur || strcmp(cur, d->raw_path)) {
			cur = d->raw_path;
			rc = hs_buf_addf(out, "%s\n", cur);
		}
		if (d->index >= 0)
			rc = hs_buf_addf(out, "  doc %d (line %u) %s %s: %s", d->index + 1, d->line,
					 d->kind ? d->kind : "?", d->name ? d->name : "?",
					 plan_outcome_name(d->outcome));
		else
			rc = hs_buf_addf(out, "  whole file: %s", plan_outcome_name(d->outcome));
		if (rc == HS_OK && d->target)
			rc = hs_buf_addf(out, " -> %s", d->target);
		if (rc == HS_OK && d->reason)
			rc = hs_buf_addf(out, " (%s)", d->reason);
		if (rc == HS_OK)
			rc = hs_buf_addch(out, '\n');
	}
	if (rc == HS_OK && p->findings.n) {
		rc = hs_buf_addstr(out, "findings:\n");
		for (size_t i = 0; i < p->findings.n && rc == HS_OK; i++) {
			rc = hs_buf_addstr(out, "  ");
			if (rc == HS_OK)
				rc = fnd_format_one(&p->findings.v[i], FND_FMT_TEXT, out);
		}
	}
	for (size_t i = 0; i < p->nwrites && rc == HS_OK; i++)
		rc = hs_buf_addf(out, "write %s (%zu bytes)\n", p->writes[i].path, p->writes[i].len);
	for (size_t i = 0; i < p->ndeletes && rc == HS_OK; i++)
		rc = hs_buf_addf(out, "delete %s\n", p->deletes[i]);
	if (rc == HS_OK)
		rc = hs_buf_addf(out,
				 "summary: %zu created, %zu updated, %zu unchanged, %zu duplicate, %zu unmanaged; %zu writes, %zu deletes%s\n",
				 p->created, p->updated, p->unchanged, p->duplicates, p->unmanaged,
				 p->nwrites, p->ndeletes, plan_is_noop(p) ? " (nothing to commit)" : "");
	return rc;
}

static json_t *doc_json(const struct plan_doc *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "raw", json_string(d->raw_path));
	json_object_set_new(o, "document", d->index >= 0 ? json_integer(d->index + 1) : json_null());
	json_object_set_new(o, "line", d->index >= 0 ? json_integer(d->line) : json_null());
	json_object_set_new(o, "kind", d->kind ? json_string(d->kind) : json_null());
	json_object_set_new(o, "name", d->name ? json_string(d->name) : json_null());
	json_object_set_new(o, "outcome", json_string(plan_outcome_name(d->outcome)));
	json_object_set_new(o, "target", d->target ? json_string(d->target) : json_null());
	json_object_set_new(o, "reason", d->reason ? fnd_json_string(d->reason) : json_null());
	/* names come from validated documents, kinds from user text: never NULL
	 * in JSON even if a string failed UTF-8 checks */
	return o;
}

json_t *plan_to_json(const struct plan *p)
{
	json_t *o = json_object(), *docs = json_array(), *writes = json_array(), *dels = json_array();

	for (size_t i = 0; i < p->ndocs; i++)
		json_array_append_new(docs, doc_json(&p->docs[i]));
	for (size_t i = 0; i < p->nwrites; i++) {
		static const char *const kinds[] = { "managed", "unmanaged", "reasons", "keep" };
		json_t *w = json_object();

		json_object_set_new(w, "path", json_string(p->writes[i].path));
		json_object_set_new(w, "kind", json_string(kinds[p->writes[i].kind]));
		json_object_set_new(w, "bytes", json_integer((json_int_t)p->writes[i].len));
		json_object_set_new(w, "content", json_stringn(p->writes[i].data, p->writes[i].len));
		json_array_append_new(writes, w);
	}
	for (size_t i = 0; i < p->ndeletes; i++)
		json_array_append_new(dels, json_string(p->deletes[i]));
	json_object_set_new(o, "documents", docs);
	json_object_set_new(o, "writes", writes);
	json_object_set_new(o, "deletes", dels);
	json_object_set_new(o, "findings", fnd_list_to_json(&p->findings));
	json_object_set_new(o, "archive", plan_archive_entries(p));
	json_object_set_new(o, "summary",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:b}", "created", (json_int_t)p->created,
				      "updated", (json_int_t)p->updated, "unchanged",
				      (json_int_t)p->unchanged, "duplicate", (json_int_t)p->duplicates,
				      "unmanaged", (json_int_t)p->unmanaged, "noop", plan_is_noop(p)));
	return o;
}

json_t *plan_archive_entries(const struct plan *p)
{
	json_t *a = json_array();

	for (size_t r = 0; r < p->nraws; r++) {
		json_t *e = json_object(), *docs = json_array();

		json_object_set_new(e, "raw", json_string(p->raws[r].path));
		json_object_set_new(e, "blob", json_string(p->raws[r].sha));
		for (size_t i = 0; i < p->ndocs; i++) {
			const struct plan_doc *d = &p->docs[i];
			json_t *o;

			if (strcmp(d->raw_path, p->raws[r].path))
				continue;
			o = json_object();
			json_object_set_new(o, "document", d->index >= 0 ? json_integer(d->index + 1) : json_null());
			json_object_set_new(o, "kind", d->kind ? json_string(d->kind) : json_null());
			json_object_set_new(o, "name", d->name ? json_string(d->name) : json_null());
			json_object_set_new(o, "outcome", json_string(plan_outcome_name(d->outcome)));
			json_object_set_new(o, "target", d->target ? json_string(d->target) : json_null());
			json_array_append_new(docs, o);
		}
		json_object_set_new(e, "documents", docs);
		json_array_append_new(a, e);
	}
	return a;
}

char *plan_commit_message(const struct plan *p)
{
	struct hs_buf b = HS_BUF_INIT(1024 * 1024);
	size_t len;

	(void)hs_buf_addf(&b, "Ingest %zu raw file%s: %zu created, %zu updated, %zu unmanaged\n\n",
			  p->nraws, p->nraws == 1 ? "" : "s", p->created, p->updated, p->unmanaged);
	for (size_t i = 0; i < p->ndocs; i++) {
		const struct plan_doc *d = &p->docs[i];

		if (d->outcome == PLAN_UNCHANGED || d->outcome == PLAN_DUPLICATE)
			continue;
		if (hs_buf_addf(&b, "- %s%s%d: %s %s %s%s%s\n", d->raw_path, d->index >= 0 ? "#" : "",
				d->index >= 0 ? d->index + 1 : 0, d->kind ? d->kind : "file",
				d->name ? d->name : "", plan_outcome_name(d->outcome),
				d->target ? " -> " : "", d->target ? d->target : "") != HS_OK)
			break;
	}
	for (size_t r = 0; r < p->nraws; r++)
		if (hs_buf_addf(&b, "\nRaw %s was blob %s.", p->raws[r].path, p->raws[r].sha) != HS_OK)
			break;
	(void)hs_buf_addch(&b, '\n');
	return hs_buf_steal(&b, &len);
}
