/* fabric.c: fabric registration, onboarding, raw/ ingestion and resource state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/gh.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/json.h"
#include "github/repos.h"
#include "sync/arena.h"
#include "sync/checkrun.h"
#include "sync/emit.h"
#include "sync/fabric.h"
#include "sync/notify.h"
#include "sync/finding.h"
#include "sync/ingest_plan.h"
#include "sync/kinds.h"
#include "sync/store.h"
#include "sync/validate.h"
#include "sync/yaml.h"

#define RAW_FILE_MAX (16u * 1024 * 1024) /* the engine's own file cap */
#define COMMIT_ATTEMPTS 8

/* ---- names and directories ------------------------------------------- */

int fabric_normalize_dir(const char *in, char *out, size_t n)
{
	size_t o = 0;
	const char *p = in;

	if (!in || strlen(in) >= n || strlen(in) >= FABRIC_DIR_MAX)
		return HS_EINVAL;
	while (*p) {
		const char *seg = p, *end;
		size_t len;

		while (*seg == '/')
			seg++;
		if (!*seg)
			break;
		end = strchr(seg, '/');
		len = end ? (size_t)(end - seg) : strlen(seg);
		if ((len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2)))
			return HS_EINVAL;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == '\\' || seg[i] == 0x7f)
				return HS_EINVAL;
		if (o)
			out[o++] = '/';
		memcpy(out + o, seg, len);
		o += len;
		p = seg + len;
	}
	/* an empty segment in the middle ("a//b") is refused, not folded */
	if (strstr(in, "//"))
		return HS_EINVAL;
	out[o] = '\0';
	return HS_OK;
}

int fabric_dirs_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *shorter = la <= lb ? a : b, *longer = la <= lb ? b : a;
	size_t ls = la <= lb ? la : lb;

	if (ls == 0)
		return 1; /* the root contains everything */
	return !strncmp(shorter, longer, ls) && (longer[ls] == '\0' || longer[ls] == '/');
}

int fabric_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

json_t *fabric_to_json(const struct store_fabric *f)
{
	return json_pack("{s:s, s:s+++, s:s, s:s, s:I, s:s?}", "name", f->name, "repository",
			 f->owner, "/", f->repo, "", "branch", f->branch, "directory", f->directory,
			 "installation_id", (json_int_t)f->installation_id, "head", f->head);
}

/* ---- registration ----------------------------------------------------- */

struct overlap_ctx {
	const char *dir;
	char *clash; /* new: the fabric in the way */
};

static int check_overlap(const struct store_fabric *f, void *arg)
{
	struct overlap_ctx *c = arg;

	if (fabric_dirs_overlap(f->directory, c->dir)) {
		c->clash = hs_strdup(f->name);
		return 1;
	}
	return 0;
}

static int default_branch(struct gh_client *gh, const struct gh_repo *r, char **out, char *err)
{
	struct gh_request rq = { 0 };
	char path[300];
	json_t *repo = NULL;
	const char *b;
	int rc;

	snprintf(path, sizeof(path), "/repos/%s/%s", r->owner, r->name);
	rq.method = "GET";
	rq.path = path;
	rq.auth = GH_AUTH_INSTALLATION;
	rq.installation_id = r->installation_id;
	rc = gh_call(gh, &rq, GH_JSON_OBJECT, &repo, NULL, err);
	if (rc)
		return rc;
	b = gh_json_str(repo, "default_branch", 255);
	if (!b || !gh_branch_valid(b)) {
		hs_seterr(err, "GitHub gave no usable default branch for %s/%s", r->owner, r->name);
		rc = GH_EBADRESP;
	} else {
		*out = hs_strdup(b);
	}
	json_decref(repo);
	return rc;
}

static int queue_job(struct store *st, const char *kind, const struct store_fabric *f,
		     int64_t *job, char *err)
{
	char key[512];
	json_t *p = json_pack("{s:s}", "fabric", f->name);
	char *s = json_dumps(p, JSON_COMPACT);
	int rc;

	snprintf(key, sizeof(key), "%s/%s@%s", f->owner, f->repo, f->branch);
	rc = store_job_add(st, kind, key, s, strlen(s), job, err);
	free(s);
	json_decref(p);
	return rc;
}

int fabric_register(struct store *st, struct gh_client *gh, const struct fabric_input *in,
		    json_t **out, char *err)
{
	char dir[FABRIC_DIR_MAX], owner[101], name[101];
	struct overlap_ctx oc = { dir, NULL };
	struct store_fabric f;
	struct gh_repo r = { owner, name, 0 };
	char *branch = NULL;
	const char *slash;
	int64_t job = 0;
	int rc;

	*out = NULL;
	if (!fabric_name_ok(in->name)) {
		hs_seterr(err, "name: a fabric name is 1 to 63 lowercase letters, digits or '-'");
		return HS_EINVAL;
	}
	slash = in->repository ? strchr(in->repository, '/') : NULL;
	if (!slash || (size_t)(slash - in->repository) >= sizeof(owner) ||
	    strlen(slash + 1) >= sizeof(name)) {
		hs_seterr(err, "repository: expected \"owner/repo\"");
		return HS_EINVAL;
	}
	memcpy(owner, in->repository, (size_t)(slash - in->repository));
	owner[slash - in->repository] = '\0';
	strcpy(name, slash + 1);
	if (!gh_repo_valid(&r)) {
		hs_seterr(err, "repository: \"%s\" is not a GitHub repository name", in->repository);
		return HS_EINVAL;
	}
	if (!in->directory || fabric_normalize_dir(in->directory, dir, sizeof(dir))) {
		hs_seterr(err, "directory: a repository-relative path without \".\" or \"..\" segments");
		return HS_EINVAL;
	}
	if (in->branch && !gh_branch_valid(in->branch)) {
		hs_seterr(err, "branch: \"%s\" is not a valid branch name", in->branch);
		return HS_EINVAL;
	}
	rc = gh_repos_installation(gh, owner, name, &r.installation_id, err);
	if (rc == GH_ENOTFOUND) {
		hs_seterr(err, "repository: the App is not installed on %s/%s", owner, name);
		return HS_ENOTFOUND;
	}
	if (rc)
		return gh_err_to_hs(rc);
	if (in->branch) {
		branch = hs_strdup(in->branch);
	} else if ((rc = default_branch(gh, &r, &branch, err))) {
		return gh_err_to_hs(rc);
	}

	rc = store_fabric_each(st, NULL, owner, name, branch, check_overlap, &oc, err);
	if (rc == 1) {
		hs_seterr(err, "directory: \"%s\" overlaps fabric %s on %s/%s@%s", dir, oc.clash,
			  owner, name, branch);
		rc = HS_ECONFLICT;
		goto out;
	}
	if (rc)
		goto out;
	memset(&f, 0, sizeof(f));
	f.name = in->name;
	f.owner = owner;
	f.repo = name;
	f.branch = branch;
	f.directory = dir;
	f.installation_id = r.installation_id;
	rc = store_fabric_add(st, &f, err);
	if (rc == HS_ECONFLICT) {
		hs_seterr(err, "name: a fabric named %s already exists", in->name);
		goto out;
	}
	if (rc)
		goto out;
	rc = queue_job(st, "fabric.onboard", &f, &job, err);
	if (rc)
		goto out;
	*out = fabric_to_json(&f);
	json_object_set_new(*out, "onboarding_job", json_integer(job));
out:
	free(oc.clash);
	free(branch);
	return rc;
}

