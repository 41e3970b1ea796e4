/* checkrun.c: the "Hedgehog fabric" check run: scope, validation at head and base, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/checks.h"
#include "github/gh.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/json.h"
#include "github/repos.h"
#include "sync/checkrun.h"
#include "sync/fabric.h"
#include "sync/finding.h"
#include "sync/ingest_plan.h"
#include "sync/kinds.h"
#include "sync/layout.h"
#include "sync/store.h"
#include "sync/validate.h"
#include "sync/yaml.h"

#define CR_READ_MAX ((size_t)16 << 20)  /* the engine's per-file limit */
#define CR_SUMMARY_MAX ((size_t)GH_CHECKS_MAX_TEXT)
#define CR_LIST_MAX 50                  /* base errors listed by name */
#define CR_ZERO_SHA "0000000000000000000000000000000000000000"

/* ---- what is checked ---------------------------------------------------- */

struct cr_target {
	struct gh_repo repo;    /* strings borrowed */
	const char *head;       /* commit checked */
	const char *base;       /* commit compared with; NULL or zeros: none */
	const char *branch;     /* the fabrics' branch: PR base or pushed branch */
	int64_t pr;             /* pull request number, 0 for pushes */
	int fork;               /* the PR's head is in another repository */
	int fresh;              /* a re-request: always a new run */
	json_t *push;           /* push payload for its file lists, or NULL */
};

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

static int sha_given(const char *s)
{
	return s && gh_sha_valid(s) && strcmp(s, CR_ZERO_SHA);
}

/* ---- changed paths ------------------------------------------------------ */

struct cr_changes {
	char **v;
	size_t n;
	int all; /* the change could not be listed: every fabric is touched */
};

static void changes_add(struct cr_changes *c, const char *path)
{
	if (!path)
		return;
	c->v = hs_realloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = hs_strdup(path);
}

static void changes_release(struct cr_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static void add_file_list(struct cr_changes *c, const struct gh_file_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		changes_add(c, l->v[i].filename);
		changes_add(c, l->v[i].previous_filename);
	}
	if (l->truncated)
		c->all = 1;
}

/* The push payload's files; 0 when it cannot tell (new or forced branch,
 * no or capped commit list). */
static int push_files(json_t *p, struct cr_changes *c)
{
	json_t *commits = json_object_get(p, "commits"), *cm;
	size_t i;

	if (json_is_true(json_object_get(p, "created")) ||
	    json_is_true(json_object_get(p, "forced")) || !json_is_array(commits) ||
	    json_array_size(commits) == 0 || json_array_size(commits) >= 2048)
		return 0;
	json_array_foreach(commits, i, cm) {
		static const char *const lists[] = { "added", "modified", "removed" };

		for (size_t l = 0; l < 3; l++) {
			json_t *files = json_object_get(cm, lists[l]), *f;
			size_t k;

			if (!json_is_array(files) || json_array_size(files) >= 3000)
				return 0;
			json_array_foreach(files, k, f)
				changes_add(c, json_string_value(f));
		}
	}
	return 1;
}

static int find_changes(struct ev_ctx *ctx, const struct cr_target *t, struct cr_changes *c)
{
	struct gh_file_list fl;
	struct gh_compare cmp;
	int rc = GH_OK;

	if (t->pr > 0) {
		gh_file_list_init(&fl);
		rc = gh_pulls_list_files(ctx->gh, &t->repo, t->pr, &fl, ctx->err);
		if (rc == GH_OK)
			add_file_list(c, &fl);
		gh_file_list_release(&fl);
		return rc ? gh_err_to_hs(rc) : HS_OK;
	}
	if (t->push && push_files(t->push, c))
		return HS_OK;
	changes_release(c);
	if (!sha_given(t->base)) {
		c->all = 1;
		return HS_OK;
	}
	memset(&cmp, 0, sizeof(cmp));
	gh_file_list_init(&cmp.files);
	rc = gh_repos_compare(ctx->gh, &t->repo, t->base, t->head, &cmp, ctx->err);
	if (rc == GH_OK)
		add_file_list(c, &cmp.files);
	gh_compare_release(&cmp);
	return rc ? gh_err_to_hs(rc) : HS_OK;
}

static int touches(const struct cr_changes *c, const char *dir)
{
	if (c->all || !*dir)
		return c->all || c->n > 0;
	for (size_t i = 0; i < c->n; i++)
		if (rel_of(dir, c->v[i]))
			return 1;
	return 0;
}

/* ---- validating a fabric at a commit ------------------------------------ */

struct cr_kind {
	const char *name;
	size_t n;
};

struct cr_files {
	struct plan_file *v; /* path, data and sha new */
	size_t n;
};

static void cfiles_push(struct cr_files *fs, const char *rel, char *data, size_t len,
			const char *sha)
{
	fs->v = hs_realloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
	fs->v[fs->n].path = hs_strdup(rel);
	fs->v[fs->n].data = data;
	fs->v[fs->n].len = len;
	fs->v[fs->n].sha = sha ? hs_strdup(sha) : NULL;
	fs->n++;
}

