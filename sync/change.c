/* change.c: NetBox edits: validation, operations, the decision and the commit. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/clock.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/contents.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/manifest.h"
#include "sync/arena.h"
#include "sync/change.h"
#include "sync/emit.h"
#include "sync/fabric.h"
#include "sync/finding.h"
#include "sync/kinds.h"
#include "sync/merge.h"
#include "sync/store.h"
#include "sync/validate.h"
#include "sync/yaml.h"

#define CHG_FILE_MAX (1u << 20)     /* a managed file hedgesync reads or writes */
#define CHG_BATCH 100               /* operations decided together */
#define CHG_RECOVER_DEPTH 30        /* commits searched for a landed write */
#define CHG_RECOVER_RECENT 5        /* ... when it was sent by this run */
#define TRAILER "Hedgesync-Operation: "

/* ---- shared helpers ---------------------------------------------------- */

static char *managed_rel(const struct kind_info *k, const char *name)
{
	return hs_asprintf("managed/%s/%s.yaml", k->plural, name);
}

static char *join(const char *dir, const char *rel)
{
	return *dir ? hs_asprintf("%s/%s", dir, rel) : hs_strdup(rel);
}

/* The canonical managed file of resource into out (reset first). */
static int canon(const json_t *resource, struct hs_buf *out, char *err)
{
	hs_buf_reset(out);
	return emit_managed_json(out, resource, err);
}

/* A managed file's single document as JSON (new), or NULL when it is not
 * exactly one YAML document that JSON can hold. */
static json_t *parse_file(const char *data, size_t len)
{
	struct hy_stream *ys = NULL;
	json_t *j = NULL;

	if (hy_load(&ys, data, len, "file", NULL, NULL, NULL, NULL) == HS_OK && ys->ndocs == 1 &&
	    !(ys->docs[0].flags & HY_DOC_INVALID))
		j = hy_to_json(ys->docs[0].root, NULL);
	hy_stream_free(ys);
	return j;
}

/* The value the canonical writer would keep: JSON of canon(x) read back. */
static json_t *normalize(const json_t *x)
{
	struct hs_buf b;
	json_t *j = NULL;

	hs_buf_init(&b, CHG_FILE_MAX);
	if (x && canon(x, &b, NULL) == HS_OK)
		j = parse_file(b.data, b.len);
	hs_buf_release(&b);
	return j;
}

