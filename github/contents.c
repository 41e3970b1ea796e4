/* contents.c: GET, PUT and DELETE /repos/{owner}/{repo}/contents/{path}. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/contents.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/json.h"

/* "/repos/{owner}/{repo}/contents[/{path}]" into b. */
static int contents_url(struct hs_buf *b, const struct gh_repo *r, const char *path,
			char *err)
{
	if (!gh_repo_valid(r)) {
		hs_seterr(err, "bad repository name");
		return GH_EINVAL;
	}
	if (path && *path && !gh_path_valid(path)) {
		hs_seterr(err, "bad repository path '%.200s'", path);
		return GH_EINVAL;
	}
	if (hs_buf_addf(b, "/repos/%s/%s/contents", r->owner, r->name) ||
	    (path && *path && (hs_buf_addch(b, '/') || gh_path_escape(b, path)))) {
		hs_seterr(err, "path too long");
		return GH_EINVAL;
	}
	return GH_OK;
}

static int type_of(const char *t, enum gh_content_type *out)
{
	if (!t)
		return -1;
	if (!strcmp(t, "file"))
		*out = GH_CONTENT_FILE;
	else if (!strcmp(t, "dir"))
		*out = GH_CONTENT_DIR;
	else if (!strcmp(t, "symlink"))
		*out = GH_CONTENT_SYMLINK;
	else if (!strcmp(t, "submodule"))
		*out = GH_CONTENT_SUBMODULE;
	else
		return -1;
	return 0;
}

void gh_content_free(struct gh_content *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_entries; i++) {
		free(x->entries[i].name);
		free(x->entries[i].path);
	}
	free(x->entries);
	free(x->path);
	free(x->data);
	free(x);
}

static int read_dir(json_t *arr, struct gh_content *x, char *err)
{
	size_t i;
	json_t *e;

	x->type = GH_CONTENT_DIR;
	x->entries = hs_calloc(json_array_size(arr) + 1, sizeof(*x->entries));
	json_array_foreach(arr, i, e) {
		struct gh_content_entry *d = &x->entries[x->n_entries];
		const char *name = gh_json_str(e, "name", 4096);
		const char *path = gh_json_str(e, "path", 4096);
		const char *sha = gh_json_sha(e, "sha");

		if (!name || !path || !sha || type_of(gh_json_str(e, "type", 16), &d->type)) {
			hs_seterr(err, "directory entry %zu lacks name, path, sha or type", i);
			return GH_EBADRESP;
		}
		if (gh_json_int(e, "size", &d->size))
			d->size = -1;
		d->name = hs_strdup(name);
		d->path = hs_strdup(path);
		memcpy(d->sha, sha, sizeof(gh_sha));
		x->n_entries++;
	}
	return GH_OK;
}

static int read_file(struct gh_client *c, const struct gh_repo *r, json_t *j,
		     struct gh_content *x, char *err)
{
	const char *enc = gh_json_str(j, "encoding", 32);
	json_t *content = json_object_get(j, "content");
	gh_sha got;
	int rc;

	if (x->type == GH_CONTENT_SUBMODULE)
		return GH_OK; /* a commit of another repository: no content */
	if (x->type == GH_CONTENT_SYMLINK && !enc) {
		const char *target = gh_json_str(j, "target", 4096);

		if (!target) {
			hs_seterr(err, "symlink without target");
			return GH_EBADRESP;
		}
		x->data = hs_strdup(target);
		x->len = strlen(target);
		return GH_OK;
	}
	if (enc && !strcmp(enc, "base64") && json_is_string(content) &&
	    (json_string_length(content) > 0 || x->size == 0)) {
		rc = gh_b64_decode(json_string_value(content), json_string_length(content),
				   GH_CONTENTS_MAX_FILE, &x->data, &x->len);
		if (rc) {
			hs_seterr(err, "file content is not valid base64 or too big");
			return rc;
		}
	} else if (enc && !strcmp(enc, "none")) {
		/* 1-100 MB: GitHub leaves content out; read the blob */
		return gh_git_get_blob(c, r, x->sha, GH_CONTENTS_MAX_FILE, &x->data,
				       &x->len, err);
	} else {
		hs_seterr(err, "file without content in a known encoding");
		return GH_EBADRESP;
	}
	gh_git_blob_sha(x->data, x->len, got);
	if (strcmp(got, x->sha)) {
		hs_seterr(err, "file content does not match its sha %s", x->sha);
		return GH_EBADRESP;
	}
	return GH_OK;
}

