/* gitdata.c: Git Data API calls and the one-commit change set with re-planning. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/log.h"
#include "github/base/mem.h"
#include "github/codec.h"
#include "github/gitdata.h"
#include "github/http.h"
#include "github/json.h"

#define TREE_MAX_DEPTH 64

int gh_branch_valid(const char *b)
{
	size_t n;

	if (!gh_path_valid(b))
		return 0;
	n = strlen(b);
	if (b[0] == '-' || b[n - 1] == '.' || strstr(b, "..") || strstr(b, "@{") ||
	    strpbrk(b, " ~^:?*[\\") || (n >= 5 && !strcmp(b + n - 5, ".lock")) ||
	    strstr(b, "/.") || b[0] == '.')
		return 0;
	return 1;
}

/* "/repos/{owner}/{repo}/git/" + fmt into b. */
static int git_url(struct hs_buf *b, const struct gh_repo *r, char *err, const char *what)
{
	if (!gh_repo_valid(r)) {
		hs_seterr(err, "bad repository name");
		return GH_EINVAL;
	}
	if (hs_buf_addf(b, "/repos/%s/%s/git/%s", r->owner, r->name, what)) {
		hs_seterr(err, "URL too long");
		return GH_EINVAL;
	}
	return GH_OK;
}

static void request(struct gh_request *rq, const struct gh_repo *r, const char *method,
		    const char *path)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->path = path;
	rq->auth = GH_AUTH_INSTALLATION;
	rq->installation_id = r->installation_id;
	if (strcmp(method, "GET"))
		rq->serialize = r; /* content-creating: one at a time per repo */
}

static int ref_url(struct hs_buf *b, const struct gh_repo *r, const char *what,
		   const char *branch, char *err)
{
	int rc;

	if (!gh_branch_valid(branch)) {
		hs_seterr(err, "bad branch name '%.200s'", branch ? branch : "");
		return GH_EINVAL;
	}
	rc = git_url(b, r, err, what);
	if (!rc && gh_path_escape(b, branch)) {
		hs_seterr(err, "branch name too long");
		rc = GH_EINVAL;
	}
	return rc;
}

int gh_git_get_ref(struct gh_client *c, const struct gh_repo *r, const char *branch,
		   gh_sha out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	struct gh_request rq;
	json_t *j = NULL, *obj;
	const char *sha, *type;
	int rc;

	out[0] = '\0';
	rc = ref_url(&url, r, "ref/heads/", branch, err);
	if (rc)
		goto out;
	request(&rq, r, "GET", hs_buf_str(&url));
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &j, NULL, err);
	if (rc)
		goto out;
	obj = gh_json_obj(j, "object");
	sha = gh_json_sha(obj, "sha");
	type = gh_json_str(obj, "type", 16);
	if (!sha || !type || strcmp(type, "commit")) {
		hs_seterr(err, "ref heads/%.200s: no commit sha in the response", branch);
		rc = GH_EBADRESP;
		goto out;
	}
	memcpy(out, sha, sizeof(gh_sha));
out:
	json_decref(j);
	hs_buf_release(&url);
	return rc;
}

static int send_json(struct gh_client *c, const struct gh_repo *r, const char *method,
		     const char *path, json_t *body, json_t **res, long *status,
		     char *err)
{
	struct gh_request rq;
	size_t len;
	char *text = gh_json_dump(body, &len);
	int rc;

	request(&rq, r, method, path);
	rq.body = text;
	rq.body_len = len;
	rc = gh_call(c, &rq, res ? GH_JSON_OBJECT : GH_JSON_NONE, res, status, err);
	free(text);
	return rc;
}