static int copy_fabric(const struct store_fabric *f, void *arg)
{
	struct fabric_copy *c = arg;

	c->f = *f;
	c->f.name = c->strs[0] = hs_strdup(f->name);
	c->f.owner = c->strs[1] = hs_strdup(f->owner);
	c->f.repo = c->strs[2] = hs_strdup(f->repo);
	c->f.branch = c->strs[3] = hs_strdup(f->branch);
	c->f.directory = c->strs[4] = hs_strdup(f->directory);
	c->f.head = c->strs[5] = hs_strdup(f->head);
	return 0;
}

void fabric_copy_release(struct fabric_copy *c)
{
	for (size_t i = 0; i < sizeof(c->strs) / sizeof(*c->strs); i++)
		free(c->strs[i]);
	memset(c, 0, sizeof(*c));
}

static int queue_named(struct store *st, const char *kind, const char *name, int64_t *job,
		       char *err)
{
	struct fabric_copy c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = store_fabric_each(st, name, NULL, NULL, NULL, copy_fabric, &c, err);
	if (rc == HS_OK)
		rc = queue_job(st, kind, &c.f, job, err);
	fabric_copy_release(&c);
	return rc;
}

int fabric_queue_ingest(struct store *st, const char *name, int64_t *job, char *err)
{
	return queue_named(st, "fabric.ingest", name, job, err);
}

int fabric_queue_resync(struct store *st, const char *name, int64_t *job, char *err)
{
	return queue_named(st, "fabric.resync", name, job, err);
}

int fabric_queue_catchup(struct store *st, int *n, char *err)
{
	struct fabric_list l = { 0 };
	int rc;

	*n = 0;
	/* read them all first: a write while the read is open could find the
	 * read's snapshot stale and fail at once (SQLITE_BUSY_SNAPSHOT) */
	rc = fabric_list_load(st, NULL, NULL, NULL, &l, err);
	for (size_t i = 0; i < l.n && !rc; i++) {
		if (!l.v[i].f.head)
			continue; /* not onboarded: its onboarding job is still queued */
		rc = queue_job(st, "fabric.catchup", &l.v[i].f, NULL, err);
		if (!rc)
			(*n)++;
	}
	fabric_list_release(&l);
	return rc;
}

/* ---- reading the repository ------------------------------------------ */

/* path relative to the fabric directory, or NULL when outside it */
static const char *rel_of(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!n)
		return path;
	if (strncmp(path, dir, n) || path[n] != '/')
		return NULL;
	return path + n + 1;
}

static char *join(const char *dir, const char *rel)
{
	return *dir ? hs_asprintf("%s/%s", dir, rel) : hs_strdup(rel);
}

static int is_yaml(const char *path)
{
	size_t n = strlen(path);

	return (n > 5 && !strcmp(path + n - 5, ".yaml")) || (n > 4 && !strcmp(path + n - 4, ".yml"));
}

/* What a commit's tree holds of one fabric. */
struct files {
	struct plan_file *v; /* data and path new */
	size_t n;
	char **shas;
};

