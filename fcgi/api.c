/* api.c: the REST API under /api/v1/ (bearer token required). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "github/base/clock.h"
#include "fcgi/routes.h"
#include "github/base/buf.h"
#include "github/base/err.h"
#include "github/http.h"
#include "sync/change.h"
#include "sync/emit.h"
#include "sync/fabric.h"
#include "sync/kinds.h"
#include "sync/queue.h"
#include "sync/store.h"

#define API_MAX_BODY (1u << 20)

/* The field an engine message names ("name: ..."), for error details. */
static json_t *field_of(const char *err)
{
	const char *colon = strchr(err, ':');
	size_t n = colon ? (size_t)(colon - err) : 0;

	if (!n || n > 32 || strspn(err, "abcdefghijklmnopqrstuvwxyz_") != n)
		return NULL;
	return json_pack("{s:s%}", "field", err, n);
}

static void fail(struct http_req *r, int rc, const char *err)
{
	json_t *field = field_of(err); /* stolen by http_error, or freed below */

	switch (rc) {
	case HS_EINVAL:
		http_error(r, 422, "invalid", err, field);
		return;
	case HS_ENOTFOUND:
		if (field) {
			http_error(r, 422, "invalid", err, field);
			return;
		}
		http_error(r, 404, "not_found", err, NULL);
		break;
	case HS_ECONFLICT:
		http_error(r, 409, "conflict", err, field);
		return;
	case HS_EAUTH:
	case HS_ERETRY:
	case HS_EIO:
		http_error(r, 502, "github_unavailable", err, NULL);
		break;
	default:
		http_error(r, 500, "internal", err, NULL);
	}
	json_decref(field);
}

#define WAIT_MAX_SECONDS 60

void api_wait_operation(struct http_req *r, const char *id, int seconds)
{
	int64_t until;

	if (seconds <= 0)
		return;
	if (seconds > WAIT_MAX_SECONDS)
		seconds = WAIT_MAX_SECONDS;
	until = hs_monotonic_ms() + (int64_t)seconds * 1000;
	while (chg_op_pending(r->store, id) == 1 && hs_monotonic_ms() < until &&
	       !r->app->stopping)
		hs_sleep_ms(50);
}

void api_submit_change(struct http_req *r, const struct chg_request *rq)
{
	char id[CHG_ID_MAX], err[HS_ERRBUF] = "", num[16];
	json_t *problems = NULL, *op = NULL;
	int repeat = 0, rc;

	rc = chg_submit(r->store, rq, id, &repeat, &problems, err);
	if (rc == HS_EINVAL) {
		http_error(r, 422, "invalid", err, json_pack("{s:o}", "problems", problems));
		return;
	}
	if (rc) {
		json_decref(problems);
		fail(r, rc, err);
		return;
	}
	if (!repeat)
		queue_notify(r->app->queue);
	if (http_query_get(r, "wait", num, sizeof(num)))
		api_wait_operation(r, id, atoi(num));
	if (chg_op_json(r->store, id, &op, err)) {
		http_json(r, 202, json_pack("{s:s, s:s}", "operation_id", id, "state", "queued"));
		return;
	}
	json_object_set_new(op, "operation_id", json_string(id));
	if (repeat)
		json_object_set_new(op, "repeat", json_true());
	http_json(r, !strcmp(json_string_value(json_object_get(op, "state")), "queued") ? 202 : 200,
		  op);
}

static int add_json(const struct store_fabric *f, void *arg)
{
	json_array_append_new(arg, fabric_to_json(f));
	return 0;
}

static int count_kind(const struct store_resource *res, void *arg)
{
	json_t *by = json_object_get(arg, "by_kind");
	json_t *n = json_object_get(by, res->kind);

	json_object_set_new(by, res->kind, json_integer(n ? json_integer_value(n) + 1 : 1));
	json_object_set_new(arg, "total", json_integer(json_integer_value(json_object_get(arg, "total")) + 1));
	if (!res->valid)
		json_object_set_new(arg, "invalid",
				    json_integer(json_integer_value(json_object_get(arg, "invalid")) + 1));
	return 0;
}

