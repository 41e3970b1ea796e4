/* checks.c: check runs with output, annotations in batches and action buttons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/base/mem.h"
#include "github/checks.h"
#include "github/codec.h"
#include "github/http.h"
#include "github/json.h"

static const char truncated_note[] = "\n\n_(truncated: too long for GitHub)_";

/* s cut to max bytes at a UTF-8 boundary, with a note when it was cut. */
static json_t *capped(const char *s, size_t max, int note)
{
	size_t n = strlen(s), keep;
	json_t *v;
	char *t;

	if (n <= max)
		return json_string(s);
	keep = gh_utf8_cut(s, n, max - (note ? sizeof(truncated_note) - 1 : 0));
	t = hs_malloc(keep + sizeof(truncated_note));
	memcpy(t, s, keep);
	if (note)
		memcpy(t + keep, truncated_note, sizeof(truncated_note));
	else
		t[keep] = '\0';
	v = json_string(t);
	free(t);
	return v;
}

/* Set key to a capped string; 0, or -1 when s is not UTF-8. */
static int set_capped(json_t *o, const char *key, const char *s, size_t max, int note)
{
	json_t *v;

	if (!s)
		return 0;
	v = capped(s, max, note);
	if (!v)
		return -1;
	json_object_set_new(o, key, v);
	return 0;
}

static const char *level_name(enum gh_annotation_level l)
{
	switch (l) {
	case GH_ANN_NOTICE: return "notice";
	case GH_ANN_WARNING: return "warning";
	case GH_ANN_FAILURE: return "failure";
	}
	return NULL;
}

static json_t *annotation_json(const struct gh_annotation *a, char *err)
{
	const char *level = level_name(a->level);
	json_t *o;

	if (!a->path || !gh_path_valid(a->path) || !a->message || !level ||
	    a->start_line < 1 || a->end_line < a->start_line) {
		hs_seterr(err, "annotation needs a path, a message, a level and "
			  "1 <= start_line <= end_line");
		return NULL;
	}
	o = json_pack("{s:s, s:i, s:i, s:s}", "path", a->path, "start_line", a->start_line,
		      "end_line", a->end_line, "annotation_level", level);
	if (!o) {
		hs_seterr(err, "annotation path is not UTF-8");
		return NULL;
	}
	/* GitHub takes columns only for single-line annotations */
	if (a->start_line == a->end_line && a->start_column > 0) {
		json_object_set_new(o, "start_column", json_integer(a->start_column));
		json_object_set_new(o, "end_column", json_integer(
			a->end_column >= a->start_column ? a->end_column : a->start_column));
	}
	if (set_capped(o, "message", a->message, GH_CHECKS_MAX_MESSAGE, 1) ||
	    set_capped(o, "title", a->title, GH_CHECKS_MAX_TITLE, 0) ||
	    set_capped(o, "raw_details", a->raw_details, GH_CHECKS_MAX_MESSAGE, 1)) {
		hs_seterr(err, "annotation text is not UTF-8");
		json_decref(o);
		return NULL;
	}
	return o;
}

static int valid_status(const char *s)
{
	return !s || !strcmp(s, "queued") || !strcmp(s, "in_progress") ||
	       !strcmp(s, "completed");
}

static int valid_conclusion(const char *s)
{
	static const char *const ok[] = { "action_required", "cancelled", "failure",
		"neutral", "success", "skipped", "timed_out" };

	if (!s)
		return 1;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (!strcmp(s, ok[i]))
			return 1;
	return 0;
}

/* The body of one request: the first (create) or an update, the last or
 * not, carrying annotations [from, to). */
static json_t *run_body(const struct gh_check_run *run, int create, int last,
			size_t from, size_t to, char *err)
{
	json_t *b = json_object(), *out = NULL, *anns, *v;
	int has_output = run->title || run->summary || run->text || to > from;

	if (create) {
		json_object_set_new(b, "name", json_string(run->name));
		json_object_set_new(b, "head_sha", json_string(run->head_sha));
	}
	if (run->details_url && (v = json_string(run->details_url)))
		json_object_set_new(b, "details_url", v);
	if (run->external_id && (v = json_string(run->external_id)))
		json_object_set_new(b, "external_id", v);
	if (run->started_at && (v = json_string(run->started_at)))
		json_object_set_new(b, "started_at", v);
	if (last) {
		if (run->status)
			json_object_set_new(b, "status", json_string(run->status));
		if (run->conclusion)
			json_object_set_new(b, "conclusion", json_string(run->conclusion));
		if (run->completed_at && (v = json_string(run->completed_at)))
			json_object_set_new(b, "completed_at", v);
	} else if (run->status || run->conclusion) {
		/* more batches follow: not completed until the last one */
		json_object_set_new(b, "status", json_string("in_progress"));
	}
	if (has_output) {
		out = json_object();
		json_object_set_new(b, "output", out);
		/* title and summary are required whenever output is sent */
		if (set_capped(out, "title", run->title ? run->title : run->name ? run->name
			       : "Check", 1024, 0) ||
		    set_capped(out, "summary", run->summary ? run->summary : "",
			       GH_CHECKS_MAX_TEXT, 1) ||
		    set_capped(out, "text", run->text, GH_CHECKS_MAX_TEXT, 1)) {
			hs_seterr(err, "check run output is not UTF-8");
			goto fail;
		}
		if (to > from) {
			anns = json_array();
			json_object_set_new(out, "annotations", anns);
			for (size_t i = from; i < to; i++) {
				json_t *a = annotation_json(&run->annotations[i], err);

				if (!a)
					goto fail;
				json_array_append_new(anns, a);
			}
		}
	}
	if (run->n_actions && (create || last)) {
		json_t *acts = json_array();

		json_object_set_new(b, "actions", acts);
		for (size_t i = 0; i < run->n_actions; i++) {
			const struct gh_check_action *a = &run->actions[i];
			json_t *o = json_pack("{s:s, s:s, s:s}", "label", a->label,
					      "description", a->description,
					      "identifier", a->identifier);

			if (!o) {
				hs_seterr(err, "check run action is not UTF-8");
				goto fail;
			}
			json_array_append_new(acts, o);
		}
	}
	return b;
fail:
	json_decref(b);
	return NULL;
}