static void cfiles_release(struct cr_files *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free((char *)fs->v[i].path);
		free((char *)fs->v[i].data);
		free((char *)fs->v[i].sha);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

/* One fabric validated at one commit. */
struct cr_result {
	struct val_set *set;
	struct cr_kind kinds[32];
	size_t nkinds, resources;
	struct cr_files raw, managed; /* kept for the ingestion preview (head only) */
	char **unmanaged;
	size_t nunmanaged;
	struct plan *plan;
};

static void result_release(struct cr_result *r)
{
	val_set_free(r->set);
	cfiles_release(&r->raw);
	cfiles_release(&r->managed);
	for (size_t i = 0; i < r->nunmanaged; i++)
		free(r->unmanaged[i]);
	free(r->unmanaged);
	plan_free(r->plan);
	memset(r, 0, sizeof(*r));
}

static void add_kind(struct cr_result *r, const char *name)
{
	r->resources++;
	for (size_t i = 0; i < r->nkinds; i++)
		if (!strcmp(r->kinds[i].name, name)) {
			r->kinds[i].n++;
			return;
		}
	if (r->nkinds < sizeof(r->kinds) / sizeof(r->kinds[0])) {
		r->kinds[r->nkinds].name = name;
		r->kinds[r->nkinds++].n = 1;
	}
}

/* Count the resources of a managed file by the kind of each document (a
 * line "kind: X" at the left margin), wherever the file sits. */
static void count_kinds(struct cr_result *r, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p + 5;
		char kind[64];
		size_t n = 0;
		const struct kind_info *k;

		if (!eol)
			eol = end;
		if (eol - p > 5 && !strncmp(p, "kind:", 5)) {
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			while (q + n < eol && n + 1 < sizeof(kind) && q[n] != ' ' && q[n] != '\r' &&
			       q[n] != '#')
				n++;
			memcpy(kind, q, n);
			kind[n] = '\0';
			k = kind_by_name(kind);
			if (k && k->managed)
				add_kind(r, k->name);
		}
		p = eol + 1;
	}
}

/*
 * Validate the fabric in dir as the tree holds it, as `hedgesync validate`
 * validates a fabric directory: managed files with the layout rules, raw/
 * YAML document by document, paths checked, everything else left alone.
 * With keep, the raw and managed files are kept for the ingestion preview.
 */
static int validate_at(struct ev_ctx *ctx, const struct gh_repo *repo,
		       const struct gh_tree *tree, const char *dir, int keep,
		       struct cr_result *out)
{
	struct fnd_list *fl;
	int rc = HS_OK;

	out->set = val_set_new(NULL, NULL, 0);
	fl = val_set_findings(out->set);
	{
		/* the blobs the loop reads, fetched in parallel first */
		const char **shas = hs_calloc(tree->n ? tree->n : 1, sizeof(*shas));
		size_t n = 0;

		for (size_t i = 0; i < tree->n; i++) {
			const struct gh_tree_entry *e = &tree->v[i];
			const char *rel = e->type == GH_OBJ_BLOB ? rel_of(dir, e->path) : NULL;
			enum lay_class cls = rel ? lay_classify(rel) : LAY_UNMANAGED;

			if (rel && (cls == LAY_MANAGED || cls == LAY_RAW) && lay_is_yaml_name(rel) &&
			    e->size <= (int64_t)CR_READ_MAX)
				shas[n++] = e->sha;
		}
		gh_git_prefetch_blobs(ctx->gh, repo, shas, n, CR_READ_MAX, GH_PREFETCH_PARALLEL);
		free(shas);
	}
	for (size_t i = 0; i < tree->n && rc == HS_OK; i++) {
		const struct gh_tree_entry *e = &tree->v[i];
		const char *rel = e->type == GH_OBJ_BLOB ? rel_of(dir, e->path) : NULL;
		enum lay_class cls;
		char *data = NULL;
		size_t len = 0;
		int g;

		if (!rel)
			continue;
		cls = lay_classify(rel);
		lay_check_path(e->path, rel, fl);
		if (cls == LAY_UNMANAGED && keep) {
			out->unmanaged = hs_realloc(out->unmanaged,
						    (out->nunmanaged + 1) * sizeof(char *));
			out->unmanaged[out->nunmanaged++] = hs_strdup(rel);
		}
		if (cls != LAY_MANAGED && cls != LAY_RAW)
			continue;
		if (cls == LAY_RAW && !lay_is_yaml_name(rel) && !keep)
			continue;
		if (e->size > (int64_t)CR_READ_MAX) {
			if (lay_is_yaml_name(rel))
				fnd_add(fl, FND_YAML_FILE_TOO_LARGE, FND_SEV_DEFAULT, e->path, -1, 0, 0,
					NULL, "the file is %lld bytes, over the limit of %zu",
					(long long)e->size, CR_READ_MAX);
			continue;
		}
		g = gh_git_get_blob(ctx->gh, repo, e->sha, CR_READ_MAX, &data, &len, ctx->err);
		if (g) {
			rc = gh_err_to_hs(g);
			break;
		}
		if (cls == LAY_MANAGED) {
			(void)val_set_add(out->set, e->path, rel, data, len, VAL_MANAGED);
			count_kinds(out, data, len);
		}
		else if (lay_is_yaml_name(rel))
			(void)val_set_add(out->set, e->path, rel, data, len, VAL_DOC_ONLY);
		if (keep)
			cfiles_push(cls == LAY_MANAGED ? &out->managed : &out->raw, rel, data, len,
				    e->sha);
		else
			free(data);
	}
	if (rc == HS_OK)
		val_set_finish(out->set);
	return rc;
}

/* ---- comparing with the base -------------------------------------------- */