static void fabrics_post(struct http_req *r)
{
	struct app *app = r->app;
	struct fabric_input in = { 0 };
	struct gh_client_opts o;
	struct gh_client *gh = NULL;
	json_t *body = NULL, *out = NULL;
	char err[HS_ERRBUF] = "";
	int rc;

	rc = http_read_body(r, API_MAX_BODY);
	if (rc) {
		http_error(r, rc == HS_ETOOBIG ? 413 : 400, "bad_request",
			   "the body could not be read (at most 1 MB)", NULL);
		return;
	}
	body = json_loadb(r->body, r->body_len, 0, NULL);
	if (!json_is_object(body)) {
		http_error(r, 400, "invalid_json", "the body must be a JSON object", NULL);
		goto out;
	}
	in.name = json_string_value(json_object_get(body, "name"));
	in.repository = json_string_value(json_object_get(body, "repository"));
	in.branch = json_string_value(json_object_get(body, "branch"));
	in.directory = json_string_value(json_object_get(body, "directory"));
	if (!in.directory && !json_object_get(body, "directory"))
		in.directory = "";
	gh_client_opts_init(&o);
	o.base_url = app->env.github_api_url;
	o.auth = app->env.gh_auth;
	o.locks = app->env.gh_locks;
	o.timeout_ms = 20000;
	if (gh_client_new(&gh, &o, err)) {
		http_error(r, 500, "internal", err, NULL);
		goto out;
	}
	rc = fabric_register(r->store, gh, &in, &out, err);
	if (rc) {
		fail(r, rc, err);
		goto out;
	}
	http_json(r, 201, out);
	out = NULL;
out:
	gh_client_free(gh);
	json_decref(out);
	json_decref(body);
}

static json_t *resource_json(const struct store_resource *res)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:b}", "kind", res->kind, "name", res->name,
			      "seq", (json_int_t)res->seq, "deleted", res->deleted);

	json_object_set_new(o, "path", json_string(res->path));
	json_object_set_new(o, "blob_sha", json_string(res->blob_sha));
	json_object_set_new(o, "commit", json_string(res->commit_sha));
	json_object_set_new(o, "origin", json_string(res->origin));
	if (res->operation)
		json_object_set_new(o, "operation", json_string(res->operation));
	if (!res->deleted) {
		json_object_set_new(o, "valid", json_boolean(res->valid));
		json_object_set_new(o, "spec", json_loads(res->spec, 0, NULL));
	}
	return o;
}

struct page {
	json_t *items;
	int64_t last;
	int detail; /* one resource: with YAML and findings */
};

static int page_add(const struct store_resource *res, void *arg)
{
	struct page *pg = arg;
	json_t *o = resource_json(res);

	if (pg->detail && !res->deleted) {
		struct hs_buf yaml = HS_BUF_INIT(16u << 20);
		json_t *spec = json_object_get(o, "spec");

		if (spec && emit_managed_json(&yaml, spec, NULL) == HS_OK)
			json_object_set_new(o, "yaml", json_string(hs_buf_str(&yaml)));
		hs_buf_release(&yaml);
		json_object_set_new(o, "findings", json_loads(res->findings, 0, NULL));
	}
	json_array_append_new(pg->items, o);
	pg->last = res->seq;
	return 0;
}

static int fabric_exists(struct http_req *r, const char *name)
{
	json_t *arr = json_array();
	char err[HS_ERRBUF];
	int rc = store_fabric_each(r->store, name, NULL, NULL, NULL, add_json, arr, err);

	json_decref(arr);
	if (rc)
		fail(r, rc, err);
	return rc == HS_OK;
}

static void resources_get(struct http_req *r, const char *fabric, const char *rest)
{
	struct page pg = { json_array(), 0, 0 };
	char kindbuf[64] = "", num[32], err[HS_ERRBUF];
	const char *kind = NULL, *name = NULL;
	int64_t since = 0;
	int limit = 100, rc;

	if (!fabric_exists(r, fabric))
		goto out;
	if (*rest == '/') {
		/* /resources/{kind}/{name}: kind as named (VPC) or as its folder (vpcs) */
		const char *slash = strchr(rest + 1, '/');
		const struct kind_info *k;

		if (!slash || (size_t)(slash - rest - 1) >= sizeof(kindbuf) || !slash[1]) {
			http_error(r, 404, "not_found", "expected /resources/{kind}/{name}", NULL);
			goto out;
		}
		memcpy(kindbuf, rest + 1, (size_t)(slash - rest - 1));
		kindbuf[slash - rest - 1] = '\0';
		k = kind_by_name_nocase(kindbuf);
		if (!k)
			k = kind_by_plural(kindbuf);
		if (!k || !k->managed) {
			http_error(r, 422, "invalid", "kind: not a managed Hedgehog kind",
				   json_pack("{s:s}", "field", "kind"));
			goto out;
		}
		kind = k->name;
		name = slash + 1;
		limit = 1;
		pg.detail = 1;
	} else {
		if (http_query_get(r, "kind", kindbuf, sizeof(kindbuf))) {
			const struct kind_info *k = kind_by_name_nocase(kindbuf);

			if (!k || !k->managed) {
				http_error(r, 422, "invalid", "kind: not a managed Hedgehog kind",
					   json_pack("{s:s}", "field", "kind"));
				goto out;
			}
			kind = k->name;
		}
		if (http_query_get(r, "since", num, sizeof(num))) {
			char *end;

			since = strtoll(num, &end, 10);
			if (*end || since < 0) {
				http_error(r, 400, "bad_request", "since: a cursor from \"next\"",
					   json_pack("{s:s}", "field", "since"));
				goto out;
			}
		}
		if (http_query_get(r, "limit", num, sizeof(num))) {
			limit = atoi(num);
			if (limit < 1 || limit > 1000) {
				http_error(r, 400, "bad_request", "limit: 1 to 1000",
					   json_pack("{s:s}", "field", "limit"));
				goto out;
			}
		}
	}
	rc = store_resource_changes(r->store, fabric, kind, name, name ? -1 : since, limit,
				    page_add, &pg, err);
	if (rc) {
		fail(r, rc, err);
		goto out;
	}
	if (name) {
		json_t *one = json_array_get(pg.items, 0);

		if (!one || json_is_true(json_object_get(one, "deleted")))
			http_error(r, 404, "not_found", "no such resource in this fabric", NULL);
		else
			http_json(r, 200, json_incref(one));
		goto out;
	}
	http_json(r, 200, json_pack("{s:O, s:I, s:b}", "resources", pg.items, "next",
				    (json_int_t)(pg.last ? pg.last : since), "more",
				    (int)json_array_size(pg.items) == limit));
out:
	json_decref(pg.items);
}