static void files_release(struct files *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free((char *)fs->v[i].path);
		free((char *)fs->v[i].data);
		free((char *)fs->v[i].sha);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

static int files_add(struct ev_ctx *ctx, const struct gh_repo *r, struct files *fs,
		     const char *rel, const char *sha)
{
	char *data = NULL;
	size_t len = 0;
	int rc = gh_git_get_blob(ctx->gh, r, sha, 0, &data, &len, ctx->err);

	if (rc)
		return gh_err_to_hs(rc);
	fs->v = hs_realloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
	fs->v[fs->n].path = hs_strdup(rel);
	fs->v[fs->n].data = data;
	fs->v[fs->n].len = len;
	fs->v[fs->n].sha = hs_strdup(sha);
	fs->n++;
	return HS_OK;
}

/* Remember content we commit inline, so reading it back costs no call. */
static void cache_written(struct ev_ctx *ctx, const char *data, size_t len)
{
	const struct gh_blob_cache *bc = gh_client_blobs(ctx->gh);
	char sha[41];

	if (!bc)
		return;
	gh_git_blob_sha(data, len, sha);
	bc->put(bc->ctx, sha, data, len);
}

static int cs_put(struct ev_ctx *ctx, struct gh_changeset *cs, const char *dir,
		  const char *rel, const char *data, size_t len)
{
	char *path = join(dir, rel);
	int rc = gh_changeset_put(cs, path, data, len, 0);

	free(path);
	if (rc) {
		hs_seterr(ctx->err, "cannot write %s", rel);
		return HS_EINVAL;
	}
	cache_written(ctx, data, len);
	return HS_OK;
}

static int cs_delete(struct ev_ctx *ctx, struct gh_changeset *cs, const char *dir, const char *rel)
{
	char *path = join(dir, rel);
	int rc = gh_changeset_delete(cs, path);

	free(path);
	if (rc) {
		hs_seterr(ctx->err, "cannot delete %s", rel);
		return HS_EINVAL;
	}
	return HS_OK;
}

/* ---- the resource state ----------------------------------------------- */

/* The state before a rebuild: its rows, found by path. */
struct prev {
	struct store_resource *v; /* strings owned (strs) */
	char **strs;
	size_t n, nstrs;
	json_t *by_path;          /* path -> [row index, ...] */
};

static const char *prev_keep(struct prev *p, const char *s)
{
	if (!s)
		return NULL;
	p->strs = hs_realloc(p->strs, (p->nstrs + 1) * sizeof(char *));
	return p->strs[p->nstrs++] = hs_strdup(s);
}

static int remember(const struct store_resource *r, void *arg)
{
	struct prev *p = arg;
	struct store_resource *c;
	json_t *list;

	p->v = hs_realloc(p->v, (p->n + 1) * sizeof(*p->v));
	c = &p->v[p->n];
	memset(c, 0, sizeof(*c));
	c->kind = prev_keep(p, r->kind);
	c->name = prev_keep(p, r->name);
	c->path = prev_keep(p, r->path);
	c->blob_sha = prev_keep(p, r->blob_sha);
	c->spec = prev_keep(p, r->spec);
	c->findings = prev_keep(p, r->findings);
	c->origin = prev_keep(p, r->origin);
	c->operation = prev_keep(p, r->operation);
	c->valid = r->valid;
	list = json_object_get(p->by_path, r->path);
	if (!list) {
		list = json_array();
		json_object_set_new(p->by_path, r->path, list);
	}
	json_array_append_new(list, json_integer((json_int_t)p->n));
	p->n++;
	return 0;
}

static void prev_release(struct prev *p)
{
	for (size_t i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
	free(p->strs);
	free(p->v);
	json_decref(p->by_path);
}

/* The rows of the state before for path as it was at blob (a list of
 * indices), or NULL when the file was not there or was another blob. */
static json_t *prev_rows(const struct prev *p, const char *path, const char *blob)
{
	json_t *list = json_object_get(p->by_path, path);
	json_t *first = json_array_get(list, 0);

	if (!first || strcmp(p->v[json_integer_value(first)].blob_sha, blob))
		return NULL;
	return list;
}

/* A file's resources, parsed and validated, appended to *res. */
struct rows {
	struct store_resource *v;
	size_t n;
	char **owned;
	size_t nowned;
};

static const char *rows_keep(struct rows *r, char *s)
{
	r->owned = hs_realloc(r->owned, (r->nowned + 1) * sizeof(char *));
	return r->owned[r->nowned++] = s;
}

static struct store_resource *rows_add(struct rows *r)
{
	r->v = hs_realloc(r->v, (r->n + 1) * sizeof(*r->v));
	memset(&r->v[r->n], 0, sizeof(*r->v));
	return &r->v[r->n++];
}

static void rows_release(struct rows *r)
{
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->v);
}

static int parse_managed(struct ev_ctx *ctx, const struct gh_repo *repo, struct arena *a,
			 const struct gh_tree_entry *e, const char *rel, const char *origin,
			 const char *operation, struct rows *out)
{
	struct hy_stream *ys = NULL;
	struct fnd_list fl;
	char *data = NULL;
	size_t len = 0;
	int rc = gh_git_get_blob(ctx->gh, repo, e->sha, RAW_FILE_MAX, &data, &len, ctx->err);

	if (rc)
		return gh_err_to_hs(rc);
	fnd_list_init(&fl, 200);
	if (hy_load(&ys, data, len, rel, NULL, a, &fl, NULL) == HS_OK) {
		for (uint32_t d = 0; d < ys->ndocs; d++) {
			struct val_res *v = val_doc(a, &ys->docs[d], rel, &fl);
			struct store_resource *r;
			json_t *spec, *fj;

			if (!v || !v->kind || !v->kind->managed || !v->name)
				continue;
			spec = hy_to_json(ys->docs[d].root, NULL);
			if (!spec)
				continue;
			fnd_resolve_paths(&fl);
			fj = fnd_list_to_json(&fl);
			r = rows_add(out);
			r->kind = v->kind->name; /* the catalog's */
			r->name = rows_keep(out, hs_strdup(v->name));
			r->path = rows_keep(out, hs_strdup(rel));
			r->blob_sha = rows_keep(out, hs_strdup(e->sha));
			r->spec = rows_keep(out, json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS));
			r->findings = rows_keep(out, json_dumps(fj, JSON_COMPACT));
			r->valid = v->errors == 0;
			r->origin = origin;
			r->operation = operation ? rows_keep(out, hs_strdup(operation)) : NULL;
			json_decref(fj);
			json_decref(spec);
		}
	}
	hy_stream_free(ys);
	fnd_list_release(&fl);
	free(data);
	return HS_OK;
}

/*
 * Bring a fabric's resource state to managed/ at head, in one transaction.
 * A file whose blob is the one the state already has keeps its rows as
 * they are (unless full: then every file is read and validated again, as
 * `resync` does); other files are read (blob cache) and validated.  Its
 * origin: hedgesync just wrote it (`written`): written_origin; an
 * operation recorded writing that blob: "netbox"; else people: "git".
 */