int gh_git_create_ref(struct gh_client *c, const struct gh_repo *r,
		      const char *branch, const char *sha, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	json_t *body = NULL;
	char *ref = NULL;
	int rc;

	if (!gh_branch_valid(branch) || !gh_sha_valid(sha)) {
		hs_seterr(err, "bad branch name or sha");
		return GH_EINVAL;
	}
	rc = git_url(&url, r, err, "refs");
	if (rc)
		goto out;
	ref = hs_asprintf("refs/heads/%s", branch);
	body = json_pack("{s:s, s:s}", "ref", ref, "sha", sha);
	rc = send_json(c, r, "POST", hs_buf_str(&url), body, NULL, NULL, err);
out:
	json_decref(body);
	free(ref);
	hs_buf_release(&url);
	return rc;
}

int gh_git_update_ref(struct gh_client *c, const struct gh_repo *r,
		      const char *branch, const char *sha, int force, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	json_t *body = NULL, *res = NULL;
	const char *got;
	int rc;

	if (!gh_sha_valid(sha)) {
		hs_seterr(err, "bad sha");
		return GH_EINVAL;
	}
	rc = ref_url(&url, r, "refs/heads/", branch, err);
	if (rc)
		goto out;
	body = json_pack("{s:s, s:b}", "sha", sha, "force", force ? 1 : 0);
	rc = send_json(c, r, "PATCH", hs_buf_str(&url), body, &res, NULL, err);
	if (rc)
		goto out;
	got = gh_json_sha(gh_json_obj(res, "object"), "sha");
	if (!got || strcmp(got, sha)) {
		hs_seterr(err, "ref update answered without the new sha");
		rc = GH_EBADRESP;
	}
out:
	json_decref(body);
	json_decref(res);
	hs_buf_release(&url);
	return rc;
}

void gh_commit_release(struct gh_commit *x)
{
	if (!x)
		return;
	free(x->parents);
	free(x->message);
	x->parents = NULL;
	x->message = NULL;
	x->n_parents = 0;
}

int gh_git_get_commit(struct gh_client *c, const struct gh_repo *r, const char *sha,
		      struct gh_commit *out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	struct gh_request rq;
	json_t *j = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!gh_sha_valid(sha)) {
		hs_seterr(err, "bad commit sha");
		return GH_EINVAL;
	}
	rc = git_url(&url, r, err, "commits/");
	if (rc)
		goto out;
	hs_buf_addstr(&url, sha);
	request(&rq, r, "GET", hs_buf_str(&url));
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &j, NULL, err);
	if (rc)
		goto out;
	rc = gh_commit_decode(j, sha, out, err);
out:
	json_decref(j);
	hs_buf_release(&url);
	return rc;
}

int gh_commit_decode(const json_t *j, const char *sha, struct gh_commit *out, char *err)
{
	const json_t *parents, *p;
	const char *tree, *msg, *own;
	size_t i;
	int rc = GH_OK;

	memset(out, 0, sizeof(*out));
	tree = gh_json_sha(gh_json_obj(j, "tree"), "sha");
	parents = gh_json_arr(j, "parents");
	msg = gh_json_str(j, "message", 1024 * 1024);
	own = gh_json_sha(j, "sha");
	if (!tree || !parents || !own || (sha && strcmp(own, sha))) {
		hs_seterr(err, "commit %.40s: response lacks sha, tree or parents", sha ? sha : "?");
		return GH_EBADRESP;
	}
	memcpy(out->sha, own, sizeof(gh_sha));
	memcpy(out->tree, tree, sizeof(gh_sha));
	out->message = hs_strdup(msg ? msg : "");
	out->parents = hs_calloc(json_array_size(parents) + 1, sizeof(gh_sha));
	json_array_foreach(parents, i, p) {
		const char *ps = gh_json_sha(p, "sha");

		if (!ps) {
			hs_seterr(err, "commit %.40s: bad parent %zu", own, i);
			rc = GH_EBADRESP;
			break;
		}
		memcpy(out->parents[out->n_parents++], ps, sizeof(gh_sha));
	}
	if (rc)
		gh_commit_release(out);
	return rc;
}

