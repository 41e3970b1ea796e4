/* repos.c: installation lookup, commit comparison and pull-request file lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/http.h"
#include "github/json.h"
#include "github/repos.h"

int gh_repos_installation(struct gh_client *c, const char *owner, const char *repo,
			  int64_t *installation_id, char *err)
{
	struct gh_repo r = { owner, repo, 0 };
	struct gh_request rq;
	char path[256];
	json_t *j = NULL;
	int rc;

	*installation_id = 0;
	if (!gh_repo_valid(&r)) {
		hs_seterr(err, "bad repository name");
		return GH_EINVAL;
	}
	snprintf(path, sizeof(path), "/repos/%s/%s/installation", owner, repo);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = path;
	rq.auth = GH_AUTH_APP;
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &j, NULL, err);
	if (rc)
		goto out;
	if (gh_json_int(j, "id", installation_id) || *installation_id <= 0) {
		hs_seterr(err, "installation response lacks an id");
		rc = GH_EBADRESP;
	}
out:
	json_decref(j);
	return rc;
}

void gh_file_list_init(struct gh_file_list *l)
{
	memset(l, 0, sizeof(*l));
}

void gh_file_list_release(struct gh_file_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].filename);
		free(l->v[i].previous_filename);
		free(l->v[i].status);
	}
	free(l->v);
	gh_file_list_init(l);
}

void gh_compare_release(struct gh_compare *x)
{
	if (!x)
		return;
	free(x->status);
	gh_file_list_release(&x->files);
	memset(x, 0, sizeof(*x));
}

/* Append the files of a JSON array (GitHub's "diff entry" objects). */
static int add_files(struct gh_file_list *l, json_t *arr, size_t max, char *err)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		const char *name = gh_json_str(e, "filename", 4096);
		const char *status = gh_json_str(e, "status", 32);
		const char *prev = gh_json_str(e, "previous_filename", 4096);
		const char *sha = gh_json_sha(e, "sha");
		struct gh_file_change *f;

		if (!name || !gh_path_valid(name) || !status || (prev && !gh_path_valid(prev))) {
			hs_seterr(err, "file entry %zu lacks a valid filename or status", i);
			return GH_EBADRESP;
		}
		if (l->n >= max) {
			l->truncated = 1;
			return GH_OK;
		}
		if (l->n == l->alloc) {
			l->alloc = l->alloc ? 2 * l->alloc : 32;
			l->v = hs_realloc(l->v, l->alloc * sizeof(*l->v));
		}
		f = &l->v[l->n++];
		memset(f, 0, sizeof(*f));
		f->filename = hs_strdup(name);
		f->status = hs_strdup(status);
		f->previous_filename = prev ? hs_strdup(prev) : NULL;
		if (sha && strcmp(status, "removed"))
			memcpy(f->sha, sha, sizeof(gh_sha));
	}
	return GH_OK;
}

static int ref_ok(const char *s)
{
	return s && *s && strlen(s) < 256 && !strstr(s, "..") &&
	       !strpbrk(s, " ~^:?*[\\") && s[0] != '/' && s[0] != '-';
}

int gh_repos_compare(struct gh_client *c, const struct gh_repo *r, const char *base,
		     const char *head, struct gh_compare *out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	struct gh_request rq;
	json_t *j = NULL, *files;
	const char *status, *mb;
	int rc = GH_EINVAL;

	memset(out, 0, sizeof(*out));
	if (!gh_repo_valid(r) || !ref_ok(base) || !ref_ok(head)) {
		hs_seterr(err, "bad repository or ref for compare");
		return GH_EINVAL;
	}
	if (hs_buf_addf(&url, "/repos/%s/%s/compare/", r->owner, r->name) ||
	    gh_path_escape(&url, base) || hs_buf_addstr(&url, "...") ||
	    gh_path_escape(&url, head)) {
		hs_seterr(err, "compare refs too long");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = hs_buf_str(&url);
	rq.auth = GH_AUTH_INSTALLATION;
	rq.installation_id = r->installation_id;
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &j, NULL, err);
	if (rc)
		goto out;
	status = gh_json_str(j, "status", 32);
	mb = gh_json_sha(gh_json_obj(j, "merge_base_commit"), "sha");
	files = gh_json_arr(j, "files");
	if (!status || gh_json_int(j, "ahead_by", &out->ahead_by) ||
	    gh_json_int(j, "behind_by", &out->behind_by)) {
		hs_seterr(err, "compare response lacks status, ahead_by or behind_by");
		rc = GH_EBADRESP;
		goto out;
	}
	if (gh_json_int(j, "total_commits", &out->total_commits))
		out->total_commits = out->ahead_by;
	out->status = hs_strdup(status);
	if (mb)
		memcpy(out->merge_base, mb, sizeof(gh_sha));
	if (files) {
		rc = add_files(&out->files, files, GH_COMPARE_MAX_FILES, err);
		if (rc)
			goto out;
		if (json_array_size(files) >= GH_COMPARE_MAX_FILES)
			out->files.truncated = 1;
	}
out:
	if (rc)
		gh_compare_release(out);
	json_decref(j);
	hs_buf_release(&url);
	return rc;
}

static int page_files(void *payload, json_t *page, char *err)
{
	return add_files(payload, page, GH_PULL_MAX_FILES, err);
}

int gh_pulls_list_files(struct gh_client *c, const struct gh_repo *r, int64_t number,
			struct gh_file_list *out, char *err)
{
	struct gh_request rq;
	char path[256];
	int rc;

	gh_file_list_init(out);
	if (!gh_repo_valid(r) || number <= 0) {
		hs_seterr(err, "bad repository or pull request number");
		return GH_EINVAL;
	}
	snprintf(path, sizeof(path), "/repos/%s/%s/pulls/%lld/files?per_page=100",
		 r->owner, r->name, (long long)number);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = path;
	rq.auth = GH_AUTH_INSTALLATION;
	rq.installation_id = r->installation_id;
	/* 3000 files at 100 a page: 30 pages, and one more that is empty */
	rc = gh_paginate(c, &rq, NULL, GH_PULL_MAX_FILES / 100 + 1, page_files, out, err);
	if (rc == GH_ETOOBIG && out->n >= GH_PULL_MAX_FILES) {
		out->truncated = 1;
		rc = GH_OK;
	}
	if (rc)
		gh_file_list_release(out);
	return rc;
}