static int rebuild_state(struct ev_ctx *ctx, const struct store_fabric *f,
			 const struct gh_repo *r, const char *head, const struct gh_tree *tree,
			 const struct gh_changeset *written, const char *written_origin, int full)
{
	struct prev prev = { 0 };
	struct rows rows = { 0 };
	struct arena *a = arena_new();
	json_t *wrote = json_object();
	int rc = HS_OK;

	prev.by_path = json_object();
	store_resource_each(ctx->store, f->name, remember, &prev, NULL);
	for (size_t w = 0; written && w < written->n; w++)
		if (!written->v[w].delete)
			json_object_set_new(wrote, written->v[w].path, json_true());
	{
		/* the files the loop below reads, fetched in parallel first */
		const char **shas = hs_calloc(tree->n ? tree->n : 1, sizeof(*shas));
		size_t ns = 0;

		for (size_t i = 0; i < tree->n; i++) {
			const struct gh_tree_entry *e = &tree->v[i];
			const char *rel = e->type == GH_OBJ_BLOB ? rel_of(f->directory, e->path) : NULL;

			if (rel && !strncmp(rel, "managed/", 8) && is_yaml(rel) &&
			    (full || !prev_rows(&prev, rel, e->sha)))
				shas[ns++] = e->sha;
		}
		gh_git_prefetch_blobs(ctx->gh, r, shas, ns, RAW_FILE_MAX, GH_PREFETCH_PARALLEL);
		free(shas);
	}
	for (size_t i = 0; i < tree->n; i++) {
		const struct gh_tree_entry *e = &tree->v[i];
		const char *rel = e->type == GH_OBJ_BLOB ? rel_of(f->directory, e->path) : NULL;
		const char *origin = "git", *operation = NULL;
		json_t *same;
		char opbuf[64];
		size_t k;
		json_t *ix;

		if (!rel || strncmp(rel, "managed/", 8) || !is_yaml(rel))
			continue;
		same = prev_rows(&prev, rel, e->sha);
		if (same && !full) {
			json_array_foreach(same, k, ix)
				*rows_add(&rows) = prev.v[json_integer_value(ix)];
			continue;
		}
		if (same) {
			/* the same blob: the same origin, whatever the rules say now */
			const struct store_resource *p = &prev.v[json_integer_value(json_array_get(same, 0))];

			origin = p->origin;
			operation = p->operation;
		} else if (json_object_get(wrote, e->path)) {
			origin = written_origin;
		} else if (store_op_writer(ctx->store, f->name, e->path, e->sha, opbuf) == HS_OK) {
			origin = "netbox";
			operation = opbuf;
		}
		rc = parse_managed(ctx, r, a, e, rel, origin, operation, &rows);
		if (rc)
			goto out;
	}
	rc = store_resources_replace(ctx->store, f->name, head, rows.v, rows.n, ctx->err);
	if (rc == HS_OK)
		notify_kick(ctx->env->notifier);
out:
	/* rows may point into prev: release it only now */
	rows_release(&rows);
	prev_release(&prev);
	json_decref(wrote);
	arena_free(a);
	return rc;
}

/* ---- ingestion -------------------------------------------------------- */

struct ingest_run {
	struct ev_ctx *ctx;
	const struct store_fabric *f;
	struct gh_repo repo;
	const char *op_id;
	char *message;       /* new, for the last plan */
	struct gh_commit_opts *opts; /* the commit in progress: its message follows ours */
	int raw_files;       /* raw files seen at the last head */
	struct gh_tree tree; /* the last head's tree */
};

/* The archive log with one more entry (new), as YAML text in out. */
static int archive_log(struct ingest_run *ir, const struct plan *p, const char *head,
		       struct hs_buf *out)
{
	const char *path_rel = ".hnp/archive-log.yaml";
	struct arena *a = arena_new();
	json_t *log = NULL, *entries, *entry;
	struct hy_node *tree;
	int rc = HS_OK;

	for (size_t i = 0; i < ir->tree.n; i++) {
		const struct gh_tree_entry *e = &ir->tree.v[i];
		const char *rel = rel_of(ir->f->directory, e->path);
		struct hy_stream *ys = NULL;
		char *data = NULL;
		size_t len = 0;

		if (!rel || strcmp(rel, path_rel) || e->type != GH_OBJ_BLOB)
			continue;
		if (gh_git_get_blob(ir->ctx->gh, &ir->repo, e->sha, RAW_FILE_MAX, &data, &len,
				    ir->ctx->err) == GH_OK &&
		    hy_load(&ys, data, len, path_rel, NULL, a, NULL, NULL) == HS_OK &&
		    ys->ndocs == 1)
			log = hy_to_json(ys->docs[0].root, NULL);
		hy_stream_free(ys);
		free(data);
	}
	/* A log hedgesync cannot read is started again; the old one stays in history. */
	if (!json_is_object(log) || !json_is_array(json_object_get(log, "entries"))) {
		json_decref(log);
		log = json_pack("{s:i, s:[]}", "version", 1, "entries");
	}
	entries = json_object_get(log, "entries");
	entry = json_pack("{s:s, s:s, s:o}", "operation", ir->op_id, "parent", head, "files",
			  plan_archive_entries(p));
	json_array_append_new(entries, entry);
	tree = hy_from_json(a, log, 64, ir->ctx->err);
	if (!tree || emit_doc(out, tree))
		rc = HS_EINVAL;
	json_decref(log);
	arena_free(a);
	return rc;
}