/* ---- trees ---- */

void gh_tree_init(struct gh_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void gh_tree_release(struct gh_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	gh_tree_init(t);
}

static int parse_mode(const char *s, uint32_t *mode)
{
	static const struct { const char *s; uint32_t m; } modes[] = {
		{ "100644", 0100644 }, { "100755", 0100755 }, { "040000", 040000 },
		{ "40000", 040000 }, { "160000", 0160000 }, { "120000", 0120000 },
	};

	for (size_t i = 0; s && i < sizeof(modes) / sizeof(*modes); i++) {
		if (!strcmp(s, modes[i].s)) {
			*mode = modes[i].m;
			return 0;
		}
	}
	return -1;
}

static int parse_type(const char *s, enum gh_object_type *t)
{
	if (!s)
		return -1;
	if (!strcmp(s, "blob"))
		*t = GH_OBJ_BLOB;
	else if (!strcmp(s, "tree"))
		*t = GH_OBJ_TREE;
	else if (!strcmp(s, "commit"))
		*t = GH_OBJ_COMMIT;
	else
		return -1;
	return 0;
}

/* GET one tree listing; *truncated tells whether GitHub cut it. */
static int fetch_tree(struct gh_client *c, const struct gh_repo *r, const char *sha,
		      int recursive, json_t **out, int *truncated, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	struct gh_request rq;
	int rc;

	*out = NULL;
	rc = git_url(&url, r, err, "trees/");
	if (rc)
		goto out;
	hs_buf_addf(&url, "%s%s", sha, recursive ? "?recursive=1" : "");
	request(&rq, r, "GET", hs_buf_str(&url));
	rc = gh_call(c, &rq, GH_JSON_OBJECT, out, NULL, err);
	if (rc)
		goto out;
	if (!gh_json_arr(*out, "tree") || !gh_json_sha(*out, "sha")) {
		hs_seterr(err, "tree %s: response lacks sha or tree", sha);
		rc = GH_EBADRESP;
		goto out;
	}
	*truncated = gh_json_true(*out, "truncated");
out:
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	hs_buf_release(&url);
	return rc;
}

int gh_tree_add_listing(struct gh_tree *t, const json_t *listing, const char *prefix,
			char *err)
{
	const json_t *arr = gh_json_arr(listing, "tree"), *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		struct gh_tree_entry *x;
		const char *path = gh_json_str(e, "path", 4096);
		const char *sha = gh_json_sha(e, "sha");
		uint32_t mode;
		enum gh_object_type type;

		if (!path || !gh_path_valid(path) || !sha ||
		    parse_mode(gh_json_str(e, "mode", 8), &mode) ||
		    parse_type(gh_json_str(e, "type", 8), &type)) {
			hs_seterr(err, "tree entry %zu has a bad path, sha, mode or type", i);
			return GH_EBADRESP;
		}
		if (t->n >= GH_TREE_MAX_ENTRIES) {
			hs_seterr(err, "tree has more than %d entries", GH_TREE_MAX_ENTRIES);
			return GH_ETOOBIG;
		}
		if (t->n == t->alloc) {
			t->alloc = t->alloc ? 2 * t->alloc : 64;
			t->v = hs_realloc(t->v, t->alloc * sizeof(*t->v));
		}
		x = &t->v[t->n++];
		x->path = hs_asprintf("%s%s", prefix, path);
		x->mode = mode;
		x->type = type;
		memcpy(x->sha, sha, sizeof(gh_sha));
		if (type != GH_OBJ_BLOB || gh_json_int(e, "size", &x->size))
			x->size = -1;
	}
	return GH_OK;
}