static void status_get(struct http_req *r, const char *fabric)
{
	json_t *arr = json_array(), *f, *counts;
	struct store_fabric_jobs jobs;
	struct store_op_counts ops;
	struct store_note_counts notes;
	char err[HS_ERRBUF];
	int rc = store_fabric_each(r->store, fabric, NULL, NULL, NULL, add_json, arr, err);

	if (rc) {
		json_decref(arr);
		fail(r, rc, err);
		return;
	}
	f = json_array_get(arr, 0);
	counts = json_pack("{s:i, s:i, s:{}}", "total", 0, "invalid", 0, "by_kind");
	store_resource_each(r->store, fabric, count_kind, counts, NULL);
	memset(&jobs, 0, sizeof(jobs));
	store_fabric_jobs(r->store, fabric, &jobs);
	memset(&ops, 0, sizeof(ops));
	store_op_counts(r->store, fabric, &ops);
	memset(&notes, 0, sizeof(notes));
	store_note_counts(r->store, fabric, &notes);
	http_json(r, 200, json_pack("{s:s, s:O, s:o, s:{s:I, s:I}, s:{s:I, s:I, s:I},"
				    " s:{s:I, s:I}}", "fabric",
				    fabric, "head", json_object_get(f, "head"), "resources", counts,
				    "jobs", "pending", (json_int_t)jobs.pending, "dead",
				    (json_int_t)jobs.dead, "operations", "pending",
				    (json_int_t)ops.queued, "conflicts", (json_int_t)ops.conflicts,
				    "failed", (json_int_t)ops.failed, "outbox", "pending",
				    (json_int_t)notes.pending, "dead", (json_int_t)notes.dead));
	json_decref(arr);
}

static void changes_post(struct http_req *r, const char *fabric)
{
	struct chg_request rq = { 0 };
	json_t *body = NULL, *author;
	int rc;

	rc = http_read_body(r, API_MAX_BODY * 16);
	if (rc) {
		http_error(r, rc == HS_ETOOBIG ? 413 : 400, "bad_request",
			   "the body could not be read (at most 16 MB)", NULL);
		return;
	}
	body = json_loadb(r->body, r->body_len, 0, NULL);
	if (!json_is_object(body)) {
		http_error(r, 400, "invalid_json", "the body must be a JSON object", NULL);
		goto out;
	}
	author = json_object_get(body, "author");
	if (!json_is_object(author) || !json_is_string(json_object_get(author, "name")) ||
	    (json_object_get(author, "email") && !json_is_string(json_object_get(author, "email")))) {
		http_error(r, 422, "invalid", "author: {name, email} is required",
			   json_pack("{s:s}", "field", "author"));
		goto out;
	}
	if (json_object_get(body, "message") && !json_is_string(json_object_get(body, "message"))) {
		http_error(r, 422, "invalid", "message must be a string",
			   json_pack("{s:s}", "field", "message"));
		goto out;
	}
	rq.fabric = fabric;
	rq.changes = json_object_get(body, "changes");
	rq.author_name = json_string_value(json_object_get(author, "name"));
	rq.author_email = json_string_value(json_object_get(author, "email"));
	rq.message = json_string_value(json_object_get(body, "message"));
	rq.source = "api";
	api_submit_change(r, &rq);
out:
	json_decref(body);
}