static int ingest_build(void *arg, const char *head, struct gh_changeset *cs, char *err)
{
	struct ingest_run *ir = arg;
	struct ev_ctx *ctx = ir->ctx;
	const char *dir = ir->f->directory;
	struct files raw = { 0 }, managed = { 0 };
	const char **unmanaged = NULL;
	size_t nunmanaged = 0;
	struct plan *p = NULL;
	struct hs_buf logtext = HS_BUF_INIT(64u << 20);
	int rc;

	(void)err; /* ctx->err is the same buffer */
	gh_changeset_clear(cs);
	free(ir->message);
	ir->message = NULL;
	gh_tree_release(&ir->tree);
	gh_tree_init(&ir->tree);
	rc = gh_git_get_tree(ctx->gh, &ir->repo, head, 1, &ir->tree, ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	for (size_t i = 0; i < ir->tree.n; i++) {
		const struct gh_tree_entry *e = &ir->tree.v[i];
		const char *rel = e->type == GH_OBJ_BLOB ? rel_of(dir, e->path) : NULL;

		if (!rel)
			continue;
		if (!strncmp(rel, "raw/", 4) && strcmp(rel, "raw/.gitkeep")) {
			if (e->size > (int64_t)RAW_FILE_MAX) {
				/* over the engine's cap: left where it is, untouched,
				 * rather than moved without being read */
				hs_log(HS_LOG_WARN, "operation", ir->op_id,
				       "fabric %s: %s is %lld bytes, over the %u-byte limit; left in raw/",
				       ir->f->name, rel, (long long)e->size, RAW_FILE_MAX);
				continue;
			}
			rc = files_add(ctx, &ir->repo, &raw, rel, e->sha);
		} else if (!strncmp(rel, "managed/", 8) && is_yaml(rel)) {
			rc = files_add(ctx, &ir->repo, &managed, rel, e->sha);
		} else if (!strncmp(rel, "unmanaged/", 10)) {
			unmanaged = hs_realloc(unmanaged, (nunmanaged + 1) * sizeof(*unmanaged));
			unmanaged[nunmanaged++] = rel;
		}
		if (rc)
			goto out;
	}
	ir->raw_files = (int)raw.n;
	if (!raw.n)
		goto out; /* nothing to ingest: an empty change set */
	rc = plan_build(&p, raw.v, raw.n, managed.v, managed.n, unmanaged, nunmanaged, NULL,
			ctx->err);
	if (rc)
		goto out;
	for (size_t i = 0; i < p->nwrites && !rc; i++)
		rc = cs_put(ctx, cs, dir, p->writes[i].path, p->writes[i].data, p->writes[i].len);
	for (size_t i = 0; i < p->ndeletes && !rc; i++)
		rc = cs_delete(ctx, cs, dir, p->deletes[i]);
	if (rc)
		goto out;
	rc = archive_log(ir, p, head, &logtext);
	if (rc == HS_OK)
		rc = cs_put(ctx, cs, dir, ".hnp/archive-log.yaml", logtext.data, logtext.len);
	if (rc)
		goto out;
	{
		char *m = plan_commit_message(p);

		ir->message = hs_asprintf("%s\n\nHedgesync-Operation: %s\n", m, ir->op_id);
		free(m);
		if (ir->opts)
			ir->opts->message = ir->message;
	}
out:
	hs_buf_release(&logtext);
	plan_free(p);
	files_release(&raw);
	files_release(&managed);
	free(unmanaged);
	return rc;
}

static int ingest_fabric(struct ev_ctx *ctx, const struct store_fabric *f, const char *op_id)
{
	struct ingest_run ir;
	struct gh_changeset cs;
	struct gh_commit_result res;
	const char *msg;
	int rc;

	memset(&ir, 0, sizeof(ir));
	ir.ctx = ctx;
	ir.f = f;
	ir.repo.owner = f->owner;
	ir.repo.name = f->repo;
	ir.repo.installation_id = f->installation_id;
	ir.op_id = op_id;
	gh_tree_init(&ir.tree);
	gh_changeset_init(&cs);
	msg = NULL;
	{
		gh_sha head;

		rc = gh_git_get_ref(ctx->gh, &ir.repo, f->branch, head, ctx->err);
		if (rc) {
			rc = gh_err_to_hs(rc);
			goto out;
		}
		rc = ingest_build(&ir, head, &cs, ctx->err);
		if (rc)
			goto out;
		if (cs.n) {
			struct gh_commit_opts o = { 0 };

			msg = ir.message;
			o.branch = f->branch;
			o.message = msg;
			o.max_attempts = COMMIT_ATTEMPTS;
			o.replan = ingest_build;
			o.payload = &ir;
			ir.opts = &o;
			rc = gh_git_commit(ctx->gh, &ir.repo, &o, &cs, &res, ctx->err);
			if (rc) {
				rc = gh_err_to_hs(rc);
				goto out;
			}
			if (!res.noop)
				hs_log(HS_LOG_INFO, "operation", op_id, "fabric %s: ingested %d raw files in %s",
				       f->name, ir.raw_files, res.commit);
			gh_tree_release(&ir.tree);
			gh_tree_init(&ir.tree);
			rc = gh_git_get_tree(ctx->gh, &ir.repo, res.commit, 1, &ir.tree, ctx->err);
			if (rc) {
				rc = gh_err_to_hs(rc);
				goto out;
			}
			rc = rebuild_state(ctx, f, &ir.repo, res.commit, &ir.tree, &cs, "ingestion", 0);
		} else {
			rc = rebuild_state(ctx, f, &ir.repo, head, &ir.tree, NULL, NULL, 0);
		}
	}
out:
	free(ir.message);
	gh_tree_release(&ir.tree);
	gh_changeset_release(&cs);
	return rc;
}

/* ---- onboarding ------------------------------------------------------- */

struct onboard_run {
	struct ev_ctx *ctx;
	const struct store_fabric *f;
	struct gh_repo repo;
	const char *op_id;
	char *message;
	struct gh_commit_opts *opts;
};

static int onboard_build(void *arg, const char *head, struct gh_changeset *cs, char *err)
{
	struct onboard_run *ob = arg;
	struct ev_ctx *ctx = ob->ctx;
	const char *dir = ob->f->directory;
	struct gh_tree tree;
	int has_manifest = 0, has_log = 0, has_raw = 0, has_managed = 0, has_unmanaged = 0;
	int moved = 0, rc;

	(void)err;
	gh_changeset_clear(cs);
	gh_tree_init(&tree);
	rc = gh_git_get_tree(ctx->gh, &ob->repo, head, 1, &tree, ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	for (size_t i = 0; i < tree.n; i++) {
		const struct gh_tree_entry *e = &tree.v[i];
		const char *rel = e->type == GH_OBJ_BLOB ? rel_of(dir, e->path) : NULL;

		if (!rel)
			continue;
		has_manifest |= !strcmp(rel, ".hnp/manifest.yaml");
		has_log |= !strcmp(rel, ".hnp/archive-log.yaml");
		has_raw |= !strncmp(rel, "raw/", 4);
		has_managed |= !strncmp(rel, "managed/", 8);
		has_unmanaged |= !strncmp(rel, "unmanaged/", 10);
	}
	if (!has_manifest) {
		char *m = hs_asprintf("version: 1\nfabric: %s\nlayout:\n  managed: managed\n"
				      "  raw: raw\n  unmanaged: unmanaged\n", ob->f->name);

		rc = cs_put(ctx, cs, dir, ".hnp/manifest.yaml", m, strlen(m));
		free(m);
	}
	if (!rc && !has_log) {
		static const char empty_log[] = "version: 1\nentries: []\n";

		rc = cs_put(ctx, cs, dir, ".hnp/archive-log.yaml", empty_log, sizeof(empty_log) - 1);
	}
	/* loose YAML directly in the fabric directory goes to raw/ */
	for (size_t i = 0; i < tree.n && !rc; i++) {
		const struct gh_tree_entry *e = &tree.v[i];
		const char *rel = e->type == GH_OBJ_BLOB ? rel_of(dir, e->path) : NULL;
		char *data = NULL, *target;
		size_t len = 0;

		if (!rel || strchr(rel, '/') || !is_yaml(rel))
			continue;
		rc = gh_git_get_blob(ctx->gh, &ob->repo, e->sha, 0, &data, &len, ctx->err);
		if (rc) {
			rc = gh_err_to_hs(rc);
			break;
		}
		target = hs_asprintf("raw/%s", rel);
		rc = cs_put(ctx, cs, dir, target, data, len);
		if (!rc)
			rc = cs_delete(ctx, cs, dir, rel);
		free(target);
		free(data);
		moved++;
	}
	if (!rc && !has_raw && !moved)
		rc = cs_put(ctx, cs, dir, "raw/.gitkeep", "", 0);
	if (!rc && !has_managed)
		rc = cs_put(ctx, cs, dir, "managed/.gitkeep", "", 0);
	if (!rc && !has_unmanaged)
		rc = cs_put(ctx, cs, dir, "unmanaged/.gitkeep", "", 0);
	free(ob->message);
	ob->message = hs_asprintf("Onboard fabric %s%s%s\n\nCreate the missing parts of the "
				  "hedgesync layout%s.\n\nHedgesync-Operation: %s\n",
				  ob->f->name, *dir ? " in " : "", dir,
				  moved ? " and move loose YAML into raw/" : "", ob->op_id);
	if (ob->opts)
		ob->opts->message = ob->message;
out:
	gh_tree_release(&tree);
	return rc;
}

static int onboard_fabric(struct ev_ctx *ctx, const struct store_fabric *f, const char *op_id)
{
	struct onboard_run ob;
	struct gh_changeset cs;
	struct gh_commit_result res;
	gh_sha head;
	int rc;

	memset(&ob, 0, sizeof(ob));
	ob.ctx = ctx;
	ob.f = f;
	ob.repo.owner = f->owner;
	ob.repo.name = f->repo;
	ob.repo.installation_id = f->installation_id;
	ob.op_id = op_id;
	gh_changeset_init(&cs);
	rc = gh_git_get_ref(ctx->gh, &ob.repo, f->branch, head, ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	rc = onboard_build(&ob, head, &cs, ctx->err);
	if (rc == HS_OK && cs.n) {
		struct gh_commit_opts o = { 0 };

		o.branch = f->branch;
		o.message = ob.message;
		o.max_attempts = COMMIT_ATTEMPTS;
		o.replan = onboard_build;
		o.payload = &ob;
		ob.opts = &o;
		rc = gh_git_commit(ctx->gh, &ob.repo, &o, &cs, &res, ctx->err);
		if (rc)
			rc = gh_err_to_hs(rc);
		else if (!res.noop)
			hs_log(HS_LOG_INFO, "operation", op_id, "fabric %s: onboarded in %s", f->name,
			       res.commit);
	}
out:
	free(ob.message);
	gh_changeset_release(&cs);
	return rc;
}

/* ---- handlers --------------------------------------------------------- */

int fabric_from_job(struct ev_ctx *ctx, struct fabric_copy *c)
{
	const char *name = json_string_value(json_object_get(ctx->payload, "fabric"));
	int rc;

	memset(c, 0, sizeof(*c));
	if (!name) {
		hs_seterr(ctx->err, "job payload names no fabric");
		return HS_EINVAL;
	}
	rc = store_fabric_each(ctx->store, name, NULL, NULL, NULL, copy_fabric, c, ctx->err);
	if (rc == HS_ENOTFOUND) {
		/* removed since the job was queued: nothing left to do */
		hs_log(HS_LOG_INFO, NULL, NULL, "fabric %s is gone; job skipped", name);
		return 1;
	}
	return rc;
}

static void op_id(struct ev_ctx *ctx, const char *what, char *out, size_t n)
{
	snprintf(out, n, "%s-%lld", what, (long long)ctx->job->id);
}

static int need_github(struct ev_ctx *ctx)
{
	if (ctx->gh)
		return HS_OK;
	hs_seterr(ctx->err, "no GitHub client in this worker");
	return HS_ERETRY;
}

/* Run a fabric job: onboarding (then ingestion) or ingestion alone. */
static int fabric_job(struct ev_ctx *ctx, int onboard)
{
	struct fabric_copy c;
	char id[64];
	int rc = need_github(ctx);

	if (rc)
		return rc;
	rc = fabric_from_job(ctx, &c);
	if (rc == 1)
		return HS_OK;
	if (rc == HS_OK && onboard) {
		op_id(ctx, "onboard", id, sizeof(id));
		rc = onboard_fabric(ctx, &c.f, id);
	}
	if (rc == HS_OK) {
		op_id(ctx, "ingest", id, sizeof(id));
		rc = ingest_fabric(ctx, &c.f, id);
	}
	fabric_copy_release(&c);
	return rc;
}

/* The fabric of a job that talks to GitHub, and its repository: HS_OK (c to
 * release), 1 when the fabric was removed meanwhile, or an error. */
static int job_fabric(struct ev_ctx *ctx, struct fabric_copy *c, struct gh_repo *repo)
{
	int rc = need_github(ctx);

	if (!rc)
		rc = fabric_from_job(ctx, c);
	if (rc)
		return rc;
	repo->owner = c->f.owner;
	repo->name = c->f.repo;
	repo->installation_id = c->f.installation_id;
	return HS_OK;
}

/* After a restart: a fabric whose branch moved past its state (a push whose
 * delivery was lost with the process) is ingested, as its push would have. */
int fabric_handle_catchup(struct ev_ctx *ctx)
{
	struct fabric_copy c;
	struct gh_repo repo;
	gh_sha head;
	char id[64];
	int rc = job_fabric(ctx, &c, &repo);

	if (rc)
		return rc == 1 ? HS_OK : rc;
	rc = gh_err_to_hs(gh_git_get_ref(ctx->gh, &repo, c.f.branch, head, ctx->err));
	if (!rc && (!c.f.head || strcmp(head, c.f.head))) {
		hs_log(HS_LOG_INFO, "fabric", c.f.name, "branch %s moved to %s while its state is at"
		       " %s: ingesting", c.f.branch, head, c.f.head ? c.f.head : "nothing");
		op_id(ctx, "ingest", id, sizeof(id));
		rc = ingest_fabric(ctx, &c.f, id);
	}
	fabric_copy_release(&c);
	return rc;
}

/* The resource state read again from the branch head: every managed file
 * parsed and validated, whatever the state held. */
int fabric_handle_resync(struct ev_ctx *ctx)
{
	struct fabric_copy c;
	struct gh_tree tree;
	struct gh_commit commit = { 0 };
	struct gh_repo repo;
	gh_sha head;
	int rc = job_fabric(ctx, &c, &repo);

	if (rc)
		return rc == 1 ? HS_OK : rc;
	gh_tree_init(&tree);
	rc = gh_git_get_ref(ctx->gh, &repo, c.f.branch, head, ctx->err);
	if (!rc)
		rc = gh_git_get_commit(ctx->gh, &repo, head, &commit, ctx->err);
	if (!rc)
		rc = gh_git_get_tree(ctx->gh, &repo, commit.tree, 1, &tree, ctx->err);
	rc = gh_err_to_hs(rc);
	if (!rc)
		rc = rebuild_state(ctx, &c.f, &repo, head, &tree, NULL, NULL, 1);
	if (!rc)
		hs_log(HS_LOG_INFO, "fabric", c.f.name, "resource state read again at %s", head);
	gh_commit_release(&commit);
	gh_tree_release(&tree);
	fabric_copy_release(&c);
	return rc;
}

int fabric_handle_onboard(struct ev_ctx *ctx)
{
	return fabric_job(ctx, 1);
}

int fabric_handle_ingest(struct ev_ctx *ctx)
{
	return fabric_job(ctx, 0);
}

static int collect(const struct store_fabric *f, void *arg)
{
	struct fabric_list *l = arg;

	l->v = hs_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(*l->v));
	copy_fabric(f, &l->v[l->n]);
	l->n++;
	return 0;
}

int fabric_list_load(struct store *st, const char *owner, const char *repo,
		     const char *branch, struct fabric_list *out, char *err)
{
	memset(out, 0, sizeof(*out));
	return store_fabric_each(st, NULL, owner, repo, branch, collect, out, err);
}

void fabric_list_release(struct fabric_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		fabric_copy_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * Register the fabrics whose .hnp/manifest.yaml appears in the branch's tree
 * and that hedgesync does not know yet.  The name comes from the manifest's
 * "fabric" key (or the directory's last segment).
 */
static int discover(struct ev_ctx *ctx, const struct gh_repo *r, const char *branch)
{
	struct gh_tree tree;
	struct fabric_list known = { 0 };
	gh_sha head;
	int rc;

	gh_tree_init(&tree);
	rc = gh_git_get_ref(ctx->gh, r, branch, head, ctx->err);
	if (rc == GH_OK)
		rc = gh_git_get_tree(ctx->gh, r, head, 1, &tree, ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	fabric_list_load(ctx->store, r->owner, r->name, branch, &known, NULL);
	for (size_t i = 0; i < tree.n; i++) {
		const struct gh_tree_entry *e = &tree.v[i];
		const char *suffix = ".hnp/manifest.yaml";
		size_t pl = strlen(e->path), sl = strlen(suffix);
		char dir[FABRIC_DIR_MAX], name[FABRIC_DIR_MAX + 8] = "";
		struct arena *a;
		struct hy_stream *ys = NULL;
		char *data = NULL;
		size_t len = 0;
		int taken = 0;

		if (e->type != GH_OBJ_BLOB || pl < sl || strcmp(e->path + pl - sl, suffix) ||
		    (pl > sl && e->path[pl - sl - 1] != '/') || pl - sl >= sizeof(dir))
			continue;
		memcpy(dir, e->path, pl - sl);
		dir[pl > sl ? pl - sl - 1 : 0] = '\0';
		for (size_t k = 0; k < known.n; k++)
			taken |= fabric_dirs_overlap(known.v[k].f.directory, dir);
		if (taken)
			continue;
		a = arena_new();
		if (gh_git_get_blob(ctx->gh, r, e->sha, 1 << 20, &data, &len, ctx->err) == GH_OK &&
		    hy_load(&ys, data, len, e->path, NULL, a, NULL, NULL) == HS_OK && ys->ndocs == 1) {
			const char *n = hy_get_str(ys->docs[0].root, "fabric");

			if (n && fabric_name_ok(n))
				snprintf(name, sizeof(name), "%s", n);
		}
		if (!name[0]) {
			const char *last = strrchr(dir, '/');

			snprintf(name, sizeof(name), "%s", last ? last + 1 : dir[0] ? dir : r->name);
		}
		hy_stream_free(ys);
		arena_free(a);
		free(data);
		if (fabric_name_ok(name)) {
			struct store_fabric f = { name, r->owner, r->name, branch, dir,
						  r->installation_id, 0, NULL };
			int64_t job;

			if (store_fabric_add(ctx->store, &f, ctx->err) == HS_OK &&
			    queue_job(ctx->store, "fabric.onboard", &f, &job, ctx->err) == HS_OK) {
				hs_log(HS_LOG_INFO, NULL, NULL,
				       "fabric %s discovered at %s/%s@%s:%s", name, r->owner, r->name,
				       branch, dir);
				collect(&f, &known);
			}
		}
	}
out:
	fabric_list_release(&known);
	gh_tree_release(&tree);
	return rc;
}

/* Whether a push may have added a fabric manifest: one of its commits adds
 * or changes one, or the payload cannot tell (new branch, no commit list). */
static int push_touches_manifest(json_t *payload)
{
	json_t *commits = json_object_get(payload, "commits"), *c;
	size_t i;

	if (json_is_true(json_object_get(payload, "created")) || !json_is_array(commits) ||
	    json_array_size(commits) == 0 || json_array_size(commits) >= 2048)
		return 1;
	json_array_foreach(commits, i, c) {
		static const char *const lists[] = { "added", "modified" };

		for (size_t l = 0; l < 2; l++) {
			json_t *files = json_object_get(c, lists[l]), *f;
			size_t k;

			if (!json_is_array(files) || json_array_size(files) >= 3000)
				return 1;
			json_array_foreach(files, k, f) {
				const char *path = json_string_value(f);
				size_t n = path ? strlen(path) : 0;

				if (n >= 18 && !strcmp(path + n - 18, ".hnp/manifest.yaml"))
					return 1;
			}
		}
	}
	return 0;
}

int fabric_handle_push(struct ev_ctx *ctx)
{
	const char *ref = json_string_value(json_object_get(ctx->payload, "ref"));
	json_t *repo = json_object_get(ctx->payload, "repository");
	const char *full = json_string_value(json_object_get(repo, "full_name"));
	json_t *inst = json_object_get(json_object_get(ctx->payload, "installation"), "id");
	struct fabric_list l = { 0 };
	char owner[101], name[101], id[64];
	struct gh_repo r = { owner, name, 0 };
	const char *branch, *slash;
	int rc = need_github(ctx);

	if (rc)
		return rc;
	if (json_is_true(json_object_get(ctx->payload, "deleted")))
		return HS_OK; /* a deleted branch has nothing to ingest */
	if (!ref || strncmp(ref, "refs/heads/", 11) || !full || !json_is_integer(inst))
		return HS_OK; /* tags, or not an App delivery: nothing for fabrics */
	branch = ref + 11;
	slash = strchr(full, '/');
	if (!slash || (size_t)(slash - full) >= sizeof(owner) || strlen(slash + 1) >= sizeof(name))
		return HS_OK;
	memcpy(owner, full, (size_t)(slash - full));
	owner[slash - full] = '\0';
	strcpy(name, slash + 1);
	r.installation_id = json_integer_value(inst);
	if (!gh_repo_valid(&r) || !gh_branch_valid(branch))
		return HS_OK;

	if (push_touches_manifest(ctx->payload)) {
		rc = discover(ctx, &r, branch);
		if (rc)
			return rc;
	}
	fabric_list_load(ctx->store, owner, name, branch, &l, NULL);
	for (size_t i = 0; i < l.n && !rc; i++) {
		op_id(ctx, "ingest", id, sizeof(id));
		if (!l.v[i].f.head) {
			/* not onboarded yet: its onboarding job also ingests */
			continue;
		}
		rc = ingest_fabric(ctx, &l.v[i].f, id);
	}
	fabric_list_release(&l);
	if (rc == HS_OK)
		rc = checkrun_on_push(ctx, &r, branch,
				      json_string_value(json_object_get(ctx->payload, "after")));
	return rc;
}

int fabric_handle_installation(struct ev_ctx *ctx)
{
	json_t *inst = json_object_get(json_object_get(ctx->payload, "installation"), "id");
	json_t *repos = json_object_get(ctx->payload, "repositories");
	size_t i;
	json_t *v;
	int rc = need_github(ctx);

	if (rc)
		return rc;
	if (!json_is_array(repos))
		repos = json_object_get(ctx->payload, "repositories_added");
	if (!json_is_integer(inst) || !json_is_array(repos))
		return HS_OK;
	json_array_foreach(repos, i, v) {
		const char *full = json_string_value(json_object_get(v, "full_name"));
		char owner[101], name[101], *branch = NULL;
		struct gh_repo r = { owner, name, json_integer_value(inst) };
		const char *slash = full ? strchr(full, '/') : NULL;

		if (!slash || (size_t)(slash - full) >= sizeof(owner) ||
		    strlen(slash + 1) >= sizeof(name))
			continue;
		memcpy(owner, full, (size_t)(slash - full));
		owner[slash - full] = '\0';
		strcpy(name, slash + 1);
		if (!gh_repo_valid(&r))
			continue;
		rc = default_branch(ctx->gh, &r, &branch, ctx->err);
		if (rc == GH_ENOTFOUND) {
			rc = HS_OK; /* empty or gone */
			continue;
		}
		if (rc) {
			rc = gh_err_to_hs(rc);
			break;
		}
		rc = discover(ctx, &r, branch);
		free(branch);
		if (rc == HS_ENOTFOUND)
			rc = HS_OK; /* an empty repository has no branch yet */
		if (rc)
			break;
	}
	return rc;
}