/* Collect sha's entries under prefix, walking sub-trees when truncated. */
static int walk_tree(struct gh_client *c, const struct gh_repo *r, const char *sha,
		     const char *prefix, int depth, struct gh_tree *t, char *err)
{
	json_t *j = NULL, *arr, *e;
	size_t i, first;
	int truncated = 0, rc;

	if (depth > TREE_MAX_DEPTH) {
		hs_seterr(err, "tree nested deeper than %d", TREE_MAX_DEPTH);
		return GH_ETOOBIG;
	}
	rc = fetch_tree(c, r, sha, 1, &j, &truncated, err);
	t->requests++;
	if (rc)
		goto out;
	if (!truncated) {
		rc = gh_tree_add_listing(t, j, prefix, err);
		goto out;
	}
	/* too big for one listing: this level alone, then each sub-tree */
	json_decref(j);
	j = NULL;
	rc = fetch_tree(c, r, sha, 0, &j, &truncated, err);
	t->requests++;
	if (rc)
		goto out;
	if (truncated) {
		hs_seterr(err, "tree %s is truncated even without recursion", sha);
		rc = GH_ETOOBIG;
		goto out;
	}
	first = t->n;
	rc = gh_tree_add_listing(t, j, prefix, err);
	if (rc)
		goto out;
	arr = gh_json_arr(j, "tree");
	json_array_foreach(arr, i, e) {
		struct gh_tree_entry *x = &t->v[first + i];
		char *sub;

		if (x->type != GH_OBJ_TREE)
			continue;
		sub = hs_asprintf("%s/", x->path);
		{
			gh_sha child;

			memcpy(child, x->sha, sizeof(gh_sha)); /* t->v may move */
			rc = walk_tree(c, r, child, sub, depth + 1, t, err);
		}
		free(sub);
		if (rc)
			goto out;
	}
out:
	json_decref(j);
	return rc;
}

int gh_git_get_tree(struct gh_client *c, const struct gh_repo *r, const char *sha,
		    int recursive, struct gh_tree *out, char *err)
{
	json_t *j = NULL;
	int truncated = 0, rc;

	gh_tree_init(out);
	if (!gh_sha_valid(sha)) {
		hs_seterr(err, "bad tree sha");
		return GH_EINVAL;
	}
	if (recursive) {
		rc = walk_tree(c, r, sha, "", 0, out, err);
	} else {
		rc = fetch_tree(c, r, sha, 0, &j, &truncated, err);
		out->requests = 1;
		if (!rc && truncated) {
			hs_seterr(err, "tree %s is truncated", sha);
			rc = GH_ETOOBIG;
		}
		if (!rc)
			rc = gh_tree_add_listing(out, j, "", err);
	}
	if (rc)
		gh_tree_release(out);
	else
		memcpy(out->sha, sha, sizeof(gh_sha));
	json_decref(j);
	return rc;
}

/* ---- blobs ---- */