static void operation_get(struct http_req *r, const char *id)
{
	char err[HS_ERRBUF], num[16];
	json_t *out = NULL;
	int rc;

	if (http_query_get(r, "wait", num, sizeof(num)))
		api_wait_operation(r, id, atoi(num));
	rc = chg_op_json(r->store, id, &out, err);
	if (rc)
		fail(r, rc, err);
	else
		http_json(r, 200, out);
}

static void fabric_one(struct http_req *r, const char *name, const char *rest)
{
	char err[HS_ERRBUF] = "";
	int rc;

	if (!*rest && !strcmp(r->method, "GET")) {
		json_t *arr = json_array(), *f, *counts;

		rc = store_fabric_each(r->store, name, NULL, NULL, NULL, add_json, arr, err);
		if (rc) {
			json_decref(arr);
			fail(r, rc, err);
			return;
		}
		f = json_incref(json_array_get(arr, 0));
		json_decref(arr);
		counts = json_pack("{s:i, s:i, s:{}}", "total", 0, "invalid", 0, "by_kind");
		store_resource_each(r->store, name, count_kind, counts, NULL);
		json_object_set_new(f, "resources", counts);
		http_json(r, 200, f);
	} else if (!*rest && !strcmp(r->method, "DELETE")) {
		rc = store_fabric_delete(r->store, name, err);
		if (rc)
			fail(r, rc, err);
		else
			http_json(r, 200, json_pack("{s:s}", "deleted", name));
	} else if ((!strcmp(rest, "/ingest") || !strcmp(rest, "/resync")) &&
		   !strcmp(r->method, "POST")) {
		int64_t job = 0;

		rc = !strcmp(rest, "/ingest") ? fabric_queue_ingest(r->store, name, &job, err)
					      : fabric_queue_resync(r->store, name, &job, err);
		if (!rc)
			queue_notify(r->app->queue);
		if (rc)
			fail(r, rc, err);
		else
			http_json(r, 202, json_pack("{s:s, s:I}", "status", "queued", "job",
						    (json_int_t)job));
	} else if (!strncmp(rest, "/resources", 10) && (!rest[10] || rest[10] == '/') &&
		   !strcmp(r->method, "GET")) {
		resources_get(r, name, rest + 10);
	} else if (!strcmp(rest, "/status") && !strcmp(r->method, "GET")) {
		status_get(r, name);
	} else if (!strcmp(rest, "/changes") && !strcmp(r->method, "POST")) {
		changes_post(r, name);
	} else if (!*rest || !strcmp(rest, "/ingest") || !strcmp(rest, "/resync") ||
		   !strncmp(rest, "/resources", 10) ||
		   !strcmp(rest, "/status") || !strcmp(rest, "/changes")) {
		http_error(r, 405, "method_not_allowed", "this path does not take that method", NULL);
	} else {
		http_error(r, 404, "not_found", "no such API path", NULL);
	}
}

/* Every call needs a bearer token, so an unauthenticated caller learns
 * nothing about paths. */
void api_handle(struct http_req *r)
{
	const char *p = r->path + strlen("/api/v1/");

	if (http_check_bearer(r)) {
		http_error(r, 401, "unauthorized",
			   "a bearer token from HEDGESYNC_API_TOKENS is required", NULL);
		return;
	}
	if (!strcmp(p, "fabrics")) {
		if (!strcmp(r->method, "GET")) {
			json_t *arr = json_array();
			char err[HS_ERRBUF];

			if (store_fabric_each(r->store, NULL, NULL, NULL, NULL, add_json, arr, err)) {
				json_decref(arr);
				http_error(r, 500, "internal", err, NULL);
				return;
			}
			http_json(r, 200, json_pack("{s:o}", "fabrics", arr));
		} else if (!strcmp(r->method, "POST")) {
			fabrics_post(r);
		} else {
			http_error(r, 405, "method_not_allowed", "GET or POST", NULL);
		}
		return;
	}
	if (!strncmp(p, "operations/", 11)) {
		const char *id = p + 11;

		if (!*id || strlen(id) >= CHG_ID_MAX || strchr(id, '/')) {
			http_error(r, 404, "not_found", "no such operation", NULL);
			return;
		}
		if (strcmp(r->method, "GET")) {
			http_error(r, 405, "method_not_allowed", "GET", NULL);
			return;
		}
		operation_get(r, id);
		return;
	}
	if (!strncmp(p, "fabrics/", 8)) {
		char name[64];
		const char *slash = strchr(p + 8, '/');
		size_t n = slash ? (size_t)(slash - (p + 8)) : strlen(p + 8);

		if (n == 0 || n >= sizeof(name)) {
			http_error(r, 404, "not_found", "no such fabric", NULL);
			return;
		}
		memcpy(name, p + 8, n);
		name[n] = '\0';
		fabric_one(r, name, slash ? slash : "");
		return;
	}
	http_error(r, 404, "not_found", "no such API path", NULL);
}