static int check_args(const struct gh_check_run *run, int create, char *err)
{
	if (create && (!run->name || !*run->name || !gh_sha_valid(run->head_sha))) {
		hs_seterr(err, "a check run needs a name and a head sha");
		return GH_EINVAL;
	}
	if (!valid_status(run->status) || !valid_conclusion(run->conclusion) ||
	    (run->status && !strcmp(run->status, "completed") && !run->conclusion)) {
		hs_seterr(err, "bad check run status or conclusion");
		return GH_EINVAL;
	}
	if (run->n_annotations && !run->annotations) {
		hs_seterr(err, "annotations missing");
		return GH_EINVAL;
	}
	if (run->n_actions > GH_CHECKS_MAX_ACTIONS || (run->n_actions && !run->actions)) {
		hs_seterr(err, "at most %d check run actions", GH_CHECKS_MAX_ACTIONS);
		return GH_EINVAL;
	}
	for (size_t i = 0; i < run->n_actions; i++) {
		const struct gh_check_action *a = &run->actions[i];

		if (!a->label || !a->description || !a->identifier ||
		    strlen(a->label) > 20 || strlen(a->description) > 40 ||
		    strlen(a->identifier) > 20) {
			hs_seterr(err, "check run action %zu: label and identifier <= 20, "
				  "description <= 40 characters", i);
			return GH_EINVAL;
		}
	}
	return GH_OK;
}

static int send_batches(struct gh_client *c, const struct gh_repo *r, int64_t id,
			const struct gh_check_run *run, int64_t *id_out, int *calls,
			char *err)
{
	struct hs_buf url = HS_BUF_INIT(4096);
	size_t n = run->n_annotations, from = 0;
	int create = id == 0, rc = GH_OK;
	json_t *body = NULL, *res = NULL;

	if (calls)
		*calls = 0;
	if (!gh_repo_valid(r)) {
		hs_seterr(err, "bad repository name");
		return GH_EINVAL;
	}
	rc = check_args(run, create, err);
	if (rc)
		return rc;
	do {
		size_t to = n - from > GH_CHECKS_ANNOTATIONS_PER_CALL ?
			    from + GH_CHECKS_ANNOTATIONS_PER_CALL : n;
		int last = to == n;
		struct gh_request rq;
		char *text;
		size_t len;

		body = run_body(run, create, last, from, to, err);
		if (!body) {
			rc = GH_EINVAL;
			goto out;
		}
		hs_buf_reset(&url);
		if (create)
			hs_buf_addf(&url, "/repos/%s/%s/check-runs", r->owner, r->name);
		else
			hs_buf_addf(&url, "/repos/%s/%s/check-runs/%lld", r->owner, r->name,
				    (long long)id);
		text = gh_json_dump(body, &len);
		memset(&rq, 0, sizeof(rq));
		rq.method = create ? "POST" : "PATCH";
		rq.path = hs_buf_str(&url);
		rq.body = text;
		rq.body_len = len;
		rq.auth = GH_AUTH_INSTALLATION;
		rq.installation_id = r->installation_id;
		rq.serialize = r;
		rc = gh_call(c, &rq, GH_JSON_OBJECT, &res, NULL, err);
		free(text);
		json_decref(body);
		body = NULL;
		if (calls)
			(*calls)++;
		if (rc)
			goto out;
		if (create) {
			if (gh_json_int(res, "id", &id) || id <= 0) {
				hs_seterr(err, "check run creation answered no id");
				rc = GH_EBADRESP;
				goto out;
			}
			create = 0;
		}
		json_decref(res);
		res = NULL;
		from = to;
	} while (from < n);
	if (id_out)
		*id_out = id;
out:
	json_decref(body);
	json_decref(res);
	hs_buf_release(&url);
	return rc;
}

int gh_checks_create(struct gh_client *c, const struct gh_repo *r,
		     const struct gh_check_run *run, int64_t *id, int *calls,
		     char *err)
{
	if (id)
		*id = 0;
	return send_batches(c, r, 0, run, id, calls, err);
}

int gh_checks_update(struct gh_client *c, const struct gh_repo *r, int64_t id,
		     const struct gh_check_run *run, int *calls, char *err)
{
	if (id <= 0) {
		hs_seterr(err, "bad check run id");
		return GH_EINVAL;
	}
	return send_batches(c, r, id, run, NULL, calls, err);
}