static int sha_ok(const char *s)
{
	return s && strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* ---- submitting -------------------------------------------------------- */

struct current {
	json_t *by_key;  /* "Kind/name" -> {blob, path, spec} */
};

static int remember_current(const struct store_resource *r, void *arg)
{
	struct current *c = arg;
	char key[320];
	json_t *spec = json_loads(r->spec, 0, NULL);

	snprintf(key, sizeof(key), "%s/%s", r->kind, r->name);
	json_object_set_new(c->by_key, key,
			    json_pack("{s:s, s:s, s:o}", "blob", r->blob_sha, "path", r->path,
				      "spec", spec ? spec : json_null()));
	return 0;
}

static void problem(json_t *problems, size_t i, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(json_t *problems, size_t i, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(problems, json_pack("{s:I, s:s, s:s}", "change", (json_int_t)i,
						  "field", field, "message", msg));
}

/* One change of a request, checked. */
struct chg_item {
	const char *op;               /* "apply" or "delete" */
	const struct kind_info *kind;
	const char *name;
	char *rel;                    /* new: managed/<plural>/<name>.yaml */
	const json_t *resource;       /* apply: borrowed from the request */
	struct hy_node *root;         /* apply: the tree, in the arena */
};

/* Check one change's shape and rules; add its problems. */
static void check_change(struct arena *a, const json_t *c, size_t i, struct chg_item *it,
			 json_t *problems)
{
	const json_t *res = json_object_get(c, "resource");
	const json_t *base_sha = json_object_get(c, "base_sha");
	const json_t *md;
	const char *kind;
	char err[HS_ERRBUF];

	memset(it, 0, sizeof(*it));
	if (!json_is_object(c)) {
		problem(problems, i, "changes", "each change must be an object");
		return;
	}
	it->op = json_string_value(json_object_get(c, "op"));
	if (!it->op || (strcmp(it->op, "apply") && strcmp(it->op, "delete"))) {
		problem(problems, i, "op", "op must be \"apply\" or \"delete\"");
		it->op = NULL;
		return;
	}
	if (base_sha && !json_is_null(base_sha) && !sha_ok(json_string_value(base_sha))) {
		problem(problems, i, "base_sha", "base_sha must be a 40-character lowercase hex blob sha");
		return;
	}
	if (!json_is_object(res)) {
		problem(problems, i, "resource", "resource must be an object");
		return;
	}
	kind = json_string_value(json_object_get(res, "kind"));
	it->kind = kind ? kind_by_name(kind) : NULL;
	if (!it->kind || !it->kind->managed) {
		problem(problems, i, "resource.kind", "%s%s%s is not a kind hedgesync manages",
			kind ? "\"" : "", kind ? kind : "a missing kind", kind ? "\"" : "");
		it->kind = NULL;
		return;
	}
	md = json_object_get(res, "metadata");
	it->name = json_string_value(json_object_get(md, "name"));
	if (!it->name || !val_name_ok(it->name) || strlen(it->name) > 253) {
		problem(problems, i, "resource.metadata.name",
			"metadata.name must be a lowercase RFC 1123 name");
		it->kind = NULL;
		return;
	}
	it->rel = managed_rel(it->kind, it->name);
	if (!strcmp(it->op, "delete"))
		return;
	it->resource = res;
	it->root = hy_from_json(a, res, HY_MAX_DEPTH, err);
	if (!it->root)
		problem(problems, i, "resource", "%s", err);
}

/* Findings of a change's own document rules, as problems. */
static void doc_problems(struct fnd_list *fl, size_t from, size_t i, json_t *problems)
{
	for (size_t f = from; f < fl->n; f++) {
		json_t *p;

		if (fl->v[f].sev != FND_ERROR)
			continue;
		p = fnd_to_json(&fl->v[f]);
		json_object_set_new(p, "change", json_integer((json_int_t)i));
		json_array_append_new(problems, p);
	}
}

static int same_finding(const struct finding *a, const struct finding *b)
{
	return a->code == b->code && !strcmp(a->msg, b->msg) &&
	       !strcmp(a->file ? a->file : "", b->file ? b->file : "");
}

/*
 * Fabric rules before and after the change set; every error the change set
 * introduces is a problem.  Errors the fabric already had are not the
 * editor's to fix here.
 */
static void fabric_problems(struct arena *a, struct current *cur, struct chg_item *items,
			    size_t n, json_t *problems)
{
	struct val_res **before = NULL, **after = NULL;
	size_t nb = 0, na = 0;
	struct fnd_list scratch, fb, fa;
	struct val_opts o = VAL_OPTS_DEFAULT;
	const char *key;
	json_t *v;

	fnd_list_init(&scratch, 1);
	fnd_list_init(&fb, 100000);
	fnd_list_init(&fa, 100000);
	json_object_foreach(cur->by_key, key, v) {
		struct hy_node *root = hy_from_json(a, json_object_get(v, "spec"), HY_MAX_DEPTH, NULL);
		const char *path = json_string_value(json_object_get(v, "path"));
		struct val_res *r;
		int changed = 0;

		if (!root || !path)
			continue;
		r = val_tree(a, root, arena_strdup(a, path), &scratch);
		before = hs_realloc(before, (nb + 1) * sizeof(*before));
		before[nb++] = r;
		for (size_t i = 0; i < n; i++)
			if (items[i].kind && !strcmp(items[i].rel, path))
				changed = 1;
		if (!changed) {
			after = hs_realloc(after, (na + 1) * sizeof(*after));
			after[na++] = r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!items[i].root)
			continue;
		after = hs_realloc(after, (na + 1) * sizeof(*after));
		after[na++] = val_tree(a, items[i].root, arena_strdup(a, items[i].rel), &scratch);
	}
	val_fabric(before, nb, &o, &fb);
	val_fabric(after, na, &o, &fa);
	fnd_resolve_paths(&fb);
	fnd_resolve_paths(&fa);
	for (size_t f = 0; f < fa.n; f++) {
		int old = 0;

		if (fa.v[f].sev != FND_ERROR)
			continue;
		for (size_t g = 0; g < fb.n && !old; g++)
			old = same_finding(&fa.v[f], &fb.v[g]);
		if (!old)
			json_array_append_new(problems, fnd_to_json(&fa.v[f]));
	}
	fnd_list_release(&scratch);
	fnd_list_release(&fb);
	fnd_list_release(&fa);
	free(before);
	free(after);
}

static void new_op_id(char *out)
{
	unsigned char r[10];
	char hex[21];

	if (RAND_bytes(r, sizeof(r)) != 1) {
		uint64_t t = (uint64_t)hs_now_ms() ^ ((uint64_t)(uintptr_t)out << 16);

		memcpy(r, &t, 8);
		r[8] = r[9] = 0;
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(out, CHG_ID_MAX, "op-%s", hex);
}

struct fabric_row {
	char key[512];
	int found;
};

static int fabric_key(const struct store_fabric *f, void *arg)
{
	struct fabric_row *fr = arg;

	snprintf(fr->key, sizeof(fr->key), "%s/%s@%s", f->owner, f->repo, f->branch);
	fr->found = 1;
	return 0;
}

int chg_submit(struct store *st, const struct chg_request *rq, char *op_id, int *repeat,
	       json_t **problems_out, char *err)
{
	struct arena *a = arena_new();
	struct current cur = { json_object() };
	struct chg_item *items = NULL;
	struct fabric_row fr = { "", 0 };
	json_t *problems = json_array(), *stored = NULL;
	struct fnd_list fl;
	size_t n = 0;
	char *changes_text = NULL, *payload = NULL, email[320];
	int rc;

	*repeat = 0;
	*problems_out = NULL;
	fnd_list_init(&fl, 10000);
	rc = store_fabric_each(st, rq->fabric, NULL, NULL, NULL, fabric_key, &fr, err);
	if (rc)
		goto out;
	if (!rq->author_name || !*rq->author_name || strlen(rq->author_name) > 200) {
		problem(problems, 0, "author.name", "author.name is required (at most 200 bytes)");
	} else if (rq->author_email && (!*rq->author_email || strlen(rq->author_email) > 254 ||
					strchr(rq->author_email, '<') || strchr(rq->author_email, '>') ||
					strchr(rq->author_email, '\n'))) {
		problem(problems, 0, "author.email", "author.email is not an address");
	}
	if (rq->message && strlen(rq->message) > 4096)
		problem(problems, 0, "message", "message is longer than 4096 bytes");
	if (!json_is_array(rq->changes) || !json_array_size(rq->changes) ||
	    json_array_size(rq->changes) > CHG_MAX_CHANGES) {
		problem(problems, 0, "changes", "changes must be an array of 1 to %d changes",
			CHG_MAX_CHANGES);
		goto decide;
	}
	n = json_array_size(rq->changes);
	items = hs_calloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		size_t from = fl.n;

		check_change(a, json_array_get(rq->changes, i), i, &items[i], problems);
		if (!items[i].root)
			continue;
		val_tree(a, items[i].root, items[i].rel, &fl);
		fnd_resolve_paths(&fl);
		doc_problems(&fl, from, i, problems);
		for (size_t j = 0; j < i; j++)
			if (items[j].kind && items[i].kind && !strcmp(items[j].rel, items[i].rel))
				problem(problems, i, "resource",
					"%s %s is changed twice in one change set (change %zu too)",
					items[i].kind->name, items[i].name, j);
	}
	if (json_array_size(problems))
		goto decide;
	rc = store_resource_each(st, rq->fabric, remember_current, &cur, err);
	if (rc)
		goto out;
	fabric_problems(a, &cur, items, n, problems);
decide:
	if (json_array_size(problems)) {
		const json_t *first = json_object_get(json_array_get(problems, 0), "message");

		hs_seterr(err, "%zu problem%s: %s", json_array_size(problems),
			  json_array_size(problems) == 1 ? "" : "s", json_string_value(first));
		*problems_out = problems;
		problems = NULL;
		rc = HS_EINVAL;
		goto out;
	}
	stored = json_array();
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(rq->changes, i);
		const json_t *base = json_object_get(c, "base");
		const char *base_sha = json_string_value(json_object_get(c, "base_sha"));
		char key[320];
		json_t *s;

		int implicit = !base_sha && !json_is_object(base);

		snprintf(key, sizeof(key), "%s/%s", items[i].kind->name, items[i].name);
		if (implicit)
			base_sha = json_string_value(json_object_get(json_object_get(cur.by_key, key), "blob"));
		s = json_pack("{s:s, s:s, s:s, s:s}", "op", items[i].op, "kind", items[i].kind->name,
			      "name", items[i].name, "path", items[i].rel);
		if (implicit) /* the editor named no base: hedgesync's own record is it */
			json_object_set_new(s, "base_implicit", json_true());
		if (items[i].resource)
			json_object_set(s, "resource", (json_t *)items[i].resource);
		if (base_sha)
			json_object_set_new(s, "base_sha", json_string(base_sha));
		if (json_is_object(base))
			json_object_set(s, "base", (json_t *)base);
		json_array_append_new(stored, s);
	}
	changes_text = json_dumps(stored, JSON_COMPACT);
	if (!rq->author_email)
		snprintf(email, sizeof(email), "%s@netbox.invalid", rq->author_name);
	new_op_id(op_id);
	{
		struct store_op op = {
			.id = op_id,
			.fabric = rq->fabric,
			.source = rq->source,
			.dedup = rq->dedup,
			.author_name = rq->author_name,
			.author_email = rq->author_email ? rq->author_email : email,
			.message = rq->message,
			.changes = changes_text,
		};
		char existing[64] = "";

		payload = hs_asprintf("{\"fabric\":\"%s\",\"operation\":\"%s\"}", rq->fabric, op_id);
		rc = store_op_add(st, &op, "netbox.change", fr.key, payload, existing, NULL, err);
		if (rc == HS_ECONFLICT) {
			snprintf(op_id, CHG_ID_MAX, "%s", existing);
			*repeat = 1;
			rc = HS_OK;
		}
	}
out:
	fnd_list_release(&fl);
	for (size_t i = 0; i < n; i++)
		free(items[i].rel);
	free(items);
	free(changes_text);
	free(payload);
	json_decref(stored);
	json_decref(problems);
	json_decref(cur.by_key);
	arena_free(a);
	return rc;
}

/* ---- reading operations ------------------------------------------------ */

static int op_to_json(const struct store_op *op, void *arg)
{
	json_t **out = arg;
	json_t *o, *changes = json_loads(op->changes, 0, NULL), *summary = json_array();
	json_t *result = op->result ? json_loads(op->result, 0, NULL) : NULL;
	size_t i;
	json_t *c;

	json_array_foreach(changes, i, c)
		json_array_append_new(summary, json_pack("{s:O?, s:O?, s:O?, s:O?}", "op",
							 json_object_get(c, "op"), "kind",
							 json_object_get(c, "kind"), "name",
							 json_object_get(c, "name"), "path",
							 json_object_get(c, "path")));
	json_decref(changes);
	o = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:I}", "id", op->id, "fabric",
		      op->fabric, "state", store_op_state_name(op->state), "source", op->source,
		      "author", "name", op->author_name, "email", op->author_email, "changes",
		      summary, "created_ms", (json_int_t)op->created_ms);
	if (op->message)
		json_object_set_new(o, "message", json_string(op->message));
	if (op->finished_ms)
		json_object_set_new(o, "finished_ms", json_integer(op->finished_ms));
	if (json_is_object(result))
		json_object_update(o, result);
	json_decref(result);
	*out = o;
	return 0;
}