int gh_git_get_blob(struct gh_client *c, const struct gh_repo *r, const char *sha,
		    size_t max, char **data, size_t *len, char *err)
{
	const struct gh_blob_cache *cache = gh_client_blobs(c);
	struct hs_buf url = HS_BUF_INIT(4096);
	struct gh_request rq;
	json_t *j = NULL;
	const char *enc;
	json_t *content;
	int64_t size;
	gh_sha got;
	int rc;

	*data = NULL;
	*len = 0;
	if (!max || max > GH_BLOB_MAX)
		max = GH_BLOB_MAX;
	if (!gh_sha_valid(sha)) {
		hs_seterr(err, "bad blob sha");
		return GH_EINVAL;
	}
	if (cache && cache->get && cache->get(cache->ctx, sha, data, len) == 0 && *data) {
		gh_git_blob_sha(*data, *len, got);
		if (!strcmp(got, sha) && *len <= max)
			return GH_OK;
		hs_warn("blob cache: entry %s does not hash to its key; ignored", sha);
		free(*data);
		*data = NULL;
		*len = 0;
	}
	rc = git_url(&url, r, err, "blobs/");
	if (rc)
		goto out;
	hs_buf_addstr(&url, sha);
	request(&rq, r, "GET", hs_buf_str(&url));
	/* base64 is 4/3 of the size, GitHub breaks lines every 60 characters */
	rq.max_response = max / 3 * 4 * 61 / 60 + 64 * 1024;
	rc = gh_call(c, &rq, GH_JSON_OBJECT, &j, NULL, err);
	if (rc)
		goto out;
	enc = gh_json_str(j, "encoding", 32);
	content = json_object_get(j, "content");
	if (!enc || strcmp(enc, "base64") || !json_is_string(content)) {
		hs_seterr(err, "blob %s: response lacks base64 content", sha);
		rc = GH_EBADRESP;
		goto out;
	}
	if (!gh_json_int(j, "size", &size) && (size < 0 || (uint64_t)size > max)) {
		hs_seterr(err, "blob %s: %lld bytes, over %zu", sha, (long long)size, max);
		rc = GH_ETOOBIG;
		goto out;
	}
	rc = gh_b64_decode(json_string_value(content), json_string_length(content), max,
			   data, len);
	if (rc) {
		hs_seterr(err, "blob %s: content %s", sha,
			  rc == GH_ETOOBIG ? "over the cap" : "is not base64");
		goto out;
	}
	gh_git_blob_sha(*data, *len, got);
	if (strcmp(got, sha)) {
		hs_seterr(err, "blob %s: content hashes to %s", sha, got);
		rc = GH_EBADRESP;
		goto out;
	}
	if (cache && cache->put && cache->put(cache->ctx, sha, *data, *len))
		hs_warn("blob cache: could not store %s", sha);
out:
	if (rc) {
		free(*data);
		*data = NULL;
		*len = 0;
	}
	json_decref(j);
	hs_buf_release(&url);
	return rc;
}

int gh_git_create_blob(struct gh_client *c, const struct gh_repo *r,
		       const char *data, size_t len, gh_sha out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	json_t *body = NULL, *res = NULL;
	char *b64 = NULL;
	const char *sha;
	gh_sha want;
	int rc;

	out[0] = '\0';
	if (len > GH_BLOB_MAX) {
		hs_seterr(err, "blob of %zu bytes is over %d", len, GH_BLOB_MAX);
		return GH_ETOOBIG;
	}
	rc = git_url(&url, r, err, "blobs");
	if (rc)
		goto out;
	b64 = gh_b64_encode(data ? data : "", len, NULL);
	body = json_pack("{s:s, s:s}", "content", b64, "encoding", "base64");
	rc = send_json(c, r, "POST", hs_buf_str(&url), body, &res, NULL, err);
	if (rc)
		goto out;
	sha = gh_json_sha(res, "sha");
	gh_git_blob_sha(data ? data : "", len, want);
	if (!sha || strcmp(sha, want)) {
		hs_seterr(err, "blob creation answered a sha that is not the blob's");
		rc = GH_EBADRESP;
		goto out;
	}
	memcpy(out, sha, sizeof(gh_sha));
out:
	json_decref(body);
	json_decref(res);
	free(b64);
	hs_buf_release(&url);
	return rc;
}

/* ---- change sets ---- */

void gh_changeset_init(struct gh_changeset *cs)
{
	memset(cs, 0, sizeof(*cs));
}

void gh_changeset_clear(struct gh_changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		free(cs->v[i].path);
		free(cs->v[i].data);
	}
	cs->n = 0;
}

void gh_changeset_release(struct gh_changeset *cs)
{
	if (!cs)
		return;
	gh_changeset_clear(cs);
	free(cs->v);
	gh_changeset_init(cs);
}

static struct gh_change *slot_for(struct gh_changeset *cs, const char *path)
{
	struct gh_change *x;

