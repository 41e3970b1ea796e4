/* api.c: the REST API under /api/v1/ (bearer token required). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/app.h"
#include "fcgi/http.h"
#include "fcgi/routes.h"
#include "github/base/err.h"
#include "github/http.h"
#include "sync/fabric.h"
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
	} else if (!strcmp(rest, "/ingest") && !strcmp(r->method, "POST")) {
		int64_t job = 0;

		rc = fabric_queue_ingest(r->store, name, &job, err);
		if (rc)
			fail(r, rc, err);
		else
			http_json(r, 202, json_pack("{s:s, s:I}", "status", "queued", "job",
						    (json_int_t)job));
	} else if (!*rest || !strcmp(rest, "/ingest")) {
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