int chg_op_json(struct store *st, const char *id, json_t **out, char *err)
{
	*out = NULL;
	return store_op_get(st, id, op_to_json, out, err);
}

static int op_queued(const struct store_op *op, void *arg)
{
	*(int *)arg = op->state == STORE_OP_QUEUED;
	return 0;
}

int chg_op_pending(struct store *st, const char *id)
{
	int q = 0;
	int rc = store_op_get(st, id, op_queued, &q, NULL);

	return rc ? rc : q;
}

/* ---- the job ------------------------------------------------------------ */

/* One queued operation being decided. */
struct op {
	char *id, *author_name, *author_email, *message, *source;
	json_t *changes;          /* the stored change list */
	int64_t attempt_ms;       /* a write was tried by an earlier run */
	int sent;                 /* ... or by this one, whatever GitHub answered */
	/* the decision at the current head */
	enum store_op_state state;
	json_t *conflicts;        /* [{kind, name, path, fields, base, git, netbox, reason?}] */
	char **wpath, **wblob;    /* files it writes (repository paths, blob shas) */
	int *wdel;
	char **wdata;             /* content of each write (NULL for a delete) */
	size_t *wlen;
	size_t nw;
	char *verbs;              /* "VPC vpc-1: update" lines, new */
	char *error;              /* failed: why, new */
	char commit[41];
};

struct job {
	struct ev_ctx *ctx;
	const struct store_fabric *f;
	struct gh_repo repo;
	struct op *ops;
	size_t n;
};

static void op_reset(struct op *o)
{
	for (size_t i = 0; i < o->nw; i++) {
		free(o->wpath[i]);
		free(o->wblob[i]);
		free(o->wdata[i]);
	}
	free(o->wpath);
	free(o->wblob);
	free(o->wdel);
	free(o->wdata);
	free(o->wlen);
	o->wpath = o->wblob = o->wdata = NULL;
	o->wdel = NULL;
	o->wlen = NULL;
	o->nw = 0;
	free(o->verbs);
	o->verbs = NULL;
	json_decref(o->conflicts);
	o->conflicts = NULL;
	o->state = STORE_OP_QUEUED;
}