	for (size_t i = 0; i < cs->n; i++) {
		if (!strcmp(cs->v[i].path, path)) {
			free(cs->v[i].data);
			cs->v[i].data = NULL;
			return &cs->v[i];
		}
	}
	if (cs->n == cs->alloc) {
		cs->alloc = cs->alloc ? 2 * cs->alloc : 16;
		cs->v = hs_realloc(cs->v, cs->alloc * sizeof(*cs->v));
	}
	x = &cs->v[cs->n++];
	memset(x, 0, sizeof(*x));
	x->path = hs_strdup(path);
	return x;
}

int gh_changeset_put(struct gh_changeset *cs, const char *path, const char *data,
		     size_t len, uint32_t mode)
{
	struct gh_change *x;

	if (!mode)
		mode = 0100644;
	if (!gh_path_valid(path) || (mode != 0100644 && mode != 0100755 && mode != 0120000) ||
	    (len && !data) || len > GH_BLOB_MAX)
		return GH_EINVAL;
	x = slot_for(cs, path);
	x->data = hs_malloc(len + 1);
	if (len)
		memcpy(x->data, data, len);
	x->data[len] = '\0';
	x->len = len;
	x->mode = mode;
	x->delete = 0;
	return GH_OK;
}

int gh_changeset_delete(struct gh_changeset *cs, const char *path)
{
	struct gh_change *x;

	if (!gh_path_valid(path))
		return GH_EINVAL;
	x = slot_for(cs, path);
	x->len = 0;
	x->mode = 0100644;
	x->delete = 1;
	return GH_OK;
}

int gh_git_create_tree(struct gh_client *c, const struct gh_repo *r,
		       const char *base_tree, const struct gh_changeset *cs,
		       gh_sha out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	json_t *body = NULL, *tree, *res = NULL;
	const char *sha;
	int rc;

	out[0] = '\0';
	if (base_tree && !gh_sha_valid(base_tree)) {
		hs_seterr(err, "bad base tree sha");
		return GH_EINVAL;
	}
	rc = git_url(&url, r, err, "trees");
	if (rc)
		goto out;
	body = json_object();
	tree = json_array();
	if (base_tree)
		json_object_set_new(body, "base_tree", json_string(base_tree));
	json_object_set_new(body, "tree", tree);
	for (size_t i = 0; i < cs->n; i++) {
		const struct gh_change *x = &cs->v[i];
		char mode[8];
		json_t *e;

		snprintf(mode, sizeof(mode), "%06o", (unsigned)x->mode);
		e = json_pack("{s:s, s:s, s:s}", "path", x->path, "mode", mode,
			      "type", "blob");
		if (!e) {
			hs_seterr(err, "path '%.200s' is not UTF-8", x->path);
			rc = GH_EINVAL;
			goto out;
		}
		json_array_append_new(tree, e);
		if (x->delete) {
			json_object_set_new(e, "sha", json_null());
		} else if (gh_utf8_text(x->data, x->len)) {
			json_object_set_new(e, "content", json_stringn(x->data, x->len));
		} else {
			/* inline content is a UTF-8 string: binary goes up as a blob */
			gh_sha blob;

			rc = gh_git_create_blob(c, r, x->data, x->len, blob, err);
			if (rc)
				goto out;
			json_object_set_new(e, "sha", json_string(blob));
		}
	}
	rc = send_json(c, r, "POST", hs_buf_str(&url), body, &res, NULL, err);
	if (rc)
		goto out;
	sha = gh_json_sha(res, "sha");
	if (!sha) {
		hs_seterr(err, "tree creation answered no sha");
		rc = GH_EBADRESP;
		goto out;
	}
	memcpy(out, sha, sizeof(gh_sha));
out:
	json_decref(body);
	json_decref(res);
	hs_buf_release(&url);
	return rc;
}