static char *err_key(const struct finding *f)
{
	return hs_asprintf("%s\x1f%s\x1f%s", f->file ? f->file : "", fnd_code_name(f->code),
			   f->msg ? f->msg : "");
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct cr_keys {
	char **v;
	unsigned char *used;
	size_t n;
};

static void keys_from(struct cr_keys *k, const struct fnd_list *fl)
{
	k->v = hs_calloc(fl->n + 1, sizeof(char *));
	k->n = 0;
	for (size_t i = 0; i < fl->n; i++)
		if (fl->v[i].sev == FND_ERROR)
			k->v[k->n++] = err_key(&fl->v[i]);
	if (k->n > 1)
		qsort(k->v, k->n, sizeof(char *), key_cmp);
	k->used = hs_calloc(k->n + 1, 1);
}

static void keys_release(struct cr_keys *k)
{
	for (size_t i = 0; k->v && i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	free(k->used);
	memset(k, 0, sizeof(*k));
}

/* 1 when the base had this error too (each base error matches once). */
static int keys_take(struct cr_keys *k, const struct finding *f)
{
	char *key = err_key(f);
	size_t lo = 0, hi = k->n;
	int found = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(k->v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->n && !strcmp(k->v[lo], key); lo++)
		if (!k->used[lo]) {
			k->used[lo] = 1;
			found = 1;
			break;
		}
	free(key);
	return found;
}

/* ---- the report --------------------------------------------------------- */

struct cr_fabric_run {
	const struct store_fabric *fab;
	struct cr_result head;
	unsigned char *old;  /* per head finding: 1 when the base had it */
	size_t errors, warnings, notices, new_errors, old_errors;
	int fixable;
};

static int is_fixable(enum fnd_code c)
{
	return c == FND_LAYOUT_WRONG_FOLDER || c == FND_LAYOUT_FILE_NAME ||
	       c == FND_LAYOUT_MULTI_DOC || c == FND_LAYOUT_NOT_CANONICAL;
}

/* Markdown-safe inline code: backticks in text would end the span. */
static void md_code(struct hs_buf *b, const char *s)
{
	hs_buf_addch(b, '`');
	for (; s && *s; s++)
		hs_buf_addch(b, *s == '`' ? '\'' : *s == '\n' ? ' ' : *s);
	hs_buf_addch(b, '`');
}

static void md_text(struct hs_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\n' || *s == '|')
			hs_buf_addch(b, *s == '|' ? '/' : ' ');
		else if (strchr("*_<>[]", *s)) {
			hs_buf_addch(b, '\\');
			hs_buf_addch(b, *s);
		} else {
			hs_buf_addch(b, *s);
		}
	}
}

static void report_fabric(struct hs_buf *b, const struct cr_fabric_run *fr, int based)
{
	const struct fnd_list *fl = val_set_findings(fr->head.set);
	const struct plan *p = fr->head.plan;
	size_t by_code[FND_CODE_COUNT] = { 0 }, sev_of[FND_CODE_COUNT] = { 0 };
	size_t listed = 0;

	hs_buf_addf(b, "\n### Fabric `%s` in `%s`\n\n", fr->fab->name,
		    *fr->fab->directory ? fr->fab->directory : "/");
	if (!fr->errors)
		hs_buf_addf(b, "No error");
	else if (fr->new_errors)
		hs_buf_addf(b, "**%zu error%s introduced by this change**", fr->new_errors,
			    fr->new_errors == 1 ? "" : "s");
	else
		hs_buf_addf(b, "No new error");
	if (fr->old_errors)
		hs_buf_addf(b, ", %zu already on the base", fr->old_errors);
	hs_buf_addf(b, "; %zu warning%s, %zu notice%s.\n", fr->warnings,
		    fr->warnings == 1 ? "" : "s", fr->notices, fr->notices == 1 ? "" : "s");

	hs_buf_addf(b, "\n**Resources** (documents in `managed/`): %zu\n", fr->head.resources);
	if (fr->head.nkinds) {
		hs_buf_addstr(b, "\n| kind | resources |\n|---|---:|\n");
		for (size_t i = 0; i < fr->head.nkinds; i++)
			hs_buf_addf(b, "| %s | %zu |\n", fr->head.kinds[i].name, fr->head.kinds[i].n);
	}

	for (size_t i = 0; i < fl->n; i++) {
		by_code[fl->v[i].code]++;
		sev_of[fl->v[i].code] = (size_t)fl->v[i].sev;
	}
	if (fl->n) {
		hs_buf_addstr(b, "\n**Findings by rule** (each is an annotation on its file and line):\n\n"
			      "| rule | severity | count | what it means |\n|---|---|---:|---|\n");
		for (int c = 0; c < FND_CODE_COUNT; c++)
			if (by_code[c])
				hs_buf_addf(b, "| `%s` | %s | %zu | %s |\n", fnd_code_name(c),
					    fnd_sev_name((enum fnd_sev)sev_of[c]), by_code[c],
					    fnd_code_summary(c));
	}
	if (fr->old_errors) {
		hs_buf_addstr(b, "\n**Errors already on the base branch** (they do not fail this "
			      "check):\n\n");
		for (size_t i = 0; i < fl->n && listed < CR_LIST_MAX; i++) {
			const struct finding *f = &fl->v[i];

			if (!fr->old[i])
				continue;
			hs_buf_addstr(b, "- ");
			md_code(b, f->file ? f->file : "");
			hs_buf_addf(b, " line %u: `%s` ", f->line, fnd_code_name(f->code));
			md_text(b, f->msg);
			hs_buf_addch(b, '\n');
			listed++;
		}
		if (fr->old_errors > listed)
			hs_buf_addf(b, "- … and %zu more\n", fr->old_errors - listed);
	} else if (!based && fr->errors) {
		hs_buf_addstr(b, "\nThere is no base to compare with: every error counts as new.\n");
	}

	hs_buf_addstr(b, "\n**After the merge**: ");
	if (!p || plan_is_noop(p)) {
		hs_buf_addstr(b, "`raw/` holds nothing to ingest; hedgesync will not change the "
			      "fabric's files.\n");
	} else {
		struct hs_buf t = HS_BUF_INIT(CR_SUMMARY_MAX);

		hs_buf_addf(b, "hedgesync will ingest the %zu file%s waiting in `raw/` in one commit: "
			    "%zu resource%s created, %zu updated, %zu unchanged, %zu duplicate%s "
			    "dropped, %zu document%s set aside in `unmanaged/` with the reasons "
			    "beside them; the files in `raw/` are then removed.\n",
			    p->nraws, p->nraws == 1 ? "" : "s", p->created,
			    p->created == 1 ? "" : "s", p->updated, p->unchanged, p->duplicates,
			    p->duplicates == 1 ? "" : "s", p->unmanaged, p->unmanaged == 1 ? "" : "s");
		(void)plan_format_text(p, &t);
		if (t.len) {
			hs_buf_addstr(b, "\n<details><summary>Ingestion plan, document by document"
				      "</summary>\n\n```text\n");
			for (size_t i = 0; i < t.len; i++)
				hs_buf_addch(b, t.data[i] == '`' ? '\'' : t.data[i]);
			hs_buf_addstr(b, "```\n\n</details>\n");
		}
		hs_buf_release(&t);
	}
}

/* ---- the GitHub side ---------------------------------------------------- */

/*
 * A run of ours already on the commit: any "Hedgehog fabric" run, or with
 * ext (re-requests) only the one with that external id.  *id 0 when none;
 * *completed 1 when it is finished.
 */
static int find_run(struct ev_ctx *ctx, const struct cr_target *t, const char *ext,
		    int64_t *id, int *completed)
{
	struct gh_request rq;
	struct hs_buf url = HS_BUF_INIT(4096);
	json_t *res = NULL, *runs, *r;
	size_t i;
	int rc;

	*id = 0;
	*completed = 0;
	hs_buf_addf(&url, "/repos/%s/%s/commits/%s/check-runs?check_name=", t->repo.owner,
		    t->repo.name, t->head);
	gh_query_escape(&url, CHECKRUN_NAME);
	hs_buf_addstr(&url, "&per_page=100");
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = hs_buf_str(&url);
	rq.auth = GH_AUTH_INSTALLATION;
	rq.installation_id = t->repo.installation_id;
	rc = gh_call(ctx->gh, &rq, GH_JSON_OBJECT, &res, NULL, ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	runs = json_object_get(res, "check_runs");
	json_array_foreach(runs, i, r) {
		const char *name = gh_json_str(r, "name", 256);
		const char *x = gh_json_str(r, "external_id", 256);
		const char *status = gh_json_str(r, "status", 32);
		int64_t rid = 0;

		if (!name || strcmp(name, CHECKRUN_NAME) || gh_json_int(r, "id", &rid) || rid <= 0)
			continue;
		if (ext && (!x || strcmp(x, ext)))
			continue;
		*id = rid;
		*completed = status && !strcmp(status, "completed");
		if (*completed)
			break; /* a finished one wins over a stale one */
	}
out:
	json_decref(res);
	hs_buf_release(&url);
	return rc;
}

static enum gh_annotation_level level_of(enum fnd_sev s)
{
	return s == FND_ERROR ? GH_ANN_FAILURE : s == FND_WARNING ? GH_ANN_WARNING : GH_ANN_NOTICE;
}

/* The whole check of one target. */
static int check(struct ev_ctx *ctx, const struct cr_target *t)
{
	struct fabric_list fabs = { 0 };
	struct cr_changes ch = { 0 };
	struct cr_fabric_run *runs = NULL;
	struct gh_tree head_tree, base_tree;
	struct gh_annotation *anns = NULL;
	char **msgs = NULL;
	size_t nruns = 0, nanns = 0, new_errors = 0, old_errors = 0, fixable = 0;
	struct hs_buf sum = HS_BUF_INIT(CR_SUMMARY_MAX * 4);
	struct gh_check_run run;
	struct gh_check_action fix = { "Fix layout", "Move and reformat managed files",
				       "fix-layout" };
	char ext[64], title[128];
	int64_t id = 0;
	int completed = 0, have_head = 0, have_base = 0, rc;

	gh_tree_init(&head_tree);
	gh_tree_init(&base_tree);
	rc = fabric_list_load(ctx->store, t->repo.owner, t->repo.name, t->branch, &fabs,
			      ctx->err);
	if (rc)
		goto out;
	if (!fabs.n)
		goto out; /* no fabric on this branch: not ours to check */

	snprintf(ext, sizeof(ext), "hedgesync-job-%lld",
		 ctx->job ? (long long)ctx->job->id : 0LL);
	rc = find_run(ctx, t, t->fresh ? ext : NULL, &id, &completed);
	if (rc || completed)
		goto out; /* done before (a repeated trigger or a re-run job) */
	if (!id) {
		memset(&run, 0, sizeof(run));
		run.name = CHECKRUN_NAME;
		run.head_sha = t->head;
		run.status = "in_progress";
		run.external_id = ext;
		run.title = "Validating";
		run.summary = "hedgesync is validating the fabrics this change touches.";
		rc = gh_checks_create(ctx->gh, &t->repo, &run, &id, NULL, ctx->err);
		if (rc) {
			rc = gh_err_to_hs(rc);
			goto out;
		}
	}

	rc = find_changes(ctx, t, &ch);
	if (rc)
		goto out;
	runs = hs_calloc(fabs.n, sizeof(*runs));
	for (size_t i = 0; i < fabs.n; i++) {
		struct cr_fabric_run *fr;
		struct fnd_list *fl;
		struct cr_result base;
		struct cr_keys keys = { 0 };

		if (!touches(&ch, fabs.v[i].f.directory))
			continue;
		if (!have_head) {
			rc = gh_git_get_tree(ctx->gh, &t->repo, t->head, 1, &head_tree, ctx->err);
			if (rc) {
				rc = gh_err_to_hs(rc);
				goto out;
			}
			have_head = 1;
		}
		fr = &runs[nruns++];
		fr->fab = &fabs.v[i].f;
		rc = validate_at(ctx, &t->repo, &head_tree, fr->fab->directory, 1, &fr->head);
		if (rc)
			goto out;
		fl = val_set_findings(fr->head.set);
		fr->errors = fnd_count(fl, FND_ERROR);
		fr->warnings = fnd_count(fl, FND_WARNING);
		fr->notices = fnd_count(fl, FND_NOTICE);
		fr->old = hs_calloc(fl->n + 1, 1);
		for (size_t k = 0; k < fl->n; k++)
			fr->fixable |= is_fixable(fl->v[k].code);
		fixable |= (size_t)fr->fixable;
		if (fr->head.raw.n) {
			char perr[HS_ERRBUF] = "";

			if (plan_build(&fr->head.plan, fr->head.raw.v, fr->head.raw.n,
				       fr->head.managed.v, fr->head.managed.n,
				       (const char *const *)fr->head.unmanaged, fr->head.nunmanaged,
				       NULL, perr) != HS_OK)
				hs_log(HS_LOG_WARN, NULL, NULL, "check: fabric %s: no ingestion preview: %s",
				       fr->fab->name, perr);
		}
		/* the base matters only when the head has errors */
		if (fr->errors && sha_given(t->base)) {
			if (!have_base) {
				rc = gh_git_get_tree(ctx->gh, &t->repo, t->base, 1, &base_tree, ctx->err);
				if (rc) {
					rc = gh_err_to_hs(rc);
					goto out;
				}
				have_base = 1;
			}
			memset(&base, 0, sizeof(base));
			rc = validate_at(ctx, &t->repo, &base_tree, fr->fab->directory, 0, &base);
			if (rc == HS_OK)
				keys_from(&keys, val_set_findings(base.set));
			result_release(&base);
			if (rc)
				goto out;
			for (size_t k = 0; k < fl->n; k++)
				if (fl->v[k].sev == FND_ERROR && keys_take(&keys, &fl->v[k]))
					fr->old[k] = 1;
			keys_release(&keys);
		}
		for (size_t k = 0; k < fl->n; k++)
			if (fl->v[k].sev == FND_ERROR)
				fr->old_errors += fr->old[k];
		fr->new_errors = fr->errors - fr->old_errors;
		new_errors += fr->new_errors;
		old_errors += fr->old_errors;
	}

	/* annotations: every finding on a file, at its line and column */
	for (size_t i = 0; i < nruns; i++)
		nanns += val_set_findings(runs[i].head.set)->n;
	anns = hs_calloc(nanns + 1, sizeof(*anns));
	msgs = hs_calloc(nanns + 1, sizeof(*msgs));
	nanns = 0;
	for (size_t i = 0; i < nruns; i++) {
		const struct fnd_list *fl = val_set_findings(runs[i].head.set);

		for (size_t k = 0; k < fl->n; k++) {
			const struct finding *f = &fl->v[k];
			struct gh_annotation *a;

			if (!f->file)
				continue;
			a = &anns[nanns];
			msgs[nanns] = hs_asprintf("%s%s%s%s", f->path && *f->path ? f->path : "",
						  f->path && *f->path ? ": " : "", f->msg ? f->msg : "",
						  runs[i].old[k] ? " (already on the base branch)" : "");
			a->path = f->file;
			a->start_line = a->end_line = f->line ? (int)f->line : 1;
			a->start_column = a->end_column = f->line ? (int)f->col : 0;
			a->level = level_of(f->sev);
			a->message = msgs[nanns];
			a->title = fnd_code_name(f->code);
			nanns++;
		}
	}

	/* summary */
	if (!nruns) {
		snprintf(title, sizeof(title), "No fabric touched");
		hs_buf_addstr(&sum, "This change touches no file of a fabric hedgesync manages "
			      "on this branch, so there is nothing to validate.\n");
	} else {
		if (new_errors)
			snprintf(title, sizeof(title), "%zu new error%s", new_errors,
				 new_errors == 1 ? "" : "s");
		else if (old_errors)
			snprintf(title, sizeof(title), "No new errors (%zu already on the base)",
				 old_errors);
		else
			snprintf(title, sizeof(title), "No errors");
		hs_buf_addf(&sum, "hedgesync checked the Hedgehog fabric resources (VPCs, "
			    "connections, switches, ...) in %zu fabric%s this change touches, each "
			    "as a whole at commit `%.12s`: YAML syntax, each resource's schema, "
			    "references between resources, conflicts, and the folder layout "
			    "(`managed/<kind>/<name>.yaml`, one resource per file). ",
			    nruns, nruns == 1 ? "" : "s", t->head);
		if (new_errors)
			hs_buf_addstr(&sum, "**The check fails because of errors this change "
				      "introduces**; each is an annotation on its line.\n");
		else
			hs_buf_addstr(&sum, "The check passes: this change introduces no error "
				      "(warnings and notices never fail it).\n");
		if (sha_given(t->base))
			hs_buf_addf(&sum, "\nErrors are compared with the base commit `%.12s`: an "
				    "error already there is listed but does not fail the check.\n",
				    t->base);
		for (size_t i = 0; i < nruns; i++)
			report_fabric(&sum, &runs[i], sha_given(t->base));
		if (fixable) {
			hs_buf_addstr(&sum, "\n**Fix layout**: some managed files are in the wrong "
				      "folder, misnamed, hold several resources or are not in canonical "
				      "form. ");
			if (t->fork)
				hs_buf_addstr(&sum, "This pull request comes from a fork, where "
					      "hedgesync cannot push: move or reformat the files by hand "
					      "(`hedgesync validate` shows the same findings locally).\n");
			else
				hs_buf_addstr(&sum, "The \"Fix layout\" button commits the moves and "
					      "canonical formatting to the branch in one commit.\n");
		}
	}
	if (sum.len >= CR_SUMMARY_MAX - 200) {
		static const char note[] = "\n\n_(truncated: the report is longer than GitHub "
					   "allows; every finding is still an annotation)_\n";
		size_t cut = CR_SUMMARY_MAX - 200;

		while (cut > 0 && ((unsigned char)sum.data[cut] & 0xC0) == 0x80)
			cut--;
		sum.len = cut;
		sum.data[cut] = '\0';
		hs_buf_addstr(&sum, note);
	}

	memset(&run, 0, sizeof(run));
	run.status = "completed";
	run.conclusion = new_errors ? "failure" : "success";
	run.title = title;
	run.summary = hs_buf_str(&sum);
	run.annotations = anns;
	run.n_annotations = nanns;
	if (fixable && !t->fork) {
		run.actions = &fix;
		run.n_actions = 1;
	}
	rc = gh_checks_update(ctx->gh, &t->repo, id, &run, NULL, ctx->err);
	if (rc)
		rc = gh_err_to_hs(rc);
	else
		hs_log(HS_LOG_INFO, NULL, NULL, "check %s/%s@%.12s: %s, %zu fabric(s), %zu annotation(s)",
		       t->repo.owner, t->repo.name, t->head, run.conclusion, nruns, nanns);
out:
	for (size_t i = 0; i < nruns; i++) {
		result_release(&runs[i].head);
		free(runs[i].old);
	}
	free(runs);
	for (size_t i = 0; msgs && i < nanns; i++)
		free(msgs[i]);
	free(msgs);
	free(anns);
	hs_buf_release(&sum);
	gh_tree_release(&head_tree);
	gh_tree_release(&base_tree);
	changes_release(&ch);
	fabric_list_release(&fabs);
	return rc;
}

/* ---- the "Fix layout" action ------------------------------------------- */

struct fix_run {
	struct ev_ctx *ctx;
	const struct cr_target *t;
	const struct fabric_list *fabs;
	size_t files; /* managed files fixed in the last plan */
};

/*
 * The fixes of one fabric at a commit, into cs: every managed file with a
 * fixable layout finding is planned as if it were dropped into raw/, so the
 * engine writes each of its documents canonically at managed/<plural>/<name>.yaml;
 * the file is then deleted.  A file any of whose documents would not be
 * ingested (it has other errors) is left alone, whole.
 */
static int fix_fabric(struct fix_run *fx, const struct gh_tree *tree, const char *dir,
		      struct gh_changeset *cs)
{
	struct ev_ctx *ctx = fx->ctx;
	struct cr_result r;
	struct cr_files bad = { 0 }, good = { 0 };
	struct plan *p = NULL;
	char perr[HS_ERRBUF] = "";
	const struct fnd_list *fl;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = validate_at(ctx, &fx->t->repo, tree, dir, 1, &r);
	if (rc)
		goto out;
	fl = val_set_findings(r.set);
	for (size_t i = 0; i < r.managed.n; i++) {
		struct plan_file *f = &r.managed.v[i];
		char *full = *dir ? hs_asprintf("%s/%s", dir, f->path) : hs_strdup(f->path);
		int fixable = 0;

		for (size_t k = 0; k < fl->n; k++)
			if (fl->v[k].file && !strcmp(fl->v[k].file, full) && is_fixable(fl->v[k].code))
				fixable = 1;
		free(full);
		/* move the entry (its strings) to one of the two lists */
		cfiles_push(fixable ? &bad : &good, f->path, (char *)f->data, f->len, f->sha);
		f->data = NULL;
	}
	if (!bad.n)
		goto out;
	rc = plan_build(&p, bad.v, bad.n, good.v, good.n, NULL, 0, NULL, perr);
	if (rc) {
		hs_seterr(ctx->err, "fix layout: %s", perr);
		goto out;
	}
	for (size_t i = 0; i < bad.n && rc == HS_OK; i++) {
		const char *path = bad.v[i].path;
		int ok = 1, docs = 0;
		char *full;

		for (size_t d = 0; d < p->ndocs; d++) {
			if (strcmp(p->docs[d].raw_path, path))
				continue;
			docs++;
			if (p->docs[d].outcome == PLAN_UNMANAGED || p->docs[d].outcome == PLAN_EMPTY)
				ok = 0;
		}
		if (!ok || !docs)
			continue;
		full = *dir ? hs_asprintf("%s/%s", dir, path) : hs_strdup(path);
		rc = gh_changeset_delete(cs, full) ? HS_EINVAL : HS_OK;
		free(full);
		for (size_t d = 0; d < p->ndocs && rc == HS_OK; d++) {
			const struct plan_doc *pd = &p->docs[d];

			if (strcmp(pd->raw_path, path) || !pd->target)
				continue;
			for (size_t w = 0; w < p->nwrites; w++) {
				const struct plan_write *pw = &p->writes[w];

				if (pw->kind != PLAN_W_MANAGED || strcmp(pw->path, pd->target))
					continue;
				full = *dir ? hs_asprintf("%s/%s", dir, pw->path) : hs_strdup(pw->path);
				rc = gh_changeset_put(cs, full, pw->data, pw->len, 0) ? HS_EINVAL : HS_OK;
				free(full);
				break;
			}
		}
		fx->files++;
	}
out:
	plan_free(p);
	cfiles_release(&bad);
	cfiles_release(&good);
	result_release(&r);
	return rc;
}

static int fix_build(void *arg, const char *head, struct gh_changeset *cs, char *err)
{
	struct fix_run *fx = arg;
	struct gh_tree tree;
	int rc;

	(void)err;
	gh_changeset_clear(cs);
	fx->files = 0;
	gh_tree_init(&tree);
	rc = gh_git_get_tree(fx->ctx->gh, &fx->t->repo, head, 1, &tree, fx->ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	for (size_t i = 0; i < fx->fabs->n && rc == HS_OK; i++)
		rc = fix_fabric(fx, &tree, fx->fabs->v[i].f.directory, cs);
out:
	gh_tree_release(&tree);
	return rc;
}

/*
 * Commit the layout fixes of every fabric on the PR's base branch to the
 * PR's head branch in one commit (none when there is nothing to fix, as
 * when this job already ran), then check the new head.
 */
static int fix_layout(struct ev_ctx *ctx, struct cr_target *t, const char *head_branch)
{
	struct fabric_list fabs = { 0 };
	struct fix_run fx = { ctx, t, &fabs, 0 };
	struct gh_changeset cs;
	struct gh_commit_result res;
	struct gh_commit_opts o = { 0 };
	char msg[512];
	gh_sha head;
	int rc;

	gh_changeset_init(&cs);
	memset(&res, 0, sizeof(res));
	if (t->fork || !head_branch || !gh_branch_valid(head_branch)) {
		rc = HS_OK; /* hedgesync cannot push to a fork */
		goto out;
	}
	rc = fabric_list_load(ctx->store, t->repo.owner, t->repo.name, t->branch, &fabs,
			      ctx->err);
	if (rc || !fabs.n)
		goto out;
	rc = gh_git_get_ref(ctx->gh, &t->repo, head_branch, head, ctx->err);
	if (rc) {
		rc = rc == GH_ENOTFOUND ? HS_OK : gh_err_to_hs(rc); /* branch gone */
		goto out;
	}
	rc = fix_build(&fx, head, &cs, ctx->err);
	if (rc || !cs.n)
		goto out;
	snprintf(msg, sizeof(msg), "Fix the fabric layout\n\nMove managed files to "
		 "managed/<kind>/<name>.yaml, one resource per file, in canonical form, as "
		 "asked with the \"Fix layout\" button of the %s check.\n\n"
		 "Hedgesync-Operation: fix-layout-%lld\n", CHECKRUN_NAME,
		 ctx->job ? (long long)ctx->job->id : 0LL);
	o.branch = head_branch;
	o.message = msg;
	o.replan = fix_build;
	o.payload = &fx;
	rc = gh_git_commit(ctx->gh, &t->repo, &o, &cs, &res, ctx->err);
	if (rc) {
		rc = gh_err_to_hs(rc);
		goto out;
	}
	if (res.noop)
		goto out;
	hs_log(HS_LOG_INFO, NULL, NULL, "fix layout %s/%s@%s: %zu file(s) in %s", t->repo.owner,
	       t->repo.name, head_branch, fx.files, res.commit);
	t->head = res.commit;
	t->fresh = 0;
	rc = check(ctx, t);
out:
	gh_changeset_release(&cs);
	fabric_list_release(&fabs);
	return rc;
}

/* ---- handlers ----------------------------------------------------------- */

struct cr_names {
	char owner[101], name[101];
};

/* owner/name from "owner/name"; 0 when malformed. */
static int split_full(const char *full, struct cr_names *n)
{
	const char *slash = full ? strchr(full, '/') : NULL;

	if (!slash || (size_t)(slash - full) >= sizeof(n->owner) ||
	    strlen(slash + 1) >= sizeof(n->name))
		return 0;
	memcpy(n->owner, full, (size_t)(slash - full));
	n->owner[slash - full] = '\0';
	strcpy(n->name, slash + 1);
	return 1;
}

/* The repository and installation of a delivery; 0 when it has none. */
static int target_repo(struct ev_ctx *ctx, struct cr_names *n, struct cr_target *t)
{
	json_t *repo = json_object_get(ctx->payload, "repository");
	json_t *inst = json_object_get(json_object_get(ctx->payload, "installation"), "id");

	memset(t, 0, sizeof(*t));
	if (!split_full(json_string_value(json_object_get(repo, "full_name")), n) ||
	    !json_is_integer(inst))
		return 0;
	t->repo.owner = n->owner;
	t->repo.name = n->name;
	t->repo.installation_id = json_integer_value(inst);
	return gh_repo_valid(&t->repo);
}

static const char *str2(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* A pull request object (full or minimal) into t. */
static void from_pull(json_t *pr, struct cr_target *t)
{
	json_t *hr = json_object_get(json_object_get(pr, "head"), "repo");
	json_t *br = json_object_get(json_object_get(pr, "base"), "repo");
	json_t *hid = json_object_get(hr, "id"), *bid = json_object_get(br, "id");

	t->pr = json_is_integer(json_object_get(pr, "number")) ?
		json_integer_value(json_object_get(pr, "number")) : 0;
	t->branch = str2(pr, "base", "ref");
	t->base = str2(pr, "base", "sha");
	t->fork = json_is_integer(hid) && json_is_integer(bid) &&
		  json_integer_value(hid) != json_integer_value(bid);
}

static int need_github(struct ev_ctx *ctx)
{
	if (ctx->gh)
		return HS_OK;
	hs_seterr(ctx->err, "no GitHub client in this worker");
	return HS_ERETRY;
}

static int run_target(struct ev_ctx *ctx, struct cr_target *t)
{
	if (!t->head || !gh_sha_valid(t->head) || !t->branch || !gh_branch_valid(t->branch))
		return HS_OK; /* nothing a check can be put on */
	return check(ctx, t);
}

int checkrun_handle_pull_request(struct ev_ctx *ctx)
{
	json_t *pr = json_object_get(ctx->payload, "pull_request");
	struct cr_names n;
	struct cr_target t;
	int rc = need_github(ctx);

	if (rc)
		return rc;
	if (!target_repo(ctx, &n, &t) || !json_is_object(pr))
		return HS_OK;
	from_pull(pr, &t);
	t.head = str2(pr, "head", "sha");
	return run_target(ctx, &t);
}

/* A check suite (of a check_suite or check_run delivery) into t. */
static void from_suite(json_t *suite, json_t *prs, struct cr_target *t)
{
	t->head = json_string_value(json_object_get(suite, "head_sha"));
	if (json_is_array(prs) && json_array_size(prs) > 0) {
		from_pull(json_array_get(prs, 0), t);
	} else {
		t->branch = json_string_value(json_object_get(suite, "head_branch"));
		t->base = json_string_value(json_object_get(suite, "before"));
	}
}

int checkrun_handle_check_suite(struct ev_ctx *ctx)
{
	json_t *suite = json_object_get(ctx->payload, "check_suite");
	const char *action = json_string_value(json_object_get(ctx->payload, "action"));
	struct cr_names n;
	struct cr_target t;
	int rc = need_github(ctx);

	if (rc)
		return rc;
	if (!target_repo(ctx, &n, &t) || !json_is_object(suite))
		return HS_OK;
	from_suite(suite, json_object_get(suite, "pull_requests"), &t);
	t.fresh = action && !strcmp(action, "rerequested");
	return run_target(ctx, &t);
}

int checkrun_handle_check_run(struct ev_ctx *ctx)
{
	json_t *cr = json_object_get(ctx->payload, "check_run");
	json_t *suite = json_object_get(cr, "check_suite"), *prs;
	const char *name = json_string_value(json_object_get(cr, "name"));
	const char *action = json_string_value(json_object_get(ctx->payload, "action"));
	struct cr_names n;
	struct cr_target t;
	int rc = need_github(ctx);

	if (rc)
		return rc;
	if (!target_repo(ctx, &n, &t) || !json_is_object(cr) || !name ||
	    strcmp(name, CHECKRUN_NAME))
		return HS_OK;
	prs = json_object_get(cr, "pull_requests");
	if (!json_is_array(prs) || !json_array_size(prs))
		prs = json_object_get(suite, "pull_requests");
	from_suite(suite, prs, &t);
	if (json_is_string(json_object_get(cr, "head_sha")))
		t.head = json_string_value(json_object_get(cr, "head_sha"));
	t.fresh = 1;
	if (action && !strcmp(action, "requested_action")) {
		const char *what = str2(ctx->payload, "requested_action", "identifier");

		if (!what || strcmp(what, "fix-layout") || !t.pr || !t.branch)
			return HS_OK; /* only pull requests get the button */
		return fix_layout(ctx, &t, str2(json_array_get(prs, 0), "head", "ref"));
	}
	return run_target(ctx, &t);
}

int checkrun_on_push(struct ev_ctx *ctx, const struct gh_repo *r, const char *branch,
		     const char *after)
{
	struct cr_target t;
	int rc = need_github(ctx);

	if (rc)
		return rc;
	memset(&t, 0, sizeof(t));
	t.repo = *r;
	t.head = after;
	t.base = json_string_value(json_object_get(ctx->payload, "before"));
	t.branch = branch;
	t.push = ctx->payload;
	if (!sha_given(after))
		return HS_OK; /* a deleted branch */
	return run_target(ctx, &t);
}