static void op_release(struct op *o)
{
	op_reset(o);
	free(o->id);
	free(o->author_name);
	free(o->author_email);
	free(o->message);
	free(o->source);
	free(o->error);
	json_decref(o->changes);
}

static int load_op(const struct store_op *so, void *arg)
{
	struct job *j = arg;
	struct op *o;
	json_t *changes = json_loads(so->changes, 0, NULL);

	if (!json_is_array(changes)) {
		json_decref(changes);
		return 0;
	}
	j->ops = hs_realloc(j->ops, (j->n + 1) * sizeof(*j->ops));
	o = &j->ops[j->n++];
	memset(o, 0, sizeof(*o));
	o->id = hs_strdup(so->id);
	o->author_name = hs_strdup(so->author_name);
	o->author_email = hs_strdup(so->author_email);
	o->message = hs_strdup(so->message);
	o->source = hs_strdup(so->source);
	o->changes = changes;
	o->attempt_ms = so->attempt_ms;
	return 0;
}

static void op_write(struct op *o, const char *path, const char *data, size_t len)
{
	char sha[41] = "";

	o->wpath = hs_realloc(o->wpath, (o->nw + 1) * sizeof(char *));
	o->wblob = hs_realloc(o->wblob, (o->nw + 1) * sizeof(char *));
	o->wdata = hs_realloc(o->wdata, (o->nw + 1) * sizeof(char *));
	o->wdel = hs_realloc(o->wdel, (o->nw + 1) * sizeof(int));
	o->wlen = hs_realloc(o->wlen, (o->nw + 1) * sizeof(size_t));
	if (data)
		gh_git_blob_sha(data, len, sha);
	o->wpath[o->nw] = hs_strdup(path);
	o->wblob[o->nw] = hs_strdup(sha);
	o->wdata[o->nw] = data ? hs_strndup(data, len) : NULL;
	o->wdel[o->nw] = !data;
	o->wlen[o->nw] = len;
	o->nw++;
}

static void op_verb(struct op *o, const char *kind, const char *name, const char *verb)
{
	char *v = hs_asprintf("%s%s%s %s: %s", o->verbs ? o->verbs : "", o->verbs ? "\n" : "",
			      kind, name, verb);

	free(o->verbs);
	o->verbs = v;
}

static void op_conflict(struct op *o, const json_t *c, const char *reason, json_t *fields,
			const json_t *base, const json_t *git, const json_t *netbox)
{
	json_t *x = json_pack("{s:O?, s:O?, s:O?, s:o, s:O?, s:O?, s:O?}", "kind",
			      json_object_get(c, "kind"), "name", json_object_get(c, "name"), "path",
			      json_object_get(c, "path"), "fields", fields ? fields : json_array(),
			      "base", base, "git", git, "netbox", netbox);

	if (reason)
		json_object_set_new(x, "reason", json_string(reason));
	if (!o->conflicts)
		o->conflicts = json_array();
	json_array_append_new(o->conflicts, x);
	o->state = STORE_OP_CONFLICT;
}

/* The repository's view of files during one decision: the tree at head with
 * the writes of operations decided before. */
struct view {
	struct job *j;
	struct gh_tree tree;
	json_t *overlay; /* path -> content string, or null for deleted */
};

static int blob_text(struct job *j, const char *sha, char **data, size_t *len)
{
	int rc = gh_git_get_blob(j->ctx->gh, &j->repo, sha, CHG_FILE_MAX, data, len, j->ctx->err);

	return rc ? gh_err_to_hs(rc) : HS_OK;
}

/* The content of path in the view: HS_OK (*data new, or NULL when absent),
 * with its blob sha in sha (41 bytes; "" when absent) and *ours set when an
 * operation decided before in this commit wrote it. */
static int view_get(struct view *v, const char *path, char **data, size_t *len, char *sha,
		    int *ours)
{
	json_t *o = json_object_get(v->overlay, path);

	*data = NULL;
	*len = 0;
	*sha = '\0';
	*ours = 0;
	if (o) {
		if (json_is_string(o)) {
			*len = json_string_length(o);
			*data = hs_strndup(json_string_value(o), *len);
			gh_git_blob_sha(*data, *len, sha);
			*ours = 1;
		}
		return HS_OK;
	}
	for (size_t i = 0; i < v->tree.n; i++)
		if (v->tree.v[i].type == GH_OBJ_BLOB && !strcmp(v->tree.v[i].path, path)) {
			memcpy(sha, v->tree.v[i].sha, 41);
			return blob_text(v->j, v->tree.v[i].sha, data, len);
		}
	return HS_OK;
}

/*
 * Decide one change against the view.  Adds its write to o, or marks o
 * noop-for-this-change, or records a conflict.  Returns HS_OK or an error
 * that should retry the job (GitHub unreachable).
 */