int gh_git_create_commit(struct gh_client *c, const struct gh_repo *r,
			 const char *message, const char *tree,
			 const char *const *parents, size_t n_parents,
			 const struct gh_person *author,
			 const struct gh_person *committer, gh_sha out, char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	json_t *body = NULL, *ps, *res = NULL, *p;
	const char *sha;
	int rc;

	out[0] = '\0';
	if (!gh_sha_valid(tree) || !message) {
		hs_seterr(err, "a commit needs a message and a tree");
		return GH_EINVAL;
	}
	rc = git_url(&url, r, err, "commits");
	if (rc)
		goto out;
	body = json_pack("{s:s, s:s}", "message", message, "tree", tree);
	if (!body) {
		hs_seterr(err, "commit message is not UTF-8");
		rc = GH_EINVAL;
		goto out;
	}
	ps = json_array();
	json_object_set_new(body, "parents", ps);
	for (size_t i = 0; i < n_parents; i++) {
		if (!gh_sha_valid(parents[i])) {
			hs_seterr(err, "bad parent sha");
			rc = GH_EINVAL;
			goto out;
		}
		json_array_append_new(ps, json_string(parents[i]));
	}
	if (author) {
		if (!(p = gh_json_person(author))) {
			hs_seterr(err, "author needs a name and an email");
			rc = GH_EINVAL;
			goto out;
		}
		json_object_set_new(body, "author", p);
	}
	if (committer) {
		if (!(p = gh_json_person(committer))) {
			hs_seterr(err, "committer needs a name and an email");
			rc = GH_EINVAL;
			goto out;
		}
		json_object_set_new(body, "committer", p);
	}
	rc = send_json(c, r, "POST", hs_buf_str(&url), body, &res, NULL, err);
	if (rc)
		goto out;
	sha = gh_json_sha(res, "sha");
	if (!sha || !gh_json_sha(gh_json_obj(res, "tree"), "sha") ||
	    strcmp(gh_json_sha(gh_json_obj(res, "tree"), "sha"), tree)) {
		hs_seterr(err, "commit creation answered no sha or another tree");
		rc = GH_EBADRESP;
		goto out;
	}
	memcpy(out, sha, sizeof(gh_sha));
out:
	json_decref(body);
	json_decref(res);
	hs_buf_release(&url);
	return rc;
}

int gh_git_commit(struct gh_client *c, const struct gh_repo *r,
		  const struct gh_commit_opts *o, struct gh_changeset *cs,
		  struct gh_commit_result *out, char *err)
{
	int max = o->max_attempts > 0 ? o->max_attempts : 5;
	struct gh_commit head;
	gh_sha head_sha, tree;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&head, 0, sizeof(head));
	if (!o->message || !o->branch) {
		hs_seterr(err, "a commit needs a branch and a message");
		return GH_EINVAL;
	}
	rc = gh_git_get_ref(c, r, o->branch, head_sha, err);
	if (rc)
		return rc;
	for (;;) {
		const char *parents[1];

		out->attempts++;
		memcpy(out->parent, head_sha, sizeof(gh_sha));
		if (cs->n == 0) {
			/* nothing (left) to do: the head stands */
			memcpy(out->commit, head_sha, sizeof(gh_sha));
			out->noop = 1;
			break;
		}
		gh_commit_release(&head);
		rc = gh_git_get_commit(c, r, head_sha, &head, err);
		if (rc)
			break;
		rc = gh_git_create_tree(c, r, head.tree, cs, tree, err);
		if (rc)
			break;
		memcpy(out->tree, tree, sizeof(gh_sha));
		if (!strcmp(tree, head.tree)) {
			/* every change was already there */
			memcpy(out->commit, head_sha, sizeof(gh_sha));
			out->noop = 1;
			break;
		}
		parents[0] = head_sha;
		rc = gh_git_create_commit(c, r, o->message, tree, parents, 1, o->author,
					  o->committer, out->commit, err);
		if (rc)
			break;
		rc = gh_git_update_ref(c, r, o->branch, out->commit, 0, err);
		if (rc != GH_ENOTFF)
			break;
		/* someone else moved the branch since we read it */
		hs_info("github: %s/%s %s moved during a commit (try %d of %d)",
			r->owner, r->name, o->branch, out->attempts, max);
		out->commit[0] = '\0';
		if (out->attempts >= max || !o->replan)
			break;
		rc = gh_git_get_ref(c, r, o->branch, head_sha, err);
		if (rc)
			break;
		rc = o->replan(o->payload, head_sha, cs, err);
		if (rc)
			break;
	}
	gh_commit_release(&head);
	if (rc)
		memset(out->commit, 0, sizeof(gh_sha));
	return rc;
}