int gh_contents_get(struct gh_client *c, const struct gh_repo *r, const char *path,
		    const char *ref, struct gh_content **out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(16384);
	struct gh_content *x = NULL;
	struct gh_request rq;
	json_t *j = NULL;
	const char *sha;
	int rc;

	*out = NULL;
	rc = contents_url(&url, r, path, err);
	if (rc)
		goto out;
	if (ref && (hs_buf_addstr(&url, "?ref=") || gh_query_escape(&url, ref))) {
		hs_seterr(err, "ref too long");
		rc = GH_EINVAL;
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = hs_buf_str(&url);
	rq.auth = GH_AUTH_INSTALLATION;
	rq.installation_id = r->installation_id;
	/* 1 MB of content is 1.4 MB of base64 plus the other fields */
	rq.max_response = 4 * 1024 * 1024;
	rc = gh_call(c, &rq, GH_JSON_ANY, &j, NULL, err);
	if (rc)
		goto out;
	x = hs_calloc(1, sizeof(*x));
	x->size = -1;
	if (json_is_array(j)) {
		x->path = hs_strdup(path ? path : "");
		rc = read_dir(j, x, err);
		goto out;
	}
	sha = gh_json_sha(j, "sha");
	if (!sha || type_of(gh_json_str(j, "type", 16), &x->type) ||
	    x->type == GH_CONTENT_DIR || !gh_json_str(j, "path", 4096)) {
		hs_seterr(err, "contents response lacks sha, type or path");
		rc = GH_EBADRESP;
		goto out;
	}
	memcpy(x->sha, sha, sizeof(gh_sha));
	x->path = hs_strdup(gh_json_str(j, "path", 4096));
	if (gh_json_int(j, "size", &x->size))
		x->size = -1;
	rc = read_file(c, r, j, x, err);
out:
	if (rc) {
		gh_content_free(x);
		x = NULL;
	}
	*out = x;
	json_decref(j);
	hs_buf_release(&url);
	return rc;
}

/* The shared part of PUT and DELETE. */
static int write_file(struct gh_client *c, const struct gh_repo *r, const char *method,
		      const struct gh_contents_write *w, struct gh_file_commit *out,
		      char *err)
{
	struct hs_buf url = HS_BUF_INIT(16384);
	json_t *body = NULL, *res = NULL, *p;
	char *b64 = NULL, *text = NULL;
	const char *sha;
	struct gh_request rq;
	size_t text_len;
	long status = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = contents_url(&url, r, w->path, err);
	if (rc)
		goto out;
	if (!w->path || !*w->path || !w->message) {
		hs_seterr(err, "a contents write needs a path and a message");
		rc = GH_EINVAL;
		goto out;
	}
	if ((w->sha && !gh_sha_valid(w->sha)) || (!strcmp(method, "DELETE") && !w->sha)) {
		hs_seterr(err, "%s '%.200s': blob sha missing or malformed", method, w->path);
		rc = GH_EINVAL;
		goto out;
	}
	if (w->branch && !gh_branch_valid(w->branch)) {
		hs_seterr(err, "bad branch name '%.200s'", w->branch);
		rc = GH_EINVAL;
		goto out;
	}
	body = json_pack("{s:s}", "message", w->message);
	if (!body) {
		hs_seterr(err, "commit message is not UTF-8");
		rc = GH_EINVAL;
		goto out;
	}
	if (!strcmp(method, "PUT")) {
		if (w->len > GH_CONTENTS_MAX_FILE || (w->len && !w->data)) {
			hs_seterr(err, "file content missing or over %d bytes",
				  GH_CONTENTS_MAX_FILE);
			rc = w->len ? GH_ETOOBIG : GH_EINVAL;
			goto out;
		}
		b64 = gh_b64_encode(w->data ? w->data : "", w->len, NULL);
		json_object_set_new(body, "content", json_string(b64));
	}
	if (w->sha)
		json_object_set_new(body, "sha", json_string(w->sha));
	if (w->branch)
		json_object_set_new(body, "branch", json_string(w->branch));
	if (w->author) {
		p = gh_json_person(w->author);
		if (!p) {
			hs_seterr(err, "author needs a name and an email");
			rc = GH_EINVAL;
			goto out;
		}
		json_object_set_new(body, "author", p);
	}
	if (w->committer) {
		p = gh_json_person(w->committer);
		if (!p) {
			hs_seterr(err, "committer needs a name and an email");
			rc = GH_EINVAL;
			goto out;
		}
		json_object_set_new(body, "committer", p);
	}
	text = gh_json_dump(body, &text_len);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = hs_buf_str(&url);
	rq.body = text;
	rq.body_len = text_len;
	rq.auth = GH_AUTH_INSTALLATION;
	rq.installation_id = r->installation_id;
	rq.serialize = r;
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &res, &status, err);
	if (rc)
		goto out;
	sha = gh_json_sha(gh_json_obj(res, "commit"), "sha");
	if (!sha) {
		hs_seterr(err, "%s '%.200s': response lacks commit.sha", method, w->path);
		rc = GH_EBADRESP;
		goto out;
	}
	memcpy(out->commit_sha, sha, sizeof(gh_sha));
	if (!strcmp(method, "PUT")) {
		sha = gh_json_sha(gh_json_obj(res, "content"), "sha");
		if (!sha) {
			hs_seterr(err, "PUT '%.200s': response lacks content.sha", w->path);
			rc = GH_EBADRESP;
			goto out;
		}
		memcpy(out->content_sha, sha, sizeof(gh_sha));
		out->created = status == 201;
	}
out:
	json_decref(res);
	json_decref(body);
	free(text);
	free(b64);
	hs_buf_release(&url);
	return rc;
}

int gh_contents_put(struct gh_client *c, const struct gh_repo *r,
		    const struct gh_contents_write *w, struct gh_file_commit *out,
		    char *err)
{
	return write_file(c, r, "PUT", w, out, err);
}

int gh_contents_delete(struct gh_client *c, const struct gh_repo *r,
		       const struct gh_contents_write *w, struct gh_file_commit *out,
		       char *err)
{
	return write_file(c, r, "DELETE", w, out, err);
}