static int decide_change(struct view *v, struct op *o, const json_t *c, int *wrote)
{
	struct job *j = v->j;
	const char *op = json_string_value(json_object_get(c, "op"));
	const char *kind = json_string_value(json_object_get(c, "kind"));
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *rel = json_string_value(json_object_get(c, "path"));
	const char *base_sha = json_string_value(json_object_get(c, "base_sha"));
	const json_t *theirs_in = json_object_get(c, "resource");
	json_t *theirs = NULL, *cur = NULL, *base = NULL, *merged = NULL, *fields = json_array();
	char *path = NULL, *data = NULL, cursha[41], opbuf[64];
	size_t len = 0;
	struct hs_buf out;
	int rc, n, ours = 0;

	hs_buf_init(&out, CHG_FILE_MAX);
	*wrote = 0;
	if (!op || !kind || !name || !rel) {
		op_conflict(o, c, "the stored change is damaged", NULL, NULL, NULL, NULL);
		rc = HS_OK;
		goto out;
	}
	path = join(j->f->directory, rel);
	rc = view_get(v, path, &data, &len, cursha, &ours);
	if (rc)
		goto out;
	/* No base from the editor, and Git holds what hedgesync itself wrote for
	 * NetBox (a state not yet caught up with its own commit): that is what
	 * NetBox last knew, so it is the base. */
	ours = data && json_is_true(json_object_get(c, "base_implicit")) &&
	       (ours || store_op_writer(j->ctx->store, j->f->name, path, cursha, opbuf) == HS_OK);
	if (data) {
		cur = parse_file(data, len);
		if (!cur) {
			op_conflict(o, c, "the file in Git is not one valid YAML document", NULL,
				    NULL, NULL, theirs_in);
			goto out;
		}
	}
	if (!strcmp(op, "apply"))
		theirs = normalize(theirs_in);
	if (!strcmp(op, "apply") && !theirs) {
		op_conflict(o, c, "the resource cannot be written as YAML", NULL, NULL, cur, theirs_in);
		goto out;
	}
	if (ours) {
		/* the base is cur, set once it is normalized below */
	} else if (json_is_object(json_object_get(c, "base"))) {
		base = normalize(json_object_get(c, "base"));
	} else if (base_sha) {
		char *bd = NULL;
		size_t bl = 0;

		rc = blob_text(j, base_sha, &bd, &bl);
		if (rc == HS_ENOTFOUND) {
			rc = HS_OK; /* an unknown base: as if there was none */
		} else if (rc) {
			goto out;
		} else {
			base = parse_file(bd, bl);
		}
		free(bd);
	}
	if (cur) {
		json_t *ncur = normalize(cur);

		json_decref(cur);
		cur = ncur;
		if (ours)
			base = json_incref(cur);
	}
	/* identical: nothing to do (a deleted file that is missing, too) */
	if ((!cur && !theirs) || (cur && theirs && json_equal(cur, theirs)))
		goto out;
	n = merge3(base, cur, theirs, &merged, fields);
	if (n < 0) {
		op_conflict(o, c, "the versions nest too deeply to merge", NULL, base, cur, theirs);
		goto out;
	}
	if (n > 0) {
		json_incref(fields);
		op_conflict(o, c, NULL, fields, base, cur, theirs);
		goto out;
	}
	if (merged && json_equal(merged, cur ? cur : json_null())) {
		goto out; /* Git already has everything NetBox changed */
	}
	if (merged) {
		struct arena *a = arena_new();
		struct fnd_list fl;
		struct hy_node *root = hy_from_json(a, merged, HY_MAX_DEPTH, NULL);
		struct val_res *vr;

		fnd_list_init(&fl, 50);
		vr = root ? val_tree(a, root, rel, &fl) : NULL;
		if (!vr || vr->errors) {
			fnd_resolve_paths(&fl);
			op_conflict(o, c, "the merged resource breaks a rule", fnd_list_to_json(&fl),
				    base, cur, theirs);
			fnd_list_release(&fl);
			arena_free(a);
			goto out;
		}
		fnd_list_release(&fl);
		arena_free(a);
		if (canon(merged, &out, j->ctx->err)) {
			op_conflict(o, c, "the merged resource cannot be written", NULL, base, cur,
				    theirs);
			goto out;
		}
		op_write(o, path, out.data, out.len);
		op_verb(o, kind, name, data ? "update" : "create");
	} else {
		op_write(o, path, NULL, 0);
		op_verb(o, kind, name, "delete");
	}
	*wrote = 1;
out:
	hs_buf_release(&out);
	json_decref(theirs);
	json_decref(cur);
	json_decref(base);
	json_decref(merged);
	json_decref(fields);
	free(path);
	free(data);
	return rc;
}

/* Decide operation o in the view; its writes join the view when it can be
 * committed as a whole. */
static int decide_op(struct view *v, struct op *o)
{
	size_t i;
	json_t *c;
	int any = 0;

	op_reset(o);
	json_array_foreach(o->changes, i, c) {
		int wrote = 0;
		int rc = decide_change(v, o, c, &wrote);

		if (rc)
			return rc;
		any |= wrote;
	}
	if (o->state == STORE_OP_CONFLICT) {
		/* none of a conflicting operation's changes are written */
		for (size_t w = 0; w < o->nw; w++) {
			free(o->wpath[w]);
			free(o->wblob[w]);
			free(o->wdata[w]);
		}
		o->nw = 0;
		return HS_OK;
	}
	if (!any) {
		o->state = STORE_OP_NOOP;
		return HS_OK;
	}
	for (size_t w = 0; w < o->nw; w++)
		json_object_set_new(v->overlay, o->wpath[w],
				    o->wdata[w] ? json_stringn(o->wdata[w], o->wlen[w]) : json_null());
	return HS_OK;
}

static const char *source_name(const struct op *o)
{
	(void)o;
	return "NetBox";
}