/* ---- reading many blobs at once ---- */

#define PREFETCH_BATCH 256 /* blobs held in memory before they go to the cache */

struct prefetch {
	struct gh_client *parent;
	const struct gh_repo *repo;
	const char *const *shas; /* the batch's missing blobs */
	char **data;
	size_t *len;
	size_t n, next, max;
	pthread_mutex_t mu;
};

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	struct gh_client *c = NULL;
	char err[HS_ERRBUF];

	if (gh_client_fork(p->parent, &c, err))
		return NULL;
	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->mu);
		i = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			break;
		if (gh_git_get_blob(c, p->repo, p->shas[i], p->max, &p->data[i], &p->len[i], err))
			p->data[i] = NULL; /* the caller's own read reports it */
	}
	gh_client_free(c);
	return NULL;
}

size_t gh_git_prefetch_blobs(struct gh_client *c, const struct gh_repo *r,
			     const char *const *shas, size_t n, size_t max, int parallel)
{
	const struct gh_blob_cache *cache = gh_client_blobs(c);
	const char **missing = NULL;
	size_t nmissing = 0, got = 0;
	json_t *seen;

	if (!cache || !cache->get || !cache->put || parallel < 2 || n < 2)
		return 0;
	missing = hs_calloc(n, sizeof(*missing));
	seen = json_object();
	for (size_t i = 0; i < n; i++) {
		char *d = NULL;
		size_t l = 0;

		if (!gh_sha_valid(shas[i]) || json_object_get(seen, shas[i]))
			continue;
		json_object_set_new(seen, shas[i], json_true());
		if (cache->has ? cache->has(cache->ctx, shas[i])
			       : cache->get(cache->ctx, shas[i], &d, &l) == 0 && d) {
			free(d);
			continue;
		}
		missing[nmissing++] = shas[i];
	}
	json_decref(seen);
	for (size_t from = 0; nmissing > 1 && from < nmissing; from += PREFETCH_BATCH) {
		struct prefetch p;
		pthread_t t[GH_PREFETCH_PARALLEL];
		int nt = parallel > GH_PREFETCH_PARALLEL ? GH_PREFETCH_PARALLEL : parallel, started = 0;

		memset(&p, 0, sizeof(p));
		p.parent = c;
		p.repo = r;
		p.shas = missing + from;
		p.n = nmissing - from < PREFETCH_BATCH ? nmissing - from : PREFETCH_BATCH;
		p.max = max;
		p.data = hs_calloc(p.n, sizeof(*p.data));
		p.len = hs_calloc(p.n, sizeof(*p.len));
		pthread_mutex_init(&p.mu, NULL);
		if ((size_t)nt > p.n)
			nt = (int)p.n;
		for (int k = 0; k < nt; k++)
			started += pthread_create(&t[started], NULL, prefetch_main, &p) == 0;
		for (int k = 0; k < started; k++)
			pthread_join(t[k], NULL);
		for (size_t i = 0; i < p.n; i++) {
			if (p.data[i] && cache->put(cache->ctx, p.shas[i], p.data[i], p.len[i]) == 0)
				got++;
			free(p.data[i]);
		}
		pthread_mutex_destroy(&p.mu);
		free(p.data);
		free(p.len);
	}
	free(missing);
	return got;
}