/* The commit message for the operations of a group that write. */
static char *commit_message(struct op *const *g, size_t n)
{
	struct hs_buf b;
	size_t writers = 0, lines = 0;
	struct op *one = NULL;

	hs_buf_init(&b, 4u << 20);
	for (size_t i = 0; i < n; i++)
		if (g[i]->nw) {
			writers++;
			one = g[i];
			for (const char *p = g[i]->verbs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
				lines++;
		}
	if (writers == 1 && lines == 1 && !one->message) {
		hs_buf_addf(&b, "%s (%s, %s)\n", one->verbs, source_name(one), one->author_name);
	} else if (writers == 1 && one->message) {
		hs_buf_addf(&b, "%s\n\n%s\n(%s, %s)\n", one->message, one->verbs, source_name(one),
			    one->author_name);
	} else {
		hs_buf_addf(&b, "NetBox: %zu change%s (%s, %s)\n\n", lines, lines == 1 ? "" : "s",
			    source_name(one), one->author_name);
		for (size_t i = 0; i < n; i++) {
			const char *p = g[i]->verbs;

			if (!g[i]->nw)
				continue;
			while (p && *p) {
				const char *e = strchr(p, '\n');
				size_t l = e ? (size_t)(e - p) : strlen(p);

				hs_buf_addf(&b, "- %.*s\n", (int)l, p);
				p = e ? e + 1 : p + l;
			}
		}
	}
	hs_buf_addch(&b, '\n');
	for (size_t i = 0; i < n; i++)
		if (g[i]->nw)
			hs_buf_addf(&b, TRAILER "%s\n", g[i]->id);
	return hs_buf_steal(&b, NULL);
}

/* The web page of a commit, derived from the API's address. */
static char *commit_url(const struct job *j, const char *sha)
{
	char *base = gh_web_base(j->ctx->env->github_api_url);
	char *url = hs_asprintf("%s/%s/%s/commit/%s", base, j->repo.owner, j->repo.name, sha);

	free(base);
	return url;
}

static int record_attempt(struct job *j, struct op *const *g, size_t n)
{
	struct store_op_done *d = hs_calloc(n ? n : 1, sizeof(*d));
	size_t m = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (!g[i]->nw)
			continue;
		d[m].id = g[i]->id;
		d[m].write_path = (const char *const *)g[i]->wpath;
		d[m].write_blob = (const char *const *)g[i]->wblob;
		d[m].n_writes = g[i]->nw;
		m++;
	}
	rc = m ? store_op_attempt(j->ctx->store, j->f->name, d, m, hs_now_ms(), j->ctx->err) : HS_OK;
	free(d);
	return rc;
}

/* ---- one Git Data commit per group -------------------------------------- */

struct group {
	struct job *j;
	struct op **g;
	size_t n;
	char *msg;                   /* new: the message of the last plan */
	struct gh_commit_opts *opts; /* the commit in progress: its message follows */
};

static int group_build(void *arg, const char *head, struct gh_changeset *cs, char *err)
{
	struct group *gr = arg;
	struct job *j = gr->j;
	struct view v;
	struct gh_commit commit = { 0 };
	int rc;

	(void)err;
	v.j = j;
	v.overlay = json_object();
	gh_changeset_clear(cs);
	gh_tree_init(&v.tree);
	rc = gh_git_get_commit(j->ctx->gh, &j->repo, head, &commit, j->ctx->err);
	if (!rc)
		rc = gh_git_get_tree(j->ctx->gh, &j->repo, commit.tree, 1, &v.tree, j->ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	for (size_t i = 0; i < gr->n && !rc; i++)
		rc = decide_op(&v, gr->g[i]);
	if (rc)
		goto out;
	for (size_t i = 0; i < gr->n; i++) {
		struct op *o = gr->g[i];

		for (size_t w = 0; w < o->nw; w++) {
			if (!o->wdel[w]) {
				gh_changeset_put(cs, o->wpath[w], o->wdata[w], o->wlen[w], 0);
				continue;
			}
			/* delete only what the head has; an earlier write in this
			 * commit may have created it */
			for (size_t t = 0; t < v.tree.n; t++)
				if (!strcmp(v.tree.v[t].path, o->wpath[w])) {
					gh_changeset_delete(cs, o->wpath[w]);
					break;
				}
		}
	}
	rc = record_attempt(j, gr->g, gr->n);
	free(gr->msg);
	gr->msg = cs->n ? commit_message(gr->g, gr->n) : NULL;
	if (gr->opts)
		gr->opts->message = gr->msg;
out:
	gh_commit_release(&commit);
	gh_tree_release(&v.tree);
	json_decref(v.overlay);
	/* a failure here is GitHub or the database: worth another try */
	return rc ? GH_ENET : GH_OK;
}

static int commit_group(struct job *j, struct op **g, size_t n)
{
	struct group gr = { j, g, n, NULL, NULL };
	struct gh_changeset cs;
	struct gh_commit_opts o = { 0 };
	struct gh_commit_result res;
	struct gh_person author = { g[0]->author_name, g[0]->author_email, NULL };
	gh_sha head;
	int rc;

	gh_changeset_init(&cs);
	rc = gh_git_get_ref(j->ctx->gh, &j->repo, j->f->branch, head, j->ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	rc = group_build(&gr, head, &cs, j->ctx->err);
	if (rc) {
		rc = HS_ERETRY;
		goto out;
	}
	gr.opts = NULL;
	if (!cs.n)
		goto out; /* every operation is noop or conflict */
	o.branch = j->f->branch;
	o.message = gr.msg;
	o.author = &author;
	o.replan = group_build;
	o.payload = &gr;
	gr.opts = &o; /* a replan rebuilds the message */
	rc = gh_git_commit(j->ctx->gh, &j->repo, &o, &cs, &res, j->ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (g[i]->nw && res.noop) {
			g[i]->state = STORE_OP_NOOP;
		} else if (g[i]->nw) {
			g[i]->state = STORE_OP_COMMITTED;
			memcpy(g[i]->commit, res.commit, 41);
		}
out:
	if (rc) /* decided against a head nothing was written on: decide again */
		for (size_t i = 0; i < n; i++)
			op_reset(g[i]);
	free(gr.msg);
	gh_changeset_release(&cs);
	return rc;
}

/* ---- one Contents API write ---------------------------------------------- */

/*
 * The fast path: one operation, one change, a known base.  HS_OK when done
 * (o->state set), 1 when the file moved since the base (decide in full),
 * or an error.
 */
static int single_write(struct job *j, struct op *o)
{
	const json_t *c = json_array_get(o->changes, 0);
	const char *op = json_string_value(json_object_get(c, "op"));
	const char *rel = json_string_value(json_object_get(c, "path"));
	const char *base_sha = json_string_value(json_object_get(c, "base_sha"));
	const json_t *base = json_object_get(c, "base");
	struct gh_person author = { o->author_name, o->author_email, NULL };
	struct gh_contents_write w = { 0 };
	struct gh_file_commit fc;
	struct hs_buf text, btext;
	char bsha[41] = "", *path = NULL, *msg = NULL;
	int rc = 1;

	hs_buf_init(&text, CHG_FILE_MAX);
	hs_buf_init(&btext, CHG_FILE_MAX);
	if (!op || !rel)
		goto out;
	if (json_is_object(base)) {
		if (canon(base, &btext, NULL))
			goto out;
		gh_git_blob_sha(btext.data, btext.len, bsha);
		base_sha = bsha;
	}
	path = join(j->f->directory, rel);
	op_reset(o);
	if (!strcmp(op, "apply")) {
		char sha[41];

		if (canon(json_object_get(c, "resource"), &text, NULL))
			goto out;
		gh_git_blob_sha(text.data, text.len, sha);
		if (base_sha && !strcmp(sha, base_sha)) {
			o->state = STORE_OP_NOOP; /* NetBox changed nothing */
			rc = HS_OK;
			goto out;
		}
		op_write(o, path, text.data, text.len);
		op_verb(o, json_string_value(json_object_get(c, "kind")),
			json_string_value(json_object_get(c, "name")), base_sha ? "update" : "create");
	} else {
		if (!base_sha)
			goto out;
		op_write(o, path, NULL, 0);
		op_verb(o, json_string_value(json_object_get(c, "kind")),
			json_string_value(json_object_get(c, "name")), "delete");
	}
	rc = record_attempt(j, &o, 1);
	if (rc)
		goto out;
	msg = commit_message(&o, 1);
	w.path = path;
	w.branch = j->f->branch;
	w.message = msg;
	w.data = text.data;
	w.len = text.len;
	w.sha = base_sha;
	w.author = &author;
	o->sent = 1;
	if (!strcmp(op, "apply"))
		rc = gh_contents_put(j->ctx->gh, &j->repo, &w, &fc, j->ctx->err);
	else
		rc = gh_contents_delete(j->ctx->gh, &j->repo, &w, &fc, j->ctx->err);
	if (rc == GH_OK) {
		o->state = STORE_OP_COMMITTED;
		memcpy(o->commit, fc.commit_sha, 41);
	} else if (rc == GH_ECONFLICT || rc == GH_ENOTFOUND) {
		rc = 1; /* Git moved (or the file is gone): decide in full */
	} else {
		rc = gh_err_to_hs(rc);
	}
out:
	if (rc == 1)
		op_reset(o);
	free(path);
	free(msg);
	hs_buf_release(&text);
	hs_buf_release(&btext);
	return rc;
}

/* ---- recovery ------------------------------------------------------------- */

static int has_trailer(const char *msg, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = msg ? strstr(msg, TRAILER) : NULL; p; p = strstr(p + 1, TRAILER)) {
		const char *v = p + strlen(TRAILER);

		if (!strncmp(v, id, n) && (v[n] == '\n' || v[n] == '\0' || v[n] == '\r'))
			return 1;
	}
	return 0;
}

/* An operation whose write may have landed without hedgesync knowing: tried
 * by a run that crashed, or sent by this one and answered with an error (a
 * lost answer looks like a conflict or a 5xx), and not known committed. */
static int looks_landed(const struct op *o)
{
	return (o->attempt_ms || o->sent) &&
	       (o->state == STORE_OP_QUEUED || o->state == STORE_OP_NOOP);
}

/* Operations whose write was tried before: find the commit that carries
 * them, if it landed, so they are never written twice. */
static int recover(struct job *j)
{
	gh_sha sha;
	int tried = 0, crashed = 0, rc, depth_max;

	for (size_t i = 0; i < j->n; i++) {
		tried += looks_landed(&j->ops[i]);
		crashed |= looks_landed(&j->ops[i]) && j->ops[i].attempt_ms;
	}
	if (!tried)
		return HS_OK;
	/* a write sent a moment ago is among the last few commits; one from a
	 * run that crashed may be further back */
	depth_max = crashed ? CHG_RECOVER_DEPTH : CHG_RECOVER_RECENT;
	rc = gh_git_get_ref(j->ctx->gh, &j->repo, j->f->branch, sha, j->ctx->err);
	if (rc)
		return gh_err_to_hs(rc);
	for (int depth = 0; depth < depth_max && tried; depth++) {
		struct gh_commit c = { 0 };

		rc = gh_git_get_commit(j->ctx->gh, &j->repo, sha, &c, j->ctx->err);
		if (rc)
			return gh_err_to_hs(rc);
		for (size_t i = 0; i < j->n; i++) {
			struct op *o = &j->ops[i];

			if (looks_landed(o) && has_trailer(c.message, o->id)) {
				o->state = STORE_OP_COMMITTED;
				memcpy(o->commit, c.sha, 41);
				tried--;
				hs_log(HS_LOG_INFO, "operation", o->id,
				       "its write landed: commit %s", c.sha);
			}
		}
		if (!c.n_parents) {
			gh_commit_release(&c);
			break;
		}
		memcpy(sha, c.parents[0], 41);
		gh_commit_release(&c);
	}
	return HS_OK;
}

/* ---- finishing -------------------------------------------------------------- */

static int finish(struct job *j)
{
	struct store_op_done *d = hs_calloc(j->n ? j->n : 1, sizeof(*d));
	char **keep = hs_calloc(2 * (j->n ? j->n : 1), sizeof(char *));
	size_t m = 0;
	int rc;

	for (size_t i = 0; i < j->n; i++) {
		struct op *o = &j->ops[i];
		json_t *r = NULL;

		if (o->state == STORE_OP_QUEUED)
			continue;
		if (o->state == STORE_OP_COMMITTED) {
			char *url = commit_url(j, o->commit);

			r = json_pack("{s:{s:s, s:s}}", "commit", "sha", o->commit, "url", url);
			free(url);
		} else if (o->state == STORE_OP_CONFLICT) {
			r = json_pack("{s:O}", "conflicts", o->conflicts ? o->conflicts : json_array());
		} else if (o->state == STORE_OP_FAILED) {
			r = json_pack("{s:s}", "error", o->error ? o->error : "failed");
		}
		d[m].id = o->id;
		d[m].state = o->state;
		d[m].commit_sha = o->state == STORE_OP_COMMITTED ? o->commit : NULL;
		d[m].result = keep[2 * m] = r ? json_dumps(r, JSON_COMPACT) : NULL;
		json_decref(r);
		hs_log(HS_LOG_INFO, "operation", o->id, "%s%s%s", store_op_state_name(o->state),
		       o->state == STORE_OP_COMMITTED ? " as " : "",
		       o->state == STORE_OP_COMMITTED ? o->commit : "");
		m++;
	}
	rc = m ? store_op_finish(j->ctx->store, j->f->name, d, m, hs_now_ms(), j->ctx->err) : HS_OK;
	for (size_t i = 0; i < 2 * (j->n ? j->n : 1); i++)
		free(keep[i]);
	free(keep);
	free(d);
	return rc;
}

/*
 * The job will not run again (GitHub refused the write, or the last attempt
 * failed): every operation still open ends failed with the reason, so its
 * caller is not left waiting on "queued" forever.  One whose write was tried
 * says so: if GitHub took it after all, its commit carries the trailer.
 */
static void fail_open(struct job *j, const char *why)
{
	for (size_t i = 0; i < j->n; i++) {
		struct op *o = &j->ops[i];
		const char *tried = o->attempt_ms || o->nw ?
			"; a write was sent and may have landed: look for a commit with the"
			" trailer " TRAILER "<id>" : "";

		if (o->state != STORE_OP_QUEUED)
			continue;
		op_reset(o);
		o->state = STORE_OP_FAILED;
		o->error = hs_asprintf("%s%s", why && *why ? why : "GitHub refused the change",
				       tried);
	}
}

static int same_author(const struct op *a, const struct op *b)
{
	return !strcmp(a->author_name, b->author_name) && !strcmp(a->author_email, b->author_email);
}

/*
 * Which commit each queued operation goes into: gid[i] for j->ops[i], groups
 * numbered in the order they are committed; returns how many.  A commit has
 * one author, so an operation joins the latest group of its author, unless
 * a group after that one touches one of its files: then the order of the two
 * edits of that file would change, and it starts a group of its own.
 * Operations on different files commute, so a burst of two people's edits
 * becomes two commits, not one per turn.
 */
static size_t plan_groups(struct job *j, size_t *gid)
{
	json_t *touched = json_object(); /* path -> the last group that writes it */
	size_t *first = hs_calloc(j->n ? j->n : 1, sizeof(*first)); /* a group's first op */
	size_t ngroups = 0;

	for (size_t i = 0; i < j->n; i++) {
		struct op *o = &j->ops[i];
		json_int_t last = -1;
		size_t c;
		json_t *ch;
		int joined = 0;

		json_array_foreach(o->changes, c, ch) {
			const char *path = json_string_value(json_object_get(ch, "path"));
			json_t *t = path ? json_object_get(touched, path) : NULL;

			if (t && json_integer_value(t) > last)
				last = json_integer_value(t);
		}
		/* the latest group of this author, if no later group has its files */
		for (size_t g = ngroups; g-- > 0 && (json_int_t)g >= last;) {
			if (same_author(&j->ops[first[g]], o)) {
				gid[i] = g;
				joined = 1;
				break;
			}
		}
		if (!joined) {
			first[ngroups] = i;
			gid[i] = ngroups++;
		}
		json_array_foreach(o->changes, c, ch) {
			const char *path = json_string_value(json_object_get(ch, "path"));

			if (path)
				json_object_set_new(touched, path, json_integer((json_int_t)gid[i]));
		}
	}
	json_decref(touched);
	free(first);
	return ngroups;
}

int chg_handle(struct ev_ctx *ctx)
{
	struct fabric_copy fc;
	struct job j = { ctx, NULL, { 0 }, NULL, 0 };
	struct op **group = NULL;
	size_t *gid = NULL, ngroups;
	int rc;

	if (!ctx->gh) {
		hs_seterr(ctx->err, "no GitHub client in this worker");
		return HS_ERETRY;
	}
	rc = fabric_from_job(ctx, &fc);
	if (rc == 1)
		return HS_OK;
	if (rc)
		return rc;
	j.f = &fc.f;
	j.repo.owner = fc.f.owner;
	j.repo.name = fc.f.repo;
	j.repo.installation_id = fc.f.installation_id;
	rc = store_op_open(ctx->store, fc.f.name, CHG_BATCH, load_op, &j, ctx->err);
	if (rc || !j.n)
		goto out; /* decided with an earlier job of this fabric */
	rc = recover(&j);
	if (rc)
		goto out;
	if (j.n == 1 && j.ops[0].state == STORE_OP_QUEUED && json_array_size(j.ops[0].changes) == 1) {
		rc = single_write(&j, &j.ops[0]);
		if (rc < 0)
			goto out;
		/* refused: perhaps because it landed and its answer was lost */
		if (rc == 1 && (rc = recover(&j)) != HS_OK)
			goto out;
	}
	gid = hs_calloc(j.n, sizeof(*gid));
	ngroups = plan_groups(&j, gid);
	group = hs_calloc(j.n, sizeof(*group));
	for (size_t g = 0; g < ngroups; g++) {
		size_t n = 0;

		for (size_t k = 0; k < j.n; k++)
			if (gid[k] == g && j.ops[k].state == STORE_OP_QUEUED)
				group[n++] = &j.ops[k];
		if (n) {
			rc = commit_group(&j, group, n);
			if (rc)
				goto out;
		}
	}
	rc = HS_OK;
out:
	if (rc && (rc == HS_EINVAL || ctx->last_attempt))
		fail_open(&j, ctx->err);
	if (j.n) {
		int frc = finish(&j);

		if (!rc)
			rc = frc;
	}
	for (size_t i = 0; i < j.n; i++)
		op_release(&j.ops[i]);
	free(j.ops);
	free(group);
	free(gid);
	fabric_copy_release(&fc);
	return rc;
}
